/* Fragmentation and reassembly as numbered tables. */
#include <string.h>

#include "../../stack/cksum.h"
#include "../../stack/ip4.h"
#include "../../stack/util.h"
#include "unit.h"

static uint8_t pattern(unsigned i)
{
	return (uint8_t)(i * 7 + 3);
}

/* A whole datagram: header (with options) and `payload` pattern bytes. */
static struct pkt *datagram(unsigned payload, const uint8_t *opts, size_t optlen, uint16_t off)
{
	struct ip4_hdr h = {0};
	size_t hlen = IP4_HDR_LEN + optlen;
	h.len = (uint16_t)(hlen + payload);
	h.id = 0x1234;
	h.off = off;
	h.ttl = 64;
	h.proto = 17;
	addr_parse("10.0.0.1", &h.src);
	addr_parse("10.0.0.2", &h.dst);
	h.opts = opts;
	h.optlen = optlen;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, hlen + payload);
	ip4_emit(p->data, &h);
	for (unsigned i = 0; i < payload; i++)
		p->data[hlen + i] = pattern(i);
	return p;
}

struct frag_expect {
	unsigned hlen, off, len;
	int mf;
};

static void check_fragments(struct pktq *q, const struct frag_expect *want, unsigned n,
			    unsigned base)
{
	CU_ASSERT_EQUAL_FATAL(q->len, n);
	unsigned i = 0;
	for (struct pkt *f = q->head; f; f = f->next, i++) {
		struct ip4_hdr h;
		enum stat_id why;
		CU_ASSERT_EQUAL_FATAL(ip4_parse(f->data, f->len, &h, &why), 0); /* valid sum */
		CU_ASSERT_EQUAL(h.hlen, want[i].hlen);
		CU_ASSERT_EQUAL((h.off & IP4_OFFMASK) * 8u, want[i].off);
		CU_ASSERT_EQUAL(h.len - h.hlen, want[i].len);
		CU_ASSERT_EQUAL(!!(h.off & IP4_MF), want[i].mf);
		CU_ASSERT_EQUAL(h.id, 0x1234);
		/* The data is the right slice of the original. */
		int same = 1;
		for (unsigned k = 0; k < want[i].len; k++)
			if (f->data[h.hlen + k] != pattern(want[i].off - base + k))
				same = 0;
		CU_ASSERT_TRUE(same);
	}
}

static void test_fragment_table(void)
{
	static const uint8_t opts[12] = {0x94, 0x04, 0x00, 0x00, 0x07, 0x07, 0x04};
	struct {
		const char *what;
		unsigned payload, mtu;
		int with_opts;
		uint16_t off; /* of the datagram being fragmented */
		unsigned n;
		struct frag_expect f[6];
	} rows[] = {
	    /* 1 */ {"3008 bytes at 1500",
		     3008,
		     1500,
		     0,
		     0,
		     3,
		     {{20, 0, 1480, 1}, {20, 1480, 1480, 1}, {20, 2960, 48, 0}}},
	    /* 2 */ {"1008 bytes at 576", 1008, 576, 0, 0, 2, {{20, 0, 552, 1}, {20, 552, 456, 0}}},
	    /* 3 */
	    {"options: only copied ones repeat",
	     100,
	     60,
	     1,
	     0,
	     4,
	     {{32, 0, 24, 1}, {24, 24, 32, 1}, {24, 56, 32, 1}, {24, 88, 12, 0}}},
	    /* 4 */
	    {"a fragment of a fragment keeps MF",
	     40,
	     44,
	     0,
	     IP4_MF | 100,
	     2,
	     {{20, 800, 24, 1}, {20, 824, 16, 1}}},
	    /* 5 */ {"exact multiple", 48, 44, 0, 0, 2, {{20, 0, 24, 1}, {20, 24, 24, 0}}},
	};
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct sim *s = sim_new(1);
		struct node *n = sim_add_node(s, "n");
		struct pktq q = {0};
		struct pkt *p = datagram(rows[r].payload, rows[r].with_opts ? opts : NULL,
					 rows[r].with_opts ? 12 : 0, rows[r].off);
		ip4_fragment(n, p, rows[r].mtu, &q);
		check_fragments(&q, rows[r].f, rows[r].n, (rows[r].off & IP4_OFFMASK) * 8u);
		pktq_purge(&q);
		sim_free(s);
	}
}

static void test_fragment_mtu_too_small(void)
{
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "n");
	struct pktq q = {0};
	ip4_fragment(n, datagram(100, NULL, 0, 0), 27, &q); /* 20 + 8 does not fit */
	CU_ASSERT_EQUAL(q.len, 0);
	CU_ASSERT_EQUAL(n->stats[STAT_IP_CANTFRAG], 1);
	sim_free(s);
}

/* A header broken by a bug upstream (a stale checksum, a length past the
 * buffer, a wrong version) is dropped under its parse reason, never read. */
