/* UDP (RFC 768) and in-simulation datagram sockets. */
#ifndef STACK_UDP_H
#define STACK_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "pkt.h"
#include "seclevel.h"
#include "util.h"

#define UDP_HDR_LEN         8
#define UDP_EPHEMERAL_FIRST 49152 /* OpenBSD's ipport_hifirstauto */
#define UDP_EPHEMERAL_LAST  65535

struct node;
struct ip4_hdr;
struct ip6_hdr;

struct udp_hdr {
	uint16_t sport, dport, len, sum;
};

MUST_CHECK int udp_parse(const uint8_t *b, size_t len, struct udp_hdr *h);
void udp_emit(uint8_t *b, const struct udp_hdr *h);

struct udp_dgram {
	struct udp_dgram *next;
	struct ipaddr src;
	uint16_t sport;
	struct ipaddr dst; /* ours it was sent to */
	struct pkt *p;     /* the payload */
};

struct udp_sock;
typedef void (*udp_recv_cb)(struct udp_sock *s, void *arg);

struct udp_sock {
	struct udp_sock *next;
	struct node *node;
	struct ipaddr laddr; /* ADDR_NONE: any */
	uint16_t lport;      /* 0: not bound */
	struct udp_dgram *rq_head, *rq_tail;
	size_t rq_bytes;
	int so_error; /* last ICMP error, as a positive errno */
	uint64_t rx_packets, rx_bytes;
	udp_recv_cb on_recv; /* called after each datagram is queued */
	void *cb_arg;
	struct seclevel sl; /* IPsec levels (stack/seclevel.h) */
};

struct udp_send_opts {
	uint8_t ttl; /* 0: the default */
	uint8_t tos;
	bool df;
	const struct ipaddr *src; /* the source (IP_SENDSRCADDR); NULL: the
				   * socket's, or the route's choice */
};

struct udp_sock *udp_open(struct node *n);
/* Bind to laddr (NULL: any) and port (0: an ephemeral one); 0 or -EADDRINUSE
 * or -EADDRNOTAVAIL. */
int udp_bind(struct udp_sock *s, const struct ipaddr *laddr, uint16_t port);
/* Send a datagram; binds an ephemeral port first when unbound.  Returns 0 or
 * a negative errno. */
int udp_sendto(struct udp_sock *s, const struct ipaddr *dst, uint16_t dport, const void *data,
	       size_t len, const struct udp_send_opts *o);
/* Take the oldest datagram: its length (truncated copy into buf), or -EAGAIN. */
ssize_t udp_recvfrom(struct udp_sock *s, void *buf, size_t cap, struct ipaddr *src,
		     uint16_t *sport);
/* The same, and the address the datagram was sent to (IP_RECVDSTADDR). */
ssize_t udp_recvmsg(struct udp_sock *s, void *buf, size_t cap, struct ipaddr *src,
		    uint16_t *sport, struct ipaddr *dst);
void udp_close(struct udp_sock *s);
/* The levels of the socket a datagram to dst:port would reach, or NULL. */
const struct seclevel *udp_seclevel_for(struct node *n, const struct ipaddr *dst, uint16_t port);
void udp_free_all(struct node *n);

void udp_input(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast);
/* A datagram over IPv6 at off (the checksum is required, RFC 8200 8.1). */
void udp6_input(struct node *n, struct pkt *p, const struct ip6_hdr *h, size_t off);
/* An ICMP error quoting a datagram we sent; l4 has at least 8 bytes. */
void udp_ctlinput(struct node *n, uint8_t type, uint8_t code, const struct ip4_hdr *inner,
		  const uint8_t *l4);
/* The same for an ICMPv6 error; src is the quoted packet's source. */
void udp6_ctlinput(struct node *n, uint8_t type, uint8_t code, const struct ipaddr *src,
		   const uint8_t *l4);

struct mem_use;
/* For show NODE memory: sockets and their queued datagrams. */
void udp_memory(const struct node *n, struct mem_use *u);

#endif
