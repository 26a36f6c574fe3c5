/*
 * An established IKE SA (iked_int.h): its timers (liveness checks, NAT
 * keepalives, the IKE SA's rekey), the work waiting for its window,
 * INFORMATIONAL exchanges (DELETE, liveness, 1.4 and 2.4) and
 * CREATE_CHILD_SA (rekeying CHILD_SAs and the IKE SA, 1.3 and 2.18).
 */
#include "iked_int.h"

static void arm_established(struct ike_sa *sa);
static void send_rekey_child(struct ike_sa *sa, struct child *old);
static void send_rekey_ike(struct ike_sa *sa);

/* ---- an established IKE SA: timers and the work that waits ---- */

void ik_established(struct ike_sa *sa, const char *idtxt)
{
	struct iked *d = sa->d;
	char a[ADDR_STRLEN];
	ik_set_state(sa, S_ESTABLISHED);
	sa->established_at = sa->last_recv = d->w->sim->now;
	d->st.established++;
	ik_say(d, "%s: IKE SA 0x%016llx/0x%016llx established with %s (%s), %s",
	       ik_sa_pol(sa)->name, (unsigned long long)ik_spi64(sa->spi_i),
	       (unsigned long long)ik_spi64(sa->spi_r), addr_fmt(&sa->peer, a), idtxt,
	       ik_ws_encr(sa));
	arm_established(sa);
}

struct timer_ev {
	struct iked *d;
	uint64_t serial;
	enum timer_kind kind;
};

static void on_timer(struct sim *s, void *arg);

void ik_arm(struct ike_sa *sa, enum timer_kind kind, uint64_t after)
{
	struct timer_ev *ev = xmalloc(sizeof(*ev));
	*ev = (struct timer_ev){sa->d, sa->serial, kind};
	sim_after(sa->d->w->sim, after, on_timer, free, ev);
}

/* The timers of an IKE SA that is up: liveness checks, NAT keepalives
 * when we are behind the NAT, and its rekey (at 90 % of ikelifetime
 * where it was initiated, 95 % at the other end, as CHILD_SAs). */
static void arm_established(struct ike_sa *sa)
{
	const struct iked_policy *p = ik_sa_pol(sa);
	if (sa->d->set.dpd_interval)
		ik_arm(sa, T_LIVENESS, sa->d->set.dpd_interval * NS_PER_SEC);
	if (sa->nat_local)
		ik_arm(sa, T_KEEPALIVE, IKED_KEEPALIVE);
	if (p->ikelifetime) { /* (under 3 s, at the lifetime itself) */
		uint64_t at = ik_soft_of(p->ikelifetime, sa->initiator);
		ik_arm(sa, T_IKE_REKEY, (at ? at : p->ikelifetime) * NS_PER_SEC);
	}
}

/* The bytes the kernel counted on an inbound SA (SADB_GET), to tell a
 * quiet peer from one whose ESP still flows. */
static uint64_t pf_bytes(struct iked *d, const struct child *c)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_GET, c->satype, ++d->seq, d->ps->pid);
	pfkb_sa(&pb, SADB_EXT_SA, c->spi_in, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &c->sa->local, 0);
	d->reply_bytes = 0;
	return ik_pf_send(d, &pb) < 0 ? 0 : d->reply_bytes;
}

