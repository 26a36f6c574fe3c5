/* IKEv2 cryptography (ike_crypto.h). */
#include "ike_crypto.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>

#include "ike_wire.h"

static const EVP_MD *prf_md(uint16_t prf)
{
	switch (prf) {
	case PRF_HMAC_SHA1: return EVP_sha1();
	case PRF_HMAC_SHA2_256: return EVP_sha256();
	case PRF_HMAC_SHA2_384: return EVP_sha384();
	case PRF_HMAC_SHA2_512: return EVP_sha512();
	default: return NULL;
	}
}

unsigned ike_prf_len(uint16_t prf)
{
	const EVP_MD *md = prf_md(prf);
	return md ? (unsigned)EVP_MD_get_size(md) : 0;
}

int ike_prf(uint16_t prf, const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen,
	    uint8_t *out)
{
	const EVP_MD *md = prf_md(prf);
	unsigned olen = 0;
	if (!md || klen > INT32_MAX)
		return -1;
	return HMAC(md, key, (int)klen, data, dlen, out, &olen) ? 0 : -1;
}

int ike_prfplus(uint16_t prf, const uint8_t *key, size_t klen, const uint8_t *seed, size_t slen,
		uint8_t *out, size_t outlen)
{
	unsigned hl = ike_prf_len(prf);
	if (!hl || outlen > 255u * hl || slen > 4096)
		return -1;
	uint8_t t[IKE_PRF_MAX], in[IKE_PRF_MAX + 4096 + 1];
	size_t done = 0, tl = 0;
	for (unsigned n = 1; done < outlen; n++) {
		/* T(n) = prf(K, T(n-1) | S | n) */
		memcpy(in, t, tl);
		memcpy(in + tl, seed, slen);
		in[tl + slen] = (uint8_t)n;
		if (ike_prf(prf, key, klen, in, tl + slen + 1, t) < 0)
			return -1;
		tl = hl;
		size_t take = outlen - done < hl ? outlen - done : hl;
		memcpy(out + done, t, take);
		done += take;
	}
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(in, sizeof(in));
	return 0;
}

static const EVP_MD *integ_md(uint16_t integ, unsigned *icv)
{
	switch (integ) {
	case AUTH_HMAC_SHA1_96: *icv = 12; return EVP_sha1();
	case AUTH_HMAC_SHA2_256_128: *icv = 16; return EVP_sha256();
	case AUTH_HMAC_SHA2_384_192: *icv = 24; return EVP_sha384();
	case AUTH_HMAC_SHA2_512_256: *icv = 32; return EVP_sha512();
	default: *icv = 0; return NULL;
	}
}

unsigned ike_integ_keylen(uint16_t integ)
{
	unsigned icv;
	const EVP_MD *md = integ_md(integ, &icv);
	return md ? (unsigned)EVP_MD_get_size(md) : 0;
}

unsigned ike_integ_icvlen(uint16_t integ)
{
	unsigned icv;
	integ_md(integ, &icv);
	return icv;
}

int ike_integ(uint16_t integ, const uint8_t *key, const uint8_t *data, size_t len, uint8_t *icv)
{
	unsigned icvlen, olen = 0;
	uint8_t full[EVP_MAX_MD_SIZE];
	const EVP_MD *md = integ_md(integ, &icvlen);
	if (!md || !HMAC(md, key, EVP_MD_get_size(md), data, len, full, &olen))
		return -1;
	memcpy(icv, full, icvlen);
	return 0;
}

int ike_encr_info(uint16_t encr, uint16_t keybits, struct ike_encr_info *i)
{
	if (keybits != 128 && keybits != 192 && keybits != 256)
		return -1;
	switch (encr) {
	case ENCR_AES_CBC: *i = (struct ike_encr_info){keybits / 8, 16, 16, 0, false}; return 0;
	case ENCR_AES_GCM_16:
		*i = (struct ike_encr_info){keybits / 8 + 4, 8, 4, 16, true};
		return 0;
	default: return -1;
	}
}

static const EVP_CIPHER *aes(unsigned klen, bool gcm)
{
	switch (klen) {
	case 16: return gcm ? EVP_aes_128_gcm() : EVP_aes_128_cbc();
	case 24: return gcm ? EVP_aes_192_gcm() : EVP_aes_192_cbc();
	case 32: return gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
	default: return NULL;
	}
}

