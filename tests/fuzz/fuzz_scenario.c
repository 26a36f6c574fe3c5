/* libFuzzer: the scenario language, read and then run for a bounded number
 * of events (a run that never ends is stopped, as --max-events does). */
#include "../../sim/scenario.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_input(data, size);
	if (!path)
		return 0;
	char out[96];
	snprintf(out, sizeof(out), "%s/out", fuzz_dir);
	struct scn_options o = {
	    .out = fuzz_null, .err = fuzz_null, .outdir = out, .max_events = 20000};
	struct scenario *sc = scenario_load(path, &o);
	if (sc) {
		scenario_run(sc, NULL, NULL);
		scenario_free(sc);
	}
	return 0;
}
