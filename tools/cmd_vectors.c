/*
 * ipsecsim vectors: the known-answer cases of the vectors/ files through the
 * transforms and the ESP code the stack runs.  A cipher case seals its
 * plaintext in a throw-away ESP frame; a MAC case computes the ICV; an ESP
 * case seals the ESP plaintext to the published ciphertext and ICV, opens
 * the published bytes back, and feeds the whole packet to esp_input through
 * an SA that PF_KEY installed on a scratch node.  Cases for algorithms we
 * do not carry say why in their file and are counted apart.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/esp.h"
#include "../ipsec/ipsec_ip.h"
#include "../ipsec/pfkey.h"
#include "../ipsec/pfkey_msg.h"
#include "../ipsec/sad.h"
#include "../ipsec/show.h"
#include "../ipsec/xform.h"
#include "../sim/sim.h"
#include "../stack/cksum.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "cmds.h"

const char vectors_usage[] =
    "usage: ipsecsim vectors [-v] [FILE.vec ...]\n"
    "\n"
    "Run known-answer vectors (default: vectors/*.vec) through the transforms\n"
    "and the ESP code the stack uses, and print N passed, M failed.  -v prints\n"
    "every case.  Exit status: 0 all passed, 1 one failed, 2 bad input.\n";

#define MAXFIELDS 24
#define MAXBYTES  4096

struct vcase {
	const char *file;
	unsigned line;
	char *k[MAXFIELDS], *v[MAXFIELDS];
	unsigned n;
};

static const char *get(const struct vcase *c, const char *key)
{
	for (unsigned i = 0; i < c->n; i++)
		if (strcmp(c->k[i], key) == 0)
			return c->v[i];
	return NULL;
}

/* A hex field into buf; -1 when absent or not hex. */
static long hexfield(const struct vcase *c, const char *key, uint8_t *buf, size_t cap)
{
	const char *v = get(c, key);
	return v ? hex_decode(v, buf, cap) : -1;
}

struct run {
	struct sim *sim;
	struct node *node;
	struct pfkey_sock *sock;
	bool verbose;
	unsigned passed, failed, skipped;
	uint32_t seq; /* PF_KEY */
};

static void verdict(struct run *r, const struct vcase *c, const char *why)
{
	const char *id = get(c, "case");
	if (why) {
		r->failed++;
		printf("FAIL %s (%s:%u): %s\n", id, c->file, c->line, why);
	} else {
		r->passed++;
		if (r->verbose)
			printf("ok   %s\n", id);
	}
}

static uint8_t enc_id(const char *name)
{
	static const struct {
		const char *name;
		uint8_t id;
	} t[] = {
	    {"null", SADB_EALG_NULL},          {"aes-cbc", SADB_X_EALG_AES},
	    {"aes-ctr", SADB_X_EALG_AESCTR},   {"aes-gcm", SADB_X_EALG_AESGCM16},
	    {"aes-gmac", SADB_X_EALG_AESGMAC}, {"chacha20-poly1305", SADB_X_EALG_CHACHA20POLY1305},
	    {"3des-cbc", SADB_EALG_3DESCBC},   {"cast128", SADB_X_EALG_CAST},
	    {"blowfish", SADB_X_EALG_BLF}};
	for (size_t i = 0; name && i < ARRAY_LEN(t); i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].id;
	return 0;
}

static uint8_t auth_id(const char *name)
{
	int id = name ? pfkey_name_id(PFN_AUTH, name) : -1;
	return id > 0 ? (uint8_t)id : 0;
}

/* The forced AEAD auth id for an encryption key, as pfkey_tdb_init sets it. */
static uint8_t aead_auth(uint8_t enc, size_t keylen)
{
	if (enc == SADB_X_EALG_CHACHA20POLY1305)
		return SADB_X_AALG_CHACHA20POLY1305;
	if (enc == SADB_X_EALG_AESGCM16 || enc == SADB_X_EALG_AESGMAC)
		return keylen == 20   ? SADB_X_AALG_AES128GMAC
		       : keylen == 28 ? SADB_X_AALG_AES192GMAC
				      : SADB_X_AALG_AES256GMAC;
	return 0;
}

