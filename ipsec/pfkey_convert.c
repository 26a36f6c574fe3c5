/*
 * Between PF_KEY extensions and kernel structures (OpenBSD's
 * pfkeyv2_convert.c): import an SA or a flow, check an SA's algorithms and
 * keys as tdb_init does, export an SA or a flow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "../stack/util.h"
#include "pfkey.h"
#include "pfkey_msg.h"
#include "xform.h"

static uint32_t sa_flags_import(uint32_t f)
{
	uint32_t t = 0;
	if (f & SADB_SAFLAGS_PFS)
		t |= TDBF_PFS;
	if (f & SADB_X_SAFLAGS_TUNNEL)
		t |= TDBF_TUNNELING;
	if (f & SADB_X_SAFLAGS_UDPENCAP)
		t |= TDBF_UDPENCAP;
	if (f & SADB_X_SAFLAGS_ESN)
		t |= TDBF_ESN;
	return t;
}

static uint32_t sa_flags_export(uint32_t t)
{
	uint32_t f = 0;
	if (t & TDBF_PFS)
		f |= SADB_SAFLAGS_PFS;
	if (t & TDBF_TUNNELING)
		f |= SADB_X_SAFLAGS_TUNNEL;
	if (t & TDBF_UDPENCAP)
		f |= SADB_X_SAFLAGS_UDPENCAP;
	if (t & TDBF_ESN)
		f |= SADB_X_SAFLAGS_ESN;
	return f;
}

/* A non-zero field sets its TDBF flag and zero clears it (import_lifetime). */
static void import_lifetime(struct tdb *t, const struct pfkey_msg *m, int ext)
{
	struct sadb_lifetime lt;
	pfkey_get_lifetime(m, ext, &lt);
	struct tdb_lifetime *dst = ext == SADB_EXT_LIFETIME_HARD ? &t->hard : &t->soft;
	static const uint32_t hard_f[4] = {TDBF_ALLOCATIONS, TDBF_BYTES, TDBF_TIMER, TDBF_FIRSTUSE};
	static const uint32_t soft_f[4] = {TDBF_SOFT_ALLOCATIONS, TDBF_SOFT_BYTES, TDBF_SOFT_TIMER,
					   TDBF_SOFT_FIRSTUSE};
	const uint32_t *f = ext == SADB_EXT_LIFETIME_HARD ? hard_f : soft_f;
	uint64_t v[4] = {lt.sadb_lifetime_allocations, lt.sadb_lifetime_bytes,
			 lt.sadb_lifetime_addtime, lt.sadb_lifetime_usetime};
	for (int i = 0; i < 4; i++) {
		if (v[i])
			t->flags |= f[i];
		else
			t->flags &= ~f[i];
	}
	dst->allocations = lt.sadb_lifetime_allocations;
	dst->bytes = lt.sadb_lifetime_bytes;
	dst->addtime = lt.sadb_lifetime_addtime;
	dst->usetime = lt.sadb_lifetime_usetime;
}

static int import_key(const struct pfkey_msg *m, int ext, uint8_t **key, uint16_t *len)
{
	unsigned bits;
	const uint8_t *k = pfkey_get_key(m, ext, &bits);
	if (bits % 8)
		return EINVAL; /* keys are whole bytes */
	*len = (uint16_t)(bits / 8);
	*key = xmalloc(*len);
	memcpy(*key, k, *len);
	return 0;
}

static char *import_ident(const struct pfkey_msg *m, int ext, uint16_t *type)
{
	return xstrdup(pfkey_get_ident(m, ext, type));
}

