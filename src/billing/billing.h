/*
 * Billing and statistics by settlement year (spec/billing.md): the
 * arithmetic of the cost model (alloc.c), the EHF invoice (ehf.c), the
 * billing run (run.c), the statistics (stats.c) and their portenctl
 * commands, and the service that sweeps events past retention.
 *
 * Money is counted in øre (int64_t) everywhere; a price per
 * authentication, which is a fraction of an øre, in millionths of a krone
 * (on an invoice line, with as many more decimals as the line needs).
 */
#ifndef PORTEN_BILLING_BILLING_H
#define PORTEN_BILLING_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "app/service.h"
#include "core/err.h"

extern const struct porten_service billing_service;

#define BILL_YEAR_MIN 2001
#define BILL_YEAR_MAX 2999
/* The largest cost entry or extra line: NOK 10 000 000 000.00. */
#define BILL_AMOUNT_MAX 1000000000000LL
#define BILL_THRESHOLD_DEFAULT 200000
#define BILL_VAT_PERCENT 25

/*
 * Settlement year `year` runs from 1 October year-1 to 30 September year,
 * Norwegian time.  Both ends fall in summer time (UTC+2: it ends on the
 * last Sunday of October), so the bounds are exact: *from is 1 October
 * year-1 00:00 CEST, *to 1 October year 00:00 CEST (excluded).
 * ERR_INVAL outside BILL_YEAR_MIN..BILL_YEAR_MAX.
 */
int bill_year_bounds(int year, int64_t *from, int64_t *to, struct err *e);
/* The settlement year that time t (seconds since the epoch) falls in. */
int bill_year_of(int64_t t);
/* "2024" (the year ending 30 September 2024) or "2023-2024"; ERR_INVAL otherwise. */
int bill_year_parse(const char *s, int *year, struct err *e);

/*
 * An amount in kroner ("1234", "1234.5", "1234.50") into øre: digits, an
 * optional point and at most two decimals, 0..BILL_AMOUNT_MAX øre.
 * Negative, fractional øre, exponents, spaces and absurd amounts are
 * refused (ERR_INVAL).
 */
int bill_amount_parse(const char *s, int64_t *ore, struct err *e);
/* øre as kroner with two decimals ("1234.50", "-0.05"); out holds at least 32 bytes. */
void bill_amount_format(int64_t ore, char *out, size_t n);
/* millionths of a krone as kroner with six decimals ("0.280000"). */
void bill_price_format(int64_t micro, char *out, size_t n);
/* The most decimals a price is written with (10^18 fits in 64 bits). */
#define BILL_PRICE_DECIMALS_MAX 18
/*
 * v units of 10^-decimals kroner as kroner with that many decimals
 * (decimals 1..BILL_PRICE_DECIMALS_MAX, clamped): 570599531, 9 gives
 * "0.570599531"; out holds at least 48 bytes.
 */
void bill_fixed_format(int64_t v, unsigned decimals, char *out, size_t n);

/* One party to share the pool among: its volume in, its amount (øre) out. */
struct bill_share {
	int64_t volume;
	int64_t amount;
};

/*
 * Share pool (øre) among n parties in proportion to their volumes:
 * amount = floor(pool * volume / total), then the øre left over go one
 * each to the largest remainders (ties to the lower index: callers sort),
 * so the amounts add up to pool exactly.  All volumes 0 (or n == 0): all
 * amounts 0, and ERR_INVAL if pool > 0, since nobody can carry it.
 * Negative volumes or pool: ERR_INVAL.
 */
int bill_share(struct bill_share *s, size_t n, int64_t pool, struct err *e);

/* The price per authentication in millionths of a krone, rounded half up; 0 if volume is 0. */
int64_t bill_price(int64_t pool_ore, int64_t volume);
/* The same including VAT at BILL_VAT_PERCENT. */
int64_t bill_price_vat(int64_t pool_ore, int64_t volume);
/* VAT on an amount excluding VAT, in øre, rounded half up. */
int64_t bill_vat(int64_t ore);
/*
 * The unit price an invoice line of quantity units and amount ore shows:
 * ore / quantity in units of 10^-*decimals kroner, rounded half up, with
 * *decimals six, or three more than quantity has digits if that is more
 * (at most BILL_PRICE_DECIMALS_MAX), so that quantity x price is within
 * 0.05 øre of the amount (PEPPOL-EN16931-R120).  0 if quantity is not
 * positive.
 */
int64_t bill_line_price(int64_t ore, int64_t quantity, unsigned *decimals);

/*
 * The estimate published during a year (spec §3 step 4): last year's cost
 * pool over the volume of the customers expected to pay this year, each
 * customer's volume so far projected to the whole year (elapsed of
 * length seconds).  volumes[] are the customers' volumes so far.
 * Millionths of a krone; 0 when nobody is expected to pay.
 */
int64_t bill_estimate(int64_t last_pool_ore, const int64_t *volumes, size_t n, int64_t elapsed,
		      int64_t length, int64_t threshold);

#endif
