/*
 * pf.conf, the subset a pf user reads without the manual (docs/pf.md):
 *
 *   NAME = "value"                       macros, used as $NAME
 *   table <NAME> [const|persist] { ADDR ... }
 *   set skip on IFACE | { IFACE ... }
 *   set limit states N | set limit { states N }
 *   set timeout NAME SECONDS | set timeout { NAME SECONDS, ... }
 *   pass|block [drop|return]|match [in|out] [log [(all)]] [quick]
 *        [on [!]IFACE|{ ... }] [inet|inet6] [proto P|{ ... }]
 *        all | [from HOSTS [port PORTS]] [to HOSTS [port PORTS]]
 *        [flags F/S|any] [icmp-type T [code C]] [icmp6-type T [code C]]
 *        [keep state|no state] [nat-to POOL] [rdr-to POOL] [binat-to POOL]
 *        [label "text"]
 *
 * Lists ({ a b c }) expand into one rule per combination, numbered in
 * order, as pfctl expands them; binat-to becomes two rules, as pfctl
 * makes it.  Every error is "file:line: message", and the whole file is
 * read so that all of them are reported.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/icmp.h"
#include "../stack/icmp6.h"
#include "../stack/iface.h"
#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/node.h"
#include "../stack/tcp.h"
#include "../stack/util.h"
#include "pf_var.h"

#define PF_MAX_TOKENS 512
#define PF_MAX_LIST   64   /* items in one { } list */
#define PF_MAX_EXPAND 4096 /* rules one line may expand into */
#define PF_MAX_MACRO  64   /* macro expansion depth and count */
#define PF_MAX_LINE   65536

enum tok_kind { T_WORD, T_STRING, T_TABLE, T_PUNCT, T_END };

struct tok {
	enum tok_kind kind;
	char *s;
};

struct parser {
	struct pf *pf;
	struct node *node;
	FILE *err;
	const char *file;
	unsigned line;
	unsigned errors;
	struct pf_define *macros;
	unsigned nmacros;
	const struct pf_conf_options *o;
	struct tok tok[PF_MAX_TOKENS];
	unsigned ntok, pos;
	bool failed;       /* this statement had an error already */
	bool adaptive_set; /* set timeout adaptive.start or .end was given */
};

static void perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(struct parser *ps, const char *fmt, ...)
{
	if (ps->failed)
		return; /* one message per statement: the first is the cause */
	ps->failed = true;
	ps->errors++;
	va_list ap;
	va_start(ap, fmt);
	fprintf(ps->err, "%s:%u: ", ps->file, ps->line);
	vfprintf(ps->err, fmt, ap);
	fputc('\n', ps->err);
	va_end(ap);
}

/* ---- macros and tokens ---- */

static const char *macro_get(const struct parser *ps, const char *name, size_t len)
{
	for (unsigned i = 0; i < ps->o->ndefines; i++)
		if (strlen(ps->o->defines[i].name) == len &&
		    strncmp(ps->o->defines[i].name, name, len) == 0)
			return ps->o->defines[i].value;
	for (unsigned i = ps->nmacros; i-- > 0;)
		if (strlen(ps->macros[i].name) == len &&
		    strncmp(ps->macros[i].name, name, len) == 0)
			return ps->macros[i].value;
	return NULL;
}

/* $NAME replaced by its value, again and again up to PF_MAX_MACRO times
 * (a macro may name others); NULL after an error. */
static char *expand(struct parser *ps, const char *in)
{
	char *cur = xstrdup(in);
	for (unsigned round = 0; strchr(cur, '$'); round++) {
		if (round == PF_MAX_MACRO) {
			perr(ps, "macros nest deeper than %d (a macro that names itself?)",
			     PF_MAX_MACRO);
			free(cur);
			return NULL;
		}
		size_t cap = strlen(cur) + 1, len = 0;
		char *out = xmalloc(cap);
		for (const char *p = cur; *p;) {
			if (*p != '$') {
				if (len + 2 > cap)
					out = xrealloc(out, cap *= 2);
				out[len++] = *p++;
				continue;
			}
			const char *name = ++p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			const char *v = macro_get(ps, name, (size_t)(p - name));
			if (!v) {
				perr(ps, "macro '%.*s' is not defined", (int)(p - name), name);
				free(out);
				free(cur);
				return NULL;
			}
			size_t vl = strlen(v);
			while (len + vl + 2 > cap)
				cap *= 2;
			out = xrealloc(out, cap);
			memcpy(out + len, v, vl);
			len += vl;
		}
		out[len] = '\0';
		free(cur);
		cur = out;
		if (len > PF_MAX_LINE) {
			perr(ps, "a line grows beyond %d bytes through its macros", PF_MAX_LINE);
			free(cur);
			return NULL;
		}
	}
	return cur;
}

static bool is_wordc(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
}

static void tokens_free(struct parser *ps)
{
	for (unsigned i = 0; i < ps->ntok; i++)
		free(ps->tok[i].s);
	ps->ntok = ps->pos = 0;
}

static int push_tok(struct parser *ps, enum tok_kind k, const char *s, size_t n)
{
	if (ps->ntok == PF_MAX_TOKENS - 1) {
		perr(ps, "more than %d words in one statement", PF_MAX_TOKENS - 1);
		return -1;
	}
	char *c = xmalloc(n + 1);
	memcpy(c, s, n);
	c[n] = '\0';
	ps->tok[ps->ntok++] = (struct tok){k, c};
	return 0;
}

static int tokenize(struct parser *ps, const char *s)
{
	tokens_free(ps);
	while (*s) {
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (*s == '#')
			break;
		const char *b = s;
		if (*s == '"') {
			const char *e = strchr(s + 1, '"');
			if (!e) {
				perr(ps, "a string is not closed (\" missing)");
				return -1;
			}
			if (push_tok(ps, T_STRING, s + 1, (size_t)(e - s - 1)) < 0)
				return -1;
			s = e + 1;
			continue;
		}
		if (is_wordc((unsigned char)*s)) {
			while (is_wordc((unsigned char)*s))
				s++;
			if (push_tok(ps, T_WORD, b, (size_t)(s - b)) < 0)
				return -1;
			continue;
		}
		if (*s == '<') {
			const char *e = s + 1;
			while (isalnum((unsigned char)*e) || *e == '_' || *e == '-')
				e++;
			if (*e == '>' && e > s + 1) {
				if (push_tok(ps, T_TABLE, s + 1, (size_t)(e - s - 1)) < 0)
					return -1;
				s = e + 1;
				continue;
			}
		}
		size_t n = 1;
		if ((s[0] == '<' && (s[1] == '=' || s[1] == '>')) ||
		    (s[0] == '>' && (s[1] == '=' || s[1] == '<')) || (s[0] == '!' && s[1] == '='))
			n = 2;
		if (!strchr("{},!=<>()", s[0])) {
			perr(ps, "unexpected character '%c'", *s);
			return -1;
		}
		if (push_tok(ps, T_PUNCT, s, n) < 0)
			return -1;
		s += n;
	}
	ps->tok[ps->ntok] = (struct tok){T_END, NULL};
	return 0;
}

