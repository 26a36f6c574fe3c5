/*
 * Scenario statements for the scripted key manager (sim/keymgr.c):
 *   keymgr NODE [delay TIME] [retire TIME] [quiet]
 *   keymgr NODE sa PEER esp|ah [tunnel|transport] [enc ALG] [auth ALG] [esn]
 *          [enckey HEX] [authkey HEX] [spi N] [seq N]
 *          [lifetime soft|hard [bytes N] [time T] [usetime T]]...
 * and the numbers `expect NODE keymgr WHAT` reads.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../ipsec/pfkeyv2.h"
#include "../ipsec/show.h"
#include "../ipsec/xform.h"
#include "../stack/iface.h"
#include "../stack/ip6.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "keymgr.h"
#include "scenario.h"

static const char usage_sa[] =
    "usage: keymgr NODE sa PEER esp|ah [tunnel|transport] [enc ALG] [auth ALG] [esn] "
    "[enckey HEX] [authkey HEX] [spi N] [seq N] [lifetime soft|hard [bytes N] [time T] "
    "[usetime T]]... [srcid ID dstid ID] [per-flow] [start [TIME]]";

/* The lifetime's time in tok[i]: a bare number of seconds, or a time with
 * its unit, in whole seconds (PF_KEY counts in seconds). */
static int parse_seconds(struct scenario *sc, const struct scn_stmt *st, unsigned i, uint64_t *s)
{
	const char *w = st->tok[i], *unit = i + 1 < st->ntok ? st->tok[i + 1] : NULL;
	uint64_t ns;
	int rc = scn_parse_uint(w, UINT64_MAX / NS_PER_SEC, s);
	if (rc == 0 && !(unit && is_time_unit_word(unit)))
		return 0; /* a bare number is seconds, as in ipsec.conf */
	if (rc < 0 && scn_parse_time(w, &ns) == 0 && ns % NS_PER_SEC == 0) {
		*s = ns / NS_PER_SEC;
		return 0;
	}
	scn_error(sc, st,
		  "bad lifetime '%s%s%s': whole seconds, 0 to %llu, as a bare number or with its "
		  "unit, ns, us, ms, s, m or h, written right after the number (such as 3600, "
		  "90s or 10m; PF_KEY counts in seconds)",
		  w, rc == 0 ? " " : "", rc == 0 ? unit : "",
		  (unsigned long long)(UINT64_MAX / NS_PER_SEC));
	return -1;
}

/* lifetime soft|hard [bytes N] [time T] [usetime T], from tok[*i] on. */
static int parse_lifetime(struct scenario *sc, const struct scn_stmt *st, unsigned *i,
			  struct km_rule *r)
{
	if (*i >= st->ntok ||
	    (strcmp(st->tok[*i], "soft") != 0 && strcmp(st->tok[*i], "hard") != 0)) {
		scn_error(sc, st, "'lifetime' needs soft or hard");
		return -1;
	}
	struct km_lifetime *l = st->tok[*i][0] == 's' ? &r->soft : &r->hard;
	unsigned n = 0;
	for ((*i)++; *i + 1 < st->ntok; *i += 2, n++) {
		const char *w = st->tok[*i], *v = st->tok[*i + 1];
		if (strcmp(w, "bytes") == 0) {
			if (scn_parse_uint(v, UINT64_MAX, &l->bytes) < 0) {
				scn_bad_range(sc, st, v, "bytes", 0, UINT64_MAX);
				return -1;
			}
		} else if (strcmp(w, "time") == 0) {
			if (parse_seconds(sc, st, *i + 1, &l->addtime) < 0)
				return -1;
		} else if (strcmp(w, "usetime") == 0) {
			if (parse_seconds(sc, st, *i + 1, &l->usetime) < 0)
				return -1;
		} else {
			break;
		}
	}
	if (!n) {
		scn_error(sc, st, "'lifetime %s' needs bytes, time or usetime",
			  l == &r->soft ? "soft" : "hard");
		return -1;
	}
	return 0;
}

static int parse_key(struct scenario *sc, const struct scn_stmt *st, const char *w, uint8_t *out,
		     unsigned *len)
{
	if (w[0] == '0' && (w[1] == 'x' || w[1] == 'X'))
		w += 2;
	long n = hex_decode(w, out, 64);
	if (n <= 0) {
		scn_error(sc, st, "bad key: an even number of hex digits, at most 64 bytes");
		return -1;
	}
	*len = (unsigned)n;
	return 0;
}

