#include "capread.h"

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/cksum.h"
#include "../stack/ip6.h"
#include "../stack/util.h"

#define REASS_MAX   16     /* datagrams being reassembled at once */
#define REASS_BYTES 65535u /* the largest fragmentable part (IPv4: datagram) */
#define REASS_UNITS 8192u  /* 8-byte fragment units in it */
#define REASS_HDR   512u   /* IPv6's unfragmentable part, at most */
#define IP4_MAXLEN  65535u

struct reass {
	bool used;
	uint8_t v; /* IP version */
	uint8_t src[16], dst[16], proto;
	uint32_t id;
	uint8_t hdr[REASS_HDR]; /* the first fragment's header (IPv6: the
				   unfragmentable part) */
	size_t hlen;            /* 0 until the first fragment came */
	size_t nxt_at;          /* IPv6: the next-header byte naming the fragment header */
	size_t total;           /* payload bytes; 0 until the last fragment came */
	uint8_t have[REASS_UNITS / 8];
	unsigned nfrags;
	uint64_t age; /* the frame that opened it, for eviction */
	uint8_t data[REASS_BYTES];
};

struct cap_reader {
	pcap_t *pc;
	int dlt;
	const char *path;
	FILE *err;
	unsigned frame, skipped, notip, dropped_frags;
	struct reass *rq; /* REASS_MAX slots */
	uint8_t out[REASS_HDR + REASS_BYTES];
};

struct cap_reader *cap_open(const char *path, FILE *err)
{
	char e[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, e);
	if (!pc) {
		fprintf(err, "%s: %s\n", path, e);
		return NULL;
	}
	int dlt = pcap_datalink(pc);
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP: break;
	default:
		fprintf(err,
			"%s: link type %s (%d): Ethernet, raw IP, Linux cooked or BSD loopback "
			"captures only\n",
			path, pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?",
			dlt);
		pcap_close(pc);
		return NULL;
	}
	struct cap_reader *r = xcalloc(1, sizeof(*r));
	r->pc = pc;
	r->dlt = dlt;
	r->path = path;
	r->err = err;
	r->rq = xcalloc(REASS_MAX, sizeof(*r->rq));
	return r;
}

void cap_close(struct cap_reader *r)
{
	if (!r)
		return;
	pcap_close(r->pc);
	free(r->rq);
	free(r);
}

unsigned cap_skipped(const struct cap_reader *r)
{
	return r->skipped;
}

unsigned cap_not_ip(const struct cap_reader *r)
{
	return r->notip;
}

unsigned cap_frames(const struct cap_reader *r)
{
	return r->frame;
}

unsigned cap_incomplete(const struct cap_reader *r)
{
	unsigned n = r->dropped_frags;
	for (unsigned i = 0; i < REASS_MAX; i++)
		if (r->rq[i].used)
			n += r->rq[i].nfrags;
	return n;
}

static bool ethertype_ip(uint16_t type)
{
	return type == 0x0800 || type == 0x86dd;
}

/* BSD null and loopback headers: AF_INET is 2 everywhere; AF_INET6 is 10
 * on Linux, 24 on OpenBSD and NetBSD, 28 on FreeBSD, 30 on macOS. */
static bool bsd_af_ip(uint32_t af)
{
	return af == 2 || af == 10 || af == 24 || af == 28 || af == 30;
}

/* Where the IP packet starts in a frame; -1 when the frame holds none. */
static long ip_offset(int dlt, const uint8_t *d, size_t n)
{
	switch (dlt) {
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6: return 0;
	case DLT_EN10MB: {
		size_t off = 12;
		/* 802.1Q and 802.1ad tags, any number */
		while (off + 2 <= n && (get_be16(d + off) == 0x8100 || get_be16(d + off) == 0x88a8))
			off += 4;
		if (off + 2 > n || !ethertype_ip(get_be16(d + off)))
			return -1;
		return (long)off + 2;
	}
	case DLT_LINUX_SLL: return n >= 16 && ethertype_ip(get_be16(d + 14)) ? 16 : -1;
	case DLT_LINUX_SLL2: return n >= 20 && ethertype_ip(get_be16(d)) ? 20 : -1;
	case DLT_NULL:
	case DLT_LOOP: {
		if (n < 4)
			return -1;
		/* null is in the writer's byte order, loop in network order */
		uint32_t le = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
			      (uint32_t)d[3] << 24;
		return bsd_af_ip(le) || bsd_af_ip(get_be32(d)) ? 4 : -1;
	}
	default: return -1;
	}
}

