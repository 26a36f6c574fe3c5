#include "arp.h"

#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "ether.h"
#include "icmp.h"
#include "iface.h"
#include "mem.h"
#include "node.h"
#include "util.h"

int arp_parse(const uint8_t *b, size_t len, struct arp_msg *m)
{
	if (len < 8)
		return -1;
	m->htype = get_be16(b);
	m->ptype = get_be16(b + 2);
	m->hlen = b[4];
	m->plen = b[5];
	m->op = get_be16(b + 6);
	if (m->htype != 1 || m->ptype != ETHERTYPE_IP || m->hlen != 6 || m->plen != 4)
		return -2;
	if (len < ARP_HDR_LEN)
		return -1;
	memcpy(m->sha, b + 8, 6);
	memcpy(m->spa, b + 14, 4);
	memcpy(m->tha, b + 18, 6);
	memcpy(m->tpa, b + 24, 4);
	return 0;
}

void arp_emit(uint8_t *b, const struct arp_msg *m)
{
	put_be16(b, m->htype);
	put_be16(b + 2, m->ptype);
	b[4] = m->hlen;
	b[5] = m->plen;
	put_be16(b + 6, m->op);
	memcpy(b + 8, m->sha, 6);
	memcpy(b + 14, m->spa, 4);
	memcpy(b + 18, m->tha, 6);
	memcpy(b + 24, m->tpa, 4);
}

static struct arp_entry *arp_find(struct iface *ifp, const struct ipaddr *ip)
{
	return ip->af == ADDR_V4 ? hmap_get(&ifp->arp_by_ip, ip->a, 4) : NULL;
}

/* A resolved entry past its lifetime is as good as absent.  Expiry is lazy
 * (checked when the entry is used) so that an idle network holds no timer
 * and a run without `end` stops when its traffic does. */
static bool arp_stale(const struct iface *ifp, const struct arp_entry *e)
{
	return e->state == ARP_RESOLVED && ifp->node->sim->now >= e->expire;
}

const struct arp_entry *arp_lookup(struct iface *ifp, const struct ipaddr *ip)
{
	const struct arp_entry *e = arp_find(ifp, ip);
	return e && !arp_stale(ifp, e) ? e : NULL;
}

/* A new entry at the end of the cache; NULL (counted) when it is full. */
static struct arp_entry *arp_create(struct iface *ifp, const struct ipaddr *ip)
{
	if (ifp->narp >= ARP_MAXENTRIES) {
		node_count(ifp->node, STAT_ARP_TABLEFULL);
		return NULL;
	}
	struct arp_entry *e = xcalloc(1, sizeof(*e));
	e->ip = *ip;
	e->prev = ifp->arp_tail;
	if (ifp->arp_tail)
		ifp->arp_tail->next = e;
	else
		ifp->arp = e;
	ifp->arp_tail = e;
	hmap_add(&ifp->arp_by_ip, e->ip.a, 4, e);
	ifp->narp++;
	return e;
}

static void arp_remove(struct iface *ifp, struct arp_entry *e)
{
	hmap_del(&ifp->arp_by_ip, e->ip.a, 4);
	if (e->prev)
		e->prev->next = e->next;
	else
		ifp->arp = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		ifp->arp_tail = e->prev;
	ifp->narp--;
	pktq_purge(&e->hold);
	free(e);
}

void arp_free_all(struct iface *ifp)
{
	while (ifp->arp)
		arp_remove(ifp, ifp->arp);
	hmap_free(&ifp->arp_by_ip);
}

/* Our address to speak for towards tpa: the one asked for in a reply; in
 * a request, the interface's address on tpa's network, else its first. */
static const struct ipaddr *arp_our_addr(const struct iface *ifp, const uint8_t *tpa)
{
	struct ipaddr t = addr_v4(tpa);
	const struct ipaddr *first = NULL;
	for (unsigned i = 0; i < ifp->naddrs; i++) {
		const struct ifaddr *ia = &ifp->addrs[i];
		if (ia->addr.af != ADDR_V4)
			continue;
		if (!first)
			first = &ia->addr;
		if (addr_in_prefix(&t, &ia->addr, ia->plen))
			return &ia->addr;
	}
	return first;
}

static void arp_send(struct iface *ifp, uint16_t op, const uint8_t *tha, const uint8_t *tpa,
		     const uint8_t *dstmac, const struct ipaddr *spa)
{
	struct arp_msg m = {.htype = 1, .ptype = ETHERTYPE_IP, .hlen = 6, .plen = 4, .op = op};
	struct pkt *p = pkt_alloc(PKT_HEADROOM, ARP_HDR_LEN);

	memcpy(m.sha, ifp->mac, 6);
	if (spa)
		memcpy(m.spa, spa->a, 4);
	memcpy(m.tha, tha, 6);
	memcpy(m.tpa, tpa, 4);
	arp_emit(p->data, &m);
	node_count(ifp->node, op == ARPOP_REQUEST ? STAT_ARP_TXREQUESTS : STAT_ARP_TXREPLIES);
	ether_output(ifp, p, dstmac, ETHERTYPE_ARP);
}

static void arp_request(struct iface *ifp, struct arp_entry *e)
{
	static const uint8_t zero[6];
	struct node *n = ifp->node;
	e->tries++;
	e->expire = n->sim->now + NS_PER_SEC;
	arp_send(ifp, ARPOP_REQUEST, zero, e->ip.a, ether_bcast, arp_our_addr(ifp, e->ip.a));
	node_timer_arm(n, e->expire);
}

