/*
 * Congestion control, one table per algorithm.  NewReno (RFC 5681 with
 * RFC 6582's recovery) is the default, with the initial window of RFC
 * 6928 as OpenBSD's net.inet.tcp.rfc3390 selects it.  Another algorithm
 * is another table here.
 */
#include <string.h>

#include "../sim/sim.h"
#include "tcp_var.h"

static uint32_t flight(const struct tcpcb *tp)
{
	return tp->snd_max - tp->snd_una;
}

/* RFC 5681 eq. 4: half what is in flight, at least two segments. */
static uint32_t half_flight(const struct tcpcb *tp)
{
	uint32_t h = flight(tp) / 2;
	return h > 2 * tp->maxseg ? h : 2 * tp->maxseg;
}

static uint32_t cwnd_cap(const struct tcpcb *tp)
{
	return (uint32_t)TCP_MAXWIN << tp->snd_scale;
}

static void newreno_init(struct tcpcb *tp)
{
	uint32_t mss = tp->maxseg;
	switch (tp->node->sysctl[SYSCTL_TCP_RFC3390]) {
	case 2: /* RFC 6928: min(10 MSS, max(2 MSS, 14600)) */
		tp->cwnd = 14600 > 2 * mss ? 14600 : 2 * mss;
		if (tp->cwnd > 10 * mss)
			tp->cwnd = 10 * mss;
		break;
	case 1: /* RFC 3390: min(4 MSS, max(2 MSS, 4380)) */
		tp->cwnd = 4380 > 2 * mss ? 4380 : 2 * mss;
		if (tp->cwnd > 4 * mss)
			tp->cwnd = 4 * mss;
		break;
	default: tp->cwnd = mss;
	}
	tp->ssthresh = (uint32_t)TCP_MAXWIN << TCP_MAX_WINSHIFT;
}

static void newreno_ack(struct tcpcb *tp, uint32_t acked)
{
	uint32_t mss = tp->maxseg, incr;
	if (tp->cwnd < tp->ssthresh) {
		incr = acked < mss ? acked : mss; /* slow start (RFC 5681 3.1, L = 1) */
	} else {
		incr = (uint32_t)((uint64_t)mss * mss / tp->cwnd); /* congestion avoidance */
		if (!incr)
			incr = 1;
	}
	uint64_t c = (uint64_t)tp->cwnd + incr;
	tp->cwnd = c > cwnd_cap(tp) ? cwnd_cap(tp) : (uint32_t)c;
}

static void newreno_fast_retransmit(struct tcpcb *tp)
{
	tp->ssthresh = half_flight(tp);
	tp->cwnd = tp->ssthresh + 3 * tp->maxseg; /* RFC 6582 3.2 step 2 */
}

static void newreno_dupack(struct tcpcb *tp)
{
	tp->cwnd += tp->maxseg; /* RFC 6582 3.2 step 3 */
}

static void newreno_partial_ack(struct tcpcb *tp, uint32_t acked)
{
	/* RFC 6582 3.2 step 5: deflate by what was acknowledged, then add
	 * back one segment if that was at least one */
	tp->cwnd = tp->cwnd > acked ? tp->cwnd - acked : 0;
	if (acked >= tp->maxseg)
		tp->cwnd += tp->maxseg;
	if (tp->cwnd < tp->maxseg)
		tp->cwnd = tp->maxseg;
}

static void newreno_recovered(struct tcpcb *tp)
{
	/* RFC 6582 3.2 step 6, option 1 */
	uint32_t f = flight(tp) + tp->maxseg;
	tp->cwnd = tp->ssthresh < f ? tp->ssthresh : f;
}

static void newreno_timeout(struct tcpcb *tp)
{
	tp->ssthresh = half_flight(tp); /* RFC 5681 3.1 eq. 4 */
	tp->cwnd = tp->maxseg;          /* the loss window */
}

const struct tcp_cc tcp_newreno = {
    .name = "newreno",
    .init = newreno_init,
    .ack = newreno_ack,
    .fast_retransmit = newreno_fast_retransmit,
    .dupack = newreno_dupack,
    .partial_ack = newreno_partial_ack,
    .recovered = newreno_recovered,
    .timeout = newreno_timeout,
};

/*
 * CUBIC (RFC 9438), in bytes and milliseconds with integer arithmetic only
 * (a cube root by bisection), so that every machine computes the same
 * windows.  beta 0.7, C 0.4, fast convergence, and the Reno-friendly
 * estimate; slow start, and the recovery around a loss, as NewReno's.
 */
enum { CU_WMAX, CU_WLASTMAX, CU_K, CU_EPOCH, CU_WEST };

