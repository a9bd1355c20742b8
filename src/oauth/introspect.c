/*
 * Token introspection (RFC 7662) with the new-platform rules of
 * spec/idporten-oidc.md §14: the caller authenticates (RFC 7662 §2.1: not
 * by client_id alone, so a public client may not), holds
 * idporten:token.introspection, and every API scope of the token names the
 * caller in enforced_aud_for_introspection.  Anything not permitted looks
 * exactly like an unknown token: {"active":false}.
 */
#include "oauth/oauth.h"

#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "oauth/token_int.h"
#include "registry/registry.h"


/* Calls fn for every scope name of a space-separated string; stops on false. */
static bool
scope_each(struct http_req *r, const char *scope, bool (*fn)(void *, const char *), void *arg)
{
	const char *p = scope;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > 0 && !fn(arg, arena_strndup(r->arena, p, len)))
			return false;
		p = end ? end + 1 : NULL;
	}
	return true;
}

static bool
is_login_scope(const char *s)
{
	return strcmp(s, "openid") == 0 || strcmp(s, "profile") == 0;
}

struct perm {
	struct porten *app;
	const char *caller_id;
	const char *caller_org;
	bool api_scopes;   /* the token carries a scope besides openid/profile */
	bool pid_ok;       /* every pseudonymising scope is owned by the caller's organisation */
	bool failed;       /* a store or registry failure: answer an error, not "inactive" */
	struct err *e;
};

static bool
scope_permits(void *arg, const char *name)
{
	struct perm *p = arg;
	json_t *doc = NULL;
	bool ok = false;
	int rc;

	if (is_login_scope(name))
		return true;
	p->api_scopes = true;
	rc = reg_scope_get(p->app, name, &doc, p->e);
	if (rc != 0) {
		p->failed = rc != ERR_NOTFOUND && rc != ERR_INVAL;
		return false;
	}
	/* spec §14: the scope names the caller in enforced_aud_for_introspection. */
	ok = reg_json_array_has(json_object_get(doc, "enforced_aud_for_introspection"),
				p->caller_id);
	/* pid of a pseudonymous token goes only to the scope owner (spec §14). */
	if (json_is_true(json_object_get(doc, "requires_pseudonymous_tokens")) &&
	    (p->caller_org == NULL || !reg_scope_owned_by(doc, p->caller_org)))
		p->pid_ok = false;
	json_decref(doc);
	return ok;
}

/* The answer for an access token, or NULL when the caller may not see it. */
static int
access_answer(struct http_req *r, const struct issuer *is, const struct client *caller,
	      const json_t *claims, const char *grant_id, json_t **out, struct err *e)
{
	struct porten *app = r->app;
	struct perm p = {
		.app = app,
		.caller_id = caller->client_id,
		.caller_org = caller->client_orgno,
		.pid_ok = true,
		.e = e,
	};
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	const char *owner = json_string_value(json_object_get(claims, "client_id"));
	const char *scope = json_string_value(json_object_get(claims, "scope"));
	json_t *ans = NULL, *grant = NULL;
	struct grant g;
	long long exp = json_integer_value(json_object_get(claims, "exp"));
	int64_t now = time_now();
	int rc = 0;

	*out = NULL;
	/* Only this issuer's tokens are introspected here. */
	if (iss == NULL || strcmp(iss, is->iss) != 0 || scope == NULL || owner == NULL ||
	    p.caller_id == NULL || exp <= now)
		goto out;
	if (!scope_each(r, scope, scope_permits, &p)) {
		if (p.failed)
			rc = e->code != 0 ? e->code : ERR_INTERNAL;
		goto out;
	}
	/* spec §14 (design): a pure login token only for the client it was issued to. */
	if (!p.api_scopes && strcmp(owner, p.caller_id) != 0)
		goto out;
	ans = json_deep_copy(claims);
	if (ans == NULL) {
		rc = ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
		goto out;
	}
	/* A pseudonymous token lacks pid; the scope owner may recover it here (spec §13). */
	if (json_object_get(ans, "pid") == NULL && p.api_scopes && p.pid_ok && grant_id != NULL) {
		rc = store_call(app->store, oauth, grant_get, grant_id, &grant, e);
		if (rc == ERR_NOTFOUND) {
			json_decref(ans);
			ans = NULL;
			rc = 0;
			goto out;
		}
		if (rc != 0)
			goto out;
		rc = oauth_grant_decode(grant, &g, e);
		if (rc != 0)
			goto out;
		if (g.pid != NULL)
			json_object_set_new(ans, "pid", json_string(g.pid));
	}
	json_object_set_new(ans, "active", json_true());
	/* spec §19: a bound token says so, its cnf (from the stored claims) names the key. */
	json_object_set_new(ans, "token_type",
			    json_string(json_object_get(ans, "cnf") != NULL ? "DPoP" : "Bearer"));
	json_object_set_new(ans, "expires_in", json_integer(exp - now));
	*out = ans;
	ans = NULL;
out:
	json_decref(ans);
	json_decref(grant);
	return rc;
}

