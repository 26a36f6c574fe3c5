/*
 * Expectations: `expect TARGET OP VALUE`, checked at the end of the run or,
 * after `at TIME`, at that instant.
 *   TARGET  NODE COUNTER            a node counter (docs/counters.md)
 *           LINK COUNTER            link.sent, link.lost, ...
 *           NODE udp PORT packets   datagrams delivered to a listener
 *           NODE udp PORT bytes     payload bytes delivered to it
 *           NODE ipsec sas|flows    entries in the SAD or SPD
 *           NODE keymgr WHAT        a key manager's acquires, negotiations, ...
 *           NODE ike WHAT           an IKEv2 daemon's established, children, ...
 *           NODE pfkey SOCK received [TYPE [SATYPE]] [FILTER...]
 *                                   messages a listener received
 *           pfkey LABEL errno       the reply to a pfkey statement
 *           setsockopt LABEL errno  what a setsockopt action got
 *           NODE pf states          pf's states now
 *           NODE pf rule N WHAT     a rule's evaluations, packets, bytes, states
 */
#include <stdlib.h>
#include <string.h>

#include "../ike/iked.h"
#include "../ipsec/pfkey.h"
#include "../ipsec/show.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "keymgr.h"
#include "link.h"
#include "scenario.h"

static const char *const op_words[] = {"==", "!=", "<", "<=", ">", ">="};

static int parse_op(const char *w, enum scn_op *op)
{
	for (size_t i = 0; i < ARRAY_LEN(op_words); i++)
		if (strcmp(w, op_words[i]) == 0) {
			*op = (enum scn_op)i;
			return 0;
		}
	return -1;
}

/* NODE|LINK COUNTER, NODE udp PORT packets|bytes, NODE ipsec sas|flows */
static int parse_target(struct scenario *sc, const struct scn_stmt *st, unsigned i,
			struct scn_expect *e, unsigned *opi)
{
	unsigned n = st->ntok - i;
	bool socket = n == 6 && (strcmp(st->tok[i + 1], "udp") == 0 ||
				 strcmp(st->tok[i + 1], "raw") == 0);
	if (n != 4 && n != 5 && !socket) {
		scn_error(
		    sc, st,
		    "usage: expect NODE|LINK COUNTER OP VALUE [since TIME], "
		    "expect NODE udp|raw PORT|PROTO packets|bytes OP VALUE, "
		    "expect NODE ipsec sas|flows OP VALUE, "
		    "expect NODE keymgr acquires|negotiations|rekeys|deletes|failures OP VALUE, "
		    "expect NODE ike established|children|auth_failures|... OP VALUE, "
		    "expect NODE pfkey SOCKET received [TYPE [SATYPE]] [FILTER...] OP VALUE, or "
		    "expect pfkey LABEL errno OP VALUE");
		return -1;
	}
	const char *owner = st->tok[i];
	e->node = sim_find_node(sc->sim, owner);
	e->link = e->node ? NULL : sim_find_link(sc->sim, owner);
	if (!e->node && !e->link) {
		scn_error(sc, st, "unknown node or link '%s'", owner);
		return -1;
	}
	if (n == 5 && e->node && strcmp(st->tok[i + 1], "keymgr") == 0) {
		e->kind = TGT_KEYMGR;
		e->stat = scn_keymgr_stat(st->tok[i + 2]);
		if (e->stat < 0) {
			scn_error(sc, st,
				  "usage: expect NODE keymgr "
				  "acquires|negotiations|rekeys|deletes|failures OP VALUE");
			return -1;
		}
		e->km = sc->keymgrs ? km_find(sc->keymgrs, e->node) : NULL;
		if (!e->km) {
			scn_error(sc, st, "no 'keymgr %s' before this line", owner);
			return -1;
		}
		*opi = i + 3;
	} else if (n == 5 && e->node && strcmp(st->tok[i + 1], "ike") == 0) {
		e->kind = TGT_IKE;
		e->stat = scn_ike_stat(st->tok[i + 2]);
		if (e->stat < 0) {
			char names[1024] = "";
			for (int k = 0; iked_stat_name(k); k++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
					 "%s%s", k ? ", " : "", iked_stat_name(k));
			scn_error(sc, st,
				  "usage: expect NODE ike COUNTER OP VALUE; '%s' is none of %s",
				  st->tok[i + 2], names);
			return -1;
		}
		e->iked = sc->ikeds ? iked_find(sc->ikeds, e->node) : NULL;
		if (!e->iked) {
			scn_error(sc, st, "no 'ikev2 %s' block before this line", owner);
			return -1;
		}
		*opi = i + 3;
	} else if (n == 5) {
		if (!e->node || strcmp(st->tok[i + 1], "ipsec") != 0 ||
		    (strcmp(st->tok[i + 2], "sas") != 0 && strcmp(st->tok[i + 2], "flows") != 0)) {
			scn_error(sc, st, "usage: expect NODE ipsec sas|flows OP VALUE");
			return -1;
		}
		e->kind = strcmp(st->tok[i + 2], "sas") == 0 ? TGT_IPSEC_SAS : TGT_IPSEC_FLOWS;
		*opi = i + 3;
	} else if (n == 6) {
		/* a listener's count: NODE udp PORT or NODE raw PROTO */
		bool raw = strcmp(st->tok[i + 1], "raw") == 0;
		const char *what = raw ? "raw" : "udp";
		uint64_t num;
		if (!e->node || (!raw && strcmp(st->tok[i + 1], "udp") != 0) ||
		    scn_parse_uint(st->tok[i + 2], raw ? 255 : 65535, &num) < 0 ||
		    (strcmp(st->tok[i + 3], "packets") != 0 &&
		     strcmp(st->tok[i + 3], "bytes") != 0)) {
			scn_error(sc, st, "usage: expect NODE %s %s packets|bytes OP VALUE", what,
				  raw ? "PROTO" : "PORT");
			return -1;
		}
		e->kind = TGT_SOCKET;
		e->sock = raw ? scn_find_raw_listener(sc, e->node, (uint8_t)num)
			      : scn_find_listener(sc, e->node, (uint16_t)num);
		if (!e->sock) {
			scn_error(sc, st, "no 'listen %s %s %llu' before this line", owner, what,
				  (unsigned long long)num);
			return -1;
		}
		e->bytes = strcmp(st->tok[i + 3], "bytes") == 0;
		*opi = i + 4;
	} else if (e->node) {
		e->kind = TGT_NODE_STAT;
		e->stat = stat_lookup(st->tok[i + 1]);
		if (e->stat < 0 && link_stat_lookup(st->tok[i + 1]) >= 0) {
			scn_error(sc, st,
				  "'%s' is a link counter, and %s is a node: expect LINK %s OP VALUE",
				  st->tok[i + 1], owner, st->tok[i + 1]);
			return -1;
		}
		if (e->stat < 0) {
			scn_error(sc, st, "unknown counter '%s' (see docs/counters.md)",
				  st->tok[i + 1]);
			return -1;
		}
		*opi = i + 2;
	} else {
		e->kind = TGT_LINK_STAT;
		e->stat = link_stat_lookup(st->tok[i + 1]);
		if (e->stat < 0 && stat_lookup(st->tok[i + 1]) >= 0) {
			scn_error(sc, st,
				  "'%s' is a node counter, and %s is a link: expect NODE %s OP VALUE "
				  "(a link counts link.* only)",
				  st->tok[i + 1], owner, st->tok[i + 1]);
			return -1;
		}
		if (e->stat < 0) {
			scn_error(sc, st, "unknown link counter '%s' (a link counts link.*: see "
					  "docs/counters.md)",
				  st->tok[i + 1]);
			return -1;
		}
		*opi = i + 2;
	}
	return 0;
}

