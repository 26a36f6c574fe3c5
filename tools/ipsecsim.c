/*
 * ipsecsim: the command.  Subcommands: run, ipsecctl, vectors, verify,
 * decap and encap.
 * Exit status: 0 all expectations held, 1 some failed, 2 usage or input error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
    "  version   print the version (also --version)\n"
    "  help      show this text, or `ipsecsim help COMMAND`\n"
    "\n"
    "`ipsecsim COMMAND --help` describes each command's options.\n"
    "Exit status: 0 success, 1 an expectation failed, 2 usage or input error.\n";

static const char run_usage[] =
    "usage: ipsecsim run [-o DIR] [--seed N] [-D NAME=VALUE] [--junit FILE] [--stats]\n"
    "                    [--report FILE] [--max-events N] [--rusage] FILE\n"
    "\n"
    "Run the scenario FILE (see docs/scenario-language.md) and check its expectations.\n"
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

static int cmd_run(int argc, char **argv)
{
	struct scn_options o = {.out = stdout, .err = stderr};
	struct scn_define *defs = NULL;
	const char *junit = NULL, *file = NULL;
	int stats = 0, quiet = 0, rusage = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(run_usage, stdout);
			free(defs);
			return 0;
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
				free(defs);
				return EXIT_USAGE;
			}
			o.seed = seed;
			o.seed_set = true;
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
				free(defs);
				return EXIT_USAGE;
			}
			defs = xgrow(defs, o.ndefines, sizeof(*defs));
			char *name = xstrdup(d);
			name[eq - d] = '\0';
			defs[o.ndefines++] = (struct scn_define){name, eq + 1};
		} else if (!strcmp(a, "--junit")) {
			if (!v)
				goto need_value;
			junit = v;
			i++;
		} else if (!strcmp(a, "--stats")) {
			stats = 1;
		} else if (!strcmp(a, "--report")) {
			if (!v)
				goto need_value;
			o.report = v;
			i++;
		} else if (!strcmp(a, "--rusage")) {
			rusage = 1;
		} else if (!strcmp(a, "--max-events")) {
			uint64_t n;
			if (!v)
				goto need_value;
			if (scn_parse_uint(v, UINT64_MAX, &n) < 0) {
				fprintf(stderr,
					"ipsecsim run: --max-events wants a number (0 for no limit), "
					"not '%s'\n",
					v);
				free(defs);
				return EXIT_USAGE;
			}
			o.max_events = n ? n : UINT64_MAX;
			i++;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "ipsecsim run: unknown option %s\n%s", a, run_usage);
			goto usage_out;
		} else if (file) {
			fprintf(stderr, "ipsecsim run: one scenario file at a time\n");
			goto usage_out;
		} else {
			file = a;
		}
		continue;
	need_value:
		fprintf(stderr, "ipsecsim run: %s needs a value\n", a);
		goto usage_out;
	}
	if (!file) {
		fputs(run_usage, stderr);
		goto usage_out;
	}
	o.defines = defs;

	FILE *devnull = NULL;
	if (quiet) {
		/* Quiet: the story goes nowhere; verdicts are printed below. */
		devnull = fopen("/dev/null", "w");
		o.out = devnull;
	}
	/* With a JUnit report, what loading says is kept too: a file that does
	 * not load is a failed test case carrying its errors. */
	char *load_err = NULL;
	size_t load_errlen = 0;
	FILE *errs = junit ? open_memstream(&load_err, &load_errlen) : NULL;
	if (errs)
		o.err = errs;
	struct timespec t0, t1, t2, t3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct scenario *sc = scenario_load(file, &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (unsigned i = 0; i < o.ndefines; i++)
		free((char *)defs[i].name);
	free(defs);
	if (errs) {
		fclose(errs);
		fwrite(load_err, 1, load_errlen, stderr);
		if (sc)
			sc->err = stderr;
		else
			scenario_write_junit_load_error(file, load_err, junit);
		free(load_err);
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
	if (quiet) {
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
	if (stats)
		scenario_print_stats(sc, stdout);
	if (junit && scenario_write_junit(sc, junit) < 0)
		rc = EXIT_USAGE;
	if (!quiet) {
		for (unsigned i = 0; i < sc->nwritten; i++)
			printf("wrote %s\n", sc->written[i]);
	}
	struct rusage_figures fig = {sc->sim->nnodes, sc->sim->nlinks, sc->sim->events_run};
	scenario_free(sc); /* closing the captures is part of the cost */
	clock_gettime(CLOCK_MONOTONIC, &t3);
	if (rusage)
		print_rusage(&fig, &t0, &t1, &t2, &t3);
	if (devnull)
		fclose(devnull);
	fflush(stdout);
	return rc;

usage_out:
	for (unsigned i = 0; i < o.ndefines; i++)
		free((char *)defs[i].name);
	free(defs);
	return EXIT_USAGE;
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
