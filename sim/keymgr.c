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

struct km_pair {
	uint64_t id;
	struct keymgr *ini, *rsp;
	uint8_t satype;
	struct ipaddr ini_addr, rsp_addr;
	uint32_t spi_to_rsp, spi_to_ini;
	bool replaced; /* a newer pair carries the traffic */
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

/* UPDATE (an inbound larval SA) or ADD (an outbound one) with the
 * negotiated parameters p, the keys k and this end's lifetimes. */
static int install(struct keymgr *km, uint8_t type, uint32_t spi, const struct ipaddr *src,
		   const struct ipaddr *dst, const struct km_rule *p, const struct km_keys *k,
		   const struct km_rule *mine)
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

static struct km_pair *find_live_pair(const struct km_world *w, const struct keymgr *km,
				      uint8_t satype, const struct ipaddr *peer)
{
	for (unsigned i = 0; i < w->npairs; i++) {
		struct km_pair *p = w->pairs[i];
		if (p->satype != satype || p->replaced)
			continue;
		if ((p->ini == km && addr_eq(&p->rsp_addr, peer)) ||
		    (p->rsp == km && addr_eq(&p->ini_addr, peer)))
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
	return x->transport == y->transport && x->esn == y->esn &&
	       (x->satype != SADB_SATYPE_ESP || x->enc == y->enc) && (aead || x->auth == y->auth);
}

/* Key a new pair from km (at local) to peer; old: the pair it replaces. */
static bool negotiate(struct keymgr *km, const struct ipaddr *local, const struct ipaddr *peer,
		      uint8_t satype, struct km_pair *old)
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
	const struct {
		struct keymgr *k;
		uint8_t type;
		uint32_t spi;
		const struct ipaddr *src, *dst;
		const struct km_keys *keys;
		const struct km_rule *mine;
	} steps[4] = {
	    {km, SADB_UPDATE, spi_in, peer, local, &k_in, &row->r},
	    {pk, SADB_UPDATE, spi_out, local, peer, &k_out, &prow->r},
	    {km, SADB_ADD, spi_out, local, peer, &k_out, &row->r},
	    {pk, SADB_ADD, spi_in, peer, local, &k_in, &prow->r},
	};
	int rc = 0;
	unsigned done = 0;
	while (done < 4 && !rc) {
		rc = install(steps[done].k, steps[done].type, steps[done].spi, steps[done].src,
			     steps[done].dst, p, steps[done].keys, steps[done].mine);
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
			       .spi_to_ini = spi_in};
	w->pairs = xgrow(w->pairs, w->npairs, sizeof(*w->pairs));
	w->pairs[w->npairs++] = np;
	km->st.negotiations++;
	if (old) {
		old->replaced = true;
		km->st.rekeys++;
	}
	say(km, "%s %s SAs with %s (%s): out 0x%08x, in 0x%08x", old ? "rekeyed" : "keyed", sat, pa,
	    pk->n->name, spi_out, spi_in);
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
	delete_pair(km, p, why);
	if (again)
		negotiate(km, &local, &peer, satype, NULL);
}

/* ---- events ---- */

static void on_acquire(struct keymgr *km, const struct km_ev *ev)
{
	char a[ADDR_STRLEN];
	struct ipaddr local = ev->src;
	if (!ev->has_src && (ev->dst.af == ADDR_V6 ? ip6_select_src(km->n, &ev->dst, &local)
						   : ip4_select_src(km->n, &ev->dst, &local)) < 0) {
		fail(km, "no route to %s", addr_fmt(&ev->dst, a));
		return;
	}
	if (find_live_pair(km->w, km, ev->satype, &ev->dst)) {
		say(km, "acquire %s for %s: keyed already", satype_name(ev->satype),
		    addr_fmt(&ev->dst, a));
		return;
	}
	negotiate(km, &local, &ev->dst, ev->satype, NULL);
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
			negotiate(km, &local, &peer, p->satype, p);
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
		return;
	}
	if (m.hdr.sadb_msg_errno)
		return;
	struct km_ev ev = {.satype = m.hdr.sadb_msg_satype};
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
