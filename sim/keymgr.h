/*
 * A scripted key manager: a PF_KEY client on a node, registered for ESP
 * and AH, standing in for IKE (docs/keymgr.md).  It answers SADB_ACQUIRE by
 * keying an SA pair on both ends (GETSPI, UPDATE and ADD through each
 * end's own key manager, coordinated through the simulator rather than
 * packets), replaces a pair when one of its SAs reaches a soft lifetime,
 * and tears a pair down on both ends when one end loses an SA.
 */
#ifndef SIM_KEYMGR_H
#define SIM_KEYMGR_H

#include <stdbool.h>
#include <stdint.h>

#include "../stack/addr.h"

struct sim;
struct node;
struct km_world;
struct keymgr;

struct km_lifetime {
	uint64_t bytes, addtime, usetime; /* 0: none; times in seconds */
};

/* One row of a key manager's table: how to key SAs with one peer. */
struct km_rule {
	struct node *peer_node; /* the peer by node (any of its addresses), or */
	struct ipaddr peer;     /* by address, when peer_node is NULL */
	uint8_t satype;         /* SADB_SATYPE_ESP or SADB_SATYPE_AH */
	bool transport;         /* else tunnel (SADB_X_SAFLAGS_TUNNEL) */
	uint8_t enc, auth;      /* SADB_*ALG_*; auth is ignored with an AEAD cipher */
	bool esn;
	uint8_t enckey[64], authkey[64];
	unsigned enckeylen, authkeylen; /* fixed keys; 0: seeded random ones */
	bool fixed_keys;
	uint32_t spi; /* 0: the kernel picks; else the first inbound SPI asked for */
	uint64_t seq; /* 0: 1; the first sequence number each new SA sends */
	struct km_lifetime soft, hard;
	/* Our identity and the peer's ("": none), on every SA as iked puts
	 * the IKE SA's: SRC ours on ADD, the peer's on UPDATE. */
	char srcid[128], dstid[128];
	/* One pair per flow, as a CHILD_SA narrowed to it: the SAs carry the
	 * acquiring flow (learnt by SADB_X_ASKPOLICY) as their filter, so
	 * that two flows to one peer each use their own. */
	bool per_flow;
};

struct km_stats {
	uint64_t acquires;     /* SADB_ACQUIREs received */
	uint64_t negotiations; /* SA pairs this key manager keyed as initiator */
	uint64_t rekeys;       /* of those, pairs that replaced another */
	uint64_t deletes;      /* pairs torn down on both ends */
	uint64_t failures;     /* negotiations that installed nothing */
};

/* The key managers of one simulation.  Each action is one line of the
 * simulation's output (sim->out, when set), as `TIME node: keymgr: ...`,
 * and of its trace. */
struct km_world *km_world_new(struct sim *s);
/* Free after the simulation: the sockets belong to the nodes. */
void km_world_free(struct km_world *w);

/* A node's key manager: made and registered on first use. */
struct keymgr *km_get(struct km_world *w, struct node *n);
struct keymgr *km_find(const struct km_world *w, const struct node *n);
void km_set_delay(struct keymgr *km, uint64_t ns);  /* reaction time, default 0 */
void km_set_retire(struct keymgr *km, uint64_t ns); /* replaced pairs: delete after */
void km_set_quiet(struct keymgr *km);               /* nothing to the log */
/* Add a row; keys are copied (and wiped on free). */
void km_add_rule(struct keymgr *km, const struct km_rule *r);
/* Key a pair with peer at virtual time `at` without waiting for an ACQUIRE
 * (strongSwan's start_action=start): the flow's first packet finds its SA. */
void km_start(struct keymgr *km, const struct ipaddr *peer, uint8_t satype, uint64_t at);
const struct km_stats *km_stats(const struct keymgr *km);

/* The key length a cipher gets by default, in bytes (nonce included). */
unsigned km_default_enckeylen(uint8_t enc);

#endif
