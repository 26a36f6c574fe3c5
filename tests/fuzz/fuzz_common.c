/* The shared part of the harnesses (fuzz.h). */
#include "fuzz.h"

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../stack/cksum.h"
#include "../../stack/iface.h"
#include "../../stack/ip4.h"
#include "../../stack/ip6.h"
#include "../../stack/node.h"
#include "../../stack/pkt.h"
#include "../../stack/tcp.h"

FILE *fuzz_null;
char fuzz_dir[64]; /* the scratch directory (libFuzzer's own paths stay relative to the cwd) */
static char input_path[96];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* At a normal exit the scratch directory goes (a crash leaves it, with the
 * input that crashed, for a look). */
static void fuzz_cleanup(void)
{
	nftw(fuzz_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_init(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/ipsecsim-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_dir)) {
		perror("fuzz: scratch directory");
		exit(1);
	}
	atexit(fuzz_cleanup);
	snprintf(input_path, sizeof(input_path), "%s/input", fuzz_dir);
	fuzz_null = fopen("/dev/null", "w");
	if (!fuzz_null) {
		perror("fuzz: /dev/null");
		exit(1);
	}
}

const char *fuzz_input(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return NULL;
	FILE *f = fopen(input_path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror("fuzz: input");
		exit(1);
	}
	return input_path;
}

bool fuzz_next_record(const uint8_t **data, size_t *size, struct fuzz_record *r)
{
	if (*size < 3)
		return false;
	const uint8_t *d = *data;
	size_t len = (size_t)d[1] << 8 | d[2], left = *size - 3;
	*r = (struct fuzz_record){d[0], d + 3, len < left ? len : left};
	*data += 3 + r->len;
	*size -= 3 + r->len;
	return true;
}

/* A harness with set-up of its own defines this too. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

/* ---- packets, for the harnesses that build their own ---- */

void fuzz_addr(struct ipaddr *x, const char *s)
{
	if (addr_parse(s, x) != 0)
		abort();
}

/* The interface of n that has the address x, or NULL. */
struct iface *fuzz_iface_with(struct node *n, const struct ipaddr *x)
{
	for (unsigned i = 0; i < n->nifaces; i++)
		for (unsigned j = 0; j < n->ifaces[i]->naddrs; j++)
			if (addr_eq(&n->ifaces[i]->addrs[j].addr, x))
				return n->ifaces[i];
	return NULL;
}

struct iface *fuzz_iface_of(struct node *n, const char *addr)
{
	struct ipaddr x;
	fuzz_addr(&x, addr);
	struct iface *ifp = fuzz_iface_with(n, &x);
	if (!ifp)
		abort(); /* the fixture is not what this file says */
	return ifp;
}

/* The transport checksum of a built packet, where its protocol has one. */
void fuzz_l4_cksum(uint8_t *l4, size_t len, const struct ipaddr *src, const struct ipaddr *dst,
		   uint8_t proto)
{
	size_t at = proto == IPPROTO_UDP ? 6 : proto == IPPROTO_TCP ? 16 : 2;
	if ((proto != IPPROTO_ICMP && proto != IPPROTO_ICMPV6 && proto != IPPROTO_UDP &&
	     proto != IPPROTO_TCP) ||
	    len < at + 2)
		return;
	if (proto == IPPROTO_UDP && len >= 8) { /* its length field too */
		l4[4] = (uint8_t)(len >> 8);
		l4[5] = (uint8_t)len;
	}
	l4[at] = l4[at + 1] = 0;
	uint32_t sum = cksum_add(0, l4, len);
	if (proto != IPPROTO_ICMP)
		sum += cksum_pseudo(src, dst, proto, (uint32_t)len);
	uint16_t c = cksum_fold(sum);
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	l4[at] = (uint8_t)(c >> 8);
	l4[at + 1] = (uint8_t)c;
}

/* An IP packet of the family from src to dst carrying proto and the bytes. */
struct pkt *fuzz_build_ip(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
			  const uint8_t *d, size_t len)
{
	size_t hl = src->af == ADDR_V4 ? 20 : 40;
	if (len > 65535 - hl)
		len = 65535 - hl;
	struct pkt *p = pkt_alloc(PKT_HEADROOM, hl + len);
	memcpy(p->data + hl, d, len);
	fuzz_l4_cksum(p->data + hl, len, src, dst, proto);
	if (src->af == ADDR_V4) {
		struct ip4_hdr h = {.hlen = 20,
				    .len = (uint16_t)(hl + len),
				    .id = (uint16_t)len,
				    .ttl = 64,
				    .proto = proto,
				    .src = *src,
				    .dst = *dst};
		ip4_emit(p->data, &h);
	} else {
		struct ip6_hdr h = {
		    .plen = (uint16_t)len, .nxt = proto, .hlim = 64, .src = *src, .dst = *dst};
		ip6_emit(p->data, &h);
	}
	return p;
}
