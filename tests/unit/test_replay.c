/* The anti-replay window as numbered rows: sequence number in -> verdict,
 * inferred high half and the window's top after it.  Each row is checked
 * (commit off, which must change nothing) and then committed. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "../../ipsec/replay.h"
#include "unit.h"

#define START UINT64_MAX /* a row that resets: rpl holds the new top, esn the mode */

struct row {
	uint64_t rpl_or_start; /* START rows: the state's new rpl */
	bool esn;
	uint32_t seq;
	enum replay_verdict want;
	uint32_t seqhi; /* when OK */
	uint64_t rpl_after;
};

#define RESET(rpl, esn)                  \
	{                                \
		START, esn, 0, 0, 0, rpl \
	}
#define OK(seq, hi, after)                      \
	{                                       \
		0, 0, seq, REPLAY_OK, hi, after \
	}
#define BAD(seq, v, after)             \
	{                              \
		0, 0, seq, v, 0, after \
	}

static const struct row rows[] = {
    /* 1: a new SA (rpl 1), 32-bit numbers */
    RESET(1, false),
    BAD(0, REPLAY_WRAP, 1), /* RFC 4303 3.3.3: never 0 */
    OK(1, 0, 1),            /* the first packet: the top stays 1 */
    BAD(1, REPLAY_DUP, 1),
    OK(2, 0, 2),
    OK(2100, 0, 2100),
    BAD(1, REPLAY_DUP, 2100), /* the window's bottom, seen */
    OK(3, 0, 2100),           /* inside, not seen: out of order is fine */
    BAD(3, REPLAY_DUP, 2100),
    OK(2101, 0, 2101),
    BAD(1, REPLAY_OLD, 2101), /* fell out of the 2,100-packet window */
    BAD(2, REPLAY_DUP, 2101), /* now the bottom, and seen */
    OK(10000, 0, 10000),      /* a jump past the window clears it */
    OK(7901, 0, 10000),       /* the bottom, unseen */
    BAD(7900, REPLAY_OLD, 10000),
    BAD(10000, REPLAY_DUP, 10000),
    OK(9999, 0, 10000),
    /* 18: the 2^32 boundary without ESN: the counter cannot go round */
    RESET(0xfffffff0, false),
    OK(0xfffffffe, 0, 0xfffffffe),
    OK(0xffffffff, 0, 0xffffffff),
    BAD(1, REPLAY_OLD, 0xffffffff),
    BAD(0, REPLAY_WRAP, 0xffffffff),
    BAD(0xffffffff, REPLAY_DUP, 0xffffffff),
    /* 24: the same with ESN (RFC 4303 Appendix A2.2) */
    RESET(0xfffffff0, true),
    OK(0xfffffffe, 0, 0xfffffffe),
    OK(3, 1, 0x100000003),          /* case C: into the next subspace */
    OK(0xffffffff, 0, 0x100000003), /* case B: late, from the old subspace */
    BAD(0xfffffffe, REPLAY_DUP, 0x100000003),
    OK(0, 1, 0x100000003), /* 2^32 itself: a low half of 0 is valid now */
    BAD(0, REPLAY_DUP, 0x100000003),
    OK(2, 1, 0x100000003),
    OK(4000, 1, 0x100000fa0), /* the window leaves the old subspace */
    /* Now a late 0xffffffff reads as 2^33 - 1, ahead (A2.2: Seql >= Tl-W+1
     * gives Seqh = Th); only its ICV can tell, and it will not verify. */
    OK(0xffffffff, 1, 0x1ffffffff),
    OK(5, 2, 0x200000005),
    /* 36: ESN early in a fresh SA: 0 is refused, as without ESN */
    RESET(1, true),
    BAD(0, REPLAY_WRAP, 1),
    OK(1, 0, 1),
    OK(5, 0, 5),
    /* 40: the 64-bit counter at its end: it may not go round */
    RESET(UINT64_C(0xfffffffffffff000), true),
    OK(0xfffff001, 0xffffffff, UINT64_C(0xfffffffffffff001)),
    BAD(5, REPLAY_WRAP, UINT64_C(0xfffffffffffff001)),
    /* 43: a state of all zeroes is a fresh SA's, with or without ESN (a
     * window of 0 once sent every number to the old subspace) */
    RESET(0, false),
    BAD(0, REPLAY_WRAP, 0),
    OK(1, 0, 1),
    OK(7, 0, 7),
    RESET(0, true),
    BAD(0, REPLAY_WRAP, 0),
    OK(3, 0, 3),
    BAD(3, REPLAY_DUP, 3),
    /* 51: the window's edges with ESN, the top in the first subspace: the
     * bottom is in the window; one below it lies in the next subspace
     * (A2.2, Seql < Tl-W+1 gives Seqh = Th + 1), where it is ahead */
    RESET(10000, true),
    OK(7901, 0, 10000),
    BAD(7901, REPLAY_DUP, 10000),
    OK(7900, 1, 0x100001edc),
    /* 55: the same edges when the window straddles two subspaces (top
     * 2^32 + 3, bottom 0xfffff7d0 of the first): one below the bottom is
     * in the top's own subspace, far ahead (A2.2 case A) */
    RESET(0x100000003, true),
    OK(2, 1, 0x100000003),
    OK(0xfffff7d0, 0, 0x100000003),
    BAD(0xfffff7d0, REPLAY_DUP, 0x100000003),
    OK(0xfffff7cf, 1, 0x1fffff7cf),
};

static void test_rows(void)
{
	struct replay_state r;
	bool esn = false;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		if (w->rpl_or_start == START) {
			memset(&r, 0, sizeof(r));
			r.rpl = w->rpl_after;
			esn = w->esn;
			continue;
		}
		struct replay_state before = r;
		uint32_t hi = 0xdeadbeef, hi2 = 0xdeadbeef;
		enum replay_verdict v = replay_check(&r, esn, w->seq, &hi, false);
		bool same = memcmp(&before, &r, sizeof(r)) == 0;
		enum replay_verdict v2 = replay_check(&r, esn, w->seq, &hi2, true);
		bool ok = v == w->want && v2 == w->want && same && r.rpl == w->rpl_after &&
			  (w->want != REPLAY_OK || (hi == w->seqhi && hi2 == w->seqhi));
		if (!ok)
			fprintf(stderr,
				"\nreplay row %zu: seq %#x: verdict %d/%d (want %d), hi %#x, rpl "
				"%#llx (want %#llx)%s\n",
				i + 1, w->seq, v, v2, w->want, hi, (unsigned long long)r.rpl,
				(unsigned long long)w->rpl_after,
				same ? "" : ", the check moved it");
		CU_ASSERT_TRUE(ok);
	}
}

/* Every number of a long in-order run is accepted once, and each replay of
 * any of the last 2,100 is refused. */
static void test_long_run(void)
{
	struct replay_state r = {.rpl = REPLAY_FIRST};
	uint32_t hi;
	unsigned bad = 0;
	for (uint32_t s = 1; s <= 20000; s++) {
		bad += replay_check(&r, false, s, &hi, true) != REPLAY_OK;
		if (s > 2100)
			bad += replay_check(&r, false, s - 2099, &hi, false) != REPLAY_DUP;
		if (s > 2101)
			bad += replay_check(&r, false, s - 2100, &hi, false) != REPLAY_OLD;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

void suite_replay(void)
{
	static const struct unit_test t[] = {
	    {"numbered rows", test_rows}, {"a long run", test_long_run}, {NULL, NULL}};
	unit_add_suite("replay", t);
}
