/*
 * The transform table, after OpenBSD's crypto/xform.c: one const row per
 * algorithm with its PF_KEY id, key sizes and packet sizes.  Issue 4 adds
 * the OpenSSL EVP constructor of each row; PF_KEY already validates keys
 * against it.
 */
#ifndef IPSEC_XFORM_H
#define IPSEC_XFORM_H

#include <stdbool.h>
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
const struct auth_xform *xform_auth(uint8_t id);
/* Iteration over the tables, in their fixed order; NULL past the end. */
const struct enc_xform *xform_enc_at(unsigned i);
const struct auth_xform *xform_auth_at(unsigned i);

#endif
