/*
 * Tests for maskinporten/grant.c (spec/maskinporten.md §3-§5, §8-§11):
 * grants that pass, and for every rule a grant that breaks it, with the
 * OAuth error and the MP code the spec gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "maskinporten/mp_int.h"
#include "mp_fixture.h"

/* Validate and expect success; the caller clears g. */
static void
ok(const char *assertion, struct mp_grant *g)
{
	struct err e = { 0 };
	int rc = mp_grant_validate(&fx_app, fx_mp, str_c(assertion), time_now(), g, &e);

	if (rc != 0)
		print_error("refused: %s: %s\n", e.oauth ? e.oauth : "-", e.msg);
	assert_int_equal(rc, 0);
}

/* Validate and expect error (and the MP code, when code is non-NULL, at the start). */
static void
bad_at(const char *assertion, int64_t now, const char *error, const char *code)
{
	struct mp_grant g;
	struct err e = { 0 };
	int rc = mp_grant_validate(&fx_app, fx_mp, str_c(assertion), now, &g, &e);

	if (rc == 0 || e.oauth == NULL || strcmp(e.oauth, error) != 0 ||
	    (code != NULL && strncmp(e.msg, code, strlen(code)) != 0))
		print_error("expected %s %s, got rc %d %s: %s\n", error, code ? code : "",
			    rc, e.oauth ? e.oauth : "-", e.msg);
	assert_int_not_equal(rc, 0);
	assert_string_equal(e.oauth, error);
	assert_int_equal(e.status, 400);
	if (code != NULL)
		assert_int_equal(strncmp(e.msg, code, strlen(code)), 0);
	assert_null(g.client);
	assert_null(g.scopes);
}

static void
bad(char *assertion, const char *error, const char *code)
{
	bad_at(assertion, time_now(), error, code);
	free(assertion);
}

static void
test_registered_key(void **state)
{
	struct mp_grant g;
	char *a = fx_grant(fx_keyed, "test:api test:short test:api", NULL);

	ok(a, &g);
	assert_string_equal(g.client_id, fx_keyed);
	assert_string_equal(g.client_amr, "private_key_jwt");
	assert_string_equal(g.consumer, FX_ORG_A);
	assert_string_equal(g.supplier, "");
	assert_null(g.delegation_source);
	assert_null(g.resource);
	assert_null(g.pid);
	/* duplicates dropped, request order kept */
	assert_int_equal(json_array_size(g.scopes), 2);
	assert_string_equal(json_string_value(json_array_get(g.scopes, 1)), "test:short");
	assert_non_null(json_object_get(g.scope_docs, "test:short"));
	mp_grant_clear(&g);
	mp_grant_clear(&g);
	mp_grant_clear(NULL);
	/* Validation spends nothing (mp_token_issue does): the grant passes again. */
	ok(a, &g);
	mp_grant_clear(&g);
	free(a);
}

static void
test_business_certificate(void **state)
{
	struct mp_grant g;
	char *a = fx_cert_grant(fx_certified, fx_x5c_valid, "test:api", NULL);

	ok(a, &g);
	assert_string_equal(g.client_amr, "virksomhetssertifikat");
	assert_string_equal(g.consumer, FX_ORG_A);
	mp_grant_clear(&g);
	free(a);
	/* spec §10: admin scopes need the certificate; a registered key is not enough. */
	a = fx_cert_grant(fx_certified, fx_x5c_valid, "idporten:dcr.read", NULL);
	ok(a, &g);
	mp_grant_clear(&g);
	free(a);
	bad(fx_grant(fx_keyed, "idporten:dcr.read", NULL), "invalid_scope", "MP-201");
}

