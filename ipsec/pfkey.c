/*
 * The kernel side of PF_KEY: sockets, delivery, and acting on each message
 * type (OpenBSD's pfkeyv2.c, pfkeyv2_dosend).
 */
#include "pfkey.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "../stack/mem.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "acquire.h"
#include "lifetime.h"
#include "pfkey_msg.h"
#include "xform.h"

#define GETSPI_TRIES 100

enum delivery { TO_SENDER, TO_ALL, TO_REGISTERED };

struct ipsec_state *ipsec_state(struct node *n)
{
	if (!n->ipsec) {
		n->ipsec = xcalloc(1, sizeof(*n->ipsec));
		n->ipsec->node = n;
		n->ipsec->next_pid = PFKEY_PID_BASE;
		/* IVs come from a stream of their own, so that protecting
		 * traffic does not shift the node's other draws. */
		char stream[160];
		snprintf(stream, sizeof(stream), "node/%s/ipsec", n->name);
		rng_seed(&n->ipsec->rng, n->sim->seed, stream);
	}
	return n->ipsec;
}

static void rq_purge(struct pfkey_sock *s)
{
	while (s->rq_head) {
		struct pfkey_rmsg *r = s->rq_head;
		s->rq_head = r->next;
		OPENSSL_cleanse(r->data, r->len);
		free(r);
	}
	s->rq_tail = NULL;
	s->rq_bytes = 0;
}

void ipsec_state_free(struct ipsec_state *st)
{
	if (!st)
		return;
	while (st->socks)
		pfkey_close(st->socks);
	sad_flush(&st->sad, SADB_SATYPE_UNSPEC);
	spd_flush(&st->spd);
	acquire_free_all(st);
	free(st);
}

struct pfkey_sock *pfkey_open(struct node *n)
{
	struct ipsec_state *st = ipsec_state(n);
	struct pfkey_sock *s = xcalloc(1, sizeof(*s)), **tail = &st->socks;
	s->st = st;
	s->pid = st->next_pid++;
	while (*tail)
		tail = &(*tail)->next;
	*tail = s;
	return s;
}

void pfkey_close(struct pfkey_sock *s)
{
	for (struct pfkey_sock **pp = &s->st->socks; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	rq_purge(s);
	free(s);
}

ssize_t pfkey_read(struct pfkey_sock *s, void *buf, size_t cap)
{
	struct pfkey_rmsg *r = s->rq_head;
	if (!r)
		return -EAGAIN;
	s->rq_head = r->next;
	if (!s->rq_head)
		s->rq_tail = NULL;
	s->rq_bytes -= r->len;
	size_t len = r->len;
	if (buf)
		memcpy(buf, r->data, MIN(len, cap));
	OPENSSL_cleanse(r->data, r->len);
	free(r);
	return (ssize_t)len;
}

/* Queue a message on one socket, or drop it when its buffer is full. */
static void sock_queue(struct pfkey_sock *s, const uint8_t *msg, size_t len)
{
	if (s->rq_bytes + len > PFKEY_RCVBUF) {
		s->dropped++;
		node_trace(s->st->node, "pfkey pid %u: receive buffer full, message dropped",
			   s->pid);
		return;
	}
	struct pfkey_rmsg *r = xmalloc(sizeof(*r) + len);
	r->next = NULL;
	r->len = len;
	memcpy(r->data, msg, len);
	if (s->rq_tail)
		s->rq_tail->next = r;
	else
		s->rq_head = r;
	s->rq_tail = r;
	s->rq_bytes += len;
	s->received++;
	if (s->on_queue)
		s->on_queue(s, s->on_queue_arg);
}

static unsigned deliver(struct ipsec_state *st, struct pfkey_sock *sender, enum delivery how,
			uint8_t satype, const uint8_t *msg, size_t len)
{
	unsigned sent = 0;
	for (struct pfkey_sock *s = st->socks; s; s = s->next) {
		bool to = false;
		switch (how) {
		case TO_SENDER: to = s == sender; break;
		case TO_ALL: to = true; break;
		case TO_REGISTERED:
			to = s->registered &&
			     (satype == SADB_SATYPE_UNSPEC || (s->reg_mask & (1u << satype)));
			break;
		}
		if (to) {
			sock_queue(s, msg, len);
			sent++;
		}
	}
	return sent;
}

/* Send a kernel-built message; its length field is filled in here. */
static void send_built(struct ipsec_state *st, struct pfkey_sock *sender, enum delivery how,
		       struct pfkey_buf *pb)
{
	size_t len = pfkb_finish(pb);
	if (len)
		deliver(st, sender, how, pb->b[3], pb->b, len);
	else
		node_trace(st->node, "pfkey: reply larger than %d bytes not sent", PFKEY_MSG_MAXSZ);
}

/* A message of the kernel's own (EXPIRE, ACQUIRE, ...), for a report. */
static void watch_kernel_msg(struct ipsec_state *st, const struct pfkey_buf *pb)
{
	const struct sim *s = st->node->sim;
	if (s->watch && s->watch->pfkey)
		s->watch->pfkey(s->watch->arg, st->node, pb->b, sizeof(struct sadb_msg));
}

void pfkey_broadcast(struct ipsec_state *st, struct pfkey_buf *pb)
{
	watch_kernel_msg(st, pb);
	send_built(st, NULL, TO_ALL, pb);
}

unsigned pfkey_to_registered(struct ipsec_state *st, struct pfkey_buf *pb)
{
	size_t len = pfkb_finish(pb);
	if (len)
		watch_kernel_msg(st, pb);
	return len ? deliver(st, NULL, TO_REGISTERED, pb->b[3], pb->b, len) : 0;
}

/* Reply with the request's own extensions, less those in `strip`. */
static void echo(struct ipsec_state *st, struct pfkey_sock *sender, const struct pfkey_msg *m,
		 uint64_t strip)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, m->hdr.sadb_msg_type, m->hdr.sadb_msg_satype, m->hdr.sadb_msg_seq,
		  m->hdr.sadb_msg_pid);
	for (int e = 1; e <= SADB_EXT_MAX; e++)
		if (!(strip & PFKEY_BIT(e)))
			pfkb_copy(&pb, m, e);
	send_built(st, sender, TO_ALL, &pb);
}

