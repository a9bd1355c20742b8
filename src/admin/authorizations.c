/*
 * The authorizations API (spec/selfservice-api.md §10): the grants a
 * person gave to the calling organisation's clients, or that hold scopes
 * the organisation owns, and their revocation.  A person's own ID-porten
 * access token reads them (GET), an organisation's Maskinporten token names
 * the person in the body (POST); either revokes one (DELETE).  A revoked
 * grant ends its refresh tokens and stored access tokens at once.
 *
 * Served on the ID-porten issuer under /authorizations:
 * /authorizations/clients/authorizations,
 * /authorizations/api-provider/authorizations and
 * /authorizations/authorizations/{authorization_id}.
 */
#include <string.h>

#include "admin/admin_int.h"
#include "core/log.h"
#include "core/natid.h"
#include "registry/client.h"

#define AUTHZ_SCOPE "idporten:authorizations"
#define AUTHZ_BASE "/authorizations"
#define AUTHZ_GRANTS_MAX 1000

/* Who asks: the organisation, and the person when the token is theirs. */
struct authz_caller {
	struct oauth_bearer tok;
	const char *orgno;
	const char *pid;         /* from the token or the body */
};

/* The client's organisation, or NULL (a copy in the arena). */
static const char *
client_org(struct http_req *r, const char *client_id)
{
	const struct client *c = NULL;
	struct err e = { 0 };
	const char *o = NULL;

	if (client_id != NULL && reg_client_find(r->app, client_id, &c, &e) == 0 &&
	    c->client_orgno != NULL)
		o = arena_strdup(r->arena, c->client_orgno);
	reg_client_release(c);
	return o;
}

/* A person's own ID-porten token (idp) or an organisation's Maskinporten token, with the scope. */
static int
caller_try(struct http_req *r, bool idp, struct authz_caller *c, struct err *e)
{
	const struct issuer *is = idp ? r->route_data : app_issuer(r->app, ISSUER_MASKINPORTEN);
	int rc;

	memset(c, 0, sizeof(*c));
	rc = oauth_bearer_check(r, is, NULL, &c->tok, e);
	if (rc == 0 && !oauth_bearer_has(&c->tok, AUTHZ_SCOPE))
		rc = oauth_bearer_insufficient(e, AUTHZ_SCOPE);
	if (rc == 0 && idp && c->tok.pid == NULL)
		rc = ERR(e, ERR_DENIED, 401, OAUTH_INVALID_TOKEN, "the token names no person");
	if (rc == 0) {
		c->pid = idp ? c->tok.pid : NULL;
		c->orgno = idp ? client_org(r, c->tok.client_id) : c->tok.consumer;
		if (c->orgno == NULL)
			rc = ERR(e, ERR_DENIED, 403, OAUTH_INSUFFICIENT_SCOPE,
				 "the calling client belongs to no organisation");
	}
	if (rc != 0)
		oauth_bearer_release(&c->tok);
	return rc;
}

/* As caller_try; 0, or the refusal is answered. */
static int
caller_check(struct http_req *r, struct http_resp *w, bool idp, struct authz_caller *c)
{
	struct err e = { 0 };
	int rc = caller_try(r, idp, c, &e);

	if (rc != 0)
		oauth_bearer_refuse(r, w, &e, AUTHZ_SCOPE);
	return rc;
}

/* orgno's (NULL: the operator, who sees every one). */
static bool
org_is(const char *have, const char *orgno)
{
	return orgno == NULL || (have != NULL && strcmp(have, orgno) == 0);
}

/* The scope as the API shows it, and whether it makes the grant match. */
static json_t *
scope_view(struct porten *app, const char *name, const char *orgno,
	   const struct adm_authz_filter *f, bool *owned, bool *consent, bool *visible)
{
	json_t *sd = NULL, *v;
	const char *vis;
	struct err e = { 0 };

	if (reg_scope_get(app, name, &sd, &e) != 0)
		return json_pack("{s:s}", "name", name);
	vis = json_string_value(json_object_get(sd, "visibility"));
	*owned |= reg_scope_owned_by(sd, orgno);
	*consent |= json_is_true(json_object_get(sd, "requires_user_consent"));
	*visible |= f->visibility == NULL || (vis != NULL && strcmp(vis, f->visibility) == 0);
	v = json_pack("{s:s, s:O?, s:O?, s:b, s:O?, s:O?}", "name", name, "description",
		      json_object_get(sd, "description"), "long_description",
		      json_object_get(sd, "long_description"), "requires_user_consent",
		      json_is_true(json_object_get(sd, "requires_user_consent")), "visibility",
		      json_object_get(sd, "visibility"), "owner_orgno",
		      json_object_get(sd, "owner_orgno"));
	json_decref(sd);
	return v;
}

