/*
 * Scenario statements for IPsec:
 *   ipsec NODE { ipsec.conf lines }    load rules in testbed mode
 *   ipsec NODE file FILE               the same from a file
 *   show NODE sa|flow|all [keys]       print as ipsecctl -s ... -v does
 *   show NODE rules|states|info        print as pfctl -vsr, -ss, -si do
 *   show NODE ike                      print as ikectl show sa does
 * Rules enter the node's kernel only through a PF_KEY socket, as ipsecctl's
 * would; anything the kernel refuses stops the scenario with file:line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/conf.h"
#include "../ipsec/pfkey.h"
#include "../ipsec/show.h"
#include "../pf/pf.h"
#include "../stack/bridge.h"
#include "../stack/mem.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "../ike/iked.h"
#include "keymgr.h"
#include "scenario.h"

struct scn_show {
	struct scenario *sc;
	struct node *node;
	enum ipsec_show_what what;
	bool keys;
	const char *word;
	char pf; /* pfctl -s r, s or i; 0 for ipsecctl */
};

/* The -D definitions first: they win over the scenario's own macros. */
static struct conf_define *conf_defines(struct scenario *sc, const struct scn_stmt *st,
					unsigned *n)
{
	*n = sc->ndefines + st->ndefs;
	struct conf_define *d = xcalloc(*n ? *n : 1, sizeof(*d));
	for (unsigned i = 0; i < sc->ndefines; i++)
		d[i] = (struct conf_define){sc->defines[i].name, sc->defines[i].value};
	for (unsigned i = 0; i < st->ndefs; i++)
		d[sc->ndefines + i] = (struct conf_define){st->defs[i].name, st->defs[i].value};
	return d;
}

int scn_node_block(struct scenario *sc, const struct scn_stmt *st, unsigned i, const char *usage,
		   struct node **n, const char **file)
{
	bool block = st->ntok == i + 1 && strcmp(st->tok[i], "{") == 0;
	bool named = st->ntok == i + 2 && strcmp(st->tok[i], "file") == 0;
	if (!block && !named) {
		scn_error(sc, st, "usage: %s", usage);
		return -1;
	}
	*n = sim_find_node(sc->sim, st->tok[1]);
	if (!*n) {
		scn_error(sc, st, "unknown node '%s'", st->tok[1]);
		return -1;
	}
	*file = named ? st->tok[i + 1] : NULL;
	return 0;
}

int scn_conf_source(struct scenario *sc, const struct scn_stmt *st, const char *file,
		    char *path, size_t cap, struct conf_options *o, struct conf_define **defs)
{
	if (file) {
		scn_path_near(st, file, path, cap);
		FILE *f = fopen(path, "r");
		if (!f) {
			scn_error(sc, st, "cannot open %s: %s", path, strerror(errno));
			return -1;
		}
		fclose(f);
	}
	unsigned ndefs;
	*defs = conf_defines(sc, st, &ndefs);
	*o = (struct conf_options){.mode = CONF_TESTBED,
				   .err = sc->err,
				   .compact = true,
				   .defines = *defs,
				   .ndefines = ndefs};
	if (!file) {
		o->text = st->body;
		o->text_name = st->file;
		o->text_line = st->body_line;
	}
	return 0;
}

int scn_stmt_ipsec(struct scenario *sc, const struct scn_stmt *st)
{
	struct node *n;
	const char *file;
	if (scn_node_block(sc, st, 2, "ipsec NODE { ... } or ipsec NODE file FILE", &n, &file) < 0)
		return -1;
	char path[4096];
	struct conf_options o;
	struct conf_define *defs;
	if (scn_conf_source(sc, st, file, path, sizeof(path), &o, &defs) < 0)
		return -1;
	struct conf conf;
	int rc = conf_parse(file ? path : NULL, &o, &conf);
	free(defs);
	if (rc < 0) {
		conf_free(&conf);
		return -1;
	}
	/* Load through a PF_KEY socket of the node, as ipsecctl does; each
	 * refusal is reported at the rule's own file and line. */
	struct pfkey_sock *s = pfkey_open(n);
	unsigned refused = conf_load(&conf, s, sc->err, n->name);
	pfkey_close(s);
	if (!refused)
		node_trace(n, "ipsec: %u rules loaded", conf.nrules);
	conf_free(&conf);
	return refused ? -1 : 0;
}

