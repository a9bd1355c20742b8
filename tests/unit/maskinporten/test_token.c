/*
 * Tests for maskinporten/token.c (spec/maskinporten.md §2, §6, §7): the
 * access token's claims and lifetime, the event, and the token endpoint's
 * handling of the request around the grant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include <cmocka.h>

#include "mp_fixture.h"

#define GRANT_TYPE "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

struct treq {
	struct http_req r;
	struct http_resp w;
};

static void
treq_run(struct treq *t, const char *method, const char *form, const char *authz)
{
	memset(t, 0, sizeof(*t));
	t->r.arena = arena_new();
	assert_non_null(t->r.arena);
	t->r.method = method;
	t->r.path = str_c("/maskinporten/token");
	if (form != NULL && http_parse_urlencoded(t->r.arena, str_c(form), &t->r.form,
						  &t->r.input_err) != 0) {
		t->r.bad_input = true;
		memset(&t->r.form, 0, sizeof(t->r.form));
	}
	if (authz != NULL) {
		t->r.headers.v = arena_alloc(t->r.arena, sizeof(struct http_param));
		t->r.headers.v[0].name = STR_LIT("authorization");
		t->r.headers.v[0].value = str_c(authz);
		t->r.headers.n = 1;
	}
	memcpy(t->r.rid, "rid-test-0000001", 17);
	t->r.app = &fx_app;
	t->r.route_data = fx_mp;
	http_resp_init(&t->w, t->r.arena);
	mp_handle_token(&t->r, &t->w);
}

static json_t *
treq_json(const struct treq *t)
{
	return t->w.body.p ? json_loadb(t->w.body.p, t->w.body.len, 0, NULL) : NULL;
}

static const char *
treq_header(const struct treq *t, const char *name)
{
	for (size_t i = 0; i < t->w.nheaders; i++)
		if (strcasecmp(t->w.headers[i].name, name) == 0)
			return t->w.headers[i].value;
	return NULL;
}

static void
treq_free(struct treq *t)
{
	http_resp_free(&t->w);
	arena_free(t->r.arena);
}

static void
expect_error(const char *method, const char *form, const char *authz, int status,
	     const char *error, const char *code)
{
	struct treq t;
	json_t *j;
	const char *desc;

	treq_run(&t, method, form, authz);
	j = treq_json(&t);
	desc = json_string_value(json_object_get(j, "error_description"));
	if (t.w.status != status || strcmp(json_string_value(json_object_get(j, "error")),
					   error) != 0)
		print_error("expected %d %s, got %d %.*s\n", status, error, t.w.status,
			    (int)t.w.body.len, t.w.body.p);
	assert_int_equal(t.w.status, status);
	assert_string_equal(json_string_value(json_object_get(j, "error")), error);
	/* A correlation id for support (spec §5). */
	assert_non_null(desc);
	assert_non_null(strstr(desc, "(ref rid-test-0000001)"));
	if (code != NULL)
		assert_int_equal(strncmp(desc, code, strlen(code)), 0);
	json_decref(j);
	treq_free(&t);
}

/* Verify an access token against the Maskinporten JWKS; its claims (new reference). */
static json_t *
verified(const char *token)
{
	json_t *jwks = NULL, *claims = NULL;
	struct err e = { 0 };

	assert_int_equal(reg_keys_jwks(&fx_app, fx_mp, &jwks, &e), 0);
	assert_int_equal(jose_jwt_verify(str_c(token), jwks, JOSE_ALG_RS256, &claims, &e), 0);
	json_decref(jwks);
	return claims;
}

static json_t *
issue(const char *assertion, json_t **resp)
{
	struct mp_grant g;
	struct err e = { 0 };
	int64_t now = time_now();
	json_t *claims;

	if (mp_grant_validate(&fx_app, fx_mp, str_c(assertion), now, &g, &e) != 0)
		print_error("grant: %s\n", e.msg);
	assert_int_equal(mp_token_issue(&fx_app, fx_mp, &g, now, resp, &e), 0);
	mp_grant_clear(&g);
	claims = verified(json_string_value(json_object_get(*resp, "access_token")));
	assert_int_equal(json_integer_value(json_object_get(claims, "iat")), now);
	return claims;
}

