/*
 * The IKEv2 daemon (iked.h, docs/ike.md): exchanges, keys, and what it
 * installs through PF_KEY.
 *
 * An exchange is a request and its response.  Requests we send are kept
 * for retransmission (2 s, doubling, five times, then the exchange is
 * given up); the last response we sent is kept and sent again when the
 * same request comes again (RFC 7296 2.1).  Every message is parsed with
 * its lengths checked (ike_wire.c); one that fails is dropped and counted,
 * with the reason in the log.
 *
 * One request of ours is outstanding at a time (a window of one, 2.3);
 * what else is due (a DELETE, a rekey, a liveness check) waits as flags
 * on the IKE SA and goes when the exchange before it ends (kick()).
 *
 * The PF_KEY socket's callback only records replies and schedules
 * events for ACQUIRE and EXPIRE; the UDP sockets' callbacks (port 500,
 * and 4500 behind the non-ESP marker once a NAT is found) handle
 * messages as they arrive.
 */
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
#define IKED_MAX_CHILDREN 4 /* CHILD_SAs of one IKE SA: the current ones and those being replaced \
			     */
#define IKED_MAX_DELS    8  /* CHILD_SA DELETEs waiting to be sent on one IKE SA */
#define IKED_HALFOPEN    (300 * NS_PER_SEC) /* iked's IKED_IKE_SA_EXCHANGE_TIMEOUT */
#define IKED_KEEPALIVE   (20 * NS_PER_SEC)  /* iked's IKED_IKE_SA_KEEPALIVE_TIMEOUT */
#define IKED_DELETE_WAIT (120 * NS_PER_SEC) /* iked's IKED_IKE_SA_DELETE_TIMEOUT */
#define IKED_COOKIE_LEN  33                 /* a version byte and HMAC-SHA-256 */

enum sa_state {
	S_INIT_SENT, /* initiator: IKE_SA_INIT sent */
	S_AUTH_SENT, /* initiator: IKE_AUTH sent */
	S_INIT_DONE, /* responder: IKE_SA_INIT answered, IKE_AUTH awaited */
	S_ESTABLISHED,
	S_DEAD, /* failed or deleted: freed at the next sweep */
};

static const char *const state_names[] = {"SA_INIT", "AUTH", "SA_INIT", "ESTABLISHED", "CLOSED"};

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
	bool natt;       /* a NAT between us: IKE on 4500, the CHILD_SAs in UDP */
	bool nat_local;  /* ... and on our side: we send the keepalives */
	bool peer_float; /* ... on the peer's side: its address and port follow its messages */
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
	int reply_errno;
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

/* ---- small helpers ---- */

static void say(struct iked *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct iked *d, const char *fmt, ...)
{
	char line[512], t[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	node_trace(d->n, "iked: %s", line);
	if (d->w->sim->out && !d->quiet)
		fprintf(d->w->sim->out, "%s %s: iked: %s\n", sim_fmt_time(d->w->sim->now, t),
			d->n->name, line);
}

static uint64_t spi64(const uint8_t *s)
{
	return (uint64_t)get_be32(s) << 32 | get_be32(s + 4);
}

static const struct iked_policy *sa_pol(const struct ike_sa *sa)
{
	return &sa->d->pols[sa->pol]->p;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = 0;
}

/* ---- PF_KEY ---- */

static int pf_send(struct iked *d, struct pfkey_buf *pb)
{
	size_t len = pfkb_finish(pb);
	int rc = len ? pfkey_write(d->ps, pb->b, len) : -EMSGSIZE;
	OPENSSL_cleanse(pb->b, sizeof(pb->b));
	return rc;
}

static uint32_t pf_getspi(struct iked *d, uint8_t satype, const struct ipaddr *src,
			  const struct ipaddr *dst)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_GETSPI, satype, ++d->seq, d->ps->pid);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	pfkb_spirange(&pb, IKED_SPI_MIN, UINT32_MAX);
	d->reply_spi = 0;
	return pf_send(d, &pb) < 0 ? 0 : d->reply_spi;
}

static void pf_delete(struct iked *d, uint8_t satype, uint32_t spi, const struct ipaddr *dst)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_DELETE, satype, ++d->seq, d->ps->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	(void)pf_send(d, &pb); /* ESRCH: gone already */
}

static uint8_t sadb_enc(uint16_t encr)
{
	switch (encr) {
	case ENCR_AES_CBC: return SADB_X_EALG_AES;
	case ENCR_AES_GCM_16: return SADB_X_EALG_AESGCM16;
	case ENCR_CHACHA20_POLY1305: return SADB_X_EALG_CHACHA20POLY1305;
	default: return SADB_EALG_NONE;
	}
}

static uint8_t sadb_auth(uint16_t integ)
{
	switch (integ) {
	case AUTH_HMAC_SHA1_96: return SADB_AALG_SHA1HMAC;
	case AUTH_HMAC_SHA2_256_128: return SADB_X_AALG_SHA2_256;
	case AUTH_HMAC_SHA2_384_192: return SADB_X_AALG_SHA2_384;
	case AUTH_HMAC_SHA2_512_256: return SADB_X_AALG_SHA2_512;
	default: return SADB_AALG_NONE;
	}
}

/* A CHILD_SA's key lengths in bytes (the salt with GCM, the nonce with
 * ChaCha20-Poly1305). */
static unsigned child_enckeylen(const struct child *c)
{
	if (c->satype != SADB_SATYPE_ESP)
		return 0;
	if (c->encr == ENCR_CHACHA20_POLY1305)
		return 36;
	return c->encr_bits / 8 + (c->encr == ENCR_AES_GCM_16 ? 4 : 0);
}

static bool child_aead(const struct child *c)
{
	return c->encr == ENCR_AES_GCM_16 || c->encr == ENCR_CHACHA20_POLY1305;
}

static unsigned child_authkeylen(const struct child *c)
{
	return child_aead(c) && c->satype == SADB_SATYPE_ESP ? 0 : ike_integ_keylen(c->integ);
}

/* A soft limit before the hard one: at 90 % where we made the CHILD_SA
 * (at least 2 before the end), at 95 % at the other end (at least 1), so
 * that one side rekeys first and the other finds its CHILD_SA replaced
 * when its own soft limit comes.  0 (none) under 3. */
static uint64_t soft_of(uint64_t hard, bool ours)
{
	if (hard < 3)
		return 0;
	uint64_t early = ours ? MAX(hard / 10, 2) : MAX(hard / 20, 1);
	return hard - early;
}

/* UPDATE (the inbound SA, larval since GETSPI) or ADD (the outbound). */
static int pf_install(struct iked *d, const struct ike_sa *sa, const struct child *c, uint8_t type,
		      uint32_t spi, const struct ipaddr *src, const struct ipaddr *dst,
		      const uint8_t *ekey, const uint8_t *akey)
{
	const struct iked_policy *p = sa_pol(sa);
	uint32_t flags = (c->transport ? 0 : SADB_X_SAFLAGS_TUNNEL) |
			 (c->esn ? SADB_X_SAFLAGS_ESN : 0) |
			 (sa->natt && c->satype == SADB_SATYPE_ESP ? SADB_X_SAFLAGS_UDPENCAP : 0);
	struct pfkey_buf pb;
	pfkb_init(&pb, type, c->satype, ++d->seq, d->ps->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, IKED_REPLAY, SADB_SASTATE_MATURE,
		child_authkeylen(c) ? sadb_auth(c->integ) : SADB_AALG_NONE,
		c->satype == SADB_SATYPE_ESP ? sadb_enc(c->encr) : 0, flags);
	if (p->lifetime || p->lifebytes) {
		pfkb_lifetime(&pb, SADB_EXT_LIFETIME_HARD, 0, p->lifebytes, p->lifetime, 0);
		pfkb_lifetime(&pb, SADB_EXT_LIFETIME_SOFT, 0, soft_of(p->lifebytes, c->ours),
			      soft_of(p->lifetime, c->ours), 0);
	}
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	if (flags & SADB_X_SAFLAGS_UDPENCAP)
		pfkb_udpencap(&pb, sa->peer_port);
	if (child_authkeylen(c))
		pfkb_key(&pb, SADB_EXT_KEY_AUTH, akey, child_authkeylen(c) * 8);
	if (child_enckeylen(c))
		pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, ekey, child_enckeylen(c) * 8);
	return pf_send(d, &pb);
}

