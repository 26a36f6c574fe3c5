/*
 * ESP input, one named failure at a time: hand-made ESP packets (sealed
 * with the SA's own transform, so only the field under test is wrong) go
 * through the node's IPv4 input, and each must end with exactly its
 * counter, and leave the replay window where a good packet left it.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "../../ipsec/pfkey.h"
#include "../../ipsec/pfkey_msg.h"
#include "../../ipsec/sad.h"
#include "../../ipsec/xform.h"
#include "../../stack/cksum.h"
#include "../../stack/ip4.h"
#include "../../stack/util.h"
#include "unit.h"

#define SPI 0x5000

struct bench {
	struct sim *sim;
	struct node *b;
	struct tdb *t;     /* b's inbound SA */
	struct tdb *wrong; /* the same SPI with other keys, on a scratch node */
};

static struct tdb *add(struct node *n, uint32_t spi, uint8_t kbyte, bool tunnel)
{
	struct pfkey_sock *s = pfkey_open(n);
	uint8_t ak[32], ek[16];
	memset(ak, kbyte, sizeof(ak));
	memset(ek, kbyte + 1, sizeof(ek));
	struct ipaddr src, dst;
	addr_parse("192.0.2.1", &src);
	addr_parse("192.0.2.2", &dst);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_ADD, SADB_SATYPE_ESP, 1, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, spi, 64, SADB_SASTATE_MATURE, SADB_X_AALG_SHA2_256,
		SADB_X_EALG_AES, tunnel ? SADB_X_SAFLAGS_TUNNEL : 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	pfkb_key(&pb, SADB_EXT_KEY_AUTH, ak, 256);
	pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, ek, 128);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), 0);
	pfkey_close(s);
	return sad_lookup(&n->ipsec->sad, &dst, spi, IPPROTO_ESP);
}

static void setup(struct bench *w, bool tunnel)
{
	w->sim = sim_new(3);
	w->b = unit_node(w->sim, "b", "192.0.2.2/24");
	w->t = add(w->b, SPI, 0x11, tunnel);
	struct node *x = unit_node(w->sim, "x", "198.51.100.9/24");
	w->wrong = add(x, SPI, 0x77, tunnel);
}

/* An IPv4 ICMP echo request from a to b, len bytes of data. */
static size_t echo(uint8_t *out, size_t len)
{
	uint8_t h[20] = {0x45, 0, 0, 0, 0, 7, 0, 0, 64, 1, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2};
	put_be16(h + 2, (uint16_t)(28 + len));
	put_be16(h + 10, in_cksum(h, 20));
	memcpy(out, h, 20);
	uint8_t *icmp = out + 20;
	memset(icmp, 0, 8 + len);
	icmp[0] = 8;
	put_be16(icmp + 4, 1);
	for (size_t i = 0; i < len; i++)
		icmp[8 + i] = (uint8_t)i;
	put_be16(icmp + 2, in_cksum(icmp, 8 + len));
	return 28 + len;
}

struct craft {
	uint32_t spi, seq;
	uint8_t nh;
	size_t tfc;       /* garbage after the payload */
	int padbyte;      /* >= 0: the last pad byte written as this */
	int padlen;       /* >= 0: the pad length byte written as this */
	int trim;         /* bytes cut from the end after sealing */
	bool whole_inner; /* the payload is a whole IP packet (tunnel mode) */
};

