/* Redirect URI rules: spec/selfservice-api.md §6.2, spec/idporten-oidc.md §3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "registry/registry.h"
#include "registry/registry_int.h"

enum { PROD = 0, TEST = 1 };

struct uri_case {
	const char *uri;
	const char *type;
	int env;
	int ok;
};

static const struct uri_case cases[] = {
	/* PROD: https only */
	{ "https://client.example.no/cb", "web", PROD, 1 },
	{ "https://client.example.no/cb", "browser", PROD, 1 },
	{ "https://client.example.no/cb", "native", PROD, 1 },
	{ "https://client.example.no", "web", PROD, 1 },
	{ "https://client.example.no:8443/cb?x=1&y=2", "web", PROD, 1 },
	{ "https://client.example.no/a%2Fb", "web", PROD, 1 },
	{ "https://[2001:db8::1]/cb", "web", PROD, 1 },
	{ "http://client.example.no/cb", "web", PROD, 0 },
	{ "http://client.example.no/cb", "native", PROD, 0 },
	/* PROD: loopback and localhost only for native, over http */
	{ "http://localhost:3000/cb", "web", PROD, 0 },
	{ "http://localhost:3000/cb", "browser", PROD, 0 },
	{ "http://localhost:3000/cb", "native", PROD, 1 },
	{ "http://127.0.0.1:0/cb", "native", PROD, 1 },
	{ "http://[::1]:0/cb", "native", PROD, 1 },
	{ "http://127.0.0.1:8080/cb", "native", PROD, 1 },
	{ "http://127.0.0.1/cb", "browser", PROD, 0 },
	{ "http://127.0.0.1:0/cb", "web", PROD, 0 },
	{ "https://127.0.0.1:0/cb", "native", PROD, 0 },
	{ "https://127.0.0.1/cb", "native", PROD, 0 },
	{ "https://[::1]/cb", "native", PROD, 0 },
	{ "https://localhost/cb", "native", PROD, 0 },
	{ "http://localhost:0/cb", "native", PROD, 0 },
	{ "https://client.example.no:0/cb", "web", PROD, 0 },
	/* wildcards, fragments, userinfo, whitespace */
	{ "https://127.0.0.1:*/callback", "native", PROD, 0 },
	{ "https://*.example.no/cb", "web", PROD, 0 },
	{ "https://client.example.no/*", "web", PROD, 0 },
	{ "https://client.example.no/cb#frag", "web", PROD, 0 },
	{ "https://client.example.no/cb#", "web", TEST, 0 },
	{ "https://user@client.example.no/cb", "web", PROD, 0 },
	{ "https://user:pw@client.example.no/cb", "web", TEST, 0 },
	{ "https://evil.example@client.example.no/cb", "web", PROD, 0 },
	{ "https://client.example.no/c b", "web", PROD, 0 },
	{ "https://client.example.no/cb ", "web", PROD, 0 },
	{ " https://client.example.no/cb", "web", PROD, 0 },
	{ "https://client.example.no/c\tb", "web", PROD, 0 },
	{ "https://client.example.no/c\x01" "b", "web", PROD, 0 },
	{ "https://client.example.no/c\x7f" "b", "web", PROD, 0 },
	{ "https://b\xc3\xb8.example.no/cb", "web", PROD, 0 },
	{ "https://client.example.no/a\\b", "web", PROD, 0 },
	{ "https://client.example.no/a\"b", "web", PROD, 0 },
	{ "https://client.example.no/a<b>", "web", PROD, 0 },
	{ "https://client.example.no/a%zz", "web", PROD, 0 },
	{ "https://client.example.no/a%2", "web", PROD, 0 },
	{ "https://client.example.no/cb[1]", "web", PROD, 0 },
	/* malformed */
	{ "", "web", TEST, 0 },
	{ "/cb", "web", TEST, 0 },
	{ "//client.example.no/cb", "web", TEST, 0 },
	{ "client.example.no/cb", "web", TEST, 0 },
	{ "HTTPS://client.example.no/cb", "web", PROD, 0 },
	{ "https:///cb", "web", TEST, 0 },
	{ "https:client.example.no/cb", "web", TEST, 0 },
	{ "https://client.example.no:99999/cb", "web", TEST, 0 },
	{ "https://client.example.no:/cb", "web", TEST, 0 },
	{ "https://client.example.no:80a/cb", "web", TEST, 0 },
	{ "https://client..example.no/cb", "web", TEST, 0 },
	{ "https://.example.no/cb", "web", TEST, 0 },
	{ "https://-x.example.no/cb", "web", TEST, 0 },
	{ "https://client_x.example.no/cb", "web", TEST, 0 },
	{ "https://[zz::1]/cb", "web", TEST, 0 },
	{ "https://[::1/cb", "web", TEST, 0 },
	{ "https://[2001:db8::1]x/cb", "web", TEST, 0 },
	{ "https://client.example.no/cb", "desktop", TEST, 0 },
	{ "https://client.example.no/cb", "", TEST, 0 },
	/* private-use schemes: native only, reverse domain */
	{ "no.example.app:/cb", "native", PROD, 1 },
	{ "no.example.app:/cb", "native", TEST, 1 },
	{ "no.example.app:/cb", "web", TEST, 0 },
	{ "no.example.app:/cb", "browser", PROD, 0 },
	{ "myapp:/cb", "native", PROD, 0 },
	{ "javascript:alert(1)", "native", TEST, 0 },
	{ "data:text/html,x", "native", TEST, 0 },
	{ "file:///etc/passwd", "native", TEST, 0 },
	{ "no.example.app:cb", "native", TEST, 0 },
	{ "no..example:/cb", "native", TEST, 0 },
	{ "no.example.:/cb", "native", TEST, 0 },
	{ "No.Example.App:/cb", "native", TEST, 0 },
	/* TEST: http and localhost for every type; localhost over http only */
	{ "http://client.example.no/cb", "web", TEST, 1 },
	{ "http://client.example.no/cb", "browser", TEST, 1 },
	{ "http://localhost:3000/cb", "web", TEST, 1 },
	{ "http://LOCALHOST:3000/cb", "web", TEST, 1 },
	{ "http://127.0.0.1:8080/cb", "browser", TEST, 1 },
	{ "https://localhost/cb", "web", TEST, 0 },
	{ "https://localhost:8443/cb", "browser", TEST, 0 },
	{ "http://127.0.0.1:0/cb", "web", TEST, 0 },
	{ "http://client.example.no:0/cb", "web", TEST, 0 },
};

