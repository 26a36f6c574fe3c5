/*
 * The ipsec.conf lexer, with ipsecctl's rules (parse.y's yylex): `\` at the
 * end of a line continues it; `#` starts a comment; `$NAME` is replaced by
 * the macro's value, which is then read as input (so a macro may hold
 * keywords); quoted strings take ' or "; a run of digits that ends at a
 * blank or one of ) , / } = is a number, anything else that starts with a
 * letter, digit, ':', '_' or '*' is a string, ended by blanks and by
 * ( ) { } < > ! = / # , characters.
 */
#include "conf_lex.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/util.h"

#define LEX_MAXBUF      8096
#define LEX_MAXPUSHBACK 128
#define LEX_MAXDEPTH    16
#define LEX_MAXLINE     16384 /* bytes on one physical line */

struct lex_src {
	struct lex_src *prev;
	FILE *f;          /* a file, or NULL for text */
	const char *text; /* text input */
	size_t pos;
	char *name;
	char *dir;
	unsigned line;
	uint64_t bytes;      /* read from the file */
	size_t col;          /* bytes on this line so far */
	enum text_line stop; /* TEXT_NUL, TEXT_LONG, TEXT_HUGE: read no more */
	bool reported;
};

struct lex_macro {
	char *name, *value;
	bool persist; /* from -D: the file cannot change it */
};

struct conf_lexer {
	struct lex_src *src;
	unsigned depth;
	const char *parsebuf; /* a macro's value being read */
	size_t parseidx;
	int pushback[LEX_MAXPUSHBACK];
	int npushback;
	struct lex_macro *macros;
	unsigned nmacros;
	enum conf_mode mode;
	FILE *err;
	bool compact;
	unsigned errors;
	char buf[LEX_MAXBUF];
};

static const struct {
	const char *word;
	enum conf_tok tok;
	bool testbed;
} keywords[] = {
    {"acquire", TK_ACQUIRE, false},
    {"active", TK_ACTIVE, false},
    {"aggressive", TK_AGGRESSIVE, false},
    {"ah", TK_AH, false},
    {"any", TK_ANY, false},
    {"auth", TK_AUTH, false},
    {"authkey", TK_AUTHKEY, false},
    {"bundle", TK_BUNDLE, false},
    {"bypass", TK_BYPASS, false},
    {"bytes", TK_BYTES, true},
    {"comp", TK_COMP, false},
    {"deny", TK_DENY, false},
    {"dontacq", TK_DONTACQ, false},
    {"dstid", TK_DSTID, false},
    {"dynamic", TK_DYNAMIC, false},
    {"enc", TK_ENC, false},
    {"enckey", TK_ENCKEY, false},
    {"esn", TK_ESN, true},
    {"esp", TK_ESP, false},
    {"file", TK_FILE, false},
    {"flow", TK_FLOW, false},
    {"from", TK_FROM, false},
    {"group", TK_GROUP, false},
    {"hard", TK_HARD, true},
    {"ike", TK_IKE, false},
    {"in", TK_IN, false},
    {"include", TK_INCLUDE, false},
    {"interface", TK_INTERFACE, false},
    {"ipcomp", TK_IPCOMP, false},
    {"ipip", TK_IPIP, false},
    {"lifetime", TK_LIFETIME, false},
    {"local", TK_LOCAL, false},
    {"main", TK_MAIN, false},
    {"out", TK_OUT, false},
    {"passive", TK_PASSIVE, false},
    {"peer", TK_PEER, false},
    {"port", TK_PORT, false},
    {"proto", TK_PROTO, false},
    {"psk", TK_PSK, false},
    {"quick", TK_QUICK, false},
    {"replay", TK_REPLAY, true},
    {"require", TK_REQUIRE, false},
    {"rsa", TK_RSA, false},
    {"soft", TK_SOFT, true},
    {"spi", TK_SPI, false},
    {"srcid", TK_SRCID, false},
    {"tag", TK_TAG, false},
    {"tcpmd5", TK_TCPMD5, false},
    {"time", TK_TIME, true},
    {"to", TK_TO, false},
    {"transport", TK_TRANSPORT, false},
    {"tunnel", TK_TUNNEL, false},
    {"type", TK_TYPE, false},
    {"udpencap", TK_UDPENCAP, false},
    {"use", TK_USE, false},
    {"usetime", TK_USETIME, true},
};

