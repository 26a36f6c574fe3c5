/*
 * A packet filter with NAT on every node, after OpenBSD's pf(4): a pf.conf
 * ruleset (pf_parse.c), rules evaluated last-match-wins with quick
 * (pf.c), a state table keyed both ways with a wire and a stack key per
 * state, translation (nat-to, rdr-to, binat-to) with incremental checksum
 * updates (pf_nat.c), and pflog (pflog.c).  docs/pf.md has the grammar
 * and where each hook sits:
 *
 *   out: ip_output -> [SPD] -> pf(enc0, out) -> ESP/AH -> pf(IF, out) -> IF
 *   in:  IF -> pf(IF, in) -> ip_input -> ESP/AH -> pf(enc0, in) -> ...
 *
 * The stack calls pf_test() at those points; with no ruleset loaded it
 * costs one pointer test.
 */
#ifndef PF_PF_H
#define PF_PF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../stack/node.h"

enum pf_dir { PF_INOUT = 0, PF_IN = 1, PF_OUT = 2 };

struct pf;
struct capture;

struct pf_define {
	const char *name, *value;
};

/* Where pf.conf text comes from, and where its errors go. */
struct pf_conf_options {
	const char *path;                /* a file, or NULL with text */
	const char *text;                /* inline rules (a scenario block) */
	const char *text_name;           /* the file the text is in, for messages */
	unsigned text_line;              /* the line the text starts on */
	FILE *err;                       /* "file:line: message" for every error */
	const struct pf_define *defines; /* macros that win over the file's */
	unsigned ndefines;
};

/* Parse a ruleset and install it on the node, replacing any other (its
 * states are flushed, as pfctl -F all -f does).  Returns the number of
 * errors printed; 0 when the ruleset was loaded. */
unsigned pf_load(struct node *n, const struct pf_conf_options *o);

/* Filter (and translate) a packet at one of the hooks.  ifname is the
 * interface's name, or "enc0".  True: the packet goes on, perhaps
 * rewritten; false: it was dropped (and freed) with a named reason. */
bool pf_test_slow(struct node *n, enum pf_dir dir, const char *ifname, struct pkt *p);
static inline bool pf_test(struct node *n, enum pf_dir dir, const char *ifname, struct pkt *p)
{
	return !n->pf || pf_test_slow(n, dir, ifname, p);
}

/* pflog0: every logged packet goes to these captures (LINKTYPE_PFLOG). */
void pf_add_pflog(struct node *n, struct capture *c);

/* pfctl -vsr, -ss and -si. */
void pf_show_rules(struct node *n, FILE *f);
void pf_show_states(struct node *n, FILE *f);
void pf_show_info(struct node *n, FILE *f);

/* Figures of rule nr (@nr in pfctl -sr) for expectations: what is one of
 * "evaluations", "packets", "bytes", "states"; -1 when the rule or the
 * word is unknown. */
int pf_rule_figure(const struct node *n, unsigned nr, const char *what, uint64_t *v);
/* The number of states now. */
uint64_t pf_state_count(const struct node *n);
unsigned pf_rule_count(const struct node *n);

void pf_free(struct node *n);
/* The slow timer's part: expired states go; when to come back
 * (UINT64_MAX: no state left). */
uint64_t pf_purge_timer(struct node *n);

struct mem_use;
/* For show NODE memory: rules, tables, states. */
void pf_memory(const struct node *n, struct mem_use *u);

#endif
