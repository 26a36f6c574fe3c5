/*
 * PF_KEY message validation and building.  The checks follow OpenBSD's
 * pfkeyv2_parsemessage.c in order; every failure is EINVAL, as there.
 */
#include "pfkey_msg.h"

#include <errno.h>
#include <string.h>

#include "../stack/util.h"

#define B(x) PFKEY_BIT(x)

/* The flow set: what ADDFLOW needs, and UPDATE/ADD may carry. */
#define FLOW_EXTS                                                                   \
	(B(SADB_X_EXT_SRC_MASK) | B(SADB_X_EXT_DST_MASK) | B(SADB_X_EXT_PROTOCOL) | \
	 B(SADB_X_EXT_SRC_FLOW) | B(SADB_X_EXT_DST_FLOW) | B(SADB_X_EXT_FLOW_TYPE))
#define FLOW_REQUIRED                                                               \
	(B(SADB_X_EXT_SRC_MASK) | B(SADB_X_EXT_DST_MASK) | B(SADB_X_EXT_SRC_FLOW) | \
	 B(SADB_X_EXT_DST_FLOW) | B(SADB_X_EXT_FLOW_TYPE))
#define UPDATE_EXTS                                                                          \
	(B(SADB_EXT_SA) | B(SADB_EXT_LIFETIME_CURRENT) | B(SADB_EXT_LIFETIME_HARD) |         \
	 B(SADB_EXT_LIFETIME_SOFT) | B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST) |     \
	 B(SADB_EXT_KEY_AUTH) | B(SADB_EXT_KEY_ENCRYPT) | B(SADB_EXT_IDENTITY_SRC) |         \
	 B(SADB_EXT_IDENTITY_DST) | FLOW_EXTS | B(SADB_X_EXT_UDPENCAP) | B(SADB_X_EXT_TAG) | \
	 B(SADB_X_EXT_TAP) | B(SADB_X_EXT_RDOMAIN) | B(SADB_X_EXT_COUNTER) |                 \
	 B(SADB_X_EXT_REPLAY) | B(SADB_X_EXT_IFACE))

/* sadb_exts_allowed_in and sadb_exts_required_in (section 5.5). */
static const uint64_t allowed_in[SADB_MAX + 1] = {
    [SADB_GETSPI] = B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST) | B(SADB_EXT_SPIRANGE),
    [SADB_UPDATE] = UPDATE_EXTS | B(SADB_EXT_ADDRESS_PROXY),
    [SADB_ADD] = UPDATE_EXTS | B(SADB_X_EXT_LIFETIME_LASTUSE),
    [SADB_DELETE] =
	B(SADB_EXT_SA) | B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST) | B(SADB_X_EXT_RDOMAIN),
    [SADB_GET] =
	B(SADB_EXT_SA) | B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST) | B(SADB_X_EXT_RDOMAIN),
    [SADB_ACQUIRE] = B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST) | B(SADB_EXT_IDENTITY_SRC) |
		     B(SADB_EXT_IDENTITY_DST) | B(SADB_EXT_PROPOSAL),
    [SADB_EXPIRE] = B(SADB_EXT_SA) | B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST),
    [SADB_X_ADDFLOW] = B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST) |
		       B(SADB_EXT_IDENTITY_SRC) | B(SADB_EXT_IDENTITY_DST) | FLOW_EXTS |
		       B(SADB_X_EXT_RDOMAIN),
    [SADB_X_DELFLOW] = FLOW_EXTS | B(SADB_X_EXT_RDOMAIN),
    [SADB_X_GRPSPIS] = B(SADB_EXT_SA) | B(SADB_X_EXT_SA2) | B(SADB_X_EXT_DST2) |
		       B(SADB_EXT_ADDRESS_DST) | B(SADB_X_EXT_SATYPE2) | B(SADB_X_EXT_RDOMAIN),
    [SADB_X_ASKPOLICY] = B(SADB_X_EXT_POLICY),
};

