/*
 * Where IPsec meets the IPv4 and IPv6 stacks, as in OpenBSD (reference
 * section 3):
 * the SPD on output (ip_output_ipsec_lookup, ipsp_spd_lookup), applying an
 * SA and its bundle (ipsp_process_packet, ipsp_process_done), protocol
 * input of ESP and AH (ipsec_common_input and its callback), IP-in-IP
 * (ip_ipip.c), and the input policy check for cleartext packets
 * (ipsec_local_check, ipsec_forward_check).
 */
#include "ipsec_io.h"

#include <errno.h>
#include <string.h>

#include "../sim/sim.h"
#include "../stack/bridge.h"
#include "../stack/icmp.h"
#include "../stack/icmp6.h"
#include "../stack/iface.h"
#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/tcp.h"
#include "../stack/udp.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "../pf/pf.h"
#include "acquire.h"
#include "ah.h"
#include "enc.h"
#include "esp.h"
#include "ipcomp.h"
#include "ipsec_ip.h"
#include "lifetime.h"
#include "pfkey.h"
#include "show.h"
#include "sad.h"
#include "spd.h"
#include "udpencap.h"
#include "xform.h"

#define IPPROTO_TCP    6
#define IPTOS_ECN_MASK 0x03
#define IPTOS_ECN_ECT0 0x02
#define IPTOS_ECN_CE   0x03

/* The selector of a packet: addresses, the upper-layer protocol (behind
 * IPv6's extension headers), and ports only for TCP and UDP and only where
 * the first fragment carries them.  False when the headers do not hold
 * together, which the stacks never hand over: they built or checked them. */
static bool packet_sel(const struct pkt *p, uint8_t dir, struct spd_sel *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->dir = dir;
	uint8_t af = ipsec_ip_af(p->data, p->len);
	if (af == ADDR_NONE)
		return false;
	sel->src = ipsec_ip_src(p->data);
	sel->dst = ipsec_ip_dst(p->data);
	size_t off;
	bool first;
	if (af == ADDR_V4) {
		sel->proto = p->data[9];
		off = (size_t)(p->data[0] & 0x0f) * 4;
		first = !(get_be16(p->data + 6) & IP4_OFFMASK);
	} else {
		struct ip6_chain c;
		if (ip6_walk_quiet(p->data, p->len, &c) < 0)
			return false;
		sel->proto = c.proto;
		off = c.off;
		first = !c.later_fragment;
	}
	if ((sel->proto == IPPROTO_UDP || sel->proto == IPPROTO_TCP) && first &&
	    p->len >= off + 4) {
		sel->sport = get_be16(p->data + off);
		sel->dport = get_be16(p->data + off + 2);
	}
	return true;
}

/* ipo_dst (or ipo_src) of 0.0.0.0 or the broadcast address means "the
 * packet's own address" (OpenBSD's dignore/signore). */
static bool addr_wild(const struct ipaddr *a)
{
	if (a->af == ADDR_NONE || addr_is_unspec(a))
		return true;
	return addr_is_v4_limited_bcast(a);
}

/* ipsp_aux_match's filter test: an SA added with a flow (SRC_FLOW,
 * DST_FLOW, PROTOCOL, FLOW_TYPE) carries only that flow, byte for byte;
 * an SA without one carries any. */
static bool sa_filter_ok(const struct tdb *t, const struct spd_flow *f)
{
	if (!t->has_filter)
		return true;
	const struct spd_sel *a = &t->filter, *b = &f->sel;
	const struct spd_mask *am = &t->filtermask, *bm = &f->mask;
	return a->dir == b->dir && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport && addr_eq(&a->src, &b->src) && addr_eq(&a->dst, &b->dst) &&
	       am->src_plen == bm->src_plen && am->dst_plen == bm->dst_plen &&
	       am->proto == bm->proto && am->sport == bm->sport && am->dport == bm->dport;
}

static bool id_eq(const char *a, uint16_t atype, const char *b, uint16_t btype)
{
	return atype == btype && strcmp(a, b) == 0;
}

/* ipsp_ids_match: a flow with identities (both SRC and DST; one alone is
 * none, as import_identities takes it) is carried only by an SA with the
 * same pair.  OpenBSD interns (local, remote) pairs and compares pointers,
 * which comes to comparing types and bytes.  A flow's local identity is
 * its SRC; an SA's is SRC when it came by ADD and DST when by UPDATE
 * (tdb_ids_swapped), so that both SAs a key manager installs for one peer
 * hold our identity as local. */
static bool sa_ids_ok(const struct tdb *t, const struct spd_flow *f)
{
	if (!f->srcid || !f->dstid)
		return true;
	if (!t->srcid || !t->dstid)
		return false;
	const char *local = t->ids_swapped ? t->dstid : t->srcid;
	const char *remote = t->ids_swapped ? t->srcid : t->dstid;
	uint16_t ltype = t->ids_swapped ? t->dstid_type : t->srcid_type;
	uint16_t rtype = t->ids_swapped ? t->srcid_type : t->dstid_type;
	return id_eq(local, ltype, f->srcid, f->srcid_type) &&
	       id_eq(remote, rtype, f->dstid, f->dstid_type);
}

