/*
 * What every call of the self-service API does first and last: the
 * Maskinporten token (oauth_bearer_check, spec §2), the caller's rights
 * from its scopes, the JSON body, and the answers of §3.
 */
#include <string.h>
#include <strings.h>

#include "admin/admin_int.h"
#include "core/log.h"

static bool
has_any(const struct oauth_bearer *b, const char *const *scopes)
{
	for (size_t i = 0; scopes[i] != NULL; i++)
		if (oauth_bearer_has(b, scopes[i]))
			return true;
	return false;
}

int
adm_begin(struct adm_call *c, struct http_req *r, struct http_resp *w,
	  const char *const *owner_scopes, bool supplier_ok)
{
	const struct issuer *is = r->route_data;
	struct err e = { 0 };
	const char *need;
	int rc;

	memset(c, 0, sizeof(*c));
	c->r = r;
	c->w = w;
	c->app = r->app;
	c->base = arena_printf(r->arena, "%s%s", is->base, adm_base(c->app));
	rc = oauth_bearer_check(r, app_issuer(c->app, ISSUER_MASKINPORTEN), c->base, &c->tok, &e);
	if (rc != 0) {
		oauth_bearer_refuse(r, w, &e, NULL);
		return rc;
	}
	/* Spec §2: the caller's organisation is the token's consumer. */
	c->who.orgno = c->tok.consumer;
	c->who.owner = has_any(&c->tok, owner_scopes);
	c->who.supplier = supplier_ok && oauth_bearer_has(&c->tok, ADM_DCR_SUPPLIER);
	if (!c->who.owner && !c->who.supplier) {
		need = owner_scopes[0];
		for (size_t i = 1; owner_scopes[i] != NULL; i++)
			need = arena_printf(r->arena, "%s %s", need, owner_scopes[i]);
		if (supplier_ok)
			need = arena_printf(r->arena, "%s %s", need, ADM_DCR_SUPPLIER);
		rc = oauth_bearer_insufficient(&e, need);
		oauth_bearer_refuse(r, w, &e, need);
		oauth_bearer_release(&c->tok);
		return rc;
	}
	return 0;
}

void
adm_end(struct adm_call *c)
{
	oauth_bearer_release(&c->tok);
}

static void
answer(struct adm_call *c, int status, const char *error, const char *desc)
{
	http_resp_oauth_error(c->w, status, error, desc);
	log_info(c->r->rid, "self-service %s %.*s refused %d: %s", c->r->method,
		 (int)c->r->path.len, c->r->path.p, status, desc);
}

/* application/json, parameters (charset) allowed. */
static bool
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

int
adm_body(struct adm_call *c, json_t **body)
{
	json_error_t je;

	*body = NULL;
	if (!is_json_type(http_header(c->r, "content-type"))) {
		answer(c, 415, "invalid_request", "the body must be application/json");
		return ERR_INVAL;
	}
	if (c->r->body.len > ADM_BODY_MAX) {
		answer(c, 413, "invalid_request", "the body is larger than this API accepts");
		return ERR_LIMIT;
	}
	*body = json_loadb(c->r->body.p, c->r->body.len, JSON_REJECT_DUPLICATES, &je);
	if (*body == NULL) {
		answer(c, 400, "invalid_request",
		       arena_printf(c->r->arena, "the body is not valid JSON: %s", je.text));
		return ERR_INVAL;
	}
	return 0;
}

void
adm_fail(struct adm_call *c, int rc, const struct err *e)
{
	switch (rc) {
	case ERR_INVAL:
	case ERR_LIMIT:
		answer(c, 400, e->oauth != NULL ? e->oauth : "invalid_request", e->msg);
		return;
	case ERR_DENIED:
		answer(c, 403, "access_denied", e->msg);
		return;
	case ERR_NOTFOUND:
		answer(c, 404, "not_found", e->msg);
		return;
	case ERR_EXISTS:
		answer(c, 409, "conflict", e->msg);
		return;
	default:
		/* Ours (store away, out of memory): the generic answer, logged once. */
		oauth_resp_error(c->r, c->w, e);
	}
}

void
adm_json(struct adm_call *c, int status, const json_t *j)
{
	http_resp_json(c->w, status, j);
	http_resp_header(c->w, "Cache-Control", "no-store");
}

void
adm_method_not_allowed(struct adm_call *c, const char *allow)
{
	http_resp_oauth_error(c->w, 405, "method_not_allowed", "the resource has no such method");
	http_resp_header(c->w, "Allow", allow);
}

int
adm_query(struct adm_call *c, const char *name, const char **v)
{
	struct str s;
	int rc = http_param(&c->r->query, name, &s);

	*v = NULL;
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc != 0 || s.len == 0) {
		answer(c, 400, "invalid_request",
		       arena_printf(c->r->arena, "%s must be given once, not empty", name));
		return ERR_INVAL;
	}
	*v = s.p;
	return 0;
}