static const uint64_t required_in[SADB_MAX + 1] = {
    [SADB_GETSPI] = B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST) | B(SADB_EXT_SPIRANGE),
    [SADB_UPDATE] = B(SADB_EXT_SA) | B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST),
    [SADB_ADD] = B(SADB_EXT_SA) | B(SADB_EXT_ADDRESS_DST),
    [SADB_DELETE] = B(SADB_EXT_SA) | B(SADB_EXT_ADDRESS_DST),
    [SADB_GET] = B(SADB_EXT_SA) | B(SADB_EXT_ADDRESS_DST),
    [SADB_EXPIRE] = B(SADB_EXT_SA) | B(SADB_EXT_ADDRESS_SRC) | B(SADB_EXT_ADDRESS_DST),
    [SADB_X_ADDFLOW] = FLOW_REQUIRED,
    [SADB_X_DELFLOW] = FLOW_REQUIRED,
    [SADB_X_GRPSPIS] = B(SADB_EXT_SA) | B(SADB_X_EXT_SA2) | B(SADB_X_EXT_DST2) |
		       B(SADB_EXT_ADDRESS_DST) | B(SADB_X_EXT_SATYPE2),
    [SADB_X_ASKPOLICY] = B(SADB_X_EXT_POLICY),
};

uint64_t pfkey_required_in(uint8_t type)
{
	return type <= SADB_MAX ? required_in[type] : 0;
}

uint64_t pfkey_allowed_in(uint8_t type)
{
	return type <= SADB_MAX ? allowed_in[type] : 0;
}

const char *pfkey_msg_name(uint8_t type)
{
	static const char *const names[SADB_MAX + 1] = {
	    "RESERVED",  "GETSPI",    "UPDATE",    "ADD",         "DELETE",   "GET",
	    "ACQUIRE",   "REGISTER",  "EXPIRE",    "FLUSH",       "DUMP",     "X_PROMISC",
	    "X_ADDFLOW", "X_DELFLOW", "X_GRPSPIS", "X_ASKPOLICY", "X_SPDDUMP"};
	return type <= SADB_MAX ? names[type] : "?";
}

