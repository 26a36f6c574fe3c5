/*
 * SA lifetimes (reference 5.7): byte limits checked on the packet path,
 * time limits on the virtual clock, SADB_EXPIRE broadcast to every PF_KEY
 * socket of the node.  A soft limit is announced once; a hard one is
 * announced and the SA deleted.  Larval SAs from GETSPI that are never
 * updated disappear silently after net.inet.ip.ipsec-invalid-life.
 *
 * Timers are events that name the SA by (destination, SPI, protocol) and
 * its serial number, and look it up when they fire: an SA deleted or
 * replaced meanwhile is simply not found.
 */
#include "lifetime.h"

#include <stdlib.h>

#include "../sim/sim.h"
#include "../stack/node.h"
#include "../stack/util.h"
#include "pfkey.h"
#include "pfkey_msg.h"
#include "sad.h"

enum sa_timer_kind { T_SOFT_ADD, T_HARD_ADD, T_SOFT_USE, T_HARD_USE, T_LARVAL };

struct sa_timer {
	struct node *n;
	struct ipaddr dst;
	uint32_t spi;
	uint8_t sproto;
	uint64_t serial;
	enum sa_timer_kind kind;
};

static void sa_delete(struct ipsec_state *st, struct tdb *t)
{
	sad_remove(&st->sad, t);
	tdb_free(t);
}

void sa_expire(struct node *n, struct tdb *t, bool hard)
{
	struct ipsec_state *st = n->ipsec;
	struct pfkey_buf pb;
	char a[ADDR_STRLEN];
	pfkey_build_expire(&pb, t, hard ? SADB_EXT_LIFETIME_HARD : SADB_EXT_LIFETIME_SOFT,
			   st->seq++);
	node_trace(n, "ipsec: SA %s/0x%08x/%u %s expiry", addr_fmt(&t->dst, a), t->spi, t->sproto,
		   hard ? "hard" : "soft");
	pfkey_broadcast(st, &pb);
	if (hard) {
		node_count(n, STAT_IPSEC_EXCTDB);
		sa_delete(st, t);
	}
}

static void timer_ev(struct sim *s, void *arg)
{
	struct sa_timer *tm = arg;
	struct node *n = tm->n;
	(void)s;
	struct tdb *t = n->ipsec ? sad_lookup(&n->ipsec->sad, &tm->dst, tm->spi, tm->sproto) : NULL;
	enum sa_timer_kind kind = tm->kind;
	bool same = t && t->serial == tm->serial;
	free(tm);
	if (!same)
		return; /* deleted or replaced since */
	switch (kind) {
	case T_LARVAL:
		/* still larval: gone without a word */
		if (t->flags & TDBF_INVALID) {
			char a[ADDR_STRLEN];
			node_trace(n, "ipsec: larval SA %s/0x%08x expired", addr_fmt(&t->dst, a),
				   t->spi);
			sa_delete(n->ipsec, t);
		}
		break;
	case T_SOFT_ADD:
		if (t->flags & TDBF_SOFT_TIMER) {
			t->flags &= ~(uint32_t)TDBF_SOFT_TIMER;
			sa_expire(n, t, false);
		}
		break;
	case T_SOFT_USE:
		if (t->flags & TDBF_SOFT_FIRSTUSE) {
			t->flags &= ~(uint32_t)TDBF_SOFT_FIRSTUSE;
			sa_expire(n, t, false);
		}
		break;
	case T_HARD_ADD:
	case T_HARD_USE: sa_expire(n, t, true); break;
	}
}

static void arm(struct node *n, const struct tdb *t, enum sa_timer_kind kind, uint64_t after_s)
{
	struct sa_timer *tm = xcalloc(1, sizeof(*tm));
	*tm = (struct sa_timer){n, t->dst, t->spi, t->sproto, t->serial, kind};
	/* PF_KEY's 64-bit seconds outrun the nanosecond clock past 584
	 * years: such a lifetime never runs out (sim_after saturates). */
	uint64_t ns = after_s > UINT64_MAX / NS_PER_SEC ? UINT64_MAX : after_s * NS_PER_SEC;
	sim_after(n->sim, ns, timer_ev, free, tm);
}

void sa_arm_addtime(struct node *n, const struct tdb *t)
{
	if ((t->flags & TDBF_TIMER) && t->hard.addtime)
		arm(n, t, T_HARD_ADD, t->hard.addtime);
	if ((t->flags & TDBF_SOFT_TIMER) && t->soft.addtime)
		arm(n, t, T_SOFT_ADD, t->soft.addtime);
}

void sa_arm_larval(struct node *n, const struct tdb *t, uint64_t after_s)
{
	arm(n, t, T_LARVAL, after_s);
}

void sa_first_use(struct node *n, struct tdb *t)
{
	if (t->first_use)
		return;
	t->first_use = n->sim->now ? n->sim->now : 1;
	if ((t->flags & TDBF_FIRSTUSE) && t->hard.usetime)
		arm(n, t, T_HARD_USE, t->hard.usetime);
	if ((t->flags & TDBF_SOFT_FIRSTUSE) && t->soft.usetime)
		arm(n, t, T_SOFT_USE, t->soft.usetime);
}

bool sa_count_bytes(struct node *n, struct tdb *t, uint64_t bytes)
{
	t->cur_bytes += bytes;
	if ((t->flags & TDBF_BYTES) && t->cur_bytes >= t->hard.bytes) {
		sa_expire(n, t, true);
		return false;
	}
	if ((t->flags & TDBF_SOFT_BYTES) && t->cur_bytes >= t->soft.bytes) {
		t->flags &= ~(uint32_t)TDBF_SOFT_BYTES; /* announced once */
		sa_expire(n, t, false);
	}
	return true;
}
