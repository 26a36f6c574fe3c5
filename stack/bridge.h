/*
 * bridge(4): learning bridges joining a node's interfaces, and EtherIP
 * members (RFC 3378, OpenBSD's etherip(4)) that carry a bridge's frames to
 * another node's bridge across a routed network.  With IPsec on (ifconfig
 * bridge0 link2) the IP packets a bridge is about to send out of a member
 * are offered to the SPD first, as OpenBSD's bridge_ipsec does; what comes
 * out of a tunnel for a host a bridge knows is bridged again, its Ethernet
 * header rebuilt from what the bridge learned (docs/bridge.md).
 */
#ifndef STACK_BRIDGE_H
#define STACK_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "pkt.h"
#include "util.h"

#define BRIDGE_NAME_MAX       16
#define BRIDGE_RTABLE_MAX     100  /* sc_brtmax: dynamic addresses learned */
#define BRIDGE_RTABLE_TIMEOUT 240  /* sc_brttimeout, seconds */
#define BRIDGE_HOSTS_MAX      1024 /* IP addresses whose MAC a bridge remembers */
#define IPPROTO_ETHERIP       97
#define ETHERIP_VERSION       3 /* RFC 3378 3: the high four bits */
#define ETHERIP_HDR_LEN       2

struct node;
struct iface;
struct bridge;

/* A member: an interface of the node, or an EtherIP tunnel to peer. */
struct bridge_port {
	struct bridge *br;
	struct iface *ifp; /* NULL for EtherIP */
	struct ipaddr peer;
	char name[BRIDGE_NAME_MAX + 20]; /* em0, or etherip:ADDR */
};

/* An entry of a bridge's two tables, kept least recently seen first: in
 * the address table a MAC and the member it lives behind
 * (bridge_rtupdate); in the host table an IP address seen in a bridged
 * frame (an ARP sender, an IPv4 or IPv6 source) and the MAC it came from,
 * to rebuild Ethernet headers. */
struct bridge_entry {
	uint8_t key[17]; /* the MAC, or the address's 16 bytes and its family */
	uint8_t keylen;
	uint8_t mac[6];           /* hosts: the MAC */
	struct bridge_port *port; /* addresses: the member */
	uint64_t seen;            /* virtual ns */
	struct bridge_entry *prev, *next;
};

struct bridge_table {
	struct hmap map; /* key -> entry */
	struct bridge_entry *head, *tail;
	unsigned n, max;
};

struct bridge {
	struct node *node;
	char name[BRIDGE_NAME_MAX];
	struct bridge_port **ports;
	unsigned nports;
	bool ipsec;                /* link2: IPsec on bridged IP packets */
	uint64_t timeout;          /* ns; BRIDGE_RTABLE_TIMEOUT unless set */
	struct bridge_table rt;    /* max: maxaddr, BRIDGE_RTABLE_MAX unless set */
	struct bridge_table hosts; /* max: BRIDGE_HOSTS_MAX */
	struct bridge *next;       /* the node's bridges, in creation order */
};

/* A bridge on node n; NULL when the name is taken. */
struct bridge *bridge_new(struct node *n, const char *name);
struct bridge *bridge_find(struct node *n, const char *name);
/* Add a member: 0, or -EBUSY (a member of a bridge already), -EINVAL (it
 * has addresses: a member carries none). */
int bridge_add_iface(struct bridge *br, struct iface *ifp);
/* Add an EtherIP member to peer: 0, or -EEXIST. */
int bridge_add_etherip(struct bridge *br, const struct ipaddr *peer);
void bridge_free_all(struct node *n);

/* A frame that arrived on a member (the bridge takes the packet). */
void bridge_input(struct bridge_port *in, struct pkt *frame);
/* Protocol input of EtherIP (97) in either family, the header at off. */
void etherip_input(struct node *n, struct pkt *p, const struct ipaddr *src, size_t off);
/* A packet that came out of a tunnel (p at its IP header): bridged again
 * when it is not ours and a bridge with IPsec knows its destination's MAC;
 * true when taken. */
bool bridge_rebridge(struct node *n, struct pkt *p);

/* Print the address tables as `ifconfig bridge0 addr` does, each entry
 * with its member and age, sorted by MAC. */
void bridge_show(struct node *n, FILE *f);

struct mem_use;
void bridge_memory(const struct node *n, struct mem_use *u);

#endif
