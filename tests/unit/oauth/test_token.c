/*
 * Tests for oauth/token.c (spec/idporten-oidc.md §9-§13): the code grant
 * and its tokens, code reuse revoking the first grant, PKCE failures,
 * refresh rotation and family revocation, scope narrowing and caps, opaque
 * and pseudonymous tokens, and the malformed requests around them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jose/jose.h"
#include "token_fixture.h"

static int
setup(void **state)
{
	if (fx_setup(state) != 0)
		return -1;
	fx_cast();
	return 0;
}

static bool
access_live(const char *token)
{
	struct err e = { 0 };
	char hash[TOKEN_CHARS + 1];
	json_t *doc = NULL;
	char *gid = NULL;
	int rc;

	sha256_b64url_buf(str_c(token), hash);
	rc = store_call(fx_app.store, oauth, token_get, hash, &doc, &gid, NULL, &e);
	json_decref(doc);
	free(gid);
	assert_true(rc == 0 || rc == ERR_NOTFOUND);
	return rc == 0;
}

static int64_t
events(void)
{
	struct err e = { 0 };
	int64_t n = -1;

	assert_int_equal(store_call(fx_app.store, events, event_count, "token_issued", &n, &e), 0);
	return n;
}

/* Verify a JWS with the issuer's published keys; new reference to its claims. */
static json_t *
verified(const char *jws)
{
	struct err e = { 0 };
	json_t *jwks = NULL, *claims = NULL;

	assert_int_equal(reg_keys_jwks(&fx_app, fx_is, &jwks, &e), 0);
	assert_int_equal(jose_jwt_verify(str_c(jws), jwks, JOSE_ALG_RS256, &claims, &e), 0);
	json_decref(jwks);
	return claims;
}

