#include "icmp.h"

#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "cksum.h"
#include "icmp6.h"
#include "iface.h"
#include "ip4.h"
#include "ip6.h"
#include "mem.h"
#include "node.h"
#include "tcp.h"
#include "udp.h"
#include "util.h"

static enum stat_id icmp_inhist(uint8_t type)
{
	switch (type) {
	case ICMP_ECHOREPLY: return STAT_ICMP_INHIST_ECHOREPLY;
	case ICMP_UNREACH: return STAT_ICMP_INHIST_UNREACH;
	case ICMP_SOURCEQUENCH: return STAT_ICMP_INHIST_SOURCEQUENCH;
	case ICMP_REDIRECT: return STAT_ICMP_INHIST_REDIRECT;
	case ICMP_ECHO: return STAT_ICMP_INHIST_ECHO;
	case ICMP_TIMXCEED: return STAT_ICMP_INHIST_TIMXCEED;
	case ICMP_PARAMPROB: return STAT_ICMP_INHIST_PARAMPROB;
	default: return STAT_ICMP_INHIST_OTHER;
	}
}

static void icmp_count_out(struct node *n, uint8_t type)
{
	switch (type) {
	case ICMP_ECHOREPLY: node_count(n, STAT_ICMP_OUTHIST_ECHOREPLY); break;
	case ICMP_UNREACH: node_count(n, STAT_ICMP_OUTHIST_UNREACH); break;
	case ICMP_ECHO: node_count(n, STAT_ICMP_OUTHIST_ECHO); break;
	case ICMP_TIMXCEED: node_count(n, STAT_ICMP_OUTHIST_TIMXCEED); break;
	case ICMP_PARAMPROB: node_count(n, STAT_ICMP_OUTHIST_PARAMPROB); break;
	default: break;
	}
}

/* Is this an error type, whose receipt must never cause another error? */
static bool icmp_is_error(uint8_t type)
{
	return type == ICMP_UNREACH || type == ICMP_SOURCEQUENCH || type == ICMP_REDIRECT ||
	       type == ICMP_TIMXCEED || type == ICMP_PARAMPROB;
}

/* The highest code each error type defines (RFC 792, RFC 1812 5.2.7.1). */
static uint8_t icmp_error_max_code(uint8_t type)
{
	switch (type) {
	case ICMP_UNREACH: return 15;
	case ICMP_TIMXCEED: return 1;
	case ICMP_PARAMPROB: return 2;
	default: return 0; /* source quench */
	}
}

const char *icmp_describe(uint8_t type, uint8_t code)
{
	static const char *const unreach[] = {
	    "Destination net unreachable", "Destination host unreachable",
	    "Destination protocol unreachable", "Destination port unreachable",
	    "Frag needed and DF set"};
	switch (type) {
	case ICMP_UNREACH:
		return code < ARRAY_LEN(unreach) ? unreach[code] : "Destination unreachable";
	case ICMP_TIMXCEED:
		return code == ICMP_TIMXCEED_REASS ? "Fragment reassembly time exceeded"
						   : "Time to live exceeded";
	case ICMP_PARAMPROB: return "Parameter problem";
	case ICMP_SOURCEQUENCH: return "Source quench";
	case ICMP_REDIRECT: return "Redirect";
	default: return "ICMP";
	}
}

/* Checksum the message in place and send it. */
static int icmp_send(struct node *n, struct pkt *p, const struct ipaddr *src,
		     const struct ipaddr *dst, uint8_t ttl, uint8_t tos, bool df)
{
	uint8_t type = p->data[0];
	put_be16(p->data + 2, 0);
	put_be16(p->data + 2, in_cksum(p->data, p->len));
	struct ip4_out o = {.dst = *dst, .proto = IPPROTO_ICMP, .ttl = ttl, .tos = tos, .df = df};
	if (src)
		o.src = *src;
	icmp_count_out(n, type);
	return ip4_output(n, p, &o);
}

