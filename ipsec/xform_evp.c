/*
 * The transforms' cryptography, all through OpenSSL 3 EVP: one context per
 * SA, keyed once when the SA is made, and reused for every packet.
 *
 * The ESP layouts follow the RFCs:
 *   CBC ciphers     RFC 2451 / RFC 3602: explicit IV, payload encrypted
 *   AES-CTR         RFC 3686: counter block = nonce | IV | 1
 *   AES-GCM         RFC 4106: nonce = salt | IV, AAD = SPI | [seq hi] | seq
 *   AES-GMAC        RFC 4543: AAD = SPI | [seq hi] | seq | IV | payload
 *   ChaCha20-Poly1305  RFC 7634: as GCM
 *   HMACs           RFC 2404, 2403, 2857, 4868: over ESP header, IV and
 *                   ciphertext, then seq hi with ESN (RFC 4303 2.2.1)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "../sim/sim.h"
#include "../stack/mem.h"
#include "../stack/util.h"
#include "pfkeyv2.h"
#include "xform.h"

enum mode { M_NONE, M_NULL, M_CBC, M_CTR, M_GCM, M_GMAC, M_CHACHA };

struct xform_ctx {
	const struct enc_xform *enc;
	const struct auth_xform *auth;
	enum mode mode;
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *cctx[2]; /* [0] decrypts, [1] encrypts: each keyed once */
	EVP_MAC *mac;
	EVP_MAC_CTX *mctx;
	uint8_t salt[4]; /* CTR nonce or AEAD salt: the key's last 4 bytes */
	uint8_t macout[EVP_MAX_MD_SIZE];
	unsigned ivlen, blocksize, icvlen;
};

/* A library context per simulation, with the default provider and the
 * legacy one (Blowfish and CAST-128 live there).  Its own context keeps
 * the provider load out of the process's default one, and frees cleanly
 * with the simulation. */
struct xform_crypto {
	OSSL_LIB_CTX *lib;
	OSSL_PROVIDER *deflt, *legacy;
};

static void crypto_free(void *arg)
{
	struct xform_crypto *c = arg;
	if (c->legacy)
		OSSL_PROVIDER_unload(c->legacy);
	if (c->deflt)
		OSSL_PROVIDER_unload(c->deflt);
	OSSL_LIB_CTX_free(c->lib);
	free(c);
}

static OSSL_LIB_CTX *sim_crypto(struct sim *s)
{
	if (!s->crypto) {
		struct xform_crypto *c = xcalloc(1, sizeof(*c));
		c->lib = OSSL_LIB_CTX_new();
		if (c->lib) {
			c->deflt = OSSL_PROVIDER_load(c->lib, "default");
			c->legacy = OSSL_PROVIDER_load(c->lib, "legacy"); /* may be absent */
		}
		s->crypto = c;
		s->crypto_free = crypto_free;
	}
	return ((struct xform_crypto *)s->crypto)->lib;
}

static const char *cipher_name(uint8_t id, size_t keylen)
{
	switch (id) {
	case SADB_EALG_3DESCBC: return "DES-EDE3-CBC";
	case SADB_X_EALG_CAST: return "CAST5-CBC";
	case SADB_X_EALG_BLF: return "BF-CBC";
	case SADB_X_EALG_AES:
		return keylen == 16 ? "AES-128-CBC" : keylen == 24 ? "AES-192-CBC" : "AES-256-CBC";
	case SADB_X_EALG_AESCTR:
		return keylen == 16 ? "AES-128-CTR" : keylen == 24 ? "AES-192-CTR" : "AES-256-CTR";
	case SADB_X_EALG_AESGCM16:
	case SADB_X_EALG_AESGMAC:
		return keylen == 16 ? "AES-128-GCM" : keylen == 24 ? "AES-192-GCM" : "AES-256-GCM";
	case SADB_X_EALG_CHACHA20POLY1305: return "ChaCha20-Poly1305";
	default: return NULL;
	}
}