/* gettdbbydst: a usable SA to the gateway for the protocol, whose filter
 * (if it has one) is the flow's and whose identities are the flow's (if
 * it has any: ipsp_aux_match).  The newest wins, as OpenBSD's hash
 * chains put the newest first (a rekey's new SA is used at once). */
static struct tdb *sa_to(const struct ipsec_state *st, const struct ipaddr *gw, uint8_t sproto,
			 const struct spd_flow *f)
{
	for (struct tdb *t = sad_first_to(&st->sad, gw, sproto); t; t = sad_next_to(t, gw, sproto))
		if (!(t->flags & TDBF_INVALID) && sa_filter_ok(t, f) && sa_ids_ok(t, f))
			return t;
	return NULL;
}

/* The flow's SA to gw, from its cache while no SA has come or gone: the
 * SAD walk runs once per change, not once per packet. */
static struct tdb *flow_sa(const struct ipsec_state *st, struct spd_flow *f,
			   const struct ipaddr *gw)
{
	if (f->sa_gen != st->sad.gen || !addr_eq(&f->sa_gw, gw)) {
		f->sa = sa_to(st, gw, f->sproto, f);
		f->sa_gen = st->sad.gen;
		f->sa_gw = *gw;
	}
	return f->sa;
}

static bool sa_is(const struct pkt_sa *ps, const struct tdb *t)
{
	return ps->proto == t->sproto && ps->spi == t->spi && addr_eq(&ps->dst, &t->dst);
}

/* Has the packet been through this SA on its way out (OpenBSD's
 * IPSEC_OUT_DONE tags, one per SA)?  A packet that has been through as
 * many SAs as it can record gets no more. */
static bool went_through(const struct pkt *p, const struct tdb *t)
{
	if (p->nout_done == PKT_OUT_DONE_MAX)
		return true;
	for (unsigned i = 0; i < p->nout_done; i++)
		if (sa_is(&p->out_done[i], t))
			return true;
	return false;
}

/* Which flow wanted an SA that is not there, and to where: the drop line
 * after it says only ipsec.nosa. */
static void trace_no_sa(struct node *n, const struct spd_flow *f, const struct ipaddr *gw)
{
	char ft[512], a[ADDR_STRLEN];
	ipsec_flow_text(f, ft, sizeof(ft));
	const char *proto = f->sproto == IPPROTO_AH       ? "ah"
			    : f->sproto == IPPROTO_IPCOMP ? "ipcomp"
			    : f->sproto == IPPROTO_IPIP   ? "ipip"
							  : "esp";
	node_trace(n, "ipsec: no %s SA to %s for %s", proto, addr_fmt(gw, a), ft);
}

/* pf on enc0, on the packet in the clear, before the transforms
 * (ip_output_ipsec_send); the SA was chosen before any translation, as
 * OpenBSD chooses it.  Then the SA. */
static int send_through(struct node *n, struct pkt *p, struct tdb *t)
{
	if (!pf_test(n, PF_OUT, "enc0", p))
		return -EACCES;
	return ipsec_process(n, p, t);
}

static bool sa_authenticates(const struct tdb *t)
{
	return t->sproto == IPPROTO_AH ||
	       (t->sproto == IPPROTO_ESP && t->xf && xform_icvlen(t->xf) > 0);
}

/* The per-socket levels on output (ipsec(4)): USE, REQUIRE or UNIQUE on
 * esp-trans or esp-network want the packet to leave through ESP (an ESP
 * tunnel for esp-network), on auth through AH or an ESP with an ICV.  What
 * the SPD gave the packet does not provide, the socket's own policy asks
 * for, as OpenBSD's per-socket policies did before 2001: an SA of that
 * protocol to the packet's destination, or else an ACQUIRE for one with
 * the packet dropped meanwhile.  false: nothing is missing.  Each SA it
 * applies is recorded in the packet, so the next pass (ip*_output_raw
 * asks again) sees what is done. */
