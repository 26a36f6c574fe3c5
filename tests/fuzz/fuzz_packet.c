/* libFuzzer: packet input on a node with SAs of every transform.
 *
 * Each run loads tests/fuzz/packet.scn (FUZZ_PACKET_SCN overrides the
 * path): node b holds the inbound SAs, node a the same SAs, with which the
 * harness seals what the input asks for, so that ESP and AH pass their ICV
 * check and the code after decryption (padding, next header, the inner
 * packet, the input policy, IPComp, IP-in-IP, fragments) sees fuzzed bytes.
 * The input is a list of records, each an op byte, a 16-bit big-endian
 * length and that many bytes:
 *
 *   op & 3 == 0  an Ethernet frame, handed to b's interface on link l
 *                (op & 4: on link s)
 *   op & 3 == 1  an IP packet (the version nibble picks the EtherType),
 *                framed from a to b the same way
 *   op & 3 == 2  a packet sealed with a's SA number op >> 2 (modulo their
 *                count) and sent from a: the bytes are the payload after a
 *                built IP header whose protocol is the first byte (a tunnel
 *                SA's inner header takes its family from the second byte's
 *                low bit); ICMP, ICMPv6, UDP and TCP get their checksum.
 *                Big packets leave link s (MTU 1280) in fragments.
 *   op & 3 == 3  let the clock run (the first byte + 1) x 10 ms
 *
 * FUZZ_PACKET_STATS=1 prints b's counters after each input.
 *
 * The oracle beyond the sanitizers: when the input has only sealed packets
 * (none carrying IPsec of its own) and clock steps, b must find each SA
 * and every ICV right (esp.notdb, esp.badauth, ah.notdb and ah.badauth
 * stay 0).
 */
#include <stdlib.h>
#include <string.h>

#include "../../ipsec/ipsec_io.h"
#include "../../ipsec/pfkey.h"
#include "../../ipsec/sad.h"
#include "../../sim/scenario.h"
#include "../../sim/sim.h"
#include "../../stack/cksum.h"
#include "../../stack/ether.h"
#include "../../stack/iface.h"
#include "../../stack/ip4.h"
#include "../../stack/ip6.h"
#include "../../stack/node.h"
#include "../../stack/pkt.h"
#include "../../stack/tcp.h"
#include "fuzz.h"

#define MAX_SAS   64
#define TICK_NS   (10 * 1000 * 1000)
#define SETTLE_NS (500 * 1000 * 1000) /* the fixture's pings fill the neighbour caches */
#define DRAIN_NS  (70 * NS_PER_SEC)   /* past the reassembly timeouts (30 s, 60 s) */

static const char *fixture;

struct world {
	struct scenario *sc;
	struct sim *s;
	struct node *a, *b;
	struct iface *aif[2], *bif[2]; /* on links l and s */
	struct tdb *sas[MAX_SAS];      /* a's SAs towards b */
	unsigned nsas;
};

static bool world_load(struct world *w)
{
	char out[96];
	snprintf(out, sizeof(out), "%s/out", fuzz_dir);
	struct scn_options o = {.out = fuzz_null, .err = stderr, .outdir = out, .max_events = 0};
	*w = (struct world){.sc = scenario_load(fixture, &o)};
	if (!w->sc)
		return false;
	w->s = w->sc->sim;
	w->a = sim_find_node(w->s, "a");
	w->b = sim_find_node(w->s, "b");
	w->aif[0] = fuzz_iface_of(w->a, "192.0.2.1");
	w->aif[1] = fuzz_iface_of(w->a, "198.51.100.1");
	w->bif[0] = fuzz_iface_of(w->b, "192.0.2.2");
	w->bif[1] = fuzz_iface_of(w->b, "198.51.100.2");
	for (struct tdb *t = w->a->ipsec->sad.head; t && w->nsas < MAX_SAS; t = t->next)
		if (fuzz_iface_with(w->b, &t->dst))
			w->sas[w->nsas++] = t;
	w->s->max_events = 200000;
	sim_run(w->s, SETTLE_NS, NULL, NULL);
	return w->nsas > 0;
}