static void show_print(struct scn_show *sh)
{
	char t[32];
	FILE *f = sh->sc->out;
	sim_fmt_time(sh->sc->sim->now, t);
	if (sh->pf == 'm') {
		fprintf(f, "--- %s: memory (vmstat -m) at %s s ---\n", sh->node->name, t);
		node_memory_print(sh->node, f);
		return;
	}
	if (sh->pf == 'b') {
		fprintf(f, "--- %s: ifconfig bridge addr at %s s ---\n", sh->node->name, t);
		bridge_show(sh->node, f);
		return;
	}
	if (sh->pf == 'k') {
		fprintf(f, "--- %s: ikectl show sa at %s s ---\n", sh->node->name, t);
		struct iked *d = sh->sc->ikeds ? iked_find(sh->sc->ikeds, sh->node) : NULL;
		if (d)
			iked_show(d, f);
		return;
	}
	if (sh->pf) {
		fprintf(f, "--- %s: pfctl -%ss%c at %s s ---\n", sh->node->name,
			sh->pf == 'r' ? "v" : "", sh->pf, t);
		if (sh->pf == 'r')
			pf_show_rules(sh->node, f);
		else if (sh->pf == 's')
			pf_show_states(sh->node, f);
		else
			pf_show_info(sh->node, f);
		return;
	}
	fprintf(f, "--- %s: ipsecctl -s %s -v%s at %s s ---\n", sh->node->name, sh->word,
		sh->keys ? "k" : "", t);
	ipsec_show(sh->node, f, sh->what, 1, sh->keys);
}

static void show_ev(struct sim *s, void *arg)
{
	(void)s;
	show_print(arg);
	free(arg);
}

/* show NODE sa|flow|all [keys], rules|states|info, memory */
int scn_stmt_show(struct scenario *sc, const struct scn_stmt *st, unsigned i, bool timed,
		  uint64_t at)
{
	unsigned n = st->ntok - i;
	if (n < 2 || n > 3 || (n == 3 && strcmp(st->tok[i + 2], "keys") != 0)) {
		scn_error(sc, st,
			  "usage: show NODE sa|flow|all [keys], show NODE rules|states|info, "
			  "show NODE memory, show NODE bridge, or show NODE ike");
		return -1;
	}
	struct node *node = sim_find_node(sc->sim, st->tok[i]);
	if (!node) {
		scn_error(sc, st, "unknown node '%s'", st->tok[i]);
		return -1;
	}
	static const struct {
		const char *word;
		enum ipsec_show_what what;
		char pf;
	} whats[] = {{"sa", SHOW_SAS, 0},     {"flow", SHOW_FLOWS, 0},   {"all", SHOW_ALL, 0},
		     {"rules", SHOW_ALL, 'r'}, {"states", SHOW_ALL, 's'}, {"info", SHOW_ALL, 'i'},
		     {"memory", SHOW_ALL, 'm'}, {"bridge", SHOW_ALL, 'b'}, {"ike", SHOW_ALL, 'k'}};
	struct scn_show *sh = xcalloc(1, sizeof(*sh));
	size_t k;
	for (k = 0; k < ARRAY_LEN(whats); k++)
		if (strcmp(st->tok[i + 1], whats[k].word) == 0)
			break;
	if (k == ARRAY_LEN(whats) || (whats[k].pf && n == 3)) {
		free(sh);
		scn_error(sc, st,
			  "show what? sa, flow or all [keys] (ipsecctl), rules, states or info "
			  "(pfctl), memory, bridge, or ike (ikectl show sa), not '%s'",
			  st->tok[i + 1 + (k != ARRAY_LEN(whats))]);
		return -1;
	}
	sh->sc = sc;
	sh->node = node;
	sh->what = whats[k].what;
	sh->word = whats[k].word;
	sh->pf = whats[k].pf;
	sh->keys = n == 3;
	if (timed) {
		sim_at(sc->sim, at, show_ev, free, sh);
		return 0;
	}
	sc->shows = xgrow(sc->shows, sc->nshows, sizeof(*sc->shows));
	sc->shows[sc->nshows++] = sh;
	return 0;
}

