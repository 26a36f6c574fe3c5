/*
 * Scenario statements that speak PF_KEY by hand:
 *   listen NODE pfkey NAME [register SATYPE]... [promisc] [print]
 *   pfkey NODE [via NAME] [as LABEL] TYPE [SATYPE] [ITEM ...]
 *   pfkey NODE [via NAME] [as LABEL] raw HEX
 * and the values expectations read from them: a message's errno, and the
 * messages a listening socket received.  The text form of a message is
 * described in docs/scenario-language.md; it builds the bytes an ipsecctl
 * or a key manager would write, or any malformed variant of them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/pfkey.h"
#include "../ipsec/pfkey_msg.h"
#include "../ipsec/show.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "scenario.h"

/* What expectations can ask of a received message. */
struct scn_pfmsg {
	uint8_t type, satype, err;
	uint32_t seq;
	int expiry; /* SADB_EXT_LIFETIME_SOFT or _HARD for an EXPIRE, else 0 */
	bool has_spi, has_src, has_dst, has_alg;
	uint32_t spi;
	struct ipaddr src, dst;
	uint8_t enc, auth; /* from the SA extension, or an ACQUIRE's proposal */
	uint16_t lt_mask;  /* as in struct scn_pffilter */
	uint64_t lt[PFL_N];
};

struct scn_pfsock {
	struct scenario *sc;
	struct node *node;
	char *name; /* NULL: the node's socket for pfkey statements without via */
	struct pfkey_sock *s;
	bool print;
	struct scn_pfmsg *got;
	unsigned ngot;
};

struct scn_pfsend {
	struct scn_pfsock *via;
	char *label; /* NULL: none */
	char *what;  /* "add esp", for the output */
	uint8_t *msg;
	size_t len;
	bool sent;
	int err; /* 0 or the errno of the reply */
};

/* ---- errno names ---- */

static const struct {
	const char *name;
	int value;
} errnos[] = {
    {"EPERM", EPERM},           {"ENOENT", ENOENT},
    {"ESRCH", ESRCH},           {"EIO", EIO},
    {"E2BIG", E2BIG},           {"EBADF", EBADF},
    {"EAGAIN", EAGAIN},         {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},         {"EFAULT", EFAULT},
    {"EBUSY", EBUSY},           {"EEXIST", EEXIST},
    {"EINVAL", EINVAL},         {"ENOSPC", ENOSPC},
    {"EMSGSIZE", EMSGSIZE},     {"EPROTONOSUPPORT", EPROTONOSUPPORT},
    {"EOPNOTSUPP", EOPNOTSUPP}, {"EAFNOSUPPORT", EAFNOSUPPORT},
    {"ENOBUFS", ENOBUFS},       {"EHOSTUNREACH", EHOSTUNREACH},
    /* what a TCP connection can end with */
    {"ECONNREFUSED", ECONNREFUSED}, {"ECONNRESET", ECONNRESET},
    {"ECONNABORTED", ECONNABORTED}, {"ETIMEDOUT", ETIMEDOUT},
    {"ENETUNREACH", ENETUNREACH},   {"EADDRINUSE", EADDRINUSE},
    /* what setsockopt can answer */
    {"ENOPROTOOPT", ENOPROTOOPT},
};

const char *scn_errno_name(int e)
{
	if (e == 0)
		return "0";
	for (size_t i = 0; i < ARRAY_LEN(errnos); i++)
		if (errnos[i].value == e)
			return errnos[i].name;
	return NULL;
}

int scn_parse_errno(const char *s, uint64_t *v)
{
	for (size_t i = 0; i < ARRAY_LEN(errnos); i++)
		if (strcmp(errnos[i].name, s) == 0) {
			*v = (uint64_t)errnos[i].value;
			return 0;
		}
	return scn_parse_uint(s, 255, v);
}

/* ---- sockets ---- */

/* The message types as the text form writes them: SADB_ names in lower
 * case without the prefix. */
static const char *msg_type_word(uint8_t type)
{
	static const char *const words[SADB_MAX + 1] = {
	    "reserved",  "getspi",    "update",    "add",         "delete",   "get",
	    "acquire",   "register",  "expire",    "flush",       "dump",     "x_promisc",
	    "x_addflow", "x_delflow", "x_grpspis", "x_askpolicy", "x_spddump"};
	return type <= SADB_MAX ? words[type] : "?";
}

static void put_lifetime(struct scn_pfmsg *m, unsigned at, uint32_t allocations, uint64_t bytes,
			 uint64_t addtime, uint64_t usetime)
{
	m->lt[at] = allocations;
	m->lt[at + 1] = bytes;
	m->lt[at + 2] = addtime;
	m->lt[at + 3] = usetime;
	m->lt_mask |= (uint16_t)(0xfu << at);
}

static void summarize_lifetime(const struct pfkey_msg *pm, int ext, unsigned at,
			       struct scn_pfmsg *m)
{
	if (!pfkey_has(pm, ext))
		return;
	struct sadb_lifetime lt;
	pfkey_get_lifetime(pm, ext, &lt);
	put_lifetime(m, at, lt.sadb_lifetime_allocations, lt.sadb_lifetime_bytes,
		     lt.sadb_lifetime_addtime, lt.sadb_lifetime_usetime);
}

