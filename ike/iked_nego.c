/*
 * What both ends of an IKE exchange compute alike (iked_int.h): our
 * proposals and the choice among the peer's, traffic selectors and their
 * narrowing (2.9), identities and the shared-key AUTH (2.15), the
 * NAT_DETECTION hashes (2.23), cookies (2.6) and notifies.
 */
#include "iked_int.h"

/* ---- proposals ---- */

/* Our proposals for the IKE SA (spisize 0) or a CHILD_SA (with spi); a
 * CHILD_SA's DH groups (PFS) only when child_dh (CREATE_CHILD_SA). */
unsigned ik_build_props(const struct iked_prop *ps, unsigned n, uint8_t proto, uint32_t spi,
			const uint16_t *only_group, bool child_dh, struct ike_prop *out)
{
	for (unsigned i = 0; i < n; i++) {
		const struct iked_prop *p = &ps[i];
		struct ike_prop *o = &out[i];
		memset(o, 0, sizeof(*o));
		o->num = (uint8_t)(i + 1);
		o->proto = proto;
		if (proto != IKE_PROTO_IKE) {
			o->spisize = 4;
			put_be32(o->spi, spi);
		}
		bool all_aead = true;
		for (unsigned j = 0; j < p->nencr && proto != IKE_PROTO_AH; j++) {
			o->xf[o->nxf++] = (struct ike_xf){
			    IKE_XF_ENCR, p->encr[j],
			    p->encr[j] == ENCR_CHACHA20_POLY1305 ? 0 : p->encr_bits[j]};
			if (p->encr[j] == ENCR_AES_CBC)
				all_aead = false;
		}
		if (proto == IKE_PROTO_AH)
			all_aead = false;
		for (unsigned j = 0; j < p->nprf && proto == IKE_PROTO_IKE; j++)
			o->xf[o->nxf++] = (struct ike_xf){IKE_XF_PRF, p->prf[j], 0};
		for (unsigned j = 0; j < p->ninteg && !all_aead; j++)
			o->xf[o->nxf++] = (struct ike_xf){IKE_XF_INTEG, p->integ[j], 0};
		if (proto == IKE_PROTO_IKE) {
			if (only_group) /* the group of our KE first, as iked does after INVALID_KE
					 */
				o->xf[o->nxf++] = (struct ike_xf){IKE_XF_DH, *only_group, 0};
			for (unsigned j = 0; j < p->ngroup; j++)
				if (!only_group || p->group[j] != *only_group)
					o->xf[o->nxf++] =
					    (struct ike_xf){IKE_XF_DH, p->group[j], 0};
		} else {
			for (unsigned j = 0; j < p->ngroup && child_dh; j++)
				o->xf[o->nxf++] = (struct ike_xf){IKE_XF_DH, p->group[j], 0};
			o->xf[o->nxf++] = (struct ike_xf){IKE_XF_ESN, p->esn ? 1 : 0, 0};
		}
	}
	return n;
}

bool ik_in_list(const uint16_t *l, unsigned n, uint16_t v)
{
	for (unsigned i = 0; i < n; i++)
		if (l[i] == v)
			return true;
	return false;
}

