#include "xform.h"

#include <stddef.h>

#include "../stack/util.h"
#include "pfkeyv2.h"

/* Sizes from OpenBSD's esp_init and enc_xform tables (reference 2.1). */
static const struct enc_xform enc_xforms[] = {
    {SADB_EALG_NULL, "null", 4, 0, 0, 256, 0, true},
    {SADB_EALG_3DESCBC, "3des-cbc", 8, 8, 24, 24, 0, true},
    {SADB_X_EALG_CAST, "cast128", 8, 8, 5, 16, 0, true},
    {SADB_X_EALG_BLF, "blowfish", 8, 8, 5, 56, 0, true},
    {SADB_X_EALG_AES, "aes", 16, 16, 16, 32, 0, true},
    {SADB_X_EALG_AESCTR, "aesctr", 16, 8, 20, 36, 0, false},
    {SADB_X_EALG_AESGCM16, "aes-gcm", 1, 8, 20, 36, SADB_X_AALG_AES128GMAC, false},
    {SADB_X_EALG_AESGMAC, "aes-gmac", 1, 8, 20, 36, SADB_X_AALG_AES128GMAC, false},
    {SADB_X_EALG_CHACHA20POLY1305, "chacha20-poly1305", 1, 8, 36, 36, SADB_X_AALG_CHACHA20POLY1305,
     false},
};

/* Key and ICV sizes from OpenBSD's auth_hash tables (reference 2.2). */
static const struct auth_xform auth_xforms[] = {
    {SADB_AALG_MD5HMAC, "hmac-md5", 16, 12, true},
    {SADB_AALG_SHA1HMAC, "hmac-sha1", 20, 12, true},
    {SADB_X_AALG_RIPEMD160HMAC, "hmac-ripemd160", 20, 12, true},
    {SADB_X_AALG_SHA2_256, "hmac-sha2-256", 32, 16, true},
    {SADB_X_AALG_SHA2_384, "hmac-sha2-384", 48, 24, true},
    {SADB_X_AALG_SHA2_512, "hmac-sha2-512", 64, 32, true},
    {SADB_X_AALG_AES128GMAC, "gmac-aes-128", 20, 16, false},
    {SADB_X_AALG_AES192GMAC, "gmac-aes-192", 28, 16, false},
    {SADB_X_AALG_AES256GMAC, "gmac-aes-256", 36, 16, false},
    {SADB_X_AALG_CHACHA20POLY1305, "chacha20-poly1305", 36, 16, false},
};

const struct enc_xform *xform_enc(uint8_t id)
{
	for (size_t i = 0; i < ARRAY_LEN(enc_xforms); i++)
		if (enc_xforms[i].id == id)
			return &enc_xforms[i];
	return NULL;
}

const struct auth_xform *xform_auth(uint8_t id)
{
	for (size_t i = 0; i < ARRAY_LEN(auth_xforms); i++)
		if (auth_xforms[i].id == id)
			return &auth_xforms[i];
	return NULL;
}

const struct enc_xform *xform_enc_at(unsigned i)
{
	return i < ARRAY_LEN(enc_xforms) ? &enc_xforms[i] : NULL;
}

const struct auth_xform *xform_auth_at(unsigned i)
{
	return i < ARRAY_LEN(auth_xforms) ? &auth_xforms[i] : NULL;
}

bool xform_enc_keylen_ok(uint8_t id, size_t len)
{
	const struct enc_xform *e = xform_enc(id);
	if (!e || len < e->minkey || len > e->maxkey)
		return false;
	switch (id) {
	case SADB_X_EALG_AES: return len % 8 == 0; /* 16, 24 or 32 and nothing between */
	case SADB_X_EALG_AESCTR:
	case SADB_X_EALG_AESGCM16:
	case SADB_X_EALG_AESGMAC: return (len - 4) % 8 == 0; /* AES-128, -192, -256 and a salt */
	default: return true;
	}
}

const char *xform_enc_keysizes(uint8_t id)
{
	switch (id) {
	case SADB_EALG_NULL: return "no key";
	case SADB_EALG_3DESCBC: return "24 bytes";
	case SADB_X_EALG_CAST: return "5 to 16 bytes";
	case SADB_X_EALG_BLF: return "5 to 56 bytes";
	case SADB_X_EALG_AES: return "16, 24 or 32 bytes";
	case SADB_X_EALG_AESCTR:
		return "20, 28 or 36 bytes: 16, 24 or 32 of key and the 4-byte nonce after them";
	case SADB_X_EALG_AESGCM16:
	case SADB_X_EALG_AESGMAC:
		return "20, 28 or 36 bytes: 16, 24 or 32 of key and the 4-byte salt after them";
	case SADB_X_EALG_CHACHA20POLY1305: return "36 bytes: 32 of key and the 4-byte salt after them";
	default: return "no key it knows";
	}
}