const char *pfkey_ext_name(uint16_t type)
{
	static const char *const names[SADB_EXT_MAX + 1] = {"RESERVED",
							    "SA",
							    "LIFETIME_CURRENT",
							    "LIFETIME_HARD",
							    "LIFETIME_SOFT",
							    "ADDRESS_SRC",
							    "ADDRESS_DST",
							    "ADDRESS_PROXY",
							    "KEY_AUTH",
							    "KEY_ENCRYPT",
							    "IDENTITY_SRC",
							    "IDENTITY_DST",
							    "SENSITIVITY",
							    "PROPOSAL",
							    "SUPPORTED_AUTH",
							    "SUPPORTED_ENCRYPT",
							    "SPIRANGE",
							    "X_SRC_MASK",
							    "X_DST_MASK",
							    "X_PROTOCOL",
							    "X_FLOW_TYPE",
							    "X_SRC_FLOW",
							    "X_DST_FLOW",
							    "X_SA2",
							    "X_DST2",
							    "X_POLICY",
							    "X_LOCAL_CREDENTIALS",
							    "X_REMOTE_CREDENTIALS",
							    "X_LOCAL_AUTH",
							    "X_REMOTE_AUTH",
							    "X_SUPPORTED_COMP",
							    "X_UDPENCAP",
							    "X_LIFETIME_LASTUSE",
							    "X_TAG",
							    "X_TAP",
							    "X_SATYPE2",
							    "X_COUNTER",
							    "X_RDOMAIN",
							    "X_MTU",
							    "X_REPLAY",
							    "X_IFACE"};
	return type <= SADB_EXT_MAX ? names[type] : "?";
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool is_address_ext(int t)
{
	return t == SADB_EXT_ADDRESS_SRC || t == SADB_EXT_ADDRESS_DST ||
	       t == SADB_EXT_ADDRESS_PROXY || t == SADB_X_EXT_SRC_MASK ||
	       t == SADB_X_EXT_DST_MASK || t == SADB_X_EXT_SRC_FLOW || t == SADB_X_EXT_DST_FLOW ||
	       t == SADB_X_EXT_DST2;
}

static bool port_allowed(int t)
{
	return t == SADB_X_EXT_SRC_MASK || t == SADB_X_EXT_DST_MASK || t == SADB_X_EXT_SRC_FLOW ||
	       t == SADB_X_EXT_DST_FLOW;
}

/* Family of an address extension (already validated). */
static uint8_t ext_family(const uint8_t *p)
{
	return p[sizeof(struct sadb_address) + 1];
}

static int check_address(int t, const uint8_t *p, size_t len, uint8_t satype)
{
	if (len < sizeof(struct sadb_address) + 2 || rd32(p + 4) != 0)
		return EINVAL;
	const uint8_t *sa = p + sizeof(struct sadb_address);
	size_t room = len - sizeof(struct sadb_address);
	uint8_t salen = sa[0], fam = sa[1];
	if (salen > room)
		return EINVAL;
	if (fam == PFKEY_AF_INET) {
		if (salen != PFKEY_SIN_LEN || room != PFKEY_ALIGN8(PFKEY_SIN_LEN))
			return EINVAL;
		if (!all_zero(sa + 8, 8)) /* sin_zero */
			return EINVAL;
	} else if (fam == PFKEY_AF_INET6) {
		if (salen != PFKEY_SIN6_LEN || room != PFKEY_ALIGN8(PFKEY_SIN6_LEN))
			return EINVAL;
		if (rd32(sa + 4) != 0) /* sin6_flowinfo */
			return EINVAL;
	} else if (!(fam == 0 && satype == SADB_X_SATYPE_TCPSIGNATURE)) {
		return EINVAL;
	}
	if (!port_allowed(t) && fam != 0 && rd16(sa + 2) != 0)
		return EINVAL;
	return 0;
}

/* One extension's own rules; returns 0 or EINVAL. */
static int check_ext(int t, const uint8_t *p, size_t len, uint8_t satype)
{
	switch (t) {
	case SADB_EXT_SA:
	case SADB_X_EXT_SA2: {
		struct sadb_sa sa;
		if (len != sizeof(sa))
			return EINVAL;
		memcpy(&sa, p, sizeof(sa));
		if (sa.sadb_sa_state > SADB_SASTATE_MAX || sa.sadb_sa_state == SADB_SASTATE_DEAD ||
		    sa.sadb_sa_encrypt > SADB_EALG_MAX || sa.sadb_sa_auth > SADB_AALG_MAX ||
		    sa.sadb_sa_replay > 64)
			return EINVAL;
		return 0;
	}
	case SADB_X_EXT_PROTOCOL:
	case SADB_X_EXT_FLOW_TYPE:
	case SADB_X_EXT_SATYPE2: return len == sizeof(struct sadb_protocol) ? 0 : EINVAL;
	case SADB_X_EXT_POLICY: return len == sizeof(struct sadb_x_policy) ? 0 : EINVAL;
	case SADB_EXT_LIFETIME_CURRENT:
	case SADB_EXT_LIFETIME_HARD:
	case SADB_EXT_LIFETIME_SOFT:
	case SADB_X_EXT_LIFETIME_LASTUSE: return len == sizeof(struct sadb_lifetime) ? 0 : EINVAL;
	case SADB_EXT_KEY_AUTH:
	case SADB_EXT_KEY_ENCRYPT: {
		struct sadb_key k;
		if (len < sizeof(k))
			return EINVAL;
		memcpy(&k, p, sizeof(k));
		if (k.sadb_key_bits == 0 || k.sadb_key_reserved != 0 ||
		    (size_t)(k.sadb_key_bits + 63) / 64 * 8 != len - sizeof(k))
			return EINVAL;
		return 0;
	}
	case SADB_EXT_IDENTITY_SRC:
	case SADB_EXT_IDENTITY_DST: {
		struct sadb_ident id;
		if (len <= sizeof(id))
			return EINVAL;
		memcpy(&id, p, sizeof(id));
		const uint8_t *s = p + sizeof(id);
		size_t room = len - sizeof(id);
		const uint8_t *nul = memchr(s, 0, room);
		if (id.sadb_ident_type > SADB_IDENTTYPE_MAX || !nul ||
		    PFKEY_ALIGN8((size_t)(nul - s) + 1) != room)
			return EINVAL;
		return 0;
	}
	case SADB_EXT_SENSITIVITY: {
		struct sadb_sens s;
		if (len < sizeof(s))
			return EINVAL;
		memcpy(&s, p, sizeof(s));
		if (len != sizeof(s) + ((size_t)s.sadb_sens_sens_len + s.sadb_sens_integ_len) * 8)
			return EINVAL;
		return 0;
	}
	case SADB_EXT_PROPOSAL: {
		if (len < sizeof(struct sadb_prop) ||
		    (len - sizeof(struct sadb_prop)) % sizeof(struct sadb_comb))
			return EINVAL;
		for (size_t o = sizeof(struct sadb_prop); o < len; o += sizeof(struct sadb_comb)) {
			struct sadb_comb c;
			memcpy(&c, p + o, sizeof(c));
			if (c.sadb_comb_auth > SADB_AALG_MAX ||
			    c.sadb_comb_encrypt > SADB_EALG_MAX || c.sadb_comb_reserved)
				return EINVAL;
		}
		return 0;
	}
	case SADB_EXT_SUPPORTED_AUTH:
	case SADB_EXT_SUPPORTED_ENCRYPT:
	case SADB_X_EXT_SUPPORTED_COMP:
		return len >= sizeof(struct sadb_supported) &&
			       (len - sizeof(struct sadb_supported)) % sizeof(struct sadb_alg) == 0
			   ? 0
			   : EINVAL;
	case SADB_EXT_SPIRANGE: {
		struct sadb_spirange r;
		if (len != sizeof(r))
			return EINVAL;
		memcpy(&r, p, sizeof(r));
		return r.sadb_spirange_min <= r.sadb_spirange_max ? 0 : EINVAL;
	}
	case SADB_X_EXT_UDPENCAP: return len == sizeof(struct sadb_x_udpencap) ? 0 : EINVAL;
	case SADB_X_EXT_RDOMAIN: return len == sizeof(struct sadb_x_rdomain) ? 0 : EINVAL;
	case SADB_X_EXT_REPLAY: return len == sizeof(struct sadb_x_replay) ? 0 : EINVAL;
	case SADB_X_EXT_COUNTER: return len == sizeof(struct sadb_x_counter) ? 0 : EINVAL;
	case SADB_X_EXT_IFACE: return len == sizeof(struct sadb_x_iface) ? 0 : EINVAL;
	case SADB_X_EXT_MTU: return len == sizeof(struct sadb_x_mtu) ? 0 : EINVAL;
	case SADB_X_EXT_TAP: return len == sizeof(struct sadb_x_tap) ? 0 : EINVAL;
	case SADB_X_EXT_TAG: {
		if (len <= sizeof(struct sadb_x_tag) ||
		    len > sizeof(struct sadb_x_tag) + PF_TAG_NAME_SIZE)
			return EINVAL;
		return memchr(p + sizeof(struct sadb_x_tag), 0, len - sizeof(struct sadb_x_tag))
			   ? 0
			   : EINVAL;
	}
	default:
		if (is_address_ext(t))
			return check_address(t, p, len, satype);
		return EINVAL; /* credentials: never accepted */
	}
}

/* The families of the addresses that travel together must agree. */
static int check_families(const struct pfkey_msg *m)
{
	static const int groups[2][4] = {
	    {SADB_EXT_ADDRESS_SRC, SADB_EXT_ADDRESS_DST, SADB_EXT_ADDRESS_PROXY, 0},
	    {SADB_X_EXT_SRC_FLOW, SADB_X_EXT_DST_FLOW, SADB_X_EXT_SRC_MASK, SADB_X_EXT_DST_MASK}};
	for (int g = 0; g < 2; g++) {
		int fam = -1;
		for (int i = 0; i < 4 && groups[g][i]; i++) {
			const uint8_t *p = m->ext[groups[g][i]];
			if (!p)
				continue;
			if (fam >= 0 && ext_family(p) != fam)
				return EINVAL;
			fam = ext_family(p);
		}
	}
	return 0;
}

int pfkey_parse(const uint8_t *buf, size_t len, enum pfkey_dir dir, uint32_t pid,
		struct pfkey_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len < sizeof(struct sadb_msg) || len > PFKEY_MSG_MAXSZ)
		return EINVAL;
	memcpy(&m->hdr, buf, sizeof(m->hdr));
	const struct sadb_msg *h = &m->hdr;
	if ((size_t)h->sadb_msg_len * 8 != len || h->sadb_msg_version != PF_KEY_V2 ||
	    h->sadb_msg_reserved != 0 || h->sadb_msg_type == SADB_RESERVED ||
	    h->sadb_msg_type > SADB_MAX || h->sadb_msg_satype > SADB_SATYPE_MAX)
		return EINVAL;
	if (dir == PFKEY_IN && (h->sadb_msg_pid != pid || h->sadb_msg_errno != 0))
		return EINVAL;
	m->base = buf;
	m->len = len;
	/* A long X_PROMISC carries a whole message to forward, not extensions. */
	if (h->sadb_msg_type == SADB_X_PROMISC)
		return 0;

	uint64_t seen = 0;
	for (size_t off = sizeof(struct sadb_msg); off < len;) {
		if (len - off < sizeof(struct sadb_ext))
			return EINVAL;
		uint16_t elen = rd16(buf + off), etype = rd16(buf + off + 2);
		size_t bytes = (size_t)elen * 8;
		if (bytes < sizeof(struct sadb_ext) || bytes > len - off)
			return EINVAL;
		if (etype == SADB_EXT_RESERVED || etype > SADB_EXT_MAX)
			return EINVAL;
		if (dir == PFKEY_IN && !(allowed_in[h->sadb_msg_type] & B(etype)))
			return EINVAL;
		if (seen & B(etype))
			return EINVAL; /* duplicate */
		seen |= B(etype);
		if (check_ext(etype, buf + off, bytes, h->sadb_msg_satype) != 0)
			return EINVAL;
		m->ext[etype] = buf + off;
		m->extlen[etype] = (uint16_t)bytes;
		off += bytes;
	}
	if (dir == PFKEY_IN) {
		uint64_t need = required_in[h->sadb_msg_type];
		if ((seen & need) != need)
			return EINVAL;
		if (h->sadb_msg_type == SADB_ADD || h->sadb_msg_type == SADB_UPDATE) {
			struct sadb_sa sa;
			pfkey_get_sa(m, SADB_EXT_SA, &sa);
			if (sa.sadb_sa_state != SADB_SASTATE_MATURE)
				return EINVAL;
		}
	}
	return check_families(m);
}

