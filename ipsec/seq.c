#include "seq.h"

#include "../stack/node.h"
#include "lifetime.h"
#include "replay.h"
#include "sad.h"

const struct seq_stats seq_esp = {STAT_ESP_WRAP, STAT_ESP_REPLAY, STAT_ESP_OBYTES, STAT_ESP_IBYTES};
const struct seq_stats seq_ah = {STAT_AH_WRAP, STAT_AH_REPLAY, STAT_AH_OBYTES, STAT_AH_IBYTES};

bool sa_esn(const struct tdb *t)
{
	return (t->flags & TDBF_ESN) && t->wnd;
}

bool seq_output(struct node *n, struct tdb *t, struct pkt *p, size_t bytes,
		const struct seq_stats *s, uint64_t *seq)
{
	/* RFC 4303 3.3.3: the counter must not go round.  Without ESN the
	 * last number is 2^32 - 1; with it 2^64 - 1, after which the 64-bit
	 * counter stands at 0. */
	uint64_t last = sa_esn(t) ? UINT64_MAX : UINT32_MAX;
	*seq = t->replay.rpl;
	if (*seq > last || *seq == 0) {
		/* Nothing left to send with: the SA is spent, as if its hard
		 * lifetime had run out, so that a key manager replaces it and
		 * the next packets find no SA (drop or acquire), not this one. */
		node_drop(n, p, s->wrap);
		sa_expire(n, t, true);
		return false;
	}
	/* Byte limits (reference 5.7): the hard one ends the SA here. */
	if (!sa_count_bytes(n, t, bytes)) {
		node_drop(n, p, STAT_IPSEC_EXPIRED);
		return false;
	}
	t->replay.rpl++;
	t->counters[TDB_OPACKETS]++;
	t->counters[TDB_OBYTES] += bytes;
	n->stats[s->obytes] += bytes;
	/* The last number went out: ask for a new SA while this one still
	 * works, once (the counter passes `last` only here). */
	if (*seq == last)
		sa_expire(n, t, false);
	return true;
}

bool seq_replay(struct node *n, struct tdb *t, struct pkt *p, uint32_t seq, uint32_t *seqhi,
		bool commit, const struct seq_stats *s)
{
	if (!t->wnd)
		return true; /* no window: no check (ipsecctl's manual SAs) */
	enum replay_verdict v =
	    replay_check_window(&t->replay, t->rwin, sa_esn(t), seq, seqhi, commit);
	if (v == REPLAY_OK)
		return true;
	node_drop(n, p, v == REPLAY_WRAP ? s->wrap : s->replay);
	t->counters[TDB_IDROPS]++;
	return false;
}

bool seq_input_bytes(struct node *n, struct tdb *t, struct pkt *p, size_t bytes,
		     const struct seq_stats *s)
{
	n->stats[s->ibytes] += bytes;
	if (!sa_count_bytes(n, t, bytes)) {
		node_drop(n, p, STAT_IPSEC_EXPIRED);
		return false;
	}
	t->counters[TDB_IBYTES] += bytes;
	return true;
}
