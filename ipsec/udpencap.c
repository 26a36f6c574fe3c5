/*
 * ESP in UDP (RFC 3948) as OpenBSD's kernel does it (reference section
 * 3): the UDP header after the ESP transform (ipsp_process_done), the
 * receive branch of udp_input on net.inet.esp.udpencap_port, the
 * transport-mode checksum fix-ups (ipsec_common_input_cb), and two things
 * OpenBSD leaves to iked: NAT keepalives and following the peer's port
 * when its NAT mapping changes (docs/pf.md says why they are here).
 */
#include "udpencap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "../stack/cksum.h"
#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/node.h"
#include "../stack/tcp.h"
#include "../stack/udp.h"
#include "../stack/util.h"
#include "ipsec_io.h"
#include "ipsec_ip.h"
#include "pfkey.h"
#include "sad.h"

#define UDPENCAP_HDR 8

static uint16_t encap_port(const struct node *n)
{
	return (uint16_t)n->sysctl[SYSCTL_ESP_UDPENCAP_PORT];
}

bool udpencap_enabled(const struct node *n)
{
	return n->sysctl[SYSCTL_ESP_UDPENCAP] && encap_port(n) && n->sysctl[SYSCTL_ESP_ENABLE];
}

int udpencap_output(struct node *n, struct tdb *t, struct pkt *p)
{
	if (!n->sysctl[SYSCTL_ESP_UDPENCAP] || !encap_port(n)) {
		node_drop(n, p, STAT_ESP_NOUDPENCAP);
		return -ENXIO;
	}
	struct ipsec_ip ip;
	if (ipsec_ip_out(p->data, p->len, &ip) < 0 || p->len + UDPENCAP_HDR > ipsec_ip_max(ip.af)) {
		node_drop(n, p, STAT_IP_ODROPPED);
		return -EMSGSIZE;
	}
	/* 8 bytes after the outer IP header (and IPv6's headers before ESP) */
	uint8_t *b = pkt_push(p, UDPENCAP_HDR);
	memmove(b, b + UDPENCAP_HDR, ip.skip);
	size_t ulen = p->len - ip.skip;
	struct udp_hdr uh = {.sport = encap_port(n),
			     .dport = t->udpencap_port ? t->udpencap_port : encap_port(n),
			     .len = (uint16_t)ulen,
			     .sum = 0};
	udp_emit(b + ip.skip, &uh);
	ipsec_ip_fix(b, p->len, &ip, IPPROTO_UDP);
	if (ip.af == ADDR_V6) {
		/* RFC 3948 2.1 lets IPv4 send no checksum; IPv6 must have one */
		struct ipaddr s = ipsec_ip_src(b), d = ipsec_ip_dst(b);
		uint32_t sum = cksum_pseudo(&s, &d, IPPROTO_UDP, (uint32_t)ulen);
		uint16_t ck = cksum_fold(cksum_add(sum, b + ip.skip, ulen));
		put_be16(b + ip.skip + 6, ck ? ck : 0xffff);
	}
	t->encap_out_at = n->sim->now ? n->sim->now : 1; /* 0: never sent */
	node_count(n, STAT_ESP_UDPENCOUT);
	udpencap_keepalive_arm(n);
	return 0;
}

