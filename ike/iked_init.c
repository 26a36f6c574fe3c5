/*
 * IKE_SA_INIT and IKE_AUTH (RFC 7296 1.2), as initiator and as responder
 * (iked_int.h): proposals, DH, nonces, INVALID_KE_PAYLOAD and cookie
 * retries, NAT detection, authentication, and the first CHILD_SA.
 */
#include "iked_int.h"

static const uint8_t zero8[8];

static void nat_found(struct ike_sa *sa, bool peer_nat, bool local_nat);

/* ---- exchanges: initiator ---- */

/* IKE_SA_INIT: fresh makes a new DH value and nonce (a first try, or
 * another group after INVALID_KE_PAYLOAD); a retry with a cookie keeps
 * them (2.6: all other payloads unchanged). */
static void send_sa_init(struct ike_sa *sa, bool fresh)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	struct ike_hdr h;
	ik_hdr_for(sa, &h, IKE_SA_INIT, false, 0);
	struct ike_buf *m = xmalloc(sizeof(*m));
	ikeb_init(m, &h);
	if (sa->cookielen)
		ikeb_notify(m, 0, NULL, 0, N_COOKIE, sa->cookie, sa->cookielen);
	struct ike_prop props[IKED_MAX_PROPS];
	unsigned n = ik_build_props(p->ike, p->nike, IKE_PROTO_IKE, 0, &sa->group, false, props);
	ikeb_sa(m, props, n);
	uint8_t pub[IKE_DH_MAX];
	if (fresh)
		rng_bytes(&d->rng, sa->dhpriv, ike_dh_privlen(sa->group));
	if (ike_dh_public(sa->group, sa->dhpriv, pub) < 0) {
		ik_say(d, "%s: cannot make a DH value for group %u", p->name, sa->group);
		ik_sa_kill(sa, "an error");
		free(m);
		return;
	}
	ikeb_ke(m, sa->group, pub, ike_dh_publen(sa->group));
	if (fresh) {
		sa->nilen = IKED_NONCE_LEN;
		rng_bytes(&d->rng, sa->ni, sa->nilen);
	}
	ikeb_nonce(m, sa->ni, sa->nilen);
	if (d->us_natt) {
		static const uint8_t zero[8];
		ik_nat_notifies(m, sa->spi_i, zero, &sa->local, IKE_PORT, &sa->peer, IKE_PORT);
	}
	ikeb_finish(m);
	free(sa->msg1);
	sa->msg1 = xmalloc(m->len);
	memcpy(sa->msg1, m->b, m->len);
	sa->msg1len = m->len;
	ik_set_state(sa, S_INIT_SENT);
	sa->next_msgid = 1;
	sa->rq = RQ_SA_INIT;
	ik_send_request(sa, m);
	free(m);
}

void ik_initiate(struct iked *d, unsigned pol, const struct ipaddr *local,
		 const struct ipaddr *peer)
{
	ik_sweep(d);
	struct ike_sa *sa = ik_sa_new(d, pol, true, local, peer, IKE_PORT, NULL);
	if (!sa)
		return;
	d->pols[pol]->cur_sa = sa->serial;
	const struct iked_policy *p = &d->pols[pol]->p;
	sa->group = p->ike[0].group[0];
	d->st.initiated++;
	char a[ADDR_STRLEN];
	ik_say(d, "%s: IKE_SA_INIT to %s, SPIi 0x%016llx", p->name, addr_fmt(peer, a),
	       (unsigned long long)ik_spi64(sa->spi_i));
	send_sa_init(sa, true);
}

