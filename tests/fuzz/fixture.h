/*
 * Shared setup of the fuzz targets that drive handlers: a struct porten
 * over an in-memory store with one ID-porten issuer and its signing key, a
 * few clients written straight into the store, an RSA key of the clients'
 * own (made once, in fz_init) to sign client assertions and request
 * objects, and hand-built requests.  The header parser targets use only
 * the bare request and the checks on Cookie and Authorization parsing at
 * the end.  Include from one fuzz_*.c only.
 *
 * Everything slow (key generation) happens once.  Records the handlers
 * leave behind (pending logins, PAR requests, codes, sessions, replay
 * cache entries) are swept every few hundred inputs by moving the clock
 * far ahead for one sweep, so memory stays flat over millions of inputs.
 */
#ifndef PORTEN_TESTS_FUZZ_FIXTURE_H
#define PORTEN_TESTS_FUZZ_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "services.h"
#include "app/app.h"
#include "core/arena.h"
#include "core/b64.h"
#include "core/cfg.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/http.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "store/store.h"

#define FZ_ISS "https://idporten.fuzz"
#define FZ_REDIRECT "https://rp.example.no/cb"
#define FZ_SECRET "fuzz-secret-0123456789"
#define FZ_KID "fz-key"
#define FZ_BROWSER "fzbrowser0123456789012345678901234567890abc" /* 43 chars */
#define FZ_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* The libFuzzer entry points (LLVMFuzzerInitialize is optional). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct porten fz_app;
static struct cfg fz_cfg;
static struct issuer *fz_is;
static EVP_PKEY *fz_pkey;     /* the clients' own key (fz-jwt, fz-ro) */
static unsigned long fz_runs;
static bool fz_ready;         /* fz_init has run */

static inline void
fz_die(const char *what, const struct err *e)
{
	fprintf(stderr, "fuzz fixture: %s: %s\n", what, e ? e->msg : "");
	abort();
}

static inline char *
fz_b64url(const void *p, size_t n)
{
	char *out = malloc(b64url_len(n) + 1);

	if (out == NULL)
		abort();
	b64url_encode(p, n, out);
	return out;
}

static inline char *
fz_bn_b64url(const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;

	if (EVP_PKEY_get_bn_param(fz_pkey, param, &bn) != 1)
		abort();
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	if (n <= 0 || (size_t)n > sizeof(buf))
		abort();
	return fz_b64url(buf, (size_t)n);
}

/* The public JWK of fz_pkey with kid FZ_KID (new reference). */
static inline json_t *
fz_public_jwk(void)
{
	char *n = fz_bn_b64url(OSSL_PKEY_PARAM_RSA_N), *e = fz_bn_b64url(OSSL_PKEY_PARAM_RSA_E);
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "use", "sig", "alg",
			      "RS256", "kid", FZ_KID, "n", n, "e", e);

	free(n);
	free(e);
	return j;
}

/*
 * A compact JWS over the given header and payload bytes (any bytes: the
 * fuzzer's), signed RS256 with fz_pkey.  malloc'd.
 */
static inline char *
fz_sign_raw(const void *header, size_t hlen, const void *payload, size_t plen)
{
	char *h = fz_b64url(header, hlen), *p = fz_b64url(payload, plen), *sig, *out;
	size_t hl = strlen(h), pl = strlen(p), siglen = 0;
	unsigned char sigbuf[1024];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *input = malloc(hl + pl + 2);

	if (md == NULL || input == NULL)
		abort();
	memcpy(input, h, hl);
	input[hl] = '.';
	memcpy(input + hl + 1, p, pl + 1);
	siglen = sizeof(sigbuf);
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, fz_pkey) != 1 ||
	    EVP_DigestSign(md, sigbuf, &siglen, (const unsigned char *)input, hl + pl + 1) != 1)
		abort();
	EVP_MD_CTX_free(md);
	sig = fz_b64url(sigbuf, siglen);
	out = malloc(hl + pl + strlen(sig) + 3);
	if (out == NULL)
		abort();
	snprintf(out, hl + pl + strlen(sig) + 3, "%s.%s", input, sig);
	free(input);
	free(h);
	free(p);
	free(sig);
	return out;
}

