/* Scopes: built-ins, name syntax and attribute validation (idporten-oidc.md §13). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/registry.h"
#include "registry/registry_int.h"
#include "shared_check.h"

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
	f->app.cfg = &f->cfg;
	if (store_open(&f->app.store, &(struct store_opts){ .target = ":memory:" }, &e) != 0) {
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

	reg_cache_cleanup();    /* with assertions: stops a test that changed a shared doc */
	store_close(f->app.store);
	free(f);
	return 0;
}

static void
put_bad(struct fixture *f, json_t *in, const char *word)
{
	struct err e = { 0 };
	json_t *out = NULL;
	int rc = reg_scope_put(&f->app, in, &out, &e);

	if (rc != ERR_INVAL || strstr(e.msg, word) == NULL)
		print_error("expected a refusal about '%s', got rc=%d msg=%s\n", word, rc, e.msg);
	assert_int_equal(rc, ERR_INVAL);
	assert_null(out);
	assert_non_null(strstr(e.msg, word));
	json_decref(in);
}

#ifndef NDEBUG
/* expect_change_stopped's second look: the built-in profile scope. */
static void
get_again(void *app)
{
	json_t *doc = NULL;

	reg_scope_get(app, "profile", &doc, &(struct err){ 0 });
	json_decref(doc);
}
#endif

static void
test_builtins(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	json_t *doc = NULL;

	assert_int_equal(reg_scope_get(&f->app, "openid", &doc, &e), 0);
	assert_true(json_is_true(json_object_get(doc, "active")));
	assert_true(reg_json_array_has(json_object_get(doc, "allowed_integration_types"),
				       "idporten"));
	json_decref(doc);
	assert_int_equal(reg_scope_get(&f->app, "profile", &doc, &e), 0);
	/* shared: the next lookup hands out the same document */
	{
		json_t *again = NULL;

		assert_int_equal(reg_scope_get(&f->app, "profile", &again, &e), 0);
		assert_ptr_equal(doc, again);
		json_decref(again);
	}
#ifndef NDEBUG
	/* a caller that changes it is stopped at the next lookup */
	expect_change_stopped(doc, get_again, &f->app);
#endif
	json_decref(doc);
	assert_int_equal(reg_scope_get(&f->app, "idporten:token.introspection", &doc, &e), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "owner_orgno")), "991825827");
	assert_false(reg_json_array_has(json_object_get(doc, "allowed_integration_types"),
					"idporten"));
	json_decref(doc);

	/* Reserved names cannot be stored over. */
	put_bad(f, json_pack("{s:s}", "name", "openid"), "reserved");
	put_bad(f, json_pack("{s:s}", "name", "idporten:token.introspection"), "reserved");
	put_bad(f, json_pack("{s:s, s:s}", "prefix", "idporten", "subscope",
			     "token.introspection"), "reserved");

	assert_int_equal(reg_scope_get(&f->app, "nav:nothing", &doc, &e), ERR_NOTFOUND);
	assert_null(doc);
	assert_int_equal(reg_scope_get(&f->app, "email", &doc, &e), ERR_INVAL);
	assert_int_equal(reg_scope_get(&f->app, NULL, &doc, &e), ERR_INVAL);
}

static void
test_name_syntax(void **state)
{
	char big[REG_SCOPE_NAME_MAX + 2];

	assert_true(reg_scope_name_valid("nav:aareg/v1/arbeidsforhold"));
	assert_true(reg_scope_name_valid("krr:global/kontaktinformasjon.read"));
	assert_true(reg_scope_name_valid("idporten:dcr/onbehalfof:write"));
	assert_true(reg_scope_name_valid("a-b_c.d:x"));
	assert_false(reg_scope_name_valid("openid"));
	assert_false(reg_scope_name_valid(":x"));
	assert_false(reg_scope_name_valid("x:"));
	assert_false(reg_scope_name_valid("NAV:x"));
	assert_false(reg_scope_name_valid("nav:X"));
	assert_false(reg_scope_name_valid("na/v:x"));
	assert_false(reg_scope_name_valid("nav:a b"));
	assert_false(reg_scope_name_valid("nav:a\"b"));
	assert_false(reg_scope_name_valid("nav:*"));
	assert_false(reg_scope_name_valid(""));
	assert_false(reg_scope_name_valid(NULL));
	memset(big, 'a', sizeof(big));
	big[3] = ':';
	big[REG_SCOPE_NAME_MAX] = '\0';
	assert_true(reg_scope_name_valid(big));
	big[REG_SCOPE_NAME_MAX] = 'a';
	big[REG_SCOPE_NAME_MAX + 1] = '\0';
	assert_false(reg_scope_name_valid(big));
}