/* The header always; the rest when the kernel's message parses (it does,
 * unless the kernel has a bug the structural check then shows). */
static void summarize(const uint8_t *buf, size_t len, struct scn_pfmsg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = buf[1];
	m->err = buf[2];
	m->satype = buf[3];
	struct pfkey_msg pm;
	if (pfkey_parse(buf, len, PFKEY_OUT, 0, &pm) != 0)
		return;
	m->seq = pm.hdr.sadb_msg_seq;
	if (pfkey_has(&pm, SADB_EXT_SA)) {
		struct sadb_sa sa;
		pfkey_get_sa(&pm, SADB_EXT_SA, &sa);
		m->has_spi = m->has_alg = true;
		m->spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
		m->enc = sa.sadb_sa_encrypt;
		m->auth = sa.sadb_sa_auth;
	}
	struct sadb_comb comb;
	if (pfkey_has(&pm, SADB_EXT_PROPOSAL) && pfkey_get_proposal(&pm, &comb, 1) >= 1) {
		m->has_alg = true;
		m->enc = comb.sadb_comb_encrypt;
		m->auth = comb.sadb_comb_auth;
		put_lifetime(m, PFL_SOFT, comb.sadb_comb_soft_allocations,
			     comb.sadb_comb_soft_bytes, comb.sadb_comb_soft_addtime,
			     comb.sadb_comb_soft_usetime);
		put_lifetime(m, PFL_HARD, comb.sadb_comb_hard_allocations,
			     comb.sadb_comb_hard_bytes, comb.sadb_comb_hard_addtime,
			     comb.sadb_comb_hard_usetime);
	}
	summarize_lifetime(&pm, SADB_EXT_LIFETIME_SOFT, PFL_SOFT, m);
	summarize_lifetime(&pm, SADB_EXT_LIFETIME_HARD, PFL_HARD, m);
	summarize_lifetime(&pm, SADB_EXT_LIFETIME_CURRENT, PFL_CUR, m);
	if (m->type == SADB_EXPIRE)
		m->expiry = pfkey_has(&pm, SADB_EXT_LIFETIME_HARD)   ? SADB_EXT_LIFETIME_HARD
			    : pfkey_has(&pm, SADB_EXT_LIFETIME_SOFT) ? SADB_EXT_LIFETIME_SOFT
								     : 0;
	if (pfkey_has(&pm, SADB_EXT_ADDRESS_SRC)) {
		uint16_t port;
		pfkey_get_address(&pm, SADB_EXT_ADDRESS_SRC, &m->src, &port);
		m->has_src = true;
	}
	if (pfkey_has(&pm, SADB_EXT_ADDRESS_DST)) {
		uint16_t port;
		pfkey_get_address(&pm, SADB_EXT_ADDRESS_DST, &m->dst, &port);
		m->has_dst = true;
	}
}

static void sock_take(struct pfkey_sock *s, void *arg)
{
	struct scn_pfsock *ps = arg;
	struct scenario *sc = ps->sc;
	uint8_t buf[PFKEY_MSG_MAXSZ];
	ssize_t len = pfkey_read(s, buf, sizeof(buf));
	if (len < (ssize_t)sizeof(struct sadb_msg) || !ps->name) {
		memset(buf, 0, sizeof(buf));
		return; /* the node's own socket only keeps its buffer free */
	}
	size_t n = MIN((size_t)len, sizeof(buf));
	struct scn_pfmsg m;
	summarize(buf, n, &m);
	ps->got = xgrow(ps->got, ps->ngot, sizeof(*ps->got));
	ps->got[ps->ngot++] = m;
	node_trace(ps->node, "pfkey %s received %s satype %s errno %u, %zu bytes", ps->name,
		   msg_type_word(m.type), pfkey_name(PFN_SATYPE, m.satype), m.err, n);
	if (ps->print) {
		char t[32];
		fprintf(sc->out, "%s %s: pfkey %s received ", sim_fmt_time(sc->sim->now, t),
			ps->node->name, ps->name);
		ipsec_show_msg(sc->out, buf, n, 1);
	}
	memset(buf, 0, n); /* it may hold keys */
}

static struct scn_pfsock *sock_new(struct scenario *sc, struct node *n, const char *name)
{
	struct scn_pfsock *ps = xcalloc(1, sizeof(*ps));
	ps->sc = sc;
	ps->node = n;
	ps->name = name ? xstrdup(name) : NULL;
	ps->s = pfkey_open(n);
	ps->s->on_queue = sock_take;
	ps->s->on_queue_arg = ps;
	sc->pfsocks = xgrow(sc->pfsocks, sc->npfsocks, sizeof(*sc->pfsocks));
	sc->pfsocks[sc->npfsocks++] = ps;
	return ps;
}

static struct scn_pfsock *sock_find(struct scenario *sc, struct node *n, const char *name)
{
	for (unsigned i = 0; i < sc->npfsocks; i++) {
		struct scn_pfsock *ps = sc->pfsocks[i];
		if (ps->node == n && (name ? ps->name && strcmp(ps->name, name) == 0 : !ps->name))
			return ps;
	}
	return NULL;
}

static int send_simple(struct scn_pfsock *ps, uint8_t type, uint8_t satype)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, type, satype, 0, ps->s->pid);
	size_t len = pfkb_finish(&pb);
	return pfkey_write(ps->s, pb.b, len);
}

