/* Input paths: each malformed or unwanted packet is dropped under its own
 * name, and answered with the ICMP error RFC 1122 asks for (or none). */
#include <errno.h>
#include <string.h>

#include "../../stack/cksum.h"
#include "../../stack/ether.h"
#include "../../stack/icmp.h"
#include "../../stack/ip4.h"
#include "../../stack/udp.h"
#include "../../stack/util.h"
#include "unit.h"

struct spec {
	const char *src, *dst;
	uint8_t proto, ttl;
	const uint8_t *opts;
	size_t optlen;
	uint8_t l4[64]; /* transport bytes */
	size_t l4len;
	int fix_l4; /* 1: UDP checksum, 2: ICMP checksum, 0: as given */
	int bcast;  /* arrived as a link-layer broadcast */
};

static struct pkt *build(const struct spec *s, struct iface *rcvif)
{
	struct ip4_hdr h = {0};
	addr_parse(s->src, &h.src);
	addr_parse(s->dst, &h.dst);
	h.proto = s->proto;
	h.ttl = s->ttl ? s->ttl : 64;
	h.opts = s->opts;
	h.optlen = s->optlen;
	size_t hlen = IP4_HDR_LEN + ((s->optlen + 3) & ~(size_t)3);
	h.len = (uint16_t)(hlen + s->l4len);
	struct pkt *p = pkt_alloc(PKT_HEADROOM, h.len);
	ip4_emit(p->data, &h);
	uint8_t *l4 = p->data + hlen;
	memcpy(l4, s->l4, s->l4len);
	if (s->fix_l4 == 1) {
		uint32_t sum = cksum_pseudo(&h.src, &h.dst, 17, (uint32_t)s->l4len);
		put_be16(l4 + 6, 0);
		put_be16(l4 + 6, cksum_fold(cksum_add(sum, l4, s->l4len)));
	} else if (s->fix_l4 == 2) {
		put_be16(l4 + 2, 0);
		put_be16(l4 + 2, in_cksum(l4, s->l4len));
	}
	p->rcvif = rcvif;
	if (s->bcast)
		p->flags |= PKT_LINKBCAST;
	return p;
}

/* An ICMP error about a UDP datagram 10.0.0.2:9 -> 10.0.0.1:53 (quoted). */
#define QUOTE_UDP \
	0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1, 0, 9, 0, 53, 0, 8, 0, 0

