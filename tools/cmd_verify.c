/*
 * ipsecsim verify, decap and encap: other implementations' captures through
 * the ESP and AH code the stack runs (docs/validating.md).  The SAs of the
 * --sa file live on a scratch node; each ESP or AH packet of the capture
 * goes through esp_input or ah_input as if that node had received it, and
 * the reason it would drop the packet, if any, is the verdict.
 */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/ah.h"
#include "../ipsec/esp.h"
#include "../ipsec/ipsec_io.h"
#include "../ipsec/ipsec_ip.h"
#include "../ipsec/pfkey.h"
#include "../ipsec/replay.h"
#include "../ipsec/sad.h"
#include "../ipsec/udpencap.h"
#include "../sim/sim.h"
#include "../stack/ip6.h"
#include "../stack/node.h"
#include "../stack/pkt.h"
#include "../stack/util.h"
#include "capread.h"
#include "cmds.h"
#include "safile.h"

#define NATT_PORT 4500
#define UDP_HLEN  8

const char verify_usage[] =
    "usage: ipsecsim verify --sa FILE [--replay-window N] [--esn-high N] [--json] [-q]\n"
    "                       CAPTURE\n"
    "\n"
    "Check every ESP and AH packet of CAPTURE (pcap or pcapng; Ethernet, raw IP,\n"
    "Linux cooked or BSD loopback; IPv4 and IPv6, fragments reassembled; ESP in\n"
    "UDP 4500 too) against the SAs of FILE\n"
    "(an ipsec.conf in the testbed syntax, or Wireshark's esp_sa file): SA found,\n"
    "ICV, padding, sequence number and replay window, ESN when the SA has it.\n"
    "\n"
    "options:\n"
    "  --sa FILE            the SAs\n"
    "  --replay-window N    the receiver's window in packets (default 64, at most\n"
    "                       2100); 0 turns the replay check off\n"
    "  --esn-high N         the high half of ESN counters where the capture starts\n"
    "                       (default: the SA file's, else 0)\n"
    "  --json               one JSON object per packet instead of text\n"
    "  -q, --quiet          only the packets that are not ok, and the summary\n"
    "\n"
    "Verdicts: ok, or the reason the packet would be dropped, named as the\n"
    "counter without its protocol: notdb, badauth, badenc, badilen, replay, wrap...\n"
    "Exit status: 0 every ESP/AH packet ok, 1 one is not (or there is none),\n"
    "2 bad usage or input.\n";

const char decap_usage[] =
    "usage: ipsecsim decap --sa FILE [--replay-window N] [--esn-high N] IN OUT\n"
    "\n"
    "Write to OUT (a raw-IP pcap) each ESP or AH packet of IN that verifies,\n"
    "after IPsec processing: for tunnel mode (next header 4 or 41) the inner packet,\n"
    "for transport mode the packet with its protocol and lengths restored.\n"
    "Exit status: 0 every ESP/AH packet verified, 1 one did not, 2 bad input.\n";

const char encap_usage[] =
    "usage: ipsecsim encap --sa FILE --spi SPI [--mode tunnel|transport] [--seed N]\n"
    "                      [--seq N] [--esn-high N] [--udpencap [PORT]] IN OUT\n"
    "\n"
    "Protect every IP packet of IN with the SA whose SPI is SPI (tunnel mode:\n"
    "outer header of the SA's family, addresses from the SA; transport mode:\n"
    "ESP or AH after IPv6's hop-by-hop, routing and destination options before\n"
    "a routing header, for packets to the SA's destination only), sequence\n"
    "numbers from 1 (or from --seq N, to follow packets a peer has already\n"
    "sent on the SA) and IVs from the seed (default 0), and write OUT as a\n"
    "raw-IP pcap.  The same input, SA file and seed give the same bytes.\n"
    "The mode defaults to the SA's (transport for an esp_sa file); --esn-high\n"
    "sets the high half of an ESN SA's counter.  --udpencap puts each ESP\n"
    "packet in UDP (RFC 3948, NAT-T) from and to PORT (default 4500), with a\n"
    "zero UDP checksum over IPv4.\n"
    "Exit status: 0 done, 2 bad usage or input.\n";