static void
test_certificate_refused(void **state)
{
	char *a;

	bad(fx_cert_grant(fx_certified, fx_x5c_revoked, "test:api", NULL), "invalid_grant",
	    "MP-120");
	bad(fx_cert_grant(fx_certified, fx_x5c_expired, "test:api", NULL), "invalid_grant",
	    "MP-120");
	bad(fx_cert_grant(fx_certified, fx_x5c_wrong_org, "test:api", NULL), "invalid_grant",
	    "MP-122");
	/* spec §3 (design): a client with keys must use kid. */
	bad(fx_cert_grant(fx_keyed, fx_x5c_valid, "test:api", NULL), "invalid_grant", "MP-120");
	/* spec §3: x5c must be an array (MP-123). */
	bad(fx_cert_grant(fx_certified, "\"MIIB\"", "test:api", NULL), "invalid_grant", "MP-123");
	bad(fx_cert_grant(fx_certified, "[\"@@@@\"]", "test:api", NULL), "invalid_grant", "MP-123");
	bad(fx_cert_grant(fx_certified, "[]", "test:api", NULL), "invalid_grant", "MP-123");
	bad(fx_cert_grant(fx_certified, "{}", "test:api", NULL), "invalid_grant", "MP-123");
	/* A valid certificate, but the grant signed by another key. */
	{
		char *c = fx_claims(fx_certified, "test:api", time_now(), NULL), *h = NULL;

		assert_true(asprintf(&h, "{\"alg\":\"RS256\",\"x5c\":%s}", fx_x5c_valid) > 0);
		a = fx_jws(fx_key2, NULL, h, c);
		bad(a, "invalid_grant", "MP-124");
		free(c);
		free(h);
	}
	/* Without trust anchors no certificate is accepted. */
	reg_trust_cleanup();
	free(fx_cfg.maskinporten_ca);
	fx_cfg.maskinporten_ca = NULL;
	bad(fx_cert_grant(fx_certified, fx_x5c_valid, "test:api", NULL), "invalid_grant", "MP-120");
	fx_cfg.maskinporten_ca = strdup(fx_path("root.pem"));
}

