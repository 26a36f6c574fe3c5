/*
 * ipsecsim: the command.  Subcommands: run, ipsecctl, vectors, verify,
 * decap and encap.
 * Exit status: 0 all expectations held, 1 some failed, 2 usage or input error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../sim/scenario.h"
#include "../stack/util.h"
#include "cmds.h"
#include "version.h" /* made by make from git describe */

static const char main_usage[] =
    "usage: ipsecsim COMMAND [OPTIONS] ...\n"
    "\n"
    "A user-mode network stack simulator and IPsec conformance testbed.\n"
    "\n"
    "commands:\n"
    "  run       run a scenario file on the virtual clock, write its pcaps\n"
    "  ipsecctl  read an OpenBSD ipsec.conf, print it as ipsecctl -nv does\n"
    "  vectors   run the RFC known-answer vectors through the ESP code\n"
    "  verify    check the ESP and AH packets of a capture against SAs\n"
    "  decap     write the packets of a capture after IPsec processing\n"
    "  encap     protect the IP packets of a capture with an SA\n"
    "  junit-merge  join the JUnit files of several runs (shards) into one\n"
    "  version   print the version (also --version)\n"
    "  help      show this text, or `ipsecsim help COMMAND`\n"
    "\n"
    "`ipsecsim COMMAND --help` describes each command's options.\n"
    "Exit status: 0 success, 1 an expectation failed, 2 usage or input error.\n";

static const char run_usage[] =
    "usage: ipsecsim run [-o DIR] [--seed N] [-D NAME=VALUE] [--junit FILE] [--stats]\n"
    "                    [--report FILE] [--max-events N] [--rusage] FILE\n"
    "       ipsecsim run [-j N] [--seeds A..B|A,B,...] [--shard I/N] [--summary FILE]\n"
    "                    [-o DIR] [--junit FILE] [-q] FILE|DIR ...\n"
    "\n"
    "Run the scenario FILE (see docs/scenario-language.md) and check its expectations.\n"
    "Given several files, directories (every *.scn in them, sorted), seeds or -j, it\n"
    "runs each scenario (once per seed) in N worker processes, each under\n"
    "DIR/<scenario name>[/seed-S], prints each run's output whole and in order,\n"
    "and exits with the worst status of them.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR       write every output under DIR (default out/<scenario name>/);\n"
    "                      the scenario's capture and show files go there\n"
    "  --seed N            use seed N instead of the scenario's `seed`\n"
    "  -D NAME=VALUE       define macro NAME; wins over a definition in the file\n"
    "  --junit FILE        write a JUnit XML report (FILE from the current\n"
    "                      directory), one test case per expectation (or per\n"
    "                      `testcase` statement); a file that does not load gets\n"
    "                      one failed test case with its errors\n"
    "  --stats             print every node's and link's non-zero counters at the end\n"
    "  --report FILE       write an HTML report (FILE from the current directory):\n"
    "                      the topology, a ladder diagram of the frames, drops,\n"
    "                      attacks and PF_KEY messages, the verdicts, the counters\n"
    "  --max-events N      stop the run, exit 2, after N events (default 1000000000;\n"
    "                      0 for no limit)\n"
    "  --rusage            print to standard error what the run cost: wall time of\n"
    "                      set-up, run and teardown, CPU time, events, peak RSS\n"
    "                      (measurements of this machine: never in an output file)\n"
    "  -q, --quiet         print only failed expectations and the summary line\n"
    "  -j N                run N at a time (default: the number of CPUs)\n"
    "  --seeds A..B|A,B    run each scenario once per seed; says on how many seeds\n"
    "                      each expectation held\n"
    "  --shard I/N         run only the I-th of N slices of the runs (1 <= I <= N)\n"
    "  --summary FILE      every run's verdicts and values, CSV (or JSON: FILE.json)\n"
    "  -h, --help          show this text\n"
    "\n"
    "Writes DIR/trace.log (one line per drop and stack event) and each capture.\n"
    "Exit status: 0 every expectation held, 1 one failed, 2 bad usage or scenario,\n"
    "or the run stopped at its event limit.\n";

/* The progress line is for people at a terminal only: it never goes into an
 * output file, and it is the one place a real clock is read, to wait a second
 * before showing anything.  Nothing it reads reaches the simulation. */
