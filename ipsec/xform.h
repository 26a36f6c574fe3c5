/*
 * The transform table, after OpenBSD's crypto/xform.c: one const row per
 * algorithm with its PF_KEY id, key sizes and packet sizes (xform.c), and
 * the cryptography behind it, through OpenSSL EVP (xform_evp.c).
 */
#ifndef IPSEC_XFORM_H
#define IPSEC_XFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct enc_xform {
	uint8_t id;        /* SADB_EALG_* */
	const char *name;  /* ipsec.conf's name */
	uint8_t blocksize; /* padding alignment (ESP pads to max(this, 4)) */
	uint8_t ivsize;
	uint16_t minkey, maxkey; /* bytes, nonce included where there is one */
	uint8_t forced_auth;     /* AEAD: the auth algorithm the key length implies; 0 none */
	bool static_keys;        /* ipsecctl allows it with manual keys */
};

struct auth_xform {
	uint8_t id; /* SADB_AALG_* */
	const char *name;
	uint16_t keysize; /* bytes: exactly this */
	uint8_t icvsize;
	bool ah; /* usable by AH */
};

const struct enc_xform *xform_enc(uint8_t id);
/* Whether an encryption key of len bytes (salt or nonce included) is one
 * the algorithm takes, as PF_KEY checks it; and those sizes in words, for
 * a message ("20, 28 or 36 bytes: 16, 24 or 32 of key and a 4-byte salt"). */
bool xform_enc_keylen_ok(uint8_t id, size_t len);
const char *xform_enc_keysizes(uint8_t id);
const struct auth_xform *xform_auth(uint8_t id);
/* Iteration over the tables, in their fixed order; NULL past the end. */
const struct enc_xform *xform_enc_at(unsigned i);
const struct auth_xform *xform_auth_at(unsigned i);

/* ---- per-SA cryptographic state (xform_evp.c) ---- */
struct xform_ctx;
struct sim;

/* Key the transforms of one SA: encryption (SADB_EALG_NONE: none) and
 * authentication (SADB_AALG_NONE: none; ignored for AEAD ciphers, which
 * authenticate with their own key), with the simulation's OpenSSL library
 * context.  NULL with *err = -EINVAL when OpenSSL cannot build them. */
struct xform_ctx *xform_ctx_new(struct sim *s, uint8_t encalg, const uint8_t *ekey, size_t eklen,
				uint8_t authalg, const uint8_t *akey, size_t aklen, int *err);
void xform_ctx_free(struct xform_ctx *x);
unsigned xform_ivlen(const struct xform_ctx *x);
unsigned xform_blocksize(const struct xform_ctx *x); /* 4 without a cipher */
unsigned xform_icvlen(const struct xform_ctx *x);
bool xform_confidential(const struct xform_ctx *x); /* enc(4)'s M_CONF */
bool xform_authentic(const struct xform_ctx *x);    /* enc(4)'s M_AUTH */
/* The IV is the sequence counter (CTR, GCM, GMAC, ChaCha20-Poly1305). */
bool xform_counter_iv(const struct xform_ctx *x);

/*
 * ESP in place.  esp points at the SPI; the IV follows the 8-byte header,
 * then plen bytes of payload (padded, trailer included), then the ICV's
 * room.  seal encrypts and writes the ICV; open checks the ICV (in constant
 * time) and decrypts: 0, -EBADMSG when the ICV is wrong, -EIO otherwise.
 */
int xform_esp_seal(struct xform_ctx *x, uint8_t *esp, size_t plen, bool esn, uint32_t seqhi);
int xform_esp_open(struct xform_ctx *x, uint8_t *esp, size_t plen, bool esn, uint32_t seqhi);
/* The HMAC of a then b, truncated to the ICV (AH); -EINVAL without one. */
int xform_mac(struct xform_ctx *x, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
	      uint8_t *icv);

/* For show NODE memory: our part of a transform (not OpenSSL's). */
uint64_t xform_memory(const struct xform_ctx *x);

#endif
