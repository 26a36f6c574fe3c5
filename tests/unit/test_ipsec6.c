/*
 * IPsec over IPv6: where ESP and AH go among the extension headers, AH's
 * ICV over the IPv6 header and the extension headers in front of it
 * (computed here by hand with OpenSSL), AH's 8-byte alignment, and mangled
 * ESP and AH packets behind extension headers through ip6_input.
 */
#include <CUnit/Basic.h>
#include <openssl/evp.h>
#include <string.h>

#include "../../ipsec/ah.h"
#include "../../ipsec/esp.h"
#include "../../ipsec/ipsec_ip.h"
#include "../../ipsec/pfkey.h"
#include "../../ipsec/pfkey_msg.h"
#include "../../ipsec/sad.h"
#include "../../stack/ip4.h"
#include "../../stack/ip6.h"
#include "../../stack/util.h"
#include "unit.h"

#define SRC6 "2001:db8::1"
#define DST6 "2001:db8::2"

/* A fixed header from SRC6 to DST6 with traffic class 0xb8, flow label
 * 0x12345 and hop limit 64; plen and nxt as given. */
static void hdr6(uint8_t *b, uint16_t plen, uint8_t nxt)
{
	struct ip6_hdr h = {.tclass = 0xb8, .flow = 0x12345, .plen = plen, .nxt = nxt, .hlim = 64};
	addr_parse(SRC6, &h.src);
	addr_parse(DST6, &h.dst);
	ip6_emit(b, &h);
}

/* An 8-byte options header: nxt, length 0, then the bytes given. */
static size_t opts8(uint8_t *b, uint8_t nxt, const uint8_t six[6])
{
	b[0] = nxt;
	b[1] = 0;
	memcpy(b + 2, six, 6);
	return 8;
}

static void test_placement(void)
{
	static const uint8_t padn[6] = {1, 4, 0, 0, 0, 0};
	struct {
		const char *what;
		uint8_t chain[4]; /* extension headers in order, 0xff ends */
		size_t skip, protoff;
	} rows[] = {
	    {"none", {0xff}, 40, 6},
	    {"hop-by-hop", {IPPROTO_HOPOPTS, 0xff}, 48, 40},
	    {"destination options alone stay behind (dest2)", {IPPROTO_DSTOPTS, 0xff}, 40, 6},
	    /* a routing header with one address is 24 bytes */
	    {"hbh, dest1, routing",
	     {IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, 0xff},
	     80,
	     56},
	    {"routing, then dest2 behind", {IPPROTO_ROUTING, IPPROTO_DSTOPTS, 0xff}, 64, 40},
	    {"a fragment header ends the walk", {IPPROTO_HOPOPTS, IPPROTO_FRAGMENT, 0xff}, 48, 40},
	};
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		uint8_t b[200];
		size_t off = 40;
		unsigned n = 0;
		while (rows[r].chain[n] != 0xff)
			n++;
		uint8_t first = n ? rows[r].chain[0] : IPPROTO_UDP;
		for (unsigned i = 0; i < n; i++) {
			uint8_t next = i + 1 < n ? rows[r].chain[i + 1] : IPPROTO_UDP;
			if (rows[r].chain[i] == IPPROTO_ROUTING) {
				struct ipaddr hop;
				addr_parse("2001:db8:9::1", &hop);
				off +=
				    ip6_rthdr_emit(b + off, sizeof(b) - off, next, 0, 0, &hop, 1);
			} else {
				off += opts8(b + off, next, padn); /* a fragment header too */
			}
		}
		memset(b + off, 0x33, 16);
		hdr6(b, (uint16_t)(off + 16 - 40), first);
		struct ipsec_ip ip;
		CU_ASSERT_EQUAL_FATAL(ipsec_ip_out(b, off + 16, &ip), 0);
		if (ip.skip != rows[r].skip || ip.protoff != rows[r].protoff)
			fprintf(stderr, "\n%s: skip %zu protoff %zu\n", rows[r].what, ip.skip,
				ip.protoff);
		CU_ASSERT_EQUAL(ip.af, ADDR_V6);
		CU_ASSERT_EQUAL(ip.skip, rows[r].skip);
		CU_ASSERT_EQUAL(ip.protoff, rows[r].protoff);
	}
	/* Headers that do not hold together, and hop-by-hop out of place. */
	uint8_t b[100];
	hdr6(b, 8, IPPROTO_HOPOPTS);
	opts8(b + 40, IPPROTO_UDP, padn);
	b[41] = 1; /* 16 bytes, but only 8 there */
	struct ipsec_ip ip;
	CU_ASSERT_EQUAL(ipsec_ip_out(b, 48, &ip), -1);
	hdr6(b, 16, IPPROTO_ROUTING);
	opts8(b + 40, IPPROTO_HOPOPTS, padn);
	opts8(b + 48, IPPROTO_UDP, padn);
	CU_ASSERT_EQUAL(ipsec_ip_out(b, 56, &ip), -1);
	CU_ASSERT_EQUAL(ipsec_ip_out(b, 39, &ip), -1);
	b[0] = 0x50; /* version 5 */
	CU_ASSERT_EQUAL(ipsec_ip_out(b, 56, &ip), -1);
}

