/*
 * Levels of assurance: the acr values ID-porten issues (eIDAS substantial
 * and high, spec/idporten-oidc.md §6) and the level bits that eID
 * providers, the login core and the token side compare.
 */
#ifndef PORTEN_CORE_LOA_H
#define PORTEN_CORE_LOA_H

#define ACR_SUBSTANTIAL "idporten-loa-substantial"
#define ACR_HIGH "idporten-loa-high"

/*
 * Ansattporten names the same levels without a prefix
 * (spec/ansattporten-eidas-testid.md §1.1); a request may also send "low",
 * taken as the lowest level offered.
 */
#define ACR_AP_SUBSTANTIAL "substantial"
#define ACR_AP_HIGH "high"
#define ACR_AP_LOW "low"

/*
 * A foreign eID through eIDAS (spec/ansattporten-eidas-testid.md §2): its
 * own framework, asked for and answered apart from the Norwegian levels.
 */
#define ACR_EIDAS_SUBSTANTIAL "eidas-loa-substantial"
#define ACR_EIDAS_HIGH "eidas-loa-high"

/* Levels as bits, so a provider can offer several; a higher level is a larger number. */
enum {
	EID_LEVEL_SUBSTANTIAL = 1 << 0,
	EID_LEVEL_HIGH = 1 << 1,
};

/* The level bit of an acr value (aliases included), or 0 when unknown or NULL. */
unsigned eid_level_of(const char *acr);
/* Canonical acr value for a level bit: ACR_HIGH when the high bit is set, else ACR_SUBSTANTIAL. */
const char *eid_acr_of(unsigned level);

/* The level bit of one of Ansattporten's acr values ("low" gives substantial), or 0. */
unsigned eid_level_of_ap(const char *acr);
/* Ansattporten's acr value for a level bit: ACR_AP_HIGH or ACR_AP_SUBSTANTIAL. */
const char *eid_acr_of_ap(unsigned level);

/* The level bit of an eidas-loa-* value, or 0 (for every other value too). */
unsigned eidas_level_of(const char *acr);
/* eidas-loa-* for a level bit: ACR_EIDAS_HIGH when the high bit is set. */
const char *eidas_acr_of(unsigned level);

#endif
