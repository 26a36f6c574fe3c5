/* Whole simulations: no shared state between two of them, and repeatable. */
#include <stdlib.h>
#include <string.h>

#include "../../sim/link.h"
#include "../../sim/rng.h"
#include "../../sim/scenario.h"
#include "unit.h"

struct run {
	struct scenario *sc;
	char *out;
	size_t outlen;
	FILE *f;
};

static void start(struct run *r, const char *file, const char *outdir)
{
	memset(r, 0, sizeof(*r));
	r->f = open_memstream(&r->out, &r->outlen);
	struct scn_options o = {.outdir = outdir, .out = r->f, .err = stderr};
	r->sc = scenario_load(file, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->sc);
}

static int same_counters(struct scenario *x, struct scenario *y)
{
	struct sim *a = x->sim, *b = y->sim;
	if (a->nnodes != b->nnodes || a->nlinks != b->nlinks)
		return 0;
	for (unsigned i = 0; i < a->nnodes; i++)
		if (memcmp(a->nodes[i]->stats, b->nodes[i]->stats, sizeof(a->nodes[i]->stats)))
			return 0;
	for (unsigned i = 0; i < a->nlinks; i++)
		if (memcmp(a->links[i]->stats, b->links[i]->stats, sizeof(a->links[i]->stats)))
			return 0;
	return 1;
}

static void finish(struct run *r)
{
	scenario_free(r->sc);
	fclose(r->f);
	free(r->out);
}

/* Two simulations stepped in turn, 10 ms at a time, end as each does alone. */
static void test_two_sims_interleaved(void)
{
	struct run solo1, solo2, mix1, mix2;
	start(&solo1, "scenarios/lossy-link.scn", "out/unit/solo1");
	start(&solo2, "scenarios/routed-chain.scn", "out/unit/solo2");
	CU_ASSERT_EQUAL(scenario_run(solo1.sc, NULL, NULL), 0);
	CU_ASSERT_EQUAL(scenario_run(solo2.sc, NULL, NULL), 0);

	start(&mix1, "scenarios/lossy-link.scn", "out/unit/mix1");
	start(&mix2, "scenarios/routed-chain.scn", "out/unit/mix2");
	for (uint64_t t = 0; t <= 30 * NS_PER_SEC; t += NS_PER_SEC / 100) {
		sim_run(mix1.sc->sim, t, NULL, NULL);
		sim_run(mix2.sc->sim, t, NULL, NULL);
	}
	CU_ASSERT_TRUE(same_counters(solo1.sc, mix1.sc));
	CU_ASSERT_TRUE(same_counters(solo2.sc, mix2.sc));
	/* And the lossy link really did lose frames: the check has teeth. */
	CU_ASSERT_TRUE(mix1.sc->sim->links[0]->stats[LINK_STAT_LOST] > 0);
	finish(&solo1);
	finish(&solo2);
	finish(&mix1);
	finish(&mix2);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	*len = fread(b, 1, (size_t)n, f);
	fclose(f);
	return b;
}

static void test_same_seed_same_bytes(void)
{
	struct run r1, r2;
	start(&r1, "scenarios/demo.scn", "out/unit/det1");
	scenario_run(r1.sc, NULL, NULL);
	finish(&r1);
	start(&r2, "scenarios/demo.scn", "out/unit/det2");
	scenario_run(r2.sc, NULL, NULL);
	finish(&r2);
	const char *files[] = {"wan1.pcap", "lan2.pcap", "trace.log"};
	for (int i = 0; i < 3; i++) {
		char p1[256], p2[256];
		size_t l1 = 0, l2 = 0;
		snprintf(p1, sizeof(p1), "out/unit/det1/%s", files[i]);
		snprintf(p2, sizeof(p2), "out/unit/det2/%s", files[i]);
		char *b1 = slurp(p1, &l1), *b2 = slurp(p2, &l2);
		CU_ASSERT_PTR_NOT_NULL(b1);
		CU_ASSERT_TRUE(l1 > 1000);
		CU_ASSERT_TRUE(l1 == l2 && b1 && b2 && memcmp(b1, b2, l1) == 0);
		free(b1);
		free(b2);
	}
}

static void test_macs_distinct_and_stable(void)
{
	/* a.eth0 has the same MAC whatever else the scenario holds. */
	struct sim *s1 = sim_new(1), *s2 = sim_new(2);
	struct iface *x = iface_new(sim_add_node(s1, "a"), "eth0");
	sim_add_node(s2, "zz");
	iface_new(s2->nodes[0], "eth0");
	struct iface *y = iface_new(sim_add_node(s2, "a"), "eth0");
	CU_ASSERT_EQUAL(memcmp(x->mac, y->mac, 6), 0);
	CU_ASSERT_EQUAL(x->mac[0], 0x02); /* locally administered, unicast */

	/* A collision is resolved: a's MAC is in use (by another interface, as
	 * the simulation's table of MACs says) before a.eth0 is made. */
	struct sim *s3 = sim_new(3);
	struct iface *squat = iface_new(sim_add_node(s3, "squatter"), "eth0");
	uint8_t taken[6];
	memcpy(taken, x->mac, 6);
	CU_ASSERT_TRUE(hmap_add(&s3->macs, taken, 6, squat));
	struct iface *z = iface_new(sim_add_node(s3, "a"), "eth0");
	CU_ASSERT_NOT_EQUAL(memcmp(z->mac, x->mac, 6), 0);
	CU_ASSERT_EQUAL(z->mac[0], 0x02);

	/* Many interfaces, all distinct. */
	struct sim *s4 = sim_new(4);
	struct node *n = sim_add_node(s4, "big");
	char name[16];
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		iface_new(n, name);
	}
	int dup = 0;
	for (unsigned i = 0; i < n->nifaces; i++)
		for (unsigned j = i + 1; j < n->nifaces; j++)
			dup += memcmp(n->ifaces[i]->mac, n->ifaces[j]->mac, 6) == 0;
	CU_ASSERT_EQUAL(dup, 0);
	sim_free(s1);
	sim_free(s2);
	sim_free(s3);
	sim_free(s4);
}

