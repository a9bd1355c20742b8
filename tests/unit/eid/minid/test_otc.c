/*
 * Tests for eid/minid/otc.c: TOTP against the test vectors of
 * RFC 6238 Appendix B, the ±1 step window; one-time codes by SMS (sent to
 * the file sink, expiry after 5 minutes, single use, a new code voids the
 * old, 5 attempts, the hourly quota per number, the static TEST code only
 * for synthetic ids in TEST); sealing of app secrets; hostile codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "services.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"

#define MOBILE "+4791234567"
#define FLOW "Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9"

/* ---- RFC 6238 Appendix B ---- */

static void
test_rfc6238_vectors(void **state)
{
	static const char seed20[] = "12345678901234567890";
	static const char seed32[] = "12345678901234567890123456789012";
	static const char seed64[] = "1234567890123456789012345678901234567890123456789012345678901234";
	static const struct {
		int64_t t;
		const char *sha1, *sha256, *sha512;
	} v[] = {
		{ 59, "94287082", "46119246", "90693936" },
		{ 1111111109, "07081804", "68084774", "25091201" },
		{ 1111111111, "14050471", "67062674", "99943326" },
		{ 1234567890, "89005924", "91819424", "93441116" },
		{ 2000000000, "69279037", "90698825", "38618901" },
		{ 20000000000LL, "65353130", "77737706", "47863826" },
	};
	char out[9];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(minid_totp_code((const unsigned char *)seed20, 20, v[i].t, 8, 0, out),
				 0);
		assert_string_equal(out, v[i].sha1);
		assert_int_equal(minid_totp_code((const unsigned char *)seed32, 32, v[i].t, 8, 1, out),
				 0);
		assert_string_equal(out, v[i].sha256);
		assert_int_equal(minid_totp_code((const unsigned char *)seed64, 64, v[i].t, 8, 2, out),
				 0);
		assert_string_equal(out, v[i].sha512);
	}
	/* 6 digits are the last 6 of the same truncation (what the app shows) */
	assert_int_equal(minid_totp_code((const unsigned char *)seed20, 20, 59, 6, 0, out), 0);
	assert_string_equal(out, "287082");
	assert_int_equal(minid_totp_code((const unsigned char *)seed20, 20, 59, 5, 0, out),
			 ERR_INVAL);
	assert_int_equal(minid_totp_code((const unsigned char *)seed20, 20, -1, 6, 0, out),
			 ERR_INVAL);
}

static void
test_totp_window(void **state)
{
	const unsigned char *seed = (const unsigned char *)"12345678901234567890";
	char prev[9], now_[9], next[9], far[9];
	int64_t now = 1111111111, step;

	(void)state;
	minid_totp_code(seed, 20, now - 30, 6, 0, prev);
	minid_totp_code(seed, 20, now, 6, 0, now_);
	minid_totp_code(seed, 20, now + 30, 6, 0, next);
	minid_totp_code(seed, 20, now + 60, 6, 0, far);
	assert_true(minid_totp_match(seed, 20, now, 1, str_c(now_), &step));
	assert_int_equal(step, now / 30);
	assert_true(minid_totp_match(seed, 20, now, 1, str_c(prev), &step));
	assert_int_equal(step, now / 30 - 1);
	assert_true(minid_totp_match(seed, 20, now, 1, str_c(next), &step));
	assert_false(minid_totp_match(seed, 20, now, 1, str_c(far), &step));
	assert_false(minid_totp_match(seed, 20, now, 0, str_c(prev), &step));
	/* hostile codes */
	assert_false(minid_totp_match(seed, 20, now, 1, STR_LIT(""), &step));
	assert_false(minid_totp_match(seed, 20, now, 1, STR_LIT("12345"), &step));
	assert_false(minid_totp_match(seed, 20, now, 1, STR_LIT("1234567"), &step));
	assert_false(minid_totp_match(seed, 20, now, 1, STR_LIT("12 456"), &step));
	assert_false(minid_totp_match(seed, 20, now, 1, (struct str){ "123\0" "56", 6 }, &step));
	assert_false(minid_totp_match(seed, 20, now, 99, str_c(now_), &step));
	assert_int_equal(step, -1);
}

static void
test_random_codes(void **state)
{
	int seen[10] = { 0 };
	char code[MINID_OTC_DIGITS + 1];

	(void)state;
	for (int i = 0; i < 400; i++) {
		assert_int_equal(minid_code_random(code, MINID_OTC_DIGITS), 0);
		assert_int_equal(strlen(code), MINID_OTC_DIGITS);
		for (int k = 0; k < MINID_OTC_DIGITS; k++) {
			assert_true(code[k] >= '0' && code[k] <= '9');
			seen[code[k] - '0']++;
		}
	}
	for (int d = 0; d < 10; d++)
		assert_true(seen[d] > 100);   /* 200 expected each */
}

