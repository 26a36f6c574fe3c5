/*
 * The scripted key manager (docs/keymgr.md).  Everything it does to a
 * kernel goes through that node's PF_KEY socket, as isakmpd or iked would:
 * GETSPI for each inbound SA, UPDATE to make it usable, ADD for each
 * outbound one, DELETE to tear down.  What IKE would carry in packets, the
 * two key managers of a pair exchange by calling each other.
 *
 * A pair is the two SAs between two ends for one protocol, each held by
 * both kernels: the SA towards the initiator and the SA towards the
 * responder.  The registry of pairs is the simulation's, so that either
 * end can find a pair by one of its SAs.
 *
 * The socket's callback only reads: a kernel message (ACQUIRE, EXPIRE, a
 * DELETE or FLUSH by someone else) becomes an event `delay` later, and the
 * event writes.  Replies to the key manager's own messages carry its pid.
 */
#include "keymgr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../ipsec/pfkey.h"
#include "../ipsec/pfkey_msg.h"
#include "../ipsec/show.h"
#include "../ipsec/spd.h"
#include "../ipsec/xform.h"
#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "rng.h"
#include "sim.h"

#define KM_REPLAY_WINDOW 64 /* what iked asks for */
#define KM_SPI_MIN       0x100u

struct km_row {
	struct km_rule r;
	uint32_t next_spi; /* 0: the kernel picks */
};

/* A flow as the initiator sends it (direction out), what a per-flow pair
 * carries; the SAs towards the initiator carry its mirror. */
struct km_flow {
	struct spd_sel sel;
	struct spd_mask mask;
	uint8_t type;
};

struct km_pair {
	uint64_t id;
	struct keymgr *ini, *rsp;
	uint8_t satype;
	struct ipaddr ini_addr, rsp_addr;
	uint32_t spi_to_rsp, spi_to_ini;
	bool replaced; /* a newer pair carries the traffic */
	bool has_flow;
	struct km_flow flow;
};

struct keymgr {
	struct km_world *w;
	struct node *n;
	struct pfkey_sock *s;
	uint64_t delay, retire;
	bool retire_set;
	bool quiet;
	struct km_row *rows;
	unsigned nrows;
	struct rng rng;
	uint32_t seq;
	uint32_t reply_spi; /* from the reply to our last GETSPI */
	bool reply_flow_ok; /* the reply to our last ASKPOLICY, and its flow */
	struct km_flow reply_flow;
	struct km_stats st;
};

struct km_world {
	struct sim *sim;
	struct keymgr **kms;
	unsigned nkms;
	struct km_pair **pairs; /* in the order they were keyed */
	unsigned npairs;
	uint64_t next_id;
};

enum km_ev_kind { EV_ACQUIRE, EV_SOFT, EV_HARD, EV_DELETE, EV_FLUSH, EV_RETIRE, EV_START };

struct km_ev {
	struct keymgr *km;
	enum km_ev_kind kind;
	uint8_t satype;
	bool has_src;
	struct ipaddr src, dst;
	uint32_t spi;
	uint32_t seq; /* an ACQUIRE's, for ASKPOLICY */
	uint64_t pair_id;
};

static void on_event(struct sim *s, void *arg);

static const char *satype_name(uint8_t satype)
{
	return pfkey_name(PFN_SATYPE, satype);
}

static void say(struct keymgr *km, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct keymgr *km, const char *fmt, ...)
{
	char line[512], t[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	node_trace(km->n, "keymgr: %s", line);
	if (km->w->sim->out && !km->quiet)
		fprintf(km->w->sim->out, "%s %s: keymgr: %s\n", sim_fmt_time(km->w->sim->now, t),
			km->n->name, line);
}

/* ---- talking to a kernel ---- */

static int send_msg(struct keymgr *km, struct pfkey_buf *pb)
{
	size_t len = pfkb_finish(pb);
	int rc = len ? pfkey_write(km->s, pb->b, len) : -EMSGSIZE;
	OPENSSL_cleanse(pb->b, sizeof(pb->b)); /* it may hold keys */
	return rc;
}

/* An inbound SPI from src to dst: exactly `want`, or the kernel's choice
 * when want is 0.  0 when the kernel refused. */
static uint32_t getspi(struct keymgr *km, uint8_t satype, const struct ipaddr *src,
		       const struct ipaddr *dst, uint32_t want)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_GETSPI, satype, ++km->seq, km->s->pid);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	pfkb_spirange(&pb, want ? want : KM_SPI_MIN, want ? want : UINT32_MAX);
	km->reply_spi = 0;
	if (send_msg(km, &pb) < 0)
		return 0;
	return km->reply_spi;
}