static void test_input_table(void)
{
	static const uint8_t bad_opt[4] = {0x07, 0x00, 0x00, 0x00};
	static const struct {
		const char *what;
		struct spec s;
		int forwarding;
		int stat1, val1; /* the drop counter */
		int stat2, val2; /* what else must move (ICMP sent ...) */
	} rows[] = {
	    {"unknown protocol",
	     {"10.0.0.1", "10.0.0.2", 99, 0, NULL, 0, {1, 2, 3, 4}, 4, 0, 0},
	     0,
	     STAT_IP_NOPROTO,
	     1,
	     STAT_ICMP_OUTHIST_UNREACH,
	     1},
	    {"bad option",
	     {"10.0.0.1", "10.0.0.2", 17, 0, bad_opt, 4, {0}, 8, 0, 0},
	     0,
	     STAT_IP_BADOPTIONS,
	     1,
	     STAT_ICMP_OUTHIST_PARAMPROB,
	     1},
	    {"broadcast source",
	     {"255.255.255.255", "10.0.0.2", 17, 0, NULL, 0, {0}, 8, 0, 0},
	     0,
	     STAT_IP_BADADDR,
	     1,
	     STAT_ICMP_ERROR,
	     0},
	    {"not ours, not forwarding",
	     {"10.0.0.1", "10.0.9.9", 17, 0, NULL, 0, {0}, 8, 0, 0},
	     0,
	     STAT_IP_CANTFORWARD,
	     1,
	     STAT_ICMP_ERROR,
	     0},
	    {"not ours, TTL 1",
	     {"10.0.0.1", "10.0.9.9", 17, 1, NULL, 0, {0}, 8, 0, 0},
	     1,
	     STAT_IP_TTLEXCEEDED,
	     1,
	     STAT_ICMP_OUTHIST_TIMXCEED,
	     1},
	    {"not ours, no route",
	     {"10.0.0.1", "10.0.9.9", 17, 0, NULL, 0, {0}, 8, 0, 0},
	     1,
	     STAT_IP_NOROUTE,
	     1,
	     STAT_ICMP_OUTHIST_UNREACH,
	     1},
	    {"forwarding a link broadcast",
	     {"10.0.0.1", "10.0.9.9", 17, 0, NULL, 0, {0}, 8, 0, 1},
	     1,
	     STAT_IP_CANTFORWARD,
	     1,
	     STAT_ICMP_ERROR,
	     0},
	    {"no error about an ICMP error",
	     {"10.0.0.1", "10.0.9.9", 1, 1, NULL, 0, {3, 3, 0, 0}, 8, 2, 0},
	     1,
	     STAT_ICMP_OLDICMP,
	     1,
	     STAT_ICMP_ERROR,
	     0},
	    {"UDP bad checksum",
	     {"10.0.0.1",
	      "10.0.0.2",
	      17,
	      0,
	      NULL,
	      0,
	      {0, 1, 0, 9, 0, 10, 0x12, 0x34, 'h', 'i'},
	      10,
	      0,
	      0},
	     0,
	     STAT_UDP_BADSUM,
	     1,
	     STAT_ICMP_ERROR,
	     0},
	    {"UDP length beyond the packet",
	     {"10.0.0.1", "10.0.0.2", 17, 0, NULL, 0, {0, 1, 0, 9, 0, 40, 0, 0}, 8, 0, 0},
	     0,
	     STAT_UDP_BADLEN,
	     1,
	     STAT_ICMP_ERROR,
	     0},
	    {"UDP shorter than its header",
	     {"10.0.0.1", "10.0.0.2", 17, 0, NULL, 0, {0, 1, 0, 9}, 4, 0, 0},
	     0,
	     STAT_UDP_HDROPS,
	     1,
	     STAT_ICMP_ERROR,
	     0},
	    {"UDP to a closed port",
	     {"10.0.0.1",
	      "10.0.0.2",
	      17,
	      0,
	      NULL,
	      0,
	      {0, 1, 0, 7, 0, 10, 0, 0, 'h', 'i'},
	      10,
	      1,
	      0},
	     0,
	     STAT_UDP_NOPORT,
	     1,
	     STAT_ICMP_OUTHIST_UNREACH,
	     1},
	    {"UDP without checksum is accepted",
	     {"10.0.0.1", "10.0.0.2", 17, 0, NULL, 0, {0, 1, 0, 7, 0, 8, 0, 0}, 8, 0, 0},
	     0,
	     STAT_UDP_NOSUM,
	     1,
	     STAT_UDP_NOPORT,
	     1},
	    {"UDP broadcast to a closed port",
	     {"10.0.0.1", "10.0.0.255", 17, 0, NULL, 0, {0, 1, 0, 7, 0, 8, 0, 0}, 8, 1, 1},
	     0,
	     STAT_UDP_NOPORTBCAST,
	     1,
	     STAT_ICMP_ERROR,
	     0},
	    {"ICMP too short",
	     {"10.0.0.1", "10.0.0.2", 1, 0, NULL, 0, {8, 0, 0, 0}, 4, 0, 0},
	     0,
	     STAT_ICMP_TOOSHORT,
	     1,
	     STAT_ICMP_ERROR,
	     0},
	    {"ICMP bad checksum",
	     {"10.0.0.1", "10.0.0.2", 1, 0, NULL, 0, {8, 0, 0, 1}, 8, 0, 0},
	     0,
	     STAT_ICMP_CHECKSUM,
	     1,
	     STAT_ICMP_OUTHIST_ECHOREPLY,
	     0},
	    {"ICMP unreachable code 16",
	     {"10.0.0.1",
	      "10.0.0.2",
	      1,
	      0,
	      NULL,
	      0,
	      {3, 16, 0, 0, 0, 0, 0, 0, QUOTE_UDP},
	      36,
	      2,
	      0},
	     0,
	     STAT_ICMP_BADCODE,
	     1,
	     STAT_ICMP_INHIST_UNREACH,
	     1},
	    {"ICMP error quoting too little",
	     {"10.0.0.1", "10.0.0.2", 1, 0, NULL, 0, {3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0}, 10, 2, 0},
	     0,
	     STAT_ICMP_BADLEN,
	     1,
	     STAT_ICMP_INHIST_UNREACH,
	     1},
	    {"echo to a broadcast",
	     {"10.0.0.1", "10.0.0.255", 1, 0, NULL, 0, {8, 0, 0, 0, 0, 1, 0, 1}, 8, 2, 1},
	     0,
	     STAT_ICMP_BMCASTECHO,
	     1,
	     STAT_ICMP_OUTHIST_ECHOREPLY,
	     0},
	    {"echo reply for no ping",
	     {"10.0.0.1", "10.0.0.2", 1, 0, NULL, 0, {0, 0, 0, 0, 0, 1, 0, 1}, 8, 2, 0},
	     0,
	     STAT_ICMP_UNHANDLED,
	     1,
	     STAT_ICMP_INHIST_ECHOREPLY,
	     1},
	    {"echo request answered",
	     {"10.0.0.1", "10.0.0.2", 1, 0, NULL, 0, {8, 0, 0, 0, 0, 1, 0, 1}, 8, 2, 0},
	     0,
	     STAT_ICMP_REFLECT,
	     1,
	     STAT_ICMP_OUTHIST_ECHOREPLY,
	     1},
	    {"port unreachable about our UDP reaches the socket",
	     {"10.0.0.1", "10.0.0.2", 1, 0, NULL, 0, {3, 3, 0, 0, 0, 0, 0, 0, QUOTE_UDP}, 36, 2, 0},
	     0,
	     STAT_ICMP_INHIST_UNREACH,
	     1,
	     STAT_ICMP_BADLEN,
	     0},
	};
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct sim *s = sim_new(1);
		struct node *a, *b;
		unit_pair(s, &a, &b, 0);
		b->sysctl[SYSCTL_IP_FORWARDING] = rows[r].forwarding;
		struct udp_sock *us = udp_open(b);
		udp_bind(us, NULL, 9);
		ip4_input(b, build(&rows[r].s, b->ifaces[0]));
		uint64_t v1 = b->stats[rows[r].stat1], v2 = b->stats[rows[r].stat2];
		if (v1 != (uint64_t)rows[r].val1 || v2 != (uint64_t)rows[r].val2)
			fprintf(stderr, "\ninput row %u (%s): %s=%llu %s=%llu\n", r + 1,
				rows[r].what, stat_name(rows[r].stat1), (unsigned long long)v1,
				stat_name(rows[r].stat2), (unsigned long long)v2);
		CU_ASSERT_EQUAL(v1, (uint64_t)rows[r].val1);
		CU_ASSERT_EQUAL(v2, (uint64_t)rows[r].val2);
		if (r == sizeof(rows) / sizeof(rows[0]) - 1)
			CU_ASSERT_EQUAL(us->so_error, ECONNREFUSED);
		udp_close(us);
		sim_free(s);
	}
}

