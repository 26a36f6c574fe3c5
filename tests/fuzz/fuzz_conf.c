/* libFuzzer: ipsec.conf (ipsecctl's grammar and our testbed extensions),
 * parsed and loaded through PF_KEY into a node's kernel, as `ipsecsim
 * ipsecctl -f` does. */
#include "../../ipsec/conf.h"
#include "../../ipsec/pfkey.h"
#include "../../sim/sim.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_input(data, size);
	if (!path)
		return 0;
	/* the first byte picks the grammar: ipsecctl's, or the testbed's */
	struct conf_options o = {.mode = size && data[0] & 1 ? CONF_TESTBED : CONF_STRICT,
				 .err = fuzz_null};
	struct conf conf;
	if (conf_parse(path, &o, &conf) == 0) {
		struct sim *s = sim_new(1);
		struct node *n = sim_add_node(s, "fuzz");
		struct pfkey_sock *k = pfkey_open(n);
		conf_load(&conf, k, fuzz_null, NULL);
		pfkey_close(k);
		sim_free(s);
	}
	conf_free(&conf);
	return 0;
}
