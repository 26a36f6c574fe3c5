/* ARP: wire form, resolution with held packets, retries, expiry. */
#include <string.h>

#include "../../stack/arp.h"
#include "../../stack/icmp.h"
#include "../../stack/util.h"
#include "unit.h"

static void test_parse_emit(void)
{
	struct arp_msg m = {.htype = 1,
			    .ptype = 0x0800,
			    .hlen = 6,
			    .plen = 4,
			    .op = ARPOP_REPLY,
			    .sha = {2, 1, 2, 3, 4, 5},
			    .spa = {10, 0, 0, 1},
			    .tha = {2, 9, 8, 7, 6, 5},
			    .tpa = {10, 0, 0, 2}};
	uint8_t b[ARP_HDR_LEN];
	arp_emit(b, &m);
	/* RFC 826 layout, checked byte by byte at the fixed offsets. */
	static const uint8_t want[ARP_HDR_LEN] = {0,  1, 8, 0, 6, 4, 0, 2, 2, 1, 2,  3, 4, 5,
						  10, 0, 0, 1, 2, 9, 8, 7, 6, 5, 10, 0, 0, 2};
	CU_ASSERT_EQUAL(memcmp(b, want, sizeof(b)), 0);
	struct arp_msg back;
	CU_ASSERT_EQUAL(arp_parse(b, sizeof(b), &back), 0);
	CU_ASSERT_EQUAL(memcmp(&back, &m, sizeof(m)), 0);
	CU_ASSERT_EQUAL(arp_parse(b, 27, &back), -1); /* short */
	CU_ASSERT_EQUAL(arp_parse(b, 7, &back), -1);
	b[1] = 6; /* IEEE 802 hardware: not ours */
	CU_ASSERT_EQUAL(arp_parse(b, sizeof(b), &back), -2);
}

static void ignore_echo(struct echo_sock *s, const struct echo_event *ev, void *arg)
{
	(void)s;
	(void)ev;
	(*(int *)arg)++;
}

static void test_hold_queue_bounded(void)
{
	struct sim *s = sim_new(1);
	struct node *a, *b;
	unit_pair(s, &a, &b, NS_PER_SEC / 1000);
	int replies = 0;
	struct echo_sock *es = icmp_echo_open(a, ignore_echo, &replies);
	struct ipaddr dst;
	addr_parse("10.0.0.2", &dst);
	/* 12 packets before the reply: 10 wait, 2 are dropped. */
	for (uint16_t i = 0; i < 12; i++)
		icmp_echo_send(es, &dst, i, NULL, 0, 0, 0, false);
	CU_ASSERT_EQUAL(a->stats[STAT_ARP_DROPPED], 2);
	CU_ASSERT_EQUAL(a->stats[STAT_ARP_TXREQUESTS], 1);
	sim_run(s, NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(b->stats[STAT_ICMP_INHIST_ECHO], 10);
	CU_ASSERT_EQUAL(replies, 10);
	const struct arp_entry *e = arp_lookup(a->ifaces[0], &dst);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->state, ARP_RESOLVED);
	CU_ASSERT_EQUAL(memcmp(e->mac, b->ifaces[0]->mac, 6), 0);
	/* b learned a from the request that was for it: no request of its own. */
	CU_ASSERT_EQUAL(b->stats[STAT_ARP_TXREQUESTS], 0);
	icmp_echo_close(es);
	sim_free(s);
}

static void test_unanswered_gives_up(void)
{
	struct sim *s = sim_new(1);
	struct node *a, *b;
	unit_pair(s, &a, &b, 0);
	int replies = 0;
	struct echo_sock *es = icmp_echo_open(a, ignore_echo, &replies);
	struct ipaddr dst;
	addr_parse("10.0.0.9", &dst);
	icmp_echo_send(es, &dst, 0, NULL, 0, 0, 0, false);
	icmp_echo_send(es, &dst, 1, NULL, 0, 0, 0, false);
	/* Rows: time -> requests sent so far, packets given up. */
	static const struct {
		uint64_t t_ms;
		unsigned requests, timeouts;
	} rows[] = {{0, 1, 0},    {999, 1, 0},  {1000, 2, 0}, {4000, 5, 0},
		    {4999, 5, 0}, {5000, 5, 2}, {60000, 5, 2}};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		sim_run(s, rows[i].t_ms * 1000000, NULL, NULL);
		CU_ASSERT_EQUAL(a->stats[STAT_ARP_TXREQUESTS], rows[i].requests);
		CU_ASSERT_EQUAL(a->stats[STAT_ARP_TIMEOUT], rows[i].timeouts);
	}
	CU_ASSERT_PTR_NULL(arp_lookup(a->ifaces[0], &dst));
	CU_ASSERT_TRUE(sim_idle(s)); /* no timer left armed */
	icmp_echo_close(es);
	sim_free(s);
}