static void test_fragment_broken_header(void)
{
	static const struct {
		unsigned byte;
		uint8_t flip;
		enum stat_id why;
	} rows[] = {
	    {8, 0x01, STAT_IP_BADSUM},   /* the TTL changed, the sum not */
	    {0, 0x10, STAT_IP_BADVERS},  /* version 5 */
	    {2, 0x40, STAT_IP_TOOSHORT}, /* says 16 KiB more than there is */
	};
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "n");
	for (unsigned i = 0; i < ARRAY_LEN(rows); i++) {
		struct pkt *p = datagram(1000, NULL, 0, 0);
		p->data[rows[i].byte] ^= rows[i].flip;
		if (rows[i].why != STAT_IP_BADSUM) {
			put_be16(p->data + 10, 0);
			put_be16(p->data + 10, in_cksum(p->data, IP4_HDR_LEN));
		}
		struct pktq q = {0};
		ip4_fragment(n, p, 576, &q);
		CU_ASSERT_EQUAL(q.len, 0);
		CU_ASSERT_EQUAL(n->stats[rows[i].why], 1);
	}
	CU_ASSERT_EQUAL(n->stats[STAT_IP_CANTFRAG], 0);
	sim_free(s);
}

/* One fragment of a 24..32-byte datagram with the pattern at its offsets. */
static struct pkt *frag(uint16_t id, unsigned off, unsigned len, int mf)
{
	struct ip4_hdr h = {0};
	h.len = (uint16_t)(IP4_HDR_LEN + len);
	h.id = id;
	h.off = (uint16_t)(off / 8 | (mf ? IP4_MF : 0));
	h.ttl = 64;
	h.proto = 17;
	addr_parse("10.0.0.1", &h.src);
	addr_parse("10.0.0.2", &h.dst);
	struct pkt *p = pkt_alloc(PKT_HEADROOM, IP4_HDR_LEN + len);
	ip4_emit(p->data, &h);
	for (unsigned i = 0; i < len; i++)
		p->data[IP4_HDR_LEN + i] = pattern(off + i);
	return p;
}

struct in_frag {
	unsigned off, len;
	int mf;
};

/* Feed fragments to a fresh node; returns the step (1-based) at which the
 * datagram came out whole, or 0; checks its bytes. */
static int feed(struct node *n, const struct in_frag *f, unsigned nf, unsigned total)
{
	int done = 0;
	for (unsigned i = 0; i < nf; i++) {
		struct pkt *p = frag(7, f[i].off, f[i].len, f[i].mf);
		struct ip4_hdr h;
		enum stat_id why;
		CU_ASSERT_FATAL(ip4_parse(p->data, p->len, &h, &why) == 0);
		struct pkt *whole = ip4_reass(n, p, &h);
		if (!whole)
			continue;
		CU_ASSERT_EQUAL(done, 0);
		done = (int)i + 1;
		CU_ASSERT_EQUAL_FATAL(ip4_parse(whole->data, whole->len, &h, &why), 0);
		CU_ASSERT_EQUAL(h.len, IP4_HDR_LEN + total);
		CU_ASSERT_EQUAL(h.off & (IP4_MF | IP4_OFFMASK), 0);
		int same = 1;
		for (unsigned k = 0; k < total; k++)
			if (whole->data[IP4_HDR_LEN + k] != pattern(k))
				same = 0;
		CU_ASSERT_TRUE(same);
		pkt_free(whole);
	}
	return done;
}

