/*
 * IKEv2 messages on the wire (RFC 7296 section 3): the header, the chain
 * of payloads, and the bodies the daemon reads and writes.  Parsing checks
 * every length before it reads; building never writes past the buffer
 * (an overflow is remembered and the message refused).
 */
#ifndef IKE_IKE_WIRE_H
#define IKE_IKE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stack/addr.h"

#define IKE_HDR_LEN      28
#define IKE_PAYLOAD_HDR  4
#define IKE_MSG_MAX      8192 /* no IKE fragmentation: a bigger message is refused */
#define IKE_MAX_PAYLOADS 32
#define IKE_MAX_PROPS    8
#define IKE_MAX_XFS      16
#define IKE_MAX_TS       4
#define IKE_PORT         500
#define IKE_NATT_PORT    4500

/* Exchange types (3.1) */
#define IKE_SA_INIT     34
#define IKE_AUTH        35
#define CREATE_CHILD_SA 36
#define INFORMATIONAL   37

/* Header flags */
#define IKE_FLAG_I 0x08
#define IKE_FLAG_V 0x10
#define IKE_FLAG_R 0x20

/* Payload types (3.2) */
#define IKE_PL_NONE    0
#define IKE_PL_SA      33
#define IKE_PL_KE      34
#define IKE_PL_IDI     35
#define IKE_PL_IDR     36
#define IKE_PL_CERT    37
#define IKE_PL_CERTREQ 38
#define IKE_PL_AUTH    39
#define IKE_PL_NONCE   40
#define IKE_PL_N       41
#define IKE_PL_D       42
#define IKE_PL_V       43
#define IKE_PL_TSI     44
#define IKE_PL_TSR     45
#define IKE_PL_SK      46

/* Protocol ids (3.3.1) */
#define IKE_PROTO_IKE 1
#define IKE_PROTO_AH  2
#define IKE_PROTO_ESP 3

/* Transform types and ids (3.3.2, IANA) */
#define IKE_XF_ENCR            1
#define IKE_XF_PRF             2
#define IKE_XF_INTEG           3
#define IKE_XF_DH              4
#define IKE_XF_ESN             5
#define ENCR_AES_CBC           12
#define ENCR_AES_GCM_16        20
#define ENCR_CHACHA20_POLY1305 28
#define PRF_HMAC_SHA1          2
#define PRF_HMAC_SHA2_256      5
#define PRF_HMAC_SHA2_384      6
#define PRF_HMAC_SHA2_512      7
#define AUTH_NONE              0
#define AUTH_HMAC_SHA1_96      2
#define AUTH_HMAC_SHA2_256_128 12
#define AUTH_HMAC_SHA2_384_192 13
#define AUTH_HMAC_SHA2_512_256 14
#define IKE_ATTR_KEYLEN        14 /* TV format: 0x800e */

/* ID types (3.5) */
#define IKE_ID_IPV4  1
#define IKE_ID_FQDN  2
#define IKE_ID_UFQDN 3
#define IKE_ID_IPV6  5

/* AUTH methods (3.8) */
#define IKE_AUTH_PSK 2

/* Notify types (3.10.1) */
#define N_UNSUPPORTED_CRITICAL_PAYLOAD 1
#define N_INVALID_IKE_SPI              4
#define N_INVALID_MAJOR_VERSION        5
#define N_INVALID_SYNTAX               7
#define N_INVALID_MESSAGE_ID           9
#define N_INVALID_SPI                  11
#define N_NO_PROPOSAL_CHOSEN           14
#define N_INVALID_KE_PAYLOAD           17
#define N_AUTHENTICATION_FAILED        24
#define N_TS_UNACCEPTABLE              38
#define N_TEMPORARY_FAILURE            43
#define N_NO_ADDITIONAL_SAS            35
#define N_CHILD_SA_NOT_FOUND           44
#define N_INITIAL_CONTACT              16384
#define N_NAT_DETECTION_SOURCE_IP      16388
#define N_NAT_DETECTION_DESTINATION_IP 16389
#define N_COOKIE                       16390
#define N_USE_TRANSPORT_MODE           16391
#define N_REKEY_SA                     16393

/* TS types (3.13.1) */
#define IKE_TS_IPV4_RANGE 7
#define IKE_TS_IPV6_RANGE 8

struct ike_hdr {
	uint8_t ispi[8], rspi[8];
	uint8_t np, version, exchange, flags;
	uint32_t msgid, length;
};

struct ike_payload {
	uint8_t type;
	bool critical;
	const uint8_t *body;
	size_t len; /* of the body */
};

/* A parsed message: the header and the payloads in order, bodies pointing
 * into the buffer.  An SK payload is always the last one. */
struct ike_msg {
	struct ike_hdr h;
	struct ike_payload pl[IKE_MAX_PAYLOADS];
	unsigned npl;
	size_t sk_off; /* offset of the SK payload's generic header, 0: none */
};

