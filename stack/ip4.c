#include "ip4.h"

#include <errno.h>
#include <string.h>

#include "../ipsec/ipsec_io.h"
#include "../ipsec/ipsec_ip.h"
#include "../ipsec/sad.h"
#include "../pf/pf.h"
#include "../sim/sim.h"
#include "arp.h"
#include "bridge.h"
#include "cksum.h"
#include "icmp.h"
#include "iface.h"
#include "ip6.h"
#include "node.h"
#include "raw.h"
#include "route.h"
#include "tcp.h"
#include "udp.h"
#include "util.h"

#define IPOPT_EOL       0
#define IPOPT_NOP       1
#define IPOPT_COPIED(o) ((o)&0x80)

int ip4_parse(const uint8_t *b, size_t len, struct ip4_hdr *h, enum stat_id *why)
{
	if (len < IP4_HDR_LEN) {
		*why = STAT_IP_TOOSMALL;
		return -1;
	}
	if (b[0] >> 4 != 4) {
		*why = STAT_IP_BADVERS;
		return -1;
	}
	h->hlen = (uint8_t)((b[0] & 0x0f) * 4);
	if (h->hlen < IP4_HDR_LEN || h->hlen > len) {
		*why = STAT_IP_BADHLEN;
		return -1;
	}
	if (in_cksum(b, h->hlen) != 0) {
		*why = STAT_IP_BADSUM;
		return -1;
	}
	h->tos = b[1];
	h->len = get_be16(b + 2);
	if (h->len < h->hlen) {
		*why = STAT_IP_BADLEN;
		return -1;
	}
	if (h->len > len) {
		*why = STAT_IP_TOOSHORT;
		return -1;
	}
	h->id = get_be16(b + 4);
	h->off = get_be16(b + 6);
	h->ttl = b[8];
	h->proto = b[9];
	h->sum = get_be16(b + 10);
	h->src = addr_v4(b + 12);
	h->dst = addr_v4(b + 16);
	h->opts = b + IP4_HDR_LEN;
	h->optlen = h->hlen - IP4_HDR_LEN;
	return 0;
}

size_t ip4_emit(uint8_t *b, const struct ip4_hdr *h)
{
	size_t hlen = IP4_HDR_LEN + ((h->optlen + 3) & ~(size_t)3);
	b[0] = (uint8_t)(0x40 | (hlen / 4));
	b[1] = h->tos;
	put_be16(b + 2, h->len);
	put_be16(b + 4, h->id);
	put_be16(b + 6, h->off);
	b[8] = h->ttl;
	b[9] = h->proto;
	put_be16(b + 10, 0);
	memcpy(b + 12, h->src.a, 4);
	memcpy(b + 16, h->dst.a, 4);
	if (h->optlen) {
		memmove(b + IP4_HDR_LEN, h->opts, h->optlen);
		memset(b + IP4_HDR_LEN + h->optlen, IPOPT_EOL, hlen - IP4_HDR_LEN - h->optlen);
	}
	put_be16(b + 10, in_cksum(b, hlen));
	return hlen;
}

int ip4_check_options(const uint8_t *opts, size_t optlen, unsigned *ptr)
{
	size_t i = 0;
	while (i < optlen) {
		uint8_t type = opts[i];
		if (type == IPOPT_EOL)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		/* RFC 791: every other option is type, length, data. */
		if (i + 1 >= optlen || opts[i + 1] < 2 || opts[i + 1] > optlen - i) {
			*ptr = (unsigned)(IP4_HDR_LEN + i + (i + 1 < optlen ? 1 : 0));
			return -1;
		}
		i += opts[i + 1];
	}
	return 0;
}

size_t ip4_copied_options(const uint8_t *opts, size_t optlen, uint8_t *out)
{
	size_t i = 0, o = 0;
	while (i < optlen && opts[i] != IPOPT_EOL) {
		if (opts[i] == IPOPT_NOP) {
			i++;
			continue;
		}
		size_t olen = opts[i + 1]; /* validated on input or built by us */
		if (IPOPT_COPIED(opts[i])) {
			memcpy(out + o, opts + i, olen);
			o += olen;
		}
		i += olen;
	}
	while (o % 4)
		out[o++] = IPOPT_EOL;
	return o;
}

void ip4_reset_cksum(uint8_t *hdr, size_t hlen)
{
	put_be16(hdr + 10, 0);
	put_be16(hdr + 10, in_cksum(hdr, hlen));
}

void ip4_set_len_proto(uint8_t *hdr, size_t hlen, size_t len, uint8_t proto)
{
	put_be16(hdr + 2, (uint16_t)len);
	hdr[9] = proto;
	ip4_reset_cksum(hdr, hlen);
}

