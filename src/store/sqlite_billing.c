/*
 * The billing facet on SQLite (facet_billing.h): sums over the event table
 * grouped in the database, the billing tables, and the retention sweep.
 */
#include <string.h>

#include "core/timeutil.h"
#include "store/sqlite_int.h"

#define SQ_BILL_RETIRE_BATCH 1000 /* the LIMIT of SQ_BILL_RETIRE */

/* How each read binds and reads: statement, bound years or times, keys, counts. */
static const struct {
	enum sq_id id;
	const char *fmt;
	int nk, nn;
} sq_bill_reads[] = {
	[STORE_BILL_VOLUME] = { SQ_BILL_VOLUME, "ii", 2, 1 },
	[STORE_BILL_AUTH] = { SQ_BILL_AUTH, "ii", 5, 3 },
	[STORE_BILL_TOKENS] = { SQ_BILL_TOKENS, "ii", 3, 1 },
	[STORE_BILL_DAILY] = { SQ_BILL_DAILY, "ii", 1, 3 },
	[STORE_BILL_COSTS] = { SQ_BILL_COSTS, "i", 1, 1 },
	[STORE_BILL_CUSTOMERS] = { SQ_BILL_CUSTOMERS, "", 3, 0 },
	[STORE_BILL_EXTRAS] = { SQ_BILL_EXTRAS, "i", 2, 2 },
};

static int
sq_bill_read(struct store *s, enum store_bill_read what, int64_t from, int64_t to,
	     store_bill_row_fn fn, void *arg, struct err *e)
{
	struct sq_q q;
	struct store_bill_row row;
	int rc;

	if ((unsigned)what >= sizeof(sq_bill_reads) / sizeof(sq_bill_reads[0]))
		return ERR(e, ERR_INVAL, 500, "server_error", "store bill_read: unknown read %d",
			   (int)what);
	rc = store_sq_start(&q, s, "bill_read", e);
	if (rc == 0) {
		const char *fmt = sq_bill_reads[what].fmt;

		if (fmt[0] == '\0')
			rc = store_sq_stmt(&q, sq_bill_reads[what].id, e, "");
		else if (fmt[1] == '\0')
			rc = store_sq_stmt(&q, sq_bill_reads[what].id, e, "i", from);
		else
			rc = store_sq_stmt(&q, sq_bill_reads[what].id, e, "ii", from, to);
	}
	while (rc == 0 && (rc = store_sq_step(&q, e)) == 1) {
		int nk = sq_bill_reads[what].nk, col = 0;

		memset(&row, 0, sizeof(row));
		for (int i = 0; i < nk; i++, col++)
			row.k[i] = (const char *)sqlite3_column_text(q.st, col);
		for (int i = 0; i < sq_bill_reads[what].nn; i++, col++)
			row.n[i] = sqlite3_column_int64(q.st, col);
		rc = fn(arg, &row, e);
	}
	store_sq_end(&q);
	return rc;
}

static int
sq_event_put(struct store *s, const char *type, int64_t time, const json_t *doc, struct err *e)
{
	if (doc == NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "store event_put: no document");
	return store_sq_write(s, SQ_EVENT_ADD, "event_put", 0, e, "kij", type, time, doc);
}

static int
sq_cost_set(struct store *s, int year, const char *item, int64_t ore, struct err *e)
{
	return store_sq_write(s, SQ_BILL_COST_SET, "cost_set", 0, e, "ikii", (int64_t)year, item,
			      ore, time_now());
}

static int
sq_customer_set(struct store *s, const char *orgno, const char *name, const char *reference,
		struct err *e)
{
	return store_sq_write(s, SQ_BILL_CUSTOMER_SET, "customer_set", 0, e, "kssi", orgno, name,
			      reference, time_now());
}

static int
sq_extra_add(struct store *s, int year, const char *orgno, const char *text, int64_t quantity,
	     int64_t unit_ore, struct err *e)
{
	return store_sq_write(s, SQ_BILL_EXTRA_ADD, "extra_add", 0, e, "iksiii", (int64_t)year,
			      orgno, text, quantity, unit_ore, time_now());
}

static int
sq_run_put(struct store *s, int year, const json_t *doc, struct err *e)
{
	return store_sq_write(s, SQ_BILL_RUN_PUT, "run_put", 0, e, "iij", (int64_t)year,
			      time_now(), doc);
}

/*
 * The boundary first (its own write), then batches of the oldest events,
 * each its own short write.  The common case, nothing old enough, costs
 * one read of the first row by id.
 */
static int
sq_event_retire(struct store *s, int64_t before, int64_t *n, struct err *e)
{
	struct sq_q q;
	int64_t changes = 0;
	int rc;

	*n = 0;
	rc = store_sq_write(s, SQ_BILL_RETAIN, "event_retire", 0, e, "i", before);
	if (rc != 0)
		return rc;
	rc = store_sq_start(&q, s, "event_retire", e);
	if (rc == 0)
		rc = store_sq_stmt(&q, SQ_BILL_OLDEST, e, "");
	if (rc == 0 && (rc = store_sq_step(&q, e)) == 1)
		rc = sqlite3_column_int64(q.st, 0) < before ? 1 : 0;
	while (rc == 1) {
		rc = store_sq_stmt(&q, SQ_BILL_RETIRE, e, "i", before);
		if (rc == 0)
			rc = store_sq_finish(&q, &changes, e);
		*n += rc == 0 ? changes : 0;
		if (rc == 0 && changes == SQ_BILL_RETIRE_BATCH)
			rc = 1;
	}
	store_sq_end(&q);
	return rc;
}

const struct store_billing_ops store_sq_billing = {
	.bill_read = sq_bill_read,
	.event_put = sq_event_put,
	.cost_set = sq_cost_set,
	.customer_set = sq_customer_set,
	.extra_add = sq_extra_add,
	.run_put = sq_run_put,
	.event_retire = sq_event_retire,
};
