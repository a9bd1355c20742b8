/* Inside the billing service: the commands and the run. */
#ifndef PORTEN_BILLING_BILLING_INT_H
#define PORTEN_BILLING_BILLING_INT_H

#include <stdio.h>

#include "app/cli.h"
#include "billing/billing.h"

/* portenctl stats ... (stats.c) */
int bill_cmd_stats(struct cli *c, int argc, char **argv);
void bill_cmd_stats_usage(FILE *f);
/* portenctl billing ... (cmd.c) */
int bill_cmd_billing(struct cli *c, int argc, char **argv);
void bill_cmd_billing_usage(FILE *f);

/* "YYYY-MM-DD" as the UTC midnight starting that day; ERR_INVAL otherwise. */
int bill_date_parse(const char *s, int64_t *t, struct err *e);
/* UTC day of t as "YYYY-MM-DD" (out at least 11 bytes). */
void bill_date_format(int64_t t, char *out, size_t n);

/* What a billing run needs besides the store (run.c). */
struct bill_run_opts {
	int year;
	const char *out_dir;     /* created by the run; must not exist */
	int64_t now;             /* the run refuses a year not ended by then */
	int64_t issue_date;      /* the invoices' IssueDate (UTC midnight) */
	int fail_after;          /* test only: fail after writing this many invoices (0: never) */
};

/*
 * Allocate year's cost pool and write one EHF invoice per paying customer
 * with an invoice reference, and summary.json, into o->out_dir, all or
 * nothing (a directory beside it, renamed into place at the end); then
 * record the run in the store.  *summary (new reference) is what
 * summary.json holds.
 */
int bill_run(struct porten *app, const struct bill_run_opts *o, json_t **summary, struct err *e);

#endif