struct opts {
	const char *sa;
	uint32_t window;
	bool json;
	bool quiet; /* verify: print only what is not ok */
	uint32_t spi;
	bool spi_set;
	int mode; /* -1 the SA's, 0 transport, 1 tunnel */
	uint64_t seed;
	bool esn_hi_set;
	uint32_t esn_hi;
	uint16_t udpencap; /* encap: the NAT-T port; 0 none */
	uint32_t seq;      /* encap: the first sequence number; 0: 1 */
	const char *in, *out;
};

/* A number option: decimal, or hex with 0x (010 is ten); at most max. */
static int opt_uint(const char *prog, const char *name, const char *arg, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	bool hex = arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X'); /* never octal */
	const char *digits = hex ? arg + 2 : arg;
	unsigned long long x = strtoull(digits, &end, hex ? 16 : 10);
	if (!*digits || *digits == '-' || *digits == '+' || *end || errno || x > max) {
		fprintf(stderr, "%s: bad %s '%s' (0 to %llu)\n", prog, name, arg,
			(unsigned long long)max);
		return -1;
	}
	*v = x;
	return 0;
}

/* Long options shared by the three commands; `allowed` names those each takes. */
static int parse_opts(int argc, char **argv, const char *allowed, const char *usage, unsigned nargs,
		      struct opts *o)
{
	static const struct option longs[] = {{"sa", required_argument, NULL, 's'},
					      {"replay-window", required_argument, NULL, 'w'},
					      {"json", no_argument, NULL, 'j'},
					      {"spi", required_argument, NULL, 'p'},
					      {"mode", required_argument, NULL, 'm'},
					      {"seed", required_argument, NULL, 'e'},
					      {"esn-high", required_argument, NULL, 'H'},
					      {"udpencap", optional_argument, NULL, 'u'},
					      {"seq", required_argument, NULL, 'S'},
					      {"quiet", no_argument, NULL, 'q'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	*o = (struct opts){.window = 64, .mode = -1};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "hq", longs, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 1;
		}
		if (c == '?') {
			fprintf(stderr, "%s: unknown option %s\n%s", argv[0], argv[optind - 1],
				usage);
			return -1;
		}
		if (!strchr(allowed, c)) {
			const char *name = "?";
			for (const struct option *l = longs; l->name; l++)
				if (l->val == c)
					name = l->name;
			fprintf(stderr, "%s: --%s does not apply here\n%s", argv[0], name, usage);
			return -1;
		}
		uint64_t v;
		switch (c) {
		case 's': o->sa = optarg; break;
		case 'j': o->json = true; break;
		case 'q': o->quiet = true; break;
		case 'w':
			if (opt_uint(argv[0], "--replay-window", optarg, 2100, &v) < 0)
				return -1;
			o->window = (uint32_t)v;
			break;
		case 'p':
			if (opt_uint(argv[0], "--spi", optarg, UINT32_MAX, &v) < 0)
				return -1;
			o->spi = (uint32_t)v;
			o->spi_set = true;
			break;
		case 'm':
			if (strcmp(optarg, "tunnel") && strcmp(optarg, "transport")) {
				fprintf(stderr, "%s: --mode is tunnel or transport\n", argv[0]);
				return -1;
			}
			o->mode = strcmp(optarg, "tunnel") == 0;
			break;
		case 'H':
			if (opt_uint(argv[0], "--esn-high", optarg, UINT32_MAX, &v) < 0)
				return -1;
			o->esn_hi = (uint32_t)v;
			o->esn_hi_set = true;
			break;
		case 'e':
			if (opt_uint(argv[0], "--seed", optarg, UINT64_MAX, &v) < 0)
				return -1;
			o->seed = v;
			break;
		case 'S':
			if (opt_uint(argv[0], "--seq", optarg, UINT32_MAX, &v) < 0)
				return -1;
			if (!v) {
				fprintf(stderr, "%s: --seq 0 is not a sequence number (1 is the first)\n",
					argv[0]);
				return -1;
			}
			o->seq = (uint32_t)v;
			break;
		case 'u': {
			/* --udpencap, --udpencap=PORT, or --udpencap PORT when a
			 * number follows and the two files still come after it */
			const char *arg = optarg;
			if (!arg && optind < argc && argc - optind > (int)nargs &&
			    strspn(argv[optind], "0123456789x") == strlen(argv[optind]))
				arg = argv[optind++];
			o->udpencap = 4500;
			if (arg) {
				if (opt_uint(argv[0], "--udpencap", arg, 65535, &v) < 0)
					return -1;
				if (!v) {
					fprintf(stderr, "%s: --udpencap port 0 is not a port\n",
						argv[0]);
					return -1;
				}
				o->udpencap = (uint16_t)v;
			}
			break;
		}
		}
	}
	if (!o->sa || (unsigned)(argc - optind) != nargs) {
		fputs(usage, stderr);
		return -1;
	}
	o->in = argv[optind];
	o->out = nargs > 1 ? argv[optind + 1] : NULL;
	return 0;
}

