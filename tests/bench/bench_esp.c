/*
 * make bench: ESP output and input (one round trip per packet) of 64, 512
 * and 1400-byte payloads through the stack's esp_output/esp_input, over
 * IPv4, and over IPv6 behind a hop-by-hop options header, next to
 * raw OpenSSL EVP doing the same cryptography on the same sizes in the
 * same run, and the stack's overhead over raw EVP.  Then `ipsecsim verify`
 * over a capture of 20,000 AES-128-GCM packets next to raw EVP decrypting
 * the same packets.  Reports; asserts nothing (the targets are read from
 * the output).
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../ipsec/esp.h"
#include "../../ipsec/ipsec_ip.h"
#include "../../ipsec/pfkey.h"
#include "../../ipsec/pfkey_msg.h"
#include "../../ipsec/sad.h"
#include "../../sim/sim.h"
#include "../../stack/cksum.h"
#include "../../stack/ip6.h"
#include "../../stack/node.h"
#include "../../stack/util.h"
#include "../../tools/cmds.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct alg {
	const char *name;
	uint8_t enc, auth;
	size_t enckeylen, authkeylen;
	const char *cipher; /* EVP name for the raw run */
	bool aead;
};

static const struct alg algs[] = {
    {"aes-gcm-128", SADB_X_EALG_AESGCM16, 0, 20, 0, "AES-128-GCM", true},
    {"aes-cbc-128+hmac-sha2-256", SADB_X_EALG_AES, SADB_X_AALG_SHA2_256, 16, 32, "AES-128-CBC",
     false},
    {"chacha20-poly1305", SADB_X_EALG_CHACHA20POLY1305, 0, 36, 0, "ChaCha20-Poly1305", true},
};

static struct tdb *add_sa(struct node *n, struct pfkey_sock *s, const struct alg *a, bool v6)
{
	uint8_t ek[64], ak[64];
	for (unsigned i = 0; i < sizeof(ek); i++) {
		ek[i] = (uint8_t)(i * 7 + 1);
		ak[i] = (uint8_t)(i * 13 + 5);
	}
	struct ipaddr src, dst;
	addr_parse(v6 ? "2001:db8::1" : "192.0.2.1", &src);
	addr_parse(v6 ? "2001:db8::2" : "192.0.2.2", &dst);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_ADD, SADB_SATYPE_ESP, 1, s->pid);
	pfkb_sa(&pb, SADB_EXT_SA, 0x1000, 0, SADB_SASTATE_MATURE, a->auth, a->enc, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &src, 0);
	pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &dst, 0);
	if (a->authkeylen)
		pfkb_key(&pb, SADB_EXT_KEY_AUTH, ak, (unsigned)a->authkeylen * 8);
	pfkb_key(&pb, SADB_EXT_KEY_ENCRYPT, ek, (unsigned)a->enckeylen * 8);
	size_t len = pfkb_finish(&pb);
	if (pfkey_write(s, pb.b, len) < 0)
		return NULL;
	return sad_lookup(&n->ipsec->sad, &dst, 0x1000, IPPROTO_ESP);
}

/* The packet the bench protects: an IPv4 header, or an IPv6 header and an
 * 8-byte hop-by-hop options header (ESP goes after it), then size bytes of
 * UDP-ish payload.  Returns the header length. */
static size_t bench_packet(uint8_t *ip, size_t size, bool v6)
{
	if (!v6) {
		uint8_t h[20] = {0x45, 0, 0,   0, 0, 1, 0,   0, 64, 17,
				 0,    0, 192, 0, 2, 1, 192, 0, 2,  2};
		put_be16(h + 2, (uint16_t)(20 + size));
		put_be16(h + 10, in_cksum(h, 20));
		memcpy(ip, h, 20);
		memset(ip + 20, 0xab, size);
		return 20;
	}
	struct ip6_hdr h = {.plen = (uint16_t)(8 + size), .nxt = IPPROTO_HOPOPTS, .hlim = 64};
	addr_parse("2001:db8::1", &h.src);
	addr_parse("2001:db8::2", &h.dst);
	ip6_emit(ip, &h);
	memcpy(ip + 40, (uint8_t[]){17, 0, 1, 4, 0, 0, 0, 0}, 8); /* UDP follows; PadN */
	memset(ip + 48, 0xab, size);
	return 48;
}

