/*
 * Pending authorizations (spec/idporten-oidc.md §7).  A pending
 * authorization travels sealed in the page URLs and forms as "ar": AES-256-GCM
 * under a key every node shares through the store, with the hash of a
 * random browser cookie (porten_b) as associated data, so an ar opens only
 * in the browser that started the login, and nothing is written to the
 * store to start one.  The sealed text is
 *
 *   base64url( version (1) | kid (4) | IV (12) | ciphertext | tag (16) )
 *   plaintext: expiry (8, big-endian seconds) | the request's compact document
 *   associated data: version | kid | SHA-256(porten_b)
 *
 * The keys rotate: each pending_lifetime a new key (its kid the start of
 * its period, in seconds) seals, made by the first node that needs it as a
 * document of kind "seal_key" that every node reads; a kid opens for two
 * periods, the lifetime of any login sealed under it, and is refused after
 * (rotated out) or when no node made it (unknown).  A login completes
 * once: the hash of its ar is recorded as "spent" in the commit that ends
 * it (the code, the consent, the cancel), and an ar found there is over.
 * A request too large to travel in a URL (SEAL_AR_MAX) stays a store row
 * under a random id as before; the id's length tells the two apart.
 *
 * In the ar rather than a cookie: two logins in two tabs of one browser
 * each keep their own (one cookie would hold only the last), nothing
 * rides along on the browser's other requests to the host, no cookie
 * size limit (about 4 KB a cookie) applies, and every page, form and eID
 * that carried the ar carries it unchanged.
 *
 * Forms carry a CSRF token derived from the ar, the browser cookie and a
 * key all nodes share, so any node can check it without state.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "app/app.h"
#include "core/crypto.h"
#include "core/loa.h"
#include "core/timeutil.h"
#include "login/login_int.h"
#include "oauth/oauth.h"

#define BROWSER_COOKIE "porten_b"

#define SEAL_VERSION 1
#define SEAL_KID_LEN 4
#define SEAL_HEAD (1 + SEAL_KID_LEN + AEAD_IV_LEN)
#define SEAL_EXP_LEN 8
/*
 * Characters of a sealed ar at most: it travels in URLs (HTTP_MAX_URI 8192
 * with the rest of the URL, and again as the Referer of the next page).
 */
#define SEAL_AR_MAX 3072
#define SEAL_SKEW 60            /* a kid this far ahead of our clock: another node's */
#define SEAL_KEY_KIND "seal_key"
#define SPENT_KIND "spent"
#define SEAL_CACHE 4

#define MSG_NONE "no login in progress"
#define MSG_OVER "the login has expired or was finished"
#define MSG_BROWSER "the login was started in another browser"

/* A login that cannot go on, and why (one of MSG_*): ERR_NOTFOUND, 400, for the error page. */
static int
pending_refused(struct err *e, const char *why)
{
	return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST, "%s", why);
}

static struct porten *
login_app(struct http_req *r)
{
	return r->app;
}

/* The browser binding cookie, created on first use. */
static const char *
login_browser(struct http_req *r, struct http_resp *w)
{
	const char *b = http_cookie(r, BROWSER_COOKIE);
	struct http_cookie_opts o = {
		.max_age = -1, .path = "/", .same_site = "Lax", .http_only = true,
	};

	if (b != NULL && strlen(b) == TOKEN_CHARS)
		return b;
	if (w == NULL)
		return NULL;
	b = rand_token(r->arena);
	if (b == NULL)
		return NULL;
	o.secure = app_cookie_secure(r);
	http_resp_cookie(w, BROWSER_COOKIE, b, &o);
	/* Later code in this request sees it as if the browser had sent it. */
	http_req_cookie_add(r, BROWSER_COOKIE, b);
	return b;
}

/* ---- the sealing keys ---- */

/*
 * Keys read from the store, by kid; a key is never changed once made, so
 * what is here stays right.  Keyed by the store too (unit tests open many).
 */
static struct {
	pthread_mutex_t mu;
	struct seal_key {
		const struct store *store;
		uint32_t kid;
		unsigned char k[AEAD_KEY_LEN];
	} keys[SEAL_CACHE];
	unsigned next;
} seal_cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int64_t
seal_period(const struct porten *app)
{
	return app->cfg->pending_lifetime > 0 ? app->cfg->pending_lifetime : 1800;
}

