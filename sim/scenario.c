/*
 * Scenario files: loading (the statements in order, through the table of
 * statement words), running, and reporting.  Reading is scn_read.c, the
 * topology statements scn_topo.c, actions apps.c and scn_tcp.c,
 * expectations expect.c, IPsec scn_ipsec.c, pf scn_pf.c.  See
 * docs/scenario-language.md for the language.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../stack/addr.h"
#include "../stack/iface.h"
#include "../stack/node.h"
#include "../stack/route.h"
#include "../stack/sysctl.h"
#include "../stack/util.h"
#include "capture.h"
#include "../ike/iked.h"
#include "keymgr.h"
#include "link.h"

/* The -D definition whose value the message quotes ('...'), if the
 * statement took one from the command line: the mistake is there. */
static const struct scn_define *cmdline_culprit(const struct scenario *sc,
						const struct scn_stmt *st, const char *msg)
{
	for (unsigned i = 0; i < sc->ndefines && i < 32; i++) {
		const char *v = sc->defines[i].value;
		if (!(st->cmdline_used & 1u << i) || !*v)
			continue;
		for (const char *q = strchr(msg, '\''); q; q = strchr(q + 1, '\'')) {
			const char *end = strchr(q + 1, '\'');
			if (!end)
				break;
			const char *hit = strstr(q + 1, v);
			if (hit && hit + strlen(v) <= end)
				return &sc->defines[i];
			q = end;
		}
	}
	return NULL;
}

void scn_error(struct scenario *sc, const struct scn_stmt *st, const char *fmt, ...)
{
	if (sc->nerrors++ >= SCN_MAX_ERRORS)
		return;
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *msg = xmalloc(len > 0 ? (size_t)len + 1 : 1);
	va_start(ap, fmt);
	vsnprintf(msg, len > 0 ? (size_t)len + 1 : 1, fmt, ap);
	va_end(ap);
	const struct scn_define *d = cmdline_culprit(sc, st, msg);
	if (d)
		fprintf(sc->err, "-D %s=%s: %s (used at %s:%u)\n", d->name, d->value, msg, st->file,
			st->line);
	else
		fprintf(sc->err, "%s:%u: %s\n", st->file, st->line, msg);
	free(msg);
}

void scn_bad_value(struct scenario *sc, const struct scn_stmt *st, const char *word,
		   const char *what, const char *form)
{
	/* `delay 1 ms`: the number and its unit, as the user wrote them */
	const char *unit = NULL;
	for (unsigned i = 0; i + 1 < st->ntok && strcmp(form, SCN_TIME_FORM) == 0; i++)
		if (st->tok[i] == word && is_time_unit_word(st->tok[i + 1]) &&
		    word[strspn(word, "0123456789.")] == '\0')
			unit = st->tok[i + 1];
	scn_error(sc, st, "bad value '%s%s%s' for %s: %s", word, unit ? " " : "", unit ? unit : "",
		  what, form);
}

void scn_bad_range(struct scenario *sc, const struct scn_stmt *st, const char *word,
		   const char *what, uint64_t min, uint64_t max)
{
	scn_error(sc, st, "bad value '%s' for %s: %llu to %llu", word, what,
		  (unsigned long long)min, (unsigned long long)max);
}

/* ---- value parsers ---- */

int scn_parse_from(struct scenario *sc, const struct scn_stmt *st, struct node *n,
		   const char *word, const struct ipaddr *dst, struct ipaddr *src)
{
	if (addr_parse(word, src) < 0) {
		scn_error(sc, st, "bad source address '%s'", word);
		return -1;
	}
	if (!node_owns_addr(n, src)) {
		scn_error(sc, st, "%s has no address %s (from names one of the node's own)", n->name,
			  word);
		return -1;
	}
	if (src->af != dst->af) {
		scn_error(sc, st, "from %s: not the destination's family", word);
		return -1;
	}
	return 0;
}

