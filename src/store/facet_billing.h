/*
 * Store facet of billing and statistics (spec/billing.md): sums over the
 * event table by settlement year, month and day, the operator's cost
 * entries, customers' invoice references and extra lines, the record of
 * each billing run, and the retention sweep of old events.  Reached
 * through store_call(s, billing, op, ...).
 */
#ifndef PORTEN_STORE_FACET_BILLING_H
#define PORTEN_STORE_FACET_BILLING_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct store;

/* What bill_read reads; the keys k[] and counts n[] of its rows, in order. */
enum store_bill_read {
	/* [from, to): billable authentications. k: customer, eid; n: count.  By customer, eid. */
	STORE_BILL_VOLUME,
	/*
	 * [from, to): authentications.  k: month (YYYY-MM, UTC), customer,
	 * client_id, eid, acr; n: eID logins, SSO logins, billable.
	 */
	STORE_BILL_AUTH,
	/* [from, to): Maskinporten tokens.  k: month, consumer, supplier; n: tokens. */
	STORE_BILL_TOKENS,
	/* [from, to): per day (YYYY-MM-DD, UTC).  k: day; n: eID logins, SSO logins, tokens. */
	STORE_BILL_DAILY,
	/* Cost entries of settlement year from.  k: item; n: amount in øre. */
	STORE_BILL_COSTS,
	/* Every customer.  k: orgno, name, invoice reference.  By orgno. */
	STORE_BILL_CUSTOMERS,
	/* Extra lines of year from.  k: orgno, text; n: quantity, unit price in øre.  By orgno, entry. */
	STORE_BILL_EXTRAS,
};

#define STORE_BILL_KEYS 5
#define STORE_BILL_COUNTS 3

/* One row: keys are NULL where the event had none; valid during the callback only. */
struct store_bill_row {
	const char *k[STORE_BILL_KEYS];
	int64_t n[STORE_BILL_COUNTS];
};

/* Called once per row; a non-zero return stops the read and is returned. */
typedef int (*store_bill_row_fn)(void *arg, const struct store_bill_row *row, struct err *e);

struct store_billing_ops {
	/*
	 * Rows of what (above), grouped in the database: memory grows with the
	 * number of groups, never with the number of events.
	 */
	int (*bill_read)(struct store *s, enum store_bill_read what, int64_t from, int64_t to,
			 store_bill_row_fn fn, void *arg, struct err *e);
	/*
	 * Append an event that happened at time (the generator in bench/ and
	 * imports); the table stays append-only.  The running service records
	 * its events through s->events.
	 */
	int (*event_put)(struct store *s, const char *type, int64_t time, const json_t *doc,
			 struct err *e);
	/* Set (or replace) the cost of item in settlement year year, in øre excluding VAT. */
	int (*cost_set)(struct store *s, int year, const char *item, int64_t ore, struct err *e);
	/* Set (or replace) a customer's name and invoice reference. */
	int (*customer_set)(struct store *s, const char *orgno, const char *name,
			    const char *reference, struct err *e);
	/* Add an extra invoice line (an additional service) for orgno in year. */
	int (*extra_add)(struct store *s, int year, const char *orgno, const char *text,
			 int64_t quantity, int64_t unit_ore, struct err *e);
	/* Record a billing run of year: its inputs and summary (doc). */
	int (*run_put)(struct store *s, int year, const json_t *doc, struct err *e);
	/*
	 * Allow events before `before` to be removed, then remove them in short
	 * batches; *n how many.  The allowed boundary only ever rises: the
	 * database refuses to delete (or change) any event at or after it.
	 */
	int (*event_retire)(struct store *s, int64_t before, int64_t *n, struct err *e);
};

#endif
