/* Neighbor discovery: the neighbor cache's state transitions (RFC 4861
 * 7.3.2, appendix C) on two nodes sharing a wire, and the checks on the
 * messages themselves. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "../../stack/cksum.h"
#include "../../stack/icmp.h"
#include "../../stack/icmp6.h"
#include "../../stack/ip6.h"
#include "../../stack/nd.h"
#include "../../stack/route.h"
#include "../../stack/udp.h"
#include "../../stack/util.h"
#include "unit.h"

#define MS (NS_PER_SEC / 1000)

struct bench {
	struct sim *s;
	struct node *a, *b;
	struct ipaddr a6, b6;
	struct echo_sock *es;
	unsigned replies;
};

static void on_reply(struct echo_sock *s, const struct echo_event *ev, void *arg)
{
	struct bench *t = arg;
	(void)s;
	if (!ev->is_error)
		t->replies++;
}

static void setup(struct bench *t)
{
	memset(t, 0, sizeof(*t));
	t->s = sim_new(1);
	unit_pair(t->s, &t->a, &t->b, MS); /* 1 ms each way */
	addr_parse("2001:db8::1", &t->a6);
	addr_parse("2001:db8::2", &t->b6);
	CU_ASSERT_EQUAL(iface_add_addr(t->a->ifaces[0], &t->a6, 64), 0);
	CU_ASSERT_EQUAL(iface_add_addr(t->b->ifaces[0], &t->b6, 64), 0);
	t->es = icmp_echo_open(t->a, on_reply, t);
}

static void ping(struct bench *t, const struct ipaddr *dst, uint16_t seq)
{
	CU_ASSERT_EQUAL(icmp_echo_send(t->es, dst, seq, (const uint8_t *)"x", 1, 0, 0, false), 0);
}

static const struct nd_entry *entry(struct node *n, const struct ipaddr *ip)
{
	return nd_lookup(n->ifaces[0], ip);
}

static void run_to(struct bench *t, uint64_t ms)
{
	sim_run(t->s, ms * MS, NULL, NULL);
}

static void test_resolution(void)
{
	struct bench t;
	setup(&t);
	ping(&t, &t.b6, 0);
	/* a waits for b's address, the request held */
	const struct nd_entry *e = entry(t.a, &t.b6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->state, ND_INCOMPLETE);
	CU_ASSERT_EQUAL(e->hold.len, 1);
	run_to(&t, 1);
	/* b learned a from the solicitation's source address (stale), and
	 * sending its advertisement there started the delay (RFC 4861 7.3.3) */
	CU_ASSERT_EQUAL(entry(t.b, &t.a6)->state, ND_DELAY);
	run_to(&t, 2);
	/* the solicited advertisement makes a's entry reachable and sends the
	 * request; b answers through its entry, still in its delay */
	CU_ASSERT_EQUAL(e->state, ND_REACHABLE);
	CU_ASSERT_EQUAL(memcmp(e->mac, t.b->ifaces[0]->mac, 6), 0);
	CU_ASSERT_EQUAL(e->hold.len, 0);
	run_to(&t, 4);
	CU_ASSERT_EQUAL(t.replies, 1);
	CU_ASSERT_EQUAL(entry(t.b, &t.a6)->state, ND_DELAY);
	/* five seconds after the delay began, b probes a with a unicast
	 * solicitation; a answers, solicited: b's entry is reachable */
	run_to(&t, 1 + 5000);
	CU_ASSERT_EQUAL(entry(t.b, &t.a6)->state, ND_PROBE);
	run_to(&t, 1 + 5000 + 2);
	CU_ASSERT_EQUAL(entry(t.b, &t.a6)->state, ND_REACHABLE);
	CU_ASSERT_EQUAL(t.b->stats[STAT_ND6_SOLICITS], 1);
	CU_ASSERT_EQUAL(t.a->stats[STAT_ND6_SOLICITS], 1);
	CU_ASSERT_EQUAL(t.a->stats[STAT_ND6_ADVERTS], 1);
	/* after ReachableTime a's entry is stale when next used: delay */
	run_to(&t, 2 + ND_REACHABLE_TIME_MS + 1);
	CU_ASSERT_EQUAL(e->state, ND_REACHABLE); /* checked only when used */
	ping(&t, &t.b6, 1);
	CU_ASSERT_EQUAL(e->state, ND_DELAY);
	run_to(&t, 2 + ND_REACHABLE_TIME_MS + 10);
	CU_ASSERT_EQUAL(t.replies, 2);
	/* nothing pending once every entry is settled: the run can end */
	sim_run(t.s, UINT64_MAX, NULL, NULL);
	CU_ASSERT_TRUE(sim_idle(t.s));
	CU_ASSERT_EQUAL(e->state, ND_REACHABLE);
	sim_free(t.s);
}