int pfkey_import_sa(struct tdb *t, const struct pfkey_msg *m, uint64_t now)
{
	struct sadb_sa sa;
	pfkey_get_sa(m, SADB_EXT_SA, &sa);
	t->spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
	t->wnd = sa.sadb_sa_replay;
	t->flags |= sa_flags_import(sa.sadb_sa_flags);
	if (sa.sadb_sa_state != SADB_SASTATE_MATURE)
		t->flags |= TDBF_INVALID;
	t->authalg = sa.sadb_sa_auth;
	t->encalg = sa.sadb_sa_encrypt;
	t->satype = m->hdr.sadb_msg_satype;
	t->sproto = satype_to_sproto(t->satype);
	t->seq = m->hdr.sadb_msg_seq;
	t->established = now;
	pfkey_get_address(m, SADB_EXT_ADDRESS_DST, &t->dst, NULL);
	if (pfkey_has(m, SADB_EXT_ADDRESS_SRC))
		pfkey_get_address(m, SADB_EXT_ADDRESS_SRC, &t->src, NULL);
	if (pfkey_has(m, SADB_EXT_LIFETIME_HARD))
		import_lifetime(t, m, SADB_EXT_LIFETIME_HARD);
	if (pfkey_has(m, SADB_EXT_LIFETIME_SOFT))
		import_lifetime(t, m, SADB_EXT_LIFETIME_SOFT);
	if (pfkey_has(m, SADB_EXT_LIFETIME_CURRENT)) {
		struct sadb_lifetime lt;
		pfkey_get_lifetime(m, SADB_EXT_LIFETIME_CURRENT, &lt);
		t->cur_allocations = lt.sadb_lifetime_allocations;
		t->cur_bytes = lt.sadb_lifetime_bytes;
	}
	if (pfkey_has(m, SADB_EXT_KEY_AUTH) &&
	    import_key(m, SADB_EXT_KEY_AUTH, &t->authkey, &t->authkeylen))
		return EINVAL;
	if (pfkey_has(m, SADB_EXT_KEY_ENCRYPT) &&
	    import_key(m, SADB_EXT_KEY_ENCRYPT, &t->enckey, &t->enckeylen))
		return EINVAL;
	if (pfkey_has(m, SADB_EXT_IDENTITY_SRC))
		t->srcid = import_ident(m, SADB_EXT_IDENTITY_SRC, &t->srcid_type);
	if (pfkey_has(m, SADB_EXT_IDENTITY_DST))
		t->dstid = import_ident(m, SADB_EXT_IDENTITY_DST, &t->dstid_type);
	if (pfkey_has(m, SADB_X_EXT_UDPENCAP))
		t->udpencap_port = pfkey_get_udpencap_port(m);
	if (pfkey_has(m, SADB_X_EXT_TAG))
		snprintf(t->tag, sizeof(t->tag), "%s", pfkey_get_tag(m));
	if (pfkey_has(m, SADB_X_EXT_TAP))
		t->tap = pfkey_get_tap(m);
	/* A testbed may start the counter anywhere (to reach 2^32 soon); 0
	 * would make a zero sequence number, so it means the start, 1. */
	t->replay.rpl = REPLAY_FIRST;
	if (pfkey_has(m, SADB_X_EXT_REPLAY) && pfkey_get_replay(m))
		t->replay.rpl = pfkey_get_replay(m);
	if (pfkey_has(m, SADB_X_EXT_SRC_FLOW)) {
		uint8_t dir;
		if (pfkey_import_flow(m, &t->filter, &t->filtermask, &t->filter_type, &dir))
			return EINVAL;
		t->has_filter = true;
	}
	return 0;
}

/* The GMAC auth algorithm a GCM/GMAC key length implies (esp_init). */
static uint8_t gmac_for_keylen(uint16_t len)
{
	switch (len) {
	case 20: return SADB_X_AALG_AES128GMAC;
	case 28: return SADB_X_AALG_AES192GMAC;
	case 36: return SADB_X_AALG_AES256GMAC;
	default: return 0;
	}
}

/* An HMAC on its own (ESP or AH); GMAC and Poly1305 come only with their
 * ESP AEAD ciphers, which set them themselves. */
static int init_auth(const struct tdb *t)
{
	const struct auth_xform *a = xform_auth(t->authalg);
	if (!a || !a->ah)
		return EINVAL;
	if (t->authkeylen != a->keysize)
		return EINVAL;
	return 0;
}

int pfkey_tdb_init(struct tdb *t)
{
	switch (t->sproto) {
	case IPPROTO_ESP: {
		if (t->encalg == SADB_EALG_NONE && t->authalg == SADB_AALG_NONE)
			return EINVAL;
		if (t->encalg != SADB_EALG_NONE) {
			const struct enc_xform *e = xform_enc(t->encalg);
			if (!e || !xform_enc_keylen_ok(t->encalg, t->enckeylen))
				return EINVAL;
			if (e->forced_auth) {
				/* AEADs authenticate themselves with the encryption key. */
				uint8_t forced = t->encalg == SADB_X_EALG_CHACHA20POLY1305
						     ? SADB_X_AALG_CHACHA20POLY1305
						     : gmac_for_keylen(t->enckeylen);
				if (!forced)
					return EINVAL;
				t->authalg = forced;
				return 0;
			}
		}
		if (t->authalg != SADB_AALG_NONE)
			return init_auth(t);
		return 0;
	}
	case IPPROTO_AH:
		if (t->encalg != SADB_EALG_NONE || t->authalg == SADB_AALG_NONE)
			return EINVAL;
		return init_auth(t);
	case IPPROTO_IPCOMP: return t->encalg == SADB_X_CALG_DEFLATE ? 0 : EINVAL;
	case IPPROTO_IPIP: return 0;
	case 6: /* TCP-MD5 signatures: a key and nothing else */ return t->authkeylen ? 0 : EINVAL;
	default: return EINVAL;
	}
}

