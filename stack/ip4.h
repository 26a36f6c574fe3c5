/* IPv4 (RFC 791, RFC 1122, RFC 1812 for forwarding). */
#ifndef STACK_IP4_H
#define STACK_IP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"
#include "stats.h"
#include "util.h"

#define IP4_HDR_LEN   20
#define IP4_MAXPACKET 65535
#define IP4_DF        0x4000
#define IP4_MF        0x2000
#define IP4_OFFMASK   0x1fff

#define IPPROTO_ICMP 1
#define IPPROTO_UDP  17

struct node;
struct route;

/* A parsed IPv4 header.  opts points into the parsed buffer. */
struct ip4_hdr {
	uint8_t hlen; /* bytes, 20..60 */
	uint8_t tos;
	uint16_t len; /* total length */
	uint16_t id;
	uint16_t off; /* flags and fragment offset, as on the wire */
	uint8_t ttl;
	uint8_t proto;
	uint16_t sum;
	struct ipaddr src, dst;
	const uint8_t *opts;
	size_t optlen;
};

/*
 * Parse and validate a header in OpenBSD's ip_input order.  Returns 0, or the
 * drop reason: ip.toosmall, ip.badvers, ip.badhlen, ip.badsum, ip.badlen,
 * ip.tooshort.  Options are not interpreted here (see ip4_check_options).
 */
MUST_CHECK int ip4_parse(const uint8_t *b, size_t len, struct ip4_hdr *h, enum stat_id *why);
/* Write a header (with h->opts) and its checksum; returns bytes written. */
size_t ip4_emit(uint8_t *b, const struct ip4_hdr *h);
/* Set a header's total length (to len) and protocol, and its checksum;
 * hlen is the header's length. */
void ip4_set_len_proto(uint8_t *hdr, size_t hlen, size_t len, uint8_t proto);
/* Recompute a header's checksum after a change. */
void ip4_reset_cksum(uint8_t *hdr, size_t hlen);
/* Decrement the TTL of a header (TTL > 0) and patch its checksum. */
void ip4_dec_ttl(uint8_t *hdr);
/* Check option TLVs; returns -1 and the offending byte's offset from the
 * start of the header in *ptr when malformed. */
int ip4_check_options(const uint8_t *opts, size_t optlen, unsigned *ptr);
/* The options a non-first fragment must carry (those with the copy bit),
 * written to out (40 bytes); returns their length padded to 4. */
size_t ip4_copied_options(const uint8_t *opts, size_t optlen, uint8_t *out);

/* What ip4_output needs to build a header. */
struct ip4_out {
	struct ipaddr src; /* ADDR_NONE: the outgoing interface's address */
	struct ipaddr dst;
	uint8_t proto;
	uint8_t ttl; /* 0: net.inet.ip.ttl */
	uint8_t tos;
	bool df;
};

/* A frame's IP packet arrives (the stack takes the packet). */
void ip4_input(struct node *n, struct pkt *p);
/* Send a transport payload; returns 0 or a negative errno (-ENETUNREACH,
 * -EMSGSIZE, -EADDRNOTAVAIL).  The packet is consumed either way. */
int ip4_output(struct node *n, struct pkt *p, const struct ip4_out *o);
/* Send a complete IPv4 packet as it is (after IPsec): the SPD may apply
 * another SA; then route, fragment and transmit. */
int ip4_output_raw(struct node *n, struct pkt *p);
/* Hand a packet for us to its protocol (ip_deliver). */
void ip4_deliver(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast);
/* The source address ip4_output would choose for dst, if any. */
int ip4_select_src(struct node *n, const struct ipaddr *dst, struct ipaddr *src);
/* A "fragmentation needed" said the path to dst takes mtu bytes (0: an
 * old router's silence; RFC 1191's plateau below `sent`, the quoted
 * packet's length): kept for 10 minutes, shared with IPv6's cache. */
void ip4_pmtu_update(struct node *n, const struct ipaddr *dst, uint32_t mtu, uint32_t sent);

/* Fragmentation and reassembly (ip4_frag.c). */
/* Split p (a complete IP packet) into fragments of at most mtu bytes, appended
 * to out in offset order; p is consumed.  The caller checked DF. */
void ip4_fragment(struct node *n, struct pkt *p, unsigned mtu, struct pktq *out);
/* Add a fragment; returns the reassembled packet or NULL (held or dropped). */
struct pkt *ip4_reass(struct node *n, struct pkt *p, const struct ip4_hdr *h);
uint64_t ip4_reass_timer(struct node *n);
void ip4_reass_free(struct node *n);

struct mem_use;
/* For show NODE memory: the reassembly queues. */
void ip4_reass_memory(const struct node *n, struct mem_use *u);

#endif
