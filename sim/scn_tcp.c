/*
 * TCP in scenarios (docs/scenario-language.md):
 *   listen NODE tcp PORT [sink|discard|echo|chargen|noread]
 *   at TIME tcp NODE DEST:PORT send BYTES [as NAME] [trace FILE] [keepopen]
 *   at TIME tcp NAME close|abort
 *   expect NODE tcp PORT bytes|connections|badbytes OP VALUE
 *   expect NAME sent|acked|received|badbytes|retransmits|timeouts|goodput|state|error OP VALUE
 *
 * Every byte stream is the same pattern, byte k of a stream being
 * k mod 251 (a prime, so a segment put at the wrong offset shows), and
 * every receiver checks what it reads against it: a sink and a client
 * reading an echo count the bytes that differ as badbytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/node.h"
#include "../stack/tcp.h"
#include "../stack/util.h"
#include "scenario.h"

/* noread: a server that never reads, so its window closes (persist) */
enum tcp_mode { TM_SINK, TM_DISCARD, TM_ECHO, TM_CHARGEN, TM_NOREAD, TM_CLIENT };
static const char *const mode_names[] = {"sink", "discard", "echo", "chargen", "noread", "client"};

struct scn_tcplisten {
	struct scenario *sc;
	struct node *node;
	uint16_t port;
	enum tcp_mode mode;
	struct tcp_listener *l;
	uint64_t conns, bytes;
};

struct scn_tcpconn {
	struct scenario *sc;
	char *name;
	struct node *node;
	struct ipaddr dst;
	char dststr[ADDR_STRLEN + 8];
	uint16_t dport;
	struct ipaddr src; /* from ADDR; ADDR_NONE: the route's choice */
	enum tcp_mode mode;
	struct scn_tcplisten *from; /* accepted by this listener */
	struct tcpcb *tp;           /* NULL once closed */
	uint64_t total, written;
	bool keepopen, opened;
	bool eof;                /* the peer is done sending */
	bool reply_chargen;      /* a client reading a chargen server */
	bool has_sl;             /* a client: IPsec levels given */
	struct seclevel sl;
	bool keepalive;          /* SO_KEEPALIVE */
	uint64_t rate;           /* bit/s the application writes at most; 0: no limit */
	const struct tcp_cc *cc; /* NULL: the default */
	bool pace_pending;       /* a wakeup is scheduled */
	uint64_t rx_off, badbytes;
	uint64_t t_start, t_done;
	bool summarized; /* its report is printed */
	/* the connection's figures, kept when it closes */
	enum tcp_state state;
	int error;
	uint64_t acked, received, rexmit_segs, timeouts, fast_rexmits;
	uint64_t rtt_min, rtt_max, rtt_sum, rtt_n;
	uint32_t cwnd;
	FILE *trace; /* the time series, or NULL */
};

struct scn_tcp {
	struct scn_tcplisten **ls;
	unsigned nls;
	struct scn_tcpconn **cs;
	unsigned ncs;
	struct hmap names; /* the connections a statement opened, by name */
};

static struct scn_tcp *world(struct scenario *sc)
{
	if (!sc->tcp)
		sc->tcp = xcalloc(1, sizeof(*sc->tcp));
	return sc->tcp;
}

static uint8_t pattern(uint64_t k)
{
	return (uint8_t)(k % 251);
}

static void snapshot(struct scn_tcpconn *c)
{
	struct tcpcb *tp = c->tp;
	c->state = tp->state;
	c->error = tp->so_error;
	c->acked = tp->bytes_acked;
	c->rexmit_segs = tp->rexmit_segs;
	c->timeouts = tp->timeouts;
	c->fast_rexmits = tp->fast_rexmits;
	c->rtt_min = tp->rtt_min;
	c->rtt_max = tp->rtt_max;
	c->rtt_sum = tp->rtt_sum;
	c->rtt_n = tp->rtt_n;
	c->cwnd = tp->cwnd;
}

/* Fill the send buffer in one write, as an application with a whole
 * buffer's worth ready does (so that segments go out full-sized). */
static void fill(struct scn_tcpconn *c);

