/* Neighbor discovery (RFC 4861 4.3, 4.4, 7): see nd.h. */
#include "nd.h"

#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "ether.h"
#include "icmp6.h"
#include "iface.h"
#include "ip6.h"
#include "mem.h"
#include "node.h"
#include "route.h"
#include "util.h"

#define MS                (NS_PER_SEC / 1000)
#define ND_MSG_LEN        24 /* type, code, checksum, flags/reserved, target */
#define ND_OPT_SOURCE_LLA 1
#define ND_OPT_TARGET_LLA 2
#define ND_NA_ROUTER      0x80
#define ND_NA_SOLICITED   0x40
#define ND_NA_OVERRIDE    0x20

const char *nd_state_name(enum nd_state s)
{
	static const char *const names[] = {"incomplete", "reachable", "stale", "delay", "probe"};
	return names[s];
}

static struct nd_entry *nd_find(struct iface *ifp, const struct ipaddr *ip)
{
	return ip->af == ADDR_V6 ? hmap_get(&ifp->nd_by_ip, ip->a, 16) : NULL;
}

const struct nd_entry *nd_lookup(struct iface *ifp, const struct ipaddr *ip)
{
	return nd_find(ifp, ip);
}

/* A new entry at the end of the cache; NULL (counted) when it is full. */
static struct nd_entry *nd_new(struct iface *ifp, const struct ipaddr *ip)
{
	if (ifp->nnd >= ND_MAXENTRIES) {
		node_count(ifp->node, STAT_ND6_TABLEFULL);
		return NULL;
	}
	struct nd_entry *e = xcalloc(1, sizeof(*e));
	e->ip = *ip;
	e->prev = ifp->nd_tail;
	if (ifp->nd_tail)
		ifp->nd_tail->next = e;
	else
		ifp->nd = e;
	ifp->nd_tail = e;
	hmap_add(&ifp->nd_by_ip, e->ip.a, 16, e);
	ifp->nnd++;
	return e;
}

static void nd_remove(struct iface *ifp, struct nd_entry *e)
{
	hmap_del(&ifp->nd_by_ip, e->ip.a, 16);
	if (e->prev)
		e->prev->next = e->next;
	else
		ifp->nd = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		ifp->nd_tail = e->prev;
	ifp->nnd--;
	struct pkt *p;
	while ((p = pktq_pop(&e->hold)))
		pkt_free(p);
	free(e);
}

void nd_free_all(struct iface *ifp)
{
	while (ifp->nd)
		nd_remove(ifp, ifp->nd);
	hmap_free(&ifp->nd_by_ip);
}

/* A solicitation for target: to its solicited-node group while resolving,
 * to the neighbor itself when probing (RFC 4861 7.2.2). */
static void nd_solicit(struct iface *ifp, const struct ipaddr *target, const struct nd_entry *e)
{
	struct node *n = ifp->node;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, ND_MSG_LEN + 8);
	memset(p->data, 0, ND_MSG_LEN + 8);
	p->data[0] = ND_NEIGHBOR_SOLICIT;
	memcpy(p->data + 8, target->a, 16);
	p->data[ND_MSG_LEN] = ND_OPT_SOURCE_LLA;
	p->data[ND_MSG_LEN + 1] = 1; /* 8 octets */
	memcpy(p->data + ND_MSG_LEN + 2, ifp->mac, 6);
	struct ipaddr dst = e && e->state == ND_PROBE ? *target : ip6_solicited_node(target);
	/* RFC 4861 7.2.2: from the source of the packet that prompted it when
	 * that is ours on this interface, else from the interface (its
	 * link-local address first) */
	struct ipaddr src, *from = NULL;
	if (e && e->hold.head && e->hold.head->len >= IP6_HDR_LEN) {
		src.af = ADDR_V6;
		memcpy(src.a, e->hold.head->data + 8, 16);
		if (node_owns_addr(n, &src) == ifp)
			from = &src;
	}
	node_count(n, STAT_ND6_SOLICITS);
	char a[ADDR_STRLEN];
	node_trace(n, "nd: who has %s? (%s)", addr_fmt(target, a), ifp->name);
	/* a probe goes to the address the entry has (nd_output sends it
	 * there without changing the entry's state) */
	icmp6_send(n, p, from, &dst, 255, ifp);
}

