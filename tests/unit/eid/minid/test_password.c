/*
 * Tests for eid/minid/password.c: the password rules of
 * spec/minid.md §4 (length, classes, national id, common passwords, NFC),
 * the Argon2id hash with its parameters in the string, verification,
 * rehash detection, and hostile input (invalid UTF-8, control characters,
 * oversized and NUL-carrying strings).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eid/minid/minid.h"

#define PID "21879498012"
/* Cheap parameters: the unit under test is the same at any cost. */
#define OPS 1
#define MEM 8192

static void
test_rules(void **state)
{
	(void)state;
	assert_int_equal(minid_password_check(STR_LIT("Fjellvann2024"), PID), MINID_PW_OK);
	/* ten characters exactly, Norwegian letters count as letters */
	assert_int_equal(minid_password_check(STR_LIT("Blåbær12øx"), PID), MINID_PW_OK);
	assert_int_equal(minid_password_check(STR_LIT("Kort12a"), PID), MINID_PW_TOO_SHORT);
	assert_int_equal(minid_password_check(STR_LIT("Abcdefgh1"), PID), MINID_PW_TOO_SHORT);
	assert_int_equal(minid_password_check(STR_LIT("alllowercase123"), PID), MINID_PW_CLASSES);
	assert_int_equal(minid_password_check(STR_LIT("ALLUPPERCASE123"), PID), MINID_PW_CLASSES);
	assert_int_equal(minid_password_check(STR_LIT("NoDigitsAtAllHere"), PID), MINID_PW_CLASSES);
	assert_int_equal(minid_password_check(STR_LIT("Aa" PID), PID), MINID_PW_HAS_PID);
	assert_int_equal(minid_password_check(STR_LIT("Aa" PID), "01019012480"), MINID_PW_OK);
	assert_string_not_equal(minid_pw_problem_text(MINID_PW_CLASSES), "");
	assert_string_equal(minid_pw_problem_text(MINID_PW_OK), "");
}

static void
test_length_in_characters_not_bytes(void **state)
{
	char buf[1200];
	size_t n = 0;

	(void)state;
	/* 256 three-byte characters plus the classes: 256 characters is the limit. */
	memcpy(buf, "Aa1", 3);
	n = 3;
	for (int i = 0; i < 253; i++) {
		memcpy(buf + n, "€", 3);
		n += 3;
	}
	assert_int_equal(minid_password_check((struct str){ buf, n }, PID), MINID_PW_OK);
	memcpy(buf + n, "€", 3);
	n += 3;
	assert_int_equal(minid_password_check((struct str){ buf, n }, PID), MINID_PW_TOO_LONG);
	/* far too long is refused before any work */
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(minid_password_check((struct str){ buf, sizeof(buf) }, PID),
			 MINID_PW_TOO_LONG);
}

static void
test_common_passwords(void **state)
{
	(void)state;
	assert_true(minid_password_common(STR_LIT("password")));
	assert_true(minid_password_common(STR_LIT("PASSWORD")));
	assert_true(minid_password_common(STR_LIT("1234567890")));
	/* the digits and signs the rules ask for do not hide a common word */
	assert_true(minid_password_common(STR_LIT("Password123!")));
	assert_true(minid_password_common(STR_LIT("2024Basketball")));
	assert_int_equal(minid_password_check(STR_LIT("Basketball2024"), PID), MINID_PW_COMMON);
	assert_int_equal(minid_password_check(STR_LIT("Password1234"), PID), MINID_PW_COMMON);
	assert_false(minid_password_common(STR_LIT("Fjellvann2024")));
	assert_false(minid_password_common(STR_LIT("")));
	assert_false(minid_password_common(STR_LIT("pass\xc3\xa5word")));
}

