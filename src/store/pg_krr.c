/*
 * PostgreSQL backend, the KRR facet (facet_krr.h): a column per field,
 * case for case as sqlite_krr.c.  A change is one statement (PG_KRR_PUT):
 * it takes the register's advisory lock, held until the writer commits,
 * and then its number, so a later writer waits and commits after it, with
 * the higher number.  The newest number is the highest one visible.
 */
#ifdef HAVE_LIBPQ

#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"

/* The record in row of q->res, its columns from base on (the order of the SELECTs). */
static int
pg_krr_row(struct pg_q *q, int row, int base, struct krr_person *p, struct err *e)
{
	const char *pid = PQgetvalue(q->res, row, base), *st = PQgetvalue(q->res, row, base + 1);
	int64_t reserved = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if (PQgetisnull(q->res, row, base) || strlen(pid) != 11 ||
	    (!PQgetisnull(q->res, row, base + 14) && PQgetlength(q->res, row, base + 14) != 2))
		return ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: a malformed record",
			   q->op);
	memcpy(p->pid, pid, 12);
	p->status = strcmp(st, "SLETTET") == 0 ? KRR_SLETTET : KRR_AKTIV;
	if (!PQgetisnull(q->res, row, base + 14))
		memcpy(p->lang, PQgetvalue(q->res, row, base + 14), 3);
	rc = store_pg_col_i64(q, row, base + 2, &reserved, e);
	p->reserved = reserved != 0;
	if (rc == 0)
		rc = store_pg_col_i64(q, row, base + 3, &p->reserved_at, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, base + 4, &p->reservation_updated, e);
	if (rc == 0)
		rc = store_pg_col_str(q, row, base + 5, &p->email.value, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, base + 6, &p->email.updated, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, base + 7, &p->email.verified, e);
	if (rc == 0)
		rc = store_pg_col_str(q, row, base + 8, &p->mobile.value, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, base + 9, &p->mobile.updated, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, base + 10, &p->mobile.verified, e);
	if (rc == 0)
		rc = store_pg_col_str(q, row, base + 11, &p->mailbox, e);
	if (rc == 0)
		rc = store_pg_col_str(q, row, base + 12, &p->mailbox_provider, e);
	if (rc == 0)
		rc = store_pg_col_str(q, row, base + 13, &p->cert, e);
	if (rc == 0)
		rc = store_pg_col_i64(q, row, base + 15, &p->lang_updated, e);
	if (rc != 0)
		krr_person_clear(p);
	return rc;
}

/* A statement whose rows are records (from column 0). */
struct pg_krr_rows {
	enum pg_id id;
	const struct pg_args *a;
	bool one;                /* exactly one row, else ERR_NOTFOUND */
	struct krr_person **out;
	size_t *n;
};

static int
pg_krr_rows_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_krr_rows *r = arg;
	struct krr_person *v = NULL;
	int i, rc;

	*r->out = NULL;
	*r->n = 0;
	rc = store_pg_exec(q, r->id, r->a, e);
	if (rc != 0)
		return rc;
	if (r->one && store_pg_rows(q) == 0)
		return store_pg_notfound(e, q->op);
	if (store_pg_rows(q) == 0)
		return 0;
	v = calloc((size_t)store_pg_rows(q), sizeof(*v));
	if (v == NULL)
		return store_pg_nomem(e, q->op);
	for (i = 0; rc == 0 && i < store_pg_rows(q); i++) {
		rc = pg_krr_row(q, i, 0, &v[i], e);
		if (rc == 0)
			(*r->n)++;
	}
	if (rc != 0) {
		krr_persons_free(v, *r->n);
		*r->n = 0;
		return rc;
	}
	*r->out = v;
	return 0;
}

static int
pg_krr_rows(struct store *s, enum pg_id id, const char *op, bool one, struct krr_person **out,
	    size_t *n, struct err *e, const char *fmt, ...)
{
	struct pg_args a;
	struct pg_krr_rows r = { id, &a, one, out, n };
	va_list ap;
	int rc;

	*out = NULL;
	*n = 0;
	va_start(ap, fmt);
	rc = store_pg_run_args(s, op, pg_krr_rows_fn, &r, &a, e, fmt, ap);
	va_end(ap);
	return rc;
}

static int
pg_krr_person_get(struct store *s, const char *pid, struct krr_person *out, struct err *e)
{
	struct krr_person *v = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pg_krr_rows(s, PG_KRR_GET, "krr_person_get", true, &v, &n, e, "k", pid);
	if (rc == 0 && n == 1) {
		*out = v[0];
		memset(&v[0], 0, sizeof(v[0]));
	}
	krr_persons_free(v, n);
	return rc;
}