/* Send what waited for the address. */
static void nd_flush(struct iface *ifp, struct nd_entry *e)
{
	struct pkt *p;
	while ((p = pktq_pop(&e->hold)))
		ether_output(ifp, p, e->mac, ETHERTYPE_IPV6);
}

void nd_output(struct iface *ifp, struct pkt *p, const struct ipaddr *nexthop)
{
	struct node *n = ifp->node;
	uint64_t now = n->sim->now;
	struct nd_entry *e = nd_find(ifp, nexthop);
	if (e && e->state != ND_INCOMPLETE) {
		if (e->state == ND_REACHABLE && now >= e->expire)
			e->state = ND_STALE; /* RFC 4861 7.3.3: checked when used */
		if (e->state == ND_STALE) {
			e->state = ND_DELAY;
			e->expire = now + ND_DELAY_FIRST_PROBE_S * NS_PER_SEC;
			node_timer_arm(n, e->expire);
		}
		ether_output(ifp, p, e->mac, ETHERTYPE_IPV6);
		return;
	}
	if (!e) {
		e = nd_new(ifp, nexthop);
		if (!e) {
			node_drop(n, p, STAT_ND6_DROPPED);
			return;
		}
		e->state = ND_INCOMPLETE;
		e->probes = 1;
		e->expire = now + ND_RETRANS_TIMER_MS * MS;
		node_timer_arm(n, e->expire);
		pktq_push(&e->hold, p);
		nd_solicit(ifp, nexthop, e);
		return;
	}
	if (e->hold.len >= ND_MAXHOLD) /* the oldest makes room */
		node_drop(n, pktq_pop(&e->hold), STAT_ND6_DROPPED);
	pktq_push(&e->hold, p);
}

/* An advertisement for target, to dst (RFC 4861 7.2.4). */
static void nd_advertise(struct iface *ifp, const struct ipaddr *target, const struct ipaddr *dst,
			 uint8_t flags)
{
	struct node *n = ifp->node;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, ND_MSG_LEN + 8);
	memset(p->data, 0, ND_MSG_LEN + 8);
	p->data[0] = ND_NEIGHBOR_ADVERT;
	p->data[4] = flags;
	memcpy(p->data + 8, target->a, 16);
	p->data[ND_MSG_LEN] = ND_OPT_TARGET_LLA;
	p->data[ND_MSG_LEN + 1] = 1;
	memcpy(p->data + ND_MSG_LEN + 2, ifp->mac, 6);
	node_count(n, STAT_ND6_ADVERTS);
	icmp6_send(n, p, target, dst, 255, ifp);
}

/* The link-layer address option of the wanted type, if well formed.
 * Returns 1 with mac, 0 when absent, -1 when the options are malformed. */
static int nd_lla(const uint8_t *opt, size_t len, uint8_t want, uint8_t mac[6])
{
	int found = 0;
	while (len > 0) {
		if (len < 2 || opt[1] == 0 || (size_t)opt[1] * 8 > len)
			return -1; /* RFC 4861 4.6: a zero length is invalid */
		if (opt[0] == want && opt[1] == 1) {
			memcpy(mac, opt + 2, 6);
			found = 1;
		}
		len -= (size_t)opt[1] * 8;
		opt += (size_t)opt[1] * 8;
	}
	return found;
}

/* Learn or refresh a neighbor from a solicitation's source address option
 * (RFC 4861 7.2.3): a new or changed entry is stale. */
static void nd_learn(struct iface *ifp, const struct ipaddr *ip, const uint8_t mac[6])
{
	struct nd_entry *e = nd_find(ifp, ip);
	if (!e) {
		e = nd_new(ifp, ip);
		if (!e)
			return; /* the cache is full */
	} else if (e->state != ND_INCOMPLETE && !memcmp(e->mac, mac, 6)) {
		return;
	}
	bool was_incomplete = e->state == ND_INCOMPLETE && e->hold.len;
	memcpy(e->mac, mac, 6);
	e->state = ND_STALE;
	e->probes = 0;
	if (was_incomplete)
		nd_flush(ifp, e);
}

