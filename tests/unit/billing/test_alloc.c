/*
 * Tests for billing/alloc.c (spec/billing.md §1, §3): settlement years and
 * their bounds (a leap year's 29 February inside), amounts in øre, the
 * shares of the pool by largest remainder, the price per authentication,
 * an invoice line's unit price and the estimate, each against numbers
 * worked out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "billing/billing.h"

static void
test_year_bounds(void **state)
{
	struct err e = { 0 };
	int64_t from, to;

	(void)state;
	/* 2024: 1 Oct 2023 00:00 CEST = 30 Sep 2023 22:00 UTC, to 1 Oct 2024 00:00 CEST */
	assert_int_equal(bill_year_bounds(2024, &from, &to, &e), 0);
	assert_int_equal(from, 1696111200);
	assert_int_equal(to, 1727733600);
	/* 29 February 2024 falls inside: 366 days; the next year has 365 */
	assert_int_equal(to - from, 366 * 86400);
	assert_int_equal(bill_year_bounds(2025, &from, &to, &e), 0);
	assert_int_equal(from, 1727733600);
	assert_int_equal(to - from, 365 * 86400);
	/* 2100 is no leap year */
	assert_int_equal(bill_year_bounds(2100, &from, &to, &e), 0);
	assert_int_equal(from, 4094488800);
	assert_int_equal(to - from, 365 * 86400);
	assert_int_equal(bill_year_bounds(2001, &from, &to, &e), 0);
	assert_int_equal(from, 970351200);
	assert_int_equal(bill_year_bounds(2000, &from, &to, &e), ERR_INVAL);
	assert_int_equal(bill_year_bounds(3000, &from, &to, &e), ERR_INVAL);
	assert_int_equal(bill_year_bounds(-1, &from, &to, &e), ERR_INVAL);
}

static void
test_year_of(void **state)
{
	(void)state;
	/* the first and last second of 2024, and either side */
	assert_int_equal(bill_year_of(1696111200), 2024);
	assert_int_equal(bill_year_of(1696111199), 2023);
	assert_int_equal(bill_year_of(1727733599), 2024);
	assert_int_equal(bill_year_of(1727733600), 2025);
	/* 29 February 2024 12:00 UTC, and midnight Norwegian time around it */
	assert_int_equal(bill_year_of(1709208000), 2024);
	assert_int_equal(bill_year_of(1709161200), 2024);
	assert_int_equal(bill_year_of(1709247600), 2024);
	/* 1 October 00:30 in Oslo is still 30 September in UTC, but the new year */
	assert_int_equal(bill_year_of(1727735400), 2025);
	assert_int_equal(bill_year_of(0), BILL_YEAR_MIN);
	assert_int_equal(bill_year_of(4126024800 - 1), 2100);
	for (int y = 2001; y < 2200; y++) {
		int64_t from, to;
		struct err e = { 0 };

		assert_int_equal(bill_year_bounds(y, &from, &to, &e), 0);
		assert_int_equal(bill_year_of(from), y);
		assert_int_equal(bill_year_of(to - 1), y);
	}
}

static void
test_year_parse(void **state)
{
	struct err e = { 0 };
	int y;

	(void)state;
	assert_int_equal(bill_year_parse("2024", &y, &e), 0);
	assert_int_equal(y, 2024);
	assert_int_equal(bill_year_parse("2023-2024", &y, &e), 0);
	assert_int_equal(y, 2024);
	const char *bad[] = { "2023-2025", "2024-2023", "2000", "3000", "20245", "202", "abcd",
			      "2024-", "-2024", "", " 2024", "2024 ", "+2024", "2024\n", "2023--2024" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bill_year_parse(bad[i], &y, &e), ERR_INVAL);
	assert_int_equal(bill_year_parse(NULL, &y, &e), ERR_INVAL);
}