/* Seal an ESP packet with t's transform and hand it to b's IP input. */
static void deliver(struct bench *w, struct tdb *t, const struct craft *c)
{
	uint8_t inner[200], pt[400], frame[600];
	size_t ilen = echo(inner, 16);
	const uint8_t *payload = c->whole_inner ? inner : inner + 20;
	size_t plen = c->whole_inner ? ilen : ilen - 20;
	size_t n = 0;
	memcpy(pt, payload, plen);
	n = plen;
	memset(pt + n, 0xee, c->tfc);
	n += c->tfc;
	size_t pad = (16 - (n + 2) % 16) % 16;
	for (size_t i = 0; i < pad; i++)
		pt[n++] = (uint8_t)(i + 1);
	if (c->padbyte >= 0 && pad)
		pt[n - 1] = (uint8_t)c->padbyte;
	pt[n++] = (uint8_t)(c->padlen >= 0 ? c->padlen : (int)pad);
	pt[n++] = c->nh;
	/* IPv4 header, ESP header, IV, plaintext, ICV room */
	uint8_t *esp = frame + 20;
	put_be32(esp, c->spi);
	put_be32(esp + 4, c->seq);
	memset(esp + 8, 0x42, 16);
	memcpy(esp + 24, pt, n);
	CU_ASSERT_EQUAL(xform_esp_seal(t->xf, esp, n, false, 0), 0);
	size_t total = 20 + 24 + n + 16 - (size_t)c->trim;
	memcpy(frame, inner, 20);
	frame[9] = 50;
	put_be16(frame + 2, (uint16_t)total);
	put_be16(frame + 10, 0);
	put_be16(frame + 10, in_cksum(frame, 20));
	ip4_input(w->b, pkt_from(frame, total, PKT_HEADROOM));
	sim_run(w->sim, w->sim->now + NS_PER_SEC, NULL, NULL); /* replies, loops */
}

static struct craft ok(uint32_t seq)
{
	return (struct craft){.spi = SPI, .seq = seq, .nh = 1, .padbyte = -1, .padlen = -1};
}

#define STAT(w, s) ((w)->b->stats[STAT_##s])

static void test_each_failure_has_its_counter(void)
{
	struct bench w;
	setup(&w, false);
	struct craft c;

	c = ok(1);
	deliver(&w, w.t, &c);
	CU_ASSERT_EQUAL(STAT(&w, ICMP_INHIST_ECHO), 1);
	c = ok(1);
	deliver(&w, w.t, &c); /* the same sequence number again */
	CU_ASSERT_EQUAL(STAT(&w, ESP_REPLAY), 1);

	/* A packet under the wrong key fails its ICV and moves nothing: the
	 * right packet with the same number still passes. */
	c = ok(2);
	deliver(&w, w.wrong, &c);
	CU_ASSERT_EQUAL(STAT(&w, ESP_BADAUTH), 1);
	CU_ASSERT_EQUAL(w.t->replay.rpl, 1);
	c = ok(2);
	deliver(&w, w.t, &c);
	CU_ASSERT_EQUAL(STAT(&w, ICMP_INHIST_ECHO), 2);
	CU_ASSERT_EQUAL(w.t->replay.rpl, 2);

	c = ok(0);
	deliver(&w, w.t, &c);
	CU_ASSERT_EQUAL(STAT(&w, ESP_WRAP), 1);

	c = ok(3);
	c.padbyte = 0x7f; /* authentic, but the padding is not 1, 2, 3 ... */
	deliver(&w, w.t, &c);
	CU_ASSERT_EQUAL(STAT(&w, ESP_BADENC), 1);

	c = ok(4);
	c.padlen = 200; /* longer than the payload */
	deliver(&w, w.t, &c);
	CU_ASSERT_EQUAL(STAT(&w, ESP_BADILEN), 1);

	c = ok(5);
	c.trim = 1; /* not whole cipher blocks: refused before the ICV */
	deliver(&w, w.t, &c);
	CU_ASSERT_EQUAL(STAT(&w, ESP_BADILEN), 2);
	CU_ASSERT_EQUAL(STAT(&w, ESP_BADAUTH), 1);

	c = ok(6);
	c.nh = 59; /* RFC 4303 2.6: a dummy packet, dropped without a word */
	deliver(&w, w.t, &c);
	CU_ASSERT_EQUAL(STAT(&w, ESP_DUMMY), 1);
	CU_ASSERT_EQUAL(STAT(&w, ICMP_OUTHIST_UNREACH), 0);

	c = ok(7);
	c.spi = SPI + 1;
	deliver(&w, w.t, &c);
	CU_ASSERT_EQUAL(STAT(&w, ESP_NOTDB), 1);

	/* Ten packets in, seven of them dropped by ESP, each counted once
	 * more as ipsec.idrops; the dummy passed ESP (as in OpenBSD, where a
	 * raw socket may take it) and the IP layer discarded it. */
	CU_ASSERT_EQUAL(STAT(&w, ESP_INPUT), 10);
	CU_ASSERT_EQUAL(STAT(&w, IPSEC_IDROPS), 7);
	CU_ASSERT_EQUAL(STAT(&w, ICMP_INHIST_ECHO), 2);
	sim_free(w.sim);
}

