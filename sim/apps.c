/*
 * Scenario applications: ping (an echo socket, BSD ping's output), UDP
 * and raw IP senders, and UDP and raw IP listeners whose deliveries
 * expectations can count.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/icmp.h"
#include "../stack/icmp6.h"
#include "../stack/iface.h"
#include "../stack/ip6.h"
#include "../stack/nd.h"
#include "../stack/node.h"
#include "../stack/raw.h"
#include "../stack/udp.h"
#include "../stack/util.h"
#include "scenario.h"

enum app_kind { APP_PING, APP_UDP, APP_RAW };

#define PING_EXT_MAX 8
#define APP_MAX_BURST 1000000 /* packets one statement sends at one instant */

struct scn_app {
	enum app_kind kind;
	struct scenario *sc;
	struct node *node;
	bool has_sl;        /* udp: IPsec levels given */
	struct seclevel sl; /* (stack/seclevel.h) */
	struct ipaddr dst;
	char dststr[ADDR_STRLEN + 1 + IFACE_NAME_MAX]; /* ADDR or ADDR%IFACE */
	uint64_t interval, count, sent;
	size_t size;
	uint8_t ttl, tos;
	bool df, quiet;
	struct ipaddr src;     /* from ADDR; ADDR_NONE: the route's choice */
	const char *name;      /* as NAME, for expectations; NULL none */
	const char *from_word; /* as written, checked once the destination is known */
	/* ping */
	struct echo_sock *es;
	/* IPv6 extension headers: options (type, data length) of hop-by-hop
	 * and destination options headers, routing header addresses */
	struct ip6_opt hbh[PING_EXT_MAX], dstopt[PING_EXT_MAX];
	unsigned nhbh, ndstopt, nrt;
	struct ipaddr rt[PING_EXT_MAX];
	struct ip6_exthdrs *ext;
	uint8_t *seen; /* one byte per sequence number: replies seen */
	uint64_t received, dups, errors;
	bool summarized; /* its statistics are printed: the ping is over */
	uint64_t rtt_min, rtt_max, rtt_sum;
	/* udp */
	struct udp_sock *us;
	uint16_t dport;
	uint8_t *data;
	uint64_t send_errors;
	/* raw */
	struct raw_sock *rs;
};

enum udp_service { US_READ, US_NOREAD, US_DISCARD, US_ECHO, US_CHARGEN };
static const char *const udp_services[] = {"", "noread", "discard", "echo", "chargen"};

struct scn_listener {
	struct node *node;
	uint16_t port; /* udp */
	enum udp_service svc;
	struct udp_sock *s;
	struct raw_sock *rs; /* listen NODE raw PROTO: instead of s */
	bool reflect;
};

uint8_t scn_chargen_byte(uint64_t k)
{
	/* RFC 864: lines of 72 printable characters and CR LF, each line
	 * starting one character further along the 95 printable ones */
	uint64_t line = k / 74, col = k % 74;
	if (col == 72)
		return '\r';
	if (col == 73)
		return '\n';
	return (uint8_t)(0x20 + (line + col) % 95);
}