int scn_parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	/* Decimal, or hex with 0x; never octal, so "010" is ten. */
	int base = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10;
	const char *digits = base == 16 ? s + 2 : s;
	char *end;
	if (!isxdigit((unsigned char)*digits) || (base == 10 && !isdigit((unsigned char)*digits)))
		return -1;
	errno = 0;
	unsigned long long x = strtoull(digits, &end, base);
	if (errno || *end || x > max)
		return -1;
	*v = x;
	return 0;
}

void scn_fmt_ms(uint64_t ns, char *buf, size_t cap)
{
	snprintf(buf, cap, "%llu.%03llu", (unsigned long long)(ns / 1000000),
		 (unsigned long long)(ns % 1000000 / 1000));
}

void scn_fmt_min_avg_max(uint64_t min, uint64_t sum, uint64_t n, uint64_t max, char *buf,
			 size_t cap)
{
	char mn[32], av[32], mx[32];
	scn_fmt_ms(min, mn, sizeof(mn));
	scn_fmt_ms(n ? sum / n : 0, av, sizeof(av));
	scn_fmt_ms(max, mx, sizeof(mx));
	snprintf(buf, cap, "%s/%s/%s", mn, av, mx);
}

int scn_parse_time(const char *s, uint64_t *ns)
{
	return parse_time_ns(s, ns);
}

int scn_parse_percent(const char *s, uint32_t *ppb)
{
	uint64_t v;
	const char *unit;
	/* 7 fractional digits of a percent are exactly parts per billion. */
	if (parse_fixed(s, 7, &v, &unit) < 0 || strcmp(unit, "%") != 0 || v > RNG_PPB_ONE)
		return -1;
	*ppb = (uint32_t)v;
	return 0;
}

int scn_parse_rate(const char *s, uint64_t *bps)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {{"bit", 1}, {"kbit", 1000}, {"Mbit", 1000000}, {"Gbit", 1000000000}};
	uint64_t v;
	const char *unit;
	if (parse_fixed(s, 3, &v, &unit) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_LEN(units); i++)
		if (strcmp(unit, units[i].unit) == 0) {
			if (v > UINT64_MAX / units[i].mul)
				return -1;
			*bps = v * units[i].mul / 1000;
			return *bps ? 0 : -1;
		}
	return -1;
}

/* ---- timed actions ---- */

struct scn_sysctl_ev {
	struct node *n;
	int id;
	int64_t value;
};

static void sysctl_ev(struct sim *s, void *arg)
{
	struct scn_sysctl_ev *e = arg;
	(void)s;
	e->n->sysctl[e->id] = e->value;
	const char *word = sysctl_value_name((enum sysctl_id)e->id, e->value);
	if (word)
		node_trace(e->n, "sysctl %s=%s", sysctl_name((enum sysctl_id)e->id), word);
	else
		node_trace(e->n, "sysctl %s=%lld", sysctl_name((enum sysctl_id)e->id),
			   (long long)e->value);
	free(e);
}

/* The end statement's time as written, for messages. */
static const char *scn_end_word(const struct scenario *sc)
{
	for (unsigned i = sc->nstmts; i-- > 0;)
		if (strcmp(sc->stmts[i].tok[0], "end") == 0 && sc->stmts[i].ntok == 2)
			return sc->stmts[i].tok[1];
	return "?";
}

