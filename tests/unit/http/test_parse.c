#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "http/http.h"
#include "http/http_int.h"

static struct arena *A;

static int
setup(void **state)
{
	A = arena_new();
	return A ? 0 : -1;
}

static int
teardown(void **state)
{
	arena_free(A);
	A = NULL;
	return 0;
}

static int
parse(const char *s, struct http_params *p, struct err *e)
{
	err_clear(e);
	return http_parse_urlencoded(A, str_c(s), p, e);
}

static void
assert_param(const struct http_params *p, const char *name, const char *want)
{
	struct str v;

	assert_int_equal(http_param(p, name, &v), 0);
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(v.p, want, v.len);
	assert_string_equal(http_param_c(p, name), want);
}

/* ---- the request path ---- */

static void
test_path_canonical(void **state)
{
	static const char *const good[] = { "/metrics", "/", "", "/a%20b", "/%3A%40", "/caf%C3%A9",
					    "/x%2", "/x%", "/%zz", "/100%25" };
	static const char *const bad[] = { "/%6detrics", "/%6Detrics", "/health%2Flive",
					   "/health%2flive", "/%2E%2E/x", "/a%7E", "/a%5F", "/%30",
					   "/a%2D" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(http_path_canonical(str_c(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(http_path_canonical(str_c(bad[i])));
}

/* ---- urlencoded ---- */

static void
test_form_plain(void **state)
{
	struct http_params p;
	struct err e;

	assert_int_equal(parse("response_type=code&client_id=abc&scope=openid", &p, &e), 0);
	assert_int_equal(p.n, 3);
	assert_param(&p, "response_type", "code");
	assert_param(&p, "client_id", "abc");
	assert_param(&p, "scope", "openid");
	assert_int_equal(http_param(&p, "state", NULL), ERR_NOTFOUND);
	assert_null(http_param_c(&p, "state"));

	assert_int_equal(parse("", &p, &e), 0);
	assert_int_equal(p.n, 0);
	/* Empty sequences are skipped. */
	assert_int_equal(parse("&a=1&&b=2&", &p, &e), 0);
	assert_int_equal(p.n, 2);
}

static void
test_form_escapes(void **state)
{
	struct http_params p;
	struct err e;

	assert_int_equal(parse("scope=openid+profile&x=a%2Bb&y=a%20b&z=%C3%A6%c3%b8", &p, &e), 0);
	assert_param(&p, "scope", "openid profile");
	assert_param(&p, "x", "a+b");
	assert_param(&p, "y", "a b");
	assert_param(&p, "z", "\xc3\xa6\xc3\xb8");
	/* Escapes in names too. */
	assert_int_equal(parse("a%5Fb=1", &p, &e), 0);
	assert_param(&p, "a_b", "1");
	/* Only the first '=' separates. */
	assert_int_equal(parse("a=b=c", &p, &e), 0);
	assert_param(&p, "a", "b=c");
}

static void
test_form_empty_value(void **state)
{
	struct http_params p;
	struct err e;

	assert_int_equal(parse("state=&nonce", &p, &e), 0);
	assert_int_equal(p.n, 2);
	/* An empty value is present. */
	assert_param(&p, "state", "");
	assert_param(&p, "nonce", "");
}

static void
test_form_duplicates(void **state)
{
	struct http_params p;
	struct str v;
	struct err e;

	assert_int_equal(parse("client_id=a&scope=openid&client_id=b", &p, &e), 0);
	assert_int_equal(p.n, 3);
	assert_int_equal(http_param(&p, "client_id", &v), ERR_DUP);
	assert_null(http_param_c(&p, "client_id"));
	/* Also when both are empty or equal. */
	assert_int_equal(parse("x=&x=", &p, &e), 0);
	assert_int_equal(http_param(&p, "x", &v), ERR_DUP);
	assert_int_equal(parse("x=1&x=1", &p, &e), 0);
	assert_int_equal(http_param(&p, "x", &v), ERR_DUP);
	/* A NULL table has nothing. */
	assert_int_equal(http_param(NULL, "x", &v), ERR_NOTFOUND);
}

static void
test_form_bad_escapes(void **state)
{
	static const char *bad[] = {
		"a=%G1", "a=%1G", "a=%", "a=%4", "a=b%", "%=1", "a=%%41", "a=%0", "a%ZZ=1",
	};
	struct http_params p;
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &p, &e), ERR_INVAL);
		assert_int_equal(e.code, ERR_INVAL);
		assert_string_equal(e.oauth, "invalid_request");
		assert_true(e.msg[0] != '\0');
		/* Nothing half-parsed is left behind. */
		assert_int_equal(p.n, 0);
		assert_null(p.v);
	}
}

static void
test_form_refused_bytes(void **state)
{
	static const char *bad[] = {
		"a=%00",          /* decoded NUL */
		"a%00=1",         /* in a name */
		"a=%C3%28",       /* invalid continuation */
		"a=%FF",          /* never valid in UTF-8 */
		"a=%C0%AF",       /* overlong '/' */
		"a=%ED%A0%80",    /* surrogate */
		"a=%E2%82",       /* truncated sequence */
		"a=%0D%0ASet-Cookie:x", /* CR LF */
		"a=%0A",
		"a=%09",          /* TAB is a control character */
		"a=%7F",          /* DEL */
		"a=%C2%85",       /* C1 control NEL */
		"a=x\ny",         /* raw LF */
		"=v",             /* empty name */
		"=",
	};
	struct http_params p;
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], &p, &e);

		if (rc != ERR_INVAL)
			fail_msg("accepted or wrong code %d for %s", rc, bad[i]);
		assert_int_equal(p.n, 0);
	}
	/* A raw NUL inside the bytes (not the C string): the length says where it ends. */
	err_clear(&e);
	assert_int_equal(http_parse_urlencoded(A, (struct str){ "a=b\0c", 5 }, &p, &e), ERR_INVAL);
}