/* The flow and its mirror, towards peer (type require). */
static int pf_flows(struct iked *d, uint8_t satype, const struct spd_sel *out,
		    const struct spd_mask *mask, const struct ipaddr *local,
		    const struct ipaddr *peer)
{
	for (int dir = 0; dir < 2; dir++) {
		struct spd_sel sel = *out;
		struct spd_mask m = *mask;
		if (dir) {
			sel.src = out->dst;
			sel.dst = out->src;
			sel.sport = out->dport;
			sel.dport = out->sport;
			m.src_plen = mask->dst_plen;
			m.dst_plen = mask->src_plen;
			m.sport = mask->dport;
			m.dport = mask->sport;
		}
		sel.dir = dir ? IPSP_DIRECTION_IN : IPSP_DIRECTION_OUT;
		struct pfkey_buf pb;
		pfkb_init(&pb, SADB_X_ADDFLOW, satype, ++d->seq, d->ps->pid);
		if (local)
			pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, local, 0);
		pfkb_address(&pb, SADB_EXT_ADDRESS_DST, peer, 0);
		pfkey_export_flow(&pb, &sel, &m, IPSP_IPSEC_REQUIRE);
		int rc = pf_send(d, &pb);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A policy's flow as this end sends it. */
static void policy_flow(const struct iked_policy *p, struct spd_sel *sel, struct spd_mask *mask)
{
	memset(sel, 0, sizeof(*sel));
	memset(mask, 0, sizeof(*mask));
	sel->src = p->src;
	sel->dst = p->dst;
	sel->proto = p->proto;
	sel->sport = p->sport;
	sel->dport = p->dport;
	mask->src_plen = p->src_plen;
	mask->dst_plen = p->dst_plen;
	mask->proto = p->proto != 0;
	mask->sport = p->sport != 0;
	mask->dport = p->dport != 0;
}

/* ---- SAs ---- */

/* An address as a hash key: family and bytes. */
static size_t peer_key(const struct ipaddr *a, uint8_t *key)
{
	key[0] = a->af;
	memcpy(key + 1, a->a, addr_len(a->af));
	return 1 + addr_len(a->af);
}

static struct ike_sa *sa_by_key(struct iked *d, const uint8_t *spi_i, bool initiator)
{
	uint8_t key[9];
	memcpy(key, spi_i, 8);
	key[8] = initiator;
	return hmap_get(&d->by_spi, key, sizeof(key));
}

/* A new IKE SA; spi_i: the initiator's SPI when we respond (NULL: we
 * initiate and make one).  NULL at the cap, or when a responder's SPIi is
 * taken (said in the log). */
static struct ike_sa *sa_new(struct iked *d, unsigned pol, bool initiator,
			     const struct ipaddr *local, const struct ipaddr *peer, uint16_t port,
			     const uint8_t *spi_i)
{
	if (d->nlive >= IKED_MAX_SAS) {
		d->st.capped++;
		say(d, "%u IKE SAs: refusing another (the daemon's cap)", d->nlive);
		return NULL;
	}
	struct ike_sa *sa = xcalloc(1, sizeof(*sa));
	if (spi_i) {
		memcpy(sa->spi_i, spi_i, 8);
	} else {
		do /* 64 random bits: a second try is as likely as a cosmic ray */
			rng_bytes(&d->rng, sa->spi_i, 8);
		while (sa_by_key(d, sa->spi_i, true));
	}
	memcpy(sa->key, sa->spi_i, 8);
	sa->key[8] = initiator;
	if (!hmap_add(&d->by_spi, sa->key, sizeof(sa->key), sa)) {
		say(d, "an IKE SA with SPIi 0x%016llx exists already: refusing another",
		    (unsigned long long)spi64(sa->spi_i));
		free(sa);
		return NULL;
	}
	sa->serial = ++d->next_serial;
	hmap_add(&d->by_serial, &sa->serial, sizeof(sa->serial), sa);
	sa->d = d;
	sa->pol = pol;
	sa->initiator = initiator;
	sa->local = *local;
	sa->peer = *peer;
	sa->peer_port = port;
	if (!initiator)
		rng_bytes(&d->rng, sa->spi_r, 8);
	d->sas = xgrow(d->sas, d->nsas, sizeof(*d->sas));
	d->sas[d->nsas++] = sa;
	d->nlive++;
	return sa;
}

/* ---- CHILD_SAs ---- */

static void child_keys(struct child *c, const struct ike_sa *sa)
{
	uint8_t pk[17];
	size_t n;
	memset(c->key_in, 0, sizeof(c->key_in));
	memset(c->key_out, 0, sizeof(c->key_out));
	put_be32(c->key_in, c->spi_in);
	n = peer_key(&sa->local, pk);
	memcpy(c->key_in + 4, pk, n);
	put_be32(c->key_out, c->spi_out);
	n = peer_key(&sa->peer, pk);
	memcpy(c->key_out + 4, pk, n);
}

/* A new CHILD_SA slot on sa; NULL when all are taken (said). */
static struct child *child_new(struct ike_sa *sa)
{
	if (sa->nch >= IKED_MAX_CHILDREN) {
		say(sa->d, "%s: %u CHILD_SAs on one IKE SA already: refusing another",
		    sa_pol(sa)->name, sa->nch);
		return NULL;
	}
	struct child *c = xcalloc(1, sizeof(*c));
	c->sa = sa;
	sa->ch[sa->nch++] = c;
	return c;
}

static struct child *child_by_spi(struct iked *d, uint32_t spi, const struct ipaddr *dst)
{
	uint8_t key[21] = {0}, pk[17];
	put_be32(key, spi);
	memcpy(key + 4, pk, peer_key(dst, pk));
	return hmap_get(&d->by_child, key, sizeof(key));
}

/* The CHILD_SA of sa whose outbound SPI is spi (the peer's inbound). */
static struct child *child_by_out(const struct ike_sa *sa, uint8_t satype, uint32_t spi)
{
	for (unsigned i = 0; i < sa->nch; i++)
		if (sa->ch[i]->up && sa->ch[i]->satype == satype && sa->ch[i]->spi_out == spi)
			return sa->ch[i];
	return NULL;
}

/* Take a CHILD_SA down (both SAs out of the kernel) and free it. */
static void child_remove(struct child *c, const char *why)
{
	struct ike_sa *sa = c->sa;
	struct iked *d = sa->d;
	if (c->spi_in)
		pf_delete(d, c->satype, c->spi_in, &sa->local);
	if (c->up && c->spi_out)
		pf_delete(d, c->satype, c->spi_out, &sa->peer);
	if (c->up) {
		hmap_del(&d->by_child, c->key_in, sizeof(c->key_in));
		hmap_del(&d->by_child, c->key_out, sizeof(c->key_out));
		d->st.deletes++;
		say(d, "%s: CHILD_SA in 0x%08x out 0x%08x with %s deleted", sa_pol(sa)->name,
		    c->spi_in, c->spi_out, why);
	}
	for (unsigned i = 0; i < sa->nch; i++)
		if (sa->ch[i] == c) {
			memmove(&sa->ch[i], &sa->ch[i + 1], (sa->nch - i - 1) * sizeof(*sa->ch));
			sa->nch--;
			break;
		}
	if (sa->rq_old == c)
		sa->rq_old = NULL;
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* The CHILD_SA that carries the policy's traffic now: the newest one up
 * and not replaced. */
static struct child *child_current(const struct ike_sa *sa)
{
	for (unsigned i = sa->nch; i-- > 0;)
		if (sa->ch[i]->up && !sa->ch[i]->replaced)
			return sa->ch[i];
	return NULL;
}

/* ---- IKE SAs ---- */

static void sa_free(struct ike_sa *sa)
{
	for (unsigned i = 0; i < sa->nch; i++) {
		OPENSSL_cleanse(sa->ch[i], sizeof(*sa->ch[i]));
		free(sa->ch[i]);
	}
	free(sa->msg1);
	free(sa->msg2);
	free(sa->req);
	free(sa->resp);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* Dead SAs are freed at a new exchange (never under our own feet), once
 * they are as many as the live ones: each SA is swept over a bounded
 * number of times. */
static void sweep(struct iked *d)
{
	if (d->ndead < 16 || d->ndead < d->nlive)
		return;
	unsigned j = 0;
	for (unsigned i = 0; i < d->nsas; i++) {
		struct ike_sa *sa = d->sas[i];
		if (sa->state == S_DEAD) {
			hmap_del(&d->by_spi, sa->key, sizeof(sa->key));
			hmap_del(&d->by_serial, &sa->serial, sizeof(sa->serial));
			sa_free(sa);
		} else {
			d->sas[j++] = sa;
		}
	}
	d->nsas = j;
	d->ndead = 0;
}

static void set_state(struct ike_sa *sa, enum sa_state st)
{
	if (sa->state == S_INIT_DONE && !sa->initiator)
		sa->d->halfopen--;
	if (st == S_INIT_DONE && !sa->initiator)
		sa->d->halfopen++;
	sa->state = st;
}

static void sa_kill(struct ike_sa *sa, const char *why)
{
	if (sa->state == S_DEAD)
		return;
	while (sa->nch)
		child_remove(sa->ch[0], why);
	set_state(sa, S_DEAD);
	sa->retry_gen++;
	sa->rq = RQ_NONE;
	OPENSSL_cleanse(sa->rq_dh, sizeof(sa->rq_dh));
	sa->d->nlive--;
	sa->d->ndead++;
}

/* ---- sending ---- */

/* A message to the peer: from port 500, or from 4500 behind the non-ESP
 * marker once a NAT was found (RFC 7296 2.23, RFC 3948 2.2). */
static void send_via(struct ike_sa *sa, const uint8_t *b, size_t len, bool natt, uint16_t port)
{
	struct udp_send_opts o = {.src = &sa->local};
	int rc;
	if (natt) {
		uint8_t *m = xmalloc(len + 4);
		memset(m, 0, 4);
		memcpy(m + 4, b, len);
		rc = udp_sendto(sa->d->us_natt, &sa->peer, port, m, len + 4, &o);
		free(m);
	} else {
		rc = udp_sendto(sa->d->us, &sa->peer, port, b, len, &o);
	}
	if (rc < 0)
		say(sa->d, "%s: cannot send to the peer: %s", sa_pol(sa)->name, strerror(-rc));
}

static void send_raw(struct ike_sa *sa, const uint8_t *b, size_t len)
{
	send_via(sa, b, len, sa->natt, sa->peer_port);
}

/* What the NAT_DETECTION notifies found: from now on IKE goes on port
 * 4500 and the CHILD_SAs in UDP; whoever is behind a NAT keeps its
 * mapping alive with keepalives. */
static void nat_found(struct ike_sa *sa, bool peer_nat, bool local_nat)
{
	if (!peer_nat && !local_nat)
		return;
	char a[ADDR_STRLEN];
	sa->natt = true;
	sa->nat_local = local_nat;
	sa->peer_float = peer_nat;
	sa->d->st.nat_detected++;
	say(sa->d, "%s: a NAT %s: IKE and ESP go in UDP port 4500 to %s", sa_pol(sa)->name,
	    local_nat && peer_nat ? "on both sides"
	    : local_nat           ? "on our side"
				  : "on the peer's side",
	    addr_fmt(&sa->peer, a));
	if (!sa->initiator)
		sa->peer_port = IKE_NATT_PORT; /* until it speaks from its NAT's port */
}

static void kick(struct ike_sa *sa);
static const uint8_t zero8[8];

enum timer_kind { T_LIVENESS, T_KEEPALIVE, T_IKE_REKEY, T_HALFOPEN, T_REPLACED };
static void arm(struct ike_sa *sa, enum timer_kind kind, uint64_t after);
static void arm_established(struct ike_sa *sa);
static void established(struct ike_sa *sa, const char *idtxt);
static void send_rekey_child(struct ike_sa *sa, struct child *old);
static void send_rekey_ike(struct ike_sa *sa);

/* An `active` policy's negotiation, at load and again after a dead peer. */
struct start_ev {
	struct iked *d;
	unsigned pol;
};
static void on_start(struct sim *s, void *arg);

struct retry_ev {
	struct iked *d;
	uint64_t serial, gen;
};

static struct ike_sa *sa_by_serial(struct iked *d, uint64_t serial)
{
	return hmap_get(&d->by_serial, &serial, sizeof(serial));
}

static void on_retry(struct sim *s, void *arg);

static void arm_retry(struct ike_sa *sa)
{
	struct retry_ev *ev = xmalloc(sizeof(*ev));
	*ev = (struct retry_ev){sa->d, sa->serial, ++sa->retry_gen};
	sim_after(sa->d->w->sim, IKED_RETRY_FIRST << sa->tries, on_retry, free, ev);
}

static void on_retry(struct sim *s, void *arg)
{
	struct retry_ev ev_copy = *(struct retry_ev *)arg, *ev = &ev_copy;
	free(arg); /* a run event frees its argument; a pending one, the engine */
	struct ike_sa *sa = sa_by_serial(ev->d, ev->serial);
	(void)s;
	if (!sa || sa->retry_gen != ev->gen || !sa->req || sa->state == S_DEAD)
		return;
	if (sa->tries >= IKED_RETRIES) {
		struct iked *d = sa->d;
		d->st.timeouts++;
		say(d, "%s: no answer from the peer after %u retransmissions: giving up",
		    sa_pol(sa)->name, sa->tries);
		if (sa->state != S_ESTABLISHED || sa->moved || sa->rq == RQ_DELETE_IKE) {
			sa_kill(sa, "the exchange timed out");
			return;
		}
		/* A dead peer: everything of this IKE SA goes, and an active
		 * policy starts again (iked's behaviour). */
		d->st.dead_peers++;
		unsigned pol = sa->pol;
		bool restart = sa_pol(sa)->mode == IKED_ACTIVE && !sa->moved &&
			       d->pols[pol]->cur_sa == sa->serial;
		sa_kill(sa, "a dead peer");
		if (restart) {
			struct start_ev *st = xmalloc(sizeof(*st));
			*st = (struct start_ev){d, pol};
			sim_after(d->w->sim, 0, on_start, free, st);
		}
		return;
	}
	sa->tries++;
	sa->d->st.retransmits++;
	send_raw(sa, sa->req, sa->reqlen);
	arm_retry(sa);
}

/* Send a request and keep it for retransmission. */
static void send_request(struct ike_sa *sa, const struct ike_buf *m)
{
	free(sa->req);
	sa->req = xmalloc(m->len);
	memcpy(sa->req, m->b, m->len);
	sa->reqlen = m->len;
	sa->tries = 0;
	send_raw(sa, m->b, m->len);
	arm_retry(sa);
}

static void send_response(struct ike_sa *sa, const struct ike_buf *m)
{
	free(sa->resp);
	sa->resp = xmalloc(m->len);
	memcpy(sa->resp, m->b, m->len);
	sa->resplen = m->len;
	send_raw(sa, m->b, m->len);
}

static void hdr_for(const struct ike_sa *sa, struct ike_hdr *h, uint8_t exchange, bool response,
		    uint32_t msgid)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->ispi, sa->spi_i, 8);
	memcpy(h->rspi, sa->spi_r, 8);
	h->exchange = exchange;
	h->flags = (sa->initiator ? IKE_FLAG_I : 0) | (response ? IKE_FLAG_R : 0);
	h->msgid = msgid;
}

/* Wrap the inner chain in an Encrypted payload (3.14): header | SK header
 * | IV | ciphertext | ICV. */
static int seal(struct ike_sa *sa, const struct ike_hdr *h, const struct ike_buf *in,
		struct ike_buf *out)
{
	const struct ike_encr_info *ei = &sa->ei;
	const uint8_t *ek = sa->initiator ? sa->sk_ei : sa->sk_er;
	const uint8_t *ak = sa->initiator ? sa->sk_ai : sa->sk_ar;
	size_t plain = in->len - 1; /* the chain without its first-type byte */
	size_t pad = (ei->block - (plain + 1) % ei->block) % ei->block;
	size_t clen = plain + pad + 1;
	unsigned icv = ei->aead ? ei->icvlen : ike_integ_icvlen(sa->integ);
	if (in->overflow || IKE_HDR_LEN + IKE_PAYLOAD_HDR + ei->ivlen + clen + icv > IKE_MSG_MAX)
		return -1;
	ikeb_init(out, h);
	ikeb_begin(out, IKE_PL_SK);
	out->b[out->cur] = ikeb_first(in);
	uint8_t iv[16];
	if (ei->aead) {
		put_be32(iv, (uint32_t)(++sa->iv_ctr >> 32));
		put_be32(iv + 4, (uint32_t)sa->iv_ctr);
	} else {
		rng_bytes(&sa->d->rng, iv, ei->ivlen);
	}
	size_t sk_hdr_end = out->len;
	ikeb_put(out, iv, ei->ivlen);
	uint8_t ptext[IKE_MSG_MAX];
	memcpy(ptext, in->b + 1, plain);
	memset(ptext + plain, 0, pad);
	ptext[plain + pad] = (uint8_t)pad;
	size_t ct_at = out->len;
	out->len += clen + icv;
	ikeb_end(out);
	ikeb_finish(out);
	int rc;
	if (ei->aead) {
		rc = ike_gcm_seal(ek, ei->keylen, iv, out->b, sk_hdr_end, ptext, clen,
				  out->b + ct_at, out->b + ct_at + clen);
	} else {
		rc = ike_cbc(true, ek, ei->keylen, iv, ptext, clen, out->b + ct_at);
		if (!rc)
			rc = ike_integ(sa->integ, ak, out->b, ct_at + clen, out->b + ct_at + clen);
	}
	OPENSSL_cleanse(ptext, sizeof(ptext));
	return rc;
}

/* Check and decrypt the Encrypted payload of m (raw bytes b), appending
 * its inner payloads to m; the plaintext goes to buf (kept for the
 * payload bodies).  0, or -1 with why set. */
static int unseal(struct ike_sa *sa, const uint8_t *b, struct ike_msg *m, uint8_t *buf,
		  const char **why)
{
	const struct ike_payload *sk = m->npl ? &m->pl[m->npl - 1] : NULL;
	if (!sk || sk->type != IKE_PL_SK) {
		*why = "no Encrypted payload";
		return -1;
	}
	const struct ike_encr_info *ei = &sa->ei;
	bool from_ini = m->h.flags & IKE_FLAG_I;
	const uint8_t *ek = from_ini ? sa->sk_ei : sa->sk_er;
	const uint8_t *ak = from_ini ? sa->sk_ai : sa->sk_ar;
	unsigned icv = ei->aead ? ei->icvlen : ike_integ_icvlen(sa->integ);
	if (sk->len < ei->ivlen + icv + 1 || (sk->len - ei->ivlen - icv) % ei->block) {
		*why = "the Encrypted payload's length does not fit its cipher";
		return -1;
	}
	size_t clen = sk->len - ei->ivlen - icv;
	const uint8_t *iv = sk->body, *ct = sk->body + ei->ivlen, *tag = ct + clen;
	int rc;
	if (ei->aead) {
		rc = ike_gcm_open(ek, ei->keylen, iv, b, m->sk_off + IKE_PAYLOAD_HDR, ct, clen, buf,
				  tag);
	} else {
		uint8_t want[64];
		rc = ike_integ(sa->integ, ak, b, (size_t)(tag - b), want);
		if (!rc && CRYPTO_memcmp(want, tag, icv) != 0)
			rc = -1;
		if (!rc)
			rc = ike_cbc(false, ek, ei->keylen, iv, ct, clen, buf);
	}
	if (rc) {
		*why = "the Encrypted payload's ICV does not match";
		return -1;
	}
	uint8_t pad = buf[clen - 1];
	if (pad >= clen) {
		*why = "the Encrypted payload's pad length is too long";
		return -1;
	}
	m->npl--; /* the SK payload itself */
	struct ike_perr e;
	if (ike_parse_chain(buf, clen - pad - 1, b[m->sk_off], m, &e) < 0) {
		*why = e.why;
		return -1;
	}
	return 0;
}

/* ---- keys ---- */

/* The IKE SA's keys (2.14).  old: the IKE SA it replaces, whose SK_d
 * and PRF make SKEYSEED (2.18), or NULL for a new one. */
static int derive_keys(struct ike_sa *sa, const uint8_t *shared, size_t slen,
		       const struct ike_sa *old)
{
	unsigned pl = ike_prf_len(sa->prf), al = sa->ei.aead ? 0 : ike_integ_keylen(sa->integ);
	unsigned el = sa->ei.keylen;
	uint8_t nn[IKE_DH_MAX + 2 * 256 + 16], skeyseed[IKE_PRF_MAX];
	size_t nnlen = sa->nilen + sa->nrlen;
	int rc;
	if (old) {
		/* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the old PRF */
		memcpy(nn, shared, slen);
		memcpy(nn + slen, sa->ni, sa->nilen);
		memcpy(nn + slen + sa->nilen, sa->nr, sa->nrlen);
		rc =
		    ike_prf(old->prf, old->sk_d, ike_prf_len(old->prf), nn, slen + nnlen, skeyseed);
		pl = ike_prf_len(sa->prf);
	} else {
		/* SKEYSEED = prf(Ni | Nr, g^ir) */
		memcpy(nn, sa->ni, sa->nilen);
		memcpy(nn + sa->nilen, sa->nr, sa->nrlen);
		rc = ike_prf(sa->prf, nn, nnlen, shared, slen, skeyseed);
	}
	if (rc < 0)
		return -1;
	unsigned seedlen = old ? ike_prf_len(old->prf) : pl;
	memcpy(nn, sa->ni, sa->nilen);
	memcpy(nn + sa->nilen, sa->nr, sa->nrlen);
	memcpy(nn + nnlen, sa->spi_i, 8);
	memcpy(nn + nnlen + 8, sa->spi_r, 8);
	uint8_t km[3 * IKE_PRF_MAX + 2 * 64 + 2 * 40];
	size_t total = 3 * (size_t)pl + 2 * (size_t)al + 2 * (size_t)el;
	if (ike_prfplus(sa->prf, skeyseed, seedlen, nn, nnlen + 16, km, total) < 0)
		return -1;
	const uint8_t *k = km;
	memcpy(sa->sk_d, k, pl), k += pl;
	memcpy(sa->sk_ai, k, al), k += al;
	memcpy(sa->sk_ar, k, al), k += al;
	memcpy(sa->sk_ei, k, el), k += el;
	memcpy(sa->sk_er, k, el), k += el;
	memcpy(sa->sk_pi, k, pl), k += pl;
	memcpy(sa->sk_pr, k, pl);
	OPENSSL_cleanse(km, sizeof(km));
	OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
	OPENSSL_cleanse(nn, sizeof(nn));
	return 0;
}

static const char *ws_encr(const struct ike_sa *sa)
{
	static const char *const cbc[] = {"AES-CBC-128 [RFC3602]", "AES-CBC-192 [RFC3602]",
					  "AES-CBC-256 [RFC3602]"};
	static const char *const gcm[] = {"AES-GCM-128 with 16 octet ICV [RFC5282]",
					  "AES-GCM-192 with 16 octet ICV [RFC5282]",
					  "AES-GCM-256 with 16 octet ICV [RFC5282]"};
	unsigned i = sa->encr_bits == 128 ? 0 : sa->encr_bits == 192 ? 1 : 2;
	return sa->encr == ENCR_AES_GCM_16 ? gcm[i] : cbc[i];
}

static const char *ws_integ(uint16_t integ)
{
	switch (integ) {
	case AUTH_HMAC_SHA1_96: return "HMAC_SHA1_96 [RFC2404]";
	case AUTH_HMAC_SHA2_256_128: return "HMAC_SHA2_256_128 [RFC4868]";
	case AUTH_HMAC_SHA2_384_192: return "HMAC_SHA2_384_192 [RFC4868]";
	case AUTH_HMAC_SHA2_512_256: return "HMAC_SHA2_512_256 [RFC4868]";
	default: return "NONE [RFC4306]";
	}
}

/* One ikev2_decryption_table line for the run (the initiator writes it). */
static void table_add(struct ike_sa *sa)
{
	struct iked_world *w = sa->d->w;
	unsigned el = sa->ei.keylen, al = sa->ei.aead ? 0 : ike_integ_keylen(sa->integ);
	char ei[81], er[81], ai[129], ar[129], si[17], sr[17];
	hex(sa->spi_i, 8, si);
	hex(sa->spi_r, 8, sr);
	hex(sa->sk_ei, el, ei);
	hex(sa->sk_er, el, er);
	hex(sa->sk_ai, al, ai);
	hex(sa->sk_ar, al, ar);
	char line[640];
	/* Wireshark's UAT form: byte fields as bare hex, names quoted. */
	snprintf(line, sizeof(line), "%s,%s,%s,%s,\"%s\",%s,%s,\"%s\"", si, sr, ei, er, ws_encr(sa),
		 ai, ar, ws_integ(sa->ei.aead ? AUTH_NONE : sa->integ));
	w->table = xgrow(w->table, w->ntable, sizeof(*w->table));
	w->table[w->ntable++] = xstrdup(line);
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(ei, sizeof(ei));
	OPENSSL_cleanse(er, sizeof(er));
	OPENSSL_cleanse(ai, sizeof(ai));
	OPENSSL_cleanse(ar, sizeof(ar));
}

/* ---- proposals ---- */

/* Our proposals for the IKE SA (spisize 0) or a CHILD_SA (with spi); a
 * CHILD_SA's DH groups (PFS) only when child_dh (CREATE_CHILD_SA). */
static unsigned build_props(const struct iked_prop *ps, unsigned n, uint8_t proto, uint32_t spi,
			    const uint16_t *only_group, bool child_dh, struct ike_prop *out)
{
	for (unsigned i = 0; i < n; i++) {
		const struct iked_prop *p = &ps[i];
		struct ike_prop *o = &out[i];
		memset(o, 0, sizeof(*o));
		o->num = (uint8_t)(i + 1);
		o->proto = proto;
		if (proto != IKE_PROTO_IKE) {
			o->spisize = 4;
			put_be32(o->spi, spi);
		}
		bool all_aead = true;
		for (unsigned j = 0; j < p->nencr && proto != IKE_PROTO_AH; j++) {
			o->xf[o->nxf++] = (struct ike_xf){
			    IKE_XF_ENCR, p->encr[j],
			    p->encr[j] == ENCR_CHACHA20_POLY1305 ? 0 : p->encr_bits[j]};
			if (p->encr[j] == ENCR_AES_CBC)
				all_aead = false;
		}
		if (proto == IKE_PROTO_AH)
			all_aead = false;
		for (unsigned j = 0; j < p->nprf && proto == IKE_PROTO_IKE; j++)
			o->xf[o->nxf++] = (struct ike_xf){IKE_XF_PRF, p->prf[j], 0};
		for (unsigned j = 0; j < p->ninteg && !all_aead; j++)
			o->xf[o->nxf++] = (struct ike_xf){IKE_XF_INTEG, p->integ[j], 0};
		if (proto == IKE_PROTO_IKE) {
			if (only_group) /* the group of our KE first, as iked does after INVALID_KE
					 */
				o->xf[o->nxf++] = (struct ike_xf){IKE_XF_DH, *only_group, 0};
			for (unsigned j = 0; j < p->ngroup; j++)
				if (!only_group || p->group[j] != *only_group)
					o->xf[o->nxf++] =
					    (struct ike_xf){IKE_XF_DH, p->group[j], 0};
		} else {
			for (unsigned j = 0; j < p->ngroup && child_dh; j++)
				o->xf[o->nxf++] = (struct ike_xf){IKE_XF_DH, p->group[j], 0};
			o->xf[o->nxf++] = (struct ike_xf){IKE_XF_ESN, p->esn ? 1 : 0, 0};
		}
	}
	return n;
}

/* The transforms of one received proposal that we accept, as a suite:
 * the first of each type that one of our proposals holds, all from the
 * same proposal of ours.  True when every needed type was found. */
struct suite {
	uint16_t encr, encr_bits, prf, integ, group;
	int esn;
};

static bool in_list(const uint16_t *l, unsigned n, uint16_t v)
{
	for (unsigned i = 0; i < n; i++)
		if (l[i] == v)
			return true;
	return false;
}

static bool match_prop(const struct ike_prop *rp, const struct iked_prop *ours, uint8_t proto,
		       bool child_dh, struct suite *s)
{
	memset(s, 0, sizeof(*s));
	s->esn = -1;
	bool have_encr = false, have_prf = false, have_integ = false, have_group = false;
	bool integ_none = false;
	for (unsigned i = 0; i < rp->nxf; i++) {
		const struct ike_xf *x = &rp->xf[i];
		switch (x->type) {
		case IKE_XF_ENCR:
			if (have_encr)
				break;
			for (unsigned j = 0; j < ours->nencr; j++)
				if (ours->encr[j] == x->id && (x->id == ENCR_CHACHA20_POLY1305 ||
							       ours->encr_bits[j] == x->keylen)) {
					have_encr = true;
					s->encr = x->id;
					s->encr_bits = x->keylen;
					break;
				}
			break;
		case IKE_XF_PRF:
			if (!have_prf && in_list(ours->prf, ours->nprf, x->id)) {
				have_prf = true;
				s->prf = x->id;
			}
			break;
		case IKE_XF_INTEG:
			if (x->id == AUTH_NONE)
				integ_none = true;
			else if (!have_integ && in_list(ours->integ, ours->ninteg, x->id)) {
				have_integ = true;
				s->integ = x->id;
			}
			break;
		case IKE_XF_DH:
			if (!have_group && (in_list(ours->group, ours->ngroup, x->id) ||
					    /* a CHILD_SA with no PFS of ours takes the peer's */
					    (proto != IKE_PROTO_IKE && !ours->ngroup && x->id &&
					     ike_dh_publen(x->id)))) {
				have_group = true;
				s->group = x->id;
			}
			break;
		case IKE_XF_ESN:
			if (s->esn < 0 && x->id == (ours->esn ? 1 : 0))
				s->esn = x->id;
			break;
		default: break;
		}
	}
	(void)integ_none;
	bool aead = s->encr == ENCR_AES_GCM_16 || s->encr == ENCR_CHACHA20_POLY1305;
	if (aead) {
		s->integ = AUTH_NONE;
		have_integ = true;
	}
	if (proto == IKE_PROTO_IKE)
		return have_encr && have_prf && have_integ && have_group;
	/* PFS: a CREATE_CHILD_SA must agree on a group when ours has one */
	bool dh_ok = !child_dh || !ours->ngroup || have_group;
	if (!child_dh)
		s->group = 0;
	if (proto == IKE_PROTO_AH)
		return have_integ && !aead && s->esn >= 0 && dh_ok;
	return have_encr && have_integ && s->esn >= 0 && dh_ok;
}

/* The first received proposal (in the peer's order) that one of ours
 * accepts: its index, or -1. */
static int choose(const struct ike_prop *rps, unsigned nr, const struct iked_prop *ours,
		  unsigned no, uint8_t proto, bool child_dh, struct suite *s)
{
	for (unsigned i = 0; i < nr; i++) {
		if (rps[i].proto != proto)
			continue;
		if (proto != IKE_PROTO_IKE && rps[i].spisize != 4)
			continue;
		for (unsigned j = 0; j < no; j++)
			if (match_prop(&rps[i], &ours[j], proto, child_dh, s))
				return (int)i;
	}
	return -1;
}

/* The chosen suite as a one-proposal SA payload; ikespi: our new IKE
 * SPI when the IKE SA is being rekeyed (else NULL). */
static void chosen_prop(const struct ike_prop *rp, const struct suite *s, uint8_t proto,
			uint32_t spi, const uint8_t *ikespi, struct ike_prop *o)
{
	memset(o, 0, sizeof(*o));
	o->num = rp->num;
	o->proto = proto;
	if (proto != IKE_PROTO_IKE) {
		o->spisize = 4;
		put_be32(o->spi, spi);
	} else if (ikespi) {
		o->spisize = 8;
		memcpy(o->spi, ikespi, 8);
	}
	if (proto != IKE_PROTO_AH)
		o->xf[o->nxf++] = (struct ike_xf){
		    IKE_XF_ENCR, s->encr, s->encr == ENCR_CHACHA20_POLY1305 ? 0 : s->encr_bits};
	if (proto == IKE_PROTO_IKE)
		o->xf[o->nxf++] = (struct ike_xf){IKE_XF_PRF, s->prf, 0};
	if (s->integ != AUTH_NONE)
		o->xf[o->nxf++] = (struct ike_xf){IKE_XF_INTEG, s->integ, 0};
	if (proto == IKE_PROTO_IKE || s->group)
		o->xf[o->nxf++] = (struct ike_xf){IKE_XF_DH, s->group, 0};
	if (proto != IKE_PROTO_IKE)
		o->xf[o->nxf++] = (struct ike_xf){IKE_XF_ESN, (uint16_t)s->esn, 0};
}

/* ---- traffic selectors ---- */

static void range_of(const struct ipaddr *a, unsigned plen, struct ipaddr *lo, struct ipaddr *hi)
{
	*lo = *a;
	*hi = *a;
	unsigned bytes = a->af == ADDR_V6 ? 16 : 4;
	for (unsigned i = 0; i < bytes; i++) {
		unsigned bits = plen > i * 8 ? (plen - i * 8 >= 8 ? 8 : plen - i * 8) : 0;
		uint8_t m = (uint8_t)(0xff00 >> bits);
		lo->a[i] &= m;
		hi->a[i] |= (uint8_t)~m;
	}
}

/* One side of a policy's flow as a TS. */
static struct ike_ts ts_of(const struct ipaddr *a, unsigned plen, uint8_t proto, uint16_t port)
{
	struct ike_ts t = {.proto = proto, .sport = port, .eport = port ? port : 0xffff};
	t.type = a->af == ADDR_V6 ? IKE_TS_IPV6_RANGE : IKE_TS_IPV4_RANGE;
	range_of(a, plen, &t.start, &t.end);
	return t;
}

static int acmp(const struct ipaddr *x, const struct ipaddr *y)
{
	return memcmp(x->a, y->a, x->af == ADDR_V6 ? 16 : 4);
}

/* The intersection of two selectors (RFC 7296 2.9 narrowing); false when empty. */
static bool ts_narrow(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *r)
{
	if (a->type != b->type)
		return false;
	if (a->proto && b->proto && a->proto != b->proto)
		return false;
	*r = *a;
	r->proto = a->proto ? a->proto : b->proto;
	r->sport = a->sport > b->sport ? a->sport : b->sport;
	r->eport = a->eport < b->eport ? a->eport : b->eport;
	r->start = acmp(&a->start, &b->start) > 0 ? a->start : b->start;
	r->end = acmp(&a->end, &b->end) < 0 ? a->end : b->end;
	return r->sport <= r->eport && acmp(&r->start, &r->end) <= 0;
}

/* A TS as a selector side: a prefix when the range is one, else false. */
static bool ts_prefix(const struct ike_ts *t, struct ipaddr *a, uint8_t *plen, uint16_t *port,
		      bool *port_set)
{
	unsigned bits = t->start.af == ADDR_V6 ? 128 : 32;
	for (unsigned p = 0; p <= bits; p++) {
		struct ipaddr lo, hi;
		range_of(&t->start, p, &lo, &hi);
		if (acmp(&lo, &t->start) == 0 && acmp(&hi, &t->end) == 0) {
			*a = t->start;
			*plen = (uint8_t)p;
			break;
		}
		if (p == bits)
			return false;
	}
	if (t->sport == t->eport) {
		*port = t->sport;
		*port_set = true;
	} else if (t->sport == 0 && t->eport == 0xffff) {
		*port = 0;
		*port_set = false;
	} else {
		return false;
	}
	return true;
}

/* The child's flow from the negotiated TS: ours (our side) and theirs. */
static bool child_flow(struct child *c, const struct ike_ts *ours, const struct ike_ts *theirs)
{
	memset(&c->sel, 0, sizeof(c->sel));
	memset(&c->mask, 0, sizeof(c->mask));
	if (!ts_prefix(ours, &c->sel.src, &c->mask.src_plen, &c->sel.sport, &c->mask.sport) ||
	    !ts_prefix(theirs, &c->sel.dst, &c->mask.dst_plen, &c->sel.dport, &c->mask.dport))
		return false;
	c->sel.proto = ours->proto ? ours->proto : theirs->proto;
	c->mask.proto = c->sel.proto != 0;
	return true;
}

/* ---- AUTH (2.15, PSK) ---- */

/* Our ID payload body: srcid as FQDN (RFC822_ADDR with an @), or the address. */
static size_t id_body(const char *id, const struct ipaddr *addr, uint8_t *b)
{
	memset(b, 0, 4);
	if (id[0]) {
		size_t n = strlen(id);
		b[0] = strchr(id, '@') ? IKE_ID_UFQDN : IKE_ID_FQDN;
		memcpy(b + 4, id, n);
		return 4 + n;
	}
	b[0] = addr->af == ADDR_V6 ? IKE_ID_IPV6 : IKE_ID_IPV4;
	size_t n = addr->af == ADDR_V6 ? 16 : 4;
	memcpy(b + 4, addr->a, n);
	return 4 + n;
}

/* An ID payload body as text, for messages and for dstid. */
static void id_text(const uint8_t *body, size_t len, char *out, size_t cap)
{
	if (len < 4) {
		snprintf(out, cap, "?");
		return;
	}
	if ((body[0] == IKE_ID_IPV4 && len == 8) || (body[0] == IKE_ID_IPV6 && len == 20)) {
		struct ipaddr a = {.af = body[0] == IKE_ID_IPV4 ? ADDR_V4 : ADDR_V6};
		memcpy(a.a, body + 4, len - 4);
		char s[ADDR_STRLEN];
		snprintf(out, cap, "%s", addr_fmt(&a, s));
		return;
	}
	size_t n = len - 4 < cap - 1 ? len - 4 : cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = body[4 + i] >= 0x20 && body[4 + i] < 0x7f ? (char)body[4 + i] : '?';
	out[n] = 0;
}

/* AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <msg> | <nonce> | prf(SK_p, ID)) */
static int psk_auth(const struct ike_sa *sa, bool of_initiator, const uint8_t *idb, size_t idlen,
		    uint8_t *out)
{
	const struct iked_policy *p = sa_pol(sa);
	unsigned pl = ike_prf_len(sa->prf);
	const uint8_t *msg = of_initiator ? sa->msg1 : sa->msg2;
	size_t msglen = of_initiator ? sa->msg1len : sa->msg2len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nlen = of_initiator ? sa->nrlen : sa->nilen;
	size_t total = msglen + nlen + pl;
	uint8_t *octets = xmalloc(total);
	uint8_t padkey[IKE_PRF_MAX];
	static const char pad[] = "Key Pad for IKEv2";
	int rc = -1;
	memcpy(octets, msg, msglen);
	memcpy(octets + msglen, nonce, nlen);
	if (ike_prf(sa->prf, of_initiator ? sa->sk_pi : sa->sk_pr, pl, idb, idlen,
		    octets + msglen + nlen) == 0 &&
	    ike_prf(sa->prf, p->psk, p->psklen, (const uint8_t *)pad, sizeof(pad) - 1, padkey) ==
		0 &&
	    ike_prf(sa->prf, padkey, pl, octets, total, out) == 0)
		rc = 0;
	OPENSSL_cleanse(padkey, sizeof(padkey));
	OPENSSL_cleanse(octets, total);
	free(octets);
	return rc;
}

/* Check the peer's ID and AUTH payloads; NULL or why not. */
static const char *check_auth(const struct ike_sa *sa, const struct ike_msg *m, uint8_t idtype,
			      char *idtxt, size_t cap)
{
	const struct ike_payload *id = ike_find(m, idtype), *au = ike_find(m, IKE_PL_AUTH);
	if (!id || !au)
		return "no ID or AUTH payload";
	id_text(id->body, id->len, idtxt, cap);
	const struct iked_policy *p = sa_pol(sa);
	if (p->dstid[0] &&
	    (id->len - 4 != strlen(p->dstid) || memcmp(id->body + 4, p->dstid, id->len - 4) != 0 ||
	     (id->body[0] != IKE_ID_FQDN && id->body[0] != IKE_ID_UFQDN)))
		return "the peer's ID is not the policy's dstid";
	uint8_t method;
	const uint8_t *data;
	size_t dlen;
	if (ike_parse_typed(au->body, au->len, &method, &data, &dlen) < 0 || method != IKE_AUTH_PSK)
		return "not a shared-key AUTH";
	uint8_t want[IKE_PRF_MAX];
	if (psk_auth(sa, !sa->initiator, id->body, id->len, want) < 0)
		return "cannot compute AUTH";
	bool ok = dlen == ike_prf_len(sa->prf) && CRYPTO_memcmp(want, data, dlen) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok ? NULL : "the AUTH payload does not match: a different pre-shared key";
}

/* ---- installing a CHILD_SA ---- */

/* KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) (2.17): the exchange's
 * initiator to responder encryption and integrity keys, then the other
 * way.  exch_ini: we began the exchange that made c.  False when the
 * kernel refused (c is then removed). */
static bool install_child(struct ike_sa *sa, struct child *c, bool exch_ini, const uint8_t *ni,
			  size_t nilen, const uint8_t *nr, size_t nrlen, const uint8_t *g,
			  size_t glen)
{
	struct iked *d = sa->d;
	unsigned el = child_enckeylen(c), al = child_authkeylen(c);
	uint8_t km[2 * (36 + 64)], seed[IKE_DH_MAX + 2 * 256];
	if (glen)
		memcpy(seed, g, glen);
	memcpy(seed + glen, ni, nilen);
	memcpy(seed + glen + nilen, nr, nrlen);
	int rc = ike_prfplus(sa->prf, sa->sk_d, ike_prf_len(sa->prf), seed, glen + nilen + nrlen,
			     km, 2 * ((size_t)el + al)) < 0
		     ? -EINVAL
		     : 0;
	OPENSSL_cleanse(seed, sizeof(seed));
	const uint8_t *ie = km, *ia = km + el, *re = km + el + al, *ra = km + 2 * el + al;
	const uint8_t *oe = exch_ini ? ie : re, *oa = exch_ini ? ia : ra;
	const uint8_t *ine = exch_ini ? re : ie, *ina = exch_ini ? ra : ia;
	c->ours = exch_ini;
	if (!rc)
		rc = pf_install(d, sa, c, SADB_UPDATE, c->spi_in, &sa->peer, &sa->local, ine, ina);
	if (!rc)
		rc = pf_install(d, sa, c, SADB_ADD, c->spi_out, &sa->local, &sa->peer, oe, oa);
	OPENSSL_cleanse(km, sizeof(km));
	if (!rc)
		rc = pf_flows(d, c->satype, &c->sel, &c->mask, &sa->local, &sa->peer);
	if (rc) {
		say(d, "%s: the kernel refused the CHILD_SA: %s", sa_pol(sa)->name, strerror(-rc));
		child_remove(c, "a refusal");
		return false;
	}
	c->up = true;
	child_keys(c, sa);
	hmap_add(&d->by_child, c->key_in, sizeof(c->key_in), c);
	hmap_add(&d->by_child, c->key_out, sizeof(c->key_out), c);
	d->st.children++;
	char a[ADDR_STRLEN];
	say(d, "%s: CHILD_SA %s %s%s in 0x%08x out 0x%08x with %s", sa_pol(sa)->name,
	    pfkey_name(PFN_SATYPE, c->satype), c->transport ? "transport" : "tunnel",
	    sa->natt && c->satype == SADB_SATYPE_ESP ? " udpencap" : "", c->spi_in, c->spi_out,
	    addr_fmt(&sa->peer, a));
	return true;
}

/* ---- NAT detection (2.23) and cookies (2.6) ---- */

/* SHA-1(SPIi | SPIr | IP | port) */
static void nat_hash(const uint8_t *spi_i, const uint8_t *spi_r, const struct ipaddr *a,
		     uint16_t port, uint8_t out[20])
{
	uint8_t b[16 + 16 + 2];
	size_t n = addr_len(a->af);
	memcpy(b, spi_i, 8);
	memcpy(b + 8, spi_r, 8);
	memcpy(b + 16, a->a, n);
	put_be16(b + 16 + n, port);
	if (ike_sha1(b, 18 + n, out) < 0)
		memset(out, 0, 20);
}

/* Both NAT_DETECTION notifies of a message we send from (src, sport) to
 * (dst, dport). */
static void nat_notifies(struct ike_buf *m, const uint8_t *spi_i, const uint8_t *spi_r,
			 const struct ipaddr *src, uint16_t sport, const struct ipaddr *dst,
			 uint16_t dport)
{
	uint8_t h[20];
	nat_hash(spi_i, spi_r, src, sport, h);
	ikeb_notify(m, 0, NULL, 0, N_NAT_DETECTION_SOURCE_IP, h, 20);
	nat_hash(spi_i, spi_r, dst, dport, h);
	ikeb_notify(m, 0, NULL, 0, N_NAT_DETECTION_DESTINATION_IP, h, 20);
}

/* What the NAT_DETECTION notifies of a message that came from (from,
 * sport) to (to, dport) say: false when it had none of either kind (the
 * peer does no NAT-T); else *peer_nat when no source hash is the one of
 * where it came from, *local_nat when the destination hash is not ours. */
static bool nat_check(const struct ike_msg *m, const uint8_t *spi_i, const uint8_t *spi_r,
		      const struct ipaddr *from, uint16_t sport, const struct ipaddr *to,
		      uint16_t dport, bool *peer_nat, bool *local_nat)
{
	uint8_t hs[20], hd[20];
	nat_hash(spi_i, spi_r, from, sport, hs);
	nat_hash(spi_i, spi_r, to, dport, hd);
	bool any_s = false, any_d = false, match_s = false, match_d = false;
	for (unsigned i = 0; i < m->npl; i++) {
		struct ike_notify n;
		if (m->pl[i].type != IKE_PL_N ||
		    ike_parse_notify(m->pl[i].body, m->pl[i].len, &n) < 0)
			continue;
		if (n.type == N_NAT_DETECTION_SOURCE_IP) {
			any_s = true;
			match_s |= n.datalen == 20 && memcmp(n.data, hs, 20) == 0;
		} else if (n.type == N_NAT_DETECTION_DESTINATION_IP) {
			any_d = true;
			match_d |= n.datalen == 20 && memcmp(n.data, hd, 20) == 0;
		}
	}
	*peer_nat = any_s && !match_s;
	*local_nat = any_d && !match_d;
	return any_s && any_d;
}

/* Cookie = version 0 | HMAC-SHA-256(secret, Ni | IPi | SPIi): stateless,
 * so that a flood of IKE_SA_INIT from forged addresses costs nothing. */
static void make_cookie(const struct iked *d, const uint8_t *ni, size_t nilen,
			const struct ipaddr *from, const uint8_t *spi_i,
			uint8_t out[IKED_COOKIE_LEN])
{
	uint8_t b[256 + 16 + 8];
	size_t n = addr_len(from->af);
	memcpy(b, ni, nilen);
	memcpy(b + nilen, from->a, n);
	memcpy(b + nilen + n, spi_i, 8);
	out[0] = 0;
	if (ike_prf(PRF_HMAC_SHA2_256, d->cookie_secret, sizeof(d->cookie_secret), b, nilen + n + 8,
		    out + 1) < 0)
		memset(out + 1, 0, IKED_COOKIE_LEN - 1);
}

/* The data of the first notify of a type, or NULL. */
static const struct ike_notify *find_notify(const struct ike_msg *m, uint16_t type,
					    struct ike_notify *out)
{
	for (unsigned i = 0; i < m->npl; i++)
		if (m->pl[i].type == IKE_PL_N &&
		    ike_parse_notify(m->pl[i].body, m->pl[i].len, out) == 0 && out->type == type)
			return out;
	return NULL;
}

/* ---- exchanges: initiator ---- */

/* IKE_SA_INIT: fresh makes a new DH value and nonce (a first try, or
 * another group after INVALID_KE_PAYLOAD); a retry with a cookie keeps
 * them (2.6: all other payloads unchanged). */
static void send_sa_init(struct ike_sa *sa, bool fresh)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	struct ike_hdr h;
	hdr_for(sa, &h, IKE_SA_INIT, false, 0);
	struct ike_buf *m = xmalloc(sizeof(*m));
	ikeb_init(m, &h);
	if (sa->cookielen)
		ikeb_notify(m, 0, NULL, 0, N_COOKIE, sa->cookie, sa->cookielen);
	struct ike_prop props[IKED_MAX_PROPS];
	unsigned n = build_props(p->ike, p->nike, IKE_PROTO_IKE, 0, &sa->group, false, props);
	ikeb_sa(m, props, n);
	uint8_t pub[IKE_DH_MAX];
	if (fresh)
		rng_bytes(&d->rng, sa->dhpriv, ike_dh_privlen(sa->group));
	if (ike_dh_public(sa->group, sa->dhpriv, pub) < 0) {
		say(d, "%s: cannot make a DH value for group %u", p->name, sa->group);
		sa_kill(sa, "an error");
		free(m);
		return;
	}
	ikeb_ke(m, sa->group, pub, ike_dh_publen(sa->group));
	if (fresh) {
		sa->nilen = IKED_NONCE_LEN;
		rng_bytes(&d->rng, sa->ni, sa->nilen);
	}
	ikeb_nonce(m, sa->ni, sa->nilen);
	if (d->us_natt) {
		static const uint8_t zero[8];
		nat_notifies(m, sa->spi_i, zero, &sa->local, IKE_PORT, &sa->peer, IKE_PORT);
	}
	ikeb_finish(m);
	free(sa->msg1);
	sa->msg1 = xmalloc(m->len);
	memcpy(sa->msg1, m->b, m->len);
	sa->msg1len = m->len;
	set_state(sa, S_INIT_SENT);
	sa->next_msgid = 1;
	sa->rq = RQ_SA_INIT;
	send_request(sa, m);
	free(m);
}