/* pfkey|setsockopt LABEL errno OP VALUE: what a labelled statement got */
static int parse_errno_target(struct scenario *sc, const struct scn_stmt *st, unsigned i,
			      struct scn_expect *e)
{
	const char *what = st->tok[i];
	if (st->ntok - i != 5 || strcmp(st->tok[i + 2], "errno") != 0) {
		scn_error(sc, st, "usage: expect %s LABEL errno OP VALUE", what);
		return -1;
	}
	const char *label = st->tok[i + 1];
	bool pfkey = strcmp(what, "pfkey") == 0;
	e->kind = pfkey ? TGT_PFKEY_ERRNO : TGT_SOCKOPT_ERRNO;
	if (pfkey)
		e->pfsend = scn_find_pfsend(sc, label);
	else
		e->sockopt = scn_find_sockopt(sc, label);
	if (pfkey ? !e->pfsend : !e->sockopt) {
		scn_error(sc, st, "no '%s ... as %s' before this line", what, label);
		return -1;
	}
	return 0;
}

/* NODE pfkey SOCKET received [TYPE [SATYPE]] [FILTER...] OP VALUE */
static int parse_pfkey_received(struct scenario *sc, const struct scn_stmt *st, unsigned i,
				struct scn_expect *e, unsigned *opi)
{
	unsigned n = st->ntok - i;
	if (n < 6 || strcmp(st->tok[i + 3], "received") != 0) {
		scn_error(sc, st,
			  "usage: expect NODE pfkey SOCKET received [TYPE [SATYPE]] [FILTER...] "
			  "OP VALUE");
		return -1;
	}
	e->kind = TGT_PFKEY_RECEIVED;
	e->node = sim_find_node(sc->sim, st->tok[i]);
	if (!e->node) {
		scn_error(sc, st, "unknown node '%s'", st->tok[i]);
		return -1;
	}
	e->pfsock = scn_find_pfsock(sc, e->node, st->tok[i + 2]);
	if (!e->pfsock) {
		scn_error(sc, st, "no 'listen %s pfkey %s' before this line", st->tok[i],
			  st->tok[i + 2]);
		return -1;
	}
	if (scn_parse_pffilter(sc, st, i + 4, st->ntok - 2, &e->pff) < 0)
		return -1;
	*opi = st->ntok - 2;
	return 0;
}

