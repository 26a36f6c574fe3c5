/*
 * make bench: SPD lookups per second with 10, 1,000 and 100,000 flows, and
 * SAD lookups per second with 1,000,000 SAs.  Reports; asserts nothing.
 * The flows mix shapes as a real configuration does: host-to-host pairs,
 * net-to-net tunnels, port-specific bypasses and a default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../../ipsec/pfkeyv2.h"
#include "../../ipsec/sad.h"
#include "../../ipsec/spd.h"
#include "../../sim/rng.h"
#include "../../stack/mem.h"
#include "../../stack/util.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct ipaddr v4(uint32_t x)
{
	uint8_t b[4];
	put_be32(b, x);
	return addr_v4(b);
}

static void add_flow(struct spd *spd, uint32_t src, unsigned sp, uint32_t dst, unsigned dp,
		     uint8_t proto, uint16_t dport)
{
	struct spd_flow *f = xcalloc(1, sizeof(*f));
	f->sel.dir = IPSP_DIRECTION_OUT;
	f->sel.src = v4(src);
	f->sel.dst = v4(dst);
	f->sel.proto = proto;
	f->sel.dport = dport;
	f->mask = (struct spd_mask){(uint8_t)sp, (uint8_t)dp, proto != 0, false, dport != 0};
	spd_sel_apply(&f->sel, &f->mask);
	if (spd_find(spd, &f->sel, &f->mask))
		spd_flow_free(f);
	else
		spd_insert(spd, f);
}

/* The most specific flow by a scan of all of them: what spd_lookup must
 * find, by the order spd.h states. */
static const struct spd_flow *linear_lookup(const struct spd *spd, const struct spd_sel *pkt)
{
	const struct spd_flow *best = NULL;
	for (const struct spd_flow *f = spd->head; f; f = f->next) {
		struct spd_sel s = *pkt;
		spd_sel_apply(&s, &f->mask);
		if (s.dir != f->sel.dir || s.proto != f->sel.proto || s.sport != f->sel.sport ||
		    s.dport != f->sel.dport || !addr_eq(&s.src, &f->sel.src) ||
		    !addr_eq(&s.dst, &f->sel.dst))
			continue;
		const struct spd_mask *a = &f->mask, *b = best ? &best->mask : NULL;
		if (!b || a->src_plen > b->src_plen ||
		    (a->src_plen == b->src_plen &&
		     (a->dst_plen > b->dst_plen ||
		      (a->dst_plen == b->dst_plen &&
		       (a->proto > b->proto ||
			(a->proto == b->proto &&
			 (a->sport > b->sport || (a->sport == b->sport && a->dport > b->dport))))))))
			best = f;
	}
	return best;
}