bool udpencap_input(struct node *n, struct pkt *p, size_t hlen, const struct udp_hdr *uh,
		    bool bcast)
{
	if (uh->dport != encap_port(n) || !udpencap_enabled(n))
		return false;
	size_t plen = uh->len - UDPENCAP_HDR;
	if (plen < 4) {
		/* a NAT keepalive (0xFF) or anything else too short for an SPI:
		 * consumed here, never seen by the IKE socket */
		node_drop(n, p, STAT_ESP_UDPKEEPALIVE);
		return true;
	}
	if (get_be32(p->data + hlen + UDPENCAP_HDR) == 0)
		return false; /* the non-ESP marker: IKE, for the daemon's socket */
	struct ipsec_ip ip = {.af = ipsec_ip_af(p->data, p->len), .skip = hlen, .protoff = 9};
	if (ip.af == ADDR_V6) {
		struct ip6_chain c;
		if (ip6_walk_quiet(p->data, p->len, &c) < 0) {
			node_drop(n, p, STAT_UDP_HDROPS); /* walked once already */
			return true;
		}
		ip.protoff = c.n ? c.ext[c.n - 1].off : 6;
	}
	/* the UDP header out: what follows the IP headers is ESP */
	p->encap_sport = uh->sport;
	memmove(p->data + UDPENCAP_HDR, p->data, hlen);
	pkt_pull(p, UDPENCAP_HDR);
	pkt_trim(p, hlen + plen);
	ipsec_ip_fix(p->data, p->len, &ip, IPPROTO_ESP);
	node_count(n, STAT_ESP_UDPENCIN);
	ipsec_input(n, p, &ip, bcast);
	return true;
}

/* RFC 3948 3.1.2 in transport mode: the inner checksum was made over
 * addresses a NAT may have changed.  As OpenBSD: UDP over IPv4 gets no
 * checksum, UDP over IPv6 and TCP a new one over the received addresses.
 * False when the segment is too short (dropped). */
bool udpencap_transport_fixup(struct node *n, struct pkt *p, size_t off, uint8_t nh)
{
	if (nh != IPPROTO_UDP && nh != IPPROTO_TCP)
		return true;
	size_t len = p->len - off;
	size_t ck = nh == IPPROTO_UDP ? 6 : 16;
	if (len < ck + 2) {
		node_drop(n, p, nh == IPPROTO_UDP ? STAT_UDP_HDROPS : STAT_TCP_RCVSHORT);
		return false;
	}
	uint8_t *seg = p->data + off;
	bool v6 = ipsec_ip_af(p->data, p->len) == ADDR_V6;
	if (nh == IPPROTO_UDP && !v6) {
		put_be16(seg + 6, 0);
		return true;
	}
	struct ipaddr s = ipsec_ip_src(p->data), d = ipsec_ip_dst(p->data);
	put_be16(seg + ck, 0);
	uint16_t sum = cksum_fold(cksum_add(cksum_pseudo(&s, &d, nh, (uint32_t)len), seg, len));
	if (nh == IPPROTO_UDP && sum == 0)
		sum = 0xffff;
	put_be16(seg + ck, sum);
	return true;
}

/* Two SAs of one pair: the filters are each other's mirror. */
static bool filters_mirror(const struct tdb *in, const struct tdb *out)
{
	const struct spd_sel *a = &in->filter, *b = &out->filter;
	return addr_eq(&a->src, &b->dst) && addr_eq(&a->dst, &b->src) && a->proto == b->proto &&
	       a->sport == b->dport && a->dport == b->sport &&
	       in->filtermask.src_plen == out->filtermask.dst_plen &&
	       in->filtermask.dst_plen == out->filtermask.src_plen;
}

void udpencap_float(struct node *n, struct tdb *in, const struct ipaddr *from, uint16_t sport)
{
	/* The SAD is walked only when this SA's peer port changes, not for
	 * every packet. */
	if (in->encap_sport_seen == sport)
		return;
	in->encap_sport_seen = sport;
	struct ipsec_state *st = n->ipsec;
	for (struct tdb *t = sad_first_to(&st->sad, from, IPPROTO_ESP); t;
	     t = sad_next_to(t, from, IPPROTO_ESP)) { /* the SAs to the peer, newest first */
		if (!(t->flags & TDBF_UDPENCAP) || (t->flags & TDBF_INVALID) ||
		    !addr_eq(&t->src, &in->dst))
			continue;
		/* With flow filters the pair is known exactly; without, every
		 * SA to that address follows (one peer behind it). */
		if (in->has_filter && t->has_filter && !filters_mirror(in, t))
			continue;
		uint16_t now = t->udpencap_port ? t->udpencap_port : encap_port(n);
		if (now == sport)
			continue;
		char a[ADDR_STRLEN];
		node_trace(n, "esp: SA %08x to %s follows its peer from port %u to %u", t->spi,
			   addr_fmt(from, a), now, sport);
		t->udpencap_port = sport;
		node_count(n, STAT_ESP_UDPFLOAT);
	}
}

