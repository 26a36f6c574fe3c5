/*
 * IPv6 input, output and forwarding (RFC 8200, RFC 4291 for scopes), in
 * OpenBSD's order: header checks, hop-by-hop options, then either
 * forwarding (a router never fragments: too big is an ICMPv6 error) or the
 * extension headers addressed to us and the upper layer (ICMPv6, UDP,
 * ESP and AH, IP-in-IP); an upper layer we do not have gets a parameter
 * problem.  The SPD is asked on output and forwarding as for IPv4.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/ipsec_io.h"
#include "../ipsec/ipsec_ip.h"
#include "../ipsec/sad.h"
#include "../pf/pf.h"
#include "../sim/sim.h"
#include "bridge.h"
#include "ether.h"
#include "icmp6.h"
#include "iface.h"
#include "ip4.h" /* the protocol numbers */
#include "ip6.h"
#include "mem.h"
#include "nd.h"
#include "node.h"
#include "raw.h"
#include "route.h"
#include "tcp.h"
#include "udp.h"
#include "util.h"

const struct ipaddr ip6_allnodes = {.af = ADDR_V6,
				    .a = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

bool ip6_is_linklocal(const struct ipaddr *a)
{
	return a->af == ADDR_V6 && a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80;
}

struct ipaddr ip6_solicited_node(const struct ipaddr *a)
{
	/* RFC 4291 2.7.1: ff02::1:ff00:0/104 and the low 24 bits */
	struct ipaddr g = {.af = ADDR_V6, .a = {0xff, 0x02, [11] = 0x01, [12] = 0xff}};
	memcpy(g.a + 13, a->a + 13, 3);
	return g;
}

void ip6_multicast_mac(const struct ipaddr *group, uint8_t mac[6])
{
	/* RFC 2464 7: 33:33 and the group's low 32 bits */
	mac[0] = mac[1] = 0x33;
	memcpy(mac + 2, group->a + 12, 4);
}

/* A group the interface listens to: all-nodes, or the solicited-node
 * group of one of its addresses. */
static bool ip6_is_member(const struct iface *ifp, const struct ipaddr *g)
{
	if (addr_eq(g, &ip6_allnodes))
		return true;
	for (unsigned i = 0; ifp && i < ifp->naddrs; i++) {
		if (ifp->addrs[i].addr.af != ADDR_V6)
			continue;
		struct ipaddr sn = ip6_solicited_node(&ifp->addrs[i].addr);
		if (addr_eq(g, &sn))
			return true;
	}
	return false;
}

static unsigned common_prefix(const struct ipaddr *a, const struct ipaddr *b)
{
	unsigned n = 0;
	for (unsigned i = 0; i < 16; i++) {
		uint8_t x = a->a[i] ^ b->a[i];
		if (!x) {
			n += 8;
			continue;
		}
		while (!(x & 0x80)) {
			n++;
			x = (uint8_t)(x << 1);
		}
		break;
	}
	return n;
}

/* The IPv6 address of ifp to send to dst from: a global one if it has one,
 * the one sharing the longest prefix with dst (RFC 6724 5, rule 8).  (A
 * link-local destination never comes here: it needs its interface named,
 * and icmp6_send_ext then sends from the interface's first IPv6 address,
 * its link-local one.) */
static const struct ipaddr *ip6_ifaddr(const struct iface *ifp, const struct ipaddr *dst)
{
	const struct ipaddr *ll = NULL, *best = NULL;
	unsigned best_len = 0;
	for (unsigned i = 0; i < ifp->naddrs; i++) {
		const struct ipaddr *a = &ifp->addrs[i].addr;
		if (a->af != ADDR_V6)
			continue;
		if (ip6_is_linklocal(a)) {
			if (!ll)
				ll = a;
			continue;
		}
		unsigned len = common_prefix(a, dst);
		if (!best || len > best_len) {
			best = a;
			best_len = len;
		}
	}
	return best ? best : ll;
}

int ip6_select_src(struct node *n, const struct ipaddr *dst, struct ipaddr *src)
{
	const struct route *rt = route_lookup(&n->rt, dst);
	if (!rt)
		return -ENETUNREACH;
	const struct ipaddr *a = ip6_ifaddr(rt->ifp, dst);
	if (!a)
		return -EADDRNOTAVAIL;
	*src = *a;
	return 0;
}

/*
 * The options of a hop-by-hop or destination options header (RFC 8200 4.2).
 * We know Pad1, PadN and the router alert; any other option is handled as
 * its two high bits say.  Returns 0, or -1 with the packet dropped.
 */
static int ip6_options(struct node *n, struct pkt *p, const struct ip6_hdr *h,
		       const struct ip6_ext *e)
{
	const uint8_t *hdr = p->data + e->off;
	size_t pos = 2;
	struct ip6_opt o;
	int rc;
	while ((rc = ip6_opt_next(hdr, e->len, &pos, &o)) == 1) {
		if (o.type == IP6OPT_PAD1 || o.type == IP6OPT_PADN ||
		    (o.type == 5 && e->type == IPPROTO_HOPOPTS)) /* router alert */
			continue;
		switch (IP6OPT_ACTION(o.type)) {
		case IP6OPT_SKIP: continue;
		case IP6OPT_DISCARD: break;
		case IP6OPT_ICMP_UNICAST:
			if (addr_is_multicast(&h->dst))
				break;
			/* fall through */
		case IP6OPT_ICMP:
			icmp6_error(n, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_OPTION,
				    (uint32_t)(e->off + o.off));
			break;
		}
		node_drop(n, p, STAT_IP6_BADOPTIONS);
		return -1;
	}
	if (rc < 0) {
		icmp6_error(n, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER,
			    (uint32_t)(e->off + pos));
		node_drop(n, p, STAT_IP6_BADOPTIONS);
		return -1;
	}
	return 0;
}

static void ip6_loop_ev(struct sim *s, void *arg)
{
	struct pkt *p = arg;
	struct node *n = p->rcvif->node;
	(void)s;
	ip6_input(n, p);
}

static void pkt_dtor(void *arg)
{
	pkt_free(arg);
}

/* ---- path MTU (RFC 8201) ---- */

#define IP6_PMTU_LIFETIME_S 600 /* RFC 8201 4: at least 5 minutes; 10 */

struct ip6_pmtu {
	struct ipaddr dst; /* the hash key: bytes past the family's zero */
	uint32_t mtu;
	uint64_t expire;
	struct ip6_pmtu *prev, *next; /* by deadline: every entry lives as long */
};

static struct ipaddr pmtu_key(const struct ipaddr *dst)
{
	struct ipaddr k = {.af = dst->af};
	memcpy(k.a, dst->a, addr_len(dst->af));
	return k;
}

static void pmtu_unlink(struct node *n, struct ip6_pmtu *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		n->pmtu_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		n->pmtu_tail = e->prev;
}

static void pmtu_append(struct node *n, struct ip6_pmtu *e)
{
	e->next = NULL;
	e->prev = n->pmtu_tail;
	if (n->pmtu_tail)
		n->pmtu_tail->next = e;
	else
		n->pmtu_head = e;
	n->pmtu_tail = e;
}

static void pmtu_forget(struct node *n, struct ip6_pmtu *e)
{
	pmtu_unlink(n, e);
	hmap_del(&n->pmtu_by_dst, &e->dst, sizeof(e->dst));
	free(e);
	n->npmtu--;
}

void ip6_pmtu_update(struct node *n, const struct ipaddr *dst, uint32_t mtu)
{
	if (mtu < IP6_MIN_MTU)
		mtu = IP6_MIN_MTU; /* RFC 8201 4: never below the minimum */
	ip_pmtu_note(n, dst, mtu);
}

void ip_pmtu_note(struct node *n, const struct ipaddr *dst, uint32_t mtu)
{
	uint64_t now = n->sim->now, expire = now + IP6_PMTU_LIFETIME_S * NS_PER_SEC;
	struct ipaddr k = pmtu_key(dst);
	struct ip6_pmtu *e = hmap_get(&n->pmtu_by_dst, &k, sizeof(k));
	if (e) {
		if (mtu < e->mtu || e->expire <= now) {
			e->mtu = mtu;
			e->expire = expire;
			pmtu_unlink(n, e); /* the latest deadline now */
			pmtu_append(n, e);
		}
		return;
	}
	while (n->pmtu_head && n->pmtu_head->expire <= now)
		pmtu_forget(n, n->pmtu_head);
	if (n->npmtu >= IP_PMTU_MAX) {
		/* as OpenBSD's ip6_maxdynroutes for redirects: what is known
		 * stays, the newcomer is not learned */
		node_count(n, dst->af == ADDR_V6 ? STAT_IP6_PMTUFULL : STAT_IP_PMTUFULL);
		return;
	}
	e = xcalloc(1, sizeof(*e));
	*e = (struct ip6_pmtu){.dst = k, .mtu = mtu, .expire = expire};
	hmap_add(&n->pmtu_by_dst, &e->dst, sizeof(e->dst), e);
	pmtu_append(n, e);
	n->npmtu++;
	char a[ADDR_STRLEN];
	node_trace(n, "%s path mtu to %s: %u", dst->af == ADDR_V6 ? "ip6" : "ip", addr_fmt(dst, a),
		   mtu);
}

unsigned ip6_path_mtu(struct node *n, const struct ipaddr *dst, unsigned ifmtu)
{
	if (!n->npmtu)
		return ifmtu;
	struct ipaddr k = pmtu_key(dst);
	const struct ip6_pmtu *e = hmap_get(&n->pmtu_by_dst, &k, sizeof(k));
	return e && e->expire > n->sim->now ? MIN(ifmtu, e->mtu) : ifmtu;
}

void ip6_pmtu_free(struct node *n)
{
	while (n->pmtu_head)
		pmtu_forget(n, n->pmtu_head);
	hmap_free(&n->pmtu_by_dst);
}

static void ip6_link_out(struct iface *ifp, struct pkt *p, const struct ipaddr *nexthop,
			 const struct ipaddr *dst)
{
	if (addr_is_multicast(dst)) {
		uint8_t mac[6];
		ip6_multicast_mac(dst, mac);
		ether_output(ifp, p, mac, ETHERTYPE_IPV6);
		return;
	}
	nd_output(ifp, p, nexthop);
}

void ip6_exthdrs_add(struct ip6_exthdrs *x, uint8_t type, size_t hl)
{
	if (x->len)
		x->buf[x->last_nxt] = type;
	else
		x->first = type;
	x->last_nxt = x->len;
	x->len += hl;
}

/* Transmit a packet we originated on ifp towards nexthop, in fragments
 * when it is larger than the path MTU (RFC 8200 4.5: only the source
 * fragments). */
static int ip6_send(struct node *n, struct pkt *p, struct iface *ifp, const struct ipaddr *nexthop,
		    const struct ipaddr *dst)
{
	unsigned mtu = ip6_path_mtu(n, dst, ifp->mtu);
	if (p->len <= mtu) {
		ip6_link_out(ifp, p, nexthop, dst);
		return 0;
	}
	struct pktq frags = {0};
	ip6_fragment(n, p, mtu, &frags);
	if (!frags.len)
		return -EMSGSIZE;
	node_count(n, STAT_IP6_FRAGMENTED);
	while ((p = pktq_pop(&frags))) {
		node_count(n, STAT_IP6_OFRAGMENTS);
		ip6_link_out(ifp, p, nexthop, dst);
	}
	return 0;
}

/* pf on the way out of ifp: the packet may come back translated, and is
 * routed anew when its destination changed.  0 or a negative errno (the
 * packet is gone). */
static int ip6_pf_out(struct node *n, struct pkt *p, struct iface **ifp, struct ipaddr *nexthop,
		      struct ipaddr *dst)
{
	if (!n->pf)
		return 0;
	if (!pf_test(n, PF_OUT, (*ifp)->name, p))
		return -EACCES;
	struct ipaddr ndst = {.af = ADDR_V6};
	memcpy(ndst.a, p->data + 24, 16);
	if (addr_eq(&ndst, dst))
		return 0;
	const struct route *rt = route_lookup(&n->rt, &ndst);
	if (!rt) {
		node_drop(n, p, STAT_IP6_NOROUTE);
		return -ENETUNREACH;
	}
	*ifp = rt->ifp;
	*nexthop = rt->gw.af ? rt->gw : ndst;
	*dst = ndst;
	return 0;
}

/* A packet we originated, with its header: looped back when it is for us,
 * else sent, past pf. */
static int ip6_route_send(struct node *n, struct pkt *p, struct iface *ifp,
			  const struct ipaddr *nexthop, const struct ipaddr *dst)
{
	struct iface *self = node_owns_addr(n, dst);
	if (self) {
		p->rcvif = self;
		sim_after(n->sim, 0, ip6_loop_ev, pkt_dtor, p);
		return 0;
	}
	struct ipaddr nh = *nexthop, d = *dst;
	int rc = ip6_pf_out(n, p, &ifp, &nh, &d);
	if (rc < 0)
		return rc;
	return ip6_send(n, p, ifp, &nh, &d);
}

int ip6_output(struct node *n, struct pkt *p, const struct ip6_out *o)
{
	struct iface *ifp = o->ifp;
	struct ipaddr nexthop = o->dst;
	if (!ifp) {
		const struct route *rt = route_lookup(&n->rt, &o->dst);
		if (!rt) {
			node_drop(n, p, STAT_IP6_NOROUTE);
			return -ENETUNREACH;
		}
		ifp = rt->ifp;
		if (rt->gw.af)
			nexthop = rt->gw;
	}
	struct ip6_hdr h = {.tclass = o->tclass, .nxt = o->nxt, .dst = o->dst, .src = o->src};
	if (h.src.af == ADDR_NONE) {
		const struct ipaddr *a = ip6_ifaddr(ifp, &o->dst);
		if (!a) {
			node_drop(n, p, STAT_IP6_ODROPPED);
			return -EADDRNOTAVAIL;
		}
		h.src = *a;
	}
	if (o->ext && o->ext->len) {
		uint8_t *x = pkt_push(p, o->ext->len);
		memcpy(x, o->ext->buf, o->ext->len);
		x[o->ext->last_nxt] = h.nxt;
		h.nxt = o->ext->first;
	}
	if (p->len > IP6_MAXPAYLOAD) {
		node_drop(n, p, STAT_IP6_ODROPPED);
		return -EMSGSIZE;
	}
	h.plen = (uint16_t)p->len;
	h.hlim = o->hlim ? o->hlim : (uint8_t)n->sysctl[SYSCTL_IP6_HLIM];
	ip6_emit(pkt_push(p, IP6_HDR_LEN), &h);
	p->flags &= ~(unsigned)PKT_FORWARDED;
	node_count(n, STAT_IP6_LOCALOUT);
	int rc;
	if (ipsec_output(n, p, &rc))
		return rc;
	return ip6_route_send(n, p, ifp, &nexthop, &h.dst);
}

int ip6_output_raw(struct node *n, struct pkt *p)
{
	struct ip6_hdr h;
	enum stat_id why;
	if (ip6_parse(p->data, p->len, &h, &why) < 0) {
		node_drop(n, p, STAT_IP6_ODROPPED);
		return -EINVAL;
	}
	int rc;
	if (ipsec_output(n, p, &rc))
		return rc;
	const struct route *rt = route_lookup(&n->rt, &h.dst);
	if (!rt) {
		node_drop(n, p, STAT_IP6_NOROUTE);
		return -ENETUNREACH;
	}
	struct ipaddr nexthop = rt->gw.af ? rt->gw : h.dst;
	return ip6_route_send(n, p, rt->ifp, &nexthop, &h.dst);
}

/* RFC 8200 3, RFC 4443 3: forward a packet that is not for us. */
static void ip6_forward(struct node *n, struct pkt *p, const struct ip6_hdr *h)
{
	if (ip6_is_linklocal(&h->dst) || addr_is_unspec(&h->src)) {
		node_drop(n, p, STAT_IP6_CANTFORWARD);
		return;
	}
	if (ip6_is_linklocal(&h->src)) {
		/* RFC 4443 3.1: beyond the scope of the source address */
		icmp6_error(n, p, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_BEYOND, 0);
		node_drop(n, p, STAT_IP6_BADSCOPE);
		return;
	}
	if (h->hlim <= 1) {
		icmp6_error(n, p, ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_TRANSIT, 0);
		node_drop(n, p, STAT_IP6_HLIMEXCEEDED);
		return;
	}
	const struct route *rt = route_lookup(&n->rt, &h->dst);
	if (!rt) {
		icmp6_error(n, p, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE, 0);
		node_drop(n, p, STAT_IP6_NOROUTE);
		return;
	}
	/* The forwarding policy check (ipsec_forward_check). */
	if (!ipsec_input_check(n, p))
		return;
	p->data[7]--; /* the hop limit; IPv6 has no header checksum */
	p->flags |= PKT_FORWARDED;
	p->flags &= ~(unsigned)PKT_LINKBCAST;
	/* A flow that tunnels the packet gives it an outer header of ours,
	 * which we may fragment as its source: the size matters only after. */
	int rc;
	if (ipsec_output(n, p, &rc)) {
		node_count(n, STAT_IP6_FORWARD);
		return;
	}
	if (p->len > rt->ifp->mtu) {
		/* RFC 8200 5: routers do not fragment; RFC 4443 3.2 */
		p->data[7]++; /* quoted as it came */
		icmp6_error(n, p, ICMP6_PACKET_TOO_BIG, 0, rt->ifp->mtu);
		node_drop(n, p, STAT_IP6_CANTFRAG);
		return;
	}
	struct ipaddr nexthop = rt->gw.af ? rt->gw : h->dst, dst = h->dst;
	struct iface *ifp = rt->ifp;
	if (ip6_pf_out(n, p, &ifp, &nexthop, &dst) < 0)
		return;
	node_count(n, STAT_IP6_FORWARD);
	ip6_link_out(ifp, p, &nexthop, &dst);
}

/* A protocol the stack does not speak (`at`: the byte that names it): a
 * raw socket's, 59 (no next header) among them; else nothing for 59 (RFC
 * 4303 2.6's dummy packet when it came out of ESP), "parameter problem"
 * for the rest. */
static void ip6_deliver_other(struct node *n, struct pkt *p, const struct ip6_hdr *h,
			      const struct ip6_chain *c, size_t at)
{
	if (c->proto == IPPROTO_ETHERIP && n->bridges) { /* a bridge's frames */
		node_count(n, STAT_IP6_DELIVERED);
		etherip_input(n, p, &h->src, c->off);
		return;
	}
	if (raw_wanted(n, c->proto, &h->src, &h->dst)) {
		node_count(n, STAT_IP6_DELIVERED);
		raw_input(n, p, c->proto, &h->src, &h->dst, c->off);
		return;
	}
	if (c->proto == IPPROTO_NONE) {
		node_drop(n, p, p->in_done.proto == IPPROTO_ESP ? STAT_ESP_DUMMY : STAT_IP6_NONXTHDR);
		return;
	}
	/* RFC 8200 4: parameter problem code 1 at the next header field that
	 * named it */
	icmp6_error(n, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER, (uint32_t)at);
	node_drop(n, p, STAT_IP6_NOPROTO);
}

/* The headers addressed to us after hop-by-hop from offset `from` on
 * (those in front of it were done before ESP or AH), then the upper
 * layer. */
static void ip6_deliver(struct node *n, struct pkt *p, const struct ip6_hdr *h,
			const struct ip6_chain *c, size_t from)
{
	for (unsigned i = 0; i < c->n; i++) {
		const struct ip6_ext *e = &c->ext[i];
		if (e->off < from)
			continue;
		switch (e->type) {
		case IPPROTO_HOPOPTS: break; /* done on the way in */
		case IPPROTO_DSTOPTS:
			if (ip6_options(n, p, h, e) < 0)
				return;
			break;
		case IPPROTO_ROUTING: {
			struct ip6_rthdr r;
			ip6_rthdr_parse(p->data + e->off, e->len, &r);
			if (r.segleft == 0)
				break; /* RFC 8200 4.4: ignore it and go on */
			/* Type 0 is deprecated (RFC 5095 3) and we route by no
			 * other type: "unrecognized routing type". */
			icmp6_error(n, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER,
				    (uint32_t)(e->off + 2));
			node_drop(n, p, STAT_IP6_BADOPTIONS);
			return;
		}
		case IPPROTO_FRAGMENT: {
			struct pkt *whole = ip6_reass(n, p, h, c);
			if (!whole)
				return;
			/* Go on with the reassembled packet: its headers after
			 * the fragment header are now in place. */
			struct ip6_hdr wh;
			struct ip6_chain wc;
			enum stat_id why;
			size_t ptr;
			uint8_t code;
			if (ip6_parse(whole->data, whole->len, &wh, &why) < 0 ||
			    ip6_walk(whole->data, whole->len, &wc, &why, &ptr, &code) < 0) {
				node_drop(n, whole, why);
				return;
			}
			ip6_deliver(n, whole, &wh, &wc, 0);
			return;
		}
		}
	}
	size_t at = c->n ? c->ext[c->n - 1].off : 6; /* the byte naming c->proto */
	struct ipsec_ip ip = {.af = ADDR_V6, .skip = c->off, .protoff = at};
	switch (c->proto) {
	case IPPROTO_ICMPV6:
		if (!ipsec_input_check(n, p))
			return;
		node_count(n, STAT_IP6_DELIVERED);
		icmp6_input(n, p, h, c->off);
		return;
	case IPPROTO_UDP:
	case IPPROTO_TCP:
		if (!ipsec_input_check(n, p))
			return;
		node_count(n, STAT_IP6_DELIVERED);
		(c->proto == IPPROTO_UDP ? udp6_input : tcp6_input)(n, p, h, c->off);
		return;
	case IPPROTO_ESP:
	case IPPROTO_AH:
	case IPPROTO_IPCOMP:
		node_count(n, STAT_IP6_DELIVERED);
		ipsec_input(n, p, &ip, false);
		return;
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		node_count(n, STAT_IP6_DELIVERED);
		ipip_input(n, p, &ip);
		return;
	default:
		/* the input policy first, as for every upper layer */
		if (ipsec_input_check(n, p))
			ip6_deliver_other(n, p, h, c, at);
		return;
	}
}

void ip6_deliver_from(struct node *n, struct pkt *p, size_t from)
{
	struct ip6_hdr h;
	struct ip6_chain c;
	enum stat_id why;
	size_t ptr;
	uint8_t code;
	if (ip6_parse(p->data, p->len, &h, &why) < 0) {
		node_drop(n, p, why);
		return;
	}
	if (ip6_walk(p->data, p->len, &c, &why, &ptr, &code) < 0) {
		if (code != 0xff)
			icmp6_error(n, p, ICMP6_PARAM_PROB, code, (uint32_t)ptr);
		node_drop(n, p, why);
		return;
	}
	ip6_deliver(n, p, &h, &c, from);
}

void ip6_input(struct node *n, struct pkt *p)
{
	struct ip6_hdr h;
	enum stat_id why;
	node_count(n, STAT_IP6_TOTAL);
	if (ip6_parse(p->data, p->len, &h, &why) < 0) {
		node_drop(n, p, why);
		return;
	}
	pkt_trim(p, IP6_HDR_LEN + (size_t)h.plen); /* link padding */
	if (addr_is_multicast(&h.src)) {
		node_drop(n, p, STAT_IP6_BADSCOPE); /* RFC 4291 2.7 */
		return;
	}
	struct ip6_chain c;
	size_t ptr;
	uint8_t code;
	if (ip6_walk(p->data, p->len, &c, &why, &ptr, &code) < 0) {
		if (code != 0xff)
			icmp6_error(n, p, ICMP6_PARAM_PROB, code, (uint32_t)ptr);
		node_drop(n, p, why);
		return;
	}
	/* pf on the way in (of the interface, or of enc0 after a tunnel) */
	if (n->pf && (p->rcvif || (p->flags & PKT_ENCIF))) {
		const char *ifname = p->flags & PKT_ENCIF ? "enc0" : p->rcvif->name;
		if (!pf_test(n, PF_IN, ifname, p))
			return;
		memcpy(h.src.a, p->data + 8, 16);
		memcpy(h.dst.a, p->data + 24, 16);
	}
	if (c.n && c.ext[0].type == IPPROTO_HOPOPTS && ip6_options(n, p, &h, &c.ext[0]) < 0)
		return;
	bool ours = addr_is_multicast(&h.dst) ? ip6_is_member(p->rcvif, &h.dst)
					      : node_owns_addr(n, &h.dst) != NULL;
	if (!ours) {
		if (addr_is_multicast(&h.dst)) {
			node_drop(n, p, STAT_IP6_NOTMEMBER);
			return;
		}
		if (!n->sysctl[SYSCTL_IP6_FORWARDING]) {
			node_drop(n, p, STAT_IP6_CANTFORWARD);
			return;
		}
		ip6_forward(n, p, &h);
		return;
	}
	ip6_deliver(n, p, &h, &c, 0);
}

void ip6_pmtu_memory(const struct node *n, struct mem_use *u)
{
	mem_add(u, n->npmtu, n->npmtu * sizeof(struct ip6_pmtu) + hmap_bytes(&n->pmtu_by_dst));
}