static void test_icmp_error_rate_limit(void)
{
	struct sim *s = sim_new(1);
	struct node *a, *b;
	unit_pair(s, &a, &b, 0);
	b->sysctl[SYSCTL_ICMP_ERRPPSLIMIT] = 2;
	struct spec sp = {"10.0.0.1", "10.0.0.2", 17, 0, NULL, 0, {0, 1, 0, 7, 0, 8, 0, 0},
			  8,          1,          0};
	for (int i = 0; i < 5; i++)
		ip4_input(b, build(&sp, b->ifaces[0]));
	CU_ASSERT_EQUAL(b->stats[STAT_UDP_NOPORT], 5);
	CU_ASSERT_EQUAL(b->stats[STAT_ICMP_ERROR], 2);
	CU_ASSERT_EQUAL(b->stats[STAT_ICMP_TOOFREQ], 3);
	/* A new second, a new allowance. */
	sim_run(s, NS_PER_SEC, NULL, NULL);
	ip4_input(b, build(&sp, b->ifaces[0]));
	CU_ASSERT_EQUAL(b->stats[STAT_ICMP_ERROR], 3);
	sim_free(s);
}

/* Mangled frames never crash the stack or leak: valid frames of every kind
 * the stack parses, with bytes flipped, cut short or replaced by noise, fed
 * to an interface.  Run under ASan by make check, this finds any read past a
 * length that was not checked. */
