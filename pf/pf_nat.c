/*
 * Translation: choosing the new address and port (pf_lb.c: pf_get_sport,
 * pf_get_transaddr) and rewriting a packet with its checksums kept right
 * incrementally (pf.c: pf_translate, pf_translate_icmp, pf_cksum_fixup;
 * RFC 1624), so that a checksum that was wrong stays exactly as wrong.
 */
#include <string.h>

#include "../sim/sim.h"
#include "../stack/cksum.h"
#include "../stack/icmp.h"
#include "../stack/icmp6.h"
#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/tcp.h"
#include "../stack/util.h"
#include "pf_var.h"

/* ---- checksums ---- */

static uint32_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), where m and m' are the sums of
 * the old and the new contents of whatever changed. */
static uint16_t cksum_adjust(uint16_t ck, uint32_t oldsum, uint32_t newsum)
{
	uint32_t s = (uint16_t)~ck;
	s += (uint16_t)~fold(oldsum);
	s += fold(newsum);
	return (uint16_t)~fold(s);
}

static uint32_t addr_sum(const struct ipaddr *a)
{
	return cksum_add(0, a->a, addr_len(a->af));
}

static void fix16(uint8_t *ckp, uint32_t oldsum, uint32_t newsum, bool udp)
{
	uint16_t ck = get_be16(ckp);
	if (udp && ck == 0)
		return; /* no checksum (IPv4 UDP) stays none */
	ck = cksum_adjust(ck, oldsum, newsum);
	if (udp && ck == 0)
		ck = 0xffff; /* RFC 768: a computed zero is sent as all ones */
	put_be16(ckp, ck);
}

static void put_addr(uint8_t *at, const struct ipaddr *a)
{
	memcpy(at, a->a, addr_len(a->af));
}

void pf_translate(struct pkt *p, const struct pf_pdesc *pd, const struct ipaddr *src,
		  uint16_t sport, const struct ipaddr *dst, uint16_t dport)
{
	uint8_t *ip = p->data;
	size_t so = pd->af == ADDR_V4 ? 12 : 8, dof = pd->af == ADDR_V4 ? 16 : 24;
	uint32_t a_old = addr_sum(&pd->src) + addr_sum(&pd->dst);
	uint32_t a_new = addr_sum(src) + addr_sum(dst);
	if (pd->af == ADDR_V4)
		fix16(ip + 10, a_old, a_new, false); /* the header checksum */
	if (!pd->fragment) {
		uint8_t *t = ip + pd->off;
		switch (pd->proto) {
		case IPPROTO_TCP:
		case IPPROTO_UDP: {
			uint32_t o = a_old + pd->sport + pd->dport;
			uint32_t nw = a_new + sport + dport;
			size_t ck = pd->proto == IPPROTO_TCP ? 16 : 6;
			fix16(t + ck, o, nw, pd->proto == IPPROTO_UDP);
			put_be16(t, sport);
			put_be16(t + 2, dport);
			break;
		}
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6: {
			if (!pd->icmp_query && !pd->icmp_reply && pd->af == ADDR_V4)
				break;
			/* the echo id is the querier's "port" */
			uint16_t oid = pd->icmp_id, nid = pd->icmp_query ? sport : dport;
			if (!pd->icmp_query && !pd->icmp_reply)
				nid = oid;
			uint32_t o = oid, nw = nid;
			if (pd->af == ADDR_V6) { /* ICMPv6 covers the pseudo header */
				o += a_old;
				nw += a_new;
			}
			fix16(t + 2, o, nw, false);
			put_be16(t + 4, nid);
			break;
		}
		default: break;
		}
	}
	put_addr(ip + so, src);
	put_addr(ip + dof, dst);
}

/* An ICMP error about a translated flow: the quoted packet's addresses and
 * ports, the quoted IPv4 header checksum, and one outer address.  As
 * OpenBSD: the quoted UDP checksum becomes 0, the quoted TCP checksum is
 * left alone (only 8 bytes of it may be there), the ICMP checksum is kept
 * right incrementally. */