static uint64_t icbrt(uint64_t v)
{
	uint64_t lo = 0, hi = 2642246; /* 2642246^3 > 2^64 - 1 > 2642245^3 */
	while (lo < hi) {
		uint64_t mid = (lo + hi + 1) / 2;
		if (mid * mid * mid <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* W_cubic(t) in bytes, t in ms since the epoch (RFC 9438 4.2). */
static int64_t cubic_w(const struct tcpcb *tp, int64_t t_ms)
{
	int64_t d = t_ms - (int64_t)tp->cc_state[CU_K];
	if (d > 2000000)
		d = 2000000; /* (d^3 stays in 63 bits) */
	if (d < -2000000)
		d = -2000000;
	/* C (t - K)^3 segments: 0.4 * d^3 / 10^9 */
	int64_t seg = d * d * d / 1000000000 * 4 / 10;
	return (int64_t)tp->cc_state[CU_WMAX] + seg * (int64_t)tp->maxseg;
}

/* A congestion event: remember where it happened and how far back to go. */
static void cubic_event(struct tcpcb *tp)
{
	uint64_t cwnd = tp->cwnd;
	/* fast convergence (4.7) */
	if (cwnd < tp->cc_state[CU_WLASTMAX])
		tp->cc_state[CU_WMAX] = cwnd * 17 / 20; /* (1 + beta) / 2 */
	else
		tp->cc_state[CU_WMAX] = cwnd;
	tp->cc_state[CU_WLASTMAX] = cwnd;
	/* K = cbrt(W_max (1 - beta) / C) seconds = cbrt(0.75 W_max) with
	 * W_max in segments; in ms, the cube root of 0.75 W_max 10^9 */
	uint64_t wseg = tp->cc_state[CU_WMAX] / tp->maxseg;
	tp->cc_state[CU_K] = icbrt(wseg * 750000000);
	tp->cc_state[CU_EPOCH] = 0;
	uint32_t ss = (uint32_t)(cwnd * 7 / 10); /* beta_cubic */
	tp->ssthresh = ss > 2 * tp->maxseg ? ss : 2 * tp->maxseg;
}

static void cubic_init(struct tcpcb *tp)
{
	newreno_init(tp);
	memset(tp->cc_state, 0, sizeof(tp->cc_state));
}

static void cubic_ack(struct tcpcb *tp, uint32_t acked)
{
	if (tp->cwnd < tp->ssthresh) {
		newreno_ack(tp, acked); /* slow start */
		return;
	}
	uint64_t now_ms = tp->node->sim->now / NS_MS;
	if (!tp->cc_state[CU_EPOCH]) {
		/* the first ACK of this congestion avoidance (4.2) */
		tp->cc_state[CU_EPOCH] = now_ms ? now_ms : 1;
		tp->cc_state[CU_WEST] = tp->cwnd;
		if (!tp->cc_state[CU_WMAX] || tp->cc_state[CU_WMAX] < tp->cwnd) {
			tp->cc_state[CU_WMAX] = tp->cwnd;
			tp->cc_state[CU_K] = 0;
		}
	}
	int64_t t = (int64_t)(now_ms - tp->cc_state[CU_EPOCH]);
	int64_t rtt = (int64_t)(tp->srtt / NS_MS);
	int64_t target = cubic_w(tp, t + rtt);
	int64_t cwnd = tp->cwnd;
	if (target < cwnd)
		target = cwnd;
	if (target > cwnd * 3 / 2)
		target = cwnd * 3 / 2;
	/* the Reno-friendly estimate (4.3): alpha = 3 (1 - beta) / (1 + beta) */
	tp->cc_state[CU_WEST] += (uint64_t)acked * tp->maxseg * 529 / 1000 / tp->cwnd;
	uint64_t grow = (uint64_t)(target - cwnd) * tp->maxseg / tp->cwnd;
	uint64_t next = (uint64_t)cwnd + grow;
	if (cubic_w(tp, t) < (int64_t)tp->cc_state[CU_WEST] && tp->cc_state[CU_WEST] > next)
		next = tp->cc_state[CU_WEST];
	tp->cwnd = next > cwnd_cap(tp) ? cwnd_cap(tp) : (uint32_t)next;
}

static void cubic_fast_retransmit(struct tcpcb *tp)
{
	cubic_event(tp);
	tp->cwnd = tp->ssthresh + 3 * tp->maxseg;
}

static void cubic_recovered(struct tcpcb *tp)
{
	tp->cwnd = tp->ssthresh;
}

static void cubic_timeout(struct tcpcb *tp)
{
	cubic_event(tp);
	tp->cwnd = tp->maxseg;
}

const struct tcp_cc tcp_cubic = {
    .name = "cubic",
    .init = cubic_init,
    .ack = cubic_ack,
    .fast_retransmit = cubic_fast_retransmit,
    .dupack = newreno_dupack,
    .partial_ack = newreno_partial_ack,
    .recovered = cubic_recovered,
    .timeout = cubic_timeout,
};

const struct tcp_cc *tcp_cc_find(const char *name)
{
	static const struct tcp_cc *const all[] = {&tcp_newreno, &tcp_cubic};
	for (size_t i = 0; i < ARRAY_LEN(all); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}
