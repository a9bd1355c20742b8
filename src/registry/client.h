/*
 * The client record: a client's registration as the request paths read it,
 * parsed once from its stored JSON document when the registry cache loads
 * it (registry/cache.c), with the spec's defaults already applied.
 *
 * Ownership: a record is reference-counted and read-only.  The cache slot
 * holds one reference; reg_client_find() hands each caller another, which
 * it gives back with reg_client_release().  Strings and the JSON members
 * point into doc, which the record keeps alive, so they live exactly as
 * long as the record.  Threads share records without locks: nothing in one
 * is written after the parse except the atomic count.
 */
#ifndef PORTEN_REGISTRY_CLIENT_H
#define PORTEN_REGISTRY_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "core/err.h"
#include "core/str.h"

/* spec/idporten-oidc.md §12: lifetimes of a client that names none (seconds). */
#define CLIENT_DFLT_AUTHZ_LIFETIME 7200
#define CLIENT_DFLT_AT_LIFETIME 120
#define CLIENT_DFLT_RT_LIFETIME 600

/* A list of strings of the document (the pointers live in the record). */
struct client_strs {
	const char *const *v;
	size_t n;
};

struct client {
	const char *client_id;                  /* never NULL */
	const char *client_name;                /* NULL when absent, as below */
	const char *integration_type;           /* "idporten", "maskinporten", ... */
	const char *application_type;           /* "web", "browser", "native"; NULL for machines */
	const char *token_endpoint_auth_method; /* never NULL: client_secret_basic when unset */
	const char *code_challenge_method;      /* "S256", "none" or NULL */
	struct client_strs grant_types;
	struct client_strs scopes;
	struct client_strs redirect_uris;
	struct client_strs post_logout_redirect_uris;
	const char *frontchannel_logout_uri;
	bool frontchannel_logout_session_required;
	const char *backchannel_logout_uri;     /* spec §20; NULL: none */
	bool sso_disabled;                      /* always true for ansattporten clients */
	bool active;
	/* Positive: a stored value <= 0 or absent gives the CLIENT_DFLT_* above. */
	int64_t authorization_lifetime;
	int64_t access_token_lifetime;
	int64_t refresh_token_lifetime;
	const char *refresh_token_usage;        /* "ONETIME", "REUSE" or NULL */
	const char *client_orgno;
	const char *supplier_orgno;
	const json_t *keys;                     /* the JWKs of jwks (array) or NULL */
	const json_t *jwks_posted;              /* object kid -> time posted, or NULL */
	const json_t *onbehalfof;               /* array of {onbehalfof, orgno, ...} or NULL */
	const char *client_secret_sha256;       /* NULL: no secret */
	int64_t client_secret_expires_at;       /* 0 when absent */
	/* The stored document, for readers not converted yet: read, never change. */
	const json_t *doc;
};

/*
 * Parse a stored client document into a new record (count 1).  Fields
 * that are absent take their defaults; a field that is present with the
 * wrong type (a string that is not a string, a list holding a non-string,
 * jwks that is neither a list nor {"keys": [...]}) is refused with
 * ERR_INVAL and a message naming the field.  client_id is required.
 */
int reg_client_parse(const json_t *doc, struct client **out, struct err *e);
/* Another reference to c (returns c). */
const struct client *reg_client_ref(const struct client *c);
/* Give back a reference; the last one frees the record.  NULL-safe. */
void reg_client_release(const struct client *c);

/*
 * An active client for the runtime, through the cache: *out is a shared
 * record, released with reg_client_release().  ERR_NOTFOUND with
 * invalid_client when unknown or inactive; ERR_INTERNAL when the stored
 * document does not parse; store errors as reg_client_load().
 */
int reg_client_find(struct porten *app, const char *client_id, const struct client **out,
		    struct err *e);

/* Does the list hold value (exact match)? */
bool reg_strs_has(const struct client_strs *l, const char *value);
/* Check a presented secret against the stored hash, in constant time, and its expiry. */
bool reg_client_secret_matches(const struct client *c, struct str secret);
/* May this client use this issuer (its integration_type fits the issuer's kind)? */
bool reg_client_fits(const struct client *c, const struct issuer *is);

#endif
