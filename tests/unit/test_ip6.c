/* IPv6 wire code: the fixed header, each extension header both ways, and
 * the walk along a header chain.  Expected bytes are as scapy 2.5 builds
 * the same headers (an independent encoder). */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/cksum.h"
#include "../../stack/ip6.h"
#include "../../stack/node.h"
#include "../../stack/util.h"
#include "unit.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	long n = hex_decode(s, out, cap);
	CU_ASSERT_FATAL(n >= 0);
	return (size_t)n;
}

/* IPv6(src=2001:db8::1, dst=2001:db8::2, tc=0xb8, fl=0x12345, hlim=64) /
 * UDP(sport=1234, dport=7) / "hello" */
static const char scapy_udp6[] =
    "6b812345000d114020010db800000000000000000000000120010db8000000000000000000000002"
    "04d20007000d5bb468656c6c6f";

static void test_fixed_header(void)
{
	uint8_t b[128], out[IP6_HDR_LEN];
	size_t len = unhex(scapy_udp6, b, sizeof(b));
	struct ip6_hdr h;
	enum stat_id why;
	CU_ASSERT_EQUAL_FATAL(ip6_parse(b, len, &h, &why), 0);
	CU_ASSERT_EQUAL(h.tclass, 0xb8);
	CU_ASSERT_EQUAL(h.flow, 0x12345);
	CU_ASSERT_EQUAL(h.plen, 13);
	CU_ASSERT_EQUAL(h.nxt, 17);
	CU_ASSERT_EQUAL(h.hlim, 64);
	struct ipaddr want;
	addr_parse("2001:db8::2", &want);
	CU_ASSERT_TRUE(addr_eq(&h.dst, &want));
	CU_ASSERT_EQUAL(ip6_emit(out, &h), IP6_HDR_LEN);
	CU_ASSERT_EQUAL(memcmp(out, b, IP6_HDR_LEN), 0);
	/* RFC 8200 8.1: the UDP checksum over the IPv6 pseudo header */
	uint8_t udp[13];
	memcpy(udp, b + 40, 13);
	put_be16(udp + 6, 0);
	uint32_t s = cksum_pseudo(&h.src, &h.dst, 17, 13);
	CU_ASSERT_EQUAL(cksum_fold(cksum_add(s, udp, 13)), 0x5bb4);

	/* each failure has its reason */
	CU_ASSERT_EQUAL(ip6_parse(b, 39, &h, &why), -1);
	CU_ASSERT_EQUAL(why, STAT_IP6_TOOSMALL);
	CU_ASSERT_EQUAL(ip6_parse(b, len - 1, &h, &why), -1); /* plen 13, 12 left */
	CU_ASSERT_EQUAL(why, STAT_IP6_TOOSHORT);
	b[0] = 0x4b;
	CU_ASSERT_EQUAL(ip6_parse(b, len, &h, &why), -1);
	CU_ASSERT_EQUAL(why, STAT_IP6_BADVERS);
	b[0] = 0x6b;
	b[4] = b[5] = 0;
	b[6] = IPPROTO_HOPOPTS; /* a jumbogram */
	CU_ASSERT_EQUAL(ip6_parse(b, len, &h, &why), -1);
	CU_ASSERT_EQUAL(why, STAT_IP6_BADOPTIONS);
}

