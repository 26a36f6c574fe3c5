#include "cksum.h"

#include <string.h>

/* RFC 1071 4.1: the sum taken in the host's byte order is the same sum with
 * its two bytes swapped, so four bytes go in at a time and only the folded
 * result is turned around.  Each call starts a new 16-bit word: an odd
 * trailing byte is the high byte of a word padded with zero. */
uint32_t cksum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = 0;
	for (; len >= 4; p += 4, len -= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		s += w;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		s += w;
		p += 2;
		len -= 2;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (len)
		s += p[0];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = (s >> 8 | s << 8) & 0xffff;
#else
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
#endif
	s += sum;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t cksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t in_cksum(const void *data, size_t len)
{
	return cksum_fold(cksum_add(0, data, len));
}

uint32_t cksum_pseudo(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
		      uint32_t len)
{
	uint8_t tail[8] = {0};
	uint32_t s = cksum_add(0, src->a, addr_len(src->af));
	s = cksum_add(s, dst->a, addr_len(dst->af));
	if (src->af == ADDR_V4) {
		tail[0] = 0;
		tail[1] = proto;
		tail[2] = (uint8_t)(len >> 8);
		tail[3] = (uint8_t)len;
		return cksum_add(s, tail, 4);
	}
	tail[0] = (uint8_t)(len >> 24);
	tail[1] = (uint8_t)(len >> 16);
	tail[2] = (uint8_t)(len >> 8);
	tail[3] = (uint8_t)len;
	tail[7] = proto;
	return cksum_add(s, tail, 8);
}
