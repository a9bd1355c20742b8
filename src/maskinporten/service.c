/*
 * Maskinporten as a service (app/service.h): its issuer's routes and
 * portenctl's delegation command.  The business-certificate trust it
 * checks grants against is the registry's (registry/trust.c).
 */
#include "maskinporten/mp.h"

#include <stdio.h>

#include "app/service.h"
#include "maskinporten/mp_int.h"

static const struct cfg_row mp_rows[] = {
	/* DPoP server nonces at Maskinporten's /token (spec/idporten-oidc.md §19). */
	CFG_ROW("maskinporten_dpop_nonce", CFG_BOOL, maskinporten_dpop_nonce, "false", 0, 0),
};

static const struct cfg_section mp_cfg = {
	"maskinporten", mp_rows, sizeof(mp_rows) / sizeof(mp_rows[0]), NULL,
};

/*
 * spec/maskinporten.md §2, §12: metadata, keys and the token endpoint
 * only.  jwks_uri is <issuer>jwk; /jwks.json is the same set under the
 * name the other issuers use.
 */
static const struct service_route mp_routes[] = {
	{ "GET", "/.well-known/oauth-authorization-server", mp_handle_discovery },
	{ "GET", "/.well-known/openid-configuration", mp_handle_discovery },
	{ "GET", "/jwk", oauth_handle_jwks },
	{ "GET", "/jwks.json", oauth_handle_jwks },
	{ "POST", "/token", mp_handle_token },
	{ NULL, NULL, NULL },
};

static const struct cli_command mp_commands[] = {
	{ "delegation", mp_cmd_delegation, mp_cmd_delegation_usage },
	{ NULL, NULL, NULL },
};

const struct porten_service mp_service = {
	.name = "maskinporten",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_MASKINPORTEN),
	.cfg = &mp_cfg,
	.routes = mp_routes,
	.commands = mp_commands,
};
