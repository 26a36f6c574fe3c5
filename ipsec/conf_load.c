/*
 * Loading ipsec.conf rules through PF_KEY, as ipsecctl's pfkey.c does:
 * a flow is an SADB_X_ADDFLOW, an SA an SADB_ADD (state MATURE, the TUNNEL
 * flag in tunnel mode except for ipip, UDPENCAP with its port), a bundle
 * link an SADB_X_GRPSPIS.  Flows are static policies.
 */
#include <errno.h>
#include <string.h>

#include "../stack/util.h"
#include "conf.h"
#include "conf_names.h"
#include "pfkey.h"
#include "pfkey_msg.h"

static uint8_t sadb_satype(enum conf_satype t)
{
	switch (t) {
	case CS_ESP: return SADB_SATYPE_ESP;
	case CS_AH: return SADB_SATYPE_AH;
	case CS_IPCOMP: return SADB_X_SATYPE_IPCOMP;
	case CS_TCPMD5: return SADB_X_SATYPE_TCPSIGNATURE;
	case CS_IPIP: return SADB_X_SATYPE_IPIP;
	default: return SADB_SATYPE_UNSPEC;
	}
}

static uint8_t sadb_auth(const struct conf_xf *x)
{
	if (!x)
		return SADB_AALG_NONE;
	switch (x->id) {
	case AUTHXF_HMAC_MD5: return SADB_AALG_MD5HMAC;
	case AUTHXF_HMAC_RIPEMD160: return SADB_X_AALG_RIPEMD160HMAC;
	case AUTHXF_HMAC_SHA1: return SADB_AALG_SHA1HMAC;
	case AUTHXF_HMAC_SHA2_256: return SADB_X_AALG_SHA2_256;
	case AUTHXF_HMAC_SHA2_384: return SADB_X_AALG_SHA2_384;
	case AUTHXF_HMAC_SHA2_512: return SADB_X_AALG_SHA2_512;
	default: return SADB_AALG_NONE;
	}
}

static uint8_t sadb_enc(const struct conf_xf *x)
{
	if (!x)
		return SADB_EALG_NONE;
	switch (x->id) {
	case ENCXF_3DES_CBC: return SADB_EALG_3DESCBC;
	case ENCXF_AES:
	case ENCXF_AES_128:
	case ENCXF_AES_192:
	case ENCXF_AES_256: return SADB_X_EALG_AES;
	case ENCXF_AESCTR:
	case ENCXF_AES_128_CTR:
	case ENCXF_AES_192_CTR:
	case ENCXF_AES_256_CTR: return SADB_X_EALG_AESCTR;
	case ENCXF_AES_128_GCM:
	case ENCXF_AES_192_GCM:
	case ENCXF_AES_256_GCM: return SADB_X_EALG_AESGCM16;
	case ENCXF_AES_128_GMAC:
	case ENCXF_AES_192_GMAC:
	case ENCXF_AES_256_GMAC: return SADB_X_EALG_AESGMAC;
	case ENCXF_BLOWFISH: return SADB_X_EALG_BLF;
	case ENCXF_CAST128: return SADB_X_EALG_CAST;
	case ENCXF_CHACHA20_POLY1305: return SADB_X_EALG_CHACHA20POLY1305;
	case ENCXF_NULL: return SADB_EALG_NULL;
	default: return SADB_EALG_NONE;
	}
}

static const uint8_t flow_types[] = {0,
				     SADB_X_FLOW_TYPE_USE,
				     SADB_X_FLOW_TYPE_ACQUIRE,
				     SADB_X_FLOW_TYPE_REQUIRE,
				     SADB_X_FLOW_TYPE_DENY,
				     SADB_X_FLOW_TYPE_BYPASS,
				     SADB_X_FLOW_TYPE_DONTACQ};

static struct ipaddr plen_mask(uint8_t af, unsigned plen)
{
	struct ipaddr m = {.af = af};
	memset(m.a, 0xff, addr_len(af));
	addr_mask(&m, plen);
	return m;
}

static size_t build_flow(struct pfkey_buf *pb, const struct conf_rule *r, uint32_t pid)
{
	pfkb_init(pb, SADB_X_ADDFLOW, sadb_satype(r->satype), r->nr, pid);
	if (r->has_local)
		pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &r->local.addr, 0);
	if (r->has_peer)
		pfkb_address(pb, SADB_EXT_ADDRESS_DST, &r->peer.addr, 0);
	if (r->srcid)
		pfkb_ident(pb, SADB_EXT_IDENTITY_SRC, pfkey_ident_type(r->srcid), r->srcid);
	if (r->dstid)
		pfkb_ident(pb, SADB_EXT_IDENTITY_DST, pfkey_ident_type(r->dstid), r->dstid);
	struct ipaddr sm = plen_mask(r->src.addr.af, r->src.plen);
	struct ipaddr dm = plen_mask(r->dst.addr.af, r->dst.plen);
	pfkb_address(pb, SADB_X_EXT_SRC_MASK, &sm, r->sport ? 0xffff : 0);
	pfkb_address(pb, SADB_X_EXT_DST_MASK, &dm, r->dport ? 0xffff : 0);
	if (r->proto)
		pfkb_protocol(pb, SADB_X_EXT_PROTOCOL, r->proto, 0, 0);
	pfkb_protocol(pb, SADB_X_EXT_FLOW_TYPE, flow_types[r->flowtype],
		      r->direction == CD_IN ? IPSP_DIRECTION_IN : IPSP_DIRECTION_OUT,
		      SADB_X_POLICYFLAGS_POLICY);
	pfkb_address(pb, SADB_X_EXT_SRC_FLOW, &r->src.addr, r->sport);
	pfkb_address(pb, SADB_X_EXT_DST_FLOW, &r->dst.addr, r->dport);
	return pfkb_finish(pb);
}

