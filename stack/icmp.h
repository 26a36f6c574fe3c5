/* ICMP for IPv4 (RFC 792, RFC 1122 3.2.2, RFC 1812 4.3) and echo sockets. */
#ifndef STACK_ICMP_H
#define STACK_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"

#define ICMP_MINLEN           8
#define ICMP_ECHOREPLY        0
#define ICMP_UNREACH          3
#define ICMP_UNREACH_NET      0
#define ICMP_UNREACH_HOST     1
#define ICMP_UNREACH_PROTOCOL 2
#define ICMP_UNREACH_PORT     3
#define ICMP_UNREACH_NEEDFRAG 4
#define ICMP_SOURCEQUENCH     4
#define ICMP_REDIRECT         5
#define ICMP_ECHO             8
#define ICMP_TIMXCEED         11
#define ICMP_TIMXCEED_INTRANS 0
#define ICMP_TIMXCEED_REASS   1
#define ICMP_PARAMPROB        12
#define ICMP_MAXQUOTE         548 /* RFC 1812 4.3.2.3: the error fits in 576 bytes */

struct node;
struct iface;
struct ip4_hdr;
struct ip6_exthdrs;

void icmp_input(struct node *n, struct pkt *p, const struct ip4_hdr *h, bool bcast);
/*
 * Send an error about `orig` (a whole IP packet, not consumed) to its source,
 * unless RFC 1122 3.2.2.8 forbids it: about an ICMP error, a non-first
 * fragment, or a broadcast.  info is the next-hop MTU for need-frag, the
 * pointer for a parameter problem.  Rate limited by net.inet.icmp.errppslimit.
 */
void icmp_error(struct node *n, const struct pkt *orig, uint8_t type, uint8_t code, uint32_t info);
/* A one-line description such as "Time to live exceeded". */
const char *icmp_describe(uint8_t type, uint8_t code);

/* Echo sockets: what ping uses.  Replies and errors about our echoes come
 * back through the callback. */
struct echo_event {
	bool is_error;      /* an ICMP error quoting one of our requests */
	struct ipaddr from; /* who sent the reply or error */
	uint16_t seq;
	uint8_t ttl;        /* of the reply's IP header */
	uint8_t type, code; /* of the error */
	uint32_t info;
	const uint8_t *data; /* echo data (reply only) */
	size_t datalen;
};

struct echo_sock;
typedef void (*echo_cb)(struct echo_sock *s, const struct echo_event *ev, void *arg);

struct echo_sock {
	struct echo_sock *next;
	struct node *node;
	struct iface *scope;           /* the interface for IPv6 link-local destinations */
	const struct ip6_exthdrs *ext; /* IPv6 extension headers to send, or NULL */
	struct ipaddr src;             /* the source; ADDR_NONE: the route's choice */
	uint16_t id;
	echo_cb cb;
	void *arg;
};

/* An echo reply (ICMP or ICMPv6: the same layout, len bytes at icp) for
 * one of our sockets; false when nobody waits for it. */
bool icmp_echo_reply_in(struct node *n, const struct ipaddr *from, uint8_t ttl, const uint8_t *icp,
			size_t len);
/* An error quoting one of our echo requests (l4: its first 8 bytes). */
void icmp_echo_error_in(struct node *n, const struct ipaddr *from, uint8_t type, uint8_t code,
			uint32_t info, const uint8_t *l4);
/* The echo socket with this identifier (ICMP and ICMPv6 share them). */
struct echo_sock *icmp_echo_find(struct node *n, uint16_t id);
/* Open an echo socket with an identifier unique on the node. */
struct echo_sock *icmp_echo_open(struct node *n, echo_cb cb, void *arg);
/* Send an echo request; returns 0 or a negative errno. */
int icmp_echo_send(struct echo_sock *s, const struct ipaddr *dst, uint16_t seq, const uint8_t *data,
		   size_t len, uint8_t ttl, uint8_t tos, bool df);
void icmp_echo_close(struct echo_sock *s);
void icmp_echo_free_all(struct node *n);

struct mem_use;
/* For show NODE memory: echo sockets. */
void icmp_echo_memory(const struct node *n, struct mem_use *u);

#endif
