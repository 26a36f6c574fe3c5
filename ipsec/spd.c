#include "spd.h"

#include <stdlib.h>
#include <string.h>

#include "../stack/mem.h"
#include "../stack/util.h"
#include "pfkeyv2.h"

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

/* Which of spd->sets a selector's direction and family use. */
static size_t set_of(uint8_t dir, uint8_t af)
{
	return (dir == IPSP_DIRECTION_OUT ? 2u : 0u) + (af == ADDR_V6 ? 1u : 0u);
}

static void key_of(const struct spd_sel *s, struct spd_key *k)
{
	uint8_t b[32] = {0};
	memcpy(b, s->src.a, addr_len(s->src.af));
	memcpy(b + 16, s->dst.a, addr_len(s->dst.af));
	memcpy(k->w, b, sizeof(b));
	/* the family and direction are in every key and every mask, so a
	 * selector of an odd set can never match another set's flow */
	k->w[4] = (uint64_t)s->src.af << 56 | (uint64_t)s->dir << 48 | (uint64_t)s->proto << 32 |
		  (uint64_t)s->sport << 16 | s->dport;
}

static void kmask_of(uint8_t af, const struct spd_mask *m, struct spd_key *k)
{
	struct spd_sel ones = {.dir = 0xff, .proto = 0xff, .sport = 0xffff, .dport = 0xffff};
	ones.src.af = ones.dst.af = af;
	memset(ones.src.a, 0xff, sizeof(ones.src.a));
	memset(ones.dst.a, 0xff, sizeof(ones.dst.a));
	spd_sel_apply(&ones, m);
	key_of(&ones, k);
	k->w[4] |= (uint64_t)0xff << 56; /* key_of put af there, not all ones */
}

static uint64_t key_hash(const struct spd_key *k)
{
	uint64_t h = 0;
	for (size_t i = 0; i < 5; i++) {
		h = (h ^ k->w[i]) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	h *= 0xff51afd7ed558ccdULL; /* so that the low bits, the slot, depend on all */
	return h ^ (h >> 33);
}

static bool key_eq(const struct spd_key *a, const struct spd_key *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3]) | (a->w[4] ^ b->w[4])) == 0;
}

static void key_and(const struct spd_key *k, const struct spd_key *m, struct spd_key *out)
{
	for (size_t i = 0; i < 5; i++)
		out->w[i] = k->w[i] & m->w[i];
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
	if (a->dir != b->dir) /* a set holds one of each, unless they are odd */
		return a->dir - b->dir;
	return a->af - b->af;
}

static struct spd_class *class_find(const struct spd *spd, uint8_t dir, uint8_t af,
				    const struct spd_mask *m)
{
	const struct spd_classes *set = &spd->sets[set_of(dir, af)];
	for (size_t i = 0; i < set->n; i++) {
		struct spd_class *c = set->v[i];
		if (c->dir == dir && c->af == af && mask_eq(&c->mask, m))
			return c;
	}
	return NULL;
}

/* The slot holding key, or the empty slot where it would go. */
static struct spd_slot *class_slot(const struct spd_class *c, const struct spd_key *k, uint64_t h)
{
	size_t mask = c->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct spd_slot *s = &c->slots[i];
		if (!s->f || (s->hash == h && key_eq(&s->f->key, k)))
			return s;
	}
}

struct spd_flow *spd_find(const struct spd *spd, const struct spd_sel *sel,
			  const struct spd_mask *mask)
{
	struct spd_class *c = class_find(spd, sel->dir, sel->src.af, mask);
	if (!c)
		return NULL;
	struct spd_key k;
	key_of(sel, &k);
	return class_slot(c, &k, key_hash(&k))->f;
}

static void class_grow(struct spd_class *c)
{
	struct spd_slot *old = c->slots;
	size_t oldcap = c->cap;
	c->cap = oldcap ? oldcap * 2 : 8;
	c->slots = xcalloc(c->cap, sizeof(*c->slots));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].f)
			*class_slot(c, &old[i].f->key, old[i].hash) = old[i];
	free(old);
}