/* One packet out and back in through the stack's ESP code. */
static double stack_pps(struct node *n, struct tdb *t, size_t size, unsigned iters, bool v6)
{
	uint8_t ip[48 + 1500];
	size_t hl = bench_packet(ip, size, v6);
	struct ipsec_ip where = {.af = v6 ? ADDR_V6 : ADDR_V4, .skip = hl, .protoff = v6 ? 40 : 9};
	/* One buffer, refilled each time, as a driver's ring would be. */
	struct pkt *p = pkt_from(ip, hl + size, PKT_HEADROOM);
	uint8_t *start = p->data;
	double t0 = now_s();
	for (unsigned i = 0; i < iters; i++) {
		p->data = start;
		p->len = hl + size;
		memcpy(p->data, ip, hl);
		if (esp_output(n, t, p) < 0 || esp_input(n, t, p, &where) < 0) {
			fprintf(stderr, "bench: ESP round trip failed\n");
			exit(1);
		}
	}
	double pps = iters / (now_s() - t0);
	pkt_free(p);
	return pps;
}

/* The same cryptography with EVP alone: encrypt and tag, then check and
 * decrypt, on the ESP payload size the stack handles (trailer included). */
static double raw_pps(const struct alg *a, size_t size, unsigned iters)
{
	uint8_t key[64], mkey[64], iv[16] = {0}, buf[1600], tag[32], aad[8] = {0};
	memset(key, 0x11, sizeof(key));
	memset(mkey, 0x22, sizeof(mkey));
	size_t blk = a->aead ? 4 : 16;
	size_t plen = (size + 2 + blk - 1) / blk * blk;
	memset(buf, 0xab, plen);
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, a->cipher, NULL);
	EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new(), *d = EVP_CIPHER_CTX_new();
	EVP_CipherInit_ex2(e, c, key, NULL, 1, NULL);
	EVP_CipherInit_ex2(d, c, key, NULL, 0, NULL);
	EVP_CIPHER_CTX_set_padding(e, 0);
	EVP_CIPHER_CTX_set_padding(d, 0);
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *m = NULL;
	if (!a->aead) {
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		m = EVP_MAC_CTX_new(mac);
		OSSL_PARAM prm[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA2-256", 0),
		    OSSL_PARAM_construct_end()};
		EVP_MAC_init(m, mkey, 32, prm);
	}
	int outl;
	size_t ml;
	uint8_t md[64];
	double t0 = now_s();
	for (unsigned i = 0; i < iters; i++) {
		iv[0] = (uint8_t)i;
		EVP_CipherInit_ex2(e, NULL, NULL, iv, 1, NULL);
		if (a->aead)
			EVP_CipherUpdate(e, NULL, &outl, aad, 8);
		EVP_CipherUpdate(e, buf, &outl, buf, (int)plen);
		EVP_CipherFinal_ex(e, buf + plen, &outl);
		if (a->aead) {
			EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, 16, tag);
			EVP_CipherInit_ex2(d, NULL, NULL, iv, 0, NULL);
			EVP_CipherUpdate(d, NULL, &outl, aad, 8);
			EVP_CipherUpdate(d, buf, &outl, buf, (int)plen);
			EVP_CIPHER_CTX_ctrl(d, EVP_CTRL_AEAD_SET_TAG, 16, tag);
			if (EVP_CipherFinal_ex(d, buf + plen, &outl) <= 0) {
				fprintf(stderr, "bench: raw tag failed\n");
				exit(1);
			}
		} else {
			EVP_MAC_init(m, NULL, 0, NULL);
			EVP_MAC_update(m, buf, plen + 8 + 16);
			EVP_MAC_final(m, md, &ml, sizeof(md));
			EVP_MAC_init(m, NULL, 0, NULL);
			EVP_MAC_update(m, buf, plen + 8 + 16);
			EVP_MAC_final(m, md, &ml, sizeof(md));
			EVP_CipherInit_ex2(d, NULL, NULL, iv, 0, NULL);
			EVP_CipherUpdate(d, buf, &outl, buf, (int)plen);
			EVP_CipherFinal_ex(d, buf + plen, &outl);
		}
	}
	double pps = iters / (now_s() - t0);
	EVP_MAC_CTX_free(m);
	EVP_MAC_free(mac);
	EVP_CIPHER_CTX_free(e);
	EVP_CIPHER_CTX_free(d);
	EVP_CIPHER_free(c);
	return pps;
}

/* ---- verify at crypto speed ---- */

