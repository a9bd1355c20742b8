/*
 * The self-service API as a service (app/service.h): its base path under
 * the ID-porten issuer (admin_base) and its routes there.  Production puts
 * the API on a host of its own with a proxy that maps the host to the base.
 */
#include "admin/admin.h"

#include <stdio.h>
#include <string.h>

#include "admin/admin_int.h"
#include "app/service.h"
#include "core/str.h"

#define ADM_BASE_MAX 64
#define ADM_BASE_DEFAULT "/selfservice"

static const struct cfg_row adm_rows[] = {
	CFG_ROW("admin_base", CFG_STR, admin_base, ADM_BASE_DEFAULT, 0, 0),
};

/* A path of its own: "/x" or "/x/y", lower case, no trailing slash. */
static int
adm_validate(const struct cfg *c, struct err *e)
{
	const char *b = c->admin_base;
	size_t n = b != NULL ? strlen(b) : 0;

	if (n < 2 || n > ADM_BASE_MAX || b[0] != '/' || b[n - 1] == '/' ||
	    strstr(b, "//") != NULL ||
	    !str_only(str_c(b), "abcdefghijklmnopqrstuvwxyz0123456789/._-"))
		return ERR(e, ERR_INVAL, 0, NULL,
			   "admin_base must be a path such as /selfservice: lower case, at most "
			   "%d characters, no trailing slash", ADM_BASE_MAX);
	return 0;
}

static const struct cfg_section adm_cfg = {
	"admin", adm_rows, sizeof(adm_rows) / sizeof(adm_rows[0]), adm_validate,
};

const char *
adm_base(const struct porten *app)
{
	/* A context without configuration (unit tests) gets the default. */
	if (app == NULL || app->cfg == NULL || app->cfg->admin_base == NULL)
		return ADM_BASE_DEFAULT;
	return app->cfg->admin_base;
}

/* What the resources below /clients/ answer (each handler: 405 for the rest). */
static const char *const client_methods[] = { "GET", "POST", "PUT", "DELETE" };

/* Fixed paths under the base: the access list and the open lists (scope "none"). */
static const struct service_route open_routes[] = {
	{ "GET", "/scopes/access", adm_handle_access_list },
	{ "GET", "/scopes/all", adm_handle_scopes_all },
	{ "GET", "/prefix/all", adm_handle_prefixes },
	{ "GET", "/delegationsources", adm_handle_delegation_sources },
	{ "GET", "/openapi.json", adm_handle_openapi },
};

/* §10: GET with the person's token, POST with an organisation's; the revocation list open. */
static const struct service_route authz_routes[] = {
	{ "GET", "/authorizations/clients/authorizations", adm_handle_authz_clients },
	{ "POST", "/authorizations/clients/authorizations", adm_handle_authz_clients },
	{ "GET", "/authorizations/api-provider/authorizations", adm_handle_authz_provider },
	{ "POST", "/authorizations/api-provider/authorizations", adm_handle_authz_provider },
	{ "DELETE", "/authorizations/authorizations/*", adm_handle_authz_revoke },
	{ "GET", "/revokelist", adm_handle_revokelist },
};

/* Spec §3, under the base: the list, and one handler for each client's resources. */
static int
adm_mount(const struct issuer *is, struct service_routes *out, struct err *e)
{
	char path[ADM_BASE_MAX + 32];
	const char *base = adm_base(is->app);
	int rc;

	snprintf(path, sizeof(path), "%s/clients", base);
	rc = service_route_add(out, "GET", path, adm_handle_clients, e);
	if (rc == 0)
		rc = service_route_add(out, "POST", path, adm_handle_clients, e);
	snprintf(path, sizeof(path), "%s/clients/*", base);
	for (size_t i = 0; i < sizeof(client_methods) / sizeof(client_methods[0]) && rc == 0; i++)
		rc = service_route_add(out, client_methods[i], path, adm_handle_client, e);
	/* §9: the scope-owner API; the name is a query parameter (it may hold '/'). */
	snprintf(path, sizeof(path), "%s/scopes", base);
	for (size_t i = 0; i < sizeof(client_methods) / sizeof(client_methods[0]) && rc == 0; i++)
		rc = service_route_add(out, client_methods[i], path, adm_handle_scopes, e);
	for (size_t i = 0; i < sizeof(open_routes) / sizeof(open_routes[0]) && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s%s", base, open_routes[i].path);
		rc = service_route_add(out, open_routes[i].method, path, open_routes[i].fn, e);
	}
	snprintf(path, sizeof(path), "%s/scopes/access/*", base);
	for (size_t i = 0; i < 2 && rc == 0; i++)
		rc = service_route_add(out, i == 0 ? "PUT" : "DELETE", path, adm_handle_access, e);
	/* §11 (design): on the ID-porten issuer's own host, as the docs' path. */
	if (rc == 0)
		rc = service_route_add(out, "GET", "/innlogginger/logg/idporten",
				       adm_handle_login_history, e);
	/* §10 (design): the authorizations API there too, under /authorizations. */
	for (size_t i = 0; i < sizeof(authz_routes) / sizeof(authz_routes[0]) && rc == 0; i++)
		rc = service_route_add(out, authz_routes[i].method, authz_routes[i].path,
				       authz_routes[i].fn, e);
	return rc;
}

/* portenctl's twins of the authorizations API (cmd_authz.c). */
static const struct cli_command adm_commands[] = {
	{ "authorization", adm_cmd_authz, adm_cmd_authz_usage },
	{ NULL, NULL, NULL },
};

const struct porten_service admin_service = {
	.name = "admin",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_IDPORTEN),
	.cfg = &adm_cfg,
	.mount = adm_mount,
	.commands = adm_commands,
};
