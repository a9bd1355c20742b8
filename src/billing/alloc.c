/*
 * The arithmetic of the cost model (spec/billing.md §1, §3): settlement
 * years, amounts in øre, the shares of the cost pool and the price per
 * authentication.  Integers only: the same inputs give the same øre on
 * every machine.
 */
#include "billing/billing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CEST_OFFSET (2 * 3600) /* 1 October is always in Norwegian summer time */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int64_t
year_start(int year)
{
	return days_from_civil(year - 1, 10, 1) * 86400 - CEST_OFFSET;
}

int
bill_year_bounds(int year, int64_t *from, int64_t *to, struct err *e)
{
	*from = *to = 0;
	if (year < BILL_YEAR_MIN || year > BILL_YEAR_MAX)
		return ERR(e, ERR_INVAL, 400, NULL, "settlement year %d is out of range (%d-%d)",
			   year, BILL_YEAR_MIN, BILL_YEAR_MAX);
	*from = year_start(year);
	*to = year_start(year + 1);
	return 0;
}

int
bill_year_of(int64_t t)
{
	int y = BILL_YEAR_MIN;

	/* A guess from the mean year, then at most a step either way. */
	if (t >= year_start(BILL_YEAR_MIN))
		y = (int)(1970 + (t + CEST_OFFSET) / 31556952) + 1;
	while (y > BILL_YEAR_MIN && t < year_start(y))
		y--;
	while (y < BILL_YEAR_MAX && t >= year_start(y + 1))
		y++;
	return y;
}

/* Exactly four digits in range. */
static bool
year_digits(const char *s, size_t n, int *out)
{
	int v = 0;

	if (n != 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return v >= BILL_YEAR_MIN && v <= BILL_YEAR_MAX;
}

int
bill_year_parse(const char *s, int *year, struct err *e)
{
	const char *dash = s != NULL ? strchr(s, '-') : NULL;
	int a = 0, b = 0;

	*year = 0;
	if (s == NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "a settlement year is required");
	if (dash == NULL ? year_digits(s, strlen(s), &b)
			 : year_digits(s, (size_t)(dash - s), &a) &&
				   year_digits(dash + 1, strlen(dash + 1), &b) && b == a + 1) {
		*year = b;
		return 0;
	}
	return ERR(e, ERR_INVAL, 400, NULL,
		   "settlement year must be YYYY (the year it ends) or YYYY-YYYY, %d-%d: %.32s",
		   BILL_YEAR_MIN, BILL_YEAR_MAX, s);
}

int
bill_amount_parse(const char *s, int64_t *ore, struct err *e)
{
	int64_t kr = 0, frac = 0;
	size_t i = 0, nd = 0, nf = 0;

	*ore = 0;
	if (s == NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "an amount is required");
	for (; s[i] >= '0' && s[i] <= '9'; i++, nd++) {
		if (nd >= 13)
			goto bad;
		kr = kr * 10 + (s[i] - '0');
	}
	if (nd == 0)
		goto bad;
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++, nf++) {
			if (nf >= 2)
				goto bad;
			frac = frac * 10 + (s[i] - '0');
		}
		if (nf == 0)
			goto bad;
		if (nf == 1)
			frac *= 10;
	}
	if (s[i] != '\0' || kr > BILL_AMOUNT_MAX / 100 || kr * 100 + frac > BILL_AMOUNT_MAX)
		goto bad;
	*ore = kr * 100 + frac;
	return 0;
bad:
	return ERR(e, ERR_INVAL, 400, NULL,
		   "amount must be kroner with at most two decimals, 0 to %lld: %.40s",
		   BILL_AMOUNT_MAX / 100, s);
}

void
bill_fixed_format(int64_t v, unsigned decimals, char *out, size_t n)
{
	uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, scale = 1;

	if (decimals < 1)
		decimals = 1;
	if (decimals > BILL_PRICE_DECIMALS_MAX)
		decimals = BILL_PRICE_DECIMALS_MAX;
	for (unsigned i = 0; i < decimals; i++)
		scale *= 10;
	snprintf(out, n, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(a / scale),
		 (int)decimals, (unsigned long long)(a % scale));
}

