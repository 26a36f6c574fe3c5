/*
 * What a connection sends, and when (BSD's tcp_output): data as the
 * send window (the smaller of the peer's window and cwnd) allows, with
 * Nagle's rule (RFC 9293 3.7.4) and the sender's silly window avoidance;
 * window updates; SYN and FIN; ACKs owed; the persist probe.
 */
#include <errno.h>
#include <string.h>

#include "../sim/sim.h"
#include "tcp_var.h"

/* The flags each state sends with (BSD's tcp_outflags). */
static const uint8_t outflags[TCPS__COUNT] = {
    [TCPS_CLOSED] = TH_RST | TH_ACK,
    [TCPS_LISTEN] = 0,
    [TCPS_SYN_SENT] = TH_SYN,
    [TCPS_SYN_RECEIVED] = TH_SYN | TH_ACK,
    [TCPS_ESTABLISHED] = TH_ACK,
    [TCPS_CLOSE_WAIT] = TH_ACK,
    [TCPS_FIN_WAIT_1] = TH_FIN | TH_ACK,
    [TCPS_CLOSING] = TH_FIN | TH_ACK,
    [TCPS_LAST_ACK] = TH_FIN | TH_ACK,
    [TCPS_FIN_WAIT_2] = TH_ACK,
    [TCPS_TIME_WAIT] = TH_ACK,
};

