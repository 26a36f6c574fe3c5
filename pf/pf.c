/*
 * pf_test: a packet at a hook, its state or the rules, the verdict
 * (OpenBSD's pf.c: pf_test, pf_test_rule, pf_find_state, pf_test_state,
 * pf_test_state_icmp; the reference's section 2).
 *
 * States float (they match on any interface, OpenBSD's default
 * state-policy).  A state has a wire key and a stack key, the same one
 * unless it translates; a packet going in is looked up by wire keys and one
 * going out by stack keys, so that both directions of a translated flow
 * find it.  pf here does not reassemble (set reassemble no): a fragment
 * after the first is matched on addresses and protocol only, and makes no
 * state.  TCP states follow each peer's flags, without sequence window
 * tracking (docs/pf.md).
 */
#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "../stack/icmp.h"
#include "../stack/icmp6.h"
#include "../stack/iface.h"
#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/mem.h"
#include "../stack/tcp.h"
#include "../stack/util.h"
#include "pf_var.h"

const char *const pf_reason_names[PFRES__COUNT] = {
#define PFRES_NAME(id, name) name,
    PF_REASONS(PFRES_NAME)
#undef PFRES_NAME
};

/* ---- the packet ---- */

static bool icmp_is_err(uint8_t af, uint8_t type)
{
	if (af == ADDR_V6)
		return type < 128;
	return type == ICMP_UNREACH || type == ICMP_SOURCEQUENCH || type == ICMP_REDIRECT ||
	       type == ICMP_TIMXCEED || type == ICMP_PARAMPROB;
}

/* pf_setup_pdesc: addresses, protocol, ports.  False (with a reason) when
 * the upper-layer header is cut short. */
static bool pdesc_setup(const struct pkt *p, struct pf_pdesc *pd, enum pf_reason *why)
{
	memset(pd, 0, sizeof(*pd));
	*why = PFRES_SHORT;
	if (p->len < 1)
		return false;
	if (p->data[0] >> 4 == 4) {
		if (p->len < IP4_HDR_LEN)
			return false;
		size_t hlen = (size_t)(p->data[0] & 0x0f) * 4;
		size_t tot = get_be16(p->data + 2);
		if (hlen < IP4_HDR_LEN || tot < hlen || tot > p->len)
			return false;
		pd->af = ADDR_V4;
		pd->proto = p->data[9];
		pd->off = hlen;
		pd->tot_len = tot;
		pd->fragment = (get_be16(p->data + 6) & IP4_OFFMASK) != 0;
		pd->src = addr_v4(p->data + 12);
		pd->dst = addr_v4(p->data + 16);
	} else if (p->data[0] >> 4 == 6) {
		struct ip6_chain c;
		if (p->len < IP6_HDR_LEN || ip6_walk_quiet(p->data, p->len, &c) < 0)
			return false;
		pd->af = ADDR_V6;
		pd->proto = c.proto;
		pd->off = c.off;
		pd->tot_len = p->len;
		pd->fragment = c.later_fragment;
		pd->src.af = pd->dst.af = ADDR_V6;
		memcpy(pd->src.a, p->data + 8, 16);
		memcpy(pd->dst.a, p->data + 24, 16);
	} else {
		return false;
	}
	if (pd->fragment)
		return true;
	const uint8_t *h = p->data + pd->off;
	size_t room = pd->tot_len - pd->off;
	switch (pd->proto) {
	case IPPROTO_TCP:
		if (room < TCP_HDR_LEN)
			return false;
		pd->sport = get_be16(h);
		pd->dport = get_be16(h + 2);
		pd->tcp_flags = h[13];
		break;
	case IPPROTO_UDP:
		if (room < 8)
			return false;
		pd->sport = get_be16(h);
		pd->dport = get_be16(h + 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		if ((pd->proto == IPPROTO_ICMP) != (pd->af == ADDR_V4) || room < ICMP_MINLEN)
			break; /* ICMP over IPv6 or ICMPv6 over IPv4: an ordinary protocol */
		pd->icmp_type = h[0];
		pd->icmp_code = h[1];
		uint8_t req = pd->af == ADDR_V4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
		uint8_t rep = pd->af == ADDR_V4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
		pd->icmp_id = get_be16(h + 4);
		/* pf_icmp_mapping: a query and its reply share a key, the id
		 * on the querier's side and the query type on the other. */
		if (h[0] == req) {
			pd->icmp_query = true;
			pd->sport = pd->icmp_id;
			pd->dport = req;
		} else if (h[0] == rep) {
			pd->icmp_reply = true;
			pd->sport = req;
			pd->dport = pd->icmp_id;
		} else if (icmp_is_err(pd->af, h[0])) {
			pd->icmp_error = true;
		}
		break;
	}
	}
	return true;
}

