/* SA lifetimes: EXPIRE messages, deletion, and timers that never touch an
 * SA that replaced the one they were armed for. */
#include <CUnit/Basic.h>
#include <string.h>

#include "../../ipsec/acquire.h"
#include "../../ipsec/lifetime.h"
#include "../../ipsec/pfkey.h"
#include "../../ipsec/pfkey_msg.h"
#include "../../ipsec/sad.h"
#include "../../ipsec/seq.h"
#include "../../stack/pkt.h"
#include "unit.h"

static int add_sa(struct pfkey_sock *s, uint32_t spi, uint64_t soft_add, uint64_t hard_add,
		  uint64_t soft_bytes, uint64_t hard_bytes)
{
	uint8_t ak[32], ek[16];
	memset(ak, 1, sizeof(ak));
	memset(ek, 2, sizeof(ek));
	struct ipaddr src, dst;
	addr_parse("192.0.2.1", &src);
	addr_parse("192.0.2.2", &dst);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_ADD, SADB_SATYPE_ESP, 1, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, 0, SADB_SASTATE_MATURE, SADB_X_AALG_SHA2_256,
		SADB_X_EALG_AES, 0);
	if (hard_add || hard_bytes)
		pfkb_lifetime(&pb, SADB_EXT_LIFETIME_HARD, 0, hard_bytes, hard_add, 0);
	if (soft_add || soft_bytes)
		pfkb_lifetime(&pb, SADB_EXT_LIFETIME_SOFT, 0, soft_bytes, soft_add, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	pfkb_key(&pb, SADB_EXT_KEY_AUTH, ak, 256);
	pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, ek, 128);
	return pfkey_write(s, pb.b, pfkb_finish(&pb));
}

/* EXPIRE messages waiting on a socket: soft and hard counts. */
static void expires(struct pfkey_sock *s, unsigned *soft, unsigned *hard)
{
	uint8_t buf[PFKEY_MSG_MAXSZ];
	ssize_t n;
	while ((n = pfkey_read(s, buf, sizeof(buf))) > 0) {
		struct pfkey_msg m;
		if (buf[1] != SADB_EXPIRE || pfkey_parse(buf, (size_t)n, PFKEY_OUT, 0, &m) != 0)
			continue;
		*soft += pfkey_has(&m, SADB_EXT_LIFETIME_SOFT);
		*hard += pfkey_has(&m, SADB_EXT_LIFETIME_HARD);
	}
}

static struct tdb *sa(struct node *n, uint32_t spi)
{
	struct ipaddr dst;
	addr_parse("192.0.2.2", &dst);
	return sad_lookup(&n->ipsec->sad, &dst, spi, IPPROTO_ESP);
}

static void test_bytes(void)
{
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "n");
	struct pfkey_sock *k = pfkey_open(n);
	CU_ASSERT_EQUAL(add_sa(k, 0x100, 0, 0, 100, 250), 0);
	unsigned soft = 0, hard = 0;
	expires(k, &soft, &hard);
	static const struct {
		uint64_t bytes;
		bool alive;
		unsigned soft, hard;
	} rows[] = {{60, true, 0, 0},  {39, true, 0, 0}, {1, true, 1, 0},   /* 100: soft */
		    {100, true, 1, 0}, {49, true, 1, 0}, {1, false, 1, 1}}; /* 250: hard */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool alive = sa_count_bytes(n, sa(n, 0x100), rows[i].bytes);
		expires(k, &soft, &hard);
		CU_ASSERT_EQUAL(alive, rows[i].alive);
		CU_ASSERT_EQUAL(sa(n, 0x100) != NULL, rows[i].alive);
		CU_ASSERT_EQUAL(soft, rows[i].soft);
		CU_ASSERT_EQUAL(hard, rows[i].hard);
	}
	CU_ASSERT_EQUAL(n->stats[STAT_IPSEC_EXCTDB], 1);
	sim_free(s);
}

/* An SA deleted and added again with the same SPI before its old timers
 * fire keeps its own lifetime. */