static const char *
s(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long
n(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void
test_code_flow(void **state)
{
	struct treq t;
	json_t *body, *at, *idt, *h;
	int64_t before = events();

	(void)state;
	fx_code_put("c-flow", "g-flow", fx_code_doc("web", "openid profile", FX_CHALLENGE));
	fx_redeem(&t, "web", true, "c-flow", "code_verifier=" FX_VERIFIER);
	assert_int_equal(t.w.status, 200);
	assert_string_equal(treq_header(&t, "Cache-Control"), "no-store");
	assert_string_equal(treq_header(&t, "Pragma"), "no-cache");
	body = treq_json(&t);
	assert_string_equal(s(body, "token_type"), "Bearer");
	assert_int_equal(n(body, "expires_in"), 300);
	assert_string_equal(s(body, "scope"), "openid profile");
	assert_non_null(s(body, "refresh_token"));
	assert_int_equal(strlen(s(body, "refresh_token")), TOKEN_CHARS);
	assert_true(access_live(s(body, "access_token")));

	/* Access token: spec §11. */
	h = fx_jwt_header(s(body, "access_token"));
	assert_string_equal(s(h, "typ"), "at+jwt");
	assert_string_equal(s(h, "alg"), "RS256");
	json_decref(h);
	at = verified(s(body, "access_token"));
	assert_string_equal(s(at, "iss"), FX_ISS);
	assert_string_equal(s(at, "client_id"), "web");
	assert_string_equal(s(at, "client_amr"), "client_secret_basic");
	assert_string_equal(s(at, "scope"), "openid profile");
	assert_string_equal(s(at, "acr"), "idporten-loa-substantial");
	assert_string_equal(s(at, "pid"), FX_PID);
	assert_int_equal(strlen(s(at, "sub")), 43);
	assert_string_equal(s(json_object_get(at, "consumer"), "authority"), "iso6523-actorid-upis");
	assert_string_equal(s(json_object_get(at, "consumer"), "ID"), "0192:999888777");
	assert_null(json_object_get(at, "supplier"));
	assert_null(json_object_get(at, "aud"));
	assert_int_equal(n(at, "exp") - n(at, "iat"), 300);
	assert_non_null(s(at, "jti"));

	/* ID token: spec §10. */
	h = fx_jwt_header(s(body, "id_token"));
	assert_string_equal(s(h, "typ"), "JWT");
	json_decref(h);
	idt = verified(s(body, "id_token"));
	assert_string_equal(s(idt, "iss"), FX_ISS);
	assert_string_equal(s(idt, "aud"), "web");
	assert_string_equal(s(idt, "sub"), s(at, "sub"));
	assert_string_equal(s(idt, "pid"), FX_PID);
	assert_string_equal(s(idt, "nonce"), "n-0S6_WzA2Mj");
	assert_string_equal(s(idt, "locale"), "nb");
	assert_string_equal(json_string_value(json_array_get(json_object_get(idt, "amr"), 0)),
			    "TestID");
	assert_int_equal(n(idt, "exp") - n(idt, "iat"), 120);
	assert_true(n(idt, "auth_time") <= n(idt, "iat"));
	assert_null(json_object_get(idt, "at_hash"));
	assert_null(json_object_get(idt, "sid"));
	assert_string_not_equal(s(idt, "jti"), s(at, "jti"));
	/* One event per issuance, never carrying tokens. */
	assert_int_equal(events(), before + 1);
	json_decref(at);
	json_decref(idt);
	json_decref(body);
	treq_free(&t);
}

static void
test_pairwise(void **state)
{
	struct treq t = { 0 };
	const char *a, *b, *c;

	(void)state;
	treq_init(&t, "POST", "/token", "", NULL);
	a = oauth_pairwise_sub(&t.r, "web", FX_PID);
	b = oauth_pairwise_sub(&t.r, "web2", FX_PID);
	c = oauth_pairwise_sub(&t.r, "web", FX_PID);
	assert_non_null(a);
	assert_int_equal(strlen(a), 43);
	assert_string_not_equal(a, b);
	assert_string_equal(a, c);
	/* Another person, same client: another sub. */
	assert_string_not_equal(oauth_pairwise_sub(&t.r, "web", "05068907694"), a);
	assert_null(oauth_pairwise_sub(&t.r, "web", NULL));
	assert_null(oauth_pairwise_sub(&t.r, "web", ""));
	treq_free(&t);
}

static void
test_code_reuse(void **state)
{
	struct treq t;
	char *access, *refresh;

	(void)state;
	fx_code_put("c-reuse", "g-reuse", fx_code_doc("web", "openid profile", FX_CHALLENGE));
	fx_redeem(&t, "web", true, "c-reuse", "code_verifier=" FX_VERIFIER);
	assert_int_equal(t.w.status, 200);
	access = fx_take(&t, "access_token");
	refresh = fx_take(&t, "refresh_token");
	treq_free(&t);
	assert_true(access_live(access));

	/* Second use: invalid_grant, and what the first use issued is revoked (spec §9). */
	fx_redeem(&t, "web", true, "c-reuse", "code_verifier=" FX_VERIFIER);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
	assert_false(access_live(access));
	fx_refresh(&t, "web", true, refresh, NULL);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
	free(access);
	free(refresh);

	/* Unknown code. */
	fx_redeem(&t, "web", true, "never-issued", "code_verifier=" FX_VERIFIER);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
}

/*
 * A COMMIT that goes through but whose answer is lost with the connection
 * (a database restart): the first issuance's event_add commits the
 * transaction, opens an empty one in its place and reports the connection
 * lost, so store_tx_run runs the issuance once more.
 */
static const struct store_event_ops *lost_real;
static int lost_left;

static int
lost_event_add(struct store *st, const char *type, const char *doc, struct err *e)
{
	int rc = lost_real->event_add(st, type, doc, e);

	if (rc != 0 || lost_left == 0)
		return rc;
	lost_left--;
	assert_int_equal(store_tx_depth(st), 1);
	assert_int_equal(store_tx_end(st, true, e), 0);
	assert_int_equal(store_tx_begin(st, e), 0);
	return ERR(e, ERR_UNAVAILABLE, 503, "temporarily_unavailable",
		   "store tx_end: database connection lost");
}

/* Lose the answer of the next issuance's COMMIT; the table lives until restored. */
static void
lose_next_commit(struct store_event_ops *ops)
{
	lost_real = fx_app.store->events;
	*ops = *lost_real;
	ops->event_add = lost_event_add;
	fx_app.store->events = ops;
	lost_left = 1;
}

static void
lost_restore(void)
{
	assert_int_equal(lost_left, 0);
	fx_app.store->events = lost_real;
}

static void
test_lost_commit(void **state)
{
	struct store_event_ops ops;
	struct treq t;
	char *at1, *rt1, *rt2, *at2;
	json_t *j;

	(void)state;
	/* A code: its tokens are answered once, and work. */
	fx_code_put("c-lost", "g-lost", fx_code_doc("web", "openid profile", FX_CHALLENGE));
	lose_next_commit(&ops);
	fx_redeem(&t, "web", true, "c-lost", "code_verifier=" FX_VERIFIER);
	lost_restore();
	assert_int_equal(t.w.status, 200);
	at1 = fx_take(&t, "access_token");
	rt1 = fx_take(&t, "refresh_token");
	treq_free(&t);
	assert_true(access_live(at1));

	/* A refresh: the token spent by its own first run is no reuse (spec §12). */
	lose_next_commit(&ops);
	fx_refresh(&t, "web", true, rt1, NULL);
	lost_restore();
	assert_int_equal(t.w.status, 200);
	j = treq_json(&t);
	assert_non_null(s(j, "id_token"));
	json_decref(j);
	rt2 = fx_take(&t, "refresh_token");
	at2 = fx_take(&t, "access_token");
	treq_free(&t);
	assert_non_null(rt2);
	assert_true(access_live(at1));
	assert_true(access_live(at2));
	fx_refresh(&t, "web", true, rt2, NULL);
	assert_int_equal(t.w.status, 200);
	treq_free(&t);
	/* the spent one is still a reuse */
	fx_refresh(&t, "web", true, rt1, NULL);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
	assert_false(access_live(at2));
	free(at1);
	free(rt1);
	free(rt2);
	free(at2);
}

static void
test_pkce(void **state)
{
	static const char *const bad[] = {
		/* well-formed but wrong */
		"code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
		/* "plain": the challenge itself */
		"code_verifier=" FX_CHALLENGE,
		/* too short, bad characters */
		"code_verifier=abc",
		"code_verifier=" FX_VERIFIER "%2B",
		"code_verifier=",
		/* absent */
		NULL,
	};
	char code[32];
	struct treq t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(code, sizeof(code), "c-pkce-%zu", i);
		fx_code_put(code, code, fx_code_doc("web", "openid", FX_CHALLENGE));
		fx_redeem(&t, "web", true, code, bad[i]);
		treq_expect_error(&t, 400, "invalid_grant");
		treq_free(&t);
	}
	/* A PKCE-exempt code: a verifier is a downgrade attempt (RFC 9700 §4.8.2)... */
	fx_code_put("c-nopkce-1", "g-nopkce-1", fx_code_doc("web", "openid", NULL));
	fx_redeem(&t, "web", true, "c-nopkce-1", "code_verifier=" FX_VERIFIER);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
	/* ...and without one it is redeemed. */
	fx_code_put("c-nopkce-2", "g-nopkce-2", fx_code_doc("web", "openid", NULL));
	fx_redeem(&t, "web", true, "c-nopkce-2", NULL);
	assert_int_equal(t.w.status, 200);
	treq_free(&t);
}

static void
test_code_binding(void **state)
{
	struct treq t;

	(void)state;
	/* redirect_uri missing: invalid_request before the code is spent. */
	fx_code_put("c-bind-1", "g-bind-1", fx_code_doc("web", "openid", FX_CHALLENGE));
	treq_init(&t, "POST", "/token",
		  "grant_type=authorization_code&code=c-bind-1&code_verifier=" FX_VERIFIER,
		  fx_basic("web", FX_SECRET));
	oauth_handle_token(&t.r, &t.w);
	treq_expect_error(&t, 400, "invalid_request");
	treq_free(&t);
	fx_redeem(&t, "web", true, "c-bind-1", "code_verifier=" FX_VERIFIER);
	assert_int_equal(t.w.status, 200);
	treq_free(&t);

	/* redirect_uri differs (trailing slash). */
	fx_code_put("c-bind-2", "g-bind-2", fx_code_doc("web", "openid", FX_CHALLENGE));
	treq_init(&t, "POST", "/token",
		  "grant_type=authorization_code&code=c-bind-2&code_verifier=" FX_VERIFIER
		  "&redirect_uri=https%3A%2F%2Frp.example.no%2Fcb%2F",
		  fx_basic("web", FX_SECRET));
	oauth_handle_token(&t.r, &t.w);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);

	/* A code another issuer issued (mix-up): refused. */
	{
		json_t *doc = fx_code_doc("web", "openid", FX_CHALLENGE);

		json_object_set_new(doc, "iss", json_string("https://ansattporten.test"));
		fx_code_put("c-bind-iss", "g-bind-iss", doc);
		fx_redeem(&t, "web", true, "c-bind-iss", "code_verifier=" FX_VERIFIER);
		treq_expect_error(&t, 400, "invalid_grant");
		treq_free(&t);
	}

	/* Another client's code. */
	fx_code_put("c-bind-3", "g-bind-3", fx_code_doc("web", "openid", FX_CHALLENGE));
	fx_redeem(&t, "web2", true, "c-bind-3", "code_verifier=" FX_VERIFIER);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);

	/* A scope deactivated since the login blocks issuance. */
	fx_code_put("c-bind-4", "g-bind-4", fx_code_doc("web", "openid dead:api", FX_CHALLENGE));
	fx_redeem(&t, "web", true, "c-bind-4", "code_verifier=" FX_VERIFIER);
	treq_expect_error(&t, 400, "invalid_scope");
	treq_free(&t);
}

