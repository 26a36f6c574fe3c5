#include "capread.h"

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/cksum.h"
#include "../stack/util.h"

#define REASS_MAX   16     /* datagrams being reassembled at once */
#define REASS_BYTES 65535u /* the largest IPv4 datagram */
#define REASS_UNITS 8192u  /* 8-byte fragment units in it */

struct reass {
	bool used;
	uint8_t src[4], dst[4], proto;
	uint16_t id;
	uint8_t hdr[60]; /* the first fragment's header */
	size_t hlen;     /* 0 until the first fragment came */
	size_t total;    /* payload bytes; 0 until the last fragment came */
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
	unsigned frame, skipped, dropped_frags;
	struct reass *rq; /* REASS_MAX slots */
	uint8_t out[REASS_BYTES];
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

/* Where the IPv4 packet starts in a frame; -1 when the frame holds none. */
static long ip_offset(int dlt, const uint8_t *d, size_t n)
{
	switch (dlt) {
	case DLT_RAW:
	case DLT_IPV4: return 0;
	case DLT_EN10MB: {
		size_t off = 12;
		/* 802.1Q and 802.1ad tags, any number */
		while (off + 2 <= n && (get_be16(d + off) == 0x8100 || get_be16(d + off) == 0x88a8))
			off += 4;
		if (off + 2 > n || get_be16(d + off) != 0x0800)
			return -1;
		return (long)off + 2;
	}
	case DLT_LINUX_SLL: return n >= 16 && get_be16(d + 14) == 0x0800 ? 16 : -1;
	case DLT_LINUX_SLL2: return n >= 20 && get_be16(d) == 0x0800 ? 20 : -1;
	case DLT_NULL:
	case DLT_LOOP: {
		if (n < 4)
			return -1;
		/* AF_INET is 2 everywhere; null is in the writer's byte order,
		 * loop in network order. */
		uint32_t le = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
			      (uint32_t)d[3] << 24;
		return le == 2 || get_be32(d) == 2 ? 4 : -1;
	}
	default: return -1;
	}
}

static bool unit_has(const struct reass *q, unsigned u)
{
	return q->have[u / 8] & (1u << (u % 8));
}

/* Add a fragment; true with the datagram in r->out when it is complete. */
static bool reassemble(struct cap_reader *r, const uint8_t *ip, size_t len, size_t hl,
		       size_t *outlen, unsigned *nfrags)
{
	uint16_t off = get_be16(ip + 6);
	size_t start = (size_t)(off & 0x1fff) * 8, plen = len - hl;
	bool more = off & 0x2000;
	if (start + plen > REASS_BYTES - 60 || (more && plen % 8) || plen == 0) {
		r->dropped_frags++;
		return false;
	}
	struct reass *q = NULL, *oldest = NULL;
	for (unsigned i = 0; i < REASS_MAX && !q; i++) {
		struct reass *c = &r->rq[i];
		if (c->used && !memcmp(c->src, ip + 12, 4) && !memcmp(c->dst, ip + 16, 4) &&
		    c->proto == ip[9] && c->id == get_be16(ip + 4))
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
		memcpy(q->src, ip + 12, 4);
		memcpy(q->dst, ip + 16, 4);
		q->proto = ip[9];
		q->id = get_be16(ip + 4);
		q->age = r->frame;
	}
	q->nfrags++;
	memcpy(q->data + start, ip + hl, plen);
	for (size_t u = start / 8; u < (start + plen + 7) / 8; u++)
		q->have[u / 8] |= (uint8_t)(1u << (u % 8));
	if (start == 0) {
		memcpy(q->hdr, ip, hl);
		q->hlen = hl;
	}
	if (!more)
		q->total = start + plen;
	if (!q->hlen || !q->total)
		return false;
	for (unsigned u = 0; u < (q->total + 7) / 8; u++)
		if (!unit_has(q, u))
			return false;
	size_t n = q->hlen + q->total;
	memcpy(r->out, q->hdr, q->hlen);
	memcpy(r->out + q->hlen, q->data, q->total);
	put_be16(r->out + 2, (uint16_t)n);
	put_be16(r->out + 6, get_be16(r->out + 6) & 0x4000); /* DF stays */
	put_be16(r->out + 10, 0);
	put_be16(r->out + 10, in_cksum(r->out, q->hlen));
	*outlen = n;
	*nfrags = q->nfrags;
	q->used = false;
	return true;
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
		const uint8_t *ip = off >= 0 ? d + off : NULL;
		size_t n = off >= 0 ? h->caplen - (size_t)off : 0;
		/* An IPv4 header that holds together; the total length cuts
		 * off link padding. */
		size_t hl = n >= 20 ? (size_t)(ip[0] & 0x0f) * 4 : 0;
		if (!ip || n < 20 || ip[0] >> 4 != 4 || hl < 20 || hl > n ||
		    get_be16(ip + 2) < hl || get_be16(ip + 2) > n) {
			r->skipped++;
			continue;
		}
		n = get_be16(ip + 2);
		*p = (struct cap_packet){.frame = r->frame,
					 .ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u +
						  (uint64_t)h->ts.tv_usec};
		if (get_be16(ip + 6) & 0x3fff) { /* a fragment */
			if (!reassemble(r, ip, n, hl, &p->len, &p->fragments))
				continue;
			p->ip = r->out;
			return 1;
		}
		p->ip = ip; /* libpcap's buffer: valid until the next read */
		p->len = n;
		return 1;
	}
}
