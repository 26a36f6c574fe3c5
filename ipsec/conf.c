/*
 * ipsec.conf parsing and rule expansion, as ipsecctl's parse.y does it for
 * manual keying: statements, validate_sa's defaults and checks, create_flow,
 * expansion of `any` and host lists into one rule per address pair of the
 * same family, default peers, reverse flows and reverse SAs, and SA bundles.
 * Messages are ipsecctl's, reported as "FILE: LINE: message".
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/util.h"
#include "conf_lex.h"
#include "conf_names.h"

struct bundle_entry {
	struct bundle_entry *next;
	char *src, *dst, *name; /* what groups SAs: from, to and bundle name */
	struct conf_rule **sas; /* the SAs grouped so far, in order */
	unsigned nsas;
};

struct parser {
	struct conf_lexer *lx;
	const struct conf_options *opts;
	struct conf *conf;
	struct conf_token t;
	char *s;     /* copy of the current token's string */
	bool failed; /* this statement already reported an error */
	unsigned nr;
	struct bundle_entry *bundles;
};

/* ---- tokens ---- */

static void advance(struct parser *p)
{
	free(p->s);
	p->s = NULL;
	lex_next(p->lx, &p->t);
	if (p->t.str)
		p->s = xstrdup(p->t.str);
	if (p->t.tok == TK_ERROR)
		p->failed = true; /* reported by the lexer, which skipped the line */
}

static bool at(const struct parser *p, enum conf_tok k)
{
	return p->t.tok == k;
}

static bool at_char(const struct parser *p, int c)
{
	return p->t.tok == TK_CHAR && p->t.ch == c;
}

static bool accept(struct parser *p, enum conf_tok k)
{
	if (!at(p, k))
		return false;
	advance(p);
	return true;
}

/* Report once per statement; the statement is then skipped. */
static void perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (p->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lex_error(p->lx, p->t.line, "%s", msg);
	p->failed = true;
}

/* What a number must be, after ipsecctl's message: in the testbed grammar
 * only, since ipsecctl's own messages are kept word for word. */
static const char *range(const struct parser *p, const char *what)
{
	return p->opts->mode == CONF_TESTBED ? what : "";
}

/* ipsecctl says "syntax error" and nothing more (kept word for word in its
 * grammar); the testbed's says what it found and what it wanted there. */
static void syntax_error(struct parser *p, const char *expected)
{
	if (p->opts->mode != CONF_TESTBED) {
		perr(p, "syntax error");
		return;
	}
	char got[96];
	if (at(p, TK_NL) || at(p, TK_EOF))
		snprintf(got, sizeof(got), "the end of the line");
	else if (at(p, TK_NUMBER))
		snprintf(got, sizeof(got), "'%lld'", p->t.num);
	else if (at(p, TK_CHAR))
		snprintf(got, sizeof(got), "'%c'", p->t.ch);
	else
		snprintf(got, sizeof(got), "'%.64s'", p->s ? p->s : "?");
	perr(p, "syntax error: %s where %s belongs", got, expected);
}

/* ---- values ---- */

static void addr_free_list(struct conf_addr *a)
{
	while (a) {
		struct conf_addr *n = a->next;
		free(a);
		a = n;
	}
}

/* A copy of the head of a list (without its tail). */
static struct conf_addr addr_one(const struct conf_addr *a)
{
	struct conf_addr c = *a;
	c.next = NULL;
	return c;
}

/* inet_net_pton(3)'s IPv4 network forms, which ipsecctl's host_v4 takes
 * when a prefix length follows: one to four decimal octets (10.0.2 is
 * 10.0.2.0), or 0x and up to eight hex digits (0x0a00 is 10.0.0.0). */
static bool inet_net_v4(const char *s, struct ipaddr *a)
{
	uint8_t b[4] = {0};
	unsigned n = 0;
	if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) && s[2]) {
		size_t len = strlen(s + 2);
		if (len > 8 || strspn(s + 2, "0123456789abcdefABCDEF") != len)
			return false;
		for (size_t i = 0; i < len; i++) {
			char c = s[2 + i];
			unsigned v = isdigit((unsigned char)c) ? (unsigned)(c - '0')
							       : (unsigned)(tolower(c) - 'a' + 10);
			b[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
		}
		*a = addr_v4(b);
		return true;
	}
	for (const char *q = s;; q++) {
		if (n == 4 || !isdigit((unsigned char)*q))
			return false;
		unsigned v = 0;
		for (; isdigit((unsigned char)*q); q++)
			if ((v = v * 10 + (unsigned)(*q - '0')) > 255)
				return false;
		b[n++] = (uint8_t)v;
		if (*q == '\0')
			break;
		if (*q != '.')
			return false;
	}
	*a = addr_v4(b);
	return true;
}

/* host(): an IPv4 or IPv6 literal with an optional prefix length (with
 * one, IPv4 also in inet_net_pton's short forms).  No interface names and
 * no DNS in a simulator. */
static int host_parse(struct parser *p, const char *s, int plen, struct conf_addr *out)
{
	memset(out, 0, sizeof(*out));
	bool ok = addr_parse(s, &out->addr) == 0 || (plen >= 0 && inet_net_v4(s, &out->addr));
	if (!ok || plen > (int)addr_bits(out->addr.af)) {
		if (plen >= 0)
			lex_message(p->lx, "no IP address found for %s/%d", s, plen);
		else
			lex_message(p->lx, "no IP address found for %s", s);
		perr(p, "could not parse host specification");
		return -1;
	}
	out->plen = plen >= 0 ? (unsigned)plen : addr_bits(out->addr.af);
	out->netaddress = plen >= 0;
	return 0;
}

static void fmt_addr(const struct conf_addr *a, char *buf, size_t cap)
{
	char ab[ADDR_STRLEN];
	if (a->plen != addr_bits(a->addr.af))
		snprintf(buf, cap, "%s/%u", addr_fmt(&a->addr, ab), a->plen);
	else
		snprintf(buf, cap, "%s", addr_fmt(&a->addr, ab));
}

