/* The event heap: time order, and insertion order among equal times. */
#include <stdlib.h>

#include "../../sim/event.h"
#include "../../sim/rng.h"
#include "unit.h"

struct rec {
	int log[64];
	int n;
};

struct tag {
	struct rec *r;
	int id;
};

static void record(struct sim *s, void *arg)
{
	struct tag *t = arg;
	(void)s;
	t->r->log[t->r->n++] = t->id;
}

static void run_all(struct evheap *h)
{
	struct event ev;
	while (evheap_pop(h, &ev) == 0)
		ev.fn(NULL, ev.arg);
}

static void test_equal_times_run_in_insertion_order(void)
{
	struct evheap h = {0};
	struct rec r = {0};
	struct tag tags[10];
	/* Ten events, all at t=5, pushed 0..9: they must come out 0..9. */
	for (int i = 0; i < 10; i++) {
		tags[i] = (struct tag){&r, i};
		evheap_push(&h, 5, record, NULL, &tags[i]);
	}
	run_all(&h);
	CU_ASSERT_EQUAL(r.n, 10);
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(r.log[i], i);
	evheap_clear(&h);
}

static void test_time_order_then_sequence(void)
{
	/* Rows: (time, id) pushed in this order; expected pop order by id. */
	static const struct {
		uint64_t t;
		int id;
	} rows[] = {{30, 0}, {10, 1}, {20, 2}, {10, 3}, {0, 4}, {30, 5}, {20, 6}, {10, 7}};
	static const int expect[] = {4, 1, 3, 7, 2, 6, 0, 5};
	struct evheap h = {0};
	struct rec r = {0};
	struct tag tags[8];
	for (int i = 0; i < 8; i++) {
		tags[i] = (struct tag){&r, rows[i].id};
		evheap_push(&h, rows[i].t, record, NULL, &tags[i]);
	}
	run_all(&h);
	CU_ASSERT_EQUAL(r.n, 8);
	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(r.log[i], expect[i]);
	evheap_clear(&h);
}

static void test_large_random_heap_is_sorted(void)
{
	struct evheap h = {0};
	struct rng g;
	rng_seed(&g, 1, "heap");
	static struct tag tags[5000];
	struct rec dummy;
	for (int i = 0; i < 5000; i++) {
		tags[i] = (struct tag){&dummy, i};
		evheap_push(&h, rng_below(&g, 100), record, NULL, &tags[i]);
	}
	struct event ev, prev = {0};
	int n = 0;
	bool ok = true;
	while (evheap_pop(&h, &ev) == 0) {
		if (n && (ev.time < prev.time || (ev.time == prev.time && ev.seq < prev.seq)))
			ok = false;
		prev = ev;
		n++;
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(n, 5000);
	evheap_clear(&h);
}

static int freed;
static void count_free(void *arg)
{
	(void)arg;
	freed++;
}

static void test_clear_runs_destructors(void)
{
	struct evheap h = {0};
	freed = 0;
	for (int i = 0; i < 3; i++)
		evheap_push(&h, (uint64_t)i, record, count_free, NULL);
	evheap_clear(&h);
	CU_ASSERT_EQUAL(freed, 3);
	CU_ASSERT_EQUAL(h.n, 0);
}

static void test_sim_run_stops_at_until(void)
{
	struct sim *s = sim_new(1);
	struct rec r = {0};
	struct tag a = {&r, 1}, b = {&r, 2};
	sim_at(s, 100, record, NULL, &a);
	sim_at(s, 200, record, NULL, &b);
	CU_ASSERT_EQUAL(sim_run(s, 150, NULL, NULL), 1);
	CU_ASSERT_EQUAL(s->now, 150); /* events remain: the clock is at until */
	CU_ASSERT_EQUAL(r.n, 1);
	CU_ASSERT_EQUAL(sim_run(s, 200, NULL, NULL), 1); /* until is inclusive */
	CU_ASSERT_EQUAL(s->now, 200);
	CU_ASSERT_TRUE(sim_idle(s));
	sim_free(s);
}

void suite_event(void)
{
	static const struct unit_test t[] = {
	    {"equal times run in insertion order", test_equal_times_run_in_insertion_order},
	    {"time order then sequence", test_time_order_then_sequence},
	    {"5000 random events come out sorted", test_large_random_heap_is_sorted},
	    {"clear runs destructors", test_clear_runs_destructors},
	    {"sim_run stops at until", test_sim_run_stops_at_until},
	    {NULL, NULL}};
	unit_add_suite("event", t);
}
