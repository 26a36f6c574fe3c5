/*
 * The run's ESP SAs as Wireshark's esp_sa file (reference: oracles.md 3),
 * so that `tshark -o esp.enable_encryption_decode:TRUE` decrypts the run's
 * captures and checks their ICVs.  Every SA any node made during the run is
 * listed once (both ends hold the same SA), in the order they were made,
 * including SAs deleted before the end.  The 8-column layout is the one
 * every Wireshark release reads; ESN SAs are listed too, but only newer
 * releases (10 columns, the ESN high bits) can check their ICVs.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/pfkeyv2.h"
#include "../ipsec/sad.h"
#include "../ipsec/wireshark.h"
#include "../stack/util.h"
#include "scenario.h"
#include "sim.h"

static void hex(char *out, const uint8_t *k, size_t len)
{
	out[0] = '\0';
	if (!len)
		return;
	strcpy(out, "0x");
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 + 2 * i, "%02x", k[i]);
}

static void on_sa(void *arg, struct node *n, const struct tdb *t)
{
	struct scenario *sc = arg;
	(void)n;
	scn_report_sa(sc, t);
	if (t->sproto != IPPROTO_ESP || (t->dst.af != ADDR_V4 && t->dst.af != ADDR_V6))
		return;
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], ek[2 * 256 + 3], ak[2 * 256 + 3];
	hex(ek, t->enckey, t->enckeylen);
	bool aead =
	    t->authalg >= SADB_X_AALG_AES128GMAC && t->authalg <= SADB_X_AALG_CHACHA20POLY1305;
	if (t->encalg == SADB_X_EALG_AESGMAC)
		ek[0] = '\0'; /* NULL encryption for Wireshark */
	hex(ak, aead ? NULL : t->authkey, aead ? 0 : t->authkeylen);
	char line[1500];
	/* Wireshark before 4.2 has no ESN column: say so on the line before. */
	int pre = snprintf(line, sizeof(line), "%s",
			   (t->flags & TDBF_ESN) && t->wnd
			       ? "# ESN: only Wireshark 4.2 and later (SN 64-bit) check this ICV\n"
			       : "");
	snprintf(line + pre, sizeof(line) - (size_t)pre,
		 "\"%s\",\"%s\",\"%s\",\"0x%08x\",\"%s\",\"%s\",\"%s\",\"%s\"",
		 t->dst.af == ADDR_V6 ? "IPv6" : "IPv4", addr_fmt(&t->src, src),
		 addr_fmt(&t->dst, dst), t->spi, ws_enc_name(t->encalg), ek,
		 ws_auth_name(t->encalg, t->authalg), ak);
	memset(ek, 0, sizeof(ek));
	memset(ak, 0, sizeof(ak));
	if (hmap_get_str(&sc->espsa_seen, line)) { /* the other end's copy of the SA */
		OPENSSL_cleanse(line, sizeof(line));
		return;
	}
	sc->espsa = xgrow(sc->espsa, sc->nespsa, sizeof(*sc->espsa));
	sc->espsa[sc->nespsa] = xstrdup(line);
	hmap_add_str(&sc->espsa_seen, sc->espsa[sc->nespsa], sc->espsa[sc->nespsa]);
	sc->nespsa++;
	OPENSSL_cleanse(line, sizeof(line));
}

void scn_espsa_start(struct scenario *sc)
{
	sc->sim->on_sa = on_sa;
	sc->sim->on_sa_arg = sc;
}

void scn_espsa_finish(struct scenario *sc)
{
	if (!sc->nespsa)
		return;
	char path[4096];
	scn_out_path(sc, "esp_sa", path, sizeof(path));
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(sc->err, "%s: cannot write: ", path);
		perror(NULL);
		return;
	}
	fputs("# The run's ESP SAs, for Wireshark: copy to a profile as esp_sa, or pass\n"
	      "# each line to tshark as -o 'uat:esp_sa:LINE' with\n"
	      "# -o esp.enable_encryption_decode:TRUE\n",
	      f);
	for (unsigned i = 0; i < sc->nespsa; i++)
		fprintf(f, "%s\n", sc->espsa[i]);
	fclose(f);
	scn_add_written(sc, path);
}
