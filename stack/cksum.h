/* The Internet checksum (RFC 1071), computed incrementally so that pseudo
 * headers and scattered pieces can be summed without copying. */
#ifndef STACK_CKSUM_H
#define STACK_CKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Add len bytes to a running 32-bit sum; odd lengths are padded with zero,
 * so only the last piece of a sum may have an odd length. */
uint32_t cksum_add(uint32_t sum, const void *data, size_t len);
/* Fold a running sum and return its one's complement, ready to store. */
uint16_t cksum_fold(uint32_t sum);
/* The checksum of one buffer. */
uint16_t in_cksum(const void *data, size_t len);
/* Running sum of the pseudo header of RFC 768 / RFC 8200 8.1. */
uint32_t cksum_pseudo(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
		      uint32_t len);

#endif