const char *lex_keyword_name(enum conf_tok t)
{
	for (size_t i = 0; i < ARRAY_LEN(keywords); i++)
		if (keywords[i].tok == t)
			return keywords[i].word;
	return "?";
}

static char *dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	size_t n = (size_t)(slash - path);
	char *d = xmalloc(n + 1);
	memcpy(d, path, n);
	d[n] = '\0';
	return n ? d : (free(d), xstrdup("/"));
}

static struct lex_src *src_open(struct conf_lexer *lx, const char *path)
{
	struct lex_src *s = xcalloc(1, sizeof(*s));
	if (strcmp(path, "-") == 0 && !lx->src) {
		s->f = stdin;
		s->name = xstrdup("stdin");
		s->dir = xstrdup(".");
	} else {
		s->f = fopen(path, "r");
		if (!s->f) {
			free(s);
			return NULL;
		}
		s->name = xstrdup(path);
		s->dir = dirname_of(path);
	}
	s->line = 1;
	return s;
}

static void src_close(struct lex_src *s)
{
	if (s->f && s->f != stdin)
		fclose(s->f);
	free(s->name);
	free(s->dir);
	free(s);
}

struct conf_lexer *lex_open(const char *path, const struct conf_options *opts)
{
	struct conf_lexer *lx = xcalloc(1, sizeof(*lx));
	lx->mode = opts->mode;
	lx->err = opts->err ? opts->err : stderr;
	lx->compact = opts->compact;
	for (unsigned i = 0; i < opts->ndefines; i++) {
		lex_set_macro(lx, opts->defines[i].name, opts->defines[i].value);
		lx->macros[lx->nmacros - 1].persist = true;
	}
	if (opts->text) {
		lx->src = xcalloc(1, sizeof(*lx->src));
		lx->src->text = opts->text;
		lx->src->name = xstrdup(opts->text_name ? opts->text_name : "text");
		lx->src->dir = dirname_of(lx->src->name);
		lx->src->line = opts->text_line ? opts->text_line : 1;
	} else {
		lx->src = src_open(lx, path);
		if (!lx->src) {
			fprintf(lx->err, "%s: %s\n", path, strerror(errno));
			lex_close(lx);
			return NULL;
		}
	}
	lx->depth = 1;
	return lx;
}

void lex_close(struct conf_lexer *lx)
{
	if (!lx)
		return;
	while (lx->src) {
		struct lex_src *p = lx->src->prev;
		src_close(lx->src);
		lx->src = p;
	}
	for (unsigned i = 0; i < lx->nmacros; i++) {
		free(lx->macros[i].name);
		free(lx->macros[i].value);
	}
	free(lx->macros);
	free(lx);
}

void lex_set_macro(struct conf_lexer *lx, const char *name, const char *value)
{
	for (unsigned i = 0; i < lx->nmacros; i++)
		if (strcmp(lx->macros[i].name, name) == 0) {
			if (lx->macros[i].persist)
				return; /* -D wins */
			free(lx->macros[i].value);
			lx->macros[i].value = xstrdup(value);
			return;
		}
	lx->macros = xgrow(lx->macros, lx->nmacros, sizeof(*lx->macros));
	lx->macros[lx->nmacros++] = (struct lex_macro){xstrdup(name), xstrdup(value), false};
}

static const char *macro_get(struct conf_lexer *lx, const char *name)
{
	for (unsigned i = 0; i < lx->nmacros; i++)
		if (strcmp(lx->macros[i].name, name) == 0)
			return lx->macros[i].value;
	return NULL;
}

static void vreport(struct conf_lexer *lx, unsigned line, const char *fmt, va_list ap)
{
	fprintf(lx->err, lx->compact ? "%s:%u: " : "%s: %u: ", lx->src ? lx->src->name : "?", line);
	vfprintf(lx->err, fmt, ap);
	fputc('\n', lx->err);
}

void lex_error(struct conf_lexer *lx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	lx->errors++;
	va_start(ap, fmt);
	vreport(lx, line, fmt, ap);
	va_end(ap);
}

void lex_message(struct conf_lexer *lx, const char *fmt, ...)
{
	va_list ap;
	/* ipsecctl prints these bare; a scenario's errors all carry file:line. */
	if (lx->compact && lx->src)
		fprintf(lx->err, "%s:%u: ", lx->src->name, lx->src->line);
	va_start(ap, fmt);
	vfprintf(lx->err, fmt, ap);
	va_end(ap);
	fputc('\n', lx->err);
}