/* Sign payload bytes with the usual header {alg: RS256, kid: fz-key}. */
static inline char *
fz_sign(const void *payload, size_t plen)
{
	static const char hdr[] = "{\"alg\":\"RS256\",\"kid\":\"" FZ_KID "\",\"typ\":\"JWT\"}";

	return fz_sign_raw(hdr, sizeof(hdr) - 1, payload, plen);
}

static inline void
fz_client(const char *json, bool with_jwks)
{
	struct err e = { 0 };
	json_t *doc = json_loads(json, 0, NULL);
	char hash[TOKEN_CHARS + 1];
	const char *m;

	if (doc == NULL)
		fz_die("client json", NULL);
	json_object_set_new(doc, "active", json_true());
	m = json_string_value(json_object_get(doc, "token_endpoint_auth_method"));
	if (m != NULL && strncmp(m, "client_secret_", 14) == 0) {
		sha256_b64url_buf(STR_LIT(FZ_SECRET), hash);
		json_object_set_new(doc, "client_secret_sha256", json_string(hash));
		json_object_set_new(doc, "client_secret_expires_at",
				    json_integer(time_now() + 100LL * 365 * 86400));
	}
	if (with_jwks)
		json_object_set_new(doc, "jwks", json_pack("{s:[o]}", "keys", fz_public_jwk()));
	if (store_call(fz_app.store, registry, client_create,
		     json_string_value(json_object_get(doc, "client_id")), doc, &e) != 0)
		fz_die("client_create", &e);
	json_decref(doc);
}

/*
 * Set up once; later calls return at once, so a target without set-up of
 * its own calls this first thing for each input (drivers other than
 * libFuzzer and replay.c may never call LLVMFuzzerInitialize).
 *
 * The cast:
 *   fz-web   client_secret_basic, code flow, openid profile test:api
 *   fz-jwt   private_key_jwt with fz_pkey's JWK
 *   fz-ro    client_secret_basic with fz_pkey's JWK too (request objects)
 *   fz-spa   public (none), PKCE required
 *   fz-nat   native, PKCE exempt (code_challenge_method none), loopback redirect
 */
