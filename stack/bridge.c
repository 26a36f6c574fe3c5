/*
 * bridge(4) and etherip(4): the frame path of if_bridge.c (learn the
 * source, drop what would go back out of its own member, forward to the
 * member the destination was learned on or flood), EtherIP's two-byte
 * header (RFC 3378), and the IPsec hooks of bridge_ipsec (docs/bridge.md).
 */
#include "bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/ipsec_io.h"
#include "../sim/sim.h"
#include "ether.h"
#include "iface.h"
#include "ip4.h"
#include "ip6.h"
#include "mem.h"
#include "node.h"

struct bridge *bridge_find(struct node *n, const char *name)
{
	for (struct bridge *b = n->bridges; b; b = b->next)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

struct bridge *bridge_new(struct node *n, const char *name)
{
	if (bridge_find(n, name) || strlen(name) >= BRIDGE_NAME_MAX)
		return NULL;
	struct bridge *br = xcalloc(1, sizeof(*br));
	br->node = n;
	snprintf(br->name, sizeof(br->name), "%s", name);
	br->rt.max = BRIDGE_RTABLE_MAX;
	br->hosts.max = BRIDGE_HOSTS_MAX;
	br->timeout = (uint64_t)BRIDGE_RTABLE_TIMEOUT * NS_PER_SEC;
	struct bridge **tail = &n->bridges;
	while (*tail)
		tail = &(*tail)->next;
	*tail = br;
	return br;
}

static struct bridge_port *port_new(struct bridge *br)
{
	struct bridge_port *p = xcalloc(1, sizeof(*p));
	p->br = br;
	br->ports = xgrow(br->ports, br->nports, sizeof(*br->ports));
	br->ports[br->nports++] = p;
	return p;
}

int bridge_add_iface(struct bridge *br, struct iface *ifp)
{
	if (ifp->bport)
		return -EBUSY;
	if (ifp->naddrs)
		return -EINVAL;
	struct bridge_port *p = port_new(br);
	p->ifp = ifp;
	snprintf(p->name, sizeof(p->name), "%s", ifp->name);
	ifp->bport = p;
	return 0;
}

int bridge_add_etherip(struct bridge *br, const struct ipaddr *peer)
{
	for (struct bridge *b = br->node->bridges; b; b = b->next)
		for (unsigned i = 0; i < b->nports; i++)
			if (!b->ports[i]->ifp && addr_eq(&b->ports[i]->peer, peer))
				return -EEXIST;
	struct bridge_port *p = port_new(br);
	p->peer = *peer;
	char a[ADDR_STRLEN];
	snprintf(p->name, sizeof(p->name), "etherip:%s", addr_fmt(peer, a));
	return 0;
}

static void entry_unlink(struct bridge_table *t, struct bridge_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void entry_append(struct bridge_table *t, struct bridge_entry *e)
{
	e->prev = t->tail;
	if (t->tail)
		t->tail->next = e;
	else
		t->head = e;
	t->tail = e;
}

static void entry_free(struct bridge_table *t, struct bridge_entry *e)
{
	hmap_del(&t->map, e->key, e->keylen);
	entry_unlink(t, e);
	t->n--;
	free(e);
}

static void table_free(struct bridge_table *t)
{
	while (t->head)
		entry_free(t, t->head);
	hmap_free(&t->map);
}

void bridge_free_all(struct node *n)
{
	while (n->bridges) {
		struct bridge *br = n->bridges;
		n->bridges = br->next;
		table_free(&br->rt);
		table_free(&br->hosts);
		for (unsigned i = 0; i < br->nports; i++) {
			if (br->ports[i]->ifp)
				br->ports[i]->ifp->bport = NULL;
			free(br->ports[i]);
		}
		free(br->ports);
		free(br);
	}
}

/* ---- the tables ---- */

static bool stale(const struct bridge *br, const struct bridge_entry *e)
{
	return br->node->sim->now - e->seen > br->timeout;
}

/* An entry is forgotten once it has gone unused for the timeout: when it
 * is looked up, and from the front of the table (the least recently seen)
 * when something new needs its room. */
static struct bridge_entry *table_get(struct bridge *br, struct bridge_table *t, const uint8_t *key,
				      size_t len)
{
	struct bridge_entry *e = hmap_get(&t->map, key, len);
	if (e && stale(br, e)) {
		entry_free(t, e);
		return NULL;
	}
	return e;
}

static void table_sweep(struct bridge *br, struct bridge_table *t)
{
	while (t->head && stale(br, t->head))
		entry_free(t, t->head);
}

/* The entry for key, seen now (moved to the back); a new one when there
 * is room, else NULL and counted (bridge_rtupdate's full table). */
static struct bridge_entry *table_put(struct bridge *br, struct bridge_table *t, const uint8_t *key,
				      size_t len)
{
	struct bridge_entry *e = table_get(br, t, key, len);
	if (e) {
		entry_unlink(t, e);
	} else {
		if (t->n >= t->max)
			table_sweep(br, t);
		if (t->n >= t->max) {
			node_count(br->node, STAT_BRIDGE_TABLEFULL);
			return NULL;
		}
		e = xcalloc(1, sizeof(*e));
		memcpy(e->key, key, len);
		e->keylen = (uint8_t)len;
		t->n++;
		hmap_add(&t->map, e->key, len, e);
	}
	entry_append(t, e);
	e->seen = br->node->sim->now;
	return e;
}

/* bridge_rtupdate: the source is behind `in` (a host that moved is
 * learned at its new member). */
static void learn(struct bridge *br, const uint8_t *mac, struct bridge_port *in)
{
	struct bridge_entry *e = table_put(br, &br->rt, mac, 6);
	if (e)
		e->port = in;
}

static struct bridge_entry *rt_lookup(struct bridge *br, const uint8_t *mac)
{
	return table_get(br, &br->rt, mac, 6);
}

/* The key of a host: the address bytes, then the family, so that an IPv4
 * address and the IPv6 one with the same first bytes differ. */
static size_t host_key(const struct ipaddr *a, uint8_t key[17])
{
	memset(key, 0, 17);
	memcpy(key, a->a, addr_len(a->af));
	key[16] = a->af;
	return 17;
}

static struct bridge_entry *host_lookup(struct bridge *br, const struct ipaddr *ip)
{
	uint8_t key[17];
	return table_get(br, &br->hosts, key, host_key(ip, key));
}

static void host_learn(struct bridge *br, const struct ipaddr *ip, const uint8_t *mac)
{
	if (addr_is_unspec(ip) || addr_is_multicast(ip) || ether_is_group(mac))
		return;
	uint8_t key[17];
	struct bridge_entry *e = table_put(br, &br->hosts, key, host_key(ip, key));
	if (e)
		memcpy(e->mac, mac, 6);
}

/* Who uses which MAC: an ARP packet's sender, an IP packet's source. */
static void snoop(struct bridge *br, const struct pkt *frame, const struct ether_hdr *eh)
{
	const uint8_t *b = frame->data + ETHER_HDR_LEN;
	size_t len = frame->len - ETHER_HDR_LEN;
	struct ipaddr a = {0};
	if (eh->type == ETHERTYPE_ARP && len >= 28 && get_be16(b) == 1 &&
	    get_be16(b + 2) == ETHERTYPE_IP && b[4] == 6 && b[5] == 4) {
		a.af = ADDR_V4;
		memcpy(a.a, b + 14, 4);
		host_learn(br, &a, b + 8);
	} else if (eh->type == ETHERTYPE_IP && len >= IP4_HDR_LEN && (b[0] >> 4) == 4) {
		a.af = ADDR_V4;
		memcpy(a.a, b + 12, 4);
		host_learn(br, &a, eh->src);
	} else if (eh->type == ETHERTYPE_IPV6 && len >= IP6_HDR_LEN && (b[0] >> 4) == 6) {
		a.af = ADDR_V6;
		memcpy(a.a, b + 8, 16);
		host_learn(br, &a, eh->src);
	}
}

/* ---- EtherIP ---- */

static void etherip_output(struct bridge *br, const struct ipaddr *peer, struct pkt *frame)
{
	struct node *n = br->node;
	struct ipaddr src;
	bool v6 = peer->af == ADDR_V6;
	int r = v6 ? ip6_select_src(n, peer, &src) : ip4_select_src(n, peer, &src);
	if (r < 0) {
		node_drop(n, frame, v6 ? STAT_IP6_NOROUTE : STAT_IP_NOROUTE);
		return;
	}
	put_be16(pkt_push(frame, ETHERIP_HDR_LEN), ETHERIP_VERSION << 12);
	node_count(n, STAT_ETHERIP_OPACKETS);
	n->stats[STAT_ETHERIP_OBYTES] += frame->len - ETHERIP_HDR_LEN;
	/* what the frame carried on the other side is not this packet's */
	pkt_reset_meta(frame);
	if (v6) {
		struct ip6_out o = {.src = src, .dst = *peer, .nxt = IPPROTO_ETHERIP};
		(void)ip6_output(n, frame, &o);
	} else {
		struct ip4_out o = {.src = src, .dst = *peer, .proto = IPPROTO_ETHERIP};
		(void)ip4_output(n, frame, &o);
	}
}

static struct bridge_port *etherip_port(struct node *n, const struct ipaddr *peer)
{
	for (struct bridge *b = n->bridges; b; b = b->next)
		for (unsigned i = 0; i < b->nports; i++)
			if (!b->ports[i]->ifp && addr_eq(&b->ports[i]->peer, peer))
				return b->ports[i];
	return NULL;
}

void etherip_input(struct node *n, struct pkt *p, const struct ipaddr *src, size_t off)
{
	node_count(n, STAT_ETHERIP_IPACKETS);
	if (p->len < off + ETHERIP_HDR_LEN + ETHER_HDR_LEN) {
		node_drop(n, p, STAT_ETHERIP_HDROPS);
		return;
	}
	/* RFC 3378 3: version 3, and the twelve reserved bits zero */
	if (get_be16(p->data + off) != ETHERIP_VERSION << 12) {
		node_drop(n, p, STAT_ETHERIP_HDROPS);
		return;
	}
	struct bridge_port *port = etherip_port(n, src);
	if (!port) {
		node_drop(n, p, STAT_ETHERIP_NOIFDROPS);
		return;
	}
	pkt_pull(p, off + ETHERIP_HDR_LEN);
	n->stats[STAT_ETHERIP_IBYTES] += p->len;
	pkt_reset_meta(p); /* a frame again, off a wire of its own */
	bridge_input(port, p);
}

/* ---- forwarding ---- */

/* Neighbor discovery passes a bridge as ARP does: never offered to IPsec. */
static bool is_nd(const uint8_t *ip, size_t len)
{
	if (len < IP6_HDR_LEN + 1 || ip[6] != IPPROTO_ICMPV6)
		return false;
	uint8_t type = ip[IP6_HDR_LEN];
	return type >= 133 && type <= 137;
}

/* bridge_ipsec, BRIDGE_OUT: an IPv4 or IPv6 packet about to leave a member
 * goes to the SPD; when a flow takes it (an SA applied, or a packet held
 * for an ACQUIRE, or refused), the bridge sends nothing.  true: taken. */
static bool ipsec_out(struct bridge *br, struct pkt *frame, const struct ether_hdr *eh)
{
	if (eh->type != ETHERTYPE_IP && eh->type != ETHERTYPE_IPV6)
		return false;
	const uint8_t *ip = frame->data + ETHER_HDR_LEN;
	size_t len = frame->len - ETHER_HDR_LEN;
	if (eh->type == ETHERTYPE_IPV6 && is_nd(ip, len))
		return false;
	pkt_pull(frame, ETHER_HDR_LEN);
	unsigned flags = frame->flags;
	frame->flags |= PKT_FORWARDED; /* errors about it go to its source */
	int rc;
	if (ipsec_output(br->node, frame, &rc)) {
		node_count(br->node, STAT_BRIDGE_IPSEC);
		return true;
	}
	frame->flags = flags;
	(void)pkt_push(frame, ETHER_HDR_LEN); /* the header is still there */
	return false;
}

static void port_output(struct bridge_port *out, struct pkt *frame, const struct ether_hdr *eh)
{
	struct bridge *br = out->br;
	if (br->ipsec && ipsec_out(br, frame, eh))
		return;
	node_count(br->node, STAT_BRIDGE_OPACKETS);
	if (out->ifp)
		iface_transmit(out->ifp, frame);
	else
		etherip_output(br, &out->peer, frame);
}

/* Forward a frame that came in on `in` (NULL: out of a tunnel), or flood
 * it to every other member. */
static void forward(struct bridge *br, struct bridge_port *in, struct pkt *frame,
		    const struct ether_hdr *eh)
{
	struct bridge_entry *to = ether_is_group(eh->dst) ? NULL : rt_lookup(br, eh->dst);
	if (to && to->port == in) {
		node_drop(br->node, frame, STAT_BRIDGE_SAMEPORT);
		return;
	}
	if (to) {
		port_output(to->port, frame, eh);
		return;
	}
	node_count(br->node, STAT_BRIDGE_FLOODED);
	struct bridge_port *last = NULL;
	for (unsigned i = 0; i < br->nports; i++) {
		struct bridge_port *p = br->ports[i];
		if (p == in)
			continue;
		if (last)
			port_output(last, pkt_clone(frame), eh);
		last = p;
	}
	if (last)
		port_output(last, frame, eh);
	else
		pkt_free(frame);
}

void bridge_input(struct bridge_port *in, struct pkt *frame)
{
	struct bridge *br = in->br;
	struct node *n = br->node;
	struct ether_hdr eh;
	if (ether_parse(frame->data, frame->len, &eh) < 0) {
		node_drop(n, frame, STAT_ETHER_TOOSHORT);
		return;
	}
	node_count(n, STAT_BRIDGE_IPACKETS);
	if (!ether_is_group(eh.src))
		learn(br, eh.src, in);
	snoop(br, frame, &eh);
	/* 01:80:c2:00:00:00 to 0f are for the link itself (802.1D) */
	static const uint8_t reserved[5] = {0x01, 0x80, 0xc2, 0x00, 0x00};
	if (memcmp(eh.dst, reserved, 5) == 0 && eh.dst[5] <= 0x0f) {
		node_drop(n, frame, STAT_BRIDGE_RESERVED);
		return;
	}
	forward(br, in, frame, &eh);
}

bool bridge_rebridge(struct node *n, struct pkt *p)
{
	uint8_t af = p->len >= 1 ? (uint8_t)(p->data[0] >> 4) : 0;
	if ((af != 4 || p->len < IP4_HDR_LEN) && (af != 6 || p->len < IP6_HDR_LEN))
		return false;
	struct ipaddr src = {0}, dst = {0};
	src.af = dst.af = af == 4 ? ADDR_V4 : ADDR_V6;
	memcpy(src.a, p->data + (af == 4 ? 12 : 8), addr_len(src.af));
	memcpy(dst.a, p->data + (af == 4 ? 16 : 24), addr_len(dst.af));
	if (node_owns_addr(n, &dst))
		return false;
	for (struct bridge *br = n->bridges; br; br = br->next) {
		if (!br->ipsec)
			continue;
		struct bridge_entry *d = host_lookup(br, &dst);
		if (!d)
			continue;
		/* the input policy first, as for a packet forwarded */
		if (!ipsec_input_check(n, p))
			return true;
		/* the source's MAC, as the frame had it on the other side */
		struct bridge_entry *s = host_lookup(br, &src);
		if (!s) {
			node_drop(n, p, STAT_BRIDGE_NOMAC);
			return true;
		}
		struct ether_hdr eh = {.type = af == 4 ? ETHERTYPE_IP : ETHERTYPE_IPV6};
		memcpy(eh.dst, d->mac, 6);
		memcpy(eh.src, s->mac, 6);
		ether_emit(pkt_push(p, ETHER_HDR_LEN), &eh);
		if (p->len < ETHER_MIN_LEN) {
			size_t pad = ETHER_MIN_LEN - p->len;
			memset(pkt_put(p, pad), 0, pad);
		}
		node_count(n, STAT_BRIDGE_REBRIDGED);
		/* out of the member the destination lives behind, never offered
		 * to IPsec again on its way: it has just come out of it */
		struct bridge_entry *to = rt_lookup(br, eh.dst);
		if (!to) {
			node_drop(n, p, STAT_BRIDGE_NOMAC);
			return true;
		}
		node_count(n, STAT_BRIDGE_OPACKETS);
		if (to->port->ifp)
			iface_transmit(to->port->ifp, p);
		else
			etherip_output(br, &to->port->peer, p);
		return true;
	}
	return false;
}

/* ---- views ---- */

static int rt_cmp(const void *a, const void *b)
{
	const struct bridge_entry *x = *(const struct bridge_entry *const *)a;
	const struct bridge_entry *y = *(const struct bridge_entry *const *)b;
	return memcmp(x->key, y->key, 6);
}

void bridge_show(struct node *n, FILE *f)
{
	for (struct bridge *br = n->bridges; br; br = br->next) {
		fprintf(f, "%s:%s members", br->name, br->ipsec ? " flags=link2<IPSEC>" : "");
		for (unsigned i = 0; i < br->nports; i++)
			fprintf(f, " %s", br->ports[i]->name);
		fprintf(f, "\n");
		const struct bridge_entry **v = xcalloc(br->rt.n ? br->rt.n : 1, sizeof(*v));
		unsigned k = 0;
		for (const struct bridge_entry *e = br->rt.head; e; e = e->next)
			if (!stale(br, e))
				v[k++] = e;
		qsort(v, k, sizeof(*v), rt_cmp);
		for (unsigned i = 0; i < k; i++) {
			const uint8_t *m = v[i]->key;
			fprintf(f, "%02x:%02x:%02x:%02x:%02x:%02x %s %llu flags=0<>\n", m[0], m[1],
				m[2], m[3], m[4], m[5], v[i]->port->name,
				(unsigned long long)((n->sim->now - v[i]->seen) / NS_PER_SEC));
		}
		free(v);
	}
}

void bridge_memory(const struct node *n, struct mem_use *u)
{
	for (const struct bridge *br = n->bridges; br; br = br->next) {
		mem_add(u, 1,
			sizeof(*br) + br->nports * (sizeof(*br->ports) + sizeof(**br->ports)) +
			    hmap_bytes(&br->rt.map) + hmap_bytes(&br->hosts.map));
		mem_add(u, br->rt.n + br->hosts.n,
			(br->rt.n + br->hosts.n) * sizeof(struct bridge_entry));
	}
}
