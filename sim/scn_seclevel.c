/*
 * Per-socket IPsec levels in scenarios (stack/seclevel.h, docs/pfkey.md):
 *
 *   ... auth|esp-trans|esp-network|ipcomp LEVEL    on listen udp/tcp, and
 *                                                 on the udp and tcp actions
 *   at TIME setsockopt NODE udp|tcp PORT OPTION VALUE [len N] [unprivileged]
 *           [as LABEL]
 *   expect setsockopt LABEL errno OP VALUE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/node.h"
#include "../stack/seclevel.h"
#include "../stack/tcp.h"
#include "../stack/udp.h"
#include "scenario.h"
#include "sim.h"

static const char *const field_names[SL__COUNT] = {"auth", "esp-trans", "esp-network", "ipcomp"};

#define LEVEL_FORM "bypass, avail, use, require or unique (0 to 4)"

int scn_parse_seclevel(struct scenario *sc, const struct scn_stmt *st, unsigned *i,
		       struct seclevel *sl)
{
	const char *k = st->tok[*i];
	int f = -1;
	for (int j = 0; j < SL__COUNT; j++)
		if (strcmp(k, field_names[j]) == 0)
			f = j;
	if (f < 0)
		return 0;
	if (*i + 1 >= st->ntok) {
		scn_error(sc, st, "'%s' needs a level: %s", k, LEVEL_FORM);
		return -1;
	}
	const char *v = st->tok[*i + 1];
	int level = seclevel_parse(v);
	uint64_t u;
	if (level < 0 && scn_parse_uint(v, IPSEC_LEVEL_UNIQUE, &u) == 0)
		level = (int)u;
	if (level < 0) {
		scn_error(sc, st, "bad level '%s' for %s: %s", v, k, LEVEL_FORM);
		return -1;
	}
	sl->l[f] = (uint8_t)level;
	*i += 2;
	return 1;
}

/* ---- setsockopt ---- */

static const struct {
	const char *name;
	int level, optname;
} options[] = {
    {"IP_AUTH_LEVEL", SOL_IPPROTO_IP, IP_AUTH_LEVEL},
    {"IP_ESP_TRANS_LEVEL", SOL_IPPROTO_IP, IP_ESP_TRANS_LEVEL},
    {"IP_ESP_NETWORK_LEVEL", SOL_IPPROTO_IP, IP_ESP_NETWORK_LEVEL},
    {"IP_IPCOMP_LEVEL", SOL_IPPROTO_IP, IP_IPCOMP_LEVEL},
    {"IPV6_AUTH_LEVEL", SOL_IPPROTO_IPV6, IPV6_AUTH_LEVEL},
    {"IPV6_ESP_TRANS_LEVEL", SOL_IPPROTO_IPV6, IPV6_ESP_TRANS_LEVEL},
    {"IPV6_ESP_NETWORK_LEVEL", SOL_IPPROTO_IPV6, IPV6_ESP_NETWORK_LEVEL},
    {"IPV6_IPCOMP_LEVEL", SOL_IPPROTO_IPV6, IPV6_IPCOMP_LEVEL},
};

#define OPTVAL_MAX 16 /* the longest option value a statement may pass */

struct scn_sockopt {
	struct scenario *sc;
	char *label;
	struct node *node;
	bool tcp;
	uint16_t port;
	const char *optword; /* the statement's words live as long as the run */
	int level, optname;
	int value;
	size_t len;
	bool privileged;
	bool done;
	int err; /* positive errno; 0 ok */
};

struct scn_sockopt *scn_find_sockopt(struct scenario *sc, const char *label)
{
	for (unsigned k = 0; k < sc->nsockopts; k++)
		if (sc->sockopts[k]->label && strcmp(sc->sockopts[k]->label, label) == 0)
			return sc->sockopts[k];
	return NULL;
}

bool scn_sockopt_errno(const struct scn_sockopt *o, uint64_t *v)
{
	*v = (uint64_t)o->err;
	return o->done;
}

static struct seclevel *socket_levels(struct scn_sockopt *o)
{
	if (o->tcp) {
		struct tcp_listener *l = scn_tcp_listener(o->sc, o->node, o->port);
		return l ? &l->sl : NULL;
	}
	struct udp_sock *s = scn_udp_listener(o->sc, o->node, o->port);
	return s ? &s->sl : NULL;
}

static void sockopt_ev(struct sim *s, void *arg)
{
	struct scn_sockopt *o = arg;
	struct scenario *sc = o->sc;
	(void)s;
	struct seclevel *sl = socket_levels(o);
	uint8_t buf[OPTVAL_MAX] = {0};
	memcpy(buf, &o->value, sizeof(o->value));
	int rc = seclevel_set(o->node, sl, o->level, o->optname, buf, o->len, o->privileged);
	o->done = true;
	o->err = -rc;
	char t[32];
	fprintf(sc->out, "%s %s: setsockopt %s %u %s %d: ", sim_fmt_time(sc->sim->now, t),
		o->node->name, o->tcp ? "tcp" : "udp", o->port, o->optword, o->value);
	if (rc < 0) {
		const char *name = scn_errno_name(-rc);
		fprintf(sc->out, "%s (%s)\n", name ? name : "?", strerror(-rc));
		return;
	}
	fputs("ok (", sc->out);
	for (int f = 0; f < SL__COUNT; f++)
		fprintf(sc->out, "%s%s %s", f ? ", " : "", field_names[f], seclevel_name(sl->l[f]));
	fputs(")\n", sc->out);
}

