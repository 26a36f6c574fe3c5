/*
 * The iked.conf subset (iked_conf.h, docs/ike.md).  Each statement is read
 * as a line of words from ipsec.conf's lexer ("10.1.0.0" "/" "24" joined
 * back into one word), then parsed word by word:
 *
 *   NAME = "value"
 *   include "file"
 *   ikev2 ["name"] [active|passive|acquire] [esp|ah] [tunnel|transport]
 *         [proto P] from SRC [port N] to DST [port N] [local ADDR]
 *         [peer ADDR|any] [ikesa ALGS]... [childsa ALGS]...
 *         [srcid ID] [dstid ID] [ikelifetime T] [lifetime T [bytes B]]
 *         psk STRING|0xHEX
 */
#include "iked_conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../ipsec/conf_lex.h"
#include "../ipsec/pfkeyv2.h"
#include "../stack/util.h"
#include "ike_wire.h"

#define MAX_WORDS 256

struct words {
	char *w[MAX_WORDS];
	unsigned n;
	unsigned line;
	bool overflow;
};

static void words_free(struct words *ws)
{
	for (unsigned i = 0; i < ws->n; i++) {
		OPENSSL_cleanse(ws->w[i], strlen(ws->w[i])); /* a psk */
		free(ws->w[i]);
	}
	ws->n = 0;
}

static void words_add(struct words *ws, const char *s)
{
	if (ws->n == MAX_WORDS) {
		ws->overflow = true;
		return;
	}
	ws->w[ws->n++] = xstrdup(s);
}

/* The next statement's words; false at the end of the input.  A lexer
 * error has been reported; the statement comes back empty then. */
static bool read_statement(struct conf_lexer *lx, struct words *ws, bool *lex_failed)
{
	struct conf_token t;
	ws->n = 0;
	ws->overflow = false;
	*lex_failed = false;
	bool joined = false; /* the last word took a '/' and waits for a number */
	for (;;) {
		lex_next(lx, &t);
		if (ws->n == 0)
			ws->line = t.line;
		if (t.tok == TK_EOF)
			return ws->n > 0 || *lex_failed;
		if (t.tok == TK_NL) {
			if (ws->n || *lex_failed)
				return true;
			continue;
		}
		if (t.tok == TK_ERROR) {
			*lex_failed = true; /* reported; the lexer skipped the line */
			return true;
		}
		char buf[64];
		const char *s = t.str;
		if (t.tok == TK_NUMBER) {
			snprintf(buf, sizeof(buf), "%lld", t.num);
			s = buf;
		} else if (t.tok == TK_CHAR) {
			buf[0] = (char)t.ch;
			buf[1] = 0;
			s = buf;
		}
		if (!s)
			continue;
		if (t.tok == TK_CHAR && t.ch == '/' && ws->n && !ws->overflow) {
			size_t l = strlen(ws->w[ws->n - 1]);
			ws->w[ws->n - 1] = xrealloc(ws->w[ws->n - 1], l + 2);
			memcpy(ws->w[ws->n - 1] + l, "/", 2);
			joined = true;
			continue;
		}
		if (joined && ws->n) {
			size_t l = strlen(ws->w[ws->n - 1]), k = strlen(s);
			ws->w[ws->n - 1] = xrealloc(ws->w[ws->n - 1], l + k + 1);
			memcpy(ws->w[ws->n - 1] + l, s, k + 1);
			joined = false;
			continue;
		}
		words_add(ws, s);
	}
}

/* ---- algorithm names (iked.conf(5)) ---- */

static const struct {
	const char *name;
	uint16_t id, bits;
	bool child_only;
} encs[] = {
    {"aes-128", ENCR_AES_CBC, 128, false},
    {"aes-192", ENCR_AES_CBC, 192, false},
    {"aes-256", ENCR_AES_CBC, 256, false},
    {"aes-128-gcm", ENCR_AES_GCM_16, 128, false},
    {"aes-192-gcm", ENCR_AES_GCM_16, 192, false},
    {"aes-256-gcm", ENCR_AES_GCM_16, 256, false},
    {"chacha20-poly1305", ENCR_CHACHA20_POLY1305, 256, true},
};

