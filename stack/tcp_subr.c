/*
 * TCP control blocks and their tables, the user's calls, and the bare
 * segments sent outside a connection (BSD's tcp_subr.c and tcp_usrreq.c).
 *
 * A node's connections live in one hash on the four-tuple (growing with
 * them) and in a list in creation order, which is the only order anything
 * walks them in.  Timer events name a connection by slot and generation,
 * so an event that outlives its connection finds nothing and does nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/ipsec_io.h"
#include "../sim/sim.h"
#include "iface.h"
#include "ip4.h"
#include "ip6.h"
#include "mem.h"
#include "route.h"
#include "tcp_var.h"

#define TCP_EPHEMERAL_FIRST 49152 /* OpenBSD's ipport_hifirstauto */
#define TCP_EPHEMERAL_LAST  65535
#define TCP_BACKLOG         128 /* embryonic connections a listener holds (SOMAXCONN) */

struct tcp_table {
	struct tcpcb **hash;
	size_t nhash, count;
	struct tcpcb *head, *tail;
	struct tcp_listener *listeners;
	struct tcpcb **slots; /* by id's low half; NULL when free */
	uint32_t *gen;
	size_t nslots;
	size_t free_hint;
	uint64_t secret; /* timestamps' offsets (tcp_ts_modulate) */
	/* ephemeral ports held by active opens, a bit each: choosing one
	 * costs nothing per connection already open */
	uint8_t ephemeral[(TCP_EPHEMERAL_LAST - TCP_EPHEMERAL_FIRST + 1) / 8];
};

static bool ephemeral_bit(struct tcp_table *ts, uint16_t port, int set)
{
	unsigned k = port - TCP_EPHEMERAL_FIRST;
	uint8_t m = (uint8_t)(1u << (k % 8));
	bool was = ts->ephemeral[k / 8] & m;
	if (set > 0)
		ts->ephemeral[k / 8] |= m;
	else if (set < 0)
		ts->ephemeral[k / 8] &= (uint8_t)~m;
	return was;
}

static const char *const state_names[TCPS__COUNT] = {
    "CLOSED",     "LISTEN",  "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT",
    "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2",   "TIME_WAIT"};

const char *tcp_state_name(enum tcp_state s)
{
	return s < TCPS__COUNT ? state_names[s] : "?";
}

static struct tcp_table *tcp_table(struct node *n)
{
	if (!n->tcp) {
		n->tcp = xcalloc(1, sizeof(*n->tcp));
		/* the timestamp secret, from a stream of its own so that the
		 * node's other draws do not move */
		struct rng r;
		char stream[160];
		snprintf(stream, sizeof(stream), "node/%s/tcp", n->name);
		rng_seed(&r, n->sim->seed, stream);
		n->tcp->secret = rng_next(&r);
	}
	return n->tcp;
}

static size_t tuple_hash(const struct ipaddr *l, uint16_t lport, const struct ipaddr *f,
			 uint16_t fport)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	const uint8_t *parts[2] = {l->a, f->a};
	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < 16; i++)
			h = (h ^ parts[k][i]) * 1099511628211ull;
	h = (h ^ lport) * 1099511628211ull;
	h = (h ^ fport) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

uint32_t tcp_ts_modulate(struct tcpcb *tp)
{
	/* OpenBSD's tcp_set_iss_tsm: a hash of a secret and the four-tuple,
	 * so that a new connection of the same four-tuple carries on the
	 * clock the old one used (and RFC 6191 can tell it is newer) */
	uint64_t h = tcp_table(tp->node)->secret;
	return (uint32_t)(tuple_hash(&tp->laddr, tp->lport, &tp->faddr, tp->fport) ^ h ^ (h >> 32));
}

static void hash_grow(struct tcp_table *ts)
{
	size_t n = ts->nhash ? ts->nhash * 2 : 64;
	struct tcpcb **h = xcalloc(n, sizeof(*h));
	for (struct tcpcb *tp = ts->head; tp; tp = tp->next) {
		if (!tp->hashed)
			continue;
		size_t k = tuple_hash(&tp->laddr, tp->lport, &tp->faddr, tp->fport) & (n - 1);
		tp->hnext = h[k];
		h[k] = tp;
	}
	free(ts->hash);
	ts->hash = h;
	ts->nhash = n;
}

