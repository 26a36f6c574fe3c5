/* show NODE memory (mem.h): each subsystem counts what it holds. */
#include "mem.h"

#include <string.h>

#include "../ipsec/pfkey.h"
#include "../pf/pf.h"
#include "arp.h"
#include "bridge.h"
#include "icmp.h"
#include "iface.h"
#include "ip4.h"
#include "ip6.h"
#include "nd.h"
#include "node.h"
#include "pkt.h"
#include "raw.h"
#include "tcp.h"
#include "udp.h"

static const char *const names[MEM__COUNT] = {
#define MEM_NAME(id, name, what) [MEM_##id] = name,
    MEM_TYPES(MEM_NAME)
#undef MEM_NAME
};

const char *mem_type_name(enum mem_type t)
{
	return names[t];
}

uint64_t mem_pkt(const struct pkt *p)
{
	return sizeof(*p) + p->cap;
}

void node_memory(const struct node *n, struct mem_use m[MEM__COUNT])
{
	memset(m, 0, MEM__COUNT * sizeof(*m));
	mem_add(&m[MEM_NODE], 1,
		sizeof(*n) + strlen(n->name) + 1 + n->nifaces * sizeof(*n->ifaces) +
		    (n->nenccaps + n->npflogs) * sizeof(void *) + node_addrs_memory(n));
	for (unsigned i = 0; i < n->nifaces; i++) {
		iface_memory(n->ifaces[i], &m[MEM_IFACE]);
		arp_memory(n->ifaces[i], &m[MEM_ARP]);
	}
	mem_add(&m[MEM_ROUTE], n->rt.n, route_memory(&n->rt));
	nd_memory(n, &m[MEM_ND]);
	ip4_reass_memory(n, &m[MEM_REASS]);
	ip6_reass_memory(n, &m[MEM_REASS]);
	ip6_pmtu_memory(n, &m[MEM_PMTU]);
	udp_memory(n, &m[MEM_SOCKET]);
	raw_memory(n, &m[MEM_SOCKET]);
	icmp_echo_memory(n, &m[MEM_SOCKET]);
	tcp_memory(n, &m[MEM_TCPCB]);
	ipsec_memory(n->ipsec, &m[MEM_TDB], &m[MEM_XFORM], &m[MEM_FLOW], &m[MEM_PFKEY]);
	pf_memory(n, &m[MEM_PF]);
	bridge_memory(n, &m[MEM_BRIDGE]);
}

void node_memory_print(const struct node *n, FILE *f)
{
	struct mem_use m[MEM__COUNT];
	node_memory(n, m);
	uint64_t total = 0;
	fprintf(f, "%-8s %9s %12s\n", "Type", "InUse", "Bytes");
	for (int t = 0; t < MEM__COUNT; t++) {
		fprintf(f, "%-8s %9llu %12llu\n", names[t], (unsigned long long)m[t].inuse,
			(unsigned long long)m[t].bytes);
		total += m[t].bytes;
	}
	fprintf(f, "%-8s %9s %12llu\n", "total", "", (unsigned long long)total);
}