static const char *run_mac(struct run *r, const struct vcase *c)
{
	uint8_t key[MAXBYTES], data[MAXBYTES], mac[64], icv[64], out[64];
	long kl = hexfield(c, "key", key, sizeof(key)),
	     dl = hexfield(c, "data", data, sizeof(data));
	long ml = hexfield(c, "mac", mac, sizeof(mac)), il = hexfield(c, "icv", icv, sizeof(icv));
	uint8_t a = auth_id(get(c, "auth"));
	if (kl < 0 || dl < 0 || (ml < 0 && il < 0) || !a)
		return "incomplete case (key, data, mac or icv, auth)";
	int err;
	struct xform_ctx *x =
	    xform_ctx_new(r->sim, SADB_EALG_NONE, NULL, 0, a, key, (size_t)kl, &err);
	if (!x)
		return "the transform could not be keyed";
	unsigned n = xform_icvlen(x);
	int rc = xform_mac(x, data, (size_t)dl, NULL, 0, out);
	xform_ctx_free(x);
	if (rc)
		return "the MAC failed";
	if (ml >= 0 && ((size_t)ml < n || memcmp(out, mac, n)))
		return "ICV differs from the MAC's first bytes";
	if (il >= 0 && ((size_t)il != n || memcmp(out, icv, n)))
		return "ICV differs";
	return NULL;
}

/* Seal plaintext in an ESP frame: header (spi, seq), IV, plaintext. */
static const char *seal_and_open(struct run *r, const struct vcase *c, bool esp_case,
				 uint8_t **frame_out, size_t *len_out, struct xform_ctx **x_out)
{
	uint8_t key[256], akey[256], iv[64], pt[MAXBYTES], ct[MAXBYTES], icv[64];
	long kl = hexfield(c, "key", key, sizeof(key));
	long al = hexfield(c, "authkey", akey, sizeof(akey));
	long ivl = hexfield(c, "iv", iv, sizeof(iv));
	long pl = hexfield(c, "plaintext", pt, sizeof(pt));
	long cl = hexfield(c, "ciphertext", ct, sizeof(ct));
	long il = hexfield(c, "icv", icv, sizeof(icv));
	uint8_t e = enc_id(get(c, "enc")), a = auth_id(get(c, "auth"));
	if (kl < 0 || pl < 0 || !e)
		return "incomplete case (enc, key, plaintext)";
	if (!a)
		a = aead_auth(e, (size_t)kl);
	int err;
	struct xform_ctx *x = xform_ctx_new(r->sim, e, key, (size_t)kl, a, al > 0 ? akey : NULL,
					    al > 0 ? (size_t)al : 0, &err);
	if (!x)
		return "the transform could not be keyed";
	*x_out = x;
	unsigned ivlen = xform_ivlen(x), icvlen = xform_icvlen(x);
	if (ivl >= 0 && (unsigned)ivl != ivlen)
		return "IV length differs from the transform's";
	uint64_t seq = 0;
	const char *s = get(c, "seq");
	if (esp_case && s)
		seq = strtoull(s, NULL, 16);
	bool esn = esp_case && get(c, "esn") && strcmp(get(c, "esn"), "yes") == 0;
	size_t len = 8 + ivlen + (size_t)pl + icvlen;
	uint8_t *f = xcalloc(1, len);
	*frame_out = f;
	*len_out = len;
	if (esp_case) {
		long n = hexfield(c, "spi", f, 4);
		if (n != 4)
			return "bad spi";
		put_be32(f + 4, (uint32_t)seq);
	}
	if (ivl > 0)
		memcpy(f + 8, iv, ivlen);
	memcpy(f + 8 + ivlen, pt, (size_t)pl);
	if (xform_esp_seal(x, f, (size_t)pl, esn, (uint32_t)(seq >> 32)) < 0)
		return "sealing failed";
	if (cl >= 0 && (cl != pl || memcmp(f + 8 + ivlen, ct, (size_t)cl)))
		return "ciphertext differs";
	if (il >= 0 && ((unsigned)il != icvlen || memcmp(f + 8 + ivlen + pl, icv, (size_t)il)))
		return "ICV differs";
	/* And back: the published bytes open to the plaintext. */
	uint8_t *g = xmalloc(len);
	memcpy(g, f, len);
	int rc = xform_esp_open(x, g, (size_t)pl, esn, (uint32_t)(seq >> 32));
	bool same = rc == 0 && memcmp(g + 8 + ivlen, pt, (size_t)pl) == 0;
	free(g);
	if (rc == -EBADMSG)
		return "opening: the ICV did not verify";
	if (!same)
		return "opening did not give the plaintext back";
	return NULL;
}

