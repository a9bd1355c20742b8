/*
 * SQLite backend, the KRR facet (facet_krr.h): person records, their
 * history and the change counter.  A change is one BEGIN IMMEDIATE
 * transaction (a savepoint inside a caller's), so SQLite's one writer
 * already commits changes in number order.
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

/* A JSON array of column col of every row of the current statement. */
static int
sq_krr_docs(struct sq_q *q, int col, json_t *arr, struct err *e)
{
	json_t *doc = NULL;
	int rc;

	while ((rc = store_sq_step(q, e)) == 1) {
		rc = store_sq_col_json(q, col, &doc, e);
		if (rc == 0 && json_array_append_new(arr, doc) != 0)
			rc = store_sq_fail(e, SQLITE_NOMEM, q->op);
		if (rc != 0)
			return rc;
	}
	return rc;
}

static int
sq_krr_person_get(struct store *s, const char *pid, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_KRR_GET, "krr_person_get", doc, e, "k", pid);
}

static int
sq_krr_person_get_many(struct store *s, const json_t *pids, json_t **docs, struct err *e)
{
	struct sq_q q;
	json_t *arr = json_array();
	int rc;

	*docs = NULL;
	rc = store_sq_start(&q, s, "krr_person_get_many", e);
	if (rc == 0 && arr == NULL)
		rc = store_sq_fail(e, SQLITE_NOMEM, q.op);
	if (rc == 0 && (!json_is_array(pids) || json_array_size(pids) > STORE_KRR_BATCH))
		rc = ERR(e, ERR_INVAL, 0, NULL, "store krr_person_get_many: at most %d ids",
			 STORE_KRR_BATCH);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_GET_MANY, e, "j", pids);
	if (rc == 0)
		rc = sq_krr_docs(&q, 0, arr, e);
	store_sq_end(&q);
	if (rc == 0)
		*docs = arr;
	else
		json_decref(arr);
	return rc;
}

/* One statement's single integer row (SEQ_NEXT, PREV): *v, or 0 when there is no row. */
static int
sq_krr_int(struct sq_q *q, int64_t *v, struct err *e)
{
	int rc = store_sq_step(q, e);

	*v = 0;
	if (rc == 1) {
		*v = sqlite3_column_int64(q->st, 0);
		rc = store_sq_finish(q, NULL, e);
	}
	return rc;
}

static int
sq_krr_person_put(struct store *s, const char *pid, const json_t *doc, const json_t *hist,
		  int64_t now, int64_t *change, int64_t *prev, struct err *e)
{
	struct sq_q q;
	bool in_tx = false;
	int rc;

	*change = 0;
	*prev = 0;
	rc = store_sq_start(&q, s, "krr_person_put", e);
	if (rc == 0)
		rc = store_sq_check_text(pid, 'k', q.op, e);
	if (rc == 0)
		rc = store_sq_tx(&q, SQ_BEGIN, e);
	if (rc != 0)
		goto out;
	in_tx = true;
	rc = store_sq_stmt(&q, SQ_KRR_SEQ_NEXT, e, "");
	if (rc == 0)
		rc = sq_krr_int(&q, change, e);
	if (rc == 0 && *change <= 0)
		rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: no change counter", q.op);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_PREV, e, "k", pid);
	if (rc == 0)
		rc = sq_krr_int(&q, prev, e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_PUT, e, "kij", pid, *change, doc);
	if (rc == 0)
		rc = store_sq_finish(&q, NULL, e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_HIST_ADD, e, "ikij", *change, pid, now, hist);
	if (rc == 0)
		rc = store_sq_finish(&q, NULL, e);
	if (rc == 0)
		rc = store_sq_tx(&q, SQ_COMMIT, e);
	if (rc == 0)
		in_tx = false;
out:
	if (in_tx)
		store_sq_tx(&q, SQ_ROLLBACK, NULL);
	if (rc != 0) {
		*change = 0;
		*prev = 0;
	}
	store_sq_end(&q);
	return rc;
}

static int
sq_krr_changes(struct store *s, int64_t from, int64_t limit, json_t **docs, int64_t *til,
	       int64_t *latest, struct err *e)
{
	struct sq_q q;
	json_t *arr = json_array(), *doc = NULL;
	int rc;

	*docs = NULL;
	*til = 0;
	*latest = 0;
	if (limit < 1 || limit > STORE_KRR_BATCH)
		limit = STORE_KRR_BATCH;
	rc = store_sq_start(&q, s, "krr_changes", e);
	if (rc == 0 && arr == NULL)
		rc = store_sq_fail(e, SQLITE_NOMEM, q.op);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_CHANGES, e, "ii", from, limit);
	while (rc == 0 && (rc = store_sq_step(&q, e)) == 1) {
		rc = 0;
		*latest = sqlite3_column_int64(q.st, 0);
		if (sqlite3_column_type(q.st, 1) == SQLITE_NULL)
			continue; /* the LEFT JOIN's row when the page is empty */
		*til = sqlite3_column_int64(q.st, 1);
		rc = store_sq_col_json(&q, 2, &doc, e);
		if (rc == 0 && json_array_append_new(arr, doc) != 0)
			rc = store_sq_fail(e, SQLITE_NOMEM, q.op);
	}
	store_sq_end(&q);
	if (rc == 0) {
		*docs = arr;
	} else {
		json_decref(arr);
		*til = 0;
		*latest = 0;
	}
	return rc;
}

static int
sq_krr_person_list(struct store *s, const char *after, int64_t limit, json_t **docs,
		   struct err *e)
{
	struct sq_q q;
	json_t *arr = json_array();
	int rc;

	*docs = NULL;
	rc = store_sq_start(&q, s, "krr_person_list", e);
	if (rc == 0 && arr == NULL)
		rc = store_sq_fail(e, SQLITE_NOMEM, q.op);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_LIST, e, "si", after != NULL ? after : "", limit);
	if (rc == 0)
		rc = sq_krr_docs(&q, 0, arr, e);
	store_sq_end(&q);
	if (rc == 0)
		*docs = arr;
	else
		json_decref(arr);
	return rc;
}

static int
sq_krr_history(struct store *s, const char *pid, json_t **list, struct err *e)
{
	struct sq_q q;
	json_t *arr = json_array(), *doc = NULL;
	int rc;

	*list = NULL;
	rc = store_sq_start(&q, s, "krr_history", e);
	if (rc == 0 && arr == NULL)
		rc = store_sq_fail(e, SQLITE_NOMEM, q.op);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_HISTORY, e, "k", pid);
	while (rc == 0 && (rc = store_sq_step(&q, e)) == 1) {
		rc = store_sq_col_json(&q, 2, &doc, e);
		if (rc == 0 &&
		    json_array_append_new(arr, json_pack("{s:I,s:I,s:o}", "change",
						       (json_int_t)sqlite3_column_int64(q.st, 0),
						       "time",
						       (json_int_t)sqlite3_column_int64(q.st, 1),
						       "entry", doc)) != 0)
			rc = store_sq_fail(e, SQLITE_NOMEM, q.op);
	}
	store_sq_end(&q);
	if (rc == 0)
		*list = arr;
	else
		json_decref(arr);
	return rc;
}

const struct store_krr_ops store_sq_krr = {
	.person_get = sq_krr_person_get,
	.person_get_many = sq_krr_person_get_many,
	.person_put = sq_krr_person_put,
	.changes = sq_krr_changes,
	.person_list = sq_krr_person_list,
	.history = sq_krr_history,
};