static struct tdb *add_sa6(struct node *n, uint8_t satype, uint32_t spi)
{
	struct pfkey_sock *s = pfkey_open(n);
	uint8_t ak[32], ek[16];
	memset(ak, 0x5a, sizeof(ak));
	memset(ek, 0x6b, sizeof(ek));
	struct ipaddr src, dst;
	addr_parse(SRC6, &src);
	addr_parse(DST6, &dst);
	struct pfkey_buf pb;
	bool esp = satype == SADB_SATYPE_ESP;
	pfkb_init(&pb, SADB_ADD, satype, 1, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, 64, SADB_SASTATE_MATURE, SADB_X_AALG_SHA2_256,
		esp ? SADB_X_EALG_AES : 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	pfkb_key(&pb, SADB_EXT_KEY_AUTH, ak, 256);
	if (esp)
		pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, ek, 128);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), 0);
	pfkey_close(s);
	return sad_lookup(&n->ipsec->sad, &dst, spi, esp ? IPPROTO_ESP : IPPROTO_AH);
}

/* HMAC-SHA-256 truncated to 16 bytes, as the SA computes it. */
static void hmac16(const uint8_t *m, size_t len, uint8_t out[16])
{
	uint8_t key[32], md[32];
	size_t mdlen = 0;
	memset(key, 0x5a, sizeof(key));
	CU_ASSERT_PTR_NOT_NULL(
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, 32, m, len, md, sizeof(md), &mdlen));
	memcpy(out, md, 16);
}

/* The hop-by-hop header of the AH tests: 0x3e (mutable) with 4 data bytes
 * at 44..47, then 0x1e (immutable) with no data at 48..49, padded. */
static const uint8_t hbh_opts[6] = {0x3e, 4, 0xa0, 0xa1, 0xa2, 0xa3};

