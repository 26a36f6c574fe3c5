/*
 * `ipsecctl -s` for a node: flows as ipsecctl prints them from an SPD dump,
 * SAs from an SAD dump (each SA exported as a PF_KEY message, exactly what
 * DUMP answers) in pfkdump.c's format: the rule line, and with -v one line
 * per extension.  SAs are sorted by SPI, as ipsecctl sorts them; flows in
 * the order of their selectors (direction, family, source, destination,
 * protocol, ports, longer prefixes first), standing in for the radix walk.
 */
#include "show.h"

#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "conf.h"
#include "conf_names.h"
#include "pfkey.h"
#include "pfkey_msg.h"

/* ipsecctl's reading of an SA back into a rule (pfkey_print_sa). */
static void sa_to_rule(const struct pfkey_msg *m, struct conf_rule *r)
{
	struct sadb_sa sa;
	pfkey_get_sa(m, SADB_EXT_SA, &sa);
	memset(r, 0, sizeof(*r));
	r->type = CR_SA;
	r->spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
	uint8_t satype = m->hdr.sadb_msg_satype;
	r->tmode =
	    satype != SADB_X_SATYPE_TCPSIGNATURE && (sa.sadb_sa_flags & SADB_X_SAFLAGS_TUNNEL)
		? CT_TUNNEL
		: CT_TRANSPORT;
	r->satype = satype == SADB_SATYPE_AH               ? CS_AH
		    : satype == SADB_SATYPE_ESP            ? CS_ESP
		    : satype == SADB_X_SATYPE_IPCOMP       ? CS_IPCOMP
		    : satype == SADB_X_SATYPE_TCPSIGNATURE ? CS_TCPMD5
							   : CS_IPIP;
	if (pfkey_has(m, SADB_EXT_ADDRESS_SRC))
		pfkey_get_address(m, SADB_EXT_ADDRESS_SRC, &r->src.addr, NULL);
	pfkey_get_address(m, SADB_EXT_ADDRESS_DST, &r->dst.addr, NULL);
	r->src.plen = addr_bits(r->src.addr.af);
	r->dst.plen = addr_bits(r->dst.addr.af);
	unsigned bits = 0;
	size_t enclen = 0;
	if (pfkey_has(m, SADB_EXT_KEY_ENCRYPT)) {
		pfkey_get_key(m, SADB_EXT_KEY_ENCRYPT, &bits);
		enclen = bits / 8;
	}
	if (r->satype == CS_IPCOMP) {
		if (sa.sadb_sa_encrypt == SADB_X_CALG_DEFLATE)
			r->compxf = conf_xf_comp("deflate");
		return;
	}
	if (r->satype == CS_TCPMD5)
		return;
	/* The cipher's name follows from its id and key length. */
	switch (sa.sadb_sa_encrypt) {
	case SADB_EALG_3DESCBC: r->encxf = conf_xf_enc("3des-cbc"); break;
	case SADB_X_EALG_AES:
		r->encxf = conf_xf_enc(enclen == 24 ? "aes-192" : enclen == 32 ? "aes-256" : "aes");
		break;
	case SADB_X_EALG_AESCTR:
		r->encxf = conf_xf_enc(enclen == 28   ? "aes-192-ctr"
				       : enclen == 36 ? "aes-256-ctr"
						      : "aesctr");
		break;
	case SADB_X_EALG_AESGCM16:
		r->encxf = conf_xf_enc(enclen == 28   ? "aes-192-gcm"
				       : enclen == 36 ? "aes-256-gcm"
						      : "aes-128-gcm");
		break;
	case SADB_X_EALG_AESGMAC:
		r->encxf = conf_xf_enc(enclen == 28   ? "aes-192-gmac"
				       : enclen == 36 ? "aes-256-gmac"
						      : "aes-128-gmac");
		break;
	case SADB_X_EALG_BLF: r->encxf = conf_xf_enc("blowfish"); break;
	case SADB_X_EALG_CAST: r->encxf = conf_xf_enc("cast128"); break;
	case SADB_X_EALG_CHACHA20POLY1305: r->encxf = conf_xf_enc("chacha20-poly1305"); break;
	case SADB_EALG_NULL: r->encxf = conf_xf_enc("null"); break;
	default: break;
	}
	switch (sa.sadb_sa_auth) {
	case SADB_AALG_MD5HMAC: r->authxf = conf_xf_auth("hmac-md5"); break;
	case SADB_X_AALG_RIPEMD160HMAC: r->authxf = conf_xf_auth("hmac-ripemd160"); break;
	case SADB_AALG_SHA1HMAC: r->authxf = conf_xf_auth("hmac-sha1"); break;
	case SADB_X_AALG_SHA2_256: r->authxf = conf_xf_auth("hmac-sha2-256"); break;
	case SADB_X_AALG_SHA2_384: r->authxf = conf_xf_auth("hmac-sha2-384"); break;
	case SADB_X_AALG_SHA2_512: r->authxf = conf_xf_auth("hmac-sha2-512"); break;
	default: break; /* GMAC and Poly1305 have no ipsecctl name */
	}
}

