/*
 * PostgreSQL backend, the KRR facet (facet_krr.h), case for case as
 * sqlite_krr.c.  A change is one statement (PG_KRR_PUT): the counter's
 * row stays locked until the writer commits, so a later writer waits and
 * commits after it, with the higher number.
 */
#ifdef HAVE_LIBPQ

#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"

static int
pg_krr_person_get(struct store *s, const char *pid, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_KRR_GET, "krr_person_get", doc, e, "k", pid);
}

/* A statement whose rows are documents in column col. */
struct pg_krr_rows {
	enum pg_id id;
	const struct pg_args *a;
	int col;
	json_t **out;
};

static int
pg_krr_rows_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_krr_rows *r = arg;
	json_t *arr = json_array(), *doc = NULL;
	int i, rc;

	*r->out = NULL;
	if (arr == NULL)
		return store_pg_nomem(e, q->op);
	rc = store_pg_exec(q, r->id, r->a, e);
	for (i = 0; rc == 0 && i < store_pg_rows(q); i++) {
		rc = store_pg_col_json(q, i, r->col, &doc, e);
		if (rc == 0 && json_array_append_new(arr, doc) != 0)
			rc = store_pg_nomem(e, q->op);
	}
	if (rc == 0)
		*r->out = arr;
	else
		json_decref(arr);
	return rc;
}

static int
pg_krr_rows(struct store *s, enum pg_id id, const char *op, json_t **out, struct err *e,
	    const char *fmt, ...)
{
	struct pg_args a;
	struct pg_krr_rows r = { id, &a, 0, out };
	va_list ap;
	int rc;

	*out = NULL;
	va_start(ap, fmt);
	rc = store_pg_vargs(&a, op, e, fmt, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	rc = store_pg_run(s, op, pg_krr_rows_fn, &r, e);
	store_pg_args_free(&a);
	return rc;
}

static int
pg_krr_person_get_many(struct store *s, const json_t *pids, json_t **docs, struct err *e)
{
	*docs = NULL;
	if (!json_is_array(pids) || json_array_size(pids) > STORE_KRR_BATCH)
		return ERR(e, ERR_INVAL, 0, NULL, "store krr_person_get_many: at most %d ids",
			   STORE_KRR_BATCH);
	return pg_krr_rows(s, PG_KRR_GET_MANY, "krr_person_get_many", docs, e, "j", pids);
}

struct pg_krr_put {
	const struct pg_args *a;
	int64_t *change, *prev;
};

static int
pg_krr_put_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_krr_put *p = arg;
	int rc;

	*p->change = 0;
	*p->prev = 0;
	rc = store_pg_exec(q, PG_KRR_PUT, p->a, e);
	if (rc == 0 && store_pg_rows(q) != 1)
		rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store krr_person_put: no change");
	if (rc == 0)
		rc = store_pg_col_i64(q, 0, 0, p->change, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, 0, 1, p->prev, e);
	if (rc == 0 && *p->change <= 0)
		rc = ERR(e, ERR_INTERNAL, 500, "server_error",
			 "store krr_person_put: no change counter");
	return rc;
}

static int
pg_krr_person_put(struct store *s, const char *pid, const json_t *doc, const json_t *hist,
		  int64_t now, int64_t *change, int64_t *prev, struct err *e)
{
	struct pg_args a;
	struct pg_krr_put p = { &a, change, prev };
	int rc;

	*change = 0;
	*prev = 0;
	rc = store_pg_args(&a, "krr_person_put", e, "kjij", pid, doc, now, hist);
	if (rc != 0)
		return rc;
	rc = store_pg_run(s, "krr_person_put", pg_krr_put_fn, &p, e);
	store_pg_args_free(&a);
	return rc;
}

struct pg_krr_changes {
	const struct pg_args *a;
	json_t **docs;
	int64_t *til, *latest;
};

