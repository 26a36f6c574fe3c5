/* PF_KEY v2: every message type round-trips, every malformation is EINVAL
 * and changes nothing, and the kernel acts and delivers as OpenBSD does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../ipsec/pfkey.h"
#include "../../ipsec/pfkey_msg.h"
#include "../../stack/util.h"
#include "unit.h"

static const uint8_t KEY16[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				  0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
static const uint8_t KEY20[20] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33,
				  0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x12, 0x34, 0x56, 0x78};

static struct ipaddr A(const char *s) {
	struct ipaddr a;
	addr_parse(s, &a);
	return a;
}

/* ---- a valid message of each type, extensions in increasing order ---- */

static void
add_sa_exts(struct pfkey_buf *pb, uint32_t spi, bool keys)
{
	struct ipaddr s = A("10.0.0.1"), d = A("10.0.0.2");
	pfkb_sa(pb, SADB_EXT_SA, spi, 16, SADB_SASTATE_MATURE, SADB_AALG_SHA1HMAC, SADB_X_EALG_AES,
		SADB_X_SAFLAGS_TUNNEL);
	pfkb_lifetime(pb, SADB_EXT_LIFETIME_HARD, 0, 1000000, 3600, 0);
	pfkb_lifetime(pb, SADB_EXT_LIFETIME_SOFT, 0, 900000, 3000, 0);
	pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &s, 0);
	pfkb_address(pb, SADB_EXT_ADDRESS_DST, &d, 0);
	if (keys) {
		pfkb_key(pb, SADB_EXT_KEY_AUTH, KEY20, 160);
		pfkb_key(pb, SADB_EXT_KEY_ENCRYPT, KEY16, 128);
	}
}

static void add_flow_exts_flags(struct pfkey_buf *pb, const char *src, unsigned splen,
				const char *dst, unsigned dplen, uint8_t ftype, uint8_t flags)
{
	struct ipaddr s = A(src), d = A(dst), sm = {.af = s.af}, dm = {.af = d.af};
	memset(sm.a, 0xff, addr_len(s.af));
	memset(dm.a, 0xff, addr_len(d.af));
	addr_mask(&sm, splen);
	addr_mask(&dm, dplen);
	pfkb_address(pb, SADB_X_EXT_SRC_MASK, &sm, 0);
	pfkb_address(pb, SADB_X_EXT_DST_MASK, &dm, 0);
	pfkb_protocol(pb, SADB_X_EXT_FLOW_TYPE, ftype, IPSP_DIRECTION_OUT, flags);
	pfkb_address(pb, SADB_X_EXT_SRC_FLOW, &s, 0);
	pfkb_address(pb, SADB_X_EXT_DST_FLOW, &d, 0);
}

static void add_flow_exts(struct pfkey_buf *pb, const char *src, unsigned splen, const char *dst,
			  unsigned dplen, uint8_t ftype)
{
	add_flow_exts_flags(pb, src, splen, dst, dplen, ftype, SADB_X_POLICYFLAGS_POLICY);
}

static size_t build(uint8_t type, uint32_t pid, struct pfkey_buf *pb)
{
	struct ipaddr s = A("10.0.0.1"), d = A("10.0.0.2"), peer = A("192.0.2.2");
	uint8_t satype = SADB_SATYPE_ESP;
	if (type == SADB_REGISTER || type == SADB_FLUSH || type == SADB_DUMP ||
	    type == SADB_X_PROMISC || type == SADB_X_ASKPOLICY)
		satype = SADB_SATYPE_UNSPEC;
	pfkb_init(pb, type, satype, 7, pid);
	switch (type) {
	case SADB_GETSPI:
		pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &s, 0);
		pfkb_address(pb, SADB_EXT_ADDRESS_DST, &d, 0);
		pfkb_spirange(pb, 0x1000, 0x1fff);
		break;
	case SADB_UPDATE:
	case SADB_ADD:
		add_sa_exts(pb, 0x2001, true);
		if (type == SADB_ADD) {
			pfkb_ident(pb, SADB_EXT_IDENTITY_SRC, SADB_IDENTTYPE_FQDN, "gw1.example");
			pfkb_udpencap(pb, 4500);
			pfkb_tag(pb, "vpn");
			pfkb_replay(pb, 5);
		}
		break;
	case SADB_DELETE:
	case SADB_EXPIRE:
		pfkb_sa(pb, SADB_EXT_SA, 0x2001, 0, SADB_SASTATE_MATURE, 0, 0, 0);
		pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &s, 0);
		pfkb_address(pb, SADB_EXT_ADDRESS_DST, &d, 0);
		break;
	case SADB_GET:
		pfkb_sa(pb, SADB_EXT_SA, 0x2001, 0, SADB_SASTATE_MATURE, 0, 0, 0);
		pfkb_address(pb, SADB_EXT_ADDRESS_DST, &d, 0);
		break;
	case SADB_ACQUIRE: {
		struct sadb_comb c = {.sadb_comb_auth = SADB_AALG_SHA1HMAC,
				      .sadb_comb_encrypt = SADB_X_EALG_AES,
				      .sadb_comb_encrypt_minbits = 128,
				      .sadb_comb_encrypt_maxbits = 256,
				      .sadb_comb_hard_addtime = 86400};
		pfkb_address(pb, SADB_EXT_ADDRESS_SRC, &s, 0);
		pfkb_address(pb, SADB_EXT_ADDRESS_DST, &d, 0);
		pfkb_proposal(pb, 0, &c, 1);
		break;
	}
	case SADB_X_ADDFLOW:
		pfkb_address(pb, SADB_EXT_ADDRESS_DST, &peer, 0);
		pfkb_ident(pb, SADB_EXT_IDENTITY_DST, SADB_IDENTTYPE_FQDN, "gw2.example");
		add_flow_exts(pb, "10.1.0.0", 16, "10.2.0.0", 16, SADB_X_FLOW_TYPE_REQUIRE);
		break;
	case SADB_X_DELFLOW:
		add_flow_exts(pb, "10.1.0.0", 16, "10.2.0.0", 16, SADB_X_FLOW_TYPE_REQUIRE);
		break;
	case SADB_X_GRPSPIS:
		pfkb_sa(pb, SADB_EXT_SA, 0x2001, 0, SADB_SASTATE_MATURE, 0, 0, 0);
		pfkb_address(pb, SADB_EXT_ADDRESS_DST, &d, 0);
		pfkb_sa(pb, SADB_X_EXT_SA2, 0x3001, 0, SADB_SASTATE_MATURE, 0, 0, 0);
		pfkb_address(pb, SADB_X_EXT_DST2, &d, 0);
		pfkb_protocol(pb, SADB_X_EXT_SATYPE2, SADB_SATYPE_AH, 0, 0);
		break;
	case SADB_X_ASKPOLICY: pfkb_policy(pb, 42); break;
	default: break; /* REGISTER, FLUSH, DUMP, X_PROMISC: the header alone */
	}
	return pfkb_finish(pb);
}

static const uint8_t all_types[] = {SADB_GETSPI,    SADB_UPDATE,    SADB_ADD,        SADB_DELETE,
				    SADB_GET,       SADB_ACQUIRE,   SADB_REGISTER,   SADB_EXPIRE,
				    SADB_FLUSH,     SADB_DUMP,      SADB_X_PROMISC,  SADB_X_ADDFLOW,
				    SADB_X_DELFLOW, SADB_X_GRPSPIS, SADB_X_ASKPOLICY};