/* listen NODE pfkey NAME [register SATYPE]... [promisc] [print] */
int scn_stmt_listen_pfkey(struct scenario *sc, const struct scn_stmt *st)
{
	static const char usage[] =
	    "usage: listen NODE pfkey NAME [register SATYPE]... [promisc] [print]";
	if (st->ntok < 4) {
		scn_error(sc, st, usage);
		return -1;
	}
	struct node *n = sim_find_node(sc->sim, st->tok[1]);
	if (!n) {
		scn_error(sc, st, "unknown node '%s'", st->tok[1]);
		return -1;
	}
	if (sock_find(sc, n, st->tok[3])) {
		scn_error(sc, st, "%s already has a pfkey socket '%s'", n->name, st->tok[3]);
		return -1;
	}
	uint8_t reg[8];
	unsigned nreg = 0;
	bool promisc = false, print = false;
	for (unsigned i = 4; i < st->ntok; i++) {
		const char *w = st->tok[i];
		if (strcmp(w, "register") == 0 && i + 1 < st->ntok && nreg < ARRAY_LEN(reg)) {
			int t = pfkey_name_id(PFN_SATYPE, st->tok[++i]);
			if (t < 0) {
				scn_error(sc, st,
					  "unknown SA type '%s' (ah, esp, ipip, tcpmd5, ipcomp)",
					  st->tok[i]);
				return -1;
			}
			reg[nreg++] = (uint8_t)t;
		} else if (strcmp(w, "promisc") == 0) {
			promisc = true;
		} else if (strcmp(w, "print") == 0) {
			print = true;
		} else {
			scn_error(sc, st, usage);
			return -1;
		}
	}
	struct scn_pfsock *ps = sock_new(sc, n, st->tok[3]);
	ps->print = print;
	for (unsigned i = 0; i < nreg; i++) {
		int rc = send_simple(ps, SADB_REGISTER, reg[i]);
		if (rc < 0) {
			scn_error(sc, st, "%s's kernel refused REGISTER %s: %s", n->name,
				  pfkey_name(PFN_SATYPE, reg[i]), strerror(-rc));
			return -1;
		}
	}
	if (promisc && send_simple(ps, SADB_X_PROMISC, 1) < 0) {
		scn_error(sc, st, "%s's kernel refused X_PROMISC", n->name);
		return -1;
	}
	return 0;
}

/* ---- the text form of a message ---- */

struct msg_lifetime {
	bool has;
	uint32_t alloc;
	uint64_t bytes, add, first;
};

struct msg_addr {
	bool has;
	struct ipaddr a;
	unsigned plen; /* flows */
};

struct raw_ext {
	uint16_t type;
	uint8_t data[512];
	size_t len;
};

struct msg_text {
	uint8_t type, satype, version;
	uint32_t seq, pid;
	bool has_sa;
	uint32_t spi, flags;
	uint8_t replay, state, auth, enc;
	bool has_sa2, has_satype2;
	uint32_t spi2;
	uint8_t satype2;
	struct msg_addr src, dst, proxy, dst2, sflow, dflow;
	struct msg_lifetime life[4]; /* current, hard, soft, lastuse */
	uint8_t authkey[256], enckey[256];
	long authlen, enclen; /* -1: none */
	const char *srcid, *dstid, *tag;
	bool has_spirange, has_proto, has_flowtype, has_udpencap, has_rpl, has_tap, has_policy;
	uint32_t spimin, spimax, tap, policy;
	uint8_t proto, flowtype, direction;
	uint16_t sport, dport, udpencap;
	uint64_t rpl;
	struct raw_ext raw[4];
	unsigned nraw;
};

struct cursor {
	struct scenario *sc;
	const struct scn_stmt *st;
	unsigned i;
};

static const char *next_word(struct cursor *c, const char *what)
{
	if (c->i >= c->st->ntok) {
		scn_error(c->sc, c->st, "'%s' needs a value", what);
		return NULL;
	}
	return c->st->tok[c->i++];
}

static int next_uint(struct cursor *c, const char *what, uint64_t max, uint64_t *v)
{
	const char *w = next_word(c, what);
	if (!w)
		return -1;
	if (scn_parse_uint(w, max, v) < 0) {
		scn_bad_range(c->sc, c->st, w, what, 0, max);
		return -1;
	}
	return 0;
}

#define NEXT_UINT(c, what, max, dst)                  \
	do {                                          \
		uint64_t v_;                          \
		if (next_uint(c, what, max, &v_) < 0) \
			return -1;                    \
		dst = v_;                             \
	} while (0)

/* A name from a table, or a number. */
static int next_named(struct cursor *c, const char *what, enum pfkey_names t, uint8_t *v)
{
	const char *w = next_word(c, what);
	if (!w)
		return -1;
	int id = pfkey_name_id(t, w);
	uint64_t n;
	if (id >= 0)
		*v = (uint8_t)id;
	else if (scn_parse_uint(w, 255, &n) == 0)
		*v = (uint8_t)n;
	else {
		scn_error(c->sc, c->st, "unknown %s '%s'", what, w);
		return -1;
	}
	return 0;
}

