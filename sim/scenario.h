/*
 * Scenario files (language version 1, docs/scenario-language.md): load one,
 * build the simulation it describes, run it, and report its expectations.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../stack/addr.h"
#include "../stack/util.h"
#include "sim.h"

struct scn_define {
	const char *name, *value;
};

struct scn_options {
	const char *outdir; /* NULL: out/<scenario name> */
	bool seed_set;      /* --seed given */
	uint64_t seed;
	const struct scn_define *defines; /* -D NAME=VALUE, which win over the file */
	unsigned ndefines;
	FILE *out; /* where the run tells its story (stdout) */
	FILE *err; /* where file:line errors go (stderr) */
	uint64_t max_events; /* stop the run after this many events; 0: SCN_MAX_EVENTS */
	const char *report;  /* --report FILE (from the current directory); NULL: none */
	/* Several runs at once: the output directory is outroot/<scenario
	 * name>[/outsub] instead of outdir (NULL: unused). */
	const char *outroot, *outsub;
};

/* The default bound on one run's events (a few minutes of CPU): a
 * statement that schedules without end must not run for ever. */
#define SCN_MAX_EVENTS 1000000000ULL
/* A file's errors are all reported, up to this many; then loading stops. */
#define SCN_MAX_ERRORS 50

/* One parsed statement: its words after macro expansion, and where it was. */
struct scn_stmt {
	const char *file;
	unsigned line;
	char **tok;
	unsigned ntok;
	char *body;              /* the lines of a `{ ... }` block, as written */
	unsigned body_line;      /* the line the block's first line is on */
	struct scn_define *defs; /* the macros in force where the block is */
	unsigned ndefs;
	/* -D definitions the statement's words took a value from (bit i: the
	 * i'th, of the first 32): an error about such a value is told of the
	 * command line */
	uint32_t cmdline_used;
};

enum scn_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

enum scn_target_kind {
	TGT_NODE_STAT,
	TGT_LINK_STAT,
	TGT_SOCKET,
	TGT_IPSEC_SAS,
	TGT_IPSEC_FLOWS,
	TGT_PFKEY_ERRNO,    /* the reply to a labelled pfkey statement */
	TGT_SOCKOPT_ERRNO,  /* the errno of a labelled setsockopt action */
	TGT_PFKEY_RECEIVED, /* messages a pfkey listener received */
	TGT_KEYMGR,         /* a key manager's count */
	TGT_IKE,            /* an IKEv2 daemon's count */
	TGT_TCP_LISTENER,   /* NODE tcp PORT bytes|connections|badbytes */
	TGT_TCP_CONN,       /* a named connection's figure */
	TGT_PF_STATES,      /* NODE pf states */
	TGT_PF_RULE,        /* NODE pf rule N evaluations|packets|bytes|states */
	TGT_APP,            /* a named ping or UDP sender's sent|received|errors */
	TGT_SA,             /* NODE sa SPI[/DST] FIGURE: one SA's counter or state */
};

struct scn_listener;
struct scn_tcplisten; /* sim/scn_tcp.c */
struct scn_tcpconn;
struct scn_tcp;
struct scn_pfsock; /* sim/scn_pfkey.c */
struct keymgr;     /* sim/keymgr.c */
struct iked;       /* ike/iked.c */

/* The numbers of a message's lifetimes a filter can name: soft, hard and
 * current, each allocations, bytes, addtime, usetime. */
enum { PFL_SOFT = 0, PFL_HARD = 4, PFL_CUR = 8, PFL_N = 12 };

/* Which received PF_KEY messages an expectation counts. */
struct scn_pffilter {
	int type, satype; /* -1: any */
	int expiry;       /* 0: any, else SADB_EXT_LIFETIME_SOFT or _HARD */
	bool has_spi, has_seq, has_src, has_dst, has_enc, has_auth, has_err;
	uint32_t spi, seq;
	struct ipaddr src, dst;
	uint8_t enc, auth, err;
	uint16_t lt_mask; /* bit i: lt[i] must match */
	uint64_t lt[PFL_N];
};
struct scn_pfsend;