struct progress {
	int enabled;
	struct timespec start;
	double last; /* seconds since start of the last redraw */
	int shown;
};
static void progress_show(uint64_t now, uint64_t end, bool has_end, void *arg)
{
	struct progress *p = arg;
	if (!p->enabled)
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	double elapsed =
	    (double)(t.tv_sec - p->start.tv_sec) + (double)(t.tv_nsec - p->start.tv_nsec) / 1e9;
	if (elapsed < 1.0 || (p->shown && elapsed - p->last < 0.1))
		return; /* after a second, at most ten redraws a second */
	p->last = elapsed;
	if (has_end)
		fprintf(stderr, "\r%10.3f / %.3f s virtual (%3.0f%%)", (double)now / 1e9,
			(double)end / 1e9, end ? 100.0 * (double)now / (double)end : 100.0);
	else
		fprintf(stderr, "\r%10.3f s virtual", (double)now / 1e9);
	p->shown = 1;
}

/* --rusage: one line of key=value pairs on stderr, for people and bench
 * scripts; real clocks and the kernel's accounting, so never in a file the
 * run writes. */
struct rusage_figures {
	unsigned nodes, links;
	uint64_t events;
};
static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}
static void print_rusage(const struct rusage_figures *f, const struct timespec *t0,
			 const struct timespec *t1, const struct timespec *t2,
			 const struct timespec *t3)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fflush(stdout); /* the run's own lines first */
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	double run_ms = ms_between(t1, t2);
	fprintf(stderr,
		"rusage: nodes=%u links=%u setup_ms=%.1f run_ms=%.1f teardown_ms=%.1f "
		"events=%llu events_per_s=%.0f cpu_ms=%.1f maxrss_kib=%ld\n",
		f->nodes, f->links, ms_between(t0, t1), run_ms, ms_between(t2, t3),
		(unsigned long long)f->events,
		run_ms > 0 ? (double)f->events * 1e3 / run_ms : 0.0, cpu, ru.ru_maxrss);
}

struct run_flags {
	const char *junit;
	int stats, quiet, rusage;
	const char *verdicts; /* write each expectation's verdict here (tab-separated) */
	bool junit_internal;  /* the JUnit file is a part of a merged one: not announced */
};