static int next_addr(struct cursor *c, const char *what, struct msg_addr *a, bool prefix)
{
	const char *w = next_word(c, what);
	if (!w)
		return -1;
	int rc = prefix ? addr_parse_prefix(w, &a->a, &a->plen) : addr_parse(w, &a->a);
	if (rc < 0) {
		scn_error(c->sc, c->st, "bad %s '%s' for %s", prefix ? "prefix" : "address", w,
			  what);
		return -1;
	}
	a->has = true;
	return 0;
}

static int next_hex(struct cursor *c, const char *what, uint8_t *out, size_t cap, long *len)
{
	const char *w = next_word(c, what);
	if (!w)
		return -1;
	if (w[0] == '0' && (w[1] == 'x' || w[1] == 'X'))
		w += 2;
	*len = hex_decode(w, out, cap);
	if (*len < 0) {
		scn_error(c->sc, c->st,
			  "bad hex for %s: an even number of digits, at most %zu bytes", what, cap);
		return -1;
	}
	return 0;
}

static int parse_flags(struct cursor *c, uint32_t *flags)
{
	const char *w = next_word(c, "flags");
	if (!w)
		return -1;
	uint64_t n;
	if (scn_parse_uint(w, UINT32_MAX, &n) == 0) {
		*flags = (uint32_t)n;
		return 0;
	}
	char *copy = xstrdup(w), *save = NULL;
	*flags = 0;
	for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		int id = pfkey_name_id(PFN_FLAG, f);
		if (id < 0) {
			scn_error(c->sc, c->st,
				  "unknown SA flag '%s' (tunnel, udpencap, esn, pfs, "
				  "chaindel, or a number)",
				  f);
			free(copy);
			return -1;
		}
		*flags |= (uint32_t)id;
	}
	free(copy);
	return 0;
}

static int parse_lifetime(struct cursor *c, struct msg_text *m)
{
	static const char *const which[] = {"current", "hard", "soft", "lastuse"};
	const char *w = next_word(c, "lifetime");
	if (!w)
		return -1;
	size_t k;
	for (k = 0; k < ARRAY_LEN(which); k++)
		if (strcmp(w, which[k]) == 0)
			break;
	if (k == ARRAY_LEN(which)) {
		scn_error(c->sc, c->st, "lifetime current|hard|soft|lastuse, not '%s'", w);
		return -1;
	}
	struct msg_lifetime *l = &m->life[k];
	l->has = true;
	while (c->i < c->st->ntok) {
		const char *f = c->st->tok[c->i];
		if (strcmp(f, "alloc") == 0) {
			c->i++;
			NEXT_UINT(c, "alloc", UINT32_MAX, l->alloc);
		} else if (strcmp(f, "bytes") == 0) {
			c->i++;
			NEXT_UINT(c, "bytes", UINT64_MAX, l->bytes);
		} else if (strcmp(f, "add") == 0) {
			c->i++;
			NEXT_UINT(c, "add", UINT64_MAX, l->add);
		} else if (strcmp(f, "first") == 0) {
			c->i++;
			NEXT_UINT(c, "first", UINT64_MAX, l->first);
		} else {
			break;
		}
	}
	return 0;
}

static int parse_flowtype(struct cursor *c, struct msg_text *m)
{
	const char *w = next_word(c, "type");
	if (!w)
		return -1;
	int id = pfkey_name_id(PFN_FLOWTYPE, w);
	if (id < 0) {
		scn_error(c->sc, c->st,
			  "unknown flow type '%s' (use, acquire, require, bypass, deny, dontacq)",
			  w);
		return -1;
	}
	m->has_flowtype = true;
	m->flowtype = (uint8_t)id;
	return 0;
}

