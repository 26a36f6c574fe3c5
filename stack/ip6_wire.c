/* IPv6 headers on the wire (RFC 8200 3, 4.2 to 4.5). */
#include <string.h>

#include "ip6.h"
#include "util.h"

int ip6_parse(const uint8_t *b, size_t len, struct ip6_hdr *h, enum stat_id *why)
{
	if (len < IP6_HDR_LEN) {
		*why = STAT_IP6_TOOSMALL;
		return -1;
	}
	if (b[0] >> 4 != 6) {
		*why = STAT_IP6_BADVERS;
		return -1;
	}
	uint32_t w = get_be32(b);
	h->tclass = (uint8_t)(w >> 20);
	h->flow = w & 0xfffff;
	h->plen = get_be16(b + 4);
	h->nxt = b[6];
	h->hlim = b[7];
	h->src.af = h->dst.af = ADDR_V6;
	memcpy(h->src.a, b + 8, 16);
	memcpy(h->dst.a, b + 24, 16);
	if (h->plen == 0 && h->nxt == IPPROTO_HOPOPTS) {
		*why = STAT_IP6_BADOPTIONS; /* a jumbogram (RFC 2675): not supported */
		return -1;
	}
	if ((size_t)h->plen > len - IP6_HDR_LEN) {
		*why = STAT_IP6_TOOSHORT;
		return -1;
	}
	return 0;
}

size_t ip6_emit(uint8_t *b, const struct ip6_hdr *h)
{
	put_be32(b, 6u << 28 | (uint32_t)h->tclass << 20 | (h->flow & 0xfffff));
	put_be16(b + 4, h->plen);
	b[6] = h->nxt;
	b[7] = h->hlim;
	memcpy(b + 8, h->src.a, 16);
	memcpy(b + 24, h->dst.a, 16);
	return IP6_HDR_LEN;
}

/* ---- options ---- */

int ip6_opt_next(const uint8_t *hdr, size_t hdrlen, size_t *pos, struct ip6_opt *o)
{
	if (*pos >= hdrlen)
		return 0;
	size_t at = *pos;
	o->off = at;
	o->type = hdr[at];
	if (o->type == IP6OPT_PAD1) {
		o->len = 0;
		o->data = NULL;
		*pos = at + 1;
		return 1;
	}
	if (at + 2 > hdrlen || at + 2 + hdr[at + 1] > hdrlen) {
		*pos = at; /* the option's type byte */
		return -1;
	}
	o->len = hdr[at + 1];
	o->data = hdr + at + 2;
	*pos = at + 2 + o->len;
	return 1;
}

/* Padding of n bytes: Pad1 for one, PadN otherwise. */
static void pad(uint8_t *b, size_t n)
{
	if (n == 1) {
		b[0] = IP6OPT_PAD1;
	} else if (n > 1) {
		b[0] = IP6OPT_PADN;
		b[1] = (uint8_t)(n - 2);
		memset(b + 2, 0, n - 2);
	}
}

size_t ip6_opts_emit(uint8_t *b, size_t cap, uint8_t nxt, const struct ip6_opt *opts, unsigned n)
{
	size_t len = 2;
	for (unsigned i = 0; i < n; i++)
		len += opts[i].type == IP6OPT_PAD1 ? 1 : 2u + opts[i].len;
	size_t total = (len + 7) & ~(size_t)7;
	if (total > cap || total > 2048)
		return 0;
	b[0] = nxt;
	b[1] = (uint8_t)(total / 8 - 1); /* RFC 8200 4.3: 8-octet units, not counting the first */
	size_t at = 2;
	for (unsigned i = 0; i < n; i++) {
		b[at++] = opts[i].type;
		if (opts[i].type == IP6OPT_PAD1)
			continue;
		b[at++] = opts[i].len;
		if (opts[i].len)
			memcpy(b + at, opts[i].data, opts[i].len);
		at += opts[i].len;
	}
	pad(b + at, total - at);
	return total;
}

/* ---- routing ---- */

void ip6_rthdr_parse(const uint8_t *hdr, size_t hdrlen, struct ip6_rthdr *r)
{
	r->nxt = hdr[0];
	r->type = hdr[2];
	r->segleft = hdr[3];
	r->data = hdr + 4;
	r->datalen = hdrlen - 4;
}