struct tcpcb *tcp_lookup(struct node *n, const struct ipaddr *laddr, uint16_t lport,
			 const struct ipaddr *faddr, uint16_t fport)
{
	struct tcp_table *ts = n->tcp;
	if (!ts || !ts->nhash)
		return NULL;
	size_t k = tuple_hash(laddr, lport, faddr, fport) & (ts->nhash - 1);
	for (struct tcpcb *tp = ts->hash[k]; tp; tp = tp->hnext)
		if (tp->lport == lport && tp->fport == fport && addr_eq(&tp->laddr, laddr) &&
		    addr_eq(&tp->faddr, faddr))
			return tp;
	return NULL;
}

struct tcp_listener *tcp_lookup_listener(struct node *n, const struct ipaddr *laddr, uint16_t lport)
{
	struct tcp_listener *wild = NULL;
	if (!n->tcp)
		return NULL;
	for (struct tcp_listener *l = n->tcp->listeners; l; l = l->next) {
		if (l->lport != lport)
			continue;
		if (l->laddr.af != ADDR_NONE && addr_eq(&l->laddr, laddr))
			return l;
		if (l->laddr.af == ADDR_NONE && !wild)
			wild = l;
	}
	return wild;
}

const struct seclevel *tcp_seclevel_for(struct node *n, const struct ipaddr *laddr, uint16_t lport,
					const struct ipaddr *faddr, uint16_t fport)
{
	const struct tcpcb *tp = tcp_lookup(n, laddr, lport, faddr, fport);
	if (tp)
		return &tp->sl;
	const struct tcp_listener *l = tcp_lookup_listener(n, laddr, lport);
	return l ? &l->sl : NULL;
}

struct tcpcb *tcp_newtcpcb(struct node *n)
{
	struct tcp_table *ts = tcp_table(n);
	struct tcpcb *tp = xcalloc(1, sizeof(*tp));
	tp->node = n;
	seclevel_init(n, &tp->sl);
	/* a free slot for the timer events' name */
	size_t slot = ts->free_hint;
	while (slot < ts->nslots && ts->slots[slot])
		slot++;
	if (slot == ts->nslots) {
		size_t m = ts->nslots ? ts->nslots * 2 : 16;
		ts->slots = xrealloc(ts->slots, m * sizeof(*ts->slots));
		ts->gen = xrealloc(ts->gen, m * sizeof(*ts->gen));
		memset(ts->slots + ts->nslots, 0, (m - ts->nslots) * sizeof(*ts->slots));
		memset(ts->gen + ts->nslots, 0, (m - ts->nslots) * sizeof(*ts->gen));
		ts->nslots = m;
	}
	ts->slots[slot] = tp;
	ts->free_hint = slot + 1;
	tp->id = (uint64_t)++ts->gen[slot] << 32 | slot;
	tp->prev = ts->tail;
	if (ts->tail)
		ts->tail->next = tp;
	else
		ts->head = tp;
	ts->tail = tp;

	int64_t *sc = n->sysctl;
	tp->sb_cap = (size_t)sc[SYSCTL_TCP_SENDSPACE];
	tp->rb_cap = (size_t)sc[SYSCTL_TCP_RECVSPACE];
	tp->sb = xmalloc(tp->sb_cap);
	tp->rb = xmalloc(tp->rb_cap);
	tp->maxseg = (uint32_t)sc[SYSCTL_TCP_MSSDFLT];
	tp->peer_mss = tp->maxseg;
	/* RFC 6298 2.1: an RTO of 1 s until the first measurement */
	tp->rxtcur = TCPTV_RTOBASE;
	tp->cc = &tcp_newreno;
	if (sc[SYSCTL_TCP_SACK])
		tp->flags |= TF_REQ_SACK;
	if (sc[SYSCTL_TCP_RFC1323]) {
		tp->flags |= TF_REQ_WS | TF_REQ_TS;
		/* the smallest shift that lets the buffer be offered whole */
		while (tp->req_scale < TCP_MAX_WINSHIFT &&
		       ((uint64_t)TCP_MAXWIN << tp->req_scale) < tp->rb_cap)
			tp->req_scale++;
	}
	tp->t_open = n->sim->now;
	return tp;
}

