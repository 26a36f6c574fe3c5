/*
 * Names the ipsec.conf front end reads and prints: transforms (ipsecctl's
 * tables, prefix matched in table order), protocols and services.  The
 * protocol and service names are OpenBSD's /etc/protocols and /etc/services
 * entries for what IPsec rules name in practice; a fixed table keeps output
 * the same on every machine.  Anything else is given and printed as a
 * number.
 */
#include <string.h>

#include "../stack/util.h"
#include "conf.h"
#include "conf_names.h"

static const struct conf_xf auth_xfs[] = {
    {"none", AUTHXF_NONE, 0, 0, false, false, 0},
    {"hmac-md5", AUTHXF_HMAC_MD5, 16, 0, false, false, 0},
    {"hmac-ripemd160", AUTHXF_HMAC_RIPEMD160, 20, 0, false, false, 0},
    {"hmac-sha1", AUTHXF_HMAC_SHA1, 20, 0, false, false, 0},
    {"hmac-sha2-256", AUTHXF_HMAC_SHA2_256, 32, 0, false, false, 0},
    {"hmac-sha2-384", AUTHXF_HMAC_SHA2_384, 48, 0, false, false, 0},
    {"hmac-sha2-512", AUTHXF_HMAC_SHA2_512, 64, 0, false, false, 0},
};

static const struct conf_xf enc_xfs[] = {
    {"none", ENCXF_NONE, 0, 0, false, false, 0},
    {"3des-cbc", ENCXF_3DES_CBC, 24, 24, false, false, 0},
    {"aes", ENCXF_AES, 16, 32, false, false, 0},
    {"aes-128", ENCXF_AES_128, 16, 16, false, false, 0},
    {"aes-192", ENCXF_AES_192, 24, 24, false, false, 0},
    {"aes-256", ENCXF_AES_256, 32, 32, false, false, 0},
    {"aesctr", ENCXF_AESCTR, 16 + 4, 32 + 4, false, true, 4},
    {"aes-128-ctr", ENCXF_AES_128_CTR, 16 + 4, 16 + 4, false, true, 4},
    {"aes-192-ctr", ENCXF_AES_192_CTR, 24 + 4, 24 + 4, false, true, 4},
    {"aes-256-ctr", ENCXF_AES_256_CTR, 32 + 4, 32 + 4, false, true, 4},
    {"aes-128-gcm", ENCXF_AES_128_GCM, 16 + 4, 16 + 4, true, true, 4},
    {"aes-192-gcm", ENCXF_AES_192_GCM, 24 + 4, 24 + 4, true, true, 4},
    {"aes-256-gcm", ENCXF_AES_256_GCM, 32 + 4, 32 + 4, true, true, 4},
    {"aes-128-gmac", ENCXF_AES_128_GMAC, 16 + 4, 16 + 4, true, true, 4},
    {"aes-192-gmac", ENCXF_AES_192_GMAC, 24 + 4, 24 + 4, true, true, 4},
    {"aes-256-gmac", ENCXF_AES_256_GMAC, 32 + 4, 32 + 4, true, true, 4},
    {"blowfish", ENCXF_BLOWFISH, 5, 56, false, false, 0},
    {"cast128", ENCXF_CAST128, 5, 16, false, false, 0},
    {"chacha20-poly1305", ENCXF_CHACHA20_POLY1305, 32 + 4, 32 + 4, true, true, 4},
    {"null", ENCXF_NULL, 0, 0, false, false, 0},
};

static const struct conf_xf comp_xfs[] = {
    {"deflate", COMPXF_DEFLATE, 0, 0, false, false, 0},
};

static const char *const group_names[] = {
    "none",     "modp768",  "grp1",     "modp1024", "grp2",     "modp1536", "grp5",
    "modp2048", "grp14",    "modp3072", "grp15",    "modp4096", "grp16",    "modp6144",
    "grp17",    "modp8192", "grp18",    "ecp256",   "grp19",    "ecp384",   "grp20",
    "ecp521",   "grp21",    "ecp224",   "grp26",    "bp224",    "grp27",    "bp256",
    "grp28",    "bp384",    "grp29",    "bp512",    "grp30"};

/* parse_xf: the first entry the name is a prefix of ("3des", "cast"). */
static const struct conf_xf *prefix_match(const char *name, const struct conf_xf *t, size_t n)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (strncmp(name, t[i].name, len) == 0)
			return &t[i];
	return NULL;
}