struct km_keys {
	uint8_t enc[64], auth[64];
	unsigned enclen, authlen;
};

static void make_keys(struct keymgr *km, const struct km_rule *r, struct km_keys *k)
{
	memset(k, 0, sizeof(*k));
	const struct enc_xform *e = r->satype == SADB_SATYPE_ESP ? xform_enc(r->enc) : NULL;
	const struct auth_xform *a = xform_auth(r->auth);
	if (e && e->forced_auth)
		a = NULL; /* the AEAD's key authenticates */
	k->enclen = e ? (r->fixed_keys ? r->enckeylen : km_default_enckeylen(r->enc)) : 0;
	k->authlen = a ? a->keysize : 0;
	if (r->fixed_keys) {
		memcpy(k->enc, r->enckey, k->enclen);
		memcpy(k->auth, r->authkey, k->authlen);
	} else {
		rng_bytes(&km->rng, k->enc, k->enclen);
		rng_bytes(&km->rng, k->auth, k->authlen);
	}
}

static void put_lifetime(struct pfkey_buf *pb, uint16_t ext, const struct km_lifetime *l)
{
	if (l->bytes || l->addtime || l->usetime)
		pfkb_lifetime(pb, ext, 0, l->bytes, l->addtime, l->usetime);
}

/* The flow with its two ends swapped: what the SAs towards the initiator
 * carry, and what the responder's own flows are. */
static struct km_flow flow_mirror(const struct km_flow *f)
{
	struct km_flow r = *f;
	r.sel.src = f->sel.dst;
	r.sel.dst = f->sel.src;
	r.sel.sport = f->sel.dport;
	r.sel.dport = f->sel.sport;
	r.mask.src_plen = f->mask.dst_plen;
	r.mask.dst_plen = f->mask.src_plen;
	r.mask.sport = f->mask.dport;
	r.mask.dport = f->mask.sport;
	return r;
}

/* "10.1.1.0/24 -> 10.2.1.0/24 port 53 proto 17": for the log. */
static void flow_fmt(const struct km_flow *f, char *buf, size_t cap)
{
	char s[ADDR_STRLEN], d[ADDR_STRLEN], proto[16] = "", sp[16] = "", dp[16] = "";
	addr_fmt(&f->sel.src, s);
	addr_fmt(&f->sel.dst, d);
	if (f->mask.proto)
		snprintf(proto, sizeof(proto), " proto %u", f->sel.proto);
	if (f->mask.sport)
		snprintf(sp, sizeof(sp), " port %u", f->sel.sport);
	if (f->mask.dport)
		snprintf(dp, sizeof(dp), " port %u", f->sel.dport);
	snprintf(buf, cap, "%s/%u%s -> %s/%u%s%s", s, f->mask.src_plen, sp, d, f->mask.dst_plen, dp,
		 proto);
}

static bool flow_eq(const struct km_flow *a, const struct km_flow *b)
{
	const struct spd_sel *x = &a->sel, *y = &b->sel;
	const struct spd_mask *m = &a->mask, *n = &b->mask;
	return addr_eq(&x->src, &y->src) && addr_eq(&x->dst, &y->dst) && x->proto == y->proto &&
	       x->sport == y->sport && x->dport == y->dport && m->src_plen == n->src_plen &&
	       m->dst_plen == n->dst_plen && m->proto == n->proto && m->sport == n->sport &&
	       m->dport == n->dport;
}

/* UPDATE (an inbound larval SA) or ADD (an outbound one) with the
 * negotiated parameters p, the keys k and this end's lifetimes and
 * identities; flow (NULL: none) is the SA's filter, by the SA's own
 * direction: from the initiator, the pair's flow; towards it, the mirror. */
