/*
 * Tests for oauth/bearer.c: a Maskinporten access token presented to an
 * API inside Porten (spec/maskinporten.md §12, RFC 6750 §2.1 and §3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include <cmocka.h>

#include "../maskinporten/mp_fixture.h"
#include "oauth/oauth.h"

#define API_AUD "https://api.example.no/"

struct call {
	struct http_req r;
	struct http_resp w;
	struct oauth_bearer b;
	struct err e;
	int rc;
};

static void
call_check(struct call *c, const struct issuer *is, const char *authz, const char *aud)
{
	memset(c, 0, sizeof(*c));
	c->r.arena = arena_new();
	assert_non_null(c->r.arena);
	c->r.method = "POST";
	c->r.path = str_c("/api");
	if (authz != NULL) {
		c->r.headers.v = arena_alloc(c->r.arena, sizeof(struct http_param));
		c->r.headers.v[0].name = STR_LIT("authorization");
		c->r.headers.v[0].value = str_c(authz);
		c->r.headers.n = 1;
	}
	memcpy(c->r.rid, "rid-test-0000002", 17);
	c->r.app = &fx_app;
	http_resp_init(&c->w, c->r.arena);
	c->rc = oauth_bearer_check(&c->r, is, aud, &c->b, &c->e);
}

static const char *
call_header(const struct call *c, const char *name)
{
	for (size_t i = 0; i < c->w.nheaders; i++)
		if (strcasecmp(c->w.headers[i].name, name) == 0)
			return c->w.headers[i].value;
	return NULL;
}

static void
call_free(struct call *c)
{
	oauth_bearer_release(&c->b);
	http_resp_free(&c->w);
	arena_free(c->r.arena);
}

/* "Bearer " + a token the Maskinporten issuer gives fx_keyed for scope (malloc'd). */
static char *
issued(const char *scope, const char *overrides)
{
	return fx_bearer(fx_grant(fx_keyed, scope, overrides));
}

/* "Bearer " + claims signed by the issuer's own key, for claims no grant gives. */
static char *
signed_by_issuer(const char *claims_json)
{
	const struct jose_signer *s = NULL;
	struct err e = { 0 };
	json_t *cl = json_loads(claims_json, 0, NULL);
	char *jws = NULL, *h = NULL;

	assert_non_null(cl);
	assert_int_equal(reg_keys_signing(&fx_app, fx_mp, &s, &e), 0);
	assert_int_equal(jose_jwt_sign(s, cl, NULL, &jws, &e), 0);
	assert_true(asprintf(&h, "Bearer %s", jws) > 0);
	free(jws);
	json_decref(cl);
	return h;
}

static char *
claims_with(const char *iss, int64_t exp, const char *consumer, const char *aud)
{
	char *j = NULL;

	assert_true(asprintf(&j,
			     "{\"iss\":\"%s\",\"client_id\":\"c1\",\"scope\":\"test:api\","
			     "\"iat\":%lld,\"exp\":%lld%s%s%s%s%s%s}",
			     iss, (long long)time_now() - 10, (long long)exp,
			     consumer ? ",\"consumer\":{\"authority\":\"iso6523-actorid-upis\","
					"\"ID\":\"" : "",
			     consumer ? consumer : "", consumer ? "\"}" : "",
			     aud ? ",\"aud\":\"" : "", aud ? aud : "", aud ? "\"" : "") > 0);
	return j;
}

static void
expect_refused(const char *authz, const char *aud, int status, const char *error)
{
	struct call c;

	call_check(&c, fx_mp, authz, aud);
	assert_int_not_equal(c.rc, 0);
	assert_null(c.b.claims);
	oauth_bearer_refuse(&c.r, &c.w, &c.e, NULL);
	assert_int_equal(c.w.status, status);
	assert_non_null(call_header(&c, "WWW-Authenticate"));
	if (error != NULL)
		assert_non_null(strstr(call_header(&c, "WWW-Authenticate"), error));
	else
		assert_null(strstr(call_header(&c, "WWW-Authenticate"), "error="));
	call_free(&c);
}

static void
test_good_token(void **state)
{
	char *h = issued("test:api", NULL);
	struct call c;

	(void)state;
	call_check(&c, fx_mp, h, API_AUD);
	assert_int_equal(c.rc, 0);
	assert_ptr_equal(c.b.issuer, fx_mp);
	assert_string_equal(c.b.consumer, FX_ORG_A);
	assert_null(c.b.supplier);
	assert_string_equal(c.b.client_id, fx_keyed);
	assert_string_equal(c.b.scope, "test:api");
	assert_true(oauth_bearer_has(&c.b, "test:api"));
	assert_false(oauth_bearer_has(&c.b, "test"));
	assert_false(oauth_bearer_has(&c.b, "test:api2"));
	assert_true(c.b.exp > time_now());
	call_free(&c);
	free(h);
}

