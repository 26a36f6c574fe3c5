/*
 * IPComp's deflate (RFC 2394) and output policy (RFC 3173 2.2): round trips
 * of every kind of payload, OpenBSD's minimum of 90 bytes, the
 * non-expansion rule, and decompression refusing what is not one whole
 * deflate stream or would not fit an IP packet.
 */
#include <CUnit/Basic.h>
#include <string.h>
#include <zlib.h>

#include "../../ipsec/ipcomp.h"
#include "../../ipsec/ipsec_ip.h"
#include "../../ipsec/pfkeyv2.h"
#include "../../ipsec/sad.h"
#include "../../stack/cksum.h"
#include "../../stack/ip4.h"
#include "../../stack/util.h"
#include "unit.h"

static void test_deflate_round_trips(void)
{
	struct tdb t = {0};
	struct rng r;
	rng_seed(&r, 5, "ipcomp");
	static uint8_t in[20000], z[20000 + 64], back[20000];
	unsigned compressed = 0;
	for (int i = 0; i < 200; i++) {
		size_t len = 1 + rng_below(&r, sizeof(in));
		int kind = i % 4;
		for (size_t k = 0; k < len; k++)
			in[k] = kind == 0   ? 0
				: kind == 1 ? (uint8_t)("ipsecsim "[k % 9])
				: kind == 2 ? (uint8_t)(k / 97)
					    : (uint8_t)rng_next(&r);
		size_t zl = ipcomp_deflate(&t, in, len, z, sizeof(z));
		CU_ASSERT_FATAL(zl > 0);
		/* the stream is raw deflate: Python's or anyone's zlib inflates it
		 * with window bits -15, as OpenBSD's decompressor does */
		long bl = ipcomp_inflate(&t, z, zl, back, sizeof(back));
		CU_ASSERT_EQUAL_FATAL(bl, (long)len);
		CU_ASSERT_EQUAL(memcmp(back, in, len), 0);
		if (kind != 3 && len > 200)
			CU_ASSERT(zl < len / 4);
		compressed += zl < len;
		/* the same bytes again: the same stream (stateless, RFC 3173 2.2) */
		uint8_t z2[sizeof(z)];
		CU_ASSERT_EQUAL(ipcomp_deflate(&t, in, len, z2, sizeof(z2)), zl);
		CU_ASSERT_EQUAL(memcmp(z, z2, zl), 0);
	}
	CU_ASSERT(compressed >= 150);
	ipcomp_free(&t);
}

static void test_inflate_refuses(void)
{
	struct tdb t = {0};
	uint8_t in[4000], z[4100], out[8000];
	memset(in, 'x', sizeof(in));
	size_t zl = ipcomp_deflate(&t, in, sizeof(in), z, sizeof(z));
	CU_ASSERT_FATAL(zl > 0);
	/* cut short, or with bytes after the stream's end */
	CU_ASSERT_EQUAL(ipcomp_inflate(&t, z, zl - 1, out, sizeof(out)), -1);
	z[zl] = 0;
	CU_ASSERT_EQUAL(ipcomp_inflate(&t, z, zl + 1, out, sizeof(out)), -1);
	/* more than the room an IP packet leaves: refused, not cut */
	CU_ASSERT_EQUAL(ipcomp_inflate(&t, z, zl, out, sizeof(in) - 1), -1);
	/* a zlib stream (with its header) is not raw deflate */
	uLongf zz = sizeof(z);
	CU_ASSERT_EQUAL_FATAL(compress(z, &zz, in, sizeof(in)), Z_OK);
	CU_ASSERT_EQUAL(ipcomp_inflate(&t, z, zz, out, sizeof(out)), -1);
	/* and the context works again after each refusal */
	zl = ipcomp_deflate(&t, in, sizeof(in), z, sizeof(z));
	CU_ASSERT_EQUAL(ipcomp_inflate(&t, z, zl, out, sizeof(out)), (long)sizeof(in));
	/* a cap too small to hold the compressed stream: not worth it */
	CU_ASSERT_EQUAL(ipcomp_deflate(&t, in, sizeof(in), z, 4), 0);
	ipcomp_free(&t);
}

