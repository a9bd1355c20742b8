/*
 * The registers the rights come from: which one serves, the shapes both
 * answer with, and the local register in the store (facet repr), which
 * portenctl fills and the login only reads.
 */
#include "repr/repr_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/people.h"

const struct repr_register *
repr_register(const struct porten *app)
{
	const char *url = app->cfg->repr_register_url;

	return url != NULL && url[0] != '\0' ? &repr_register_http : &repr_register_local;
}

static bool
repr_str_ok(const json_t *v, size_t max)
{
	const char *s = json_string_value(v);

	return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

/* An organisation number: 9 digits with their check digit (spec/national-id-numbers.md §7). */
static bool
repr_orgno_ok(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) == strlen(json_string_value(v)) &&
	       orgno_valid_c(json_string_value(v));
}

bool
repr_reportee_ok(const json_t *o)
{
	const json_t *rights = json_object_get(o, "rights"), *v, *parent;
	size_t i;

	parent = json_object_get(o, "parent");
	if (!json_is_object(o) || !repr_orgno_ok(json_object_get(o, "orgno")) ||
	    !repr_str_ok(json_object_get(o, "name"), 200) ||
	    !repr_str_ok(json_object_get(o, "unit_type"), 16) ||
	    !(parent == NULL || json_is_null(parent) || repr_orgno_ok(parent)) ||
	    !json_is_boolean(json_object_get(o, "deleted")) || !json_is_array(rights))
		return false;
	json_array_foreach(rights, i, v) {
		if (!repr_str_ok(v, 100))
			return false;
	}
	return true;
}

bool
repr_fullmakt_ok(const struct porten *app, const char *pid, const json_t *o)
{
	const json_t *perms = json_object_get(o, "permissions"), *p, *name, *by;
	size_t i;

	name = json_object_get(o, "name");
	by = json_object_get(o, "authorizer");
	/* The authorizer becomes the token's pid: a number people_pid_ok takes, never the person's own. */
	if (!json_is_object(o) || !repr_str_ok(by, 11) ||
	    json_string_length(by) != strlen(json_string_value(by)) ||
	    !people_pid_ok(app, json_string_value(by)) ||
	    (pid != NULL && strcmp(json_string_value(by), pid) == 0) ||
	    !(name == NULL || json_is_null(name) || repr_str_ok(name, 200)) ||
	    !json_is_array(perms))
		return false;
	json_array_foreach(perms, i, p) {
		if (!json_is_object(p) || !repr_str_ok(json_object_get(p, "owner"), 100) ||
		    !repr_str_ok(json_object_get(p, "role"), 100))
			return false;
	}
	return true;
}

/* ---- the local register ---- */

static int
local_reportees(struct porten *app, const char *pid, const char *resource, json_t **out,
		struct err *e)
{
	json_t *list = NULL, *res = NULL;
	int rc;

	*out = NULL;
	rc = store_call(app->store, repr, reportees, pid, resource, &list, e);
	if (rc != 0)
		return rc;
	rc = store_call(app->store, repr, resource_get, resource, &res, e);
	if (rc != 0 && rc != ERR_NOTFOUND) {
		json_decref(list);
		return rc;
	}
	*out = json_pack("{s:O?, s:o}", "name", json_object_get(res, "name"), "reportees", list);
	json_decref(res);
	return *out != NULL ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

static int
local_fullmakts(struct porten *app, const char *pid, json_t **out, struct err *e)
{
	return store_call(app->store, repr, fullmakts, pid, time_now(), out, e);
}

static int
local_person_name(struct porten *app, const char *pid, char **name, struct err *e)
{
	json_t *doc = NULL;
	const char *n;
	int rc;

	*name = NULL;
	rc = store_call(app->store, repr, person_get, pid, &doc, e);
	if (rc != 0)
		return rc;
	n = json_string_value(json_object_get(doc, "name"));
	*name = n != NULL ? strdup(n) : NULL;
	json_decref(doc);
	return *name != NULL ? 0 : ERR(e, ERR_NOTFOUND, 0, NULL, "no name");
}

const struct repr_register repr_register_local = {
	.name = "local",
	.reportees = local_reportees,
	.fullmakts = local_fullmakts,
	.person_name = local_person_name,
};
