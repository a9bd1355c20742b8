/*
 * The grant and code codec (oauth/grant.c) on documents in the stored
 * format of today: decode then write gives the same document back, with
 * and without the optional fields, and damaged documents are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* What oauth_grant_write / oauth_code_write store, as a tree; NULL when the write fails. */
static json_t *
written(int (*write)(const void *rec, struct buf *b), const void *rec)
{
	struct buf b;
	json_t *doc = NULL;

	buf_init(&b, OAUTH_GRANT_TEXT_MAX);
	if (write(rec, &b) == 0) {
		doc = json_loadb(b.p, b.len, 0, NULL);
		assert_non_null(doc);
	}
	buf_free(&b);
	return doc;
}

static int
grant_w(const void *g, struct buf *b)
{
	return oauth_grant_write(g, b);
}

static int
code_w(const void *c, struct buf *b)
{
	return oauth_code_write(c, b);
}

static json_t *
grant_tree(const struct grant *g)
{
	return written(grant_w, g);
}

static json_t *
code_tree(const struct auth_code *c)
{
	return written(code_w, c);
}

static void
code_round_trip(const char *text)
{
	json_t *doc = load(text), *again;
	struct auth_code c;
	struct err e = { 0 };

	assert_int_equal(oauth_code_decode(doc, &c, &e), 0);
	again = code_tree(&c);
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
	grant = grant_tree(&c.g);
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
	again = grant_tree(&g);
	assert_true(json_equal(doc, again));
	json_decref(again);
	json_decref(doc);
	/* the claims a step added ride in the grant */
	doc = load("{\"client_id\":\"ap\",\"iss\":\"https://ansattporten.test\","
		   "\"claims\":{\"name\":\"Kari\",\"authorization_details\":[]}}");
	assert_int_equal(oauth_grant_decode(doc, &g, &e), 0);
	assert_string_equal(json_string_value(json_object_get(g.claims, "name")), "Kari");
	again = grant_tree(&g);
	assert_true(json_equal(doc, again));
	json_decref(again);
	json_decref(doc);
	/* an empty grant encodes as an empty object */
	memset(&g, 0, sizeof(g));
	again = grant_tree(&g);
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

/*
 * The text written for the store is byte for byte the compact dump of the
 * tree the codec built before (members in the codec's order), with every
 * field set, a resource list, claims and strings that need escaping.
 */
static void
test_write_is_dump(void **state)
{
	json_t *res = load("[\"https://a.example.no\",\"https://b\"]");
	json_t *claims = load("{\"userinfo\":{\"x\":{\"essential\":true}},\"n\":1}");
	struct auth_code c = {
		.g = { .client_id = "c\"1\\", .scope = "openid profile", .sid = "s", .pid = "p",
		       .acr = "idporten-loa-high", .eid = "testid", .iss = "http://i",
		       .nonce = "n\n\t", .locale = "nb", .onbehalfof = "o", .session_kind = "shared",
		       .eidas_identifier = "SE/NO/1", .eidas_firstname = "\xc3\x85se",
		       .eidas_lastname = "L\x01", .eidas_date_of_birth = "1815-12-10",
		       .nationalities = "GB", .onetime_key = "k", .amr = "TestID",
		       .auth_time = 1764950000, .resource = res, .claims = claims,
		       .expires_at = 1764957200 },
		.redirect_uri = "https://rp/cb", .code_challenge = "ch", .dpop_jkt = "jkt",
	};
	json_t *tree = json_object();
	struct buf b;
	char *dump;

	(void)state;
	json_object_set_new(tree, "client_id", json_string(c.g.client_id));
	json_object_set_new(tree, "scope", json_string(c.g.scope));
	json_object_set_new(tree, "sid", json_string(c.g.sid));
	json_object_set_new(tree, "pid", json_string(c.g.pid));
	json_object_set_new(tree, "acr", json_string(c.g.acr));
	json_object_set_new(tree, "eid", json_string(c.g.eid));
	json_object_set_new(tree, "iss", json_string(c.g.iss));
	json_object_set_new(tree, "nonce", json_string(c.g.nonce));
	json_object_set_new(tree, "locale", json_string(c.g.locale));
	json_object_set_new(tree, "onbehalfof", json_string(c.g.onbehalfof));
	json_object_set_new(tree, "session_kind", json_string(c.g.session_kind));
	json_object_set_new(tree, "eidas_identifier", json_string(c.g.eidas_identifier));
	json_object_set_new(tree, "eidas_firstname", json_string(c.g.eidas_firstname));
	json_object_set_new(tree, "eidas_lastname", json_string(c.g.eidas_lastname));
	json_object_set_new(tree, "eidas_date_of_birth", json_string(c.g.eidas_date_of_birth));
	json_object_set_new(tree, "nationalities", json_string(c.g.nationalities));
	json_object_set_new(tree, "onetime_key", json_string(c.g.onetime_key));
	json_object_set_new(tree, "amr", json_pack("[s]", c.g.amr));
	json_object_set_new(tree, "auth_time", json_integer(c.g.auth_time));
	json_object_set_new(tree, "resource", json_deep_copy(res));
	json_object_set_new(tree, "claims", json_deep_copy(claims));
	json_object_set_new(tree, "expires_at", json_integer(c.g.expires_at));
	json_object_set_new(tree, "redirect_uri", json_string(c.redirect_uri));
	json_object_set_new(tree, "code_challenge", json_string(c.code_challenge));
	json_object_set_new(tree, "dpop_jkt", json_string(c.dpop_jkt));
	dump = json_dumps(tree, JSON_COMPACT);
	assert_non_null(dump);
	buf_init(&b, OAUTH_GRANT_TEXT_MAX);
	assert_int_equal(oauth_code_write(&c, &b), 0);
	assert_string_equal(b.p, dump);
	free(dump);
	buf_free(&b);

	/* The grant: the same without the code's three, a resource string. */
	json_object_del(tree, "redirect_uri");
	json_object_del(tree, "code_challenge");
	json_object_del(tree, "dpop_jkt");
	json_object_set_new(tree, "resource", json_string("https://one"));
	c.g.resource = json_object_get(tree, "resource");
	dump = json_dumps(tree, JSON_COMPACT);
	buf_init(&b, OAUTH_GRANT_TEXT_MAX);
	assert_int_equal(oauth_grant_write(&c.g, &b), 0);
	assert_string_equal(b.p, dump);
	free(dump);
	buf_free(&b);

	/* A string that is not UTF-8 is refused, as the tree refused it. */
	c.g.scope = "openid \xff";
	buf_init(&b, OAUTH_GRANT_TEXT_MAX);
	assert_int_equal(oauth_grant_write(&c.g, &b), ERR_INVAL);
	buf_free(&b);
	assert_null(grant_tree(&c.g));
	json_decref(tree);
	json_decref(res);
	json_decref(claims);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_round_trip),
		cmocka_unit_test(test_grant_from_code),
		cmocka_unit_test(test_grant_round_trip),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_write_is_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
