/*
 * TCP: the wire format byte for byte, the state machine's less common
 * paths (simultaneous open and close, resets per RFC 5961), and bad
 * segments, each dropped with its counter.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "../../stack/cksum.h"
#include "../../stack/ip4.h"
#include "../../stack/tcp.h"
#include "../../stack/tcp_var.h"
#include "../../stack/util.h"
#include "unit.h"

/* A SYN as tshark showed one of ours: ports 56516 -> 9, seq 0x01020304,
 * window 16384, MSS 1460, window scale 1, timestamps 1000 and 0. */
static const uint8_t syn[] = {0xdc, 0xc4, 0x00, 0x09, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00,
			      0x00, 0xa0, 0x02, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
			      /* MSS, NOP window scale, NOP NOP timestamps */
			      0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x01, 0x01, 0x01, 0x08,
			      0x0a, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00};

static void test_wire_round_trip(void)
{
	struct tcp_hdr h;
	CU_ASSERT_EQUAL_FATAL(tcp_parse(syn, sizeof(syn), &h), 0);
	CU_ASSERT_EQUAL(h.sport, 56516);
	CU_ASSERT_EQUAL(h.dport, 9);
	CU_ASSERT_EQUAL(h.seq, 0x01020304);
	CU_ASSERT_EQUAL(h.off, 40);
	CU_ASSERT_EQUAL(h.flags, TH_SYN);
	CU_ASSERT_EQUAL(h.win, 16384);
	struct tcp_opts o;
	CU_ASSERT_EQUAL_FATAL(tcp_opts_parse(h.opts, h.optlen, &o), 0);
	CU_ASSERT(o.mss_ok && o.mss == 1460);
	CU_ASSERT(o.ws_ok && o.ws == 1);
	CU_ASSERT(o.ts_ok && o.tsval == 1000 && o.tsecr == 0);
	CU_ASSERT_FALSE(o.sack_ok);
	/* emitted again, options in BSD's order: the same bytes */
	uint8_t ob[TCP_MAXOLEN], out[64];
	size_t ol = tcp_opts_emit(ob, &o);
	CU_ASSERT_EQUAL(ol, 20);
	struct tcp_hdr e = h;
	e.opts = ob;
	e.optlen = ol;
	CU_ASSERT_EQUAL(tcp_emit(out, &e), sizeof(syn));
	CU_ASSERT_EQUAL(memcmp(out, syn, sizeof(syn)), 0);

	/* SACK permitted and blocks (RFC 2018): NOP NOP 4 2, NOP NOP 5 18 */
	struct tcp_opts s = {.sack_ok = true, .nsack = 2, .sack = {{10, 20}, {30, 40}}};
	ol = tcp_opts_emit(ob, &s);
	static const uint8_t want[] = {1, 1, 4, 2,  1, 1, 5, 18, 0, 0, 0, 10,
				       0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40};
	CU_ASSERT_EQUAL(ol, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(ob, want, sizeof(want)), 0);
	struct tcp_opts back;
	CU_ASSERT_EQUAL(tcp_opts_parse(ob, ol, &back), 0);
	CU_ASSERT(back.sack_ok && back.nsack == 2 && back.sack[1][0] == 30 &&
		  back.sack[1][1] == 40);
}

