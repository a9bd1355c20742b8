/*
 * The register behind HTTP (design, docs/representation.md): an external
 * authorization service answering JSON over POST, with the setting
 * repr_register_url as its base and repr_register_timeout bounding each
 * call.  No answer, a status other than 200 (404 for an unknown person)
 * or a body of the wrong shape is ERR_UNAVAILABLE: the login ends with a
 * page, never waits.
 *
 *   POST {base}/reportees {"pid","resource"} -> {"name","reportees":[...]}
 *   POST {base}/fullmakts {"pid"}            -> {"fullmakts":[...]}
 *   POST {base}/person    {"pid"}            -> {"name"}
 */
#include "repr/repr_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/client.h"

#define REG_MAX_BODY (256 * 1024)

/* POST body to base + path; *out the JSON object answered (200), or NULL for 404. */
static int
http_call(struct porten *app, const char *path, const json_t *body, json_t **out, struct err *e)
{
	char *text = json_dumps(body, JSON_COMPACT), *url = NULL;
	struct http_client_resp resp = { 0 };
	int rc;

	*out = NULL;
	if (text == NULL || asprintf(&url, "%s%s", app->cfg->repr_register_url, path) < 0) {
		free(text);
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	rc = http_client_do(&(struct http_client_req){ .method = "POST", .url = url,
						       .content_type = "application/json",
						       .body = str_c(text),
						       .timeout = (long)app->cfg->repr_register_timeout,
						       .max_body = REG_MAX_BODY },
			    &resp, e);
	free(text);
	if (rc == 0 && resp.status == 200)
		*out = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL);
	if (rc != 0)
		rc = ERR(e, ERR_UNAVAILABLE, 503, NULL, "the register at %.200s did not answer: %.200s",
			 url, e->msg);
	else if (resp.status == 404)
		rc = ERR(e, ERR_NOTFOUND, 404, NULL, "the register knows no such person");
	else if (!json_is_object(*out))
		rc = ERR(e, ERR_UNAVAILABLE, 503, NULL, "the register at %.200s answered %ld, not JSON",
			 url, resp.status);
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	free(url);
	http_client_resp_free(&resp);
	return rc;
}

/* http_call with query q (taken; NULL when it could not be made). */
static int
http_ask(struct porten *app, const char *path, json_t *q, json_t **out, struct err *e)
{
	int rc = q != NULL ? http_call(app, path, q, out, e)
			   : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");

	json_decref(q);
	return rc;
}

/* Is every member of list of the shape ok wants? */
static bool
http_all_ok(const json_t *list, bool (*ok)(const json_t *))
{
	const json_t *o;
	size_t i;

	json_array_foreach(list, i, o) {
		if (!ok(o))
			return false;
	}
	return true;
}

static int
http_garbage(struct err *e, const char *what)
{
	return ERR(e, ERR_UNAVAILABLE, 503, NULL, "the register's %s answer has the wrong shape",
		   what);
}

static int
http_reportees(struct porten *app, const char *pid, const char *resource, json_t **out,
	       struct err *e)
{
	json_t *a = NULL;
	const json_t *name;
	int rc = http_ask(app, "/reportees",
			  json_pack("{s:s, s:s}", "pid", pid, "resource", resource), &a, e);

	*out = NULL;
	if (rc != 0)
		return rc == ERR_NOTFOUND ? http_garbage(e, "reportees") : rc;
	name = json_object_get(a, "name");
	if (!json_is_array(json_object_get(a, "reportees")) ||
	    !(name == NULL || json_is_null(name) || json_is_string(name)) ||
	    !http_all_ok(json_object_get(a, "reportees"), repr_reportee_ok)) {
		json_decref(a);
		return http_garbage(e, "reportees");
	}
	*out = a;
	return 0;
}

static int
http_fullmakts(struct porten *app, const char *pid, json_t **out, struct err *e)
{
	json_t *a = NULL, *list, *o;
	bool ok;
	size_t i;
	int rc = http_ask(app, "/fullmakts", json_pack("{s:s}", "pid", pid), &a, e);

	*out = NULL;
	if (rc != 0)
		return rc == ERR_NOTFOUND ? http_garbage(e, "fullmakts") : rc;
	list = json_object_get(a, "fullmakts");
	ok = json_is_array(list);
	json_array_foreach(list, i, o) {
		ok = repr_fullmakt_ok(app, pid, o);
		if (!ok)
			break;
	}
	if (!ok) {
		json_decref(a);
		return http_garbage(e, "fullmakts");
	}
	*out = json_incref(list);
	json_decref(a);
	return 0;
}

static int
http_person_name(struct porten *app, const char *pid, char **name, struct err *e)
{
	json_t *a = NULL;
	const char *n;
	int rc = http_ask(app, "/person", json_pack("{s:s}", "pid", pid), &a, e);

	*name = NULL;
	if (rc != 0)
		return rc;
	n = json_string_value(json_object_get(a, "name"));
	*name = n != NULL && n[0] != '\0' && strlen(n) <= 200 ? strdup(n) : NULL;
	json_decref(a);
	return *name != NULL ? 0 : http_garbage(e, "person");
}

const struct repr_register repr_register_http = {
	.name = "http",
	.reportees = http_reportees,
	.fullmakts = http_fullmakts,
	.person_name = http_person_name,
};
