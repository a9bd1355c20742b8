/*
 * Maskinporten's metadata (spec/maskinporten.md §12, RFC 8414): served at
 * the issuer string followed by .well-known/oauth-authorization-server
 * (and, for clients that only know OpenID discovery, openid-configuration).
 */
#include "maskinporten/mp.h"

#include "oauth/oauth.h"

void
mp_handle_discovery(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	json_t *d;

	/* spec §12: token_endpoint <issuer>token, jwks_uri <issuer>jwk. */
	d = json_pack("{s:s, s:o, s:o, s:[s], s:[s], s:[sss], s:[s]}", "issuer", is->iss,
		      "token_endpoint", oauth_issuer_url(is, "/token"),
		      "jwks_uri", oauth_issuer_url(is, "/jwk"),
		      "token_endpoint_auth_methods_supported", "private_key_jwt",
		      "grant_types_supported", MP_GRANT_TYPE,
		      "token_endpoint_auth_signing_alg_values_supported", "RS256", "RS384", "RS512",
		      "authorization_details_types_supported", "urn:altinn:systemuser");
	if (d == NULL) {
		http_resp_oauth_error(w, 500, "server_error", "internal error");
		return;
	}
	http_resp_json(w, 200, d);
	http_resp_header(w, "Cache-Control", "public, max-age=3600");
	http_resp_header(w, "Access-Control-Allow-Origin", "*");
	json_decref(d);
}
