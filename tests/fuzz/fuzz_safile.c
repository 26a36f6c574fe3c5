/* libFuzzer: the SA files of verify, decap and encap (Wireshark's esp_sa
 * lines, or our ipsec.conf), loaded into a node's SAD. */
#include "../../sim/sim.h"
#include "../../tools/safile.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_input(data, size);
	if (!path)
		return 0;
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "fuzz");
	safile_load(n, path, 64, fuzz_null);
	sim_free(s);
	return 0;
}