static bool
seal_cached(const struct store *st, uint32_t kid, unsigned char k[AEAD_KEY_LEN])
{
	bool found = false;

	pthread_mutex_lock(&seal_cache.mu);
	for (unsigned i = 0; i < SEAL_CACHE && !found; i++) {
		struct seal_key *c = &seal_cache.keys[i];

		if (c->store == st && c->kid == kid) {
			memcpy(k, c->k, AEAD_KEY_LEN);
			found = true;
		}
	}
	pthread_mutex_unlock(&seal_cache.mu);
	return found;
}

static void
seal_remember(const struct store *st, uint32_t kid, const unsigned char k[AEAD_KEY_LEN])
{
	struct seal_key *c;

	pthread_mutex_lock(&seal_cache.mu);
	c = &seal_cache.keys[seal_cache.next++ % SEAL_CACHE];
	c->store = st;
	c->kid = kid;
	memcpy(c->k, k, AEAD_KEY_LEN);
	pthread_mutex_unlock(&seal_cache.mu);
}

/* The key of kid from the store ("seal_key" document {"k": base64url}). */
static int
seal_key_read(struct porten *app, uint32_t kid, unsigned char k[AEAD_KEY_LEN], struct err *e)
{
	char id[16];
	json_t *doc = NULL;
	const char *t;
	unsigned char raw[AEAD_KEY_LEN + 3];
	size_t n = 0;
	int rc;

	if (seal_cached(app->store, kid, k))
		return 0;
	snprintf(id, sizeof(id), "%u", (unsigned)kid);
	rc = store_call(app->store, login, doc_get, SEAL_KEY_KIND, id, &doc, e);
	if (rc != 0)
		return rc;
	t = json_string_value(json_object_get(doc, "k"));
	if (t == NULL || strlen(t) != TOKEN_CHARS || b64url_decode(str_c(t), raw, &n) != 0 ||
	    n != AEAD_KEY_LEN) {
		json_decref(doc);
		return ERR(e, ERR_INTERNAL, 500, OAUTH_SERVER_ERROR, "stored sealing key %s is corrupt",
			   id);
	}
	json_decref(doc);
	memcpy(k, raw, AEAD_KEY_LEN);
	secure_wipe(raw, sizeof(raw));
	seal_remember(app->store, kid, k);
	return 0;
}

/*
 * The key that seals now: this period's, made here if no node has made it
 * yet.  A key made here is not remembered until it is read back from the
 * store: in a transaction that is rolled back it never was.
 */