static int parse_item(struct cursor *c, struct msg_text *m)
{
	const char *w = c->st->tok[c->i++];
	/* header fields */
	if (strcmp(w, "seq") == 0)
		NEXT_UINT(c, w, UINT32_MAX, m->seq);
	else if (strcmp(w, "pid") == 0)
		NEXT_UINT(c, w, UINT32_MAX, m->pid);
	else if (strcmp(w, "version") == 0)
		NEXT_UINT(c, w, 255, m->version);
	/* the SA extension */
	else if (strcmp(w, "spi") == 0) {
		m->has_sa = true;
		NEXT_UINT(c, w, UINT32_MAX, m->spi);
	} else if (strcmp(w, "replay") == 0) {
		m->has_sa = true;
		NEXT_UINT(c, w, 255, m->replay);
	} else if (strcmp(w, "state") == 0) {
		m->has_sa = true;
		return next_named(c, "state", PFN_STATE, &m->state);
	} else if (strcmp(w, "auth") == 0) {
		m->has_sa = true;
		return next_named(c, "authentication algorithm", PFN_AUTH, &m->auth);
	} else if (strcmp(w, "enc") == 0) {
		m->has_sa = true;
		return next_named(c, "encryption algorithm", PFN_ENC, &m->enc);
	} else if (strcmp(w, "comp") == 0) {
		m->has_sa = true;
		return next_named(c, "compression algorithm", PFN_COMP, &m->enc);
	} else if (strcmp(w, "flags") == 0) {
		m->has_sa = true;
		return parse_flags(c, &m->flags);
	}
	/* addresses, keys, identities */
	else if (strcmp(w, "src") == 0)
		return next_addr(c, w, &m->src, false);
	else if (strcmp(w, "dst") == 0)
		return next_addr(c, w, &m->dst, false);
	else if (strcmp(w, "proxy") == 0)
		return next_addr(c, w, &m->proxy, false);
	else if (strcmp(w, "authkey") == 0)
		return next_hex(c, w, m->authkey, sizeof(m->authkey), &m->authlen);
	else if (strcmp(w, "enckey") == 0)
		return next_hex(c, w, m->enckey, sizeof(m->enckey), &m->enclen);
	else if (strcmp(w, "srcid") == 0)
		return (m->srcid = next_word(c, w)) ? 0 : -1;
	else if (strcmp(w, "dstid") == 0)
		return (m->dstid = next_word(c, w)) ? 0 : -1;
	else if (strcmp(w, "lifetime") == 0)
		return parse_lifetime(c, m);
	else if (strcmp(w, "spirange") == 0) {
		m->has_spirange = true;
		NEXT_UINT(c, "spirange", UINT32_MAX, m->spimin);
		NEXT_UINT(c, "spirange", UINT32_MAX, m->spimax);
	}
	/* bundles */
	else if (strcmp(w, "sa2") == 0) {
		m->has_sa2 = true;
		NEXT_UINT(c, w, UINT32_MAX, m->spi2);
	} else if (strcmp(w, "dst2") == 0)
		return next_addr(c, w, &m->dst2, false);
	else if (strcmp(w, "satype2") == 0) {
		m->has_satype2 = true;
		return next_named(c, "SA type", PFN_SATYPE, &m->satype2);
	}
	/* flows */
	else if (strcmp(w, "flow") == 0) {
		if (next_addr(c, "flow", &m->sflow, true) < 0 ||
		    next_addr(c, "flow", &m->dflow, true) < 0)
			return -1;
	} else if (strcmp(w, "sport") == 0)
		NEXT_UINT(c, w, 65535, m->sport);
	else if (strcmp(w, "dport") == 0)
		NEXT_UINT(c, w, 65535, m->dport);
	else if (strcmp(w, "proto") == 0) {
		m->has_proto = true;
		NEXT_UINT(c, w, 255, m->proto);
	} else if (strcmp(w, "in") == 0 || strcmp(w, "out") == 0) {
		m->has_flowtype = true;
		m->direction = w[0] == 'i' ? IPSP_DIRECTION_IN : IPSP_DIRECTION_OUT;
	} else if (strcmp(w, "type") == 0)
		return parse_flowtype(c, m);
	/* OpenBSD's other extensions */
	else if (strcmp(w, "udpencap") == 0) {
		m->has_udpencap = true;
		NEXT_UINT(c, w, 65535, m->udpencap);
	} else if (strcmp(w, "rpl") == 0) {
		m->has_rpl = true;
		NEXT_UINT(c, w, UINT64_MAX, m->rpl);
	} else if (strcmp(w, "tag") == 0)
		return (m->tag = next_word(c, w)) ? 0 : -1;
	else if (strcmp(w, "tap") == 0) {
		m->has_tap = true;
		NEXT_UINT(c, w, UINT32_MAX, m->tap);
	} else if (strcmp(w, "policy") == 0) {
		m->has_policy = true;
		NEXT_UINT(c, w, UINT32_MAX, m->policy);
	}
	/* anything at all: ext TYPE HEX, appended as written */
	else if (strcmp(w, "ext") == 0) {
		if (m->nraw == ARRAY_LEN(m->raw)) {
			scn_error(c->sc, c->st, "at most %zu raw extensions", ARRAY_LEN(m->raw));
			return -1;
		}
		struct raw_ext *r = &m->raw[m->nraw++];
		NEXT_UINT(c, "ext", 65535, r->type);
		long n;
		if (next_hex(c, "ext", r->data, sizeof(r->data), &n) < 0)
			return -1;
		r->len = (size_t)n;
	} else {
		scn_error(c->sc, c->st, "unknown pfkey item '%s' (see docs/scenario-language.md)",
			  w);
		return -1;
	}
	return 0;
}

static struct ipaddr mask_of(const struct msg_addr *a)
{
	struct ipaddr m = {.af = a->a.af};
	memset(m.a, 0xff, addr_len(a->a.af));
	addr_mask(&m, a->plen);
	return m;
}

