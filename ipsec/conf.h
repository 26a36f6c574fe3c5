/*
 * The ipsec.conf front end (OpenBSD's ipsecctl for manual keying): lexer
 * (conf_lex.c), parser and rule expansion (conf.c), and loading through
 * PF_KEY (conf_load.c).
 *
 * Two modes.  CONF_STRICT behaves as ipsecctl, refusing the ciphers that are
 * "disallowed with static keys".  CONF_TESTBED takes the same grammar plus
 * what a testbed needs: those ciphers with static keys, and after an SA
 * rule's bundle clause `replay N`, `esn` and `lifetime soft|hard ...`
 * (docs/ipsec-conf.md).
 */
#ifndef IPSEC_CONF_H
#define IPSEC_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../stack/addr.h"

enum conf_mode { CONF_STRICT, CONF_TESTBED };

enum conf_satype { CS_NONE, CS_ESP, CS_AH, CS_IPCOMP, CS_TCPMD5, CS_IPIP };
enum conf_tmode { CT_NONE, CT_TRANSPORT, CT_TUNNEL };
enum conf_dir { CD_NONE, CD_IN, CD_OUT, CD_INOUT };
enum conf_flowtype { CF_UNKNOWN, CF_USE, CF_ACQUIRE, CF_REQUIRE, CF_DENY, CF_BYPASS, CF_DONTACQ };
enum conf_rtype { CR_FLOW = 1, CR_SA = 2, CR_BUNDLE = 4 };

/* An address as written: `name` is what ipsecctl prints back. */
struct conf_addr {
	struct ipaddr addr; /* not masked: host bits are kept as written */
	unsigned plen;
	bool netaddress; /* written with a prefix (or any) */
	bool any;        /* `any` before expansion */
	struct conf_addr *next;
};

/* A transform from ipsecctl's tables. */
struct conf_xf {
	const char *name;
	int id; /* the table's own id (ENCXF_AES ...) */
	uint16_t keymin, keymax;
	bool noauth, nostatic;
	uint8_t salt; /* bytes at the end of the key that are its salt or nonce */
};

struct conf_key {
	uint8_t *data;
	size_t len;
};

struct conf_lifetime {
	uint64_t bytes, addtime, usetime; /* 0: not set */
};

struct conf_rule {
	struct conf_rule *next;
	unsigned nr;
	const char *file; /* where the rule was written (owned by struct conf) */
	unsigned line;
	int type; /* CR_* */
	enum conf_satype satype;
	enum conf_tmode tmode;
	enum conf_dir direction;
	enum conf_flowtype flowtype;
	uint8_t proto;
	uint16_t sport, dport; /* host order */
	struct conf_addr src, dst;
	bool has_local, has_peer;
	struct conf_addr local, peer;
	char *srcid, *dstid;
	uint32_t spi;
	bool udpencap;
	uint16_t udpdport;
	const struct conf_xf *authxf, *encxf, *compxf;
	struct conf_key authkey, enckey;
	/* a bundle line: this SA then the second */
	enum conf_satype satype2;
	uint32_t spi2;
	struct conf_addr dst2;
	/* testbed extensions */
	uint8_t replay;
	bool esn;
	struct conf_lifetime soft, hard;
	bool has_soft, has_hard;
};

struct conf_define {
	const char *name, *value;
};

struct conf_options {
	enum conf_mode mode;
	bool verbose, verbose2;            /* -v, -vv: print rules (and their numbers) */
	bool showkeys;                     /* -k */
	const struct conf_define *defines; /* -D: win over the file's macros */
	unsigned ndefines;
	FILE *out;    /* -v output; NULL: none */
	FILE *err;    /* "FILE: LINE: message" */
	bool compact; /* "FILE:LINE: message", the scenario runner's style */
	/* Where a scenario's ipsec block starts, for its line numbers. */
	const char *text;      /* parse this instead of a file */
	const char *text_name; /* the name errors use for it */
	unsigned text_line;    /* the line `text` starts on */
};

struct conf {
	struct conf_rule *head, *tail;
	unsigned nrules;
	unsigned errors;
	char **files; /* the names rules point to, each once */
	unsigned nfiles;
};

/* Parse a file ("-" is stdin) or opts->text; returns 0, or -1 after
 * reporting every error.  The rules are kept even when there are errors. */
int conf_parse(const char *path, const struct conf_options *opts, struct conf *conf);
void conf_free(struct conf *conf);
/* Print one rule in ipsecctl's -nv format. */
void conf_print_rule(const struct conf_rule *r, FILE *f, bool showkeys, bool numbers);

/* Transform tables (prefix matched, in table order, as parse_xf does). */
const struct conf_xf *conf_xf_auth(const char *name);
const struct conf_xf *conf_xf_enc(const char *name);
const struct conf_xf *conf_xf_comp(const char *name);
bool conf_xf_group_ok(const char *name);

struct pfkey_sock;
/* Load every rule through a PF_KEY socket as ipsecctl does: X_ADDFLOW,
 * ADD, X_GRPSPIS.  Returns the number of rules the kernel refused; each is
 * reported to err as ipsecctl does, "failed to add rule N: reason", or with
 * `who` as "FILE:LINE: WHO's kernel refused rule N: reason". */
unsigned conf_load(const struct conf *conf, struct pfkey_sock *s, FILE *err, const char *who);

/* ---- lexer (conf_lex.c) ---- */
enum conf_tok {
	TK_EOF,
	TK_NL,
	TK_STRING,
	TK_NUMBER,
	TK_CHAR, /* '/', '{', '}', ',', '=', '(', ')', '-' */
	TK_ERROR,
	/* keywords, in the sorted order the keyword table is searched */
	TK_ACQUIRE,
	TK_ACTIVE,
	TK_AGGRESSIVE,
	TK_AH,
	TK_ANY,
	TK_AUTH,
	TK_AUTHKEY,
	TK_BUNDLE,
	TK_BYPASS,
	TK_COMP,
	TK_DENY,
	TK_DONTACQ,
	TK_DSTID,
	TK_DYNAMIC,
	TK_ENC,
	TK_ENCKEY,
	TK_ESP,
	TK_FILE,
	TK_FLOW,
	TK_FROM,
	TK_GROUP,
	TK_IKE,
	TK_IN,
	TK_INCLUDE,
	TK_INTERFACE,
	TK_IPCOMP,
	TK_IPIP,
	TK_LIFETIME,
	TK_LOCAL,
	TK_MAIN,
	TK_OUT,
	TK_PASSIVE,
	TK_PEER,
	TK_PORT,
	TK_PROTO,
	TK_PSK,
	TK_QUICK,
	TK_REQUIRE,
	TK_RSA,
	TK_SPI,
	TK_SRCID,
	TK_TAG,
	TK_TCPMD5,
	TK_TO,
	TK_TRANSPORT,
	TK_TUNNEL,
	TK_TYPE,
	TK_UDPENCAP,
	TK_USE,
	/* testbed keywords: recognised in CONF_TESTBED only */
	TK_REPLAY,
	TK_ESN,
	TK_SOFT,
	TK_HARD,
	TK_BYTES,
	TK_TIME,
	TK_USETIME,
};

struct conf_lexer;
struct conf_token {
	enum conf_tok tok;
	char *str;     /* TK_STRING (owned by the lexer until the next token) */
	long long num; /* TK_NUMBER */
	int ch;        /* TK_CHAR */
	unsigned line;
};

#endif