static void test_no_answer(void)
{
	struct bench t;
	setup(&t);
	struct ipaddr nobody;
	addr_parse("2001:db8::99", &nobody);
	for (uint16_t i = 0; i < ND_MAXHOLD + 2; i++)
		ping(&t, &nobody, i);
	const struct nd_entry *e = entry(t.a, &nobody);
	CU_ASSERT_EQUAL(e->hold.len, ND_MAXHOLD);
	CU_ASSERT_EQUAL(t.a->stats[STAT_ND6_DROPPED], 2);
	run_to(&t, 2999);
	CU_ASSERT_EQUAL(t.a->stats[STAT_ND6_SOLICITS], ND_MAX_MULTICAST_SOLICIT);
	CU_ASSERT_PTR_NOT_NULL(entry(t.a, &nobody));
	run_to(&t, 3001);
	CU_ASSERT_PTR_NULL(entry(t.a, &nobody));
	CU_ASSERT_EQUAL(t.a->stats[STAT_ND6_TIMEOUT], ND_MAXHOLD);
	CU_ASSERT_EQUAL(t.a->stats[STAT_ND6_SOLICITS], ND_MAX_MULTICAST_SOLICIT);
	sim_free(t.s);
}

/* A neighbor advertisement or solicitation for b's interface, from a, as
 * it arrives (IPv6 header at p->data). */
static struct pkt *nd_packet(struct bench *t, uint8_t type, uint8_t flags,
			     const struct ipaddr *target, const uint8_t *mac, uint8_t hlim,
			     const struct ipaddr *dst)
{
	uint8_t m[32] = {type};
	m[4] = flags;
	memcpy(m + 8, target->a, 16);
	m[24] = type == ND_NEIGHBOR_SOLICIT ? 1 : 2;
	m[25] = 1;
	memcpy(m + 26, mac, 6);
	uint32_t s = cksum_pseudo(&t->a6, dst, IPPROTO_ICMPV6, sizeof(m));
	put_be16(m + 2, cksum_fold(cksum_add(s, m, sizeof(m))));
	struct ip6_hdr h = {.plen = sizeof(m), .nxt = IPPROTO_ICMPV6, .hlim = hlim};
	h.src = t->a6;
	h.dst = *dst;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, IP6_HDR_LEN + sizeof(m));
	ip6_emit(p->data, &h);
	memcpy(p->data + IP6_HDR_LEN, m, sizeof(m));
	p->rcvif = t->b->ifaces[0];
	return p;
}

