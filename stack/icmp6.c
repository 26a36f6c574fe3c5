/* ICMPv6 (RFC 4443): echo, errors, and neighbor discovery's way in. */
#include "icmp6.h"

#include <errno.h>
#include <string.h>

#include "../sim/sim.h"
#include "cksum.h"
#include "icmp.h"
#include "iface.h"
#include "ip4.h" /* the protocol numbers */
#include "ip6.h"
#include "nd.h"
#include "node.h"
#include "tcp.h"
#include "udp.h"
#include "util.h"

#define ICMP6_MAXQUOTE (IP6_MIN_MTU - IP6_HDR_LEN - ICMP6_HDR_LEN) /* RFC 4443 2.4 (c) */

static enum stat_id icmp6_inhist(uint8_t type)
{
	switch (type) {
	case ICMP6_DST_UNREACH: return STAT_ICMP6_INHIST_UNREACH;
	case ICMP6_PACKET_TOO_BIG: return STAT_ICMP6_INHIST_TOOBIG;
	case ICMP6_TIME_EXCEEDED: return STAT_ICMP6_INHIST_TIMXCEED;
	case ICMP6_PARAM_PROB: return STAT_ICMP6_INHIST_PARAMPROB;
	case ICMP6_ECHO_REQUEST: return STAT_ICMP6_INHIST_ECHO;
	case ICMP6_ECHO_REPLY: return STAT_ICMP6_INHIST_ECHOREPLY;
	case ND_ROUTER_ADVERT: return STAT_ICMP6_INHIST_RA;
	case ND_NEIGHBOR_SOLICIT: return STAT_ICMP6_INHIST_NS;
	case ND_NEIGHBOR_ADVERT: return STAT_ICMP6_INHIST_NA;
	default: return STAT_ICMP6_INHIST_OTHER;
	}
}

static void icmp6_count_out(struct node *n, uint8_t type)
{
	switch (type) {
	case ICMP6_DST_UNREACH: node_count(n, STAT_ICMP6_OUTHIST_UNREACH); break;
	case ICMP6_PACKET_TOO_BIG: node_count(n, STAT_ICMP6_OUTHIST_TOOBIG); break;
	case ICMP6_TIME_EXCEEDED: node_count(n, STAT_ICMP6_OUTHIST_TIMXCEED); break;
	case ICMP6_PARAM_PROB: node_count(n, STAT_ICMP6_OUTHIST_PARAMPROB); break;
	case ICMP6_ECHO_REQUEST: node_count(n, STAT_ICMP6_OUTHIST_ECHO); break;
	case ICMP6_ECHO_REPLY: node_count(n, STAT_ICMP6_OUTHIST_ECHOREPLY); break;
	case ND_ROUTER_ADVERT: node_count(n, STAT_ICMP6_OUTHIST_RA); break;
	case ND_NEIGHBOR_SOLICIT: node_count(n, STAT_ICMP6_OUTHIST_NS); break;
	case ND_NEIGHBOR_ADVERT: node_count(n, STAT_ICMP6_OUTHIST_NA); break;
	default: break;
	}
}

const char *icmp6_describe(uint8_t type, uint8_t code)
{
	static const char *const unreach[] = {
	    "No route to destination", "Communication administratively prohibited",
	    "Beyond scope of source address", "Address unreachable", "Port unreachable"};
	switch (type) {
	case ICMP6_DST_UNREACH:
		return code < ARRAY_LEN(unreach) ? unreach[code] : "Destination unreachable";
	case ICMP6_PACKET_TOO_BIG: return "Packet too big";
	case ICMP6_TIME_EXCEEDED:
		return code == ICMP6_TIME_EXCEED_REASS ? "Fragment reassembly time exceeded"
						       : "Hop limit exceeded in transit";
	case ICMP6_PARAM_PROB: return "Parameter problem";
	default: return "ICMPv6";
	}
}

int icmp6_send(struct node *n, struct pkt *p, const struct ipaddr *src, const struct ipaddr *dst,
	       uint8_t hlim, struct iface *ifp)
{
	return icmp6_send_ext(n, p, src, dst, hlim, 0, ifp, NULL);
}

