/*
 * TCP's five timers (BSD's tcp_timer.c) and the RTT estimator (RFC 6298).
 *
 * Each connection keeps a deadline per timer and at most one pending
 * simulator event, at the earliest deadline it knew of when it armed it.
 * The event names the connection by id: if the connection is gone, or has
 * armed an earlier event since, it does nothing.  Expired timers run in
 * the fixed order REXMT, PERSIST, KEEP, 2MSL, DELACK.
 */
#include <errno.h>
#include <stdlib.h>

#include "../sim/sim.h"
#include "tcp_var.h"

/* OpenBSD's tcp_backoff: the RTO multiplier per retransmission. */
static const unsigned tcp_backoff[TCP_MAXRXTSHIFT + 1] = {1,  2,  4,  8,  16, 32, 64,
							  64, 64, 64, 64, 64, 64};

struct tcp_timer_ev {
	struct node *node;
	uint64_t id, when;
};

static void tcp_timer_fire(struct sim *s, void *arg);

static void reschedule(struct tcpcb *tp)
{
	uint64_t next = 0;
	for (int t = 0; t < TCPT_N; t++)
		if (tp->timer[t] && (!next || tp->timer[t] < next))
			next = tp->timer[t];
	if (!next || (tp->ev_at && tp->ev_at <= next))
		return; /* none, or the pending event comes first and will look again */
	struct tcp_timer_ev *ev = xmalloc(sizeof(*ev));
	ev->node = tp->node;
	ev->id = tp->id;
	ev->when = next;
	tp->ev_at = next;
	sim_at(tp->node->sim, next, tcp_timer_fire, free, ev);
}

void tcp_timer_arm(struct tcpcb *tp, enum tcp_timer t, uint64_t delay)
{
	tp->timer[t] = tp->node->sim->now + (delay ? delay : 1);
	reschedule(tp);
}

void tcp_timer_cancel(struct tcpcb *tp, enum tcp_timer t)
{
	tp->timer[t] = 0;
}

bool tcp_timer_armed(const struct tcpcb *tp, enum tcp_timer t)
{
	return tp->timer[t] != 0;
}

void tcp_timers_cancel(struct tcpcb *tp)
{
	for (int t = 0; t < TCPT_N; t++)
		tp->timer[t] = 0;
}

uint64_t tcp_rexmtval(const struct tcpcb *tp)
{
	if (!tp->srtt)
		return TCPTV_RTOBASE;
	/* RFC 6298 2.3: SRTT + max(G, 4 RTTVAR), G one millisecond (the
	 * resolution of OpenBSD's tcp_now) */
	uint64_t var = 4 * tp->rttvar;
	return tp->srtt + (var > NS_MS ? var : NS_MS);
}

static uint64_t clamp_rto(uint64_t v)
{
	if (v < TCPTV_MIN)
		return TCPTV_MIN; /* RFC 6298 2.4 */
	if (v > TCPTV_REXMTMAX)
		return TCPTV_REXMTMAX;
	return v;
}

void tcp_xmit_timer(struct tcpcb *tp, uint64_t rtt)
{
	node_count(tp->node, STAT_TCP_RTTUPDATED);
	if (!rtt)
		rtt = 1;
	if (!tp->srtt) {
		tp->srtt = rtt; /* RFC 6298 2.2 */
		tp->rttvar = rtt / 2;
	} else {
		uint64_t d = tp->srtt > rtt ? tp->srtt - rtt : rtt - tp->srtt;
		tp->rttvar = tp->rttvar - tp->rttvar / 4 + d / 4; /* beta 1/4 */
		tp->srtt = tp->srtt - tp->srtt / 8 + rtt / 8;     /* alpha 1/8 */
		if (!tp->srtt)
			tp->srtt = 1;
	}
	tp->rxtshift = 0;
	tp->rxtcur = clamp_rto(tcp_rexmtval(tp));
	if (!tp->rtt_n || rtt < tp->rtt_min)
		tp->rtt_min = rtt;
	if (rtt > tp->rtt_max)
		tp->rtt_max = rtt;
	tp->rtt_sum += rtt;
	tp->rtt_n++;
}

void tcp_setpersist(struct tcpcb *tp)
{
	uint64_t base = tp->srtt ? tp->srtt + 2 * tp->rttvar : TCPTV_RTOBASE;
	if (base < TCPTV_MIN)
		base = TCPTV_MIN;
	uint64_t t = base * tcp_backoff[tp->rxtshift];
	if (t < TCPTV_PERSMIN)
		t = TCPTV_PERSMIN;
	if (t > TCPTV_PERSMAX)
		t = TCPTV_PERSMAX;
	tcp_timer_arm(tp, TCPT_PERSIST, t);
	if (tp->rxtshift < TCP_MAXRXTSHIFT)
		tp->rxtshift++;
}