/* ---- accessors ---- */

bool pfkey_has(const struct pfkey_msg *m, int ext)
{
	return ext > 0 && ext <= SADB_EXT_MAX && m->ext[ext] != NULL;
}

void pfkey_get_sa(const struct pfkey_msg *m, int ext, struct sadb_sa *sa)
{
	memcpy(sa, m->ext[ext], sizeof(*sa));
}

void pfkey_get_lifetime(const struct pfkey_msg *m, int ext, struct sadb_lifetime *lt)
{
	memcpy(lt, m->ext[ext], sizeof(*lt));
}

void pfkey_get_address(const struct pfkey_msg *m, int ext, struct ipaddr *a, uint16_t *port)
{
	const uint8_t *sa = m->ext[ext] + sizeof(struct sadb_address);
	memset(a, 0, sizeof(*a));
	if (sa[1] == PFKEY_AF_INET) {
		a->af = ADDR_V4;
		memcpy(a->a, sa + 4, 4);
	} else if (sa[1] == PFKEY_AF_INET6) {
		a->af = ADDR_V6;
		memcpy(a->a, sa + 8, 16);
	}
	if (port)
		*port = get_be16(sa + 2);
}

const uint8_t *pfkey_get_key(const struct pfkey_msg *m, int ext, unsigned *bits)
{
	struct sadb_key k;
	memcpy(&k, m->ext[ext], sizeof(k));
	*bits = k.sadb_key_bits;
	return m->ext[ext] + sizeof(k);
}

