/* AH (RFC 4302) for IPv4 and IPv6 packets. */
#ifndef IPSEC_AH_H
#define IPSEC_AH_H

#include <stddef.h>

struct node;
struct tdb;
struct pkt;
struct ipsec_ip;

/* Authenticate a packet with the SA, the AH header going where
 * ipsec_ip_out says: 0, or a negative errno with the packet dropped and
 * counted. */
int ah_output(struct node *n, struct tdb *t, struct pkt *p);
/* Check and remove the AH header at ip->skip: the next header, or -1 with
 * the packet dropped and counted. */
int ah_input(struct node *n, struct tdb *t, struct pkt *p, const struct ipsec_ip *ip);

#endif
