/*
 * The IP packets of a capture, for verify, decap and encap: pcap or pcapng
 * through libpcap, with the link layers people capture IPsec on (Ethernet
 * with or without VLAN tags, raw IP, Linux cooked v1 and v2, BSD null and
 * loopback), IPv4 and IPv6.  Fragments of both are reassembled, so a
 * fragmented ESP packet is checked whole, as a receiver would.
 */
#ifndef TOOLS_CAPREAD_H
#define TOOLS_CAPREAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cap_reader;

struct cap_packet {
	unsigned frame;     /* 1-based; for a reassembled packet, its last fragment's */
	uint64_t ts_ns;     /* the frame's timestamp */
	const uint8_t *ip;  /* the IP header; valid until the next cap_next */
	size_t len;         /* the IP packet's length (link padding cut off) */
	unsigned fragments; /* 0, or how many fragments it was rebuilt from */
};

/* NULL after printing why to err. */
struct cap_reader *cap_open(const char *path, FILE *err);
/* The next IP packet: 1, 0 at the end, -1 on a read error (printed). */
int cap_next(struct cap_reader *r, struct cap_packet *p);
/* Frames so far that carried an IP packet cut short or broken; frames that
 * carried something else (ARP ...); and fragments still waiting for the
 * rest of their datagram. */
unsigned cap_skipped(const struct cap_reader *r);
unsigned cap_not_ip(const struct cap_reader *r);
unsigned cap_frames(const struct cap_reader *r); /* frames read so far */
unsigned cap_incomplete(const struct cap_reader *r);
void cap_close(struct cap_reader *r);

#endif
