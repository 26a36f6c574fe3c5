#include "udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/ipsec_io.h"
#include "../ipsec/udpencap.h"
#include "../sim/sim.h"
#include "cksum.h"
#include "icmp.h"
#include "icmp6.h"
#include "ip4.h"
#include "ip6.h"
#include "mem.h"
#include "node.h"
#include "util.h"

int udp_parse(const uint8_t *b, size_t len, struct udp_hdr *h)
{
	if (len < UDP_HDR_LEN)
		return -1;
	h->sport = get_be16(b);
	h->dport = get_be16(b + 2);
	h->len = get_be16(b + 4);
	h->sum = get_be16(b + 6);
	return 0;
}

void udp_emit(uint8_t *b, const struct udp_hdr *h)
{
	put_be16(b, h->sport);
	put_be16(b + 2, h->dport);
	put_be16(b + 4, h->len);
	put_be16(b + 6, h->sum);
}

struct udp_sock *udp_open(struct node *n)
{
	struct udp_sock *s = xcalloc(1, sizeof(*s));
	struct udp_sock **tail = &n->udp_socks;
	s->node = n;
	seclevel_init(n, &s->sl);
	while (*tail)
		tail = &(*tail)->next;
	*tail = s;
	return s;
}

static bool udp_port_used(struct node *n, const struct ipaddr *laddr, uint16_t port)
{
	for (struct udp_sock *s = n->udp_socks; s; s = s->next)
		if (s->lport == port && (s->laddr.af == ADDR_NONE || laddr == NULL ||
					 laddr->af == ADDR_NONE || addr_eq(&s->laddr, laddr)))
			return true;
	return false;
}

int udp_bind(struct udp_sock *s, const struct ipaddr *laddr, uint16_t port)
{
	struct node *n = s->node;
	if (laddr && laddr->af != ADDR_NONE && !node_owns_addr(n, laddr))
		return -EADDRNOTAVAIL;
	if (port == 0) {
		/* OpenBSD picks ephemeral ports at random; so do we, seeded. */
		unsigned span = UDP_EPHEMERAL_LAST - UDP_EPHEMERAL_FIRST + 1;
		unsigned start = (unsigned)rng_below(&n->rng, span);
		for (unsigned i = 0; i < span; i++) {
			uint16_t cand = (uint16_t)(UDP_EPHEMERAL_FIRST + (start + i) % span);
			if (!udp_port_used(n, laddr, cand)) {
				port = cand;
				break;
			}
		}
		if (port == 0)
			return -EADDRINUSE;
	} else if (udp_port_used(n, laddr, port)) {
		return -EADDRINUSE;
	}
	if (laddr)
		s->laddr = *laddr;
	s->lport = port;
	return 0;
}

int udp_sendto(struct udp_sock *s, const struct ipaddr *dst, uint16_t dport, const void *data,
	       size_t len, const struct udp_send_opts *o)
{
	struct node *n = s->node;
	struct ipaddr src;
	bool v6 = dst->af == ADDR_V6;

	if (len > (v6 ? IP6_MAXPAYLOAD : IP4_MAXPACKET - IP4_HDR_LEN) - UDP_HDR_LEN)
		return -EMSGSIZE;
	if (!s->lport) {
		int r = udp_bind(s, NULL, 0);
		if (r < 0)
			return r;
	}
	if (o && o->src) {
		if (o->src->af != dst->af || !node_owns_addr(n, o->src))
			return -EADDRNOTAVAIL;
		src = *o->src;
	} else if (s->laddr.af != ADDR_NONE) {
		if (s->laddr.af != dst->af)
			return -EAFNOSUPPORT;
		src = s->laddr;
	} else {
		int r = v6 ? ip6_select_src(n, dst, &src) : ip4_select_src(n, dst, &src);
		if (r < 0) {
			node_drop(n, NULL, v6 ? STAT_IP6_NOROUTE : STAT_IP_NOROUTE);
			return r;
		}
	}
	struct pkt *p = pkt_alloc(PKT_HEADROOM, UDP_HDR_LEN + len);
	pkt_set_seclevel(p, &s->sl);
	struct udp_hdr h = {s->lport, dport, (uint16_t)(UDP_HDR_LEN + len), 0};
	udp_emit(p->data, &h);
	if (len)
		memcpy(p->data + UDP_HDR_LEN, data, len);
	/* RFC 8200 8.1: over IPv6 the checksum is not optional */
	if (v6 || n->sysctl[SYSCTL_UDP_CHECKSUM]) {
		uint32_t sum = cksum_pseudo(&src, dst, IPPROTO_UDP, h.len);
		uint16_t c = cksum_fold(cksum_add(sum, p->data, p->len));
		put_be16(p->data + 6, c ? c : 0xffff); /* RFC 768: zero means none */
	}
	node_count(n, STAT_UDP_OPACKETS);
	if (v6) {
		struct ip6_out o6 = {.src = src, .dst = *dst, .nxt = IPPROTO_UDP};
		if (o) {
			o6.hlim = o->ttl;
			o6.tclass = o->tos;
		}
		return ip6_output(n, p, &o6);
	}
	struct ip4_out io = {.src = src, .dst = *dst, .proto = IPPROTO_UDP};
	if (o) {
		io.ttl = o->ttl;
		io.tos = o->tos;
		io.df = o->df;
	}
	return ip4_output(n, p, &io);
}

