/*
 * The routing table.  Longest-prefix match: one hash table of routes keyed
 * by family, prefix length and prefix, probed from the longest length that
 * has a route down to the shortest (a handful of lengths in practice), so a
 * router with 20,000 routes looks one up as fast as a host with three.  A
 * prefix holds one route: a second with the same prefix and length is
 * refused, so the first added (the connected route, added with its
 * address) stays.
 */
#ifndef STACK_ROUTE_H
#define STACK_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "util.h"

struct iface;

struct route {
	struct ipaddr dst; /* network, host bits clear */
	unsigned plen;
	struct ipaddr gw; /* ADDR_NONE for a connected route */
	struct iface *ifp;
};

struct route_ent;
struct rtable {
	struct route_ent **v; /* every route, in no order (for freeing, counting) */
	size_t n;
	struct hmap idx;        /* key -> route_ent */
	uint32_t plens[2][129]; /* routes of each length, IPv4 and IPv6 */
};

/* Add a route; returns 0, or -1 when the same prefix is already there. */
int route_add(struct rtable *t, const struct route *r);
/* Remove the route for dst/plen through gw (ADDR_NONE: any); 0 or -1. */
int route_del(struct rtable *t, const struct ipaddr *dst, unsigned plen, const struct ipaddr *gw);
/* The route for dst, or NULL. */
const struct route *route_lookup(struct rtable *t, const struct ipaddr *dst);
void route_free(struct rtable *t);
/* Bytes the table holds (for show NODE memory). */
size_t route_memory(const struct rtable *t);

#endif
