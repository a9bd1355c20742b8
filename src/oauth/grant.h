/*
 * The grant and authorization-code records and their one codec
 * (oauth/grant.c).  The stored documents keep today's shape, described in
 * oauth.h above "The authorization code record"; these structs name its
 * fields so readers stop spelling keys.
 *
 * Decoded strings and JSON members are borrowed from the document given
 * to the decoder and live as long as it does.  Every field is optional in
 * the codec (an absent key is NULL or 0); a present key of the wrong type
 * fails the decode.  Callers check what they require.
 */
#ifndef PORTEN_OAUTH_GRANT_H
#define PORTEN_OAUTH_GRANT_H

#include <jansson.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct grant {
	const char *client_id;
	const char *scope;              /* space-separated granted scopes */
	const char *sid;                /* public session id */
	const char *pid;                /* national identity number; NULL for foreign users */
	const char *acr;
	const char *amr;                /* stored as a list of this one string */
	const char *eid;                /* "testid", "minid", ... */
	int64_t auth_time;              /* 0: absent */
	const char *iss;                /* the issuer that issued the code */
	const char *nonce;              /* absent for pure OAuth requests and on refresh */
	const char *locale;
	const char *onbehalfof;
	const char *session_kind;       /* "shared" or "client" (SSO-free) */
	const json_t *resource;         /* list of absolute URIs (or one string); NULL when absent */
	/* eIDAS logins (spec/ansattporten-eidas-testid.md §2) */
	const char *eidas_identifier;
	const char *eidas_firstname;
	const char *eidas_lastname;
	const char *eidas_date_of_birth;
	/* a foreign wallet PID (spec/eudi-wallet.md §7): "DE,FR"; the person key without pid */
	const char *nationalities;
	const char *onetime_key;
	/*
	 * Claims a step after the eID added for the tokens (login/login.h
	 * login_ctx_claim): an object of name -> value, NULL when none.
	 */
	const json_t *claims;
	int64_t expires_at;             /* grant rows: the grant's absolute end; 0 in a code */
};

struct auth_code {
	struct grant g;
	const char *redirect_uri;       /* exact value the token request must repeat */
	const char *code_challenge;     /* NULL when the client is PKCE-exempt and sent none */
	const char *dpop_jkt;           /* spec §19: only a proof by this key redeems it */
};

/*
 * Read a stored grant (or code) document into *g; ERR_INVAL naming the
 * field when a key holds the wrong type or the doc is not an object.
 */
int oauth_grant_decode(const json_t *doc, struct grant *g, struct err *e);
int oauth_code_decode(const json_t *doc, struct auth_code *c, struct err *e);

/*
 * The stored document of a grant or code, as compact JSON text appended to
 * b (what the store keeps): only the fields that are set, of the types
 * above (amr as ["amr"]), byte for byte what json_dumps(JSON_COMPACT) of
 * the same tree gives.  0, or ERR_NOMEM / ERR_LIMIT / ERR_INVAL (a string
 * not UTF-8).
 */
int oauth_grant_write(const struct grant *g, struct buf *b);
int oauth_code_write(const struct auth_code *c, struct buf *b);

/* The longest stored grant or code document written. */
#define OAUTH_GRANT_TEXT_MAX (256 * 1024)

#endif
