#include "sim.h"

#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	for (unsigned i = 0; i < s->nsources; i++)
		if (s->sources[i].close)
			s->sources[i].close(s->sources[i].arg);
	free(s->sources);
	free(s);
}

int sim_add_source(struct sim *s, const struct sim_source *src)
{
	if (s->nsources >= SIM_MAX_SOURCES)
		return -1;
	s->sources = xgrow(s->sources, s->nsources, sizeof(*s->sources));
	s->sources[s->nsources++] = *src;
	return 0;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Wait, on the wall clock, until virtual time `target` or a source is
 * readable; then the clock moves to the wall's time (never past target,
 * never back) and the readable sources run.  False once target is due. */
static bool wait_sources(struct sim *s, uint64_t target)
{
	uint64_t virt = wall_ns() - s->wall0;
	if (virt >= target)
		return false;
	struct pollfd pfd[SIM_MAX_SOURCES];
	unsigned n = MIN(s->nsources, SIM_MAX_SOURCES);
	for (unsigned i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = s->sources[i].fd, .events = POLLIN};
	uint64_t wait_ms = (target - virt + 999999) / 1000000;
	int rc = poll(pfd, n, (int)MIN(wait_ms, 100));
	virt = wall_ns() - s->wall0;
	if (virt > s->now)
		s->now = MIN(virt, target);
	for (unsigned i = 0; rc > 0 && i < n; i++)
		if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
			s->sources[i].ready(s, s->sources[i].arg);
	return true;
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

	if (s->nsources && !s->wall0)
		s->wall0 = wall_ns() - s->now;
	for (;;) {
		uint64_t next = s->heap.n ? evheap_peek_time(&s->heap) : UINT64_MAX;
		/* Real time: the wall clock catches up with the next event (or
		 * the end), and what the sources bring comes in between. */
		if (s->nsources && until != UINT64_MAX && wait_sources(s, MIN(next, until)))
			continue;
		if (!s->heap.n || next > until)
			break;
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