static void
test_request_shape(void **state)
{
	struct treq t;
	json_t *j;

	(void)state;
	treq_init(&t, "GET", "/token", "grant_type=authorization_code", fx_basic("web", FX_SECRET));
	oauth_handle_token(&t.r, &t.w);
	treq_expect_error(&t, 405, "invalid_request");
	treq_free(&t);

	treq_init(&t, "POST", "/token", "grant_type=authorization_code&code=a&code=b",
		  fx_basic("web", FX_SECRET));
	oauth_handle_token(&t.r, &t.w);
	treq_expect_error(&t, 400, "invalid_request");
	treq_free(&t);

	treq_init(&t, "POST", "/token", "grant_type=password&username=a&password=b",
		  fx_basic("web", FX_SECRET));
	oauth_handle_token(&t.r, &t.w);
	treq_expect_error(&t, 400, "unsupported_grant_type");
	treq_free(&t);

	treq_init(&t, "POST", "/token", "code=x", fx_basic("web", FX_SECRET));
	oauth_handle_token(&t.r, &t.w);
	treq_expect_error(&t, 400, "invalid_request");
	treq_free(&t);

	/* Unparsable form (bad escape). */
	treq_init(&t, "POST", "/token", "grant_type=authorization_code&code=%zz",
		  fx_basic("web", FX_SECRET));
	assert_true(t.r.bad_input);
	oauth_handle_token(&t.r, &t.w);
	treq_expect_error(&t, 400, "invalid_request");
	treq_free(&t);

	/* Wrong method: 401, the challenge, and a reference in the description. */
	treq_init(&t, "POST", "/token",
		  "grant_type=authorization_code&code=x&client_id=web&client_secret=" FX_SECRET,
		  NULL);
	oauth_handle_token(&t.r, &t.w);
	treq_expect_error(&t, 401, "invalid_client");
	assert_string_equal(treq_header(&t, "WWW-Authenticate"), "Basic realm=\"porten\"");
	assert_string_equal(treq_header(&t, "Cache-Control"), "no-store");
	j = treq_json(&t);
	assert_non_null(strstr(s(j, "error_description"), "(ref rid-test-0000001)"));
	assert_null(strstr(s(j, "error_description"), FX_SECRET));
	json_decref(j);
	treq_free(&t);

	/* A Maskinporten client has no business at ID-porten's token endpoint. */
	fx_code_put("c-mp", "g-mp", fx_code_doc("mp", "openid", FX_CHALLENGE));
	fx_redeem(&t, "mp", true, "c-mp", "code_verifier=" FX_VERIFIER);
	treq_expect_error(&t, 400, "unauthorized_client");
	treq_free(&t);

	/* A client without the refresh grant. */
	fx_refresh(&t, "web2", true, "whatever", NULL);
	treq_expect_error(&t, 400, "unauthorized_client");
	treq_free(&t);
}

