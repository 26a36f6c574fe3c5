/*
 * The SAD: security associations (OpenBSD's struct tdb) keyed by
 * (destination, SPI, security protocol), in a hash table that doubles as it
 * fills, so a lookup costs the same with ten SAs or ten million.  Every SA
 * is also on a list in insertion order: dumps and flushes walk that list,
 * never the hash table, so their output does not depend on hashing.
 */
#ifndef IPSEC_SAD_H
#define IPSEC_SAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stack/addr.h"
#include "pfkeyv2.h"
#include "replay.h"
#include "spd.h"

struct xform_ctx;

/* tdb_flags (OpenBSD's values) */
#define TDBF_UNIQUE           0x00001
#define TDBF_TIMER            0x00002
#define TDBF_BYTES            0x00004
#define TDBF_ALLOCATIONS      0x00008
#define TDBF_INVALID          0x00010
#define TDBF_FIRSTUSE         0x00020
#define TDBF_DELETED          0x00040
#define TDBF_SOFT_TIMER       0x00080
#define TDBF_SOFT_BYTES       0x00100
#define TDBF_SOFT_ALLOCATIONS 0x00200
#define TDBF_SOFT_FIRSTUSE    0x00400
#define TDBF_PFS              0x00800
#define TDBF_TUNNELING        0x01000
#define TDBF_USEDTUNNEL       0x10000
#define TDBF_UDPENCAP         0x20000
#define TDBF_ESN              0x100000

/* The same numbers as <netinet/in.h>, which may come first (libpcap's
 * header includes it). */
#ifndef IPPROTO_IPIP
#define IPPROTO_IPIP 4
#endif
#ifndef IPPROTO_ESP
#define IPPROTO_ESP 50
#endif
#ifndef IPPROTO_AH
#define IPPROTO_AH 51
#endif
#ifndef IPPROTO_IPCOMP
#define IPPROTO_IPCOMP 108
#endif

enum tdb_counter {
	TDB_IPACKETS,
	TDB_OPACKETS,
	TDB_IBYTES,
	TDB_OBYTES,
	TDB_IDROPS,
	TDB_ODROPS,
	TDB_IDECOMPBYTES,
	TDB_OUNCOMPBYTES,
	TDB_NCOUNTERS
};

struct tdb_lifetime {
	uint32_t allocations;
	uint64_t bytes;
	uint64_t addtime; /* seconds after the SA was added */
	uint64_t usetime; /* seconds after its first use */
};

struct tdb {
	struct tdb *prev, *next; /* insertion order */
	uint32_t spi;            /* host order */
	uint8_t sproto;          /* IPPROTO_ESP, _AH, _IPCOMP, _IPIP */
	uint8_t satype;          /* SADB_SATYPE_*, UNSPEC while embryonic */
	struct ipaddr src, dst;
	uint32_t flags;          /* TDBF_* */
	uint8_t wnd;             /* replay window asked for; 0: no replay check */
	uint32_t rwin;           /* packets the window spans; 0: REPLAY_WINDOW (verify sets it) */
	uint8_t authalg, encalg; /* SADB ids; encalg is the CALG for IPCOMP */
	uint8_t *authkey, *enckey;
	uint16_t authkeylen, enckeylen; /* bytes */
	struct tdb_lifetime hard, soft;
	uint32_t cur_allocations;
	uint64_t cur_bytes;
	uint64_t established;       /* virtual ns */
	uint64_t first_use;         /* virtual ns; 0 while unused */
	struct replay_state replay; /* rpl: next to send, or highest seen, and the window */
	struct xform_ctx *xf;       /* keyed transforms; NULL for IPIP and embryonic SAs */
	void *comp;                 /* IPComp's deflate streams (ipcomp.c); NULL until used */
	uint16_t udpencap_port;     /* host order; the peer's, which follows its NAT */
	uint64_t encap_out_at;      /* virtual ns of the last ESP-in-UDP sent; 0 never */
	uint16_t encap_sport_seen;  /* inbound NAT-T: the peer's port last seen; 0 none */
	uint32_t mtu; /* tdb_mtu: the largest IPv4 packet with DF this transport-mode
		       * SA can take and still fit the path; 0 until one did not */
	char tag[PF_TAG_NAME_SIZE];
	uint32_t tap;
	uint16_t rdomain, rdomain_post;
	char *srcid, *dstid;
	uint16_t srcid_type, dstid_type;
	bool ids_swapped; /* from UPDATE: local is DST's identity (tdb_ids_swapped) */
	bool has_filter; /* the flow this SA may carry */
	struct spd_sel filter;
	struct spd_mask filtermask;
	uint8_t filter_type;
	struct tdb *onext, *inext; /* SA bundle (SADB_X_GRPSPIS) */
	struct tdb *dnext, *dprev; /* chain of the SAs to its destination, newest first */
	uint64_t counters[TDB_NCOUNTERS];
	uint32_t seq;              /* PF_KEY sequence number it came with */
	uint64_t serial;           /* unique per node, for timers that name it */
	uint64_t embryonic_expire; /* virtual ns; embryonic SAs only */
};

/* A slot of the SAD's table: the whole key beside the SA, so that a lookup
 * reads one cache line and not the SA (VPP's bihash keeps keys in its
 * buckets for the same reason). */
struct sad_slot {
	uint8_t dst[16]; /* zero-padded */
	uint32_t spi;
	uint8_t sproto, af;
	struct tdb *t; /* NULL: empty */
};

struct sad {
	struct sad_slot *slots; /* open addressing, linear probing, at most half full */
	size_t cap;
	struct tdb **by_dst; /* by (dst, sproto), as OpenBSD's gettdbbydst */
	size_t nbuckets, count; /* of by_dst */
	uint64_t gen; /* changes with every insert and remove (for caches) */
	struct tdb *head, *tail;
};

struct tdb *sad_lookup(const struct sad *sad, const struct ipaddr *dst, uint32_t spi,
		       uint8_t sproto);
/* The newest SA of the protocol to dst, and the one before it (NULL at
 * the end): what output walks to choose an SA for a flow. */
struct tdb *sad_first_to(const struct sad *sad, const struct ipaddr *dst, uint8_t sproto);
struct tdb *sad_next_to(const struct tdb *t, const struct ipaddr *dst, uint8_t sproto);
/* Insert an SA; -1 when (dst, spi, sproto) is taken. */
int sad_insert(struct sad *sad, struct tdb *t);
/* Take an SA out of the table and out of any bundle (not freed). */
void sad_remove(struct sad *sad, struct tdb *t);
/* Free an SA, wiping its keys first. */
void tdb_free(struct tdb *t);
/* Remove and free every SA of this SA type (SADB_SATYPE_UNSPEC: all). */
void sad_flush(struct sad *sad, uint8_t satype);

uint8_t satype_to_sproto(uint8_t satype); /* 0 for an unknown type */

struct mem_use;
/* For show NODE memory: SAs (with keys and identities) and transforms. */
void sad_memory(const struct sad *sad, struct mem_use *tdb, struct mem_use *xform);

#endif