struct scn_expect {
	const char *file;
	unsigned line;
	char *text; /* the statement as written, for reports */
	enum scn_target_kind kind;
	struct node *node;
	struct link *link;
	int stat; /* stat_id or link_stat */
	struct scn_listener *sock;
	bool bytes; /* socket: bytes rather than packets */
	struct scn_pfsend *pfsend;
	struct scn_sockopt *sockopt;
	struct scn_pfsock *pfsock;
	struct scn_pffilter pff;
	struct keymgr *km;
	struct iked *iked; /* TGT_IKE */
	struct scn_tcplisten *tcpl;
	struct scn_tcpconn *tcpc;
	const char *pfwhat; /* TGT_PF_RULE: which figure (stat: the rule) */
	const struct scn_app *app; /* TGT_APP (stat: which figure) */
	uint32_t sa_spi;           /* TGT_SA (stat: which figure) */
	struct ipaddr sa_dst;      /* ADDR_NONE: any destination */
	bool sa_absent;            /* TGT_SA: there was no such SA when checked */
	enum scn_op op;
	uint64_t value;
	bool timed; /* checked at `at`, not at the end */
	uint64_t at;
	bool delta;          /* `since T`: the rise from the value at T */
	uint64_t since, base; /* that time, and the value taken then */
	bool checked, held;
	uint64_t actual;
	bool nothing; /* there was no value yet: a pfkey message not sent */
	int tcase;    /* the testcase statement it falls under; -1: none */
};

/* A `testcase NAME` statement: the expectations after it, up to the next
 * one, make one test case of the report. */
struct scn_testcase {
	char *name;
	const char *file;
	unsigned line;
};

struct scn_app;  /* pings and UDP senders, sim/apps.c */
struct km_world; /* key managers, sim/keymgr.c */
struct iked_world; /* IKEv2 daemons, ike/iked.c */
struct scn_show; /* show statements, sim/scn_ipsec.c */

struct scenario {
	char *name;
	char *path;
	char *outdir;
	uint64_t seed;
	bool has_end;
	uint64_t end;
	struct sim *sim;
	FILE *out, *err, *trace;
	unsigned nerrors; /* reported by scn_error; past SCN_MAX_ERRORS not shown */
	struct node **pf_failed; /* nodes whose pf ruleset had errors: what names
				  * its rules is not checked against it */
	unsigned npf_failed;

	struct scn_stmt *stmts;
	unsigned nstmts;
	char **files; /* every file read, owned here */
	unsigned nfiles;

	struct scn_expect *expects;
	unsigned nexpects, expects_cap;
	struct scn_testcase *tcases; /* in file order */
	unsigned ntcases;
	struct scn_app **apps;
	unsigned napps;
	struct hmap app_names; /* the named ones (as NAME) */
	struct scn_listener **listeners;
	unsigned nlisteners;
	char **written; /* files the run writes, relative to the cwd */
	unsigned nwritten;
	struct scn_pfsock **pfsocks; /* PF_KEY sockets of listen and pfkey statements */
	unsigned npfsocks;
	struct scn_pfsend **pfsends; /* pfkey statements, for their replies */
	unsigned npfsends;
	struct scn_sockopt **sockopts; /* setsockopt actions, for their errnos */
	unsigned nsockopts;
	struct scn_bridges *bridges; /* the segments bridges join (scn_bridge.c) */
	struct scn_report *report;   /* the HTML report (report.c); NULL: none */
	const struct scn_stmt *report_stmt; /* the report statement, taken before the rest */
	bool report_taken;
	char *built_out; /* printed while the scenario was built, for the run */
	size_t built_len;
	char **espsa; /* the run's ESP SAs, as esp_sa lines, each once */
	unsigned nespsa;
	struct hmap espsa_seen; /* those lines, to find a second copy */
	struct scn_show **shows; /* show statements for the end of the run */
	unsigned nshows;
	struct km_world *keymgrs;         /* NULL: no keymgr statement */
	struct iked_world *ikeds;         /* IKEv2 daemons; NULL: no ikev2 statement */
	struct scn_tcp *tcp;              /* TCP listeners and connections; NULL: none */
	const struct scn_define *defines; /* -D, also seen by ipsec blocks */
	unsigned ndefines;
};