static bool socket_policy(struct node *n, struct pkt *p, const struct spd_sel *sel, int *rc)
{
	const uint8_t *l = p->sl.l;
	bool want_esp = l[SL_ESP_TRANS] >= IPSEC_LEVEL_USE || l[SL_ESP_NETWORK] >= IPSEC_LEVEL_USE;
	bool want_tunnel = l[SL_ESP_NETWORK] >= IPSEC_LEVEL_USE;
	bool want_auth = l[SL_AUTH] >= IPSEC_LEVEL_USE;
	if (!want_esp && !want_auth)
		return false;
	struct ipsec_state *st = n->ipsec;
	bool has_esp = false, has_auth = false;
	for (unsigned i = 0; st && i < p->nout_done; i++) {
		const struct pkt_sa *d = &p->out_done[i];
		const struct tdb *t = sad_lookup(&st->sad, &d->dst, d->spi, d->proto);
		if (!t)
			continue;
		if (t->sproto == IPPROTO_ESP && (!want_tunnel || (t->flags & TDBF_TUNNELING)))
			has_esp = true;
		if (sa_authenticates(t))
			has_auth = true;
	}
	uint8_t sproto;
	if (want_esp && !has_esp)
		sproto = IPPROTO_ESP;
	else if (want_auth && !has_auth)
		sproto = IPPROTO_AH;
	else
		return false;
	/* the socket's flow: this packet's addresses, protocol and ports */
	bool ports = sel->proto == IPPROTO_UDP || sel->proto == IPPROTO_TCP;
	uint8_t plen = sel->dst.af == ADDR_V6 ? 128 : 32;
	struct spd_flow f = {.sel = *sel,
			     .mask = {plen, plen, true, ports, ports},
			     .type = IPSP_IPSEC_REQUIRE,
			     .sproto = sproto,
			     .local = sel->src,
			     .peer = sel->dst};
	struct tdb *t = st ? sad_first_to(&st->sad, &sel->dst, sproto) : NULL;
	for (; t; t = sad_next_to(t, &sel->dst, sproto))
		if (!(t->flags & TDBF_INVALID) && sa_filter_ok(t, &f) && !went_through(p, t) &&
		    (sproto != IPPROTO_ESP || !want_tunnel || (t->flags & TDBF_TUNNELING)))
			break;
	if (t) {
		*rc = send_through(n, p, t);
		return true;
	}
	if (!st || acquire_sa(n, &f, &sel->dst) == ACQUIRE_NOBODY) {
		trace_no_sa(n, &f, &sel->dst);
		node_drop(n, p, STAT_IPSEC_NOSA);
		*rc = -EACCES;
	} else {
		node_drop(n, p, STAT_IPSEC_ACQUIRING);
		*rc = 0;
	}
	return true;
}

bool ipsec_output(struct node *n, struct pkt *p, int *rc)
{
	struct ipsec_state *st = n->ipsec;
	bool spd = st && st->spd.count;
	if (!spd && !p->has_sl)
		return false;
	struct spd_sel sel;
	if (!packet_sel(p, IPSP_DIRECTION_OUT, &sel))
		return false;
	struct spd_flow *f = spd ? spd_lookup(&st->spd, &sel) : NULL;
	if (!f || f->type == IPSP_PERMIT)
		return p->has_sl && socket_policy(n, p, &sel, rc);
	if (f->type == IPSP_DENY) {
		node_drop(n, p, STAT_IPSEC_DENY);
		*rc = -EHOSTUNREACH;
		return true;
	}
	/* A socket with every level BYPASS (only root may set them) sends in
	 * the clear what the flow would protect, when the packet goes to the
	 * flow's gateway itself (ipsp_spd_lookup's "direct match"): a key
	 * manager's packets to its peer. */
	if (p->has_sl && seclevel_bypass(&p->sl) &&
	    (addr_wild(&f->peer) || addr_eq(&f->peer, &sel.dst)))
		return false;
	const struct ipaddr *gw = addr_wild(&f->peer) ? &sel.dst : &f->peer;
	struct tdb *t = flow_sa(st, f, gw);
	if (t && went_through(p, t))
		return p->has_sl && socket_policy(n, p, &sel, rc); /* no loop */
	if (!t) {
		/* OpenBSD's answers (reference 3.2, 3.3): use passes in the clear;
		 * acquire asks for an SA and passes in the clear; require asks and
		 * drops silently, or with EACCES when no key manager listens;
		 * dontacq drops silently without asking. */
		switch (f->type) {
		case IPSP_IPSEC_USE: return p->has_sl && socket_policy(n, p, &sel, rc);
		case IPSP_IPSEC_ACQUIRE:
			acquire_sa(n, f, gw);
			return p->has_sl && socket_policy(n, p, &sel, rc);
		case IPSP_IPSEC_REQUIRE:
			if (acquire_sa(n, f, gw) == ACQUIRE_NOBODY) {
				trace_no_sa(n, f, gw);
				node_drop(n, p, STAT_IPSEC_NOSA);
				*rc = -EACCES;
			} else {
				node_drop(n, p, STAT_IPSEC_ACQUIRING);
				*rc = 0;
			}
			return true;
		default:
			trace_no_sa(n, f, gw);
			node_drop(n, p, STAT_IPSEC_NOSA);
			*rc = 0;
			return true;
		}
	}
	*rc = send_through(n, p, t);
	return true;
}

/* RFC 6040 3.1 normal mode, ingress: the outer header copies the inner
 * traffic class, but CE becomes ECT(0). */
static uint8_t ecn_ingress(uint8_t tc)
{
	if ((tc & IPTOS_ECN_MASK) == IPTOS_ECN_CE)
		return (uint8_t)((tc & ~IPTOS_ECN_MASK) | IPTOS_ECN_ECT0);
	return tc;
}

/* ipsec_ipip_encap (ipip_output): the outer header of tunnel mode, of the
 * SA's family, whatever the inner one's (RFC 2003, RFC 2473, and 4-in-6 or
 * 6-in-4).  IPv4 outer: TTL net.inet.ip.ttl, a random id, DF copied from an
 * inner IPv4 header; IPv6 outer: hop limit net.inet6.ip6.hlim, flow label
 * 0.  The traffic class follows the inner one through ecn_ingress. */
