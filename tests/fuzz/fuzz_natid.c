/*
 * Fuzz target for core/natid: person numbers and organisation numbers arrive
 * from tokens, forms, upstream eIDs and KRR lookups, so both parsers see raw
 * outside bytes.  Checks the invariants of spec/national-id-numbers.md as
 * well as memory safety.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/natid.h"

static void
check_info(enum natid_status st, const struct natid_info *info)
{
	if (st != NATID_OK) {
		/* Nothing half-filled on failure. */
		if (info->flags != 0 || info->year != 0 || info->sex != NATID_SEX_UNKNOWN)
			abort();
		return;
	}
	if (info->year < 1854 || info->year > 2039 || info->month < 1 || info->month > 12 ||
	    info->day < 1 || info->day > 31)
		abort();
	/* §2: offsets never combine in the month. */
	if ((info->flags & NATID_H_NUMBER) && (info->flags & NATID_SYNTHETIC))
		abort();
	/* §6: sex only for numbers of the pre-2032 rule. */
	if (((info->flags & NATID_RULE_2032) != 0) != (info->sex == NATID_SEX_UNKNOWN))
		abort();
}

static bool
all_digits(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str s = { (const char *)data, size };
	struct natid_info old_rule, new_rule;
	enum natid_status st_old, st_new;

	st_old = natid_parse(s, false, &old_rule);
	st_new = natid_parse(s, true, &new_rule);
	check_info(st_old, &old_rule);
	check_info(st_new, &new_rule);
	if (st_old == NATID_OK && (old_rule.flags & NATID_RULE_2032))
		abort();
	/* The 2032 switch only widens: whatever passed before passes the same. */
	if (st_old == NATID_OK &&
	    (st_new != NATID_OK || new_rule.flags != old_rule.flags || new_rule.sex != old_rule.sex ||
	     new_rule.year != old_rule.year || new_rule.month != old_rule.month ||
	     new_rule.day != old_rule.day))
		abort();
	if ((st_old == NATID_MALFORMED) != (st_new == NATID_MALFORMED))
		abort();
	/* §4 step 1: malformed exactly when not eleven ASCII digits. */
	if ((st_old == NATID_MALFORMED) != !(size == 11 && all_digits(data, size)))
		abort();
	/* PROD never accepts synthetic or H-numbers (§4 table). */
	if (natid_acceptable(s, NATID_CTX_PROD, NULL) &&
	    (st_new != NATID_OK || (new_rule.flags & (NATID_SYNTHETIC | NATID_H_NUMBER))))
		abort();

	if (orgno_valid(s) && !(size == 9 && all_digits(data, size)))
		abort();
	return 0;
}