void ip4_dec_ttl(uint8_t *hdr)
{
	/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), where the 16-bit word m
	 * (TTL, protocol) loses 0x0100, so ~m + m' = 0xfeff. */
	hdr[8]--;
	uint32_t sum = (uint32_t)(~get_be16(hdr + 10) & 0xffff) + 0xfeffu;
	put_be16(hdr + 10, cksum_fold(sum));
}

/* Is this destination ours: one of our addresses, or a broadcast of the
 * receiving interface's networks? */
static bool ip4_is_ours(struct node *n, const struct ipaddr *dst, struct iface *rcvif, bool *bcast)
{
	*bcast = false;
	if (node_owns_addr(n, dst))
		return true;
	if (rcvif && iface_is_bcast(rcvif, dst)) {
		*bcast = true;
		return true;
	}
	return false;
}

/* Route and transmit a complete IP packet: fragment it or refuse it by DF,
 * then hand each piece to ARP.  `forwarded` changes who hears of an MTU
 * problem: the source by ICMP, or the local caller by -EMSGSIZE. */
static int ip4_send(struct node *n, struct pkt *p, const struct route *rt, const struct ip4_hdr *h)
{
	struct iface *ifp = rt->ifp;
	struct ipaddr nexthop = rt->gw.af ? rt->gw : h->dst;
	/* What we send ourselves fits the path as far as we know it (RFC
	 * 1191); what we forward, the next hop. */
	unsigned mtu = p->flags & PKT_FORWARDED ? ifp->mtu : ip6_path_mtu(n, &h->dst, ifp->mtu);

	if (p->len <= mtu) {
		arp_output(ifp, p, &nexthop);
		return 0;
	}
	if (h->off & IP4_DF) {
		if (p->flags & PKT_FORWARDED)
			/* RFC 1191: need-frag carries the next-hop MTU. */
			icmp_error(n, p, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, mtu);
		node_drop(n, p, STAT_IP_CANTFRAG);
		return -EMSGSIZE;
	}
	struct pktq frags = {0};
	ip4_fragment(n, p, mtu, &frags);
	if (!frags.len)
		return -EMSGSIZE;
	node_count(n, STAT_IP_FRAGMENTED);
	while ((p = pktq_pop(&frags))) {
		node_count(n, STAT_IP_OFRAGMENTS);
		arp_output(ifp, p, &nexthop);
	}
	return 0;
}

/* RFC 1191 7.1: the plateaus for a router that reports no MTU. */
static const uint16_t mtu_plateaus[] = {32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};

void ip4_pmtu_update(struct node *n, const struct ipaddr *dst, uint32_t mtu, uint32_t sent)
{
	if (mtu == 0) {
		/* an old router: the next plateau below what was sent */
		for (size_t i = 0; i < ARRAY_LEN(mtu_plateaus) && !mtu; i++)
			if (mtu_plateaus[i] < sent)
				mtu = mtu_plateaus[i];
	}
	/* RFC 1191 3: never below 68, never a raise through an ICMP */
	if (mtu < 68 || (sent && mtu >= sent))
		return;
	ip_pmtu_note(n, dst, mtu);
}

int ip4_select_src(struct node *n, const struct ipaddr *dst, struct ipaddr *src)
{
	const struct route *rt = route_lookup(&n->rt, dst);
	if (!rt)
		return -ENETUNREACH;
	const struct ifaddr *ia = iface_addr_toward(rt->ifp, rt->gw.af ? &rt->gw : dst);
	if (!ia)
		return -EADDRNOTAVAIL;
	*src = ia->addr;
	return 0;
}

/* Local delivery of a packet we sent to ourselves. */
static void ip4_loop_ev(struct sim *s, void *arg)
{
	struct pkt *p = arg;
	struct node *n = p->rcvif->node;
	(void)s;
	p->rcvif = NULL;
	ip4_input(n, p);
}

static void pkt_dtor(void *arg)
{
	pkt_free(arg);
}

/* pf on the way out of an interface (ip_output's pf_test): the packet
 * may come back translated, and routed anew when its destination
 * changed (PF_TAG_REROUTE).  0, or -EACCES when it was dropped. */
static int ip4_pf_out(struct node *n, struct pkt *p, const struct route **rt, struct ip4_hdr *h)
{
	if (!n->pf)
		return 0;
	if (!pf_test(n, PF_OUT, (*rt)->ifp->name, p))
		return -EACCES;
	struct ipaddr dst = h->dst;
	enum stat_id why;
	if (ip4_parse(p->data, p->len, h, &why) < 0) {
		node_drop(n, p, STAT_IP_ODROPPED); /* pf keeps headers whole */
		return -EINVAL;
	}
	if (!addr_eq(&dst, &h->dst)) {
		const struct route *nrt = route_lookup(&n->rt, &h->dst);
		if (!nrt) {
			node_drop(n, p, STAT_IP_NOROUTE);
			return -ENETUNREACH;
		}
		*rt = nrt;
	}
	return 0;
}