static bool match_prop(const struct ike_prop *rp, const struct iked_prop *ours, uint8_t proto,
		       bool child_dh, struct suite *s)
{
	memset(s, 0, sizeof(*s));
	s->esn = -1;
	bool have_encr = false, have_prf = false, have_integ = false, have_group = false;
	bool integ_none = false;
	for (unsigned i = 0; i < rp->nxf; i++) {
		const struct ike_xf *x = &rp->xf[i];
		switch (x->type) {
		case IKE_XF_ENCR:
			if (have_encr)
				break;
			for (unsigned j = 0; j < ours->nencr; j++)
				if (ours->encr[j] == x->id && (x->id == ENCR_CHACHA20_POLY1305 ||
							       ours->encr_bits[j] == x->keylen)) {
					have_encr = true;
					s->encr = x->id;
					s->encr_bits = x->keylen;
					break;
				}
			break;
		case IKE_XF_PRF:
			if (!have_prf && ik_in_list(ours->prf, ours->nprf, x->id)) {
				have_prf = true;
				s->prf = x->id;
			}
			break;
		case IKE_XF_INTEG:
			if (x->id == AUTH_NONE)
				integ_none = true;
			else if (!have_integ && ik_in_list(ours->integ, ours->ninteg, x->id)) {
				have_integ = true;
				s->integ = x->id;
			}
			break;
		case IKE_XF_DH:
			if (!have_group && (ik_in_list(ours->group, ours->ngroup, x->id) ||
					    /* a CHILD_SA with no PFS of ours takes the peer's */
					    (proto != IKE_PROTO_IKE && !ours->ngroup && x->id &&
					     ike_dh_publen(x->id)))) {
				have_group = true;
				s->group = x->id;
			}
			break;
		case IKE_XF_ESN:
			if (s->esn < 0 && x->id == (ours->esn ? 1 : 0))
				s->esn = x->id;
			break;
		default: break;
		}
	}
	(void)integ_none;
	bool aead = s->encr == ENCR_AES_GCM_16 || s->encr == ENCR_CHACHA20_POLY1305;
	if (aead) {
		s->integ = AUTH_NONE;
		have_integ = true;
	}
	if (proto == IKE_PROTO_IKE)
		return have_encr && have_prf && have_integ && have_group;
	/* PFS: a CREATE_CHILD_SA must agree on a group when ours has one */
	bool dh_ok = !child_dh || !ours->ngroup || have_group;
	if (!child_dh)
		s->group = 0;
	if (proto == IKE_PROTO_AH)
		return have_integ && !aead && s->esn >= 0 && dh_ok;
	return have_encr && have_integ && s->esn >= 0 && dh_ok;
}

/* The first received proposal (in the peer's order) that one of ours
 * accepts: its index, or -1. */
int ik_choose(const struct ike_prop *rps, unsigned nr, const struct iked_prop *ours, unsigned no,
	      uint8_t proto, bool child_dh, struct suite *s)
{
	for (unsigned i = 0; i < nr; i++) {
		if (rps[i].proto != proto)
			continue;
		if (proto != IKE_PROTO_IKE && rps[i].spisize != 4)
			continue;
		for (unsigned j = 0; j < no; j++)
			if (match_prop(&rps[i], &ours[j], proto, child_dh, s))
				return (int)i;
	}
	return -1;
}

/* The chosen suite as a one-proposal SA payload; ikespi: our new IKE
 * SPI when the IKE SA is being rekeyed (else NULL). */
void ik_chosen_prop(const struct ike_prop *rp, const struct suite *s, uint8_t proto, uint32_t spi,
		    const uint8_t *ikespi, struct ike_prop *o)
{
	memset(o, 0, sizeof(*o));
	o->num = rp->num;
	o->proto = proto;
	if (proto != IKE_PROTO_IKE) {
		o->spisize = 4;
		put_be32(o->spi, spi);
	} else if (ikespi) {
		o->spisize = 8;
		memcpy(o->spi, ikespi, 8);
	}
	if (proto != IKE_PROTO_AH)
		o->xf[o->nxf++] = (struct ike_xf){
		    IKE_XF_ENCR, s->encr, s->encr == ENCR_CHACHA20_POLY1305 ? 0 : s->encr_bits};
	if (proto == IKE_PROTO_IKE)
		o->xf[o->nxf++] = (struct ike_xf){IKE_XF_PRF, s->prf, 0};
	if (s->integ != AUTH_NONE)
		o->xf[o->nxf++] = (struct ike_xf){IKE_XF_INTEG, s->integ, 0};
	if (proto == IKE_PROTO_IKE || s->group)
		o->xf[o->nxf++] = (struct ike_xf){IKE_XF_DH, s->group, 0};
	if (proto != IKE_PROTO_IKE)
		o->xf[o->nxf++] = (struct ike_xf){IKE_XF_ESN, (uint16_t)s->esn, 0};
}

/* ---- traffic selectors ---- */

static void range_of(const struct ipaddr *a, unsigned plen, struct ipaddr *lo, struct ipaddr *hi)
{
	*lo = *a;
	*hi = *a;
	unsigned bytes = a->af == ADDR_V6 ? 16 : 4;
	for (unsigned i = 0; i < bytes; i++) {
		unsigned bits = plen > i * 8 ? (plen - i * 8 >= 8 ? 8 : plen - i * 8) : 0;
		uint8_t m = (uint8_t)(0xff00 >> bits);
		lo->a[i] &= m;
		hi->a[i] |= (uint8_t)~m;
	}
}

