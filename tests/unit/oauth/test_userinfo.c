/*
 * Tests for oauth/userinfo.c (OIDC Core §5.3, RFC 6750, spec/idporten-oidc.md
 * §14): the answer for a good token, and the challenge for missing,
 * malformed, unknown, revoked and under-scoped ones.
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

static void
call(struct treq *t, const char *method, const char *authz)
{
	treq_init(t, method, "/userinfo", NULL, authz);
	oauth_handle_userinfo(&t->r, &t->w);
}

static char *
bearer(const char *token)
{
	char *h = NULL;

	assert_true(asprintf(&h, "Bearer %s", token) > 0);
	return h;
}

static void
test_ok(void **state)
{
	struct treq t;
	char *at, *idt, *h;
	json_t *j, *c;

	(void)state;
	fx_issue("web", true, "openid profile", &at, NULL, &idt, NULL);
	h = bearer(at);
	call(&t, "GET", h);
	assert_int_equal(t.w.status, 200);
	assert_string_equal(treq_header(&t, "Cache-Control"), "no-store");
	j = treq_json(&t);
	c = fx_jwt_payload(idt);
	/* sub equals the ID token's (OIDC Core §5.3.2). */
	assert_string_equal(json_string_value(json_object_get(j, "sub")),
			    json_string_value(json_object_get(c, "sub")));
	assert_string_equal(json_string_value(json_object_get(j, "pid")), FX_PID);
	assert_string_equal(json_string_value(json_object_get(j, "locale")), "nb");
	json_decref(j);
	json_decref(c);
	treq_free(&t);
	/* POST with the header works too. */
	call(&t, "POST", h);
	assert_int_equal(t.w.status, 200);
	treq_free(&t);
	free(h);
	free(at);
	free(idt);
}

static void
test_pseudonymous(void **state)
{
	struct treq t;
	char *at, *h;
	json_t *j;

	(void)state;
	fx_issue("web", true, "openid profile pseudo:api", &at, NULL, NULL, NULL);
	h = bearer(at);
	call(&t, "GET", h);
	assert_int_equal(t.w.status, 200);
	j = treq_json(&t);
	assert_null(json_object_get(j, "pid"));
	assert_non_null(json_object_get(j, "sub"));
	json_decref(j);
	treq_free(&t);
	free(h);
	free(at);
}

static void
test_refused(void **state)
{
	struct treq t;
	char *at, *h;
	const char *c;

	(void)state;
	/* No credentials: 401 with a bare challenge (RFC 6750 §3.1). */
	call(&t, "GET", NULL);
	assert_int_equal(t.w.status, 401);
	assert_string_equal(treq_header(&t, "WWW-Authenticate"), "Bearer realm=\"porten\"");
	treq_free(&t);
	/* Unknown token. */
	call(&t, "GET", "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(t.w.status, 401);
	c = treq_header(&t, "WWW-Authenticate");
	assert_non_null(c);
	assert_non_null(strstr(c, "error=\"invalid_token\""));
	treq_free(&t);
	/* Malformed header. */
	call(&t, "GET", "Bearer a b");
	assert_int_equal(t.w.status, 400);
	treq_free(&t);
	/* Basic is not a bearer token. */
	call(&t, "GET", fx_basic("web", FX_SECRET));
	assert_int_equal(t.w.status, 401);
	treq_free(&t);
	/* Without profile: 403 insufficient_scope. */
	fx_issue("web", true, "openid test:api", &at, NULL, NULL, NULL);
	h = bearer(at);
	call(&t, "GET", h);
	assert_int_equal(t.w.status, 403);
	assert_non_null(strstr(treq_header(&t, "WWW-Authenticate"), "insufficient_scope"));
	treq_free(&t);
	free(h);
	free(at);
	/* Revoked grant. */
	{
		char gid[64];
		struct err e = { 0 };

		fx_issue("web", true, "openid profile", &at, NULL, NULL, gid);
		assert_int_equal(store_call(fx_app.store, oauth, grant_revoke, gid, &e), 0);
		h = bearer(at);
		call(&t, "GET", h);
		assert_int_equal(t.w.status, 401);
		assert_non_null(strstr(treq_header(&t, "WWW-Authenticate"), "invalid_token"));
		treq_free(&t);
		free(h);
		free(at);
	}
	/* Another method. */
	call(&t, "DELETE", NULL);
	assert_int_equal(t.w.status, 405);
	treq_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_pseudonymous),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, fx_teardown);
}
