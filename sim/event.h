/*
 * The event heap: a binary min-heap ordered by (time, insertion sequence), so
 * events due at the same nanosecond run in the order they were scheduled
 * (ns-3's EventKey).  An event owns its argument: fn runs and frees it, or,
 * when the run ends first, dtor frees it.
 */
#ifndef SIM_EVENT_H
#define SIM_EVENT_H

#include <stddef.h>
#include <stdint.h>

struct sim;
typedef void (*event_fn)(struct sim *sim, void *arg);
typedef void (*event_dtor)(void *arg);

struct event {
	uint64_t time;
	uint64_t seq;
	event_fn fn;
	event_dtor dtor;
	void *arg;
};

struct evheap {
	struct event *v;
	size_t n, cap;
	uint64_t next_seq;
};

void evheap_push(struct evheap *h, uint64_t time, event_fn fn, event_dtor dtor, void *arg);
/* Remove the earliest event into *out; returns 0, or -1 when empty. */
int evheap_pop(struct evheap *h, struct event *out);
/* Time of the earliest event; the heap is not empty. */
uint64_t evheap_peek_time(const struct evheap *h);
/* Run every remaining event's destructor and free the heap. */
void evheap_clear(struct evheap *h);

#endif
