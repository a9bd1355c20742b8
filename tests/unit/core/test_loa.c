/*
 * Tests for core/loa.c: acr values to level bits (the aliases of spec §6
 * included, nothing else) and back to the canonical acr values, which go
 * into tokens and stored sessions and so must not change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/loa.h"

static void
test_acr_values(void **state)
{
	(void)state;
	assert_string_equal(ACR_SUBSTANTIAL, "idporten-loa-substantial");
	assert_string_equal(ACR_HIGH, "idporten-loa-high");
	assert_true(EID_LEVEL_HIGH > EID_LEVEL_SUBSTANTIAL);
	assert_int_equal(EID_LEVEL_SUBSTANTIAL & EID_LEVEL_HIGH, 0);
}

static void
test_level_of(void **state)
{
	(void)state;
	assert_int_equal(eid_level_of(ACR_SUBSTANTIAL), EID_LEVEL_SUBSTANTIAL);
	assert_int_equal(eid_level_of(ACR_HIGH), EID_LEVEL_HIGH);
	assert_int_equal(eid_level_of("no:idporten:substantial"), EID_LEVEL_SUBSTANTIAL);
	assert_int_equal(eid_level_of("no:idporten:high"), EID_LEVEL_HIGH);
	/* unknown, empty, other case, a prefix, trailing bytes: no level */
	assert_int_equal(eid_level_of(NULL), 0);
	assert_int_equal(eid_level_of(""), 0);
	assert_int_equal(eid_level_of("idporten-loa-low"), 0);
	assert_int_equal(eid_level_of("eidas-loa-high"), 0);
	assert_int_equal(eid_level_of("IDPORTEN-LOA-HIGH"), 0);
	assert_int_equal(eid_level_of("idporten-loa-"), 0);
	assert_int_equal(eid_level_of("idporten-loa-high "), 0);
	assert_int_equal(eid_level_of("no:idporten:high:x"), 0);
}

static void
test_acr_of(void **state)
{
	(void)state;
	assert_string_equal(eid_acr_of(EID_LEVEL_SUBSTANTIAL), ACR_SUBSTANTIAL);
	assert_string_equal(eid_acr_of(EID_LEVEL_HIGH), ACR_HIGH);
	/* a set of levels names its highest; no level names substantial */
	assert_string_equal(eid_acr_of(EID_LEVEL_SUBSTANTIAL | EID_LEVEL_HIGH), ACR_HIGH);
	assert_string_equal(eid_acr_of(0), ACR_SUBSTANTIAL);
	/* round trip, aliases come back canonical */
	assert_string_equal(eid_acr_of(eid_level_of("no:idporten:high")), ACR_HIGH);
	assert_string_equal(eid_acr_of(eid_level_of("no:idporten:substantial")), ACR_SUBSTANTIAL);
	assert_int_equal(eid_level_of(eid_acr_of(EID_LEVEL_HIGH)), EID_LEVEL_HIGH);
	assert_int_equal(eid_level_of(eid_acr_of(EID_LEVEL_SUBSTANTIAL)), EID_LEVEL_SUBSTANTIAL);
}

/* spec/ansattporten-eidas-testid.md §1.1: Ansattporten's own names for the levels. */
static void
test_ansattporten(void **state)
{
	(void)state;
	assert_int_equal(eid_level_of_ap("substantial"), EID_LEVEL_SUBSTANTIAL);
	assert_int_equal(eid_level_of_ap("high"), EID_LEVEL_HIGH);
	assert_int_equal(eid_level_of_ap("low"), EID_LEVEL_SUBSTANTIAL);
	assert_int_equal(eid_level_of_ap(ACR_HIGH), 0);
	assert_int_equal(eid_level_of_ap(ACR_SUBSTANTIAL), 0);
	assert_int_equal(eid_level_of_ap("High"), 0);
	assert_int_equal(eid_level_of_ap(""), 0);
	assert_int_equal(eid_level_of_ap(NULL), 0);
	assert_int_equal(eid_level_of("high"), 0);
	assert_string_equal(eid_acr_of_ap(EID_LEVEL_HIGH), "high");
	assert_string_equal(eid_acr_of_ap(EID_LEVEL_SUBSTANTIAL), "substantial");
	assert_string_equal(eid_acr_of_ap(0), "substantial");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acr_values),
		cmocka_unit_test(test_level_of),
		cmocka_unit_test(test_acr_of),
		cmocka_unit_test(test_ansattporten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
