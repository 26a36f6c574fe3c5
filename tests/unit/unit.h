/* Shared declarations for the CUnit suites. */
#ifndef TESTS_UNIT_H
#define TESTS_UNIT_H

#include <CUnit/CUnit.h>

#include "../../sim/sim.h"
#include "../../stack/iface.h"
#include "../../stack/node.h"

/* Each suite file defines one of these. */
void suite_event(void);
void suite_rng(void);
void suite_cksum(void);
void suite_addr_route(void);
void suite_ip4(void);
void suite_frag(void);
void suite_arp(void);
void suite_sim(void);
void suite_scenario(void);
void suite_input(void);
void suite_pfkey(void);
void suite_replay(void);
void suite_esp(void);
void suite_ah(void);
void suite_ipsec_fuzz(void);
void suite_ipsec6(void);
void suite_lifetime(void);
void suite_keymgr(void);
void suite_ip6(void);
void suite_nd(void);
void suite_conf(void);
void suite_tcp(void);
void suite_pf(void);
void suite_ipcomp(void);
void suite_ike(void);

/* Add a suite of tests: NULL-terminated {name, fn} pairs. */
struct unit_test {
	const char *name;
	void (*fn)(void);
};
void unit_add_suite(const char *name, const struct unit_test *tests);

/* A node with one interface eth0 at addr/plen, attached to nothing. */
struct node *unit_node(struct sim *s, const char *name, const char *addr_plen);
/* The same with the interface named ifname. */
struct node *unit_node_if(struct sim *s, const char *name, const char *ifname,
			  const char *addr_plen);
/* Two nodes wired by a link "l" with the given delay: a=10.0.0.1, b=10.0.0.2. */
void unit_pair(struct sim *s, struct node **a, struct node **b, uint64_t delay);

#endif
