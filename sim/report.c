/*
 * The HTML report of a run (docs/report.md): one self-contained file with
 * the topology, a ladder diagram of the frames the links carried, the
 * drops, attacks and PF_KEY messages on the same timeline, the verdicts
 * and the counters that moved.  It watches the run through struct
 * sim_watch and writes everything at the end, in the order things
 * happened, so the same run gives the same bytes.
 *
 *   ipsecsim run --report FILE          or, in a scenario,
 *   report FILE [from TIME] [to TIME] [nodes NODE,NODE...]
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/pfkey_msg.h"
#include "../ipsec/pfkeyv2.h"
#include "../ipsec/sad.h"
#include "../ipsec/show.h"
#include "../stack/ether.h"
#include "../stack/iface.h"
#include "../stack/node.h"
#include "../stack/pkt.h"
#include "link.h"
#include "scenario.h"
#include "sim.h"

#define REPORT_ROWS_MAX    2000 /* ladder rows: frames and events in the window */
#define REPORT_NODES_MAX   200  /* nodes drawn in the topology */
#define REPORT_COLUMNS_MAX 40   /* nodes given a column in the ladder */
#define REPORT_TUNNELS_MAX 200

enum rep_kind { RK_ESP, RK_AH, RK_IP, RK_ARPND, RK_ICMPERR, RK_ICMP, RK_TCP, RK_OTHER, RK__N };
static const char *const kind_names[RK__N] = {"esp",        "ah",   "ip",  "arp-nd",
					      "icmp-error", "icmp", "tcp", "other"};
static const char *const kind_colors[RK__N] = {"#1f77b4", "#9467bd", "#7f7f7f", "#bcbd22",
					       "#d62728", "#2ca02c", "#ff7f0e", "#8c564b"};

/* One row of the ladder: a frame between two nodes, or an event at one. */
struct rep_row {
	uint64_t at; /* a frame: when it left; an event: when it happened */
	uint64_t recv;
	size_t seq;                   /* the order it was seen in, for rows of one instant */
	const struct node *from, *to; /* to NULL: an event at `from` */
	enum rep_kind kind;
	uint32_t spi;
	bool has_spi;
	char cls[12]; /* frame, drop, attack or pfkey */
	char text[160];
};

/* A tunnel: an SA from a to b, and the SA back when there is one. */
struct rep_sa {
	const struct node *a, *b; /* the SA's source and destination nodes */
	uint8_t sproto;
	uint32_t spi, spi_back;
	bool has_back;
	char alg[40];
};

/* A node and its creation index, sorted by pointer for bsearch: what the
 * writer asks for every row and every link end. */
struct node_ix {
	uintptr_t p;
	unsigned i;
};

struct scn_report {
	struct scenario *sc;
	struct node_ix *ix;
	unsigned nix;
	char *path;
	uint64_t from, to;
	bool cwd;      /* path from the current directory, not the output one */
	char **chosen; /* nodes: the ladder's columns; NULL: every node */
	unsigned nchosen;
	struct sim_watch watch;
	struct rep_row *rows;
	size_t nrows;
	uint64_t frames_in_window, rows_cut;
	struct rep_sa *sas;
	size_t nsas;
};

/* ---- what a frame is ---- */

