/*
 * Anti-replay (RFC 4303 3.4.3 and Appendix A, RFC 4302 3.4.3) as OpenBSD's
 * checkreplaywindow does it: a bitmap of 2,132 bits, 32 of them slack so
 * the window advances a word at a time (the RFC 6479 scheme), giving a
 * window of 2,100 packets whenever the SA's replay value is above 0.  With
 * ESN the high 32 bits are inferred from where the low ones fall (RFC 4303
 * Appendix A2.2).  A check runs twice per packet: before the ICV (commit
 * false) and after it (commit true), so a forged packet never moves the
 * window.
 */
#ifndef IPSEC_REPLAY_H
#define IPSEC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_SLACK  32
#define REPLAY_BITS   (2100 + REPLAY_SLACK)
#define REPLAY_WORDS  ((REPLAY_BITS + 31) / 32)
#define REPLAY_WINDOW (REPLAY_BITS - REPLAY_SLACK)
#define REPLAY_FIRST  1 /* tdb_rpl of a new SA (OpenBSD's AH_HMAC_INITIAL_RPL) */

struct replay_state {
	uint64_t rpl; /* highest authenticated sequence number (64 bits with ESN) */
	uint32_t seen[REPLAY_WORDS];
};

enum replay_verdict {
	REPLAY_OK = 0,
	REPLAY_WRAP = 1, /* zero sequence number, or the 64-bit counter would wrap: .wrap */
	REPLAY_OLD = 2,  /* left of the window, or a wrap without ESN: .replay */
	REPLAY_DUP = 3,  /* seen before, inside the window: .replay */
};

/* Check seq against the window; on success *seqhi is the inferred high
 * half, and with commit the window records the packet. */
enum replay_verdict replay_check(struct replay_state *r, bool esn, uint32_t seq, uint32_t *seqhi,
				 bool commit);
/* The same with a narrower window of `window` packets (1 to REPLAY_WINDOW),
 * for checking captures against a receiver's window. */
enum replay_verdict replay_check_window(struct replay_state *r, uint32_t window, bool esn,
					uint32_t seq, uint32_t *seqhi, bool commit);

#endif