/* One run of one scenario file, as `ipsecsim run FILE` has always done. */
static int run_one(const char *file, struct scn_options *o, const struct run_flags *fl)
{
	FILE *devnull = NULL;
	if (fl->quiet) {
		/* Quiet: the story goes nowhere; verdicts are printed below. */
		devnull = fopen("/dev/null", "w");
		o->out = devnull;
	}
	/* With a JUnit report, what loading says is kept too: a file that does
	 * not load is a failed test case carrying its errors. */
	char *load_err = NULL;
	size_t load_errlen = 0;
	FILE *errs = fl->junit ? open_memstream(&load_err, &load_errlen) : NULL;
	FILE *err = o->err;
	if (errs)
		o->err = errs;
	struct timespec t0, t1, t2, t3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct scenario *sc = scenario_load(file, o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (errs) {
		fclose(errs);
		fwrite(load_err, 1, load_errlen, err);
		if (sc)
			sc->err = err;
		else
			scenario_write_junit_load_error(file, load_err, fl->junit);
		free(load_err);
		o->err = err;
	}
	if (!sc) {
		if (devnull)
			fclose(devnull);
		return EXIT_USAGE;
	}
	struct progress p = {.enabled = isatty(STDERR_FILENO)};
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	int rc = scenario_run(sc, progress_show, &p);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (p.shown)
		fputs("\r\033[K", stderr);
	if (rc == EXIT_USAGE) { /* stopped at the event limit: no verdicts */
		scenario_free(sc);
		if (devnull)
			fclose(devnull);
		return rc;
	}
	if (fl->quiet) {
		unsigned failed = 0;
		for (unsigned i = 0; i < sc->nexpects; i++) {
			const struct scn_expect *e = &sc->expects[i];
			char buf[48];
			if (!e->held) {
				failed++;
				printf("FAIL %s:%u: %s: got %s\n", e->file, e->line, e->text,
				       scn_expect_actual(e, buf));
			}
		}
		printf("%s: %u expectation%s, %u held, %u failed\n", sc->name, sc->nexpects,
		       sc->nexpects == 1 ? "" : "s", sc->nexpects - failed, failed);
	}
	if (fl->stats)
		scenario_print_stats(sc, stdout);
	if (fl->junit && scenario_write_junit(sc, fl->junit) < 0)
		rc = EXIT_USAGE;
	if (fl->verdicts) {
		FILE *v = fopen(fl->verdicts, "w");
		for (unsigned i = 0; v && i < sc->nexpects; i++) {
			const struct scn_expect *e = &sc->expects[i];
			char buf[48];
			fprintf(v, "%s\t%s:%u\t%s\t%s\t%d\n", sc->name, e->file, e->line, e->text,
				scn_expect_actual(e, buf), e->held);
		}
		if (v)
			fclose(v);
	}
	if (!fl->quiet) {
		for (unsigned i = 0; i < sc->nwritten; i++)
			if (!fl->junit_internal || !fl->junit ||
			    strcmp(sc->written[i], fl->junit) != 0)
				printf("wrote %s\n", sc->written[i]);
	}
	struct rusage_figures fig = {sc->sim->nnodes, sc->sim->nlinks, sc->sim->events_run};
	scenario_free(sc); /* closing the captures is part of the cost */
	clock_gettime(CLOCK_MONOTONIC, &t3);
	if (fl->rusage)
		print_rusage(&fig, &t0, &t1, &t2, &t3);
	if (devnull)
		fclose(devnull);
	fflush(stdout);
	return rc;
}

/* ---- several runs: files, directories, seeds, shards, workers ---- */

struct run_item {
	const char *file;
	bool has_seed;
	uint64_t seed;
	pid_t pid; /* 0: not started */
	bool done, printed;
	int rc;
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files to run: each FILE as given, each directory's *.scn in sorted
 * order.  -1 on a path that is neither (said on stderr). */
static int expand(char **args, unsigned nargs, char ***files, unsigned *nfiles)
{
	for (unsigned i = 0; i < nargs; i++) {
		struct stat sb;
		if (stat(args[i], &sb) < 0) {
			fprintf(stderr, "ipsecsim run: %s: %s\n", args[i], strerror(errno));
			return -1;
		}
		if (!S_ISDIR(sb.st_mode)) {
			*files = xgrow(*files, *nfiles, sizeof(**files));
			(*files)[(*nfiles)++] = xstrdup(args[i]);
			continue;
		}
		DIR *d = opendir(args[i]);
		if (!d) {
			fprintf(stderr, "ipsecsim run: %s: %s\n", args[i], strerror(errno));
			return -1;
		}
		unsigned first = *nfiles;
		for (struct dirent *e; (e = readdir(d));) {
			size_t len = strlen(e->d_name);
			if (len < 5 || strcmp(e->d_name + len - 4, ".scn") != 0)
				continue;
			char *path = xmalloc(strlen(args[i]) + len + 2);
			sprintf(path, "%s/%s", args[i], e->d_name);
			*files = xgrow(*files, *nfiles, sizeof(**files));
			(*files)[(*nfiles)++] = path;
		}
		closedir(d);
		qsort(*files + first, *nfiles - first, sizeof(**files), str_cmp);
	}
	return 0;
}

/* --seeds A..B (inclusive) or A,B,C */
static int parse_seeds(const char *spec, uint64_t **seeds, unsigned *n)
{
	const char *dots = strstr(spec, "..");
	if (dots) {
		char lo[32];
		uint64_t a, b;
		size_t len = (size_t)(dots - spec);
		if (len == 0 || len >= sizeof(lo))
			return -1;
		memcpy(lo, spec, len);
		lo[len] = '\0';
		if (scn_parse_uint(lo, UINT64_MAX, &a) < 0 ||
		    scn_parse_uint(dots + 2, UINT64_MAX, &b) < 0 || b < a || b - a >= 1000000)
			return -1;
		for (uint64_t s = a;; s++) {
			*seeds = xgrow(*seeds, *n, sizeof(**seeds));
			(*seeds)[(*n)++] = s;
			if (s == b)
				break;
		}
		return 0;
	}
	char *copy = xstrdup(spec), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint64_t s;
		if (scn_parse_uint(t, UINT64_MAX, &s) < 0) {
			free(copy);
			return -1;
		}
		*seeds = xgrow(*seeds, *n, sizeof(**seeds));
		(*seeds)[(*n)++] = s;
	}
	free(copy);
	return *n ? 0 : -1;
}

/* The scratch directory of a multi-run, and a run's file in it. */
#define RUN_TMP  256
#define RUN_PATH (RUN_TMP + 32)

static void tmp_path(char *buf, size_t cap, const char *dir, unsigned k, const char *what)
{
	snprintf(buf, cap, "%s/%u.%s", dir, k, what);
}

/* Copy the file at path to a stream; false when it cannot be read. */
static bool copy_file(const char *path, FILE *to)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, to);
	fclose(f);
	return true;
}

