/*
 * portenctl billing (spec/billing.md §1, §3, §4): cost entries, customers'
 * invoice references, extra lines, the estimate during the year and the
 * run after it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing_int.h"
#include "core/natid.h"
#include "core/str.h"
#include "core/timeutil.h"

#define BILL_TEXT_MAX 200 /* names, references, extra lines' texts */

/* What the operator enters costs for: the private eIDs, eIDAS and MinID's SMS codes. */
static const char *const bill_items[] = {
	"bankid", "buypass", "commfides", "eidas", "minid", "minid-sms", NULL,
};

void
bill_cmd_billing_usage(FILE *f)
{
	fputs("  billing cost --year YYYY --item ITEM --amount NOK\n"
	      "                            set a supplier cost excl. VAT (ITEM: bankid buypass\n"
	      "                            commfides eidas minid minid-sms)\n"
	      "  billing costs --year YYYY\n"
	      "  billing customer --orgno ORGNO --name NAME --reference REF\n"
	      "                            the customer's name and invoice reference\n"
	      "  billing extra --year YYYY --orgno ORGNO --text TEXT --quantity N --unit-price NOK\n"
	      "                            an extra invoice line (an additional service)\n"
	      "  billing estimate [--year YYYY]\n"
	      "                            the published estimate: last year's costs over this\n"
	      "                            year's volume so far, projected\n"
	      "  billing run --year YYYY --out DIR [--issue-date YYYY-MM-DD]\n"
	      "                            EHF invoices and summary.json for an ended year\n",
	      f);
}

struct bill_args {
	const char *year, *item, *amount, *orgno, *name, *reference, *text, *quantity, *unit,
		*out, *issue, *as_of;
};

static bool
bill_item_known(const char *item)
{
	for (size_t i = 0; bill_items[i] != NULL; i++)
		if (strcmp(item, bill_items[i]) == 0)
			return true;
	return false;
}

/* Printable text of 1..BILL_TEXT_MAX bytes, valid UTF-8 without control characters. */
static bool
bill_text_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > BILL_TEXT_MAX || !str_is_clean_utf8((struct str){ s, n }))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int
bill_orgno_check(const char *orgno)
{
	if (orgno == NULL || !orgno_valid_c(orgno))
		return cli_usage_error("--orgno must be an organisation number (9 digits, mod 11)");
	return CLI_OK;
}

static int
cmd_cost(struct cli *c, const struct bill_args *a)
{
	struct err e = { 0 };
	int64_t ore;
	int y, rc, st;

	if (a->year == NULL || a->item == NULL || a->amount == NULL)
		return cli_usage_error("billing cost --year YYYY --item ITEM --amount NOK");
	if (bill_year_parse(a->year, &y, &e) != 0 || bill_amount_parse(a->amount, &ore, &e) != 0)
		return cli_usage_error("billing cost: %s", e.msg);
	if (!bill_item_known(a->item))
		return cli_usage_error("billing cost: unknown item %.40s (bankid buypass commfides "
				       "eidas minid minid-sms)", a->item);
	if ((st = cli_open(c)) != CLI_OK)
		return st;
	rc = store_call(c->app.store, billing, cost_set, y, a->item, ore, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	cli_print_result(c, NULL, "done");
	return CLI_OK;
}

static int
cost_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	struct cli *c = arg;
	char amt[32];

	(void)e;
	bill_amount_format(row->n[0], amt, sizeof(amt));
	fprintf(c->out, "%-12s %16s\n", row->k[0], amt);
	return 0;
}

static int
cmd_costs(struct cli *c, const struct bill_args *a)
{
	struct err e = { 0 };
	int y, rc, st;

	if (a->year == NULL || bill_year_parse(a->year, &y, &e) != 0)
		return cli_usage_error("billing costs --year YYYY%s%s", e.msg[0] ? ": " : "", e.msg);
	if ((st = cli_open(c)) != CLI_OK)
		return st;
	fprintf(c->out, "%-12s %16s\n", "ITEM", "NOK EXCL. VAT");
	rc = store_call(c->app.store, billing, bill_read, STORE_BILL_COSTS, y, 0, cost_row, c, &e);
	return rc != 0 ? cli_fail(rc, &e) : CLI_OK;
}