void icmp_error(struct node *n, const struct pkt *orig, uint8_t type, uint8_t code, uint32_t info)
{
	struct ip4_hdr h;
	enum stat_id why;

	if (ip4_parse(orig->data, orig->len, &h, &why) < 0)
		return; /* only ever called with a validated packet */
	/* RFC 1122 3.2.2.8: not for a non-first fragment, a broadcast or
	 * multicast, or a source that does not name one host. */
	if ((h.off & IP4_OFFMASK) || (orig->flags & PKT_LINKBCAST) || addr_is_multicast(&h.dst) ||
	    addr_is_v4_limited_bcast(&h.dst) || addr_is_unspec(&h.src) ||
	    addr_is_multicast(&h.src) || (orig->rcvif && iface_is_bcast(orig->rcvif, &h.dst)))
		return;
	/* Never an error about an ICMP error. */
	if (h.proto == IPPROTO_ICMP) {
		if (h.len < h.hlen + ICMP_MINLEN) {
			node_drop(n, NULL, STAT_ICMP_OLDSHORT);
			return;
		}
		if (icmp_is_error(orig->data[h.hlen])) {
			node_drop(n, NULL, STAT_ICMP_OLDICMP);
			return;
		}
	}
	int64_t limit = n->sysctl[SYSCTL_ICMP_ERRPPSLIMIT];
	uint64_t second = n->sim->now / NS_PER_SEC;
	if (second != n->icmp_err_second) {
		n->icmp_err_second = second;
		n->icmp_err_count = 0;
	}
	if (limit >= 0 && n->icmp_err_count >= limit) {
		node_drop(n, NULL, STAT_ICMP_TOOFREQ);
		return;
	}
	n->icmp_err_count++;
	node_count(n, STAT_ICMP_ERROR);

	size_t quote = MIN((size_t)h.len, (size_t)ICMP_MAXQUOTE);
	struct pkt *p = pkt_alloc(PKT_HEADROOM, ICMP_MINLEN + quote);
	memset(p->data, 0, ICMP_MINLEN);
	p->data[0] = type;
	p->data[1] = code;
	if (type == ICMP_UNREACH && code == ICMP_UNREACH_NEEDFRAG)
		put_be16(p->data + 6, (uint16_t)info);
	else if (type == ICMP_PARAMPROB)
		p->data[4] = (uint8_t)info;
	memcpy(p->data + ICMP_MINLEN, orig->data, quote);
	char a[ADDR_STRLEN];
	node_trace(n, "icmp error to %s: %s", addr_fmt(&h.src, a), icmp_describe(type, code));
	/* RFC 1812 4.3.2.4: from the address of the interface it leaves by. */
	icmp_send(n, p, NULL, &h.src, 0, 0, false);
}

