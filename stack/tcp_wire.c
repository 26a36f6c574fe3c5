/* TCP's wire format: the header (RFC 9293 3.1), its options, the checksum. */
#include <string.h>

#include "cksum.h"
#include "tcp.h"

int tcp_parse(const uint8_t *b, size_t len, struct tcp_hdr *h)
{
	if (len < TCP_HDR_LEN)
		return -1;
	h->off = (uint8_t)((b[12] >> 4) * 4);
	if (h->off < TCP_HDR_LEN)
		return -2;
	if (h->off > len)
		return -1;
	h->sport = get_be16(b);
	h->dport = get_be16(b + 2);
	h->seq = get_be32(b + 4);
	h->ack = get_be32(b + 8);
	h->flags = b[13];
	h->win = get_be16(b + 14);
	h->sum = get_be16(b + 16);
	h->urp = get_be16(b + 18);
	h->opts = b + TCP_HDR_LEN;
	h->optlen = h->off - TCP_HDR_LEN;
	return 0;
}

size_t tcp_emit(uint8_t *b, const struct tcp_hdr *h)
{
	size_t off = TCP_HDR_LEN + h->optlen;
	put_be16(b, h->sport);
	put_be16(b + 2, h->dport);
	put_be32(b + 4, h->seq);
	put_be32(b + 8, h->ack);
	b[12] = (uint8_t)((off / 4) << 4);
	b[13] = h->flags;
	put_be16(b + 14, h->win);
	put_be16(b + 16, h->sum);
	put_be16(b + 18, h->urp);
	if (h->optlen)
		memcpy(b + TCP_HDR_LEN, h->opts, h->optlen);
	return off;
}

int tcp_opts_parse(const uint8_t *b, size_t len, struct tcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	size_t i = 0;
	while (i < len) {
		uint8_t kind = b[i];
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 2 > len || b[i + 1] < 2 || i + b[i + 1] > len)
			return -1; /* no length, or one past the header */
		uint8_t olen = b[i + 1];
		const uint8_t *v = b + i + 2;
		switch (kind) {
		case TCPOPT_MAXSEG:
			if (olen != 4)
				return -1;
			o->mss_ok = true;
			o->mss = get_be16(v);
			break;
		case TCPOPT_WINDOW:
			if (olen != 3)
				return -1;
			o->ws_ok = true;
			o->ws = v[0];
			break;
		case TCPOPT_SACK_PERMITTED:
			if (olen != 2)
				return -1;
			o->sack_ok = true;
			break;
		case TCPOPT_TIMESTAMP:
			if (olen != 10)
				return -1;
			o->ts_ok = true;
			o->tsval = get_be32(v);
			o->tsecr = get_be32(v + 4);
			break;
		case TCPOPT_SACK:
			/* RFC 2018 3: 8 bytes a block, at least one */
			if (olen < 10 || (olen - 2) % 8)
				return -1;
			for (unsigned k = 0; k < (olen - 2u) / 8 && o->nsack < TCP_MAX_SACK; k++) {
				o->sack[o->nsack][0] = get_be32(v + 8 * k);
				o->sack[o->nsack][1] = get_be32(v + 8 * k + 4);
				o->nsack++;
			}
			break;
		default: break; /* RFC 9293 3.2: skip what we do not know */
		}
		i += olen;
	}
	return 0;
}

size_t tcp_opts_emit(uint8_t *b, const struct tcp_opts *o)
{
	size_t n = 0;
	if (o->mss_ok) {
		b[n++] = TCPOPT_MAXSEG;
		b[n++] = 4;
		put_be16(b + n, o->mss);
		n += 2;
	}
	if (o->sack_ok) {
		b[n++] = TCPOPT_NOP;
		b[n++] = TCPOPT_NOP;
		b[n++] = TCPOPT_SACK_PERMITTED;
		b[n++] = 2;
	}
	if (o->ws_ok) {
		b[n++] = TCPOPT_NOP;
		b[n++] = TCPOPT_WINDOW;
		b[n++] = 3;
		b[n++] = o->ws;
	}
	if (o->ts_ok) {
		b[n++] = TCPOPT_NOP;
		b[n++] = TCPOPT_NOP;
		b[n++] = TCPOPT_TIMESTAMP;
		b[n++] = 10;
		put_be32(b + n, o->tsval);
		put_be32(b + n + 4, o->tsecr);
		n += 8;
	}
	if (o->nsack) {
		unsigned k = o->nsack;
		if (n + 4 + 8 * k > TCP_MAXOLEN)
			k = (unsigned)((TCP_MAXOLEN - n - 4) / 8);
		if (k) {
			b[n++] = TCPOPT_NOP;
			b[n++] = TCPOPT_NOP;
			b[n++] = TCPOPT_SACK;
			b[n++] = (uint8_t)(2 + 8 * k);
			for (unsigned i = 0; i < k; i++) {
				put_be32(b + n, o->sack[i][0]);
				put_be32(b + n + 4, o->sack[i][1]);
				n += 8;
			}
		}
	}
	while (n % 4)
		b[n++] = TCPOPT_EOL;
	return n;
}

uint16_t tcp_cksum(const struct ipaddr *src, const struct ipaddr *dst, const uint8_t *seg,
		   size_t len)
{
	uint32_t sum = cksum_pseudo(src, dst, IPPROTO_TCP, (uint32_t)len);
	return cksum_fold(cksum_add(sum, seg, len));
}
