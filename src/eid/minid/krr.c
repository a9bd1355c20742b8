/*
 * MinID and KRR share the person's mobile number (spec/minid.md: creating
 * a MinID creates or updates the person in KRR; changing the number in
 * KRR changes where MinID's codes go).  Neither includes the other: a
 * confirmed number goes out through the service contract's
 * contact_changed (app/service.h), and comes in through it.
 */
#include <stdlib.h>
#include <string.h>

#include "app/service.h"
#include "core/log.h"
#include "eid/eid.h"
#include "eid/minid/minid.h"

void
minid_mobile_share(struct porten *app, const char *pid, const char *mobile, const char *lang,
		   const char *rid)
{
	service_contact_changed(app, &(struct service_contact){
		.origin = eid_service.name, .pid = pid, .channel = SERVICE_CONTACT_MOBILE,
		.value = mobile, .lang = lang, .rid = rid });
}

/*
 * A number the person confirmed in another service (KRR's pages or its
 * prompt) becomes the MinID's, when the person has a MinID that is not
 * closed; the old number hears of it (§10), as on MinID's own account page.
 */
void
minid_contact_changed(struct porten *app, const struct service_contact *c)
{
	struct minid_account a = { 0 };
	struct err e = { 0 };
	char *old = NULL;
	int rc;

	if (c->channel != SERVICE_CONTACT_MOBILE || c->value == NULL)
		return;
	rc = minid_account_get(app, c->pid, &a, &e);
	if (rc != 0) {
		if (rc != ERR_NOTFOUND)
			log_warn(c->rid, "minid: the number from %s was not stored: %s", c->origin,
				 e.msg);
		minid_account_clear(&a);
		return;
	}
	if (a.status == MINID_ST_CLOSED || (a.mobile != NULL && strcmp(a.mobile, c->value) == 0)) {
		minid_account_clear(&a);
		return;
	}
	old = a.mobile != NULL ? strdup(a.mobile) : NULL;
	if (minid_account_set(&a.mobile, c->value) != 0 || minid_account_save(app, &a, &e) != 0) {
		log_warn(c->rid, "minid: the number from %s was not stored: %s", c->origin, e.msg);
	} else {
		log_info(c->rid, "minid: the mobile number changed in %s", c->origin);
		minid_notify(app, old, c->lang != NULL ? c->lang : "nb",
			     "The mobile number of your MinID has been changed. If this was not you, "
			     "contact MinID user support. ID-porten");
	}
	free(old);
	minid_account_clear(&a);
}