struct idname {
	unsigned id;
	const char *name;
};

static const char *lookup(const struct idname *t, size_t n, unsigned id)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].id == id)
			return t[i].name;
	return "unknown";
}

#define LOOKUP(table, id) lookup(table, ARRAY_LEN(table), id)

static const struct idname auth_names[] = {{SADB_AALG_NONE, "none"},
					   {SADB_AALG_MD5HMAC, "hmac-md5"},
					   {SADB_X_AALG_RIPEMD160HMAC, "hmac-ripemd160"},
					   {SADB_AALG_SHA1HMAC, "hmac-sha1"},
					   {SADB_X_AALG_SHA2_256, "hmac-sha2-256"},
					   {SADB_X_AALG_SHA2_384, "hmac-sha2-384"},
					   {SADB_X_AALG_SHA2_512, "hmac-sha2-512"},
					   {SADB_X_AALG_AES128GMAC, "gmac-aes-128"},
					   {SADB_X_AALG_AES192GMAC, "gmac-aes-192"},
					   {SADB_X_AALG_AES256GMAC, "gmac-aes-256"},
					   {SADB_X_AALG_CHACHA20POLY1305, "chacha20-poly1305"}},
			   enc_names[] = {{SADB_EALG_NONE, "none"},
					  {SADB_EALG_3DESCBC, "3des-cbc"},
					  {SADB_X_EALG_AES, "aes"},
					  {SADB_X_EALG_AESCTR, "aesctr"},
					  {SADB_X_EALG_AESGCM16, "aes-gcm"},
					  {SADB_X_EALG_AESGMAC, "aes-gmac"},
					  {SADB_X_EALG_BLF, "blowfish"},
					  {SADB_X_EALG_CAST, "cast128"},
					  {SADB_EALG_NULL, "null"},
					  {SADB_X_EALG_CHACHA20POLY1305, "chacha20-poly1305"}},
			   comp_names[] = {{SADB_X_CALG_NONE, "none"},
					   {SADB_X_CALG_OUI, "oui"},
					   {SADB_X_CALG_DEFLATE, "deflate"}},
			   state_names[] = {{SADB_SASTATE_LARVAL, "larval"},
					    {SADB_SASTATE_MATURE, "mature"},
					    {SADB_SASTATE_DYING, "dying"},
					    {SADB_SASTATE_DEAD, "dead"}},
			   flag_names[] = {{SADB_SAFLAGS_PFS, "pfs"},
					   {SADB_X_SAFLAGS_TUNNEL, "tunnel"},
					   {SADB_X_SAFLAGS_CHAINDEL, "chaindel"},
					   {SADB_X_SAFLAGS_UDPENCAP, "udpencap"},
					   {SADB_X_SAFLAGS_ESN, "esn"}},
			   flowtype_names[] = {{SADB_X_FLOW_TYPE_USE, "use"},
					       {SADB_X_FLOW_TYPE_ACQUIRE, "acquire"},
					       {SADB_X_FLOW_TYPE_REQUIRE, "require"},
					       {SADB_X_FLOW_TYPE_BYPASS, "bypass"},
					       {SADB_X_FLOW_TYPE_DENY, "deny"},
					       {SADB_X_FLOW_TYPE_DONTACQ, "dontacq"}},
			   ident_names[] = {{SADB_IDENTTYPE_RESERVED, "reserved"},
					    {SADB_IDENTTYPE_PREFIX, "prefix"},
					    {SADB_IDENTTYPE_FQDN, "fqdn"},
					    {SADB_IDENTTYPE_USERFQDN, "ufqdn"},
					    {SADB_IDENTTYPE_ASN1_DN, "asn1_dn"}};