static void pace_ev(struct sim *s, void *arg)
{
	struct scn_tcpconn *c = arg;
	(void)s;
	c->pace_pending = false;
	fill(c);
}

/* With `rate R` the application has written by now no more than R bit/s
 * since the connection was established allow; when that holds it back,
 * it wakes again when a segment's worth more is allowed. */
static size_t paced(struct scn_tcpconn *c, size_t want)
{
	if (!c->rate || !c->tp)
		return want;
	struct sim *s = c->sc->sim;
	uint64_t since = s->now - c->tp->t_established;
	uint64_t allowed = (uint64_t)((long double)since * c->rate / 8 / NS_PER_SEC) + 1448;
	uint64_t can = allowed > c->written ? allowed - c->written : 0;
	if (can < want) {
		want = (size_t)can;
		if (!c->pace_pending && c->written + want < c->total) {
			/* allowed reaches what is written plus a segment when
			 * the time since establishment is written * 8 / rate */
			uint64_t at = c->tp->t_established +
				      (uint64_t)((long double)(c->written + want) * 8 * NS_PER_SEC /
						 c->rate) +
				      1;
			c->pace_pending = true;
			sim_at(s, at > s->now ? at : s->now + 1, pace_ev, NULL, c);
		}
	}
	return want;
}

static void fill(struct scn_tcpconn *c)
{
	if (c->tp && c->written < c->total) {
		size_t want = tcp_write_room(c->tp);
		if (want > c->total - c->written)
			want = (size_t)(c->total - c->written);
		want = paced(c, want);
		if (want) {
			uint8_t *buf = xmalloc(want);
			for (size_t k = 0; k < want; k++)
				buf[k] = pattern(c->written + k);
			c->written += tcp_write(c->tp, buf, want);
			free(buf);
		}
	}
	if (c->tp && c->written == c->total && !c->keepopen && c->tp->state == TCPS_ESTABLISHED)
		tcp_close(c->tp);
}

/* RFC 864 over TCP: the character stream, as fast as the connection takes
 * it, until the client closes. */
static void chargen_fill(struct scn_tcpconn *c)
{
	if (!c->tp || c->eof)
		return;
	size_t want = tcp_write_room(c->tp);
	if (!want)
		return;
	uint8_t *buf = xmalloc(want);
	for (size_t k = 0; k < want; k++)
		buf[k] = scn_chargen_byte(c->written + k);
	c->written += tcp_write(c->tp, buf, want);
	free(buf);
}

/* Read what arrived: checked against the pattern, or echoed back. */
static void drain(struct scn_tcpconn *c)
{
	uint8_t buf[4096];
	if (c->mode == TM_NOREAD)
		return;
	for (;;) {
		size_t cap = sizeof(buf);
		if (c->mode == TM_ECHO) {
			cap = tcp_write_room(c->tp) < cap ? tcp_write_room(c->tp) : cap;
			if (!cap)
				return; /* the window closes until the peer reads */
		}
		size_t n = tcp_read(c->tp, buf, cap);
		if (!n)
			return;
		if (c->mode == TM_ECHO) {
			tcp_write(c->tp, buf, n);
		} else if (c->reply_chargen) {
			for (size_t k = 0; k < n; k++)
				c->badbytes += buf[k] != scn_chargen_byte(c->rx_off + k);
		} else if (c->mode != TM_DISCARD && c->mode != TM_CHARGEN) {
			for (size_t k = 0; k < n; k++)
				c->badbytes += buf[k] != pattern(c->rx_off + k);
		}
		c->rx_off += n;
		c->received += n;
		if (c->from)
			c->from->bytes += n;
	}
}

/* A server closes its side once the client's is closed and everything it
 * sent has been read (and, for echo, written back). */
static void serve_eof(struct scn_tcpconn *c)
{
	drain(c);
	if (c->tp && c->eof && c->mode != TM_CLIENT && c->tp->rb_len == 0)
		tcp_close(c->tp);
}

static void conn_summary(struct scn_tcpconn *c, uint64_t now);

