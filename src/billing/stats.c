/*
 * portenctl stats (spec/billing.md §5): authentications per month,
 * customer, client, eID and level; Maskinporten tokens per consumer and
 * supplier; totals per day.  CSV on standard output, summed in the store.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "billing/billing_int.h"
#include "core/timeutil.h"

void
bill_cmd_stats_usage(FILE *f)
{
	fputs("  stats auth|tokens|daily [--year YYYY | --from YYYY-MM-DD --to YYYY-MM-DD]\n"
	      "                            CSV: authentications per month, customer, client, eID\n"
	      "                            and level; tokens per consumer and supplier; daily\n"
	      "                            totals (default: the current settlement year)\n",
	      f);
}

int
bill_date_parse(const char *s, int64_t *t, struct err *e)
{
	int v[3] = { 0 }, len[3] = { 4, 2, 2 };
	const char *p = s;
	struct tm tm = { 0 };

	*t = 0;
	for (int i = 0; s != NULL && i < 3; i++) {
		for (int k = 0; k < len[i]; k++, p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			v[i] = v[i] * 10 + (*p - '0');
		}
		if (*p != (i < 2 ? '-' : '\0'))
			goto bad;
		p++;
	}
	if (s == NULL || v[0] < 1970 || v[0] > 2999 || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
	    v[2] > 31)
		goto bad;
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	*t = (int64_t)timegm(&tm);
	/* timegm normalises 31 February into March: refuse what moved. */
	{
		struct tm back;
		time_t tt = (time_t)*t;

		gmtime_r(&tt, &back);
		if (back.tm_mday != v[2] || back.tm_mon != v[1] - 1)
			goto bad;
	}
	return 0;
bad:
	*t = 0;
	return ERR(e, ERR_INVAL, 400, NULL, "a date must be YYYY-MM-DD: %.32s", s ? s : "");
}

void
bill_date_format(int64_t t, char *out, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
static void
csv_field(FILE *f, const char *v, bool last)
{
	if (v == NULL)
		v = "";
	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, f);
	} else {
		fputc('"', f);
		for (; *v; v++) {
			if (*v == '"')
				fputc('"', f);
			fputc(*v, f);
		}
		fputc('"', f);
	}
	fputc(last ? '\n' : ',', f);
}

struct csv_out {
	FILE *f;
	int nk, nn;
};

static int
csv_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	const struct csv_out *o = arg;

	(void)e;
	for (int i = 0; i < o->nk; i++)
		csv_field(o->f, row->k[i], false);
	for (int i = 0; i < o->nn; i++)
		fprintf(o->f, "%lld%c", (long long)row->n[i], i + 1 == o->nn ? '\n' : ',');
	return 0;
}

static const struct {
	const char *name;
	enum store_bill_read what;
	const char *header;
	int nk, nn;
} stats_kinds[] = {
	{ "auth", STORE_BILL_AUTH,
	  "month,customer,client_id,eid,acr,authentications,sso_logins,billable", 5, 3 },
	{ "tokens", STORE_BILL_TOKENS, "month,consumer,supplier,tokens", 3, 1 },
	{ "daily", STORE_BILL_DAILY, "day,authentications,sso_logins,tokens", 1, 3 },
};

int
bill_cmd_stats(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "year", required_argument, NULL, 'y' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *year = NULL, *from = NULL, *to = NULL;
	struct err e = { 0 };
	int64_t a = 0, b = 0;
	size_t k;
	int ch, y, rc, status;

	for (k = 0; k < sizeof(stats_kinds) / sizeof(stats_kinds[0]); k++)
		if (strcmp(sub, stats_kinds[k].name) == 0)
			break;
	if (k == sizeof(stats_kinds) / sizeof(stats_kinds[0]))
		return cli_usage_error("unknown command 'stats %s'", sub);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'y': year = optarg; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		default:
			return cli_usage_error("stats %s: unknown option or missing value: %s", sub,
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("stats %s takes options only", sub);
	if (year != NULL && (from != NULL || to != NULL))
		return cli_usage_error("stats %s: --year or --from/--to, not both", sub);
	if ((from == NULL) != (to == NULL))
		return cli_usage_error("stats %s: --from and --to go together", sub);
	if (from != NULL) {
		if (bill_date_parse(from, &a, &e) != 0 || bill_date_parse(to, &b, &e) != 0)
			return cli_usage_error("stats %s: %s", sub, e.msg);
		b += 86400; /* --to is the last day counted */
		if (b <= a)
			return cli_usage_error("stats %s: --to is before --from", sub);
	} else {
		y = bill_year_of(time_now());
		if ((year != NULL && bill_year_parse(year, &y, &e) != 0) ||
		    bill_year_bounds(y, &a, &b, &e) != 0)
			return cli_usage_error("stats %s: %s", sub, e.msg);
	}
	status = cli_open(c);
	if (status != CLI_OK)
		return status;
	fprintf(c->out, "%s\n", stats_kinds[k].header);
	{
		struct csv_out o = { c->out, stats_kinds[k].nk, stats_kinds[k].nn };

		rc = store_call(c->app.store, billing, bill_read, stats_kinds[k].what, a, b, csv_row,
				&o, &e);
	}
	return rc != 0 ? cli_fail(rc, &e) : CLI_OK;
}
