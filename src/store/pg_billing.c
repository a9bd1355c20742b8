/*
 * The billing facet on PostgreSQL (facet_billing.h): sums over the event
 * table grouped in the database, the billing tables, and the retention
 * sweep.
 */
#include <string.h>

#include "core/timeutil.h"
#include "store/pg_int.h"

#define PG_BILL_RETIRE_BATCH 1000

/* How each read binds and reads: statement, bound years or times, keys, counts. */
static const struct {
	enum pg_id id;
	int nparams, nk, nn;
} pg_bill_reads[] = {
	[STORE_BILL_VOLUME] = { PG_BILL_VOLUME, 2, 2, 1 },
	[STORE_BILL_AUTH] = { PG_BILL_AUTH, 2, 5, 3 },
	[STORE_BILL_TOKENS] = { PG_BILL_TOKENS, 2, 3, 1 },
	[STORE_BILL_DAILY] = { PG_BILL_DAILY, 2, 1, 3 },
	[STORE_BILL_COSTS] = { PG_BILL_COSTS, 1, 1, 1 },
	[STORE_BILL_CUSTOMERS] = { PG_BILL_CUSTOMERS, 0, 3, 0 },
	[STORE_BILL_EXTRAS] = { PG_BILL_EXTRAS, 1, 2, 2 },
};

struct pg_bill_read {
	enum store_bill_read what;
	int64_t from, to;
	store_bill_row_fn fn;
	void *arg;
};

/* The callbacks run once the whole (grouped) result is in: a rerun never repeats a row. */
static int
pg_bill_read_fn(struct pg_q *q, void *arg, struct err *e)
{
	const struct pg_bill_read *b = arg;
	int np = pg_bill_reads[b->what].nparams, rc;
	struct store_bill_row row;

	if (np == 0)
		rc = store_pg_execf(q, pg_bill_reads[b->what].id, e, "");
	else if (np == 1)
		rc = store_pg_execf(q, pg_bill_reads[b->what].id, e, "i", b->from);
	else
		rc = store_pg_execf(q, pg_bill_reads[b->what].id, e, "ii", b->from, b->to);
	for (int r = 0; rc == 0 && r < store_pg_rows(q); r++) {
		int col = 0;

		memset(&row, 0, sizeof(row));
		for (int i = 0; i < pg_bill_reads[b->what].nk; i++, col++)
			row.k[i] = PQgetisnull(q->res, r, col) ? NULL : PQgetvalue(q->res, r, col);
		for (int i = 0; rc == 0 && i < pg_bill_reads[b->what].nn; i++, col++)
			rc = store_pg_col_i64(q, r, col, &row.n[i], e);
		if (rc == 0)
			rc = b->fn(b->arg, &row, e);
	}
	return rc;
}

static int
pg_bill_read(struct store *s, enum store_bill_read what, int64_t from, int64_t to,
	     store_bill_row_fn fn, void *arg, struct err *e)
{
	struct pg_bill_read b = { what, from, to, fn, arg };

	if ((unsigned)what >= sizeof(pg_bill_reads) / sizeof(pg_bill_reads[0]))
		return ERR(e, ERR_INVAL, 500, "server_error", "store bill_read: unknown read %d",
			   (int)what);
	return store_pg_run(s, "bill_read", pg_bill_read_fn, &b, e);
}

static int
pg_event_put(struct store *s, const char *type, int64_t time, const json_t *doc, struct err *e)
{
	if (doc == NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "store event_put: no document");
	return store_pg_write(s, PG_EVENT_ADD, "event_put", 0, e, "kij", type, time, doc);
}

static int
pg_cost_set(struct store *s, int year, const char *item, int64_t ore, struct err *e)
{
	return store_pg_write(s, PG_BILL_COST_SET, "cost_set", 0, e, "ikii", (int64_t)year, item,
			      ore, time_now());
}

static int
pg_customer_set(struct store *s, const char *orgno, const char *name, const char *reference,
		struct err *e)
{
	return store_pg_write(s, PG_BILL_CUSTOMER_SET, "customer_set", 0, e, "kssi", orgno, name,
			      reference, time_now());
}

static int
pg_extra_add(struct store *s, int year, const char *orgno, const char *text, int64_t quantity,
	     int64_t unit_ore, struct err *e)
{
	return store_pg_write(s, PG_BILL_EXTRA_ADD, "extra_add", 0, e, "iksiii", (int64_t)year,
			      orgno, text, quantity, unit_ore, time_now());
}

static int
pg_run_put(struct store *s, int year, const json_t *doc, struct err *e)
{
	return store_pg_write(s, PG_BILL_RUN_PUT, "run_put", 0, e, "iij", (int64_t)year,
			      time_now(), doc);
}

struct pg_retire {
	int64_t before, *n;
};

/* One batch of the oldest events (or, first, whether there is anything to do). */
static int
pg_retire_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_retire *r = arg;
	int64_t oldest = 0;
	int rc;

	rc = store_pg_execf(q, PG_BILL_OLDEST, e, "");
	if (rc != 0 || store_pg_rows(q) == 0)
		return rc;
	rc = store_pg_col_i64(q, 0, 0, &oldest, e);
	if (rc != 0 || oldest >= r->before)
		return rc;
	rc = store_pg_execf(q, PG_BILL_RETIRE, e, "ii", r->before, (int64_t)PG_BILL_RETIRE_BATCH);
	if (rc == 0)
		*r->n = store_pg_changes(q);
	return rc;
}

static int
pg_event_retire(struct store *s, int64_t before, int64_t *n, struct err *e)
{
	int64_t batch = 0;
	struct pg_retire r = { before, &batch };
	int rc;

	*n = 0;
	rc = store_pg_write(s, PG_BILL_RETAIN, "event_retire", 0, e, "i", before);
	do {
		batch = 0;
		if (rc == 0)
			rc = store_pg_run(s, "event_retire", pg_retire_fn, &r, e);
		*n += batch;
	} while (rc == 0 && batch == PG_BILL_RETIRE_BATCH);
	return rc;
}

const struct store_billing_ops store_pg_billing = {
	.bill_read = pg_bill_read,
	.event_put = pg_event_put,
	.cost_set = pg_cost_set,
	.customer_set = pg_customer_set,
	.extra_add = pg_extra_add,
	.run_put = pg_run_put,
	.event_retire = pg_event_retire,
};
