/*
 * The topology statements: node, link and switch (with their parameters),
 * impair, route, capture, and the sysctl parser that sysctl and `at ...
 * sysctl` share; and where the files a run writes go.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../pf/pf.h"
#include "../stack/addr.h"
#include "../stack/iface.h"
#include "../stack/node.h"
#include "../stack/route.h"
#include "../stack/sysctl.h"
#include "../stack/util.h"
#include "capture.h"
#include "external.h"
#include "link.h"

static struct node *need_node(struct scenario *sc, const struct scn_stmt *st, const char *name)
{
	struct node *n = sim_find_node(sc->sim, name);
	if (!n)
		scn_error(sc, st, "unknown node '%s'", name);
	return n;
}

int scn_stmt_node(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok < 2) {
		scn_error(sc, st, "usage: node NAME [NAME ...]");
		return -1;
	}
	for (unsigned i = 1; i < st->ntok; i++) {
		const char *name = st->tok[i];
		for (const char *p = name; *p; p++)
			if (!scn_is_ident((unsigned char)*p) && *p != '-') {
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
		uint64_t u = 0;
		int bad = 0;
		const char *form = NULL; /* else the range */
		uint64_t min = 0, max = 0;
		if (!v) {
			scn_error(sc, st, "'%s' needs a value", k);
			return -1;
		}
		if (strcmp(k, "delay") == 0 || strcmp(k, "jitter") == 0) {
			bad = scn_parse_time(v, k[0] == 'd' ? &p->delay : &p->jitter);
			form = SCN_TIME_FORM;
		} else if (strcmp(k, "rate") == 0) {
			bad = scn_parse_rate(v, &p->rate);
			form = SCN_RATE_FORM;
		} else if (strcmp(k, "queue") == 0) {
			min = 1, max = 1000000;
			bad = scn_parse_uint(v, max, &u) || u < min;
			p->queue = (uint32_t)u;
		} else if (strcmp(k, "loss") == 0 || strcmp(k, "duplicate") == 0 ||
			   strcmp(k, "corrupt") == 0 || strcmp(k, "reorder") == 0) {
			uint32_t *pc = k[0] == 'l'   ? &p->loss
				       : k[0] == 'd' ? &p->duplicate
				       : k[0] == 'c' ? &p->corrupt
						     : &p->reorder;
			bad = scn_parse_percent(v, pc);
			form = SCN_PERCENT_FORM;
			if (!bad && pc == &p->reorder && i + 2 < st->ntok &&
			    strcmp(st->tok[i + 2], "gap") == 0) {
				const char *g = i + 3 < st->ntok ? st->tok[i + 3] : "";
				if (scn_parse_time(g, &p->reorder_gap) < 0) {
					scn_bad_value(sc, st, g, "reorder gap", SCN_TIME_FORM);
					return -1;
				}
				i += 2;
			}
		} else if (strcmp(k, "mtu") == 0) {
			min = 68, max = 65535; /* RFC 791: every link carries 68 bytes */
			bad = scn_parse_uint(v, max, &u) || u < min;
			p->mtu = (uint32_t)u;
			*mtu_set = true;
		} else {
			scn_error(sc, st, "unknown link parameter '%s'", k);
			return -1;
		}
		if (bad) {
			if (form)
				scn_bad_value(sc, st, v, k, form);
			else
				scn_bad_range(sc, st, v, k, min, max);
			return -1;
		}
		i += 2;
	}
	return 0;
}

/* An endpoint NODE[.IFACE][=ADDR/PLEN[,ADDR/PLEN]...]: creates the
 * interface, with IPv4 and IPv6 addresses. */
