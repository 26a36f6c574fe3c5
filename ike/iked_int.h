/*
 * The IKEv2 daemon's insides (iked.h is its face): the IKE SA, CHILD_SA,
 * daemon and policy structures, and the functions its four files share.
 * Only ike/iked*.c include this.
 *
 *   iked.c        SAs and CHILD_SAs, PF_KEY, sending and receiving, keys,
 *                 what the kernel tells it, the API
 *   iked_nego.c   proposals, traffic selectors, AUTH, NAT detection,
 *                 cookies, notifies: what both ends compute alike
 *   iked_init.c   IKE_SA_INIT and IKE_AUTH, as initiator and responder
 *   iked_child.c  an established IKE SA: timers, INFORMATIONAL (DELETE,
 *                 liveness), CREATE_CHILD_SA (rekeys)
 */
#ifndef IKE_IKED_INT_H
#define IKE_IKED_INT_H

#include "iked.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../ipsec/pfkey.h"
#include "../ipsec/pfkey_msg.h"
#include "../ipsec/show.h"
#include "../ipsec/spd.h"
#include "../ipsec/xform.h"
#include "../sim/rng.h"
#include "../sim/sim.h"
#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/node.h"
#include "../stack/udp.h"
#include "../stack/util.h"
#include "ike_crypto.h"
#include "ike_wire.h"
#include "iked_conf.h"

#define IKED_NONCE_LEN    32
#define IKED_RETRY_FIRST  (2 * NS_PER_SEC)
#define IKED_RETRIES      5    /* sends after the first, then give up */
#define IKED_MAX_SAS      4096 /* IKE SAs of one daemon, larval ones included */
#define IKED_REPLAY       64
#define IKED_SPI_MIN      0x100u
#define IKED_KE_RETRIES   2
#define IKED_MAX_CHILDREN 4 /* CHILD_SAs of one IKE SA, those being replaced included */
#define IKED_MAX_DELS     8 /* CHILD_SA DELETEs waiting to be sent on one IKE SA */
#define IKED_HALFOPEN     (300 * NS_PER_SEC) /* iked's IKED_IKE_SA_EXCHANGE_TIMEOUT */
#define IKED_KEEPALIVE    (20 * NS_PER_SEC)  /* iked's IKED_IKE_SA_KEEPALIVE_TIMEOUT */
#define IKED_DELETE_WAIT  (120 * NS_PER_SEC) /* iked's IKED_IKE_SA_DELETE_TIMEOUT */
#define IKED_COOKIE_LEN   33                 /* a version byte and HMAC-SHA-256 */

enum sa_state {
	S_INIT_SENT, /* initiator: IKE_SA_INIT sent */
	S_AUTH_SENT, /* initiator: IKE_AUTH sent */
	S_INIT_DONE, /* responder: IKE_SA_INIT answered, IKE_AUTH awaited */
	S_ESTABLISHED,
	S_DEAD, /* failed or deleted: freed at the next sweep */
};

/* What our one outstanding request is. */
enum req_kind {
	RQ_NONE,
	RQ_SA_INIT,
	RQ_AUTH,
	RQ_REKEY_CHILD,
	RQ_REKEY_IKE,
	RQ_DELETE_CHILD,
	RQ_DELETE_IKE,
	RQ_LIVENESS,
};

/* A CHILD_SA: an SA pair in the kernel and its flow.  Allocated alone:
 * the IKE SA that carries it may change (an IKE SA rekey moves it). */
struct child {
	struct ike_sa *sa;
	bool up;
	bool ours;     /* we made the exchange that created it: its soft lifetime comes first */
	bool replaced; /* a newer CHILD_SA took over: it waits for its DELETE */
	bool rekey_due;
	bool rekey_tried; /* one CREATE_CHILD_SA per CHILD_SA: after a refusal it runs out */
	uint8_t satype;
	uint16_t encr, encr_bits, integ, group; /* group: the PFS group it was made with */
	bool esn, transport;
	uint32_t spi_in, spi_out;
	uint8_t key_in[21], key_out[21]; /* d->by_child keys: SPI and destination */
	uint64_t bytes_seen;             /* the inbound SA's bytes at the last liveness tick */
	struct spd_sel sel;              /* the flow as we send it */
	struct spd_mask mask;
};

