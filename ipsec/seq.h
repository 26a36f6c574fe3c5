/*
 * Sequence numbers and per-SA accounting on the packet path, the same for
 * ESP and AH (ip_esp.c and ip_ah.c do these steps alike): the output
 * counter that must not go round, the byte lifetimes, and the replay
 * window's pre-check and commit.  Each function that returns false has
 * dropped the packet with the protocol's counter.
 */
#ifndef IPSEC_SEQ_H
#define IPSEC_SEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stack/stats.h"

struct node;
struct tdb;
struct pkt;

/* The counters of one protocol. */
struct seq_stats {
	enum stat_id wrap, replay, obytes, ibytes;
};
extern const struct seq_stats seq_esp, seq_ah;

/* ESN in use: it needs the replay machinery (OpenBSD: only with a window). */
bool sa_esn(const struct tdb *t);

/* Output: take the next sequence number for a packet of `bytes` bytes
 * (counting them toward the SA's lifetimes).  Sending the last number
 * announces a soft SADB_EXPIRE; a packet that finds none left is dropped
 * (wrap counter) and the SA ends with a hard one (RFC 4303 3.3.3).  False
 * when dropped: the SA may be gone. */
bool seq_output(struct node *n, struct tdb *t, struct pkt *p, size_t bytes,
		const struct seq_stats *s, uint64_t *seq);

/* Input: the replay check before the ICV (commit false) and after it
 * (commit true); *seqhi is the inferred high half.  False: dropped. */
bool seq_replay(struct node *n, struct tdb *t, struct pkt *p, uint32_t seq, uint32_t *seqhi,
		bool commit, const struct seq_stats *s);

/* Input: count `bytes` toward the SA.  False when the hard byte limit
 * ended the SA (dropped; the SA is gone). */
bool seq_input_bytes(struct node *n, struct tdb *t, struct pkt *p, size_t bytes,
		     const struct seq_stats *s);

#endif
