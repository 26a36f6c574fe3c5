/*
 * Wireshark's names for ESP algorithms, as its esp_sa file writes them
 * (reference: oracles.md 3), both ways: for the esp_sa file a run writes,
 * and for the esp_sa files verify, decap and encap read.
 */
#ifndef IPSEC_WIRESHARK_H
#define IPSEC_WIRESHARK_H

#include <stdint.h>

/* The Encryption column for an SA's cipher ("NULL" for none and for GMAC,
 * which leaves the payload in the clear). */
const char *ws_enc_name(uint8_t encalg);
/* The Authentication column: the HMAC, "NULL" for AEAD ciphers, and for
 * GMAC "ANY 128 bit authentication [no checking]". */
const char *ws_auth_name(uint8_t encalg, uint8_t authalg);

/* The reverse, for the names we carry: 0 and the SADB id, or -1.  An
 * AEAD's authentication is its cipher's: ws_auth_id gives SADB_AALG_NONE
 * for "NULL". */
int ws_enc_id(const char *name, uint8_t *encalg);
int ws_auth_id(const char *name, uint8_t *authalg);

#endif
