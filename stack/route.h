/*
 * The routing table.  Longest-prefix match over an array kept sorted by
 * prefix length, longest first; among routes of equal length the one added
 * first wins, which puts connected routes (added with the address) ahead of
 * static ones.  Linear, which is what a node with tens of routes needs.
 */
#ifndef STACK_ROUTE_H
#define STACK_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct iface;

struct route {
	struct ipaddr dst; /* network, host bits clear */
	unsigned plen;
	struct ipaddr gw; /* ADDR_NONE for a connected route */
	struct iface *ifp;
};

struct rtable {
	struct route *v;
	size_t n, cap;
};

/* Add a route; returns 0, or -1 when the same prefix is already there. */
int route_add(struct rtable *t, const struct route *r);
/* Remove the route for dst/plen through gw (ADDR_NONE: any); 0 or -1. */
int route_del(struct rtable *t, const struct ipaddr *dst, unsigned plen, const struct ipaddr *gw);
/* The route for dst, or NULL. */
const struct route *route_lookup(const struct rtable *t, const struct ipaddr *dst);
void route_free(struct rtable *t);

#endif
