/*
 * Segment arrival (RFC 9293 3.10.7), in BSD's order: checks of the
 * header, the connection or listener, then per state.  Resets and SYNs
 * in synchronized states follow RFC 5961 (a challenge ACK for what is in
 * the window but not exact), where OpenBSD drops an inexact RST silently.
 * Every segment that is not consumed is dropped through node_drop with
 * its reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/ipsec_io.h"
#include "../sim/sim.h"
#include "ip4.h"
#include "ip6.h"
#include "tcp_var.h"

/* What arrived, parsed. */
struct seg {
	struct tcp_hdr th;
	struct tcp_opts to;
	const uint8_t *data;
	uint32_t dlen;
	const struct ipaddr *src, *dst;
};

/* net.inet.tcp.rstppslimit: resets and challenge ACKs per second. */
static bool rst_allowed(struct node *n)
{
	uint64_t sec = n->sim->now / NS_PER_SEC;
	if (sec != n->tcp_rst_second) {
		n->tcp_rst_second = sec;
		n->tcp_rst_count = 0;
	}
	return n->tcp_rst_count++ < n->sysctl[SYSCTL_TCP_RSTPPSLIMIT];
}

/* RFC 9293 3.10.7.1: the reset for a segment that has no business here;
 * never in answer to a reset. */
static void drop_with_reset(struct node *n, struct pkt *p, const struct seg *s, enum stat_id why)
{
	const struct tcp_hdr *th = &s->th;
	if (!(th->flags & TH_RST) && rst_allowed(n)) {
		if (th->flags & TH_ACK)
			tcp_respond(n, s->dst, s->src, th->dport, th->sport, th->ack, 0, TH_RST, 0);
		else
			tcp_respond(n, s->dst, s->src, th->dport, th->sport, 0,
				    th->seq + s->dlen + !!(th->flags & TH_SYN) +
					!!(th->flags & TH_FIN),
				    TH_RST | TH_ACK, 0);
	}
	node_drop(n, p, why);
}

/* Drop the segment and answer with an ACK of our state (RFC 9293's "send
 * an acknowledgment and drop"; RFC 5961's challenge ACK), rate limited. */
static void drop_after_ack(struct tcpcb *tp, struct pkt *p, const struct seg *s, enum stat_id why,
			   bool challenge)
{
	struct node *n = tp->node;
	/* never an answer to a reset, except the challenge RFC 5961 asks */
	if ((challenge || !(s->th.flags & TH_RST)) && rst_allowed(n)) {
		if (challenge)
			node_count(n, STAT_TCP_SNDCHALLENGE);
		tp->flags |= TF_ACKNOW;
		tcp_output(tp);
	}
	node_drop(n, p, why);
}

static void take_options(struct tcpcb *tp, const struct seg *s)
{
	const struct tcp_opts *to = &s->to;
	if (to->ws_ok && (tp->flags & TF_REQ_WS)) {
		tp->flags |= TF_RCVD_WS;
		tp->snd_scale = to->ws > TCP_MAX_WINSHIFT ? TCP_MAX_WINSHIFT : to->ws;
		tp->rcv_scale = tp->req_scale;
	} else {
		tp->flags &= ~(unsigned)TF_REQ_WS;
		tp->snd_scale = tp->rcv_scale = 0;
	}
	if (to->ts_ok && (tp->flags & TF_REQ_TS)) {
		tp->flags |= TF_RCVD_TS;
		tp->ts_recent = to->tsval;
		tp->ts_recent_age = tp->node->sim->now ? tp->node->sim->now : 1;
	} else {
		tp->flags &= ~(unsigned)TF_REQ_TS;
	}
	if (to->sack_ok && (tp->flags & TF_REQ_SACK))
		tp->flags |= TF_SACK_PERMIT;
	/* RFC 9293 3.7.1: without the option, 536 (IPv4) or 1220 (IPv6) */
	uint32_t offer = to->mss_ok ? to->mss : (tp->faddr.af == ADDR_V6 ? 1220 : 536);
	tcp_mss(tp, offer ? offer : 1);
}

/* A SYN to a listener: a new connection in SYN_RECEIVED, answered with
 * SYN|ACK.  (OpenBSD keeps these in a SYN cache; we keep a connection,
 * bounded by the listener's backlog.) */
