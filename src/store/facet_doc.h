/*
 * The document operations that more than one facet offers: short-lived
 * documents by kind in one table, each facet under its own kinds (the
 * login's "par", "seal_key", "spent" and "pending", MinID's accounts, codes
 * and locks).
 * put: ERR_EXISTS if the id is taken.  get: ERR_NOTFOUND when absent or
 * expired.  take: get and delete in one step.  A facet lists them with
 * STORE_DOC_OPS among its members, so store_call reaches them by name.
 */
#ifndef PORTEN_STORE_FACET_DOC_H
#define PORTEN_STORE_FACET_DOC_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct store;

#define STORE_DOC_OPS                                                                        \
	int (*doc_put)(struct store *s, const char *kind, const char *id, const json_t *doc, \
		       int64_t expires_at, struct err *e);                                   \
	int (*doc_get)(struct store *s, const char *kind, const char *id, json_t **doc,     \
		       struct err *e);                                                       \
	int (*doc_update)(struct store *s, const char *kind, const char *id,                \
			  const json_t *doc, struct err *e);                                 \
	int (*doc_take)(struct store *s, const char *kind, const char *id, json_t **doc,    \
			struct err *e);                                                      \
	int (*doc_delete)(struct store *s, const char *kind, const char *id, struct err *e)

#endif
