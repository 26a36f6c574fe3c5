/*
 * IKEv2's cryptography through OpenSSL: the PRFs and prf+ (RFC 7296 2.13),
 * Diffie-Hellman groups 14 (MODP 2048), 19 and 20 (ECP 256 and 384, RFC
 * 5903) and 31 (Curve25519, RFC 8031), and the Encrypted payload's
 * ciphers: AES-CBC with an HMAC, and AES-GCM with a 16-byte ICV (RFC 5282).
 *
 * Private DH values are given by the caller (from the node's seeded PRNG),
 * so that a run is byte-identical; OpenSSL's own generator is never asked.
 */
#ifndef IKE_IKE_CRYPTO_H
#define IKE_IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_PRF_MAX    64  /* bytes of the largest PRF output */
#define IKE_DH_MAX     256 /* bytes of the largest public value and shared secret */
#define IKE_DHPRIV_MAX 48

/* The PRF's output length in bytes, 0 when unknown. */
unsigned ike_prf_len(uint16_t prf);
/* out = prf(key, data); 0 or -1. */
int ike_prf(uint16_t prf, const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen,
	    uint8_t *out);
/* prf+ (2.13): out gets outlen bytes; 0 or -1 (more than 255 rounds). */
int ike_prfplus(uint16_t prf, const uint8_t *key, size_t klen, const uint8_t *seed, size_t slen,
		uint8_t *out, size_t outlen);

/* Integrity: the key and ICV lengths, 0 when unknown or AUTH_NONE. */
unsigned ike_integ_keylen(uint16_t integ);
unsigned ike_integ_icvlen(uint16_t integ);
/* SHA-1 of data: NAT_DETECTION_*_IP (RFC 7296 2.23). */
int ike_sha1(const uint8_t *data, size_t len, uint8_t out[20]);
int ike_integ(uint16_t integ, const uint8_t *key, const uint8_t *data, size_t len, uint8_t *icv);

/* Encryption: key bytes (with the salt for GCM), IV bytes on the wire,
 * block size for padding, ICV bytes of an AEAD (0 otherwise). */
struct ike_encr_info {
	unsigned keylen, ivlen, block, icvlen;
	bool aead;
};
/* keybits: the Key Length attribute (128, 192, 256). -1 when unknown. */
int ike_encr_info(uint16_t encr, uint16_t keybits, struct ike_encr_info *i);

/* AES-CBC (no padding of its own: len is a multiple of 16). */
int ike_cbc(bool enc, const uint8_t *key, unsigned klen, const uint8_t *iv, const uint8_t *in,
	    size_t len, uint8_t *out);
/* AES-GCM with the last 4 key bytes as salt and an 8-byte IV. Open: -1
 * when the tag does not match. */
int ike_gcm_seal(const uint8_t *key, unsigned klen, const uint8_t *iv, const uint8_t *aad,
		 size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag);
int ike_gcm_open(const uint8_t *key, unsigned klen, const uint8_t *iv, const uint8_t *aad,
		 size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, const uint8_t *tag);

/* Diffie-Hellman: the private value's and public value's lengths. */
bool ike_dh_known(uint16_t group);
unsigned ike_dh_privlen(uint16_t group);
unsigned ike_dh_publen(uint16_t group);
/* Our public value for a private one (random bytes of privlen). */
int ike_dh_public(uint16_t group, const uint8_t *priv, uint8_t *pub);
/* The shared secret with the peer's public value; -1 when that value is
 * not a valid one (out of range, not on the curve, a small-order point). */
int ike_dh_shared(uint16_t group, const uint8_t *priv, const uint8_t *peer, size_t plen,
		  uint8_t *out, size_t *outlen);

#endif
