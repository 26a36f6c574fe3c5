/* External link endpoints on TAP devices (external.h). */
#include "external.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../stack/ether.h"
#include "../stack/iface.h"
#include "../stack/node.h"
#include "../stack/pkt.h"
#include "../stack/util.h"
#include "sim.h"

#define EXT_FRAME_MAX 65536 /* what one read can bring (a TAP frame is smaller) */
#define EXT_BURST     256   /* frames taken per wake: the simulation gets its turn */

struct ext {
	struct iface *ifp;
	int fd;
	char dev[IFNAMSIZ];
	struct external_stats st;
};

static void ext_out(struct iface *ifp, struct pkt *frame)
{
	struct ext *e = ifp->tap_arg;
	ssize_t n = write(e->fd, frame->data, frame->len);
	if (n == (ssize_t)frame->len)
		e->st.out++;
	else
		e->st.out_dropped++;
	pkt_free(frame);
}

static void ext_ready(struct sim *s, void *arg)
{
	struct ext *e = arg;
	uint8_t *buf = xmalloc(EXT_FRAME_MAX);
	(void)s;
	for (unsigned k = 0; k < EXT_BURST; k++) {
		ssize_t n = read(e->fd, buf, EXT_FRAME_MAX);
		if (n <= 0)
			break;
		if ((size_t)n < ETHER_HDR_LEN ||
		    (e->ifp->mtu && (size_t)n > e->ifp->mtu + ETHER_HDR_LEN)) {
			e->st.in_dropped++;
			continue;
		}
		e->st.in++;
		iface_transmit(e->ifp, pkt_from(buf, (size_t)n, PKT_HEADROOM));
	}
	free(buf);
}

static void ext_close(void *arg)
{
	struct ext *e = arg;
	close(e->fd);
	free(e);
}

int external_attach(struct sim *s, struct iface *ifp, const char *dev, char *err, size_t cap)
{
	if (strlen(dev) >= IFNAMSIZ) {
		snprintf(err, cap, "TAP name '%s' is longer than %d characters", dev, IFNAMSIZ - 1);
		return -1;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, cap, "cannot open /dev/net/tun: %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, dev, strlen(dev));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, cap, "cannot attach to TAP %s: %s%s", dev, strerror(errno),
			 errno == EPERM ? " (it needs CAP_NET_ADMIN, or a TAP made for this user)"
					: "");
		close(fd);
		return -1;
	}
	if (s->nsources >= SIM_MAX_SOURCES) {
		snprintf(err, cap, "at most %d external endpoints in a run", SIM_MAX_SOURCES);
		close(fd);
		return -1;
	}
	struct ext *e = xcalloc(1, sizeof(*e));
	e->ifp = ifp;
	e->fd = fd;
	snprintf(e->dev, sizeof(e->dev), "%s", dev);
	ifp->tap_out = ext_out;
	ifp->tap_arg = e;
	struct sim_source src = {.fd = fd, .ready = ext_ready, .close = ext_close, .arg = e};
	snprintf(src.what, sizeof(src.what), "%s on TAP %s", ifp->node->name, dev);
	return sim_add_source(s, &src); /* room checked above */
}

const struct external_stats *external_stats(const struct iface *ifp)
{
	const struct ext *e = ifp->tap_out == ext_out ? ifp->tap_arg : NULL;
	return e ? &e->st : NULL;
}
