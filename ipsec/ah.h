/* AH (RFC 4302) for IPv4 packets. */
#ifndef IPSEC_AH_H
#define IPSEC_AH_H

#include <stddef.h>

struct node;
struct tdb;
struct pkt;

/* Authenticate an IPv4 packet with the SA: 0, or a negative errno with the
 * packet dropped and counted. */
int ah_output(struct node *n, struct tdb *t, struct pkt *p);
/* Check and remove AH after an IPv4 header of `skip` bytes: the next
 * header, or -1 with the packet dropped and counted. */
int ah_input(struct node *n, struct tdb *t, struct pkt *p, size_t skip);

#endif