static void
test_header(void **state)
{
	char *c = fx_claims(fx_keyed, "test:api", time_now(), NULL), *h;
	char *x5c_and_kid = NULL;

	/* Step 1: not a compact JWS. */
	bad(strdup("a.b"), "invalid_request", "MP-011");
	bad(strdup("a.b.c.d"), "invalid_request", "MP-011");
	bad(strdup("!!.??.**"), "invalid_request", "MP-011");
	bad(strdup(""), "invalid_request", "MP-011");
	/* Hostile: one byte over the bound, refused before any decoding. */
	{
		char *big = malloc(MP_ASSERTION_MAX + 2);

		assert_non_null(big);
		memset(big, 'a', MP_ASSERTION_MAX + 1);
		big[1] = big[3] = '.';
		big[MP_ASSERTION_MAX + 1] = '\0';
		bad(big, "invalid_request", "MP-011");
	}
	h = malloc(20000);
	memset(h, 'a', 19999);
	h[19999] = '\0';
	bad(h, "invalid_request", "MP-011");
	/* Step 2: RS256/384/512 only; no none, no HMAC with the public key. */
	bad(fx_jws(fx_key1, NULL, "{\"alg\":\"none\",\"kid\":\"k1\"}", c), "invalid_grant", NULL);
	bad(fx_jws(NULL, "k1", "{\"alg\":\"HS256\",\"kid\":\"k1\"}", c), "invalid_grant", NULL);
	bad(fx_jws(fx_key1, NULL, "{\"alg\":\"PS256\",\"kid\":\"k1\"}", c), "invalid_grant", NULL);
	bad(fx_jws(fx_key1, NULL, "{\"kid\":\"k1\"}", c), "invalid_grant", NULL);
	bad(fx_jws(fx_key1, NULL, "{\"alg\":[\"RS256\"],\"kid\":\"k1\"}", c), "invalid_grant",
	    NULL);
	/* An unsecured JWS: empty signature. */
	{
		static const char none[] = "{\"alg\":\"none\"}";
		char *hb = fx_b64(none, strlen(none)), *pb = fx_b64(c, strlen(c)), *u = NULL;

		assert_true(asprintf(&u, "%s.%s.", hb, pb) > 0);
		bad(u, "invalid_grant", NULL);
		free(hb);
		free(pb);
	}
	/* Exactly one of kid and x5c. */
	bad(fx_jws(fx_key1, NULL, "{\"alg\":\"RS256\"}", c), "invalid_grant", NULL);
	assert_true(asprintf(&x5c_and_kid, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x5c\":%s}",
			     fx_x5c_valid) > 0);
	bad(fx_jws(fx_key1, NULL, x5c_and_kid, c), "invalid_grant", NULL);
	/* A header that repeats a member. */
	bad(fx_jws(fx_key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"kid\":\"k2\"}", c),
	    "invalid_request", "MP-011");
	/* Unknown kid, wrong key, kid not a string. */
	bad(fx_jws(fx_key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k9\"}", c), "invalid_grant",
	    "MP-124");
	bad(fx_jws(fx_key2, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c), "invalid_grant",
	    "MP-124");
	bad(fx_jws(fx_key1, NULL, "{\"alg\":\"RS256\",\"kid\":1}", c), "invalid_grant", "MP-124");
	/* The key is registered for RS256: RS512 with it is refused (alg pinned to the key). */
	{
		static const char rs512[] = "{\"alg\":\"RS512\",\"kid\":\"k1\"}";
		char *hb = fx_b64(rs512, strlen(rs512)), *pb = fx_b64(c, strlen(c));
		char *input = NULL, *sig, *out = NULL;
		unsigned char raw[512];
		size_t rl = sizeof(raw);
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		assert_true(asprintf(&input, "%s.%s", hb, pb) > 0);
		assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha512(), NULL, fx_key1), 1);
		assert_int_equal(EVP_DigestSign(ctx, raw, &rl, (unsigned char *)input,
						strlen(input)), 1);
		sig = fx_b64(raw, rl);
		assert_true(asprintf(&out, "%s.%s", input, sig) > 0);
		bad(out, "invalid_grant", "MP-124");
		EVP_MD_CTX_free(ctx);
		free(hb);
		free(pb);
		free(input);
		free(sig);
	}
	free(x5c_and_kid);
	free(c);
}

static void
test_client_and_aud(void **state)
{
	struct mp_grant g;
	char *a;

	bad(fx_grant("no-such-client", "test:api", NULL), "invalid_grant", "MP-100");
	bad(fx_grant(fx_keyed, "test:api", "{\"iss\": null}"), "invalid_grant", "MP-100");
	bad(fx_grant(fx_keyed, "test:api", "{\"iss\": 5}"), "invalid_grant", "MP-100");
	bad(fx_grant(fx_keyed, "test:api", "{\"aud\": \"" FX_IDP "\"}"), "invalid_grant", "MP-110");
	bad(fx_grant(fx_keyed, "test:api", "{\"aud\": \"" FX_MP "token\"}"), "invalid_grant",
	    "MP-110");
	bad(fx_grant(fx_keyed, "test:api", "{\"aud\": null}"), "invalid_grant", "MP-110");
	bad(fx_grant(fx_keyed, "test:api", "{\"aud\": [\"" FX_MP "\", \"x\"]}"), "invalid_grant",
	    "MP-110");
	/* spec §4 (design): with or without the trailing slash; a one-element array. */
	a = fx_grant(fx_keyed, "test:api", "{\"aud\": \"https://idporten.test/maskinporten\"}");
	ok(a, &g);
	mp_grant_clear(&g);
	free(a);
	a = fx_grant(fx_keyed, "test:api", "{\"aud\": [\"" FX_MP "\"]}");
	ok(a, &g);
	mp_grant_clear(&g);
	free(a);
	/* Step 9: an ID-porten client is not served here. */
	bad(fx_grant(fx_apiklient, "openid", NULL), "unauthorized_client", NULL);
}