/* A pointer for a timer event's id, or NULL when that connection is gone. */
struct tcpcb *tcp_by_id(struct node *n, uint64_t id)
{
	struct tcp_table *ts = n->tcp;
	size_t slot = (size_t)(uint32_t)id;
	if (!ts || slot >= ts->nslots || !ts->slots[slot] || ts->slots[slot]->id != id)
		return NULL;
	return ts->slots[slot];
}

void tcp_attach(struct tcpcb *tp)
{
	struct tcp_table *ts = tcp_table(tp->node);
	if (ts->count + 1 > ts->nhash)
		hash_grow(ts);
	size_t k = tuple_hash(&tp->laddr, tp->lport, &tp->faddr, tp->fport) & (ts->nhash - 1);
	tp->hnext = ts->hash[k];
	ts->hash[k] = tp;
	tp->hashed = true;
	ts->count++;
}

static void tcp_detach_tables(struct tcpcb *tp)
{
	struct tcp_table *ts = tp->node->tcp;
	if (tp->hashed) {
		tp->hashed = false;
		size_t k =
		    tuple_hash(&tp->laddr, tp->lport, &tp->faddr, tp->fport) & (ts->nhash - 1);
		for (struct tcpcb **pp = &ts->hash[k]; *pp; pp = &(*pp)->hnext)
			if (*pp == tp) {
				*pp = tp->hnext;
				ts->count--;
				break;
			}
	}
	if (tp->prev)
		tp->prev->next = tp->next;
	else
		ts->head = tp->next;
	if (tp->next)
		tp->next->prev = tp->prev;
	else
		ts->tail = tp->prev;
	if (tp->ephemeral)
		ephemeral_bit(ts, tp->lport, -1);
	size_t slot = (size_t)(uint32_t)tp->id;
	ts->slots[slot] = NULL;
	if (slot < ts->free_hint)
		ts->free_hint = slot;
}

static void tcp_free_tcb(struct tcpcb *tp)
{
	while (tp->rq) {
		struct tcp_rseg *s = tp->rq;
		tp->rq = s->next;
		free(s);
	}
	free(tp->sb);
	free(tp->rb);
	free(tp);
}

struct tcp_notify_ev {
	struct node *node;
	uint64_t id;
	enum tcp_event ev;
};

static void tcp_notify_fire(struct sim *s, void *arg)
{
	struct tcp_notify_ev *e = arg;
	struct tcpcb *tp = tcp_by_id(e->node, e->id);
	enum tcp_event ev = e->ev;
	(void)s;
	free(e);
	if (!tp)
		return; /* closed since: the user had TCP_EV_CLOSED */
	tp->ev_pending &= ~(1u << ev);
	if (tp->on_event)
		tp->on_event(tp, ev, tp->cb_arg);
}

void tcp_notify(struct tcpcb *tp, enum tcp_event ev)
{
	if (!tp->on_event)
		return;
	if (ev == TCP_EV_CLOSED) {
		tp->on_event(tp, ev, tp->cb_arg);
		return;
	}
	if (tp->ev_pending & (1u << ev))
		return; /* one wakeup covers them all */
	tp->ev_pending |= 1u << ev;
	struct tcp_notify_ev *e = xmalloc(sizeof(*e));
	e->node = tp->node;
	e->id = tp->id;
	e->ev = ev;
	sim_at(tp->node->sim, tp->node->sim->now, tcp_notify_fire, free, e);
}

