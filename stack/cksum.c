#include "cksum.h"

uint32_t cksum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = sum;
	while (len >= 2) {
		s += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)(p[0] << 8);
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
