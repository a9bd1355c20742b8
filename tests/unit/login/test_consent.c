/*
 * Tests for login/consent.c (spec/idporten-oidc.md §7 step 6, §4
 * prompt=none): when a login is stopped for consent, when it is not, and
 * the consent endpoints refusing forged, foreign and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../oauth/token_fixture.h"
#include "login/login_int.h"

#define SCOPES "openid profile consent:api test:api"

static int
setup(void **state)
{
	if (fx_setup(state) != 0)
		return -1;
	fx_cast();
	fx_scope("consent:api", "{\"requires_user_consent\":true,\"description\":\"Read <data>\","
				"\"long_description\":\"**bold** <script>\"}");
	fx_scope("consent2:api", "{\"requires_user_consent\":true,\"description\":\"Other\"}");
	return 0;
}

static json_t *
areq_for(const char *scope, const char *prompt)
{
	json_t *a = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "client_id", "web", "redirect_uri",
			      FX_REDIRECT, "response_mode", "query", "state", "st-1", "scope", scope,
			      "locale", "nb");

	assert_non_null(a);
	if (prompt != NULL)
		json_object_set_new(a, "prompt", json_string(prompt));
	return a;
}

static const struct client *
client_web(void)
{
	struct err e = { 0 };
	const struct client *c = NULL;

	assert_int_equal(reg_client_find(&fx_app, "web", &c, &e), 0);
	return c;
}

static void
session_for(struct session *s, const char *pid)
{
	session_clear(s);
	s->sid = "sid-1234";
	s->pid = pid;
	assert_non_null(s->sid);
}

/* Remember consent for web and pid directly in the store. */
static void
remember(const char *pid, const char *scope, int64_t until)
{
	struct err e = { 0 };
	struct arena *a = arena_new();
	char *key = sha256_b64url(a, str_c(arena_printf(a, "web\n%s", pid)));
	json_t *doc = json_pack("{s:{s:I}}", "scopes", scope, (json_int_t)until);

	store_call(fx_app.store, login, doc_delete, "consent", key, &e);
	assert_int_equal(store_call(fx_app.store, login, doc_put, "consent", key, doc,
				  time_now() + 86400, &e), 0);
	json_decref(doc);
	arena_free(a);
}

static bool
intercept(struct treq *t, const char *scope, const char *prompt, const char *pid)
{
	struct session s = { 0 };
	const struct client *client = client_web();
	json_t *areq = areq_for(scope, prompt);
	bool rc;

	treq_init(t, "GET", "/authorize", NULL, NULL);
	session_for(&s, pid);
	rc = consent_intercept(&t->r, &t->w, client, areq, &s);
	session_clear(&s);
	json_decref(areq);
	reg_client_release(client);
	return rc;
}

static void
test_no_consent_scope(void **state)
{
	struct treq t;

	(void)state;
	assert_false(intercept(&t, "openid profile test:api", NULL, FX_PID));
	assert_int_equal(t.w.status, 0);
	treq_free(&t);
	/* An empty, odd or unknown scope list asks nothing either. */
	assert_false(intercept(&t, "", NULL, FX_PID));
	treq_free(&t);
	assert_false(intercept(&t, "  openid   nosuch:scope ", NULL, FX_PID));
	treq_free(&t);
}

static void
test_asks_for_consent(void **state)
{
	struct treq t;
	const char *loc;

	(void)state;
	assert_true(intercept(&t, SCOPES, NULL, FX_PID));
	loc = treq_header(&t, "Location");
	assert_non_null(loc);
	assert_non_null(strstr(loc, "/consent?ar="));
	/* The pending consent is bound to this browser: the cookie is set. */
	assert_non_null(treq_header(&t, "Set-Cookie"));
	treq_free(&t);
}

static void
test_prompt_none_consent_required(void **state)
{
	struct treq t;
	const char *loc;

	(void)state;
	assert_true(intercept(&t, SCOPES, "none", FX_PID));
	loc = treq_header(&t, "Location");
	assert_non_null(loc);
	assert_int_equal(strncmp(loc, FX_REDIRECT "?", strlen(FX_REDIRECT) + 1), 0);
	assert_non_null(strstr(loc, "error=consent_required"));
	assert_non_null(strstr(loc, "state=st-1"));
	assert_non_null(strstr(loc, "iss="));
	assert_null(strstr(loc, "code="));
	treq_free(&t);
}

static void
test_remembered_consent(void **state)
{
	struct treq t;

	(void)state;
	remember(FX_PID, "consent:api", time_now() + 3600);
	assert_false(intercept(&t, SCOPES, "none", FX_PID));
	treq_free(&t);
	/* Someone else has not consented. */
	assert_true(intercept(&t, SCOPES, "none", "01819012365"));
	treq_free(&t);
	/* Consent to one scope does not cover another. */
	assert_true(intercept(&t, "openid consent:api consent2:api", "none", FX_PID));
	treq_free(&t);
	/* A lapsed scope entry counts for nothing, even in a live record. */
	remember(FX_PID, "consent:api", time_now() - 1);
	assert_true(intercept(&t, SCOPES, "none", FX_PID));
	treq_free(&t);
	/* A forged entry of the wrong type is no consent either. */
	{
		struct err e = { 0 };
		struct arena *a = arena_new();
		char *key = sha256_b64url(a, str_c(arena_printf(a, "web\n%s", FX_PID)));
		json_t *doc = json_pack("{s:{s:s}}", "scopes", "consent:api", "forever");

		store_call(fx_app.store, login, doc_delete, "consent", key, &e);
		assert_int_equal(store_call(fx_app.store, login, doc_put, "consent", key, doc,
					  time_now() + 60, &e), 0);
		json_decref(doc);
		arena_free(a);
	}
	assert_true(intercept(&t, SCOPES, "none", FX_PID));
	treq_free(&t);
}

static void
test_accepted_flag_passes(void **state)
{
	struct treq t;
	struct session s = { 0 };
	const struct client *client = client_web();
	json_t *areq = areq_for(SCOPES, NULL);

	(void)state;
	json_object_set_new(areq, "consent_accepted", json_true());
	treq_init(&t, "POST", "/consent", NULL, NULL);
	session_for(&s, "01819012365");
	assert_false(consent_intercept(&t.r, &t.w, client, areq, &s));
	session_clear(&s);
	json_decref(areq);
	reg_client_release(client);
	treq_free(&t);
}

static void
test_endpoints_refuse_hostile_input(void **state)
{
	static const char *const forms[] = {
		NULL,
		"decision=accept",
		"ar=&csrf=&decision=accept",
		"ar=short&csrf=x&decision=accept",
		"ar=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&csrf=x&decision=accept",
		"ar=%00%00%00&decision=decline",
	};
	struct treq t;

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		treq_init(&t, "POST", "/consent", forms[i], NULL);
		consent_handle_submit(&t.r, &t.w);
		assert_int_equal(t.w.status, 400);
		assert_null(treq_header(&t, "Location"));
		treq_free(&t);
	}
	treq_init(&t, "GET", "/consent", NULL, NULL);
	consent_handle_show(&t.r, &t.w);
	assert_int_equal(t.w.status, 400);
	treq_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_consent_scope, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_asks_for_consent, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_prompt_none_consent_required, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_remembered_consent, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_accepted_flag_passes, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_endpoints_refuse_hostile_input, setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
