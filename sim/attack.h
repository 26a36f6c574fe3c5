/*
 * Attacks on a link: an adversary on the wire who drops or tampers with a
 * chosen frame, replays a frame the link carried earlier, or injects
 * frames from a pcap file.  Frames are chosen by a filter (esp, ah, udp,
 * icmp, ip) and their rank among the frames it matches, counted from the
 * start of the run at the sending end (optionally only one node's).
 *
 * Where the adversary sits: a tampered frame is changed before the link's
 * tap (the capture shows what travelled); a dropped frame is taken after it
 * (the capture shows what was sent, as with loss); a replayed or injected
 * frame is sent anew, so the capture shows it again.
 */
#ifndef SIM_ATTACK_H
#define SIM_ATTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct link;
struct link_port;
struct pkt;

enum attack_proto { AP_IP, AP_ESP, AP_AH, AP_UDP, AP_ICMP };

struct attack_filter {
	enum attack_proto proto;
	bool any_frame; /* no filter: every frame, ARP included */
	bool has_value; /* spi (esp, ah) or port (udp) */
	uint32_t value;
	int port; /* the sending link port; -1: any */
};

enum attack_kind { ATTACK_DROP, ATTACK_TAMPER };

struct link_attack {
	enum attack_kind kind;
	struct attack_filter f;
	uint64_t nth;  /* 1-based rank among matching frames */
	uint64_t seen; /* matching frames so far */
	size_t offset; /* tamper: byte of the IP packet (after Ethernet) */
	uint8_t xor ;  /* tamper: what to flip */
};

/* Does a frame (Ethernet) sent from port match? */
bool attack_match(const struct attack_filter *f, const uint8_t *frame, size_t len, int port);

/* Called by link_send for every frame.  Returns false when an attack took
 * the frame (then freed); tampering happens in place.  after_tap says which
 * half of the work to do (drops come after the tap, tampering before). */
bool attack_on_send(struct link *l, struct link_port *from, struct pkt *frame, bool after_tap);

/* Replay: the nth (or, nth == 0, the last) earlier frame matching f. */
int attack_replay(struct link *l, const struct attack_filter *f, uint64_t nth);

void attack_free_all(struct link *l);

#endif