static void test_wire_refuses_what_does_not_fit(void)
{
	static const struct {
		const char *what;
		uint8_t opts[12];
		size_t len;
	} rows[] = {
	    {"MSS cut short", {2, 4, 5}, 3},
	    {"a length past the end", {1, 1, 8, 10, 0, 0}, 6},
	    {"a length of 0", {30, 0, 0, 0}, 4},
	    {"a length of 1", {30, 1, 0, 0}, 4},
	    {"MSS of length 5", {2, 5, 0, 0, 0, 0, 0, 0}, 8},
	    {"window scale of length 4", {3, 4, 0, 0}, 4},
	    {"SACK of 9 bytes", {5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12},
	    {"a kind and no length", {1, 1, 1, 30}, 4},
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct tcp_opts o;
		int rc = tcp_opts_parse(rows[i].opts, rows[i].len, &o);
		if (rc != -1)
			fprintf(stderr, "\noptions '%s' accepted\n", rows[i].what);
		CU_ASSERT_EQUAL(rc, -1);
	}
	/* unknown kinds are skipped by their length; EOL ends the list */
	static const uint8_t ok[] = {30, 4, 0xaa, 0xbb, 2, 4, 0x02, 0x00, 0, 2, 4, 9};
	struct tcp_opts o;
	CU_ASSERT_EQUAL(tcp_opts_parse(ok, sizeof(ok), &o), 0);
	CU_ASSERT(o.mss_ok && o.mss == 512);
	/* header: short, offset below 5, offset past the data */
	struct tcp_hdr h;
	CU_ASSERT_EQUAL(tcp_parse(syn, 19, &h), -1);
	uint8_t b[40];
	memcpy(b, syn, sizeof(b));
	b[12] = 0x40;
	CU_ASSERT_EQUAL(tcp_parse(b, sizeof(b), &h), -2);
	b[12] = 0xf0;
	CU_ASSERT_EQUAL(tcp_parse(b, sizeof(b), &h), -1);
}

/* ---- connections between two nodes ---- */

struct ends {
	struct sim *s;
	struct node *a, *b;
	struct tcpcb *accepted;
	unsigned events[5];
};

static void record(struct tcpcb *tp, enum tcp_event ev, void *arg)
{
	struct ends *w = arg;
	w->events[ev]++;
	if (ev == TCP_EV_CONNECTED && tp->node == w->b)
		w->accepted = tp;
	if (ev == TCP_EV_CLOSED && tp == w->accepted)
		w->accepted = NULL;
	if (ev == TCP_EV_DATA)
		tcp_read(tp, NULL, 1 << 20);
}

static void ends(struct ends *w)
{
	memset(w, 0, sizeof(*w));
	w->s = sim_new(9);
	unit_pair(w->s, &w->a, &w->b, NS_PER_SEC / 1000);
}

static void run_for(struct ends *w, uint64_t ns)
{
	sim_run(w->s, w->s->now + ns, NULL, NULL);
}

static struct ipaddr A(const char *s) {
	struct ipaddr a;
	CU_ASSERT_FATAL(addr_parse(s, &a) == 0);
	return a;
}

static void
test_simultaneous_open_and_close(void)
{
	struct ends w;
	ends(&w);
	int e1, e2;
	struct ipaddr ia = A("10.0.0.1"), ib = A("10.0.0.2");
	struct tcpcb *ta = tcp_connect(w.a, 1000, &ib, 2000, record, &w, &e1);
	struct tcpcb *tb = tcp_connect(w.b, 2000, &ia, 1000, record, &w, &e2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tb);
	run_for(&w, NS_PER_SEC / 10);
	CU_ASSERT_EQUAL(ta->state, TCPS_ESTABLISHED);
	CU_ASSERT_EQUAL(tb->state, TCPS_ESTABLISHED);
	CU_ASSERT_EQUAL(w.events[TCP_EV_CONNECTED], 2);
	/* data both ways */
	CU_ASSERT_EQUAL(tcp_write(ta, "hello", 5), 5);
	CU_ASSERT_EQUAL(tcp_write(tb, "world!", 6), 6);
	run_for(&w, NS_PER_SEC / 2);
	CU_ASSERT_EQUAL(ta->bytes_read, 6);
	CU_ASSERT_EQUAL(tb->bytes_read, 5);
	/* both close at once: FIN_WAIT_1, CLOSING, TIME_WAIT on each side */
	tcp_close(ta);
	tcp_close(tb);
	CU_ASSERT_EQUAL(ta->state, TCPS_FIN_WAIT_1);
	CU_ASSERT_EQUAL(tb->state, TCPS_FIN_WAIT_1);
	run_for(&w, NS_PER_SEC / 10);
	CU_ASSERT_EQUAL(ta->state, TCPS_TIME_WAIT);
	CU_ASSERT_EQUAL(tb->state, TCPS_TIME_WAIT);
	CU_ASSERT_EQUAL(w.events[TCP_EV_EOF], 2);
	/* 2 MSL later both are gone, in order */
	run_for(&w, 61 * NS_PER_SEC);
	CU_ASSERT_EQUAL(w.events[TCP_EV_CLOSED], 2);
	CU_ASSERT_EQUAL(w.a->stats[STAT_TCP_CLOSED], 1);
	CU_ASSERT_EQUAL(w.b->stats[STAT_TCP_CLOSED], 1);
	sim_free(w.s);
}

/* An established pair a -> b:7, and the receiver's view of it. */
static struct tcpcb *established(struct ends *w)
{
	ends(w);
	int err;
	struct tcp_listener *l = tcp_listen(w->b, NULL, 7, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	l->on_event = record;
	l->cb_arg = w;
	struct ipaddr ib = A("10.0.0.2");
	struct tcpcb *ta = tcp_connect(w->a, 0, &ib, 7, record, w, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
	run_for(w, NS_PER_SEC / 10);
	CU_ASSERT_EQUAL_FATAL(ta->state, TCPS_ESTABLISHED);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w->accepted);
	return ta;
}

/* A segment from a's connection to b as a crafted one: the header with
 * the given fields, a valid checksum unless told otherwise. */
static void inject_only(struct ends *w, const struct tcpcb *ta, uint32_t seq, uint32_t ack,
			uint8_t flags, const void *data, size_t len, bool badsum)
{
	uint8_t buf[40 + 1460];
	CU_ASSERT_FATAL(len <= sizeof(buf) - 40);
	struct ip4_hdr ih = {.len = (uint16_t)(20 + 20 + len),
			     .ttl = 64,
			     .proto = IPPROTO_TCP,
			     .src = ta->laddr,
			     .dst = ta->faddr};
	ip4_emit(buf, &ih);
	struct tcp_hdr th = {.sport = ta->lport,
			     .dport = ta->fport,
			     .seq = seq,
			     .ack = ack,
			     .flags = flags,
			     .win = 16384};
	tcp_emit(buf + 20, &th);
	if (len)
		memcpy(buf + 40, data, len);
	uint16_t sum = tcp_cksum(&ta->laddr, &ta->faddr, buf + 20, 20 + len);
	put_be16(buf + 36, badsum ? (uint16_t)(sum ^ 1) : sum);
	ip4_input(w->b, pkt_from(buf, 40 + len, PKT_HEADROOM));
}

/* The same, then 10 ms of the simulation (answers, a's reactions). */
static void inject(struct ends *w, const struct tcpcb *ta, uint32_t seq, uint32_t ack,
		   uint8_t flags, const void *data, size_t len, bool badsum)
{
	inject_only(w, ta, seq, ack, flags, data, len, badsum);
	run_for(w, NS_PER_SEC / 100);
}

#define BSTAT(w, s) ((w)->b->stats[STAT_##s])

/* RFC 5961: a reset resets only at RCV.NXT; elsewhere in the window it
 * draws a challenge ACK; outside the window it is dropped.  The same for
 * a SYN: never acted on, always challenged. */
static void test_rfc5961_resets_and_syns(void)
{
	struct ends w;
	struct tcpcb *ta = established(&w);
	struct tcpcb *tb = w.accepted;
	uint32_t rn = tb->rcv_nxt;
	uint64_t acks = w.b->stats[STAT_TCP_SNDACKS];
	inject(&w, ta, rn + 1, 0, TH_RST, NULL, 0, false); /* in the window, inexact */
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVBADRST), 1);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_SNDCHALLENGE), 1);
	CU_ASSERT_EQUAL(w.b->stats[STAT_TCP_SNDACKS], acks + 1);
	CU_ASSERT_PTR_NOT_NULL(w.accepted);
	inject(&w, ta, rn + 100000, 0, TH_RST, NULL, 0, false); /* beyond the window */
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVBADRST), 2);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_SNDCHALLENGE), 1); /* no answer to that */
	inject(&w, ta, rn, 0, TH_SYN, NULL, 0, false);   /* a SYN, even at RCV.NXT */
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVSYNINWIN), 1);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_SNDCHALLENGE), 2);
	CU_ASSERT_PTR_NOT_NULL(w.accepted);
	CU_ASSERT_EQUAL(tb->state, TCPS_ESTABLISHED);
	/* exactly at RCV.NXT: the connection is reset */
	inject(&w, ta, rn, 0, TH_RST, NULL, 0, false);
	CU_ASSERT_PTR_NULL(w.accepted);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_DROPS), 1);
	sim_free(w.s);
}

