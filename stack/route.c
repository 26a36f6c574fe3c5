#include "route.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

int route_add(struct rtable *t, const struct route *r)
{
	struct route nr = *r;
	addr_mask(&nr.dst, nr.plen);
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].plen == nr.plen && addr_eq(&t->v[i].dst, &nr.dst))
			return -1;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	/* Insert after every route at least as long: longest first, then by age. */
	size_t at = 0;
	while (at < t->n && t->v[at].plen >= nr.plen)
		at++;
	memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof(*t->v));
	t->v[at] = nr;
	t->n++;
	return 0;
}

int route_del(struct rtable *t, const struct ipaddr *dst, unsigned plen, const struct ipaddr *gw)
{
	struct ipaddr d = *dst;
	addr_mask(&d, plen);
	for (size_t i = 0; i < t->n; i++) {
		const struct route *r = &t->v[i];
		if (r->plen != plen || !addr_eq(&r->dst, &d) ||
		    (gw->af != ADDR_NONE && !addr_eq(&r->gw, gw)))
			continue;
		memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
		t->n--;
		return 0;
	}
	return -1;
}

const struct route *route_lookup(const struct rtable *t, const struct ipaddr *dst)
{
	for (size_t i = 0; i < t->n; i++)
		if (addr_in_prefix(dst, &t->v[i].dst, t->v[i].plen))
			return &t->v[i];
	return NULL;
}

void route_free(struct rtable *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