static void test_options_headers(void)
{
	uint8_t b[64], want[64];
	/* IPv6ExtHdrHopByHop(nh=60, options=[RouterAlert(value=0)]): padded
	 * with a PadN of no data to 8 bytes */
	static const uint8_t ra[2] = {0, 0};
	struct ip6_opt o[2] = {{.type = 5, .len = 2, .data = ra}};
	size_t n = ip6_opts_emit(b, sizeof(b), IPPROTO_DSTOPTS, o, 1);
	CU_ASSERT_EQUAL(n, unhex("3c00050200000100", want, sizeof(want)));
	CU_ASSERT_EQUAL(memcmp(b, want, n), 0);
	/* IPv6ExtHdrDestOpt(nh=17, options=[HAO(...)]): HAO wants 8n+6, so a
	 * PadN of 2 data bytes goes before it (the caller's alignment) */
	uint8_t hoa[16];
	unhex("20010db8000000000000000000000099", hoa, sizeof(hoa));
	static const uint8_t zero2[2] = {0, 0};
	o[0] = (struct ip6_opt){.type = IP6OPT_PADN, .len = 2, .data = zero2};
	o[1] = (struct ip6_opt){.type = 0xc9, .len = 16, .data = hoa};
	n = ip6_opts_emit(b, sizeof(b), 17, o, 2);
	CU_ASSERT_EQUAL(
	    n, unhex("110201020000c91020010db8000000000000000000000099", want, sizeof(want)));
	CU_ASSERT_EQUAL(memcmp(b, want, n), 0);

	/* reading them back: PadN, then HAO with its action and mutability */
	size_t pos = 2;
	struct ip6_opt got;
	CU_ASSERT_EQUAL(ip6_opt_next(b, n, &pos, &got), 1);
	CU_ASSERT_EQUAL(got.type, IP6OPT_PADN);
	CU_ASSERT_EQUAL(ip6_opt_next(b, n, &pos, &got), 1);
	CU_ASSERT_EQUAL(got.type, 0xc9);
	CU_ASSERT_EQUAL(got.off, 6);
	CU_ASSERT_EQUAL(got.len, 16);
	CU_ASSERT_EQUAL(memcmp(got.data, hoa, 16), 0);
	CU_ASSERT_EQUAL(IP6OPT_ACTION(got.type), IP6OPT_ICMP_UNICAST);
	CU_ASSERT_FALSE(IP6OPT_MUTABLE(got.type));
	CU_ASSERT_EQUAL(ip6_opt_next(b, n, &pos, &got), 0);
	CU_ASSERT_EQUAL(IP6OPT_ACTION(0x05), IP6OPT_SKIP);
	CU_ASSERT_EQUAL(IP6OPT_ACTION(0x4f), IP6OPT_DISCARD);
	CU_ASSERT_EQUAL(IP6OPT_ACTION(0x8f), IP6OPT_ICMP);
	CU_ASSERT_TRUE(IP6OPT_MUTABLE(0x3e));

	/* an option that runs past its header: the offset of its type byte */
	b[7] = 20; /* HAO's length now says 20 */
	pos = 2;
	CU_ASSERT_EQUAL(ip6_opt_next(b, n, &pos, &got), 1);
	CU_ASSERT_EQUAL(ip6_opt_next(b, n, &pos, &got), -1);
	CU_ASSERT_EQUAL(pos, 6);
	/* Pad1 alone, and a header with only padding */
	o[0] = (struct ip6_opt){.type = IP6OPT_PAD1};
	n = ip6_opts_emit(b, sizeof(b), 59, o, 1);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_EQUAL(b[2], IP6OPT_PAD1);
	CU_ASSERT_EQUAL(b[3], IP6OPT_PADN);
	CU_ASSERT_EQUAL(b[4], 3); /* five bytes of padding: PadN with three */
	CU_ASSERT_EQUAL(ip6_opts_emit(b, 7, 59, o, 1), 0); /* does not fit */
}

static void test_routing_and_fragment(void)
{
	uint8_t b[64], want[64];
	struct ipaddr a[2];
	addr_parse("2001:db8::a", &a[0]);
	addr_parse("2001:db8::b", &a[1]);
	/* IPv6ExtHdrRouting(nh=6, type=0, segleft=2, addresses=[...]) */
	size_t n = ip6_rthdr_emit(b, sizeof(b), 6, 0, 2, a, 2);
	CU_ASSERT_EQUAL(n, unhex("060400020000000020010db800000000000000000000000a"
				 "20010db800000000000000000000000b",
				 want, sizeof(want)));
	CU_ASSERT_EQUAL(memcmp(b, want, n), 0);
	struct ip6_rthdr r;
	ip6_rthdr_parse(b, n, &r);
	CU_ASSERT_EQUAL(r.nxt, 6);
	CU_ASSERT_EQUAL(r.type, 0);
	CU_ASSERT_EQUAL(r.segleft, 2);
	CU_ASSERT_EQUAL(ip6_rthdr_addrs(&r), 2);
	CU_ASSERT_EQUAL(memcmp(r.data + 4 + 16, a[1].a, 16), 0);
	r.datalen = 10;
	CU_ASSERT_EQUAL(ip6_rthdr_addrs(&r), -1);
	CU_ASSERT_EQUAL(ip6_rthdr_emit(b, 23, 6, 0, 2, a, 1), 0);

	/* IPv6ExtHdrFragment(nh=17, offset=185, m=1, id=0xdeadbeef) */
	struct ip6_frag f = {.nxt = 17, .off = 185 * 8, .more = true, .id = 0xdeadbeef}, g;
	CU_ASSERT_EQUAL(ip6_frag_emit(b, &f), 8);
	unhex("110005c9deadbeef", want, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(b, want, 8), 0);
	ip6_frag_parse(b, &g);
	CU_ASSERT_EQUAL(g.nxt, 17);
	CU_ASSERT_EQUAL(g.off, 1480);
	CU_ASSERT_TRUE(g.more);
	CU_ASSERT_EQUAL(g.id, 0xdeadbeef);
}

