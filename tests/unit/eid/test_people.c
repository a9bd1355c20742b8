/*
 * Tests for eid/people.c: which numbers the person register takes as a pid
 * (spec/national-id-numbers.md §4: never an H-number; synthetic numbers in
 * TEST only, real ones in PROD only), and that a match on a number the
 * register should never have held gives no pid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "services.h"
#include "core/arena.h"
#include "eid/people.h"
#include "http/http.h"
#include "store/store.h"

#define SYNTHETIC "01819012365" /* 1990-01-01, month + 80 */
#define REAL "01019012480"      /* 1990-01-01, an ordinary number */
#define H_NUMBER "01419012463"  /* 1990-01-01, month + 40 */

static struct porten app;
static struct cfg cfg;
static struct http_req req;

static int
setup(void **state)
{
	struct err e = { 0 };

	(void)state;
	memset(&app, 0, sizeof(app));
	memset(&req, 0, sizeof(req));
	if (service_cfg_load(&cfg, porten_services, NULL, &e) != 0)
		return -1;
	app.cfg = &cfg;
	app.test_env = true;
	req.app = &app;
	req.arena = arena_new();
	memcpy(req.rid, "rid-test-0000001", 17);
	return store_open(&app.store, &(struct store_opts){ .target = ":memory:" }, &e);
}

static int
teardown(void **state)
{
	(void)state;
	arena_free(req.arena);
	store_close(app.store);
	cfg_free(&cfg);
	return 0;
}

static void
test_pid_ok(void **state)
{
	(void)state;
	assert_true(people_pid_ok(&app, SYNTHETIC));
	assert_false(people_pid_ok(&app, REAL));
	assert_false(people_pid_ok(&app, H_NUMBER));
	assert_false(people_pid_ok(&app, NULL));
	assert_false(people_pid_ok(&app, "0181901236"));
	app.test_env = false;
	assert_false(people_pid_ok(&app, SYNTHETIC));
	assert_true(people_pid_ok(&app, REAL));
	assert_false(people_pid_ok(&app, H_NUMBER));
	app.test_env = true;
}

/* A register filled before the import checked numbers: its H-number stays out of pid. */
static void
test_match_never_gives_an_unacceptable_pid(void **state)
{
	enum people_match how;
	struct err e = { 0 };
	const char *pid = "x";

	(void)state;
	assert_int_equal(store_call(app.store, people, put, H_NUMBER, true, &e), 0);
	assert_int_equal(store_call(app.store, people, foreign_add, H_NUMBER, "SE", "H1", &e), 0);
	assert_int_equal(store_call(app.store, people, put, SYNTHETIC, true, &e), 0);
	assert_int_equal(store_call(app.store, people, foreign_add, SYNTHETIC, "SE", "S1", &e), 0);
	assert_int_equal(people_match_eidas(&req, "eidas", "SE/NO/H1", &pid, &how, &e), 0);
	assert_null(pid);
	assert_int_equal(how, PEOPLE_UNMATCHED);
	assert_int_equal(people_match_eidas(&req, "eidas", "SE/NO/S1", &pid, &how, &e), 0);
	assert_int_equal(how, PEOPLE_MATCHED);
	assert_string_equal(pid, SYNTHETIC);
	/* in PROD the synthetic one is no pid either */
	app.test_env = false;
	assert_int_equal(people_match_eidas(&req, "wallet", "SE/NO/S1", &pid, &how, &e), 0);
	assert_null(pid);
	assert_int_equal(how, PEOPLE_UNMATCHED);
	app.test_env = true;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pid_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_never_gives_an_unacceptable_pid, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
