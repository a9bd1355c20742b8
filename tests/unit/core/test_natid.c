/*
 * Tests for core/natid (spec/national-id-numbers.md): every worked example of
 * §5, the acceptance table of §4, the 2032 rule of §6, organisation numbers
 * of §7, and the hostile half (malformed, truncated, padded, NUL, mutated).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/natid.h"
#include "core/timeutil.h"

/* 2032-01-01T00:00:00+01:00, when §6 switches itself on. */
#define T_2032 INT64_C(1956524400)

enum { F_D = NATID_D_NUMBER, F_H = NATID_H_NUMBER, F_S = NATID_SYNTHETIC, F_32 = NATID_RULE_2032 };
enum { SEX_U = NATID_SEX_UNKNOWN, SEX_F = NATID_SEX_FEMALE, SEX_M = NATID_SEX_MALE };

/*
 * §3 generating rule, written apart from the validator (which uses the
 * "sum is a multiple of 11" form): K = 11 - S mod 11, 11 -> 0, 10 -> none.
 */
static const int W1[9] = { 3, 7, 6, 1, 8, 9, 4, 5, 2 };
static const int W2[10] = { 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };

static int
wsum(const char *digits, const int *w, size_t n)
{
	int s = 0;

	for (size_t i = 0; i < n; i++)
		s += (digits[i] - '0') * w[i];
	return s;
}

static int
check_digit(int sum)
{
	int r = 11 - sum % 11;

	if (r == 11)
		return 0;
	return r == 10 ? -1 : r;
}

/* nine digits -> the eleven-digit number, or false when the register skips it. */
static bool
gen(const char *nine, char out[12])
{
	int k;

	memcpy(out, nine, 9);
	out[9] = out[10] = out[11] = '\0';
	k = check_digit(wsum(out, W1, 9));
	if (k < 0)
		return false;
	out[9] = (char)('0' + k);
	k = check_digit(wsum(out, W2, 10));
	if (k < 0)
		return false;
	out[10] = (char)('0' + k);
	return true;
}

/*
 * A number valid only under the 2032 rule (§6): K1 chosen so that the K1 sum
 * over ten digits leaves remainder r1, K2 computed as before.
 */
static bool
gen_2032(const char *nine, int r1, char out[12])
{
	int s9 = wsum(nine, W1, 9);

	for (int k1 = 0; k1 <= 9; k1++) {
		int k2;

		if ((s9 + k1) % 11 != r1)
			continue;
		memcpy(out, nine, 9);
		out[9] = (char)('0' + k1);
		out[11] = '\0';
		k2 = check_digit(wsum(out, W2, 10));
		if (k2 < 0)
			return false;
		out[10] = (char)('0' + k2);
		return true;
	}
	return false;
}

