/*
 * The simulation: one virtual clock, one event heap, and the nodes, links and
 * captures it owns.  There is no global state: two struct sim can run
 * interleaved in one process and each gives what it gives alone.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../stack/util.h"
#include "event.h"

struct node;
struct link;
struct capture;
struct tdb;
struct pkt;
struct link_port;

#define NS_PER_SEC UINT64_C(1000000000)

/* What a watcher of a run (a report, sim/report.c) is told: each frame an
 * interface takes off a link (sent: when it left the sending port), each
 * packet a node drops (why: its counter), each attack on a link, and each
 * message a kernel sends its PF_KEY listeners.  Called as things happen;
 * nothing it does may change the run. */
struct sim_watch {
	void (*frame)(void *arg, const struct link_port *from, const struct link_port *to,
		      uint64_t sent, const struct pkt *frame);
	void (*drop)(void *arg, const struct node *n, int why, const struct pkt *p);
	void (*attack)(void *arg, const struct link *l, const char *what);
	void (*pfkey)(void *arg, const struct node *n, const uint8_t *msg, size_t len);
	void *arg;
};

struct sim {
	uint64_t now; /* virtual nanoseconds */
	uint64_t seed;
	struct evheap heap;
	uint64_t events_run;
	uint64_t max_events; /* sim_run stops once this many have run; 0: no limit */
	bool at_limit;       /* it did */

	struct node **nodes; /* in creation order */
	unsigned nnodes, nodes_cap;
	struct link **links;
	unsigned nlinks, links_cap;
	struct hmap node_names, link_names; /* name -> node, link */
	struct hmap macs;                   /* every interface's MAC -> its iface */
	struct capture **caps;
	unsigned ncaps;

	/* Told of every SA a node's kernel makes usable (ADD, UPDATE of a
	 * larval SA), for the run's esp_sa file; may be NULL. */
	void (*on_sa)(void *arg, struct node *n, const struct tdb *t);
	void *on_sa_arg;

	/* OpenSSL's library context of this simulation (made by the first SA
	 * that needs a cipher, with the default and legacy providers), and
	 * how to free it; NULL until then. */
	void *crypto;
	void (*crypto_free)(void *crypto);

	/* Real-time sources (sim_add_source): with any, sim_run follows the
	 * wall clock, polling their descriptors between events. */
	struct sim_source *sources;
	unsigned nsources;
	uint64_t wall0; /* CLOCK_MONOTONIC ns at virtual time 0; 0: not started */

	const struct sim_watch *watch; /* NULL: nobody watches */
	FILE *out;   /* what a run tells its user (ping lines, verdicts) */
	FILE *trace; /* one line per notable stack event, drops included; may be NULL */
};

/* A descriptor outside the simulation (a TAP device): when it is
 * readable, ready(s, arg) runs at the virtual time that matches the wall
 * clock; close(arg) at sim_free. */
struct sim_source {
	int fd;
	void (*ready)(struct sim *s, void *arg);
	void (*close)(void *arg);
	void *arg;
	char what[64]; /* for the run's note: "peer on TAP iss0" */
};

struct sim *sim_new(uint64_t seed);
/* Add a real-time source: from now on the run follows the wall clock and
 * is not deterministic.  -1 beyond SIM_MAX_SOURCES. */
#define SIM_MAX_SOURCES 16
int sim_add_source(struct sim *s, const struct sim_source *src);
/* Free everything: pending events (through their destructors), nodes, links,
 * and captures (which closes their files). */
void sim_free(struct sim *s);

/* Schedule fn(arg) at an absolute time (not before now). */
void sim_at(struct sim *s, uint64_t when, event_fn fn, event_dtor dtor, void *arg);
void sim_after(struct sim *s, uint64_t delay, event_fn fn, event_dtor dtor, void *arg);

/* Run events up to and including time `until`; returns the number run.
 * The clock is left at `until`, or with `until` = UINT64_MAX (run until
 * idle) at the time of the last event.  progress, when set, is called now
 * and then.  With max_events set, it stops when the simulation has run
 * that many (at_limit), wherever the clock is. */
typedef void (*sim_progress_fn)(struct sim *s, uint64_t until, void *arg);
uint64_t sim_run(struct sim *s, uint64_t until, sim_progress_fn progress, void *arg);
/* True when no event is pending. */
bool sim_idle(const struct sim *s);

struct node *sim_add_node(struct sim *s, const char *name);
struct node *sim_find_node(struct sim *s, const char *name);
struct link *sim_find_link(struct sim *s, const char *name);

/* Format a virtual time as seconds with nine decimals into buf (32 bytes). */
const char *sim_fmt_time(uint64_t t, char *buf);

#endif