static int
cmd_customer(struct cli *c, const struct bill_args *a)
{
	struct err e = { 0 };
	int rc, st;

	if (a->orgno == NULL || a->name == NULL || a->reference == NULL)
		return cli_usage_error("billing customer --orgno ORGNO --name NAME --reference REF");
	if ((st = bill_orgno_check(a->orgno)) != CLI_OK)
		return st;
	if (!bill_text_ok(a->name) || !bill_text_ok(a->reference))
		return cli_usage_error("billing customer: --name and --reference are 1 to %d "
				       "printable characters", BILL_TEXT_MAX);
	if ((st = cli_open(c)) != CLI_OK)
		return st;
	rc = store_call(c->app.store, billing, customer_set, a->orgno, a->name, a->reference, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	cli_print_result(c, NULL, "done");
	return CLI_OK;
}

static int
cmd_extra(struct cli *c, const struct bill_args *a)
{
	struct err e = { 0 };
	long long q = 0;
	int64_t unit;
	int y, rc, st;

	if (a->year == NULL || a->orgno == NULL || a->text == NULL || a->quantity == NULL ||
	    a->unit == NULL)
		return cli_usage_error("billing extra --year YYYY --orgno ORGNO --text TEXT "
				       "--quantity N --unit-price NOK");
	if (bill_year_parse(a->year, &y, &e) != 0 || bill_amount_parse(a->unit, &unit, &e) != 0)
		return cli_usage_error("billing extra: %s", e.msg);
	if ((st = bill_orgno_check(a->orgno)) != CLI_OK)
		return st;
	if (!bill_text_ok(a->text))
		return cli_usage_error("billing extra: --text is 1 to %d printable characters",
				       BILL_TEXT_MAX);
	if (str_to_ll(str_c(a->quantity), 1, 1000000, &q) != 0)
		return cli_usage_error("billing extra: --quantity is 1 to 1000000");
	if ((__int128)q * unit > BILL_AMOUNT_MAX)
		return cli_usage_error("billing extra: the line comes to more than NOK %lld",
				       BILL_AMOUNT_MAX / 100);
	if ((st = cli_open(c)) != CLI_OK)
		return st;
	rc = store_call(c->app.store, billing, extra_add, y, a->orgno, a->text, (int64_t)q, unit,
			&e);
	if (rc != 0)
		return cli_fail(rc, &e);
	cli_print_result(c, NULL, "done");
	return CLI_OK;
}

struct vols {
	int64_t *v;
	size_t n, cap;
	const char *last;        /* the customer of v[n-1] (copied) */
	char *last_buf;
};

/* VOLUME rows come by customer, eid: add up each customer's eIDs. */
static int
vol_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	struct vols *v = arg;

	if (row->k[0] == NULL)
		return 0;
	if (v->last == NULL || strcmp(v->last, row->k[0]) != 0) {
		if (v->n == v->cap) {
			size_t cap = v->cap ? v->cap * 2 : 64;
			int64_t *nv = realloc(v->v, cap * sizeof(*nv));

			if (nv == NULL)
				return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
			v->v = nv;
			v->cap = cap;
		}
		free(v->last_buf);
		v->last = v->last_buf = strdup(row->k[0]);
		if (v->last == NULL)
			return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		v->v[v->n++] = 0;
	}
	v->v[v->n - 1] += row->n[0];
	return 0;
}

static int
pool_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	(void)e;
	*(int64_t *)arg += row->n[0];
	return 0;
}

static int
cmd_estimate(struct cli *c, const struct bill_args *a)
{
	struct err e = { 0 };
	struct vols v = { 0 };
	int64_t from, to, now = time_now(), pool = 0, p;
	int y = bill_year_of(now), rc, st;
	char ex[32], inc[32];
	json_t *out;

	if (a->year != NULL && bill_year_parse(a->year, &y, &e) != 0)
		return cli_usage_error("billing estimate: %s", e.msg);
	if (bill_year_bounds(y, &from, &to, &e) != 0)
		return cli_usage_error("billing estimate: %s", e.msg);
	if (now <= from)
		return cli_usage_error("billing estimate: settlement year %d has not begun", y);
	if ((st = cli_open(c)) != CLI_OK)
		return st;
	rc = store_call(c->app.store, billing, bill_read, STORE_BILL_COSTS, y - 1, 0, pool_row,
			&pool, &e);
	if (rc == 0)
		rc = store_call(c->app.store, billing, bill_read, STORE_BILL_VOLUME, from,
				now < to ? now : to, vol_row, &v, &e);
	if (rc != 0) {
		free(v.v);
		free(v.last_buf);
		return cli_fail(rc, &e);
	}
	p = bill_estimate(pool, v.v, v.n, (now < to ? now : to) - from, to - from,
			  c->cfg.billing_threshold);
	free(v.v);
	free(v.last_buf);
	bill_price_format(p, ex, sizeof(ex));
	bill_price_format(p + (p * BILL_VAT_PERCENT + 50) / 100, inc, sizeof(inc));
	out = json_pack("{s:i, s:s, s:s, s:I}", "year", y, "price_excl_vat", ex, "price_incl_vat",
			inc, "last_year_costs_ore", (json_int_t)pool);
	cli_print_result(c, out, "done");
	json_decref(out);
	return CLI_OK;
}