static int stmt_at(struct scenario *sc, const struct scn_stmt *st)
{
	uint64_t at;
	if (st->ntok < 3) {
		scn_error(sc, st, "usage: at TIME ACTION ...");
		return -1;
	}
	if (scn_parse_time(st->tok[1], &at) < 0) {
		scn_bad_value(sc, st, st->tok[1], "at", SCN_TIME_FORM);
		return -1;
	}
	if (sc->has_end && at > sc->end) {
		scn_error(sc, st, "%s is after the end of the run (end %s)", st->tok[1],
			  scn_end_word(sc));
		return -1;
	}
	const char *what = st->tok[2];
	if (strcmp(what, "ping") == 0)
		return scn_action_ping(sc, st, 3, at);
	if (strcmp(what, "udp") == 0)
		return scn_action_udp(sc, st, 3, at);
	if (strcmp(what, "raw") == 0)
		return scn_action_raw(sc, st, 3, at);
	if (strcmp(what, "tcp") == 0)
		return scn_action_tcp(sc, st, 3, at);
	if (strcmp(what, "expect") == 0)
		return scn_stmt_expect(sc, st, 3, true, at);
	if (strcmp(what, "show") == 0)
		return scn_stmt_show(sc, st, 3, true, at);
	if (strcmp(what, "pfkey") == 0)
		return scn_stmt_pfkey(sc, st, 3, true, at);
	if (strcmp(what, "setsockopt") == 0)
		return scn_action_setsockopt(sc, st, 3, at);
	if (strcmp(what, "replay") == 0)
		return scn_action_replay(sc, st, 3, at);
	if (strcmp(what, "inject") == 0)
		return scn_action_inject(sc, st, 3, at);
	if (strcmp(what, "advertise") == 0)
		return scn_action_advertise(sc, st, 3, at);
	if (strcmp(what, "impair") == 0)
		return scn_action_impair(sc, st, 3, at);
	if (strcmp(what, "sysctl") == 0) {
		struct scn_sysctl_ev *e = xmalloc(sizeof(*e));
		if (scn_parse_sysctl(sc, st, 3, &e->n, &e->id, &e->value) < 0) {
			free(e);
			return -1;
		}
		sim_at(sc->sim, at, sysctl_ev, free, e);
		return 0;
	}
	scn_error(sc, st,
		  "unknown action '%s' (ping, udp, raw, tcp, expect, show, pfkey, setsockopt, "
		  "replay, inject, sysctl, advertise, impair)",
		  what);
	return -1;
}

/* ---- building ---- */

static int stmt_noop(struct scenario *sc, const struct scn_stmt *st)
{
	(void)sc;
	(void)st;
	return 0; /* handled before the build: name, seed, end */
}

static int stmt_sysctl(struct scenario *sc, const struct scn_stmt *st)
{
	struct node *n;
	int id;
	int64_t v;
	if (scn_parse_sysctl(sc, st, 1, &n, &id, &v) < 0)
		return -1;
	n->sysctl[id] = v;
	return 0;
}

static int stmt_expect(struct scenario *sc, const struct scn_stmt *st)
{
	return scn_stmt_expect(sc, st, 1, false, 0);
}

static int stmt_show(struct scenario *sc, const struct scn_stmt *st)
{
	return scn_stmt_show(sc, st, 1, false, 0);
}

static int stmt_pfkey(struct scenario *sc, const struct scn_stmt *st)
{
	return scn_stmt_pfkey(sc, st, 1, false, 0);
}

/* testcase NAME: the expectations up to the next testcase statement are
 * one test case of the report (JUnit and the summary line). */
static int stmt_testcase(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok != 2) {
		scn_error(sc, st, "usage: testcase NAME");
		return -1;
	}
	/* A scan: test cases are a report's rows, hundreds, not a
	 * topology's nodes; file order is kept for the report. */
	for (unsigned i = 0; i < sc->ntcases; i++)
		if (strcmp(sc->tcases[i].name, st->tok[1]) == 0) {
			scn_error(sc, st, "test case '%s' already begun at %s:%u", st->tok[1],
				  sc->tcases[i].file, sc->tcases[i].line);
			return -1;
		}
	if ((sc->ntcases & (sc->ntcases - 1)) == 0) /* 0, 1, 2, 4, ...: grow */
		sc->tcases = xrealloc(sc->tcases,
				      (sc->ntcases ? 2 * sc->ntcases : 1) * sizeof(*sc->tcases));
	sc->tcases[sc->ntcases++] =
	    (struct scn_testcase){xstrdup(st->tok[1]), st->file, st->line};
	return 0;
}

