/*
 * IPComp (RFC 3173) with the deflate algorithm (RFC 2394), following
 * OpenBSD's ipcomp_output/ipcomp_input and the deflate parameters of its
 * xform_ipcomp.c (reference 4): raw deflate without the zlib header,
 * window bits -12 to compress and -15 to decompress, one complete stream
 * per datagram (stateless, RFC 3173 2.2).  zlib does the deflating; the
 * per-SA z_streams are reset for each packet, not made anew.
 */
#include "ipcomp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../stack/node.h"
#include "../stack/util.h"
#include "enc.h"
#include "ipsec_ip.h"
#include "pfkey.h"
#include "sad.h"
#include "lifetime.h"

struct ipcomp_ctx {
	z_stream def, inf;
	bool def_ok, inf_ok;
};

static struct ipcomp_ctx *ctx(struct tdb *t)
{
	if (!t->comp)
		t->comp = xcalloc(1, sizeof(struct ipcomp_ctx));
	return t->comp;
}

void ipcomp_free(struct tdb *t)
{
	struct ipcomp_ctx *c = t->comp;
	if (!c)
		return;
	if (c->def_ok)
		deflateEnd(&c->def);
	if (c->inf_ok)
		inflateEnd(&c->inf);
	free(c);
	t->comp = NULL;
}

size_t ipcomp_deflate(struct tdb *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	struct ipcomp_ctx *c = ctx(t);
	if (!c->def_ok) {
		if (deflateInit2(&c->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return 0;
		c->def_ok = true;
	} else if (deflateReset(&c->def) != Z_OK) {
		return 0;
	}
	c->def.next_in = (Bytef *)in;
	c->def.avail_in = (uInt)len;
	c->def.next_out = out;
	c->def.avail_out = (uInt)cap;
	if (deflate(&c->def, Z_FINISH) != Z_STREAM_END)
		return 0; /* did not fit: not worth it */
	return cap - c->def.avail_out;
}

long ipcomp_inflate(struct tdb *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	struct ipcomp_ctx *c = ctx(t);
	if (!c->inf_ok) {
		if (inflateInit2(&c->inf, -15) != Z_OK)
			return -1;
		c->inf_ok = true;
	} else if (inflateReset(&c->inf) != Z_OK) {
		return -1;
	}
	c->inf.next_in = (Bytef *)in;
	c->inf.avail_in = (uInt)len;
	c->inf.next_out = out;
	c->inf.avail_out = (uInt)cap;
	/* one whole stream, and nothing after it */
	if (inflate(&c->inf, Z_FINISH) != Z_STREAM_END || c->inf.avail_in)
		return -1;
	return (long)(cap - c->inf.avail_out);
}

int ipcomp_output(struct node *n, struct tdb *t, struct pkt *p)
{
	struct ipsec_ip ip;
	if (ipsec_ip_out(p->data, p->len, &ip) < 0) {
		node_drop(n, p, STAT_IPCOMP_HDROPS);
		return -EINVAL;
	}
	size_t skip = ip.skip, plen = p->len - skip;
	if (plen < IPCOMP_MINLEN) {
		/* too short to be worth it: as it is, no header, no enc0 */
		node_count(n, STAT_IPCOMP_MINLEN);
		return 0;
	}
	enc_tap(n, t, p->data, p->len, 0, true);
	node_count(n, STAT_IPCOMP_OUTPUT);
	if (p->len + IPCOMP_HLENGTH > ipsec_ip_max(ip.af)) {
		node_drop(n, p, STAT_IPCOMP_TOOBIG);
		return -EMSGSIZE;
	}
	/* The byte lifetimes count what went in (ipcomp_output). */
	if (!sa_count_bytes(n, t, plen)) {
		node_drop(n, p, STAT_IPSEC_EXPIRED);
		return -EINVAL;
	}
	t->counters[TDB_OPACKETS]++;
	t->counters[TDB_OBYTES] += plen;
	uint8_t *buf = xmalloc(plen);
	size_t clen = ipcomp_deflate(t, p->data + skip, plen, buf, plen);
	if (!clen || plen <= clen + IPCOMP_HLENGTH) {
		/* "compression was useless": RFC 3173 2.2, sent as it is */
		free(buf);
		node_count(n, STAT_IPCOMP_MINLEN);
		return 0;
	}
	n->stats[STAT_IPCOMP_OBYTES] += clen;
	uint8_t nh = p->data[ip.protoff];
	pkt_trim(p, skip);
	uint8_t *h = pkt_put(p, IPCOMP_HLENGTH + clen);
	h[0] = nh;
	h[1] = 0; /* flags: reserved */
	put_be16(h + 2, (uint16_t)t->spi);
	memcpy(h + IPCOMP_HLENGTH, buf, clen);
	free(buf);
	ipsec_ip_fix(p->data, p->len, &ip, IPPROTO_IPCOMP);
	return 0;
}

int ipcomp_input(struct node *n, struct tdb *t, struct pkt *p, const struct ipsec_ip *ip)
{
	size_t skip = ip->skip;
	if (p->ipsec_flags & PKT_M_COMP) {
		node_drop(n, p, STAT_IPCOMP_PDROPS); /* IPComp inside IPComp */
		return -1;
	}
	size_t clen = p->len - skip - IPCOMP_HLENGTH; /* the caller checked 8 bytes */
	n->stats[STAT_IPCOMP_IBYTES] += clen;
	uint8_t nh = p->data[skip];
	size_t cap = ipsec_ip_max(ip->af) - skip;
	uint8_t *buf = xmalloc(cap);
	long dlen = ipcomp_inflate(t, p->data + skip + IPCOMP_HLENGTH, clen, buf, cap);
	if (dlen < 0) {
		free(buf);
		node_drop(n, p, STAT_IPCOMP_CRYPTO);
		return -1;
	}
	if (!sa_count_bytes(n, t, (uint64_t)dlen)) {
		free(buf);
		node_drop(n, p, STAT_IPSEC_EXPIRED);
		return -1;
	}
	t->counters[TDB_IPACKETS]++;
	t->counters[TDB_IBYTES] += (uint64_t)dlen;
	pkt_trim(p, skip);
	memcpy(pkt_put(p, (size_t)dlen), buf, (size_t)dlen);
	free(buf);
	ipsec_ip_fix(p->data, p->len, ip, nh);
	p->ipsec_flags |= PKT_M_COMP;
	return nh;
}