/* Install the case's SA on the scratch node through PF_KEY. */
static struct tdb *install(struct run *r, const struct vcase *c, const struct ipaddr *dst)
{
	uint8_t key[256], akey[256];
	long kl = hexfield(c, "key", key, sizeof(key));
	long al = hexfield(c, "authkey", akey, sizeof(akey));
	uint8_t spi[4];
	hex_decode(get(c, "spi"), spi, 4);
	uint64_t seq = strtoull(get(c, "seq"), NULL, 16);
	bool esn = strcmp(get(c, "esn"), "yes") == 0;
	uint8_t e = enc_id(get(c, "enc")), a = auth_id(get(c, "auth"));
	struct ipaddr src;
	addr_parse("192.0.2.1", &src);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_ADD, SADB_SATYPE_ESP, ++r->seq, r->sock->pid);
	/* A window so that ESN can be inferred: the counter just below seq. */
	pfkb_sa(&pb, SADB_EXT_SA, get_be32(spi), 1, SADB_SASTATE_MATURE, a, e,
		esn ? SADB_X_SAFLAGS_ESN : 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, dst, 0);
	if (al > 0)
		pfkb_key(&pb, SADB_EXT_KEY_AUTH, akey, (unsigned)al * 8);
	if (kl > 0)
		pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, key, (unsigned)kl * 8);
	if (seq > 1)
		pfkb_replay(&pb, seq - 1);
	size_t len = pfkb_finish(&pb);
	if (!len || pfkey_write(r->sock, pb.b, len) < 0)
		return NULL;
	return sad_lookup(&r->node->ipsec->sad, dst, get_be32(spi), IPPROTO_ESP);
}

/* The whole packet through esp_input: the given IPv4 packet, or the ESP
 * bytes behind a header of ours. */
static const char *run_packet(struct run *r, const struct vcase *c, const uint8_t *esp,
			      size_t esplen)
{
	uint8_t ip[MAXBYTES], orig[MAXBYTES], pt[MAXBYTES];
	long il = hexfield(c, "ip", ip, sizeof(ip));
	if (il < 0) {
		if (esplen + 20 > sizeof(ip))
			return "packet too long";
		uint8_t h[20] = {0x45, 0, 0,   0, 0, 1, 0,   0, 64, 50,
				 0,    0, 192, 0, 2, 1, 192, 0, 2,  2};
		put_be16(h + 2, (uint16_t)(esplen + 20));
		put_be16(h + 10, in_cksum(h, 20));
		memcpy(ip, h, 20);
		memcpy(ip + 20, esp, esplen);
		il = (long)(esplen + 20);
	}
	struct ipaddr dst = addr_v4(ip + 16);
	struct tdb *t = install(r, c, &dst);
	if (!t)
		return "PF_KEY refused the SA";
	size_t skip = (size_t)(ip[0] & 0x0f) * 4;
	struct ipsec_ip iph = {.af = ADDR_V4, .skip = skip, .protoff = 9};
	struct pkt *p = pkt_from(ip, (size_t)il, PKT_HEADROOM);
	int nh = esp_input(r->node, t, p, &iph);
	const char *why = NULL;
	long pl = hexfield(c, "plaintext", pt, sizeof(pt));
	long ol = hexfield(c, "orig", orig, sizeof(orig));
	const char *want_nh = get(c, "next-header");
	if (nh < 0) {
		why = "esp_input dropped the packet";
		p = NULL; /* dropped and freed */
	} else if (want_nh && nh != atoi(want_nh)) {
		why = "esp_input gave another next header";
	} else if (ol >= 0 && nh != 4 &&
		   (p->len != (size_t)ol || memcmp(p->data, orig, (size_t)ol))) {
		why = "esp_input's packet differs from the original";
	} else if (ol >= 0 && nh == 4 &&
		   (p->len != skip + (size_t)ol || memcmp(p->data + skip, orig, (size_t)ol))) {
		why = "esp_input's inner packet differs from the original";
	} else if (pl >= 2) {
		size_t inner = (size_t)pl - 2 - pt[pl - 2];
		if (p->len != skip + inner || memcmp(p->data + skip, pt, inner))
			why = "esp_input's payload differs from the plaintext";
	}
	pkt_free(p);
	/* Remove the SA so the next case may use its SPI. */
	sad_remove(&r->node->ipsec->sad, t);
	tdb_free(t);
	return why;
}

