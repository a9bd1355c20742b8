/*
 * Tests for oauth/clientauth.c (spec/idporten-oidc.md §9, RFC 6749 §2.3,
 * RFC 7523): each method for its own client, every way of using the wrong
 * one, and forged, replayed, stale and misaddressed client assertions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "token_fixture.h"

#define JWT_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

static EVP_PKEY *key1, *key2;	/* key1 is registered as kid "k1"; key2 is not */

static char *
b64(const void *p, size_t n)
{
	char *out = malloc(b64url_len(n) + 1);

	assert_non_null(out);
	b64url_encode(p, n, out);
	return out;
}

static char *
bn_b64(EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char raw[1024];
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
	n = BN_bn2bin(bn, raw);
	BN_free(bn);
	return b64(raw, (size_t)n);
}

static char *
jwks_of(EVP_PKEY *pk, const char *kid)
{
	char *n = bn_b64(pk, OSSL_PKEY_PARAM_RSA_N), *e = bn_b64(pk, OSSL_PKEY_PARAM_RSA_E);
	json_t *j = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:s}]}", "keys", "kty", "RSA", "kid", kid,
			      "use", "sig", "alg", "RS256", "n", n, "e", e);
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	free(n);
	free(e);
	return s;
}

/* A compact JWS of these header and payload texts, RS256 by pk (or HS256 with hmac_key). */
static char *
jws(EVP_PKEY *pk, const char *hmac_key, const char *hdr, const char *payload)
{
	char *h = b64(hdr, strlen(hdr)), *p = b64(payload, strlen(payload)), *s, *out = NULL;
	char *input = NULL;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);

	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	if (hmac_key != NULL) {
		unsigned int l = 0;

		HMAC(EVP_sha256(), hmac_key, (int)strlen(hmac_key), (unsigned char *)input,
		     strlen(input), sig, &l);
		siglen = l;
	} else {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
		assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input,
						strlen(input)), 1);
		EVP_MD_CTX_free(ctx);
	}
	s = b64(sig, siglen);
	assert_true(asprintf(&out, "%s.%s", input, s) > 0);
	free(h);
	free(p);
	free(s);
	free(input);
	return out;
}

