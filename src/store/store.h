/*
 * The store: everything that must outlive a request.  The only code that
 * speaks SQL lives behind this interface (backends: sqlite, later pg).
 *
 * Records are small typed rows plus, where the shape belongs to a service, a
 * JSON document (`doc`) the service owns.  Single-use things are consumed
 * atomically inside the backend.  Secrets (codes, tokens, session cookies)
 * are keyed by their SHA-256 (base64url, see sha256_b64url()); callers hash.
 *
 * Ownership: strings and json_t returned through out-parameters belong to
 * the caller: char * with free(), json_t with json_decref().
 *
 * Thread safety: one struct store is shared by all threads; backends keep
 * one database connection per thread.
 *
 * Errors: 0; ERR_NOTFOUND (no such live record); ERR_EXISTS (key taken,
 * replayed jti); ERR_REUSED (single-use record presented again);
 * ERR_UNAVAILABLE (database away); ERR_INTERNAL.
 */
#ifndef PORTEN_STORE_STORE_H
#define PORTEN_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
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

/* A refresh token row: which grant it belongs to and until when it lives. */
struct store_refresh {
	char *grant_id;
	char *client_id;
	int64_t expires_at;
};

/*
 * What store_open() opens.  target names the database: a PostgreSQL URI
 * ("postgresql://..." or "postgres://...") or else an SQLite path, "file:"
 * URI or ":memory:".  pool_size: PostgreSQL connections per store; 0 takes
 * PORTEN_PG_POOL_SIZE from the environment, else STORE_POOL_DEFAULT; values
 * above STORE_POOL_MAX are capped.  SQLite keeps its own pool.
 */
struct store_opts {
	const char *target;
	int pool_size;
};

#define STORE_POOL_DEFAULT 8      /* PostgreSQL connections per store (per node) */
#define STORE_POOL_MAX 256

struct store_ops {
	const char *name;
	int (*open)(struct store **out, const struct store_opts *o, struct err *e);
	void (*close)(struct store *s);

	/*
	 * One transaction around the writes of one request that belong
	 * together (one commit instead of one per write; all or nothing).
	 * Every operation the calling thread runs on s between tx_begin and
	 * tx_end joins it.  Begins nest: only the outermost end commits.
	 * tx_end(commit=false), or any operation failing inside in a way the
	 * backend cannot step back from, makes the outermost end roll back and
	 * return an error.  Keep what runs inside short (no signing): with
	 * SQLite it holds the database's one write lock.
	 */
	int (*tx_begin)(struct store *s, struct err *e);
	int (*tx_end)(struct store *s, bool commit, struct err *e);
	/* How deep the calling thread's transaction on s nests: 0 outside one. */
	int (*tx_depth)(struct store *s);

	/* Meta: small named values shared by all nodes (pairwise salt, schema). */
	int (*meta_get)(struct store *s, const char *name, char **value, struct err *e);
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
	 * Short-lived documents by kind: "par" (PAR requests), "pending" (logins
	 * in progress).  put: ERR_EXISTS if the id is taken.  get: ERR_NOTFOUND
	 * when absent or expired.  take: get and delete in one step.
	 */
	int (*doc_put)(struct store *s, const char *kind, const char *id, const json_t *doc,
		       int64_t expires_at, struct err *e);
	int (*doc_get)(struct store *s, const char *kind, const char *id, json_t **doc,
		       struct err *e);
	int (*doc_update)(struct store *s, const char *kind, const char *id, const json_t *doc,
			  struct err *e);
	int (*doc_take)(struct store *s, const char *kind, const char *id, json_t **doc,
			struct err *e);
	int (*doc_delete)(struct store *s, const char *kind, const char *id, struct err *e);

	/*
	 * Authorization codes, keyed by hash.  consume: returns the doc and marks
	 * the code used in one step.  ERR_NOTFOUND if unknown or expired;
	 * ERR_REUSED if already used, with *grant_id set to the grant the first
	 * use issued (caller revokes it).
	 */
	int (*code_put)(struct store *s, const char *hash, const char *grant_id, const json_t *doc,
			int64_t expires_at, struct err *e);
	int (*code_consume)(struct store *s, const char *hash, json_t **doc, char **grant_id,
			    struct err *e);