/* The keys given must be the ones the algorithms take. */
static int check_keys(struct scenario *sc, const struct scn_stmt *st, struct km_rule *r)
{
	const struct enc_xform *e = r->satype == SADB_SATYPE_ESP ? xform_enc(r->enc) : NULL;
	const struct auth_xform *a = e && e->forced_auth ? NULL : xform_auth(r->auth);
	if (!r->enckeylen && !r->authkeylen)
		return 0;
	if (e && e->maxkey && r->enckeylen && !xform_enc_keylen_ok(r->enc, r->enckeylen)) {
		scn_error(sc, st, "enckey: %s takes %s, not %u", e->name, xform_enc_keysizes(r->enc),
			  r->enckeylen);
		return -1;
	}
	if (a && r->authkeylen && r->authkeylen != a->keysize) {
		scn_error(sc, st, "authkey: %s takes %u bytes, not %u", a->name, a->keysize,
			  r->authkeylen);
		return -1;
	}
	if ((e && e->maxkey && !r->enckeylen) || (a && !r->authkeylen) ||
	    (!(e && e->maxkey) && r->enckeylen) || (!a && r->authkeylen)) {
		scn_error(sc, st, "give every key the algorithms take, or none (random keys)");
		return -1;
	}
	r->fixed_keys = true;
	return 0;
}

/* The address a started pair goes to when the peer is named by node: its
 * first IPv4 address, else its first IPv6 address that is not link-local. */
static bool first_addr(const struct node *n, struct ipaddr *out)
{
	for (int v6 = 0; v6 < 2; v6++)
		for (unsigned i = 0; i < n->nifaces; i++)
			for (unsigned k = 0; k < n->ifaces[i]->naddrs; k++) {
				const struct ipaddr *a = &n->ifaces[i]->addrs[k].addr;
				if (a->af == (v6 ? ADDR_V6 : ADDR_V4) && !ip6_is_linklocal(a)) {
					*out = *a;
					return true;
				}
			}
	return false;
}

static int parse_rule(struct scenario *sc, const struct scn_stmt *st, struct keymgr *km)
{
	if (st->ntok < 5) {
		scn_error(sc, st, usage_sa);
		return -1;
	}
	struct km_rule r = {.enc = SADB_X_EALG_AES, .auth = SADB_X_AALG_SHA2_256};
	const char *peer = st->tok[3];
	r.peer_node = sim_find_node(sc->sim, peer);
	if (!r.peer_node && addr_parse(peer, &r.peer) < 0) {
		scn_error(sc, st, "unknown node or bad address '%s'", peer);
		return -1;
	}
	if (strcmp(st->tok[4], "esp") == 0) {
		r.satype = SADB_SATYPE_ESP;
	} else if (strcmp(st->tok[4], "ah") == 0) {
		r.satype = SADB_SATYPE_AH;
		r.enc = SADB_EALG_NONE;
	} else {
		scn_error(sc, st, "unknown protocol '%s' (esp or ah)", st->tok[4]);
		return -1;
	}
	int rc = 0;
	bool start = false;
	uint64_t start_at = 0;
	for (unsigned i = 5; i < st->ntok && !rc;) {
		const char *w = st->tok[i++];
		const char *v = i < st->ntok ? st->tok[i] : NULL;
		uint64_t u;
		int id;
		if (strcmp(w, "start") == 0) {
			/* key the pair without an ACQUIRE, at 0 or at the time given */
			start = true;
			if (v && isdigit((unsigned char)v[0])) {
				if (scn_parse_time(v, &start_at) < 0) {
					scn_bad_value(sc, st, v, "start", SCN_TIME_FORM);
					rc = -1;
				}
				i++;
			}
		} else if (strcmp(w, "tunnel") == 0 || strcmp(w, "transport") == 0) {
			r.transport = w[1] == 'r';
		} else if (strcmp(w, "esn") == 0) {
			r.esn = true;
		} else if (strcmp(w, "per-flow") == 0) {
			r.per_flow = true;
		} else if (strcmp(w, "lifetime") == 0) {
			rc = parse_lifetime(sc, st, &i, &r);
		} else if (!v) {
			scn_error(sc, st, "'%s' needs a value; %s", w, usage_sa);
			rc = -1;
		} else if (strcmp(w, "enc") == 0 && r.satype == SADB_SATYPE_ESP) {
			id = pfkey_name_id(PFN_ENC, v);
			if (id < 0 || !xform_enc((uint8_t)id)) {
				scn_error(sc, st, "unknown enc '%s'", v);
				rc = -1;
			}
			r.enc = (uint8_t)id;
			i++;
		} else if (strcmp(w, "auth") == 0) {
			id = pfkey_name_id(PFN_AUTH, v);
			if (id < 0 || !xform_auth((uint8_t)id) ||
			    (r.satype == SADB_SATYPE_AH && !xform_auth((uint8_t)id)->ah)) {
				scn_error(sc, st, "unknown auth '%s'", v);
				rc = -1;
			}
			r.auth = (uint8_t)id;
			i++;
		} else if (strcmp(w, "enckey") == 0 && r.satype == SADB_SATYPE_ESP) {
			rc = parse_key(sc, st, v, r.enckey, &r.enckeylen);
			i++;
		} else if (strcmp(w, "authkey") == 0) {
			rc = parse_key(sc, st, v, r.authkey, &r.authkeylen);
			i++;
		} else if (strcmp(w, "spi") == 0) {
			if (scn_parse_uint(v, UINT32_MAX, &u) < 0 || u < 0x100) {
				scn_error(sc, st, "bad spi '%s' (0x100 to 0xffffffff)", v);
				rc = -1;
			}
			r.spi = (uint32_t)u;
			i++;
		} else if (strcmp(w, "srcid") == 0 || strcmp(w, "dstid") == 0) {
			char *ident = w[0] == 's' ? r.srcid : r.dstid;
			if (strlen(v) >= sizeof(r.srcid)) {
				scn_error(sc, st, "%s '%s' is too long (at most %zu characters)", w,
					  v, sizeof(r.srcid) - 1);
				rc = -1;
			} else {
				memcpy(ident, v, strlen(v) + 1);
			}
			i++;
		} else if (strcmp(w, "seq") == 0) {
			if (scn_parse_uint(v, UINT64_MAX, &u) < 0 || u == 0) {
				scn_error(sc, st, "bad seq '%s' (1 or more)", v);
				rc = -1;
			}
			r.seq = u;
			i++;
		} else {
			scn_error(sc, st, "unknown word '%s'; %s", w, usage_sa);
			rc = -1;
		}
	}
	if (!rc && r.seq > UINT32_MAX && !r.esn) {
		scn_error(sc, st, "seq above 0xffffffff needs esn");
		rc = -1;
	}
	if (!rc && !r.srcid[0] != !r.dstid[0]) {
		scn_error(sc, st, "srcid and dstid go together: our identity and the peer's");
		rc = -1;
	}
	if (!rc && start && r.per_flow) {
		scn_error(sc, st,
			  "start keys one pair for the whole peer, and per-flow keys one for each "
			  "flow when it asks: not both");
		rc = -1;
	}
	if (!rc)
		rc = check_keys(sc, st, &r);
	struct ipaddr start_peer = r.peer;
	if (!rc && start && r.peer_node && !first_addr(r.peer_node, &start_peer)) {
		scn_error(sc, st, "start: %s has no address to key SAs with", r.peer_node->name);
		rc = -1;
	}
	if (!rc)
		km_add_rule(km, &r);
	if (!rc && start)
		km_start(km, &start_peer, r.satype, start_at);
	OPENSSL_cleanse(&r, sizeof(r));
	return rc;
}