static void initiate(struct iked *d, unsigned pol, const struct ipaddr *local,
		     const struct ipaddr *peer)
{
	sweep(d);
	struct ike_sa *sa = sa_new(d, pol, true, local, peer, IKE_PORT, NULL);
	if (!sa)
		return;
	d->pols[pol]->cur_sa = sa->serial;
	const struct iked_policy *p = &d->pols[pol]->p;
	sa->group = p->ike[0].group[0];
	d->st.initiated++;
	char a[ADDR_STRLEN];
	say(d, "%s: IKE_SA_INIT to %s, SPIi 0x%016llx", p->name, addr_fmt(peer, a),
	    (unsigned long long)spi64(sa->spi_i));
	send_sa_init(sa, true);
}

static void send_auth(struct ike_sa *sa)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	struct child *c = child_new(sa);
	if (!c) {
		sa_kill(sa, "an error");
		return;
	}
	c->satype = p->satype;
	c->transport = p->transport;
	c->spi_in = pf_getspi(d, p->satype, &sa->peer, &sa->local);
	if (!c->spi_in) {
		say(d, "%s: GETSPI refused", p->name);
		sa_kill(sa, "an error");
		return;
	}
	struct ike_buf *in = xmalloc(sizeof(*in)), *m = xmalloc(sizeof(*m));
	ikeb_init_chain(in);
	uint8_t idb[4 + IKED_ID_MAX], auth[IKE_PRF_MAX];
	size_t idlen = id_body(p->srcid, &sa->local, idb);
	ikeb_typed(in, IKE_PL_IDI, idb[0], idb + 4, idlen - 4);
	psk_auth(sa, true, idb, idlen, auth);
	ikeb_typed(in, IKE_PL_AUTH, IKE_AUTH_PSK, auth, ike_prf_len(sa->prf));
	if (p->transport)
		ikeb_notify(in, 0, NULL, 0, N_USE_TRANSPORT_MODE, NULL, 0);
	struct ike_prop props[IKED_MAX_PROPS];
	uint8_t proto = p->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP;
	unsigned n = build_props(p->child, p->nchild, proto, c->spi_in, NULL, false, props);
	ikeb_sa(in, props, n);
	struct ike_ts tsi = ts_of(&p->src, p->src_plen, p->proto, p->sport);
	struct ike_ts tsr = ts_of(&p->dst, p->dst_plen, p->proto, p->dport);
	ikeb_ts(in, IKE_PL_TSI, &tsi, 1);
	ikeb_ts(in, IKE_PL_TSR, &tsr, 1);
	struct ike_hdr h;
	hdr_for(sa, &h, IKE_AUTH, false, sa->next_msgid++);
	if (seal(sa, &h, in, m) < 0) {
		say(d, "%s: IKE_AUTH does not fit in a message", p->name);
		sa_kill(sa, "an error");
	} else {
		set_state(sa, S_AUTH_SENT);
		sa->rq = RQ_AUTH;
		if (sa->natt)
			sa->peer_port = IKE_NATT_PORT; /* from here on, 4500 (2.23) */
		send_request(sa, m);
	}
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
	free(m);
}