/* Decode every extension through its typed accessor and encode it again. */
static size_t reencode(const struct pfkey_msg *m, struct pfkey_buf *pb)
{
	pfkb_init(pb, m->hdr.sadb_msg_type, m->hdr.sadb_msg_satype, m->hdr.sadb_msg_seq,
		  m->hdr.sadb_msg_pid);
	for (int e = 1; e <= SADB_EXT_MAX; e++) {
		if (!pfkey_has(m, e))
			continue;
		struct sadb_sa sa;
		struct sadb_lifetime lt;
		struct sadb_protocol p;
		struct ipaddr a;
		uint16_t port, idtype;
		unsigned bits;
		switch (e) {
		case SADB_EXT_SA:
		case SADB_X_EXT_SA2:
			pfkey_get_sa(m, e, &sa);
			pfkb_sa(pb, (uint16_t)e, get_be32((uint8_t *)&sa.sadb_sa_spi),
				sa.sadb_sa_replay, sa.sadb_sa_state, sa.sadb_sa_auth,
				sa.sadb_sa_encrypt, sa.sadb_sa_flags);
			break;
		case SADB_EXT_LIFETIME_HARD:
		case SADB_EXT_LIFETIME_SOFT:
			pfkey_get_lifetime(m, e, &lt);
			pfkb_lifetime(pb, (uint16_t)e, lt.sadb_lifetime_allocations,
				      lt.sadb_lifetime_bytes, lt.sadb_lifetime_addtime,
				      lt.sadb_lifetime_usetime);
			break;
		case SADB_EXT_KEY_AUTH:
		case SADB_EXT_KEY_ENCRYPT: {
			const uint8_t *k = pfkey_get_key(m, e, &bits);
			pfkb_key(pb, (uint16_t)e, k, bits);
			break;
		}
		case SADB_EXT_IDENTITY_SRC:
		case SADB_EXT_IDENTITY_DST: {
			const char *id = pfkey_get_ident(m, e, &idtype);
			pfkb_ident(pb, (uint16_t)e, idtype, id);
			break;
		}
		case SADB_EXT_SPIRANGE: {
			struct sadb_spirange r;
			pfkey_get_spirange(m, &r);
			pfkb_spirange(pb, r.sadb_spirange_min, r.sadb_spirange_max);
			break;
		}
		case SADB_EXT_PROPOSAL: {
			struct sadb_comb c[2];
			unsigned n = pfkey_get_proposal(m, c, 2);
			pfkb_proposal(pb, 0, c, n);
			break;
		}
		case SADB_X_EXT_PROTOCOL:
		case SADB_X_EXT_FLOW_TYPE:
		case SADB_X_EXT_SATYPE2:
			pfkey_get_protocol(m, e, &p);
			pfkb_protocol(pb, (uint16_t)e, p.sadb_protocol_proto,
				      p.sadb_protocol_direction, p.sadb_protocol_flags);
			break;
		case SADB_X_EXT_POLICY: pfkb_policy(pb, pfkey_get_policy_seq(m)); break;
		case SADB_X_EXT_UDPENCAP: pfkb_udpencap(pb, pfkey_get_udpencap_port(m)); break;
		case SADB_X_EXT_TAG: pfkb_tag(pb, pfkey_get_tag(m)); break;
		case SADB_X_EXT_REPLAY: pfkb_replay(pb, pfkey_get_replay(m)); break;
		default:
			pfkey_get_address(m, e, &a, &port);
			pfkb_address(pb, (uint16_t)e, &a, port);
			break;
		}
	}
	return pfkb_finish(pb);
}

static void test_every_type_round_trips(void)
{
	for (size_t i = 0; i < ARRAY_LEN(all_types); i++) {
		struct pfkey_buf pb, again;
		struct pfkey_msg m;
		size_t len = build(all_types[i], 1000, &pb);
		CU_ASSERT_FATAL(len > 0);
		int err = pfkey_parse(pb.b, len, PFKEY_IN, 1000, &m);
		if (err)
			fprintf(stderr, "\n%s: parse gave %d\n", pfkey_msg_name(all_types[i]), err);
		CU_ASSERT_EQUAL_FATAL(err, 0);
		size_t len2 = reencode(&m, &again);
		CU_ASSERT_EQUAL(len2, len);
		CU_ASSERT_EQUAL(memcmp(again.b, pb.b, len), 0);
	}
	/* Values come back as written: a spot check of the typed accessors. */
	struct pfkey_buf pb;
	struct pfkey_msg m;
	size_t len = build(SADB_ADD, 1000, &pb);
	CU_ASSERT_FATAL(pfkey_parse(pb.b, len, PFKEY_IN, 1000, &m) == 0);
	struct sadb_sa sa;
	pfkey_get_sa(&m, SADB_EXT_SA, &sa);
	CU_ASSERT_EQUAL(get_be32((uint8_t *)&sa.sadb_sa_spi), 0x2001);
	CU_ASSERT_EQUAL(sa.sadb_sa_replay, 16);
	unsigned bits;
	CU_ASSERT_EQUAL(memcmp(pfkey_get_key(&m, SADB_EXT_KEY_AUTH, &bits), KEY20, 20), 0);
	CU_ASSERT_EQUAL(bits, 160);
	CU_ASSERT_EQUAL(pfkey_get_udpencap_port(&m), 4500);
	CU_ASSERT_STRING_EQUAL(pfkey_get_tag(&m), "vpn");
	/* The SPI travels in network order, per RFC 2367 2.3.1. */
	const uint8_t *sa_bytes = m.ext[SADB_EXT_SA];
	CU_ASSERT(sa_bytes[4] == 0 && sa_bytes[5] == 0 && sa_bytes[6] == 0x20 &&
		  sa_bytes[7] == 0x01);
}

/* ---- byte surgery for malformed variants ---- */

struct raw {
	uint8_t b[PFKEY_MSG_MAXSZ + 64];
	size_t len;
};

static void fix_len(struct raw *r)
{
	uint16_t w = (uint16_t)(r->len / 8);
	memcpy(r->b + 4, &w, 2);
}

/* Offset and size of extension `type`, or 0. */
static size_t find_ext(const struct raw *r, uint16_t type, size_t *size)
{
	*size = 0;
	for (size_t o = 16; o + 4 <= r->len;) {
		uint16_t l, t;
		memcpy(&l, r->b + o, 2);
		memcpy(&t, r->b + o + 2, 2);
		if (l == 0)
			break;
		if (t == type) {
			*size = (size_t)l * 8;
			return o;
		}
		o += (size_t)l * 8;
	}
	return 0;
}

static void remove_ext(struct raw *r, uint16_t type)
{
	size_t size, o = find_ext(r, type, &size);
	CU_ASSERT_FATAL(o > 0);
	memmove(r->b + o, r->b + o + size, r->len - o - size);
	r->len -= size;
	fix_len(r);
}

static void append(struct raw *r, const uint8_t *p, size_t n)
{
	memcpy(r->b + r->len, p, n);
	r->len += n;
	fix_len(r);
}

static int first_ext(const struct raw *r)
{
	uint16_t t;
	if (r->len <= 16)
		return 0;
	memcpy(&t, r->b + 18, 2);
	return t;
}

/* A node holding one SA and one flow, and two sockets. */
struct world {
	struct sim *sim;
	struct node *n;
	struct pfkey_sock *s, *other;
};

static void world_init(struct world *w)
{
	w->sim = sim_new(1);
	w->n = sim_add_node(w->sim, "n");
	w->s = pfkey_open(w->n);
	w->other = pfkey_open(w->n);
	struct pfkey_buf pb;
	size_t len = build(SADB_ADD, w->s->pid, &pb);
	CU_ASSERT_EQUAL(pfkey_write(w->s, pb.b, len), 0);
	len = build(SADB_X_ADDFLOW, w->s->pid, &pb);
	CU_ASSERT_EQUAL(pfkey_write(w->s, pb.b, len), 0);
	while (pfkey_read(w->s, NULL, 0) >= 0)
		;
	while (pfkey_read(w->other, NULL, 0) >= 0)
		;
}

/* What the SAD and SPD hold, as text, to compare before and after. */
static void snapshot(const struct world *w, char *buf, size_t cap)
{
	size_t o = 0;
	char a[ADDR_STRLEN];
	const struct ipsec_state *st = w->n->ipsec;
	for (const struct tdb *t = st->sad.head; t; t = t->next)
		o += (size_t)snprintf(buf + o, cap - o, "sa %s/%x/%u/%x;", addr_fmt(&t->dst, a),
				      t->spi, t->sproto, t->flags);
	for (const struct spd_flow *f = st->spd.head; f; f = f->next)
		o += (size_t)snprintf(buf + o, cap - o, "flow %s/%u/%u;", addr_fmt(&f->sel.src, a),
				      f->mask.src_plen, f->type);
}

static void world_free(struct world *w)
{
	sim_free(w->sim);
}