static void
test_put_get(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	json_t *in, *out = NULL, *doc = NULL, *copy;
	char created[32];

	in = json_pack("{s:s, s:s, s:s, s:b, s:[s], s:[s], s:i, s:i, s:s, s:b}", "prefix", "nav",
		       "subscope", "test/api", "description", "Testing",
		       "requires_pseudonymous_tokens", 1, "allowed_integration_types", "api_klient",
		       "enforced_aud_for_introspection", "demo", "at_max_age", 300,
		       "authorization_max_age", 3600, "token_type", "OPAQUE",
		       "accessible_for_all", 1);
	assert_int_equal(reg_scope_put(&f->app, in, &out, &e), 0);
	assert_string_equal(json_string_value(json_object_get(out, "name")), "nav:test/api");
	json_decref(out);
	assert_int_equal(reg_scope_get(&f->app, "nav:test/api", &doc, &e), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "prefix")), "nav");
	assert_string_equal(json_string_value(json_object_get(doc, "subscope")), "test/api");
	assert_true(json_is_true(json_object_get(doc, "active")));
	assert_true(json_is_true(json_object_get(doc, "requires_pseudonymous_tokens")));
	assert_false(json_is_true(json_object_get(doc, "requires_user_consent")));
	assert_string_equal(json_string_value(json_object_get(doc, "token_type")), "OPAQUE");
	assert_string_equal(json_string_value(json_object_get(doc, "visibility")), "PUBLIC");
	assert_int_equal(json_integer_value(json_object_get(doc, "at_max_age")), 300);
	snprintf(created, sizeof(created), "%s",
		 json_string_value(json_object_get(doc, "created")));

	/* Sent back with server fields and deactivated: created survives. */
	copy = json_deep_copy(doc);     /* what the registry returns is shared */
	json_decref(doc);
	doc = copy;
	json_object_set_new(doc, "active", json_false());
	json_object_set_new(doc, "created", json_string("2000-01-01T00:00:00Z"));
	assert_int_equal(reg_scope_put(&f->app, doc, &out, &e), 0);
	assert_false(json_is_true(json_object_get(out, "active")));
	assert_string_equal(json_string_value(json_object_get(out, "created")), created);
	json_decref(out);
	json_decref(doc);
	json_decref(in);
}

static void
test_put_refusals(void **state)
{
	struct fixture *f = *state;

	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "colour", "blue"), "unknown field");
	put_bad(f, json_pack("{s:s}", "name", "Nav:X"), "prefix:subscope");
	put_bad(f, json_pack("{}"), "required");
	put_bad(f, json_pack("{s:s, s:s, s:s}", "name", "nav:x", "prefix", "nav", "subscope", "y"),
		"does not match");
	put_bad(f, json_pack("{s:s}", "prefix", "nav"), "together");
	put_bad(f, json_pack("{s:s, s:s}", "prefix", "na:v", "subscope", "x"), "malformed");
	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "token_type", "JWT"), "token_type");
	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "visibility", "SECRET"), "visibility");
	put_bad(f, json_pack("{s:s, s:[s]}", "name", "nav:x", "allowed_integration_types", "saml"),
		"allowed_integration_types[0]");
	put_bad(f, json_pack("{s:s, s:[ss]}", "name", "nav:x", "allowed_integration_types",
			     "krr", "krr"), "twice");
	put_bad(f, json_pack("{s:s, s:[s]}", "name", "nav:x", "enforced_aud_for_introspection",
			     "bad id"), "enforced_aud_for_introspection[0]");
	put_bad(f, json_pack("{s:s, s:i}", "name", "nav:x", "at_max_age", -1), "at_max_age");
	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "at_max_age", "60"), "at_max_age");
	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "active", "yes"), "active");
	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "owner_orgno", "123456789"),
		"owner_orgno");
	/* Hostile: a valid number with a NUL and more after it. */
	put_bad(f, json_pack("{s:s, s:s%}", "name", "nav:x", "owner_orgno", "991825827\0" "99",
			     (size_t)12), "owner_orgno");
	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "description", "a\x01"), "control");
	put_bad(f, json_pack("[s]", "nav:x"), "JSON object");
}

/* spec/maskinporten.md §9: description is required; visibility PUBLIC, PRIVATE or INTERNAL. */
static void
test_description_and_visibility(void **state)
{
	static const char *const vis[] = { "PUBLIC", "PRIVATE", "INTERNAL" };
	struct fixture *f = *state;
	struct err e = { 0 };
	json_t *out = NULL, *in;

	put_bad(f, json_pack("{s:s}", "name", "nav:x"), "description is required");
	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "description", ""),
		"description is required");
	put_bad(f, json_pack("{s:s, s:n}", "name", "nav:x", "description"),
		"description is required");
	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "description", "   "),
		"description is required");
	for (size_t i = 0; i < sizeof(vis) / sizeof(vis[0]); i++) {
		in = json_pack("{s:s, s:s, s:s}", "name", "nav:x", "description", "X",
			       "visibility", vis[i]);
		assert_int_equal(reg_scope_put(&f->app, in, &out, &e), 0);
		assert_string_equal(json_string_value(json_object_get(out, "visibility")), vis[i]);
		json_decref(out);
		json_decref(in);
	}
	put_bad(f, json_pack("{s:s, s:s, s:s}", "name", "nav:x", "description", "X",
			     "visibility", "internal"), "visibility");
	/* An update that drops the description is refused, the stored one kept. */
	put_bad(f, json_pack("{s:s, s:s}", "name", "nav:x", "visibility", "PUBLIC"),
		"description is required");
	assert_int_equal(reg_scope_get(&f->app, "nav:x", &out, &e), 0);
	assert_string_equal(json_string_value(json_object_get(out, "description")), "X");
	assert_string_equal(json_string_value(json_object_get(out, "visibility")), "INTERNAL");
	json_decref(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_builtins, setup, teardown),
		cmocka_unit_test(test_name_syntax),
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_description_and_visibility, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
