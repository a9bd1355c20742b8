#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <cmocka.h>

#include "http/http.h"

static struct arena *A;
static struct http_resp W;

static int
setup(void **state)
{
	A = arena_new();
	if (A == NULL)
		return -1;
	http_resp_init(&W, A);
	return 0;
}

static int
teardown(void **state)
{
	http_resp_free(&W);
	arena_free(A);
	A = NULL;
	return 0;
}

static const char *
hdr(const struct http_resp *w, const char *name, size_t nth)
{
	for (size_t i = 0; i < w->nheaders; i++)
		if (strcasecmp(w->headers[i].name, name) == 0 && nth-- == 0)
			return w->headers[i].value;
	return NULL;
}

static size_t
hdr_count(const struct http_resp *w, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < w->nheaders; i++)
		n += strcasecmp(w->headers[i].name, name) == 0;
	return n;
}

static void
test_header_injection(void **state)
{
	assert_int_equal(http_resp_header(&W, "X-Test", "ok value\twith tab"), 0);
	assert_int_equal(http_resp_header(&W, "X-Test", "a\r\nSet-Cookie: x=y"), ERR_INVAL);
	assert_int_equal(http_resp_header(&W, "X-Test", "a\nb"), ERR_INVAL);
	assert_int_equal(http_resp_header(&W, "X-Test", "a\rb"), ERR_INVAL);
	assert_int_equal(http_resp_header(&W, "X-Test", "a\x01" "b"), ERR_INVAL);
	assert_int_equal(http_resp_header(&W, "X-Test", "a\x7f"), ERR_INVAL);
	assert_int_equal(http_resp_header(&W, "X-Te\r\nst", "v"), ERR_INVAL);
	assert_int_equal(http_resp_header(&W, "X Test", "v"), ERR_INVAL);
	assert_int_equal(http_resp_header(&W, "X:Test", "v"), ERR_INVAL);
	assert_int_equal(http_resp_header(&W, "", "v"), ERR_INVAL);
	assert_int_equal(http_resp_header(&W, "X-Test", NULL), ERR_INVAL);
	assert_int_equal(W.nheaders, 1);
	assert_string_equal(hdr(&W, "x-test", 0), "ok value\twith tab");
}

static void
test_header_limit(void **state)
{
	int rc = 0, n = 0;

	while (rc == 0 && n < 1000) {
		rc = http_resp_header(&W, "X-Many", "v");
		n += rc == 0;
	}
	assert_int_equal(rc, ERR_LIMIT);
	assert_true(n >= 32 && n < 1000);
}

static void
test_redirect(void **state)
{
	http_resp_redirect(&W, "https://rp.example/cb?code=abc&state=xyz");
	assert_int_equal(W.status, 302);
	assert_string_equal(hdr(&W, "Location", 0), "https://rp.example/cb?code=abc&state=xyz");

	/* A Location that would split the response is never sent: 500 instead. */
	http_resp_free(&W);
	http_resp_init(&W, A);
	http_resp_redirect(&W, "https://rp.example/\r\nSet-Cookie: sid=evil");
	assert_int_equal(W.status, 500);
	assert_null(hdr(&W, "Location", 0));
	assert_null(hdr(&W, "Set-Cookie", 0));
}

