/*
 * TCP (RFC 9293) on every node, shaped after the BSD kernel's: wire code
 * (tcp_wire.c), the control block and its tables (tcp_subr.c), segment
 * arrival (tcp_input.c), what to send (tcp_output.c), the five timers
 * (tcp_timer.c) and congestion control as a table of operations
 * (tcp_cc.c).  Sequence numbers, windows and counters follow OpenBSD;
 * times are virtual nanoseconds.  docs/tcp.md says what is implemented.
 */
#ifndef STACK_TCP_H
#define STACK_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"
#include "seclevel.h"
#include "util.h"

#ifndef IPPROTO_TCP
#define IPPROTO_TCP 6
#endif

#define TCP_HDR_LEN      20
#define TCP_MAXOLEN      40  /* options: at most 40 bytes (data offset 15) */
#define TCP_MSS_DFLT     512 /* net.inet.tcp.mssdflt */
#define TCP_MAX_WINSHIFT 14  /* RFC 7323 2.3 */
#define TCP_MAXWIN       65535

/* Header flags */
#define TH_FIN  0x01
#define TH_SYN  0x02
#define TH_RST  0x04
#define TH_PUSH 0x08
#define TH_ACK  0x10
#define TH_URG  0x20
#define TH_ECE  0x40
#define TH_CWR  0x80

/* Option kinds */
#define TCPOPT_EOL            0
#define TCPOPT_NOP            1
#define TCPOPT_MAXSEG         2
#define TCPOPT_WINDOW         3
#define TCPOPT_SACK_PERMITTED 4
#define TCPOPT_SACK           5
#define TCPOPT_TIMESTAMP      8

/* Sequence space comparisons (RFC 9293 3.4): modulo 2^32. */
#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

struct tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t off; /* header length in bytes, options included */
	uint8_t flags;
	uint16_t win, sum, urp;
	const uint8_t *opts; /* off - 20 bytes of options (parse: into the packet) */
	size_t optlen;
};

#define TCP_MAX_SACK 4 /* blocks a segment can carry (3 with timestamps) */

struct tcp_opts {
	bool mss_ok, ws_ok, sack_ok, ts_ok;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	uint32_t sack[TCP_MAX_SACK][2]; /* [left, right) */
};

/* The fixed header of b: 0; -1 shorter than 20 bytes or than its own data
 * offset (tcp.rcvshort), -2 a data offset below 5 (tcp.rcvbadoff). */
MUST_CHECK int tcp_parse(const uint8_t *b, size_t len, struct tcp_hdr *h);
/* Write the header and h->optlen bytes of h->opts; returns h->off. */
size_t tcp_emit(uint8_t *b, const struct tcp_hdr *h);
/* Options (RFC 9293 3.1, RFC 7323, RFC 2018): 0, or -1 when one runs past
 * the header or has a wrong length.  Unknown kinds are skipped by their
 * length. */
MUST_CHECK int tcp_opts_parse(const uint8_t *b, size_t len, struct tcp_opts *o);
/* Write the options, NOP-padded to a multiple of 4 in BSD's order (MSS,
 * SACK permitted, window scale, timestamps, SACK blocks); their length. */
size_t tcp_opts_emit(uint8_t *b, const struct tcp_opts *o);
/* The checksum over the pseudo-header of either family and the segment. */
uint16_t tcp_cksum(const struct ipaddr *src, const struct ipaddr *dst, const uint8_t *seg,
		   size_t len);

/* ---- connections ---- */

/* BSD's order, so that "synchronized" is state >= ESTABLISHED except
 * SYN_RECEIVED's special cases. */
enum tcp_state {
	TCPS_CLOSED,
	TCPS_LISTEN,
	TCPS_SYN_SENT,
	TCPS_SYN_RECEIVED,
	TCPS_ESTABLISHED,
	TCPS_CLOSE_WAIT,
	TCPS_FIN_WAIT_1,
	TCPS_CLOSING,
	TCPS_LAST_ACK,
	TCPS_FIN_WAIT_2,
	TCPS_TIME_WAIT,
	TCPS__COUNT
};
#define TCPS_HAVERCVDSYN(s)     ((s) >= TCPS_SYN_RECEIVED)
#define TCPS_HAVEESTABLISHED(s) ((s) >= TCPS_ESTABLISHED)
#define TCPS_HAVERCVDFIN(s)                                                       \
	((s) == TCPS_CLOSE_WAIT || (s) == TCPS_CLOSING || (s) == TCPS_LAST_ACK || \
	 (s) == TCPS_TIME_WAIT)

const char *tcp_state_name(enum tcp_state s);

enum tcp_timer { TCPT_REXMT, TCPT_PERSIST, TCPT_KEEP, TCPT_2MSL, TCPT_DELACK, TCPT_N };

/* What a connection tells its user.  Like a socket's wakeups they come
 * after the stack is done with the segment or timer that caused them (an
 * event at the same virtual instant), so a user may call any tcp_ function
 * from them; TCP_EV_CLOSED alone comes at once, from inside, and the
 * connection is freed when it returns. */
