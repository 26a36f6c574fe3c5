/*
 * IPv4 fragmentation (RFC 791 3.2) and reassembly (RFC 815 hole filling).
 *
 * Reassembly rules:
 *  - Queues are keyed by (src, dst, id, proto) and live net.inet.ip.fragttl
 *    seconds from their first fragment; on expiry every held fragment counts
 *    ip.fragtimeout and, when fragment zero is held, the source gets an ICMP
 *    time exceeded (reassembly), as RFC 1122 3.3.2 asks.
 *  - A fragment that overlaps a held one drops the whole datagram (every
 *    fragment counts ip.fragdropped), as Linux does since 4.19 and RFC 5722
 *    requires for IPv6: overlaps are an attack, not a transmission artefact.
 *    An exact duplicate (a duplicating link) drops only itself.
 *  - A non-last fragment whose payload is empty or not a multiple of 8, or
 *    fragments that disagree on where the datagram ends, are ip.badfrags.
 *  - At most net.inet.ip.maxqueue fragments are held per node (ip.rcvmemdrop).
 */
#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "icmp.h"
#include "ip4.h"
#include "mem.h"
#include "node.h"
#include "util.h"

struct ip4_frag {
	struct ip4_frag *next;
	unsigned off, end; /* payload byte range */
	struct pkt *p;     /* the whole fragment, header included */
};

struct ip4_reasq {
	struct ip4_reasq *next;
	struct ipaddr src, dst;
	uint16_t id;
	uint8_t proto;
	uint64_t expire;
	struct ip4_frag *frags; /* sorted by offset */
	unsigned nfrags;
	bool have_last;
	unsigned total; /* payload length, known once the last fragment came */
};

void ip4_fragment(struct node *n, struct pkt *p, unsigned mtu, struct pktq *out)
{
	struct ip4_hdr h;
	enum stat_id why;
	uint8_t copied[40];

	/* The header was built or validated by us; a bug elsewhere that
	 * breaks it becomes a counted drop here, not a read of garbage. */
	if (ip4_parse(p->data, p->len, &h, &why) < 0) {
		node_drop(n, p, why);
		return;
	}
	size_t copied_len = ip4_copied_options(h.opts, h.optlen, copied);
	unsigned base = (h.off & IP4_OFFMASK) * 8u;
	unsigned payload = h.len - h.hlen;
	const uint8_t *data = p->data + h.hlen;

	/* Each fragment's data but the last is a multiple of 8 (RFC 791). */
	if (mtu < (unsigned)h.hlen + 8 || mtu < IP4_HDR_LEN + copied_len + 8) {
		node_drop(n, p, STAT_IP_CANTFRAG);
		return;
	}
	for (unsigned o = 0; o < payload;) {
		const uint8_t *opts = o == 0 ? h.opts : copied;
		size_t optlen = o == 0 ? h.optlen : copied_len;
		unsigned hlen = IP4_HDR_LEN + (unsigned)optlen;
		unsigned chunk = (mtu - hlen) & ~7u;
		bool last = o + chunk >= payload;
		if (last)
			chunk = payload - o;

		struct ip4_hdr fh = h;
		fh.opts = opts;
		fh.optlen = optlen;
		fh.len = (uint16_t)(hlen + chunk);
		fh.off = (uint16_t)((h.off & IP4_DF) | ((base + o) / 8));
		if (!last || (h.off & IP4_MF))
			fh.off |= IP4_MF;
		struct pkt *f = pkt_alloc(PKT_HEADROOM, hlen + chunk);
		ip4_emit(f->data, &fh);
		memcpy(f->data + hlen, data + o, chunk);
		f->flags = p->flags;
		pktq_push(out, f);
		o += chunk;
	}
	pkt_free(p);
}

static void reasq_free(struct ip4_reasq *q)
{
	struct ip4_frag *f, *nf;
	for (f = q->frags; f; f = nf) {
		nf = f->next;
		pkt_free(f->p);
		free(f);
	}
	free(q);
}

