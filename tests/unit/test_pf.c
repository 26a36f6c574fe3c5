/*
 * pf: the rules as pfctl -sr prints them after parsing (lists expanded,
 * binat-to in two), last match and quick, translation's checksums against
 * a full recomputation (and a wrong one left exactly as wrong), NAT ports
 * from a range until none is left, states found both ways and not by a
 * stranger.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "../../pf/pf.h"
#include "../../pf/pf_var.h"
#include "../../stack/cksum.h"
#include "../../stack/icmp.h"
#include "../../stack/icmp6.h"
#include "../../stack/ip4.h"
#include "../../stack/ip6.h"
#include "../../stack/tcp.h"
#include "../../stack/util.h"
#include "unit.h"

static struct ipaddr A(const char *s) {
	struct ipaddr a;
	CU_ASSERT_EQUAL_FATAL(addr_parse(s, &a), 0);
	return a;
}

static unsigned
load(struct node *n, const char *text)
{
	FILE *err = stderr;
	struct pf_conf_options o = {.text = text, .text_name = "t", .text_line = 1, .err = err};
	unsigned e = pf_load(n, &o);
	return e;
}

static void test_rules_as_pfctl_prints_them(void)
{
	static const struct {
		const char *in;
		const char *out[4];
	} rows[] = {
	    {"pass", {"pass all"}},
	    {"block", {"block drop all"}},
	    {"block return in log quick on em0 inet proto tcp to port 22",
	     {"block return in log quick on em0 inet proto tcp from any to any port = 22"}},
	    {"pass in on em0 proto tcp from 10.0.0.0/8 port 1024:65535 to any port { 80 443 }",
	     {"pass in on em0 inet proto tcp from 10.0.0.0/8 port 1024:65535 to any port = 80 "
	      "flags S/SA",
	      "pass in on em0 inet proto tcp from 10.0.0.0/8 port 1024:65535 to any port = 443 "
	      "flags S/SA"}},
	    {"pass out proto { udp icmp } no state",
	     {"pass out proto udp all no state", "pass out proto icmp all no state"}},
	    {"pass in inet6 proto icmp6 icmp6-type echoreq",
	     {"pass in inet6 proto icmp6 all icmp6-type 128"}},
	    {"match out on em0 from 192.168.0.0/16 nat-to 192.0.2.1 port 50001:50010",
	     {"match out on em0 inet from 192.168.0.0/16 to any nat-to 192.0.2.1 port "
	      "50001:50010"}},
	    {"match out on enc0 from 10.0.0.0/24 to 10.9.0.0/24 binat-to 10.1.0.0/24",
	     {"match out on enc0 inet from 10.0.0.0/24 to 10.9.0.0/24 nat-to 10.1.0.0/24 "
	      "bitmask static-port",
	      "match in on enc0 inet from 10.9.0.0/24 to 10.1.0.0/24 rdr-to 10.0.0.0/24 "
	      "bitmask"}},
	    {"t = \"{ 192.0.2.1 192.0.2.2 }\"\npass in from $t to ! 10.0.0.0/8 port != 53",
	     {"pass in inet from 192.0.2.1 to ! 10.0.0.0/8 port != 53",
	      "pass in inet from 192.0.2.2 to ! 10.0.0.0/8 port != 53"}},
	    {"table <bad> { 203.0.113.0/24 198.51.100.7 }\nblock in from <bad>",
	     {"block drop in from <bad> to any"}},
	    {"pass in on ! em0 proto tcp to port 1000 >< 2000 flags any",
	     {"pass in on ! em0 proto tcp from any to any port 1000 >< 2000"}},
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct sim *s = sim_new(1);
		struct node *n = unit_node_if(s, "n", "em0", "192.0.2.9/24");
		CU_ASSERT_EQUAL(load(n, rows[i].in), 0);
		unsigned k = 0;
		for (; k < ARRAY_LEN(rows[i].out) && rows[i].out[k]; k++) {
			if (k >= n->pf->nrules) {
				CU_FAIL("too few rules");
				break;
			}
			if (strcmp(n->pf->rules[k].text, rows[i].out[k]) != 0)
				printf("\nrow %zu: got \"%s\"\n", i, n->pf->rules[k].text);
			CU_ASSERT_STRING_EQUAL(n->pf->rules[k].text, rows[i].out[k]);
		}
		CU_ASSERT_EQUAL(n->pf ? n->pf->nrules : 0, k);
		sim_free(s);
	}
}

/* ---- packets ---- */

