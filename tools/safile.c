#include "safile.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../ipsec/conf.h"
#include "../ipsec/pfkey.h"
#include "../ipsec/pfkey_msg.h"
#include "../ipsec/replay.h"
#include "../ipsec/sad.h"
#include "../ipsec/wireshark.h"
#include "../ipsec/xform.h"
#include "../stack/node.h"
#include "../stack/util.h"

#define ESPSA_MAXLINE 2048

/* One line of an esp_sa file: up to 10 quoted fields separated by commas.
 * Returns the number of fields, or -1 when the quoting is wrong. */
static int split_fields(char *line, char *f[10])
{
	int n = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '"' || n == 10)
			return -1;
		f[n++] = ++p;
		char *q = strchr(p, '"');
		if (!q)
			return -1;
		*q = '\0';
		p = q + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\r' || *p == '\n')
			return n;
		if (*p != ',')
			return -1;
		p++;
	}
}

/* A key column: 0x-prefixed hex, or the ASCII bytes themselves (as
 * Wireshark takes them).  -1 when too long or not hex. */
static long key_field(const char *s, uint8_t *out, size_t cap)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return hex_decode(s + 2, out, cap);
	size_t n = strlen(s);
	if (n > cap)
		return -1;
	memcpy(out, s, n);
	return (long)n;
}

struct loader {
	struct node *n;
	struct pfkey_sock *s;
	const char *path;
	FILE *err;
	uint32_t window;
	uint32_t seq;
	int count;
};

static int line_error(struct loader *l, unsigned line, const char *fmt, const char *arg)
{
	fprintf(l->err, "%s:%u: ", l->path, line);
	fprintf(l->err, fmt, arg);
	fputc('\n', l->err);
	return -1;
}

/* The comment our esp_sa files put before an ESN SA's 8-column line. */
#define ESN_MARK "# ESN:"

/* One esp_sa line into an SADB_ADD; esn_mark: the line before was ours. */
static int espsa_line(struct loader *l, char *text, unsigned line, bool esn_mark)
{
	char *f[10];
	int nf = split_fields(text, f);
	if (nf != 8 && nf != 10)
		return line_error(
		    l, line, "%s",
		    "an esp_sa line has 8 or 10 double-quoted fields, comma-separated");
	uint8_t af = strcmp(f[0], "IPv4") == 0 ? ADDR_V4 : strcmp(f[0], "IPv6") == 0 ? ADDR_V6 : 0;
	if (!af)
		return line_error(l, line, "protocol '%s': IPv4 or IPv6", f[0]);
	struct ipaddr src, dst;
	if (addr_parse(f[1], &src) < 0 || src.af != af)
		return line_error(l, line,
				  "source '%s': an address of the line's protocol (no "
				  "wildcards)",
				  f[1]);
	if (addr_parse(f[2], &dst) < 0 || dst.af != af)
		return line_error(l, line,
				  "destination '%s': an address of the line's protocol "
				  "(no wildcards)",
				  f[2]);
	char *end;
	errno = 0;
	unsigned long spi = strtoul(f[3], &end, 16);
	if (strncmp(f[3], "0x", 2) != 0 || *end || errno || spi > UINT32_MAX || spi < 256)
		return line_error(l, line, "SPI '%s': 0x and hex digits, 0x100 or more", f[3]);
	uint8_t enc, auth;
	if (ws_enc_id(f[4], &enc) < 0)
		return line_error(l, line, "encryption '%s' is not one we carry", f[4]);
	if (ws_auth_id(f[6], &auth) < 0)
		return line_error(l, line,
				  "authentication '%s' is not one we carry (\"ANY ... [no "
				  "checking]\" cannot be verified)",
				  f[6]);
	bool esn = esn_mark;
	uint32_t esn_hi = 0;
	if (nf == 10) {
		if (strcmp(f[8], "64-bit") == 0)
			esn = true;
		else if (strcmp(f[8], "32-bit") != 0)
			return line_error(l, line, "SN '%s': 32-bit or 64-bit", f[8]);
		errno = 0;
		unsigned long hi = strtoul(f[9], &end, 16);
		if (*end || errno || hi > UINT32_MAX)
			return line_error(l, line, "ESN high bits '%s': hex", f[9]);
		esn_hi = (uint32_t)hi;
	}
	if (esn && !l->window)
		return line_error(l, line, "%s",
				  "an ESN SA needs a replay window to infer the high bits");
	uint8_t ek[64], ak[64];
	long ekl = key_field(f[5], ek, sizeof(ek)), akl = key_field(f[7], ak, sizeof(ak));
	int rc = 0;
	const struct tdb *have = ekl >= 0 && akl >= 0 && l->n->ipsec
				     ? sad_lookup(&l->n->ipsec->sad, &dst, (uint32_t)spi, IPPROTO_ESP)
				     : NULL;
	/* (An AEAD SA's authentication is its cipher's: no auth key, whatever
	 * the kernel calls its authalg.) */
	if (have && have->encalg == enc && (have->authalg == auth || (!akl && !have->authkeylen)) &&
	    have->enckeylen == (uint16_t)ekl && have->authkeylen == (uint16_t)akl &&
	    (!ekl || CRYPTO_memcmp(have->enckey, ek, (size_t)ekl) == 0) &&
	    (!akl || CRYPTO_memcmp(have->authkey, ak, (size_t)akl) == 0)) {
		/* The same SA again, from another source address: one end's
		 * view and the other's across a NAT.  A receiver finds an SA by
		 * destination and SPI, so one of them serves both. */
	} else if (ekl < 0 || akl < 0) {
		rc = line_error(l, line, "%s", "bad key: 0x and hex, or ASCII, at most 64 bytes");
	} else if (enc != SADB_EALG_NONE && !xform_enc_keylen_ok(enc, (size_t)ekl)) {
		fprintf(l->err, "%s:%u: an encryption key of %ld bytes for %s: it takes %s\n", l->path,
			line, ekl, f[4], xform_enc_keysizes(enc));
		rc = -1;
	} else if (auth != SADB_AALG_NONE && xform_auth(auth) &&
		   (size_t)akl != xform_auth(auth)->keysize) {
		fprintf(l->err, "%s:%u: an authentication key of %ld bytes for %s: it takes %u bytes\n",
			l->path, line, akl, f[6], xform_auth(auth)->keysize);
		rc = -1;
	} else {
		struct pfkey_buf pb;
		pfkb_init(&pb, SADB_ADD, SADB_SATYPE_ESP, ++l->seq, l->s->pid);
		/* A window of 1 marks replay checking on; its width is set below. */
		pfkb_sa(&pb, SADB_EXT_SA, (uint32_t)spi, l->window ? 1 : 0, SADB_SASTATE_MATURE,
			auth, enc, esn ? SADB_X_SAFLAGS_ESN : 0);
		pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
		pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
		if (akl > 0)
			pfkb_key(&pb, SADB_EXT_KEY_AUTH, ak, (unsigned)akl * 8);
		if (ekl > 0)
			pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, ek, (unsigned)ekl * 8);
		if (esn_hi)
			pfkb_replay(&pb, (uint64_t)esn_hi << 32);
		size_t len = pfkb_finish(&pb);
		int w = len ? pfkey_write(l->s, pb.b, len) : -EMSGSIZE;
		OPENSSL_cleanse(pb.b, sizeof(pb.b));
		if (w < 0)
			rc = line_error(l, line, "this SA cannot be added: %s", strerror(-w));
		else
			l->count++;
	}
	OPENSSL_cleanse(ek, sizeof(ek));
	OPENSSL_cleanse(ak, sizeof(ak));
	return rc;
}