static inline void
fz_init(void)
{
	struct err e = { 0 };

	if (fz_ready)
		return;
	fz_ready = true;
	/* Handlers log refusals; the fuzzer's own output is on stderr. */
	if (freopen("/dev/null", "w", stdout) == NULL)
		abort();
	log_set_level(LOG_ERR);
	memset(&fz_app, 0, sizeof(fz_app));
	if (service_cfg_load(&fz_cfg, porten_services, NULL, &e) != 0)
		fz_die("cfg", &e);
	fz_cfg.key_publish_delay = 0;
	fz_app.cfg = &fz_cfg;
	fz_app.test_env = true;
	memset(fz_app.kek.k, 7, sizeof(fz_app.kek.k));
	memset(fz_app.pairwise_key, 1, sizeof(fz_app.pairwise_key));
	memset(fz_app.csrf_key, 2, sizeof(fz_app.csrf_key));
	if (store_open(&fz_app.store, &(struct store_opts){ .target = ":memory:" }, &e) != 0)
		fz_die("store", &e);
	fz_is = &fz_app.issuers[0];
	fz_is->kind = ISSUER_IDPORTEN;
	fz_is->iss = FZ_ISS;
	fz_is->prefix = "";
	fz_is->base = FZ_ISS;
	fz_is->app = &fz_app;
	fz_app.nissuers = 1;
	if (reg_keys_ensure(&fz_app, fz_is, &e) != 0)
		fz_die("keys", &e);
	fz_pkey = EVP_RSA_gen(2048);
	if (fz_pkey == NULL)
		fz_die("rsa", NULL);
	fz_client("{\"client_id\":\"fz-web\",\"client_name\":\"Fuzz web\","
		  "\"integration_type\":\"api_klient\",\"application_type\":\"web\","
		  "\"token_endpoint_auth_method\":\"client_secret_basic\","
		  "\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
		  "\"scopes\":[\"openid\",\"profile\",\"test:api\"],"
		  "\"redirect_uris\":[\"" FZ_REDIRECT "\",\"" FZ_REDIRECT "?x=1\"],"
		  "\"client_orgno\":\"999888777\"}",
		  false);
	fz_client("{\"client_id\":\"fz-jwt\",\"integration_type\":\"idporten\","
		  "\"application_type\":\"web\",\"token_endpoint_auth_method\":\"private_key_jwt\","
		  "\"grant_types\":[\"authorization_code\"],\"scopes\":[\"openid\",\"profile\"],"
		  "\"redirect_uris\":[\"" FZ_REDIRECT "\"]}",
		  true);
	fz_client("{\"client_id\":\"fz-ro\",\"integration_type\":\"idporten\","
		  "\"application_type\":\"web\",\"token_endpoint_auth_method\":\"client_secret_basic\","
		  "\"grant_types\":[\"authorization_code\"],\"scopes\":[\"openid\",\"profile\"],"
		  "\"redirect_uris\":[\"" FZ_REDIRECT "\"]}",
		  true);
	fz_client("{\"client_id\":\"fz-spa\",\"integration_type\":\"idporten\","
		  "\"application_type\":\"browser\",\"token_endpoint_auth_method\":\"none\","
		  "\"grant_types\":[\"authorization_code\"],\"scopes\":[\"openid\",\"profile\"],"
		  "\"redirect_uris\":[\"https://spa.example.no/\"]}",
		  false);
	fz_client("{\"client_id\":\"fz-nat\",\"integration_type\":\"idporten\","
		  "\"application_type\":\"native\",\"token_endpoint_auth_method\":\"none\","
		  "\"code_challenge_method\":\"none\","
		  "\"grant_types\":[\"authorization_code\"],\"scopes\":[\"openid\"],"
		  "\"redirect_uris\":[\"http://127.0.0.1:0/cb\",\"no.fuzz.app:/cb\"]}",
		  false);
	{
		json_t *s = json_pack("{s:s,s:b,s:i}", "name", "test:api", "active", 1,
				      "at_max_age", 60);

		if (store_call(fz_app.store, registry, scope_put, "test:api", s, &e) != 0)
			fz_die("scope", &e);
		json_decref(s);
	}
}

/* Sweep what the handlers stored, every few hundred inputs. */
static inline void
fz_maybe_sweep(void)
{
	struct err e = { 0 };
	int64_t n = 0;

	if (++fz_runs % 256 != 0)
		return;
	time_set_offset(100LL * 365 * 86400);
	(void)store_sweep(fz_app.store, time_now(), &n, &e);
	time_set_offset(0);
}

struct fz_req {
	struct http_req r;
	struct http_resp w;
	struct http_param hdr[4];
};

/*
 * A request as the server would hand it over: params (query or form, by
 * method) parsed strictly, bad_input set when they do not parse; headers
 * authz and cookie when non-NULL.  The arena is fresh.
 */
static inline void
fz_req_init(struct fz_req *t, const char *method, const char *path, struct str params,
	    const char *authz, const char *cookie)
{
	bool post = strcmp(method, "POST") == 0;
	struct http_params *p;

	memset(t, 0, sizeof(*t));
	t->r.arena = arena_new();
	if (t->r.arena == NULL)
		abort();
	t->r.method = method;
	t->r.path = str_c(path);
	p = post ? &t->r.form : &t->r.query;
	if (post)
		t->r.body = (struct str){ arena_strndup(t->r.arena, params.p, params.len), params.len };
	else
		t->r.raw_query = (struct str){ arena_strndup(t->r.arena, params.p, params.len),
					       params.len };
	if (http_parse_urlencoded(t->r.arena, params, p, &t->r.input_err) != 0) {
		t->r.bad_input = true;
		memset(p, 0, sizeof(*p));
	}
	t->r.headers.v = t->hdr;
	if (authz != NULL) {
		t->hdr[t->r.headers.n].name = STR_LIT("authorization");
		t->hdr[t->r.headers.n++].value = str_c(arena_strdup(t->r.arena, authz));
	}
	if (cookie != NULL) {
		struct err e;

		t->hdr[t->r.headers.n].name = STR_LIT("cookie");
		t->hdr[t->r.headers.n++].value = str_c(arena_strdup(t->r.arena, cookie));
		if (http_parse_cookies(t->r.arena, str_c(cookie), &t->r.cookies, &e) != 0)
			memset(&t->r.cookies, 0, sizeof(t->r.cookies));
	}
	memcpy(t->r.rid, "fuzz000000000000", 17);
	t->r.remote_addr = "127.0.0.1";
	t->r.app = &fz_app;
	t->r.route_data = fz_is;
	http_resp_init(&t->w, t->r.arena);
}

