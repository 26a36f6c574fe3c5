#include "route.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A route and its key in the table: family, prefix length, the prefix's
 * bytes.  One route per key (route_add refuses a second). */
struct route_ent {
	struct route r;
	size_t at; /* in t->v */
	uint8_t keylen;
	uint8_t key[2 + 16];
};

static uint8_t route_key(const struct ipaddr *masked, unsigned plen, uint8_t key[18])
{
	unsigned len = addr_len(masked->af);
	key[0] = masked->af;
	key[1] = (uint8_t)plen;
	memcpy(key + 2, masked->a, len);
	return (uint8_t)(2 + len);
}

static unsigned fam(uint8_t af)
{
	return af == ADDR_V6;
}

int route_add(struct rtable *t, const struct route *r)
{
	struct route_ent *e = xcalloc(1, sizeof(*e));
	e->r = *r;
	addr_mask(&e->r.dst, e->r.plen);
	e->keylen = route_key(&e->r.dst, e->r.plen, e->key);
	if (e->r.plen > 128 || !hmap_add(&t->idx, e->key, e->keylen, e)) {
		free(e);
		return -1;
	}
	t->v = xgrow(t->v, t->n, sizeof(*t->v));
	e->at = t->n;
	t->v[t->n++] = e;
	t->plens[fam(e->r.dst.af)][e->r.plen]++;
	return 0;
}

int route_del(struct rtable *t, const struct ipaddr *dst, unsigned plen, const struct ipaddr *gw)
{
	if (plen > 128)
		return -1;
	struct ipaddr d = *dst;
	addr_mask(&d, plen);
	uint8_t key[18];
	uint8_t len = route_key(&d, plen, key);
	struct route_ent *e = hmap_get(&t->idx, key, len);
	if (!e || (gw->af != ADDR_NONE && !addr_eq(&e->r.gw, gw)))
		return -1;
	hmap_del(&t->idx, key, len);
	t->plens[fam(d.af)][plen]--;
	t->v[e->at] = t->v[--t->n];
	t->v[e->at]->at = e->at;
	free(e);
	return 0;
}

const struct route *route_lookup(struct rtable *t, const struct ipaddr *dst)
{
	const uint32_t *present = t->plens[fam(dst->af)];
	for (int plen = (int)addr_len(dst->af) * 8; plen >= 0; plen--) {
		if (!present[plen])
			continue;
		struct ipaddr d = *dst;
		addr_mask(&d, (unsigned)plen);
		uint8_t key[18];
		uint8_t len = route_key(&d, (unsigned)plen, key);
		const struct route_ent *e = hmap_get(&t->idx, key, len);
		if (e)
			return &e->r;
	}
	return NULL;
}

void route_free(struct rtable *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	hmap_free(&t->idx);
	memset(t, 0, sizeof(*t));
}

size_t route_memory(const struct rtable *t)
{
	size_t slots = 4; /* xgrow's capacity */
	while (slots < t->n)
		slots *= 2;
	return t->n * sizeof(struct route_ent) + (t->n ? slots * sizeof(*t->v) : 0) +
	       hmap_bytes(&t->idx);
}
