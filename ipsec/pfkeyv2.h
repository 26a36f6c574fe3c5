/*
 * PF_KEY v2 (RFC 2367) with OpenBSD's message, extension, SA type and
 * algorithm numbers.  Our own header: nothing from the system's.
 *
 * Byte order: PF_KEY carries host-order integers, except the SPI and the
 * ports inside sockaddrs, which are in network order (RFC 2367 2.3).  The
 * simulation runs in one process, so "host" is simply this machine.
 * Lengths (sadb_msg_len, sadb_ext_len) count 64-bit words.
 */
#ifndef IPSEC_PFKEYV2_H
#define IPSEC_PFKEYV2_H

#include <stdint.h>

#define PF_KEY_V2        2
#define PFKEYV2_REVISION 199806L
#define PFKEY_MSG_MAXSZ  4096 /* OpenBSD's largest message */
#define PFKEY_ALIGN8(n)  (((n) + 7) & ~(size_t)7)

/* Message types */
#define SADB_RESERVED    0
#define SADB_GETSPI      1
#define SADB_UPDATE      2
#define SADB_ADD         3
#define SADB_DELETE      4
#define SADB_GET         5
#define SADB_ACQUIRE     6
#define SADB_REGISTER    7
#define SADB_EXPIRE      8
#define SADB_FLUSH       9
#define SADB_DUMP        10
#define SADB_X_PROMISC   11
#define SADB_X_ADDFLOW   12
#define SADB_X_DELFLOW   13
#define SADB_X_GRPSPIS   14
#define SADB_X_ASKPOLICY 15
#define SADB_X_SPDDUMP   16
#define SADB_MAX         16

/* Extension types */
#define SADB_EXT_RESERVED             0
#define SADB_EXT_SA                   1
#define SADB_EXT_LIFETIME_CURRENT     2
#define SADB_EXT_LIFETIME_HARD        3
#define SADB_EXT_LIFETIME_SOFT        4
#define SADB_EXT_ADDRESS_SRC          5
#define SADB_EXT_ADDRESS_DST          6
#define SADB_EXT_ADDRESS_PROXY        7
#define SADB_EXT_KEY_AUTH             8
#define SADB_EXT_KEY_ENCRYPT          9
#define SADB_EXT_IDENTITY_SRC         10
#define SADB_EXT_IDENTITY_DST         11
#define SADB_EXT_SENSITIVITY          12
#define SADB_EXT_PROPOSAL             13
#define SADB_EXT_SUPPORTED_AUTH       14
#define SADB_EXT_SUPPORTED_ENCRYPT    15
#define SADB_EXT_SPIRANGE             16
#define SADB_X_EXT_SRC_MASK           17
#define SADB_X_EXT_DST_MASK           18
#define SADB_X_EXT_PROTOCOL           19
#define SADB_X_EXT_FLOW_TYPE          20
#define SADB_X_EXT_SRC_FLOW           21
#define SADB_X_EXT_DST_FLOW           22
#define SADB_X_EXT_SA2                23
#define SADB_X_EXT_DST2               24
#define SADB_X_EXT_POLICY             25
#define SADB_X_EXT_LOCAL_CREDENTIALS  26
#define SADB_X_EXT_REMOTE_CREDENTIALS 27
#define SADB_X_EXT_LOCAL_AUTH         28
#define SADB_X_EXT_REMOTE_AUTH        29
#define SADB_X_EXT_SUPPORTED_COMP     30
#define SADB_X_EXT_UDPENCAP           31
#define SADB_X_EXT_LIFETIME_LASTUSE   32
#define SADB_X_EXT_TAG                33
#define SADB_X_EXT_TAP                34
#define SADB_X_EXT_SATYPE2            35
#define SADB_X_EXT_COUNTER            36
#define SADB_X_EXT_RDOMAIN            37
#define SADB_X_EXT_MTU                38
#define SADB_X_EXT_REPLAY             39
#define SADB_X_EXT_IFACE              40
#define SADB_EXT_MAX                  40

