/*
 * The bridge statement (stack/bridge.h, docs/bridge.md):
 *
 *   bridge NODE NAME MEMBER... [ipsec] [maxaddr N] [timeout T]
 *
 * MEMBER is an interface of NODE (carrying no address) or etherip:ADDR, an
 * EtherIP tunnel to the node that has ADDR.  No spanning tree runs, so a
 * bridge that would close a loop (two of its members already joined, by
 * a segment or by other bridges) is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/bridge.h"
#include "../stack/iface.h"
#include "../stack/node.h"
#include "link.h"
#include "scenario.h"
#include "sim.h"

/* The layer-2 segments bridges join, as a union-find: a link or switch, an
 * interface on none, or the EtherIP pair of two nodes. */
struct scn_bridges {
	struct hmap seg;  /* key -> index + 1 */
	void **keys;      /* owned 16-byte keys */
	unsigned *parent; /* union-find */
	unsigned n;
	struct hmap owner;    /* every node address (16 bytes + family) -> node */
	unsigned owner_nodes; /* nodes the index was built with */
	struct ipaddr *okeys; /* its keys */
	unsigned nokeys;
};

static struct scn_bridges *world(struct scenario *sc)
{
	if (!sc->bridges)
		sc->bridges = xcalloc(1, sizeof(*sc->bridges));
	return sc->bridges;
}

static unsigned seg_of(struct scn_bridges *w, const void *a, const void *b)
{
	uint8_t key[16] = {0};
	/* an unordered pair of pointers, or one */
	const void *lo = a, *hi = b;
	if (b && (uintptr_t)b < (uintptr_t)a) {
		lo = b;
		hi = a;
	}
	memcpy(key, &lo, sizeof(lo));
	memcpy(key + 8, &hi, sizeof(hi));
	uintptr_t v = (uintptr_t)hmap_get(&w->seg, key, sizeof(key));
	if (v)
		return (unsigned)(v - 1);
	w->keys = xgrow(w->keys, w->n, sizeof(*w->keys));
	w->parent = xgrow(w->parent, w->n, sizeof(*w->parent));
	w->keys[w->n] = xmalloc(sizeof(key));
	memcpy(w->keys[w->n], key, sizeof(key));
	w->parent[w->n] = w->n;
	hmap_add(&w->seg, w->keys[w->n], sizeof(key), (void *)(uintptr_t)(w->n + 1));
	return w->n++;
}

static unsigned root(struct scn_bridges *w, unsigned x)
{
	while (w->parent[x] != x) {
		w->parent[x] = w->parent[w->parent[x]];
		x = w->parent[x];
	}
	return x;
}

/* The node that has address a, from an index of every node's addresses,
 * built again when nodes were added since. */
static struct node *owner(struct scenario *sc, const struct ipaddr *a)
{
	struct scn_bridges *w = world(sc);
	struct sim *s = sc->sim;
	if (w->owner_nodes != s->nnodes || !hmap_get(&w->owner, a->a, sizeof(a->a))) {
		hmap_free(&w->owner);
		memset(&w->owner, 0, sizeof(w->owner));
		free(w->okeys);
		size_t total = 0;
		for (unsigned i = 0; i < s->nnodes; i++)
			for (unsigned k = 0; k < s->nodes[i]->nifaces; k++)
				total += s->nodes[i]->ifaces[k]->naddrs;
		w->okeys = xcalloc(total ? total : 1, sizeof(*w->okeys));
		w->nokeys = 0;
		for (unsigned i = 0; i < s->nnodes; i++)
			for (unsigned k = 0; k < s->nodes[i]->nifaces; k++) {
				const struct iface *ifp = s->nodes[i]->ifaces[k];
				for (unsigned j = 0; j < ifp->naddrs; j++) {
					struct ipaddr *key = &w->okeys[w->nokeys++];
					*key = ifp->addrs[j].addr;
					if (!hmap_add(&w->owner, key->a, sizeof(key->a),
						      s->nodes[i]))
						w->nokeys--;
				}
			}
		w->owner_nodes = s->nnodes;
	}
	struct node *n = hmap_get(&w->owner, a->a, sizeof(a->a));
	return n && node_owns_addr(n, a) ? n : NULL;
}

void scn_bridges_free(struct scenario *sc)
{
	struct scn_bridges *w = sc->bridges;
	if (!w)
		return;
	for (unsigned i = 0; i < w->n; i++)
		free(w->keys[i]);
	free(w->keys);
	free(w->parent);
	hmap_free(&w->seg);
	hmap_free(&w->owner);
	free(w->okeys);
	free(w);
}

static const char usage[] =
    "usage: bridge NODE NAME MEMBER... [ipsec] [maxaddr N] [timeout T]; a MEMBER is an "
    "interface of NODE or etherip:ADDR";

