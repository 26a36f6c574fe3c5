/*
 * Selective acknowledgments: the blocks a receiver reports (RFC 2018) and
 * the sender's scoreboard with SACK-based loss recovery (RFC 6675).
 *
 * The scoreboard is the list of SACKed ranges above snd_una, sorted and
 * merged, at most TCP_SACK_MAXBLOCKS of them (OpenBSD's sackholelimit in
 * spirit): a block beyond that is not kept (tcp.sack_drop_opts).  The
 * RFC's per-octet definitions are computed per hole: IsLost() holds for a
 * hole when DupThresh blocks, or more than (DupThresh - 1) * SMSS bytes,
 * are SACKed above its start.
 */
#include <string.h>

#include "tcp_var.h"

void tcp_sack_clear(struct tcpcb *tp)
{
	tp->nsacked = 0;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return SEQ_LT(a, b) ? a : b;
}

static uint32_t max32(uint32_t a, uint32_t b)
{
	return SEQ_GT(a, b) ? a : b;
}

/* The length of one segment from seq toward end: a segment's worth at most. */
static uint32_t one_seg(const struct tcpcb *tp, uint32_t seq, uint32_t end)
{
	return end - seq < tp->maxseg ? end - seq : tp->maxseg;
}

/* Drop what snd_una has passed. */
static void trim_below(struct tcpcb *tp)
{
	unsigned k = 0;
	for (unsigned i = 0; i < tp->nsacked; i++) {
		uint32_t l = tp->sacked[i][0], r = tp->sacked[i][1];
		if (SEQ_LEQ(r, tp->snd_una))
			continue;
		tp->sacked[k][0] = max32(l, tp->snd_una);
		tp->sacked[k][1] = r;
		k++;
	}
	tp->nsacked = k;
}

/* One block [l, r) into the sorted, merged list. */
static void add_block(struct tcpcb *tp, uint32_t l, uint32_t r)
{
	unsigned i = 0;
	while (i < tp->nsacked && SEQ_LT(tp->sacked[i][1], l))
		i++;
	/* merge every block it touches */
	unsigned j = i;
	while (j < tp->nsacked && SEQ_LEQ(tp->sacked[j][0], r)) {
		l = min32(l, tp->sacked[j][0]);
		r = max32(r, tp->sacked[j][1]);
		j++;
	}
	if (i == j && tp->nsacked >= TCP_SACK_MAXBLOCKS) {
		node_count(tp->node, STAT_TCP_SACK_DROP_OPTS);
		return;
	}
	memmove(&tp->sacked[i + 1], &tp->sacked[j], (tp->nsacked - j) * sizeof(tp->sacked[0]));
	tp->sacked[i][0] = l;
	tp->sacked[i][1] = r;
	tp->nsacked = tp->nsacked - (j - i) + 1;
}

void tcp_sack_update(struct tcpcb *tp, const struct tcp_opts *to)
{
	trim_below(tp);
	if (!to || !(tp->flags & TF_SACK_PERMIT) || !to->nsack)
		return;
	node_count(tp->node, STAT_TCP_SACK_RCV_OPTS);
	for (unsigned i = 0; i < to->nsack; i++) {
		uint32_t l = to->sack[i][0], r = to->sack[i][1];
		/* RFC 2018 5: only what lies between snd_una and snd_max, and
		 * makes sense (a D-SACK below snd_una is not kept) */
		if (!SEQ_LT(l, r) || SEQ_LEQ(r, tp->snd_una) || SEQ_GT(r, tp->snd_max))
			continue;
		add_block(tp, max32(l, tp->snd_una), r);
	}
}

/* Blocks and bytes SACKed at or above seq. */
static void above(const struct tcpcb *tp, uint32_t seq, unsigned *blocks, uint32_t *bytes)
{
	*blocks = 0;
	*bytes = 0;
	for (unsigned i = 0; i < tp->nsacked; i++) {
		if (SEQ_LEQ(tp->sacked[i][1], seq))
			continue;
		(*blocks)++;
		*bytes += tp->sacked[i][1] - max32(tp->sacked[i][0], seq);
	}
}

/* RFC 6675 IsLost(), for the hole starting at seq. */
static bool is_lost(const struct tcpcb *tp, uint32_t seq)
{
	unsigned blocks;
	uint32_t bytes;
	above(tp, seq, &blocks, &bytes);
	return blocks >= TCP_REXMTTHRESH || bytes > (TCP_REXMTTHRESH - 1) * tp->maxseg;
}

/* The holes: [snd_una, first block), then between blocks, up to the last
 * SACKed byte; f is called for each with its bounds. */