static void send_auth(struct ike_sa *sa)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	struct child *c = ik_child_new(sa);
	if (!c) {
		ik_sa_kill(sa, "an error");
		return;
	}
	c->satype = p->satype;
	c->transport = p->transport;
	c->spi_in = ik_pf_getspi(d, p->satype, &sa->peer, &sa->local);
	if (!c->spi_in) {
		ik_say(d, "%s: GETSPI refused", p->name);
		ik_sa_kill(sa, "an error");
		return;
	}
	struct ike_buf *in = xmalloc(sizeof(*in)), *m = xmalloc(sizeof(*m));
	ikeb_init_chain(in);
	uint8_t idb[4 + IKED_ID_MAX], auth[IKE_PRF_MAX];
	size_t idlen = ik_id_body(p->srcid, &sa->local, idb);
	ikeb_typed(in, IKE_PL_IDI, idb[0], idb + 4, idlen - 4);
	ik_psk_auth(sa, true, idb, idlen, auth);
	ikeb_typed(in, IKE_PL_AUTH, IKE_AUTH_PSK, auth, ike_prf_len(sa->prf));
	if (p->transport)
		ikeb_notify(in, 0, NULL, 0, N_USE_TRANSPORT_MODE, NULL, 0);
	struct ike_prop props[IKED_MAX_PROPS];
	uint8_t proto = p->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP;
	unsigned n = ik_build_props(p->child, p->nchild, proto, c->spi_in, NULL, false, props);
	ikeb_sa(in, props, n);
	struct ike_ts tsi = ik_ts_of(&p->src, p->src_plen, p->proto, p->sport);
	struct ike_ts tsr = ik_ts_of(&p->dst, p->dst_plen, p->proto, p->dport);
	ikeb_ts(in, IKE_PL_TSI, &tsi, 1);
	ikeb_ts(in, IKE_PL_TSR, &tsr, 1);
	struct ike_hdr h;
	ik_hdr_for(sa, &h, IKE_AUTH, false, sa->next_msgid++);
	if (ik_seal(sa, &h, in, m) < 0) {
		ik_say(d, "%s: IKE_AUTH does not fit in a message", p->name);
		ik_sa_kill(sa, "an error");
	} else {
		ik_set_state(sa, S_AUTH_SENT);
		sa->rq = RQ_AUTH;
		if (sa->natt)
			sa->peer_port = IKE_NATT_PORT; /* from here on, 4500 (2.23) */
		ik_send_request(sa, m);
	}
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
	free(m);
}