static void listen_input(struct node *n, struct tcp_listener *l, struct pkt *p, const struct seg *s,
			 const uint32_t *iss)
{
	uint8_t f = s->th.flags;
	if (f & TH_RST) {
		node_drop(n, p, STAT_TCP_RCVBADRST);
		return;
	}
	if (f & TH_ACK || !(f & TH_SYN)) {
		drop_with_reset(n, p, s, STAT_TCP_BADSYN);
		return;
	}
	if (addr_eq(s->src, s->dst) && s->th.sport == s->th.dport) {
		node_drop(n, p, STAT_TCP_BADSYN); /* to itself from itself ("land") */
		return;
	}
	if (l->pending >= l->backlog) {
		node_drop(n, p, STAT_TCP_DROPSYN);
		return;
	}
	struct tcpcb *tp = tcp_newtcpcb(n);
	tp->laddr = *s->dst;
	tp->faddr = *s->src;
	tp->lport = s->th.dport;
	tp->fport = s->th.sport;
	tp->listener = l;
	tp->on_event = l->on_event;
	tp->cb_arg = l->cb_arg;
	tp->sl = l->sl;
	l->pending++;
	tcp_attach(tp);
	tp->ts_modulate = tcp_ts_modulate(tp);
	tp->iss = iss ? *iss : (uint32_t)rng_next(&n->rng);
	tp->snd_una = tp->snd_nxt = tp->snd_max = tp->iss;
	tp->recover = tp->snd_last = tp->iss;
	tp->irs = s->th.seq;
	tp->rcv_nxt = tp->rcv_adv = s->th.seq + 1;
	take_options(tp, s);
	tp->snd_wnd = s->th.win; /* a SYN's window is never scaled */
	tp->max_sndwnd = tp->snd_wnd;
	tp->snd_wl1 = s->th.seq;
	tp->snd_wl2 = tp->iss;
	tp->cc->init(tp);
	tcp_set_state(tp, TCPS_SYN_RECEIVED);
	tcp_timer_arm(tp, TCPT_KEEP, (uint64_t)n->sysctl[SYSCTL_TCP_KEEPINITTIME] * NS_PER_SEC);
	tp->flags |= TF_ACKNOW;
	tcp_output(tp);
	pkt_free(p); /* data on a SYN is not kept (as BSD's SYN cache) */
}

/* SYN_SENT (RFC 9293 3.10.7.3). */
static void syn_sent_input(struct tcpcb *tp, struct pkt *p, const struct seg *s)
{
	struct node *n = tp->node;
	const struct tcp_hdr *th = &s->th;
	bool ack = th->flags & TH_ACK;
	if (ack && (SEQ_LEQ(th->ack, tp->iss) || SEQ_GT(th->ack, tp->snd_max))) {
		drop_with_reset(n, p, s, STAT_TCP_RCVBADACK);
		return;
	}
	if (th->flags & TH_RST) {
		if (!ack) {
			node_drop(n, p, STAT_TCP_RCVBADRST);
			return;
		}
		pkt_free(p);
		tcp_drop(tp, ECONNREFUSED);
		return;
	}
	if (!(th->flags & TH_SYN)) {
		node_drop(n, p, STAT_TCP_RCVBADFLAGS);
		return;
	}
	tp->irs = th->seq;
	tp->rcv_nxt = tp->rcv_adv = th->seq + 1;
	take_options(tp, s);
	tp->snd_wnd = th->win;
	tp->max_sndwnd = tp->snd_wnd;
	tp->snd_wl1 = th->seq;
	tp->snd_wl2 = th->ack;
	tp->flags |= TF_ACKNOW;
	if (ack) {
		tp->snd_una = th->ack;
		if (SEQ_LT(tp->snd_nxt, tp->snd_una))
			tp->snd_nxt = tp->snd_una;
		if (tp->rtt_timing && SEQ_GT(th->ack, tp->rtseq)) {
			tcp_xmit_timer(tp, n->sim->now - tp->rtttime);
			tp->rtt_timing = false;
		}
		tcp_timer_cancel(tp, TCPT_REXMT);
		tcp_timer_cancel(tp, TCPT_KEEP);
		tp->cc->init(tp);
		if (tp->flags & TF_SYN_REXMT)
			tp->cwnd = tp->maxseg; /* RFC 5681 3.1: the SYN was lost once */
		tcp_set_state(tp, TCPS_ESTABLISHED);
	} else {
		/* simultaneous open: our SYN again, with an ACK of theirs */
		tp->snd_nxt = tp->snd_una;
		tcp_set_state(tp, TCPS_SYN_RECEIVED);
	}
	pkt_free(p);
	tcp_output(tp);
}

/* Out-of-order data: held in sequence order (a segment that overlaps
 * another is kept whole; draining skips what was delivered already).
 * False when the queue is full. */
static bool rq_insert(struct tcpcb *tp, uint32_t seq, const uint8_t *data, uint32_t len, bool fin)
{
	struct tcp_rseg **pp = &tp->rq;
	while (*pp && SEQ_LT((*pp)->seq, seq))
		pp = &(*pp)->next;
	/* the same start: keep the longer */
	if (*pp && (*pp)->seq == seq && (*pp)->len >= len && ((*pp)->fin || !fin))
		return true;
	/* as many segments as a buffer of small ones holds, at least 256 */
	size_t maxsegs = tp->rb_cap / 536 > TCP_RQ_MAXSEGS ? tp->rb_cap / 536 : TCP_RQ_MAXSEGS;
	if (tp->rq_segs >= maxsegs || tp->rq_bytes + len > tp->rb_cap)
		return false;
	struct tcp_rseg *r = xmalloc(sizeof(*r) + len);
	r->seq = seq;
	r->len = len;
	r->fin = fin;
	memcpy(r->data, data, len);
	r->next = *pp;
	*pp = r;
	tp->rq_segs++;
	tp->rq_bytes += len;
	return true;
}