/* An injected frame can be shorter than an Ethernet header: a switch must
 * drop it (link.runt) rather than learn an address from bytes it lacks; a
 * frame of exactly 14 bytes is still switched. */
static void test_switch_drops_runts(void)
{
	struct sim *s = sim_new(1);
	struct node *a = unit_node(s, "a", "10.0.0.1/24");
	struct node *b = unit_node(s, "b", "10.0.0.2/24");
	struct link *l = link_new(s, "sw", true);
	link_attach(l, a->ifaces[0], &link_params_default);
	link_attach(l, b->ifaces[0], &link_params_default);
	static const uint8_t frame[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
					  0,    0,    0,    0,    9,    0x90, 0x00};
	for (size_t len = 0; len < 14; len++)
		link_send(&l->ports[0], pkt_from(frame, len, PKT_HEADROOM));
	link_send(&l->ports[0], pkt_from(frame, sizeof(frame), PKT_HEADROOM));
	sim_run(s, NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(l->stats[LINK_STAT_RUNT], 14);
	CU_ASSERT_EQUAL(l->stats[LINK_STAT_DELIVERED], 1); /* flooded to b */
	CU_ASSERT_EQUAL(l->nfdb, 1);
	sim_free(s);
}

/* The hash table against a plain array: random adds, removals and
 * lookups over nkeys keys, every key checked after each of the first
 * `checked` steps and at the end; the number of mistakes. */
static unsigned hmap_model(unsigned nkeys, unsigned steps, unsigned checked, unsigned *peak)
{
	enum { NKEYS = 3000 };
	static char keys[NKEYS][12];
	static bool in[NKEYS];
	memset(in, 0, sizeof(in));
	for (unsigned i = 0; i < nkeys; i++)
		snprintf(keys[i], sizeof(keys[i]), "k%u", i);
	struct hmap m = {0};
	struct rng g;
	rng_seed(&g, nkeys, "hmap");
	unsigned n = 0, wrong = 0;
	*peak = 0;
	for (unsigned step = 0; step < steps; step++) {
		unsigned k = (unsigned)rng_below(&g, nkeys);
		if (rng_below(&g, 3) == 0) {
			wrong += hmap_del(&m, keys[k], strlen(keys[k])) != in[k];
			n -= in[k];
			in[k] = false;
		} else {
			wrong += hmap_add_str(&m, keys[k], keys[k]) == in[k];
			n += !in[k];
			in[k] = true;
		}
		if (step < checked || step == steps - 1)
			for (unsigned i = 0; i < nkeys; i++)
				wrong += hmap_get_str(&m, keys[i]) != (in[i] ? keys[i] : NULL);
		wrong += m.n != n || m.cap < 2 * m.n; /* never more than half full */
		*peak = n > *peak ? n : *peak;
	}
	hmap_free(&m);
	return wrong;
}

/* A small table (32 slots) filled with 12 keys drawn from many and
 * emptied in a random order, 4000 times: runs that wrap past the table's
 * end, where removal must pull entries from its front to its back, come up
 * often.  The number of mistakes. */
static unsigned hmap_small_rounds(void)
{
	static char keys[3000][12];
	for (unsigned i = 0; i < 3000; i++)
		snprintf(keys[i], sizeof(keys[i]), "w%u", i);
	struct hmap m = {0};
	struct rng g;
	rng_seed(&g, 1, "hmap-small");
	unsigned wrong = 0;
	for (int round = 0; round < 4000; round++) {
		unsigned pick[12], npick = 0;
		while (npick < 12) {
			unsigned k = (unsigned)rng_below(&g, 3000);
			if (hmap_add_str(&m, keys[k], keys[k]))
				pick[npick++] = k;
		}
		for (unsigned left = npick; left > 0; left--) {
			unsigned i = (unsigned)rng_below(&g, left);
			wrong += !hmap_del(&m, keys[pick[i]], strlen(keys[pick[i]]));
			pick[i] = pick[left - 1];
			for (unsigned j = 0; j + 1 < left; j++)
				wrong += hmap_get_str(&m, keys[pick[j]]) != keys[pick[j]];
		}
		wrong += m.n != 0 || m.cap != 32;
	}
	hmap_free(&m);
	return wrong;
}

static void test_hmap_model(void)
{
	unsigned peak;
	CU_ASSERT_EQUAL(hmap_model(3000, 20000, 1000, &peak), 0);
	CU_ASSERT_TRUE(peak > 1500);
	CU_ASSERT_EQUAL(hmap_small_rounds(), 0);
}

void suite_sim(void)
{
	static const struct unit_test t[] = {
	    {"two simulations interleaved", test_two_sims_interleaved},
	    {"same seed gives the same bytes", test_same_seed_same_bytes},
	    {"MACs distinct and stable", test_macs_distinct_and_stable},
	    {"a switch drops runts", test_switch_drops_runts},
	    {"hash table against a model", test_hmap_model},
	    {NULL, NULL}};
	unit_add_suite("sim", t);
}
