/*
 * The upstream's discovery document and JWKS (OpenID Connect Discovery
 * 1.0 §4, RFC 7517), fetched with the HTTP client and kept for
 * upstream_cache seconds; the JWKS is fetched again at once when a token
 * names a key the set lacks (the upstream rotated its keys).  Fetching
 * runs outside the lock but on the HTTP worker thread of the page, which
 * waits up to upstream_timeout: the workers are few (as many as CPUs on
 * SQLite), so a dead or slow upstream would hold up every page of the
 * server, not only its own logins.  Hence a failed fetch is remembered for
 * upstream_retry seconds, in which logins at that upstream fail at once
 * without asking it; the logins that start while the first fetch waits
 * still wait with it.
 * Also the back-channel POST to the upstream, with the client's
 * authentication.
 */
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "eid/upstream/upstream_int.h"
#include "http/client.h"

#define ASSERTION_LIFETIME 60

/* GET url and parse its answer as a JSON object; ERR_UNAVAILABLE otherwise. */
static int
get_json(const struct upstream *u, const char *url, json_t **out, struct err *e)
{
	struct http_client_req q = { .method = "GET", .url = url, .timeout = u->timeout };
	struct http_client_resp resp = { 0 };
	struct err why = { 0 };
	int rc = http_client_do(&q, &resp, &why);

	*out = NULL;
	if (rc != 0)
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "%s did not answer: %s", url, why.msg);
	else if (resp.status != 200)
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "%s answered HTTP %ld", url, resp.status);
	else if ((*out = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
		 !json_is_object(*out))
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "%s answered what is not a JSON object",
			 url);
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	http_client_resp_free(&resp);
	return rc;
}

static bool
endpoint_ok(const struct upstream *u, const json_t *meta, const char *name)
{
	const char *s = json_string_value(json_object_get(meta, name));

	return s != NULL && (strncmp(s, "https://", 8) == 0 ||
			     (u->allow_http && strncmp(s, "http://", 7) == 0));
}

/* §4.3: the issuer the document names is the one configured, to the byte. */
static int
meta_check(const struct upstream *u, const json_t *meta, struct err *e)
{
	const char *iss = json_string_value(json_object_get(meta, "issuer"));
	const json_t *par = json_object_get(meta, "pushed_authorization_request_endpoint");

	if (iss == NULL || strcmp(iss, u->issuer) != 0)
		return ERR(e, ERR_UNAVAILABLE, 0, NULL, "discovery names issuer %.100s, not %s",
			   iss ? iss : "(none)", u->issuer);
	if (!endpoint_ok(u, meta, "authorization_endpoint") ||
	    !endpoint_ok(u, meta, "token_endpoint") || !endpoint_ok(u, meta, "jwks_uri") ||
	    (par != NULL && !endpoint_ok(u, meta, "pushed_authorization_request_endpoint")))
		return ERR(e, ERR_UNAVAILABLE, 0, NULL, "discovery lacks a usable endpoint");
	return 0;
}

/*
 * The cached document d: 0 with *v (a new reference) when younger than the
 * TTL and not forced, 0 with *v NULL when it is to be fetched, and
 * ERR_UNAVAILABLE without asking when the last fetch failed less than
 * upstream_retry seconds ago.
 */
static int
cache_get(struct upstream *u, const struct upstream_doc *d, const char *what, bool force,
	  json_t **v, struct err *e)
{
	int64_t now = time_now(), failed;

	*v = NULL;
	pthread_mutex_lock(&u->lock);
	failed = d->failed;
	if (!force && d->v != NULL && now - d->at < u->cache_ttl)
		*v = json_incref(d->v);
	pthread_mutex_unlock(&u->lock);
	if (*v == NULL && failed != 0 && now - failed < u->retry)
		return ERR(e, ERR_UNAVAILABLE, 0, NULL,
			   "the upstream's %s could not be fetched %lld s ago; "
			   "not asked again for %lld s",
			   what, (long long)(now - failed), (long long)(u->retry - (now - failed)));
	return 0;
}

/* The outcome of a fetch: v (0: the fetch failed) into the cache. */
static void
cache_put(struct upstream *u, struct upstream_doc *d, json_t *v)
{
	json_t *old = NULL;

	pthread_mutex_lock(&u->lock);
	if (v != NULL) {
		old = d->v;
		d->v = json_incref(v);
		d->at = time_now();
		d->failed = 0;
	} else {
		d->failed = time_now();
	}
	pthread_mutex_unlock(&u->lock);
	json_decref(old);
}

int
upstream_meta(struct upstream *u, const char *rid, json_t **meta, struct err *e)
{
	char *url;
	int rc = cache_get(u, &u->meta, "discovery document", false, meta, e);

	if (rc != 0 || *meta != NULL)
		return rc;
	url = malloc(strlen(u->issuer) + 40);
	if (url == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	/* §4.1: the issuer with any trailing slash removed, then the well-known path. */
	snprintf(url, strlen(u->issuer) + 40, "%.*s/.well-known/openid-configuration",
		 (int)(strlen(u->issuer) - (u->issuer[strlen(u->issuer) - 1] == '/')), u->issuer);
	rc = get_json(u, url, meta, e);
	free(url);
	if (rc == 0)
		rc = meta_check(u, *meta, e);
	if (rc != 0) {
		json_decref(*meta);
		*meta = NULL;
		log_warn(rid, "upstream eID %s: %s", u->name, e->msg);
	}
	cache_put(u, &u->meta, *meta);
	return rc;
}

int
upstream_jwks(struct upstream *u, const char *rid, bool force, json_t **jwks, struct err *e)
{
	json_t *meta = NULL;
	int rc = cache_get(u, &u->jwks, "JWKS", force, jwks, e);

	if (rc != 0 || *jwks != NULL)
		return rc;
	rc = upstream_meta(u, rid, &meta, e);
	if (rc == 0)
		rc = get_json(u, json_string_value(json_object_get(meta, "jwks_uri")), jwks, e);
	if (rc == 0 && !json_is_array(json_object_get(*jwks, "keys")))
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "the upstream's JWKS has no keys array");
	if (rc != 0) {
		json_decref(*jwks);
		*jwks = NULL;
		log_warn(rid, "upstream eID %s: %s", u->name, e->msg);
	}
	/* A discovery failure is remembered there, not here. */
	if (meta != NULL)
		cache_put(u, &u->jwks, *jwks);
	json_decref(meta);
	return rc;
}

