/*
 * Tests for eid/minid/lock.c: the lockout arithmetic of
 * spec/minid.md §5 (5 failures -> 1 hour; the 3rd lock within 24 hours ->
 * until reset), the guard in the store (slots claimed atomically, the same
 * for numbers with and without an account; a right password neither counts
 * nor resets; one lock per generation), and hostile guard documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "services.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"

#define PID "21879498012"
#define GHOST "01819012365"

static const struct minid_lock_policy spec = { .failures = 5, .seconds = 3600, .window = 86400,
					       .max = 3 };

static void
test_threshold(void **state)
{
	(void)state;
	for (int64_t slot = 1; slot < 5; slot++)
		assert_false(minid_lock_slot_locks(&spec, slot));
	assert_true(minid_lock_slot_locks(&spec, 5));
	assert_true(minid_lock_slot_locks(&spec, 6));
}

static void
test_temporary_then_hard(void **state)
{
	struct minid_lockstate s = { 0 };
	int64_t t0 = 1700000000, until;

	(void)state;
	assert_int_equal(minid_lock_check(&s, t0, &until), MINID_UNLOCKED);
	minid_lock_apply(&spec, t0, &s);
	assert_int_equal(minid_lock_check(&s, t0, &until), MINID_LOCKED_TEMPORARY);
	assert_int_equal(until, t0 + 3600);
	assert_int_equal(minid_lock_check(&s, t0 + 3599, &until), MINID_LOCKED_TEMPORARY);
	assert_int_equal(minid_lock_check(&s, t0 + 3600, &until), MINID_UNLOCKED);
	assert_int_equal(until, 0);
	minid_lock_apply(&spec, t0 + 2 * 3600, &s);
	assert_false(s.hard);
	assert_int_equal(s.nlocks, 2);
	/* the third within 24 hours: until reset, whatever the clock says */
	minid_lock_apply(&spec, t0 + 4 * 3600, &s);
	assert_true(s.hard);
	assert_int_equal(minid_lock_check(&s, t0 + 400 * 86400, &until), MINID_LOCKED_HARD);
}

static void
test_window_forgets_old_locks(void **state)
{
	struct minid_lockstate s = { 0 };
	int64_t t0 = 1700000000;

	(void)state;
	minid_lock_apply(&spec, t0, &s);
	minid_lock_apply(&spec, t0 + 12 * 3600, &s);
	/* the first is now older than 24 hours: two in the window, not three */
	minid_lock_apply(&spec, t0 + 86400 + 60, &s);
	assert_false(s.hard);
	assert_int_equal(s.nlocks, 2);
	assert_int_equal(s.locks[0], t0 + 12 * 3600);
	/* exactly at the window's edge the old one no longer counts */
	memset(&s, 0, sizeof(s));
	minid_lock_apply(&spec, t0, &s);
	minid_lock_apply(&spec, t0 + 1, &s);
	minid_lock_apply(&spec, t0 + 86400, &s);
	assert_false(s.hard);
}

static void
test_other_policies(void **state)
{
	struct minid_lock_policy one = { .failures = 1, .seconds = 10, .window = 100, .max = 1 };
	struct minid_lockstate s = { 0 };
	int64_t until;

	(void)state;
	assert_true(minid_lock_slot_locks(&one, 1));
	minid_lock_apply(&one, 1000, &s);
	assert_true(s.hard);
	assert_int_equal(minid_lock_check(&s, 1000, &until), MINID_LOCKED_HARD);
}

static void
test_json_round_trip_and_hostile(void **state)
{
	struct minid_lockstate s = { 0 }, back;
	json_t *g = json_object(), *bad;
	int64_t until;

	(void)state;
	minid_lock_apply(&spec, 1000, &s);
	minid_lock_apply(&spec, 2000, &s);
	minid_lockstate_to_json(&s, g);
	minid_lockstate_from_json(g, &back);
	assert_int_equal(back.nlocks, 2);
	assert_int_equal(back.lock_until, s.lock_until);
	assert_int_equal(back.locks[1], 2000);
	assert_false(back.hard);
	json_decref(g);
	/* wrong types, too many entries, null: no crash, nothing invented */
	bad = json_loads("{\"lock_until\":\"soon\",\"hard\":\"yes\",\"locks\":[1,\"x\",null,2,3,4,5,6,"
			 "7,8,9,10,11,12,13,14,15,16,17,18,19,20]}",
			 0, NULL);
	assert_non_null(bad);
	minid_lockstate_from_json(bad, &back);
	assert_int_equal(back.lock_until, 0);
	assert_false(back.hard);
	assert_int_equal(back.nlocks, MINID_MAX_LOCKS);
	/* a full history keeps the newest */
	minid_lock_apply(&spec, 30, &back);
	assert_int_equal(back.nlocks, MINID_MAX_LOCKS);
	assert_int_equal(back.locks[MINID_MAX_LOCKS - 1], 30);
	assert_int_equal(minid_lock_check(&back, 30, &until), MINID_LOCKED_HARD);
	json_decref(bad);
	minid_lockstate_from_json(NULL, &back);
	assert_int_equal(back.nlocks, 0);
}

