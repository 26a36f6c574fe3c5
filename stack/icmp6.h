/* ICMPv6 (RFC 4443): echo, errors, and the way in to neighbor discovery. */
#ifndef STACK_ICMP6_H
#define STACK_ICMP6_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"

#define ICMP6_HDR_LEN 8

#define ICMP6_DST_UNREACH          1
#define ICMP6_DST_UNREACH_NOROUTE  0
#define ICMP6_DST_UNREACH_ADMIN    1
#define ICMP6_DST_UNREACH_BEYOND   2
#define ICMP6_DST_UNREACH_ADDR     3
#define ICMP6_DST_UNREACH_NOPORT   4
#define ICMP6_PACKET_TOO_BIG       2
#define ICMP6_TIME_EXCEEDED        3
#define ICMP6_TIME_EXCEED_TRANSIT  0
#define ICMP6_TIME_EXCEED_REASS    1
#define ICMP6_PARAM_PROB           4
#define ICMP6_PARAMPROB_HEADER     0
#define ICMP6_PARAMPROB_NEXTHEADER 1
#define ICMP6_PARAMPROB_OPTION     2
#define ICMP6_ECHO_REQUEST         128
#define ICMP6_ECHO_REPLY           129
#define ND_ROUTER_SOLICIT          133
#define ND_ROUTER_ADVERT           134
#define ND_NEIGHBOR_SOLICIT        135
#define ND_NEIGHBOR_ADVERT         136

struct node;
struct ip6_hdr;

/* An ICMPv6 message for us; off is where it starts in the packet. */
void icmp6_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off);
/*
 * Send an error about orig (a whole IPv6 packet, not consumed) to its
 * source, unless RFC 4443 2.4 (e) forbids it: about an ICMPv6 error or a
 * redirect, to a multicast destination or link multicast (except packet too
 * big and an unrecognised option, code 2), from an unspecified or
 * multicast source.  info: the MTU of a packet too big, the pointer of a
 * parameter problem.  Rate limited by net.inet6.icmp6.errppslimit; as much
 * of orig as fits in 1280 bytes is quoted.
 */
void icmp6_error(struct node *n, const struct pkt *orig, uint8_t type, uint8_t code, uint32_t info);
/* Checksum an ICMPv6 message (at p->data) and send it. */
int icmp6_send(struct node *n, struct pkt *p, const struct ipaddr *src, const struct ipaddr *dst,
	       uint8_t hlim, struct iface *ifp);
/* The same with a traffic class and extension headers in front of the
 * message (NULL: none). */
struct ip6_exthdrs;
int icmp6_send_ext(struct node *n, struct pkt *p, const struct ipaddr *src,
		   const struct ipaddr *dst, uint8_t hlim, uint8_t tclass, struct iface *ifp,
		   const struct ip6_exthdrs *ext);
const char *icmp6_describe(uint8_t type, uint8_t code);

#endif