int ipsec_ipip_encap(struct node *n, struct tdb *t, struct pkt *p)
{
	uint8_t iaf = ipsec_ip_af(p->data, p->len);
	if (t->src.af != t->dst.af || (t->dst.af != ADDR_V4 && t->dst.af != ADDR_V6) ||
	    addr_is_unspec(&t->src) || addr_is_unspec(&t->dst) || iaf == ADDR_NONE) {
		node_drop(n, p, STAT_IPIP_UNSPEC);
		return -EINVAL;
	}
	uint8_t tc = ecn_ingress(ipsec_ip_tclass(p->data));
	uint8_t proto = iaf == ADDR_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	size_t inner = p->len;
	if (t->dst.af == ADDR_V4) {
		if (inner + IP4_HDR_LEN > IP4_MAXPACKET) {
			node_drop(n, p, STAT_IP_ODROPPED);
			return -EMSGSIZE;
		}
		struct ip4_hdr o = {0};
		o.src = t->src;
		o.dst = t->dst;
		o.tos = tc;
		o.off = iaf == ADDR_V4 ? get_be16(p->data + 6) & IP4_DF : 0;
		o.ttl = (uint8_t)n->sysctl[SYSCTL_IP_DEFTTL];
		o.id = (uint16_t)rng_next(&n->rng);
		o.proto = proto;
		o.len = (uint16_t)(inner + IP4_HDR_LEN);
		ip4_emit(pkt_push(p, IP4_HDR_LEN), &o);
	} else {
		if (inner > IP6_MAXPAYLOAD) {
			node_drop(n, p, STAT_IP6_ODROPPED);
			return -EMSGSIZE;
		}
		struct ip6_hdr o = {.tclass = tc,
				    .plen = (uint16_t)inner,
				    .nxt = proto,
				    .hlim = (uint8_t)n->sysctl[SYSCTL_IP6_HLIM],
				    .src = t->src,
				    .dst = t->dst};
		ip6_emit(pkt_push(p, IP6_HDR_LEN), &o);
	}
	/* The outer header is ours: errors about it (no neighbor, too big)
	 * would come back to us, not to the inner packet's source. */
	p->flags &= ~(unsigned)PKT_FORWARDED;
	node_count(n, STAT_IPIP_OPACKETS);
	n->stats[STAT_IPIP_OBYTES] += inner;
	node_count(n, STAT_IPSEC_TUNNELS);
	t->flags |= TDBF_USEDTUNNEL;
	return 0;
}

/* The most bytes an SA adds around a packet (OpenBSD's ipsec_hdrsz): for
 * ESP its header, IV, the longest padding, trailer and ICV; for AH its
 * header and ICV padded to 8 bytes (IPv6's rule, the larger). */
static size_t ipsec_hdrsz(const struct tdb *t)
{
	/* IPComp never makes a packet longer (RFC 3173 2.2: what would not
	 * shrink by more than its header goes without it) */
	if (t->sproto == IPPROTO_IPIP || t->sproto == IPPROTO_IPCOMP || !t->xf)
		return 0;
	size_t icv = xform_icvlen(t->xf);
	if (t->sproto == IPPROTO_AH)
		return 12 + ((icv + 7) & ~(size_t)7);
	size_t bs = MAX(xform_blocksize(t->xf), 4u);
	size_t udp = t->flags & TDBF_UDPENCAP ? 8 : 0; /* NAT-T's UDP header */
	return udp + 8 + xform_ivlen(t->xf) + (bs - 1) + 2 + icv;
}

/* A packet about to enter a tunnel that will not fit the path to the
 * tunnel's end once wrapped.  IPv4 with DF, and IPv6 over 1280 bytes (RFC
 * 2473 7.1 b), are refused, and whoever sent them learns the MTU left
 * inside the tunnel: a forwarded packet's source by "fragmentation needed"
 * or "packet too big", our own stack through its path MTU cache (OpenBSD's
 * tdb_mtu and ip_output_ipsec_pmtu_update).  IPv4 without DF, and IPv6 of
 * 1280 bytes or less (RFC 2473 7.1 a), go on, and the outer packet is
 * fragmented (we are its source, RFC 8200 5).  0 when the packet may go
 * on. */
static int tunnel_mtu(struct node *n, struct tdb *t, struct pkt *p)
{
	const struct route *rt = route_lookup(&n->rt, &t->dst);
	if (!rt || !rt->ifp)
		return 0; /* the outer packet will fail with its own reason */
	size_t pmtu = ip6_path_mtu(n, &t->dst, rt->ifp->mtu);
	size_t over = (t->dst.af == ADDR_V6 ? IP6_HDR_LEN : IP4_HDR_LEN) + ipsec_hdrsz(t);
	unsigned hops = 0;
	for (const struct tdb *b = t->onext; b && hops < PKT_OUT_DONE_MAX; b = b->onext, hops++)
		over += ipsec_hdrsz(b);
	if (p->len + over <= pmtu || pmtu <= over)
		return 0;
	uint32_t room = (uint32_t)(pmtu - over);
	struct ipaddr dst = ipsec_ip_dst(p->data);
	if (ipsec_ip_af(p->data, p->len) == ADDR_V6) {
		if (p->len <= IP6_MIN_MTU)
			return 0; /* the outer packet is fragmented instead */
		/* "the tunnel MTU or the IPv6 minimum link MTU, whichever is
		 * larger" */
		uint32_t mtu = room < IP6_MIN_MTU ? IP6_MIN_MTU : room;
		if (p->flags & PKT_FORWARDED)
			icmp6_error(n, p, ICMP6_PACKET_TOO_BIG, 0, mtu);
		else
			ip_pmtu_note(n, &dst, mtu);
		node_drop(n, p, STAT_IP6_CANTFRAG);
		return -EMSGSIZE;
	}
	if (!(get_be16(p->data + 6) & IP4_DF) || room < 68)
		return 0; /* the outer packet is fragmented instead */
	if (p->flags & PKT_FORWARDED)
		icmp_error(n, p, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, room);
	else
		ip4_pmtu_update(n, &dst, room, (uint32_t)p->len);
	node_drop(n, p, STAT_IP_CANTFRAG);
	return -EMSGSIZE;
}