static size_t build(struct pfkey_buf *pb, const struct msg_text *m)
{
	pfkb_init(pb, m->type, m->satype, m->seq, m->pid);
	pb->b[0] = m->version;
	if (m->has_sa)
		pfkb_sa(pb, SADB_EXT_SA, m->spi, m->replay, m->state, m->auth, m->enc, m->flags);
	static const uint16_t lifetypes[] = {SADB_EXT_LIFETIME_CURRENT, SADB_EXT_LIFETIME_HARD,
					     SADB_EXT_LIFETIME_SOFT, SADB_X_EXT_LIFETIME_LASTUSE};
	for (size_t k = 0; k < ARRAY_LEN(lifetypes); k++)
		if (m->life[k].has)
			pfkb_lifetime(pb, lifetypes[k], m->life[k].alloc, m->life[k].bytes,
				      m->life[k].add, m->life[k].first);
	if (m->src.has)
		pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &m->src.a, 0);
	if (m->dst.has)
		pfkb_address(pb, SADB_EXT_ADDRESS_DST, &m->dst.a, 0);
	if (m->proxy.has)
		pfkb_address(pb, SADB_EXT_ADDRESS_PROXY, &m->proxy.a, 0);
	if (m->authlen >= 0)
		pfkb_key(pb, SADB_EXT_KEY_AUTH, m->authkey, (unsigned)m->authlen * 8);
	if (m->enclen >= 0)
		pfkb_key(pb, SADB_EXT_KEY_ENCRYPT, m->enckey, (unsigned)m->enclen * 8);
	if (m->srcid)
		pfkb_ident(pb, SADB_EXT_IDENTITY_SRC,
			   strchr(m->srcid, '@') ? SADB_IDENTTYPE_USERFQDN : SADB_IDENTTYPE_FQDN,
			   m->srcid);
	if (m->dstid)
		pfkb_ident(pb, SADB_EXT_IDENTITY_DST,
			   strchr(m->dstid, '@') ? SADB_IDENTTYPE_USERFQDN : SADB_IDENTTYPE_FQDN,
			   m->dstid);
	if (m->has_spirange)
		pfkb_spirange(pb, m->spimin, m->spimax);
	if (m->sflow.has) {
		struct ipaddr sm = mask_of(&m->sflow), dm = mask_of(&m->dflow);
		pfkb_address(pb, SADB_X_EXT_SRC_MASK, &sm, m->sport ? 0xffff : 0);
		pfkb_address(pb, SADB_X_EXT_DST_MASK, &dm, m->dport ? 0xffff : 0);
		pfkb_address(pb, SADB_X_EXT_SRC_FLOW, &m->sflow.a, m->sport);
		pfkb_address(pb, SADB_X_EXT_DST_FLOW, &m->dflow.a, m->dport);
	}
	if (m->has_proto)
		pfkb_protocol(pb, SADB_X_EXT_PROTOCOL, m->proto, 0, 0);
	if (m->has_flowtype)
		pfkb_protocol(pb, SADB_X_EXT_FLOW_TYPE, m->flowtype, m->direction,
			      SADB_X_POLICYFLAGS_POLICY);
	if (m->has_sa2)
		pfkb_sa(pb, SADB_X_EXT_SA2, m->spi2, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	if (m->dst2.has)
		pfkb_address(pb, SADB_X_EXT_DST2, &m->dst2.a, 0);
	if (m->has_satype2)
		pfkb_protocol(pb, SADB_X_EXT_SATYPE2, m->satype2, 0, 0);
	if (m->has_policy)
		pfkb_policy(pb, m->policy);
	if (m->has_udpencap)
		pfkb_udpencap(pb, m->udpencap);
	if (m->tag)
		pfkb_tag(pb, m->tag);
	if (m->has_tap)
		pfkb_tap(pb, m->tap);
	if (m->has_rpl)
		pfkb_replay(pb, m->rpl);
	for (unsigned k = 0; k < m->nraw; k++)
		pfkb_raw(pb, m->raw[k].type, m->raw[k].data, m->raw[k].len);
	return pfkb_finish(pb);
}

static int parse_type(struct cursor *c, struct msg_text *m)
{
	const char *w = c->st->tok[c->i++];
	int known = scn_pfkey_msg_type(w);
	if (known > 0) {
		m->type = (uint8_t)known;
	} else {
		uint64_t n;
		if (strcmp(w, "type") == 0 && next_uint(c, "type", 255, &n) == 0) {
			m->type = (uint8_t)n;
		} else {
			scn_error(c->sc, c->st,
				  "unknown PF_KEY message '%s' (getspi, update, add, delete, get, "
				  "acquire, register, expire, flush, dump, x_promisc, x_addflow, "
				  "x_delflow, x_grpspis, x_askpolicy, or type N)",
				  w);
			return -1;
		}
	}
	/* The SA type, when the next word names one; x_promisc takes on|off. */
	if (c->i < c->st->ntok) {
		const char *s = c->st->tok[c->i];
		int id = pfkey_name_id(PFN_SATYPE, s);
		if (m->type == SADB_X_PROMISC && (!strcmp(s, "on") || !strcmp(s, "off")))
			id = s[1] == 'n';
		if (id >= 0) {
			m->satype = (uint8_t)id;
			c->i++;
		} else if (strcmp(s, "satype") == 0) {
			c->i++;
			NEXT_UINT(c, "satype", 255, m->satype);
		}
	}
	return 0;
}

static void free_send(struct scn_pfsend *ps)
{
	if (!ps)
		return;
	if (ps->msg)
		memset(ps->msg, 0, ps->len);
	free(ps->msg);
	free(ps->label);
	free(ps->what);
	free(ps);
}

static void do_send(struct scenario *sc, struct scn_pfsend *p)
{
	char t[32];
	int rc = pfkey_write(p->via->s, p->msg, p->len);
	p->sent = true;
	p->err = -rc;
	const char *name = scn_errno_name(p->err);
	if (!p->err)
		fprintf(sc->out, "%s %s: pfkey %s: ok\n", sim_fmt_time(sc->sim->now, t),
			p->via->node->name, p->what);
	else
		fprintf(sc->out, "%s %s: pfkey %s: %s (%s)\n", sim_fmt_time(sc->sim->now, t),
			p->via->node->name, p->what, name ? name : "?", strerror(p->err));
}

static void send_ev(struct sim *s, void *arg)
{
	struct scn_pfsend *p = arg;
	(void)s;
	do_send(p->via->sc, p);
}