ssize_t udp_recvfrom(struct udp_sock *s, void *buf, size_t cap, struct ipaddr *src, uint16_t *sport)
{
	return udp_recvmsg(s, buf, cap, src, sport, NULL);
}

ssize_t udp_recvmsg(struct udp_sock *s, void *buf, size_t cap, struct ipaddr *src,
		    uint16_t *sport, struct ipaddr *dst)
{
	struct udp_dgram *d = s->rq_head;
	if (!d)
		return -EAGAIN;
	s->rq_head = d->next;
	if (!s->rq_head)
		s->rq_tail = NULL;
	s->rq_bytes -= d->p->len;
	size_t len = d->p->len;
	if (buf)
		memcpy(buf, d->p->data, MIN(len, cap));
	if (src)
		*src = d->src;
	if (sport)
		*sport = d->sport;
	if (dst)
		*dst = d->dst;
	pkt_free(d->p);
	free(d);
	return (ssize_t)len;
}

void udp_close(struct udp_sock *s)
{
	for (struct udp_sock **pp = &s->node->udp_socks; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	while (udp_recvfrom(s, NULL, 0, NULL, NULL) >= 0)
		;
	free(s);
}

void udp_free_all(struct node *n)
{
	while (n->udp_socks)
		udp_close(n->udp_socks);
}

/* Exact local address first, then the wildcard (in_pcblookup order). */
static struct udp_sock *udp_lookup(struct node *n, const struct ipaddr *dst, uint16_t port)
{
	struct udp_sock *wild = NULL;
	for (struct udp_sock *s = n->udp_socks; s; s = s->next) {
		if (s->lport != port)
			continue;
		if (s->laddr.af != ADDR_NONE && addr_eq(&s->laddr, dst))
			return s;
		if (s->laddr.af == ADDR_NONE && !wild)
			wild = s;
	}
	return wild;
}

const struct seclevel *udp_seclevel_for(struct node *n, const struct ipaddr *dst, uint16_t port)
{
	const struct udp_sock *s = udp_lookup(n, dst, port);
	return s ? &s->sl : NULL;
}

/* A datagram at hlen in p, iplen bytes to the end of the IP payload. */
static void udp_input_common(struct node *n, struct pkt *p, const struct ipaddr *src,
			     const struct ipaddr *dst, size_t hlen, size_t iplen, bool bcast)
{
	struct udp_hdr uh;
	bool v6 = src->af == ADDR_V6;

	node_count(n, STAT_UDP_IPACKETS);
	if (udp_parse(p->data + hlen, iplen, &uh) < 0) {
		node_drop(n, p, STAT_UDP_HDROPS);
		return;
	}
	if (uh.len < UDP_HDR_LEN || uh.len > iplen) {
		node_drop(n, p, STAT_UDP_BADLEN);
		return;
	}
	if (uh.sum == 0 && v6) {
		node_drop(n, p, STAT_UDP_BADSUM); /* RFC 8200 8.1: zero is not allowed */
		return;
	}
	if (uh.sum == 0) {
		node_count(n, STAT_UDP_NOSUM);
	} else {
		uint32_t sum = cksum_pseudo(src, dst, IPPROTO_UDP, uh.len);
		if (cksum_fold(cksum_add(sum, p->data + hlen, uh.len)) != 0) {
			node_drop(n, p, STAT_UDP_BADSUM);
			return;
		}
	}
	/* NAT-T: ESP in UDP on net.inet.esp.udpencap_port (RFC 3948) */
	if (udpencap_input(n, p, hlen, &uh, bcast))
		return;
	struct udp_sock *s = udp_lookup(n, dst, uh.dport);
	/* udp_input's IPsec check with the socket's levels: REQUIRE refuses
	 * what did not come through IPsec (udps_nosec) */
	if (s && !ipsec_seclevel_input_ok(p, &s->sl)) {
		node_drop(n, p, STAT_UDP_NOSEC);
		return;
	}
	if (!s) {
		if (bcast || (p->flags & PKT_LINKBCAST)) {
			node_drop(n, p, STAT_UDP_NOPORTBCAST);
			return;
		}
		if (v6)
			icmp6_error(n, p, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0);
		else
			icmp_error(n, p, ICMP_UNREACH, ICMP_UNREACH_PORT, 0);
		node_drop(n, p, STAT_UDP_NOPORT);
		return;
	}
	size_t plen = uh.len - UDP_HDR_LEN;
	if (s->rq_bytes + plen > (uint64_t)n->sysctl[SYSCTL_UDP_RECVSPACE]) {
		node_drop(n, p, STAT_UDP_FULLSOCK);
		return;
	}
	struct udp_dgram *d = xcalloc(1, sizeof(*d));
	d->src = *src;
	d->dst = *dst;
	d->sport = uh.sport;
	pkt_pull(p, hlen + UDP_HDR_LEN);
	pkt_trim(p, plen);
	d->p = p;
	if (s->rq_tail)
		s->rq_tail->next = d;
	else
		s->rq_head = d;
	s->rq_tail = d;
	s->rq_bytes += plen;
	s->rx_packets++;
	s->rx_bytes += plen;
	if (s->on_recv)
		s->on_recv(s, s->cb_arg);
}

void udp_input(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast)
{
	udp_input_common(n, p, &h->src, &h->dst, h->hlen, h->len - h->hlen, bcast);
}

void udp6_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off)
{
	udp_input_common(n, p, &h->src, &h->dst, off, p->len - off, false);
}