static void
test_form_limits(void **state)
{
	struct http_params p;
	struct err e;
	struct buf b;
	char name[HTTP_MAX_PARAM_NAME + 2];

	/* Exactly HTTP_MAX_PARAMS parameters pass, one more fails. */
	buf_init(&b, 1 << 20);
	for (int i = 0; i < HTTP_MAX_PARAMS; i++)
		assert_int_equal(buf_printf(&b, "%sp%d=%d", i ? "&" : "", i, i), 0);
	assert_int_equal(parse(b.p, &p, &e), 0);
	assert_int_equal(p.n, HTTP_MAX_PARAMS);
	assert_int_equal(buf_puts(&b, "&one=more"), 0);
	assert_int_equal(parse(b.p, &p, &e), ERR_LIMIT);
	assert_int_equal(e.code, ERR_LIMIT);
	assert_int_equal(p.n, 0);

	/* Value length: the limit counts decoded bytes. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "v="), 0);
	for (int i = 0; i < HTTP_MAX_PARAM_VALUE; i++)
		assert_int_equal(buf_puts(&b, "x"), 0);
	assert_int_equal(parse(b.p, &p, &e), 0);
	assert_int_equal(p.v[0].value.len, HTTP_MAX_PARAM_VALUE);
	assert_int_equal(buf_puts(&b, "x"), 0);
	assert_int_equal(parse(b.p, &p, &e), ERR_LIMIT);
	/* Far too long, and escaped: refused before decoding. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "v="), 0);
	for (int i = 0; i < HTTP_MAX_PARAM_VALUE + 1; i++)
		assert_int_equal(buf_puts(&b, "%41"), 0);
	assert_int_equal(parse(b.p, &p, &e), ERR_LIMIT);
	buf_free(&b);

	/* Name length. */
	memset(name, 'n', sizeof(name) - 1);
	name[HTTP_MAX_PARAM_NAME] = '\0';
	assert_int_equal(parse(name, &p, &e), 0);
	name[HTTP_MAX_PARAM_NAME] = 'n';
	name[HTTP_MAX_PARAM_NAME + 1] = '\0';
	assert_int_equal(parse(name, &p, &e), ERR_LIMIT);

	/* Many empty sequences cost nothing and do not count. */
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_puts(&b, "&"), 0);
	assert_int_equal(buf_puts(&b, "a=1"), 0);
	assert_int_equal(parse(b.p, &p, &e), 0);
	assert_int_equal(p.n, 1);
	buf_free(&b);
}

