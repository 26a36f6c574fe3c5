/*
 * IPv6 (RFC 8200) on the wire: the fixed header, the extension headers
 * (hop-by-hop and destination options, routing, fragment), and the walk
 * along a packet's header chain to its upper-layer protocol.  Every
 * function checks each length before it reads and says what was wrong:
 * a drop reason, and for a malformed header the offset of the offending
 * byte, which is what an ICMPv6 parameter problem points at (RFC 4443 3.4).
 */
#ifndef STACK_IP6_H
#define STACK_IP6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "stats.h"
#include "util.h"

#define IP6_HDR_LEN    40
#define IP6_MAXPAYLOAD 65535
#define IP6_MIN_MTU    1280 /* RFC 8200 5 */
#define IP6_FRAG_LEN   8
#define IP6_MAX_EXT    8 /* extension headers a walk follows before giving up */

/* Guarded: <netinet/in.h>, which libpcap's header brings in, has them. */
#ifndef IPPROTO_HOPOPTS
#define IPPROTO_HOPOPTS 0
#endif
#ifndef IPPROTO_IPV6
#define IPPROTO_IPV6 41
#endif
#ifndef IPPROTO_ROUTING
#define IPPROTO_ROUTING 43
#endif
#ifndef IPPROTO_FRAGMENT
#define IPPROTO_FRAGMENT 44
#endif
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif
#ifndef IPPROTO_NONE
#define IPPROTO_NONE 59
#endif
#ifndef IPPROTO_DSTOPTS
#define IPPROTO_DSTOPTS 60
#endif

/* A parsed fixed header. */
struct ip6_hdr {
	uint8_t tclass;
	uint32_t flow; /* 20 bits */
	uint16_t plen; /* payload length: everything after these 40 bytes */
	uint8_t nxt;
	uint8_t hlim;
	struct ipaddr src, dst;
};

/* Parse the fixed header of a packet of len bytes.  Returns 0, or the drop
 * reason: ip6.toosmall (under 40 bytes), ip6.badvers, ip6.tooshort (the
 * payload length runs past the packet; a longer packet is trimmed by the
 * caller to 40 + plen).  A payload length of 0 (a jumbogram, RFC 2675) is
 * not supported: ip6.badoptions. */
MUST_CHECK int ip6_parse(const uint8_t *b, size_t len, struct ip6_hdr *h, enum stat_id *why);
/* Write the fixed header; returns 40. */
size_t ip6_emit(uint8_t *b, const struct ip6_hdr *h);

/* ---- options of hop-by-hop and destination options headers ---- */

#define IP6OPT_PAD1 0
#define IP6OPT_PADN 1
/* The action for an unrecognised option (RFC 8200 4.2): its two high bits. */
enum ip6opt_action {
	IP6OPT_SKIP = 0,        /* skip it and go on */
	IP6OPT_DISCARD = 1,     /* discard the packet */
	IP6OPT_ICMP = 2,        /* discard, and send parameter problem code 2 */
	IP6OPT_ICMP_UNICAST = 3 /* the same unless the destination was multicast */
};
#define IP6OPT_ACTION(type)  ((enum ip6opt_action)((type) >> 6))
#define IP6OPT_MUTABLE(type) (((type)&0x20) != 0) /* may change en route (AH zeroes it) */

struct ip6_opt {
	uint8_t type;
	uint8_t len;         /* data bytes */
	const uint8_t *data; /* NULL for Pad1 */
	size_t off;          /* the option's type byte, from the extension header's start */
};

/* The next option of an options header (hdr: the whole header, its length
 * hdrlen, as the walk found it), from *pos (start at 2).  Returns 1 with
 * the option, 0 at the end, -1 when an option runs past the header (*pos
 * is then the offending byte). */
int ip6_opt_next(const uint8_t *hdr, size_t hdrlen, size_t *pos, struct ip6_opt *o);
/* Build an options header: nxt, then the options, padded with Pad1/PadN
 * to a multiple of 8 (RFC 8200 4.2).  Options are written as given (an
 * option's alignment is the caller's).  Returns the length, or 0 when it
 * would not fit in cap or in 2048 bytes. */