/* Write v as exactly width decimal digits (leading zeros). */
static void
put_digits(char *dst, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		dst[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Number with date digits ddmmyy and the first usable individual number >= ind. */
static void
build_ind(const char *ddmmyy, int ind, char out[12])
{
	char nine[10];

	for (int i = ind; i < ind + 60 && i <= 999; i++) {
		memcpy(nine, ddmmyy, 6);
		put_digits(nine + 6, (unsigned)i, 3);
		nine[9] = '\0';
		if (gen(nine, out))
			return;
	}
	fail_msg("no usable individual number from %d for %s", ind, ddmmyy);
}

/* Number with month/year digits mmyy, exactly individual number ind, some day 01-28. */
static void
build_day(const char *mmyy, int ind, char out[12])
{
	char nine[10];

	for (int day = 1; day <= 28; day++) {
		put_digits(nine, (unsigned)day, 2);
		memcpy(nine + 2, mmyy, 4);
		put_digits(nine + 6, (unsigned)ind, 3);
		nine[9] = '\0';
		if (gen(nine, out))
			return;
	}
	fail_msg("no usable day for %s ind %d", mmyy, ind);
}

/* Exactly n bytes on the heap, no NUL after them: ASan sees any over-read. */
static char *
exact_copy(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static enum natid_status
parse_n(const char *s, size_t n, bool allow_2032, struct natid_info *info)
{
	char *p = exact_copy(s, n);
	enum natid_status st = natid_parse((struct str){ p, n }, allow_2032, info);

	free(p);
	return st;
}

static void
expect(const char *num, bool allow_2032, enum natid_status want, unsigned flags, int y, int m,
       int d, int sex)
{
	struct natid_info info;
	enum natid_status st;

	memset(&info, 0xa5, sizeof(info));
	st = parse_n(num, strlen(num), allow_2032, &info);
	if (st != want)
		print_error("%s (2032 %d): got %s, want %s\n", num, allow_2032,
			    natid_status_name(st), natid_status_name(want));
	assert_int_equal(st, want);
	if (want != NATID_OK) {
		/* Nothing half-filled on failure. */
		assert_int_equal(info.flags, 0);
		assert_int_equal(info.year, 0);
		assert_int_equal(info.sex, NATID_SEX_UNKNOWN);
		return;
	}
	if (info.flags != flags || info.year != y || info.month != m || info.day != d ||
	    (int)info.sex != sex)
		print_error("%s: flags %#x %04d-%02d-%02d sex %d\n", num, info.flags, info.year,
			    info.month, info.day, (int)info.sex);
	assert_int_equal(info.flags, flags);
	assert_int_equal(info.year, y);
	assert_int_equal(info.month, m);
	assert_int_equal(info.day, d);
	assert_int_equal(info.sex, sex);
}

/* Keep the clock before 2032 so the automatic switch of §6 stays off. */
static int
setup_clock(void **state)
{
	time_set_offset(T_2032 - 86400 - (int64_t)time(NULL));
	return 0;
}

static int
teardown_clock(void **state)
{
	time_set_offset(0);
	return 0;
}

/* ---- §5 worked examples ---- */

static void
test_full_computation(void **state)
{
	char num[12];

	/* §5: S1 = 102 -> K1 8, S2 = 110 -> K2 0. */
	assert_int_equal(wsum("010190124", W1, 9), 102);
	assert_int_equal(wsum("0101901248", W2, 10), 110);
	assert_true(gen("010190124", num));
	assert_string_equal(num, "01019012480");
	expect("01019012480", false, NATID_OK, 0, 1990, 1, 1, SEX_F);
	expect("01019012480", true, NATID_OK, 0, 1990, 1, 1, SEX_F);
}

struct worked {
	const char *nine;
	int s1, s2;		/* spec's sums; s2 < 0 when K1 already fails */
	const char *number;	/* NULL: the register skips it */
	unsigned flags;
	int y, m, d, sex;
};

static const struct worked worked[] = {
	{ "010190125", 104, 109, "01019012561", 0, 1990, 1, 1, SEX_M },
	{ "010190123", 100, -1, NULL, 0, 0, 0, 0, 0 },
	{ "010190007", 94, 100, NULL, 0, 0, 0, 0, 0 },
	{ "410190123", 112, 129, "41019012393", F_D, 1990, 1, 1, SEX_M },
	/* H-number; the spec gives no sex, but §2 says all other rules apply: I3 = 3. */
	{ "015190123", 130, 110, "01519012320", F_H, 1990, 11, 1, SEX_M },
	{ "018190123", 148, 127, "01819012365", F_S, 1990, 1, 1, SEX_M },
	{ "418190123", 160, 145, "41819012359", F_D | F_S, 1990, 1, 1, SEX_M },
	{ "150305512", 115, 108, "15030551262", 0, 2005, 3, 15, SEX_F },
	{ "311299901", 215, 201, "31129990158", 0, 1999, 12, 31, SEX_M },
	{ "218794980", 252, 218, "21879498012", F_S, 1994, 7, 21, SEX_F },
	/* Ansattporten docs example; I3 = 0 -> female. */
	{ "458403750", 179, 161, "45840375084", F_D | F_S, 2003, 4, 5, SEX_F },
};

static void
test_worked_table(void **state)
{
	for (size_t i = 0; i < sizeof(worked) / sizeof(worked[0]); i++) {
		const struct worked *w = &worked[i];
		char num[12];
		bool ok;

		assert_int_equal(wsum(w->nine, W1, 9), w->s1);
		ok = gen(w->nine, num);
		if (w->s2 >= 0) {
			char ten[11];

			memcpy(ten, w->nine, 9);
			ten[9] = (char)('0' + check_digit(w->s1));
			assert_int_equal(wsum(ten, W2, 10), w->s2);
		}
		if (w->number == NULL) {
			/* No suffix at all makes it valid under the old rule. */
			assert_false(ok);
			for (int k = 0; k < 100; k++) {
				char cand[12];

				memcpy(cand, w->nine, 9);
				put_digits(cand + 9, (unsigned)k, 2);
				cand[11] = '\0';
				assert_int_equal(parse_n(cand, 11, false, NULL), NATID_BAD_CHECKSUM);
			}
			continue;
		}
		assert_true(ok);
		assert_string_equal(num, w->number);
		expect(w->number, false, NATID_OK, w->flags, w->y, w->m, w->d, w->sex);
		expect(w->number, true, NATID_OK, w->flags, w->y, w->m, w->d, w->sex);
	}
}

static void
test_more_cases(void **state)
{
	expect("29020051386", false, NATID_OK, 0, 2000, 2, 29, SEX_M);
	expect("29029012324", false, NATID_BAD_DATE, 0, 0, 0, 0, 0);
	expect("32019012351", false, NATID_BAD_DATE, 0, 0, 0, 0, 0);
	expect("01137512366", false, NATID_BAD_DATE, 0, 0, 0, 0, 0);
	expect("01015075097", false, NATID_BAD_INDIVIDUAL_NUMBER, 0, 0, 0, 0, 0);
	expect("01019012481", false, NATID_BAD_CHECKSUM, 0, 0, 0, 0, 0);
	expect("01010199999", false, NATID_BAD_CHECKSUM, 0, 0, 0, 0, 0);
	/* The 2032 switch widens only K1; these stay refused. */
	expect("01019012481", true, NATID_BAD_CHECKSUM, 0, 0, 0, 0, 0);
	expect("01010199999", true, NATID_BAD_CHECKSUM, 0, 0, 0, 0, 0);
	expect("29029012324", true, NATID_BAD_DATE, 0, 0, 0, 0, 0);
}

/* ---- §1 century table, §4 offsets and calendar ---- */

static void
test_century_table(void **state)
{
	static const struct {
		const char *mmyy;
		int ind;
		enum natid_status st;
		int year;
	} c[] = {
		{ "0100", 0, NATID_OK, 1900 },   { "0199", 499, NATID_OK, 1999 },
		{ "0154", 500, NATID_OK, 1854 }, { "0199", 749, NATID_OK, 1899 },
		{ "0100", 500, NATID_OK, 2000 }, { "0139", 749, NATID_OK, 2039 },
		{ "0100", 750, NATID_OK, 2000 }, { "0139", 999, NATID_OK, 2039 },
		{ "0140", 900, NATID_OK, 1940 }, { "0199", 999, NATID_OK, 1999 },
		{ "0140", 750, NATID_BAD_INDIVIDUAL_NUMBER, 0 },
		{ "0199", 899, NATID_BAD_INDIVIDUAL_NUMBER, 0 },
		{ "0160", 800, NATID_BAD_INDIVIDUAL_NUMBER, 0 },
		{ "0140", 500, NATID_BAD_INDIVIDUAL_NUMBER, 0 },
		{ "0153", 749, NATID_BAD_INDIVIDUAL_NUMBER, 0 },
		{ "0199", 750, NATID_BAD_INDIVIDUAL_NUMBER, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct natid_info info;
		char num[12];
		enum natid_status st;

		build_day(c[i].mmyy, c[i].ind, num);
		st = parse_n(num, 11, false, &info);
		if (st != c[i].st)
			print_error("%s: got %s\n", num, natid_status_name(st));
		assert_int_equal(st, c[i].st);
		if (st == NATID_OK)
			assert_int_equal(info.year, c[i].year);
	}
}

static void
test_offsets_and_ranges(void **state)
{
	static const struct {
		const char *ddmmyy;
		enum natid_status st;
		unsigned flags;
		int m, d;
	} c[] = {
		{ "410190", NATID_OK, F_D, 1, 1 },
		{ "710190", NATID_OK, F_D, 1, 31 },
		{ "720190", NATID_BAD_DATE, 0, 0, 0 },	/* day 72: beyond D range */
		{ "400190", NATID_BAD_DATE, 0, 0, 0 },	/* day 40 */
		{ "000190", NATID_BAD_DATE, 0, 0, 0 },	/* day 00 */
		{ "310190", NATID_OK, 0, 1, 31 },
		{ "014190", NATID_OK, F_H, 1, 1 },
		{ "015290", NATID_OK, F_H, 12, 1 },
		{ "015390", NATID_BAD_DATE, 0, 0, 0 },	/* month 53 */
		{ "014090", NATID_BAD_DATE, 0, 0, 0 },	/* month 40 */
		{ "018190", NATID_OK, F_S, 1, 1 },
		{ "019290", NATID_OK, F_S, 12, 1 },
		{ "019390", NATID_BAD_DATE, 0, 0, 0 },	/* month 93 */
		{ "018090", NATID_BAD_DATE, 0, 0, 0 },	/* month 80 */
		{ "010090", NATID_BAD_DATE, 0, 0, 0 },	/* month 00 */
		{ "011390", NATID_BAD_DATE, 0, 0, 0 },	/* month 13 */
		{ "011290", NATID_OK, 0, 12, 1 },
		{ "705190", NATID_OK, F_D | F_H, 11, 30 }, /* H-number with D offset */
		{ "715190", NATID_BAD_DATE, 0, 0, 0 },	/* ...on 31 November */
		{ "719290", NATID_OK, F_D | F_S, 12, 31 },
		{ "718690", NATID_BAD_DATE, 0, 0, 0 },	/* synthetic D, 31 June */
		{ "314490", NATID_BAD_DATE, 0, 0, 0 },	/* H, 31 April */
		{ "304490", NATID_OK, F_H, 4, 30 },
		{ "999990", NATID_BAD_DATE, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char num[12];

		build_ind(c[i].ddmmyy, 100, num);
		expect(num, false, c[i].st, c[i].flags, 1990, c[i].m, c[i].d,
		       /* sex follows I3 whatever it turned out to be */
		       (num[8] - '0') % 2 ? SEX_M : SEX_F);
	}
}

static void
test_leap_years(void **state)
{
	static const struct {
		const char *ddmmyy;
		int ind;
		enum natid_status st;
		int year;
	} c[] = {
		{ "290200", 500, NATID_OK, 2000 },	/* divisible by 400 */
		{ "290200", 0, NATID_BAD_DATE, 0 },	/* 1900: by 100, not 400 */
		{ "290204", 0, NATID_OK, 1904 },
		{ "290204", 500, NATID_OK, 2004 },
		{ "290296", 500, NATID_OK, 1896 },	/* 1854-1899 series */
		{ "290297", 500, NATID_BAD_DATE, 0 },
		{ "290201", 0, NATID_BAD_DATE, 0 },
		{ "280201", 0, NATID_OK, 1901 },
		{ "690284", 900, NATID_OK, 1984 },	/* D-number on 29 Feb */
		{ "698284", 0, NATID_OK, 1984 },	/* synthetic D on 29 Feb */
		{ "698285", 0, NATID_BAD_DATE, 0 },
		{ "310440", 900, NATID_BAD_DATE, 0 },
		{ "300440", 900, NATID_OK, 1940 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct natid_info info;
		char num[12];
		enum natid_status st;

		build_ind(c[i].ddmmyy, c[i].ind, num);
		st = parse_n(num, 11, false, &info);
		if (st != c[i].st)
			print_error("%s: got %s\n", num, natid_status_name(st));
		assert_int_equal(st, c[i].st);
		if (st == NATID_OK)
			assert_int_equal(info.year, c[i].year);
	}
}

/* FH-numbers (first digit 8 or 9) have no date: never OK, whatever the switch. */
static void
test_fh_numbers(void **state)
{
	unsigned seed = 12345;
	int built = 0;

	expect("80000000179", false, NATID_BAD_DATE, 0, 0, 0, 0, 0);
	expect("80000000330", true, NATID_BAD_DATE, 0, 0, 0, 0, 0);
	expect("91234567883", false, NATID_BAD_INDIVIDUAL_NUMBER, 0, 0, 0, 0, 0);
	for (int i = 0; i < 20000; i++) {
		char nine[10], num[12];
		enum natid_status st;

		seed = seed * 1103515245u + 12345u;
		nine[0] = (seed >> 16) & 1 ? '9' : '8';
		put_digits(nine + 1, (seed >> 3) % 100000000u, 8);
		nine[9] = '\0';
		if (!gen(nine, num))
			continue;
		built++;
		st = parse_n(num, 11, true, NULL);
		assert_true(st == NATID_BAD_DATE || st == NATID_BAD_INDIVIDUAL_NUMBER);
		if (num[6] <= '4')	/* century always exists: the date must be what fails */
			assert_int_equal(st, NATID_BAD_DATE);
	}
	assert_true(built > 10000);
}

/* ---- §3 check digits against mutation ---- */

static void
test_checksum_mutations(void **state)
{
	unsigned seed = 777;
	int built = 0;

	for (int i = 0; i < 3000; i++) {
		char nine[10], num[12], mut[12];
		enum natid_status st;

		seed = seed * 1103515245u + 12345u;
		put_digits(nine, (seed >> 2) % 1000000000u, 9);
		nine[9] = '\0';
		if (!gen(nine, num))
			continue;
		built++;
		st = parse_n(num, 11, false, NULL);
		assert_int_not_equal(st, NATID_BAD_CHECKSUM);
		assert_int_not_equal(st, NATID_MALFORMED);

		/* Mod 11 with weights 1-9 catches every single-digit error... */
		for (int pos = 0; pos < 11; pos++) {
			for (char c = '0'; c <= '9'; c++) {
				if (c == num[pos])
					continue;
				memcpy(mut, num, sizeof(mut));
				mut[pos] = c;
				assert_int_equal(parse_n(mut, 11, false, NULL), NATID_BAD_CHECKSUM);
			}
		}
		/* ...and every swap of two different neighbours. */
		for (int pos = 0; pos < 10; pos++) {
			if (num[pos] == num[pos + 1])
				continue;
			memcpy(mut, num, sizeof(mut));
			mut[pos] = num[pos + 1];
			mut[pos + 1] = num[pos];
			assert_int_equal(parse_n(mut, 11, false, NULL), NATID_BAD_CHECKSUM);
		}
	}
	assert_true(built > 2000);
}

/* ---- §6 the 2032 rule ---- */

static void
test_rule_2032(void **state)
{
	/* 010190123 has no usable K1 today (§5); under §6 K1 = 0 gives remainder 1. */
	expect("01019012308", false, NATID_BAD_CHECKSUM, 0, 0, 0, 0, 0);
	expect("01019012308", true, NATID_OK, F_32, 1990, 1, 1, SEX_U);
	expect("01019012316", true, NATID_OK, F_32, 1990, 1, 1, SEX_U);	/* remainder 2 */
	expect("01019012324", true, NATID_OK, F_32, 1990, 1, 1, SEX_U);	/* remainder 3 */
	expect("01019012324", false, NATID_BAD_CHECKSUM, 0, 0, 0, 0, 0);
	expect("01019012332", true, NATID_BAD_CHECKSUM, 0, 0, 0, 0, 0);	/* remainder 4 */
	expect("01019012391", true, NATID_BAD_CHECKSUM, 0, 0, 0, 0, 0);	/* remainder 10 */
	/* K2 is unchanged: wrong K2 stays wrong. */
	expect("01019012309", true, NATID_BAD_CHECKSUM, 0, 0, 0, 0, 0);
	/* Old-rule numbers keep their sex with the switch on. */
	expect("31129990158", true, NATID_OK, 0, 1999, 12, 31, SEX_M);
	expect("31129990166", true, NATID_OK, F_32, 1999, 12, 31, SEX_U);
	/* Types combine with the new rule. */
	expect("41019012318", true, NATID_OK, F_D | F_32, 1990, 1, 1, SEX_U);
	expect("01819012373", true, NATID_OK, F_S | F_32, 1990, 1, 1, SEX_U);
	expect("01519012339", true, NATID_OK, F_H | F_32, 1990, 11, 1, SEX_U);

	/* Systematically: remainders 1..3 refused off, accepted on; 4..10 never. */
	for (int r1 = 1; r1 <= 10; r1++) {
		static const char *const nines[] = { "150305512", "311299901", "010190124",
						     "218794980", "458403750", "290200513" };

		for (size_t i = 0; i < sizeof(nines) / sizeof(nines[0]); i++) {
			struct natid_info info;
			char num[12];

			if (!gen_2032(nines[i], r1, num))
				continue;
			assert_int_equal(parse_n(num, 11, false, NULL), NATID_BAD_CHECKSUM);
			if (r1 > 3) {
				assert_int_equal(parse_n(num, 11, true, NULL), NATID_BAD_CHECKSUM);
				continue;
			}
			assert_int_equal(parse_n(num, 11, true, &info), NATID_OK);
			assert_true(info.flags & NATID_RULE_2032);
			assert_int_equal(info.sex, NATID_SEX_UNKNOWN);
		}
	}

	/* The other rules still apply under the new control rule. */
	{
		char num[12];

		assert_true(gen_2032("290290123", 1, num) || gen_2032("290290123", 2, num) ||
			    gen_2032("290290123", 3, num));
		assert_int_equal(parse_n(num, 11, true, NULL), NATID_BAD_DATE);
		assert_true(gen_2032("010150750", 1, num) || gen_2032("010150750", 2, num) ||
			    gen_2032("010150750", 3, num));
		assert_int_equal(parse_n(num, 11, true, NULL), NATID_BAD_INDIVIDUAL_NUMBER);
	}
}

/* ---- §4 step 1: malformed input ---- */

static void
test_malformed(void **state)
{
	static const struct {
		const char *s;
		size_t n;
	} bad[] = {
		{ "", 0 },
		{ "0101901248", 10 },
		{ "010190124800", 12 },
		{ "0", 1 },
		{ "0101901\0" "480", 11 },		/* embedded NUL */
		{ "01019012480\0", 12 },
		{ "\0" "1019012480", 11 },
		{ "0101901248\0", 11 },
		{ " 0101901248", 11 },
		{ "0101901248 ", 11 },
		{ "01019012480 ", 12 },
		{ " 01019012480", 12 },
		{ "010190 12480", 12 },
		{ "010190 2480", 11 },
		{ "0101901248\t", 11 },
		{ "0101901248\n", 11 },
		{ "01019012480\n", 12 },
		{ "0101901248a", 11 },
		{ "a1019012480", 11 },
		{ "0101901248/", 11 },		/* '0' - 1 */
		{ "0101901248:", 11 },		/* '9' + 1 */
		{ "+0101901248", 11 },
		{ "-0101901248", 11 },
		{ "01.01.90124", 11 },
		{ "010190-12480", 12 },
		{ "\xef\xbc\x90" "1019012480", 13 },	/* fullwidth zero */
		{ "\xd9\xa0" "101901248", 11 },	/* Arabic-Indic zero, 11 bytes */
		{ "\xb0" "1019012480", 11 },
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11 },
		{ "0x019012480", 11 },
		{ "1e019012480", 11 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct natid_info info;

		memset(&info, 0x5a, sizeof(info));
		if (parse_n(bad[i].s, bad[i].n, true, &info) != NATID_MALFORMED)
			fail_msg("case %zu not malformed", i);
		assert_int_equal(info.flags, 0);
		assert_false(natid_acceptable((struct str){ bad[i].s, bad[i].n }, NATID_CTX_PROD,
					      NULL));
	}
	assert_int_equal(natid_parse(STR_NULL, false, NULL), NATID_MALFORMED);
	assert_false(natid_acceptable(STR_NULL, NATID_CTX_TEST, NULL));
}

static void
test_length_is_honoured(void **state)
{
	static const char buf[] = "01019012480999";
	size_t big = 1u << 20;
	char *huge = malloc(big);

	/* Only the declared bytes count; whatever follows is never read. */
	assert_int_equal(natid_parse((struct str){ buf, 11 }, false, NULL), NATID_OK);
	assert_int_equal(natid_parse((struct str){ buf, 12 }, false, NULL), NATID_MALFORMED);
	assert_int_equal(natid_parse((struct str){ buf, 10 }, false, NULL), NATID_MALFORMED);
	assert_int_equal(natid_parse((struct str){ buf, sizeof(buf) - 1 }, false, NULL),
			 NATID_MALFORMED);

	assert_non_null(huge);
	memset(huge, '1', big);
	memcpy(huge, "01019012480", 11);
	assert_int_equal(natid_parse((struct str){ huge, big }, true, NULL), NATID_MALFORMED);
	assert_int_equal(natid_parse((struct str){ huge, SIZE_MAX }, true, NULL), NATID_MALFORMED);
	assert_int_equal(natid_parse((struct str){ huge, 11 }, true, NULL), NATID_OK);
	free(huge);
}

static void
test_status_names(void **state)
{
	assert_string_equal(natid_status_name(NATID_OK), "ok");
	assert_string_equal(natid_status_name(NATID_MALFORMED), "malformed");
	assert_string_equal(natid_status_name(NATID_BAD_CHECKSUM), "bad_checksum");
	assert_string_equal(natid_status_name(NATID_BAD_INDIVIDUAL_NUMBER), "bad_individual_number");
	assert_string_equal(natid_status_name(NATID_BAD_DATE), "bad_date");
	assert_string_equal(natid_status_name((enum natid_status)77), "unknown");
}

/* ---- §4 acceptance table ---- */

struct accept_row {
	const char *num;
	bool prod;
	bool test, test_real;		/* TEST without / with test_accept_real */
	bool testid, testid_real;	/* TestID without / with testid_accept_real */
};

static const struct accept_row accept_rows[] = {
	/* fødselsnummer */
	{ "01019012480", true, false, true, false, true },
	{ "29020051386", true, false, true, false, true },
	/* D-number */
	{ "41019012393", true, false, true, false, true },
	/* H-number / NAV +40: rejected everywhere, whatever the flags */
	{ "01519012320", false, false, false, false, false },
	{ "41519012314", false, false, false, false, false },	/* H with D offset */
	/* synthetic (+80) */
	{ "01819012365", false, true, true, true, true },
	{ "21879498012", false, true, true, true, true },	/* docs' TestID example */
	/* synthetic D-number */
	{ "41819012359", false, true, true, true, true },
	{ "45840375084", false, true, true, true, true },	/* Ansattporten example */
	/* FH-number and invalid numbers: never */
	{ "80000000179", false, false, false, false, false },
	{ "01019012481", false, false, false, false, false },
	{ "29029012324", false, false, false, false, false },
	{ "01015075097", false, false, false, false, false },
	{ "01010199999", false, false, false, false, false },
	/* 2032-only numbers: refused while the switch is off */
	{ "01019012308", false, false, false, false, false },
	{ "01819012373", false, false, false, false, false },
};

static void
check_row(const struct accept_row *r, const struct natid_policy *p, bool flag_test, bool flag_testid)
{
	struct str s = str_c(r->num);
	bool got;

	got = natid_acceptable(s, NATID_CTX_PROD, p);
	if (got != r->prod)
		print_error("%s PROD\n", r->num);
	assert_int_equal(got, r->prod);
	got = natid_acceptable(s, NATID_CTX_TEST, p);
	if (got != (flag_test ? r->test_real : r->test))
		print_error("%s TEST (flag %d)\n", r->num, flag_test);
	assert_int_equal(got, flag_test ? r->test_real : r->test);
	got = natid_acceptable(s, NATID_CTX_TESTID, p);
	if (got != (flag_testid ? r->testid_real : r->testid))
		print_error("%s TESTID (flag %d)\n", r->num, flag_testid);
	assert_int_equal(got, flag_testid ? r->testid_real : r->testid);
	/* A context outside the enum accepts nothing. */
	assert_false(natid_acceptable(s, (enum natid_context)42, p));
}

static void
test_acceptance_table(void **state)
{
	const struct natid_policy off = { 0 };
	const struct natid_policy test_real = { .test_accept_real = true };
	const struct natid_policy testid_real = { .testid_accept_real = true };
	const struct natid_policy both = { .test_accept_real = true, .testid_accept_real = true };

	for (size_t i = 0; i < sizeof(accept_rows) / sizeof(accept_rows[0]); i++) {
		const struct accept_row *r = &accept_rows[i];

		check_row(r, NULL, false, false);	/* NULL = every flag off */
		check_row(r, &off, false, false);
		check_row(r, &test_real, true, false);
		check_row(r, &testid_real, false, true);
		check_row(r, &both, true, true);
	}
}

static void
test_acceptance_2032(void **state)
{
	const struct natid_policy on = { .allow_2032 = true };
	const struct natid_policy on_real = { .allow_2032 = true, .test_accept_real = true,
					      .testid_accept_real = true };
	struct natid_info info;

	/* Real 2032-only number: a fødselsnummer once the switch is on. */
	assert_true(natid_acceptable(STR_LIT("01019012308"), NATID_CTX_PROD, &on));
	assert_false(natid_acceptable(STR_LIT("01019012308"), NATID_CTX_TEST, &on));
	assert_true(natid_acceptable(STR_LIT("01019012308"), NATID_CTX_TEST, &on_real));
	assert_false(natid_acceptable(STR_LIT("01019012308"), NATID_CTX_TESTID, &on));
	assert_true(natid_acceptable(STR_LIT("41019012318"), NATID_CTX_PROD, &on));
	/* Synthetic 2032-only number. */
	assert_false(natid_acceptable(STR_LIT("01819012373"), NATID_CTX_PROD, &on_real));
	assert_true(natid_acceptable(STR_LIT("01819012373"), NATID_CTX_TEST, &on));
	assert_true(natid_acceptable(STR_LIT("01819012373"), NATID_CTX_TESTID, &on));
	/* H-number stays out. */
	assert_false(natid_acceptable(STR_LIT("01519012339"), NATID_CTX_PROD, &on_real));
	assert_false(natid_acceptable(STR_LIT("01519012339"), NATID_CTX_TEST, &on_real));
	assert_false(natid_acceptable(STR_LIT("01519012339"), NATID_CTX_TESTID, &on_real));
	/* Remainder 4 is not in the new rule either. */
	assert_false(natid_acceptable(STR_LIT("01019012332"), NATID_CTX_PROD, &on_real));

	/* §6: from 2032-01-01 (Norwegian time) the rule applies by itself. */
	time_set_offset(T_2032 - 60 - (int64_t)time(NULL));
	assert_false(natid_acceptable(STR_LIT("01019012308"), NATID_CTX_PROD, NULL));
	time_set_offset(T_2032 + 60 - (int64_t)time(NULL));
	assert_true(natid_acceptable(STR_LIT("01019012308"), NATID_CTX_PROD, NULL));
	assert_true(natid_acceptable(STR_LIT("01819012373"), NATID_CTX_TEST, NULL));
	assert_false(natid_acceptable(STR_LIT("01819012373"), NATID_CTX_PROD, NULL));
	assert_false(natid_acceptable(STR_LIT("01019012332"), NATID_CTX_PROD, NULL));
	/* natid_parse itself follows only its argument. */
	assert_int_equal(natid_parse(STR_LIT("01019012308"), false, &info), NATID_BAD_CHECKSUM);
	setup_clock(NULL);
}

/* §6 (design): the switch callers pass, natid_allow_2032, or the date by itself. */
static void
test_switch_2032(void **state)
{
	struct natid_info info;

	(void)state;
	time_set_offset(T_2032 - 1 - (int64_t)time(NULL));
	assert_false(natid_2032_on(false));
	assert_true(natid_2032_on(true));
	assert_int_equal(natid_parse(STR_LIT("01819012373"), natid_2032_on(false), &info),
			 NATID_BAD_CHECKSUM);
	assert_int_equal(natid_parse(STR_LIT("01819012373"), natid_2032_on(true), &info),
			 NATID_OK);
	assert_true((info.flags & NATID_RULE_2032) != 0);
	assert_int_equal(info.sex, NATID_SEX_UNKNOWN);
	time_set_offset(T_2032 + 1 - (int64_t)time(NULL));
	assert_true(natid_2032_on(false));
	setup_clock(NULL);
}

/* ---- §7 organisation numbers ---- */

static const int WO[8] = { 3, 2, 7, 6, 5, 4, 3, 2 };

static bool
org(const char *s, size_t n)
{
	char *p = exact_copy(s, n);
	bool ok = orgno_valid((struct str){ p, n });

	free(p);
	return ok;
}

static void
test_orgno(void **state)
{
	/* §7 worked example: Digdir, S = 158, 158 mod 11 = 4 -> 7. */
	assert_int_equal(wsum("99182582", WO, 8), 158);
	assert_true(org("991825827", 9));
	/*
	 * The docs' synthetic organisation: S = 79, 79 mod 11 = 2 -> 9, so it
	 * passes; the leading 3 is not checked (Tenor uses such numbers).
	 */
	assert_int_equal(wsum("31104634", WO, 8), 79);
	assert_true(org("311046349", 9));
	/* Remainder 0 -> check digit 0. */
	assert_int_equal(wsum("91000002", WO, 8) % 11, 0);
	assert_true(org("910000020", 9));

	/* Exactly one check digit fits. */
	for (char c = '0'; c <= '9'; c++) {
		char buf[10] = "99182582?";

		buf[8] = c;
		assert_int_equal(org(buf, 9), c == '7');
		buf[8] = c;
		memcpy(buf, "31104634", 8);
		assert_int_equal(org(buf, 9), c == '9');
	}
	/* Remainder 1 -> 10: no check digit can make it valid. */
	assert_int_equal(wsum("91234567", WO, 8) % 11, 1);
	for (char c = '0'; c <= '9'; c++) {
		char buf[10] = "91234567?";

		buf[8] = c;
		assert_false(org(buf, 9));
	}

	assert_false(org("991825828", 9));	/* bad check digit */
	assert_false(org("991825820", 9));
	assert_false(org("99182582", 8));	/* 8 digits */
	assert_false(org("9918258270", 10));	/* 10 digits */
	assert_false(org("", 0));
	assert_false(orgno_valid(STR_NULL));
	assert_false(org("99182582a", 9));	/* letters */
	assert_false(org("a91825827", 9));
	assert_false(org("ABCDEFGHI", 9));
	assert_false(org(" 99182582", 9));
	assert_false(org("991825827 ", 10));
	assert_false(org("991 825 827", 11));
	assert_false(org("0192:991825827", 14));	/* the ICD prefix is the caller's */
	assert_false(org("9918258\0" "7", 9));
	assert_false(org("-91825827", 9));
	assert_false(org("99182582:", 9));
	/* A person number is not an organisation number. */
	assert_false(org("01019012480", 11));
	/* Length honoured with trailing bytes in the buffer. */
	assert_true(orgno_valid((struct str){ "991825827999", 9 }));
	/* C strings: the whole string is the number. */
	assert_true(orgno_valid_c("991825827"));
	assert_false(orgno_valid_c(NULL));
	assert_false(orgno_valid_c(""));
	assert_false(orgno_valid_c("991825827999"));
	assert_false(orgno_valid_c("99182582"));
	assert_false(orgno_valid_c("991825820"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_computation),
		cmocka_unit_test(test_worked_table),
		cmocka_unit_test(test_more_cases),
		cmocka_unit_test(test_century_table),
		cmocka_unit_test(test_offsets_and_ranges),
		cmocka_unit_test(test_leap_years),
		cmocka_unit_test(test_fh_numbers),
		cmocka_unit_test(test_checksum_mutations),
		cmocka_unit_test(test_rule_2032),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_length_is_honoured),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_acceptance_table),
		cmocka_unit_test(test_acceptance_2032),
		cmocka_unit_test(test_switch_2032),
		cmocka_unit_test(test_orgno),
	};

	return cmocka_run_group_tests(tests, setup_clock, teardown_clock);
}
