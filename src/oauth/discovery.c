/* Discovery (OIDC Discovery 1.0, spec/idporten-oidc.md §2) and JWKS. */
#include "core/loa.h"
#include "app/service.h"
#include "core/log.h"
#include "oauth/oauth.h"
#include "registry/registry.h"

static json_t *
discovery_strings(const char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v[i] != NULL; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The authorization_details types of the steps that run under is (app/service.h). */
static json_t *
discovery_rar_types(const struct porten *app, const struct issuer *is)
{
	struct service_step_iter it = { 0 };
	const struct login_step *st;
	json_t *a = json_array();

	while ((st = service_step_next(app->services, &it)) != NULL) {
		if ((st->issuer_kinds & SERVICE_ISSUER(is->kind)) == 0 || st->rar_types == NULL)
			continue;
		for (size_t t = 0; st->rar_types[t] != NULL; t++)
			json_array_append_new(a, json_string(st->rar_types[t]));
	}
	return a;
}

void
oauth_handle_discovery(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	static const char *const auth_methods[] = { "client_secret_basic", "client_secret_post",
						    "private_key_jwt", "none", NULL };
	/* RFC 7662 §2.1: introspection needs the caller's credentials. */
	static const char *const introspect_methods[] = { "client_secret_basic",
							  "client_secret_post",
							  "private_key_jwt", NULL };
	static const char *const rs_algs[] = { "RS256", "RS384", "RS512", NULL };
	bool ap = is->kind == ISSUER_ANSATTPORTEN;
	json_t *d = json_object();

	json_object_set_new(d, "issuer", json_string(is->iss));
	json_object_set_new(d, "authorization_endpoint", oauth_browser_url(is, "/authorize"));
	json_object_set_new(d, "pushed_authorization_request_endpoint",
			    oauth_issuer_url(is, "/par"));
	json_object_set_new(d, "token_endpoint", oauth_issuer_url(is, "/token"));
	/* spec/ansattporten-eidas-testid.md §1.1: Ansattporten has no userinfo. */
	if (!ap)
		json_object_set_new(d, "userinfo_endpoint", oauth_issuer_url(is, "/userinfo"));
	json_object_set_new(d, "jwks_uri", oauth_issuer_url(is, "/jwks.json"));
	json_object_set_new(d, "end_session_endpoint", oauth_browser_url(is, "/logout"));
	json_object_set_new(d, "revocation_endpoint", oauth_issuer_url(is, "/revoke"));
	json_object_set_new(d, "introspection_endpoint", oauth_issuer_url(is, "/token/introspect"));
	json_object_set_new(d, "response_types_supported",
			    discovery_strings((const char *const[]){ "code", NULL }));
	json_object_set_new(d, "response_modes_supported",
			    discovery_strings((const char *const[]){ "query", "form_post",
								     "fragment", NULL }));
	json_object_set_new(d, "grant_types_supported",
			    discovery_strings((const char *const[]){ "authorization_code",
								     "refresh_token", NULL }));
	json_object_set_new(d, "code_challenge_methods_supported",
			    discovery_strings((const char *const[]){ "S256", NULL }));
	json_object_set_new(d, "token_endpoint_auth_methods_supported",
			    discovery_strings(auth_methods));
	json_object_set_new(d, "token_endpoint_auth_signing_alg_values_supported",
			    discovery_strings(rs_algs));
	json_object_set_new(d, "revocation_endpoint_auth_methods_supported",
			    discovery_strings(auth_methods));
	json_object_set_new(d, "introspection_endpoint_auth_methods_supported",
			    discovery_strings(introspect_methods));
	json_object_set_new(d, "subject_types_supported",
			    discovery_strings((const char *const[]){ "pairwise", NULL }));
	json_object_set_new(d, "id_token_signing_alg_values_supported",
			    discovery_strings((const char *const[]){ "RS256", NULL }));
	json_object_set_new(d, "request_object_signing_alg_values_supported",
			    discovery_strings(rs_algs));
	/* spec §19 */
	json_object_set_new(d, "dpop_signing_alg_values_supported",
			    discovery_strings((const char *const[]){ "ES256", "RS256", "PS256",
								     "EdDSA", NULL }));
	json_object_set_new(d, "request_parameter_supported", json_true());
	json_object_set_new(d, "request_uri_parameter_supported", json_false());
	json_object_set_new(d, "require_pushed_authorization_requests", json_false());
	json_object_set_new(d, "acr_values_supported",
			    discovery_strings(ap ? (const char *const[]){ ACR_AP_SUBSTANTIAL,
									  ACR_AP_HIGH, NULL }
						 : (const char *const[]){ ACR_SUBSTANTIAL, ACR_HIGH,
									  ACR_EIDAS_SUBSTANTIAL,
									  ACR_EIDAS_HIGH, NULL }));
	json_object_set_new(d, "ui_locales_supported",
			    discovery_strings((const char *const[]){ "nb", "nn", "en", "se", NULL }));
	json_object_set_new(d, "prompt_values_supported",
			    discovery_strings((const char *const[]){ "login", "none", NULL }));
	/* profile is the scope of userinfo, which Ansattporten has not. */
	json_object_set_new(d, "scopes_supported",
			    discovery_strings(ap ? (const char *const[]){ "openid", NULL }
						 : (const char *const[]){ "openid", "profile",
									  NULL }));
	/* Ansattporten's tokens may also name the person and the organisations chosen. */
	json_object_set_new(d, "claims_supported",
			    discovery_strings(ap ? (const char *const[]){
						      "sub", "iss", "aud", "exp", "iat", "jti",
						      "auth_time", "nonce", "acr", "amr", "pid",
						      "locale", "sid", "name",
						      "authorization_details", NULL }
						 : (const char *const[]){
						      "sub", "iss", "aud", "exp", "iat", "jti",
						      "auth_time", "nonce", "acr", "amr", "pid",
						      "locale", "sid", NULL }));
	json_object_set_new(d, "frontchannel_logout_supported", json_true());
	json_object_set_new(d, "frontchannel_logout_session_supported", json_true());
	json_object_set_new(d, "backchannel_logout_supported", json_true());
	json_object_set_new(d, "backchannel_logout_session_supported", json_true());
	json_object_set_new(d, "authorization_response_iss_parameter_supported", json_true());
	json_object_set_new(d, "claims_parameter_supported", json_false());
	json_object_set_new(d, "authorization_details_types_supported",
			    discovery_rar_types(r->app, is));
	http_resp_json(w, 200, d);
	http_resp_header(w, "Cache-Control", "public, max-age=3600");
	http_resp_header(w, "Access-Control-Allow-Origin", "*");
	json_decref(d);
}

void
oauth_handle_jwks(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	struct err e = { 0 };
	json_t *jwks = NULL;

	if (reg_keys_jwks(r->app, is, &jwks, &e) != 0) {
		log_err(r->rid, "cannot list keys: %s", e.msg);
		http_resp_oauth_error(w, 503, OAUTH_TEMPORARILY_UNAVAILABLE, "keys unavailable");
		return;
	}
	http_resp_json(w, 200, jwks);
	http_resp_header(w, "Cache-Control", "public, max-age=300");
	http_resp_header(w, "Access-Control-Allow-Origin", "*");
	json_decref(jwks);
}
