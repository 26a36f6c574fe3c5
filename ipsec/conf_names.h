/* Names for the ipsec.conf front end (conf_names.c). */
#ifndef IPSEC_CONF_NAMES_H
#define IPSEC_CONF_NAMES_H

#include <stdint.h>

/* ipsecctl's transform ids. */
enum {
	AUTHXF_NONE = 1,
	AUTHXF_HMAC_MD5,
	AUTHXF_HMAC_RIPEMD160,
	AUTHXF_HMAC_SHA1,
	AUTHXF_HMAC_SHA2_256,
	AUTHXF_HMAC_SHA2_384,
	AUTHXF_HMAC_SHA2_512
};
enum {
	ENCXF_NONE = 1,
	ENCXF_3DES_CBC,
	ENCXF_AES,
	ENCXF_AES_128,
	ENCXF_AES_192,
	ENCXF_AES_256,
	ENCXF_AESCTR,
	ENCXF_AES_128_CTR,
	ENCXF_AES_192_CTR,
	ENCXF_AES_256_CTR,
	ENCXF_AES_128_GCM,
	ENCXF_AES_192_GCM,
	ENCXF_AES_256_GCM,
	ENCXF_AES_128_GMAC,
	ENCXF_AES_192_GMAC,
	ENCXF_AES_256_GMAC,
	ENCXF_BLOWFISH,
	ENCXF_CAST128,
	ENCXF_CHACHA20_POLY1305,
	ENCXF_NULL
};
enum { COMPXF_DEFLATE = 1 };

int conf_proto_number(const char *name);  /* -1 when unknown */
const char *conf_proto_name(uint8_t num); /* NULL when it has none */
int conf_service_port(const char *name);  /* -1 when unknown */
const char *conf_service_name(uint16_t port, uint8_t proto);

#endif
