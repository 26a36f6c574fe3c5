#include "attack.h"

#include <stdio.h>
#include <stdlib.h>

#include "../ipsec/sad.h"
#include "../stack/ether.h"
#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/util.h"
#include "link.h"
#include "sim.h"

#define ETHER_HDR   14
#define HISTORY_MAX 200000 /* frames a link keeps for replays */

/* The protocol of a frame's IPv4 or IPv6 packet (behind IPv6's extension
 * headers), where it starts, and whether the packet is a first fragment
 * (ports and SPIs are only there).  False for anything else. */
static bool frame_proto(const uint8_t *frame, size_t len, uint8_t *proto, size_t *off, bool *first)
{
	if (len < ETHER_HDR)
		return false;
	const uint8_t *ip = frame + ETHER_HDR;
	size_t iplen = len - ETHER_HDR;
	uint16_t type = get_be16(frame + 12);
	if (type == ETHERTYPE_IP && iplen >= IP4_HDR_LEN) {
		*proto = ip[9];
		*off = (size_t)(ip[0] & 0x0f) * 4;
		*first = (get_be16(ip + 6) & IP4_OFFMASK) == 0;
		return true;
	}
	if (type == ETHERTYPE_IPV6 && iplen >= IP6_HDR_LEN) {
		struct ip6_chain c;
		if (ip6_walk_quiet(ip, iplen, &c) < 0)
			return false;
		*proto = c.proto;
		*off = c.off;
		*first = !c.later_fragment;
		return true;
	}
	return false;
}

bool attack_match(const struct attack_filter *f, const uint8_t *frame, size_t len, int port)
{
	if (f->port >= 0 && f->port != port)
		return false;
	if (f->any_frame)
		return true;
	uint8_t proto;
	size_t hl;
	bool first;
	if (!frame_proto(frame, len, &proto, &hl, &first))
		return false;
	const uint8_t *ip = frame + ETHER_HDR;
	size_t iplen = len - ETHER_HDR;
	switch (f->proto) {
	case AP_IP: return true;
	case AP_ICMP: return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
	case AP_ESP:
		if (proto != IPPROTO_ESP)
			return false;
		return !f->has_value || (first && iplen >= hl + 4 && get_be32(ip + hl) == f->value);
	case AP_AH:
		if (proto != IPPROTO_AH)
			return false;
		return !f->has_value ||
		       (first && iplen >= hl + 8 && get_be32(ip + hl + 4) == f->value);
	case AP_UDP:
		if (proto != IPPROTO_UDP)
			return false;
		return !f->has_value ||
		       (first && iplen >= hl + 4 &&
			(get_be16(ip + hl) == f->value || get_be16(ip + hl + 2) == f->value));
	}
	return false;
}

static void trace(struct link *l, const char *what, size_t len)
{
	char t[32];
	if (l->sim->watch && l->sim->watch->attack)
		l->sim->watch->attack(l->sim->watch->arg, l, what);
	if (l->sim->trace)
		fprintf(l->sim->trace, "%s %s %s len %zu\n", sim_fmt_time(l->sim->now, t), l->name,
			what, len);
}

bool attack_on_send(struct link *l, struct link_port *from, struct pkt *frame, bool after_tap)
{
	int port = (int)from->index;
	if (!after_tap && l->keep_history && l->nhistory < HISTORY_MAX) {
		l->history = xgrow(l->history, l->nhistory, sizeof(*l->history));
		l->history[l->nhistory++] = (struct link_frame){pkt_clone(frame), from->index};
	}
	for (unsigned i = 0; i < l->nattacks; i++) {
		struct link_attack *a = &l->attacks[i];
		if ((a->kind == ATTACK_DROP) != after_tap)
			continue;
		if (a->seen >= a->nth || !attack_match(&a->f, frame->data, frame->len, port))
			continue;
		if (++a->seen != a->nth)
			continue;
		char what[64];
		if (a->kind == ATTACK_DROP) {
			l->stats[LINK_STAT_ATTACKDROP]++;
			trace(l, "attack drop", frame->len);
			pkt_free(frame);
			return false;
		}
		if (ETHER_HDR + a->offset < frame->len) {
			frame->data[ETHER_HDR + a->offset] ^= a->xor ;
			l->stats[LINK_STAT_TAMPERED]++;
			snprintf(what, sizeof(what), "attack tamper offset %zu xor 0x%02x",
				 a->offset, a->xor);
		} else {
			snprintf(what, sizeof(what), "attack tamper offset %zu: past the end",
				 a->offset);
		}
		trace(l, what, frame->len);
	}
	return true;
}

int attack_replay(struct link *l, const struct attack_filter *f, uint64_t nth)
{
	const struct link_frame *pick = NULL;
	uint64_t seen = 0;
	for (unsigned i = 0; i < l->nhistory; i++) {
		const struct link_frame *h = &l->history[i];
		if (!attack_match(f, h->p->data, h->p->len, (int)h->port))
			continue;
		if (nth == 0 || ++seen == nth)
			pick = h;
		if (nth && seen == nth)
			break;
	}
	if (!pick) {
		trace(l, "attack replay: no such frame yet", 0);
		return -1;
	}
	struct pkt *p = pkt_clone(pick->p);
	l->stats[LINK_STAT_REPLAYED]++;
	trace(l, "attack replay", p->len);
	link_send(&l->ports[pick->port], p);
	return 0;
}

void attack_free_all(struct link *l)
{
	for (unsigned i = 0; i < l->nhistory; i++)
		pkt_free(l->history[i].p);
	free(l->history);
	free(l->attacks);
	l->history = NULL;
	l->attacks = NULL;
	l->nhistory = l->nattacks = 0;
}