const struct conf_xf *conf_xf_auth(const char *name)
{
	return prefix_match(name, auth_xfs, ARRAY_LEN(auth_xfs));
}

const struct conf_xf *conf_xf_enc(const char *name)
{
	return prefix_match(name, enc_xfs, ARRAY_LEN(enc_xfs));
}

const struct conf_xf *conf_xf_comp(const char *name)
{
	return prefix_match(name, comp_xfs, ARRAY_LEN(comp_xfs));
}

bool conf_xf_group_ok(const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < ARRAY_LEN(group_names); i++)
		if (strncmp(name, group_names[i], len) == 0)
			return true;
	return false;
}

static const struct {
	const char *name;
	uint8_t num;
	const char *aliases[2];
} protocols[] = {
    {"ip", 0, {"IP"}},
    {"icmp", 1, {"ICMP"}},
    {"igmp", 2, {"IGMP"}},
    {"ipencap", 4, {"IP-ENCAP"}},
    {"tcp", 6, {"TCP"}},
    {"egp", 8, {"EGP"}},
    {"udp", 17, {"UDP"}},
    {"ipv6", 41, {"IPv6"}},
    {"ipv6-route", 43, {"IPv6-Route"}},
    {"ipv6-frag", 44, {"IPv6-Frag"}},
    {"rsvp", 46, {"RSVP"}},
    {"gre", 47, {"GRE"}},
    {"esp", 50, {"ESP"}},
    {"ah", 51, {"AH"}},
    {"ipv6-icmp", 58, {"IPv6-ICMP", "icmp6"}},
    {"ipv6-nonxt", 59, {"IPv6-NoNxt"}},
    {"ipv6-opts", 60, {"IPv6-Opts"}},
    {"ospf", 89, {"OSPFIGP"}},
    {"etherip", 97, {"EtherIP"}},
    {"pim", 103, {"PIM"}},
    {"ipcomp", 108, {"IPComp"}},
    {"carp", 112, {"CARP"}},
    {"sctp", 132, {"SCTP"}},
    {"pfsync", 240, {"PFSYNC"}},
};

int conf_proto_number(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(protocols); i++) {
		if (strcmp(protocols[i].name, name) == 0)
			return protocols[i].num;
		for (int a = 0; a < 2; a++)
			if (protocols[i].aliases[a] && strcmp(protocols[i].aliases[a], name) == 0)
				return protocols[i].num;
	}
	return -1;
}

const char *conf_proto_name(uint8_t num)
{
	for (size_t i = 0; i < ARRAY_LEN(protocols); i++)
		if (protocols[i].num == num)
			return protocols[i].name;
	return NULL;
}

static const struct {
	const char *name;
	uint16_t port;
	bool tcp, udp;
} services[] = {
    {"echo", 7, true, true},
    {"discard", 9, true, true},
    {"ftp-data", 20, true, false},
    {"ftp", 21, true, false},
    {"ssh", 22, true, true},
    {"telnet", 23, true, false},
    {"smtp", 25, true, false},
    {"domain", 53, true, true},
    {"bootps", 67, false, true},
    {"bootpc", 68, false, true},
    {"tftp", 69, false, true},
    {"www", 80, true, true},
    {"http", 80, true, true},
    {"kerberos", 88, true, true},
    {"pop3", 110, true, false},
    {"sunrpc", 111, true, true},
    {"ntp", 123, true, true},
    {"imap", 143, true, false},
    {"snmp", 161, true, true},
    {"snmp-trap", 162, true, true},
    {"bgp", 179, true, false},
    {"ldap", 389, true, true},
    {"https", 443, true, true},
    {"isakmp", 500, true, true},
    {"syslog", 514, false, true},
    {"shell", 514, true, false},
    {"submission", 587, true, false},
    {"ldaps", 636, true, false},
    {"imaps", 993, true, false},
    {"pop3s", 995, true, false},
    {"openvpn", 1194, true, true},
    {"l2tp", 1701, false, true},
    {"ipsec-nat-t", 4500, false, true},
};

int conf_service_port(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(services); i++)
		if (strcmp(services[i].name, name) == 0)
			return services[i].port;
	return -1;
}

const char *conf_service_name(uint16_t port, uint8_t proto)
{
	for (size_t i = 0; i < ARRAY_LEN(services); i++)
		if (services[i].port == port && (proto == 6 ? services[i].tcp : services[i].udp))
			return services[i].name;
	return NULL;
}