static const struct {
	const char *word;
	int (*fn)(struct scenario *sc, const struct scn_stmt *st);
} scn_statements[] = {
    {"name", stmt_noop},         {"seed", stmt_noop},         {"end", stmt_noop},
    {"node", scn_stmt_node},         {"link", scn_stmt_link},         {"switch", scn_stmt_link},
    {"impair", scn_stmt_impair},     {"route", scn_stmt_route},       {"sysctl", stmt_sysctl},
    {"capture", scn_stmt_capture},   {"listen", scn_stmt_listen}, {"at", stmt_at},
    {"expect", stmt_expect},     {"ipsec", scn_stmt_ipsec},   {"show", stmt_show},
    {"pfkey", stmt_pfkey},       {"drop", scn_stmt_drop},     {"tamper", scn_stmt_tamper},
    {"keymgr", scn_stmt_keymgr}, {"pf", scn_stmt_pf},         {"testcase", stmt_testcase},
    {"bridge", scn_stmt_bridge}, {"report", scn_stmt_report}, {"ikev2", scn_stmt_ikev2},
    {"external", scn_stmt_external},
};

/* name, seed and end shape the build, so they are read first. */
static int scn_prescan(struct scenario *sc, const struct scn_options *opts)
{
	int rc = 0;
	bool seed_seen = false;
	for (unsigned i = 0; i < sc->nstmts; i++) {
		const struct scn_stmt *st = &sc->stmts[i];
		const char *w = st->tok[0];
		if (strcmp(w, "name") == 0) {
			if (st->ntok != 2) {
				scn_error(sc, st, "usage: name NAME");
				rc = -1;
				continue;
			}
			for (const char *p = st->tok[1]; *p; p++)
				if (!scn_is_ident((unsigned char)*p) && *p != '-' && *p != '.') {
					scn_error(sc, st,
						  "a scenario name is letters, digits, - _ .");
					rc = -1;
					break;
				}
			free(sc->name);
			sc->name = xstrdup(st->tok[1]);
		} else if (strcmp(w, "seed") == 0) {
			if (st->ntok != 2) {
				scn_error(sc, st, "usage: seed NUMBER");
				rc = -1;
			} else if (scn_parse_uint(st->tok[1], UINT64_MAX, &sc->seed) < 0) {
				scn_bad_range(sc, st, st->tok[1], "seed", 0, UINT64_MAX);
				rc = -1;
			} else if (seed_seen) {
				scn_error(sc, st, "seed given twice");
				rc = -1;
			}
			seed_seen = true;
		} else if (strcmp(w, "end") == 0) {
			if (st->ntok != 2) {
				scn_error(sc, st, "usage: end TIME (such as 10s)");
				rc = -1;
			} else if (scn_parse_time(st->tok[1], &sc->end) < 0) {
				scn_bad_value(sc, st, st->tok[1], "end", SCN_TIME_FORM);
				rc = -1;
			} else if (sc->has_end) {
				scn_error(sc, st, "end given twice");
				rc = -1;
			}
			sc->has_end = true;
		}
	}
	if (opts->seed_set)
		sc->seed = opts->seed;
	return rc;
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0777) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(buf, 0777) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int scn_testcases_check(struct scenario *sc);

struct scenario *scenario_load(const char *path, const struct scn_options *opts)
{
	struct scenario *sc = xcalloc(1, sizeof(*sc));
	sc->out = opts->out ? opts->out : stdout;
	sc->err = opts->err ? opts->err : stderr;
	sc->path = xstrdup(path);
	sc->defines = opts->defines;
	sc->ndefines = opts->ndefines;

	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t blen = strlen(base);
	if (blen > 4 && strcmp(base + blen - 4, ".scn") == 0)
		blen -= 4;
	sc->name = xmalloc(blen + 1);
	memcpy(sc->name, base, blen);
	sc->name[blen] = '\0';