static void
test_times(void **state)
{
	int64_t now = time_now();
	char *c, *a;

	/* iat more than 10 s ahead. */
	c = fx_claims(fx_keyed, "test:api", now + 30, NULL);
	a = fx_jws(fx_key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c);
	bad_at(a, now, "invalid_grant", "Issue time is after now");
	free(a);
	free(c);
	/* ... but 10 s of skew is fine. */
	c = fx_claims(fx_keyed, "test:api", now + 9, NULL);
	a = fx_jws(fx_key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c);
	{
		struct mp_grant g;

		ok(a, &g);
		mp_grant_clear(&g);
	}
	free(a);
	free(c);
	/* Expired; lifetime over 120 s; exp before iat; missing or odd times. */
	bad(fx_grant(fx_keyed, "test:api", "{\"iat\": 1000, \"exp\": 1060}"), "invalid_grant",
	    "MP-130");
	{
		char over[96];

		/* Well past 120 s, so a slow run (valgrind) cannot slip under the limit. */
		snprintf(over, sizeof(over), "{\"exp\": %lld}", (long long)now + 150);
		bad(fx_grant(fx_keyed, "test:api", over), "invalid_grant", "MP-130");
		snprintf(over, sizeof(over), "{\"exp\": %lld}", (long long)now - 1);
		bad(fx_grant(fx_keyed, "test:api", over), "invalid_grant", "MP-130");
		snprintf(over, sizeof(over), "{\"nbf\": %lld}", (long long)now + 60);
		bad(fx_grant(fx_keyed, "test:api", over), "invalid_grant", "MP-130");
	}
	/*
	 * spec §4/§5 step 7: exp must not be in the past. The 10 s of skew are
	 * for iat only: a grant whose exp has passed, by however little, is
	 * refused (signed 60 s ago, expired 1 s and 9 s ago, expiring now).
	 */
	{
		static const int64_t past[] = { 1, 9, 0 };

		for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
			char o[64];

			snprintf(o, sizeof(o), "{\"exp\": %lld}", (long long)(now - past[i]));
			c = fx_claims(fx_keyed, "test:api", now - 60, o);
			a = fx_jws(fx_key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c);
			bad_at(a, now, "invalid_grant", "MP-130");
			free(a);
			free(c);
		}
	}
	bad(fx_grant(fx_keyed, "test:api", "{\"exp\": null}"), "invalid_grant", "MP-130");
	bad(fx_grant(fx_keyed, "test:api", "{\"iat\": null}"), "invalid_grant", "MP-130");
	bad(fx_grant(fx_keyed, "test:api", "{\"iat\": \"now\"}"), "invalid_grant", "MP-130");
	bad(fx_grant(fx_keyed, "test:api", "{\"exp\": -5}"), "invalid_grant", "MP-130");
}

static void
test_key_expiry(void **state)
{
	/* spec §11: a registered key lives one year from posting (MP-121). */
	int64_t later = time_now() + 366 * 86400LL;
	char *c = fx_claims(fx_keyed, "test:api", later, NULL);
	char *a = fx_jws(fx_key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c);

	bad_at(a, later, "invalid_grant", "MP-121");
	free(a);
	free(c);
}

/* The key each grant is spent under (spending is mp_token_issue's: test_token.c). */
static void
key_of(const char *assertion, char key[OAUTH_REPLAY_KEY_MAX])
{
	struct mp_grant g;

	ok(assertion, &g);
	assert_true(g.replay_until > time_now());
	memcpy(key, g.replay_key, OAUTH_REPLAY_KEY_MAX);
	mp_grant_clear(&g);
}