/* host_spec: STRING | STRING '/' NUMBER */
static struct conf_addr *parse_host_spec(struct parser *p)
{
	if (!at(p, TK_STRING)) {
		syntax_error(p, "an address (such as 10.0.0.1, 10.1.0.0/16 or 2001:db8::1)");
		return NULL;
	}
	char *s = xstrdup(p->s);
	int plen = -1;
	advance(p);
	if (at_char(p, '/')) {
		advance(p);
		if (!at(p, TK_NUMBER) || p->t.num < 0) {
			free(s);
			syntax_error(p, "a prefix length");
			return NULL;
		}
		plen = p->t.num > 255 ? 255 : (int)p->t.num;
		advance(p);
	}
	struct conf_addr *a = xcalloc(1, sizeof(*a));
	int r = host_parse(p, s, plen, a);
	free(s);
	if (r < 0) {
		free(a);
		return NULL;
	}
	return a;
}

static struct conf_addr *any_host(void)
{
	struct conf_addr *a = xcalloc(1, sizeof(*a));
	a->any = true;
	a->netaddress = true;
	return a;
}

/* host: host_spec | host_spec '(' host_spec ')' | any | '{' host_list '}' */
static struct conf_addr *parse_host(struct parser *p)
{
	if (accept(p, TK_ANY))
		return any_host();
	if (at_char(p, '{')) {
		advance(p);
		struct conf_addr *head = NULL, **tail = &head;
		while (!at_char(p, '}')) {
			struct conf_addr *h = parse_host(p);
			if (!h) {
				addr_free_list(head);
				return NULL;
			}
			*tail = h;
			while (*tail)
				tail = &(*tail)->next;
			if (at_char(p, ','))
				advance(p);
			if (at(p, TK_NL) || at(p, TK_EOF)) {
				addr_free_list(head);
				syntax_error(p, "an address");
				return NULL;
			}
		}
		advance(p);
		return head;
	}
	struct conf_addr *a = parse_host_spec(p);
	if (a && at_char(p, '(')) {
		perr(p, "flow NAT is not supported by ipsecsim");
		addr_free_list(a);
		return NULL;
	}
	return a;
}

/* port: [port NAME|NUMBER] */
static int parse_port(struct parser *p, uint16_t *port)
{
	*port = 0;
	if (!accept(p, TK_PORT))
		return 0;
	if (at(p, TK_STRING)) {
		int v = conf_service_port(p->s);
		if (v < 0) {
			perr(p, "unknown port: %s", p->s);
			return -1;
		}
		*port = (uint16_t)v;
	} else if (at(p, TK_NUMBER)) {
		if (p->t.num < 0 || p->t.num > 65535) {
			perr(p, "port outside range%s", range(p, " (0 to 65535)"));
			return -1;
		}
		*port = (uint16_t)p->t.num;
	} else {
		syntax_error(p, "a port number or name");
		return -1;
	}
	advance(p);
	return 0;
}

struct hosts {
	struct conf_addr *src, *dst;
	uint16_t sport, dport;
};

/* hosts: from HOST [port P] to HOST [port P] | to ... from ... */
static int parse_hosts(struct parser *p, struct hosts *h)
{
	memset(h, 0, sizeof(*h));
	bool from_first = at(p, TK_FROM);
	if (!from_first && !at(p, TK_TO)) {
		syntax_error(p, "from or to");
		return -1;
	}
	advance(p);
	struct conf_addr *first = parse_host(p);
	uint16_t p1, p2;
	if (!first || parse_port(p, &p1) < 0)
		goto fail1;
	if (!accept(p, from_first ? TK_TO : TK_FROM)) {
		syntax_error(p, from_first ? "to" : "from");
		goto fail1;
	}
	struct conf_addr *second = parse_host(p);
	if (!second || parse_port(p, &p2) < 0) {
		addr_free_list(second);
		goto fail1;
	}
	h->src = from_first ? first : second;
	h->dst = from_first ? second : first;
	h->sport = from_first ? p1 : p2;
	h->dport = from_first ? p2 : p1;
	return 0;
fail1:
	addr_free_list(first);
	return -1;
}

/* singlehost: [STRING] (it may be empty, as in ipsecctl) */
static int parse_singlehost(struct parser *p, struct conf_addr **out)
{
	*out = NULL;
	if (!at(p, TK_STRING))
		return 0;
	char *s = xstrdup(p->s);
	advance(p);
	struct conf_addr *a = xcalloc(1, sizeof(*a));
	int r = host_parse(p, s, -1, a);
	free(s);
	if (r < 0) {
		free(a);
		return -1;
	}
	*out = a;
	return 0;
}

/* peers: [peer (HOST|any) [local HOST] | local HOST [peer (HOST|any)]] */
static int parse_peers(struct parser *p, struct conf_addr **local, struct conf_addr **peer)
{
	*local = *peer = NULL;
	for (int round = 0; round < 2; round++) {
		if (!*peer && accept(p, TK_PEER)) {
			if (accept(p, TK_ANY))
				*peer = any_host();
			else if (parse_singlehost(p, peer) < 0)
				return -1;
			if (!*peer)
				*peer = NULL;
		} else if (!*local && accept(p, TK_LOCAL)) {
			if (parse_singlehost(p, local) < 0)
				return -1;
		} else {
			break;
		}
	}
	return 0;
}

static int parse_ids(struct parser *p, char **srcid, char **dstid)
{
	*srcid = *dstid = NULL;
	if (accept(p, TK_SRCID)) {
		if (!at(p, TK_STRING))
			goto bad;
		*srcid = xstrdup(p->s);
		advance(p);
	}
	if (accept(p, TK_DSTID)) {
		if (!at(p, TK_STRING))
			goto bad;
		*dstid = xstrdup(p->s);
		advance(p);
	}
	return 0;
bad:
	free(*srcid);
	*srcid = NULL;
	syntax_error(p, "an identity");
	return -1;
}

static enum conf_satype parse_satype(struct parser *p)
{
	if (accept(p, TK_ESP))
		return CS_ESP;
	if (accept(p, TK_AH))
		return CS_AH;
	if (accept(p, TK_IPCOMP))
		return CS_IPCOMP;
	if (accept(p, TK_IPIP))
		return CS_IPIP;
	return CS_ESP; /* the empty satype is esp */
}

/* A key: hex with an optional 0x, or `file NAME`; "OUT:IN" gives two. */
static struct conf_key parse_hexkey(struct parser *p, const char *hex)
{
	struct conf_key k = {0};
	if (strncmp(hex, "0x", 2) == 0)
		hex += 2;
	size_t len = strlen(hex) / 2;
	k.data = xmalloc(len ? len : 1);
	k.len = len;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1])) {
			perr(p, "keys need to be specified in hex digits");
			k.data[i] = 0xff;
			continue;
		}
		char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
		k.data[i] = (uint8_t)strtoul(two, NULL, 16);
	}
	return k;
}