struct ike_xf {
	uint8_t type;
	uint16_t id;
	uint16_t keylen; /* bits; 0: no attribute */
};

struct ike_prop {
	uint8_t num, proto, spisize;
	uint8_t spi[8];
	uint8_t nxf;
	struct ike_xf xf[IKE_MAX_XFS];
};

struct ike_ts {
	uint8_t type, proto;
	uint16_t sport, eport;
	struct ipaddr start, end;
};

struct ike_notify {
	uint8_t proto, spisize;
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	size_t datalen;
};

/* A Delete payload (3.11): for IKE no SPI, for ESP and AH 4-byte SPIs. */
struct ike_delete {
	uint8_t proto, spisize;
	uint16_t nspi;
	const uint8_t *spis; /* nspi * 4 bytes, network order */
};

/* Where parsing failed: a notify type to answer with (INVALID_SYNTAX,
 * UNSUPPORTED_CRITICAL_PAYLOAD, INVALID_MAJOR_VERSION) and why. */
struct ike_perr {
	uint16_t notify;
	const char *why;
};

/* The header, then the chain of payloads.  SK ends the chain as far as
 * this parse goes; its inner chain is parsed after decryption with
 * ike_parse_chain.  0, or -1 with e filled. */
int ike_parse(const uint8_t *b, size_t len, struct ike_msg *m, struct ike_perr *e);
/* Payloads from b (a decrypted SK body), first of type np, appended to m. */
int ike_parse_chain(const uint8_t *b, size_t len, uint8_t np, struct ike_msg *m,
		    struct ike_perr *e);
void ike_hdr_parse(const uint8_t *b, struct ike_hdr *h); /* b: IKE_HDR_LEN bytes */

/* The first payload of a type in m, or NULL. */
const struct ike_payload *ike_find(const struct ike_msg *m, uint8_t type);

int ike_parse_sa(const uint8_t *b, size_t len, struct ike_prop *p, unsigned cap, unsigned *n);
int ike_parse_notify(const uint8_t *b, size_t len, struct ike_notify *n);
int ike_parse_delete(const uint8_t *b, size_t len, struct ike_delete *d);
int ike_parse_ts(const uint8_t *b, size_t len, struct ike_ts *ts, unsigned cap, unsigned *n);
/* KE: the group and the key data. */
int ike_parse_ke(const uint8_t *b, size_t len, uint16_t *group, const uint8_t **data, size_t *dlen);
/* ID and AUTH: a type byte, three reserved, the data. */
int ike_parse_typed(const uint8_t *b, size_t len, uint8_t *type, const uint8_t **data,
		    size_t *dlen);

/* ---- building ---- */

struct ike_buf {
	uint8_t b[IKE_MSG_MAX];
	size_t len;
	size_t np_at;  /* where the next payload's type goes */
	size_t cur;    /* the open payload's generic header */
	bool overflow; /* something did not fit */
};

/* Start a message with header h (np and length filled in as it grows). */
void ikeb_init(struct ike_buf *m, const struct ike_hdr *h);
/* Start a bare chain (the plaintext of an SK payload); the first
 * payload's type goes to *first_np. */
void ikeb_init_chain(struct ike_buf *m);
void ikeb_begin(struct ike_buf *m, uint8_t type);
void ikeb_end(struct ike_buf *m);
void ikeb_put(struct ike_buf *m, const void *data, size_t len);
void ikeb_u8(struct ike_buf *m, uint8_t v);
void ikeb_u16(struct ike_buf *m, uint16_t v);
void ikeb_u32(struct ike_buf *m, uint32_t v);
/* Patch the message length into the header. */
void ikeb_finish(struct ike_buf *m);
/* The type of the first payload of a chain started with ikeb_init_chain. */
uint8_t ikeb_first(const struct ike_buf *m);

/* Whole payloads. */
void ikeb_sa(struct ike_buf *m, const struct ike_prop *p, unsigned n);
void ikeb_ke(struct ike_buf *m, uint16_t group, const uint8_t *data, size_t len);
void ikeb_nonce(struct ike_buf *m, const uint8_t *data, size_t len);
void ikeb_notify(struct ike_buf *m, uint8_t proto, const uint8_t *spi, uint8_t spisize,
		 uint16_t type, const uint8_t *data, size_t len);
void ikeb_delete(struct ike_buf *m, uint8_t proto, const uint32_t *spis, unsigned n);
void ikeb_typed(struct ike_buf *m, uint8_t pltype, uint8_t type, const uint8_t *data, size_t len);
void ikeb_ts(struct ike_buf *m, uint8_t pltype, const struct ike_ts *ts, unsigned n);

const char *ike_exchange_name(uint8_t x);
const char *ike_notify_name(uint16_t type);

#endif
