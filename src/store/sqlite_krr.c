/*
 * SQLite backend, the KRR facet (facet_krr.h): person records (a column
 * per field), their history and the change counter.  A change is one BEGIN IMMEDIATE
 * transaction (a savepoint inside a caller's), so SQLite's one writer
 * already commits changes in number order.
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

/* A string column: a malloc'd copy, NULL for SQL NULL. */
static int
sq_krr_str(struct sq_q *q, int col, char **out, struct err *e)
{
	return store_sq_col_str(q, col, out, e);
}

/* The record in the current row, its columns from base on (the order of KRR_COLS). */
static int
sq_krr_row(struct sq_q *q, int base, struct krr_person *p, struct err *e)
{
	const unsigned char *pid = sqlite3_column_text(q->st, base);
	const unsigned char *st = sqlite3_column_text(q->st, base + 1);
	const unsigned char *lang = sqlite3_column_text(q->st, base + 14);
	int rc;

	memset(p, 0, sizeof(*p));
	if (pid == NULL || st == NULL || strlen((const char *)pid) != 11 ||
	    (lang != NULL && strlen((const char *)lang) != 2))
		return ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: a malformed record",
			   q->op);
	memcpy(p->pid, pid, 12);
	p->status = strcmp((const char *)st, "SLETTET") == 0 ? KRR_SLETTET : KRR_AKTIV;
	p->reserved = sqlite3_column_int64(q->st, base + 2) != 0;
	p->reserved_at = sqlite3_column_int64(q->st, base + 3);
	p->reservation_updated = sqlite3_column_int64(q->st, base + 4);
	p->email.updated = sqlite3_column_int64(q->st, base + 6);
	p->email.verified = sqlite3_column_int64(q->st, base + 7);
	p->mobile.updated = sqlite3_column_int64(q->st, base + 9);
	p->mobile.verified = sqlite3_column_int64(q->st, base + 10);
	if (lang != NULL)
		memcpy(p->lang, lang, 3);
	p->lang_updated = sqlite3_column_int64(q->st, base + 15);
	rc = sq_krr_str(q, base + 5, &p->email.value, e);
	if (rc == 0)
		rc = sq_krr_str(q, base + 8, &p->mobile.value, e);
	if (rc == 0)
		rc = sq_krr_str(q, base + 11, &p->mailbox, e);
	if (rc == 0)
		rc = sq_krr_str(q, base + 12, &p->mailbox_provider, e);
	if (rc == 0)
		rc = sq_krr_str(q, base + 13, &p->cert, e);
	if (rc != 0)
		krr_person_clear(p);
	return rc;
}

