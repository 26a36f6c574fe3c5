#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
	fputs("ipsecsim: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xgrow(void *p, size_t n, size_t elem)
{
	if (n == 0)
		return xrealloc(p, 4 * elem);
	if (n < 4 || (n & (n - 1)) != 0)
		return p; /* room left */
	if (n > SIZE_MAX / 2 / elem)
		oom();
	return xrealloc(p, 2 * n * elem);
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

uint64_t hash64(const char *s)
{
	return hash64_bytes(s, strlen(s));
}

uint64_t hash64_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- hmap: open addressing, linear probing, at most half full ---- */

struct hmap_slot {
	const void *key; /* NULL: empty */
	size_t len;
	uint64_t hash;
	void *val;
};

static struct hmap_slot *hmap_find(struct hmap *m, const void *key, size_t len, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct hmap_slot *s = &m->slots[i];
		m->probes++;
		if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
			return s;
	}
}

/* FNV-1a, its bits mixed (MurmurHash3's finalizer): names that differ in
 * their last digit must not land in neighbouring slots. */
static uint64_t hmap_hash(const void *key, size_t len)
{
	uint64_t h = hash64_bytes(key, len);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

void *hmap_get(struct hmap *m, const void *key, size_t len)
{
	if (!m->n)
		return NULL;
	struct hmap_slot *s = hmap_find(m, key, len, hmap_hash(key, len));
	return s->key ? s->val : NULL;
}

bool hmap_add(struct hmap *m, const void *key, size_t len, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct hmap old = *m; /* rehashing is work too: its probes count */
		m->cap = old.cap ? old.cap * 2 : 4; /* most tables of a node hold one or two */
		m->slots = xcalloc(m->cap, sizeof(*m->slots));
		for (size_t i = 0; i < old.cap; i++)
			if (old.slots[i].key)
				*hmap_find(m, old.slots[i].key, old.slots[i].len,
					   old.slots[i].hash) = old.slots[i];
		free(old.slots);
	}
	uint64_t h = hmap_hash(key, len);
	struct hmap_slot *s = hmap_find(m, key, len, h);
	if (s->key)
		return false;
	*s = (struct hmap_slot){key, len, h, val};
	m->n++;
	return true;
}

bool hmap_del(struct hmap *m, const void *key, size_t len)
{
	if (!m->n)
		return false;
	struct hmap_slot *s = hmap_find(m, key, len, hmap_hash(key, len));
	if (!s->key)
		return false;
	/* Backward shift: pull up each later slot of the run whose home is
	 * not between the hole and it, so no lookup stops short. */
	size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
	for (size_t j = (hole + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = (size_t)m->slots[j].hash & mask;
		if (!probe_stays(hole, j, home)) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].key = NULL;
	m->n--;
	return true;
}

size_t hmap_bytes(const struct hmap *m)
{
	return m->cap * sizeof(*m->slots);
}

void hmap_free(struct hmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t len = strlen(s);
	if (len % 2 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(len / 2);
}

enum text_line text_getline(struct text_reader *r, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int c;
	while ((c = getc(r->f)) != EOF) {
		if (++r->bytes > TEXT_MAX_FILE)
			return TEXT_HUGE;
		if (c == '\0')
			return TEXT_NUL;
		if (c == '\n')
			break;
		if (n + 1 >= cap)
			return TEXT_LONG;
		buf[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return TEXT_EOF;
	buf[n] = '\0';
	*len = n;
	return TEXT_LINE;
}

void text_line_error(enum text_line t, size_t cap, char *msg, size_t msgcap)
{
	switch (t) {
	case TEXT_LONG: snprintf(msg, msgcap, "line longer than %zu bytes", cap - 1); break;
	case TEXT_NUL: snprintf(msg, msgcap, "NUL byte"); break;
	case TEXT_HUGE:
		snprintf(msg, msgcap, "file larger than %u MiB", (unsigned)(TEXT_MAX_FILE >> 20));
		break;
	default: snprintf(msg, msgcap, "no error"); break;
	}
}

/* A decimal number with up to `scale_digits` fractional digits, times
 * 10^scale_digits, followed by a unit suffix returned in *unit. */
int parse_fixed(const char *s, unsigned scale_digits, uint64_t *v, const char **unit)
{
	uint64_t whole = 0, frac = 0;
	unsigned nfrac = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (whole > (UINT64_MAX - d) / 10)
			return -1;
		whole = whole * 10 + d;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (nfrac == scale_digits)
				return -1; /* more precision than we keep */
			frac = frac * 10 + (uint64_t)(*p - '0');
			nfrac++;
		}
	}
	uint64_t scale = 1;
	for (unsigned i = 0; i < scale_digits; i++)
		scale *= 10;
	for (; nfrac < scale_digits; nfrac++)
		frac *= 10;
	/* whole * scale + frac must fit: both the product and the sum */
	if (whole > UINT64_MAX / scale || whole * scale > UINT64_MAX - frac)
		return -1;
	*v = whole * scale + frac;
	*unit = p;
	return 0;
}

/* Read in the unit's own fixed point, so every value up to 2^64 - 1 ns can
 * be written in any unit and nothing finer than a ns. */
int parse_time_ns(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		unsigned digits; /* ns per unit, as a power of ten */
		uint64_t mul;    /* and then times this */
	} units[] = {{"s", 9, 1},  {"ms", 6, 1}, {"us", 3, 1},
		     {"ns", 0, 1}, {"m", 9, 60}, {"h", 9, 3600}};
	const char *unit = s + strspn(s, "0123456789.");
	uint64_t v;
	const char *end;
	if (*unit == '\0') /* a bare number must be 0 */
		return parse_fixed(s, 9, &v, &end) == 0 && v == 0 ? (*ns = 0, 0) : -1;
	for (size_t i = 0; i < ARRAY_LEN(units); i++)
		if (strcmp(unit, units[i].unit) == 0) {
			if (parse_fixed(s, units[i].digits, &v, &end) < 0 ||
			    v > UINT64_MAX / units[i].mul)
				return -1;
			*ns = v * units[i].mul;
			return 0;
		}
	return -1;
}

bool is_time_unit_word(const char *w)
{
	static const char *const words[] = {"ns",      "nsec",    "nsecs", "us",   "usec", "usecs",
					    "ms",      "msec",    "msecs", "s",    "sec",  "secs",
					    "second",  "seconds", "m",     "min",  "mins", "minute",
					    "minutes", "h",       "hour",  "hours"};
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (strcmp(w, words[i]) == 0)
			return true;
	return false;
}