/* The targets that only rise, which `since` can take the difference of
 * (a pf rule's current states, or a count of SAs, can fall). */
static bool expect_counts(const struct scn_expect *e)
{
	switch (e->kind) {
	case TGT_NODE_STAT:
	case TGT_LINK_STAT:
	case TGT_SOCKET:
	case TGT_APP:
	case TGT_PFKEY_RECEIVED:
	case TGT_KEYMGR:
	case TGT_IKE: return true;
	case TGT_PF_RULE: return strcmp(e->pfwhat, "states") != 0;
	default: return false;
	}
}

int scn_stmt_expect(struct scenario *sc, const struct scn_stmt *st_in, unsigned i, bool timed,
		    uint64_t at)
{
	struct scn_expect e = {.file = st_in->file, .line = st_in->line, .timed = timed, .at = at};
	/* ... OP VALUE since TIME: the rise of a counter between two times;
	 * the target and its comparison are read without those two words */
	struct scn_stmt cut = *st_in;
	const struct scn_stmt *st = &cut;
	if (cut.ntok >= i + 4 && strcmp(cut.tok[cut.ntok - 2], "since") == 0) {
		const char *w = cut.tok[cut.ntok - 1];
		if (!timed) {
			scn_error(sc, st, "'since' needs 'at TIME expect ...': the rise up to then");
			return -1;
		}
		if (scn_parse_time(w, &e.since) < 0) {
			scn_bad_value(sc, st, w, "since", SCN_TIME_FORM);
			return -1;
		}
		if (e.since >= at) {
			scn_error(sc, st, "since %s is not before the at's time, %s: the rise is counted "
				  "from an earlier time up to the at's", w, st->tok[1]);
			return -1;
		}
		e.delta = true;
		cut.ntok -= 2;
	}
	unsigned n = st->ntok - i;
	unsigned opi;
	if (n >= 2 && (strcmp(st->tok[i], "pfkey") == 0 || strcmp(st->tok[i], "setsockopt") == 0)) {
		if (parse_errno_target(sc, st, i, &e) < 0)
			return -1;
		opi = i + 3;
	} else if (n >= 2 && strcmp(st->tok[i + 1], "pfkey") == 0) {
		if (parse_pfkey_received(sc, st, i, &e, &opi) < 0)
			return -1;
	} else {
		int t = n >= 4 ? scn_tcp_target(sc, st, i, &e, &opi) : 0;
		if (t == 0 && n >= 1)
			t = scn_app_target(sc, st, i, &e, &opi);
		if (t == 0)
			t = scn_pf_target(sc, st, i, &e, &opi);
		if (t == 0)
			t = scn_sa_target(sc, st, i, &e, &opi);
		if (t < 0 || (t == 0 && parse_target(sc, st, i, &e, &opi) < 0))
			return -1;
	}
	if (e.delta && !expect_counts(&e)) {
		scn_error(sc, st,
			  "'since' takes a counter: NODE COUNTER, LINK COUNTER, a listener's "
			  "packets or bytes, a named sender's count, a pf rule's evaluations, "
			  "packets or bytes, a pfkey listener's or a key manager's count");
		return -1;
	}
	if (opi + 2 != st->ntok) {
		scn_error(sc, st, "expect TARGET OP VALUE [since TIME]: '%s' after the value",
			  opi + 2 < st->ntok ? st->tok[opi + 2] : "?");
		return -1;
	}
	if (parse_op(st->tok[opi], &e.op) < 0) {
		scn_error(sc, st, "unknown comparison '%s' (== != < <= > >=)", st->tok[opi]);
		return -1;
	}
	bool is_errno = e.kind == TGT_PFKEY_ERRNO || e.kind == TGT_SOCKOPT_ERRNO;
	int rc = is_errno		   ? scn_parse_errno(st->tok[opi + 1], &e.value)
		 : e.kind == TGT_TCP_CONN  ? scn_tcp_parse_value(&e, st->tok[opi + 1], &e.value)
		 : e.kind == TGT_SA	   ? scn_sa_parse_value(&e, st->tok[opi + 1], &e.value)
					   : scn_parse_uint(st->tok[opi + 1], UINT64_MAX, &e.value);
	bool sa_state = e.kind == TGT_SA && scn_sa_is_state(&e);
	if (rc < 0) {
		scn_error(sc, st, "bad value '%s': %s", st->tok[opi + 1],
			  is_errno ? SCN_ERRNO_FORM
			  : sa_state		    ? SCN_SA_STATE_FORM
						    : scn_tcp_value_form(&e));
		return -1;
	}
	if (sa_state && e.op != OP_EQ && e.op != OP_NE) {
		scn_error(sc, st, "a state is compared with == or !=");
		return -1;
	}
	/* The text a report shows: the statement as written. */
	size_t len = 0;
	for (unsigned k = 0; k < st_in->ntok; k++)
		len += strlen(st_in->tok[k]) + 1;
	e.text = xmalloc(len + 1);
	e.text[0] = '\0';
	for (unsigned k = 0; k < st_in->ntok; k++) {
		if (k)
			strcat(e.text, " ");
		strcat(e.text, st_in->tok[k]);
	}
	e.tcase = (int)sc->ntcases - 1;
	if (sc->nexpects == sc->expects_cap) {
		sc->expects_cap = sc->expects_cap ? 2 * sc->expects_cap : 64;
		sc->expects = xrealloc(sc->expects, sc->expects_cap * sizeof(*sc->expects));
	}
	sc->expects[sc->nexpects++] = e;
	return 0;
}