#define VERIFY_PKTS 20000
#define VERIFY_SIZE 1400

struct capture_pkts {
	uint8_t *b[VERIFY_PKTS];
	size_t len[VERIFY_PKTS];
};

/* VERIFY_PKTS packets sealed by the stack with t (AES-128-GCM), written
 * to a raw-IP pcap and kept in memory. */
static void make_capture(struct node *n, struct tdb *t, const char *path, struct capture_pkts *cp)
{
	pcap_t *pd = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *d = pcap_dump_open(pd, path);
	if (!d) {
		fprintf(stderr, "bench: %s: %s\n", path, pcap_geterr(pd));
		exit(1);
	}
	uint8_t ip[48 + 1500];
	size_t hl = bench_packet(ip, VERIFY_SIZE, false);
	for (unsigned i = 0; i < VERIFY_PKTS; i++) {
		struct pkt *p = pkt_from(ip, hl + VERIFY_SIZE, PKT_HEADROOM);
		if (esp_output(n, t, p) < 0) {
			fprintf(stderr, "bench: esp_output failed\n");
			exit(1);
		}
		struct pcap_pkthdr h = {.caplen = (bpf_u_int32)p->len, .len = (bpf_u_int32)p->len};
		h.ts.tv_sec = i / 1000;
		h.ts.tv_usec = i % 1000 * 1000;
		pcap_dump((u_char *)d, &h, p->data);
		cp->b[i] = xmalloc(p->len);
		memcpy(cp->b[i], p->data, p->len);
		cp->len[i] = p->len;
		pkt_free(p);
	}
	pcap_dump_close(d);
	pcap_close(pd);
}

/* `ipsecsim verify -q` over the capture: packets per second. */
static double verify_pps(const char *sa, const char *pcap)
{
	char *argv[] = {"verify", "-q", "--sa", (char *)sa, (char *)pcap, NULL};
	fflush(stdout);
	int keep = dup(1);
	if (!freopen("/dev/null", "w", stdout))
		exit(1);
	double t0 = now_s();
	int rc = cmd_verify(5, argv);
	double dt = now_s() - t0;
	fflush(stdout);
	dup2(keep, 1);
	close(keep);
	clearerr(stdout);
	if (rc != 0) {
		fprintf(stderr, "bench: verify said %d\n", rc);
		exit(1);
	}
	return VERIFY_PKTS / dt;
}

/* Raw EVP decrypting the same packets: AES-128-GCM with the SA's key and
 * salt, the ESP header as AAD, the tag checked. */
static double raw_open_pps(const uint8_t *key20, const struct capture_pkts *cp)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	EVP_CIPHER_CTX *d = EVP_CIPHER_CTX_new();
	EVP_CipherInit_ex2(d, c, key20, NULL, 0, NULL);
	EVP_CIPHER_CTX_set_padding(d, 0);
	static uint8_t buf[1600];
	uint8_t nonce[12];
	memcpy(nonce, key20 + 16, 4);
	int outl;
	double t0 = now_s();
	for (unsigned i = 0; i < VERIFY_PKTS; i++) {
		const uint8_t *esp = cp->b[i] + 20;
		size_t elen = cp->len[i] - 20, plen = elen - 16 - 16;
		memcpy(nonce + 4, esp + 8, 8);
		EVP_CipherInit_ex2(d, NULL, NULL, nonce, 0, NULL);
		EVP_CipherUpdate(d, NULL, &outl, esp, 8);
		EVP_CipherUpdate(d, buf, &outl, esp + 16, (int)plen);
		EVP_CIPHER_CTX_ctrl(d, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(esp + 16 + plen));
		if (EVP_CipherFinal_ex(d, buf + plen, &outl) <= 0) {
			fprintf(stderr, "bench: raw open failed\n");
			exit(1);
		}
	}
	double pps = VERIFY_PKTS / (now_s() - t0);
	EVP_CIPHER_CTX_free(d);
	EVP_CIPHER_free(c);
	return pps;
}

/* libpcap reading the capture and nothing else: what verify cannot do
 * without (all pcap input goes through libpcap, which copies each record
 * out of a stdio buffer the kernel copies into). */