int icmp6_send_ext(struct node *n, struct pkt *p, const struct ipaddr *src,
		   const struct ipaddr *dst, uint8_t hlim, uint8_t tclass, struct iface *ifp,
		   const struct ip6_exthdrs *ext)
{
	/* The checksum covers the source address: choose it first. */
	struct ipaddr from;
	if (src) {
		from = *src;
	} else if (ifp) {
		const struct ifaddr *ia = NULL;
		for (unsigned i = 0; i < ifp->naddrs && !ia; i++)
			if (ifp->addrs[i].addr.af == ADDR_V6)
				ia = &ifp->addrs[i];
		if (!ia) {
			node_drop(n, p, STAT_IP6_ODROPPED);
			return -EADDRNOTAVAIL;
		}
		from = ia->addr;
	} else {
		int rc = ip6_select_src(n, dst, &from);
		if (rc < 0) {
			node_drop(n, p, rc == -ENETUNREACH ? STAT_IP6_NOROUTE : STAT_IP6_ODROPPED);
			return rc;
		}
	}
	put_be16(p->data + 2, 0);
	uint32_t s = cksum_pseudo(&from, dst, IPPROTO_ICMPV6, (uint32_t)p->len);
	put_be16(p->data + 2, cksum_fold(cksum_add(s, p->data, p->len)));
	icmp6_count_out(n, p->data[0]);
	struct ip6_out o = {.src = from,
			    .dst = *dst,
			    .nxt = IPPROTO_ICMPV6,
			    .hlim = hlim,
			    .tclass = tclass,
			    .ifp = ifp,
			    .ext = ext};
	return ip6_output(n, p, &o);
}

static bool icmp6_is_error(uint8_t type)
{
	return type < 128;
}

void icmp6_error(struct node *n, const struct pkt *orig, uint8_t type, uint8_t code, uint32_t info)
{
	struct ip6_hdr h;
	enum stat_id why;
	if (ip6_parse(orig->data, orig->len, &h, &why) < 0)
		return; /* only ever called with a checked header */
	/* RFC 4443 2.4 (e): not to a multicast destination or a link-layer
	 * multicast, except packet too big and an unrecognised option that
	 * asked for it; never from an unspecified or multicast source. */
	bool mcast_ok = type == ICMP6_PACKET_TOO_BIG ||
			(type == ICMP6_PARAM_PROB && code == ICMP6_PARAMPROB_OPTION);
	if (((addr_is_multicast(&h.dst) || (orig->flags & PKT_LINKBCAST)) && !mcast_ok) ||
	    addr_is_unspec(&h.src) || addr_is_multicast(&h.src)) {
		node_drop(n, NULL, STAT_ICMP6_CANTERROR);
		return;
	}
	/* Never about an ICMPv6 error (or a redirect, 137). */
	struct ip6_chain c;
	if (ip6_walk_quiet(orig->data, orig->len, &c) == 0 && c.proto == IPPROTO_ICMPV6 &&
	    !c.later_fragment) {
		if (c.off >= orig->len || icmp6_is_error(orig->data[c.off]) ||
		    orig->data[c.off] == 137) {
			node_drop(n, NULL, STAT_ICMP6_CANTERROR);
			return;
		}
	}
	int64_t limit = n->sysctl[SYSCTL_ICMP6_ERRPPSLIMIT];
	uint64_t second = n->sim->now / NS_PER_SEC;
	if (second != n->icmp6_err_second) {
		n->icmp6_err_second = second;
		n->icmp6_err_count = 0;
	}
	if (limit >= 0 && n->icmp6_err_count >= limit) {
		node_drop(n, NULL, STAT_ICMP6_TOOFREQ);
		return;
	}
	n->icmp6_err_count++;
	node_count(n, STAT_ICMP6_ERROR);
	size_t quote = MIN(orig->len, (size_t)ICMP6_MAXQUOTE);
	struct pkt *p = pkt_alloc(PKT_HEADROOM, ICMP6_HDR_LEN + quote);
	memset(p->data, 0, ICMP6_HDR_LEN);
	p->data[0] = type;
	p->data[1] = code;
	put_be32(p->data + 4, info); /* the MTU, the pointer, or unused (0) */
	memcpy(p->data + ICMP6_HDR_LEN, orig->data, quote);
	char a[ADDR_STRLEN];
	node_trace(n, "icmp6 error to %s: %s", addr_fmt(&h.src, a), icmp6_describe(type, code));
	/* From the address it was sent to, when that is one of ours; else
	 * from the interface the error leaves by (RFC 4443 2.2). */
	const struct ipaddr *from = node_owns_addr(n, &h.dst) ? &h.dst : NULL;
	/* a link-local source is reached back on the link it came from */
	icmp6_send(n, p, from, &h.src, 0, ip6_is_linklocal(&h.src) ? orig->rcvif : NULL);
}

