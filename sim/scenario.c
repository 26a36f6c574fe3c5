/*
 * Scenario files: reading (comments, quoting, macros, include) and the
 * topology statements.  Actions (ping, udp) live in apps.c and expectations
 * in expect.c.  See docs/scenario-language.md for the language.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../pf/pf.h"
#include "../stack/addr.h"
#include "../stack/iface.h"
#include "../stack/node.h"
#include "../stack/route.h"
#include "../stack/sysctl.h"
#include "../stack/util.h"
#include "capture.h"
#include "keymgr.h"
#include "link.h"

#define SCN_MAX_INCLUDE_DEPTH 16
#define SCN_MAX_LINE          4096

struct macro {
	char *name, *value;
	bool from_cmdline;
};

struct reader {
	struct scenario *sc;
	struct macro *macros;
	unsigned nmacros;
	int depth;
	bool failed;
};

void scn_error(struct scenario *sc, const struct scn_stmt *st, const char *fmt, ...)
{
	va_list ap;
	fprintf(sc->err, "%s:%u: ", st->file, st->line);
	va_start(ap, fmt);
	vfprintf(sc->err, fmt, ap);
	va_end(ap);
	fputc('\n', sc->err);
}

/* ---- value parsers ---- */

int scn_parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	/* Decimal, or hex with 0x; never octal, so "010" is ten. */
	int base = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10;
	const char *digits = base == 16 ? s + 2 : s;
	char *end;
	if (!isxdigit((unsigned char)*digits) || (base == 10 && !isdigit((unsigned char)*digits)))
		return -1;
	errno = 0;
	unsigned long long x = strtoull(digits, &end, base);
	if (errno || *end || x > max)
		return -1;
	*v = x;
	return 0;
}

/* A decimal number with up to `scale_digits` fractional digits, times
 * 10^scale_digits, followed by a unit suffix returned in *unit. */
static int parse_fixed(const char *s, unsigned scale_digits, uint64_t *v, const char **unit)
{
	uint64_t whole = 0, frac = 0;
	unsigned nfrac = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
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
	if (whole > UINT64_MAX / scale)
		return -1;
	*v = whole * scale + frac;
	*unit = p;
	return 0;
}

int scn_parse_time(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t mul; /* ns per unit, the value parsed in 10^-9 units */
	} units[] = {{"s", 1000000000}, {"ms", 1000000}, {"us", 1000}, {"ns", 1}};
	uint64_t v;
	const char *unit;
	if (parse_fixed(s, 9, &v, &unit) < 0)
		return -1;
	if (*unit == '\0')
		return v == 0 ? (*ns = 0, 0) : -1; /* a bare number must be 0 */
	for (size_t i = 0; i < ARRAY_LEN(units); i++)
		if (strcmp(unit, units[i].unit) == 0) {
			/* v is units * 10^9; the result is v * mul / 10^9. */
			uint64_t whole = v / NS_PER_SEC, frac = v % NS_PER_SEC;
			if (whole > UINT64_MAX / units[i].mul)
				return -1;
			uint64_t r = whole * units[i].mul;
			uint64_t f = frac * units[i].mul;
			if (f % NS_PER_SEC)
				return -1; /* finer than a nanosecond */
			*ns = r + f / NS_PER_SEC;
			return 0;
		}
	return -1;
}

int scn_parse_percent(const char *s, uint32_t *ppb)
{
	uint64_t v;
	const char *unit;
	/* 7 fractional digits of a percent are exactly parts per billion. */
	if (parse_fixed(s, 7, &v, &unit) < 0 || strcmp(unit, "%") != 0 || v > RNG_PPB_ONE)
		return -1;
	*ppb = (uint32_t)v;
	return 0;
}

int scn_parse_rate(const char *s, uint64_t *bps)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {{"bit", 1}, {"kbit", 1000}, {"Mbit", 1000000}, {"Gbit", 1000000000}};
	uint64_t v;
	const char *unit;
	if (parse_fixed(s, 3, &v, &unit) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_LEN(units); i++)
		if (strcmp(unit, units[i].unit) == 0) {
			if (v > UINT64_MAX / units[i].mul)
				return -1;
			*bps = v * units[i].mul / 1000;
			return *bps ? 0 : -1;
		}
	return -1;
}

/* ---- reading: lines, macros, include ---- */

static const char *macro_get(struct reader *r, const char *name, size_t len)
{
	for (unsigned i = 0; i < r->nmacros; i++)
		if (strlen(r->macros[i].name) == len && strncmp(r->macros[i].name, name, len) == 0)
			return r->macros[i].value;
	return NULL;
}

static void macro_set(struct reader *r, const char *name, const char *value, bool cmdline)
{
	for (unsigned i = 0; i < r->nmacros; i++)
		if (strcmp(r->macros[i].name, name) == 0) {
			if (r->macros[i].from_cmdline && !cmdline)
				return; /* -D wins over the file, as in ipsecctl */
			free(r->macros[i].value);
			r->macros[i].value = xstrdup(value);
			return;
		}
	r->macros = xrealloc(r->macros, (r->nmacros + 1) * sizeof(*r->macros));
	r->macros[r->nmacros++] = (struct macro){xstrdup(name), xstrdup(value), cmdline};
}

static bool is_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static bool is_ident(int c)
{
	return isalnum(c) || c == '_';
}

