/*
 * Registry: clients, scopes and signing keys: validation and life cycle.
 * The same functions serve portenctl (locally) and the self-service API
 * (src/admin/), so every rule of spec/selfservice-api.md lives here once.
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
/*
 * key_lifetime: if the issuer's signing key has signed for key_lifetime
 * minus key_publish_delay and no successor waits, rotate (as above), so the
 * successor signs when the lifetime is over.  One node of many does it (a
 * claim in the store's meta values).  A key whose successor was withdrawn
 * while it waited signs on, and is rotated again a key_lifetime after it
 * was due, never on the next tick.  Whatever key_lifetime says, if no key
 * signs now a new key signs at once.  *kid: the new kid (malloc'd), or
 * NULL when nothing was due.  Keys in a PKCS#11 token are left alone.
 */
int reg_keys_rotate_due(struct porten *app, const struct issuer *is, char **kid,
			struct err *e);
/*
 * Withdraw a compromised key at once: it leaves the JWKS and stops signing.
 * If no other key would sign now, a new key is created that signs at once
 * (*successor, malloc'd, when successor is non-NULL; else NULL).  A
 * successor in waiting withdrawn: the keys that were to retire when it
 * starts sign on until the next one in waiting starts, or with no end.  Other
 * nodes follow within their key caches (5 s).  ERR_NOTFOUND when the issuer
 * publishes no such key.
 */
int reg_keys_withdraw(struct porten *app, const struct issuer *is, const char *kid,
		      char **successor, struct err *e);
void reg_keys_cleanup(void);
/*
 * KEK rotation: seal every stored key of is that opens only under
 * kek_previous anew under kek; *resealed and *current count the keys
 * re-sealed and those already under kek.  ERR_INVAL without
 * kek_previous; a key that opens under neither stops it before any write.
 */
int reg_keys_reseal(struct porten *app, const struct issuer *is, size_t *resealed, size_t *current,
		    struct err *e);
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
/*
 * Add a public JWK (RSA, sig, kid), or each key of a JWKS or array of keys,
 * to the client's jwks (at most 5), in one write: if any key is refused,
 * none is added.  Recorded in the audit trail as "add" of kind "keys".
 */
int reg_client_add_key(struct porten *app, const char *client_id, const json_t *jwk,
		       struct err *e);
/* The client as shown to operators: the stored doc without secret hashes or write count (new ref). */
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

/* ---- who asks: the operator or an organisation (spec/selfservice-api.md §2) ---- */

/*
 * The caller of a registry change.  portenctl acts as reg_operator (orgno
 * NULL), who may do anything the rules allow.  The self-service API acts
 * for the organisation of its token's consumer, with rights from its
 * scopes: owner for the plain idporten:dcr.* scope the operation needs,
 * supplier for idporten:dcr.supplier.  A client the caller neither owns
 * (client_orgno, with owner) nor supplies (supplier_orgno, with supplier)
 * does not exist for it: ERR_NOTFOUND, as an unknown one.
 */
struct reg_actor {
	const char *orgno;       /* the caller's organisation number; NULL: the operator */
	bool owner;              /* may act on clients whose client_orgno is orgno */
	bool supplier;           /* may act on clients whose supplier_orgno is orgno */
};
extern const struct reg_actor reg_operator;

/*
 * Does orgno own this scope (a stored doc, or NULL for none)?  Its
 * owner_orgno is orgno; orgno NULL is the operator, who owns every scope.
 * The one ownership rule of the scope functions for a caller.
 */
bool reg_scope_owned_by(const json_t *scope, const char *orgno);

/* May who see and change this client (a stored or public doc)? */
bool reg_actor_sees(const struct reg_actor *who, const json_t *client);

/*
 * The client functions above, for a caller.  For an organisation: create
 * sets client_orgno to its own (another only with supplier, which then
 * stamps supplier_orgno), refuses a chosen client_id (409 when it names a
 * client of the caller that is deactivated: no revival), and admits only
 * scopes the organisation may use (§6.4; idporten:dcr* and idporten:scopes*
 * are the operator's to give); update keeps client_orgno and
 * supplier_orgno as they are.  Errors as the functions above; ERR_NOTFOUND
 * (404) for a client the caller does not see.
 */
int reg_client_create_as(struct porten *app, const struct reg_actor *who, const json_t *in,
			 json_t **out, char **secret, struct err *e);
int reg_client_update_as(struct porten *app, const struct reg_actor *who, const char *client_id,
			 const json_t *in, json_t **out, char **secret, struct err *e);
int reg_client_delete_as(struct porten *app, const struct reg_actor *who, const char *client_id,
			 struct err *e);