struct echo_sock *icmp_echo_find(struct node *n, uint16_t id)
{
	for (struct echo_sock *s = n->echo_socks; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* An error came in: pass it to whoever sent the packet it quotes. */
static void icmp_ctlinput(struct node *n, struct pkt *p, const struct ip4_hdr *h, size_t hlen)
{
	const uint8_t *icp = p->data + hlen;
	size_t icmplen = h->len - hlen;
	struct ip4_hdr inner;
	uint8_t ihl;

	/* OpenBSD's ICMP_ADVLENMIN: the quoted header and 8 bytes of it. */
	if (icmplen < ICMP_MINLEN + IP4_HDR_LEN + 8 || (icp[8] >> 4) != 4 ||
	    (ihl = (uint8_t)((icp[8] & 0x0f) * 4)) < IP4_HDR_LEN ||
	    icmplen < ICMP_MINLEN + (size_t)ihl + 8) {
		node_drop(n, p, STAT_ICMP_BADLEN);
		return;
	}
	const uint8_t *q = icp + ICMP_MINLEN;
	memset(&inner, 0, sizeof(inner));
	inner.hlen = ihl;
	inner.proto = q[9];
	inner.src = addr_v4(q + 12);
	inner.dst = addr_v4(q + 16);
	const uint8_t *l4 = q + ihl;
	uint32_t info = icp[0] == ICMP_UNREACH ? get_be16(icp + 6) : icp[4];
	char a[ADDR_STRLEN];
	node_trace(n, "icmp from %s: %s", addr_fmt(&h->src, a), icmp_describe(icp[0], icp[1]));

	if (icp[0] == ICMP_UNREACH && icp[1] == ICMP_UNREACH_NEEDFRAG &&
	    node_owns_addr(n, &inner.src))
		ip4_pmtu_update(n, &inner.dst, info, get_be16(q + 2));
	if (inner.proto == IPPROTO_UDP) {
		udp_ctlinput(n, icp[0], icp[1], &inner, l4);
	} else if (inner.proto == IPPROTO_TCP) {
		tcp_ctlinput(n, icp[0], icp[1], info, &inner.src, &inner.dst, l4);
	} else if (inner.proto == IPPROTO_ICMP && l4[0] == ICMP_ECHO &&
		   node_owns_addr(n, &inner.src)) {
		icmp_echo_error_in(n, &h->src, icp[0], icp[1], info, l4);
	}
	pkt_free(p);
}

void icmp_echo_error_in(struct node *n, const struct ipaddr *from, uint8_t type, uint8_t code,
			uint32_t info, const uint8_t *l4)
{
	struct echo_sock *s = icmp_echo_find(n, get_be16(l4 + 4));
	if (!s)
		return;
	struct echo_event ev = {.is_error = true,
				.from = *from,
				.seq = get_be16(l4 + 6),
				.type = type,
				.code = code,
				.info = info};
	s->cb(s, &ev, s->arg);
}

bool icmp_echo_reply_in(struct node *n, const struct ipaddr *from, uint8_t ttl, const uint8_t *icp,
			size_t len)
{
	struct echo_sock *s = icmp_echo_find(n, get_be16(icp + 4));
	if (!s)
		return false;
	struct echo_event ev = {.from = *from,
				.seq = get_be16(icp + 6),
				.ttl = ttl,
				.data = icp + ICMP_MINLEN,
				.datalen = len - ICMP_MINLEN};
	s->cb(s, &ev, s->arg);
	return true;
}

void icmp_input(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast)
{
	size_t hlen = h->hlen;
	size_t icmplen = h->len - hlen;

	if (icmplen < ICMP_MINLEN) {
		node_drop(n, p, STAT_ICMP_TOOSHORT);
		return;
	}
	uint8_t *icp = p->data + hlen;
	if (in_cksum(icp, icmplen) != 0) {
		node_drop(n, p, STAT_ICMP_CHECKSUM);
		return;
	}
	uint8_t type = icp[0], code = icp[1];
	node_count(n, icmp_inhist(type));

	switch (type) {
	case ICMP_ECHO: {
		if (bcast || (p->flags & PKT_LINKBCAST)) {
			if (!n->sysctl[SYSCTL_ICMP_BMCASTECHO]) {
				node_drop(n, p, STAT_ICMP_BMCASTECHO);
				return;
			}
		}
		/* icmp_reflect: the reply goes from the address asked. */
		struct ipaddr src = h->dst, dst = h->src;
		const struct ipaddr *from = bcast ? NULL : &src;
		pkt_pull(p, hlen);
		p->data[0] = ICMP_ECHOREPLY;
		p->flags = 0;
		p->rcvif = NULL;
		node_count(n, STAT_ICMP_REFLECT);
		icmp_send(n, p, from, &dst, 0, 0, false);
		return;
	}
	case ICMP_ECHOREPLY:
		if (!icmp_echo_reply_in(n, &h->src, h->ttl, icp, icmplen)) {
			node_drop(n, p, STAT_ICMP_UNHANDLED);
			return;
		}
		pkt_free(p);
		return;
	case ICMP_UNREACH:
	case ICMP_TIMXCEED:
	case ICMP_PARAMPROB:
	case ICMP_SOURCEQUENCH:
		if (code > icmp_error_max_code(type)) {
			node_drop(n, p, STAT_ICMP_BADCODE);
			return;
		}
		icmp_ctlinput(n, p, h, hlen);
		return;
	default: node_drop(n, p, STAT_ICMP_UNHANDLED); return;
	}
}

struct echo_sock *icmp_echo_open(struct node *n, echo_cb cb, void *arg)
{
	struct echo_sock *s = xcalloc(1, sizeof(*s));
	do
		s->id = (uint16_t)rng_next(&n->rng);
	while (icmp_echo_find(n, s->id));
	s->node = n;
	s->cb = cb;
	s->arg = arg;
	s->next = n->echo_socks;
	n->echo_socks = s;
	return s;
}

int icmp_echo_send(struct echo_sock *s, const struct ipaddr *dst, uint16_t seq, const uint8_t *data,
		   size_t len, uint8_t ttl, uint8_t tos, bool df)
{
	struct pkt *p = pkt_alloc(PKT_HEADROOM, ICMP_MINLEN + len);
	bool v6 = dst->af == ADDR_V6;
	p->data[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	p->data[1] = 0;
	put_be16(p->data + 4, s->id);
	put_be16(p->data + 6, seq);
	if (len)
		memcpy(p->data + ICMP_MINLEN, data, len);
	const struct ipaddr *src = s->src.af != ADDR_NONE ? &s->src : NULL;
	if (v6) /* tos is the traffic class; df does not apply (only the
		 * source fragments IPv6) */
		return icmp6_send_ext(s->node, p, src, dst, ttl, tos,
				      ip6_is_linklocal(dst) ? s->scope : NULL, s->ext);
	return icmp_send(s->node, p, src, dst, ttl, tos, df);
}

void icmp_echo_close(struct echo_sock *s)
{
	for (struct echo_sock **pp = &s->node->echo_socks; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s);
}

void icmp_echo_free_all(struct node *n)
{
	while (n->echo_socks)
		icmp_echo_close(n->echo_socks);
}

void icmp_echo_memory(const struct node *n, struct mem_use *u)
{
	for (const struct echo_sock *s = n->echo_socks; s; s = s->next)
		mem_add(u, 1, sizeof(*s));
}