static void test_malformed_variants(void)
{
	enum {
		SHORT,
		VERSION,
		DUP,
		MISSING,
		DISALLOWED,
		BADKEY,
		FAMILY,
		SATYPE,
		PID,
		ERRNO,
		RESERVED,
		ZEROLEN,
		OVERRUN,
		NVARIANTS
	};
	static const char *const vname[] = {
	    "short",  "version", "duplicate", "missing",  "disallowed",      "bad key", "family",
	    "satype", "pid",     "errno",     "reserved", "zero-length ext", "overrun"};
	unsigned tried = 0;
	for (size_t i = 0; i < ARRAY_LEN(all_types); i++) {
		uint8_t type = all_types[i];
		for (int v = 0; v < NVARIANTS; v++) {
			struct world w;
			world_init(&w);
			struct pfkey_buf pb;
			struct raw r;
			r.len = build(type, w.s->pid, &pb);
			memcpy(r.b, pb.b, r.len);
			size_t size;
			bool applies = true;
			switch (v) {
			case SHORT: r.len -= 8; break; /* the header still says the old length */
			case VERSION: r.b[0] = 1; break;
			case DUP: {
				int e = first_ext(&r);
				size_t o = e ? find_ext(&r, (uint16_t)e, &size) : 0;
				if (!e || type == SADB_X_PROMISC) {
					applies = false;
					break;
				}
				uint8_t copy[512];
				memcpy(copy, r.b + o, size);
				append(&r, copy, size);
				break;
			}
			case MISSING: {
				uint64_t need = pfkey_required_in(type);
				int e = 1;
				while (e <= SADB_EXT_MAX && !(need & PFKEY_BIT(e)))
					e++;
				if (e > SADB_EXT_MAX) {
					applies = false;
					break;
				}
				remove_ext(&r, (uint16_t)e);
				break;
			}
			case DISALLOWED: {
				/* X_MTU is never accepted from a user. */
				uint8_t mtu[8] = {1, 0, SADB_X_EXT_MTU, 0, 0xdc, 0x05, 0, 0};
				if (type == SADB_X_PROMISC) {
					applies = false;
					break;
				}
				append(&r, mtu, 8);
				break;
			}
			case BADKEY: {
				size_t o = find_ext(&r, SADB_EXT_KEY_ENCRYPT, &size);
				if (!o) {
					applies = false;
					break;
				}
				uint16_t bits = 200; /* needs 32 bytes; the payload has 16 */
				memcpy(r.b + o + 4, &bits, 2);
				break;
			}
			case FAMILY: {
				size_t o = find_ext(&r, SADB_EXT_ADDRESS_DST, &size);
				if (!o || !find_ext(&r, SADB_EXT_ADDRESS_SRC, &size)) {
					applies = false;
					break;
				}
				struct pfkey_buf v6;
				struct ipaddr a = A("2001:db8::2");
				pfkb_init(&v6, 0, 0, 0, 0);
				pfkb_address(&v6, SADB_EXT_ADDRESS_DST, &a, 0);
				remove_ext(&r, SADB_EXT_ADDRESS_DST);
				append(&r, v6.b + 16, v6.len - 16);
				break;
			}
			case SATYPE: r.b[3] = 10; break; /* past SADB_SATYPE_MAX */
			case PID: {
				uint32_t pid = w.s->pid + 1;
				memcpy(r.b + 12, &pid, 4);
				break;
			}
			case ERRNO: r.b[2] = EPERM; break;
			case RESERVED: r.b[6] = 1; break;
			case ZEROLEN: {
				uint8_t z[8] = {0, 0, SADB_EXT_SA, 0};
				if (type == SADB_X_PROMISC) {
					applies = false;
					break;
				}
				append(&r, z, 8);
				break;
			}
			case OVERRUN: {
				uint8_t big[8] = {9, 0, SADB_X_EXT_POLICY, 0};
				if (type == SADB_X_PROMISC) {
					applies = false;
					break;
				}
				append(&r, big, 8);
				break;
			}
			}
			if (!applies) {
				world_free(&w);
				continue;
			}
			tried++;
			char before[2048], after[2048];
			snapshot(&w, before, sizeof(before));
			int rc = pfkey_write(w.s, r.b, r.len);
			snapshot(&w, after, sizeof(after));
			if (rc != -EINVAL)
				fprintf(stderr, "\n%s/%s: got %d\n", pfkey_msg_name(type), vname[v],
					rc);
			CU_ASSERT_EQUAL(rc, -EINVAL);
			CU_ASSERT_STRING_EQUAL(before, after);
			/* EINVAL goes to the writer only: nothing is queued anywhere. */
			CU_ASSERT_EQUAL(w.s->rq_bytes + w.other->rq_bytes, 0);
			world_free(&w);
		}
	}
	CU_ASSERT(tried >= 130); /* every type met most variants */
}

static void test_field_checks(void)
{
	/* Rows: one field of a valid ADD spoiled -> EINVAL. */
	static const struct {
		const char *what;
		uint16_t ext;
		unsigned off;
		uint8_t val;
	} rows[] = {
	    {"replay above 64", SADB_EXT_SA, 8, 65},
	    {"state DEAD", SADB_EXT_SA, 9, SADB_SASTATE_DEAD},
	    {"state LARVAL in ADD", SADB_EXT_SA, 9, SADB_SASTATE_LARVAL},
	    {"auth past the table", SADB_EXT_SA, 10, SADB_AALG_MAX + 1},
	    {"encrypt past the table", SADB_EXT_SA, 11, SADB_EALG_MAX + 1},
	    {"port in an SA address", SADB_EXT_ADDRESS_SRC, 11, 80},
	    {"address reserved", SADB_EXT_ADDRESS_SRC, 4, 1},
	    {"sin_zero", SADB_EXT_ADDRESS_DST, 20, 1},
	    {"family 7", SADB_EXT_ADDRESS_DST, 9, 7},
	    {"key reserved", SADB_EXT_KEY_AUTH, 6, 1},
	    {"identity type 9", SADB_EXT_IDENTITY_SRC, 4, 9},
	    {"identity shorter than its padding", SADB_EXT_IDENTITY_SRC, 19, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct world w;
		world_init(&w);
		struct pfkey_buf pb;
		struct raw r;
		r.len = build(SADB_ADD, w.s->pid, &pb);
		memcpy(r.b, pb.b, r.len);
		size_t size, o = find_ext(&r, rows[i].ext, &size);
		CU_ASSERT_FATAL(o > 0 && rows[i].off < size);
		r.b[o + rows[i].off] = rows[i].val;
		/* A fresh SPI, so only the spoiled field can fail the ADD. */
		size_t so = find_ext(&r, SADB_EXT_SA, &size);
		r.b[so + 7] = 0x77;
		int rc = pfkey_write(w.s, r.b, r.len);
		if (rc != -EINVAL)
			fprintf(stderr, "\nfield row %zu (%s): got %d\n", i + 1, rows[i].what, rc);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_EQUAL(w.n->ipsec->sad.count, 1);
		world_free(&w);
	}
	/* An identity with no NUL at all. */
	struct pfkey_buf pb;
	struct pfkey_msg m;
	/* sadb_ident after the extension header: type, reserved, a 64-bit id,
	 * then the string: here 8 bytes and no NUL. */
	uint8_t id[20] = {SADB_IDENTTYPE_FQDN,
			  0,
			  0,
			  0,
			  0,
			  0,
			  0,
			  0,
			  0,
			  0,
			  0,
			  0,
			  'a',
			  'b',
			  'c',
			  'd',
			  'e',
			  'f',
			  'g',
			  'h'};
	pfkb_init(&pb, SADB_ACQUIRE, SADB_SATYPE_ESP, 1, 5);
	pfkb_raw(&pb, SADB_EXT_IDENTITY_SRC, id, sizeof(id));
	size_t len = pfkb_finish(&pb);
	CU_ASSERT_EQUAL(pfkey_parse(pb.b, len, PFKEY_IN, 5, &m), EINVAL);
	memset(id + 15, 0, 5); /* now "abc" and its padding: valid */
	pfkb_init(&pb, SADB_ACQUIRE, SADB_SATYPE_ESP, 1, 5);
	pfkb_raw(&pb, SADB_EXT_IDENTITY_SRC, id, sizeof(id));
	len = pfkb_finish(&pb);
	CU_ASSERT_EQUAL(pfkey_parse(pb.b, len, PFKEY_IN, 5, &m), 0);
}

/* ---- acting and delivering ---- */

static ssize_t next_msg(struct pfkey_sock *s, struct pfkey_msg *m, uint8_t *buf)
{
	ssize_t n = pfkey_read(s, buf, PFKEY_MSG_MAXSZ + 16);
	if (n >= 0)
		CU_ASSERT_EQUAL(pfkey_parse(buf, (size_t)n, PFKEY_OUT, 0, m), 0);
	return n;
}

static void test_add_get_delete(void)
{
	struct sim *sim = sim_new(1);
	struct node *n = sim_add_node(sim, "n");
	struct pfkey_sock *s = pfkey_open(n), *o = pfkey_open(n);
	struct pfkey_buf pb;
	uint8_t buf[PFKEY_MSG_MAXSZ + 16];
	struct pfkey_msg m;

	size_t len = build(SADB_ADD, s->pid, &pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), 0);
	/* Broadcast to both sockets, keys stripped. */
	for (int i = 0; i < 2; i++) {
		CU_ASSERT(next_msg(i ? o : s, &m, buf) > 0);
		CU_ASSERT_EQUAL(m.hdr.sadb_msg_type, SADB_ADD);
		CU_ASSERT_FALSE(pfkey_has(&m, SADB_EXT_KEY_AUTH));
		CU_ASSERT_FALSE(pfkey_has(&m, SADB_EXT_KEY_ENCRYPT));
		CU_ASSERT_TRUE(pfkey_has(&m, SADB_EXT_SA));
	}
	struct tdb *t = sad_lookup(&n->ipsec->sad, &(struct ipaddr){0}, 0, 0);
	CU_ASSERT_PTR_NULL(t);
	struct ipaddr d = A("10.0.0.2");
	t = sad_lookup(&n->ipsec->sad, &d, 0x2001, IPPROTO_ESP);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->enckeylen, 16);
	CU_ASSERT_EQUAL(memcmp(t->enckey, KEY16, 16), 0);
	CU_ASSERT_EQUAL(t->wnd, 16);
	CU_ASSERT_EQUAL(t->hard.bytes, 1000000);
	CU_ASSERT_TRUE(t->flags & TDBF_BYTES);
	CU_ASSERT_TRUE(t->flags & TDBF_TUNNELING);
	CU_ASSERT_FALSE(t->flags & TDBF_INVALID);
	CU_ASSERT_EQUAL(t->udpencap_port, 4500);
	CU_ASSERT_EQUAL(t->replay.rpl, 5);

	/* The same ADD again: EEXIST, echoed to the sender alone as a bare header. */
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), -EEXIST);
	CU_ASSERT_EQUAL(next_msg(s, &m, buf), 16);
	CU_ASSERT_EQUAL(m.hdr.sadb_msg_errno, EEXIST);
	CU_ASSERT_EQUAL(pfkey_read(o, buf, sizeof(buf)), -EAGAIN);

	/* GET: broadcast, keys included, lifetimes and counters exported. */
	len = build(SADB_GET, s->pid, &pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), 0);
	CU_ASSERT(next_msg(o, &m, buf) > 0);
	CU_ASSERT_EQUAL(m.hdr.sadb_msg_type, SADB_GET);
	unsigned bits;
	CU_ASSERT_TRUE(pfkey_has(&m, SADB_EXT_KEY_ENCRYPT));
	CU_ASSERT_EQUAL(memcmp(pfkey_get_key(&m, SADB_EXT_KEY_ENCRYPT, &bits), KEY16, 16), 0);
	CU_ASSERT_TRUE(pfkey_has(&m, SADB_EXT_LIFETIME_CURRENT));
	CU_ASSERT_TRUE(pfkey_has(&m, SADB_EXT_LIFETIME_HARD));
	CU_ASSERT_TRUE(pfkey_has(&m, SADB_X_EXT_COUNTER));
	struct sadb_lifetime lt;
	pfkey_get_lifetime(&m, SADB_EXT_LIFETIME_HARD, &lt);
	CU_ASSERT_EQUAL(lt.sadb_lifetime_bytes, 1000000);
	CU_ASSERT_EQUAL(lt.sadb_lifetime_addtime, 3600);
	while (pfkey_read(s, NULL, 0) >= 0)
		;

	/* DELETE, then DELETE and GET again: ESRCH. */
	len = build(SADB_DELETE, s->pid, &pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), 0);
	CU_ASSERT_EQUAL(n->ipsec->sad.count, 0);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), -ESRCH);
	len = build(SADB_GET, s->pid, &pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), -ESRCH);
	sim_free(sim);
}