/* A packet: the fixed header, then headers appended one by one. */
struct builder {
	uint8_t b[512];
	size_t len;
	size_t nxt_at; /* the next-header byte to fill for the next header */
};

static void start(struct builder *k)
{
	struct ip6_hdr h = {.hlim = 64};
	addr_parse("2001:db8::1", &h.src);
	addr_parse("2001:db8::2", &h.dst);
	k->len = ip6_emit(k->b, &h);
	k->nxt_at = 6;
}

static void append(struct builder *k, uint8_t type, const uint8_t *hdr, size_t len)
{
	k->b[k->nxt_at] = type;
	memcpy(k->b + k->len, hdr, len);
	k->nxt_at = k->len; /* every extension header's first byte is its next header */
	k->len += len;
}

static void finish(struct builder *k, uint8_t proto, size_t payload)
{
	k->b[k->nxt_at] = proto;
	memset(k->b + k->len, 0xab, payload);
	k->len += payload;
	put_be16(k->b + 4, (uint16_t)(k->len - IP6_HDR_LEN));
}

static void test_walk(void)
{
	uint8_t opts[8], rt[40], fr[8];
	struct ip6_opt pad = {.type = IP6OPT_PAD1};
	size_t olen = ip6_opts_emit(opts, sizeof(opts), 0, &pad, 1);
	struct ipaddr a;
	addr_parse("2001:db8::a", &a);
	size_t rlen = ip6_rthdr_emit(rt, sizeof(rt), 0, 0, 1, &a, 1);
	struct ip6_frag f = {.id = 7, .more = true};
	ip6_frag_emit(fr, &f);

	/* hop-by-hop, destination, routing, fragment (first), destination, UDP */
	struct builder k;
	start(&k);
	append(&k, IPPROTO_HOPOPTS, opts, olen);
	append(&k, IPPROTO_DSTOPTS, opts, olen);
	append(&k, IPPROTO_ROUTING, rt, rlen);
	append(&k, IPPROTO_FRAGMENT, fr, 8);
	append(&k, IPPROTO_DSTOPTS, opts, olen);
	finish(&k, 17, 8);
	struct ip6_chain c;
	enum stat_id why;
	size_t ptr;
	uint8_t code;
	CU_ASSERT_EQUAL_FATAL(ip6_walk(k.b, k.len, &c, &why, &ptr, &code), 0);
	CU_ASSERT_EQUAL(c.n, 5);
	CU_ASSERT_EQUAL(c.proto, 17);
	CU_ASSERT_EQUAL(c.off, 40 + 8 + 8 + 24 + 8 + 8);
	CU_ASSERT_EQUAL(c.frag, 3);
	CU_ASSERT_FALSE(c.later_fragment);
	CU_ASSERT_EQUAL(c.ext[2].type, IPPROTO_ROUTING);
	CU_ASSERT_EQUAL(c.ext[2].off, 56);
	CU_ASSERT_EQUAL(c.ext[2].len, 24);

	/* a later fragment: the walk stops at its fragment header */
	f.off = 1232;
	start(&k);
	ip6_frag_emit(fr, &f);
	append(&k, IPPROTO_FRAGMENT, fr, 8);
	finish(&k, IPPROTO_ICMPV6, 16);
	CU_ASSERT_EQUAL(ip6_walk(k.b, k.len, &c, &why, &ptr, &code), 0);
	CU_ASSERT_TRUE(c.later_fragment);
	CU_ASSERT_EQUAL(c.proto, IPPROTO_ICMPV6);
	CU_ASSERT_EQUAL(c.off, 48);

	/* ESP and "no next header" end the walk as they are */
	start(&k);
	append(&k, IPPROTO_DSTOPTS, opts, olen);
	finish(&k, 50, 16);
	CU_ASSERT_EQUAL(ip6_walk(k.b, k.len, &c, &why, &ptr, &code), 0);
	CU_ASSERT_EQUAL(c.proto, 50);
	CU_ASSERT_EQUAL(c.off, 48);
	start(&k);
	finish(&k, IPPROTO_NONE, 0);
	CU_ASSERT_EQUAL(ip6_walk(k.b, k.len, &c, &why, &ptr, &code), 0);
	CU_ASSERT_EQUAL(c.proto, IPPROTO_NONE);
	CU_ASSERT_EQUAL(c.n, 0);

	/* hop-by-hop after another header: parameter problem code 1 at the
	 * next-header byte that named it (RFC 8200 4.1) */
	start(&k);
	append(&k, IPPROTO_DSTOPTS, opts, olen);
	append(&k, IPPROTO_HOPOPTS, opts, olen);
	finish(&k, 17, 8);
	CU_ASSERT_EQUAL(ip6_walk(k.b, k.len, &c, &why, &ptr, &code), -1);
	CU_ASSERT_EQUAL(why, STAT_IP6_BADOPTIONS);
	CU_ASSERT_EQUAL(code, 1);
	CU_ASSERT_EQUAL(ptr, 40);

	/* a header that runs past the packet */
	start(&k);
	append(&k, IPPROTO_ROUTING, rt, rlen);
	finish(&k, 17, 0);
	CU_ASSERT_EQUAL(ip6_walk(k.b, k.len - 1, &c, &why, &ptr, &code), -1);
	CU_ASSERT_EQUAL(why, STAT_IP6_TOOSHORT);
	CU_ASSERT_EQUAL(ptr, 6); /* the fixed header's next header named it */
	start(&k);
	finish(&k, IPPROTO_FRAGMENT, 4); /* half a fragment header */
	CU_ASSERT_EQUAL(ip6_walk(k.b, k.len, &c, &why, &ptr, &code), -1);
	CU_ASSERT_EQUAL(why, STAT_IP6_TOOSHORT);
	start(&k);
	finish(&k, IPPROTO_DSTOPTS, 1); /* not even its length byte */
	CU_ASSERT_EQUAL(ip6_walk(k.b, k.len, &c, &why, &ptr, &code), -1);
	CU_ASSERT_EQUAL(why, STAT_IP6_TOOSHORT);

	/* more headers than the walk follows */
	start(&k);
	for (unsigned i = 0; i <= IP6_MAX_EXT; i++)
		append(&k, IPPROTO_DSTOPTS, opts, olen);
	finish(&k, 17, 8);
	CU_ASSERT_EQUAL(ip6_walk(k.b, k.len, &c, &why, &ptr, &code), -1);
	CU_ASSERT_EQUAL(why, STAT_IP6_TOOMANYHDR);
	CU_ASSERT_EQUAL(code, 0);
	CU_ASSERT_EQUAL(ptr, 40 + 8 * (IP6_MAX_EXT - 1));
}

