/*
 * Shared fixture for the back-channel tests (client authentication, token,
 * introspection, revocation, userinfo): an in-memory store, a hand-built
 * struct porten with one ID-porten issuer and a signing key, clients and
 * scopes written straight into the store, and hand-built requests driven
 * through the handlers.  Include after cmocka.h.
 */
#ifndef PORTEN_TESTS_TOKEN_FIXTURE_H
#define PORTEN_TESTS_TOKEN_FIXTURE_H

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services.h"
#include "app/app.h"
#include "core/arena.h"
#include "core/b64.h"
#include "core/cfg.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "http/http.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "store/store.h"

#define FX_ISS "https://idporten.test"
#define FX_TOKEN_EP FX_ISS "/token"
#define FX_REDIRECT "https://rp.example.no/cb"
#define FX_VERIFIER "xyo94uhy3zKvgB0NJwLms86SwcjtWviEOpkBnGgaLlo"
#define FX_CHALLENGE "b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI"
#define FX_PID "05068907693"
#define FX_SECRET "s3cret-for-tests-only"

static struct porten fx_app;
static struct cfg fx_cfg;
static struct issuer *fx_is;

static inline int
fx_setup(void **state)
{
	struct err e = { 0 };

	(void)state;
	memset(&fx_app, 0, sizeof(fx_app));
	if (service_cfg_load(&fx_cfg, porten_services, NULL, &e) != 0)
		return -1;
	fx_cfg.key_publish_delay = 0;
	fx_app.cfg = &fx_cfg;
	fx_app.test_env = true;
	memset(fx_app.kek.k, 7, sizeof(fx_app.kek.k));
	memset(fx_app.pairwise_key, 1, sizeof(fx_app.pairwise_key));
	memset(fx_app.csrf_key, 2, sizeof(fx_app.csrf_key));
	if (store_open(&fx_app.store, &(struct store_opts){ .target = ":memory:" }, &e) != 0)
		return -1;
	fx_is = &fx_app.issuers[0];
	fx_is->kind = ISSUER_IDPORTEN;
	fx_is->iss = FX_ISS;
	fx_is->prefix = "";
	fx_is->base = FX_ISS;
	fx_is->app = &fx_app;
	fx_app.nissuers = 1;
	if (reg_keys_ensure(&fx_app, fx_is, &e) != 0) {
		fprintf(stderr, "keys: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static inline int
fx_teardown(void **state)
{
	(void)state;
	reg_keys_cleanup();
	reg_cache_cleanup();     /* with assertions: a changed shared doc stops the test */
	store_close(fx_app.store);
	fx_app.store = NULL;
	cfg_free(&fx_cfg);
	return 0;
}

/* A request, its response and the arena both live in. */
struct treq {
	struct http_req r;
	struct http_resp w;
	struct err e;
};

static inline void
treq_init(struct treq *t, const char *method, const char *path, const char *form,
	  const char *authz)
{
	memset(t, 0, sizeof(*t));
	t->r.arena = arena_new();
	assert_non_null(t->r.arena);
	t->r.method = method;
	t->r.path = str_c(path);
	if (form != NULL && http_parse_urlencoded(t->r.arena, str_c(form), &t->r.form,
						  &t->r.input_err) != 0) {
		t->r.bad_input = true;
		memset(&t->r.form, 0, sizeof(t->r.form));
	}
	if (authz != NULL) {
		t->r.headers.v = arena_alloc(t->r.arena, sizeof(struct http_param));
		t->r.headers.v[0].name = STR_LIT("authorization");
		t->r.headers.v[0].value = str_c(arena_strdup(t->r.arena, authz));
		t->r.headers.n = 1;
	}
	memcpy(t->r.rid, "rid-test-0000001", 17);
	t->r.remote_addr = "127.0.0.1";
	t->r.app = &fx_app;
	t->r.route_data = fx_is;
	http_resp_init(&t->w, t->r.arena);
}

static inline void
treq_free(struct treq *t)
{
	http_resp_free(&t->w);
	arena_free(t->r.arena);
}

/* The response body as JSON (new reference), or NULL. */
static inline json_t *
treq_json(const struct treq *t)
{
	if (t->w.body.p == NULL)
		return NULL;
	return json_loadb(t->w.body.p, t->w.body.len, 0, NULL);
}

static inline const char *
treq_header(const struct treq *t, const char *name)
{
	for (size_t i = 0; i < t->w.nheaders; i++)
		if (strcasecmp(t->w.headers[i].name, name) == 0)
			return t->w.headers[i].value;
	return NULL;
}

/* Assert the response is an OAuth error with this status and code. */
static inline void
treq_expect_error(const struct treq *t, int status, const char *error)
{
	json_t *j = treq_json(t);
	const char *got = json_string_value(json_object_get(j, "error"));

	if (t->w.status != status || got == NULL || strcmp(got, error) != 0)
		fprintf(stderr, "expected %d %s, got %d %.*s\n", status, error, t->w.status,
			(int)t->w.body.len, t->w.body.p ? t->w.body.p : "");
	assert_int_equal(t->w.status, status);
	assert_non_null(got);
	assert_string_equal(got, error);
	json_decref(j);
}

/* "Basic base64(id:secret)" in a static buffer. */
static inline const char *
fx_basic(const char *id, const char *secret)
{
	static char out[512];
	char raw[256];
	int n = snprintf(raw, sizeof(raw), "%s:%s", id, secret);

	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)raw, n);
	return out;
}

/*
 * Put a client into the store.  json is the registration without the
 * boilerplate: active, a secret hash for client_secret_* methods and
 * its expiry are added here.
 */
static inline void
fx_client(const char *json)
{
	struct err e = { 0 };
	json_t *doc = json_loads(json, 0, NULL);
	char hash[TOKEN_CHARS + 1];
	const char *m;

	assert_non_null(doc);
	if (json_object_get(doc, "active") == NULL)
		json_object_set_new(doc, "active", json_true());
	m = json_string_value(json_object_get(doc, "token_endpoint_auth_method"));
	if (m != NULL && strncmp(m, "client_secret_", 14) == 0 &&
	    json_object_get(doc, "client_secret_sha256") == NULL) {
		sha256_b64url_buf(STR_LIT(FX_SECRET), hash);
		json_object_set_new(doc, "client_secret_sha256", json_string(hash));
		json_object_set_new(doc, "client_secret_expires_at",
				    json_integer(time_now() + 86400));
	}
	if (store_call(fx_app.store, registry, client_create,
		     json_string_value(json_object_get(doc, "client_id")), doc, &e) != 0)
		fprintf(stderr, "client_create: %s\n", e.msg);
	json_decref(doc);
}

static inline void
fx_scope(const char *name, const char *json)
{
	struct err e = { 0 };
	json_t *doc = json_loads(json, 0, NULL);

	assert_non_null(doc);
	json_object_set_new(doc, "name", json_string(name));
	if (json_object_get(doc, "active") == NULL)
		json_object_set_new(doc, "active", json_true());
	assert_int_equal(store_call(fx_app.store, registry, scope_put, name, doc, &e), 0);
	json_decref(doc);
}

/*
 * The standard cast: clients
 *   web      api_klient, client_secret_basic, code + refresh, org 999888777,
 *            access token 300 s; every test scope
 *   web-b    api_klient, client_secret_basic, code + refresh (another client)
 *   web2     idporten, client_secret_basic, code only, sid in ID token
 *   spa      idporten, none (public), code + refresh
 *   mp       maskinporten (not an ID-porten client)
 *   reader   api_klient holding idporten:token.introspection, org 111222333
 *   nosy     api_klient without the introspection scope
 * and scopes test:api (at_max_age 60, authorization_max_age 3600,
 * introspectable by reader), opaque:api (OPAQUE), pseudo:api
 * (pseudonymous, owned by 111222333, introspectable by reader), dead:api
 * (inactive), own:api (introspectable by web only).
 */
static inline void
fx_cast(void)
{
	fx_client("{\"client_id\":\"web\",\"integration_type\":\"api_klient\","
		  "\"application_type\":\"web\",\"token_endpoint_auth_method\":\"client_secret_basic\","
		  "\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
		  "\"scopes\":[\"openid\",\"profile\",\"test:api\",\"opaque:api\",\"pseudo:api\","
		  "\"own:api\",\"idporten:token.introspection\"],"
		  "\"redirect_uris\":[\"" FX_REDIRECT "\"],\"client_orgno\":\"999888777\","
		  "\"access_token_lifetime\":300,\"refresh_token_lifetime\":600,"
		  "\"authorization_lifetime\":7200}");
	fx_client("{\"client_id\":\"web-b\",\"integration_type\":\"api_klient\","
		  "\"token_endpoint_auth_method\":\"client_secret_basic\","
		  "\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
		  "\"scopes\":[\"openid\",\"profile\",\"idporten:token.introspection\"],"
		  "\"client_orgno\":\"999888777\"}");
	fx_client("{\"client_id\":\"web2\",\"integration_type\":\"idporten\","
		  "\"token_endpoint_auth_method\":\"client_secret_basic\","
		  "\"grant_types\":[\"authorization_code\"],\"scopes\":[\"openid\",\"profile\"],"
		  "\"frontchannel_logout_session_required\":true,\"supplier_orgno\":\"123456785\"}");
	fx_client("{\"client_id\":\"spa\",\"integration_type\":\"idporten\","
		  "\"application_type\":\"browser\",\"token_endpoint_auth_method\":\"none\","
		  "\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
		  "\"scopes\":[\"openid\",\"profile\"]}");
	fx_client("{\"client_id\":\"mp\",\"integration_type\":\"maskinporten\","
		  "\"token_endpoint_auth_method\":\"client_secret_basic\","
		  "\"grant_types\":[\"authorization_code\"]}");
	fx_client("{\"client_id\":\"reader\",\"integration_type\":\"api_klient\","
		  "\"token_endpoint_auth_method\":\"client_secret_basic\",\"grant_types\":[],"
		  "\"scopes\":[\"idporten:token.introspection\"],\"client_orgno\":\"111222333\"}");
	fx_client("{\"client_id\":\"nosy\",\"integration_type\":\"api_klient\","
		  "\"token_endpoint_auth_method\":\"client_secret_basic\",\"grant_types\":[],"
		  "\"scopes\":[],\"client_orgno\":\"111222333\"}");
	fx_scope("test:api", "{\"at_max_age\":60,\"authorization_max_age\":3600,"
			     "\"owner_orgno\":\"111222333\","
			     "\"enforced_aud_for_introspection\":[\"reader\"]}");
	fx_scope("opaque:api", "{\"token_type\":\"OPAQUE\",\"owner_orgno\":\"111222333\","
			       "\"enforced_aud_for_introspection\":[\"reader\"]}");
	fx_scope("pseudo:api", "{\"requires_pseudonymous_tokens\":true,"
			       "\"owner_orgno\":\"111222333\","
			       "\"enforced_aud_for_introspection\":[\"reader\"]}");
	fx_scope("dead:api", "{\"active\":false}");
	fx_scope("own:api", "{\"owner_orgno\":\"999888777\","
			    "\"enforced_aud_for_introspection\":[\"web\"]}");
}

/*
 * The code record the authorize side would write (oauth.h), for client_id
 * and scope; challenge may be NULL (PKCE-exempt client).  Stored under
 * the hash of code with the given grant id.
 */
static inline json_t *
fx_code_doc(const char *client_id, const char *scope, const char *challenge)
{
	json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:I,s:s,s:s}",
				"client_id", client_id, "redirect_uri", FX_REDIRECT, "nonce",
				"n-0S6_WzA2Mj", "scope", scope, "sid", "sid-1234", "session_kind",
				"shared", "pid", FX_PID, "acr", "idporten-loa-substantial", "amr",
				"TestID", "auth_time", (json_int_t)time_now() - 5, "locale", "nb",
				"eid", "testid");

	assert_non_null(doc);
	json_object_set_new(doc, "iss", json_string(FX_ISS));
	if (challenge != NULL)
		json_object_set_new(doc, "code_challenge", json_string(challenge));
	return doc;
}