/* pfkey NODE [via NAME] [as LABEL] TYPE [SATYPE] [ITEM ...] | raw HEX */
int scn_stmt_pfkey(struct scenario *sc, const struct scn_stmt *st, unsigned i, bool timed,
		   uint64_t at)
{
	struct cursor c = {sc, st, i};
	if (st->ntok < i + 2) {
		scn_error(sc, st, "usage: pfkey NODE [via NAME] [as LABEL] MESSAGE [ITEM ...]");
		return -1;
	}
	struct node *n = sim_find_node(sc->sim, st->tok[c.i]);
	if (!n) {
		scn_error(sc, st, "unknown node '%s'", st->tok[c.i]);
		return -1;
	}
	c.i++;
	struct scn_pfsock *via = NULL;
	const char *label = NULL;
	for (;;) {
		if (c.i + 1 < st->ntok && strcmp(st->tok[c.i], "via") == 0) {
			via = sock_find(sc, n, st->tok[c.i + 1]);
			if (!via) {
				scn_error(sc, st, "no 'listen %s pfkey %s' before this line",
					  n->name, st->tok[c.i + 1]);
				return -1;
			}
			c.i += 2;
		} else if (c.i + 1 < st->ntok && strcmp(st->tok[c.i], "as") == 0) {
			label = st->tok[c.i + 1];
			if (scn_find_pfsend(sc, label)) {
				scn_error(sc, st, "pfkey label '%s' is already used", label);
				return -1;
			}
			c.i += 2;
		} else {
			break;
		}
	}
	if (c.i >= st->ntok) {
		scn_error(sc, st, "pfkey: which message?");
		return -1;
	}
	if (!via)
		via = sock_find(sc, n, NULL);
	if (!via)
		via = sock_new(sc, n, NULL);

	struct scn_pfsend *p = xcalloc(1, sizeof(*p));
	p->via = via;
	p->label = label ? xstrdup(label) : NULL;
	if (strcmp(st->tok[c.i], "raw") == 0) {
		c.i++;
		uint8_t buf[PFKEY_MSG_MAXSZ];
		long len;
		if (next_hex(&c, "raw", buf, sizeof(buf), &len) < 0 || c.i != st->ntok) {
			if (c.i != st->ntok)
				scn_error(sc, st, "raw takes one hex string");
			free_send(p);
			return -1;
		}
		p->len = (size_t)len;
		p->msg = xmalloc(p->len ? p->len : 1);
		memcpy(p->msg, buf, p->len);
		char what[48];
		snprintf(what, sizeof(what), "raw (%zu bytes)", p->len);
		p->what = xstrdup(what);
	} else {
		struct msg_text m = {.version = PF_KEY_V2,
				     .pid = via->s->pid,
				     .state = SADB_SASTATE_MATURE,
				     .authlen = -1,
				     .enclen = -1};
		if (parse_type(&c, &m) < 0) {
			free_send(p);
			return -1;
		}
		while (c.i < st->ntok)
			if (parse_item(&c, &m) < 0) {
				free_send(p);
				return -1;
			}
		struct pfkey_buf pb;
		size_t len = build(&pb, &m);
		if (!len) {
			scn_error(sc, st, "message larger than %d bytes", PFKEY_MSG_MAXSZ);
			free_send(p);
			return -1;
		}
		p->msg = xmalloc(len);
		memcpy(p->msg, pb.b, len);
		p->len = len;
		memset(pb.b, 0, sizeof(pb.b));
		memset(m.authkey, 0, sizeof(m.authkey));
		memset(m.enckey, 0, sizeof(m.enckey));
		char what[64];
		snprintf(what, sizeof(what), "%s %s", msg_type_word(m.type),
			 pfkey_name(PFN_SATYPE, m.satype));
		p->what = xstrdup(what);
	}
	sc->pfsends = xgrow(sc->pfsends, sc->npfsends, sizeof(*sc->pfsends));
	sc->pfsends[sc->npfsends++] = p;
	if (timed)
		sim_at(sc->sim, at, send_ev, NULL, p);
	else
		do_send(sc, p);
	return 0;
}

struct scn_pfsend *scn_find_pfsend(struct scenario *sc, const char *label)
{
	for (unsigned i = 0; i < sc->npfsends; i++)
		if (sc->pfsends[i]->label && strcmp(sc->pfsends[i]->label, label) == 0)
			return sc->pfsends[i];
	return NULL;
}

bool scn_pfsend_errno(const struct scn_pfsend *p, uint64_t *v)
{
	*v = (uint64_t)p->err;
	return p->sent;
}

struct scn_pfsock *scn_find_pfsock(struct scenario *sc, struct node *n, const char *name)
{
	return sock_find(sc, n, name);
}

/* Lifetime numbers by name, in struct scn_pffilter's order. */
static const char *const lt_words[PFL_N] = {
    "soft-allocations", "soft-bytes", "soft-addtime", "soft-usetime",
    "hard-allocations", "hard-bytes", "hard-addtime", "hard-usetime",
    "cur-allocations",  "cur-bytes",  "cur-addtime",  "cur-usetime",
};

