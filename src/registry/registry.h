/*
 * Registry: clients, scopes and signing keys: validation and life cycle.
 * The same functions serve portenctl (locally) and the self-service API
 * (later), so every rule of spec/selfservice-api.md lives here once.
 */
#ifndef PORTEN_REGISTRY_REGISTRY_H
#define PORTEN_REGISTRY_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>

#include "app/app.h"
#include "core/err.h"

/* ---- signing keys (registry/keys.c) ---- */

/* Create the issuer's first signing key if it has none (active at once). */
int reg_keys_ensure(struct porten *app, const struct issuer *is, struct err *e);
/*
 * The signer for the issuer now: that of the newest key whose active_from
 * has passed and that is not retired; hand it to jose_jwt_sign().
 * Borrowed: valid until app_close().  Cached in-process and re-read from
 * the store every few seconds, so a rotation on another node is seen
 * quickly.  Thread-safe.
 */
int reg_keys_signing(struct porten *app, const struct issuer *is,
		     const struct jose_signer **signer, struct err *e);
/* The issuer's published JWKS {"keys":[...]}: new reference. */
int reg_keys_jwks(struct porten *app, const struct issuer *is, json_t **jwks, struct err *e);
/*
 * The same set for verifying the issuer's own tokens (oauth/bearer.c):
 * kept in-process and read again when older than max_age_ms, so a key
 * rotated on another node is known within that time.  New reference.
 */
int reg_keys_jwks_cached(struct porten *app, const struct issuer *is, int64_t max_age_ms,
			 json_t **jwks, struct err *e);
/*
 * Rotate: add a new key published now and signing after
 * cfg->key_publish_delay; the current key keeps signing until then and is
 * retired at that moment, staying published until the longest token it may
 * have signed has expired.  *kid gets the new kid (malloc'd).
 */
int reg_keys_rotate(struct porten *app, const struct issuer *is, char **kid, struct err *e);
void reg_keys_cleanup(void);
/*
 * For --check-config: open every signing key configured in a PKCS#11
 * token (sign and verify a probe) and close it again.  e->msg names the
 * setting: a wrong URI, a refused PIN, a token that is away.
 */
int reg_keys_hsm_check(const struct cfg *c, struct err *e);

/* ---- clients (registry/client.c) ---- */

/*
 * Validate a registration (spec/selfservice-api.md §4-§6) and fill
 * defaults.  `in` is the caller's JSON; on success *out is the stored form
 * (new reference).  On create a client_id (UUID) is generated and, for
 * client_secret_* methods, a secret: *secret gets it in clear (malloc'd,
 * wipe and free it), the doc keeps only its SHA-256.  Errors: ERR_INVAL with
 * e->oauth = "invalid_client_metadata" and a message naming the field.
 */
int reg_client_create(struct porten *app, const json_t *in, json_t **out, char **secret,
		      struct err *e);
/* Update writable fields (integration_type immutable).  *out: stored form. */
int reg_client_update(struct porten *app, const char *client_id, const json_t *in, json_t **out,
		      struct err *e);
int reg_client_delete(struct porten *app, const char *client_id, struct err *e);
int reg_client_rotate_secret(struct porten *app, const char *client_id, char **secret,
			     struct err *e);
/* Add a public JWK (RSA, sig, kid) to the client's jwks (at most 5). */
int reg_client_add_key(struct porten *app, const char *client_id, const json_t *jwk,
		       struct err *e);
/* The client as shown to operators: the stored doc without secret hashes (new ref). */
json_t *reg_client_public(const json_t *doc);

/* Drop the parsed clients and scopes kept for request paths (app_close). */
void reg_cache_cleanup(void);

/*
 * Load an active client for the runtime (ERR_NOTFOUND when unknown or
 * inactive).  *doc is a new reference to a document shared with other
 * requests: read it, never change it (json_deep_copy first).
 */
int reg_client_load(struct porten *app, const char *client_id, json_t **doc, struct err *e);

/* Client doc field accessors with the spec's defaults. */
const char *reg_client_str(const json_t *doc, const char *field);   /* NULL if absent */
long long reg_client_int(const json_t *doc, const char *field, long long dflt);
bool reg_client_bool(const json_t *doc, const char *field);

/* Does the JSON array (a scope's lists, say) hold this string? */
bool reg_json_array_has(const json_t *arr, const char *value);