static void key_wipe(struct conf_key *k)
{
	if (k->data) {
		memset(k->data, 0, k->len);
		free(k->data);
	}
	k->data = NULL;
	k->len = 0;
}

static struct conf_key parse_keyfile(struct parser *p, const char *name)
{
	struct conf_key k = {0};
	char path[4096];
	FILE *f = fopen(name, "r");
	if (!f && name[0] != '/') {
		snprintf(path, sizeof(path), "%s/%s", lex_dir(p->lx), name);
		f = fopen(path, "r");
	}
	if (!f) {
		perr(p, "cannot open key file %s: %s", name, strerror(errno));
		return k;
	}
	char buf[1025];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == 0 || n > 1024) {
		perr(p, "%s: key too %s", name, n ? "large" : "small");
		return k;
	}
	buf[n] = '\0';
	/* parsekeyfile reads the file as hex digits, a trailing newline apart. */
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return parse_hexkey(p, buf);
}

static int parse_keyspec(struct parser *p, struct conf_key *out, struct conf_key *in)
{
	bool file = accept(p, TK_FILE);
	if (!at(p, TK_STRING)) {
		syntax_error(p, "a key (0x and hex digits) or file NAME");
		return -1;
	}
	char *s = xstrdup(p->s);
	advance(p);
	char *colon = strchr(s, ':');
	if (colon)
		*colon++ = '\0';
	*out = file ? parse_keyfile(p, s) : parse_hexkey(p, s);
	if (colon)
		*in = file ? parse_keyfile(p, colon) : parse_hexkey(p, colon);
	memset(s, 0, strlen(s) + (colon ? strlen(colon) + 1 : 0));
	free(s);
	return p->failed ? -1 : 0;
}

/* atospi: strtoul with base 0, refusing the reserved 1..255. */
static int parse_spi_value(struct parser *p, const char *s, uint32_t *spi)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (!*s || *end || errno) {
		syntax_error(p, "an SPI (such as 0x1000)");
		return -1;
	}
	if (v > UINT32_MAX) {
		perr(p, "%llu not a valid spi%s", v, range(p, " (0x100 to 0xffffffff)"));
		return -1;
	}
	if (v >= 1 && v <= 255) {
		perr(p, "%llu within reserved spi range%s", v, range(p, " (1 to 255)"));
		return -1;
	}
	*spi = (uint32_t)v;
	return 0;
}

static int parse_spispec(struct parser *p, uint32_t *out, uint32_t *in)
{
	*out = *in = 0;
	if (!accept(p, TK_SPI)) {
		syntax_error(p, "spi");
		return -1;
	}
	if (at(p, TK_NUMBER)) {
		long long v = p->t.num;
		if (v < 0 || v > UINT32_MAX) {
			perr(p, "%lld not a valid spi%s", v, range(p, " (0x100 to 0xffffffff)"));
			return -1;
		}
		if (v >= 1 && v <= 255) {
			perr(p, "%lld within reserved spi range%s", v, range(p, " (1 to 255)"));
			return -1;
		}
		*out = (uint32_t)v;
		advance(p);
		return 0;
	}
	if (!at(p, TK_STRING)) {
		syntax_error(p, "an SPI, or OUT:IN");
		return -1;
	}
	char *s = xstrdup(p->s);
	advance(p);
	char *colon = strchr(s, ':');
	int r = 0;
	if (colon) {
		*colon++ = '\0';
		r = parse_spi_value(p, colon, in);
	}
	if (r == 0)
		r = parse_spi_value(p, s, out);
	free(s);
	return r;
}

/* A time for testbed lifetimes: a bare number of seconds, or a time with
 * its unit in the form every time takes (parse_time_ns), in whole seconds
 * (PF_KEY counts in seconds). */
static int parse_seconds(struct parser *p, uint64_t *v)
{
	char word[64] = "";
	if (at(p, TK_NUMBER) && p->t.num >= 0) {
		*v = (uint64_t)p->t.num;
		advance(p);
		if (!at(p, TK_STRING) || !is_time_unit_word(p->s))
			return 0;
		/* `time 5 sec`: say what was written */
		snprintf(word, sizeof(word), " '%llu %.30s'", (unsigned long long)*v, p->s);
	} else if (at(p, TK_STRING)) {
		/* whole seconds, minutes or hours go as far as bare seconds
		 * (INT64_MAX); the other forms as far as any time */
		uint64_t n, ns;
		const char *unit;
		unsigned mul = 0;
		if (parse_fixed(p->s, 0, &n, &unit) == 0)
			mul = !strcmp(unit, "h")   ? 3600
			      : !strcmp(unit, "m") ? 60
						   : !strcmp(unit, "s");
		if (mul && n <= (uint64_t)INT64_MAX / mul) {
			*v = n * mul;
			advance(p);
			return 0;
		}
		if (!mul && parse_time_ns(p->s, &ns) == 0 && ns % 1000000000u == 0) {
			*v = ns / 1000000000u;
			advance(p);
			return 0;
		}
		snprintf(word, sizeof(word), " '%.40s'", p->s);
	}
	perr(p,
	     "bad time%s: whole seconds, as a bare number or with its unit, ns, us, ms, s, m or "
	     "h, written right after the number (such as 3600, 90s or 10m); at most "
	     "9223372036854775807 seconds",
	     word);
	return -1;
}

/* ---- rule construction and expansion ---- */

static struct conf_rule *rule_new(void)
{
	return xcalloc(1, sizeof(struct conf_rule));
}

static void rule_free(struct conf_rule *r)
{
	if (!r)
		return;
	free(r->srcid);
	free(r->dstid);
	key_wipe(&r->authkey);
	key_wipe(&r->enckey);
	free(r);
}

static struct conf_key key_copy(const struct conf_key *k)
{
	struct conf_key c = {0};
	if (k->data) {
		c.data = xmalloc(k->len ? k->len : 1);
		memcpy(c.data, k->data, k->len);
		c.len = k->len;
	}
	return c;
}

