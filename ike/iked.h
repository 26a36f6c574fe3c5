/*
 * An IKEv2 daemon for simulated nodes (RFC 7296), modelled on OpenBSD's
 * iked (docs/ike.md).  It lives on a node as iked does on a host: a UDP
 * socket on port 500 that bypasses IPsec, and a PF_KEY socket registered
 * for ESP and AH through which it installs everything it negotiates
 * (GETSPI, UPDATE, ADD, X_ADDFLOW, DELETE) and hears SADB_ACQUIRE and
 * SADB_EXPIRE.  It never touches the SAD or the SPD otherwise.
 *
 * Its randomness (SPIs, nonces, DH private values, IVs) comes from the
 * node's PRNG stream "iked:NODE", so that a run stays byte-identical.
 */
#ifndef IKE_IKED_H
#define IKE_IKED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../stack/addr.h"

struct sim;
struct node;
struct iked;
struct iked_world;

#define IKED_MAX_ALGS  6
#define IKED_MAX_PROPS 4
#define IKED_PSK_MAX   256
#define IKED_ID_MAX    128

/* One `ikesa` or `childsa` proposal: transforms by type (IKEv2 ids);
 * encr_bits beside each cipher. */
struct iked_prop {
	uint16_t encr[IKED_MAX_ALGS], encr_bits[IKED_MAX_ALGS];
	unsigned nencr;
	uint16_t prf[IKED_MAX_ALGS];
	unsigned nprf;
	uint16_t integ[IKED_MAX_ALGS];
	unsigned ninteg;
	uint16_t group[IKED_MAX_ALGS];
	unsigned ngroup;
	bool esn; /* a CHILD_SA proposal: ESN (else none) */
		  /* a CHILD_SA proposal's groups are for PFS: a DH exchange in each
		   * CREATE_CHILD_SA (none in IKE_AUTH, whose keys come from the IKE SA) */
};

enum iked_mode {
	IKED_PASSIVE, /* answers only */
	IKED_ACTIVE,  /* negotiates at start, as iked's `active` */
	IKED_ACQUIRE, /* ours: installs the flows, negotiates on the first packet */
};

/* One `ikev2` policy of iked.conf. */
struct iked_policy {
	char name[64];
	char where[300]; /* "FILE:LINE", for messages */
	enum iked_mode mode;
	uint8_t satype; /* SADB_SATYPE_ESP or _AH */
	bool transport;
	uint8_t proto; /* 0: any */
	struct ipaddr src, dst;
	uint8_t src_plen, dst_plen;
	uint16_t sport, dport; /* 0: any */
	bool has_local;
	struct ipaddr local;
	bool peer_any;
	struct ipaddr peer;
	struct iked_prop ike[IKED_MAX_PROPS];
	unsigned nike;
	struct iked_prop child[IKED_MAX_PROPS];
	unsigned nchild;
	char srcid[IKED_ID_MAX], dstid[IKED_ID_MAX]; /* "": the address */
	uint64_t ikelifetime, lifetime, lifebytes;   /* seconds, seconds, bytes; 0: none */
	uint8_t psk[IKED_PSK_MAX];
	unsigned psklen;
};

/* The daemon's counters: the name `expect NODE ike NAME` and `show NODE
 * ike` use, and what each counts. */
#define IKED_STATS(X)                                                             \
	X(acquires, "SADB_ACQUIREs that started a negotiation")                   \
	X(initiated, "IKE_SA_INIT exchanges started")                             \
	X(established, "IKE SAs established (IKE_AUTH done)")                     \
	X(children, "CHILD_SAs installed, a pair each (rekeyed ones included)")   \
	X(child_rekeys, "CHILD_SAs replaced by CREATE_CHILD_SA")                  \
	X(ike_rekeys, "IKE SAs replaced by CREATE_CHILD_SA")                      \
	X(auth_failures, "AUTHENTICATION_FAILED, sent or received")               \
	X(no_proposal, "NO_PROPOSAL_CHOSEN, sent or received")                    \
	X(ts_unacceptable, "TS_UNACCEPTABLE, sent or received")                   \
	X(invalid_ke, "INVALID_KE_PAYLOAD, sent or received")                     \
	X(cookies, "COOKIE notifies, sent or received")                           \
	X(nat_detected, "IKE SAs that found a NAT between the peers")             \
	X(keepalives, "NAT keepalives sent")                                      \
	X(liveness, "liveness checks sent (empty INFORMATIONAL requests)")        \
	X(dead_peers, "established IKE SAs closed: the peer stopped answering")   \
	X(retransmits, "requests sent again")                                     \
	X(timeouts, "exchanges given up")                                         \
	X(halfopen_expired, "responder IKE SAs closed: no IKE_AUTH within 300 s") \
	X(deletes, "CHILD_SAs deleted")                                           \
	X(ike_deletes, "IKE SAs deleted by INFORMATIONAL, sent or received")      \
	X(capped, "IKE SAs refused at the daemon's cap (4096)")                   \
	X(dropped, "messages dropped: malformed, unknown SA, bad ICV, out of turn")

struct iked_stats {
#define IKED_STAT_FIELD(name, what) uint64_t name;
	IKED_STATS(IKED_STAT_FIELD)
#undef IKED_STAT_FIELD
};

enum {
#define IKED_STAT_ENUM(name, what) IKED_STAT_##name,
	IKED_STATS(IKED_STAT_ENUM)
#undef IKED_STAT_ENUM
	    IKED_NSTATS
};

/* The daemon-wide settings of iked.conf's `set` lines. */
struct iked_settings {
	uint64_t dpd_interval;     /* seconds between liveness checks of a quiet peer; 0: none */
	unsigned cookie_threshold; /* half-open IKE SAs at which cookies are asked; 0: never */
	bool has_dpd, has_cookie;  /* said in the file (else the daemon keeps what it has) */
};
#define IKED_DPD_DEFAULT    60 /* iked's IKED_IKE_SA_ALIVE_TIMEOUT */
#define IKED_COOKIE_DEFAULT 64

struct iked_world *iked_world_new(struct sim *s);
/* After the simulation: the sockets belong to the nodes. */
void iked_world_free(struct iked_world *w);
/* A node's daemon, made on first use: PF_KEY registered, UDP 500 bound.
 * NULL when the port is taken (err says so). */
struct iked *iked_get(struct iked_world *w, struct node *n, char *err, size_t errcap);
struct iked *iked_find(const struct iked_world *w, const struct node *n);
/* Add a policy (copied; the PSK is wiped on free).  From now on the
 * daemon answers for it; `acquire` and `active` policies install their
 * flows now, and `active` ones start negotiating at the current time. */
int iked_add_policy(struct iked *d, const struct iked_policy *p, char *err, size_t errcap);
void iked_set_quiet(struct iked *d);
void iked_apply_settings(struct iked *d, const struct iked_settings *set);
const struct iked_stats *iked_stats(const struct iked *d);
/* A counter by name (IKED_STATS), -1 when there is none. */
int iked_stat_index(const char *name);
uint64_t iked_stat_value(const struct iked *d, int index);
const char *iked_stat_name(int index);
/* ikectl show sa: the IKE SAs and their CHILD_SAs. */
void iked_show(const struct iked *d, FILE *f);

/* Wireshark's ikev2_decryption_table: one line per IKE SA of the run,
 * in the order their keys were made. */
unsigned iked_table_count(const struct iked_world *w);
const char *iked_table_line(const struct iked_world *w, unsigned i);

#endif