/* Every row of the current statement into a new array (*out, *n). */
static int
sq_krr_rows(struct sq_q *q, size_t cap, struct krr_person **out, size_t *n, struct err *e)
{
	struct krr_person *v = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if (cap == 0) {
		rc = store_sq_step(q, e); /* an empty list: no row to read */
		return rc < 0 ? rc : 0;
	}
	v = calloc(cap, sizeof(*v));
	if (v == NULL)
		return store_sq_fail(e, SQLITE_NOMEM, q->op);
	while ((rc = store_sq_step(q, e)) == 1) {
		if (*n == cap) {
			rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: too many rows", q->op);
			break;
		}
		rc = sq_krr_row(q, 0, &v[*n], e);
		if (rc != 0)
			break;
		(*n)++;
	}
	if (rc != 0) {
		krr_persons_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int
sq_krr_person_get(struct store *s, const char *pid, struct krr_person *out, struct err *e)
{
	struct sq_q q;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_sq_start(&q, s, "krr_person_get", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_GET, e, "k", pid);
	if (rc == 0)
		rc = store_sq_step(&q, e);
	if (rc == 0)
		rc = store_sq_notfound(e, q.op);
	if (rc == 1)
		rc = sq_krr_row(&q, 0, out, e);
	store_sq_end(&q);
	return rc;
}

static int
sq_krr_person_get_many(struct store *s, const json_t *pids, struct krr_person **out, size_t *n,
		       struct err *e)
{
	struct sq_q q;
	int rc;

	*out = NULL;
	*n = 0;
	if (!json_is_array(pids) || json_array_size(pids) > STORE_KRR_BATCH)
		return ERR(e, ERR_INVAL, 0, NULL, "store krr_person_get_many: at most %d ids",
			   STORE_KRR_BATCH);
	rc = store_sq_start(&q, s, "krr_person_get_many", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_GET_MANY, e, "j", pids);
	if (rc == 0)
		rc = sq_krr_rows(&q, json_array_size(pids), out, n, e);
	store_sq_end(&q);
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
sq_krr_person_put(struct store *s, const struct krr_person *p, const json_t *hist, int64_t now,
		  int64_t since, int64_t *change, int64_t *prev, struct err *e)
{
	struct sq_q q;
	bool in_tx = false;
	int rc;

	*change = 0;
	*prev = 0;
	rc = store_sq_start(&q, s, "krr_person_put", e);
	if (rc == 0)
		rc = store_sq_check_text(p->pid, 'k', q.op, e);
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
		rc = store_sq_stmt(&q, SQ_KRR_PREV, e, "k", p->pid);
	if (rc == 0)
		rc = sq_krr_int(&q, prev, e);
	/* the rollback below takes the counter's step back too */
	if (rc == 0 && since > 0 && *prev >= since)
		rc = ERR(e, ERR_EXISTS, 0, NULL, "store %s: the record was written since %lld",
			 q.op, (long long)since);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_PUT, e, "ikkiiiniiniinnsni", *change, p->pid,
				   p->status == KRR_SLETTET ? "SLETTET" : "AKTIV", (int64_t)p->reserved,
				   p->reserved_at, p->reservation_updated, p->email.value,
				   p->email.updated, p->email.verified, p->mobile.value,
				   p->mobile.updated, p->mobile.verified, p->mailbox,
				   p->mailbox_provider, p->cert != NULL ? p->cert : "",
				   p->lang[0] != '\0' ? p->lang : NULL, p->lang_updated);
	if (rc == 0)
		rc = store_sq_finish(&q, NULL, e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_HIST_ADD, e, "ikij", *change, p->pid, now, hist);
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
sq_krr_changes(struct store *s, int64_t from, int64_t limit, struct krr_person **out, size_t *n,
	       int64_t *til, int64_t *latest, struct err *e)
{
	struct krr_person *v = NULL;
	struct sq_q q;
	int rc;

	*out = NULL;
	*n = 0;
	*til = 0;
	*latest = 0;
	if (limit < 1 || limit > STORE_KRR_BATCH)
		limit = STORE_KRR_BATCH;
	v = calloc((size_t)limit, sizeof(*v));
	if (v == NULL)
		return store_sq_fail(e, SQLITE_NOMEM, "krr_changes");
	rc = store_sq_start(&q, s, "krr_changes", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_CHANGES, e, "ii", from, limit);
	while (rc == 0 && (rc = store_sq_step(&q, e)) == 1) {
		rc = 0;
		*latest = sqlite3_column_int64(q.st, 0);
		if (sqlite3_column_type(q.st, 1) == SQLITE_NULL)
			continue; /* the LEFT JOIN's row when the page is empty */
		if (*n == (size_t)limit) {
			rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: too many rows", q.op);
			break;
		}
		*til = sqlite3_column_int64(q.st, 1);
		rc = sq_krr_row(&q, 2, &v[*n], e);
		if (rc == 0)
			(*n)++;
	}
	store_sq_end(&q);
	if (rc == 0) {
		*out = v;
	} else {
		krr_persons_free(v, *n);
		*n = 0;
		*til = 0;
		*latest = 0;
	}
	return rc;
}

static int
sq_krr_person_list(struct store *s, const char *after, int64_t limit, struct krr_person **out,
		   size_t *n, struct err *e)
{
	struct sq_q q;
	int rc;

	*out = NULL;
	*n = 0;
	if (limit < 1 || limit > STORE_KRR_BATCH)
		limit = STORE_KRR_BATCH;
	rc = store_sq_start(&q, s, "krr_person_list", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_KRR_LIST, e, "si", after != NULL ? after : "", limit);
	if (rc == 0)
		rc = sq_krr_rows(&q, (size_t)limit, out, n, e);
	store_sq_end(&q);
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
	.doc_put = sq_doc_put,
	.doc_get = sq_doc_get,
	.doc_update = sq_doc_update,
	.doc_take = sq_doc_take,
	.doc_delete = sq_doc_delete,
	.person_get = sq_krr_person_get,
	.person_get_many = sq_krr_person_get_many,
	.person_put = sq_krr_person_put,
	.changes = sq_krr_changes,
	.person_list = sq_krr_person_list,
	.history = sq_krr_history,
};