static void test_entry_expires(void)
{
	struct sim *s = sim_new(1);
	struct node *a, *b;
	unit_pair(s, &a, &b, 0);
	a->sysctl[SYSCTL_IP_ARPTIMEOUT] = 10;
	int replies = 0;
	struct echo_sock *es = icmp_echo_open(a, ignore_echo, &replies);
	struct ipaddr dst;
	addr_parse("10.0.0.2", &dst);
	icmp_echo_send(es, &dst, 0, NULL, 0, 0, 0, false);
	sim_run(s, 9 * NS_PER_SEC, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL(arp_lookup(a->ifaces[0], &dst));
	sim_run(s, 11 * NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(s->now, 11 * NS_PER_SEC);
	CU_ASSERT_PTR_NULL(arp_lookup(a->ifaces[0], &dst));
	CU_ASSERT_EQUAL(replies, 1);
	/* No timer kept the run alive for the expiry ... */
	CU_ASSERT_TRUE(sim_idle(s));
	/* ... and the next packet resolves the address again. */
	icmp_echo_send(es, &dst, 1, NULL, 0, 0, 0, false);
	sim_run(s, 12 * NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(a->stats[STAT_ARP_TXREQUESTS], 2);
	CU_ASSERT_EQUAL(replies, 2);
	icmp_echo_close(es);
	sim_free(s);
}

static void test_duplicate_address(void)
{
	struct sim *s = sim_new(1);
	struct node *a, *b;
	unit_pair(s, &a, &b, 0);
	/* A request from "10.0.0.1" reaching a, which owns 10.0.0.1. */
	struct arp_msg m = {.htype = 1,
			    .ptype = 0x0800,
			    .hlen = 6,
			    .plen = 4,
			    .op = ARPOP_REQUEST,
			    .sha = {2, 0, 0, 0, 0, 9},
			    .spa = {10, 0, 0, 1},
			    .tpa = {10, 0, 0, 1}};
	struct pkt *p = pkt_alloc(PKT_HEADROOM, ARP_HDR_LEN);
	arp_emit(p->data, &m);
	arp_input(a->ifaces[0], p);
	CU_ASSERT_EQUAL(a->stats[STAT_ARP_DUPIP], 1);
	CU_ASSERT_EQUAL(a->stats[STAT_ARP_TXREPLIES], 0);
	sim_free(s);
}

/* An interface with aliases answers for each address asked, with that
 * address as the sender's (RFC 826: the reply is about the target), and
 * asks from its address on the target's network. */
static void test_aliases(void)
{
	struct sim *s = sim_new(1);
	struct node *a, *b;
	unit_pair(s, &a, &b, 0);
	struct ipaddr alias, other;
	addr_parse("10.0.0.22", &alias);
	addr_parse("10.9.0.1", &other);
	iface_add_addr(b->ifaces[0], &alias, 24);
	iface_add_addr(a->ifaces[0], &other, 24);
	int replies = 0;
	struct echo_sock *es = icmp_echo_open(a, ignore_echo, &replies);
	icmp_echo_send(es, &alias, 0, NULL, 0, 0, 0, false);
	sim_run(s, NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(replies, 1);
	const struct arp_entry *e = arp_lookup(a->ifaces[0], &alias);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(memcmp(e->mac, b->ifaces[0]->mac, 6), 0);
	/* b learned a from the request: a asked from 10.0.0.1, its address on
	 * 10.0.0.0/24, not from 10.9.0.1 */
	struct ipaddr a1;
	addr_parse("10.0.0.1", &a1);
	CU_ASSERT_PTR_NOT_NULL(arp_lookup(b->ifaces[0], &a1));
	CU_ASSERT_PTR_NULL(arp_lookup(b->ifaces[0], &other));
	icmp_echo_close(es);
	sim_free(s);
}

void suite_arp(void)
{
	static const struct unit_test t[] = {
	    {"parse and emit", test_parse_emit},
	    {"hold queue is bounded", test_hold_queue_bounded},
	    {"unanswered requests give up", test_unanswered_gives_up},
	    {"resolved entries expire", test_entry_expires},
	    {"duplicate address", test_duplicate_address},
	    {"aliases", test_aliases},
	    {NULL, NULL}};
	unit_add_suite("arp", t);
}