static void
test_no_or_malformed_header(void **state)
{
	(void)state;
	/* RFC 6750 §3.1: no credentials, no error code in the challenge. */
	expect_refused(NULL, NULL, 401, NULL);
	expect_refused("Bearer a b", NULL, 400, "invalid_request");
	expect_refused("Bearer", NULL, 400, "invalid_request");
}

static void
test_forged(void **state)
{
	char *h = issued("test:api", NULL), *t;
	size_t n = strlen(h);

	(void)state;
	/* The signature's last character changed. */
	t = strdup(h);
	t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
	expect_refused(t, NULL, 401, "invalid_token");
	free(t);
	/* Not a JWS at all. */
	expect_refused("Bearer abc.def.ghi", NULL, 401, "invalid_token");
	expect_refused("Bearer opaque-token", NULL, 401, "invalid_token");
	free(h);
}

static void
test_claims_checked(void **state)
{
	int64_t now = time_now();
	char *j, *h;

	(void)state;
	/* The control: the issuer's key, good claims. */
	j = claims_with(FX_MP, now + 60, "0192:" FX_ORG_B, NULL);
	h = signed_by_issuer(j);
	{
		struct call c;

		call_check(&c, fx_mp, h, API_AUD);
		assert_int_equal(c.rc, 0);
		assert_string_equal(c.b.consumer, FX_ORG_B);
		call_free(&c);
	}
	free(h);
	free(j);
	/* Expired a second ago: no leeway at the resource. */
	j = claims_with(FX_MP, now - 1, "0192:" FX_ORG_B, NULL);
	h = signed_by_issuer(j);
	expect_refused(h, NULL, 401, "invalid_token");
	free(h);
	free(j);
	/* Another issuer's name, even under this issuer's key. */
	j = claims_with(FX_IDP, now + 60, "0192:" FX_ORG_B, NULL);
	h = signed_by_issuer(j);
	expect_refused(h, NULL, 401, "invalid_token");
	free(h);
	free(j);
	/* No consumer, or one that is not an organisation number claim. */
	j = claims_with(FX_MP, now + 60, NULL, NULL);
	h = signed_by_issuer(j);
	expect_refused(h, NULL, 401, "invalid_token");
	free(h);
	free(j);
	j = claims_with(FX_MP, now + 60, FX_ORG_B, NULL);
	h = signed_by_issuer(j);
	expect_refused(h, NULL, 401, "invalid_token");
	free(h);
	free(j);
	/* An audience: checked when both name one. */
	j = claims_with(FX_MP, now + 60, "0192:" FX_ORG_B, "https://other.example.no/");
	h = signed_by_issuer(j);
	expect_refused(h, API_AUD, 401, "invalid_token");
	{
		struct call c;

		call_check(&c, fx_mp, h, NULL);
		assert_int_equal(c.rc, 0);
		call_free(&c);
		call_check(&c, fx_mp, h, "https://other.example.no/");
		assert_int_equal(c.rc, 0);
		call_free(&c);
	}
	free(h);
	free(j);
}

static void
test_insufficient_scope(void **state)
{
	char *h = issued("test:api", NULL);
	struct call c;

	(void)state;
	call_check(&c, fx_mp, h, NULL);
	assert_int_equal(c.rc, 0);
	assert_false(oauth_bearer_has(&c.b, "krr:global/digitalpost.read"));
	assert_int_equal(oauth_bearer_insufficient(&c.e, "krr:global/digitalpost.read"), ERR_DENIED);
	oauth_bearer_refuse(&c.r, &c.w, &c.e, "krr:global/digitalpost.read");
	assert_int_equal(c.w.status, 403);
	assert_string_equal(call_header(&c, "WWW-Authenticate"),
			    "Bearer realm=\"porten\", error=\"insufficient_scope\", "
			    "scope=\"krr:global/digitalpost.read\"");
	call_free(&c);
	free(h);
}

static void
test_no_issuer(void **state)
{
	char *h = issued("test:api", NULL);
	struct call c;

	(void)state;
	call_check(&c, NULL, h, NULL);
	assert_int_equal(c.rc, ERR_UNAVAILABLE);
	oauth_bearer_refuse(&c.r, &c.w, &c.e, NULL);
	assert_int_equal(c.w.status, 503);
	assert_null(call_header(&c, "WWW-Authenticate"));
	call_free(&c);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_token),
		cmocka_unit_test(test_no_or_malformed_header),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_claims_checked),
		cmocka_unit_test(test_insufficient_scope),
		cmocka_unit_test(test_no_issuer),
	};

	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