static void
test_refresh_rotation(void **state)
{
	struct treq t;
	char *rt1, *rt2, *at2, *idt2;
	json_t *claims;

	(void)state;
	fx_issue("web", true, "openid profile", NULL, &rt1, NULL, NULL);
	fx_refresh(&t, "web", true, rt1, NULL);
	assert_int_equal(t.w.status, 200);
	rt2 = fx_take(&t, "refresh_token");
	at2 = fx_take(&t, "access_token");
	idt2 = fx_take(&t, "id_token");
	treq_free(&t);
	assert_non_null(rt2);
	assert_string_not_equal(rt1, rt2);
	assert_true(access_live(at2));
	/* ID token from a refresh: no nonce (only on code redemption). */
	assert_non_null(idt2);
	claims = fx_jwt_payload(idt2);
	assert_null(json_object_get(claims, "nonce"));
	assert_string_equal(s(claims, "pid"), FX_PID);
	json_decref(claims);

	/* The spent token again: invalid_grant, and the whole family dies (spec §12). */
	fx_refresh(&t, "web", true, rt1, NULL);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
	fx_refresh(&t, "web", true, rt2, NULL);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
	assert_false(access_live(at2));
	free(rt1);
	free(rt2);
	free(at2);
	free(idt2);

	/* Garbage and oversized refresh tokens. */
	fx_refresh(&t, "web", true, "nope", NULL);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
}