static struct iface *endpoint(struct scenario *sc, const struct scn_stmt *st, const char *word,
			      char *buf)
{
	char *addr = NULL, *ifname = NULL;
	char *eq = strchr(buf, '=');
	if (!eq) {
		/* an interface without an address is said so: a=, not a */
		scn_error(sc, st,
			  "endpoint '%s' has no address: write %s=ADDR/LEN (such as %s=10.0.0.1/24), "
			  "or %s= for an interface without one",
			  word, word, word, word);
		return NULL;
	}
	*eq = '\0';
	addr = eq + 1;
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
		if (na == IFACE_MAX_ADDRS - 1) {
			scn_error(sc, st,
				  "at most %d addresses on an interface (with its IPv6 link-local "
				  "address, %d)",
				  IFACE_MAX_ADDRS - 1, IFACE_MAX_ADDRS);
			return NULL;
		}
		if (addr_parse_prefix(w, &a[na], &plen[na]) < 0 || addr_is_multicast(&a[na]) ||
		    addr_is_unspec(&a[na])) {
			scn_error(sc, st, "bad address '%s' (want ADDR/LEN, IPv4 or IPv6)", w);
			return NULL;
		}
		if (!strchr(w, '/')) {
			scn_error(sc, st, "address '%s' needs its prefix length (such as %s/%u)", w, w,
				  a[na].af == ADDR_V4 ? 24u : 64u);
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
	struct iface *ifp = iface_new(n, ifname);
	for (unsigned k = 0; k < na; k++)
		if (iface_add_addr(ifp, &a[k], plen[k]) < 0)
			abort(); /* checked above: distinct, and room for them */
	return ifp;
}

static struct iface *parse_endpoint(struct scenario *sc, const struct scn_stmt *st,
				    const char *word)
{
	/* a copy to cut up, as long as the word (aliases make long ones) */
	char *buf = xstrdup(word);
	struct iface *ifp = endpoint(sc, st, word, buf);
	free(buf);
	return ifp;
}

int scn_stmt_link(struct scenario *sc, const struct scn_stmt *st)
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
	bool mtu_set = false;
	/* A bad parameter is reported, and the link is made all the same (with
	 * the defaults), so that the statements naming it report only their
	 * own mistakes; the file fails to load either way. */
	int rc = parse_params(sc, st, i, &p, &mtu_set);
	if (rc < 0) {
		p = link_params_default;
		mtu_set = false;
	}
	struct link *l = link_new(sc->sim, name, is_switch);
	for (unsigned e = first; e < first + nends; e++) {
		struct iface *ifp = parse_endpoint(sc, st, st->tok[e]);
		if (!ifp)
			return -1;
		if (mtu_set)
			ifp->mtu = p.mtu;
		link_attach(l, ifp, &p);
	}
	return rc < 0 ? -1 : 0;
}

/* impair LINK [from NODE[.IFACE]] PARAMS: change one direction or all. */
/* impair LINK [from NODE[.IFACE]] PARAM VALUE ..., its words from
 * st->tok[b]; dry: check only (an `at` action, applied later). */
static int impair_run(struct scenario *sc, const struct scn_stmt *st, unsigned b, bool dry)
{
	if (st->ntok < b + 3) {
		scn_error(sc, st, "usage: impair LINK [from NODE[.IFACE]] PARAM VALUE ...");
		return -1;
	}
	struct link *l = sim_find_link(sc->sim, st->tok[b]);
	if (!l) {
		scn_error(sc, st, "unknown link '%s'", st->tok[b]);
		return -1;
	}
	unsigned i = b + 1;
	struct link_port *only = NULL;
	if (strcmp(st->tok[b + 1], "from") == 0) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", st->tok[b + 2]);
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
			scn_error(sc, st, "%s is not attached to %s", st->tok[b + 2], l->name);
			return -1;
		}
		i = b + 3;
	}
	for (unsigned k = 0; k < l->nports; k++) {
		struct link_port *port = &l->ports[k];
		if (only && port != only)
			continue;
		bool mtu_set;
		struct link_params scratch = port->p;
		if (parse_params(sc, st, i, dry ? &scratch : &port->p, &mtu_set) < 0)
			return -1;
		if (mtu_set && !dry)
			port->ifp->mtu = port->p.mtu;
	}
	return 0;
}

int scn_stmt_impair(struct scenario *sc, const struct scn_stmt *st)
{
	return impair_run(sc, st, 1, false);
}

