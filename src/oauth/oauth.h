/*
 * OAuth 2.1 / OpenID Connect services of an issuer: authorize, PAR, token,
 * client authentication, PKCE, revocation, introspection; and the records
 * that pass between them.
 *
 * Handlers take (struct http_req *r, struct http_resp *w) with r->app the
 * struct porten and r->route_data the struct issuer.
 */
#ifndef PORTEN_OAUTH_OAUTH_H
#define PORTEN_OAUTH_OAUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "http/http.h"
#include "oauth/grant.h"
#include "registry/client.h"

/* RFC 6749 / OIDC error codes. */
#define OAUTH_INVALID_REQUEST "invalid_request"
#define OAUTH_INVALID_CLIENT "invalid_client"
#define OAUTH_INVALID_GRANT "invalid_grant"
#define OAUTH_UNAUTHORIZED_CLIENT "unauthorized_client"
#define OAUTH_UNSUPPORTED_GRANT_TYPE "unsupported_grant_type"
#define OAUTH_UNSUPPORTED_RESPONSE_TYPE "unsupported_response_type"
#define OAUTH_INVALID_SCOPE "invalid_scope"
#define OAUTH_ACCESS_DENIED "access_denied"
#define OAUTH_SERVER_ERROR "server_error"
#define OAUTH_TEMPORARILY_UNAVAILABLE "temporarily_unavailable"
#define OAUTH_LOGIN_REQUIRED "login_required"
#define OAUTH_CONSENT_REQUIRED "consent_required"
#define OAUTH_INTERACTION_REQUIRED "interaction_required"
#define OAUTH_INVALID_REQUEST_OBJECT "invalid_request_object"
/* RFC 9396 §5: authorization_details malformed, of an unknown type or field. */
#define OAUTH_INVALID_AUTHORIZATION_DETAILS "invalid_authorization_details"
#define OAUTH_REQUEST_URI_NOT_SUPPORTED "request_uri_not_supported"
#define OAUTH_INVALID_TOKEN "invalid_token"
#define OAUTH_INSUFFICIENT_SCOPE "insufficient_scope"

/* ---- resource servers: the access token a request presents (oauth/bearer.c) ---- */

/*
 * A checked access token.  The strings point into claims (or the
 * request's arena) and live until oauth_bearer_release.
 */
struct oauth_bearer {
	const struct issuer *issuer;
	json_t *claims;          /* the token's claims (owned) */
	const char *client_id;
	const char *scope;       /* space-separated, never NULL */
	const char *consumer;    /* organisation number of consumer.ID, or NULL */
	const char *supplier;    /* organisation number of supplier.ID, or NULL */
	const char *pid;         /* the person, or NULL */
	const char *grant_id;    /* tokens of a login issuer: their grant */
	int64_t exp;
};

/*
 * The access token of the request (RFC 6750 §2.1: the Authorization
 * header only), issued by is: a Maskinporten token by its signature, iss,
 * exp (no leeway), a consumer, and aud when both the API (aud non-NULL)
 * and the token name one; a login issuer's token by the store, as at
 * userinfo.  A token bound by cnf.jkt (spec §19) is good only as
 * Authorization: DPoP with a proof (htu the route issuer's base and the
 * path, ath, the bound key), an unbound one only as Bearer; a refused
 * proof is 401 invalid_dpop_proof (or use_dpop_nonce), a bound token sent
 * as Bearer 401 invalid_token with the DPoP challenge.
 * 0 with *out filled; else ERR_NOTFOUND (no token: 401 without
 * an error code), ERR_INVAL (malformed header: 400 invalid_request),
 * ERR_DENIED (401 invalid_token), or the store's failure.  Scopes are the
 * caller's to check (oauth_bearer_has).
 */
int oauth_bearer_check(struct http_req *r, const struct issuer *is, const char *aud,
		       struct oauth_bearer *out, struct err *e);
/*
 * oauth_bearer_check (no aud) for a login issuer's token, with *grant its
 * grant's document (owned; NULL for a token without one, or on failure),
 * read with the token in one statement.
 */
int oauth_bearer_check_grant(struct http_req *r, const struct issuer *is, struct oauth_bearer *out,
			     json_t **grant, struct err *e);
