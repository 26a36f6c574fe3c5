/*
 * SADB_ACQUIRE (reference 3.3 and 5.8): an outbound packet that a flow
 * wants protected finds no SA, so the kernel asks the key managers
 * registered for the SA type, with a proposal built from the ipsec-*
 * sysctls.  One acquire per policy and gateway is pending for
 * net.inet.ip.ipsec-expire-acquire seconds; packets meanwhile do not ask
 * again.  X_ASKPOLICY finds a pending acquire by its sequence number.
 */
#include "acquire.h"

#include <stdlib.h>
#include <string.h>

#include "../sim/sim.h"
#include "../stack/mem.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "pfkey.h"
#include "pfkey_msg.h"
#include "sad.h"
#include "spd.h"
#include "xform.h"

struct ipsec_acquire {
	struct ipsec_acquire *next;
	struct spd_sel sel; /* the policy it was made for */
	struct spd_mask mask;
	uint8_t type;
	struct ipaddr gw;
	uint32_t seq;
	uint64_t expires; /* virtual ns */
};

/* Forget acquires whose time is up. */
static void prune(struct ipsec_state *st, uint64_t now)
{
	for (struct ipsec_acquire **pp = &st->acquires; *pp;) {
		struct ipsec_acquire *a = *pp;
		if (a->expires <= now) {
			*pp = a->next;
			free(a);
		} else {
			pp = &a->next;
		}
	}
}

void acquire_free_all(struct ipsec_state *st)
{
	while (st->acquires) {
		struct ipsec_acquire *a = st->acquires;
		st->acquires = a->next;
		free(a);
	}
}

static uint8_t satype_of(uint8_t sproto)
{
	switch (sproto) {
	case IPPROTO_AH: return SADB_SATYPE_AH;
	case IPPROTO_IPCOMP: return SADB_X_SATYPE_IPCOMP;
	default: return SADB_SATYPE_ESP;
	}
}

/* The one combination OpenBSD proposes: from the ipsec-* sysctls. */
static void proposal(const struct node *n, uint8_t satype, struct sadb_comb *c)
{
	const int64_t *v = n->sysctl;
	memset(c, 0, sizeof(*c));
	if (v[SYSCTL_IPSEC_PFS])
		c->sadb_comb_flags = SADB_SAFLAGS_PFS;
	if (satype == SADB_SATYPE_ESP) {
		/* ipsec-enc-alg, with the key sizes OpenBSD proposes for it */
		static const struct {
			uint8_t alg;
			uint16_t min, max;
		} bits[] = {{SADB_X_EALG_AES, 128, 256},
			    {SADB_X_EALG_AESCTR, 160, 288},
			    {SADB_EALG_3DESCBC, 192, 192},
			    {SADB_X_EALG_BLF, 40, 448},
			    {SADB_X_EALG_CAST, 40, 128}};
		c->sadb_comb_encrypt = (uint8_t)v[SYSCTL_IPSEC_ENC_ALG];
		for (size_t i = 0; i < ARRAY_LEN(bits); i++)
			if (bits[i].alg == c->sadb_comb_encrypt) {
				c->sadb_comb_encrypt_minbits = bits[i].min;
				c->sadb_comb_encrypt_maxbits = bits[i].max;
			}
	} else if (satype == SADB_X_SATYPE_IPCOMP) {
		c->sadb_comb_encrypt = SADB_X_CALG_DEFLATE;
	}
	if (satype != SADB_X_SATYPE_IPCOMP) {
		/* ipsec-auth-alg; an HMAC's key is exactly its size */
		const struct auth_xform *a = xform_auth((uint8_t)v[SYSCTL_IPSEC_AUTH_ALG]);
		c->sadb_comb_auth = (uint8_t)v[SYSCTL_IPSEC_AUTH_ALG];
		c->sadb_comb_auth_minbits = c->sadb_comb_auth_maxbits =
		    a ? (uint16_t)(a->keysize * 8) : 0;
	}
	c->sadb_comb_soft_allocations = (uint32_t)v[SYSCTL_IPSEC_SOFT_ALLOCS];
	c->sadb_comb_hard_allocations = (uint32_t)v[SYSCTL_IPSEC_ALLOCS];
	c->sadb_comb_soft_bytes = (uint64_t)v[SYSCTL_IPSEC_SOFT_BYTES];
	c->sadb_comb_hard_bytes = (uint64_t)v[SYSCTL_IPSEC_BYTES];
	c->sadb_comb_soft_addtime = (uint64_t)v[SYSCTL_IPSEC_SOFT_TIMEOUT];
	c->sadb_comb_hard_addtime = (uint64_t)v[SYSCTL_IPSEC_TIMEOUT];
	c->sadb_comb_soft_usetime = (uint64_t)v[SYSCTL_IPSEC_SOFT_FIRSTUSE];
	c->sadb_comb_hard_usetime = (uint64_t)v[SYSCTL_IPSEC_FIRSTUSE];
}

enum acquire_result acquire_sa(struct node *n, const struct spd_flow *f, const struct ipaddr *gw)
{
	struct ipsec_state *st = n->ipsec;
	uint64_t now = n->sim->now;
	prune(st, now);
	for (const struct ipsec_acquire *a = st->acquires; a; a = a->next)
		if (addr_eq(&a->gw, gw) && !memcmp(&a->sel, &f->sel, sizeof(a->sel)) &&
		    !memcmp(&a->mask, &f->mask, sizeof(a->mask)))
			return ACQUIRE_PENDING;
	struct ipsec_acquire *a = xcalloc(1, sizeof(*a));
	a->sel = f->sel;
	a->mask = f->mask;
	a->type = f->type;
	a->gw = *gw;
	a->seq = st->seq++;
	a->expires = now + (uint64_t)n->sysctl[SYSCTL_IPSEC_EXPIRE_ACQUIRE] * NS_PER_SEC;
	a->next = st->acquires;
	st->acquires = a;

	struct pfkey_acquire_info info = {.satype = satype_of(f->sproto), .dst = *gw};
	if (f->local.af != ADDR_NONE && !addr_is_unspec(&f->local))
		info.src = f->local;
	info.srcid = f->srcid;
	info.dstid = f->dstid;
	info.srcid_type = f->srcid_type;
	info.dstid_type = f->dstid_type;
	proposal(n, info.satype, &info.comb);
	struct pfkey_buf pb;
	pfkey_build_acquire(&pb, a->seq, &info);
	node_count(n, STAT_IPSEC_ACQUIRES);
	char g[ADDR_STRLEN];
	unsigned heard = pfkey_to_registered(st, &pb);
	node_trace(n, "ipsec: SADB_ACQUIRE seq %u for gateway %s: %u listener%s", a->seq,
		   addr_fmt(gw, g), heard, heard == 1 ? "" : "s");
	return heard ? ACQUIRE_SENT : ACQUIRE_NOBODY;
}

int acquire_askpolicy(struct ipsec_state *st, uint32_t seq, uint64_t now, struct pfkey_buf *pb)
{
	prune(st, now);
	for (const struct ipsec_acquire *a = st->acquires; a; a = a->next)
		if (a->seq == seq) {
			pfkey_export_flow(pb, &a->sel, &a->mask, a->type);
			return 0;
		}
	return -1;
}

void acquire_memory(const struct ipsec_state *st, struct mem_use *u)
{
	for (const struct ipsec_acquire *a = st->acquires; a; a = a->next)
		mem_add(u, 1, sizeof(*a));
}