static const char *digest_name(uint8_t id)
{
	switch (id) {
	case SADB_AALG_MD5HMAC: return "MD5";
	case SADB_AALG_SHA1HMAC: return "SHA1";
	case SADB_X_AALG_RIPEMD160HMAC: return "RIPEMD160";
	case SADB_X_AALG_SHA2_256: return "SHA2-256";
	case SADB_X_AALG_SHA2_384: return "SHA2-384";
	case SADB_X_AALG_SHA2_512: return "SHA2-512";
	default: return NULL;
	}
}

static enum mode mode_of(uint8_t id)
{
	switch (id) {
	case SADB_EALG_NONE: return M_NONE;
	case SADB_EALG_NULL: return M_NULL;
	case SADB_X_EALG_AESCTR: return M_CTR;
	case SADB_X_EALG_AESGCM16: return M_GCM;
	case SADB_X_EALG_AESGMAC: return M_GMAC;
	case SADB_X_EALG_CHACHA20POLY1305: return M_CHACHA;
	default: return M_CBC;
	}
}

/* A key length the cipher takes: the table's range, and for AES the
 * lengths AES has (after the 4-byte salt or nonce, where there is one). */
static bool key_fits(const struct enc_xform *e, enum mode m, size_t len)
{
	if (len < e->minkey || len > e->maxkey)
		return false;
	size_t aes = m == M_CBC && e->id == SADB_X_EALG_AES    ? len
		     : m == M_CTR || m == M_GCM || m == M_GMAC ? len - 4
							       : 16;
	return aes == 16 || aes == 24 || aes == 32;
}

void xform_ctx_free(struct xform_ctx *x)
{
	if (!x)
		return;
	EVP_CIPHER_CTX_free(x->cctx[0]);
	EVP_CIPHER_CTX_free(x->cctx[1]);
	EVP_CIPHER_free(x->cipher);
	EVP_MAC_CTX_free(x->mctx);
	EVP_MAC_free(x->mac);
	OPENSSL_cleanse(x, sizeof(*x));
	free(x);
}

static int init_cipher(struct xform_ctx *x, OSSL_LIB_CTX *lib, uint8_t id, const uint8_t *key,
		       size_t keylen)
{
	size_t klen = keylen;
	if (x->mode == M_CTR || x->mode == M_GCM || x->mode == M_GMAC || x->mode == M_CHACHA) {
		klen -= 4; /* RFC 3686, 4106, 4543, 7634: the salt ends the key */
		memcpy(x->salt, key + klen, 4);
	}
	const char *name = cipher_name(id, klen);
	x->cipher = name ? EVP_CIPHER_fetch(lib, name, NULL) : NULL;
	if (!x->cipher)
		return -EINVAL;
	/* A key schedule per direction: re-initialising one context for the
	 * other direction without its key would keep the wrong schedule. */
	for (int enc = 0; enc < 2; enc++) {
		EVP_CIPHER_CTX *c = x->cctx[enc] = EVP_CIPHER_CTX_new();
		/* Blowfish and CAST take a variable key: set its length first. */
		if (!c || !EVP_CipherInit_ex2(c, x->cipher, NULL, NULL, enc, NULL) ||
		    !EVP_CIPHER_CTX_set_key_length(c, (int)klen) ||
		    !EVP_CipherInit_ex2(c, NULL, key, NULL, enc, NULL))
			return -EINVAL;
		EVP_CIPHER_CTX_set_padding(c, 0); /* ESP pads for itself */
	}
	return 0;
}

static int init_mac(struct xform_ctx *x, OSSL_LIB_CTX *lib, uint8_t id, const uint8_t *key,
		    size_t keylen)
{
	const char *digest = digest_name(id);
	if (!digest)
		return -EINVAL;
	x->mac = EVP_MAC_fetch(lib, "HMAC", NULL);
	x->mctx = x->mac ? EVP_MAC_CTX_new(x->mac) : NULL;
	if (!x->mctx)
		return -EINVAL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
	    OSSL_PARAM_construct_end()};
	if (!EVP_MAC_init(x->mctx, key, keylen, params))
		return -EINVAL;
	return 0;
}