static void reasq_unlink(struct node *n, struct ip4_reasq *q)
{
	for (struct ip4_reasq **pp = &n->reasq; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	n->nfrags -= q->nfrags;
}

/* Drop a queue and everything in it, each fragment counted under why. */
static void reasq_drop(struct node *n, struct ip4_reasq *q, enum stat_id why)
{
	reasq_unlink(n, q);
	for (struct ip4_frag *f = q->frags; f; f = f->next) {
		node_drop(n, f->p, why);
		f->p = NULL;
	}
	reasq_free(q);
}

static struct ip4_reasq *reasq_find(struct node *n, const struct ip4_hdr *h)
{
	for (struct ip4_reasq *q = n->reasq; q; q = q->next)
		if (q->id == h->id && q->proto == h->proto && addr_eq(&q->src, &h->src) &&
		    addr_eq(&q->dst, &h->dst))
			return q;
	return NULL;
}

/* Rebuild the datagram from a complete queue, or NULL when it is too long. */
static struct pkt *reasq_join(struct node *n, struct ip4_reasq *q)
{
	struct ip4_hdr h;
	enum stat_id why;
	struct pkt *first = q->frags->p;

	if (ip4_parse(first->data, first->len, &h, &why) < 0) {
		reasq_drop(n, q, why); /* checked on arrival: cannot happen */
		return NULL;
	}
	if (h.hlen + q->total > IP4_MAXPACKET) {
		reasq_drop(n, q, STAT_IP_TOOLONG);
		return NULL;
	}
	struct pkt *p = pkt_alloc(PKT_HEADROOM, h.hlen + q->total);
	memcpy(p->data, first->data, h.hlen);
	for (struct ip4_frag *f = q->frags; f; f = f->next)
		memcpy(p->data + h.hlen + f->off, f->p->data + (f->p->len - (f->end - f->off)),
		       f->end - f->off);
	h.opts = first->data + IP4_HDR_LEN;
	h.len = (uint16_t)(h.hlen + q->total);
	h.off &= IP4_DF;
	ip4_emit(p->data, &h);
	p->rcvif = first->rcvif;
	p->flags = first->flags;
	reasq_unlink(n, q);
	reasq_free(q);
	node_count(n, STAT_IP_REASSEMBLED);
	return p;
}

struct pkt *ip4_reass(struct node *n, struct pkt *p, const struct ip4_hdr *h)
{
	unsigned off = (h->off & IP4_OFFMASK) * 8u;
	unsigned len = h->len - h->hlen;
	unsigned end = off + len;
	bool mf = h->off & IP4_MF;

	if (mf && (len == 0 || len % 8)) {
		node_drop(n, p, STAT_IP_BADFRAGS);
		return NULL;
	}
	if (h->hlen + end > IP4_MAXPACKET) {
		node_drop(n, p, STAT_IP_TOOLONG);
		return NULL;
	}
	if (n->nfrags >= (uint64_t)n->sysctl[SYSCTL_IP_MAXQUEUE]) {
		node_drop(n, p, STAT_IP_RCVMEMDROP);
		return NULL;
	}
	struct ip4_reasq *q = reasq_find(n, h);
	if (!q) {
		q = xcalloc(1, sizeof(*q));
		q->src = h->src;
		q->dst = h->dst;
		q->id = h->id;
		q->proto = h->proto;
		q->expire = n->sim->now + (uint64_t)n->sysctl[SYSCTL_IP_FRAGTTL] * NS_PER_SEC;
		struct ip4_reasq **tail = &n->reasq;
		while (*tail)
			tail = &(*tail)->next;
		*tail = q;
		node_timer_arm(n, q->expire);
	}

	/* Where the datagram ends must be consistent across fragments. */
	if ((!mf && q->have_last && q->total != end) || (q->have_last && end > q->total)) {
		node_drop(n, p, STAT_IP_BADFRAGS);
		reasq_drop(n, q, STAT_IP_BADFRAGS);
		return NULL;
	}
	struct ip4_frag **at = &q->frags;
	for (struct ip4_frag *f = q->frags; f; f = f->next) {
		if (f->off == off && f->end == end) {
			node_drop(n, p, STAT_IP_FRAGDROPPED); /* exact duplicate */
			return NULL;
		}
		if (off < f->end && end > f->off) {
			node_trace(n, "reassembly overlap id %u: [%u,%u) meets [%u,%u)", h->id, off,
				   end, f->off, f->end);
			node_drop(n, p, STAT_IP_FRAGDROPPED);
			reasq_drop(n, q, STAT_IP_FRAGDROPPED);
			return NULL;
		}
		if (f->off < off)
			at = &f->next;
	}
	if (!mf) {
		for (struct ip4_frag *f = q->frags; f; f = f->next)
			if (f->end > end) {
				node_drop(n, p, STAT_IP_BADFRAGS);
				reasq_drop(n, q, STAT_IP_BADFRAGS);
				return NULL;
			}
		q->have_last = true;
		q->total = end;
	}
	struct ip4_frag *nf = xcalloc(1, sizeof(*nf));
	nf->off = off;
	nf->end = end;
	nf->p = p;
	nf->next = *at;
	*at = nf;
	q->nfrags++;
	n->nfrags++;

	if (!q->have_last)
		return NULL;
	unsigned expect = 0;
	for (struct ip4_frag *f = q->frags; f; f = f->next) {
		if (f->off != expect)
			return NULL;
		expect = f->end;
	}
	if (expect != q->total)
		return NULL;
	return reasq_join(n, q);
}

uint64_t ip4_reass_timer(struct node *n)
{
	uint64_t now = n->sim->now, next = UINT64_MAX;
	struct ip4_reasq *q, *nq;
	for (q = n->reasq; q; q = nq) {
		nq = q->next;
		if (q->expire > now) {
			next = MIN(next, q->expire);
			continue;
		}
		node_trace(n, "reassembly timeout id %u, %u fragments", q->id, q->nfrags);
		if (q->frags->off == 0)
			icmp_error(n, q->frags->p, ICMP_TIMXCEED, ICMP_TIMXCEED_REASS, 0);
		reasq_drop(n, q, STAT_IP_FRAGTIMEOUT);
	}
	return next;
}

void ip4_reass_free(struct node *n)
{
	while (n->reasq) {
		struct ip4_reasq *q = n->reasq;
		n->reasq = q->next;
		reasq_free(q);
	}
	n->nfrags = 0;
}

void ip4_reass_memory(const struct node *n, struct mem_use *u)
{
	for (const struct ip4_reasq *q = n->reasq; q; q = q->next) {
		mem_add(u, 1, sizeof(*q));
		for (const struct ip4_frag *f = q->frags; f; f = f->next)
			u->bytes += sizeof(*f) + mem_pkt(f->p);
	}
}