int scn_parse_pffilter(struct scenario *sc, const struct scn_stmt *st, unsigned from, unsigned to,
		       struct scn_pffilter *f)
{
	memset(f, 0, sizeof(*f));
	f->type = f->satype = -1;
	unsigned i = from;
	if (i < to && (f->type = scn_pfkey_msg_type(st->tok[i])) >= 0) {
		i++;
		if (i < to && (f->satype = pfkey_name_id(PFN_SATYPE, st->tok[i])) >= 0)
			i++;
	}
	/* The cursor reads values up to `to`, not into the comparison. */
	struct scn_stmt bounded = *st;
	bounded.ntok = to;
	struct cursor c = {sc, &bounded, i};
	while (c.i < to) {
		const char *w = st->tok[c.i++];
		unsigned k;
		for (k = 0; k < PFL_N && strcmp(w, lt_words[k]) != 0; k++)
			;
		if (k < PFL_N) {
			NEXT_UINT(&c, w, UINT64_MAX, f->lt[k]);
			f->lt_mask |= (uint16_t)(1u << k);
		} else if (strcmp(w, "soft") == 0) {
			f->expiry = SADB_EXT_LIFETIME_SOFT;
		} else if (strcmp(w, "hard") == 0) {
			f->expiry = SADB_EXT_LIFETIME_HARD;
		} else if (strcmp(w, "spi") == 0) {
			NEXT_UINT(&c, w, UINT32_MAX, f->spi);
			f->has_spi = true;
		} else if (strcmp(w, "seq") == 0) {
			NEXT_UINT(&c, w, UINT32_MAX, f->seq);
			f->has_seq = true;
		} else if (strcmp(w, "src") == 0 || strcmp(w, "dst") == 0) {
			struct msg_addr a = {0};
			if (next_addr(&c, w, &a, false) < 0)
				return -1;
			*(w[0] == 's' ? &f->src : &f->dst) = a.a;
			*(w[0] == 's' ? &f->has_src : &f->has_dst) = true;
		} else if (strcmp(w, "enc") == 0) {
			if (next_named(&c, w, PFN_ENC, &f->enc) < 0)
				return -1;
			f->has_enc = true;
		} else if (strcmp(w, "auth") == 0) {
			if (next_named(&c, w, PFN_AUTH, &f->auth) < 0)
				return -1;
			f->has_auth = true;
		} else if (strcmp(w, "errno") == 0) {
			const char *v = next_word(&c, w);
			uint64_t e;
			if (!v)
				return -1;
			if (scn_parse_errno(v, &e) < 0) {
				scn_error(sc, st, "bad errno '%s'", v);
				return -1;
			}
			f->err = (uint8_t)e;
			f->has_err = true;
		} else {
			scn_error(sc, st,
				  "unknown filter '%s': a message type, then soft, hard, spi, seq, "
				  "src, dst, enc, auth, errno, or a lifetime such as hard-bytes",
				  w);
			return -1;
		}
	}
	return 0;
}

static bool matches(const struct scn_pfmsg *m, const struct scn_pffilter *f)
{
	if ((f->type >= 0 && m->type != f->type) || (f->satype >= 0 && m->satype != f->satype))
		return false;
	if (f->expiry && m->expiry != f->expiry)
		return false;
	if ((f->has_spi && (!m->has_spi || m->spi != f->spi)) || (f->has_seq && m->seq != f->seq) ||
	    (f->has_err && m->err != f->err))
		return false;
	if ((f->has_src && (!m->has_src || !addr_eq(&m->src, &f->src))) ||
	    (f->has_dst && (!m->has_dst || !addr_eq(&m->dst, &f->dst))))
		return false;
	if ((f->has_enc && (!m->has_alg || m->enc != f->enc)) ||
	    (f->has_auth && (!m->has_alg || m->auth != f->auth)))
		return false;
	if ((m->lt_mask & f->lt_mask) != f->lt_mask)
		return false;
	for (unsigned k = 0; k < PFL_N; k++)
		if ((f->lt_mask & (1u << k)) && m->lt[k] != f->lt[k])
			return false;
	return true;
}

uint64_t scn_pfsock_count(const struct scn_pfsock *ps, const struct scn_pffilter *f)
{
	uint64_t k = 0;
	for (unsigned i = 0; i < ps->ngot; i++)
		if (matches(&ps->got[i], f))
			k++;
	return k;
}

int scn_pfkey_msg_type(const char *word)
{
	for (unsigned t = 1; t <= SADB_MAX; t++)
		if (strcmp(word, msg_type_word((uint8_t)t)) == 0)
			return (int)t;
	return -1;
}

void scn_pfkey_free(struct scenario *sc)
{
	for (unsigned i = 0; i < sc->npfsends; i++)
		free_send(sc->pfsends[i]);
	free(sc->pfsends);
	sc->pfsends = NULL;
	sc->npfsends = 0;
	for (unsigned i = 0; i < sc->npfsocks; i++) {
		struct scn_pfsock *ps = sc->pfsocks[i];
		/* The node's IPsec state may be gone already; its sockets with it. */
		free(ps->got);
		free(ps->name);
		free(ps);
	}
	free(sc->pfsocks);
	sc->pfsocks = NULL;
	sc->npfsocks = 0;
}

bool scn_pfkey_node_has_socket(const struct scenario *sc, const struct node *n)
{
	for (unsigned i = 0; i < sc->npfsocks; i++)
		if (sc->pfsocks[i]->node == n)
			return true;
	return false;
}