static int
cmd_run(struct cli *c, const struct bill_args *a)
{
	struct bill_run_opts o = { 0 };
	struct err e = { 0 };
	json_t *summary = NULL;
	int64_t from, to;
	int rc, st;

	if (a->year == NULL || a->out == NULL)
		return cli_usage_error("billing run --year YYYY --out DIR [--issue-date YYYY-MM-DD]");
	if (bill_year_parse(a->year, &o.year, &e) != 0 || bill_year_bounds(o.year, &from, &to, &e))
		return cli_usage_error("billing run: %s", e.msg);
	o.out_dir = a->out;
	o.now = time_now();
	/* The invoices carry no clock: the same inputs give the same bytes. */
	o.issue_date = to + 2 * 3600;
	if (a->issue != NULL && bill_date_parse(a->issue, &o.issue_date, &e) != 0)
		return cli_usage_error("billing run: --issue-date: %s", e.msg);
	if ((st = cli_open(c)) != CLI_OK)
		return st;
	/* Tests run a year that has not ended as if it had, and break a run halfway. */
	if (a->as_of != NULL || getenv("PORTEN_BILLING_FAIL_AFTER") != NULL) {
		long long n = 0;
		const char *fa = getenv("PORTEN_BILLING_FAIL_AFTER");

		if (!c->app.test_env)
			return cli_usage_error("billing run: --as-of and PORTEN_BILLING_FAIL_AFTER "
					       "are for the test environment only");
		if (a->as_of != NULL && bill_date_parse(a->as_of, &o.now, &e) != 0)
			return cli_usage_error("billing run: --as-of: %s", e.msg);
		if (fa != NULL && str_to_ll(str_c(fa), 1, 1000000, &n) != 0)
			return cli_usage_error("billing run: PORTEN_BILLING_FAIL_AFTER is 1..1000000");
		o.fail_after = (int)n;
	}
	rc = bill_run(&c->app, &o, &summary, &e);
	if (rc != 0)
		return cli_fail(rc, &e);
	cli_print_json(c, summary);
	json_decref(summary);
	return CLI_OK;
}

int
bill_cmd_billing(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "year", required_argument, NULL, 'y' },
		{ "item", required_argument, NULL, 'i' },
		{ "amount", required_argument, NULL, 'a' },
		{ "orgno", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "reference", required_argument, NULL, 'r' },
		{ "text", required_argument, NULL, 't' },
		{ "quantity", required_argument, NULL, 'q' },
		{ "unit-price", required_argument, NULL, 'u' },
		{ "out", required_argument, NULL, 'O' },
		{ "issue-date", required_argument, NULL, 'd' },
		{ "as-of", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	struct bill_args a = { 0 };
	const char *sub = argv[0];
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'y': a.year = optarg; break;
		case 'i': a.item = optarg; break;
		case 'a': a.amount = optarg; break;
		case 'o': a.orgno = optarg; break;
		case 'n': a.name = optarg; break;
		case 'r': a.reference = optarg; break;
		case 't': a.text = optarg; break;
		case 'q': a.quantity = optarg; break;
		case 'u': a.unit = optarg; break;
		case 'O': a.out = optarg; break;
		case 'd': a.issue = optarg; break;
		case 'A': a.as_of = optarg; break;
		default:
			return cli_usage_error("billing %s: unknown option or missing value: %s", sub,
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("billing %s takes options only", sub);
	if (strcmp(sub, "cost") == 0)
		return cmd_cost(c, &a);
	if (strcmp(sub, "costs") == 0)
		return cmd_costs(c, &a);
	if (strcmp(sub, "customer") == 0)
		return cmd_customer(c, &a);
	if (strcmp(sub, "extra") == 0)
		return cmd_extra(c, &a);
	if (strcmp(sub, "estimate") == 0)
		return cmd_estimate(c, &a);
	if (strcmp(sub, "run") == 0)
		return cmd_run(c, &a);
	return cli_usage_error("unknown command 'billing %s'", sub);
}