enum tcp_event {
	TCP_EV_CONNECTED, /* established (either side) */
	TCP_EV_DATA,      /* bytes to read */
	TCP_EV_WRITABLE,  /* data acknowledged: room in the send buffer, unless closed */
	TCP_EV_EOF,       /* the peer's FIN: nothing more will come */
	TCP_EV_CLOSED,    /* the connection is gone; so_error says why (0: orderly) */
};

struct tcpcb;
typedef void (*tcp_event_fn)(struct tcpcb *tp, enum tcp_event ev, void *arg);

/* An out-of-order segment held for reassembly. */
struct tcp_rseg {
	struct tcp_rseg *next;
	uint32_t seq, len;
	bool fin;
	uint8_t data[];
};

struct tcp_cc;

#define TF_ACKNOW      0x0001 /* send an ACK at once */
#define TF_DELACK      0x0002 /* an ACK is owed (delayed) */
#define TF_NODELAY     0x0004 /* no Nagle */
#define TF_SENTFIN     0x0008 /* our FIN has been sent */
#define TF_RCVD_WS     0x0010 /* the peer offered window scaling */
#define TF_REQ_WS      0x0020 /* we offer it */
#define TF_RCVD_TS     0x0040 /* the peer offered timestamps */
#define TF_REQ_TS      0x0080 /* we offer them */
#define TF_CLOSED      0x0100 /* the user closed: FIN once the data is out */
#define TF_FORCE       0x0200 /* persist: one byte into a zero window */
#define TF_RECOVERY    0x0400 /* in fast recovery (RFC 6582) */
#define TF_SYN_REXMT   0x0800 /* our SYN was retransmitted */
#define TF_REQ_SACK    0x1000 /* we offer SACK (net.inet.tcp.sack) */
#define TF_SACK_PERMIT 0x2000 /* both offered it: SACK in use */
#define TF_KEEPALIVE   0x4000 /* the user asked for keepalives (SO_KEEPALIVE) */
#define TF_NODF        0x8000 /* a path MTU black hole: segments without DF */
#define TF_RESCUED     0x10000 /* this recovery's rescue retransmission sent (RFC 6675 NextSeg rule 4) */

#define TCP_SACK_MAXBLOCKS 64 /* SACKed ranges a sender keeps */

struct tcpcb {
	struct node *node;
	uint64_t id;               /* slot | generation << 32, for timer events */
	struct tcpcb *hnext;       /* demultiplexing hash chain */
	bool hashed;               /* in that hash (tcp_attach) */
	bool ephemeral;            /* holds its ephemeral port's bit */
	struct tcpcb *prev, *next; /* every connection of the node, oldest first */
	enum tcp_state state;
	unsigned flags;
	struct ipaddr laddr, faddr;
	uint16_t lport, fport;
	struct tcp_listener *listener; /* passive opens: where it came from */
	struct seclevel sl;            /* IPsec levels (a listener's, when passive) */

	/* send sequence space (RFC 9293 3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
	uint32_t snd_wnd, max_sndwnd;
	uint8_t snd_scale, rcv_scale, req_scale;
	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv, last_ack_sent;
	uint32_t ts_recent;
	uint64_t ts_recent_age; /* when ts_recent was taken; 0: never */
	uint32_t ts_modulate;   /* added to our clock in TSval (OpenBSD's ts_modulate) */

	/* the send buffer, a ring: sb_len bytes from snd_una on, not yet
	 * acknowledged, starting at sb[sb_head] (so that an ACK moves no
	 * bytes, whatever the buffer's size) */
	uint8_t *sb;
	size_t sb_len, sb_cap, sb_head;
	/* bytes received in order and not yet read by the user */
	uint8_t *rb;
	size_t rb_len, rb_cap;
	struct tcp_rseg *rq; /* out of order, sorted by sequence */
	unsigned rq_segs;
	size_t rq_bytes;

	/* timers: absolute deadlines, 0 when off; ev_at the pending event */
	uint64_t timer[TCPT_N];
	uint64_t ev_at;
	int rxtshift;
	uint64_t rxtcur; /* the current retransmission timeout */
	/* RTT (RFC 6298), in ns; srtt 0 until the first sample */
	uint64_t srtt, rttvar;
	bool rtt_timing;
	uint32_t rtseq;
	uint64_t rtttime;
	uint64_t last_rcv; /* when a segment last arrived (idle, keepalive) */
	uint64_t last_snd; /* when data was last sent (idle restart) */

	/* MSS and congestion control (RFC 5681, RFC 6582) */
	uint32_t maxseg, peer_mss;
	uint32_t cwnd, ssthresh;
	unsigned dupacks;
	uint32_t recover;  /* snd_max when recovery began */
	uint32_t snd_last; /* snd_max at the last timeout (false fast retransmits) */
	/* SACK (RFC 2018, RFC 6675): what the peer holds above snd_una, the
	 * highest byte sent again in recovery, the last out-of-order arrival */
	uint32_t sacked[TCP_SACK_MAXBLOCKS][2];
	unsigned nsacked;
	uint32_t high_rxt;
	uint32_t last_oo;
	const struct tcp_cc *cc;
	uint64_t cc_state[6]; /* the algorithm's own (CUBIC's W_max, K, epoch ...) */