/* RFC 4303 2: a packet must hold header, IV, at least one cipher block
 * and the ICV.  The echo seals to 32 bytes of ciphertext: cutting 32
 * leaves header, IV and exactly an ICV's length, 48 leaves header and IV
 * alone.  Each is refused for its length, before any ICV is computed over
 * bytes that are not there. */
static void test_too_short_for_its_icv(void)
{
	static const int trims[] = {32, 33, 40, 47, 48};
	struct bench w;
	setup(&w, false);
	for (unsigned i = 0; i < ARRAY_LEN(trims); i++) {
		struct craft c = ok(1 + i);
		c.trim = trims[i];
		deliver(&w, w.t, &c);
		CU_ASSERT_EQUAL(STAT(&w, ESP_BADILEN), i + 1);
	}
	CU_ASSERT_EQUAL(STAT(&w, ESP_BADAUTH), 0);
	CU_ASSERT_EQUAL(STAT(&w, ESP_INPUT), ARRAY_LEN(trims));
	CU_ASSERT_EQUAL(w.t->replay.rpl, 1);
	sim_free(w.sim);
}

static void test_larval_sa_is_invalid(void)
{
	struct sim *s = sim_new(3);
	struct node *b = unit_node(s, "b", "192.0.2.2/24");
	struct pfkey_sock *sock = pfkey_open(b);
	struct ipaddr src, dst;
	addr_parse("192.0.2.1", &src);
	addr_parse("192.0.2.2", &dst);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_GETSPI, SADB_SATYPE_ESP, 1, sock->pid);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	pfkb_spirange(&pb, 0x6000, 0x6000);
	CU_ASSERT_EQUAL(pfkey_write(sock, pb.b, pfkb_finish(&pb)), 0);
	uint8_t frame[64] = {0x45, 0, 0, 52, 0, 1, 0, 0, 64, 50, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2};
	put_be16(frame + 10, in_cksum(frame, 20));
	put_be32(frame + 20, 0x6000);
	put_be32(frame + 24, 1);
	ip4_input(b, pkt_from(frame, 52, PKT_HEADROOM));
	CU_ASSERT_EQUAL(b->stats[STAT_ESP_INVALID], 1);
	sim_free(s);
}

/* RFC 4303 2.7: traffic flow confidentiality padding after the inner
 * packet is accepted; the inner packet's own length says where it ends. */
static void test_tfc_padding_is_accepted(void)
{
	struct bench w;
	setup(&w, true);
	struct craft c = ok(1);
	c.nh = 4;
	c.whole_inner = true;
	c.tfc = 37;
	deliver(&w, w.t, &c);
	CU_ASSERT_EQUAL(STAT(&w, IPIP_IPACKETS), 1);
	CU_ASSERT_EQUAL(STAT(&w, ICMP_INHIST_ECHO), 1);
	CU_ASSERT_EQUAL(STAT(&w, IPSEC_IDROPS), 0);
	sim_free(w.sim);
}

void suite_esp(void)
{
	static const struct unit_test t[] = {
	    {"each failure has its counter", test_each_failure_has_its_counter},
	    {"too short for its ICV", test_too_short_for_its_icv},
	    {"a larval SA is invalid", test_larval_sa_is_invalid},
	    {"TFC padding is accepted", test_tfc_padding_is_accepted},
	    {NULL, NULL}};
	unit_add_suite("esp", t);
}

/* ---- AH and IPv4 options (reference 2.7) ---- */

#include <openssl/evp.h>

#include "../../ipsec/ah.h"
#include "../../ipsec/esp.h"
#include "../../ipsec/ipsec_ip.h"

static struct tdb *add_ah(struct node *n)
{
	struct pfkey_sock *s = pfkey_open(n);
	uint8_t ak[20];
	memset(ak, 0x5a, sizeof(ak));
	struct ipaddr src, dst;
	addr_parse("192.0.2.1", &src);
	addr_parse("192.0.2.2", &dst);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_ADD, SADB_SATYPE_AH, 1, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, 0x3000, 0, SADB_SASTATE_MATURE, SADB_AALG_SHA1HMAC, 0, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	pfkb_key(&pb, SADB_EXT_KEY_AUTH, ak, 160);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), 0);
	pfkey_close(s);
	return sad_lookup(&n->ipsec->sad, &dst, 0x3000, IPPROTO_AH);
}