struct xform_ctx *xform_ctx_new(struct sim *s, uint8_t encalg, const uint8_t *ekey, size_t eklen,
				uint8_t authalg, const uint8_t *akey, size_t aklen, int *err)
{
	OSSL_LIB_CTX *lib = sim_crypto(s);
	struct xform_ctx *x = xcalloc(1, sizeof(*x));
	x->mode = mode_of(encalg);
	x->enc = encalg != SADB_EALG_NONE ? xform_enc(encalg) : NULL;
	x->auth = authalg != SADB_AALG_NONE ? xform_auth(authalg) : NULL;
	x->ivlen = x->enc ? x->enc->ivsize : 0;
	x->blocksize = x->enc ? x->enc->blocksize : 4;
	x->icvlen = x->auth ? x->auth->icvsize : 0;
	*err = 0;
	if ((encalg != SADB_EALG_NONE && !x->enc) || (authalg != SADB_AALG_NONE && !x->auth))
		*err = -EINVAL;
	else if (x->enc && !key_fits(x->enc, x->mode, eklen))
		*err = -EINVAL; /* PF_KEY checked already; other callers may not have */
	else if (x->mode != M_NONE && x->mode != M_NULL)
		*err = init_cipher(x, lib, encalg, ekey, eklen);
	/* GCM, GMAC and ChaCha20-Poly1305 authenticate with the cipher. */
	if (!*err && x->auth && x->mode != M_GCM && x->mode != M_GMAC && x->mode != M_CHACHA)
		*err = init_mac(x, lib, authalg, akey, aklen);
	if (*err) {
		xform_ctx_free(x);
		return NULL;
	}
	return x;
}

unsigned xform_ivlen(const struct xform_ctx *x)
{
	return x->ivlen;
}

unsigned xform_blocksize(const struct xform_ctx *x)
{
	return x->blocksize;
}

unsigned xform_icvlen(const struct xform_ctx *x)
{
	return x->icvlen;
}

bool xform_confidential(const struct xform_ctx *x)
{
	return x->mode != M_NONE && x->mode != M_NULL && x->mode != M_GMAC;
}

bool xform_authentic(const struct xform_ctx *x)
{
	return x->auth != NULL;
}

bool xform_counter_iv(const struct xform_ctx *x)
{
	return x->mode == M_CTR || x->mode == M_GCM || x->mode == M_GMAC || x->mode == M_CHACHA;
}

/* HMAC over a, then b (either may be empty), truncated to the ICV. */
static int hmac2(struct xform_ctx *x, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		 uint8_t *icv)
{
	size_t outl = 0;
	if (!EVP_MAC_init(x->mctx, NULL, 0, NULL) || !EVP_MAC_update(x->mctx, a, alen) ||
	    (blen && !EVP_MAC_update(x->mctx, b, blen)) ||
	    !EVP_MAC_final(x->mctx, x->macout, &outl, sizeof(x->macout)) || outl < x->icvlen)
		return -EIO;
	memcpy(icv, x->macout, x->icvlen);
	OPENSSL_cleanse(x->macout, outl);
	return 0;
}

int xform_mac(struct xform_ctx *x, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
	      uint8_t *icv)
{
	return x->mctx ? hmac2(x, a, alen, b, blen, icv) : -EINVAL;
}

/* Run the cipher over len bytes in place (CBC, CTR). */
static int cipher_inplace(struct xform_ctx *x, const uint8_t *iv, uint8_t *d, size_t len, int enc)
{
	EVP_CIPHER_CTX *c = x->cctx[enc];
	int outl = 0, fin = 0;
	if (!EVP_CipherInit_ex2(c, NULL, NULL, iv, enc, NULL) ||
	    !EVP_CipherUpdate(c, d, &outl, d, (int)len) || !EVP_CipherFinal_ex(c, d + outl, &fin) ||
	    (size_t)(outl + fin) != len)
		return -EIO;
	return 0;
}

/* The ESN-aware AAD of RFC 4106 5 / RFC 7634 2.1: SPI, [seq hi], seq. */
static size_t esp_aad(const uint8_t *esp, bool esn, uint32_t seqhi, uint8_t aad[12])
{
	memcpy(aad, esp, 4);
	if (!esn) {
		memcpy(aad + 4, esp + 4, 4);
		return 8;
	}
	put_be32(aad + 4, seqhi);
	memcpy(aad + 8, esp + 4, 4);
	return 12;
}