static const struct {
	const char *name;
	uint16_t prf, integ;
} macs[] = {
    {"hmac-sha1", PRF_HMAC_SHA1, AUTH_HMAC_SHA1_96},
    {"hmac-sha2-256", PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128},
    {"hmac-sha2-384", PRF_HMAC_SHA2_384, AUTH_HMAC_SHA2_384_192},
    {"hmac-sha2-512", PRF_HMAC_SHA2_512, AUTH_HMAC_SHA2_512_256},
};

static const struct {
	const char *name, *alias;
	uint16_t id;
} groups[] = {
    {"modp2048", "grp14", 14},
    {"ecp256", "grp19", 19},
    {"ecp384", "grp20", 20},
    {"curve25519", "grp31", 31},
};

const char *iked_alg_name(uint8_t type, uint16_t id, uint16_t bits)
{
	for (size_t i = 0; i < ARRAY_LEN(encs) && type == IKE_XF_ENCR; i++)
		if (encs[i].id == id && (id == ENCR_CHACHA20_POLY1305 || encs[i].bits == bits))
			return encs[i].name;
	for (size_t i = 0; i < ARRAY_LEN(macs); i++)
		if ((type == IKE_XF_PRF && macs[i].prf == id) ||
		    (type == IKE_XF_INTEG && macs[i].integ == id))
			return macs[i].name;
	for (size_t i = 0; i < ARRAY_LEN(groups) && type == IKE_XF_DH; i++)
		if (groups[i].id == id)
			return groups[i].name;
	return type == IKE_XF_INTEG && id == AUTH_NONE ? "none" : "?";
}

struct parser {
	struct conf_lexer *lx;
	unsigned line;
	bool failed;
};

static void perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!p->failed) /* one error a statement: the rest would follow from it */
		lex_error(p->lx, p->line, "%s", msg);
	p->failed = true;
}

static bool is_kw(const char *w)
{
	static const char *const kws[] = {
	    "active",  "passive", "acquire", "esp",         "ah",       "tunnel", "transport",
	    "proto",   "from",    "to",      "port",        "local",    "peer",   "ikesa",
	    "childsa", "srcid",   "dstid",   "ikelifetime", "lifetime", "bytes",  "psk",
	    "enc",     "prf",     "auth",    "group",       "esn",      "noesn"};
	for (size_t i = 0; i < ARRAY_LEN(kws); i++)
		if (strcmp(w, kws[i]) == 0)
			return true;
	return false;
}