/* Expand $NAME and ${NAME} into out; -1 (with a message) when undefined. */
static int expand(struct reader *r, const struct scn_stmt *at, const char *in, char *out,
		  size_t cap)
{
	size_t o = 0;
	for (const char *p = in; *p;) {
		if (*p == '$') {
			const char *name = p + 1;
			size_t len = 0;
			bool braced = *name == '{';
			if (braced)
				name++;
			while (is_ident((unsigned char)name[len]))
				len++;
			if (len == 0 || !is_ident_start((unsigned char)name[0]) ||
			    (braced && name[len] != '}')) {
				scn_error(r->sc, at, "bad macro reference");
				return -1;
			}
			const char *v = macro_get(r, name, len);
			if (!v) {
				scn_error(r->sc, at, "macro '%.*s' not defined", (int)len, name);
				return -1;
			}
			size_t vl = strlen(v);
			if (o + vl >= cap) {
				scn_error(r->sc, at, "line too long after macro expansion");
				return -1;
			}
			memcpy(out + o, v, vl);
			o += vl;
			p = name + len + (braced ? 1 : 0);
			continue;
		}
		if (o + 1 >= cap) {
			scn_error(r->sc, at, "line too long");
			return -1;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
	return 0;
}

/* Split into words: blanks separate, "..." quotes (with \" and \\), # starts
 * a comment outside quotes.  Returns the count or -1 on an open quote. */
static int tokenize(char *line, char ***toks)
{
	char **v = NULL;
	int n = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			break;
		char *w = p, *o = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '#') {
			if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					*o++ = *p++;
				}
				if (*p != '"') {
					for (int k = 0; k < n; k++)
						free(v[k]);
					free(v);
					return -1;
				}
				p++;
			} else {
				*o++ = *p++;
			}
		}
		char end = *p;
		*o = '\0';
		v = xrealloc(v, (size_t)(n + 1) * sizeof(*v));
		v[n++] = xstrdup(w);
		if (end == '#' || !end)
			break;
		p++;
	}
	*toks = v;
	return n;
}

static int read_file(struct reader *r, const char *path, const struct scn_stmt *from);

/* A macro definition is IDENT=VALUE or IDENT = VALUE at the start of a line. */
static bool is_macro_def(const char *line, const char **eq)
{
	const char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!is_ident_start((unsigned char)*p))
		return false;
	while (is_ident((unsigned char)*p))
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=')
		return false;
	*eq = p;
	return true;
}

static int read_line(struct reader *r, char *raw, const struct scn_stmt *where)
{
	struct scenario *sc = r->sc;
	char buf[SCN_MAX_LINE * 2];
	const char *eq;
	char **tok;

	if (is_macro_def(raw, &eq)) {
		const char *p = raw;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t nlen = 0;
		while (is_ident((unsigned char)p[nlen]))
			nlen++;
		char name[128];
		if (nlen >= sizeof(name)) {
			scn_error(sc, where, "macro name too long");
			return -1;
		}
		memcpy(name, p, nlen);
		name[nlen] = '\0';
		if (expand(r, where, eq + 1, buf, sizeof(buf)) < 0)
			return -1;
		int n = tokenize(buf, &tok);
		if (n < 0) {
			scn_error(sc, where, "unterminated quote");
			return -1;
		}
		if (n != 1) {
			scn_error(sc, where, "macro %s needs exactly one value (quote it)", name);
			for (int i = 0; i < n; i++)
				free(tok[i]);
			free(tok);
			return -1;
		}
		macro_set(r, name, tok[0], false);
		free(tok[0]);
		free(tok);
		return 0;
	}
	if (expand(r, where, raw, buf, sizeof(buf)) < 0)
		return -1;
	int n = tokenize(buf, &tok);
	if (n < 0) {
		scn_error(sc, where, "unterminated quote");
		return -1;
	}
	if (n == 0) {
		free(tok);
		return 0;
	}
	if (strcmp(tok[0], "include") == 0) {
		int rc;
		if (n != 2) {
			scn_error(sc, where, "usage: include FILE");
			rc = -1;
		} else {
			char path[4096];
			const char *slash = strrchr(where->file, '/');
			if (tok[1][0] == '/' || !slash)
				snprintf(path, sizeof(path), "%s", tok[1]);
			else
				snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - where->file),
					 where->file, tok[1]);
			rc = read_file(r, path, where);
		}
		for (int i = 0; i < n; i++)
			free(tok[i]);
		free(tok);
		return rc;
	}
	sc->stmts = xrealloc(sc->stmts, (sc->nstmts + 1) * sizeof(*sc->stmts));
	sc->stmts[sc->nstmts++] = (struct scn_stmt){
	    .file = where->file, .line = where->line, .tok = tok, .ntok = (unsigned)n};
	return 0;
}

/* An ipsec statement's configuration sees the scenario's macros as they
 * stand at the statement, not as later lines change them. */
static void snapshot_macros(struct reader *r, struct scn_stmt *st)
{
	st->defs = xcalloc(r->nmacros ? r->nmacros : 1, sizeof(*st->defs));
	for (unsigned i = 0; i < r->nmacros; i++)
		st->defs[i] =
		    (struct scn_define){xstrdup(r->macros[i].name), xstrdup(r->macros[i].value)};
	st->ndefs = r->nmacros;
}

/* `ipsec NODE {` and `pf NODE {`: the statement takes the lines up to a
 * lone `}`. */
static bool is_block_opener(const struct scn_stmt *st)
{
	return st->ntok >= 2 &&
	       (strcmp(st->tok[0], "ipsec") == 0 || strcmp(st->tok[0], "pf") == 0) &&
	       strcmp(st->tok[st->ntok - 1], "{") == 0;
}

/* Read a block's lines as they are: they belong to another language (an
 * ipsec.conf), which has its own macros, quoting and continuations.  The
 * scenario's macros in force here go with it. */
static int read_block(struct reader *r, FILE *f, struct scn_stmt *st, unsigned *lineno)
{
	char line[SCN_MAX_LINE];
	size_t cap = 1024, len = 0;
	char *body = xmalloc(cap);
	body[0] = '\0';
	st->body_line = *lineno + 1;
	while (fgets(line, sizeof(line), f)) {
		(*lineno)++;
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (p[0] == '}' && strspn(p + 1, " \t\r\n") == strlen(p + 1)) {
			st->body = body;
			return 0;
		}
		size_t n = strlen(line);
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			body = xrealloc(body, cap);
		}
		memcpy(body + len, line, n + 1);
		len += n;
	}
	free(body);
	scn_error(r->sc, st, "%s block is never closed: a line holding only '}' ends it",
		  st->tok[0]);
	return -1;
}

