/*
 * MinID and KRR (spec/minid.md, "Creating a MinID also creates/updates the
 * person in KRR with the contact details given during registration"): the
 * mobile number a new MinID has just verified becomes the person's number
 * in the register, updated and verified now.  Written through the store's
 * krr facet, the register's typed row; the eIDs sit below the register's
 * service and do not call it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"
#include "store/store.h"

int
minid_krr_mobile(struct porten *app, const char *pid, const char *mobile, struct err *e)
{
	struct krr_person p;
	json_t *hist = NULL;
	int64_t now = time_now() * 1000, change = 0, prev = 0;
	int rc;

	rc = store_call(app->store, krr, person_get, pid, &p, e);
	if (rc == ERR_NOTFOUND) {
		memset(&p, 0, sizeof(p));
		memcpy(p.pid, pid, sizeof(p.pid));
		p.status = KRR_AKTIV;
		rc = 0;
	}
	if (rc != 0)
		return rc;
	/* a person deleted from the register comes back with the new MinID */
	p.status = KRR_AKTIV;
	free(p.mobile.value);
	p.mobile.value = strdup(mobile);
	p.mobile.updated = p.mobile.verified = now;
	hist = json_pack("{s:s,s:s}", "who", "minid", "what", "mobiltelefonnummer");
	if (p.mobile.value == NULL || hist == NULL)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	else
		rc = store_call(app->store, krr, person_put, &p, hist, now, &change, &prev, e);
	json_decref(hist);
	krr_person_clear(&p);
	return rc;
}