static void test_getspi_then_update(void)
{
	struct sim *sim = sim_new(5);
	struct node *n = sim_add_node(sim, "n");
	struct pfkey_sock *s = pfkey_open(n);
	struct pfkey_buf pb;
	uint8_t buf[PFKEY_MSG_MAXSZ + 16];
	struct pfkey_msg m;
	struct ipaddr src = A("10.0.0.1"), dst = A("10.0.0.2");

	/* Rows: spirange -> result.  SPIs 1 to 255 are reserved (RFC 4303
	 * 2.1): a range that reaches below 256 starts at 256, so 1..256 can
	 * only give 256, and then nothing. */
	static const struct {
		uint32_t min, max;
		int rc;
	} rows[] = {{0x1000, 0x1fff, 0}, {1, 255, -EINVAL},         {0x2000, 0x1000, -EINVAL},
		    {0x5000, 0x5000, 0}, {0x5000, 0x5000, -EEXIST}, {0, 300, 0},
		    {1, 256, 0},         {0, 256, -EEXIST}};
	uint32_t first = 0;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		pfkb_init(&pb, SADB_GETSPI, SADB_SATYPE_ESP, (uint32_t)i, s->pid);
		pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
		pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
		pfkb_spirange(&pb, rows[i].min, rows[i].max);
		size_t len = pfkb_finish(&pb);
		int rc = pfkey_write(s, pb.b, len);
		CU_ASSERT_EQUAL(rc, rows[i].rc);
		if (rc == 0) {
			CU_ASSERT(next_msg(s, &m, buf) > 0);
			struct sadb_sa sa;
			pfkey_get_sa(&m, SADB_EXT_SA, &sa);
			uint32_t spi = get_be32((uint8_t *)&sa.sadb_sa_spi);
			CU_ASSERT(spi >= MAX(rows[i].min, 256u) && spi <= rows[i].max);
			CU_ASSERT_EQUAL(sa.sadb_sa_state, SADB_SASTATE_LARVAL);
			if (i == 0)
				first = spi;
		}
		while (pfkey_read(s, NULL, 0) >= 0)
			;
	}
	CU_ASSERT_EQUAL(n->ipsec->sad.count, 4);
	CU_ASSERT_PTR_NOT_NULL(sad_lookup(&n->ipsec->sad, &dst, 256, IPPROTO_ESP));
	struct tdb *t = sad_lookup(&n->ipsec->sad, &dst, first, IPPROTO_ESP);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_TRUE(t->flags & TDBF_INVALID);
	CU_ASSERT_EQUAL(t->embryonic_expire, 60 * NS_PER_SEC);

	/* UPDATE makes the embryonic SA whole. */
	pfkb_init(&pb, SADB_UPDATE, SADB_SATYPE_ESP, 9, s->pid);
	add_sa_exts(&pb, first, true);
	size_t len = pfkb_finish(&pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), 0);
	t = sad_lookup(&n->ipsec->sad, &dst, first, IPPROTO_ESP);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_FALSE(t->flags & TDBF_INVALID);
	CU_ASSERT_EQUAL(t->authkeylen, 20);
	CU_ASSERT_EQUAL(n->ipsec->sad.count, 4);
	/* A live SA refuses new keys ... */
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), -EINVAL);
	/* ... but takes new lifetimes. */
	pfkb_init(&pb, SADB_UPDATE, SADB_SATYPE_ESP, 10, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, first, 16, SADB_SASTATE_MATURE, SADB_AALG_SHA1HMAC,
		SADB_X_EALG_AES, 0);
	pfkb_lifetime(&pb, SADB_EXT_LIFETIME_HARD, 0, 0, 120, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	len = pfkb_finish(&pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), 0);
	CU_ASSERT_EQUAL(t->hard.addtime, 120);
	CU_ASSERT_TRUE(t->flags & TDBF_TIMER);
	CU_ASSERT_FALSE(t->flags & TDBF_BYTES);
	/* UPDATE of nothing: ESRCH. */
	pfkb_init(&pb, SADB_UPDATE, SADB_SATYPE_ESP, 11, s->pid);
	add_sa_exts(&pb, 0xdead, true);
	len = pfkb_finish(&pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), -ESRCH);
	sim_free(sim);
}

static int add_sa(struct pfkey_sock *s, uint8_t satype, uint32_t spi, uint8_t auth, uint8_t enc,
		  const uint8_t *akey, unsigned abits, const uint8_t *ekey, unsigned ebits)
{
	struct pfkey_buf pb;
	struct ipaddr src = A("10.0.0.1"), dst = A("10.0.0.2");
	pfkb_init(&pb, SADB_ADD, satype, 1, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, 0, SADB_SASTATE_MATURE, auth, enc, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	if (abits)
		pfkb_key(&pb, SADB_EXT_KEY_AUTH, akey, abits);
	if (ebits)
		pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, ekey, ebits);
	size_t len = pfkb_finish(&pb);
	int rc = pfkey_write(s, pb.b, len);
	while (pfkey_read(s, NULL, 0) >= 0)
		;
	return rc;
}