static int install(struct keymgr *km, uint8_t type, uint32_t spi, const struct ipaddr *src,
		   const struct ipaddr *dst, const struct km_rule *p, const struct km_keys *k,
		   const struct km_rule *mine, const struct km_flow *flow)
{
	uint32_t flags =
	    (p->transport ? 0 : SADB_X_SAFLAGS_TUNNEL) | (p->esn ? SADB_X_SAFLAGS_ESN : 0);
	bool aead =
	    p->satype == SADB_SATYPE_ESP && xform_enc(p->enc) && xform_enc(p->enc)->forced_auth;
	struct pfkey_buf pb;
	pfkb_init(&pb, type, p->satype, ++km->seq, km->s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, KM_REPLAY_WINDOW, SADB_SASTATE_MATURE,
		aead ? SADB_AALG_NONE : p->auth, p->satype == SADB_SATYPE_ESP ? p->enc : 0, flags);
	put_lifetime(&pb, SADB_EXT_LIFETIME_HARD, &mine->hard);
	put_lifetime(&pb, SADB_EXT_LIFETIME_SOFT, &mine->soft);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	if (k->authlen)
		pfkb_key(&pb, SADB_EXT_KEY_AUTH, k->auth, k->authlen * 8);
	if (k->enclen)
		pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, k->enc, k->enclen * 8);
	if (mine->srcid[0] && mine->dstid[0]) {
		bool add = type == SADB_ADD;
		const char *sid = add ? mine->srcid : mine->dstid;
		const char *did = add ? mine->dstid : mine->srcid;
		pfkb_ident(&pb, SADB_EXT_IDENTITY_SRC, pfkey_ident_type(sid), sid);
		pfkb_ident(&pb, SADB_EXT_IDENTITY_DST, pfkey_ident_type(did), did);
	}
	if (flow) {
		struct spd_sel sel = flow->sel;
		sel.dir = type == SADB_ADD ? IPSP_DIRECTION_OUT : IPSP_DIRECTION_IN;
		pfkey_export_flow(&pb, &sel, &flow->mask, flow->type);
	}
	if (p->seq > 1) /* outbound: the next to send; inbound: the last seen */
		pfkb_replay(&pb, type == SADB_ADD ? p->seq : p->seq - 1);
	return send_msg(km, &pb);
}

static void delete_sa(struct keymgr *km, uint8_t satype, uint32_t spi, const struct ipaddr *dst)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_DELETE, satype, ++km->seq, km->s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	(void)send_msg(km, &pb); /* ESRCH: the kernel deleted it already */
}

/* ---- the table and the pairs ---- */

static bool is_peer(const struct km_rule *r, const struct ipaddr *a)
{
	return r->peer_node ? node_owns_addr(r->peer_node, a) != NULL : addr_eq(&r->peer, a);
}

static struct km_row *find_row(struct keymgr *km, const struct ipaddr *peer, uint8_t satype)
{
	for (unsigned i = 0; i < km->nrows; i++)
		if (km->rows[i].r.satype == satype && is_peer(&km->rows[i].r, peer))
			return &km->rows[i];
	return NULL;
}

static struct keymgr *km_at(const struct km_world *w, const struct ipaddr *a)
{
	for (unsigned i = 0; i < w->nkms; i++)
		if (node_owns_addr(w->kms[i]->n, a))
			return w->kms[i];
	return NULL;
}

/* The pair of km's node that holds SA (dst, spi). */
static struct km_pair *find_pair(const struct km_world *w, const struct keymgr *km, uint8_t satype,
				 const struct ipaddr *dst, uint32_t spi)
{
	for (unsigned i = 0; i < w->npairs; i++) {
		struct km_pair *p = w->pairs[i];
		if ((p->ini != km && p->rsp != km) || p->satype != satype)
			continue;
		if ((spi == p->spi_to_rsp && addr_eq(dst, &p->rsp_addr)) ||
		    (spi == p->spi_to_ini && addr_eq(dst, &p->ini_addr)))
			return p;
	}
	return NULL;
}

/* The live pair of km with peer, for the flow as km sends it (NULL: a
 * pair for the whole peer). */
static struct km_pair *find_live_pair(const struct km_world *w, const struct keymgr *km,
				      uint8_t satype, const struct ipaddr *peer,
				      const struct km_flow *flow)
{
	for (unsigned i = 0; i < w->npairs; i++) {
		struct km_pair *p = w->pairs[i];
		if (p->satype != satype || p->replaced || p->has_flow != (flow != NULL))
			continue;
		bool ini = p->ini == km && addr_eq(&p->rsp_addr, peer);
		bool rsp = p->rsp == km && addr_eq(&p->ini_addr, peer);
		if (!ini && !rsp)
			continue;
		if (flow) {
			struct km_flow mine = ini ? p->flow : flow_mirror(&p->flow);
			if (!flow_eq(&mine, flow))
				continue;
		}
		return p;
	}
	return NULL;
}