void nd_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off)
{
	struct iface *ifp = p->rcvif;
	const uint8_t *m = p->data + off;
	size_t len = p->len - off;
	bool ns = m[0] == ND_NEIGHBOR_SOLICIT;
	enum stat_id bad = ns ? STAT_ICMP6_BADNS : STAT_ICMP6_BADNA;
	/* RFC 4861 7.1.1, 7.1.2: hop limit 255 (from the link), code 0,
	 * at least 24 bytes, a target that is not multicast. */
	struct ipaddr target = {.af = ADDR_V6};
	if (len >= ND_MSG_LEN)
		memcpy(target.a, m + 8, 16);
	uint8_t mac[6];
	int lla = len >= ND_MSG_LEN ? nd_lla(m + ND_MSG_LEN, len - ND_MSG_LEN,
					     ns ? ND_OPT_SOURCE_LLA : ND_OPT_TARGET_LLA, mac)
				    : -1;
	if (!ifp || len < ND_MSG_LEN || h->hlim != 255 || m[1] != 0 || lla < 0 ||
	    addr_is_multicast(&target)) {
		node_drop(n, p, bad);
		return;
	}
	char a[ADDR_STRLEN];
	if (ns) {
		bool dad = addr_is_unspec(&h->src);
		/* from the unspecified address: only to a solicited-node group,
		 * and without a source address option */
		if (dad && (lla || !addr_is_multicast(&h->dst))) {
			node_drop(n, p, bad);
			return;
		}
		struct iface *owner = node_owns_addr(n, &target);
		if (owner != ifp) {
			pkt_free(p); /* not ours: nothing to say */
			return;
		}
		if (!dad && lla)
			nd_learn(ifp, &h->src, mac);
		node_trace(n, "nd: %s is at %02x:%02x:%02x:%02x:%02x:%02x (%s)",
			   addr_fmt(&target, a), ifp->mac[0], ifp->mac[1], ifp->mac[2], ifp->mac[3],
			   ifp->mac[4], ifp->mac[5], ifp->name);
		struct ipaddr to = dad ? ip6_allnodes : h->src;
		pkt_free(p);
		nd_advertise(ifp, &target, &to,
			     (uint8_t)(ND_NA_OVERRIDE | (dad ? 0 : ND_NA_SOLICITED)));
		return;
	}
	/* an advertisement */
	uint8_t flags = m[4];
	if ((flags & ND_NA_SOLICITED) && addr_is_multicast(&h->dst)) {
		node_drop(n, p, bad);
		return;
	}
	struct nd_entry *e = nd_find(ifp, &target);
	pkt_free(p);
	if (!e)
		return; /* RFC 4861 7.2.5: nobody asked */
	uint64_t now = n->sim->now;
	bool solicited = flags & ND_NA_SOLICITED, override = flags & ND_NA_OVERRIDE;
	if (e->state == ND_INCOMPLETE) {
		if (!lla)
			return;
		memcpy(e->mac, mac, 6);
		e->state = solicited ? ND_REACHABLE : ND_STALE;
		e->expire = now + ND_REACHABLE_TIME_MS * MS;
		e->probes = 0;
		node_trace(n, "nd: %s is at %02x:%02x:%02x:%02x:%02x:%02x", addr_fmt(&target, a),
			   mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		nd_flush(ifp, e);
		return;
	}
	bool changed = lla && memcmp(e->mac, mac, 6) != 0;
	if (changed && !override) {
		if (e->state == ND_REACHABLE)
			e->state = ND_STALE; /* keep the old address, but doubt it */
		return;
	}
	if (changed)
		memcpy(e->mac, mac, 6);
	if (solicited) {
		e->state = ND_REACHABLE;
		e->expire = now + ND_REACHABLE_TIME_MS * MS;
		e->probes = 0;
	} else if (changed) {
		e->state = ND_STALE;
	}
}

/* The neighbor never answered: drop what waited, telling the senders of
 * forwarded packets (RFC 4861 7.2.2, RFC 4443 3.1 code 3). */
static void nd_give_up(struct iface *ifp, struct nd_entry *e)
{
	struct node *n = ifp->node;
	char a[ADDR_STRLEN];
	node_trace(n, "nd: %s does not answer (%s)", addr_fmt(&e->ip, a), ifp->name);
	struct pkt *p;
	while ((p = pktq_pop(&e->hold))) {
		if (p->flags & PKT_FORWARDED)
			icmp6_error(n, p, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR, 0);
		node_drop(n, p, STAT_ND6_TIMEOUT);
	}
	nd_remove(ifp, e);
}

static uint64_t nd_routers_timer(struct node *n);

uint64_t nd_timer(struct node *n)
{
	uint64_t now = n->sim->now, next = nd_routers_timer(n);
	for (unsigned i = 0; i < n->nifaces; i++) {
		struct iface *ifp = n->ifaces[i];
		for (struct nd_entry *e = ifp->nd, *nx; e; e = nx) {
			nx = e->next;
			bool timed = e->state == ND_INCOMPLETE || e->state == ND_DELAY ||
				     e->state == ND_PROBE;
			if (timed && e->expire <= now) {
				unsigned max = e->state == ND_INCOMPLETE ? ND_MAX_MULTICAST_SOLICIT
									 : ND_MAX_UNICAST_SOLICIT;
				if (e->state == ND_DELAY) {
					e->state = ND_PROBE;
					e->probes = 0;
				}
				if (e->probes >= max) {
					nd_give_up(ifp, e);
					continue;
				}
				e->probes++;
				e->expire = now + ND_RETRANS_TIMER_MS * MS;
				nd_solicit(ifp, &e->ip, e);
			}
			if (timed && e->expire < next)
				next = e->expire;
		}
	}
	return next;
}

/* ---- router advertisements (RFC 4861 4.2, 6.2.3, 6.3.4) ---- */

#define ND_RA_LEN 16 /* type .. retransmission timer */

struct nd_router {
	struct ipaddr addr; /* its link-local address */
	struct iface *ifp;
	uint64_t expire;
};

void nd_router_advertise(struct iface *ifp, uint16_t lifetime_s)
{
	struct node *n = ifp->node;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, ND_RA_LEN + 8);
	memset(p->data, 0, ND_RA_LEN + 8);
	p->data[0] = ND_ROUTER_ADVERT;
	p->data[4] = (uint8_t)n->sysctl[SYSCTL_IP6_HLIM]; /* cur hop limit */
	put_be16(p->data + 6, lifetime_s);
	p->data[ND_RA_LEN] = ND_OPT_SOURCE_LLA;
	p->data[ND_RA_LEN + 1] = 1;
	memcpy(p->data + ND_RA_LEN + 2, ifp->mac, 6);
	struct ipaddr ll = iface_linklocal6(ifp);
	if (!node_owns_addr(n, &ll)) {
		node_drop(n, p, STAT_IP6_ODROPPED); /* no IPv6 on this interface */
		return;
	}
	char a[ADDR_STRLEN];
	node_trace(n, "nd: router advertisement on %s from %s, lifetime %u s", ifp->name,
		   addr_fmt(&ll, a), lifetime_s);
	icmp6_send(n, p, &ll, &ip6_allnodes, 255, ifp);
}