static int read_file(struct reader *r, const char *path, const struct scn_stmt *from)
{
	struct scenario *sc = r->sc;
	if (r->depth >= SCN_MAX_INCLUDE_DEPTH) {
		scn_error(sc, from, "includes nested too deeply (a loop?)");
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		if (from)
			scn_error(sc, from, "cannot open %s: %s", path, strerror(errno));
		else
			fprintf(sc->err, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	sc->files = xrealloc(sc->files, (sc->nfiles + 1) * sizeof(*sc->files));
	char *fname = sc->files[sc->nfiles++] = xstrdup(path);
	r->depth++;

	char line[SCN_MAX_LINE], joined[SCN_MAX_LINE];
	size_t jlen = 0;
	unsigned lineno = 0, start = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t len = strlen(line);
		struct scn_stmt where = {.file = fname, .line = lineno};
		if (len && line[len - 1] != '\n' && !feof(f)) {
			scn_error(sc, &where, "line longer than %d bytes", SCN_MAX_LINE - 2);
			rc = -1;
			break;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (jlen == 0)
			start = lineno;
		/* A backslash at the end continues the statement on the next line. */
		bool cont = len && line[len - 1] == '\\';
		if (cont)
			line[--len] = ' ';
		if (jlen + len + 1 >= sizeof(joined)) {
			scn_error(sc, &where, "statement too long");
			rc = -1;
			break;
		}
		memcpy(joined + jlen, line, len);
		jlen += len;
		joined[jlen] = '\0';
		if (cont)
			continue;
		where.line = start;
		unsigned before = sc->nstmts;
		if (read_line(r, joined, &where) < 0)
			r->failed = true; /* keep going: report every error in one pass */
		jlen = 0;
		/* This line's statement; not the last one of a file it included,
		 * whose block (if it opened one) that file held. */
		struct scn_stmt *added = sc->nstmts > before ? &sc->stmts[sc->nstmts - 1] : NULL;
		if (added && added->file != fname)
			added = NULL;
		if (added && strcmp(added->tok[0], "ipsec") == 0)
			snapshot_macros(r, added);
		if (added && is_block_opener(added) && read_block(r, f, added, &lineno) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && jlen) {
		struct scn_stmt where = {.file = fname, .line = start};
		if (read_line(r, joined, &where) < 0)
			r->failed = true;
	}
	fclose(f);
	r->depth--;
	return rc;
}

/* ---- topology statements ---- */

static struct node *need_node(struct scenario *sc, const struct scn_stmt *st, const char *name)
{
	struct node *n = sim_find_node(sc->sim, name);
	if (!n)
		scn_error(sc, st, "unknown node '%s'", name);
	return n;
}

static int stmt_node(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok < 2) {
		scn_error(sc, st, "usage: node NAME [NAME ...]");
		return -1;
	}
	for (unsigned i = 1; i < st->ntok; i++) {
		const char *name = st->tok[i];
		for (const char *p = name; *p; p++)
			if (!is_ident((unsigned char)*p) && *p != '-') {
				scn_error(sc, st, "bad node name '%s'", name);
				return -1;
			}
		if (sim_find_node(sc->sim, name) || sim_find_link(sc->sim, name)) {
			scn_error(sc, st, "'%s' is already defined", name);
			return -1;
		}
		sim_add_node(sc->sim, name);
	}
	return 0;
}

static bool is_link_param(const char *w)
{
	static const char *const words[] = {"delay",     "jitter",  "rate",    "queue", "loss",
					    "duplicate", "reorder", "corrupt", "mtu"};
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (strcmp(w, words[i]) == 0)
			return true;
	return false;
}

/* NODE, NODE.IFACE or NODE[.IFACE]=ADDR with NODE declared (or malformed in
 * a way parse_endpoint will name). */
static bool looks_like_endpoint(struct scenario *sc, const char *w)
{
	char buf[128];
	size_t n = strcspn(w, ".=");
	if (w[n] == '.' || w[n] == '=')
		return true;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, w, n);
	buf[n] = '\0';
	return sim_find_node(sc->sim, buf) != NULL;
}

/* Parse impairment words from tok[i..]; returns 0 or -1. */
static int parse_params(struct scenario *sc, const struct scn_stmt *st, unsigned i,
			struct link_params *p, bool *mtu_set)
{
	*mtu_set = false;
	while (i < st->ntok) {
		const char *k = st->tok[i];
		const char *v = i + 1 < st->ntok ? st->tok[i + 1] : NULL;
		uint64_t u;
		int bad = 0;
		if (!v) {
			scn_error(sc, st, "'%s' needs a value", k);
			return -1;
		}
		if (strcmp(k, "delay") == 0)
			bad = scn_parse_time(v, &p->delay);
		else if (strcmp(k, "jitter") == 0)
			bad = scn_parse_time(v, &p->jitter);
		else if (strcmp(k, "rate") == 0)
			bad = scn_parse_rate(v, &p->rate);
		else if (strcmp(k, "queue") == 0) {
			bad = scn_parse_uint(v, 1000000, &u);
			p->queue = (uint32_t)u;
			if (!bad && u == 0)
				bad = -1;
		} else if (strcmp(k, "loss") == 0)
			bad = scn_parse_percent(v, &p->loss);
		else if (strcmp(k, "duplicate") == 0)
			bad = scn_parse_percent(v, &p->duplicate);
		else if (strcmp(k, "corrupt") == 0)
			bad = scn_parse_percent(v, &p->corrupt);
		else if (strcmp(k, "reorder") == 0) {
			bad = scn_parse_percent(v, &p->reorder);
			if (!bad && i + 2 < st->ntok && strcmp(st->tok[i + 2], "gap") == 0) {
				if (i + 3 >= st->ntok ||
				    scn_parse_time(st->tok[i + 3], &p->reorder_gap) < 0) {
					scn_error(sc, st, "reorder gap needs a time such as 2ms");
					return -1;
				}
				i += 2;
			}
		} else if (strcmp(k, "mtu") == 0) {
			bad = scn_parse_uint(v, 65535, &u);
			if (!bad && u < 68)
				bad = -1; /* RFC 791: every link carries 68 bytes */
			p->mtu = (uint32_t)u;
			*mtu_set = true;
		} else {
			scn_error(sc, st, "unknown link parameter '%s'", k);
			return -1;
		}
		if (bad) {
			scn_error(sc, st, "bad value '%s' for %s", v, k);
			return -1;
		}
		i += 2;
	}
	return 0;
}

/* An endpoint NODE[.IFACE][=ADDR/PLEN[,ADDR/PLEN]...]: creates the
 * interface, with IPv4 and IPv6 addresses. */
static struct iface *parse_endpoint(struct scenario *sc, const struct scn_stmt *st,
				    const char *word)
{
	char buf[256], *addr = NULL, *ifname = NULL;
	snprintf(buf, sizeof(buf), "%s", word);
	char *eq = strchr(buf, '=');
	if (eq) {
		*eq = '\0';
		addr = eq + 1;
	}
	char *dot = strchr(buf, '.');
	if (dot) {
		*dot = '\0';
		ifname = dot + 1;
	}
	struct node *n = need_node(sc, st, buf);
	if (!n)
		return NULL;
	char defname[IFACE_NAME_MAX];
	if (!ifname || !*ifname) {
		snprintf(defname, sizeof(defname), "eth%u", n->nifaces);
		ifname = defname;
	}
	if (strlen(ifname) >= IFACE_NAME_MAX) {
		scn_error(sc, st, "interface name '%s' too long", ifname);
		return NULL;
	}
	if (node_iface(n, ifname)) {
		scn_error(sc, st, "%s.%s is already attached", n->name, ifname);
		return NULL;
	}
	struct ipaddr a[IFACE_MAX_ADDRS];
	unsigned plen[IFACE_MAX_ADDRS], na = 0;
	char *save = NULL;
	for (char *w = addr ? strtok_r(addr, ",", &save) : NULL; w;
	     w = strtok_r(NULL, ",", &save)) {
		if (na == IFACE_MAX_ADDRS) {
			scn_error(sc, st, "at most %d addresses on an interface", IFACE_MAX_ADDRS);
			return NULL;
		}
		if (addr_parse_prefix(w, &a[na], &plen[na]) < 0 || addr_is_multicast(&a[na]) ||
		    addr_is_unspec(&a[na])) {
			scn_error(sc, st, "bad address '%s' (want ADDR/LEN, IPv4 or IPv6)", w);
			return NULL;
		}
		bool dup = node_owns_addr(n, &a[na]) != NULL;
		for (unsigned k = 0; k < na; k++)
			dup |= addr_eq(&a[k], &a[na]);
		if (dup) {
			scn_error(sc, st, "node %s already has address %s", n->name, w);
			return NULL;
		}
		na++;
	}
	if (addr && !na) {
		scn_error(sc, st, "no address after '=' in '%s'", word);
		return NULL;
	}
	struct iface *ifp = iface_new(n, ifname);
	for (unsigned k = 0; k < na; k++)
		iface_add_addr(ifp, &a[k], plen[k]);
	return ifp;
}

static int stmt_link(struct scenario *sc, const struct scn_stmt *st)
{
	bool is_switch = strcmp(st->tok[0], "switch") == 0;
	if (st->ntok < (is_switch ? 3u : 4u)) {
		scn_error(sc, st,
			  is_switch ? "usage: switch NAME ENDPOINT ... [PARAMS]"
				    : "usage: link NAME ENDPOINT ENDPOINT [PARAMS]");
		return -1;
	}
	const char *name = st->tok[1];
	if (sim_find_node(sc->sim, name) || sim_find_link(sc->sim, name)) {
		scn_error(sc, st, "'%s' is already defined", name);
		return -1;
	}
	/* Endpoints are the words before the first parameter keyword. */
	unsigned first = 2, i = 2;
	while (i < st->ntok && !is_link_param(st->tok[i]) && looks_like_endpoint(sc, st->tok[i]))
		i++;
	unsigned nends = i - first;
	if (!is_switch && nends != 2) {
		scn_error(sc, st, "a link has two endpoints, got %u", nends);
		return -1;
	}
	if (is_switch && nends < 1) {
		scn_error(sc, st, "a switch needs at least one endpoint");
		return -1;
	}
	struct link_params p = link_params_default;
	bool mtu_set;
	if (parse_params(sc, st, i, &p, &mtu_set) < 0)
		return -1;
	struct link *l = link_new(sc->sim, name, is_switch);
	for (unsigned e = first; e < first + nends; e++) {
		struct iface *ifp = parse_endpoint(sc, st, st->tok[e]);
		if (!ifp)
			return -1;
		if (mtu_set)
			ifp->mtu = p.mtu;
		link_attach(l, ifp, &p);
	}
	return 0;
}

/* impair LINK [from NODE[.IFACE]] PARAMS: change one direction or all. */
static int stmt_impair(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok < 4) {
		scn_error(sc, st, "usage: impair LINK [from NODE[.IFACE]] PARAM VALUE ...");
		return -1;
	}
	struct link *l = sim_find_link(sc->sim, st->tok[1]);
	if (!l) {
		scn_error(sc, st, "unknown link '%s'", st->tok[1]);
		return -1;
	}
	unsigned i = 2;
	struct link_port *only = NULL;
	if (strcmp(st->tok[2], "from") == 0) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", st->tok[3]);
		char *dot = strchr(buf, '.');
		if (dot)
			*dot = '\0';
		for (unsigned k = 0; k < l->nports; k++) {
			struct iface *ifp = l->ports[k].ifp;
			if (strcmp(ifp->node->name, buf) == 0 &&
			    (!dot || strcmp(ifp->name, dot + 1) == 0)) {
				if (only) {
					scn_error(sc, st,
						  "%s has several ports on %s; name the interface",
						  buf, l->name);
					return -1;
				}
				only = &l->ports[k];
			}
		}
		if (!only) {
			scn_error(sc, st, "%s is not attached to %s", st->tok[3], l->name);
			return -1;
		}
		i = 4;
	}
	for (unsigned k = 0; k < l->nports; k++) {
		struct link_port *port = &l->ports[k];
		if (only && port != only)
			continue;
		bool mtu_set;
		if (parse_params(sc, st, i, &port->p, &mtu_set) < 0)
			return -1;
		if (mtu_set)
			port->ifp->mtu = port->p.mtu;
	}
	return 0;
}