static bool satype_ok(uint8_t satype)
{
	return satype_to_sproto(satype) != 0;
}

static struct tdb *find_sa(struct ipsec_state *st, const struct pfkey_msg *m)
{
	struct sadb_sa sa;
	struct ipaddr dst;
	pfkey_get_sa(m, SADB_EXT_SA, &sa);
	pfkey_get_address(m, SADB_EXT_ADDRESS_DST, &dst, NULL);
	return sad_lookup(&st->sad, &dst, get_be32((const uint8_t *)&sa.sadb_sa_spi),
			  satype_to_sproto(m->hdr.sadb_msg_satype));
}

/* reserve_spi(): an unused SPI in the range, and an embryonic SA for it. */
static int do_getspi(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	struct sadb_spirange r;
	struct node *n = st->node;
	uint8_t sproto = satype_to_sproto(m->hdr.sadb_msg_satype);

	if (!satype_ok(m->hdr.sadb_msg_satype))
		return EINVAL;
	pfkey_get_spirange(m, &r);
	uint32_t min = r.sadb_spirange_min, max = r.sadb_spirange_max;
	if (max <= 255 || max < min)
		return EINVAL;
	/* IPComp's CPI has 16 bits, and 61440-65535 are for private use
	 * (RFC 3173 3.3; OpenBSD's CPI_PRIVATE_MIN) */
	if (sproto == IPPROTO_IPCOMP && max >= 61440)
		return EINVAL;
	if (min < 256)
		min = 256; /* 1..255 are reserved (RFC 4303 2.1) */
	struct ipaddr dst;
	pfkey_get_address(m, SADB_EXT_ADDRESS_DST, &dst, NULL);
	uint32_t spi = 0;
	if (min == max) {
		if (sad_lookup(&st->sad, &dst, min, sproto))
			return EEXIST;
		spi = min;
	} else {
		for (int i = 0; i < GETSPI_TRIES && !spi; i++) {
			uint32_t cand = min + (uint32_t)rng_below(&n->rng, (uint64_t)max - min + 1);
			if (!sad_lookup(&st->sad, &dst, cand, sproto))
				spi = cand;
		}
		if (!spi)
			return EEXIST;
	}
	struct tdb *t = xcalloc(1, sizeof(*t));
	t->spi = spi;
	t->sproto = sproto;
	t->satype = SADB_SATYPE_UNSPEC;
	t->flags = TDBF_INVALID;
	t->dst = dst;
	pfkey_get_address(m, SADB_EXT_ADDRESS_SRC, &t->src, NULL);
	t->established = n->sim->now;
	int64_t life = n->sysctl[SYSCTL_IPSEC_INVALID_LIFE];
	t->embryonic_expire = n->sim->now + (uint64_t)life * NS_PER_SEC;
	t->seq = m->hdr.sadb_msg_seq;
	t->serial = ++st->next_serial;
	sad_insert(&st->sad, t);
	sa_arm_larval(n, t, (uint64_t)life);

	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_GETSPI, m->hdr.sadb_msg_satype, m->hdr.sadb_msg_seq,
		  m->hdr.sadb_msg_pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, 0, SADB_SASTATE_LARVAL, 0, 0, 0);
	for (int e = 1; e <= SADB_EXT_MAX; e++)
		pfkb_copy(&pb, m, e);
	send_built(st, s, TO_ALL, &pb);
	return 0;
}