/* ---- what verify and decap share ---- */

struct checked {
	const char *proto; /* "esp", "ah", or NULL when not IPsec */
	bool natt;
	uint32_t spi, seq;
	const char *verdict; /* "ok" or a reason */
	bool good;           /* ok, or an authentic dummy packet */
	int nh;              /* next header after IPsec, when ok */
	struct pkt *p;       /* when ok: the packet after IPsec processing */
	size_t skip;         /* its IP header's length */
};

/* The drop reason a node last counted, without its protocol prefix. */
static const char *reason(const struct node *n)
{
	if (n->last_drop < 0)
		return "dropped";
	const char *s = stat_name((enum stat_id)n->last_drop);
	const char *dot = strchr(s, '.');
	return dot ? dot + 1 : s;
}

/* A capture may start in the middle of an SA's life: its first packet
 * sets the receiver's state, as if the one before it had been the last
 * seen (the high half of an ESN counter is the SA file's).  Which SAs have
 * had their first packet, by serial number. */
struct primed {
	uint64_t *serial;
	unsigned n;
};

/* Prime t for its first packet; true when this packet did.  A packet that
 * then fails leaves the SA unprimed (unprime), as it leaves a receiver's
 * window unmoved. */
static bool prime(struct primed *pr, struct tdb *t, uint32_t seq)
{
	for (unsigned i = 0; i < pr->n; i++)
		if (pr->serial[i] == t->serial)
			return false;
	pr->serial = xgrow(pr->serial, pr->n, sizeof(*pr->serial));
	pr->serial[pr->n++] = t->serial;
	uint64_t first = (t->replay.rpl >> 32) << 32 | seq;
	/* A fresh SA's state (REPLAY_FIRST) already expects 1; 0 with nothing
	 * before it stays a wrap. */
	if (first > REPLAY_FIRST)
		t->replay.rpl = first - 1;
	return true;
}

static void unprime(struct primed *pr, struct tdb *t, uint64_t rpl)
{
	pr->n--; /* the last one added is t's */
	t->replay.rpl = rpl;
}

/* Where a captured packet's IP header ends and what follows it: for IPv6
 * behind its extension headers.  False when the headers do not hold
 * together. */
static bool ip_split(const uint8_t *ip, size_t len, struct ipsec_ip *iph, uint8_t *proto)
{
	iph->af = ipsec_ip_af(ip, len);
	if (iph->af == ADDR_V4) {
		iph->skip = (size_t)(ip[0] & 0x0f) * 4;
		iph->protoff = 9;
		*proto = ip[9];
		return true;
	}
	struct ip6_chain ch;
	if (iph->af != ADDR_V6 || ip6_walk_quiet(ip, len, &ch) < 0 || ch.later_fragment)
		return false;
	iph->skip = ch.off;
	iph->protoff = ch.n ? ch.ext[ch.n - 1].off : 6;
	*proto = ch.proto;
	return true;
}