/* route NODE DEST|default via GATEWAY */
static int stmt_route(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok != 5 || strcmp(st->tok[3], "via") != 0) {
		scn_error(sc, st, "usage: route NODE PREFIX|default via GATEWAY");
		return -1;
	}
	struct node *n = need_node(sc, st, st->tok[1]);
	if (!n)
		return -1;
	struct route r = {0};
	if (addr_parse(st->tok[4], &r.gw) < 0) {
		scn_error(sc, st, "bad gateway address '%s'", st->tok[4]);
		return -1;
	}
	if (strcmp(st->tok[2], "default") == 0) {
		r.dst.af = r.gw.af; /* the family of the gateway */
		r.plen = 0;
	} else if (addr_parse_prefix(st->tok[2], &r.dst, &r.plen) < 0) {
		scn_error(sc, st, "bad prefix '%s'", st->tok[2]);
		return -1;
	} else if (r.dst.af != r.gw.af) {
		scn_error(sc, st, "prefix %s and gateway %s are of different families", st->tok[2],
			  st->tok[4]);
		return -1;
	}
	const struct route *via = route_lookup(&n->rt, &r.gw);
	if (!via || via->gw.af != ADDR_NONE) {
		scn_error(sc, st, "gateway %s is not on a network of %s", st->tok[4], n->name);
		return -1;
	}
	r.ifp = via->ifp;
	if (route_add(&n->rt, &r) < 0) {
		scn_error(sc, st, "%s already has a route to %s", n->name, st->tok[2]);
		return -1;
	}
	return 0;
}