/* An IPv4 header with options: NOP, router alert (immutable), a loose
 * source route whose last hop is 10.0.0.9 (mutable: zeroed, its final
 * address standing in for the destination), a timestamp (mutable), EOL. */
static const uint8_t opts[] = {1,    0x94, 4, 0, 0, 0x83, 7, 4, 10, 0, 0, 9,
			       0x44, 8,    5, 0, 0, 0,    0, 0, 0,  0, 0, 0};

static void test_ah_options(void)
{
	struct sim *s = sim_new(3);
	struct node *a = unit_node(s, "a", "192.0.2.1/24");
	struct tdb *t = add_ah(a);
	uint8_t pkt[200];
	size_t hl = 20 + sizeof(opts), len = hl + 12;
	uint8_t h[20] = {0x40 | (uint8_t)(hl / 4),
			 0x10,
			 0,
			 0,
			 0,
			 9,
			 0x40,
			 0,
			 33,
			 17,
			 0,
			 0,
			 192,
			 0,
			 2,
			 1,
			 192,
			 0,
			 2,
			 2};
	memcpy(pkt, h, 20);
	memcpy(pkt + 20, opts, sizeof(opts));
	memset(pkt + hl, 0x33, 12); /* a UDP-ish payload */
	put_be16(pkt + 2, (uint16_t)len);
	put_be16(pkt + 10, in_cksum(pkt, hl));
	struct pkt *p = pkt_from(pkt, len, PKT_HEADROOM);
	CU_ASSERT_EQUAL(ah_output(a, t, p), 0);

	/* The ICV by hand: RFC 4302 3.3.3.1.1 with OpenBSD's option rules. */
	uint8_t m[200];
	memcpy(m, p->data, p->len);
	m[1] = 0;                                    /* TOS */
	m[6] = m[7] = 0;                             /* flags, offset */
	m[8] = 0;                                    /* TTL */
	m[10] = m[11] = 0;                           /* checksum */
	memcpy(m + 16, (uint8_t[]){10, 0, 0, 9}, 4); /* LSRR's final address */
	memset(m + 25, 0, 7);                        /* LSRR */
	memset(m + 32, 0, 8);                        /* timestamp */
	memset(m + hl + 12, 0, 12);                  /* the ICV itself */
	uint8_t key[20], md[20];
	memset(key, 0x5a, sizeof(key));
	size_t mdlen = 0;
	CU_ASSERT_PTR_NOT_NULL(EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, key, 20, m, p->len, md,
					 sizeof(md), &mdlen));
	CU_ASSERT_EQUAL(memcmp(p->data + hl + 12, md, 12), 0);
	/* The router alert and the payload stay where they were. */
	CU_ASSERT_EQUAL(p->data[21], 0x94);
	CU_ASSERT_EQUAL(p->data[9], IPPROTO_AH);

	/* In transit the TTL and the timestamp change: still authentic.  A
	 * changed router alert is not. */
	struct tdb *in = t; /* the same SA, received */
	uint64_t before = in->replay.rpl;
	for (int k = 0; k < 3; k++) {
		struct pkt *q = pkt_clone(p);
		q->data[8] = 7;
		/* It arrives at the source route's end: that is its destination
		 * now, and the route's slots have changed (they are zeroed). */
		memcpy(q->data + 16, (uint8_t[]){10, 0, 0, 9}, 4);
		q->data[27] = 8;
		memcpy(q->data + 28, (uint8_t[]){192, 0, 2, 2}, 4);
		if (k == 1)
			q->data[36] = 0xaa; /* inside the timestamp */
		if (k == 2)
			q->data[23] ^= 1; /* inside the router alert */
		put_be16(q->data + 10, 0);
		put_be16(q->data + 10, in_cksum(q->data, hl));
		struct ipsec_ip iph = {.af = ADDR_V4, .skip = hl, .protoff = 9};
		int nh = ah_input(a, in, q, &iph);
		CU_ASSERT_EQUAL(nh, k < 2 ? 17 : -1);
		if (nh >= 0)
			pkt_free(q); /* dropped packets are freed by the stack */
	}
	CU_ASSERT_EQUAL(a->stats[STAT_AH_BADAUTH], 1);
	CU_ASSERT_EQUAL(in->replay.rpl, before);
	pkt_free(p);
	sim_free(s);
}

