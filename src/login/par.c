/*
 * Pushed authorization requests (RFC 9126, spec/idporten-oidc.md §4): the
 * client posts the request with its credentials and gets a request_uri
 * that /authorize then takes instead of the parameters.
 */
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "login/login_int.h"
#include "oauth/dpop.h"
#include "oauth/oauth.h"
#include "registry/registry.h"

/*
 * spec §19, RFC 9449 §10: a DPoP proof on the PAR request binds the code
 * to its key as dpop_jkt does; both present and different is refused.
 */
static int
par_dpop_bind(struct http_req *r, json_t *areq, struct err *e)
{
	const char *asked = json_string_value(json_object_get(areq, "dpop_jkt"));
	struct oauth_dpop dp;
	int rc;

	rc = oauth_dpop_check(r, r->route_data, "/par", NULL, &dp, e);
	if (rc != 0 || !dp.present)
		return rc;
	if (asked != NULL && strcmp(asked, dp.jkt) != 0)
		return ERR(e, ERR_DENIED, 400, OAUTH_INVALID_DPOP_PROOF,
			   "dpop_jkt is not the thumbprint of the proof's key");
	if (json_object_set_new(areq, "dpop_jkt", json_string(dp.jkt)) != 0)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	return 0;
}

void
login_handle_par(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	struct err e = { 0 };
	const struct client *client = NULL;
	json_t *areq = NULL, *body;
	const char *amr = NULL;
	char *id;
	int rc;

	if (r->bad_input) {
		(void)ERR(&e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "malformed request: %.200s",
			  r->input_err.msg);
		oauth_resp_error(r, w, &e);
		return;
	}
	rc = oauth_client_auth(r, r->route_data, &client, &amr, &e);
	if (rc != 0) {
		oauth_resp_error(r, w, &e);
		return;
	}
	if (!reg_client_fits(client, r->route_data)) {
		(void)ERR(&e, ERR_DENIED, 400, OAUTH_UNAUTHORIZED_CLIENT,
			  "the client is not registered for this service");
		oauth_resp_error(r, w, &e);
		goto out;
	}
	if (http_param(&r->form, "request_uri", &(struct str){ 0 }) != ERR_NOTFOUND) {
		http_resp_oauth_error(w, 400, OAUTH_INVALID_REQUEST,
				      "request_uri is not allowed at the PAR endpoint");
		goto out;
	}
	{
		struct http_params ro = { 0 };
		const char *request = http_param_c(&r->form, "request");

		if (request != NULL)
			rc = login_authz_request_object(r, client, request, &ro, &e);
		if (rc == 0)
			rc = login_authz_validate(r, request ? &ro : &r->form, client, &areq, &e);
	}
	if (rc == 0)
		rc = par_dpop_bind(r, areq, &e);
	if (rc != 0) {
		e.status = e.status == 503 ? 503 : 400;
		oauth_resp_error(r, w, &e);
		goto out;
	}
	id = rand_token(r->arena);
	rc = id ? store_call(app->store, login, doc_put, "par", id, areq,
			   time_now() + app->cfg->par_lifetime, &e)
		: ERR(&e, ERR_CRYPTO, 500, OAUTH_SERVER_ERROR, "no randomness");
	if (rc != 0) {
		log_err(r->rid, "cannot store PAR request: %s", e.msg);
		http_resp_oauth_error(w, rc == ERR_UNAVAILABLE ? 503 : 500,
				      rc == ERR_UNAVAILABLE ? OAUTH_TEMPORARILY_UNAVAILABLE
							    : OAUTH_SERVER_ERROR,
				      "the request could not be stored");
		goto out;
	}
	body = json_pack("{s:s+, s:I}", "request_uri", PAR_URN_PREFIX, id, "expires_in",
			 (json_int_t)app->cfg->par_lifetime);
	http_resp_json(w, 201, body);
	http_resp_header(w, "Cache-Control", "no-store");
	json_decref(body);
out:
	oauth_dpop_nonce_header(r, r->route_data, w);
	json_decref(areq);
	reg_client_release(client);
}
