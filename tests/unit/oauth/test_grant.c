/*
 * The grant and code codec (oauth/grant.c) on documents in the stored
 * format of today: decode then encode gives the same document back, with
 * and without the optional fields, and damaged documents are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oauth/grant.h"

/* A code as a completed login stores it (login/login.c). */
static const char CODE_FULL[] =
	"{\"client_id\":\"c1\",\"redirect_uri\":\"https://rp.example.no/cb\","
	"\"code_challenge\":\"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\","
	"\"nonce\":\"n-0S6_WzA2Mj\",\"scope\":\"openid profile krr:global/x.read\","
	"\"resource\":[\"https://api.example.no\"],\"locale\":\"nb\",\"onbehalfof\":\"obo1\","
	"\"sid\":\"s-abc\",\"pid\":\"01017012345\",\"acr\":\"idporten-loa-high\","
	"\"amr\":[\"TestID\"],\"auth_time\":1764950000,\"eid\":\"testid\","
	"\"iss\":\"http://127.0.0.1:8080\",\"session_kind\":\"shared\"}";

/* The least a code holds: a PKCE-exempt pure OAuth request, foreign user. */
static const char CODE_MIN[] =
	"{\"client_id\":\"c1\",\"redirect_uri\":\"https://rp.example.no/cb\","
	"\"scope\":\"openid\",\"sid\":\"s\",\"acr\":\"idporten-loa-substantial\","
	"\"amr\":[\"MinID-OTC\"],\"auth_time\":1,\"eid\":\"minid\",\"iss\":\"http://i\","
	"\"session_kind\":\"client\"}";

/* A grant row: the code without redirect_uri and code_challenge, with its end. */
static const char GRANT[] =
	"{\"client_id\":\"c1\",\"scope\":\"openid\",\"sid\":\"s\",\"pid\":\"01017012345\","
	"\"acr\":\"idporten-loa-high\",\"amr\":[\"BankID\"],\"auth_time\":1764950000,"
	"\"eid\":\"bankid\",\"iss\":\"http://i\",\"session_kind\":\"shared\","
	"\"resource\":\"https://one.example.no\",\"eidas_identifier\":\"SE/NO/1\","
	"\"eidas_firstname\":\"Ada\",\"eidas_lastname\":\"L\","
	"\"eidas_date_of_birth\":\"1815-12-10\",\"nationalities\":\"GB\","
	"\"onetime_key\":\"k\",\"expires_at\":1764957200}";

static json_t *
load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static void
code_round_trip(const char *text)
{
	json_t *doc = load(text), *again;
	struct auth_code c;
	struct err e = { 0 };

	assert_int_equal(oauth_code_decode(doc, &c, &e), 0);
	again = oauth_code_encode(&c);
	assert_non_null(again);
	assert_true(json_equal(doc, again));
	json_decref(again);
	json_decref(doc);
}

