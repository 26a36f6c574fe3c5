/* pf's structures, private to pf/ (the rules, the state table, the
 * per-node instance). */
#ifndef PF_PF_VAR_H
#define PF_PF_VAR_H

#include <stdbool.h>
#include <stdint.h>

#include "../stack/addr.h"
#include "../stack/pkt.h"
#include "pf.h"

#define PF_IFNAMSIZ 16 /* IFNAMSIZ */

enum pf_action { PF_PASS = 0, PF_DROP = 1, PF_MATCH = 12 }; /* pfvar.h's numbers */

/* PFRES_*: why pf decided, for pflog and pfctl -si's counters. */
#define PF_REASONS(X)                                                                      \
	X(MATCH, "match")                                                                  \
	X(BADOFF, "bad-offset") X(FRAG, "fragment") X(SHORT, "short") X(NORM, "normalize") \
	    X(MEMORY, "memory") X(TS, "bad-timestamp") X(CONGEST, "congestion")            \
		X(IPOPTIONS, "ip-option") X(PROTCKSUM, "proto-cksum")                      \
		    X(BADSTATE, "state-mismatch") X(STATEINS, "state-insert")              \
			X(MAXSTATES, "state-limit") X(SRCLIMIT, "src-limit")               \
			    X(SYNPROXY, "synproxy") X(TRANSLATE, "translate")              \
				X(NOROUTE, "no-route")
enum pf_reason {
#define PFRES_ENUM(id, name) PFRES_##id,
	PF_REASONS(PFRES_ENUM)
#undef PFRES_ENUM
	    PFRES__COUNT
};
extern const char *const pf_reason_names[PFRES__COUNT];

/* pf.conf's timeouts (PFTM_*), in seconds. */
#define PF_TIMEOUTS(X)                                                                      \
	X(TCP_FIRST_PACKET, "tcp.first", 120)                                               \
	X(TCP_OPENING, "tcp.opening", 30) X(TCP_ESTABLISHED, "tcp.established", 86400)      \
	    X(TCP_CLOSING, "tcp.closing", 900) X(TCP_FIN_WAIT, "tcp.finwait", 45)           \
		X(TCP_CLOSED, "tcp.closed", 90) X(UDP_FIRST_PACKET, "udp.first", 60)        \
		    X(UDP_SINGLE, "udp.single", 30) X(UDP_MULTIPLE, "udp.multiple", 60)     \
			X(ICMP_FIRST_PACKET, "icmp.first", 20)                              \
			    X(ICMP_ERROR_REPLY, "icmp.error", 10)                           \
				X(OTHER_FIRST_PACKET, "other.first", 60)                    \
				    X(OTHER_SINGLE, "other.single", 30)                     \
					X(OTHER_MULTIPLE, "other.multiple", 60)             \
					    X(FRAG, "frag", 60) X(INTERVAL, "interval", 10) \
						X(ADAPTIVE_START, "adaptive.start", 0)      \
						    X(ADAPTIVE_END, "adaptive.end", 0)
enum pf_timeout {
#define PFTM_ENUM(id, name, def) PFTM_##id,
	PF_TIMEOUTS(PFTM_ENUM)
#undef PFTM_ENUM
	    PFTM__COUNT
};

#define PF_STATES_HIWAT  100000 /* PFSTATE_HIWAT: set limit states */
#define PF_NAT_PORT_LOW  50001  /* PF_NAT_PROXY_PORT_LOW */
#define PF_NAT_PORT_HIGH 65535

/* An address in a rule: any, a network, a table, or the node's own. */
enum pf_addr_kind { PF_ADDR_ANY, PF_ADDR_NET, PF_ADDR_TABLE, PF_ADDR_SELF };
struct pf_rule_addr {
	uint8_t kind;
	bool neg;
	struct ipaddr a;
	uint8_t plen;
	int table; /* index into pf->tables */
};

/* A port operator (pf.conf's =, !=, <, <=, >, >=, a:b, a><b, a<>b). */
enum pf_port_op {
	PF_OP_NONE,
	PF_OP_EQ,
	PF_OP_NE,
	PF_OP_LT,
	PF_OP_LE,
	PF_OP_GT,
	PF_OP_GE,
	PF_OP_RRG,
	PF_OP_IRG,
	PF_OP_XRG
};
struct pf_port {
	uint8_t op;
	uint16_t a, b;
};

/* A translation: the address (a host or a network) and ports. */
struct pf_pool {
	bool set;
	struct ipaddr a;
	uint8_t plen;
	bool bitmask;         /* keep the host part (binat-to, bitmask) */
	bool static_port;     /* nat-to: keep the port */
	uint16_t plow, phigh; /* nat-to: the source ports to use; rdr-to: the
			       * port (range) to redirect to; 0: unchanged */
};

struct pf_rule {
	unsigned nr;
	uint8_t action; /* PF_PASS, PF_DROP, PF_MATCH */
	uint8_t dir;    /* PF_INOUT, PF_IN, PF_OUT */
	bool log, log_all, quick, keep_state, ret;
	char ifname[PF_IFNAMSIZ]; /* "" any */
	bool ifneg;
	uint8_t af; /* ADDR_NONE any */
	int proto;  /* -1 any */
	struct pf_rule_addr src, dst;
	struct pf_port sport, dport;
	uint8_t flags, flagset;   /* TCP: (flags & flagset) == flags */
	int icmp_type, icmp_code; /* -1 any */
	struct pf_pool nat, rdr;
	/* counters, pfctl -vsr's */
	uint64_t evaluations, packets[2], bytes[2], states_cur, states_tot;
	char *text; /* as pfctl -sr prints it */
	const char *file;
	unsigned line;
};

