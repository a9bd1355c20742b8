/*
 * The client record (registry/client.h): the parse of stored documents in
 * today's format, its defaults and refusals, and the cache handing out one
 * shared parse per stored version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/timeutil.h"
#include "registry/client.h"
#include "registry/registry.h"
#include "store/store.h"

struct fixture {
	struct cfg cfg;
	struct porten app;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };

	if (f == NULL)
		return -1;
	f->cfg.env = CFG_ENV_PROD;
	f->app.cfg = &f->cfg;
	if (store_open(&f->app.store, &(struct store_opts){ .target = ":memory:" }, &e) != 0) {
		print_error("store_open: %s\n", e.msg);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	reg_cache_cleanup();
	store_close(f->app.store);
	free(f);
	return 0;
}

static struct client *
parse_ok(const char *text)
{
	json_t *doc = json_loads(text, 0, NULL);
	struct client *c = NULL;
	struct err e = { 0 };

	assert_non_null(doc);
	if (reg_client_parse(doc, &c, &e) != 0)
		print_error("parse: %s\n", e.msg);
	assert_non_null(c);
	json_decref(doc);   /* the record keeps its own reference */
	return c;
}

static void
parse_bad(const char *text, const char *word)
{
	json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
	struct client *c = NULL;
	struct err e = { 0 };

	assert_non_null(doc);
	assert_int_equal(reg_client_parse(doc, &c, &e), ERR_INVAL);
	assert_null(c);
	if (strstr(e.msg, word) == NULL)
		print_error("expected '%s' in: %s\n", word, e.msg);
	assert_non_null(strstr(e.msg, word));
	json_decref(doc);
}

/* A web client as reg_client_create stores it today. */
static const char WEB[] =
	"{\"client_id\":\"c-web\",\"integration_type\":\"idporten\",\"client_name\":\"Kommune X\","
	"\"description\":\"d\",\"application_type\":\"web\","
	"\"token_endpoint_auth_method\":\"client_secret_basic\","
	"\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
	"\"scopes\":[\"openid\",\"profile\"],\"redirect_uris\":[\"https://x.example.no/cb\"],"
	"\"post_logout_redirect_uris\":[\"https://x.example.no/out\"],"
	"\"frontchannel_logout_uri\":\"https://x.example.no/fcl\","
	"\"frontchannel_logout_session_required\":true,\"sso_disabled\":false,"
	"\"code_challenge_method\":\"S256\",\"authorization_lifetime\":3600,"
	"\"access_token_lifetime\":60,\"refresh_token_lifetime\":1200,"
	"\"refresh_token_usage\":\"ONETIME\",\"client_orgno\":\"991825827\","
	"\"active\":true,\"created\":\"2025-01-31T12:00:00Z\","
	"\"client_secret_sha256\":\"abc\",\"client_secret_expires_at\":4102444800}";

static void
test_parse_web(void **state)
{
	struct client *c = parse_ok(WEB);

	(void)state;
	assert_string_equal(c->client_id, "c-web");
	assert_string_equal(c->client_name, "Kommune X");
	assert_string_equal(c->integration_type, "idporten");
	assert_string_equal(c->application_type, "web");
	assert_string_equal(c->token_endpoint_auth_method, "client_secret_basic");
	assert_string_equal(c->code_challenge_method, "S256");
	assert_int_equal(c->grant_types.n, 2);
	assert_true(reg_strs_has(&c->grant_types, "refresh_token"));
	assert_false(reg_strs_has(&c->grant_types, "implicit"));
	assert_false(reg_strs_has(&c->grant_types, NULL));
	assert_true(reg_strs_has(&c->scopes, "profile"));
	assert_string_equal(c->redirect_uris.v[0], "https://x.example.no/cb");
	assert_string_equal(c->post_logout_redirect_uris.v[0], "https://x.example.no/out");
	assert_string_equal(c->frontchannel_logout_uri, "https://x.example.no/fcl");
	assert_true(c->frontchannel_logout_session_required);
	assert_false(c->sso_disabled);
	assert_true(c->active);
	assert_int_equal(c->authorization_lifetime, 3600);
	assert_int_equal(c->access_token_lifetime, 60);
	assert_int_equal(c->refresh_token_lifetime, 1200);
	assert_string_equal(c->refresh_token_usage, "ONETIME");
	assert_string_equal(c->client_orgno, "991825827");
	assert_null(c->supplier_orgno);
	assert_string_equal(c->client_secret_sha256, "abc");
	assert_int_equal(c->client_secret_expires_at, 4102444800LL);
	assert_null(c->keys);
	assert_string_equal(json_string_value(json_object_get(c->doc, "created")),
			    "2025-01-31T12:00:00Z");
	/* another reference keeps it alive past the first release */
	assert_ptr_equal(reg_client_ref(c), c);
	reg_client_release(c);
	assert_string_equal(c->client_id, "c-web");
	reg_client_release(c);
	reg_client_release(NULL);
}