static void print_flags(FILE *f, uint32_t flags)
{
	fprintf(f, flags ? "%#x<" : "0<", flags);
	bool comma = false;
	for (int i = 0; i < 32; i++) {
		if (!(flags & (1u << i)))
			continue;
		const char *n = LOOKUP(flag_names, 1u << i);
		if (!strcmp(n, "unknown"))
			continue;
		fprintf(f, comma ? ",%s" : "%s", n);
		comma = true;
	}
	fputc('>', f);
}

static void print_sockaddr(FILE *f, const struct pfkey_msg *m, int ext)
{
	struct ipaddr a;
	uint16_t port;
	char buf[ADDR_STRLEN];
	pfkey_get_address(m, ext, &a, &port);
	if (a.af == ADDR_NONE)
		fputs("<any>", f);
	else
		fputs(addr_fmt(&a, buf), f);
	if (port)
		fprintf(f, " port %u", port);
}

static const struct idname satype_names[] = {{SADB_SATYPE_UNSPEC, "unspec"},
					     {SADB_SATYPE_AH, "ah"},
					     {SADB_SATYPE_ESP, "esp"},
					     {SADB_SATYPE_RSVP, "rsvp"},
					     {SADB_SATYPE_OSPFV2, "ospfv2"},
					     {SADB_SATYPE_RIPV2, "ripv2"},
					     {SADB_SATYPE_MIP, "mip"},
					     {SADB_X_SATYPE_IPIP, "ipip"},
					     {SADB_X_SATYPE_TCPSIGNATURE, "tcpmd5"},
					     {SADB_X_SATYPE_IPCOMP, "ipcomp"}};

static const struct {
	const struct idname *t;
	size_t n;
} name_tables[] = {
    [PFN_SATYPE] = {satype_names, ARRAY_LEN(satype_names)},
    [PFN_AUTH] = {auth_names, ARRAY_LEN(auth_names)},
    [PFN_ENC] = {enc_names, ARRAY_LEN(enc_names)},
    [PFN_COMP] = {comp_names, ARRAY_LEN(comp_names)},
    [PFN_STATE] = {state_names, ARRAY_LEN(state_names)},
    [PFN_FLAG] = {flag_names, ARRAY_LEN(flag_names)},
    [PFN_FLOWTYPE] = {flowtype_names, ARRAY_LEN(flowtype_names)},
};

const char *pfkey_name(enum pfkey_names t, unsigned id)
{
	return lookup(name_tables[t].t, name_tables[t].n, id);
}

int pfkey_name_id(enum pfkey_names t, const char *name)
{
	for (size_t i = 0; i < name_tables[t].n; i++)
		if (strcmp(name_tables[t].t[i].name, name) == 0)
			return (int)name_tables[t].t[i].id;
	return -1;
}

static void print_sa(FILE *f, const struct pfkey_msg *m, int e)
{
	struct sadb_sa sa;
	pfkey_get_sa(m, e, &sa);
	uint32_t spi = get_be32((const uint8_t *)&sa.sadb_sa_spi);
	if (m->hdr.sadb_msg_satype == SADB_X_SATYPE_IPCOMP)
		fprintf(f, "cpi 0x%8.8x comp %s\n", spi, LOOKUP(comp_names, sa.sadb_sa_encrypt));
	else
		fprintf(f, "spi 0x%8.8x auth %s enc %s\n", spi, LOOKUP(auth_names, sa.sadb_sa_auth),
			LOOKUP(enc_names, sa.sadb_sa_encrypt));
	fprintf(f, "\t\tstate %s replay %u flags ", LOOKUP(state_names, sa.sadb_sa_state),
		sa.sadb_sa_replay);
	print_flags(f, sa.sadb_sa_flags);
}