static void fail_notify(struct ike_sa *sa, uint16_t type, const char *exchange)
{
	struct iked *d = sa->d;
	if (type == N_AUTHENTICATION_FAILED)
		d->st.auth_failures++;
	else if (type == N_NO_PROPOSAL_CHOSEN)
		d->st.no_proposal++;
	else if (type == N_TS_UNACCEPTABLE)
		d->st.ts_unacceptable++;
	say(d, "%s: the peer answered %s with %s", sa_pol(sa)->name, exchange,
	    ike_notify_name(type));
}

/* The first error notify of m, 0 when none. */
static uint16_t error_notify(const struct ike_msg *m, struct ike_notify *out)
{
	for (unsigned i = 0; i < m->npl; i++) {
		struct ike_notify n;
		if (m->pl[i].type == IKE_PL_N &&
		    ike_parse_notify(m->pl[i].body, m->pl[i].len, &n) == 0 && n.type < 16384) {
			if (out)
				*out = n;
			return n.type;
		}
	}
	return 0;
}

static bool has_notify(const struct ike_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->npl; i++) {
		struct ike_notify n;
		if (m->pl[i].type == IKE_PL_N &&
		    ike_parse_notify(m->pl[i].body, m->pl[i].len, &n) == 0 && n.type == type)
			return true;
	}
	return false;
}

static void drop(struct iked *d, const struct ipaddr *from, const char *why)
{
	char a[ADDR_STRLEN];
	d->st.dropped++;
	say(d, "dropped a message from %s: %s", addr_fmt(from, a), why);
}

static void ini_init_response(struct ike_sa *sa, const uint8_t *b, size_t len,
			      const struct ike_msg *m, uint16_t sport)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	struct ike_notify n;
	if (find_notify(m, N_COOKIE, &n) && !ike_find(m, IKE_PL_SA)) {
		d->st.cookies++;
		if (n.datalen < 1 || n.datalen > sizeof(sa->cookie) || sa->cookie_tries >= 2) {
			say(d, "%s: the peer asks for a cookie again (or a bad one): giving up",
			    p->name);
			sa_kill(sa, "a failed negotiation");
			return;
		}
		say(d, "%s: the peer asks for a cookie: IKE_SA_INIT again with it", p->name);
		sa->cookie_tries++;
		memcpy(sa->cookie, n.data, n.datalen);
		sa->cookielen = n.datalen;
		sa->retry_gen++;
		send_sa_init(sa, false);
		return;
	}
	uint16_t err = error_notify(m, &n);
	if (err == N_INVALID_KE_PAYLOAD && n.datalen == 2) {
		uint16_t g = get_be16(n.data);
		d->st.invalid_ke++;
		bool ours = false;
		for (unsigned i = 0; i < p->nike; i++)
			ours |= in_list(p->ike[i].group, p->ike[i].ngroup, g);
		if (!ours || g == sa->group || sa->ke_tries >= IKED_KE_RETRIES) {
			say(d, "%s: INVALID_KE_PAYLOAD asks for group %u, which we do not offer",
			    p->name, g);
			sa_kill(sa, "a failed negotiation");
			return;
		}
		say(d, "%s: INVALID_KE_PAYLOAD: the peer wants group %u; again with it", p->name,
		    g);
		sa->ke_tries++;
		sa->group = g;
		sa->retry_gen++;
		send_sa_init(sa, true);
		return;
	}
	if (err) {
		fail_notify(sa, err, "IKE_SA_INIT");
		sa_kill(sa, "a failed negotiation");
		return;
	}
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *ke = ike_find(m, IKE_PL_KE),
				 *no = ike_find(m, IKE_PL_NONCE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp;
	struct suite s;
	uint16_t g;
	const uint8_t *kd;
	size_t kdlen;
	if (!sap || !ke || !no || ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 ||
	    nrp != 1 || choose(rp, 1, p->ike, p->nike, IKE_PROTO_IKE, false, &s) != 0 ||
	    ike_parse_ke(ke->body, ke->len, &g, &kd, &kdlen) < 0 || g != sa->group ||
	    s.group != sa->group || no->len < 16 || no->len > sizeof(sa->nr)) {
		drop(d, &sa->peer,
		     "an IKE_SA_INIT response without a proposal, KE and nonce we sent");
		return;
	}
	memcpy(sa->spi_r, m->h.rspi, 8);
	memcpy(sa->nr, no->body, no->len);
	sa->nrlen = no->len;
	bool peer_nat, local_nat;
	if (d->us_natt && nat_check(m, sa->spi_i, sa->spi_r, &sa->peer, sport, &sa->local, IKE_PORT,
				    &peer_nat, &local_nat))
		nat_found(sa, peer_nat, local_nat);
	sa->encr = s.encr;
	sa->encr_bits = s.encr_bits;
	sa->prf = s.prf;
	sa->integ = s.integ;
	ike_encr_info(sa->encr, sa->encr_bits, &sa->ei);
	uint8_t shared[IKE_DH_MAX];
	size_t slen;
	if (ike_dh_shared(sa->group, sa->dhpriv, kd, kdlen, shared, &slen) < 0) {
		drop(d, &sa->peer, "the responder's KE is not a valid public value");
		sa_kill(sa, "a failed negotiation");
		return;
	}
	int rc = derive_keys(sa, shared, slen, NULL);
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(sa->dhpriv, sizeof(sa->dhpriv));
	if (rc < 0) {
		sa_kill(sa, "an error");
		return;
	}
	free(sa->msg2);
	sa->msg2 = xmalloc(len);
	memcpy(sa->msg2, b, len);
	sa->msg2len = len;
	table_add(sa);
	sa->retry_gen++; /* the IKE_SA_INIT exchange is over */
	free(sa->req);
	sa->req = NULL;
	send_auth(sa);
}

