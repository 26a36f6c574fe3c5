#include "link.h"

#include "attack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/ether.h"
#include "../stack/iface.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "capture.h"
#include "sim.h"

const struct link_params link_params_default = {
    .queue = 1000, .reorder_gap = 1000000, /* 1 ms */
};

static const char *const link_stat_names[LINK_STAT__COUNT] = {
#define LINK_STAT_NAME(id, name) [LINK_STAT_##id] = name,
    LINK_STATS_LIST(LINK_STAT_NAME)
#undef LINK_STAT_NAME
};

const char *link_stat_name(enum link_stat id)
{
	return link_stat_names[id];
}

int link_stat_lookup(const char *name)
{
	for (int i = 0; i < LINK_STAT__COUNT; i++)
		if (strcmp(link_stat_names[i], name) == 0)
			return i;
	return -1;
}

struct link *link_new(struct sim *s, const char *name, bool is_switch)
{
	struct link *l = xcalloc(1, sizeof(*l));
	l->sim = s;
	l->name = xstrdup(name);
	l->is_switch = is_switch;
	if (s->nlinks == s->links_cap) {
		s->links_cap = s->links_cap ? 2 * s->links_cap : 16;
		s->links = xrealloc(s->links, s->links_cap * sizeof(*s->links));
	}
	s->links[s->nlinks++] = l;
	hmap_add_str(&s->link_names, l->name, l);
	return l;
}

struct link_port *link_attach(struct link *l, struct iface *ifp, const struct link_params *p)
{
	char stream[256];
	/* Ports are reached through ifp->port: the array must not move once
	 * frames fly, so attach everything before the run starts. */
	if (l->nports == l->ports_cap) { /* doubling: a big switch stays linear */
		l->ports_cap = l->ports_cap ? 2 * l->ports_cap : 2;
		l->ports = xrealloc(l->ports, l->ports_cap * sizeof(*l->ports));
		for (unsigned i = 0; i < l->nports; i++)
			l->ports[i].ifp->port = &l->ports[i];
	}
	struct link_port *port = &l->ports[l->nports];
	memset(port, 0, sizeof(*port));
	port->link = l;
	port->index = l->nports++;
	port->ifp = ifp;
	port->p = p ? *p : link_params_default;
	snprintf(stream, sizeof(stream), "link/%s/%s.%s", l->name, ifp->node->name, ifp->name);
	rng_seed(&port->rng, l->sim->seed, stream);
	ifp->port = port;
	return port;
}

void link_free(struct link *l)
{
	attack_free_all(l);
	free(l->ports);
	for (unsigned i = 0; i < l->nfdb; i++)
		free(l->fdb[i]);
	free(l->fdb);
	hmap_free(&l->fdb_by_mac);
	free(l->caps);
	free(l->name);
	free(l);
}

static void link_trace(struct link *l, const char *what, size_t len)
{
	FILE *f = l->sim->trace;
	char t[32];
	if (f)
		fprintf(f, "%s %s %s len %zu\n", sim_fmt_time(l->sim->now, t), l->name, what, len);
}

static void link_drop(struct link *l, struct pkt *p, enum link_stat why)
{
	l->stats[why]++;
	char what[64];
	snprintf(what, sizeof(what), "drop %s", link_stat_names[why]);
	link_trace(l, what, p->len);
	pkt_free(p);
}

struct link_delivery {
	struct link_port *from, *to;
	uint64_t sent;
	struct pkt *p;
};

static void link_deliver_ev(struct sim *s, void *arg)
{
	struct link_delivery *d = arg;
	d->to->link->stats[LINK_STAT_DELIVERED]++;
	if (s->watch && s->watch->frame)
		s->watch->frame(s->watch->arg, d->from, d->to, d->sent, d->p);
	iface_receive(d->to->ifp, d->p);
	free(d);
}

static void link_delivery_dtor(void *arg)
{
	struct link_delivery *d = arg;
	pkt_free(d->p);
	free(d);
}

static void link_schedule(struct link_port *from, struct link_port *to, struct pkt *p,
			  uint64_t when)
{
	struct link_delivery *d = xmalloc(sizeof(*d));
	d->from = from;
	d->to = to;
	d->sent = to->link->sim->now;
	d->p = p;
	sim_at(to->link->sim, when, link_deliver_ev, link_delivery_dtor, d);
}

/* Where a frame from `from` goes on a switch: learn its source, then the
 * known port of its destination, or every other port. */