void pfkey_get_spirange(const struct pfkey_msg *m, struct sadb_spirange *r)
{
	memcpy(r, m->ext[SADB_EXT_SPIRANGE], sizeof(*r));
}

void pfkey_get_protocol(const struct pfkey_msg *m, int ext, struct sadb_protocol *p)
{
	memcpy(p, m->ext[ext], sizeof(*p));
}

uint32_t pfkey_get_policy_seq(const struct pfkey_msg *m)
{
	struct sadb_x_policy p;
	memcpy(&p, m->ext[SADB_X_EXT_POLICY], sizeof(p));
	return p.sadb_x_policy_seq;
}

const char *pfkey_get_ident(const struct pfkey_msg *m, int ext, uint16_t *type)
{
	struct sadb_ident id;
	memcpy(&id, m->ext[ext], sizeof(id));
	*type = id.sadb_ident_type;
	return (const char *)m->ext[ext] + sizeof(id);
}

uint16_t pfkey_get_udpencap_port(const struct pfkey_msg *m)
{
	return get_be16(m->ext[SADB_X_EXT_UDPENCAP] + 4);
}

uint64_t pfkey_get_replay(const struct pfkey_msg *m)
{
	struct sadb_x_replay r;
	memcpy(&r, m->ext[SADB_X_EXT_REPLAY], sizeof(r));
	return r.sadb_x_replay_count;
}