/* km's own address in the pair, and its peer's. */
static void ends(const struct km_pair *p, const struct keymgr *km, struct ipaddr *local,
		 struct ipaddr *peer)
{
	bool ini = p->ini == km;
	*local = ini ? p->ini_addr : p->rsp_addr;
	*peer = ini ? p->rsp_addr : p->ini_addr;
}

/* The pair's flow as km sends it (NULL: the pair is for the whole peer). */
static const struct km_flow *pair_flow(const struct km_pair *p, const struct keymgr *km,
				       struct km_flow *buf)
{
	if (!p->has_flow)
		return NULL;
	*buf = p->ini == km ? p->flow : flow_mirror(&p->flow);
	return buf;
}

static void forget_pair(struct km_world *w, struct km_pair *p)
{
	for (unsigned i = 0; i < w->npairs; i++)
		if (w->pairs[i] == p) {
			memmove(&w->pairs[i], &w->pairs[i + 1],
				(w->npairs - i - 1) * sizeof(*w->pairs));
			w->npairs--;
			break;
		}
	free(p);
}

/* Both SAs off both ends (RFC 7296 1.4.1: a pair goes together). */
static void delete_pair(struct keymgr *km, struct km_pair *p, const char *why)
{
	char a[ADDR_STRLEN];
	struct ipaddr local, peer;
	ends(p, km, &local, &peer);
	say(km, "%s: deleting %s SAs 0x%08x and 0x%08x with %s", why, satype_name(p->satype),
	    p->spi_to_rsp, p->spi_to_ini, addr_fmt(&peer, a));
	struct keymgr *both[2] = {p->ini, p->rsp};
	for (unsigned i = 0; i < 2; i++) {
		delete_sa(both[i], p->satype, p->spi_to_rsp, &p->rsp_addr);
		delete_sa(both[i], p->satype, p->spi_to_ini, &p->ini_addr);
		both[i]->st.deletes++;
	}
	forget_pair(km->w, p);
}