static enum rep_kind classify(const uint8_t *b, size_t len, uint32_t *spi, bool *has_spi,
			      char *text, size_t cap)
{
	*has_spi = false;
	if (len < ETHER_HDR_LEN) {
		snprintf(text, cap, "runt");
		return RK_OTHER;
	}
	uint16_t type = get_be16(b + 12);
	const uint8_t *ip = b + ETHER_HDR_LEN;
	size_t il = len - ETHER_HDR_LEN;
	if (type == ETHERTYPE_ARP) {
		snprintf(text, cap, il >= 8 && get_be16(ip + 6) == 1 ? "ARP request" : "ARP reply");
		return RK_ARPND;
	}
	uint8_t proto;
	size_t off;
	if (type == ETHERTYPE_IP && il >= 20 && (ip[0] >> 4) == 4) {
		proto = ip[9];
		off = (size_t)(ip[0] & 15) * 4;
		if (get_be16(ip + 6) & 0x1fff) {
			snprintf(text, cap, "IPv4 fragment");
			return RK_IP;
		}
	} else if (type == ETHERTYPE_IPV6 && il >= 40 && (ip[0] >> 4) == 6) {
		proto = ip[6];
		off = 40;
	} else {
		snprintf(text, cap, "ethertype 0x%04x", type);
		return RK_OTHER;
	}
	const uint8_t *l4 = ip + off;
	size_t l4len = il > off ? il - off : 0;
	if ((proto == 50 || (proto == 51 && l4len >= 8)) && l4len >= 8) {
		*spi = get_be32(l4 + (proto == 50 ? 0 : 4));
		*has_spi = true;
		uint32_t seq = get_be32(l4 + (proto == 50 ? 4 : 8));
		snprintf(text, cap, "%s spi 0x%08x seq %u", proto == 50 ? "ESP" : "AH", *spi, seq);
		return proto == 50 ? RK_ESP : RK_AH;
	}
	if ((proto == 1 || proto == 58) && l4len >= 1) {
		uint8_t t = l4[0];
		bool v6 = proto == 58;
		if (v6 && t >= 133 && t <= 137) {
			static const char *const nd[] = {"RS", "RA", "NS", "NA", "redirect"};
			snprintf(text, cap, "ND %s", nd[t - 133]);
			return RK_ARPND;
		}
		bool err = v6 ? t < 128 : (t == 3 || t == 11 || t == 12 || t == 4 || t == 5);
		snprintf(text, cap, "%s type %u%s", v6 ? "ICMPv6" : "ICMP", t,
			 (v6 ? t == 128 : t == 8)   ? " (echo request)"
			 : (v6 ? t == 129 : t == 0) ? " (echo reply)"
						    : "");
		return err ? RK_ICMPERR : RK_ICMP;
	}
	if ((proto == 6 || proto == 17) && l4len >= 4) {
		uint16_t sp = get_be16(l4), dp = get_be16(l4 + 2);
		if (proto == 17 && (sp == 4500 || dp == 4500) && l4len >= 16 && get_be32(l4 + 8)) {
			*spi = get_be32(l4 + 8);
			*has_spi = true;
			snprintf(text, cap, "ESP in UDP spi 0x%08x", *spi);
			return RK_ESP;
		}
		if (proto == 6 && l4len >= 14) {
			uint8_t f = l4[13];
			snprintf(text, cap, "TCP %u > %u [%s%s%s%s]", sp, dp, f & 2 ? "S" : "",
				 f & 1 ? "F" : "", f & 4 ? "R" : "", f & 16 ? "." : "");
			return RK_TCP;
		}
		snprintf(text, cap, "UDP %u > %u", sp, dp);
		return RK_IP;
	}
	snprintf(text, cap, "IP protocol %u", proto);
	return RK_IP;
}

/* ---- watching ---- */

static bool chosen(const struct scn_report *r, const struct node *n)
{
	if (!r->nchosen)
		return true;
	for (unsigned i = 0; i < r->nchosen; i++)
		if (n && strcmp(r->chosen[i], n->name) == 0)
			return true;
	return false;
}

static struct rep_row *add_row(struct scn_report *r, uint64_t at)
{
	if (at < r->from || at > r->to)
		return NULL;
	if (r->nrows == REPORT_ROWS_MAX) {
		r->rows_cut++;
		return NULL;
	}
	struct rep_row *row = &r->rows[r->nrows];
	memset(row, 0, sizeof(*row));
	row->at = at;
	row->seq = r->nrows++;
	return row;
}

static void on_frame(void *arg, const struct link_port *from, const struct link_port *to,
		     uint64_t sent, const struct pkt *p)
{
	struct scn_report *r = arg;
	if (!chosen(r, from->ifp->node) || !chosen(r, to->ifp->node))
		return;
	if (sent >= r->from && sent <= r->to)
		r->frames_in_window++;
	struct rep_row *row = add_row(r, sent);
	if (!row)
		return;
	row->recv = r->sc->sim->now;
	row->from = from->ifp->node;
	row->to = to->ifp->node;
	snprintf(row->cls, sizeof(row->cls), "frame");
	char what[80];
	row->kind = classify(p->data, p->len, &row->spi, &row->has_spi, what, sizeof(what));
	snprintf(row->text, sizeof(row->text), "%s.%s > %s.%s: %s, %zu bytes", row->from->name,
		 from->ifp->name, row->to->name, to->ifp->name, what, p->len);
}

/* A row for something that happened at one node now (a drop, an attack,
 * a PF_KEY message), or NULL when the node is not shown or rows ran out. */
static struct rep_row *event_row(struct scn_report *r, const struct node *n, const char *cls)
{
	if (!chosen(r, n))
		return NULL;
	struct rep_row *row = add_row(r, r->sc->sim->now);
	if (!row)
		return NULL;
	row->from = n;
	snprintf(row->cls, sizeof(row->cls), "%s", cls);
	return row;
}