static void
test_refresh_other_client(void **state)
{
	struct treq t;
	char *rt;

	(void)state;
	fx_issue("web", true, "openid profile", NULL, &rt, NULL, NULL);
	/* Another client presenting it: refused, and the token is left alone. */
	fx_refresh(&t, "web-b", true, rt, NULL);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
	fx_refresh(&t, "web", true, rt, NULL);
	assert_int_equal(t.w.status, 200);
	treq_free(&t);
	free(rt);
}

static void
test_refresh_scope(void **state)
{
	struct treq t;
	char *rt, *rt2;
	json_t *j;

	(void)state;
	fx_issue("web", true, "openid profile test:api", NULL, &rt, NULL, NULL);
	/* A scope not granted: invalid_scope, and the token is not spent. */
	fx_refresh(&t, "web", true, rt, "scope=openid%20opaque%3Aapi");
	treq_expect_error(&t, 400, "invalid_scope");
	treq_free(&t);
	fx_refresh(&t, "web", true, rt, "scope=bad%22scope");
	treq_expect_error(&t, 400, "invalid_scope");
	treq_free(&t);
	/* Narrower: only what was asked for, in the grant's order; no ID token without openid. */
	fx_refresh(&t, "web", true, rt, "scope=test%3Aapi%20profile");
	assert_int_equal(t.w.status, 200);
	j = treq_json(&t);
	assert_string_equal(s(j, "scope"), "profile test:api");
	assert_null(json_object_get(j, "id_token"));
	assert_int_equal(n(j, "expires_in"), 60);
	rt2 = fx_take(&t, "refresh_token");
	json_decref(j);
	treq_free(&t);
	/* The grant keeps its scopes: the next refresh may ask for all of them again. */
	fx_refresh(&t, "web", true, rt2, NULL);
	assert_int_equal(t.w.status, 200);
	j = treq_json(&t);
	assert_string_equal(s(j, "scope"), "openid profile test:api");
	json_decref(j);
	treq_free(&t);
	free(rt);
	free(rt2);
}

static void
test_public_client(void **state)
{
	struct treq t;
	char *rt;

	(void)state;
	fx_issue("spa", false, "openid profile", NULL, &rt, NULL, NULL);
	assert_non_null(rt);
	fx_refresh(&t, "spa", false, rt, NULL);
	assert_int_equal(t.w.status, 200);
	treq_free(&t);
	free(rt);
	/* A public client cannot pose as another. */
	fx_code_put("c-spa", "g-spa", fx_code_doc("web", "openid", FX_CHALLENGE));
	fx_redeem(&t, "spa", false, "c-spa", "code_verifier=" FX_VERIFIER);
	treq_expect_error(&t, 400, "invalid_grant");
	treq_free(&t);
}