/*
 * A new secret: *secret its clear text (the caller's: wipe and free) and,
 * when answer is given, *answer {"client_id", "client_secret",
 * "client_secret_expires_at"} (new reference) from the document as
 * written, so the secret is shown whenever the rotation committed.
 */
int reg_client_rotate_secret_as(struct porten *app, const struct reg_actor *who,
				const char *client_id, char **secret, json_t **answer,
				struct err *e);
/* One client (active or deactivated) and the list, as reg_client_get and reg_client_list. */
int reg_client_get_as(struct porten *app, const struct reg_actor *who, const char *client_id,
		      json_t **doc, struct err *e);
int reg_client_list_as(struct porten *app, const struct reg_actor *who, bool include_inactive,
		       json_t **list, struct err *e);
/*
 * The key set of an active client (spec §7): *jwks {"keys": [...]} (new
 * reference; empty when it has none).  _set replaces the whole set with
 * body ({"keys": [...]} or a bare array, 1-5 keys), each key valid a year
 * from now; _delete removes every key.  *jwks (optional) gets the set
 * as stored.
 */
int reg_client_jwks_get_as(struct porten *app, const struct reg_actor *who,
			   const char *client_id, json_t **jwks, struct err *e);
int reg_client_jwks_set_as(struct porten *app, const struct reg_actor *who,
			   const char *client_id, const json_t *body, json_t **jwks,
			   struct err *e);
int reg_client_jwks_delete_as(struct porten *app, const struct reg_actor *who,
			      const char *client_id, struct err *e);

/* ---- the audit trail (registry/audit.c) ---- */

/*
 * Record a change made by who (append-only "audit" event): kind ("client",
 * "keys", "onbehalfof", "scope", "access", "prefix"), id, action, orgno
 * (the organisation the record belongs to), and the record before and
 * after (either NULL), secret hashes left out.  A failure to write is
 * logged, not returned: the change is made.
 */
void reg_audit(struct porten *app, const struct reg_actor *who, const char *kind, const char *id,
	       const char *action, const char *orgno, const json_t *before, const json_t *after);
/*
 * The newest audit records (at most limit, 1-1000) whose key ("orgno",
 * "id" or "actor") has value: *list, newest first (new reference).
 */
int reg_audit_list(struct porten *app, const char *key, const char *value, int64_t limit,
		   json_t **list, struct err *e);

/* ---- onbehalfof sub-registrations (registry/onbehalfof.c, spec §8) ---- */

/*
 * The entries {onbehalfof, display_name, orgno, url, created,
 * last_updated} of an active client the caller sees: list, read one,
 * create (409 when the id is there already), replace (the id stays) and
 * remove.  Errors as the client functions: ERR_NOTFOUND (404) for a
 * client or entry the caller does not see, ERR_INVAL (400) naming the
 * field.  New references.
 */
int reg_onbehalfof_list_as(struct porten *app, const struct reg_actor *who, const char *client_id,
			   json_t **list, struct err *e);
int reg_onbehalfof_get_as(struct porten *app, const struct reg_actor *who, const char *client_id,
			  const char *id, json_t **rec, struct err *e);
int reg_onbehalfof_create_as(struct porten *app, const struct reg_actor *who,
			     const char *client_id, const json_t *in, json_t **rec, struct err *e);
int reg_onbehalfof_update_as(struct porten *app, const struct reg_actor *who,
			     const char *client_id, const char *id, const json_t *in, json_t **rec,
			     struct err *e);
int reg_onbehalfof_delete_as(struct porten *app, const struct reg_actor *who,
			     const char *client_id, const char *id, struct err *e);
/* idporten-oidc §16 (design): an onbehalfof id is 1-64 letters and digits. */
bool reg_onbehalfof_id_valid(const char *id);
/* The client's entry of that id (borrowed from the record), or NULL. */
struct client;
const json_t *reg_client_onbehalfof(const struct client *c, const char *id);

/* ---- scopes for their owners (registry/scope_owner.c, spec §9) ---- */

/*
 * The operator assigns a prefix to an organisation (again: to another,
 * when the scopes under it are the new owner's).  *record (optional, new
 * reference): {prefix, owner_orgno, created}.  ERR_INVAL for a malformed
 * prefix or orgno, or scopes under it owned by another.
 */
int reg_prefix_assign(struct porten *app, const char *prefix, const char *orgno, json_t **record,
		      struct err *e);