void scn_show_finish(struct scenario *sc)
{
	for (unsigned i = 0; i < sc->nshows; i++)
		show_print(sc->shows[i]);
}

void scn_shows_free(struct scenario *sc)
{
	for (unsigned i = 0; i < sc->nshows; i++)
		free(sc->shows[i]);
	free(sc->shows);
	sc->shows = NULL;
	sc->nshows = 0;
}

/* The file checks the node's drops for want of an SA or of protection:
 * it knows. */
static bool expects_nosa(const struct scenario *sc, const struct node *n)
{
	for (unsigned i = 0; i < sc->nexpects; i++) {
		const struct scn_expect *e = &sc->expects[i];
		if (e->kind == TGT_NODE_STAT && e->node == n &&
		    (e->stat == STAT_IPSEC_NOSA || e->stat == STAT_IPSEC_ACQUIRING ||
		     e->stat == STAT_IPSEC_INPOLICY))
			return true;
	}
	return false;
}

void scn_warn_flows_without_sa(struct scenario *sc)
{
	for (unsigned i = 0; i < sc->sim->nnodes; i++) {
		struct node *n = sc->sim->nodes[i];
		struct ipsec_state *st = n->ipsec;
		/* SAs may come later: from a key manager, an IKE daemon, or
		 * PF_KEY messages; and a file that expects ipsec.nosa of the
		 * node knows */
		if (!st || !st->spd.count || (sc->keymgrs && km_find(sc->keymgrs, n)) ||
		    (sc->ikeds && iked_find(sc->ikeds, n)) ||
		    scn_pfkey_node_has_socket(sc, n) || expects_nosa(sc, n))
			continue;
		for (const struct spd_flow *f = st->spd.head; f; f = f->next) {
			if (f->sel.dir != IPSP_DIRECTION_OUT || f->type != IPSP_IPSEC_REQUIRE ||
			    addr_is_unspec(&f->peer) || sad_first_to(&st->sad, &f->peer, f->sproto))
				continue;
			char ft[512], a[ADDR_STRLEN];
			ipsec_flow_text(f, ft, sizeof(ft));
			fprintf(sc->err,
				"%s: warning: %s has no SA to %s for %s: its packets will be dropped "
				"(ipsec.nosa) unless an SA is added\n",
				sc->path, n->name, addr_fmt(&f->peer, a), ft);
		}
	}
}

/* ---- expect NODE sa SPI[/DST] FIGURE OP VALUE ---- */

enum sa_figure {
	SAF_PACKETS,
	SAF_IPACKETS,
	SAF_OPACKETS,
	SAF_BYTES,
	SAF_IBYTES,
	SAF_OBYTES,
	SAF_IDROPS,
	SAF_ODROPS,
	SAF_REPLAY,
	SAF_STATE,
};

static const char *const sa_figures[] = {
    [SAF_PACKETS] = "packets", [SAF_IPACKETS] = "ipackets", [SAF_OPACKETS] = "opackets",
    [SAF_BYTES] = "bytes",     [SAF_IBYTES] = "ibytes",     [SAF_OBYTES] = "obytes",
    [SAF_IDROPS] = "idrops",   [SAF_ODROPS] = "odrops",     [SAF_REPLAY] = "replay",
    [SAF_STATE] = "state",
};

enum { SA_LARVAL, SA_MATURE, SA_GONE };
static const char *const sa_states[] = {"larval", "mature", "gone"};