/* An SA is named by destination, SPI and protocol (RFC 4301 4.1): ESP and
 * AH may use the same SPI towards the same destination, and each lookup
 * finds its own.  Enough pairs that many share a hash bucket. */
static void test_one_spi_two_protocols(void)
{
	static const uint8_t K[20] = {7};
	struct sim *sim = sim_new(5);
	struct node *n = sim_add_node(sim, "n");
	struct pfkey_sock *s = pfkey_open(n);
	struct ipaddr dst = A("10.0.0.2");
	unsigned refused = 0, wrong = 0;
	for (uint32_t spi = 0x1000; spi < 0x1000 + 1000; spi++) {
		refused += add_sa(s, SADB_SATYPE_ESP, spi, SADB_AALG_SHA1HMAC, SADB_EALG_NULL, K,
				  160, NULL, 0) != 0;
		refused +=
		    add_sa(s, SADB_SATYPE_AH, spi, SADB_AALG_SHA1HMAC, 0, K, 160, NULL, 0) != 0;
	}
	for (uint32_t spi = 0x1000; spi < 0x1000 + 1000; spi++) {
		const struct tdb *e = sad_lookup(&n->ipsec->sad, &dst, spi, IPPROTO_ESP);
		const struct tdb *a = sad_lookup(&n->ipsec->sad, &dst, spi, IPPROTO_AH);
		wrong += !e || e->sproto != IPPROTO_ESP || e->spi != spi;
		wrong += !a || a->sproto != IPPROTO_AH || a->spi != spi;
	}
	CU_ASSERT_EQUAL(refused, 0);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(n->ipsec->sad.count, 2000);
	sim_free(sim);
}

static void test_algorithms_and_keys(void)
{
	static const uint8_t K[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	/* Rows: what tdb_init accepts (reference 2.1 and 2.2). */
	static const struct {
		const char *what;
		uint8_t satype, auth, enc;
		unsigned abits, ebits;
		int rc;
	} rows[] = {
	    {"aes-128 + sha1", SADB_SATYPE_ESP, SADB_AALG_SHA1HMAC, SADB_X_EALG_AES, 160, 128, 0},
	    {"aes-256 + sha2-512", SADB_SATYPE_ESP, SADB_X_AALG_SHA2_512, SADB_X_EALG_AES, 512, 256,
	     0},
	    {"aes with a 17-byte key", SADB_SATYPE_ESP, 0, SADB_X_EALG_AES, 0, 136, -EINVAL},
	    {"aes with 20 bytes", SADB_SATYPE_ESP, 0, SADB_X_EALG_AES, 0, 160, -EINVAL},
	    {"sha1 with 16 bytes", SADB_SATYPE_ESP, SADB_AALG_SHA1HMAC, SADB_X_EALG_AES, 128, 128,
	     -EINVAL},
	    {"3des with 24 bytes", SADB_SATYPE_ESP, SADB_AALG_MD5HMAC, SADB_EALG_3DESCBC, 128, 192,
	     0},
	    {"3des with 16 bytes", SADB_SATYPE_ESP, 0, SADB_EALG_3DESCBC, 0, 128, -EINVAL},
	    {"aes-ctr 160 bits", SADB_SATYPE_ESP, SADB_AALG_SHA1HMAC, SADB_X_EALG_AESCTR, 160, 160,
	     0},
	    {"aes-gcm-16 160 bits", SADB_SATYPE_ESP, 0, SADB_X_EALG_AESGCM16, 0, 160, 0},
	    {"aes-gcm-8: refused", SADB_SATYPE_ESP, 0, SADB_X_EALG_AESGCM8, 0, 160, -EINVAL},
	    {"aes-gcm 24 bytes", SADB_SATYPE_ESP, 0, SADB_X_EALG_AESGCM16, 0, 192, -EINVAL},
	    {"chacha20-poly1305", SADB_SATYPE_ESP, 0, SADB_X_EALG_CHACHA20POLY1305, 0, 288, 0},
	    {"null + sha2-256", SADB_SATYPE_ESP, SADB_X_AALG_SHA2_256, SADB_EALG_NULL, 256, 0, 0},
	    {"neither cipher nor hash", SADB_SATYPE_ESP, 0, 0, 0, 0, -EINVAL},
	    {"gmac as a standalone hash", SADB_SATYPE_ESP, SADB_X_AALG_AES128GMAC, SADB_EALG_NULL,
	     160, 0, -EINVAL},
	    {"ah sha2-384", SADB_SATYPE_AH, SADB_X_AALG_SHA2_384, 0, 384, 0, 0},
	    {"ah with a cipher", SADB_SATYPE_AH, SADB_AALG_SHA1HMAC, SADB_X_EALG_AES, 160, 128,
	     -EINVAL},
	    {"ah without a hash", SADB_SATYPE_AH, 0, 0, 0, 0, -EINVAL},
	    {"ipcomp deflate", SADB_X_SATYPE_IPCOMP, 0, SADB_X_CALG_DEFLATE, 0, 0, 0},
	    {"ipcomp oui", SADB_X_SATYPE_IPCOMP, 0, SADB_X_CALG_OUI, 0, 0, -EINVAL},
	    {"ipip", SADB_X_SATYPE_IPIP, 0, 0, 0, 0, 0},
	    {"rsvp is not ours", SADB_SATYPE_RSVP, 0, 0, 0, 0, -EINVAL},
	    {"a key of 100 bits", SADB_SATYPE_ESP, 0, SADB_X_EALG_BLF, 0, 100, -EINVAL},
	};
	struct sim *sim = sim_new(1);
	struct node *n = sim_add_node(sim, "n");
	struct pfkey_sock *s = pfkey_open(n);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		size_t before = n->ipsec->sad.count;
		int rc = add_sa(s, rows[i].satype, 0x1000 + (uint32_t)i, rows[i].auth, rows[i].enc,
				K, rows[i].abits, K, rows[i].ebits);
		if (rc != rows[i].rc)
			fprintf(stderr, "\nalgorithm row %zu (%s): got %d\n", i + 1, rows[i].what,
				rc);
		CU_ASSERT_EQUAL(rc, rows[i].rc);
		CU_ASSERT_EQUAL(n->ipsec->sad.count, before + (rc == 0));
	}
	/* GCM's key length chose its GMAC. */
	struct ipaddr dst = A("10.0.0.2");
	struct tdb *t = sad_lookup(&n->ipsec->sad, &dst, 0x1000 + 8, IPPROTO_ESP);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->authalg, SADB_X_AALG_AES128GMAC);
	sim_free(sim);
}