/* The authorization object of a grant, or NULL when the filter leaves it out. */
static json_t *
authz_view(struct porten *app, struct arena *a, const json_t *g, const char *orgno,
	   const struct adm_authz_filter *f)
{
	const char *cid = json_string_value(json_object_get(g, "client_id"));
	const char *scope = json_string_value(json_object_get(g, "scope"));
	const struct client *cl = NULL;
	bool owned = false, consent = false, visible = false, mine;
	json_t *scopes = json_array(), *out = NULL;
	struct str rest = str_c(scope ? scope : ""), word;
	struct err e = { 0 };

	while (scopes != NULL && rest.len > 0) {
		str_split(rest, ' ', &word, &rest);
		if (word.len > 0)
			json_array_append_new(scopes, scope_view(app,
								 arena_strndup(a, word.p, word.len),
								 orgno, f, &owned, &consent, &visible));
	}
	if (cid == NULL || reg_client_find(app, cid, &cl, &e) != 0)
		cl = NULL;
	mine = f->provider ? owned : cl != NULL && org_is(cl->client_orgno, orgno);
	if (scopes != NULL && mine && visible && (consent || !f->consent_only))
		out = json_pack("{s:O?, s:s, s:s?, s:O?, s:I, s:I, s:O, s:n, s:{s:s, s:s}}",
				"authorization_id", json_object_get(g, "grant_id"), "client_id", cid,
				"client_name", cl ? cl->client_name : NULL, "description",
				cl ? json_object_get(cl->doc, "description") : NULL, "authorized_at",
				(json_int_t)json_integer_value(json_object_get(g, "auth_time")) * 1000,
				"expires",
				(json_int_t)json_integer_value(json_object_get(g, "expires_at")) * 1000,
				"scopes", scopes, "user_agent", "consumer", "authority",
				"iso6523-actorid-upis", "ID",
				arena_printf(a, "%s%s", OAUTH_ORG_ICD,
					     cl && cl->client_orgno ? cl->client_orgno : ""));
	reg_client_release(cl);
	json_decref(scopes);
	return out;
}