static void
test_replay(void **state)
{
	char k1[OAUTH_REPLAY_KEY_MAX], k2[OAUTH_REPLAY_KEY_MAX], k3[OAUTH_REPLAY_KEY_MAX];
	char *a, *b;

	/* The same jti in another grant of the same client: the same key. */
	a = fx_grant(fx_keyed, "test:api", "{\"jti\": \"fixed-jti\"}");
	b = fx_grant(fx_keyed, "test:api", "{\"jti\": \"fixed-jti\", \"scope\": \"test:short\"}");
	key_of(a, k1);
	key_of(b, k2);
	assert_string_equal(k1, k2);
	/* Validation writes nothing: the same grant passes again. */
	key_of(a, k2);
	assert_string_equal(k1, k2);
	free(a);
	free(b);
	/* The jti space is per client. */
	a = fx_grant(fx_supplier, "test:deleg", "{\"jti\": \"fixed-jti\", \"consumer_org\": \""
		     FX_ORG_C "\"}");
	key_of(a, k3);
	assert_string_not_equal(k1, k3);
	free(a);
	/* Without jti the whole assertion is the key. */
	a = fx_grant(fx_keyed, "test:api", "{\"jti\": null}");
	b = fx_grant(fx_keyed, "test:short", "{\"jti\": null}");
	key_of(a, k1);
	key_of(b, k2);
	assert_non_null(strchr(k1, '#'));
	assert_string_not_equal(k1, k2);
	free(a);
	free(b);
	bad(fx_grant(fx_keyed, "test:api", "{\"jti\": 7}"), "invalid_request", "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"jti\": \"\"}"), "invalid_request", "MP-011");
	/* Hostile: a jti over 256 characters. */
	{
		char over[300];

		snprintf(over, sizeof(over), "{\"jti\": \"%0257d\"}", 0);
		bad(fx_grant(fx_keyed, "test:api", over), "invalid_request", "MP-011");
	}
}

static void
test_scopes(void **state)
{
	struct mp_grant g;
	char *a;

	bad(fx_grant(fx_keyed, "test:deleg", NULL), "invalid_scope", "MP-200");
	bad(fx_grant(fx_keyed, "nosuch:scope", NULL), "invalid_scope", "MP-200");
	bad(fx_grant(fx_keyed, "test:off", NULL), "invalid_scope", "MP-200");
	bad(fx_grant(fx_keyed, "test:typed", NULL), "invalid_scope", "MP-201");
	bad(fx_grant(fx_keyed, "test:closed", NULL), "invalid_scope", "MP-250");
	/* No partial grant. */
	bad(fx_grant(fx_keyed, "test:api test:closed", NULL), "invalid_scope", "MP-250");
	bad(fx_grant(fx_keyed, "", NULL), "invalid_request", "MP-011");
	bad(fx_grant(fx_keyed, "   ", NULL), "invalid_request", "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"scope\": null}"), "invalid_request", "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"scope\": [\"test:api\"]}"), "invalid_request",
	    "MP-011");
	bad(fx_grant(fx_keyed, "test:\"api", NULL), "invalid_scope", "MP-200");
	/* Hostile: 101 different scopes; the same one 101 times is one scope. */
	{
		char many[1200] = "", one[16];

		for (int i = 0; i <= 100; i++) {
			snprintf(one, sizeof(one), "%sx:%d", i ? " " : "", i);
			strcat(many, one);
		}
		bad(fx_grant(fx_keyed, many, NULL), "invalid_scope", "MP-200");
		many[0] = '\0';
		for (int i = 0; i <= 100; i++)
			strcat(many, "test:api ");
		a = fx_grant(fx_keyed, many, NULL);
		ok(a, &g);
		assert_int_equal(json_array_size(g.scopes), 1);
		mp_grant_clear(&g);
		free(a);
	}
	/* Access revoked, then granted again. */
	{
		struct err e = { 0 };

		assert_int_equal(reg_scope_access_revoke(&fx_app, "test:api", FX_ORG_A, NULL, &e), 0);
		bad(fx_grant(fx_keyed, "test:api", NULL), "invalid_scope", "MP-250");
		assert_int_equal(reg_scope_access_grant(&fx_app, "test:api", FX_ORG_A, NULL, &e),
				 0);
	}
	a = fx_grant(fx_keyed, "test:api", NULL);
	ok(a, &g);
	mp_grant_clear(&g);
	free(a);
}