/* Copy a file to a stream, then remove it. */
static void drain(const char *path, FILE *to)
{
	if (copy_file(path, to))
		unlink(path);
}

static char *slurp(const char *path)
{
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);
	bool ok = copy_file(path, m);
	fclose(m);
	if (!ok) {
		free(s);
		return NULL;
	}
	return s;
}

struct multi {
	struct run_item *items;
	unsigned nitems;
	char tmp[RUN_TMP];
	unsigned jobs;
	const char *junit, *summary;
	bool seeds;
};

static void start_item(struct multi *m, unsigned k, struct scn_options *base,
		       const struct run_flags *flags)
{
	struct run_item *it = &m->items[k];
	char log[RUN_PATH], err[RUN_PATH], junit[RUN_PATH], verdicts[RUN_PATH];
	tmp_path(log, sizeof(log), m->tmp, k, "out");
	tmp_path(err, sizeof(err), m->tmp, k, "err");
	tmp_path(junit, sizeof(junit), m->tmp, k, "xml");
	tmp_path(verdicts, sizeof(verdicts), m->tmp, k, "tsv");
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		it->done = true;
		it->rc = EXIT_USAGE;
		fprintf(stderr, "ipsecsim run: fork: %s\n", strerror(errno));
		return;
	}
	if (pid) {
		it->pid = pid;
		return;
	}
	/* the child: one run, its output into files the parent prints in order */
	FILE *out = freopen(log, "w", stdout), *er = freopen(err, "w", stderr);
	if (!out || !er)
		_exit(EXIT_USAGE);
	struct scn_options o = *base;
	o.out = stdout;
	o.err = stderr;
	char sub[40];
	if (it->has_seed) {
		o.seed = it->seed;
		o.seed_set = true;
		snprintf(sub, sizeof(sub), "seed-%llu", (unsigned long long)it->seed);
		o.outsub = sub;
	}
	struct run_flags fl = *flags;
	fl.junit = m->junit ? junit : NULL;
	fl.junit_internal = true;
	fl.verdicts = verdicts;
	int rc = run_one(it->file, &o, &fl);
	fflush(stdout);
	fflush(stderr);
	_exit(rc);
}

/* The test suites of JUnit files, in order, as one file (a suite of
 * paths[k] renamed "NAME seed N" when seeds[k] is set).  Returns the worst
 * status they stand for: 0, 1 with a failure, 2 with a file that is not
 * ours or a scenario that did not load (its one test case, `load`). */