static void on_event(struct tcpcb *tp, enum tcp_event ev, void *arg)
{
	struct scn_tcpconn *c = arg;
	struct sim *s = c->sc->sim;
	switch (ev) {
	case TCP_EV_CONNECTED:
		if (c->mode == TM_CLIENT)
			fill(c);
		else if (c->mode == TM_CHARGEN)
			chargen_fill(c);
		break;
	case TCP_EV_WRITABLE:
		if (c->mode == TM_CLIENT) {
			if (!c->t_done && c->total && tp->bytes_acked >= c->total)
				c->t_done = s->now;
			fill(c);
		} else {
			if (c->mode == TM_CHARGEN)
				chargen_fill(c);
			serve_eof(c);
		}
		break;
	case TCP_EV_DATA: serve_eof(c); break;
	case TCP_EV_EOF:
		c->eof = true;
		serve_eof(c);
		break;
	case TCP_EV_CLOSED:
		if (!c->t_done)
			c->t_done = s->now; /* done, or given up */
		snapshot(c);
		c->state = TCPS_CLOSED;
		c->tp = NULL;
		conn_summary(c, s->now); /* in time order, as the connection ends */
		break;
	}
}

static struct scn_tcpconn *conn_new(struct scenario *sc)
{
	struct scn_tcp *w = world(sc);
	struct scn_tcpconn *c = xcalloc(1, sizeof(*c));
	c->sc = sc;
	w->cs = xgrow(w->cs, w->ncs, sizeof(*w->cs));
	w->cs[w->ncs++] = c;
	return c;
}

/* A listener's accepted connection announces itself with TCP_EV_CONNECTED
 * on the listener's own argument: give it a record of its own. */
static void on_listener_event(struct tcpcb *tp, enum tcp_event ev, void *arg)
{
	struct scn_tcplisten *l = arg;
	if (ev != TCP_EV_CONNECTED && ev != TCP_EV_CLOSED)
		return; /* cannot happen: the record takes over at once */
	if (ev == TCP_EV_CLOSED)
		return; /* an embryonic connection that never made it */
	struct scn_tcpconn *c = conn_new(l->sc);
	char a[ADDR_STRLEN];
	c->name = xmalloc(strlen(l->node->name) + 32);
	sprintf(c->name, "%s:%u<-%s", l->node->name, l->port, addr_fmt(&tp->faddr, a));
	c->node = l->node;
	c->mode = l->mode;
	c->from = l;
	c->tp = tp;
	c->opened = true;
	c->t_start = l->sc->sim->now;
	l->conns++;
	tp->on_event = on_event;
	tp->cb_arg = c;
	drain(c);
	if (c->mode == TM_CHARGEN)
		chargen_fill(c);
}

int scn_stmt_listen_tcp(struct scenario *sc, const struct scn_stmt *st)
{
	uint64_t port;
	if (st->ntok < 4) {
		scn_error(sc, st,
			  "usage: listen NODE tcp PORT [sink|discard|echo|chargen|noread] [LEVELS]");
		return -1;
	}
	struct node *n;
	if (scn_listen_where(sc, st, &n, &port) < 0)
		return -1;
	enum tcp_mode mode = TM_SINK;
	struct seclevel sl;
	seclevel_init(n, &sl);
	for (unsigned k = 4; k < st->ntok;) {
		int r = scn_parse_seclevel(sc, st, &k, &sl);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		unsigned m;
		for (m = 0; m < TM_CLIENT && k == 4; m++)
			if (strcmp(st->tok[4], mode_names[m]) == 0)
				break;
		if (k != 4 || m == TM_CLIENT) {
			scn_error(sc, st,
				  "unknown service '%s' (sink, discard, echo, chargen or noread, "
				  "then auth|esp-trans|esp-network|ipcomp LEVEL)",
				  st->tok[k]);
			return -1;
		}
		mode = (enum tcp_mode)m;
		k++;
	}
	int err;
	struct tcp_listener *tl = tcp_listen(n, NULL, (uint16_t)port, &err);
	if (!tl) {
		scn_error(sc, st, "cannot listen on %s tcp %llu: %s", n->name,
			  (unsigned long long)port, strerror(-err));
		return -1;
	}
	struct scn_tcp *w = world(sc);
	struct scn_tcplisten *l = xcalloc(1, sizeof(*l));
	l->sc = sc;
	l->node = n;
	l->port = (uint16_t)port;
	l->mode = mode;
	l->l = tl;
	tl->on_event = on_listener_event;
	tl->cb_arg = l;
	tl->sl = sl;
	w->ls = xgrow(w->ls, w->nls, sizeof(*w->ls));
	w->ls[w->nls++] = l;
	return 0;
}

