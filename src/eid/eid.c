#include "eid/eid.h"

#include <string.h>

#include "core/err.h"
#include "eid/minid/minid.h"

const struct eid_provider *eid_providers[EID_MAX_PROVIDERS + 1] = {
	&eid_minid,
	&eid_testid,
	NULL,
};

int
eid_provider_add(const struct eid_provider *p, struct err *e)
{
	size_t n = 0;

	for (; eid_providers[n] != NULL; n++)
		if (strcmp(eid_providers[n]->name, p->name) == 0 ||
		    strcmp(eid_providers[n]->path, p->path) == 0)
			return ERR(e, ERR_INVAL, 0, NULL, "an eID named %s is there already",
				   p->name);
	if (n >= EID_MAX_PROVIDERS)
		return ERR(e, ERR_LIMIT, 0, NULL, "no room for more than %d eIDs",
			   EID_MAX_PROVIDERS);
	eid_providers[n] = p;
	eid_providers[n + 1] = NULL;
	return 0;
}

void
eid_provider_remove(const struct eid_provider *p)
{
	size_t i = 0;

	while (eid_providers[i] != NULL && eid_providers[i] != p)
		i++;
	for (; eid_providers[i] != NULL; i++)
		eid_providers[i] = eid_providers[i + 1];
}
