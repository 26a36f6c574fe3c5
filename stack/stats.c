#include "stats.h"

#include <string.h>

static const char *const stat_names[STAT__COUNT] = {
#define STATS_NAME(id, name) [STAT_##id] = name,
    STATS_LIST(STATS_NAME, STATS_NAME)
#undef STATS_NAME
};

static const bool stat_drop[STAT__COUNT] = {
#define STATS_NODROP(id, name) [STAT_##id] = false,
#define STATS_DROP(id, name)   [STAT_##id] = true,
    STATS_LIST(STATS_NODROP, STATS_DROP)
#undef STATS_NODROP
#undef STATS_DROP
};

const char *stat_name(enum stat_id id)
{
	return (unsigned)id < STAT__COUNT ? stat_names[id] : "?";
}

bool stat_is_drop(enum stat_id id)
{
	return (unsigned)id < STAT__COUNT && stat_drop[id];
}

int stat_lookup(const char *name)
{
	for (int i = 0; i < STAT__COUNT; i++)
		if (strcmp(stat_names[i], name) == 0)
			return i;
	return -1;
}