static int
pg_krr_person_get_many(struct store *s, const json_t *pids, struct krr_person **out, size_t *n,
		       struct err *e)
{
	*out = NULL;
	*n = 0;
	if (!json_is_array(pids) || json_array_size(pids) > STORE_KRR_BATCH)
		return ERR(e, ERR_INVAL, 0, NULL, "store krr_person_get_many: at most %d ids",
			   STORE_KRR_BATCH);
	return pg_krr_rows(s, PG_KRR_GET_MANY, "krr_person_get_many", false, out, n, e, "a",
			   pids);
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
	/* no row written: the record is one of since or above */
	if (rc == 0 && store_pg_col_null(q, 0, 0))
		return ERR(e, ERR_EXISTS, 0, NULL, "store krr_person_put: the record was written since");
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
pg_krr_person_put(struct store *s, const struct krr_person *p, const json_t *hist, int64_t now,
		  int64_t since, int64_t *change, int64_t *prev, struct err *e)
{
	struct pg_args a;
	struct pg_krr_put put = { &a, change, prev };
	int rc;

	*change = 0;
	*prev = 0;
	rc = store_pg_args(&a, "krr_person_put", e, "kkiiiniiniinnsniiji", p->pid,
			   p->status == KRR_SLETTET ? "SLETTET" : "AKTIV", (int64_t)p->reserved,
			   p->reserved_at, p->reservation_updated, p->email.value, p->email.updated,
			   p->email.verified, p->mobile.value, p->mobile.updated, p->mobile.verified,
			   p->mailbox, p->mailbox_provider, p->cert != NULL ? p->cert : "",
			   p->lang[0] != '\0' ? p->lang : NULL, p->lang_updated, now, hist, since);
	if (rc != 0)
		return rc;
	rc = store_pg_run(s, "krr_person_put", pg_krr_put_fn, &put, e);
	store_pg_args_free(&a);
	return rc;
}

struct pg_krr_changes {
	const struct pg_args *a;
	struct krr_person **out;
	size_t *n;
	int64_t *til, *latest;
};

static int
pg_krr_changes_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_krr_changes *c = arg;
	struct krr_person *v = NULL;
	int i, rc;

	*c->out = NULL;
	*c->n = 0;
	*c->til = 0;
	*c->latest = 0;
	rc = store_pg_exec(q, PG_KRR_CHANGES, c->a, e);
	if (rc != 0)
		return rc;
	v = calloc((size_t)store_pg_rows(q) + 1, sizeof(*v));
	if (v == NULL)
		return store_pg_nomem(e, q->op);
	for (i = 0; rc == 0 && i < store_pg_rows(q); i++) {
		rc = store_pg_col_i64(q, i, 0, c->latest, e);
		if (rc != 0 || PQgetisnull(q->res, i, 1))
			continue; /* the LEFT JOIN's row when the page is empty */
		rc = store_pg_col_i64(q, i, 1, c->til, e);
		if (rc == 0)
			rc = pg_krr_row(q, i, 2, &v[*c->n], e);
		if (rc == 0)
			(*c->n)++;
	}
	if (rc != 0) {
		krr_persons_free(v, *c->n);
		*c->n = 0;
		*c->til = 0;
		*c->latest = 0;
		return rc;
	}
	*c->out = v;
	return 0;
}

static int
pg_krr_changes(struct store *s, int64_t from, int64_t limit, struct krr_person **out, size_t *n,
	       int64_t *til, int64_t *latest, struct err *e)
{
	struct pg_args a;
	struct pg_krr_changes c = { &a, out, n, til, latest };
	int rc;

	*out = NULL;
	*n = 0;
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
pg_krr_person_list(struct store *s, const char *after, int64_t limit, struct krr_person **out,
		   size_t *n, struct err *e)
{
	if (limit < 1 || limit > STORE_KRR_BATCH)
		limit = STORE_KRR_BATCH;
	return pg_krr_rows(s, PG_KRR_LIST, "krr_person_list", false, out, n, e, "si",
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
	.doc_put = pg_doc_put,
	.doc_get = pg_doc_get,
	.doc_update = pg_doc_update,
	.doc_take = pg_doc_take,
	.doc_delete = pg_doc_delete,
	.person_get = pg_krr_person_get,
	.person_get_many = pg_krr_person_get_many,
	.person_put = pg_krr_person_put,
	.changes = pg_krr_changes,
	.person_list = pg_krr_person_list,
	.history = pg_krr_history,
};

#endif