static void
test_amount(void **state)
{
	struct err e = { 0 };
	int64_t o;
	char buf[32];

	(void)state;
	assert_int_equal(bill_amount_parse("0", &o, &e), 0);
	assert_int_equal(o, 0);
	assert_int_equal(bill_amount_parse("1234.5", &o, &e), 0);
	assert_int_equal(o, 123450);
	assert_int_equal(bill_amount_parse("1234.56", &o, &e), 0);
	assert_int_equal(o, 123456);
	assert_int_equal(bill_amount_parse("0.01", &o, &e), 0);
	assert_int_equal(o, 1);
	assert_int_equal(bill_amount_parse("10000000000", &o, &e), 0);
	assert_int_equal(o, BILL_AMOUNT_MAX);
	/* negative, fractional øre, exponents, spaces, absurd */
	const char *bad[] = { "-1", "-0.01", "1.234", "1e5", " 1", "1 ", "", ".", "1.", ".5",
			      "10000000000.01", "99999999999999", "1,5", "0x10", "NaN", "inf",
			      "12345678901234567890" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bill_amount_parse(bad[i], &o, &e), ERR_INVAL);
	assert_int_equal(bill_amount_parse(NULL, &o, &e), ERR_INVAL);
	bill_amount_format(123450, buf, sizeof(buf));
	assert_string_equal(buf, "1234.50");
	bill_amount_format(5, buf, sizeof(buf));
	assert_string_equal(buf, "0.05");
	bill_amount_format(-5, buf, sizeof(buf));
	assert_string_equal(buf, "-0.05");
	bill_price_format(280000, buf, sizeof(buf));
	assert_string_equal(buf, "0.280000");
}

static void
test_share_remainders(void **state)
{
	struct err e = { 0 };
	struct bill_share s[3] = { { 1, 0 }, { 1, 0 }, { 1, 0 } };

	(void)state;
	/* 100 øre in three: 33 each, the odd øre to the first of equal remainders */
	assert_int_equal(bill_share(s, 3, 100, &e), 0);
	assert_int_equal(s[0].amount, 34);
	assert_int_equal(s[1].amount, 33);
	assert_int_equal(s[2].amount, 33);
	/*
	 * 1001 øre by 3, 5, 7 (15): 200.2, 333.67, 467.13; floors 200, 333, 467
	 * (1000); remainders 3003 mod 15 = 3, 5005 mod 15 = 10, 7007 mod 15 = 2:
	 * the last øre to the second.
	 */
	s[0].volume = 3, s[1].volume = 5, s[2].volume = 7;
	assert_int_equal(bill_share(s, 3, 1001, &e), 0);
	assert_int_equal(s[0].amount, 200);
	assert_int_equal(s[1].amount, 334);
	assert_int_equal(s[2].amount, 467);
}

static void
test_share_many(void **state)
{
	struct err e = { 0 };
	struct bill_share s[97];
	int64_t sum = 0;

	(void)state;
	/* 97 customers of 200 000 + i, an odd pool: the øre add up exactly */
	for (int i = 0; i < 97; i++)
		s[i].volume = 200000 + i;
	assert_int_equal(bill_share(s, 97, 123456789, &e), 0);
	for (int i = 0; i < 97; i++) {
		sum += s[i].amount;
		/* each within one øre of its exact share */
		__int128 exact = (__int128)123456789 * s[i].volume;
		__int128 total = 0;
		for (int k = 0; k < 97; k++)
			total += s[k].volume;
		assert_true((__int128)s[i].amount * total >= exact - total &&
			    (__int128)s[i].amount * total <= exact + total);
	}
	assert_int_equal(sum, 123456789);
}

static void
test_share_edges(void **state)
{
	struct err e = { 0 };
	struct bill_share one = { 200000, 0 }, two[2] = { { 3000000000LL, 0 }, { 1000000000LL, 0 } };
	struct bill_share zero[2] = { { 0, 0 }, { 0, 0 } }, neg = { -1, 0 };

	(void)state;
	/* exactly at the threshold alone: the whole pool */
	assert_int_equal(bill_share(&one, 1, 2800000, &e), 0);
	assert_int_equal(one.amount, 2800000);
	/* the largest amounts and volumes: no overflow in between */
	assert_int_equal(bill_share(two, 2, 6 * BILL_AMOUNT_MAX, &e), 0);
	assert_int_equal(two[0].amount, 4500000000000LL);
	assert_int_equal(two[1].amount, 1500000000000LL);
	/* no cost entries: nothing to share */
	assert_int_equal(bill_share(two, 2, 0, &e), 0);
	assert_int_equal(two[0].amount, 0);
	/* nobody to carry a pool, a negative volume or pool */
	assert_int_equal(bill_share(zero, 2, 0, &e), 0);
	assert_int_equal(bill_share(zero, 2, 100, &e), ERR_INVAL);
	assert_int_equal(bill_share(NULL, 0, 100, &e), ERR_INVAL);
	assert_int_equal(bill_share(&neg, 1, 100, &e), ERR_INVAL);
	assert_int_equal(bill_share(&one, 1, -1, &e), ERR_INVAL);
}