static void on_drop(void *arg, const struct node *n, int why, const struct pkt *p)
{
	struct rep_row *row = event_row(arg, n, "drop");
	if (!row)
		return;
	snprintf(row->text, sizeof(row->text), "%s drops%s: %s", n->name, p ? "" : " (no packet)",
		 stat_name((enum stat_id)why));
}

static void on_attack(void *arg, const struct link *l, const char *what)
{
	const struct node *at = l->nports ? l->ports[0].ifp->node : NULL;
	struct rep_row *row = event_row(arg, at, "attack");
	if (!row)
		return;
	snprintf(row->text, sizeof(row->text), "%s: %s", l->name, what);
}

static void on_pfkey(void *arg, const struct node *n, const uint8_t *msg, size_t len)
{
	struct rep_row *row = len < sizeof(struct sadb_msg) ? NULL : event_row(arg, n, "pfkey");
	if (!row)
		return;
	snprintf(row->text, sizeof(row->text), "%s kernel: SADB_%s %s", n->name,
		 pfkey_msg_name(msg[1]), pfkey_name(PFN_SATYPE, msg[3]));
}

static const struct node *owner(struct sim *s, const struct ipaddr *a)
{
	for (unsigned i = 0; i < s->nnodes; i++)
		if (node_owns_addr(s->nodes[i], a))
			return s->nodes[i];
	return NULL;
}

void scn_report_sa(struct scenario *sc, const struct tdb *t)
{
	struct scn_report *r = sc->report;
	if (!r || r->nsas == REPORT_TUNNELS_MAX)
		return;
	for (size_t i = 0; i < r->nsas; i++)
		if (r->sas[i].sproto == t->sproto &&
		    (r->sas[i].spi == t->spi ||
		     (r->sas[i].has_back && r->sas[i].spi_back == t->spi)))
			return; /* the other end's copy */
	const struct node *a = owner(sc->sim, &t->src), *b = owner(sc->sim, &t->dst);
	if (!a || !b)
		return;
	for (size_t i = 0; i < r->nsas; i++) {
		struct rep_sa *y = &r->sas[i];
		if (y->sproto == t->sproto && y->a == b && y->b == a && !y->has_back) {
			y->spi_back = t->spi; /* the pair's other direction */
			y->has_back = true;
			return;
		}
	}
	struct rep_sa *x = &r->sas[r->nsas];
	x->a = a;
	x->b = b;
	x->sproto = t->sproto;
	x->spi = t->spi;
	const char *enc = t->sproto == IPPROTO_ESP ? pfkey_name(PFN_ENC, t->encalg) : "";
	const char *auth = t->authalg ? pfkey_name(PFN_AUTH, t->authalg) : "";
	snprintf(x->alg, sizeof(x->alg), "%s%s%s", enc, *enc && *auth ? "/" : "", auth);
	r->nsas++;
}

struct scn_report *scn_report_new(struct scenario *sc, const char *path, bool cwd, uint64_t from,
				  uint64_t to)
{
	struct scn_report *r = xcalloc(1, sizeof(*r));
	r->sc = sc;
	r->path = xstrdup(path);
	r->cwd = cwd;
	r->from = from;
	r->to = to;
	r->rows = xcalloc(REPORT_ROWS_MAX, sizeof(*r->rows));
	r->sas = xcalloc(REPORT_TUNNELS_MAX, sizeof(*r->sas));
	r->watch = (struct sim_watch){on_frame, on_drop, on_attack, on_pfkey, r};
	sc->sim->watch = &r->watch;
	return r;
}

void scn_report_window(struct scn_report *r, uint64_t from, uint64_t to)
{
	r->from = from;
	r->to = to;
}