static void
test_redirect_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e = { 0 };
		int rc = reg_redirect_uri_valid(cases[i].uri, cases[i].type, cases[i].env == TEST,
						&e);

		if ((rc == 0) != (cases[i].ok != 0)) {
			print_error("case %zu: %s (%s, %s): expected %s, got rc=%d %s\n", i,
				    cases[i].uri, cases[i].type, cases[i].env ? "TEST" : "PROD",
				    cases[i].ok ? "ok" : "refusal", rc, e.msg);
			fail();
		}
		if (rc != 0) {
			assert_int_equal(rc, ERR_INVAL);
			assert_string_equal(e.oauth, "invalid_client_metadata");
			assert_true(e.msg[0] != '\0');
		}
	}
}

static void
test_redirect_null_and_default_type(void **state)
{
	struct err e = { 0 };

	assert_int_equal(reg_redirect_uri_valid(NULL, "web", true, &e), ERR_INVAL);
	/* A NULL application_type means web. */
	assert_int_equal(reg_redirect_uri_valid("https://a.example.no/cb", NULL, false, &e), 0);
	assert_int_equal(reg_redirect_uri_valid("no.example.app:/cb", NULL, true, &e), ERR_INVAL);
	/* NULL err is allowed. */
	assert_int_equal(reg_redirect_uri_valid("https://a.example.no/#x", "web", true, NULL),
			 ERR_INVAL);
}

static void
test_redirect_length(void **state)
{
	char uri[REG_URI_MAX + 2];
	const char *head = "https://a.example.no/";
	size_t hl = strlen(head);
	struct err e = { 0 };

	memcpy(uri, head, hl);
	memset(uri + hl, 'a', REG_URI_MAX - hl);
	uri[REG_URI_MAX] = '\0';
	assert_int_equal(reg_redirect_uri_valid(uri, "web", false, &e), 0);
	uri[REG_URI_MAX] = 'a';
	uri[REG_URI_MAX + 1] = '\0';
	assert_int_equal(reg_redirect_uri_valid(uri, "web", false, &e), ERR_INVAL);
}

static void
test_uri_split_parts(void **state)
{
	struct reg_uri u;
	struct err e = { 0 };

	assert_int_equal(reg_uri_split("https://Client.Example.no:8443/cb?x=1", &u, &e), 0);
	assert_true(str_eq_c(u.scheme, "https"));
	assert_true(str_eq_c(u.host, "Client.Example.no"));
	assert_true(u.has_port);
	assert_int_equal(u.port_num, 8443);
	assert_true(str_eq_c(u.path, "/cb?x=1"));
	assert_true(reg_uri_host_eq(u.host, STR_LIT("client.example.NO")));
	assert_false(reg_uri_host_eq(u.host, STR_LIT("client.example.n")));

	assert_int_equal(reg_uri_split("http://[::1]:0/cb", &u, &e), 0);
	assert_true(str_eq_c(u.host, "[::1]"));
	assert_int_equal(u.port_num, 0);

	assert_int_equal(reg_uri_split("no.example.app:/cb", &u, &e), 0);
	assert_false(u.has_authority);
	assert_true(str_eq_c(u.path, "/cb"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirect_table),
		cmocka_unit_test(test_redirect_null_and_default_type),
		cmocka_unit_test(test_redirect_length),
		cmocka_unit_test(test_uri_split_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
