/*
 * The audit trail of the registry (issue: every change through the
 * self-service API or portenctl, append-only): one "audit" event per
 * change, naming who made it, what it concerns and the record before and
 * after.  Secret hashes never enter it.  It goes to the event log, which
 * nothing updates or deletes.
 */
#include <jansson.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

/* A record as the trail keeps it: a copy without secret hashes, or null. */
static json_t *
audit_copy(const json_t *doc)
{
	json_t *c;

	if (doc == NULL)
		return json_null();
	c = json_deep_copy(doc);
	if (json_is_object(c))
		json_object_del(c, "client_secret_sha256");
	return c != NULL ? c : json_null();
}

void
reg_audit(struct porten *app, const struct reg_actor *who, const char *kind, const char *id,
	  const char *action, const char *orgno, const json_t *before, const json_t *after)
{
	struct err e = { 0 };
	json_t *ev;

	ev = json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:o, s:o, s:I}", "actor",
		       who->orgno != NULL ? who->orgno : "operator", "kind", kind, "id", id,
		       "action", action, "orgno", orgno, "before", audit_copy(before), "after",
		       audit_copy(after), "time", (json_int_t)time_now());
	if (ev == NULL || store_event_add_tree(app->store, "audit", ev, &e) != 0)
		log_warn(NULL, "audit record of %s %s %s not written: %s", action, kind,
			 id != NULL ? id : "-", ev == NULL ? "out of memory" : e.msg);
	json_decref(ev);
}

int
reg_audit_list(struct porten *app, const char *key, const char *value, int64_t limit,
	       json_t **list, struct err *e)
{
	*list = NULL;
	if (key == NULL || (strcmp(key, "orgno") != 0 && strcmp(key, "id") != 0 &&
			    strcmp(key, "actor") != 0))
		return ERR(e, ERR_INVAL, 400, NULL, "the audit trail is searched by orgno, id or actor");
	if (value == NULL || value[0] == '\0' || strlen(value) > 200)
		return ERR(e, ERR_INVAL, 400, NULL, "a value to search the audit trail for is needed");
	return store_call(app->store, events, event_find, "audit", key, value, limit, list, e);
}