/* sysctl NODE NAME=VALUE (also NAME VALUE), from tok[i]: resolved, not applied. */
static int parse_sysctl(struct scenario *sc, const struct scn_stmt *st, unsigned i, struct node **n,
			int *id, int64_t *value)
{
	char name[128];
	const char *v;
	if (st->ntok - i == 2 && strchr(st->tok[i + 1], '=')) {
		const char *eq = strchr(st->tok[i + 1], '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - st->tok[i + 1]), st->tok[i + 1]);
		v = eq + 1;
	} else if (st->ntok - i == 3) {
		snprintf(name, sizeof(name), "%s", st->tok[i + 1]);
		v = st->tok[i + 2];
	} else {
		scn_error(sc, st, "usage: sysctl NODE NAME=VALUE");
		return -1;
	}
	*n = need_node(sc, st, st->tok[i]);
	if (!*n)
		return -1;
	const char *err;
	if (sysctl_parse(name, v, id, value, &err) < 0) {
		scn_error(sc, st, "%s: %s", name, err);
		return -1;
	}
	if (*id == SYSCTL_ESP_UDPENCAP_KEEPALIVE && *value && !sc->has_end) {
		/* keepalives go on for ever: the run would never fall idle */
		scn_error(sc, st, "a scenario whose nodes send NAT keepalives needs an 'end TIME'");
		return -1;
	}
	return 0;
}

void scn_add_written(struct scenario *sc, const char *path)
{
	sc->written = xrealloc(sc->written, (sc->nwritten + 1) * sizeof(*sc->written));
	sc->written[sc->nwritten++] = xstrdup(path);
}

/* Paths a run writes are relative to the output directory. */
void scn_out_path(struct scenario *sc, const char *name, char *out, size_t cap)
{
	if (name[0] == '/')
		snprintf(out, cap, "%s", name);
	else
		snprintf(out, cap, "%s/%s", sc->outdir, name);
}

/* Open a capture file the scenario writes; NULL after an error. */
static struct capture *open_capture(struct scenario *sc, const struct scn_stmt *st, int linktype)
{
	char path[4096], err[256];
	scn_out_path(sc, st->tok[2], path, sizeof(path));
	for (unsigned i = 0; i < sc->nwritten; i++)
		if (strcmp(sc->written[i], path) == 0) {
			scn_error(sc, st, "%s is already written by this scenario", path);
			return NULL;
		}
	struct capture *c = capture_open(path, linktype, err, sizeof(err));
	if (!c) {
		scn_error(sc, st, "cannot write %s: %s", path, err);
		return NULL;
	}
	struct sim *s = sc->sim;
	s->caps = xrealloc(s->caps, (s->ncaps + 1) * sizeof(*s->caps));
	s->caps[s->ncaps++] = c;
	scn_add_written(sc, path);
	return c;
}

/* capture NODE.enc0 FILE: what IPsec sees in the clear, as LINKTYPE_ENC. */
static int capture_enc0(struct scenario *sc, const struct scn_stmt *st, struct node *n)
{
	struct capture *c = open_capture(sc, st, LINKTYPE_ENC);
	if (!c)
		return -1;
	n->enccaps = xrealloc(n->enccaps, (n->nenccaps + 1) * sizeof(*n->enccaps));
	n->enccaps[n->nenccaps++] = c;
	return 0;
}

/* capture LINK FILE | NODE.IFACE FILE | NODE.enc0 FILE | NODE.pflog0 FILE */
static int stmt_capture(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok != 3) {
		scn_error(sc, st, "usage: capture LINK|NODE.IFACE|NODE.enc0|NODE.pflog0 FILE");
		return -1;
	}
	struct link *l = sim_find_link(sc->sim, st->tok[1]);
	struct iface *ifp = NULL;
	if (!l) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", st->tok[1]);
		char *dot = strchr(buf, '.');
		if (!dot) {
			scn_error(sc, st, "unknown link '%s' (an interface is NODE.IFACE)", buf);
			return -1;
		}
		*dot = '\0';
		struct node *n = need_node(sc, st, buf);
		if (!n)
			return -1;
		if (strcmp(dot + 1, "enc0") == 0)
			return capture_enc0(sc, st, n);
		if (strcmp(dot + 1, "pflog0") == 0) {
			struct capture *c = open_capture(sc, st, LINKTYPE_PFLOG);
			if (!c)
				return -1;
			pf_add_pflog(n, c);
			return 0;
		}
		ifp = node_iface(n, dot + 1);
		if (!ifp) {
			scn_error(sc, st, "node %s has no interface %s", buf, dot + 1);
			return -1;
		}
	}
	struct capture *c = open_capture(sc, st, LINKTYPE_ETHERNET);
	if (!c)
		return -1;
	if (l) {
		l->caps = xrealloc(l->caps, (l->ncaps + 1) * sizeof(*l->caps));
		l->caps[l->ncaps++] = c;
	} else {
		ifp->caps = xrealloc(ifp->caps, (ifp->ncaps + 1) * sizeof(*ifp->caps));
		ifp->caps[ifp->ncaps++] = c;
	}
	return 0;
}

