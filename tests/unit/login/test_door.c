/*
 * Tests for the door in front of the eIDs' pages (login/door.c, eid/eid.h):
 * a page inside a login is reached only with a live pending authorization
 * from the browser it is bound to and, on POST, the right CSRF token; it
 * then gets the login's fields.  The host behind the flow finishes or
 * ends the login with the client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../oauth/token_fixture.h"
#include "login/login_int.h"
#include "ui/pages.h"

/* What the page behind the door saw. */
static int reached;
static struct eid_flow seen;
static bool seen_null;
/* When set, the page completes the login itself, as an eID does. */
static const struct eid_result *page_completes;
/* When set, the page gives up on the login, as an eID does. */
static bool page_fails;

static void
page(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	reached++;
	seen_null = flow == NULL;
	if (flow != NULL) {
		seen = *flow;
		/* A copy outlives the request: it must not borrow the door's pending request. */
		seen.core = NULL;
	}
	if (flow != NULL && page_completes != NULL)
		flow->host->complete(flow, r, w, page_completes);
	else if (flow != NULL && page_fails)
		(flow->host->fail)(flow, r, w,
				   &(struct err){ .code = ERR_DENIED, .msg = "the person went away" });
	else
		http_resp_text(w, 200, "page");
}

static const struct eid_route door_routes[] = {
	{ "GET", "/doorid", page, EID_DOOR_LOGIN },
	{ "POST", "/doorid", page, EID_DOOR_LOGIN },
	{ "GET", "/doorid/own", page, EID_DOOR_OWN },
	{ "GET", "/doorid/none", page, EID_DOOR_NONE },
	{ "POST", "/doorid/form", page, EID_DOOR_FORM },
	{ NULL, NULL, NULL, EID_DOOR_NONE },
};

static const struct eid_provider door_eid = {
	.name = "doorid", .display = "DoorID", .desc_key = "DoorID", .path = "/doorid",
	.levels = EID_LEVEL_SUBSTANTIAL | EID_LEVEL_HIGH, .routes = door_routes,
};

static char ar[4096];   /* a sealed ar */
static char browser[TOKEN_CHARS + 1];

/* A client with a name and a login of it in progress, bound to browser. */
static int
setup(void **state)
{
	struct err e = { 0 };
	struct authz_request a;
	struct treq t;
	json_t *areq;

	if (fx_setup(state) != 0)
		return -1;
	fx_cast();
	fx_client("{\"client_id\":\"named\",\"client_name\":\"The Named Service\","
		  "\"integration_type\":\"idporten\",\"token_endpoint_auth_method\":\"none\","
		  "\"grant_types\":[\"authorization_code\"],\"scopes\":[\"openid\"],"
		  "\"redirect_uris\":[\"" FX_REDIRECT "\"]}");
	areq = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "client_id", "named", "redirect_uri",
			 FX_REDIRECT, "response_mode", "query", "state", "st-1", "scope", "openid",
			 "acr", "idporten-loa-high", "locale", "nn", "max_age", (json_int_t)-1);
	assert_non_null(areq);
	treq_init(&t, "GET", "/authorize", NULL, NULL);
	assert_int_equal(areq_decode(areq, t.r.arena, &a, &e), 0);
	assert_int_equal(login_pending_store(&t.r, &t.w, &a, &e), 0);
	snprintf(ar, sizeof(ar), "%s", a.id);
	snprintf(browser, sizeof(browser), "%s", http_cookie(&t.r, "porten_b"));
	assert_int_equal(strlen(browser), TOKEN_CHARS);
	json_decref(areq);
	treq_free(&t);
	reached = 0;
	seen_null = false;
	page_completes = NULL;
	page_fails = false;
	memset(&seen, 0, sizeof(seen));
	return 0;
}

/* A request to the door for route i of door_eid; cookie NULL sends none. */
static void
serve(struct treq *t, size_t i, const char *params, const char *cookie)
{
	bool post = strcmp(door_routes[i].method, "POST") == 0;

	treq_init(t, door_routes[i].method, door_routes[i].path, post ? params : NULL, NULL);
	if (!post && params != NULL &&
	    http_parse_urlencoded(t->r.arena, str_c(params), &t->r.query, &t->r.input_err) != 0)
		t->r.bad_input = true;
	if (cookie != NULL)
		http_req_cookie_add(&t->r, "porten_b", cookie);
	login_eid_serve(&t->r, &t->w, &door_eid, &door_routes[i]);
}

/* What an eID found: a person at level high, now. */
static struct eid_result
result_now(void)
{
	return (struct eid_result){ .pid = FX_PID, .acr = "idporten-loa-high", .amr = "TestID",
				    .eid = "testid", .auth_time = time_now() };
}