static void on_timer(struct sim *s, void *arg)
{
	struct timer_ev ev = *(struct timer_ev *)arg;
	free(arg);
	struct iked *d = ev.d;
	struct ike_sa *sa = ik_sa_by_serial(d, ev.serial);
	if (!sa || sa->state == S_DEAD)
		return;
	switch (ev.kind) {
	case T_HALFOPEN:
		if (sa->state == S_INIT_DONE) {
			d->st.halfopen_expired++;
			ik_say(d, "%s: no IKE_AUTH 300 s after IKE_SA_INIT: the half-open SA goes",
			       ik_sa_pol(sa)->name);
			ik_sa_kill(sa, "a half-open SA");
		}
		return;
	case T_KEEPALIVE:
		if (sa->state == S_ESTABLISHED && !sa->moved && d->us_natt) {
			static const uint8_t ka = 0xff;
			struct udp_send_opts o = {.src = &sa->local};
			if (udp_sendto(d->us_natt, &sa->peer, sa->peer_port, &ka, 1, &o) >= 0)
				d->st.keepalives++;
			ik_arm(sa, T_KEEPALIVE, IKED_KEEPALIVE);
		}
		return;
	case T_REPLACED: ik_sa_kill(sa, "a replaced IKE SA"); return;
	case T_IKE_REKEY:
		if (sa->state == S_ESTABLISHED && !sa->moved) {
			sa->rekey_ike_due = true;
			ik_kick(sa);
		}
		return;
	case T_LIVENESS:
		if (sa->state != S_ESTABLISHED || sa->moved || !d->set.dpd_interval)
			return;
		/* A check once nothing came from the peer, neither IKE nor ESP,
		 * for the interval; else the next look when it would be so. */
		uint64_t ival = d->set.dpd_interval * NS_PER_SEC;
		for (unsigned i = 0; i < sa->nch; i++) {
			struct child *c = sa->ch[i];
			uint64_t bytes = c->up ? pf_bytes(d, c) : c->bytes_seen;
			if (bytes != c->bytes_seen) /* ESP came: alive (as of now) */
				sa->last_recv = s->now;
			c->bytes_seen = bytes;
		}
		uint64_t quiet_for = s->now - sa->last_recv;
		if (quiet_for >= ival) {
			sa->liveness_due = true;
			ik_kick(sa);
			ik_arm(sa, T_LIVENESS, ival);
		} else {
			ik_arm(sa, T_LIVENESS, ival - quiet_for);
		}
		return;
	}
}

/* ---- INFORMATIONAL (1.4, 2.4): DELETE and liveness ---- */

static int send_info(struct ike_sa *sa, enum req_kind kind, struct ike_buf *in)
{
	struct ike_hdr h;
	struct ike_buf *m = xmalloc(sizeof(*m));
	ik_hdr_for(sa, &h, INFORMATIONAL, false, sa->next_msgid);
	int rc = ik_seal(sa, &h, in, m);
	if (rc == 0) {
		sa->next_msgid++;
		sa->rq = kind;
		ik_send_request(sa, m);
	}
	free(m);
	return rc;
}

/* Start the next piece of waiting work, if the window is free:
 * DELETEs first (an old CHILD_SA costs the peer memory), then rekeys,
 * then a liveness check. */
void ik_kick(struct ike_sa *sa)
{
	if (sa->state != S_ESTABLISHED || sa->rq != RQ_NONE)
		return;
	struct iked *d = sa->d;
	struct ike_buf *in = xmalloc(sizeof(*in));
	ikeb_init_chain(in);
	if (sa->delete_due) {
		sa->delete_due = false;
		ikeb_delete(in, IKE_PROTO_IKE, NULL, 0);
		d->st.ike_deletes++;
		ik_say(d, "%s: DELETE of IKE SA 0x%016llx/0x%016llx", ik_sa_pol(sa)->name,
		       (unsigned long long)ik_spi64(sa->spi_i),
		       (unsigned long long)ik_spi64(sa->spi_r));
		if (send_info(sa, RQ_DELETE_IKE, in) < 0)
			ik_sa_kill(sa, "an error");
	} else if (sa->ndel) {
		memcpy(sa->rq_del, sa->del_spi, sa->ndel * sizeof(*sa->del_spi));
		sa->rq_ndel = sa->ndel;
		sa->ndel = 0;
		ikeb_delete(in, sa->del_satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP,
			    sa->rq_del, sa->rq_ndel);
		(void)send_info(sa, RQ_DELETE_CHILD, in);
	} else if (sa->rekey_ike_due) {
		sa->rekey_ike_due = false;
		send_rekey_ike(sa);
	} else {
		for (unsigned i = 0; i < sa->nch; i++) {
			struct child *c = sa->ch[i];
			if (c->rekey_due) {
				c->rekey_due = false;
				if (c->up && !c->replaced) {
					send_rekey_child(sa, c);
					goto out;
				}
			}
		}
		uint64_t quiet_for = d->w->sim->now - sa->last_recv;
		if (sa->liveness_due &&
		    quiet_for < d->set.dpd_interval * NS_PER_SEC) /* heard of since it was due */
			sa->liveness_due = false;
		if (sa->liveness_due) {
			sa->liveness_due = false;
			d->st.liveness++;
			ik_say(d, "%s: nothing from the peer for %llu s: a liveness check",
			       ik_sa_pol(sa)->name, (unsigned long long)(quiet_for / NS_PER_SEC));
			(void)send_info(sa, RQ_LIVENESS, in);
		}
	}
out:
	free(in);
}