static uint64_t expect_value(struct scn_expect *e, uint64_t now)
{
	uint64_t v = 0;
	switch (e->kind) {
	case TGT_NODE_STAT: v = e->node->stats[e->stat]; break;
	case TGT_LINK_STAT: v = e->link->stats[e->stat]; break;
	case TGT_SOCKET: v = scn_listener_count(e->sock, e->bytes); break;
	case TGT_IPSEC_SAS: v = e->node->ipsec ? e->node->ipsec->sad.count : 0; break;
	case TGT_IPSEC_FLOWS: v = e->node->ipsec ? e->node->ipsec->spd.count : 0; break;
	case TGT_PFKEY_ERRNO: e->nothing = !scn_pfsend_errno(e->pfsend, &v); break;
	case TGT_SOCKOPT_ERRNO: e->nothing = !scn_sockopt_errno(e->sockopt, &v); break;
	case TGT_PFKEY_RECEIVED: v = scn_pfsock_count(e->pfsock, &e->pff); break;
	case TGT_KEYMGR: v = scn_keymgr_value(e->km, e->stat); break;
	case TGT_IKE: v = scn_ike_value(e->iked, e->stat); break;
	case TGT_TCP_LISTENER:
	case TGT_TCP_CONN: v = scn_tcp_value(e, now); break;
	case TGT_PF_STATES:
	case TGT_PF_RULE: v = scn_pf_value(e); break;
	case TGT_APP: v = scn_app_value(e); break;
	case TGT_SA: v = scn_sa_value(e); break;
	}
	return v;
}

void scn_expect_base(struct scn_expect *e, uint64_t now)
{
	e->base = expect_value(e, now);
}

void scn_expect_check(struct scn_expect *e, uint64_t now)
{
	uint64_t v = expect_value(e, now);
	if (e->delta)
		v -= e->base; /* a counter: never below the value taken before */
	bool ok = false;
	switch (e->op) {
	case OP_EQ: ok = v == e->value; break;
	case OP_NE: ok = v != e->value; break;
	case OP_LT: ok = v < e->value; break;
	case OP_LE: ok = v <= e->value; break;
	case OP_GT: ok = v > e->value; break;
	case OP_GE: ok = v >= e->value; break;
	}
	e->checked = true;
	e->held = ok && !e->nothing;
	e->actual = v;
}

const char *scn_expect_actual(const struct scn_expect *e, char buf[48])
{
	if (e->nothing)
		return e->kind == TGT_SOCKOPT_ERRNO ? "nothing: the setsockopt was not done yet"
						     : "nothing: the message was not sent yet";
	if (e->kind == TGT_TCP_CONN)
		return scn_tcp_actual(e, buf);
	if (e->kind == TGT_SA)
		return scn_sa_actual(e, buf);
	if (e->kind == TGT_PFKEY_ERRNO || e->kind == TGT_SOCKOPT_ERRNO) {
		const char *name = scn_errno_name((int)e->actual);
		if (name && e->actual)
			snprintf(buf, 48, "%s (%llu)", name, (unsigned long long)e->actual);
		else
			snprintf(buf, 48, "%llu", (unsigned long long)e->actual);
		return buf;
	}
	snprintf(buf, 48, "%llu", (unsigned long long)e->actual);
	return buf;
}