static double read_pps(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	double t0 = now_s();
	pcap_t *pc = pcap_open_offline(path, err);
	if (!pc) {
		fprintf(stderr, "bench: %s: %s\n", path, err);
		exit(1);
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned n = 0, sum = 0;
	while (pcap_next_ex(pc, &h, &d) == 1) {
		sum += d[h->caplen - 1];
		n++;
	}
	pcap_close(pc);
	double dt = now_s() - t0;
	if (n != VERIFY_PKTS || sum == 0) {
		fprintf(stderr, "bench: read %u packets of %s\n", n, path);
		exit(1);
	}
	return n / dt;
}

static void bench_verify(struct node *n, struct pfkey_sock *sock)
{
	struct tdb *t = add_sa(n, sock, &algs[0], false);
	if (!t) {
		fprintf(stderr, "bench: PF_KEY refused the verify SA\n");
		exit(1);
	}
	const char *pcap = "out/bench/verify.pcap", *sa = "out/bench/verify.esp_sa";
	static struct capture_pkts cp;
	make_capture(n, t, pcap, &cp);
	uint8_t key[20];
	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1); /* add_sa's */
	FILE *f = fopen(sa, "w");
	if (!f) {
		perror(sa);
		exit(1);
	}
	fprintf(f, "\"IPv4\",\"192.0.2.1\",\"192.0.2.2\",\"0x00001000\","
		   "\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x");
	for (unsigned i = 0; i < sizeof(key); i++)
		fprintf(f, "%02x", key[i]);
	fprintf(f, "\",\"NULL\",\"\"\n");
	fclose(f);
	double v = 0, raw = 0, rd = 0;
	for (int k = 0; k < 5; k++) { /* best of five, interleaved */
		double x = verify_pps(sa, pcap), y = raw_open_pps(key, &cp), z = read_pps(pcap);
		v = x > v ? x : v;
		raw = y > raw ? y : raw;
		rd = z > rd ? z : rd;
	}
	/* reading then decrypting, with nothing else: the most verify can do */
	double both = 1 / (1 / rd + 1 / raw);
	printf("bench: verify -q of %d AES-128-GCM %d-byte packets from a pcap: %.0f pkt/s; "
	       "raw EVP decrypting the same packets in memory: %.0f pkt/s (verify at %.0f%%)\n",
	       VERIFY_PKTS, VERIFY_SIZE, v, raw, 100 * v / raw);
	printf("bench: libpcap reading the file alone: %.0f pkt/s; reading then raw EVP: %.0f "
	       "pkt/s (%.0f%% of raw EVP, verify's ceiling); verify at %.0f%% of it\n",
	       rd, both, 100 * both / raw, 100 * v / both);
	for (unsigned i = 0; i < VERIFY_PKTS; i++)
		free(cp.b[i]);
	sad_remove(&n->ipsec->sad, t);
	tdb_free(t);
}

int main(void)
{
	static const size_t sizes[] = {64, 512, 1400};
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "bench");
	struct pfkey_sock *sock = pfkey_open(n);
	printf("bench: ESP out+in, packets/s (stack esp_output+esp_input vs raw EVP, same run)\n");
	for (int v6 = 0; v6 < 2; v6++) {
		for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
			if (v6 && a != 0)
				continue; /* IPv6: one cipher shows the header cost */
			struct tdb *t = add_sa(n, sock, &algs[a], v6);
			if (!t) {
				fprintf(stderr, "bench: PF_KEY refused %s\n", algs[a].name);
				return 1;
			}
			/* a round of each first, so that the first figure is not
			 * the one that pays for cold caches and a slow clock */
			stack_pps(n, t, sizes[0], 20000, v6);
			raw_pps(&algs[a], sizes[0], 20000);
			for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
				unsigned iters = sizes[i] < 1000 ? 60000 : 30000;
				/* Best of five, interleaved, so both see the machine's noise. */
				double st = 0, raw = 0;
				for (int k = 0; k < 5; k++) {
					double x = stack_pps(n, t, sizes[i], iters, v6);
					double y = raw_pps(&algs[a], sizes[i], iters);
					st = x > st ? x : st;
					raw = y > raw ? y : raw;
				}
				printf("bench: ESP %s %-26s %5zu B: stack %9.0f pps, raw EVP %9.0f "
				       "pps, "
				       "stack overhead %5.1f%%\n",
				       v6 ? "IPv6" : "IPv4", algs[a].name, sizes[i], st, raw,
				       (raw / st - 1) * 100);
			}
			sad_remove(&n->ipsec->sad, t);
			tdb_free(t);
		}
	}
	bench_verify(n, sock);
	sim_free(s);
	return 0;
}