/* Our inbound SPI of a pair to announce in a DELETE (1.4.1). */
static void queue_delete_spi(struct ike_sa *sa, uint8_t satype, uint32_t spi)
{
	if (sa->ndel < IKED_MAX_DELS && (!sa->ndel || sa->del_satype == satype)) {
		sa->del_satype = satype;
		sa->del_spi[sa->ndel++] = spi;
	} else {
		ik_say(sa->d, "%s: %u DELETEs waiting already: 0x%08x goes unannounced",
		       ik_sa_pol(sa)->name, sa->ndel, spi);
	}
}

/* A CHILD_SA to announce in a DELETE; the CHILD_SA itself stays until
 * the DELETE is answered when keep, else it goes now. */
void ik_queue_delete(struct ike_sa *sa, struct child *c, bool keep)
{
	queue_delete_spi(sa, c->satype, c->spi_in);
	c->replaced = true;
	if (!keep)
		ik_child_remove(c, "its lifetime");
	ik_kick(sa);
}

/* The peer's INFORMATIONAL request: DELETEs and liveness checks. */
void ik_rsp_info(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	struct ike_buf *in = xmalloc(sizeof(*in)), *r = xmalloc(sizeof(*r));
	ikeb_init_chain(in);
	bool kill = false;
	for (unsigned i = 0; i < m->npl; i++) {
		struct ike_delete del;
		if (m->pl[i].type != IKE_PL_D)
			continue;
		if (ike_parse_delete(m->pl[i].body, m->pl[i].len, &del) < 0) {
			ik_say(d, "%s: a malformed Delete payload: ignored", ik_sa_pol(sa)->name);
			continue;
		}
		if (del.proto == IKE_PROTO_IKE) {
			kill = true;
			continue;
		}
		uint8_t satype = del.proto == IKE_PROTO_AH ? SADB_SATYPE_AH : SADB_SATYPE_ESP;
		uint32_t ours[IKED_MAX_CHILDREN];
		unsigned n = 0;
		for (unsigned k = 0; k < del.nspi; k++) {
			struct child *c = ik_child_by_out(sa, satype, get_be32(del.spis + 4 * k));
			if (!c)
				continue;
			if (n < IKED_MAX_CHILDREN)
				ours[n++] = c->spi_in;
			ik_child_remove(c, "the peer's DELETE");
		}
		if (n) /* our halves of the pairs (1.4.1) */
			ikeb_delete(in, del.proto, ours, n);
	}
	struct ike_hdr h;
	ik_hdr_for(sa, &h, INFORMATIONAL, true, m->h.msgid);
	if (ik_seal(sa, &h, in, r) == 0)
		ik_send_response(sa, r);
	sa->peer_msgid = m->h.msgid + 1;
	if (kill) {
		d->st.ike_deletes++;
		ik_say(d, "%s: the peer deleted IKE SA 0x%016llx/0x%016llx", ik_sa_pol(sa)->name,
		       (unsigned long long)ik_spi64(sa->spi_i),
		       (unsigned long long)ik_spi64(sa->spi_r));
		ik_sa_kill(sa, "the peer's DELETE");
	}
	free(in);
	free(r);
}