static void ini_auth_response(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	sa->retry_gen++;
	free(sa->req);
	sa->req = NULL;
	sa->rq = RQ_NONE;
	uint16_t err = error_notify(m, NULL);
	if (err == N_AUTHENTICATION_FAILED || err == N_INVALID_SYNTAX) {
		fail_notify(sa, err, "IKE_AUTH");
		sa_kill(sa, "a failed authentication");
		return;
	}
	char idtxt[IKED_ID_MAX];
	const char *why = check_auth(sa, m, IKE_PL_IDR, idtxt, sizeof(idtxt));
	if (why) {
		d->st.auth_failures++;
		say(d, "%s: authentication of the responder failed: %s", p->name, why);
		sa_kill(sa, "a failed authentication");
		return;
	}
	established(sa, idtxt);
	struct child *c = sa->nch ? sa->ch[0] : NULL;
	if (!c)
		return;
	if (err) { /* the CHILD_SA failed, the IKE SA stands (2.21.2) */
		fail_notify(sa, err, "the CHILD_SA");
		child_remove(c, "a failed negotiation");
		return;
	}
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *ti = ike_find(m, IKE_PL_TSI),
				 *tr = ike_find(m, IKE_PL_TSR);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp, nti, ntr;
	struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS], want_i, want_r, ni, nr;
	struct suite s;
	uint8_t proto = p->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP;
	want_i = ts_of(&p->src, p->src_plen, p->proto, p->sport);
	want_r = ts_of(&p->dst, p->dst_plen, p->proto, p->dport);
	if (!sap || !ti || !tr || ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 ||
	    nrp != 1 || choose(rp, 1, p->child, p->nchild, proto, false, &s) != 0 ||
	    ike_parse_ts(ti->body, ti->len, tsi, IKE_MAX_TS, &nti) < 0 ||
	    ike_parse_ts(tr->body, tr->len, tsr, IKE_MAX_TS, &ntr) < 0 || !nti || !ntr ||
	    !ts_narrow(&tsi[0], &want_i, &ni) || !ts_narrow(&tsr[0], &want_r, &nr) ||
	    p->transport != has_notify(m, N_USE_TRANSPORT_MODE) || !child_flow(c, &ni, &nr)) {
		say(d, "%s: the CHILD_SA in the IKE_AUTH response is not one we proposed", p->name);
		child_remove(c, "a failed negotiation");
		return;
	}
	c->encr = s.encr;
	c->encr_bits = s.encr_bits;
	c->integ = s.integ;
	c->esn = s.esn == 1;
	c->spi_out = get_be32(rp[0].spi);
	install_child(sa, c, true, sa->ni, sa->nilen, sa->nr, sa->nrlen, NULL, 0);
}

/* ---- exchanges: responder ---- */

/* The first policy naming this peer (index + 1; 0: none), for the
 * chain of next_same_peer. */
static unsigned first_for_peer(struct iked *d, const struct ipaddr *peer)
{
	uint8_t key[17];
	const struct pol_state *ps = hmap_get(&d->by_peer, key, peer_key(peer, key));
	return ps ? ps->self + 1 : 0;
}

static bool local_ok(const struct iked_policy *p, const struct ipaddr *to)
{
	return !p->has_local || addr_eq(&p->local, to);
}

/* The policy for a peer at `from` reaching us at `to`: one naming that
 * peer first, then one with `peer any`. */
static int find_policy(struct iked *d, const struct ipaddr *from, const struct ipaddr *to)
{
	for (unsigned i = first_for_peer(d, from); i; i = d->pols[i - 1]->next_same_peer)
		if (local_ok(&d->pols[i - 1]->p, to))
			return (int)i - 1;
	for (unsigned k = 0; k < d->nany; k++)
		if (local_ok(&d->pols[d->any_pols[k]]->p, to))
			return (int)d->any_pols[k];
	return -1;
}

/* An unprotected answer to an IKE_SA_INIT request: one notify. */
static void init_notify(struct iked *d, const struct ike_msg *req, const struct ipaddr *to,
			uint16_t port, const struct ipaddr *from, uint16_t type,
			const uint8_t *data, size_t dlen)
{
	struct ike_hdr h = req->h;
	memset(h.rspi, 0, 8);
	h.flags = IKE_FLAG_R;
	struct ike_buf *m = xmalloc(sizeof(*m));
	ikeb_init(m, &h);
	ikeb_notify(m, 0, NULL, 0, type, data, dlen);
	ikeb_finish(m);
	struct udp_send_opts o = {.src = from};
	(void)udp_sendto(d->us, to, port, m->b, m->len, &o);
	free(m);
}

static void rsp_sa_init(struct iked *d, const uint8_t *b, size_t len, const struct ike_msg *m,
			const struct ipaddr *from, uint16_t sport, const struct ipaddr *to)
{
	char a[ADDR_STRLEN];
	/* A retransmitted request: the same answer again. */
	struct ike_sa *o = sa_by_key(d, m->h.ispi, false);
	if (o && o->state != S_DEAD && addr_eq(&o->peer, from) && o->msg1len == len &&
	    memcmp(o->msg1, b, len) == 0) {
		if (o->resp && o->msg2) /* on port 500, whatever came after */
			send_via(o, o->msg2, o->msg2len, false, sport);
		return;
	}
	int pol = find_policy(d, from, to);
	if (pol < 0) {
		drop(d, from, "IKE_SA_INIT from a peer no policy names");
		return;
	}
	const struct iked_policy *p = &d->pols[pol]->p;
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *ke = ike_find(m, IKE_PL_KE),
				 *no = ike_find(m, IKE_PL_NONCE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp;
	uint16_t g;
	const uint8_t *kd;
	size_t kdlen;
	if (!sap || !ke || !no || ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 ||
	    ike_parse_ke(ke->body, ke->len, &g, &kd, &kdlen) < 0 || no->len < 16 || no->len > 256) {
		init_notify(d, m, from, sport, to, N_INVALID_SYNTAX, NULL, 0);
		drop(d, from, "an IKE_SA_INIT request without a valid SA, KE and nonce");
		return;
	}
	/* Under load, a cookie first (2.6): no state until the peer shows
	 * it can receive at its address. */
	if (d->set.cookie_threshold && d->halfopen >= d->set.cookie_threshold) {
		uint8_t want[IKED_COOKIE_LEN];
		struct ike_notify cn;
		make_cookie(d, no->body, no->len, from, m->h.ispi, want);
		bool ok = m->npl && m->pl[0].type == IKE_PL_N && find_notify(m, N_COOKIE, &cn) &&
			  cn.data == m->pl[0].body + 4 && cn.datalen == sizeof(want) &&
			  CRYPTO_memcmp(cn.data, want, sizeof(want)) == 0;
		if (!ok) {
			d->st.cookies++;
			say(d, "%s: %u half-open IKE SAs: a cookie for %s", p->name, d->halfopen,
			    addr_fmt(from, a));
			init_notify(d, m, from, sport, to, N_COOKIE, want, sizeof(want));
			return;
		}
	}
	struct suite s;
	int chosen = choose(rp, nrp, p->ike, p->nike, IKE_PROTO_IKE, false, &s);
	if (chosen < 0) {
		d->st.no_proposal++;
		say(d, "%s: no proposal of %s's IKE_SA_INIT is acceptable: NO_PROPOSAL_CHOSEN",
		    p->name, addr_fmt(from, a));
		init_notify(d, m, from, sport, to, N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (g != s.group) {
		uint8_t want[2];
		put_be16(want, s.group);
		d->st.invalid_ke++;
		say(d, "%s: %s sent KE for group %u, we chose %u: INVALID_KE_PAYLOAD", p->name,
		    addr_fmt(from, a), g, s.group);
		init_notify(d, m, from, sport, to, N_INVALID_KE_PAYLOAD, want, 2);
		return;
	}
	sweep(d);
	struct ike_sa *sa = sa_new(d, (unsigned)pol, false, to, from, sport, m->h.ispi);
	if (!sa)
		return;
	sa->encr = s.encr;
	sa->encr_bits = s.encr_bits;
	sa->prf = s.prf;
	sa->integ = s.integ;
	sa->group = s.group;
	ike_encr_info(sa->encr, sa->encr_bits, &sa->ei);
	memcpy(sa->ni, no->body, no->len);
	sa->nilen = no->len;
	uint8_t pub[IKE_DH_MAX], shared[IKE_DH_MAX];
	size_t slen;
	rng_bytes(&d->rng, sa->dhpriv, ike_dh_privlen(sa->group));
	if (ike_dh_public(sa->group, sa->dhpriv, pub) < 0 ||
	    ike_dh_shared(sa->group, sa->dhpriv, kd, kdlen, shared, &slen) < 0) {
		init_notify(d, m, from, sport, to, N_INVALID_SYNTAX, NULL, 0);
		sa_kill(sa, "a failed negotiation");
		drop(d, from, "the initiator's KE is not a valid public value");
		return;
	}
	OPENSSL_cleanse(sa->dhpriv, sizeof(sa->dhpriv));
	sa->nrlen = IKED_NONCE_LEN;
	rng_bytes(&d->rng, sa->nr, sa->nrlen);
	int rc = derive_keys(sa, shared, slen, NULL);
	OPENSSL_cleanse(shared, sizeof(shared));
	if (rc < 0) {
		sa_kill(sa, "an error");
		return;
	}
	struct ike_hdr h;
	hdr_for(sa, &h, IKE_SA_INIT, true, 0);
	struct ike_buf *r = xmalloc(sizeof(*r));
	ikeb_init(r, &h);
	struct ike_prop one;
	chosen_prop(&rp[chosen], &s, IKE_PROTO_IKE, 0, NULL, &one);
	ikeb_sa(r, &one, 1);
	ikeb_ke(r, sa->group, pub, ike_dh_publen(sa->group));
	ikeb_nonce(r, sa->nr, sa->nrlen);
	bool peer_nat = false, local_nat = false;
	bool nat = d->us_natt &&
		   nat_check(m, sa->spi_i, zero8, from, sport, to, IKE_PORT, &peer_nat, &local_nat);
	if (nat)
		nat_notifies(r, sa->spi_i, sa->spi_r, to, IKE_PORT, from, sport);
	ikeb_finish(r);
	sa->msg1 = xmalloc(len);
	memcpy(sa->msg1, b, len);
	sa->msg1len = len;
	sa->msg2 = xmalloc(r->len);
	memcpy(sa->msg2, r->b, r->len);
	sa->msg2len = r->len;
	set_state(sa, S_INIT_DONE);
	sa->peer_msgid = 1;
	send_response(sa, r);
	free(r);
	arm(sa, T_HALFOPEN, IKED_HALFOPEN);
	if (nat) /* after the answer, which goes on port 500 */
		nat_found(sa, peer_nat, local_nat);
}

static void rsp_auth(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	struct ike_buf *in = xmalloc(sizeof(*in)), *r = xmalloc(sizeof(*r));
	ikeb_init_chain(in);
	char idtxt[IKED_ID_MAX], a[ADDR_STRLEN];
	const char *why = check_auth(sa, m, IKE_PL_IDI, idtxt, sizeof(idtxt));
	struct ike_hdr h;
	hdr_for(sa, &h, IKE_AUTH, true, m->h.msgid);
	if (why) {
		d->st.auth_failures++;
		say(d, "%s: authentication of %s failed: %s: AUTHENTICATION_FAILED", p->name,
		    addr_fmt(&sa->peer, a), why);
		ikeb_notify(in, 0, NULL, 0, N_AUTHENTICATION_FAILED, NULL, 0);
		if (seal(sa, &h, in, r) == 0)
			send_response(sa, r);
		sa_kill(sa, "a failed authentication");
		goto out;
	}
	uint8_t idb[4 + IKED_ID_MAX], auth[IKE_PRF_MAX];
	size_t idlen = id_body(p->srcid, &sa->local, idb);
	ikeb_typed(in, IKE_PL_IDR, idb[0], idb + 4, idlen - 4);
	psk_auth(sa, false, idb, idlen, auth);
	ikeb_typed(in, IKE_PL_AUTH, IKE_AUTH_PSK, auth, ike_prf_len(sa->prf));
	established(sa, idtxt);

	/* The CHILD_SA: a proposal we accept, selectors narrowed to ours. */
	struct child tmp = {.sa = sa}, *c = &tmp;
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *ti = ike_find(m, IKE_PL_TSI),
				 *tr = ike_find(m, IKE_PL_TSR);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp = 0, nti = 0, ntr = 0;
	struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS], ni, nr;
	struct suite s;
	uint8_t proto = p->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP;
	int chosen = -1;
	uint16_t fail = 0;
	if (!sap || !ti || !tr || ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 ||
	    ike_parse_ts(ti->body, ti->len, tsi, IKE_MAX_TS, &nti) < 0 ||
	    ike_parse_ts(tr->body, tr->len, tsr, IKE_MAX_TS, &ntr) < 0) {
		fail = N_INVALID_SYNTAX;
	} else if ((chosen = choose(rp, nrp, p->child, p->nchild, proto, false, &s)) < 0 ||
		   p->transport != has_notify(m, N_USE_TRANSPORT_MODE)) {
		fail = N_NO_PROPOSAL_CHOSEN;
		d->st.no_proposal++;
	} else {
		/* Our policy seen from the initiator: its TSi is our dst. */
		struct ike_ts our_i = ts_of(&p->dst, p->dst_plen, p->proto, p->dport);
		struct ike_ts our_r = ts_of(&p->src, p->src_plen, p->proto, p->sport);
		if (!ts_narrow(&tsi[0], &our_i, &ni) || !ts_narrow(&tsr[0], &our_r, &nr) ||
		    !child_flow(c, &nr, &ni)) {
			fail = N_TS_UNACCEPTABLE;
			d->st.ts_unacceptable++;
		}
	}
	if (!fail && !(c = child_new(sa))) {
		fail = N_NO_ADDITIONAL_SAS;
	} else if (!fail) {
		c->sel = tmp.sel;
		c->mask = tmp.mask;
		c->satype = p->satype;
		c->transport = p->transport;
		c->encr = s.encr;
		c->encr_bits = s.encr_bits;
		c->integ = s.integ;
		c->esn = s.esn == 1;
		c->spi_out = get_be32(rp[chosen].spi);
		c->spi_in = pf_getspi(d, p->satype, &sa->peer, &sa->local);
		if (!c->spi_in) {
			child_remove(c, "a refusal");
			fail = N_TEMPORARY_FAILURE;
		} else if (!install_child(sa, c, false, sa->ni, sa->nilen, sa->nr, sa->nrlen, NULL,
					  0)) {
			fail = N_TEMPORARY_FAILURE;
		}
	}
	if (fail) {
		say(d, "%s: CHILD_SA refused: %s", p->name, ike_notify_name(fail));
		ikeb_notify(in, 0, NULL, 0, fail, NULL, 0);
	} else {
		if (p->transport)
			ikeb_notify(in, 0, NULL, 0, N_USE_TRANSPORT_MODE, NULL, 0);
		struct ike_prop one;
		chosen_prop(&rp[chosen], &s, proto, c->spi_in, NULL, &one);
		ikeb_sa(in, &one, 1);
		ikeb_ts(in, IKE_PL_TSI, &ni, 1);
		ikeb_ts(in, IKE_PL_TSR, &nr, 1);
	}
	if (seal(sa, &h, in, r) == 0)
		send_response(sa, r);
out:
	sa->peer_msgid = m->h.msgid + 1;
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
	free(r);
}

/* ---- an established IKE SA: timers and the work that waits ---- */

static void established(struct ike_sa *sa, const char *idtxt)
{
	struct iked *d = sa->d;
	char a[ADDR_STRLEN];
	set_state(sa, S_ESTABLISHED);
	sa->established_at = sa->last_recv = d->w->sim->now;
	d->st.established++;
	say(d, "%s: IKE SA 0x%016llx/0x%016llx established with %s (%s), %s", sa_pol(sa)->name,
	    (unsigned long long)spi64(sa->spi_i), (unsigned long long)spi64(sa->spi_r),
	    addr_fmt(&sa->peer, a), idtxt, ws_encr(sa));
	arm_established(sa);
}

struct timer_ev {
	struct iked *d;
	uint64_t serial;
	enum timer_kind kind;
};

static void on_timer(struct sim *s, void *arg);

static void arm(struct ike_sa *sa, enum timer_kind kind, uint64_t after)
{
	struct timer_ev *ev = xmalloc(sizeof(*ev));
	*ev = (struct timer_ev){sa->d, sa->serial, kind};
	sim_after(sa->d->w->sim, after, on_timer, free, ev);
}

/* The timers of an IKE SA that is up: liveness checks, NAT keepalives
 * when we are behind the NAT, and its rekey (at 90 % of ikelifetime
 * where it was initiated, 95 % at the other end, as CHILD_SAs). */
static void arm_established(struct ike_sa *sa)
{
	const struct iked_policy *p = sa_pol(sa);
	if (sa->d->set.dpd_interval)
		arm(sa, T_LIVENESS, sa->d->set.dpd_interval * NS_PER_SEC);
	if (sa->nat_local)
		arm(sa, T_KEEPALIVE, IKED_KEEPALIVE);
	if (p->ikelifetime)
		arm(sa, T_IKE_REKEY, soft_of(p->ikelifetime, sa->initiator) * NS_PER_SEC);
}

/* The bytes the kernel counted on an inbound SA (SADB_GET), to tell a
 * quiet peer from one whose ESP still flows. */
static uint64_t pf_bytes(struct iked *d, const struct child *c)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_GET, c->satype, ++d->seq, d->ps->pid);
	pfkb_sa(&pb, SADB_EXT_SA, c->spi_in, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &c->sa->local, 0);
	d->reply_bytes = 0;
	return pf_send(d, &pb) < 0 ? 0 : d->reply_bytes;
}

