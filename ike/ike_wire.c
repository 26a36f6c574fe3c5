/* IKEv2 message parsing and building (ike_wire.h). */
#include "ike_wire.h"

#include <string.h>

#include "../stack/util.h"

static int perr(struct ike_perr *e, uint16_t notify, const char *why)
{
	if (e) {
		e->notify = notify;
		e->why = why;
	}
	return -1;
}

void ike_hdr_parse(const uint8_t *b, struct ike_hdr *h)
{
	memcpy(h->ispi, b, 8);
	memcpy(h->rspi, b + 8, 8);
	h->np = b[16];
	h->version = b[17];
	h->exchange = b[18];
	h->flags = b[19];
	h->msgid = get_be32(b + 20);
	h->length = get_be32(b + 24);
}

/* Known payload types: anything else is skipped unless critical (2.5). */
static bool known_payload(uint8_t t)
{
	return (t >= IKE_PL_SA && t <= IKE_PL_SK) || t == IKE_PL_NONE;
}

int ike_parse_chain(const uint8_t *b, size_t len, uint8_t np, struct ike_msg *m, struct ike_perr *e)
{
	size_t off = 0;
	while (np != IKE_PL_NONE) {
		if (len - off < IKE_PAYLOAD_HDR)
			return perr(e, N_INVALID_SYNTAX, "a payload header runs past the end");
		uint16_t plen = get_be16(b + off + 2);
		if (plen < IKE_PAYLOAD_HDR || plen > len - off)
			return perr(e, N_INVALID_SYNTAX, "a payload length is out of bounds");
		if (m->npl == IKE_MAX_PAYLOADS)
			return perr(e, N_INVALID_SYNTAX, "more than 32 payloads");
		bool critical = b[off + 1] & 0x80;
		if (!known_payload(np)) {
			if (critical)
				return perr(e, N_UNSUPPORTED_CRITICAL_PAYLOAD,
					    "an unknown payload marked critical");
		} else {
			m->pl[m->npl++] = (struct ike_payload){.type = np,
							       .critical = critical,
							       .body = b + off + IKE_PAYLOAD_HDR,
							       .len = plen - IKE_PAYLOAD_HDR};
		}
		uint8_t next = b[off];
		if (np == IKE_PL_SK) {
			/* The SK payload is the last one; its next payload
			 * names the first one inside (3.14). */
			if (off + plen != len)
				return perr(e, N_INVALID_SYNTAX,
					    "the Encrypted payload is not the last one");
			return 0;
		}
		off += plen;
		np = next;
	}
	if (off != len)
		return perr(e, N_INVALID_SYNTAX, "bytes after the last payload");
	return 0;
}

int ike_parse(const uint8_t *b, size_t len, struct ike_msg *m, struct ike_perr *e)
{
	memset(m, 0, sizeof(*m));
	if (len < IKE_HDR_LEN)
		return perr(e, N_INVALID_SYNTAX, "shorter than the IKE header");
	ike_hdr_parse(b, &m->h);
	if ((m->h.version >> 4) != 2)
		return perr(e, N_INVALID_MAJOR_VERSION, "not IKE version 2");
	if (m->h.length != len)
		return perr(e, N_INVALID_SYNTAX, "the header's length is not the datagram's");
	if (ike_parse_chain(b + IKE_HDR_LEN, len - IKE_HDR_LEN, m->h.np, m, e) < 0)
		return -1;
	if (m->npl && m->pl[m->npl - 1].type == IKE_PL_SK)
		m->sk_off = (size_t)(m->pl[m->npl - 1].body - b) - IKE_PAYLOAD_HDR;
	return 0;
}

const struct ike_payload *ike_find(const struct ike_msg *m, uint8_t type)
{
	for (unsigned i = 0; i < m->npl; i++)
		if (m->pl[i].type == type)
			return &m->pl[i];
	return NULL;
}

static int parse_transforms(const uint8_t *b, size_t len, unsigned count, struct ike_prop *p)
{
	size_t off = 0;
	for (unsigned i = 0; i < count; i++) {
		if (len - off < 8)
			return -1;
		uint8_t last = b[off];
		uint16_t tlen = get_be16(b + off + 2);
		if (tlen < 8 || tlen > len - off || (last != 0 && last != 3))
			return -1;
		if ((last == 0) != (i + 1 == count))
			return -1;
		struct ike_xf xf = {.type = b[off + 4], .id = get_be16(b + off + 6)};
		/* Attributes: only Key Length (TV) is defined for IKEv2. */
		size_t a = off + 8;
		while (a < off + tlen) {
			if (off + tlen - a < 4)
				return -1;
			uint16_t at = get_be16(b + a);
			if (!(at & 0x8000)) { /* TLV: skip it */
				uint16_t alen = get_be16(b + a + 2);
				if (alen > off + tlen - a - 4)
					return -1;
				a += 4 + alen;
				continue;
			}
			if ((at & 0x7fff) == IKE_ATTR_KEYLEN)
				xf.keylen = get_be16(b + a + 2);
			a += 4;
		}
		if (p->nxf < IKE_MAX_XFS)
			p->xf[p->nxf++] = xf;
		off += tlen;
	}
	return off == len ? 0 : -1;
}