static int merge_junit(const char *out, char **paths, unsigned n, const uint64_t *const *seeds,
		       bool quiet_missing)
{
	unsigned long tests = 0, failures = 0;
	int worst = 0;
	char **suites = xcalloc(n ? n : 1, sizeof(*suites));
	for (unsigned k = 0; k < n; k++) {
		char *s = slurp(paths[k]);
		char *a = s ? strstr(s, "<testsuite ") : NULL;
		char *end = a ? strstr(a, "</testsuites>") : NULL;
		if (!a || !end) {
			if (!quiet_missing || s)
				fprintf(stderr, "ipsecsim: %s: not a JUnit file of ipsecsim's\n",
					paths[k]);
			worst = 2;
			free(s);
			continue;
		}
		*end = '\0';
		while (end > a && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		for (char *q = a; (q = strstr(q, "<testsuite ")); q++) {
			char *t = strstr(q, " tests=\""), *f = strstr(q, " failures=\"");
			tests += t ? strtoul(t + 8, NULL, 10) : 0;
			unsigned long fl = f ? strtoul(f + 11, NULL, 10) : 0;
			failures += fl;
			if (fl && worst < 1)
				worst = 1;
		}
		if (strstr(a, "<testcase classname=\"load\"") || strstr(a, " name=\"load\""))
			worst = 2;
		const char *nm = strstr(a, "name=\"");
		const char *e = nm ? strchr(nm + 6, '"') : NULL;
		if (seeds && seeds[k] && e) {
			/* name="X" -> name="X seed N" */
			size_t head = (size_t)(e - a);
			suites[k] = xmalloc(strlen(a) + 48);
			memcpy(suites[k], a, head);
			sprintf(suites[k] + head, " seed %llu%s", (unsigned long long)*seeds[k], e);
		} else {
			suites[k] = xstrdup(a);
		}
		free(s);
	}
	FILE *f = fopen(out, "w");
	if (!f) {
		fprintf(stderr, "ipsecsim: cannot write %s: %s\n", out, strerror(errno));
		worst = 2;
	} else {
		fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
		fprintf(f, "<testsuites tests=\"%lu\" failures=\"%lu\">\n", tests, failures);
		for (unsigned k = 0; k < n; k++)
			if (suites[k])
				fprintf(f, "  %s\n", suites[k]);
		fprintf(f, "</testsuites>\n");
		fclose(f);
	}
	for (unsigned k = 0; k < n; k++)
		free(suites[k]);
	free(suites);
	return worst;
}

static int merge_runs_junit(struct multi *m)
{
	char **paths = xcalloc(m->nitems ? m->nitems : 1, sizeof(*paths));
	const uint64_t **seeds = xcalloc(m->nitems ? m->nitems : 1, sizeof(*seeds));
	for (unsigned k = 0; k < m->nitems; k++) {
		paths[k] = xmalloc(RUN_PATH);
		tmp_path(paths[k], RUN_PATH, m->tmp, k, "xml");
		seeds[k] = m->items[k].has_seed ? &m->items[k].seed : NULL;
	}
	/* a run that died before writing has no file: its status says so */
	int rc = merge_junit(m->junit, paths, m->nitems, seeds, true);
	for (unsigned k = 0; k < m->nitems; k++) {
		unlink(paths[k]);
		free(paths[k]);
	}
	free(paths);
	free(seeds);
	return rc;
}

static const char junit_merge_usage[] =
    "usage: ipsecsim junit-merge -o OUT FILE...\n"
    "\n"
    "Join the JUnit files of several runs (the shards of `ipsecsim run --shard`) into\n"
    "one, their test suites in the order given.\n"
    "Exit status: 0 every test case passed, 1 one failed, 2 a scenario did not load\n"
    "or a file is not one of ipsecsim's JUnit files.\n";

static int cmd_junit_merge(int argc, char **argv)
{
	const char *out = NULL;
	char **files = xcalloc((size_t)argc, sizeof(*files));
	unsigned n = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(junit_merge_usage, stdout);
			free(files);
			return 0;
		}
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] == '-')
			break;
		else
			files[n++] = argv[i];
	}
	if (!out || !n) {
		fputs(junit_merge_usage, stderr);
		free(files);
		return EXIT_USAGE;
	}
	int rc = merge_junit(out, files, n, NULL, false);
	free(files);
	return rc;
}

/* Each run's verdicts: on the console, for every expectation that did not
 * hold on every seed, on how many it held and the first seeds it failed
 * on; all of them into --summary (CSV, or JSON for a .json name). */