static void
test_delegation(void **state)
{
	struct mp_grant g;
	char *a = fx_grant(fx_supplier, "test:deleg", "{\"consumer_org\": \"" FX_ORG_C "\"}");

	ok(a, &g);
	assert_string_equal(g.consumer, FX_ORG_C);
	assert_string_equal(g.supplier, FX_ORG_S);
	assert_string_equal(g.delegation_source, "https://tt02.altinn.no/");
	mp_grant_clear(&g);
	free(a);
	/* Never delegated to this supplier. */
	bad(fx_grant(fx_stranger, "test:deleg", "{\"consumer_org\": \"" FX_ORG_C "\"}"),
	    "invalid_scope", "MP-251");
	/* The supplier itself has no access and no consumer_org: MP-250. */
	bad(fx_grant(fx_supplier, "test:deleg", NULL), "invalid_scope", "MP-250");
	/* consumer_org is the client's own organisation, malformed, or not a string. */
	bad(fx_grant(fx_supplier, "test:deleg", "{\"consumer_org\": \"" FX_ORG_S "\"}"),
	    "invalid_request", NULL);
	bad(fx_grant(fx_supplier, "test:deleg", "{\"consumer_org\": \"123456789\"}"),
	    "invalid_request", "MP-011");
	bad(fx_grant(fx_supplier, "test:deleg", "{\"consumer_org\": 910000047}"),
	    "invalid_request", "MP-011");
	/* A scope without delegation_source cannot be delegated (MP-251). */
	bad(fx_grant(fx_keyed, "test:api", "{\"consumer_org\": \"" FX_ORG_C "\"}"), "invalid_scope",
	    NULL);
	/* Removing the delegation takes effect at once. */
	{
		struct err e = { 0 };

		assert_int_equal(reg_delegation_remove(&fx_app, "test:deleg", FX_ORG_C, FX_ORG_S,
						       &e), 0);
		bad(fx_grant(fx_supplier, "test:deleg", "{\"consumer_org\": \"" FX_ORG_C "\"}"),
		    "invalid_scope", "MP-251");
		assert_int_equal(reg_delegation_add(&fx_app, "test:deleg", FX_ORG_C, FX_ORG_S, NULL,
						    &e), 0);
	}
	/* iss_onbehalfof: only KRR clients (design). */
	bad(fx_grant(fx_keyed, "test:api", "{\"iss_onbehalfof\": \"x\"}"), "invalid_request",
	    "MP-011");
}

/* spec §7: a token has one delegation_source; scopes of one source go together. */
static void
test_delegation_sources(void **state)
{
	struct mp_grant g;
	char *a = fx_grant(fx_supplier, "test:deleg test:deleg.same",
			   "{\"consumer_org\": \"" FX_ORG_C "\"}");

	(void)state;
	ok(a, &g);
	assert_int_equal(json_object_size(g.scope_docs), 2);
	assert_string_equal(g.delegation_source, "https://tt02.altinn.no/");
	mp_grant_clear(&g);
	free(a);
	/* Each alone is delegated; together the token could name only one source. */
	a = fx_grant(fx_supplier, "test:deleg.other", "{\"consumer_org\": \"" FX_ORG_C "\"}");
	ok(a, &g);
	assert_string_equal(g.delegation_source, "https://www.altinn.no/");
	mp_grant_clear(&g);
	free(a);
	bad(fx_grant(fx_supplier, "test:deleg test:deleg.other",
		     "{\"consumer_org\": \"" FX_ORG_C "\"}"),
	    "invalid_scope", "scope test:deleg.other");
	bad(fx_grant(fx_supplier, "test:deleg.other test:deleg.same",
		     "{\"consumer_org\": \"" FX_ORG_C "\"}"), "invalid_scope", NULL);
}