static const struct tok *peek(const struct parser *ps)
{
	return &ps->tok[ps->pos];
}

static bool at(const struct parser *ps, const char *w)
{
	const struct tok *t = peek(ps);
	return (t->kind == T_WORD || t->kind == T_PUNCT) && strcmp(t->s, w) == 0;
}

static bool accept(struct parser *ps, const char *w)
{
	if (!at(ps, w))
		return false;
	ps->pos++;
	return true;
}

static const char *tok_desc(const struct tok *t)
{
	return t->kind == T_END ? "the end of the line" : t->s;
}

/* A word (or quoted string); NULL after an error naming what was wanted. */
static const char *need_word(struct parser *ps, const char *what)
{
	const struct tok *t = peek(ps);
	if (t->kind != T_WORD && t->kind != T_STRING) {
		perr(ps, "%s expected, not '%s'", what, tok_desc(t));
		return NULL;
	}
	ps->pos++;
	return t->s;
}

static int parse_num(struct parser *ps, const char *s, uint64_t max, uint64_t *v, const char *what)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		goto bad;
	unsigned long long x = strtoull(s, &end, 10);
	if (*end || errno || x > max)
		goto bad;
	*v = x;
	return 0;
bad:
	perr(ps, "%s must be a number from 0 to %llu, not '%s'", what, (unsigned long long)max, s);
	return -1;
}

/* ---- lists: one item, or { item [,] item ... } ---- */

typedef int (*item_fn)(struct parser *ps, void *out);

static int parse_list(struct parser *ps, item_fn fn, void *items, size_t size, unsigned *n)
{
	*n = 0;
	if (!accept(ps, "{")) {
		if (fn(ps, items) < 0)
			return -1;
		*n = 1;
		return 0;
	}
	while (!accept(ps, "}")) {
		if (peek(ps)->kind == T_END) {
			perr(ps, "a list is not closed ('}' missing)");
			return -1;
		}
		if (accept(ps, ","))
			continue;
		if (*n == PF_MAX_LIST) {
			perr(ps, "more than %d items in one list", PF_MAX_LIST);
			return -1;
		}
		if (fn(ps, (char *)items + *n * size) < 0)
			return -1;
		(*n)++;
	}
	if (!*n) {
		perr(ps, "an empty list");
		return -1;
	}
	return 0;
}

/* ---- items ---- */

static int item_ifname(struct parser *ps, void *out)
{
	char *o = out;
	bool neg = accept(ps, "!");
	const char *w = need_word(ps, "an interface name");
	if (!w)
		return -1;
	if (strlen(w) >= PF_IFNAMSIZ - 1) {
		perr(ps, "interface name '%s' is longer than %d characters", w, PF_IFNAMSIZ - 2);
		return -1;
	}
	/* pfctl takes names of interfaces still to come; here they all exist
	 * already, and a name that is not there is a typo that would never
	 * match. */
	if (strcmp(w, "enc0") != 0 && strcmp(w, "lo0") != 0 && !node_iface(ps->node, w)) {
		char names[256] = "";
		size_t len = 0;
		for (unsigned i = 0; i < ps->node->nifaces && len < sizeof(names) - 20; i++)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s ",
						ps->node->ifaces[i]->name);
		perr(ps, "%s has no interface '%s' (it has %senc0)", ps->node->name, w, names);
		return -1;
	}
	o[0] = neg ? '!' : ' ';
	strcpy(o + 1, w);
	return 0;
}

static const struct {
	const char *name;
	int num;
} proto_names[] = {{"icmp", 1},  {"igmp", 2},     {"ipencap", 4}, {"tcp", 6},     {"udp", 17},
		   {"ipv6", 41}, {"gre", 47},     {"esp", 50},    {"ah", 51},     {"icmp6", 58},
		   {"ipip", 94}, {"ipcomp", 108}, {"carp", 112},  {"pfsync", 240}};

const char *pf_proto_name(int p)
{
	for (size_t i = 0; i < ARRAY_LEN(proto_names); i++)
		if (proto_names[i].num == p)
			return proto_names[i].name;
	return NULL;
}

static int item_proto(struct parser *ps, void *out)
{
	const char *w = need_word(ps, "a protocol");
	if (!w)
		return -1;
	for (size_t i = 0; i < ARRAY_LEN(proto_names); i++)
		if (strcmp(w, proto_names[i].name) == 0) {
			*(int *)out = proto_names[i].num;
			return 0;
		}
	uint64_t v;
	if (!isdigit((unsigned char)w[0])) {
		perr(ps,
		     "unknown protocol '%s' (tcp, udp, icmp, icmp6, esp, ah, ipcomp, "
		     "ipencap, ipv6, gre, or a number)",
		     w);
		return -1;
	}
	if (parse_num(ps, w, 255, &v, "a protocol number") < 0)
		return -1;
	*(int *)out = (int)v;
	return 0;
}

