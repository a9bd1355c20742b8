/*
 * The scope-owner API (spec/selfservice-api.md §3, §9): an API provider's
 * scopes and who may use them, under the prefixes the operator gave it,
 * with idporten:scopes.write; and the open lists anyone may read
 * (/scopes/all, /prefix/all, /delegationsources).  The rules are the
 * registry's (registry/scope_owner.c).
 */
#include <string.h>

#include "admin/admin_int.h"
#include "core/log.h"

static const char *const scopes_write[] = { ADM_SCOPES_WRITE, NULL };

static bool
is_get(const struct http_req *r)
{
	return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
}

/* "inactive": absent, true or false; -1 answered. */
static int
inactive_param(struct adm_call *c)
{
	const char *v;
	struct err e = { 0 };

	if (adm_query(c, "inactive", &v) != 0)
		return -1;
	if (v == NULL || strcmp(v, "false") == 0)
		return 0;
	if (strcmp(v, "true") == 0)
		return 1;
	adm_fail(c, ERR(&e, ERR_INVAL, 400, "invalid_request", "inactive must be true or false"),
		 &e);
	return -1;
}

static void
answer_result(struct adm_call *c, int rc, const struct err *e, int status, const json_t *j)
{
	if (rc != 0)
		adm_fail(c, rc, e);
	else
		adm_json(c, status, j);
}

static void
scopes_one(struct adm_call *c, const char *name)
{
	json_t *in = NULL, *out = NULL;
	struct err e = { 0 };
	int rc;

	if (is_get(c->r)) {
		rc = reg_scope_get_as(c->app, &c->who, name, &out, &e);
	} else if (strcmp(c->r->method, "DELETE") == 0) {
		rc = reg_scope_deactivate_as(c->app, &c->who, name, &out, &e);
	} else if (strcmp(c->r->method, "PUT") == 0) {
		if (adm_body(c, &in) != 0)
			return;
		rc = reg_scope_update_as(c->app, &c->who, name, in, &out, &e);
	} else {
		rc = ERR(&e, ERR_INVAL, 400, "invalid_request",
			 "POST /scopes creates; the name goes in the body");
	}
	if (rc == 0 && !is_get(c->r))
		log_info(c->r->rid, "self-service: %s %s scope %s", c->who.orgno, c->r->method, name);
	answer_result(c, rc, &e, 200, out);
	json_decref(in);
	json_decref(out);
}

static void
scopes_create(struct adm_call *c)
{
	json_t *in = NULL, *out = NULL;
	struct err e = { 0 };
	int rc;

	if (adm_body(c, &in) != 0)
		return;
	rc = reg_scope_create_as(c->app, &c->who, in, &out, &e);
	if (rc == 0)
		log_info(c->r->rid, "self-service: %s created scope %s", c->who.orgno,
			 json_string_value(json_object_get(out, "name")));
	answer_result(c, rc, &e, 201, out);
	json_decref(in);
	json_decref(out);
}

/* GET, POST, PUT, DELETE /scopes[?scope=NAME] with idporten:scopes.write. */
void
adm_handle_scopes(struct http_req *r, struct http_resp *w)
{
	json_t *list = NULL;
	struct err e = { 0 };
	struct adm_call c;
	const char *name;
	int rc, inactive;

	if (r->bad_input) {
		http_resp_oauth_error(w, 400, "invalid_request", r->input_err.msg);
		return;
	}
	if (adm_begin(&c, r, w, scopes_write, false) != 0)
		return;
	if (adm_query(&c, "scope", &name) != 0)
		goto out;
	if (name != NULL) {
		scopes_one(&c, name);
	} else if (strcmp(r->method, "POST") == 0) {
		scopes_create(&c);
	} else if (is_get(r)) {
		inactive = inactive_param(&c);
		if (inactive < 0)
			goto out;
		rc = reg_scope_list_as(c.app, &c.who, inactive == 1, &list, &e);
		answer_result(&c, rc, &e, 200, list);
	} else {
		rc = ERR(&e, ERR_INVAL, 400, "invalid_request", "scope is required");
		adm_fail(&c, rc, &e);
	}
out:
	json_decref(list);
	adm_end(&c);
}

/* GET /scopes/access?scope=NAME: the access records of the caller's scope. */
void
adm_handle_access_list(struct http_req *r, struct http_resp *w)
{
	json_t *list = NULL;
	struct err e = { 0 };
	struct adm_call c;
	const char *name;
	int rc;

	if (r->bad_input) {
		http_resp_oauth_error(w, 400, "invalid_request", r->input_err.msg);
		return;
	}
	if (adm_begin(&c, r, w, scopes_write, false) != 0)
		return;
	if (adm_query(&c, "scope", &name) == 0) {
		/* Revoked records only with ?inactive=true, as every list (spec §9). */
		int inactive = inactive_param(&c);

		if (inactive < 0)
			goto out;
		if (name == NULL)
			rc = ERR(&e, ERR_INVAL, 400, "invalid_request", "scope is required");
		else
			rc = reg_scope_access_list_as(c.app, &c.who, name, inactive == 1, &list,
						      &e);
		answer_result(&c, rc, &e, 200, list);
	}
out:
	json_decref(list);
	adm_end(&c);
}