void
bill_amount_format(int64_t ore, char *out, size_t n)
{
	bill_fixed_format(ore, 2, out, n);
}

void
bill_price_format(int64_t micro, char *out, size_t n)
{
	bill_fixed_format(micro, 6, out, n);
}

/* a * b / c rounded half up, for non-negative values; 128 bits in between. */
static int64_t
muldiv_round(int64_t a, int64_t b, int64_t c)
{
	__int128 p = (__int128)a * b;

	return c == 0 ? 0 : (int64_t)((p + c / 2) / c);
}

int64_t
bill_price(int64_t pool_ore, int64_t volume)
{
	/* øre per authentication, in millionths of a krone: * 1e6 / 100 */
	return muldiv_round(pool_ore, 10000, volume);
}

int64_t
bill_line_price(int64_t ore, int64_t quantity, unsigned *decimals)
{
	int64_t scale = 10000; /* øre to 10^-6 kr */
	unsigned d = 6;

	/*
	 * PEPPOL-EN16931-R120: the line amount is quantity x price (a base
	 * quantity of 1), within 0.02.  A quantity of k digits is under
	 * 10^k, so a price rounded at k + 3 decimals is off by less than
	 * 0.5 * 10^-(k+3) per unit, under 0.05 øre on the line: the product
	 * rounds to the amount whatever rounding the reader uses.
	 */
	for (int64_t q = quantity / 1000; q > 0 && d < BILL_PRICE_DECIMALS_MAX; q /= 10) {
		d++;
		scale *= 10;
	}
	*decimals = d;
	return quantity > 0 && ore >= 0 ? muldiv_round(ore, scale, quantity) : 0;
}

int64_t
bill_price_vat(int64_t pool_ore, int64_t volume)
{
	return muldiv_round(pool_ore, 100 * (100 + BILL_VAT_PERCENT), volume);
}

int64_t
bill_vat(int64_t ore)
{
	return muldiv_round(ore, BILL_VAT_PERCENT, 100);
}

struct rem {
	size_t i;
	int64_t r;
};

/* Largest remainder first; equal remainders in index order. */
static int
rem_cmp(const void *a, const void *b)
{
	const struct rem *x = a, *y = b;

	if (x->r != y->r)
		return x->r > y->r ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

int
bill_share(struct bill_share *s, size_t n, int64_t pool, struct err *e)
{
	__int128 total = 0;
	int64_t given = 0;
	struct rem *rems;

	if (pool < 0)
		return ERR(e, ERR_INVAL, 400, NULL, "the cost pool is negative");
	for (size_t i = 0; i < n; i++) {
		s[i].amount = 0;
		if (s[i].volume < 0)
			return ERR(e, ERR_INVAL, 400, NULL, "a volume is negative");
		total += s[i].volume;
	}
	if (total == 0)
		return pool == 0 ? 0 : ERR(e, ERR_INVAL, 400, NULL, "no volume to share the cost by");
	if (total > INT64_MAX)
		return ERR(e, ERR_INVAL, 400, NULL, "the volume is too large");
	rems = calloc(n, sizeof(*rems));
	if (rems == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		__int128 p = (__int128)pool * s[i].volume;

		s[i].amount = (int64_t)(p / total);
		rems[i] = (struct rem){ i, (int64_t)(p % total) };
		given += s[i].amount;
	}
	/* Fewer than n øre are left: each floor lost less than one. */
	qsort(rems, n, sizeof(*rems), rem_cmp);
	for (size_t k = 0; given < pool && k < n; k++, given++)
		s[rems[k].i].amount++;
	free(rems);
	return 0;
}

int64_t
bill_estimate(int64_t last_pool_ore, const int64_t *volumes, size_t n, int64_t elapsed,
	      int64_t length, int64_t threshold)
{
	int64_t total = 0;

	if (elapsed <= 0 || length <= 0)
		return 0;
	if (elapsed > length)
		elapsed = length;
	for (size_t i = 0; i < n; i++) {
		int64_t projected = (int64_t)((__int128)volumes[i] * length / elapsed);

		if (projected >= threshold)
			total += projected;
	}
	return bill_price(last_pool_ore, total);
}