/* Every assigned prefix: [{prefix, owner_orgno}] (open data, spec §3). */
int reg_prefix_list(struct porten *app, json_t **list, struct err *e);
/* The delegation registers a scope may name: [{name, issuer}] (new reference). */
json_t *reg_delegation_sources(void);
/*
 * For a caller (reg_operator or an organisation): create a scope (ERR_DENIED,
 * 403, under a prefix not assigned to the organisation; ERR_EXISTS, 409,
 * when the name exists, deactivated or not), update one (name, prefix and
 * subscope immutable), read, deactivate (active false; registrations and
 * grants are kept) and list the caller's own (deactivated ones only when
 * asked).  An organisation's scopes are owned by it, keep their active
 * state on update, and name a delegation source of reg_delegation_sources.
 * Another's scope, or a built-in one: ERR_NOTFOUND (404).
 */
int reg_scope_create_as(struct porten *app, const struct reg_actor *who, const json_t *in,
			json_t **out, struct err *e);
int reg_scope_update_as(struct porten *app, const struct reg_actor *who, const char *name,
			const json_t *in, json_t **out, struct err *e);
int reg_scope_get_as(struct porten *app, const struct reg_actor *who, const char *name,
		     json_t **doc, struct err *e);
int reg_scope_deactivate_as(struct porten *app, const struct reg_actor *who, const char *name,
			    json_t **out, struct err *e);
int reg_scope_list_as(struct porten *app, const struct reg_actor *who, bool include_inactive,
		      json_t **list, struct err *e);
/*
 * Active PUBLIC scopes for anyone (GET /scopes/all), without access lists;
 * each filter is NULL or must match: prefix, an allowed integration type,
 * accessible_for_all "true"/"false", delegation_source.
 */
int reg_scope_public(struct porten *app, const char *prefix, const char *itype,
		     const char *open, const char *source, json_t **list, struct err *e);
/* The access list functions below, on the caller's own scope (404 otherwise). */
int reg_scope_access_grant_as(struct porten *app, const struct reg_actor *who, const char *scope,
			      const char *orgno, json_t **record, struct err *e);
int reg_scope_access_revoke_as(struct porten *app, const struct reg_actor *who,
			       const char *scope, const char *orgno, json_t **record,
			       struct err *e);
int reg_scope_access_list_as(struct porten *app, const struct reg_actor *who, const char *scope,
			     bool include_inactive, json_t **list, struct err *e);

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
/*
 * Deactivate a grant (the record is kept; *record, optional, as it is now);
 * ERR_NOTFOUND if none is active.
 */
int reg_scope_access_revoke(struct porten *app, const char *scope, const char *orgno,
			    json_t **record, struct err *e);
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

/* ---- business certificates (registry/trust.c, spec/maskinporten.md §10) ---- */

/*
 * The trust anchors and CRLs (maskinporten_ca, maskinporten_crl) of every
 * issuer: loaded at start-up so a bad path stops portend; afterwards
 * portend's main loop calls reg_trust_reload every minute so new CRLs are
 * seen without a restart (a failed reload keeps the current set).  Without
 * maskinporten_ca every certificate is refused.
 */
int reg_trust_init(const struct cfg *c, struct err *e);
void reg_trust_reload(const struct cfg *c);
/* The current trust (a reference: jose_x509_trust_free it), or NULL. */
struct jose_x509_trust *reg_trust_get(const struct cfg *c);
void reg_trust_cleanup(void);

/* A business certificate accepted for a client. */
struct reg_cert {
	struct jose_x509_cert x;   /* organisation number, client_amr, public key */
	bool other_org;            /* refused: a valid certificate of another organisation */
};

/*
 * Check an x5c chain (leaf first) as spec/maskinporten.md §10 says: the
 * trust store, validity at now, revocation (when CRLs are configured), a
 * signing certificate with a Norwegian organisation number, and that
 * number equal to orgno (the client's client_orgno).  0 with *out filled
 * (reg_cert_clear it); ERR_INVAL: x5c malformed; ERR_DENIED: refused
 * (out->other_org when only the organisation is wrong); e->msg says why.
 */
int reg_cert_check(const struct cfg *c, const json_t *x5c, const char *orgno, int64_t now,
		   struct reg_cert *out, struct err *e);
void reg_cert_clear(struct reg_cert *c);

/*
 * A registered key locked to a business certificate (its x5c member,
 * spec/selfservice-api.md §7) is usable only while reg_cert_check accepts
 * that certificate for orgno and the key is the certificate's own key.
 * A key without x5c: 0 and *amr untouched; else 0 with *amr (optional)
 * the certificate's client_amr, or ERR_INVAL / ERR_DENIED saying why.
 */
int reg_key_lock_check(const struct cfg *c, const json_t *jwk, const char *orgno, int64_t now,
		       const char **amr, struct err *e);
/* reg_key_lock_check on every key of a JWKS being registered: 400 invalid_client_metadata. */
int reg_key_set_lock_check(const struct cfg *c, const json_t *jwks, const char *orgno,
			   int64_t now, struct err *e);

/* The service (registry/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service registry_service;

#endif