static inline void
fx_code_put(const char *code, const char *grant_id, json_t *doc)
{
	struct err e = { 0 };
	char hash[TOKEN_CHARS + 1];

	char *text = json_dumps(doc, JSON_COMPACT);

	assert_non_null(text);
	sha256_b64url_buf(str_c(code), hash);
	assert_int_equal(store_call(fx_app.store, oauth, code_put, hash, grant_id, text, time_now() + 60, &e),
			 0);
	free(text);
	json_decref(doc);
}

/* Take a string member of the response (strdup'd) */
static inline char *
fx_take(const struct treq *t, const char *name)
{
	json_t *j = treq_json(t);
	const char *v = json_string_value(json_object_get(j, name));
	char *out = v ? strdup(v) : NULL;

	json_decref(j);
	return out;
}

/*
 * Redeem a code at /token; public clients (basic false) name themselves in
 * the form.  extra is appended to the form.  The caller checks and frees t.
 */
static inline void
fx_redeem(struct treq *t, const char *client_id, bool basic, const char *code, const char *extra)
{
	char *form = NULL;

	assert_true(asprintf(&form,
			     "grant_type=authorization_code&code=%s&redirect_uri=https%%3A%%2F%%2Frp."
			     "example.no%%2Fcb%s%s%s%s",
			     code, basic ? "" : "&client_id=", basic ? "" : client_id,
			     extra ? "&" : "", extra ? extra : "") > 0);
	treq_init(t, "POST", "/token", form, basic ? fx_basic(client_id, FX_SECRET) : NULL);
	free(form);
	oauth_handle_token(&t->r, &t->w);
}

