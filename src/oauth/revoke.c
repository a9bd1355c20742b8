/*
 * Token revocation (RFC 7009, spec/idporten-oidc.md §14): revoking a
 * refresh or access token ends its whole grant (every token issued from
 * the same code), for the calling client only.  The SSO session and other
 * clients' grants are untouched, and an unknown token is still a 200.
 */
#include "oauth/oauth.h"

#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "oauth/token_int.h"
#include "registry/registry.h"


static int
revoke_grant(struct http_req *r, const char *grant_id, struct err *e)
{
	struct porten *app = r->app;
	int rc = store_call(app->store, oauth, grant_revoke, grant_id, e);

	/* Already revoked or expired is what the client wanted. */
	return rc == ERR_NOTFOUND ? 0 : rc;
}

/*
 * Find the token by its hash, as the hint suggests first (RFC 7009 §2.1),
 * and revoke its grant when it belongs to the caller.  Unknown tokens and
 * other clients' tokens are left alone without saying so (§2.2).
 */
static int
revoke_token(struct http_req *r, const char *caller_id, const char *hash, bool refresh_first,
	     struct err *e)
{
	struct porten *app = r->app;
	struct store_refresh row = { 0 };
	json_t *claims = NULL;
	char *grant_id = NULL;
	int rc = 0;

	for (int pass = 0; pass < 2; pass++) {
		bool refresh = (pass == 0) == refresh_first;

		if (refresh) {
			rc = store_call(app->store, oauth, refresh_get, hash, &row, e);
			if (rc == 0 && row.client_id != NULL && strcmp(row.client_id, caller_id) == 0)
				rc = revoke_grant(r, row.grant_id, e);
			else if (rc == 0)
				log_warn(r->rid, "client %s tried to revoke another client's refresh token",
					 caller_id);
		} else {
			const char *owner;

			rc = store_call(app->store, oauth, token_get, hash, &claims, &grant_id, NULL, e);
			owner = json_string_value(json_object_get(claims, "client_id"));
			if (rc == 0 && owner != NULL && strcmp(owner, caller_id) == 0 && grant_id != NULL)
				rc = revoke_grant(r, grant_id, e);
			else if (rc == 0)
				log_warn(r->rid, "client %s tried to revoke another client's access token",
					 caller_id);
		}
		if (rc != ERR_NOTFOUND)
			break;
	}
	if (rc == ERR_NOTFOUND)
		rc = 0;
	store_refresh_clear(&row);
	json_decref(claims);
	free(grant_id);
	return rc;
}

void
oauth_handle_revoke(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	const struct client *client = NULL;
	const char *amr = NULL, *caller_id, *hint;
	struct str token;
	struct err e = { 0 };
	int rc;

	rc = oauth_backchannel_check(r, &e);
	if (rc != 0)
		goto out;
	rc = oauth_client_auth(r, is, &client, &amr, &e);
	if (rc != 0)
		goto out;
	/* Each issuer refuses the other's clients, as /token and PAR do. */
	if (!reg_client_fits(client, is)) {
		rc = ERR(&e, ERR_DENIED, 400, OAUTH_UNAUTHORIZED_CLIENT,
			 "client is not registered for this issuer");
		goto out;
	}
	rc = http_param(&r->form, "token", &token);
	if (rc != 0 || token.len == 0) {
		rc = ERR(&e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "missing parameter token");
		goto out;
	}
	caller_id = client->client_id;   /* never NULL in a record */
	/* Longer than any token we issue: nothing to find. */
	if (token.len <= HTTP_MAX_TOKEN) {
		hint = http_param_c(&r->form, "token_type_hint");
		rc = revoke_token(r, caller_id, sha256_b64url(r->arena, token),
				  hint != NULL && strcmp(hint, "refresh_token") == 0, &e);
		if (rc != 0)
			goto out;
	}
	/* RFC 7009 §2.2: 200 whether or not there was anything to revoke. */
	http_resp_text(w, 200, "");
	http_resp_header(w, "Cache-Control", "no-store");
out:
	if (rc != 0)
		oauth_resp_error(r, w, &e);
	reg_client_release(client);
}
