/*
 * Per-node sysctl variables, each with OpenBSD's name and default where
 * OpenBSD has the variable.  Values are integers; OpenBSD's two string
 * variables, ipsec-enc-alg and ipsec-auth-alg, are set by name and hold
 * the PF_KEY id of the algorithm named.  The ones marked "ours" are
 * testbed knobs for behaviour OpenBSD fixes at compile time.
 */
#ifndef STACK_SYSCTL_H
#define STACK_SYSCTL_H

#include <stddef.h>
#include <stdint.h>

/* X(id, name, default, min, max) */
#define SYSCTL_LIST(X)                                                                        \
	X(IP_FORWARDING, "net.inet.ip.forwarding", 0, 0, 1)                                   \
	X(IP_DEFTTL, "net.inet.ip.ttl", 64, 1, 255)                                           \
	X(IP_MAXQUEUE, "net.inet.ip.maxqueue", 300, 0, 100000)                                \
	X(IP_FRAGTTL, "net.inet.ip.fragttl", 30, 1, 3600) /* ours: IPFRAGTTL, seconds */      \
	X(IP_ARPTIMEOUT, "net.inet.ip.arptimeout", 1200, 1, 86400)                            \
	X(ICMP_ERRPPSLIMIT, "net.inet.icmp.errppslimit", 100, -1, 1000000)                    \
	X(ICMP_BMCASTECHO, "net.inet.icmp.bmcastecho", 0, 0, 1)                               \
	X(UDP_CHECKSUM, "net.inet.udp.checksum", 1, 0, 1)                                     \
	X(UDP_RECVSPACE, "net.inet.udp.recvspace", 41600, 0, 16777216)                        \
	X(TCP_MSSDFLT, "net.inet.tcp.mssdflt", 512, 512, 65535)                               \
	X(TCP_RFC1323, "net.inet.tcp.rfc1323", 1, 0, 1)                                       \
	X(TCP_SACK, "net.inet.tcp.sack", 1, 0, 1)                                             \
	X(TCP_RFC3390, "net.inet.tcp.rfc3390", 2, 0, 2)                                       \
	X(TCP_KEEPINITTIME, "net.inet.tcp.keepinittime", 75, 1, 225)                          \
	X(TCP_KEEPIDLE, "net.inet.tcp.keepidle", 7200, 1, 36000)                              \
	X(TCP_KEEPINTVL, "net.inet.tcp.keepintvl", 75, 1, 225)                                \
	X(TCP_ALWAYS_KEEPALIVE, "net.inet.tcp.always_keepalive", 0, 0, 1)                     \
	X(TCP_SENDSPACE, "net.inet.tcp.sendspace", 16384, 512, 16777216) /* ours: a sysctl */ \
	X(TCP_RECVSPACE, "net.inet.tcp.recvspace", 16384, 512, 16777216) /* ours: a sysctl */ \
	X(TCP_MSL, "net.inet.tcp.msl", 30, 1, 3600) /* ours: TCPTV_MSL, seconds */            \
	X(TCP_RSTPPSLIMIT, "net.inet.tcp.rstppslimit", 100, 1, 1000000)                       \
	X(ESP_ENABLE, "net.inet.esp.enable", 1, 0, 1)                                         \
	X(ESP_UDPENCAP, "net.inet.esp.udpencap", 1, 0, 1)                                     \
	X(ESP_UDPENCAP_PORT, "net.inet.esp.udpencap_port", 4500, 0, 65535)                    \
	X(ESP_UDPENCAP_KEEPALIVE, "net.inet.esp.udpencap_keepalive", 0, 0, 3600) /* ours */   \
	X(AH_ENABLE, "net.inet.ah.enable", 1, 0, 1)                                           \
	X(IPCOMP_ENABLE, "net.inet.ipcomp.enable", 0, 0, 1)                                   \
	X(IPIP_ALLOW, "net.inet.ipip.allow", 0, 0, 2)                                         \
	X(IP6_FORWARDING, "net.inet6.ip6.forwarding", 0, 0, 1)                                \
	X(IP6_HLIM, "net.inet6.ip6.hlim", 64, 1, 255)                                         \
	X(IP6_MAXFRAGS, "net.inet6.ip6.maxfrags", 200, 0, 100000)                             \
	X(ICMP6_ERRPPSLIMIT, "net.inet6.icmp6.errppslimit", 100, -1, 1000000)                 \
	X(IPSEC_INVALID_LIFE, "net.inet.ip.ipsec-invalid-life", 60, 1, 86400)                 \
	X(IPSEC_EXPIRE_ACQUIRE, "net.inet.ip.ipsec-expire-acquire", 30, 0, INT32_MAX)         \
	X(IPSEC_PFS, "net.inet.ip.ipsec-pfs", 1, 0, 1)                                        \
	X(IPSEC_AUTH_LEVEL, "net.inet.ip.ipsec-auth-level", 1, 0, 4)               /* ours */ \
	X(IPSEC_ESP_TRANS_LEVEL, "net.inet.ip.ipsec-esp-trans-level", 1, 0, 4)     /* ours */ \
	X(IPSEC_ESP_NETWORK_LEVEL, "net.inet.ip.ipsec-esp-network-level", 1, 0, 4) /* ours */ \
	X(IPSEC_IPCOMP_LEVEL, "net.inet.ip.ipsec-ipcomp-level", 1, 0, 4)           /* ours */ \
	X(IPSEC_SOFT_ALLOCS, "net.inet.ip.ipsec-soft-allocs", 0, 0, INT32_MAX)                \
	X(IPSEC_ALLOCS, "net.inet.ip.ipsec-allocs", 0, 0, INT32_MAX)                          \
	X(IPSEC_SOFT_BYTES, "net.inet.ip.ipsec-soft-bytes", 0, 0, INT32_MAX)                  \
	X(IPSEC_BYTES, "net.inet.ip.ipsec-bytes", 0, 0, INT32_MAX)                            \
	X(IPSEC_TIMEOUT, "net.inet.ip.ipsec-timeout", 86400, 0, INT32_MAX)                    \
	X(IPSEC_SOFT_TIMEOUT, "net.inet.ip.ipsec-soft-timeout", 80000, 0, INT32_MAX)          \
	X(IPSEC_SOFT_FIRSTUSE, "net.inet.ip.ipsec-soft-firstuse", 3600, 0, INT32_MAX)         \
	X(IPSEC_FIRSTUSE, "net.inet.ip.ipsec-firstuse", 7200, 0, INT32_MAX)                   \
	X(IPSEC_ENC_ALG, "net.inet.ip.ipsec-enc-alg", SADB_X_EALG_AES, 0, 255) /* by name */  \
	X(IPSEC_AUTH_ALG, "net.inet.ip.ipsec-auth-alg", SADB_AALG_SHA1HMAC, 0, 255)

enum sysctl_id {
#define SYSCTL_ENUM(id, name, def, min, max) SYSCTL_##id,
	SYSCTL_LIST(SYSCTL_ENUM)
#undef SYSCTL_ENUM
	    SYSCTL__COUNT
};

struct node;

/* Fill a node's table with the defaults. */
void sysctl_init(int64_t *values);
/* Find a variable by name; -1 when unknown. */
int sysctl_lookup(const char *name);
const char *sysctl_name(enum sysctl_id id);
/* The name a value stands for (ipsec-enc-alg, ipsec-auth-alg), or NULL
 * for a plain number. */
const char *sysctl_value_name(enum sysctl_id id, int64_t v);
/* Resolve a name and a decimal value (or an algorithm's name, matched as
 * OpenBSD does: a case-insensitive prefix of one on the list, the first
 * that fits); 0, or -1 with the message in err (errcap bytes), the
 * range included for a number. */
int sysctl_parse(const char *name, const char *value, int *id, int64_t *v, char *err,
		 size_t errcap);

#endif