/*
 * Every answer must be a real status with a body within bounds.  With
 * FUZZ_VERBOSE set, each answer is shown on stderr (for keeping the corpus).
 */
static inline void
fz_req_done(struct fz_req *t)
{
	if (getenv("FUZZ_VERBOSE") != NULL) {
		const char *loc = "";

		for (size_t i = 0; i < t->w.nheaders; i++)
			if (strcmp(t->w.headers[i].name, "Location") == 0)
				loc = t->w.headers[i].value;
		fprintf(stderr, "%s %.*s -> %d %s %.200s\n", t->r.method, (int)t->r.path.len,
			t->r.path.p, t->w.status, loc, t->w.body.p ? t->w.body.p : "");
	}
	if (t->w.status < 200 || t->w.status > 599 || t->w.body.len > HTTP_MAX_RESPONSE)
		abort();
	http_resp_free(&t->w);
	arena_free(t->r.arena);
}

/* "Basic base64(id:secret)" (ids and secrets here need no form-encoding). */
static inline const char *
fz_basic(const char *id, const char *secret)
{
	static char out[512];
	char raw[256];
	int n = snprintf(raw, sizeof(raw), "%s:%s", id, secret);

	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)raw, n);
	return out;
}

/* A NUL-terminated heap copy of fuzz bytes (exact size + 1, for ASan). */
static inline char *
fz_strndup(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/*
 * Fuzz bytes split at the first '\n': returns a heap copy of the line
 * before it (NULL when there is no '\n'); *rest is what follows it (all of
 * p when there is no '\n').
 */
static inline char *
fz_split_line(const char *p, size_t n, struct str *rest)
{
	const char *nl = n > 0 ? memchr(p, '\n', n) : NULL;

	if (nl == NULL) {
		*rest = (struct str){ p, n };
		return NULL;
	}
	*rest = (struct str){ nl + 1, n - (size_t)(nl - p) - 1 };
	return fz_strndup((const uint8_t *)p, (size_t)(nl - p));
}

/*
 * Fuzz bytes with placeholders filled in, so saved inputs stay valid over
 * time: @NOW@ and @EXP@ become the current time and a minute later, @JTI@
 * a fresh random value, and each of the extra names[i] becomes values[i].
 * *out is malloc'd (NUL-terminated), *outlen its length.
 */
static inline void
fz_subst(const char *p, size_t n, const char *const *names, const char *const *values,
	 size_t nextra, char **out, size_t *outlen)
{
	struct buf b;
	char now[24], exp[24], jti[TOKEN_CHARS + 1];

	snprintf(now, sizeof(now), "%lld", (long long)time_now());
	snprintf(exp, sizeof(exp), "%lld", (long long)time_now() + 60);
	if (rand_token_buf(jti) != 0)
		abort();
	buf_init(&b, 4 << 20);
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		size_t skip = 0;

		if (p[i] == '@') {
			static const char *const fixed[] = { "@NOW@", "@EXP@", "@JTI@" };
			const char *fixed_v[] = { now, exp, jti };

			for (size_t k = 0; k < 3 && rep == NULL; k++)
				if (n - i >= strlen(fixed[k]) &&
				    memcmp(p + i, fixed[k], strlen(fixed[k])) == 0) {
					rep = fixed_v[k];
					skip = strlen(fixed[k]);
				}
			for (size_t k = 0; k < nextra && rep == NULL; k++)
				if (n - i >= strlen(names[k]) &&
				    memcmp(p + i, names[k], strlen(names[k])) == 0) {
					rep = values[k];
					skip = strlen(names[k]);
				}
		}
		if (rep != NULL) {
			buf_puts(&b, rep);
			i += skip - 1;
		} else {
			buf_append(&b, p + i, 1);
		}
	}
	*outlen = b.len;
	*out = b.p != NULL ? buf_take(&b) : fz_strndup((const uint8_t *)"", 0);
}


