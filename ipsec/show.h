/* What `ipsecctl -s flow|sa|all [-v] [-k]` prints, for a node's SPD and SAD. */
#ifndef IPSEC_SHOW_H
#define IPSEC_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct node;
struct spd_flow;

enum ipsec_show_what { SHOW_FLOWS = 1, SHOW_SAS = 2, SHOW_ALL = 3 };

/* verbose: 0, 1 (-v) or 2 (-vv, which numbers flows and prints zero counters). */
void ipsec_show(struct node *n, FILE *f, enum ipsec_show_what what, int verbose, bool keys);

/* One flow as `ipsecctl -sf` prints it, on one line (for traces and
 * warnings). */
void ipsec_flow_text(const struct spd_flow *fl, char *buf, size_t cap);

/* pfkdump's names for PF_KEY numbers, both ways ("unknown", -1). */
enum pfkey_names { PFN_SATYPE, PFN_AUTH, PFN_ENC, PFN_COMP, PFN_STATE, PFN_FLAG, PFN_FLOWTYPE };
const char *pfkey_name(enum pfkey_names t, unsigned id);
int pfkey_name_id(enum pfkey_names t, const char *name);

/* One PF_KEY message as `ipsecctl -m` (monitor) prints it. */
void ipsec_show_msg(FILE *f, const uint8_t *buf, size_t len, int verbose);

#endif