static const char *
csrf_of(const char *cookie)
{
	static char tok[64];
	struct treq t;

	treq_init(&t, "GET", "/", NULL, NULL);
	http_req_cookie_add(&t.r, "porten_b", cookie);
	snprintf(tok, sizeof(tok), "%s", login_csrf(&t.r, ar));
	treq_free(&t);
	return tok;
}

/* The login's answer to its client with a code: the Location. */
static const char *
assert_code(struct treq *t)
{
	const char *loc = treq_header(t, "Location");

	assert_int_equal(t->w.status, 302);
	assert_non_null(loc);
	assert_int_equal(strncmp(loc, FX_REDIRECT "?code=", strlen(FX_REDIRECT) + 6), 0);
	return loc;
}

static void
test_good_flow_reaches_page(void **state)
{
	char q[4500];
	struct treq t;

	(void)state;
	snprintf(q, sizeof(q), "ar=%s", ar);
	serve(&t, 0, q, browser);
	assert_int_equal(t.w.status, 200);
	assert_int_equal(reached, 1);
	assert_false(seen_null);
	assert_string_equal(seen.ar, ar);
	assert_string_equal(seen.client_name, "The Named Service");
	assert_string_equal(seen.locale, "nn");
	assert_string_equal(seen.csrf, csrf_of(browser));
	assert_string_equal(seen.cancel_url, "/cancel");
	assert_int_equal(seen.min_level, EID_LEVEL_HIGH);
	assert_non_null(seen.host);
	assert_non_null(seen.host->complete);
	assert_non_null(seen.host->fail);
	treq_free(&t);

	/* A form with the right token gets through too. */
	snprintf(q, sizeof(q), "ar=%s&csrf=%s", ar, csrf_of(browser));
	serve(&t, 1, q, browser);
	assert_int_equal(t.w.status, 200);
	assert_int_equal(reached, 2);
	assert_string_equal(seen.ar, ar);
	treq_free(&t);
}

static void
test_bad_ar(void **state)
{
	static const char *const queries[] = {
		NULL,
		"ar=",
		"ar=short",
		"ar=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"ar=%00%00%00",
		"ar=%zz",
	};
	struct treq t;

	(void)state;
	/* On a page, and on a form that ends the login (no spent mark read first). */
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		serve(&t, 0, queries[i], browser);
		assert_int_equal(t.w.status, 400);
		assert_null(treq_header(&t, "Location"));
		treq_free(&t);
		serve(&t, 4, queries[i], browser);
		assert_int_equal(t.w.status, 400);
		assert_null(treq_header(&t, "Location"));
		treq_free(&t);
	}
	assert_int_equal(reached, 0);
}

