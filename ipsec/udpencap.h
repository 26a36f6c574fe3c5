/* ESP in UDP, RFC 3948 (udpencap.c). */
#ifndef IPSEC_UDPENCAP_H
#define IPSEC_UDPENCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stack/addr.h"

struct node;
struct pkt;
struct tdb;
struct udp_hdr;

/* net.inet.esp.udpencap, a port, and ESP on. */
bool udpencap_enabled(const struct node *n);
/* After the ESP transform of an SA with TDBF_UDPENCAP: the UDP header in
 * front of ESP (source and destination port net.inet.esp.udpencap_port,
 * the destination the SA's port when it has one; checksum 0 over IPv4).
 * 0, or a negative errno with the packet dropped. */
int udpencap_output(struct node *n, struct tdb *t, struct pkt *p);
/* udp_input's NAT-T branch, for a datagram whose checksum was checked:
 * true when it was ESP (handed to ipsec_input without its UDP header) or
 * a keepalive (consumed); false when it goes to a socket as usual (IKE
 * behind the non-ESP marker, or another port). */
bool udpencap_input(struct node *n, struct pkt *p, size_t hlen, const struct udp_hdr *uh,
		    bool bcast);
/* RFC 3948 3.1.2 after a transport-mode SA with UDPENCAP decrypted: the
 * upper layer at off, protocol nh.  False when dropped. */
bool udpencap_transport_fixup(struct node *n, struct pkt *p, size_t off, uint8_t nh);
/* An authenticated packet of inbound SA `in` came from `from`, port
 * sport: the SAs back to that peer send to that port from now on. */
void udpencap_float(struct node *n, struct tdb *in, const struct ipaddr *from, uint16_t sport);
/* Keep a timer for NAT keepalives running while the node sends NAT-T
 * (net.inet.esp.udpencap_keepalive seconds; 0: none). */
void udpencap_keepalive_arm(struct node *n);

#endif
