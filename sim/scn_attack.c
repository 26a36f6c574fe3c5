/*
 * Scenario statements for attacks on a link (sim/attack.c):
 *   drop LINK [from NODE] [FILTER] N
 *   tamper LINK [from NODE] [FILTER] N offset K [xor V]
 *   at TIME replay LINK [from NODE] [FILTER] N|last
 *   at TIME inject LINK FILE [from NODE]
 * FILTER is esp [spi V], ah [spi V], udp [port P], icmp or ip.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/iface.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "attack.h"
#include "link.h"
#include "scenario.h"

/* The link port a node is attached by; -1 when it is not on the link. */
static int node_port(const struct link *l, const char *name)
{
	for (unsigned k = 0; k < l->nports; k++)
		if (l->ports[k].ifp && strcmp(l->ports[k].ifp->node->name, name) == 0)
			return (int)k;
	return -1;
}

/* LINK [from NODE] [FILTER]: tokens from *i on. */
static struct link *parse_target(struct scenario *sc, const struct scn_stmt *st, unsigned *i,
				 struct attack_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->port = -1;
	f->any_frame = true;
	if (*i >= st->ntok) {
		scn_error(sc, st, "which link?");
		return NULL;
	}
	struct link *l = sim_find_link(sc->sim, st->tok[*i]);
	if (!l) {
		scn_error(sc, st, "unknown link '%s'", st->tok[*i]);
		return NULL;
	}
	(*i)++;
	if (*i + 1 < st->ntok && strcmp(st->tok[*i], "from") == 0) {
		const char *name = st->tok[*i + 1];
		f->port = node_port(l, name);
		if (f->port < 0) {
			scn_error(sc, st, "%s is not on link %s", name, l->name);
			return NULL;
		}
		*i += 2;
	}
	static const struct {
		const char *word;
		enum attack_proto proto;
		const char *value; /* the word before a value, or NULL */
	} filters[] = {{"esp", AP_ESP, "spi"},
		       {"ah", AP_AH, "spi"},
		       {"udp", AP_UDP, "port"},
		       {"icmp", AP_ICMP, NULL},
		       {"ip", AP_IP, NULL}};
	for (size_t k = 0; *i < st->ntok && k < ARRAY_LEN(filters); k++) {
		if (strcmp(st->tok[*i], filters[k].word) != 0)
			continue;
		f->any_frame = false;
		f->proto = filters[k].proto;
		(*i)++;
		if (filters[k].value && *i + 1 < st->ntok &&
		    strcmp(st->tok[*i], filters[k].value) == 0) {
			uint64_t v;
			uint64_t max = f->proto == AP_UDP ? 65535 : UINT32_MAX;
			if (scn_parse_uint(st->tok[*i + 1], max, &v) < 0) {
				scn_bad_range(sc, st, st->tok[*i + 1], filters[k].value, 0, max);
				return NULL;
			}
			f->has_value = true;
			f->value = (uint32_t)v;
			*i += 2;
		}
		break;
	}
	return l;
}

static int parse_nth(struct scenario *sc, const struct scn_stmt *st, unsigned *i, bool last_ok,
		     uint64_t *nth)
{
	if (*i >= st->ntok) {
		scn_error(sc, st, "which frame? a number from 1%s", last_ok ? ", or last" : "");
		return -1;
	}
	if (last_ok && strcmp(st->tok[*i], "last") == 0) {
		*nth = 0;
	} else if (scn_parse_uint(st->tok[*i], UINT64_MAX, nth) < 0 || *nth == 0) {
		scn_error(sc, st, "bad frame number '%s' (1 is the first)", st->tok[*i]);
		return -1;
	}
	(*i)++;
	return 0;
}

static void add_attack(struct link *l, const struct link_attack *a)
{
	l->attacks = xgrow(l->attacks, l->nattacks, sizeof(*l->attacks));
	l->attacks[l->nattacks++] = *a;
}

/* drop LINK [from NODE] [FILTER] N */
int scn_stmt_drop(struct scenario *sc, const struct scn_stmt *st)
{
	unsigned i = 1;
	struct link_attack a = {.kind = ATTACK_DROP};
	struct link *l = parse_target(sc, st, &i, &a.f);
	if (!l || parse_nth(sc, st, &i, false, &a.nth) < 0)
		return -1;
	if (i != st->ntok) {
		scn_error(sc, st, "usage: drop LINK [from NODE] [FILTER] N");
		return -1;
	}
	add_attack(l, &a);
	return 0;
}

