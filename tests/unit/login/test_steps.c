/*
 * Tests for the seam of steps after the eID (login/login.h): a service's
 * step runs only under the issuers it is listed for, pauses the login for
 * a page of its own and picks it up again (in the same browser, session
 * and issuer, once), and the claims it adds reach the tokens.  Run under
 * Ansattporten, the issuer the organisation chooser plugs into.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../oauth/token_fixture.h"
#include "login/login_int.h"

#define AP_ISS "https://ansattporten.test"

static int ap_entered, idp_entered;
static bool ap_pause;               /* the Ansattporten step shows a page */
static char paused_ar[4096];   /* a sealed ar */

static const struct login_step ap_step;

static int
ap_enter(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	const char *ar = NULL;

	ap_entered++;
	assert_string_equal(login_ctx_pid(c), FX_PID);
	assert_string_equal(login_ctx_client(c)->client_id, "ap");
	assert_non_null(json_object_get(login_ctx_request(c), "nonce"));
	assert_int_equal(login_ctx_claim(c, r, "name", json_string("Kari Nordmann"), &e), 0);
	/* only the claims a step may add: never one the token side sets */
	assert_int_equal(login_ctx_claim(c, r, "sub", json_string("forged"), &e), ERR_INVAL);
	assert_int_equal(login_ctx_claim(c, r, "acr", json_string("high"), &e), ERR_INVAL);
	if (!ap_pause)
		return 0;
	assert_int_equal(login_step_pause(c, &ap_step, r, w, &ar, &e), 0);
	assert_non_null(ar);
	snprintf(paused_ar, sizeof(paused_ar), "%s", ar);
	http_resp_html(w, 200, STR_LIT("<p>choose</p>"));
	return 1;
}

static int
idp_enter(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	(void)c;
	(void)r;
	(void)w;
	idp_entered++;
	return 0;
}

/*
 * A step that fetches from elsewhere: its prepare runs outside any
 * transaction of the store, its enter inside the login's, with what
 * prepare kept.
 */
static int prep_prepared, prep_entered, prep_depth;
static const struct login_step prep_step;

static void
prep_prepare(struct login_ctx *c, struct http_req *r)
{
	struct err e = { 0 };

	(void)r;
	prep_prepared++;
	assert_int_equal(store_tx_depth(fx_app.store), 0);
	assert_string_equal(login_ctx_pid(c), FX_PID);
	assert_int_equal(login_ctx_keep(c, &prep_step, json_string("fetched"), &e), 0);
}

static int
prep_enter(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	(void)r;
	(void)w;
	prep_entered++;
	prep_depth = store_tx_depth(fx_app.store);
	assert_string_equal(json_string_value(login_ctx_kept(c, &prep_step)), "fetched");
	assert_null(login_ctx_kept(c, &ap_step));
	return 0;
}

static const struct login_step prep_step = {
	.name = "prep-test",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_ANSATTPORTEN),
	.enter = prep_enter,
	.prepare = prep_prepare,
};

static const struct login_step ap_step = {
	.name = "ap-test",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_ANSATTPORTEN),
	.enter = ap_enter,
};
static const struct login_step idp_step = {
	.name = "idp-test",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_IDPORTEN),
	.enter = idp_enter,
};
/* consent listed by a service too: still run once, and last */
static const struct login_step *const svc_steps[] = { &idp_step, &ap_step, &prep_step,
						      &login_consent_step, &idp_step, NULL };
static const struct porten_service svc = { .name = "steps-test", .steps = svc_steps };
static const struct porten_service *const svc_list[] = { &svc, NULL };

static struct issuer *idp_is, *ap_is;

static int
setup(void **state)
{
	struct err e = { 0 };

	if (fx_setup(state) != 0)
		return -1;
	fx_cast();
	idp_is = &fx_app.issuers[0];
	ap_is = &fx_app.issuers[1];
	*ap_is = (struct issuer){ ISSUER_ANSATTPORTEN, AP_ISS, "/ap", AP_ISS, &fx_app };
	fx_app.nissuers = 2;
	if (reg_keys_ensure(&fx_app, ap_is, &e) != 0)
		return -1;
	fx_client("{\"client_id\":\"ap\",\"integration_type\":\"ansattporten\","
		  "\"application_type\":\"web\",\"token_endpoint_auth_method\":\"client_secret_basic\","
		  "\"grant_types\":[\"authorization_code\"],\"scopes\":[\"openid\"],"
		  "\"redirect_uris\":[\"" FX_REDIRECT "\"],\"client_orgno\":\"999888777\"}");
	fx_app.services = svc_list;
	return 0;
}

static int
teardown(void **state)
{
	fx_app.services = NULL;
	fx_is = idp_is;
	return fx_teardown(state);
}