static void on_timer(struct sim *s, void *arg)
{
	struct timer_ev ev = *(struct timer_ev *)arg;
	free(arg);
	struct iked *d = ev.d;
	struct ike_sa *sa = sa_by_serial(d, ev.serial);
	if (!sa || sa->state == S_DEAD)
		return;
	switch (ev.kind) {
	case T_HALFOPEN:
		if (sa->state == S_INIT_DONE) {
			d->st.halfopen_expired++;
			say(d, "%s: no IKE_AUTH 300 s after IKE_SA_INIT: the half-open SA goes",
			    sa_pol(sa)->name);
			sa_kill(sa, "a half-open SA");
		}
		return;
	case T_KEEPALIVE:
		if (sa->state == S_ESTABLISHED && !sa->moved && d->us_natt) {
			static const uint8_t ka = 0xff;
			struct udp_send_opts o = {.src = &sa->local};
			if (udp_sendto(d->us_natt, &sa->peer, sa->peer_port, &ka, 1, &o) >= 0)
				d->st.keepalives++;
			arm(sa, T_KEEPALIVE, IKED_KEEPALIVE);
		}
		return;
	case T_REPLACED: sa_kill(sa, "a replaced IKE SA"); return;
	case T_IKE_REKEY:
		if (sa->state == S_ESTABLISHED && !sa->moved) {
			sa->rekey_ike_due = true;
			kick(sa);
		}
		return;
	case T_LIVENESS:
		if (sa->state != S_ESTABLISHED || sa->moved || !d->set.dpd_interval)
			return;
		/* A check once nothing came from the peer, neither IKE nor ESP,
		 * for the interval; else the next look when it would be so. */
		uint64_t ival = d->set.dpd_interval * NS_PER_SEC;
		for (unsigned i = 0; i < sa->nch; i++) {
			struct child *c = sa->ch[i];
			uint64_t bytes = c->up ? pf_bytes(d, c) : c->bytes_seen;
			if (bytes != c->bytes_seen) /* ESP came: alive (as of now) */
				sa->last_recv = s->now;
			c->bytes_seen = bytes;
		}
		uint64_t quiet_for = s->now - sa->last_recv;
		if (quiet_for >= ival) {
			sa->liveness_due = true;
			kick(sa);
			arm(sa, T_LIVENESS, ival);
		} else {
			arm(sa, T_LIVENESS, ival - quiet_for);
		}
		return;
	}
}

/* ---- INFORMATIONAL (1.4, 2.4): DELETE and liveness ---- */

static int send_info(struct ike_sa *sa, enum req_kind kind, struct ike_buf *in)
{
	struct ike_hdr h;
	struct ike_buf *m = xmalloc(sizeof(*m));
	hdr_for(sa, &h, INFORMATIONAL, false, sa->next_msgid);
	int rc = seal(sa, &h, in, m);
	if (rc == 0) {
		sa->next_msgid++;
		sa->rq = kind;
		send_request(sa, m);
	}
	free(m);
	return rc;
}

/* Start the next piece of waiting work, if the window is free:
 * DELETEs first (an old CHILD_SA costs the peer memory), then rekeys,
 * then a liveness check. */
static void kick(struct ike_sa *sa)
{
	if (sa->state != S_ESTABLISHED || sa->rq != RQ_NONE)
		return;
	struct iked *d = sa->d;
	struct ike_buf *in = xmalloc(sizeof(*in));
	ikeb_init_chain(in);
	if (sa->delete_due) {
		sa->delete_due = false;
		ikeb_delete(in, IKE_PROTO_IKE, NULL, 0);
		d->st.ike_deletes++;
		say(d, "%s: DELETE of IKE SA 0x%016llx/0x%016llx", sa_pol(sa)->name,
		    (unsigned long long)spi64(sa->spi_i), (unsigned long long)spi64(sa->spi_r));
		if (send_info(sa, RQ_DELETE_IKE, in) < 0)
			sa_kill(sa, "an error");
	} else if (sa->ndel) {
		memcpy(sa->rq_del, sa->del_spi, sa->ndel * sizeof(*sa->del_spi));
		sa->rq_ndel = sa->ndel;
		sa->ndel = 0;
		ikeb_delete(in, sa->del_satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP,
			    sa->rq_del, sa->rq_ndel);
		(void)send_info(sa, RQ_DELETE_CHILD, in);
	} else if (sa->rekey_ike_due) {
		sa->rekey_ike_due = false;
		send_rekey_ike(sa);
	} else {
		for (unsigned i = 0; i < sa->nch; i++) {
			struct child *c = sa->ch[i];
			if (c->rekey_due) {
				c->rekey_due = false;
				if (c->up && !c->replaced) {
					send_rekey_child(sa, c);
					goto out;
				}
			}
		}
		if (sa->liveness_due) {
			sa->liveness_due = false;
			d->st.liveness++;
			say(d, "%s: nothing from the peer for %llu s: a liveness check",
			    sa_pol(sa)->name,
			    (unsigned long long)((d->w->sim->now - sa->last_recv) / NS_PER_SEC));
			(void)send_info(sa, RQ_LIVENESS, in);
		}
	}
out:
	free(in);
}

/* Our inbound SPI of a pair to announce in a DELETE (1.4.1). */
static void queue_delete_spi(struct ike_sa *sa, uint8_t satype, uint32_t spi)
{
	if (sa->ndel < IKED_MAX_DELS && (!sa->ndel || sa->del_satype == satype)) {
		sa->del_satype = satype;
		sa->del_spi[sa->ndel++] = spi;
	} else {
		say(sa->d, "%s: %u DELETEs waiting already: 0x%08x goes unannounced",
		    sa_pol(sa)->name, sa->ndel, spi);
	}
}

/* A CHILD_SA to announce in a DELETE; the CHILD_SA itself stays until
 * the DELETE is answered when keep, else it goes now. */
static void queue_delete(struct ike_sa *sa, struct child *c, bool keep)
{
	queue_delete_spi(sa, c->satype, c->spi_in);
	c->replaced = true;
	if (!keep)
		child_remove(c, "its lifetime");
	kick(sa);
}

/* The peer's INFORMATIONAL request: DELETEs and liveness checks. */
static void rsp_info(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	struct ike_buf *in = xmalloc(sizeof(*in)), *r = xmalloc(sizeof(*r));
	ikeb_init_chain(in);
	bool kill = false;
	for (unsigned i = 0; i < m->npl; i++) {
		struct ike_delete del;
		if (m->pl[i].type != IKE_PL_D)
			continue;
		if (ike_parse_delete(m->pl[i].body, m->pl[i].len, &del) < 0) {
			say(d, "%s: a malformed Delete payload: ignored", sa_pol(sa)->name);
			continue;
		}
		if (del.proto == IKE_PROTO_IKE) {
			kill = true;
			continue;
		}
		uint8_t satype = del.proto == IKE_PROTO_AH ? SADB_SATYPE_AH : SADB_SATYPE_ESP;
		uint32_t ours[IKED_MAX_CHILDREN];
		unsigned n = 0;
		for (unsigned k = 0; k < del.nspi; k++) {
			struct child *c = child_by_out(sa, satype, get_be32(del.spis + 4 * k));
			if (!c)
				continue;
			if (n < IKED_MAX_CHILDREN)
				ours[n++] = c->spi_in;
			child_remove(c, "the peer's DELETE");
		}
		if (n) /* our halves of the pairs (1.4.1) */
			ikeb_delete(in, del.proto, ours, n);
	}
	struct ike_hdr h;
	hdr_for(sa, &h, INFORMATIONAL, true, m->h.msgid);
	if (seal(sa, &h, in, r) == 0)
		send_response(sa, r);
	sa->peer_msgid = m->h.msgid + 1;
	if (kill) {
		d->st.ike_deletes++;
		say(d, "%s: the peer deleted IKE SA 0x%016llx/0x%016llx", sa_pol(sa)->name,
		    (unsigned long long)spi64(sa->spi_i), (unsigned long long)spi64(sa->spi_r));
		sa_kill(sa, "the peer's DELETE");
	}
	free(in);
	free(r);
}

static void ini_info_response(struct ike_sa *sa, const struct ike_msg *m)
{
	(void)m;
	enum req_kind kind = sa->rq;
	sa->rq = RQ_NONE;
	if (kind == RQ_DELETE_IKE) {
		sa_kill(sa, "our DELETE");
		return;
	}
	if (kind == RQ_DELETE_CHILD) {
		for (unsigned i = 0; i < sa->rq_ndel; i++) {
			struct child *c = child_by_spi(sa->d, sa->rq_del[i], &sa->local);
			if (c && c->sa == sa)
				child_remove(c, "our DELETE");
		}
		sa->rq_ndel = 0;
	}
	kick(sa);
}

/* ---- CREATE_CHILD_SA (1.3): rekeying CHILD_SAs and the IKE SA ---- */

/* A DH value for a CREATE_CHILD_SA, into the KE payload of in. */
static int rq_ke(struct ike_sa *sa, uint16_t group, struct ike_buf *in)
{
	uint8_t pub[IKE_DH_MAX];
	sa->rq_group = group;
	rng_bytes(&sa->d->rng, sa->rq_dh, ike_dh_privlen(group));
	if (ike_dh_public(group, sa->rq_dh, pub) < 0)
		return -1;
	ikeb_ke(in, group, pub, ike_dh_publen(group));
	return 0;
}

static void send_ccsa(struct ike_sa *sa, enum req_kind kind, struct ike_buf *in)
{
	struct ike_hdr h;
	struct ike_buf *m = xmalloc(sizeof(*m));
	hdr_for(sa, &h, CREATE_CHILD_SA, false, sa->next_msgid);
	if (seal(sa, &h, in, m) == 0) {
		sa->next_msgid++;
		sa->rq = kind;
		send_request(sa, m);
	} else {
		say(sa->d, "%s: CREATE_CHILD_SA does not fit in a message", sa_pol(sa)->name);
	}
	free(m);
}

/* 1.3.3: N(REKEY_SA), SA, Ni, [KEi], TSi, TSr */
static void send_rekey_child(struct ike_sa *sa, struct child *old)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	uint32_t spi = pf_getspi(d, old->satype, &sa->peer, &sa->local);
	if (!spi) {
		say(d, "%s: GETSPI refused: the CHILD_SA is not rekeyed", p->name);
		return;
	}
	struct ike_buf *in = xmalloc(sizeof(*in));
	ikeb_init_chain(in);
	uint8_t proto = old->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP, ospi[4];
	put_be32(ospi, old->spi_in);
	ikeb_notify(in, proto, ospi, 4, N_REKEY_SA, NULL, 0);
	if (old->transport)
		ikeb_notify(in, 0, NULL, 0, N_USE_TRANSPORT_MODE, NULL, 0);
	struct ike_prop props[IKED_MAX_PROPS];
	ikeb_sa(in, props, build_props(p->child, p->nchild, proto, spi, NULL, true, props));
	rng_bytes(&d->rng, sa->rq_nonce, sizeof(sa->rq_nonce));
	ikeb_nonce(in, sa->rq_nonce, sizeof(sa->rq_nonce));
	sa->rq_group = 0;
	if (p->child[0].ngroup && rq_ke(sa, p->child[0].group[0], in) < 0) {
		pf_delete(d, old->satype, spi, &sa->local);
		free(in);
		return;
	}
	struct ike_ts tsi =
	    ts_of(&old->sel.src, old->mask.src_plen, old->sel.proto, old->sel.sport);
	struct ike_ts tsr =
	    ts_of(&old->sel.dst, old->mask.dst_plen, old->sel.proto, old->sel.dport);
	ikeb_ts(in, IKE_PL_TSI, &tsi, 1);
	ikeb_ts(in, IKE_PL_TSR, &tsr, 1);
	sa->rq_old = old;
	sa->rq_spi = spi;
	say(d, "%s: rekeying CHILD_SA in 0x%08x out 0x%08x", p->name, old->spi_in, old->spi_out);
	send_ccsa(sa, RQ_REKEY_CHILD, in);
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
}

/* The shared secret of a CREATE_CHILD_SA's KE payloads; 0 bytes without PFS. */
static int ccsa_shared(struct ike_sa *sa, uint16_t group, const uint8_t *priv,
		       const struct ike_payload *ke, uint8_t *shared, size_t *slen)
{
	*slen = 0;
	if (!group)
		return 0;
	uint16_t g;
	const uint8_t *kd;
	size_t kdlen;
	if (!ke || ike_parse_ke(ke->body, ke->len, &g, &kd, &kdlen) < 0 || g != group)
		return -1;
	(void)sa;
	return ike_dh_shared(group, priv, kd, kdlen, shared, slen);
}

/* Our DH value and the shared secret for the peer's KE data. */
static bool dh_answer(struct iked *d, uint16_t group, uint8_t *priv, uint8_t *pub,
		      const uint8_t *kd, size_t kdlen, uint8_t *shared, size_t *slen)
{
	rng_bytes(&d->rng, priv, ike_dh_privlen(group));
	return ike_dh_public(group, priv, pub) == 0 &&
	       ike_dh_shared(group, priv, kd, kdlen, shared, slen) == 0;
}

/* A CHILD_SA like old (its flow, mode) with the suite s. */
static struct child *child_like(struct ike_sa *sa, const struct child *old, const struct suite *s)
{
	struct child *c = child_new(sa);
	if (!c)
		return NULL;
	c->satype = old->satype;
	c->transport = old->transport;
	c->sel = old->sel;
	c->mask = old->mask;
	c->encr = s->encr;
	c->encr_bits = s->encr_bits;
	c->integ = s->integ;
	c->group = s->group;
	c->esn = s->esn == 1;
	return c;
}

