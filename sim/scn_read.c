/*
 * Reading scenario files (docs/scenario-language.md, "Lexical rules"): lines
 * and continuations, comments and quoting, macros and -D definitions,
 * include, and the blocks in other languages (ipsec.conf, pf.conf) that go
 * to their statements as they were written.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/util.h"

#define SCN_MAX_INCLUDE_DEPTH 16
#define SCN_MAX_LINE          4096
/* A statement joined from continued lines: a switch of thousands of
 * endpoints fits, a runaway continuation does not. */
#define SCN_MAX_STMT (1u << 20)

struct macro {
	char *name, *value;
	bool from_cmdline;
	uint32_t cmdline; /* the -D values it holds: its own bit, or those its
			   * definition used (bit i: the i'th -D, of 32) */
};

struct reader {
	struct scenario *sc;
	struct macro *macros;
	unsigned nmacros;
	int depth;
	bool failed;
	uint32_t cmdline_used; /* of the statement being read: -D values used */
};


static const char *macro_get(struct reader *r, const char *name, size_t len)
{
	for (unsigned i = 0; i < r->nmacros; i++)
		if (strlen(r->macros[i].name) == len && strncmp(r->macros[i].name, name, len) == 0) {
			r->cmdline_used |= r->macros[i].cmdline;
			return r->macros[i].value;
		}
	return NULL;
}

static void macro_set(struct reader *r, const char *name, const char *value, bool cmdline,
		      uint32_t mask)
{
	for (unsigned i = 0; i < r->nmacros; i++)
		if (strcmp(r->macros[i].name, name) == 0) {
			if (r->macros[i].from_cmdline && !cmdline)
				return; /* -D wins over the file, as in ipsecctl */
			free(r->macros[i].value);
			r->macros[i].value = xstrdup(value);
			r->macros[i].cmdline = mask;
			return;
		}
	r->macros = xgrow(r->macros, r->nmacros, sizeof(*r->macros));
	r->macros[r->nmacros++] = (struct macro){xstrdup(name), xstrdup(value), cmdline, mask};
}

static bool is_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

bool scn_is_ident(int c)
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
			while (scn_is_ident((unsigned char)name[len]))
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
		v = xgrow(v, (size_t)n, sizeof(*v));
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
	while (scn_is_ident((unsigned char)*p))
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=')
		return false;
	*eq = p;
	return true;
}

static int read_statement(struct reader *r, char *raw, const struct scn_stmt *where, char *buf,
			  size_t cap)
{
	struct scenario *sc = r->sc;
	const char *eq;
	char **tok;

	if (is_macro_def(raw, &eq)) {
		const char *p = raw;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t nlen = 0;
		while (scn_is_ident((unsigned char)p[nlen]))
			nlen++;
		char name[128];
		if (nlen >= sizeof(name)) {
			scn_error(sc, where, "macro name too long");
			return -1;
		}
		memcpy(name, p, nlen);
		name[nlen] = '\0';
		if (expand(r, where, eq + 1, buf, cap) < 0)
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
		macro_set(r, name, tok[0], false, r->cmdline_used);
		free(tok[0]);
		free(tok);
		return 0;
	}
	if (expand(r, where, raw, buf, cap) < 0)
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
	sc->stmts = xgrow(sc->stmts, sc->nstmts, sizeof(*sc->stmts));
	sc->stmts[sc->nstmts++] = (struct scn_stmt){.file = where->file,
						    .line = where->line,
						    .tok = tok,
						    .ntok = (unsigned)n,
						    .cmdline_used = r->cmdline_used};
	return 0;
}