/* tamper LINK [from NODE] [FILTER] N offset K [xor V] */
int scn_stmt_tamper(struct scenario *sc, const struct scn_stmt *st)
{
	static const char usage[] = "usage: tamper LINK [from NODE] [FILTER] N offset K [xor V]";
	unsigned i = 1;
	struct link_attack a = {.kind = ATTACK_TAMPER, .xor = 0x01};
	struct link *l = parse_target(sc, st, &i, &a.f);
	if (!l || parse_nth(sc, st, &i, false, &a.nth) < 0)
		return -1;
	uint64_t v;
	if (i + 1 >= st->ntok || strcmp(st->tok[i], "offset") != 0 ||
	    scn_parse_uint(st->tok[i + 1], 65535, &v) < 0) {
		scn_error(sc, st, usage);
		return -1;
	}
	a.offset = (size_t)v;
	i += 2;
	if (i + 1 < st->ntok && strcmp(st->tok[i], "xor") == 0) {
		if (scn_parse_uint(st->tok[i + 1], 255, &v) < 0 || v == 0) {
			scn_error(sc, st, "bad value '%s' for xor (1 to 255)", st->tok[i + 1]);
			return -1;
		}
		a.xor = (uint8_t)v;
		i += 2;
	}
	if (i != st->ntok) {
		scn_error(sc, st, usage);
		return -1;
	}
	add_attack(l, &a);
	return 0;
}

struct replay_ev {
	struct link *l;
	struct attack_filter f;
	uint64_t nth;
};

static void replay_ev(struct sim *s, void *arg)
{
	struct replay_ev *r = arg;
	(void)s;
	attack_replay(r->l, &r->f, r->nth);
	free(r);
}

/* at TIME replay LINK [from NODE] [FILTER] N|last */
int scn_action_replay(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at)
{
	struct replay_ev *r = xcalloc(1, sizeof(*r));
	r->l = parse_target(sc, st, &i, &r->f);
	if (!r->l || parse_nth(sc, st, &i, true, &r->nth) < 0 || i != st->ntok) {
		if (r->l && i != st->ntok)
			scn_error(sc, st, "usage: at TIME replay LINK [from NODE] [FILTER] N|last");
		free(r);
		return -1;
	}
	r->l->keep_history = true;
	sim_at(sc->sim, at, replay_ev, free, r);
	return 0;
}

struct inject_ev {
	struct link_port *port;
	struct pkt *p;
};

static void inject_ev(struct sim *s, void *arg)
{
	struct inject_ev *e = arg;
	(void)s;
	e->port->link->stats[LINK_STAT_INJECTED]++;
	link_send(e->port, e->p);
	free(e);
}

static void inject_free(void *arg)
{
	struct inject_ev *e = arg;
	pkt_free(e->p);
	free(e);
}

/* at TIME inject LINK FILE [from NODE]: an Ethernet pcap's frames, their
 * spacing kept, the first at TIME. */
int scn_action_inject(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at)
{
	if (st->ntok != i + 2 && st->ntok != i + 4) {
		scn_error(sc, st, "usage: at TIME inject LINK FILE [from NODE]");
		return -1;
	}
	struct link *l = sim_find_link(sc->sim, st->tok[i]);
	if (!l) {
		scn_error(sc, st, "unknown link '%s'", st->tok[i]);
		return -1;
	}
	int port = 0;
	if (st->ntok == i + 4) {
		port = strcmp(st->tok[i + 2], "from") == 0 ? node_port(l, st->tok[i + 3]) : -2;
		if (port == -2) {
			scn_error(sc, st, "usage: at TIME inject LINK FILE [from NODE]");
			return -1;
		}
		if (port < 0) {
			scn_error(sc, st, "%s is not on link %s", st->tok[i + 3], l->name);
			return -1;
		}
	}
	char path[4096], err[PCAP_ERRBUF_SIZE];
	scn_path_near(st, st->tok[i + 1], path, sizeof(path));
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	if (!pc) {
		scn_error(sc, st, "cannot read %s: %s", path, err);
		return -1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		scn_error(sc, st, "%s: not an Ethernet capture (link type %d)", path,
			  pcap_datalink(pc));
		pcap_close(pc);
		return -1;
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t t0 = 0;
	unsigned n = 0;
	int rc;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		uint64_t t = (uint64_t)h->ts.tv_sec * NS_PER_SEC + (uint64_t)h->ts.tv_usec;
		if (n++ == 0)
			t0 = t;
		struct inject_ev *e = xcalloc(1, sizeof(*e));
		e->port = &l->ports[port];
		e->p = pkt_from(data, h->caplen, PKT_HEADROOM);
		sim_at(sc->sim, at + (t >= t0 ? t - t0 : 0), inject_ev, inject_free, e);
	}
	if (rc == PCAP_ERROR) {
		scn_error(sc, st, "%s: %s", path, pcap_geterr(pc));
		pcap_close(pc);
		return -1;
	}
	pcap_close(pc);
	return 0;
}