/* Append in-order bytes for the user; how many fitted. */
static uint32_t deliver(struct tcpcb *tp, const uint8_t *data, uint32_t len)
{
	size_t room = tp->rb_cap - tp->rb_len;
	if (len > room)
		len = (uint32_t)room;
	memcpy(tp->rb + tp->rb_len, data, len);
	tp->rb_len += len;
	tp->rcv_nxt += len;
	return len;
}

/* Move what the queue holds at rcv_nxt into the receive buffer; true when
 * a FIN was reached. */
static bool rq_drain(struct tcpcb *tp)
{
	bool fin = false;
	while (tp->rq && SEQ_LEQ(tp->rq->seq, tp->rcv_nxt)) {
		struct tcp_rseg *r = tp->rq;
		uint32_t skip = tp->rcv_nxt - r->seq;
		if (skip < r->len) {
			uint32_t want = r->len - skip;
			uint32_t got = deliver(tp, r->data + skip, want);
			if (got < want)
				break; /* no room: the rest waits */
		}
		if (r->fin && skip <= r->len)
			fin = true;
		tp->rq = r->next;
		tp->rq_segs--;
		tp->rq_bytes -= r->len;
		free(r);
		if (fin)
			break;
	}
	return fin;
}

static void enter_time_wait(struct tcpcb *tp)
{
	tcp_timers_cancel(tp);
	tcp_set_state(tp, TCPS_TIME_WAIT);
	tcp_timer_arm(tp, TCPT_2MSL, 2 * (uint64_t)tp->node->sysctl[SYSCTL_TCP_MSL] * NS_PER_SEC);
}

/* The user read: what waited in the queue for room may go in now. */
void tcp_reass_resume(struct tcpcb *tp)
{
	if (!tp->rq || TCPS_HAVERCVDFIN(tp->state))
		return;
	uint32_t before = tp->rcv_nxt;
	bool fin = rq_drain(tp);
	if (tp->rcv_nxt != before) {
		node_count(tp->node, STAT_TCP_RCVPACK);
		tp->node->stats[STAT_TCP_RCVBYTE] += tp->rcv_nxt - before;
		tcp_notify(tp, TCP_EV_DATA);
		tp->flags |= TF_ACKNOW;
	}
	if (fin) {
		tp->rcv_nxt++;
		tp->flags |= TF_ACKNOW;
		tcp_notify(tp, TCP_EV_EOF);
		if (tp->state == TCPS_ESTABLISHED)
			tcp_set_state(tp, TCPS_CLOSE_WAIT);
		else if (tp->state == TCPS_FIN_WAIT_1)
			tcp_set_state(tp, TCPS_CLOSING);
		else if (tp->state == TCPS_FIN_WAIT_2)
			enter_time_wait(tp);
	}
}

/* Send len bytes at seq again as one segment, whatever cwnd says (the
 * congestion window was accounted for by the caller). */
static void retransmit_range(struct tcpcb *tp, uint32_t seq, uint32_t len)
{
	uint32_t onxt = tp->snd_nxt, ocwnd = tp->cwnd;
	tp->rtt_timing = false; /* Karn */
	tp->snd_nxt = seq;
	tp->cwnd = seq - tp->snd_una + len;
	tcp_output(tp);
	tp->cwnd = ocwnd;
	if (SEQ_GT(onxt, tp->snd_nxt))
		tp->snd_nxt = onxt;
}

/* Send what is missing at snd_una, one segment, whatever the window
 * (fast retransmit, RFC 5681 3.2, and NewReno's partial ACKs). */
static void retransmit_first(struct tcpcb *tp)
{
	tcp_timer_cancel(tp, TCPT_REXMT);
	retransmit_range(tp, tp->snd_una, tp->maxseg);
}

/* RFC 6675 5 step 4.4 (and every ACK in recovery): while the pipe leaves
 * room for a segment, send the next lost one, else new data, else what is
 * still unSACKed (NextSeg() rules 3 and 4). */
