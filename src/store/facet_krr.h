/*
 * Store facet of KRR, the contact and reservation register (spec/krr.md):
 * one record document per person (current values only), a history entry
 * per change, and the change numbers the feed for local copies pages by.
 * Reached through store_call(s, krr, op, ...); the record's fields are
 * src/krr/'s business, the store keeps the document whole.
 */
#ifndef PORTEN_STORE_FACET_KRR_H
#define PORTEN_STORE_FACET_KRR_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct store;

/* The most persons one call reads (a lookup's batch, a feed's page). */
#define STORE_KRR_BATCH 1000

struct store_krr_ops {
	/* One person's record document (new reference); ERR_NOTFOUND when not registered. */
	int (*person_get)(struct store *s, const char *pid, json_t **doc, struct err *e);
	/*
	 * The record documents of the persons pids names (a JSON array of at
	 * most STORE_KRR_BATCH strings), read by one query; persons without a
	 * record are left out, and the order is the store's.  *docs a new array.
	 */
	int (*person_get_many)(struct store *s, const json_t *pids, json_t **docs,
			       struct err *e);
	/*
	 * Write pid's record (new or replacing) and append hist to its
	 * history, both under the next change number.  The number is taken
	 * from one counter whose row stays locked until the write commits, so
	 * no change becomes visible with a number below one already visible.
	 * *change the new number, *prev the record's number before (0: new).
	 */
	int (*person_put)(struct store *s, const char *pid, const json_t *doc, const json_t *hist,
			  int64_t now, int64_t *change, int64_t *prev, struct err *e);
	/*
	 * The change feed: the records whose change number is from or above
	 * (and at most the newest), by number, at most limit of them.  *docs
	 * a new array; *til the last number among them (0 when none);
	 * *latest the newest number the register has given out.
	 */
	int (*changes)(struct store *s, int64_t from, int64_t limit, json_t **docs, int64_t *til,
		       int64_t *latest, struct err *e);
	/* Records with pid greater than after ("" from the start), by pid, at most limit. */
	int (*person_list)(struct store *s, const char *after, int64_t limit, json_t **docs,
			   struct err *e);
	/*
	 * pid's history, oldest first: an array of {"change", "time", "entry"}
	 * (entry: hist as written).  An empty array when there is none.
	 */
	int (*history)(struct store *s, const char *pid, json_t **list, struct err *e);
};

#endif
