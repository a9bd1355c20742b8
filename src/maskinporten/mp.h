/*
 * Maskinporten (spec/maskinporten.md): the issuer that gives organisations'
 * machines access tokens for other organisations' APIs, in exchange for a
 * JWT-bearer grant (RFC 7523) signed with a business certificate (x5c) or
 * a key registered on the client (kid).
 *
 * Handlers take (struct http_req *r, struct http_resp *w) with r->app the
 * struct porten and r->route_data the Maskinporten struct issuer.
 */
#ifndef PORTEN_MASKINPORTEN_MP_H
#define PORTEN_MASKINPORTEN_MP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "core/err.h"
#include "core/str.h"
#include "http/http.h"
#include "oauth/oauth.h"

#define MP_GRANT_TYPE "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define MP_SKEW 10            /* spec §4: seconds of clock skew tolerated */
#define MP_GRANT_MAX_LIFE 120 /* spec §4: exp - iat of a grant */
#define MP_AT_LIFETIME CLIENT_DFLT_AT_LIFETIME /* spec §7: the client record applies it */

/*
 * A grant that passed every check of spec §5: who asks, for whom, what.
 * Filled by mp_grant_validate, released by mp_grant_clear.
 */
struct mp_grant {
	const struct client *client; /* the client's record (a reference: released by mp_grant_clear) */
	const char *client_id;     /* points into client */
	const char *client_amr;    /* "private_key_jwt" or the certificate's profile */
	const char *jkt;           /* DPoP key the token is bound to (idporten-oidc.md §19), or NULL */
	char consumer[10];         /* orgno the token is for (spec §7 consumer) */
	char supplier[10];         /* orgno acting for it, "" when none (spec §7, §8.3, §8.4) */
	const char *delegation_source; /* spec §8.3: set when delegated; points into scope_docs */
	json_t *scopes;            /* granted scope names, unique, in request order (owned) */
	json_t *scope_docs;        /* name -> scope doc (owned) */
	json_t *resource;          /* array of resource URIs, or NULL (owned) */
	char *pid;                 /* spec §8.2 national id, or NULL (owned) */
	/* spec §5 step 8: the key the grant is spent under, and until when */
	char replay_key[OAUTH_REPLAY_KEY_MAX];
	int64_t replay_until;
};

/*
 * Validate a JWT-bearer grant at time now for the Maskinporten issuer is,
 * in the order of spec §5 (header, client, aud, key or certificate,
 * signature, times, replay key, client type, scopes, optional claims).
 * Nothing is written: g->replay_key (from the jti or, without one, the
 * assertion's hash) is spent by mp_token_issue, so a grant refused at any
 * step can be mended and sent again, and a replay is refused there, before
 * anything is signed.  On failure e carries the OAuth error (400) and a
 * description starting with the stable MP code where the spec gives one
 * ("MP-110: ..."); the return is ERR_INVAL (invalid_request), ERR_DENIED
 * (invalid_grant, invalid_scope, ...) or a store error.
 */
int mp_grant_validate(struct porten *app, const struct issuer *is, struct str assertion,
		      int64_t now, struct mp_grant *g, struct err *e);
void mp_grant_clear(struct mp_grant *g);

/*
 * Issue the access token of a validated grant (spec §7): a JWT signed by
 * the issuer's current key; lifetime from the client, capped by the
 * scopes' at_max_age.  *resp is the token response body (spec §6, new
 * reference).  Spends the grant's replay key and records one
 * "maskinporten_token" event in one transaction, committed before the
 * signature so no database lock is held while signing; a grant spent
 * before is refused with MP-012 (invalid_grant).
 */
int mp_token_issue(struct porten *app, const struct issuer *is, const struct mp_grant *g,
		   int64_t now, json_t **resp, struct err *e);

/* ---- handlers ---- */
void mp_handle_token(struct http_req *r, struct http_resp *w);     /* POST /token */
void mp_handle_discovery(struct http_req *r, struct http_resp *w); /* GET /.well-known/... */

/* The service (maskinporten/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service mp_service;

#endif
