/*
 * The SPD: flows (OpenBSD's ipsec_policy) and their most-specific-match
 * lookup.
 *
 * Structure: tuple-space search, as VPP's and Linux's hashed policy look-ups
 * by prefix-length pair.  Flows are grouped by the shape of their mask
 * (direction, family, source prefix length, destination prefix length, and
 * whether protocol, source port and destination port are set); each shape
 * has an open-addressed table of masked keys.  A lookup masks the packet's
 * key once per shape of its direction and family, prefetches every shape's
 * slot, then probes them from most to least specific and returns the first
 * hit: its cost grows with the number of shapes, not of flows, and the
 * shapes' cache misses overlap instead of following one another.
 *
 * Tie rule (what "most specific" means): shapes are ordered by source
 * prefix length, then destination prefix length, then protocol set, source
 * port set, destination port set, each longer/set first.  This follows the
 * byte order of OpenBSD's sockaddr_encap key (src before dst before proto
 * before ports), where its radix tree has an order, and breaks the radix
 * tree's remaining ties by the next field.  Masks are contiguous prefixes.
 */
#ifndef IPSEC_SPD_H
#define IPSEC_SPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stack/addr.h"

struct tdb;

/* Policy types (ipo_type) */
#define IPSP_IPSEC_USE     0
#define IPSP_IPSEC_ACQUIRE 1
#define IPSP_IPSEC_REQUIRE 2
#define IPSP_PERMIT        3
#define IPSP_DENY          4
#define IPSP_IPSEC_DONTACQ 5

#define IPSP_POLICY_STATIC 0x2

struct spd_sel {
	uint8_t dir; /* IPSP_DIRECTION_IN or _OUT */
	uint8_t proto;
	uint16_t sport, dport; /* host order; only for TCP and UDP */
	struct ipaddr src, dst;
};

struct spd_mask {
	uint8_t src_plen, dst_plen;
	bool proto, sport, dport; /* the field is part of the match */
};

struct spd_class;

/* A selector as five words, what the tables hash and compare: source and
 * destination address bytes (zero-padded to 16), then family, direction,
 * protocol and ports.  A class masks it with one AND a word. */
struct spd_key {
	uint64_t w[5];
};

struct spd_flow {
	/* what a lookup touches first, in the first cache line */
	struct spd_key key; /* sel as a key; masked as sel is */
	struct spd_mask mask;
	uint8_t type;              /* IPSP_* */
	uint8_t sproto;            /* IPPROTO_ESP, _AH, _IPCOMP, _IPIP */
	uint64_t hash;             /* of key */
	struct spd_sel sel;        /* masked */
	struct ipaddr local, peer; /* ipo_src, ipo_dst; ADDR_NONE when unset */
	char *srcid, *dstid;
	uint16_t srcid_type, dstid_type;
	uint32_t flags;               /* IPSP_POLICY_STATIC */
	struct spd_flow *prev, *next; /* insertion order */
	struct spd_class *cls;
	/* The SA output last chose for this flow, valid while the SAD's
	 * generation is sa_gen (OpenBSD's ipo_tdb and ipsec_last_added). */
	struct tdb *sa;
	uint64_t sa_gen;
	struct ipaddr sa_gw;
};

struct spd_slot {
	uint64_t hash;
	struct spd_flow *f; /* NULL: empty */
};

struct spd_class {
	uint8_t dir, af;
	struct spd_mask mask;
	struct spd_key kmask;   /* mask as words */
	struct spd_slot *slots; /* linear probing, at most half full */
	size_t cap, count;
};

/* The classes of one direction and family, most specific first. */
struct spd_classes {
	struct spd_class **v;
	size_t n;
};

struct spd {
	struct spd_classes sets[4]; /* by direction (in, out) and family (v4, v6) */
	size_t nclasses;            /* over all sets */
	struct spd_flow *head, *tail;
	size_t count;
};

/* Clear the bits and fields the mask does not cover. */
void spd_sel_apply(struct spd_sel *s, const struct spd_mask *m);
/* The flow with exactly this (masked) selector and mask, or NULL. */
struct spd_flow *spd_find(const struct spd *spd, const struct spd_sel *sel,
			  const struct spd_mask *mask);
/* Insert a flow whose selector is masked; it must not be there yet. */
void spd_insert(struct spd *spd, struct spd_flow *f);
/* Take a flow out (not freed). */
void spd_remove(struct spd *spd, struct spd_flow *f);
void spd_flow_free(struct spd_flow *f);
/* The most specific flow matching a packet's selector, or NULL. */
struct spd_flow *spd_lookup(const struct spd *spd, const struct spd_sel *pkt);
void spd_flush(struct spd *spd);

struct mem_use;
/* For show NODE memory: flows and their classes. */
void spd_memory(const struct spd *spd, struct mem_use *u);

#endif
