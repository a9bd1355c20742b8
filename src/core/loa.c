/* Levels of assurance: acr values to level bits and back. */
#include "core/loa.h"

#include <string.h>

unsigned
eid_level_of(const char *acr)
{
	if (acr == NULL)
		return 0;
	/* The founding description's working names are accepted as aliases (spec §6). */
	if (strcmp(acr, ACR_SUBSTANTIAL) == 0 || strcmp(acr, "no:idporten:substantial") == 0)
		return EID_LEVEL_SUBSTANTIAL;
	if (strcmp(acr, ACR_HIGH) == 0 || strcmp(acr, "no:idporten:high") == 0)
		return EID_LEVEL_HIGH;
	return 0;
}

const char *
eid_acr_of(unsigned level)
{
	return level & EID_LEVEL_HIGH ? ACR_HIGH : ACR_SUBSTANTIAL;
}

unsigned
eid_level_of_ap(const char *acr)
{
	if (acr == NULL)
		return 0;
	/* spec §1.1 (design): "low" is the lowest level offered, substantial today. */
	if (strcmp(acr, ACR_AP_SUBSTANTIAL) == 0 || strcmp(acr, ACR_AP_LOW) == 0)
		return EID_LEVEL_SUBSTANTIAL;
	if (strcmp(acr, ACR_AP_HIGH) == 0)
		return EID_LEVEL_HIGH;
	return 0;
}

const char *
eid_acr_of_ap(unsigned level)
{
	return level & EID_LEVEL_HIGH ? ACR_AP_HIGH : ACR_AP_SUBSTANTIAL;
}

unsigned
eidas_level_of(const char *acr)
{
	if (acr == NULL)
		return 0;
	if (strcmp(acr, ACR_EIDAS_SUBSTANTIAL) == 0)
		return EID_LEVEL_SUBSTANTIAL;
	if (strcmp(acr, ACR_EIDAS_HIGH) == 0)
		return EID_LEVEL_HIGH;
	return 0;
}

const char *
eidas_acr_of(unsigned level)
{
	return level & EID_LEVEL_HIGH ? ACR_EIDAS_HIGH : ACR_EIDAS_SUBSTANTIAL;
}
