/*
 * ID-porten's OpenID Connect front channel as a service (app/service.h):
 * its configuration (codes, PAR, logins in progress, SSO sessions) and its
 * routes under each issuer that logs people in.  The table is main.c's
 * former table less the back channel (oauth/service.c); the mount adds
 * every eID's pages behind the door (oidc/door.c).
 */
#include "oidc/oidc.h"

#include "app/service.h"
#include "oauth/oauth.h"
#include "oidc/consent.h"
#include "oidc/login.h"

static const struct cfg_row oidc_rows[] = {
	CFG_ROW("session_idle", CFG_INT, session_idle, "1800", 60, 86400),
	CFG_ROW("session_max", CFG_INT, session_max, "7200", 60, 7 * 86400),
	CFG_ROW("code_lifetime", CFG_INT, code_lifetime, "60", 5, 600),
	CFG_ROW("par_lifetime", CFG_INT, par_lifetime, "120", 10, 600),
	CFG_ROW("pending_lifetime", CFG_INT, pending_lifetime, "1800", 60, 7200),
};

static int
oidc_cfg_validate(const struct cfg *c, struct err *e)
{
	if (c->session_idle > c->session_max)
		return ERR(e, ERR_INVAL, 0, NULL, "session_idle must not exceed session_max");
	return 0;
}

static const struct cfg_section oidc_cfg = {
	"oidc", oidc_rows, sizeof(oidc_rows) / sizeof(oidc_rows[0]), oidc_cfg_validate,
};

/* The routes of an issuer that logs people in (ID-porten); paths under its prefix. */
static const struct service_route login_routes[] = {
	{ "GET", "/.well-known/openid-configuration", oidc_handle_discovery },
	{ "GET", "/jwks.json", oidc_handle_jwks },
	{ "GET", "/authorize", oauth_handle_authorize },
	{ "POST", "/authorize", oauth_handle_authorize },
	{ "POST", "/par", oauth_handle_par },
	{ "GET", "/userinfo", oidc_handle_userinfo },
	{ "POST", "/userinfo", oidc_handle_userinfo },
	{ "GET", "/logout", oidc_handle_logout },
	{ "POST", "/logout", oidc_handle_logout },
	{ "GET", "/login", login_handle_select },
	{ "POST", "/cancel", login_handle_cancel },
	{ "GET", "/consent", consent_handle_show },
	{ "POST", "/consent", consent_handle_submit },
	{ NULL, NULL, NULL },
};

const struct porten_service oidc_service = {
	.name = "oidc",
	.issuer_kinds = SERVICE_LOGIN_ISSUERS,
	.cfg = &oidc_cfg,
	.routes = login_routes,
	.mount = login_eid_mount,
};