static int
seal_key_current(struct porten *app, uint32_t *kid, unsigned char k[AEAD_KEY_LEN], struct err *e)
{
	int64_t p = seal_period(app), now = time_now(), start = now - now % p;
	unsigned char raw[AEAD_KEY_LEN];
	char id[16], enc[TOKEN_CHARS + 1];
	json_t *doc;
	int rc;

	*kid = (uint32_t)start;
	rc = seal_key_read(app, *kid, k, e);
	if (rc != ERR_NOTFOUND)
		return rc;
	if (rand_bytes(raw, sizeof(raw)) != 0)
		return ERR(e, ERR_CRYPTO, 500, OAUTH_SERVER_ERROR, "no randomness");
	b64url_encode(raw, sizeof(raw), enc);
	doc = json_pack("{s:s}", "k", enc);
	secure_wipe(enc, sizeof(enc));
	if (doc == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	snprintf(id, sizeof(id), "%u", (unsigned)*kid);
	/* Kept a period past the last login it can open. */
	rc = store_call(app->store, login, doc_put, SEAL_KEY_KIND, id, doc, start + 3 * p, e);
	json_decref(doc);
	if (rc == 0)
		memcpy(k, raw, AEAD_KEY_LEN);
	else if (rc == ERR_EXISTS)
		rc = seal_key_read(app, *kid, k, e);   /* another node was first */
	secure_wipe(raw, sizeof(raw));
	return rc;
}

int
login_seal_prepare(struct porten *app, struct err *e)
{
	unsigned char k[AEAD_KEY_LEN];
	uint32_t kid;
	int rc = seal_key_current(app, &kid, k, e);

	if (rc == 0)
		rc = seal_key_read(app, kid, k, e);
	secure_wipe(k, sizeof(k));
	return rc;
}

/* The associated data: version, kid and the browser cookie's hash. */
static void
seal_aad(const unsigned char head[1 + SEAL_KID_LEN], const char *browser,
	 unsigned char aad[1 + SEAL_KID_LEN + 32])
{
	memcpy(aad, head, 1 + SEAL_KID_LEN);
	sha256(browser, strlen(browser), aad + 1 + SEAL_KID_LEN);
}

/*
 * Seal the document text (n bytes) with its expiry for browser: *ar an
 * arena string, or NULL when too long.
 */
static int
pending_seal(struct http_req *r, const char *browser, const char *text, size_t n, int64_t exp,
	     const char **ar, struct err *e)
{
	struct porten *app = login_app(r);
	unsigned char k[AEAD_KEY_LEN], aad[1 + SEAL_KID_LEN + 32], *plain = NULL, *blob;
	size_t plen, blen;
	uint32_t kid;
	int rc;

	*ar = NULL;
	plen = SEAL_EXP_LEN + n;
	blen = SEAL_HEAD + plen + AEAD_TAG_LEN;
	if (n == 0 || b64url_len(blen) > SEAL_AR_MAX)
		return 0;
	rc = seal_key_current(app, &kid, k, e);
	if (rc != 0)
		return rc;
	plain = arena_alloc(r->arena, plen);
	blob = arena_alloc(r->arena, blen);
	if (plain == NULL || blob == NULL) {
		secure_wipe(k, sizeof(k));
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	}
	for (int i = 0; i < SEAL_EXP_LEN; i++)
		plain[i] = (unsigned char)((uint64_t)exp >> (8 * (SEAL_EXP_LEN - 1 - i)));
	memcpy(plain + SEAL_EXP_LEN, text, n);
	blob[0] = SEAL_VERSION;
	for (int i = 0; i < SEAL_KID_LEN; i++)
		blob[1 + i] = (unsigned char)(kid >> (8 * (SEAL_KID_LEN - 1 - i)));
	seal_aad(blob, browser, aad);
	rc = rand_bytes(blob + 1 + SEAL_KID_LEN, AEAD_IV_LEN);
	if (rc == 0)
		rc = aead_seal(k, blob + 1 + SEAL_KID_LEN, (struct str){ (char *)aad, sizeof(aad) },
			       plain, plen, blob + SEAL_HEAD);
	secure_wipe(k, sizeof(k));
	secure_wipe(plain, plen);
	if (rc != 0)
		return ERR(e, ERR_CRYPTO, 500, OAUTH_SERVER_ERROR, "cannot seal the login");
	*ar = b64url_encode_arena(r->arena, blob, blen);
	return *ar != NULL ? 0 : ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
}

/*
 * Open sealed ar for browser: its document *doc (a new reference) and
 * expiry.  Every failure of the text itself is ERR_NOTFOUND, 400, with
 * what the person is told; a store failure is the store's.
 */
static int
pending_unseal(struct http_req *r, const char *ar, const char *browser, json_t **doc,
	       int64_t *exp, struct err *e)
{
	struct porten *app = login_app(r);
	size_t alen = strlen(ar), blen = 0, plen = 0;
	unsigned char k[AEAD_KEY_LEN], aad[1 + SEAL_KID_LEN + 32], *blob, *plain;
	int64_t now = time_now(), p = seal_period(app), start;
	uint64_t x = 0;
	uint32_t kid = 0;
	int rc;

	*doc = NULL;
	if (alen > SEAL_AR_MAX)
		return pending_refused(e, MSG_NONE);
	blob = arena_alloc(r->arena, alen * 3 / 4 + 1);
	if (blob == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	if (b64url_decode(str_c(ar), blob, &blen) != 0 ||
	    blen < SEAL_HEAD + SEAL_EXP_LEN + 2 + AEAD_TAG_LEN || blob[0] != SEAL_VERSION)
		return pending_refused(e, MSG_NONE);
	for (int i = 0; i < SEAL_KID_LEN; i++)
		kid = kid << 8 | blob[1 + i];
	/*
	 * Rotated out (older than the longest login it sealed), from too far
	 * ahead, or made by no node: the login is over either way.
	 */
	start = (int64_t)kid;
	if (start + 2 * p <= now || start > now + SEAL_SKEW)
		return pending_refused(e, MSG_OVER);
	rc = seal_key_read(app, kid, k, e);
	if (rc == ERR_NOTFOUND)
		return pending_refused(e, MSG_OVER);
	if (rc != 0)
		return rc;
	plain = arena_alloc(r->arena, blen);
	if (plain == NULL) {
		secure_wipe(k, sizeof(k));
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	}
	seal_aad(blob, browser, aad);
	rc = aead_open(k, blob + 1 + SEAL_KID_LEN, (struct str){ (char *)aad, sizeof(aad) },
		       blob + SEAL_HEAD, blen - SEAL_HEAD, plain, &plen);
	secure_wipe(k, sizeof(k));
	/* Altered, or sealed for another browser's cookie: the tag tells no more. */
	if (rc != 0 || plen <= SEAL_EXP_LEN)
		return pending_refused(e, MSG_BROWSER);
	for (int i = 0; i < SEAL_EXP_LEN; i++)
		x = x << 8 | plain[i];
	*exp = (int64_t)x;
	if (*exp <= now)
		return pending_refused(e, MSG_OVER);
	*doc = json_loadb((const char *)plain + SEAL_EXP_LEN, plen - SEAL_EXP_LEN, 0, NULL);
	secure_wipe(plain, plen);
	if (!json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		return pending_refused(e, MSG_NONE);
	}
	return 0;
}

/* Whether a store row's id rather than a sealed login. */
static bool
pending_is_row(const char *ar)
{
	return strlen(ar) == TOKEN_CHARS;
}

int
login_pending_store(struct http_req *r, struct http_resp *w, struct authz_request *a,
		    struct err *e)
{
	struct porten *app = login_app(r);
	const char *browser = login_browser(r, w), *ar = NULL;
	int64_t exp = time_now() + app->cfg->pending_lifetime;
	struct buf text;
	json_t *doc;
	int rc;

	if (browser == NULL)
		return ERR(e, ERR_CRYPTO, 500, OAUTH_SERVER_ERROR, "no randomness");
	/* The id is the ar itself; the binding is the associated data. */
	a->id = NULL;
	a->browser = NULL;
	buf_init(&text, AREQ_TEXT_MAX);
	rc = areq_write(a, &text);
	if (rc == 0)
		rc = pending_seal(r, browser, text.p, text.len, exp, &ar, e);
	else
		rc = ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	buf_free_secret(&text);
	if (rc != 0)
		return rc;
	if (ar != NULL) {
		a->id = ar;
		return 0;
	}
	/* Too large for a URL: a store row under a random id, as it always was. */
	a->id = rand_token(r->arena);
	if (a->id == NULL)
		return ERR(e, ERR_CRYPTO, 500, OAUTH_SERVER_ERROR, "no randomness");
	a->browser = sha256_b64url(r->arena, str_c(browser));
	doc = areq_encode(a);
	if (doc == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	rc = store_call(app->store, login, doc_put, "pending", a->id, doc, exp, e);
	json_decref(doc);
	return rc;
}

/* Whether browser is the one the stored authorization a was started in. */
static bool
pending_row_bound(struct http_req *r, const struct authz_request *a, const char *browser)
{
	return a->browser != NULL &&
	       ct_str_eq(str_c(a->browser), str_c(sha256_b64url(r->arena, str_c(browser))));
}

/* Where the spending of sealed ar is recorded: the hash of the ar. */
static const char *
pending_spent_id(struct http_req *r, const char *ar)
{
	return sha256_b64url(r->arena, str_c(ar));
}

/* Open ar as login_pending_load; the read of its spent mark only when check_spent. */
static int
pending_open(struct http_req *r, const char *ar, bool check_spent, json_t **areq,
	     struct authz_request *out, struct err *e)
{
	struct porten *app = login_app(r);
	const char *browser = login_browser(r, NULL);
	const struct issuer *is = r->route_data;
	struct authz_request a;
	json_t *doc = NULL, *spent = NULL;
	int64_t exp;
	bool row;
	int rc;

	if (areq != NULL)
		*areq = NULL;
	if (ar == NULL || ar[0] == '\0' || browser == NULL)
		return pending_refused(e, MSG_NONE);
	row = pending_is_row(ar);
	if (row) {
		rc = store_call(app->store, login, doc_get, "pending", ar, &doc, e);
		if (rc != 0)
			return rc == ERR_NOTFOUND
				       ? pending_refused(e, MSG_OVER)
				       : rc;
	} else {
		rc = pending_unseal(r, ar, browser, &doc, &exp, e);
		if (rc != 0)
			return rc;
		/* Finished or cancelled already: one read, no write (none when the request ends it). */
		if (check_spent) {
			rc = store_call(app->store, login, doc_get, SPENT_KIND,
					pending_spent_id(r, ar), &spent, e);
			json_decref(spent);
			if (rc == 0)
				rc = pending_refused(e, MSG_OVER);
			else if (rc == ERR_NOTFOUND)
				rc = 0;
		}
		if (rc == 0 && json_object_set_new(doc, "id", json_string(ar)) != 0)
			rc = ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
		if (rc != 0) {
			json_decref(doc);
			return rc;
		}
	}
	/* One decode for both: a stored row is the store's (its error), sealed text the browser's. */
	rc = areq_decode(doc, r->arena, &a, e);
	if (rc != 0 && !row)
		rc = pending_refused(e, MSG_NONE);
	else if (rc == 0 && row && !pending_row_bound(r, &a, browser))
		rc = pending_refused(e, MSG_BROWSER);
	if (rc != 0) {
		json_decref(doc);
		return rc;
	}
	/*
	 * A login goes on only under the issuer that took it: a pending
	 * ID-porten login finished under Ansattporten's pages (or the reverse)
	 * would give its client a code and a session of the wrong issuer.
	 */
	if (is != NULL && (a.iss != NULL ? strcmp(a.iss, is->iss) != 0
					 : is->kind != ISSUER_IDPORTEN)) {
		json_decref(doc);
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
			   "the login was started at another service");
	}
	if (out != NULL)
		*out = a;
	if (areq != NULL)
		*areq = doc;
	else
		json_decref(doc);
	return 0;
}

int
login_pending_load(struct http_req *r, const char *ar, json_t **areq, struct authz_request *out,
		   struct err *e)
{
	return pending_open(r, ar, true, areq, out, e);
}

int
login_pending_load_to_end(struct http_req *r, const char *ar, json_t **areq,
			  struct authz_request *out, struct err *e)
{
	return pending_open(r, ar, false, areq, out, e);
}

int
login_pending_spend(struct http_req *r, const char *ar, struct err *e)
{
	struct porten *app = login_app(r);
	json_t *mark;
	int rc;

	if (ar == NULL)
		return pending_refused(e, MSG_NONE);
	if (pending_is_row(ar)) {
		rc = store_call(app->store, login, doc_delete, "pending", ar, e);
		return rc == ERR_NOTFOUND ? pending_refused(e, MSG_OVER)
					  : rc;
	}
	mark = json_object();
	if (mark == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	/*
	 * The caller opened ar in this request.  It opens no more after its
	 * expiry, at most pending_lifetime after it was sealed: the mark can
	 * go then.
	 */
	rc = store_call(app->store, login, doc_put, SPENT_KIND, pending_spent_id(r, ar), mark,
			time_now() + app->cfg->pending_lifetime + SEAL_SKEW, e);
	json_decref(mark);
	return rc == ERR_EXISTS ? pending_refused(e, MSG_OVER) : rc;
}

const char *
login_csrf(struct http_req *r, const char *ar)
{
	struct porten *app = login_app(r);
	const char *browser = login_browser(r, NULL);
	unsigned char mac[32];
	char *msg;

	msg = arena_printf(r->arena, "csrf\n%s\n%s", ar ? ar : "", browser ? browser : "");
	hmac_sha256(app->csrf_key, sizeof(app->csrf_key), msg, strlen(msg), mac);
	return b64url_encode_arena(r->arena, mac, sizeof(mac));
}

bool
login_csrf_ok(struct http_req *r, const char *ar, const char *token)
{
	if (token == NULL || login_browser(r, NULL) == NULL)
		return false;
	return ct_str_eq(str_c(token), str_c(login_csrf(r, ar)));
}

unsigned
login_min_level(const struct authz_request *a)
{
	return a->min_level ? a->min_level : EID_LEVEL_SUBSTANTIAL;
}

bool
login_session_meets(const struct session *s, const struct authz_request *a)
{
	unsigned eidas = eidas_level_of(s->acr);

	/*
	 * spec/ansattporten-eidas-testid.md §2.1: an eIDAS session serves only
	 * a request that asks for eIDAS at or below its level; a Norwegian
	 * session never serves an eIDAS-only request.
	 */
	if (eidas != 0)
		return a->eidas_level != 0 && eidas >= a->eidas_level;
	return !a->eidas_only && eid_level_of(s->acr) >= login_min_level(a);
}