/* An `ikesa` or `childsa` clause from words[*i] (after the keyword). */
static void parse_prop(struct parser *p, const struct words *ws, unsigned *i, bool child,
		       struct iked_prop *pr)
{
	const char *what = child ? "childsa" : "ikesa";
	memset(pr, 0, sizeof(*pr));
	unsigned start = *i;
	while (*i < ws->n) {
		const char *kw = ws->w[*i];
		int kind = strcmp(kw, "enc") == 0     ? 0
			   : strcmp(kw, "prf") == 0   ? 1
			   : strcmp(kw, "auth") == 0  ? 2
			   : strcmp(kw, "group") == 0 ? 3
						      : -1;
		if (strcmp(kw, "esn") == 0 || strcmp(kw, "noesn") == 0) {
			if (!child) {
				perr(p, "%s is a childsa word", kw);
				return;
			}
			pr->esn = kw[0] == 'e';
			(*i)++;
			continue;
		}
		if (kind < 0)
			break;
		if (kind == 1 && child) {
			perr(p, "prf is an ikesa word: a CHILD_SA has no PRF");
			return;
		}
		(*i)++;
		unsigned got = 0;
		while (*i < ws->n && !is_kw(ws->w[*i])) {
			const char *a = ws->w[*i];
			bool ok = false;
			if (kind == 0) {
				for (size_t k = 0; k < ARRAY_LEN(encs) && !ok; k++)
					if (strcmp(a, encs[k].name) == 0 &&
					    (child || !encs[k].child_only) &&
					    pr->nencr < IKED_MAX_ALGS) {
						pr->encr[pr->nencr] = encs[k].id;
						pr->encr_bits[pr->nencr++] = encs[k].bits;
						ok = true;
					}
			} else if (kind == 3) {
				for (size_t k = 0; k < ARRAY_LEN(groups) && !ok; k++)
					if ((strcmp(a, groups[k].name) == 0 ||
					     strcmp(a, groups[k].alias) == 0) &&
					    pr->ngroup < IKED_MAX_ALGS) {
						pr->group[pr->ngroup++] = groups[k].id;
						ok = true;
					}
			} else {
				for (size_t k = 0; k < ARRAY_LEN(macs) && !ok; k++)
					if (strcmp(a, macs[k].name) == 0) {
						if (kind == 1 && pr->nprf < IKED_MAX_ALGS)
							pr->prf[pr->nprf++] = macs[k].prf;
						else if (kind == 2 && pr->ninteg < IKED_MAX_ALGS)
							pr->integ[pr->ninteg++] = macs[k].integ;
						else
							break;
						ok = true;
					}
			}
			if (!ok) {
				static const char *const forms[] = {
				    ("aes-128, aes-192, aes-256, aes-128-gcm, aes-192-gcm, "
				     "aes-256-gcm (childsa also chacha20-poly1305)"),
				    "hmac-sha1, hmac-sha2-256, hmac-sha2-384 or hmac-sha2-512",
				    "hmac-sha1, hmac-sha2-256, hmac-sha2-384 or hmac-sha2-512",
				    ("modp2048, ecp256, ecp384 or curve25519 (grp14, grp19, "
				     "grp20, grp31)")};
				static const char *const kinds[] = {"enc", "prf", "auth", "group"};
				perr(p, "%s %s: unknown or too many '%s'; ipsecsim has %s", what,
				     kinds[kind], a, forms[kind]);
				return;
			}
			(*i)++;
			got++;
		}
		if (!got) {
			perr(p, "%s %s without an algorithm", what, kw);
			return;
		}
	}
	if (*i == start) {
		perr(p, "%s without enc, prf, auth or group", what);
		return;
	}
	/* Defaults for what the clause leaves out, and RFC 5282's rule. */
	bool aead = false, plain = false;
	for (unsigned k = 0; k < pr->nencr; k++) {
		if (pr->encr[k] == ENCR_AES_CBC)
			plain = true;
		else
			aead = true;
	}
	if (aead && plain) {
		perr(p,
		     "%s: AEAD ciphers (gcm, chacha20-poly1305) and aes-CBC go in separate %s "
		     "clauses (RFC 5282 8)",
		     what, what);
		return;
	}
	if (aead && pr->ninteg) {
		perr(p, "%s: an AEAD cipher authenticates by itself: no auth with it", what);
		return;
	}
	if (!pr->nencr) {
		pr->encr[pr->nencr] = ENCR_AES_GCM_16;
		pr->encr_bits[pr->nencr++] = 128;
		if (!pr->ninteg)
			aead = true;
		else {
			pr->encr[0] = ENCR_AES_CBC;
		}
	}
	if (!aead && !pr->ninteg)
		pr->integ[pr->ninteg++] = AUTH_HMAC_SHA2_256_128;
	if (!child && !pr->nprf)
		pr->prf[pr->nprf++] = PRF_HMAC_SHA2_256;
	if (!child && !pr->ngroup) {
		pr->group[pr->ngroup++] = 31;
		pr->group[pr->ngroup++] = 19;
		pr->group[pr->ngroup++] = 14;
	}
}