static void sack_output(struct tcpcb *tp)
{
	struct node *n = tp->node;
	for (unsigned guard = 0; guard < 1024; guard++) {
		if (tp->cwnd < tcp_sack_pipe(tp) + tp->maxseg)
			return;
		uint32_t seq, len;
		if (tcp_sack_nextseg(tp, &seq, &len)) {
			retransmit_range(tp, seq, len);
			tp->high_rxt = seq + len;
			node_count(n, STAT_TCP_SACK_REXMITS);
			n->stats[STAT_TCP_SACK_REXMIT_BYTES] += len;
			continue;
		}
		/* rule 2: new data, one segment */
		uint32_t before = tp->snd_max, ocwnd = tp->cwnd;
		tp->snd_nxt = tp->snd_max;
		tp->cwnd = tp->snd_max - tp->snd_una + tp->maxseg;
		tcp_output(tp);
		tp->cwnd = ocwnd;
		if (tp->snd_max != before)
			continue;
		/* nothing new to send, or no window for it */
		bool rescue;
		if (!tcp_sack_nextseg_last(tp, &seq, &len, &rescue))
			return;
		retransmit_range(tp, seq, len);
		if (rescue)
			tp->flags |= TF_RESCUED;
		else
			tp->high_rxt = seq + len;
		node_count(n, STAT_TCP_SACK_REXMITS);
		n->stats[STAT_TCP_SACK_REXMIT_BYTES] += len;
	}
}

/* The third duplicate ACK with SACK in use: RFC 6675 5 step 4. */
static void sack_recovery(struct tcpcb *tp)
{
	struct node *n = tp->node;
	node_count(n, STAT_TCP_SACK_RECOVERY_EPISODE);
	/* the algorithm says how far back (NewReno: half the flight); RFC
	 * 6675 5 step 4.2: cwnd starts at ssthresh, without inflation */
	tp->cc->fast_retransmit(tp);
	tp->cwnd = tp->ssthresh;
	tp->high_rxt = tp->snd_una;
	tp->flags &= ~(unsigned)TF_RESCUED;
	/* step 4.3: the first segment presumed lost, at once */
	uint32_t seq, len;
	if (!tcp_sack_nextseg(tp, &seq, &len)) {
		seq = tp->snd_una;
		len = tp->maxseg;
	}
	tcp_timer_cancel(tp, TCPT_REXMT);
	retransmit_range(tp, seq, len);
	tp->high_rxt = seq + len;
	node_count(n, STAT_TCP_SACK_REXMITS);
	n->stats[STAT_TCP_SACK_REXMIT_BYTES] += len;
	sack_output(tp);
}

/* The ACK field (RFC 9293 3.10.7.4, fifth check).  Returns false when the
 * connection ended or the segment was dropped. */