static struct conf_rule *rule_copy(const struct conf_rule *r)
{
	struct conf_rule *c = rule_new();
	*c = *r;
	c->next = NULL;
	c->srcid = r->srcid ? xstrdup(r->srcid) : NULL;
	c->dstid = r->dstid ? xstrdup(r->dstid) : NULL;
	c->authkey = key_copy(&r->authkey);
	c->enckey = key_copy(&r->enckey);
	return c;
}

static void add_rule(struct parser *p, struct conf_rule *r)
{
	struct conf *c = p->conf;
	r->nr = p->nr++;
	if (c->tail)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->nrules++;
	if (p->opts->verbose && p->opts->out)
		conf_print_rule(r, p->opts->out, p->opts->showkeys, p->opts->verbose2);
}

/* validate_sa: defaults and checks for manual SAs.  0 when valid. */
static int validate_sa(struct parser *p, struct conf_rule *r, const struct conf_key *authkey,
		       const struct conf_key *enckey)
{
	if (r->spi == 0) {
		perr(p, "no SPI specified");
		return -1;
	}
	switch (r->satype) {
	case CS_AH:
		if (!r->authxf)
			r->authxf = conf_xf_auth("hmac-sha2-256");
		if (r->encxf) {
			perr(p, "ah does not provide encryption");
			return -1;
		}
		if (r->compxf) {
			perr(p, "ah does not provide compression");
			return -1;
		}
		break;
	case CS_ESP:
		if (r->compxf) {
			perr(p, "esp does not provide compression");
			return -1;
		}
		if (!r->encxf)
			r->encxf = conf_xf_enc("aes");
		if (r->encxf->nostatic && p->opts->mode == CONF_STRICT) {
			perr(p, "%s is disallowed with static keys", r->encxf->name);
			return -1;
		}
		if (r->encxf->noauth && r->authxf) {
			perr(p, "authentication is implicit for %s", r->encxf->name);
			return -1;
		} else if (!r->encxf->noauth && !r->authxf) {
			r->authxf = conf_xf_auth("hmac-sha2-256");
		}
		break;
	case CS_IPCOMP:
		if (r->authxf || r->encxf) {
			perr(p, "no encryption or authentication with ipcomp");
			return -1;
		}
		if (!r->compxf)
			r->compxf = conf_xf_comp("deflate");
		break;
	case CS_IPIP:
		if (r->authxf || r->encxf || r->compxf) {
			perr(p, "no encryption, authentication or compression with ipip");
			return -1;
		}
		break;
	case CS_TCPMD5:
		if (!authkey->data) {
			perr(p, "authentication key needed for tcpmd5");
			return -1;
		}
		break;
	default: break;
	}
	if (r->authxf) {
		if (!authkey->data && r->authxf->id != AUTHXF_NONE) {
			perr(p, "no authentication key specified");
			return -1;
		}
		if (authkey->data && authkey->len != r->authxf->keymin) {
			perr(p, "wrong authentication key length, needs to be %u bits",
			     r->authxf->keymin * 8u);
			return -1;
		}
	}
	if (r->encxf) {
		if (!enckey->data && r->encxf->id != ENCXF_NULL) {
			perr(p, "no encryption key specified");
			return -1;
		}
		/* ipsecctl's words, and in the testbed what the length holds */
		char salt[96] = "", keys[24];
		unsigned kmin = r->encxf->keymin - r->encxf->salt,
			 kmax = r->encxf->keymax - r->encxf->salt;
		if (kmin == kmax)
			snprintf(keys, sizeof(keys), "%u", kmin);
		else
			snprintf(keys, sizeof(keys), "%u to %u", kmin, kmax);
		if (p->opts->mode == CONF_TESTBED && r->encxf->salt)
			snprintf(salt, sizeof(salt), " (%s: %s bytes of key, then a %u-byte %s)",
				 r->encxf->name, keys, r->encxf->salt,
				 strstr(r->encxf->name, "ctr") ? "nonce" : "salt");
		if (enckey->data && enckey->len < r->encxf->keymin) {
			perr(p, "encryption key too short (%zu bits), minimum %u bits%s",
			     enckey->len * 8, r->encxf->keymin * 8u, salt);
			return -1;
		}
		if (enckey->data && enckey->len > r->encxf->keymax) {
			perr(p, "encryption key too long (%zu bits), maximum %u bits%s",
			     enckey->len * 8, r->encxf->keymax * 8u, salt);
			return -1;
		}
	}
	return 0;
}

static bool addr_has_af(const struct conf_addr *l, uint8_t af, bool *any)
{
	bool has = false;
	for (; l; l = l->next) {
		if (l->any)
			*any = true;
		if (l->addr.af == af)
			has = true;
	}
	return has;
}

/* validate_af: a list mixing families must share one with the other side. */
static bool families_clash(const struct conf_addr *src, const struct conf_addr *dst)
{
	bool any = false;
	bool s4 = addr_has_af(src, ADDR_V4, &any), s6 = addr_has_af(src, ADDR_V6, &any);
	bool d4 = addr_has_af(dst, ADDR_V4, &any), d6 = addr_has_af(dst, ADDR_V6, &any);
	if (any)
		return false;
	return s4 != d4 && s6 != d6;
}

/* expand_any: `any` is 0.0.0.0/0 followed by ::/0. */
static void expand_any(struct conf_addr *l)
{
	for (; l; l = l->next) {
		if (!l->any)
			continue;
		struct conf_addr *v6 = xcalloc(1, sizeof(*v6));
		v6->addr.af = ADDR_V6;
		v6->netaddress = true;
		v6->next = l->next;
		l->any = false;
		memset(&l->addr, 0, sizeof(l->addr));
		l->addr.af = ADDR_V4;
		l->plen = 0;
		l->next = v6;
		l = v6;
	}
}

static struct conf_rule *reverse_flow(const struct conf_rule *r)
{
	struct conf_rule *v = rule_copy(r);
	v->direction = r->direction == CD_OUT ? CD_IN : CD_OUT;
	v->src = addr_one(&r->dst);
	v->dst = addr_one(&r->src);
	v->sport = r->dport;
	v->dport = r->sport;
	/* local, peer and the identities stay as they are (reverse_rule). */
	return v;
}

static void addr_name(const struct conf_addr *a, char *buf, size_t cap)
{
	fmt_addr(a, buf, cap);
}

