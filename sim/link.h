/*
 * Links: point-to-point wires and switch segments.  Each port has transmit
 * parameters (the direction from its interface into the link): rate with a
 * bounded queue, loss, corruption, duplication, reordering, delay, jitter and
 * MTU, each drawing from the port's own PRNG stream.  A switch learns source
 * MACs and floods unknown and group destinations; impairments apply once per
 * frame, at the sending port.
 */
#ifndef SIM_LINK_H
#define SIM_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "../stack/pkt.h"
#include "../stack/util.h"
#include "rng.h"

struct sim;
struct iface;
struct capture;

#define LINK_STATS_LIST(X)                                                  \
	X(SENT, "link.sent")           /* frames handed to the link */      \
	X(DELIVERED, "link.delivered") /* frames handed to an interface */  \
	X(LOST, "link.lost")           /* dropped by the loss draw */       \
	X(QUEUEDROP, "link.queuedrop") /* transmit queue full */            \
	X(TOOBIG, "link.toobig")       /* larger than the link MTU */       \
	X(CORRUPTED, "link.corrupted") /* had one bit flipped */            \
	X(DUPLICATED, "link.duplicated")                                    \
	X(REORDERED, "link.reordered")   /* held back by the reorder gap */ \
	X(ATTACKDROP, "link.attackdrop") /* taken by a drop attack */       \
	X(TAMPERED, "link.tampered")     /* changed by a tamper attack */   \
	X(REPLAYED, "link.replayed")     /* sent again by a replay */       \
	X(INJECTED, "link.injected")     /* sent from an inject file */     \
	X(RUNT, "link.runt")             /* an injected runt on a switch */ \
	X(FDBFULL, "link.fdbfull")       /* a source a full switch did not learn */

enum link_stat {
#define LINK_STAT_ENUM(id, name) LINK_STAT_##id,
	LINK_STATS_LIST(LINK_STAT_ENUM)
#undef LINK_STAT_ENUM
	    LINK_STAT__COUNT
};

struct link_params {
	uint64_t delay;  /* ns */
	uint64_t jitter; /* ns, uniform in [-jitter, +jitter] */
	uint64_t rate;   /* bits per second; 0 = unlimited */
	uint32_t queue;  /* frames waiting or on the wire, with a rate */
	uint32_t loss;   /* parts per billion, as every probability */
	uint32_t duplicate;
	uint32_t reorder;
	uint64_t reorder_gap; /* ns a reordered frame is held back */
	uint32_t corrupt;
	uint32_t mtu; /* bytes after the Ethernet header; 0 = none */
};

struct link_port {
	struct link *link;
	unsigned index;
	struct iface *ifp;
	struct link_params p;
	struct rng rng;
	uint64_t busy_until; /* when the transmitter is free */
	uint32_t queued;
};

/* A switch's address table: what it learned, found by MAC; at most
 * LINK_FDB_MAX entries (frames from more sources are flooded to, as to any
 * unknown address, and counted as link.fdbfull).  Entries never age: a
 * host moved to another port is learned there by its next frame. */
#define LINK_FDB_MAX 100000
struct link_fdb {
	uint8_t mac[6];
	unsigned port;
};

struct link {
	struct sim *sim;
	char *name;
	bool is_switch;
	struct link_port *ports;
	unsigned nports, ports_cap;
	struct link_fdb **fdb; /* in learning order, to free them */
	unsigned nfdb, fdb_cap;
	struct hmap fdb_by_mac;
	uint64_t stats[LINK_STAT__COUNT];
	struct capture **caps;
	unsigned ncaps;
	/* attacks (sim/attack.c) */
	struct link_attack *attacks;
	unsigned nattacks;
	bool keep_history; /* a replay will need the frames */
	struct link_frame *history;
	unsigned nhistory;
};

struct link_frame {
	struct pkt *p;
	unsigned port;
};

extern const struct link_params link_params_default;

struct link *link_new(struct sim *s, const char *name, bool is_switch);
/* Attach an interface; returns its port.  Streams are named after the link
 * and the interface, not the port number. */
struct link_port *link_attach(struct link *l, struct iface *ifp, const struct link_params *p);
void link_free(struct link *l);
/* Transmit a frame from port (takes the packet). */
void link_send(struct link_port *port, struct pkt *frame);
const char *link_stat_name(enum link_stat id);
int link_stat_lookup(const char *name);

#endif
