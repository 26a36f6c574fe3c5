/* Network interfaces: an Ethernet MAC, addresses, an MTU and a link port. */
#ifndef STACK_IFACE_H
#define STACK_IFACE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"
#include "util.h"

#define IFACE_MAX_ADDRS 256 /* aliases an interface may carry (OpenBSD's regress: 30) */
#define IFACE_NAME_MAX  16

struct node;
struct link_port;
struct arp_entry;
struct nd_entry;
struct capture;
struct bridge_port;

struct ifaddr {
	struct ipaddr addr;
	unsigned plen;
};

struct iface {
	struct node *node;
	char name[IFACE_NAME_MAX];
	uint8_t mac[6];
	uint32_t mtu;         /* IP MTU: bytes after the Ethernet header */
	struct ifaddr *addrs; /* naddrs of them, grown as they come */
	unsigned naddrs, addrs_cap;
	struct link_port *port; /* NULL when not attached */
	struct arp_entry *arp;  /* ARP cache of this interface, insertion order */
	struct arp_entry *arp_tail;
	struct hmap arp_by_ip; /* the IPv4 address's 4 bytes -> entry */
	unsigned narp;
	struct nd_entry *nd; /* IPv6 neighbor cache, insertion order */
	struct nd_entry *nd_tail;
	struct hmap nd_by_ip; /* the IPv6 address's 16 bytes -> entry */
	unsigned nnd;
	struct capture **caps; /* captures of this interface */
	unsigned ncaps;
	struct bridge_port *bport; /* the bridge it is a member of, or NULL */
	/* An interface that stands for a real host (sim/external.c): what the
	 * link delivers goes to tap_out instead of the node's stack. */
	void (*tap_out)(struct iface *ifp, struct pkt *frame);
	void *tap_arg;
};

/* Create an interface on the node; the MAC is derived from node and name. */
struct iface *iface_new(struct node *n, const char *name);
void iface_free(struct iface *ifp);
/* Add an address and its connected route; 0 or -1 when full or a duplicate.
 * The first IPv6 address brings the interface's link-local address with it
 * (no route: a link-local destination needs its interface). */
int iface_add_addr(struct iface *ifp, const struct ipaddr *a, unsigned plen);
/* fe80::/64 with the modified EUI-64 of the interface's MAC. */
struct ipaddr iface_linklocal6(const struct iface *ifp);
/* The first address of this family, or NULL. */
const struct ifaddr *iface_addr(const struct iface *ifp, uint8_t af);
/* The IPv4 address to send from toward `to` (the next hop): the one whose
 * network holds it, as a BSD route's ifa is; else the first of the family. */
const struct ifaddr *iface_addr_toward(const struct iface *ifp, const struct ipaddr *to);
/* True when a is the directed broadcast of one of the interface's IPv4 nets. */
int iface_is_bcast(const struct iface *ifp, const struct ipaddr *a);

/* A frame arrives from the link (the iface takes the packet). */
void iface_receive(struct iface *ifp, struct pkt *frame);
/* Put a finished frame on the link (the iface takes the packet). */
void iface_transmit(struct iface *ifp, struct pkt *frame);

struct mem_use;
/* For show NODE memory: the interface and its addresses. */
void iface_memory(const struct iface *ifp, struct mem_use *u);

#endif