static void test_ah6_icv(void)
{
	struct sim *s = sim_new(3);
	struct node *a = unit_node(s, "a", DST6 "/64");
	struct tdb *t = add_sa6(a, SADB_SATYPE_AH, 0x3000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	uint8_t pkt[200];
	size_t len = 40 + 16 + 12;
	hdr6(pkt, (uint16_t)(len - 40), IPPROTO_HOPOPTS);
	pkt[40] = IPPROTO_UDP;
	pkt[41] = 1;
	memcpy(pkt + 42, hbh_opts, 6);
	memcpy(pkt + 48, (uint8_t[]){0x1e, 0, 1, 4, 0, 0, 0, 0}, 8); /* 0x1e, PadN */
	memset(pkt + 56, 0x33, 12);
	struct pkt *p = pkt_from(pkt, len, PKT_HEADROOM);
	CU_ASSERT_EQUAL_FATAL(ah_output(a, t, p), 0);
	/* AH after hop-by-hop, 12 + 16 bytes padded to 32 (RFC 4302 2.6). */
	CU_ASSERT_EQUAL(p->len, len + 32);
	CU_ASSERT_EQUAL(p->data[40], IPPROTO_AH);
	CU_ASSERT_EQUAL(get_be16(p->data + 4), len + 32 - 40);
	const uint8_t *ah = p->data + 56;
	CU_ASSERT_EQUAL(ah[0], IPPROTO_UDP);
	CU_ASSERT_EQUAL(ah[1], 32 / 4 - 2);
	CU_ASSERT_EQUAL(get_be32(ah + 4), 0x3000);
	CU_ASSERT_EQUAL(get_be32(ah + 8), 1);
	CU_ASSERT_EQUAL(get_be32(ah + 28), 0); /* the padding */

	/* The ICV by hand: class, flow label, hop limit and the mutable
	 * option's data zeroed; type and length kept (RFC 8200 4.2). */
	uint8_t m[200], icv[16];
	memcpy(m, p->data, p->len);
	m[0] = 0x60;
	m[1] = m[2] = m[3] = 0;
	m[7] = 0;
	memset(m + 44, 0, 4);
	memset(m + 56 + 12, 0, 20);
	hmac16(m, p->len, icv);
	CU_ASSERT_EQUAL(memcmp(ah + 12, icv, 16), 0);
	CU_ASSERT_EQUAL(p->data[42], 0x3e); /* the packet keeps its options */
	CU_ASSERT_EQUAL(p->data[44], 0xa0);

	/* In transit: hop limit, class, flow label and the mutable data change,
	 * and it is still authentic; an immutable option's type or PadN's data
	 * is not.  (The good one last: it moves the replay window.) */
	struct ipsec_ip ip = {.af = ADDR_V6, .skip = 56, .protoff = 40};
	for (int k = 2; k >= 0; k--) {
		struct pkt *q = pkt_clone(p);
		q->data[7] = 3;
		q->data[1] ^= 0x5f;
		q->data[3] ^= 0x77;
		q->data[45] ^= 0xff;
		if (k == 1)
			q->data[48] = 0x1f; /* 0x1e becomes another immutable option */
		if (k == 2)
			q->data[52] = 1; /* PadN's data */
		int nh = ah_input(a, t, q, &ip);
		CU_ASSERT_EQUAL(nh, k == 0 ? IPPROTO_UDP : -1);
		if (nh >= 0) {
			CU_ASSERT_EQUAL(q->len, len);
			CU_ASSERT_EQUAL(q->data[40], IPPROTO_UDP);
			CU_ASSERT_EQUAL(get_be16(q->data + 4), len - 40);
			pkt_free(q);
		}
	}
	CU_ASSERT_EQUAL(a->stats[STAT_AH_BADAUTH], 2);

	/* OpenBSD's AH over IPv6 leaves the padding out: 28 bytes, length
	 * field 5.  It is accepted; the ICV covers what came. */
	uint8_t u[200];
	size_t ulen = len + 28;
	memcpy(u, pkt, 56);
	put_be16(u + 4, (uint16_t)(ulen - 40));
	u[40] = IPPROTO_AH;
	uint8_t *uah = u + 56;
	memset(uah, 0, 28);
	uah[0] = IPPROTO_UDP;
	uah[1] = 28 / 4 - 2;
	put_be32(uah + 4, 0x3000);
	put_be32(uah + 8, 2);
	memset(u + 84, 0x33, 12);
	memcpy(m, u, ulen);
	m[0] = 0x60;
	m[1] = m[2] = m[3] = 0;
	m[7] = 0;
	memset(m + 44, 0, 4);
	hmac16(m, ulen, uah + 12);
	struct pkt *q = pkt_from(u, ulen, PKT_HEADROOM);
	int nh = ah_input(a, t, q, &ip);
	CU_ASSERT_EQUAL(nh, IPPROTO_UDP);
	if (nh >= 0) { /* a dropped packet is freed */
		CU_ASSERT_EQUAL(q->len, len);
		CU_ASSERT_EQUAL(memcmp(q->data + 56, pkt + 56, 12), 0);
		pkt_free(q);
	}
	/* 24 bytes is neither length for a 16-byte ICV. */
	u[57] = 24 / 4 - 2;
	q = pkt_from(u, ulen, PKT_HEADROOM);
	nh = ah_input(a, t, q, &ip);
	CU_ASSERT_EQUAL(nh, -1);
	if (nh >= 0)
		pkt_free(q);
	CU_ASSERT_EQUAL(a->stats[STAT_AH_BADAUTHL], 1);
	pkt_free(p);
	sim_free(s);
}

/* Mangled ESP and AH packets behind extension headers never crash
 * ip6_input, and each ends counted. */
static void test_mangled_ipsec6_input(void)
{
	struct sim *s = sim_new(3);
	struct node *a = unit_node(s, "a", SRC6 "/64");
	struct node *b = unit_node(s, "b", DST6 "/64");
	struct tdb *ta = add_sa6(a, SADB_SATYPE_ESP, 0x5000),
		   *aha = add_sa6(a, SADB_SATYPE_AH, 0x3000);
	add_sa6(b, SADB_SATYPE_ESP, 0x5000);
	add_sa6(b, SADB_SATYPE_AH, 0x3000);
	uint8_t good[2][400];
	size_t glen[2];
	for (int k = 0; k < 2; k++) {
		uint8_t in[200];
		size_t len = 40 + 8 + 8 + 40;
		hdr6(in, (uint16_t)(len - 40), IPPROTO_HOPOPTS);
		opts8(in + 40, IPPROTO_DSTOPTS, hbh_opts);
		memcpy(in + 48, (uint8_t[]){IPPROTO_UDP, 0, 0x1e, 4, 1, 2, 3, 4}, 8);
		memset(in + 56, 0x44, 40);
		put_be16(in + 60, 40); /* a UDP length */
		struct pkt *p = pkt_from(in, len, PKT_HEADROOM);
		CU_ASSERT_EQUAL_FATAL(k ? ah_output(a, aha, p) : esp_output(a, ta, p), 0);
		memcpy(good[k], p->data, p->len);
		glen[k] = p->len;
		pkt_free(p);
	}
	/* ESP after hop-by-hop only (the destination options went inside);
	 * AH after hop-by-hop, before the destination options. */
	CU_ASSERT_EQUAL(good[0][40], IPPROTO_ESP);
	CU_ASSERT_EQUAL(good[1][40], IPPROTO_AH);
	struct rng r;
	rng_seed(&r, 8200, "mangle6");
	uint64_t before = b->stats[STAT_IP6_TOTAL];
	unsigned rounds = 20000;
	for (unsigned i = 0; i < rounds; i++) {
		int k = (int)(i & 1);
		uint8_t buf[500];
		size_t len = glen[k];
		memcpy(buf, good[k], len);
		switch (rng_below(&r, 4)) {
		case 0: /* flip bytes after the fixed header */
			for (int j = 0, n = 1 + (int)rng_below(&r, 4); j < n; j++)
				buf[40 + rng_below(&r, len - 40)] ^=
				    (uint8_t)(1 + rng_below(&r, 255));
			break;
		case 1: len = 40 + rng_below(&r, len - 40); break;
		case 2:
			for (size_t e = len + rng_below(&r, 64); len < e; len++)
				buf[len] = (uint8_t)rng_next(&r);
			break;
		default: /* a field of the ESP or AH header set at random */
			put_be32(buf + 48 + 4 * rng_below(&r, 3), (uint32_t)rng_next(&r));
			break;
		}
		put_be16(buf + 4, (uint16_t)(len - 40));
		struct pkt *p = pkt_from(buf, len, PKT_HEADROOM);
		p->rcvif = b->ifaces[0];
		ip6_input(b, p);
	}
	sim_run(s, s->now + NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(b->stats[STAT_IP6_TOTAL] - before, rounds);
	/* Most reach ESP or AH input; the rest fail as IPv6 first. */
	CU_ASSERT(b->stats[STAT_ESP_INPUT] + b->stats[STAT_AH_INPUT] > rounds / 2);
	sim_free(s);
}

void suite_ipsec6(void)
{
	static const struct unit_test t[] = {
	    {"where ESP and AH go among extension headers", test_placement},
	    {"AH's ICV over IPv6 and its padding", test_ah6_icv},
	    {"mangled ESP and AH over IPv6", test_mangled_ipsec6_input},
	    {NULL, NULL}};
	unit_add_suite("ipsec6", t);
}
