/*
 * Norwegian national identity numbers and organisation numbers
 * (spec/national-id-numbers.md).  Every place that meets an 11-digit person
 * number calls this module; nothing else re-implements these rules.
 */
#include "core/natid.h"

#include <stdint.h>
#include <string.h>

#include "core/timeutil.h"

#define NATID_LEN 11
#define ORGNO_LEN 9

/*
 * §6: new number series are issued from 1 January 2032 and must be accepted
 * from then on even if nobody turned the switch on.  Midnight in Norway
 * (UTC+1 in winter): 2032-01-01T00:00:00+01:00.
 */
#define NATID_2032_EPOCH INT64_C(1956524400)

/*
 * §3, the validation form of the mod-11 rule: with these weights the sums over
 * the first ten (K1) and all eleven (K2) digits are multiples of 11.  This is
 * equivalent to recomputing the check digits, and it needs no special case
 * for "r = 11 gives 0" or "r = 10 gives no digit".
 */
static const unsigned char natid_w1[10] = { 3, 7, 6, 1, 8, 9, 4, 5, 2, 1 };
static const unsigned char natid_w2[11] = { 5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1 };

/* §7: weights over the first eight digits of an organisation number. */
static const unsigned char orgno_w[8] = { 3, 2, 7, 6, 5, 4, 3, 2 };

/* True if s is exactly n bytes, each an ASCII digit; digits go to d. */
static bool
digits_get(struct str s, size_t n, unsigned char *d)
{
	if (s.p == NULL || s.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c < '0' || c > '9')
			return false;
		d[i] = (unsigned char)(c - '0');
	}
	return true;
}

static unsigned
weighted_mod11(const unsigned char *d, const unsigned char *w, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (unsigned)d[i] * w[i];
	return sum % 11;
}

static bool
leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && leap_year(y))
		return 29;
	return days[m - 1];
}

/*
 * §1 century table: the individual number and the two-digit year together
 * give the century.  Returns the four-digit year, or -1 for the combinations
 * the register never issues (750-899 with 40-99, 500-749 with 40-53).
 */
static int
natid_full_year(int ind, int yy)
{
	if (ind <= 499)
		return 1900 + yy;
	if (ind <= 749 && yy >= 54)
		return 1800 + yy;
	if (yy <= 39)
		return 2000 + yy;	/* 500-999 */
	if (ind >= 900)
		return 1900 + yy;	/* 900-999 with 40-99 */
	return -1;
}

bool
natid_2032_on(bool switched_on)
{
	return switched_on || time_now() >= NATID_2032_EPOCH;
}

enum natid_status
natid_parse(struct str s, bool allow_2032, struct natid_info *out)
{
	unsigned char d[NATID_LEN];
	struct natid_info info = { 0 };
	enum natid_status st;
	unsigned r1;
	int day, month, yy, ind;

	/* §4 step 1: exactly eleven ASCII digits, no separators. */
	if (!digits_get(s, NATID_LEN, d)) {
		st = NATID_MALFORMED;
		goto out;
	}

	/*
	 * §4 step 2 and §6: K2 is unchanged by the 2032 rule; K1 may leave the
	 * remainders 1-3 only when that rule is switched on.
	 */
	r1 = weighted_mod11(d, natid_w1, 10);
	if (weighted_mod11(d, natid_w2, 11) != 0 || (r1 != 0 && !(allow_2032 && r1 <= 3))) {
		st = NATID_BAD_CHECKSUM;
		goto out;
	}
	if (r1 != 0)
		info.flags |= NATID_RULE_2032;

	/* §4 step 3: offsets.  +40 and +80 never combine in the month. */
	day = d[0] * 10 + d[1];
	month = d[2] * 10 + d[3];
	yy = d[4] * 10 + d[5];
	ind = d[6] * 100 + d[7] * 10 + d[8];
	if (day >= 41 && day <= 71) {
		info.flags |= NATID_D_NUMBER;
		day -= 40;
	}
	if (month >= 81 && month <= 92) {
		info.flags |= NATID_SYNTHETIC;
		month -= 80;
	} else if (month >= 41 && month <= 52) {
		info.flags |= NATID_H_NUMBER;
		month -= 40;
	}

	/* §4 step 4. */
	info.year = natid_full_year(ind, yy);
	if (info.year < 0) {
		st = NATID_BAD_INDIVIDUAL_NUMBER;
		goto out;
	}

	/*
	 * §4 step 5, for every type.  FH-numbers (first digit 8 or 9) carry no
	 * date, so their "day" 80-99 always ends here.
	 */
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(info.year, month)) {
		st = NATID_BAD_DATE;
		goto out;
	}
	info.month = month;
	info.day = day;

	/* §1, §6: I3 gives the sex only for numbers of the pre-2032 rule. */
	if (info.flags & NATID_RULE_2032)
		info.sex = NATID_SEX_UNKNOWN;
	else
		info.sex = (d[8] % 2) ? NATID_SEX_MALE : NATID_SEX_FEMALE;
	st = NATID_OK;