void tcp_set_state(struct tcpcb *tp, enum tcp_state s)
{
	if (tp->state == s)
		return;
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	node_trace(tp->node, "tcp %s:%u-%s:%u %s -> %s", addr_fmt(&tp->laddr, a), tp->lport,
		   addr_fmt(&tp->faddr, b), tp->fport, tcp_state_name(tp->state),
		   tcp_state_name(s));
	enum tcp_state old = tp->state;
	tp->state = s;
	if (s == TCPS_ESTABLISHED && old < TCPS_ESTABLISHED) {
		tp->t_established = tp->last_rcv = tp->node->sim->now;
		tcp_keep_rearm(tp);
		node_count(tp->node, STAT_TCP_CONNECTS);
		if (tp->listener) {
			node_count(tp->node, STAT_TCP_ACCEPTS);
			tp->listener->pending--; /* accepted: no longer embryonic */
			tp->listener = NULL;
		}
		tcp_notify(tp, TCP_EV_CONNECTED);
	}
}

void tcp_drop(struct tcpcb *tp, int err)
{
	struct node *n = tp->node;
	if (err && TCPS_HAVERCVDSYN(tp->state) && tp->state != TCPS_TIME_WAIT)
		node_count(n, tp->state >= TCPS_ESTABLISHED ? STAT_TCP_DROPS : STAT_TCP_CONNDROPS);
	else if (err)
		node_count(n, STAT_TCP_CONNDROPS);
	node_count(n, STAT_TCP_CLOSED);
	if (tp->listener)
		tp->listener->pending--;
	tp->so_error = err;
	tcp_timers_cancel(tp);
	tcp_set_state(tp, TCPS_CLOSED);
	tp->t_closed = n->sim->now;
	tcp_detach_tables(tp);
	tcp_notify(tp, TCP_EV_CLOSED);
	tcp_free_tcb(tp);
}

/* ---- the MSS (tcp_mss) ---- */

/* The outgoing interface's MTU, or with `path` what the path MTU cache
 * knows of the way to dst (RFC 1191, RFC 8201); 0 without a route. */
static unsigned route_mtu(struct node *n, const struct ipaddr *dst, bool path)
{
	const struct route *rt = route_lookup(&n->rt, dst);
	if (!rt || !rt->ifp)
		return 0;
	return path ? ip6_path_mtu(n, dst, rt->ifp->mtu) : rt->ifp->mtu;
}

static unsigned ip_hdrlen(const struct ipaddr *a)
{
	return a->af == ADDR_V6 ? IP6_HDR_LEN : IP4_HDR_LEN;
}

static uint32_t mss_for(struct node *n, const struct ipaddr *dst, bool path)
{
	unsigned mtu = route_mtu(n, dst, path);
	uint32_t dflt = (uint32_t)n->sysctl[SYSCTL_TCP_MSSDFLT];
	if (!mtu)
		return dflt;
	if (path) {
		/* what a transport-mode SA leaves of it (tdb_mtu) */
		unsigned sa = ipsec_sa_mtu(n, dst);
		if (sa && sa < mtu)
			mtu = sa;
	}
	uint32_t mss = mtu - ip_hdrlen(dst) - TCP_HDR_LEN;
	/* mssdflt is a floor for what we offer, not for what the path takes */
	return mss > dflt || path ? mss : dflt;
}

uint32_t tcp_mss_offer(struct node *n, const struct ipaddr *dst)
{
	return mss_for(n, dst, false); /* OpenBSD offers the interface's */
}

void tcp_mss(struct tcpcb *tp, uint32_t offer)
{
	uint32_t mss = mss_for(tp->node, &tp->faddr, true);
	if (offer) {
		/* OpenBSD: the peer's offer, but no less than 216, and no
		 * more than our own path allows */
		tp->peer_mss = offer;
		uint32_t peer = offer < 216 ? 216 : offer;
		if (peer < mss)
			mss = peer;
	}
	if (mss < 64)
		mss = 64;
	if ((tp->flags & (TF_REQ_TS | TF_RCVD_TS)) == (TF_REQ_TS | TF_RCVD_TS))
		mss -= 12; /* the timestamp option rides in every segment */
	tp->maxseg = mss;
}

