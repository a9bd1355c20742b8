/*
 * Levels of assurance: the acr values ID-porten issues (eIDAS substantial
 * and high, spec/idporten-oidc.md §6) and the level bits that eID
 * providers, the login core and the token side compare.
 */
#ifndef PORTEN_CORE_LOA_H
#define PORTEN_CORE_LOA_H

#define ACR_SUBSTANTIAL "idporten-loa-substantial"
#define ACR_HIGH "idporten-loa-high"

/* Levels as bits, so a provider can offer several; a higher level is a larger number. */
enum {
	EID_LEVEL_SUBSTANTIAL = 1 << 0,
	EID_LEVEL_HIGH = 1 << 1,
};

/* The level bit of an acr value (aliases included), or 0 when unknown or NULL. */
unsigned eid_level_of(const char *acr);
/* Canonical acr value for a level bit: ACR_HIGH when the high bit is set, else ACR_SUBSTANTIAL. */
const char *eid_acr_of(unsigned level);

#endif
