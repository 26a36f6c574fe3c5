/* Ethernet II framing. */
#ifndef STACK_ETHER_H
#define STACK_ETHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"
#include "util.h"

#define ETHER_ADDR_LEN 6
#define ETHER_HDR_LEN  14
#define ETHER_MIN_LEN  60 /* without the FCS, which the simulation does not carry */
#define ETHERTYPE_IP   0x0800
#define ETHERTYPE_ARP  0x0806
#define ETHERTYPE_IPV6 0x86dd

struct iface;

struct ether_hdr {
	uint8_t dst[ETHER_ADDR_LEN];
	uint8_t src[ETHER_ADDR_LEN];
	uint16_t type;
};

extern const uint8_t ether_bcast[ETHER_ADDR_LEN];

/* Parse the header of a frame; 0, or -1 when too short. */
MUST_CHECK int ether_parse(const uint8_t *b, size_t len, struct ether_hdr *h);
void ether_emit(uint8_t *b, const struct ether_hdr *h);
bool ether_is_group(const uint8_t *mac);

/* A frame arrived on ifp: demultiplex by type. */
void ether_input(struct iface *ifp, struct pkt *frame);
/* Prepend the header, pad to the minimum frame size, and transmit. */
void ether_output(struct iface *ifp, struct pkt *p, const uint8_t *dst, uint16_t type);

#endif
