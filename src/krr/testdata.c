/*
 * The synthetic test persons of spec/krr.md §7: the register's six test
 * profiles and reserved ones, dated from now, so that "expired by the
 * 18-month rule" stays expired and the others stay fresh.  Written by
 * `portenctl krr testdata` and, in the test environment, reset by the
 * service every krr_testdata_reset seconds (the daily reset of §7).
 */
#include <stdlib.h>
#include <string.h>

#include "krr/krr_int.h"


struct krr_testperson {
	const char *pid, *profile;
	const char *email, *mobile;
	int age_days;             /* how long ago the contact details were set */
	bool mailbox, deleted, reserved;
};

/*
 * The six profiles of the register's test users, and reserved ones.
 * Synthetic numbers (month + 80), so they never name a real person.
 */
static const struct krr_testperson krr_testpersons[] = {
	{ "12838540056", "mobile, e-mail and mailbox", "ola.nordmann@example.no", "+4799000001",
	  10, true, false, false },
	{ "04879140078", "mobile and e-mail", "kari.nordmann@example.no", "+4799000002", 30,
	  false, false, false },
	{ "23917840059", "mobile only", NULL, "+4799000003", 60, false, false, false },
	{ "30816640004", "e-mail only", "per.hansen@example.no", NULL, 90, false, false, false },
	{ "15858240090", "deleted from the register", NULL, NULL, 0, false, true, false },
	{ "09899940080", "expired by the 18-month rule", "gammel@example.no", "+4799000006",
	  800, false, false, false },
	{ "17828840185", "reserved", "reservert@example.no", "+4799000007", 20, false, false,
	  true },
	{ "28867440072", "reserved, with mailbox", NULL, "+4799000008", 20, true, false, true },
	{ "21879498012", "the TestID demo person: mobile and e-mail", "demo@example.no",
	  "+4799000009", 100, false, false, false },
};

int
krr_testdata_write(struct porten *app, int *written, struct err *e)
{
	int64_t now = krr_now_ms();
	int rc = 0;

	*written = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(krr_testpersons) / sizeof(krr_testpersons[0]);
	     i++) {
		const struct krr_testperson *t = &krr_testpersons[i];
		int64_t set = now - (int64_t)t->age_days * 86400000;
		struct krr_person p = { 0 };

		memcpy(p.pid, t->pid, sizeof(p.pid));
		p.status = t->deleted ? KRR_SLETTET : KRR_AKTIV;
		p.reserved = t->reserved;
		p.reserved_at = p.reservation_updated = t->reserved ? set : 0;
		if (!t->deleted) {
			p.email.value = t->email != NULL ? strdup(t->email) : NULL;
			p.email.updated = p.email.verified = t->email != NULL ? set : 0;
			p.mobile.value = t->mobile != NULL ? strdup(t->mobile) : NULL;
			p.mobile.updated = p.mobile.verified = t->mobile != NULL ? set : 0;
			memcpy(p.lang, "nb", 3);
			p.lang_updated = set;
		}
		if (t->mailbox) {
			/* Digipost's organisation number (spec §1.1) */
			p.mailbox = strdup("testperson#9YDT");
			p.mailbox_provider = strdup("984661185");
		}
		if ((t->email != NULL && !t->deleted && p.email.value == NULL) ||
		    (t->mobile != NULL && !t->deleted && p.mobile.value == NULL) ||
		    (t->mailbox && (p.mailbox == NULL || p.mailbox_provider == NULL)))
			rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		if (rc == 0)
			rc = krr_person_save(app, &p, "testdata", t->profile, e);
		krr_person_clear(&p);
		*written += rc == 0;
	}
	return rc;
}
