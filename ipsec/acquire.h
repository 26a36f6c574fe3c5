/* SADB_ACQUIRE: asking key managers for a missing SA (acquire.c). */
#ifndef IPSEC_ACQUIRE_H
#define IPSEC_ACQUIRE_H

#include <stdint.h>

#include "../stack/addr.h"

struct node;
struct spd_flow;
struct ipsec_state;
struct pfkey_buf;

enum acquire_result {
	ACQUIRE_SENT,    /* a registered key manager was asked */
	ACQUIRE_PENDING, /* asked already, within ipsec-expire-acquire */
	ACQUIRE_NOBODY,  /* nobody is registered for the SA type (ESRCH) */
};

/* Ask for an SA for flow f towards gateway gw, unless already asked. */
enum acquire_result acquire_sa(struct node *n, const struct spd_flow *f, const struct ipaddr *gw);
/* X_ASKPOLICY: append the flow of the pending acquire with this sequence
 * number; -1 when there is none. */
int acquire_askpolicy(struct ipsec_state *st, uint32_t seq, uint64_t now, struct pfkey_buf *pb);
void acquire_free_all(struct ipsec_state *st);

struct mem_use;
/* For show NODE memory: the acquires pending. */
void acquire_memory(const struct ipsec_state *st, struct mem_use *u);

#endif
