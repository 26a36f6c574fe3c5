#include "rng.h"

#include "../stack/util.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed, const char *stream)
{
	uint64_t x = seed ^ hash64(stream);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	/* Reject the top partial range so every value is equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t v;
	do
		v = rng_next(r);
	while (v >= limit);
	return v % n;
}

bool rng_chance(struct rng *r, uint32_t ppb)
{
	if (ppb == 0)
		return false;
	if (ppb >= RNG_PPB_ONE)
		return true;
	return rng_below(r, RNG_PPB_ONE) < ppb;
}

void rng_bytes(struct rng *r, void *out, unsigned long n)
{
	uint8_t *p = out;
	while (n) {
		uint64_t v = rng_next(r);
		for (int i = 0; i < 8 && n; i++, n--) {
			*p++ = (uint8_t)v;
			v >>= 8;
		}
	}
}