void tcp_mtudisc(struct tcpcb *tp)
{
	uint32_t old = tp->maxseg;
	tcp_mss(tp, tp->peer_mss);
	if (tp->maxseg >= old)
		return;
	char a[ADDR_STRLEN];
	node_trace(tp->node, "tcp mss to %s:%u %u -> %u", addr_fmt(&tp->faddr, a), tp->fport, old,
		   tp->maxseg);
	/* the window keeps its number of segments (OpenBSD's tcp_mss with
	 * offer -1) */
	uint64_t c = (uint64_t)tp->cwnd / old * tp->maxseg;
	tp->cwnd = c > tp->maxseg ? (uint32_t)c : tp->maxseg;
	tp->snd_nxt = tp->snd_una;
	tp->rtt_timing = false;
	tcp_sample(tp);
	tcp_output(tp);
}

/* ---- output to IP ---- */

int tcp_ip_output(struct node *n, struct pkt *p, const struct ipaddr *src, const struct ipaddr *dst,
		  bool df)
{
	put_be16(p->data + 16, 0);
	put_be16(p->data + 16, tcp_cksum(src, dst, p->data, p->len));
	node_count(n, STAT_TCP_SNDTOTAL);
	if (dst->af == ADDR_V6) {
		struct ip6_out o = {.src = *src, .dst = *dst, .nxt = IPPROTO_TCP};
		return ip6_output(n, p, &o);
	}
	/* RFC 1191: DF on every segment, for path MTU discovery (unless the
	 * path proved a black hole) */
	struct ip4_out o = {.src = *src, .dst = *dst, .proto = IPPROTO_TCP, .df = df};
	return ip4_output(n, p, &o);
}

void tcp_respond(struct node *n, const struct ipaddr *src, const struct ipaddr *dst, uint16_t sport,
		 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win)
{
	struct pkt *p = pkt_alloc(PKT_HEADROOM, TCP_HDR_LEN);
	struct tcp_hdr h = {
	    .sport = sport, .dport = dport, .seq = seq, .ack = ack, .flags = flags, .win = win};
	tcp_emit(p->data, &h);
	if (flags & TH_RST)
		node_count(n, STAT_TCP_SNDRST);
	tcp_ip_output(n, p, src, dst, true);
}

/* ---- the user's calls ---- */

struct tcp_listener *tcp_listen(struct node *n, const struct ipaddr *laddr, uint16_t port, int *err)
{
	struct tcp_table *ts = tcp_table(n);
	if (laddr && laddr->af != ADDR_NONE && !node_owns_addr(n, laddr)) {
		*err = -EADDRNOTAVAIL;
		return NULL;
	}
	for (struct tcp_listener *l = ts->listeners; l; l = l->next)
		if (l->lport == port) {
			*err = -EADDRINUSE;
			return NULL;
		}
	struct tcp_listener *l = xcalloc(1, sizeof(*l));
	l->node = n;
	seclevel_init(n, &l->sl);
	if (laddr)
		l->laddr = *laddr;
	l->lport = port;
	l->backlog = TCP_BACKLOG;
	struct tcp_listener **tail = &ts->listeners;
	while (*tail)
		tail = &(*tail)->next;
	*tail = l;
	return l;
}