static void test_advertisements(void)
{
	struct bench t;
	setup(&t);
	static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
	/* b resolving a: an unsolicited advertisement without override from
	 * another MAC does not change a reachable entry's address, only
	 * makes it stale; with override it does */
	struct echo_sock *es = icmp_echo_open(t.b, on_reply, &t);
	CU_ASSERT_EQUAL(icmp_echo_send(es, &t.a6, 0, NULL, 0, 0, 0, false), 0);
	run_to(&t, 5);
	const struct nd_entry *e = entry(t.b, &t.a6);
	CU_ASSERT_EQUAL_FATAL(e->state, ND_REACHABLE);
	uint8_t real[6];
	memcpy(real, e->mac, 6);
	ip6_input(t.b, nd_packet(&t, ND_NEIGHBOR_ADVERT, 0, &t.a6, mac1, 255, &t.b6));
	CU_ASSERT_EQUAL(e->state, ND_STALE);
	CU_ASSERT_EQUAL(memcmp(e->mac, real, 6), 0);
	ip6_input(t.b, nd_packet(&t, ND_NEIGHBOR_ADVERT, 0x20, &t.a6, mac2, 255, &t.b6));
	CU_ASSERT_EQUAL(e->state, ND_STALE);
	CU_ASSERT_EQUAL(memcmp(e->mac, mac2, 6), 0);
	/* solicited and overriding: reachable at the new address */
	ip6_input(t.b, nd_packet(&t, ND_NEIGHBOR_ADVERT, 0x60, &t.a6, mac1, 255, &t.b6));
	CU_ASSERT_EQUAL(e->state, ND_REACHABLE);
	CU_ASSERT_EQUAL(memcmp(e->mac, mac1, 6), 0);
	/* an advertisement for an address nobody asked about is ignored */
	struct ipaddr other;
	addr_parse("2001:db8::77", &other);
	ip6_input(t.b, nd_packet(&t, ND_NEIGHBOR_ADVERT, 0x60, &other, mac1, 255, &t.b6));
	CU_ASSERT_PTR_NULL(entry(t.b, &other));
	/* RFC 4861 7.1: not from the link (hop limit 254), or solicited to a
	 * group: dropped and counted */
	ip6_input(t.b, nd_packet(&t, ND_NEIGHBOR_ADVERT, 0x60, &t.a6, mac2, 254, &t.b6));
	ip6_input(t.b, nd_packet(&t, ND_NEIGHBOR_ADVERT, 0x60, &t.a6, mac2, 255, &ip6_allnodes));
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_BADNA], 2);
	CU_ASSERT_EQUAL(memcmp(e->mac, mac1, 6), 0);
	struct ipaddr sn = ip6_solicited_node(&t.b6);
	ip6_input(t.b, nd_packet(&t, ND_NEIGHBOR_SOLICIT, 0, &t.b6, mac2, 64, &sn));
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_BADNS], 1);
	/* a solicitation for an address that is not b's gets no answer */
	uint64_t adverts = t.b->stats[STAT_ND6_ADVERTS];
	ip6_input(t.b, nd_packet(&t, ND_NEIGHBOR_SOLICIT, 0, &other, mac2, 255, &sn));
	CU_ASSERT_EQUAL(t.b->stats[STAT_ND6_ADVERTS], adverts);
	/* a good one from a new MAC: b's entry goes stale at that MAC, and
	 * b's answer to it starts the delay */
	ip6_input(t.b, nd_packet(&t, ND_NEIGHBOR_SOLICIT, 0, &t.b6, mac2, 255, &sn));
	CU_ASSERT_EQUAL(t.b->stats[STAT_ND6_ADVERTS], adverts + 1);
	CU_ASSERT_EQUAL(e->state, ND_DELAY);
	CU_ASSERT_EQUAL(memcmp(e->mac, mac2, 6), 0);
	icmp_echo_close(es);
	sim_free(t.s);
}

/* UDP over IPv6: the checksum is required (RFC 8200 8.1). */
static void test_udp6_checksum(void)
{
	struct bench t;
	setup(&t);
	struct udp_sock *s = udp_open(t.b);
	CU_ASSERT_EQUAL(udp_bind(s, NULL, 9), 0);
	for (int zero = 0; zero < 2; zero++) {
		uint8_t u[12] = {0x12, 0x34, 0, 9, 0, 12, 0, 0, 'a', 'b', 'c', 'd'};
		if (!zero) {
			uint32_t sum = cksum_pseudo(&t.a6, &t.b6, 17, sizeof(u));
			put_be16(u + 6, cksum_fold(cksum_add(sum, u, sizeof(u))));
		}
		struct ip6_hdr h = {.plen = sizeof(u), .nxt = 17, .hlim = 64};
		h.src = t.a6;
		h.dst = t.b6;
		struct pkt *p = pkt_alloc(PKT_HEADROOM, IP6_HDR_LEN + sizeof(u));
		ip6_emit(p->data, &h);
		memcpy(p->data + IP6_HDR_LEN, u, sizeof(u));
		p->rcvif = t.b->ifaces[0];
		ip6_input(t.b, p);
	}
	CU_ASSERT_EQUAL(s->rx_packets, 1);
	CU_ASSERT_EQUAL(t.b->stats[STAT_UDP_BADSUM], 1);
	CU_ASSERT_EQUAL(t.b->stats[STAT_UDP_NOSUM], 0);
	uint8_t buf[8];
	struct ipaddr from;
	uint16_t port;
	CU_ASSERT_EQUAL(udp_recvfrom(s, buf, sizeof(buf), &from, &port), 4);
	CU_ASSERT_TRUE(addr_eq(&from, &t.a6));
	CU_ASSERT_EQUAL(port, 0x1234);
	sim_free(t.s);
}

