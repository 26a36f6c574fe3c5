/*
 * ipsecsim ipsecctl: OpenBSD's ipsecctl for manual keying.  Parses an
 * ipsec.conf, prints it in ipsecctl's -nv format, and (without -n) loads it
 * through PF_KEY into a scratch node to check that the kernel takes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ipsec/conf.h"
#include "../ipsec/pfkey.h"
#include "../sim/sim.h"
#include "../stack/util.h"
#include "cmds.h"

const char ipsecctl_usage[] =
    "usage: ipsecsim ipsecctl [-knTv] [-D macro=value] -f file\n"
    "\n"
    "Read an ipsec.conf(5) for manual keying, as OpenBSD's ipsecctl does.\n"
    "\n"
    "options:\n"
    "  -f file         the configuration; - reads standard input\n"
    "  -n              parse only; do not load the rules\n"
    "  -v              print each rule as parsed (ipsecctl -nv format); -vv numbers them\n"
    "  -k              print keys too\n"
    "  -D macro=value  define a macro; it wins over the file's definition\n"
    "  -T              testbed mode: static keys for aes-ctr, aes-gcm, aes-gmac and\n"
    "                  chacha20-poly1305, and the replay, esn and lifetime clauses\n"
    "                  (docs/ipsec-conf.md)\n"
    "\n"
    "Without -n the rules are sent as PF_KEY messages to a scratch node, which\n"
    "reports any the kernel refuses.\n"
    "Errors are printed as FILE: LINE: message.  Exit status: 0 success,\n"
    "1 the kernel refused a rule, 2 usage or configuration error.\n";

int cmd_ipsecctl(int argc, char **argv)
{
	struct conf_options o = {.mode = CONF_STRICT, .out = stdout, .err = stderr};
	struct conf_define *defs = NULL;
	const char *file = NULL;
	bool noaction = false;
	int c, rc = 0;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(ipsecctl_usage, stdout);
		return 0;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "D:f:knTv")) != -1) {
		switch (c) {
		case 'D': {
			char *eq = strrchr(optarg, '=');
			if (!eq || eq == optarg) {
				/* ipsecctl's words and program name, so that the
				 * output diffs clean against an OpenBSD box */
				fprintf(stderr, "ipsecctl: could not parse macro definition %s\n",
					optarg);
				continue;
			}
			defs = xgrow(defs, o.ndefines, sizeof(*defs));
			char *name = xstrdup(optarg);
			name[eq - optarg] = '\0';
			defs[o.ndefines++] = (struct conf_define){name, eq + 1};
			break;
		}
		case 'f': file = optarg; break;
		case 'k': o.showkeys = true; break;
		case 'n': noaction = true; break;
		case 'T': o.mode = CONF_TESTBED; break;
		case 'v':
			if (o.verbose)
				o.verbose2 = true;
			o.verbose = true;
			break;
		default:
			fprintf(stderr, "ipsecctl: unknown option -- %c\n%s", optopt,
				ipsecctl_usage);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (!file || optind != argc) {
		fputs(ipsecctl_usage, stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	o.defines = defs;
	struct conf conf;
	if (conf_parse(file, &o, &conf) < 0) {
		fprintf(stderr, "ipsecctl: Syntax error in config file: ipsec rules not loaded\n");
		conf_free(&conf);
		rc = EXIT_USAGE;
		goto out;
	}
	if (!noaction) {
		struct sim *sim = sim_new(0);
		struct node *n = sim_add_node(sim, "ipsecctl");
		struct pfkey_sock *s = pfkey_open(n);
		if (conf_load(&conf, s, stderr, NULL))
			rc = 1;
		sim_free(sim);
	}
	conf_free(&conf);
out:
	for (unsigned i = 0; i < o.ndefines; i++)
		free((char *)defs[i].name);
	free(defs);
	fflush(stdout);
	return rc;
}
