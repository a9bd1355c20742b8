/*
 * The userinfo endpoint (OIDC Core §5.3, spec/idporten-oidc.md §14): an
 * access token in the Authorization header (RFC 6750 §2.1 only; tokens in
 * forms or queries are not accepted) carrying openid and profile; a
 * DPoP-bound one as Authorization: DPoP with a proof (spec §19, checked
 * by oauth_bearer_check).
 */
#include <string.h>

#include "core/jsonw.h"
#include "oauth/dpop.h"
#include "oauth/oauth.h"

/* The longest userinfo answer: three short strings (sub, pid, locale). */
#define USERINFO_MAX 16384

void
oauth_handle_userinfo(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	struct oauth_bearer tok = { 0 };
	json_t *grant = NULL;
	struct buf ans;
	struct err e = { 0 };
	int rc;

	buf_init(&ans, USERINFO_MAX);
	if (r->method == NULL || (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)) {
		http_resp_oauth_error(w, 405, OAUTH_INVALID_REQUEST, "userinfo takes GET or POST");
		http_resp_header(w, "Allow", "GET, POST");
		goto out;
	}
	rc = oauth_bearer_check_grant(r, is, &tok, &grant, &e);
	/* spec §14: profile grants userinfo; (design) with openid. */
	if (rc == 0 && (!oauth_bearer_has(&tok, "profile") || !oauth_bearer_has(&tok, "openid")))
		rc = oauth_bearer_insufficient(&e, "openid profile");
	if (rc != 0) {
		oauth_bearer_refuse(r, w, &e, "openid profile");
		goto out;
	}
	/* The token's grant came with it: live, or the token would not be. */
	if (grant == NULL) {
		(void)ERR(&e, ERR_DENIED, 401, OAUTH_INVALID_TOKEN, "the authorization has ended");
		oauth_bearer_refuse(r, w, &e, NULL);
		goto out;
	}
	/* sub as in the tokens; pid only when the access token carries it (not pseudonymous). */
	{
		const char *sub = json_string_value(json_object_get(tok.claims, "sub"));
		struct jsonw jw;

		jsonw_begin(&jw, &ans);
		jsonw_str(&jw, "sub", sub);
		jsonw_str(&jw, "pid", json_string_value(json_object_get(tok.claims, "pid")));
		jsonw_str(&jw, "locale", json_string_value(json_object_get(grant, "locale")));
		rc = sub == NULL ? ERR_INVAL : jsonw_end(&jw);
	}
	if (rc != 0) {
		e = (struct err){ 0 };
		(void)ERR(&e, ERR_INTERNAL, 500, OAUTH_SERVER_ERROR, "cannot build userinfo");
		oauth_resp_error(r, w, &e);
		goto out;
	}
	http_resp_json_text(w, 200, ans.p, ans.len);
	/* spec §19: a successful answer carries a fresh nonce too. */
	oauth_dpop_nonce_header(r, is, w);
	http_resp_header(w, "Cache-Control", "no-store");
	http_resp_header(w, "Pragma", "no-cache");
out:
	oauth_bearer_release(&tok);
	json_decref(grant);
	buf_free(&ans);
}