static void test_solicited_node(void)
{
	struct ipaddr a, want;
	addr_parse("2001:db8::12:3456", &a);
	addr_parse("ff02::1:ff12:3456", &want);
	struct ipaddr g = ip6_solicited_node(&a);
	CU_ASSERT_TRUE(addr_eq(&g, &want));
	uint8_t mac[6];
	ip6_multicast_mac(&g, mac);
	static const uint8_t m[6] = {0x33, 0x33, 0xff, 0x12, 0x34, 0x56};
	CU_ASSERT_EQUAL(memcmp(mac, m, 6), 0);
	struct ipaddr ll;
	addr_parse("fe80::1", &ll);
	CU_ASSERT_TRUE(ip6_is_linklocal(&ll));
	CU_ASSERT_FALSE(ip6_is_linklocal(&a));
}

/* RFC 4291 appendix A, RFC 4862 5.3: the first IPv6 address brings the
 * interface's link-local one, made from its MAC, without a route. */
static void test_linklocal(void)
{
	struct bench t;
	setup(&t);
	struct iface *ifp = t.a->ifaces[0];
	static const uint8_t mac[6] = {0x02, 0x47, 0x28, 0x42, 0xff, 0x0c};
	memcpy(ifp->mac, mac, 6);
	struct ipaddr want, got = iface_linklocal6(ifp);
	addr_parse("fe80::47:28ff:fe42:ff0c", &want);
	CU_ASSERT_TRUE(addr_eq(&got, &want));
	/* v4 first, then the link-local, then the global one */
	CU_ASSERT_EQUAL(ifp->naddrs, 3);
	CU_ASSERT_TRUE(ip6_is_linklocal(&ifp->addrs[1].addr));
	CU_ASSERT_EQUAL(ifp->addrs[1].plen, 64);
	CU_ASSERT_TRUE(addr_eq(&ifp->addrs[2].addr, &t.a6));
	CU_ASSERT_PTR_NULL(route_lookup(&t.a->rt, &ifp->addrs[1].addr));
	/* a second global address does not bring another */
	struct ipaddr g2;
	addr_parse("2001:db8:5::1", &g2);
	CU_ASSERT_EQUAL(iface_add_addr(ifp, &g2, 64), 0);
	CU_ASSERT_EQUAL(ifp->naddrs, 4);
	/* an echo to b's link-local address on the named interface */
	t.es->scope = ifp;
	struct ipaddr bll = t.b->ifaces[0]->addrs[1].addr;
	ping(&t, &bll, 0);
	run_to(&t, 10);
	CU_ASSERT_EQUAL(t.replies, 1);
	sim_free(t.s);
}

/* Router advertisements: a default route for the router lifetime, gone
 * with a lifetime of 0; malformed ones refused; routers ignore them. */
