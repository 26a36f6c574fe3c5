#include "spd.h"

#include <stdlib.h>
#include <string.h>

#include "../stack/mem.h"
#include "../stack/util.h"

void spd_sel_apply(struct spd_sel *s, const struct spd_mask *m)
{
	addr_mask(&s->src, m->src_plen);
	addr_mask(&s->dst, m->dst_plen);
	if (!m->proto)
		s->proto = 0;
	if (!m->sport)
		s->sport = 0;
	if (!m->dport)
		s->dport = 0;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t sel_hash(const struct spd_sel *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	h = mix(h, &s->dir, 1);
	h = mix(h, &s->proto, 1);
	h = mix(h, &s->sport, 2);
	h = mix(h, &s->dport, 2);
	h = mix(h, s->src.a, addr_len(s->src.af));
	h = mix(h, s->dst.a, addr_len(s->dst.af));
	return h ^ (h >> 29);
}

static bool sel_eq(const struct spd_sel *a, const struct spd_sel *b)
{
	return a->dir == b->dir && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport && addr_eq(&a->src, &b->src) && addr_eq(&a->dst, &b->dst);
}

static bool mask_eq(const struct spd_mask *a, const struct spd_mask *b)
{
	return a->src_plen == b->src_plen && a->dst_plen == b->dst_plen && a->proto == b->proto &&
	       a->sport == b->sport && a->dport == b->dport;
}

/* Negative when class a is more specific than b (it is probed first). */
static int class_cmp(const struct spd_class *a, const struct spd_class *b)
{
	if (a->mask.src_plen != b->mask.src_plen)
		return b->mask.src_plen - a->mask.src_plen;
	if (a->mask.dst_plen != b->mask.dst_plen)
		return b->mask.dst_plen - a->mask.dst_plen;
	if (a->mask.proto != b->mask.proto)
		return b->mask.proto - a->mask.proto;
	if (a->mask.sport != b->mask.sport)
		return b->mask.sport - a->mask.sport;
	if (a->mask.dport != b->mask.dport)
		return b->mask.dport - a->mask.dport;
	if (a->dir != b->dir)
		return a->dir - b->dir;
	return a->af - b->af;
}

static struct spd_class *class_find(const struct spd *spd, uint8_t dir, uint8_t af,
				    const struct spd_mask *m)
{
	for (size_t i = 0; i < spd->nclasses; i++) {
		struct spd_class *c = spd->classes[i];
		if (c->dir == dir && c->af == af && mask_eq(&c->mask, m))
			return c;
	}
	return NULL;
}

struct spd_flow *spd_find(const struct spd *spd, const struct spd_sel *sel,
			  const struct spd_mask *mask)
{
	struct spd_class *c = class_find(spd, sel->dir, sel->src.af, mask);
	if (!c)
		return NULL;
	for (struct spd_flow *f = c->buckets[sel_hash(sel) & (c->nbuckets - 1)]; f; f = f->hnext)
		if (sel_eq(&f->sel, sel))
			return f;
	return NULL;
}

static void class_grow(struct spd_class *c)
{
	size_t n = c->nbuckets * 2;
	struct spd_flow **b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct spd_flow *f = c->buckets[i], *next;
		for (; f; f = next) {
			next = f->hnext;
			size_t k = sel_hash(&f->sel) & (n - 1);
			f->hnext = b[k];
			b[k] = f;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

void spd_insert(struct spd *spd, struct spd_flow *f)
{
	struct spd_class *c = class_find(spd, f->sel.dir, f->sel.src.af, &f->mask);
	if (!c) {
		c = xcalloc(1, sizeof(*c));
		c->dir = f->sel.dir;
		c->af = f->sel.src.af;
		c->mask = f->mask;
		c->nbuckets = 8;
		c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
		spd->classes = xgrow(spd->classes, spd->nclasses, sizeof(*spd->classes));
		size_t at = spd->nclasses;
		while (at > 0 && class_cmp(c, spd->classes[at - 1]) < 0)
			at--;
		memmove(&spd->classes[at + 1], &spd->classes[at],
			(spd->nclasses - at) * sizeof(*spd->classes));
		spd->classes[at] = c;
		spd->nclasses++;
	}
	if (c->count >= c->nbuckets)
		class_grow(c);
	size_t k = sel_hash(&f->sel) & (c->nbuckets - 1);
	f->hnext = c->buckets[k];
	c->buckets[k] = f;
	c->count++;
	f->cls = c;
	f->next = NULL;
	f->prev = spd->tail;
	if (spd->tail)
		spd->tail->next = f;
	else
		spd->head = f;
	spd->tail = f;
	spd->count++;
}

void spd_remove(struct spd *spd, struct spd_flow *f)
{
	struct spd_class *c = f->cls;
	struct spd_flow **pp = &c->buckets[sel_hash(&f->sel) & (c->nbuckets - 1)];
	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	if (--c->count == 0) {
		/* An empty shape would only slow lookups down. */
		size_t i = 0;
		while (spd->classes[i] != c)
			i++;
		memmove(&spd->classes[i], &spd->classes[i + 1],
			(spd->nclasses - i - 1) * sizeof(*spd->classes));
		spd->nclasses--;
		free(c->buckets);
		free(c);
	}
	if (f->prev)
		f->prev->next = f->next;
	else
		spd->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		spd->tail = f->prev;
	f->cls = NULL;
	spd->count--;
}

void spd_flow_free(struct spd_flow *f)
{
	if (!f)
		return;
	free(f->srcid);
	free(f->dstid);
	free(f);
}

struct spd_flow *spd_lookup(const struct spd *spd, const struct spd_sel *pkt)
{
	for (size_t i = 0; i < spd->nclasses; i++) {
		const struct spd_class *c = spd->classes[i];
		if (c->dir != pkt->dir || c->af != pkt->src.af)
			continue;
		struct spd_sel s = *pkt;
		spd_sel_apply(&s, &c->mask);
		for (struct spd_flow *f = c->buckets[sel_hash(&s) & (c->nbuckets - 1)]; f;
		     f = f->hnext)
			if (sel_eq(&f->sel, &s))
				return f;
	}
	return NULL;
}

void spd_flush(struct spd *spd)
{
	while (spd->head) {
		struct spd_flow *f = spd->head;
		spd_remove(spd, f);
		spd_flow_free(f);
	}
	free(spd->classes);
	spd->classes = NULL;
	spd->nclasses = 0;
}

void spd_memory(const struct spd *spd, struct mem_use *u)
{
	u->bytes += spd->nclasses * sizeof(*spd->classes);
	for (size_t i = 0; i < spd->nclasses; i++)
		u->bytes += sizeof(*spd->classes[i]) +
			    spd->classes[i]->nbuckets * sizeof(*spd->classes[i]->buckets);
	for (const struct spd_flow *f = spd->head; f; f = f->next)
		mem_add(u, 1,
			sizeof(*f) + (f->srcid ? strlen(f->srcid) + 1 : 0) +
			    (f->dstid ? strlen(f->dstid) + 1 : 0));
}