/* A packet for ourselves loops back; any other goes out by the route,
 * past pf. */
static int ip4_route_send(struct node *n, struct pkt *p, const struct route *rt,
			  const struct ip4_hdr *h)
{
	struct iface *self = node_owns_addr(n, &h->dst);
	if (self) {
		p->rcvif = self;
		sim_after(n->sim, 0, ip4_loop_ev, pkt_dtor, p);
		return 0;
	}
	struct ip4_hdr h2 = *h;
	int rc = ip4_pf_out(n, p, &rt, &h2);
	if (rc < 0)
		return rc;
	return ip4_send(n, p, rt, &h2);
}

int ip4_output(struct node *n, struct pkt *p, const struct ip4_out *o)
{
	struct ip4_hdr h = {0};
	const struct route *rt = route_lookup(&n->rt, &o->dst);

	if (!rt) {
		node_drop(n, p, STAT_IP_NOROUTE);
		return -ENETUNREACH;
	}
	h.src = o->src;
	if (h.src.af == ADDR_NONE) {
		const struct ifaddr *ia = iface_addr_toward(rt->ifp, rt->gw.af ? &rt->gw : &o->dst);
		if (!ia) {
			node_drop(n, p, STAT_IP_ODROPPED);
			return -EADDRNOTAVAIL;
		}
		h.src = ia->addr;
	}
	if (p->len + IP4_HDR_LEN > IP4_MAXPACKET) {
		node_drop(n, p, STAT_IP_ODROPPED);
		return -EMSGSIZE;
	}
	h.dst = o->dst;
	h.tos = o->tos;
	h.len = (uint16_t)(p->len + IP4_HDR_LEN);
	/* OpenBSD draws IP ids at random (ip_randomid); from the node's stream. */
	h.id = (uint16_t)rng_next(&n->rng);
	h.off = o->df ? IP4_DF : 0;
	h.ttl = o->ttl ? o->ttl : (uint8_t)n->sysctl[SYSCTL_IP_DEFTTL];
	h.proto = o->proto;
	h.hlen = (uint8_t)ip4_emit(pkt_push(p, IP4_HDR_LEN), &h);
	p->flags &= ~(unsigned)PKT_FORWARDED;
	node_count(n, STAT_IP_LOCALOUT);

	int rc;
	if (ipsec_output(n, p, &rc))
		return rc;
	return ip4_route_send(n, p, rt, &h);
}

int ip4_output_raw(struct node *n, struct pkt *p)
{
	struct ip4_hdr h;
	enum stat_id why;
	if (ip4_parse(p->data, p->len, &h, &why) < 0) {
		node_drop(n, p, STAT_IP_ODROPPED);
		return -EINVAL;
	}
	int rc;
	if (ipsec_output(n, p, &rc))
		return rc;
	const struct route *rt = route_lookup(&n->rt, &h.dst);
	if (!rt) {
		node_drop(n, p, STAT_IP_NOROUTE);
		return -ENETUNREACH;
	}
	return ip4_route_send(n, p, rt, &h);
}

/* RFC 1812 5.2: forward a packet that is not for us. */
static void ip4_forward(struct node *n, struct pkt *p, struct ip4_hdr *h)
{
	if ((p->flags & PKT_LINKBCAST) || addr_is_multicast(&h->dst) ||
	    addr_is_v4_limited_bcast(&h->dst)) {
		node_drop(n, p, STAT_IP_CANTFORWARD);
		return;
	}
	if (h->ttl <= 1) {
		icmp_error(n, p, ICMP_TIMXCEED, ICMP_TIMXCEED_INTRANS, 0);
		node_drop(n, p, STAT_IP_TTLEXCEEDED);
		return;
	}
	const struct route *rt = route_lookup(&n->rt, &h->dst);
	if (!rt) {
		icmp_error(n, p, ICMP_UNREACH, ICMP_UNREACH_NET, 0);
		node_drop(n, p, STAT_IP_NOROUTE);
		return;
	}
	/* The forwarding policy check: a require flow wants this packet to
	 * have come out of its SA (ipsec_forward_check). */
	if (!ipsec_input_check(n, p))
		return;
	ip4_dec_ttl(p->data);
	h->ttl--;
	p->flags |= PKT_FORWARDED;
	p->flags &= ~(unsigned)PKT_LINKBCAST;
	node_count(n, STAT_IP_FORWARD);
	int rc;
	if (ipsec_output(n, p, &rc))
		return;
	if (ip4_pf_out(n, p, &rt, h) < 0)
		return;
	ip4_send(n, p, rt, h);
}

