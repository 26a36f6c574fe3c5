/*
 * ESP (RFC 4303) on IPv4 and IPv6 packets, in OpenBSD's order (ip_esp.c;
 * reference sections 2.3 and 2.4).  The packet is contiguous: the IP
 * header (with IPv6's extension headers that stay in front) at p->data,
 * `skip` bytes long, then the payload to protect or the ESP header to undo.
 */
#include "esp.h"

#include <errno.h>
#include <string.h>

#include "../stack/node.h"
#include "../stack/util.h"
#include "enc.h"
#include "ipsec_ip.h"
#include "pfkey.h"
#include "sad.h"
#include "seq.h"
#include "xform.h"

#define ESP_HDRLEN   8
#define IPPROTO_NONE 59 /* RFC 4303 2.6: a dummy packet */

int esp_output(struct node *n, struct tdb *t, struct pkt *p)
{
	struct xform_ctx *x = t->xf;
	struct ipsec_ip ip;
	if (ipsec_ip_out(p->data, p->len, &ip) < 0) {
		node_drop(n, p, STAT_ESP_HDROPS);
		return -EINVAL;
	}
	size_t skip = ip.skip;
	unsigned ivlen = xform_ivlen(x), hlen = ESP_HDRLEN + ivlen, alen = xform_icvlen(x);
	unsigned blks = MAX(xform_blocksize(x), 4u);
	size_t rlen = p->len - skip;
	/* RFC 4303 2.4: pad so that the trailer ends on the block boundary;
	 * the 2 trailer bytes are counted in. */
	size_t padding = ((blks - ((rlen + 2) % blks)) % blks) + 2;
	bool esn = sa_esn(t);

	node_count(n, STAT_ESP_OUTPUT);
	if (skip + hlen + rlen + padding + alen > ipsec_ip_max(ip.af)) {
		node_drop(n, p, STAT_ESP_TOOBIG);
		return -EMSGSIZE;
	}
	uint64_t seq;
	if (!seq_output(n, t, p, rlen, &seq_esp, &seq))
		return -EINVAL;

	uint8_t nh = p->data[ip.protoff];
	uint8_t *front = pkt_push(p, hlen);
	memmove(front, front + hlen, skip);
	uint8_t *esp = p->data + skip;
	put_be32(esp, t->spi);
	put_be32(esp + 4, (uint32_t)seq);
	if (xform_counter_iv(x)) {
		/* RFC 3686 3, RFC 4106 3.1, RFC 7634 2: the counter is the IV */
		put_be32(esp + 8, (uint32_t)(seq >> 32));
		put_be32(esp + 12, (uint32_t)seq);
	} else if (ivlen) {
		rng_bytes(&n->ipsec->rng, esp + 8, ivlen);
	}
	uint8_t *tr = pkt_put(p, padding + alen);
	for (size_t i = 0; i < padding - 2; i++)
		tr[i] = (uint8_t)(i + 1); /* RFC 4303 2.4: 1, 2, 3, ... */
	tr[padding - 2] = (uint8_t)(padding - 2);
	tr[padding - 1] = nh;
	esp = p->data + skip; /* pkt_put may have moved the buffer */
	if (xform_esp_seal(x, esp, rlen + padding, esn, (uint32_t)(seq >> 32)) < 0) {
		node_drop(n, p, STAT_ESP_CRYPTO);
		return -EIO;
	}
	ipsec_ip_fix(p->data, p->len, &ip, IPPROTO_ESP);
	return 0;
}

int esp_input(struct node *n, struct tdb *t, struct pkt *p, const struct ipsec_ip *ip)
{
	size_t skip = ip->skip;
	struct xform_ctx *x = t->xf;
	unsigned ivlen = xform_ivlen(x), hlen = ESP_HDRLEN + ivlen, alen = xform_icvlen(x);

	/* Lengths first: the payload must exist and fill whole cipher blocks. */
	if (p->len <= skip + hlen + alen) {
		node_drop(n, p, STAT_ESP_BADILEN);
		goto dropped;
	}
	size_t plen = p->len - skip - hlen - alen;
	/* Whole cipher blocks for CBC.  AES-CTR pads to 16 on output, as
	 * OpenBSD does, but RFC 3686 3.2 only asks for ESP's 4-byte alignment,
	 * which is what Linux sends: accept that (OpenBSD's check would not). */
	unsigned align = xform_counter_iv(x) ? 4 : xform_blocksize(x);
	if (xform_confidential(x) && plen % align) {
		node_drop(n, p, STAT_ESP_BADILEN);
		goto dropped;
	}
	uint8_t *esp = p->data + skip;
	uint32_t seq = get_be32(esp + 4), seqhi = 0;
	/* RFC 4303 3.4.3: the replay check comes before the ICV's cost. */
	if (!seq_replay(n, t, p, seq, &seqhi, false, &seq_esp))
		return -1;
	if (!seq_input_bytes(n, t, p, plen, &seq_esp))
		return -1; /* the SA is gone: nothing more to count on it */

	int rc = xform_esp_open(x, esp, plen, sa_esn(t), seqhi);
	if (rc == -EBADMSG) {
		node_drop(n, p, STAT_ESP_BADAUTH);
		goto dropped;
	}
	if (rc < 0) {
		node_drop(n, p, STAT_ESP_CRYPTO);
		goto dropped;
	}
	/* Authentic: now the window may move (RFC 4303 3.4.3). */
	if (!seq_replay(n, t, p, seq, &seqhi, true, &seq_esp))
		return -1;
	/* The trailer: [..., last pad byte, pad length, next header]. */
	const uint8_t *tr = esp + hlen + plen;
	uint8_t padlen = tr[-2], nh = tr[-1];
	if ((size_t)padlen + 2 > plen) {
		node_drop(n, p, STAT_ESP_BADILEN);
		goto dropped;
	}
	/* As OpenBSD: only the last pad byte is checked (RFC 4303 2.4 lets the
	 * receiver check them all). */
	if (padlen && tr[-3] != padlen) {
		node_drop(n, p, STAT_ESP_BADENC);
		goto dropped;
	}
	/* Next header 59 goes on like any other, as OpenBSD's esp_input
	 * lets it: a raw socket may want it (the regress test's nonxt
	 * targets); else the IP layer discards it silently as RFC 4303 2.6's
	 * dummy packet (esp.dummy). */
	t->counters[TDB_IPACKETS]++;
	/* Remove header, IV, trailer and ICV; the IP header slides up. */
	pkt_trim(p, p->len - alen - padlen - 2);
	memmove(p->data + hlen, p->data, skip);
	pkt_pull(p, hlen);
	ipsec_ip_fix(p->data, p->len, ip, nh);
	p->ipsec_flags |=
	    (xform_confidential(x) ? PKT_M_CONF : 0) | (xform_authentic(x) ? PKT_M_AUTH : 0);
	return nh;

dropped:
	t->counters[TDB_IDROPS]++;
	return -1;
}
