#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ipsec/pfkey.h"
#include "../pf/pf.h"
#include "../sim/sim.h"
#include "arp.h"
#include "bridge.h"
#include "icmp.h"
#include "iface.h"
#include "raw.h"
#include "ip4.h"
#include "ip6.h"
#include "nd.h"
#include "tcp.h"
#include "udp.h"
#include "util.h"

struct node *node_new(struct sim *sim, const char *name)
{
	struct node *n = xcalloc(1, sizeof(*n));
	char stream[128];

	n->sim = sim;
	n->last_drop = -1;
	n->name = xstrdup(name);
	snprintf(stream, sizeof(stream), "node/%s", name);
	rng_seed(&n->rng, sim->seed, stream);
	sysctl_init(n->sysctl);
	n->timer_at = UINT64_MAX;
	return n;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	ipsec_state_free(n->ipsec);
	ip4_reass_free(n);
	ip6_reass_free(n);
	ip6_pmtu_free(n);
	nd_routers_free(n);
	udp_free_all(n);
	raw_free_all(n);
	tcp_free_all(n);
	icmp_echo_free_all(n);
	bridge_free_all(n);
	for (unsigned i = 0; i < n->nifaces; i++)
		iface_free(n->ifaces[i]);
	free(n->ifaces);
	pf_free(n);
	free(n->enccaps); /* the captures themselves belong to the simulation */
	free(n->pflogs);
	route_free(&n->rt);
	for (unsigned i = 0; i < n->naddr_recs; i++)
		free(n->addr_recs[i]);
	free(n->addr_recs);
	hmap_free(&n->local_addrs);
	hmap_free(&n->iface_names);
	free(n->name);
	free(n);
}

void node_trace(struct node *n, const char *fmt, ...)
{
	FILE *f = n->sim->trace;
	char t[32];
	va_list ap;

	if (!f)
		return;
	fprintf(f, "%s %s ", sim_fmt_time(n->sim->now, t), n->name);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

void node_drop(struct node *n, struct pkt *p, enum stat_id why)
{
	node_count(n, why);
	n->last_drop = (int)why;
	char sa[48] = "";
	if (n->drop_sa.sproto == 108) /* IPComp: a CPI, no sequence number */
		snprintf(sa, sizeof(sa), " cpi 0x%04x", n->drop_sa.spi);
	else if (n->drop_sa.sproto)
		snprintf(sa, sizeof(sa), " spi 0x%08x seq %u", n->drop_sa.spi, n->drop_sa.seq);
	n->drop_sa.sproto = 0;
	if (n->sim->watch && n->sim->watch->drop)
		n->sim->watch->drop(n->sim->watch->arg, n, (int)why, p);
	if (p)
		node_trace(n, "drop %s len %zu%s%s%s", stat_name(why), p->len, p->rcvif ? " on " : "",
			   p->rcvif ? p->rcvif->name : "", sa);
	else
		node_trace(n, "drop %s%s", stat_name(why), sa);
	pkt_free(p);
}

struct iface *node_iface(struct node *n, const char *name)
{
	return hmap_get_str(&n->iface_names, name);
}

/* The node's addresses, hashed: "is this packet for me?" is asked of
 * every packet, and a router can have thousands of interfaces. */
struct node_addr {
	uint8_t key[17]; /* family, then the address's bytes */
	uint8_t keylen;
	struct iface *ifp;
};

static uint8_t addr_key(const struct ipaddr *a, uint8_t key[17])
{
	unsigned len = addr_len(a->af);
	key[0] = a->af;
	memcpy(key + 1, a->a, len);
	return (uint8_t)(1 + len);
}

static unsigned iface_index(const struct node *n, const struct iface *ifp)
{
	unsigned i = 0;
	while (i < n->nifaces && n->ifaces[i] != ifp)
		i++;
	return i;
}

void node_addr_added(struct node *n, struct iface *ifp, const struct ipaddr *a)
{
	struct node_addr *r = xmalloc(sizeof(*r));
	r->keylen = addr_key(a, r->key);
	r->ifp = ifp;
	struct node_addr *had = hmap_get(&n->local_addrs, r->key, r->keylen);
	if (had) { /* on two interfaces: the first of them answers, as a scan would */
		if (iface_index(n, ifp) < iface_index(n, had->ifp))
			had->ifp = ifp;
		free(r);
		return;
	}
	hmap_add(&n->local_addrs, r->key, r->keylen, r);
	n->addr_recs = xgrow(n->addr_recs, n->naddr_recs, sizeof(*n->addr_recs));
	n->addr_recs[n->naddr_recs++] = r;
}

size_t node_addrs_memory(const struct node *n)
{
	return n->naddr_recs * (sizeof(struct node_addr) + sizeof(*n->addr_recs)) +
	       hmap_bytes(&n->local_addrs);
}

struct iface *node_owns_addr(struct node *n, const struct ipaddr *a)
{
	uint8_t key[17];
	uint8_t len = addr_key(a, key);
	struct node_addr *r = hmap_get(&n->local_addrs, key, len);
	return r ? r->ifp : NULL;
}

/*
 * The slow timer: ARP retries and expiry, reassembly timeouts, neighbor
 * discovery's solicitations and probes.  Armed only
 * while some state needs it, so an idle network leaves the event heap empty
 * and the run can end.  A superseded timer event finds timer_at changed and
 * does nothing.
 */
struct node_timer_ev {
	struct node *n;
	uint64_t when;
};

static void node_timer_fire(struct sim *s, void *arg)
{
	struct node_timer_ev *ev = arg;
	struct node *n = ev->n;
	uint64_t when = ev->when;

	free(ev);
	if (n->timer_at != when)
		return;
	n->timer_at = UINT64_MAX;
	uint64_t next = UINT64_MAX;
	uint64_t t = arp_timer(n);
	if (t < next)
		next = t;
	t = ip4_reass_timer(n);
	if (t < next)
		next = t;
	t = ip6_reass_timer(n);
	if (t < next)
		next = t;
	t = nd_timer(n);
	if (t < next)
		next = t;
	t = pf_purge_timer(n);
	if (t < next)
		next = t;
	if (next != UINT64_MAX)
		node_timer_arm(n, next > s->now ? next : s->now);
}

void node_timer_arm(struct node *n, uint64_t when)
{
	if (when >= n->timer_at)
		return;
	struct node_timer_ev *ev = xmalloc(sizeof(*ev));
	ev->n = n;
	ev->when = when;
	n->timer_at = when;
	sim_at(n->sim, when, node_timer_fire, free, ev);
}