/* ---- NAT keepalives (RFC 3948 2.3, 4) ---- */

static void keepalive_send(struct node *n, const struct tdb *t)
{
	struct pkt *p = pkt_alloc(PKT_HEADROOM, UDP_HDR_LEN + 1);
	struct udp_hdr uh = {.sport = encap_port(n),
			     .dport = t->udpencap_port ? t->udpencap_port : encap_port(n),
			     .len = UDP_HDR_LEN + 1};
	p->data[UDP_HDR_LEN] = 0xff;
	udp_emit(p->data, &uh);
	uint16_t ck =
	    cksum_fold(cksum_add(cksum_pseudo(&t->src, &t->dst, IPPROTO_UDP, UDP_HDR_LEN + 1),
				 p->data, UDP_HDR_LEN + 1));
	put_be16(p->data + 6, ck ? ck : 0xffff);
	node_count(n, STAT_ESP_UDPKEEPALIVEOUT);
	if (t->dst.af == ADDR_V6) {
		struct ip6_out o = {.src = t->src, .dst = t->dst, .nxt = IPPROTO_UDP};
		ip6_output(n, p, &o);
	} else {
		struct ip4_out o = {.src = t->src, .dst = t->dst, .proto = IPPROTO_UDP};
		ip4_output(n, p, &o);
	}
}

struct ka_ev {
	struct node *n;
	uint64_t when;
};

static void keepalive_at(struct node *n, uint64_t when);

static void keepalive_ev(struct sim *s, void *arg)
{
	struct ka_ev *ev = arg;
	struct node *n = ev->n;
	uint64_t when = ev->when;
	free(ev);
	struct ipsec_state *st = n->ipsec;
	if (!st || st->keepalive_at != when)
		return; /* superseded */
	st->keepalive_at = 0;
	uint64_t ival = (uint64_t)n->sysctl[SYSCTL_ESP_UDPENCAP_KEEPALIVE] * NS_PER_SEC;
	if (!ival || !udpencap_enabled(n))
		return;
	uint64_t next = UINT64_MAX;
	/* Each outbound NAT-T SA that sent nothing for an interval keeps its
	 * NAT mapping open with one 0xFF byte (RFC 3948 4). */
	for (struct tdb *t = st->sad.head; t; t = t->next) {
		if (t->sproto != IPPROTO_ESP || !(t->flags & TDBF_UDPENCAP) ||
		    (t->flags & TDBF_INVALID) || !node_owns_addr(n, &t->src) || !t->encap_out_at)
			continue;
		if (s->now - t->encap_out_at >= ival) {
			t->encap_out_at = s->now;
			keepalive_send(n, t);
		}
		next = MIN(next, t->encap_out_at + ival);
	}
	if (next != UINT64_MAX)
		keepalive_at(n, next);
}

static void keepalive_at(struct node *n, uint64_t when)
{
	struct ipsec_state *st = n->ipsec;
	struct ka_ev *ev = xmalloc(sizeof(*ev));
	ev->n = n;
	ev->when = st->keepalive_at = when;
	sim_at(n->sim, when, keepalive_ev, free, ev);
}

void udpencap_keepalive_arm(struct node *n)
{
	struct ipsec_state *st = n->ipsec;
	uint64_t ival = (uint64_t)n->sysctl[SYSCTL_ESP_UDPENCAP_KEEPALIVE] * NS_PER_SEC;
	if (st && ival && !st->keepalive_at)
		keepalive_at(n, n->sim->now + ival);
}