void ik_ini_init_response(struct ike_sa *sa, const uint8_t *b, size_t len, const struct ike_msg *m,
			  uint16_t sport)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	struct ike_notify n;
	if (ik_find_notify(m, N_COOKIE, &n) && !ike_find(m, IKE_PL_SA)) {
		d->st.cookies++;
		if (n.datalen < 1 || n.datalen > sizeof(sa->cookie) || sa->cookie_tries >= 2) {
			ik_say(d, "%s: the peer asks for a cookie again (or a bad one): giving up",
			       p->name);
			ik_sa_kill(sa, "a failed negotiation");
			return;
		}
		ik_say(d, "%s: the peer asks for a cookie: IKE_SA_INIT again with it", p->name);
		sa->cookie_tries++;
		memcpy(sa->cookie, n.data, n.datalen);
		sa->cookielen = n.datalen;
		sa->retry_gen++;
		send_sa_init(sa, false);
		return;
	}
	uint16_t err = ik_error_notify(m, &n);
	if (err == N_INVALID_KE_PAYLOAD && n.datalen == 2) {
		uint16_t g = get_be16(n.data);
		d->st.invalid_ke++;
		bool ours = false;
		for (unsigned i = 0; i < p->nike; i++)
			ours |= ik_in_list(p->ike[i].group, p->ike[i].ngroup, g);
		if (!ours || g == sa->group || sa->ke_tries >= IKED_KE_RETRIES) {
			ik_say(d, "%s: INVALID_KE_PAYLOAD asks for group %u, which we do not offer",
			       p->name, g);
			ik_sa_kill(sa, "a failed negotiation");
			return;
		}
		ik_say(d, "%s: INVALID_KE_PAYLOAD: the peer wants group %u; again with it", p->name,
		       g);
		sa->ke_tries++;
		sa->group = g;
		sa->retry_gen++;
		send_sa_init(sa, true);
		return;
	}
	if (err) {
		ik_fail_notify(sa, err, "IKE_SA_INIT");
		ik_sa_kill(sa, "a failed negotiation");
		return;
	}
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *ke = ike_find(m, IKE_PL_KE),
				 *no = ike_find(m, IKE_PL_NONCE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp;
	struct suite s;
	uint16_t g;
	const uint8_t *kd;
	size_t kdlen;
	if (!sap || !ke || !no || ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 ||
	    nrp != 1 || ik_choose(rp, 1, p->ike, p->nike, IKE_PROTO_IKE, false, &s) != 0 ||
	    ike_parse_ke(ke->body, ke->len, &g, &kd, &kdlen) < 0 || g != sa->group ||
	    s.group != sa->group || no->len < 16 || no->len > sizeof(sa->nr)) {
		ik_drop(d, &sa->peer,
			"an IKE_SA_INIT response without a proposal, KE and nonce we sent");
		return;
	}
	memcpy(sa->spi_r, m->h.rspi, 8);
	memcpy(sa->nr, no->body, no->len);
	sa->nrlen = no->len;
	bool peer_nat, local_nat;
	if (d->us_natt && ik_nat_check(m, sa->spi_i, sa->spi_r, &sa->peer, sport, &sa->local,
				       IKE_PORT, &peer_nat, &local_nat))
		nat_found(sa, peer_nat, local_nat);
	sa->encr = s.encr;
	sa->encr_bits = s.encr_bits;
	sa->prf = s.prf;
	sa->integ = s.integ;
	ike_encr_info(sa->encr, sa->encr_bits, &sa->ei);
	uint8_t shared[IKE_DH_MAX];
	size_t slen;
	if (ike_dh_shared(sa->group, sa->dhpriv, kd, kdlen, shared, &slen) < 0) {
		ik_drop(d, &sa->peer, "the responder's KE is not a valid public value");
		ik_sa_kill(sa, "a failed negotiation");
		return;
	}
	int rc = ik_derive_keys(sa, shared, slen, NULL);
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(sa->dhpriv, sizeof(sa->dhpriv));
	if (rc < 0) {
		ik_sa_kill(sa, "an error");
		return;
	}
	free(sa->msg2);
	sa->msg2 = xmalloc(len);
	memcpy(sa->msg2, b, len);
	sa->msg2len = len;
	ik_table_add(sa);
	sa->retry_gen++; /* the IKE_SA_INIT exchange is over */
	free(sa->req);
	sa->req = NULL;
	send_auth(sa);
}

void ik_ini_auth_response(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	sa->retry_gen++;
	free(sa->req);
	sa->req = NULL;
	sa->rq = RQ_NONE;
	uint16_t err = ik_error_notify(m, NULL);
	if (err == N_AUTHENTICATION_FAILED || err == N_INVALID_SYNTAX) {
		ik_fail_notify(sa, err, "IKE_AUTH");
		ik_sa_kill(sa, "a failed authentication");
		return;
	}
	char idtxt[IKED_ID_MAX];
	const char *why = ik_check_auth(sa, m, IKE_PL_IDR, idtxt, sizeof(idtxt));
	if (why) {
		d->st.auth_failures++;
		ik_say(d, "%s: authentication of the responder failed: %s", p->name, why);
		ik_sa_kill(sa, "a failed authentication");
		return;
	}
	ik_established(sa, idtxt);
	struct child *c = sa->nch ? sa->ch[0] : NULL;
	if (!c)
		return;
	if (err) { /* the CHILD_SA failed, the IKE SA stands (2.21.2) */
		ik_fail_notify(sa, err, "the CHILD_SA");
		ik_child_remove(c, "a failed negotiation");
		return;
	}
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *ti = ike_find(m, IKE_PL_TSI),
				 *tr = ike_find(m, IKE_PL_TSR);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp, nti, ntr;
	struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS], want_i, want_r, ni, nr;
	struct suite s;
	uint8_t proto = p->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP;
	want_i = ik_ts_of(&p->src, p->src_plen, p->proto, p->sport);
	want_r = ik_ts_of(&p->dst, p->dst_plen, p->proto, p->dport);
	if (!sap || !ti || !tr || ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 ||
	    nrp != 1 || ik_choose(rp, 1, p->child, p->nchild, proto, false, &s) != 0 ||
	    ike_parse_ts(ti->body, ti->len, tsi, IKE_MAX_TS, &nti) < 0 ||
	    ike_parse_ts(tr->body, tr->len, tsr, IKE_MAX_TS, &ntr) < 0 || !nti || !ntr ||
	    !ik_ts_narrow(&tsi[0], &want_i, &ni) || !ik_ts_narrow(&tsr[0], &want_r, &nr) ||
	    p->transport != ik_has_notify(m, N_USE_TRANSPORT_MODE) || !ik_child_flow(c, &ni, &nr)) {
		ik_say(d, "%s: the CHILD_SA in the IKE_AUTH response is not one we proposed",
		       p->name);
		ik_child_remove(c, "a failed negotiation");
		return;
	}
	c->encr = s.encr;
	c->encr_bits = s.encr_bits;
	c->integ = s.integ;
	c->esn = s.esn == 1;
	c->spi_out = get_be32(rp[0].spi);
	ik_install_child(sa, c, true, sa->ni, sa->nilen, sa->nr, sa->nrlen, NULL, 0);
}