/* Transport mode: our own IPv4 packet with DF that will not fit the path
 * once ESP or AH is in it is refused, and the SA remembers the room left
 * (OpenBSD's tdb_mtu), which TCP's MSS then respects (ipsec_sa_mtu).
 * IPv6 and packets without DF go on, to be fragmented as their source
 * may. */
static int transport_mtu(struct node *n, struct tdb *t, struct pkt *p)
{
	if (ipsec_ip_af(p->data, p->len) != ADDR_V4 || !(get_be16(p->data + 6) & IP4_DF))
		return 0;
	const struct route *rt = route_lookup(&n->rt, &t->dst);
	if (!rt || !rt->ifp)
		return 0;
	size_t pmtu = ip6_path_mtu(n, &t->dst, rt->ifp->mtu);
	size_t over = ipsec_hdrsz(t);
	unsigned hops = 0;
	for (const struct tdb *b = t->onext; b && hops < PKT_OUT_DONE_MAX; b = b->onext, hops++)
		over += ipsec_hdrsz(b);
	if (p->len + over <= pmtu || pmtu <= over + 68)
		return 0;
	t->mtu = (uint32_t)(pmtu - over);
	char a[ADDR_STRLEN];
	node_trace(n, "ipsec: SA %08x to %s takes packets of %u bytes", t->spi, addr_fmt(&t->dst, a),
		   t->mtu);
	node_drop(n, p, STAT_IP_CANTFRAG);
	return -EMSGSIZE;
}

unsigned ipsec_sa_mtu(struct node *n, const struct ipaddr *dst)
{
	struct ipsec_state *st = n->ipsec;
	if (!st || !st->sad.count)
		return 0;
	unsigned mtu = 0;
	for (const struct tdb *t = st->sad.head; t; t = t->next)
		if (t->mtu && !(t->flags & (TDBF_INVALID | TDBF_TUNNELING)) && addr_eq(&t->dst, dst) &&
		    (!mtu || t->mtu < mtu))
			mtu = t->mtu;
	return mtu;
}

/* Has the SA what its protocol needs to process packets: keyed transforms
 * for ESP and AH, deflate for IPComp; IP-in-IP needs nothing. */
static bool sa_has_xform(const struct tdb *t)
{
	if (t->sproto == IPPROTO_IPIP)
		return true;
	if (t->sproto == IPPROTO_IPCOMP)
		return t->encalg == SADB_X_CALG_DEFLATE;
	return t->xf != NULL;
}

static bool proto_enabled(struct node *n, uint8_t sproto)
{
	if (sproto == IPPROTO_ESP)
		return n->sysctl[SYSCTL_ESP_ENABLE];
	if (sproto == IPPROTO_AH)
		return n->sysctl[SYSCTL_AH_ENABLE];
	if (sproto == IPPROTO_IPCOMP)
		return n->sysctl[SYSCTL_IPCOMP_ENABLE];
	return true;
}