/* An AH packet cut anywhere inside its ICV (or its ICV gone entirely)
 * still says, in its length field, that the whole ICV is there: it is
 * refused by that length (ah.badauthl) before anything is read past its
 * end or computed. */
static void test_ah_cut_short(void)
{
	struct sim *s = sim_new(3);
	struct node *a = unit_node(s, "a", "192.0.2.1/24");
	struct node *b = unit_node(s, "b", "192.0.2.2/24");
	struct tdb *out = add_ah(a);
	add_ah(b);
	uint8_t inner[200];
	size_t ilen = echo(inner, 0); /* ICMP ends the packet: 8 bytes */
	struct pkt *p = pkt_from(inner, ilen, PKT_HEADROOM);
	CU_ASSERT_EQUAL_FATAL(ah_output(a, out, p), 0);
	/* IP 20, AH 12 + 12 of ICV, ICMP 8: cut 9 to 20 bytes */
	CU_ASSERT_EQUAL_FATAL(p->len, 20 + 24 + 8);
	unsigned n = 0;
	for (size_t cut = 9; cut <= 20; cut++, n++) {
		uint8_t buf[64];
		size_t len = p->len - cut;
		memcpy(buf, p->data, len);
		put_be16(buf + 2, (uint16_t)len);
		put_be16(buf + 10, 0);
		put_be16(buf + 10, in_cksum(buf, 20));
		ip4_input(b, pkt_from(buf, len, PKT_HEADROOM));
	}
	CU_ASSERT_EQUAL(b->stats[STAT_AH_BADAUTHL], n);
	CU_ASSERT_EQUAL(b->stats[STAT_AH_BADAUTH], 0);
	CU_ASSERT_EQUAL(b->stats[STAT_AH_INPUT], n);
	/* The whole packet passes. */
	ip4_input(b, p);
	sim_run(s, s->now + NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(b->stats[STAT_ICMP_INHIST_ECHO], 1);
	sim_free(s);
}

void suite_ah(void)
{
	static const struct unit_test t[] = {{"IPv4 options in the ICV", test_ah_options},
					     {"cut short inside its ICV", test_ah_cut_short},
					     {NULL, NULL}};
	unit_add_suite("ah", t);
}

/* Mangled ESP and AH packets (bytes flipped, cut, lengthened) never crash
 * the input path, and each ends counted: delivered, or dropped by name. */
static void test_mangled_ipsec_input(void)
{
	struct bench w;
	setup(&w, false);
	struct tdb *ah = add_ah(w.b);
	struct rng r;
	rng_seed(&r, 4302, "mangle");
	uint8_t good[2][600];
	size_t glen[2];
	/* One good ESP packet and one good AH packet to start from. */
	uint8_t inner[200];
	size_t ilen = echo(inner, 40);
	struct node *a = unit_node(w.sim, "a", "192.0.2.1/24");
	struct tdb *ta = add(a, SPI, 0x11, false), *aha = add_ah(a);
	for (int k = 0; k < 2; k++) {
		struct pkt *p = pkt_from(inner, ilen, PKT_HEADROOM);
		CU_ASSERT_EQUAL(k ? ah_output(a, aha, p) : esp_output(a, ta, p), 0);
		memcpy(good[k], p->data, p->len);
		glen[k] = p->len;
		pkt_free(p);
	}
	(void)ah;
	uint64_t before = w.b->stats[STAT_IP_TOTAL];
	unsigned rounds = 20000;
	for (unsigned i = 0; i < rounds; i++) {
		int k = (int)(i & 1);
		uint8_t buf[700];
		size_t len = glen[k];
		memcpy(buf, good[k], len);
		switch (rng_below(&r, 4)) {
		case 0: /* flip bytes after the IP header */
			for (int j = 0, n = 1 + (int)rng_below(&r, 4); j < n; j++)
				buf[20 + rng_below(&r, len - 20)] ^=
				    (uint8_t)(1 + rng_below(&r, 255));
			break;
		case 1: /* cut, and say so in the IP header */
			len = 20 + rng_below(&r, len - 20);
			break;
		case 2: /* lengthen with junk */
			for (size_t e = len + rng_below(&r, 64); len < e; len++)
				buf[len] = (uint8_t)rng_next(&r);
			break;
		default: /* a field of the ESP or AH header set at random */
			put_be32(buf + 20 + 4 * rng_below(&r, 3), (uint32_t)rng_next(&r));
			break;
		}
		put_be16(buf + 2, (uint16_t)len);
		put_be16(buf + 10, 0);
		put_be16(buf + 10, in_cksum(buf, 20));
		ip4_input(w.b, pkt_from(buf, len, PKT_HEADROOM));
	}
	sim_run(w.sim, w.sim->now + NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(w.b->stats[STAT_IP_TOTAL] - before, rounds);
	/* Every packet reached ESP or AH input (none is malformed as IP). */
	CU_ASSERT_EQUAL(w.b->stats[STAT_ESP_INPUT] + w.b->stats[STAT_AH_INPUT], rounds);
	sim_free(w.sim);
}

/* ---- Every byte of every ICV (RFC 4303 3.4.4, RFC 4302 3.4.4) ---- */

struct icv_case {
	const char *name;
	uint8_t satype, enc, auth;
	uint8_t eklen, aklen; /* bytes; an AEAD's nonce is in eklen */
};

static const struct icv_case icv_cases[] = {
    {"esp aes-cbc hmac-md5", SADB_SATYPE_ESP, SADB_X_EALG_AES, SADB_AALG_MD5HMAC, 16, 16},
    {"esp aes-cbc hmac-sha1", SADB_SATYPE_ESP, SADB_X_EALG_AES, SADB_AALG_SHA1HMAC, 16, 20},
    {"esp aes-cbc hmac-ripemd160", SADB_SATYPE_ESP, SADB_X_EALG_AES, SADB_X_AALG_RIPEMD160HMAC, 16,
     20},
    {"esp aes-cbc hmac-sha2-256", SADB_SATYPE_ESP, SADB_X_EALG_AES, SADB_X_AALG_SHA2_256, 16, 32},
    {"esp aes-cbc hmac-sha2-384", SADB_SATYPE_ESP, SADB_X_EALG_AES, SADB_X_AALG_SHA2_384, 16, 48},
    {"esp aes-cbc hmac-sha2-512", SADB_SATYPE_ESP, SADB_X_EALG_AES, SADB_X_AALG_SHA2_512, 16, 64},
    {"esp null hmac-sha1", SADB_SATYPE_ESP, SADB_EALG_NULL, SADB_AALG_SHA1HMAC, 0, 20},
    {"esp aes-128-gcm", SADB_SATYPE_ESP, SADB_X_EALG_AESGCM16, 0, 20, 0},
    {"esp aes-256-gcm", SADB_SATYPE_ESP, SADB_X_EALG_AESGCM16, 0, 36, 0},
    {"esp aes-128-gmac", SADB_SATYPE_ESP, SADB_X_EALG_AESGMAC, 0, 20, 0},
    {"esp aes-256-gmac", SADB_SATYPE_ESP, SADB_X_EALG_AESGMAC, 0, 36, 0},
    {"esp chacha20-poly1305", SADB_SATYPE_ESP, SADB_X_EALG_CHACHA20POLY1305, 0, 36, 0},
    {"ah hmac-md5", SADB_SATYPE_AH, 0, SADB_AALG_MD5HMAC, 0, 16},
    {"ah hmac-sha1", SADB_SATYPE_AH, 0, SADB_AALG_SHA1HMAC, 0, 20},
    {"ah hmac-ripemd160", SADB_SATYPE_AH, 0, SADB_X_AALG_RIPEMD160HMAC, 0, 20},
    {"ah hmac-sha2-256", SADB_SATYPE_AH, 0, SADB_X_AALG_SHA2_256, 0, 32},
    {"ah hmac-sha2-384", SADB_SATYPE_AH, 0, SADB_X_AALG_SHA2_384, 0, 48},
    {"ah hmac-sha2-512", SADB_SATYPE_AH, 0, SADB_X_AALG_SHA2_512, 0, 64},
};

/* The case's SA from 192.0.2.1 to 192.0.2.2, keyed the same on every node. */
static struct tdb *add_case(struct node *n, const struct icv_case *c)
{
	struct pfkey_sock *s = pfkey_open(n);
	uint8_t ek[64], ak[64];
	for (unsigned i = 0; i < sizeof(ek); i++) {
		ek[i] = (uint8_t)(0x40 + i);
		ak[i] = (uint8_t)(0x90 + i);
	}
	struct ipaddr src, dst;
	addr_parse("192.0.2.1", &src);
	addr_parse("192.0.2.2", &dst);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_ADD, c->satype, 1, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, 0x7000, 64, SADB_SASTATE_MATURE, c->auth, c->enc, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	if (c->aklen)
		pfkb_key(&pb, SADB_EXT_KEY_AUTH, ak, c->aklen * 8u);
	if (c->eklen)
		pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, ek, c->eklen * 8u);
	CU_ASSERT_EQUAL(pfkey_write(s, pb.b, pfkb_finish(&pb)), 0);
	pfkey_close(s);
	return sad_lookup(&n->ipsec->sad, &dst, 0x7000,
			  c->satype == SADB_SATYPE_AH ? IPPROTO_AH : IPPROTO_ESP);
}

/* Each byte of the ICV changed (its lowest bit, then its highest) must fail
 * the comparison: badauth rises by exactly one, nothing is delivered, and
 * the window does not move, so the untouched packet still passes after
 * all of them.  A comparison that skips a byte or a bit fails here. */
static void test_every_icv_byte(void)
{
	for (size_t k = 0; k < ARRAY_LEN(icv_cases); k++) {
		const struct icv_case *c = &icv_cases[k];
		bool esp = c->satype == SADB_SATYPE_ESP;
		struct sim *s = sim_new(3);
		struct node *a = unit_node(s, "a", "192.0.2.1/24");
		struct node *b = unit_node(s, "b", "192.0.2.2/24");
		struct tdb *out = add_case(a, c), *in = add_case(b, c);
		CU_ASSERT_PTR_NOT_NULL_FATAL(out);
		CU_ASSERT_PTR_NOT_NULL_FATAL(in);
		uint8_t inner[200];
		size_t ilen = echo(inner, 40);
		struct pkt *p = pkt_from(inner, ilen, PKT_HEADROOM);
		CU_ASSERT_EQUAL_FATAL(esp ? esp_output(a, out, p) : ah_output(a, out, p), 0);
		size_t icvlen = xform_icvlen(out->xf);
		/* ESP's ICV ends the packet; AH's follows its 12 fixed bytes. */
		size_t at = esp ? p->len - icvlen : 20 + 12;
		enum stat_id badauth = esp ? STAT_ESP_BADAUTH : STAT_AH_BADAUTH;
		unsigned missed = 0;
		for (size_t i = 0; i < icvlen; i++)
			for (int bit = 0; bit < 2; bit++) {
				uint64_t before = b->stats[badauth];
				struct pkt *q = pkt_clone(p);
				q->data[at + i] ^= bit ? 0x80 : 0x01;
				ip4_input(b, q);
				if (b->stats[badauth] != before + 1) {
					fprintf(stderr, "\n%s: ICV byte %zu ^ %#x not refused\n",
						c->name, i, bit ? 0x80 : 0x01);
					missed++;
				}
			}
		sim_run(s, s->now + NS_PER_SEC, NULL, NULL);
		CU_ASSERT_EQUAL(missed, 0);
		CU_ASSERT_EQUAL(b->stats[badauth], 2 * icvlen);
		CU_ASSERT_EQUAL(b->stats[STAT_ICMP_INHIST_ECHO], 0);
		ip4_input(b, p);
		sim_run(s, s->now + NS_PER_SEC, NULL, NULL);
		CU_ASSERT_EQUAL(b->stats[STAT_ICMP_INHIST_ECHO], 1);
		CU_ASSERT_EQUAL(b->stats[esp ? STAT_ESP_REPLAY : STAT_AH_REPLAY], 0);
		sim_free(s);
	}
}

void suite_ipsec_fuzz(void)
{
	static const struct unit_test t[] = {{"mangled ESP and AH input", test_mangled_ipsec_input},
					     {"every byte of every ICV", test_every_icv_byte},
					     {NULL, NULL}};
	unit_add_suite("ipsec fuzz", t);
}