static bool unit_has(const struct reass *q, unsigned u)
{
	return q->have[u / 8] & (1u << (u % 8));
}

/* A fragment, whichever the version: where its fragmentable part starts
 * (hl: the header, for IPv6 including the fragment header), its offset
 * and more-fragments flag, and for IPv6 the unfragmentable part's length
 * and the byte that names the fragment header. */
struct frag {
	uint8_t v, proto;
	uint32_t id;
	size_t hl, start, unfrag, nxt_at;
	bool more;
};

/* Add a fragment; true with the datagram in r->out when it is complete. */
static bool reassemble(struct cap_reader *r, const uint8_t *ip, size_t len, const struct frag *f,
		       size_t *outlen, unsigned *nfrags)
{
	size_t start = f->start, plen = len - f->hl;
	size_t alen = f->v == 4 ? 4 : 16, aoff = f->v == 4 ? 12 : 8;
	if (start + plen > REASS_BYTES - 60 || (f->more && plen % 8) || plen == 0) {
		r->dropped_frags++;
		return false;
	}
	struct reass *q = NULL, *oldest = NULL;
	for (unsigned i = 0; i < REASS_MAX && !q; i++) {
		struct reass *c = &r->rq[i];
		if (c->used && c->v == f->v && !memcmp(c->src, ip + aoff, alen) &&
		    !memcmp(c->dst, ip + aoff + alen, alen) && c->proto == f->proto &&
		    c->id == f->id)
			q = c;
	}
	if (!q) {
		for (unsigned i = 0; i < REASS_MAX && !q; i++)
			if (!r->rq[i].used)
				q = &r->rq[i];
		if (!q) { /* all busy: the oldest gives way */
			for (unsigned i = 0; i < REASS_MAX; i++)
				if (!oldest || r->rq[i].age < oldest->age)
					oldest = &r->rq[i];
			r->dropped_frags += oldest->nfrags;
			q = oldest;
		}
		memset(q, 0, offsetof(struct reass, data));
		q->used = true;
		q->v = f->v;
		memcpy(q->src, ip + aoff, alen);
		memcpy(q->dst, ip + aoff + alen, alen);
		q->proto = f->proto;
		q->id = f->id;
		q->age = r->frame;
	}
	q->nfrags++;
	memcpy(q->data + start, ip + f->hl, plen);
	for (size_t u = start / 8; u < (start + plen + 7) / 8; u++)
		q->have[u / 8] |= (uint8_t)(1u << (u % 8));
	if (start == 0) {
		/* IPv4: the header; IPv6: the part in front of the fragment header */
		q->hlen = f->v == 4 ? f->hl : f->unfrag;
		memcpy(q->hdr, ip, q->hlen);
		q->nxt_at = f->nxt_at;
	}
	if (!f->more)
		q->total = start + plen;
	if (!q->hlen || !q->total)
		return false;
	for (unsigned u = 0; u < (q->total + 7) / 8; u++)
		if (!unit_has(q, u))
			return false;
	size_t n = q->hlen + q->total;
	if (n > (q->v == 4 ? IP4_MAXLEN : IP6_HDR_LEN + IP6_MAXPAYLOAD)) {
		r->dropped_frags += q->nfrags; /* larger than its length field says */
		q->used = false;
		return false;
	}
	memcpy(r->out, q->hdr, q->hlen);
	memcpy(r->out + q->hlen, q->data, q->total);
	if (q->v == 4) {
		put_be16(r->out + 2, (uint16_t)n);
		put_be16(r->out + 6, get_be16(r->out + 6) & 0x4000); /* DF stays */
		put_be16(r->out + 10, 0);
		put_be16(r->out + 10, in_cksum(r->out, q->hlen));
	} else {
		/* RFC 8200 4.5: the fragment header goes, its next header
		 * takes its place */
		r->out[q->nxt_at] = q->proto;
		put_be16(r->out + 4, (uint16_t)(n - IP6_HDR_LEN));
	}
	*outlen = n;
	*nfrags = q->nfrags;
	q->used = false;
	return true;
}