static void test_router_advertisement(void)
{
	struct bench t;
	setup(&t);
	struct ipaddr off_link;
	addr_parse("2001:db8:77::1", &off_link);
	CU_ASSERT_PTR_NULL(route_lookup(&t.b->rt, &off_link));
	nd_router_advertise(t.a->ifaces[0], 30);
	run_to(&t, 2);
	const struct route *rt = route_lookup(&t.b->rt, &off_link);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	struct ipaddr all = iface_linklocal6(t.a->ifaces[0]);
	CU_ASSERT_TRUE(addr_eq(&rt->gw, &all));
	CU_ASSERT_EQUAL(rt->plen, 0);
	/* b learned a's link-layer address from the option */
	CU_ASSERT_EQUAL(entry(t.b, &all)->state, ND_STALE);
	/* a refresh keeps it past the first lifetime */
	run_to(&t, 20000);
	nd_router_advertise(t.a->ifaces[0], 30);
	run_to(&t, 40000);
	CU_ASSERT_PTR_NOT_NULL(route_lookup(&t.b->rt, &off_link));
	/* lifetime 0: "do not use me" */
	nd_router_advertise(t.a->ifaces[0], 0);
	run_to(&t, 40010);
	CU_ASSERT_PTR_NULL(route_lookup(&t.b->rt, &off_link));
	/* and a lifetime that runs out */
	nd_router_advertise(t.a->ifaces[0], 5);
	run_to(&t, 44000);
	CU_ASSERT_PTR_NOT_NULL(route_lookup(&t.b->rt, &off_link));
	run_to(&t, 45100);
	CU_ASSERT_PTR_NULL(route_lookup(&t.b->rt, &off_link));
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_INHIST_RA], 4);
	/* a router does not take another's advice */
	t.b->sysctl[SYSCTL_IP6_FORWARDING] = 1;
	nd_router_advertise(t.a->ifaces[0], 30);
	run_to(&t, 45200);
	CU_ASSERT_PTR_NULL(route_lookup(&t.b->rt, &off_link));
	/* not from a link-local address, or not with hop limit 255: refused */
	t.b->sysctl[SYSCTL_IP6_FORWARDING] = 0;
	for (int k = 0; k < 2; k++) {
		uint8_t m[16] = {ND_ROUTER_ADVERT, 0, 0, 0, 64, 0, 0, 30};
		struct ip6_hdr h = {
		    .plen = sizeof(m), .nxt = IPPROTO_ICMPV6, .hlim = k ? 254 : 255};
		h.src = k ? all : t.a6;
		h.dst = ip6_allnodes;
		uint32_t s = cksum_pseudo(&h.src, &h.dst, IPPROTO_ICMPV6, sizeof(m));
		put_be16(m + 2, cksum_fold(cksum_add(s, m, sizeof(m))));
		struct pkt *p = pkt_alloc(PKT_HEADROOM, IP6_HDR_LEN + sizeof(m));
		ip6_emit(p->data, &h);
		memcpy(p->data + IP6_HDR_LEN, m, sizeof(m));
		p->rcvif = t.b->ifaces[0];
		p->flags |= PKT_LINKBCAST;
		ip6_input(t.b, p);
	}
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_BADRA], 2);
	CU_ASSERT_PTR_NULL(route_lookup(&t.b->rt, &off_link));
	sim_free(t.s);
}

/* An echo request from a to b behind one extension header (or an unknown
 * next header), handed to b's input as if it came off the wire. */
static void deliver_with(struct bench *t, uint8_t ext_type, const uint8_t *ext, size_t extlen,
			 const struct ipaddr *dst)
{
	uint8_t m[8] = {ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 1, 0, 1};
	uint32_t s = cksum_pseudo(&t->a6, dst, IPPROTO_ICMPV6, sizeof(m));
	put_be16(m + 2, cksum_fold(cksum_add(s, m, sizeof(m))));
	struct ip6_hdr h = {.plen = (uint16_t)(extlen + sizeof(m)), .nxt = ext_type, .hlim = 64};
	h.src = t->a6;
	h.dst = *dst;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, IP6_HDR_LEN + extlen + sizeof(m));
	ip6_emit(p->data, &h);
	memcpy(p->data + IP6_HDR_LEN, ext, extlen);
	memcpy(p->data + IP6_HDR_LEN + extlen, m, sizeof(m));
	p->rcvif = t->b->ifaces[0];
	if (addr_is_multicast(dst))
		p->flags |= PKT_LINKBCAST;
	ip6_input(t->b, p);
	run_to(t, t->s->now / MS + 5);
}