/* spec §8.3: consumer_org only from the supplier's own client, never one it made for another. */
static void
test_delegation_supplied_client(void **state)
{
	struct err e = { 0 };

	(void)state;
	/* Even with a delegation to the client's owner in place. */
	assert_int_equal(reg_delegation_add(&fx_app, "test:deleg", FX_ORG_C, FX_ORG_A, NULL, &e),
			 0);
	bad(fx_grant(fx_supplied, "test:deleg", "{\"consumer_org\": \"" FX_ORG_C "\"}"),
	    "invalid_request", "MP-011");
	assert_int_equal(reg_delegation_remove(&fx_app, "test:deleg", FX_ORG_C, FX_ORG_A, &e), 0);
}

static void
test_optional_claims(void **state)
{
	struct mp_grant g;
	char *a;

	a = fx_grant(fx_keyed, "test:api", "{\"pid\": \"" FX_PID "\", \"resource\": "
		     "[\"https://api.example.no/a\", \"urn:example:b\"], \"sub\": \"ignored\", "
		     "\"colour\": \"blue\"}");
	ok(a, &g);
	assert_string_equal(g.pid, FX_PID);
	assert_int_equal(json_array_size(g.resource), 2);
	mp_grant_clear(&g);
	free(a);
	a = fx_grant(fx_keyed, "test:api", "{\"resource\": \"https://api.example.no/\"}");
	ok(a, &g);
	assert_int_equal(json_array_size(g.resource), 1);
	mp_grant_clear(&g);
	free(a);
	bad(fx_grant(fx_keyed, "test:api", "{\"pid\": \"21879498013\"}"), "invalid_request",
	    "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"pid\": 21879498012}"), "invalid_request", "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"resource\": []}"), "invalid_request", "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"resource\": [\"relative/path\"]}"),
	    "invalid_request", "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"resource\": [\"https://x/#f\"]}"),
	    "invalid_request", "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"resource\": [\"1http://x\"]}"), "invalid_request",
	    "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"resource\": [\"https:\"]}"), "invalid_request",
	    "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"resource\": {\"a\": 1}}"), "invalid_request",
	    "MP-011");
	bad(fx_grant(fx_keyed, "test:api", "{\"resource\": [\"a:1\",\"a:2\",\"a:3\",\"a:4\","
		     "\"a:5\",\"a:6\",\"a:7\",\"a:8\",\"a:9\",\"a:10\",\"a:11\"]}"),
	    "invalid_request", "MP-011");
}

static void
test_authorization_details(void **state)
{
	static const char org[] = "{\"authority\":\"iso6523-actorid-upis\",\"ID\":\"0192:"
				  FX_ORG_C "\"}";
	char over[512];

	bad(fx_grant(fx_keyed, "test:api", "{\"authorization_details\": [{\"type\": \"x\"}]}"),
	    "invalid_authorization_details", "MP-301");
	snprintf(over, sizeof(over), "{\"authorization_details\": [{\"type\": "
		 "\"urn:altinn:systemuser\", \"systemuser_org\": %s, \"extra\": 1}]}", org);
	bad(fx_grant(fx_keyed, "test:api", over), "invalid_authorization_details", "MP-302");
	bad(fx_grant(fx_keyed, "test:api", "{\"authorization_details\": [{\"type\": "
		     "\"urn:altinn:systemuser\", \"systemuser_org\": {\"authority\": \"x\"}}]}"),
	    "invalid_authorization_details", "MP-303");
	bad(fx_grant(fx_keyed, "test:api", "{\"authorization_details\": {}}"),
	    "invalid_authorization_details", "MP-303");
	bad(fx_grant(fx_keyed, "test:api", "{\"authorization_details\": [{}]}"),
	    "invalid_authorization_details", "MP-303");
	snprintf(over, sizeof(over), "{\"authorization_details\": [{\"type\": "
		 "\"urn:altinn:systemuser\", \"systemuser_org\": %s}, {\"type\": "
		 "\"urn:altinn:systemuser\", \"systemuser_org\": %s}]}", org, org);
	bad(fx_grant(fx_keyed, "test:api", over), "invalid_authorization_details", "MP-303");
	/* Well-formed: no system register knows a system user (design). */
	snprintf(over, sizeof(over), "{\"authorization_details\": [{\"type\": "
		 "\"urn:altinn:systemuser\", \"systemuser_org\": %s}]}", org);
	bad(fx_grant(fx_keyed, "test:api", over), "invalid_grant", NULL);
}

