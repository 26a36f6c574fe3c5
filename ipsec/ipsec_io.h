/* IPsec on the IPv4 and IPv6 packet paths (ipsec_io.c). */
#ifndef IPSEC_IPSEC_IO_H
#define IPSEC_IPSEC_IO_H

#include <stdbool.h>

struct ipaddr;
struct node;
struct pkt;
struct tdb;
struct ipsec_ip;

/* Output (ip4_output, ip4_forward, ip6_output, ip6_forward, and again
 * after each SA): false when no flow asks for IPsec and the caller sends
 * the packet itself; true when IPsec took it (sent or dropped), with *rc 0
 * or a negative errno.  The packet starts with its IP header. */
bool ipsec_output(struct node *n, struct pkt *p, int *rc);
/* Put the outer header of tunnel mode, of the SA's family and from its
 * addresses, in front of the packet (IPv4 or IPv6): 0, or a negative
 * errno with the packet dropped. */
int ipsec_ipip_encap(struct node *n, struct tdb *t, struct pkt *p);
/* Apply an SA (and its bundle) to a packet and send it. */
int ipsec_process(struct node *n, struct pkt *p, struct tdb *t);
/* Protocol input of ESP and AH: the header sits at ip->skip, named by the
 * byte at ip->protoff.  bcast: an IPv4 broadcast (no ICMP errors). */
void ipsec_input(struct node *n, struct pkt *p, const struct ipsec_ip *ip, bool bcast);
/* Protocol input of IP-in-IP, 4 (IPv4 inside) or 41 (IPv6 inside), in
 * either family: the inner packet at ip->skip. */
void ipip_input(struct node *n, struct pkt *p, const struct ipsec_ip *ip);
/* May a packet that reached the transport layer or the forwarding path
 * go on?  A `require` flow wants it to have come through its SA; false
 * when it did not (the packet is then dropped and counted). */
bool ipsec_input_check(struct node *n, struct pkt *p);
/* A socket's levels on input (udp_input and tcp_input ask once they have
 * found the socket): REQUIRE or UNIQUE on esp-trans or esp-network wants
 * the packet to have come through ESP (esp-network: out of a tunnel), on
 * auth to have been authenticated (AH, or ESP with an ICV). */
struct seclevel;
bool ipsec_seclevel_input_ok(const struct pkt *p, const struct seclevel *sl);
/* The smallest MTU a transport-mode SA to dst learned (tdb_mtu), for
 * TCP's MSS; 0 when none did. */
unsigned ipsec_sa_mtu(struct node *n, const struct ipaddr *dst);

#endif