static bool fail(struct keymgr *km, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct keymgr *km, const char *fmt, ...)
{
	char line[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	say(km, "failed: %s", line);
	km->st.failures++;
	return false;
}

/* What both rows must say alike for the ends to agree (IKE's proposal). */
static bool rows_agree(const struct km_rule *x, const struct km_rule *y)
{
	bool aead =
	    x->satype == SADB_SATYPE_ESP && xform_enc(x->enc) && xform_enc(x->enc)->forced_auth;
	return x->transport == y->transport && x->esn == y->esn && x->per_flow == y->per_flow &&
	       (x->satype != SADB_SATYPE_ESP || x->enc == y->enc) && (aead || x->auth == y->auth);
}

/* Each end's identities are the other's the other way round (IKE_AUTH's
 * IDi and IDr); none on both is fine too. */
static bool ids_agree(const struct km_rule *x, const struct km_rule *y)
{
	return strcmp(x->srcid, y->dstid) == 0 && strcmp(x->dstid, y->srcid) == 0;
}

/* Key a new pair from km (at local) to peer, for flow as km sends it
 * (NULL: the whole peer); old: the pair it replaces. */
static bool negotiate(struct keymgr *km, const struct ipaddr *local, const struct ipaddr *peer,
		      uint8_t satype, const struct km_flow *flow, struct km_pair *old)
{
	struct km_world *w = km->w;
	char pa[ADDR_STRLEN], la[ADDR_STRLEN];
	addr_fmt(peer, pa);
	addr_fmt(local, la);
	const char *sat = satype_name(satype);
	struct km_row *row = find_row(km, peer, satype);
	if (!row)
		return fail(km, "no %s rule for %s", sat, pa);
	struct keymgr *pk = km_at(w, peer);
	if (!pk)
		return fail(km, "no key manager at %s", pa);
	struct km_row *prow = find_row(pk, local, satype);
	if (!prow)
		return fail(km, "%s has no %s rule for %s", pk->n->name, sat, la);
	if (!rows_agree(&row->r, &prow->r))
		return fail(km, "%s's %s rule for %s differs: no proposal chosen", pk->n->name, sat,
			    la);
	if (!ids_agree(&row->r, &prow->r))
		return fail(km,
			    "%s's identities for %s are not ours the other way round: "
			    "authentication failed",
			    pk->n->name, la);
	if (row->r.per_flow && !flow)
		return fail(km, "the %s rule for %s keys a pair per flow, and no flow asked", sat,
			    pa);
	const struct km_rule *p = &row->r; /* the initiator's proposal wins */

	uint32_t spi_in = getspi(km, satype, peer, local, row->next_spi);
	uint32_t spi_out = spi_in ? getspi(pk, satype, local, peer, prow->next_spi) : 0;
	if (!spi_in || !spi_out) {
		if (spi_in)
			delete_sa(km, satype, spi_in, local);
		return fail(km, "GETSPI refused on %s", spi_in ? pk->n->name : km->n->name);
	}
	if (row->next_spi)
		row->next_spi++;
	if (prow->next_spi)
		prow->next_spi++;

	/* Inbound SAs first on both ends, then outbound ones: by the time
	 * either end sends on the new pair, the other accepts it. */
	struct km_keys k_out, k_in; /* towards the peer, towards us */
	make_keys(km, p, &k_out);
	make_keys(km, p, &k_in);
	struct km_flow f_out, f_in; /* the flow from us and its mirror */
	if (flow) {
		f_out = *flow;
		f_in = flow_mirror(flow);
	}
	const struct {
		struct keymgr *k;
		uint8_t type;
		uint32_t spi;
		const struct ipaddr *src, *dst;
		const struct km_keys *keys;
		const struct km_rule *mine;
		const struct km_flow *flow;
	} steps[4] = {
	    {km, SADB_UPDATE, spi_in, peer, local, &k_in, &row->r, flow ? &f_in : NULL},
	    {pk, SADB_UPDATE, spi_out, local, peer, &k_out, &prow->r, flow ? &f_out : NULL},
	    {km, SADB_ADD, spi_out, local, peer, &k_out, &row->r, flow ? &f_out : NULL},
	    {pk, SADB_ADD, spi_in, peer, local, &k_in, &prow->r, flow ? &f_in : NULL},
	};
	int rc = 0;
	unsigned done = 0;
	while (done < 4 && !rc) {
		rc = install(steps[done].k, steps[done].type, steps[done].spi, steps[done].src,
			     steps[done].dst, p, steps[done].keys, steps[done].mine,
			     steps[done].flow);
		if (!rc)
			done++;
	}
	OPENSSL_cleanse(&k_out, sizeof(k_out));
	OPENSSL_cleanse(&k_in, sizeof(k_in));
	if (rc) {
		/* Undo what this negotiation made, and only that: the two SAs
		 * from GETSPI (larval or updated) and the ADDs that were taken. */
		for (unsigned i = 0; i < 4; i++)
			if (i < 2 || i < done)
				delete_sa(steps[i].k, satype, steps[i].spi, steps[i].dst);
		return fail(km, "%s SAs with %s refused: %s", sat, pa, strerror(-rc));
	}

	struct km_pair *np = xcalloc(1, sizeof(*np));
	*np = (struct km_pair){.id = ++w->next_id,
			       .ini = km,
			       .rsp = pk,
			       .satype = satype,
			       .ini_addr = *local,
			       .rsp_addr = *peer,
			       .spi_to_rsp = spi_out,
			       .spi_to_ini = spi_in,
			       .has_flow = flow != NULL};
	if (flow)
		np->flow = *flow;
	w->pairs = xgrow(w->pairs, w->npairs, sizeof(*w->pairs));
	w->pairs[w->npairs++] = np;
	km->st.negotiations++;
	if (old) {
		old->replaced = true;
		km->st.rekeys++;
	}
	char ft[2 * ADDR_STRLEN + 64] = "";
	if (flow) {
		memcpy(ft, " for ", 5);
		flow_fmt(flow, ft + 5, sizeof(ft) - 5);
	}
	say(km, "%s %s SAs with %s (%s)%s: out 0x%08x, in 0x%08x", old ? "rekeyed" : "keyed", sat,
	    pa, pk->n->name, ft, spi_out, spi_in);
	if (old && km->retire_set) {
		struct km_ev *ev = xcalloc(1, sizeof(*ev));
		*ev = (struct km_ev){.km = km, .kind = EV_RETIRE, .pair_id = old->id};
		sim_after(w->sim, km->retire, on_event, free, ev);
	}
	return true;
}

/* A pair lost an SA to someone else: take the rest down, key it again. */
static void replace_lost(struct keymgr *km, struct km_pair *p, const char *why)
{
	struct ipaddr local, peer;
	ends(p, km, &local, &peer);
	bool again = !p->replaced;
	uint8_t satype = p->satype;
	struct km_flow buf;
	const struct km_flow *flow = pair_flow(p, km, &buf);
	delete_pair(km, p, why);
	if (again)
		negotiate(km, &local, &peer, satype, flow, NULL);
}

/* ---- events ---- */

/* The flow of ACQUIRE seq, as we send it (direction out). */
static bool ask_policy(struct keymgr *km, uint32_t seq, struct km_flow *flow)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_X_ASKPOLICY, SADB_SATYPE_UNSPEC, ++km->seq, km->s->pid);
	pfkb_policy(&pb, seq);
	km->reply_flow_ok = false;
	if (send_msg(km, &pb) < 0 || !km->reply_flow_ok)
		return false;
	*flow = km->reply_flow;
	if (flow->sel.dir == IPSP_DIRECTION_IN) /* an inbound flow asked: ours is its mirror */
		*flow = flow_mirror(flow);
	flow->sel.dir = IPSP_DIRECTION_OUT;
	return true;
}