/* Refresh at /token. */
static inline void
fx_refresh(struct treq *t, const char *client_id, bool basic, const char *rt, const char *extra)
{
	char *form = NULL;

	assert_true(asprintf(&form, "grant_type=refresh_token&refresh_token=%s%s%s%s%s", rt,
			     basic ? "" : "&client_id=", basic ? "" : client_id, extra ? "&" : "",
			     extra ? extra : "") > 0);
	treq_init(t, "POST", "/token", form, basic ? fx_basic(client_id, FX_SECRET) : NULL);
	free(form);
	oauth_handle_token(&t->r, &t->w);
}

/*
 * Log in and redeem: a fresh code for client_id with scope, redeemed with
 * the right verifier.  Out-parameters (strdup'd, may be NULL when absent)
 * get the tokens; the grant id is written to grant_id (64 bytes).
 */
static inline void
fx_issue(const char *client_id, bool basic, const char *scope, char **access, char **refresh,
	 char **id_token, char grant_id[64])
{
	static unsigned counter;
	char code[64], gid[64];
	struct treq t;

	snprintf(code, sizeof(code), "fx-code-%u", ++counter);
	snprintf(gid, sizeof(gid), "fx-grant-%u", counter);
	fx_code_put(code, gid, fx_code_doc(client_id, scope, FX_CHALLENGE));
	fx_redeem(&t, client_id, basic, code, "code_verifier=" FX_VERIFIER);
	if (t.w.status != 200)
		fprintf(stderr, "fx_issue: %d %.*s\n", t.w.status, (int)t.w.body.len, t.w.body.p);
	assert_int_equal(t.w.status, 200);
	if (access != NULL)
		*access = fx_take(&t, "access_token");
	if (refresh != NULL)
		*refresh = fx_take(&t, "refresh_token");
	if (id_token != NULL)
		*id_token = fx_take(&t, "id_token");
	if (grant_id != NULL)
		memcpy(grant_id, gid, sizeof(gid));
	treq_free(&t);
}

/* The payload of a compact JWS, unverified (tests only). */
static inline json_t *
fx_jwt_payload(const char *jws)
{
	const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	unsigned char buf[8192];
	size_t n = 0;

	if (d2 == NULL || (size_t)(d2 - d1 - 1) * 3 / 4 + 1 > sizeof(buf))
		return NULL;
	if (b64url_decode((struct str){ d1 + 1, (size_t)(d2 - d1 - 1) }, buf, &n) != 0)
		return NULL;
	return json_loadb((const char *)buf, n, 0, NULL);
}

static inline json_t *
fx_jwt_header(const char *jws)
{
	const char *d1 = strchr(jws, '.');
	unsigned char buf[4096];
	size_t n = 0;

	if (d1 == NULL || (size_t)(d1 - jws) * 3 / 4 + 1 > sizeof(buf))
		return NULL;
	if (b64url_decode((struct str){ jws, (size_t)(d1 - jws) }, buf, &n) != 0)
		return NULL;
	return json_loadb((const char *)buf, n, 0, NULL);
}

#endif