/* The validated request of a login of client at issuer is. */
static json_t *
areq_for(const char *client_id, const struct issuer *is)
{
	json_t *a = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "client_id", client_id,
			      "redirect_uri", FX_REDIRECT, "response_mode", "query", "state", "st-1",
			      "scope", "openid", "nonce", "n-1", "code_challenge", FX_CHALLENGE, "acr",
			      "idporten-loa-substantial", "locale", "nb", "iss", is->iss);

	assert_non_null(a);
	return a;
}

/* Every cookie t's response set, sent by the next request u (a browser). */
static void
carry_cookies(const struct treq *t, struct treq *u)
{
	for (size_t i = 0; i < t->w.nheaders; i++) {
		const char *v = t->w.headers[i].value, *eq, *semi;

		if (strcasecmp(t->w.headers[i].name, "Set-Cookie") != 0 || (eq = strchr(v, '=')) == NULL)
			continue;
		semi = strchr(eq, ';');
		http_req_cookie_add(&u->r, arena_strndup(u->r.arena, v, (size_t)(eq - v)),
				    arena_strndup(u->r.arena, eq + 1,
						  semi ? (size_t)(semi - eq - 1) : strlen(eq + 1)));
	}
}

/* The person has just logged in with TestID at is: a session and the steps, in t. */
static void
finish(struct treq *t, const char *client_id, const struct issuer *is)
{
	struct eid_result res = { .pid = FX_PID, .acr = "idporten-loa-substantial",
				  .amr = "TestID", .eid = "testid", .auth_time = time_now() };
	const struct client *client = NULL;
	struct session s = { 0 };
	struct err e = { 0 };
	json_t *areq = areq_for(client_id, is);
	bool ended = true;

	fx_is = (struct issuer *)is;
	treq_init(t, "GET", "/ap/testid", NULL, NULL);
	assert_int_equal(reg_client_find(&fx_app, client_id, &client, &e), 0);
	assert_int_equal(session_establish(&t->r, &t->w, client, &res, &s, &ended, &e), 0);
	assert_false(ended);
	login_finish(&t->r, &t->w, client, areq, &s);
	/* as login_complete's transaction ends: a paused login's new session is written */
	assert_int_equal(session_save(&t->r, &s, &e), 0);
	session_clear(&s);
	reg_client_release(client);
	json_decref(areq);
}

/* The code in a redirect to the client, strdup'd; NULL when none. */
static char *
code_of(const struct treq *t, const char *iss_enc)
{
	const char *loc = treq_header(t, "Location"), *p, *end;

	if (loc == NULL || strncmp(loc, FX_REDIRECT "?", strlen(FX_REDIRECT) + 1) != 0)
		return NULL;
	if (iss_enc != NULL)
		assert_non_null(strstr(loc, iss_enc));
	p = strstr(loc, "code=");
	if (p == NULL)
		return NULL;
	p += 5;
	end = strchr(p, '&');
	return strndup(p, end ? (size_t)(end - p) : strlen(p));
}

static void
test_step_runs_only_under_its_issuer(void **state)
{
	struct treq t;
	char *code;

	(void)state;
	ap_entered = idp_entered = prep_prepared = prep_entered = 0;
	ap_pause = false;
	/* ID-porten: its step (listed twice, run once), not Ansattporten's */
	finish(&t, "web2", idp_is);
	code = code_of(&t, "iss=https%3A%2F%2Fidporten.test");
	assert_non_null(code);
	assert_int_equal(idp_entered, 1);
	assert_int_equal(ap_entered, 0);
	assert_int_equal(prep_prepared, 0);
	free(code);
	treq_free(&t);
	/* Ansattporten: its step, not ID-porten's */
	finish(&t, "ap", ap_is);
	code = code_of(&t, "iss=https%3A%2F%2Fansattporten.test");
	assert_non_null(code);
	assert_int_equal(idp_entered, 1);
	assert_int_equal(ap_entered, 1);
	assert_int_equal(prep_prepared, 1);
	assert_int_equal(prep_entered, 1);
	free(code);
	treq_free(&t);
}