int ike_parse_sa(const uint8_t *b, size_t len, struct ike_prop *props, unsigned cap, unsigned *n)
{
	size_t off = 0;
	*n = 0;
	for (;;) {
		if (len - off < 8)
			return -1;
		uint8_t last = b[off];
		uint16_t plen = get_be16(b + off + 2);
		if (plen < 8 || plen > len - off || (last != 0 && last != 2))
			return -1;
		struct ike_prop p = {.num = b[off + 4], .proto = b[off + 5], .spisize = b[off + 6]};
		unsigned nxf = b[off + 7];
		if (p.spisize > 8 || 8u + p.spisize > plen)
			return -1;
		memcpy(p.spi, b + off + 8, p.spisize);
		size_t x = off + 8 + p.spisize;
		if (parse_transforms(b + x, off + plen - x, nxf, &p) < 0)
			return -1;
		if (*n < cap)
			props[(*n)++] = p;
		off += plen;
		if (last == 0)
			break;
	}
	return off == len && *n ? 0 : -1;
}

int ike_parse_notify(const uint8_t *b, size_t len, struct ike_notify *n)
{
	if (len < 4)
		return -1;
	n->proto = b[0];
	n->spisize = b[1];
	n->type = get_be16(b + 2);
	if (n->spisize > len - 4)
		return -1;
	n->spi = b + 4;
	n->data = b + 4 + n->spisize;
	n->datalen = len - 4 - n->spisize;
	return 0;
}

int ike_parse_delete(const uint8_t *b, size_t len, struct ike_delete *d)
{
	if (len < 4)
		return -1;
	d->proto = b[0];
	d->spisize = b[1];
	d->nspi = get_be16(b + 2);
	d->spis = b + 4;
	/* IKE: no SPI (the message's SA); ESP and AH: 4-byte SPIs, all there */
	if (d->proto == IKE_PROTO_IKE)
		return d->spisize == 0 && d->nspi == 0 && len == 4 ? 0 : -1;
	if ((d->proto != IKE_PROTO_ESP && d->proto != IKE_PROTO_AH) || d->spisize != 4)
		return -1;
	return (size_t)d->nspi * 4 == len - 4 ? 0 : -1;
}

int ike_parse_ts(const uint8_t *b, size_t len, struct ike_ts *ts, unsigned cap, unsigned *n)
{
	if (len < 4)
		return -1;
	unsigned count = b[0];
	size_t off = 4;
	*n = 0;
	for (unsigned i = 0; i < count; i++) {
		if (len - off < 8)
			return -1;
		struct ike_ts t = {.type = b[off], .proto = b[off + 1]};
		uint16_t slen = get_be16(b + off + 2);
		if (slen < 8 || slen > len - off)
			return -1;
		t.sport = get_be16(b + off + 4);
		t.eport = get_be16(b + off + 6);
		size_t alen = t.type == IKE_TS_IPV4_RANGE   ? 4
			      : t.type == IKE_TS_IPV6_RANGE ? 16
							    : 0;
		if (alen && slen == 8 + 2 * alen) {
			t.start.af = t.end.af = alen == 4 ? ADDR_V4 : ADDR_V6;
			memcpy(t.start.a, b + off + 8, alen);
			memcpy(t.end.a, b + off + 8 + alen, alen);
			if (*n < cap)
				ts[(*n)++] = t;
		} else if (alen) {
			return -1;
		} /* an unknown type is skipped */
		off += slen;
	}
	return off == len && count ? 0 : -1;
}

int ike_parse_ke(const uint8_t *b, size_t len, uint16_t *group, const uint8_t **data, size_t *dlen)
{
	if (len < 4)
		return -1;
	*group = get_be16(b);
	*data = b + 4;
	*dlen = len - 4;
	return 0;
}

int ike_parse_typed(const uint8_t *b, size_t len, uint8_t *type, const uint8_t **data, size_t *dlen)
{
	if (len < 4)
		return -1;
	*type = b[0];
	*data = b + 4;
	*dlen = len - 4;
	return 0;
}