int scn_stmt_keymgr(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok < 2) {
		scn_error(sc, st, "usage: keymgr NODE [delay TIME] [retire TIME] [quiet], or %s",
			  usage_sa + strlen("usage: "));
		return -1;
	}
	struct node *n = sim_find_node(sc->sim, st->tok[1]);
	if (!n) {
		scn_error(sc, st, "unknown node '%s'", st->tok[1]);
		return -1;
	}
	if (!sc->has_end) {
		/* it rekeys for ever: the run would never fall idle */
		scn_error(sc, st, "a scenario with a key manager needs an 'end TIME'");
		return -1;
	}
	if (!sc->keymgrs)
		sc->keymgrs = km_world_new(sc->sim);
	struct keymgr *km = km_get(sc->keymgrs, n);
	if (st->ntok >= 3 && strcmp(st->tok[2], "sa") == 0)
		return parse_rule(sc, st, km);
	for (unsigned i = 2; i < st->ntok; i++) {
		const char *w = st->tok[i];
		uint64_t ns;
		if (strcmp(w, "quiet") == 0) {
			km_set_quiet(km);
		} else if ((strcmp(w, "delay") == 0 || strcmp(w, "retire") == 0) &&
			   i + 1 < st->ntok) {
			if (scn_parse_time(st->tok[++i], &ns) < 0) {
				scn_bad_value(sc, st, st->tok[i], w, SCN_TIME_FORM);
				return -1;
			}
			if (w[0] == 'd')
				km_set_delay(km, ns);
			else
				km_set_retire(km, ns);
		} else {
			scn_error(sc, st, "usage: keymgr NODE [delay TIME] [retire TIME] [quiet]");
			return -1;
		}
	}
	return 0;
}

static const char *const stat_words[] = {"acquires", "negotiations", "rekeys", "deletes",
					 "failures"};

int scn_keymgr_stat(const char *word)
{
	for (size_t i = 0; i < ARRAY_LEN(stat_words); i++)
		if (strcmp(word, stat_words[i]) == 0)
			return (int)i;
	return -1;
}

uint64_t scn_keymgr_value(const struct keymgr *km, int stat)
{
	const struct km_stats *s = km_stats(km);
	const uint64_t v[] = {s->acquires, s->negotiations, s->rekeys, s->deletes, s->failures};
	return v[stat];
}