static void default_props(struct iked_policy *pol)
{
	/* ikesa enc aes-128-gcm aes-256-gcm prf hmac-sha2-256 group curve25519 ecp256 modp2048
	 * ikesa enc aes-256 aes-128 prf hmac-sha2-256 auth hmac-sha2-256 group (the same) */
	if (!pol->nike) {
		pol->nike = 2;
		pol->ike[0] = (struct iked_prop){.encr = {ENCR_AES_GCM_16, ENCR_AES_GCM_16},
						 .encr_bits = {128, 256},
						 .nencr = 2,
						 .prf = {PRF_HMAC_SHA2_256},
						 .nprf = 1,
						 .group = {31, 19, 14},
						 .ngroup = 3};
		pol->ike[1] = pol->ike[0];
		pol->ike[1].encr[0] = pol->ike[1].encr[1] = ENCR_AES_CBC;
		pol->ike[1].encr_bits[0] = 256;
		pol->ike[1].encr_bits[1] = 128;
		pol->ike[1].integ[0] = AUTH_HMAC_SHA2_256_128;
		pol->ike[1].ninteg = 1;
	}
	if (!pol->nchild) {
		pol->nchild = pol->satype == SADB_SATYPE_AH ? 1 : 2;
		struct iked_prop gcm = {.encr = {ENCR_AES_GCM_16, ENCR_AES_GCM_16},
					.encr_bits = {128, 256},
					.nencr = 2};
		struct iked_prop cbc = {.encr = {ENCR_AES_CBC, ENCR_AES_CBC},
					.encr_bits = {256, 128},
					.nencr = 2,
					.integ = {AUTH_HMAC_SHA2_256_128},
					.ninteg = 1};
		pol->child[0] = pol->satype == SADB_SATYPE_AH ? cbc : gcm;
		pol->child[1] = cbc;
	}
}

/* A count with an optional one-letter unit: "10m" with units "smhd" and
 * multipliers 1, 60, 3600, 86400.  0, or -1 (no digits, another unit,
 * past 2^64 - 1). */
static int parse_scaled(const char *w, const char *units, const uint64_t *muls, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(w, &end, 10);
	if (end == w || !isdigit((unsigned char)w[0]) || errno)
		return -1;
	uint64_t mul = 1;
	if (*end) {
		const char *u = end[1] ? NULL : strchr(units, *end);
		if (!u)
			return -1;
		mul = muls[u - units];
	}
	if (n > UINT64_MAX / mul)
		return -1;
	*v = n * mul;
	return 0;
}

/* "3600", "10m", "2h", "1d": seconds. */
static int parse_secs(const char *w, uint64_t *v)
{
	static const uint64_t muls[] = {1, 60, 3600, 86400};
	return parse_scaled(w, "smhd", muls, v);
}

/* "1000000", "500K", "1M", "2G": bytes. */
static int parse_bytes(const char *w, uint64_t *v)
{
	static const uint64_t muls[] = {1024, 1024, 1 << 20, 1 << 20, 1 << 30, 1 << 30};
	return parse_scaled(w, "KkMmGg", muls, v);
}

static int parse_net(const char *w, struct ipaddr *a, uint8_t *plen)
{
	unsigned pl;
	if (strcmp(w, "any") == 0) {
		memset(a, 0, sizeof(*a));
		a->af = ADDR_V4;
		*plen = 0;
		return 0;
	}
	if (addr_parse_prefix(w, a, &pl) < 0)
		return -1;
	*plen = (uint8_t)pl;
	return 0;
}

static int parse_proto(const char *w, uint8_t *proto)
{
	static const struct {
		const char *name;
		uint8_t n;
	} names[] = {{"icmp", 1},   {"tcp", 6},  {"udp", 17}, {"ipv6-icmp", 58},
		     {"icmp6", 58}, {"gre", 47}, {"esp", 50}, {"ah", 51}};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(w, names[i].name) == 0) {
			*proto = names[i].n;
			return 0;
		}
	char *end;
	unsigned long v = strtoul(w, &end, 10);
	if (end == w || *end || v < 1 || v > 255)
		return -1;
	*proto = (uint8_t)v;
	return 0;
}