/* A protocol the stack does not speak: a raw socket's, RFC 4303's dummy
 * packet after ESP, or "protocol unreachable". */
static void ip4_deliver_other(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast)
{
	if (h->proto == IPPROTO_ETHERIP && n->bridges) { /* a bridge's frames */
		node_count(n, STAT_IP_DELIVERED);
		etherip_input(n, p, &h->src, h->hlen);
		return;
	}
	if (raw_wanted(n, h->proto, &h->src, &h->dst)) {
		node_count(n, STAT_IP_DELIVERED);
		raw_input(n, p, h->proto, &h->src, &h->dst, h->hlen);
		return;
	}
	if (h->proto == IPPROTO_NONE && p->in_done.proto == IPPROTO_ESP) {
		/* RFC 4303 2.6: a dummy packet, discarded without a word */
		node_drop(n, p, STAT_ESP_DUMMY);
		return;
	}
	if (!bcast && !(p->flags & PKT_LINKBCAST))
		icmp_error(n, p, ICMP_UNREACH, ICMP_UNREACH_PROTOCOL, 0);
	node_drop(n, p, STAT_IP_NOPROTO);
}

void ip4_deliver(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast)
{
	switch (h->proto) {
	case IPPROTO_ICMP:
		if (!ipsec_input_check(n, p))
			return;
		node_count(n, STAT_IP_DELIVERED);
		icmp_input(n, p, h, bcast);
		break;
	case IPPROTO_UDP:
	case IPPROTO_TCP:
		if (!ipsec_input_check(n, p))
			return;
		node_count(n, STAT_IP_DELIVERED);
		(h->proto == IPPROTO_UDP ? udp_input : tcp_input)(n, p, h, bcast);
		break;
	case IPPROTO_ESP:
	case IPPROTO_AH:
	case IPPROTO_IPCOMP:
	case IPPROTO_IPIP:
	case IPPROTO_IPV6: {
		node_count(n, STAT_IP_DELIVERED);
		struct ipsec_ip ip = {.af = ADDR_V4, .skip = h->hlen, .protoff = 9};
		if (h->proto == IPPROTO_ESP || h->proto == IPPROTO_AH || h->proto == IPPROTO_IPCOMP)
			ipsec_input(n, p, &ip, bcast);
		else
			ipip_input(n, p, &ip);
		break;
	}
	default:
		/* the input policy first, as ip_deliver's ipsec_local_check:
		 * cleartext where a flow wants IPsec gets no answer either */
		if (ipsec_input_check(n, p))
			ip4_deliver_other(n, p, h, bcast);
		break;
	}
}

void ip4_input(struct node *n, struct pkt *p)
{
	struct ip4_hdr h;
	enum stat_id why;
	unsigned ptr;
	bool bcast;

	node_count(n, STAT_IP_TOTAL);
	if (ip4_parse(p->data, p->len, &h, &why) < 0) {
		node_drop(n, p, why);
		return;
	}
	pkt_trim(p, h.len); /* drop link padding beyond the datagram */
	if (addr_is_multicast(&h.src) || addr_is_v4_limited_bcast(&h.src)) {
		node_drop(n, p, STAT_IP_BADADDR);
		return;
	}
	/* pf on the way in: of the interface, or of enc0 for what came out
	 * of a tunnel; not for what we looped to ourselves. */
	if (n->pf && (p->rcvif || (p->flags & PKT_ENCIF))) {
		const char *ifname = p->flags & PKT_ENCIF ? "enc0" : p->rcvif->name;
		if (!pf_test(n, PF_IN, ifname, p))
			return;
		if (ip4_parse(p->data, p->len, &h, &why) < 0) {
			node_drop(n, p, why);
			return;
		}
	}
	if (ip4_check_options(h.opts, h.optlen, &ptr) < 0) {
		icmp_error(n, p, ICMP_PARAMPROB, 0, ptr);
		node_drop(n, p, STAT_IP_BADOPTIONS);
		return;
	}
	if (!ip4_is_ours(n, &h.dst, p->rcvif, &bcast)) {
		if (addr_is_multicast(&h.dst) || !n->sysctl[SYSCTL_IP_FORWARDING]) {
			node_drop(n, p, STAT_IP_CANTFORWARD);
			return;
		}
		ip4_forward(n, p, &h);
		return;
	}
	if (h.off & (IP4_MF | IP4_OFFMASK)) {
		node_count(n, STAT_IP_FRAGMENTS);
		p = ip4_reass(n, p, &h);
		if (!p)
			return;
		/* Rebuilt by us from a checked first header, so this holds;
		 * were it ever not to, the datagram is dropped, not read. */
		if (ip4_parse(p->data, p->len, &h, &why) < 0) {
			node_drop(n, p, why);
			return;
		}
	}
	ip4_deliver(n, p, &h, bcast);
}