static const char usage[] = "usage: at TIME setsockopt NODE udp|tcp PORT OPTION VALUE [len N] "
			    "[unprivileged] [as LABEL]";

int scn_action_setsockopt(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at)
{
	if (st->ntok < i + 5) {
		scn_error(sc, st, usage);
		return -1;
	}
	struct scn_sockopt o = {.sc = sc, .len = sizeof(int), .privileged = true};
	o.node = sim_find_node(sc->sim, st->tok[i]);
	if (!o.node) {
		scn_error(sc, st, "unknown node '%s'", st->tok[i]);
		return -1;
	}
	const char *proto = st->tok[i + 1];
	if (strcmp(proto, "udp") != 0 && strcmp(proto, "tcp") != 0) {
		scn_error(sc, st, "setsockopt on '%s': udp or tcp; %s", proto, usage);
		return -1;
	}
	o.tcp = proto[0] == 't';
	uint64_t u;
	if (scn_parse_uint(st->tok[i + 2], 65535, &u) < 0 || u == 0) {
		scn_bad_range(sc, st, st->tok[i + 2], "port", 1, 65535);
		return -1;
	}
	o.port = (uint16_t)u;
	if (o.tcp ? !scn_tcp_listener(sc, o.node, o.port) : !scn_udp_listener(sc, o.node, o.port)) {
		scn_error(sc, st, "no 'listen %s %s %u' before this line", o.node->name, proto,
			  o.port);
		return -1;
	}
	o.optword = st->tok[i + 3];
	o.level = -1;
	for (size_t k = 0; k < ARRAY_LEN(options); k++)
		if (strcmp(o.optword, options[k].name) == 0) {
			o.level = options[k].level;
			o.optname = options[k].optname;
		}
	if (o.level < 0) {
		/* another option number at level IPPROTO_IP: ENOPROTOOPT */
		if (scn_parse_uint(o.optword, 255, &u) < 0) {
			scn_error(sc, st,
				  "unknown option '%s' (IP_AUTH_LEVEL, IP_ESP_TRANS_LEVEL, "
				  "IP_ESP_NETWORK_LEVEL, IP_IPCOMP_LEVEL, the IPV6_ ones, or a "
				  "number at level IPPROTO_IP)",
				  o.optword);
			return -1;
		}
		o.level = SOL_IPPROTO_IP;
		o.optname = (int)u;
	}
	const char *v = st->tok[i + 4];
	int level = seclevel_parse(v);
	if (level >= 0) {
		o.value = level;
	} else {
		char *end;
		errno = 0;
		long x = strtol(v, &end, 0);
		if (errno || *v == '\0' || *end != '\0' || x < -2147483647L - 1 ||
		    x > 2147483647L) {
			scn_error(sc, st, "bad value '%s': a level (%s) or any int", v, LEVEL_FORM);
			return -1;
		}
		o.value = (int)x;
	}
	const char *label = NULL;
	for (unsigned k = i + 5; k < st->ntok;) {
		const char *w = st->tok[k];
		const char *next = k + 1 < st->ntok ? st->tok[k + 1] : NULL;
		if (strcmp(w, "unprivileged") == 0) {
			o.privileged = false;
			k++;
		} else if (strcmp(w, "len") == 0 && next) {
			if (scn_parse_uint(next, OPTVAL_MAX, &u) < 0) {
				scn_bad_range(sc, st, next, "len", 0, OPTVAL_MAX);
				return -1;
			}
			o.len = (size_t)u;
			k += 2;
		} else if (strcmp(w, "as") == 0 && next) {
			if (scn_find_sockopt(sc, next) || scn_find_pfsend(sc, next)) {
				scn_error(sc, st, "label '%s' is already used", next);
				return -1;
			}
			label = next;
			k += 2;
		} else {
			scn_error(sc, st, "unknown word '%s'; %s", w, usage);
			return -1;
		}
	}
	struct scn_sockopt *p = xmalloc(sizeof(*p));
	*p = o;
	p->label = label ? xstrdup(label) : NULL;
	sc->sockopts = xgrow(sc->sockopts, sc->nsockopts, sizeof(*sc->sockopts));
	sc->sockopts[sc->nsockopts++] = p;
	sim_at(sc->sim, at, sockopt_ev, NULL, p);
	return 0;
}

void scn_seclevel_free(struct scenario *sc)
{
	for (unsigned k = 0; k < sc->nsockopts; k++) {
		free(sc->sockopts[k]->label);
		free(sc->sockopts[k]);
	}
	free(sc->sockopts);
}