static struct pkt *ip4_packet(const char *src, const char *dst, uint8_t proto, const uint8_t *l4,
			      size_t l4len)
{
	struct pkt *p = pkt_alloc(PKT_HEADROOM, IP4_HDR_LEN + l4len);
	struct ip4_hdr h = {.src = A(src),
			    .dst = A(dst),
			    .proto = proto,
			    .ttl = 64,
			    .len = (uint16_t)(IP4_HDR_LEN + l4len),
			    .id = 7};
	ip4_emit(p->data, &h);
	memcpy(p->data + IP4_HDR_LEN, l4, l4len);
	return p;
}

static struct pkt *ip6_packet(const char *src, const char *dst, uint8_t nxt, const uint8_t *l4,
			      size_t l4len)
{
	struct pkt *p = pkt_alloc(PKT_HEADROOM, IP6_HDR_LEN + l4len);
	struct ip6_hdr h = {
	    .src = A(src), .dst = A(dst), .nxt = nxt, .hlim = 64, .plen = (uint16_t)l4len};
	ip6_emit(p->data, &h);
	memcpy(p->data + IP6_HDR_LEN, l4, l4len);
	return p;
}

/* Fill in the upper layer's checksum as a sender would. */
static void l4_cksum(struct pkt *p)
{
	bool v6 = p->data[0] >> 4 == 6;
	size_t off = v6 ? IP6_HDR_LEN : (size_t)(p->data[0] & 15) * 4;
	uint8_t proto = v6 ? p->data[6] : p->data[9];
	struct ipaddr s, d;
	if (v6) {
		s.af = d.af = ADDR_V6;
		memcpy(s.a, p->data + 8, 16);
		memcpy(d.a, p->data + 24, 16);
	} else {
		s = addr_v4(p->data + 12);
		d = addr_v4(p->data + 16);
	}
	size_t len = p->len - off, ck = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
	uint8_t *t = p->data + off;
	put_be16(t + ck, 0);
	uint32_t sum = proto == IPPROTO_ICMP ? 0 : cksum_pseudo(&s, &d, proto, (uint32_t)len);
	uint16_t c = cksum_fold(cksum_add(sum, t, len));
	put_be16(t + ck, proto == IPPROTO_UDP && c == 0 ? 0xffff : c);
}

/* True when every checksum of the packet holds. */
static bool cksums_hold(const struct pkt *p)
{
	bool v6 = p->data[0] >> 4 == 6;
	size_t off = v6 ? IP6_HDR_LEN : (size_t)(p->data[0] & 15) * 4;
	if (!v6 && in_cksum(p->data, off) != 0)
		return false;
	uint8_t proto = v6 ? p->data[6] : p->data[9];
	struct ipaddr s, d;
	if (v6) {
		s.af = d.af = ADDR_V6;
		memcpy(s.a, p->data + 8, 16);
		memcpy(d.a, p->data + 24, 16);
	} else {
		s = addr_v4(p->data + 12);
		d = addr_v4(p->data + 16);
	}
	size_t len = p->len - off;
	uint32_t sum = proto == IPPROTO_ICMP ? 0 : cksum_pseudo(&s, &d, proto, (uint32_t)len);
	return cksum_fold(cksum_add(sum, p->data + off, len)) == 0;
}

