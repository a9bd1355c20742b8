/*
 * Billing and statistics as a service (app/service.h): the seller's and
 * the cost model's settings, the retention sweep of events in the tick,
 * and portenctl's billing and stats commands.
 */
#include "billing/billing.h"

#include <stdio.h>
#include <string.h>

#include "billing/billing_int.h"
#include "core/log.h"
#include "core/natid.h"
#include "core/timeutil.h"

static const struct cfg_row bill_rows[] = {
	CFG_ROW("billing_seller_name", CFG_STR, billing_seller_name, NULL, 0, 0),
	CFG_ROW("billing_seller_orgno", CFG_STR, billing_seller_orgno, NULL, 0, 0),
	CFG_ROW("billing_seller_vat", CFG_STR, billing_seller_vat, NULL, 0, 0),
	CFG_ROW("billing_seller_street", CFG_STR, billing_seller_street, NULL, 0, 0),
	CFG_ROW("billing_seller_city", CFG_STR, billing_seller_city, NULL, 0, 0),
	CFG_ROW("billing_seller_postcode", CFG_STR, billing_seller_postcode, NULL, 0, 0),
	CFG_ROW("billing_seller_account", CFG_STR, billing_seller_account, NULL, 0, 0),
	CFG_ROW("billing_threshold", CFG_INT, billing_threshold, "200000", 1, 1000000000),
	CFG_ROW("billing_retention_years", CFG_INT, billing_retention_years, "2", 1, 50),
	CFG_ROW("billing_payment_days", CFG_INT, billing_payment_days, "30", 0, 365),
};

/* The seller's organisation number, when set, is a real one (mod 11). */
static int
bill_validate(const struct cfg *c, struct err *e)
{
	const char *o = c->billing_seller_orgno;

	if (o != NULL && o[0] != '\0' && !orgno_valid_c(o))
		return ERR(e, ERR_INVAL, 0, NULL,
			   "billing_seller_orgno: not an organisation number (9 digits, mod 11)");
	return 0;
}

static const struct cfg_section bill_cfg = {
	"billing", bill_rows, sizeof(bill_rows) / sizeof(bill_rows[0]), bill_validate,
};

/*
 * spec §2: events stay while their year can still be invoiced.  The
 * running year and billing_retention_years ended ones (at least the one
 * being invoiced now) are kept; what is older goes.
 */
static void
bill_tick(struct porten *app)
{
	int keep = bill_year_of(time_now()) - (int)app->cfg->billing_retention_years;
	int64_t from, to, n = 0;
	struct err e = { 0 };

	if (bill_year_bounds(keep, &from, &to, &e) != 0)
		return;
	if (store_call(app->store, billing, event_retire, from, &n, &e) != 0)
		log_warn(NULL, "billing: retention sweep: %s", e.msg);
	else if (n > 0)
		log_info(NULL, "billing: %lld events before settlement year %d removed", (long long)n,
			 keep);
}

static const struct cli_command bill_commands[] = {
	{ "billing", bill_cmd_billing, bill_cmd_billing_usage },
	{ "stats", bill_cmd_stats, bill_cmd_stats_usage },
	{ NULL, NULL, NULL },
};

const struct porten_service billing_service = {
	.name = "billing",
	.cfg = &bill_cfg,
	.commands = bill_commands,
	.tick = bill_tick,
};