static const uint64_t KEY_EXTS = PFKEY_BIT(SADB_EXT_KEY_AUTH) | PFKEY_BIT(SADB_EXT_KEY_ENCRYPT);
static const uint64_t FLOW_SET = PFKEY_BIT(SADB_X_EXT_SRC_MASK) | PFKEY_BIT(SADB_X_EXT_DST_MASK) |
				 PFKEY_BIT(SADB_X_EXT_SRC_FLOW) | PFKEY_BIT(SADB_X_EXT_DST_FLOW) |
				 PFKEY_BIT(SADB_X_EXT_FLOW_TYPE);

/* The flow extensions come all together or not at all (UPDATE, ADD). */
static bool flow_set_whole(const struct pfkey_msg *m)
{
	unsigned have = 0, want = 0;
	for (int e = 1; e <= SADB_EXT_MAX; e++)
		if (FLOW_SET & PFKEY_BIT(e)) {
			want++;
			have += pfkey_has(m, e);
		}
	return have == 0 || have == want;
}

static void sa_made(struct ipsec_state *st, struct tdb *t)
{
	struct sim *sim = st->node->sim;
	t->serial = ++st->next_serial;
	sa_arm_addtime(st->node, t);
	if (sim->on_sa)
		sim->on_sa(sim->on_sa_arg, st->node, t);
}

/* A new SA from ADD or the UPDATE of an embryonic one; NULL with *err. */
static struct tdb *build_sa(struct ipsec_state *st, const struct pfkey_msg *m, int *err)
{
	struct tdb *t = xcalloc(1, sizeof(*t));
	*err = pfkey_import_sa(t, m, st->node->sim->now);
	if (!*err)
		*err = pfkey_tdb_init(t);
	if (!*err && (t->sproto == IPPROTO_ESP || t->sproto == IPPROTO_AH)) {
		/* The transforms are keyed once, here, for the SA's life. */
		int rc;
		t->xf = xform_ctx_new(st->node->sim, t->encalg, t->enckey, t->enckeylen, t->authalg,
				      t->authkey, t->authkeylen, &rc);
		if (!t->xf)
			*err = EINVAL;
	}
	if (*err) {
		tdb_free(t);
		return NULL;
	}
	return t;
}

/* The UDPENCAP extension: for ESP, and only while net.inet.esp.udpencap
 * is on (pfkeyv2.c). */
static bool udpencap_ok(const struct ipsec_state *st, const struct pfkey_msg *m)
{
	return !pfkey_has(m, SADB_X_EXT_UDPENCAP) ||
	       (m->hdr.sadb_msg_satype == SADB_SATYPE_ESP && st->node->sysctl[SYSCTL_ESP_UDPENCAP]);
}

