/*
 * Tests for oauth/introspect.c (RFC 7662, spec/idporten-oidc.md §14): who
 * may introspect what, pid for the scope owner only, and that everything
 * not permitted looks like an unknown token.
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

/* Introspect token as caller (Basic); returns the body (new reference) after a 200. */
static json_t *
introspect(const char *caller, const char *token, const char *extra)
{
	struct treq t;
	char *form = NULL;
	json_t *j;

	assert_true(asprintf(&form, "token=%s%s%s", token, extra ? "&" : "", extra ? extra : "") > 0);
	treq_init(&t, "POST", "/token/introspect", form, fx_basic(caller, FX_SECRET));
	free(form);
	oauth_handle_introspect(&t.r, &t.w);
	if (t.w.status != 200)
		fprintf(stderr, "introspect: %d %.*s\n", t.w.status, (int)t.w.body.len, t.w.body.p);
	assert_int_equal(t.w.status, 200);
	assert_string_equal(treq_header(&t, "Cache-Control"), "no-store");
	j = treq_json(&t);
	assert_non_null(j);
	treq_free(&t);
	return j;
}

static bool
active(const char *caller, const char *token)
{
	json_t *j = introspect(caller, token, NULL);
	bool a = json_is_true(json_object_get(j, "active"));

	/* RFC 7662 §2.2: an inactive answer says nothing else. */
	if (!a)
		assert_int_equal(json_object_size(j), 1);
	json_decref(j);
	return a;
}

static void
test_api_scope(void **state)
{
	char *at;
	json_t *j;

	(void)state;
	fx_issue("web", true, "openid profile test:api", &at, NULL, NULL, NULL);
	/* reader is named by test:api; the token's own client is not. */
	j = introspect("reader", at, "token_type_hint=access_token");
	assert_true(json_is_true(json_object_get(j, "active")));
	assert_string_equal(json_string_value(json_object_get(j, "token_type")), "Bearer");
	assert_string_equal(json_string_value(json_object_get(j, "client_id")), "web");
	assert_string_equal(json_string_value(json_object_get(j, "scope")),
			    "openid profile test:api");
	assert_string_equal(json_string_value(json_object_get(j, "pid")), FX_PID);
	assert_true(json_integer_value(json_object_get(j, "expires_in")) > 0);
	assert_true(json_integer_value(json_object_get(j, "expires_in")) <= 60);
	json_decref(j);
	assert_false(active("web", at));
	/* Without the introspection scope: inactive, whatever the token. */
	assert_false(active("nosy", at));
	free(at);
}

static void
test_login_token(void **state)
{
	char *at;

	(void)state;
	fx_issue("web", true, "openid profile", &at, NULL, NULL, NULL);
	/* spec §14 (design): only its own client. */
	assert_true(active("web", at));
	assert_false(active("reader", at));
	assert_false(active("web-b", at));
	free(at);
}

static void
test_mixed_scopes(void **state)
{
	char *at;

	(void)state;
	/* own:api names only web, test:api only reader: nobody may see all of it. */
	fx_issue("web", true, "openid test:api own:api", &at, NULL, NULL, NULL);
	assert_false(active("reader", at));
	assert_false(active("web", at));
	free(at);
}

static void
test_pseudonymous(void **state)
{
	char *at;
	json_t *j;

	(void)state;
	fx_issue("web", true, "openid pseudo:api", &at, NULL, NULL, NULL);
	/* reader belongs to the scope owner: it recovers pid (spec §13). */
	j = introspect("reader", at, NULL);
	assert_true(json_is_true(json_object_get(j, "active")));
	assert_string_equal(json_string_value(json_object_get(j, "pid")), FX_PID);
	json_decref(j);
	free(at);
}

static void
test_opaque(void **state)
{
	char *at;
	json_t *j;

	(void)state;
	fx_issue("web", true, "opaque:api", &at, NULL, NULL, NULL);
	j = introspect("reader", at, NULL);
	assert_true(json_is_true(json_object_get(j, "active")));
	assert_string_equal(json_string_value(json_object_get(j, "iss")), FX_ISS);
	json_decref(j);
	free(at);
}

static void
test_refresh_and_unknown(void **state)
{
	char *at, *rt;
	json_t *j;

	(void)state;
	fx_issue("web", true, "openid profile idporten:token.introspection", &at, &rt, NULL, NULL);
	j = introspect("web", rt, "token_type_hint=refresh_token");
	assert_true(json_is_true(json_object_get(j, "active")));
	assert_string_equal(json_string_value(json_object_get(j, "client_id")), "web");
	json_decref(j);
	/* Another client's refresh token. */
	assert_false(active("web-b", rt));
	assert_false(active("reader", rt));
	/* Unknown, empty-ish and oversized tokens. */
	assert_false(active("reader", "not-a-token"));
	assert_false(active("web", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."));
	free(at);
	free(rt);
}

static void
test_errors(void **state)
{
	struct treq t;

	(void)state;
	/* Caller authentication failure: 401 invalid_client (spec §14). */
	treq_init(&t, "POST", "/token/introspect", "token=x", fx_basic("reader", "wrong"));
	oauth_handle_introspect(&t.r, &t.w);
	treq_expect_error(&t, 401, "invalid_client");
	assert_non_null(treq_header(&t, "WWW-Authenticate"));
	treq_free(&t);
	treq_init(&t, "POST", "/token/introspect", "token=x", NULL);
	oauth_handle_introspect(&t.r, &t.w);
	treq_expect_error(&t, 401, "invalid_client");
	treq_free(&t);
	/* RFC 7662 §2.1: a public client (auth method none) names itself but does not authenticate. */
	treq_init(&t, "POST", "/token/introspect", "token=x&client_id=spa", NULL);
	oauth_handle_introspect(&t.r, &t.w);
	treq_expect_error(&t, 401, "invalid_client");
	assert_non_null(treq_header(&t, "WWW-Authenticate"));
	treq_free(&t);
	/* No token, a repeated token, GET. */
	treq_init(&t, "POST", "/token/introspect", "token_type_hint=access_token",
		  fx_basic("reader", FX_SECRET));
	oauth_handle_introspect(&t.r, &t.w);
	treq_expect_error(&t, 400, "invalid_request");
	treq_free(&t);
	treq_init(&t, "POST", "/token/introspect", "token=a&token=b", fx_basic("reader", FX_SECRET));
	oauth_handle_introspect(&t.r, &t.w);
	treq_expect_error(&t, 400, "invalid_request");
	treq_free(&t);
	treq_init(&t, "GET", "/token/introspect", "token=a", fx_basic("reader", FX_SECRET));
	oauth_handle_introspect(&t.r, &t.w);
	treq_expect_error(&t, 405, "invalid_request");
	treq_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_scope),
		cmocka_unit_test(test_login_token),
		cmocka_unit_test(test_mixed_scopes),
		cmocka_unit_test(test_pseudonymous),
		cmocka_unit_test(test_opaque),
		cmocka_unit_test(test_refresh_and_unknown),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, fx_teardown);
}