static int summarize(struct multi *m)
{
	FILE *sum = NULL;
	bool json = false;
	if (m->summary) {
		size_t len = strlen(m->summary);
		json = len > 5 && strcmp(m->summary + len - 5, ".json") == 0;
		sum = fopen(m->summary, "w");
		if (!sum) {
			fprintf(stderr, "ipsecsim run: cannot write %s: %s\n", m->summary,
				strerror(errno));
			return -1;
		}
		fputs(json ? "[\n" : "scenario,seed,where,expectation,value,held\n", sum);
	}
	bool first_row = true;
	/* verdicts of one file over its seeds, by the expectation's place */
	for (unsigned k = 0; k < m->nitems;) {
		unsigned end = k;
		while (end < m->nitems && strcmp(m->items[end].file, m->items[k].file) == 0)
			end++;
		struct tally {
			char *where, *text;
			unsigned held, runs;
			uint64_t failed_on[5];
			unsigned nfailed;
		} *t = NULL;
		unsigned nt = 0;
		for (unsigned r = k; r < end; r++) {
			char p[RUN_PATH];
			tmp_path(p, sizeof(p), m->tmp, r, "tsv");
			char *s = slurp(p);
			unlink(p);
			unsigned idx = 0;
			for (char *save = NULL, *line = s ? strtok_r(s, "\n", &save) : NULL; line;
			     line = strtok_r(NULL, "\n", &save), idx++) {
				char *f[5] = {0};
				char *save2 = NULL;
				f[0] = strtok_r(line, "\t", &save2);
				for (int i = 1; i < 5 && f[i - 1]; i++)
					f[i] = strtok_r(NULL, "\t", &save2);
				if (!f[4])
					continue;
				bool held = f[4][0] == '1';
				if (idx == nt) {
					t = xgrow(t, nt, sizeof(*t));
					t[nt++] = (struct tally){xstrdup(f[1]), xstrdup(f[2]), 0, 0, {0}, 0};
				}
				t[idx].runs++;
				t[idx].held += held;
				if (!held && t[idx].nfailed < 5)
					t[idx].failed_on[t[idx].nfailed++] = m->items[r].seed;
				if (!sum)
					continue;
				if (json) {
					fprintf(sum, "%s  {\"scenario\": \"", first_row ? "" : ",\n");
					for (const char *c = f[0]; *c; c++)
						fprintf(sum, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
					fprintf(sum, "\", \"seed\": %llu, \"where\": \"",
						(unsigned long long)m->items[r].seed);
					for (const char *c = f[1]; *c; c++)
						fprintf(sum, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
					fputs("\", \"expectation\": \"", sum);
					for (const char *c = f[2]; *c; c++)
						fprintf(sum, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
					fputs("\", \"value\": \"", sum);
					for (const char *c = f[3]; *c; c++)
						fprintf(sum, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
					fprintf(sum, "\", \"held\": %s}", held ? "true" : "false");
				} else {
					fprintf(sum, "\"%s\",%llu,\"%s\",\"", f[0],
						(unsigned long long)m->items[r].seed, f[1]);
					for (const char *c = f[2]; *c; c++)
						fprintf(sum, *c == '"' ? "\"\"" : "%c", *c);
					fprintf(sum, "\",\"%s\",%d\n", f[3], held);
				}
				first_row = false;
			}
			free(s);
		}
		if (m->seeds && end - k > 1) {
			unsigned steady = 0;
			for (unsigned i = 0; i < nt; i++)
				steady += t[i].held == t[i].runs;
			printf("seeds: %s: %u runs; %u of %u expectations held on every seed\n",
			       m->items[k].file, end - k, steady, nt);
			for (unsigned i = 0; i < nt; i++) {
				if (t[i].held == t[i].runs)
					continue;
				printf("seeds: %s: %s: held on %u of %u seeds; failed on seed", t[i].where,
				       t[i].text, t[i].held, t[i].runs);
				for (unsigned j = 0; j < t[i].nfailed; j++)
					printf("%s %llu", j ? "," : "", (unsigned long long)t[i].failed_on[j]);
				printf("%s\n", t[i].runs - t[i].held > t[i].nfailed ? ", ..." : "");
			}
		}
		for (unsigned i = 0; i < nt; i++) {
			free(t[i].where);
			free(t[i].text);
		}
		free(t);
		k = end;
	}
	if (sum) {
		fputs(json ? "\n]\n" : "", sum);
		fclose(sum);
	}
	return 0;
}

/* Print, in run order, what the finished runs said, up to the first one
 * still running. */
static void print_ready(struct multi *m)
{
	for (unsigned k = 0; k < m->nitems; k++) {
		struct run_item *it = &m->items[k];
		if (it->printed)
			continue;
		if (!it->done)
			return;
		char p[RUN_PATH];
		tmp_path(p, sizeof(p), m->tmp, k, "out");
		drain(p, stdout);
		fflush(stdout);
		tmp_path(p, sizeof(p), m->tmp, k, "err");
		drain(p, stderr);
		fflush(stderr);
		it->printed = true;
	}
}

static int run_many(char **args, unsigned nargs, struct scn_options *o, const struct run_flags *fl,
		    unsigned jobs, const uint64_t *seeds, unsigned nseeds, unsigned shard_i,
		    unsigned shard_n, const char *summary)
{
	char **files = NULL;
	unsigned nfiles = 0;
	if (expand(args, nargs, &files, &nfiles) < 0)
		return EXIT_USAGE;
	struct multi m = {.jobs = jobs, .junit = fl->junit, .summary = summary, .seeds = nseeds};
	/* the work, in a fixed order: file, then seed; a shard takes every
	 * shard_n-th item from its own */
	unsigned all = 0;
	for (unsigned i = 0; i < nfiles; i++)
		for (unsigned s = 0; s < (nseeds ? nseeds : 1); s++, all++) {
			if (shard_n && all % shard_n != shard_i - 1)
				continue;
			m.items = xgrow(m.items, m.nitems, sizeof(*m.items));
			m.items[m.nitems++] = (struct run_item){.file = files[i],
								.has_seed = nseeds > 0,
								.seed = nseeds ? seeds[s] : 0};
		}
	/* The runs' own output, before it is printed in order: in $TMPDIR,
	 * as mktemp(1) would. */
	const char *tmpdir = getenv("TMPDIR");
	tmpdir = tmpdir && *tmpdir ? tmpdir : "/tmp";
	if ((size_t)snprintf(m.tmp, sizeof(m.tmp), "%s/ipsecsim-run-XXXXXX", tmpdir) >=
	    sizeof(m.tmp)) {
		fprintf(stderr, "ipsecsim run: TMPDIR %s is too long\n", tmpdir);
		return EXIT_USAGE;
	}
	if (!mkdtemp(m.tmp)) {
		fprintf(stderr, "ipsecsim run: cannot make a directory in %s: %s\n", tmpdir,
			strerror(errno));
		return EXIT_USAGE;
	}
	unsigned next = 0, running = 0;
	int worst = 0;
	while (next < m.nitems || running) {
		while (next < m.nitems && running < m.jobs) {
			start_item(&m, next++, o, fl);
			running += m.items[next - 1].pid != 0;
		}
		if (!running)
			continue;
		int status;
		pid_t pid = wait(&status);
		if (pid < 0)
			break;
		for (unsigned k = 0; k < m.nitems; k++)
			if (m.items[k].pid == pid) {
				m.items[k].done = true;
				m.items[k].rc = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_USAGE;
				running--;
			}
		print_ready(&m);
	}
	print_ready(&m);
	for (unsigned k = 0; k < m.nitems; k++)
		if (m.items[k].rc > worst)
			worst = m.items[k].rc;
	if (m.junit) {
		int jr = merge_runs_junit(&m);
		worst = jr > worst ? jr : worst;
	}
	if (summarize(&m) < 0)
		worst = EXIT_USAGE;
	if (m.junit)
		printf("wrote %s\n", m.junit);
	if (m.summary)
		printf("wrote %s\n", m.summary);
	unsigned failed = 0, broken = 0;
	for (unsigned k = 0; k < m.nitems; k++) {
		failed += m.items[k].rc == 1;
		broken += m.items[k].rc > 1;
	}
	printf("runs: %u, %u held, %u failed, %u did not load or stopped\n", m.nitems,
	       m.nitems - failed - broken, failed, broken);
	rmdir(m.tmp);
	free(m.items);
	for (unsigned i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return worst;
}

static int cmd_run(int argc, char **argv)
{
	struct scn_options o = {.out = stdout, .err = stderr};
	struct scn_define *defs = NULL;
	struct run_flags fl = {0};
	char **files = xcalloc((size_t)argc, sizeof(*files));
	unsigned nfiles = 0, jobs = 0, shard_i = 0, shard_n = 0, nseeds = 0;
	uint64_t *seeds = NULL;
	const char *summary = NULL;
	int rc = EXIT_USAGE;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(run_usage, stdout);
			rc = 0;
			goto out;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
			if (!v)
				goto need_value;
			o.outdir = v;
			i++;
		} else if (!strcmp(a, "--seed")) {
			uint64_t seed;
			if (!v)
				goto need_value;
			if (scn_parse_uint(v, UINT64_MAX, &seed) < 0) {
				fprintf(stderr, "ipsecsim run: --seed wants a number, not '%s'\n",
					v);
				goto out;
			}
			o.seed = seed;
			o.seed_set = true;
			i++;
		} else if (!strcmp(a, "--seeds")) {
			if (!v)
				goto need_value;
			if (parse_seeds(v, &seeds, &nseeds) < 0) {
				fprintf(stderr,
					"ipsecsim run: --seeds wants A..B (at most a million) or "
					"A,B,C, not '%s'\n",
					v);
				goto out;
			}
			i++;
		} else if (!strcmp(a, "-j") || !strncmp(a, "-j", 2)) {
			const char *n = a[2] ? a + 2 : v;
			uint64_t u;
			if (!n)
				goto need_value;
			if (scn_parse_uint(n, 1024, &u) < 0 || u == 0) {
				fprintf(stderr, "ipsecsim run: -j wants 1 to 1024 workers, not '%s'\n",
					n);
				goto out;
			}
			jobs = (unsigned)u;
			if (!a[2])
				i++;
		} else if (!strcmp(a, "--shard")) {
			unsigned si, sn;
			char extra;
			if (!v)
				goto need_value;
			if (sscanf(v, "%u/%u%c", &si, &sn, &extra) != 2 || sn == 0 || si == 0 ||
			    si > sn) {
				fprintf(stderr,
					"ipsecsim run: --shard wants I/N with 1 <= I <= N, not '%s'\n",
					v);
				goto out;
			}
			shard_i = si;
			shard_n = sn;
			i++;
		} else if (!strcmp(a, "--summary")) {
			if (!v)
				goto need_value;
			summary = v;
			i++;
		} else if (!strncmp(a, "-D", 2)) {
			const char *d = a[2] ? a + 2 : v;
			if (!d)
				goto need_value;
			if (!a[2])
				i++;
			const char *eq = strchr(d, '=');
			if (!eq || eq == d) {
				fprintf(stderr, "ipsecsim run: -D wants NAME=VALUE, not '%s'\n", d);
				goto out;
			}
			defs = xgrow(defs, o.ndefines, sizeof(*defs));
			char *name = xstrdup(d);
			name[eq - d] = '\0';
			defs[o.ndefines++] = (struct scn_define){name, eq + 1};
		} else if (!strcmp(a, "--junit")) {
			if (!v)
				goto need_value;
			fl.junit = v;
			i++;
		} else if (!strcmp(a, "--report")) {
			if (!v)
				goto need_value;
			o.report = v;
			i++;
		} else if (!strcmp(a, "--stats")) {
			fl.stats = 1;
		} else if (!strcmp(a, "--rusage")) {
			fl.rusage = 1;
		} else if (!strcmp(a, "--max-events")) {
			uint64_t n;
			if (!v)
				goto need_value;
			if (scn_parse_uint(v, UINT64_MAX, &n) < 0) {
				fprintf(stderr,
					"ipsecsim run: --max-events wants a number (0 for no limit), "
					"not '%s'\n",
					v);
				goto out;
			}
			o.max_events = n ? n : UINT64_MAX;
			i++;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			fl.quiet = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "ipsecsim run: unknown option %s\n%s", a, run_usage);
			goto out;
		} else {
			files[nfiles++] = argv[i];
		}
		continue;
	need_value:
		fprintf(stderr, "ipsecsim run: %s needs a value\n", a);
		goto out;
	}
	if (!nfiles) {
		fputs(run_usage, stderr);
		goto out;
	}
	o.defines = defs;
	struct stat sb;
	bool many = nfiles > 1 || nseeds || jobs || shard_n || summary ||
		    (stat(files[0], &sb) == 0 && S_ISDIR(sb.st_mode));
	if (!many) {
		rc = run_one(files[0], &o, &fl);
		goto out;
	}
	if (o.report || fl.rusage || (o.seed_set && nseeds)) {
		fprintf(stderr, "ipsecsim run: %s is for one run at a time\n",
			o.report ? "--report" : fl.rusage ? "--rusage" : "--seed with --seeds");
		goto out;
	}
	/* -o DIR: each run under DIR/<scenario name>[/seed-N] */
	o.outroot = o.outdir ? o.outdir : "out";
	o.outdir = NULL;
	if (!jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = n > 0 ? (unsigned)n : 1;
	}
	rc = run_many(files, nfiles, &o, &fl, jobs, seeds, nseeds, shard_i, shard_n, summary);
out:
	for (unsigned i = 0; i < o.ndefines; i++)
		free((char *)defs[i].name);
	free(defs);
	free(files);
	free(seeds);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_usage, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("ipsecsim %s\n", IPSECSIM_VERSION);
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
		const char *usage;
	} cmds[] = {
	    {"run", cmd_run, run_usage},
	    {"ipsecctl", cmd_ipsecctl, ipsecctl_usage},
	    {"vectors", cmd_vectors, vectors_usage},
	    {"verify", cmd_verify, verify_usage},
	    {"decap", cmd_decap, decap_usage},
	    {"encap", cmd_encap, encap_usage},
	    {"junit-merge", cmd_junit_merge, junit_merge_usage},
	};
	if (!strcmp(cmd, "help")) {
		const char *text = main_usage;
		for (size_t i = 0; argc > 2 && i < ARRAY_LEN(cmds); i++)
			if (!strcmp(argv[2], cmds[i].name))
				text = cmds[i].usage;
		fputs(text, stdout);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
		if (!strcmp(cmd, cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ipsecsim: unknown command '%s'\n%s", cmd, main_usage);
	return EXIT_USAGE;
}