int ipsec_process(struct node *n, struct pkt *p, struct tdb *t)
{
	if (!proto_enabled(n, t->sproto)) {
		node_drop(n, p, STAT_IPSEC_DISABLED);
		return -EHOSTUNREACH;
	}
	if (!sa_has_xform(t)) {
		/* TCP-MD5 SAs have no data path here. */
		node_drop(n, p,
			  t->sproto == IPPROTO_AH       ? STAT_AH_NOXFORM
			  : t->sproto == IPPROTO_ESP    ? STAT_ESP_NOXFORM
			  : t->sproto == IPPROTO_IPCOMP ? STAT_IPCOMP_NOXFORM
							: STAT_IPSEC_NOXFORM);
		return -EHOSTUNREACH;
	}
	sa_first_use(n, t);
	/* Tunnel when the SA says so, or when it leads elsewhere than the
	 * packet goes, or to another family (ipsp_process_packet's rule). */
	struct ipaddr dst = ipsec_ip_dst(p->data);
	if ((t->flags & TDBF_TUNNELING) || t->sproto == IPPROTO_IPIP || t->dst.af != dst.af ||
	    (!addr_is_unspec(&t->dst) && !addr_eq(&t->dst, &dst))) {
		int rc = tunnel_mtu(n, t, p);
		if (rc < 0)
			return rc;
		rc = ipsec_ipip_encap(n, t, p);
		if (rc < 0)
			return rc;
	} else if (t->sproto != IPPROTO_IPIP && !(p->flags & PKT_FORWARDED) && !p->nout_done) {
		int rc = transport_mtu(n, t, p);
		if (rc < 0)
			return rc;
	}
	if (t->sproto == IPPROTO_IPCOMP) {
		/* compressed, or left as it is (ipcomp_output taps enc0) */
		int rc = ipcomp_output(n, t, p);
		if (rc < 0) {
			node_count(n, STAT_IPCOMP_OUTFAIL);
			n->stats[STAT_IPSEC_ODROPS]++;
			return rc;
		}
	} else if (t->sproto != IPPROTO_IPIP) {
		/* enc0 sees the packet before its ESP or AH header. */
		enc_tap(n, t, p->data, p->len, enc_flags(t), true);
		int rc = t->sproto == IPPROTO_ESP ? esp_output(n, t, p) : ah_output(n, t, p);
		/* NAT-T: UDP around ESP (ipsp_process_done) */
		if (rc >= 0 && t->sproto == IPPROTO_ESP && (t->flags & TDBF_UDPENCAP))
			rc = udpencap_output(n, t, p);
		if (rc < 0) {
			n->stats[STAT_IPSEC_ODROPS]++;
			return rc;
		}
	}
	if (p->nout_done < PKT_OUT_DONE_MAX)
		p->out_done[p->nout_done++] = (struct pkt_sa){t->spi, t->sproto, t->dst};
	node_count(n, STAT_IPSEC_OPACKETS);
	n->stats[STAT_IPSEC_OBYTES] += p->len;
	if (t->onext)
		return ipsec_process(n, p, t->onext); /* the bundle's next SA */
	return p->data[0] >> 4 == 6 ? ip6_output_raw(n, p) : ip4_output_raw(n, p);
}

/* The counters of each protocol's input (espstat, ahstat, ipcompstat). */
struct input_stats {
	enum stat_id input, hdrops, notdb, invalid, noxform;
};
static const struct input_stats esp_in = {STAT_ESP_INPUT, STAT_ESP_HDROPS, STAT_ESP_NOTDB,
					  STAT_ESP_INVALID, STAT_ESP_NOXFORM};
static const struct input_stats ah_in = {STAT_AH_INPUT, STAT_AH_HDROPS, STAT_AH_NOTDB,
					 STAT_AH_INVALID, STAT_AH_NOXFORM};
static const struct input_stats comp_in = {STAT_IPCOMP_INPUT, STAT_IPCOMP_HDROPS,
					   STAT_IPCOMP_NOTDB, STAT_IPCOMP_INVALID,
					   STAT_IPCOMP_NOXFORM};

