/*
 * Store facet of the front channel: SSO sessions and the short-lived
 * documents of a login ("par" requests, "pending" logins).  Reached
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
	/* Documents under "par" (PAR requests) and "pending" (logins in progress): facet_doc.h. */
	STORE_DOC_OPS;

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
	/* Sessions alive at now (neither timeout passed): the metrics gauge. */
	int (*session_count)(struct store *s, int64_t now, int64_t *n, struct err *e);
};

#endif
