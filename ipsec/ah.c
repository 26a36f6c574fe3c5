/*
 * AH (RFC 4302) on IPv4 and IPv6 packets, in OpenBSD's order (ip_ah.c;
 * reference sections 2.5 to 2.7).  The ICV covers the IP header with its
 * mutable fields zeroed (and IPv6's extension headers in front of AH), the
 * AH header with the ICV zeroed, the payload, and with ESN the high half
 * of the sequence number after it (RFC 4302 3.3.3.2.1).
 */
#include "ah.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/ip6.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "ipsec_ip.h"
#include "pfkey.h"
#include "sad.h"
#include "seq.h"
#include "xform.h"

#define AH_RPLEN   12 /* next header, length, reserved, SPI, sequence */
#define IPOPT_EOL  0
#define IPOPT_NOP  1
#define IPOPT_LSRR 0x83
#define IPOPT_SSRR 0x89

/* Options whose value cannot change in transit: they stay in the ICV
 * (security, extended and commercial security, router alert, RFC 1770). */
static bool option_immutable(uint8_t type)
{
	return type == 0x82 || type == 0x85 || type == 0x86 || type == 0x94 || type == 0x95;
}

/* ah_massage_headers for IPv4: zero TOS, TTL, offset and checksum, and the
 * mutable options.  On output a source route's final address stands in
 * for the destination (it is what the receiver will see).  -1 when an
 * option is malformed. */
static int massage4(uint8_t *ip, size_t skip, bool out)
{
	ip[1] = 0;
	ip[6] = ip[7] = 0;
	ip[8] = 0;
	ip[10] = ip[11] = 0;
	size_t i = 20;
	while (i < skip) {
		uint8_t type = ip[i];
		if (type == IPOPT_EOL)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= skip || ip[i + 1] < 2 || ip[i + 1] > skip - i)
			return -1;
		size_t len = ip[i + 1];
		if (!option_immutable(type)) {
			if (out && (type == IPOPT_LSRR || type == IPOPT_SSRR) && len >= 7)
				memcpy(ip + 16, ip + i + len - 4, 4);
			memset(ip + i, 0, len);
		}
		i += len;
	}
	return 0;
}

/* The options of a hop-by-hop or destination options header at h (hl
 * bytes): the data of every option with the mutable bit is zeroed.
 * RFC 8200 4.2 and RFC 4302 3.3.3.1.2.1 zero the option data and keep
 * type and length in the ICV, as Linux, KAME and scapy do; OpenBSD zeroes
 * type and length too, so it disagrees with all of them on packets that
 * carry a mutable option (docs/architecture.md).  The options must fill
 * the header exactly. */
static int massage6_opts(uint8_t *h, size_t hl)
{
	size_t pos = 2;
	struct ip6_opt o;
	int rc;
	while ((rc = ip6_opt_next(h, hl, &pos, &o)) == 1)
		if (o.type != IP6OPT_PAD1 && IP6OPT_MUTABLE(o.type))
			memset(h + o.off + 2, 0, o.len);
	return rc;
}

/* A type 0 routing header as the final destination will see it (RFC 4302
 * 3.3.3.1.2.2): the destination becomes the last address, the addresses
 * still to visit move up one with the current destination in front of
 * them, and no segments are left. */
static int rthdr_final(uint8_t *ip, uint8_t *h, size_t hl)
{
	struct ip6_rthdr r;
	ip6_rthdr_parse(h, hl, &r);
	if (r.type != 0 || r.segleft == 0)
		return 0;
	int naddr = ip6_rthdr_addrs(&r);
	if (naddr < r.segleft)
		return -1;
	uint8_t *addrs = h + 8, *first = addrs + (size_t)(naddr - r.segleft) * 16;
	uint8_t final[16];
	memcpy(final, addrs + (size_t)(naddr - 1) * 16, 16);
	memmove(first + 16, first, (size_t)(r.segleft - 1) * 16);
	memcpy(first, ip + 24, 16);
	memcpy(ip + 24, final, 16);
	h[3] = 0;
	return 0;
}

/* ah_massage_headers for IPv6: traffic class, flow label and hop limit
 * zeroed, the mutable options of hop-by-hop and destination options, a
 * routing header in its final form on output.  Any other header in front
 * of AH (a fragment header) is an error, as in OpenBSD. */
static int massage6(uint8_t *ip, size_t skip, bool out)
{
	ip[0] = 0x60;
	ip[1] = ip[2] = ip[3] = 0;
	ip[7] = 0;
	uint8_t nxt = ip[6];
	size_t off = IP6_HDR_LEN;
	while (off < skip) {
		if (off + 2 > skip)
			return -1;
		size_t hl = ((size_t)ip[off + 1] + 1) * 8;
		if (off + hl > skip)
			return -1;
		switch (nxt) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_DSTOPTS:
			if (massage6_opts(ip + off, hl) < 0)
				return -1;
			break;
		case IPPROTO_ROUTING:
			if (out && rthdr_final(ip, ip + off, hl) < 0)
				return -1;
			break;
		default: return -1;
		}
		nxt = ip[off];
		off += hl;
	}
	return 0;
}

/* AH's length: 12 bytes and the ICV, padded to 8-byte units over IPv6
 * (RFC 4302 2.6 and 3.3.3.2.1; every ICV we carry fills 4-byte units).
 * OpenBSD does not pad: its IPv6 AH with a 16-, 24- or 32-byte ICV is 4
 * bytes short of the RFC's length (docs/ipsec-conf.md). */