static void print_supported(FILE *f, const struct pfkey_msg *m, int e)
{
	struct sadb_alg algs[32];
	unsigned n = pfkey_get_supported(m, e, algs, ARRAY_LEN(algs));
	fputc('\n', f);
	for (unsigned i = 0; i < n && i < ARRAY_LEN(algs); i++) {
		const struct sadb_alg *a = &algs[i];
		const char *name = e == SADB_EXT_SUPPORTED_AUTH ? LOOKUP(auth_names, a->sadb_alg_id)
				   : e == SADB_EXT_SUPPORTED_ENCRYPT
				       ? LOOKUP(enc_names, a->sadb_alg_id)
				       : LOOKUP(comp_names, a->sadb_alg_id);
		fprintf(f, "\t\t%s iv %u min %u max %u%s", name, a->sadb_alg_ivlen,
			a->sadb_alg_minbits, a->sadb_alg_maxbits, i + 1 < n ? "\n" : "");
	}
}

static void print_proposal(FILE *f, const struct pfkey_msg *m)
{
	struct sadb_comb c[8];
	unsigned n = pfkey_get_proposal(m, c, ARRAY_LEN(c));
	fprintf(f, "replay %u\n", m->ext[SADB_EXT_PROPOSAL][5]); /* sadb_prop_replay */
	for (unsigned i = 0; i < n && i < ARRAY_LEN(c); i++)
		fprintf(f,
			"\t\tauth %s min %u max %u\n"
			"\t\tenc %s min %u max %u\n"
			"\t\taddtime hard %llu soft %llu\n"
			"\t\tusetime hard %llu soft %llu",
			LOOKUP(auth_names, c[i].sadb_comb_auth), c[i].sadb_comb_auth_minbits,
			c[i].sadb_comb_auth_maxbits, LOOKUP(enc_names, c[i].sadb_comb_encrypt),
			c[i].sadb_comb_encrypt_minbits, c[i].sadb_comb_encrypt_maxbits,
			(unsigned long long)c[i].sadb_comb_hard_addtime,
			(unsigned long long)c[i].sadb_comb_soft_addtime,
			(unsigned long long)c[i].sadb_comb_hard_usetime,
			(unsigned long long)c[i].sadb_comb_soft_usetime);
}