struct impair_ev {
	struct scenario *sc;
	const struct scn_stmt *st;
	unsigned b;
};

static void impair_ev(struct sim *s, void *arg)
{
	struct impair_ev e = *(struct impair_ev *)arg;
	free(arg);
	(void)s;
	(void)impair_run(e.sc, e.st, e.b, false); /* checked when read */
}

/* at TIME impair LINK ...: a link that changes (or goes dark) mid-run. */
int scn_action_impair(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at)
{
	if (impair_run(sc, st, i, true) < 0)
		return -1;
	struct impair_ev *e = xmalloc(sizeof(*e));
	*e = (struct impair_ev){sc, st, i};
	sim_at(sc->sim, at, impair_ev, free, e);
	return 0;
}

/* external NODE tap DEV: NODE's one interface is a real host behind the
 * TAP device DEV (sim/external.c); the run becomes real-time. */
int scn_stmt_external(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok != 4 || strcmp(st->tok[2], "tap") != 0) {
		scn_error(sc, st, "usage: external NODE tap DEVICE");
		return -1;
	}
	struct node *n = need_node(sc, st, st->tok[1]);
	if (!n)
		return -1;
	if (!sc->has_end) {
		scn_error(sc, st,
			  "external %s: a run that follows the wall clock needs an end (end TIME)",
			  n->name);
		return -1;
	}
	if (n->nifaces != 1 || !n->ifaces[0]->port) {
		scn_error(sc, st,
			  "external %s: the node must have exactly one interface, on a link "
			  "(write the link first: link NAME ... %s= ...)",
			  n->name, n->name);
		return -1;
	}
	struct iface *ifp = n->ifaces[0];
	if (ifp->naddrs) {
		scn_error(sc, st,
			  "external %s: the real host has its own addresses; give %s= no address",
			  n->name, n->name);
		return -1;
	}
	if (ifp->tap_out) {
		scn_error(sc, st, "external %s: already on a TAP device", n->name);
		return -1;
	}
	char err[256];
	if (external_attach(sc->sim, ifp, st->tok[3], err, sizeof(err)) < 0) {
		scn_error(sc, st, "external %s: %s", n->name, err);
		return -1;
	}
	return 0;
}

/* route NODE DEST|default via GATEWAY */
int scn_stmt_route(struct scenario *sc, const struct scn_stmt *st)
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
int scn_parse_sysctl(struct scenario *sc, const struct scn_stmt *st, unsigned i, struct node **n,
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
	char err[160];
	if (sysctl_parse(name, v, id, value, err, sizeof(err)) < 0) {
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
	sc->written = xgrow(sc->written, sc->nwritten, sizeof(*sc->written));
	sc->written[sc->nwritten++] = xstrdup(path);
}

/* Paths a run writes are relative to the output directory. */
void scn_path_near(const struct scn_stmt *st, const char *name, char *out, size_t cap)
{
	const char *slash = strrchr(st->file, '/');
	if (name[0] == '/' || !slash)
		snprintf(out, cap, "%s", name);
	else
		snprintf(out, cap, "%.*s/%s", (int)(slash - st->file), st->file, name);
}

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
	s->caps = xgrow(s->caps, s->ncaps, sizeof(*s->caps));
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
	n->enccaps = xgrow(n->enccaps, n->nenccaps, sizeof(*n->enccaps));
	n->enccaps[n->nenccaps++] = c;
	return 0;
}

/* capture LINK FILE | NODE.IFACE FILE | NODE.enc0 FILE | NODE.pflog0 FILE */
int scn_stmt_capture(struct scenario *sc, const struct scn_stmt *st)
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
		l->caps = xgrow(l->caps, l->ncaps, sizeof(*l->caps));
		l->caps[l->ncaps++] = c;
	} else {
		ifp->caps = xgrow(ifp->caps, ifp->ncaps, sizeof(*ifp->caps));
		ifp->caps[ifp->ncaps++] = c;
	}
	return 0;
}