int ike_cbc(bool enc, const uint8_t *key, unsigned klen, const uint8_t *iv, const uint8_t *in,
	    size_t len, uint8_t *out)
{
	const EVP_CIPHER *c = aes(klen, false);
	if (!c || len % 16 || len > INT32_MAX)
		return -1;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int ol = 0, rc = -1;
	if (x && EVP_CipherInit_ex(x, c, NULL, key, iv, enc) && EVP_CIPHER_CTX_set_padding(x, 0) &&
	    EVP_CipherUpdate(x, out, &ol, in, (int)len) && (size_t)ol == len)
		rc = 0;
	EVP_CIPHER_CTX_free(x);
	return rc;
}

static int gcm(bool enc, const uint8_t *key, unsigned klen, const uint8_t *iv, const uint8_t *aad,
	       size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	if (klen < 20 || len > INT32_MAX || aadlen > INT32_MAX)
		return -1;
	const EVP_CIPHER *c = aes(klen - 4, true);
	if (!c)
		return -1;
	uint8_t nonce[12];
	memcpy(nonce, key + klen - 4, 4); /* the salt */
	memcpy(nonce + 4, iv, 8);
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int ol = 0, rc = -1;
	if (!x || !EVP_CipherInit_ex(x, c, NULL, NULL, NULL, enc) ||
	    !EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) ||
	    !EVP_CipherInit_ex(x, NULL, NULL, key, nonce, enc) ||
	    !EVP_CipherUpdate(x, NULL, &ol, aad, (int)aadlen))
		goto out;
	if (len && (!EVP_CipherUpdate(x, out, &ol, in, (int)len) || (size_t)ol != len))
		goto out;
	if (!enc && !EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, tag))
		goto out;
	if (EVP_CipherFinal_ex(x, out + len, &ol) != 1)
		goto out;
	if (enc && !EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag))
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(x);
	return rc;
}

int ike_gcm_seal(const uint8_t *key, unsigned klen, const uint8_t *iv, const uint8_t *aad,
		 size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	return gcm(true, key, klen, iv, aad, aadlen, in, len, out, tag);
}

int ike_gcm_open(const uint8_t *key, unsigned klen, const uint8_t *iv, const uint8_t *aad,
		 size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, const uint8_t *tag)
{
	uint8_t t[16];
	memcpy(t, tag, 16);
	return gcm(false, key, klen, iv, aad, aadlen, in, len, out, t);
}

/* ---- Diffie-Hellman ---- */

bool ike_dh_known(uint16_t group)
{
	return group == 14 || group == 19 || group == 20 || group == 31;
}

unsigned ike_dh_privlen(uint16_t group)
{
	switch (group) {
	case 14: return 32; /* a 256-bit exponent: 2x the group's 110-bit strength, and more */
	case 19: return 32;
	case 20: return 48;
	case 31: return 32;
	default: return 0;
	}
}

unsigned ike_dh_publen(uint16_t group)
{
	switch (group) {
	case 14: return 256;
	case 19: return 64;
	case 20: return 96;
	case 31: return 32;
	default: return 0;
	}
}

static int modp(const uint8_t *priv, const uint8_t *base, size_t blen, uint8_t *out)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p = BN_get_rfc3526_prime_2048(NULL);
	BIGNUM *x = BN_bin2bn(priv, 32, NULL);
	BIGNUM *g = base ? BN_bin2bn(base, (int)blen, NULL) : BN_new();
	BIGNUM *r = BN_new();
	BIGNUM *pm1 = BN_new();
	int rc = -1;
	if (!ctx || !p || !x || !g || !r || !pm1)
		goto out;
	if (!base && !BN_set_word(g, 2))
		goto out;
	/* The peer's value must be in 2 .. p-2 (RFC 7296 5, RFC 6989 2.1). */
	if (!BN_sub(pm1, p, BN_value_one()) || BN_cmp(g, BN_value_one()) <= 0 ||
	    BN_cmp(g, pm1) >= 0)
		goto out;
	BN_set_flags(x, BN_FLG_CONSTTIME);
	if (!BN_mod_exp(r, g, x, p, ctx) || BN_bn2binpad(r, out, 256) != 256)
		goto out;
	rc = 0;
out:
	BN_clear_free(x);
	BN_free(g);
	BN_clear_free(r);
	BN_free(p);
	BN_free(pm1);
	BN_CTX_free(ctx);
	return rc;
}