/* add_sabundle: SAs with the same from, to and bundle name are chained, and
 * each link is a rule of its own ("[bundle A with B]"). */
static void add_sabundle(struct parser *p, struct conf_rule *r, const char *bundle)
{
	char src[80], dst[80];
	addr_name(&r->src, src, sizeof(src));
	addr_name(&r->dst, dst, sizeof(dst));
	struct bundle_entry *b;
	for (b = p->bundles; b; b = b->next)
		if (!strcmp(b->src, src) && !strcmp(b->dst, dst) && !strcmp(b->name, bundle))
			break;
	if (!b) {
		b = xcalloc(1, sizeof(*b));
		b->src = xstrdup(src);
		b->dst = xstrdup(dst);
		b->name = xstrdup(bundle);
		struct bundle_entry **tail = &p->bundles;
		while (*tail)
			tail = &(*tail)->next;
		*tail = b;
	} else {
		const struct conf_rule *last = b->sas[b->nsas - 1];
		struct conf_rule *g = rule_new();
		g->type = CR_BUNDLE;
		g->satype = last->satype;
		g->dst = addr_one(&last->dst);
		g->spi = last->spi;
		g->satype2 = r->satype;
		g->dst2 = addr_one(&r->dst);
		g->spi2 = r->spi;
		g->file = r->file;
		g->line = r->line;
		add_rule(p, g);
	}
	b->sas = xgrow(b->sas, b->nsas, sizeof(*b->sas));
	b->sas[b->nsas++] = r;
}

/* set_rule_peers: the peer defaults to the remote host, which must then be
 * a host address; `peer any` means no peer. */
static int set_peers(struct parser *p, struct conf_rule *r, const struct conf_addr *local,
		     const struct conf_addr *peer)
{
	if (r->flowtype == CF_DENY || r->flowtype == CF_BYPASS)
		return 0;
	r->has_local = local != NULL;
	if (local)
		r->local = addr_one(local);
	r->has_peer = peer != NULL;
	if (peer)
		r->peer = addr_one(peer);
	if (!peer) {
		const struct conf_addr *remote = r->direction == CD_IN ? &r->src : &r->dst;
		if (!remote->netaddress) {
			r->has_peer = true;
			r->peer = addr_one(remote);
		}
	}
	if (!r->has_peer) {
		char name[80];
		addr_name(&r->dst, name, sizeof(name));
		perr(p, "no peer specified for destination %s", name);
		return -1;
	}
	if (r->peer.any)
		r->has_peer = false; /* peer any: the default peer */
	return 0;
}

/* expand_rule: one rule per (src, dst) pair of one family, each with its
 * reverse flow or reverse SA, and bundle links.  Consumes the lists. */
static void expand_rule(struct parser *p, struct conf_rule *proto, struct hosts *h,
			const struct conf_addr *local, const struct conf_addr *peer,
			enum conf_dir dir, uint32_t spi_in, struct conf_key *akey_in,
			struct conf_key *ekey_in, const char *bundle)
{
	if (families_clash(h->src, h->dst)) {
		perr(p, "source/destination address families do not match");
		return;
	}
	expand_any(h->src);
	expand_any(h->dst);
	unsigned added = 0;
	for (const struct conf_addr *s = h->src; s && !p->failed; s = s->next)
		for (const struct conf_addr *d = h->dst; d && !p->failed; d = d->next) {
			if (s->addr.af != d->addr.af)
				continue;
			struct conf_rule *r = rule_copy(proto);
			r->src = addr_one(s);
			r->dst = addr_one(d);
			if ((r->type & CR_FLOW) && set_peers(p, r, local, peer) < 0) {
				rule_free(r);
				return;
			}
			add_rule(p, r);
			if (bundle)
				add_sabundle(p, r, bundle);
			struct conf_rule *rev = NULL;
			if (dir == CD_INOUT) {
				rev = reverse_flow(r);
			} else if ((r->type & CR_SA) &&
				   (spi_in || akey_in->data || ekey_in->data)) {
				rev = rule_copy(r);
				rev->src = addr_one(&r->dst);
				rev->dst = addr_one(&r->src);
				rev->spi = spi_in;
				key_wipe(&rev->authkey);
				key_wipe(&rev->enckey);
				rev->authkey = key_copy(akey_in);
				rev->enckey = key_copy(ekey_in);
				/* the testbed says why the second key is missing */
				const char *half = NULL;
				if (r->enckey.data && !ekey_in->data)
					half = "enckey";
				else if (r->authkey.data && !akey_in->data)
					half = "authkey";
				if (half && spi_in && p->opts->mode == CONF_TESTBED) {
					perr(p,
					     "spi 0x%x:0x%x makes two SAs, so %s needs two "
					     "keys too, OUT:IN (one was given)",
					     r->spi, spi_in, half);
					rule_free(rev);
					return;
				}
				if (validate_sa(p, rev, &rev->authkey, &rev->enckey) < 0) {
					rule_free(rev);
					return;
				}
			}
			if (rev) {
				add_rule(p, rev);
				if (bundle)
					add_sabundle(p, rev, bundle);
			}
			added++;
		}
	if (!added && !p->failed)
		perr(p, "rule expands to no valid combination");
}

/* ---- statements ---- */

/* What may start a statement, for the testbed's syntax errors. */
#define RULE_START "a rule (flow, esp, ah, ipcomp, ipip, tcpmd5), include, or NAME = VALUE"

static void expect_end(struct parser *p, const char *expected)
{
	if (!at(p, TK_NL) && !at(p, TK_EOF))
		syntax_error(p, expected);
}

/* The name of the file being read, kept by the conf for its rules. */
static const char *rule_file(struct parser *p)
{
	struct conf *c = p->conf;
	const char *name = lex_name(p->lx);
	for (unsigned i = c->nfiles; i-- > 0;)
		if (strcmp(c->files[i], name) == 0)
			return c->files[i];
	c->files = xgrow(c->files, c->nfiles, sizeof(*c->files));
	return c->files[c->nfiles++] = xstrdup(name);
}

