/*
 * Tests for ui/pages.c and ui/i18n.c: the gettext catalogues (compiled from po/ at
 * build time) in nb, nn, en and se, the fallback to bokmål, language
 * choice (cookie > ui_locales > nb), placeholders and HTML escaping, the
 * accessible field markup, and the error page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ui/pages.h"

/* The rendered markup contains (or lacks) a fragment. */
#define assert_has(html, frag) assert_non_null(strstr((html), (frag)))
#define assert_lacks(html, frag) assert_null(strstr((html), (frag)))

static void
test_catalogues(void **state)
{
	(void)state;
	assert_true(page_translations_loaded());
	assert_string_equal(page_text("nb", "Cancel"), "Avbryt");
	assert_string_equal(page_text("nn", "Choose electronic ID"), "Vel elektronisk ID");
	assert_string_equal(page_text("se", "Cancel"), "Gaskkalduhte");
	assert_string_equal(page_text("en", "Cancel"), "Cancel");
	assert_string_equal(page_text("nb", "Log in with MinID"), "Logg inn med MinID");
	/* an unknown language is bokmål; an unknown text stays itself */
	assert_string_equal(page_text("de", "Cancel"), "Avbryt");
	assert_string_equal(page_text(NULL, "Cancel"), "Avbryt");
	assert_string_equal(page_text("nn", "No such text anywhere"), "No such text anywhere");
	assert_string_equal(page_text("nb", ""), "");
	assert_string_equal(page_text("nb", NULL), "");
}

static void
test_lang_pick(void **state)
{
	(void)state;
	assert_string_equal(page_lang_pick(STR_LIT("de nn en")), "nn");
	assert_string_equal(page_lang_pick(STR_LIT("nb-NO")), "nb");
	assert_string_equal(page_lang_pick(STR_LIT("no")), "nb");
	assert_string_equal(page_lang_pick(STR_LIT("sme")), "se");
	assert_null(page_lang_pick(STR_LIT("fr de")));
	assert_null(page_lang_pick(STR_LIT("")));
	assert_null(page_lang_pick(STR_LIT("nbx")));
}

static void
test_page_lang_cookie_first(void **state)
{
	struct http_param cookie = { STR_LIT(PAGE_LANG_COOKIE), STR_LIT("se") };
	struct http_req r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_string_equal(page_lang(&r, "en"), "en");
	assert_string_equal(page_lang(&r, NULL), "nb");
	r.cookies.v = &cookie;
	r.cookies.n = 1;
	assert_string_equal(page_lang(&r, "en"), "se");
	/* a forged cookie value is ignored */
	cookie.value = STR_LIT("<script>");
	assert_string_equal(page_lang(&r, "nn"), "nn");
}

static void
test_put_escapes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	page_put(&b, "en", "We have sent a one-time code to {mobile}. It is valid for 5 minutes.",
		 "mobile", "<b>&\"");
	assert_string_equal(b.p, "We have sent a one-time code to &lt;b&gt;&amp;&quot;. It is "
				 "valid for 5 minutes.");
	buf_reset(&b);
	page_put(&b, "nb", "We have sent a one-time code to {mobile}. It is valid for 5 minutes.",
		 "mobile", "+47******67");
	assert_has(b.p, "engangskode til +47******67");
	buf_reset(&b);
	page_put(&b, "nb", "Cancel", "missing", "x");
	assert_string_equal(b.p, "Avbryt");
	buf_free(&b);
}

static void
test_field_markup(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8192);
	page_field(&b, "en", "pid", "text", "National identity number", "11 digits",
		   "\"><script>", "Enter your password.", "required");
	assert_has(b.p, "<label for=\"pid\">National identity number</label>");
	assert_has(b.p, "id=\"pid-hint\"");
	assert_has(b.p, "id=\"pid-error\"");
	assert_has(b.p, "aria-describedby=\"pid-hint pid-error\"");
	assert_has(b.p, "aria-invalid=\"true\"");
	assert_lacks(b.p, "<script>");
	buf_reset(&b);
	/* a password is never written back into the page */
	page_field(&b, "nb", "password", "password", "Password", NULL, "hunter2", "#form-error",
		   NULL);
	assert_lacks(b.p, "hunter2");
	assert_has(b.p, "aria-describedby=\"form-error\"");
	assert_lacks(b.p, "field-error");
	assert_has(b.p, ">Passord</label>");
	buf_free(&b);
}

static void
test_layout(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 65536);
	page_begin(&b, "nn", "Choose electronic ID");
	page_end(&b, "nn", "/login?ar=x&y");
	assert_has(b.p, "<html lang=\"nn\">");
	assert_has(b.p, "<title>Vel elektronisk ID – ID-porten</title>");
	assert_has(b.p, "href=\"#main\"");
	assert_has(b.p, "<main id=\"main\">");
	/* a switch link per other language, each marked with its language */
	assert_has(b.p, "lang=\"se\" hreflang=\"se\" href=\"/login?ar=x&amp;y&amp;lang=se\"");
	assert_lacks(b.p, "hreflang=\"nn\"");
	buf_reset(&b);
	page_begin(&b, "en", "TestID");
	page_end(&b, "en", "/testid");
	assert_has(b.p, "href=\"/testid?lang=nb\"");
	buf_free(&b);
}

