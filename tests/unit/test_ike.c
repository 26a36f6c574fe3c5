/* IKEv2 wire parsing (every length refused from both sides) and the
 * daemon's cryptography against published vectors: prf+ (computed with
 * Python's hmac), X25519 (RFC 7748 6.1), P-256's generator, MODP's range
 * checks, AES-CBC (RFC 3602 case 1) and AES-GCM's tag. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "../../ike/ike_crypto.h"
#include "../../ike/ike_wire.h"
#include "../../stack/util.h"
#include "unit.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	long n = hex_decode(s, out, cap);
	CU_ASSERT_FATAL(n >= 0);
	return (size_t)n;
}

static void test_prfplus(void)
{
	uint8_t key[32], out[100], want[100];
	for (unsigned i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	unhex("ce5c331a5e28dd50f05dc0fc2e1af445405ea6ca8f216143a4e16d58b24801fb58ce9fb9f9ded8c4"
	      "e987c8ae4b7b8dada065a75bb867fde3a20e59071259620c4ed50372d21e00632db55a74f20b6a21"
	      "a70b5122fba0ec525818f8ef177194bc9676a851",
	      want, sizeof(want));
	CU_ASSERT_EQUAL(
	    ike_prfplus(PRF_HMAC_SHA2_256, key, 32, (const uint8_t *)"seed-of-test", 12, out, 100),
	    0);
	CU_ASSERT_EQUAL(memcmp(out, want, 100), 0);
	/* 255 rounds at most (2.13) */
	static uint8_t big[256 * 32];
	CU_ASSERT_EQUAL(ike_prfplus(PRF_HMAC_SHA2_256, key, 32, key, 4, big, 255 * 32), 0);
	CU_ASSERT_EQUAL(ike_prfplus(PRF_HMAC_SHA2_256, key, 32, key, 4, big, 255 * 32 + 1), -1);
	CU_ASSERT_EQUAL(ike_prfplus(99, key, 32, key, 4, out, 10), -1);
}

static void test_x25519(void)
{
	uint8_t a[32], bpub[32], pub[32], s[32], want[32];
	size_t slen = 0;
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bpub, 32);
	CU_ASSERT_EQUAL(ike_dh_public(31, a, pub), 0);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want, 32);
	CU_ASSERT_EQUAL(memcmp(pub, want, 32), 0);
	CU_ASSERT_EQUAL(ike_dh_shared(31, a, bpub, 32, s, &slen), 0);
	unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
	CU_ASSERT_EQUAL(slen, 32);
	CU_ASSERT_EQUAL(memcmp(s, want, 32), 0);
	/* a small-order point gives all zeros: refused (RFC 8031 2.3) */
	uint8_t zero[32] = {0};
	CU_ASSERT_EQUAL(ike_dh_shared(31, a, zero, 32, s, &slen), -1);
	CU_ASSERT_EQUAL(ike_dh_shared(31, a, bpub, 31, s, &slen), -1);
}

static void test_ecp(void)
{
	uint8_t one[32] = {0}, pub[64], want[64], s[32];
	size_t slen;
	one[31] = 1;
	CU_ASSERT_EQUAL(ike_dh_public(19, one, pub), 0); /* 1 x G = G */
	unhex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
	      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
	      want, 64);
	CU_ASSERT_EQUAL(memcmp(pub, want, 64), 0);
	CU_ASSERT_EQUAL(ike_dh_shared(19, one, want, 64, s, &slen), 0);
	CU_ASSERT_EQUAL(slen, 32);
	CU_ASSERT_EQUAL(memcmp(s, want, 32), 0); /* x of 1 x G */
	want[63] ^= 1;                           /* off the curve */
	CU_ASSERT_EQUAL(ike_dh_shared(19, one, want, 64, s, &slen), -1);
	CU_ASSERT_EQUAL(ike_dh_shared(19, one, want, 63, s, &slen), -1);
	CU_ASSERT_EQUAL(ike_dh_publen(20), 96);
}

static void test_modp(void)
{
	uint8_t one[32] = {0}, pub[256], peer[256] = {0}, s[256];
	size_t slen;
	one[31] = 1;
	CU_ASSERT_EQUAL(ike_dh_public(14, one, pub), 0); /* 2^1 */
	CU_ASSERT_EQUAL(pub[255], 2);
	CU_ASSERT_EQUAL(pub[0], 0);
	peer[255] = 5;
	CU_ASSERT_EQUAL(ike_dh_shared(14, one, peer, 256, s, &slen), 0);
	CU_ASSERT_EQUAL(slen, 256);
	CU_ASSERT_EQUAL(s[255], 5);
	peer[255] = 1; /* 1 and p-1 are refused (RFC 6989 2.1) */
	CU_ASSERT_EQUAL(ike_dh_shared(14, one, peer, 256, s, &slen), -1);
	memset(peer, 0xff, sizeof(peer));
	peer[255] = 0xfe; /* p-1: the prime ends in ff..ff */
	CU_ASSERT_EQUAL(ike_dh_shared(14, one, peer, 256, s, &slen), -1);
	memset(peer, 0xff, sizeof(peer)); /* above p */
	CU_ASSERT_EQUAL(ike_dh_shared(14, one, peer, 256, s, &slen), -1);
	CU_ASSERT_FALSE(ike_dh_known(2));
}

