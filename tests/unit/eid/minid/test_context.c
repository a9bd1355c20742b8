/*
 * Tests for eid/minid/context.c: the per-address limit on MinID form posts
 * (spec/minid.md §5), on the one rate limiter of http/ratelimit.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "eid/minid/minid_int.h"

static void
test_rate_per_address(void **state)
{
	int64_t t = 7000000;

	(void)state;
	/* 3 a minute: three posts, then no more from that address */
	for (int i = 0; i < 3; i++)
		assert_true(minid_rate_take("192.0.2.1", 3, t));
	assert_false(minid_rate_take("192.0.2.1", 3, t));
	assert_true(minid_rate_take("192.0.2.2", 3, t));
	assert_true(minid_rate_take("2001:db8:1:2::/64", 3, t));
	/* the minute's posts come back one every 20 s */
	assert_false(minid_rate_take("192.0.2.1", 3, t + 19999));
	assert_true(minid_rate_take("192.0.2.1", 3, t + 20000));
	assert_false(minid_rate_take("192.0.2.1", 3, t + 20000));
	for (int i = 0; i < 3; i++)
		assert_true(minid_rate_take("192.0.2.1", 3, t + 120000));
	assert_false(minid_rate_take("192.0.2.1", 3, t + 120000));
	/* 0: no limit */
	for (int i = 0; i < 100; i++)
		assert_true(minid_rate_take("192.0.2.1", 0, t));
	/* another limit starts a fresh table */
	assert_true(minid_rate_take("192.0.2.1", 1, t));
	assert_false(minid_rate_take("192.0.2.1", 1, t));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_per_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