	/*
	 * Grants: one per code redemption; every token issued from it belongs to
	 * it.  sid ties it to the SSO session it came from; login_only marks
	 * grants whose scopes are only openid/profile (logout revokes those).
	 * doc: the authentication context needed to refresh (person, acr, ...).
	 */
	int (*grant_put)(struct store *s, const char *grant_id, const char *client_id,
			 const char *sid, bool login_only, const json_t *doc, int64_t expires_at,
			 struct err *e);
	/* ERR_NOTFOUND when unknown, revoked or expired. */
	int (*grant_get)(struct store *s, const char *grant_id, json_t **doc, struct err *e);
	int (*grant_revoke)(struct store *s, const char *grant_id, struct err *e);
	/* Revoke the login-only grants of a session (logout, spec §15 step 3). */
	int (*grant_revoke_session)(struct store *s, const char *sid, struct err *e);

	/* Refresh tokens, keyed by hash, rotated atomically. */
	int (*refresh_put)(struct store *s, const char *hash, const char *grant_id,
			   const char *client_id, int64_t expires_at, struct err *e);
	/*
	 * Spend old_hash and store new_hash in its place (same grant) with
	 * new_expires_at, in one transaction.  *out gets the old row.
	 * ERR_NOTFOUND: unknown, expired, or its grant revoked/expired.
	 * ERR_REUSED: already spent; the backend has revoked the grant (family).
	 */
	int (*refresh_rotate)(struct store *s, const char *old_hash, const char *new_hash,
			      int64_t new_expires_at, struct store_refresh *out, struct err *e);
	/* Look up without spending (revocation); same errors as rotate minus REUSED. */
	int (*refresh_get)(struct store *s, const char *hash, struct store_refresh *out,
			   struct err *e);

	/*
	 * Access tokens issued, keyed by hash of the token string, JWT or opaque:
	 * doc is the claim set (for introspection, userinfo and opaque tokens).
	 * get: ERR_NOTFOUND when unknown, expired or its grant revoked.
	 */
	int (*token_put)(struct store *s, const char *hash, const char *grant_id, const json_t *doc,
			 int64_t expires_at, struct err *e);
	int (*token_get)(struct store *s, const char *hash, json_t **doc, char **grant_id,
			 struct err *e);

	/*
	 * SSO sessions, keyed by hash of the cookie value.  doc is owned by the
	 * session code (sid, person, acr, amr, auth_time, ...).  get fails with
	 * ERR_NOTFOUND past idle_expires or abs_expires.
	 */
	int (*session_put)(struct store *s, const char *hash, const json_t *doc,
			   int64_t idle_expires, int64_t abs_expires, struct err *e);
	int (*session_get)(struct store *s, const char *hash, json_t **doc, struct err *e);
	/* Replace doc and push idle_expires (never past abs_expires). */
	int (*session_update)(struct store *s, const char *hash, const json_t *doc,
			      int64_t idle_expires, struct err *e);
	int (*session_delete)(struct store *s, const char *hash, struct err *e);

	/* Replay cache: ERR_EXISTS if key was remembered before and not yet expired. */
	int (*jti_remember)(struct store *s, const char *key, int64_t expires_at, struct err *e);

	/* Append one event (doc: who, client, org, eid, level, time). */
	int (*event_add)(struct store *s, const char *type, const json_t *doc, struct err *e);
	/* Count events of a type (tests, statistics). */
	int (*event_count)(struct store *s, const char *type, int64_t *n, struct err *e);

	/* Delete everything expired before now; *n = rows removed. */
	int (*sweep)(struct store *s, int64_t now, int64_t *n, struct err *e);
};

struct store {
	const struct store_ops *ops;
	uint64_t serial;         /* unique per store_open in this process (caches tell stores apart) */
};

/* Call an operation: store_op(s, code_consume, hash, &doc, &grant_id, e). */
#define store_op(s, op, ...) ((s)->ops->op((s), __VA_ARGS__))

/* Open the engine that fits o->target (src/store/open.c). */
int store_open(struct store **out, const struct store_opts *o, struct err *e);
/* The PostgreSQL pool size o asks for (see struct store_opts). */
unsigned store_pool_size(const struct store_opts *o);
void store_close(struct store *s);
void store_keys_free(struct store_key *keys, size_t n);
void store_key_clear(struct store_key *k);
void store_refresh_clear(struct store_refresh *r);

/*
 * Run body(arg, e) in one transaction (tx_begin ... tx_end): committed when
 * it returns 0, rolled back when it fails, whose error is returned.  When
 * the outermost transaction fails with ERR_UNAVAILABLE (the connection was
 * lost on the way, a database restart) nothing of it was committed, and it
 * runs once more on a fresh connection: body must be safe to run twice
 * (write values computed before it, or start its own output afresh).  A
 * nested run is not retried: the outer transaction is already lost.
 */
int store_tx_run(struct store *s, int (*body)(void *arg, struct err *e), void *arg,
		 struct err *e);

#endif
