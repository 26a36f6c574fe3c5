/*
 * Scenario statements for pf:
 *   pf NODE { pf.conf lines }      load a ruleset (replacing the node's)
 *   pf NODE file FILE              the same from a file
 * and the pf targets of expect:
 *   NODE pf states                 states in the table now
 *   NODE pf rule N WHAT            rule @N's evaluations, packets, bytes
 *                                  or states, as pfctl -vsr counts them
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../pf/pf.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "scenario.h"

int scn_stmt_pf(struct scenario *sc, const struct scn_stmt *st)
{
	struct node *n;
	const char *file;
	if (scn_node_block(sc, st, 2, "pf NODE { pf.conf rules } or pf NODE file FILE", &n, &file) <
	    0)
		return -1;
	char path[4096];
	struct pf_conf_options o = {.err = sc->err};
	if (file) {
		scn_path_near(st, file, path, sizeof(path));
		o.path = path;
	} else {
		o.text = st->body;
		o.text_name = st->file;
		o.text_line = st->body_line;
	}
	/* -D definitions win over the scenario's macros, which win over the
	 * ruleset's own */
	unsigned nd = sc->ndefines + st->ndefs;
	struct pf_define *d = xcalloc(nd ? nd : 1, sizeof(*d));
	for (unsigned i = 0; i < sc->ndefines; i++)
		d[i] = (struct pf_define){sc->defines[i].name, sc->defines[i].value};
	for (unsigned i = 0; i < st->ndefs; i++)
		d[sc->ndefines + i] = (struct pf_define){st->defs[i].name, st->defs[i].value};
	o.defines = d;
	o.ndefines = nd;
	unsigned errors = pf_load(n, &o);
	free(d);
	if (errors) {
		sc->pf_failed = xgrow(sc->pf_failed, sc->npf_failed, sizeof(*sc->pf_failed));
		sc->pf_failed[sc->npf_failed++] = n;
		return -1;
	}
	node_trace(n, "pf: %u rules loaded", pf_rule_count(n));
	return 0;
}

int scn_pf_target(struct scenario *sc, const struct scn_stmt *st, unsigned i, struct scn_expect *e,
		  unsigned *opi)
{
	unsigned n = st->ntok - i;
	if (n < 2 || strcmp(st->tok[i + 1], "pf") != 0)
		return 0;
	e->node = sim_find_node(sc->sim, st->tok[i]);
	if (!e->node) {
		scn_error(sc, st, "unknown node '%s'", st->tok[i]);
		return -1;
	}
	if (n == 5 && strcmp(st->tok[i + 2], "states") == 0) {
		e->kind = TGT_PF_STATES;
		*opi = i + 3;
		return 1;
	}
	static const char *const whats[] = {"evaluations", "packets", "bytes", "states"};
	uint64_t nr;
	if (n != 7 || strcmp(st->tok[i + 2], "rule") != 0 ||
	    scn_parse_uint(st->tok[i + 3], 1000000, &nr) < 0) {
		scn_error(sc, st,
			  "usage: expect NODE pf states OP VALUE, or "
			  "expect NODE pf rule N evaluations|packets|bytes|states OP VALUE");
		return -1;
	}
	size_t k;
	for (k = 0; k < ARRAY_LEN(whats); k++)
		if (strcmp(st->tok[i + 4], whats[k]) == 0)
			break;
	if (k == ARRAY_LEN(whats)) {
		scn_error(sc, st, "a rule counts evaluations, packets, bytes or states, not '%s'",
			  st->tok[i + 4]);
		return -1;
	}
	for (unsigned f = 0; f < sc->npf_failed; f++)
		if (sc->pf_failed[f] == e->node)
			return -1; /* its ruleset's errors are reported: not this one too */
	if (nr >= pf_rule_count(e->node)) {
		scn_error(sc, st, "%s has no rule @%llu (its pf ruleset above has %u rules)",
			  e->node->name, (unsigned long long)nr, pf_rule_count(e->node));
		return -1;
	}
	e->kind = TGT_PF_RULE;
	e->stat = (int)nr;
	e->pfwhat = whats[k];
	*opi = i + 5;
	return 1;
}

uint64_t scn_pf_value(const struct scn_expect *e)
{
	if (e->kind == TGT_PF_STATES)
		return pf_state_count(e->node);
	uint64_t v = 0;
	if (pf_rule_figure(e->node, (unsigned)e->stat, e->pfwhat, &v) < 0)
		return 0; /* the ruleset was replaced by a smaller one */
	return v;
}
