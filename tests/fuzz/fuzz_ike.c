/* libFuzzer: the IKEv2 daemon, as a peer would feed it.
 *
 * Each run loads tests/fuzz/ike.scn (FUZZ_IKE_SCN overrides the path) and
 * lets b's daemon bring up its IKE SA with a's; then the input, a list of
 * records (an op byte, a 16-bit big-endian length, that many bytes),
 * reaches a's daemon as if from b:
 *
 *   op & 3 == 0  a UDP datagram from b port 500 to a port 500: the bytes
 *                are the whole IKE message
 *   op & 3 == 1  the same to port 4500 from b port 4500, after the
 *                non-ESP marker (op & 4: without it)
 *   op & 3 == 2  a message sealed with b's IKE SA's keys (so that a's
 *                checks pass and the handlers after decryption see the
 *                fuzzed bytes): the first byte is the exchange type, the
 *                second the first inner payload's type, the rest the inner
 *                payload chain; a request with b's next message ID (op & 4:
 *                a response, to a's last request)
 *   op & 3 == 3  let the clock run (the first byte + 1) x 100 ms
 *
 * Then the clock runs 400 s: retransmissions give up, half-open SAs
 * expire, liveness checks, rekeys and DELETEs go both ways.  The oracle is
 * the sanitizers and the engine's event cap (a daemon that loops forever
 * hits it).
 */
#include <stdlib.h>
#include <string.h>

#include "../../ike/iked_int.h"
#include "../../sim/scenario.h"
#include "../../stack/ether.h"
#include "../../stack/iface.h"
#include "fuzz.h"

#define SETTLE_NS (200 * 1000 * 1000)
#define TICK_NS   (100 * 1000 * 1000)
#define DRAIN_NS  (400 * NS_PER_SEC)

static const char *fixture;

struct world {
	struct scenario *sc;
	struct sim *s;
	struct node *a, *b;
	struct iface *aif, *bif;
	struct iked *db;
};

static bool world_load(struct world *w)
{
	char out[96];
	snprintf(out, sizeof(out), "%s/out", fuzz_dir);
	struct scn_options o = {.out = fuzz_null, .err = stderr, .outdir = out, .max_events = 0};
	*w = (struct world){.sc = scenario_load(fixture, &o)};
	if (!w->sc || !w->sc->ikeds)
		return false;
	w->s = w->sc->sim;
	w->a = sim_find_node(w->s, "a");
	w->b = sim_find_node(w->s, "b");
	w->aif = fuzz_iface_of(w->a, "192.0.2.1");
	w->bif = fuzz_iface_of(w->b, "192.0.2.2");
	w->db = iked_find(w->sc->ikeds, w->b);
	w->s->max_events = 2000000;
	sim_run(w->s, SETTLE_NS, NULL, NULL);
	return w->db && iked_stats(w->db)->established == 1;
}

/* A UDP datagram from b to a, framed onto a's interface. */
static void udp_to_a(struct world *w, uint16_t port, const uint8_t *d, size_t len)
{
	if (len > 65535 - 20 - 8)
		len = 65535 - 20 - 8;
	uint8_t *u = xmalloc(8 + len);
	put_be16(u, port);
	put_be16(u + 2, port);
	memcpy(u + 8, d, len);
	struct ipaddr src, dst;
	fuzz_addr(&src, "192.0.2.2");
	fuzz_addr(&dst, "192.0.2.1");
	struct pkt *p = fuzz_build_ip(&src, &dst, IPPROTO_UDP, u, 8 + len);
	free(u);
	struct ether_hdr h = {.type = ETHERTYPE_IP};
	memcpy(h.dst, w->aif->mac, 6);
	memcpy(h.src, w->bif->mac, 6);
	ether_emit(pkt_push(p, 14), &h);
	iface_receive(w->aif, p);
}

/* b's newest established IKE SA, or NULL. */
static struct ike_sa *b_sa(struct world *w)
{
	for (unsigned i = w->db->nsas; i-- > 0;)
		if (w->db->sas[i]->state == S_ESTABLISHED)
			return w->db->sas[i];
	return NULL;
}

static void sealed(struct world *w, bool response, const uint8_t *d, size_t len)
{
	struct ike_sa *sa = b_sa(w);
	if (!sa || len < 2)
		return;
	struct ike_buf *in = xmalloc(sizeof(*in)), *m = xmalloc(sizeof(*m));
	ikeb_init_chain(in);
	in->b[0] = d[1];
	ikeb_put(in, d + 2, len - 2);
	struct ike_hdr h;
	ik_hdr_for(sa, &h, d[0], response, response ? sa->peer_msgid - 1 : sa->next_msgid++);
	if (ik_seal(sa, &h, in, m) == 0)
		udp_to_a(w, sa->natt ? IKE_NATT_PORT : IKE_PORT, m->b, m->len);
	free(in);
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (!fixture) {
		fixture = getenv("FUZZ_IKE_SCN");
		fixture = fixture && *fixture ? fixture : "tests/fuzz/ike.scn";
	}
	struct world w;
	if (!world_load(&w)) {
		fprintf(stderr, "fuzz-ike: %s does not load, or b's IKE SA does not come up\n",
			fixture);
		abort();
	}
	struct fuzz_record r;
	while (fuzz_next_record(&data, &size, &r)) {
		switch (r.op & 3) {
		case 0: udp_to_a(&w, IKE_PORT, r.b, r.len); break;
		case 1: {
			bool marker = !(r.op & 4);
			uint8_t *b = xmalloc(r.len + 4);
			memset(b, 0, 4);
			memcpy(b + (marker ? 4 : 0), r.b, r.len);
			udp_to_a(&w, IKE_NATT_PORT, b, r.len + (marker ? 4 : 0));
			free(b);
			break;
		}
		case 2: sealed(&w, r.op & 4, r.b, r.len); break;
		case 3:
			sim_run(w.s, w.s->now + (uint64_t)(r.len ? r.b[0] + 1 : 1) * TICK_NS, NULL,
				NULL);
		}
	}
	sim_run(w.s, w.s->now + DRAIN_NS, NULL, NULL);
	if (w.s->at_limit) {
		fprintf(stderr, "fuzz-ike: the run hit its event cap: a loop?\n");
		abort();
	}
	scenario_free(w.sc);
	return 0;
}
