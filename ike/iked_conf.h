/*
 * The iked.conf subset the IKEv2 daemon reads (docs/ike.md): `ikev2`
 * policies and macros, read with ipsec.conf's lexer (the same quoting,
 * comments, continuation lines, $macros and include), every error
 * reported as FILE:LINE: message.
 */
#ifndef IKE_IKED_CONF_H
#define IKE_IKED_CONF_H

#include <stdio.h>

#include "../ipsec/conf.h"
#include "iked.h"

/* Parse a file (path) or opts->text; policies go to *out (to free with
 * iked_conf_free), `set` lines to *set.  0, or -1 after reporting every
 * error to opts->err. */
int iked_conf_parse(const char *path, const struct conf_options *opts, struct iked_policy **out,
		    unsigned *n, struct iked_settings *set);
/* A transform's name as iked.conf writes it ("aes-128-gcm", "hmac-sha2-256",
 * "curve25519"; an integrity of none: "none"), for show. */
const char *iked_alg_name(uint8_t type, uint16_t id, uint16_t bits);
/* Wipes the PSKs. */
void iked_conf_free(struct iked_policy *p, unsigned n);

#endif
