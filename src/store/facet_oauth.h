/*
 * Store facet of the back channel: authorization codes, grants, refresh
 * and access tokens, the replay cache.  Reached through
 * store_call(s, oauth, op, ...).
 */
#ifndef PORTEN_STORE_FACET_OAUTH_H
#define PORTEN_STORE_FACET_OAUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct store;

/* A refresh token row: which grant it belongs to and until when it lives. */
struct store_refresh {
	char *grant_id;
	char *client_id;
	char *jkt;               /* DPoP key the token is bound to (spec §19), NULL: unbound */
	int64_t expires_at;
};

/* The most rows token_find_revoked returns in one call. */
#define STORE_REVOKED_MAX 10000

struct store_oauth_ops {
	/*
	 * Authorization codes, keyed by hash.  consume: returns the doc and marks
	 * the code used in one step.  ERR_NOTFOUND if unknown or expired;
	 * ERR_REUSED if already used, with *grant_id set to the grant the first
	 * use issued (caller revokes it).  put: doc is the record as JSON text
	 * (oauth/grant.c), stored as it is.
	 */
	int (*code_put)(struct store *s, const char *hash, const char *grant_id, const char *doc,
			int64_t expires_at, struct err *e);
	int (*code_consume)(struct store *s, const char *hash, json_t **doc, char **grant_id,
			    struct err *e);

	/*
	 * Grants: one per code redemption; every token issued from it belongs to
	 * it.  sid ties it to the SSO session it came from; login_only marks
	 * grants whose scopes are only openid/profile (logout revokes those).
	 * doc: the authentication context needed to refresh (person, acr, ...),
	 * as JSON text (oauth/grant.c), stored as it is.
	 */
	int (*grant_put)(struct store *s, const char *grant_id, const char *client_id,
			 const char *sid, bool login_only, const char *doc, int64_t expires_at,
			 struct err *e);
	/* ERR_NOTFOUND when unknown, revoked or expired. */
	int (*grant_get)(struct store *s, const char *grant_id, json_t **doc, struct err *e);
	int (*grant_revoke)(struct store *s, const char *grant_id, struct err *e);
	/*
	 * A person's grants in force (not revoked, not expired), at most limit
	 * (1-1000): *docs a JSON array of their docs, each with grant_id,
	 * client_id and expires_at added (the caller's).  The authorizations
	 * API (selfservice-api.md §10).
	 */
	int (*grant_find_person)(struct store *s, const char *pid, int64_t limit, json_t **docs,
				 struct err *e);
	/* Revoke the login-only grants of a session (logout, spec §15 step 3). */
	int (*grant_revoke_session)(struct store *s, const char *sid, struct err *e);

	/* Refresh tokens, keyed by hash, rotated atomically; jkt NULL: not DPoP-bound. */
	int (*refresh_put)(struct store *s, const char *hash, const char *grant_id,
			   const char *client_id, const char *jkt, int64_t expires_at,
			   struct err *e);
	/*
	 * Spend old_hash and store new_hash in its place (same grant) with
	 * new_expires_at and bound to new_jkt (NULL: unbound), in one
	 * transaction.  *out gets the old row.
	 * ERR_NOTFOUND: unknown, expired, or its grant revoked/expired.
	 * ERR_REUSED: already spent; the backend has revoked the grant (family).
	 */
	int (*refresh_rotate)(struct store *s, const char *old_hash, const char *new_hash,
			      int64_t new_expires_at, const char *new_jkt, struct store_refresh *out,
			      struct err *e);
	/* Look up without spending (revocation); same errors as rotate minus REUSED. */
	int (*refresh_get)(struct store *s, const char *hash, struct store_refresh *out,
			   struct err *e);

	/*
	 * Access tokens issued, keyed by hash of the token string, JWT or opaque:
	 * doc is the claim set as JSON text (for introspection, userinfo and
	 * opaque tokens); the token's signed payload is that text.
	 * get: ERR_NOTFOUND when unknown, expired or its grant revoked; when
	 * grant is non-NULL, *grant is the token's grant document (NULL for a
	 * token without a grant), read in the same statement.
	 */
	int (*token_put)(struct store *s, const char *hash, const char *grant_id, const char *doc,
			 int64_t expires_at, struct err *e);
	int (*token_get)(struct store *s, const char *hash, json_t **doc, char **grant_id,
			 json_t **grant, struct err *e);
	/*
	 * The revocation list (selfservice-api.md §10): the access tokens of
	 * client_id's revoked grants that have not expired, at most limit
	 * (1-STORE_REVOKED_MAX), newest revocation first (then the longest
	 * living token), so a list cut at limit drops the oldest revocations.
	 * *out a JSON array of {jti, revoked_at, expires_at} (seconds; the
	 * caller's).
	 */
	int (*token_find_revoked)(struct store *s, const char *client_id, int64_t limit,
				  json_t **out, struct err *e);

	/*
	 * Replay cache: ERR_EXISTS if key was remembered before and not yet
	 * expired.  In the thread's transaction that may come only from its
	 * next read or its end (PostgreSQL sends the key with them), and the
	 * transaction has then failed whole.
	 */
	int (*jti_remember)(struct store *s, const char *key, int64_t expires_at, struct err *e);
};

void store_refresh_clear(struct store_refresh *r);

#endif