/* The length of a contiguous mask, or -1. */
static int mask_plen(const struct ipaddr *m)
{
	unsigned n = addr_len(m->af), plen = 0, i = 0;
	for (; i < n && m->a[i] == 0xff; i++)
		plen += 8;
	if (i < n) {
		uint8_t b = m->a[i];
		while (b & 0x80) {
			plen++;
			b = (uint8_t)(b << 1);
		}
		if (b)
			return -1;
		for (i++; i < n; i++)
			if (m->a[i])
				return -1;
	}
	return (int)plen;
}

static int flow_type_import(uint8_t ft, uint8_t *type)
{
	static const uint8_t map[] = {
	    0,           IPSP_IPSEC_USE, IPSP_IPSEC_ACQUIRE, IPSP_IPSEC_REQUIRE,
	    IPSP_PERMIT, IPSP_DENY,      IPSP_IPSEC_DONTACQ};
	if (ft < SADB_X_FLOW_TYPE_USE || ft > SADB_X_FLOW_TYPE_DONTACQ)
		return EINVAL;
	*type = map[ft];
	return 0;
}

static uint8_t flow_type_export(uint8_t type)
{
	static const uint8_t map[] = {SADB_X_FLOW_TYPE_USE,     SADB_X_FLOW_TYPE_ACQUIRE,
				      SADB_X_FLOW_TYPE_REQUIRE, SADB_X_FLOW_TYPE_BYPASS,
				      SADB_X_FLOW_TYPE_DENY,    SADB_X_FLOW_TYPE_DONTACQ};
	return type < ARRAY_LEN(map) ? map[type] : 0;
}

int pfkey_import_flow(const struct pfkey_msg *m, struct spd_sel *sel, struct spd_mask *mask,
		      uint8_t *type, uint8_t *dir)
{
	struct ipaddr smask, dmask;
	uint16_t sport, dport, spmask, dpmask;
	struct sadb_protocol ft;

	memset(sel, 0, sizeof(*sel));
	memset(mask, 0, sizeof(*mask));
	pfkey_get_protocol(m, SADB_X_EXT_FLOW_TYPE, &ft);
	if (flow_type_import(ft.sadb_protocol_proto, type))
		return EINVAL;
	*dir = ft.sadb_protocol_direction;
	if (*dir != IPSP_DIRECTION_IN && *dir != IPSP_DIRECTION_OUT)
		return EINVAL;
	sel->dir = *dir;
	pfkey_get_address(m, SADB_X_EXT_SRC_FLOW, &sel->src, &sport);
	pfkey_get_address(m, SADB_X_EXT_DST_FLOW, &sel->dst, &dport);
	pfkey_get_address(m, SADB_X_EXT_SRC_MASK, &smask, &spmask);
	pfkey_get_address(m, SADB_X_EXT_DST_MASK, &dmask, &dpmask);
	int sp = mask_plen(&smask), dp = mask_plen(&dmask);
	if (sp < 0 || dp < 0 || sel->src.af == ADDR_NONE)
		return EINVAL;
	mask->src_plen = (uint8_t)sp;
	mask->dst_plen = (uint8_t)dp;
	if (pfkey_has(m, SADB_X_EXT_PROTOCOL)) {
		struct sadb_protocol p;
		pfkey_get_protocol(m, SADB_X_EXT_PROTOCOL, &p);
		sel->proto = p.sadb_protocol_proto;
		mask->proto = p.sadb_protocol_proto != 0;
	}
	if ((spmask != 0 && spmask != 0xffff) || (dpmask != 0 && dpmask != 0xffff))
		return EINVAL;
	/* Ports are only part of a selector for TCP and UDP. */
	if ((spmask || dpmask) && sel->proto != 6 && sel->proto != 17)
		return EINVAL;
	mask->sport = spmask != 0;
	mask->dport = dpmask != 0;
	sel->sport = sport;
	sel->dport = dport;
	spd_sel_apply(sel, mask);
	return 0;
}

static struct ipaddr plen_mask(uint8_t af, unsigned plen)
{
	struct ipaddr m = {.af = af};
	memset(m.a, 0xff, addr_len(af));
	addr_mask(&m, plen);
	return m;
}

void pfkey_export_flow(struct pfkey_buf *pb, const struct spd_sel *sel, const struct spd_mask *mask,
		       uint8_t type)
{
	struct ipaddr sm = plen_mask(sel->src.af, mask->src_plen);
	struct ipaddr dm = plen_mask(sel->dst.af, mask->dst_plen);
	pfkb_address(pb, SADB_X_EXT_SRC_FLOW, &sel->src, sel->sport);
	pfkb_address(pb, SADB_X_EXT_DST_FLOW, &sel->dst, sel->dport);
	pfkb_address(pb, SADB_X_EXT_SRC_MASK, &sm, mask->sport ? 0xffff : 0);
	pfkb_address(pb, SADB_X_EXT_DST_MASK, &dm, mask->dport ? 0xffff : 0);
	if (mask->proto)
		pfkb_protocol(pb, SADB_X_EXT_PROTOCOL, sel->proto, 0, 0);
	pfkb_protocol(pb, SADB_X_EXT_FLOW_TYPE, flow_type_export(type), sel->dir, 0);
}

