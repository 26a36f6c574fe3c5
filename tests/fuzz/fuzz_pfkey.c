/* libFuzzer: PF_KEY message sequences on three sockets of one node.
 *
 * The input is a list of records, each a control byte, a 16-bit big-endian
 * length and that many bytes:
 *
 *   ctl & 3 == 0..2  write the bytes to socket ctl & 3; unless ctl & 4, the
 *                    header is made plausible first (version 2, the length
 *                    field, the socket's pid, errno and reserved 0), so the
 *                    fuzzer spends its time past the header checks
 *   ctl & 3 == 3     let the clock run (the first byte + 1) seconds, for the
 *                    lifetimes and their EXPIREs
 *   ctl & 8          close that socket first and open a new one
 *
 * The oracle: every message the kernel queues on any socket parses again
 * as a message from the kernel (pfkey_parse, PFKEY_OUT), except the bodies
 * of X_PROMISC, which carry what a user wrote; a header-only error reply
 * carries its errno.
 *
 * Seeds: with FUZZ_PFKEY_SEEDS=DIR in the environment and ipsec.conf files
 * (testbed grammar) as arguments, the harness writes for each file the
 * messages that loading it sends, in this format, followed by REGISTER,
 * DUMP, GET, DELETE, a clock step and FLUSH, to DIR/NAME, and exits
 * (tests/fuzz/seeds.sh does this).
 */
#include <stdlib.h>
#include <string.h>

#include "../../ipsec/conf.h"
#include "../../ipsec/pfkey.h"
#include "../../ipsec/pfkey_msg.h"
#include "../../sim/sim.h"
#include "../../stack/node.h"
#include "fuzz.h"

#define NSOCK 3

static void check_queue(struct pfkey_sock *k)
{
	static uint8_t buf[PFKEY_MSG_MAXSZ + sizeof(struct sadb_msg)];
	ssize_t n;
	while ((n = pfkey_read(k, buf, sizeof(buf))) >= 0) {
		if ((size_t)n > sizeof(buf) || (size_t)n < sizeof(struct sadb_msg)) {
			fprintf(stderr, "fuzz-pfkey: queued a message of %zd bytes\n", n);
			abort();
		}
		const struct sadb_msg *h = (const struct sadb_msg *)buf;
		if (h->sadb_msg_type == SADB_X_PROMISC) {
			if ((size_t)h->sadb_msg_len * 8 != (size_t)n) {
				fprintf(stderr, "fuzz-pfkey: X_PROMISC of %zd bytes says %u\n", n,
					h->sadb_msg_len * 8u);
				abort();
			}
			continue;
		}
		struct pfkey_msg m;
		int err = pfkey_parse(buf, (size_t)n, PFKEY_OUT, 0, &m);
		if (err) {
			fprintf(stderr,
				"fuzz-pfkey: the kernel queued a %s (%zd bytes) that does not "
				"parse: %s\n",
				pfkey_msg_name(h->sadb_msg_type), n, strerror(err));
			abort();
		}
	}
}