static void
test_pause_open_done_and_tokens(void **state)
{
	struct treq t, u, v, x;
	struct login_ctx *c = NULL, *c2 = NULL;
	struct err e = { 0 };
	json_t *idt, *at, *body, *rar;
	char *code, *id_token, *access;

	(void)state;
	ap_entered = prep_prepared = prep_entered = 0;
	ap_pause = true;
	finish(&t, "ap", ap_is);
	assert_int_equal(t.w.status, 200);
	assert_int_equal(ap_entered, 1);
	assert_null(code_of(&t, NULL));
	assert_true(paused_ar[0] != '\0');

	/* the step's page, in the same browser: the login as paused, twice open */
	treq_init(&u, "POST", "/ap/choose", NULL, NULL);
	carry_cookies(&t, &u);
	assert_int_equal(login_step_open(&ap_step, &u.r, paused_ar, &c, &e), 0);
	assert_int_equal(login_step_open(&ap_step, &u.r, paused_ar, &c2, &e), 0);
	assert_true(login_step_csrf_ok(&u.r, paused_ar, login_step_csrf(&u.r, paused_ar)));
	assert_false(login_step_csrf_ok(&u.r, paused_ar, "forged"));
	/* another step's name, another browser or the other issuer: nothing */
	assert_int_equal(login_step_open(&idp_step, &u.r, paused_ar, &(struct login_ctx *){ 0 }, &e),
			 ERR_NOTFOUND);
	fx_is = idp_is;
	treq_init(&x, "POST", "/choose", NULL, NULL);
	carry_cookies(&t, &x);
	assert_int_equal(login_step_open(&ap_step, &x.r, paused_ar, &(struct login_ctx *){ 0 }, &e),
			 ERR_NOTFOUND);
	treq_free(&x);
	fx_is = ap_is;
	treq_init(&x, "POST", "/ap/choose", NULL, NULL);
	assert_int_equal(login_step_open(&ap_step, &x.r, paused_ar, &(struct login_ctx *){ 0 }, &e),
			 ERR_NOTFOUND);
	treq_free(&x);

	rar = json_pack("[{s:s,s:s}]", "type", "ansattporten:altinn:resource", "resource",
			"urn:altinn:resource:test");
	assert_int_equal(login_ctx_claim(c, &u.r, "authorization_details", rar, &e), 0);
	login_step_done(c, &u.r, &u.w);
	code = code_of(&u, "iss=https%3A%2F%2Fansattporten.test");
	assert_non_null(code);
	/* the step after it: prepared before the transaction, entered in it */
	assert_int_equal(prep_prepared, 2);
	assert_int_equal(prep_entered, 1);
	assert_true(prep_depth > 0);
	/* the second form of the same pause (a replay): the page, no code */
	treq_init(&v, "POST", "/ap/choose", NULL, NULL);
	login_step_done(c2, &v.r, &v.w);
	assert_int_equal(v.w.status, 400);
	assert_null(treq_header(&v, "Location"));
	login_step_close(c2);
	treq_free(&v);
	login_step_close(c);

	/* the tokens carry what the step added */
	fx_redeem(&v, "ap", true, code, "code_verifier=" FX_VERIFIER);
	assert_int_equal(v.w.status, 200);
	body = treq_json(&v);
	assert_non_null(json_object_get(body, "authorization_details"));
	id_token = fx_take(&v, "id_token");
	access = fx_take(&v, "access_token");
	idt = fx_jwt_payload(id_token);
	at = fx_jwt_payload(access);
	assert_string_equal(json_string_value(json_object_get(idt, "iss")), AP_ISS);
	assert_string_equal(json_string_value(json_object_get(idt, "acr")), "substantial");
	assert_string_equal(json_string_value(json_object_get(idt, "name")), "Kari Nordmann");
	assert_true(json_equal(json_object_get(idt, "authorization_details"),
			       json_object_get(body, "authorization_details")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
				    json_object_get(at, "authorization_details"), 0), "type")),
			    "ansattporten:altinn:resource");
	assert_null(json_object_get(at, "name"));
	assert_string_equal(json_string_value(json_object_get(at, "acr")), "substantial");
	json_decref(idt);
	json_decref(at);
	json_decref(body);
	free(id_token);
	free(access);
	free(code);
	treq_free(&v);

	/* once done, the paused login is gone: a replayed page finds nothing */
	assert_int_equal(login_step_open(&ap_step, &u.r, paused_ar, &c, &e), ERR_NOTFOUND);
	treq_free(&u);
	treq_free(&t);
	ap_pause = false;
}

static void
test_step_fail(void **state)
{
	struct treq t, u;
	struct login_ctx *c = NULL;
	struct err e = { 0 };
	const char *loc;

	(void)state;
	ap_pause = true;
	finish(&t, "ap", ap_is);
	treq_init(&u, "POST", "/ap/choose", NULL, NULL);
	carry_cookies(&t, &u);
	assert_int_equal(login_step_open(&ap_step, &u.r, paused_ar, &c, &e), 0);
	login_step_fail(c, &u.r, &u.w, OAUTH_ACCESS_DENIED, "no organisation chosen");
	loc = treq_header(&u, "Location");
	assert_non_null(loc);
	assert_non_null(strstr(loc, "error=access_denied"));
	assert_non_null(strstr(loc, "state=st-1"));
	login_step_close(c);
	assert_int_equal(login_step_open(&ap_step, &u.r, paused_ar, &c, &e), ERR_NOTFOUND);
	treq_free(&u);
	treq_free(&t);
	ap_pause = false;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_runs_only_under_its_issuer),
		cmocka_unit_test(test_pause_open_done_and_tokens),
		cmocka_unit_test(test_step_fail),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