/* ---- the guard in a real (in-memory) store ---- */

static struct porten app;
static struct cfg cfg;

static int
setup(void **state)
{
	struct err e = { 0 };

	(void)state;
	memset(&app, 0, sizeof(app));
	if (service_cfg_load(&cfg, porten_services, NULL, &e) != 0)
		return -1;
	app.cfg = &cfg;
	app.test_env = true;
	memset(app.csrf_key, 2, sizeof(app.csrf_key));
	return store_open(&app.store, &(struct store_opts){ .target = ":memory:" }, &e);
}

static int
teardown(void **state)
{
	(void)state;
	store_close(app.store);
	cfg_free(&cfg);
	time_set_offset(0);
	return 0;
}

static void
fail_n(const char *pid, int n, enum minid_lock_kind *last)
{
	struct minid_attempt a;
	struct err e = { 0 };
	int64_t until;

	for (int i = 0; i < n; i++) {
		assert_int_equal(minid_attempt_begin(&app, pid, &a, last, &until, &e), 0);
		if (*last != MINID_UNLOCKED)
			return;
		assert_int_equal(a.slot, i + 1);
		assert_int_equal(minid_attempt_fail(&app, pid, &a, last, &until, &e), 0);
	}
}

static void
test_guard_in_store(void **state)
{
	enum minid_lock_kind kind;
	struct minid_attempt a, b;
	struct err e = { 0 };
	int64_t until;

	(void)state;
	fail_n(PID, 4, &kind);
	assert_int_equal(kind, MINID_UNLOCKED);
	/* two attempts in flight hold different slots: the 5th and, after it, none */
	assert_int_equal(minid_attempt_begin(&app, PID, &a, &kind, &until, &e), 0);
	assert_int_equal(a.slot, 5);
	assert_int_equal(minid_attempt_begin(&app, PID, &b, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_LOCKED_TEMPORARY);
	assert_int_equal(minid_attempt_fail(&app, PID, &a, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_LOCKED_TEMPORARY);
	assert_true(until > time_now());
	assert_int_equal(minid_lock_state(&app, PID, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_LOCKED_TEMPORARY);
	/* a number without an account locks the same way (no enumeration) */
	fail_n(GHOST, 5, &kind);
	assert_int_equal(minid_lock_state(&app, GHOST, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_LOCKED_TEMPORARY);
	/* an hour later the count starts again from 1 */
	time_set_offset(3601);
	assert_int_equal(minid_attempt_begin(&app, PID, &a, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_UNLOCKED);
	assert_int_equal(a.slot, 1);
	/* success clears everything */
	assert_int_equal(minid_attempt_succeed(&app, PID, &e), 0);
	assert_int_equal(minid_attempt_succeed(&app, PID, &e), 0);
	assert_int_equal(minid_attempt_begin(&app, PID, &a, &kind, &until, &e), 0);
	assert_int_equal(a.slot, 1);
	time_set_offset(0);
}

static struct minid_lockstate
guard_of(const char *pid)
{
	struct minid_lockstate s = { 0 };
	struct err e = { 0 };
	json_t *g = NULL;

	if (store_call(app.store, minid, doc_get, "minid_guard", pid, &g, &e) == 0)
		minid_lockstate_from_json(g, &s);
	json_decref(g);
	return s;
}

/* A right password (the code step then abandoned) neither counts nor resets. */
static void
test_right_password_is_neither(void **state)
{
	enum minid_lock_kind kind;
	struct minid_attempt a;
	struct err e = { 0 };
	int64_t until;

	(void)state;
	for (int i = 0; i < 12; i++) {
		assert_int_equal(minid_attempt_begin(&app, PID, &a, &kind, &until, &e), 0);
		assert_int_equal(kind, MINID_UNLOCKED);
		assert_int_equal(minid_attempt_release(&app, PID, &a, &e), 0);
	}
	fail_n(PID, 4, &kind);
	assert_int_equal(kind, MINID_UNLOCKED);
	assert_int_equal(minid_attempt_begin(&app, PID, &a, &kind, &until, &e), 0);
	assert_int_equal(a.slot, 5);
	assert_int_equal(minid_attempt_release(&app, PID, &a, &e), 0);
	/* the fifth failure still locks, with a real end */
	assert_int_equal(minid_attempt_begin(&app, PID, &a, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_UNLOCKED);
	assert_int_equal(minid_attempt_fail(&app, PID, &a, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_LOCKED_TEMPORARY);
	assert_true(guard_of(PID).lock_until > time_now());
	assert_int_equal(guard_of(PID).nlocks, 1);
}

/* A slot freed below others is taken again; the fifth failure locks wherever it lands. */
static void
test_holes_still_lock(void **state)
{
	enum minid_lock_kind kind;
	static const int wrong[] = { 1, 3, 4 };
	struct minid_attempt a[5], x;
	struct err e = { 0 };
	int64_t until;

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(minid_attempt_begin(&app, PID, &a[i], &kind, &until, &e), 0);
		assert_int_equal(a[i].slot, i + 1);
	}
	/* 1 and 3 right, the rest wrong: two holes low down */
	assert_int_equal(minid_attempt_release(&app, PID, &a[0], &e), 0);
	assert_int_equal(minid_attempt_release(&app, PID, &a[2], &e), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(minid_attempt_fail(&app, PID, &a[wrong[i]], &kind, &until, &e), 0);
		assert_int_equal(kind, MINID_UNLOCKED);
	}
	assert_int_equal(minid_attempt_begin(&app, PID, &x, &kind, &until, &e), 0);
	assert_int_equal(x.slot, 1);
	assert_int_equal(minid_attempt_fail(&app, PID, &x, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_UNLOCKED);
	assert_int_equal(minid_attempt_begin(&app, PID, &x, &kind, &until, &e), 0);
	assert_int_equal(x.slot, 3);
	assert_int_equal(minid_attempt_fail(&app, PID, &x, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_LOCKED_TEMPORARY);
	assert_true(until > time_now());
	assert_int_equal(guard_of(PID).nlocks, 1);
}

/* Two failures settle the last two slots: one lock, not two. */
static void
test_lock_applied_once(void **state)
{
	enum minid_lock_kind kind, k2;
	struct minid_attempt a, b;
	struct err e = { 0 };
	int64_t until;

	(void)state;
	fail_n(PID, 3, &kind);
	assert_int_equal(minid_attempt_begin(&app, PID, &a, &kind, &until, &e), 0);
	assert_int_equal(minid_attempt_begin(&app, PID, &b, &kind, &until, &e), 0);
	assert_int_equal(b.slot, 5);
	assert_int_equal(minid_attempt_fail(&app, PID, &a, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_UNLOCKED);
	assert_int_equal(minid_attempt_fail(&app, PID, &b, &k2, &until, &e), 0);
	assert_int_equal(k2, MINID_LOCKED_TEMPORARY);
	/* a late repeat of the last failure finds the lock claimed */
	assert_int_equal(minid_attempt_fail(&app, PID, &b, &k2, &until, &e), 0);
	assert_int_equal(k2, MINID_LOCKED_TEMPORARY);
	assert_int_equal(guard_of(PID).nlocks, 1);
}

/* A second factor given up is one failure; a request that died frees its slot later. */
static void
test_failure_and_stale_slots(void **state)
{
	enum minid_lock_kind kind;
	struct minid_attempt a;
	struct err e = { 0 };
	int64_t until;

	(void)state;
	fail_n(PID, 3, &kind);
	assert_int_equal(minid_attempt_failure(&app, PID, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_UNLOCKED);
	assert_int_equal(minid_attempt_failure(&app, PID, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_LOCKED_TEMPORARY);
	/* locked: nothing more is counted */
	assert_int_equal(minid_attempt_failure(&app, PID, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_LOCKED_TEMPORARY);
	assert_int_equal(guard_of(PID).nlocks, 1);

	/* five checks that never finish hold every slot, for a while only */
	for (int i = 0; i < 5; i++)
		assert_int_equal(minid_attempt_begin(&app, GHOST, &a, &kind, &until, &e), 0);
	assert_int_equal(minid_attempt_begin(&app, GHOST, &a, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_LOCKED_TEMPORARY);
	assert_int_equal(guard_of(GHOST).lock_until, 0);
	time_set_offset(301);
	assert_int_equal(minid_attempt_begin(&app, GHOST, &a, &kind, &until, &e), 0);
	assert_int_equal(kind, MINID_UNLOCKED);
	assert_int_equal(a.slot, 1);
	time_set_offset(0);
}

static void
test_slot_claims(void **state)
{
	struct err e = { 0 };
	int64_t slot;

	(void)state;
	for (int64_t i = 1; i <= 3; i++) {
		assert_int_equal(minid_try_claim(&app, "otc.flowid", 3, time_now() + 60, &slot, &e),
				 0);
		assert_int_equal(slot, i);
	}
	assert_int_equal(minid_try_claim(&app, "otc.flowid", 3, time_now() + 60, &slot, &e),
			 ERR_LIMIT);
	/* expired slots are free again */
	time_set_offset(61);
	assert_int_equal(minid_try_claim(&app, "otc.flowid", 3, time_now() + 60, &slot, &e), 0);
	assert_int_equal(slot, 1);
	time_set_offset(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_temporary_then_hard),
		cmocka_unit_test(test_window_forgets_old_locks),
		cmocka_unit_test(test_other_policies),
		cmocka_unit_test(test_json_round_trip_and_hostile),
		cmocka_unit_test_setup_teardown(test_guard_in_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_right_password_is_neither, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holes_still_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_applied_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_and_stale_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slot_claims, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
