/* PRNG streams: reproducible, independent per name, unbiased enough. */
#include "../../ipsec/pfkey.h"
#include "../../sim/link.h"
#include "../../sim/rng.h"
#include "unit.h"

static void test_same_seed_same_stream(void)
{
	struct rng a, b;
	rng_seed(&a, 42, "node/a");
	rng_seed(&b, 42, "node/a");
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(rng_next(&a), rng_next(&b));
}

static void test_names_and_seeds_give_different_streams(void)
{
	struct rng a, b, c;
	rng_seed(&a, 42, "node/a");
	rng_seed(&b, 42, "node/b");
	rng_seed(&c, 43, "node/a");
	uint64_t x = rng_next(&a);
	CU_ASSERT_NOT_EQUAL(x, rng_next(&b));
	CU_ASSERT_NOT_EQUAL(x, rng_next(&c));
}

/* Adding a node must not change another node's draws: a node's stream comes
 * from the seed and its own name only. */
static void test_adding_a_node_leaves_others_alone(void)
{
	struct sim *s1 = sim_new(7), *s2 = sim_new(7);
	struct node *a1 = sim_add_node(s1, "a");
	sim_add_node(s2, "zzz");
	sim_add_node(s2, "other");
	struct node *a2 = sim_add_node(s2, "a");
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(rng_next(&a1->rng), rng_next(&a2->rng));
	sim_free(s1);
	sim_free(s2);
}

/* Two nodes of one simulation draw from different streams, for the stack
 * and for IPsec (IVs): the stream's name carries the node's. */
static void test_nodes_have_their_own_streams(void)
{
	struct sim *s = sim_new(7);
	struct node *a = sim_add_node(s, "a"), *b = sim_add_node(s, "b");
	CU_ASSERT_NOT_EQUAL(rng_next(&a->rng), rng_next(&b->rng));
	CU_ASSERT_NOT_EQUAL(rng_next(&ipsec_state(a)->rng), rng_next(&ipsec_state(b)->rng));
	sim_free(s);
}

static void test_link_ports_have_their_own_streams(void)
{
	struct sim *s = sim_new(3);
	struct node *a, *b;
	unit_pair(s, &a, &b, 0);
	struct link *l = s->links[0];
	CU_ASSERT_NOT_EQUAL(rng_next(&l->ports[0].rng), rng_next(&l->ports[1].rng));
	sim_free(s);
}

static void test_below_stays_in_range(void)
{
	struct rng g;
	rng_seed(&g, 1, "below");
	unsigned hist[7] = {0};
	for (int i = 0; i < 70000; i++) {
		uint64_t v = rng_below(&g, 7);
		CU_ASSERT_FATAL(v < 7);
		hist[v]++;
	}
	/* Each bucket expects 10000; 5 sigma is about 460. */
	for (int i = 0; i < 7; i++)
		CU_ASSERT(hist[i] > 9500 && hist[i] < 10500);
}

static void test_chance_matches_probability(void)
{
	/* Rows: probability in ppb -> expected hits in 1e6 draws, +-5 sigma. */
	static const struct {
		uint32_t ppb;
		unsigned lo, hi;
	} rows[] = {
	    {0, 0, 0},                       /* never, and draws nothing */
	    {RNG_PPB_ONE, 1000000, 1000000}, /* always */
	    {100000000, 98500, 101500},      /* 10% */
	    {5000000, 4650, 5350},           /* 0.5% */
	};
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct rng g;
		rng_seed(&g, 99, "chance");
		unsigned hits = 0;
		for (int i = 0; i < 1000000; i++)
			hits += rng_chance(&g, rows[r].ppb);
		CU_ASSERT(hits >= rows[r].lo && hits <= rows[r].hi);
	}
	/* Probability 0 consumes no draw: the stream is untouched. */
	struct rng g, h;
	rng_seed(&g, 5, "x");
	rng_seed(&h, 5, "x");
	rng_chance(&g, 0);
	CU_ASSERT_EQUAL(rng_next(&g), rng_next(&h));
}

void suite_rng(void)
{
	static const struct unit_test t[] = {
	    {"same seed, same stream", test_same_seed_same_stream},
	    {"names and seeds differ", test_names_and_seeds_give_different_streams},
	    {"adding a node leaves others alone", test_adding_a_node_leaves_others_alone},
	    {"nodes have their own streams", test_nodes_have_their_own_streams},
	    {"link ports have their own streams", test_link_ports_have_their_own_streams},
	    {"rng_below stays in range, uniform", test_below_stays_in_range},
	    {"rng_chance matches probability", test_chance_matches_probability},
	    {NULL, NULL}};
	unit_add_suite("rng", t);
}