static int parse_port(const char *w, uint16_t *port)
{
	char *end;
	unsigned long v = strtoul(w, &end, 10);
	if (end == w || *end || v < 1 || v > 65535 || !isdigit((unsigned char)w[0]))
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static void parse_psk(struct parser *p, const char *w, struct iked_policy *pol)
{
	size_t l = strlen(w);
	if (l > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) {
		long n = hex_decode(w + 2, pol->psk, sizeof(pol->psk));
		if (n <= 0) {
			perr(p,
			     "psk: '0x...' must be an even number of hex digits, at most %u bytes",
			     IKED_PSK_MAX);
			return;
		}
		pol->psklen = (unsigned)n;
		return;
	}
	if (l == 0 || l > sizeof(pol->psk)) {
		perr(p, "psk: 1 to %u bytes", IKED_PSK_MAX);
		return;
	}
	memcpy(pol->psk, w, l);
	pol->psklen = (unsigned)l;
}

static void parse_ikev2(struct parser *p, const struct words *ws, struct iked_policy *pol,
			unsigned nr, const char *where)
{
	memset(pol, 0, sizeof(*pol));
	snprintf(pol->where, sizeof(pol->where), "%s", where);
	snprintf(pol->name, sizeof(pol->name), "policy%u", nr);
	pol->satype = SADB_SATYPE_ESP;
	pol->mode = IKED_PASSIVE;
	bool has_from = false, has_to = false, has_peer = false;
	unsigned i = 1;
	if (i < ws->n && !is_kw(ws->w[i])) {
		if (strlen(ws->w[i]) >= sizeof(pol->name)) {
			perr(p, "a policy name of at most %zu bytes", sizeof(pol->name) - 1);
			return;
		}
		snprintf(pol->name, sizeof(pol->name), "%s", ws->w[i++]);
	}
	while (i < ws->n && !p->failed) {
		const char *w = ws->w[i++];
		const char *arg = i < ws->n ? ws->w[i] : NULL;
#define NEED_ARG(what)                                   \
	do {                                             \
		if (!arg) {                              \
			perr(p, "%s needs %s", w, what); \
			return;                          \
		}                                        \
		i++;                                     \
	} while (0)
		if (strcmp(w, "active") == 0) {
			pol->mode = IKED_ACTIVE;
		} else if (strcmp(w, "passive") == 0) {
			pol->mode = IKED_PASSIVE;
		} else if (strcmp(w, "acquire") == 0) {
			pol->mode = IKED_ACQUIRE;
		} else if (strcmp(w, "esp") == 0 || strcmp(w, "ah") == 0) {
			pol->satype = w[0] == 'e' ? SADB_SATYPE_ESP : SADB_SATYPE_AH;
		} else if (strcmp(w, "tunnel") == 0 || strcmp(w, "transport") == 0) {
			pol->transport = w[1] == 'r';
		} else if (strcmp(w, "proto") == 0) {
			NEED_ARG("a protocol");
			if (parse_proto(arg, &pol->proto) < 0)
				perr(p, "proto: '%s' is not a protocol name or a number 1 to 255",
				     arg);
		} else if (strcmp(w, "from") == 0 || strcmp(w, "to") == 0) {
			NEED_ARG("an address or network");
			bool from = w[0] == 'f';
			if (parse_net(arg, from ? &pol->src : &pol->dst,
				      from ? &pol->src_plen : &pol->dst_plen) < 0) {
				perr(p, "%s: '%s' is not an address, network or any", w, arg);
				return;
			}
			(from ? &has_from : &has_to)[0] = true;
			if (i + 1 < ws->n && strcmp(ws->w[i], "port") == 0) {
				if (parse_port(ws->w[i + 1], from ? &pol->sport : &pol->dport) < 0)
					perr(p, "port: '%s' is not a number 1 to 65535",
					     ws->w[i + 1]);
				i += 2;
			}
		} else if (strcmp(w, "local") == 0 || strcmp(w, "peer") == 0) {
			NEED_ARG("an address");
			bool local = w[0] == 'l';
			if (!local && strcmp(arg, "any") == 0) {
				pol->peer_any = true;
				has_peer = true;
			} else if (addr_parse(arg, local ? &pol->local : &pol->peer) < 0) {
				perr(p, "%s: '%s' is not an address%s", w, arg,
				     local ? "" : " or any");
			} else if (local) {
				pol->has_local = true;
			} else {
				has_peer = true;
			}
		} else if (strcmp(w, "ikesa") == 0 || strcmp(w, "childsa") == 0) {
			bool child = w[0] == 'c';
			unsigned *n = child ? &pol->nchild : &pol->nike;
			if (*n == IKED_MAX_PROPS) {
				perr(p, "more than %u %s clauses", IKED_MAX_PROPS, w);
				return;
			}
			parse_prop(p, ws, &i, child, child ? &pol->child[*n] : &pol->ike[*n]);
			(*n)++;
		} else if (strcmp(w, "srcid") == 0 || strcmp(w, "dstid") == 0) {
			NEED_ARG("an identity");
			char *dst = w[0] == 's' ? pol->srcid : pol->dstid;
			if (strlen(arg) >= IKED_ID_MAX)
				perr(p, "%s: at most %d bytes", w, IKED_ID_MAX - 1);
			else
				snprintf(dst, IKED_ID_MAX, "%s", arg);
		} else if (strcmp(w, "ikelifetime") == 0 || strcmp(w, "lifetime") == 0) {
			NEED_ARG("a time");
			uint64_t v;
			if (parse_secs(arg, &v) < 0 || v == 0)
				perr(p, "%s: '%s' is not a time in seconds (or with s, m, h or d)",
				     w, arg);
			else if (w[0] == 'i')
				pol->ikelifetime = v;
			else
				pol->lifetime = v;
			if (w[0] == 'l' && i + 1 < ws->n && strcmp(ws->w[i], "bytes") == 0) {
				if (parse_bytes(ws->w[i + 1], &pol->lifebytes) < 0 ||
				    !pol->lifebytes)
					perr(p,
					     "bytes: '%s' is not a number of bytes (or with K, M "
					     "or G)",
					     ws->w[i + 1]);
				i += 2;
			}
		} else if (strcmp(w, "psk") == 0) {
			NEED_ARG("a key");
			parse_psk(p, arg, pol);
		} else if (strcmp(w, "ikelifetime") == 0) {
			NEED_ARG("a time");
		} else {
			perr(p, "unknown word '%.64s' in an ikev2 policy", w);
		}
#undef NEED_ARG
	}
	if (p->failed)
		return;
	if (!has_from || !has_to) {
		perr(p, "policy %s: from and to are required (the flow to protect)", pol->name);
		return;
	}
	if (pol->src.af != pol->dst.af && pol->src_plen && pol->dst_plen) {
		perr(p, "policy %s: from and to are of different address families", pol->name);
		return;
	}
	if (!pol->src_plen && pol->dst.af == ADDR_V6)
		pol->src.af = ADDR_V6;
	if (!pol->dst_plen && pol->src.af == ADDR_V6)
		pol->dst.af = ADDR_V6;
	if (!has_peer && pol->transport && pol->dst_plen == addr_bits(pol->dst.af)) {
		pol->peer = pol->dst; /* transport: the peer is the flow's other end */
		has_peer = true;
	}
	if (!has_peer) {
		perr(p, "policy %s: no peer (an address, or any for a passive policy)", pol->name);
		return;
	}
	if (pol->peer_any && pol->mode != IKED_PASSIVE) {
		perr(p, "policy %s: peer any can only answer: make it passive", pol->name);
		return;
	}
	if (!pol->psklen) {
		perr(p,
		     "policy %s: no psk (ipsecsim's daemon authenticates by pre-shared key only)",
		     pol->name);
		return;
	}
	default_props(pol);
}

/* set dpd_check_interval TIME | set cookie_threshold N */
static void parse_set(struct parser *p, const struct words *ws, struct iked_settings *set)
{
	uint64_t v = 0;
	if (ws->n != 3) {
		perr(p, "usage: set dpd_check_interval TIME or set cookie_threshold N");
	} else if (strcmp(ws->w[1], "dpd_check_interval") == 0) {
		if (parse_secs(ws->w[2], &v) < 0 || v > 86400)
			perr(p, "set dpd_check_interval: '%.64s' is not a time up to 1d (0: none)",
			     ws->w[2]);
		set->dpd_interval = v;
		set->has_dpd = true;
	} else if (strcmp(ws->w[1], "cookie_threshold") == 0) {
		if (parse_scaled(ws->w[2], "", NULL, &v) < 0 || v > 65535)
			perr(p,
			     "set cookie_threshold: '%.64s' is not a count up to 65535 (0: never)",
			     ws->w[2]);
		set->cookie_threshold = (unsigned)v;
		set->has_cookie = true;
	} else {
		perr(p,
		     "set %.64s: ipsecsim's daemon has set dpd_check_interval and set "
		     "cookie_threshold",
		     ws->w[1]);
	}
}

int iked_conf_parse(const char *path, const struct conf_options *opts, struct iked_policy **out,
		    unsigned *n, struct iked_settings *set)
{
	*out = NULL;
	*n = 0;
	struct conf_lexer *lx = lex_open(path, opts);
	if (!lx)
		return -1;
	struct parser p = {.lx = lx};
	struct words ws = {0};
	bool lex_failed;
	unsigned nth = 0; /* ikev2 statements, for the names of unnamed policies */
	while (read_statement(lx, &ws, &lex_failed)) {
		p.line = ws.line;
		p.failed = lex_failed;
		if (lex_failed || ws.n == 0) {
			words_free(&ws);
			continue;
		}
		if (ws.overflow) {
			perr(&p, "more than %d words in one statement", MAX_WORDS);
		} else if (ws.n >= 2 && strcmp(ws.w[1], "=") == 0) {
			if (ws.n != 3)
				perr(&p, "a macro is NAME = \"value\"");
			else
				lex_set_macro(lx, ws.w[0], ws.w[2]);
		} else if (strcmp(ws.w[0], "set") == 0) {
			parse_set(&p, &ws, set);
		} else if (strcmp(ws.w[0], "include") == 0) {
			if (ws.n != 2)
				perr(&p, "include \"file\"");
			else if (lex_include(lx, ws.w[1]) < 0)
				perr(&p, "failed to include file %s", ws.w[1]);
		} else if (strcmp(ws.w[0], "ikev2") == 0) {
			char where[300];
			snprintf(where, sizeof(where), "%s:%u", lex_name(lx), ws.line);
			struct iked_policy pol;
			parse_ikev2(&p, &ws, &pol, ++nth, where);
			if (!p.failed) {
				struct iked_policy *g = xcalloc(*n + 1, sizeof(*g));
				if (*n) {
					memcpy(g, *out, *n * sizeof(*g));
					OPENSSL_cleanse(*out, *n * sizeof(*g));
				}
				free(*out);
				*out = g;
				(*out)[(*n)++] = pol;
			}
			OPENSSL_cleanse(&pol, sizeof(pol));
		} else {
			perr(&p,
			     "unknown word '%.64s': an iked.conf statement is ikev2, set, include "
			     "or NAME = value",
			     ws.w[0]);
		}
		words_free(&ws);
	}
	unsigned errors = lex_errors(lx);
	lex_close(lx);
	return errors ? -1 : 0;
}

void iked_conf_free(struct iked_policy *p, unsigned n)
{
	if (p)
		OPENSSL_cleanse(p, n * sizeof(*p));
	free(p);
}