/* PUT, DELETE /scopes/access/{consumer_orgno}?scope=NAME: grant, revoke. */
void
adm_handle_access(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	size_t skip = strlen(is->prefix) + strlen(adm_base(r->app)) + strlen("/scopes/access/");
	json_t *rec = NULL;
	struct err e = { 0 };
	struct adm_call c;
	const char *name, *orgno;
	int rc;

	if (r->method == NULL || (strcmp(r->method, "PUT") != 0 && strcmp(r->method, "DELETE") != 0)) {
		c.w = w;
		adm_method_not_allowed(&c, "PUT, DELETE");
		return;
	}
	if (r->path.len <= skip || r->path.len > skip + 16 ||
	    memchr(r->path.p + skip, '/', r->path.len - skip) != NULL) {
		http_resp_oauth_error(w, 404, "not_found", "no such resource");
		return;
	}
	if (r->bad_input) {
		http_resp_oauth_error(w, 400, "invalid_request", r->input_err.msg);
		return;
	}
	if (adm_begin(&c, r, w, scopes_write, false) != 0)
		return;
	orgno = arena_strndup(r->arena, r->path.p + skip, r->path.len - skip);
	if (adm_query(&c, "scope", &name) != 0)
		goto out;
	if (name == NULL)
		rc = ERR(&e, ERR_INVAL, 400, "invalid_request", "scope is required");
	else if (strcmp(r->method, "PUT") == 0)
		rc = reg_scope_access_grant_as(c.app, &c.who, name, orgno, &rec, &e);
	else
		rc = reg_scope_access_revoke_as(c.app, &c.who, name, orgno, &rec, &e);
	if (rc == 0)
		log_info(r->rid, "self-service: %s %s access to %s for %s", c.who.orgno,
			 r->method, name, orgno);
	answer_result(&c, rc, &e, 200, rec);
out:
	json_decref(rec);
	adm_end(&c);
}

/* Open data (spec §3, scope "none"): answered without a token. */
static void
open_answer(struct http_req *r, struct http_resp *w, int rc, const struct err *e, json_t *j)
{
	if (rc != 0) {
		oauth_resp_error(r, w, e);
	} else {
		http_resp_json(w, 200, j);
		http_resp_header(w, "Cache-Control", "public, max-age=60");
	}
	json_decref(j);
}

/* GET /scopes/all?prefix=&integration_type=&accessible_for_all=&delegation_source= */
void
adm_handle_scopes_all(struct http_req *r, struct http_resp *w)
{
	static const char *const names[] = { "prefix", "integration_type", "accessible_for_all",
					     "delegation_source" };
	const char *f[4];
	struct err e = { 0 };
	json_t *list = NULL;
	int rc;

	if (r->bad_input) {
		http_resp_oauth_error(w, 400, "invalid_request", r->input_err.msg);
		return;
	}
	for (size_t i = 0; i < 4; i++) {
		struct str v;

		rc = http_param(&r->query, names[i], &v);
		f[i] = rc == 0 ? v.p : NULL;
		if (rc == ERR_DUP || (rc == 0 && v.len == 0)) {
			http_resp_oauth_error(w, 400, "invalid_request",
					      arena_printf(r->arena, "%s must be given once, not empty",
							   names[i]));
			return;
		}
	}
	if (f[2] != NULL && strcmp(f[2], "true") != 0 && strcmp(f[2], "false") != 0) {
		http_resp_oauth_error(w, 400, "invalid_request", "accessible_for_all must be true or false");
		return;
	}
	rc = reg_scope_public(r->app, f[0], f[1], f[2], f[3], &list, &e);
	open_answer(r, w, rc, &e, list);
}

void
adm_handle_prefixes(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	json_t *list = NULL;
	int rc = reg_prefix_list(r->app, &list, &e);

	open_answer(r, w, rc, &e, list);
}

void
adm_handle_openapi(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	json_t *doc = json_loads(adm_openapi_doc, 0, NULL);
	int rc = doc != NULL ? 0 : ERR(&e, ERR_INTERNAL, 500, NULL, "the OpenAPI document does not parse");

	open_answer(r, w, rc, &e, doc);
}

void
adm_handle_delegation_sources(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	json_t *list = reg_delegation_sources();
	int rc = list != NULL ? 0 : ERR(&e, ERR_NOMEM, 500, NULL, "out of memory");

	open_answer(r, w, rc, &e, list);
}