static void on_acquire(struct keymgr *km, const struct km_ev *ev)
{
	char a[ADDR_STRLEN];
	struct ipaddr local = ev->src;
	if (!ev->has_src && (ev->dst.af == ADDR_V6 ? ip6_select_src(km->n, &ev->dst, &local)
						   : ip4_select_src(km->n, &ev->dst, &local)) < 0) {
		fail(km, "no route to %s", addr_fmt(&ev->dst, a));
		return;
	}
	/* A rule that keys a pair per flow asks the kernel which flow wanted
	 * the SA (SADB_X_ASKPOLICY with the ACQUIRE's sequence number). */
	struct km_flow flow;
	const struct km_row *row = find_row(km, &ev->dst, ev->satype);
	bool per_flow = row && row->r.per_flow && ev->kind == EV_ACQUIRE;
	if (per_flow) {
		if (!ask_policy(km, ev->seq, &flow)) {
			fail(km, "the flow of ACQUIRE %u is gone (ASKPOLICY refused)", ev->seq);
			return;
		}
	}
	if (find_live_pair(km->w, km, ev->satype, &ev->dst, per_flow ? &flow : NULL)) {
		char ft[2 * ADDR_STRLEN + 64] = "";
		if (per_flow) {
			memcpy(ft, " and ", 5);
			flow_fmt(&flow, ft + 5, sizeof(ft) - 5);
		}
		say(km, "acquire %s for %s%s: keyed already", satype_name(ev->satype),
		    addr_fmt(&ev->dst, a), ft);
		return;
	}
	negotiate(km, &local, &ev->dst, ev->satype, per_flow ? &flow : NULL, NULL);
}

static struct km_pair *pair_by_id(const struct km_world *w, uint64_t id)
{
	for (unsigned i = 0; i < w->npairs; i++)
		if (w->pairs[i]->id == id)
			return w->pairs[i];
	return NULL;
}

/* Every pair of km's node that the flush emptied, in the order they were
 * keyed; named by id first, since replacing one changes the list. */
static void on_flush(struct keymgr *km, uint8_t satype)
{
	struct km_world *w = km->w;
	uint64_t *ids = xcalloc(w->npairs ? w->npairs : 1, sizeof(*ids));
	unsigned n = 0;
	for (unsigned i = 0; i < w->npairs; i++) {
		struct km_pair *q = w->pairs[i];
		if ((q->ini == km || q->rsp == km) &&
		    (satype == SADB_SATYPE_UNSPEC || q->satype == satype))
			ids[n++] = q->id;
	}
	for (unsigned i = 0; i < n; i++) {
		struct km_pair *p = pair_by_id(w, ids[i]);
		if (p)
			replace_lost(km, p, "flushed");
	}
	free(ids);
}

