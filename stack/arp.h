/*
 * ARP (RFC 826) with a per-interface cache.  An unresolved next hop holds up
 * to ARP_MAXHOLD packets while requests go out once a second; after
 * ARP_MAXTRIES unanswered requests the held packets are dropped (forwarded
 * ones with an ICMP host unreachable) and the entry is removed.  Resolved
 * entries live for net.inet.ip.arptimeout seconds, checked when used.
 * The cache is hashed by address, and holds at most ARP_MAXENTRIES on an
 * interface: past that a new neighbor is not learned (arp.tablefull) and a
 * packet to one is dropped, so ARP from many sources cannot grow it
 * without end.
 */
#ifndef STACK_ARP_H
#define STACK_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"
#include "util.h"

#define ARP_MAXHOLD    10    /* OpenBSD's arp_maxhold */
#define ARP_MAXTRIES   5     /* OpenBSD's arp_maxtries */
#define ARP_MAXENTRIES 65536 /* entries on one interface */
#define ARP_HDR_LEN    28    /* Ethernet/IPv4 ARP */
#define ARPOP_REQUEST  1
#define ARPOP_REPLY    2

struct iface;
struct node;

enum arp_state { ARP_INCOMPLETE, ARP_RESOLVED };

struct arp_entry {
	struct arp_entry *next, *prev; /* insertion order */
	struct ipaddr ip;
	uint8_t mac[6];
	enum arp_state state;
	uint64_t expire;  /* resolved: when it goes; incomplete: next retry */
	unsigned tries;   /* requests sent while incomplete */
	struct pktq hold; /* IP packets waiting for the address */
};

struct arp_msg {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;
	uint8_t sha[6], spa[4], tha[6], tpa[4];
};

/* Wire form (Ethernet/IPv4 only): 0, or -1 when short or another kind. */
MUST_CHECK int arp_parse(const uint8_t *b, size_t len, struct arp_msg *m);
void arp_emit(uint8_t *b, const struct arp_msg *m);

void arp_input(struct iface *ifp, struct pkt *p);
/* Send an IPv4 packet to nexthop on ifp, resolving its MAC first. */
void arp_output(struct iface *ifp, struct pkt *p, const struct ipaddr *nexthop);
/* Retries and expiry; returns the next deadline or UINT64_MAX. */
uint64_t arp_timer(struct node *n);
const struct arp_entry *arp_lookup(struct iface *ifp, const struct ipaddr *ip);
void arp_free_all(struct iface *ifp);

struct mem_use;
/* For show NODE memory (stack/mem.h): the ARP cache of ifp. */
void arp_memory(const struct iface *ifp, struct mem_use *u);

#endif