size_t ip6_opts_emit(uint8_t *b, size_t cap, uint8_t nxt, const struct ip6_opt *opts, unsigned n);

/* ---- routing header ---- */

struct ip6_rthdr {
	uint8_t nxt;
	uint8_t type;        /* 0 is deprecated (RFC 5095), 2 is Mobile IPv6's */
	uint8_t segleft;     /* segments left */
	const uint8_t *data; /* type-specific data, after the first 4 bytes */
	size_t datalen;
};

/* Parse a routing header of hdrlen bytes (as the walk found it). */
void ip6_rthdr_parse(const uint8_t *hdr, size_t hdrlen, struct ip6_rthdr *r);
/* Addresses in a type 0 or type 2 routing header's data (16 bytes each
 * after 4 reserved); -1 when the data is not whole addresses. */
int ip6_rthdr_addrs(const struct ip6_rthdr *r);
/* Build a routing header with addresses (type 0 or 2); returns its length
 * or 0 when it does not fit in cap. */
size_t ip6_rthdr_emit(uint8_t *b, size_t cap, uint8_t nxt, uint8_t type, uint8_t segleft,
		      const struct ipaddr *addrs, unsigned n);

/* ---- fragment header ---- */

struct ip6_frag {
	uint8_t nxt;
	uint16_t off; /* bytes, a multiple of 8 */
	bool more;
	uint32_t id;
};

/* Parse an 8-byte fragment header. */
void ip6_frag_parse(const uint8_t *hdr, struct ip6_frag *f);
/* Write one; returns 8. */
size_t ip6_frag_emit(uint8_t *b, const struct ip6_frag *f);

/* ---- the header chain ---- */

struct ip6_ext {
	uint8_t type; /* IPPROTO_HOPOPTS, _ROUTING, _FRAGMENT, _DSTOPTS */
	size_t off;   /* from the start of the packet */
	size_t len;   /* bytes */
};

struct ip6_chain {
	struct ip6_ext ext[IP6_MAX_EXT];
	unsigned n;
	uint8_t proto;       /* what follows the last extension header */
	size_t off;          /* where it starts */
	int frag;            /* index of the fragment header in ext[], or -1 */
	bool later_fragment; /* a fragment with a non-zero offset: proto is not its start */
};

/*
 * Walk from the fixed header along the extension headers to the first
 * header that is not one of them (upper layer, ESP, AH, or 59).  len is
 * the packet up to the end of its payload (40 + plen).  A non-first
 * fragment ends the walk at its fragment header.  Returns 0, or the drop
 * reason:
 *  - ip6.badoptions: hop-by-hop options anywhere but right after the fixed
 *    header (RFC 8200 4.1), with *ptr the offset (from the packet's start)
 *    of the next-header byte that named them, for an ICMPv6 parameter
 *    problem of code 1 (RFC 4443 3.4), and *code 1;
 *  - ip6.toomanyhdr: more than IP6_MAX_EXT extension headers (*code 0,
 *    *ptr at the next-header byte of the last one followed);
 *  - ip6.tooshort: an extension header that runs past the packet (no ICMP;
 *    *code 0xff, *ptr at the next-header byte that named it).
 */
MUST_CHECK int ip6_walk(const uint8_t *pkt, size_t len, struct ip6_chain *c, enum stat_id *why,
			size_t *ptr, uint8_t *code);
/* The same walk for callers that only need the chain (what follows the
 * headers, where): 0, or -1 when the chain does not hold together. */
MUST_CHECK int ip6_walk_quiet(const uint8_t *pkt, size_t len, struct ip6_chain *c);
/* True for the four extension headers the walk follows. */
bool ip6_is_ext(uint8_t proto);

/* ---- addresses (RFC 4291) ---- */

bool ip6_is_linklocal(const struct ipaddr *a); /* fe80::/10 */
/* The solicited-node group of a (ff02::1:ff00:0/104 and a's low 24 bits,
 * RFC 4291 2.7.1), and a group's Ethernet address (33:33 and its low 32
 * bits, RFC 2464 7). */