void pfkey_export_sa(struct pfkey_buf *pb, const struct tdb *t, uint64_t now, bool keys)
{
	uint8_t state = (t->flags & TDBF_INVALID) ? SADB_SASTATE_LARVAL : SADB_SASTATE_MATURE;
	pfkb_sa(pb, SADB_EXT_SA, t->spi, t->wnd, state, t->authalg, t->encalg,
		sa_flags_export(t->flags));
	(void)now;
	pfkb_lifetime(pb, SADB_EXT_LIFETIME_CURRENT, t->cur_allocations, t->cur_bytes,
		      t->established / NS_PER_SEC, t->first_use / NS_PER_SEC);
	if (t->flags & (TDBF_ALLOCATIONS | TDBF_BYTES | TDBF_TIMER | TDBF_FIRSTUSE))
		pfkb_lifetime(pb, SADB_EXT_LIFETIME_HARD, t->hard.allocations, t->hard.bytes,
			      t->hard.addtime, t->hard.usetime);
	if (t->flags &
	    (TDBF_SOFT_ALLOCATIONS | TDBF_SOFT_BYTES | TDBF_SOFT_TIMER | TDBF_SOFT_FIRSTUSE))
		pfkb_lifetime(pb, SADB_EXT_LIFETIME_SOFT, t->soft.allocations, t->soft.bytes,
			      t->soft.addtime, t->soft.usetime);
	if (t->src.af != ADDR_NONE)
		pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &t->src, 0);
	pfkb_address(pb, SADB_EXT_ADDRESS_DST, &t->dst, 0);
	if (keys && t->authkey)
		pfkb_key(pb, SADB_EXT_KEY_AUTH, t->authkey, t->authkeylen * 8u);
	if (keys && t->enckey)
		pfkb_key(pb, SADB_EXT_KEY_ENCRYPT, t->enckey, t->enckeylen * 8u);
	if (t->srcid)
		pfkb_ident(pb, SADB_EXT_IDENTITY_SRC, t->srcid_type, t->srcid);
	if (t->dstid)
		pfkb_ident(pb, SADB_EXT_IDENTITY_DST, t->dstid_type, t->dstid);
	if (t->has_filter)
		pfkey_export_flow(pb, &t->filter, &t->filtermask, t->filter_type);
	if (t->flags & TDBF_UDPENCAP)
		pfkb_udpencap(pb, t->udpencap_port);
	if (t->tag[0])
		pfkb_tag(pb, t->tag);
	if (t->tap)
		pfkb_tap(pb, t->tap);
	pfkb_counter(pb, t->counters);
	pfkb_replay(pb, t->replay.rpl);
}

void pfkey_build_expire(struct pfkey_buf *pb, const struct tdb *t, int which, uint32_t seq)
{
	const struct tdb_lifetime *lt = which == SADB_EXT_LIFETIME_HARD ? &t->hard : &t->soft;
	uint8_t state = (t->flags & TDBF_INVALID) ? SADB_SASTATE_LARVAL : SADB_SASTATE_MATURE;
	pfkb_init(pb, SADB_EXPIRE, t->satype, seq, 0);
	pfkb_sa(pb, SADB_EXT_SA, t->spi, t->wnd, state, t->authalg, t->encalg,
		sa_flags_export(t->flags));
	pfkb_lifetime(pb, SADB_EXT_LIFETIME_CURRENT, t->cur_allocations, t->cur_bytes,
		      t->established / NS_PER_SEC, t->first_use / NS_PER_SEC);
	pfkb_lifetime(pb, (uint16_t)which, lt->allocations, lt->bytes, lt->addtime, lt->usetime);
	pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &t->src, 0);
	pfkb_address(pb, SADB_EXT_ADDRESS_DST, &t->dst, 0);
}

void pfkey_build_acquire(struct pfkey_buf *pb, uint32_t seq, const struct pfkey_acquire_info *a)
{
	pfkb_init(pb, SADB_ACQUIRE, a->satype, seq, 0);
	if (a->src.af != ADDR_NONE)
		pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &a->src, 0);
	pfkb_address(pb, SADB_EXT_ADDRESS_DST, &a->dst, 0);
	if (a->srcid)
		pfkb_ident(pb, SADB_EXT_IDENTITY_SRC, a->srcid_type, a->srcid);
	if (a->dstid)
		pfkb_ident(pb, SADB_EXT_IDENTITY_DST, a->dstid_type, a->dstid);
	pfkb_proposal(pb, 0, &a->comb, 1);
}