static bool ack_input(struct tcpcb *tp, struct pkt *p, const struct seg *s, uint32_t tiwin)
{
	struct node *n = tp->node;
	const struct tcp_hdr *th = &s->th;
	if (tp->state == TCPS_SYN_RECEIVED) {
		if (SEQ_LEQ(th->ack, tp->snd_una) || SEQ_GT(th->ack, tp->snd_max)) {
			drop_with_reset(n, p, s, STAT_TCP_RCVBADACK);
			return false;
		}
		tcp_timer_cancel(tp, TCPT_KEEP);
		tp->snd_una++; /* our SYN */
		tp->snd_wnd = tiwin;
		tp->max_sndwnd = tiwin > tp->max_sndwnd ? tiwin : tp->max_sndwnd;
		tp->snd_wl1 = th->seq;
		tp->snd_wl2 = th->ack;
		tcp_set_state(tp, (tp->flags & TF_CLOSED) ? TCPS_FIN_WAIT_1 : TCPS_ESTABLISHED);
	}
	if (SEQ_GT(th->ack, tp->snd_max)) {
		/* RFC 9293: an ACK of something not yet sent */
		drop_after_ack(tp, p, s, STAT_TCP_RCVACKTOOMUCH, false);
		return false;
	}
	if (SEQ_LT(th->ack, tp->snd_una - tp->max_sndwnd)) {
		/* RFC 5961 5.2: too old to be real */
		drop_after_ack(tp, p, s, STAT_TCP_RCVACKTOOOLD, true);
		return false;
	}
	if (SEQ_LEQ(th->ack, tp->snd_una)) {
		bool pure = s->dlen == 0 && !(th->flags & (TH_SYN | TH_FIN)) &&
			    tiwin == tp->snd_wnd && th->ack == tp->snd_una &&
			    tp->snd_max != tp->snd_una;
		if (!pure) {
			tp->dupacks = 0;
			return true;
		}
		node_count(n, STAT_TCP_RCVDUPACK);
		tcp_sack_update(tp, &s->to);
		if (!tcp_timer_armed(tp, TCPT_REXMT)) {
			tp->dupacks = 0;
		} else if (++tp->dupacks == TCP_REXMTTHRESH) {
			/* RFC 6582 3.2 step 1: not again for the same loss, and not
			 * for what a timeout already sent again */
			if ((tp->flags & TF_RECOVERY) || SEQ_LEQ(th->ack, tp->recover) ||
			    SEQ_LT(th->ack, tp->snd_last)) {
				tp->dupacks = 0;
				return true;
			}
			tp->recover = tp->snd_max;
			tp->flags |= TF_RECOVERY;
			node_count(n, STAT_TCP_SNDREXMITFAST);
			node_count(n, STAT_TCP_CWR_FRECOVERY);
			tp->fast_rexmits++;
			if (tp->flags & TF_SACK_PERMIT) {
				sack_recovery(tp);
			} else {
				tp->cc->fast_retransmit(tp);
				retransmit_first(tp);
			}
		} else if (tp->dupacks < TCP_REXMTTHRESH && !(tp->flags & TF_RECOVERY)) {
			/* RFC 3042 limited transmit: each of the first two
			 * duplicates lets one new segment out, so that a small
			 * window still brings the third */
			uint32_t ocwnd = tp->cwnd, onxt = tp->snd_nxt;
			tp->cwnd = tp->snd_max - tp->snd_una + tp->maxseg;
			tp->snd_nxt = tp->snd_max;
			tcp_output(tp);
			tp->cwnd = ocwnd;
			if (SEQ_GT(onxt, tp->snd_nxt))
				tp->snd_nxt = onxt;
		} else if (tp->dupacks > TCP_REXMTTHRESH && (tp->flags & TF_RECOVERY)) {
			if (tp->flags & TF_SACK_PERMIT) {
				sack_output(tp);
			} else {
				tp->cc->dupack(tp);
				tcp_output(tp);
			}
		}
		return true;
	}

	/* New data acknowledged. */
	uint32_t acked = th->ack - tp->snd_una;
	bool partial = false;
	if (tp->flags & TF_RECOVERY) {
		if (SEQ_LT(th->ack, tp->recover)) {
			partial = true;
		} else {
			tp->flags &= ~(unsigned)TF_RECOVERY;
			tp->cc->recovered(tp);
		}
	}
	tp->dupacks = 0;
	node_count(n, STAT_TCP_RCVACKPACK);
	if (tp->rtt_timing && SEQ_GT(th->ack, tp->rtseq)) {
		tcp_xmit_timer(tp, n->sim->now - tp->rtttime);
		tp->rtt_timing = false;
	}
	/* RFC 6298 5.2 and 5.3 */
	if (th->ack == tp->snd_max)
		tcp_timer_cancel(tp, TCPT_REXMT);
	else if (!tcp_timer_armed(tp, TCPT_PERSIST))
		tcp_timer_arm(tp, TCPT_REXMT, tp->rxtcur);
	bool finacked = false;
	uint32_t data = acked;
	if (data > tp->sb_len) {
		data = (uint32_t)tp->sb_len; /* the rest is our FIN */
		finacked = (tp->flags & TF_SENTFIN) != 0;
	}
	if (!partial && !(tp->flags & TF_RECOVERY) && data)
		tp->cc->ack(tp, data);
	tp->sb_head = (tp->sb_head + data) % tp->sb_cap;
	tp->sb_len -= data;
	tp->bytes_acked += data;
	n->stats[STAT_TCP_RCVACKBYTE] += data;
	tp->snd_una = th->ack;
	if (SEQ_LT(tp->snd_nxt, tp->snd_una))
		tp->snd_nxt = tp->snd_una;
	tcp_sack_update(tp, &s->to);
	if (partial && (tp->flags & TF_SACK_PERMIT)) {
		/* RFC 6675: cwnd stays; the pipe decides what goes */
		sack_output(tp);
	} else if (partial) {
		tp->cc->partial_ack(tp, acked);
		retransmit_first(tp);
		tcp_timer_arm(tp, TCPT_REXMT, tp->rxtcur);
	}
	if (data)
		tcp_notify(tp, TCP_EV_WRITABLE);
	if (finacked) {
		switch (tp->state) {
		case TCPS_FIN_WAIT_1: tcp_set_state(tp, TCPS_FIN_WAIT_2); break;
		case TCPS_CLOSING: enter_time_wait(tp); break;
		case TCPS_LAST_ACK:
			pkt_free(p);
			tcp_drop(tp, 0);
			return false;
		default: break;
		}
	}
	return true;
}

