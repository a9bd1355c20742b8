/*
 * Resource servers inside Porten (the self-service API, KRR, ...): the
 * access token a request presents, checked once here for every API.
 *
 * Maskinporten tokens are self-contained: the signature is checked against
 * the issuer's published keys, then iss, exp and aud (spec/maskinporten.md
 * §12).  The tokens of an issuer that logs people in are looked up in the
 * store by their hash, as userinfo does, so a revoked token or an ended
 * grant stops working at once.
 */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "oauth/dpop.h"
#include "oauth/oauth.h"
#include "registry/registry.h"

#define BEARER_REALM "porten"
/*
 * The error code of a DPoP-bound token sent as Bearer: "invalid_token",
 * told apart by its address so that oauth_bearer_refuse answers with the
 * DPoP challenge (RFC 9449 §7.1) although no proof came.
 */
static const char bound_as_bearer[] = OAUTH_INVALID_TOKEN;
/* How long a node trusts its copy of the issuer's keys (as signing does). */
#define BEARER_JWKS_MS 5000
/* After an unknown key, read the keys again if the copy is older than this. */
#define BEARER_JWKS_RETRY_MS 1000

static int
invalid(struct err *e, const char *why)
{
	return ERR(e, ERR_DENIED, 401, OAUTH_INVALID_TOKEN, "%s", why);
}

/* The organisation number of an organisation claim {authority, ID "0192:NNN"}, or NULL. */
static const char *
org_of(const json_t *claim)
{
	const char *id = json_string_value(json_object_get(claim, "ID"));
	size_t n = strlen(OAUTH_ORG_ICD);

	if (id == NULL || strncmp(id, OAUTH_ORG_ICD, n) != 0 || id[n] == '\0')
		return NULL;
	return id + n;
}

static bool
aud_has(const json_t *aud, const char *want)
{
	size_t i;
	const json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return true;
	return false;
}

/* The claims every issuer's token must carry, into out. */
static int
claims_take(const struct issuer *is, const char *aud, json_t *claims, struct oauth_bearer *out,
	    struct err *e)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	const json_t *a = json_object_get(claims, "aud");

	if (iss == NULL || strcmp(iss, is->iss) != 0)
		return invalid(e, "the token is from another issuer");
	/* An audience is checked when the API has one and the token names one. */
	if (aud != NULL && a != NULL && !aud_has(a, aud))
		return invalid(e, "the token is meant for another audience");
	out->issuer = is;
	out->claims = claims;
	out->client_id = json_string_value(json_object_get(claims, "client_id"));
	out->scope = json_string_value(json_object_get(claims, "scope"));
	if (out->scope == NULL)
		out->scope = "";
	out->consumer = org_of(json_object_get(claims, "consumer"));
	out->supplier = org_of(json_object_get(claims, "supplier"));
	out->pid = json_string_value(json_object_get(claims, "pid"));
	out->exp = json_integer_value(json_object_get(claims, "exp"));
	return 0;
}

/* A signed token of the issuer: the key by kid, read again once when unknown. */
static int
jwt_verify(struct http_req *r, const struct issuer *is, struct str token, json_t **claims,
	   struct err *e)
{
	json_t *jwks = NULL;
	int rc;

	rc = reg_keys_jwks_cached(r->app, is, BEARER_JWKS_MS, &jwks, e);
	if (rc != 0)
		return rc;
	rc = jose_jwt_verify(token, jwks, JOSE_ALG_RS_ALL, claims, e);
	json_decref(jwks);
	if (rc != ERR_DENIED)
		return rc;
	/* A key published on another node a moment ago: one fresh look. */
	jwks = NULL;
	rc = reg_keys_jwks_cached(r->app, is, BEARER_JWKS_RETRY_MS, &jwks, e);
	if (rc != 0)
		return rc;
	rc = jose_jwt_verify(token, jwks, JOSE_ALG_RS_ALL, claims, e);
	json_decref(jwks);
	return rc;
}

static int
check_jwt(struct http_req *r, const struct issuer *is, const char *aud, struct str token,
	  struct oauth_bearer *out, struct err *e)
{
	json_t *claims = NULL;
	struct err why = { 0 };
	int rc;