static size_t build_sa(struct pfkey_buf *pb, const struct conf_rule *r, uint32_t pid)
{
	uint32_t flags = 0;
	if (r->tmode == CT_TUNNEL && r->satype != CS_IPIP && r->satype != CS_TCPMD5)
		flags |= SADB_X_SAFLAGS_TUNNEL;
	if (r->udpencap)
		flags |= SADB_X_SAFLAGS_UDPENCAP;
	if (r->esn)
		flags |= SADB_X_SAFLAGS_ESN;
	uint8_t enc =
	    r->satype == CS_IPCOMP ? (r->compxf ? SADB_X_CALG_DEFLATE : 0) : sadb_enc(r->encxf);
	pfkb_init(pb, SADB_ADD, sadb_satype(r->satype), r->nr, pid);
	pfkb_sa(pb, SADB_EXT_SA, r->spi, r->replay, SADB_SASTATE_MATURE, sadb_auth(r->authxf), enc,
		flags);
	if (r->has_hard)
		pfkb_lifetime(pb, SADB_EXT_LIFETIME_HARD, 0, r->hard.bytes, r->hard.addtime,
			      r->hard.usetime);
	if (r->has_soft)
		pfkb_lifetime(pb, SADB_EXT_LIFETIME_SOFT, 0, r->soft.bytes, r->soft.addtime,
			      r->soft.usetime);
	pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &r->src.addr, 0);
	pfkb_address(pb, SADB_EXT_ADDRESS_DST, &r->dst.addr, 0);
	if (r->authkey.data && r->authkey.len)
		pfkb_key(pb, SADB_EXT_KEY_AUTH, r->authkey.data, (unsigned)r->authkey.len * 8);
	if (r->enckey.data && r->enckey.len)
		pfkb_key(pb, SADB_EXT_KEY_ENCRYPT, r->enckey.data, (unsigned)r->enckey.len * 8);
	if (r->udpencap && r->udpdport)
		pfkb_udpencap(pb, r->udpdport);
	if (r->srcid && r->dstid) {
		pfkb_ident(pb, SADB_EXT_IDENTITY_SRC, pfkey_ident_type(r->srcid), r->srcid);
		pfkb_ident(pb, SADB_EXT_IDENTITY_DST, pfkey_ident_type(r->dstid), r->dstid);
	}
	return pfkb_finish(pb);
}

static size_t build_bundle(struct pfkey_buf *pb, const struct conf_rule *r, uint32_t pid)
{
	pfkb_init(pb, SADB_X_GRPSPIS, sadb_satype(r->satype), r->nr, pid);
	pfkb_sa(pb, SADB_EXT_SA, r->spi, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(pb, SADB_EXT_ADDRESS_DST, &r->dst.addr, 0);
	pfkb_sa(pb, SADB_X_EXT_SA2, r->spi2, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(pb, SADB_X_EXT_DST2, &r->dst2.addr, 0);
	pfkb_protocol(pb, SADB_X_EXT_SATYPE2, sadb_satype(r->satype2), 0, 0);
	return pfkb_finish(pb);
}

unsigned conf_load(const struct conf *conf, struct pfkey_sock *s, FILE *err, const char *who)
{
	unsigned failed = 0;
	struct pfkey_buf pb;
	for (const struct conf_rule *r = conf->head; r; r = r->next) {
		size_t len = r->type & CR_FLOW ? build_flow(&pb, r, s->pid)
			     : r->type & CR_SA ? build_sa(&pb, r, s->pid)
					       : build_bundle(&pb, r, s->pid);
		int rc = len ? pfkey_write(s, pb.b, len) : -EMSGSIZE;
		memset(pb.b, 0, sizeof(pb.b)); /* it held keys */
		/* Read the kernel's echo of each message as ipsecctl does, so a
		 * long file does not fill the socket's buffer (the errno came
		 * back with the write). */
		while (pfkey_read(s, pb.b, sizeof(pb.b)) >= 0)
			memset(pb.b, 0, sizeof(pb.b));
		if (rc < 0) {
			failed++;
			if (err && who)
				fprintf(err, "%s:%u: %s's kernel refused rule %u: %s\n", r->file,
					r->line, who, r->nr, strerror(-rc));
			else if (err)
				fprintf(err, "failed to add rule %u: %s\n", r->nr, strerror(-rc));
		}
	}
	return failed;
}
