/*
 * Tests for the MinID account record (eid/minid/account.c): documents in
 * the stored format of every writer (operator create, activation letter,
 * activation, hard lock, app bound, keys of a later version) decode and
 * encode back to the same document; fields of the wrong type are refused
 * with nothing left allocated; the setters copy and clear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eid/minid/minid.h"

#define HASH "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

/* Rows as the writers of this version and the last one store them. */
static const char *const rows[] = {
	/* portenctl minid create */
	"{\"pid\":\"01818912345\",\"status\":\"ACTIVE\",\"blocked\":false,\"pwhash\":\"" HASH "\","
	"\"mobile\":\"+4791234567\",\"created\":1764000000,\"updated\":1764000000,"
	"\"pw_changed\":1764000000}",
	/* an activation letter ordered for a number without an account */
	"{\"pid\":\"01818912345\",\"status\":\"PENDING_ACTIVATION\",\"blocked\":false,"
	"\"created\":1764000000,\"updated\":1764000001}",
	/* activated, logged in, app bound */
	"{\"pid\":\"01818912345\",\"status\":\"ACTIVE\",\"blocked\":false,\"pwhash\":\"" HASH "\","
	"\"mobile\":\"+4791234567\",\"totp\":\"c2VhbGVk\",\"created\":1764000000,"
	"\"updated\":1764000100,\"pw_changed\":1764000050,\"activated\":1764000050,"
	"\"last_login\":1764000100}",
	/* locked after failures, blocked by an operator */
	"{\"pid\":\"01818912345\",\"status\":\"LOCKED\",\"blocked\":true,\"pwhash\":\"" HASH "\","
	"\"mobile\":\"+4791234567\",\"lock_reason\":\"failures\",\"created\":1764000000,"
	"\"updated\":1764000200,\"pw_changed\":1764000000}",
	/* keys this version does not know ride along */
	"{\"pid\":\"01818912345\",\"status\":\"CLOSED\",\"blocked\":false,\"created\":1764000000,"
	"\"updated\":1764000000,\"email\":\"a@example.no\",\"prefs\":{\"lang\":\"nn\"}}",
};

static void
test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct minid_account a;
		struct err e = { 0 };
		json_t *doc = json_loads(rows[i], 0, NULL), *back;

		assert_non_null(doc);
		assert_int_equal(minid_account_decode(doc, &a, &e), 0);
		back = minid_account_encode(&a);
		assert_non_null(back);
		if (!json_equal(doc, back)) {
			char *s = json_dumps(back, JSON_SORT_KEYS);

			print_error("row %zu came back as %s\n", i, s);
			free(s);
			fail();
		}
		json_decref(back);
		json_decref(doc);
		minid_account_clear(&a);
	}
}

static void
test_fields(void **state)
{
	struct minid_account a;
	struct err e = { 0 };
	json_t *doc = json_loads(rows[2], 0, NULL);

	(void)state;
	assert_int_equal(minid_account_decode(doc, &a, &e), 0);
	assert_string_equal(a.pid, "01818912345");
	assert_int_equal(a.status, MINID_ST_ACTIVE);
	assert_false(a.blocked);
	assert_string_equal(a.pwhash, HASH);
	assert_string_equal(a.mobile, "+4791234567");
	assert_string_equal(a.totp, "c2VhbGVk");
	assert_null(a.lock_reason);
	assert_int_equal(a.created, 1764000000);
	assert_int_equal(a.activated, 1764000050);
	assert_int_equal(a.last_login, 1764000100);
	assert_true(minid_account_usable(&a));
	/* the record owns its strings: the document may go */
	json_decref(doc);
	assert_string_equal(a.mobile, "+4791234567");
	a.blocked = true;
	assert_false(minid_account_usable(&a));
	a.blocked = false;
	a.status = MINID_ST_LOCKED;
	assert_false(minid_account_usable(&a));
	minid_account_clear(&a);
	assert_null(a.pwhash);
	assert_null(a.rest);
	assert_int_equal(a.status, MINID_ST_NONE);
}

static void
test_set(void **state)
{
	struct minid_account a = { .pid = "01818912345" };
	json_t *doc;

	(void)state;
	assert_int_equal(minid_account_set(&a.mobile, "+4791234567"), 0);
	assert_int_equal(minid_account_set(&a.mobile, "+4799999999"), 0);
	assert_string_equal(a.mobile, "+4799999999");
	assert_int_equal(minid_account_set(&a.mobile, NULL), 0);
	assert_null(a.mobile);
	/* no status, no times: only what is there is written */
	doc = minid_account_encode(&a);
	assert_non_null(doc);
	assert_int_equal(json_object_size(doc), 2);
	assert_true(json_is_false(json_object_get(doc, "blocked")));
	json_decref(doc);
	minid_account_clear(&a);
	assert_string_equal(minid_status_name(MINID_ST_PENDING_ACTIVATION), "PENDING_ACTIVATION");
	assert_string_equal(minid_status_name(MINID_ST_NONE), "UNKNOWN");
}

static void
test_hostile(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"pid\":\"0181891234\"}",
		"{\"pid\":12345678901}",
		"{\"pid\":\"01818912345\",\"status\":\"SLEEPING\"}",
		"{\"pid\":\"01818912345\",\"status\":7}",
		"{\"pid\":\"01818912345\",\"blocked\":\"yes\"}",
		"{\"pid\":\"01818912345\",\"pwhash\":\"" HASH "\",\"mobile\":4791234567}",
		"{\"pid\":\"01818912345\",\"mobile\":\"+4791234567\",\"totp\":{\"s\":1}}",
		"{\"pid\":\"01818912345\",\"mobile\":\"+4791234567\",\"created\":\"today\"}",
		"{\"pid\":\"01818912345\",\"last_login\":1.5}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct minid_account a;
		struct err e = { 0 };
		json_t *doc = json_loads(bad[i], 0, NULL);

		assert_non_null(doc);
		assert_int_not_equal(minid_account_decode(doc, &a, &e), 0);
		/* refused: nothing left to free */
		assert_null(a.pwhash);
		assert_null(a.mobile);
		assert_null(a.rest);
		json_decref(doc);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
