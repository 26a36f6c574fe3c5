/*
 * Packet buffer.  One contiguous buffer with headroom in front of the data so
 * that each layer prepends its header without copying (an mbuf cluster or an
 * sk_buff in miniature).  A packet has exactly one owner; whoever drops it
 * frees it.
 */
#ifndef STACK_PKT_H
#define STACK_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "seclevel.h"

#define PKT_HEADROOM 128 /* room for Ethernet + IP + IPsec headers */
#define PKT_TAILROOM 64  /* room for an ESP trailer and ICV without a copy */

enum {
	PKT_LINKBCAST = 1 << 0, /* arrived as a link-layer broadcast or multicast */
	PKT_FORWARDED = 1 << 1, /* being forwarded, not locally originated */
	PKT_ENCIF = 1 << 2,     /* came out of an IPsec tunnel: input on enc0 */
};

struct iface;

/* Which SA processed a packet (OpenBSD's struct tdb_ident in the
 * IPSEC_IN_DONE and IPSEC_OUT_DONE tags); proto 0 when none. */
struct pkt_sa {
	uint32_t spi;
	uint8_t proto;
	struct ipaddr dst;
};

/* ipsec_flags: what IPsec did to a packet on input (OpenBSD's mbuf flags,
 * which enc(4) copies into its header). */
#define PKT_M_CONF   0x0400 /* decrypted */
#define PKT_M_AUTH   0x0800 /* authenticated */
#define PKT_M_TUNNEL 0x1000 /* came out of a tunnel */
#define PKT_M_COMP   0x2000 /* decompressed (IPComp) */

#define PKT_OUT_DONE_MAX 4 /* SAs one packet may go through on output */

struct pkt {
	uint8_t *buf;                             /* start of the allocation */
	size_t cap;                               /* size of the allocation */
	uint8_t *data;                            /* first byte of the packet */
	size_t len;                               /* bytes from data */
	struct iface *rcvif;                      /* interface the packet came in on, or NULL */
	unsigned flags;                           /* PKT_* */
	struct pkt *next;                         /* for queues; NULL when not queued */
	unsigned ipsec_flags;                     /* PKT_M_* */
	struct pkt_sa in_done; /* the innermost SA that processed it on input */
	struct pkt_sa in_all[PKT_OUT_DONE_MAX]; /* every SA that did, outermost first */
	unsigned nin_all;
	struct pkt_sa out_done[PKT_OUT_DONE_MAX]; /* the SAs applied on output, in order */
	unsigned nout_done;
	uint16_t encap_sport; /* ESP that came in UDP (RFC 3948): its source port; 0 not */
	bool has_sl;          /* sent by a socket with IPsec levels other than AVAIL: */
	struct seclevel sl;   /* those levels (the inp_seclevel ip_output is given) */
};

/* A packet of len bytes (contents undefined) with the given headroom. */
struct pkt *pkt_alloc(size_t headroom, size_t len);
/* A packet holding a copy of the bytes. */
struct pkt *pkt_from(const void *bytes, size_t len, size_t headroom);
struct pkt *pkt_clone(const struct pkt *p);
/* Forget what a stack noted on the packet (flags, the SAs that processed
 * it): for a frame that reaches another node. */
void pkt_reset_meta(struct pkt *p);
/* Stamp a socket's IPsec levels on a packet it sends (none when plain). */
void pkt_set_seclevel(struct pkt *p, const struct seclevel *sl);
void pkt_free(struct pkt *p);

/* Make room for n bytes in front of the data and return a pointer to them;
 * grows the buffer when the headroom is short. */
uint8_t *pkt_push(struct pkt *p, size_t n);
/* Remove n bytes from the front; the caller has checked n <= len. */
void pkt_pull(struct pkt *p, size_t n);
/* Cut the packet to len bytes; the caller has checked len <= p->len. */
void pkt_trim(struct pkt *p, size_t len);
/* Add n bytes at the end and return a pointer to them. */
uint8_t *pkt_put(struct pkt *p, size_t n);

/* A FIFO of packets linked through pkt->next. */
struct pktq {
	struct pkt *head, *tail;
	size_t len;
};
void pktq_push(struct pktq *q, struct pkt *p);
struct pkt *pktq_pop(struct pktq *q);
void pktq_purge(struct pktq *q);

#endif