static void on_event(struct sim *s, void *arg)
{
	struct km_ev *ev = arg;
	struct keymgr *km = ev->km;
	struct km_world *w = km->w;
	struct km_pair *p = NULL;
	(void)s;
	switch (ev->kind) {
	case EV_ACQUIRE: on_acquire(km, ev); break;
	case EV_START: {
		char a[ADDR_STRLEN];
		say(km, "start %s SAs with %s", satype_name(ev->satype), addr_fmt(&ev->dst, a));
		on_acquire(km, ev);
		break;
	}
	case EV_SOFT:
		p = find_pair(w, km, ev->satype, &ev->dst, ev->spi);
		if (p && !p->replaced) {
			struct ipaddr local, peer;
			ends(p, km, &local, &peer);
			say(km, "soft expiry of %s SA 0x%08x", satype_name(p->satype), ev->spi);
			struct km_flow buf;
			negotiate(km, &local, &peer, p->satype, pair_flow(p, km, &buf), p);
		}
		break;
	case EV_HARD:
		p = find_pair(w, km, ev->satype, &ev->dst, ev->spi);
		if (p)
			delete_pair(km, p, "hard expiry");
		break;
	case EV_DELETE:
		p = find_pair(w, km, ev->satype, &ev->dst, ev->spi);
		if (p)
			replace_lost(km, p, "deleted by another");
		break;
	case EV_FLUSH: on_flush(km, ev->satype); break;
	case EV_RETIRE:
		p = pair_by_id(w, ev->pair_id);
		if (p)
			delete_pair(km, p, "retired");
		break;
	}
	free(ev);
}

static void schedule(struct keymgr *km, const struct km_ev *proto)
{
	struct km_ev *ev = xmalloc(sizeof(*ev));
	*ev = *proto;
	ev->km = km;
	sim_after(km->w->sim, km->delay, on_event, free, ev);
}

/* One message from the kernel, read by the socket's callback. */
static void take(struct keymgr *km, const uint8_t *buf, size_t len)
{
	struct pfkey_msg m;
	if (pfkey_parse(buf, len, PFKEY_OUT, 0, &m) != 0)
		return;
	uint8_t type = m.hdr.sadb_msg_type;
	if (m.hdr.sadb_msg_pid == km->s->pid) { /* a reply to us */
		if (type == SADB_GETSPI && !m.hdr.sadb_msg_errno && pfkey_has(&m, SADB_EXT_SA)) {
			struct sadb_sa sa;
			pfkey_get_sa(&m, SADB_EXT_SA, &sa);
			km->reply_spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
		}
		if (type == SADB_X_ASKPOLICY && !m.hdr.sadb_msg_errno &&
		    pfkey_has(&m, SADB_X_EXT_SRC_FLOW)) {
			uint8_t dir;
			km->reply_flow_ok =
			    pfkey_import_flow(&m, &km->reply_flow.sel, &km->reply_flow.mask,
					      &km->reply_flow.type, &dir) == 0;
		}
		return;
	}
	if (m.hdr.sadb_msg_errno)
		return;
	struct km_ev ev = {.satype = m.hdr.sadb_msg_satype, .seq = m.hdr.sadb_msg_seq};
	uint16_t port;
	if (pfkey_has(&m, SADB_EXT_ADDRESS_DST))
		pfkey_get_address(&m, SADB_EXT_ADDRESS_DST, &ev.dst, &port);
	if (pfkey_has(&m, SADB_EXT_ADDRESS_SRC)) {
		pfkey_get_address(&m, SADB_EXT_ADDRESS_SRC, &ev.src, &port);
		ev.has_src = true;
	}
	if (pfkey_has(&m, SADB_EXT_SA)) {
		struct sadb_sa sa;
		pfkey_get_sa(&m, SADB_EXT_SA, &sa);
		ev.spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
	}
	bool has_sa = pfkey_has(&m, SADB_EXT_SA) && pfkey_has(&m, SADB_EXT_ADDRESS_DST);
	switch (type) {
	case SADB_ACQUIRE:
		if (!pfkey_has(&m, SADB_EXT_ADDRESS_DST))
			return;
		km->st.acquires++;
		ev.kind = EV_ACQUIRE;
		break;
	case SADB_EXPIRE:
		if (!has_sa)
			return;
		ev.kind = pfkey_has(&m, SADB_EXT_LIFETIME_HARD) ? EV_HARD : EV_SOFT;
		break;
	case SADB_DELETE:
		if (!has_sa)
			return;
		ev.kind = EV_DELETE;
		break;
	case SADB_FLUSH: ev.kind = EV_FLUSH; break;
	default: return;
	}
	schedule(km, &ev);
}