/* ---- exchanges: responder ---- */

static bool local_ok(const struct iked_policy *p, const struct ipaddr *to)
{
	return !p->has_local || addr_eq(&p->local, to);
}

/* The policy for a peer at `from` reaching us at `to`: one naming that
 * peer first, then one with `peer any`. */
static int find_policy(struct iked *d, const struct ipaddr *from, const struct ipaddr *to)
{
	for (unsigned i = ik_first_for_peer(d, from); i; i = d->pols[i - 1]->next_same_peer)
		if (local_ok(&d->pols[i - 1]->p, to))
			return (int)i - 1;
	for (unsigned k = 0; k < d->nany; k++)
		if (local_ok(&d->pols[d->any_pols[k]]->p, to))
			return (int)d->any_pols[k];
	return -1;
}

/* An unprotected answer to an IKE_SA_INIT request: one notify. */
static void init_notify(struct iked *d, const struct ike_msg *req, const struct ipaddr *to,
			uint16_t port, const struct ipaddr *from, uint16_t type,
			const uint8_t *data, size_t dlen)
{
	struct ike_hdr h = req->h;
	memset(h.rspi, 0, 8);
	h.flags = IKE_FLAG_R;
	struct ike_buf *m = xmalloc(sizeof(*m));
	ikeb_init(m, &h);
	ikeb_notify(m, 0, NULL, 0, type, data, dlen);
	ikeb_finish(m);
	struct udp_send_opts o = {.src = from};
	(void)udp_sendto(d->us, to, port, m->b, m->len, &o);
	free(m);
}