/* Every prefix of a valid chain, and every byte flipped: the walk says
 * something and never reads past the length it was given (ASan watches). */
static void test_walk_never_overreads(void)
{
	uint8_t opts[8], fr[8];
	struct ip6_opt pad = {.type = IP6OPT_PAD1};
	size_t olen = ip6_opts_emit(opts, sizeof(opts), 0, &pad, 1);
	struct ip6_frag f = {.id = 1};
	ip6_frag_emit(fr, &f);
	struct builder k;
	start(&k);
	append(&k, IPPROTO_HOPOPTS, opts, olen);
	append(&k, IPPROTO_FRAGMENT, fr, 8);
	append(&k, IPPROTO_DSTOPTS, opts, olen);
	finish(&k, 17, 8);
	unsigned ok = 0, bad = 0;
	for (size_t len = IP6_HDR_LEN; len <= k.len; len++) {
		for (size_t i = 0; i < len; i++) {
			uint8_t *copy = xmalloc(len); /* exactly len: ASan sees any overread */
			memcpy(copy, k.b, len);
			copy[i] ^= 0xff;
			struct ip6_chain c;
			enum stat_id why;
			size_t ptr;
			uint8_t code;
			if (ip6_walk(copy, len, &c, &why, &ptr, &code) == 0) {
				ok++;
				CU_ASSERT_TRUE(c.off <= len);
			} else {
				bad++;
				CU_ASSERT_TRUE(ptr < len);
			}
			free(copy);
		}
	}
	CU_ASSERT_TRUE(ok > 0);
	CU_ASSERT_TRUE(bad > 0);
}