/*
 * Valid claims of a client assertion by fz-jwt for FZ_ISS (fresh jti, a
 * minute's life) into out; their length.
 */
static inline size_t
fz_assertion_claims(char out[512])
{
	char jti[TOKEN_CHARS + 1];
	int n;

	if (rand_token_buf(jti) != 0)
		abort();
	n = snprintf(out, 512,
		     "{\"iss\":\"fz-jwt\",\"sub\":\"fz-jwt\",\"aud\":\"" FZ_ISS "\",\"iat\":%lld,"
		     "\"exp\":%lld,\"jti\":\"%s\"}",
		     (long long)time_now(), (long long)time_now() + 60, jti);
	if (n < 0 || n >= 512)
		abort();
	return (size_t)n;
}

/* Append the form fields of a client assertion jws (RFC 7523 §2.2). */
static inline void
fz_put_assertion(struct buf *form, const char *jws)
{
	buf_puts(form, "client_assertion_type=");
	buf_urlenc(form, STR_LIT(FZ_ASSERTION_TYPE));
	buf_puts(form, "&client_assertion=");
	buf_puts(form, jws);
}

/*
 * For the header parser targets: a bare request (no app) with a fresh
 * arena and header array h, filled in by the caller.  False when out of
 * memory.
 */
static inline bool
fz_bare_req(struct http_req *r, struct http_param *h)
{
	memset(r, 0, sizeof(*r));
	r->arena = arena_new();
	r->headers.v = h;
	return r->arena != NULL;
}

/* What http_parse_cookies must leave in r->cookies, and look-ups of each. */
static inline void
fz_check_cookies(const struct http_req *r)
{
	if (r->cookies.n > HTTP_MAX_COOKIES)
		abort();
	for (size_t i = 0; i < r->cookies.n; i++) {
		const struct http_param *c = &r->cookies.v[i];

		if (c->name.len == 0 || c->name.len > HTTP_MAX_PARAM_NAME ||
		    c->value.len > HTTP_MAX_PARAM_VALUE || !str_is_clean_utf8(c->value))
			abort();
		(void)http_cookie(r, c->name.p);
	}
}

static inline bool
fz_b64token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-._~+/=", c) != NULL);
}

/*
 * Whatever the Authorization headers of r: Basic credentials (RFC 7617)
 * come out clean, NUL-terminated and within limits, a malformed header is
 * invalid_client (401); a Bearer token (RFC 6750 §2.1) is a b64token.
 */
static inline void
fz_check_authz(const struct http_req *r)
{
	struct str user, pass, tok;
	struct err e;
	int rc;

	err_clear(&e);
	rc = http_basic_auth(r, &user, &pass, &e);
	if (rc == 0) {
		if (user.len == 0 || user.len > HTTP_MAX_PARAM_VALUE ||
		    pass.len > HTTP_MAX_PARAM_VALUE || !str_is_clean_utf8(user) ||
		    !str_is_clean_utf8(pass) || user.p[user.len] != '\0' || pass.p[pass.len] != '\0')
			abort();
	} else if (rc != ERR_NOTFOUND && rc != ERR_INVAL) {
		abort();
	} else if (rc == ERR_INVAL && e.status != 401) {
		abort();
	}

	rc = http_bearer(r, &tok);
	if (rc == 0) {
		if (tok.len == 0 || tok.len > HTTP_MAX_PARAM_VALUE)
			abort();
		for (size_t i = 0; i < tok.len; i++)
			if (!fz_b64token_char(tok.p[i]))
				abort();
	} else if (rc != ERR_NOTFOUND && rc != ERR_INVAL) {
		abort();
	}
}

#endif
