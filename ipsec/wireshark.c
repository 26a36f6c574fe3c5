#include "wireshark.h"

#include <string.h>

#include "../stack/util.h"
#include "pfkeyv2.h"

static const struct {
	uint8_t id;
	const char *name;
} encs[] =
    {
	{SADB_EALG_NULL, "NULL"},
	{SADB_EALG_3DESCBC, "TripleDES-CBC [RFC2451]"},
	{SADB_X_EALG_AES, "AES-CBC [RFC3602]"},
	{SADB_X_EALG_AESCTR, "AES-CTR [RFC3686]"},
	{SADB_X_EALG_CAST, "CAST5-CBC [RFC2144]"},
	{SADB_X_EALG_BLF, "BLOWFISH-CBC [RFC2451]"},
	{SADB_X_EALG_AESGCM16, "AES-GCM with 16 octet ICV [RFC4106]"},
	{SADB_X_EALG_CHACHA20POLY1305, "ChaCha20 with Poly1305 [RFC7634]"},
},
  auths[] = {
      {SADB_AALG_NONE, "NULL"},
      {SADB_AALG_MD5HMAC, "HMAC-MD5-96 [RFC2403]"},
      {SADB_AALG_SHA1HMAC, "HMAC-SHA-1-96 [RFC2404]"},
      {SADB_X_AALG_RIPEMD160HMAC, "MAC-RIPEMD-160-96 [RFC2857]"},
      {SADB_X_AALG_SHA2_256, "HMAC-SHA-256-128 [RFC4868]"},
      {SADB_X_AALG_SHA2_384, "HMAC-SHA-384-192 [RFC4868]"},
      {SADB_X_AALG_SHA2_512, "HMAC-SHA-512-256 [RFC4868]"},
};

const char *ws_enc_name(uint8_t encalg)
{
	for (size_t i = 0; i < ARRAY_LEN(encs); i++)
		if (encs[i].id == encalg)
			return encs[i].name;
	return "NULL"; /* none, and GMAC */
}

const char *ws_auth_name(uint8_t encalg, uint8_t authalg)
{
	if (encalg == SADB_X_EALG_AESGMAC)
		return "ANY 128 bit authentication [no checking]";
	if (authalg >= SADB_X_AALG_AES128GMAC && authalg <= SADB_X_AALG_CHACHA20POLY1305)
		return "NULL"; /* the AEAD cipher authenticates */
	for (size_t i = 0; i < ARRAY_LEN(auths); i++)
		if (auths[i].id == authalg)
			return auths[i].name;
	return "NULL";
}

int ws_enc_id(const char *name, uint8_t *encalg)
{
	for (size_t i = 0; i < ARRAY_LEN(encs); i++)
		if (strcmp(encs[i].name, name) == 0) {
			*encalg = encs[i].id;
			return 0;
		}
	return -1;
}

int ws_auth_id(const char *name, uint8_t *authalg)
{
	for (size_t i = 0; i < ARRAY_LEN(auths); i++)
		if (strcmp(auths[i].name, name) == 0) {
			*authalg = auths[i].id;
			return 0;
		}
	return -1;
}
