/*
 * The IKEv2 daemon (iked.h, docs/ike.md): exchanges, keys, and what it
 * installs through PF_KEY.
 *
 * An exchange is a request and its response.  Requests we send are kept
 * for retransmission (2 s, doubling, five times, then the exchange is
 * given up); the last response we sent is kept and sent again when the
 * same request comes again (RFC 7296 2.1).  Every message is parsed with
 * its lengths checked (ike_wire.c); one that fails is dropped and counted,
 * with the reason in the log.
 *
 * One request of ours is outstanding at a time (a window of one, 2.3);
 * what else is due (a DELETE, a rekey, a liveness check) waits as flags
 * on the IKE SA and goes when the exchange before it ends (kick()).
 *
 * The PF_KEY socket's callback only records replies and schedules
 * events for ACQUIRE and EXPIRE; the UDP sockets' callbacks (port 500,
 * and 4500 behind the non-ESP marker once a NAT is found) handle
 * messages as they arrive.
 */
#include "iked_int.h"

static const char *const state_names[] = {"SA_INIT", "AUTH", "SA_INIT", "ESTABLISHED", "CLOSED"};

/* ---- small helpers ---- */

void ik_say(struct iked *d, const char *fmt, ...)
{
	char line[512], t[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	node_trace(d->n, "iked: %s", line);
	if (d->w->sim->out && !d->quiet)
		fprintf(d->w->sim->out, "%s %s: iked: %s\n", sim_fmt_time(d->w->sim->now, t),
			d->n->name, line);
}

uint64_t ik_spi64(const uint8_t *s)
{
	return (uint64_t)get_be32(s) << 32 | get_be32(s + 4);
}

const struct iked_policy *ik_sa_pol(const struct ike_sa *sa)
{
	return &sa->d->pols[sa->pol]->p;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = 0;
}

/* ---- PF_KEY ---- */

int ik_pf_send(struct iked *d, struct pfkey_buf *pb)
{
	size_t len = pfkb_finish(pb);
	int rc = len ? pfkey_write(d->ps, pb->b, len) : -EMSGSIZE;
	OPENSSL_cleanse(pb->b, sizeof(pb->b));
	return rc;
}

uint32_t ik_pf_getspi(struct iked *d, uint8_t satype, const struct ipaddr *src,
		      const struct ipaddr *dst)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_GETSPI, satype, ++d->seq, d->ps->pid);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	pfkb_spirange(&pb, IKED_SPI_MIN, UINT32_MAX);
	d->reply_spi = 0;
	return ik_pf_send(d, &pb) < 0 ? 0 : d->reply_spi;
}

void ik_pf_delete(struct iked *d, uint8_t satype, uint32_t spi, const struct ipaddr *dst)
{
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_DELETE, satype, ++d->seq, d->ps->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	(void)ik_pf_send(d, &pb); /* ESRCH: gone already */
}

static uint8_t sadb_enc(uint16_t encr)
{
	switch (encr) {
	case ENCR_AES_CBC: return SADB_X_EALG_AES;
	case ENCR_AES_GCM_16: return SADB_X_EALG_AESGCM16;
	case ENCR_CHACHA20_POLY1305: return SADB_X_EALG_CHACHA20POLY1305;
	default: return SADB_EALG_NONE;
	}
}

static uint8_t sadb_auth(uint16_t integ)
{
	switch (integ) {
	case AUTH_HMAC_SHA1_96: return SADB_AALG_SHA1HMAC;
	case AUTH_HMAC_SHA2_256_128: return SADB_X_AALG_SHA2_256;
	case AUTH_HMAC_SHA2_384_192: return SADB_X_AALG_SHA2_384;
	case AUTH_HMAC_SHA2_512_256: return SADB_X_AALG_SHA2_512;
	default: return SADB_AALG_NONE;
	}
}

/* A CHILD_SA's key lengths in bytes (the salt with GCM, the nonce with
 * ChaCha20-Poly1305). */
static unsigned child_enckeylen(const struct child *c)
{
	if (c->satype != SADB_SATYPE_ESP)
		return 0;
	if (c->encr == ENCR_CHACHA20_POLY1305)
		return 36;
	return c->encr_bits / 8 + (c->encr == ENCR_AES_GCM_16 ? 4 : 0);
}

static bool child_aead(const struct child *c)
{
	return c->encr == ENCR_AES_GCM_16 || c->encr == ENCR_CHACHA20_POLY1305;
}

static unsigned child_authkeylen(const struct child *c)
{
	return child_aead(c) && c->satype == SADB_SATYPE_ESP ? 0 : ike_integ_keylen(c->integ);
}

/* A soft limit before the hard one: at 90 % where we made the CHILD_SA
 * (at least 2 before the end), at 95 % at the other end (at least 1), so
 * that one side rekeys first and the other finds its CHILD_SA replaced
 * when its own soft limit comes.  0 (none) under 3. */
uint64_t ik_soft_of(uint64_t hard, bool ours)
{
	if (hard < 3)
		return 0;
	uint64_t early = ours ? MAX(hard / 10, 2) : MAX(hard / 20, 1);
	return hard - early;
}

/* UPDATE (the inbound SA, larval since GETSPI) or ADD (the outbound). */
static int pf_install(struct iked *d, const struct ike_sa *sa, const struct child *c, uint8_t type,
		      uint32_t spi, const struct ipaddr *src, const struct ipaddr *dst,
		      const uint8_t *ekey, const uint8_t *akey)
{
	const struct iked_policy *p = ik_sa_pol(sa);
	uint32_t flags = (c->transport ? 0 : SADB_X_SAFLAGS_TUNNEL) |
			 (c->esn ? SADB_X_SAFLAGS_ESN : 0) |
			 (sa->natt && c->satype == SADB_SATYPE_ESP ? SADB_X_SAFLAGS_UDPENCAP : 0);
	struct pfkey_buf pb;
	pfkb_init(&pb, type, c->satype, ++d->seq, d->ps->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, IKED_REPLAY, SADB_SASTATE_MATURE,
		child_authkeylen(c) ? sadb_auth(c->integ) : SADB_AALG_NONE,
		c->satype == SADB_SATYPE_ESP ? sadb_enc(c->encr) : 0, flags);
	if (p->lifetime || p->lifebytes) {
		pfkb_lifetime(&pb, SADB_EXT_LIFETIME_HARD, 0, p->lifebytes, p->lifetime, 0);
		pfkb_lifetime(&pb, SADB_EXT_LIFETIME_SOFT, 0, ik_soft_of(p->lifebytes, c->ours),
			      ik_soft_of(p->lifetime, c->ours), 0);
	}
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	if (flags & SADB_X_SAFLAGS_UDPENCAP)
		pfkb_udpencap(&pb, sa->peer_port);
	if (child_authkeylen(c))
		pfkb_key(&pb, SADB_EXT_KEY_AUTH, akey, child_authkeylen(c) * 8);
	if (child_enckeylen(c))
		pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, ekey, child_enckeylen(c) * 8);
	return ik_pf_send(d, &pb);
}

