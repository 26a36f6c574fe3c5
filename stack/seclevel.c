/* Per-socket IPsec levels: the setsockopt checks of ip_ctloutput. */
#include "seclevel.h"

#include <errno.h>
#include <string.h>

#include "node.h"
#include "sysctl.h"

static const enum sysctl_id defaults[SL__COUNT] = {
    [SL_AUTH] = SYSCTL_IPSEC_AUTH_LEVEL,
    [SL_ESP_TRANS] = SYSCTL_IPSEC_ESP_TRANS_LEVEL,
    [SL_ESP_NETWORK] = SYSCTL_IPSEC_ESP_NETWORK_LEVEL,
    [SL_IPCOMP] = SYSCTL_IPSEC_IPCOMP_LEVEL,
};

void seclevel_init(const struct node *n, struct seclevel *sl)
{
	for (unsigned i = 0; i < SL__COUNT; i++)
		sl->l[i] = (uint8_t)n->sysctl[defaults[i]];
}

int seclevel_field(int level, int optname)
{
	if (level == SOL_IPPROTO_IP) {
		switch (optname) {
		case IP_AUTH_LEVEL: return SL_AUTH;
		case IP_ESP_TRANS_LEVEL: return SL_ESP_TRANS;
		case IP_ESP_NETWORK_LEVEL: return SL_ESP_NETWORK;
		case IP_IPCOMP_LEVEL: return SL_IPCOMP;
		}
	} else if (level == SOL_IPPROTO_IPV6) {
		switch (optname) {
		case IPV6_AUTH_LEVEL: return SL_AUTH;
		case IPV6_ESP_TRANS_LEVEL: return SL_ESP_TRANS;
		case IPV6_ESP_NETWORK_LEVEL: return SL_ESP_NETWORK;
		case IPV6_IPCOMP_LEVEL: return SL_IPCOMP;
		}
	}
	return -1;
}

int seclevel_set(const struct node *n, struct seclevel *sl, int level, int optname, const void *val,
		 size_t len, bool privileged)
{
	int f = seclevel_field(level, optname);
	if (f < 0)
		return -ENOPROTOOPT;
	int v;
	if (!val || len != sizeof(v))
		return -EINVAL;
	memcpy(&v, val, sizeof(v));
	if (v < IPSEC_LEVEL_BYPASS || v > IPSEC_LEVEL_UNIQUE)
		return -EINVAL;
	/* Only root may ask for less than the system's default. */
	if (v < n->sysctl[defaults[f]] && !privileged)
		return -EACCES;
	sl->l[f] = (uint8_t)v;
	return 0;
}

int seclevel_get(const struct seclevel *sl, int level, int optname)
{
	int f = seclevel_field(level, optname);
	return f < 0 ? -ENOPROTOOPT : sl->l[f];
}

bool seclevel_bypass(const struct seclevel *sl)
{
	return sl->l[SL_AUTH] == IPSEC_LEVEL_BYPASS && sl->l[SL_ESP_TRANS] == IPSEC_LEVEL_BYPASS &&
	       sl->l[SL_ESP_NETWORK] == IPSEC_LEVEL_BYPASS;
}

bool seclevel_plain(const struct seclevel *sl)
{
	for (unsigned i = 0; i < SL__COUNT; i++)
		if (sl->l[i] != IPSEC_LEVEL_AVAIL)
			return false;
	return true;
}

static const char *const names[] = {"bypass", "avail", "use", "require", "unique"};

int seclevel_parse(const char *word)
{
	if (strcmp(word, "none") == 0)
		return IPSEC_LEVEL_NONE;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(word, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *seclevel_name(unsigned level)
{
	return level < sizeof(names) / sizeof(names[0]) ? names[level] : "?";
}