/* Registration rules for Maskinporten clients (selfservice-api.md §5). */
static void
test_client_registration(void **state)
{
	static const struct {
		const char *extra, *word;
	} refused[] = {
		{ "{\"token_endpoint_auth_method\": \"client_secret_basic\"}", "private_key_jwt" },
		{ "{\"application_type\": \"browser\"}", "web" },
		{ "{\"grant_types\": [\"authorization_code\"]}", "not allowed" },
		{ "{\"redirect_uris\": [\"https://x.example.no/cb\"]}", "does not apply" },
		{ "{\"sso_disabled\": true}", "does not apply" },
		{ "{\"client_orgno\": null}", "client_orgno is required" },
		{ "{\"scopes\": [\"openid\"]}", "not allowed for integration_type" },
		{ "{\"scopes\": [\"nosuch:scope\"]}", "unknown scope" },
	};
	struct err e = { 0 };
	json_t *out = NULL;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		json_t *in = json_pack("{s:s,s:s,s:s,s:s}", "client_name", "m", "description",
				       "d", "integration_type", "maskinporten", "client_orgno",
				       FX_ORG_A);
		json_t *x = json_loads(refused[i].extra, 0, NULL);
		const char *k;
		json_t *v;

		json_object_foreach(x, k, v) {
			if (json_is_null(v))
				json_object_del(in, k);
			else
				json_object_set(in, k, v);
		}
		assert_int_equal(reg_client_create(&fx_app, in, &out, NULL, &e), ERR_INVAL);
		if (strstr(e.msg, refused[i].word) == NULL)
			print_error("case %zu: %s\n", i, e.msg);
		assert_non_null(strstr(e.msg, refused[i].word));
		assert_null(out);
		json_decref(x);
		json_decref(in);
	}
	/* The defaults: web, private_key_jwt, jwt-bearer; the short alias is stored in full. */
	{
		json_t *in = json_pack("{s:s,s:s,s:s,s:s,s:[s],s:[],s:b}", "client_name", "m",
				       "description", "d", "integration_type", "maskinporten",
				       "client_orgno", FX_ORG_A, "grant_types", "jwt_bearer_token",
				       "redirect_uris", "sso_disabled", 0);

		assert_int_equal(reg_client_create(&fx_app, in, &out, NULL, &e), 0);
		assert_string_equal(json_string_value(json_object_get(out, "application_type")),
				    "web");
		assert_string_equal(reg_client_str(out, "token_endpoint_auth_method"),
				    "private_key_jwt");
		assert_string_equal(json_string_value(json_array_get(json_object_get(out,
										    "grant_types"),
								     0)),
				    "urn:ietf:params:oauth:grant-type:jwt-bearer");
		assert_null(json_object_get(out, "redirect_uris"));
		assert_null(json_object_get(out, "client_secret_sha256"));
		json_decref(out);
		json_decref(in);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered_key),
		cmocka_unit_test(test_business_certificate),
		cmocka_unit_test(test_certificate_refused),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_client_and_aud),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_key_expiry),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_delegation),
		cmocka_unit_test(test_delegation_sources),
		cmocka_unit_test(test_delegation_supplied_client),
		cmocka_unit_test(test_optional_claims),
		cmocka_unit_test(test_authorization_details),
		cmocka_unit_test(test_client_registration),
	};

	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