static void
test_caps_and_resource(void **state)
{
	struct err e = { 0 };
	struct treq t;
	json_t *j, *at, *doc = NULL;
	int64_t now = time_now();

	(void)state;
	/* test:api caps the access token at 60 s and the grant at 3600 s. */
	doc = fx_code_doc("web", "openid test:api", FX_CHALLENGE);
	json_object_set_new(doc, "resource", json_pack("[s]", "https://api.example.no/"));
	fx_code_put("c-cap", "g-cap", doc);
	fx_redeem(&t, "web", true, "c-cap", "code_verifier=" FX_VERIFIER);
	assert_int_equal(t.w.status, 200);
	j = treq_json(&t);
	assert_int_equal(n(j, "expires_in"), 60);
	at = fx_jwt_payload(s(j, "access_token"));
	assert_string_equal(s(at, "aud"), "https://api.example.no/");
	json_decref(at);
	json_decref(j);
	treq_free(&t);
	doc = NULL;
	assert_int_equal(store_call(fx_app.store, oauth, grant_get, "g-cap", &doc, &e), 0);
	assert_true(n(doc, "expires_at") >= now + 3600 && n(doc, "expires_at") <= now + 3602);
	assert_null(json_object_get(doc, "code_challenge"));
	assert_null(json_object_get(doc, "redirect_uri"));
	json_decref(doc);

	/* Two resources: an array. */
	doc = fx_code_doc("web", "openid", FX_CHALLENGE);
	json_object_set_new(doc, "resource", json_pack("[s,s]", "https://a.example/", "https://b.example/"));
	fx_code_put("c-res2", "g-res2", doc);
	fx_redeem(&t, "web", true, "c-res2", "code_verifier=" FX_VERIFIER);
	assert_int_equal(t.w.status, 200);
	j = treq_json(&t);
	at = fx_jwt_payload(s(j, "access_token"));
	assert_true(json_is_array(json_object_get(at, "aud")));
	assert_int_equal(json_array_size(json_object_get(at, "aud")), 2);
	json_decref(at);
	json_decref(j);
	treq_free(&t);
}

static void
test_opaque_and_pseudonymous(void **state)
{
	char *access, *idt;
	json_t *c;

	(void)state;
	fx_issue("web", true, "openid opaque:api", &access, NULL, NULL, NULL);
	/* By reference: a random value, not a JWS, still resolvable (spec §11). */
	assert_int_equal(strlen(access), TOKEN_CHARS);
	assert_null(strchr(access, '.'));
	assert_true(access_live(access));
	free(access);

	fx_issue("web", true, "openid profile pseudo:api", &access, NULL, &idt, NULL);
	/* spec §13: pid leaves both tokens. */
	c = fx_jwt_payload(access);
	assert_null(json_object_get(c, "pid"));
	assert_non_null(s(c, "sub"));
	json_decref(c);
	c = fx_jwt_payload(idt);
	assert_null(json_object_get(c, "pid"));
	json_decref(c);
	free(access);
	free(idt);
}

static void
test_sid_and_supplier(void **state)
{
	struct treq t;
	json_t *j, *c;

	(void)state;
	fx_code_put("c-sid", "g-sid", fx_code_doc("web2", "openid profile", FX_CHALLENGE));
	fx_redeem(&t, "web2", true, "c-sid", "code_verifier=" FX_VERIFIER);
	assert_int_equal(t.w.status, 200);
	j = treq_json(&t);
	/* No refresh grant registered: no refresh token. */
	assert_null(json_object_get(j, "refresh_token"));
	c = fx_jwt_payload(s(j, "id_token"));
	assert_string_equal(s(c, "sid"), "sid-1234");
	json_decref(c);
	c = fx_jwt_payload(s(j, "access_token"));
	assert_string_equal(s(json_object_get(c, "supplier"), "ID"), "0192:123456785");
	/* spec §11: consumer always; web2 has no client_orgno, so the operator's. */
	assert_string_equal(s(json_object_get(c, "consumer"), "ID"), "0192:" OAUTH_OPERATOR_ORGNO);
	json_decref(c);
	json_decref(j);
	treq_free(&t);
}