int scn_sa_target(struct scenario *sc, const struct scn_stmt *st, unsigned i, struct scn_expect *e,
		  unsigned *opi)
{
	if (st->ntok - i < 2 || strcmp(st->tok[i + 1], "sa") != 0)
		return 0;
	static const char usage[] =
	    "usage: expect NODE sa SPI[/DST] packets|ipackets|opackets|bytes|ibytes|obytes|"
	    "idrops|odrops|replay|state OP VALUE";
	if (st->ntok - i != 6) {
		scn_error(sc, st, "%s", usage);
		return -1;
	}
	e->node = sim_find_node(sc->sim, st->tok[i]);
	if (!e->node) {
		scn_error(sc, st, "unknown node '%s'", st->tok[i]);
		return -1;
	}
	char spi[32];
	const char *w = st->tok[i + 2], *slash = strchr(w, '/');
	snprintf(spi, sizeof(spi), "%.*s", slash ? (int)(slash - w) : (int)strlen(w), w);
	uint64_t v;
	if (scn_parse_uint(spi, UINT32_MAX, &v) < 0) {
		scn_error(sc, st, "bad SPI '%s' (such as 0x1000, or 0x1000/192.0.2.2 with its "
				  "destination)",
			  w);
		return -1;
	}
	e->sa_spi = (uint32_t)v;
	e->sa_dst = (struct ipaddr){0};
	if (slash && addr_parse(slash + 1, &e->sa_dst) < 0) {
		scn_error(sc, st, "bad destination '%s' after the SPI", slash + 1);
		return -1;
	}
	size_t k;
	for (k = 0; k < ARRAY_LEN(sa_figures); k++)
		if (strcmp(st->tok[i + 3], sa_figures[k]) == 0)
			break;
	if (k == ARRAY_LEN(sa_figures)) {
		scn_error(sc, st, "an SA has no figure '%s'; %s", st->tok[i + 3], usage);
		return -1;
	}
	e->kind = TGT_SA;
	e->stat = (int)k;
	*opi = i + 4;
	return 1;
}

/* The SA now: the first (oldest) with the SPI, to the destination when
 * one was named. */
static const struct tdb *expect_sa(const struct scn_expect *e)
{
	const struct ipsec_state *st = e->node->ipsec;
	if (!st)
		return NULL;
	if (e->sa_dst.af != ADDR_NONE) {
		for (const struct tdb *t = st->sad.head; t; t = t->next)
			if (t->spi == e->sa_spi && addr_eq(&t->dst, &e->sa_dst))
				return t;
		return NULL;
	}
	for (const struct tdb *t = st->sad.head; t; t = t->next)
		if (t->spi == e->sa_spi)
			return t;
	return NULL;
}

uint64_t scn_sa_value(struct scn_expect *e)
{
	const struct tdb *t = expect_sa(e);
	e->sa_absent = !t;
	if (e->stat == SAF_STATE)
		return !t ? SA_GONE : (t->flags & TDBF_INVALID) ? SA_LARVAL : SA_MATURE;
	if (!t)
		return 0;
	const uint64_t *c = t->counters;
	switch ((enum sa_figure)e->stat) {
	case SAF_PACKETS: return c[TDB_IPACKETS] + c[TDB_OPACKETS];
	case SAF_IPACKETS: return c[TDB_IPACKETS];
	case SAF_OPACKETS: return c[TDB_OPACKETS];
	case SAF_BYTES: return c[TDB_IBYTES] + c[TDB_OBYTES];
	case SAF_IBYTES: return c[TDB_IBYTES];
	case SAF_OBYTES: return c[TDB_OBYTES];
	case SAF_IDROPS: return c[TDB_IDROPS];
	case SAF_ODROPS: return c[TDB_ODROPS];
	case SAF_REPLAY: return t->replay.rpl;
	default: return 0;
	}
}

bool scn_sa_is_state(const struct scn_expect *e)
{
	return e->stat == SAF_STATE;
}

int scn_sa_parse_value(const struct scn_expect *e, const char *s, uint64_t *v)
{
	if (e->stat != SAF_STATE)
		return scn_parse_uint(s, UINT64_MAX, v);
	for (size_t k = 0; k < ARRAY_LEN(sa_states); k++)
		if (strcmp(s, sa_states[k]) == 0) {
			*v = k;
			return 0;
		}
	return -1;
}

const char *scn_sa_actual(const struct scn_expect *e, char buf[48])
{
	if (e->stat == SAF_STATE && e->actual < ARRAY_LEN(sa_states))
		snprintf(buf, 48, "%s", sa_states[e->actual]);
	else if (e->sa_absent)
		snprintf(buf, 48, "no such SA");
	else
		snprintf(buf, 48, "%llu", (unsigned long long)e->actual);
	return buf;
}