/* ---- the state table ---- */

/* The key a packet going `dir` would have: index 0 the far side. */
static void key_of(uint8_t af, uint8_t proto, const struct ipaddr *src, uint16_t sport,
		   const struct ipaddr *dst, uint16_t dport, int dir, struct pf_skey *k)
{
	int s = dir == PF_IN ? 0 : 1;
	memset(k, 0, sizeof(*k));
	k->af = af;
	k->proto = proto;
	k->addr[s] = *src;
	k->addr[1 - s] = *dst;
	k->port[s] = sport;
	k->port[1 - s] = dport;
}

static bool key_eq(const struct pf_skey *a, const struct pf_skey *b)
{
	return a->af == b->af && a->proto == b->proto && a->port[0] == b->port[0] &&
	       a->port[1] == b->port[1] && addr_eq(&a->addr[0], &b->addr[0]) &&
	       addr_eq(&a->addr[1], &b->addr[1]);
}

static size_t key_hash(const struct pf_skey *k)
{
	uint64_t h = 1469598103934665603ull;
	unsigned n = addr_len(k->af);
	uint8_t b[40];
	b[0] = k->af;
	b[1] = k->proto;
	put_be16(b + 2, k->port[0]);
	put_be16(b + 4, k->port[1]);
	memcpy(b + 6, k->addr[0].a, n);
	memcpy(b + 6 + n, k->addr[1].a, n);
	for (unsigned i = 0; i < 6 + 2 * n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static void table_grow(struct pf *pf)
{
	size_t nb = pf->nbuckets ? pf->nbuckets * 2 : 64;
	struct pf_kent **b = xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < pf->nbuckets; i++)
		for (struct pf_kent *e = pf->buckets[i], *next; e; e = next) {
			next = e->next;
			size_t h = key_hash(&e->s->key[e->idx]) & (nb - 1);
			e->next = b[h];
			b[h] = e;
		}
	free(pf->buckets);
	pf->buckets = b;
	pf->nbuckets = nb;
}

/* A state with this key in the role asked (PF_SK_WIRE, PF_SK_STACK, or
 * -1 either); expired states are not found. */
struct pf_state *pf_find_key(struct pf *pf, const struct pf_skey *k, int idx)
{
	if (!pf->nbuckets)
		return NULL;
	for (struct pf_kent *e = pf->buckets[key_hash(k) & (pf->nbuckets - 1)]; e; e = e->next) {
		struct pf_state *s = e->s;
		bool same = key_eq(&s->key[0], &s->key[1]);
		if ((idx < 0 || e->idx == idx || same) && key_eq(&s->key[e->idx], k))
			return s;
	}
	return NULL;
}

static void chain_unlink(struct pf *pf, struct pf_kent *ent)
{
	struct pf_kent **pp = &pf->buckets[key_hash(&ent->s->key[ent->idx]) & (pf->nbuckets - 1)];
	while (*pp && *pp != ent)
		pp = &(*pp)->next;
	if (*pp)
		*pp = ent->next;
}

void pf_state_remove(struct node *n, struct pf *pf, struct pf_state *s)
{
	(void)n;
	chain_unlink(pf, &s->ent[PF_SK_WIRE]);
	if (!key_eq(&s->key[0], &s->key[1]))
		chain_unlink(pf, &s->ent[PF_SK_STACK]);
	if (s->prev)
		s->prev->next = s->next;
	else
		pf->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		pf->tail = s->prev;
	if (s->rule)
		s->rule->states_cur--;
	pf->nstates--;
	n->stats[STAT_PF_REMOVALS]++;
	free(s);
}

/* pf_state_expires: the last packet plus the timeout, shortened as the
 * table fills (adaptive.start and adaptive.end, by default 60% and 120%
 * of the limit unless set; both 0: off). */
static uint64_t state_expires(const struct pf *pf, const struct pf_state *s)
{
	uint64_t t = (uint64_t)pf->timeouts[s->timeout] * NS_PER_SEC;
	uint64_t start = pf->timeouts[PFTM_ADAPTIVE_START], end = pf->timeouts[PFTM_ADAPTIVE_END];
	if (end > start && pf->nstates > start) {
		if (pf->nstates >= end)
			return s->last;
		t = t * (end - pf->nstates) / (end - start);
	}
	return s->last + t;
}

/* The state of this key in the role the direction looks at, or NULL;
 * an expired one is removed on the way. */
static struct pf_state *find_state(struct node *n, struct pf *pf, const struct pf_skey *k, int dir)
{
	n->stats[STAT_PF_SEARCHES]++;
	struct pf_state *s = pf_find_key(pf, k, dir == PF_IN ? PF_SK_WIRE : PF_SK_STACK);
	if (s && state_expires(pf, s) <= n->sim->now) {
		pf_state_remove(n, pf, s);
		return NULL;
	}
	return s;
}

/* Remove every expired state; the earliest expiry of those left. */
static uint64_t purge(struct node *n, struct pf *pf)
{
	uint64_t now = n->sim->now, next = UINT64_MAX;
	pf->purged_at = now;
	for (struct pf_state *s = pf->head, *nx; s; s = nx) {
		nx = s->next;
		uint64_t e = state_expires(pf, s);
		if (e <= now)
			pf_state_remove(n, pf, s);
		else if (e < next)
			next = e;
	}
	return next;
}

uint64_t pf_purge_timer(struct node *n)
{
	struct pf *pf = n->pf;
	if (!pf || !pf->nstates)
		return UINT64_MAX;
	uint64_t now = n->sim->now, next = purge(n, pf);
	/* no more often than the purge interval */
	uint64_t soonest = now + (uint64_t)pf->timeouts[PFTM_INTERVAL] * NS_PER_SEC;
	return next == UINT64_MAX ? next : MAX(next, soonest);
}

static void insert_key(struct pf *pf, struct pf_state *s, int idx)
{
	if (pf->nstates * 2 >= pf->nbuckets)
		table_grow(pf);
	size_t h = key_hash(&s->key[idx]) & (pf->nbuckets - 1);
	s->ent[idx] = (struct pf_kent){s, (uint8_t)idx, pf->buckets[h]};
	pf->buckets[h] = &s->ent[idx];
}

/* ---- state updates (pf_test_state) ---- */

static void tcp_track(struct pf_state *s, struct pf_peer *src, struct pf_peer *dst, uint8_t fl)
{
	if ((fl & TH_SYN) && src->state < PF_TCPS_SYN_SENT)
		src->state = PF_TCPS_SYN_SENT;
	if ((fl & TH_FIN) && src->state < PF_TCPS_CLOSING)
		src->state = PF_TCPS_CLOSING;
	if (fl & TH_ACK) {
		if (dst->state == PF_TCPS_SYN_SENT)
			dst->state = PF_TCPS_ESTABLISHED;
		else if (dst->state == PF_TCPS_CLOSING)
			dst->state = PF_TCPS_FIN_WAIT_2;
	}
	if (fl & TH_RST)
		src->state = dst->state = PF_TCPS_TIME_WAIT;
	/* pf_tcp_track_full's choice of timeout */
	if (src->state >= PF_TCPS_FIN_WAIT_2 && dst->state >= PF_TCPS_FIN_WAIT_2)
		s->timeout = PFTM_TCP_CLOSED;
	else if (src->state >= PF_TCPS_CLOSING && dst->state >= PF_TCPS_CLOSING)
		s->timeout = PFTM_TCP_FIN_WAIT;
	else if (src->state < PF_TCPS_ESTABLISHED || dst->state < PF_TCPS_ESTABLISHED)
		s->timeout = PFTM_TCP_OPENING;
	else if (src->state >= PF_TCPS_CLOSING || dst->state >= PF_TCPS_CLOSING)
		s->timeout = PFTM_TCP_CLOSING;
	else
		s->timeout = PFTM_TCP_ESTABLISHED;
}

static void other_track(struct pf_state *s, struct pf_peer *src, struct pf_peer *dst, bool udp)
{
	if (src->state < PF_PEER_SINGLE)
		src->state = PF_PEER_SINGLE;
	if (dst->state == PF_PEER_SINGLE)
		dst->state = PF_PEER_MULTIPLE;
	bool both = src->state == PF_PEER_MULTIPLE && dst->state == PF_PEER_MULTIPLE;
	if (udp)
		s->timeout = both ? PFTM_UDP_MULTIPLE : PFTM_UDP_SINGLE;
	else
		s->timeout = both ? PFTM_OTHER_MULTIPLE : PFTM_OTHER_SINGLE;
}

/* ---- rules ---- */

static bool addr_match(struct node *n, const struct pf *pf, const struct pf_rule_addr *ra,
		       const struct ipaddr *a)
{
	bool m = false;
	switch (ra->kind) {
	case PF_ADDR_ANY: m = true; break;
	case PF_ADDR_NET: m = ra->a.af == a->af && addr_in_prefix(a, &ra->a, ra->plen); break;
	case PF_ADDR_SELF: m = node_owns_addr(n, a) != NULL; break;
	case PF_ADDR_TABLE: {
		const struct pf_table *t = &pf->tables[ra->table];
		for (unsigned i = 0; i < t->nent && !m; i++)
			m = t->ent[i].a.af == a->af &&
			    addr_in_prefix(a, &t->ent[i].a, t->ent[i].plen);
		break;
	}
	}
	return m != ra->neg;
}

static bool port_match(const struct pf_port *pp, uint16_t p)
{
	switch (pp->op) {
	case PF_OP_EQ: return p == pp->a;
	case PF_OP_NE: return p != pp->a;
	case PF_OP_LT: return p < pp->a;
	case PF_OP_LE: return p <= pp->a;
	case PF_OP_GT: return p > pp->a;
	case PF_OP_GE: return p >= pp->a;
	case PF_OP_RRG: return p >= pp->a && p <= pp->b;
	case PF_OP_IRG: return p > pp->a && p < pp->b;
	case PF_OP_XRG: return p < pp->a || p > pp->b;
	default: return true;
	}
}

static bool rule_match(struct node *n, const struct pf *pf, const struct pf_rule *r,
		       const struct pf_pdesc *pd)
{
	if (r->ifname[0] && (strcmp(r->ifname, pd->ifname) == 0) == r->ifneg)
		return false;
	if (r->dir != PF_INOUT && r->dir != pd->dir)
		return false;
	if (r->af && r->af != pd->af)
		return false;
	if (r->proto >= 0 && r->proto != pd->proto)
		return false;
	if (!addr_match(n, pf, &r->src, &pd->src) || !addr_match(n, pf, &r->dst, &pd->dst))
		return false;
	bool ports = pd->proto == IPPROTO_TCP || pd->proto == IPPROTO_UDP;
	if (r->sport.op && (!ports || pd->fragment || !port_match(&r->sport, pd->sport)))
		return false;
	if (r->dport.op && (!ports || pd->fragment || !port_match(&r->dport, pd->dport)))
		return false;
	if (r->flagset &&
	    (pd->proto != IPPROTO_TCP || pd->fragment || (pd->tcp_flags & r->flagset) != r->flags))
		return false;
	if (r->icmp_type >= 0) {
		bool icmp = pd->proto == (pd->af == ADDR_V6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
		if (!icmp || pd->fragment || pd->icmp_type != r->icmp_type ||
		    (r->icmp_code >= 0 && pd->icmp_code != r->icmp_code))
			return false;
	}
	return true;
}

static enum stat_id reason_stat(enum pf_reason why)
{
	switch (why) {
	case PFRES_SHORT: return STAT_PF_SHORT;
	case PFRES_MEMORY: return STAT_PF_MEMORY;
	case PFRES_TRANSLATE: return STAT_PF_TRANSLATE;
	case PFRES_BADSTATE: return STAT_PF_STATE_MISMATCH;
	case PFRES_STATEINS: return STAT_PF_STATE_INSERT;
	case PFRES_FRAG: return STAT_PF_FRAGMENT;
	default: return STAT_PF_BLOCK;
	}
}

static bool pf_drop(struct node *n, struct pkt *p, enum pf_reason why)
{
	node_drop(n, p, reason_stat(why));
	return false;
}

/* Apply a rule's translation to the packet's view (pd's addresses and
 * ports become the translated ones, as later rules see them). */
static int rule_translate(struct node *n, struct pf *pf, const struct pf_rule *r,
			  struct pf_pdesc *pd, const struct pf_rule **nat_rule)
{
	if (!r->nat.set && !r->rdr.set)
		return 0;
	if (pf_get_transaddr(n, pf, r, pd) < 0)
		return -1;
	*nat_rule = r;
	return 0;
}

/* A new state for a passed packet: its stack key from what the packet was
 * (o*), its wire key from what it becomes (pd). */
static struct pf_state *state_create(struct node *n, struct pf *pf, struct pf_rule *r,
				     const struct pf_rule *nr, const struct pf_pdesc *pd,
				     const struct pf_pdesc *orig, enum pf_reason *why)
{
	/* A full table first lets its expired states go (at most once a
	 * virtual second: a flood must not walk the table per packet). */
	if (pf->nstates >= pf->limit_states && n->sim->now - pf->purged_at >= NS_PER_SEC)
		purge(n, pf);
	if (pf->nstates >= pf->limit_states) {
		*why = PFRES_MEMORY;
		return NULL;
	}
	struct pf_state *s = xcalloc(1, sizeof(*s));
	key_of(pd->af, pd->proto, &orig->src, orig->sport, &orig->dst, orig->dport, pd->dir,
	       &s->key[PF_SK_STACK]);
	key_of(pd->af, pd->proto, &pd->src, pd->sport, &pd->dst, pd->dport, pd->dir,
	       &s->key[PF_SK_WIRE]);
	/* On the way in the wire form is what arrived: the keys swap roles
	 * (the stack key holds the translated destination). */
	if (pd->dir == PF_IN) {
		struct pf_skey t = s->key[PF_SK_WIRE];
		s->key[PF_SK_WIRE] = s->key[PF_SK_STACK];
		s->key[PF_SK_STACK] = t;
	}
	bool same = key_eq(&s->key[0], &s->key[1]);
	if (pf_find_key(pf, &s->key[PF_SK_WIRE], -1) ||
	    (!same && pf_find_key(pf, &s->key[PF_SK_STACK], -1))) {
		free(s);
		*why = PFRES_STATEINS;
		return NULL;
	}
	s->rule = r;
	s->nat_rule = (struct pf_rule *)nr;
	s->direction = pd->dir;
	snprintf(s->ifname, sizeof(s->ifname), "%s", pd->ifname);
	s->log = r->log_all;
	s->creation = s->last = n->sim->now;
	s->id = ++pf->next_id;
	switch (pd->proto) {
	case IPPROTO_TCP:
		s->src.state = PF_TCPS_SYN_SENT;
		s->dst.state = PF_TCPS_CLOSED;
		s->timeout = PFTM_TCP_FIRST_PACKET;
		break;
	case IPPROTO_UDP:
		s->src.state = PF_PEER_SINGLE;
		s->timeout = PFTM_UDP_FIRST_PACKET;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: s->timeout = PFTM_ICMP_FIRST_PACKET; break;
	default:
		s->src.state = PF_PEER_SINGLE;
		s->timeout = PFTM_OTHER_FIRST_PACKET;
		break;
	}
	insert_key(pf, s, PF_SK_WIRE);
	if (!same)
		insert_key(pf, s, PF_SK_STACK);
	s->prev = pf->tail;
	if (pf->tail)
		pf->tail->next = s;
	else
		pf->head = s;
	pf->tail = s;
	pf->nstates++;
	n->stats[STAT_PF_INSERTS]++;
	r->states_cur++;
	r->states_tot++;
	node_timer_arm(n, n->sim->now + (uint64_t)pf->timeouts[PFTM_INTERVAL] * NS_PER_SEC);
	return s;
}

/* Rewrite a packet of a translating state from one key's form into the
 * other's: going out, stack to wire; coming in, wire to stack. */
static void state_translate(struct pkt *p, struct pf_pdesc *pd, const struct pf_state *s)
{
	const struct pf_skey *to = &s->key[pd->dir == PF_IN ? PF_SK_STACK : PF_SK_WIRE];
	int si = pd->dir == PF_IN ? 0 : 1;
	pf_translate(p, pd, &to->addr[si], to->port[si], &to->addr[1 - si], to->port[1 - si]);
	/* pflog's header shows the translated addresses and ports */
	pd->src = to->addr[si];
	pd->dst = to->addr[1 - si];
	pd->sport = to->port[si];
	pd->dport = to->port[1 - si];
	pd->rewritten = true;
}

/* pf_counters_inc: a packet of a state counts for the state, for the rule
 * that made it, and for the match rule whose translation it keeps. */
static void state_count(struct pf_state *s, const struct pf_pdesc *pd, size_t len)
{
	int from_dst = pd->dir != s->direction;
	int out = pd->dir == PF_OUT;
	s->packets[from_dst]++;
	s->bytes[from_dst] += len;
	s->rule->packets[out]++;
	s->rule->bytes[out] += len;
	if (s->nat_rule && s->nat_rule != s->rule) {
		s->nat_rule->packets[out]++;
		s->nat_rule->bytes[out] += len;
	}
}

/* An ICMP error: its quoted packet's state (pf_test_state_icmp).  1: the
 * error passes (perhaps rewritten); 0: no state, the rules decide; -1:
 * dropped. */
static int test_icmp_error(struct node *n, struct pf *pf, struct pkt *p, const struct pf_pdesc *pd)
{
	size_t q = pd->off + ICMP_MINLEN;
	size_t end = pd->tot_len;
	struct ipaddr qsrc, qdst;
	uint8_t qproto;
	size_t qt; /* the quoted upper-layer header */
	if (pd->af == ADDR_V4) {
		if (end < q + IP4_HDR_LEN)
			return (void)pf_drop(n, p, PFRES_SHORT), -1;
		size_t hl = (size_t)(p->data[q] & 0x0f) * 4;
		if (hl < IP4_HDR_LEN || end < q + hl)
			return (void)pf_drop(n, p, PFRES_SHORT), -1;
		if (get_be16(p->data + q + 6) & IP4_OFFMASK)
			return (void)pf_drop(n, p, PFRES_FRAG), -1; /* a later fragment quoted */
		qproto = p->data[q + 9];
		qsrc = addr_v4(p->data + q + 12);
		qdst = addr_v4(p->data + q + 16);
		qt = q + hl;
	} else {
		struct ip6_chain c;
		if (end < q + IP6_HDR_LEN || ip6_walk_quiet(p->data + q, end - q, &c) < 0 ||
		    c.later_fragment)
			return (void)pf_drop(n, p, PFRES_SHORT), -1;
		qproto = c.proto;
		qsrc.af = qdst.af = ADDR_V6;
		memcpy(qsrc.a, p->data + q + 8, 16);
		memcpy(qdst.a, p->data + q + 24, 16);
		qt = q + c.off;
	}
	uint16_t qs = 0, qd = 0;
	switch (qproto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (end < qt + 8) /* TCP needs only its first 8 bytes here */
			return (void)pf_drop(n, p, PFRES_SHORT), -1;
		qs = get_be16(p->data + qt);
		qd = get_be16(p->data + qt + 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		if (end < qt + ICMP_MINLEN)
			return (void)pf_drop(n, p, PFRES_SHORT), -1;
		uint8_t t = p->data[qt];
		uint8_t req = pd->af == ADDR_V4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
		uint8_t rep = pd->af == ADDR_V4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
		if (t == req) {
			qs = get_be16(p->data + qt + 4);
			qd = req;
		} else if (t == rep) {
			qs = req;
			qd = get_be16(p->data + qt + 4);
		} else {
			return 0;
		}
		break;
	}
	default: break;
	}
	/* The quoted packet went the other way. */
	struct pf_skey k;
	key_of(pd->af, qproto, &qsrc, qs, &qdst, qd, pd->dir == PF_IN ? PF_OUT : PF_IN, &k);
	n->stats[STAT_PF_SEARCHES]++;
	struct pf_state *s = pf_find_key(pf, &k, pd->dir == PF_IN ? PF_SK_WIRE : PF_SK_STACK);
	if (!s || state_expires(pf, s) <= n->sim->now)
		return 0;
	/* The error comes back to whoever sent the quoted packet. */
	if (!addr_eq(&pd->dst, &qsrc))
		return (void)pf_drop(n, p, PFRES_BADSTATE), -1;
	state_count(s, pd, p->len);
	if (!key_eq(&s->key[0], &s->key[1])) {
		const struct pf_skey *to = &s->key[pd->dir == PF_IN ? PF_SK_STACK : PF_SK_WIRE];
		int si = pd->dir == PF_IN ? 1 : 0; /* the quoted packet's source index */
		/* Coming in, the error goes to the quoted source; going out, it
		 * comes from the quoted destination. */
		bool in = pd->dir == PF_IN;
		pf_translate_icmp(p, pd, q, qt, qproto, &to->addr[si], to->port[si],
				  &to->addr[1 - si], to->port[1 - si],
				  in ? &to->addr[si] : &to->addr[1 - si], in);
	}
	if (s->log)
		pflog_packet(n, pd, s->rule, PF_PASS, PFRES_MATCH, p);
	return 1;
}

bool pf_test_slow(struct node *n, enum pf_dir dir, const char *ifname, struct pkt *p)
{
	struct pf *pf = n->pf;
	if (pf->generating)
		return true; /* our own block return (PF_TAG_GENERATED) */
	for (unsigned i = 0; i < pf->nskip; i++)
		if (strcmp(pf->skip[i], ifname) == 0)
			return true;
	struct pf_pdesc pd;
	enum pf_reason why;
	if (!pdesc_setup(p, &pd, &why)) {
		pd.dir = (uint8_t)dir;
		pd.ifname = ifname;
		pflog_packet(n, &pd, NULL, PF_DROP, why, p); /* forced logging */
		return pf_drop(n, p, why);
	}
	pd.dir = (uint8_t)dir;
	pd.ifname = ifname;

	/* 1. The state table. */
	if (pd.icmp_error && !pd.fragment) {
		int rc = test_icmp_error(n, pf, p, &pd);
		if (rc)
			return rc > 0;
	} else if (!pd.fragment && (pd.proto != IPPROTO_ICMP && pd.proto != IPPROTO_ICMPV6
					? true
					: pd.icmp_query || pd.icmp_reply)) {
		struct pf_skey k;
		key_of(pd.af, pd.proto, &pd.src, pd.sport, &pd.dst, pd.dport, dir, &k);
		struct pf_state *s = find_state(n, pf, &k, dir);
		if (s) {
			bool from_src = dir == s->direction;
			struct pf_peer *src = from_src ? &s->src : &s->dst;
			struct pf_peer *dst = from_src ? &s->dst : &s->src;
			if (pd.proto == IPPROTO_TCP)
				tcp_track(s, src, dst, pd.tcp_flags);
			else if (pd.proto == IPPROTO_ICMP || pd.proto == IPPROTO_ICMPV6)
				s->timeout = PFTM_ICMP_ERROR_REPLY;
			else
				other_track(s, src, dst, pd.proto == IPPROTO_UDP);
			s->last = n->sim->now;
			state_count(s, &pd, p->len);
			if (!key_eq(&s->key[0], &s->key[1]))
				state_translate(p, &pd, s);
			if (s->log)
				pflog_packet(n, &pd, s->rule, PF_PASS, PFRES_MATCH, p);
			return true;
		}
	}

	/* 2. The rules: the last match decides unless one is quick; match
	 * rules translate at once, so later rules see the new addresses. */
	struct pf_pdesc orig = pd;
	struct pf_rule *last = NULL;
	const struct pf_rule *nat_rule = NULL;
	for (unsigned i = 0; i < pf->nrules; i++) {
		struct pf_rule *r = &pf->rules[i];
		r->evaluations++;
		if (!rule_match(n, pf, r, &pd))
			continue;
		if (r->action == PF_MATCH) {
			r->packets[dir == PF_OUT]++;
			r->bytes[dir == PF_OUT] += p->len;
			if (rule_translate(n, pf, r, &pd, &nat_rule) < 0)
				return pf_drop(n, p, PFRES_TRANSLATE);
			if (r->log)
				pflog_packet(n, &pd, r, PF_MATCH, PFRES_MATCH, p);
			continue;
		}
		last = r;
		if (r->quick)
			break;
	}
	n->stats[STAT_PF_MATCH]++;
	if (last && last->action == PF_PASS && rule_translate(n, pf, last, &pd, &nat_rule) < 0)
		return pf_drop(n, p, PFRES_TRANSLATE);
	if (last) {
		last->packets[dir == PF_OUT]++;
		last->bytes[dir == PF_OUT] += p->len;
	}
	if (last && last->action == PF_DROP) {
		if (last->log)
			pflog_packet(n, &pd, last, PF_DROP, PFRES_MATCH, p);
		if (last->ret)
			pf_send_return(n, pf, p, &orig);
		node_drop(n, p, STAT_PF_BLOCK);
		return false;
	}
	bool translated = !addr_eq(&pd.src, &orig.src) || !addr_eq(&pd.dst, &orig.dst) ||
			  pd.sport != orig.sport || pd.dport != orig.dport;
	/* States come of pass rules with keep state, for packets that can
	 * open one: not fragments, not ICMP replies or errors. */
	bool icmp = pd.proto == IPPROTO_ICMP || pd.proto == IPPROTO_ICMPV6;
	if (last && last->keep_state && !pd.fragment && (!icmp || pd.icmp_query)) {
		enum pf_reason sw;
		if (!state_create(n, pf, last, nat_rule, &pd, &orig, &sw))
			return pf_drop(n, p, sw);
	} else if (translated && !last && !pd.fragment && (!icmp || pd.icmp_query)) {
		/* a match rule translated, and no pass rule keeps the state: the
		 * translation still needs one to find the way back */
		enum pf_reason sw;
		struct pf_rule *r = (struct pf_rule *)nat_rule;
		if (!state_create(n, pf, r, nat_rule, &pd, &orig, &sw))
			return pf_drop(n, p, sw);
	}
	if (translated) {
		pf_translate(p, &orig, &pd.src, pd.sport, &pd.dst, pd.dport);
		pd.rewritten = true;
	}
	if (last && last->log)
		pflog_packet(n, &pd, last, PF_PASS, PFRES_MATCH, p);
	return true;
}

/* ---- loading and the figures ---- */

static void pf_destroy(struct pf *pf)
{
	if (!pf)
		return;
	for (struct pf_state *s = pf->head, *nx; s; s = nx) {
		nx = s->next;
		free(s);
	}
	free(pf->buckets);
	for (unsigned i = 0; i < pf->nrules; i++)
		free(pf->rules[i].text);
	free(pf->rules);
	for (unsigned i = 0; i < pf->ntables; i++) {
		free(pf->tables[i].name);
		free(pf->tables[i].ent);
	}
	free(pf->tables);
	free(pf);
}

unsigned pf_load(struct node *n, const struct pf_conf_options *o)
{
	unsigned errors;
	struct pf *pf = pf_parse(n, o, &errors);
	if (errors) {
		pf_destroy(pf);
		return errors;
	}
	pf_destroy(n->pf);
	n->pf = pf;
	return 0;
}

void pf_free(struct node *n)
{
	pf_destroy(n->pf);
	n->pf = NULL;
}

int pf_rule_figure(const struct node *n, unsigned nr, const char *what, uint64_t *v)
{
	if (!n->pf || nr >= n->pf->nrules)
		return -1;
	const struct pf_rule *r = &n->pf->rules[nr];
	if (strcmp(what, "evaluations") == 0)
		*v = r->evaluations;
	else if (strcmp(what, "packets") == 0)
		*v = r->packets[0] + r->packets[1];
	else if (strcmp(what, "bytes") == 0)
		*v = r->bytes[0] + r->bytes[1];
	else if (strcmp(what, "states") == 0)
		*v = r->states_cur;
	else
		return -1;
	return 0;
}

uint64_t pf_state_count(const struct node *n)
{
	return n->pf ? n->pf->nstates : 0;
}

unsigned pf_rule_count(const struct node *n)
{
	return n->pf ? n->pf->nrules : 0;
}

void pf_memory(const struct node *n, struct mem_use *u)
{
	const struct pf *pf = n->pf;
	if (!pf)
		return;
	mem_add(u, 0, sizeof(*pf) + pf->nbuckets * sizeof(*pf->buckets));
	mem_add(u, pf->nrules, pf->nrules * sizeof(*pf->rules));
	for (unsigned i = 0; i < pf->ntables; i++)
		mem_add(u, 1,
			sizeof(pf->tables[i]) + strlen(pf->tables[i].name) + 1 +
			    pf->tables[i].nent * sizeof(*pf->tables[i].ent));
	/* a state and its key entries (two, one per side) */
	mem_add(u, pf->nstates,
		pf->nstates * (sizeof(struct pf_state) + 2 * sizeof(struct pf_kent)));
}
