/* IPv4 header parse/emit, validation in OpenBSD's order, options, TTL. */
#include <string.h>

#include "../../stack/cksum.h"
#include "../../stack/ip4.h"
#include "../../stack/util.h"
#include "unit.h"
#include "vectors.h"

static void test_parse_fields(void)
{
	struct ip4_hdr h;
	enum stat_id why;
	char a[ADDR_STRLEN];
	CU_ASSERT_EQUAL_FATAL(ip4_parse(vec_udp, sizeof(vec_udp), &h, &why), 0);
	CU_ASSERT_EQUAL(h.hlen, 20);
	CU_ASSERT_EQUAL(h.len, 31);
	CU_ASSERT_EQUAL(h.id, 1);
	CU_ASSERT_EQUAL(h.ttl, 64);
	CU_ASSERT_EQUAL(h.proto, 17);
	CU_ASSERT_EQUAL(h.sum, 0x66cb);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&h.src, a), "10.0.0.1");
	CU_ASSERT_STRING_EQUAL(addr_fmt(&h.dst, a), "10.0.0.2");
	CU_ASSERT_EQUAL(h.optlen, 0);
}

static void test_round_trip(void)
{
	/* parse then emit gives back the same bytes, options included */
	const uint8_t *vecs[] = {vec_udp, vec_opts};
	size_t lens[] = {sizeof(vec_udp), sizeof(vec_opts)};
	for (int i = 0; i < 2; i++) {
		struct ip4_hdr h;
		enum stat_id why;
		uint8_t out[60];
		CU_ASSERT_EQUAL_FATAL(ip4_parse(vecs[i], lens[i], &h, &why), 0);
		size_t n = ip4_emit(out, &h);
		CU_ASSERT_EQUAL(n, h.hlen);
		CU_ASSERT_EQUAL(memcmp(out, vecs[i], n), 0);
	}
}

/* Set a header field and fix the checksum so only that field is wrong. */
static void refix(uint8_t *b, size_t hlen)
{
	b[10] = b[11] = 0;
	put_be16(b + 10, in_cksum(b, hlen));
}

static void test_validation_order(void)
{
	/* Rows: a change to the scapy packet -> the drop reason (0: valid). */
	static const struct {
		const char *what;
		int off, val; /* byte to set (-1: none) */
		size_t len;   /* bytes handed over (0: all) */
		int fix;      /* recompute the checksum after the change */
		int why;
	} rows[] = {
	    {"valid", -1, 0, 0, 0, 0},
	    {"19 bytes", -1, 0, 19, 0, STAT_IP_TOOSMALL},
	    {"version 6", 0, 0x65, 0, 1, STAT_IP_BADVERS},
	    {"IHL 4", 0, 0x44, 0, 1, STAT_IP_BADHLEN},
	    {"IHL 15 beyond the data", 0, 0x4f, 0, 0, STAT_IP_BADHLEN},
	    {"checksum off by one", 11, 0xcc, 0, 0, STAT_IP_BADSUM},
	    {"total length 10", 3, 10, 0, 1, STAT_IP_BADLEN},
	    {"total length 100", 3, 100, 0, 1, STAT_IP_TOOSHORT},
	    {"version checked before checksum", 0, 0x55, 0, 0, STAT_IP_BADVERS},
	};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t b[sizeof(vec_udp)];
		memcpy(b, vec_udp, sizeof(b));
		if (rows[i].off >= 0)
			b[rows[i].off] = (uint8_t)rows[i].val;
		if (rows[i].fix)
			refix(b, 20);
		struct ip4_hdr h;
		enum stat_id why = STAT__COUNT;
		int r = ip4_parse(b, rows[i].len ? rows[i].len : sizeof(b), &h, &why);
		if (rows[i].why == 0) {
			CU_ASSERT_EQUAL(r, 0);
		} else {
			CU_ASSERT_EQUAL(r, -1);
			if ((int)why != rows[i].why)
				fprintf(stderr, "\nrow %u (%s): got %s\n", i, rows[i].what,
					stat_name(why));
			CU_ASSERT_EQUAL(why, rows[i].why);
		}
	}
}

static void test_options(void)
{
	/* Rows: option bytes -> valid?, and the pointer to the bad byte. */
	static const struct {
		uint8_t opts[8];
		size_t len;
		int ok;
		unsigned ptr;
	} rows[] = {
	    {{0x01, 0x01, 0x01, 0x00}, 4, 0, 0},   /* NOPs and EOL */
	    {{0x94, 0x04, 0x00, 0x00}, 4, 0, 0},   /* router alert */
	    {{0x07, 0x00, 0x00, 0x00}, 4, -1, 21}, /* length 0 */
	    {{0x07, 0x09, 0x00, 0x00}, 4, -1, 21}, /* length past the end */
	    {{0x01, 0x01, 0x01, 0x07}, 4, -1, 23}, /* type without length */
	    {{0x00, 0x07, 0x00, 0x00}, 4, 0, 0},   /* garbage after EOL */
	};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned ptr = 0;
		CU_ASSERT_EQUAL(ip4_check_options(rows[i].opts, rows[i].len, &ptr), rows[i].ok);
		if (rows[i].ok < 0)
			CU_ASSERT_EQUAL(ptr, rows[i].ptr);
	}
	/* Only options with the copy bit go into later fragments. */
	uint8_t out[40];
	size_t n = ip4_copied_options(vec_opts + 20, 12, out);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(out[0], 0x94);
	CU_ASSERT_EQUAL(out[1], 0x04);
}

static void test_ttl_decrement_matches_recompute(void)
{
	/* RFC 1624 incremental update equals a full recompute at every TTL,
	 * including the 0xffff/0x0000 corner that RFC 1141 got wrong. */
	uint8_t b[20];
	int bad = 0;
	for (int id = 0; id < 65536; id += 251) {
		for (int ttl = 1; ttl < 256; ttl++) {
			memcpy(b, vec_udp, 20);
			put_be16(b + 4, (uint16_t)id);
			b[8] = (uint8_t)ttl;
			refix(b, 20);
			ip4_dec_ttl(b);
			uint8_t c[20];
			memcpy(c, b, 20);
			refix(c, 20);
			if (get_be16(b + 10) != get_be16(c + 10) || in_cksum(b, 20) != 0)
				bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

void suite_ip4(void)
{
	static const struct unit_test t[] = {
	    {"parse fields", test_parse_fields},
	    {"parse/emit round trip", test_round_trip},
	    {"validation order", test_validation_order},
	    {"options", test_options},
	    {"TTL decrement matches recompute", test_ttl_decrement_matches_recompute},
	    {NULL, NULL}};
	unit_add_suite("ip4", t);
}