/* An IPv4 packet of `len` payload bytes, all `fill` or random. */
static struct pkt *packet(size_t len, int fill, struct rng *r)
{
	struct pkt *p = pkt_alloc(PKT_HEADROOM, IP4_HDR_LEN + len);
	struct ip4_hdr h = {.ttl = 64, .proto = 17, .len = (uint16_t)(IP4_HDR_LEN + len)};
	addr_parse("192.0.2.1", &h.src);
	addr_parse("192.0.2.2", &h.dst);
	ip4_emit(p->data, &h);
	for (size_t k = 0; k < len; k++)
		p->data[IP4_HDR_LEN + k] = fill >= 0 ? (uint8_t)fill : (uint8_t)rng_next(r);
	return p;
}

static void test_output_policy(void)
{
	struct sim *s = sim_new(1);
	struct node *n = unit_node(s, "n", "192.0.2.1/24");
	struct tdb t = {.spi = 0x1234, .sproto = IPPROTO_IPCOMP, .encalg = SADB_X_CALG_DEFLATE};
	struct rng r;
	rng_seed(&r, 1, "policy");
	static const struct {
		size_t len;
		int fill;
		bool compressed;
	} rows[] = {
	    {89, 0, false},  /* under OpenBSD's minimum of 90 */
	    {90, 0, true},   /* at it, and compressible */
	    {1000, 'a', true},
	    {90, -1, false}, /* random: would not shrink */
	    {1400, -1, false},
	};
	uint64_t minlen = 0, output = 0;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct pkt *p = packet(rows[i].len, rows[i].fill, &r);
		uint8_t before[1500];
		memcpy(before, p->data, p->len);
		size_t len = p->len;
		CU_ASSERT_EQUAL_FATAL(ipcomp_output(n, &t, p), 0);
		if (rows[i].compressed) {
			if (p->data[9] != IPPROTO_IPCOMP) {
				/* not compressed: inflating it would drop (free) it */
				CU_FAIL("a row that should be compressed was not");
				pkt_free(p);
				continue;
			}
			CU_ASSERT_EQUAL(p->data[IP4_HDR_LEN], 17); /* the next header kept */
			CU_ASSERT_EQUAL(p->data[IP4_HDR_LEN + 1], 0);
			CU_ASSERT_EQUAL(get_be16(p->data + IP4_HDR_LEN + 2), 0x1234);
			CU_ASSERT(p->len < len);
			CU_ASSERT_EQUAL(get_be16(p->data + 2), p->len);
			CU_ASSERT_EQUAL(in_cksum(p->data, IP4_HDR_LEN), 0);
			/* and back */
			struct ipsec_ip ip = {.af = ADDR_V4, .skip = IP4_HDR_LEN, .protoff = 9};
			CU_ASSERT_EQUAL(ipcomp_input(n, &t, p, &ip), 17);
			CU_ASSERT_EQUAL(p->len, len);
			p->ipsec_flags = 0;
		}
		/* unchanged either way once back: every byte */
		CU_ASSERT_EQUAL(p->len, len);
		CU_ASSERT_EQUAL(memcmp(p->data, before, len), 0);
		minlen += !rows[i].compressed;
		output += rows[i].len >= 90;
		pkt_free(p);
	}
	CU_ASSERT_EQUAL(n->stats[STAT_IPCOMP_MINLEN], minlen);
	CU_ASSERT_EQUAL(n->stats[STAT_IPCOMP_OUTPUT], output);
	/* IPComp inside IPComp is refused */
	struct pkt *p = packet(500, 'b', &r);
	CU_ASSERT_EQUAL_FATAL(ipcomp_output(n, &t, p), 0);
	p->ipsec_flags = PKT_M_COMP;
	struct ipsec_ip ip = {.af = ADDR_V4, .skip = IP4_HDR_LEN, .protoff = 9};
	CU_ASSERT_EQUAL(ipcomp_input(n, &t, p, &ip), -1);
	CU_ASSERT_EQUAL(n->stats[STAT_IPCOMP_PDROPS], 1);
	/* a damaged stream: ipcomp.crypto */
	p = packet(500, 'c', &r);
	CU_ASSERT_EQUAL_FATAL(ipcomp_output(n, &t, p), 0);
	p->data[p->len - 3] ^= 0xff;
	CU_ASSERT_EQUAL(ipcomp_input(n, &t, p, &ip), -1);
	CU_ASSERT_EQUAL(n->stats[STAT_IPCOMP_CRYPTO], 1);
	ipcomp_free(&t);
	sim_free(s);
}

void suite_ipcomp(void)
{
	static const struct unit_test t[] = {{"deflate round trips", test_deflate_round_trips},
					     {"inflate refuses", test_inflate_refuses},
					     {"output policy", test_output_policy},
					     {NULL, NULL}};
	unit_add_suite("ipcomp", t);
}