int scn_stmt_bridge(struct scenario *sc, const struct scn_stmt *st)
{
	if (st->ntok < 4) {
		scn_error(sc, st, usage);
		return -1;
	}
	struct node *n = sim_find_node(sc->sim, st->tok[1]);
	if (!n) {
		scn_error(sc, st, "unknown node '%s'", st->tok[1]);
		return -1;
	}
	const char *name = st->tok[2];
	if (bridge_find(n, name)) {
		scn_error(sc, st, "%s has a bridge %s already", n->name, name);
		return -1;
	}
	if (strlen(name) >= BRIDGE_NAME_MAX) {
		scn_error(sc, st, "bridge name '%s' is too long (at most %d characters)", name,
			  BRIDGE_NAME_MAX - 1);
		return -1;
	}
	/* the options first, then the members (every word that is not one) */
	bool ipsec = false;
	uint64_t maxaddr = BRIDGE_RTABLE_MAX,
		 timeout = (uint64_t)BRIDGE_RTABLE_TIMEOUT * NS_PER_SEC;
	const char **members = xcalloc(st->ntok, sizeof(*members));
	unsigned nm = 0;
	int rc = 0;
	for (unsigned i = 3; i < st->ntok && !rc; i++) {
		const char *w = st->tok[i];
		const char *v = i + 1 < st->ntok ? st->tok[i + 1] : NULL;
		if (strcmp(w, "ipsec") == 0) {
			ipsec = true;
		} else if (strcmp(w, "maxaddr") == 0 && v) {
			if (scn_parse_uint(v, 1000000, &maxaddr) < 0) {
				scn_bad_range(sc, st, v, "maxaddr", 0, 1000000);
				rc = -1;
			}
			i++;
		} else if (strcmp(w, "timeout") == 0 && v) {
			if (scn_parse_time(v, &timeout) < 0 || timeout == 0) {
				scn_bad_value(sc, st, v, "timeout", SCN_TIME_FORM);
				rc = -1;
			}
			i++;
		} else {
			members[nm++] = w;
		}
	}
	if (!rc && nm == 0) {
		scn_error(sc, st, "a bridge needs members; %s", usage);
		rc = -1;
	}
	/* every member's segment, and no two of them joined already */
	struct scn_bridges *w = world(sc);
	unsigned *segs = xcalloc(nm ? nm : 1, sizeof(*segs));
	struct ipaddr *peers = xcalloc(nm ? nm : 1, sizeof(*peers));
	struct iface **ifps = xcalloc(nm ? nm : 1, sizeof(*ifps));
	for (unsigned k = 0; k < nm && !rc; k++) {
		const char *m = members[k];
		if (strncmp(m, "etherip:", 8) == 0) {
			if (addr_parse(m + 8, &peers[k]) < 0 || addr_is_unspec(&peers[k]) ||
			    addr_is_multicast(&peers[k])) {
				scn_error(sc, st,
					  "bad EtherIP peer '%s' (etherip:ADDR, a unicast "
					  "address of another node)",
					  m + 8);
				rc = -1;
				break;
			}
			if (node_owns_addr(n, &peers[k])) {
				scn_error(sc, st,
					  "etherip:%s is %s's own address: the peer is "
					  "another node",
					  m + 8, n->name);
				rc = -1;
				break;
			}
			struct node *o = owner(sc, &peers[k]);
			segs[k] = o ? seg_of(w, n, o) : seg_of(w, n, &peers[k]);
			continue;
		}
		ifps[k] = node_iface(n, m);
		if (!ifps[k]) {
			scn_error(sc, st, "%s has no interface '%s'; %s", n->name, m, usage);
			rc = -1;
			break;
		}
		if (ifps[k]->bport) {
			scn_error(sc, st, "%s.%s is a member of a bridge already", n->name, m);
			rc = -1;
			break;
		}
		if (ifps[k]->naddrs) {
			scn_error(sc, st,
				  "%s.%s has addresses; a bridge member carries none (give the "
				  "node its address on another interface)",
				  n->name, m);
			rc = -1;
			break;
		}
		segs[k] =
		    ifps[k]->port ? seg_of(w, ifps[k]->port->link, NULL) : seg_of(w, ifps[k], NULL);
	}
	for (unsigned a = 0; a < nm && !rc; a++)
		for (unsigned b = a + 1; b < nm && !rc; b++)
			if (root(w, segs[a]) == root(w, segs[b])) {
				scn_error(sc, st,
					  "%s and %s are joined already (one segment, or other "
					  "bridges): this bridge would close a loop, and no "
					  "spanning tree runs here",
					  members[a], members[b]);
				rc = -1;
			}
	if (!rc) {
		struct bridge *br = bridge_new(n, name);
		br->ipsec = ipsec;
		br->rt.max = (unsigned)maxaddr;
		br->timeout = timeout;
		for (unsigned k = 0; k < nm && !rc; k++) {
			int r = ifps[k] ? bridge_add_iface(br, ifps[k])
					: bridge_add_etherip(br, &peers[k]);
			if (r == -EEXIST) {
				scn_error(sc, st, "%s has an EtherIP member to %s already", n->name,
					  members[k] + 8);
				rc = -1;
			}
		}
		for (unsigned k = 1; k < nm && !rc; k++)
			w->parent[root(w, segs[k])] = root(w, segs[0]);
	}
	free(segs);
	free(peers);
	free(ifps);
	free(members);
	return rc;
}
