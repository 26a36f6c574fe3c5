#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../sim/link.h"
#include "../../stack/addr.h"
#include "unit.h"

void unit_add_suite(const char *name, const struct unit_test *tests)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);
	if (!s) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		exit(2);
	}
	for (; tests->name; tests++)
		CU_add_test(s, tests->name, tests->fn);
}

struct node *unit_node(struct sim *s, const char *name, const char *addr_plen)
{
	return unit_node_if(s, name, "eth0", addr_plen);
}

struct node *unit_node_if(struct sim *s, const char *name, const char *ifname,
			  const char *addr_plen)
{
	struct node *n = sim_add_node(s, name);
	struct iface *ifp = iface_new(n, ifname);
	if (addr_plen) {
		struct ipaddr a;
		unsigned plen;
		if (addr_parse_prefix(addr_plen, &a, &plen) == 0)
			iface_add_addr(ifp, &a, plen);
	}
	return n;
}

void unit_pair(struct sim *s, struct node **a, struct node **b, uint64_t delay)
{
	*a = unit_node(s, "a", "10.0.0.1/24");
	*b = unit_node(s, "b", "10.0.0.2/24");
	struct link *l = link_new(s, "l", false);
	struct link_params p = link_params_default;
	p.delay = delay;
	link_attach(l, (*a)->ifaces[0], &p);
	link_attach(l, (*b)->ifaces[0], &p);
}

int main(void)
{
	/* The suites run from the top of the tree and write under out/unit. */
	if (mkdir("out", 0777) < 0 && errno != EEXIST)
		return 2;
	if (mkdir("out/unit", 0777) < 0 && errno != EEXIST)
		return 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite_event();
	suite_rng();
	suite_cksum();
	suite_addr_route();
	suite_ip4();
	suite_frag();
	suite_arp();
	suite_sim();
	suite_scenario();
	suite_input();
	suite_pfkey();
	suite_replay();
	suite_esp();
	suite_ah();
	suite_ipsec_fuzz();
	suite_ipsec6();
	suite_lifetime();
	suite_keymgr();
	suite_ip6();
	suite_nd();
	suite_conf();
	suite_tcp();
	suite_pf();
	suite_ipcomp();
	suite_ike();
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