void ik_ini_info_response(struct ike_sa *sa, const struct ike_msg *m)
{
	(void)m;
	enum req_kind kind = sa->rq;
	sa->rq = RQ_NONE;
	if (kind == RQ_DELETE_IKE) {
		ik_sa_kill(sa, "our DELETE");
		return;
	}
	if (kind == RQ_DELETE_CHILD) {
		for (unsigned i = 0; i < sa->rq_ndel; i++) {
			struct child *c = ik_child_by_spi(sa->d, sa->rq_del[i], &sa->local);
			if (c && c->sa == sa)
				ik_child_remove(c, "our DELETE");
		}
		sa->rq_ndel = 0;
	}
	ik_kick(sa);
}

/* ---- CREATE_CHILD_SA (1.3): rekeying CHILD_SAs and the IKE SA ---- */

/* A DH value for a CREATE_CHILD_SA, into the KE payload of in. */
static int rq_ke(struct ike_sa *sa, uint16_t group, struct ike_buf *in)
{
	uint8_t pub[IKE_DH_MAX];
	sa->rq_group = group;
	rng_bytes(&sa->d->rng, sa->rq_dh, ike_dh_privlen(group));
	if (ike_dh_public(group, sa->rq_dh, pub) < 0)
		return -1;
	ikeb_ke(in, group, pub, ike_dh_publen(group));
	return 0;
}

static void send_ccsa(struct ike_sa *sa, enum req_kind kind, struct ike_buf *in)
{
	struct ike_hdr h;
	struct ike_buf *m = xmalloc(sizeof(*m));
	ik_hdr_for(sa, &h, CREATE_CHILD_SA, false, sa->next_msgid);
	if (ik_seal(sa, &h, in, m) == 0) {
		sa->next_msgid++;
		sa->rq = kind;
		ik_send_request(sa, m);
	} else {
		ik_say(sa->d, "%s: CREATE_CHILD_SA does not fit in a message", ik_sa_pol(sa)->name);
	}
	free(m);
}

/* 1.3.3: N(REKEY_SA), SA, Ni, [KEi], TSi, TSr */
static void send_rekey_child(struct ike_sa *sa, struct child *old)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	uint32_t spi = ik_pf_getspi(d, old->satype, &sa->peer, &sa->local);
	if (!spi) {
		ik_say(d, "%s: GETSPI refused: the CHILD_SA is not rekeyed", p->name);
		return;
	}
	struct ike_buf *in = xmalloc(sizeof(*in));
	ikeb_init_chain(in);
	uint8_t proto = old->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP, ospi[4];
	put_be32(ospi, old->spi_in);
	ikeb_notify(in, proto, ospi, 4, N_REKEY_SA, NULL, 0);
	if (old->transport)
		ikeb_notify(in, 0, NULL, 0, N_USE_TRANSPORT_MODE, NULL, 0);
	struct ike_prop props[IKED_MAX_PROPS];
	ikeb_sa(in, props, ik_build_props(p->child, p->nchild, proto, spi, NULL, true, props));
	rng_bytes(&d->rng, sa->rq_nonce, sizeof(sa->rq_nonce));
	ikeb_nonce(in, sa->rq_nonce, sizeof(sa->rq_nonce));
	sa->rq_group = 0;
	if (p->child[0].ngroup && rq_ke(sa, p->child[0].group[0], in) < 0) {
		ik_pf_delete(d, old->satype, spi, &sa->local);
		free(in);
		return;
	}
	struct ike_ts tsi =
	    ik_ts_of(&old->sel.src, old->mask.src_plen, old->sel.proto, old->sel.sport);
	struct ike_ts tsr =
	    ik_ts_of(&old->sel.dst, old->mask.dst_plen, old->sel.proto, old->sel.dport);
	ikeb_ts(in, IKE_PL_TSI, &tsi, 1);
	ikeb_ts(in, IKE_PL_TSR, &tsr, 1);
	sa->rq_old = old;
	sa->rq_spi = spi;
	ik_say(d, "%s: rekeying CHILD_SA in 0x%08x out 0x%08x", p->name, old->spi_in, old->spi_out);
	send_ccsa(sa, RQ_REKEY_CHILD, in);
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
}