/* A refresh token is introspectable by its own client only: API providers never hold one. */
static int
refresh_answer(struct http_req *r, const struct client *caller, const struct store_refresh *row,
	       json_t **out, struct err *e)
{
	struct porten *app = r->app;
	const char *caller_id = caller->client_id;
	json_t *grant = NULL;
	struct grant g;
	int rc;

	*out = NULL;
	if (caller_id == NULL || row->client_id == NULL || strcmp(caller_id, row->client_id) != 0)
		return 0;
	rc = store_call(app->store, oauth, grant_get, row->grant_id, &grant, e);
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc == 0)
		rc = oauth_grant_decode(grant, &g, e);
	if (rc != 0) {
		json_decref(grant);
		return rc;
	}
	*out = json_pack("{s:b,s:s,s:s,s:s*,s:I,s:I}", "active", 1, "token_type", "refresh_token",
			 "client_id", row->client_id, "scope", g.scope,
			 "exp", (json_int_t)row->expires_at,
			 "expires_in", (json_int_t)(row->expires_at - time_now()));
	json_decref(grant);
	return *out == NULL ? ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory") : 0;
}

void
oauth_handle_introspect(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	const struct issuer *is = r->route_data;
	const struct client *client = NULL;
	json_t *claims = NULL, *ans = NULL;
	struct store_refresh row = { 0 };
	char *grant_id = NULL;
	const char *amr = NULL, *hash;
	struct str token;
	struct err e = { 0 };
	int rc;

	rc = oauth_backchannel_check(r, &e);
	if (rc != 0)
		goto out;
	rc = oauth_client_auth(r, is, &client, &amr, &e);
	if (rc != 0)
		goto out;
	/* RFC 7662 §2.1: the caller authenticates; a public client only names itself. */
	if (strcmp(amr, "none") == 0) {
		rc = ERR(&e, ERR_DENIED, 401, OAUTH_INVALID_CLIENT,
			 "a client without credentials (method none) may not introspect");
		goto out;
	}
	rc = http_param(&r->form, "token", &token);
	if (rc != 0 || token.len == 0) {
		rc = ERR(&e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "missing parameter token");
		goto out;
	}
	/* spec §14: no introspection scope, no answer beyond "inactive". */
	if (token.len > HTTP_MAX_TOKEN ||
	    !reg_strs_has(&client->scopes, OAUTH_INTROSPECTION_SCOPE)) {
		if (token.len <= HTTP_MAX_TOKEN)
			log_info(r->rid, "introspection by %s without %s",
				 client->client_id, OAUTH_INTROSPECTION_SCOPE);
		goto answer;
	}
	hash = sha256_b64url(r->arena, token);
	/* token_type_hint is only a hint (RFC 7662 §2.1): both kinds are looked up. */
	rc = store_call(app->store, oauth, token_get, hash, &claims, &grant_id, NULL, &e);
	if (rc == 0) {
		rc = access_answer(r, is, client, claims, grant_id, &ans, &e);
	} else if (rc == ERR_NOTFOUND) {
		rc = store_call(app->store, oauth, refresh_get, hash, &row, &e);
		if (rc == 0)
			rc = refresh_answer(r, client, &row, &ans, &e);
		else if (rc == ERR_NOTFOUND)
			rc = 0;
	}
	if (rc != 0)
		goto out;
answer:
	if (ans == NULL)
		ans = json_pack("{s:b}", "active", 0);
	http_resp_json(w, 200, ans);
	http_resp_header(w, "Cache-Control", "no-store");
	http_resp_header(w, "Pragma", "no-cache");
out:
	if (rc != 0)
		oauth_resp_error(r, w, &e);
	store_refresh_clear(&row);
	free(grant_id);
	reg_client_release(client);
	json_decref(claims);
	json_decref(ans);
}