/* Absent fields: empty lists, NULL strings, false flags, the spec's lifetimes. */
static void
test_parse_defaults(void **state)
{
	struct client *c = parse_ok("{\"client_id\":\"bare\",\"access_token_lifetime\":0,"
				    "\"refresh_token_lifetime\":-5,\"client_name\":null}");

	(void)state;
	assert_null(c->client_name);
	assert_null(c->integration_type);
	assert_string_equal(c->token_endpoint_auth_method, "client_secret_basic");
	assert_int_equal(c->grant_types.n, 0);
	assert_int_equal(c->scopes.n, 0);
	assert_false(reg_strs_has(&c->scopes, "openid"));
	assert_false(c->active);
	assert_false(c->sso_disabled);
	assert_int_equal(c->authorization_lifetime, CLIENT_DFLT_AUTHZ_LIFETIME);
	assert_int_equal(c->access_token_lifetime, CLIENT_DFLT_AT_LIFETIME);
	assert_int_equal(c->refresh_token_lifetime, CLIENT_DFLT_RT_LIFETIME);
	assert_int_equal(c->client_secret_expires_at, 0);
	assert_false(reg_client_secret_matches(c, STR_LIT("anything")));
	assert_null(c->keys);
	assert_null(c->onbehalfof);
	reg_client_release(c);
}

/* Every integration type in its stored shape, and the issuers it fits. */
static void
test_parse_integration_types(void **state)
{
	static const struct {
		const char *type;
		bool idporten, ansattporten, maskinporten;
	} types[] = {
		{ "idporten", true, false, false },    { "api_klient", true, false, false },
		{ "ansattporten", false, true, false }, { "maskinporten", false, false, true },
		{ "krr", false, false, true },         { "eformidling", false, false, true },
	};
	struct issuer idp = { .kind = ISSUER_IDPORTEN }, ans = { .kind = ISSUER_ANSATTPORTEN },
		      mp = { .kind = ISSUER_MASKINPORTEN };
	char text[1024];
	struct client *c;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"client_id\":\"c%zu\",\"integration_type\":\"%s\",\"active\":true,"
			 "\"token_endpoint_auth_method\":\"private_key_jwt\","
			 "\"grant_types\":[\"urn:ietf:params:oauth:grant-type:jwt-bearer\"],"
			 "\"scopes\":[\"x:y\"],\"client_orgno\":\"991825827\","
			 "\"supplier_orgno\":\"910000001\","
			 "\"jwks\":{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"AQAB\","
			 "\"e\":\"AQAB\"}]},\"jwks_posted\":{\"k1\":1700000000},"
			 "\"onbehalfof\":[{\"onbehalfof\":\"o1\",\"orgno\":\"910000002\"}]}",
			 i, types[i].type);
		c = parse_ok(text);
		assert_string_equal(c->integration_type, types[i].type);
		assert_int_equal(reg_client_fits(c, &idp), types[i].idporten);
		assert_int_equal(reg_client_fits(c, &ans), types[i].ansattporten);
		assert_int_equal(reg_client_fits(c, &mp), types[i].maskinporten);
		assert_int_equal(json_array_size(c->keys), 1);
		assert_int_equal(json_integer_value(json_object_get(c->jwks_posted, "k1")),
				 1700000000);
		assert_int_equal(json_array_size(c->onbehalfof), 1);
		assert_null(c->application_type);
		reg_client_release(c);
	}
	/* jwks stored as the bare key list reads the same */
	c = parse_ok("{\"client_id\":\"k\",\"jwks\":[{\"kid\":\"a\"},{\"kid\":\"b\"}]}");
	assert_int_equal(json_array_size(c->keys), 2);
	reg_client_release(c);
	c = parse_ok("{\"client_id\":\"k\",\"integration_type\":\"saml\"}");
	assert_false(reg_client_fits(c, &idp) || reg_client_fits(c, &mp));
	reg_client_release(c);
}

