#include "sysctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sysctl_def {
	const char *name;
	int64_t def, min, max;
};

static const struct sysctl_def sysctl_defs[SYSCTL__COUNT] = {
#define SYSCTL_DEF(id, name, def, min, max) [SYSCTL_##id] = {name, def, min, max},
    SYSCTL_LIST(SYSCTL_DEF)
#undef SYSCTL_DEF
};

void sysctl_init(int64_t *values)
{
	for (int i = 0; i < SYSCTL__COUNT; i++)
		values[i] = sysctl_defs[i].def;
}

int sysctl_lookup(const char *name)
{
	for (int i = 0; i < SYSCTL__COUNT; i++)
		if (strcmp(sysctl_defs[i].name, name) == 0)
			return i;
	return -1;
}

const char *sysctl_name(enum sysctl_id id)
{
	return sysctl_defs[id].name;
}

int sysctl_parse(const char *name, const char *value, int *idp, int64_t *out, const char **err)
{
	int id = sysctl_lookup(name);
	if (id < 0) {
		*err = "unknown sysctl";
		return -1;
	}
	char *end;
	errno = 0;
	long long v = strtoll(value, &end, 10);
	if (errno || end == value || *end != '\0') {
		*err = "sysctl value is not an integer";
		return -1;
	}
	if (v < sysctl_defs[id].min || v > sysctl_defs[id].max) {
		*err = "sysctl value out of range";
		return -1;
	}
	*idp = id;
	*out = v;
	return 0;
}