static void
test_error_page(void **state)
{
	struct http_req r;
	struct http_resp w;
	struct arena *a = arena_new();

	(void)state;
	memset(&r, 0, sizeof(r));
	r.arena = a;
	memcpy(r.rid, "0123456789abcdef", 17);
	http_resp_init(&w, a);
	page_error(&r, &w, 400, "nb", "invalid_request", "<img src=x>");
	assert_int_equal(w.status, 400);
	assert_has(w.body.p, "Noe gikk galt");
	assert_has(w.body.p, "&lt;img src=x&gt;");
	assert_has(w.body.p, "invalid_request");
	assert_has(w.body.p, "0123456789abcdef");
	http_resp_free(&w);
	arena_free(a);
}

static void
test_hidden_escapes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	page_hidden(&b, "state", "\"><script>");
	assert_string_equal(b.p, "<input type=\"hidden\" name=\"state\" "
				 "value=\"&quot;&gt;&lt;script&gt;\">");
	/* an absent value writes no field */
	buf_reset(&b);
	page_hidden(&b, "state", NULL);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static bool
secure_always(const struct http_req *r)
{
	(void)r;
	return true;
}

static bool
secure_never(const struct http_req *r)
{
	(void)r;
	return false;
}

static void
test_lang_choose(void **state)
{
	struct http_param q = { STR_LIT("lang"), STR_LIT("nn") };
	struct http_req r;
	struct http_resp w;
	struct arena *a = arena_new();

	(void)state;
	memset(&r, 0, sizeof(r));
	r.arena = a;
	http_resp_init(&w, a);
	/* no ?lang=: the fallback, and no cookie */
	assert_string_equal(page_lang_choose(&r, &w, "en"), "en");
	assert_int_equal(w.nheaders, 0);
	/* ?lang= wins and is remembered */
	r.query.v = &q;
	r.query.n = 1;
	assert_string_equal(page_lang_choose(&r, &w, "en"), "nn");
	assert_int_equal(w.nheaders, 1);
	assert_has(w.headers[0].value, PAGE_LANG_COOKIE "=nn");
	/* without ui_init() the cookie is Secure only over TLS */
	assert_lacks(w.headers[0].value, "Secure");
	http_resp_reset(&w);
	r.tls = true;
	assert_string_equal(page_lang_choose(&r, &w, "en"), "nn");
	assert_has(w.headers[0].value, "; Secure");
	r.tls = false;
	http_resp_reset(&w);
	/* with it, the rule every cookie follows decides (app_cookie_secure) */
	ui_init(&(struct ui_settings){ .cookie_secure = secure_always });
	assert_string_equal(page_lang_choose(&r, &w, "en"), "nn");
	assert_int_equal(w.nheaders, 1);
	assert_has(w.headers[0].value, "; Secure");
	http_resp_reset(&w);
	ui_init(&(struct ui_settings){ .cookie_secure = secure_never });
	r.tls = true;
	assert_string_equal(page_lang_choose(&r, &w, "en"), "nn");
	assert_lacks(w.headers[0].value, "Secure");
	r.tls = false;
	ui_init(&(struct ui_settings){ 0 });
	/* a hostile pick is ignored and not remembered */
	http_resp_reset(&w);
	q.value = STR_LIT("\"; Domain=evil");
	assert_string_equal(page_lang_choose(&r, &w, "en"), "en");
	assert_int_equal(w.nheaders, 0);
	http_resp_free(&w);
	arena_free(a);
}

/* The address a page names: escaped into the one script, whose nonce the policy allows. */
static void
test_address_script(void **state)
{
	struct http_resp w;
	struct arena *a = arena_new();
	struct buf b;
	char nonce[64], want[128];
	const char *at, *end;

	(void)state;
	http_resp_init(&w, a);
	buf_init(&b, 1024);
	page_address(&w, &b, "/login?ar=x\"><script>&y=1");
	assert_has(b.p, "data-url=\"/login?ar=x&quot;&gt;&lt;script&gt;&amp;y=1\"");
	assert_has(b.p, ">history.replaceState(null,\"\",document.currentScript.dataset.url);</script>");
	assert_int_equal(w.nheaders, 1);
	assert_string_equal(w.headers[0].name, "Content-Security-Policy");
	assert_has(w.headers[0].value, "default-src 'none'");
	assert_has(w.headers[0].value, "frame-ancestors 'none'");
	/* the policy's nonce is the script's */
	at = strstr(w.headers[0].value, "'nonce-");
	assert_non_null(at);
	end = strchr(at + 7, '\'');
	assert_non_null(end);
	assert_true((size_t)(end - at - 7) < sizeof(nonce));
	memcpy(nonce, at + 7, (size_t)(end - at - 7));
	nonce[end - at - 7] = '\0';
	assert_true(strlen(nonce) >= 40);
	snprintf(want, sizeof(want), "<script nonce=\"%s\" data-url=", nonce);
	assert_has(b.p, want);
	/* one script only */
	assert_null(strstr(strstr(b.p, "<script") + 1, "<script"));
	buf_free(&b);
	http_resp_free(&w);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogues),
		cmocka_unit_test(test_lang_pick),
		cmocka_unit_test(test_page_lang_cookie_first),
		cmocka_unit_test(test_put_escapes),
		cmocka_unit_test(test_field_markup),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_error_page),
		cmocka_unit_test(test_hidden_escapes),
		cmocka_unit_test(test_lang_choose),
		cmocka_unit_test(test_address_script),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