/* Options with each action (RFC 8200 4.2), routing headers (RFC 5095),
 * and an unknown next header, as b's input treats them. */
static void test_extension_headers_on_input(void)
{
	struct bench t;
	setup(&t);
	ping(&t, &t.b6, 0); /* resolve both ways first */
	run_to(&t, 10);
	uint64_t replies = t.b->stats[STAT_ICMP6_OUTHIST_ECHOREPLY];
	uint8_t hdr[64];
	static const uint8_t data2[2] = {0, 0};
	struct ip6_opt o = {.len = 2, .data = data2};
	/* skip: delivered */
	o.type = 0x1e;
	size_t len = ip6_opts_emit(hdr, sizeof(hdr), IPPROTO_ICMPV6, &o, 1);
	deliver_with(&t, IPPROTO_HOPOPTS, hdr, len, &t.b6);
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_OUTHIST_ECHOREPLY], replies + 1);
	/* discard: silently */
	o.type = 0x5e;
	len = ip6_opts_emit(hdr, sizeof(hdr), IPPROTO_ICMPV6, &o, 1);
	deliver_with(&t, IPPROTO_DSTOPTS, hdr, len, &t.b6);
	CU_ASSERT_EQUAL(t.b->stats[STAT_IP6_BADOPTIONS], 1);
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_OUTHIST_PARAMPROB], 0);
	/* discard and tell: a parameter problem (code 2) at the option */
	o.type = 0x9e;
	len = ip6_opts_emit(hdr, sizeof(hdr), IPPROTO_ICMPV6, &o, 1);
	deliver_with(&t, IPPROTO_DSTOPTS, hdr, len, &t.b6);
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_OUTHIST_PARAMPROB], 1);
	CU_ASSERT_EQUAL(t.a->stats[STAT_ICMP6_INHIST_PARAMPROB], 1);
	/* tell unless multicast: to all nodes, silence */
	o.type = 0xde;
	len = ip6_opts_emit(hdr, sizeof(hdr), IPPROTO_ICMPV6, &o, 1);
	deliver_with(&t, IPPROTO_DSTOPTS, hdr, len, &ip6_allnodes);
	CU_ASSERT_EQUAL(t.b->stats[STAT_IP6_BADOPTIONS], 3);
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_OUTHIST_PARAMPROB], 1);
	/* a routing header with segments left: refused (type 0 is gone,
	 * RFC 5095); with none left it is passed over */
	struct ipaddr via;
	addr_parse("2001:db8::9", &via);
	len = ip6_rthdr_emit(hdr, sizeof(hdr), IPPROTO_ICMPV6, 0, 1, &via, 1);
	deliver_with(&t, IPPROTO_ROUTING, hdr, len, &t.b6);
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_OUTHIST_PARAMPROB], 2);
	len = ip6_rthdr_emit(hdr, sizeof(hdr), IPPROTO_ICMPV6, 0, 0, &via, 1);
	deliver_with(&t, IPPROTO_ROUTING, hdr, len, &t.b6);
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_OUTHIST_ECHOREPLY], replies + 2);
	/* a next header nobody speaks: parameter problem code 1 */
	deliver_with(&t, 99, hdr, 0, &t.b6);
	CU_ASSERT_EQUAL(t.b->stats[STAT_IP6_NOPROTO], 1);
	CU_ASSERT_EQUAL(t.b->stats[STAT_ICMP6_OUTHIST_PARAMPROB], 3);
	CU_ASSERT_EQUAL(t.a->stats[STAT_ICMP6_INHIST_PARAMPROB], 3);
	sim_free(t.s);
}

/* Mangled IPv6 packets never crash the stack or leak: packets of each
 * kind the IPv6 input parses, with bits flipped, cut short, and (half of
 * the time) their upper-layer checksum made right again so that the
 * damage reaches past it.  make check runs it under ASan and UBSan. */