static void test_timers_follow_the_sa_not_its_name(void)
{
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "n");
	struct pfkey_sock *k = pfkey_open(n);
	CU_ASSERT_EQUAL(add_sa(k, 0x200, 0, 5, 0, 0), 0); /* hard at 5 s */
	sim_run(s, 2 * NS_PER_SEC, NULL, NULL);
	struct pfkey_buf pb;
	struct ipaddr dst;
	addr_parse("192.0.2.2", &dst);
	pfkb_init(&pb, SADB_DELETE, SADB_SATYPE_ESP, 2, k->pid);
	pfkb_sa(&pb, SADB_EXT_SA, 0x200, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	CU_ASSERT_EQUAL(pfkey_write(k, pb.b, pfkb_finish(&pb)), 0);
	CU_ASSERT_EQUAL(add_sa(k, 0x200, 0, 10, 0, 0), 0); /* the new one: hard at 12 s */
	unsigned soft = 0, hard = 0;
	expires(k, &soft, &hard);
	sim_run(s, 6 * NS_PER_SEC, NULL, NULL); /* the old timer fires: nothing */
	expires(k, &soft, &hard);
	CU_ASSERT_EQUAL(hard, 0);
	CU_ASSERT_PTR_NOT_NULL(sa(n, 0x200));
	sim_run(s, 13 * NS_PER_SEC, NULL, NULL);
	expires(k, &soft, &hard);
	CU_ASSERT_EQUAL(hard, 1);
	CU_ASSERT_PTR_NULL(sa(n, 0x200));
	sim_free(s);
}

/* PF_KEY lifetimes are 64-bit seconds; past 2^64 ns (584 years) they
 * never run out, rather than wrapping to a lifetime of a fraction of a
 * second (18446744074 s was 0.29 s), and the last that fits still does. */
static void test_lifetime_past_the_clock(void)
{
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "n");
	struct pfkey_sock *k = pfkey_open(n);
	const uint64_t last = UINT64_MAX / NS_PER_SEC; /* 18446744073 s */
	CU_ASSERT_EQUAL(add_sa(k, 0x300, 0, last + 1, 0, 0), 0);
	CU_ASSERT_EQUAL(add_sa(k, 0x301, 0, UINT64_MAX, 0, 0), 0);
	CU_ASSERT_EQUAL(add_sa(k, 0x302, 0, last, 0, 0), 0);
	unsigned soft = 0, hard = 0;
	expires(k, &soft, &hard);
	sim_run(s, 3600 * NS_PER_SEC, NULL, NULL);
	expires(k, &soft, &hard);
	CU_ASSERT_EQUAL(hard, 0);
	CU_ASSERT_PTR_NOT_NULL(sa(n, 0x300));
	CU_ASSERT_PTR_NOT_NULL(sa(n, 0x301));
	sim_run(s, last * NS_PER_SEC, NULL, NULL);
	expires(k, &soft, &hard);
	CU_ASSERT_EQUAL(hard, 1); /* 0x302, at its time */
	CU_ASSERT_PTR_NULL(sa(n, 0x302));
	CU_ASSERT_PTR_NOT_NULL(sa(n, 0x300));
	sim_free(s);
}

/* One acquire per policy and gateway per ipsec-expire-acquire seconds; the
 * result says whether anybody heard it. */