/* spec §10: require_user_consent (also requires_user_consent) and visibility. */
static int
filter_read(struct http_req *r, bool provider, struct adm_authz_filter *f, struct err *e)
{
	const char *v = http_param_c(&r->query, "require_user_consent");

	if (v == NULL)
		v = http_param_c(&r->query, "requires_user_consent");
	f->provider = provider;
	f->consent_only = v == NULL || strcmp(v, "false") != 0;
	if (v != NULL && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
		return ERR(e, ERR_INVAL, 400, "invalid_request",
			   "require_user_consent must be true or false");
	f->visibility = http_param_c(&r->query, "visibility");
	if (f->visibility != NULL && strcmp(f->visibility, "PUBLIC") != 0 &&
	    strcmp(f->visibility, "PRIVATE") != 0)
		return ERR(e, ERR_INVAL, 400, "invalid_request", "visibility must be PUBLIC or PRIVATE");
	return 0;
}

/* The pid of a POST body {"pid": "..."}. */
static int
body_pid(struct http_req *r, const char **pid, struct err *e)
{
	const char *ct = http_header(r, "content-type");
	json_t *body;
	const char *p;
	struct natid_info info;

	*pid = NULL;
	if (ct == NULL || strncmp(ct, "application/json", 16) != 0)
		return ERR(e, ERR_INVAL, 415, "invalid_request", "the body must be application/json");
	if (r->body.len > 4096)
		return ERR(e, ERR_INVAL, 413, "invalid_request", "the body is too large");
	body = json_loadb(r->body.p, r->body.len, JSON_REJECT_DUPLICATES, NULL);
	p = json_string_value(json_object_get(body, "pid"));
	if (json_is_object(body) && json_object_size(body) == 1 && p != NULL &&
	    natid_parse(str_c(p), true, &info) == NATID_OK)
		*pid = arena_strdup(r->arena, p);
	json_decref(body);
	return *pid != NULL ? 0
			    : ERR(e, ERR_INVAL, 400, "invalid_request",
				  "the body must be {\"pid\": a national identity number}");
}

int
adm_authz_find(struct porten *app, struct arena *a, const char *pid, const char *orgno,
	       const struct adm_authz_filter *f, json_t **out, struct err *e)
{
	json_t *grants = NULL, *g;
	size_t i;
	int rc;

	*out = NULL;
	rc = store_call(app->store, oauth, grant_find_person, pid, AUTHZ_GRANTS_MAX, &grants, e);
	if (rc == 0 && (*out = json_array()) == NULL)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	json_array_foreach(grants, i, g) {
		json_t *v = rc == 0 ? authz_view(app, a, g, orgno, f) : NULL;

		if (v != NULL && json_array_append_new(*out, v) != 0)
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	json_decref(grants);
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

static void
authz_list(struct http_req *r, struct http_resp *w, bool provider)
{
	bool idp = strcmp(r->method, "POST") != 0;
	struct adm_authz_filter f = { 0 };
	struct authz_caller c;
	struct err e = { 0 };
	json_t *out = NULL;
	int rc;

	if (r->bad_input) {
		http_resp_oauth_error(w, 400, "invalid_request", r->input_err.msg);
		return;
	}
	if (caller_check(r, w, idp, &c) != 0)
		return;
	rc = filter_read(r, provider, &f, &e);
	if (rc == 0 && !idp)
		rc = body_pid(r, &c.pid, &e);
	if (rc == 0)
		rc = adm_authz_find(r->app, r->arena, c.pid, c.orgno, &f, &out, &e);
	if (rc == ERR_INVAL)
		http_resp_oauth_error(w, e.status, e.oauth, e.msg);
	else if (rc != 0)
		oauth_resp_error(r, w, &e);
	else
		http_resp_json(w, 200, out);
	http_resp_header(w, "Cache-Control", "no-store");
	json_decref(out);
	oauth_bearer_release(&c.tok);
}

void
adm_handle_authz_clients(struct http_req *r, struct http_resp *w)
{
	authz_list(r, w, false);
}

void
adm_handle_authz_provider(struct http_req *r, struct http_resp *w)
{
	authz_list(r, w, true);
}

/* Is the grant the caller's to revoke: the person's own, of its client or scope. */
static bool
revocable(struct porten *app, struct arena *a, const json_t *g, const char *pid,
	  const char *orgno)
{
	struct adm_authz_filter f = { .provider = false };
	const char *gpid = json_string_value(json_object_get(g, "pid"));
	json_t *v;
	bool ok;

	if (pid != NULL && (gpid == NULL || strcmp(gpid, pid) != 0))
		return false;
	v = authz_view(app, a, g, orgno, &f);
	if (v == NULL) {
		f.provider = true;
		v = authz_view(app, a, g, orgno, &f);
	}
	ok = v != NULL;
	json_decref(v);
	return ok;
}

int
adm_authz_revoke(struct porten *app, struct arena *a, const char *pid, const char *orgno,
		 const char *id, struct err *e)
{
	json_t *g = NULL;
	int rc = store_call(app->store, oauth, grant_get, id, &g, e);

	if (rc == 0 && json_is_object(g) &&
	    json_object_set_new(g, "grant_id", json_string(id)) == 0 &&
	    revocable(app, a, g, pid, orgno))
		rc = store_call(app->store, oauth, grant_revoke, id, e);
	else if (rc == 0 || rc == ERR_NOTFOUND || rc == ERR_INVAL)
		rc = ERR(e, ERR_NOTFOUND, 404, NULL, "no such authorization");
	json_decref(g);
	return rc;
}

/* DELETE /authorizations/authorizations/{id}: either kind of token. */
void
adm_handle_authz_revoke(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	size_t skip = strlen(is->prefix) + strlen(AUTHZ_BASE "/authorizations/");
	struct authz_caller c;
	struct err e = { 0 };
	const char *id;
	int rc;

	if (r->path.len <= skip || r->path.len > skip + 128 ||
	    memchr(r->path.p + skip, '/', r->path.len - skip) != NULL) {
		http_resp_oauth_error(w, 404, "not_found", "no such authorization");
		return;
	}
	id = arena_strndup(r->arena, r->path.p + skip, r->path.len - skip);
	/* spec §10: either token; one ID-porten does not know may be Maskinporten's. */
	rc = caller_try(r, true, &c, &e);
	if (rc == ERR_DENIED && e.status == 401)
		rc = caller_try(r, false, &c, &e);
	if (rc != 0) {
		oauth_bearer_refuse(r, w, &e, AUTHZ_SCOPE);
		return;
	}
	rc = adm_authz_revoke(r->app, r->arena, c.pid, c.orgno, id, &e);
	if (rc == ERR_NOTFOUND) {
		http_resp_oauth_error(w, 404, "not_found", e.msg);
	} else if (rc != 0) {
		oauth_resp_error(r, w, &e);
	} else {
		log_info(r->rid, "authorization revoked by %s", c.orgno);
		http_resp_text(w, 200, "");
	}
	http_resp_header(w, "Cache-Control", "no-store");
	oauth_bearer_release(&c.tok);
}
