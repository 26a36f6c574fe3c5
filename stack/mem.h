/*
 * What a node holds, by subsystem, as OpenBSD's `vmstat -m` lists malloc
 * types: the structures and what they keep (queued packets, buffers,
 * keys), counted from their sizes, so the same run gives the same figures
 * on the same build.  The allocator's own overhead is not counted, nor
 * OpenSSL's cipher contexts (opaque to us: xform counts our part).
 */
#ifndef STACK_MEM_H
#define STACK_MEM_H

#include <stdint.h>
#include <stdio.h>

struct node;
struct pkt;

#define MEM_TYPES(X)                                                                    \
	X(NODE, "node", "the node: counters, sysctls, its name")                        \
	X(IFACE, "iface", "interfaces and their addresses")                             \
	X(ROUTE, "route", "routing table slots")                                        \
	X(ARP, "arp", "ARP entries and the packets held for them")                      \
	X(ND, "nd", "neighbor cache entries, held packets, default routers")            \
	X(REASS, "reass", "IPv4 and IPv6 reassembly queues and their fragments")        \
	X(PMTU, "pmtu", "path MTUs learned from packet too big")                        \
	X(SOCKET, "socket", "UDP, raw and ICMP echo sockets and queued datagrams")      \
	X(TCPCB, "tcpcb", "TCP connections, listeners, their buffers and tables")       \
	X(TDB, "tdb", "SAs with their keys, identities and bundles")                    \
	X(XFORM, "xform", "SAs' transforms (our part; OpenSSL's contexts not counted)") \
	X(FLOW, "flow", "SPD flows and their classes")                                  \
	X(PFKEY, "pfkey", "PF_KEY sockets, queued messages, pending acquires")          \
	X(PF, "pf", "pf rules, tables and states")                                      \
	X(BRIDGE, "bridge", "bridges, their members and address tables")

enum mem_type {
#define MEM_ENUM(id, name, what) MEM_##id,
	MEM_TYPES(MEM_ENUM)
#undef MEM_ENUM
	    MEM__COUNT
};

struct mem_use {
	uint64_t inuse; /* things of the type */
	uint64_t bytes;
};

/* Add n things of size bytes. */
static inline void mem_add(struct mem_use *u, uint64_t n, uint64_t bytes)
{
	u->inuse += n;
	u->bytes += bytes;
}
/* A packet's share: its struct and its buffer. */
uint64_t mem_pkt(const struct pkt *p);

const char *mem_type_name(enum mem_type t);
/* Everything node n holds now, by type. */
void node_memory(const struct node *n, struct mem_use m[MEM__COUNT]);
/* The table `show NODE memory` prints. */
void node_memory_print(const struct node *n, FILE *f);

#endif