static void bench_spd(size_t nflows)
{
	struct spd spd = {0};
	struct rng g;
	rng_seed(&g, 1, "bench-spd");
	add_flow(&spd, 0, 0, 0, 0, 0, 0); /* default */
	for (size_t i = 0; spd.count < nflows; i++) {
		switch (i % 4) {
		case 0: /* host to host */
		case 1:
			add_flow(&spd, 0x0a000000 | (uint32_t)rng_below(&g, 1 << 24), 32,
				 0xac100000 | (uint32_t)rng_below(&g, 1 << 20), 32, 0, 0);
			break;
		case 2: /* net to net */
			add_flow(&spd, 0x0a000000 | (uint32_t)rng_below(&g, 1 << 16) << 8, 24,
				 0xc0a80000 | (uint32_t)rng_below(&g, 256) << 8, 24, 0, 0);
			break;
		default: /* a service bypass */
			add_flow(&spd, 0x0a000000 | (uint32_t)rng_below(&g, 1 << 16) << 8, 24, 0, 0,
				 17, (uint16_t)(1 + rng_below(&g, 1024)));
			break;
		}
	}
	const struct spd_flow **flows = xcalloc(spd.count, sizeof(*flows));
	size_t nf = 0;
	for (const struct spd_flow *f = spd.head; f; f = f->next)
		flows[nf++] = f;
	/* Half the packets fall inside a random flow (any host bits, its port
	 * when it has one), the other half anywhere in the flows' space. */
	enum { NPKT = 1 << 16 };
	struct spd_sel *pkts = xcalloc(NPKT, sizeof(*pkts));
	for (size_t i = 0; i < NPKT; i++) {
		struct spd_sel *p = &pkts[i];
		p->dir = IPSP_DIRECTION_OUT;
		p->proto = 17;
		p->sport = 5000;
		p->dport = (uint16_t)(1 + rng_below(&g, 1024));
		if (i % 2) {
			const struct spd_flow *f = flows[rng_below(&g, nf)];
			uint32_t sh = 32 - f->mask.src_plen, dh = 32 - f->mask.dst_plen;
			p->src = v4(get_be32(f->sel.src.a) |
				    (sh ? (uint32_t)rng_below(&g, 1ULL << sh) : 0));
			p->dst = v4(get_be32(f->sel.dst.a) |
				    (dh ? (uint32_t)rng_below(&g, 1ULL << dh) : 0));
			if (f->mask.dport)
				p->dport = f->sel.dport;
		} else {
			p->src = v4(0x0a000000 | (uint32_t)rng_below(&g, 1 << 24));
			p->dst = v4(i % 4 ? 0xac100000 | (uint32_t)rng_below(&g, 1 << 20)
					  : 0xc0a80000 | (uint32_t)rng_below(&g, 1 << 16));
		}
	}
	size_t agree = 0;
	enum { NCHECK = 500 };
	for (size_t i = 0; i < NCHECK; i++)
		agree += spd_lookup(&spd, &pkts[i]) == linear_lookup(&spd, &pkts[i]);
	size_t specific = 0, n = 0;
	double t0 = now_s(), t;
	do {
		for (size_t i = 0; i < NPKT; i++)
			specific += spd_lookup(&spd, &pkts[i])->mask.src_plen != 0;
		n += NPKT;
		t = now_s();
	} while (t - t0 < 0.5);
	printf("bench: SPD %7zu flows (%zu shapes): %6.2f M lookups/s, %2.0f%% not the default; %zu "
	       "of %d agree with a linear scan\n",
	       spd.count, spd.nclasses, (double)n / (t - t0) / 1e6, 100.0 * (double)specific / (double)n,
	       agree, NCHECK);
	free(flows);
	spd_flush(&spd);
	free(pkts);
}

static void bench_sad(size_t nsas)
{
	struct sad sad = {0};
	struct rng g;
	rng_seed(&g, 1, "bench-sad");
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	double t0 = now_s();
	for (size_t i = 0; i < nsas; i++) {
		struct tdb *t = xcalloc(1, sizeof(*t));
		t->dst = v4(0xc0000200 + (uint32_t)(i % 251));
		t->spi = 256 + (uint32_t)i;
		t->sproto = IPPROTO_ESP;
		sad_insert(&sad, t);
	}
	double built = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	struct mem_use tdb = {0}, xf = {0};
	sad_memory(&sad, &tdb, &xf);
	enum { NKEY = 1 << 16 };
	uint32_t *spis = xcalloc(NKEY, sizeof(*spis));
	for (size_t i = 0; i < NKEY; i++)
		spis[i] = 256 + (uint32_t)rng_below(&g, nsas);
	size_t found = 0, n = 0;
	double t;
	t0 = now_s();
	do {
		for (size_t i = 0; i < NKEY; i++) {
			uint32_t spi = spis[i];
			struct ipaddr d = v4(0xc0000200 + (spi - 256) % 251);
			found += sad_lookup(&sad, &d, spi, IPPROTO_ESP) != NULL;
		}
		n += NKEY;
		t = now_s();
	} while (t - t0 < 0.5);
	printf("bench: SAD %zu SAs (%zu slots, built in %.2f s): %6.2f M lookups/s, %s\n", nsas,
	       sad.cap, built, (double)n / (t - t0) / 1e6,
	       found == n ? "all found" : "MISSES");
	printf("bench: SAD memory: %.0f bytes an SA as show NODE memory counts them (no keys "
	       "here), peak RSS grew %.0f bytes an SA\n",
	       (double)tdb.bytes / (double)nsas,
	       (double)(ru1.ru_maxrss - ru0.ru_maxrss) * 1024 / (double)nsas);
	sad_flush(&sad, SADB_SATYPE_UNSPEC);
	free(spis);
}

int main(void)
{
	bench_spd(10);
	bench_spd(1000);
	bench_spd(100000);
	bench_sad(1000000);
	return 0;
}