/* The shared secret of a CREATE_CHILD_SA's KE payloads; 0 bytes without PFS. */
static int ccsa_shared(struct ike_sa *sa, uint16_t group, const uint8_t *priv,
		       const struct ike_payload *ke, uint8_t *shared, size_t *slen)
{
	*slen = 0;
	if (!group)
		return 0;
	uint16_t g;
	const uint8_t *kd;
	size_t kdlen;
	if (!ke || ike_parse_ke(ke->body, ke->len, &g, &kd, &kdlen) < 0 || g != group)
		return -1;
	(void)sa;
	return ike_dh_shared(group, priv, kd, kdlen, shared, slen);
}

/* Our DH value and the shared secret for the peer's KE data. */
static bool dh_answer(struct iked *d, uint16_t group, uint8_t *priv, uint8_t *pub,
		      const uint8_t *kd, size_t kdlen, uint8_t *shared, size_t *slen)
{
	rng_bytes(&d->rng, priv, ike_dh_privlen(group));
	return ike_dh_public(group, priv, pub) == 0 &&
	       ike_dh_shared(group, priv, kd, kdlen, shared, slen) == 0;
}

/* A CHILD_SA like old (its flow, mode) with the suite s. */
static struct child *child_like(struct ike_sa *sa, const struct child *old, const struct suite *s)
{
	struct child *c = ik_child_new(sa);
	if (!c)
		return NULL;
	c->satype = old->satype;
	c->transport = old->transport;
	c->sel = old->sel;
	c->mask = old->mask;
	c->encr = s->encr;
	c->encr_bits = s->encr_bits;
	c->integ = s->integ;
	c->group = s->group;
	c->esn = s->esn == 1;
	return c;
}

void ik_ini_rekey_child_response(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	struct child *old = sa->rq_old;
	sa->rq = RQ_NONE;
	sa->rq_old = NULL;
	uint16_t err = ik_error_notify(m, NULL);
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *no = ike_find(m, IKE_PL_NONCE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp;
	struct suite s;
	uint8_t proto = p->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP;
	uint8_t shared[IKE_DH_MAX];
	size_t slen = 0;
	struct child *c = NULL;
	if (err) {
		ik_fail_notify(sa, err, "CREATE_CHILD_SA");
	} else if (!old || !sap || !no || no->len < 16 || no->len > 256 ||
		   ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 || nrp != 1 ||
		   ik_choose(rp, 1, p->child, p->nchild, proto, true, &s) != 0 ||
		   s.group != sa->rq_group ||
		   ccsa_shared(sa, s.group, sa->rq_dh, ike_find(m, IKE_PL_KE), shared, &slen) < 0) {
		ik_say(d,
		       "%s: the CREATE_CHILD_SA response is not one we can take: DELETE of what "
		       "the peer made",
		       p->name);
		queue_delete_spi(sa, p->satype, sa->rq_spi);
	} else if ((c = child_like(sa, old, &s))) {
		c->spi_in = sa->rq_spi;
		c->spi_out = get_be32(rp[0].spi);
		sa->rq_spi = 0;
		if (ik_install_child(sa, c, true, sa->rq_nonce, sizeof(sa->rq_nonce), no->body,
				     no->len, shared, slen)) {
			d->st.child_rekeys++;
			ik_queue_delete(sa, old, true);
		}
	}
	if (sa->rq_spi) /* the larval SA of a rekey that did not happen */
		ik_pf_delete(d, p->satype, sa->rq_spi, &sa->local);
	sa->rq_spi = 0;
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(sa->rq_dh, sizeof(sa->rq_dh));
	ik_kick(sa);
}

/* 1.3.2: SA (the IKE proposals with our new SPI), Ni, KEi */
static void send_rekey_ike(struct ike_sa *sa)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	struct ike_buf *in = xmalloc(sizeof(*in));
	ikeb_init_chain(in);
	do
		rng_bytes(&d->rng, sa->rq_ikespi, 8);
	while (ik_sa_by_key(d, sa->rq_ikespi, true));
	struct ike_prop props[IKED_MAX_PROPS];
	unsigned n = ik_build_props(p->ike, p->nike, IKE_PROTO_IKE, 0, &sa->group, false, props);
	for (unsigned i = 0; i < n; i++) {
		props[i].spisize = 8;
		memcpy(props[i].spi, sa->rq_ikespi, 8);
	}
	ikeb_sa(in, props, n);
	rng_bytes(&d->rng, sa->rq_nonce, sizeof(sa->rq_nonce));
	ikeb_nonce(in, sa->rq_nonce, sizeof(sa->rq_nonce));
	if (rq_ke(sa, sa->group, in) < 0) {
		free(in);
		return;
	}
	ik_say(d, "%s: rekeying IKE SA 0x%016llx/0x%016llx", p->name,
	       (unsigned long long)ik_spi64(sa->spi_i), (unsigned long long)ik_spi64(sa->spi_r));
	send_ccsa(sa, RQ_REKEY_IKE, in);
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
}