/* SA types */
#define SADB_SATYPE_UNSPEC         0
#define SADB_SATYPE_AH             1
#define SADB_SATYPE_ESP            2
#define SADB_SATYPE_RSVP           3
#define SADB_SATYPE_OSPFV2         4
#define SADB_SATYPE_RIPV2          5
#define SADB_SATYPE_MIP            6
#define SADB_X_SATYPE_IPIP         7
#define SADB_X_SATYPE_TCPSIGNATURE 8
#define SADB_X_SATYPE_IPCOMP       9
#define SADB_SATYPE_MAX            9

/* SA states */
#define SADB_SASTATE_LARVAL 0
#define SADB_SASTATE_MATURE 1
#define SADB_SASTATE_DYING  2
#define SADB_SASTATE_DEAD   3
#define SADB_SASTATE_MAX    3

/* Authentication algorithms */
#define SADB_AALG_NONE               0
#define SADB_AALG_MD5HMAC            2
#define SADB_AALG_SHA1HMAC           3
#define SADB_X_AALG_SHA2_256         5
#define SADB_X_AALG_SHA2_384         6
#define SADB_X_AALG_SHA2_512         7
#define SADB_X_AALG_RIPEMD160HMAC    8
#define SADB_X_AALG_AES128GMAC       9
#define SADB_X_AALG_AES192GMAC       10
#define SADB_X_AALG_AES256GMAC       11
#define SADB_X_AALG_CHACHA20POLY1305 12
#define SADB_AALG_MAX                12

/* Encryption algorithms */
#define SADB_EALG_NONE               0
#define SADB_EALG_3DESCBC            3
#define SADB_X_EALG_CAST             6
#define SADB_X_EALG_BLF              7
#define SADB_EALG_NULL               11
#define SADB_X_EALG_AES              12
#define SADB_X_EALG_AESCTR           13
#define SADB_X_EALG_AESGCM8          18
#define SADB_X_EALG_AESGCM12         19
#define SADB_X_EALG_AESGCM16         20
#define SADB_X_EALG_AESGMAC          21
#define SADB_X_EALG_CHACHA20POLY1305 22
#define SADB_EALG_MAX                22

/* Compression algorithms (carried in sadb_sa_encrypt for IPCOMP) */
#define SADB_X_CALG_NONE    0
#define SADB_X_CALG_OUI     1
#define SADB_X_CALG_DEFLATE 2
#define SADB_X_CALG_MAX     2

/* SA flags */
#define SADB_SAFLAGS_PFS        0x001
#define SADB_X_SAFLAGS_TUNNEL   0x004
#define SADB_X_SAFLAGS_CHAINDEL 0x008
#define SADB_X_SAFLAGS_UDPENCAP 0x200
#define SADB_X_SAFLAGS_ESN      0x400

#define SADB_X_POLICYFLAGS_POLICY 0x0001 /* a static policy */

/* Identity types */
#define SADB_IDENTTYPE_RESERVED 0
#define SADB_IDENTTYPE_PREFIX   1
#define SADB_IDENTTYPE_FQDN     2
#define SADB_IDENTTYPE_USERFQDN 3
#define SADB_IDENTTYPE_ASN1_DN  4
#define SADB_IDENTTYPE_MAX      4

/* Flow types (SADB_X_EXT_FLOW_TYPE's sadb_protocol_proto) */
#define SADB_X_FLOW_TYPE_USE     1
#define SADB_X_FLOW_TYPE_ACQUIRE 2
#define SADB_X_FLOW_TYPE_REQUIRE 3
#define SADB_X_FLOW_TYPE_BYPASS  4
#define SADB_X_FLOW_TYPE_DENY    5
#define SADB_X_FLOW_TYPE_DONTACQ 6

/* Flow directions (sadb_protocol_direction) */
#define IPSP_DIRECTION_IN  0x1
#define IPSP_DIRECTION_OUT 0x2