static void app_line(struct scn_app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void app_line(struct scn_app *a, const char *fmt, ...)
{
	char t[32];
	va_list ap;
	FILE *f = a->sc->out;
	fprintf(f, "%s %s: ", sim_fmt_time(a->sc->sim->now, t), a->node->name);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}


static struct scn_app *app_new(struct scenario *sc, enum app_kind kind)
{
	struct scn_app *a = xcalloc(1, sizeof(*a));
	a->kind = kind;
	a->sc = sc;
	a->count = 1;
	a->interval = NS_PER_SEC;
	sc->apps = xgrow(sc->apps, sc->napps, sizeof(*sc->apps));
	sc->apps[sc->napps++] = a;
	return a;
}

/* A ping's or raw sender's start: the usage when the statement is short of
 * `need` words from i, else a new app on the node named at tok[i]. */
static struct scn_app *app_on_node(struct scenario *sc, const struct scn_stmt *st, unsigned i,
				   unsigned need, enum app_kind kind, const char *usage)
{
	if (st->ntok < i + need) {
		scn_error(sc, st, "%s", usage);
		return NULL;
	}
	struct node *n = sim_find_node(sc->sim, st->tok[i]);
	if (!n) {
		scn_error(sc, st, "unknown node '%s'", st->tok[i]);
		return NULL;
	}
	struct scn_app *a = app_new(sc, kind);
	a->node = n;
	return a;
}

/* Options common to ping and udp, from tok[i..].  `extra` handles the rest. */
static int parse_app_opts(struct scenario *sc, const struct scn_stmt *st, unsigned i,
			  struct scn_app *a,
			  int (*extra)(struct scenario *, const struct scn_stmt *, unsigned *,
				       struct scn_app *))
{
	while (i < st->ntok) {
		const char *k = st->tok[i];
		const char *v = i + 1 < st->ntok ? st->tok[i + 1] : NULL;
		uint64_t u;
		if (strcmp(k, "df") == 0) {
			a->df = true;
			i++;
			continue;
		}
		if (strcmp(k, "quiet") == 0) {
			a->quiet = true;
			i++;
			continue;
		}
		if (extra) {
			int r = extra(sc, st, &i, a);
			if (r < 0)
				return -1;
			if (r > 0)
				continue;
		}
		if (!v) {
			scn_error(sc, st, "'%s' needs a value", k);
			return -1;
		}
		int bad = 0;
		uint64_t min = 0, max = 0; /* the range of a number */
		if (strcmp(k, "count") == 0) {
			min = 1, max = 1000000000;
			bad = scn_parse_uint(v, max, &a->count) || a->count < min;
		} else if (strcmp(k, "interval") == 0) {
			if (scn_parse_time(v, &a->interval) < 0) {
				scn_bad_value(sc, st, v, k, SCN_TIME_FORM);
				return -1;
			}
		} else if (strcmp(k, "ttl") == 0) {
			min = 1, max = 255;
			bad = scn_parse_uint(v, max, &u) || u < min;
			a->ttl = (uint8_t)u;
		} else if (strcmp(k, "tos") == 0) {
			max = 255;
			bad = scn_parse_uint(v, max, &u);
			a->tos = (uint8_t)u;
		} else if (strcmp(k, "size") == 0) {
			max = 65507;
			bad = scn_parse_uint(v, max, &u);
			a->size = (size_t)u;
		} else if (strcmp(k, "from") == 0) {
			a->from_word = v;
		} else if (strcmp(k, "as") == 0) {
			if (scn_name_taken(sc, v)) {
				scn_error(sc, st, "the name '%s' is taken", v);
				return -1;
			}
			a->name = v; /* the statement's words live as long as the run */
			hmap_add_str(&sc->app_names, v, a);
		} else {
			scn_error(sc, st, "unknown option '%s'", k);
			return -1;
		}
		if (bad) {
			scn_bad_range(sc, st, v, k, min, max);
			return -1;
		}
		i += 2;
	}
	if (a->interval == 0 && a->count > APP_MAX_BURST) {
		/* they would all go at one instant, which `end` cannot stop */
		scn_error(sc, st,
			  "count %llu with interval 0 sends them all at one instant: at most %u "
			  "that way (give an interval)",
			  (unsigned long long)a->count, APP_MAX_BURST);
		return -1;
	}
	return 0;
}

/* ---- ping ---- */

/* The option data of `hbh` and `dstopt`: a recognisable pattern. */
static const uint8_t ping_optdata[255] = {
#define X16(b)                                                                                    \
	b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11, b + 12, \
	    b + 13, b + 14, b + 15
    X16(0xa0),
    X16(0xb0),
    X16(0xc0),
    X16(0xd0),
#undef X16
};

/* ping's IPv6 options: hbh TYPE:LEN, dstopt TYPE:LEN (repeatable), rthdr
 * ADDR[,ADDR...].  1 when tok[*i] was one, 0 when not, -1 on error. */
static int ping_extra(struct scenario *sc, const struct scn_stmt *st, unsigned *i,
		      struct scn_app *a)
{
	const char *k = st->tok[*i];
	const char *v = *i + 1 < st->ntok ? st->tok[*i + 1] : NULL;
	bool hbh = strcmp(k, "hbh") == 0, dst = strcmp(k, "dstopt") == 0;
	if (!hbh && !dst && strcmp(k, "rthdr") != 0)
		return 0;
	if (!v) {
		scn_error(sc, st, "'%s' needs a value", k);
		return -1;
	}
	if (hbh || dst) {
		struct ip6_opt *o = hbh ? a->hbh : a->dstopt;
		unsigned *no = hbh ? &a->nhbh : &a->ndstopt;
		char tbuf[32];
		snprintf(tbuf, sizeof(tbuf), "%s", v);
		char *colon = strchr(tbuf, ':');
		uint64_t type, len = 0;
		if (colon)
			*colon = '\0';
		if (*no == PING_EXT_MAX || scn_parse_uint(tbuf, 255, &type) ||
		    type == IP6OPT_PAD1 || (colon && scn_parse_uint(colon + 1, 60, &len))) {
			scn_error(sc, st,
				  "bad option '%s': TYPE[:LEN], type 1 to 255, at most 60 data "
				  "bytes, %d options a header",
				  v, PING_EXT_MAX);
			return -1;
		}
		o[(*no)++] = (struct ip6_opt){
		    .type = (uint8_t)type, .len = (uint8_t)len, .data = ping_optdata};
	} else {
		char buf[512];
		snprintf(buf, sizeof(buf), "%s", v);
		for (char *save, *t = strtok_r(buf, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			if (a->nrt == PING_EXT_MAX || addr_parse(t, &a->rt[a->nrt]) < 0 ||
			    a->rt[a->nrt].af != ADDR_V6) {
				scn_error(sc, st,
					  "bad routing header '%s': up to %d IPv6 addresses", v,
					  PING_EXT_MAX);
				return -1;
			}
			a->nrt++;
		}
	}
	*i += 2;
	return 1;
}

/* The extension headers the options asked for, in RFC 8200 4.1's order:
 * hop-by-hop, destination options, routing (type 0, no segments left:
 * one that asks for routing would be refused on the way, RFC 5095). */
static struct ip6_exthdrs *ping_exthdrs(const struct scn_app *a)
{
	if (!a->nhbh && !a->ndstopt && !a->nrt)
		return NULL;
	struct ip6_exthdrs *x = xcalloc(1, sizeof(*x));
	size_t hl;
	if (a->nhbh) {
		hl = ip6_opts_emit(x->buf + x->len, sizeof(x->buf) - x->len, 0, a->hbh, a->nhbh);
		ip6_exthdrs_add(x, IPPROTO_HOPOPTS, hl);
	}
	if (a->ndstopt) {
		hl = ip6_opts_emit(x->buf + x->len, sizeof(x->buf) - x->len, 0, a->dstopt,
				   a->ndstopt);
		ip6_exthdrs_add(x, IPPROTO_DSTOPTS, hl);
	}
	if (a->nrt) {
		hl = ip6_rthdr_emit(x->buf + x->len, sizeof(x->buf) - x->len, 0, 0, 0, a->rt,
				    a->nrt);
		ip6_exthdrs_add(x, IPPROTO_ROUTING, hl);
	}
	return x;
}

/* After its last request a ping waits this long for replies, then prints
 * its statistics and ends (OpenBSD ping's MAXWAIT); all replies in, it
 * ends at once. */
#define PING_MAXWAIT (10 * NS_PER_SEC)

static void ping_summary(struct scn_app *a)
{
	if (a->summarized)
		return;
	a->summarized = true;
	FILE *f = a->sc->out;
	uint64_t lost = a->sent - MIN(a->received, a->sent);
	uint64_t permille = a->sent ? lost * 1000 / a->sent : 0;
	fprintf(f, "--- %s ping %s statistics ---\n", a->node->name, a->dststr);
	fprintf(f, "%llu packets transmitted, %llu packets received, ", (unsigned long long)a->sent,
		(unsigned long long)a->received);
	if (a->dups)
		fprintf(f, "+%llu duplicates, ", (unsigned long long)a->dups);
	if (a->errors)
		fprintf(f, "+%llu errors, ", (unsigned long long)a->errors);
	fprintf(f, "%llu.%llu%% packet loss\n", (unsigned long long)(permille / 10),
		(unsigned long long)(permille % 10));
	if (a->received) {
		char rtt[100];
		scn_fmt_min_avg_max(a->rtt_min, a->rtt_sum, a->received, a->rtt_max, rtt,
				    sizeof(rtt));
		fprintf(f, "round-trip min/avg/max = %s ms\n", rtt);
	}
}

static void ping_over_ev(struct sim *sim, void *arg)
{
	(void)sim;
	ping_summary(arg);
}

static void ping_reply(struct echo_sock *s, const struct echo_event *ev, void *arg)
{
	struct scn_app *a = arg;
	struct sim *sim = a->sc->sim;
	char from[ADDR_STRLEN];
	(void)s;
	addr_fmt(&ev->from, from);
	if (ev->is_error) {
		a->errors++;
		if (!a->quiet)
			app_line(a, "ping: from %s icmp_seq=%u %s", from, ev->seq,
				 a->dst.af == ADDR_V6 ? icmp6_describe(ev->type, ev->code)
						      : icmp_describe(ev->type, ev->code));
		return;
	}
	if (ev->seq >= a->count) {
		return; /* not one of ours: the id matched by chance */
	}
	bool dup = a->seen[ev->seq];
	a->seen[ev->seq] = 1;
	char rtt[32] = "?";
	if (ev->datalen >= 8) {
		uint64_t sent = (uint64_t)get_be32(ev->data) << 32 | get_be32(ev->data + 4);
		uint64_t d = sim->now - sent;
		scn_fmt_ms(d, rtt, sizeof(rtt));
		if (!dup) {
			if (a->received == 0 || d < a->rtt_min)
				a->rtt_min = d;
			if (d > a->rtt_max)
				a->rtt_max = d;
			a->rtt_sum += d;
		}
	}
	if (dup)
		a->dups++;
	else
		a->received++;
	if (!a->quiet)
		app_line(a, "ping: %zu bytes from %s: icmp_seq=%u %s=%u time=%s ms%s",
			 ev->datalen + ICMP_MINLEN, from, ev->seq,
			 a->dst.af == ADDR_V6 ? "hlim" : "ttl", ev->ttl, rtt, dup ? " (DUP!)" : "");
	if (a->sent == a->count && a->received == a->count)
		ping_summary(a); /* every reply in: ping ends */
}

static void ping_send_ev(struct sim *sim, void *arg)
{
	struct scn_app *a = arg;
	uint8_t *data = xmalloc(a->size ? a->size : 1);
	/* BSD ping: a timestamp first (virtual ns here), then a byte pattern. */
	for (size_t i = 0; i < a->size; i++)
		data[i] = (uint8_t)i;
	if (a->size >= 8) {
		put_be32(data, (uint32_t)(sim->now >> 32));
		put_be32(data + 4, (uint32_t)sim->now);
	}
	uint16_t seq = (uint16_t)a->sent++;
	int r = icmp_echo_send(a->es, &a->dst, seq, data, a->size, a->ttl, a->tos, a->df);
	free(data);
	if (r < 0 && !a->quiet)
		app_line(a, "ping: sendto %s: %s", a->dststr, strerror(-r));
	if (a->sent < a->count)
		sim_after(sim, a->interval, ping_send_ev, NULL, a);
	else
		sim_after(sim, PING_MAXWAIT, ping_over_ev, NULL, a);
}

int scn_action_ping(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at)
{
	struct scn_app *a =
	    app_on_node(sc, st, i, 2, APP_PING,
			"usage: at TIME ping NODE DEST [count N] [size N] [interval T] [ttl N] "
			"[tos N] [df] [quiet] [from ADDR] [as NAME] [hbh TYPE[:LEN]] "
			"[dstopt TYPE[:LEN]] [rthdr ADDR[,ADDR...]]");
	if (!a)
		return -1;
	struct node *n = a->node;
	a->size = 56;
	/* ADDR, or an IPv6 link-local ADDR%IFACE (RFC 4007 11) */
	char buf[96];
	snprintf(buf, sizeof(buf), "%s", st->tok[i + 1]);
	char *pct = strchr(buf, '%');
	struct iface *scope = NULL;
	if (pct) {
		*pct = '\0';
		scope = node_iface(n, pct + 1);
		if (!scope) {
			scn_error(sc, st, "%s has no interface '%s'", n->name, pct + 1);
			return -1;
		}
	}
	if (addr_parse(buf, &a->dst) < 0 || (scope && !ip6_is_linklocal(&a->dst))) {
		scn_error(sc, st, "bad address '%s'", st->tok[i + 1]);
		return -1;
	}
	if (ip6_is_linklocal(&a->dst) && !scope) {
		if (n->nifaces != 1) {
			scn_error(sc, st, "a link-local destination needs its interface: %s%%IFACE",
				  buf);
			return -1;
		}
		scope = n->ifaces[0];
	}
	snprintf(a->dststr, sizeof(a->dststr), "%s", st->tok[i + 1]);
	if (parse_app_opts(sc, st, i + 2, a, ping_extra) < 0)
		return -1;
	if (a->from_word && scn_parse_from(sc, st, n, a->from_word, &a->dst, &a->src) < 0)
		return -1;
	if ((a->nhbh || a->ndstopt || a->nrt) && a->dst.af != ADDR_V6) {
		scn_error(sc, st, "hbh, dstopt and rthdr are IPv6 extension headers");
		return -1;
	}
	if (a->count > 65536) {
		scn_error(sc, st, "ping count is at most 65536 (one sequence space)");
		return -1;
	}
	if (a->size + ICMP_MINLEN + 20 > 65535) {
		scn_error(sc, st, "ping size too large");
		return -1;
	}
	a->seen = xcalloc(a->count, 1);
	a->es = icmp_echo_open(n, ping_reply, a);
	a->es->scope = scope;
	a->es->src = a->src;
	a->ext = ping_exthdrs(a);
	a->es->ext = a->ext;
	sim_at(sc->sim, at, ping_send_ev, NULL, a);
	return 0;
}

/* ---- udp ---- */

static int udp_extra(struct scenario *sc, const struct scn_stmt *st, unsigned *i, struct scn_app *a)
{
	const char *k = st->tok[*i];
	const char *v = *i + 1 < st->ntok ? st->tok[*i + 1] : NULL;
	if (strcmp(k, "data") != 0 && strcmp(k, "hex") != 0) {
		if (!a->has_sl) {
			seclevel_init(a->node, &a->sl);
			a->has_sl = true;
		}
		return scn_parse_seclevel(sc, st, i, &a->sl);
	}
	if (!v) {
		scn_error(sc, st, "'%s' needs a value", k);
		return -1;
	}
	free(a->data);
	if (strcmp(k, "data") == 0) {
		a->size = strlen(v);
		a->data = (uint8_t *)xstrdup(v);
	} else {
		size_t cap = strlen(v) / 2;
		a->data = xmalloc(cap + 1);
		long n = hex_decode(v, a->data, MIN(cap, 65507));
		if (n < 0) {
			scn_error(sc, st,
				  "bad hex payload: an even number of hex digits, at most "
				  "65507 bytes");
			return -1;
		}
		a->size = (size_t)n;
	}
	*i += 2;
	return 1;
}

static void udp_send_ev(struct sim *sim, void *arg)
{
	struct scn_app *a = arg;
	const uint8_t *data = a->data;
	uint8_t *pattern = NULL;
	if (!data) {
		pattern = xmalloc(a->size ? a->size : 1);
		for (size_t i = 0; i < a->size; i++)
			pattern[i] = (uint8_t)i;
		data = pattern;
	}
	struct udp_send_opts o = {.ttl = a->ttl, .tos = a->tos, .df = a->df};
	a->sent++;
	int r = udp_sendto(a->us, &a->dst, a->dport, data, a->size, &o);
	free(pattern);
	if (r < 0) {
		a->send_errors++;
		if (!a->quiet)
			app_line(a, "udp: sendto %s:%u: %s", a->dststr, a->dport, strerror(-r));
	}
	if (a->sent < a->count)
		sim_after(sim, a->interval, udp_send_ev, NULL, a);
}

int scn_parse_hostport(const char *s, struct ipaddr *a, uint16_t *port)
{
	char buf[128];
	uint64_t p;
	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	char *colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	/* IPv4 as ADDR:PORT, IPv6 as [ADDR]:PORT */
	char *host = buf;
	size_t hl = strlen(host);
	bool bracket = hl >= 2 && host[0] == '[' && host[hl - 1] == ']';
	if (bracket) {
		host[hl - 1] = '\0';
		host++;
	}
	if (addr_parse(host, a) < 0 || (a->af == ADDR_V6) != bracket ||
	    scn_parse_uint(colon + 1, 65535, &p) < 0 || p == 0)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

int scn_action_udp(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at)
{
	if (st->ntok < i + 2) {
		scn_error(sc, st,
			  "usage: at TIME udp NODE[:SPORT] DEST:PORT [size N | data TEXT | "
			  "hex HEX] [count N] [interval T] [ttl N] [tos N] [df] [quiet] "
			  "[from ADDR] [as NAME] [LEVELS]");
		return -1;
	}
	char buf[128];
	uint64_t sport = 0;
	snprintf(buf, sizeof(buf), "%s", st->tok[i]);
	char *colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (scn_parse_uint(colon + 1, 65535, &sport) < 0 || sport == 0) {
			scn_bad_range(sc, st, colon + 1, "source port", 1, 65535);
			return -1;
		}
	}
	struct node *n = sim_find_node(sc->sim, buf);
	if (!n) {
		scn_error(sc, st, "unknown node '%s'", buf);
		return -1;
	}
	struct scn_app *a = app_new(sc, APP_UDP);
	a->node = n;
	if (!strchr(st->tok[i + 1], ':')) {
		scn_error(sc, st, "destination needs a port: ADDR:PORT");
		return -1;
	}
	if (scn_parse_hostport(st->tok[i + 1], &a->dst, &a->dport) < 0) {
		scn_error(sc, st,
			  "bad destination '%s' (ADDR:PORT, or [ADDR]:PORT for IPv6; port 1 to "
			  "65535)",
			  st->tok[i + 1]);
		return -1;
	}
	addr_fmt(&a->dst, a->dststr);
	if (parse_app_opts(sc, st, i + 2, a, udp_extra) < 0)
		return -1;
	if (a->from_word && scn_parse_from(sc, st, n, a->from_word, &a->dst, &a->src) < 0)
		return -1;
	a->us = udp_open(n);
	if (a->has_sl)
		a->us->sl = a->sl;
	if (sport || a->from_word) {
		int r = udp_bind(a->us, a->from_word ? &a->src : NULL, (uint16_t)sport);
		if (r < 0) {
			scn_error(sc, st, "cannot bind %s port %llu: %s", n->name,
				  (unsigned long long)sport, strerror(-r));
			return -1;
		}
	}
	sim_at(sc->sim, at, udp_send_ev, NULL, a);
	return 0;
}

/* ---- raw IP ---- */

static int parse_raw_proto(struct scenario *sc, const struct scn_stmt *st, const char *w,
			   uint8_t *proto)
{
	uint64_t u;
	if (scn_parse_uint(w, 255, &u) < 0) {
		scn_error(sc, st, "bad protocol '%s' (an IP protocol number, 0 to 255)", w);
		return -1;
	}
	const char *own = raw_stack_proto((uint8_t)u);
	if (own) {
		scn_error(sc, st,
			  "protocol %s is %s, which the stack handles itself; a raw socket takes "
			  "another (59: no next header)",
			  w, own);
		return -1;
	}
	*proto = (uint8_t)u;
	return 0;
}

static void raw_reply(struct raw_sock *s, const struct raw_dgram *d, void *arg)
{
	struct scn_app *a = arg;
	(void)s;
	char from[ADDR_STRLEN];
	if (!a->quiet)
		app_line(a, "raw: %zu bytes from %s: proto %u", d->len, addr_fmt(&d->src, from),
			 a->rs->proto);
}

static void raw_send_ev(struct sim *sim, void *arg)
{
	struct scn_app *a = arg;
	uint8_t *data = xmalloc(a->size ? a->size : 1);
	for (size_t i = 0; i < a->size; i++)
		data[i] = (uint8_t)i;
	struct raw_send_opts o = {.src = a->src.af ? &a->src : NULL, .ttl = a->ttl, .tos = a->tos,
				  .df = a->df};
	a->sent++;
	int r = raw_sendto(a->rs, &a->dst, data, a->size, &o);
	free(data);
	if (r < 0) {
		a->send_errors++;
		if (!a->quiet)
			app_line(a, "raw: sendto %s: %s", a->dststr, strerror(-r));
	}
	if (a->sent < a->count)
		sim_after(sim, a->interval, raw_send_ev, NULL, a);
}

/* at TIME raw NODE DEST PROTO [options]: packets of an IP protocol, as
 * nonxt-sendrecv sends them; replies from DEST are counted. */
int scn_action_raw(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at)
{
	struct scn_app *a =
	    app_on_node(sc, st, i, 3, APP_RAW,
			"usage: at TIME raw NODE DEST PROTO [size N] [count N] [interval T] "
			"[ttl N] [tos N] [df] [quiet] [from ADDR] [as NAME]");
	if (!a)
		return -1;
	struct node *n = a->node;
	a->size = 0; /* nonxt-sendrecv sends nothing after the header */
	if (addr_parse(st->tok[i + 1], &a->dst) < 0 || addr_is_multicast(&a->dst) ||
	    addr_is_unspec(&a->dst)) {
		scn_error(sc, st, "bad address '%s'", st->tok[i + 1]);
		return -1;
	}
	addr_fmt(&a->dst, a->dststr);
	uint8_t proto;
	if (parse_raw_proto(sc, st, st->tok[i + 2], &proto) < 0)
		return -1;
	if (parse_app_opts(sc, st, i + 3, a, NULL) < 0)
		return -1;
	if (a->from_word && scn_parse_from(sc, st, n, a->from_word, &a->dst, &a->src) < 0)
		return -1;
	a->rs = raw_open(n, proto);
	raw_connect(a->rs, &a->dst); /* replies: packets of proto from DEST */
	if (a->from_word)
		raw_bind(a->rs, &a->src); /* checked: the node's own */
	a->rs->on_recv = raw_reply;
	a->rs->cb_arg = a;
	sim_at(sc->sim, at, raw_send_ev, NULL, a);
	return 0;
}

/* reflect: an empty packet of the protocol back to the sender, from the
 * address the packet was sent to (nonxt-reflect) */
static void raw_listener_recv(struct raw_sock *s, const struct raw_dgram *d, void *arg)
{
	struct scn_listener *l = arg;
	char a[ADDR_STRLEN];
	node_trace(l->node, "raw %u: %zu bytes from %s", s->proto, d->len, addr_fmt(&d->src, a));
	if (l->reflect) {
		struct raw_send_opts o = {.src = &d->dst};
		raw_sendto(s, &d->src, NULL, 0, &o);
	}
}

/* listen NODE raw PROTO [reflect] */
static int listen_raw(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok < 4 || st->ntok > 5 || (st->ntok == 5 && strcmp(st->tok[4], "reflect") != 0)) {
		scn_error(sc, st, "usage: listen NODE raw PROTO [reflect]");
		return -1;
	}
	struct node *n = sim_find_node(sc->sim, st->tok[1]);
	if (!n) {
		scn_error(sc, st, "unknown node '%s'", st->tok[1]);
		return -1;
	}
	uint8_t proto;
	if (parse_raw_proto(sc, st, st->tok[3], &proto) < 0)
		return -1;
	if (scn_find_raw_listener(sc, n, proto)) {
		scn_error(sc, st, "%s already listens on raw protocol %u", n->name, proto);
		return -1;
	}
	struct scn_listener *l = xcalloc(1, sizeof(*l));
	l->node = n;
	l->reflect = st->ntok == 5;
	l->rs = raw_open(n, proto);
	l->rs->on_recv = raw_listener_recv;
	l->rs->cb_arg = l;
	sc->listeners = xgrow(sc->listeners, sc->nlisteners, sizeof(*sc->listeners));
	sc->listeners[sc->nlisteners++] = l;
	return 0;
}

/* ---- listeners ---- */

static void listener_recv(struct udp_sock *s, void *arg)
{
	struct scn_listener *l = arg;
	struct ipaddr src;
	uint16_t sport;
	char a[ADDR_STRLEN];
	if (l->svc == US_NOREAD)
		return;
	static const size_t cap = 65535;
	uint8_t *buf = l->svc == US_READ || l->svc == US_DISCARD ? NULL : xmalloc(cap);
	ssize_t len;
	struct ipaddr to;
	while ((len = udp_recvmsg(s, buf, cap, &src, &sport, &to)) >= 0) {
		node_trace(l->node, "udp %u: %zd bytes from %s:%u", l->port, len, addr_fmt(&src, a),
			   sport);
		/* Answers leave from the address asked, as from an inetd socket
		 * bound to each address (a broadcast's from the route's). */
		struct udp_send_opts o = {.src = node_owns_addr(l->node, &to) ? &to : NULL};
		if (l->svc == US_ECHO) {
			/* RFC 862: the datagram back to where it came from */
			udp_sendto(s, &src, sport, buf, (size_t)len, &o);
		} else if (l->svc == US_CHARGEN) {
			/* RFC 864: a datagram of 0 to 512 characters in answer */
			size_t n = (size_t)rng_below(&l->node->rng, 513);
			for (size_t k = 0; k < n; k++)
				buf[k] = scn_chargen_byte(k);
			udp_sendto(s, &src, sport, buf, n, &o);
		}
	}
	free(buf);
}

int scn_listen_where(struct scenario *sc, const struct scn_stmt *st, struct node **n,
		     uint64_t *port)
{
	*n = sim_find_node(sc->sim, st->tok[1]);
	if (!*n) {
		scn_error(sc, st, "unknown node '%s'", st->tok[1]);
		return -1;
	}
	if (scn_parse_uint(st->tok[3], 65535, port) < 0 || *port == 0) {
		scn_bad_range(sc, st, st->tok[3], "port", 1, 65535);
		return -1;
	}
	return 0;
}

static const char listen_usage[] =
    "usage: listen NODE udp PORT [noread|discard|echo|chargen] [LEVELS], listen NODE tcp "
    "PORT [sink|discard|echo|chargen|noread] [LEVELS], listen NODE raw PROTO [reflect], or "
    "listen NODE pfkey NAME ...; LEVELS: auth, esp-trans, esp-network or ipcomp, each with "
    "a level";

/* listen NODE udp PORT [noread|discard|echo|chargen] [LEVELS] */
int scn_stmt_listen(struct scenario *sc, const struct scn_stmt *st)
{
	uint64_t port;
	if (st->ntok >= 3 && strcmp(st->tok[2], "pfkey") == 0)
		return scn_stmt_listen_pfkey(sc, st);
	if (st->ntok >= 3 && strcmp(st->tok[2], "tcp") == 0)
		return scn_stmt_listen_tcp(sc, st);
	if (st->ntok >= 3 && strcmp(st->tok[2], "raw") == 0)
		return listen_raw(sc, st);
	enum udp_service svc = US_READ;
	unsigned k = 4;
	if (st->ntok > k)
		for (unsigned s = 1; s < ARRAY_LEN(udp_services); s++)
			if (strcmp(st->tok[k], udp_services[s]) == 0) {
				svc = (enum udp_service)s;
				k++;
				break;
			}
	if (st->ntok < 4 || strcmp(st->tok[2], "udp") != 0) {
		scn_error(sc, st, "%s", listen_usage);
		return -1;
	}
	struct node *n;
	if (scn_listen_where(sc, st, &n, &port) < 0)
		return -1;
	struct seclevel sl;
	seclevel_init(n, &sl);
	while (k < st->ntok) {
		int r = scn_parse_seclevel(sc, st, &k, &sl);
		if (r < 0)
			return -1;
		if (r == 0) {
			scn_error(sc, st, "unknown word '%s'; %s", st->tok[k], listen_usage);
			return -1;
		}
	}
	struct scn_listener *l = xcalloc(1, sizeof(*l));
	l->node = n;
	l->port = (uint16_t)port;
	l->svc = svc;
	l->s = udp_open(n);
	l->s->sl = sl;
	sc->listeners = xgrow(sc->listeners, sc->nlisteners, sizeof(*sc->listeners));
	sc->listeners[sc->nlisteners++] = l;
	int r = udp_bind(l->s, NULL, l->port);
	if (r < 0) {
		scn_error(sc, st, "cannot listen on %s udp %llu: %s", n->name,
			  (unsigned long long)port, strerror(-r));
		return -1;
	}
	l->s->on_recv = listener_recv;
	l->s->cb_arg = l;
	return 0;
}

struct scn_listener *scn_find_listener(struct scenario *sc, struct node *n, uint16_t port)
{
	for (unsigned i = 0; i < sc->nlisteners; i++)
		if (sc->listeners[i]->node == n && sc->listeners[i]->s &&
		    sc->listeners[i]->port == port)
			return sc->listeners[i];
	return NULL;
}

struct udp_sock *scn_udp_listener(struct scenario *sc, struct node *n, uint16_t port)
{
	struct scn_listener *l = scn_find_listener(sc, n, port);
	return l ? l->s : NULL;
}

struct scn_listener *scn_find_raw_listener(struct scenario *sc, struct node *n, uint8_t proto)
{
	for (unsigned i = 0; i < sc->nlisteners; i++)
		if (sc->listeners[i]->node == n && sc->listeners[i]->rs &&
		    sc->listeners[i]->rs->proto == proto)
			return sc->listeners[i];
	return NULL;
}

uint64_t scn_listener_count(const struct scn_listener *l, bool bytes)
{
	if (l->rs)
		return bytes ? l->rs->rx_bytes : l->rs->rx_packets;
	return bytes ? l->s->rx_bytes : l->s->rx_packets;
}

/* The pings the run's end cut short: their statistics now. */
void scn_apps_finish(struct scenario *sc)
{
	for (unsigned i = 0; i < sc->napps; i++)
		if (sc->apps[i]->kind == APP_PING)
			ping_summary(sc->apps[i]);
}

void scn_apps_free(struct scenario *sc)
{
	hmap_free(&sc->app_names);
	/* Sockets belong to nodes, which are still alive here. */
	for (unsigned i = 0; i < sc->napps; i++) {
		struct scn_app *a = sc->apps[i];
		if (a->es)
			icmp_echo_close(a->es);
		if (a->us)
			udp_close(a->us);
		if (a->rs)
			raw_close(a->rs);
		free(a->seen);
		free(a->data);
		free(a->ext);
		free(a);
	}
	for (unsigned i = 0; i < sc->nlisteners; i++) {
		if (sc->listeners[i]->s)
			udp_close(sc->listeners[i]->s);
		if (sc->listeners[i]->rs)
			raw_close(sc->listeners[i]->rs);
		free(sc->listeners[i]);
	}
	free(sc->apps);
	free(sc->listeners);
	sc->apps = NULL;
	sc->listeners = NULL;
	sc->napps = sc->nlisteners = 0;
}

/* ---- router advertisements ---- */

struct advert_ev {
	struct iface *ifp; /* NULL: every IPv6 interface of the node */
	struct node *node;
	uint16_t lifetime;
};

static void advert_send_ev(struct sim *s, void *arg)
{
	struct advert_ev *e = arg;
	(void)s;
	for (unsigned k = 0; k < e->node->nifaces; k++) {
		struct iface *ifp = e->node->ifaces[k];
		struct ipaddr ll = iface_linklocal6(ifp);
		if ((!e->ifp || ifp == e->ifp) && node_owns_addr(e->node, &ll))
			nd_router_advertise(ifp, e->lifetime);
	}
	free(e);
}

/* at TIME advertise NODE[.IFACE] [lifetime S] */
int scn_action_advertise(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at)
{
	static const char usage[] = "usage: advertise NODE[.IFACE] [lifetime SECONDS]";
	if (st->ntok != i + 1 && st->ntok != i + 3) {
		scn_error(sc, st, usage);
		return -1;
	}
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", st->tok[i]);
	char *dot = strchr(buf, '.');
	if (dot)
		*dot++ = '\0';
	struct node *n = sim_find_node(sc->sim, buf);
	if (!n) {
		scn_error(sc, st, "unknown node '%s'", buf);
		return -1;
	}
	struct iface *ifp = dot ? node_iface(n, dot) : NULL;
	if (dot && !ifp) {
		scn_error(sc, st, "%s has no interface '%s'", n->name, dot);
		return -1;
	}
	bool any6 = false;
	for (unsigned k = 0; k < n->nifaces; k++) {
		struct ipaddr ll = iface_linklocal6(n->ifaces[k]);
		if ((!ifp || n->ifaces[k] == ifp) && node_owns_addr(n, &ll))
			any6 = true;
	}
	if (!any6) {
		scn_error(sc, st, "%s%s%s has no IPv6 address to advertise from", n->name,
			  ifp ? "." : "", ifp ? ifp->name : "");
		return -1;
	}
	uint64_t life = 1800; /* AdvDefaultLifetime: 3 x MaxRtrAdvInterval (600 s) */
	if (st->ntok == i + 3 && (strcmp(st->tok[i + 1], "lifetime") != 0 ||
				  scn_parse_uint(st->tok[i + 2], 9000, &life) < 0)) {
		scn_error(sc, st, "%s (0 to 9000 seconds)", usage);
		return -1;
	}
	struct advert_ev *e = xcalloc(1, sizeof(*e));
	*e = (struct advert_ev){.ifp = ifp, .node = n, .lifetime = (uint16_t)life};
	sim_at(sc->sim, at, advert_send_ev, free, e);
	return 0;
}

/* ---- named pings and UDP senders in expectations ---- */

const struct scn_app *scn_find_app(struct scenario *sc, const char *name)
{
	return hmap_get_str(&sc->app_names, name);
}

int scn_app_target(struct scenario *sc, const struct scn_stmt *st, unsigned i,
		   struct scn_expect *e, unsigned *opi)
{
	const struct scn_app *a = scn_find_app(sc, st->tok[i]);
	if (!a)
		return 0;
	static const char *const whats[] = {"sent", "received", "errors"};
	size_t k = ARRAY_LEN(whats);
	if (st->ntok - i == 4)
		for (k = 0; k < ARRAY_LEN(whats); k++)
			if (strcmp(st->tok[i + 1], whats[k]) == 0)
				break;
	if (k == ARRAY_LEN(whats) || (a->kind != APP_PING && k == 2)) {
		scn_error(sc, st,
			  a->kind == APP_PING ? "usage: expect NAME sent|received|errors OP VALUE"
					      : "usage: expect NAME sent|received OP VALUE");
		return -1;
	}
	e->kind = TGT_APP;
	e->app = a;
	e->stat = (int)k;
	*opi = i + 2;
	return 1;
}

uint64_t scn_app_value(const struct scn_expect *e)
{
	const struct scn_app *a = e->app;
	switch (e->stat) {
	case 0: return a->sent;
	case 1:
		return a->kind == APP_PING ? a->received
		       : a->us		   ? a->us->rx_packets
		       : a->rs		   ? a->rs->rx_packets
					   : 0;
	default: return a->errors;
	}
}