/* ---- timed actions ---- */

struct scn_sysctl_ev {
	struct node *n;
	int id;
	int64_t value;
};

static void sysctl_ev(struct sim *s, void *arg)
{
	struct scn_sysctl_ev *e = arg;
	(void)s;
	e->n->sysctl[e->id] = e->value;
	const char *word = sysctl_value_name((enum sysctl_id)e->id, e->value);
	if (word)
		node_trace(e->n, "sysctl %s=%s", sysctl_name((enum sysctl_id)e->id), word);
	else
		node_trace(e->n, "sysctl %s=%lld", sysctl_name((enum sysctl_id)e->id),
			   (long long)e->value);
	free(e);
}

/* The end statement's time as written, for messages. */
static const char *scn_end_word(const struct scenario *sc)
{
	for (unsigned i = sc->nstmts; i-- > 0;)
		if (strcmp(sc->stmts[i].tok[0], "end") == 0 && sc->stmts[i].ntok == 2)
			return sc->stmts[i].tok[1];
	return "?";
}

static int stmt_at(struct scenario *sc, const struct scn_stmt *st)
{
	uint64_t at;
	if (st->ntok < 3 || scn_parse_time(st->tok[1], &at) < 0) {
		scn_error(sc, st, "usage: at TIME ACTION ... (TIME such as 1.5s or 250ms)");
		return -1;
	}
	if (sc->has_end && at > sc->end) {
		scn_error(sc, st, "%s is after the end of the run (end %s)", st->tok[1],
			  scn_end_word(sc));
		return -1;
	}
	const char *what = st->tok[2];
	if (strcmp(what, "ping") == 0)
		return scn_action_ping(sc, st, 3, at);
	if (strcmp(what, "udp") == 0)
		return scn_action_udp(sc, st, 3, at);
	if (strcmp(what, "tcp") == 0)
		return scn_action_tcp(sc, st, 3, at);
	if (strcmp(what, "expect") == 0)
		return scn_stmt_expect(sc, st, 3, true, at);
	if (strcmp(what, "show") == 0)
		return scn_stmt_show(sc, st, 3, true, at);
	if (strcmp(what, "pfkey") == 0)
		return scn_stmt_pfkey(sc, st, 3, true, at);
	if (strcmp(what, "replay") == 0)
		return scn_action_replay(sc, st, 3, at);
	if (strcmp(what, "inject") == 0)
		return scn_action_inject(sc, st, 3, at);
	if (strcmp(what, "advertise") == 0)
		return scn_action_advertise(sc, st, 3, at);
	if (strcmp(what, "sysctl") == 0) {
		struct scn_sysctl_ev *e = xmalloc(sizeof(*e));
		if (parse_sysctl(sc, st, 3, &e->n, &e->id, &e->value) < 0) {
			free(e);
			return -1;
		}
		sim_at(sc->sim, at, sysctl_ev, free, e);
		return 0;
	}
	scn_error(sc, st,
		  "unknown action '%s' (ping, udp, tcp, expect, show, pfkey, replay, inject, "
		  "sysctl, advertise)",
		  what);
	return -1;
}

/* ---- building ---- */

static int stmt_noop(struct scenario *sc, const struct scn_stmt *st)
{
	(void)sc;
	(void)st;
	return 0; /* handled before the build: name, seed, end */
}

static int stmt_sysctl(struct scenario *sc, const struct scn_stmt *st)
{
	struct node *n;
	int id;
	int64_t v;
	if (parse_sysctl(sc, st, 1, &n, &id, &v) < 0)
		return -1;
	n->sysctl[id] = v;
	return 0;
}

static int stmt_expect(struct scenario *sc, const struct scn_stmt *st)
{
	return scn_stmt_expect(sc, st, 1, false, 0);
}

static int stmt_show(struct scenario *sc, const struct scn_stmt *st)
{
	return scn_stmt_show(sc, st, 1, false, 0);
}

static int stmt_pfkey(struct scenario *sc, const struct scn_stmt *st)
{
	return scn_stmt_pfkey(sc, st, 1, false, 0);
}

