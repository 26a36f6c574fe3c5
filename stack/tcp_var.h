/*
 * TCP's insides, shared by tcp_subr.c, tcp_input.c, tcp_output.c,
 * tcp_timer.c and tcp_cc.c (BSD's tcp_var.h); the rest of the tree uses
 * tcp.h.
 */
#ifndef STACK_TCP_VAR_H
#define STACK_TCP_VAR_H

#include "node.h"
#include "tcp.h"

#define NS_MS UINT64_C(1000000)

/* Timer values (OpenBSD's tcp_timer.h), in ns. */
#define TCPTV_MIN       (1000 * NS_MS)  /* the RTO floor (RFC 6298 2.4) */
#define TCPTV_REXMTMAX  (64000 * NS_MS) /* the RTO ceiling */
#define TCPTV_RTOBASE   (1000 * NS_MS)  /* before any sample (RFC 6298 2.1) */
#define TCPTV_PERSMIN   (5000 * NS_MS)
#define TCPTV_PERSMAX   (60000 * NS_MS)
#define TCPTV_DELACK    (200 * NS_MS)
#define TCP_MAXRXTSHIFT 12 /* retransmissions before the connection is dropped */
#define TCP_REXMTTHRESH 3  /* duplicate ACKs for a fast retransmit */

/* Caps on what input can make a connection hold (every one counted). */
#define TCP_RQ_MAXSEGS 256 /* out-of-order segments held */

/* Congestion control: one table per algorithm (RFC 5681's hooks). */
struct tcp_cc {
	const char *name;
	void (*init)(struct tcpcb *tp);                /* cwnd and ssthresh at the start */
	void (*ack)(struct tcpcb *tp, uint32_t acked); /* new data acknowledged, no recovery */
	void (*fast_retransmit)(struct tcpcb *tp);     /* the third duplicate ACK */
	void (*dupack)(struct tcpcb *tp);              /* another in recovery */
	void (*partial_ack)(struct tcpcb *tp, uint32_t acked);
	void (*recovered)(struct tcpcb *tp); /* the ACK that ends recovery */
	void (*timeout)(struct tcpcb *tp);   /* the retransmission timer fired */
};
extern const struct tcp_cc tcp_newreno, tcp_cubic;

static inline void tcp_sample(struct tcpcb *tp)
{
	if (tp->on_sample)
		tp->on_sample(tp, tp->cb_arg);
}

/* tcp_subr.c */
struct tcpcb *tcp_lookup(struct node *n, const struct ipaddr *laddr, uint16_t lport,
			 const struct ipaddr *faddr, uint16_t fport);
struct tcp_listener *tcp_lookup_listener(struct node *n, const struct ipaddr *laddr,
					 uint16_t lport);
struct tcpcb *tcp_newtcpcb(struct node *n);
/* The offset a connection adds to its timestamps, from its four-tuple. */
uint32_t tcp_ts_modulate(struct tcpcb *tp);
/* The connection a timer or notification event names, or NULL when it is
 * gone. */
struct tcpcb *tcp_by_id(struct node *n, uint64_t id);
void tcp_attach(struct tcpcb *tp); /* into the demultiplexing table, with its four-tuple */
/* The connection ends: the user is told (with so_error), it leaves every
 * table, and is freed. */
void tcp_drop(struct tcpcb *tp, int err);
void tcp_set_state(struct tcpcb *tp, enum tcp_state s);
void tcp_notify(struct tcpcb *tp, enum tcp_event ev);
/* The MSS for a peer: the route's interface MTU less the headers, then
 * the peer's offer (tcp_mss). */
void tcp_mss(struct tcpcb *tp, uint32_t offer);
uint32_t tcp_mss_offer(struct node *n, const struct ipaddr *dst);
/* The path MTU fell (an ICMP error about a segment in flight, or our own
 * output refusing one as too big): a smaller MSS, and what is in flight
 * sent again in pieces that fit (OpenBSD's tcp_mtudisc). */
void tcp_mtudisc(struct tcpcb *tp);
/* A bare segment (a RST, or a keepalive probe's ACK) built apart from
 * tcp_output (tcp_respond); win as it goes on the wire. */
void tcp_respond(struct node *n, const struct ipaddr *src, const struct ipaddr *dst, uint16_t sport,
		 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win);
/* Hand a built segment (TCP header onwards) to IP: 0 or a negative errno. */
int tcp_ip_output(struct node *n, struct pkt *p, const struct ipaddr *src, const struct ipaddr *dst,
		  bool df);

/* tcp_input.c: after the user read, out-of-order data that waited for
 * room in the receive buffer goes in. */
void tcp_reass_resume(struct tcpcb *tp);

/* tcp_sack.c */
void tcp_sack_clear(struct tcpcb *tp);
/* Fold the SACK blocks of an ACK into the scoreboard (to NULL: only forget
 * what snd_una has passed). */
void tcp_sack_update(struct tcpcb *tp, const struct tcp_opts *to);
/* RFC 6675 SetPipe() and NextSeg() rule 1. */
uint32_t tcp_sack_pipe(const struct tcpcb *tp);
bool tcp_sack_nextseg(const struct tcpcb *tp, uint32_t *seq, uint32_t *len);
/* NextSeg() rules 3 and 4, for when rule 1 finds nothing lost and rule 2
 * no new data: *rescue tells a rule 4 segment, which leaves high_rxt. */
bool tcp_sack_nextseg_last(const struct tcpcb *tp, uint32_t *seq, uint32_t *len, bool *rescue);
/* The blocks a receiver reports for its out-of-order queue (RFC 2018 4). */
size_t tcp_sack_blocks(const struct tcpcb *tp, uint32_t blocks[][2], size_t max);

/* Copy len bytes of the send buffer from off bytes past snd_una. */
void tcp_sb_copy(const struct tcpcb *tp, size_t off, uint8_t *out, size_t len);

/* tcp_output.c */
int tcp_output(struct tcpcb *tp);
/* The receive window we can offer now, in bytes. */
uint32_t tcp_rcv_space(const struct tcpcb *tp);

/* tcp_timer.c */
void tcp_timer_arm(struct tcpcb *tp, enum tcp_timer t, uint64_t delay);
void tcp_timer_cancel(struct tcpcb *tp, enum tcp_timer t);
bool tcp_timer_armed(const struct tcpcb *tp, enum tcp_timer t);
void tcp_timers_cancel(struct tcpcb *tp);
/* RFC 6298 2.2 and 2.3: fold in an RTT sample. */
void tcp_xmit_timer(struct tcpcb *tp, uint64_t rtt);
uint64_t tcp_rexmtval(const struct tcpcb *tp);
void tcp_setpersist(struct tcpcb *tp);
/* An established connection with keepalives on waits keepidle again
 * (every segment that arrives restarts it). */
void tcp_keep_rearm(struct tcpcb *tp);

#endif
