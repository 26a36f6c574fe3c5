/* An external link endpoint: a node's interface that stands for a real
 * host behind a TAP device (docs/external.md).  Frames the link delivers
 * to it are written to the TAP; frames read from the TAP leave it into the
 * link, at the virtual time that matches the wall clock (the run becomes
 * real-time: sim_add_source). */
#ifndef SIM_EXTERNAL_H
#define SIM_EXTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct iface;
struct sim;

struct external_stats {
	uint64_t in, out;     /* frames read from the TAP, written to it */
	uint64_t in_dropped;  /* read but too big for the link, or past the per-wake cap */
	uint64_t out_dropped; /* the TAP would not take them (its queue full, or down) */
};

/* Attach ifp to the TAP device dev (made if it does not exist, as `ip
 * tuntap add` would; an existing one is used as configured).  0, or -1
 * with err saying why (no /dev/net/tun, no CAP_NET_ADMIN, a busy name). */
int external_attach(struct sim *s, struct iface *ifp, const char *dev, char *err, size_t cap);
const struct external_stats *external_stats(const struct iface *ifp);

#endif
