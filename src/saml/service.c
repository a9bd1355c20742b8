/*
 * The SAML proxy as a service (app/service.h): its configuration rows, its
 * routes under the ID-porten issuer, lasso started and stopped with
 * portend, and `portenctl saml sp ...`.
 */
#include "saml/saml.h"

#include <lasso/lasso.h>

#include "app/service.h"
#include "core/log.h"
#include "saml/saml_int.h"

static const struct cfg_row saml_rows[] = {
	CFG_ROW("saml_entity_id", CFG_STR, saml_entity_id, NULL, 0, 0),
	CFG_ROW("saml_key_file", CFG_STR, saml_key_file, NULL, 0, 0),
	CFG_ROW("saml_cert_file", CFG_STR, saml_cert_file, NULL, 0, 0),
};

static const struct cfg_section saml_cfg = {
	"saml", saml_rows, sizeof(saml_rows) / sizeof(saml_rows[0]), NULL,
};

static const struct service_route saml_routes[] = {
	{ "GET", "/saml/metadata", saml_handle_metadata },
	{ "GET", "/saml/sso", saml_handle_sso },
	{ "GET", "/saml/callback", saml_handle_callback },
	{ "POST", "/saml/artifact", saml_handle_artifact },
	{ "GET", "/saml/logout", saml_handle_logout },
	{ "GET", "/saml/logout/done", saml_handle_logout_done },
	{ "GET", "/saml/fclogout", saml_handle_fclogout },
	{ NULL, NULL, NULL },
};

static int
saml_init(struct porten *app, struct err *e)
{
	int rc = saml_idp_load(app, e);

	if (rc == 0 && saml_idp_on())
		rc = saml_oidc_init(app, e);
	if (rc == 0 && saml_idp_on())
		log_info(NULL, "SAML proxy on as %s", saml_idp_entity_id());
	return rc;
}

static void
saml_close(struct porten *app)
{
	saml_oidc_cleanup();
	saml_idp_cleanup();
}

static const struct cli_command saml_commands[] = {
	{ "saml", saml_cmd, saml_cmd_usage },
	{ NULL, NULL, NULL },
};

const struct porten_service saml_service = {
	.name = "saml",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_IDPORTEN),
	.cfg = &saml_cfg,
	.routes = saml_routes,
	.commands = saml_commands,
	.logout = saml_logout_hook,
	.customer = saml_customer,
	.init = saml_init,
	.close = saml_close,
};
