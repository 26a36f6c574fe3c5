#include "iface.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/capture.h"
#include "../sim/link.h"
#include "../sim/sim.h"
#include "arp.h"
#include "ether.h"
#include "mem.h"
#include "nd.h"
#include "node.h"
#include "util.h"

struct iface *iface_new(struct node *n, const char *name)
{
	struct iface *ifp = xcalloc(1, sizeof(*ifp));
	char key[128];

	ifp->node = n;
	snprintf(ifp->name, sizeof(ifp->name), "%s", name);
	ifp->mtu = 1500;
	/* A locally administered unicast MAC from a hash of node and interface
	 * names: stable when other nodes are added to the scenario.  On the rare
	 * collision with an existing interface, hash again with a counter. */
	for (unsigned attempt = 0;; attempt++) {
		if (attempt == 0)
			snprintf(key, sizeof(key), "%s.%s", n->name, name);
		else
			snprintf(key, sizeof(key), "%s.%s#%u", n->name, name, attempt);
		uint64_t h = hash64(key);
		ifp->mac[0] = 0x02;
		for (int i = 1; i < 6; i++)
			ifp->mac[i] = (uint8_t)(h >> (8 * (i - 1)));
		if (hmap_add(&n->sim->macs, ifp->mac, sizeof(ifp->mac), ifp))
			break; /* not in use */
	}
	n->ifaces = xgrow(n->ifaces, n->nifaces, sizeof(*n->ifaces));
	n->ifaces[n->nifaces++] = ifp;
	hmap_add_str(&n->iface_names, ifp->name, ifp); /* a second of a name: the first stays */
	return ifp;
}

void iface_free(struct iface *ifp)
{
	arp_free_all(ifp);
	nd_free_all(ifp);
	free(ifp->caps);
	free(ifp->addrs);
	free(ifp);
}

static bool is_linklocal6(const struct ipaddr *a)
{
	return a->af == ADDR_V6 && a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80;
}

struct ipaddr iface_linklocal6(const struct iface *ifp)
{
	/* RFC 4291 2.5.1 and appendix A: fe80::/64 and the modified EUI-64
	 * of the MAC (universal/local bit inverted, ff:fe in the middle) */
	struct ipaddr ll = {.af = ADDR_V6, .a = {0xfe, 0x80}};
	ll.a[8] = ifp->mac[0] ^ 0x02;
	ll.a[9] = ifp->mac[1];
	ll.a[10] = ifp->mac[2];
	ll.a[11] = 0xff;
	ll.a[12] = 0xfe;
	ll.a[13] = ifp->mac[3];
	ll.a[14] = ifp->mac[4];
	ll.a[15] = ifp->mac[5];
	return ll;
}

int iface_add_addr(struct iface *ifp, const struct ipaddr *a, unsigned plen)
{
	bool have_ll = false;
	for (unsigned i = 0; i < ifp->naddrs; i++) {
		if (addr_eq(&ifp->addrs[i].addr, a))
			return -1;
		have_ll |= is_linklocal6(&ifp->addrs[i].addr);
	}
	/* IPv6 on an interface starts with its link-local address (RFC 4862
	 * 5.3), before any other */
	bool add_ll = a->af == ADDR_V6 && !is_linklocal6(a) && !have_ll;
	unsigned need = ifp->naddrs + 1 + add_ll;
	if (need > IFACE_MAX_ADDRS)
		return -1;
	if (need > ifp->addrs_cap) {
		ifp->addrs_cap = ifp->addrs_cap ? ifp->addrs_cap * 2 : 4;
		ifp->addrs = xrealloc(ifp->addrs, ifp->addrs_cap * sizeof(*ifp->addrs));
	}
	if (add_ll) {
		ifp->addrs[ifp->naddrs++] = (struct ifaddr){iface_linklocal6(ifp), 64};
		node_addr_added(ifp->node, ifp, &ifp->addrs[ifp->naddrs - 1].addr);
	}
	ifp->addrs[ifp->naddrs++] = (struct ifaddr){*a, plen};
	node_addr_added(ifp->node, ifp, a);
	/* Link-local prefixes are the same on every link: such a destination
	 * needs its interface named, never a route. */
	if (is_linklocal6(a))
		return 0;
	struct route r = {.dst = *a, .plen = plen, .ifp = ifp};
	route_add(&ifp->node->rt, &r); /* a second address on the net adds nothing */
	return 0;
}

const struct ifaddr *iface_addr(const struct iface *ifp, uint8_t af)
{
	for (unsigned i = 0; i < ifp->naddrs; i++)
		if (ifp->addrs[i].addr.af == af)
			return &ifp->addrs[i];
	return NULL;
}

const struct ifaddr *iface_addr_toward(const struct iface *ifp, const struct ipaddr *to)
{
	const struct ifaddr *first = NULL;
	for (unsigned i = 0; i < ifp->naddrs; i++) {
		const struct ifaddr *ia = &ifp->addrs[i];
		if (ia->addr.af != to->af)
			continue;
		if (addr_in_prefix(to, &ia->addr, ia->plen))
			return ia;
		if (!first)
			first = ia;
	}
	return first;
}

int iface_is_bcast(const struct iface *ifp, const struct ipaddr *a)
{
	if (a->af != ADDR_V4)
		return 0;
	if (addr_is_v4_limited_bcast(a))
		return 1;
	for (unsigned i = 0; i < ifp->naddrs; i++) {
		const struct ifaddr *ia = &ifp->addrs[i];
		if (ia->addr.af != ADDR_V4 || ia->plen >= 31)
			continue;
		struct ipaddr b = addr_v4_broadcast(&ia->addr, ia->plen);
		if (addr_eq(&b, a))
			return 1;
	}
	return 0;
}

void iface_receive(struct iface *ifp, struct pkt *frame)
{
	struct sim *s = ifp->node->sim;
	for (unsigned i = 0; i < ifp->ncaps; i++)
		capture_write(ifp->caps[i], s->now, frame->data, frame->len);
	if (ifp->tap_out) {
		ifp->tap_out(ifp, frame);
		return;
	}
	frame->rcvif = ifp;
	ether_input(ifp, frame);
}

void iface_transmit(struct iface *ifp, struct pkt *frame)
{
	struct node *n = ifp->node;
	if (!ifp->port) {
		node_drop(n, frame, STAT_ETHER_NOLINK);
		return;
	}
	for (unsigned i = 0; i < ifp->ncaps; i++)
		capture_write(ifp->caps[i], n->sim->now, frame->data, frame->len);
	node_count(n, STAT_ETHER_OPACKETS);
	link_send(ifp->port, frame);
}

void iface_memory(const struct iface *ifp, struct mem_use *u)
{
	mem_add(u, 1,
		sizeof(*ifp) + ifp->addrs_cap * sizeof(*ifp->addrs) +
		    ifp->ncaps * sizeof(*ifp->caps));
}
