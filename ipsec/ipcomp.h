/* IPComp (RFC 3173) with deflate (RFC 2394), as OpenBSD's ip_ipcomp.c. */
#ifndef IPSEC_IPCOMP_H
#define IPSEC_IPCOMP_H

#include <stddef.h>
#include <stdint.h>

struct node;
struct pkt;
struct tdb;
struct ipsec_ip;

#define IPCOMP_HLENGTH 4  /* next header, flags, CPI */
#define IPCOMP_MINLEN  90 /* comp_algo_deflate's minlen: smaller goes as it is */

/* Compress the payload behind the IP header(s) and put the IPComp header in
 * front of it.  A payload under IPCOMP_MINLEN, or one that would not get
 * smaller by more than the header, goes on unchanged (ipcomp.minlen; RFC
 * 3173 2.2's non-expansion policy).  0, or a negative errno with the packet
 * dropped. */
int ipcomp_output(struct node *n, struct tdb *t, struct pkt *p);
/* Decompress after the IPComp header at ip->skip: the next header, or -1
 * with the packet dropped. */
int ipcomp_input(struct node *n, struct tdb *t, struct pkt *p, const struct ipsec_ip *ip);
/* Raw deflate as OpenBSD's deflate_global (window 2^12, Z_FINISH): the
 * compressed length, or 0 when it does not fit in cap (the caller then
 * sends the data as it is).  Exposed for the unit tests. */
size_t ipcomp_deflate(struct tdb *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* Inflate one complete raw deflate stream: its length, or -1 when it is
 * not one or does not fit in cap. */
long ipcomp_inflate(struct tdb *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* Free an SA's compression contexts (from tdb_free). */
void ipcomp_free(struct tdb *t);

#endif