struct tcp_listener *scn_tcp_listener(struct scenario *sc, struct node *n, uint16_t port)
{
	for (unsigned k = 0; sc->tcp && k < sc->tcp->nls; k++)
		if (sc->tcp->ls[k]->node == n && sc->tcp->ls[k]->port == port)
			return sc->tcp->ls[k]->l;
	return NULL;
}

static struct scn_tcpconn *find_conn(struct scenario *sc, const char *name)
{
	return sc->tcp ? hmap_get_str(&sc->tcp->names, name) : NULL;
}

/* One row of the time series: virtual seconds, then the sender's state
 * (sequence numbers relative to the ISN, times in milliseconds). */
static void on_sample(struct tcpcb *tp, void *arg)
{
	struct scn_tcpconn *c = arg;
	char t[32];
	fprintf(c->trace, "%s,%u,%u,%u,%u,%.3f,%.3f,%u\n", sim_fmt_time(c->sc->sim->now, t),
		tp->snd_una - tp->iss, tp->snd_nxt - tp->iss, tp->cwnd, tp->ssthresh,
		(double)tp->srtt / 1e6, (double)tp->rxtcur / 1e6, tp->snd_max - tp->snd_una);
}

static void open_ev(struct sim *s, void *arg)
{
	struct scn_tcpconn *c = arg;
	int err;
	c->t_start = s->now;
	c->opened = true;
	c->tp = tcp_connect_levels(c->node, c->src.af != ADDR_NONE ? &c->src : NULL, 0, &c->dst,
				   c->dport, on_event, c, c->has_sl ? &c->sl : NULL, &err);
	if (c->tp && c->keepalive)
		tcp_set_keepalive(c->tp, true);
	if (c->tp && c->cc)
		tcp_set_cc(c->tp, c->cc);
	if (c->tp && c->trace) {
		c->tp->on_sample = on_sample;
		fprintf(c->trace, "time,snd_una,snd_nxt,cwnd,ssthresh,srtt_ms,rto_ms,flight\n");
	}
	if (!c->tp) {
		c->error = -err;
		c->state = TCPS_CLOSED;
	}
}

struct close_ev {
	struct scn_tcpconn *c;
	bool abort;
};

static void close_ev(struct sim *s, void *arg)
{
	struct close_ev *e = arg;
	(void)s;
	if (e->c->tp) {
		if (e->abort)
			tcp_abort(e->c->tp);
		else
			tcp_close(e->c->tp);
	}
	free(e);
}