struct ike_sa {
	uint64_t serial;
	struct iked *d;
	unsigned pol;   /* index into d->pols */
	uint8_t key[9]; /* SPIi and our role: the key of d->by_spi */
	bool initiator;
	enum sa_state state;
	uint8_t spi_i[8], spi_r[8];
	struct ipaddr local, peer;
	uint16_t peer_port;
	bool natt;      /* a NAT between us: IKE on 4500, the CHILD_SAs in UDP */
	bool nat_local; /* ... and on our side: we send the keepalives */
	uint8_t cookie[64];
	size_t cookielen;
	unsigned cookie_tries;
	/* the chosen suite */
	uint16_t encr, encr_bits, prf, integ, group;
	struct ike_encr_info ei;
	unsigned ke_tries;
	uint8_t dhpriv[IKE_DHPRIV_MAX];
	uint8_t ni[256], nr[256]; /* ours IKED_NONCE_LEN bytes, the peer's 16 to 256 */
	size_t nrlen, nilen;
	uint8_t sk_d[IKE_PRF_MAX], sk_ai[64], sk_ar[64], sk_ei[40], sk_er[40];
	uint8_t sk_pi[IKE_PRF_MAX], sk_pr[IKE_PRF_MAX];
	uint8_t *msg1, *msg2; /* IKE_SA_INIT request and response, for AUTH */
	size_t msg1len, msg2len;
	uint32_t next_msgid; /* of our next request */
	uint32_t peer_msgid; /* the peer's next request */
	uint8_t *req;        /* our outstanding request */
	size_t reqlen;
	enum req_kind rq;
	unsigned tries;
	uint64_t retry_gen;
	uint8_t *resp; /* our last response */
	size_t resplen;
	uint64_t iv_ctr;
	struct child *ch[IKED_MAX_CHILDREN];
	unsigned nch;
	uint64_t established_at, last_recv;
	/* work waiting for the window */
	uint32_t del_spi[IKED_MAX_DELS]; /* our inbound SPIs to announce in a DELETE */
	uint8_t del_satype;
	unsigned ndel;
	bool rekey_ike_due, liveness_due, delete_due, moved;
	/* the outstanding CREATE_CHILD_SA */
	struct child *rq_old; /* the CHILD_SA being rekeyed */
	uint8_t rq_nonce[IKED_NONCE_LEN];
	uint8_t rq_dh[IKE_DHPRIV_MAX];
	uint16_t rq_group;
	uint32_t rq_spi;      /* the new CHILD_SA's inbound SPI */
	uint8_t rq_ikespi[8]; /* the new IKE SA's SPI */
	uint32_t rq_del[IKED_MAX_DELS];
	unsigned rq_ndel;
};

struct iked {
	struct iked_world *w;
	struct node *n;
	struct pfkey_sock *ps;
	struct udp_sock *us, *us_natt; /* ports 500 and 4500 (NULL: taken, no NAT-T) */
	struct rng rng;
	bool quiet;
	struct iked_settings set;
	uint8_t cookie_secret[32];
	unsigned halfopen; /* responder IKE SAs waiting for IKE_AUTH */
	uint32_t seq;
	uint32_t reply_spi;
	uint64_t reply_bytes;
	struct hmap by_child;    /* SPI and destination -> CHILD_SA (both of its SAs) */
	struct pol_state **pols; /* each allocated alone: the peer index keeps keys in them */
	unsigned npols;
	struct hmap by_peer; /* peer address -> the first policy naming it */
	unsigned *any_pols;  /* the `peer any` policies, in order */
	unsigned nany;
	struct hmap by_spi;    /* SPIi and role -> IKE SA */
	struct hmap by_serial; /* serial -> IKE SA (for timers) */
	unsigned nlive, ndead; /* IKE SAs not yet dead, and dead ones not yet freed */
	struct ike_sa **sas;   /* in the order they were made */
	unsigned nsas;
	uint64_t next_serial;
	struct iked_stats st;
};