static int do_update(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	if (!satype_ok(m->hdr.sadb_msg_satype) || !flow_set_whole(m))
		return EINVAL;
	if (!udpencap_ok(st, m))
		return EINVAL;
	struct tdb *old = find_sa(st, m);
	if (!old)
		return ESRCH;
	if (old->flags & TDBF_INVALID) {
		int err;
		struct tdb *t = build_sa(st, m, &err);
		if (!t)
			return err;
		t->ids_swapped = true;
		sad_remove(&st->sad, old);
		tdb_free(old);
		sad_insert(&st->sad, t);
		sa_made(st, t);
	} else {
		/* A live SA keeps its keys and identities. */
		if (pfkey_has(m, SADB_EXT_KEY_AUTH) || pfkey_has(m, SADB_EXT_KEY_ENCRYPT) ||
		    pfkey_has(m, SADB_EXT_IDENTITY_SRC) || pfkey_has(m, SADB_EXT_IDENTITY_DST) ||
		    pfkey_has(m, SADB_EXT_SENSITIVITY))
			return EINVAL;
		struct tdb scratch = {0};
		int err = pfkey_import_sa(&scratch, m, old->established);
		uint32_t keep =
		    old->flags & ~(uint32_t)(TDBF_PFS | TDBF_TUNNELING | TDBF_UDPENCAP | TDBF_ESN);
		if (!err) {
			old->flags = keep | (scratch.flags & (TDBF_PFS | TDBF_TUNNELING |
							      TDBF_UDPENCAP | TDBF_ESN));
			if (pfkey_has(m, SADB_EXT_LIFETIME_HARD)) {
				old->hard = scratch.hard;
				old->flags =
				    (old->flags & ~(uint32_t)(TDBF_ALLOCATIONS | TDBF_BYTES |
							      TDBF_TIMER | TDBF_FIRSTUSE)) |
				    (scratch.flags &
				     (TDBF_ALLOCATIONS | TDBF_BYTES | TDBF_TIMER | TDBF_FIRSTUSE));
			}
			if (pfkey_has(m, SADB_EXT_LIFETIME_SOFT)) {
				old->soft = scratch.soft;
				old->flags =
				    (old->flags &
				     ~(uint32_t)(TDBF_SOFT_ALLOCATIONS | TDBF_SOFT_BYTES |
						 TDBF_SOFT_TIMER | TDBF_SOFT_FIRSTUSE)) |
				    (scratch.flags & (TDBF_SOFT_ALLOCATIONS | TDBF_SOFT_BYTES |
						      TDBF_SOFT_TIMER | TDBF_SOFT_FIRSTUSE));
			}
			if (pfkey_has(m, SADB_X_EXT_UDPENCAP))
				old->udpencap_port = scratch.udpencap_port;
			if (pfkey_has(m, SADB_X_EXT_TAG))
				memcpy(old->tag, scratch.tag, sizeof(old->tag));
			if (pfkey_has(m, SADB_X_EXT_TAP))
				old->tap = scratch.tap;
			if (pfkey_has(m, SADB_EXT_ADDRESS_SRC))
				old->src = scratch.src;
		}
		/* scratch owns copies (flow, ids are refused above): free them. */
		free(scratch.authkey);
		free(scratch.enckey);
		if (err)
			return err;
	}
	echo(st, s, m, KEY_EXTS);
	return 0;
}

static int do_add(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	if (!satype_ok(m->hdr.sadb_msg_satype) || !flow_set_whole(m))
		return EINVAL;
	if (!udpencap_ok(st, m))
		return EINVAL;
	if (find_sa(st, m))
		return EEXIST;
	int err;
	struct tdb *t = build_sa(st, m, &err);
	if (!t)
		return err;
	sad_insert(&st->sad, t);
	sa_made(st, t);
	echo(st, s, m, KEY_EXTS);
	return 0;
}

static int do_delete(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	if (!satype_ok(m->hdr.sadb_msg_satype))
		return EINVAL;
	struct tdb *t = find_sa(st, m);
	if (!t)
		return ESRCH;
	sad_remove(&st->sad, t);
	tdb_free(t);
	echo(st, s, m, 0);
	return 0;
}

static void export_msg(struct pfkey_buf *pb, uint8_t type, const struct tdb *t, uint32_t seq,
		       uint32_t pid, uint64_t now)
{
	pfkb_init(pb, type, t->satype, seq, pid);
	pfkey_export_sa(pb, t, now, true);
}