static void established_input(struct tcpcb *tp, struct pkt *p, struct seg *s)
{
	struct node *n = tp->node;
	struct tcp_hdr *th = &s->th;
	uint32_t tiwin = (uint32_t)th->win << tp->snd_scale;
	tp->last_rcv = n->sim->now;
	if (tcp_timer_armed(tp, TCPT_KEEP) && tp->state >= TCPS_ESTABLISHED)
		tcp_keep_rearm(tp);

	/* RFC 7323 5.3: PAWS */
	bool ts = (tp->flags & TF_RCVD_TS) && s->to.ts_ok;
	if (ts && !(th->flags & TH_RST) && tp->ts_recent_age &&
	    SEQ_LT(s->to.tsval, tp->ts_recent)) {
		drop_after_ack(tp, p, s, STAT_TCP_PAWSDROP, false);
		return;
	}

	/* A SYN behind RCV.NXT is the peer's own SYN again (a SYN|ACK sent
	 * again because our ACK was lost, or the other half of a simultaneous
	 * open): drop the SYN, judge the rest, and answer with an ACK if
	 * nothing new is left (BSD's trimming of a duplicate SYN). */
	if ((th->flags & TH_SYN) && SEQ_LT(th->seq, tp->rcv_nxt)) {
		th->flags &= (uint8_t)~TH_SYN;
		th->seq++;
		if (SEQ_LEQ(th->seq + s->dlen, tp->rcv_nxt) && !(th->flags & TH_FIN))
			tp->flags |= TF_ACKNOW;
	}

	/* RFC 9293 3.10.7.4, first check: is the segment acceptable? */
	uint32_t rwnd = tcp_rcv_space(tp);
	if (SEQ_GT(tp->rcv_adv, tp->rcv_nxt) && tp->rcv_adv - tp->rcv_nxt > rwnd)
		rwnd = tp->rcv_adv - tp->rcv_nxt;
	uint32_t slen = s->dlen + !!(th->flags & TH_SYN) + !!(th->flags & TH_FIN);
	uint32_t seq = th->seq, rn = tp->rcv_nxt;
	bool ok;
	if (slen == 0)
		ok = rwnd == 0 ? seq == rn : SEQ_GEQ(seq, rn) && SEQ_LT(seq, rn + rwnd);
	else if (rwnd == 0)
		ok = false;
	else
		ok = (SEQ_GEQ(seq, rn) && SEQ_LT(seq, rn + rwnd)) ||
		     (SEQ_GEQ(seq + slen - 1, rn) && SEQ_LT(seq + slen - 1, rn + rwnd));
	if (!ok && (th->flags & TH_RST)) {
		node_drop(n, p, STAT_TCP_RCVBADRST); /* RFC 5961 3.2: silently */
		return;
	}
	if (!ok && SEQ_LEQ(seq + slen, rn)) {
		/* Entirely old: its data and FIN are dropped and answered
		 * with an ACK, but its ACK field still counts (as BSD does; a
		 * simultaneous close needs it, since each side's ACK of the
		 * other's FIN carries its own FIN again). */
		node_count(n, STAT_TCP_RCVDUPPACK);
		n->stats[STAT_TCP_RCVDUPBYTE] += s->dlen;
		if (tp->state == TCPS_TIME_WAIT && (th->flags & TH_FIN))
			enter_time_wait(tp); /* their FIN again: our ACK was lost */
		th->flags &= (uint8_t)~TH_FIN;
		s->dlen = 0;
		th->seq = seq = rn;
		slen = 0;
		tp->flags |= TF_ACKNOW;
		ok = true;
	}
	if (!ok) {
		enum stat_id why;
		if (rwnd == 0 && seq == rn) {
			why = STAT_TCP_RCVWINPROBE;
		} else {
			why = STAT_TCP_RCVPACKAFTERWIN;
			n->stats[STAT_TCP_RCVBYTEAFTERWIN] += s->dlen;
		}
		drop_after_ack(tp, p, s, why, false);
		return;
	}

	/* Second check, RST (RFC 5961 3.2): only an exact one resets. */
	if (th->flags & TH_RST) {
		if (seq != rn) {
			drop_after_ack(tp, p, s, STAT_TCP_RCVBADRST, true);
			return;
		}
		pkt_free(p);
		switch (tp->state) {
		case TCPS_SYN_RECEIVED: tcp_drop(tp, tp->listener ? 0 : ECONNREFUSED); return;
		case TCPS_ESTABLISHED:
		case TCPS_FIN_WAIT_1:
		case TCPS_FIN_WAIT_2:
		case TCPS_CLOSE_WAIT: tcp_drop(tp, ECONNRESET); return;
		default: tcp_drop(tp, 0); return;
		}
	}
	/* Fourth check, SYN (RFC 5961 4.2): never acted on, challenged. */
	if (th->flags & TH_SYN) {
		drop_after_ack(tp, p, s, STAT_TCP_RCVSYNINWIN, true);
		return;
	}
	if (!(th->flags & TH_ACK)) {
		node_drop(n, p, STAT_TCP_RCVNOACK);
		return;
	}
	/* RFC 7323 4.3: the timestamp to echo, from a segment at the left
	 * edge of the window */
	if (ts && SEQ_LEQ(seq, tp->last_ack_sent) && SEQ_LT(tp->last_ack_sent, seq + slen + 1)) {
		tp->ts_recent = s->to.tsval;
		tp->ts_recent_age = n->sim->now ? n->sim->now : 1;
	}
	if (!ack_input(tp, p, s, tiwin))
		return;
	tcp_sample(tp);

	/* The send window (RFC 9293 3.10.7.4, SND.WL1 and SND.WL2). */
	if (SEQ_LT(tp->snd_wl1, seq) ||
	    (tp->snd_wl1 == seq &&
	     (SEQ_LT(tp->snd_wl2, th->ack) || (tp->snd_wl2 == th->ack && tiwin > tp->snd_wnd)))) {
		if (s->dlen == 0 && tp->snd_wl2 == th->ack && tiwin > tp->snd_wnd)
			node_count(n, STAT_TCP_RCVWINUPD);
		tp->snd_wnd = tiwin;
		tp->snd_wl1 = seq;
		tp->snd_wl2 = th->ack;
		if (tiwin > tp->max_sndwnd)
			tp->max_sndwnd = tiwin;
		if (tiwin && tcp_timer_armed(tp, TCPT_PERSIST)) {
			tcp_timer_cancel(tp, TCPT_PERSIST);
			tp->rxtshift = 0;
		}
	}

	/* Data and FIN: only while the peer may still send. */
	bool fin = th->flags & TH_FIN;
	const uint8_t *data = s->data;
	uint32_t dlen = s->dlen;
	if (TCPS_HAVERCVDFIN(tp->state)) {
		pkt_free(p);
		tcp_output(tp);
		return;
	}
	if (SEQ_LT(seq, rn)) {
		uint32_t dup = rn - seq; /* less than slen: the acceptability test */
		node_count(n, STAT_TCP_RCVPARTDUPPACK);
		n->stats[STAT_TCP_RCVPARTDUPBYTE] += dup;
		data += dup;
		dlen -= dup;
		seq = rn;
	}
	if (SEQ_GT(seq + dlen, rn + rwnd)) {
		uint32_t excess = seq + dlen - (rn + rwnd);
		n->stats[STAT_TCP_RCVBYTEAFTERWIN] += excess;
		dlen -= excess;
		fin = false;
	}
	bool got_fin = false;
	if (dlen || fin) {
		if (seq == tp->rcv_nxt) {
			/* In order: straight to the user, never through the
			 * queue, so that a full queue cannot refuse the very
			 * segment that would empty it; then what it lets out. */
			bool filled = tp->rq != NULL;
			uint32_t took = deliver(tp, data, dlen);
			got_fin = fin && took == dlen;
			if (filled && took == dlen && !got_fin)
				got_fin = rq_drain(tp);
			uint32_t moved = tp->rcv_nxt - seq;
			if (moved) {
				node_count(n, STAT_TCP_RCVPACK);
				n->stats[STAT_TCP_RCVBYTE] += moved;
				tcp_notify(tp, TCP_EV_DATA);
			}
			/* RFC 5681 4.2: at least every second full segment, and
			 * at most 200 ms late otherwise (OpenBSD's delayed ACK);
			 * at once when a hole was filled (4.2 too) */
			if (tp->flags & TF_DELACK || got_fin || took < dlen || filled) {
				tp->flags |= TF_ACKNOW;
			} else {
				tp->flags |= TF_DELACK;
				tcp_timer_arm(tp, TCPT_DELACK, TCPTV_DELACK);
			}
		} else {
			if (!rq_insert(tp, seq, data, dlen, fin)) {
				drop_after_ack(tp, p, s, STAT_TCP_RCVMEMDROP, false);
				return;
			}
			node_count(n, STAT_TCP_RCVOOPACK);
			n->stats[STAT_TCP_RCVOOBYTE] += dlen;
			tp->last_oo = seq;
			tp->flags |= TF_ACKNOW; /* a duplicate ACK, at once (RFC 5681 4.2) */
			uint32_t before = tp->rcv_nxt;
			got_fin = rq_drain(tp);
			if (tp->rcv_nxt != before) {
				node_count(n, STAT_TCP_RCVPACK);
				n->stats[STAT_TCP_RCVBYTE] += tp->rcv_nxt - before;
				tcp_notify(tp, TCP_EV_DATA);
			}
		}
	}
	pkt_free(p);
	if (got_fin) {
		tp->rcv_nxt++;
		tp->flags |= TF_ACKNOW;
		tcp_notify(tp, TCP_EV_EOF);
		switch (tp->state) {
		case TCPS_SYN_RECEIVED:
		case TCPS_ESTABLISHED: tcp_set_state(tp, TCPS_CLOSE_WAIT); break;
		case TCPS_FIN_WAIT_1: tcp_set_state(tp, TCPS_CLOSING); break;
		case TCPS_FIN_WAIT_2: enter_time_wait(tp); break;
		default: break;
		}
	}
	tcp_output(tp);
}