static void run_case(struct run *r, const struct vcase *c)
{
	const char *kind = get(c, "kind"), *nc = get(c, "not-carried");
	if (!get(c, "case") || !kind) {
		verdict(r, c, "no case or kind");
		return;
	}
	if (nc) {
		r->skipped++;
		if (r->verbose)
			printf("--   %s: not carried: %s\n", get(c, "case"), nc);
		return;
	}
	if (strcmp(kind, "mac") == 0) {
		verdict(r, c, run_mac(r, c));
		return;
	}
	bool esp = strcmp(kind, "esp") == 0;
	if (!esp && strcmp(kind, "cipher") != 0) {
		verdict(r, c, "kind is cipher, mac or esp");
		return;
	}
	if (esp && (!get(c, "spi") || !get(c, "seq") || !get(c, "esn"))) {
		verdict(r, c, "incomplete case (spi, seq, esn)");
		return;
	}
	uint8_t *frame = NULL;
	size_t len = 0;
	struct xform_ctx *x = NULL;
	const char *why = seal_and_open(r, c, esp, &frame, &len, &x);
	if (!why && esp) {
		uint8_t pub[MAXBYTES];
		long el = hexfield(c, "esp", pub, sizeof(pub));
		if (el >= 0 && ((size_t)el != len || memcmp(pub, frame, len)))
			why = "ESP bytes differ from the published packet";
		else
			why = run_packet(r, c, el >= 0 ? pub : frame, el >= 0 ? (size_t)el : len);
	}
	xform_ctx_free(x);
	free(frame);
	verdict(r, c, why);
}

/* Read one .vec file: blocks of "key: value" lines. */
static int run_file(struct run *r, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[MAXBYTES * 2 + 64];
	struct vcase c = {.file = path};
	unsigned lineno = 0;
	int rc = 0;
	struct text_reader tr = {f, 0};
	for (;;) {
		size_t len;
		enum text_line t = text_getline(&tr, line, sizeof(line), &len);
		if (t != TEXT_LINE && t != TEXT_EOF) {
			char msg[64];
			text_line_error(t, sizeof(line), msg, sizeof(msg));
			fprintf(stderr, "%s:%u: %s\n", path, lineno + 1, msg);
			rc = -1;
			break; /* nothing after it is read, nor the case it cut */
		}
		bool eof = t == TEXT_EOF;
		lineno += !eof;
		if (eof)
			line[0] = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (eof || line[0] == '\0') {
			if (c.n)
				run_case(r, &c);
			for (unsigned i = 0; i < c.n; i++) {
				free(c.k[i]);
				free(c.v[i]);
			}
			c.n = 0;
			if (eof)
				break;
			continue;
		}
		if (line[0] == '#')
			continue;
		char *colon = strstr(line, ": ");
		if (!colon || c.n == MAXFIELDS) {
			fprintf(stderr, "%s: %u: expected 'field: value'\n", path, lineno);
			rc = -1;
			break;
		}
		if (!c.n)
			c.line = lineno;
		*colon = '\0';
		c.k[c.n] = xstrdup(line);
		c.v[c.n++] = xstrdup(colon + 2);
	}
	for (unsigned i = 0; i < c.n; i++) {
		free(c.k[i]);
		free(c.v[i]);
	}
	fclose(f);
	return rc;
}

int cmd_vectors(int argc, char **argv)
{
	struct run r = {0};
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			r.verbose = true;
		} else {
			fputs(vectors_usage, stderr);
			return EXIT_USAGE;
		}
	}
	r.sim = sim_new(0);
	r.node = sim_add_node(r.sim, "vectors");
	r.sock = pfkey_open(r.node);
	int bad = 0;
	if (i < argc) {
		for (; i < argc; i++)
			bad |= run_file(&r, argv[i]) < 0;
	} else {
		glob_t g;
		if (glob("vectors/*.vec", 0, NULL, &g) != 0) {
			fputs(
			    "ipsecsim vectors: no vectors/*.vec here (run from the source tree)\n",
			    stderr);
			sim_free(r.sim);
			return EXIT_USAGE;
		}
		for (size_t k = 0; k < g.gl_pathc; k++)
			bad |= run_file(&r, g.gl_pathv[k]) < 0;
		globfree(&g);
	}
	sim_free(r.sim);
	printf("%u passed, %u failed", r.passed, r.failed);
	if (r.skipped)
		printf(" (%u cases for algorithms we do not carry, each explained in its file)",
		       r.skipped);
	printf("\n");
	if (bad)
		return EXIT_USAGE;
	return r.failed ? 1 : 0;
}