static void test_flush_dump_register_promisc(void)
{
	static const uint8_t K[32] = {7};
	struct sim *sim = sim_new(1);
	struct node *n = sim_add_node(sim, "n");
	struct pfkey_sock *s = pfkey_open(n), *o = pfkey_open(n), *p = pfkey_open(n);
	struct pfkey_buf pb;
	uint8_t buf[PFKEY_MSG_MAXSZ + 16];
	struct pfkey_msg m;

	/* Promiscuous mode on p: an X_PROMISC header with satype 1. */
	pfkb_init(&pb, SADB_X_PROMISC, 1, 0, p->pid);
	CU_ASSERT_EQUAL(pfkey_write(p, pb.b, pfkb_finish(&pb)), 0);
	CU_ASSERT_TRUE(p->promisc);

	CU_ASSERT_EQUAL(add_sa(s, SADB_SATYPE_ESP, 0x100, SADB_AALG_SHA1HMAC, 0, K, 160, K, 0), 0);
	CU_ASSERT_EQUAL(add_sa(s, SADB_SATYPE_AH, 0x200, SADB_AALG_SHA1HMAC, 0, K, 160, K, 0), 0);
	CU_ASSERT_EQUAL(add_sa(s, SADB_SATYPE_ESP, 0x300, SADB_AALG_SHA1HMAC, 0, K, 160, K, 0), 0);
	/* p saw each ADD twice: wrapped (the input) and plain (the broadcast). */
	unsigned wrapped = 0, plain = 0;
	while (pfkey_read(p, buf, sizeof(buf)) > 0) {
		if (buf[1] == SADB_X_PROMISC)
			wrapped++;
		else
			plain++;
	}
	CU_ASSERT_EQUAL(wrapped, 3);
	CU_ASSERT_EQUAL(plain, 3);
	while (pfkey_read(o, NULL, 0) >= 0)
		;

	/* DUMP of ESP: two messages, to the asker only, the last with seq 0. */
	pfkb_init(&pb, SADB_DUMP, SADB_SATYPE_ESP, 77, s->pid);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), 0);
	uint32_t spis[2], seqs[2];
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(next_msg(s, &m, buf) > 0);
		struct sadb_sa sa;
		pfkey_get_sa(&m, SADB_EXT_SA, &sa);
		spis[i] = get_be32((uint8_t *)&sa.sadb_sa_spi);
		seqs[i] = m.hdr.sadb_msg_seq;
	}
	CU_ASSERT_EQUAL(pfkey_read(s, buf, sizeof(buf)), -EAGAIN);
	CU_ASSERT(spis[0] == 0x100 && spis[1] == 0x300); /* insertion order */
	CU_ASSERT(seqs[0] == 77 && seqs[1] == 0);
	CU_ASSERT_EQUAL(pfkey_read(o, buf, sizeof(buf)), -EAGAIN);

	/* FLUSH of AH leaves ESP; FLUSH of an unknown type is EINVAL; FLUSH
	 * UNSPEC empties the SAD and the SPD; then DUMP finds nothing. */
	pfkb_init(&pb, SADB_FLUSH, SADB_SATYPE_AH, 1, s->pid);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), 0);
	CU_ASSERT_EQUAL(n->ipsec->sad.count, 2);
	pfkb_init(&pb, SADB_FLUSH, SADB_SATYPE_RSVP, 1, s->pid);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), -EINVAL);
	size_t len = build(SADB_X_ADDFLOW, s->pid, &pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), 0);
	CU_ASSERT_EQUAL(n->ipsec->spd.count, 1);
	pfkb_init(&pb, SADB_FLUSH, SADB_SATYPE_UNSPEC, 1, s->pid);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), 0);
	CU_ASSERT_EQUAL(n->ipsec->sad.count, 0);
	CU_ASSERT_EQUAL(n->ipsec->spd.count, 0);
	pfkb_init(&pb, SADB_DUMP, SADB_SATYPE_UNSPEC, 2, s->pid);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), -ENOENT);

	/* REGISTER: the socket is registered for ESP, and gets the lists. */
	while (pfkey_read(s, NULL, 0) >= 0)
		;
	pfkb_init(&pb, SADB_REGISTER, SADB_SATYPE_ESP, 3, s->pid);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), 0);
	CU_ASSERT_TRUE(s->registered);
	CU_ASSERT_EQUAL(s->reg_mask, 1u << SADB_SATYPE_ESP);
	CU_ASSERT_FATAL(next_msg(s, &m, buf) > 0);
	struct sadb_alg algs[8];
	CU_ASSERT_EQUAL(pfkey_get_supported(&m, SADB_EXT_SUPPORTED_ENCRYPT, algs, 8), 6);
	CU_ASSERT_EQUAL(algs[4].sadb_alg_id, SADB_X_EALG_AES);
	CU_ASSERT_EQUAL(algs[4].sadb_alg_minbits, 128);
	CU_ASSERT_EQUAL(algs[4].sadb_alg_maxbits, 256);
	CU_ASSERT_EQUAL(pfkey_get_supported(&m, SADB_EXT_SUPPORTED_AUTH, algs, 8), 6);
	CU_ASSERT_EQUAL(pfkey_get_supported(&m, SADB_X_EXT_SUPPORTED_COMP, algs, 8), 1);
	/* ASKPOLICY with no pending acquire: ESRCH. */
	pfkb_init(&pb, SADB_X_ASKPOLICY, 0, 4, s->pid);
	pfkb_policy(&pb, 1);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), -ESRCH);
	sim_free(sim);
}

static void flow_msg(struct pfkey_buf *pb, uint8_t type, uint32_t pid, const char *src,
		     unsigned splen, const char *dst, unsigned dplen, uint8_t ftype, bool is_static)
{
	pfkb_init(pb, type, SADB_SATYPE_ESP, 1, pid);
	add_flow_exts_flags(pb, src, splen, dst, dplen, ftype,
			    is_static ? SADB_X_POLICYFLAGS_POLICY : 0);
	pfkb_finish(pb);
}

static void test_flows(void)
{
	struct sim *sim = sim_new(1);
	struct node *n = sim_add_node(sim, "n");
	struct pfkey_sock *s = pfkey_open(n);
	struct pfkey_buf pb;
	struct spd *spd = &ipsec_state(n)->spd;

	flow_msg(&pb, SADB_X_ADDFLOW, s->pid, "10.1.0.0", 16, "10.2.0.0", 16,
		 SADB_X_FLOW_TYPE_REQUIRE, true);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pb.len), 0);
	flow_msg(&pb, SADB_X_ADDFLOW, s->pid, "10.1.2.0", 24, "10.2.0.0", 16,
		 SADB_X_FLOW_TYPE_BYPASS, true);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pb.len), 0);
	CU_ASSERT_EQUAL(spd->count, 2);
	/* A dynamic request does not replace a static flow: silently ignored. */
	flow_msg(&pb, SADB_X_ADDFLOW, s->pid, "10.1.0.0", 16, "10.2.0.0", 16, SADB_X_FLOW_TYPE_DENY,
		 false);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pb.len), 0);
	CU_ASSERT_EQUAL(spd->count, 2);
	/* Lookups: the /24 is more specific than the /16 for 10.1.2.x. */
	struct spd_sel p = {.dir = IPSP_DIRECTION_OUT, .proto = 17, .sport = 5, .dport = 53};
	p.src = A("10.1.2.3");
	p.dst = A("10.2.9.9");
	struct spd_flow *f = spd_lookup(spd, &p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->type, IPSP_PERMIT);
	p.src = A("10.1.3.3");
	f = spd_lookup(spd, &p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->type, IPSP_IPSEC_REQUIRE);
	p.dir = IPSP_DIRECTION_IN; /* direction is part of the key */
	CU_ASSERT_PTR_NULL(spd_lookup(spd, &p));
	/* DELFLOW removes exactly one; of a missing flow, ESRCH. */
	flow_msg(&pb, SADB_X_DELFLOW, s->pid, "10.1.2.0", 24, "10.2.0.0", 16,
		 SADB_X_FLOW_TYPE_BYPASS, true);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pb.len), 0);
	CU_ASSERT_EQUAL(spd->count, 1);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pb.len), -ESRCH);
	/* A non-contiguous mask is EINVAL. */
	flow_msg(&pb, SADB_X_ADDFLOW, s->pid, "10.1.0.0", 16, "10.2.0.0", 16,
		 SADB_X_FLOW_TYPE_REQUIRE, true);
	uint8_t *mask = pb.b + 16 + 8 + 4; /* SRC_MASK's sin_addr: the first extension */
	CU_ASSERT_EQUAL(pb.b[16 + 2], SADB_X_EXT_SRC_MASK);
	mask[1] = 0x0f; /* 255.15.0.0 */
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pb.len), -EINVAL);
	sim_free(sim);
}