	rc = jwt_verify(r, is, token, &claims, &why);
	if (rc == ERR_INVAL || rc == ERR_DENIED) {
		log_info(r->rid, "bearer token refused: %s", why.msg);
		return invalid(e, "the token is malformed or its signature does not verify");
	}
	if (rc != 0) {
		*e = why;
		return rc;
	}
	/* exp must not have passed: no leeway at the resource (spec §12). */
	if (jose_jwt_check_times(claims, time_now(), 0, 0, 0, &why) != 0) {
		json_decref(claims);
		return invalid(e, "the token has expired");
	}
	rc = claims_take(is, aud, claims, out, e);
	if (rc == 0 && out->consumer == NULL)
		rc = invalid(e, "the token names no consumer");
	if (rc != 0) {
		json_decref(claims);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

static int
check_stored(struct http_req *r, const struct issuer *is, const char *aud, struct str token,
	     struct oauth_bearer *out, json_t **grant, struct err *e)
{
	struct porten *app = r->app;
	json_t *claims = NULL;
	char *grant_id = NULL;
	int rc;

	rc = store_call(app->store, oauth, token_get, sha256_b64url(r->arena, token), &claims,
			&grant_id, grant, e);
	if (rc == ERR_NOTFOUND)
		return invalid(e, "unknown, expired or revoked token");
	if (rc != 0)
		return rc;
	rc = claims_take(is, aud, claims, out, e);
	if (rc == 0) {
		out->grant_id = arena_strdup(r->arena, grant_id);
	} else {
		json_decref(claims);
		memset(out, 0, sizeof(*out));
	}
	free(grant_id);
	return rc;
}

/* The endpoint's public URL for htu: the route's issuer base and the path under its prefix. */
static const char *
proof_path(struct http_req *r, const struct issuer *at)
{
	struct str path = r->path;
	size_t n = strlen(at->prefix);

	if (n > 0 && path.len >= n && memcmp(path.p, at->prefix, n) == 0)
		path = (struct str){ path.p + n, path.len - n };
	return arena_str(r->arena, path);
}

/*
 * spec §19 (RFC 9449 §7): a token bound by cnf.jkt is good only as
 * Authorization: DPoP with a proof for this request carrying its ath, made
 * with the bound key; an unbound one only as Bearer.
 */
static int
binding_check(struct http_req *r, struct str token, bool dpop, const struct oauth_bearer *b,
	      struct err *e)
{
	const char *jkt = json_string_value(json_object_get(json_object_get(b->claims, "cnf"),
							     "jkt"));
	const struct issuer *at = r->route_data ? r->route_data : b->issuer;
	struct oauth_dpop dp;
	int rc;

	if (!dpop)
		return jkt == NULL ? 0
				   : ERR(e, ERR_DENIED, 401, bound_as_bearer,
					 "the token is DPoP-bound: send it as Authorization: DPoP "
					 "with a proof");
	if (jkt == NULL)
		return invalid(e, "the token is not DPoP-bound: send it as Bearer");
	rc = oauth_dpop_check(r, at, proof_path(r, at), arena_str(r->arena, token), &dp, e);
	if (rc == ERR_DENIED)
		e->status = 401;
	if (rc != 0)
		return rc;
	if (!dp.present)
		return ERR(e, ERR_DENIED, 401, OAUTH_INVALID_DPOP_PROOF,
			   "a DPoP token needs a DPoP proof");
	if (strcmp(dp.jkt, jkt) != 0)
		return ERR(e, ERR_DENIED, 401, OAUTH_INVALID_DPOP_PROOF,
			   "the proof's key is not the one the token is bound to (cnf.jkt)");
	return 0;
}

static int
bearer_check(struct http_req *r, const struct issuer *is, const char *aud,
	     struct oauth_bearer *out, json_t **grant, struct err *e)
{
	struct str token;
	bool dpop = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (grant != NULL)
		*grant = NULL;
	if (is == NULL)
		return ERR(e, ERR_UNAVAILABLE, 503, OAUTH_TEMPORARILY_UNAVAILABLE,
			   "no issuer for this API's tokens is configured");
	rc = http_bearer(r, &token);
	if (rc == ERR_NOTFOUND) {
		rc = http_auth_token(r, "DPoP", &token);
		dpop = rc != ERR_NOTFOUND;
	}
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 401, NULL, "no access token in the Authorization header");
	if (rc != 0)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "malformed Authorization header");
	if (is->kind == ISSUER_MASKINPORTEN)
		rc = check_jwt(r, is, aud, token, out, e);
	else
		rc = check_stored(r, is, aud, token, out, grant, e);
	if (rc == 0 && (rc = binding_check(r, token, dpop, out, e)) != 0)
		oauth_bearer_release(out);
	/* A refused token hands out no grant, whichever check refused it. */
	if (rc != 0 && grant != NULL) {
		json_decref(*grant);
		*grant = NULL;
	}
	return rc;
}