static void frame_to_b(struct world *w, unsigned link, struct pkt *p, uint16_t type)
{
	struct ether_hdr h = {.type = type};
	memcpy(h.dst, w->bif[link]->mac, 6);
	memcpy(h.src, w->aif[link]->mac, 6);
	ether_emit(pkt_push(p, 14), &h);
	iface_receive(w->bif[link], p);
}

/* Seal a packet; true when what it carries is IPsec of its own (ESP, AH,
 * IP-in-IP, or UDP to or from port 4500): the fuzzer's SPIs and ICVs
 * inside, which b may rightly refuse. */
static bool seal(struct world *w, unsigned which, const uint8_t *d, size_t len)
{
	struct tdb *t = w->sas[which % w->nsas];
	uint8_t proto = len > 0 ? d[0] : IPPROTO_UDP;
	bool v6 = len > 1 ? d[1] & 1 : false;
	d += len > 1 ? 2 : len;
	len -= len > 1 ? 2 : len;
	bool nested =
	    proto == IPPROTO_ESP || proto == IPPROTO_AH || proto == 4 || proto == 41 ||
	    (proto == IPPROTO_UDP && len >= 4 && (get_be16(d) == 4500 || get_be16(d + 2) == 4500));
	struct ipaddr src = t->src, dst = t->dst;
	if (t->flags & TDBF_TUNNELING) { /* the inner packet: to an address behind b */
		fuzz_addr(&src, v6 ? "2001:db8:1::1" : "10.1.0.1");
		fuzz_addr(&dst, v6 ? "2001:db8:2::1" : "10.2.0.1");
	}
	struct pkt *p = fuzz_build_ip(&src, &dst, proto, d, len);
	ipsec_process(w->a, p, t);
	return nested;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (!fixture) {
		fixture = getenv("FUZZ_PACKET_SCN");
		fixture = fixture && *fixture ? fixture : "tests/fuzz/packet.scn";
	}
	struct world w;
	if (!world_load(&w)) {
		fprintf(stderr, "fuzz-packet: %s does not load, or has no SA towards b\n", fixture);
		abort();
	}
	bool raw = false;
	struct fuzz_record r;
	while (fuzz_next_record(&data, &size, &r)) {
		unsigned link = (r.op >> 2) & 1;
		switch (r.op & 3) {
		case 0:
			raw = true;
			iface_receive(w.bif[link], pkt_from(r.b, r.len, PKT_HEADROOM));
			break;
		case 1:
			raw = true;
			frame_to_b(&w, link, pkt_from(r.b, r.len, PKT_HEADROOM),
				   r.len && r.b[0] >> 4 == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP);
			break;
		case 2: raw |= seal(&w, r.op >> 2, r.b, r.len); break;
		case 3:
			sim_run(w.s, w.s->now + (uint64_t)(r.len ? r.b[0] + 1 : 1) * TICK_NS, NULL,
				NULL);
		}
	}
	sim_run(w.s, w.s->now + DRAIN_NS, NULL, NULL);
	const uint64_t *st = w.b->stats;
	if (!raw && (st[STAT_ESP_NOTDB] || st[STAT_ESP_BADAUTH] || st[STAT_AH_NOTDB] ||
		     st[STAT_AH_BADAUTH])) {
		fprintf(stderr,
			"fuzz-packet: a packet a sealed failed at b: esp.notdb %llu, esp.badauth "
			"%llu, ah.notdb %llu, ah.badauth %llu\n",
			(unsigned long long)st[STAT_ESP_NOTDB],
			(unsigned long long)st[STAT_ESP_BADAUTH],
			(unsigned long long)st[STAT_AH_NOTDB],
			(unsigned long long)st[STAT_AH_BADAUTH]);
		abort();
	}
	if (getenv("FUZZ_PACKET_STATS")) /* to see what an input reaches */
		for (unsigned i = 0; i < STAT__COUNT; i++)
			if (st[i])
				fprintf(stderr, "b %s %llu\n", stat_name((enum stat_id)i),
					(unsigned long long)st[i]);
	scenario_free(w.sc);
	return 0;
}
