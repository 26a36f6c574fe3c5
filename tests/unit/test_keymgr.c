/* The scripted key manager: what it installs on both ends, when, and what
 * it does when an SA of a pair expires or is deleted by someone else. */
#include <CUnit/Basic.h>
#include <string.h>

#include "../../ipsec/acquire.h"
#include "../../ipsec/pfkey.h"
#include "../../ipsec/pfkey_msg.h"
#include "../../ipsec/sad.h"
#include "../../ipsec/spd.h"
#include "../../sim/keymgr.h"
#include "unit.h"

#define MS (NS_PER_SEC / 1000)

struct bench {
	struct sim *s;
	struct node *a, *b;
	struct ipaddr aa, ba; /* 10.0.0.1, 10.0.0.2 */
	struct km_world *w;
	struct keymgr *ka, *kb;
};

/* Two nodes whose key managers answer after 50 ms, a with row ra for b,
 * b with row rb for a. */
static void setup_rows(struct bench *t, uint64_t seed, struct km_rule ra, struct km_rule rb)
{
	t->s = sim_new(seed);
	unit_pair(t->s, &t->a, &t->b, MS);
	addr_parse("10.0.0.1", &t->aa);
	addr_parse("10.0.0.2", &t->ba);
	t->w = km_world_new(t->s);
	t->ka = km_get(t->w, t->a);
	t->kb = km_get(t->w, t->b);
	km_set_delay(t->ka, 50 * MS);
	km_set_delay(t->kb, 50 * MS);
	ra.peer_node = t->b;
	rb.peer_node = t->a;
	km_add_rule(t->ka, &ra);
	km_add_rule(t->kb, &rb);
}

/* The same row on both; a asks for its inbound SPIs from 0x1000, b from
 * 0x2000. */
static void setup(struct bench *t, uint64_t seed, const struct km_rule *proto)
{
	struct km_rule ra = *proto, rb = *proto;
	ra.spi = 0x1000;
	rb.spi = 0x2000;
	setup_rows(t, seed, ra, rb);
}

static void teardown(struct bench *t)
{
	sim_free(t->s);
	km_world_free(t->w);
}

static const struct km_rule esp_rule = {.satype = SADB_SATYPE_ESP,
					.transport = true,
					.enc = SADB_X_EALG_AES,
					.auth = SADB_X_AALG_SHA2_256};

/* What a's require flow to dst does when it finds no SA. */
static void acquire_to(struct bench *t, const struct ipaddr *dst)
{
	struct spd_flow f = {.type = IPSP_IPSEC_REQUIRE, .sproto = IPPROTO_ESP};
	f.sel.dir = IPSP_DIRECTION_OUT;
	f.sel.src = t->aa;
	f.sel.dst = *dst;
	f.mask.src_plen = f.mask.dst_plen = 32;
	CU_ASSERT_EQUAL(acquire_sa(t->a, &f, dst), ACQUIRE_SENT);
}

static void acquire(struct bench *t)
{
	acquire_to(t, &t->ba);
}

static struct tdb *sa(struct node *n, const struct ipaddr *dst, uint32_t spi, uint8_t proto)
{
	return n->ipsec ? sad_lookup(&n->ipsec->sad, dst, spi, proto) : NULL;
}

static size_t sas(struct node *n)
{
	return n->ipsec ? n->ipsec->sad.count : 0;
}

/* Both copies of an SA hold the same keys and algorithms. */
static void same_sa(const struct tdb *x, const struct tdb *y)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(x->encalg, y->encalg);
	CU_ASSERT_EQUAL(x->authalg, y->authalg);
	CU_ASSERT_EQUAL(x->enckeylen, y->enckeylen);
	CU_ASSERT_EQUAL(x->authkeylen, y->authkeylen);
	if (x->enckeylen)
		CU_ASSERT_EQUAL(memcmp(x->enckey, y->enckey, x->enckeylen), 0);
	if (x->authkeylen)
		CU_ASSERT_EQUAL(memcmp(x->authkey, y->authkey, x->authkeylen), 0);
	CU_ASSERT_EQUAL(x->flags & TDBF_INVALID, 0);
	CU_ASSERT_EQUAL(y->flags & TDBF_INVALID, 0);
}