static struct spd_class *class_new(struct spd *spd, uint8_t dir, uint8_t af,
				   const struct spd_mask *m)
{
	struct spd_class *c = xcalloc(1, sizeof(*c));
	c->dir = dir;
	c->af = af;
	c->mask = *m;
	kmask_of(af, m, &c->kmask);
	class_grow(c);
	struct spd_classes *set = &spd->sets[set_of(dir, af)];
	set->v = xgrow(set->v, set->n, sizeof(*set->v));
	size_t at = set->n;
	while (at > 0 && class_cmp(c, set->v[at - 1]) < 0)
		at--;
	memmove(&set->v[at + 1], &set->v[at], (set->n - at) * sizeof(*set->v));
	set->v[at] = c;
	set->n++;
	spd->nclasses++;
	return c;
}

void spd_insert(struct spd *spd, struct spd_flow *f)
{
	struct spd_class *c = class_find(spd, f->sel.dir, f->sel.src.af, &f->mask);
	if (!c)
		c = class_new(spd, f->sel.dir, f->sel.src.af, &f->mask);
	if ((c->count + 1) * 2 > c->cap)
		class_grow(c);
	key_of(&f->sel, &f->key);
	f->hash = key_hash(&f->key);
	*class_slot(c, &f->key, f->hash) = (struct spd_slot){f->hash, f};
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

static void class_free(struct spd *spd, struct spd_class *c)
{
	struct spd_classes *set = &spd->sets[set_of(c->dir, c->af)];
	size_t i = 0;
	while (set->v[i] != c)
		i++;
	memmove(&set->v[i], &set->v[i + 1], (set->n - i - 1) * sizeof(*set->v));
	set->n--;
	spd->nclasses--;
	free(c->slots);
	free(c);
}

void spd_remove(struct spd *spd, struct spd_flow *f)
{
	struct spd_class *c = f->cls;
	struct spd_slot *s = class_slot(c, &f->key, f->hash);
	/* Backward shift: pull up each later slot of the run whose home is
	 * not between the hole and it, so no probe stops short. */
	size_t mask = c->cap - 1, hole = (size_t)(s - c->slots);
	for (size_t j = (hole + 1) & mask; c->slots[j].f; j = (j + 1) & mask) {
		size_t home = (size_t)c->slots[j].hash & mask;
		if (!probe_stays(hole, j, home)) {
			c->slots[hole] = c->slots[j];
			hole = j;
		}
	}
	c->slots[hole].f = NULL;
	if (--c->count == 0)
		class_free(spd, c); /* an empty shape would only slow lookups down */
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
	const struct spd_classes *set = &spd->sets[set_of(pkt->dir, pkt->src.af)];
	struct spd_key k;
	key_of(pkt, &k);
	/* In groups of eight shapes: hash and prefetch each one's slot, then
	 * probe in order, so the memory reads of the group run together. */
	enum { GROUP = 8 };
	for (size_t base = 0; base < set->n; base += GROUP) {
		size_t n = set->n - base < GROUP ? set->n - base : GROUP;
		struct spd_key mk[GROUP];
		uint64_t h[GROUP];
		for (size_t i = 0; i < n; i++) {
			const struct spd_class *c = set->v[base + i];
			key_and(&k, &c->kmask, &mk[i]);
			h[i] = key_hash(&mk[i]);
			__builtin_prefetch(&c->slots[h[i] & (c->cap - 1)]);
		}
		for (size_t i = 0; i < n; i++) {
			struct spd_flow *f = class_slot(set->v[base + i], &mk[i], h[i])->f;
			if (f)
				return f;
		}
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
	for (size_t i = 0; i < 4; i++) {
		free(spd->sets[i].v);
		spd->sets[i] = (struct spd_classes){0};
	}
}

void spd_memory(const struct spd *spd, struct mem_use *u)
{
	for (size_t i = 0; i < 4; i++) {
		const struct spd_classes *set = &spd->sets[i];
		u->bytes += set->n * sizeof(*set->v);
		for (size_t j = 0; j < set->n; j++)
			u->bytes += sizeof(*set->v[j]) + set->v[j]->cap * sizeof(*set->v[j]->slots);
	}
	for (const struct spd_flow *f = spd->head; f; f = f->next)
		mem_add(u, 1,
			sizeof(*f) + (f->srcid ? strlen(f->srcid) + 1 : 0) +
			    (f->dstid ? strlen(f->dstid) + 1 : 0));
}