static void parse_flow(struct parser *p)
{
	struct conf_rule r = {.type = CR_FLOW, .file = rule_file(p), .line = p->t.line};
	struct hosts h = {0};
	struct conf_addr *local = NULL, *peer = NULL;
	char *srcid = NULL, *dstid = NULL;
	advance(p);
	r.satype = parse_satype(p);
	enum conf_dir dir = CD_INOUT;
	if (accept(p, TK_IN))
		dir = CD_IN;
	else if (accept(p, TK_OUT))
		dir = CD_OUT;
	if (accept(p, TK_PROTO)) {
		if (accept(p, TK_ESP)) {
			r.proto = 50;
		} else if (accept(p, TK_AH)) {
			r.proto = 51;
		} else if (at(p, TK_STRING)) {
			int v = conf_proto_number(p->s);
			if (v < 0) {
				perr(p, "unknown protocol: %s", p->s);
				return;
			}
			r.proto = (uint8_t)v;
			advance(p);
		} else if (at(p, TK_NUMBER)) {
			if (p->t.num < 0 || p->t.num > 255) {
				perr(p, "protocol outside range%s", range(p, " (0 to 255)"));
				return;
			}
			r.proto = (uint8_t)p->t.num;
			advance(p);
		} else {
			syntax_error(p, "a protocol name or number");
			return;
		}
	}
	if (parse_hosts(p, &h) < 0)
		return;
	if (parse_peers(p, &local, &peer) < 0 || parse_ids(p, &srcid, &dstid) < 0)
		goto out;
	r.flowtype = CF_UNKNOWN;
	if (accept(p, TK_TYPE)) {
		static const struct {
			enum conf_tok tok;
			enum conf_flowtype type;
		} types[] = {{TK_USE, CF_USE},         {TK_ACQUIRE, CF_ACQUIRE},
			     {TK_REQUIRE, CF_REQUIRE}, {TK_DENY, CF_DENY},
			     {TK_BYPASS, CF_BYPASS},   {TK_DONTACQ, CF_DONTACQ}};
		size_t i;
		for (i = 0; i < ARRAY_LEN(types); i++)
			if (accept(p, types[i].tok)) {
				r.flowtype = types[i].type;
				break;
			}
		if (i == ARRAY_LEN(types)) {
			syntax_error(p, "use, acquire, require, deny, bypass or dontacq");
			goto out;
		}
	}
	expect_end(p, "local, peer, srcid, dstid, type or the end of the rule");
	if (p->failed)
		goto out;
	/* create_flow */
	r.direction = dir == CD_INOUT ? CD_OUT : dir;
	r.sport = h.sport;
	r.dport = h.dport;
	if ((h.sport || h.dport) && r.proto != 6 && r.proto != 17) {
		perr(p, "no protocol supplied with source/destination ports");
		goto out;
	}
	if (r.flowtype == CF_UNKNOWN)
		r.flowtype = (r.satype == CS_IPCOMP || r.satype == CS_IPIP) ? CF_USE : CF_REQUIRE;
	if (r.flowtype != CF_DENY && r.flowtype != CF_BYPASS) {
		r.srcid = srcid;
		r.dstid = dstid;
		srcid = dstid = NULL;
	}
	struct conf_key none = {0};
	expand_rule(p, &r, &h, local, peer, dir, 0, &none, &none, NULL);
	free(r.srcid);
	free(r.dstid);
out:
	free(srcid);
	free(dstid);
	addr_free_list(h.src);
	addr_free_list(h.dst);
	addr_free_list(local);
	addr_free_list(peer);
}

static void parse_testbed_exts(struct parser *p, struct conf_rule *r)
{
	for (;;) {
		if (accept(p, TK_REPLAY)) {
			if (!at(p, TK_NUMBER) || p->t.num < 0 || p->t.num > 64) {
				perr(p, "replay wants a window of 0 to 64 packets");
				return;
			}
			r->replay = (uint8_t)p->t.num;
			advance(p);
		} else if (accept(p, TK_ESN)) {
			r->esn = true;
		} else if (at(p, TK_SRCID) || at(p, TK_DSTID)) {
			/* the SA's identities: ours, then the peer's, as a
			 * flow's (iked puts the IKE SA's on every SA) */
			free(r->srcid);
			free(r->dstid);
			if (parse_ids(p, &r->srcid, &r->dstid) < 0)
				return;
			if (!r->srcid || !r->dstid) {
				perr(p, "an SA's identities are a pair: srcid ID dstid ID");
				return;
			}
		} else if (accept(p, TK_LIFETIME)) {
			struct conf_lifetime *lt;
			if (accept(p, TK_SOFT)) {
				lt = &r->soft;
				r->has_soft = true;
			} else if (accept(p, TK_HARD)) {
				lt = &r->hard;
				r->has_hard = true;
			} else {
				perr(p, "lifetime wants soft or hard");
				return;
			}
			int n = 0;
			for (;; n++) {
				if (accept(p, TK_BYTES)) {
					if (!at(p, TK_NUMBER) || p->t.num <= 0) {
						perr(p, "bytes wants a number from 1 to "
							"9223372036854775807");
						return;
					}
					lt->bytes = (uint64_t)p->t.num;
					advance(p);
				} else if (accept(p, TK_TIME)) {
					if (parse_seconds(p, &lt->addtime) < 0)
						return;
				} else if (accept(p, TK_USETIME)) {
					if (parse_seconds(p, &lt->usetime) < 0)
						return;
				} else {
					break;
				}
			}
			if (n == 0) {
				perr(p, "lifetime wants bytes, time or usetime");
				return;
			}
		} else {
			return;
		}
	}
}

/* sarule: satype tmode hosts spispec udpencap transforms authkeyspec
 * enckeyspec bundlestring, in that fixed order; tcpmd5 rules too. */
