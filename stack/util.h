/* Small helpers shared by every module: allocation that never returns NULL,
 * and big-endian loads and stores that never assume alignment. */
#ifndef STACK_UTIL_H
#define STACK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
/* Room for one more element in an array that holds n of elem bytes and is
 * only ever grown through here: the capacity doubles whenever n reaches a
 * power of two (from 4), so n appends cost O(n) in all, under a sanitizer's
 * copying realloc too.  Use as a = xgrow(a, n, sizeof(*a)); a[n++] = x. */
void *xgrow(void *p, size_t n, size_t elem);
char *xstrdup(const char *s);

/* Numbers in text.  A decimal with up to scale_digits fractional digits,
 * times 10^scale_digits, the suffix after it in *unit; -1 past 2^64 - 1. */
int parse_fixed(const char *s, unsigned scale_digits, uint64_t *v, const char **unit);
/* A time with its unit, one form everywhere (scenarios, the key manager,
 * ipsec.conf lifetimes): DIGITS[.DIGITS] then ns, us, ms, s, m or h, with
 * no blank between; 0 may stand alone.  At most 2^64 - 1 ns. */
int parse_time_ns(const char *s, uint64_t *ns);
#define TIME_FORM                                                                    \
	"a time with its unit, ns, us, ms, s, m or h, written right after the number " \
	"(such as 1.5s, 250ms or 10m), at most 18446744073.709551615s"
/* A word that names a unit of time (ms, sec, minutes, ...): what a user
 * writes after a number with a blank between. */
bool is_time_unit_word(const char *w);

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
uint64_t hash64_bytes(const void *p, size_t len);

/* A hash table from byte strings to pointers, for the lookups (names,
 * MAC addresses) that a scan would make quadratic in the size of a
 * scenario.  Keys are not copied: each lives as long as its entry (a name
 * inside the value, say).  No removal and no iteration: nothing may be
 * ordered by a hash table. */
/* Open addressing with linear probing deletes by backward shift: walking
 * the run after the hole, an entry at slot j whose home slot is `home`
 * stays where it is when its home lies after the hole (cyclically, up to
 * j); otherwise it moves into the hole, so that no lookup stops short of
 * it.  The one place this condition is written (the name table, the SPD's
 * and the SAD's tables use it). */
static inline bool probe_stays(size_t hole, size_t j, size_t home)
{
	return hole <= j ? hole < home && home <= j : hole < home || home <= j;
}

struct hmap_slot;
struct hmap {
	struct hmap_slot *slots;
	size_t cap, n;   /* cap a power of two (or 0) */
	uint64_t probes; /* slots looked at by gets and adds: the work, for tests */
};
void *hmap_get(struct hmap *m, const void *key, size_t len);
/* Add key -> val unless the key is there; false when it was. */
bool hmap_add(struct hmap *m, const void *key, size_t len, void *val);
/* Remove the key; false when it was not there.  The key's memory may go
 * once this returns. */
bool hmap_del(struct hmap *m, const void *key, size_t len);
void hmap_free(struct hmap *m);
/* The bytes of its slots (for show NODE memory). */
size_t hmap_bytes(const struct hmap *m);
/* The same for C strings. */
static inline void *hmap_get_str(struct hmap *m, const char *s)
{
	return hmap_get(m, s, strlen(s));
}
static inline bool hmap_add_str(struct hmap *m, const char *s, void *val)
{
	return hmap_add(m, s, strlen(s), val);
}

/* Text files (scenarios, ipsec.conf, esp_sa, vector files): one line at a
 * time, and an end on any input, /dev/zero included. */
#define TEXT_MAX_FILE (64u << 20) /* bytes one text file may hold */
enum text_line {
	TEXT_LINE,  /* a line (without its newline, NUL-terminated) */
	TEXT_EOF,   /* nothing more */
	TEXT_LONG,  /* longer than the buffer holds */
	TEXT_NUL,   /* a NUL byte: never in a text file */
	TEXT_HUGE,  /* the file passed TEXT_MAX_FILE bytes */
};
struct text_reader {
	FILE *f;
	uint64_t bytes; /* read so far */
};
/* The next line into buf (cap bytes with its terminating NUL); *len its
 * length.  After anything but TEXT_LINE, stop reading. */
enum text_line text_getline(struct text_reader *r, char *buf, size_t cap, size_t *len);
/* What a result other than TEXT_LINE means, for `file:line: ...`, into
 * msg (a buffer of 64 bytes does). */
void text_line_error(enum text_line t, size_t cap, char *msg, size_t msgcap);

#endif
