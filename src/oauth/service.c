/*
 * The OAuth back channel as a service (app/service.h): token, revocation
 * and introspection under each issuer that logs people in.  Discovery,
 * JWKS and userinfo join them when they move here from oidc/.
 */
#include "oauth/oauth.h"

#include "app/service.h"

static const struct service_route oauth_routes[] = {
	{ "POST", "/token", oauth_handle_token },
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