static int find_table(const struct pf *pf, const char *name)
{
	for (unsigned i = 0; i < pf->ntables; i++)
		if (strcmp(pf->tables[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ADDR, ADDR/LEN, any, self, <table>, each perhaps after '!' */
static int item_host(struct parser *ps, void *out)
{
	struct pf_rule_addr *a = out;
	memset(a, 0, sizeof(*a));
	a->neg = accept(ps, "!");
	const struct tok *t = peek(ps);
	if (t->kind == T_TABLE) {
		ps->pos++;
		a->kind = PF_ADDR_TABLE;
		a->table = find_table(ps->pf, t->s);
		if (a->table < 0) {
			perr(ps, "table <%s> is not defined (table <%s> { ... } before the rule)",
			     t->s, t->s);
			return -1;
		}
		return 0;
	}
	const char *w = need_word(ps, "an address, any, self or <table>");
	if (!w)
		return -1;
	if (strcmp(w, "any") == 0) {
		a->kind = PF_ADDR_ANY;
		return 0;
	}
	if (strcmp(w, "self") == 0) {
		a->kind = PF_ADDR_SELF;
		return 0;
	}
	unsigned plen;
	if (addr_parse_prefix(w, &a->a, &plen) < 0) {
		perr(ps,
		     "'%s' is not an address or a network (such as 10.0.0.0/24 or 2001:db8::/32)",
		     w);
		return -1;
	}
	a->kind = PF_ADDR_NET;
	a->plen = (uint8_t)plen;
	addr_mask(&a->a, plen);
	return 0;
}

static const struct {
	const char *name;
	uint16_t port;
} port_names[] = {{"ssh", 22},     {"smtp", 25},          {"domain", 53}, {"www", 80},
		  {"http", 80},    {"ntp", 123},          {"https", 443}, {"isakmp", 500},
		  {"syslog", 514}, {"ipsec-nat-t", 4500}, {"echo", 7},    {"discard", 9},
		  {"chargen", 19}};

static int port_num(struct parser *ps, const char *w, uint16_t *v)
{
	for (size_t i = 0; i < ARRAY_LEN(port_names); i++)
		if (strcmp(w, port_names[i].name) == 0) {
			*v = port_names[i].port;
			return 0;
		}
	uint64_t x;
	if (!isdigit((unsigned char)w[0])) {
		perr(ps,
		     "unknown port '%s' (a number, or ssh, domain, www, https, isakmp, "
		     "ipsec-nat-t ...)",
		     w);
		return -1;
	}
	if (parse_num(ps, w, 65535, &x, "a port") < 0)
		return -1;
	*v = (uint16_t)x;
	return 0;
}

/* N, = N, != N, < N, <= N, > N, >= N, A:B, A >< B, A <> B */
static int item_port(struct parser *ps, void *out)
{
	struct pf_port *pp = out;
	memset(pp, 0, sizeof(*pp));
	static const struct {
		const char *w;
		uint8_t op;
	} unary[] = {{"=", PF_OP_EQ},  {"!=", PF_OP_NE}, {"<", PF_OP_LT},
		     {"<=", PF_OP_LE}, {">", PF_OP_GT},  {">=", PF_OP_GE}};
	for (size_t i = 0; i < ARRAY_LEN(unary); i++)
		if (accept(ps, unary[i].w)) {
			const char *w = need_word(ps, "a port");
			if (!w || port_num(ps, w, &pp->a) < 0)
				return -1;
			pp->op = unary[i].op;
			return 0;
		}
	const char *w = need_word(ps, "a port");
	if (!w)
		return -1;
	const char *colon = strchr(w, ':');
	if (colon) {
		char lo[32];
		snprintf(lo, sizeof(lo), "%.*s", (int)(colon - w), w);
		if (port_num(ps, lo, &pp->a) < 0 || port_num(ps, colon + 1, &pp->b) < 0)
			return -1;
		if (pp->a > pp->b) {
			perr(ps, "port range %s runs backwards", w);
			return -1;
		}
		pp->op = PF_OP_RRG;
		return 0;
	}
	if (port_num(ps, w, &pp->a) < 0)
		return -1;
	pp->op = PF_OP_EQ;
	if (at(ps, "><") || at(ps, "<>")) {
		pp->op = accept(ps, "><") ? PF_OP_XRG : (ps->pos++, PF_OP_IRG);
		const char *w2 = need_word(ps, "a port");
		if (!w2 || port_num(ps, w2, &pp->b) < 0)
			return -1;
	}
	return 0;
}

/* ---- translation pools ---- */

static int parse_pool(struct parser *ps, struct pf_pool *pool, bool nat, const char *kw)
{
	if (pool->set) {
		perr(ps, "%s given twice", kw);
		return -1;
	}
	memset(pool, 0, sizeof(*pool));
	const char *w = need_word(ps, "an address");
	if (!w)
		return -1;
	unsigned plen;
	if (addr_parse_prefix(w, &pool->a, &plen) < 0) {
		perr(ps, "%s needs an address or a network, not '%s'", kw, w);
		return -1;
	}
	pool->set = true;
	pool->plen = (uint8_t)plen;
	if (accept(ps, "port")) {
		struct pf_port pp;
		if (item_port(ps, &pp) < 0)
			return -1;
		if (pp.op != PF_OP_EQ && pp.op != PF_OP_RRG) {
			perr(ps, "%s port is a port or a range A:B", kw);
			return -1;
		}
		pool->plow = pp.a;
		pool->phigh = pp.op == PF_OP_RRG ? pp.b : pp.a;
		if (pool->plow == 0) {
			perr(ps, "%s port 0 is not a port", kw);
			return -1;
		}
	} else if (nat) {
		pool->plow = PF_NAT_PORT_LOW;
		pool->phigh = PF_NAT_PORT_HIGH;
	}
	for (;;) {
		if (accept(ps, "bitmask"))
			pool->bitmask = true;
		else if (accept(ps, "static-port") && nat)
			pool->static_port = true;
		else
			break;
	}
	if (strcmp(kw, "binat-to") == 0)
		pool->bitmask = true; /* a one-to-one mapping of two networks */
	if (pool->plen != addr_bits(pool->a.af) && !pool->bitmask) {
		perr(ps, "%s %s: a network needs 'bitmask' (the only pool type here)", kw, w);
		return -1;
	}
	return 0;
}

/* ---- rules ---- */

struct rule_spec {
	struct pf_rule r; /* everything but what the lists give */
	char ifs[PF_MAX_LIST][PF_IFNAMSIZ];
	unsigned nifs;
	int protos[PF_MAX_LIST];
	unsigned nprotos;
	struct pf_rule_addr srcs[PF_MAX_LIST], dsts[PF_MAX_LIST];
	unsigned nsrcs, ndsts;
	struct pf_port sports[PF_MAX_LIST], dports[PF_MAX_LIST];
	unsigned nsports, ndports;
	bool flags_set, state_set;
	struct pf_pool binat;
	char *label;
};

static int parse_icmp_type(struct parser *ps, struct pf_rule *r, bool v6)
{
	static const struct {
		const char *name;
		uint8_t v4, v6;
	} types[] = {{"echoreq", ICMP_ECHO, ICMP6_ECHO_REQUEST},
		     {"echorep", ICMP_ECHOREPLY, ICMP6_ECHO_REPLY},
		     {"unreach", ICMP_UNREACH, ICMP6_DST_UNREACH},
		     {"timex", ICMP_TIMXCEED, ICMP6_TIME_EXCEEDED},
		     {"paramprob", ICMP_PARAMPROB, ICMP6_PARAM_PROB},
		     {"toobig", 0, ICMP6_PACKET_TOO_BIG},
		     {"neighbrsol", 0, ND_NEIGHBOR_SOLICIT},
		     {"neighbradv", 0, ND_NEIGHBOR_ADVERT},
		     {"routersol", 0, ND_ROUTER_SOLICIT},
		     {"routeradv", 0, ND_ROUTER_ADVERT}};
	if (r->icmp_type >= 0) {
		perr(ps, "icmp-type given twice");
		return -1;
	}
	const char *w = need_word(ps, "an ICMP type");
	if (!w)
		return -1;
	r->icmp_type = -1;
	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		if (strcmp(w, types[i].name) == 0 && (v6 ? types[i].v6 : types[i].v4 || i == 1))
			r->icmp_type = v6 ? types[i].v6 : types[i].v4;
	if (r->icmp_type < 0) {
		uint64_t v;
		if (!isdigit((unsigned char)w[0])) {
			perr(ps,
			     "unknown %s '%s' (echoreq, echorep, unreach, timex, paramprob%s, or a "
			     "number)",
			     v6 ? "icmp6-type" : "icmp-type", w,
			     v6 ? ", toobig, neighbrsol, neighbradv, routersol, routeradv" : "");
			return -1;
		}
		if (parse_num(ps, w, 255, &v, "an ICMP type") < 0)
			return -1;
		r->icmp_type = (int)v;
	}
	if (accept(ps, "code")) {
		uint64_t v;
		const char *c = need_word(ps, "an ICMP code");
		if (!c || parse_num(ps, c, 255, &v, "an ICMP code") < 0)
			return -1;
		r->icmp_code = (int)v;
	}
	if (r->af == ADDR_NONE)
		r->af = v6 ? ADDR_V6 : ADDR_V4;
	/* pfctl: icmp-type implies the protocol */
	if (r->proto < 0)
		r->proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	return 0;
}

static int parse_flags(struct parser *ps, struct pf_rule *r)
{
	const char *w = need_word(ps, "flags such as S/SA, or any");
	if (!w)
		return -1;
	if (strcmp(w, "any") == 0) {
		r->flags = r->flagset = 0;
		return 0;
	}
	static const char letters[] = "FSRPAUEW";
	uint8_t *cur = &r->flags;
	r->flags = r->flagset = 0;
	bool slash = false;
	for (const char *c = w; *c; c++) {
		if (*c == '/' && !slash) {
			slash = true;
			cur = &r->flagset;
			continue;
		}
		const char *l = strchr(letters, *c);
		if (!l || !*c) {
			perr(ps, "flags take the letters F S R P A U E W, as in S/SA, not '%s'", w);
			return -1;
		}
		*cur |= (uint8_t)(1u << (l - letters));
	}
	if (!slash)
		r->flagset = 0xff;
	return 0;
}

static int parse_hosts(struct parser *ps, struct rule_spec *sp)
{
	if (accept(ps, "all")) {
		sp->srcs[0].kind = sp->dsts[0].kind = PF_ADDR_ANY;
		sp->nsrcs = sp->ndsts = 1;
		return 0;
	}
	sp->nsrcs = sp->ndsts = 0;
	if (accept(ps, "from")) {
		if (!at(ps, "port") &&
		    parse_list(ps, item_host, sp->srcs, sizeof(sp->srcs[0]), &sp->nsrcs) < 0)
			return -1;
		if (accept(ps, "port") &&
		    parse_list(ps, item_port, sp->sports, sizeof(sp->sports[0]), &sp->nsports) < 0)
			return -1;
	}
	if (accept(ps, "to")) {
		if (!at(ps, "port") &&
		    parse_list(ps, item_host, sp->dsts, sizeof(sp->dsts[0]), &sp->ndsts) < 0)
			return -1;
		if (accept(ps, "port") &&
		    parse_list(ps, item_port, sp->dports, sizeof(sp->dports[0]), &sp->ndports) < 0)
			return -1;
	}
	if (!sp->nsrcs) {
		sp->srcs[0].kind = PF_ADDR_ANY;
		sp->nsrcs = 1;
	}
	if (!sp->ndsts) {
		sp->dsts[0].kind = PF_ADDR_ANY;
		sp->ndsts = 1;
	}
	return 0;
}

/* The text pfctl -sr prints for a rule. */
static void port_text(char *b, size_t cap, const struct pf_port *p)
{
	static const char *const ops[] = {"", "=", "!=", "<", "<=", ">", ">=", ":", "<>", "><"};
	if (p->op == PF_OP_RRG)
		snprintf(b, cap, " port %u:%u", p->a, p->b);
	else if (p->op == PF_OP_IRG || p->op == PF_OP_XRG)
		snprintf(b, cap, " port %u %s %u", p->a, ops[p->op], p->b);
	else
		snprintf(b, cap, " port %s %u", ops[p->op], p->a);
}

static void host_text(const struct pf *pf, char *b, size_t cap, const struct pf_rule_addr *a)
{
	char s[ADDR_STRLEN];
	const char *neg = a->neg ? "! " : "";
	switch (a->kind) {
	case PF_ADDR_ANY: snprintf(b, cap, "%sany", neg); break;
	case PF_ADDR_SELF: snprintf(b, cap, "%sself", neg); break;
	case PF_ADDR_TABLE: snprintf(b, cap, "%s<%s>", neg, pf->tables[a->table].name); break;
	default:
		if (a->plen == addr_bits(a->a.af))
			snprintf(b, cap, "%s%s", neg, addr_fmt(&a->a, s));
		else
			snprintf(b, cap, "%s%s/%u", neg, addr_fmt(&a->a, s), a->plen);
	}
}

static void pool_text(char *b, size_t cap, const char *kw, const struct pf_pool *p, bool nat)
{
	char s[ADDR_STRLEN], ports[32] = "";
	if (p->plow && !(nat && p->plow == PF_NAT_PORT_LOW && p->phigh == PF_NAT_PORT_HIGH)) {
		if (p->plow == p->phigh)
			snprintf(ports, sizeof(ports), " port %u", p->plow);
		else
			snprintf(ports, sizeof(ports), " port %u:%u", p->plow, p->phigh);
	}
	if (p->plen == addr_bits(p->a.af))
		snprintf(b, cap, " %s %s%s%s%s", kw, addr_fmt(&p->a, s), ports,
			 p->bitmask ? " bitmask" : "", p->static_port ? " static-port" : "");
	else
		snprintf(b, cap, " %s %s/%u%s%s%s", kw, addr_fmt(&p->a, s), p->plen, ports,
			 p->bitmask ? " bitmask" : "", p->static_port ? " static-port" : "");
}

static char *rule_text(const struct pf *pf, const struct pf_rule *r, const char *label)
{
	char b[1024], t[160];
	size_t n = 0;
#define ADD(...) n += (size_t)snprintf(b + n, n < sizeof(b) ? sizeof(b) - n : 0, __VA_ARGS__)
	ADD("%s", r->action == PF_PASS ? "pass" : r->action == PF_MATCH ? "match" : "block");
	if (r->action == PF_DROP)
		ADD(r->ret ? " return" : " drop");
	if (r->dir != PF_INOUT)
		ADD(r->dir == PF_IN ? " in" : " out");
	if (r->log)
		ADD(r->log_all ? " log (all)" : " log");
	if (r->quick)
		ADD(" quick");
	if (r->ifname[0])
		ADD(" on %s%s", r->ifneg ? "! " : "", r->ifname);
	if (r->af)
		ADD(r->af == ADDR_V4 ? " inet" : " inet6");
	if (r->proto >= 0) {
		const char *pn = pf_proto_name(r->proto);
		if (pn)
			ADD(" proto %s", pn);
		else
			ADD(" proto %d", r->proto);
	}
	if (r->src.kind == PF_ADDR_ANY && !r->src.neg && r->dst.kind == PF_ADDR_ANY &&
	    !r->dst.neg && !r->sport.op && !r->dport.op) {
		ADD(" all");
	} else {
		host_text(pf, t, sizeof(t), &r->src);
		ADD(" from %s", t);
		if (r->sport.op) {
			port_text(t, sizeof(t), &r->sport);
			ADD("%s", t);
		}
		host_text(pf, t, sizeof(t), &r->dst);
		ADD(" to %s", t);
		if (r->dport.op) {
			port_text(t, sizeof(t), &r->dport);
			ADD("%s", t);
		}
	}
	if (r->icmp_type >= 0) {
		ADD(r->af == ADDR_V6 ? " icmp6-type %d" : " icmp-type %d", r->icmp_type);
		if (r->icmp_code >= 0)
			ADD(" code %d", r->icmp_code);
	}
	if (r->flagset) {
		static const char letters[] = "FSRPAUEW";
		ADD(" flags ");
		for (int i = 0; i < 8; i++)
			if (r->flags & (1 << i))
				ADD("%c", letters[i]);
		ADD("/");
		for (int i = 0; i < 8; i++)
			if (r->flagset & (1 << i))
				ADD("%c", letters[i]);
	}
	if (r->action == PF_PASS && !r->keep_state)
		ADD(" no state");
	if (label)
		ADD(" label \"%s\"", label);
	if (r->nat.set) {
		pool_text(t, sizeof(t), "nat-to", &r->nat, true);
		ADD("%s", t);
	}
	if (r->rdr.set) {
		pool_text(t, sizeof(t), "rdr-to", &r->rdr, false);
		ADD("%s", t);
	}
#undef ADD
	return xstrdup(b);
}

static bool af_fits(uint8_t *af, uint8_t have)
{
	if (have == ADDR_NONE)
		return true;
	if (*af == ADDR_NONE) {
		*af = have;
		return true;
	}
	return *af == have;
}

static uint8_t host_af(const struct pf *pf, const struct pf_rule_addr *a)
{
	(void)pf;
	return a->kind == PF_ADDR_NET ? a->a.af : ADDR_NONE;
}

static void add_rule(struct parser *ps, const struct pf_rule *r, const char *label)
{
	struct pf *pf = ps->pf;
	pf->rules = xgrow(pf->rules, pf->nrules, sizeof(*pf->rules));
	struct pf_rule *nr = &pf->rules[pf->nrules];
	*nr = *r;
	nr->nr = pf->nrules++;
	nr->file = ps->file;
	nr->line = ps->line;
	nr->text = rule_text(pf, nr, label);
}

/* Every combination of the lists, in pfctl's order; combinations whose
 * families cannot meet are left out, as pfctl leaves them out. */
static void expand_rule(struct parser *ps, struct rule_spec *sp)
{
	unsigned made = 0;
	unsigned nifs = sp->nifs ? sp->nifs : 1, nprotos = sp->nprotos ? sp->nprotos : 1;
	unsigned nsp = sp->nsports ? sp->nsports : 1, ndp = sp->ndports ? sp->ndports : 1;
	uint64_t total = (uint64_t)nifs * nprotos * sp->nsrcs * nsp * sp->ndsts * ndp;
	if (total > PF_MAX_EXPAND) {
		perr(ps, "this rule expands into %llu rules, more than %d",
		     (unsigned long long)total, PF_MAX_EXPAND);
		return;
	}
	for (unsigned i = 0; i < nifs; i++)
		for (unsigned p = 0; p < nprotos; p++)
			for (unsigned s = 0; s < sp->nsrcs; s++)
				for (unsigned spt = 0; spt < nsp; spt++)
					for (unsigned d = 0; d < sp->ndsts; d++)
						for (unsigned dpt = 0; dpt < ndp; dpt++) {
							struct pf_rule r = sp->r;
							if (sp->nifs) {
								r.ifneg = sp->ifs[i][0] == '!';
								strcpy(r.ifname, sp->ifs[i] + 1);
							}
							if (sp->nprotos)
								r.proto = sp->protos[p];
							r.src = sp->srcs[s];
							r.dst = sp->dsts[d];
							if (sp->nsports)
								r.sport = sp->sports[spt];
							if (sp->ndports)
								r.dport = sp->dports[dpt];
							if (!af_fits(&r.af,
								     host_af(ps->pf, &r.src)) ||
							    !af_fits(&r.af,
								     host_af(ps->pf, &r.dst)))
								continue;
							if ((r.nat.set &&
							     !af_fits(&r.af, r.nat.a.af)) ||
							    (r.rdr.set &&
							     !af_fits(&r.af, r.rdr.a.af)))
								continue;
							if (r.proto != 6)
								r.flags = r.flagset = 0;
							add_rule(ps, &r, sp->label);
							made++;
						}
	if (!made && !ps->failed)
		perr(ps, "the rule's address families do not meet (an inet address with an "
			 "inet6 one, or with inet6)");
}

static int parse_rule(struct parser *ps, const char *action)
{
	struct rule_spec *sp = xcalloc(1, sizeof(*sp));
	struct pf_rule *r = &sp->r;
	r->proto = -1;
	r->icmp_type = r->icmp_code = -1;
	r->action = strcmp(action, "pass") == 0    ? PF_PASS
		    : strcmp(action, "match") == 0 ? PF_MATCH
						   : PF_DROP;
	if (r->action == PF_DROP) {
		if (accept(ps, "return"))
			r->ret = true;
		else
			accept(ps, "drop");
	}
	if (accept(ps, "in"))
		r->dir = PF_IN;
	else if (accept(ps, "out"))
		r->dir = PF_OUT;
	if (accept(ps, "log")) {
		r->log = true;
		if (accept(ps, "(")) {
			if (!accept(ps, "all") || !accept(ps, ")")) {
				perr(ps, "log takes (all) here");
				goto out;
			}
			r->log_all = true;
		}
	}
	r->quick = accept(ps, "quick");
	if (accept(ps, "on") &&
	    parse_list(ps, item_ifname, sp->ifs, sizeof(sp->ifs[0]), &sp->nifs) < 0)
		goto out;
	if (accept(ps, "inet"))
		r->af = ADDR_V4;
	else if (accept(ps, "inet6"))
		r->af = ADDR_V6;
	if (accept(ps, "proto") &&
	    parse_list(ps, item_proto, sp->protos, sizeof(sp->protos[0]), &sp->nprotos) < 0)
		goto out;
	if (parse_hosts(ps, sp) < 0)
		goto out;
	/* pfctl's defaults: pass keeps state, and TCP state begins with a
	 * SYN (flags S/SA). */
	r->keep_state = r->action == PF_PASS;
	r->flags = TH_SYN;
	r->flagset = TH_SYN | TH_ACK;
	while (peek(ps)->kind != T_END && !ps->failed) {
		if (accept(ps, "flags")) {
			if (parse_flags(ps, r) < 0)
				goto out;
			sp->flags_set = true;
		} else if (accept(ps, "icmp-type")) {
			if (parse_icmp_type(ps, r, false) < 0)
				goto out;
		} else if (accept(ps, "icmp6-type")) {
			if (parse_icmp_type(ps, r, true) < 0)
				goto out;
		} else if (accept(ps, "keep")) {
			if (!accept(ps, "state")) {
				perr(ps, "'keep' is followed by 'state'");
				goto out;
			}
			r->keep_state = true;
			sp->state_set = true;
		} else if (accept(ps, "no")) {
			if (!accept(ps, "state")) {
				perr(ps, "'no' is followed by 'state'");
				goto out;
			}
			r->keep_state = false;
			sp->state_set = true;
		} else if (accept(ps, "nat-to")) {
			if (parse_pool(ps, &r->nat, true, "nat-to") < 0)
				goto out;
		} else if (accept(ps, "rdr-to")) {
			if (parse_pool(ps, &r->rdr, false, "rdr-to") < 0)
				goto out;
		} else if (accept(ps, "binat-to")) {
			if (parse_pool(ps, &sp->binat, false, "binat-to") < 0)
				goto out;
		} else if (accept(ps, "label")) {
			const char *l = need_word(ps, "a label");
			if (!l)
				goto out;
			free(sp->label);
			sp->label = xstrdup(l);
		} else {
			perr(ps, "unexpected '%s' in a rule", tok_desc(peek(ps)));
			goto out;
		}
	}
	if (ps->failed)
		goto out;
	if (r->action == PF_DROP && (r->nat.set || r->rdr.set || sp->binat.set)) {
		perr(ps, "a block rule does not translate");
		goto out;
	}
	if (r->action == PF_MATCH && sp->state_set) {
		perr(ps, "a match rule makes no state of its own");
		goto out;
	}
	for (unsigned i = 0; i < sp->nprotos && r->icmp_type >= 0; i++)
		if (sp->protos[i] != IPPROTO_ICMP && sp->protos[i] != IPPROTO_ICMPV6) {
			perr(ps, "icmp-type goes with proto icmp (icmp6-type with icmp6)");
			goto out;
		}
	if (r->action == PF_DROP && sp->state_set && r->keep_state) {
		perr(ps, "a block rule makes no state: 'keep state' goes on pass rules");
		goto out;
	}
	if (!sp->flags_set && !r->keep_state)
		r->flags = r->flagset = 0;
	if (r->action != PF_PASS)
		r->keep_state = false;
	if (r->action == PF_DROP || r->action == PF_MATCH)
		if (!sp->flags_set)
			r->flags = r->flagset = 0;
	if (r->nat.set && r->dir != PF_OUT) {
		perr(ps, "nat-to goes on an 'out' rule");
		goto out;
	}
	if (r->rdr.set && r->dir != PF_IN) {
		perr(ps, "rdr-to goes on an 'in' rule");
		goto out;
	}
	if (sp->binat.set) {
		if (r->dir != PF_OUT || r->nat.set || r->rdr.set) {
			perr(ps, "binat-to goes on an 'out' rule without nat-to or rdr-to");
			goto out;
		}
		if (sp->nsrcs != 1 || sp->srcs[0].kind != PF_ADDR_NET || sp->srcs[0].neg ||
		    sp->srcs[0].plen != sp->binat.plen || sp->srcs[0].a.af != sp->binat.a.af) {
			perr(ps, "binat-to maps one network onto another of the same size: "
				 "from ADDR/LEN ... binat-to ADDR/LEN");
			goto out;
		}
		/* pfctl: the outbound rule with nat-to (the port kept), then
		 * the inbound one with rdr-to, its addresses reversed. */
		r->nat = sp->binat;
		r->nat.bitmask = true;
		r->nat.static_port = true;
		r->nat.plow = r->nat.phigh = 0;
		expand_rule(ps, sp);
		struct pf_rule_addr inner = sp->srcs[0];
		memset(&r->nat, 0, sizeof(r->nat));
		r->dir = PF_IN;
		r->rdr.set = true;
		r->rdr.a = inner.a;
		r->rdr.plen = inner.plen;
		r->rdr.bitmask = true;
		sp->srcs[0] = sp->dsts[0];
		sp->nsrcs = sp->ndsts;
		memcpy(sp->srcs, sp->dsts, sizeof(sp->srcs));
		memset(&sp->dsts[0], 0, sizeof(sp->dsts[0]));
		sp->dsts[0].kind = PF_ADDR_NET;
		sp->dsts[0].a = sp->binat.a;
		sp->dsts[0].plen = sp->binat.plen;
		sp->ndsts = 1;
		struct pf_port swap[PF_MAX_LIST];
		unsigned nswap = sp->nsports;
		memcpy(swap, sp->sports, sizeof(swap));
		memcpy(sp->sports, sp->dports, sizeof(swap));
		sp->nsports = sp->ndports;
		memcpy(sp->dports, swap, sizeof(swap));
		sp->ndports = nswap;
	}
	expand_rule(ps, sp);
out:
	free(sp->label);
	free(sp);
	return ps->failed ? -1 : 0;
}

/* ---- options and tables ---- */

static int parse_set(struct parser *ps)
{
	struct pf *pf = ps->pf;
	if (accept(ps, "skip")) {
		if (!accept(ps, "on")) {
			perr(ps, "usage: set skip on IFACE | { IFACE ... }");
			return -1;
		}
		char ifs[PF_MAX_LIST][PF_IFNAMSIZ];
		unsigned n;
		if (parse_list(ps, item_ifname, ifs, sizeof(ifs[0]), &n) < 0)
			return -1;
		for (unsigned i = 0; i < n; i++) {
			if (pf->nskip == ARRAY_LEN(pf->skip)) {
				perr(ps, "set skip on names at most %zu interfaces",
				     ARRAY_LEN(pf->skip));
				return -1;
			}
			strcpy(pf->skip[pf->nskip++], ifs[i] + 1);
		}
		return 0;
	}
	if (accept(ps, "limit")) {
		bool brace = accept(ps, "{");
		do {
			accept(ps, ",");
			if (!accept(ps, "states")) {
				perr(ps,
				     "set limit knows 'states' (the state table's size), not '%s'",
				     tok_desc(peek(ps)));
				return -1;
			}
			const char *w = need_word(ps, "a number of states");
			uint64_t v;
			if (!w || parse_num(ps, w, 10000000, &v, "set limit states") < 0)
				return -1;
			if (v == 0) {
				perr(ps, "set limit states must be at least 1");
				return -1;
			}
			pf->limit_states = (uint32_t)v;
		} while (brace && !accept(ps, "}") && peek(ps)->kind != T_END);
		return 0;
	}
	if (accept(ps, "timeout")) {
		static const char *const names[] = {
#define PFTM_NAME(id, name, def) name,
		    PF_TIMEOUTS(PFTM_NAME)
#undef PFTM_NAME
		};
		bool brace = accept(ps, "{");
		do {
			accept(ps, ",");
			const char *w = need_word(ps, "a timeout name");
			if (!w)
				return -1;
			size_t k;
			for (k = 0; k < ARRAY_LEN(names); k++)
				if (strcmp(w, names[k]) == 0)
					break;
			if (k == ARRAY_LEN(names)) {
				perr(ps,
				     "unknown timeout '%s' (tcp.first, tcp.established, "
				     "udp.first, udp.single, udp.multiple, icmp.first, "
				     "icmp.error, other.*, interval, adaptive.start ...)",
				     w);
				return -1;
			}
			const char *v = need_word(ps, "seconds");
			uint64_t x;
			if (!v || parse_num(ps, v, 86400 * 365, &x, w) < 0)
				return -1;
			if (k == PFTM_ADAPTIVE_START || k == PFTM_ADAPTIVE_END)
				ps->adaptive_set = true;
			if (k == PFTM_INTERVAL && x == 0) {
				perr(ps, "the purge interval must be at least 1 second");
				return -1;
			}
			pf->timeouts[k] = (uint32_t)x;
		} while (brace && !accept(ps, "}") && peek(ps)->kind != T_END);
		return 0;
	}
	if (accept(ps, "block-policy")) {
		if (accept(ps, "drop") || accept(ps, "return"))
			return 0; /* block rules say drop or return themselves */
		perr(ps, "set block-policy drop|return");
		return -1;
	}
	perr(ps, "unknown option 'set %s' (skip, limit, timeout, block-policy)",
	     tok_desc(peek(ps)));
	return -1;
}

static int item_table_ent(struct parser *ps, void *out)
{
	struct pf_rule_addr *a = out;
	if (item_host(ps, a) < 0)
		return -1;
	if (a->kind != PF_ADDR_NET || a->neg) {
		perr(ps, "a table holds addresses and networks");
		return -1;
	}
	return 0;
}

static int parse_table(struct parser *ps)
{
	const struct tok *t = peek(ps);
	if (t->kind != T_TABLE) {
		perr(ps, "usage: table <NAME> [const] [persist] { ADDR ... }");
		return -1;
	}
	ps->pos++;
	if (find_table(ps->pf, t->s) >= 0) {
		perr(ps, "table <%s> is defined twice", t->s);
		return -1;
	}
	while (accept(ps, "const") || accept(ps, "persist") || accept(ps, "counters"))
		;
	struct pf_rule_addr *ents = xcalloc(PF_MAX_LIST, sizeof(*ents));
	unsigned n = 0;
	if (peek(ps)->kind != T_END &&
	    parse_list(ps, item_table_ent, ents, sizeof(ents[0]), &n) < 0) {
		free(ents);
		return -1;
	}
	if (peek(ps)->kind != T_END) {
		free(ents);
		perr(ps, "unexpected '%s' after the table", tok_desc(peek(ps)));
		return -1;
	}
	struct pf *pf = ps->pf;
	pf->tables = xgrow(pf->tables, pf->ntables, sizeof(*pf->tables));
	struct pf_table *tb = &pf->tables[pf->ntables++];
	tb->name = xstrdup(t->s);
	tb->nent = n;
	tb->ent = xcalloc(n ? n : 1, sizeof(*tb->ent));
	for (unsigned i = 0; i < n; i++) {
		tb->ent[i].a = ents[i].a;
		tb->ent[i].plen = ents[i].plen;
	}
	free(ents);
	return 0;
}

/* NAME = value (a macro), or NAME = "value". */
static bool macro_def(struct parser *ps, const char *line)
{
	const char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	const char *name = p;
	if (!isalpha((unsigned char)*p) && *p != '_')
		return false;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	size_t nl = (size_t)(p - name);
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '=')
		return false;
	p++;
	while (isspace((unsigned char)*p))
		p++;
	char *v = expand(ps, p);
	if (!v)
		return true;
	/* strip a trailing comment and blanks, and the quotes */
	char *hash = strchr(v, '#');
	if (hash && (!strchr(v, '"') || hash > strrchr(v, '"')))
		*hash = '\0';
	size_t vl = strlen(v);
	while (vl && isspace((unsigned char)v[vl - 1]))
		v[--vl] = '\0';
	char *val = v;
	if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
		v[vl - 1] = '\0';
		val = v + 1;
	}
	if (ps->nmacros == PF_MAX_MACRO * 16) {
		perr(ps, "too many macros");
		free(v);
		return true;
	}
	ps->macros = xgrow(ps->macros, ps->nmacros, sizeof(*ps->macros));
	char *nm = xmalloc(nl + 1);
	memcpy(nm, name, nl);
	nm[nl] = '\0';
	ps->macros[ps->nmacros++] = (struct pf_define){nm, xstrdup(val)};
	free(v);
	return true;
}

static void statement(struct parser *ps, const char *line)
{
	ps->failed = false;
	if (macro_def(ps, line))
		return;
	char *x = expand(ps, line);
	if (!x)
		return;
	int rc = tokenize(ps, x);
	free(x);
	if (rc < 0 || !ps->ntok)
		return;
	const struct tok *t = peek(ps);
	if (t->kind != T_WORD) {
		perr(ps,
		     "a statement begins with pass, block, match, set, table or a macro, "
		     "not '%s'",
		     t->s);
		return;
	}
	ps->pos++;
	if (strcmp(t->s, "pass") == 0 || strcmp(t->s, "block") == 0 || strcmp(t->s, "match") == 0)
		parse_rule(ps, t->s);
	else if (strcmp(t->s, "set") == 0)
		parse_set(ps);
	else if (strcmp(t->s, "table") == 0)
		parse_table(ps);
	else if (strcmp(t->s, "nat") == 0 || strcmp(t->s, "rdr") == 0 || strcmp(t->s, "binat") == 0)
		perr(ps,
		     "'%s' rules are pf's old syntax: write 'match out on IF ... nat-to ADDR' "
		     "or 'pass in on IF ... rdr-to ADDR'",
		     t->s);
	else
		perr(ps, "unknown statement '%s' (pass, block, match, set, table, NAME = value)",
		     t->s);
	if (!ps->failed && peek(ps)->kind != T_END)
		perr(ps, "unexpected '%s' at the end of the statement", tok_desc(peek(ps)));
	tokens_free(ps);
}

/* Read logical lines: a backslash joins the next line, and an open { goes
 * on over lines until its }. */
static void parse_text(struct parser *ps, const char *text, unsigned first_line)
{
	size_t cap = 256, len = 0;
	char *buf = xmalloc(cap);
	int depth = 0;
	unsigned line = first_line, start = first_line;
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if (len == 0)
			start = line;
		/* strip the comment (outside quotes) */
		size_t keep = n;
		bool q = false;
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '"')
				q = !q;
			else if (p[i] == '#' && !q) {
				keep = i;
				break;
			}
		}
		bool cont = keep && p[keep - 1] == '\\';
		if (cont)
			keep--;
		if (len + keep + 2 > cap) {
			while (len + keep + 2 > cap)
				cap *= 2;
			buf = xrealloc(buf, cap);
		}
		memcpy(buf + len, p, keep);
		len += keep;
		buf[len++] = ' ';
		buf[len] = '\0';
		for (size_t i = 0; i < keep; i++)
			depth += p[i] == '{' ? 1 : p[i] == '}' ? -1 : 0;
		line++;
		p += n + (eol ? 1 : 0);
		if (len > PF_MAX_LINE) {
			ps->line = start;
			ps->failed = false;
			perr(ps, "a statement longer than %d bytes (an unclosed '{'?)",
			     PF_MAX_LINE);
			len = 0;
			depth = 0;
			continue;
		}
		if (cont || (depth > 0 && *p))
			continue;
		ps->line = start;
		statement(ps, buf);
		len = 0;
		depth = 0;
	}
	free(buf);
}