/* Address families inside PF_KEY sockaddrs: OpenBSD's numbering. */
#define PFKEY_AF_INET  2
#define PFKEY_AF_INET6 24
#define PFKEY_SIN_LEN  16 /* struct sockaddr_in */
#define PFKEY_SIN6_LEN 28 /* struct sockaddr_in6 */

#define PF_TAG_NAME_SIZE 64

/*
 * Wire structures.  Every one is a whole number of 64-bit words; the
 * sizes below are what the parser checks.  They are read and written with
 * memcpy, never by casting a buffer pointer.
 */
struct sadb_msg {
	uint8_t sadb_msg_version;
	uint8_t sadb_msg_type;
	uint8_t sadb_msg_errno;
	uint8_t sadb_msg_satype;
	uint16_t sadb_msg_len;
	uint16_t sadb_msg_reserved;
	uint32_t sadb_msg_seq;
	uint32_t sadb_msg_pid;
}; /* 16 */

struct sadb_ext {
	uint16_t sadb_ext_len;
	uint16_t sadb_ext_type;
}; /* 4 */

struct sadb_sa {
	uint16_t sadb_sa_len;
	uint16_t sadb_sa_exttype;
	uint32_t sadb_sa_spi; /* network order */
	uint8_t sadb_sa_replay;
	uint8_t sadb_sa_state;
	uint8_t sadb_sa_auth;
	uint8_t sadb_sa_encrypt;
	uint32_t sadb_sa_flags;
}; /* 16 */

struct sadb_lifetime {
	uint16_t sadb_lifetime_len;
	uint16_t sadb_lifetime_exttype;
	uint32_t sadb_lifetime_allocations;
	uint64_t sadb_lifetime_bytes;
	uint64_t sadb_lifetime_addtime;
	uint64_t sadb_lifetime_usetime;
}; /* 32 */

struct sadb_address {
	uint16_t sadb_address_len;
	uint16_t sadb_address_exttype;
	uint32_t sadb_address_reserved;
}; /* 8, then a sockaddr padded to 8 */

struct sadb_key {
	uint16_t sadb_key_len;
	uint16_t sadb_key_exttype;
	uint16_t sadb_key_bits;
	uint16_t sadb_key_reserved;
}; /* 8, then the key padded to 8 */

struct sadb_ident {
	uint16_t sadb_ident_len;
	uint16_t sadb_ident_exttype;
	uint16_t sadb_ident_type;
	uint16_t sadb_ident_reserved;
	uint64_t sadb_ident_id;
}; /* 16, then a NUL-terminated string padded to 8 */

struct sadb_sens {
	uint16_t sadb_sens_len;
	uint16_t sadb_sens_exttype;
	uint32_t sadb_sens_dpd;
	uint8_t sadb_sens_sens_level;
	uint8_t sadb_sens_sens_len;
	uint8_t sadb_sens_integ_level;
	uint8_t sadb_sens_integ_len;
	uint32_t sadb_sens_reserved;
}; /* 16, then the bitmaps */

struct sadb_prop {
	uint16_t sadb_prop_len;
	uint16_t sadb_prop_exttype;
	uint8_t sadb_prop_num;
	uint8_t sadb_prop_replay;
	uint16_t sadb_prop_reserved;
}; /* 8, then sadb_comb entries */

struct sadb_comb {
	uint8_t sadb_comb_auth;
	uint8_t sadb_comb_encrypt;
	uint16_t sadb_comb_flags;
	uint16_t sadb_comb_auth_minbits;
	uint16_t sadb_comb_auth_maxbits;
	uint16_t sadb_comb_encrypt_minbits;
	uint16_t sadb_comb_encrypt_maxbits;
	uint32_t sadb_comb_reserved;
	uint32_t sadb_comb_soft_allocations;
	uint32_t sadb_comb_hard_allocations;
	uint64_t sadb_comb_soft_bytes;
	uint64_t sadb_comb_hard_bytes;
	uint64_t sadb_comb_soft_addtime;
	uint64_t sadb_comb_hard_addtime;
	uint64_t sadb_comb_soft_usetime;
	uint64_t sadb_comb_hard_usetime;
}; /* 72 */

