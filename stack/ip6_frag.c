/*
 * IPv6 fragmentation at the source (RFC 8200 4.5) and reassembly.
 *
 * Fragmentation keeps the per-fragment headers (the fixed header, and the
 * extension headers up to and including a routing header, else a
 * hop-by-hop header) in front of each fragment, with a random
 * identification (RFC 7739).
 *
 * Reassembly rules:
 *  - Queues are keyed by (src, dst, id) and live 60 seconds from their
 *    first fragment; on expiry every held fragment counts ip6.fragtimeout
 *    and, when fragment zero is held, the source gets a time exceeded
 *    (reassembly) quoting it.
 *  - An overlap drops the whole datagram (RFC 5722), every fragment counted
 *    as ip6.fragdropped; an exact duplicate drops only itself.
 *  - A non-last fragment whose length is not a multiple of 8 gets a
 *    parameter problem at the payload length field; a fragment reaching
 *    past 65,535 bytes one at its offset field (both ip6.badfrags).
 *  - An atomic fragment (offset 0, no more) is processed at once, alone,
 *    whatever queue has its identification (RFC 6946).
 *  - At most net.inet6.ip6.maxfrags fragments are held (ip6.fragoverflow).
 */
#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "icmp6.h"
#include "ip6.h"
#include "mem.h"
#include "node.h"
#include "util.h"

#define IP6_FRAGTTL_S 60 /* RFC 8200 4.5 */

struct ip6_fragment {
	struct ip6_fragment *next;
	unsigned off, end; /* fragmentable part's byte range */
	struct pkt *p;     /* the whole fragment */
	size_t data;       /* where its fragment data starts in p */
};

struct ip6_reasq {
	struct ip6_reasq *next;
	struct ipaddr src, dst;
	uint32_t id;
	uint64_t expire;
	struct ip6_fragment *frags; /* sorted by offset */
	unsigned nfrags;
	bool have_last;
	unsigned total;
	size_t unfrag; /* per-fragment headers' length, from fragment zero */
	uint8_t nxt;   /* the fragment header's next header, from fragment zero */
	size_t nxt_at; /* the byte that named the fragment header */
};

/* Where the per-fragment headers end, and the byte naming what follows. */
static size_t ip6_unfragmentable(const uint8_t *pkt, size_t len, size_t *nxt_at)
{
	struct ip6_chain c;
	*nxt_at = 6;
	if (ip6_walk_quiet(pkt, len, &c) < 0)
		return IP6_HDR_LEN;
	size_t end = IP6_HDR_LEN;
	int last = -1;
	for (unsigned i = 0; i < c.n; i++)
		if (c.ext[i].type == IPPROTO_ROUTING)
			last = (int)i;
	if (last < 0 && c.n && c.ext[0].type == IPPROTO_HOPOPTS)
		last = 0;
	for (int i = 0; i <= last; i++) {
		*nxt_at = c.ext[i].off;
		end = c.ext[i].off + c.ext[i].len;
	}
	return end;
}

void ip6_fragment(struct node *n, struct pkt *p, unsigned mtu, struct pktq *out)
{
	size_t nxt_at, unfrag = ip6_unfragmentable(p->data, p->len, &nxt_at);
	if (mtu < unfrag + IP6_FRAG_LEN + 8) {
		node_drop(n, p, STAT_IP6_CANTFRAG);
		return;
	}
	uint8_t nxt = p->data[nxt_at];
	uint32_t id = (uint32_t)rng_next(&n->rng);
	size_t payload = p->len - unfrag;
	for (size_t o = 0; o < payload;) {
		size_t chunk = (mtu - unfrag - IP6_FRAG_LEN) & ~(size_t)7;
		bool last = o + chunk >= payload;
		if (last)
			chunk = payload - o;
		size_t flen = unfrag + IP6_FRAG_LEN + chunk;
		struct pkt *f = pkt_alloc(PKT_HEADROOM, flen);
		memcpy(f->data, p->data, unfrag);
		f->data[nxt_at] = IPPROTO_FRAGMENT;
		put_be16(f->data + 4, (uint16_t)(flen - IP6_HDR_LEN));
		struct ip6_frag fh = {.nxt = nxt, .off = (uint16_t)o, .more = !last, .id = id};
		ip6_frag_emit(f->data + unfrag, &fh);
		memcpy(f->data + unfrag + IP6_FRAG_LEN, p->data + unfrag + o, chunk);
		f->flags = p->flags;
		pktq_push(out, f);
		o += chunk;
	}
	pkt_free(p);
}

