#include "event.h"

#include <stdlib.h>

#include "../stack/util.h"

static int ev_before(const struct event *a, const struct event *b)
{
	if (a->time != b->time)
		return a->time < b->time;
	return a->seq < b->seq;
}

static void ev_swap(struct event *a, struct event *b)
{
	struct event t = *a;
	*a = *b;
	*b = t;
}

void evheap_push(struct evheap *h, uint64_t time, event_fn fn, event_dtor dtor, void *arg)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	size_t i = h->n++;
	h->v[i] = (struct event){time, h->next_seq++, fn, dtor, arg};
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_before(&h->v[i], &h->v[parent]))
			break;
		ev_swap(&h->v[i], &h->v[parent]);
		i = parent;
	}
}

int evheap_pop(struct evheap *h, struct event *out)
{
	if (h->n == 0)
		return -1;
	*out = h->v[0];
	h->v[0] = h->v[--h->n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && ev_before(&h->v[l], &h->v[m]))
			m = l;
		if (r < h->n && ev_before(&h->v[r], &h->v[m]))
			m = r;
		if (m == i)
			break;
		ev_swap(&h->v[i], &h->v[m]);
		i = m;
	}
	return 0;
}

uint64_t evheap_peek_time(const struct evheap *h)
{
	return h->v[0].time;
}

void evheap_clear(struct evheap *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].dtor)
			h->v[i].dtor(h->v[i].arg);
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