#define FOR_HOLES(tp, l, r, body)                                    \
	do {                                                         \
		uint32_t l = (tp)->snd_una;                          \
		for (unsigned hi_ = 0; hi_ < (tp)->nsacked; hi_++) { \
			uint32_t r = (tp)->sacked[hi_][0];           \
			if (SEQ_LT(l, r)) {                          \
				body;                                \
			}                                            \
			l = (tp)->sacked[hi_][1];                    \
		}                                                    \
	} while (0)

uint32_t tcp_sack_pipe(const struct tcpcb *tp)
{
	/* RFC 6675 SetPipe(): every unSACKed octet counts once if it is not
	 * lost, and once more if it has been sent again (at or below
	 * high_rxt); above the last block nothing is lost. */
	uint32_t sacked = 0, lost_unsent = 0, twice = 0;
	for (unsigned i = 0; i < tp->nsacked; i++)
		sacked += tp->sacked[i][1] - tp->sacked[i][0];
	FOR_HOLES(tp, l, r, {
		if (is_lost(tp, l)) {
			uint32_t from = max32(l, tp->high_rxt);
			if (SEQ_LT(from, r))
				lost_unsent += r - from;
		} else if (SEQ_LT(l, tp->high_rxt)) {
			twice += (SEQ_LT(r, tp->high_rxt) ? r : tp->high_rxt) - l;
		}
	});
	uint32_t out = tp->snd_max - tp->snd_una;
	return out - sacked - lost_unsent + twice;
}

bool tcp_sack_nextseg(const struct tcpcb *tp, uint32_t *seq, uint32_t *len)
{
	/* RFC 6675 NextSeg() rule 1: the first lost octet not yet sent again */
	FOR_HOLES(tp, l, r, {
		uint32_t from = max32(l, tp->high_rxt);
		if (SEQ_LT(from, r) && is_lost(tp, l)) {
			*seq = from;
			*len = one_seg(tp, from, r);
			return true;
		}
	});
	return false; /* rule 2, new data, is tcp_output's ordinary work */
}

bool tcp_sack_nextseg_last(const struct tcpcb *tp, uint32_t *seq, uint32_t *len, bool *rescue)
{
	/* rule 3: the first unSACKed octet below the highest SACKed one not
	 * yet sent again, lost or not */
	*rescue = false;
	FOR_HOLES(tp, l, r, {
		uint32_t from = max32(l, tp->high_rxt);
		if (SEQ_LT(from, r)) {
			*seq = from;
			*len = one_seg(tp, from, r);
			return true;
		}
	});
	/* rule 4: once a recovery, a segment ending with the highest unSACKed
	 * octet, so that a loss at the tail draws an ACK without a timeout */
	if (tp->flags & TF_RESCUED)
		return false;
	uint32_t top = tp->snd_max;
	if (tp->nsacked && tp->sacked[tp->nsacked - 1][1] == tp->snd_max)
		top = tp->sacked[tp->nsacked - 1][0];
	if (!SEQ_GT(top, tp->snd_una))
		return false;
	*len = one_seg(tp, tp->snd_una, top);
	*seq = top - *len;
	*rescue = true;
	return true;
}

/* Walk the out-of-order queue as merged blocks; f sees each, in order. */
#define FOR_RQ_BLOCKS(tp, bl, br, body)                                      \
	do {                                                                 \
		bool open_ = false;                                          \
		uint32_t bl = 0, br = 0;                                     \
		for (const struct tcp_rseg *s_ = (tp)->rq;; s_ = s_->next) { \
			if (s_ && open_ && SEQ_LEQ(s_->seq, br)) {           \
				br = max32(br, s_->seq + s_->len);           \
				continue;                                    \
			}                                                    \
			if (open_) {                                         \
				body;                                        \
			}                                                    \
			if (!s_)                                             \
				break;                                       \
			bl = s_->seq;                                        \
			br = s_->seq + s_->len;                              \
			open_ = true;                                        \
		}                                                            \
	} while (0)

size_t tcp_sack_blocks(const struct tcpcb *tp, uint32_t blocks[][2], size_t max)
{
	/* RFC 2018 4: the block holding the segment that arrived last first,
	 * then the others in sequence order, as many as fit. */
	size_t out = 0;
	uint32_t first[2] = {0, 0};
	bool have = false;
	FOR_RQ_BLOCKS(tp, l, r, {
		if (!have && SEQ_LEQ(l, tp->last_oo) && SEQ_LT(tp->last_oo, r)) {
			first[0] = l;
			first[1] = r;
			have = true;
		}
	});
	if (have && out < max) {
		blocks[out][0] = first[0];
		blocks[out++][1] = first[1];
	}
	FOR_RQ_BLOCKS(tp, l, r, {
		if (out < max && SEQ_LT(l, r) && !(have && l == first[0])) {
			blocks[out][0] = l;
			blocks[out++][1] = r;
		}
	});
	return out;
}