/* One IP packet through ESP or AH input on the scratch node. */
static void check_packet(struct node *n, struct primed *pr, const struct cap_packet *cp,
			 struct checked *c)
{
	*c = (struct checked){0};
	const uint8_t *ip = cp->ip;
	struct ipsec_ip iph;
	uint8_t proto;
	if (!ip_split(ip, cp->len, &iph, &proto))
		return;
	size_t hl = iph.skip, len = cp->len;
	const uint8_t *body = ip + hl;
	size_t blen = len - hl;
	if (proto == 17 && blen >= UDP_HLEN + 4 &&
	    (get_be16(body) == NATT_PORT || get_be16(body + 2) == NATT_PORT) &&
	    get_be32(body + UDP_HLEN) != 0) {
		/* RFC 3948: ESP in UDP; a zero marker is IKE, one 0xff byte a keepalive */
		c->natt = true;
		proto = IPPROTO_ESP;
		body += UDP_HLEN;
		blen -= UDP_HLEN;
	} else if (proto != IPPROTO_ESP && proto != IPPROTO_AH) {
		return;
	}
	c->proto = proto == IPPROTO_ESP ? "esp" : "ah";
	size_t need = proto == IPPROTO_ESP ? 8 : 12;
	if (blen < need) {
		c->verdict = "hdrops";
		return;
	}
	c->spi = get_be32(proto == IPPROTO_ESP ? body : body + 4);
	c->seq = get_be32(proto == IPPROTO_ESP ? body + 4 : body + 8);
	struct ipaddr dst = ipsec_ip_dst(ip);
	struct tdb *t = sad_lookup(&n->ipsec->sad, &dst, c->spi, proto);
	if (!t) {
		c->verdict = "notdb";
		return;
	}
	uint64_t rpl = t->replay.rpl;
	bool primed = t->wnd && prime(pr, t, c->seq);
	/* The packet as esp_input wants it: the IP header, then ESP (the UDP
	 * header of ESP in UDP taken out). */
	struct pkt *p = pkt_from(ip, hl, PKT_HEADROOM);
	memcpy(pkt_put(p, blen), body, blen);
	if (c->natt)
		ipsec_ip_fix(p->data, p->len, &iph, IPPROTO_ESP);
	n->last_drop = -1;
	int nh = proto == IPPROTO_ESP ? esp_input(n, t, p, &iph) : ah_input(n, t, p, &iph);
	if (nh < 0) {
		c->verdict = reason(n); /* the packet is freed */
		if (primed)
			unprime(pr, t, rpl);
		/* RFC 4303 2.6: a dummy packet is authentic, and discarded */
		c->good = n->last_drop == STAT_ESP_DUMMY;
		return;
	}
	c->good = true;
	c->verdict = "ok";
	c->nh = nh;
	c->p = p;
	c->skip = hl;
}

static void print_verdict(const struct opts *o, const struct cap_packet *cp,
			  const struct checked *c)
{
	char src[ADDR_STRLEN], dst[ADDR_STRLEN];
	struct ipaddr s = ipsec_ip_src(cp->ip), d = ipsec_ip_dst(cp->ip);
	addr_fmt(&s, src);
	addr_fmt(&d, dst);
	if (o->json) {
		printf("{\"frame\": %u, \"proto\": \"%s\", \"spi\": %u, \"seq\": %u, "
		       "\"src\": \"%s\", \"dst\": \"%s\", \"udp_encap\": %s, \"verdict\": \"%s\"",
		       cp->frame, c->proto, c->spi, c->seq, src, dst, c->natt ? "true" : "false",
		       c->verdict);
		if (c->p)
			printf(", \"next_header\": %d", c->nh);
		if (cp->fragments)
			printf(", \"fragments\": %u", cp->fragments);
		printf("}\n");
	} else {
		printf("frame %u: %s %s > %s spi 0x%08x seq %u%s%s: %s\n", cp->frame, c->proto, src,
		       dst, c->spi, c->seq, c->natt ? " (udp 4500)" : "",
		       cp->fragments ? " (reassembled)" : "", c->verdict);
	}
}

static struct node *scratch(struct sim **sim, const struct opts *o, const char *who)
{
	*sim = sim_new(o->seed);
	struct node *n = sim_add_node(*sim, who);
	if (safile_load(n, o->sa, o->window, stderr) < 0) {
		sim_free(*sim);
		*sim = NULL;
		return NULL;
	}
	/* The high half of ESN counters, for files that cannot say it. */
	for (struct tdb *t = n->ipsec->sad.head; o->esn_hi_set && t; t = t->next)
		if (t->flags & TDBF_ESN)
			t->replay.rpl = (uint64_t)o->esn_hi << 32 | (uint32_t)t->replay.rpl;
	return n;
}

