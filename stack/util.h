/* Small helpers shared by every module: allocation that never returns NULL,
 * and big-endian loads and stores that never assume alignment. */
#ifndef STACK_UTIL_H
#define STACK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)    ((a) < (b) ? (a) : (b))
#define MAX(a, b)    ((a) > (b) ? (a) : (b))

/* On a function whose result says whether its output is valid (every wire
 * parser): a caller that ignores it reads an unfilled header when the
 * input is bad, so the compiler refuses such a call. */
#define MUST_CHECK __attribute__((warn_unused_result))

/* Allocation failure in a simulator is not recoverable: these abort. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Hex digits (an even number, nothing else) to bytes: the byte count, or
 * -1 when the text is not hex or does not fit in cap bytes. */
long hex_decode(const char *s, uint8_t *out, size_t cap);

/* FNV-1a, used to derive stable per-name values (PRNG streams, MACs). */
uint64_t hash64(const char *s);

#endif