static int do_get(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	if (!satype_ok(m->hdr.sadb_msg_satype))
		return EINVAL;
	struct tdb *t = find_sa(st, m);
	if (!t)
		return ESRCH;
	struct pfkey_buf pb;
	export_msg(&pb, SADB_GET, t, m->hdr.sadb_msg_seq, m->hdr.sadb_msg_pid, st->node->sim->now);
	/* OpenBSD broadcasts GET replies, keys included. */
	send_built(st, s, TO_ALL, &pb);
	return 0;
}

/* The algorithms REGISTER advertises (GCM, GMAC and ChaCha are not). */
static void add_supported(struct pfkey_buf *pb)
{
	static const struct sadb_alg enc[] = {
	    {SADB_EALG_NULL, 0, 0, 0, 0},        {SADB_EALG_3DESCBC, 64, 192, 192, 0},
	    {SADB_X_EALG_BLF, 64, 40, 448, 0},   {SADB_X_EALG_CAST, 64, 40, 128, 0},
	    {SADB_X_EALG_AES, 128, 128, 256, 0}, {SADB_X_EALG_AESCTR, 128, 160, 288, 0}};
	static const struct sadb_alg auth[] = {
	    {SADB_AALG_SHA1HMAC, 0, 160, 160, 0},        {SADB_AALG_MD5HMAC, 0, 128, 128, 0},
	    {SADB_X_AALG_RIPEMD160HMAC, 0, 160, 160, 0}, {SADB_X_AALG_SHA2_256, 0, 256, 256, 0},
	    {SADB_X_AALG_SHA2_384, 0, 384, 384, 0},      {SADB_X_AALG_SHA2_512, 0, 512, 512, 0}};
	static const struct sadb_alg comp[] = {{SADB_X_CALG_DEFLATE, 0, 0, 0, 0}};
	pfkb_supported(pb, SADB_EXT_SUPPORTED_AUTH, auth, ARRAY_LEN(auth));
	pfkb_supported(pb, SADB_EXT_SUPPORTED_ENCRYPT, enc, ARRAY_LEN(enc));
	pfkb_supported(pb, SADB_X_EXT_SUPPORTED_COMP, comp, ARRAY_LEN(comp));
}

static int do_register(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	s->registered = true;
	s->reg_mask |= 1u << m->hdr.sadb_msg_satype;
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_REGISTER, m->hdr.sadb_msg_satype, m->hdr.sadb_msg_seq,
		  m->hdr.sadb_msg_pid);
	add_supported(&pb);
	send_built(st, s, TO_ALL, &pb);
	return 0;
}

static int do_flush(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	uint8_t satype = m->hdr.sadb_msg_satype;
	if (satype == SADB_SATYPE_UNSPEC) {
		sad_flush(&st->sad, SADB_SATYPE_UNSPEC);
		spd_flush(&st->spd); /* UNSPEC flushes the policies too */
	} else if (satype_ok(satype)) {
		sad_flush(&st->sad, satype);
	} else {
		return EINVAL;
	}
	echo(st, s, m, 0);
	return 0;
}

static int do_dump(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	uint8_t satype = m->hdr.sadb_msg_satype;
	if (satype != SADB_SATYPE_UNSPEC && !satype_ok(satype))
		return EINVAL;
	const struct tdb *last = NULL;
	for (const struct tdb *t = st->sad.head; t; t = t->next)
		if (satype == SADB_SATYPE_UNSPEC || t->satype == satype)
			last = t;
	if (!last)
		return ENOENT;
	/* One message per SA, to the asker only; the last has seq 0. */
	for (const struct tdb *t = st->sad.head; t; t = t->next) {
		if (satype != SADB_SATYPE_UNSPEC && t->satype != satype)
			continue;
		struct pfkey_buf pb;
		export_msg(&pb, SADB_DUMP, t, t == last ? 0 : m->hdr.sadb_msg_seq,
			   m->hdr.sadb_msg_pid, st->node->sim->now);
		send_built(st, s, TO_SENDER, &pb);
	}
	return 0;
}

