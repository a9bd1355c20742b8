/*
 * KRR, the contact and reservation register (spec/krr.md): person records
 * with their history, the lookup API and change feed for organisations
 * (Maskinporten tokens), the person's own record (ID-porten tokens), and
 * portenctl's import and export.
 */
#ifndef PORTEN_KRR_KRR_H
#define PORTEN_KRR_KRR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/service.h"
#include "core/err.h"
#include "store/facet_krr.h"

extern const struct porten_service krr_service;

/* The register's scopes (spec §3.3, §4). */
#define KRR_SCOPE_CONTACT "krr:global/kontaktinformasjon.read"
#define KRR_SCOPE_POST "krr:global/digitalpost.read"
#define KRR_SCOPE_FEED "krr:global/hentendring.read"
#define KRR_SCOPE_USER_CONTACT "krr:user/kontaktinformasjon.read"
#define KRR_SCOPE_USER_POST "krr:user/digitalpost.read"
#define KRR_SCOPE_USER_LANG "krr:user/spraak.write"

/* The record (struct krr_person, krr_person_clear) is the store facet's typed row. */

/* The record as a document (the history keeps it), new reference; NULL when out of memory. */
json_t *krr_person_encode(const struct krr_person *p);

/*
 * The one person's record in the store, or ERR_NOTFOUND.  And its write:
 * the record with one history entry {who, what[, channel]}, under the next
 * change number.
 */
struct porten;
int krr_person_load(struct porten *app, const char *pid, struct krr_person *p, struct err *e);
int krr_person_save(struct porten *app, const struct krr_person *p, const char *who,
		    const char *what, struct err *e);

/*
 * Is a channel fresh under the 18-month rule (spec §2: updated or
 * confirmed after now minus 18 calendar months)?  And the person's
 * notification status: KAN_VARSLES when active, not reserved, with at
 * least one channel and every channel fresh.
 */
bool krr_channel_fresh(const struct krr_channel *c, int64_t now_ms);
bool krr_can_notify(const struct krr_person *p, int64_t now_ms);

/* Now in ms (time_now()'s clock, so tests that shift it shift this). */
int64_t krr_now_ms(void);

#endif