/* Bad segments on an established connection, each dropped by name and
 * leaving the connection as it was. */
static void test_bad_segments_each_have_a_counter(void)
{
	struct ends w;
	struct tcpcb *ta = established(&w);
	struct tcpcb *tb = w.accepted;
	uint32_t rn = tb->rcv_nxt, una = tb->snd_una;
	inject(&w, ta, rn, una, TH_ACK, "abc", 3, true);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVBADSUM), 1);
	inject(&w, ta, rn, una, TH_SYN | TH_FIN | TH_ACK, NULL, 0, false);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVBADFLAGS), 1);
	inject(&w, ta, rn, una + 5000, TH_ACK, NULL, 0, false); /* ACK of unsent data */
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVACKTOOMUCH), 1);
	inject(&w, ta, rn - 10, una, TH_ACK, "0123456789", 10, false); /* all old */
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVDUPPACK), 1);
	inject(&w, ta, rn + 70000, una, TH_ACK, "x", 1, false); /* beyond the window */
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVPACKAFTERWIN), 1);
	inject(&w, ta, rn, una, 0, "x", 1, false); /* no ACK */
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVNOACK), 1);
	CU_ASSERT_EQUAL(tb->rcv_nxt, rn);
	CU_ASSERT_EQUAL(tb->state, TCPS_ESTABLISHED);
	/* the good one after all of them */
	inject(&w, ta, rn, una, TH_ACK | TH_PUSH, "good", 4, false);
	CU_ASSERT_EQUAL(tb->rcv_nxt, rn + 4);
	CU_ASSERT_EQUAL(tb->bytes_read, 4);
	/* nobody on port 8: a reset */
	struct tcpcb fake = *ta;
	fake.fport = 8;
	uint64_t rst = w.b->stats[STAT_TCP_SNDRST];
	inject(&w, &fake, 1, 0, TH_SYN, NULL, 0, false);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_NOPORT), 1);
	CU_ASSERT_EQUAL(w.b->stats[STAT_TCP_SNDRST], rst + 1);
	sim_free(w.s);
}

