/*
 * Per-socket IPsec levels (ipsec(4) "API Details", netinet/in.h): how much
 * IPsec a socket asks for its own packets, set with setsockopt at level
 * IPPROTO_IP (IP_AUTH_LEVEL and the rest) or IPPROTO_IPV6.  The stack keeps
 * them on UDP sockets, TCP connections and listeners, and stamps them on
 * the packets a socket sends; ipsec/ipsec_io.c applies them (docs/pfkey.md).
 */
#ifndef STACK_SECLEVEL_H
#define STACK_SECLEVEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPSEC_LEVEL_BYPASS  0 /* bypass policy altogether (privileged) */
#define IPSEC_LEVEL_NONE    0 /* send clear, accept any */
#define IPSEC_LEVEL_AVAIL   1 /* send secure if an SA is available */
#define IPSEC_LEVEL_USE     2 /* send secure, accept any */
#define IPSEC_LEVEL_REQUIRE 3 /* require secure inbound, also use */
#define IPSEC_LEVEL_UNIQUE  4 /* use a unique outbound SA */

/* The options and their levels (netinet/in.h, netinet6/in6.h). */
#define SOL_IPPROTO_IP         0
#define SOL_IPPROTO_IPV6       41
#define IP_AUTH_LEVEL          20
#define IP_ESP_TRANS_LEVEL     21
#define IP_ESP_NETWORK_LEVEL   22
#define IP_IPCOMP_LEVEL        29
#define IPV6_AUTH_LEVEL        53
#define IPV6_ESP_TRANS_LEVEL   54
#define IPV6_ESP_NETWORK_LEVEL 55
#define IPV6_IPCOMP_LEVEL      60

enum { SL_AUTH, SL_ESP_TRANS, SL_ESP_NETWORK, SL_IPCOMP, SL__COUNT };

struct seclevel {
	uint8_t l[SL__COUNT]; /* by SL_* */
};

struct node;

/* A new socket's levels: the node's defaults, net.inet.ip.ipsec-*-level. */
void seclevel_init(const struct node *n, struct seclevel *sl);
/* setsockopt: 0, or -ENOPROTOOPT (not one of the eight options at its
 * level), -EINVAL (a length other than an int's, a level outside 0 to 4),
 * -EACCES (an unprivileged socket going below the node's default). */
int seclevel_set(const struct node *n, struct seclevel *sl, int level, int optname, const void *val,
		 size_t len, bool privileged);
/* getsockopt: the stored level, or -ENOPROTOOPT. */
int seclevel_get(const struct seclevel *sl, int level, int optname);
/* Which field an option sets (SL_*), or -1. */
int seclevel_field(int level, int optname);

/* auth, esp-trans and esp-network all BYPASS (ipcomp is never asked). */
bool seclevel_bypass(const struct seclevel *sl);
/* All four AVAIL: nothing beyond the SPD, so packets carry no levels. */
bool seclevel_plain(const struct seclevel *sl);

/* The names a scenario writes: "bypass", "avail", "use", "require",
 * "unique" (and "none" for 0); -1 for another word. */
int seclevel_parse(const char *word);
const char *seclevel_name(unsigned level);

#endif
