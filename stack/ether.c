#include "ether.h"

#include <string.h>

#include "arp.h"
#include "bridge.h"
#include "iface.h"
#include "ip4.h"
#include "ip6.h"
#include "node.h"
#include "util.h"

const uint8_t ether_bcast[ETHER_ADDR_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int ether_parse(const uint8_t *b, size_t len, struct ether_hdr *h)
{
	if (len < ETHER_HDR_LEN)
		return -1;
	memcpy(h->dst, b, ETHER_ADDR_LEN);
	memcpy(h->src, b + 6, ETHER_ADDR_LEN);
	h->type = get_be16(b + 12);
	return 0;
}

void ether_emit(uint8_t *b, const struct ether_hdr *h)
{
	memcpy(b, h->dst, ETHER_ADDR_LEN);
	memcpy(b + 6, h->src, ETHER_ADDR_LEN);
	put_be16(b + 12, h->type);
}

bool ether_is_group(const uint8_t *mac)
{
	return mac[0] & 1;
}

void ether_input(struct iface *ifp, struct pkt *frame)
{
	struct node *n = ifp->node;
	struct ether_hdr h;

	/* A frame off the wire is a new packet: nothing the sender's stack
	 * noted on the buffer (the SAs that processed it, IPComp, NAT-T,
	 * forwarding) may reach this node's policy checks. */
	pkt_reset_meta(frame);
	node_count(n, STAT_ETHER_IPACKETS);
	if (ether_parse(frame->data, frame->len, &h) < 0) {
		node_drop(n, frame, STAT_ETHER_TOOSHORT);
		return;
	}
	if (ifp->bport) { /* a bridge member: the bridge takes every frame */
		bridge_input(ifp->bport, frame);
		return;
	}
	if (ether_is_group(h.dst))
		frame->flags |= PKT_LINKBCAST;
	else if (memcmp(h.dst, ifp->mac, ETHER_ADDR_LEN) != 0) {
		node_drop(n, frame, STAT_ETHER_NOTFORUS);
		return;
	}
	pkt_pull(frame, ETHER_HDR_LEN);
	switch (h.type) {
	case ETHERTYPE_IP: ip4_input(n, frame); break;
	case ETHERTYPE_ARP: arp_input(ifp, frame); break;
	case ETHERTYPE_IPV6: ip6_input(n, frame); break;
	default: node_drop(n, frame, STAT_ETHER_NOPROTO); break;
	}
}

void ether_output(struct iface *ifp, struct pkt *p, const uint8_t *dst, uint16_t type)
{
	struct ether_hdr h;
	memcpy(h.dst, dst, ETHER_ADDR_LEN);
	memcpy(h.src, ifp->mac, ETHER_ADDR_LEN);
	h.type = type;
	ether_emit(pkt_push(p, ETHER_HDR_LEN), &h);
	if (p->len < ETHER_MIN_LEN) {
		size_t pad = ETHER_MIN_LEN - p->len;
		memset(pkt_put(p, pad), 0, pad);
	}
	iface_transmit(ifp, p);
}