static void
test_oauth_error(void **state)
{
	json_t *j;
	json_error_t je;

	http_resp_oauth_error(&W, 400, "invalid_request", "missing \"client_id\"\n\\x");
	assert_int_equal(W.status, 400);
	assert_string_equal(W.content_type, "application/json");
	assert_string_equal(hdr(&W, "Cache-Control", 0), "no-store");
	assert_int_equal(hdr_count(&W, "Cache-Control"), 1);
	j = json_loadb(W.body.p, W.body.len, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid_request");
	/* RFC 6749 §5.2: no '"', '\' or control characters in the description. */
	assert_string_equal(json_string_value(json_object_get(j, "error_description")),
			    "missing ?client_id???x");
	assert_int_equal(json_object_size(j), 2);
	json_decref(j);

	/* Without a description the member is left out; no-store is not doubled. */
	assert_int_equal(http_resp_header(&W, "Cache-Control", "max-age=60"), 0);
	http_resp_oauth_error(&W, 401, "invalid_client", NULL);
	assert_int_equal(W.status, 401);
	assert_int_equal(hdr_count(&W, "Cache-Control"), 1);
	assert_string_equal(hdr(&W, "Cache-Control", 0), "no-store");
	j = json_loadb(W.body.p, W.body.len, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid_client");
	assert_null(json_object_get(j, "error_description"));
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);

	/* Non-ASCII in a description cannot slip through either. */
	http_resp_oauth_error(&W, 400, "invalid_request", "bl\xc3\xa5");
	j = json_loadb(W.body.p, W.body.len, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error_description")), "bl??");
	json_decref(j);
}

static void
test_bodies(void **state)
{
	json_t *j = json_pack("{s:s,s:i}", "a", "b", "n", 1);

	http_resp_json(&W, 200, j);
	json_decref(j);
	assert_int_equal(W.status, 200);
	assert_string_equal(W.body.p, "{\"a\":\"b\",\"n\":1}");

	http_resp_html(&W, 200, STR_LIT("<p>hei</p>"));
	assert_string_equal(W.content_type, "text/html; charset=utf-8");
	assert_string_equal(W.body.p, "<p>hei</p>");

	http_resp_text(&W, 201, "plain");
	assert_int_equal(W.status, 201);
	assert_string_equal(W.content_type, "text/plain; charset=utf-8");
	assert_string_equal(W.body.p, "plain");

	/* NULL JSON is a server error, not a crash. */
	http_resp_json(&W, 200, NULL);
	assert_int_equal(W.status, 500);
}

static void
test_body_cap(void **state)
{
	size_t n = HTTP_MAX_RESPONSE + 1;
	char *big = malloc(n);

	assert_non_null(big);
	memset(big, 'x', n);
	http_resp_html(&W, 200, (struct str){ big, n });
	free(big);
	assert_int_equal(W.status, 500);
	assert_true(W.body.len < 100);
}

static void
test_cookie_flags(void **state)
{
	struct http_cookie_opts o = {
		.max_age = 3600, .path = "/", .same_site = "Lax", .secure = true, .http_only = true,
	};

	assert_int_equal(http_resp_cookie(&W, "sid", "abc123", &o), 0);
	assert_string_equal(hdr(&W, "Set-Cookie", 0),
			    "sid=abc123; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax");

	/* Delete. */
	o = (struct http_cookie_opts){ .max_age = 0, .path = "/authorize", .same_site = "strict" };
	assert_int_equal(http_resp_cookie(&W, "sid", "", &o), 0);
	assert_string_equal(hdr(&W, "Set-Cookie", 1),
			    "sid=; Path=/authorize; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
			    "SameSite=Strict");

	/* Session cookie: no Max-Age. */
	o = (struct http_cookie_opts){ .max_age = -1, .same_site = "None", .secure = true };
	assert_int_equal(http_resp_cookie(&W, "s", "v", &o), 0);
	assert_string_equal(hdr(&W, "Set-Cookie", 2), "s=v; Path=/; Secure; SameSite=None");

	/* Defaults without options: Path=/, HttpOnly, Lax, session. */
	assert_int_equal(http_resp_cookie(&W, "d", "1", NULL), 0);
	assert_string_equal(hdr(&W, "Set-Cookie", 3), "d=1; Path=/; HttpOnly; SameSite=Lax");
	assert_int_equal(hdr_count(&W, "Set-Cookie"), 4);
}

static void
test_cookie_refused(void **state)
{
	struct http_cookie_opts o = { .max_age = -1, .secure = false, .http_only = true };
	struct http_cookie_opts sec = { .max_age = -1, .secure = true };
	static const char *bad_values[] = {
		"a;b", "a b", "a,b", "a\"b", "a\\b", "a\r\nSet-Cookie: x=y", "a\x7f", "\xc3\xa6",
	};
	static const char *bad_names[] = { "", "a b", "a=b", "a;b", "a\r\n", "a(b)", "a\"b" };
	char big[4200];

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++)
		assert_int_equal(http_resp_cookie(&W, "n", bad_values[i], &o), ERR_INVAL);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		assert_int_equal(http_resp_cookie(&W, bad_names[i], "v", &o), ERR_INVAL);
	assert_int_equal(http_resp_cookie(&W, NULL, "v", &o), ERR_INVAL);

	/* Bad attributes. */
	o.path = "/a;Domain=evil.example";
	assert_int_equal(http_resp_cookie(&W, "n", "v", &o), ERR_INVAL);
	o.path = "relative";
	assert_int_equal(http_resp_cookie(&W, "n", "v", &o), ERR_INVAL);
	o.path = "/";
	o.same_site = "Sometimes";
	assert_int_equal(http_resp_cookie(&W, "n", "v", &o), ERR_INVAL);
	/* SameSite=None needs Secure. */
	o.same_site = "None";
	assert_int_equal(http_resp_cookie(&W, "n", "v", &o), ERR_INVAL);
	o.same_site = NULL;

	/* Prefixes keep their promises. */
	assert_int_equal(http_resp_cookie(&W, "__Secure-x", "v", &o), ERR_INVAL);
	assert_int_equal(http_resp_cookie(&W, "__Host-x", "v", &o), ERR_INVAL);
	sec.path = "/sub";
	assert_int_equal(http_resp_cookie(&W, "__Host-x", "v", &sec), ERR_INVAL);
	sec.path = "/";
	assert_int_equal(http_resp_cookie(&W, "__Host-x", "v", &sec), 0);
	assert_int_equal(http_resp_cookie(&W, "__Secure-x", "v", &sec), 0);

	/* Too big for a browser to keep. */
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(http_resp_cookie(&W, "n", big, &o), ERR_LIMIT);

	assert_int_equal(hdr_count(&W, "Set-Cookie"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header_injection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oauth_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