	/* Every error of the file is reported: a statement that could not be
	 * read or built is left out and the rest go on (later ones may then
	 * name what it would have made), up to SCN_MAX_ERRORS; nothing runs. */
	int rrc = scn_read(sc, path, opts);
	if (rrc < 0) {
		scenario_free(sc); /* reading stopped: what follows was never seen */
		return NULL;
	}
	bool failed = rrc > 0;
	if (scn_prescan(sc, opts) < 0)
		failed = true;

	if (opts->outroot) {
		const char *sub = opts->outsub ? opts->outsub : "";
		sc->outdir = xmalloc(strlen(opts->outroot) + strlen(sc->name) + strlen(sub) + 3);
		sprintf(sc->outdir, "%s/%s%s%s", opts->outroot, sc->name, *sub ? "/" : "", sub);
	} else if (opts->outdir)
		sc->outdir = xstrdup(opts->outdir);
	else {
		sc->outdir = xmalloc(strlen(sc->name) + 5);
		sprintf(sc->outdir, "out/%s", sc->name);
	}
	if (mkdir_p(sc->outdir) < 0) {
		fprintf(sc->err, "%s: cannot create %s: %s\n", path, sc->outdir, strerror(errno));
		scenario_free(sc);
		return NULL;
	}
	char tpath[4096];
	scn_out_path(sc, "trace.log", tpath, sizeof(tpath));
	sc->trace = fopen(tpath, "w");
	if (!sc->trace) {
		fprintf(sc->err, "%s: cannot write %s: %s\n", path, tpath, strerror(errno));
		scenario_free(sc);
		return NULL;
	}
	scn_add_written(sc, tpath);

	sc->sim = sim_new(sc->seed);
	sc->sim->max_events = opts->max_events ? opts->max_events : SCN_MAX_EVENTS;
	sc->sim->out = sc->out;
	sc->sim->trace = sc->trace;
	/* What statements print while the scenario is built (pfkey replies)
	 * waits for the run, after its banner. */
	FILE *out = sc->out;
	sc->out = sc->sim->out = open_memstream(&sc->built_out, &sc->built_len);
	scn_espsa_start(sc);
	if (opts->report)
		sc->report = scn_report_new(sc, opts->report, true, 0, UINT64_MAX);
	/* a report statement watches the whole build, SAs of earlier
	 * statements included: it is taken first */
	for (unsigned i = 0; i < sc->nstmts; i++)
		if (strcmp(sc->stmts[i].tok[0], "report") == 0) {
			sc->report_stmt = &sc->stmts[i];
			(void)scn_stmt_report(sc, sc->report_stmt);
			sc->report_taken = true;
			break;
		}
	for (unsigned i = 0; i < sc->nstmts && sc->nerrors < SCN_MAX_ERRORS; i++) {
		const struct scn_stmt *st = &sc->stmts[i];
		size_t k;
		for (k = 0; k < ARRAY_LEN(scn_statements); k++)
			if (strcmp(st->tok[0], scn_statements[k].word) == 0)
				break;
		if (k == ARRAY_LEN(scn_statements)) {
			scn_error(sc, st, "unknown statement '%s'", st->tok[0]);
			failed = true;
		} else if (scn_statements[k].fn(sc, st) < 0) {
			failed = true;
		}
	}
	fclose(sc->out);
	sc->out = sc->sim->out = out;
	if (scn_testcases_check(sc) < 0)
		failed = true;
	scn_report_check(sc);
	if (sc->nerrors >= SCN_MAX_ERRORS)
		fprintf(sc->err, "%s: stopped after %u errors\n", path, SCN_MAX_ERRORS);
	if (failed || sc->nerrors) {
		scenario_free(sc);
		return NULL;
	}
	scn_warn_flows_without_sa(sc);
	return sc;
}

static void expect_ev(struct sim *s, void *arg);
static void expect_base_ev(struct sim *s, void *arg);