static void parse_sa(struct parser *p, bool tcpmd5)
{
	struct conf_rule r = {.type = CR_SA, .file = rule_file(p), .line = p->t.line};
	struct hosts h = {0};
	struct conf_key akey_in = {0}, ekey_in = {0};
	uint32_t spi_in = 0;
	char *bundle = NULL;
	if (tcpmd5) {
		advance(p);
		r.satype = CS_TCPMD5;
		r.tmode = CT_TRANSPORT;
	} else {
		r.satype = parse_satype(p);
		r.tmode = CT_TUNNEL;
		if (accept(p, TK_TRANSPORT))
			r.tmode = CT_TRANSPORT;
		else
			accept(p, TK_TUNNEL);
	}
	if (parse_hosts(p, &h) < 0 || parse_spispec(p, &r.spi, &spi_in) < 0)
		goto out;
	/* what may still come, in the grammar's fixed order */
	const char *rest =
	    tcpmd5 ? "authkey" : "udpencap, auth, enc, comp, authkey, enckey, bundle";
	if (!tcpmd5) {
		if (accept(p, TK_UDPENCAP)) {
			rest = "auth, enc, comp, authkey, enckey, bundle";
			r.udpencap = true;
			if (accept(p, TK_PORT)) {
				if (!at(p, TK_NUMBER) || p->t.num < 0 || p->t.num > 65535) {
					syntax_error(p, "a port number");
					goto out;
				}
				r.udpdport = (uint16_t)p->t.num;
				advance(p);
			}
		}
		for (;;) {
			enum conf_tok k = p->t.tok;
			if (k != TK_AUTH && k != TK_ENC && k != TK_COMP && k != TK_GROUP)
				break;
			advance(p);
			rest = "auth, enc, comp, authkey, enckey, bundle";
			if (!at(p, TK_STRING)) {
				syntax_error(p, "an algorithm name");
				goto out;
			}
			const struct conf_xf **slot = k == TK_AUTH   ? &r.authxf
						      : k == TK_ENC  ? &r.encxf
						      : k == TK_COMP ? &r.compxf
								     : NULL;
			const char *what = k == TK_AUTH   ? "auth"
					   : k == TK_ENC  ? "enc"
					   : k == TK_COMP ? "comp"
							  : "group";
			if (slot && *slot) {
				perr(p, "%s already set", what);
			} else if (slot) {
				*slot = k == TK_AUTH  ? conf_xf_auth(p->s)
					: k == TK_ENC ? conf_xf_enc(p->s)
						      : conf_xf_comp(p->s);
				if (!*slot)
					perr(p, "%s not a valid transform", p->s);
			} else if (!conf_xf_group_ok(p->s)) {
				perr(p, "%s not a valid transform", p->s);
			}
			advance(p);
		}
	}
	if (accept(p, TK_AUTHKEY)) {
		if (parse_keyspec(p, &r.authkey, &akey_in) < 0)
			goto out;
		rest = tcpmd5 ? "" : "enckey, bundle";
	}
	if (!tcpmd5 && accept(p, TK_ENCKEY)) {
		if (parse_keyspec(p, &r.enckey, &ekey_in) < 0)
			goto out;
		rest = "bundle";
	}
	if (!tcpmd5 && accept(p, TK_BUNDLE)) {
		if (!at(p, TK_STRING)) {
			syntax_error(p, "a bundle name");
			goto out;
		}
		bundle = xstrdup(p->s);
		advance(p);
		rest = "";
	}
	if (!tcpmd5 && p->opts->mode == CONF_TESTBED)
		parse_testbed_exts(p, &r);
	if (p->failed)
		goto out;
	const char *exts = tcpmd5 ? "" : "replay, esn, srcid, lifetime";
	char expected[160];
	snprintf(expected, sizeof(expected), "%s%s%s%sthe end of the rule", rest,
		 *rest && *exts ? ", " : "", exts, *rest || *exts ? " or " : "");
	expect_end(p, expected);
	if (p->failed || validate_sa(p, &r, &r.authkey, &r.enckey) < 0)
		goto out;
	expand_rule(p, &r, &h, NULL, NULL, CD_NONE, spi_in, &akey_in, &ekey_in, bundle);
out:
	free(r.srcid);
	free(r.dstid);
	key_wipe(&r.authkey);
	key_wipe(&r.enckey);
	key_wipe(&akey_in);
	key_wipe(&ekey_in);
	free(bundle);
	addr_free_list(h.src);
	addr_free_list(h.dst);
}

static void parse_varset(struct parser *p, char *name)
{
	/* varset: NAME '=' STRING [STRING ...], the words joined by blanks. */
	char value[4096] = "";
	size_t n = 0;
	bool any = false;
	while (at(p, TK_STRING) || (p->t.tok >= TK_ACQUIRE && p->s)) {
		size_t l = strlen(p->s);
		if (n + l + 2 > sizeof(value)) {
			perr(p, "string too long");
			return;
		}
		if (any)
			value[n++] = ' ';
		memcpy(value + n, p->s, l + 1);
		n += l;
		any = true;
		advance(p);
	}
	if (!any) {
		syntax_error(p, "a value");
		return;
	}
	expect_end(p, "the end of the line");
	if (p->failed)
		return;
	for (const char *c = name; *c; c++)
		if (isspace((unsigned char)*c)) {
			perr(p, "macro name cannot contain whitespace");
			return;
		}
	if (p->opts->verbose && p->opts->out)
		fprintf(p->opts->out, "%s = \"%s\"\n", name, value);
	lex_set_macro(p->lx, name, value);
}

static void parse_statement(struct parser *p)
{
	switch (p->t.tok) {
	case TK_NL:
	case TK_EOF: return;
	case TK_ERROR:
		p->failed = true; /* the lexer reported it */
		return;
	case TK_INCLUDE:
		advance(p);
		if (!at(p, TK_STRING)) {
			syntax_error(p, "a file name");
			return;
		}
		{
			char *path = xstrdup(p->s);
			/* Read the newline that ends this line before switching. */
			advance(p);
			if (!at(p, TK_NL) && !at(p, TK_EOF)) {
				free(path);
				syntax_error(p, "the end of the line");
				return;
			}
			if (lex_include(p->lx, path) < 0)
				perr(p, "failed to include file %s", path);
			free(path);
		}
		return;
	case TK_FLOW: parse_flow(p); return;
	case TK_TCPMD5: parse_sa(p, true); return;
	case TK_ESP:
	case TK_AH:
	case TK_IPCOMP:
	case TK_IPIP:
	case TK_TUNNEL:
	case TK_TRANSPORT:
	case TK_FROM:
	case TK_TO: parse_sa(p, false); return;
	case TK_IKE:
		perr(p, "ike rules are not supported: ipsecsim has no IKE daemon; "
			"use flow rules and manually keyed SA rules");
		return;
	case TK_STRING: {
		char *name = xstrdup(p->s);
		advance(p);
		if (at_char(p, '=')) {
			advance(p);
			parse_varset(p, name);
		} else if (p->opts->mode == CONF_TESTBED) {
			perr(p, "syntax error: unknown word '%.64s' where " RULE_START " belongs",
			     name);
		} else {
			syntax_error(p, NULL);
		}
		free(name);
		return;
	}
	default: syntax_error(p, RULE_START); return;
	}
}