static int do_flow(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	struct spd_sel sel;
	struct spd_mask mask;
	uint8_t type, dir;
	if (pfkey_import_flow(m, &sel, &mask, &type, &dir))
		return EINVAL;
	struct spd_flow *f = spd_find(&st->spd, &sel, &mask);
	if (m->hdr.sadb_msg_type == SADB_X_DELFLOW) {
		if (!f)
			return ESRCH;
		spd_remove(&st->spd, f);
		spd_flow_free(f);
		echo(st, s, m, 0);
		return 0;
	}
	struct sadb_protocol ft;
	pfkey_get_protocol(m, SADB_X_EXT_FLOW_TYPE, &ft);
	bool is_static = ft.sadb_protocol_flags & SADB_X_POLICYFLAGS_POLICY;
	uint8_t satype = m->hdr.sadb_msg_satype ? m->hdr.sadb_msg_satype : SADB_SATYPE_ESP;
	if (!satype_ok(satype))
		return EINVAL;
	if (f && (f->flags & IPSP_POLICY_STATIC) && !is_static)
		return 0; /* a dynamic request never replaces a static policy */
	bool fresh = !f;
	if (fresh) {
		f = xcalloc(1, sizeof(*f));
		f->sel = sel;
		f->mask = mask;
	}
	f->type = type;
	f->sproto = satype_to_sproto(satype);
	f->flags = is_static ? IPSP_POLICY_STATIC : 0;
	memset(&f->sa_gw, 0, sizeof(f->sa_gw)); /* its cached SA no longer applies */
	memset(&f->local, 0, sizeof(f->local));
	memset(&f->peer, 0, sizeof(f->peer));
	if (pfkey_has(m, SADB_EXT_ADDRESS_SRC))
		pfkey_get_address(m, SADB_EXT_ADDRESS_SRC, &f->local, NULL);
	if (pfkey_has(m, SADB_EXT_ADDRESS_DST))
		pfkey_get_address(m, SADB_EXT_ADDRESS_DST, &f->peer, NULL);
	free(f->srcid);
	free(f->dstid);
	f->srcid = f->dstid = NULL;
	if (pfkey_has(m, SADB_EXT_IDENTITY_SRC))
		f->srcid = xstrdup(pfkey_get_ident(m, SADB_EXT_IDENTITY_SRC, &f->srcid_type));
	if (pfkey_has(m, SADB_EXT_IDENTITY_DST))
		f->dstid = xstrdup(pfkey_get_ident(m, SADB_EXT_IDENTITY_DST, &f->dstid_type));
	if (fresh)
		spd_insert(&st->spd, f);
	echo(st, s, m, 0);
	return 0;
}

static int do_grpspis(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	struct sadb_sa sa2;
	struct sadb_protocol t2;
	struct ipaddr dst2;
	if (!satype_ok(m->hdr.sadb_msg_satype))
		return EINVAL;
	pfkey_get_protocol(m, SADB_X_EXT_SATYPE2, &t2);
	if (!satype_ok(t2.sadb_protocol_proto))
		return EINVAL;
	struct tdb *a = find_sa(st, m);
	pfkey_get_sa(m, SADB_X_EXT_SA2, &sa2);
	pfkey_get_address(m, SADB_X_EXT_DST2, &dst2, NULL);
	struct tdb *b = sad_lookup(&st->sad, &dst2, get_be32((const uint8_t *)&sa2.sadb_sa_spi),
				   satype_to_sproto(t2.sadb_protocol_proto));
	if (!a || !b || a == b)
		return ESRCH;
	for (struct tdb *t = b; t; t = t->onext)
		if (t == a)
			return ESRCH; /* would make a loop */
	if (a->onext)
		a->onext->inext = NULL;
	if (b->inext)
		b->inext->onext = NULL;
	a->onext = b;
	b->inext = a;
	echo(st, s, m, 0);
	return 0;
}

/* A long X_PROMISC carries a message to pass on to the other sockets. */
static int do_promisc(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	if (m->len == sizeof(struct sadb_msg)) {
		s->promisc = m->hdr.sadb_msg_satype != 0;
		return 0;
	}
	for (struct pfkey_sock *o = st->socks; o; o = o->next)
		if (o != s && (m->hdr.sadb_msg_seq == 0 || o->pid == m->hdr.sadb_msg_seq))
			sock_queue(o, m->base, m->len);
	return 0;
}

