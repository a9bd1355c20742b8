/*
 * Pending authorizations (spec/idporten-oidc.md §7).  A pending
 * authorization lives in the store under a random id ("ar") that travels
 * in the page URLs; it is bound to the browser by the hash of a random
 * cookie (porten_b), so a leaked ar is useless in another browser.  Forms
 * carry a CSRF token derived from the ar, the browser cookie and a key all
 * nodes share, so any node can check it without state.
 */
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/loa.h"
#include "core/timeutil.h"
#include "login/login_int.h"
#include "oauth/oauth.h"

#define BROWSER_COOKIE "porten_b"

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
	o.secure = login_app(r)->cfg->cookie_secure || r->tls;
	http_resp_cookie(w, BROWSER_COOKIE, b, &o);
	/* Later code in this request sees it as if the browser had sent it. */
	http_req_cookie_add(r, BROWSER_COOKIE, b);
	return b;
}

int
login_pending_store(struct http_req *r, struct http_resp *w, struct authz_request *a,
		    struct err *e)
{
	struct porten *app = login_app(r);
	const char *browser = login_browser(r, w);
	char *ar = rand_token(r->arena);
	json_t *doc;
	int rc;

	if (browser == NULL || ar == NULL)
		return ERR(e, ERR_CRYPTO, 500, OAUTH_SERVER_ERROR, "no randomness");
	a->id = ar;
	a->browser = sha256_b64url(r->arena, str_c(browser));
	doc = areq_encode(a);
	if (doc == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	rc = store_call(app->store, login, doc_put, "pending", ar, doc,
			time_now() + app->cfg->pending_lifetime, e);
	json_decref(doc);
	return rc;
}

int
login_pending_load(struct http_req *r, const char *ar, json_t **areq, struct err *e)
{
	struct porten *app = login_app(r);
	const char *browser = login_browser(r, NULL);
	const struct issuer *is = r->route_data;
	struct authz_request a;
	json_t *doc = NULL;
	int rc;

	*areq = NULL;
	if (ar == NULL || strlen(ar) != TOKEN_CHARS || browser == NULL)
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST, "no login in progress");
	rc = store_call(app->store, login, doc_get, "pending", ar, &doc, e);
	if (rc != 0)
		return rc == ERR_NOTFOUND
			       ? ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
				     "the login has expired or was finished")
			       : rc;
	rc = areq_decode(doc, r->arena, &a, e);
	if (rc != 0) {
		json_decref(doc);
		return rc;
	}
	if (a.browser == NULL ||
	    !ct_str_eq(str_c(a.browser), str_c(sha256_b64url(r->arena, str_c(browser))))) {
		json_decref(doc);
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
			   "the login was started in another browser");
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
	*areq = doc;
	return 0;
}

int
login_pending_spend(struct http_req *r, const char *ar, struct err *e)
{
	return store_call(login_app(r)->store, login, doc_delete, "pending", ar, e);
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