static void
test_code_round_trip(void **state)
{
	json_t *doc = load(CODE_FULL);
	struct auth_code c;
	struct err e = { 0 };

	(void)state;
	code_round_trip(CODE_FULL);
	code_round_trip(CODE_MIN);
	assert_int_equal(oauth_code_decode(doc, &c, &e), 0);
	assert_string_equal(c.g.client_id, "c1");
	assert_string_equal(c.redirect_uri, "https://rp.example.no/cb");
	assert_string_equal(c.code_challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	assert_string_equal(c.g.amr, "TestID");
	assert_int_equal(c.g.auth_time, 1764950000);
	assert_string_equal(c.g.pid, "01017012345");
	assert_int_equal(json_array_size(c.g.resource), 1);
	assert_int_equal(c.g.expires_at, 0);
	json_decref(doc);

	doc = load(CODE_MIN);
	assert_int_equal(oauth_code_decode(doc, &c, &e), 0);
	assert_null(c.code_challenge);
	assert_null(c.g.pid);
	assert_null(c.g.nonce);
	assert_null(c.g.resource);
	assert_null(c.g.onbehalfof);
	json_decref(doc);
}

/* What the token endpoint stores: the code's grant, its end added. */
static void
test_grant_from_code(void **state)
{
	json_t *code = load(CODE_FULL), *grant, *want;
	struct auth_code c;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(oauth_code_decode(code, &c, &e), 0);
	c.g.expires_at = 1764957200;
	grant = oauth_grant_encode(&c.g);
	want = json_deep_copy(code);
	json_object_del(want, "redirect_uri");
	json_object_del(want, "code_challenge");
	json_object_set_new(want, "expires_at", json_integer(1764957200));
	assert_true(json_equal(grant, want));
	json_decref(grant);
	json_decref(want);
	json_decref(code);
}

static void
test_grant_round_trip(void **state)
{
	json_t *doc = load(GRANT), *again;
	struct grant g;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(oauth_grant_decode(doc, &g, &e), 0);
	assert_int_equal(g.expires_at, 1764957200);
	assert_true(json_is_string(g.resource));
	assert_string_equal(g.eidas_identifier, "SE/NO/1");
	assert_string_equal(g.nationalities, "GB");
	assert_string_equal(g.onetime_key, "k");
	again = oauth_grant_encode(&g);
	assert_true(json_equal(doc, again));
	json_decref(again);
	json_decref(doc);
	/* the claims a step added ride in the grant */
	doc = load("{\"client_id\":\"ap\",\"iss\":\"https://ansattporten.test\","
		   "\"claims\":{\"name\":\"Kari\",\"authorization_details\":[]}}");
	assert_int_equal(oauth_grant_decode(doc, &g, &e), 0);
	assert_string_equal(json_string_value(json_object_get(g.claims, "name")), "Kari");
	again = oauth_grant_encode(&g);
	assert_true(json_equal(doc, again));
	json_decref(again);
	json_decref(doc);
	/* an empty grant encodes as an empty object */
	memset(&g, 0, sizeof(g));
	again = oauth_grant_encode(&g);
	assert_int_equal(json_object_size(again), 0);
	json_decref(again);
}

static void
decode_bad(const char *text, const char *word)
{
	json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
	struct auth_code c;
	struct err e = { 0 };

	assert_non_null(doc);
	assert_int_equal(oauth_code_decode(doc, &c, &e), ERR_INVAL);
	if (strstr(e.msg, word) == NULL)
		print_error("expected '%s' in: %s\n", word, e.msg);
	assert_non_null(strstr(e.msg, word));
	json_decref(doc);
}

static void
test_decode_errors(void **state)
{
	(void)state;
	decode_bad("\"code\"", "not a JSON object");
	decode_bad("{\"client_id\":1}", "client_id");
	decode_bad("{\"scope\":[\"openid\"]}", "scope");
	decode_bad("{\"amr\":\"pwd\"}", "amr");
	decode_bad("{\"amr\":[]}", "amr");
	decode_bad("{\"amr\":[\"a\",\"b\"]}", "amr");
	decode_bad("{\"amr\":[7]}", "amr");
	decode_bad("{\"auth_time\":\"1764950000\"}", "auth_time");
	decode_bad("{\"expires_at\":1.5}", "expires_at");
	decode_bad("{\"resource\":{}}", "resource");
	decode_bad("{\"redirect_uri\":null}", "redirect_uri");
	decode_bad("{\"code_challenge\":false}", "code_challenge");
	decode_bad("{\"eidas_identifier\":3}", "eidas_identifier");
	decode_bad("{\"nationalities\":[\"DE\"]}", "nationalities");
	decode_bad("{\"onetime_key\":1}", "onetime_key");
	decode_bad("{\"claims\":[]}", "claims");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_round_trip),
		cmocka_unit_test(test_grant_from_code),
		cmocka_unit_test(test_grant_round_trip),
		cmocka_unit_test(test_decode_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