static void input_common(struct node *n, struct pkt *p, const struct ipaddr *src,
			 const struct ipaddr *dst, size_t off, size_t tlen, bool bcast)
{
	struct seg s = {.src = src, .dst = dst};
	node_count(n, STAT_TCP_RCVTOTAL);
	if (bcast || (p->flags & PKT_LINKBCAST) || addr_is_multicast(dst)) {
		node_drop(n, p, STAT_TCP_RCVBCAST); /* RFC 9293 3.9.2.1 */
		return;
	}
	int rc = tcp_parse(p->data + off, tlen, &s.th);
	if (rc < 0) {
		node_drop(n, p, rc == -2 ? STAT_TCP_RCVBADOFF : STAT_TCP_RCVSHORT);
		return;
	}
	if (tcp_cksum(src, dst, p->data + off, tlen) != 0) {
		node_drop(n, p, STAT_TCP_RCVBADSUM);
		return;
	}
	if (tcp_opts_parse(s.th.opts, s.th.optlen, &s.to) < 0) {
		node_drop(n, p, STAT_TCP_RCVBADOPT);
		return;
	}
	if ((s.th.flags & (TH_SYN | TH_FIN)) == (TH_SYN | TH_FIN) ||
	    (s.th.flags & (TH_SYN | TH_RST)) == (TH_SYN | TH_RST)) {
		node_drop(n, p, STAT_TCP_RCVBADFLAGS);
		return;
	}
	s.data = p->data + off + s.th.off;
	s.dlen = (uint32_t)(tlen - s.th.off);
	struct tcpcb *tp = tcp_lookup(n, dst, s.th.dport, src, s.th.sport);
	/* tcp_input's IPsec check with the socket's levels (tcps_rcvnosec) */
	struct tcp_listener *l = tp ? NULL : tcp_lookup_listener(n, dst, s.th.dport);
	if ((tp || l) && !ipsec_seclevel_input_ok(p, tp ? &tp->sl : &l->sl)) {
		node_drop(n, p, STAT_TCP_RCVNOSEC);
		return;
	}
	if (!tp) {
		if (l) {
			listen_input(n, l, p, &s, NULL);
			return;
		}
		drop_with_reset(n, p, &s, STAT_TCP_NOPORT);
		return;
	}
	if (tp->state == TCPS_SYN_SENT) {
		syn_sent_input(tp, p, &s);
		return;
	}
	/* A new SYN for a four-tuple in TIME_WAIT (RFC 6191, as OpenBSD):
	 * taken when its timestamp, or else its sequence number, shows it is
	 * newer than the old connection; the new one starts its sequence
	 * numbers well beyond the old ones. */
	if (tp->state == TCPS_TIME_WAIT && (s.th.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
	    ((s.to.ts_ok && (tp->flags & TF_RCVD_TS)) ? SEQ_GT(s.to.tsval, tp->ts_recent)
						      : SEQ_GT(s.th.seq, tp->rcv_nxt))) {
		l = tcp_lookup_listener(n, dst, s.th.dport);
		if (l) {
			uint32_t iss =
			    tp->snd_nxt + (((uint32_t)rng_next(&n->rng) & 0x7fffffff) | 0x8000);
			node_count(n, STAT_TCP_TWREUSE);
			tcp_drop(tp, 0);
			listen_input(n, l, p, &s, &iss);
			return;
		}
	}
	established_input(tp, p, &s);
}

void tcp_input(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast)
{
	input_common(n, p, &h->src, &h->dst, h->hlen, h->len - h->hlen, bcast);
}

void tcp6_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off)
{
	input_common(n, p, &h->src, &h->dst, off, p->len - off, false);
}