static pcap_dumper_t *open_raw_out(const char *path, pcap_t **pd)
{
	*pd = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO);
	pcap_dumper_t *d = *pd ? pcap_dump_open(*pd, path) : NULL;
	if (!d) {
		fprintf(stderr, "%s: %s\n", path, *pd ? pcap_geterr(*pd) : "cannot open");
		if (*pd)
			pcap_close(*pd);
	}
	return d;
}

static void dump_raw(pcap_dumper_t *d, uint64_t ts_ns, const uint8_t *b, size_t len)
{
	struct pcap_pkthdr h = {.caplen = (uint32_t)len, .len = (uint32_t)len};
	h.ts.tv_sec = (time_t)(ts_ns / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000u); /* nanoseconds */
	pcap_dump((u_char *)d, &h, b);
}

/* What each SPI's packets came to, for the hints after the summary: a key
 * that fails every packet, an SA written the other way round.  At most
 * SPIS_MAX of them, in the order first seen. */
#define SPIS_MAX 4096
struct spi_seen {
	uint8_t key[1 + 4 + 2 * 17]; /* protocol, SPI, source, destination */
	const char *proto;
	uint32_t spi;
	struct ipaddr src, dst;
	unsigned n, badauth, notdb;
};

struct spis {
	struct spi_seen **v;
	unsigned n;
	struct hmap by_key;
};

static void spi_note(struct spis *s, const struct cap_packet *cp, const struct checked *c)
{
	struct spi_seen k = {.proto = c->proto, .spi = c->spi};
	k.src = ipsec_ip_src(cp->ip);
	k.dst = ipsec_ip_dst(cp->ip);
	k.key[0] = c->proto[0];
	put_be32(k.key + 1, c->spi);
	k.key[5] = k.src.af;
	memcpy(k.key + 6, k.src.a, addr_len(k.src.af));
	k.key[22] = k.dst.af;
	memcpy(k.key + 23, k.dst.a, addr_len(k.dst.af));
	struct spi_seen *e = hmap_get(&s->by_key, k.key, sizeof(k.key));
	if (!e) {
		if (s->n >= SPIS_MAX)
			return;
		e = xmalloc(sizeof(*e));
		*e = k;
		hmap_add(&s->by_key, e->key, sizeof(e->key), e);
		s->v = xgrow(s->v, s->n, sizeof(*s->v));
		s->v[s->n++] = e;
	}
	e->n++;
	e->badauth += strcmp(c->verdict, "badauth") == 0;
	e->notdb += strcmp(c->verdict, "notdb") == 0;
}

/* A hint for each SPI whose every packet failed the same telling way. */
static void spi_hints(struct spis *s, struct node *n, const char *in)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct spi_seen *e = s->v[i];
		char a[ADDR_STRLEN], b[ADDR_STRLEN];
		addr_fmt(&e->src, a);
		addr_fmt(&e->dst, b);
		uint8_t proto = e->proto[0] == 'a' ? IPPROTO_AH : IPPROTO_ESP;
		if (e->badauth == e->n)
			fprintf(
			    stderr,
			    "%s: hint: all %u %s packets of spi 0x%08x (%s > %s) failed "
			    "authentication: the key or the algorithm in the SA file is probably "
			    "wrong\n",
			    in, e->n, e->proto, e->spi, a, b);
		else if (e->notdb == e->n && sad_lookup(&n->ipsec->sad, &e->src, e->spi, proto))
			fprintf(stderr,
				"%s: hint: %s packets of spi 0x%08x go to %s, but the SA file has "
				"that SPI for %s, the other way round: swap its addresses\n",
				in, e->proto, e->spi, b, a);
	}
	for (unsigned i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	hmap_free(&s->by_key);
}

