#include "util.h"

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

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

uint64_t hash64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
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