/* ICMP errors (RFC 5927 4.1: only for a sequence number in flight).
 * "Too big" shrinks the MSS (the stack has noted the path MTU already);
 * anything else is kept as the soft error, the reason given if the
 * connection times out (RFC 1122 4.2.3.9, OpenBSD's t_softerror). */
static void ctlinput(struct node *n, int err, bool toobig, const struct ipaddr *src,
		     const struct ipaddr *dst, const uint8_t *l4)
{
	uint16_t sport = get_be16(l4), dport = get_be16(l4 + 2);
	uint32_t seq = get_be32(l4 + 4);
	struct tcpcb *tp = tcp_lookup(n, src, sport, dst, dport);
	if (!tp || SEQ_LT(seq, tp->snd_una) || SEQ_GEQ(seq, tp->snd_max))
		return;
	if (toobig)
		tcp_mtudisc(tp);
	else if (err)
		tp->so_error = err;
}

void tcp_ctlinput(struct node *n, uint8_t type, uint8_t code, uint32_t info,
		  const struct ipaddr *src, const struct ipaddr *dst, const uint8_t *l4)
{
	(void)info;
	int err = 0;
	if (type == 3 && (code == 2 || code == 3))
		err = ECONNREFUSED; /* protocol or port unreachable */
	else if (type == 3 && code != 4)
		err = EHOSTUNREACH;
	else if (type == 11)
		err = EHOSTUNREACH;
	ctlinput(n, err, type == 3 && code == 4, src, dst, l4);
}

void tcp6_ctlinput(struct node *n, uint8_t type, uint8_t code, uint32_t info,
		   const struct ipaddr *src, const struct ipaddr *dst, const uint8_t *l4)
{
	(void)info;
	int err = 0;
	if (type == 1)
		err = code == 4 ? ECONNREFUSED : EHOSTUNREACH;
	else if (type == 3)
		err = EHOSTUNREACH;
	ctlinput(n, err, type == 2, src, dst, l4);
}