/* pfkdump's print_ext: one extension, named, on its own line(s). */
static void print_ext(FILE *f, const struct pfkey_msg *m, int e, int verbose)
{
	static const char *const names[SADB_EXT_MAX + 1] = {
	    [SADB_EXT_SA] = "sa",
	    [SADB_EXT_LIFETIME_CURRENT] = "lifetime_cur",
	    [SADB_EXT_LIFETIME_HARD] = "lifetime_hard",
	    [SADB_EXT_LIFETIME_SOFT] = "lifetime_soft",
	    [SADB_EXT_ADDRESS_SRC] = "address_src",
	    [SADB_EXT_ADDRESS_DST] = "address_dst",
	    [SADB_EXT_ADDRESS_PROXY] = "address_proxy",
	    [SADB_EXT_KEY_AUTH] = "key_auth",
	    [SADB_EXT_KEY_ENCRYPT] = "key_encrypt",
	    [SADB_EXT_IDENTITY_SRC] = "identity_src",
	    [SADB_EXT_IDENTITY_DST] = "identity_dst",
	    [SADB_EXT_SENSITIVITY] = "sensitivity",
	    [SADB_EXT_PROPOSAL] = "proposal",
	    [SADB_EXT_SUPPORTED_AUTH] = "supported_auth",
	    [SADB_EXT_SUPPORTED_ENCRYPT] = "supported_encrypt",
	    [SADB_EXT_SPIRANGE] = "spirange",
	    [SADB_X_EXT_SRC_MASK] = "src_mask",
	    [SADB_X_EXT_DST_MASK] = "dst_mask",
	    [SADB_X_EXT_PROTOCOL] = "protocol",
	    [SADB_X_EXT_FLOW_TYPE] = "flow_type",
	    [SADB_X_EXT_SRC_FLOW] = "src_flow",
	    [SADB_X_EXT_DST_FLOW] = "dst_flow",
	    [SADB_X_EXT_SA2] = "sa2",
	    [SADB_X_EXT_DST2] = "dst2",
	    [SADB_X_EXT_POLICY] = "policy",
	    [SADB_X_EXT_SUPPORTED_COMP] = "supported_comp",
	    [SADB_X_EXT_UDPENCAP] = "udpencap",
	    [SADB_X_EXT_LIFETIME_LASTUSE] = "lifetime_lastuse",
	    [SADB_X_EXT_TAG] = "tag",
	    [SADB_X_EXT_TAP] = "tap",
	    [SADB_X_EXT_SATYPE2] = "satype2",
	    [SADB_X_EXT_COUNTER] = "counter",
	    [SADB_X_EXT_RDOMAIN] = "rdomain",
	    [SADB_X_EXT_MTU] = "mtu",
	    [SADB_X_EXT_REPLAY] = "replay",
	    [SADB_X_EXT_IFACE] = "interface",
	};
	if (!names[e]) {
		fprintf(f, "unknown ext: type %d len %u\n", e, (unsigned)m->extlen[e] / 8);
		return;
	}
	fprintf(f, "\t%s: ", names[e]);
	switch (e) {
	case SADB_EXT_SA:
	case SADB_X_EXT_SA2: print_sa(f, m, e); break;
	case SADB_EXT_SUPPORTED_AUTH:
	case SADB_EXT_SUPPORTED_ENCRYPT:
	case SADB_X_EXT_SUPPORTED_COMP: print_supported(f, m, e); break;
	case SADB_EXT_PROPOSAL: print_proposal(f, m); break;
	case SADB_EXT_SPIRANGE: {
		struct sadb_spirange r;
		pfkey_get_spirange(m, &r);
		fprintf(f, "min 0x%8.8x max 0x%8.8x", r.sadb_spirange_min, r.sadb_spirange_max);
		break;
	}
	case SADB_X_EXT_POLICY: fprintf(f, "seq %u", pfkey_get_policy_seq(m)); break;
	case SADB_X_EXT_SATYPE2: {
		struct sadb_protocol p;
		pfkey_get_protocol(m, e, &p);
		fprintf(f, "type %s", LOOKUP(satype_names, p.sadb_protocol_proto));
		break;
	}
	case SADB_X_EXT_RDOMAIN: {
		uint16_t d1, d2;
		pfkey_get_rdomain(m, &d1, &d2);
		fprintf(f, "%d/%d", d1, d2);
		break;
	}
	case SADB_EXT_SENSITIVITY:
	case SADB_X_EXT_MTU:
	case SADB_X_EXT_IFACE:
		/* never generated here: printed as pfkdump prints what it cannot decode */
		fprintf(f, "type %d len %u", e, (unsigned)m->extlen[e] / 8);
		break;
	case SADB_EXT_LIFETIME_CURRENT:
	case SADB_EXT_LIFETIME_HARD:
	case SADB_EXT_LIFETIME_SOFT:
	case SADB_X_EXT_LIFETIME_LASTUSE: {
		struct sadb_lifetime lt;
		pfkey_get_lifetime(m, e, &lt);
		fprintf(f, "alloc %u bytes %llu add %llu first %llu", lt.sadb_lifetime_allocations,
			(unsigned long long)lt.sadb_lifetime_bytes,
			(unsigned long long)lt.sadb_lifetime_addtime,
			(unsigned long long)lt.sadb_lifetime_usetime);
		break;
	}
	case SADB_EXT_KEY_AUTH:
	case SADB_EXT_KEY_ENCRYPT: {
		unsigned bits;
		const uint8_t *k = pfkey_get_key(m, e, &bits);
		fprintf(f, "bits %u: ", bits);
		for (unsigned i = 0; i < bits / 8; i++)
			fprintf(f, "%2.2x", k[i]);
		break;
	}
	case SADB_EXT_IDENTITY_SRC:
	case SADB_EXT_IDENTITY_DST: {
		uint16_t type;
		const char *id = pfkey_get_ident(m, e, &type);
		fprintf(f, "type %s id 0: %s", LOOKUP(ident_names, type), id);
		break;
	}
	case SADB_X_EXT_PROTOCOL: {
		struct sadb_protocol p;
		pfkey_get_protocol(m, e, &p);
		if (m->hdr.sadb_msg_type == SADB_X_GRPSPIS) /* overloaded, as pfkdump reads it */
			fprintf(f, "satype %s flags %x",
				LOOKUP(satype_names, p.sadb_protocol_proto), p.sadb_protocol_flags);
		else
			fprintf(f, "proto %u flags %x", p.sadb_protocol_proto,
				p.sadb_protocol_flags);
		break;
	}
	case SADB_X_EXT_FLOW_TYPE: {
		struct sadb_protocol p;
		pfkey_get_protocol(m, e, &p);
		fprintf(f, "type %s direction %s", LOOKUP(flowtype_names, p.sadb_protocol_proto),
			p.sadb_protocol_direction == IPSP_DIRECTION_IN    ? "in"
			: p.sadb_protocol_direction == IPSP_DIRECTION_OUT ? "out"
									  : "unknown");
		break;
	}
	case SADB_X_EXT_UDPENCAP: fprintf(f, "udpencap port %u", pfkey_get_udpencap_port(m)); break;
	case SADB_X_EXT_TAG: fputs(pfkey_get_tag(m), f); break;
	case SADB_X_EXT_TAP: fprintf(f, "enc%u", pfkey_get_tap(m)); break;
	case SADB_X_EXT_REPLAY:
		fprintf(f, "rpl %llu", (unsigned long long)pfkey_get_replay(m));
		break;
	case SADB_X_EXT_COUNTER: {
		struct sadb_x_counter c;
		pfkey_get_counter(m, &c);
		fputc('\n', f);
		const struct {
			uint64_t v;
			const char *fmt;
		} lines[] = {
		    {c.sadb_x_counter_ipackets, "\t\t%llu input packet%s\n"},
		    {c.sadb_x_counter_opackets, "\t\t%llu output packet%s\n"},
		    {c.sadb_x_counter_ibytes, "\t\t%llu input byte%s\n"},
		    {c.sadb_x_counter_obytes, "\t\t%llu output byte%s\n"},
		    {c.sadb_x_counter_idecompbytes, "\t\t%llu input byte%s, decompressed\n"},
		    {c.sadb_x_counter_ouncompbytes, "\t\t%llu output byte%s, uncompressed\n"},
		    {c.sadb_x_counter_idrops, "\t\t%llu packet%s dropped on input\n"},
		    {c.sadb_x_counter_odrops, "\t\t%llu packet%s dropped on output\n"},
		};
		for (size_t i = 0; i < ARRAY_LEN(lines); i++)
			if (lines[i].v || verbose >= 2)
				fprintf(f, lines[i].fmt, (unsigned long long)lines[i].v,
					lines[i].v != 1 ? "s" : "");
		break;
	}
	default: /* address-type extensions */ print_sockaddr(f, m, e); break;
	}
	fputc('\n', f);
}