int scn_action_tcp(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at)
{
	unsigned n = st->ntok - i;
	if (n == 2 &&
	    (strcmp(st->tok[i + 1], "close") == 0 || strcmp(st->tok[i + 1], "abort") == 0)) {
		struct scn_tcpconn *c = find_conn(sc, st->tok[i]);
		if (!c) {
			scn_error(sc, st,
				  "no connection named '%s' (tcp ... as NAME) before this line",
				  st->tok[i]);
			return -1;
		}
		struct close_ev *e = xmalloc(sizeof(*e));
		e->c = c;
		e->abort = st->tok[i + 1][0] == 'a';
		sim_at(sc->sim, at, close_ev, free, e);
		return 0;
	}
	if (n < 4 || strcmp(st->tok[i + 2], "send") != 0) {
		scn_error(sc, st,
			  "usage: at TIME tcp NODE DEST:PORT send BYTES [as NAME] [trace FILE] "
			  "[keepopen], or at "
			  "TIME tcp NAME close|abort");
		return -1;
	}
	struct node *node = sim_find_node(sc->sim, st->tok[i]);
	if (!node) {
		scn_error(sc, st, "unknown node '%s'", st->tok[i]);
		return -1;
	}
	struct ipaddr dst;
	uint16_t port;
	if (scn_parse_hostport(st->tok[i + 1], &dst, &port) < 0) {
		scn_error(sc, st,
			  "bad destination '%s' (ADDR:PORT, or [ADDR]:PORT for IPv6; port 1 to "
			  "65535)",
			  st->tok[i + 1]);
		return -1;
	}
	uint64_t bytes;
	if (scn_parse_uint(st->tok[i + 3], UINT64_MAX / 2, &bytes) < 0) {
		scn_bad_range(sc, st, st->tok[i + 3], "send", 0, UINT64_MAX / 2);
		return -1;
	}
	const char *name = NULL, *trace = NULL, *from = NULL;
	bool keepopen = false, reply_chargen = false, keepalive = false;
	uint64_t rate = 0;
	const struct tcp_cc *cc = NULL;
	struct seclevel sl;
	seclevel_init(node, &sl);
	bool has_sl = false;
	for (unsigned k = i + 4; k < st->ntok; k++) {
		unsigned at_k = k;
		int r = scn_parse_seclevel(sc, st, &at_k, &sl);
		if (r < 0)
			return -1;
		if (r > 0) {
			has_sl = true;
			k = at_k - 1;
			continue;
		}
		if (strcmp(st->tok[k], "as") == 0 && k + 1 < st->ntok) {
			name = st->tok[++k];
		} else if (strcmp(st->tok[k], "trace") == 0 && k + 1 < st->ntok) {
			trace = st->tok[++k];
		} else if (strcmp(st->tok[k], "from") == 0 && k + 1 < st->ntok) {
			from = st->tok[++k];
		} else if (strcmp(st->tok[k], "keepopen") == 0) {
			keepopen = true;
		} else if (strcmp(st->tok[k], "keepalive") == 0) {
			keepalive = true;
		} else if (strcmp(st->tok[k], "cc") == 0 && k + 1 < st->ntok) {
			cc = tcp_cc_find(st->tok[++k]);
			if (!cc) {
				scn_error(sc, st,
					  "unknown congestion control '%s' (newreno, cubic)",
					  st->tok[k]);
				return -1;
			}
		} else if (strcmp(st->tok[k], "rate") == 0 && k + 1 < st->ntok) {
			if (scn_parse_rate(st->tok[++k], &rate) < 0) {
				scn_bad_value(sc, st, st->tok[k], "rate", SCN_RATE_FORM);
				return -1;
			}
		} else if (strcmp(st->tok[k], "reply") == 0 && k + 1 < st->ntok &&
			   (strcmp(st->tok[k + 1], "chargen") == 0 ||
			    strcmp(st->tok[k + 1], "echo") == 0)) {
			reply_chargen = strcmp(st->tok[++k], "chargen") == 0;
		} else {
			scn_error(sc, st,
				  "unknown tcp option '%s' (as NAME, trace FILE, reply "
				  "echo|chargen, keepopen, keepalive, cc ALG, rate R, from ADDR, "
				  "auth|esp-trans|esp-network|ipcomp LEVEL)",
				  st->tok[k]);
			return -1;
		}
	}
	if (name && scn_name_taken(sc, name)) {
		scn_error(sc, st, "the name '%s' is taken", name);
		return -1;
	}
	struct ipaddr src = {0};
	if (from && scn_parse_from(sc, st, node, from, &dst, &src) < 0)
		return -1;
	struct scn_tcpconn *c = conn_new(sc);
	c->node = node;
	c->src = src;
	c->dst = dst;
	c->dport = port;
	if (dst.af == ADDR_V6) {
		char a[ADDR_STRLEN];
		snprintf(c->dststr, sizeof(c->dststr), "[%s]:%u", addr_fmt(&dst, a), port);
	} else {
		char a[ADDR_STRLEN];
		snprintf(c->dststr, sizeof(c->dststr), "%s:%u", addr_fmt(&dst, a), port);
	}
	c->mode = TM_CLIENT;
	c->total = bytes;
	c->keepopen = keepopen;
	c->reply_chargen = reply_chargen;
	c->keepalive = keepalive;
	c->rate = rate;
	c->cc = cc;
	c->has_sl = has_sl;
	c->sl = sl;
	if (trace) {
		char path[4096];
		scn_out_path(sc, trace, path, sizeof(path));
		c->trace = fopen(path, "w");
		if (!c->trace) {
			scn_error(sc, st, "cannot write %s: %s", path, strerror(errno));
			return -1;
		}
		scn_add_written(sc, path);
	}
	if (name) {
		c->name = xstrdup(name);
	} else {
		c->name = xmalloc(strlen(node->name) + sizeof(c->dststr) + 4);
		sprintf(c->name, "%s->%s", node->name, c->dststr);
	}
	hmap_add_str(&world(sc)->names, c->name, c); /* of two unnamed alike, the first */
	sim_at(sc->sim, at, open_ev, NULL, c);
	return 0;
}