/* ---- fragmentation and reassembly ---- */

/* A 3000-byte datagram: fixed header, hop-by-hop options (per-fragment),
 * destination options (fragmentable), and a payload of counting bytes. */
static struct pkt *big_datagram(void)
{
	struct builder k;
	uint8_t opts[8];
	struct ip6_opt pad = {.type = IP6OPT_PAD1};
	size_t olen = ip6_opts_emit(opts, sizeof(opts), 0, &pad, 1);
	start(&k);
	append(&k, IPPROTO_HOPOPTS, opts, olen);
	append(&k, IPPROTO_DSTOPTS, opts, olen);
	finish(&k, IPPROTO_NONE, 0);
	struct pkt *p = pkt_alloc(PKT_HEADROOM, 3000);
	memcpy(p->data, k.b, k.len);
	for (size_t i = k.len; i < 3000; i++)
		p->data[i] = (uint8_t)i;
	put_be16(p->data + 4, 3000 - IP6_HDR_LEN);
	return p;
}

/* Feed one fragment to the node's reassembly. */
static struct pkt *feed(struct node *n, struct pkt *f)
{
	struct ip6_hdr h;
	struct ip6_chain c;
	enum stat_id why;
	size_t ptr;
	uint8_t code;
	CU_ASSERT_EQUAL_FATAL(ip6_parse(f->data, f->len, &h, &why), 0);
	CU_ASSERT_EQUAL_FATAL(ip6_walk(f->data, f->len, &c, &why, &ptr, &code), 0);
	CU_ASSERT_FATAL(c.frag >= 0);
	return ip6_reass(n, f, &h, &c);
}

static void fragments_of(struct node *n, struct pkt *whole, unsigned mtu, struct pkt **out,
			 unsigned *count)
{
	struct pktq q = {0};
	ip6_fragment(n, pkt_clone(whole), mtu, &q);
	*count = 0;
	struct pkt *f;
	while ((f = pktq_pop(&q)))
		out[(*count)++] = f;
}