static void
test_parse_malformed(void **state)
{
	(void)state;
	parse_bad("[1]", "not a JSON object");
	parse_bad("{\"client_name\":\"x\"}", "client_id");
	parse_bad("{\"client_id\":\"\"}", "client_id");
	parse_bad("{\"client_id\":7}", "client_id");
	parse_bad("{\"client_id\":\"a\",\"client_name\":5}", "client_name");
	parse_bad("{\"client_id\":\"a\",\"integration_type\":[]}", "integration_type");
	parse_bad("{\"client_id\":\"a\",\"scopes\":\"openid\"}", "scopes");
	parse_bad("{\"client_id\":\"a\",\"redirect_uris\":[\"https://x\",3]}", "redirect_uris");
	parse_bad("{\"client_id\":\"a\",\"active\":\"yes\"}", "active");
	parse_bad("{\"client_id\":\"a\",\"sso_disabled\":1}", "sso_disabled");
	parse_bad("{\"client_id\":\"a\",\"access_token_lifetime\":\"60\"}",
		  "access_token_lifetime");
	parse_bad("{\"client_id\":\"a\",\"refresh_token_lifetime\":1.5}", "refresh_token_lifetime");
	parse_bad("{\"client_id\":\"a\",\"jwks\":\"k\"}", "jwks");
	parse_bad("{\"client_id\":\"a\",\"jwks\":{\"keys\":{}}}", "jwks");
	parse_bad("{\"client_id\":\"a\",\"jwks_posted\":[]}", "jwks_posted");
	parse_bad("{\"client_id\":\"a\",\"onbehalfof\":{}}", "onbehalfof");
	parse_bad("{\"client_id\":\"a\",\"client_secret_expires_at\":\"soon\"}",
		  "client_secret_expires_at");
}

/* One parse per stored version, shared by every caller; changes seen at once. */
static void
test_cache_shares_one_parse(void **state)
{
	struct fixture *f = *state;
	json_t *in = json_pack("{s:s,s:s,s:s,s:[s],s:[s]}", "client_name", "Kommune X",
			       "description", "d", "integration_type", "idporten",
			       "redirect_uris", "https://x.example.no/cb",
			       "post_logout_redirect_uris", "https://x.example.no/out");
	const struct client *a = NULL, *b = NULL;
	json_t *stored = NULL, *doc = NULL, *bad;
	struct err e = { 0 };
	char *secret = NULL, id[64];

	assert_int_equal(reg_client_create(&f->app, in, &stored, &secret, &e), 0);
	snprintf(id, sizeof(id), "%s", reg_client_str(stored, "client_id"));
	assert_int_equal(reg_client_find(&f->app, id, &a, &e), 0);
	assert_int_equal(reg_client_find(&f->app, id, &b, &e), 0);
	assert_ptr_equal(a, b);
	assert_string_equal(a->client_name, "Kommune X");
	assert_string_equal(a->application_type, "web");
	assert_true(reg_client_secret_matches(a, str_c(secret)));
	assert_false(reg_client_secret_matches(a, STR_LIT("wrong")));
	/* the json readers get the record's own document */
	assert_int_equal(reg_client_load(&f->app, id, &doc, &e), 0);
	assert_ptr_equal(doc, a->doc);
	json_decref(doc);
	reg_client_release(b);

	/* a change in the store gives a new record; the old one lives on until released */
	doc = json_deep_copy(stored);
	json_object_set_new(doc, "client_name", json_string("Nytt navn"));
	assert_int_equal(store_call(f->app.store, registry, client_update, id, doc, &e), 0);
	json_decref(doc);
	assert_int_equal(reg_client_find(&f->app, id, &b, &e), 0);
	assert_ptr_not_equal(a, b);
	assert_string_equal(b->client_name, "Nytt navn");
	assert_string_equal(a->client_name, "Kommune X");
	reg_client_release(a);
	reg_client_release(b);

	/* a damaged row: the record says which field; the json readers still load it */
	bad = json_deep_copy(stored);
	json_object_set_new(bad, "scopes", json_string("openid"));
	assert_int_equal(store_call(f->app.store, registry, client_update, id, bad, &e), 0);
	json_decref(bad);
	assert_int_equal(reg_client_find(&f->app, id, &a, &e), ERR_INTERNAL);
	assert_null(a);
	assert_non_null(strstr(e.msg, "scopes"));
	assert_int_equal(reg_client_load(&f->app, id, &doc, &e), 0);
	json_decref(doc);

	/* inactive and unknown clients are not found */
	assert_int_equal(reg_client_delete(&f->app, id, &e), 0);
	assert_int_equal(reg_client_find(&f->app, id, &a, &e), ERR_NOTFOUND);
	assert_string_equal(e.oauth, "invalid_client");
	assert_int_equal(reg_client_find(&f->app, "no-such", &a, &e), ERR_NOTFOUND);
	assert_int_equal(reg_client_find(&f->app, "../etc", &a, &e), ERR_NOTFOUND);
	free(secret);
	json_decref(stored);
	json_decref(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_web),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_integration_types),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test_setup_teardown(test_cache_shares_one_parse, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