/* AES-GCM, AES-GMAC and ChaCha20-Poly1305, both ways.  For GMAC the payload
 * is authenticated only: it goes into the AAD after the IV. */
static int aead(struct xform_ctx *x, uint8_t *esp, size_t hlen, size_t plen, bool esn,
		uint32_t seqhi, uint8_t *icv, int enc)
{
	uint8_t nonce[12], aad[12];
	uint8_t *payload = esp + hlen;
	memcpy(nonce, x->salt, 4);
	memcpy(nonce + 4, esp + 8, 8);
	size_t aadlen = esp_aad(esp, esn, seqhi, aad);
	EVP_CIPHER_CTX *c = x->cctx[enc];
	int outl = 0;
	if (!EVP_CipherInit_ex2(c, NULL, NULL, nonce, enc, NULL) ||
	    !EVP_CipherUpdate(c, NULL, &outl, aad, (int)aadlen))
		return -EIO;
	if (!enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)x->icvlen, (void *)icv))
		return -EIO;
	if (x->mode == M_GMAC) {
		if (!EVP_CipherUpdate(c, NULL, &outl, esp + 8, (int)(8 + plen)))
			return -EIO;
	} else if (plen && !EVP_CipherUpdate(c, payload, &outl, payload, (int)plen)) {
		return -EIO;
	}
	int fin = 0;
	if (!EVP_CipherFinal_ex(c, payload + plen, &fin))
		return enc ? -EIO : -EBADMSG; /* the tag did not match */
	if (enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, (int)x->icvlen, (void *)icv))
		return -EIO;
	return 0;
}

static bool is_aead(const struct xform_ctx *x)
{
	return x->mode == M_GCM || x->mode == M_GMAC || x->mode == M_CHACHA;
}

/* RFC 3686 4: nonce | IV | block counter 1. */
static void ctr_block(const struct xform_ctx *x, const uint8_t *iv, uint8_t blk[16])
{
	memcpy(blk, x->salt, 4);
	memcpy(blk + 4, iv, 8);
	put_be32(blk + 12, 1);
}

int xform_esp_seal(struct xform_ctx *x, uint8_t *esp, size_t plen, bool esn, uint32_t seqhi)
{
	size_t hlen = 8 + x->ivlen;
	uint8_t *payload = esp + hlen, *icv = payload + plen;
	if (is_aead(x))
		return aead(x, esp, hlen, plen, esn, seqhi, icv, 1);
	int rc = 0;
	if (x->mode == M_CBC) {
		rc = cipher_inplace(x, esp + 8, payload, plen, 1);
	} else if (x->mode == M_CTR) {
		uint8_t blk[16];
		ctr_block(x, esp + 8, blk);
		rc = cipher_inplace(x, blk, payload, plen, 1);
	}
	if (rc || !x->auth)
		return rc;
	uint8_t hi[4];
	put_be32(hi, seqhi);
	return hmac2(x, esp, hlen + plen, hi, esn ? 4 : 0, icv);
}

int xform_esp_open(struct xform_ctx *x, uint8_t *esp, size_t plen, bool esn, uint32_t seqhi)
{
	size_t hlen = 8 + x->ivlen;
	uint8_t *payload = esp + hlen, *icv = payload + plen;
	if (is_aead(x))
		return aead(x, esp, hlen, plen, esn, seqhi, icv, 0);
	if (x->auth) {
		uint8_t hi[4], calc[EVP_MAX_MD_SIZE];
		put_be32(hi, seqhi);
		int rc = hmac2(x, esp, hlen + plen, hi, esn ? 4 : 0, calc);
		if (rc)
			return rc;
		/* RFC 4303 3.4.4: the ICV first, in constant time */
		if (CRYPTO_memcmp(calc, icv, x->icvlen) != 0)
			return -EBADMSG;
	}
	if (x->mode == M_CBC)
		return cipher_inplace(x, esp + 8, payload, plen, 0);
	if (x->mode == M_CTR) {
		uint8_t blk[16];
		ctr_block(x, esp + 8, blk);
		return cipher_inplace(x, blk, payload, plen, 0);
	}
	return 0;
}

uint64_t xform_memory(const struct xform_ctx *x)
{
	return x ? sizeof(*x) : 0;
}