/* ECP (RFC 5903): the public value is x | y, the shared secret x. */
static int ecp(uint16_t group, const uint8_t *priv, const uint8_t *peer, size_t plen, uint8_t *out)
{
	unsigned fl = group == 19 ? 32 : 48;
	EC_GROUP *g =
	    EC_GROUP_new_by_curve_name(group == 19 ? NID_X9_62_prime256v1 : NID_secp384r1);
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *k = BN_bin2bn(priv, (int)fl, NULL);
	BIGNUM *x = BN_new(), *y = BN_new();
	EC_POINT *r = g ? EC_POINT_new(g) : NULL;
	EC_POINT *q = g ? EC_POINT_new(g) : NULL;
	int rc = -1;
	if (!g || !ctx || !k || !x || !y || !r || !q)
		goto out;
	/* A scalar in 1 .. n-1 */
	if (!BN_mod(k, k, EC_GROUP_get0_order(g), ctx))
		goto out;
	if (BN_is_zero(k) && !BN_one(k))
		goto out;
	if (peer) {
		if (plen != 2 * fl)
			goto out;
		BIGNUM *px = BN_bin2bn(peer, (int)fl, x), *py = BN_bin2bn(peer + fl, (int)fl, y);
		if (!px || !py || !EC_POINT_set_affine_coordinates(g, q, x, y, ctx) ||
		    EC_POINT_is_on_curve(g, q, ctx) != 1 || EC_POINT_is_at_infinity(g, q))
			goto out;
		if (!EC_POINT_mul(g, r, NULL, q, k, ctx))
			goto out;
	} else if (!EC_POINT_mul(g, r, k, NULL, NULL, ctx)) {
		goto out;
	}
	if (!EC_POINT_get_affine_coordinates(g, r, x, y, ctx) || BN_bn2binpad(x, out, (int)fl) < 0)
		goto out;
	if (!peer && BN_bn2binpad(y, out + fl, (int)fl) < 0)
		goto out;
	rc = 0;
out:
	BN_clear_free(k);
	BN_clear_free(x);
	BN_clear_free(y);
	EC_POINT_clear_free(r);
	EC_POINT_free(q);
	BN_CTX_free(ctx);
	EC_GROUP_free(g);
	return rc;
}

static int x25519(const uint8_t *priv, const uint8_t *peer, uint8_t *out)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	EVP_PKEY *p = peer ? EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32) : NULL;
	EVP_PKEY_CTX *c = NULL;
	size_t len = 32;
	int rc = -1;
	if (!k || (peer && !p))
		goto out;
	if (!peer) {
		rc = EVP_PKEY_get_raw_public_key(k, out, &len) == 1 && len == 32 ? 0 : -1;
		goto out;
	}
	c = EVP_PKEY_CTX_new(k, NULL);
	/* OpenSSL refuses an all-zero result (a small-order point, RFC 8031 2.3). */
	if (c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, p) == 1 &&
	    EVP_PKEY_derive(c, out, &len) == 1 && len == 32)
		rc = 0;
out:
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	EVP_PKEY_free(p);
	return rc;
}

int ike_dh_public(uint16_t group, const uint8_t *priv, uint8_t *pub)
{
	switch (group) {
	case 14: return modp(priv, NULL, 0, pub);
	case 19:
	case 20: return ecp(group, priv, NULL, 0, pub);
	case 31: return x25519(priv, NULL, pub);
	default: return -1;
	}
}

int ike_dh_shared(uint16_t group, const uint8_t *priv, const uint8_t *peer, size_t plen,
		  uint8_t *out, size_t *outlen)
{
	if (!ike_dh_known(group) || plen != ike_dh_publen(group))
		return -1;
	int rc;
	switch (group) {
	case 14:
		rc = modp(priv, peer, plen, out);
		*outlen = 256;
		break;
	case 19:
	case 20:
		rc = ecp(group, priv, peer, plen, out);
		*outlen = group == 19 ? 32 : 48;
		break;
	default:
		rc = x25519(priv, peer, out);
		*outlen = 32;
		break;
	}
	return rc;
}

int ike_sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
	unsigned n = 0;
	return EVP_Digest(data, len, out, &n, EVP_sha1(), NULL) == 1 && n == 20 ? 0 : -1;
}
