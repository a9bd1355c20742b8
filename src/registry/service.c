/*
 * The registry as a service (app/service.h): signing-key settings (in the
 * store or a PKCS#11 token), the issuers' first keys at start-up, the
 * business-certificate trust every issuer checks clients against (loaded
 * at start, re-read every minute), the caches it keeps, and portenctl's
 * client, keys and scope commands.
 */
#include "registry/registry.h"

#include <stdlib.h>

#include "app/service.h"
#include "core/log.h"
#include "registry/cmd_int.h"

static const struct cfg_row registry_rows[] = {
	CFG_ROW("key_publish_delay", CFG_INT, key_publish_delay, "86400", 0, 30 * 86400),
	CFG_ROW("key_lifetime", CFG_INT, key_lifetime, "7776000", 3600, 3 * 365 * 86400LL),
	/* Signing keys held in a PKCS#11 token instead of the store (docs/operations.md). */
	CFG_ROW("signing_key_pkcs11_uri", CFG_STR, signing_key_pkcs11_uri, NULL, 0, 0),
	CFG_ROW("signing_key_pin_file", CFG_STR, signing_key_pin_file, NULL, 0, 0),
	CFG_ROW("maskinporten_signing_key_pkcs11_uri", CFG_STR,
		maskinporten_signing_key_pkcs11_uri, NULL, 0, 0),
	CFG_ROW("maskinporten_signing_key_pin_file", CFG_STR, maskinporten_signing_key_pin_file,
		NULL, 0, 0),
	CFG_ROW("ansattporten_signing_key_pkcs11_uri", CFG_STR,
		ansattporten_signing_key_pkcs11_uri, NULL, 0, 0),
	CFG_ROW("ansattporten_signing_key_pin_file", CFG_STR, ansattporten_signing_key_pin_file,
		NULL, 0, 0),
	/* Business-certificate trust (registry/trust.c); the names are Maskinporten's, where it began. */
	CFG_ROW("maskinporten_ca", CFG_STR, maskinporten_ca, NULL, 0, 0),
	CFG_ROW("maskinporten_crl", CFG_STR, maskinporten_crl, NULL, 0, 0),
};

/* A key must sign for a while after its publication delay (reg_keys_rotate_due). */
static int
registry_cfg_validate(const struct cfg *c, struct err *e)
{
	if (c->key_lifetime <= c->key_publish_delay)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "key_lifetime (%lld) must be longer than key_publish_delay (%lld)",
			   (long long)c->key_lifetime, (long long)c->key_publish_delay);
	return 0;
}

static const struct cfg_section registry_cfg = {
	"registry", registry_rows, sizeof(registry_rows) / sizeof(registry_rows[0]),
	registry_cfg_validate,
};

/*
 * Every issuer gets its first signing key (active at once) if it has none,
 * and its signing key must open: a store restored or moved without its
 * key-encryption key stops start-up here, rather than a node that never
 * gets ready.
 */
/* e->msg, prefixed. */
static int
err_prefix(int rc, const char *prefix, struct err *e)
{
	char why[sizeof(e->msg)];

	snprintf(why, sizeof(why), "%s", e->msg);
	return ERR(e, rc, 0, NULL, "%s: %s", prefix, why);
}

/* --check-config: the signing keys in a token open; the CA and CRL files load. */
static int
registry_check(const struct cfg *c, struct err *e)
{
	int rc = reg_keys_hsm_check(c, e);

	if (rc != 0)
		return rc;
	rc = reg_trust_init(c, e);
	reg_trust_cleanup();
	return rc != 0 ? err_prefix(rc, "maskinporten_ca/maskinporten_crl", e) : 0;
}

static int
registry_init(struct porten *app, struct err *e)
{
	if (reg_trust_init(app->cfg, e) != 0)
		return err_prefix(e->code, "cannot load business-certificate trust", e);
	for (int i = 0; i < app->nissuers; i++) {
		const struct issuer *is = &app->issuers[i];
		const struct jose_signer *signer = NULL;
		char why[sizeof(e->msg)];
		int rc = reg_keys_ensure(app, is, e);

		if (rc != 0) {
			snprintf(why, sizeof(why), "%s", e->msg);
			return ERR(e, rc, 0, NULL, "cannot create signing key: %s", why);
		}
		rc = reg_keys_signing(app, is, &signer, e);
		if (rc != 0) {
			snprintf(why, sizeof(why), "%s", e->msg);
			return ERR(e, rc, 0, NULL,
				   "the signing key of %s does not open (%s): start with the "
				   "key-encryption key the store was sealed with (PORTEN_KEK or kek_file)",
				   is->iss, why);
		}
	}
	return 0;
}

/*
 * Once a minute on every node: rotate a key that has reached key_lifetime,
 * and read the CA and CRL files again (here, never in a request).
 */
static void
registry_tick(struct porten *app)
{
	reg_trust_reload(app->cfg);
	for (int i = 0; i < app->nissuers; i++) {
		struct err e = { 0 };
		char *kid = NULL;

		if (reg_keys_rotate_due(app, &app->issuers[i], &kid, &e) != 0)
			log_err(NULL, "key rotation for %s: %s", app->issuers[i].iss, e.msg);
		free(kid);
	}
}

/* The keys it unsealed or opened in a token, and the parsed clients and scopes. */
static void
registry_close(struct porten *app)
{
	reg_keys_cleanup();
	reg_cache_cleanup();
	reg_trust_cleanup();
}

static const struct cli_command registry_commands[] = {
	{ "client", reg_cmd_client, reg_cmd_client_usage },
	{ "keys", reg_cmd_keys, reg_cmd_keys_usage },
	{ "kek", reg_cmd_kek, reg_cmd_kek_usage },
	{ "scope", reg_cmd_scope, reg_cmd_scope_usage },
	{ "audit", reg_cmd_audit, reg_cmd_audit_usage },
	{ NULL, NULL, NULL },
};

const struct porten_service registry_service = {
	.name = "registry",
	.cfg = &registry_cfg,
	.commands = registry_commands,
	.check = registry_check,
	.init = registry_init,
	.tick = registry_tick,
	.close = registry_close,
};