static void test_acquire_keys_both_ends(void)
{
	struct bench t;
	setup(&t, 1, &esp_rule);
	acquire(&t);
	CU_ASSERT_EQUAL(km_stats(t.ka)->acquires, 1);
	sim_run(t.s, 49 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(sas(t.a) + sas(t.b), 0); /* not before the delay */
	sim_run(t.s, 50 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(sas(t.a), 2);
	CU_ASSERT_EQUAL(sas(t.b), 2);
	struct tdb *out_a = sa(t.a, &t.ba, 0x2000, IPPROTO_ESP);
	struct tdb *in_a = sa(t.a, &t.aa, 0x1000, IPPROTO_ESP);
	same_sa(out_a, sa(t.b, &t.ba, 0x2000, IPPROTO_ESP));
	same_sa(in_a, sa(t.b, &t.aa, 0x1000, IPPROTO_ESP));
	/* Each direction has its own keys, of the algorithms' sizes. */
	CU_ASSERT_EQUAL(out_a->enckeylen, 16);
	CU_ASSERT_EQUAL(out_a->authkeylen, 32);
	CU_ASSERT_NOT_EQUAL(memcmp(out_a->enckey, in_a->enckey, 16), 0);
	CU_ASSERT_EQUAL(out_a->wnd, 64);
	CU_ASSERT_EQUAL(out_a->flags & TDBF_TUNNELING, 0); /* transport */
	CU_ASSERT_EQUAL(km_stats(t.ka)->negotiations, 1);
	CU_ASSERT_EQUAL(km_stats(t.kb)->negotiations, 0);
	CU_ASSERT_EQUAL(km_stats(t.ka)->failures, 0);

	/* The same seed keys the same; another seed does not. */
	uint8_t key[16];
	memcpy(key, out_a->enckey, sizeof(key));
	teardown(&t);
	setup(&t, 1, &esp_rule);
	acquire(&t);
	sim_run(t.s, 50 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(memcmp(sa(t.a, &t.ba, 0x2000, IPPROTO_ESP)->enckey, key, 16), 0);
	teardown(&t);
	setup(&t, 2, &esp_rule);
	acquire(&t);
	sim_run(t.s, 50 * MS, NULL, NULL);
	CU_ASSERT_NOT_EQUAL(memcmp(sa(t.a, &t.ba, 0x2000, IPPROTO_ESP)->enckey, key, 16), 0);
	teardown(&t);
}

/* Soft expiry: a new pair at once (after the delay), the old one kept to
 * its hard lifetime and then deleted on both ends. */
static void test_soft_expiry_rekeys(void)
{
	struct km_rule r = esp_rule;
	r.soft.addtime = 5;
	r.hard.addtime = 8;
	struct bench t;
	setup(&t, 1, &r);
	acquire(&t);
	sim_run(t.s, 50 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(sas(t.a), 2);
	sim_run(t.s, 5099 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(sas(t.a), 2);
	sim_run(t.s, 5100 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(sas(t.a), 4);
	CU_ASSERT_EQUAL(sas(t.b), 4);
	same_sa(sa(t.a, &t.ba, 0x2001, IPPROTO_ESP), sa(t.b, &t.ba, 0x2001, IPPROTO_ESP));
	same_sa(sa(t.a, &t.aa, 0x1001, IPPROTO_ESP), sa(t.b, &t.aa, 0x1001, IPPROTO_ESP));
	/* Both ends saw two soft expiries each; one rekey between them. */
	CU_ASSERT_EQUAL(km_stats(t.ka)->rekeys + km_stats(t.kb)->rekeys, 1);
	sim_run(t.s, 8100 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(sas(t.a), 2);
	CU_ASSERT_EQUAL(sas(t.b), 2);
	CU_ASSERT_PTR_NULL(sa(t.b, &t.ba, 0x2000, IPPROTO_ESP));
	CU_ASSERT_PTR_NOT_NULL(sa(t.b, &t.ba, 0x2001, IPPROTO_ESP));
	CU_ASSERT_EQUAL(km_stats(t.ka)->deletes, 1);
	CU_ASSERT_EQUAL(km_stats(t.kb)->deletes, 1);
	teardown(&t);
}

/* Retire 0: the old pair goes the moment the new one is keyed. */
static void test_retire(void)
{
	struct km_rule r = esp_rule;
	r.soft.addtime = 5;
	struct bench t;
	setup(&t, 1, &r);
	km_set_retire(t.ka, 0);
	km_set_retire(t.kb, 0);
	acquire(&t);
	sim_run(t.s, 5100 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(sas(t.a), 2);
	CU_ASSERT_EQUAL(sas(t.b), 2);
	CU_ASSERT_PTR_NOT_NULL(sa(t.a, &t.ba, 0x2001, IPPROTO_ESP));
	CU_ASSERT_PTR_NULL(sa(t.a, &t.ba, 0x2000, IPPROTO_ESP));
	teardown(&t);
}

static void delete_on(struct node *n, const struct ipaddr *dst, uint32_t spi)
{
	struct pfkey_sock *s = pfkey_open(n);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_DELETE, SADB_SATYPE_ESP, 1, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), 0);
	pfkey_close(s);
}

/* Someone else deletes one SA: the rest of the pair goes on both ends and
 * a new pair is keyed. */
static void test_delete_by_another(void)
{
	struct bench t;
	setup(&t, 1, &esp_rule);
	acquire(&t);
	sim_run(t.s, 50 * MS, NULL, NULL);
	delete_on(t.b, &t.ba, 0x2000);
	CU_ASSERT_EQUAL(sas(t.b), 1);
	sim_run(t.s, 99 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(sas(t.a), 2); /* not yet */
	sim_run(t.s, 100 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(sas(t.a), 2);
	CU_ASSERT_EQUAL(sas(t.b), 2);
	CU_ASSERT_PTR_NULL(sa(t.a, &t.ba, 0x2000, IPPROTO_ESP));
	CU_ASSERT_PTR_NULL(sa(t.a, &t.aa, 0x1000, IPPROTO_ESP));
	/* b keyed this one, so b's SPI range comes first. */
	same_sa(sa(t.a, &t.aa, 0x1001, IPPROTO_ESP), sa(t.b, &t.aa, 0x1001, IPPROTO_ESP));
	same_sa(sa(t.a, &t.ba, 0x2001, IPPROTO_ESP), sa(t.b, &t.ba, 0x2001, IPPROTO_ESP));
	CU_ASSERT_EQUAL(km_stats(t.kb)->negotiations, 1);
	CU_ASSERT_EQUAL(km_stats(t.ka)->deletes, 1);
	teardown(&t);
}

/* The acquire was answered with a failure: nothing keyed, nothing left
 * behind on either end. */
static void keyed_nothing(struct bench *t)
{
	sim_run(t->s, 50 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(km_stats(t->ka)->failures, 1);
	CU_ASSERT_EQUAL(km_stats(t->ka)->negotiations, 0);
	CU_ASSERT_EQUAL(sas(t->a) + sas(t->b), 0);
	teardown(t);
}

/* Rows that disagree key nothing, and say so. */
static void test_mismatch_fails(void)
{
	struct km_rule rb = esp_rule;
	rb.enc = SADB_EALG_3DESCBC;
	struct bench t;
	setup_rows(&t, 1, esp_rule, rb);
	acquire(&t);
	keyed_nothing(&t);
	/* and a peer without a key manager */
	setup(&t, 1, &esp_rule);
	struct km_rule r = esp_rule;
	addr_parse("10.0.0.9", &r.peer);
	km_add_rule(t.ka, &r);
	acquire_to(&t, &r.peer);
	keyed_nothing(&t);
	/* and keys the kernel refuses (the parser would have): what GETSPI
	 * made is deleted on both ends */
	struct km_rule bad = esp_rule;
	bad.fixed_keys = true;
	bad.enckeylen = 20; /* AES-CBC takes 16, 24 or 32 */
	bad.authkeylen = 32;
	setup(&t, 1, &bad);
	acquire(&t);
	keyed_nothing(&t);
}

/* AH pairs: no cipher, the HMAC key alone; tunnel mode flagged. */
static void test_ah_tunnel(void)
{
	struct km_rule r = {.satype = SADB_SATYPE_AH, .auth = SADB_X_AALG_SHA2_512};
	struct bench t;
	setup(&t, 1, &r);
	struct spd_flow f = {.type = IPSP_IPSEC_REQUIRE, .sproto = IPPROTO_AH};
	f.sel.dir = IPSP_DIRECTION_OUT;
	addr_parse("10.1.0.0", &f.sel.src);
	addr_parse("10.2.0.0", &f.sel.dst);
	f.mask.src_plen = f.mask.dst_plen = 16;
	CU_ASSERT_EQUAL(acquire_sa(t.a, &f, &t.ba), ACQUIRE_SENT);
	sim_run(t.s, 50 * MS, NULL, NULL);
	struct tdb *x = sa(t.a, &t.ba, 0x2000, IPPROTO_AH);
	same_sa(x, sa(t.b, &t.ba, 0x2000, IPPROTO_AH));
	CU_ASSERT_EQUAL(x->authkeylen, 64);
	CU_ASSERT_EQUAL(x->enckeylen, 0);
	CU_ASSERT_NOT_EQUAL(x->flags & TDBF_TUNNELING, 0);
	teardown(&t);
}

/* AEAD ciphers: one key with its salt, the kernel picks the GMAC. */
static void test_aead(void)
{
	static const struct {
		uint8_t enc;
		unsigned keylen;
		uint8_t auth;
	} rows[] = {{SADB_X_EALG_AESGCM16, 20, SADB_X_AALG_AES128GMAC},
		    {SADB_X_EALG_CHACHA20POLY1305, 36, SADB_X_AALG_CHACHA20POLY1305}};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct km_rule r = esp_rule;
		r.enc = rows[i].enc;
		struct bench t;
		setup(&t, 1, &r);
		acquire(&t);
		sim_run(t.s, 50 * MS, NULL, NULL);
		struct tdb *x = sa(t.a, &t.ba, 0x2000, IPPROTO_ESP);
		same_sa(x, sa(t.b, &t.ba, 0x2000, IPPROTO_ESP));
		CU_ASSERT_EQUAL(x->enckeylen, rows[i].keylen);
		CU_ASSERT_EQUAL(x->authalg, rows[i].auth);
		CU_ASSERT_EQUAL(x->authkeylen, 0);
		teardown(&t);
	}
}

/* An ESN row: both copies of each SA have extended sequence numbers and
 * a replay window, which ESN needs. */
static void test_esn(void)
{
	struct km_rule r = esp_rule;
	r.esn = true;
	struct bench t;
	setup(&t, 1, &r);
	acquire(&t);
	sim_run(t.s, 50 * MS, NULL, NULL);
	const struct tdb *x[4] = {
	    sa(t.a, &t.ba, 0x2000, IPPROTO_ESP), sa(t.b, &t.ba, 0x2000, IPPROTO_ESP),
	    sa(t.a, &t.aa, 0x1000, IPPROTO_ESP), sa(t.b, &t.aa, 0x1000, IPPROTO_ESP)};
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(x[i]);
		CU_ASSERT_NOT_EQUAL(x[i]->flags & TDBF_ESN, 0);
		CU_ASSERT_EQUAL(x[i]->wnd, 64);
	}
	teardown(&t);
}

/* Fixed keys are used as given, in both directions; the first sequence
 * number is the row's, and the inbound copy expects it next. */
static void test_fixed_keys_and_seq(void)
{
	struct km_rule r = esp_rule;
	r.fixed_keys = true;
	r.enckeylen = 16;
	r.authkeylen = 32;
	memset(r.enckey, 0xab, 16);
	memset(r.authkey, 0xcd, 32);
	r.seq = 0xfffffff0;
	struct bench t;
	setup(&t, 1, &r);
	acquire(&t);
	sim_run(t.s, 50 * MS, NULL, NULL);
	struct tdb *out = sa(t.a, &t.ba, 0x2000, IPPROTO_ESP);
	struct tdb *in = sa(t.b, &t.ba, 0x2000, IPPROTO_ESP);
	same_sa(out, in);
	uint8_t want[16];
	memset(want, 0xab, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(out->enckey, want, 16), 0);
	CU_ASSERT_EQUAL(out->replay.rpl, 0xfffffff0);
	CU_ASSERT_EQUAL(in->replay.rpl, 0xffffffef);
	teardown(&t);
}

void suite_keymgr(void)
{
	static const struct unit_test t[] = {
	    {"acquire keys both ends", test_acquire_keys_both_ends},
	    {"soft expiry rekeys, hard deletes the old pair", test_soft_expiry_rekeys},
	    {"retire 0 deletes the old pair at once", test_retire},
	    {"a delete by another replaces the pair", test_delete_by_another},
	    {"rows that disagree key nothing", test_mismatch_fails},
	    {"AH tunnel pairs", test_ah_tunnel},
	    {"AEAD pairs", test_aead},
	    {"ESN pairs", test_esn},
	    {"fixed keys and first sequence number", test_fixed_keys_and_seq},
	    {NULL, NULL},
	};
	unit_add_suite("keymgr", t);
}