static void test_mangled_frames(void)
{
	static const uint8_t ra[4] = {0x94, 0x04, 0x00, 0x00};
	static const struct spec seeds[] = {
	    {"10.0.0.1", "10.0.0.2", 1, 0, NULL, 0, {8, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4}, 12, 2, 0},
	    {"10.0.0.1", "10.0.0.2", 17, 0, ra, 4, {0, 1, 0, 9, 0, 10, 0, 0, 'h', 'i'}, 10, 1, 0},
	    {"10.0.0.1", "10.0.0.2", 17, 0, NULL, 0, {0, 1, 0, 7, 0, 10, 0, 0, 'h', 'i'}, 10, 1, 0},
	    {"10.0.0.1", "10.0.0.2", 1, 0, NULL, 0, {3, 3, 0, 0, 0, 0, 0, 0, QUOTE_UDP}, 36, 2, 0},
	    {"10.0.0.1", "10.0.9.9", 1, 0, NULL, 0, {8, 0, 0, 0, 0, 1, 0, 1}, 8, 2, 0},
	};
	struct sim *s = sim_new(1);
	struct node *a, *b;
	unit_pair(s, &a, &b, 1000);
	b->sysctl[SYSCTL_IP_FORWARDING] = 1;
	struct route via_a = {.plen = 24, .ifp = b->ifaces[0]};
	addr_parse("10.0.9.0", &via_a.dst);
	addr_parse("10.0.0.1", &via_a.gw);
	route_add(&b->rt, &via_a);
	struct udp_sock *us = udp_open(b);
	udp_bind(us, NULL, 9);
	struct rng g;
	rng_seed(&g, 2026, "mangle");
	struct iface *ifp = b->ifaces[0];
	const unsigned rounds = 300000;
	for (unsigned i = 0; i < rounds; i++) {
		struct pkt *p;
		unsigned kind = (unsigned)rng_below(&g, ARRAY_LEN(seeds) + 2);
		if (kind < ARRAY_LEN(seeds)) {
			p = build(&seeds[kind], ifp);
			if (i % 3 == 0) { /* make some of them fragments */
				put_be16(p->data + 6, (uint16_t)rng_below(&g, 0x10000));
				size_t hl = (size_t)(p->data[0] & 0x0f) * 4;
				put_be16(p->data + 10, 0);
				put_be16(p->data + 10, in_cksum(p->data, hl));
			}
		} else if (kind == ARRAY_LEN(seeds)) {
			static const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1,
							10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2};
			p = pkt_from(arp, sizeof(arp), PKT_HEADROOM);
		} else {
			size_t len = (size_t)rng_below(&g, 80);
			p = pkt_alloc(PKT_HEADROOM, len);
			rng_bytes(&g, p->data, len);
			if (len)
				p->data[0] = 0x45;
		}
		uint16_t type = kind == ARRAY_LEN(seeds) ? 0x0806 : 0x0800;
		/* Flip up to four bytes, then maybe cut the packet short. */
		unsigned flips = (unsigned)rng_below(&g, 5);
		for (unsigned k = 0; k < flips && p->len; k++)
			p->data[rng_below(&g, p->len)] ^= (uint8_t)(1 + rng_below(&g, 255));
		if (p->len && rng_below(&g, 4) == 0)
			pkt_trim(p, (size_t)rng_below(&g, p->len));
		uint8_t *eh = pkt_push(p, 14);
		memcpy(eh, ifp->mac, 6);
		memcpy(eh + 6, a->ifaces[0]->mac, 6);
		put_be16(eh + 12, type);
		p->rcvif = NULL;
		iface_receive(ifp, p);
		if (i % 1000 == 0)
			sim_run(s, s->now + NS_PER_SEC / 10, NULL, NULL);
	}
	sim_run(s, s->now + 60 * NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(b->stats[STAT_ETHER_IPACKETS], rounds + a->stats[STAT_ETHER_OPACKETS]);
	/* The mangling reached every layer: each of these fired. */
	static const enum stat_id reached[] = {
	    STAT_IP_BADSUM,   STAT_IP_BADVERS,   STAT_IP_BADHLEN,  STAT_IP_TOOSHORT,
	    STAT_IP_FRAGMENTS, STAT_UDP_BADSUM,  STAT_ICMP_CHECKSUM, STAT_ARP_RECEIVED,
	    STAT_IP_FORWARD,  STAT_ICMP_REFLECT, STAT_UDP_NOPORT};
	for (unsigned k = 0; k < ARRAY_LEN(reached); k++) {
		if (b->stats[reached[k]] == 0)
			fprintf(stderr, "\nmangled frames never reached %s\n", stat_name(reached[k]));
		CU_ASSERT_TRUE(b->stats[reached[k]] > 0);
	}
	udp_close(us);
	sim_free(s);
}

