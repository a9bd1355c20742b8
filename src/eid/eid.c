#include "eid/eid.h"

#include "eid/minid/minid.h"

const struct eid_provider *const eid_providers[] = {
	&eid_minid,
	&eid_testid,
	NULL,
};