/* ---- expectations ---- */

static const char *const conn_fields[] = {"sent",        "acked",    "received", "badbytes",
					  "retransmits", "timeouts", "goodput",  "state",
					  "error",       "rttmin",   "rttavg",   "rttmax"};
enum {
	CF_SENT,
	CF_ACKED,
	CF_RECEIVED,
	CF_BADBYTES,
	CF_REXMIT,
	CF_TIMEOUTS,
	CF_GOODPUT,
	CF_STATE,
	CF_ERROR,
	CF_RTTMIN,
	CF_RTTAVG,
	CF_RTTMAX
};

int scn_tcp_target(struct scenario *sc, const struct scn_stmt *st, unsigned i, struct scn_expect *e,
		   unsigned *opi)
{
	unsigned n = st->ntok - i;
	if (n == 6 && strcmp(st->tok[i + 1], "tcp") == 0) {
		struct node *node = sim_find_node(sc->sim, st->tok[i]);
		uint64_t port;
		const char *what = st->tok[i + 3];
		int f = strcmp(what, "bytes") == 0         ? 0
			: strcmp(what, "connections") == 0 ? 1
			: strcmp(what, "badbytes") == 0    ? 2
							   : -1;
		if (!node || scn_parse_uint(st->tok[i + 2], 65535, &port) < 0 || f < 0) {
			scn_error(sc, st,
				  "usage: expect NODE tcp PORT bytes|connections|badbytes OP "
				  "VALUE");
			return -1;
		}
		struct scn_tcplisten *l = NULL;
		for (unsigned k = 0; sc->tcp && k < sc->tcp->nls; k++)
			if (sc->tcp->ls[k]->node == node && sc->tcp->ls[k]->port == port)
				l = sc->tcp->ls[k];
		if (!l) {
			scn_error(sc, st, "no 'listen %s tcp %llu' before this line", node->name,
				  (unsigned long long)port);
			return -1;
		}
		e->kind = TGT_TCP_LISTENER;
		e->tcpl = l;
		e->stat = f;
		*opi = i + 4;
		return 1;
	}
	struct scn_tcpconn *c = n == 4 ? find_conn(sc, st->tok[i]) : NULL;
	if (!c)
		return 0; /* not ours */
	for (unsigned f = 0; f < ARRAY_LEN(conn_fields); f++)
		if (strcmp(st->tok[i + 1], conn_fields[f]) == 0) {
			e->kind = TGT_TCP_CONN;
			e->tcpc = c;
			e->stat = (int)f;
			*opi = i + 2;
			return 1;
		}
	scn_error(sc, st,
		  "usage: expect NAME sent|acked|received|badbytes|retransmits|timeouts|goodput|"
		  "state|error|rttmin|rttavg|rttmax OP VALUE");
	return -1;
}

static enum tcp_state cur_state(const struct scn_tcpconn *c)
{
	return c->tp ? c->tp->state : c->state;
}

/* The value an expectation on a connection compares: goodput in bit/s,
 * the state as its number, the errno. */
int scn_tcp_parse_value(const struct scn_expect *e, const char *s, uint64_t *v)
{
	if (e->kind != TGT_TCP_CONN)
		return scn_parse_uint(s, UINT64_MAX, v);
	if (e->stat == CF_GOODPUT)
		return scn_parse_rate(s, v);
	if (e->stat >= CF_RTTMIN)
		return scn_parse_time(s, v);
	if (e->stat == CF_ERROR)
		return scn_parse_errno(s, v);
	if (e->stat == CF_STATE) {
		for (int k = 0; k < TCPS__COUNT; k++)
			if (strcasecmp(s, tcp_state_name((enum tcp_state)k)) == 0) {
				*v = (uint64_t)k;
				return 0;
			}
		return -1;
	}
	return scn_parse_uint(s, UINT64_MAX, v);
}