/* One statement: macros expanded into a buffer of its size. */
static int read_line(struct reader *r, char *raw, const struct scn_stmt *where)
{
	r->cmdline_used = 0;
	/* room for macros to double the statement, and never less than a
	 * line's worth of growth */
	size_t cap = 2 * strlen(raw) + 2 * SCN_MAX_LINE;
	char *buf = xmalloc(cap);
	int rc = read_statement(r, raw, where, buf, cap);
	free(buf);
	return rc;
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

/* `ipsec NODE {`, `pf NODE {` and `ikev2 NODE {`: the statement takes the
 * lines up to a lone `}`. */
static bool is_block_opener(const struct scn_stmt *st)
{
	return st->ntok >= 2 &&
	       (strcmp(st->tok[0], "ipsec") == 0 || strcmp(st->tok[0], "pf") == 0 ||
		strcmp(st->tok[0], "ikev2") == 0) &&
	       strcmp(st->tok[st->ntok - 1], "{") == 0;
}

/* Read a block's lines as they are: they belong to another language (an
 * ipsec.conf), which has its own macros, quoting and continuations.  The
 * scenario's macros in force here go with it. */
static int read_block(struct reader *r, struct text_reader *tr, const char *fname,
		      struct scn_stmt *st, unsigned *lineno)
{
	char line[SCN_MAX_LINE];
	size_t cap = 1024, len = 0, n;
	char *body = xmalloc(cap);
	body[0] = '\0';
	st->body_line = *lineno + 1;
	enum text_line t;
	while ((t = text_getline(tr, line, sizeof(line), &n)) == TEXT_LINE) {
		(*lineno)++;
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (p[0] == '}' && strspn(p + 1, " \t\r") == strlen(p + 1)) {
			st->body = body;
			return 0;
		}
		if (len + n + 2 > cap) {
			cap = (len + n + 2) * 2;
			body = xrealloc(body, cap);
		}
		memcpy(body + len, line, n);
		len += n;
		body[len++] = '\n';
		body[len] = '\0';
	}
	free(body);
	if (t != TEXT_EOF) {
		char msg[64];
		text_line_error(t, sizeof(line), msg, sizeof(msg));
		struct scn_stmt where = {.file = fname, .line = *lineno + 1};
		scn_error(r->sc, &where, "%s", msg);
		return -1;
	}
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
	sc->files = xgrow(sc->files, sc->nfiles, sizeof(*sc->files));
	char *fname = sc->files[sc->nfiles++] = xstrdup(path);
	r->depth++;

	char line[SCN_MAX_LINE];
	char *joined = xmalloc(SCN_MAX_LINE);
	size_t jlen = 0, jcap = SCN_MAX_LINE, len;
	unsigned lineno = 0, start = 0;
	int rc = 0;
	struct text_reader tr = {f, 0};
	enum text_line t;
	while ((t = text_getline(&tr, line, sizeof(line), &len)) == TEXT_LINE) {
		lineno++;
		struct scn_stmt where = {.file = fname, .line = lineno};
		while (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (jlen == 0)
			start = lineno;
		/* A backslash at the end continues the statement on the next line. */
		bool cont = len && line[len - 1] == '\\';
		if (cont)
			line[--len] = ' ';
		if (jlen + len + 1 > SCN_MAX_STMT) {
			where.line = start;
			scn_error(sc, &where, "statement longer than %u bytes once its lines are joined",
				  SCN_MAX_STMT - 1);
			rc = -1;
			break;
		}
		if (jlen + len + 1 > jcap) {
			jcap = MIN(2 * (jlen + len + 1), (size_t)SCN_MAX_STMT);
			joined = xrealloc(joined, jcap);
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
		if (sc->nerrors >= SCN_MAX_ERRORS)
			break;
		/* This line's statement; not the last one of a file it included,
		 * whose block (if it opened one) that file held. */
		struct scn_stmt *added = sc->nstmts > before ? &sc->stmts[sc->nstmts - 1] : NULL;
		if (added && added->file != fname)
			added = NULL;
		if (added &&
		    (strcmp(added->tok[0], "ipsec") == 0 || strcmp(added->tok[0], "ikev2") == 0))
			snapshot_macros(r, added);
		if (added && is_block_opener(added) &&
		    read_block(r, &tr, fname, added, &lineno) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && t != TEXT_EOF) {
		/* a NUL, a line too long, a file too big: the rest is not read */
		char msg[64];
		text_line_error(t, sizeof(line), msg, sizeof(msg));
		struct scn_stmt where = {.file = fname, .line = lineno + 1};
		scn_error(sc, &where, "%s", msg);
		rc = -1;
	}
	if (rc == 0 && jlen) {
		struct scn_stmt where = {.file = fname, .line = start};
		if (read_line(r, joined, &where) < 0)
			r->failed = true;
	}
	free(joined);
	fclose(f);
	r->depth--;
	return rc;
}

int scn_read(struct scenario *sc, const char *path, const struct scn_options *opts)
{
	struct reader r = {.sc = sc};
	for (unsigned i = 0; i < opts->ndefines; i++)
		macro_set(&r, opts->defines[i].name, opts->defines[i].value, true,
			  i < 32 ? 1u << i : 0);
	int rc = read_file(&r, path, NULL);
	for (unsigned i = 0; i < r.nmacros; i++) {
		free(r.macros[i].name);
		free(r.macros[i].value);
	}
	free(r.macros);
	return rc < 0 ? -1 : r.failed ? 1 : 0;
}