/* report FILE [from TIME] [to TIME] */
int scn_stmt_report(struct scenario *sc, const struct scn_stmt *st)
{
	static const char usage[] = "usage: report FILE [from TIME] [to TIME] [nodes NODE,NODE...]";
	if (st == sc->report_stmt && sc->report_taken)
		return 0; /* taken before the other statements (its errors said then) */
	if (st->ntok < 2 || st->ntok % 2 != 0) {
		scn_error(sc, st, usage);
		return -1;
	}
	uint64_t from = 0, to = UINT64_MAX;
	const char *nodes = NULL;
	for (unsigned i = 2; i + 1 < st->ntok; i += 2) {
		const char *w = st->tok[i], *v = st->tok[i + 1];
		if (strcmp(w, "nodes") == 0) {
			nodes = v;
			continue;
		}
		uint64_t *at = strcmp(w, "from") == 0 ? &from : strcmp(w, "to") == 0 ? &to : NULL;
		if (!at) {
			scn_error(sc, st, "unknown word '%s'; %s", w, usage);
			return -1;
		}
		if (scn_parse_time(v, at) < 0) {
			scn_bad_value(sc, st, v, w, SCN_TIME_FORM);
			return -1;
		}
	}
	if (from > to) {
		scn_error(sc, st, "the window ends (to %s) before it starts (from ...)",
			  st->tok[st->ntok - 1]);
		return -1;
	}
	if (sc->report && !sc->report->cwd) {
		scn_error(sc, st, "one report a run: there is a report statement already");
		return -1;
	}
	if (sc->report) /* --report names the file; the statement its window */
		scn_report_window(sc->report, from, to);
	else
		sc->report = scn_report_new(sc, st->tok[1], false, from, to);
	/* the names are checked once the nodes exist (scn_report_check) */
	for (const char *p = nodes; p && *p;) {
		size_t n = strcspn(p, ",");
		struct scn_report *r = sc->report;
		r->chosen = xgrow(r->chosen, r->nchosen, sizeof(*r->chosen));
		r->chosen[r->nchosen] = xmalloc(n + 1);
		memcpy(r->chosen[r->nchosen], p, n);
		r->chosen[r->nchosen++][n] = '\0';
		p += n + (p[n] == ',');
	}
	return 0;
}

void scn_report_check(struct scenario *sc)
{
	struct scn_report *r = sc->report;
	for (unsigned i = 0; r && sc->report_stmt && i < r->nchosen; i++)
		if (!sim_find_node(sc->sim, r->chosen[i]))
			scn_error(sc, sc->report_stmt, "report nodes: unknown node '%s'",
				  r->chosen[i]);
}

void scn_report_free(struct scn_report *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->nchosen; i++)
		free(r->chosen[i]);
	free(r->chosen);
	free(r->path);
	free(r->rows);
	free(r->sas);
	free(r);
}

/* ---- writing ---- */

static void esc(FILE *f, const char *s)
{
	scn_xml_text(f, s);
}

static void escf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void escf(FILE *f, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	esc(f, buf);
}

/* Node pointers to their creation index, sorted by pointer for bsearch:
 * what the writer asks for every row and every link end. */
static int ix_cmp(const void *a, const void *b)
{
	uintptr_t x = ((const struct node_ix *)a)->p, y = ((const struct node_ix *)b)->p;
	return x < y ? -1 : x > y;
}

static unsigned node_index(const struct scn_report *r, const struct node *n)
{
	struct node_ix key = {(uintptr_t)n, 0};
	const struct node_ix *hit = bsearch(&key, r->ix, r->nix, sizeof(*r->ix), ix_cmp);
	return hit ? hit->i : 0;
}

static void index_nodes(struct scn_report *r)
{
	struct sim *s = r->sc->sim;
	r->ix = xcalloc(s->nnodes ? s->nnodes : 1, sizeof(*r->ix));
	r->nix = s->nnodes;
	for (unsigned i = 0; i < s->nnodes; i++)
		r->ix[i] = (struct node_ix){(uintptr_t)s->nodes[i], i};
	qsort(r->ix, r->nix, sizeof(*r->ix), ix_cmp);
}

/* Nodes laid out by hops from the first one (breadth first over links,
 * a switch counting as a hop), columns by distance, rows in creation
 * order: the same topology gives the same picture. */
struct layout {
	unsigned *depth, *row; /* by node index; UINT32_MAX: not drawn */
	unsigned width, height;
};

static void lay_out(struct scn_report *r, struct layout *lo)
{
	struct sim *s = r->sc->sim;
	unsigned n = s->nnodes;
	lo->depth = xcalloc(n ? n : 1, sizeof(unsigned));
	lo->row = xcalloc(n ? n : 1, sizeof(unsigned));
	for (unsigned i = 0; i < n; i++)
		lo->depth[i] = UINT32_MAX;
	unsigned *queue = xcalloc(n ? n : 1, sizeof(unsigned));
	unsigned *per_depth = xcalloc(n + 1, sizeof(unsigned));
	unsigned drawn = 0;
	for (unsigned start = 0; start < n && drawn < REPORT_NODES_MAX; start++) {
		if (lo->depth[start] != UINT32_MAX)
			continue;
		unsigned qh = 0, qt = 0;
		queue[qt++] = start;
		lo->depth[start] = 0;
		while (qh < qt && drawn < REPORT_NODES_MAX) {
			unsigned v = queue[qh++];
			lo->row[v] = per_depth[lo->depth[v]]++;
			drawn++;
			struct node *nv = s->nodes[v];
			for (unsigned k = 0; k < nv->nifaces; k++) {
				struct link_port *pt = nv->ifaces[k]->port;
				if (!pt)
					continue;
				const struct link *l = pt->link;
				for (unsigned j = 0; j < l->nports; j++) {
					unsigned w = node_index(r, l->ports[j].ifp->node);
					if (lo->depth[w] == UINT32_MAX) {
						lo->depth[w] = lo->depth[v] + 1;
						queue[qt++] = w;
					}
				}
			}
		}
		for (unsigned i = qh; i < qt; i++) /* queued past the cap */
			lo->depth[queue[i]] = UINT32_MAX;
	}
	lo->width = 0;
	lo->height = 0;
	for (unsigned i = 0; i < n; i++)
		if (lo->depth[i] != UINT32_MAX) {
			if (lo->depth[i] + 1 > lo->width)
				lo->width = lo->depth[i] + 1;
			if (lo->row[i] + 1 > lo->height)
				lo->height = lo->row[i] + 1;
		}
	free(queue);
	free(per_depth);
}

