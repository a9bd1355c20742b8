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

/* A facet's doc_put, for store_slot_claim (a caller's one-line store_call). */
typedef int (*store_doc_put_fn)(struct store *s, const char *kind, const char *id,
				const json_t *doc, int64_t expires_at, struct err *e);

/*
 * Count under concurrency without a read-modify-write: claim the first
 * free slot key.1 .. key.max of kind with put, which fails with ERR_EXISTS
 * on a taken id, so each slot goes to one request and the store's primary
 * key does the counting.  Each slot holds doc ({} when NULL) and expires
 * at exp.  *slot gets n (0 when none).  ERR_LIMIT when all max are taken;
 * ERR_INTERNAL when key is too long; any other error of put.
 */
int store_slot_claim(struct store *s, store_doc_put_fn put, const char *kind, const char *key,
		     const json_t *doc, int64_t max, int64_t exp, int64_t *slot, struct err *e);

#endif