static void arp_resolved(struct iface *ifp, struct arp_entry *e, const uint8_t *mac)
{
	struct node *n = ifp->node;
	memcpy(e->mac, mac, 6);
	e->state = ARP_RESOLVED;
	e->tries = 0;
	e->expire = n->sim->now + (uint64_t)n->sysctl[SYSCTL_IP_ARPTIMEOUT] * NS_PER_SEC;
	struct pkt *p;
	while ((p = pktq_pop(&e->hold)))
		ether_output(ifp, p, e->mac, ETHERTYPE_IP);
}

void arp_input(struct iface *ifp, struct pkt *p)
{
	struct node *n = ifp->node;
	struct arp_msg m;

	node_count(n, STAT_ARP_RECEIVED);
	int r = arp_parse(p->data, p->len, &m);
	if (r == -1) {
		node_drop(n, p, STAT_ARP_BADLEN);
		return;
	}
	if (r < 0) {
		node_drop(n, p, STAT_ARP_BADPROTO);
		return;
	}
	if (m.op == ARPOP_REQUEST)
		node_count(n, STAT_ARP_RXREQUESTS);
	else if (m.op == ARPOP_REPLY)
		node_count(n, STAT_ARP_RXREPLIES);

	struct ipaddr spa = addr_v4(m.spa), tpa = addr_v4(m.tpa);
	if (node_owns_addr(n, &spa)) {
		/* Somebody else claims one of our addresses. */
		node_drop(n, p, STAT_ARP_DUPIP);
		return;
	}
	/* RFC 826 "merge": refresh the sender if we know it, learn it if the
	 * message is for us. */
	struct arp_entry *e = arp_find(ifp, &spa);
	bool for_us = false;
	for (unsigned i = 0; i < ifp->naddrs; i++)
		if (addr_eq(&ifp->addrs[i].addr, &tpa))
			for_us = true;
	if (!addr_is_unspec(&spa)) {
		if (!e && for_us)
			e = arp_create(ifp, &spa); /* NULL when the cache is full */
		if (e)
			arp_resolved(ifp, e, m.sha);
	}
	if (for_us && m.op == ARPOP_REQUEST) /* for the address asked, alias or not */
		arp_send(ifp, ARPOP_REPLY, m.sha, m.spa, m.sha, &tpa);
	pkt_free(p);
}

void arp_output(struct iface *ifp, struct pkt *p, const struct ipaddr *nexthop)
{
	struct node *n = ifp->node;

	if (iface_is_bcast(ifp, nexthop) || addr_is_multicast(nexthop)) {
		ether_output(ifp, p, ether_bcast, ETHERTYPE_IP);
		return;
	}
	struct arp_entry *e = arp_find(ifp, nexthop);
	if (e && arp_stale(ifp, e)) {
		node_trace(n, "arp expire %s", ifp->name);
		arp_remove(ifp, e);
		e = NULL;
	}
	if (e && e->state == ARP_RESOLVED) {
		ether_output(ifp, p, e->mac, ETHERTYPE_IP);
		return;
	}
	if (!e) {
		e = arp_create(ifp, nexthop);
		if (!e) {
			node_drop(n, p, STAT_ARP_DROPPED);
			return;
		}
		pktq_push(&e->hold, p);
		arp_request(ifp, e);
		return;
	}
	if (e->hold.len >= ARP_MAXHOLD) {
		node_drop(n, p, STAT_ARP_DROPPED);
		return;
	}
	pktq_push(&e->hold, p);
}

/* Give up on an unresolved next hop: drop what waited for it. */
static void arp_give_up(struct iface *ifp, struct arp_entry *e)
{
	struct node *n = ifp->node;
	struct pkt *p;
	while ((p = pktq_pop(&e->hold))) {
		/* RFC 1812 5.2.7.1: tell the source of a forwarded packet. */
		if (p->flags & PKT_FORWARDED)
			icmp_error(n, p, ICMP_UNREACH, ICMP_UNREACH_HOST, 0);
		node_drop(n, p, STAT_ARP_TIMEOUT);
	}
	arp_remove(ifp, e);
}

uint64_t arp_timer(struct node *n)
{
	uint64_t now = n->sim->now, next = UINT64_MAX;
	for (unsigned i = 0; i < n->nifaces; i++) {
		struct iface *ifp = n->ifaces[i];
		struct arp_entry *e = ifp->arp, *nx;
		for (; e; e = nx) {
			nx = e->next;
			if (e->state == ARP_RESOLVED)
				continue; /* expires lazily, see arp_stale */
			if (e->expire > now) {
				next = MIN(next, e->expire);
				continue;
			}
			if (e->tries >= ARP_MAXTRIES) {
				arp_give_up(ifp, e);
			} else {
				arp_request(ifp, e);
				next = MIN(next, e->expire);
			}
		}
	}
	return next;
}

void arp_memory(const struct iface *ifp, struct mem_use *u)
{
	for (const struct arp_entry *e = ifp->arp; e; e = e->next) {
		mem_add(u, 1, sizeof(*e));
		for (const struct pkt *p = e->hold.head; p; p = p->next)
			u->bytes += mem_pkt(p);
	}
}