static unsigned ah_len(uint8_t af, unsigned alen)
{
	unsigned len = AH_RPLEN + alen;
	return af == ADDR_V6 ? (len + 7) & ~7u : len;
}

/* The ICV of the packet as it stands (AH's ICV field already zero): the
 * headers are massaged in place and put back after. */
static int compute(struct tdb *t, struct pkt *p, const struct ipsec_ip *ip, bool out, bool esn,
		   uint32_t seqhi, uint8_t *icv)
{
	uint8_t small[128], hi[4];
	uint8_t *saved = ip->skip <= sizeof(small) ? small : xmalloc(ip->skip);
	memcpy(saved, p->data, ip->skip);
	int rc =
	    ip->af == ADDR_V4 ? massage4(p->data, ip->skip, out) : massage6(p->data, ip->skip, out);
	if (rc == 0) {
		put_be32(hi, seqhi);
		rc = xform_mac(t->xf, p->data, p->len, hi, esn ? 4 : 0, icv);
		if (rc)
			rc = -2;
	}
	memcpy(p->data, saved, ip->skip);
	if (saved != small)
		free(saved);
	return rc;
}

int ah_output(struct node *n, struct tdb *t, struct pkt *p)
{
	unsigned alen = xform_icvlen(t->xf);
	bool esn = sa_esn(t);
	struct ipsec_ip ip;

	node_count(n, STAT_AH_OUTPUT);
	if (ipsec_ip_out(p->data, p->len, &ip) < 0) {
		node_drop(n, p, STAT_AH_HDROPS);
		return -EINVAL;
	}
	size_t skip = ip.skip;
	unsigned ahlen = ah_len(ip.af, alen);
	if (p->len + ahlen > ipsec_ip_max(ip.af)) {
		node_drop(n, p, STAT_AH_TOOBIG);
		return -EMSGSIZE;
	}
	uint64_t seq;
	if (!seq_output(n, t, p, p->len - skip, &seq_ah, &seq))
		return -EINVAL;

	uint8_t nh = p->data[ip.protoff];
	uint8_t *front = pkt_push(p, ahlen);
	memmove(front, front + ahlen, skip);
	uint8_t *ah = p->data + skip;
	ah[0] = nh;
	ah[1] = (uint8_t)(ahlen / 4 - 2); /* RFC 4302 2.2: in words, minus 2 */
	ah[2] = ah[3] = 0;
	put_be32(ah + 4, t->spi);
	put_be32(ah + 8, (uint32_t)seq);
	memset(ah + AH_RPLEN, 0, ahlen - AH_RPLEN); /* the ICV and its padding */
	ipsec_ip_fix(p->data, p->len, &ip, IPPROTO_AH);
	int rc = compute(t, p, &ip, true, esn, (uint32_t)(seq >> 32), ah + AH_RPLEN);
	if (rc) {
		node_drop(n, p, rc == -1 ? STAT_AH_HDROPS : STAT_AH_CRYPTO);
		return -EINVAL;
	}
	return 0;
}

int ah_input(struct node *n, struct tdb *t, struct pkt *p, const struct ipsec_ip *ip)
{
	size_t skip = ip->skip;
	unsigned alen = xform_icvlen(t->xf);
	bool esn = sa_esn(t);
	uint8_t *ah = p->data + skip;
	/* The length field must describe exactly this SA's ICV, with the
	 * padding IPv6 asks for; over IPv6 without it too, as OpenBSD sends
	 * it.  Padding is in the ICV as it came (RFC 4302 3.3.3.2.1). */
	unsigned ahlen = (ah[1] + 2u) * 4;
	if ((ahlen != AH_RPLEN + alen && ahlen != ah_len(ip->af, alen)) || skip + ahlen > p->len) {
		node_drop(n, p, STAT_AH_BADAUTHL);
		goto dropped;
	}
	uint32_t seq = get_be32(ah + 8), seqhi = 0;
	if (!seq_replay(n, t, p, seq, &seqhi, false, &seq_ah))
		return -1;
	if (!seq_input_bytes(n, t, p, p->len - skip - ahlen, &seq_ah))
		return -1; /* the SA is gone */

	uint8_t got[64], calc[64];
	memcpy(got, ah + AH_RPLEN, alen);
	memset(ah + AH_RPLEN, 0, alen);
	int rc = compute(t, p, ip, false, esn, seqhi, calc);
	memcpy(ah + AH_RPLEN, got, alen);
	if (rc) {
		node_drop(n, p, rc == -1 ? STAT_AH_HDROPS : STAT_AH_CRYPTO);
		goto dropped;
	}
	if (CRYPTO_memcmp(got, calc, alen) != 0) {
		node_drop(n, p, STAT_AH_BADAUTH);
		goto dropped;
	}
	if (!seq_replay(n, t, p, seq, &seqhi, true, &seq_ah))
		return -1;
	t->counters[TDB_IPACKETS]++;
	uint8_t nh = ah[0];
	memmove(p->data + ahlen, p->data, skip);
	pkt_pull(p, ahlen);
	ipsec_ip_fix(p->data, p->len, ip, nh);
	p->ipsec_flags |= PKT_M_AUTH;
	return nh;

dropped:
	t->counters[TDB_IDROPS]++;
	return -1;
}