/* verify (out == NULL) and decap. */
static int verify_or_decap(int argc, char **argv, bool decap)
{
	struct opts o;
	int rc = parse_opts(argc, argv, decap ? "swH" : "swjHq", decap ? decap_usage : verify_usage,
			    decap ? 2 : 1, &o);
	if (rc)
		return rc > 0 ? 0 : EXIT_USAGE;
	struct sim *sim;
	struct node *n = scratch(&sim, &o, "verify");
	if (!n)
		return EXIT_USAGE;
	struct cap_reader *r = cap_open(o.in, stderr);
	pcap_t *pd = NULL;
	pcap_dumper_t *d = NULL;
	if (r && decap && !(d = open_raw_out(o.out, &pd))) {
		cap_close(r);
		r = NULL;
	}
	if (!r) {
		sim_free(sim);
		return EXIT_USAGE;
	}
	unsigned checked = 0, good = 0, written = 0;
	struct cap_packet cp;
	struct primed pr = {0};
	struct spis spis = {0};
	while ((rc = cap_next(r, &cp)) == 1) {
		struct checked c;
		check_packet(n, &pr, &cp, &c);
		if (!c.proto)
			continue;
		spi_note(&spis, &cp, &c);
		checked++;
		good += c.good;
		if (!decap) {
			if (!o.quiet || !c.good)
				print_verdict(&o, &cp, &c);
		} else if (c.p) {
			/* Tunnel mode carries a whole packet: IPv4 (4) or IPv6 (41). */
			bool inner = c.nh == 4 || c.nh == 41;
			const uint8_t *b = c.p->data + (inner ? c.skip : 0);
			size_t len = c.p->len - (inner ? c.skip : 0);
			dump_raw(d, cp.ts_ns, b, len);
			written++;
		} else if (!c.good) {
			fprintf(stderr, "frame %u: %s spi 0x%08x seq %u: %s\n", cp.frame, c.proto,
				c.spi, c.seq, c.verdict);
		}
		pkt_free(c.p);
	}
	if (!o.json)
		fprintf(decap ? stderr : stdout,
			"%s: %u ESP/AH packets, %u ok, %u not ok (%u frames; %u not IP, %u IP cut "
			"short or broken)\n",
			o.in, checked, good, checked - good, cap_frames(r), cap_not_ip(r),
			cap_skipped(r));
	if (decap)
		fprintf(stderr, "%s: %u packets written\n", o.out, written);
	if (cap_incomplete(r))
		fprintf(stderr, "%s: %u fragments of datagrams never completed\n", o.in,
			cap_incomplete(r));
	if (!checked)
		fprintf(stderr, "%s: no ESP or AH packet to check\n", o.in);
	spi_hints(&spis, n, o.in);
	free(pr.serial);
	cap_close(r);
	if (d) {
		pcap_dump_close(d);
		pcap_close(pd);
	}
	sim_free(sim);
	fflush(stdout);
	if (rc < 0)
		return EXIT_USAGE;
	return checked && good == checked ? 0 : 1;
}

int cmd_verify(int argc, char **argv)
{
	return verify_or_decap(argc, argv, false);
}

int cmd_decap(int argc, char **argv)
{
	return verify_or_decap(argc, argv, true);
}

/* ---- encap ---- */

/* Where a packet finally goes: its destination, or for IPv6 with a type 0
 * routing header that has segments left, the last address in it (the SA
 * a sender picks for transport mode, and the one AH's ICV sees). */
static struct ipaddr final_dst(const uint8_t *ip, size_t len)
{
	struct ipaddr dst = ipsec_ip_dst(ip);
	struct ip6_chain c;
	if (dst.af != ADDR_V6 || ip6_walk_quiet(ip, len, &c) != 0)
		return dst;
	for (unsigned i = 0; i < c.n; i++) {
		if (c.ext[i].type != IPPROTO_ROUTING)
			continue;
		struct ip6_rthdr r;
		ip6_rthdr_parse(ip + c.ext[i].off, c.ext[i].len, &r);
		int naddr = ip6_rthdr_addrs(&r);
		if (r.type == 0 && r.segleft > 0 && naddr > 0)
			memcpy(dst.a, r.data + 4 + (size_t)(naddr - 1) * 16, 16);
	}
	return dst;
}

