/*
 * Where ESP and AH sit in a packet of either family: after the IPv4
 * header, or after the IPv6 header and the extension headers that stay in
 * front of them (RFC 4303 3.1.1, RFC 4302 3.1.1).  Every function here
 * takes a packet whose first byte's version says its family.
 */
#ifndef IPSEC_IPSEC_IP_H
#define IPSEC_IPSEC_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stack/addr.h"

struct ipsec_ip {
	uint8_t af;     /* ADDR_V4 or ADDR_V6 */
	size_t skip;    /* bytes in front of ESP or AH */
	size_t protoff; /* the byte that names what sits at skip */
};

/* Where ESP or AH goes in an outgoing packet.  IPv6: after hop-by-hop
 * options, a routing header, and destination options that precede a
 * routing header ("hbh dest1 rthdr ah esp dest2 payload"); destination
 * options for the final destination alone stay behind, inside ESP.
 * -1 when the headers do not hold together (ip6_walk's rules) or the
 * version is neither 4 nor 6. */
int ipsec_ip_out(const uint8_t *b, size_t len, struct ipsec_ip *ip);
/* After ESP or AH went in or came out at ip->skip of a packet now len
 * bytes long: the IP length, the next header at protoff, and for IPv4 the
 * header checksum. */
void ipsec_ip_fix(uint8_t *b, size_t len, const struct ipsec_ip *ip, uint8_t proto);
/* The largest packet of the family: 65535 for IPv4, 40 + 65535 for IPv6. */
size_t ipsec_ip_max(uint8_t af);
/* The family of a packet of len bytes from its version, or ADDR_NONE when
 * it is not a whole fixed header of either. */
uint8_t ipsec_ip_af(const uint8_t *b, size_t len);
/* Source and destination of a whole fixed header of the family. */
struct ipaddr ipsec_ip_src(const uint8_t *b);
struct ipaddr ipsec_ip_dst(const uint8_t *b);
/* The IPv4 type of service or IPv6 traffic class, and setting it (the
 * IPv4 checksum follows). */
uint8_t ipsec_ip_tclass(const uint8_t *b);
void ipsec_ip_set_tclass(uint8_t *b, uint8_t tc);

#endif