static void test_spd_specificity_table(void)
{
	/* Rows: flows (src/plen dst/plen proto sport dport) added in order;
	 * then packets and the index of the flow that must win. */
	static const struct {
		const char *src;
		unsigned splen;
		const char *dst;
		unsigned dplen;
		uint8_t proto;
		uint16_t sport, dport;
	} flows[] = {
	    {"0.0.0.0", 0, "0.0.0.0", 0, 0, 0, 0},       /* 0: everything */
	    {"10.0.0.0", 8, "0.0.0.0", 0, 0, 0, 0},      /* 1 */
	    {"10.0.0.0", 8, "192.168.0.0", 16, 0, 0, 0}, /* 2 */
	    {"10.1.0.0", 16, "0.0.0.0", 0, 0, 0, 0},     /* 3: longer src beats longer dst */
	    {"10.1.0.0", 16, "0.0.0.0", 0, 17, 0, 0},    /* 4: proto set */
	    {"10.1.0.0", 16, "0.0.0.0", 0, 17, 0, 53},   /* 5: dport set */
	    {"10.1.0.0", 16, "0.0.0.0", 0, 17, 1000, 0}, /* 6: sport set */
	};
	static const struct {
		const char *src, *dst;
		uint8_t proto;
		uint16_t sport, dport;
		int want;
	} pkts[] = {
	    {"11.0.0.1", "1.1.1.1", 6, 1, 2, 0},      {"10.9.0.1", "1.1.1.1", 6, 1, 2, 1},
	    {"10.9.0.1", "192.168.3.4", 6, 1, 2, 2},  {"10.1.0.1", "192.168.3.4", 6, 1, 2, 3},
	    {"10.1.0.1", "1.1.1.1", 17, 7, 7, 4},     {"10.1.0.1", "1.1.1.1", 17, 7, 53, 5},
	    {"10.1.0.1", "1.1.1.1", 17, 1000, 53, 6}, {"10.1.0.1", "1.1.1.1", 6, 1000, 53, 3},
	};
	struct spd spd = {0};
	struct spd_flow *made[ARRAY_LEN(flows)];
	for (size_t i = 0; i < ARRAY_LEN(flows); i++) {
		struct spd_flow *f = xcalloc(1, sizeof(*f));
		f->sel.dir = IPSP_DIRECTION_OUT;
		f->sel.src = A(flows[i].src);
		f->sel.dst = A(flows[i].dst);
		f->sel.proto = flows[i].proto;
		f->sel.sport = flows[i].sport;
		f->sel.dport = flows[i].dport;
		f->mask = (struct spd_mask){(uint8_t)flows[i].splen, (uint8_t)flows[i].dplen,
					    flows[i].proto != 0, flows[i].sport != 0,
					    flows[i].dport != 0};
		spd_sel_apply(&f->sel, &f->mask);
		spd_insert(&spd, f);
		made[i] = f;
	}
	for (size_t i = 0; i < ARRAY_LEN(pkts); i++) {
		struct spd_sel p = {.dir = IPSP_DIRECTION_OUT,
				    .proto = pkts[i].proto,
				    .sport = pkts[i].sport,
				    .dport = pkts[i].dport};
		p.src = A(pkts[i].src);
		p.dst = A(pkts[i].dst);
		struct spd_flow *f = spd_lookup(&spd, &p);
		if (f != made[pkts[i].want])
			fprintf(stderr, "\nspd row %zu: wrong flow\n", i + 1);
		CU_ASSERT_PTR_EQUAL(f, made[pkts[i].want]);
	}
	/* An IPv6 packet matches no IPv4 flow, not even 0/0. */
	struct spd_sel v6 = {.dir = IPSP_DIRECTION_OUT};
	v6.src = A("2001:db8::1");
	v6.dst = A("2001:db8::2");
	CU_ASSERT_PTR_NULL(spd_lookup(&spd, &v6));
	spd_flush(&spd);
	CU_ASSERT_EQUAL(spd.count, 0);
}

static struct spd_flow *host_flow(struct spd *spd, uint8_t dir, uint32_t src, unsigned splen)
{
	uint8_t b[4];
	put_be32(b, src);
	struct spd_flow *f = xcalloc(1, sizeof(*f));
	f->sel.dir = dir;
	f->sel.src = addr_v4(b);
	f->sel.dst = A("0.0.0.0");
	f->mask = (struct spd_mask){(uint8_t)splen, 0, false, false, false};
	spd_sel_apply(&f->sel, &f->mask);
	spd_insert(spd, f);
	return f;
}

static struct spd_flow *lookup_src(struct spd *spd, uint8_t dir, uint32_t src)
{
	uint8_t b[4];
	put_be32(b, src);
	struct spd_sel p = {.dir = dir, .proto = 1};
	p.src = addr_v4(b);
	p.dst = A("192.0.2.1");
	return spd_lookup(spd, &p);
}

/* More shapes than a lookup prefetches at once, and a table emptied by
 * removals in the middle of its probe runs. */
static void test_spd_shapes_and_removal(void)
{
	struct spd spd = {0};
	enum { HOST = 0x0a010203 }; /* 10.1.2.3 */
	struct spd_flow *by_plen[33] = {0};
	for (unsigned plen = 8; plen <= 32; plen++)
		by_plen[plen] = host_flow(&spd, IPSP_DIRECTION_OUT, HOST, plen);
	struct spd_flow *in = host_flow(&spd, IPSP_DIRECTION_IN, HOST, 32);
	CU_ASSERT_EQUAL(spd.nclasses, 26);
	CU_ASSERT_PTR_EQUAL(lookup_src(&spd, IPSP_DIRECTION_OUT, HOST), by_plen[32]);
	CU_ASSERT_PTR_EQUAL(lookup_src(&spd, IPSP_DIRECTION_IN, HOST), in);
	/* Flipping bit q (1 = the top one) leaves only the prefixes shorter
	 * than q: the winner is the flow of length q - 1, the 33 - q'th shape. */
	unsigned wrong = 0;
	for (unsigned q = 9; q <= 32; q++)
		wrong +=
		    lookup_src(&spd, IPSP_DIRECTION_OUT, HOST ^ 1u << (32 - q)) != by_plen[q - 1];
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_PTR_NULL(lookup_src(&spd, IPSP_DIRECTION_OUT, 0x0b010203));
	spd_flush(&spd);
	CU_ASSERT_EQUAL(spd.nclasses, 0);

	/* 3,000 hosts in one shape; every third removed (the table's runs close
	 * up behind each removal); each removed host falls to the default. */
	struct spd_flow *dflt = host_flow(&spd, IPSP_DIRECTION_OUT, 0, 0);
	enum { N = 3000 };
	struct spd_flow **hosts = xcalloc(N, sizeof(*hosts));
	for (uint32_t i = 0; i < N; i++)
		hosts[i] = host_flow(&spd, IPSP_DIRECTION_OUT, 0x0a000000 + i * 7, 32);
	for (uint32_t i = 0; i < N; i += 3) {
		spd_remove(&spd, hosts[i]);
		spd_flow_free(hosts[i]);
	}
	CU_ASSERT_EQUAL(spd.count, 1 + N - N / 3);
	wrong = 0;
	for (uint32_t i = 0; i < N; i++) {
		struct spd_flow *f = lookup_src(&spd, IPSP_DIRECTION_OUT, 0x0a000000 + i * 7);
		wrong += f != (i % 3 ? hosts[i] : dflt);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	for (uint32_t i = 1; i < N; i++)
		if (i % 3)
			CU_ASSERT_PTR_EQUAL(spd_find(&spd, &hosts[i]->sel, &hosts[i]->mask),
					    hosts[i]);
	free(hosts);
	spd_flush(&spd);
}

static struct tdb *sa_new(struct sad *sad, const char *dst, uint32_t spi, uint8_t sproto)
{
	struct tdb *t = xcalloc(1, sizeof(*t));
	t->dst = A(dst);
	t->spi = spi;
	t->sproto = sproto;
	CU_ASSERT_EQUAL(sad_insert(sad, t), 0);
	return t;
}

/* The SAD at thousands of SAs: ESP and AH SAs with the same destination and
 * SPI, removals from the middle of probe runs and of destination chains. */
static void test_sad_table(void)
{
	static const char *dsts[] = {"192.0.2.1", "192.0.2.2", "2001:db8::1"};
	struct sad sad = {0};
	enum { N = 3000 };
	struct tdb **esp = xcalloc(N, sizeof(*esp)), **ah = xcalloc(N, sizeof(*ah));
	for (uint32_t i = 0; i < N; i++) {
		esp[i] = sa_new(&sad, dsts[i % 3], 256 + i, IPPROTO_ESP);
		if (i % 2 == 0)
			ah[i] = sa_new(&sad, dsts[i % 3], 256 + i, IPPROTO_AH);
	}
	struct tdb dup = {.dst = A(dsts[0]), .spi = 256, .sproto = IPPROTO_ESP};
	CU_ASSERT_EQUAL(sad_insert(&sad, &dup), -1);
	/* every fifth ESP SA goes, and the newest of each destination */
	for (uint32_t i = 0; i < N; i++)
		if (i % 5 == 0 || i >= N - 3) {
			sad_remove(&sad, esp[i]);
			tdb_free(esp[i]);
			esp[i] = NULL;
		}
	unsigned wrong = 0;
	for (uint32_t i = 0; i < N; i++) {
		struct ipaddr d = A(dsts[i % 3]);
		wrong += sad_lookup(&sad, &d, 256 + i, IPPROTO_ESP) != esp[i];
		wrong += sad_lookup(&sad, &d, 256 + i, IPPROTO_AH) != ah[i];
		wrong += sad_lookup(&sad, &d, 256 + i, IPPROTO_IPCOMP) != NULL;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	/* Each destination's chain: exactly its ESP SAs left, newest first. */
	for (unsigned k = 0; k < 3; k++) {
		struct ipaddr d = A(dsts[k]);
		uint32_t want = N;
		unsigned n = 0, left = 0;
		for (uint32_t i = k; i < N; i += 3)
			left += esp[i] != NULL;
		for (struct tdb *t = sad_first_to(&sad, &d, IPPROTO_ESP); t;
		     t = sad_next_to(t, &d, IPPROTO_ESP), n++) {
			do
				want--;
			while (want % 3 != k || !esp[want]);
			wrong += t != esp[want];
		}
		CU_ASSERT_EQUAL(n, left);
		CU_ASSERT_EQUAL(left, 1000 - 200 - 1);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	free(esp);
	free(ah);
	sad_flush(&sad, SADB_SATYPE_UNSPEC);
	CU_ASSERT_EQUAL(sad.count, 0);
	CU_ASSERT_PTR_NULL(sad.slots);
}

static void test_grpspis_and_bundles(void)
{
	static const uint8_t K[32] = {9};
	struct sim *sim = sim_new(1);
	struct node *n = sim_add_node(sim, "n");
	struct pfkey_sock *s = pfkey_open(n);
	struct pfkey_buf pb;
	CU_ASSERT_EQUAL(
	    add_sa(s, SADB_SATYPE_ESP, 0x2001, SADB_AALG_SHA1HMAC, SADB_X_EALG_AES, K, 160, K, 128),
	    0);
	size_t len = build(SADB_X_GRPSPIS, s->pid, &pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), -ESRCH); /* no AH 0x3001 yet */
	CU_ASSERT_EQUAL(add_sa(s, SADB_SATYPE_AH, 0x3001, SADB_AALG_SHA1HMAC, 0, K, 160, K, 0), 0);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), 0);
	struct ipaddr d = A("10.0.0.2");
	struct tdb *esp = sad_lookup(&n->ipsec->sad, &d, 0x2001, IPPROTO_ESP);
	struct tdb *ah = sad_lookup(&n->ipsec->sad, &d, 0x3001, IPPROTO_AH);
	CU_ASSERT_PTR_EQUAL(esp->onext, ah);
	CU_ASSERT_PTR_EQUAL(ah->inext, esp);
	/* Grouping back the other way would make a loop: ESRCH. */
	pfkb_init(&pb, SADB_X_GRPSPIS, SADB_SATYPE_AH, 1, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, 0x3001, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &d, 0);
	pfkb_sa(&pb, SADB_X_EXT_SA2, 0x2001, 0, SADB_SASTATE_MATURE, 0, 0, 0);
	pfkb_address(&pb, SADB_X_EXT_DST2, &d, 0);
	pfkb_protocol(&pb, SADB_X_EXT_SATYPE2, SADB_SATYPE_ESP, 0, 0);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), -ESRCH);
	/* Deleting one end unchains the other. */
	len = build(SADB_DELETE, s->pid, &pb);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), 0);
	CU_ASSERT_PTR_NULL(ah->inext);
	sim_free(sim);
}