/* One side of a policy's flow as a TS. */
struct ike_ts ik_ts_of(const struct ipaddr *a, unsigned plen, uint8_t proto, uint16_t port)
{
	struct ike_ts t = {.proto = proto, .sport = port, .eport = port ? port : 0xffff};
	t.type = a->af == ADDR_V6 ? IKE_TS_IPV6_RANGE : IKE_TS_IPV4_RANGE;
	range_of(a, plen, &t.start, &t.end);
	return t;
}

static int acmp(const struct ipaddr *x, const struct ipaddr *y)
{
	return memcmp(x->a, y->a, x->af == ADDR_V6 ? 16 : 4);
}

/* The intersection of two selectors (RFC 7296 2.9 narrowing); false when empty. */
bool ik_ts_narrow(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *r)
{
	if (a->type != b->type)
		return false;
	if (a->proto && b->proto && a->proto != b->proto)
		return false;
	*r = *a;
	r->proto = a->proto ? a->proto : b->proto;
	r->sport = a->sport > b->sport ? a->sport : b->sport;
	r->eport = a->eport < b->eport ? a->eport : b->eport;
	r->start = acmp(&a->start, &b->start) > 0 ? a->start : b->start;
	r->end = acmp(&a->end, &b->end) < 0 ? a->end : b->end;
	return r->sport <= r->eport && acmp(&r->start, &r->end) <= 0;
}

/* A TS as a selector side: a prefix when the range is one, else false. */
static bool ts_prefix(const struct ike_ts *t, struct ipaddr *a, uint8_t *plen, uint16_t *port,
		      bool *port_set)
{
	unsigned bits = t->start.af == ADDR_V6 ? 128 : 32;
	for (unsigned p = 0; p <= bits; p++) {
		struct ipaddr lo, hi;
		range_of(&t->start, p, &lo, &hi);
		if (acmp(&lo, &t->start) == 0 && acmp(&hi, &t->end) == 0) {
			*a = t->start;
			*plen = (uint8_t)p;
			break;
		}
		if (p == bits)
			return false;
	}
	if (t->sport == t->eport) {
		*port = t->sport;
		*port_set = true;
	} else if (t->sport == 0 && t->eport == 0xffff) {
		*port = 0;
		*port_set = false;
	} else {
		return false;
	}
	return true;
}

/* The child's flow from the negotiated TS: ours (our side) and theirs. */
bool ik_child_flow(struct child *c, const struct ike_ts *ours, const struct ike_ts *theirs)
{
	memset(&c->sel, 0, sizeof(c->sel));
	memset(&c->mask, 0, sizeof(c->mask));
	if (!ts_prefix(ours, &c->sel.src, &c->mask.src_plen, &c->sel.sport, &c->mask.sport) ||
	    !ts_prefix(theirs, &c->sel.dst, &c->mask.dst_plen, &c->sel.dport, &c->mask.dport))
		return false;
	c->sel.proto = ours->proto ? ours->proto : theirs->proto;
	c->mask.proto = c->sel.proto != 0;
	return true;
}

/* ---- AUTH (2.15, PSK) ---- */

/* Our ID payload body: srcid as FQDN (RFC822_ADDR with an @), or the address. */
size_t ik_id_body(const char *id, const struct ipaddr *addr, uint8_t *b)
{
	memset(b, 0, 4);
	if (id[0]) {
		size_t n = strlen(id);
		b[0] = strchr(id, '@') ? IKE_ID_UFQDN : IKE_ID_FQDN;
		memcpy(b + 4, id, n);
		return 4 + n;
	}
	b[0] = addr->af == ADDR_V6 ? IKE_ID_IPV6 : IKE_ID_IPV4;
	size_t n = addr->af == ADDR_V6 ? 16 : 4;
	memcpy(b + 4, addr->a, n);
	return 4 + n;
}

/* An ID payload body as text, for messages and for dstid. */
static void id_text(const uint8_t *body, size_t len, char *out, size_t cap)
{
	if (len < 4) {
		snprintf(out, cap, "?");
		return;
	}
	if ((body[0] == IKE_ID_IPV4 && len == 8) || (body[0] == IKE_ID_IPV6 && len == 20)) {
		struct ipaddr a = {.af = body[0] == IKE_ID_IPV4 ? ADDR_V4 : ADDR_V6};
		memcpy(a.a, body + 4, len - 4);
		char s[ADDR_STRLEN];
		snprintf(out, cap, "%s", addr_fmt(&a, s));
		return;
	}
	size_t n = len - 4 < cap - 1 ? len - 4 : cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = body[4 + i] >= 0x20 && body[4 + i] < 0x7f ? (char)body[4 + i] : '?';
	out[n] = 0;
}

/* AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <msg> | <nonce> | prf(SK_p, ID)) */
int ik_psk_auth(const struct ike_sa *sa, bool of_initiator, const uint8_t *idb, size_t idlen,
		uint8_t *out)
{
	const struct iked_policy *p = ik_sa_pol(sa);
	unsigned pl = ike_prf_len(sa->prf);
	const uint8_t *msg = of_initiator ? sa->msg1 : sa->msg2;
	size_t msglen = of_initiator ? sa->msg1len : sa->msg2len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nlen = of_initiator ? sa->nrlen : sa->nilen;
	size_t total = msglen + nlen + pl;
	uint8_t *octets = xmalloc(total);
	uint8_t padkey[IKE_PRF_MAX];
	static const char pad[] = "Key Pad for IKEv2";
	int rc = -1;
	memcpy(octets, msg, msglen);
	memcpy(octets + msglen, nonce, nlen);
	if (ike_prf(sa->prf, of_initiator ? sa->sk_pi : sa->sk_pr, pl, idb, idlen,
		    octets + msglen + nlen) == 0 &&
	    ike_prf(sa->prf, p->psk, p->psklen, (const uint8_t *)pad, sizeof(pad) - 1, padkey) ==
		0 &&
	    ike_prf(sa->prf, padkey, pl, octets, total, out) == 0)
		rc = 0;
	OPENSSL_cleanse(padkey, sizeof(padkey));
	OPENSSL_cleanse(octets, total);
	free(octets);
	return rc;
}

/* Check the peer's ID and AUTH payloads; NULL or why not. */
const char *ik_check_auth(const struct ike_sa *sa, const struct ike_msg *m, uint8_t idtype,
			  char *idtxt, size_t cap)
{
	const struct ike_payload *id = ike_find(m, idtype), *au = ike_find(m, IKE_PL_AUTH);
	if (!id || !au)
		return "no ID or AUTH payload";
	id_text(id->body, id->len, idtxt, cap);
	const struct iked_policy *p = ik_sa_pol(sa);
	if (p->dstid[0] &&
	    (id->len - 4 != strlen(p->dstid) || memcmp(id->body + 4, p->dstid, id->len - 4) != 0 ||
	     (id->body[0] != IKE_ID_FQDN && id->body[0] != IKE_ID_UFQDN)))
		return "the peer's ID is not the policy's dstid";
	uint8_t method;
	const uint8_t *data;
	size_t dlen;
	if (ike_parse_typed(au->body, au->len, &method, &data, &dlen) < 0 || method != IKE_AUTH_PSK)
		return "not a shared-key AUTH";
	uint8_t want[IKE_PRF_MAX];
	if (ik_psk_auth(sa, !sa->initiator, id->body, id->len, want) < 0)
		return "cannot compute AUTH";
	bool ok = dlen == ike_prf_len(sa->prf) && CRYPTO_memcmp(want, data, dlen) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok ? NULL : "the AUTH payload does not match: a different pre-shared key";
}

/* ---- NAT detection (2.23) and cookies (2.6) ---- */

/* SHA-1(SPIi | SPIr | IP | port) */
static void nat_hash(const uint8_t *spi_i, const uint8_t *spi_r, const struct ipaddr *a,
		     uint16_t port, uint8_t out[20])
{
	uint8_t b[16 + 16 + 2];
	size_t n = addr_len(a->af);
	memcpy(b, spi_i, 8);
	memcpy(b + 8, spi_r, 8);
	memcpy(b + 16, a->a, n);
	put_be16(b + 16 + n, port);
	if (ike_sha1(b, 18 + n, out) < 0)
		memset(out, 0, 20);
}

/* Both NAT_DETECTION notifies of a message we send from (src, sport) to
 * (dst, dport). */
void ik_nat_notifies(struct ike_buf *m, const uint8_t *spi_i, const uint8_t *spi_r,
		     const struct ipaddr *src, uint16_t sport, const struct ipaddr *dst,
		     uint16_t dport)
{
	uint8_t h[20];
	nat_hash(spi_i, spi_r, src, sport, h);
	ikeb_notify(m, 0, NULL, 0, N_NAT_DETECTION_SOURCE_IP, h, 20);
	nat_hash(spi_i, spi_r, dst, dport, h);
	ikeb_notify(m, 0, NULL, 0, N_NAT_DETECTION_DESTINATION_IP, h, 20);
}