void ik_rsp_sa_init(struct iked *d, const uint8_t *b, size_t len, const struct ike_msg *m,
		    const struct ipaddr *from, uint16_t sport, const struct ipaddr *to)
{
	char a[ADDR_STRLEN];
	/* A retransmitted request: the same answer again. */
	struct ike_sa *o = ik_sa_by_key(d, m->h.ispi, false);
	if (o && o->state != S_DEAD && addr_eq(&o->peer, from) && o->msg1len == len &&
	    memcmp(o->msg1, b, len) == 0) {
		if (o->resp && o->msg2) /* on port 500, whatever came after */
			ik_send_via(o, o->msg2, o->msg2len, false, sport);
		return;
	}
	int pol = find_policy(d, from, to);
	if (pol < 0) {
		ik_drop(d, from, "IKE_SA_INIT from a peer no policy names");
		return;
	}
	const struct iked_policy *p = &d->pols[pol]->p;
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *ke = ike_find(m, IKE_PL_KE),
				 *no = ike_find(m, IKE_PL_NONCE);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp;
	uint16_t g;
	const uint8_t *kd;
	size_t kdlen;
	if (!sap || !ke || !no || ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 ||
	    ike_parse_ke(ke->body, ke->len, &g, &kd, &kdlen) < 0 || no->len < 16 || no->len > 256) {
		init_notify(d, m, from, sport, to, N_INVALID_SYNTAX, NULL, 0);
		ik_drop(d, from, "an IKE_SA_INIT request without a valid SA, KE and nonce");
		return;
	}
	/* Under load, a cookie first (2.6): no state until the peer shows
	 * it can receive at its address. */
	if (d->set.cookie_threshold && d->halfopen >= d->set.cookie_threshold) {
		uint8_t want[IKED_COOKIE_LEN];
		struct ike_notify cn;
		ik_make_cookie(d, no->body, no->len, from, m->h.ispi, want);
		bool ok = m->npl && m->pl[0].type == IKE_PL_N && ik_find_notify(m, N_COOKIE, &cn) &&
			  cn.data == m->pl[0].body + 4 && cn.datalen == sizeof(want) &&
			  CRYPTO_memcmp(cn.data, want, sizeof(want)) == 0;
		if (!ok) {
			d->st.cookies++;
			ik_say(d, "%s: %u half-open IKE SAs: a cookie for %s", p->name, d->halfopen,
			       addr_fmt(from, a));
			init_notify(d, m, from, sport, to, N_COOKIE, want, sizeof(want));
			return;
		}
	}
	struct suite s;
	int chosen = ik_choose(rp, nrp, p->ike, p->nike, IKE_PROTO_IKE, false, &s);
	if (chosen < 0) {
		d->st.no_proposal++;
		ik_say(d, "%s: no proposal of %s's IKE_SA_INIT is acceptable: NO_PROPOSAL_CHOSEN",
		       p->name, addr_fmt(from, a));
		init_notify(d, m, from, sport, to, N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (g != s.group) {
		uint8_t want[2];
		put_be16(want, s.group);
		d->st.invalid_ke++;
		ik_say(d, "%s: %s sent KE for group %u, we chose %u: INVALID_KE_PAYLOAD", p->name,
		       addr_fmt(from, a), g, s.group);
		init_notify(d, m, from, sport, to, N_INVALID_KE_PAYLOAD, want, 2);
		return;
	}
	ik_sweep(d);
	struct ike_sa *sa = ik_sa_new(d, (unsigned)pol, false, to, from, sport, m->h.ispi);
	if (!sa)
		return;
	sa->encr = s.encr;
	sa->encr_bits = s.encr_bits;
	sa->prf = s.prf;
	sa->integ = s.integ;
	sa->group = s.group;
	ike_encr_info(sa->encr, sa->encr_bits, &sa->ei);
	memcpy(sa->ni, no->body, no->len);
	sa->nilen = no->len;
	uint8_t pub[IKE_DH_MAX], shared[IKE_DH_MAX];
	size_t slen;
	rng_bytes(&d->rng, sa->dhpriv, ike_dh_privlen(sa->group));
	if (ike_dh_public(sa->group, sa->dhpriv, pub) < 0 ||
	    ike_dh_shared(sa->group, sa->dhpriv, kd, kdlen, shared, &slen) < 0) {
		init_notify(d, m, from, sport, to, N_INVALID_SYNTAX, NULL, 0);
		ik_sa_kill(sa, "a failed negotiation");
		ik_drop(d, from, "the initiator's KE is not a valid public value");
		return;
	}
	OPENSSL_cleanse(sa->dhpriv, sizeof(sa->dhpriv));
	sa->nrlen = IKED_NONCE_LEN;
	rng_bytes(&d->rng, sa->nr, sa->nrlen);
	int rc = ik_derive_keys(sa, shared, slen, NULL);
	OPENSSL_cleanse(shared, sizeof(shared));
	if (rc < 0) {
		ik_sa_kill(sa, "an error");
		return;
	}
	struct ike_hdr h;
	ik_hdr_for(sa, &h, IKE_SA_INIT, true, 0);
	struct ike_buf *r = xmalloc(sizeof(*r));
	ikeb_init(r, &h);
	struct ike_prop one;
	ik_chosen_prop(&rp[chosen], &s, IKE_PROTO_IKE, 0, NULL, &one);
	ikeb_sa(r, &one, 1);
	ikeb_ke(r, sa->group, pub, ike_dh_publen(sa->group));
	ikeb_nonce(r, sa->nr, sa->nrlen);
	bool peer_nat = false, local_nat = false;
	bool nat = d->us_natt && ik_nat_check(m, sa->spi_i, zero8, from, sport, to, IKE_PORT,
					      &peer_nat, &local_nat);
	if (nat)
		ik_nat_notifies(r, sa->spi_i, sa->spi_r, to, IKE_PORT, from, sport);
	ikeb_finish(r);
	sa->msg1 = xmalloc(len);
	memcpy(sa->msg1, b, len);
	sa->msg1len = len;
	sa->msg2 = xmalloc(r->len);
	memcpy(sa->msg2, r->b, r->len);
	sa->msg2len = r->len;
	ik_set_state(sa, S_INIT_DONE);
	sa->peer_msgid = 1;
	ik_send_response(sa, r);
	free(r);
	ik_arm(sa, T_HALFOPEN, IKED_HALFOPEN);
	if (nat) /* after the answer, which goes on port 500 */
		nat_found(sa, peer_nat, local_nat);
}

void ik_rsp_auth(struct ike_sa *sa, const struct ike_msg *m)
{
	struct iked *d = sa->d;
	const struct iked_policy *p = ik_sa_pol(sa);
	struct ike_buf *in = xmalloc(sizeof(*in)), *r = xmalloc(sizeof(*r));
	ikeb_init_chain(in);
	char idtxt[IKED_ID_MAX], a[ADDR_STRLEN];
	const char *why = ik_check_auth(sa, m, IKE_PL_IDI, idtxt, sizeof(idtxt));
	struct ike_hdr h;
	ik_hdr_for(sa, &h, IKE_AUTH, true, m->h.msgid);
	if (why) {
		d->st.auth_failures++;
		ik_say(d, "%s: authentication of %s failed: %s: AUTHENTICATION_FAILED", p->name,
		       addr_fmt(&sa->peer, a), why);
		ikeb_notify(in, 0, NULL, 0, N_AUTHENTICATION_FAILED, NULL, 0);
		if (ik_seal(sa, &h, in, r) == 0)
			ik_send_response(sa, r);
		ik_sa_kill(sa, "a failed authentication");
		goto out;
	}
	uint8_t idb[4 + IKED_ID_MAX], auth[IKE_PRF_MAX];
	size_t idlen = ik_id_body(p->srcid, &sa->local, idb);
	ikeb_typed(in, IKE_PL_IDR, idb[0], idb + 4, idlen - 4);
	ik_psk_auth(sa, false, idb, idlen, auth);
	ikeb_typed(in, IKE_PL_AUTH, IKE_AUTH_PSK, auth, ike_prf_len(sa->prf));
	ik_established(sa, idtxt);

	/* The CHILD_SA: a proposal we accept, selectors narrowed to ours. */
	struct child tmp = {.sa = sa}, *c = &tmp;
	const struct ike_payload *sap = ike_find(m, IKE_PL_SA), *ti = ike_find(m, IKE_PL_TSI),
				 *tr = ike_find(m, IKE_PL_TSR);
	struct ike_prop rp[IKE_MAX_PROPS];
	unsigned nrp = 0, nti = 0, ntr = 0;
	struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS], ni, nr;
	struct suite s;
	uint8_t proto = p->satype == SADB_SATYPE_AH ? IKE_PROTO_AH : IKE_PROTO_ESP;
	int chosen = -1;
	uint16_t fail = 0;
	if (!sap || !ti || !tr || ike_parse_sa(sap->body, sap->len, rp, IKE_MAX_PROPS, &nrp) < 0 ||
	    ike_parse_ts(ti->body, ti->len, tsi, IKE_MAX_TS, &nti) < 0 ||
	    ike_parse_ts(tr->body, tr->len, tsr, IKE_MAX_TS, &ntr) < 0) {
		fail = N_INVALID_SYNTAX;
	} else if ((chosen = ik_choose(rp, nrp, p->child, p->nchild, proto, false, &s)) < 0 ||
		   p->transport != ik_has_notify(m, N_USE_TRANSPORT_MODE)) {
		fail = N_NO_PROPOSAL_CHOSEN;
		d->st.no_proposal++;
	} else {
		/* Our policy seen from the initiator: its TSi is our dst. */
		struct ike_ts our_i = ik_ts_of(&p->dst, p->dst_plen, p->proto, p->dport);
		struct ike_ts our_r = ik_ts_of(&p->src, p->src_plen, p->proto, p->sport);
		if (!ik_ts_narrow(&tsi[0], &our_i, &ni) || !ik_ts_narrow(&tsr[0], &our_r, &nr) ||
		    !ik_child_flow(c, &nr, &ni)) {
			fail = N_TS_UNACCEPTABLE;
			d->st.ts_unacceptable++;
		}
	}
	if (!fail && !(c = ik_child_new(sa))) {
		fail = N_NO_ADDITIONAL_SAS;
	} else if (!fail) {
		c->sel = tmp.sel;
		c->mask = tmp.mask;
		c->satype = p->satype;
		c->transport = p->transport;
		c->encr = s.encr;
		c->encr_bits = s.encr_bits;
		c->integ = s.integ;
		c->esn = s.esn == 1;
		c->spi_out = get_be32(rp[chosen].spi);
		c->spi_in = ik_pf_getspi(d, p->satype, &sa->peer, &sa->local);
		if (!c->spi_in) {
			ik_child_remove(c, "a refusal");
			fail = N_TEMPORARY_FAILURE;
		} else if (!ik_install_child(sa, c, false, sa->ni, sa->nilen, sa->nr, sa->nrlen,
					     NULL, 0)) {
			fail = N_TEMPORARY_FAILURE;
		}
	}
	if (fail) {
		ik_say(d, "%s: CHILD_SA refused: %s", p->name, ike_notify_name(fail));
		ikeb_notify(in, 0, NULL, 0, fail, NULL, 0);
	} else {
		if (p->transport)
			ikeb_notify(in, 0, NULL, 0, N_USE_TRANSPORT_MODE, NULL, 0);
		struct ike_prop one;
		ik_chosen_prop(&rp[chosen], &s, proto, c->spi_in, NULL, &one);
		ikeb_sa(in, &one, 1);
		ikeb_ts(in, IKE_PL_TSI, &ni, 1);
		ikeb_ts(in, IKE_PL_TSR, &nr, 1);
	}
	if (ik_seal(sa, &h, in, r) == 0)
		ik_send_response(sa, r);
out:
	sa->peer_msgid = m->h.msgid + 1;
	OPENSSL_cleanse(in, sizeof(*in));
	free(in);
	free(r);
}

/* What the NAT_DETECTION notifies found: from now on IKE goes on port
 * 4500 and the CHILD_SAs in UDP; whoever is behind a NAT keeps its
 * mapping alive with keepalives. */
static void nat_found(struct ike_sa *sa, bool peer_nat, bool local_nat)
{
	if (!peer_nat && !local_nat)
		return;
	char a[ADDR_STRLEN];
	sa->natt = true;
	sa->nat_local = local_nat;
	sa->d->st.nat_detected++;
	ik_say(sa->d, "%s: a NAT %s: IKE and ESP go in UDP port 4500 to %s", ik_sa_pol(sa)->name,
	       local_nat && peer_nat ? "on both sides"
	       : local_nat           ? "on our side"
				     : "on the peer's side",
	       addr_fmt(&sa->peer, a));
	if (!sa->initiator)
		sa->peer_port = IKE_NATT_PORT; /* until it speaks from its NAT's port */
}