out:
	if (out != NULL) {
		if (st == NATID_OK)
			*out = info;
		else
			memset(out, 0, sizeof(*out));
	}
	return st;
}

const char *
natid_status_name(enum natid_status st)
{
	switch (st) {
	case NATID_OK:
		return "ok";
	case NATID_MALFORMED:
		return "malformed";
	case NATID_BAD_CHECKSUM:
		return "bad_checksum";
	case NATID_BAD_INDIVIDUAL_NUMBER:
		return "bad_individual_number";
	case NATID_BAD_DATE:
		return "bad_date";
	}
	return "unknown";
}

bool
natid_acceptable(struct str s, enum natid_context ctx, const struct natid_policy *policy)
{
	static const struct natid_policy defaults = { 0 };
	struct natid_info info;
	bool allow_2032;

	if (policy == NULL)
		policy = &defaults;
	/* §6: on by configuration, or by itself once the new series exist. */
	allow_2032 = natid_2032_on(policy->allow_2032);
	if (natid_parse(s, allow_2032, &info) != NATID_OK)
		return false;

	/* §4 table: H-numbers and NAV's +40 numbers are never a login identity. */
	if (info.flags & NATID_H_NUMBER)
		return false;

	switch (ctx) {
	case NATID_CTX_PROD:
		/* Synthetic people exist only in the test population. */
		return !(info.flags & NATID_SYNTHETIC);
	case NATID_CTX_TEST:
		if (info.flags & NATID_SYNTHETIC)
			return true;
		return policy->test_accept_real;
	case NATID_CTX_TESTID:
		if (info.flags & NATID_SYNTHETIC)
			return true;
		/* Closed test installations only. */
		return policy->testid_accept_real;
	}
	return false;
}

bool
orgno_valid(struct str s)
{
	unsigned char d[ORGNO_LEN];
	unsigned r;

	/*
	 * §7.  No check on the leading digit: real numbers start with 8 or 9,
	 * but Tenor's synthetic organisations do not.
	 */
	if (!digits_get(s, ORGNO_LEN, d))
		return false;
	r = 11 - weighted_mod11(d, orgno_w, 8);
	if (r == 10)
		return false;
	if (r == 11)
		r = 0;
	return d[8] == r;
}

bool
orgno_valid_c(const char *s)
{
	return s != NULL && strnlen(s, ORGNO_LEN + 1) == ORGNO_LEN &&
	       orgno_valid((struct str){ s, ORGNO_LEN });
}

void
natid_mask(const char *pid, char out[NATID_MASK_LEN])
{
	size_t n = pid != NULL ? strnlen(pid, 12) : 0;

	if (n != 11) {
		memcpy(out, "***", 4);
		return;
	}
	memcpy(out, "********", 8);
	memcpy(out + 8, pid + 8, 3);
	out[11] = '\0';
}