struct ipaddr ip6_solicited_node(const struct ipaddr *a);
void ip6_multicast_mac(const struct ipaddr *group, uint8_t mac[6]);
extern const struct ipaddr ip6_allnodes; /* ff02::1 */

/* ---- the node's IPv6 (ip6.c) ---- */

struct node;
struct pkt;
struct iface;

/* Extension headers a sender puts between the fixed header and its
 * payload: the chain's bytes, the type of its first header, and where in
 * buf the last header's next-header byte sits (ip6_output fills it in). */
#define IP6_EXTHDRS_MAX 2048
struct ip6_exthdrs {
	uint8_t first;
	size_t len, last_nxt;
	uint8_t buf[IP6_EXTHDRS_MAX];
};
/* Append a header built at buf + len (its type `type`, hl bytes, already
 * written there by ip6_opts_emit or ip6_rthdr_emit), chaining it to the
 * one before. */
void ip6_exthdrs_add(struct ip6_exthdrs *x, uint8_t type, size_t hl);

/* What ip6_output needs to build a header. */
struct ip6_out {
	struct ipaddr src; /* ADDR_NONE: the outgoing interface's address */
	struct ipaddr dst;
	uint8_t nxt;
	uint8_t hlim; /* 0: net.inet6.ip6.hlim */
	uint8_t tclass;
	struct iface *ifp;             /* link-scope destinations (ND): the interface; else NULL */
	const struct ip6_exthdrs *ext; /* NULL: none */
};

/* A frame's IPv6 packet arrives (the stack takes the packet). */
void ip6_input(struct node *n, struct pkt *p);
/* Send a payload; 0 or a negative errno (the packet is consumed). */
int ip6_output(struct node *n, struct pkt *p, const struct ip6_out *o);
/* Send a packet that has its header (after IPsec): the SPD again, then
 * routing and fragmentation as for our own. */
int ip6_output_raw(struct node *n, struct pkt *p);
/* Go on delivering a packet from offset `from` of its header chain (after
 * ESP or AH came off there): the extension headers from there on, then
 * the upper layer. */
void ip6_deliver_from(struct node *n, struct pkt *p, size_t from);
/* The source address ip6_output would choose for dst. */
int ip6_select_src(struct node *n, const struct ipaddr *dst, struct ipaddr *src);
/* A packet too big said the path to dst takes mtu bytes (RFC 8201): kept
 * for 10 minutes, never below 1280. */
void ip6_pmtu_update(struct node *n, const struct ipaddr *dst, uint32_t mtu);
/* The path MTU to dst over a link of ifmtu (either family: the cache is
 * shared with IPv4's RFC 1191 path MTUs). */
unsigned ip6_path_mtu(struct node *n, const struct ipaddr *dst, unsigned ifmtu);
/* Keep a smaller path MTU to dst (either family) for 10 minutes; a larger
 * one only once the old has expired.  A node keeps IP_PMTU_MAX at most:
 * past that a new destination is not learned (ip.pmtufull, ip6.pmtufull). */
#define IP_PMTU_MAX 4096
void ip_pmtu_note(struct node *n, const struct ipaddr *dst, uint32_t mtu);
void ip6_pmtu_free(struct node *n);

/* Fragmentation and reassembly (ip6_frag.c). */
struct pktq;
/* Split p (a whole packet) into fragments of at most mtu bytes. */
void ip6_fragment(struct node *n, struct pkt *p, unsigned mtu, struct pktq *out);
/* Add the fragment (c->frag is its fragment header); the datagram when it
 * is complete, else NULL (held or dropped). */
struct pkt *ip6_reass(struct node *n, struct pkt *p, const struct ip6_hdr *h,
		      const struct ip6_chain *c);
uint64_t ip6_reass_timer(struct node *n);
void ip6_reass_free(struct node *n);

struct mem_use;
/* For show NODE memory: reassembly queues, path MTUs. */
void ip6_reass_memory(const struct node *n, struct mem_use *u);
void ip6_pmtu_memory(const struct node *n, struct mem_use *u);

#endif