/* Mangled segments of every kind into a listener and an established
 * connection: no crash, and every one counted (taken or dropped). */
static void test_mangled_segments(void)
{
	struct ends w;
	struct tcpcb *ta = established(&w);
	struct rng r;
	rng_seed(&r, 9293, "mangle-tcp");
	unsigned rounds = 20000;
	uint64_t before = w.b->stats[STAT_TCP_RCVTOTAL];
	for (unsigned i = 0; i < rounds && w.accepted; i++) {
		uint8_t buf[120];
		size_t len = 40 + rng_below(&r, 60);
		struct ip4_hdr ih = {.len = (uint16_t)len,
				     .ttl = 64,
				     .proto = IPPROTO_TCP,
				     .src = ta->laddr,
				     .dst = ta->faddr};
		ip4_emit(buf, &ih);
		for (size_t k = 20; k < len; k++)
			buf[k] = (uint8_t)rng_next(&r);
		/* half of them to the connection's ports, the rest anywhere */
		if (i & 1) {
			put_be16(buf + 20, ta->lport);
			put_be16(buf + 22, ta->fport);
		}
		if (i % 4 < 2) { /* a data offset that fits, and a right checksum */
			buf[32] = (uint8_t)((5 + rng_below(&r, (len - 20) / 4 - 4)) << 4);
			put_be16(buf + 36, 0);
			put_be16(buf + 36, tcp_cksum(&ta->laddr, &ta->faddr, buf + 20, len - 20));
		}
		ip4_input(w.b, pkt_from(buf, len, PKT_HEADROOM));
		if (i % 64 == 0)
			run_for(&w, NS_PER_SEC / 1000);
	}
	run_for(&w, NS_PER_SEC);
	CU_ASSERT(w.b->stats[STAT_TCP_RCVTOTAL] - before > 0);
	sim_free(w.s);
}