/* ---- building ---- */

void ikeb_put(struct ike_buf *m, const void *data, size_t len)
{
	if (m->overflow || len > sizeof(m->b) - m->len) {
		m->overflow = true;
		return;
	}
	if (len)
		memcpy(m->b + m->len, data, len);
	m->len += len;
}

void ikeb_u8(struct ike_buf *m, uint8_t v)
{
	ikeb_put(m, &v, 1);
}

void ikeb_u16(struct ike_buf *m, uint16_t v)
{
	uint8_t b[2];
	put_be16(b, v);
	ikeb_put(m, b, 2);
}

void ikeb_u32(struct ike_buf *m, uint32_t v)
{
	uint8_t b[4];
	put_be32(b, v);
	ikeb_put(m, b, 4);
}

void ikeb_init(struct ike_buf *m, const struct ike_hdr *h)
{
	m->len = 0;
	m->overflow = false;
	ikeb_put(m, h->ispi, 8);
	ikeb_put(m, h->rspi, 8);
	ikeb_u8(m, IKE_PL_NONE);
	ikeb_u8(m, 0x20);
	ikeb_u8(m, h->exchange);
	ikeb_u8(m, h->flags);
	ikeb_u32(m, h->msgid);
	ikeb_u32(m, 0);
	m->np_at = 16;
	m->cur = 0;
}

/* A chain keeps the first payload's type in a byte before it. */
void ikeb_init_chain(struct ike_buf *m)
{
	m->len = 0;
	m->overflow = false;
	ikeb_u8(m, IKE_PL_NONE);
	m->np_at = 0;
	m->cur = 0;
}

uint8_t ikeb_first(const struct ike_buf *m)
{
	return m->b[0];
}

void ikeb_begin(struct ike_buf *m, uint8_t type)
{
	if (m->overflow || m->len + IKE_PAYLOAD_HDR > sizeof(m->b)) {
		m->overflow = true;
		return;
	}
	m->b[m->np_at] = type;
	m->cur = m->len;
	m->np_at = m->len;
	ikeb_u8(m, IKE_PL_NONE);
	ikeb_u8(m, 0);
	ikeb_u16(m, 0);
}

void ikeb_end(struct ike_buf *m)
{
	if (m->overflow || m->len - m->cur > UINT16_MAX) {
		m->overflow = true;
		return;
	}
	put_be16(m->b + m->cur + 2, (uint16_t)(m->len - m->cur));
}

void ikeb_finish(struct ike_buf *m)
{
	if (!m->overflow)
		put_be32(m->b + 24, (uint32_t)m->len);
}

void ikeb_sa(struct ike_buf *m, const struct ike_prop *props, unsigned n)
{
	ikeb_begin(m, IKE_PL_SA);
	for (unsigned i = 0; i < n; i++) {
		const struct ike_prop *p = &props[i];
		size_t start = m->len;
		ikeb_u8(m, i + 1 == n ? 0 : 2);
		ikeb_u8(m, 0);
		ikeb_u16(m, 0);
		ikeb_u8(m, p->num);
		ikeb_u8(m, p->proto);
		ikeb_u8(m, p->spisize);
		ikeb_u8(m, p->nxf);
		ikeb_put(m, p->spi, p->spisize);
		for (unsigned j = 0; j < p->nxf; j++) {
			const struct ike_xf *x = &p->xf[j];
			ikeb_u8(m, j + 1 == p->nxf ? 0 : 3);
			ikeb_u8(m, 0);
			ikeb_u16(m, x->keylen ? 12 : 8);
			ikeb_u8(m, x->type);
			ikeb_u8(m, 0);
			ikeb_u16(m, x->id);
			if (x->keylen) {
				ikeb_u16(m, 0x8000 | IKE_ATTR_KEYLEN);
				ikeb_u16(m, x->keylen);
			}
		}
		if (!m->overflow)
			put_be16(m->b + start + 2, (uint16_t)(m->len - start));
	}
	ikeb_end(m);
}

void ikeb_ke(struct ike_buf *m, uint16_t group, const uint8_t *data, size_t len)
{
	ikeb_begin(m, IKE_PL_KE);
	ikeb_u16(m, group);
	ikeb_u16(m, 0);
	ikeb_put(m, data, len);
	ikeb_end(m);
}

void ikeb_nonce(struct ike_buf *m, const uint8_t *data, size_t len)
{
	ikeb_begin(m, IKE_PL_NONCE);
	ikeb_put(m, data, len);
	ikeb_end(m);
}