int cmd_encap(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts(argc, argv, "spmeHuS", encap_usage, 2, &o);
	if (rc)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (!o.spi_set) {
		fprintf(stderr, "%s: --spi is required\n%s", argv[0], encap_usage);
		return EXIT_USAGE;
	}
	o.window = 64;
	struct sim *sim;
	struct node *n = scratch(&sim, &o, "encap");
	if (!n)
		return EXIT_USAGE;
	struct tdb *t = NULL;
	unsigned matches = 0;
	for (struct tdb *x = n->ipsec->sad.head; x; x = x->next)
		if (x->spi == o.spi && (x->sproto == IPPROTO_ESP || x->sproto == IPPROTO_AH)) {
			t = t ? t : x;
			matches++;
		}
	if (matches != 1) {
		fprintf(stderr, "%s: %s SA with SPI 0x%08x in %s\n", argv[0],
			matches ? "more than one" : "no ESP or AH", o.spi, o.sa);
		sim_free(sim);
		return EXIT_USAGE;
	}
	bool tunnel = o.mode < 0 ? (t->flags & TDBF_TUNNELING) != 0 : o.mode == 1;
	if (o.udpencap) {
		if (t->sproto != IPPROTO_ESP) {
			fprintf(stderr, "%s: --udpencap is for ESP; SPI 0x%08x is AH\n", argv[0],
				o.spi);
			sim_free(sim);
			return EXIT_USAGE;
		}
		t->flags |= TDBF_UDPENCAP;
		t->udpencap_port = o.udpencap;
		n->sysctl[SYSCTL_ESP_UDPENCAP_PORT] = o.udpencap;
	}
	/* Sequence numbers from 1, or --seq (within the ESN high half the file
	 * gives). */
	t->replay.rpl = (t->replay.rpl >> 32) << 32 | (o.seq ? o.seq : REPLAY_FIRST);
	struct cap_reader *r = cap_open(o.in, stderr);
	pcap_t *pd = NULL;
	pcap_dumper_t *d = r ? open_raw_out(o.out, &pd) : NULL;
	if (!d) {
		cap_close(r);
		sim_free(sim);
		return EXIT_USAGE;
	}
	unsigned written = 0, refused = 0;
	struct cap_packet cp;
	while ((rc = cap_next(r, &cp)) == 1) {
		/* Transport mode keeps the packet's addresses, and a receiver
		 * finds the SA by its destination: a packet to elsewhere would
		 * never verify (a kernel tunnels it: ipsp_process_packet). */
		struct ipaddr dst = final_dst(cp.ip, cp.len);
		if (!tunnel && !addr_eq(&dst, &t->dst)) {
			char want[ADDR_STRLEN], got[ADDR_STRLEN];
			fprintf(stderr,
				"frame %u: not protected: in transport mode the packet must go to "
				"the SA's destination %s, not %s (--mode tunnel wraps it)\n",
				cp.frame, addr_fmt(&t->dst, want), addr_fmt(&dst, got));
			refused++;
			continue;
		}
		struct pkt *p = pkt_from(cp.ip, cp.len, PKT_HEADROOM);
		int e = 0;
		if (tunnel)
			e = ipsec_ipip_encap(n, t, p);
		if (!e)
			e = t->sproto == IPPROTO_ESP ? esp_output(n, t, p) : ah_output(n, t, p);
		if (!e && o.udpencap)
			e = udpencap_output(n, t, p);
		if (e < 0) { /* dropped and freed */
			fprintf(stderr, "frame %u: not protected: %s\n", cp.frame,
				n->last_drop >= 0 ? stat_name((enum stat_id)n->last_drop)
						  : strerror(-e));
			refused++;
			continue;
		}
		dump_raw(d, cp.ts_ns, p->data, p->len);
		pkt_free(p);
		written++;
	}
	fprintf(stderr, "%s: %u packets protected with SPI 0x%08x (%s%s), %u refused\n", o.out,
		written, o.spi, tunnel ? "tunnel" : "transport", o.udpencap ? ", in UDP" : "",
		refused);
	cap_close(r);
	pcap_dump_close(d);
	pcap_close(pd);
	sim_free(sim);
	return rc < 0 ? EXIT_USAGE : 0;
}
