/*
 * The OAuth back channel as a service (app/service.h): discovery, JWKS,
 * token, revocation and introspection under each issuer that logs people
 * in, and userinfo under ID-porten.
 */
#include "oauth/oauth.h"

#include "app/service.h"
#include "core/natid.h"

/*
 * spec §11: every access token names its consumer.  A client registered
 * without client_orgno (by the operator, with portenctl) is the operator's
 * own, so its tokens name the organisation that runs this Porten.
 */
static const struct cfg_row oauth_rows[] = {
	CFG_ROW("operator_orgno", CFG_STR, operator_orgno, OAUTH_OPERATOR_ORGNO, 0, 0),
};

static int
oauth_cfg_validate(const struct cfg *c, struct err *e)
{
	if (c->operator_orgno == NULL || !orgno_valid_c(c->operator_orgno))
		return ERR(e, ERR_INVAL, 0, NULL,
			   "operator_orgno must be a valid 9-digit organisation number");
	return 0;
}

static const struct cfg_section oauth_cfg = {
	"oauth", oauth_rows, sizeof(oauth_rows) / sizeof(oauth_rows[0]), oauth_cfg_validate,
};

static const struct service_route oauth_routes[] = {
	{ "GET", "/.well-known/openid-configuration", oauth_handle_discovery },
	{ "GET", "/jwks.json", oauth_handle_jwks },
	{ "POST", "/token", oauth_handle_token },
	{ "POST", "/revoke", oauth_handle_revoke },
	{ "POST", "/token/introspect", oauth_handle_introspect },
	{ "POST", "/tokeninfo", oauth_handle_introspect },
	{ NULL, NULL, NULL },
};

/*
 * Userinfo only where the issuer has one: Ansattporten has no userinfo
 * endpoint (spec/ansattporten-eidas-testid.md §1.1), so its path is a 404.
 */
static int
oauth_mount(const struct issuer *is, struct service_routes *out, struct err *e)
{
	int rc = 0;

	if (is->kind == ISSUER_IDPORTEN) {
		rc = service_route_add(out, "GET", "/userinfo", oauth_handle_userinfo, e);
		if (rc == 0)
			rc = service_route_add(out, "POST", "/userinfo", oauth_handle_userinfo, e);
	}
	return rc;
}

/* spec/idporten-oidc.md §1: the back-channel host's endpoints, never the browser host's. */
static const struct service_side oauth_sides[] = {
	{ "/jwks.json", HTTP_SIDE_BACK },
	{ "/token", HTTP_SIDE_BACK },
	{ "/revoke", HTTP_SIDE_BACK },
	{ "/token/introspect", HTTP_SIDE_BACK },
	{ "/tokeninfo", HTTP_SIDE_BACK },
	{ "/userinfo", HTTP_SIDE_BACK },
	{ NULL, HTTP_SIDE_ANY },
};

const struct porten_service oauth_service = {
	.name = "oauth",
	.issuer_kinds = SERVICE_LOGIN_ISSUERS,
	.cfg = &oauth_cfg,
	.routes = oauth_routes,
	.sides = oauth_sides,
	.mount = oauth_mount,
};