/* Claims of an assertion for client c-jwt, with overrides merged in (null removes). */
static char *
claims(const char *overrides)
{
	int64_t now = time_now();
	static unsigned counter;
	char jti[32];
	json_t *j, *o;
	const char *k;
	json_t *v;
	char *s;

	snprintf(jti, sizeof(jti), "jti-%u", ++counter);
	j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "iss", "c-jwt", "sub", "c-jwt", "aud", FX_ISS,
		      "iat", (json_int_t)now, "exp", (json_int_t)now + 60, "jti", jti);
	if (overrides != NULL) {
		o = json_loads(overrides, 0, NULL);
		assert_non_null(o);
		json_object_foreach(o, k, v) {
			if (json_is_null(v))
				json_object_del(j, k);
			else
				json_object_set(j, k, v);
		}
		json_decref(o);
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static char *
assertion(const char *overrides)
{
	char *c = claims(overrides);
	char *a = jws(key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c);

	free(c);
	return a;
}

/* Authenticate a request with this form and Authorization header. */
static int
auth(struct treq *t, const char *form, const char *authz, const struct client **client,
     const char **amr)
{
	treq_init(t, "POST", "/token", form, authz);
	return oauth_client_auth(&t->r, fx_is, client, amr, &t->e);
}

static void
expect_denied(const char *form, const char *authz, int code, int status, const char *error)
{
	struct treq t;
	const struct client *client = NULL;
	const char *amr = NULL;
	int rc = auth(&t, form, authz, &client, &amr);

	if (rc != code)
		fprintf(stderr, "form %.80s: rc %d (%s)\n", form, rc, t.e.msg);
	assert_int_equal(rc, code);
	assert_null(client);
	assert_int_equal(t.e.status, status);
	assert_string_equal(t.e.oauth, error);
	/* The message is for the client: never the secret. */
	assert_null(strstr(t.e.msg, FX_SECRET));
	treq_free(&t);
}

static void
expect_ok(const char *form, const char *authz, const char *client_id, const char *method)
{
	struct treq t;
	const struct client *client = NULL;
	const char *amr = NULL;
	int rc = auth(&t, form, authz, &client, &amr);

	if (rc != 0)
		fprintf(stderr, "unexpected failure: %s\n", t.e.msg);
	assert_int_equal(rc, 0);
	assert_non_null(client);
	assert_string_equal(client->client_id, client_id);
	assert_string_equal(amr, method);
	reg_client_release(client);
	treq_free(&t);
}

static int
setup(void **state)
{
	char *set, *doc = NULL;

	if (fx_setup(state) != 0)
		return -1;
	key1 = EVP_RSA_gen(2048);
	key2 = EVP_RSA_gen(2048);
	if (key1 == NULL || key2 == NULL)
		return -1;
	fx_client("{\"client_id\":\"c-basic\",\"integration_type\":\"idporten\","
		  "\"token_endpoint_auth_method\":\"client_secret_basic\"}");
	fx_client("{\"client_id\":\"c-post\",\"integration_type\":\"idporten\","
		  "\"token_endpoint_auth_method\":\"client_secret_post\"}");
	fx_client("{\"client_id\":\"c-none\",\"integration_type\":\"idporten\","
		  "\"token_endpoint_auth_method\":\"none\"}");
	fx_client("{\"client_id\":\"c-gone\",\"integration_type\":\"idporten\",\"active\":false,"
		  "\"token_endpoint_auth_method\":\"none\"}");
	fx_client("{\"client_id\":\"c-nokeys\",\"integration_type\":\"idporten\","
		  "\"token_endpoint_auth_method\":\"private_key_jwt\"}");
	set = jwks_of(key1, "k1");
	assert_true(asprintf(&doc, "{\"client_id\":\"c-jwt\",\"integration_type\":\"idporten\","
				   "\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":%s,"
				   "\"jwks_posted\":{\"k1\":%lld}}",
			     set, (long long)time_now()) > 0);
	fx_client(doc);
	free(doc);
	/* The same key posted 13 months ago: past its year (spec/selfservice-api.md §7). */
	assert_true(asprintf(&doc, "{\"client_id\":\"c-stale\",\"integration_type\":\"idporten\","
				   "\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":%s,"
				   "\"jwks_posted\":{\"k1\":%lld}}",
			     set, (long long)(time_now() - 396 * 86400LL)) > 0);
	fx_client(doc);
	free(doc);
	free(set);
	return 0;
}

static int
teardown(void **state)
{
	EVP_PKEY_free(key1);
	EVP_PKEY_free(key2);
	return fx_teardown(state);
}

static void
test_secret_methods(void **state)
{
	(void)state;
	expect_ok("grant_type=x", fx_basic("c-basic", FX_SECRET), "c-basic", "client_secret_basic");
	/* The form may repeat the Basic client_id. */
	expect_ok("client_id=c-basic", fx_basic("c-basic", FX_SECRET), "c-basic",
		  "client_secret_basic");
	expect_ok("client_id=c-post&client_secret=" FX_SECRET, NULL, "c-post", "client_secret_post");
	expect_ok("client_id=c-none", NULL, "c-none", "none");
	/* The scheme name is case-insensitive (RFC 7235 §2.1). */
	{
		char hdr[512];

		snprintf(hdr, sizeof(hdr), "basic %s", fx_basic("c-basic", FX_SECRET) + 6);
		expect_ok("", hdr, "c-basic", "client_secret_basic");
	}
}

static void
test_bad_secrets(void **state)
{
	(void)state;
	expect_denied("", fx_basic("c-basic", "wrong"), ERR_DENIED, 401, "invalid_client");
	expect_denied("", fx_basic("c-basic", FX_SECRET "x"), ERR_DENIED, 401, "invalid_client");
	expect_denied("", fx_basic("c-basic", ""), ERR_DENIED, 401, "invalid_client");
	expect_denied("client_id=c-post&client_secret=", NULL, ERR_DENIED, 401, "invalid_client");
	expect_denied("client_id=c-post&client_secret=nope", NULL, ERR_DENIED, 401,
		      "invalid_client");
	/* Malformed Basic credentials. */
	expect_denied("", "Basic !!!!", ERR_INVAL, 401, "invalid_client");
	expect_denied("", "Basic Yy1iYXNpYw==", ERR_INVAL, 401, "invalid_client"); /* no ':' */
}

static void
test_wrong_method(void **state)
{
	(void)state;
	/* spec §9: exactly the registered method. */
	expect_denied("client_id=c-basic&client_secret=" FX_SECRET, NULL, ERR_DENIED, 401,
		      "invalid_client");
	expect_denied("", fx_basic("c-post", FX_SECRET), ERR_DENIED, 401, "invalid_client");
	expect_denied("client_id=c-basic", NULL, ERR_DENIED, 401, "invalid_client");
	expect_denied("client_id=c-post", NULL, ERR_DENIED, 401, "invalid_client");
	/* A public client presenting a secret is not a public client. */
	expect_denied("", fx_basic("c-none", ""), ERR_DENIED, 401, "invalid_client");
	expect_denied("client_id=c-none&client_secret=x", NULL, ERR_DENIED, 401, "invalid_client");
	/* A secret client trying an assertion. */
	{
		char *a = assertion("{\"iss\":\"c-basic\",\"sub\":\"c-basic\"}"), *form = NULL;

		assert_true(asprintf(&form, "client_id=c-basic&client_assertion_type=" JWT_TYPE
					    "&client_assertion=%s", a) > 0);
		expect_denied(form, NULL, ERR_DENIED, 401, "invalid_client");
		free(form);
		free(a);
	}
}

static void
test_unknown_and_mixed(void **state)
{
	(void)state;
	expect_denied("client_id=nobody", NULL, ERR_DENIED, 401, "invalid_client");
	expect_denied("", fx_basic("nobody", FX_SECRET), ERR_DENIED, 401, "invalid_client");
	expect_denied("client_id=c-gone", NULL, ERR_DENIED, 401, "invalid_client");
	expect_denied("client_id=bad%20id", NULL, ERR_DENIED, 401, "invalid_client");
	expect_denied("grant_type=x", NULL, ERR_DENIED, 401, "invalid_client");
	/* RFC 6749 §2.3: one method per request; spec §9 answers invalid_client. */
	expect_denied("client_secret=" FX_SECRET, fx_basic("c-basic", FX_SECRET), ERR_DENIED, 401,
		      "invalid_client");
	{
		char *a = assertion(NULL), *form = NULL;

		assert_true(asprintf(&form, "client_id=c-jwt&client_secret=x&client_assertion_type="
					    JWT_TYPE "&client_assertion=%s", a) > 0);
		expect_denied(form, NULL, ERR_DENIED, 401, "invalid_client");
		free(form);
		free(a);
	}
	/* Basic and form disagree on the client. */
	expect_denied("client_id=c-post", fx_basic("c-basic", FX_SECRET), ERR_DENIED, 401,
		      "invalid_client");
	/* Duplicated parameters (RFC 6749 §3.1). */
	expect_denied("client_id=c-none&client_id=c-none", NULL, ERR_INVAL, 400, "invalid_request");
	expect_denied("client_id=c-post&client_secret=a&client_secret=" FX_SECRET, NULL, ERR_INVAL,
		      400, "invalid_request");
	/* Half an assertion. */
	expect_denied("client_id=c-jwt&client_assertion_type=" JWT_TYPE, NULL, ERR_INVAL, 400,
		      "invalid_request");
	expect_denied("client_id=c-jwt&client_assertion=a.b.c", NULL, ERR_INVAL, 400,
		      "invalid_request");
}

static void
expect_assertion(const char *a, const char *client_id, bool ok)
{
	char *form = NULL;

	if (client_id != NULL)
		assert_true(asprintf(&form, "client_id=%s&client_assertion_type=" JWT_TYPE
					    "&client_assertion=%s", client_id, a) > 0);
	else
		assert_true(asprintf(&form, "client_assertion_type=" JWT_TYPE
					    "&client_assertion=%s", a) > 0);
	if (ok)
		expect_ok(form, NULL, client_id ? client_id : "c-jwt", "private_key_jwt");
	else
		expect_denied(form, NULL, ERR_DENIED, 401, "invalid_client");
	free(form);
}

/* Refused with invalid_client, for the reason why names. */
static void
expect_assertion_why(const char *a, const char *client_id, const char *why)
{
	struct treq t;
	const struct client *client = NULL;
	const char *amr = NULL;
	char *form = NULL;

	assert_true(asprintf(&form, "client_id=%s&client_assertion_type=" JWT_TYPE
				    "&client_assertion=%s", client_id, a) > 0);
	assert_int_equal(auth(&t, form, NULL, &client, &amr), ERR_DENIED);
	assert_null(client);
	assert_string_equal(t.e.oauth, "invalid_client");
	if (strstr(t.e.msg, why) == NULL)
		fprintf(stderr, "refused for another reason: %s\n", t.e.msg);
	assert_non_null(strstr(t.e.msg, why));
	treq_free(&t);
	free(form);
}

static void
test_assertion_ok(void **state)
{
	char *a;

	(void)state;
	a = assertion(NULL);
	expect_assertion(a, "c-jwt", true);
	free(a);
	a = assertion("{\"aud\":\"" FX_TOKEN_EP "\"}");
	expect_assertion(a, "c-jwt", true);
	free(a);
	a = assertion("{\"aud\":[\"https://other.example\",\"" FX_ISS "\"]}");
	expect_assertion(a, "c-jwt", true);
	free(a);
	/* Without client_id the client is the assertion's iss (RFC 7523 §3). */
	a = assertion(NULL);
	expect_assertion(a, NULL, true);
	free(a);
}

/* An assertion with this aud, sent to path: 0 or the refusal's code. */
static int
aud_at(const char *path, const char *aud)
{
	struct treq t;
	const struct client *client = NULL;
	const char *amr = NULL;
	char over[256], *a, *form = NULL;
	int rc;

	snprintf(over, sizeof(over), "{\"aud\":\"%s\"}", aud);
	a = assertion(over);
	assert_true(asprintf(&form, "client_id=c-jwt&client_assertion_type=" JWT_TYPE
				    "&client_assertion=%s", a) > 0);
	treq_init(&t, "POST", path, form, NULL);
	rc = oauth_client_auth(&t.r, fx_is, &client, &amr, &t.e);
	reg_client_release(client);
	treq_free(&t);
	free(form);
	free(a);
	return rc;
}

/*
 * spec §9: aud is the issuer or the token endpoint, wherever the assertion
 * is sent; at PAR also the PAR endpoint (RFC 9126 §2), and nowhere else the
 * URL of the endpoint called.
 */
static void
test_assertion_aud_per_endpoint(void **state)
{
	static const char *const paths[] = { "/token", "/par", "/revoke", "/token/introspect",
					     "/tokeninfo", NULL };

	(void)state;
	for (size_t i = 0; paths[i] != NULL; i++) {
		assert_int_equal(aud_at(paths[i], FX_ISS), 0);
		assert_int_equal(aud_at(paths[i], FX_TOKEN_EP), 0);
	}
	assert_int_equal(aud_at("/par", FX_ISS "/par"), 0);
	assert_int_equal(aud_at("/token", FX_ISS "/par"), ERR_DENIED);
	assert_int_equal(aud_at("/revoke", FX_ISS "/revoke"), ERR_DENIED);
	assert_int_equal(aud_at("/revoke", FX_ISS "/par"), ERR_DENIED);
	assert_int_equal(aud_at("/token/introspect", FX_ISS "/token/introspect"), ERR_DENIED);
	assert_int_equal(aud_at("/tokeninfo", FX_ISS "/tokeninfo"), ERR_DENIED);
}

static void
test_assertion_replay(void **state)
{
	char *a = assertion(NULL);

	(void)state;
	expect_assertion(a, "c-jwt", true);
	/* The very same assertion again: jti remembered. */
	expect_assertion(a, "c-jwt", false);
	free(a);
	/* A fresh assertion reusing the jti. */
	a = assertion("{\"jti\":\"fixed-jti\"}");
	expect_assertion(a, "c-jwt", true);
	free(a);
	a = assertion("{\"jti\":\"fixed-jti\"}");
	expect_assertion(a, "c-jwt", false);
	free(a);
}

static void
test_assertion_claims(void **state)
{
	static const char *const bad[] = {
		"{\"aud\":\"https://other.example\"}",
		"{\"aud\":\"" FX_ISS "/\"}",
		"{\"aud\":[\"https://other.example\"]}",
		"{\"aud\":null}",
		"{\"aud\":42}",
		"{\"iss\":\"c-basic\"}",
		"{\"sub\":\"someone\"}",
		"{\"sub\":null}",
		"{\"iss\":null}",
		"{\"jti\":null}",
		"{\"jti\":\"\"}",
		"{\"jti\":7}",
		"{\"exp\":null}",
		"{\"iat\":null}",
		"{\"exp\":\"soon\"}",
		NULL,
	};
	int64_t now = time_now();
	char over[256];
	char *a;

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++) {
		a = assertion(bad[i]);
		expect_assertion(a, "c-jwt", false);
		free(a);
	}
	/* Expired, issued in the future, or living longer than 120 s (spec §9). */
	snprintf(over, sizeof(over), "{\"iat\":%lld,\"exp\":%lld}", (long long)now - 200,
		 (long long)now - 100);
	a = assertion(over);
	expect_assertion(a, "c-jwt", false);
	free(a);
	snprintf(over, sizeof(over), "{\"iat\":%lld,\"exp\":%lld}", (long long)now + 300,
		 (long long)now + 360);
	a = assertion(over);
	expect_assertion(a, "c-jwt", false);
	free(a);
	snprintf(over, sizeof(over), "{\"iat\":%lld,\"exp\":%lld}", (long long)now,
		 (long long)now + 121);
	a = assertion(over);
	expect_assertion(a, "c-jwt", false);
	free(a);
	snprintf(over, sizeof(over), "{\"nbf\":%lld}", (long long)now + 100);
	a = assertion(over);
	expect_assertion(a, "c-jwt", false);
	free(a);
	/* Named client differs from iss/sub. */
	a = assertion(NULL);
	expect_assertion(a, "c-stale", false);
	free(a);
}