/* A test case without an expectation would pass whatever happened. */
static int scn_testcases_check(struct scenario *sc)
{
	int rc = 0;
	for (unsigned c = 0, i = 0; c < sc->ntcases; c++) {
		while (i < sc->nexpects && sc->expects[i].tcase < (int)c)
			i++;
		if (i == sc->nexpects || sc->expects[i].tcase != (int)c) {
			fprintf(sc->err, "%s:%u: test case '%s' has no expectation\n",
				sc->tcases[c].file, sc->tcases[c].line, sc->tcases[c].name);
			rc = -1;
		}
	}
	return rc;
}

struct scn_progress {
	struct scenario *sc;
	scn_progress_fn fn;
	void *arg;
};

static void scn_progress_hook(struct sim *s, uint64_t until, void *arg)
{
	struct scn_progress *p = arg;
	(void)until;
	p->fn(s->now, p->sc->end, p->sc->has_end, p->arg);
}

int scenario_run(struct scenario *sc, scn_progress_fn progress, void *arg)
{
	struct sim *s = sc->sim;
	char t[32];
	fprintf(sc->out, "scenario %s (seed %llu)\n", sc->name, (unsigned long long)sc->seed);
	for (unsigned i = 0; i < s->nsources; i++)
		fprintf(sc->out,
			"note: external endpoint %s: this run follows the wall clock and is not "
			"deterministic\n",
			s->sources[i].what);
	if (sc->built_len)
		fwrite(sc->built_out, 1, sc->built_len, sc->out);
	for (unsigned i = 0; i < sc->nexpects; i++) {
		if (sc->expects[i].delta)
			sim_at(s, sc->expects[i].since, expect_base_ev, NULL, &sc->expects[i]);
		if (sc->expects[i].timed)
			sim_at(s, sc->expects[i].at, expect_ev, NULL, &sc->expects[i]);
	}
	struct scn_progress prog = {sc, progress, arg};
	sim_run(s, sc->has_end ? sc->end : UINT64_MAX, progress ? scn_progress_hook : NULL, &prog);
	if (s->at_limit) {
		fprintf(sc->err,
			"%s: stopped after %llu events at %s s of virtual time, the limit "
			"(--max-events): a statement that schedules without end (a count with "
			"interval 0?), or a run that needs a higher limit\n",
			sc->path, (unsigned long long)s->events_run, sim_fmt_time(s->now, t));
		fflush(sc->trace);
		return 2;
	}
	scn_apps_finish(sc);
	scn_tcp_finish(sc);
	scn_show_finish(sc);
	scn_espsa_finish(sc);
	scn_ike_finish(sc);

	unsigned failed = 0;
	for (unsigned i = 0; i < sc->nexpects; i++) {
		struct scn_expect *e = &sc->expects[i];
		if (!e->timed)
			scn_expect_check(e, s->now);
		if (!e->held)
			failed++;
	}
	for (unsigned i = 0; i < sc->nexpects; i++) {
		struct scn_expect *e = &sc->expects[i];
		char buf[48];
		if (e->held)
			fprintf(sc->out, "ok   %s:%u: %s\n", e->file, e->line, e->text);
		else
			fprintf(sc->out, "FAIL %s:%u: %s: got %s\n", e->file, e->line, e->text,
				scn_expect_actual(e, buf));
	}
	/* Test cases: one fails when any of its expectations does; one
	 * without expectations passes vacuously, so it is refused at load. */
	unsigned cfailed = 0;
	for (unsigned c = 0, i = 0; c < sc->ntcases; c++) {
		unsigned n = 0, bad = 0;
		while (i < sc->nexpects && sc->expects[i].tcase < (int)c)
			i++; /* before the first testcase statement */
		for (; i < sc->nexpects && sc->expects[i].tcase == (int)c; i++, n++)
			bad += !sc->expects[i].held;
		if (bad) {
			cfailed++;
			fprintf(sc->out, "FAIL testcase %s (%s:%u): %u of %u expectations failed\n",
				sc->tcases[c].name, sc->tcases[c].file, sc->tcases[c].line, bad, n);
		}
	}
	fprintf(sc->out, "end at %s s: %u expectation%s, %u held, %u failed",
		sim_fmt_time(s->now, t), sc->nexpects, sc->nexpects == 1 ? "" : "s",
		sc->nexpects - failed, failed);
	if (sc->ntcases)
		fprintf(sc->out, "; %u test case%s, %u passed, %u failed", sc->ntcases,
			sc->ntcases == 1 ? "" : "s", sc->ntcases - cfailed, cfailed);
	fputc('\n', sc->out);
	fflush(sc->trace);
	if (sc->report && scn_report_write(sc->report) < 0)
		return 2;
	return failed ? 1 : 0;
}