void
upstream_form_add(struct buf *b, const char *name, const char *value)
{
	if (b->len > 0)
		buf_puts(b, "&");
	buf_urlenc(b, str_c(name));
	buf_puts(b, "=");
	buf_urlenc(b, str_c(value));
}

/* RFC 7523 2.2 / OIDC Core §9: a client assertion signed with the client's key. */
static int
add_assertion(const struct upstream *u, struct buf *form, struct err *e)
{
	int64_t now = time_now();
	char jti[TOKEN_CHARS + 1], *jws = NULL;
	json_t *claims;
	int rc;

	if (rand_token_buf(jti) != 0)
		return ERR(e, ERR_CRYPTO, 0, NULL, "random generator failed");
	claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", u->client_id, "sub",
			   u->client_id, "aud", u->issuer, "jti", jti, "iat", (json_int_t)now,
			   "exp", (json_int_t)now + ASSERTION_LIFETIME);
	if (claims == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	rc = jose_jwt_sign(jose_key_signer(u->key), claims, "JWT", &jws, e);
	json_decref(claims);
	if (rc != 0)
		return rc;
	upstream_form_add(form, "client_assertion_type",
			  "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
	upstream_form_add(form, "client_assertion", jws);
	free(jws);
	return 0;
}

static bool
form_has_client_id(const struct buf *form)
{
	return form->len > 0 && (strncmp(form->p, "client_id=", 10) == 0 ||
				 strstr(form->p, "&client_id=") != NULL);
}

/* RFC 6749 2.3.1: the client's authentication, in the form or a header. */
static int
add_auth(const struct upstream *u, struct http_req *r, struct buf *form, const char **header,
	 struct err *e)
{
	struct buf cred;
	char *h;

	*header = NULL;
	/* A pushed request names its client already; RFC 6749 3.1: no parameter twice. */
	if (u->auth != UPSTREAM_SECRET_BASIC && !form_has_client_id(form))
		upstream_form_add(form, "client_id", u->client_id);
	switch (u->auth) {
	case UPSTREAM_PRIVATE_KEY_JWT:
		return add_assertion(u, form, e);
	case UPSTREAM_SECRET_POST:
		upstream_form_add(form, "client_secret", u->secret);
		return 0;
	case UPSTREAM_SECRET_BASIC:
		break;
	}
	/* Basic: both parts form-encoded first (RFC 6749 2.3.1). */
	buf_init(&cred, 4096);
	buf_urlenc(&cred, str_c(u->client_id));
	buf_puts(&cred, ":");
	buf_urlenc(&cred, str_c(u->secret));
	h = b64_encode_std_arena(r->arena, cred.p, cred.len);
	buf_free_secret(&cred);
	*header = arena_printf(r->arena, "Authorization: Basic %s", h);
	return 0;
}

/* An answer that is JSON: an OAuth error (ERR_DENIED) or what was asked for. */
static int
post_answer(const struct http_client_resp *resp, const char *url, json_t **out, struct err *e)
{
	json_t *j = json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES, NULL);
	const char *err;

	if (resp->status >= 500 || j == NULL || !json_is_object(j)) {
		json_decref(j);
		return ERR(e, ERR_UNAVAILABLE, 0, NULL, "%s answered HTTP %ld%s", url, resp->status,
			   resp->status < 500 ? " with what is not a JSON object" : "");
	}
	err = json_string_value(json_object_get(j, "error"));
	if (resp->status < 200 || resp->status > 299 || err != NULL) {
		const char *desc = json_string_value(json_object_get(j, "error_description"));
		int rc = ERR(e, ERR_DENIED, 0, NULL, "%s answered HTTP %ld, error %.60s (%.100s)",
			     url, resp->status, err ? err : "(none)", desc ? desc : "");

		json_decref(j);
		return rc;
	}
	*out = j;
	return 0;
}

int
upstream_post(const struct upstream *u, struct http_req *r, const char *url, struct buf *form,
	      json_t **out, struct err *e)
{
	const char *headers[2] = { NULL, NULL };
	struct http_client_req q = { .method = "POST", .url = url, .timeout = u->timeout,
				     .content_type = "application/x-www-form-urlencoded" };
	struct http_client_resp resp = { 0 };
	struct err why = { 0 };
	int rc;

	*out = NULL;
	rc = add_auth(u, r, form, &headers[0], e);
	if (rc != 0)
		return rc;
	q.headers = headers;
	q.body = (struct str){ form->p, form->len };
	rc = http_client_do(&q, &resp, &why);
	if (rc != 0)
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "%s did not answer: %s", url, why.msg);
	else
		rc = post_answer(&resp, url, out, e);
	http_client_resp_free(&resp);
	return rc;
}