/* The socket that sent from sport (and src), told of an error. */
static void udp_so_error(struct node *n, const struct ipaddr *src, uint16_t sport, int err)
{
	for (struct udp_sock *s = n->udp_socks; s; s = s->next) {
		if (s->lport != sport)
			continue;
		if (s->laddr.af != ADDR_NONE && !addr_eq(&s->laddr, src))
			continue;
		if (err)
			s->so_error = err;
		return;
	}
}

void udp_ctlinput(struct node *n, uint8_t type, uint8_t code, const struct ip4_hdr *inner,
		  const uint8_t *l4)
{
	int err = 0;
	if (type == ICMP_UNREACH && code == ICMP_UNREACH_PORT)
		err = ECONNREFUSED;
	else if (type == ICMP_UNREACH && code == ICMP_UNREACH_NEEDFRAG)
		err = EMSGSIZE;
	else if (type == ICMP_UNREACH || type == ICMP_TIMXCEED)
		err = EHOSTUNREACH;
	udp_so_error(n, &inner->src, get_be16(l4), err);
}

void udp6_ctlinput(struct node *n, uint8_t type, uint8_t code, const struct ipaddr *src,
		   const uint8_t *l4)
{
	int err = 0;
	if (type == ICMP6_DST_UNREACH && code == ICMP6_DST_UNREACH_NOPORT)
		err = ECONNREFUSED;
	else if (type == ICMP6_PACKET_TOO_BIG)
		err = EMSGSIZE;
	else if (type == ICMP6_DST_UNREACH || type == ICMP6_TIME_EXCEEDED)
		err = EHOSTUNREACH;
	udp_so_error(n, src, get_be16(l4), err);
}

void udp_memory(const struct node *n, struct mem_use *u)
{
	for (const struct udp_sock *s = n->udp_socks; s; s = s->next) {
		mem_add(u, 1, sizeof(*s));
		for (const struct udp_dgram *d = s->rq_head; d; d = d->next)
			u->bytes += sizeof(*d) + mem_pkt(d->p);
	}
}