/* oauth/common.c: the one scope splitter of the token endpoint and Maskinporten. */
static void
test_scope_split(void **state)
{
	char tok[OAUTH_SCOPE_TOKEN_MAX + 2];
	json_t *a = NULL;

	(void)state;
	/* Runs of spaces are allowed; duplicates kept once, in order. */
	assert_int_equal(oauth_scope_split(str_c("  openid  profile openid "), 10, &a),
			 OAUTH_SCOPE_OK);
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "openid");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "profile");
	json_decref(a);
	assert_int_equal(oauth_scope_split(str_c(""), 10, &a), OAUTH_SCOPE_OK);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	/* Hostile: RFC 6749 §3.3 excludes '"', '\\', controls and non-ASCII. */
	assert_int_equal(oauth_scope_split(str_c("a \"b"), 10, &a), OAUTH_SCOPE_MALFORMED);
	assert_null(a);
	assert_int_equal(oauth_scope_split(str_c("a\\b"), 10, &a), OAUTH_SCOPE_MALFORMED);
	assert_int_equal(oauth_scope_split(str_c("a\tb"), 10, &a), OAUTH_SCOPE_MALFORMED);
	assert_int_equal(oauth_scope_split(str_c("sk\xc3\xa5p"), 10, &a), OAUTH_SCOPE_MALFORMED);
	assert_int_equal(oauth_scope_split((struct str){ "a\0b", 3 }, 10, &a),
			 OAUTH_SCOPE_MALFORMED);
	memset(tok, 'x', sizeof(tok) - 1);
	tok[sizeof(tok) - 1] = '\0';
	assert_int_equal(oauth_scope_split(str_c(tok), 10, &a), OAUTH_SCOPE_MALFORMED);
	tok[sizeof(tok) - 2] = '\0';
	assert_int_equal(oauth_scope_split(str_c(tok), 10, &a), OAUTH_SCOPE_OK);
	json_decref(a);
	/* The limit counts different names only. */
	assert_int_equal(oauth_scope_split(str_c("a b a b"), 2, &a), OAUTH_SCOPE_OK);
	json_decref(a);
	assert_int_equal(oauth_scope_split(str_c("a b c"), 2, &a), OAUTH_SCOPE_TOO_MANY);
	assert_null(a);
}

/* Replay keys (oauth/common.c): client ids may hold ':', keys must not meet. */
static void
test_replay_key(void **state)
{
	char a[64], b[64], small[12];

	(void)state;
	assert_int_equal(oauth_replay_key(a, sizeof(a), "mp", "a", "b:c"), 0);
	assert_int_equal(oauth_replay_key(b, sizeof(b), "mp", "a:b", "c"), 0);
	assert_string_not_equal(a, b);
	/* Plain ids keep the key earlier releases wrote (an upgrade forgets nothing). */
	assert_string_equal(a, "mp:a:b:c");
	/* A digits-only id cannot pose as the length of an id with ':'. */
	assert_int_equal(oauth_replay_key(a, sizeof(a), "mp", "5", "ab:de:xyz"), 0);
	assert_int_equal(oauth_replay_key(b, sizeof(b), "mp", "ab:de", "xyz"), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(oauth_replay_key(a, sizeof(a), "mp", "a", "b:c"), 0);
	assert_int_equal(oauth_replay_key(b, sizeof(b), "ca", "a", "b:c"), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(oauth_replay_key(b, sizeof(b), "mp", "a", "b:c"), 0);
	assert_string_equal(a, b);
	/* Hostile: a key that does not fit is refused, never cut short. */
	assert_int_equal(oauth_replay_key(small, sizeof(small), "mp", "client", "jti"), -1);
	assert_int_equal(oauth_replay_key(small, sizeof(small), "mp", "c", "j"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_flow),
		cmocka_unit_test(test_pairwise),
		cmocka_unit_test(test_code_reuse),
		cmocka_unit_test(test_pkce),
		cmocka_unit_test(test_code_binding),
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_refresh_rotation),
		cmocka_unit_test(test_lost_commit),
		cmocka_unit_test(test_refresh_other_client),
		cmocka_unit_test(test_refresh_scope),
		cmocka_unit_test(test_public_client),
		cmocka_unit_test(test_caps_and_resource),
		cmocka_unit_test(test_opaque_and_pseudonymous),
		cmocka_unit_test(test_replay_key),
		cmocka_unit_test(test_sid_and_supplier),
		cmocka_unit_test(test_scope_split),
	};

	return cmocka_run_group_tests(tests, setup, fx_teardown);
}