/* What a sender's stack noted on a buffer (the SA that decrypted it,
 * IPComp, NAT-T, forwarding) must not come with the frame to another node:
 * there it would pass input policy checks or look like IPComp inside
 * IPComp. */
static void test_a_frame_arrives_as_a_new_packet(void)
{
	struct sim *s = sim_new(1);
	struct node *a, *b;
	unit_pair(s, &a, &b, 1000);
	struct udp_sock *us = udp_open(b);
	udp_bind(us, NULL, 9);
	struct spec sp = {"10.0.0.1", "10.0.0.2", 17, 0, NULL, 0, {0, 1, 0, 9, 0, 10, 0, 0, 'h', 'i'},
			  10, 1, 0};
	struct pkt *p = build(&sp, NULL);
	uint8_t *eh = pkt_push(p, ETHER_HDR_LEN);
	struct ether_hdr h = {.type = ETHERTYPE_IP};
	memcpy(h.dst, b->ifaces[0]->mac, ETHER_ADDR_LEN);
	memcpy(h.src, a->ifaces[0]->mac, ETHER_ADDR_LEN);
	ether_emit(eh, &h);
	p->flags = PKT_FORWARDED | PKT_ENCIF;
	p->ipsec_flags = PKT_M_CONF | PKT_M_AUTH | PKT_M_COMP | PKT_M_TUNNEL;
	p->in_done = (struct pkt_sa){0x1000, 50, b->ifaces[0]->addrs[0].addr};
	p->in_all[0] = p->in_done;
	p->nin_all = 1;
	p->nout_done = 2;
	p->encap_sport = 4500;
	ether_input(b->ifaces[0], p);
	CU_ASSERT_EQUAL_FATAL(us->rx_packets, 1);
	const struct pkt *got = us->rq_head->p;
	CU_ASSERT_EQUAL(got->flags & (PKT_FORWARDED | PKT_ENCIF), 0);
	CU_ASSERT_EQUAL(got->ipsec_flags, 0);
	CU_ASSERT_EQUAL(got->in_done.proto, 0);
	CU_ASSERT_EQUAL(got->nin_all, 0);
	CU_ASSERT_EQUAL(got->nout_done, 0);
	CU_ASSERT_EQUAL(got->encap_sport, 0);
	udp_close(us);
	sim_free(s);
}

static void test_every_drop_counts_once(void)
{
	/* A drop reason is a counter; a plain counter is not a drop reason. */
	CU_ASSERT_TRUE(stat_is_drop(STAT_IP_BADSUM));
	CU_ASSERT_FALSE(stat_is_drop(STAT_IP_TOTAL));
	CU_ASSERT_EQUAL(stat_lookup("ip.badsum"), STAT_IP_BADSUM);
	CU_ASSERT_EQUAL(stat_lookup("ip.nosuch"), -1);
	for (int i = 0; i < STAT__COUNT; i++)
		CU_ASSERT_EQUAL(stat_lookup(stat_name((enum stat_id)i)), i); /* names unique */
}

void suite_input(void)
{
	static const struct unit_test t[] = {{"input paths table", test_input_table},
					     {"ICMP error rate limit", test_icmp_error_rate_limit},
					     {"counter names", test_every_drop_counts_once},
					     {"mangled frames", test_mangled_frames},
					     {"a frame arrives as a new packet",
					      test_a_frame_arrives_as_a_new_packet},
					     {NULL, NULL}};
	unit_add_suite("input", t);
}