int ip6_rthdr_addrs(const struct ip6_rthdr *r)
{
	if (r->datalen < 4 || (r->datalen - 4) % 16)
		return -1;
	return (int)((r->datalen - 4) / 16);
}

size_t ip6_rthdr_emit(uint8_t *b, size_t cap, uint8_t nxt, uint8_t type, uint8_t segleft,
		      const struct ipaddr *addrs, unsigned n)
{
	size_t len = 8 + 16 * (size_t)n;
	if (len > cap || n > 127)
		return 0;
	b[0] = nxt;
	b[1] = (uint8_t)(2 * n); /* 8-octet units after the first 8 */
	b[2] = type;
	b[3] = segleft;
	memset(b + 4, 0, 4);
	for (unsigned i = 0; i < n; i++)
		memcpy(b + 8 + 16 * (size_t)i, addrs[i].a, 16);
	return len;
}

/* ---- fragment ---- */

void ip6_frag_parse(const uint8_t *hdr, struct ip6_frag *f)
{
	uint16_t w = get_be16(hdr + 2);
	f->nxt = hdr[0];
	f->off = w & 0xfff8;
	f->more = w & 1;
	f->id = get_be32(hdr + 4);
}

size_t ip6_frag_emit(uint8_t *b, const struct ip6_frag *f)
{
	b[0] = f->nxt;
	b[1] = 0;
	put_be16(b + 2, (uint16_t)((f->off & 0xfff8) | (f->more ? 1 : 0)));
	put_be32(b + 4, f->id);
	return IP6_FRAG_LEN;
}

/* ---- the chain ---- */

bool ip6_is_ext(uint8_t proto)
{
	return proto == IPPROTO_HOPOPTS || proto == IPPROTO_ROUTING || proto == IPPROTO_FRAGMENT ||
	       proto == IPPROTO_DSTOPTS;
}

int ip6_walk(const uint8_t *pkt, size_t len, struct ip6_chain *c, enum stat_id *why, size_t *ptr,
	     uint8_t *code)
{
	memset(c, 0, sizeof(*c));
	c->frag = -1;
	uint8_t nxt = pkt[6];
	size_t nxt_at = 6; /* where the current next-header value sits */
	size_t off = IP6_HDR_LEN;
	while (ip6_is_ext(nxt)) {
		if (nxt == IPPROTO_HOPOPTS && off != IP6_HDR_LEN) {
			*why = STAT_IP6_BADOPTIONS; /* RFC 8200 4.1: only first */
			*ptr = nxt_at;
			*code = 1;
			return -1;
		}
		if (c->n == IP6_MAX_EXT) {
			*why = STAT_IP6_TOOMANYHDR;
			*ptr = nxt_at;
			*code = 0;
			return -1;
		}
		size_t hl = nxt == IPPROTO_FRAGMENT ? IP6_FRAG_LEN : 0;
		if (off + 2 > len || (hl && off + hl > len)) {
			*why = STAT_IP6_TOOSHORT;
			*code = 0xff;
			*ptr = nxt_at;
			return -1;
		}
		if (!hl)
			hl = ((size_t)pkt[off + 1] + 1) * 8;
		if (off + hl > len) {
			*why = STAT_IP6_TOOSHORT;
			*code = 0xff;
			*ptr = nxt_at;
			return -1;
		}
		c->ext[c->n] = (struct ip6_ext){.type = nxt, .off = off, .len = hl};
		if (nxt == IPPROTO_FRAGMENT) {
			c->frag = (int)c->n;
			struct ip6_frag f;
			ip6_frag_parse(pkt + off, &f);
			if (f.off) {
				/* Not the first fragment: what follows is the middle of
				 * something, not its header. */
				c->n++;
				c->later_fragment = true;
				c->proto = f.nxt;
				c->off = off + hl;
				return 0;
			}
		}
		c->n++;
		nxt_at = off;
		nxt = pkt[off];
		off += hl;
	}
	c->proto = nxt;
	c->off = off;
	return 0;
}

int ip6_walk_quiet(const uint8_t *pkt, size_t len, struct ip6_chain *c)
{
	enum stat_id why;
	size_t ptr;
	uint8_t code;
	return ip6_walk(pkt, len, c, &why, &ptr, &code);
}