static void reasq_free(struct ip6_reasq *q)
{
	for (struct ip6_fragment *f = q->frags, *nf; f; f = nf) {
		nf = f->next;
		pkt_free(f->p);
		free(f);
	}
	free(q);
}

static void reasq_unlink(struct node *n, struct ip6_reasq *q)
{
	for (struct ip6_reasq **pp = &n->reasq6; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	n->nfrags6 -= q->nfrags;
}

static void reasq_drop(struct node *n, struct ip6_reasq *q, enum stat_id why)
{
	reasq_unlink(n, q);
	for (struct ip6_fragment *f = q->frags; f; f = f->next) {
		node_drop(n, f->p, why);
		f->p = NULL;
	}
	reasq_free(q);
}

/* The datagram from fragment zero's per-fragment headers and every
 * fragment's data; the fragment header goes. */
static struct pkt *join(size_t unfrag, size_t nxt_at, uint8_t nxt, const struct pkt *first,
			struct ip6_fragment *frags, unsigned total)
{
	if (unfrag - IP6_HDR_LEN + total > IP6_MAXPAYLOAD)
		return NULL;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, unfrag + total);
	memcpy(p->data, first->data, unfrag);
	p->data[nxt_at] = nxt;
	put_be16(p->data + 4, (uint16_t)(unfrag - IP6_HDR_LEN + total));
	for (struct ip6_fragment *f = frags; f; f = f->next)
		memcpy(p->data + unfrag + f->off, f->p->data + f->data, f->end - f->off);
	p->rcvif = first->rcvif;
	p->flags = first->flags;
	return p;
}