/* The SACK scoreboard (RFC 6675) as rows: blocks in, the merged list out,
 * then what is lost, the pipe and the next segment to send again. */
static void test_sack_scoreboard(void)
{
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "n");
	struct tcpcb *tp = tcp_newtcpcb(n);
	tp->flags |= TF_SACK_PERMIT;
	tp->maxseg = 1000;
	tp->snd_una = 1000;
	tp->snd_max = 11000; /* ten segments out */
	tp->high_rxt = 1000;
	static const struct {
		uint32_t l, r;
	} in[] = {{3000, 4000},  {5000, 6000}, {4000, 5000}, /* merges the two */
		  {500, 2500},                               /* partly below snd_una: cut */
		  {9000, 12000},                             /* past snd_max: not kept */
		  {8000, 9000}};
	for (size_t i = 0; i < ARRAY_LEN(in); i++) {
		struct tcp_opts o = {.nsack = 1, .sack = {{in[i].l, in[i].r}}};
		tcp_sack_update(tp, &o);
	}
	CU_ASSERT_EQUAL_FATAL(tp->nsacked, 3);
	CU_ASSERT(tp->sacked[0][0] == 1000 && tp->sacked[0][1] == 2500);
	CU_ASSERT(tp->sacked[1][0] == 3000 && tp->sacked[1][1] == 6000);
	CU_ASSERT(tp->sacked[2][0] == 8000 && tp->sacked[2][1] == 9000);
	/* Holes: [2500,3000) has 4000 bytes in two blocks above it: lost;
	 * [6000,8000) has 1000 above: not lost; beyond 9000 nothing is.
	 * Pipe: 10000 out - 5500 SACKed - 500 lost and not sent again. */
	CU_ASSERT_EQUAL(tcp_sack_pipe(tp), 4000);
	uint32_t seq, len;
	CU_ASSERT_TRUE(tcp_sack_nextseg(tp, &seq, &len));
	CU_ASSERT(seq == 2500 && len == 500);
	/* sent again: nothing else is lost, and the pipe holds it */
	tp->high_rxt = 3000;
	CU_ASSERT_FALSE(tcp_sack_nextseg(tp, &seq, &len));
	CU_ASSERT_EQUAL(tcp_sack_pipe(tp), 4500);
	/* NextSeg() rule 3: the hole [6000,8000), not lost, a segment at a
	 * time; once sent again it counts twice in the pipe */
	bool rescue = true;
	CU_ASSERT_TRUE(tcp_sack_nextseg_last(tp, &seq, &len, &rescue));
	CU_ASSERT(seq == 6000 && len == 1000 && !rescue);
	tp->high_rxt = 7000;
	CU_ASSERT_EQUAL(tcp_sack_pipe(tp), 5500);
	CU_ASSERT_TRUE(tcp_sack_nextseg_last(tp, &seq, &len, &rescue));
	CU_ASSERT(seq == 7000 && len == 1000 && !rescue);
	tp->high_rxt = 8000;
	CU_ASSERT_EQUAL(tcp_sack_pipe(tp), 6500);
	/* rule 4: the rescue, the segment ending at the highest unSACKed
	 * byte: snd_max's, or below the last block when that ends at snd_max
	 * (a hole already sent again: the lost retransmission); once */
	CU_ASSERT_TRUE(tcp_sack_nextseg_last(tp, &seq, &len, &rescue));
	CU_ASSERT(seq == 10000 && len == 1000 && rescue);
	tp->snd_max = 9000;
	CU_ASSERT_TRUE(tcp_sack_nextseg_last(tp, &seq, &len, &rescue));
	CU_ASSERT(seq == 7000 && len == 1000 && rescue);
	tp->flags |= TF_RESCUED;
	CU_ASSERT_FALSE(tcp_sack_nextseg_last(tp, &seq, &len, &rescue));
	tp->flags &= ~(unsigned)TF_RESCUED;
	tp->snd_max = 11000;
	tp->high_rxt = 3000;
	/* snd_una moves past the first blocks: they are forgotten */
	tp->snd_una = 6000;
	tcp_sack_update(tp, NULL);
	CU_ASSERT_EQUAL(tp->nsacked, 1);
	/* IsLost()'s two rules at their edges (RFC 6675 4), for the hole
	 * [0, 1000): three blocks above it, whatever their size; or more than
	 * two segments' worth of bytes; not exactly two segments' worth. */
	static const struct {
		unsigned nb;
		uint32_t b[3][2];
		bool lost;
	} edge[] = {
	    {3, {{1000, 1100}, {2000, 2100}, {3000, 3100}}, true},
	    {2, {{1000, 1100}, {2000, 2100}}, false},
	    {1, {{1000, 3001}}, true},
	    {1, {{1000, 3000}}, false},
	};
	tp->snd_max = 20000;
	for (size_t i = 0; i < ARRAY_LEN(edge); i++) {
		tcp_sack_clear(tp);
		tp->snd_una = tp->high_rxt = 0;
		struct tcp_opts o = {.nsack = (uint8_t)edge[i].nb};
		memcpy(o.sack, edge[i].b, sizeof(edge[i].b));
		tcp_sack_update(tp, &o);
		bool lost = tcp_sack_nextseg(tp, &seq, &len);
		CU_ASSERT_EQUAL(lost, edge[i].lost);
		if (lost)
			CU_ASSERT(seq == 0 && len == 1000);
	}
	/* a full scoreboard keeps what it has and counts the rest */
	tcp_sack_clear(tp);
	tp->snd_una = 0;
	tp->snd_max = 1000000;
	for (uint32_t k = 0; k < TCP_SACK_MAXBLOCKS + 5; k++) {
		struct tcp_opts o = {.nsack = 1, .sack = {{10 + 20 * k, 20 + 20 * k}}};
		tcp_sack_update(tp, &o);
	}
	CU_ASSERT_EQUAL(tp->nsacked, TCP_SACK_MAXBLOCKS);
	CU_ASSERT_EQUAL(n->stats[STAT_TCP_SACK_DROP_OPTS], 5);
	sim_free(s);
}

