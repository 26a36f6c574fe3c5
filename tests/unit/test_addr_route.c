/* Addresses and longest-prefix match. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../stack/addr.h"
#include "../../stack/route.h"
#include "unit.h"

static void test_parse_and_format(void)
{
	static const struct {
		const char *in;
		int ok;
		unsigned plen;
		const char *out;
	} rows[] = {
	    {"10.0.0.1/24", 0, 24, "10.0.0.1"}, {"192.0.2.9", 0, 32, "192.0.2.9"},
	    {"0.0.0.0/0", 0, 0, "0.0.0.0"},     {"2001:db8::1/64", 0, 64, "2001:db8::1"},
	    {"10.0.0.1/33", -1, 0, NULL},       {"10.0.0/24", -1, 0, NULL},
	    {"10.0.0.1/", -1, 0, NULL},         {"10.0.0.1/x", -1, 0, NULL},
	    {"256.0.0.1", -1, 0, NULL},         {"", -1, 0, NULL},
	    {"fe80::1/129", -1, 0, NULL},
	};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ipaddr a;
		unsigned plen = 99;
		int r = addr_parse_prefix(rows[i].in, &a, &plen);
		CU_ASSERT_EQUAL(r, rows[i].ok);
		if (r == 0) {
			char buf[ADDR_STRLEN];
			CU_ASSERT_EQUAL(plen, rows[i].plen);
			CU_ASSERT_STRING_EQUAL(addr_fmt(&a, buf), rows[i].out);
		}
	}
}

static void test_prefix_and_broadcast(void)
{
	struct ipaddr a, net;
	unsigned plen;
	addr_parse_prefix("10.1.2.3", &a, &plen);
	addr_parse_prefix("10.1.0.0/16", &net, &plen);
	CU_ASSERT_TRUE(addr_in_prefix(&a, &net, 16));
	CU_ASSERT_TRUE(addr_in_prefix(&a, &net, 0));
	CU_ASSERT_FALSE(addr_in_prefix(&a, &net, 24));
	addr_parse_prefix("10.1.2.0/23", &net, &plen);
	CU_ASSERT_TRUE(addr_in_prefix(&a, &net, 23)); /* a non-octet boundary */
	struct ipaddr b = addr_v4_broadcast(&net, 23), want;
	addr_parse("10.1.3.255", &want);
	CU_ASSERT_TRUE(addr_eq(&b, &want));
	struct ipaddr m = a;
	addr_mask(&m, 20);
	addr_parse("10.1.0.0", &want);
	CU_ASSERT_TRUE(addr_eq(&m, &want));
	/* A v6 address is never in a v4 prefix. */
	struct ipaddr v6;
	addr_parse("::ffff:10.1.2.3", &v6);
	CU_ASSERT_FALSE(addr_in_prefix(&v6, &net, 16));
}

static void add(struct rtable *t, const char *prefix, const char *gw, int tag)
{
	struct route r = {0};
	addr_parse_prefix(prefix, &r.dst, &r.plen);
	if (gw)
		addr_parse(gw, &r.gw);
	r.ifp = (struct iface *)(intptr_t)tag; /* a tag to tell routes apart */
	CU_ASSERT_EQUAL(route_add(t, &r), 0);
}

static void test_longest_prefix_match(void)
{
	struct rtable t = {0};
	add(&t, "0.0.0.0/0", "192.0.2.1", 1);
	add(&t, "10.0.0.0/8", "192.0.2.2", 2);
	add(&t, "10.1.0.0/16", "192.0.2.3", 3);
	add(&t, "10.1.2.0/24", NULL, 4);
	add(&t, "10.1.2.128/25", "192.0.2.5", 5);
	add(&t, "10.1.2.200/32", "192.0.2.6", 6);
	/* Rows: destination -> tag of the route that must win. */
	static const struct {
		const char *dst;
		int tag;
	} rows[] = {{"8.8.8.8", 1},    {"10.9.9.9", 2},   {"10.1.9.9", 3},
		    {"10.1.2.1", 4},   {"10.1.2.127", 4}, {"10.1.2.128", 5},
		    {"10.1.2.200", 6}, {"10.1.2.201", 5}, {"11.0.0.0", 1}};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ipaddr d;
		addr_parse(rows[i].dst, &d);
		const struct route *r = route_lookup(&t, &d);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_EQUAL((int)(intptr_t)r->ifp, rows[i].tag);
	}
	/* The same prefix twice is refused; host bits are cleared first. */
	struct route dup = {0};
	addr_parse_prefix("10.1.2.77/24", &dup.dst, &dup.plen);
	CU_ASSERT_EQUAL(route_add(&t, &dup), -1);
	route_free(&t);
}

static void test_no_default_no_route(void)
{
	struct rtable t = {0};
	add(&t, "10.0.0.0/8", NULL, 1);
	struct ipaddr d;
	addr_parse("11.0.0.1", &d);
	CU_ASSERT_PTR_NULL(route_lookup(&t, &d));
	route_free(&t);
}

/* The hashed table at a hub's size: 5,000 /30s beside the defaults of both
 * families, each found; half of them removed (a wrong gateway refused
 * first), their addresses then falling to the default; IPv6 never taking
 * an IPv4 route. */
static void test_many_routes_and_removal(void)
{
	struct rtable t = {0};
	add(&t, "0.0.0.0/0", "192.0.2.1", 1);
	add(&t, "::/0", "2001:db8::ff", 2);
	char p[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "10.%d.%d.%d/30", 128 + i / 16384, i / 64 % 256, i % 64 * 4);
		add(&t, p, "192.0.2.9", 100 + i);
	}
	CU_ASSERT_EQUAL(t.n, 5002);
	struct ipaddr d, gw, wrong;
	addr_parse("192.0.2.9", &gw);
	addr_parse("192.0.2.8", &wrong);
	unsigned bad = 0;
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "10.%d.%d.%d", 128 + i / 16384, i / 64 % 256,
			 i % 64 * 4 + 2);
		addr_parse(p, &d);
		const struct route *r = route_lookup(&t, &d);
		bad += !r || (int)(intptr_t)r->ifp != 100 + i;
		if (i % 2 == 0) {
			bad += route_del(&t, &d, 30, &wrong) != -1;
			bad += route_del(&t, &d, 30, &gw) != 0;
			bad += route_del(&t, &d, 30, &gw) != -1; /* gone */
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(t.n, 2502);
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "10.%d.%d.%d", 128 + i / 16384, i / 64 % 256,
			 i % 64 * 4 + 1);
		addr_parse(p, &d);
		const struct route *r = route_lookup(&t, &d);
		bad += !r || (int)(intptr_t)r->ifp != (i % 2 ? 100 + i : 1);
	}
	CU_ASSERT_EQUAL(bad, 0);
	addr_parse("2001:db8:1::1", &d);
	const struct route *r = route_lookup(&t, &d);
	CU_ASSERT_TRUE(r && (int)(intptr_t)r->ifp == 2);
	route_free(&t);
}

void suite_addr_route(void)
{
	static const struct unit_test t[] = {
	    {"parse and format", test_parse_and_format},
	    {"prefixes and broadcast", test_prefix_and_broadcast},
	    {"longest-prefix match", test_longest_prefix_match},
	    {"no default, no route", test_no_default_no_route},
	    {"many routes and removal", test_many_routes_and_removal},
	    {NULL, NULL}};
	unit_add_suite("addr+route", t);
}
