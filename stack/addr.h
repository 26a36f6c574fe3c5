/*
 * One address type for IPv4 and IPv6.  Nothing outside this file may assume
 * an address is four bytes: IPv4 lives in the first four bytes of a[] and the
 * family says how many are meaningful.
 */
#ifndef STACK_ADDR_H
#define STACK_ADDR_H

#include <stdbool.h>
#include <stdint.h>

enum addr_family { ADDR_NONE = 0, ADDR_V4 = 4, ADDR_V6 = 6 };

struct ipaddr {
	uint8_t af; /* enum addr_family */
	uint8_t a[16];
};

#define ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

/* Bytes in an address of this family (4, 16, or 0). */
unsigned addr_len(uint8_t af);
/* Bits in an address of this family. */
unsigned addr_bits(uint8_t af);

/* Parse "10.0.0.1" or "fe80::1"; returns 0 or -1. */
int addr_parse(const char *s, struct ipaddr *out);
/* Parse "10.0.0.0/8"; a bare address gets the full length. 0 or -1. */
int addr_parse_prefix(const char *s, struct ipaddr *out, unsigned *plen);
/* Format into buf (ADDR_STRLEN bytes) and return buf. */
const char *addr_fmt(const struct ipaddr *a, char *buf);

struct ipaddr addr_v4(const uint8_t b[4]);
bool addr_eq(const struct ipaddr *x, const struct ipaddr *y);
bool addr_is_unspec(const struct ipaddr *a);
/* True when a lies in net/plen (same family). */
bool addr_in_prefix(const struct ipaddr *a, const struct ipaddr *net, unsigned plen);
/* Clear the host bits beyond plen. */
void addr_mask(struct ipaddr *a, unsigned plen);
/* The directed broadcast address of net/plen (IPv4 only). */
struct ipaddr addr_v4_broadcast(const struct ipaddr *net, unsigned plen);
bool addr_is_v4_limited_bcast(const struct ipaddr *a);
bool addr_is_multicast(const struct ipaddr *a);

#endif