static void
test_claims(void **state)
{
	char *a = fx_grant(fx_keyed, "test:api", NULL);
	json_t *resp = NULL, *c = issue(a, &resp);
	int64_t before = 0, after = 0;
	struct err e = { 0 };

	assert_string_equal(json_string_value(json_object_get(c, "iss")), FX_MP);
	assert_string_equal(json_string_value(json_object_get(c, "client_id")), fx_keyed);
	assert_string_equal(json_string_value(json_object_get(c, "client_amr")), "private_key_jwt");
	assert_string_equal(json_string_value(json_object_get(c, "token_type")), "Bearer");
	assert_string_equal(json_string_value(json_object_get(c, "scope")), "test:api");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "consumer"),
							      "ID")), "0192:" FX_ORG_A);
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "consumer"),
							      "authority")),
			    "iso6523-actorid-upis");
	assert_int_equal(json_integer_value(json_object_get(c, "exp")) -
				 json_integer_value(json_object_get(c, "iat")), 120);
	assert_int_equal(json_string_length(json_object_get(c, "jti")), 43);
	/* Never: client_orgno (removed 2020), aud without resource, supplier, pid, sub. */
	assert_null(json_object_get(c, "client_orgno"));
	assert_null(json_object_get(c, "aud"));
	assert_null(json_object_get(c, "supplier"));
	assert_null(json_object_get(c, "pid"));
	assert_null(json_object_get(c, "sub"));
	/* The response (spec §6). */
	assert_int_equal(json_integer_value(json_object_get(resp, "expires_in")), 120);
	assert_string_equal(json_string_value(json_object_get(resp, "token_type")), "Bearer");
	assert_string_equal(json_string_value(json_object_get(resp, "scope")), "test:api");
	assert_null(json_object_get(resp, "refresh_token"));
	json_decref(resp);
	json_decref(c);
	free(a);
	/* One event per token. */
	assert_int_equal(store_call(fx_app.store, events, event_count, "maskinporten_token", &before, &e), 0);
	a = fx_grant(fx_keyed, "test:api", NULL);
	json_decref(issue(a, &resp));
	json_decref(resp);
	free(a);
	assert_int_equal(store_call(fx_app.store, events, event_count, "maskinporten_token", &after, &e), 0);
	assert_int_equal(after, before + 1);
}

static void
test_lifetime_and_audience(void **state)
{
	json_t *resp = NULL, *c;
	char *a;

	/* The smallest non-zero at_max_age caps the lifetime. */
	a = fx_grant(fx_keyed, "test:api test:short", NULL);
	c = issue(a, &resp);
	assert_int_equal(json_integer_value(json_object_get(resp, "expires_in")), 30);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")) -
				 json_integer_value(json_object_get(c, "iat")), 30);
	assert_string_equal(json_string_value(json_object_get(c, "scope")), "test:api test:short");
	json_decref(c);
	json_decref(resp);
	free(a);
	/* resource -> aud: one value as a string, several as an array. */
	a = fx_grant(fx_keyed, "test:api", "{\"resource\": [\"https://r.example.no/\"]}");
	c = issue(a, &resp);
	assert_string_equal(json_string_value(json_object_get(c, "aud")), "https://r.example.no/");
	json_decref(c);
	json_decref(resp);
	free(a);
	a = fx_grant(fx_keyed, "test:aud", "{\"resource\": [\"urn:a\", \"urn:b\"]}");
	c = issue(a, &resp);
	assert_int_equal(json_array_size(json_object_get(c, "aud")), 2);
	json_decref(c);
	json_decref(resp);
	free(a);
	/* spec §7: without resource no aud at all, whatever a scope's stored document holds. */
	a = fx_grant(fx_keyed, "test:aud test:api", "{\"pid\": \"" FX_PID "\"}");
	c = issue(a, &resp);
	assert_null(json_object_get(c, "aud"));
	assert_string_equal(json_string_value(json_object_get(c, "pid")), FX_PID);
	json_decref(c);
	json_decref(resp);
	free(a);
}

static void
test_delegated(void **state)
{
	char *a = fx_grant(fx_supplier, "test:deleg", "{\"consumer_org\": \"" FX_ORG_C "\"}");
	json_t *resp = NULL, *c = issue(a, &resp);

	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "consumer"),
							      "ID")), "0192:" FX_ORG_C);
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "supplier"),
							      "ID")), "0192:" FX_ORG_S);
	assert_string_equal(json_string_value(json_object_get(c, "delegation_source")),
			    "https://tt02.altinn.no/");
	json_decref(c);
	json_decref(resp);
	free(a);
	/* A business certificate shows in client_amr. */
	a = fx_cert_grant(fx_certified, fx_x5c_valid, "test:api", NULL);
	c = issue(a, &resp);
	assert_string_equal(json_string_value(json_object_get(c, "client_amr")),
			    "virksomhetssertifikat");
	json_decref(c);
	json_decref(resp);
	free(a);
}

/* Issue and expect a refusal with the MP code; nothing counted. */
static void
refused(const char *assertion, const char *error, const char *code)
{
	struct mp_grant g;
	struct err e = { 0 };
	int64_t now = time_now(), before = 0, after = 0;
	json_t *resp = NULL;
	int rc;

	assert_int_equal(store_call(fx_app.store, events, event_count, "maskinporten_token", &before, &e), 0);
	rc = mp_grant_validate(&fx_app, fx_mp, str_c(assertion), now, &g, &e);
	if (rc == 0)
		rc = mp_token_issue(&fx_app, fx_mp, &g, now, &resp, &e);
	mp_grant_clear(&g);
	assert_int_not_equal(rc, 0);
	assert_null(resp);
	assert_string_equal(e.oauth, error);
	assert_int_equal(strncmp(e.msg, code, strlen(code)), 0);
	assert_int_equal(store_call(fx_app.store, events, event_count, "maskinporten_token", &after, &e), 0);
	assert_int_equal(after, before);
}