/* The flow and its mirror, towards peer (type require). */
static int pf_flows(struct iked *d, uint8_t satype, const struct spd_sel *out,
		    const struct spd_mask *mask, const struct ipaddr *local,
		    const struct ipaddr *peer)
{
	for (int dir = 0; dir < 2; dir++) {
		struct spd_sel sel = *out;
		struct spd_mask m = *mask;
		if (dir) {
			sel.src = out->dst;
			sel.dst = out->src;
			sel.sport = out->dport;
			sel.dport = out->sport;
			m.src_plen = mask->dst_plen;
			m.dst_plen = mask->src_plen;
			m.sport = mask->dport;
			m.dport = mask->sport;
		}
		sel.dir = dir ? IPSP_DIRECTION_IN : IPSP_DIRECTION_OUT;
		struct pfkey_buf pb;
		pfkb_init(&pb, SADB_X_ADDFLOW, satype, ++d->seq, d->ps->pid);
		if (local)
			pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, local, 0);
		pfkb_address(&pb, SADB_EXT_ADDRESS_DST, peer, 0);
		pfkey_export_flow(&pb, &sel, &m, IPSP_IPSEC_REQUIRE);
		int rc = ik_pf_send(d, &pb);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A policy's flow as this end sends it. */
static void policy_flow(const struct iked_policy *p, struct spd_sel *sel, struct spd_mask *mask)
{
	memset(sel, 0, sizeof(*sel));
	memset(mask, 0, sizeof(*mask));
	sel->src = p->src;
	sel->dst = p->dst;
	sel->proto = p->proto;
	sel->sport = p->sport;
	sel->dport = p->dport;
	mask->src_plen = p->src_plen;
	mask->dst_plen = p->dst_plen;
	mask->proto = p->proto != 0;
	mask->sport = p->sport != 0;
	mask->dport = p->dport != 0;
}

/* ---- SAs ---- */

/* An address as a hash key: family and bytes. */
static size_t peer_key(const struct ipaddr *a, uint8_t *key)
{
	key[0] = a->af;
	memcpy(key + 1, a->a, addr_len(a->af));
	return 1 + addr_len(a->af);
}

struct ike_sa *ik_sa_by_key(struct iked *d, const uint8_t *spi_i, bool initiator)
{
	uint8_t key[9];
	memcpy(key, spi_i, 8);
	key[8] = initiator;
	return hmap_get(&d->by_spi, key, sizeof(key));
}

/* A new IKE SA; spi_i: the initiator's SPI when we respond (NULL: we
 * initiate and make one).  NULL at the cap, or when a responder's SPIi is
 * taken (said in the log). */
struct ike_sa *ik_sa_new(struct iked *d, unsigned pol, bool initiator, const struct ipaddr *local,
			 const struct ipaddr *peer, uint16_t port, const uint8_t *spi_i)
{
	if (d->nlive >= IKED_MAX_SAS) {
		d->st.capped++;
		ik_say(d, "%u IKE SAs: refusing another (the daemon's cap)", d->nlive);
		return NULL;
	}
	struct ike_sa *sa = xcalloc(1, sizeof(*sa));
	if (spi_i) {
		memcpy(sa->spi_i, spi_i, 8);
	} else {
		do /* 64 random bits: a second try is as likely as a cosmic ray */
			rng_bytes(&d->rng, sa->spi_i, 8);
		while (ik_sa_by_key(d, sa->spi_i, true));
	}
	memcpy(sa->key, sa->spi_i, 8);
	sa->key[8] = initiator;
	if (!hmap_add(&d->by_spi, sa->key, sizeof(sa->key), sa)) {
		ik_say(d, "an IKE SA with SPIi 0x%016llx exists already: refusing another",
		       (unsigned long long)ik_spi64(sa->spi_i));
		free(sa);
		return NULL;
	}
	sa->serial = ++d->next_serial;
	hmap_add(&d->by_serial, &sa->serial, sizeof(sa->serial), sa);
	sa->d = d;
	sa->pol = pol;
	sa->initiator = initiator;
	sa->local = *local;
	sa->peer = *peer;
	sa->peer_port = port;
	if (!initiator)
		rng_bytes(&d->rng, sa->spi_r, 8);
	d->sas = xgrow(d->sas, d->nsas, sizeof(*d->sas));
	d->sas[d->nsas++] = sa;
	d->nlive++;
	return sa;
}

/* ---- CHILD_SAs ---- */

static void child_keys(struct child *c, const struct ike_sa *sa)
{
	uint8_t pk[17];
	size_t n;
	memset(c->key_in, 0, sizeof(c->key_in));
	memset(c->key_out, 0, sizeof(c->key_out));
	put_be32(c->key_in, c->spi_in);
	n = peer_key(&sa->local, pk);
	memcpy(c->key_in + 4, pk, n);
	put_be32(c->key_out, c->spi_out);
	n = peer_key(&sa->peer, pk);
	memcpy(c->key_out + 4, pk, n);
}

/* A new CHILD_SA slot on sa; NULL when all are taken (said). */
struct child *ik_child_new(struct ike_sa *sa)
{
	if (sa->nch >= IKED_MAX_CHILDREN) {
		ik_say(sa->d, "%s: %u CHILD_SAs on one IKE SA already: refusing another",
		       ik_sa_pol(sa)->name, sa->nch);
		return NULL;
	}
	struct child *c = xcalloc(1, sizeof(*c));
	c->sa = sa;
	sa->ch[sa->nch++] = c;
	return c;
}

struct child *ik_child_by_spi(struct iked *d, uint32_t spi, const struct ipaddr *dst)
{
	uint8_t key[21] = {0}, pk[17];
	put_be32(key, spi);
	memcpy(key + 4, pk, peer_key(dst, pk));
	return hmap_get(&d->by_child, key, sizeof(key));
}

/* The CHILD_SA of sa whose outbound SPI is spi (the peer's inbound). */
struct child *ik_child_by_out(const struct ike_sa *sa, uint8_t satype, uint32_t spi)
{
	for (unsigned i = 0; i < sa->nch; i++)
		if (sa->ch[i]->up && sa->ch[i]->satype == satype && sa->ch[i]->spi_out == spi)
			return sa->ch[i];
	return NULL;
}

/* Take a CHILD_SA down (both SAs out of the kernel) and free it. */
void ik_child_remove(struct child *c, const char *why)
{
	struct ike_sa *sa = c->sa;
	struct iked *d = sa->d;
	if (c->spi_in)
		ik_pf_delete(d, c->satype, c->spi_in, &sa->local);
	if (c->up && c->spi_out)
		ik_pf_delete(d, c->satype, c->spi_out, &sa->peer);
	if (c->up) {
		hmap_del(&d->by_child, c->key_in, sizeof(c->key_in));
		hmap_del(&d->by_child, c->key_out, sizeof(c->key_out));
		d->st.deletes++;
		ik_say(d, "%s: CHILD_SA in 0x%08x out 0x%08x with %s deleted", ik_sa_pol(sa)->name,
		       c->spi_in, c->spi_out, why);
	}
	for (unsigned i = 0; i < sa->nch; i++)
		if (sa->ch[i] == c) {
			memmove(&sa->ch[i], &sa->ch[i + 1], (sa->nch - i - 1) * sizeof(*sa->ch));
			sa->nch--;
			break;
		}
	if (sa->rq_old == c)
		sa->rq_old = NULL;
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* The CHILD_SA that carries the policy's traffic now: the newest one up
 * and not replaced. */
static struct child *child_current(const struct ike_sa *sa)
{
	for (unsigned i = sa->nch; i-- > 0;)
		if (sa->ch[i]->up && !sa->ch[i]->replaced)
			return sa->ch[i];
	return NULL;
}

/* ---- IKE SAs ---- */

static void sa_free(struct ike_sa *sa)
{
	for (unsigned i = 0; i < sa->nch; i++) {
		OPENSSL_cleanse(sa->ch[i], sizeof(*sa->ch[i]));
		free(sa->ch[i]);
	}
	free(sa->msg1);
	free(sa->msg2);
	free(sa->req);
	free(sa->resp);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* Dead SAs are freed at a new exchange (never under our own feet), once
 * they are as many as the live ones: each SA is swept over a bounded
 * number of times. */
void ik_sweep(struct iked *d)
{
	if (d->ndead < 16 || d->ndead < d->nlive)
		return;
	unsigned j = 0;
	for (unsigned i = 0; i < d->nsas; i++) {
		struct ike_sa *sa = d->sas[i];
		if (sa->state == S_DEAD) {
			hmap_del(&d->by_spi, sa->key, sizeof(sa->key));
			hmap_del(&d->by_serial, &sa->serial, sizeof(sa->serial));
			sa_free(sa);
		} else {
			d->sas[j++] = sa;
		}
	}
	d->nsas = j;
	d->ndead = 0;
}

void ik_set_state(struct ike_sa *sa, enum sa_state st)
{
	if (sa->state == S_INIT_DONE && !sa->initiator)
		sa->d->halfopen--;
	if (st == S_INIT_DONE && !sa->initiator)
		sa->d->halfopen++;
	sa->state = st;
}

void ik_sa_kill(struct ike_sa *sa, const char *why)
{
	if (sa->state == S_DEAD)
		return;
	while (sa->nch)
		ik_child_remove(sa->ch[0], why);
	ik_set_state(sa, S_DEAD);
	sa->retry_gen++;
	sa->rq = RQ_NONE;
	OPENSSL_cleanse(sa->rq_dh, sizeof(sa->rq_dh));
	sa->d->nlive--;
	sa->d->ndead++;
}

/* ---- sending ---- */

/* A message to the peer: from port 500, or from 4500 behind the non-ESP
 * marker once a NAT was found (RFC 7296 2.23, RFC 3948 2.2). */
void ik_send_via(struct ike_sa *sa, const uint8_t *b, size_t len, bool natt, uint16_t port)
{
	struct udp_send_opts o = {.src = &sa->local};
	int rc;
	if (natt) {
		uint8_t *m = xmalloc(len + 4);
		memset(m, 0, 4);
		memcpy(m + 4, b, len);
		rc = udp_sendto(sa->d->us_natt, &sa->peer, port, m, len + 4, &o);
		free(m);
	} else {
		rc = udp_sendto(sa->d->us, &sa->peer, port, b, len, &o);
	}
	if (rc < 0)
		ik_say(sa->d, "%s: cannot send to the peer: %s", ik_sa_pol(sa)->name,
		       strerror(-rc));
}

static void send_raw(struct ike_sa *sa, const uint8_t *b, size_t len)
{
	ik_send_via(sa, b, len, sa->natt, sa->peer_port);
}

static void on_start(struct sim *s, void *arg);

struct retry_ev {
	struct iked *d;
	uint64_t serial, gen;
};

struct ike_sa *ik_sa_by_serial(struct iked *d, uint64_t serial)
{
	return hmap_get(&d->by_serial, &serial, sizeof(serial));
}

static void on_retry(struct sim *s, void *arg);

static void arm_retry(struct ike_sa *sa)
{
	struct retry_ev *ev = xmalloc(sizeof(*ev));
	*ev = (struct retry_ev){sa->d, sa->serial, ++sa->retry_gen};
	sim_after(sa->d->w->sim, IKED_RETRY_FIRST << sa->tries, on_retry, free, ev);
}

static void on_retry(struct sim *s, void *arg)
{
	struct retry_ev ev_copy = *(struct retry_ev *)arg, *ev = &ev_copy;
	free(arg); /* a run event frees its argument; a pending one, the engine */
	struct ike_sa *sa = ik_sa_by_serial(ev->d, ev->serial);
	(void)s;
	if (!sa || sa->retry_gen != ev->gen || !sa->req || sa->state == S_DEAD)
		return;
	if (sa->tries >= IKED_RETRIES) {
		struct iked *d = sa->d;
		d->st.timeouts++;
		ik_say(d, "%s: no answer from the peer after %u retransmissions: giving up",
		       ik_sa_pol(sa)->name, sa->tries);
		if (sa->state != S_ESTABLISHED || sa->moved || sa->rq == RQ_DELETE_IKE) {
			ik_sa_kill(sa, "the exchange timed out");
			return;
		}
		/* A dead peer: everything of this IKE SA goes, and an active
		 * policy starts again (iked's behaviour). */
		d->st.dead_peers++;
		unsigned pol = sa->pol;
		bool restart = ik_sa_pol(sa)->mode == IKED_ACTIVE && !sa->moved &&
			       d->pols[pol]->cur_sa == sa->serial;
		ik_sa_kill(sa, "a dead peer");
		if (restart) {
			struct start_ev *st = xmalloc(sizeof(*st));
			*st = (struct start_ev){d, pol};
			sim_after(d->w->sim, 0, on_start, free, st);
		}
		return;
	}
	sa->tries++;
	sa->d->st.retransmits++;
	send_raw(sa, sa->req, sa->reqlen);
	arm_retry(sa);
}

/* Send a request and keep it for retransmission. */
void ik_send_request(struct ike_sa *sa, const struct ike_buf *m)
{
	free(sa->req);
	sa->req = xmalloc(m->len);
	memcpy(sa->req, m->b, m->len);
	sa->reqlen = m->len;
	sa->tries = 0;
	send_raw(sa, m->b, m->len);
	arm_retry(sa);
}

void ik_send_response(struct ike_sa *sa, const struct ike_buf *m)
{
	free(sa->resp);
	sa->resp = xmalloc(m->len);
	memcpy(sa->resp, m->b, m->len);
	sa->resplen = m->len;
	send_raw(sa, m->b, m->len);
}

void ik_hdr_for(const struct ike_sa *sa, struct ike_hdr *h, uint8_t exchange, bool response,
		uint32_t msgid)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->ispi, sa->spi_i, 8);
	memcpy(h->rspi, sa->spi_r, 8);
	h->exchange = exchange;
	h->flags = (sa->initiator ? IKE_FLAG_I : 0) | (response ? IKE_FLAG_R : 0);
	h->msgid = msgid;
}

/* Wrap the inner chain in an Encrypted payload (3.14): header | SK header
 * | IV | ciphertext | ICV. */
int ik_seal(struct ike_sa *sa, const struct ike_hdr *h, const struct ike_buf *in,
	    struct ike_buf *out)
{
	const struct ike_encr_info *ei = &sa->ei;
	const uint8_t *ek = sa->initiator ? sa->sk_ei : sa->sk_er;
	const uint8_t *ak = sa->initiator ? sa->sk_ai : sa->sk_ar;
	size_t plain = in->len - 1; /* the chain without its first-type byte */
	size_t pad = (ei->block - (plain + 1) % ei->block) % ei->block;
	size_t clen = plain + pad + 1;
	unsigned icv = ei->aead ? ei->icvlen : ike_integ_icvlen(sa->integ);
	if (in->overflow || IKE_HDR_LEN + IKE_PAYLOAD_HDR + ei->ivlen + clen + icv > IKE_MSG_MAX)
		return -1;
	ikeb_init(out, h);
	ikeb_begin(out, IKE_PL_SK);
	out->b[out->cur] = ikeb_first(in);
	uint8_t iv[16];
	if (ei->aead) {
		put_be32(iv, (uint32_t)(++sa->iv_ctr >> 32));
		put_be32(iv + 4, (uint32_t)sa->iv_ctr);
	} else {
		rng_bytes(&sa->d->rng, iv, ei->ivlen);
	}
	size_t sk_hdr_end = out->len;
	ikeb_put(out, iv, ei->ivlen);
	uint8_t ptext[IKE_MSG_MAX];
	memcpy(ptext, in->b + 1, plain);
	memset(ptext + plain, 0, pad);
	ptext[plain + pad] = (uint8_t)pad;
	size_t ct_at = out->len;
	out->len += clen + icv;
	ikeb_end(out);
	ikeb_finish(out);
	int rc;
	if (ei->aead) {
		rc = ike_gcm_seal(ek, ei->keylen, iv, out->b, sk_hdr_end, ptext, clen,
				  out->b + ct_at, out->b + ct_at + clen);
	} else {
		rc = ike_cbc(true, ek, ei->keylen, iv, ptext, clen, out->b + ct_at);
		if (!rc)
			rc = ike_integ(sa->integ, ak, out->b, ct_at + clen, out->b + ct_at + clen);
	}
	OPENSSL_cleanse(ptext, sizeof(ptext));
	return rc;
}

/* Check and decrypt the Encrypted payload of m (raw bytes b), appending
 * its inner payloads to m; the plaintext goes to buf (kept for the
 * payload bodies).  0, or -1 with why set. */
static int unseal(struct ike_sa *sa, const uint8_t *b, struct ike_msg *m, uint8_t *buf,
		  const char **why)
{
	const struct ike_payload *sk = m->npl ? &m->pl[m->npl - 1] : NULL;
	if (!sk || sk->type != IKE_PL_SK) {
		*why = "no Encrypted payload";
		return -1;
	}
	const struct ike_encr_info *ei = &sa->ei;
	bool from_ini = m->h.flags & IKE_FLAG_I;
	const uint8_t *ek = from_ini ? sa->sk_ei : sa->sk_er;
	const uint8_t *ak = from_ini ? sa->sk_ai : sa->sk_ar;
	unsigned icv = ei->aead ? ei->icvlen : ike_integ_icvlen(sa->integ);
	/* CBC takes whole blocks; an AEAD cipher any length (we pad to 4 bytes
	 * when we send; strongSwan does not pad at all, as RFC 5282 allows) */
	unsigned block = ei->aead ? 1 : ei->block;
	if (sk->len < ei->ivlen + icv + 1 || (sk->len - ei->ivlen - icv) % block) {
		*why = "the Encrypted payload's length does not fit its cipher";
		return -1;
	}
	size_t clen = sk->len - ei->ivlen - icv;
	const uint8_t *iv = sk->body, *ct = sk->body + ei->ivlen, *tag = ct + clen;
	int rc;
	if (ei->aead) {
		rc = ike_gcm_open(ek, ei->keylen, iv, b, m->sk_off + IKE_PAYLOAD_HDR, ct, clen, buf,
				  tag);
	} else {
		uint8_t want[64];
		rc = ike_integ(sa->integ, ak, b, (size_t)(tag - b), want);
		if (!rc && CRYPTO_memcmp(want, tag, icv) != 0)
			rc = -1;
		if (!rc)
			rc = ike_cbc(false, ek, ei->keylen, iv, ct, clen, buf);
	}
	if (rc) {
		*why = "the Encrypted payload's ICV does not match";
		return -1;
	}
	uint8_t pad = buf[clen - 1];
	if (pad >= clen) {
		*why = "the Encrypted payload's pad length is too long";
		return -1;
	}
	m->npl--; /* the SK payload itself */
	struct ike_perr e;
	if (ike_parse_chain(buf, clen - pad - 1, b[m->sk_off], m, &e) < 0) {
		*why = e.why;
		return -1;
	}
	return 0;
}

/* ---- keys ---- */

/* The IKE SA's keys (2.14).  old: the IKE SA it replaces, whose SK_d
 * and PRF make SKEYSEED (2.18), or NULL for a new one. */
int ik_derive_keys(struct ike_sa *sa, const uint8_t *shared, size_t slen, const struct ike_sa *old)
{
	unsigned pl = ike_prf_len(sa->prf), al = sa->ei.aead ? 0 : ike_integ_keylen(sa->integ);
	unsigned el = sa->ei.keylen;
	uint8_t nn[IKE_DH_MAX + 2 * 256 + 16], skeyseed[IKE_PRF_MAX];
	size_t nnlen = sa->nilen + sa->nrlen;
	int rc;
	if (old) {
		/* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the old PRF */
		memcpy(nn, shared, slen);
		memcpy(nn + slen, sa->ni, sa->nilen);
		memcpy(nn + slen + sa->nilen, sa->nr, sa->nrlen);
		rc =
		    ike_prf(old->prf, old->sk_d, ike_prf_len(old->prf), nn, slen + nnlen, skeyseed);
		pl = ike_prf_len(sa->prf);
	} else {
		/* SKEYSEED = prf(Ni | Nr, g^ir) */
		memcpy(nn, sa->ni, sa->nilen);
		memcpy(nn + sa->nilen, sa->nr, sa->nrlen);
		rc = ike_prf(sa->prf, nn, nnlen, shared, slen, skeyseed);
	}
	if (rc < 0)
		return -1;
	unsigned seedlen = old ? ike_prf_len(old->prf) : pl;
	memcpy(nn, sa->ni, sa->nilen);
	memcpy(nn + sa->nilen, sa->nr, sa->nrlen);
	memcpy(nn + nnlen, sa->spi_i, 8);
	memcpy(nn + nnlen + 8, sa->spi_r, 8);
	uint8_t km[3 * IKE_PRF_MAX + 2 * 64 + 2 * 40];
	size_t total = 3 * (size_t)pl + 2 * (size_t)al + 2 * (size_t)el;
	if (ike_prfplus(sa->prf, skeyseed, seedlen, nn, nnlen + 16, km, total) < 0)
		return -1;
	const uint8_t *k = km;
	memcpy(sa->sk_d, k, pl), k += pl;
	memcpy(sa->sk_ai, k, al), k += al;
	memcpy(sa->sk_ar, k, al), k += al;
	memcpy(sa->sk_ei, k, el), k += el;
	memcpy(sa->sk_er, k, el), k += el;
	memcpy(sa->sk_pi, k, pl), k += pl;
	memcpy(sa->sk_pr, k, pl);
	OPENSSL_cleanse(km, sizeof(km));
	OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
	OPENSSL_cleanse(nn, sizeof(nn));
	return 0;
}

const char *ik_ws_encr(const struct ike_sa *sa)
{
	static const char *const cbc[] = {"AES-CBC-128 [RFC3602]", "AES-CBC-192 [RFC3602]",
					  "AES-CBC-256 [RFC3602]"};
	static const char *const gcm[] = {"AES-GCM-128 with 16 octet ICV [RFC5282]",
					  "AES-GCM-192 with 16 octet ICV [RFC5282]",
					  "AES-GCM-256 with 16 octet ICV [RFC5282]"};
	unsigned i = sa->encr_bits == 128 ? 0 : sa->encr_bits == 192 ? 1 : 2;
	return sa->encr == ENCR_AES_GCM_16 ? gcm[i] : cbc[i];
}

static const char *ws_integ(uint16_t integ)
{
	switch (integ) {
	case AUTH_HMAC_SHA1_96: return "HMAC_SHA1_96 [RFC2404]";
	case AUTH_HMAC_SHA2_256_128: return "HMAC_SHA2_256_128 [RFC4868]";
	case AUTH_HMAC_SHA2_384_192: return "HMAC_SHA2_384_192 [RFC4868]";
	case AUTH_HMAC_SHA2_512_256: return "HMAC_SHA2_512_256 [RFC4868]";
	default: return "NONE [RFC4306]";
	}
}

/* One ikev2_decryption_table line for the run (the initiator writes it). */
void ik_table_add(struct ike_sa *sa)
{
	struct iked_world *w = sa->d->w;
	unsigned el = sa->ei.keylen, al = sa->ei.aead ? 0 : ike_integ_keylen(sa->integ);
	char ei[81], er[81], ai[129], ar[129], si[17], sr[17];
	hex(sa->spi_i, 8, si);
	hex(sa->spi_r, 8, sr);
	hex(sa->sk_ei, el, ei);
	hex(sa->sk_er, el, er);
	hex(sa->sk_ai, al, ai);
	hex(sa->sk_ar, al, ar);
	char line[640];
	/* Wireshark's UAT form: byte fields as bare hex, names quoted. */
	snprintf(line, sizeof(line), "%s,%s,%s,%s,\"%s\",%s,%s,\"%s\"", si, sr, ei, er,
		 ik_ws_encr(sa), ai, ar, ws_integ(sa->ei.aead ? AUTH_NONE : sa->integ));
	w->table = xgrow(w->table, w->ntable, sizeof(*w->table));
	w->table[w->ntable++] = xstrdup(line);
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(ei, sizeof(ei));
	OPENSSL_cleanse(er, sizeof(er));
	OPENSSL_cleanse(ai, sizeof(ai));
	OPENSSL_cleanse(ar, sizeof(ar));
}

/* ---- installing a CHILD_SA ---- */

/* KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) (2.17): the exchange's
 * initiator to responder encryption and integrity keys, then the other
 * way.  exch_ini: we began the exchange that made c.  False when the
 * kernel refused (c is then removed). */
bool ik_install_child(struct ike_sa *sa, struct child *c, bool exch_ini, const uint8_t *ni,
		      size_t nilen, const uint8_t *nr, size_t nrlen, const uint8_t *g, size_t glen)
{
	struct iked *d = sa->d;
	unsigned el = child_enckeylen(c), al = child_authkeylen(c);
	uint8_t km[2 * (36 + 64)], seed[IKE_DH_MAX + 2 * 256];
	if (glen)
		memcpy(seed, g, glen);
	memcpy(seed + glen, ni, nilen);
	memcpy(seed + glen + nilen, nr, nrlen);
	int rc = ike_prfplus(sa->prf, sa->sk_d, ike_prf_len(sa->prf), seed, glen + nilen + nrlen,
			     km, 2 * ((size_t)el + al)) < 0
		     ? -EINVAL
		     : 0;
	OPENSSL_cleanse(seed, sizeof(seed));
	const uint8_t *ie = km, *ia = km + el, *re = km + el + al, *ra = km + 2 * el + al;
	const uint8_t *oe = exch_ini ? ie : re, *oa = exch_ini ? ia : ra;
	const uint8_t *ine = exch_ini ? re : ie, *ina = exch_ini ? ra : ia;
	c->ours = exch_ini;
	if (!rc)
		rc = pf_install(d, sa, c, SADB_UPDATE, c->spi_in, &sa->peer, &sa->local, ine, ina);
	if (!rc)
		rc = pf_install(d, sa, c, SADB_ADD, c->spi_out, &sa->local, &sa->peer, oe, oa);
	OPENSSL_cleanse(km, sizeof(km));
	if (!rc)
		rc = pf_flows(d, c->satype, &c->sel, &c->mask, &sa->local, &sa->peer);
	if (rc) {
		ik_say(d, "%s: the kernel refused the CHILD_SA: %s", ik_sa_pol(sa)->name,
		       strerror(-rc));
		ik_child_remove(c, "a refusal");
		return false;
	}
	c->up = true;
	child_keys(c, sa);
	hmap_add(&d->by_child, c->key_in, sizeof(c->key_in), c);
	hmap_add(&d->by_child, c->key_out, sizeof(c->key_out), c);
	d->st.children++;
	char a[ADDR_STRLEN];
	ik_say(d, "%s: CHILD_SA %s %s%s in 0x%08x out 0x%08x with %s", ik_sa_pol(sa)->name,
	       pfkey_name(PFN_SATYPE, c->satype), c->transport ? "transport" : "tunnel",
	       sa->natt && c->satype == SADB_SATYPE_ESP ? " udpencap" : "", c->spi_in, c->spi_out,
	       addr_fmt(&sa->peer, a));
	return true;
}

/* ---- receiving ---- */

static struct ike_sa *find_sa(struct iked *d, const struct ike_hdr *h)
{
	/* A message from the initiator is for our SA as responder. */
	struct ike_sa *sa = ik_sa_by_key(d, h->ispi, !(h->flags & IKE_FLAG_I));
	if (!sa || sa->state == S_DEAD)
		return NULL;
	/* The IKE_SA_INIT response brings the responder's SPI. */
	return sa->state == S_INIT_SENT || memcmp(sa->spi_r, h->rspi, 8) == 0 ? sa : NULL;
}

static void handle(struct iked *d, const uint8_t *b, size_t len, const struct ipaddr *from,
		   uint16_t sport, const struct ipaddr *to, uint16_t dport)
{
	struct ike_msg *m = xmalloc(sizeof(*m));
	struct ike_perr e;
	uint8_t *plain = NULL;
	if (ike_parse(b, len, m, &e) < 0) {
		ik_drop(d, from, e.why);
		goto out;
	}
	bool response = m->h.flags & IKE_FLAG_R;
	if (m->h.exchange == IKE_SA_INIT && !response) {
		if (dport == IKE_PORT)
			ik_rsp_sa_init(d, b, len, m, from, sport, to);
		else
			ik_drop(d, from, "IKE_SA_INIT on port 4500 (this daemon starts on 500)");
		goto out;
	}
	struct ike_sa *sa = find_sa(d, &m->h);
	if (!sa) {
		ik_drop(d, from, "no IKE SA with these SPIs");
		goto out;
	}
	if (m->h.exchange == IKE_SA_INIT) {
		if (sa->state == S_INIT_SENT && m->h.msgid == 0)
			ik_ini_init_response(sa, b, len, m, sport);
		else
			ik_drop(d, from, "an IKE_SA_INIT response out of turn");
		goto out;
	}
	if (!response) {
		if (m->h.msgid + 1 == sa->peer_msgid && sa->resp) { /* sent again */
			send_raw(sa, sa->resp, sa->resplen);
			goto out;
		}
		if (m->h.msgid != sa->peer_msgid) {
			ik_drop(d, from, "a request with an unexpected message ID");
			goto out;
		}
	} else if (!sa->req || m->h.msgid + 1 != sa->next_msgid) {
		ik_drop(d, from, "a response to no request of ours");
		goto out;
	}
	plain = xmalloc(IKE_MSG_MAX);
	const char *why;
	if (unseal(sa, b, m, plain, &why) < 0) {
		ik_drop(d, from, why);
		goto out;
	}
	/* An authentic message: the peer is alive, and behind a NAT it is
	 * where this one came from (2.23). */
	sa->last_recv = d->w->sim->now;
	if (sa->natt && dport == IKE_NATT_PORT && addr_eq(from, &sa->peer))
		sa->peer_port = sport;
	if (response) { /* the exchange is over: no more retransmissions */
		sa->retry_gen++;
		free(sa->req);
		sa->req = NULL;
	}
	uint8_t x = m->h.exchange;
	bool up = sa->state == S_ESTABLISHED;
	if (x == IKE_AUTH && !response && sa->state == S_INIT_DONE)
		ik_rsp_auth(sa, m);
	else if (x == IKE_AUTH && response && sa->rq == RQ_AUTH)
		ik_ini_auth_response(sa, m);
	else if (x == INFORMATIONAL && !response && up)
		ik_rsp_info(sa, m);
	else if (x == INFORMATIONAL && response &&
		 (sa->rq == RQ_DELETE_CHILD || sa->rq == RQ_DELETE_IKE || sa->rq == RQ_LIVENESS))
		ik_ini_info_response(sa, m);
	else if (x == CREATE_CHILD_SA && !response && up)
		ik_rsp_ccsa(sa, m);
	else if (x == CREATE_CHILD_SA && response && sa->rq == RQ_REKEY_CHILD)
		ik_ini_rekey_child_response(sa, m);
	else if (x == CREATE_CHILD_SA && response && sa->rq == RQ_REKEY_IKE)
		ik_ini_rekey_ike_response(sa, m);
	else {
		char text[96];
		snprintf(text, sizeof(text), "%s %s: not an exchange this IKE SA expects now",
			 ike_exchange_name(m->h.exchange), response ? "response" : "request");
		ik_drop(d, from, text);
	}
out:
	if (plain) {
		OPENSSL_cleanse(plain, IKE_MSG_MAX);
		free(plain);
	}
	free(m);
}

/* Port 500, and 4500 where IKE comes after the non-ESP marker (the
 * kernel took ESP and keepalives already). */
static void on_udp(struct udp_sock *s, void *arg)
{
	struct iked *d = arg;
	bool natt = s == d->us_natt;
	size_t skip = natt ? 4 : 0;
	uint8_t *buf = xmalloc(IKE_MSG_MAX + 5);
	struct ipaddr src, dst;
	uint16_t sport;
	ssize_t len;
	while ((len = udp_recvmsg(s, buf, IKE_MSG_MAX + 5, &src, &sport, &dst)) >= 0) {
		if (natt && (len < 4 || get_be32(buf) != 0))
			ik_drop(d, &src, "on port 4500 without the non-ESP marker");
		else if ((size_t)len - skip > IKE_MSG_MAX)
			ik_drop(d, &src, "longer than 8192 bytes");
		else
			handle(d, buf + skip, (size_t)len - skip, &src, sport, &dst,
			       natt ? IKE_NATT_PORT : IKE_PORT);
	}
	free(buf);
}

/* ---- PF_KEY messages from the kernel ---- */

struct acq_ev {
	struct iked *d;
	struct ipaddr dst;
	bool has_src;
	struct ipaddr src;
};

static void on_acquire(struct sim *s, void *arg)
{
	struct acq_ev ev_copy = *(struct acq_ev *)arg, *ev = &ev_copy;
	struct iked *d = ev->d;
	free(arg);
	(void)s;
	for (unsigned k = ik_first_for_peer(d, &ev->dst); k; k = d->pols[k - 1]->next_same_peer) {
		unsigned i = k - 1;
		const struct iked_policy *p = &d->pols[i]->p;
		if (p->mode == IKED_PASSIVE)
			continue;
		struct ike_sa *cur = ik_sa_by_serial(d, d->pols[i]->cur_sa);
		if (cur && cur->state != S_DEAD &&
		    (cur->state != S_ESTABLISHED || child_current(cur)))
			return; /* under way, or up */
		if (cur && cur->state == S_ESTABLISHED && !cur->delete_due) {
			/* up without a CHILD_SA (it expired unreplaced): a new IKE SA,
			 * and the old one deleted */
			cur->delete_due = true;
			ik_kick(cur);
		}
		struct ipaddr local = ev->src;
		if (p->has_local)
			local = p->local;
		else if (!ev->has_src &&
			 (p->peer.af == ADDR_V6 ? ip6_select_src(d->n, &p->peer, &local)
						: ip4_select_src(d->n, &p->peer, &local)) < 0)
			return;
		d->st.acquires++;
		ik_initiate(d, i, &local, &p->peer);
		return;
	}
}

/* SADB_EXPIRE of one of our CHILD_SAs' SAs: soft, rekey it (unless a
 * newer one replaced it already); hard, the kernel deleted that SA, so
 * its partner goes too and the peer hears of it in a DELETE. */
struct exp_ev {
	struct iked *d;
	uint32_t spi;
	bool hard;
	struct ipaddr dst;
};

static void on_expire(struct sim *s, void *arg)
{
	struct exp_ev ev = *(struct exp_ev *)arg;
	free(arg);
	(void)s;
	struct child *c = ik_child_by_spi(ev.d, ev.spi, &ev.dst);
	if (!c || !c->up)
		return;
	struct ike_sa *sa = c->sa;
	if (sa->state != S_ESTABLISHED)
		return;
	ik_say(ev.d, "%s: SADB_EXPIRE %s of SA 0x%08x", ik_sa_pol(sa)->name,
	       ev.hard ? "hard" : "soft", ev.spi);
	if (ev.hard) {
		ik_queue_delete(sa, c, false);
	} else if (!c->replaced && !c->rekey_tried) {
		c->rekey_tried = c->rekey_due = true;
		ik_kick(sa);
	}
}

static void on_pfkey(struct pfkey_sock *s, void *arg)
{
	struct iked *d = arg;
	uint8_t buf[PFKEY_MSG_MAXSZ];
	ssize_t len;
	while ((len = pfkey_read(s, buf, sizeof(buf))) > 0) {
		struct pfkey_msg m;
		if (pfkey_parse(buf, MIN((size_t)len, sizeof(buf)), PFKEY_OUT, 0, &m) != 0)
			continue;
		uint8_t type = m.hdr.sadb_msg_type;
		if (m.hdr.sadb_msg_pid == d->ps->pid) {
			if (type == SADB_GETSPI && !m.hdr.sadb_msg_errno &&
			    pfkey_has(&m, SADB_EXT_SA)) {
				struct sadb_sa sa;
				pfkey_get_sa(&m, SADB_EXT_SA, &sa);
				d->reply_spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
			}
			if (type == SADB_GET && !m.hdr.sadb_msg_errno &&
			    pfkey_has(&m, SADB_EXT_LIFETIME_CURRENT)) {
				struct sadb_lifetime lt;
				pfkey_get_lifetime(&m, SADB_EXT_LIFETIME_CURRENT, &lt);
				d->reply_bytes = lt.sadb_lifetime_bytes;
			}
			continue;
		}
		if (type == SADB_EXPIRE && !m.hdr.sadb_msg_errno && pfkey_has(&m, SADB_EXT_SA) &&
		    pfkey_has(&m, SADB_EXT_ADDRESS_DST)) {
			struct exp_ev *ev = xcalloc(1, sizeof(*ev));
			struct sadb_sa sa;
			uint16_t port;
			pfkey_get_sa(&m, SADB_EXT_SA, &sa);
			ev->d = d;
			ev->spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
			ev->hard = pfkey_has(&m, SADB_EXT_LIFETIME_HARD);
			pfkey_get_address(&m, SADB_EXT_ADDRESS_DST, &ev->dst, &port);
			sim_after(d->w->sim, 0, on_expire, free, ev);
			continue;
		}
		if (type == SADB_ACQUIRE && !m.hdr.sadb_msg_errno &&
		    pfkey_has(&m, SADB_EXT_ADDRESS_DST)) {
			struct acq_ev *ev = xcalloc(1, sizeof(*ev));
			ev->d = d;
			uint16_t port;
			pfkey_get_address(&m, SADB_EXT_ADDRESS_DST, &ev->dst, &port);
			if (pfkey_has(&m, SADB_EXT_ADDRESS_SRC)) {
				pfkey_get_address(&m, SADB_EXT_ADDRESS_SRC, &ev->src, &port);
				ev->has_src = true;
			}
			sim_after(d->w->sim, 0, on_acquire, free, ev);
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* ---- the API ---- */

struct iked_world *iked_world_new(struct sim *s)
{
	struct iked_world *w = xcalloc(1, sizeof(*w));
	w->sim = s;
	return w;
}

void iked_world_free(struct iked_world *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < w->nds; i++) {
		struct iked *d = w->ds[i];
		for (unsigned j = 0; j < d->nsas; j++)
			sa_free(d->sas[j]);
		free(d->sas);
		for (unsigned j = 0; j < d->npols; j++) {
			OPENSSL_cleanse(d->pols[j], sizeof(*d->pols[j])); /* the PSK */
			free(d->pols[j]);
		}
		free(d->pols);
		free(d->any_pols);
		hmap_free(&d->by_peer);
		hmap_free(&d->by_spi);
		hmap_free(&d->by_serial);
		hmap_free(&d->by_child);
		OPENSSL_cleanse(&d->rng, sizeof(d->rng));
		free(d);
	}
	free(w->ds);
	for (unsigned i = 0; i < w->ntable; i++) {
		OPENSSL_cleanse(w->table[i], strlen(w->table[i]));
		free(w->table[i]);
	}
	free(w->table);
	free(w);
}

struct iked *iked_find(const struct iked_world *w, const struct node *n)
{
	for (unsigned i = 0; i < w->nds; i++)
		if (w->ds[i]->n == n)
			return w->ds[i];
	return NULL;
}

/* As iked's sockets: IKE itself is never protected by the SPD. */
static void bypass_ipsec(struct node *n, struct udp_sock *us)
{
	int bypass = IPSEC_LEVEL_BYPASS;
	for (int opt = IP_AUTH_LEVEL; opt <= IP_ESP_NETWORK_LEVEL; opt++) {
		(void)seclevel_set(n, &us->sl, SOL_IPPROTO_IP, opt, &bypass, sizeof(bypass), true);
		(void)seclevel_set(n, &us->sl, SOL_IPPROTO_IPV6,
				   opt - IP_AUTH_LEVEL + IPV6_AUTH_LEVEL, &bypass, sizeof(bypass),
				   true);
	}
}

struct iked *iked_get(struct iked_world *w, struct node *n, char *err, size_t errcap)
{
	struct iked *d = iked_find(w, n);
	if (d)
		return d;
	struct udp_sock *us = udp_open(n);
	int rc = udp_bind(us, NULL, IKE_PORT);
	if (rc < 0) {
		snprintf(err, errcap, "%s: cannot bind UDP port 500: %s", n->name, strerror(-rc));
		udp_close(us);
		return NULL;
	}
	bypass_ipsec(n, us);
	d = xcalloc(1, sizeof(*d));
	d->w = w;
	d->n = n;
	d->us = us;
	us->on_recv = on_udp;
	us->cb_arg = d;
	d->set.dpd_interval = IKED_DPD_DEFAULT;
	d->set.cookie_threshold = IKED_COOKIE_DEFAULT;
	/* Port 4500 for NAT-T, as iked binds it: IKE behind the non-ESP
	 * marker comes here, ESP and keepalives stay in the kernel. */
	d->us_natt = udp_open(n);
	if (udp_bind(d->us_natt, NULL, IKE_NATT_PORT) < 0) {
		udp_close(d->us_natt);
		d->us_natt = NULL;
		node_trace(n, "iked: UDP port 4500 is taken: no NAT traversal");
	} else {
		d->us_natt->on_recv = on_udp;
		d->us_natt->cb_arg = d;
	}
	d->ps = pfkey_open(n);
	d->ps->on_queue = on_pfkey;
	d->ps->on_queue_arg = d;
	char stream[128];
	snprintf(stream, sizeof(stream), "iked:%s", n->name);
	rng_seed(&d->rng, w->sim->seed, stream);
	struct rng cr; /* a stream of its own: the cookie secret moves no SPI or nonce */
	snprintf(stream, sizeof(stream), "iked-cookie:%s", n->name);
	rng_seed(&cr, w->sim->seed, stream);
	rng_bytes(&cr, d->cookie_secret, sizeof(d->cookie_secret));
	OPENSSL_cleanse(&cr, sizeof(cr));
	if (d->us_natt)
		bypass_ipsec(n, d->us_natt);
	static const uint8_t satypes[] = {SADB_SATYPE_ESP, SADB_SATYPE_AH};
	for (size_t i = 0; i < ARRAY_LEN(satypes); i++) {
		struct pfkey_buf pb;
		pfkb_init(&pb, SADB_REGISTER, satypes[i], ++d->seq, d->ps->pid);
		(void)ik_pf_send(d, &pb);
	}
	w->ds = xgrow(w->ds, w->nds, sizeof(*w->ds));
	w->ds[w->nds++] = d;
	return d;
}

static void on_start(struct sim *s, void *arg)
{
	struct start_ev ev = *(struct start_ev *)arg;
	struct iked *d = ev.d;
	const struct iked_policy *p = &d->pols[ev.pol]->p;
	struct ipaddr local;
	free(arg);
	(void)s;
	if (p->has_local)
		local = p->local;
	else if ((p->peer.af == ADDR_V6 ? ip6_select_src(d->n, &p->peer, &local)
					: ip4_select_src(d->n, &p->peer, &local)) < 0) {
		char a[ADDR_STRLEN];
		ik_say(d, "%s: no route to the peer %s", p->name, addr_fmt(&p->peer, a));
		return;
	}
	ik_initiate(d, ev.pol, &local, &p->peer);
}

int iked_add_policy(struct iked *d, const struct iked_policy *p, char *err, size_t errcap)
{
	struct pol_state *ps = xcalloc(1, sizeof(*ps));
	ps->p = *p;
	unsigned i = d->npols;
	ps->self = i;
	d->pols = xgrow(d->pols, d->npols, sizeof(*d->pols));
	d->pols[d->npols++] = ps;
	if (p->peer_any) {
		d->any_pols = xgrow(d->any_pols, d->nany, sizeof(*d->any_pols));
		d->any_pols[d->nany++] = i;
	} else if (!hmap_add(&d->by_peer, ps->peer_key, peer_key(&p->peer, ps->peer_key), ps)) {
		/* Another policy names this peer: ours goes at the end of its chain. */
		unsigned k = ik_first_for_peer(d, &p->peer);
		while (d->pols[k - 1]->next_same_peer)
			k = d->pols[k - 1]->next_same_peer;
		d->pols[k - 1]->next_same_peer = i + 1;
	}
	if (p->mode == IKED_PASSIVE || p->peer_any)
		return 0;
	/* The flows now, so that the first packet asks for the SAs. */
	struct spd_sel sel;
	struct spd_mask mask;
	policy_flow(p, &sel, &mask);
	int rc = pf_flows(d, p->satype, &sel, &mask, p->has_local ? &p->local : NULL, &p->peer);
	if (rc < 0) {
		snprintf(err, errcap, "%s's kernel refused the flows of policy %s: %s", d->n->name,
			 p->name, strerror(-rc));
		return -1;
	}
	if (p->mode == IKED_ACTIVE) {
		struct start_ev *ev = xmalloc(sizeof(*ev));
		*ev = (struct start_ev){d, i};
		sim_after(d->w->sim, 0, on_start, free, ev);
	}
	return 0;
}

void iked_set_quiet(struct iked *d)
{
	d->quiet = true;
}

void iked_apply_settings(struct iked *d, const struct iked_settings *set)
{
	if (set->has_dpd)
		d->set.dpd_interval = set->dpd_interval;
	if (set->has_cookie)
		d->set.cookie_threshold = set->cookie_threshold;
}

static const char *const stat_names[] = {
#define IKED_STAT_NAME(name, what) #name,
    IKED_STATS(IKED_STAT_NAME)
#undef IKED_STAT_NAME
};

int iked_stat_index(const char *name)
{
	for (int i = 0; i < IKED_NSTATS; i++)
		if (strcmp(name, stat_names[i]) == 0)
			return i;
	return -1;
}

const char *iked_stat_name(int index)
{
	return index >= 0 && index < IKED_NSTATS ? stat_names[index] : NULL;
}

uint64_t iked_stat_value(const struct iked *d, int index)
{
	const uint64_t v[] = {
#define IKED_STAT_VALUE(name, what) d->st.name,
	    IKED_STATS(IKED_STAT_VALUE)
#undef IKED_STAT_VALUE
	};
	return index >= 0 && index < IKED_NSTATS ? v[index] : 0;
}

const struct iked_stats *iked_stats(const struct iked *d)
{
	return &d->st;
}

void iked_show(const struct iked *d, FILE *f)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], t[32];
	for (unsigned i = 0; i < d->nsas; i++) {
		const struct ike_sa *sa = d->sas[i];
		if (sa->state == S_DEAD)
			continue;
		fprintf(f, "iked_sas: 0x%016llx rspi 0x%016llx %s %s %s->%s %s",
			(unsigned long long)ik_spi64(sa->spi_i),
			(unsigned long long)ik_spi64(sa->spi_r), ik_sa_pol(sa)->name,
			sa->initiator ? "initiator" : "responder", addr_fmt(&sa->local, a),
			addr_fmt(&sa->peer, b), state_names[sa->state]);
		if (sa->state == S_ESTABLISHED)
			fprintf(f, " since %s enc %s prf %s auth %s group %s",
				sim_fmt_time(sa->established_at, t),
				iked_alg_name(IKE_XF_ENCR, sa->encr, sa->encr_bits),
				iked_alg_name(IKE_XF_PRF, sa->prf, 0),
				iked_alg_name(IKE_XF_INTEG, sa->integ, 0),
				iked_alg_name(IKE_XF_DH, sa->group, 0));
		if (sa->natt)
			fprintf(f, " natt%s port %u", sa->nat_local ? " (we are behind a NAT)" : "",
				sa->peer_port);
		fputc('\n', f);
		for (unsigned k = 0; k < sa->nch; k++) {
			const struct child *c = sa->ch[k];
			if (!c->up)
				continue;
			fprintf(f, "  childsa %s %s in 0x%08x out 0x%08x enc %s auth %s%s%s%s%s\n",
				pfkey_name(PFN_SATYPE, c->satype),
				c->transport ? "transport" : "tunnel", c->spi_in, c->spi_out,
				c->satype == SADB_SATYPE_ESP
				    ? iked_alg_name(IKE_XF_ENCR, c->encr, c->encr_bits)
				    : "none",
				iked_alg_name(IKE_XF_INTEG, c->integ, 0), c->esn ? " esn" : "",
				c->group ? " group " : "",
				c->group ? iked_alg_name(IKE_XF_DH, c->group, 0) : "",
				c->replaced ? " (replaced)" : "");
		}
	}
}

unsigned iked_table_count(const struct iked_world *w)
{
	return w->ntable;
}

const char *iked_table_line(const struct iked_world *w, unsigned i)
{
	return i < w->ntable ? w->table[i] : NULL;
}

void ik_drop(struct iked *d, const struct ipaddr *from, const char *why)
{
	char a[ADDR_STRLEN];
	d->st.dropped++;
	ik_say(d, "dropped a message from %s: %s", addr_fmt(from, a), why);
}

/* The first policy naming this peer (index + 1; 0: none), for the
 * chain of next_same_peer. */
unsigned ik_first_for_peer(struct iked *d, const struct ipaddr *peer)
{
	uint8_t key[17];
	const struct pol_state *ps = hmap_get(&d->by_peer, key, peer_key(peer, key));
	return ps ? ps->self + 1 : 0;
}