static void test_acquire_rate_limit(void)
{
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "n");
	struct ipsec_state *st = ipsec_state(n);
	struct spd_flow f = {.type = IPSP_IPSEC_REQUIRE, .sproto = IPPROTO_ESP};
	f.sel.dir = IPSP_DIRECTION_OUT;
	addr_parse("10.0.0.0", &f.sel.src);
	addr_parse("10.1.0.0", &f.sel.dst);
	f.mask.src_plen = f.mask.dst_plen = 16;
	struct ipaddr gw, gw2;
	addr_parse("192.0.2.2", &gw);
	addr_parse("192.0.2.3", &gw2);
	CU_ASSERT_EQUAL(acquire_sa(n, &f, &gw), ACQUIRE_NOBODY);
	CU_ASSERT_EQUAL(acquire_sa(n, &f, &gw), ACQUIRE_PENDING);
	struct pfkey_sock *k = pfkey_open(n);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_REGISTER, SADB_SATYPE_ESP, 1, k->pid);
	CU_ASSERT_EQUAL(pfkey_write(k, pb.b, pfkb_finish(&pb)), 0);
	while (pfkey_read(k, NULL, 0) >= 0)
		;
	CU_ASSERT_EQUAL(acquire_sa(n, &f, &gw2), ACQUIRE_SENT); /* another gateway */
	CU_ASSERT_EQUAL(acquire_sa(n, &f, &gw), ACQUIRE_PENDING);
	sim_run(s, 31 * NS_PER_SEC, NULL, NULL); /* ipsec-expire-acquire: 30 s */
	CU_ASSERT_EQUAL(acquire_sa(n, &f, &gw), ACQUIRE_SENT);
	CU_ASSERT_EQUAL(n->stats[STAT_IPSEC_ACQUIRES], 3);
	uint8_t buf[PFKEY_MSG_MAXSZ];
	unsigned acquires = 0;
	ssize_t len;
	while ((len = pfkey_read(k, buf, sizeof(buf))) > 0)
		acquires += buf[1] == SADB_ACQUIRE;
	CU_ASSERT_EQUAL(acquires, 2);
	/* X_ASKPOLICY finds the pending one by its number, and only it. */
	struct pfkey_buf out;
	pfkb_init(&out, SADB_X_ASKPOLICY, 0, 0, 0);
	CU_ASSERT_EQUAL(acquire_askpolicy(st, 2, s->now, &out), 0);
	CU_ASSERT_EQUAL(acquire_askpolicy(st, 0, s->now, &out), -1); /* expired */
	sim_free(s);
}

/* RFC 4303 3.3.3: sending the last sequence number announces a soft
 * EXPIRE; the packet after it is dropped and the SA ends (hard).  With
 * ESN the last number is 2^64 - 1. */
static void exhaust(bool esn)
{
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "n");
	struct pfkey_sock *k = pfkey_open(n);
	CU_ASSERT_EQUAL(add_sa(k, 0x300, 0, 0, 0, 0), 0);
	struct tdb *t = sa(n, 0x300);
	uint64_t last = esn ? UINT64_MAX : UINT32_MAX;
	if (esn) {
		t->flags |= TDBF_ESN;
		t->wnd = 64;
	}
	t->replay.rpl = last - 1;
	unsigned soft = 0, hard = 0;
	expires(k, &soft, &hard);
	uint64_t seq = 0;
	CU_ASSERT_TRUE(seq_output(n, t, NULL, 10, &seq_esp, &seq));
	CU_ASSERT_EQUAL(seq, last - 1);
	expires(k, &soft, &hard);
	CU_ASSERT_EQUAL(soft + hard, 0);
	CU_ASSERT_TRUE(seq_output(n, t, NULL, 10, &seq_esp, &seq));
	CU_ASSERT_EQUAL(seq, last);
	expires(k, &soft, &hard);
	CU_ASSERT_EQUAL(soft, 1);
	CU_ASSERT_EQUAL(hard, 0);
	CU_ASSERT_PTR_NOT_NULL(sa(n, 0x300));
	struct pkt *p = pkt_alloc(64, 10);
	CU_ASSERT_FALSE(seq_output(n, t, p, 10, &seq_esp, &seq));
	expires(k, &soft, &hard);
	CU_ASSERT_EQUAL(soft, 1);
	CU_ASSERT_EQUAL(hard, 1);
	CU_ASSERT_PTR_NULL(sa(n, 0x300));
	CU_ASSERT_EQUAL(n->stats[STAT_ESP_WRAP], 1);
	CU_ASSERT_EQUAL(n->stats[STAT_IPSEC_EXCTDB], 1);
	CU_ASSERT_EQUAL(n->stats[STAT_ESP_OBYTES], 20);
	sim_free(s);
}

static void test_sequence_exhaustion(void)
{
	exhaust(false);
	exhaust(true);
}

void suite_lifetime(void)
{
	static const struct unit_test t[] = {
	    {"byte limits", test_bytes},
	    {"sequence exhaustion ends the SA", test_sequence_exhaustion},
	    {"acquire rate limit", test_acquire_rate_limit},
	    {"timers follow the SA, not its name", test_timers_follow_the_sa_not_its_name},
	    {"lifetimes past the clock's range", test_lifetime_past_the_clock},
	    {NULL, NULL}};
	unit_add_suite("lifetime", t);
}
