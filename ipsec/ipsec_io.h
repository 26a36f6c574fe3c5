/* IPsec on the IPv4 packet paths (ipsec_io.c). */
#ifndef IPSEC_IPSEC_IO_H
#define IPSEC_IPSEC_IO_H

#include <stdbool.h>

struct node;
struct pkt;
struct tdb;
struct ip4_hdr;

/* Output (ip4_output, ip4_forward, and again after each SA): false when no
 * flow asks for IPsec and the caller sends the packet itself; true when
 * IPsec took it (sent or dropped), with *rc 0 or a negative errno.  h is
 * the packet's header as the caller parsed or built it. */
bool ipsec_output(struct node *n, struct pkt *p, const struct ip4_hdr *h, int *rc);
/* Put the outer IPv4 header of tunnel mode, from the SA's addresses, in
 * front of the packet: 0, or a negative errno with the packet dropped. */
int ipsec_ipip_encap(struct node *n, struct tdb *t, struct pkt *p);
/* Apply an SA (and its bundle) to a packet and send it. */
int ipsec_process(struct node *n, struct pkt *p, struct tdb *t);
/* Protocol input of ESP and AH. */
void ipsec_input(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast);
/* Protocol input of IP-in-IP (4). */
void ipip_input(struct node *n, struct pkt *p, const struct ip4_hdr *h);
/* May a packet that reached the transport layer or the forwarding path
 * go on?  A `require` flow wants it to have come through its SA; false
 * when it did not (the packet is then dropped and counted). */
bool ipsec_input_check(struct node *n, struct pkt *p, const struct ip4_hdr *h);

#endif
