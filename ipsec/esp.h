/* ESP (RFC 4303) for IPv4 packets. */
#ifndef IPSEC_ESP_H
#define IPSEC_ESP_H

#include <stddef.h>

struct node;
struct tdb;
struct pkt;

/* Protect an IPv4 packet (its header at p->data) with the SA: 0, or a
 * negative errno with the packet dropped and counted. */
int esp_output(struct node *n, struct tdb *t, struct pkt *p);
/* Undo ESP after an IPv4 header of `skip` bytes: the next header, with the
 * ESP header, IV, trailer and ICV removed and the IP header fixed; or -1
 * with the packet dropped and counted. */
int esp_input(struct node *n, struct tdb *t, struct pkt *p, size_t skip);

#endif