/* An IPv6 packet's fragment header, if it has one before its upper layer:
 * 1 with f filled, 0 when it is not a fragment, -1 when the headers do
 * not hold together. */
static int ip6_fragment_of(const uint8_t *ip, size_t n, struct frag *f)
{
	struct ip6_chain c;
	if (ip6_walk_quiet(ip, n, &c) < 0)
		return -1;
	if (c.frag < 0)
		return 0;
	const struct ip6_ext *e = &c.ext[c.frag];
	if (e->off > REASS_HDR)
		return -1;
	struct ip6_frag fh;
	ip6_frag_parse(ip + e->off, &fh);
	*f = (struct frag){.v = 6,
			   .proto = fh.nxt,
			   .id = fh.id,
			   .hl = e->off + IP6_FRAG_LEN,
			   .start = fh.off,
			   .unfrag = e->off,
			   .nxt_at = c.frag ? c.ext[c.frag - 1].off : 6,
			   .more = fh.more};
	return 1;
}

int cap_next(struct cap_reader *r, struct cap_packet *p)
{
	for (;;) {
		struct pcap_pkthdr *h;
		const uint8_t *d;
		int rc = pcap_next_ex(r->pc, &h, &d);
		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc != 1) {
			fprintf(r->err, "%s: %s\n", r->path, pcap_geterr(r->pc));
			return -1;
		}
		r->frame++;
		long off = ip_offset(r->dlt, d, h->caplen);
		if (off < 0) {
			r->notip++; /* ARP, LLDP ...: nothing of IP in it */
			continue;
		}
		const uint8_t *ip = off >= 0 ? d + off : NULL;
		size_t n = off >= 0 ? h->caplen - (size_t)off : 0;
		/* An IP header that holds together; the length cuts off link
		 * padding. */
		uint8_t v = n >= 20 ? ip[0] >> 4 : 0;
		size_t hl = v == 4 ? (size_t)(ip[0] & 0x0f) * 4 : 0;
		if (v == 4 && (hl < 20 || hl > n || get_be16(ip + 2) < hl || get_be16(ip + 2) > n))
			v = 0;
		if (v == 6 && (n < IP6_HDR_LEN || IP6_HDR_LEN + (size_t)get_be16(ip + 4) > n))
			v = 0;
		if (v != 4 && v != 6) {
			r->skipped++;
			continue;
		}
		n = v == 4 ? get_be16(ip + 2) : IP6_HDR_LEN + (size_t)get_be16(ip + 4);
		*p = (struct cap_packet){.frame = r->frame,
					 .ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u +
						  (uint64_t)h->ts.tv_usec};
		struct frag f;
		int isfrag = 0;
		if (v == 4 && (get_be16(ip + 6) & 0x3fff)) {
			f = (struct frag){.v = 4,
					  .proto = ip[9],
					  .id = get_be16(ip + 4),
					  .hl = hl,
					  .start = (size_t)(get_be16(ip + 6) & 0x1fff) * 8,
					  .more = get_be16(ip + 6) & 0x2000};
			isfrag = 1;
		} else if (v == 6) {
			isfrag = ip6_fragment_of(ip, n, &f);
			if (isfrag < 0) {
				r->skipped++;
				continue;
			}
		}
		if (isfrag) {
			if (!reassemble(r, ip, n, &f, &p->len, &p->fragments))
				continue;
			p->ip = r->out;
			return 1;
		}
		p->ip = ip; /* libpcap's buffer: valid until the next read */
		p->len = n;
		return 1;
	}
}
