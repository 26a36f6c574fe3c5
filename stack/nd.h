/*
 * Neighbor discovery (RFC 4861) for addresses on the link: neighbor
 * solicitations and advertisements with the link-layer address options,
 * and a per-interface neighbor cache with the states of RFC 4861 7.3.2.
 * An unresolved neighbor holds up to ND_MAXHOLD packets while solicitations
 * go to its solicited-node group once a RetransTimer; after
 * MAX_MULTICAST_SOLICIT unanswered ones the held packets are dropped
 * (forwarded ones with an address unreachable) and the entry removed.
 * A reachable entry turns stale after ReachableTime; a stale one used for
 * sending is probed after DELAY_FIRST_PROBE_TIME with unicast
 * solicitations, and removed after MAX_UNICAST_SOLICIT unanswered ones.
 * The cache is hashed by address and holds at most ND_MAXENTRIES on an
 * interface: past that a neighbor is not learned (nd6.tablefull) and a
 * packet to a new one is dropped.
 * Router advertisements give hosts a default route (RFC 4861 6.3.4): the
 * router's link-local address for its router lifetime.  Prefix
 * information, address autoconfiguration, router solicitations, redirects
 * and duplicate address detection are not implemented.
 */
#ifndef STACK_ND_H
#define STACK_ND_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"

#define ND_MAXHOLD               10    /* as ARP's */
#define ND_MAXENTRIES            65536 /* entries on one interface */
#define ND_MAX_ROUTERS           64    /* default routers a host keeps (nd6.routersfull) */
#define ND_MAX_MULTICAST_SOLICIT 3
#define ND_MAX_UNICAST_SOLICIT   3
#define ND_RETRANS_TIMER_MS      1000
#define ND_REACHABLE_TIME_MS     30000
#define ND_DELAY_FIRST_PROBE_S   5

struct iface;
struct node;
struct ip6_hdr;

enum nd_state { ND_INCOMPLETE, ND_REACHABLE, ND_STALE, ND_DELAY, ND_PROBE };

struct nd_entry {
	struct nd_entry *next, *prev; /* insertion order */
	struct ipaddr ip;
	uint8_t mac[6];
	enum nd_state state;
	uint64_t expire; /* when the state's timer runs out */
	unsigned probes; /* solicitations sent in this state */
	struct pktq hold;
};

/* Send an IPv6 packet (at p->data) to nexthop on ifp, resolving first. */
void nd_output(struct iface *ifp, struct pkt *p, const struct ipaddr *nexthop);
/* A neighbor solicitation or advertisement (the ICMPv6 message at off). */
void nd_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off);
/* Send a router advertisement on ifp to all nodes, from its link-local
 * address, with this router lifetime (0: "do not use me"). */
void nd_router_advertise(struct iface *ifp, uint16_t lifetime_s);
/* A router advertisement arrived (the ICMPv6 message at off). */
void nd_ra_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off);
void nd_routers_free(struct node *n);

/* Timers of every interface; the next deadline or UINT64_MAX. */
uint64_t nd_timer(struct node *n);
const struct nd_entry *nd_lookup(struct iface *ifp, const struct ipaddr *ip);
void nd_free_all(struct iface *ifp);
const char *nd_state_name(enum nd_state s);

struct mem_use;
/* For show NODE memory: neighbor caches and default routers. */
void nd_memory(const struct node *n, struct mem_use *u);

#endif