/* A receiver whose out-of-order queue is full must still take the segment
 * at RCV.NXT (it once refused it, and the connection died of timeouts). */
static void test_full_queue_takes_the_missing_segment(void)
{
	struct ends w;
	struct tcpcb *ta = established(&w);
	struct tcpcb *tb = w.accepted;
	uint32_t rn = tb->rcv_nxt, una = tb->snd_una;
	uint8_t chunk[200];
	memset(chunk, 'x', sizeof(chunk));
	/* the window after a 100-byte hole, all queued out of order */
	/* (without running the simulation in between: a, which never sent
	 * these, would answer b's ACKs) */
	uint32_t off = 100;
	for (; off + 100 <= tb->rb_cap; off += 100)
		inject_only(&w, ta, rn + off, una, TH_ACK, chunk, 100, false);
	CU_ASSERT_EQUAL(tb->rq_bytes, off - 100);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVMEMDROP), 0);
	/* the hole's segment, overlapping the first queued one: more than
	 * the queue may hold, and taken all the same, the queue following */
	CU_ASSERT(tb->rq_bytes + 200 > tb->rb_cap);
	inject_only(&w, ta, rn, una, TH_ACK, chunk, 200, false);
	CU_ASSERT_EQUAL(tb->rcv_nxt - rn, off);
	CU_ASSERT_EQUAL(tb->rb_len + tb->bytes_read, off);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_RCVMEMDROP), 0);
	CU_ASSERT_PTR_NULL(tb->rq);
	sim_free(w.s);
}

/* CUBIC's window after a loss at 100 segments (RFC 9438 4.2): it starts
 * at 0.7 W_max, comes back to W_max at K = cbrt(0.75 x 100) = 4.217 s, and
 * is concave on the way (more than halfway back by K/2). */