static void test_fragment_and_reassemble(void)
{
	struct sim *s = sim_new(1);
	struct node *n = unit_node(s, "n", "10.0.0.1/24");
	struct pkt *whole = big_datagram();
	struct pkt *fr[8];
	unsigned nf;
	fragments_of(n, whole, 1280, fr, &nf);
	CU_ASSERT_EQUAL_FATAL(nf, 3);
	for (unsigned i = 0; i < nf; i++) {
		CU_ASSERT_TRUE(fr[i]->len <= 1280);
		/* hop-by-hop stays in front of every fragment, the destination
		 * options travel in the first one's data */
		CU_ASSERT_EQUAL(fr[i]->data[6], IPPROTO_HOPOPTS);
		CU_ASSERT_EQUAL(fr[i]->data[40], IPPROTO_FRAGMENT);
		struct ip6_frag f;
		ip6_frag_parse(fr[i]->data + 48, &f);
		CU_ASSERT_EQUAL(f.nxt, IPPROTO_DSTOPTS);
		CU_ASSERT_EQUAL(f.more, i + 1 < nf);
		CU_ASSERT_EQUAL(f.off % 8, 0);
	}
	/* in reverse order: the last one completes it, byte for byte */
	CU_ASSERT_PTR_NULL(feed(n, fr[2]));
	CU_ASSERT_PTR_NULL(feed(n, fr[1]));
	struct pkt *got = feed(n, fr[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(got->len, whole->len);
	CU_ASSERT_EQUAL(memcmp(got->data, whole->data, whole->len), 0);
	CU_ASSERT_EQUAL(n->stats[STAT_IP6_REASSEMBLED], 1);
	CU_ASSERT_EQUAL(n->stats[STAT_IP6_FRAGMENTS], 3);
	CU_ASSERT_EQUAL(n->nfrags6, 0);
	pkt_free(got);

	/* a duplicate drops only itself; an overlap drops the whole datagram
	 * (RFC 5722) */
	fragments_of(n, whole, 1280, fr, &nf);
	CU_ASSERT_PTR_NULL(feed(n, fr[0]));
	CU_ASSERT_PTR_NULL(feed(n, pkt_clone(fr[0])));
	CU_ASSERT_EQUAL(n->stats[STAT_IP6_FRAGDROPPED], 1);
	struct pkt *ov = pkt_clone(fr[1]);
	struct ip6_frag f;
	ip6_frag_parse(ov->data + 48, &f);
	f.off -= 8; /* reaches 8 bytes into the first fragment's data */
	ip6_frag_emit(ov->data + 48, &f);
	CU_ASSERT_PTR_NULL(feed(n, ov));
	CU_ASSERT_EQUAL(n->stats[STAT_IP6_FRAGDROPPED], 3); /* itself and fr[0] */
	CU_ASSERT_EQUAL(n->nfrags6, 0);
	/* the rest of that datagram starts a queue that never completes: 60
	 * seconds later it goes, each fragment counted */
	CU_ASSERT_PTR_NULL(feed(n, fr[1]));
	CU_ASSERT_PTR_NULL(feed(n, fr[2]));
	CU_ASSERT_EQUAL(n->nfrags6, 2);
	sim_run(s, 61 * NS_PER_SEC, NULL, NULL);
	CU_ASSERT_EQUAL(n->stats[STAT_IP6_FRAGTIMEOUT], 2);
	CU_ASSERT_EQUAL(n->nfrags6, 0);

	/* a non-last fragment that is not whole 8-byte units */
	fragments_of(n, whole, 1280, fr, &nf);
	pkt_trim(fr[0], fr[0]->len - 1);
	put_be16(fr[0]->data + 4, (uint16_t)(fr[0]->len - IP6_HDR_LEN));
	CU_ASSERT_PTR_NULL(feed(n, fr[0]));
	CU_ASSERT_EQUAL(n->stats[STAT_IP6_BADFRAGS], 1);
	pkt_free(fr[1]);
	pkt_free(fr[2]);

	/* an atomic fragment (RFC 6946) is the datagram at once, even with a
	 * queue of the same identification waiting */
	fragments_of(n, whole, 1280, fr, &nf);
	CU_ASSERT_PTR_NULL(feed(n, fr[1]));
	struct pkt *atomic = pkt_clone(fr[0]);
	ip6_frag_parse(atomic->data + 48, &f);
	f.more = false;
	ip6_frag_emit(atomic->data + 48, &f);
	got = feed(n, atomic);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(got->data[40], IPPROTO_DSTOPTS); /* the fragment header is gone */
	CU_ASSERT_EQUAL(get_be16(got->data + 4), fr[0]->len - IP6_HDR_LEN - IP6_FRAG_LEN);
	CU_ASSERT_EQUAL(n->nfrags6, 1); /* the queue still waits */
	pkt_free(got);
	pkt_free(fr[0]);
	pkt_free(fr[2]);

	/* the hold limit */
	n->sysctl[SYSCTL_IP6_MAXFRAGS] = 1;
	fragments_of(n, whole, 1280, fr, &nf);
	CU_ASSERT_PTR_NULL(feed(n, fr[0]));
	CU_ASSERT_EQUAL(n->stats[STAT_IP6_FRAGOVERFLOW], 1);
	pkt_free(fr[1]);
	pkt_free(fr[2]);
	pkt_free(whole);
	sim_free(s);
}

void suite_ip6(void)
{
	static const struct unit_test t[] = {
	    {"fixed header and UDP checksum", test_fixed_header},
	    {"options headers", test_options_headers},
	    {"routing and fragment headers", test_routing_and_fragment},
	    {"header chain walk", test_walk},
	    {"walk never overreads", test_walk_never_overreads},
	    {"fragmentation and reassembly", test_fragment_and_reassemble},
	    {NULL, NULL},
	};
	unit_add_suite("ip6", t);
}
