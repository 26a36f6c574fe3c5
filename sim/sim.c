#include "sim.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/node.h"
#include "../stack/util.h"
#include "capture.h"
#include "link.h"

struct sim *sim_new(uint64_t seed)
{
	struct sim *s = xcalloc(1, sizeof(*s));
	s->seed = seed;
	return s;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	evheap_clear(&s->heap);
	for (unsigned i = 0; i < s->nlinks; i++)
		link_free(s->links[i]);
	for (unsigned i = 0; i < s->nnodes; i++)
		node_free(s->nodes[i]);
	if (s->crypto)
		s->crypto_free(s->crypto); /* after the nodes: their SAs used it */
	for (unsigned i = 0; i < s->ncaps; i++)
		capture_close(s->caps[i]);
	free(s->links);
	free(s->nodes);
	free(s->caps);
	hmap_free(&s->node_names);
	hmap_free(&s->link_names);
	hmap_free(&s->macs);
	free(s);
}

void sim_at(struct sim *s, uint64_t when, event_fn fn, event_dtor dtor, void *arg)
{
	if (when < s->now)
		when = s->now;
	evheap_push(&s->heap, when, fn, dtor, arg);
}

void sim_after(struct sim *s, uint64_t delay, event_fn fn, event_dtor dtor, void *arg)
{
	uint64_t when = s->now + delay;
	if (when < s->now) /* saturate rather than wrap */
		when = UINT64_MAX;
	evheap_push(&s->heap, when, fn, dtor, arg);
}

uint64_t sim_run(struct sim *s, uint64_t until, sim_progress_fn progress, void *arg)
{
	uint64_t ran = 0;
	struct event ev;

	while (s->heap.n && evheap_peek_time(&s->heap) <= until) {
		if (s->max_events && s->events_run + ran >= s->max_events) {
			s->at_limit = true;
			s->events_run += ran;
			return ran;
		}
		evheap_pop(&s->heap, &ev);
		s->now = ev.time;
		ev.fn(s, ev.arg);
		ran++;
		if (progress && (ran & 0xfff) == 0)
			progress(s, until, arg);
	}
	if (until != UINT64_MAX && s->now < until)
		s->now = until;
	s->events_run += ran;
	return ran;
}

bool sim_idle(const struct sim *s)
{
	return s->heap.n == 0;
}

struct node *sim_add_node(struct sim *s, const char *name)
{
	struct node *n = node_new(s, name);
	if (s->nnodes == s->nodes_cap) {
		s->nodes_cap = s->nodes_cap ? 2 * s->nodes_cap : 16;
		s->nodes = xrealloc(s->nodes, s->nodes_cap * sizeof(*s->nodes));
	}
	s->nodes[s->nnodes++] = n;
	hmap_add_str(&s->node_names, n->name, n); /* a second of a name: the first stays */
	return n;
}

struct node *sim_find_node(struct sim *s, const char *name)
{
	return hmap_get_str(&s->node_names, name);
}

struct link *sim_find_link(struct sim *s, const char *name)
{
	return hmap_get_str(&s->link_names, name);
}

const char *sim_fmt_time(uint64_t t, char *buf)
{
	snprintf(buf, 32, "%" PRIu64 ".%09" PRIu64, t / NS_PER_SEC, t % NS_PER_SEC);
	return buf;
}