void tcp_unlisten(struct tcp_listener *l)
{
	struct tcp_table *ts = l->node->tcp;
	for (struct tcp_listener **pp = &ts->listeners; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	/* embryonic connections forget where they came from */
	for (struct tcpcb *tp = ts->head; tp; tp = tp->next)
		if (tp->listener == l)
			tp->listener = NULL;
	free(l);
}

static bool port_in_use(struct node *n, uint16_t port)
{
	if (ephemeral_bit(n->tcp, port, 0))
		return true;
	for (struct tcp_listener *l = n->tcp->listeners; l; l = l->next)
		if (l->lport == port)
			return true;
	return false;
}

struct tcpcb *tcp_connect(struct node *n, uint16_t lport, const struct ipaddr *dst, uint16_t port,
			  tcp_event_fn fn, void *arg, int *err)
{
	return tcp_connect_from(n, NULL, lport, dst, port, fn, arg, err);
}

struct tcpcb *tcp_connect_from(struct node *n, const struct ipaddr *laddr, uint16_t lport,
			       const struct ipaddr *dst, uint16_t port, tcp_event_fn fn, void *arg,
			       int *err)
{
	return tcp_connect_levels(n, laddr, lport, dst, port, fn, arg, NULL, err);
}

struct tcpcb *tcp_connect_levels(struct node *n, const struct ipaddr *laddr, uint16_t lport,
				 const struct ipaddr *dst, uint16_t port, tcp_event_fn fn,
				 void *arg, const struct seclevel *sl, int *err)
{
	struct ipaddr src;
	if (laddr) {
		if (laddr->af != dst->af || !node_owns_addr(n, laddr)) {
			*err = -EADDRNOTAVAIL;
			return NULL;
		}
		src = *laddr;
	} else {
		int r = dst->af == ADDR_V6 ? ip6_select_src(n, dst, &src)
					   : ip4_select_src(n, dst, &src);
		if (r < 0) {
			*err = r;
			return NULL;
		}
	}
	tcp_table(n);
	if (lport) {
		if (tcp_lookup(n, &src, lport, dst, port)) {
			*err = -EADDRINUSE;
			return NULL;
		}
	} else {
		/* OpenBSD picks ephemeral ports at random; so do we, seeded. */
		unsigned span = TCP_EPHEMERAL_LAST - TCP_EPHEMERAL_FIRST + 1;
		unsigned start = (unsigned)rng_below(&n->rng, span);
		for (unsigned i = 0; i < span && !lport; i++) {
			uint16_t cand = (uint16_t)(TCP_EPHEMERAL_FIRST + (start + i) % span);
			if (!port_in_use(n, cand))
				lport = cand;
		}
	}
	if (!lport) {
		*err = -EADDRINUSE;
		return NULL;
	}
	struct tcpcb *tp = tcp_newtcpcb(n);
	if (lport >= TCP_EPHEMERAL_FIRST && !ephemeral_bit(n->tcp, lport, 1))
		tp->ephemeral = true; /* its bit is this connection's to clear */
	tp->laddr = src;
	tp->faddr = *dst;
	tp->lport = lport;
	tp->fport = port;
	tp->on_event = fn;
	tp->cb_arg = arg;
	if (sl)
		tp->sl = *sl;
	tcp_attach(tp);
	/* The ISN: from the node's stream (RFC 9293 3.4.1 asks only that it
	 * be unpredictable; OpenBSD hashes a secret with the four-tuple). */
	tp->ts_modulate = tcp_ts_modulate(tp);
	tp->iss = (uint32_t)rng_next(&n->rng);
	tp->snd_una = tp->snd_nxt = tp->snd_max = tp->iss;
	tp->snd_wl2 = tp->recover = tp->snd_last = tp->iss;
	tcp_mss(tp, 0);
	tp->cc->init(tp);
	node_count(n, STAT_TCP_CONNATTEMPT);
	tcp_set_state(tp, TCPS_SYN_SENT);
	/* the connect timeout (OpenBSD's KEEP timer in SYN_SENT) */
	tcp_timer_arm(tp, TCPT_KEEP, (uint64_t)n->sysctl[SYSCTL_TCP_KEEPINITTIME] * NS_PER_SEC);
	tcp_output(tp);
	*err = 0;
	return tp;
}

void tcp_sb_copy(const struct tcpcb *tp, size_t off, uint8_t *out, size_t len)
{
	size_t at = (tp->sb_head + off) % tp->sb_cap;
	size_t first = len < tp->sb_cap - at ? len : tp->sb_cap - at;
	memcpy(out, tp->sb + at, first);
	memcpy(out + first, tp->sb, len - first);
}

size_t tcp_write_room(const struct tcpcb *tp)
{
	if (tp->flags & TF_CLOSED || tp->state == TCPS_CLOSED)
		return 0;
	return tp->sb_cap - tp->sb_len;
}

size_t tcp_write(struct tcpcb *tp, const void *data, size_t len)
{
	size_t room = tcp_write_room(tp);
	if (len > room)
		len = room;
	if (!len)
		return 0;
	/* into the ring, in at most two pieces */
	size_t at = (tp->sb_head + tp->sb_len) % tp->sb_cap;
	size_t first = len < tp->sb_cap - at ? len : tp->sb_cap - at;
	memcpy(tp->sb + at, data, first);
	memcpy(tp->sb, (const uint8_t *)data + first, len - first);
	tp->sb_len += len;
	tp->bytes_written += len;
	if (TCPS_HAVEESTABLISHED(tp->state))
		tcp_output(tp);
	return len;
}

size_t tcp_read(struct tcpcb *tp, void *buf, size_t cap)
{
	size_t len = tp->rb_len < cap ? tp->rb_len : cap;
	if (!len)
		return 0;
	if (buf)
		memcpy(buf, tp->rb, len);
	memmove(tp->rb, tp->rb + len, tp->rb_len - len);
	tp->rb_len -= len;
	tp->bytes_read += len;
	tcp_reass_resume(tp);
	/* a window that opens by two segments or half the buffer is worth
	 * telling the peer about (tcp_output decides) */
	if (TCPS_HAVEESTABLISHED(tp->state))
		tcp_output(tp);
	return len;
}

void tcp_close(struct tcpcb *tp)
{
	switch (tp->state) {
	case TCPS_CLOSED:
	case TCPS_LISTEN:
	case TCPS_SYN_SENT: tcp_drop(tp, 0); return;
	case TCPS_SYN_RECEIVED:
	case TCPS_ESTABLISHED: tcp_set_state(tp, TCPS_FIN_WAIT_1); break;
	case TCPS_CLOSE_WAIT: tcp_set_state(tp, TCPS_LAST_ACK); break;
	default: return; /* already closing */
	}
	tp->flags |= TF_CLOSED;
	tcp_output(tp);
}

void tcp_abort(struct tcpcb *tp)
{
	if (TCPS_HAVERCVDSYN(tp->state)) {
		tcp_respond(tp->node, &tp->laddr, &tp->faddr, tp->lport, tp->fport, tp->snd_nxt,
			    tp->rcv_nxt, TH_RST | TH_ACK, 0);
		node_count(tp->node, STAT_TCP_SNDCTRL);
	}
	tcp_drop(tp, ECONNABORTED);
}

void tcp_set_keepalive(struct tcpcb *tp, bool on)
{
	if (on)
		tp->flags |= TF_KEEPALIVE;
	else
		tp->flags &= ~(unsigned)TF_KEEPALIVE;
	tcp_keep_rearm(tp);
}

void tcp_set_cc(struct tcpcb *tp, const struct tcp_cc *cc)
{
	uint32_t cwnd = tp->cwnd, ssthresh = tp->ssthresh;
	tp->cc = cc;
	cc->init(tp);
	if (tp->state > TCPS_SYN_SENT) { /* keep what the connection learned */
		tp->cwnd = cwnd;
		tp->ssthresh = ssthresh;
	}
}

void tcp_detach(struct tcpcb *tp)
{
	tp->on_event = NULL;
	tp->cb_arg = NULL;
}

void tcp_free_all(struct node *n)
{
	struct tcp_table *ts = n->tcp;
	if (!ts)
		return;
	while (ts->head) {
		struct tcpcb *tp = ts->head;
		tcp_detach_tables(tp);
		tcp_free_tcb(tp);
	}
	while (ts->listeners) {
		struct tcp_listener *l = ts->listeners;
		ts->listeners = l->next;
		free(l);
	}
	free(ts->hash);
	free(ts->slots);
	free(ts->gen);
	free(ts);
	n->tcp = NULL;
}

void tcp_memory(const struct node *n, struct mem_use *u)
{
	const struct tcp_table *ts = n->tcp;
	if (!ts)
		return;
	u->bytes += sizeof(*ts) + ts->nhash * sizeof(*ts->hash) +
		    ts->nslots * (sizeof(*ts->slots) + sizeof(*ts->gen));
	for (const struct tcpcb *tp = ts->head; tp; tp = tp->next) {
		mem_add(u, 1, sizeof(*tp) + tp->sb_cap + tp->rb_cap);
		for (const struct tcp_rseg *r = tp->rq; r; r = r->next)
			u->bytes += sizeof(*r) + r->len;
	}
	for (const struct tcp_listener *l = ts->listeners; l; l = l->next)
		mem_add(u, 1, sizeof(*l));
}