static void test_reassembly_table(void)
{
	struct {
		const char *what;
		struct in_frag f[4];
		unsigned nf, total;
		int done;         /* step that completes it, 0 for never */
		unsigned dropped; /* ip.fragdropped */
		unsigned badfrags, toolong;
		unsigned held; /* fragments still queued at the end */
	} rows[] = {
	    /* 1 */ {"in order", {{0, 8, 1}, {8, 8, 1}, {16, 4, 0}}, 3, 20, 3, 0, 0, 0, 0},
	    /* 2 */ {"reverse", {{16, 4, 0}, {8, 8, 1}, {0, 8, 1}}, 3, 20, 3, 0, 0, 0, 0},
	    /* 3 */ {"middle first", {{8, 8, 1}, {0, 8, 1}, {16, 4, 0}}, 3, 20, 3, 0, 0, 0, 0},
	    /* 4 */
	    {"exact duplicate drops itself",
	     {{0, 8, 1}, {0, 8, 1}, {8, 4, 0}},
	     3,
	     12,
	     3,
	     1,
	     0,
	     0,
	     0},
	    /* 5 */ {"overlap drops the datagram", {{0, 16, 1}, {8, 16, 1}}, 2, 0, 0, 2, 0, 0, 0},
	    /* 6 */
	    {"overlap after the last", {{16, 8, 0}, {0, 8, 1}, {4, 16, 1}}, 3, 0, 0, 3, 0, 0, 0},
	    /* 7 */ {"MF with a length not a multiple of 8", {{0, 12, 1}}, 1, 0, 0, 0, 1, 0, 0},
	    /* 8 */
	    {"fragment past the end", {{16, 8, 0}, {0, 8, 1}, {24, 8, 1}}, 3, 0, 0, 0, 3, 0, 0},
	    /* 9 */ {"two last fragments disagree", {{16, 8, 0}, {8, 8, 0}}, 2, 0, 0, 0, 2, 0, 0},
	    /* 10 */ {"past 65535", {{65512, 16, 1}}, 1, 0, 0, 0, 0, 1, 0},
	    /* 11 */ {"a hole stays held", {{0, 8, 1}, {16, 8, 0}}, 2, 0, 0, 0, 0, 0, 2},
	};
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct sim *s = sim_new(1);
		struct node *n = unit_node(s, "n", "10.0.0.2/24");
		int done = feed(n, rows[r].f, rows[r].nf, rows[r].total);
		if (done != rows[r].done || n->stats[STAT_IP_FRAGDROPPED] != rows[r].dropped ||
		    n->stats[STAT_IP_BADFRAGS] != rows[r].badfrags ||
		    n->stats[STAT_IP_TOOLONG] != rows[r].toolong || n->nfrags != rows[r].held)
			fprintf(stderr, "\nreassembly row %u (%s) differs\n", r + 1, rows[r].what);
		CU_ASSERT_EQUAL(done, rows[r].done);
		CU_ASSERT_EQUAL(n->stats[STAT_IP_FRAGDROPPED], rows[r].dropped);
		CU_ASSERT_EQUAL(n->stats[STAT_IP_BADFRAGS], rows[r].badfrags);
		CU_ASSERT_EQUAL(n->stats[STAT_IP_TOOLONG], rows[r].toolong);
		CU_ASSERT_EQUAL(n->nfrags, rows[r].held);
		CU_ASSERT_EQUAL(n->stats[STAT_IP_REASSEMBLED], rows[r].done ? 1 : 0);
		sim_free(s);
	}
}

static void test_reassembly_timeout(void)
{
	/* Rows: fragments held; whether fragment zero is among them (then RFC
	 * 1122 asks for a time exceeded). */
	struct {
		struct in_frag f[2];
		unsigned nf;
		unsigned timxceed;
	} rows[] = {
	    {{{8, 8, 1}}, 1, 0},
	    {{{0, 8, 1}, {16, 8, 0}}, 2, 1},
	};
	for (unsigned r = 0; r < 2; r++) {
		struct sim *s = sim_new(1);
		struct node *n = unit_node(s, "n", "10.0.0.2/24");
		feed(n, rows[r].f, rows[r].nf, 0);
		CU_ASSERT_EQUAL(n->nfrags, rows[r].nf);
		/* Not yet at 29.999 s; gone at 30 s (net.inet.ip.fragttl). */
		sim_run(s, 30 * NS_PER_SEC - 1, NULL, NULL);
		CU_ASSERT_EQUAL(n->stats[STAT_IP_FRAGTIMEOUT], 0);
		sim_run(s, 30 * NS_PER_SEC, NULL, NULL);
		CU_ASSERT_EQUAL(n->stats[STAT_IP_FRAGTIMEOUT], rows[r].nf);
		CU_ASSERT_EQUAL(n->stats[STAT_ICMP_OUTHIST_TIMXCEED], rows[r].timxceed);
		CU_ASSERT_EQUAL(n->nfrags, 0);
		CU_ASSERT_PTR_NULL(n->reasq);
		sim_free(s);
	}
}

static void test_reassembly_queue_limit(void)
{
	struct sim *s = sim_new(1);
	struct node *n = unit_node(s, "n", "10.0.0.2/24");
	n->sysctl[SYSCTL_IP_MAXQUEUE] = 2;
	for (uint16_t id = 1; id <= 3; id++) {
		struct pkt *p = frag(id, 0, 8, 1);
		struct ip4_hdr h;
		enum stat_id why;
		CU_ASSERT_FATAL(ip4_parse(p->data, p->len, &h, &why) == 0);
		CU_ASSERT_PTR_NULL(ip4_reass(n, p, &h));
	}
	CU_ASSERT_EQUAL(n->nfrags, 2);
	CU_ASSERT_EQUAL(n->stats[STAT_IP_RCVMEMDROP], 1);
	sim_free(s);
}

void suite_frag(void)
{
	static const struct unit_test t[] = {
	    {"fragmentation table", test_fragment_table},
	    {"MTU too small to fragment", test_fragment_mtu_too_small},
	    {"a broken header is dropped, not fragmented", test_fragment_broken_header},
	    {"reassembly table", test_reassembly_table},
	    {"reassembly timeout", test_reassembly_timeout},
	    {"reassembly queue limit", test_reassembly_queue_limit},
	    {NULL, NULL}};
	unit_add_suite("frag", t);
}