static void
test_price_vat(void **state)
{
	(void)state;
	/* the founding example: NOK 280 000 over a million: 0.28, 0.35 with VAT */
	assert_int_equal(bill_price(28000000, 1000000), 280000);
	assert_int_equal(bill_price_vat(28000000, 1000000), 350000);
	/* 1 krone over 3: 0.333333; 2 kroner over 3 rounds up to 0.666667 */
	assert_int_equal(bill_price(100, 3), 333333);
	assert_int_equal(bill_price(200, 3), 666667);
	assert_int_equal(bill_price(100, 0), 0);
	assert_int_equal(bill_vat(100), 25);
	assert_int_equal(bill_vat(101), 25);   /* 25.25 */
	assert_int_equal(bill_vat(102), 26);   /* 25.5 rounds half up */
	assert_int_equal(bill_vat(35751), 8938);
}

/* quantity x price (10^-d kr) against ore: within 0.05 øre, 5 * 10^(d-4) in price units. */
static void
line_price_ok(int64_t ore, int64_t quantity)
{
	unsigned d = 0;
	int64_t price = bill_line_price(ore, quantity, &d);
	__int128 scale = 1, diff;

	for (unsigned i = 2; i < d; i++)
		scale *= 10;
	diff = (__int128)quantity * price - (__int128)ore * scale;
	if (diff < 0)
		diff = -diff;
	assert_true(d >= 6 && d <= BILL_PRICE_DECIMALS_MAX);
	assert_true(diff * 20 < scale * 100);
}

static void
test_line_price(void **state)
{
	unsigned d = 0;
	char buf[48];

	(void)state;
	/* 171 177.51 over 300 001: six digits, nine decimals; 0.570589798 */
	assert_int_equal(bill_line_price(17117751, 300001, &d), 570589798);
	assert_int_equal(d, 9);
	/* short lines keep six decimals: 3.99 over 7, 1.00 over 3 (0.999999 rounds to 1.00) */
	assert_int_equal(bill_line_price(399, 7, &d), 570000);
	assert_int_equal(d, 6);
	assert_int_equal(bill_line_price(100, 3, &d), 333333);
	assert_int_equal(bill_line_price(100, 999, &d), 1001);
	assert_int_equal(d, 6);
	assert_int_equal(bill_line_price(100, 1000, &d), 10000);
	assert_int_equal(d, 7);
	assert_int_equal(bill_line_price(100, 0, &d), 0);
	/* quantity x price rounds to the amount from one authentication to a trillion */
	for (int64_t q = 1; q <= 1000000000000LL; q = q * 7 + 3)
		for (int64_t ore = 0; ore <= BILL_AMOUNT_MAX; ore = ore * 13 + 57)
			line_price_ok(ore, q);
	line_price_ok(BILL_AMOUNT_MAX * 6, 1);
	bill_fixed_format(570589798, 9, buf, sizeof(buf));
	assert_string_equal(buf, "0.570589798");
	bill_fixed_format(-5, 2, buf, sizeof(buf));
	assert_string_equal(buf, "-0.05");
	bill_fixed_format(1, BILL_PRICE_DECIMALS_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "0.000000000000000001");
	bill_fixed_format(INT64_MIN, BILL_PRICE_DECIMALS_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "-9.223372036854775808");
}

static void
test_estimate(void **state)
{
	int64_t v[3] = { 100000, 50000, 10 };

	(void)state;
	/*
	 * Half the year gone: projected 200 000, 100 000 and 20; only the first
	 * reaches the threshold: last year's NOK 280 000 over 200 000 = 1.40.
	 */
	assert_int_equal(bill_estimate(28000000, v, 3, 100, 200, 200000), 1400000);
	/* nobody expected to pay, or nothing elapsed */
	assert_int_equal(bill_estimate(28000000, v, 3, 100, 200, 300000), 0);
	assert_int_equal(bill_estimate(28000000, v, 3, 0, 200, 200000), 0);
	/* no cost entries last year */
	assert_int_equal(bill_estimate(0, v, 3, 100, 200, 200000), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_year_bounds),  cmocka_unit_test(test_year_of),
		cmocka_unit_test(test_year_parse),   cmocka_unit_test(test_amount),
		cmocka_unit_test(test_share_remainders), cmocka_unit_test(test_share_many),
		cmocka_unit_test(test_share_edges),  cmocka_unit_test(test_price_vat),
		cmocka_unit_test(test_line_price),   cmocka_unit_test(test_estimate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