void pfkey_get_rdomain(const struct pfkey_msg *m, uint16_t *dom1, uint16_t *dom2)
{
	struct sadb_x_rdomain r;
	memcpy(&r, m->ext[SADB_X_EXT_RDOMAIN], sizeof(r));
	*dom1 = r.sadb_x_rdomain_dom1;
	*dom2 = r.sadb_x_rdomain_dom2;
}

const char *pfkey_get_tag(const struct pfkey_msg *m)
{
	return (const char *)m->ext[SADB_X_EXT_TAG] + sizeof(struct sadb_x_tag);
}

uint32_t pfkey_get_tap(const struct pfkey_msg *m)
{
	struct sadb_x_tap t;
	memcpy(&t, m->ext[SADB_X_EXT_TAP], sizeof(t));
	return t.sadb_x_tap_unit;
}

unsigned pfkey_get_supported(const struct pfkey_msg *m, int ext, struct sadb_alg *algs,
			     unsigned max)
{
	unsigned n =
	    (unsigned)((m->extlen[ext] - sizeof(struct sadb_supported)) / sizeof(struct sadb_alg));
	for (unsigned i = 0; i < n && i < max; i++)
		memcpy(&algs[i],
		       m->ext[ext] + sizeof(struct sadb_supported) + i * sizeof(struct sadb_alg),
		       sizeof(struct sadb_alg));
	return n;
}

unsigned pfkey_get_proposal(const struct pfkey_msg *m, struct sadb_comb *combs, unsigned max)
{
	const uint8_t *p = m->ext[SADB_EXT_PROPOSAL];
	unsigned n = (unsigned)((m->extlen[SADB_EXT_PROPOSAL] - sizeof(struct sadb_prop)) /
				sizeof(struct sadb_comb));
	for (unsigned i = 0; i < n && i < max; i++)
		memcpy(&combs[i], p + sizeof(struct sadb_prop) + i * sizeof(struct sadb_comb),
		       sizeof(struct sadb_comb));
	return n;
}

void pfkey_get_counter(const struct pfkey_msg *m, struct sadb_x_counter *c)
{
	memcpy(c, m->ext[SADB_X_EXT_COUNTER], sizeof(*c));
}

/* ---- building ---- */

void pfkb_init(struct pfkey_buf *pb, uint8_t type, uint8_t satype, uint32_t seq, uint32_t pid)
{
	struct sadb_msg h = {.sadb_msg_version = PF_KEY_V2,
			     .sadb_msg_type = type,
			     .sadb_msg_satype = satype,
			     .sadb_msg_seq = seq,
			     .sadb_msg_pid = pid};
	memcpy(pb->b, &h, sizeof(h));
	pb->len = sizeof(h);
	pb->overflow = false;
}

/* Reserve room for an extension of `len` bytes (a multiple of 8). */
static uint8_t *pfkb_room(struct pfkey_buf *pb, size_t len)
{
	if (pb->overflow || len > sizeof(pb->b) - pb->len) {
		pb->overflow = true;
		return NULL;
	}
	uint8_t *p = pb->b + pb->len;
	memset(p, 0, len);
	pb->len += len;
	return p;
}

static void put_ext_hdr(uint8_t *p, size_t len, uint16_t type)
{
	uint16_t l = (uint16_t)(len / 8);
	memcpy(p, &l, 2);
	memcpy(p + 2, &type, 2);
}

void pfkb_raw(struct pfkey_buf *pb, uint16_t exttype, const void *payload, size_t len)
{
	size_t total = PFKEY_ALIGN8(sizeof(struct sadb_ext) + len);
	uint8_t *p = pfkb_room(pb, total);
	if (!p)
		return;
	put_ext_hdr(p, total, exttype);
	if (len)
		memcpy(p + sizeof(struct sadb_ext), payload, len);
}

void pfkb_copy(struct pfkey_buf *pb, const struct pfkey_msg *m, int ext)
{
	if (!m->ext[ext])
		return;
	uint8_t *p = pfkb_room(pb, m->extlen[ext]);
	if (p)
		memcpy(p, m->ext[ext], m->extlen[ext]);
}