static void test_mangled_ipv6(void)
{
	struct bench t;
	setup(&t);
	struct udp_sock *us = udp_open(t.b);
	udp_bind(us, NULL, 9);
	t.b->sysctl[SYSCTL_IP6_FORWARDING] = 1;
	/* seeds: what a sends, as b receives it */
	struct pkt *seeds[16];
	unsigned nseeds = 0;
	uint8_t hdr[64];
	static const uint8_t two[2] = {0, 0};
	struct ip6_opt o = {.type = 0x1e, .len = 2, .data = two};
	struct ipaddr far;
	addr_parse("2001:db8:99::1", &far);
	struct {
		uint8_t ext;
		size_t extlen;
		uint8_t nxt;
		const struct ipaddr *dst;
		uint8_t body[24];
		size_t blen;
	} kinds[] = {
	    {0, 0, IPPROTO_ICMPV6, &t.b6, {128, 0, 0, 0, 0, 1, 0, 1, 'x'}, 9},
	    {IPPROTO_HOPOPTS, 1, IPPROTO_ICMPV6, &t.b6, {128, 0, 0, 0, 0, 1, 0, 2}, 8},
	    {IPPROTO_DSTOPTS, 1, 17, &t.b6, {0, 7, 0, 9, 0, 10, 0, 0, 'h', 'i'}, 10},
	    {IPPROTO_FRAGMENT,
	     2,
	     IPPROTO_ICMPV6,
	     &t.b6,
	     {128, 0, 0, 0, 0, 1, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8},
	     16},
	    {0, 0, IPPROTO_ICMPV6, &t.b6, {135, 0, 0, 0, 0, 0, 0, 0}, 8},
	    {0, 0, IPPROTO_ICMPV6, &t.b6, {1, 4, 0, 0, 0, 0, 0, 0, 0x60}, 24},
	    {0, 0, IPPROTO_ICMPV6, &far, {128, 0, 0, 0, 0, 1, 0, 4}, 8},
	    {IPPROTO_ROUTING, 3, 17, &t.b6, {0, 7, 0, 9, 0, 8, 0, 0}, 8},
	};
	for (unsigned k = 0; k < ARRAY_LEN(kinds); k++) {
		size_t extlen = 0;
		if (kinds[k].extlen == 1)
			extlen = ip6_opts_emit(hdr, sizeof(hdr), kinds[k].nxt, &o, 1);
		else if (kinds[k].extlen == 2) {
			struct ip6_frag f = {.nxt = kinds[k].nxt, .more = true, .id = k};
			extlen = ip6_frag_emit(hdr, &f);
		} else if (kinds[k].extlen == 3)
			extlen = ip6_rthdr_emit(hdr, sizeof(hdr), kinds[k].nxt, 0, 0, &far, 1);
		struct ip6_hdr h = {.plen = (uint16_t)(extlen + kinds[k].blen),
				    .nxt = extlen ? kinds[k].ext : kinds[k].nxt,
				    .hlim = kinds[k].body[0] == 135 ? 255 : 64};
		h.src = t.a6;
		h.dst = *kinds[k].dst;
		struct pkt *p = pkt_alloc(PKT_HEADROOM, IP6_HDR_LEN + h.plen);
		ip6_emit(p->data, &h);
		memcpy(p->data + IP6_HDR_LEN, hdr, extlen);
		memcpy(p->data + IP6_HDR_LEN + extlen, kinds[k].body, kinds[k].blen);
		seeds[nseeds++] = p;
	}
	struct rng g;
	rng_seed(&g, 2026, "mangle6");
	for (unsigned i = 0; i < 100000; i++) {
		struct pkt *p = pkt_clone(seeds[rng_below(&g, nseeds)]);
		unsigned flips = 1 + (unsigned)rng_below(&g, 4);
		for (unsigned f = 0; f < flips; f++)
			p->data[rng_below(&g, p->len)] ^= (uint8_t)(1u << rng_below(&g, 8));
		if (rng_below(&g, 4) == 0)
			pkt_trim(p, (size_t)rng_below(&g, p->len + 1));
		if (rng_below(&g, 2) == 0) {
			/* the upper layer's checksum made right again */
			struct ip6_hdr h;
			struct ip6_chain c;
			enum stat_id why;
			size_t ptr;
			uint8_t code;
			if (ip6_parse(p->data, p->len, &h, &why) == 0 &&
			    ip6_walk(p->data, IP6_HDR_LEN + h.plen, &c, &why, &ptr, &code) == 0 &&
			    !c.later_fragment && (c.proto == IPPROTO_ICMPV6 || c.proto == 17)) {
				size_t at = c.proto == 17 ? 6 : 2,
				       ulen = IP6_HDR_LEN + h.plen - c.off;
				if (ulen >= at + 2) {
					put_be16(p->data + c.off + at, 0);
					uint32_t s =
					    cksum_pseudo(&h.src, &h.dst, c.proto, (uint32_t)ulen);
					put_be16(p->data + c.off + at,
						 cksum_fold(cksum_add(s, p->data + c.off, ulen)));
				}
			}
		}
		p->rcvif = t.b->ifaces[0];
		ip6_input(t.b, p);
		if (i % 1000 == 0)
			sim_run(t.s, t.s->now + 100 * MS, NULL, NULL);
	}
	sim_run(t.s, UINT64_MAX, NULL, NULL);
	/* the damage reached every layer */
	static const enum stat_id reached[] = {
	    STAT_IP6_BADVERS,   STAT_IP6_TOOSHORT,        STAT_IP6_BADOPTIONS,
	    STAT_IP6_FRAGMENTS, STAT_ICMP6_CHECKSUM,      STAT_ICMP6_INHIST_ECHO,
	    STAT_ICMP6_BADNS,   STAT_UDP_IPACKETS,        STAT_IP6_FORWARD,
	    STAT_IP6_NOPROTO,   STAT_ICMP6_INHIST_UNREACH};
	for (unsigned k = 0; k < ARRAY_LEN(reached); k++) {
		if (t.b->stats[reached[k]] == 0)
			fprintf(stderr, "\nmangled IPv6 never reached %s\n", stat_name(reached[k]));
		CU_ASSERT_TRUE(t.b->stats[reached[k]] > 0);
	}
	for (unsigned k = 0; k < nseeds; k++)
		pkt_free(seeds[k]);
	sim_free(t.s);
}