	int so_error;        /* a positive errno once the connection failed */
	unsigned ev_pending; /* events queued for the user (bit per enum tcp_event) */
	/* called, when set, whenever the sender's state moves (an ACK taken, a
	 * timeout, a smaller MSS): the time series of `tcp ... trace` */
	void (*on_sample)(struct tcpcb *tp, void *arg);
	tcp_event_fn on_event;
	void *cb_arg;

	/* for the summary a scenario prints */
	uint64_t t_open, t_established, t_closed;
	uint64_t bytes_written, bytes_acked, bytes_read;
	uint64_t rexmit_segs, rexmit_bytes, timeouts, fast_rexmits;
	uint64_t rtt_min, rtt_max, rtt_sum, rtt_n;
};

struct tcp_listener {
	struct tcp_listener *next;
	struct node *node;
	struct ipaddr laddr; /* ADDR_NONE: any */
	uint16_t lport;
	unsigned backlog, pending; /* embryonic connections allowed, and held */
	tcp_event_fn on_event;     /* given to each connection it accepts, which */
	void *cb_arg;              /* announces itself with TCP_EV_CONNECTED */
	struct seclevel sl;        /* IPsec levels, which accepted connections inherit */
};

/* ---- the user's side (tcp_subr.c) ---- */

struct tcp_listener *tcp_listen(struct node *n, const struct ipaddr *laddr, uint16_t port,
				int *err);
void tcp_unlisten(struct tcp_listener *l);
/* The levels of the connection (or else the listener) a segment from
 * faddr:fport to laddr:lport would reach, or NULL. */
const struct seclevel *tcp_seclevel_for(struct node *n, const struct ipaddr *laddr,
					uint16_t lport, const struct ipaddr *faddr, uint16_t fport);
/* An active open (RFC 9293 3.10.1) from lport, or an ephemeral port when
 * lport is 0: the SYN leaves at once.  NULL with *err on failure (no
 * route: -ENETUNREACH; the port taken: -EADDRINUSE). */
struct tcpcb *tcp_connect(struct node *n, uint16_t lport, const struct ipaddr *dst, uint16_t port,
			  tcp_event_fn fn, void *arg, int *err);
/* The same from a source address of ours (NULL: the route's choice);
 * -EADDRNOTAVAIL for one we do not have or of another family. */
struct tcpcb *tcp_connect_from(struct node *n, const struct ipaddr *laddr, uint16_t lport,
			       const struct ipaddr *dst, uint16_t port, tcp_event_fn fn, void *arg,
			       int *err);
/* The same with the socket's IPsec levels (NULL: the node's defaults),
 * set before the SYN leaves, as a setsockopt before connect(2) does. */
struct tcpcb *tcp_connect_levels(struct node *n, const struct ipaddr *laddr, uint16_t lport,
				 const struct ipaddr *dst, uint16_t port, tcp_event_fn fn, void *arg,
				 const struct seclevel *sl, int *err);
/* Queue bytes to send: how many were taken (the send buffer's room). */
size_t tcp_write(struct tcpcb *tp, const void *data, size_t len);
size_t tcp_write_room(const struct tcpcb *tp);
/* Take up to cap bytes that arrived in order (buf NULL: discard them). */
size_t tcp_read(struct tcpcb *tp, void *buf, size_t cap);
/* Orderly close: FIN after the queued data (RFC 9293 3.10.4). */
void tcp_close(struct tcpcb *tp);
/* Abort: RST, and the connection is gone at once (3.10.5). */
void tcp_abort(struct tcpcb *tp);
/* Keepalives (SO_KEEPALIVE; net.inet.tcp.always_keepalive turns them on
 * for every connection): after net.inet.tcp.keepidle seconds without a
 * segment, a probe every keepintvl seconds, and the connection dropped
 * (ETIMEDOUT) when eight go unanswered. */
void tcp_set_keepalive(struct tcpcb *tp, bool on);
/* Congestion control by name ("newreno", the default, or "cubic"); NULL
 * when there is no such algorithm.  Set it before the connection sends. */
const struct tcp_cc *tcp_cc_find(const char *name);
void tcp_set_cc(struct tcpcb *tp, const struct tcp_cc *cc);
/* Forget the user: no more events; the connection lives on to its end. */
void tcp_detach(struct tcpcb *tp);
void tcp_free_all(struct node *n);

/* ---- the stack's side ---- */

struct ip4_hdr;
struct ip6_hdr;
void tcp_input(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast);
void tcp6_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off);
/* An ICMP error quoting a segment we sent (at least 8 bytes of it). */
void tcp_ctlinput(struct node *n, uint8_t type, uint8_t code, uint32_t info,
		  const struct ipaddr *src, const struct ipaddr *dst, const uint8_t *l4);
void tcp6_ctlinput(struct node *n, uint8_t type, uint8_t code, uint32_t info,
		   const struct ipaddr *src, const struct ipaddr *dst, const uint8_t *l4);

struct mem_use;
/* For show NODE memory: connections, listeners, buffers, tables. */
void tcp_memory(const struct node *n, struct mem_use *u);

#endif
