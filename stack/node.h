/*
 * A simulated node: one complete IP stack.  Every piece of mutable stack state
 * hangs off struct node, so any number of nodes (and simulations) coexist in
 * one process.
 */
#ifndef STACK_NODE_H
#define STACK_NODE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "../sim/rng.h"
#include "addr.h"
#include "pkt.h"
#include "route.h"
#include "stats.h"
#include "sysctl.h"
#include "util.h"

struct sim;
struct iface;
struct ip4_reasq;
struct ip6_reasq;
struct ip6_pmtu;
struct nd_router;
struct udp_sock;
struct raw_sock;
struct tcp_table;
struct echo_sock;
struct ipsec_state;
struct capture;
struct pf;
struct node_addr;

struct node {
	struct sim *sim;
	char *name;
	struct rng rng; /* this node's stream: IP ids, ports, later IVs and SPIs */

	struct iface **ifaces;
	unsigned nifaces;
	struct hmap iface_names;      /* name -> iface */
	struct hmap local_addrs;      /* every address of every interface -> its node_addr */
	struct node_addr **addr_recs; /* those records, to free them */
	unsigned naddr_recs;
	struct rtable rt;

	struct ip4_reasq *reasq;  /* reassembly queues, oldest first */
	unsigned nfrags;          /* fragments held in all queues */
	struct ip6_reasq *reasq6; /* the same for IPv6 */
	unsigned nfrags6;
	/* path MTUs learned from packet too big (RFC 8201) and need-frag,
	 * by destination, oldest deadline first; at most IP_PMTU_MAX */
	struct hmap pmtu_by_dst;
	struct ip6_pmtu *pmtu_head, *pmtu_tail;
	unsigned npmtu;
	struct nd_router *routers; /* default routers learned from advertisements */
	unsigned nrouters;

	struct udp_sock *udp_socks;
	struct raw_sock *raw_socks; /* raw IP sockets (raw.c), newest first */
	struct tcp_table *tcp; /* connections and listeners; NULL until used */
	struct echo_sock *echo_socks;
	struct ipsec_state *ipsec; /* SAD, SPD and PF_KEY sockets; NULL until used */
	struct capture **enccaps;  /* captures of enc0 (LINKTYPE_ENC) */
	unsigned nenccaps;
	struct pf *pf;             /* the packet filter; NULL: none loaded */
	struct bridge *bridges;    /* bridge(4)s, in creation order; NULL: none */
	struct capture **pflogs;   /* captures of pflog0 (LINKTYPE_PFLOG) */
	unsigned npflogs;

	int64_t sysctl[SYSCTL__COUNT];
	uint64_t stats[STAT__COUNT];
	int last_drop; /* the reason of the last node_drop (enum stat_id); -1 none */
	/* The ESP, AH or IPComp packet being taken in, for its drop line: set
	 * by ipsec_input, spent by the next node_drop, cleared after input. */
	struct {
		uint32_t spi, seq;
		uint8_t sproto; /* 0: none */
	} drop_sa;

	uint64_t timer_at;        /* when the armed slow timer fires; UINT64_MAX if none */
	uint64_t icmp_err_second; /* rate limit window (virtual seconds) */
	int64_t icmp_err_count;
	uint64_t icmp6_err_second; /* the same for ICMPv6 */
	int64_t icmp6_err_count;
	uint64_t tcp_rst_second; /* net.inet.tcp.rstppslimit's window */
	int64_t tcp_rst_count;
};

struct node *node_new(struct sim *sim, const char *name);
void node_free(struct node *n);

/* Increment a counter. */
static inline void node_count(struct node *n, enum stat_id id)
{
	n->stats[id]++;
}

/* Drop a packet for a named reason: count it, trace it, free it.  p may be
 * NULL when the thing dropped is not a buffer of ours. */
void node_drop(struct node *n, struct pkt *p, enum stat_id why);
/* Write "time node message" to the simulation's trace. */
void node_trace(struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct iface *node_iface(struct node *n, const char *name);
/* The interface owning this address, or NULL when it is not ours. */
struct iface *node_owns_addr(struct node *n, const struct ipaddr *a);
/* Bytes of the table of n's addresses (for show NODE memory). */
size_t node_addrs_memory(const struct node *n);
/* Note an address of one of n's interfaces (iface_add_addr does). */
void node_addr_added(struct node *n, struct iface *ifp, const struct ipaddr *a);

/* Ask for node_timer() to run no later than `when` (virtual ns). */
void node_timer_arm(struct node *n, uint64_t when);

#endif