/* What the NAT_DETECTION notifies of a message that came from (from,
 * sport) to (to, dport) say: false when it had none of either kind (the
 * peer does no NAT-T); else *peer_nat when no source hash is the one of
 * where it came from, *local_nat when the destination hash is not ours. */
bool ik_nat_check(const struct ike_msg *m, const uint8_t *spi_i, const uint8_t *spi_r,
		  const struct ipaddr *from, uint16_t sport, const struct ipaddr *to,
		  uint16_t dport, bool *peer_nat, bool *local_nat)
{
	uint8_t hs[20], hd[20];
	nat_hash(spi_i, spi_r, from, sport, hs);
	nat_hash(spi_i, spi_r, to, dport, hd);
	bool any_s = false, any_d = false, match_s = false, match_d = false;
	for (unsigned i = 0; i < m->npl; i++) {
		struct ike_notify n;
		if (m->pl[i].type != IKE_PL_N ||
		    ike_parse_notify(m->pl[i].body, m->pl[i].len, &n) < 0)
			continue;
		if (n.type == N_NAT_DETECTION_SOURCE_IP) {
			any_s = true;
			match_s |= n.datalen == 20 && memcmp(n.data, hs, 20) == 0;
		} else if (n.type == N_NAT_DETECTION_DESTINATION_IP) {
			any_d = true;
			match_d |= n.datalen == 20 && memcmp(n.data, hd, 20) == 0;
		}
	}
	*peer_nat = any_s && !match_s;
	*local_nat = any_d && !match_d;
	return any_s && any_d;
}

/* Cookie = version 0 | HMAC-SHA-256(secret, Ni | IPi | SPIi): stateless,
 * so that a flood of IKE_SA_INIT from forged addresses costs nothing. */
void ik_make_cookie(const struct iked *d, const uint8_t *ni, size_t nilen,
		    const struct ipaddr *from, const uint8_t *spi_i, uint8_t out[IKED_COOKIE_LEN])
{
	uint8_t b[256 + 16 + 8];
	size_t n = addr_len(from->af);
	memcpy(b, ni, nilen);
	memcpy(b + nilen, from->a, n);
	memcpy(b + nilen + n, spi_i, 8);
	out[0] = 0;
	if (ike_prf(PRF_HMAC_SHA2_256, d->cookie_secret, sizeof(d->cookie_secret), b, nilen + n + 8,
		    out + 1) < 0)
		memset(out + 1, 0, IKED_COOKIE_LEN - 1);
}

/* The data of the first notify of a type, or NULL. */
const struct ike_notify *ik_find_notify(const struct ike_msg *m, uint16_t type,
					struct ike_notify *out)
{
	for (unsigned i = 0; i < m->npl; i++)
		if (m->pl[i].type == IKE_PL_N &&
		    ike_parse_notify(m->pl[i].body, m->pl[i].len, out) == 0 && out->type == type)
			return out;
	return NULL;
}

/* The first error notify of m, 0 when none. */
uint16_t ik_error_notify(const struct ike_msg *m, struct ike_notify *out)
{
	for (unsigned i = 0; i < m->npl; i++) {
		struct ike_notify n;
		if (m->pl[i].type == IKE_PL_N &&
		    ike_parse_notify(m->pl[i].body, m->pl[i].len, &n) == 0 && n.type < 16384) {
			if (out)
				*out = n;
			return n.type;
		}
	}
	return 0;
}

bool ik_has_notify(const struct ike_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->npl; i++) {
		struct ike_notify n;
		if (m->pl[i].type == IKE_PL_N &&
		    ike_parse_notify(m->pl[i].body, m->pl[i].len, &n) == 0 && n.type == type)
			return true;
	}
	return false;
}

void ik_fail_notify(struct ike_sa *sa, uint16_t type, const char *exchange)
{
	struct iked *d = sa->d;
	if (type == N_AUTHENTICATION_FAILED)
		d->st.auth_failures++;
	else if (type == N_NO_PROPOSAL_CHOSEN)
		d->st.no_proposal++;
	else if (type == N_TS_UNACCEPTABLE)
		d->st.ts_unacceptable++;
	ik_say(d, "%s: the peer answered %s with %s", ik_sa_pol(sa)->name, exchange,
	       ike_notify_name(type));
}