bool oauth_bearer_has(const struct oauth_bearer *b, const char *scope);
/* Set e to a 403 insufficient_scope naming scopes (space-separated) and return ERR_DENIED. */
int oauth_bearer_insufficient(struct err *e, const char *scopes);
/*
 * Answer a refusal of oauth_bearer_check or oauth_bearer_insufficient:
 * the status, the RFC 6750 §3 challenge (RFC 9449 §7.1's DPoP challenge,
 * with algs and a DPoP-Nonce when nonces are on, for a refusal about DPoP) (with scope="scopes" on
 * insufficient_scope when scopes is non-NULL) and a JSON error body; a
 * server-side failure as oauth_resp_error does.  An API with its own
 * error body replaces the body after this.
 */
void oauth_bearer_refuse(struct http_req *r, struct http_resp *w, const struct err *e,
			 const char *scopes);
void oauth_bearer_release(struct oauth_bearer *b);

/*
 * The authorization code record (store code_put doc), written by the
 * authorize side when a login completes, read by the token endpoint:
 *
 *   client_id       string
 *   redirect_uri    string   exact value the token request must repeat
 *   code_challenge  string   absent when the client is PKCE-exempt and sent none
 *   nonce           string   absent for pure OAuth requests
 *   scope           string   space-separated granted scopes
 *   resource        array    of absolute URIs (may be absent)
 *   sid             string   public session id (front-channel logout)
 *   session_kind    string   "shared" or "client" (SSO-free)
 *   pid             string   national identity number (absent for foreign users)
 *   acr             string   achieved level
 *   amr             array    one string
 *   auth_time       integer
 *   locale          string   nb/nn/en/se
 *   eid             string   "testid", "minid", ...
 *   onbehalfof      string   optional
 *
 * The grant record (store grant_put doc) is the same object minus
 * code_challenge and redirect_uri, plus expires_at (integer, the grant's
 * end); refresh reads it to issue new tokens.  struct auth_code and
 * struct grant (oauth/grant.h) are these records, with their one codec.
 */

/* ---- client authentication (oauth/clientauth.c) ---- */

/*
 * Authenticate the client of a back-channel request (token, PAR, revoke,
 * introspect) by its registered token_endpoint_auth_method only.  On
 * success *client is the client's record (a reference: reg_client_release)
 * and *amr the method used ("client_secret_basic", ..., "none"), and
 * r->authenticated_client its client_id (the per-client rate limit).  Failures:
 * ERR_DENIED with e->oauth = invalid_client and e->status = 401;
 * ERR_INVAL with invalid_request for a malformed request.
 */
int oauth_client_auth(struct http_req *r, const struct issuer *is, const struct client **client,
		      const char **amr, struct err *e);

/* ---- PKCE (oauth/pkce.c) ---- */

/* A well-formed S256 challenge: 43 base64url characters, no padding. */
bool oauth_pkce_challenge_valid(struct str challenge);
/* RFC 7636 §4.1: 43-128 of [A-Za-z0-9-._~]. */
bool oauth_pkce_verifier_valid(struct str verifier);
/* base64url(SHA-256(verifier)) == challenge, in constant time. */
bool oauth_pkce_verify(struct str verifier, struct str challenge);

/* ---- redirect URIs (oauth/redirect.c) ---- */

/*
 * Does uri match one of the client's registered redirect_uris?  Exact
 * string match, except the RFC 8252 §7.3 native loopback rule: a
 * registered http://127.0.0.1:0/path (or [::1]:0) matches any port.
 */
bool oauth_redirect_uri_allowed(const struct client *client, struct str uri);

/* ---- tokens (oauth/token.c) ---- */

/*
 * Issue the tokens of a grant to a client: access token (JWT or opaque per
 * scope), ID token when scope has openid, refresh token when the client has
 * the refresh_token grant.  grant is the grant record; grant_id its id.
 * *resp is the token response body (new reference).  Emits the
 * "token_issued" event.  The tokens are signed first; then the grant row
 * (when new_grant, a code redemption), the token records and the event are
 * written in one store transaction.
 */
struct oauth_new_grant {
	const char *client_id;
	const char *sid;         /* the SSO session it came from, or NULL */
	bool login_only;         /* openid/profile only: logout revokes it */
	int64_t expires_at;
};

/* The DPoP keys what is issued is bound to (spec §19); NULL members: Bearer, unbound. */
struct oauth_bind {
	const char *at_jkt;      /* access token: cnf.jkt, token_type DPoP */
	const char *rt_jkt;      /* refresh token: every refresh needs a proof by this key */
};

/*
 * A refresh's rotation (spec §12), made in the issuance's transaction: the
 * presented token is spent only together with the writing of what replaces
 * it, so a refused or failed refresh leaves it as it was.
 */