/* Sort pointers, keeping the list's own order among equals (so the output
 * never depends on the sort's whims), in O(n log n): a dump may hold a
 * million SAs. */
struct ranked {
	const void *p;
	size_t rank;
};

static int ranked_cmp(const void *a, const void *b, void *cmp)
{
	const struct ranked *x = a, *y = b;
	int c = ((int (*)(const void *, const void *))cmp)(x->p, y->p);
	if (c)
		return c;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static void sort_stable(const void **v, size_t n, int (*cmp)(const void *, const void *))
{
	struct ranked *r = xmalloc(n * sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = (struct ranked){v[i], i};
	qsort_r(r, n, sizeof(*r), ranked_cmp, (void *)cmp);
	for (size_t i = 0; i < n; i++)
		v[i] = r[i].p;
	free(r);
}

static int tdb_spi_cmp(const void *a, const void *b)
{
	const struct tdb *x = a, *y = b;
	return x->spi < y->spi ? -1 : x->spi > y->spi;
}

static void show_sas(struct node *n, FILE *f, bool all, int verbose, bool keys)
{
	struct ipsec_state *st = n->ipsec;
	size_t count = st ? st->sad.count : 0;
	if (all)
		fputs("SAD:\n", f);
	if (!count) {
		if (all)
			fputs("No entries\n", f);
		return;
	}
	const struct tdb **v = xmalloc(count * sizeof(*v));
	size_t i = 0;
	for (const struct tdb *t = st->sad.head; t; t = t->next)
		v[i++] = t;
	sort_stable((const void **)v, count, tdb_spi_cmp); /* by SPI, as ipsecctl */
	for (i = 0; i < count; i++) {
		struct pfkey_buf pb;
		struct pfkey_msg m;
		pfkb_init(&pb, SADB_DUMP, v[i]->satype, 0, 0);
		pfkey_export_sa(&pb, v[i], n->sim->now, true);
		size_t len = pfkb_finish(&pb);
		if (!len || pfkey_parse(pb.b, len, PFKEY_OUT, 0, &m) != 0)
			continue;
		if (m.hdr.sadb_msg_satype == SADB_SATYPE_UNSPEC) {
			/* An embryonic SA from GETSPI: ipsecctl skips types it cannot name. */
			continue;
		}
		struct conf_rule r;
		sa_to_rule(&m, &r);
		struct conf_key ak = {0}, ek = {0};
		unsigned bits;
		if (keys && pfkey_has(&m, SADB_EXT_KEY_AUTH)) {
			ak.data = (uint8_t *)pfkey_get_key(&m, SADB_EXT_KEY_AUTH, &bits);
			ak.len = bits / 8;
		}
		if (keys && pfkey_has(&m, SADB_EXT_KEY_ENCRYPT)) {
			ek.data = (uint8_t *)pfkey_get_key(&m, SADB_EXT_KEY_ENCRYPT, &bits);
			ek.len = bits / 8;
		}
		r.authkey = ak;
		r.enckey = ek;
		conf_print_rule(&r, f, keys, false);
		if (verbose)
			for (int e = 0; e <= SADB_EXT_MAX; e++)
				if (pfkey_has(&m, e) &&
				    (keys || (e != SADB_EXT_KEY_AUTH && e != SADB_EXT_KEY_ENCRYPT)))
					print_ext(f, &m, e, verbose);
		memset(pb.b, 0, sizeof(pb.b)); /* it held keys */
	}
	free(v);
}

static int flow_cmp(const void *pa, const void *pb)
{
	const struct spd_flow *a = pa, *b = pb;
	if (a->sel.dir != b->sel.dir)
		return a->sel.dir - b->sel.dir;
	if (a->sel.src.af != b->sel.src.af)
		return a->sel.src.af - b->sel.src.af;
	int c = memcmp(a->sel.src.a, b->sel.src.a, 16);
	if (c)
		return c;
	if (a->mask.src_plen != b->mask.src_plen)
		return b->mask.src_plen - a->mask.src_plen;
	c = memcmp(a->sel.dst.a, b->sel.dst.a, 16);
	if (c)
		return c;
	if (a->mask.dst_plen != b->mask.dst_plen)
		return b->mask.dst_plen - a->mask.dst_plen;
	if (a->sel.proto != b->sel.proto)
		return a->sel.proto - b->sel.proto;
	if (a->sel.sport != b->sel.sport)
		return a->sel.sport - b->sel.sport;
	return a->sel.dport - b->sel.dport;
}

static const enum conf_flowtype ipsp_to_conf[] = {[IPSP_IPSEC_USE] = CF_USE,
						  [IPSP_IPSEC_ACQUIRE] = CF_ACQUIRE,
						  [IPSP_IPSEC_REQUIRE] = CF_REQUIRE,
						  [IPSP_PERMIT] = CF_BYPASS,
						  [IPSP_DENY] = CF_DENY,
						  [IPSP_IPSEC_DONTACQ] = CF_DONTACQ};

/* One flow as ipsecctl -sf prints it (numbered as the nr'th with -vv). */
static void print_flow(const struct spd_flow *fl, unsigned nr, FILE *f, bool numbers)
{
	struct conf_rule r = {.type = CR_FLOW, .nr = nr};
	r.satype = fl->sproto == IPPROTO_AH       ? CS_AH
		   : fl->sproto == IPPROTO_IPCOMP ? CS_IPCOMP
		   : fl->sproto == IPPROTO_IPIP   ? CS_IPIP
						  : CS_ESP;
	r.direction = fl->sel.dir == IPSP_DIRECTION_IN ? CD_IN : CD_OUT;
	r.proto = fl->sel.proto;
	r.src.addr = fl->sel.src;
	r.src.plen = fl->mask.src_plen;
	r.dst.addr = fl->sel.dst;
	r.dst.plen = fl->mask.dst_plen;
	r.sport = fl->sel.sport;
	r.dport = fl->sel.dport;
	r.has_local = fl->local.af != ADDR_NONE;
	r.local.addr = fl->local;
	r.local.plen = addr_bits(fl->local.af);
	r.has_peer = fl->peer.af != ADDR_NONE;
	r.peer.addr = fl->peer;
	r.peer.plen = addr_bits(fl->peer.af);
	r.srcid = fl->srcid;
	r.dstid = fl->dstid;
	r.flowtype =
	    fl->type < ARRAY_LEN(ipsp_to_conf) ? ipsp_to_conf[fl->type] : CF_UNKNOWN;
	conf_print_rule(&r, f, false, numbers);
}

static void show_flows(struct node *n, FILE *f, bool all, int verbose)
{
	struct ipsec_state *st = n->ipsec;
	size_t count = st ? st->spd.count : 0;
	if (all)
		fputs("FLOWS:\n", f);
	if (!count) {
		if (all)
			fputs("No flows\n", f);
		return;
	}
	const struct spd_flow **v = xmalloc(count * sizeof(*v));
	size_t i = 0;
	for (const struct spd_flow *fl = st->spd.head; fl; fl = fl->next)
		v[i++] = fl;
	sort_stable((const void **)v, count, flow_cmp);
	for (i = 0; i < count; i++)
		print_flow(v[i], (unsigned)i, f, verbose >= 2);
	free(v);
}

void ipsec_flow_text(const struct spd_flow *fl, char *buf, size_t cap)
{
	FILE *f = fmemopen(buf, cap, "w");
	if (!f) {
		snprintf(buf, cap, "?");
		return;
	}
	print_flow(fl, 0, f, false);
	fclose(f);
	buf[cap - 1] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

void ipsec_show(struct node *n, FILE *f, enum ipsec_show_what what, int verbose, bool keys)
{
	bool all = what == SHOW_ALL;
	if (what & SHOW_FLOWS)
		show_flows(n, f, all, verbose);
	if (all)
		fputc('\n', f);
	if (what & SHOW_SAS)
		show_sas(n, f, all, verbose, keys);
}

/* pfkdump's pfkey_monitor_sa: the header line, the errno, every extension. */
void ipsec_show_msg(FILE *f, const uint8_t *buf, size_t len, int verbose)
{
	static const char *const types[SADB_MAX + 1] = {
	    [SADB_GETSPI] = "sadb_getspi",
	    [SADB_UPDATE] = "sadb_update",
	    [SADB_ADD] = "sadb_add",
	    [SADB_DELETE] = "sadb_delete",
	    [SADB_GET] = "sadb_get",
	    [SADB_ACQUIRE] = "sadb_acquire",
	    [SADB_REGISTER] = "sadb_register",
	    [SADB_EXPIRE] = "sadb_expire",
	    [SADB_FLUSH] = "sadb_flush",
	    [SADB_DUMP] = "sadb_dump",
	    [SADB_X_PROMISC] = "sadb_promisc",
	    [SADB_X_ADDFLOW] = "sadb_addflow",
	    [SADB_X_DELFLOW] = "sadb_delflow",
	    [SADB_X_GRPSPIS] = "sadb_grpspis",
	    [SADB_X_ASKPOLICY] = "sadb_askpolicy",
	};
	struct sadb_msg h;
	if (len < sizeof(h)) {
		fprintf(f, "short message: %zu bytes\n", len);
		return;
	}
	memcpy(&h, buf, sizeof(h));
	const char *tn = h.sadb_msg_type <= SADB_MAX ? types[h.sadb_msg_type] : NULL;
	fprintf(f, "%s: satype %s vers %u len %u seq %u pid %u\n", tn ? tn : "unknown",
		LOOKUP(satype_names, h.sadb_msg_satype), h.sadb_msg_version, h.sadb_msg_len,
		h.sadb_msg_seq, h.sadb_msg_pid);
	if (h.sadb_msg_errno)
		fprintf(f, "\terrno %u: %s\n", h.sadb_msg_errno, strerror(h.sadb_msg_errno));
	/* A promiscuous copy carries the message as it was written. */
	if (h.sadb_msg_type == SADB_X_PROMISC && len > sizeof(h)) {
		fputs("\t", f);
		ipsec_show_msg(f, buf + sizeof(h), len - sizeof(h), verbose);
		return;
	}
	struct pfkey_msg m;
	if (pfkey_parse(buf, len, PFKEY_OUT, 0, &m) != 0) {
		fprintf(f, "\tmalformed: %zu bytes\n", len);
		return;
	}
	for (int e = 0; e <= SADB_EXT_MAX; e++)
		if (pfkey_has(&m, e))
			print_ext(f, &m, e, verbose);
}
