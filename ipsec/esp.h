/* ESP (RFC 4303) for IPv4 and IPv6 packets. */
#ifndef IPSEC_ESP_H
#define IPSEC_ESP_H

#include <stddef.h>

struct node;
struct tdb;
struct pkt;
struct ipsec_ip;

/* Protect a packet (its IP header at p->data) with the SA, the ESP header
 * going where ipsec_ip_out says: 0, or a negative errno with the packet
 * dropped and counted. */
int esp_output(struct node *n, struct tdb *t, struct pkt *p);
/* Undo the ESP header at ip->skip (the caller has checked that its SPI is
 * there): the next header, with the ESP header, IV, trailer and ICV
 * removed and the IP header fixed; or -1 with the packet dropped and
 * counted. */
int esp_input(struct node *n, struct tdb *t, struct pkt *p, const struct ipsec_ip *ip);

#endif
