/* SA lifetimes: byte and time limits, SADB_EXPIRE, larval expiry. */
#ifndef IPSEC_LIFETIME_H
#define IPSEC_LIFETIME_H

#include <stdbool.h>
#include <stdint.h>

struct node;
struct tdb;

/* Count bytes on an SA.  False when its hard byte limit is reached: the
 * SA has been announced and deleted, and the caller must drop the packet
 * without touching the SA again.  A soft limit is announced once. */
bool sa_count_bytes(struct node *n, struct tdb *t, uint64_t bytes);
/* The SA became usable (ADD, UPDATE of a larval SA): arm its add-time
 * limits. */
void sa_arm_addtime(struct node *n, const struct tdb *t);
/* A larval SA: delete it silently after_s seconds on unless updated. */
void sa_arm_larval(struct node *n, const struct tdb *t, uint64_t after_s);
/* The SA's first packet: note the time and arm its use-time limits. */
void sa_first_use(struct node *n, struct tdb *t);
/* Send SADB_EXPIRE (soft or hard) to every socket; hard deletes the SA. */
void sa_expire(struct node *n, struct tdb *t, bool hard);

#endif