struct oauth_rotate {
	const char *old_hash;    /* the presented refresh token's hash */
	const char *token;       /* the new refresh token, answered as refresh_token */
	const char *jkt;         /* its DPoP key, or NULL */
	int64_t expires_at;
	const char *grant_id;    /* what the look-up found: the spent row must say the same */
	const char *old_jkt;
};

/*
 * A rotation that finds the token spent answers ERR_REUSED (invalid_grant)
 * and writes nothing: the caller revokes the grant outside the transaction.
 */
int oauth_tokens_issue(struct http_req *r, const struct issuer *is, const struct client *client,
		       const char *client_amr, const char *grant_id, const struct grant *grant,
		       const struct oauth_new_grant *new_grant, bool with_refresh,
		       const struct oauth_bind *bind, const struct oauth_rotate *rot,
		       struct buf *resp, struct err *e);
/* The longest token response oauth_tokens_issue writes. */
#define TOKEN_RESP_MAX (256 * 1024)

/* The pairwise sub of a person for a client (spec §10), arena string. */
const char *oauth_pairwise_sub(struct http_req *r, const char *client_id, const char *person_key);
/* The same outside a request (the back-channel logout sender): a string in a. */
const char *oauth_pairwise_sub_in(struct porten *app, struct arena *a, const char *client_id,
				  const char *person_key);

/* ---- handlers ---- */
/*
 * A client of the issuer in this process (inproc.c): one url-encoded field
 * into a form; POST form to the issuer's handler fn as path, *status its
 * status and *body its JSON answer (new reference); and the ID token of
 * the answer checked (signed by r's issuer, in date, for aud, with nonce
 * and a pid), *claims its claims.
 */
#define OAUTH_INPROC_FORM_MAX 8192
struct buf;
void oauth_form_add(struct buf *b, const char *name, const char *value);
int oauth_call_form(struct http_req *outer, const char *path, http_handler_fn fn,
		    const struct buf *form, int *status, json_t **body, struct err *e);
int oauth_id_token_check(struct http_req *r, const char *jws, const char *aud, const char *nonce,
			 json_t **claims, struct err *e);

void oauth_handle_discovery(struct http_req *r, struct http_resp *w);   /* GET /.well-known/openid-configuration */
void oauth_handle_jwks(struct http_req *r, struct http_resp *w);        /* GET /jwks.json */
void oauth_handle_userinfo(struct http_req *r, struct http_resp *w);    /* GET/POST /userinfo */
void oauth_handle_token(struct http_req *r, struct http_resp *w);       /* POST /token */
void oauth_handle_revoke(struct http_req *r, struct http_resp *w);      /* POST /revoke */
void oauth_handle_introspect(struct http_req *r, struct http_resp *w);  /* POST /token/introspect */

/*
 * Answer a back-channel error as JSON {error, error_description}: logs it
 * once with the request id and ends the description with " (ref <rid>)";
 * server-side failures show a generic text, never e->msg; 401 adds
 * WWW-Authenticate.
 */
void oauth_resp_error(struct http_req *r, struct http_resp *w, const struct err *e);

/*
 * Common gate of a back-channel POST endpoint: method POST (405
 * otherwise), a parsable form (r->bad_input: invalid_request) and no
 * parameter given twice (RFC 6749 §3.1: invalid_request).  0 or an error
 * in e.
 */
int oauth_backchannel_check(const struct http_req *r, struct err *e);

/* Does the space-separated scope string contain name as a whole token? */
bool oauth_scope_has(const char *scope, const char *name);

/* ---- shared with Maskinporten (oauth/common.c) ---- */

#define OAUTH_SCOPE_TOKEN_MAX 200               /* characters of one scope name */
#define OAUTH_CLIENT_KEY_LIFE (365 * 86400LL)   /* a registered key lives a year from posting */
#define OAUTH_ORG_AUTHORITY "iso6523-actorid-upis" /* of an organisation claim */
#define OAUTH_ORG_ICD "0192:"                   /* its ID: this prefix, then the orgno */

enum oauth_scope_rc {
	OAUTH_SCOPE_OK = 0,
	OAUTH_SCOPE_MALFORMED,   /* a name that is no RFC 6749 §3.3 scope-token (or too long) */
	OAUTH_SCOPE_TOO_MANY,    /* more than max_n different names */
	OAUTH_SCOPE_NOMEM,
};

/*
 * Split a space-separated scope string into a JSON array of its different
 * names, in order (*out, new reference; an empty array for no names).
 * Runs of spaces are allowed.  Callers word their own errors.
 */
enum oauth_scope_rc oauth_scope_split(struct str s, size_t max_n, json_t **out);

/* min(lifetime, every positive integer field of the scope docs (name -> doc)) */
long long oauth_scope_cap(long long lifetime, const json_t *docs, const char *field);