/* Redirect URI rules per application type and environment (spec §6.2). */
int reg_redirect_uri_valid(const char *uri, const char *application_type, bool test_env,
			   struct err *e);

/* ---- scopes (registry/scope.c) ---- */

/*
 * A scope's attributes (spec/idporten-oidc.md §13) as a new reference,
 * shared as reg_client_load's: read it, never change it.  The reserved
 * scopes openid and profile and Digdir's idporten:token.introspection
 * exist without being stored.
 */
int reg_scope_get(struct porten *app, const char *name, json_t **doc, struct err *e);
int reg_scope_put(struct porten *app, const json_t *in, json_t **out, struct err *e);

/* ---- additions ---- */

/*
 * reg_client_update, and when the update moves the client to a
 * client_secret_* method a secret is made: *secret gets it in clear
 * (malloc'd; wipe and free it), else NULL.  reg_client_update makes the
 * secret too but discards the clear text (rotate it to learn one).
 */
int reg_client_update_ex(struct porten *app, const char *client_id, const json_t *in,
			 json_t **out, char **secret, struct err *e);
/*
 * For operators and the self-service API: one client as reg_client_public()
 * shows it, active or deactivated (ERR_NOTFOUND when unknown); and all
 * clients (deactivated ones only when include_inactive), ordered by
 * client_id.  New references.
 */
int reg_client_get(struct porten *app, const char *client_id, json_t **doc, struct err *e);
int reg_client_list(struct porten *app, bool include_inactive, json_t **list, struct err *e);
/* All scopes: the built-in ones first, then the stored ones by name (new ref). */
int reg_scope_list(struct porten *app, json_t **list, struct err *e);
/*
 * The issuer's keys still published, newest first, as an array of
 * {kid, alg, state, created, active_from, retired_at, expires_at} with times
 * in ISO-8601 (null when unset) and state one of "signing", "pending" (not
 * yet signing), "published" (could sign, but a newer key does), "retired"
 * (no longer signs; published until expires_at).  New reference.
 */
int reg_keys_list(struct porten *app, const struct issuer *is, json_t **list, struct err *e);

/* ---- Maskinporten: access lists and delegations (registry/scope_access.c) ---- */

/*
 * Grant an organisation access to a scope (selfservice-api.md §9); a grant
 * already in force is left alone, a revoked one is made active again.
 * *record (optional, new reference) is the access record {scope, state,
 * consumer_orgno, owner_orgno, active, created, last_updated}.  ERR_INVAL
 * for a malformed name or orgno, ERR_NOTFOUND for an unknown scope,
 * ERR_LIMIT when the list is full.
 */
int reg_scope_access_grant(struct porten *app, const char *scope, const char *orgno,
			   json_t **record, struct err *e);
/* Deactivate a grant (the record is kept); ERR_NOTFOUND if none is active. */
int reg_scope_access_revoke(struct porten *app, const char *scope, const char *orgno,
			    struct err *e);
/* The scope's access records (inactive ones only when asked), new reference. */
int reg_scope_access_list(struct porten *app, const char *scope, bool include_inactive,
			  json_t **list, struct err *e);
/*
 * Token-time rule (maskinporten.md §9 step 4): may orgno get tokens with
 * this scope?  Yes when granted, when the scope is accessible_for_all or
 * when orgno owns it.  scope is a scope doc as reg_scope_get returns.
 */
bool reg_scope_access_ok(const json_t *scope, const char *orgno);

/*
 * Record that consumer has delegated scope to supplier (maskinporten.md
 * §8.3, the delegation register Porten keeps itself).  The scope must have
 * a delegation_source; adding one twice is a no-op.  *record (optional):
 * {scope, consumer_orgno, supplier_orgno, delegation_source, created}.
 */
int reg_delegation_add(struct porten *app, const char *scope, const char *consumer,
		       const char *supplier, json_t **record, struct err *e);
/* Remove it; ERR_NOTFOUND when there is none. */
int reg_delegation_remove(struct porten *app, const char *scope, const char *consumer,
			  const char *supplier, struct err *e);
/* Delegations of one scope, or of every scope when scope is NULL (new reference). */
int reg_delegation_list(struct porten *app, const char *scope, json_t **list, struct err *e);
/* Token-time rule: has consumer delegated this scope (doc) to supplier? */
bool reg_delegation_ok(const json_t *scope, const char *consumer, const char *supplier);

/* The service (registry/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service registry_service;

#endif