static void pf_defaults(struct pf *pf)
{
	static const uint32_t defs[] = {
#define PFTM_DEF(id, name, def) def,
	    PF_TIMEOUTS(PFTM_DEF)
#undef PFTM_DEF
	};
	memcpy(pf->timeouts, defs, sizeof(defs));
	pf->limit_states = PF_STATES_HIWAT;
}

struct pf *pf_parse(struct node *n, const struct pf_conf_options *o, unsigned *errors)
{
	struct parser ps = {.node = n, .err = o->err, .o = o};
	ps.pf = xcalloc(1, sizeof(*ps.pf));
	pf_defaults(ps.pf);
	char *text = NULL;
	if (o->path) {
		FILE *f = fopen(o->path, "r");
		if (!f) {
			fprintf(o->err, "%s: %s\n", o->path, strerror(errno));
			*errors = 1;
			return ps.pf;
		}
		size_t cap = 4096, len = 0, got;
		text = xmalloc(cap);
		while ((got = fread(text + len, 1, cap - len - 1, f)) > 0) {
			len += got;
			if (len + 1 == cap)
				text = xrealloc(text, cap *= 2);
		}
		text[len] = '\0';
		fclose(f);
		ps.file = o->path;
		parse_text(&ps, text, 1);
	} else {
		ps.file = o->text_name ? o->text_name : "-";
		parse_text(&ps, o->text ? o->text : "", o->text_line ? o->text_line : 1);
	}
	free(text);
	/* pfctl: adaptive timeouts from 60% to 120% of the state limit
	 * unless given (both 0: off) */
	if (!ps.adaptive_set) {
		ps.pf->timeouts[PFTM_ADAPTIVE_START] =
		    (uint32_t)((uint64_t)ps.pf->limit_states * 6 / 10);
		ps.pf->timeouts[PFTM_ADAPTIVE_END] =
		    (uint32_t)((uint64_t)ps.pf->limit_states * 12 / 10);
	}
	/* the files are named in rules after we return: keep the name */
	for (unsigned i = 0; i < ps.pf->nrules; i++)
		ps.pf->rules[i].file = NULL;
	for (unsigned i = 0; i < ps.nmacros; i++) {
		free((char *)ps.macros[i].name);
		free((char *)ps.macros[i].value);
	}
	free(ps.macros);
	tokens_free(&ps);
	*errors = ps.errors;
	return ps.pf;
}