/* Path MTUs (RFC 8201): never below 1280, only lowered while fresh, and
 * forgotten after 10 minutes. */
static void test_path_mtu(void)
{
	struct bench t;
	setup(&t);
	CU_ASSERT_EQUAL(ip6_path_mtu(t.a, &t.b6, 1500), 1500);
	ip6_pmtu_update(t.a, &t.b6, 1400);
	CU_ASSERT_EQUAL(ip6_path_mtu(t.a, &t.b6, 1500), 1400);
	CU_ASSERT_EQUAL(ip6_path_mtu(t.a, &t.b6, 1300), 1300); /* the link's is smaller */
	ip6_pmtu_update(t.a, &t.b6, 1450);                     /* no raising a fresh one */
	CU_ASSERT_EQUAL(ip6_path_mtu(t.a, &t.b6, 1500), 1400);
	ip6_pmtu_update(t.a, &t.b6, 600);
	CU_ASSERT_EQUAL(ip6_path_mtu(t.a, &t.b6, 1500), IP6_MIN_MTU);
	sim_run(t.s, 601 * NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(ip6_path_mtu(t.a, &t.b6, 1500), 1500);
	sim_free(t.s);
}

void suite_nd(void)
{
	static const struct unit_test t[] = {
	    {"resolution, stale, delay, probe, reachable", test_resolution},
	    {"a neighbor that never answers", test_no_answer},
	    {"advertisements and solicitations checked", test_advertisements},
	    {"solicited-node groups and their MACs", test_solicited_node},
	    {"UDP over IPv6 needs its checksum", test_udp6_checksum},
	    {"link-local addresses", test_linklocal},
	    {"router advertisements", test_router_advertisement},
	    {"extension headers on input", test_extension_headers_on_input},
	    {"mangled IPv6 never crashes", test_mangled_ipv6},
	    {"path MTU", test_path_mtu},
	    {NULL, NULL},
	};
	unit_add_suite("nd", t);
}
