/* Raw IP sockets: see raw.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/sad.h" /* ESP, AH, IPComp and IP-in-IP's numbers */
#include "ip4.h"
#include "ip6.h"
#include "mem.h"
#include "node.h"
#include "pkt.h"
#include "raw.h"
#include "tcp.h"
#include "util.h"

struct raw_sock *raw_open(struct node *n, uint8_t proto)
{
	struct raw_sock *s = xcalloc(1, sizeof(*s));
	s->node = n;
	s->proto = proto;
	s->next = n->raw_socks;
	n->raw_socks = s;
	return s;
}

int raw_bind(struct raw_sock *s, const struct ipaddr *a)
{
	if (!node_owns_addr(s->node, a))
		return -EADDRNOTAVAIL;
	s->laddr = *a;
	return 0;
}

void raw_connect(struct raw_sock *s, const struct ipaddr *a)
{
	s->faddr = *a;
}

int raw_sendto(struct raw_sock *s, const struct ipaddr *dst, const void *data, size_t len,
	       const struct raw_send_opts *o)
{
	static const struct raw_send_opts none;
	struct node *n = s->node;
	bool v6 = dst->af == ADDR_V6;
	if (!o)
		o = &none;
	if (len > (v6 ? IP6_MAXPAYLOAD : IP4_MAXPACKET - IP4_HDR_LEN))
		return -EMSGSIZE;
	struct ipaddr from = {0};
	if (o->src) {
		if (!node_owns_addr(n, o->src))
			return -EADDRNOTAVAIL;
		from = *o->src;
	} else if (s->laddr.af != ADDR_NONE) {
		from = s->laddr;
	}
	if (from.af != ADDR_NONE && from.af != dst->af)
		return -EAFNOSUPPORT;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, len);
	if (len)
		memcpy(p->data, data, len);
	s->tx_packets++;
	if (v6) {
		node_count(n, STAT_RIP6_OPACKETS);
		struct ip6_out o6 = {
		    .src = from, .dst = *dst, .nxt = s->proto, .hlim = o->ttl, .tclass = o->tos};
		return ip6_output(n, p, &o6);
	}
	node_count(n, STAT_RIP_OPACKETS);
	struct ip4_out o4 = {
	    .src = from, .dst = *dst, .proto = s->proto, .ttl = o->ttl, .tos = o->tos, .df = o->df};
	return ip4_output(n, p, &o4);
}

static bool raw_match(const struct raw_sock *s, uint8_t proto, const struct ipaddr *src,
		      const struct ipaddr *dst)
{
	return s->proto == proto && (s->laddr.af == ADDR_NONE || addr_eq(&s->laddr, dst)) &&
	       (s->faddr.af == ADDR_NONE || addr_eq(&s->faddr, src));
}

int raw_wanted(const struct node *n, uint8_t proto, const struct ipaddr *src,
	       const struct ipaddr *dst)
{
	for (const struct raw_sock *s = n->raw_socks; s; s = s->next)
		if (raw_match(s, proto, src, dst))
			return 1;
	return 0;
}

void raw_input(struct node *n, struct pkt *p, uint8_t proto, const struct ipaddr *src,
	       const struct ipaddr *dst, size_t off)
{
	node_count(n, src->af == ADDR_V6 ? STAT_RIP6_IPACKETS : STAT_RIP_IPACKETS);
	struct raw_dgram d = {*src, *dst, p->data + off, p->len - off};
	/* Every matching socket sees it, as rip_input gives each a copy;
	 * the next one is taken first so a callback may close its own. */
	for (struct raw_sock *s = n->raw_socks, *next; s; s = next) {
		next = s->next;
		if (!raw_match(s, proto, src, dst))
			continue;
		s->rx_packets++;
		s->rx_bytes += d.len;
		if (s->on_recv)
			s->on_recv(s, &d, s->cb_arg);
	}
	pkt_free(p);
}

const char *raw_stack_proto(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_HOPOPTS: return "IPv6 hop-by-hop options";
	case IPPROTO_ICMP: return "ICMP";
	case IPPROTO_IPIP: return "IP-in-IP";
	case IPPROTO_TCP: return "TCP";
	case IPPROTO_UDP: return "UDP";
	case IPPROTO_IPV6: return "IPv6-in-IP";
	case IPPROTO_ROUTING: return "the IPv6 routing header";
	case IPPROTO_FRAGMENT: return "the IPv6 fragment header";
	case IPPROTO_ESP: return "ESP";
	case IPPROTO_AH: return "AH";
	case IPPROTO_ICMPV6: return "ICMPv6";
	case IPPROTO_DSTOPTS: return "IPv6 destination options";
	case IPPROTO_IPCOMP: return "IPComp";
	default: return NULL;
	}
}

void raw_close(struct raw_sock *s)
{
	for (struct raw_sock **pp = &s->node->raw_socks; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s);
}

void raw_free_all(struct node *n)
{
	while (n->raw_socks)
		raw_close(n->raw_socks);
}

void raw_memory(const struct node *n, struct mem_use *u)
{
	for (const struct raw_sock *s = n->raw_socks; s; s = s->next)
		mem_add(u, 1, sizeof(*s));
}