int conf_parse(const char *path, const struct conf_options *opts, struct conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	struct parser p = {.opts = opts, .conf = conf, .nr = 0};
	p.lx = lex_open(path, opts);
	if (!p.lx) {
		conf->errors = 1;
		return -1;
	}
	advance(&p);
	while (!at(&p, TK_EOF)) {
		p.failed = false;
		parse_statement(&p);
		if (at(&p, TK_EOF))
			break;
		/* A lexer error has already skipped the rest of its line. */
		if (!at(&p, TK_NL) && !at(&p, TK_ERROR))
			lex_skip_line(p.lx);
		advance(&p);
	}
	conf->errors = lex_errors(p.lx);
	free(p.s);
	lex_close(p.lx);
	while (p.bundles) {
		struct bundle_entry *b = p.bundles;
		p.bundles = b->next;
		free(b->src);
		free(b->dst);
		free(b->name);
		free(b->sas);
		free(b);
	}
	return conf->errors ? -1 : 0;
}

void conf_free(struct conf *conf)
{
	while (conf->head) {
		struct conf_rule *r = conf->head;
		conf->head = r->next;
		rule_free(r);
	}
	conf->tail = NULL;
	conf->nrules = 0;
	for (unsigned i = 0; i < conf->nfiles; i++)
		free(conf->files[i]);
	free(conf->files);
	conf->files = NULL;
	conf->nfiles = 0;
}

/* ---- printing: ipsecctl -nv ---- */

static const char *const satype_names[] = {"?", "esp", "ah", "ipcomp", "tcpmd5", "ipip"};
static const char *const dir_names[] = {"?", "in", "out", "?"};
static const char *const flowtype_names[] = {"?",    "use",    "acquire", "require",
					     "deny", "bypass", "dontacq"};
static const char *const tmode_names[] = {"?", "transport", "tunnel"};

static void print_addr(FILE *f, const struct conf_addr *a)
{
	char buf[80];
	fmt_addr(a, buf, sizeof(buf));
	fputs(buf, f);
}

static void print_port(FILE *f, uint16_t port, uint8_t proto)
{
	const char *name = conf_service_name(port, proto == 6 ? 6 : 17);
	if (name)
		fputs(name, f);
	else
		fprintf(f, "%u", port);
}

static void print_key(FILE *f, const struct conf_key *k)
{
	for (size_t i = 0; i < k->len; i++)
		fprintf(f, "%02x", k->data[i]);
}

void conf_print_rule(const struct conf_rule *r, FILE *f, bool showkeys, bool numbers)
{
	if (numbers)
		fprintf(f, "@%u ", r->nr);
	if (r->type & CR_FLOW) {
		fprintf(f, "flow %s %s", satype_names[r->satype], dir_names[r->direction]);
		if (r->proto) {
			const char *pn = conf_proto_name(r->proto);
			if (pn)
				fprintf(f, " proto %s", pn);
			else
				fprintf(f, " proto %u", r->proto);
		}
		fputs(" from ", f);
		print_addr(f, &r->src);
		if (r->sport) {
			fputs(" port ", f);
			print_port(f, r->sport, r->proto);
		}
		fputs(" to ", f);
		print_addr(f, &r->dst);
		if (r->dport) {
			fputs(" port ", f);
			print_port(f, r->dport, r->proto);
		}
		if (r->has_local) {
			fputs(" local ", f);
			print_addr(f, &r->local);
		}
		if (r->has_peer) {
			fputs(" peer ", f);
			print_addr(f, &r->peer);
		}
		if (r->srcid)
			fprintf(f, " srcid %s", r->srcid);
		if (r->dstid)
			fprintf(f, " dstid %s", r->dstid);
		fprintf(f, " type %s\n", flowtype_names[r->flowtype]);
	}
	if (r->type & CR_SA) {
		fprintf(f, "%s ", satype_names[r->satype]);
		if (r->satype != CS_TCPMD5 && r->satype != CS_IPIP)
			fprintf(f, "%s ", tmode_names[r->tmode]);
		fputs("from ", f);
		print_addr(f, &r->src);
		fputs(" to ", f);
		print_addr(f, &r->dst);
		fprintf(f, " spi 0x%08x", r->spi);
		if (r->satype != CS_TCPMD5) {
			if (r->authxf)
				fprintf(f, " auth %s", r->authxf->name);
			if (r->encxf)
				fprintf(f, " enc %s", r->encxf->name);
			if (r->compxf)
				fprintf(f, " comp %s", r->compxf->name);
		}
		/* Testbed extensions, in the order they are written. */
		if (r->replay)
			fprintf(f, " replay %u", r->replay);
		if (r->esn)
			fputs(" esn", f);
		if (r->srcid && r->dstid)
			fprintf(f, " srcid %s dstid %s", r->srcid, r->dstid);
		for (int i = 0; i < 2; i++) {
			const struct conf_lifetime *lt = i ? &r->hard : &r->soft;
			if (!(i ? r->has_hard : r->has_soft))
				continue;
			fprintf(f, " lifetime %s", i ? "hard" : "soft");
			if (lt->bytes)
				fprintf(f, " bytes %llu", (unsigned long long)lt->bytes);
			if (lt->addtime)
				fprintf(f, " time %llu", (unsigned long long)lt->addtime);
			if (lt->usetime)
				fprintf(f, " usetime %llu", (unsigned long long)lt->usetime);
		}
		const char *sep = r->satype == CS_TCPMD5 ? " " : " \\\n\t";
		if (r->authkey.data && showkeys) {
			fprintf(f, "%sauthkey 0x", sep);
			print_key(f, &r->authkey);
		}
		if (r->enckey.data && showkeys) {
			fprintf(f, "%senckey 0x", sep);
			print_key(f, &r->enckey);
		}
		fputc('\n', f);
	}
	if (r->type & CR_BUNDLE) {
		fprintf(f, "[bundle %s to ", satype_names[r->satype]);
		print_addr(f, &r->dst);
		fprintf(f, " spi 0x%08x with %s to ", r->spi, satype_names[r->satype2]);
		print_addr(f, &r->dst2);
		fprintf(f, " spi 0x%08x]\n", r->spi2);
	}
}
