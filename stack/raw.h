/* Raw IP sockets (BSD's rip and rip6): the packets of one IP protocol
 * that the stack does not handle itself, handed to every socket that
 * matches, and sent with the header the stack builds.  OpenBSD's IPsec
 * regress test sends and reflects protocol 59 (no next header) this way. */
#ifndef RAW_H
#define RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct node;
struct pkt;

/* A packet for a raw socket: its addresses and the bytes after its IP
 * headers (for IPv6, after the extension headers addressed to the node). */
struct raw_dgram {
	struct ipaddr src, dst;
	const uint8_t *data;
	size_t len;
};

struct raw_sock {
	struct node *node;
	uint8_t proto;
	struct ipaddr laddr; /* bound: only packets to it (and of its family); ADDR_NONE any */
	struct ipaddr faddr; /* connected: only packets from it; ADDR_NONE any */
	void (*on_recv)(struct raw_sock *s, const struct raw_dgram *d, void *arg);
	void *cb_arg;
	uint64_t rx_packets, rx_bytes, tx_packets;
	struct raw_sock *next;
};

/* A socket for protocol proto (not one the stack handles: ICMP, UDP, TCP,
 * ESP, AH, IPComp, IP-in-IP), both families until bound or connected. */
struct raw_sock *raw_open(struct node *n, uint8_t proto);
/* Bind to an address of the node: -EADDRNOTAVAIL if it has none such. */
int raw_bind(struct raw_sock *s, const struct ipaddr *a);
void raw_connect(struct raw_sock *s, const struct ipaddr *a);
struct raw_send_opts {
	const struct ipaddr *src; /* NULL: the bound address, else the route's choice */
	uint8_t ttl;              /* 0: the default (IPv6: the hop limit) */
	uint8_t tos;              /* IPv6: the traffic class */
	bool df;                  /* IPv4 */
};
/* Send len bytes of payload under an IP header of the socket's protocol;
 * 0 or a negative errno. */
int raw_sendto(struct raw_sock *s, const struct ipaddr *dst, const void *data, size_t len,
	       const struct raw_send_opts *o);
/* Does a socket want a packet of proto from src to dst? */
int raw_wanted(const struct node *n, uint8_t proto, const struct ipaddr *src,
	       const struct ipaddr *dst);
/* Hand p (payload at off) to every socket that wants it; consumes p. */
void raw_input(struct node *n, struct pkt *p, uint8_t proto, const struct ipaddr *src,
	       const struct ipaddr *dst, size_t off);
/* The name of a protocol the stack takes itself (so a raw socket for it
 * would never see a packet: ICMP, TCP, UDP, ESP, AH, IPComp, IP-in-IP and
 * IPv6's extension headers), or NULL. */
const char *raw_stack_proto(uint8_t proto);
void raw_close(struct raw_sock *s);
void raw_free_all(struct node *n);

struct mem_use;
/* For show NODE memory. */
void raw_memory(const struct node *n, struct mem_use *u);

#endif