void ikeb_notify(struct ike_buf *m, uint8_t proto, const uint8_t *spi, uint8_t spisize,
		 uint16_t type, const uint8_t *data, size_t len)
{
	ikeb_begin(m, IKE_PL_N);
	ikeb_u8(m, proto);
	ikeb_u8(m, spisize);
	ikeb_u16(m, type);
	ikeb_put(m, spi, spisize);
	ikeb_put(m, data, len);
	ikeb_end(m);
}

void ikeb_delete(struct ike_buf *m, uint8_t proto, const uint32_t *spis, unsigned n)
{
	ikeb_begin(m, IKE_PL_D);
	ikeb_u8(m, proto);
	ikeb_u8(m, proto == IKE_PROTO_IKE ? 0 : 4);
	ikeb_u16(m, (uint16_t)n);
	for (unsigned i = 0; i < n; i++)
		ikeb_u32(m, spis[i]);
	ikeb_end(m);
}

void ikeb_typed(struct ike_buf *m, uint8_t pltype, uint8_t type, const uint8_t *data, size_t len)
{
	ikeb_begin(m, pltype);
	ikeb_u8(m, type);
	ikeb_u8(m, 0);
	ikeb_u16(m, 0);
	ikeb_put(m, data, len);
	ikeb_end(m);
}

void ikeb_ts(struct ike_buf *m, uint8_t pltype, const struct ike_ts *ts, unsigned n)
{
	ikeb_begin(m, pltype);
	ikeb_u8(m, (uint8_t)n);
	ikeb_u8(m, 0);
	ikeb_u16(m, 0);
	for (unsigned i = 0; i < n; i++) {
		size_t alen = ts[i].start.af == ADDR_V6 ? 16 : 4;
		ikeb_u8(m, alen == 16 ? IKE_TS_IPV6_RANGE : IKE_TS_IPV4_RANGE);
		ikeb_u8(m, ts[i].proto);
		ikeb_u16(m, (uint16_t)(8 + 2 * alen));
		ikeb_u16(m, ts[i].sport);
		ikeb_u16(m, ts[i].eport);
		ikeb_put(m, ts[i].start.a, alen);
		ikeb_put(m, ts[i].end.a, alen);
	}
	ikeb_end(m);
}

const char *ike_exchange_name(uint8_t x)
{
	switch (x) {
	case IKE_SA_INIT: return "IKE_SA_INIT";
	case IKE_AUTH: return "IKE_AUTH";
	case CREATE_CHILD_SA: return "CREATE_CHILD_SA";
	case INFORMATIONAL: return "INFORMATIONAL";
	default: return "UNKNOWN";
	}
}

const char *ike_notify_name(uint16_t type)
{
	static const struct {
		uint16_t t;
		const char *name;
	} names[] = {
	    {N_UNSUPPORTED_CRITICAL_PAYLOAD, "UNSUPPORTED_CRITICAL_PAYLOAD"},
	    {N_INVALID_IKE_SPI, "INVALID_IKE_SPI"},
	    {N_INVALID_MAJOR_VERSION, "INVALID_MAJOR_VERSION"},
	    {N_INVALID_SYNTAX, "INVALID_SYNTAX"},
	    {N_INVALID_MESSAGE_ID, "INVALID_MESSAGE_ID"},
	    {N_INVALID_SPI, "INVALID_SPI"},
	    {N_NO_PROPOSAL_CHOSEN, "NO_PROPOSAL_CHOSEN"},
	    {N_INVALID_KE_PAYLOAD, "INVALID_KE_PAYLOAD"},
	    {N_AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED"},
	    {N_TS_UNACCEPTABLE, "TS_UNACCEPTABLE"},
	    {N_TEMPORARY_FAILURE, "TEMPORARY_FAILURE"},
	    {N_NO_ADDITIONAL_SAS, "NO_ADDITIONAL_SAS"},
	    {N_CHILD_SA_NOT_FOUND, "CHILD_SA_NOT_FOUND"},
	    {N_INITIAL_CONTACT, "INITIAL_CONTACT"},
	    {N_NAT_DETECTION_SOURCE_IP, "NAT_DETECTION_SOURCE_IP"},
	    {N_NAT_DETECTION_DESTINATION_IP, "NAT_DETECTION_DESTINATION_IP"},
	    {N_COOKIE, "COOKIE"},
	    {N_USE_TRANSPORT_MODE, "USE_TRANSPORT_MODE"},
	    {N_REKEY_SA, "REKEY_SA"},
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (names[i].t == type)
			return names[i].name;
	return "UNKNOWN";
}