static void ini_rekey_child_response(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	struct child *old = sa->rq_old;
	sa->rq = RQ_NONE;
	sa->rq_old = NULL;
	uint16_t err = error_notify(m, NULL);
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *no = ike_find(m, IKE_PL_NONCE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp;
	struct suite s;
	uint8_t proto = p->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP;
	uint8_t shared[IKE_DH_MAX];
	size_t slen = 0;
	struct child *c = NULL;
	if (err) {
		fail_notify(sa, err, "CREATE_CHILD_SA");
	} else if (!old || !sap || !no || no->len < 16 || no->len > 256 ||
		   ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 || nrp != 1 ||
		   choose(rp, 1, p->child, p->nchild, proto, true, &s) != 0 ||
		   s.group != sa->rq_group ||
		   ccsa_shared(sa, s.group, sa->rq_dh, ike_find(m, IKE_PL_KE), shared, &slen) < 0) {
		say(d,
		    "%s: the CREATE_CHILD_SA response is not one we can take: DELETE of what "
		    "the peer made",
		    p->name);
		queue_delete_spi(sa, p->satype, sa->rq_spi);
	} else if ((c = child_like(sa, old, &s))) {
		c->spi_in = sa->rq_spi;
		c->spi_out = get_be32(rp[0].spi);
		sa->rq_spi = 0;
		if (install_child(sa, c, true, sa->rq_nonce, sizeof(sa->rq_nonce), no->body,
				  no->len, shared, slen)) {
			d->st.child_rekeys++;
			queue_delete(sa, old, true);
		}
	}
	if (sa->rq_spi) /* the larval SA of a rekey that did not happen */
		pf_delete(d, p->satype, sa->rq_spi, &sa->local);
	sa->rq_spi = 0;
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(sa->rq_dh, sizeof(sa->rq_dh));
	kick(sa);
}

/* 1.3.2: SA (the IKE proposals with our new SPI), Ni, KEi */
static void send_rekey_ike(struct ike_sa *sa)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	struct ike_buf *in = xmalloc(sizeof(*in));
	ikeb_init_chain(in);
	do
		rng_bytes(&d->rng, sa->rq_ikespi, 8);
	while (sa_by_key(d, sa->rq_ikespi, true));
	struct ike_prop props[IKED_MAX_PROPS];
	unsigned n = build_props(p->ike, p->nike, IKE_PROTO_IKE, 0, &sa->group, false, props);
	for (unsigned i = 0; i < n; i++) {
		props[i].spisize = 8;
		memcpy(props[i].spi, sa->rq_ikespi, 8);
	}
	ikeb_sa(in, props, n);
	rng_bytes(&d->rng, sa->rq_nonce, sizeof(sa->rq_nonce));
	ikeb_nonce(in, sa->rq_nonce, sizeof(sa->rq_nonce));
	if (rq_ke(sa, sa->group, in) < 0) {
		free(in);
		return;
	}
	say(d, "%s: rekeying IKE SA 0x%016llx/0x%016llx", p->name,
	    (unsigned long long)spi64(sa->spi_i), (unsigned long long)spi64(sa->spi_r));
	send_ccsa(sa, RQ_REKEY_IKE, in);
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
}

/* The IKE SA that replaces old: keys from old's SK_d (2.18), its
 * CHILD_SAs and waiting DELETEs moved over; old then waits for its own
 * DELETE (sent by whoever began the rekey). */
static struct ike_sa *ike_successor(struct ike_sa *old, bool initiator, const uint8_t *spi_i,
				    const uint8_t *spi_r, const struct suite *s, const uint8_t *ni,
				    size_t nilen, const uint8_t *nr, size_t nrlen,
				    const uint8_t *shared, size_t slen)
{
	struct iked *d = old->d;
	struct ike_sa *sa =
	    sa_new(d, old->pol, initiator, &old->local, &old->peer, old->peer_port, spi_i);
	if (!sa)
		return NULL;
	if (spi_r)
		memcpy(sa->spi_r, spi_r, 8);
	sa->encr = s->encr;
	sa->encr_bits = s->encr_bits;
	sa->prf = s->prf;
	sa->integ = s->integ;
	sa->group = s->group;
	ike_encr_info(sa->encr, sa->encr_bits, &sa->ei);
	memcpy(sa->ni, ni, nilen);
	sa->nilen = nilen;
	memcpy(sa->nr, nr, nrlen);
	sa->nrlen = nrlen;
	sa->natt = old->natt;
	sa->nat_local = old->nat_local;
	sa->peer_float = old->peer_float;
	if (derive_keys(sa, shared, slen, old) < 0) {
		sa_kill(sa, "an error");
		return NULL;
	}
	if (initiator)
		table_add(sa);
	for (unsigned i = 0; i < old->nch; i++) {
		old->ch[i]->sa = sa;
		sa->ch[sa->nch++] = old->ch[i];
	}
	old->nch = 0;
	memcpy(sa->del_spi, old->del_spi, sizeof(old->del_spi));
	sa->ndel = old->ndel;
	sa->del_satype = old->del_satype;
	old->ndel = 0;
	old->moved = true;
	arm(old, T_REPLACED, IKED_DELETE_WAIT); /* in case its DELETE never comes */
	if (d->pols[old->pol]->cur_sa == old->serial)
		d->pols[old->pol]->cur_sa = sa->serial;
	set_state(sa, S_ESTABLISHED);
	sa->established_at = sa->last_recv = d->w->sim->now;
	d->st.ike_rekeys++;
	say(d, "%s: IKE SA 0x%016llx/0x%016llx replaces 0x%016llx/0x%016llx", sa_pol(sa)->name,
	    (unsigned long long)spi64(sa->spi_i), (unsigned long long)spi64(sa->spi_r),
	    (unsigned long long)spi64(old->spi_i), (unsigned long long)spi64(old->spi_r));
	arm_established(sa);
	return sa;
}