/* What scn_tcp_parse_value takes, for its error message. */
const char *scn_tcp_value_form(const struct scn_expect *e)
{
	if (e->kind != TGT_TCP_CONN)
		return SCN_COUNT_FORM;
	if (e->stat == CF_GOODPUT)
		return SCN_RATE_FORM;
	if (e->stat >= CF_RTTMIN)
		return SCN_TIME_FORM;
	if (e->stat == CF_ERROR)
		return SCN_ERRNO_FORM;
	if (e->stat == CF_STATE)
		return "a TCP state name (such as ESTABLISHED or TIME_WAIT)";
	return SCN_COUNT_FORM;
}

static uint64_t goodput(const struct scn_tcpconn *c, uint64_t now)
{
	uint64_t acked = c->tp ? c->tp->bytes_acked : c->acked;
	uint64_t end = c->t_done ? c->t_done : now;
	if (!c->opened || end <= c->t_start)
		return 0;
	return (uint64_t)((long double)acked * 8 * NS_PER_SEC / (end - c->t_start));
}

uint64_t scn_tcp_value(const struct scn_expect *e, uint64_t now)
{
	if (e->kind == TGT_TCP_LISTENER) {
		const struct scn_tcplisten *l = e->tcpl;
		if (e->stat == 0)
			return l->bytes;
		if (e->stat == 1)
			return l->conns;
		uint64_t bad = 0;
		for (unsigned k = 0; k < l->sc->tcp->ncs; k++)
			if (l->sc->tcp->cs[k]->from == l)
				bad += l->sc->tcp->cs[k]->badbytes;
		return bad;
	}
	const struct scn_tcpconn *c = e->tcpc;
	struct tcpcb *tp = c->tp;
	switch (e->stat) {
	case CF_SENT: return c->written;
	case CF_ACKED: return tp ? tp->bytes_acked : c->acked;
	case CF_RECEIVED: return c->received;
	case CF_BADBYTES: return c->badbytes;
	case CF_REXMIT: return tp ? tp->rexmit_segs : c->rexmit_segs;
	case CF_TIMEOUTS: return tp ? tp->timeouts : c->timeouts;
	case CF_GOODPUT: return goodput(c, now);
	case CF_STATE: return (uint64_t)cur_state(c);
	case CF_ERROR: return (uint64_t)(tp ? tp->so_error : c->error);
	case CF_RTTMIN: return tp ? tp->rtt_min : c->rtt_min;
	case CF_RTTAVG: {
		uint64_t n = tp ? tp->rtt_n : c->rtt_n, sum = tp ? tp->rtt_sum : c->rtt_sum;
		return n ? sum / n : 0;
	}
	case CF_RTTMAX: return tp ? tp->rtt_max : c->rtt_max;
	}
	return 0;
}

const char *scn_tcp_actual(const struct scn_expect *e, char buf[48])
{
	if (e->kind == TGT_TCP_CONN && e->stat == CF_STATE)
		return tcp_state_name((enum tcp_state)e->actual);
	if (e->kind == TGT_TCP_CONN && e->stat == CF_ERROR && e->actual) {
		const char *name = scn_errno_name((int)e->actual);
		snprintf(buf, 48, "%s (%llu)", name ? name : "?", (unsigned long long)e->actual);
		return buf;
	}
	if (e->kind == TGT_TCP_CONN && e->stat >= CF_RTTMIN) {
		snprintf(buf, 48, "%llu.%06llu ms", (unsigned long long)(e->actual / 1000000),
			 (unsigned long long)(e->actual % 1000000));
		return buf;
	}
	if (e->kind == TGT_TCP_CONN && e->stat == CF_GOODPUT) {
		snprintf(buf, 48, "%llu.%03llu Mbit/s", (unsigned long long)(e->actual / 1000000),
			 (unsigned long long)(e->actual / 1000 % 1000));
		return buf;
	}
	snprintf(buf, 48, "%llu", (unsigned long long)e->actual);
	return buf;
}