unsigned lex_errors(const struct conf_lexer *lx)
{
	return lx->errors;
}

const char *lex_dir(const struct conf_lexer *lx)
{
	return lx->src ? lx->src->dir : ".";
}

const char *lex_name(const struct conf_lexer *lx)
{
	return lx->src ? lx->src->name : "";
}

int lex_include(struct conf_lexer *lx, const char *path)
{
	if (lx->depth >= LEX_MAXDEPTH)
		return -1;
	char full[4096];
	if (path[0] != '/' && strcmp(lex_dir(lx), ".") != 0)
		snprintf(full, sizeof(full), "%s/%s", lex_dir(lx), path);
	else
		snprintf(full, sizeof(full), "%s", path);
	struct lex_src *s = src_open(lx, full);
	if (!s)
		return -1;
	s->prev = lx->src;
	lx->src = s;
	lx->depth++;
	/* ipsecctl pushes back a newline so the include line ends cleanly. */
	return 0;
}

static int raw_getc(struct lex_src *s)
{
	if (s->stop != TEXT_LINE)
		return EOF;
	if (s->f) {
		/* Every file ends: at its end, or at a NUL, a line too long, or
		 * too many bytes (lgetc reports which). */
		int c = getc(s->f);
		if (c == EOF)
			return EOF;
		if (++s->bytes > TEXT_MAX_FILE)
			s->stop = TEXT_HUGE;
		else if (c == '\0')
			s->stop = TEXT_NUL;
		else if (c == '\n')
			s->col = 0;
		else if (++s->col > LEX_MAXLINE)
			s->stop = TEXT_LONG;
		return s->stop == TEXT_LINE ? c : EOF;
	}
	if (!s->text[s->pos])
		return EOF;
	return (unsigned char)s->text[s->pos++];
}

static void lungetc(struct conf_lexer *lx, int c)
{
	if (c == EOF)
		return;
	if (lx->parsebuf) {
		if (lx->parseidx > 0) {
			lx->parseidx--;
			return;
		}
	}
	if (lx->npushback < LEX_MAXPUSHBACK)
		lx->pushback[lx->npushback++] = c;
}

static int lgetc(struct conf_lexer *lx, bool quoted)
{
	if (lx->parsebuf) {
		int c = (unsigned char)lx->parsebuf[lx->parseidx];
		if (c) {
			lx->parseidx++;
			return c;
		}
		lx->parsebuf = NULL;
	}
	if (lx->npushback)
		return lx->pushback[--lx->npushback];
	for (;;) {
		int c = raw_getc(lx->src);
		if (!quoted) {
			/* A backslash joins the next line; before anything else
			 * it is dropped and the next character taken (ipsecctl). */
			while (c == '\\') {
				int next = raw_getc(lx->src);
				if (next != '\n') {
					c = next;
					break;
				}
				lx->src->line++;
				c = raw_getc(lx->src);
			}
		}
		if (c != EOF)
			return c;
		if (lx->src->stop != TEXT_LINE && !lx->src->reported) {
			char msg[64];
			text_line_error(lx->src->stop, LEX_MAXLINE + 1, msg, sizeof(msg));
			lex_error(lx, lx->src->line, "%s", msg);
			lx->src->reported = true;
		}
		if (lx->src->prev == NULL)
			return EOF;
		/* The end of an included file: back to the includer. */
		struct lex_src *done = lx->src;
		lx->src = done->prev;
		lx->depth--;
		src_close(done);
		if (quoted)
			return EOF;
	}
}

void lex_skip_line(struct conf_lexer *lx)
{
	lx->parsebuf = NULL;
	for (;;) {
		int c = lgetc(lx, false);
		if (c == '\n') {
			lx->src->line++;
			return;
		}
		if (c == EOF)
			return;
	}
}

static bool allowed_to_end_number(int c)
{
	return isspace(c) || c == ')' || c == ',' || c == '/' || c == '}' || c == '=';
}

static bool allowed_in_string(int c)
{
	return isalnum(c) ||
	       (ispunct(c) && c != '(' && c != ')' && c != '{' && c != '}' && c != '<' &&
		c != '>' && c != '!' && c != '=' && c != '/' && c != '#' && c != ',');
}

static enum conf_tok lookup(const struct conf_lexer *lx, const char *s)
{
	for (size_t i = 0; i < ARRAY_LEN(keywords); i++)
		if (strcmp(s, keywords[i].word) == 0) {
			if (keywords[i].testbed && lx->mode != CONF_TESTBED)
				return TK_STRING;
			return keywords[i].tok;
		}
	return TK_STRING;
}

