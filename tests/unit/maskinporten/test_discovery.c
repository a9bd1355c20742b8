/* Tests for maskinporten/discovery.c (spec/maskinporten.md §12, RFC 8414). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mp_fixture.h"

static void
test_discovery(void **state)
{
	struct http_req r = { 0 };
	struct http_resp w;
	json_t *d;

	r.arena = arena_new();
	r.route_data = fx_mp;
	http_resp_init(&w, r.arena);
	mp_handle_discovery(&r, &w);
	assert_int_equal(w.status, 200);
	d = json_loadb(w.body.p, w.body.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(d, "issuer")), FX_MP);
	assert_string_equal(json_string_value(json_object_get(d, "token_endpoint")),
			    FX_MP "token");
	assert_string_equal(json_string_value(json_object_get(d, "jwks_uri")), FX_MP "jwk");
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(d, "grant_types_supported"), 0)),
			    "urn:ietf:params:oauth:grant-type:jwt-bearer");
	assert_int_equal(json_array_size(json_object_get(
				 d, "token_endpoint_auth_signing_alg_values_supported")), 3);
	json_decref(d);
	http_resp_free(&w);
	arena_free(r.arena);
}

/* Every field of the document, and nothing ID-porten's has. */
static void
test_discovery_fields(void **state)
{
	struct http_req r = { 0 };
	struct http_resp w;
	json_t *d, *v;

	r.arena = arena_new();
	r.route_data = fx_mp;
	http_resp_init(&w, r.arena);
	mp_handle_discovery(&r, &w);
	d = json_loadb(w.body.p, w.body.len, 0, NULL);
	assert_int_equal(json_object_size(d), 7);
	assert_null(json_object_get(d, "authorization_endpoint"));
	assert_null(json_object_get(d, "userinfo_endpoint"));
	v = json_object_get(d, "token_endpoint_auth_methods_supported");
	assert_string_equal(json_string_value(json_array_get(v, 0)), "private_key_jwt");
	v = json_object_get(d, "authorization_details_types_supported");
	assert_string_equal(json_string_value(json_array_get(v, 0)), "urn:altinn:systemuser");
	json_decref(d);
	http_resp_free(&w);
	arena_free(r.arena);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_discovery_fields),
	};

	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