static void test_cubic_curve(void)
{
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "n");
	struct tcpcb *tp = tcp_newtcpcb(n);
	tcp_set_cc(tp, tcp_cc_find("cubic"));
	CU_ASSERT_PTR_NULL(tcp_cc_find("vegas"));
	tp->maxseg = 1000;
	tp->snd_scale = 4; /* a window that may pass 64 KiB */
	tp->cwnd = 100000;
	tp->snd_una = 0;
	tp->snd_max = 100000;
	tp->srtt = 0;
	tp->cc->fast_retransmit(tp);
	CU_ASSERT_EQUAL(tp->ssthresh, 70000);
	CU_ASSERT_EQUAL(tp->cc_state[2], 4217); /* K in ms */
	tp->cc->recovered(tp);
	CU_ASSERT_EQUAL(tp->cwnd, 70000);
	uint32_t at_half = 0;
	for (uint64_t ms = 1000; ms <= 1000 + 4217; ms += 10) {
		s->now = ms * NS_MS;
		for (int k = 0; k < 10; k++)
			tp->cc->ack(tp, 1000);
		if (ms == 1000 + 2110)
			at_half = tp->cwnd;
	}
	CU_ASSERT(at_half > 85000 && at_half < 100000);
	CU_ASSERT(tp->cwnd >= 97000 && tp->cwnd <= 101000);
	if (!(tp->cwnd >= 97000 && tp->cwnd <= 101000) || !(at_half > 85000 && at_half < 100000))
		fprintf(stderr, "\ncubic: %u at K/2, %u at K\n", at_half, tp->cwnd);
	sim_free(s);
}

/* RFC 6191: a SYN with a newer timestamp for a four-tuple in TIME_WAIT
 * ends the wait and opens a new connection, whose ISS lies beyond the old
 * connection's sequence numbers; an old duplicate SYN does not. */
static void test_time_wait_reuse(void)
{
	struct ends w;
	struct tcpcb *ta = established(&w);
	struct tcpcb *tb = w.accepted;
	uint16_t lport = ta->lport;
	tcp_close(tb); /* the server closes first: its side waits */
	run_for(&w, NS_PER_SEC / 10);
	tcp_close(ta);
	run_for(&w, NS_PER_SEC / 10);
	CU_ASSERT_EQUAL_FATAL(tb->state, TCPS_TIME_WAIT);
	uint32_t old_nxt = tb->snd_nxt, old_rcv = tb->rcv_nxt;
	/* an old duplicate: a SYN with a timestamp from before, in sequence
	 * behind: answered with an ACK, and the wait goes on */
	struct tcpcb fake = {.laddr = tb->faddr, .faddr = tb->laddr, .lport = lport, .fport = 7};
	inject(&w, &fake, old_rcv - 100, 0, TH_SYN, NULL, 0, false);
	CU_ASSERT_EQUAL(tb->state, TCPS_TIME_WAIT);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_TWREUSE), 0);
	/* a second later the same port again: a newer timestamp */
	run_for(&w, NS_PER_SEC);
	int err;
	struct ipaddr ib = A("10.0.0.2");
	struct tcpcb *again = tcp_connect(w.a, lport, &ib, 7, record, &w, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	run_for(&w, NS_PER_SEC / 10);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_TWREUSE), 1);
	CU_ASSERT_EQUAL(BSTAT(&w, TCP_ACCEPTS), 2);
	CU_ASSERT_EQUAL(again->state, TCPS_ESTABLISHED);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w.accepted);
	CU_ASSERT(w.accepted->iss - old_nxt >= 0x8000);
	sim_free(w.s);
}

void suite_tcp(void)
{
	static const struct unit_test t[] = {
	    {"wire round trip", test_wire_round_trip},
	    {"wire refuses what does not fit", test_wire_refuses_what_does_not_fit},
	    {"simultaneous open and close", test_simultaneous_open_and_close},
	    {"RFC 5961 resets and SYNs", test_rfc5961_resets_and_syns},
	    {"bad segments each have a counter", test_bad_segments_each_have_a_counter},
	    {"mangled segments", test_mangled_segments},
	    {"SACK scoreboard", test_sack_scoreboard},
	    {"CUBIC's curve", test_cubic_curve},
	    {"TIME_WAIT ended by a newer SYN", test_time_wait_reuse},
	    {"a full queue takes the missing segment", test_full_queue_takes_the_missing_segment},
	    {NULL, NULL}};
	unit_add_suite("tcp", t);
}