#define COL_W 190
#define ROW_H 90

static void node_xy(const struct layout *lo, unsigned i, unsigned *x, unsigned *y)
{
	*x = 70 + lo->depth[i] * COL_W;
	*y = 120 + lo->row[i] * ROW_H;
}

static void link_label(const struct link *l, char *buf, size_t cap)
{
	const struct link_params *p = l->nports ? &l->ports[0].p : NULL;
	size_t n = (size_t)snprintf(buf, cap, "%s", l->name);
	if (p && p->delay && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, " %.3gms", (double)p->delay / 1e6);
	if (p && p->rate && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, " %.3gMbit/s", (double)p->rate / 1e6);
	if (p && p->loss && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, " loss %.3g%%", (double)p->loss / 1e7);
	if (p && p->mtu && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, " mtu %u", p->mtu);
	if (l->ncaps && n < cap)
		snprintf(buf + n, cap - n, " [pcap]");
}

static void write_topology(FILE *f, struct scn_report *r, const struct layout *lo)
{
	struct sim *s = r->sc->sim;
	unsigned w = 140 + lo->width * COL_W, h = 130 + lo->height * ROW_H;
	fprintf(f,
		"<h2>Topology</h2>\n<svg id=\"topology\" xmlns=\"http://www.w3.org/2000/svg\" "
		"width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\">\n",
		w, h, w, h);
	/* links: a wire between its two ends, a switch as a star */
	for (unsigned i = 0; i < s->nlinks; i++) {
		const struct link *l = s->links[i];
		unsigned drawn = 0, sx = 0, sy = 0;
		for (unsigned j = 0; j < l->nports; j++) {
			unsigned k = node_index(r, l->ports[j].ifp->node);
			if (lo->depth[k] == UINT32_MAX)
				continue;
			unsigned x, y;
			node_xy(lo, k, &x, &y);
			sx += x;
			sy += y;
			drawn++;
		}
		if (drawn < 2)
			continue;
		sx /= drawn;
		sy /= drawn;
		char label[160];
		link_label(l, label, sizeof(label));
		for (unsigned j = 0; j < l->nports; j++) {
			unsigned k = node_index(r, l->ports[j].ifp->node);
			if (lo->depth[k] == UINT32_MAX)
				continue;
			unsigned x, y;
			node_xy(lo, k, &x, &y);
			fprintf(f,
				"<line class=\"link\" x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\"/>\n",
				x, y, sx, sy);
		}
		fprintf(f, "<text class=\"linklabel\" x=\"%u\" y=\"%u\">", sx, sy - 6);
		esc(f, label);
		fputs("</text>\n", f);
	}
	/* tunnels: one curve for each SA, both directions of a pair apart */
	for (size_t i = 0; i < r->nsas; i++) {
		const struct rep_sa *t = &r->sas[i];
		unsigned a = node_index(r, t->a), b = node_index(r, t->b);
		if (lo->depth[a] == UINT32_MAX || lo->depth[b] == UINT32_MAX || a == b)
			continue;
		unsigned x1, y1, x2, y2;
		node_xy(lo, a, &x1, &y1);
		node_xy(lo, b, &x2, &y2);
		int bend = 50 + (int)(i % 4) * 16;
		int mx = ((int)x1 + (int)x2) / 2, my = ((int)y1 + (int)y2) / 2 - bend;
		const char *p = t->sproto == IPPROTO_ESP      ? "ESP"
				: t->sproto == IPPROTO_AH     ? "AH"
				: t->sproto == IPPROTO_IPCOMP ? "IPComp"
							      : "IPIP";
		fprintf(f,
			"<path class=\"tunnel\" d=\"M %u %u Q %d %d %u %u\"/><text "
			"class=\"tunnellabel\" x=\"%d\" y=\"%d\">",
			x1, y1, mx, my, x2, y2, mx, my + bend / 2 - 4);
		if (t->has_back)
			escf(f, "%s 0x%08x %s>%s, 0x%08x back, %s", p, t->spi, t->a->name,
			     t->b->name, t->spi_back, t->alg);
		else
			escf(f, "%s 0x%08x %s>%s, %s", p, t->spi, t->a->name, t->b->name, t->alg);
		fputs("</text>\n", f);
	}
	for (unsigned i = 0; i < s->nnodes; i++) {
		if (lo->depth[i] == UINT32_MAX)
			continue;
		unsigned x, y;
		node_xy(lo, i, &x, &y);
		fprintf(f,
			"<circle class=\"node\" cx=\"%u\" cy=\"%u\" r=\"16\"/><text "
			"class=\"nodelabel\" "
			"x=\"%u\" y=\"%u\">",
			x, y, x, y + 32);
		const struct node *nd = s->nodes[i];
		bool cap = nd->nenccaps || nd->npflogs;
		for (unsigned k = 0; k < nd->nifaces; k++)
			cap |= nd->ifaces[k]->ncaps > 0;
		esc(f, nd->name);
		if (cap) /* an interface, enc0 or pflog0 captured */
			fputs(" [pcap]", f);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
	unsigned shown = 0;
	for (unsigned i = 0; i < s->nnodes; i++)
		shown += lo->depth[i] != UINT32_MAX;
	if (shown < s->nnodes)
		fprintf(f, "<p class=\"note\">%u of %u nodes drawn (at most %d).</p>\n", shown,
			s->nnodes, REPORT_NODES_MAX);
}

static int row_cmp(const void *a, const void *b)
{
	const struct rep_row *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void write_ladder(FILE *f, struct scn_report *r)
{
	struct sim *s = r->sc->sim;
	/* columns: the nodes the window's rows name, in creation order */
	bool *used = xcalloc(s->nnodes ? s->nnodes : 1, sizeof(bool));
	for (size_t i = 0; i < r->nrows; i++) {
		if (r->rows[i].from)
			used[node_index(r, r->rows[i].from)] = true;
		if (r->rows[i].to)
			used[node_index(r, r->rows[i].to)] = true;
	}
	unsigned *col = xcalloc(s->nnodes ? s->nnodes : 1, sizeof(unsigned));
	unsigned ncols = 0;
	for (unsigned i = 0; i < s->nnodes; i++)
		col[i] = used[i] && ncols < REPORT_COLUMNS_MAX ? ncols++ : UINT32_MAX;
	/* rows in time order; the watch saw them in event order, which is
	 * time order already but for frames recorded at delivery */
	qsort(r->rows, r->nrows, sizeof(*r->rows), row_cmp);
	const unsigned cw = 120, rh = 18, left = 130, top = 40;
	unsigned w = left + (ncols ? ncols : 1) * cw + 420, h = top + (unsigned)r->nrows * rh + 20;
	char t[32];
	fputs("<h2>Ladder</h2>\n<div class=\"controls\">", f);
	for (int k = 0; k < RK__N; k++)
		fprintf(f,
			"<label><input type=\"checkbox\" checked data-kind=\"%s\"> <span "
			"style=\"color:%s\">%s</span></label> ",
			kind_names[k], kind_colors[k], kind_names[k]);
	fputs("<label><input type=\"checkbox\" checked data-kind=\"event\"> drops, attacks, PF_KEY"
	      "</label> <input id=\"filter\" placeholder=\"filter: node, SPI, text\"> "
	      "<button id=\"zin\">+</button><button id=\"zout\">&minus;</button></div>\n",
	      f);
	fprintf(f, "<p class=\"note\">%llu frames in the window (from %s s to ",
		(unsigned long long)r->frames_in_window, sim_fmt_time(r->from, t));
	if (r->to == UINT64_MAX)
		fputs("the end", f);
	else
		fprintf(f, "%s s", sim_fmt_time(r->to, t));
	fprintf(f, "); %zu rows drawn", r->nrows);
	if (r->rows_cut)
		fprintf(f,
			", %llu more not drawn (at most %d rows: narrow the window with `report "
			"FILE from TIME to TIME`)",
			(unsigned long long)r->rows_cut, REPORT_ROWS_MAX);
	fputs(".</p>\n", f);
	fprintf(f,
		"<div id=\"ladderbox\"><svg id=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" "
		"width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\">\n",
		w, h, w, h);
	for (unsigned i = 0; i < s->nnodes; i++) {
		if (col[i] == UINT32_MAX)
			continue;
		unsigned x = left + col[i] * cw;
		fprintf(f, "<line class=\"lifeline\" x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\"/>", x,
			top - 10, x, h - 10);
		fprintf(f, "<text class=\"colhead\" x=\"%u\" y=\"%u\">", x, top - 16);
		esc(f, s->nodes[i]->name);
		fputs("</text>\n", f);
	}
	for (size_t i = 0; i < r->nrows; i++) {
		const struct rep_row *row = &r->rows[i];
		unsigned y = top + (unsigned)i * rh;
		unsigned cf = row->from ? col[node_index(r, row->from)] : UINT32_MAX;
		unsigned ct = row->to ? col[node_index(r, row->to)] : UINT32_MAX;
		bool frame = row->to != NULL;
		const char *kind = frame ? kind_names[row->kind] : "event";
		fprintf(f, "<g class=\"row %s\" data-kind=\"%s\" data-text=\"", row->cls, kind);
		esc(f, row->text);
		if (row->has_spi)
			fprintf(f, " 0x%08x", row->spi);
		fprintf(f, "\"><title>%s ", sim_fmt_time(row->at, t));
		esc(f, row->text);
		fputs("</title>", f);
		fprintf(f, "<text class=\"time\" x=\"4\" y=\"%u\">%s</text>", y + 4,
			sim_fmt_time(row->at, t));
		unsigned tx = left + (ncols ? ncols : 1) * cw - cw / 2 + 20;
		if (frame && cf != UINT32_MAX && ct != UINT32_MAX) {
			unsigned x1 = left + cf * cw, x2 = left + ct * cw;
			fprintf(f,
				"<line class=\"arrow\" x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" "
				"stroke=\"%s\" marker-end=\"url(#head)\"/>",
				x1, y - 4, x2, y + 4, kind_colors[row->kind]);
		} else if (cf != UINT32_MAX) {
			unsigned x = left + cf * cw;
			if (strcmp(row->cls, "drop") == 0)
				fprintf(
				    f,
				    "<text class=\"mark drop\" x=\"%u\" y=\"%u\">&#x2715;</text>",
				    x - 5, y + 5);
			else
				fprintf(f,
					"<circle class=\"mark %s\" cx=\"%u\" cy=\"%u\" r=\"5\"/>",
					row->cls, x, y);
		}
		fprintf(f, "<text class=\"rowtext\" x=\"%u\" y=\"%u\">", tx, y + 4);
		esc(f, row->text);
		fputs("</text></g>\n", f);
	}
	fputs(
	    "<defs><marker id=\"head\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" "
	    "orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#444\"/></marker></defs>\n"
	    "</svg></div>\n",
	    f);
	free(used);
	free(col);
}

static void write_verdicts(FILE *f, struct scenario *sc)
{
	unsigned failed = 0;
	for (unsigned i = 0; i < sc->nexpects; i++)
		failed += !sc->expects[i].held;
	fprintf(f, "<h2>Verdicts</h2>\n<p>%u expectation%s, %u held, %u failed.</p>\n",
		sc->nexpects, sc->nexpects == 1 ? "" : "s", sc->nexpects - failed, failed);
	fputs("<table class=\"verdicts\"><tr><th>verdict</th><th>where</th><th>expectation</th>"
	      "<th>value seen</th></tr>\n",
	      f);
	for (unsigned i = 0; i < sc->nexpects; i++) {
		const struct scn_expect *e = &sc->expects[i];
		char buf[48];
		fprintf(f, "<tr class=\"%s\"><td>%s</td><td>", e->held ? "held" : "failed",
			e->held ? "held" : "FAILED");
		escf(f, "%s:%u", e->file, e->line);
		fputs("</td><td>", f);
		esc(f, e->text);
		fputs("</td><td>", f);
		esc(f, scn_expect_actual(e, buf));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static const char *node_stat_name(int k)
{
	return stat_name((enum stat_id)k);
}

static const char *link_counter_name(int k)
{
	return link_stat_name((enum link_stat)k);
}

/* One folded table: the counters of a node or a link that are not 0. */
static void counter_table(FILE *f, const char *what, const char *name, const uint64_t *v, int n,
			  const char *(*counter)(int))
{
	fprintf(f, "<details><summary>%s", what);
	esc(f, name);
	fputs("</summary><table class=\"counters\">", f);
	for (int k = 0; k < n; k++)
		if (v[k])
			fprintf(f, "<tr><td>%s</td><td>%llu</td></tr>", counter(k),
				(unsigned long long)v[k]);
	fputs("</table></details>\n", f);
}

static void write_counters(FILE *f, struct sim *s)
{
	fputs("<h2>Counters that moved</h2>\n", f);
	for (unsigned i = 0; i < s->nnodes && i < REPORT_NODES_MAX; i++)
		counter_table(f, "", s->nodes[i]->name, s->nodes[i]->stats, STAT__COUNT,
			      node_stat_name);
	for (unsigned i = 0; i < s->nlinks && i < REPORT_NODES_MAX; i++)
		counter_table(f, "link ", s->links[i]->name, s->links[i]->stats, LINK_STAT__COUNT,
			      link_counter_name);
}

static const char style[] =
    "body{font-family:sans-serif;margin:1em;color:#222}h1{font-size:1.4em}"
    "h2{font-size:1.15em;margin-top:1.5em}.note{color:#555;font-size:.9em}"
    "line.link{stroke:#888;stroke-width:2}path.tunnel{fill:none;stroke:#1f77b4;"
    "stroke-width:2;stroke-dasharray:6 4}circle.node{fill:#fff;stroke:#333;stroke-width:2}"
    "text{font-size:11px}.linklabel{fill:#555;text-anchor:middle}.tunnellabel{fill:#1f77b4;"
    "text-anchor:middle}.nodelabel{text-anchor:middle;font-weight:bold}"
    "line.lifeline{stroke:#ccc;stroke-width:1}.colhead{text-anchor:middle;font-weight:bold}"
    "line.arrow{stroke-width:1.5}.time{fill:#777;font-family:monospace}"
    ".rowtext{fill:#333;font-family:monospace}.mark.drop{fill:#d62728;font-weight:bold}"
    "circle.attack{fill:#e377c2}circle.pfkey{fill:#17becf}"
    "#ladderbox{overflow:auto;border:1px solid #ddd;max-height:80vh}"
    "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;"
    "font-size:.9em;text-align:left}tr.failed td{background:#fdd}tr.held td:first-child{"
    "color:#080}.controls label{margin-right:.6em}";

static const char script[] =
    "(function(){var z=1;function apply(){var kinds={};"
    "document.querySelectorAll('.controls input[type=checkbox]').forEach(function(c){"
    "kinds[c.dataset.kind]=c.checked;});var q=document.getElementById('filter').value"
    ".toLowerCase();document.querySelectorAll('#ladder g.row').forEach(function(g){"
    "var ok=kinds[g.dataset.kind]!==false&&(!q||g.dataset.text.toLowerCase()"
    ".indexOf(q)>=0);g.style.display=ok?'':'none';});}"
    "document.querySelectorAll('.controls input').forEach(function(i){"
    "i.addEventListener('input',apply);});function zoom(f){z*=f;var s=document"
    ".getElementById('ladder');s.style.transformOrigin='0 0';s.style.transform="
    "'scale('+z+')';}document.getElementById('zin').onclick=function(){zoom(1.25);};"
    "document.getElementById('zout').onclick=function(){zoom(0.8);};})();";

int scn_report_write(struct scn_report *r)
{
	struct scenario *sc = r->sc;
	char path[4096];
	if (r->cwd)
		snprintf(path, sizeof(path), "%s", r->path);
	else
		scn_out_path(sc, r->path, path, sizeof(path));
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(sc->err, "%s: cannot write the report %s\n", sc->path, path);
		return -1;
	}
	index_nodes(r);
	struct layout lo;
	lay_out(r, &lo);
	char t[32];
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
	escf(f, "ipsecsim: %s", sc->name);
	fprintf(f, "</title><style>%s</style></head>\n<body>\n<h1>", style);
	escf(f, "%s (seed %llu), %s s of virtual time", sc->name, (unsigned long long)sc->seed,
	     sim_fmt_time(sc->sim->now, t));
	fputs("</h1>\n", f);
	for (unsigned i = 0; i < sc->sim->nsources; i++) {
		fputs("<p>", f);
		escf(f, "External endpoint %s: this run followed the wall clock and is not "
			"deterministic.",
		     sc->sim->sources[i].what);
		fputs("</p>\n", f);
	}
	write_verdicts(f, sc);
	write_topology(f, r, &lo);
	write_ladder(f, r);
	write_counters(f, sc->sim);
	fprintf(f, "<script>%s</script>\n</body></html>\n", script);
	fclose(f);
	free(lo.depth);
	free(lo.row);
	free(r->ix);
	r->ix = NULL;
	scn_add_written(sc, path);
	return 0;
}