/* ---- cookies ---- */

static void
test_cookies(void **state)
{
	struct http_req r = { .arena = A };
	struct err e;

	err_clear(&e);
	assert_int_equal(http_parse_cookies(A, str_c("sid=abc; csrf=x.y-z;lang=nb"), &r.cookies, &e), 0);
	assert_int_equal(r.cookies.n, 3);
	assert_string_equal(http_cookie(&r, "sid"), "abc");
	assert_string_equal(http_cookie(&r, "csrf"), "x.y-z");
	assert_string_equal(http_cookie(&r, "lang"), "nb");
	assert_null(http_cookie(&r, "other"));

	/* Spaces and tabs around pairs and around '=', pairs without '=' or name skipped. */
	assert_int_equal(http_parse_cookies(A, str_c("  a = 1 ;\tjunk; ;=x; b=;c=d=e  "), &r.cookies, &e),
			 0);
	assert_string_equal(http_cookie(&r, "a"), "1");
	assert_string_equal(http_cookie(&r, "b"), "");
	assert_string_equal(http_cookie(&r, "c"), "d=e");
	assert_null(http_cookie(&r, "junk"));
	assert_int_equal(r.cookies.n, 6);

	/* Appending: a second Cookie header adds to the list; a tossed duplicate gives none. */
	assert_int_equal(http_parse_cookies(A, str_c("sid=evil"), &r.cookies, &e), 0);
	assert_int_equal(r.cookies.n, 7);
	assert_null(http_cookie(&r, "sid"));
	assert_string_equal(http_cookie(&r, "lang"), "nb");

	/* Empty header. */
	r.cookies = (struct http_params){ NULL, 0 };
	assert_int_equal(http_parse_cookies(A, str_c(""), &r.cookies, &e), 0);
	assert_int_equal(r.cookies.n, 0);
}

/* A cookie set by this response, seen by the rest of the request. */
static void
test_cookie_add(void **state)
{
	struct http_req r = { .arena = A };
	struct err e;

	err_clear(&e);
	http_req_cookie_add(&r, "b", "new");
	assert_string_equal(http_cookie(&r, "b"), "new");
	assert_int_equal(http_parse_cookies(A, str_c("lang=nb; b=short"), &r.cookies, &e), 0);
	assert_null(http_cookie(&r, "b")); /* two of one name give none */
	/* the one set replaces every one of its name the browser sent */
	http_req_cookie_add(&r, "b", "fresh");
	assert_string_equal(http_cookie(&r, "b"), "fresh");
	assert_string_equal(http_cookie(&r, "lang"), "nb");
	assert_int_equal(r.cookies.n, 2);
}