static struct nd_router *router_find(struct node *n, const struct ipaddr *a,
				     const struct iface *ifp)
{
	for (unsigned i = 0; i < n->nrouters; i++)
		if (n->routers[i].ifp == ifp && addr_eq(&n->routers[i].addr, a))
			return &n->routers[i];
	return NULL;
}

static const struct ipaddr any6 = {.af = ADDR_V6};

/* Forget a router, and the default route through it. */
static void router_forget(struct node *n, struct nd_router *r)
{
	char a[ADDR_STRLEN];
	node_trace(n, "nd: default router %s gone", addr_fmt(&r->addr, a));
	bool was_default = route_del(&n->rt, &any6, 0, &r->addr) == 0;
	size_t i = (size_t)(r - n->routers);
	memmove(&n->routers[i], &n->routers[i + 1], (n->nrouters - i - 1) * sizeof(*n->routers));
	n->nrouters--;
	if (was_default && n->nrouters) { /* the next router takes over */
		struct route rt = {.dst = any6, .gw = n->routers[0].addr, .ifp = n->routers[0].ifp};
		route_add(&n->rt, &rt);
	}
}

void nd_ra_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off)
{
	struct iface *ifp = p->rcvif;
	const uint8_t *m = p->data + off;
	size_t len = p->len - off;
	uint8_t mac[6];
	/* RFC 4861 6.1.2: from a link-local address on the link, code 0,
	 * 16 bytes and well-formed options */
	int lla =
	    len >= ND_RA_LEN ? nd_lla(m + ND_RA_LEN, len - ND_RA_LEN, ND_OPT_SOURCE_LLA, mac) : -1;
	if (!ifp || len < ND_RA_LEN || h->hlim != 255 || m[1] != 0 || !ip6_is_linklocal(&h->src) ||
	    lla < 0) {
		node_drop(n, p, STAT_ICMP6_BADRA);
		return;
	}
	uint16_t lifetime = get_be16(m + 6);
	pkt_free(p);
	if (n->sysctl[SYSCTL_IP6_FORWARDING])
		return; /* routers do not take advice from each other */
	if (lla == 1)
		nd_learn(ifp, &h->src, mac);
	struct nd_router *r = router_find(n, &h->src, ifp);
	char a[ADDR_STRLEN];
	if (lifetime == 0) {
		if (r)
			router_forget(n, r);
		return;
	}
	uint64_t expire = n->sim->now + (uint64_t)lifetime * NS_PER_SEC;
	if (r) {
		r->expire = expire;
		node_timer_arm(n, expire);
		return;
	}
	if (n->nrouters >= ND_MAX_ROUTERS) {
		/* RFC 4861 6.3.4 lets a host bound its default router list; the
		 * routers it has keep their places */
		node_count(n, STAT_ND6_ROUTERSFULL);
		return;
	}
	n->routers = xgrow(n->routers, n->nrouters, sizeof(*n->routers));
	n->routers[n->nrouters++] = (struct nd_router){h->src, ifp, expire};
	node_timer_arm(n, expire);
	/* The first router is the default (the default router list of RFC
	 * 4861 6.3.6, without its round robin); a static default stays. */
	struct route rt = {.dst = any6, .plen = 0, .gw = h->src, .ifp = ifp};
	if (route_add(&n->rt, &rt) == 0)
		node_trace(n, "nd: default router %s on %s for %u s", addr_fmt(&h->src, a),
			   ifp->name, lifetime);
}

void nd_routers_free(struct node *n)
{
	free(n->routers);
	n->routers = NULL;
	n->nrouters = 0;
}

/* Routers whose lifetime ran out; the next deadline. */
static uint64_t nd_routers_timer(struct node *n)
{
	uint64_t now = n->sim->now, next = UINT64_MAX;
	for (unsigned i = 0; i < n->nrouters;) {
		if (n->routers[i].expire <= now) {
			router_forget(n, &n->routers[i]);
			continue;
		}
		next = MIN(next, n->routers[i].expire);
		i++;
	}
	return next;
}

void nd_memory(const struct node *n, struct mem_use *u)
{
	for (unsigned i = 0; i < n->nifaces; i++)
		for (const struct nd_entry *e = n->ifaces[i]->nd; e; e = e->next) {
			mem_add(u, 1, sizeof(*e));
			for (const struct pkt *p = e->hold.head; p; p = p->next)
				u->bytes += mem_pkt(p);
		}
	mem_add(u, n->nrouters, n->nrouters * sizeof(struct nd_router));
}