static void expect_ev(struct sim *s, void *arg)
{
	scn_expect_check(arg, s->now);
}

static void expect_base_ev(struct sim *s, void *arg)
{
	scn_expect_base(arg, s->now);
}

void scenario_print_stats(struct scenario *sc, FILE *f)
{
	struct sim *s = sc->sim;
	for (unsigned i = 0; i < s->nnodes; i++) {
		struct node *n = s->nodes[i];
		fprintf(f, "node %s\n", n->name);
		for (int k = 0; k < STAT__COUNT; k++)
			if (n->stats[k])
				fprintf(f, "  %-28s %llu\n", stat_name((enum stat_id)k),
					(unsigned long long)n->stats[k]);
	}
	for (unsigned i = 0; i < s->nlinks; i++) {
		struct link *l = s->links[i];
		fprintf(f, "link %s\n", l->name);
		for (int k = 0; k < LINK_STAT__COUNT; k++)
			if (l->stats[k])
				fprintf(f, "  %-28s %llu\n", link_stat_name((enum link_stat)k),
					(unsigned long long)l->stats[k]);
	}
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	scn_apps_free(sc);
	scn_tcp_free(sc);
	scn_shows_free(sc);
	scn_pfkey_free(sc);
	scn_seclevel_free(sc);
	scn_bridges_free(sc);
	free(sc->pf_failed);
	free(sc->built_out);
	for (unsigned i = 0; i < sc->nespsa; i++) {
		OPENSSL_cleanse(sc->espsa[i], strlen(sc->espsa[i])); /* keys */
		free(sc->espsa[i]);
	}
	free(sc->espsa);
	hmap_free(&sc->espsa_seen);
	if (sc->sim)
		sc->sim->watch = NULL;
	scn_report_free(sc->report);
	sim_free(sc->sim);
	km_world_free(sc->keymgrs); /* after the nodes: the sockets were theirs */
	iked_world_free(sc->ikeds);
	if (sc->trace)
		fclose(sc->trace);
	for (unsigned i = 0; i < sc->nstmts; i++) {
		struct scn_stmt *st = &sc->stmts[i];
		for (unsigned k = 0; k < st->ntok; k++)
			free(st->tok[k]);
		free(st->tok);
		free(st->body);
		for (unsigned k = 0; k < st->ndefs; k++) {
			free((char *)st->defs[k].name);
			free((char *)st->defs[k].value);
		}
		free(st->defs);
	}
	for (unsigned i = 0; i < sc->nexpects; i++)
		free(sc->expects[i].text);
	for (unsigned i = 0; i < sc->ntcases; i++)
		free(sc->tcases[i].name);
	free(sc->tcases);
	for (unsigned i = 0; i < sc->nfiles; i++)
		free(sc->files[i]);
	for (unsigned i = 0; i < sc->nwritten; i++)
		free(sc->written[i]);
	free(sc->written);
	free(sc->files);
	free(sc->stmts);
	free(sc->expects);
	free(sc->name);
	free(sc->path);
	free(sc->outdir);
	free(sc);
}

void scn_xml_text(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
}

/* One <testcase> per expectation outside testcase statements, and one per
 * testcase statement holding all of its expectations, each failed one a
 * <failure>; in file order. */
