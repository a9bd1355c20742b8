/*
 * Maskinporten as a service (app/service.h): business-certificate trust
 * (loaded at start, re-read every minute), its issuer's routes, and
 * portenctl's delegation command.
 */
#include "maskinporten/mp.h"

#include <stdio.h>

#include "app/service.h"
#include "maskinporten/mp_int.h"

static const struct cfg_row mp_rows[] = {
	CFG_ROW("maskinporten_ca", CFG_STR, maskinporten_ca, NULL, 0, 0),
	CFG_ROW("maskinporten_crl", CFG_STR, maskinporten_crl, NULL, 0, 0),
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

/* e->msg, prefixed. */
static int
mp_err_prefix(int rc, const char *prefix, struct err *e)
{
	char why[sizeof(e->msg)];

	snprintf(why, sizeof(why), "%s", e->msg);
	return ERR(e, rc, 0, NULL, "%s: %s", prefix, why);
}

/* --check-config: the CA and CRL files load. */
static int
mp_check(const struct cfg *c, struct err *e)
{
	int rc = mp_trust_init(c, e);

	mp_trust_cleanup();
	return rc != 0 ? mp_err_prefix(rc, "maskinporten_ca/maskinporten_crl", e) : 0;
}

static int
mp_init(struct porten *app, struct err *e)
{
	int rc = mp_trust_init(app->cfg, e);

	return rc != 0 ? mp_err_prefix(rc, "cannot load business-certificate trust", e) : 0;
}

/* New CRLs are seen without a restart; the files are read here, never in a request. */
static void
mp_tick(struct porten *app)
{
	mp_trust_reload(app->cfg);
}

static void
mp_close(struct porten *app)
{
	mp_trust_cleanup();
}

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
	.check = mp_check,
	.init = mp_init,
	.tick = mp_tick,
	.close = mp_close,
};
