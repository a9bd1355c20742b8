/*
 * Store facet of the registry: clients, scopes, signing keys, and the meta
 * values every node shares (registry_gen, the pairwise salt, shared
 * secrets).  Reached through store_call(s, registry, op, ...).
 */
#ifndef PORTEN_STORE_FACET_REGISTRY_H
#define PORTEN_STORE_FACET_REGISTRY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct store;

/* A signing key as stored: the private key sealed under the KEK. */
struct store_key {
	char *kid;
	char *issuer;        /* which issuer it signs for */
	char *alg;           /* "RS256" */
	char *sealed;        /* sealed private key (jose_kek_seal output) */
	char *public_jwk;    /* public JWK as JSON text */
	int64_t created;
	int64_t active_from; /* publish first, sign from here on */
	int64_t retired_at;  /* 0 = not retired; stops signing at this time */
	int64_t expires_at;  /* 0 = none; removed from JWKS after this */
};

struct store_registry_ops {
	/* Meta: small named values shared by all nodes (pairwise salt, schema). */
	int (*meta_get)(struct store *s, const char *name, char **value, struct err *e);
	/*
	 * The registry's epoch, when the store watches for changes to clients
	 * and scopes itself (PostgreSQL: pg_watch.c): a number that moves on
	 * with every change, read without a statement.  *epoch is 0 when it
	 * does not, or cannot vouch for it now (SQLite, whose read of
	 * registry_gen costs no round trip; a watch that has lost the
	 * database): then read registry_gen with meta_get.  Always 0.
	 */
	int (*registry_epoch)(struct store *s, uint64_t *epoch, struct err *e);
	/* Insert only if absent; ERR_EXISTS otherwise (so nodes agree on one value). */
	int (*meta_put_new)(struct store *s, const char *name, const char *value, struct err *e);

	/* Clients: doc is the registration (spec/selfservice-api.md). */
	int (*client_get)(struct store *s, const char *client_id, json_t **doc, struct err *e);
	int (*client_create)(struct store *s, const char *client_id, const json_t *doc, struct err *e);
	int (*client_update)(struct store *s, const char *client_id, const json_t *doc, struct err *e);
	int (*client_delete)(struct store *s, const char *client_id, struct err *e);
	/* A JSON array of all client docs, ordered by client_id. */
	int (*client_list)(struct store *s, json_t **docs, struct err *e);

	/* Scopes: doc holds the scope's attributes (spec §13). */
	int (*scope_get)(struct store *s, const char *name, json_t **doc, struct err *e);
	int (*scope_put)(struct store *s, const char *name, const json_t *doc, struct err *e);
	int (*scope_delete)(struct store *s, const char *name, struct err *e);
	int (*scope_list)(struct store *s, json_t **docs, struct err *e);

	/* Signing keys. */
	int (*key_add)(struct store *s, const struct store_key *k, struct err *e);
	/* All keys of an issuer not yet past expires_at, newest first (caller: store_keys_free). */
	int (*key_list)(struct store *s, const char *issuer, struct store_key **keys, size_t *n,
			struct err *e);
	int (*key_retire)(struct store *s, const char *kid, int64_t retired_at, int64_t expires_at,
			  struct err *e);
	/*
	 * Replace a key's sealed text, only while it is still old_sealed (a
	 * KEK rotation on two machines at once re-seals each key once):
	 * ERR_NOTFOUND when the key is gone or was re-sealed meanwhile.
	 */
	int (*key_reseal)(struct store *s, const char *kid, const char *old_sealed,
			  const char *new_sealed, struct err *e);
};

void store_keys_free(struct store_key *keys, size_t n);
void store_key_clear(struct store_key *k);

#endif