static void check_all(struct ipsec_state *st)
{
	for (struct pfkey_sock *k = st->socks; k; k = k->next)
		check_queue(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	struct sim *s = sim_new(1);
	s->max_events = 100000;
	struct node *n = sim_add_node(s, "fuzz");
	struct pfkey_sock *k[NSOCK];
	for (unsigned i = 0; i < NSOCK; i++)
		k[i] = pfkey_open(n);
	static uint8_t msg[65536];
	struct fuzz_record r;
	while (fuzz_next_record(&data, &size, &r)) {
		unsigned i = r.op & 3;
		if (i == 3) {
			sim_run(s, s->now + (uint64_t)(r.len ? r.b[0] + 1u : 1u) * NS_PER_SEC, NULL,
				NULL);
		} else {
			if (r.op & 8) {
				pfkey_close(k[i]);
				k[i] = pfkey_open(n);
			}
			memcpy(msg, r.b, r.len);
			size_t wlen = r.len;
			if (!(r.op & 4) && r.len >= sizeof(struct sadb_msg)) {
				wlen = r.len & ~(size_t)7;
				struct sadb_msg h;
				memcpy(&h, msg, sizeof(h));
				h.sadb_msg_version = PF_KEY_V2;
				h.sadb_msg_len = (uint16_t)(wlen / 8);
				h.sadb_msg_errno = 0;
				h.sadb_msg_reserved = 0;
				h.sadb_msg_pid = k[i]->pid;
				memcpy(msg, &h, sizeof(h));
			}
			(void)pfkey_write(k[i], msg, wlen);
		}
		check_all(n->ipsec);
	}
	sim_run(s, s->now + 7200 * NS_PER_SEC, NULL, NULL); /* every lifetime in reach */
	check_all(n->ipsec);
	for (unsigned i = 0; i < NSOCK; i++)
		pfkey_close(k[i]);
	sim_free(s);
	return 0;
}

/* ---- seeds ---- */

static void put_record(FILE *f, uint8_t ctl, const void *b, size_t len)
{
	uint8_t h[3] = {ctl, (uint8_t)(len >> 8), (uint8_t)len};
	fwrite(h, 1, 3, f);
	fwrite(b, 1, len, f);
}

static void put_built(FILE *f, uint8_t sock, struct pfkey_buf *pb)
{
	size_t len = pfkb_finish(pb);
	if (len)
		put_record(f, sock, pb->b, len);
}

/* The messages that loading one ipsec.conf writes, and some of every kind. */
static int write_seed(const char *dir, const char *conf_path)
{
	struct conf_options o = {.mode = CONF_TESTBED, .err = stderr};
	struct conf conf;
	if (conf_parse(conf_path, &o, &conf) != 0) {
		conf_free(&conf);
		return -1;
	}
	struct sim *s = sim_new(1);
	struct node *n = sim_add_node(s, "seeds");
	struct pfkey_sock *spy = pfkey_open(n), *w = pfkey_open(n);
	struct pfkey_buf pb;
	pfkb_init(&pb, SADB_X_PROMISC, 1, 0, spy->pid);
	if (pfkey_write(spy, pb.b, pfkb_finish(&pb)) != 0)
		abort();
	conf_load(&conf, w, stderr, NULL);
	const char *base = strrchr(conf_path, '/');
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, base ? base + 1 : conf_path);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	static uint8_t buf[PFKEY_MSG_MAXSZ + sizeof(struct sadb_msg)];
	ssize_t len;
	struct tdb *first = n->ipsec ? n->ipsec->sad.head : NULL;
	while ((len = pfkey_read(spy, buf, sizeof(buf))) >= 0)
		if (((struct sadb_msg *)buf)->sadb_msg_type == SADB_X_PROMISC &&
		    (size_t)len > sizeof(struct sadb_msg))
			put_record(f, 0, buf + sizeof(struct sadb_msg),
				   (size_t)len - sizeof(struct sadb_msg));
	pfkb_init(&pb, SADB_REGISTER, SADB_SATYPE_ESP, 1, 0);
	put_built(f, 1, &pb);
	pfkb_init(&pb, SADB_DUMP, SADB_SATYPE_UNSPEC, 2, 0);
	put_built(f, 2, &pb);
	if (first) {
		uint8_t satype = first->sproto == IPPROTO_AH       ? SADB_SATYPE_AH
				 : first->sproto == IPPROTO_IPCOMP ? SADB_X_SATYPE_IPCOMP
				 : first->sproto == IPPROTO_IPIP   ? SADB_X_SATYPE_IPIP
								   : SADB_SATYPE_ESP;
		for (uint8_t type = SADB_GET; type >= SADB_DELETE; type--) {
			pfkb_init(&pb, type, satype, 3, 0);
			pfkb_sa(&pb, SADB_EXT_SA, first->spi, 0, SADB_SASTATE_MATURE, 0, 0, 0);
			pfkb_address(&pb, SADB_EXT_ADDRESS_SRC, &first->src, 0);
			pfkb_address(&pb, SADB_EXT_ADDRESS_DST, &first->dst, 0);
			put_built(f, 0, &pb);
		}
	}
	const uint8_t tick = 59;
	put_record(f, 3, &tick, 1);
	pfkb_init(&pb, SADB_FLUSH, SADB_SATYPE_UNSPEC, 4, 0);
	put_built(f, 1, &pb);
	fclose(f);
	pfkey_close(spy);
	pfkey_close(w);
	sim_free(s);
	conf_free(&conf);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	const char *dir = getenv("FUZZ_PFKEY_SEEDS");
	if (!dir || !*dir)
		return 0;
	int bad = 0;
	for (int i = 1; i < *argc; i++)
		if ((*argv)[i][0] != '-')
			bad |= write_seed(dir, (*argv)[i]) != 0;
	exit(bad ? 1 : 0);
}
