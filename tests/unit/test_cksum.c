/* The Internet checksum against RFC 1071's example and scapy's packets. */
#include <string.h>

#include "../../stack/cksum.h"
#include "../../stack/util.h"
#include "unit.h"
#include "vectors.h"

static void test_rfc1071_example(void)
{
	/* RFC 1071 section 3: these bytes sum to 0xddf2. */
	static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	CU_ASSERT_EQUAL(cksum_fold(cksum_add(0, b, sizeof(b))), (uint16_t)~0xddf2);
}

static void test_ip_header_of_vector(void)
{
	CU_ASSERT_EQUAL(in_cksum(vec_udp, 20), 0); /* a valid header sums to zero */
	uint8_t h[20];
	memcpy(h, vec_udp, 20);
	h[10] = h[11] = 0;
	CU_ASSERT_EQUAL(in_cksum(h, 20), 0x66cb);
}

static void test_udp_pseudo_header(void)
{
	struct ipaddr src = addr_v4(vec_udp + 12), dst = addr_v4(vec_udp + 16);
	uint32_t s = cksum_pseudo(&src, &dst, 17, 11);
	CU_ASSERT_EQUAL(cksum_fold(cksum_add(s, vec_udp + 20, 11)), 0);
	uint8_t u[11];
	memcpy(u, vec_udp + 20, 11);
	u[6] = u[7] = 0;
	CU_ASSERT_EQUAL(cksum_fold(cksum_add(s, u, 11)), 0x5d91); /* odd length */
}

static void test_pieces_equal_whole(void)
{
	/* Summing in even-sized pieces gives the same as summing at once. */
	uint8_t b[64];
	for (int i = 0; i < 64; i++)
		b[i] = (uint8_t)(i * 37 + 11);
	uint32_t s = cksum_add(0, b, 10);
	s = cksum_add(s, b + 10, 54);
	CU_ASSERT_EQUAL(cksum_fold(s), in_cksum(b, 64));
	/* All ones never overflows the running sum. */
	static uint8_t ff[70000];
	memset(ff, 0xff, sizeof(ff));
	CU_ASSERT_EQUAL(in_cksum(ff, sizeof(ff)), 0);
}

/* RFC 1071's definition, a 16-bit big-endian word at a time. */
static uint16_t ref_cksum(uint32_t start, const uint8_t *p, size_t len)
{
	uint64_t s = start;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len % 2)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void test_word_at_a_time(void)
{
	/* Every length from 0 to 99 at every alignment, with and without a
	 * running sum, against the definition; and sums that come to zero. */
	uint8_t b[128];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(b); i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (uint8_t)(x >> 16);
	}
	unsigned wrong = 0;
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len < 100; len++) {
			wrong += in_cksum(b + off, len) != ref_cksum(0, b + off, len);
			wrong += cksum_fold(cksum_add(0x1fffe, b + off, len)) !=
				 ref_cksum(0x1fffe, b + off, len);
		}
	CU_ASSERT_EQUAL(wrong, 0);
	static const uint8_t zero[7], ffff[2] = {0xff, 0xff}, odd[3] = {0x12, 0x34, 0xab};
	CU_ASSERT_EQUAL(in_cksum(zero, 7), 0xffff);
	CU_ASSERT_EQUAL(in_cksum(ffff, 2), 0);
	CU_ASSERT_EQUAL(in_cksum(odd, 3), (uint16_t) ~(0x1234 + 0xab00));
}

void suite_cksum(void)
{
	static const struct unit_test t[] = {
	    {"RFC 1071 example", test_rfc1071_example},
	    {"IPv4 header of a scapy packet", test_ip_header_of_vector},
	    {"UDP with pseudo header", test_udp_pseudo_header},
	    {"pieces equal the whole", test_pieces_equal_whole},
	    {"a word at a time", test_word_at_a_time},
	    {NULL, NULL}};
	unit_add_suite("cksum", t);
}