static void
test_hostile_input(void **state)
{
	(void)state;
	/* invalid UTF-8: a lone continuation byte, an overlong encoding, a surrogate */
	assert_int_equal(minid_password_check(STR_LIT("Abcdefgh12\x80"), PID), MINID_PW_INVALID);
	assert_int_equal(minid_password_check(STR_LIT("Abcdefgh12\xc0\xaf"), PID),
			 MINID_PW_INVALID);
	assert_int_equal(minid_password_check(STR_LIT("Abcdefgh12\xed\xa0\x80"), PID),
			 MINID_PW_INVALID);
	/* control characters, NUL included (a struct str carries its length) */
	assert_int_equal(minid_password_check(STR_LIT("Abcdefgh12\n"), PID), MINID_PW_INVALID);
	assert_int_equal(minid_password_check((struct str){ "Abcdefgh12\0xyz", 14 }, PID),
			 MINID_PW_INVALID);
	assert_int_equal(minid_password_check(STR_NULL, PID), MINID_PW_TOO_SHORT);
}

static void
test_nfc_before_hashing(void **state)
{
	/* "å" precomposed (U+00E5) and decomposed (a + U+030A) are one password. */
	const char *composed = "Fjellvann2024Bl\xc3\xa5";
	const char *decomposed = "Fjellvann2024Bla\xcc\x8a";
	struct err e = { 0 };
	char *hash = NULL, *nfc = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(minid_password_nfc(str_c(decomposed), &nfc, &n), 0);
	assert_string_equal(nfc, composed);
	free(nfc);
	assert_int_equal(minid_password_hash(str_c(decomposed), OPS, MEM, &hash, &e), 0);
	assert_true(minid_password_verify(hash, str_c(composed)));
	assert_true(minid_password_verify(hash, str_c(decomposed)));
	assert_false(minid_password_verify(hash, STR_LIT("Fjellvann2024Bla")));
	free(hash);
}

static void
test_hash_verify_and_rehash(void **state)
{
	struct err e = { 0 };
	char *hash = NULL, *other = NULL;

	(void)state;
	assert_int_equal(minid_password_hash(STR_LIT("Fjellvann2024"), OPS, MEM, &hash, &e), 0);
	/* Argon2id with its parameters (spec §4, README) inside the string */
	assert_non_null(strstr(hash, "$argon2id$v=19$m=8192,t=1,p=1$"));
	assert_true(minid_password_verify(hash, STR_LIT("Fjellvann2024")));
	assert_false(minid_password_verify(hash, STR_LIT("Fjellvann2025")));
	assert_false(minid_password_verify(hash, STR_LIT("")));
	/* salted: the same password never gives the same string */
	assert_int_equal(minid_password_hash(STR_LIT("Fjellvann2024"), OPS, MEM, &other, &e), 0);
	assert_string_not_equal(hash, other);
	assert_false(minid_password_needs_rehash(hash, OPS, MEM));
	assert_true(minid_password_needs_rehash(hash, OPS + 1, MEM));
	assert_true(minid_password_needs_rehash(hash, OPS, MEM * 2));
	/* malformed stored hashes never verify */
	assert_false(minid_password_verify(NULL, STR_LIT("x")));
	assert_false(minid_password_verify("", STR_LIT("x")));
	assert_false(minid_password_verify("$argon2i$v=19$m=8192,t=1,p=1$AAAA$AAAA", STR_LIT("x")));
	hash[strlen(hash) - 3] ^= 1;
	assert_false(minid_password_verify(hash, STR_LIT("Fjellvann2024")));
	assert_false(minid_password_needs_rehash(NULL, OPS, MEM));
	free(hash);
	free(other);
	/* the dummy check runs without an account and says nothing */
	minid_password_dummy_verify(STR_LIT("anything"), OPS, MEM);
	minid_password_dummy_verify(STR_LIT("anything"), OPS, MEM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_length_in_characters_not_bytes),
		cmocka_unit_test(test_common_passwords),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_nfc_before_hashing),
		cmocka_unit_test(test_hash_verify_and_rehash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