struct pf_table {
	char *name;
	struct {
		struct ipaddr a;
		uint8_t plen;
	} * ent;
	unsigned nent;
};

/* A state key (struct pf_state_key_cmp): index 0 is the side away from
 * us on the hook where the state was made, so both directions of a flow
 * build the same key (see pf_key_of). */
struct pf_skey {
	uint8_t af, proto;
	uint16_t port[2];
	struct ipaddr addr[2];
};
enum { PF_SK_WIRE = 0, PF_SK_STACK = 1 };

struct pf_state;
/* One key's place in a hash chain: a state sits in one chain per distinct
 * key (one when it does not translate). */
struct pf_kent {
	struct pf_state *s;
	uint8_t idx;
	struct pf_kent *next;
};

/* Each peer's progress: TCP's states (tcp_fsm.h numbers) or UDP's and
 * other protocols' NO_TRAFFIC 0, SINGLE 1, MULTIPLE 2. */
struct pf_peer {
	uint8_t state;
};
#define PF_TCPS_CLOSED      0
#define PF_TCPS_SYN_SENT    2
#define PF_TCPS_ESTABLISHED 4
#define PF_TCPS_CLOSING     7
#define PF_TCPS_FIN_WAIT_2  9
#define PF_TCPS_TIME_WAIT   10
#define PF_PEER_NO_TRAFFIC  0
#define PF_PEER_SINGLE      1
#define PF_PEER_MULTIPLE    2

struct pf_state {
	struct pf_skey key[2];
	struct pf_kent ent[2];
	struct pf_rule *rule;     /* the pass rule that made it */
	struct pf_rule *nat_rule; /* the rule whose translation it keeps, or NULL */
	uint8_t direction;        /* PF_IN or PF_OUT, where it was made */
	char ifname[PF_IFNAMSIZ]; /* where it was made (states float) */
	struct pf_peer src, dst;  /* src: the side that sent the first packet */
	uint8_t timeout;          /* PFTM_* */
	bool log;
	uint64_t creation, last;       /* virtual ns */
	uint64_t packets[2], bytes[2]; /* [0] from src, [1] from dst */
	uint64_t id;
	struct pf_state *prev, *next; /* every state, oldest first */
};

/* The per-node instance: the ruleset, the tables, the states. */
struct pf {
	struct pf_rule *rules;
	unsigned nrules;
	struct pf_table *tables;
	unsigned ntables;
	char skip[8][PF_IFNAMSIZ]; /* set skip on */
	unsigned nskip;
	uint32_t timeouts[PFTM__COUNT];
	uint32_t limit_states;

	struct pf_kent **buckets;
	size_t nbuckets;
	struct pf_state *head, *tail;
	uint64_t nstates, next_id;
	uint64_t purged_at; /* virtual ns of the last walk for expired states */

	bool generating; /* sending a block return: pf lets it by */
};

/* The parsed view of a packet pf works on (struct pf_pdesc). */
struct pf_pdesc {
	uint8_t af;
	uint8_t proto; /* the upper layer, behind IPv6's extension headers */
	size_t off;    /* where the upper-layer header starts */
	size_t tot_len;
	bool fragment; /* not the first fragment: no ports */
	struct ipaddr src, dst;
	uint16_t sport, dport; /* TCP, UDP; ICMP: the virtual ports */
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id;
	bool icmp_query, icmp_reply, icmp_error;
	uint8_t dir;
	const char *ifname;
	bool rewritten; /* translated before it was logged */
};

/* pf_parse.c: a ruleset from pf.conf text; *errors counts what was
 * reported (the ruleset is unusable then). */
struct pf *pf_parse(struct node *n, const struct pf_conf_options *o, unsigned *errors);
const char *pf_proto_name(int proto); /* "tcp"; NULL for a number */

/* pf.c */
void pf_state_remove(struct node *n, struct pf *pf, struct pf_state *s);
/* pf_nat.c */
/* Apply a rule's translation to the packet's view: pd's source (nat-to)
 * or destination (rdr-to) address and port become the new ones; -1 when
 * no port is free (or, without ports, the mapping is taken). */
int pf_get_transaddr(struct node *n, struct pf *pf, const struct pf_rule *r, struct pf_pdesc *pd);
/* Rewrite the packet's addresses and ports (and checksums) to src/dst. */
void pf_translate(struct pkt *p, const struct pf_pdesc *pd, const struct ipaddr *src,
		  uint16_t sport, const struct ipaddr *dst, uint16_t dport);
/* Rewrite an ICMP error whose quoted packet belongs to a translated state. */
void pf_translate_icmp(struct pkt *p, const struct pf_pdesc *pd, size_t qoff, size_t qtoff,
		       uint8_t qproto, const struct ipaddr *qsrc, uint16_t qsport,
		       const struct ipaddr *qdst, uint16_t qdport, const struct ipaddr *outer,
		       bool outer_is_dst);
struct pf_state *pf_find_key(struct pf *pf, const struct pf_skey *k, int idx);
void pf_send_return(struct node *n, struct pf *pf, const struct pkt *p, const struct pf_pdesc *pd);
/* pflog.c */
void pflog_packet(struct node *n, const struct pf_pdesc *pd, const struct pf_rule *r,
		  uint8_t action, uint8_t reason, const struct pkt *p);

#endif
