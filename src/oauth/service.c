/*
 * The OAuth back channel as a service (app/service.h): discovery, JWKS,
 * token, userinfo, revocation and introspection under each issuer that
 * logs people in.
 */
#include "oauth/oauth.h"

#include "app/service.h"

static const struct service_route oauth_routes[] = {
	{ "GET", "/.well-known/openid-configuration", oauth_handle_discovery },
	{ "GET", "/jwks.json", oauth_handle_jwks },
	{ "POST", "/token", oauth_handle_token },
	{ "GET", "/userinfo", oauth_handle_userinfo },
	{ "POST", "/userinfo", oauth_handle_userinfo },
	{ "POST", "/revoke", oauth_handle_revoke },
	{ "POST", "/token/introspect", oauth_handle_introspect },
	{ "POST", "/tokeninfo", oauth_handle_introspect },
	{ NULL, NULL, NULL },
};

const struct porten_service oauth_service = {
	.name = "oauth",
	.issuer_kinds = SERVICE_LOGIN_ISSUERS,
	.routes = oauth_routes,
};