/* Write a fixed-size structure whose first two fields are len and type. */
static void pfkb_struct(struct pfkey_buf *pb, uint16_t exttype, void *s, size_t size)
{
	uint8_t *p = pfkb_room(pb, size);
	if (!p)
		return;
	memcpy(p, s, size);
	put_ext_hdr(p, size, exttype);
}

void pfkb_sa(struct pfkey_buf *pb, uint16_t exttype, uint32_t spi, uint8_t replay, uint8_t state,
	     uint8_t auth, uint8_t encrypt, uint32_t flags)
{
	struct sadb_sa sa = {.sadb_sa_replay = replay,
			     .sadb_sa_state = state,
			     .sadb_sa_auth = auth,
			     .sadb_sa_encrypt = encrypt,
			     .sadb_sa_flags = flags};
	put_be32((uint8_t *)&sa.sadb_sa_spi, spi);
	pfkb_struct(pb, exttype, &sa, sizeof(sa));
}

void pfkb_lifetime(struct pfkey_buf *pb, uint16_t exttype, uint32_t allocations, uint64_t bytes,
		   uint64_t addtime, uint64_t usetime)
{
	struct sadb_lifetime lt = {.sadb_lifetime_allocations = allocations,
				   .sadb_lifetime_bytes = bytes,
				   .sadb_lifetime_addtime = addtime,
				   .sadb_lifetime_usetime = usetime};
	pfkb_struct(pb, exttype, &lt, sizeof(lt));
}

void pfkb_address(struct pfkey_buf *pb, uint16_t exttype, const struct ipaddr *a, uint16_t port)
{
	size_t salen = a->af == ADDR_V6 ? PFKEY_SIN6_LEN : PFKEY_SIN_LEN;
	size_t total = sizeof(struct sadb_address) + PFKEY_ALIGN8(salen);
	uint8_t *p = pfkb_room(pb, total);
	if (!p)
		return;
	put_ext_hdr(p, total, exttype);
	uint8_t *sa = p + sizeof(struct sadb_address);
	sa[0] = (uint8_t)salen;
	sa[1] = a->af == ADDR_V6 ? PFKEY_AF_INET6 : PFKEY_AF_INET;
	put_be16(sa + 2, port);
	if (a->af == ADDR_V6)
		memcpy(sa + 8, a->a, 16);
	else
		memcpy(sa + 4, a->a, 4);
}

void pfkb_key(struct pfkey_buf *pb, uint16_t exttype, const uint8_t *key, unsigned bits)
{
	size_t keybytes = (bits + 7) / 8;
	size_t total = sizeof(struct sadb_key) + (size_t)(bits + 63) / 64 * 8;
	uint8_t *p = pfkb_room(pb, total);
	if (!p)
		return;
	struct sadb_key k = {.sadb_key_bits = (uint16_t)bits};
	memcpy(p, &k, sizeof(k));
	put_ext_hdr(p, total, exttype);
	if (keybytes)
		memcpy(p + sizeof(k), key, keybytes);
}

void pfkb_ident(struct pfkey_buf *pb, uint16_t exttype, uint16_t type, const char *id)
{
	size_t slen = strlen(id) + 1;
	size_t total = sizeof(struct sadb_ident) + PFKEY_ALIGN8(slen);
	uint8_t *p = pfkb_room(pb, total);
	if (!p)
		return;
	struct sadb_ident h = {.sadb_ident_type = type};
	memcpy(p, &h, sizeof(h));
	put_ext_hdr(p, total, exttype);
	memcpy(p + sizeof(h), id, slen);
}

uint16_t pfkey_ident_type(const char *id)
{
	struct ipaddr a;
	if (addr_parse(id, &a) == 0)
		return SADB_IDENTTYPE_PREFIX;
	return strchr(id, '@') ? SADB_IDENTTYPE_USERFQDN : SADB_IDENTTYPE_FQDN;
}

void pfkb_spirange(struct pfkey_buf *pb, uint32_t min, uint32_t max)
{
	struct sadb_spirange r = {.sadb_spirange_min = min, .sadb_spirange_max = max};
	pfkb_struct(pb, SADB_EXT_SPIRANGE, &r, sizeof(r));
}