static const struct {
	const char *word;
	int (*fn)(struct scenario *sc, const struct scn_stmt *st);
} scn_statements[] = {
    {"name", stmt_noop},         {"seed", stmt_noop},         {"end", stmt_noop},
    {"node", stmt_node},         {"link", stmt_link},         {"switch", stmt_link},
    {"impair", stmt_impair},     {"route", stmt_route},       {"sysctl", stmt_sysctl},
    {"capture", stmt_capture},   {"listen", scn_stmt_listen}, {"at", stmt_at},
    {"expect", stmt_expect},     {"ipsec", scn_stmt_ipsec},   {"show", stmt_show},
    {"pfkey", stmt_pfkey},       {"drop", scn_stmt_drop},     {"tamper", scn_stmt_tamper},
    {"keymgr", scn_stmt_keymgr}, {"pf", scn_stmt_pf},
};

/* name, seed and end shape the build, so they are read first. */
static int scn_prescan(struct scenario *sc, const struct scn_options *opts)
{
	int rc = 0;
	bool seed_seen = false;
	for (unsigned i = 0; i < sc->nstmts; i++) {
		const struct scn_stmt *st = &sc->stmts[i];
		const char *w = st->tok[0];
		if (strcmp(w, "name") == 0) {
			if (st->ntok != 2) {
				scn_error(sc, st, "usage: name NAME");
				rc = -1;
				continue;
			}
			for (const char *p = st->tok[1]; *p; p++)
				if (!is_ident((unsigned char)*p) && *p != '-' && *p != '.') {
					scn_error(sc, st,
						  "a scenario name is letters, digits, - _ .");
					rc = -1;
					break;
				}
			free(sc->name);
			sc->name = xstrdup(st->tok[1]);
		} else if (strcmp(w, "seed") == 0) {
			if (st->ntok != 2 ||
			    scn_parse_uint(st->tok[1], UINT64_MAX, &sc->seed) < 0) {
				scn_error(sc, st, "usage: seed NUMBER");
				rc = -1;
			} else if (seed_seen) {
				scn_error(sc, st, "seed given twice");
				rc = -1;
			}
			seed_seen = true;
		} else if (strcmp(w, "end") == 0) {
			if (st->ntok != 2 || scn_parse_time(st->tok[1], &sc->end) < 0) {
				scn_error(sc, st, "usage: end TIME (such as 10s)");
				rc = -1;
			} else if (sc->has_end) {
				scn_error(sc, st, "end given twice");
				rc = -1;
			}
			sc->has_end = true;
		}
	}
	if (opts->seed_set)
		sc->seed = opts->seed;
	return rc;
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0777) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(buf, 0777) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

struct scenario *scenario_load(const char *path, const struct scn_options *opts)
{
	struct scenario *sc = xcalloc(1, sizeof(*sc));
	struct reader r = {.sc = sc};
	sc->out = opts->out ? opts->out : stdout;
	sc->err = opts->err ? opts->err : stderr;
	sc->path = xstrdup(path);

	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t blen = strlen(base);
	if (blen > 4 && strcmp(base + blen - 4, ".scn") == 0)
		blen -= 4;
	sc->name = xmalloc(blen + 1);
	memcpy(sc->name, base, blen);
	sc->name[blen] = '\0';

	for (unsigned i = 0; i < opts->ndefines; i++)
		macro_set(&r, opts->defines[i].name, opts->defines[i].value, true);
	int rc = read_file(&r, path, NULL);
	for (unsigned i = 0; i < r.nmacros; i++) {
		free(r.macros[i].name);
		free(r.macros[i].value);
	}
	free(r.macros);
	if (rc < 0 || r.failed || scn_prescan(sc, opts) < 0) {
		scenario_free(sc);
		return NULL;
	}

	if (opts->outdir)
		sc->outdir = xstrdup(opts->outdir);
	else {
		sc->outdir = xmalloc(strlen(sc->name) + 5);
		sprintf(sc->outdir, "out/%s", sc->name);
	}
	if (mkdir_p(sc->outdir) < 0) {
		fprintf(sc->err, "%s: cannot create %s: %s\n", path, sc->outdir, strerror(errno));
		scenario_free(sc);
		return NULL;
	}
	char tpath[4096];
	scn_out_path(sc, "trace.log", tpath, sizeof(tpath));
	sc->trace = fopen(tpath, "w");
	if (!sc->trace) {
		fprintf(sc->err, "%s: cannot write %s: %s\n", path, tpath, strerror(errno));
		scenario_free(sc);
		return NULL;
	}
	scn_add_written(sc, tpath);

	sc->sim = sim_new(sc->seed);
	sc->sim->out = sc->out;
	sc->defines = opts->defines;
	sc->ndefines = opts->ndefines;
	sc->sim->trace = sc->trace;
	/* What statements print while the scenario is built (pfkey replies)
	 * waits for the run, after its banner. */
	FILE *out = sc->out;
	sc->out = sc->sim->out = open_memstream(&sc->built_out, &sc->built_len);
	scn_espsa_start(sc);
	bool failed = false;
	for (unsigned i = 0; i < sc->nstmts && !failed; i++) {
		const struct scn_stmt *st = &sc->stmts[i];
		size_t k;
		for (k = 0; k < ARRAY_LEN(scn_statements); k++)
			if (strcmp(st->tok[0], scn_statements[k].word) == 0)
				break;
		if (k == ARRAY_LEN(scn_statements)) {
			scn_error(sc, st, "unknown statement '%s'", st->tok[0]);
			failed = true;
		} else if (scn_statements[k].fn(sc, st) < 0) {
			failed = true;
		}
	}
	fclose(sc->out);
	sc->out = sc->sim->out = out;
	if (failed) {
		scenario_free(sc);
		return NULL;
	}
	return sc;
}

static void expect_ev(struct sim *s, void *arg);

struct scn_progress {
	struct scenario *sc;
	scn_progress_fn fn;
	void *arg;
};

static void scn_progress_hook(struct sim *s, uint64_t until, void *arg)
{
	struct scn_progress *p = arg;
	(void)until;
	p->fn(s->now, p->sc->end, p->sc->has_end, p->arg);
}

