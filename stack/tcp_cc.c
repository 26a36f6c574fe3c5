/*
 * Congestion control, one table per algorithm.  NewReno (RFC 5681 with
 * RFC 6582's recovery) is the default, with the initial window of RFC
 * 6928 as OpenBSD's net.inet.tcp.rfc3390 selects it.  Another algorithm
 * is another table here.
 */
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