/* Load and build; NULL after printing file:line errors to opts->err. */
struct scenario *scenario_load(const char *path, const struct scn_options *opts);
/* Run to the end time (or until idle); returns the exit status: 0 when every
 * expectation held, 1 otherwise. */
typedef void (*scn_progress_fn)(uint64_t now, uint64_t end, bool has_end, void *arg);
int scenario_run(struct scenario *sc, scn_progress_fn progress, void *arg);
/* Write a JUnit XML report; path relative to the output directory. */
int scenario_write_junit(struct scenario *sc, const char *path);
/* A JUnit report for a file that did not load: one failed test case,
 * "load", carrying the errors; the suite named after the file. */
int scenario_write_junit_load_error(const char *scenario_path, const char *errors,
				    const char *path);
/* Print every node's non-zero counters, and every link's. */
void scenario_print_stats(struct scenario *sc, FILE *f);
void scenario_free(struct scenario *sc);

/* Report a file:line error for a statement (printf-style). */
void scn_error(struct scenario *sc, const struct scn_stmt *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Milliseconds with three decimals ("12.345"), as ping prints times; and
 * "min/avg/max" of a sum over n samples, each so. */
void scn_fmt_ms(uint64_t ns, char *buf, size_t cap);
void scn_fmt_min_avg_max(uint64_t min, uint64_t sum, uint64_t n, uint64_t max, char *buf,
			 size_t cap);

/* Value parsers shared by statements; 0 or -1. */
int scn_parse_time(const char *s, uint64_t *ns);
/* What a time, a percentage and a rate look like, with their ranges, for
 * error messages. */
#define SCN_TIME_FORM TIME_FORM
#define SCN_PERCENT_FORM "a percentage from 0% to 100% (such as 0.5%), to 7 decimals"
#define SCN_RATE_FORM                                                                      \
	"a rate with its unit, bit, kbit, Mbit or Gbit (such as 10Mbit or 1.5Gbit), from " \
	"1bit to 18446744Gbit"
#define SCN_COUNT_FORM "a whole number from 0 to 18446744073709551615"
#define SCN_ERRNO_FORM "an errno name (such as EEXIST) or number (0 to 255)"
/* "FILE:LINE: bad value 'WORD' for WHAT: FORM", or the range MIN to MAX. */
void scn_bad_value(struct scenario *sc, const struct scn_stmt *st, const char *word,
		   const char *what, const char *form);
void scn_bad_range(struct scenario *sc, const struct scn_stmt *st, const char *word,
		   const char *what, uint64_t min, uint64_t max);
int scn_parse_uint(const char *s, uint64_t max, uint64_t *v);
int scn_parse_percent(const char *s, uint32_t *ppb);
int scn_parse_rate(const char *s, uint64_t *bps);
/* Byte k of RFC 864's character generator stream. */
uint8_t scn_chargen_byte(uint64_t k);
/* `from ADDR` of a traffic action: one of the node's addresses, of the
 * destination's family; 0, or -1 after reporting. */
int scn_parse_from(struct scenario *sc, const struct scn_stmt *st, struct node *n, const char *word,
		   const struct ipaddr *dst, struct ipaddr *src);
/* ADDR:PORT, or [ADDR]:PORT for IPv6 (port 1 to 65535). */
int scn_parse_hostport(const char *s, struct ipaddr *a, uint16_t *port);

/* Reading (sim/scn_read.c): every statement of the file and its includes
 * into sc->stmts, -D definitions first.  0: read whole; 1: read to the
 * end, but some statements had errors (reported, left out); -1: reading
 * stopped (a NUL, a line too long, an unclosed block: reported). */
int scn_read(struct scenario *sc, const char *path, const struct scn_options *opts);
bool scn_is_ident(int c); /* a macro name's letters: alnum and _ */
/* Topology statements (sim/scn_topo.c). */
int scn_stmt_node(struct scenario *sc, const struct scn_stmt *st);
int scn_stmt_link(struct scenario *sc, const struct scn_stmt *st); /* and switch */
int scn_stmt_bridge(struct scenario *sc, const struct scn_stmt *st);

/* report.c: the HTML report of a run.  path is relative to the output
 * directory unless cwd; the window is [from, to] in virtual ns. */
struct scn_report *scn_report_new(struct scenario *sc, const char *path, bool cwd, uint64_t from,
				  uint64_t to);
void scn_report_window(struct scn_report *r, uint64_t from, uint64_t to);
void scn_report_sa(struct scenario *sc, const struct tdb *t);
int scn_report_write(struct scn_report *r);
/* After the statements: the report's nodes exist. */
void scn_report_check(struct scenario *sc);
void scn_report_free(struct scn_report *r);
int scn_stmt_report(struct scenario *sc, const struct scn_stmt *st);
/* Text for XML and HTML: < > & and " as entities. */
void scn_xml_text(FILE *f, const char *s);
void scn_bridges_free(struct scenario *sc);
int scn_stmt_impair(struct scenario *sc, const struct scn_stmt *st);
int scn_stmt_external(struct scenario *sc, const struct scn_stmt *st);
int scn_action_impair(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at);
int scn_stmt_route(struct scenario *sc, const struct scn_stmt *st);
int scn_stmt_capture(struct scenario *sc, const struct scn_stmt *st);
/* NODE NAME=VALUE (or NODE NAME VALUE) from tok[i]: the node, the sysctl
 * and its value; -1 after reporting. */
int scn_parse_sysctl(struct scenario *sc, const struct scn_stmt *st, unsigned i, struct node **n,
		     int *id, int64_t *value);

/* Statements implemented in sim/apps.c, sim/expect.c and sim/scn_ipsec.c. */
int scn_stmt_ipsec(struct scenario *sc, const struct scn_stmt *st);
int scn_stmt_show(struct scenario *sc, const struct scn_stmt *st, unsigned i, bool timed,
		  uint64_t at);
void scn_show_finish(struct scenario *sc);
/* A file's path in the run's output directory. */
void scn_out_path(struct scenario *sc, const char *name, char *out, size_t cap);
/* A file a statement names: relative to the file the statement is in. */
void scn_path_near(const struct scn_stmt *st, const char *name, char *out, size_t cap);
/* Record a file the run writes (for "wrote" lines and name clashes). */
void scn_add_written(struct scenario *sc, const char *path);
/* Collect the run's ESP SAs, and write them as Wireshark's esp_sa file. */
void scn_espsa_start(struct scenario *sc);
void scn_espsa_finish(struct scenario *sc);
/* Attacks on links (sim/scn_attack.c). */
int scn_stmt_drop(struct scenario *sc, const struct scn_stmt *st);
int scn_stmt_tamper(struct scenario *sc, const struct scn_stmt *st);
int scn_action_replay(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at);
int scn_action_inject(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at);
/* IKEv2 daemons (sim/scn_ike.c). */
int scn_stmt_ikev2(struct scenario *sc, const struct scn_stmt *st);
int scn_ike_stat(const char *word); /* "established" -> its index; -1 */
uint64_t scn_ike_value(const struct iked *d, int stat);
void scn_ike_finish(struct scenario *sc); /* the ikev2_decryption_table file */
/* The shape of ipsec, pf and ikev2: STATEMENT NODE [WORDS] { ... } or
 * STATEMENT NODE [WORDS] file FILE, the brace or `file` at st->tok[i]: the
 * node, and FILE's word (NULL for a block).  -1 after reporting the usage
 * or an unknown node. */
int scn_node_block(struct scenario *sc, const struct scn_stmt *st, unsigned i, const char *usage,
		   struct node **n, const char **file);
struct conf_define;
struct conf_options;
/* How to read an ipsec or ikev2 block (file NULL: the statement's body) or
 * file (named relative to the scenario; path gets it): the testbed
 * grammar, errors as FILE:LINE, the -D definitions and the scenario's
 * macros in *defs (to free after parsing).  -1 after an error (a file that
 * cannot be opened). */
int scn_conf_source(struct scenario *sc, const struct scn_stmt *st, const char *file,
		    char *path, size_t cap, struct conf_options *o, struct conf_define **defs);

/* The key manager (sim/scn_keymgr.c). */
int scn_stmt_keymgr(struct scenario *sc, const struct scn_stmt *st);
int scn_keymgr_stat(const char *word); /* "rekeys" -> its index; -1 */
uint64_t scn_keymgr_value(const struct keymgr *km, int stat);
int scn_stmt_pfkey(struct scenario *sc, const struct scn_stmt *st, unsigned i, bool timed,
		   uint64_t at);
int scn_stmt_listen_pfkey(struct scenario *sc, const struct scn_stmt *st);
struct scn_pfsend *scn_find_pfsend(struct scenario *sc, const char *label);
/* The reply's errno; false when the message has not been sent yet. */
bool scn_pfsend_errno(const struct scn_pfsend *p, uint64_t *v);

/* scn_seclevel.c: per-socket IPsec levels */
struct seclevel;
struct scn_sockopt;
struct scn_bridges;
struct scn_report;
/* One `auth|esp-trans|esp-network|ipcomp LEVEL` at tok[*i]: 1 and *i past
 * it, 0 when tok[*i] is another word, -1 on a bad level (reported). */
int scn_parse_seclevel(struct scenario *sc, const struct scn_stmt *st, unsigned *i,
		       struct seclevel *sl);
int scn_action_setsockopt(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at);
struct scn_sockopt *scn_find_sockopt(struct scenario *sc, const char *label);
bool scn_sockopt_errno(const struct scn_sockopt *o, uint64_t *v); /* false: not yet done */
void scn_seclevel_free(struct scenario *sc);
/* The sockets of listen statements (NULL: none on that port). */
struct udp_sock *scn_udp_listener(struct scenario *sc, struct node *n, uint16_t port);
struct tcp_listener *scn_tcp_listener(struct scenario *sc, struct node *n, uint16_t port);
struct scn_pfsock *scn_find_pfsock(struct scenario *sc, struct node *n, const char *name);
/* expect NODE sa SPI[/DST] FIGURE (sim/scn_ipsec.c): 0 when the words are
 * not that, 1 when read (*opi at the operator), -1 after an error. */
int scn_sa_target(struct scenario *sc, const struct scn_stmt *st, unsigned i, struct scn_expect *e,
		  unsigned *opi);
uint64_t scn_sa_value(struct scn_expect *e); /* notes whether the SA was there */
int scn_sa_parse_value(const struct scn_expect *e, const char *s, uint64_t *v);
bool scn_sa_is_state(const struct scn_expect *e); /* compared by name */
const char *scn_sa_actual(const struct scn_expect *e, char buf[48]);
#define SCN_SA_STATE_FORM "larval, mature or gone"
/* Whether the scenario opened a PF_KEY socket on the node. */
bool scn_pfkey_node_has_socket(const struct scenario *sc, const struct node *n);
/* After loading: a warning for each outbound require flow of a node that
 * has no SA to its peer and nothing that could add one later (a key
 * manager, a PF_KEY socket of the scenario). */
void scn_warn_flows_without_sa(struct scenario *sc);
/* Parse the filter words tok[from..to) of `expect NODE pfkey SOCK received`. */
int scn_parse_pffilter(struct scenario *sc, const struct scn_stmt *st, unsigned from, unsigned to,
		       struct scn_pffilter *f);
/* Messages received that match the filter. */
uint64_t scn_pfsock_count(const struct scn_pfsock *ps, const struct scn_pffilter *f);
int scn_pfkey_msg_type(const char *word); /* "add" -> SADB_ADD; -1 */
const char *scn_errno_name(int e);        /* "EEXIST"; NULL when unnamed */
int scn_parse_errno(const char *s, uint64_t *v);
/* What an expectation saw, for reports: a number, or an errno's name. */
const char *scn_expect_actual(const struct scn_expect *e, char buf[48]);
void scn_pfkey_free(struct scenario *sc);
/* Named pings and UDP senders (`as NAME`, sim/apps.c). */
const struct scn_app *scn_find_app(struct scenario *sc, const char *name);
/* 1 parsed, 0 not an app's name, -1 error. */
int scn_app_target(struct scenario *sc, const struct scn_stmt *st, unsigned i,
		   struct scn_expect *e, unsigned *opi);
uint64_t scn_app_value(const struct scn_expect *e);
/* A name a new ping, UDP sender or connection may not take: a node's, a
 * link's, another connection's or sender's. */
bool scn_name_taken(struct scenario *sc, const char *name);

/* pf (sim/scn_pf.c). */
int scn_stmt_pf(struct scenario *sc, const struct scn_stmt *st);
/* An expectation's target on pf: 1 parsed, 0 not a pf target, -1 error. */
int scn_pf_target(struct scenario *sc, const struct scn_stmt *st, unsigned i,
		  struct scn_expect *e, unsigned *opi);
uint64_t scn_pf_value(const struct scn_expect *e);
/* TCP (sim/scn_tcp.c). */
int scn_stmt_listen_tcp(struct scenario *sc, const struct scn_stmt *st);
int scn_action_tcp(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at);
/* An expectation's target on TCP: 1 parsed, 0 not a TCP target, -1 error. */
int scn_tcp_target(struct scenario *sc, const struct scn_stmt *st, unsigned i,
		   struct scn_expect *e, unsigned *opi);
int scn_tcp_parse_value(const struct scn_expect *e, const char *s, uint64_t *v);
const char *scn_tcp_value_form(const struct scn_expect *e); /* for its errors */
uint64_t scn_tcp_value(const struct scn_expect *e, uint64_t now);
const char *scn_tcp_actual(const struct scn_expect *e, char buf[48]);
void scn_tcp_finish(struct scenario *sc);
void scn_tcp_free(struct scenario *sc);
void scn_shows_free(struct scenario *sc);
int scn_action_advertise(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at);
int scn_action_ping(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at);
int scn_action_udp(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at);
int scn_action_raw(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t at);
int scn_stmt_listen(struct scenario *sc, const struct scn_stmt *st);
/* listen NODE PROTO PORT ...: the node and the port, or -1 (reported). */
int scn_listen_where(struct scenario *sc, const struct scn_stmt *st, struct node **n,
		     uint64_t *port);
struct scn_listener *scn_find_listener(struct scenario *sc, struct node *n, uint16_t port);
struct scn_listener *scn_find_raw_listener(struct scenario *sc, struct node *n, uint8_t proto);
uint64_t scn_listener_count(const struct scn_listener *l, bool bytes);
void scn_apps_finish(struct scenario *sc);
void scn_apps_free(struct scenario *sc);
int scn_stmt_expect(struct scenario *sc, const struct scn_stmt *st, unsigned i, bool timed,
		    uint64_t at);
void scn_expect_check(struct scn_expect *e, uint64_t now);
/* `since`: take the value the rise is counted from. */
void scn_expect_base(struct scn_expect *e, uint64_t now);

#endif