/* A file's name without its directories: test names must not depend on
 * the directory the run was started from. */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int scenario_write_junit_load_error(const char *scenario_path, const char *errors,
				    const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	const char *b = base_name(scenario_path);
	size_t blen = strlen(b);
	if (blen > 4 && strcmp(b + blen - 4, ".scn") == 0)
		blen -= 4;
	char name[256];
	snprintf(name, sizeof(name), "%.*s", (int)blen, b);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites tests=\"1\" failures=\"1\">\n");
	fprintf(f, "  <testsuite name=\"");
	scn_xml_text(f, name);
	fprintf(f, "\" tests=\"1\" failures=\"1\" errors=\"0\">\n    <testcase classname=\"");
	scn_xml_text(f, name);
	fprintf(f, "\" name=\"load\">\n      <failure message=\"the scenario did not load\">");
	scn_xml_text(f, errors);
	fprintf(f, "</failure>\n    </testcase>\n  </testsuite>\n</testsuites>\n");
	return fclose(f) == 0 ? 0 : -1;
}

int scenario_write_junit(struct scenario *sc, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(sc->err, "cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	unsigned tests = 0, failed = 0;
	for (unsigned i = 0; i < sc->nexpects;) {
		int c = sc->expects[i].tcase;
		bool bad = false;
		do
			bad |= !sc->expects[i].held;
		while (++i < sc->nexpects && c >= 0 && sc->expects[i].tcase == c);
		tests++;
		failed += bad;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites tests=\"%u\" failures=\"%u\">\n", tests, failed);
	fprintf(f, "  <testsuite name=\"%s\" tests=\"%u\" failures=\"%u\" errors=\"0\">\n",
		sc->name, tests, failed);
	if (sc->sim->nsources) { /* a run that followed the wall clock says so */
		fputs("    <properties>\n      <property name=\"deterministic\" value=\"false\"/>\n",
		      f);
		for (unsigned i = 0; i < sc->sim->nsources; i++) {
			fputs("      <property name=\"external\" value=\"", f);
			scn_xml_text(f, sc->sim->sources[i].what);
			fputs("\"/>\n", f);
		}
		fputs("    </properties>\n", f);
	}
	for (unsigned i = 0; i < sc->nexpects;) {
		const struct scn_expect *e = &sc->expects[i];
		char buf[48];
		if (e->tcase < 0) {
			fprintf(f, "    <testcase classname=\"%s\" name=\"%s:%u: ", sc->name,
				base_name(e->file), e->line);
			scn_xml_text(f, e->text);
			if (e->held)
				fputs("\"/>\n", f);
			else
				fprintf(f,
					"\">\n      <failure message=\"got %s\"/>\n    </testcase>\n",
					scn_expect_actual(e, buf));
			i++;
			continue;
		}
		/* One <failure> (what JUnit readers allow), naming in its
		 * text every expectation of the case that failed. */
		const struct scn_testcase *tc = &sc->tcases[e->tcase];
		unsigned first = i, n = 0, bad = 0;
		for (; i < sc->nexpects && sc->expects[i].tcase == e->tcase; i++, n++)
			bad += !sc->expects[i].held;
		fprintf(f, "    <testcase classname=\"%s\" name=\"", sc->name);
		scn_xml_text(f, tc->name);
		if (!bad) {
			fputs("\"/>\n", f);
			continue;
		}
		fprintf(f, "\">\n      <failure message=\"%u of %u expectations failed\">", bad, n);
		for (unsigned k = first; k < i; k++) {
			const struct scn_expect *x = &sc->expects[k];
			if (x->held)
				continue;
			fprintf(f, "%s:%u: ", base_name(x->file), x->line);
			scn_xml_text(f, x->text);
			fprintf(f, ": got %s\n", scn_expect_actual(x, buf));
		}
		fputs("</failure>\n    </testcase>\n", f);
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	fclose(f);
	scn_add_written(sc, path);
	return 0;
}