static int
pg_krr_changes_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_krr_changes *c = arg;
	json_t *arr = json_array(), *doc = NULL;
	int i, rc;

	*c->docs = NULL;
	*c->til = 0;
	*c->latest = 0;
	if (arr == NULL)
		return store_pg_nomem(e, q->op);
	rc = store_pg_exec(q, PG_KRR_CHANGES, c->a, e);
	for (i = 0; rc == 0 && i < store_pg_rows(q); i++) {
		rc = store_pg_col_i64(q, i, 0, c->latest, e);
		if (rc != 0 || PQgetisnull(q->res, i, 1))
			continue; /* the LEFT JOIN's row when the page is empty */
		rc = store_pg_col_i64(q, i, 1, c->til, e);
		if (rc == 0)
			rc = store_pg_col_json(q, i, 2, &doc, e);
		if (rc == 0 && json_array_append_new(arr, doc) != 0)
			rc = store_pg_nomem(e, q->op);
	}
	if (rc == 0) {
		*c->docs = arr;
	} else {
		json_decref(arr);
		*c->til = 0;
		*c->latest = 0;
	}
	return rc;
}

static int
pg_krr_changes(struct store *s, int64_t from, int64_t limit, json_t **docs, int64_t *til,
	       int64_t *latest, struct err *e)
{
	struct pg_args a;
	struct pg_krr_changes c = { &a, docs, til, latest };
	int rc;

	*docs = NULL;
	*til = 0;
	*latest = 0;
	if (limit < 1 || limit > STORE_KRR_BATCH)
		limit = STORE_KRR_BATCH;
	rc = store_pg_args(&a, "krr_changes", e, "ii", from, limit);
	if (rc != 0)
		return rc;
	rc = store_pg_run(s, "krr_changes", pg_krr_changes_fn, &c, e);
	store_pg_args_free(&a);
	return rc;
}

static int
pg_krr_person_list(struct store *s, const char *after, int64_t limit, json_t **docs,
		   struct err *e)
{
	return pg_krr_rows(s, PG_KRR_LIST, "krr_person_list", docs, e, "si",
			   after != NULL ? after : "", limit);
}

struct pg_krr_hist {
	const struct pg_args *a;
	json_t **out;
};

static int
pg_krr_history_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_krr_hist *h = arg;
	json_t *arr = json_array(), *doc = NULL;
	int64_t change = 0, t = 0;
	int i, rc;

	*h->out = NULL;
	if (arr == NULL)
		return store_pg_nomem(e, q->op);
	rc = store_pg_exec(q, PG_KRR_HISTORY, h->a, e);
	for (i = 0; rc == 0 && i < store_pg_rows(q); i++) {
		rc = store_pg_col_i64(q, i, 0, &change, e);
		if (rc == 0)
			rc = store_pg_col_i64(q, i, 1, &t, e);
		if (rc == 0)
			rc = store_pg_col_json(q, i, 2, &doc, e);
		if (rc == 0 && json_array_append_new(arr, json_pack("{s:I,s:I,s:o}", "change",
								    (json_int_t)change, "time",
								    (json_int_t)t, "entry",
								    doc)) != 0)
			rc = store_pg_nomem(e, q->op);
	}
	if (rc == 0)
		*h->out = arr;
	else
		json_decref(arr);
	return rc;
}

static int
pg_krr_history(struct store *s, const char *pid, json_t **list, struct err *e)
{
	struct pg_args a;
	struct pg_krr_hist h = { &a, list };
	int rc;

	*list = NULL;
	rc = store_pg_args(&a, "krr_history", e, "k", pid);
	if (rc != 0)
		return rc;
	rc = store_pg_run(s, "krr_history", pg_krr_history_fn, &h, e);
	store_pg_args_free(&a);
	return rc;
}

const struct store_krr_ops store_pg_krr = {
	.person_get = pg_krr_person_get,
	.person_get_many = pg_krr_person_get_many,
	.person_put = pg_krr_person_put,
	.changes = pg_krr_changes,
	.person_list = pg_krr_person_list,
	.history = pg_krr_history,
};

#endif