static void
test_assertion_forged(void **state)
{
	char *c = claims(NULL), *a;
	char *pub = jwks_of(key1, "k1");
	json_t *set = json_loads(pub, 0, NULL);
	const char *n = json_string_value(json_object_get(json_array_get(json_object_get(set, "keys"), 0), "n"));

	(void)state;
	/* Signed by an unregistered key under the registered kid. */
	a = jws(key2, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c);
	expect_assertion(a, "c-jwt", false);
	free(a);
	/* Unknown kid, missing kid. */
	a = jws(key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k9\"}", c);
	expect_assertion(a, "c-jwt", false);
	free(a);
	a = jws(key1, NULL, "{\"alg\":\"RS256\"}", c);
	expect_assertion(a, "c-jwt", false);
	free(a);
	/* alg none and HS256 keyed with the public modulus (algorithm confusion). */
	a = jws(key1, NULL, "{\"alg\":\"none\",\"kid\":\"k1\"}", c);
	expect_assertion(a, "c-jwt", false);
	free(a);
	a = jws(NULL, n, "{\"alg\":\"HS256\",\"kid\":\"k1\"}", c);
	expect_assertion(a, "c-jwt", false);
	free(a);
	/* x5c: business certificates not supported yet, and never with keys registered. */
	a = jws(key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x5c\":[\"MIIB\"]}", c);
	expect_assertion(a, "c-jwt", false);
	free(a);
	free(c);
	c = claims("{\"iss\":\"c-nokeys\",\"sub\":\"c-nokeys\"}");
	a = jws(key1, NULL, "{\"alg\":\"RS256\",\"x5c\":[\"MIIB\"]}", c);
	expect_assertion(a, "c-nokeys", false);
	free(a);
	a = jws(key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c);
	expect_assertion(a, "c-nokeys", false);
	free(a);
	free(c);
	/* A key past its year. */
	c = claims("{\"iss\":\"c-stale\",\"sub\":\"c-stale\"}");
	a = jws(key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c);
	expect_assertion(a, "c-stale", false);
	free(a);
	/*
	 * Keys past their year are still registered keys: no certificate in
	 * x5c instead (spec §9), the rule Maskinporten's grant follows too.
	 */
	a = jws(key1, NULL, "{\"alg\":\"RS256\",\"x5c\":[\"MIIB\"]}", c);
	expect_assertion_why(a, "c-stale", "sign with kid");
	free(a);
	free(c);
	/* Garbage. */
	expect_assertion("not-a-jwt", "c-jwt", false);
	expect_assertion("a.b.c", "c-jwt", false);
	expect_assertion("a.b.c", NULL, false);
	expect_assertion("..", NULL, false);
	/* Wrong assertion type. */
	a = assertion(NULL);
	{
		char *form = NULL;

		assert_true(asprintf(&form, "client_id=c-jwt&client_assertion_type=urn%%3Aietf%%3A"
					    "params%%3Aoauth%%3Aclient-assertion-type%%3Asaml2-bearer"
					    "&client_assertion=%s", a) > 0);
		expect_denied(form, NULL, ERR_DENIED, 401, "invalid_client");
		free(form);
	}
	free(a);
	json_decref(set);
	free(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_methods),
		cmocka_unit_test(test_bad_secrets),
		cmocka_unit_test(test_wrong_method),
		cmocka_unit_test(test_unknown_and_mixed),
		cmocka_unit_test(test_assertion_ok),
		cmocka_unit_test(test_assertion_aud_per_endpoint),
		cmocka_unit_test(test_assertion_replay),
		cmocka_unit_test(test_assertion_claims),
		cmocka_unit_test(test_assertion_forged),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