/* The IKE SA that replaces old: keys from old's SK_d (2.18), its
 * CHILD_SAs and waiting DELETEs moved over; old then waits for its own
 * DELETE (sent by whoever began the rekey). */
static struct ike_sa *ike_successor(struct ike_sa *old, bool initiator, const uint8_t *spi_i,
				    const uint8_t *spi_r, const struct suite *s, const uint8_t *ni,
				    size_t nilen, const uint8_t *nr, size_t nrlen,
				    const uint8_t *shared, size_t slen)
{
	struct iked *d = old->d;
	struct ike_sa *sa =
	    ik_sa_new(d, old->pol, initiator, &old->local, &old->peer, old->peer_port, spi_i);
	if (!sa)
		return NULL;
	if (spi_r)
		memcpy(sa->spi_r, spi_r, 8);
	sa->encr = s->encr;
	sa->encr_bits = s->encr_bits;
	sa->prf = s->prf;
	sa->integ = s->integ;
	sa->group = s->group;
	ike_encr_info(sa->encr, sa->encr_bits, &sa->ei);
	memcpy(sa->ni, ni, nilen);
	sa->nilen = nilen;
	memcpy(sa->nr, nr, nrlen);
	sa->nrlen = nrlen;
	sa->natt = old->natt;
	sa->nat_local = old->nat_local;
	if (ik_derive_keys(sa, shared, slen, old) < 0) {
		ik_sa_kill(sa, "an error");
		return NULL;
	}
	if (initiator)
		ik_table_add(sa);
	for (unsigned i = 0; i < old->nch; i++) {
		old->ch[i]->sa = sa;
		sa->ch[sa->nch++] = old->ch[i];
	}
	old->nch = 0;
	memcpy(sa->del_spi, old->del_spi, sizeof(old->del_spi));
	sa->ndel = old->ndel;
	sa->del_satype = old->del_satype;
	old->ndel = 0;
	old->moved = true;
	ik_arm(old, T_REPLACED, IKED_DELETE_WAIT); /* in case its DELETE never comes */
	if (d->pols[old->pol]->cur_sa == old->serial)
		d->pols[old->pol]->cur_sa = sa->serial;
	ik_set_state(sa, S_ESTABLISHED);
	sa->established_at = sa->last_recv = d->w->sim->now;
	d->st.ike_rekeys++;
	ik_say(d, "%s: IKE SA 0x%016llx/0x%016llx replaces 0x%016llx/0x%016llx",
	       ik_sa_pol(sa)->name, (unsigned long long)ik_spi64(sa->spi_i),
	       (unsigned long long)ik_spi64(sa->spi_r), (unsigned long long)ik_spi64(old->spi_i),
	       (unsigned long long)ik_spi64(old->spi_r));
	arm_established(sa);
	return sa;
}

