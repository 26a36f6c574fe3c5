/*
 * enc0 (OpenBSD's enc(4)): where IPsec packets can be seen in the clear.
 * Output is tapped before the ESP or AH header is added (after IP-in-IP in
 * tunnel mode), input after the transform has been undone.  Captures get
 * LINKTYPE_ENC: a 12-byte header (address family and flags in host order,
 * the SPI in network order) and the IP packet.
 */
#ifndef IPSEC_ENC_H
#define IPSEC_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENC_HDRLEN   12
#define ENC_AF_INET  2  /* OpenBSD's AF_INET */
#define ENC_AF_INET6 24 /* OpenBSD's AF_INET6 */
#define ENC_M_CONF   0x0400
#define ENC_M_AUTH   0x0800

struct node;
struct tdb;

/* Tap an IP packet through enc0: count it and write it to enc0's captures. */
void enc_tap(struct node *n, const struct tdb *t, const uint8_t *ip, size_t len, uint32_t flags,
	     bool out);
/* M_CONF / M_AUTH for an SA, as the output taps set them. */
uint32_t enc_flags(const struct tdb *t);

#endif