/* ---- the end of the run ---- */

/* A connection's report, once: when it closes, or at the end of the run
 * for one still open. */
static void conn_summary(struct scn_tcpconn *c, uint64_t now)
{
	if (c->summarized || c->from)
		return;
	c->summarized = true;
	FILE *f = c->sc->out;
	fprintf(f, "--- %s tcp %s (%s) ---\n", c->node->name, c->dststr, c->name);
	uint64_t end = c->t_done ? c->t_done : now;
	char t[32];
	scn_fmt_ms(end - c->t_start, t, sizeof(t));
	uint64_t g = goodput(c, now);
	fprintf(f, "%llu bytes sent, %llu acknowledged in %s ms: goodput %llu.%03llu Mbit/s; ",
		(unsigned long long)c->written, (unsigned long long)c->acked, t,
		(unsigned long long)(g / 1000000), (unsigned long long)(g / 1000 % 1000));
	fprintf(f, "state %s", tcp_state_name(c->state));
	if (c->error) {
		const char *name = scn_errno_name(c->error);
		fprintf(f, " (%s)", name ? name : strerror(c->error));
	}
	fprintf(f, "\n%llu segments retransmitted (%llu fast retransmits, %llu timeouts)",
		(unsigned long long)c->rexmit_segs, (unsigned long long)c->fast_rexmits,
		(unsigned long long)c->timeouts);
	if (c->rtt_n) {
		char rtt[100];
		scn_fmt_min_avg_max(c->rtt_min, c->rtt_sum, c->rtt_n, c->rtt_max, rtt, sizeof(rtt));
		fprintf(f, ", rtt min/avg/max = %s ms", rtt);
	}
	fprintf(f, ", cwnd %u", c->cwnd);
	if (c->received)
		fprintf(f, ", %llu bytes received (%llu out of pattern)",
			(unsigned long long)c->received, (unsigned long long)c->badbytes);
	fprintf(f, "\n");
}

void scn_tcp_finish(struct scenario *sc)
{
	if (!sc->tcp)
		return;
	FILE *f = sc->out;
	uint64_t now = sc->sim->now;
	for (unsigned i = 0; i < sc->tcp->ncs; i++) {
		struct scn_tcpconn *c = sc->tcp->cs[i];
		if (c->tp)
			snapshot(c);
		conn_summary(c, now);
	}
	for (unsigned i = 0; i < sc->tcp->nls; i++) {
		struct scn_tcplisten *l = sc->tcp->ls[i];
		uint64_t bad = 0;
		for (unsigned k = 0; k < sc->tcp->ncs; k++)
			if (sc->tcp->cs[k]->from == l)
				bad += sc->tcp->cs[k]->badbytes;
		fprintf(f, "--- %s tcp port %u (%s): %llu connections, %llu bytes received",
			l->node->name, l->port, mode_names[l->mode], (unsigned long long)l->conns,
			(unsigned long long)l->bytes);
		if (l->mode == TM_SINK)
			fprintf(f, ", %llu out of pattern", (unsigned long long)bad);
		fprintf(f, " ---\n");
	}
}

void scn_tcp_free(struct scenario *sc)
{
	struct scn_tcp *w = sc->tcp;
	if (!w)
		return;
	for (unsigned i = 0; i < w->ncs; i++) {
		if (w->cs[i]->tp) {
			tcp_detach(w->cs[i]->tp);
			w->cs[i]->tp->on_sample = NULL;
		}
		if (w->cs[i]->trace)
			fclose(w->cs[i]->trace);
		free(w->cs[i]->name);
		free(w->cs[i]);
	}
	hmap_free(&w->names);
	for (unsigned i = 0; i < w->nls; i++) {
		w->ls[i]->l->on_event = NULL;
		w->ls[i]->l->cb_arg = NULL;
		free(w->ls[i]);
	}
	free(w->cs);
	free(w->ls);
	free(w);
	sc->tcp = NULL;
}

bool scn_name_taken(struct scenario *sc, const char *name)
{
	return find_conn(sc, name) || scn_find_app(sc, name) || sim_find_node(sc->sim, name) ||
	       sim_find_link(sc->sim, name);
}