void pfkb_protocol(struct pfkey_buf *pb, uint16_t exttype, uint8_t proto, uint8_t direction,
		   uint8_t flags)
{
	struct sadb_protocol p = {.sadb_protocol_proto = proto,
				  .sadb_protocol_direction = direction,
				  .sadb_protocol_flags = flags};
	pfkb_struct(pb, exttype, &p, sizeof(p));
}

void pfkb_policy(struct pfkey_buf *pb, uint32_t seq)
{
	struct sadb_x_policy p = {.sadb_x_policy_seq = seq};
	pfkb_struct(pb, SADB_X_EXT_POLICY, &p, sizeof(p));
}

void pfkb_udpencap(struct pfkey_buf *pb, uint16_t port)
{
	struct sadb_x_udpencap u = {0};
	put_be16((uint8_t *)&u.sadb_x_udpencap_port, port);
	pfkb_struct(pb, SADB_X_EXT_UDPENCAP, &u, sizeof(u));
}

void pfkb_replay(struct pfkey_buf *pb, uint64_t count)
{
	struct sadb_x_replay r = {.sadb_x_replay_count = count};
	pfkb_struct(pb, SADB_X_EXT_REPLAY, &r, sizeof(r));
}

void pfkb_rdomain(struct pfkey_buf *pb, uint16_t dom1, uint16_t dom2)
{
	struct sadb_x_rdomain r = {.sadb_x_rdomain_dom1 = dom1, .sadb_x_rdomain_dom2 = dom2};
	pfkb_struct(pb, SADB_X_EXT_RDOMAIN, &r, sizeof(r));
}

void pfkb_tag(struct pfkey_buf *pb, const char *tag)
{
	size_t slen = strlen(tag) + 1;
	size_t total = PFKEY_ALIGN8(sizeof(struct sadb_x_tag) + slen);
	uint8_t *p = pfkb_room(pb, total);
	if (!p)
		return;
	struct sadb_x_tag t = {.sadb_x_tag_taglen = (uint32_t)slen};
	memcpy(p, &t, sizeof(t));
	put_ext_hdr(p, total, SADB_X_EXT_TAG);
	memcpy(p + sizeof(t), tag, slen);
}

void pfkb_tap(struct pfkey_buf *pb, uint32_t unit)
{
	struct sadb_x_tap t = {.sadb_x_tap_unit = unit};
	pfkb_struct(pb, SADB_X_EXT_TAP, &t, sizeof(t));
}

void pfkb_supported(struct pfkey_buf *pb, uint16_t exttype, const struct sadb_alg *algs, unsigned n)
{
	size_t total = sizeof(struct sadb_supported) + n * sizeof(struct sadb_alg);
	uint8_t *p = pfkb_room(pb, total);
	if (!p)
		return;
	put_ext_hdr(p, total, exttype);
	memcpy(p + sizeof(struct sadb_supported), algs, n * sizeof(struct sadb_alg));
}

void pfkb_proposal(struct pfkey_buf *pb, uint8_t replay, const struct sadb_comb *combs, unsigned n)
{
	size_t total = sizeof(struct sadb_prop) + n * sizeof(struct sadb_comb);
	uint8_t *p = pfkb_room(pb, total);
	if (!p)
		return;
	struct sadb_prop h = {.sadb_prop_replay = replay};
	memcpy(p, &h, sizeof(h));
	put_ext_hdr(p, total, SADB_EXT_PROPOSAL);
	memcpy(p + sizeof(h), combs, n * sizeof(struct sadb_comb));
}

void pfkb_counter(struct pfkey_buf *pb, const uint64_t v[8])
{
	struct sadb_x_counter c = {0};
	c.sadb_x_counter_ipackets = v[0];
	c.sadb_x_counter_opackets = v[1];
	c.sadb_x_counter_ibytes = v[2];
	c.sadb_x_counter_obytes = v[3];
	c.sadb_x_counter_idrops = v[4];
	c.sadb_x_counter_odrops = v[5];
	c.sadb_x_counter_idecompbytes = v[6];
	c.sadb_x_counter_ouncompbytes = v[7];
	pfkb_struct(pb, SADB_X_EXT_COUNTER, &c, sizeof(c));
}

size_t pfkb_finish(struct pfkey_buf *pb)
{
	if (pb->overflow)
		return 0;
	uint16_t words = (uint16_t)(pb->len / 8);
	memcpy(pb->b + 4, &words, 2);
	return pb->len;
}