static int load_espsa(struct loader *l, FILE *f)
{
	char line[ESPSA_MAXLINE];
	unsigned lineno = 0;
	int rc = 0;
	bool mark = false;
	struct text_reader tr = {f, 0};
	enum text_line t;
	size_t len;
	while ((t = text_getline(&tr, line, sizeof(line), &len)) == TEXT_LINE) {
		lineno++;
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#') {
			mark = strncmp(p, ESN_MARK, strlen(ESN_MARK)) == 0;
			continue;
		}
		if (espsa_line(l, p, lineno, mark) < 0)
			rc = -1;
		mark = false;
	}
	if (t != TEXT_EOF) {
		/* a line too long is not two lines; a NUL or an endless file
		 * ends the reading */
		char msg[64];
		text_line_error(t, sizeof(line), msg, sizeof(msg));
		rc = line_error(l, lineno + 1, "%s", msg);
	}
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

/* Is the file an esp_sa file?  Its first line that is neither blank nor a
 * comment starts with a double quote.  One that cannot be read as text
 * goes to the esp_sa reader, which says where and why. */
static bool is_espsa(FILE *f)
{
	char line[ESPSA_MAXLINE];
	bool yes = false;
	struct text_reader tr = {f, 0};
	enum text_line t;
	size_t len;
	while ((t = text_getline(&tr, line, sizeof(line), &len)) == TEXT_LINE) {
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		yes = *p == '"';
		break;
	}
	if (t != TEXT_LINE && t != TEXT_EOF)
		yes = true;
	OPENSSL_cleanse(line, sizeof(line));
	rewind(f);
	return yes;
}

int safile_load(struct node *n, const char *path, uint32_t window, FILE *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(err, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	struct loader l = {.n = n, .s = pfkey_open(n), .path = path, .err = err, .window = window};
	int rc;
	if (is_espsa(f)) {
		rc = load_espsa(&l, f);
		fclose(f);
	} else {
		fclose(f);
		struct conf_options o = {.mode = CONF_TESTBED, .err = err, .compact = true};
		struct conf conf;
		rc = conf_parse(path, &o, &conf) < 0 || conf_load(&conf, l.s, err, "the SA file")
			 ? -1
			 : 0;
		conf_free(&conf);
	}
	pfkey_close(l.s);
	if (rc < 0)
		return -1;
	/* Every SA checks replay with the window asked for (ipsec.conf SAs
	 * without `replay` too: a capture is checked as a receiver would). */
	int count = 0;
	for (struct tdb *t = n->ipsec ? n->ipsec->sad.head : NULL; t; t = t->next) {
		if ((t->flags & TDBF_ESN) && !window) {
			fprintf(err,
				"%s: SA 0x%08x has ESN, which needs a replay window to infer "
				"the high bits\n",
				path, t->spi);
			return -1;
		}
		/* A capture is checked whole: lifetimes from the file do not
		 * end an SA half-way through it. */
		t->flags &= ~(uint32_t)(TDBF_TIMER | TDBF_BYTES | TDBF_ALLOCATIONS | TDBF_FIRSTUSE |
					TDBF_SOFT_TIMER | TDBF_SOFT_BYTES | TDBF_SOFT_ALLOCATIONS |
					TDBF_SOFT_FIRSTUSE);
		t->wnd = window ? (uint8_t)MIN(window, 255u) : 0;
		t->rwin = window;
		count++;
	}
	if (!count) {
		fprintf(err, "%s: no SA in this file\n", path);
		return -1;
	}
	return count;
}