static void ini_rekey_ike_response(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	sa->rq = RQ_NONE;
	uint16_t err = error_notify(m, NULL);
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *no = ike_find(m, IKE_PL_NONCE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp;
	struct suite s;
	uint8_t shared[IKE_DH_MAX];
	size_t slen = 0;
	if (err) {
		fail_notify(sa, err, "the IKE SA rekey");
	} else if (!sap || !no || no->len < 16 || no->len > 256 ||
		   ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 || nrp != 1 ||
		   rp[0].spisize != 8 ||
		   choose(rp, 1, p->ike, p->nike, IKE_PROTO_IKE, false, &s) != 0 ||
		   s.group != sa->rq_group ||
		   ccsa_shared(sa, s.group, sa->rq_dh, ike_find(m, IKE_PL_KE), shared, &slen) < 0) {
		say(d, "%s: the IKE SA rekey response is not one we can take", p->name);
	} else if (ike_successor(sa, true, sa->rq_ikespi, rp[0].spi, &s, sa->rq_nonce,
				 sizeof(sa->rq_nonce), no->body, no->len, shared, slen)) {
		sa->delete_due = true;
	}
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(sa->rq_dh, sizeof(sa->rq_dh));
	kick(sa);
}

/* The peer's CREATE_CHILD_SA: a CHILD_SA rekey (REKEY_SA), an IKE SA
 * rekey (an IKE proposal), or a new CHILD_SA, which this daemon does not
 * make beside a policy's own (NO_ADDITIONAL_SAS). */
static void rsp_ccsa(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = sa_pol(sa);
	struct ike_buf *in = xmalloc(sizeof(*in)), *r = xmalloc(sizeof(*r));
	ikeb_init_chain(in);
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *no = ike_find(m, IKE_PL_NONCE),
				 *ke = ike_find(m, IKE_PL_KE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp = 0;
	struct ike_notify rn;
	bool rekey_child = find_notify(m, N_REKEY_SA, &rn) != NULL;
	uint16_t fail = 0;
	struct suite s = {0};
	int chosen = -1;
	uint8_t shared[IKE_DH_MAX], pub[IKE_DH_MAX], nr[IKED_NONCE_LEN], dh[IKE_DHPRIV_MAX];
	size_t slen = 0;
	uint16_t keg = 0;
	const uint8_t *kd = NULL;
	size_t kdlen = 0;
	bool have_ke = ke && ike_parse_ke(ke->body, ke->len, &keg, &kd, &kdlen) == 0;
	rng_bytes(&d->rng, nr, sizeof(nr));
	if (!sap || !no || no->len < 16 || no->len > 256 ||
	    ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 || !nrp) {
		fail = N_INVALID_SYNTAX;
	} else if (rekey_child) {
		uint8_t proto = rn.proto;
		uint8_t satype = proto == IKE_PROTO_AH ? SADB_SATYPE_AH : SADB_SATYPE_ESP;
		struct child *old =
		    rn.spisize == 4 ? child_by_out(sa, satype, get_be32(rn.spi)) : NULL;
		struct child *c = NULL;
		if (!old || old->replaced) {
			fail = N_CHILD_SA_NOT_FOUND;
		} else if ((chosen = choose(rp, nrp, p->child, p->nchild, proto, true, &s)) < 0 ||
			   old->transport != has_notify(m, N_USE_TRANSPORT_MODE)) {
			fail = N_NO_PROPOSAL_CHOSEN;
			d->st.no_proposal++;
		} else if (s.group && !have_ke) {
			fail = N_INVALID_SYNTAX;
		} else if (s.group && keg != s.group) {
			fail = N_INVALID_KE_PAYLOAD;
		} else if (s.group && !dh_answer(d, s.group, dh, pub, kd, kdlen, shared, &slen)) {
			fail = N_INVALID_SYNTAX;
		} else if (!(c = child_like(sa, old, &s))) {
			fail = N_NO_ADDITIONAL_SAS;
		} else {
			c->spi_out = get_be32(rp[chosen].spi);
			c->spi_in = pf_getspi(d, c->satype, &sa->peer, &sa->local);
			if (!c->spi_in) {
				child_remove(c, "a refusal");
				fail = N_TEMPORARY_FAILURE;
			} else if (!install_child(sa, c, false, no->body, no->len, nr, sizeof(nr),
						  shared, slen)) {
				fail = N_TEMPORARY_FAILURE;
			} else {
				d->st.child_rekeys++;
				old->replaced = true; /* the initiator DELETEs it */
				if (c->transport)
					ikeb_notify(in, 0, NULL, 0, N_USE_TRANSPORT_MODE, NULL, 0);
				struct ike_prop one;
				chosen_prop(&rp[chosen], &s, proto, c->spi_in, NULL, &one);
				ikeb_sa(in, &one, 1);
				ikeb_nonce(in, nr, sizeof(nr));
				if (s.group)
					ikeb_ke(in, s.group, pub, ike_dh_publen(s.group));
				struct ike_ts tsi = ts_of(&c->sel.dst, c->mask.dst_plen,
							  c->sel.proto, c->sel.dport);
				struct ike_ts tsr = ts_of(&c->sel.src, c->mask.src_plen,
							  c->sel.proto, c->sel.sport);
				ikeb_ts(in, IKE_PL_TSI, &tsi, 1);
				ikeb_ts(in, IKE_PL_TSR, &tsr, 1);
			}
		}
	} else if (rp[0].proto == IKE_PROTO_IKE) {
		struct ike_sa *nsa = NULL;
		if (sa->moved || sa->rq == RQ_REKEY_IKE) {
			fail = N_TEMPORARY_FAILURE; /* 2.25: we are rekeying it ourselves */
		} else if ((chosen = choose(rp, nrp, p->ike, p->nike, IKE_PROTO_IKE, false, &s)) <
			       0 ||
			   rp[chosen].spisize != 8) {
			fail = N_NO_PROPOSAL_CHOSEN;
			d->st.no_proposal++;
		} else if (!have_ke) {
			fail = N_INVALID_SYNTAX;
		} else if (keg != s.group) {
			fail = N_INVALID_KE_PAYLOAD;
		} else if (!dh_answer(d, s.group, dh, pub, kd, kdlen, shared, &slen)) {
			fail = N_INVALID_SYNTAX;
		} else if (!(nsa = ike_successor(sa, false, rp[chosen].spi, NULL, &s, no->body,
						 no->len, nr, sizeof(nr), shared, slen))) {
			fail = N_TEMPORARY_FAILURE;
		} else {
			struct ike_prop one;
			chosen_prop(&rp[chosen], &s, IKE_PROTO_IKE, 0, nsa->spi_r, &one);
			ikeb_sa(in, &one, 1);
			ikeb_nonce(in, nr, sizeof(nr));
			ikeb_ke(in, s.group, pub, ike_dh_publen(s.group));
		}
	} else {
		fail = N_NO_ADDITIONAL_SAS;
	}
	if (fail) {
		/* INVALID_KE_PAYLOAD names the group we chose (1.3, 2.7) */
		uint8_t want[2];
		put_be16(want, s.group);
		say(d, "%s: the peer's CREATE_CHILD_SA refused: %s", p->name,
		    ike_notify_name(fail));
		if (fail == N_INVALID_KE_PAYLOAD)
			d->st.invalid_ke++;
		ikeb_init_chain(in); /* an error notify alone */
		ikeb_notify(in, 0, NULL, 0, fail, want, fail == N_INVALID_KE_PAYLOAD ? 2 : 0);
	}
	struct ike_hdr h;
	hdr_for(sa, &h, CREATE_CHILD_SA, true, m->h.msgid);
	if (seal(sa, &h, in, r) == 0)
		send_response(sa, r);
	sa->peer_msgid = m->h.msgid + 1;
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(dh, sizeof(dh));
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
	free(r);
}

/* ---- receiving ---- */

static struct ike_sa *find_sa(struct iked *d, const struct ike_hdr *h)
{
	/* A message from the initiator is for our SA as responder. */
	struct ike_sa *sa = sa_by_key(d, h->ispi, !(h->flags & IKE_FLAG_I));
	if (!sa || sa->state == S_DEAD)
		return NULL;
	/* The IKE_SA_INIT response brings the responder's SPI. */
	return sa->state == S_INIT_SENT || memcmp(sa->spi_r, h->rspi, 8) == 0 ? sa : NULL;
}

static void handle(struct iked *d, const uint8_t *b, size_t len, const struct ipaddr *from,
		   uint16_t sport, const struct ipaddr *to, uint16_t dport)
{
	struct ike_msg *m = xmalloc(sizeof(*m));
	struct ike_perr e;
	uint8_t *plain = NULL;
	if (ike_parse(b, len, m, &e) < 0) {
		drop(d, from, e.why);
		goto out;
	}
	bool response = m->h.flags & IKE_FLAG_R;
	if (m->h.exchange == IKE_SA_INIT && !response) {
		if (dport == IKE_PORT)
			rsp_sa_init(d, b, len, m, from, sport, to);
		else
			drop(d, from, "IKE_SA_INIT on port 4500 (this daemon starts on 500)");
		goto out;
	}
	struct ike_sa *sa = find_sa(d, &m->h);
	if (!sa) {
		drop(d, from, "no IKE SA with these SPIs");
		goto out;
	}
	if (m->h.exchange == IKE_SA_INIT) {
		if (sa->state == S_INIT_SENT && m->h.msgid == 0)
			ini_init_response(sa, b, len, m, sport);
		else
			drop(d, from, "an IKE_SA_INIT response out of turn");
		goto out;
	}
	if (!response) {
		if (m->h.msgid + 1 == sa->peer_msgid && sa->resp) { /* sent again */
			send_raw(sa, sa->resp, sa->resplen);
			goto out;
		}
		if (m->h.msgid != sa->peer_msgid) {
			drop(d, from, "a request with an unexpected message ID");
			goto out;
		}
	} else if (!sa->req || m->h.msgid + 1 != sa->next_msgid) {
		drop(d, from, "a response to no request of ours");
		goto out;
	}
	plain = xmalloc(IKE_MSG_MAX);
	const char *why;
	if (unseal(sa, b, m, plain, &why) < 0) {
		drop(d, from, why);
		goto out;
	}
	/* An authentic message: the peer is alive, and behind a NAT it is
	 * where this one came from (2.23). */
	sa->last_recv = d->w->sim->now;
	if (sa->natt && dport == IKE_NATT_PORT && addr_eq(from, &sa->peer))
		sa->peer_port = sport;
	if (response) { /* the exchange is over: no more retransmissions */
		sa->retry_gen++;
		free(sa->req);
		sa->req = NULL;
	}
	uint8_t x = m->h.exchange;
	bool up = sa->state == S_ESTABLISHED;
	if (x == IKE_AUTH && !response && sa->state == S_INIT_DONE)
		rsp_auth(sa, m);
	else if (x == IKE_AUTH && response && sa->rq == RQ_AUTH)
		ini_auth_response(sa, m);
	else if (x == INFORMATIONAL && !response && up)
		rsp_info(sa, m);
	else if (x == INFORMATIONAL && response &&
		 (sa->rq == RQ_DELETE_CHILD || sa->rq == RQ_DELETE_IKE || sa->rq == RQ_LIVENESS))
		ini_info_response(sa, m);
	else if (x == CREATE_CHILD_SA && !response && up)
		rsp_ccsa(sa, m);
	else if (x == CREATE_CHILD_SA && response && sa->rq == RQ_REKEY_CHILD)
		ini_rekey_child_response(sa, m);
	else if (x == CREATE_CHILD_SA && response && sa->rq == RQ_REKEY_IKE)
		ini_rekey_ike_response(sa, m);
	else {
		char text[96];
		snprintf(text, sizeof(text), "%s %s: not an exchange this IKE SA expects now",
			 ike_exchange_name(m->h.exchange), response ? "response" : "request");
		drop(d, from, text);
	}
out:
	if (plain) {
		OPENSSL_cleanse(plain, IKE_MSG_MAX);
		free(plain);
	}
	free(m);
}

/* Port 500, and 4500 where IKE comes after the non-ESP marker (the
 * kernel took ESP and keepalives already). */
static void on_udp(struct udp_sock *s, void *arg)
{
	struct iked *d = arg;
	bool natt = s == d->us_natt;
	size_t skip = natt ? 4 : 0;
	uint8_t *buf = xmalloc(IKE_MSG_MAX + 5);
	struct ipaddr src, dst;
	uint16_t sport;
	ssize_t len;
	while ((len = udp_recvmsg(s, buf, IKE_MSG_MAX + 5, &src, &sport, &dst)) >= 0) {
		if (natt && (len < 4 || get_be32(buf) != 0))
			drop(d, &src, "on port 4500 without the non-ESP marker");
		else if ((size_t)len - skip > IKE_MSG_MAX)
			drop(d, &src, "longer than 8192 bytes");
		else
			handle(d, buf + skip, (size_t)len - skip, &src, sport, &dst,
			       natt ? IKE_NATT_PORT : IKE_PORT);
	}
	free(buf);
}

/* ---- PF_KEY messages from the kernel ---- */

struct acq_ev {
	struct iked *d;
	struct ipaddr dst;
	bool has_src;
	struct ipaddr src;
};

static void on_acquire(struct sim *s, void *arg)
{
	struct acq_ev ev_copy = *(struct acq_ev *)arg, *ev = &ev_copy;
	struct iked *d = ev->d;
	free(arg);
	(void)s;
	for (unsigned k = first_for_peer(d, &ev->dst); k; k = d->pols[k - 1]->next_same_peer) {
		unsigned i = k - 1;
		const struct iked_policy *p = &d->pols[i]->p;
		if (p->mode == IKED_PASSIVE)
			continue;
		struct ike_sa *cur = sa_by_serial(d, d->pols[i]->cur_sa);
		if (cur && cur->state != S_DEAD &&
		    (cur->state != S_ESTABLISHED || child_current(cur)))
			return; /* under way, or up */
		if (cur && cur->state == S_ESTABLISHED && !cur->delete_due) {
			/* up without a CHILD_SA (it expired unreplaced): a new IKE SA,
			 * and the old one deleted */
			cur->delete_due = true;
			kick(cur);
		}
		struct ipaddr local = ev->src;
		if (p->has_local)
			local = p->local;
		else if (!ev->has_src &&
			 (p->peer.af == ADDR_V6 ? ip6_select_src(d->n, &p->peer, &local)
						: ip4_select_src(d->n, &p->peer, &local)) < 0)
			return;
		d->st.acquires++;
		initiate(d, i, &local, &p->peer);
		return;
	}
}

/* SADB_EXPIRE of one of our CHILD_SAs' SAs: soft, rekey it (unless a
 * newer one replaced it already); hard, the kernel deleted that SA, so
 * its partner goes too and the peer hears of it in a DELETE. */
struct exp_ev {
	struct iked *d;
	uint32_t spi;
	bool hard;
	struct ipaddr dst;
};

static void on_expire(struct sim *s, void *arg)
{
	struct exp_ev ev = *(struct exp_ev *)arg;
	free(arg);
	(void)s;
	struct child *c = child_by_spi(ev.d, ev.spi, &ev.dst);
	if (!c || !c->up)
		return;
	struct ike_sa *sa = c->sa;
	if (sa->state != S_ESTABLISHED)
		return;
	say(ev.d, "%s: SADB_EXPIRE %s of SA 0x%08x", sa_pol(sa)->name, ev.hard ? "hard" : "soft",
	    ev.spi);
	if (ev.hard) {
		queue_delete(sa, c, false);
	} else if (!c->replaced && !c->rekey_tried) {
		c->rekey_tried = c->rekey_due = true;
		kick(sa);
	}
}

static void on_pfkey(struct pfkey_sock *s, void *arg)
{
	struct iked *d = arg;
	uint8_t buf[PFKEY_MSG_MAXSZ];
	ssize_t len;
	while ((len = pfkey_read(s, buf, sizeof(buf))) > 0) {
		struct pfkey_msg m;
		if (pfkey_parse(buf, MIN((size_t)len, sizeof(buf)), PFKEY_OUT, 0, &m) != 0)
			continue;
		uint8_t type = m.hdr.sadb_msg_type;
		if (m.hdr.sadb_msg_pid == d->ps->pid) {
			d->reply_errno = m.hdr.sadb_msg_errno;
			if (type == SADB_GETSPI && !m.hdr.sadb_msg_errno &&
			    pfkey_has(&m, SADB_EXT_SA)) {
				struct sadb_sa sa;
				pfkey_get_sa(&m, SADB_EXT_SA, &sa);
				d->reply_spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
			}
			if (type == SADB_GET && !m.hdr.sadb_msg_errno &&
			    pfkey_has(&m, SADB_EXT_LIFETIME_CURRENT)) {
				struct sadb_lifetime lt;
				pfkey_get_lifetime(&m, SADB_EXT_LIFETIME_CURRENT, &lt);
				d->reply_bytes = lt.sadb_lifetime_bytes;
			}
			continue;
		}
		if (type == SADB_EXPIRE && !m.hdr.sadb_msg_errno && pfkey_has(&m, SADB_EXT_SA) &&
		    pfkey_has(&m, SADB_EXT_ADDRESS_DST)) {
			struct exp_ev *ev = xcalloc(1, sizeof(*ev));
			struct sadb_sa sa;
			uint16_t port;
			pfkey_get_sa(&m, SADB_EXT_SA, &sa);
			ev->d = d;
			ev->spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
			ev->hard = pfkey_has(&m, SADB_EXT_LIFETIME_HARD);
			pfkey_get_address(&m, SADB_EXT_ADDRESS_DST, &ev->dst, &port);
			sim_after(d->w->sim, 0, on_expire, free, ev);
			continue;
		}
		if (type == SADB_ACQUIRE && !m.hdr.sadb_msg_errno &&
		    pfkey_has(&m, SADB_EXT_ADDRESS_DST)) {
			struct acq_ev *ev = xcalloc(1, sizeof(*ev));
			ev->d = d;
			uint16_t port;
			pfkey_get_address(&m, SADB_EXT_ADDRESS_DST, &ev->dst, &port);
			if (pfkey_has(&m, SADB_EXT_ADDRESS_SRC)) {
				pfkey_get_address(&m, SADB_EXT_ADDRESS_SRC, &ev->src, &port);
				ev->has_src = true;
			}
			sim_after(d->w->sim, 0, on_acquire, free, ev);
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* ---- the API ---- */

struct iked_world *iked_world_new(struct sim *s)
{
	struct iked_world *w = xcalloc(1, sizeof(*w));
	w->sim = s;
	return w;
}

void iked_world_free(struct iked_world *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < w->nds; i++) {
		struct iked *d = w->ds[i];
		for (unsigned j = 0; j < d->nsas; j++)
			sa_free(d->sas[j]);
		free(d->sas);
		for (unsigned j = 0; j < d->npols; j++) {
			OPENSSL_cleanse(d->pols[j], sizeof(*d->pols[j])); /* the PSK */
			free(d->pols[j]);
		}
		free(d->pols);
		free(d->any_pols);
		hmap_free(&d->by_peer);
		hmap_free(&d->by_spi);
		hmap_free(&d->by_serial);
		hmap_free(&d->by_child);
		OPENSSL_cleanse(&d->rng, sizeof(d->rng));
		free(d);
	}
	free(w->ds);
	for (unsigned i = 0; i < w->ntable; i++) {
		OPENSSL_cleanse(w->table[i], strlen(w->table[i]));
		free(w->table[i]);
	}
	free(w->table);
	free(w);
}

struct iked *iked_find(const struct iked_world *w, const struct node *n)
{
	for (unsigned i = 0; i < w->nds; i++)
		if (w->ds[i]->n == n)
			return w->ds[i];
	return NULL;
}

/* As iked's sockets: IKE itself is never protected by the SPD. */
static void bypass_ipsec(struct node *n, struct udp_sock *us)
{
	int bypass = IPSEC_LEVEL_BYPASS;
	for (int opt = IP_AUTH_LEVEL; opt <= IP_ESP_NETWORK_LEVEL; opt++) {
		(void)seclevel_set(n, &us->sl, SOL_IPPROTO_IP, opt, &bypass, sizeof(bypass), true);
		(void)seclevel_set(n, &us->sl, SOL_IPPROTO_IPV6,
				   opt - IP_AUTH_LEVEL + IPV6_AUTH_LEVEL, &bypass, sizeof(bypass),
				   true);
	}
}

struct iked *iked_get(struct iked_world *w, struct node *n, char *err, size_t errcap)
{
	struct iked *d = iked_find(w, n);
	if (d)
		return d;
	struct udp_sock *us = udp_open(n);
	int rc = udp_bind(us, NULL, IKE_PORT);
	if (rc < 0) {
		snprintf(err, errcap, "%s: cannot bind UDP port 500: %s", n->name, strerror(-rc));
		udp_close(us);
		return NULL;
	}
	bypass_ipsec(n, us);
	d = xcalloc(1, sizeof(*d));
	d->w = w;
	d->n = n;
	d->us = us;
	us->on_recv = on_udp;
	us->cb_arg = d;
	d->set.dpd_interval = IKED_DPD_DEFAULT;
	d->set.cookie_threshold = IKED_COOKIE_DEFAULT;
	/* Port 4500 for NAT-T, as iked binds it: IKE behind the non-ESP
	 * marker comes here, ESP and keepalives stay in the kernel. */
	d->us_natt = udp_open(n);
	if (udp_bind(d->us_natt, NULL, IKE_NATT_PORT) < 0) {
		udp_close(d->us_natt);
		d->us_natt = NULL;
		node_trace(n, "iked: UDP port 4500 is taken: no NAT traversal");
	} else {
		d->us_natt->on_recv = on_udp;
		d->us_natt->cb_arg = d;
	}
	d->ps = pfkey_open(n);
	d->ps->on_queue = on_pfkey;
	d->ps->on_queue_arg = d;
	char stream[128];
	snprintf(stream, sizeof(stream), "iked:%s", n->name);
	rng_seed(&d->rng, w->sim->seed, stream);
	struct rng cr; /* a stream of its own: the cookie secret moves no SPI or nonce */
	snprintf(stream, sizeof(stream), "iked-cookie:%s", n->name);
	rng_seed(&cr, w->sim->seed, stream);
	rng_bytes(&cr, d->cookie_secret, sizeof(d->cookie_secret));
	OPENSSL_cleanse(&cr, sizeof(cr));
	if (d->us_natt)
		bypass_ipsec(n, d->us_natt);
	static const uint8_t satypes[] = {SADB_SATYPE_ESP, SADB_SATYPE_AH};
	for (size_t i = 0; i < ARRAY_LEN(satypes); i++) {
		struct pfkey_buf pb;
		pfkb_init(&pb, SADB_REGISTER, satypes[i], ++d->seq, d->ps->pid);
		(void)pf_send(d, &pb);
	}
	w->ds = xgrow(w->ds, w->nds, sizeof(*w->ds));
	w->ds[w->nds++] = d;
	return d;
}

static void on_start(struct sim *s, void *arg)
{
	struct start_ev ev = *(struct start_ev *)arg;
	struct iked *d = ev.d;
	const struct iked_policy *p = &d->pols[ev.pol]->p;
	struct ipaddr local;
	free(arg);
	(void)s;
	if (p->has_local)
		local = p->local;
	else if ((p->peer.af == ADDR_V6 ? ip6_select_src(d->n, &p->peer, &local)
					: ip4_select_src(d->n, &p->peer, &local)) < 0) {
		char a[ADDR_STRLEN];
		say(d, "%s: no route to the peer %s", p->name, addr_fmt(&p->peer, a));
		return;
	}
	initiate(d, ev.pol, &local, &p->peer);
}

int iked_add_policy(struct iked *d, const struct iked_policy *p, char *err, size_t errcap)
{
	struct pol_state *ps = xcalloc(1, sizeof(*ps));
	ps->p = *p;
	unsigned i = d->npols;
	ps->self = i;
	d->pols = xgrow(d->pols, d->npols, sizeof(*d->pols));
	d->pols[d->npols++] = ps;
	if (p->peer_any) {
		d->any_pols = xgrow(d->any_pols, d->nany, sizeof(*d->any_pols));
		d->any_pols[d->nany++] = i;
	} else if (!hmap_add(&d->by_peer, ps->peer_key, peer_key(&p->peer, ps->peer_key), ps)) {
		/* Another policy names this peer: ours goes at the end of its chain. */
		unsigned k = first_for_peer(d, &p->peer);
		while (d->pols[k - 1]->next_same_peer)
			k = d->pols[k - 1]->next_same_peer;
		d->pols[k - 1]->next_same_peer = i + 1;
	}
	if (p->mode == IKED_PASSIVE || p->peer_any)
		return 0;
	/* The flows now, so that the first packet asks for the SAs. */
	struct spd_sel sel;
	struct spd_mask mask;
	policy_flow(p, &sel, &mask);
	int rc = pf_flows(d, p->satype, &sel, &mask, p->has_local ? &p->local : NULL, &p->peer);
	if (rc < 0) {
		snprintf(err, errcap, "%s's kernel refused the flows of policy %s: %s", d->n->name,
			 p->name, strerror(-rc));
		return -1;
	}
	if (p->mode == IKED_ACTIVE) {
		struct start_ev *ev = xmalloc(sizeof(*ev));
		*ev = (struct start_ev){d, i};
		sim_after(d->w->sim, 0, on_start, free, ev);
	}
	return 0;
}

void iked_set_quiet(struct iked *d)
{
	d->quiet = true;
}

void iked_apply_settings(struct iked *d, const struct iked_settings *set)
{
	if (set->has_dpd)
		d->set.dpd_interval = set->dpd_interval;
	if (set->has_cookie)
		d->set.cookie_threshold = set->cookie_threshold;
}

static const char *const stat_names[] = {
#define IKED_STAT_NAME(name, what) #name,
    IKED_STATS(IKED_STAT_NAME)
#undef IKED_STAT_NAME
};

int iked_stat_index(const char *name)
{
	for (int i = 0; i < IKED_NSTATS; i++)
		if (strcmp(name, stat_names[i]) == 0)
			return i;
	return -1;
}

const char *iked_stat_name(int index)
{
	return index >= 0 && index < IKED_NSTATS ? stat_names[index] : NULL;
}

uint64_t iked_stat_value(const struct iked *d, int index)
{
	const uint64_t v[] = {
#define IKED_STAT_VALUE(name, what) d->st.name,
	    IKED_STATS(IKED_STAT_VALUE)
#undef IKED_STAT_VALUE
	};
	return index >= 0 && index < IKED_NSTATS ? v[index] : 0;
}

const struct iked_stats *iked_stats(const struct iked *d)
{
	return &d->st;
}

void iked_show(const struct iked *d, FILE *f)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], t[32];
	for (unsigned i = 0; i < d->nsas; i++) {
		const struct ike_sa *sa = d->sas[i];
		if (sa->state == S_DEAD)
			continue;
		fprintf(f, "iked_sas: 0x%016llx rspi 0x%016llx %s %s %s->%s %s",
			(unsigned long long)spi64(sa->spi_i), (unsigned long long)spi64(sa->spi_r),
			sa_pol(sa)->name, sa->initiator ? "initiator" : "responder",
			addr_fmt(&sa->local, a), addr_fmt(&sa->peer, b), state_names[sa->state]);
		if (sa->state == S_ESTABLISHED)
			fprintf(f, " since %s enc %s prf %s auth %s group %s",
				sim_fmt_time(sa->established_at, t),
				iked_alg_name(IKE_XF_ENCR, sa->encr, sa->encr_bits),
				iked_alg_name(IKE_XF_PRF, sa->prf, 0),
				iked_alg_name(IKE_XF_INTEG, sa->integ, 0),
				iked_alg_name(IKE_XF_DH, sa->group, 0));
		if (sa->natt)
			fprintf(f, " natt%s port %u", sa->nat_local ? " (we are behind a NAT)" : "",
				sa->peer_port);
		fputc('\n', f);
		for (unsigned k = 0; k < sa->nch; k++) {
			const struct child *c = sa->ch[k];
			if (!c->up)
				continue;
			fprintf(f, "  childsa %s %s in 0x%08x out 0x%08x enc %s auth %s%s%s%s%s\n",
				pfkey_name(PFN_SATYPE, c->satype),
				c->transport ? "transport" : "tunnel", c->spi_in, c->spi_out,
				c->satype == SADB_SATYPE_ESP
				    ? iked_alg_name(IKE_XF_ENCR, c->encr, c->encr_bits)
				    : "none",
				iked_alg_name(IKE_XF_INTEG, c->integ, 0), c->esn ? " esn" : "",
				c->group ? " group " : "",
				c->group ? iked_alg_name(IKE_XF_DH, c->group, 0) : "",
				c->replaced ? " (replaced)" : "");
		}
	}
}

unsigned iked_table_count(const struct iked_world *w)
{
	return w->ntable;
}

const char *iked_table_line(const struct iked_world *w, unsigned i)
{
	return i < w->ntable ? w->table[i] : NULL;
}