void ipsec_input(struct node *n, struct pkt *p, const struct ipsec_ip *ip, bool bcast)
{
	uint8_t sproto = p->data[ip->protoff];
	bool esp = sproto == IPPROTO_ESP, comp = sproto == IPPROTO_IPCOMP;
	const struct input_stats *st = esp ? &esp_in : comp ? &comp_in : &ah_in;
	struct ipaddr dst = ipsec_ip_dst(p->data);
	if (!proto_enabled(n, sproto)) {
		/* Disabled: the protocol is unknown here, as rip_input finds it. */
		if (ip->af == ADDR_V6) {
			if (!addr_is_multicast(&dst))
				icmp6_error(n, p, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER,
					    (uint32_t)ip->protoff);
			node_drop(n, p, STAT_IP6_NOPROTO);
		} else {
			if (!bcast)
				icmp_error(n, p, ICMP_UNREACH, ICMP_UNREACH_PROTOCOL, 0);
			node_drop(n, p, STAT_IP_NOPROTO);
		}
		return;
	}
	node_count(n, STAT_IPSEC_IPACKETS);
	n->stats[STAT_IPSEC_IBYTES] += p->len;
	node_count(n, st->input);
	size_t skip = ip->skip;
	if (p->len < skip + 8) {
		node_drop(n, p, st->hdrops);
		n->stats[STAT_IPSEC_IDROPS]++;
		return;
	}
	/* ESP's SPI first, AH's after 4 bytes, IPComp's 16-bit CPI at 2 */
	uint32_t spi = comp  ? get_be16(p->data + skip + 2)
		       : esp ? get_be32(p->data + skip)
			     : get_be32(p->data + skip + 4);
	/* the drop line names the packet: SPI and sequence number */
	n->drop_sa.sproto = sproto;
	n->drop_sa.spi = spi;
	n->drop_sa.seq = esp ? get_be32(p->data + skip + 4)
			 : !comp && p->len >= skip + 12 ? get_be32(p->data + skip + 8)
							: 0;
	struct tdb *t = n->ipsec ? sad_lookup(&n->ipsec->sad, &dst, spi, sproto) : NULL;
	enum stat_id why = 0;
	if (!t)
		why = st->notdb;
	else if (t->flags & TDBF_INVALID)
		why = st->invalid;
	else if (!sa_has_xform(t))
		why = st->noxform;
	else if (p->encap_sport && !(t->flags & TDBF_UDPENCAP))
		why = STAT_ESP_UDPINVAL; /* in UDP for an SA that is not */
	else if (esp && !p->encap_sport && (t->flags & TDBF_UDPENCAP))
		why = STAT_ESP_UDPNEEDED; /* bare ESP for an SA that wants UDP */
	if (why) {
		node_drop(n, p, why);
		n->stats[STAT_IPSEC_IDROPS]++;
		return;
	}
	sa_first_use(n, t);
	struct ipaddr osrc = ipsec_ip_src(p->data);
	uint16_t encap_sport = p->encap_sport;
	p->encap_sport = 0; /* the inner packet did not come in UDP */
	int nh = esp ? esp_input(n, t, p, ip) : comp ? ipcomp_input(n, t, p, ip) : ah_input(n, t, p, ip);
	n->drop_sa.sproto = 0; /* what drops now is the packet inside */
	if (nh < 0) {
		n->stats[STAT_IPSEC_IDROPS]++;
		return;
	}
	if (encap_sport) {
		/* authentic: the peer's NAT mapping may have moved */
		udpencap_float(n, t, &osrc, encap_sport);
		if (!(t->flags & TDBF_TUNNELING) && !udpencap_transport_fixup(n, p, skip, (uint8_t)nh))
			return;
	}
	/* IPComp leaves no IPSEC_IN_DONE tag (it protects nothing) */
	if (!comp) {
		p->in_done = (struct pkt_sa){t->spi, t->sproto, t->dst};
		if (p->nin_all < PKT_OUT_DONE_MAX)
			p->in_all[p->nin_all++] = p->in_done;
	}
	if (t->flags & TDBF_TUNNELING)
		p->ipsec_flags |= PKT_M_TUNNEL;
	enc_tap(n, t, p->data, p->len, p->ipsec_flags & (PKT_M_CONF | PKT_M_AUTH), false);
	/* pf on enc0: here in transport mode; a tunnel's inner packet goes
	 * through ip_input on enc0 instead (ipsec_common_input_cb).  IPComp
	 * leaves the packet on the interface it came in by. */
	const char *pfif = comp ? (p->rcvif ? p->rcvif->name : NULL) : "enc0";
	if (nh == IPPROTO_IPIP || nh == IPPROTO_IPV6) {
		if (!comp)
			p->flags |= PKT_ENCIF;
	} else if (pfif && !pf_test(n, PF_IN, pfif, p)) {
		return;
	}
	/* On with the next protocol, as ip_deliver's loop does. */
	if (ip->af == ADDR_V6) {
		ip6_deliver_from(n, p, skip);
		return;
	}
	struct ip4_hdr h2;
	enum stat_id bad;
	if (ip4_parse(p->data, p->len, &h2, &bad) < 0) {
		node_drop(n, p, bad);
		return;
	}
	ip4_deliver(n, p, &h2, bcast);
}

void ipip_input(struct node *n, struct pkt *p, const struct ipsec_ip *ip)
{
	node_count(n, STAT_IPIP_IPACKETS);
	int64_t allow = n->sysctl[SYSCTL_IPIP_ALLOW];
	/* net.inet.ipip.allow 0: only what IPsec protected may come out. */
	if (!allow && !(p->ipsec_flags & (PKT_M_AUTH | PKT_M_CONF))) {
		node_drop(n, p, STAT_IPIP_PDROPS);
		return;
	}
	uint8_t proto = p->data[ip->protoff];
	uint8_t otc = ipsec_ip_tclass(p->data);
	pkt_pull(p, ip->skip);
	uint8_t iaf = ipsec_ip_af(p->data, p->len);
	if (iaf == ADDR_NONE) {
		node_drop(n, p, STAT_IPIP_HDROPS);
		return;
	}
	if (iaf != (proto == IPPROTO_IPV6 ? ADDR_V6 : ADDR_V4)) {
		/* 4 must carry IPv4 and 41 IPv6 (ipips_family) */
		node_drop(n, p, STAT_IPIP_FAMILY);
		return;
	}
	n->stats[STAT_IPIP_IBYTES] += p->len;
	/* RFC 6040 4.2 egress: CE on the outer header reaches an ECN-capable
	 * inner one; over a Not-ECT inner packet it cannot be passed on, and
	 * the packet is dropped (OpenBSD's ip_ecn_egress failing: pdrops).
	 * The inner TTL or hop limit is left alone (RFC 2003 3.1, RFC 2473
	 * 3.1). */
	uint8_t itc = ipsec_ip_tclass(p->data);
	if ((otc & IPTOS_ECN_MASK) == IPTOS_ECN_CE) {
		if ((itc & IPTOS_ECN_MASK) == 0) {
			node_drop(n, p, STAT_IPIP_PDROPS);
			return;
		}
		ipsec_ip_set_tclass(p->data, itc | IPTOS_ECN_CE);
	}
	/* Anti-spoofing: an inner source that is one of ours came from
	 * outside (skipped with allow 2). */
	if (allow != 2) {
		struct ipaddr isrc = ipsec_ip_src(p->data);
		if (node_owns_addr(n, &isrc)) {
			node_drop(n, p, STAT_IPIP_SPOOF);
			return;
		}
	}
	/* a bridge with IPsec sends on what came out of the tunnel for one
	 * of the hosts behind it (bridge_ipsec's inbound side) */
	if (n->bridges && bridge_rebridge(n, p))
		return;
	if (iaf == ADDR_V6)
		ip6_input(n, p);
	else
		ip4_input(n, p);
}