int
oauth_bearer_check(struct http_req *r, const struct issuer *is, const char *aud,
		   struct oauth_bearer *out, struct err *e)
{
	return bearer_check(r, is, aud, out, NULL, e);
}

int
oauth_bearer_check_grant(struct http_req *r, const struct issuer *is, struct oauth_bearer *out,
			 json_t **grant, struct err *e)
{
	return bearer_check(r, is, NULL, out, grant, e);
}

bool
oauth_bearer_has(const struct oauth_bearer *b, const char *scope)
{
	return b->claims != NULL && oauth_scope_has(b->scope, scope);
}

int
oauth_bearer_insufficient(struct err *e, const char *scopes)
{
	return ERR(e, ERR_DENIED, 403, OAUTH_INSUFFICIENT_SCOPE,
		   "the token lacks the scope this request needs (%s)", scopes);
}

/*
 * Whether a refusal is about DPoP (RFC 9449 §7.1): a DPoP error, a bound
 * token sent as Bearer, or a token sent under the DPoP scheme.
 */
static bool
refuse_dpop(const struct http_req *r, const struct err *e)
{
	struct str t;

	if (e->oauth == bound_as_bearer)
		return true;
	if (e->oauth != NULL && (strcmp(e->oauth, OAUTH_INVALID_DPOP_PROOF) == 0 ||
				 strcmp(e->oauth, OAUTH_USE_DPOP_NONCE) == 0))
		return true;
	return http_auth_token(r, "DPoP", &t) != ERR_NOTFOUND;
}

void
oauth_bearer_refuse(struct http_req *r, struct http_resp *w, const struct err *e,
		    const char *scopes)
{
	const char *scheme = "Bearer realm=\"" BEARER_REALM "\"", *challenge;
	bool scope;

	if (e->code != ERR_NOTFOUND && e->code != ERR_INVAL && e->code != ERR_DENIED) {
		/* Our own failure (store away): no challenge, the generic answer. */
		oauth_resp_error(r, w, e);
		return;
	}
	if (refuse_dpop(r, e)) {
		scheme = "DPoP algs=\"" OAUTH_DPOP_ALGS "\"";
		oauth_dpop_nonce_header(r, r->route_data, w);
	}
	if (e->oauth == NULL) {
		/* RFC 6750 §3.1: a request without credentials gets no error code. */
		challenge = scheme;
		http_resp_oauth_error(w, 401, OAUTH_INVALID_TOKEN, e->msg);
	} else {
		scope = strcmp(e->oauth, OAUTH_INSUFFICIENT_SCOPE) == 0 && scopes != NULL;
		challenge = arena_printf(r->arena, "%s, error=\"%s\"%s%s%s", scheme, e->oauth,
					 scope ? ", scope=\"" : "", scope ? scopes : "",
					 scope ? "\"" : "");
		http_resp_oauth_error(w, e->status, e->oauth, e->msg);
	}
	http_resp_header(w, "WWW-Authenticate", challenge);
	log_info(r->rid, "bearer refused: %s", e->msg);
}

void
oauth_bearer_release(struct oauth_bearer *b)
{
	json_decref(b->claims);
	memset(b, 0, sizeof(*b));
}