void ik_ini_rekey_ike_response(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	sa->rq = RQ_NONE;
	uint16_t err = ik_error_notify(m, NULL);
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *no = ike_find(m, IKE_PL_NONCE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp;
	struct suite s;
	uint8_t shared[IKE_DH_MAX];
	size_t slen = 0;
	if (err) {
		ik_fail_notify(sa, err, "the IKE SA rekey");
		if (err == N_TEMPORARY_FAILURE) /* the peer is busy: again in 2 to 5 s */
			ik_arm(sa, T_IKE_REKEY,
			       2 * NS_PER_SEC + rng_below(&d->rng, 3 * NS_PER_SEC));
	} else if (!sap || !no || no->len < 16 || no->len > 256 ||
		   ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 || nrp != 1 ||
		   rp[0].spisize != 8 ||
		   ik_choose(rp, 1, p->ike, p->nike, IKE_PROTO_IKE, false, &s) != 0 ||
		   s.group != sa->rq_group ||
		   ccsa_shared(sa, s.group, sa->rq_dh, ike_find(m, IKE_PL_KE), shared, &slen) < 0) {
		ik_say(d, "%s: the IKE SA rekey response is not one we can take", p->name);
	} else if (ike_successor(sa, true, sa->rq_ikespi, rp[0].spi, &s, sa->rq_nonce,
				 sizeof(sa->rq_nonce), no->body, no->len, shared, slen)) {
		sa->delete_due = true;
	}
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(sa->rq_dh, sizeof(sa->rq_dh));
	ik_kick(sa);
}

/* The peer's CREATE_CHILD_SA: a CHILD_SA rekey (REKEY_SA), an IKE SA
 * rekey (an IKE proposal), or a new CHILD_SA, which this daemon does not
 * make beside a policy's own (NO_ADDITIONAL_SAS). */
void ik_rsp_ccsa(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	struct ike_buf *in = xmalloc(sizeof(*in)), *r = xmalloc(sizeof(*r));
	ikeb_init_chain(in);
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *no = ike_find(m, IKE_PL_NONCE),
				 *ke = ike_find(m, IKE_PL_KE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp = 0;
	struct ike_notify rn;
	bool rekey_child = ik_find_notify(m, N_REKEY_SA, &rn) != NULL;
	uint16_t fail = 0;
	struct suite s = {0};
	int chosen = -1;
	uint8_t shared[IKE_DH_MAX], pub[IKE_DH_MAX], nr[IKED_NONCE_LEN], dh[IKE_DHPRIV_MAX];
	size_t slen = 0;
	uint16_t keg = 0;
	const uint8_t *kd = NULL;
	size_t kdlen = 0;
	bool have_ke = ke && ike_parse_ke(ke->body, ke->len, &keg, &kd, &kdlen) == 0;
	rng_bytes(&d->rng, nr, sizeof(nr));
	if (!sap || !no || no->len < 16 || no->len > 256 ||
	    ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 || !nrp) {
		fail = N_INVALID_SYNTAX;
	} else if (rekey_child) {
		uint8_t proto = rn.proto;
		uint8_t satype = proto == IKE_PROTO_AH ? SADB_SATYPE_AH : SADB_SATYPE_ESP;
		struct child *old =
		    rn.spisize == 4 ? ik_child_by_out(sa, satype, get_be32(rn.spi)) : NULL;
		struct child *c = NULL;
		if (!old || old->replaced) {
			fail = N_CHILD_SA_NOT_FOUND;
		} else if ((chosen = ik_choose(rp, nrp, p->child, p->nchild, proto, true, &s)) <
			       0 ||
			   old->transport != ik_has_notify(m, N_USE_TRANSPORT_MODE)) {
			fail = N_NO_PROPOSAL_CHOSEN;
			d->st.no_proposal++;
		} else if (s.group && !have_ke) {
			fail = N_INVALID_SYNTAX;
		} else if (s.group && keg != s.group) {
			fail = N_INVALID_KE_PAYLOAD;
		} else if (s.group && !dh_answer(d, s.group, dh, pub, kd, kdlen, shared, &slen)) {
			fail = N_INVALID_SYNTAX;
		} else if (!(c = child_like(sa, old, &s))) {
			fail = N_NO_ADDITIONAL_SAS;
		} else {
			c->spi_out = get_be32(rp[chosen].spi);
			c->spi_in = ik_pf_getspi(d, c->satype, &sa->peer, &sa->local);
			if (!c->spi_in) {
				ik_child_remove(c, "a refusal");
				fail = N_TEMPORARY_FAILURE;
			} else if (!ik_install_child(sa, c, false, no->body, no->len, nr,
						     sizeof(nr), shared, slen)) {
				fail = N_TEMPORARY_FAILURE;
			} else {
				d->st.child_rekeys++;
				old->replaced = true; /* the initiator DELETEs it */
				if (c->transport)
					ikeb_notify(in, 0, NULL, 0, N_USE_TRANSPORT_MODE, NULL, 0);
				struct ike_prop one;
				ik_chosen_prop(&rp[chosen], &s, proto, c->spi_in, NULL, &one);
				ikeb_sa(in, &one, 1);
				ikeb_nonce(in, nr, sizeof(nr));
				if (s.group)
					ikeb_ke(in, s.group, pub, ike_dh_publen(s.group));
				struct ike_ts tsi = ik_ts_of(&c->sel.dst, c->mask.dst_plen,
							     c->sel.proto, c->sel.dport);
				struct ike_ts tsr = ik_ts_of(&c->sel.src, c->mask.src_plen,
							     c->sel.proto, c->sel.sport);
				ikeb_ts(in, IKE_PL_TSI, &tsi, 1);
				ikeb_ts(in, IKE_PL_TSR, &tsr, 1);
			}
		}
	} else if (rp[0].proto == IKE_PROTO_IKE) {
		struct ike_sa *nsa = NULL;
		if (sa->moved || sa->rq != RQ_NONE) {
			/* 2.25: not while an exchange of ours is under way on it
			 * (our own rekey of it, or one of its CHILD_SAs') */
			fail = N_TEMPORARY_FAILURE;
		} else if ((chosen = ik_choose(rp, nrp, p->ike, p->nike, IKE_PROTO_IKE, false,
					       &s)) < 0 ||
			   rp[chosen].spisize != 8) {
			fail = N_NO_PROPOSAL_CHOSEN;
			d->st.no_proposal++;
		} else if (!have_ke) {
			fail = N_INVALID_SYNTAX;
		} else if (keg != s.group) {
			fail = N_INVALID_KE_PAYLOAD;
		} else if (!dh_answer(d, s.group, dh, pub, kd, kdlen, shared, &slen)) {
			fail = N_INVALID_SYNTAX;
		} else if (!(nsa = ike_successor(sa, false, rp[chosen].spi, NULL, &s, no->body,
						 no->len, nr, sizeof(nr), shared, slen))) {
			fail = N_TEMPORARY_FAILURE;
		} else {
			struct ike_prop one;
			ik_chosen_prop(&rp[chosen], &s, IKE_PROTO_IKE, 0, nsa->spi_r, &one);
			ikeb_sa(in, &one, 1);
			ikeb_nonce(in, nr, sizeof(nr));
			ikeb_ke(in, s.group, pub, ike_dh_publen(s.group));
		}
	} else {
		fail = N_NO_ADDITIONAL_SAS;
	}
	if (fail) {
		/* INVALID_KE_PAYLOAD names the group we chose (1.3, 2.7) */
		uint8_t want[2];
		put_be16(want, s.group);
		ik_say(d, "%s: the peer's CREATE_CHILD_SA refused: %s", p->name,
		       ike_notify_name(fail));
		if (fail == N_INVALID_KE_PAYLOAD)
			d->st.invalid_ke++;
		ikeb_init_chain(in); /* an error notify alone */
		ikeb_notify(in, 0, NULL, 0, fail, want, fail == N_INVALID_KE_PAYLOAD ? 2 : 0);
	}
	struct ike_hdr h;
	ik_hdr_for(sa, &h, CREATE_CHILD_SA, true, m->h.msgid);
	if (ik_seal(sa, &h, in, r) == 0)
		ik_send_response(sa, r);
	sa->peer_msgid = m->h.msgid + 1;
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(dh, sizeof(dh));
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
	free(r);
}