static void test_ciphers(void)
{
	uint8_t key[20], iv[16], pt[32], ct[32], want[16], back[32], tag[16];
	unhex("06a9214036b8a15b512e03d534120006", key, 16);
	unhex("3dafba429d9eb430b422da802c9fac41", iv, 16);
	memcpy(pt, "Single block msg", 16);
	unhex("e353779c1079aeb82708942dbe77181a", want, 16);
	CU_ASSERT_EQUAL(ike_cbc(true, key, 16, iv, pt, 16, ct), 0);
	CU_ASSERT_EQUAL(memcmp(ct, want, 16), 0);
	CU_ASSERT_EQUAL(ike_cbc(false, key, 16, iv, ct, 16, back), 0);
	CU_ASSERT_EQUAL(memcmp(back, pt, 16), 0);
	CU_ASSERT_EQUAL(ike_cbc(true, key, 16, iv, pt, 15, ct), -1); /* not whole blocks */

	uint8_t aad[8] = "header!", giv[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	memset(key + 16, 0x5a, 4);
	CU_ASSERT_EQUAL(ike_gcm_seal(key, 20, giv, aad, 8, pt, 32, ct, tag), 0);
	CU_ASSERT_EQUAL(ike_gcm_open(key, 20, giv, aad, 8, ct, 32, back, tag), 0);
	CU_ASSERT_EQUAL(memcmp(back, pt, 32), 0);
	aad[0] ^= 1; /* the header is authenticated */
	CU_ASSERT_EQUAL(ike_gcm_open(key, 20, giv, aad, 8, ct, 32, back, tag), -1);
	aad[0] ^= 1;
	tag[15] ^= 1;
	CU_ASSERT_EQUAL(ike_gcm_open(key, 20, giv, aad, 8, ct, 32, back, tag), -1);
	struct ike_encr_info ei;
	CU_ASSERT_EQUAL(ike_encr_info(ENCR_AES_GCM_16, 256, &ei), 0);
	CU_ASSERT_EQUAL(ei.keylen, 36);
	CU_ASSERT_EQUAL(ike_encr_info(ENCR_AES_CBC, 100, &ei), -1);
	CU_ASSERT_EQUAL(ike_integ_icvlen(AUTH_HMAC_SHA2_512_256), 32);
}

/* A message: header, then payloads given as (type, critical, body len). */
static size_t msg(uint8_t *b, const uint8_t (*pl)[3], unsigned n)
{
	memset(b, 0, IKE_HDR_LEN);
	b[17] = 0x20;
	b[18] = IKE_SA_INIT;
	b[16] = n ? pl[0][0] : 0;
	size_t off = IKE_HDR_LEN;
	for (unsigned i = 0; i < n; i++) {
		b[off] = i + 1 < n ? pl[i + 1][0] : 0;
		b[off + 1] = pl[i][1] ? 0x80 : 0;
		put_be16(b + off + 2, (uint16_t)(4 + pl[i][2]));
		memset(b + off + 4, 0xab, pl[i][2]);
		off += 4 + pl[i][2];
	}
	put_be32(b + 24, (uint32_t)off);
	return off;
}

static void test_parse_bounds(void)
{
	uint8_t b[2048];
	struct ike_msg m;
	struct ike_perr e;
	static const uint8_t ok[][3] = {{IKE_PL_SA, 0, 8}, {IKE_PL_NONCE, 0, 16}};
	size_t len = msg(b, ok, 2);
	CU_ASSERT_EQUAL(ike_parse(b, len, &m, &e), 0);
	CU_ASSERT_EQUAL(m.npl, 2);
	CU_ASSERT_EQUAL(m.pl[1].type, IKE_PL_NONCE);
	CU_ASSERT_EQUAL(m.pl[1].len, 16);
	/* shorter than the header, or than its length */
	CU_ASSERT_EQUAL(ike_parse(b, 27, &m, &e), -1);
	CU_ASSERT_EQUAL(e.notify, N_INVALID_SYNTAX);
	CU_ASSERT_EQUAL(ike_parse(b, len - 1, &m, &e), -1);
	/* a payload longer than what is left, and one shorter than its header */
	put_be16(b + IKE_HDR_LEN + 12 + 2, 21);
	CU_ASSERT_EQUAL(ike_parse(b, len, &m, &e), -1);
	put_be16(b + IKE_HDR_LEN + 12 + 2, 3);
	CU_ASSERT_EQUAL(ike_parse(b, len, &m, &e), -1);
	CU_ASSERT_STRING_EQUAL(e.why, "a payload length is out of bounds");
	/* bytes after the last payload */
	len = msg(b, ok, 2);
	put_be32(b + 24, (uint32_t)len + 4);
	CU_ASSERT_EQUAL(ike_parse(b, len + 4, &m, &e), -1);
	CU_ASSERT_STRING_EQUAL(e.why, "bytes after the last payload");
	/* IKEv1 */
	len = msg(b, ok, 2);
	b[17] = 0x10;
	CU_ASSERT_EQUAL(ike_parse(b, len, &m, &e), -1);
	CU_ASSERT_EQUAL(e.notify, N_INVALID_MAJOR_VERSION);
	/* an unknown payload: skipped, unless critical (2.5) */
	static const uint8_t unk[][3] = {{200, 0, 4}, {IKE_PL_NONCE, 0, 16}};
	len = msg(b, unk, 2);
	CU_ASSERT_EQUAL(ike_parse(b, len, &m, &e), 0);
	CU_ASSERT_EQUAL(m.npl, 1);
	static const uint8_t crit[][3] = {{200, 1, 4}};
	len = msg(b, crit, 1);
	CU_ASSERT_EQUAL(ike_parse(b, len, &m, &e), -1);
	CU_ASSERT_EQUAL(e.notify, N_UNSUPPORTED_CRITICAL_PAYLOAD);
	/* SK must be the last payload, and it is where the chain stops */
	static const uint8_t sk_mid[][3] = {{IKE_PL_SK, 0, 24}, {IKE_PL_NONCE, 0, 16}};
	len = msg(b, sk_mid, 2);
	CU_ASSERT_EQUAL(ike_parse(b, len, &m, &e), -1);
	static const uint8_t sk[][3] = {{IKE_PL_NONCE, 0, 16}, {IKE_PL_SK, 0, 24}};
	len = msg(b, sk, 2);
	CU_ASSERT_EQUAL(ike_parse(b, len, &m, &e), 0);
	CU_ASSERT_EQUAL(m.sk_off, IKE_HDR_LEN + 20);
	/* 33 payloads: over the cap */
	uint8_t many[33][3];
	for (unsigned i = 0; i < 33; i++)
		many[i][0] = IKE_PL_N, many[i][1] = 0, many[i][2] = 4;
	len = msg(b, (const uint8_t(*)[3])many, 33);
	CU_ASSERT_EQUAL(ike_parse(b, len, &m, &e), -1);
	CU_ASSERT_STRING_EQUAL(e.why, "more than 32 payloads");
}

static void test_sa_and_ts(void)
{
	struct ike_buf *m = calloc(1, sizeof(*m));
	struct ike_prop p = {.num = 1, .proto = IKE_PROTO_ESP, .spisize = 4, .nxf = 2};
	put_be32(p.spi, 0x12345678);
	p.xf[0] = (struct ike_xf){IKE_XF_ENCR, ENCR_AES_GCM_16, 256};
	p.xf[1] = (struct ike_xf){IKE_XF_ESN, 0, 0};
	ikeb_init_chain(m);
	ikeb_sa(m, &p, 1);
	CU_ASSERT_FALSE(m->overflow);
	CU_ASSERT_EQUAL(ikeb_first(m), IKE_PL_SA);
	const uint8_t *body = m->b + 1 + 4;
	size_t blen = m->len - 5;
	struct ike_prop got[2];
	unsigned n;
	CU_ASSERT_EQUAL(ike_parse_sa(body, blen, got, 2, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(got[0].nxf, 2);
	CU_ASSERT_EQUAL(got[0].xf[0].keylen, 256);
	CU_ASSERT_EQUAL(get_be32(got[0].spi), 0x12345678);
	/* every truncation is refused */
	for (size_t l = 0; l < blen; l++)
		CU_ASSERT_EQUAL(ike_parse_sa(body, l, got, 2, &n), -1);
	/* a transform count one too many, and "last" on a middle transform */
	uint8_t bad[64];
	memcpy(bad, body, blen);
	bad[7]++;
	CU_ASSERT_EQUAL(ike_parse_sa(bad, blen, got, 2, &n), -1);
	memcpy(bad, body, blen);
	bad[12] = 0;
	CU_ASSERT_EQUAL(ike_parse_sa(bad, blen, got, 2, &n), -1);
	memcpy(bad, body, blen);
	bad[6] = 9; /* SPI size above 8 */
	CU_ASSERT_EQUAL(ike_parse_sa(bad, blen, got, 2, &n), -1);

	struct ike_ts ts = {.type = IKE_TS_IPV4_RANGE, .sport = 0, .eport = 0xffff};
	addr_parse("10.0.0.0", &ts.start);
	addr_parse("10.0.0.255", &ts.end);
	ikeb_init_chain(m);
	ikeb_ts(m, IKE_PL_TSI, &ts, 1);
	struct ike_ts tg[2];
	CU_ASSERT_EQUAL(ike_parse_ts(m->b + 5, m->len - 5, tg, 2, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_TRUE(addr_eq(&tg[0].end, &ts.end));
	m->b[5 + 4 + 3] = 17; /* a selector length that is not 16 */
	CU_ASSERT_EQUAL(ike_parse_ts(m->b + 5, m->len - 5, tg, 2, &n), -1);
	for (size_t l = 0; l + 5 < m->len; l++)
		CU_ASSERT_EQUAL(ike_parse_ts(m->b + 5, l, tg, 2, &n), -1);
	/* a builder that runs out of room says so */
	ikeb_init_chain(m);
	static uint8_t huge[IKE_MSG_MAX];
	ikeb_nonce(m, huge, sizeof(huge));
	CU_ASSERT_TRUE(m->overflow);
	free(m);
}

static void test_delete(void)
{
	struct ike_buf *m = calloc(1, sizeof(*m));
	static const uint32_t spis[] = {0x01020304, 0xa0b0c0d0};
	struct ike_delete d;
	ikeb_init_chain(m);
	ikeb_delete(m, IKE_PROTO_ESP, spis, 2);
	CU_ASSERT_EQUAL(ikeb_first(m), IKE_PL_D);
	const uint8_t *body = m->b + 5;
	size_t blen = m->len - 5;
	CU_ASSERT_EQUAL(blen, 4 + 8);
	CU_ASSERT_EQUAL(ike_parse_delete(body, blen, &d), 0);
	CU_ASSERT_EQUAL(d.proto, IKE_PROTO_ESP);
	CU_ASSERT_EQUAL(d.nspi, 2);
	CU_ASSERT_EQUAL(get_be32(d.spis + 4), 0xa0b0c0d0);
	/* every truncation, a byte too many, a count past the SPIs */
	for (size_t l = 0; l < blen; l++)
		CU_ASSERT_EQUAL(ike_parse_delete(body, l, &d), -1);
	uint8_t bad[16];
	memcpy(bad, body, blen);
	bad[blen] = 0;
	CU_ASSERT_EQUAL(ike_parse_delete(bad, blen + 1, &d), -1);
	bad[3] = 3;
	CU_ASSERT_EQUAL(ike_parse_delete(bad, blen, &d), -1);
	/* an ESP SPI size other than 4, an unknown protocol */
	memcpy(bad, body, blen);
	bad[1] = 8;
	CU_ASSERT_EQUAL(ike_parse_delete(bad, blen, &d), -1);
	memcpy(bad, body, blen);
	bad[0] = 4;
	CU_ASSERT_EQUAL(ike_parse_delete(bad, blen, &d), -1);
	/* the IKE SA's: no SPI at all */
	ikeb_init_chain(m);
	ikeb_delete(m, IKE_PROTO_IKE, NULL, 0);
	CU_ASSERT_EQUAL(m->len - 5, 4);
	CU_ASSERT_EQUAL(ike_parse_delete(m->b + 5, 4, &d), 0);
	CU_ASSERT_EQUAL(d.proto, IKE_PROTO_IKE);
	memcpy(bad, m->b + 5, 4);
	bad[3] = 1;
	CU_ASSERT_EQUAL(ike_parse_delete(bad, 4, &d), -1);
	free(m);
}

static void test_sha1(void)
{
	/* FIPS 180 "abc" */
	static const uint8_t want[20] = {0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81,
					 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
					 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d};
	uint8_t got[20];
	CU_ASSERT_EQUAL(ike_sha1((const uint8_t *)"abc", 3, got), 0);
	CU_ASSERT_EQUAL(memcmp(got, want, 20), 0);
}

void suite_ike(void)
{
	static const struct unit_test tests[] = {
	    {"prf+ against Python's hmac", test_prfplus},
	    {"X25519, RFC 7748 6.1, and a small-order point", test_x25519},
	    {"ECP-256: 1 x G, a point off the curve", test_ecp},
	    {"MODP-2048: 1 and p-1 refused", test_modp},
	    {"AES-CBC RFC 3602 case 1, AES-GCM tag and AAD", test_ciphers},
	    {"message lengths refused from both sides", test_parse_bounds},
	    {"SA and TS payloads round trip, truncations refused", test_sa_and_ts},
	    {"Delete payloads round trip, malformed ones refused", test_delete},
	    {"SHA-1 for NAT detection, FIPS 180 abc", test_sha1},
	    {NULL, NULL}};
	unit_add_suite("ike", tests);
}
