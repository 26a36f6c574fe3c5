/* What every libFuzzer harness of tests/fuzz shares: a scratch directory
 * under /tmp (a scenario writes its trace and captures there; nothing
 * reaches the tree) and the input written to a file in it, since every
 * reader under test takes a path, as users give it one. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Inputs above this are skipped: the readers' own caps are tested by
 * pytest, and small inputs keep the executions fast. */
#define FUZZ_MAX_INPUT (64 * 1024)

/* Once: make and enter the scratch directory; open /dev/null. */
void fuzz_init(void);
/* The input as the file "input" in it; its path, or NULL if too big. */
const char *fuzz_input(const uint8_t *data, size_t size);
extern FILE *fuzz_null;
extern char fuzz_dir[64]; /* in $TMPDIR (else /tmp); removed at exit */

/* The binary harnesses' inputs are records: an op byte, a 16-bit
 * big-endian length and that many bytes (fewer when the input ends). */
struct fuzz_record {
	uint8_t op;
	const uint8_t *b;
	size_t len;
};
/* Take the next record of the input at *data (*size bytes left); false
 * when there is none. */
bool fuzz_next_record(const uint8_t **data, size_t *size, struct fuzz_record *r);

/* Packets, for the harnesses that build their own (fuzz-packet, fuzz-ike). */
struct ipaddr;
struct iface;
struct node;
struct pkt;
void fuzz_addr(struct ipaddr *x, const char *s); /* aborts on a bad one */
/* The interface of n with address x (NULL: none), or named by its address
 * (aborts: the fixture is not what the harness says). */
struct iface *fuzz_iface_with(struct node *n, const struct ipaddr *x);
struct iface *fuzz_iface_of(struct node *n, const char *addr);
/* The checksum (and UDP's length) of an ICMP, ICMPv6, UDP or TCP body. */
void fuzz_l4_cksum(uint8_t *l4, size_t len, const struct ipaddr *src, const struct ipaddr *dst,
		   uint8_t proto);
/* An IP packet of src's family from src to dst carrying proto and the
 * bytes (their transport checksum made good). */
struct pkt *fuzz_build_ip(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
			  const uint8_t *d, size_t len);

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