/* ---- codes in a store, sent to the file sink ---- */

static struct porten app;
static struct cfg cfg;
static char sms_path[64];

static int
setup(void **state)
{
	struct err e = { 0 };
	int fd;

	(void)state;
	memset(&app, 0, sizeof(app));
	if (service_cfg_load(&cfg, porten_services, NULL, &e) != 0)
		return -1;
	/* One file for the whole run: the process keeps one gateway per configuration. */
	if (sms_path[0] == '\0') {
		snprintf(sms_path, sizeof(sms_path), "/tmp/minid-sms-XXXXXX");
		fd = mkstemp(sms_path);
		if (fd < 0)
			return -1;
		close(fd);
	}
	if (truncate(sms_path, 0) != 0)
		return -1;
	free(cfg.sms_file);
	cfg.sms_file = strdup(sms_path);
	app.cfg = &cfg;
	app.test_env = true;
	memset(app.kek.k, 7, sizeof(app.kek.k));
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

/* The code in the last line of the file sink. */
static void
last_code(char out[MINID_OTC_DIGITS + 1])
{
	char line[1024], last[1024] = "";
	FILE *f = fopen(sms_path, "r");
	const char *p;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		memcpy(last, line, sizeof(last));
	fclose(f);
	assert_non_null(strstr(last, "\"to\":\"" MOBILE "\""));
	p = strstr(last, " is ");
	assert_non_null(p);
	memcpy(out, p + 4, MINID_OTC_DIGITS);
	out[MINID_OTC_DIGITS] = '\0';
}

static enum minid_code_result
check(const char *code, bool allow_static, int64_t *left)
{
	enum minid_code_result res;
	struct err e = { 0 };

	assert_int_equal(minid_otc_check(&app, FLOW, time_now() + 1800, str_c(code), allow_static,
					 &res, left, &e),
			 0);
	return res;
}

static void
test_otc_single_use_and_void(void **state)
{
	char first[6], second[6];
	struct err e = { 0 };
	int64_t left;

	(void)state;
	assert_int_equal(minid_otc_send(&app, FLOW, MOBILE, "en", &e), 0);
	last_code(first);
	assert_int_equal(minid_otc_send(&app, FLOW, MOBILE, "en", &e), 0);
	last_code(second);
	if (strcmp(first, second) != 0)
		assert_int_equal(check(first, false, &left), MINID_CODE_WRONG);
	assert_int_equal(check(second, false, &left), MINID_CODE_OK);
	/* used: the same code a second time is wrong */
	assert_int_equal(check(second, false, &left), MINID_CODE_WRONG);
}

static void
test_otc_expiry(void **state)
{
	char code[6];
	struct err e = { 0 };
	int64_t left;

	(void)state;
	assert_int_equal(minid_otc_send(&app, FLOW, MOBILE, "en", &e), 0);
	last_code(code);
	time_set_offset(cfg.minid_otc_lifetime + 1);
	assert_int_equal(check(code, false, &left), MINID_CODE_WRONG);
	time_set_offset(0);
}

static void
test_otc_attempts(void **state)
{
	char code[6], wrong[6];
	struct err e = { 0 };
	int64_t left;

	(void)state;
	assert_int_equal(minid_otc_send(&app, FLOW, MOBILE, "en", &e), 0);
	last_code(code);
	memcpy(wrong, code, sizeof(wrong));
	wrong[0] = code[0] == '9' ? '0' : (char)(code[0] + 1);
	assert_int_equal(check(wrong, false, &left), MINID_CODE_WRONG);
	assert_int_equal(left, 4);
	/* malformed codes cost an attempt too */
	assert_int_equal(check("1234", false, &left), MINID_CODE_WRONG);
	assert_int_equal(check("12a45", false, &left), MINID_CODE_WRONG);
	assert_int_equal(check("", false, &left), MINID_CODE_WRONG);
	assert_int_equal(left, 1);
	assert_int_equal(check(wrong, false, &left), MINID_CODE_EXHAUSTED);
	/* after that even the right code is refused */
	assert_int_equal(check(code, false, &left), MINID_CODE_EXHAUSTED);
}

static void
test_static_code(void **state)
{
	struct err e = { 0 };
	int64_t left;

	(void)state;
	/* §8: TEST, synthetic ids (month 81-92), switched on */
	assert_true(minid_static_otc_allowed(&app, "21879498012"));
	assert_true(minid_static_otc_allowed(&app, "41819012359"));
	assert_false(minid_static_otc_allowed(&app, "01019012480"));   /* real */
	assert_false(minid_static_otc_allowed(&app, "01519012320"));   /* H-number */
	assert_false(minid_static_otc_allowed(&app, "2187949801x"));
	assert_false(minid_static_otc_allowed(&app, NULL));
	cfg.minid_static_otc = false;
	assert_false(minid_static_otc_allowed(&app, "21879498012"));
	cfg.minid_static_otc = true;
	app.test_env = false;
	cfg.env = CFG_ENV_PROD;
	assert_false(minid_static_otc_allowed(&app, "21879498012"));
	app.test_env = true;
	cfg.env = CFG_ENV_TEST;
	(void)e;
	assert_int_equal(check(MINID_STATIC_OTC, false, &left), MINID_CODE_WRONG);
	assert_int_equal(check(MINID_STATIC_OTC, true, &left), MINID_CODE_OK);
}

static void
test_hourly_quota(void **state)
{
	struct err e = { 0 };
	int64_t off;

	(void)state;
	/* start just after a clock hour: the quota counts per clock hour */
	time_set_offset(0);
	off = 3600 - time_now() % 3600 + 5;
	time_set_offset(off);
	cfg.minid_otc_per_hour = 2;
	assert_int_equal(minid_otc_send(&app, FLOW, MOBILE, "en", &e), 0);
	assert_int_equal(minid_otc_send(&app, FLOW, MOBILE, "en", &e), 0);
	assert_int_equal(minid_otc_send(&app, FLOW, MOBILE, "en", &e), ERR_LIMIT);
	/* another number has its own quota */
	assert_int_equal(minid_otc_send(&app, FLOW, "+4791234568", "en", &e), 0);
	/* the next hour the number may get codes again */
	time_set_offset(off + 3600);
	assert_int_equal(minid_otc_send(&app, FLOW, MOBILE, "en", &e), 0);
	time_set_offset(0);
	cfg.minid_otc_per_hour = 10;
}

static void
test_seal(void **state)
{
	unsigned char secret[MINID_TOTP_SECRET_BYTES], out[64];
	struct porten other = app;
	struct err e = { 0 };
	char *sealed = NULL, *b32 = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(minid_totp_new_secret(secret, &b32, &e), 0);
	assert_int_equal(strlen(b32), 32);
	assert_int_equal(minid_seal(&app, "21879498012", secret, sizeof(secret), &sealed, &e), 0);
	assert_int_equal(strncmp(sealed, "v1.", 3), 0);
	assert_int_equal(minid_unseal(&app, "21879498012", sealed, out, sizeof(out), &n, &e), 0);
	assert_int_equal(n, sizeof(secret));
	assert_memory_equal(out, secret, n);
	/* bound to the account, to the KEK, and to every byte */
	assert_int_equal(minid_unseal(&app, "01819012365", sealed, out, sizeof(out), &n, &e),
			 ERR_CRYPTO);
	memset(other.kek.k, 8, sizeof(other.kek.k));
	assert_int_equal(minid_unseal(&other, "21879498012", sealed, out, sizeof(out), &n, &e),
			 ERR_CRYPTO);
	sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
	assert_int_equal(minid_unseal(&app, "21879498012", sealed, out, sizeof(out), &n, &e),
			 ERR_CRYPTO);
	assert_int_equal(minid_unseal(&app, "21879498012", "v1.", out, sizeof(out), &n, &e),
			 ERR_CRYPTO);
	assert_int_equal(minid_unseal(&app, "21879498012", "v2.AAAA", out, sizeof(out), &n, &e),
			 ERR_CRYPTO);
	assert_int_equal(minid_unseal(&app, "21879498012", "v1.!!!!", out, sizeof(out), &n, &e),
			 ERR_CRYPTO);
	assert_int_equal(minid_unseal(&app, "21879498012", NULL, out, sizeof(out), &n, &e),
			 ERR_CRYPTO);
	free(sealed);
	free(b32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_vectors),
		cmocka_unit_test(test_totp_window),
		cmocka_unit_test(test_random_codes),
		cmocka_unit_test_setup_teardown(test_otc_single_use_and_void, setup, teardown),
		cmocka_unit_test_setup_teardown(test_otc_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_otc_attempts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static_code, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hourly_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal, setup, teardown),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	if (sms_path[0] != '\0')
		unlink(sms_path);
	return rc;
}