int scenario_run(struct scenario *sc, scn_progress_fn progress, void *arg)
{
	struct sim *s = sc->sim;
	char t[32];
	fprintf(sc->out, "scenario %s (seed %llu)\n", sc->name, (unsigned long long)sc->seed);
	if (sc->built_len)
		fwrite(sc->built_out, 1, sc->built_len, sc->out);
	for (unsigned i = 0; i < sc->nexpects; i++)
		if (sc->expects[i].timed)
			sim_at(s, sc->expects[i].at, expect_ev, NULL, &sc->expects[i]);
	struct scn_progress prog = {sc, progress, arg};
	sim_run(s, sc->has_end ? sc->end : UINT64_MAX, progress ? scn_progress_hook : NULL, &prog);
	scn_apps_finish(sc);
	scn_tcp_finish(sc);
	scn_show_finish(sc);
	scn_espsa_finish(sc);

	unsigned failed = 0;
	for (unsigned i = 0; i < sc->nexpects; i++) {
		struct scn_expect *e = &sc->expects[i];
		if (!e->timed)
			scn_expect_check(e, s->now);
		if (!e->held)
			failed++;
	}
	for (unsigned i = 0; i < sc->nexpects; i++) {
		struct scn_expect *e = &sc->expects[i];
		char buf[48];
		if (e->held)
			fprintf(sc->out, "ok   %s:%u: %s\n", e->file, e->line, e->text);
		else
			fprintf(sc->out, "FAIL %s:%u: %s: got %s\n", e->file, e->line, e->text,
				scn_expect_actual(e, buf));
	}
	fprintf(sc->out, "end at %s s: %u expectation%s, %u held, %u failed\n",
		sim_fmt_time(s->now, t), sc->nexpects, sc->nexpects == 1 ? "" : "s",
		sc->nexpects - failed, failed);
	fflush(sc->trace);
	return failed ? 1 : 0;
}

static void expect_ev(struct sim *s, void *arg)
{
	scn_expect_check(arg, s->now);
}

void scenario_print_stats(struct scenario *sc, FILE *f)
{
	struct sim *s = sc->sim;
	for (unsigned i = 0; i < s->nnodes; i++) {
		struct node *n = s->nodes[i];
		fprintf(f, "node %s\n", n->name);
		for (int k = 0; k < STAT__COUNT; k++)
			if (n->stats[k])
				fprintf(f, "  %-28s %llu\n", stat_name((enum stat_id)k),
					(unsigned long long)n->stats[k]);
	}
	for (unsigned i = 0; i < s->nlinks; i++) {
		struct link *l = s->links[i];
		fprintf(f, "link %s\n", l->name);
		for (int k = 0; k < LINK_STAT__COUNT; k++)
			if (l->stats[k])
				fprintf(f, "  %-28s %llu\n", link_stat_name((enum link_stat)k),
					(unsigned long long)l->stats[k]);
	}
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	scn_apps_free(sc);
	scn_tcp_free(sc);
	scn_shows_free(sc);
	scn_pfkey_free(sc);
	free(sc->built_out);
	for (unsigned i = 0; i < sc->nespsa; i++) {
		OPENSSL_cleanse(sc->espsa[i], strlen(sc->espsa[i])); /* keys */
		free(sc->espsa[i]);
	}
	free(sc->espsa);
	sim_free(sc->sim);
	km_world_free(sc->keymgrs); /* after the nodes: the sockets were theirs */
	if (sc->trace)
		fclose(sc->trace);
	for (unsigned i = 0; i < sc->nstmts; i++) {
		struct scn_stmt *st = &sc->stmts[i];
		for (unsigned k = 0; k < st->ntok; k++)
			free(st->tok[k]);
		free(st->tok);
		free(st->body);
		for (unsigned k = 0; k < st->ndefs; k++) {
			free((char *)st->defs[k].name);
			free((char *)st->defs[k].value);
		}
		free(st->defs);
	}
	for (unsigned i = 0; i < sc->nexpects; i++)
		free(sc->expects[i].text);
	for (unsigned i = 0; i < sc->nfiles; i++)
		free(sc->files[i]);
	for (unsigned i = 0; i < sc->nwritten; i++)
		free(sc->written[i]);
	free(sc->written);
	free(sc->files);
	free(sc->stmts);
	free(sc->expects);
	free(sc->name);
	free(sc->path);
	free(sc->outdir);
	free(sc);
}

int scenario_write_junit(struct scenario *sc, const char *name)
{
	char path[4096];
	scn_out_path(sc, name, path, sizeof(path));
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(sc->err, "cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	unsigned failed = 0;
	for (unsigned i = 0; i < sc->nexpects; i++)
		failed += !sc->expects[i].held;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites tests=\"%u\" failures=\"%u\">\n", sc->nexpects, failed);
	fprintf(f, "  <testsuite name=\"%s\" tests=\"%u\" failures=\"%u\" errors=\"0\">\n",
		sc->name, sc->nexpects, failed);
	for (unsigned i = 0; i < sc->nexpects; i++) {
		const struct scn_expect *e = &sc->expects[i];
		char buf[48];
		fprintf(f, "    <testcase classname=\"%s\" name=\"%s:%u: ", sc->name, e->file,
			e->line);
		for (const char *p = e->text; *p; p++) {
			switch (*p) {
			case '<': fputs("&lt;", f); break;
			case '>': fputs("&gt;", f); break;
			case '&': fputs("&amp;", f); break;
			case '"': fputs("&quot;", f); break;
			default: fputc(*p, f);
			}
		}
		if (e->held) {
			fputs("\"/>\n", f);
			continue;
		}
		fprintf(f, "\">\n      <failure message=\"got %s\"/>\n    </testcase>\n",
			scn_expect_actual(e, buf));
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	fclose(f);
	scn_add_written(sc, path);
	return 0;
}
