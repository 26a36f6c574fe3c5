/*
 * PF_KEY messages as bytes: validation (OpenBSD's pfkeyv2_parsemessage
 * rules), typed accessors for each extension, and a builder.
 */
#ifndef IPSEC_PFKEY_MSG_H
#define IPSEC_PFKEY_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stack/addr.h"
#include "../stack/util.h"
#include "pfkeyv2.h"

/* A validated message: the header and where each extension starts. */
struct pfkey_msg {
	struct sadb_msg hdr;
	const uint8_t *base;
	size_t len;
	const uint8_t *ext[SADB_EXT_MAX + 1]; /* extension header, or NULL */
	uint16_t extlen[SADB_EXT_MAX + 1];    /* bytes, header included */
};

enum pfkey_dir {
	PFKEY_IN,  /* from a user: every rule, the allowed and required tables */
	PFKEY_OUT, /* from the kernel: the structural rules only */
};

/*
 * Validate a message in OpenBSD's order.  Returns 0, or the errno the
 * kernel gives (EINVAL for every malformation).  For PFKEY_IN, pid is the
 * sender's and must be in the header.
 */
MUST_CHECK int pfkey_parse(const uint8_t *buf, size_t len, enum pfkey_dir dir, uint32_t pid,
			   struct pfkey_msg *m);

/* Extensions each message type must and may carry from userland. */
uint64_t pfkey_required_in(uint8_t type);
uint64_t pfkey_allowed_in(uint8_t type);
#define PFKEY_BIT(ext) (UINT64_C(1) << (ext))

const char *pfkey_msg_name(uint8_t type);
const char *pfkey_ext_name(uint16_t type);

/* ---- typed accessors (on a validated message) ---- */
bool pfkey_has(const struct pfkey_msg *m, int ext);
void pfkey_get_sa(const struct pfkey_msg *m, int ext, struct sadb_sa *sa);
void pfkey_get_lifetime(const struct pfkey_msg *m, int ext, struct sadb_lifetime *lt);
/* The address and port (host order) of an address-type extension. */
void pfkey_get_address(const struct pfkey_msg *m, int ext, struct ipaddr *a, uint16_t *port);
/* Key bits and a pointer to the key bytes. */
const uint8_t *pfkey_get_key(const struct pfkey_msg *m, int ext, unsigned *bits);
void pfkey_get_spirange(const struct pfkey_msg *m, struct sadb_spirange *r);
void pfkey_get_protocol(const struct pfkey_msg *m, int ext, struct sadb_protocol *p);
uint32_t pfkey_get_policy_seq(const struct pfkey_msg *m);
/* Identity type and NUL-terminated string. */
const char *pfkey_get_ident(const struct pfkey_msg *m, int ext, uint16_t *type);
uint16_t pfkey_get_udpencap_port(const struct pfkey_msg *m); /* host order */
uint64_t pfkey_get_replay(const struct pfkey_msg *m);
void pfkey_get_rdomain(const struct pfkey_msg *m, uint16_t *dom1, uint16_t *dom2);
const char *pfkey_get_tag(const struct pfkey_msg *m);
uint32_t pfkey_get_tap(const struct pfkey_msg *m);
/* Entries of a SUPPORTED_* list: count, and copy up to max. */
unsigned pfkey_get_supported(const struct pfkey_msg *m, int ext, struct sadb_alg *algs,
			     unsigned max);
unsigned pfkey_get_proposal(const struct pfkey_msg *m, struct sadb_comb *combs, unsigned max);
void pfkey_get_counter(const struct pfkey_msg *m, struct sadb_x_counter *c);

/* ---- building ---- */
struct pfkey_buf {
	uint8_t b[PFKEY_MSG_MAXSZ];
	size_t len;
	bool overflow; /* the message did not fit: pfkb_finish fails */
};

void pfkb_init(struct pfkey_buf *pb, uint8_t type, uint8_t satype, uint32_t seq, uint32_t pid);
/* Raw bytes as one extension (for tests and for copying); len is padded. */
void pfkb_raw(struct pfkey_buf *pb, uint16_t exttype, const void *payload, size_t len);
/* Copy an extension of a validated message unchanged. */
void pfkb_copy(struct pfkey_buf *pb, const struct pfkey_msg *m, int ext);
void pfkb_sa(struct pfkey_buf *pb, uint16_t exttype, uint32_t spi, uint8_t replay, uint8_t state,
	     uint8_t auth, uint8_t encrypt, uint32_t flags); /* spi in host order */
void pfkb_lifetime(struct pfkey_buf *pb, uint16_t exttype, uint32_t allocations, uint64_t bytes,
		   uint64_t addtime, uint64_t usetime);
void pfkb_address(struct pfkey_buf *pb, uint16_t exttype, const struct ipaddr *a, uint16_t port);
void pfkb_key(struct pfkey_buf *pb, uint16_t exttype, const uint8_t *key, unsigned bits);
void pfkb_ident(struct pfkey_buf *pb, uint16_t exttype, uint16_t type, const char *id);
/* The identity type ipsecctl gives a srcid or dstid: PREFIX for an
 * address, USERFQDN with an '@', else FQDN. */
uint16_t pfkey_ident_type(const char *id);
void pfkb_spirange(struct pfkey_buf *pb, uint32_t min, uint32_t max);
void pfkb_protocol(struct pfkey_buf *pb, uint16_t exttype, uint8_t proto, uint8_t direction,
		   uint8_t flags);
void pfkb_policy(struct pfkey_buf *pb, uint32_t seq);
void pfkb_udpencap(struct pfkey_buf *pb, uint16_t port); /* host order */
void pfkb_replay(struct pfkey_buf *pb, uint64_t count);
void pfkb_rdomain(struct pfkey_buf *pb, uint16_t dom1, uint16_t dom2);
void pfkb_tag(struct pfkey_buf *pb, const char *tag);
void pfkb_tap(struct pfkey_buf *pb, uint32_t unit);
void pfkb_supported(struct pfkey_buf *pb, uint16_t exttype, const struct sadb_alg *algs,
		    unsigned n);
void pfkb_proposal(struct pfkey_buf *pb, uint8_t replay, const struct sadb_comb *combs, unsigned n);
void pfkb_counter(struct pfkey_buf *pb, const uint64_t v[8]);
/* Set the length field; returns the size, or 0 when the message overflowed. */
size_t pfkb_finish(struct pfkey_buf *pb);

#endif