static void
test_cookies_hostile(void **state)
{
	struct http_params c = { NULL, 0 };
	struct err e;
	struct buf b;

	err_clear(&e);
	assert_int_equal(http_parse_cookies(A, str_c("a=1\r\nX: y"), &c, &e), ERR_INVAL);
	assert_int_equal(http_parse_cookies(A, (struct str){ "a=1\0b", 5 }, &c, &e), ERR_INVAL);
	assert_int_equal(http_parse_cookies(A, str_c("a=\xff"), &c, &e), ERR_INVAL);
	assert_int_equal(c.n, 0);

	/* Count limit, also across calls. */
	buf_init(&b, 1 << 20);
	for (int i = 0; i < HTTP_MAX_COOKIES; i++)
		assert_int_equal(buf_printf(&b, "c%d=%d; ", i, i), 0);
	assert_int_equal(http_parse_cookies(A, str_c(b.p), &c, &e), 0);
	assert_int_equal(c.n, HTTP_MAX_COOKIES);
	assert_int_equal(http_parse_cookies(A, str_c("one=more"), &c, &e), ERR_LIMIT);
	assert_int_equal(c.n, HTTP_MAX_COOKIES);
	assert_int_equal(buf_puts(&b, "x=y"), 0);
	c = (struct http_params){ NULL, 0 };
	assert_int_equal(http_parse_cookies(A, str_c(b.p), &c, &e), ERR_LIMIT);
	assert_int_equal(c.n, 0);

	/* Length limits. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "v="), 0);
	for (int i = 0; i <= HTTP_MAX_PARAM_VALUE; i++)
		assert_int_equal(buf_puts(&b, "x"), 0);
	assert_int_equal(http_parse_cookies(A, str_c(b.p), &c, &e), ERR_LIMIT);
	buf_reset(&b);
	for (int i = 0; i <= HTTP_MAX_PARAM_NAME; i++)
		assert_int_equal(buf_puts(&b, "n"), 0);
	assert_int_equal(buf_puts(&b, "=1"), 0);
	assert_int_equal(http_parse_cookies(A, str_c(b.p), &c, &e), ERR_LIMIT);
	buf_free(&b);
}

/* ---- Authorization ---- */

static struct http_req
req_with(const char *authz, const char *authz2)
{
	struct http_req r = { .arena = A };
	struct http_param *h = arena_alloc(A, 3 * sizeof(*h));

	h[r.headers.n++] = (struct http_param){ STR_LIT("host"), STR_LIT("example.com") };
	if (authz)
		h[r.headers.n++] = (struct http_param){ STR_LIT("authorization"), str_c(authz) };
	if (authz2)
		h[r.headers.n++] = (struct http_param){ STR_LIT("authorization"), str_c(authz2) };
	r.headers.v = h;
	return r;
}

static int
basic(const char *hdr, struct str *u, struct str *p)
{
	struct http_req r = req_with(hdr, NULL);
	struct err e;

	err_clear(&e);
	return http_basic_auth(&r, u, p, &e);
}

static void
test_basic_good(void **state)
{
	struct str u, p;
	struct http_req r = req_with("Basic Y2xpZW50OnNlY3JldA==", NULL);
	struct err e;

	/* "client:secret" */
	assert_int_equal(http_basic_auth(&r, &u, &p, &e), 0);
	assert_true(str_eq_c(u, "client"));
	assert_true(str_eq_c(p, "secret"));
	assert_string_equal(http_header(&r, "Authorization"), "Basic Y2xpZW50OnNlY3JldA==");
	assert_string_equal(http_header(&r, "HOST"), "example.com");
	assert_null(http_header(&r, "cookie"));
	/* Scheme is case-insensitive. */
	assert_int_equal(basic("bAsIc Y2xpZW50OnNlY3JldA==", &u, &p), 0);
	/* "a:" : empty secret is the caller's business, and padding variants. */
	assert_int_equal(basic("Basic YTo=", &u, &p), 0);
	assert_true(str_eq_c(u, "a"));
	assert_int_equal(p.len, 0);
	/* "ab:c:d" -> secret keeps later colons. */
	assert_int_equal(basic("Basic YWI6Yzpk", &u, &p), 0);
	assert_true(str_eq_c(u, "ab"));
	assert_true(str_eq_c(p, "c:d"));
}

static void
test_basic_urlencoded(void **state)
{
	struct str u, p;

	/* "my%3Aclient:p%40ss+word%25" -> "my:client" / "p@ss word%" (RFC 6749 §2.3.1) */
	assert_int_equal(basic("Basic bXklM0FjbGllbnQ6cCU0MHNzK3dvcmQlMjU=", &u, &p), 0);
	assert_true(str_eq_c(u, "my:client"));
	assert_true(str_eq_c(p, "p@ss word%"));
	/* "a:%ZZ" -> bad escape in the secret */
	assert_int_equal(basic("Basic YTolWlo=", &u, &p), ERR_INVAL);
	/* "a:%00" -> decoded NUL */
	assert_int_equal(basic("Basic YTolMDA=", &u, &p), ERR_INVAL);
	/* "a:b\r\n" raw CR LF inside the credentials */
	assert_int_equal(basic("Basic YTpiDQo=", &u, &p), ERR_INVAL);
}

static void
test_basic_bad(void **state)
{
	struct str u, p;
	struct http_req r;
	struct err e;

	/* "clientsecret" (no colon) */
	assert_int_equal(basic("Basic Y2xpZW50c2VjcmV0", &u, &p), ERR_INVAL);
	/* ":secret" (empty id) */
	assert_int_equal(basic("Basic OnNlY3JldA==", &u, &p), ERR_INVAL);
	/* Bad base64: wrong alphabet, bad length, bad padding, nothing at all. */
	assert_int_equal(basic("Basic Y2xpZW50OnNlY3JldA", &u, &p), ERR_INVAL);
	assert_int_equal(basic("Basic Y2xp-W50OnNlY3JldA==", &u, &p), ERR_INVAL);
	assert_int_equal(basic("Basic Y2xp_W50OnNlY3JldA==", &u, &p), ERR_INVAL);
	assert_int_equal(basic("Basic ====", &u, &p), ERR_INVAL);
	assert_int_equal(basic("Basic A===", &u, &p), ERR_INVAL);
	assert_int_equal(basic("Basic YT=6", &u, &p), ERR_INVAL);
	assert_int_equal(basic("Basic ", &u, &p), ERR_INVAL);
	assert_int_equal(basic("Basic", &u, &p), ERR_INVAL);
	assert_int_equal(basic("Basic Y2xp ZW50", &u, &p), ERR_INVAL);
	/* Wrong or missing scheme. */
	assert_int_equal(basic("Bearer abc", &u, &p), ERR_NOTFOUND);
	assert_int_equal(basic("Basicx Y2xpZW50OnNlY3JldA==", &u, &p), ERR_NOTFOUND);
	assert_int_equal(basic(NULL, &u, &p), ERR_NOTFOUND);
	/* Two Authorization headers. */
	r = req_with("Basic Y2xpZW50OnNlY3JldA==", "Basic YTo=");
	err_clear(&e);
	assert_int_equal(http_basic_auth(&r, &u, &p, &e), ERR_INVAL);
	assert_string_equal(e.oauth, "invalid_client");
}

static void
test_basic_too_long(void **state)
{
	struct buf b;
	struct str u, p;

	buf_init(&b, 1 << 20);
	assert_int_equal(buf_puts(&b, "Basic "), 0);
	for (int i = 0; i < 3 * HTTP_MAX_PARAM_VALUE; i++)
		assert_int_equal(buf_puts(&b, "QUFB"), 0);
	assert_int_equal(basic(b.p, &u, &p), ERR_INVAL);
	buf_free(&b);
}

static int
bearer(const char *hdr, struct str *t)
{
	struct http_req r = req_with(hdr, NULL);

	return http_bearer(&r, t);
}

static void
test_bearer(void **state)
{
	struct str t;
	struct http_req r;

	assert_int_equal(bearer("Bearer abc.DEF-123_~+/==", &t), 0);
	assert_true(str_eq_c(t, "abc.DEF-123_~+/=="));
	assert_int_equal(bearer("bearer tok", &t), 0);
	assert_true(str_eq_c(t, "tok"));
	assert_int_equal(bearer("BEARER tok", &t), 0);

	assert_int_equal(bearer(NULL, &t), ERR_NOTFOUND);
	assert_int_equal(bearer("Basic YTo=", &t), ERR_NOTFOUND);
	assert_int_equal(bearer("Bearerx tok", &t), ERR_NOTFOUND);
	assert_int_equal(bearer("Bearer", &t), ERR_INVAL);
	assert_int_equal(bearer("Bearer ", &t), ERR_INVAL);
	assert_int_equal(bearer("Bearer  tok", &t), ERR_INVAL);   /* two spaces */
	assert_int_equal(bearer("Bearer tok ", &t), ERR_INVAL);   /* trailing space */
	assert_int_equal(bearer("Bearer to ken", &t), ERR_INVAL);
	assert_int_equal(bearer("Bearer tok\"", &t), ERR_INVAL);
	assert_int_equal(bearer("Bearer =abc", &t), ERR_INVAL);
	assert_int_equal(bearer("Bearer ab=c", &t), ERR_INVAL);
	assert_int_equal(bearer("Bearer t\x01k", &t), ERR_INVAL);
	assert_int_equal(bearer("Bearer t,k", &t), ERR_INVAL);
	r = req_with("Bearer a", "Bearer b");
	assert_int_equal(http_bearer(&r, &t), ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_canonical),
		cmocka_unit_test_setup_teardown(test_form_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_form_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_form_empty_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_form_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_form_bad_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_form_refused_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_form_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookies_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_urlencoded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bearer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
