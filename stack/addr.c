#include "addr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

unsigned addr_len(uint8_t af)
{
	return af == ADDR_V4 ? 4 : af == ADDR_V6 ? 16 : 0;
}

unsigned addr_bits(uint8_t af)
{
	return addr_len(af) * 8;
}

int addr_parse(const char *s, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, out->a) != 1)
			return -1;
		out->af = ADDR_V6;
		return 0;
	}
	if (inet_pton(AF_INET, s, out->a) != 1)
		return -1;
	out->af = ADDR_V4;
	return 0;
}

int addr_parse_prefix(const char *s, struct ipaddr *out, unsigned *plen)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (addr_parse(buf, out) < 0)
		return -1;
	if (!slash) {
		*plen = addr_bits(out->af);
		return 0;
	}
	char *end;
	const char *digits = slash + 1;
	if (*digits < '0' || *digits > '9')
		return -1;
	unsigned long v = strtoul(digits, &end, 10);
	if (*end != '\0' || v > addr_bits(out->af))
		return -1;
	*plen = (unsigned)v;
	return 0;
}

const char *addr_fmt(const struct ipaddr *a, char *buf)
{
	if (a->af == ADDR_V4)
		inet_ntop(AF_INET, a->a, buf, ADDR_STRLEN);
	else if (a->af == ADDR_V6)
		inet_ntop(AF_INET6, a->a, buf, ADDR_STRLEN);
	else
		strcpy(buf, "-");
	return buf;
}

struct ipaddr addr_v4(const uint8_t b[4])
{
	struct ipaddr a;
	memset(&a, 0, sizeof(a));
	a.af = ADDR_V4;
	memcpy(a.a, b, 4);
	return a;
}

bool addr_eq(const struct ipaddr *x, const struct ipaddr *y)
{
	return x->af == y->af && memcmp(x->a, y->a, addr_len(x->af)) == 0;
}

bool addr_is_unspec(const struct ipaddr *a)
{
	static const uint8_t zero[16];
	return a->af == ADDR_NONE || memcmp(a->a, zero, addr_len(a->af)) == 0;
}

bool addr_in_prefix(const struct ipaddr *a, const struct ipaddr *net, unsigned plen)
{
	if (a->af != net->af || plen > addr_bits(a->af))
		return false;
	unsigned full = plen / 8, rest = plen % 8;
	if (memcmp(a->a, net->a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (a->a[full] & m) == (net->a[full] & m);
}

void addr_mask(struct ipaddr *a, unsigned plen)
{
	unsigned len = addr_len(a->af);
	for (unsigned i = 0; i < len; i++) {
		unsigned bit = i * 8;
		if (bit >= plen)
			a->a[i] = 0;
		else if (plen - bit < 8)
			a->a[i] &= (uint8_t)(0xff << (8 - (plen - bit)));
	}
}

struct ipaddr addr_v4_broadcast(const struct ipaddr *net, unsigned plen)
{
	struct ipaddr b = *net;
	for (unsigned i = 0; i < 4; i++) {
		unsigned bit = i * 8;
		if (bit >= plen)
			b.a[i] = 0xff;
		else if (plen - bit < 8)
			b.a[i] |= (uint8_t)(0xff >> (plen - bit));
	}
	return b;
}

bool addr_is_v4_limited_bcast(const struct ipaddr *a)
{
	static const uint8_t ones[4] = {0xff, 0xff, 0xff, 0xff};
	return a->af == ADDR_V4 && memcmp(a->a, ones, 4) == 0;
}

bool addr_is_multicast(const struct ipaddr *a)
{
	if (a->af == ADDR_V4)
		return (a->a[0] & 0xf0) == 0xe0;
	if (a->af == ADDR_V6)
		return a->a[0] == 0xff;
	return false;
}