/* An SA grouped with others (SADB_X_GRPSPIS) protects only together with
 * them: each SA after it in the bundle must have processed the packet too.
 * OpenBSD checks only the innermost SA; a packet stripped of the bundle's
 * AH would pass there, and is refused here. */
static bool bundle_done(const struct pkt *p, const struct tdb *in)
{
	unsigned hops = 0;
	for (const struct tdb *t = in->onext; t && hops < PKT_OUT_DONE_MAX; t = t->onext, hops++) {
		bool seen = false;
		for (unsigned i = 0; i < p->nin_all && !seen; i++)
			seen = sa_is(&p->in_all[i], t);
		if (!seen)
			return false;
	}
	return true;
}

/* Is the packet for a UDP or TCP socket whose levels are all BYPASS?
 * OpenBSD asks that before any SPD work (ipsp_spd_lookup, direction in);
 * we ask only of a packet the SPD would refuse, which comes to the same. */
static bool for_bypass_socket(struct node *n, const struct spd_sel *sel)
{
	const struct seclevel *sl = NULL;
	if (sel->proto == IPPROTO_UDP)
		sl = udp_seclevel_for(n, &sel->dst, sel->dport);
	else if (sel->proto == IPPROTO_TCP)
		sl = tcp_seclevel_for(n, &sel->dst, sel->dport, &sel->src, sel->sport);
	return sl && seclevel_bypass(sl);
}

bool ipsec_seclevel_input_ok(const struct pkt *p, const struct seclevel *sl)
{
	const uint8_t *l = sl->l;
	bool esp = l[SL_ESP_TRANS] >= IPSEC_LEVEL_REQUIRE || l[SL_ESP_NETWORK] >= IPSEC_LEVEL_REQUIRE;
	bool tunnel = l[SL_ESP_NETWORK] >= IPSEC_LEVEL_REQUIRE;
	bool auth = l[SL_AUTH] >= IPSEC_LEVEL_REQUIRE;
	if (!esp && !auth)
		return true;
	bool had_esp = false;
	for (unsigned i = 0; i < p->nin_all; i++)
		had_esp |= p->in_all[i].proto == IPPROTO_ESP;
	if (esp && (!had_esp || (tunnel && !(p->ipsec_flags & PKT_M_TUNNEL))))
		return false;
	return !auth || (p->ipsec_flags & PKT_M_AUTH);
}

bool ipsec_input_check(struct node *n, struct pkt *p)
{
	struct ipsec_state *st = n->ipsec;
	if (!st || !st->spd.count)
		return true;
	struct spd_sel sel;
	if (!packet_sel(p, IPSP_DIRECTION_IN, &sel)) {
		node_drop(n, p, STAT_IPSEC_INPOLICY); /* no selector: fail closed */
		return false;
	}
	const struct spd_flow *f = spd_lookup(&st->spd, &sel);
	if (!f || f->type == IPSP_PERMIT || f->type == IPSP_IPSEC_USE ||
	    f->type == IPSP_IPSEC_ACQUIRE)
		return true;
	if (for_bypass_socket(n, &sel))
		return true;
	if (f->type == IPSP_DENY) {
		node_drop(n, p, STAT_IPSEC_DENY);
		return false;
	}
	/* REQUIRE and DONTACQ: the innermost SA that processed the packet
	 * must be of the flow's protocol and come from its peer. */
	const struct ipaddr *gw = addr_wild(&f->peer) ? &sel.src : &f->peer;
	const struct tdb *in = p->in_done.proto ? sad_lookup(&st->sad, &p->in_done.dst,
							     p->in_done.spi, p->in_done.proto)
						: NULL;
	/* IPComp leaves no tag: for an IPComp flow, the ESP SA bundled after
	 * an IPComp SA stands for it (ipsp_spd_lookup's special case), whether
	 * or not this packet was worth compressing; the bundle check below
	 * still wants the ESP (and AH) SAs to have processed it. */
	if (in && f->sproto == IPPROTO_IPCOMP && in->sproto == IPPROTO_ESP && in->inext &&
	    in->inext->sproto == IPPROTO_IPCOMP)
		in = in->inext;
	if (in && in->sproto == f->sproto && addr_eq(&in->src, gw) && bundle_done(p, in)) {
		/* OpenBSD asks the identities here and not the filter; an SA
		 * keyed for another flow of the same peer would pass there
		 * (RFC 4301 5.2 wants the packet checked against the SA's
		 * selectors), and is refused here. */
		bool ids = sa_ids_ok(in, f), filter = sa_filter_ok(in, f);
		if (ids && filter)
			return true;
		char a[ADDR_STRLEN], ft[512];
		ipsec_flow_text(f, ft, sizeof(ft));
		node_trace(n, "ipsec: SA %08x from %s was keyed %s than %s", in->spi,
			   addr_fmt(&in->src, a),
			   ids ? "for another flow" : "with other identities", ft);
	}
	node_drop(n, p, STAT_IPSEC_INPOLICY);
	return false;
}
