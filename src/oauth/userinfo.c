/*
 * The userinfo endpoint (OIDC Core §5.3, spec/idporten-oidc.md §14): an
 * access token in the Authorization header (RFC 6750 §2.1 only; tokens in
 * forms or queries are not accepted) carrying openid and profile.
 */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/crypto.h"
#include "core/log.h"
#include "oauth/oauth.h"
#include "oauth/token_int.h"

#define UI_REALM "porten"

/* RFC 6750 §3: the challenge, with an error code when the request carried a token. */
static void
bearer_error(struct http_req *r, struct http_resp *w, int status, const char *error,
	     const char *desc)
{
	const char *challenge;

	if (error == NULL) {
		/* §3.1: no credentials at all: no error code in the challenge. */
		challenge = "Bearer realm=\"" UI_REALM "\"";
		http_resp_oauth_error(w, status, OAUTH_INVALID_TOKEN, desc);
	} else {
		challenge = arena_printf(r->arena, "Bearer realm=\"%s\", error=\"%s\"%s", UI_REALM,
					 error,
					 strcmp(error, OAUTH_INSUFFICIENT_SCOPE) == 0
						 ? ", scope=\"openid profile\""
						 : "");
		http_resp_oauth_error(w, status, error, desc);
	}
	http_resp_header(w, "WWW-Authenticate", challenge);
	log_info(r->rid, "userinfo refused: %s", desc);
}

void
oauth_handle_userinfo(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	const struct issuer *is = r->route_data;
	json_t *claims = NULL, *grant = NULL, *ans = NULL;
	char *grant_id = NULL;
	const char *scope, *iss;
	struct str token;
	struct err e = { 0 };
	int rc;

	if (r->method == NULL || (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)) {
		http_resp_oauth_error(w, 405, OAUTH_INVALID_REQUEST, "userinfo takes GET or POST");
		http_resp_header(w, "Allow", "GET, POST");
		goto out;
	}
	rc = http_bearer(r, &token);
	if (rc == ERR_NOTFOUND) {
		bearer_error(r, w, 401, NULL, "no access token in the Authorization header");
		goto out;
	}
	if (rc != 0) {
		bearer_error(r, w, 400, OAUTH_INVALID_REQUEST, "malformed Authorization header");
		goto out;
	}
	rc = store_call(app->store, oauth, token_get, sha256_b64url(r->arena, token), &claims, &grant_id, &e);
	if (rc == ERR_NOTFOUND) {
		bearer_error(r, w, 401, OAUTH_INVALID_TOKEN, "unknown, expired or revoked token");
		goto out;
	}
	if (rc != 0) {
		oauth_resp_error(r, w, &e);
		goto out;
	}
	/* Only this issuer's tokens (the store holds every issuer's). */
	iss = json_string_value(json_object_get(claims, "iss"));
	if (iss == NULL || strcmp(iss, is->iss) != 0) {
		bearer_error(r, w, 401, OAUTH_INVALID_TOKEN, "token from another issuer");
		goto out;
	}
	/* spec §14: profile grants userinfo; (design) with openid. */
	scope = json_string_value(json_object_get(claims, "scope"));
	if (!oauth_scope_has(scope, "profile") || !oauth_scope_has(scope, "openid")) {
		bearer_error(r, w, 403, OAUTH_INSUFFICIENT_SCOPE,
			     "the token lacks the openid and profile scopes");
		goto out;
	}
	rc = store_call(app->store, oauth, grant_get, grant_id, &grant, &e);
	if (rc == ERR_NOTFOUND) {
		bearer_error(r, w, 401, OAUTH_INVALID_TOKEN, "the authorization has ended");
		goto out;
	}
	if (rc != 0) {
		oauth_resp_error(r, w, &e);
		goto out;
	}
	/* sub as in the tokens; pid only when the access token carries it (not pseudonymous). */
	ans = json_pack("{s:O,s:O*,s:O*}", "sub", json_object_get(claims, "sub"), "pid",
			json_object_get(claims, "pid"), "locale", json_object_get(grant, "locale"));
	if (ans == NULL) {
		e = (struct err){ 0 };
		(void)ERR(&e, ERR_INTERNAL, 500, OAUTH_SERVER_ERROR, "cannot build userinfo");
		oauth_resp_error(r, w, &e);
		goto out;
	}
	http_resp_json(w, 200, ans);
	http_resp_header(w, "Cache-Control", "no-store");
	http_resp_header(w, "Pragma", "no-cache");
out:
	free(grant_id);
	json_decref(claims);
	json_decref(grant);
	json_decref(ans);
}