struct sadb_supported {
	uint16_t sadb_supported_len;
	uint16_t sadb_supported_exttype;
	uint32_t sadb_supported_reserved;
}; /* 8, then sadb_alg entries */

struct sadb_alg {
	uint8_t sadb_alg_id;
	uint8_t sadb_alg_ivlen;
	uint16_t sadb_alg_minbits;
	uint16_t sadb_alg_maxbits;
	uint16_t sadb_alg_reserved;
}; /* 8 */

struct sadb_spirange {
	uint16_t sadb_spirange_len;
	uint16_t sadb_spirange_exttype;
	uint32_t sadb_spirange_min;
	uint32_t sadb_spirange_max;
	uint32_t sadb_spirange_reserved;
}; /* 16 */

struct sadb_protocol {
	uint16_t sadb_protocol_len;
	uint16_t sadb_protocol_exttype;
	uint8_t sadb_protocol_proto;
	uint8_t sadb_protocol_direction;
	uint8_t sadb_protocol_flags;
	uint8_t sadb_protocol_reserved2;
}; /* 8: X_PROTOCOL, X_FLOW_TYPE, X_SATYPE2 */

struct sadb_x_policy {
	uint16_t sadb_x_policy_len;
	uint16_t sadb_x_policy_exttype;
	uint32_t sadb_x_policy_seq;
}; /* 8 */

struct sadb_x_udpencap {
	uint16_t sadb_x_udpencap_len;
	uint16_t sadb_x_udpencap_exttype;
	uint16_t sadb_x_udpencap_port; /* network order */
	uint16_t sadb_x_udpencap_reserved;
}; /* 8 */

struct sadb_x_tag {
	uint16_t sadb_x_tag_len;
	uint16_t sadb_x_tag_exttype;
	uint32_t sadb_x_tag_taglen;
}; /* 8, then the name */

struct sadb_x_replay {
	uint16_t sadb_x_replay_len;
	uint16_t sadb_x_replay_exttype;
	uint32_t sadb_x_replay_reserved;
	uint64_t sadb_x_replay_count;
}; /* 16 */

struct sadb_x_rdomain {
	uint16_t sadb_x_rdomain_len;
	uint16_t sadb_x_rdomain_exttype;
	uint16_t sadb_x_rdomain_dom1;
	uint16_t sadb_x_rdomain_dom2;
}; /* 8 */

struct sadb_x_tap {
	uint16_t sadb_x_tap_len;
	uint16_t sadb_x_tap_exttype;
	uint32_t sadb_x_tap_unit;
}; /* 8 */

struct sadb_x_counter {
	uint16_t sadb_x_counter_len;
	uint16_t sadb_x_counter_exttype;
	uint32_t sadb_x_counter_pad;
	uint64_t sadb_x_counter_ipackets;
	uint64_t sadb_x_counter_opackets;
	uint64_t sadb_x_counter_ibytes;
	uint64_t sadb_x_counter_obytes;
	uint64_t sadb_x_counter_idrops;
	uint64_t sadb_x_counter_odrops;
	uint64_t sadb_x_counter_idecompbytes;
	uint64_t sadb_x_counter_ouncompbytes;
}; /* 72 */

struct sadb_x_mtu {
	uint16_t sadb_x_mtu_len;
	uint16_t sadb_x_mtu_exttype;
	uint32_t sadb_x_mtu_mtu;
}; /* 8 */

struct sadb_x_iface {
	uint16_t sadb_x_iface_len;
	uint16_t sadb_x_iface_exttype;
	uint32_t sadb_x_iface_unit;
	uint8_t sadb_x_iface_direction;
	uint8_t sadb_x_iface_reserved[7];
}; /* 16 */

#endif
