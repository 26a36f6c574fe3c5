#include "ipsec_ip.h"

#include <string.h>

#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/util.h"

uint8_t ipsec_ip_af(const uint8_t *b, size_t len)
{
	if (len >= IP4_HDR_LEN && b[0] >> 4 == 4) {
		size_t hl = (size_t)(b[0] & 0x0f) * 4;
		return hl >= IP4_HDR_LEN && hl <= len ? ADDR_V4 : ADDR_NONE;
	}
	if (len >= IP6_HDR_LEN && b[0] >> 4 == 6)
		return ADDR_V6;
	return ADDR_NONE;
}

int ipsec_ip_out(const uint8_t *b, size_t len, struct ipsec_ip *ip)
{
	ip->af = ipsec_ip_af(b, len);
	if (ip->af == ADDR_V4) {
		ip->skip = (size_t)(b[0] & 0x0f) * 4;
		ip->protoff = 9;
		return 0;
	}
	struct ip6_chain c;
	if (ip->af != ADDR_V6 || ip6_walk_quiet(b, len, &c) < 0)
		return -1;
	/* In front: hop-by-hop, routing, and destination options when a
	 * routing header follows them (dest1); the first other header ends it. */
	ip->skip = IP6_HDR_LEN;
	ip->protoff = 6;
	for (unsigned i = 0; i < c.n; i++) {
		uint8_t t = c.ext[i].type;
		if (t != IPPROTO_HOPOPTS && t != IPPROTO_ROUTING &&
		    !(t == IPPROTO_DSTOPTS && i + 1 < c.n && c.ext[i + 1].type == IPPROTO_ROUTING))
			break;
		ip->protoff = c.ext[i].off;
		ip->skip = c.ext[i].off + c.ext[i].len;
	}
	return 0;
}

void ipsec_ip_fix(uint8_t *b, size_t len, const struct ipsec_ip *ip, uint8_t proto)
{
	if (ip->af == ADDR_V4) {
		ip4_set_len_proto(b, ip->skip, len, proto);
		return;
	}
	put_be16(b + 4, (uint16_t)(len - IP6_HDR_LEN));
	b[ip->protoff] = proto;
}

size_t ipsec_ip_max(uint8_t af)
{
	return af == ADDR_V6 ? IP6_HDR_LEN + IP6_MAXPAYLOAD : IP4_MAXPACKET;
}

static struct ipaddr addr_at(const uint8_t *b, size_t v4, size_t v6)
{
	if (b[0] >> 4 == 4)
		return addr_v4(b + v4);
	struct ipaddr a = {.af = ADDR_V6};
	memcpy(a.a, b + v6, 16);
	return a;
}

struct ipaddr ipsec_ip_src(const uint8_t *b)
{
	return addr_at(b, 12, 8);
}

struct ipaddr ipsec_ip_dst(const uint8_t *b)
{
	return addr_at(b, 16, 24);
}

uint8_t ipsec_ip_tclass(const uint8_t *b)
{
	if (b[0] >> 4 == 4)
		return b[1];
	return (uint8_t)(((b[0] & 0x0f) << 4) | (b[1] >> 4));
}

void ipsec_ip_set_tclass(uint8_t *b, uint8_t tc)
{
	if (b[0] >> 4 == 4) {
		b[1] = tc;
		ip4_reset_cksum(b, (size_t)(b[0] & 0x0f) * 4);
		return;
	}
	b[0] = (uint8_t)(0x60 | (tc >> 4));
	b[1] = (uint8_t)((tc << 4) | (b[1] & 0x0f));
}
