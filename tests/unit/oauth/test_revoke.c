/*
 * Tests for oauth/revoke.c (RFC 7009, spec/idporten-oidc.md §14): revoking
 * a token ends its grant for the calling client only, and every answer to
 * an authenticated caller is 200.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "token_fixture.h"

static int
setup(void **state)
{
	if (fx_setup(state) != 0)
		return -1;
	fx_cast();
	return 0;
}

static bool
access_live(const char *token)
{
	struct err e = { 0 };
	char hash[TOKEN_CHARS + 1];
	json_t *doc = NULL;
	char *gid = NULL;
	int rc;

	sha256_b64url_buf(str_c(token), hash);
	rc = store_call(fx_app.store, oauth, token_get, hash, &doc, &gid, NULL, &e);
	json_decref(doc);
	free(gid);
	return rc == 0;
}

static bool
refresh_live(const char *token)
{
	struct err e = { 0 };
	struct store_refresh row = { 0 };
	char hash[TOKEN_CHARS + 1];
	int rc;

	sha256_b64url_buf(str_c(token), hash);
	rc = store_call(fx_app.store, oauth, refresh_get, hash, &row, &e);
	store_refresh_clear(&row);
	return rc == 0;
}

static void
revoke(const char *caller, bool basic, const char *token, const char *hint, int status)
{
	struct treq t;
	char *form = NULL;

	assert_true(asprintf(&form, "token=%s%s%s%s%s", token, hint ? "&token_type_hint=" : "",
			     hint ? hint : "", basic ? "" : "&client_id=", basic ? "" : caller) > 0);
	treq_init(&t, "POST", "/revoke", form, basic ? fx_basic(caller, FX_SECRET) : NULL);
	free(form);
	oauth_handle_revoke(&t.r, &t.w);
	assert_int_equal(t.w.status, status);
	if (status == 200)
		assert_int_equal(t.w.body.len, 0);
	treq_free(&t);
}

static void
test_revoke_access(void **state)
{
	char *at, *rt, *at2;

	(void)state;
	fx_issue("web", true, "openid profile", &at, &rt, NULL, NULL);
	fx_issue("web", true, "openid profile", &at2, NULL, NULL, NULL);
	revoke("web", true, at, NULL, 200);
	/* The whole grant: its refresh token too; the other grant lives. */
	assert_false(access_live(at));
	assert_false(refresh_live(rt));
	assert_true(access_live(at2));
	/* Again: still 200. */
	revoke("web", true, at, "access_token", 200);
	free(at);
	free(rt);
	free(at2);
}

static void
test_revoke_refresh(void **state)
{
	char *at, *rt;

	(void)state;
	fx_issue("spa", false, "openid profile", &at, &rt, NULL, NULL);
	/* A wrong hint is only a hint. */
	revoke("spa", false, rt, "access_token", 200);
	assert_false(refresh_live(rt));
	assert_false(access_live(at));
	free(at);
	free(rt);
}

static void
test_other_client(void **state)
{
	char *at, *rt;

	(void)state;
	fx_issue("web", true, "openid profile", &at, &rt, NULL, NULL);
	/* Another client: 200, and nothing happens to web's grant. */
	revoke("web-b", true, at, NULL, 200);
	revoke("web-b", true, rt, "refresh_token", 200);
	revoke("spa", false, rt, NULL, 200);
	assert_true(access_live(at));
	assert_true(refresh_live(rt));
	free(at);
	free(rt);
}

static void
test_errors(void **state)
{
	struct treq t;

	(void)state;
	revoke("web", true, "never-issued", NULL, 200);
	/* Authentication failure, missing token, GET. */
	treq_init(&t, "POST", "/revoke", "token=x", fx_basic("web", "wrong"));
	oauth_handle_revoke(&t.r, &t.w);
	treq_expect_error(&t, 401, "invalid_client");
	treq_free(&t);
	treq_init(&t, "POST", "/revoke", "token_type_hint=refresh_token", fx_basic("web", FX_SECRET));
	oauth_handle_revoke(&t.r, &t.w);
	treq_expect_error(&t, 400, "invalid_request");
	treq_free(&t);
	treq_init(&t, "POST", "/revoke", "token=a&token=a", fx_basic("web", FX_SECRET));
	oauth_handle_revoke(&t.r, &t.w);
	treq_expect_error(&t, 400, "invalid_request");
	treq_free(&t);
	treq_init(&t, "GET", "/revoke", "token=a", fx_basic("web", FX_SECRET));
	oauth_handle_revoke(&t.r, &t.w);
	treq_expect_error(&t, 405, "invalid_request");
	treq_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revoke_access),
		cmocka_unit_test(test_revoke_refresh),
		cmocka_unit_test(test_other_client),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, fx_teardown);
}