void lex_next(struct conf_lexer *lx, struct conf_token *t)
{
	char *buf = lx->buf;
	size_t n;
	int c;
	memset(t, 0, sizeof(*t));
top:
	n = 0;
	while ((c = lgetc(lx, false)) == ' ' || c == '\t')
		;
	t->line = lx->src->line;
	if (c == '#')
		while ((c = lgetc(lx, false)) != '\n' && c != EOF)
			;
	if (c == '$' && lx->parsebuf == NULL) {
		for (;;) {
			c = lgetc(lx, false);
			if (c == EOF) {
				t->tok = TK_EOF;
				return;
			}
			if (n + 1 >= LEX_MAXBUF) {
				lex_error(lx, t->line, "string too long");
				lex_skip_line(lx);
				t->tok = TK_ERROR;
				return;
			}
			if (isalnum(c) || c == '_') {
				buf[n++] = (char)c;
				continue;
			}
			buf[n] = '\0';
			lungetc(lx, c);
			break;
		}
		const char *v = macro_get(lx, buf);
		if (!v) {
			lex_error(lx, t->line, "macro '%s' not defined", buf);
			lex_skip_line(lx);
			t->tok = TK_ERROR;
			return;
		}
		lx->parsebuf = v;
		lx->parseidx = 0;
		goto top;
	}
	if (c == '\'' || c == '"') {
		int quote = c;
		for (;;) {
			c = lgetc(lx, true);
			if (c == EOF) {
				lex_error(lx, t->line,
					  "reached end of file while parsing quoted string");
				t->tok = TK_EOF;
				return;
			}
			if (c == '\n') {
				lx->src->line++;
				continue;
			}
			if (c == '\\') {
				int next = lgetc(lx, true);
				if (next == quote || next == ' ' || next == '\t')
					c = next;
				else if (next == '\n') {
					lx->src->line++;
					continue;
				} else
					lungetc(lx, next);
			} else if (c == quote) {
				break;
			}
			if (n + 1 >= LEX_MAXBUF) {
				lex_error(lx, t->line, "string too long");
				lex_skip_line(lx);
				t->tok = TK_ERROR;
				return;
			}
			buf[n++] = (char)c;
		}
		buf[n] = '\0';
		t->tok = TK_STRING;
		t->str = buf;
		return;
	}
	if (c == '-' || isdigit(c)) {
		do {
			buf[n++] = (char)c;
			if (n >= LEX_MAXBUF - 1) {
				lex_error(lx, t->line, "string too long");
				lex_skip_line(lx);
				t->tok = TK_ERROR;
				return;
			}
		} while ((c = lgetc(lx, false)) != EOF && isdigit(c));
		lungetc(lx, c);
		if (!(n == 1 && buf[0] == '-') && (c == EOF || allowed_to_end_number(c))) {
			buf[n] = '\0';
			errno = 0;
			char *end;
			long long v = strtoll(buf, &end, 10);
			if (errno || *end) {
				lex_error(lx, t->line, "\"%s\" invalid number: too large", buf);
				lex_skip_line(lx);
				t->tok = TK_ERROR;
				return;
			}
			t->tok = TK_NUMBER;
			t->num = v;
			return;
		}
		/* Not a number after all: read it again as a string. */
		while (n > 1)
			lungetc(lx, (unsigned char)buf[--n]);
		c = (unsigned char)buf[0];
		n = 0;
		if (c == '-') {
			t->tok = TK_CHAR;
			t->ch = c;
			return;
		}
	}
	if (isalnum(c) || c == ':' || c == '_' || c == '*') {
		do {
			buf[n++] = (char)c;
			if (n >= LEX_MAXBUF - 1) {
				lex_error(lx, t->line, "string too long");
				lex_skip_line(lx);
				t->tok = TK_ERROR;
				return;
			}
		} while ((c = lgetc(lx, false)) != EOF && allowed_in_string(c));
		lungetc(lx, c);
		buf[n] = '\0';
		t->tok = lookup(lx, buf);
		t->str = buf;
		return;
	}
	if (c == '\n') {
		t->line = lx->src->line;
		lx->src->line++;
		t->tok = TK_NL;
		return;
	}
	if (c == EOF) {
		t->tok = TK_EOF;
		return;
	}
	t->tok = TK_CHAR;
	t->ch = c;
}
