/* What `ipsecctl -s flow|sa|all [-v] [-k]` prints, for a node's SPD and SAD. */
#ifndef IPSEC_SHOW_H
#define IPSEC_SHOW_H

#include <stdbool.h>
#include <stdio.h>

struct node;

enum ipsec_show_what { SHOW_FLOWS = 1, SHOW_SAS = 2, SHOW_ALL = 3 };

/* verbose: 0, 1 (-v) or 2 (-vv, which numbers flows and prints zero counters). */
void ipsec_show(struct node *n, FILE *f, enum ipsec_show_what what, int verbose, bool keys);

#endif