/*
 * Whether the scope doc allows client's integration type: its
 * allowed_integration_types is empty or names the type (spec §13).
 */
bool oauth_scope_type_ok(const json_t *scope_doc, const struct client *client);

/* operator_orgno's default: Digdir, which runs ID-porten. */
#define OAUTH_OPERATOR_ORGNO "991825827"

/*
 * The organisation an access token of client names as consumer (spec §11):
 * its client_orgno, or else the operator's (cfg operator_orgno).  Borrowed.
 */
const char *oauth_consumer_orgno(const struct porten *app, const struct client *client);

/*
 * Token claims are written straight into their buffer (core/jsonw.h).
 * Claim k as {"authority":"iso6523-actorid-upis","ID":"0192:<orgno>"}; an
 * orgno that is NULL or long fails the writer.
 */
void oauth_claim_org(struct jsonw *w, const char *k, const char *orgno);
/*
 * aud from the requested resource (spec §11, Maskinporten §7): none when
 * none was requested, one value as a string, several as an array.
 */
void oauth_claim_aud(struct jsonw *w, const json_t *resource);
/* cnf {"jkt": jkt} (RFC 9449 §6.1), the key the token is bound to; nothing when jkt is NULL. */
void oauth_claim_cnf(struct jsonw *w, const char *jkt);
/* Close the claims: 0, or 500 server_error in e naming what. */
int oauth_claims_end(struct jsonw *w, const char *what, struct err *e);

/*
 * The acr value a token of issuer is names for the level acr (stored in
 * ID-porten's names): Ansattporten's own names there (spec/ansattporten-
 * eidas-testid.md §1.1), acr itself elsewhere.  NULL for NULL; static or acr.
 */
const char *oauth_acr_for(const struct issuer *is, const char *acr);
/* The reverse: the EID_LEVEL_* bit of one of issuer is's acr names, or 0. */
unsigned oauth_level_of(const struct issuer *is, const char *acr);

/*
 * May a step after the eID add claim name to a login's tokens (struct
 * grant's claims)?  Only "name" (the ID token) and "authorization_details"
 * (the ID token, the access token and the token response; spec
 * §21, spec/ansattporten-eidas-testid.md §1.1): never one the token side
 * sets itself.
 */
bool oauth_step_claim_ok(const char *name);

/* The issuer's base URL followed by path, as a JSON string (NULL without memory). */
json_t *oauth_issuer_url(const struct issuer *is, const char *path);
/* The same under the issuer's browser host (is->browser): authorize, logout. */
json_t *oauth_browser_url(const struct issuer *is, const char *path);

/*
 * spec/selfservice-api.md §7: is the client's key kid past its year
 * (jwks_posted maps kid to the time it was posted; a key without one never expires)?
 */
bool oauth_client_key_expired(const struct client *client, const char *kid, int64_t now);

/*
 * spec/idporten-oidc.md §9, maskinporten.md §3: may the client sign with a
 * business certificate in x5c?  Only without registered keys: a client
 * with keys, even all past their year, must sign with kid.
 */
bool oauth_client_x5c_allowed(const struct client *client);

/*
 * A store (or registry) failure that is not the caller's fault: rc with
 * 503 temporarily_unavailable when the store is away, else 500
 * server_error; the description keeps e's text after "store: ".
 */
int oauth_store_fail(int rc, struct err *e);

/*
 * The replay-cache key of a client's one-time value (a jti, or a hash of
 * the whole assertion): "kind:client_id:value".  A client id holding ':'
 * would be ambiguous there (client "a" with jti "b:c" would spend jti "c"
 * of client "a:b"), so such ids are keyed "kind+length:client_id:value",
 * which no plain key starts with; plain ids keep the key earlier releases
 * wrote, so an upgrade forgets no spent value.  0, or -1 when it does not
 * fit in n (never cut short).
 */
int oauth_replay_key(char *out, size_t n, const char *kind, const char *client_id,
		     const char *value);
/* The longest jti kept in the replay cache (Maskinporten grants, client assertions). */
#define OAUTH_JTI_MAX 256
/* Room for every key: kind and length, a client id of up to 256 bytes, ':', a jti. */
#define OAUTH_REPLAY_KEY_MAX (16 + 256 + 1 + OAUTH_JTI_MAX)

/* A replay row outlives the time its value is accepted by this much (s):
 * acceptance and the spending statement read the clock at different times. */
#define OAUTH_REPLAY_MARGIN 60

/* The service (oauth/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service oauth_service;

#endif