/* A policy and what the daemon keeps for it. */
struct pol_state {
	struct iked_policy p;
	unsigned self;           /* its index in d->pols */
	uint8_t peer_key[17];    /* family and address bytes, for by_peer */
	unsigned next_same_peer; /* the next policy with this peer, index + 1; 0: none */
	uint64_t cur_sa;         /* serial of its latest IKE SA as initiator; 0: none */
};

struct iked_world {
	struct sim *sim;
	struct iked **ds;
	unsigned nds;
	char **table; /* ikev2_decryption_table lines */
	unsigned ntable;
};

/* What we accept of one received proposal: the first transform of each
 * type that one of our proposals holds, all from the same one of ours. */
struct suite {
	uint16_t encr, encr_bits, prf, integ, group;
	int esn;
};

/* An `active` policy's negotiation, at load and again after a dead peer. */
struct start_ev {
	struct iked *d;
	unsigned pol;
};

enum timer_kind { T_LIVENESS, T_KEEPALIVE, T_IKE_REKEY, T_HALFOPEN, T_REPLACED };

/* iked.c */
void ik_say(struct iked *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t ik_spi64(const uint8_t *s);
const struct iked_policy *ik_sa_pol(const struct ike_sa *sa);
int ik_pf_send(struct iked *d, struct pfkey_buf *pb);
uint32_t ik_pf_getspi(struct iked *d, uint8_t satype, const struct ipaddr *src,
		      const struct ipaddr *dst);
void ik_pf_delete(struct iked *d, uint8_t satype, uint32_t spi, const struct ipaddr *dst);
uint64_t ik_soft_of(uint64_t hard, bool ours);
struct ike_sa *ik_sa_by_key(struct iked *d, const uint8_t *spi_i, bool initiator);
struct ike_sa *ik_sa_new(struct iked *d, unsigned pol, bool initiator, const struct ipaddr *local,
			 const struct ipaddr *peer, uint16_t port, const uint8_t *spi_i);
struct child *ik_child_new(struct ike_sa *sa);
struct child *ik_child_by_spi(struct iked *d, uint32_t spi, const struct ipaddr *dst);
struct child *ik_child_by_out(const struct ike_sa *sa, uint8_t satype, uint32_t spi);
void ik_child_remove(struct child *c, const char *why);
void ik_sweep(struct iked *d);
void ik_set_state(struct ike_sa *sa, enum sa_state st);
void ik_sa_kill(struct ike_sa *sa, const char *why);
void ik_send_via(struct ike_sa *sa, const uint8_t *b, size_t len, bool natt, uint16_t port);
struct ike_sa *ik_sa_by_serial(struct iked *d, uint64_t serial);
void ik_send_request(struct ike_sa *sa, const struct ike_buf *m);
void ik_send_response(struct ike_sa *sa, const struct ike_buf *m);
void ik_hdr_for(const struct ike_sa *sa, struct ike_hdr *h, uint8_t exchange, bool response,
		uint32_t msgid);
int ik_seal(struct ike_sa *sa, const struct ike_hdr *h, const struct ike_buf *in,
	    struct ike_buf *out);
int ik_derive_keys(struct ike_sa *sa, const uint8_t *shared, size_t slen, const struct ike_sa *old);
const char *ik_ws_encr(const struct ike_sa *sa);
void ik_table_add(struct ike_sa *sa);
bool ik_install_child(struct ike_sa *sa, struct child *c, bool exch_ini, const uint8_t *ni,
		      size_t nilen, const uint8_t *nr, size_t nrlen, const uint8_t *g, size_t glen);
void ik_drop(struct iked *d, const struct ipaddr *from, const char *why);
unsigned ik_first_for_peer(struct iked *d, const struct ipaddr *peer);

/* iked_nego.c */
unsigned ik_build_props(const struct iked_prop *ps, unsigned n, uint8_t proto, uint32_t spi,
			const uint16_t *only_group, bool child_dh, struct ike_prop *out);
bool ik_in_list(const uint16_t *l, unsigned n, uint16_t v);
int ik_choose(const struct ike_prop *rps, unsigned nr, const struct iked_prop *ours, unsigned no,
	      uint8_t proto, bool child_dh, struct suite *s);
void ik_chosen_prop(const struct ike_prop *rp, const struct suite *s, uint8_t proto, uint32_t spi,
		    const uint8_t *ikespi, struct ike_prop *o);
struct ike_ts ik_ts_of(const struct ipaddr *a, unsigned plen, uint8_t proto, uint16_t port);
bool ik_ts_narrow(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *r);
bool ik_child_flow(struct child *c, const struct ike_ts *ours, const struct ike_ts *theirs);
size_t ik_id_body(const char *id, const struct ipaddr *addr, uint8_t *b);
int ik_psk_auth(const struct ike_sa *sa, bool of_initiator, const uint8_t *idb, size_t idlen,
		uint8_t *out);
const char *ik_check_auth(const struct ike_sa *sa, const struct ike_msg *m, uint8_t idtype,
			  char *idtxt, size_t cap);
void ik_nat_notifies(struct ike_buf *m, const uint8_t *spi_i, const uint8_t *spi_r,
		     const struct ipaddr *src, uint16_t sport, const struct ipaddr *dst,
		     uint16_t dport);
bool ik_nat_check(const struct ike_msg *m, const uint8_t *spi_i, const uint8_t *spi_r,
		  const struct ipaddr *from, uint16_t sport, const struct ipaddr *to,
		  uint16_t dport, bool *peer_nat, bool *local_nat);
void ik_make_cookie(const struct iked *d, const uint8_t *ni, size_t nilen,
		    const struct ipaddr *from, const uint8_t *spi_i, uint8_t out[IKED_COOKIE_LEN]);
const struct ike_notify *ik_find_notify(const struct ike_msg *m, uint16_t type,
					struct ike_notify *out);
uint16_t ik_error_notify(const struct ike_msg *m, struct ike_notify *out);
bool ik_has_notify(const struct ike_msg *m, uint16_t type);
void ik_fail_notify(struct ike_sa *sa, uint16_t type, const char *exchange);

/* iked_init.c */
void ik_initiate(struct iked *d, unsigned pol, const struct ipaddr *local,
		 const struct ipaddr *peer);
void ik_ini_init_response(struct ike_sa *sa, const uint8_t *b, size_t len, const struct ike_msg *m,
			  uint16_t sport);
void ik_ini_auth_response(struct ike_sa *sa, const struct ike_msg *m);
void ik_rsp_sa_init(struct iked *d, const uint8_t *b, size_t len, const struct ike_msg *m,
		    const struct ipaddr *from, uint16_t sport, const struct ipaddr *to);
void ik_rsp_auth(struct ike_sa *sa, const struct ike_msg *m);

/* iked_child.c */
void ik_established(struct ike_sa *sa, const char *idtxt);
void ik_arm(struct ike_sa *sa, enum timer_kind kind, uint64_t after);
void ik_kick(struct ike_sa *sa);
void ik_queue_delete(struct ike_sa *sa, struct child *c, bool keep);
void ik_rsp_info(struct ike_sa *sa, const struct ike_msg *m);
void ik_ini_info_response(struct ike_sa *sa, const struct ike_msg *m);
void ik_ini_rekey_child_response(struct ike_sa *sa, const struct ike_msg *m);
void ik_ini_rekey_ike_response(struct ike_sa *sa, const struct ike_msg *m);
void ik_rsp_ccsa(struct ike_sa *sa, const struct ike_msg *m);

#endif
