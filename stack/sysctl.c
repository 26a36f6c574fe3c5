#include "sysctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../ipsec/pfkeyv2.h"

struct sysctl_def {
	const char *name;
	int64_t def, min, max;
};

static const struct sysctl_def sysctl_defs[SYSCTL__COUNT] = {
#define SYSCTL_DEF(id, name, def, min, max) [SYSCTL_##id] = {name, def, min, max},
    SYSCTL_LIST(SYSCTL_DEF)
#undef SYSCTL_DEF
};

struct sysctl_word {
	const char *name;
	int64_t value;
};

/* OpenBSD's lists, in its order (the first prefix match wins). */
static const struct sysctl_word enc_words[] = {
    {"aes", SADB_X_EALG_AES},      {"aesctr", SADB_X_EALG_AESCTR}, {"3des", SADB_EALG_3DESCBC},
    {"blowfish", SADB_X_EALG_BLF}, {"cast128", SADB_X_EALG_CAST},  {NULL, 0}};
static const struct sysctl_word auth_words[] = {{"hmac-sha1", SADB_AALG_SHA1HMAC},
						{"hmac-ripemd160", SADB_X_AALG_RIPEMD160HMAC},
						{"hmac-md5", SADB_AALG_MD5HMAC},
						{"hmac-sha2-256", SADB_X_AALG_SHA2_256},
						{"hmac-sha2-384", SADB_X_AALG_SHA2_384},
						{"hmac-sha2-512", SADB_X_AALG_SHA2_512},
						{NULL, 0}};

static const struct sysctl_word *words_of(int id)
{
	switch (id) {
	case SYSCTL_IPSEC_ENC_ALG: return enc_words;
	case SYSCTL_IPSEC_AUTH_ALG: return auth_words;
	default: return NULL;
	}
}

const char *sysctl_value_name(enum sysctl_id id, int64_t v)
{
	const struct sysctl_word *w = words_of(id);
	for (; w && w->name; w++)
		if (w->value == v)
			return w->name;
	return NULL;
}

void sysctl_init(int64_t *values)
{
	for (int i = 0; i < SYSCTL__COUNT; i++)
		values[i] = sysctl_defs[i].def;
}

int sysctl_lookup(const char *name)
{
	for (int i = 0; i < SYSCTL__COUNT; i++)
		if (strcmp(sysctl_defs[i].name, name) == 0)
			return i;
	return -1;
}

const char *sysctl_name(enum sysctl_id id)
{
	return sysctl_defs[id].name;
}

int sysctl_parse(const char *name, const char *value, int *idp, int64_t *out, char *err,
		 size_t errcap)
{
	int id = sysctl_lookup(name);
	if (id < 0) {
		snprintf(err, errcap, "unknown sysctl");
		return -1;
	}
	const struct sysctl_word *w = words_of(id);
	if (w) {
		size_t n = strlen(value);
		for (; n && w->name; w++)
			if (n <= strlen(w->name) && strncasecmp(w->name, value, n) == 0) {
				*idp = id;
				*out = w->value;
				return 0;
			}
		snprintf(err, errcap, "%s",
			 id == SYSCTL_IPSEC_ENC_ALG
			     ? "not an algorithm of aes, aesctr, 3des, blowfish, cast128"
			     : "not an algorithm of hmac-sha1, hmac-ripemd160, hmac-md5, "
			       "hmac-sha2-256, hmac-sha2-384, hmac-sha2-512");
		return -1;
	}
	char *end;
	errno = 0;
	long long v = strtoll(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < sysctl_defs[id].min ||
	    v > sysctl_defs[id].max) {
		snprintf(err, errcap, "bad value '%s': an integer from %lld to %lld", value,
			 (long long)sysctl_defs[id].min, (long long)sysctl_defs[id].max);
		return -1;
	}
	*idp = id;
	*out = v;
	return 0;
}
