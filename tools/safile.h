/*
 * SA files for verify, decap and encap: our testbed ipsec.conf, or
 * Wireshark's esp_sa file (8 or 10 columns), told apart by their first
 * line that says something.  Either way the SAs enter a scratch node
 * through PF_KEY, as every SA of the stack does.
 */
#ifndef TOOLS_SAFILE_H
#define TOOLS_SAFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct node;

/* Load path's SAs into n.  window: the replay window given to each SA
 * (packets; 0 turns replay checking off).  Returns the number of SAs, or
 * -1 after printing "FILE:LINE: message" errors to err. */
int safile_load(struct node *n, const char *path, uint32_t window, FILE *err);

#endif