/* spec §5 step 8: a grant is spent when its token is issued, once. */
/* spec §7: a client a supplier registered for its customer names the supplier. */
static void
test_supplied_client(void **state)
{
	char *a = fx_grant(fx_supplied, "test:api", NULL);
	json_t *resp = NULL, *c = issue(a, &resp);
	const json_t *sup = json_object_get(c, "supplier");

	(void)state;
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "consumer"),
							      "ID")), "0192:" FX_ORG_A);
	assert_string_equal(json_string_value(json_object_get(sup, "ID")), "0192:" FX_ORG_S);
	assert_string_equal(json_string_value(json_object_get(sup, "authority")),
			    "iso6523-actorid-upis");
	assert_int_equal(json_object_size(sup), 2);
	assert_null(json_object_get(c, "delegation_source"));
	json_decref(c);
	json_decref(resp);
	free(a);
}

static void
test_replay(void **state)
{
	json_t *resp = NULL;
	char *a, *b;

	/* The same jti in another grant of the same client: refused, not counted. */
	a = fx_grant(fx_keyed, "test:api", "{\"jti\": \"replay-jti\"}");
	b = fx_grant(fx_keyed, "test:api", "{\"jti\": \"replay-jti\", \"scope\": \"test:short\"}");
	json_decref(issue(a, &resp));
	json_decref(resp);
	refused(a, "invalid_grant", "MP-012");
	refused(b, "invalid_grant", "MP-012");
	free(a);
	free(b);
	/* The jti space is per client. */
	a = fx_grant(fx_supplier, "test:deleg", "{\"jti\": \"replay-jti\", \"consumer_org\": \""
		     FX_ORG_C "\"}");
	json_decref(issue(a, &resp));
	json_decref(resp);
	free(a);
	/* Without jti the whole assertion is the key. */
	a = fx_grant(fx_keyed, "test:api", "{\"jti\": null}");
	json_decref(issue(a, &resp));
	json_decref(resp);
	refused(a, "invalid_grant", "MP-012");
	free(a);
	/* A grant refused at a later step is not spent: mended, the jti works. */
	a = fx_grant(fx_keyed, "test:deleg", "{\"jti\": \"mended-jti\"}");
	refused(a, "invalid_scope", "MP-200");
	free(a);
	a = fx_grant(fx_keyed, "test:api", "{\"jti\": \"mended-jti\"}");
	json_decref(issue(a, &resp));
	json_decref(resp);
	free(a);
}

static void
test_handler(void **state)
{
	char *a = fx_grant(fx_keyed, "test:api", NULL), *form = NULL;
	struct treq t;
	json_t *j;

	assert_true(asprintf(&form, "grant_type=%s&assertion=%s", GRANT_TYPE, a) > 0);
	/* Methods and the form. */
	expect_error("GET", form, NULL, 405, "invalid_request", "MP-011");
	expect_error("POST", "grant_type=%zz", NULL, 400, "invalid_request", "MP-011");
	expect_error("POST", "assertion=x", NULL, 400, "invalid_request", "MP-011");
	expect_error("POST", "grant_type=client_credentials", NULL, 400, "unsupported_grant_type",
		     NULL);
	expect_error("POST", "grant_type=authorization_code&code=x", NULL, 400,
		     "unsupported_grant_type", NULL);
	expect_error("POST", "grant_type=" GRANT_TYPE, NULL, 400, "invalid_request", "MP-011");
	expect_error("POST", "grant_type=" GRANT_TYPE "&assertion=", NULL, 400, "invalid_request",
		     "MP-011");
	{
		char *dup = NULL;

		assert_true(asprintf(&dup, "%s&assertion=%s", form, a) > 0);
		expect_error("POST", dup, NULL, 400, "invalid_request", "MP-011");
		free(dup);
	}
	/* No other client authentication (spec §2). */
	{
		char *f2 = NULL;

		assert_true(asprintf(&f2, "%s&client_assertion=x&client_assertion_type=y",
				     form) > 0);
		expect_error("POST", f2, NULL, 400, "invalid_request", "MP-011");
		free(f2);
		assert_true(asprintf(&f2, "%s&client_secret=s", form) > 0);
		expect_error("POST", f2, NULL, 400, "invalid_request", "MP-011");
		free(f2);
	}
	expect_error("POST", form, "Basic Yzpz", 400, "invalid_request", "MP-011");
	/* None of the above consumed the grant: it works now, once. */
	treq_run(&t, "POST", form, NULL);
	assert_int_equal(t.w.status, 200);
	assert_string_equal(treq_header(&t, "Cache-Control"), "no-store");
	j = treq_json(&t);
	assert_non_null(json_object_get(j, "access_token"));
	assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 120);
	json_decref(j);
	treq_free(&t);
	expect_error("POST", form, NULL, 400, "invalid_grant", "MP-012");
	free(form);
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_lifetime_and_audience),
		cmocka_unit_test(test_delegated),
		cmocka_unit_test(test_supplied_client),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_handler),
	};

	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