static void
test_csrf_on_post(void **state)
{
	char form[4500];
	struct treq t;

	(void)state;
	snprintf(form, sizeof(form), "ar=%s", ar);
	serve(&t, 1, form, browser);
	assert_int_equal(t.w.status, 403);
	treq_free(&t);
	snprintf(form, sizeof(form), "ar=%s&csrf=", ar);
	serve(&t, 1, form, browser);
	assert_int_equal(t.w.status, 403);
	treq_free(&t);
	snprintf(form, sizeof(form), "ar=%s&csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ar);
	serve(&t, 1, form, browser);
	assert_int_equal(t.w.status, 403);
	treq_free(&t);
	/* The token of another browser is wrong here. */
	snprintf(form, sizeof(form), "ar=%s&csrf=%s", ar,
		 csrf_of("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"));
	serve(&t, 1, form, browser);
	assert_int_equal(t.w.status, 403);
	treq_free(&t);
	assert_int_equal(reached, 0);
}

static void
test_browser_binding(void **state)
{
	char q[4500];
	struct treq t;

	(void)state;
	snprintf(q, sizeof(q), "ar=%s", ar);
	serve(&t, 0, q, NULL);
	assert_int_equal(t.w.status, 400);
	treq_free(&t);
	serve(&t, 0, q, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB");
	assert_int_equal(t.w.status, 400);
	treq_free(&t);
	/* Another browser with its own valid token gets no further either, on either door. */
	snprintf(q, sizeof(q), "ar=%s&csrf=%s", ar,
		 csrf_of("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"));
	serve(&t, 1, q, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB");
	assert_int_equal(t.w.status, 400);
	treq_free(&t);
	serve(&t, 4, q, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB");
	assert_int_equal(t.w.status, 400);
	treq_free(&t);
	serve(&t, 4, q, NULL);
	assert_int_equal(t.w.status, 400);
	treq_free(&t);
	assert_int_equal(reached, 0);
}

static void
test_own_and_none(void **state)
{
	struct eid_flow f = { 0 };
	struct err e = { 0 };
	struct treq t;

	(void)state;
	serve(&t, 2, NULL, NULL);
	assert_int_equal(reached, 1);
	assert_false(seen_null);
	assert_null(seen.ar);
	assert_non_null(seen.host);
	treq_free(&t);

	/* The page joins a login itself: only from the bound browser. */
	treq_init(&t, "GET", "/doorid/own", NULL, NULL);
	http_req_cookie_add(&t.r, "porten_b", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB");
	assert_int_equal(seen.host->open(&t.r, ar, &f, &e), ERR_NOTFOUND);
	treq_free(&t);
	treq_init(&t, "GET", "/doorid/own", NULL, NULL);
	http_req_cookie_add(&t.r, "porten_b", browser);
	assert_int_equal(seen.host->open(&t.r, ar, &f, &e), 0);
	assert_string_equal(f.ar, ar);
	assert_string_equal(f.locale, "nn");
	assert_string_equal(f.client_name, "The Named Service");
	assert_int_equal(f.min_level, EID_LEVEL_HIGH);
	treq_free(&t);

	serve(&t, 3, NULL, NULL);
	assert_int_equal(reached, 2);
	assert_true(seen_null);
	treq_free(&t);
}

static void
test_test_only_outside_test(void **state)
{
	struct eid_provider p = door_eid;
	char q[4500];
	struct treq t;

	(void)state;
	p.test_only = true;
	fx_app.test_env = false;
	snprintf(q, sizeof(q), "ar=%s", ar);
	treq_init(&t, "GET", "/doorid", NULL, NULL);
	http_parse_urlencoded(t.r.arena, str_c(q), &t.r.query, &t.r.input_err);
	http_req_cookie_add(&t.r, "porten_b", browser);
	login_eid_serve(&t.r, &t.w, &p, &door_routes[0]);
	assert_int_equal(t.w.status, 404);
	assert_int_equal(reached, 0);
	treq_free(&t);
	fx_app.test_env = true;
}

/* The host: complete answers the client with a code, fail with an error; either spends the login. */
static void
test_host_complete_and_fail(void **state)
{
	struct eid_result res = result_now();
	struct err why = { 0 };
	char q[4500];
	struct treq t;
	const char *loc;

	(void)state;
	snprintf(q, sizeof(q), "ar=%s", ar);
	serve(&t, 0, q, browser);
	assert_int_equal(reached, 1);
	seen.host->complete(&seen, &t.r, &t.w, &res);
	loc = assert_code(&t);
	assert_non_null(strstr(loc, "state=st-1"));
	treq_free(&t);
	/* Spent: the door turns the next request away. */
	serve(&t, 0, q, browser);
	assert_int_equal(t.w.status, 400);
	assert_int_equal(reached, 1);
	treq_free(&t);

	/* A fresh login that the eID gives up on. */
	fx_teardown(state);
	assert_int_equal(setup(state), 0);
	snprintf(q, sizeof(q), "ar=%s", ar);
	serve(&t, 0, q, browser);
	(void)ERR(&why, ERR_NOTFOUND, 400, NULL, "the person went away");
	/* (cmocka defines a macro fail) */
	(seen.host->fail)(&seen, &t.r, &t.w, &why);
	assert_int_equal(t.w.status, 302);
	loc = treq_header(&t, "Location");
	assert_non_null(loc);
	assert_non_null(strstr(loc, "error=access_denied"));
	assert_non_null(strstr(loc, "state=st-1"));
	assert_null(strstr(loc, "code="));
	treq_free(&t);
	serve(&t, 0, q, browser);
	assert_int_equal(t.w.status, 400);
	treq_free(&t);
}

/* Completed inside the page: the host uses the request the door loaded, and the login is spent. */
static void
test_complete_in_page(void **state)
{
	struct eid_result res = result_now();
	char q[4500];
	struct treq t;

	(void)state;
	snprintf(q, sizeof(q), "ar=%s", ar);
	page_completes = &res;
	serve(&t, 0, q, browser);
	assert_int_equal(reached, 1);
	(void)assert_code(&t);
	treq_free(&t);
	page_completes = NULL;
	serve(&t, 0, q, browser);
	assert_int_equal(t.w.status, 400);
	assert_int_equal(reached, 1);
	treq_free(&t);
}

/* A finished login's error page: 400, in the person's language, nothing for the client. */
static void
assert_over(struct treq *t)
{
	const char *msg = page_text(page_lang(&t->r, NULL), "the login has expired or was finished");

	assert_int_equal(t->w.status, 400);
	assert_null(treq_header(t, "Location"));
	assert_non_null(memmem(t->w.body.p, t->w.body.len, msg, strlen(msg)));
}

/*
 * EID_DOOR_FORM: a POST reaches its page without the door's read of the
 * spent mark, and ending a finished login there (complete or fail) gets
 * the finished page, never a second answer to the client.
 */
static void
test_form_door_ends_once(void **state)
{
	struct eid_result res = result_now();
	char q[4500], form[4500];
	struct treq t;

	(void)state;
	snprintf(q, sizeof(q), "ar=%s", ar);
	snprintf(form, sizeof(form), "ar=%s&csrf=%s", ar, csrf_of(browser));
	/* The token is checked as behind EID_DOOR_LOGIN. */
	serve(&t, 4, q, browser);
	assert_int_equal(t.w.status, 403);
	treq_free(&t);
	assert_int_equal(reached, 0);
	page_completes = &res;
	serve(&t, 4, form, browser);
	assert_int_equal(reached, 1);
	(void)assert_code(&t);
	treq_free(&t);
	/* The same form again: the page runs, the end finds the login spent. */
	serve(&t, 4, form, browser);
	assert_int_equal(reached, 2);
	assert_over(&t);
	treq_free(&t);
	page_completes = NULL;
	page_fails = true;
	serve(&t, 4, form, browser);
	assert_int_equal(reached, 3);
	assert_over(&t);
	treq_free(&t);
	/* A page of the finished login is still turned away at the door. */
	serve(&t, 0, q, browser);
	assert_int_equal(reached, 3);
	assert_over(&t);
	treq_free(&t);
}

/* A store whose document writes find the database away. */
static int
put_away(struct store *s, const char *kind, const char *id, const json_t *doc,
	 int64_t expires_at, struct err *e)
{
	(void)s, (void)kind, (void)id, (void)doc, (void)expires_at;
	return ERR(e, ERR_UNAVAILABLE, 503, OAUTH_TEMPORARILY_UNAVAILABLE, "the store is away");
}

/* The busy page: 503, in the person's language, nothing for the client. */
static void
assert_busy(struct treq *t)
{
	const char *msg = page_text(page_lang(&t->r, NULL),
				    "the service is busy; please try again in a moment");

	assert_int_equal(t->w.status, 503);
	assert_null(treq_header(t, "Location"));
	assert_non_null(memmem(t->w.body.p, t->w.body.len, msg, strlen(msg)));
}

/* The store's login facet with document writes that find the database away. */
static struct store_login_ops away;

/* Send the store's document writes away: the real facet, to put back. */
static const struct store_login_ops *
store_goes_away(void)
{
	const struct store_login_ops *real = fx_app.store->login;

	away = *real;
	away.doc_put = put_away;
	fx_app.store->login = &away;
	return real;
}

/*
 * EID_DOOR_FORM with the store away at the end: nothing tells whether the
 * login was over (its client answered from another tab), so the person
 * gets the busy page and the client nothing, for complete and fail alike;
 * once the store is back the login ends once.
 */
static void
test_form_door_store_away(void **state)
{
	struct eid_result res = result_now();
	const struct store_login_ops *real;
	char form[4500];
	struct treq t;

	(void)state;
	snprintf(form, sizeof(form), "ar=%s&csrf=%s", ar, csrf_of(browser));
	real = store_goes_away();
	page_completes = &res;
	serve(&t, 4, form, browser);
	assert_busy(&t);
	treq_free(&t);
	page_completes = NULL;
	page_fails = true;
	serve(&t, 4, form, browser);
	assert_busy(&t);
	treq_free(&t);
	assert_int_equal(reached, 2);
	fx_app.store->login = real;
	page_fails = false;
	page_completes = &res;
	serve(&t, 4, form, browser);
	(void)assert_code(&t);
	treq_free(&t);
	serve(&t, 4, form, browser);
	assert_over(&t);
	treq_free(&t);
}

/*
 * Behind EID_DOOR_LOGIN the door read the login open: a store that fails
 * at the end tells the client temporarily_unavailable, so it can start
 * again (an eID such as MinID has ended its own steps by then).
 */
static void
test_login_door_store_away(void **state)
{
	struct eid_result res = result_now();
	const struct store_login_ops *real;
	char form[4500];
	struct treq t;
	const char *loc;

	(void)state;
	snprintf(form, sizeof(form), "ar=%s&csrf=%s", ar, csrf_of(browser));
	real = store_goes_away();
	page_completes = &res;
	serve(&t, 1, form, browser);
	fx_app.store->login = real;
	assert_int_equal(t.w.status, 302);
	loc = treq_header(&t, "Location");
	assert_non_null(loc);
	assert_non_null(strstr(loc, "error=temporarily_unavailable"));
	assert_null(strstr(loc, "code="));
	treq_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_flow_reaches_page, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_ar, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_csrf_on_post, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_browser_binding, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_own_and_none, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_test_only_outside_test, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_complete_in_page, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_host_complete_and_fail, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_form_door_ends_once, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_form_door_store_away, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_login_door_store_away, setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