void pf_translate_icmp(struct pkt *p, const struct pf_pdesc *pd, size_t q, size_t qt,
		       uint8_t qproto, const struct ipaddr *qsrc, uint16_t qsport,
		       const struct ipaddr *qdst, uint16_t qdport, const struct ipaddr *outer,
		       bool outer_is_dst)
{
	uint8_t *ip = p->data;
	uint8_t *icmp = ip + pd->off;
	size_t ilen = pd->tot_len - pd->off;
	bool v4 = pd->af == ADDR_V4;
	size_t so = v4 ? 12 : 8, dof = v4 ? 16 : 24;

	uint16_t ck = get_be16(icmp + 2);
	put_be16(icmp + 2, 0);
	uint32_t before = cksum_add(0, icmp, ilen);
	struct ipaddr oa;
	oa.af = pd->af;
	memcpy(oa.a, ip + (outer_is_dst ? dof : so), addr_len(pd->af));
	if (!v4)
		before += addr_sum(&oa);

	/* the quoted packet */
	if (v4) {
		struct ipaddr os = addr_v4(ip + q + 12), od = addr_v4(ip + q + 16);
		fix16(ip + q + 10, addr_sum(&os) + addr_sum(&od), addr_sum(qsrc) + addr_sum(qdst),
		      false);
	}
	put_addr(ip + q + so, qsrc);
	put_addr(ip + q + dof, qdst);
	if (qproto == IPPROTO_TCP || qproto == IPPROTO_UDP) {
		put_be16(ip + qt, qsport);
		put_be16(ip + qt + 2, qdport);
		if (qproto == IPPROTO_UDP && pd->tot_len >= qt + 8)
			put_be16(ip + qt + 6, 0);
	} else if (qproto == IPPROTO_ICMP || qproto == IPPROTO_ICMPV6) {
		/* the quoted echo's id (its own checksum is not fixed, as the
		 * quoted TCP one is not) */
		uint8_t t = ip[qt];
		bool req = t == (v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST);
		put_be16(ip + qt + 4, req ? qsport : qdport);
	}

	uint32_t after = cksum_add(0, icmp, ilen);
	if (!v4)
		after += addr_sum(outer);
	put_be16(icmp + 2, cksum_adjust(ck, before, after));
	/* the outer address, and the IPv4 header checksum */
	if (v4)
		fix16(ip + 10, addr_sum(&oa), addr_sum(outer), false);
	put_addr(ip + (outer_is_dst ? dof : so), outer);
}

/* ---- choosing addresses and ports ---- */

/* The pool's address for a, keeping a's host bits with bitmask. */
static struct ipaddr pool_addr(const struct pf_pool *pool, const struct ipaddr *a)
{
	struct ipaddr r = pool->a;
	if (!pool->bitmask || pool->plen >= addr_bits(r.af))
		return r;
	for (unsigned i = 0; i < addr_len(r.af); i++) {
		unsigned bit = i * 8;
		uint8_t mask;
		if (bit + 8 <= pool->plen)
			mask = 0xff;
		else if (bit >= pool->plen)
			mask = 0;
		else
			mask = (uint8_t)(0xff << (8 - (pool->plen - bit)));
		r.a[i] = (uint8_t)((pool->a.a[i] & mask) | (a->a[i] & ~mask));
	}
	return r;
}

static bool has_ports(const struct pf_pdesc *pd)
{
	return pd->proto == IPPROTO_TCP || pd->proto == IPPROTO_UDP || pd->icmp_query;
}

/* Is this source (address, port) free towards the packet's destination:
 * no state has the wire key it would make? */
static bool sport_free(struct pf *pf, const struct pf_pdesc *pd, const struct ipaddr *a,
		       uint16_t port)
{
	struct pf_skey k;
	memset(&k, 0, sizeof(k));
	k.af = pd->af;
	k.proto = pd->proto;
	k.addr[0] = pd->dst;
	k.port[0] = pd->dport;
	k.addr[1] = *a;
	k.port[1] = port;
	return !pf_find_key(pf, &k, -1);
}

int pf_get_transaddr(struct node *n, struct pf *pf, const struct pf_rule *r, struct pf_pdesc *pd)
{
	if (r->rdr.set) {
		/* rdr-to: the destination; the port mapped into the pool's
		 * range as the rule's port range maps onto it. */
		pd->dst = pool_addr(&r->rdr, &pd->dst);
		if (r->rdr.plow && (pd->proto == IPPROTO_TCP || pd->proto == IPPROTO_UDP)) {
			uint16_t port = r->rdr.plow;
			if (r->rdr.phigh > r->rdr.plow && r->dport.op == PF_OP_RRG) {
				uint32_t size = (uint32_t)r->rdr.phigh - r->rdr.plow + 1;
				port = (uint16_t)(((uint32_t)(pd->dport - r->dport.a)) % size +
						  r->rdr.plow);
			}
			pd->dport = port;
		}
		return 0;
	}
	struct ipaddr na = pool_addr(&r->nat, &pd->src);
	if (pd->fragment) {
		pd->src = na;
		return 0;
	}
	if (!has_ports(pd)) {
		/* no port to tell flows apart: only one at a time (ESP!) */
		if (!sport_free(pf, pd, &na, 0))
			return -1;
		pd->src = na;
		return 0;
	}
	uint16_t low = r->nat.plow, high = r->nat.phigh;
	if (pd->icmp_query && !r->nat.static_port) {
		low = 1;
		high = 65535;
	}
	if (r->nat.static_port || low == 0) {
		if (!sport_free(pf, pd, &na, pd->sport))
			return -1;
		pd->src = na;
		return 0;
	}
	/* pf_get_sport: a random start, up to the top, then down from below
	 * the start; the draw is from the node's stream. */
	uint16_t cut =
	    low == high ? low : (uint16_t)(low + rng_next(&n->rng) % ((uint32_t)high - low + 1));
	for (uint32_t t = cut; t <= high; t++)
		if (sport_free(pf, pd, &na, (uint16_t)t)) {
			pd->src = na;
			pd->sport = (uint16_t)t;
			return 0;
		}
	for (uint32_t t = cut; t-- > low;)
		if (sport_free(pf, pd, &na, (uint16_t)t)) {
			pd->src = na;
			pd->sport = (uint16_t)t;
			return 0;
		}
	return -1;
}
