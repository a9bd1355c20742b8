/*
 * Store facet of MinID: its accounts, one-time codes and locks are
 * documents by kind, kept like the login's short-lived documents (the
 * same operations on the same table, under MinID's own kinds).  Reached
 * through store_call(s, minid, op, ...).
 */
#ifndef PORTEN_STORE_FACET_MINID_H
#define PORTEN_STORE_FACET_MINID_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct store;

struct store_minid_ops {
	/* As in struct store_login_ops: ERR_EXISTS, ERR_NOTFOUND, take = get and delete. */
	int (*doc_put)(struct store *s, const char *kind, const char *id, const json_t *doc,
		       int64_t expires_at, struct err *e);
	int (*doc_get)(struct store *s, const char *kind, const char *id, json_t **doc,
		       struct err *e);
	int (*doc_update)(struct store *s, const char *kind, const char *id, const json_t *doc,
			  struct err *e);
	int (*doc_take)(struct store *s, const char *kind, const char *id, json_t **doc,
			struct err *e);
	int (*doc_delete)(struct store *s, const char *kind, const char *id, struct err *e);
};

#endif
