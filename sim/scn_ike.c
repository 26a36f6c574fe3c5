/*
 * Scenario statements for the IKEv2 daemon (docs/ike.md):
 *   ikev2 NODE [quiet] { iked.conf lines }   policies for NODE's daemon
 *   ikev2 NODE [quiet] file FILE            the same from a file
 * and what the run writes for it: ikev2_decryption_table, Wireshark's
 * table of the run's IKE SA keys, beside esp_sa.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ike/iked.h"
#include "../ike/iked_conf.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "scenario.h"

int scn_stmt_ikev2(struct scenario *sc, const struct scn_stmt *st)
{
	bool quiet = st->ntok > 2 && strcmp(st->tok[2], "quiet") == 0;
	struct node *n;
	const char *file;
	if (scn_node_block(sc, st, quiet ? 3 : 2,
			   "ikev2 NODE [quiet] { ... } or ikev2 NODE [quiet] file FILE", &n,
			   &file) < 0)
		return -1;
	char path[4096];
	struct conf_options o;
	struct conf_define *defs;
	if (scn_conf_source(sc, st, file, path, sizeof(path), &o, &defs) < 0)
		return -1;
	struct iked_policy *pols;
	unsigned npols;
	struct iked_settings set = {0};
	int rc = iked_conf_parse(file ? path : NULL, &o, &pols, &npols, &set);
	free(defs);
	if (rc < 0) {
		iked_conf_free(pols, npols);
		return -1;
	}
	if (!sc->ikeds)
		sc->ikeds = iked_world_new(sc->sim);
	char err[512];
	struct iked *d = iked_get(sc->ikeds, n, err, sizeof(err));
	if (!d) {
		scn_error(sc, st, "%s", err);
		iked_conf_free(pols, npols);
		return -1;
	}
	if (quiet)
		iked_set_quiet(d);
	iked_apply_settings(d, &set);
	for (unsigned k = 0; k < npols && !rc; k++)
		if (iked_add_policy(d, &pols[k], err, sizeof(err)) < 0) {
			scn_error(sc, st, "%s", err);
			rc = -1;
		}
	if (!rc)
		node_trace(n, "iked: %u policies loaded", npols);
	iked_conf_free(pols, npols);
	return rc;
}

int scn_ike_stat(const char *word)
{
	return iked_stat_index(word);
}

uint64_t scn_ike_value(const struct iked *d, int stat)
{
	return iked_stat_value(d, stat);
}

void scn_ike_finish(struct scenario *sc)
{
	if (!sc->ikeds || !iked_table_count(sc->ikeds))
		return;
	char path[4096];
	scn_out_path(sc, "ikev2_decryption_table", path, sizeof(path));
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(sc->err, "%s: cannot write: %s\n", path, strerror(errno));
		return;
	}
	fputs("# The run's IKE SAs, for Wireshark: copy to a profile as ikev2_decryption_table,\n"
	      "# or pass each line to tshark as -o 'uat:ikev2_decryption_table:LINE'\n",
	      f);
	for (unsigned i = 0; i < iked_table_count(sc->ikeds); i++)
		fprintf(f, "%s\n", iked_table_line(sc->ikeds, i));
	fclose(f);
	scn_add_written(sc, path);
}