/* RFC 6298 5.4 to 5.7, with OpenBSD's give-up after 12 retransmissions. */
static void timer_rexmt(struct tcpcb *tp)
{
	struct node *n = tp->node;
	if (++tp->rxtshift > TCP_MAXRXTSHIFT) {
		tp->rxtshift = TCP_MAXRXTSHIFT;
		node_count(n, STAT_TCP_TIMEOUTDROP);
		tcp_drop(tp, tp->so_error ? tp->so_error : ETIMEDOUT);
		return;
	}
	node_count(n, STAT_TCP_REXMTTIMEO);
	tp->timeouts++;
	/* A path MTU black hole (a router that drops what is too big without
	 * saying so): after the third timeout with data to send, send without
	 * DF, as OpenBSD does by locking the route's MTU (tcp_timer_rexmt). */
	if (tp->rxtshift > 2 && TCPS_HAVEESTABLISHED(tp->state) && tp->sb_len &&
	    tp->faddr.af == ADDR_V4 && !(tp->flags & TF_NODF)) {
		tp->flags |= TF_NODF;
		char a[ADDR_STRLEN];
		node_trace(n, "tcp to %s:%u: no answer, path MTU discovery off",
			   addr_fmt(&tp->faddr, a), tp->fport);
	}
	tp->rxtcur = clamp_rto(tcp_rexmtval(tp) * tcp_backoff[tp->rxtshift]);
	if (tp->state < TCPS_ESTABLISHED)
		tp->flags |= TF_SYN_REXMT;
	/* Karn: no RTT sample from what is sent again */
	tp->rtt_timing = false;
	/* RFC 6582 4.1: no fast retransmit for what this timeout resends */
	tp->snd_last = tp->recover = tp->snd_max;
	tp->snd_nxt = tp->snd_una;
	tp->dupacks = 0;
	tp->flags &= ~(unsigned)TF_RECOVERY;
	tcp_sack_clear(tp); /* the receiver may have reneged (RFC 2018 8) */
	if (TCPS_HAVEESTABLISHED(tp->state) || tp->state == TCPS_SYN_RECEIVED) {
		node_count(n, STAT_TCP_CWR_TIMEOUT);
		tp->cc->timeout(tp);
	}
	tcp_sample(tp);
	tcp_output(tp);
}

static void timer_persist(struct tcpcb *tp)
{
	node_count(tp->node, STAT_TCP_PERSISTTIMEO);
	tcp_setpersist(tp);
	tp->flags |= TF_FORCE;
	tcp_output(tp);
	tp->flags &= ~(unsigned)TF_FORCE;
}

static bool keepalive_on(const struct tcpcb *tp)
{
	return (tp->flags & TF_KEEPALIVE) || tp->node->sysctl[SYSCTL_TCP_ALWAYS_KEEPALIVE];
}

void tcp_keep_rearm(struct tcpcb *tp)
{
	if (tp->state < TCPS_ESTABLISHED || tp->state > TCPS_CLOSING)
		return; /* the connect timeout, or nothing to keep alive */
	if (keepalive_on(tp))
		tcp_timer_arm(tp, TCPT_KEEP,
			      (uint64_t)tp->node->sysctl[SYSCTL_TCP_KEEPIDLE] * NS_PER_SEC);
	else
		tcp_timer_cancel(tp, TCPT_KEEP);
}

static void timer_keep(struct tcpcb *tp)
{
	struct node *n = tp->node;
	node_count(n, STAT_TCP_KEEPTIMEO);
	if (tp->state < TCPS_ESTABLISHED) {
		/* the connect timeout: net.inet.tcp.keepinittime */
		node_count(n, STAT_TCP_KEEPDROPS);
		tcp_drop(tp, ETIMEDOUT);
		return;
	}
	if (!keepalive_on(tp) || tp->state > TCPS_CLOSING)
		return;
	/* OpenBSD's tcp_timer_keep: eight probes keepintvl apart after
	 * keepidle of silence, then give up */
	uint64_t idle = n->sim->now - tp->last_rcv;
	uint64_t intvl = (uint64_t)n->sysctl[SYSCTL_TCP_KEEPINTVL] * NS_PER_SEC;
	uint64_t limit = (uint64_t)n->sysctl[SYSCTL_TCP_KEEPIDLE] * NS_PER_SEC + 8 * intvl;
	if (idle >= limit) {
		node_count(n, STAT_TCP_KEEPDROPS);
		tcp_drop(tp, ETIMEDOUT);
		return;
	}
	/* a segment the peer must answer: one byte before what it has
	 * acknowledged (RFC 9293 3.8.4) */
	node_count(n, STAT_TCP_KEEPPROBE);
	uint32_t win = tcp_rcv_space(tp) >> tp->rcv_scale;
	tcp_respond(n, &tp->laddr, &tp->faddr, tp->lport, tp->fport, tp->snd_una - 1, tp->rcv_nxt,
		    TH_ACK, (uint16_t)(win > TCP_MAXWIN ? TCP_MAXWIN : win));
	tcp_timer_arm(tp, TCPT_KEEP, intvl);
}

static void timer_2msl(struct tcpcb *tp)
{
	tcp_drop(tp, 0); /* TIME_WAIT (or FIN_WAIT_2 given up) is over */
}

static void timer_delack(struct tcpcb *tp)
{
	tp->flags |= TF_ACKNOW;
	node_count(tp->node, STAT_TCP_DELACK);
	tcp_output(tp);
}

static void (*const handlers[TCPT_N])(struct tcpcb *) = {timer_rexmt, timer_persist, timer_keep,
							 timer_2msl, timer_delack};

static void tcp_timer_fire(struct sim *s, void *arg)
{
	struct tcp_timer_ev *ev = arg;
	struct node *n = ev->node;
	uint64_t id = ev->id, when = ev->when;
	free(ev);
	struct tcpcb *tp = tcp_by_id(n, id);
	if (!tp || tp->ev_at != when)
		return; /* gone, or an earlier event took over */
	tp->ev_at = 0;
	for (int t = 0; t < TCPT_N; t++) {
		if (!tp->timer[t] || tp->timer[t] > s->now)
			continue;
		tp->timer[t] = 0;
		handlers[t](tp);
		if (!tcp_by_id(n, id))
			return; /* the handler ended the connection */
	}
	reschedule(tp);
}