static void switch_forward(struct link_port *from, struct pkt *p, uint64_t when)
{
	struct link *l = from->link;
	struct ether_hdr h;
	/* An interface pads what it sends to 60 bytes, but an injected frame
	 * can be anything: a switch drops a runt it cannot read. */
	if (ether_parse(p->data, p->len, &h) < 0) {
		link_drop(l, p, LINK_STAT_RUNT);
		return;
	}

	struct link_fdb *src = hmap_get(&l->fdb_by_mac, h.src, 6);
	if (src) {
		src->port = from->index;
	} else if (ether_is_group(h.src)) {
		/* never learned */
	} else if (l->nfdb == LINK_FDB_MAX) {
		l->stats[LINK_STAT_FDBFULL]++;
	} else {
		if (l->nfdb == l->fdb_cap) {
			l->fdb_cap = l->fdb_cap ? 2 * l->fdb_cap : 16;
			l->fdb = xrealloc(l->fdb, l->fdb_cap * sizeof(*l->fdb));
		}
		src = xmalloc(sizeof(*src));
		memcpy(src->mac, h.src, 6);
		src->port = from->index;
		l->fdb[l->nfdb++] = src;
		hmap_add(&l->fdb_by_mac, src->mac, 6, src);
	}
	const struct link_fdb *dst =
	    ether_is_group(h.dst) ? NULL : hmap_get(&l->fdb_by_mac, h.dst, 6);
	if (dst) {
		if (dst->port == from->index)
			pkt_free(p); /* stays on its own segment */
		else
			link_schedule(from, &l->ports[dst->port], p, when);
		return;
	}
	struct link_port *last = NULL;
	for (unsigned i = 0; i < l->nports; i++) {
		if (i == from->index)
			continue;
		if (last)
			link_schedule(from, last, pkt_clone(p), when);
		last = &l->ports[i];
	}
	if (last)
		link_schedule(from, last, p, when);
	else
		pkt_free(p);
}

static void link_fanout(struct link_port *from, struct pkt *p, uint64_t when)
{
	struct link *l = from->link;
	if (l->is_switch) {
		switch_forward(from, p, when);
		return;
	}
	for (unsigned i = 0; i < l->nports; i++)
		if (i != from->index) {
			link_schedule(from, &l->ports[i], p, when);
			return;
		}
	pkt_free(p); /* a wire with one end */
}

static void link_dequeue_ev(struct sim *s, void *arg)
{
	struct link_port *port = arg;
	(void)s;
	port->queued--;
}

void link_send(struct link_port *port, struct pkt *frame)
{
	struct link *l = port->link;
	struct sim *s = l->sim;
	const struct link_params *P = &port->p;
	uint64_t t = s->now;

	l->stats[LINK_STAT_SENT]++;
	/* An adversary tampers before the tap, and drops after it. */
	if (l->nattacks || l->keep_history)
		attack_on_send(l, port, frame, false);
	/* The link tap sits at the sending end: it sees frames as sent, before
	 * any impairment, so a lost frame is still in the link's capture. */
	for (unsigned i = 0; i < l->ncaps; i++)
		capture_write(l->caps[i], s->now, frame->data, frame->len);
	if (l->nattacks && !attack_on_send(l, port, frame, true))
		return;
	if (P->mtu && frame->len > (size_t)P->mtu + ETHER_HDR_LEN) {
		link_drop(l, frame, LINK_STAT_TOOBIG);
		return;
	}
	if (P->rate) {
		if (port->queued >= P->queue) {
			link_drop(l, frame, LINK_STAT_QUEUEDROP);
			return;
		}
		uint64_t start = MAX(t, port->busy_until);
		uint64_t bits = (uint64_t)frame->len * 8;
		uint64_t tx = (bits * NS_PER_SEC + P->rate - 1) / P->rate;
		port->busy_until = start + tx;
		port->queued++;
		sim_at(s, port->busy_until, link_dequeue_ev, NULL, port);
		t = port->busy_until;
	}
	if (rng_chance(&port->rng, P->loss)) {
		link_drop(l, frame, LINK_STAT_LOST);
		return;
	}
	if (rng_chance(&port->rng, P->corrupt)) {
		uint64_t bit = rng_below(&port->rng, (uint64_t)frame->len * 8);
		frame->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		l->stats[LINK_STAT_CORRUPTED]++;
		char what[64];
		snprintf(what, sizeof(what), "corrupt bit %llu", (unsigned long long)bit);
		link_trace(l, what, frame->len);
	}
	uint64_t delay = P->delay;
	if (P->jitter) {
		uint64_t j = rng_below(&port->rng, 2 * P->jitter + 1);
		delay = delay + j >= P->jitter ? delay + j - P->jitter : 0;
	}
	if (rng_chance(&port->rng, P->reorder)) {
		delay += P->reorder_gap;
		l->stats[LINK_STAT_REORDERED]++;
	}
	if (rng_chance(&port->rng, P->duplicate)) {
		l->stats[LINK_STAT_DUPLICATED]++;
		link_fanout(port, pkt_clone(frame), t + delay);
	}
	link_fanout(port, frame, t + delay);
}