struct pkt *ip6_reass(struct node *n, struct pkt *p, const struct ip6_hdr *h,
		      const struct ip6_chain *c)
{
	const struct ip6_ext *e = &c->ext[c->frag];
	struct ip6_frag fh;
	ip6_frag_parse(p->data + e->off, &fh);
	size_t data = e->off + IP6_FRAG_LEN;
	unsigned off = fh.off, len = (unsigned)(p->len - data), end = off + len;
	size_t nxt_at = c->frag ? c->ext[c->frag - 1].off : 6;
	node_count(n, STAT_IP6_FRAGMENTS);

	if (fh.more && (len == 0 || len % 8)) {
		/* RFC 8200 4.5: point at the payload length */
		icmp6_error(n, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, 4);
		node_drop(n, p, STAT_IP6_BADFRAGS);
		return NULL;
	}
	if (e->off - IP6_HDR_LEN + end > IP6_MAXPAYLOAD) {
		/* point at the fragment offset field */
		icmp6_error(n, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, (uint32_t)(e->off + 2));
		node_drop(n, p, STAT_IP6_BADFRAGS);
		return NULL;
	}
	if (off == 0 && !fh.more) {
		/* RFC 6946: an atomic fragment stands alone */
		struct ip6_fragment one = {.off = 0, .end = len, .p = p, .data = data};
		struct pkt *whole = join(e->off, nxt_at, fh.nxt, p, &one, len);
		pkt_free(p);
		return whole;
	}
	if (n->nfrags6 >= (uint64_t)n->sysctl[SYSCTL_IP6_MAXFRAGS]) {
		node_drop(n, p, STAT_IP6_FRAGOVERFLOW);
		return NULL;
	}
	struct ip6_reasq *q = NULL;
	for (q = n->reasq6; q; q = q->next)
		if (q->id == fh.id && addr_eq(&q->src, &h->src) && addr_eq(&q->dst, &h->dst))
			break;
	if (!q) {
		q = xcalloc(1, sizeof(*q));
		q->src = h->src;
		q->dst = h->dst;
		q->id = fh.id;
		q->expire = n->sim->now + IP6_FRAGTTL_S * NS_PER_SEC;
		struct ip6_reasq **tail = &n->reasq6;
		while (*tail)
			tail = &(*tail)->next;
		*tail = q;
		node_timer_arm(n, q->expire);
	}
	if ((!fh.more && q->have_last && q->total != end) || (q->have_last && end > q->total)) {
		node_drop(n, p, STAT_IP6_BADFRAGS);
		reasq_drop(n, q, STAT_IP6_BADFRAGS);
		return NULL;
	}
	struct ip6_fragment **at = &q->frags;
	for (struct ip6_fragment *f = q->frags; f; f = f->next) {
		if (f->off == off && f->end == end) {
			node_drop(n, p, STAT_IP6_FRAGDROPPED); /* an exact duplicate */
			return NULL;
		}
		if (off < f->end && end > f->off) { /* RFC 5722: the whole datagram goes */
			node_trace(n, "ip6 reassembly overlap id %u: [%u,%u) meets [%u,%u)", fh.id,
				   off, end, f->off, f->end);
			node_drop(n, p, STAT_IP6_FRAGDROPPED);
			reasq_drop(n, q, STAT_IP6_FRAGDROPPED);
			return NULL;
		}
		if (f->off < off)
			at = &f->next;
	}
	if (!fh.more) {
		for (struct ip6_fragment *f = q->frags; f; f = f->next)
			if (f->end > end) {
				node_drop(n, p, STAT_IP6_BADFRAGS);
				reasq_drop(n, q, STAT_IP6_BADFRAGS);
				return NULL;
			}
		q->have_last = true;
		q->total = end;
	}
	if (off == 0) {
		q->unfrag = e->off;
		q->nxt = fh.nxt;
		q->nxt_at = nxt_at;
	}
	struct ip6_fragment *nf = xcalloc(1, sizeof(*nf));
	*nf = (struct ip6_fragment){.next = *at, .off = off, .end = end, .p = p, .data = data};
	*at = nf;
	q->nfrags++;
	n->nfrags6++;
	if (!q->have_last)
		return NULL;
	unsigned expect = 0;
	for (struct ip6_fragment *f = q->frags; f; f = f->next) {
		if (f->off != expect)
			return NULL;
		expect = f->end;
	}
	if (expect != q->total)
		return NULL;
	struct pkt *whole = join(q->unfrag, q->nxt_at, q->nxt, q->frags->p, q->frags, q->total);
	if (!whole) {
		reasq_drop(n, q, STAT_IP6_BADFRAGS);
		return NULL;
	}
	reasq_unlink(n, q);
	reasq_free(q);
	node_count(n, STAT_IP6_REASSEMBLED);
	return whole;
}

uint64_t ip6_reass_timer(struct node *n)
{
	uint64_t now = n->sim->now, next = UINT64_MAX;
	for (struct ip6_reasq *q = n->reasq6, *nq; q; q = nq) {
		nq = q->next;
		if (q->expire > now) {
			next = MIN(next, q->expire);
			continue;
		}
		node_trace(n, "ip6 reassembly timeout id %u, %u fragments", q->id, q->nfrags);
		if (q->frags->off == 0)
			icmp6_error(n, q->frags->p, ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_REASS,
				    0);
		reasq_drop(n, q, STAT_IP6_FRAGTIMEOUT);
	}
	return next;
}

void ip6_reass_free(struct node *n)
{
	while (n->reasq6) {
		struct ip6_reasq *q = n->reasq6;
		n->reasq6 = q->next;
		reasq_free(q);
	}
	n->nfrags6 = 0;
}

void ip6_reass_memory(const struct node *n, struct mem_use *u)
{
	for (const struct ip6_reasq *q = n->reasq6; q; q = q->next) {
		mem_add(u, 1, sizeof(*q));
		for (const struct ip6_fragment *f = q->frags; f; f = f->next)
			u->bytes += sizeof(*f) + mem_pkt(f->p);
	}
}
