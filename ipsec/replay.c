#include "replay.h"

#include <string.h>

/* Slide the window right to end at seq: clear every word after the old
 * top's, up to and including seq's, then mark seq and make it the top.
 * Whether the jump empties the whole bitmap is judged against the full
 * window.  (OpenBSD judges it against the window shrunk for a young SA, so
 * after packets 1 and 2 a jump to 2100 forgot them and a replay of packet
 * 1 passed; we keep them.) */
static void advance(struct replay_state *r, uint32_t tl, uint32_t seq, uint32_t seqhi)
{
	unsigned word = (seq % REPLAY_BITS) / 32;
	if (seq - tl > REPLAY_WINDOW) {
		memset(r->seen, 0, sizeof(r->seen));
	} else {
		unsigned w = (tl % REPLAY_BITS) / 32;
		while (w != word) {
			w = (w + 1) % REPLAY_WORDS;
			r->seen[w] = 0;
		}
	}
	r->seen[word] |= 1u << (31 - (seq & 31));
	r->rpl = (uint64_t)seqhi << 32 | seq;
}

/* A number at or below the top: reject it when too old or seen. */
static enum replay_verdict mark(struct replay_state *r, uint32_t seq, bool commit)
{
	unsigned word = (seq % REPLAY_BITS) / 32;
	uint32_t bit = 1u << (31 - (seq & 31));
	if (r->seen[word] & bit)
		return REPLAY_DUP;
	if (commit)
		r->seen[word] |= bit;
	return REPLAY_OK;
}

enum replay_verdict replay_check(struct replay_state *r, bool esn, uint32_t seq, uint32_t *seqhi,
				 bool commit)
{
	return replay_check_window(r, REPLAY_WINDOW, esn, seq, seqhi, commit);
}

enum replay_verdict replay_check_window(struct replay_state *r, uint32_t window, bool esn,
					uint32_t seq, uint32_t *seqhi, bool commit)
{
	uint32_t tl = (uint32_t)r->rpl, th = (uint32_t)(r->rpl >> 32);
	if (window == 0 || window > REPLAY_WINDOW)
		window = REPLAY_WINDOW;

	/* RFC 4303 3.3.3: the first packet carries 1; 0 never appears. */
	if (seq == 0 && (!esn || (tl <= REPLAY_FIRST && th == 0)))
		return REPLAY_WRAP;
	/* Early in the SA's life the window is what has been seen.  A state
	 * of all zeroes (no top yet) counts as a fresh SA's: a window of 0
	 * would wrap the arithmetic below and send every number to the old
	 * side of a straddle. */
	if (th == 0 && tl < window)
		window = tl ? tl : 1;
	uint32_t bottom = tl - window + 1;
	/* Does seq share the top's high half?  Yes when the window lies in
	 * one 2^32 subspace and seq is in it or above, or when the window
	 * straddles two subspaces and seq is below its bottom (the new side). */
	bool same = (tl >= window - 1 && seq >= bottom) || (tl < window - 1 && seq < bottom);
	if (same) {
		*seqhi = th;
		if (seq > tl) {
			if (commit)
				advance(r, tl, seq, th);
			return REPLAY_OK;
		}
		/* seq is at or below the top and, by the test above, inside
		 * the window (from its bottom up, or from 0 up when it
		 * straddles): a number left of the window never shares the
		 * top's half and is judged below.  OpenBSD's checkreplaywindow
		 * tests tl - seq >= window again here; it cannot hold. */
		return mark(r, seq, commit);
	}
	if (!esn)
		return REPLAY_OLD; /* RFC 4303 A.1: a 32-bit counter cannot go round */
	if (tl < window - 1 && seq >= bottom) {
		/* In the window, on the old side of a straddle (A2.2 case B). */
		*seqhi = th - 1;
		return mark(r, seq, commit);
	}
	/* The counter went round into the next subspace (case C). */
	*seqhi = th + 1;
	if (*seqhi == 0)
		return REPLAY_WRAP;
	if (commit)
		advance(r, tl, seq, *seqhi);
	return REPLAY_OK;
}