static void test_translation_keeps_checksums(void)
{
	struct sim *s = sim_new(3);
	struct rng r;
	rng_seed(&r, 99, "pf-cksum");
	unsigned done = 0;
	for (int i = 0; i < 600; i++) {
		uint8_t l4[64];
		for (size_t k = 0; k < sizeof(l4); k++)
			l4[k] = (uint8_t)rng_next(&r);
		int kind = i % 6;
		bool v6 = kind >= 3;
		uint8_t proto = (kind % 3) == 0   ? IPPROTO_UDP
				: (kind % 3) == 1 ? IPPROTO_TCP
						  : (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
		size_t len = proto == IPPROTO_TCP ? 40 : 8 + (size_t)(i % 50);
		if (proto == IPPROTO_TCP)
			l4[12] = 0x50; /* a 20-byte header */
		if (proto == IPPROTO_UDP)
			put_be16(l4 + 4, (uint16_t)len);
		if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
			l4[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO, l4[1] = 0;
		struct pkt *p = v6 ? ip6_packet("2001:db8::1", "2001:db8:1::2", proto, l4, len)
				   : ip4_packet("192.168.1.10", "198.51.100.1", proto, l4, len);
		l4_cksum(p);
		CU_ASSERT_FATAL(cksums_hold(p));
		/* one in five made wrong by one bit: it must stay wrong */
		bool spoil = i % 5 == 4;
		size_t off = v6 ? IP6_HDR_LEN : IP4_HDR_LEN;
		size_t ckoff = off + (proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2);
		if (spoil)
			p->data[ckoff + 1] ^= 1;
		struct pf_pdesc pd;
		memset(&pd, 0, sizeof(pd));
		pd.af = v6 ? ADDR_V6 : ADDR_V4;
		pd.proto = proto;
		pd.off = off;
		pd.tot_len = p->len;
		memcpy(&pd.src, &(struct ipaddr){0}, sizeof(pd.src));
		pd.src = v6 ? A("2001:db8::1") : A("192.168.1.10");
		pd.dst = v6 ? A("2001:db8:1::2") : A("198.51.100.1");
		pd.sport = get_be16(p->data + off);
		pd.dport = get_be16(p->data + off + 2);
		if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
			pd.icmp_query = true;
			pd.icmp_id = get_be16(p->data + off + 4);
			pd.sport = pd.icmp_id;
		}
		struct ipaddr ns = v6 ? A("2001:db8:ffff::7") : A("203.0.113.200");
		struct ipaddr nd = v6 ? A("2001:db8:1::99") : A("198.51.100.77");
		uint16_t nsp = (uint16_t)rng_next(&r), ndp = (uint16_t)rng_next(&r);
		if (pd.icmp_query)
			ndp = pd.dport;
		pf_translate(p, &pd, &ns, nsp, &nd, ndp);
		CU_ASSERT_EQUAL(cksums_hold(p), !spoil);
		if (!v6) { /* the IPv4 header's own checksum holds either way */
			CU_ASSERT_EQUAL(in_cksum(p->data, IP4_HDR_LEN), 0);
			CU_ASSERT_EQUAL(memcmp(p->data + 12, ns.a, 4), 0);
		}
		CU_ASSERT_EQUAL(get_be16(p->data + off + (pd.icmp_query ? 4 : 0)), nsp);
		pkt_free(p);
		done++;
	}
	CU_ASSERT_EQUAL(done, 600);
	sim_free(s);
}

/* A router r: lan0 192.168.1.1 and wan0 198.51.100.2, with rules. */
static struct node *router(struct sim *s, const char *rules)
{
	struct node *n = unit_node_if(s, "r", "lan0", "192.168.1.1/24");
	struct iface *w = iface_new(n, "wan0");
	struct ipaddr a = A("198.51.100.2");
	iface_add_addr(w, &a, 24);
	CU_ASSERT_EQUAL_FATAL(load(n, rules), 0);
	return n;
}

static struct pkt *udp4(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	uint8_t u[12] = {0};
	put_be16(u, sport);
	put_be16(u + 2, dport);
	put_be16(u + 4, sizeof(u));
	struct pkt *p = ip4_packet(src, dst, IPPROTO_UDP, u, sizeof(u));
	l4_cksum(p);
	return p;
}

static void test_nat_ports_until_none_is_left(void)
{
	uint16_t first[2] = {0};
	for (int run = 0; run < 2; run++) {
		struct sim *s = sim_new(5);
		struct node *n =
		    router(s, "match out on wan0 nat-to 198.51.100.2 port 50001:50002\n"
			      "pass\n");
		uint16_t got[2];
		for (int i = 0; i < 3; i++) {
			struct pkt *p = udp4("192.168.1.10", (uint16_t)(1000 + i), "192.0.2.1", 53);
			bool ok = pf_test(n, PF_OUT, "wan0", p);
			CU_ASSERT_EQUAL(ok, i < 2);
			if (!ok)
				continue;
			got[i] = get_be16(p->data + IP4_HDR_LEN);
			CU_ASSERT(got[i] == 50001 || got[i] == 50002);
			CU_ASSERT_EQUAL(memcmp(p->data + 12, (uint8_t[]){198, 51, 100, 2}, 4), 0);
			CU_ASSERT(cksums_hold(p));
			pkt_free(p);
		}
		CU_ASSERT_NOT_EQUAL(got[0], got[1]);
		CU_ASSERT_EQUAL(n->stats[STAT_PF_TRANSLATE], 1);
		CU_ASSERT_EQUAL(pf_state_count(n), 2);
		/* the same seed, the same ports */
		if (run == 0)
			memcpy(first, got, sizeof(got));
		else
			CU_ASSERT_EQUAL(memcmp(first, got, sizeof(got)), 0);
		/* the answer to the first comes back to its own port and address */
		struct pkt *a = udp4("192.0.2.1", 53, "198.51.100.2", got[0]);
		CU_ASSERT_FATAL(pf_test(n, PF_IN, "wan0", a));
		CU_ASSERT_EQUAL(memcmp(a->data + 16, (uint8_t[]){192, 168, 1, 10}, 4), 0);
		CU_ASSERT_EQUAL(get_be16(a->data + IP4_HDR_LEN + 2), 1000);
		CU_ASSERT(cksums_hold(a));
		pkt_free(a);
		/* a stranger to the NAT port finds no state: the rules pass it
		 * untranslated */
		struct pkt *x = udp4("192.0.2.66", 53, "198.51.100.2", got[0]);
		CU_ASSERT_FATAL(pf_test(n, PF_IN, "wan0", x));
		CU_ASSERT_EQUAL(memcmp(x->data + 16, (uint8_t[]){198, 51, 100, 2}, 4), 0);
		pkt_free(x);
		sim_free(s);
	}
}

static void test_last_match_and_quick(void)
{
	static const struct {
		const char *rules;
		bool pass;
		unsigned last_evaluated; /* rules evaluated for the packet */
	} rows[] = {
	    {"block\npass\n", true, 2},
	    {"pass\nblock\n", false, 2},
	    {"block quick\npass\n", false, 1},
	    {"pass quick proto tcp\nblock\n", false, 2},
	    {"block in on wan0\npass in quick on lan0\nblock in from 192.168.1.0/24\n", true, 2},
	    {"block in from ! 192.168.1.0/24\n", true, 1},
	    {"block in proto udp from any port 1000:1010\n", false, 1},
	    {"block in proto udp to port > 53\n", true, 1},
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct sim *s = sim_new(1);
		struct node *n = router(s, rows[i].rules);
		struct pkt *p = udp4("192.168.1.10", 1000, "192.0.2.1", 53);
		bool ok = pf_test(n, PF_IN, "lan0", p);
		CU_ASSERT_EQUAL(ok, rows[i].pass);
		if (ok != rows[i].pass)
			printf("\nrow %zu\n", i);
		if (ok)
			pkt_free(p);
		unsigned evaluated = 0;
		for (unsigned k = 0; k < n->pf->nrules; k++)
			evaluated += n->pf->rules[k].evaluations != 0;
		CU_ASSERT_EQUAL(evaluated, rows[i].last_evaluated);
		CU_ASSERT_EQUAL(n->stats[STAT_PF_BLOCK], rows[i].pass ? 0 : 1);
		sim_free(s);
	}
}

static void test_states_both_ways_and_not_a_stranger(void)
{
	struct sim *s = sim_new(1);
	struct node *n = router(s, "block\npass out on wan0 proto udp\n");
	struct pkt *p = udp4("198.51.100.2", 4000, "192.0.2.1", 53);
	CU_ASSERT_FATAL(pf_test(n, PF_OUT, "wan0", p));
	pkt_free(p);
	CU_ASSERT_EQUAL(n->stats[STAT_PF_INSERTS], 1);
	/* the answer: the state's */
	p = udp4("192.0.2.1", 53, "198.51.100.2", 4000);
	CU_ASSERT(pf_test(n, PF_IN, "wan0", p));
	pkt_free(p);
	/* from another port, another address, or to another port: the rules,
	 * and the rules block */
	const char *from[] = {"192.0.2.1", "192.0.2.2", "192.0.2.1"};
	uint16_t sport[] = {54, 53, 53}, dport[] = {4000, 4000, 4001};
	for (int i = 0; i < 3; i++) {
		p = udp4(from[i], sport[i], "198.51.100.2", dport[i]);
		CU_ASSERT_FALSE(pf_test(n, PF_IN, "wan0", p));
	}
	CU_ASSERT_EQUAL(n->stats[STAT_PF_BLOCK], 3);
	/* a state floats: the answer on another interface still finds it */
	p = udp4("192.0.2.1", 53, "198.51.100.2", 4000);
	CU_ASSERT(pf_test(n, PF_IN, "lan0", p));
	pkt_free(p);
	/* ... until it expires: udp.single (30 s) after the last packet */
	s->now += 31 * NS_PER_SEC;
	p = udp4("192.0.2.1", 53, "198.51.100.2", 4000);
	CU_ASSERT_FALSE(pf_test(n, PF_IN, "wan0", p));
	CU_ASSERT_EQUAL(pf_state_count(n), 0);
	CU_ASSERT_EQUAL(n->stats[STAT_PF_REMOVALS], 1);
	sim_free(s);
}

static struct pkt *tcp4(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			uint8_t flags)
{
	uint8_t t[TCP_HDR_LEN] = {0};
	struct tcp_hdr h = {
	    .sport = sport, .dport = dport, .seq = 1000, .ack = 1, .flags = flags, .win = 1024};
	tcp_emit(t, &h);
	struct pkt *p = ip4_packet(src, dst, IPPROTO_TCP, t, sizeof(t));
	l4_cksum(p);
	return p;
}

/* A pass rule keeps state from a SYN only (flags S/SA): a segment of a
 * connection pf never saw open matches no state and not the rule, and the
 * block before it drops it. */
static void test_tcp_state_begins_with_a_syn(void)
{
	struct sim *s = sim_new(1);
	struct node *n = router(s, "block\npass in on wan0 proto tcp to port 80\n");
	struct pkt *p = tcp4("192.0.2.1", 5000, "198.51.100.2", 80, TH_SYN);
	CU_ASSERT_FATAL(pf_test(n, PF_IN, "wan0", p));
	pkt_free(p);
	CU_ASSERT_EQUAL(pf_state_count(n), 1);
	/* the connection's later segments go by the state */
	p = tcp4("192.0.2.1", 5000, "198.51.100.2", 80, TH_ACK);
	CU_ASSERT(pf_test(n, PF_IN, "wan0", p));
	pkt_free(p);
	/* an ACK, a SYN-ACK, a FIN of no state: blocked, each counted */
	uint8_t fl[] = {TH_ACK, TH_SYN | TH_ACK, TH_FIN | TH_ACK};
	for (size_t i = 0; i < ARRAY_LEN(fl); i++) {
		p = tcp4("192.0.2.1", 5001, "198.51.100.2", 80, fl[i]);
		CU_ASSERT_FALSE(pf_test(n, PF_IN, "wan0", p));
	}
	CU_ASSERT_EQUAL(n->stats[STAT_PF_BLOCK], 3);
	CU_ASSERT_EQUAL(n->pf->rules[0].packets[0], 3);
	CU_ASSERT_EQUAL(pf_state_count(n), 1);
	/* "flags any": any segment may make the state */
	CU_ASSERT_EQUAL_FATAL(load(n, "block\npass in on wan0 proto tcp to port 80 flags any\n"),
			      0);
	p = tcp4("192.0.2.1", 5001, "198.51.100.2", 80, TH_ACK);
	CU_ASSERT(pf_test(n, PF_IN, "wan0", p));
	pkt_free(p);
	CU_ASSERT_EQUAL(pf_state_count(n), 1);
	sim_free(s);
}

/* A translating state is found going in by the address it shows outside
 * (its wire key), never by the inside address: a packet sent from outside
 * straight to the inside address and port meets the rules. */
static void test_nat_state_not_found_by_the_inside_address(void)
{
	struct sim *s = sim_new(1);
	struct node *n = router(s, "block in on wan0\nmatch out on wan0 nat-to 198.51.100.2\n"
				   "pass out\n");
	struct pkt *p = udp4("192.168.1.10", 1000, "192.0.2.1", 53);
	CU_ASSERT_FATAL(pf_test(n, PF_OUT, "wan0", p));
	uint16_t nport = get_be16(p->data + IP4_HDR_LEN);
	pkt_free(p);
	p = udp4("192.0.2.1", 53, "192.168.1.10", 1000);
	CU_ASSERT_FALSE(pf_test(n, PF_IN, "wan0", p));
	CU_ASSERT_EQUAL(n->stats[STAT_PF_BLOCK], 1);
	p = udp4("192.0.2.1", 53, "198.51.100.2", nport);
	CU_ASSERT(pf_test(n, PF_IN, "wan0", p));
	pkt_free(p);
	sim_free(s);
}

/* An ICMP port unreachable from `from` to `to`, quoting the datagram
 * qsrc:4000 -> 192.0.2.1:53. */
static struct pkt *unreach(const char *from, const char *to, const char *qsrc)
{
	struct pkt *q = udp4(qsrc, 4000, "192.0.2.1", 53);
	uint8_t m[8 + 28] = {ICMP_UNREACH, ICMP_UNREACH_PORT};
	memcpy(m + 8, q->data, 28);
	pkt_free(q);
	struct pkt *p = ip4_packet(from, to, IPPROTO_ICMP, m, sizeof(m));
	l4_cksum(p);
	return p;
}

static void test_icmp_errors_by_their_state(void)
{
	struct sim *s = sim_new(1);
	struct node *n = router(s, "block\npass out on wan0 proto udp\n");
	struct pkt *p = udp4("198.51.100.2", 4000, "192.0.2.1", 53);
	CU_ASSERT_FATAL(pf_test(n, PF_OUT, "wan0", p));
	pkt_free(p);
	/* to the quoted packet's source: the state lets it in */
	p = unreach("192.0.2.1", "198.51.100.2", "198.51.100.2");
	CU_ASSERT(pf_test(n, PF_IN, "wan0", p));
	pkt_free(p);
	/* the same quote to someone else: refused as a state mismatch */
	p = unreach("192.0.2.1", "198.51.100.99", "198.51.100.2");
	CU_ASSERT_FALSE(pf_test(n, PF_IN, "wan0", p));
	CU_ASSERT_EQUAL(n->stats[STAT_PF_STATE_MISMATCH], 1);
	/* quoting a packet no state knows: the rules, which block */
	p = unreach("192.0.2.1", "198.51.100.2", "198.51.100.3");
	CU_ASSERT_FALSE(pf_test(n, PF_IN, "wan0", p));
	CU_ASSERT_EQUAL(n->stats[STAT_PF_BLOCK], 1);
	sim_free(s);
}

void suite_pf(void)
{
	static const struct unit_test t[] = {
	    {"rules as pfctl prints them", test_rules_as_pfctl_prints_them},
	    {"translation keeps checksums", test_translation_keeps_checksums},
	    {"NAT ports until none is left", test_nat_ports_until_none_is_left},
	    {"last match and quick", test_last_match_and_quick},
	    {"states both ways and not a stranger", test_states_both_ways_and_not_a_stranger},
	    {"ICMP errors by their state", test_icmp_errors_by_their_state},
	    {"TCP state begins with a SYN", test_tcp_state_begins_with_a_syn},
	    {"a NAT state is not found by the inside address",
	     test_nat_state_not_found_by_the_inside_address},
	    {NULL, NULL}};
	unit_add_suite("pf", t);
}