static void on_queue(struct pfkey_sock *s, void *arg)
{
	uint8_t buf[PFKEY_MSG_MAXSZ];
	ssize_t len;
	while ((len = pfkey_read(s, buf, sizeof(buf))) > 0)
		take(arg, buf, MIN((size_t)len, sizeof(buf)));
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* ---- the API ---- */

struct km_world *km_world_new(struct sim *s)
{
	struct km_world *w = xcalloc(1, sizeof(*w));
	w->sim = s;
	return w;
}

void km_world_free(struct km_world *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < w->nkms; i++) {
		struct keymgr *km = w->kms[i];
		OPENSSL_cleanse(km->rows, km->nrows * sizeof(*km->rows));
		free(km->rows);
		OPENSSL_cleanse(&km->rng, sizeof(km->rng));
		free(km);
	}
	free(w->kms);
	for (unsigned i = 0; i < w->npairs; i++)
		free(w->pairs[i]);
	free(w->pairs);
	free(w);
}

struct keymgr *km_find(const struct km_world *w, const struct node *n)
{
	for (unsigned i = 0; i < w->nkms; i++)
		if (w->kms[i]->n == n)
			return w->kms[i];
	return NULL;
}

struct keymgr *km_get(struct km_world *w, struct node *n)
{
	struct keymgr *km = km_find(w, n);
	if (km)
		return km;
	km = xcalloc(1, sizeof(*km));
	km->w = w;
	km->n = n;
	km->s = pfkey_open(n);
	km->s->on_queue = on_queue;
	km->s->on_queue_arg = km;
	char stream[128];
	snprintf(stream, sizeof(stream), "keymgr:%s", n->name);
	rng_seed(&km->rng, w->sim->seed, stream);
	static const uint8_t satypes[] = {SADB_SATYPE_ESP, SADB_SATYPE_AH};
	for (size_t i = 0; i < ARRAY_LEN(satypes); i++) {
		struct pfkey_buf pb;
		pfkb_init(&pb, SADB_REGISTER, satypes[i], ++km->seq, km->s->pid);
		(void)send_msg(km, &pb); /* a fresh socket is always accepted */
	}
	w->kms = xgrow(w->kms, w->nkms, sizeof(*w->kms));
	w->kms[w->nkms++] = km;
	return km;
}

void km_set_delay(struct keymgr *km, uint64_t ns)
{
	km->delay = ns;
}

void km_set_retire(struct keymgr *km, uint64_t ns)
{
	km->retire = ns;
	km->retire_set = true;
}

void km_set_quiet(struct keymgr *km)
{
	km->quiet = true;
}

void km_add_rule(struct keymgr *km, const struct km_rule *r)
{
	/* Grown by hand, so that no copy of a key is left in freed memory. */
	struct km_row *rows = xcalloc(km->nrows + 1, sizeof(*rows));
	if (km->nrows) {
		memcpy(rows, km->rows, km->nrows * sizeof(*rows));
		OPENSSL_cleanse(km->rows, km->nrows * sizeof(*rows));
	}
	free(km->rows);
	km->rows = rows;
	km->rows[km->nrows++] = (struct km_row){.r = *r, .next_spi = r->spi};
}

void km_start(struct keymgr *km, const struct ipaddr *peer, uint8_t satype, uint64_t at)
{
	struct km_ev *ev = xcalloc(1, sizeof(*ev));
	*ev = (struct km_ev){.km = km, .kind = EV_START, .satype = satype, .dst = *peer};
	sim_at(km->w->sim, at, on_event, free, ev);
}

const struct km_stats *km_stats(const struct keymgr *km)
{
	return &km->st;
}

unsigned km_default_enckeylen(uint8_t enc)
{
	const struct enc_xform *e = xform_enc(enc);
	if (!e)
		return 0;
	/* 128-bit keys where the cipher allows shorter ones (Blowfish, CAST). */
	return e->minkey < 16 ? MIN(16u, e->maxkey) : e->minkey;
}