static void test_expire_and_acquire_encoding(void)
{
	struct tdb t = {0};
	t.spi = 0x1234;
	t.satype = SADB_SATYPE_ESP;
	t.authalg = SADB_AALG_SHA1HMAC;
	t.encalg = SADB_X_EALG_AES;
	t.src = A("192.0.2.1");
	t.dst = A("192.0.2.2");
	t.soft.bytes = 1000;
	t.hard.bytes = 2000;
	t.cur_bytes = 1500;
	t.established = 5 * NS_PER_SEC;
	struct pfkey_buf pb;
	struct pfkey_msg m;
	pfkey_build_expire(&pb, &t, SADB_EXT_LIFETIME_SOFT, 99);
	size_t len = pfkb_finish(&pb);
	CU_ASSERT_EQUAL_FATAL(pfkey_parse(pb.b, len, PFKEY_OUT, 0, &m), 0);
	CU_ASSERT_EQUAL(m.hdr.sadb_msg_type, SADB_EXPIRE);
	CU_ASSERT_EQUAL(m.hdr.sadb_msg_seq, 99);
	CU_ASSERT_TRUE(pfkey_has(&m, SADB_EXT_LIFETIME_SOFT));
	CU_ASSERT_FALSE(pfkey_has(&m, SADB_EXT_LIFETIME_HARD));
	struct sadb_lifetime lt;
	pfkey_get_lifetime(&m, SADB_EXT_LIFETIME_SOFT, &lt);
	CU_ASSERT_EQUAL(lt.sadb_lifetime_bytes, 1000);
	pfkey_get_lifetime(&m, SADB_EXT_LIFETIME_CURRENT, &lt);
	CU_ASSERT_EQUAL(lt.sadb_lifetime_bytes, 1500);
	CU_ASSERT_EQUAL(lt.sadb_lifetime_addtime, 5);
	/* What a user may send back as an EXPIRE is exactly this shape. */
	CU_ASSERT_EQUAL(pfkey_required_in(SADB_EXPIRE) &
			    ~(PFKEY_BIT(SADB_EXT_SA) | PFKEY_BIT(SADB_EXT_ADDRESS_SRC) |
			      PFKEY_BIT(SADB_EXT_ADDRESS_DST)),
			0);

	struct pfkey_acquire_info a = {
	    .satype = SADB_SATYPE_ESP, .dstid = "gw2", .dstid_type = SADB_IDENTTYPE_FQDN};
	a.dst = A("192.0.2.2");
	a.comb.sadb_comb_encrypt = SADB_X_EALG_AES;
	a.comb.sadb_comb_encrypt_minbits = 128;
	a.comb.sadb_comb_encrypt_maxbits = 256;
	a.comb.sadb_comb_hard_addtime = 86400;
	pfkey_build_acquire(&pb, 5, &a);
	len = pfkb_finish(&pb);
	CU_ASSERT_EQUAL_FATAL(pfkey_parse(pb.b, len, PFKEY_OUT, 0, &m), 0);
	CU_ASSERT_FALSE(pfkey_has(&m, SADB_EXT_ADDRESS_SRC)); /* unknown: omitted */
	CU_ASSERT_TRUE(pfkey_has(&m, SADB_EXT_IDENTITY_DST));
	struct sadb_comb c[2];
	CU_ASSERT_EQUAL(pfkey_get_proposal(&m, c, 2), 1);
	CU_ASSERT_EQUAL(c[0].sadb_comb_hard_addtime, 86400);
	CU_ASSERT_EQUAL(c[0].sadb_comb_encrypt_maxbits, 256);
}

static void test_receive_buffer_bound(void)
{
	struct sim *sim = sim_new(1);
	struct node *n = sim_add_node(sim, "n");
	struct pfkey_sock *s = pfkey_open(n), *quiet = pfkey_open(n);
	struct pfkey_buf pb;
	size_t len = build(SADB_X_ADDFLOW, s->pid, &pb);
	/* quiet never reads: its 8192-byte buffer fills and the rest is dropped. */
	unsigned sent = 0;
	for (; sent < 100; sent++) {
		CU_ASSERT_EQUAL(pfkey_write(s, pb.b, len), 0);
		while (pfkey_read(s, NULL, 0) >= 0)
			;
	}
	CU_ASSERT_EQUAL(quiet->received, PFKEY_RCVBUF / len);
	CU_ASSERT_EQUAL(quiet->dropped, sent - PFKEY_RCVBUF / len);
	CU_ASSERT(quiet->rq_bytes <= PFKEY_RCVBUF);
	sim_free(sim);
}

void suite_pfkey(void)
{
	static const struct unit_test t[] = {
	    {"every message type round-trips", test_every_type_round_trips},
	    {"malformed variants of every type", test_malformed_variants},
	    {"field checks", test_field_checks},
	    {"ADD, GET, DELETE and delivery", test_add_get_delete},
	    {"GETSPI then UPDATE", test_getspi_then_update},
	    {"one SPI, two protocols", test_one_spi_two_protocols},
	    {"algorithms and key lengths", test_algorithms_and_keys},
	    {"FLUSH, DUMP, REGISTER, PROMISC", test_flush_dump_register_promisc},
	    {"flows", test_flows},
	    {"SPD specificity table", test_spd_specificity_table},
	    {"SPD shapes and removal", test_spd_shapes_and_removal},
	    {"SAD table", test_sad_table},
	    {"GRPSPIS and bundles", test_grpspis_and_bundles},
	    {"EXPIRE and ACQUIRE encoding", test_expire_and_acquire_encoding},
	    {"receive buffer bound", test_receive_buffer_bound},
	    {NULL, NULL}};
	unit_add_suite("pfkey", t);
}