uint32_t tcp_rcv_space(const struct tcpcb *tp)
{
	uint64_t space = tp->rb_cap - tp->rb_len;
	uint64_t max = (uint64_t)TCP_MAXWIN << tp->rcv_scale;
	return (uint32_t)(space < max ? space : max);
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

int tcp_output(struct tcpcb *tp)
{
	struct node *n = tp->node;
	if (tp->state == TCPS_CLOSED || tp->state == TCPS_LISTEN)
		return 0;
	bool idle = tp->snd_max == tp->snd_una;
	int rc = 0;
again:;
	uint32_t off = tp->snd_nxt - tp->snd_una;
	uint32_t win = min32(tp->snd_wnd, tp->cwnd);
	bool force = tp->flags & TF_FORCE;
	if (force && win == 0)
		win = 1; /* the persist probe: one byte into a zero window */
	uint8_t flags = outflags[tp->state];
	/* Data waits until the connection is established; before that the
	 * SYN's sequence number is all there is between snd_una and snd_nxt. */
	int64_t len = 0;
	if (TCPS_HAVEESTABLISHED(tp->state))
		len = (int64_t)min32((uint32_t)tp->sb_len, win) - (int64_t)off;
	if (len < 0) {
		/* The window shrank, or our FIN is out.  A closed window stops
		 * retransmission and waits for the persist timer. */
		len = 0;
		if (win == 0) {
			tcp_timer_cancel(tp, TCPT_REXMT);
			tp->rxtshift = 0;
			tp->snd_nxt = tp->snd_una;
			if (!tcp_timer_armed(tp, TCPT_PERSIST))
				tcp_setpersist(tp);
		}
	}
	bool sendalot = false;
	if (len > tp->maxseg) {
		len = tp->maxseg;
		sendalot = true;
	}
	/* the FIN rides only with the last of the data */
	if ((flags & TH_FIN) &&
	    SEQ_LT(tp->snd_nxt + (uint32_t)len, tp->snd_una + (uint32_t)tp->sb_len))
		flags &= (uint8_t)~TH_FIN;
	uint32_t recwin = tcp_rcv_space(tp);

	if (len) {
		if (len == tp->maxseg)
			goto send;
		/* Nagle: a short segment only when nothing is in flight */
		if ((idle || (tp->flags & TF_NODELAY)) && (uint64_t)len + off >= tp->sb_len)
			goto send;
		if (force)
			goto send;
		if (tp->max_sndwnd && (uint64_t)len >= tp->max_sndwnd / 2)
			goto send;
		if (SEQ_LT(tp->snd_nxt, tp->snd_max))
			goto send; /* retransmitting */
	}
	/* A window that opened by two segments, or by half the buffer, is
	 * worth an update (receiver's silly window avoidance). */
	if (recwin > 0 && TCPS_HAVERCVDSYN(tp->state)) {
		int64_t adv = (int64_t)recwin - (int64_t)(tp->rcv_adv - tp->rcv_nxt);
		if (adv >= (int64_t)(2 * tp->maxseg) || 2 * adv >= (int64_t)tp->rb_cap)
			goto send;
	}
	if (tp->flags & TF_ACKNOW)
		goto send;
	if (flags & (TH_SYN | TH_RST))
		goto send;
	if ((flags & TH_FIN) && (!(tp->flags & TF_SENTFIN) || tp->snd_nxt == tp->snd_una))
		goto send;
	/* Data waits for a window: make sure something will ask for it. */
	if (tp->sb_len > off && !tcp_timer_armed(tp, TCPT_REXMT) &&
	    !tcp_timer_armed(tp, TCPT_PERSIST)) {
		tp->rxtshift = 0;
		tcp_setpersist(tp);
	}
	return rc;

send:;
	struct tcp_opts o = {0};
	bool ts = false;
	if (flags & TH_SYN) {
		o.mss_ok = true;
		o.mss = (uint16_t)min32(tcp_mss_offer(n, &tp->faddr), 65535);
		if ((tp->flags & TF_REQ_WS) &&
		    (tp->state == TCPS_SYN_SENT || (tp->flags & TF_RCVD_WS))) {
			o.ws_ok = true;
			o.ws = tp->req_scale;
		}
		ts = (tp->flags & TF_REQ_TS) &&
		     (tp->state == TCPS_SYN_SENT || (tp->flags & TF_RCVD_TS));
		o.sack_ok = (tp->flags & TF_REQ_SACK) &&
			    (tp->state == TCPS_SYN_SENT || (tp->flags & TF_SACK_PERMIT));
	} else {
		ts = (tp->flags & (TF_REQ_TS | TF_RCVD_TS)) == (TF_REQ_TS | TF_RCVD_TS);
		if ((tp->flags & TF_SACK_PERMIT) && tp->rq) {
			/* RFC 2018 3: three blocks beside timestamps, four alone */
			o.nsack = (uint8_t)tcp_sack_blocks(tp, o.sack, ts ? 3 : 4);
			if (o.nsack)
				node_count(n, STAT_TCP_SACK_SND_OPTS);
		}
	}
	if (ts) {
		o.ts_ok = true;
		o.tsval = (uint32_t)(n->sim->now / NS_MS) + tp->ts_modulate;
		o.tsecr = tp->ts_recent;
	}
	uint8_t obuf[TCP_MAXOLEN];
	size_t optlen = tcp_opts_emit(obuf, &o);
	/* The segment must fit maxseg with its options: maxseg has room for
	 * the timestamps only, SACK blocks take from the data (OpenBSD's
	 * "adjust data length if insertion of options will bump the packet
	 * length beyond t_maxseg"). */
	int64_t room = (int64_t)tp->maxseg - (int64_t)optlen + (ts ? 12 : 0);
	if (len > room && !(flags & TH_SYN)) {
		len = room > 0 ? room : 0;
		sendalot = true;
		flags &= ~(uint8_t)TH_FIN; /* the FIN follows the last byte */
	}

	/* A FIN sent again keeps its sequence number. */
	if ((flags & TH_FIN) && (tp->flags & TF_SENTFIN) && tp->snd_nxt == tp->snd_max)
		tp->snd_nxt--;
	bool rexmit = SEQ_LT(tp->snd_nxt, tp->snd_max);
	if (len) {
		if (force && len == 1 && tp->snd_wnd == 0) {
			node_count(n, STAT_TCP_SNDPROBE);
		} else if (rexmit) {
			node_count(n, STAT_TCP_SNDREXMITPACK);
			n->stats[STAT_TCP_SNDREXMITBYTE] += (uint64_t)len;
			tp->rexmit_segs++;
			tp->rexmit_bytes += (uint64_t)len;
		} else {
			node_count(n, STAT_TCP_SNDPACK);
			n->stats[STAT_TCP_SNDBYTE] += (uint64_t)len;
		}
		tp->last_snd = n->sim->now;
	} else if (flags & (TH_SYN | TH_FIN | TH_RST)) {
		node_count(n, STAT_TCP_SNDCTRL);
	} else if (tp->flags & TF_ACKNOW) {
		node_count(n, STAT_TCP_SNDACKS);
	} else {
		node_count(n, STAT_TCP_SNDWINUP);
	}
	if (len && off + (uint32_t)len == tp->sb_len)
		flags |= TH_PUSH;

	/* The window to offer: never a sliver (RFC 9293 3.8.6.2.2), never
	 * less than already promised. */
	if (recwin < tp->rb_cap / 4 && recwin < tp->maxseg)
		recwin = 0;
	if (SEQ_LT(tp->rcv_nxt + recwin, tp->rcv_adv))
		recwin = tp->rcv_adv - tp->rcv_nxt;
	struct tcp_hdr h = {.sport = tp->lport,
			    .dport = tp->fport,
			    .ack = tp->rcv_nxt,
			    .flags = flags,
			    .opts = obuf,
			    .optlen = optlen};
	if (len || (flags & (TH_SYN | TH_FIN)) || tcp_timer_armed(tp, TCPT_PERSIST))
		h.seq = tp->snd_nxt;
	else
		h.seq = tp->snd_max;
	if (flags & TH_SYN)
		h.win = (uint16_t)min32(recwin, TCP_MAXWIN); /* RFC 7323 2.2: never scaled */
	else
		h.win = (uint16_t)min32(recwin >> tp->rcv_scale, TCP_MAXWIN);
	if (!(flags & TH_ACK) && tp->state != TCPS_SYN_SENT)
		h.ack = 0;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, TCP_HDR_LEN + optlen + (size_t)len);
	pkt_set_seclevel(p, &tp->sl);
	tcp_emit(p->data, &h);
	if (len)
		tcp_sb_copy(tp, off, p->data + TCP_HDR_LEN + optlen, (size_t)len);

	/* Sequence space: what this segment takes, and the timers. */
	if (!force || !tcp_timer_armed(tp, TCPT_PERSIST)) {
		uint32_t startseq = tp->snd_nxt;
		if (flags & (TH_SYN | TH_FIN)) {
			if (flags & TH_FIN)
				tp->flags |= TF_SENTFIN;
			tp->snd_nxt++;
		}
		tp->snd_nxt += (uint32_t)len;
		if (SEQ_GT(tp->snd_nxt, tp->snd_max)) {
			uint32_t old_max = tp->snd_max;
			tp->snd_max = tp->snd_nxt;
			if (!tp->rtt_timing) {
				/* time this segment from its first new byte (RFC
				 * 6298 3; Karn: an ACK of what was sent before
				 * would measure nothing) */
				tp->rtt_timing = true;
				tp->rtseq = SEQ_GT(startseq, old_max) ? startseq : old_max;
				tp->rtttime = n->sim->now;
				node_count(n, STAT_TCP_SEGSTIMED);
			}
		}
		if (!tcp_timer_armed(tp, TCPT_REXMT) && tp->snd_nxt != tp->snd_una) {
			if (tcp_timer_armed(tp, TCPT_PERSIST)) {
				tcp_timer_cancel(tp, TCPT_PERSIST);
				tp->rxtshift = 0;
			}
			tcp_timer_arm(tp, TCPT_REXMT, tp->rxtcur);
		}
	} else if (SEQ_GT(tp->snd_nxt + (uint32_t)len, tp->snd_max)) {
		tp->snd_max = tp->snd_nxt + (uint32_t)len;
	}
	if (recwin > 0 && SEQ_GT(tp->rcv_nxt + recwin, tp->rcv_adv))
		tp->rcv_adv = tp->rcv_nxt + recwin;
	tp->last_ack_sent = tp->rcv_nxt;
	tp->flags &= ~(unsigned)(TF_ACKNOW | TF_DELACK);
	tcp_timer_cancel(tp, TCPT_DELACK);
	rc = tcp_ip_output(n, p, &tp->laddr, &tp->faddr, !(tp->flags & TF_NODF));
	if (rc == -EMSGSIZE) {
		/* the path is narrower than we thought: our stack (or IPsec)
		 * has learned by how much */
		tcp_mtudisc(tp);
		return rc;
	}
	if (sendalot && rc == 0)
		goto again;
	return rc;
}