/* Wrap what a user wrote for the promiscuous listeners. */
static void promisc_copy(struct ipsec_state *st, const uint8_t *msg, size_t len)
{
	uint8_t buf[PFKEY_MSG_MAXSZ + sizeof(struct sadb_msg)];
	struct sadb_msg h = {.sadb_msg_version = PF_KEY_V2,
			     .sadb_msg_type = SADB_X_PROMISC,
			     .sadb_msg_len = (uint16_t)((len + sizeof(h)) / 8)};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), msg, len);
	for (struct pfkey_sock *s = st->socks; s; s = s->next)
		if (s->promisc)
			sock_queue(s, buf, len + sizeof(h));
}

/* The flow of a pending acquire, found by its sequence number. */
static int do_askpolicy(struct ipsec_state *st, struct pfkey_sock *s, const struct pfkey_msg *m)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_X_ASKPOLICY, m->hdr.sadb_msg_satype, m->hdr.sadb_msg_seq,
		  m->hdr.sadb_msg_pid);
	pfkb_copy(&pb, m, SADB_X_EXT_POLICY);
	if (acquire_askpolicy(st, pfkey_get_policy_seq(m), st->node->sim->now, &pb) < 0)
		return ESRCH;
	send_built(st, s, TO_ALL, &pb);
	return 0;
}

int pfkey_write(struct pfkey_sock *s, const void *msg, size_t len)
{
	struct ipsec_state *st = s->st;
	struct pfkey_msg m;
	int err = pfkey_parse(msg, len, PFKEY_IN, s->pid, &m);
	if (!err)
		promisc_copy(st, msg, len); /* len <= PFKEY_MSG_MAXSZ once parsed */
	if (!err) {
		switch (m.hdr.sadb_msg_type) {
		case SADB_GETSPI: err = do_getspi(st, s, &m); break;
		case SADB_UPDATE: err = do_update(st, s, &m); break;
		case SADB_ADD: err = do_add(st, s, &m); break;
		case SADB_DELETE: err = do_delete(st, s, &m); break;
		case SADB_GET: err = do_get(st, s, &m); break;
		case SADB_REGISTER: err = do_register(st, s, &m); break;
		case SADB_FLUSH: err = do_flush(st, s, &m); break;
		case SADB_DUMP: err = do_dump(st, s, &m); break;
		case SADB_X_PROMISC: err = do_promisc(st, s, &m); break;
		case SADB_X_ADDFLOW:
		case SADB_X_DELFLOW: err = do_flow(st, s, &m); break;
		case SADB_X_GRPSPIS: err = do_grpspis(st, s, &m); break;
		case SADB_X_ASKPOLICY: err = do_askpolicy(st, s, &m); break;
		case SADB_ACQUIRE:
		case SADB_EXPIRE: echo(st, s, &m, 0); break; /* accepted and echoed */
		default: err = EOPNOTSUPP; break;            /* X_SPDDUMP: a sysctl in OpenBSD */
		}
	}
	if (err && err != EINVAL && err != ENOMEM && err != ENOBUFS) {
		/* The header alone comes back with the errno. */
		struct sadb_msg h;
		memcpy(&h, msg, sizeof(h));
		h.sadb_msg_errno = (uint8_t)err;
		h.sadb_msg_len = sizeof(h) / 8;
		sock_queue(s, (const uint8_t *)&h, sizeof(h));
	}
	if (err)
		node_trace(st->node, "pfkey pid %u: %s: %s", s->pid,
			   len >= sizeof(struct sadb_msg)
			       ? pfkey_msg_name(((const uint8_t *)msg)[1])
			       : "short message",
			   strerror(err));
	return -err;
}

void ipsec_memory(const struct ipsec_state *st, struct mem_use *tdb, struct mem_use *xform,
		  struct mem_use *flow, struct mem_use *pfkey)
{
	if (!st)
		return;
	pfkey->bytes += sizeof(*st);
	sad_memory(&st->sad, tdb, xform);
	spd_memory(&st->spd, flow);
	for (const struct pfkey_sock *s = st->socks; s; s = s->next) {
		mem_add(pfkey, 1, sizeof(*s) + s->rq_bytes);
		for (const struct pfkey_rmsg *m = s->rq_head; m; m = m->next)
			pfkey->bytes += sizeof(*m);
	}
	acquire_memory(st, pfkey);
}
