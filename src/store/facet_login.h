/*
 * Store facet of the front channel: SSO sessions and the short-lived
 * documents of a login ("par" requests, the "seal_key"s that seal logins
 * in progress, the "spent" marks of finished ones, "pending" logins too
 * large to travel sealed).  Reached
 * through store_call(s, login, op, ...).
 */
#ifndef PORTEN_STORE_FACET_LOGIN_H
#define PORTEN_STORE_FACET_LOGIN_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "store/facet_doc.h"

struct store;

struct store_login_ops {
	/* Documents under "par", "seal_key", "spent" and "pending" (login/pending.c): facet_doc.h. */
	STORE_DOC_OPS;

	/*
	 * SSO sessions, keyed by hash of the cookie value.  doc is owned by the
	 * session code (sid, person, acr, amr, auth_time, ...), put as JSON text
	 * (login/session.c) and stored as it is.  pid is the national identity
	 * number of the session's person (NULL: a foreign person without
	 * one), kept beside doc so that session_take_person finds it.  get
	 * fails with ERR_NOTFOUND past idle_expires or abs_expires.
	 */
	int (*session_put)(struct store *s, const char *hash, const char *doc,
			   const char *pid, int64_t idle_expires, int64_t abs_expires,
			   struct err *e);
	int (*session_get)(struct store *s, const char *hash, json_t **doc, struct err *e);
	/* Replace doc and pid and push idle_expires (never past abs_expires). */
	int (*session_update)(struct store *s, const char *hash, const char *doc,
			      const char *pid, int64_t idle_expires, struct err *e);
	int (*session_delete)(struct store *s, const char *hash, struct err *e);
	/* Sessions alive at now (neither timeout passed): the metrics gauge. */
	int (*session_count)(struct store *s, int64_t now, int64_t *n, struct err *e);
	/*
	 * Remove up to limit sessions past either timeout and give their
	 * documents (*docs, a new array): the expiry that announces them
	 * (back-channel logout).  Concurrent callers never get the same one.
	 */
	int (*session_take_expired)(struct store *s, int64_t now, int64_t limit, json_t **docs,
				    struct err *e);
	/*
	 * Remove up to limit sessions of the person pid, live or timed out,
	 * and give their documents (*docs, a new array): the end of them all
	 * (a password reset).  A session being written meanwhile is waited
	 * for, not skipped; concurrent callers never get the same one.
	 * Sessions last written before the store kept their pid are not found.
	 */
	int (*session_take_person)(struct store *s, const char *pid, int64_t limit,
				   json_t **docs, struct err *e);

	/*
	 * The back-channel logout outbox (spec/idporten-oidc.md §20): one row
	 * per (client, sid) to tell, doc the sender's.  ERR_EXISTS for a taken
	 * id.  The row is due at due; past expires the sender gives it up.
	 */
	int (*outbox_add)(struct store *s, const char *id, const json_t *doc, int64_t due,
			  int64_t expires, struct err *e);
	/*
	 * Lease one due row (not given up, due, no live lease) to owner until
	 * lease_until and count the attempt: *doc is its doc with "id",
	 * "attempts" (this one included) and "expires_at" added.  A lease that
	 * lapses (its node died) makes the row due again for any node.
	 * ERR_NOTFOUND when nothing is due.
	 */
	int (*outbox_claim)(struct store *s, int64_t now, int64_t lease_until, const char *owner,
			    json_t **doc, struct err *e);
	/* Give a leased row back, due again at next_at.  ERR_NOTFOUND: owner no longer holds it. */
	int (*outbox_retry)(struct store *s, const char *id, const char *owner, int64_t next_at,
			    struct err *e);
	/*
	 * Close a leased row: delivered (dead_at 0: removed) or given up (kept,
	 * dead since dead_at, for operators; the sweep removes it 30 days on).
	 * ERR_NOTFOUND: owner no longer holds it.
	 */
	int (*outbox_finish)(struct store *s, const char *id, const char *owner, int64_t dead_at,
			     struct err *e);
};

#endif
