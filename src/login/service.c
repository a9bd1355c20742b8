/*
 * The login core as a service (app/service.h): its configuration (codes,
 * PAR, logins in progress, SSO sessions), its routes under each issuer
 * that logs people in, its built-in steps (consent last), and, by its
 * mount, every eID's pages behind the door (door.c).
 */
#include "login/login.h"

#include "app/service.h"
#include "login/login_int.h"

static const struct cfg_row login_rows[] = {
	/* below 60 s in the test environment only (login_cfg_validate) */
	CFG_ROW("session_idle", CFG_INT, session_idle, "1800", 2, 86400),
	CFG_ROW("session_max", CFG_INT, session_max, "7200", 2, 7 * 86400),
	CFG_ROW("code_lifetime", CFG_INT, code_lifetime, "60", 5, 600),
	CFG_ROW("par_lifetime", CFG_INT, par_lifetime, "120", 10, 600),
	CFG_ROW("pending_lifetime", CFG_INT, pending_lifetime, "1800", 60, 7200),
	CFG_ROW("backchannel_lease", CFG_INT, backchannel_lease, "30", 2, 600),
	CFG_ROW("backchannel_retry_base", CFG_INT, backchannel_retry_base, "5", 1, 300),
	CFG_ROW("backchannel_ca_file", CFG_STR, backchannel_ca_file, NULL, 0, 0),
	CFG_ROW("backchannel_allow_private", CFG_BOOL, backchannel_allow_private, "false", 0, 0),
};

static int
login_cfg_validate(const struct cfg *c, struct err *e)
{
	if (c->session_idle > c->session_max)
		return ERR(e, ERR_INVAL, 0, NULL, "session_idle must not exceed session_max");
	if (c->env == CFG_ENV_PROD && (c->session_idle < 60 || c->session_max < 60))
		return ERR(e, ERR_INVAL, 0, NULL,
			   "session_idle and session_max below 60 s are for the test environment");
	if (c->env == CFG_ENV_PROD && c->backchannel_allow_private)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "backchannel_allow_private is for the test environment");
	return 0;
}

static const struct cfg_section login_cfg = {
	"login", login_rows, sizeof(login_rows) / sizeof(login_rows[0]), login_cfg_validate,
};

/*
 * The routes of an issuer that logs people in (ID-porten); paths under its
 * prefix.  The steps' pages (consent's) come with the steps.
 */
static const struct service_route login_routes[] = {
	{ "GET", "/authorize", login_handle_authorize },
	{ "POST", "/authorize", login_handle_authorize },
	{ "POST", "/par", login_handle_par },
	{ "GET", "/logout", login_handle_logout },
	{ "POST", "/logout", login_handle_logout },
	{ "GET", "/login", login_handle_select },
	{ "POST", "/cancel", login_handle_cancel },
	{ NULL, NULL, NULL },
};

static int
login_init(struct porten *app, struct err *e)
{
	int rc = login_seal_prepare(app, e);

	return rc != 0 ? rc : login_bcl_start(app, e);
}

/* spec/idporten-oidc.md §1: what the browser host serves, and PAR, which it does not. */
static const struct service_side login_sides[] = {
	{ "/authorize", HTTP_SIDE_BROWSER },
	{ "/logout", HTTP_SIDE_BROWSER },
	{ "/par", HTTP_SIDE_BACK },
	{ NULL, HTTP_SIDE_ANY },
};

const struct porten_service login_service = {
	.name = "login",
	.issuer_kinds = SERVICE_LOGIN_ISSUERS,
	.cfg = &login_cfg,
	.routes = login_routes,
	.steps = login_steps,
	.sides = login_sides,
	.mount = login_eid_mount,
	.init = login_init,
	.close = login_bcl_stop,
};
