#include "enc.h"

#include <stdlib.h>
#include <string.h>

#include "../sim/capture.h"
#include "../sim/sim.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "sad.h"
#include "xform.h"

uint32_t enc_flags(const struct tdb *t)
{
	uint32_t f = 0;
	if (t->sproto == IPPROTO_AH)
		return ENC_M_AUTH;
	if (t->xf && xform_confidential(t->xf))
		f |= ENC_M_CONF;
	if (t->xf && xform_authentic(t->xf))
		f |= ENC_M_AUTH;
	return f;
}

void enc_tap(struct node *n, const struct tdb *t, const uint8_t *ip, size_t len, uint32_t flags,
	     bool out)
{
	node_count(n, out ? STAT_ENC_OPACKETS : STAT_ENC_IPACKETS);
	n->stats[out ? STAT_ENC_OBYTES : STAT_ENC_IBYTES] += len;
	if (!n->nenccaps)
		return;
	uint8_t *frame = xmalloc(ENC_HDRLEN + len);
	/* struct enchdr: af and flags in host order, as OpenBSD writes them
	 * and tcpdump and Wireshark read them; the SPI in network order. */
	uint32_t af = t->dst.af == ADDR_V6 ? ENC_AF_INET6 : ENC_AF_INET;
	memcpy(frame, &af, 4);
	put_be32(frame + 4, t->spi);
	memcpy(frame + 8, &flags, 4);
	memcpy(frame + ENC_HDRLEN, ip, len);
	for (unsigned i = 0; i < n->nenccaps; i++)
		capture_write(n->enccaps[i], n->sim->now, frame, ENC_HDRLEN + len);
	free(frame);
}