/* An error came in: pass it to whoever sent the echo it quotes. */
static void icmp6_ctlinput(struct node *n, struct pkt *p, const struct ip6_hdr *h,
			   const uint8_t *icp, size_t len)
{
	const uint8_t *q = icp + ICMP6_HDR_LEN;
	size_t qlen = len - ICMP6_HDR_LEN;
	char a[ADDR_STRLEN];
	node_trace(n, "icmp6 from %s: %s", addr_fmt(&h->src, a), icmp6_describe(icp[0], icp[1]));
	/* the quoted header, and the echo request right behind it */
	if (qlen < IP6_HDR_LEN + ICMP6_HDR_LEN || q[0] >> 4 != 6) {
		node_drop(n, p, STAT_ICMP6_BADLEN);
		return;
	}
	struct ipaddr src = {.af = ADDR_V6}, dst = {.af = ADDR_V6};
	memcpy(src.a, q + 8, 16);
	memcpy(dst.a, q + 24, 16);
	if (icp[0] == ICMP6_PACKET_TOO_BIG && node_owns_addr(n, &src))
		ip6_pmtu_update(n, &dst, get_be32(icp + 4));
	/* the quoted packet's upper layer, behind its extension headers (a
	 * first fragment's too) */
	struct ip6_chain c;
	if (ip6_walk_quiet(q, qlen, &c) < 0 || c.later_fragment || c.off + ICMP6_HDR_LEN > qlen) {
		pkt_free(p);
		return;
	}
	const uint8_t *l4 = q + c.off;
	if (c.proto == IPPROTO_UDP && node_owns_addr(n, &src))
		udp6_ctlinput(n, icp[0], icp[1], &src, l4);
	if (c.proto == IPPROTO_TCP && node_owns_addr(n, &src))
		tcp6_ctlinput(n, icp[0], icp[1], get_be32(icp + 4), &src, &dst, l4);
	if (c.proto == IPPROTO_ICMPV6 && l4[0] == ICMP6_ECHO_REQUEST && node_owns_addr(n, &src)) {
		icmp_echo_error_in(n, &h->src, icp[0], icp[1], get_be32(icp + 4), l4);
	}
	pkt_free(p);
}

void icmp6_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off)
{
	size_t len = p->len - off;
	if (len < ICMP6_HDR_LEN) {
		node_drop(n, p, STAT_ICMP6_TOOSHORT);
		return;
	}
	uint8_t *icp = p->data + off;
	uint32_t s = cksum_pseudo(&h->src, &h->dst, IPPROTO_ICMPV6, (uint32_t)len);
	if (cksum_fold(cksum_add(s, icp, len)) != 0) {
		node_drop(n, p, STAT_ICMP6_CHECKSUM);
		return;
	}
	uint8_t type = icp[0], code = icp[1];
	node_count(n, icmp6_inhist(type));
	switch (type) {
	case ICMP6_ECHO_REQUEST: {
		if (code != 0) {
			node_drop(n, p, STAT_ICMP6_BADCODE);
			return;
		}
		/* The reply goes from the address asked; to a group, from the
		 * interface's own address (RFC 4443 4.2). */
		struct ipaddr dst = h->src, asked = h->dst;
		bool mcast = addr_is_multicast(&asked);
		struct iface *ifp = p->rcvif;
		pkt_pull(p, off);
		p->data[0] = ICMP6_ECHO_REPLY;
		p->flags = 0;
		p->rcvif = NULL;
		node_count(n, STAT_ICMP6_REFLECT);
		icmp6_send(n, p, mcast ? NULL : &asked, &dst, 0,
			   mcast || ip6_is_linklocal(&dst) ? ifp : NULL);
		return;
	}
	case ICMP6_ECHO_REPLY: /* the same layout as ICMP's */
		if (!icmp_echo_reply_in(n, &h->src, h->hlim, icp, len)) {
			node_drop(n, p, STAT_ICMP6_UNHANDLED);
			return;
		}
		pkt_free(p);
		return;
	case ICMP6_DST_UNREACH:
	case ICMP6_PACKET_TOO_BIG:
	case ICMP6_TIME_EXCEEDED:
	case ICMP6_PARAM_PROB: icmp6_ctlinput(n, p, h, icp, len); return;
	case ND_NEIGHBOR_SOLICIT:
	case ND_NEIGHBOR_ADVERT: nd_input(n, p, h, off); return;
	case ND_ROUTER_ADVERT: nd_ra_input(n, p, h, off); return;
	default: node_drop(n, p, STAT_ICMP6_UNHANDLED); return;
	}
}
