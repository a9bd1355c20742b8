/*
 * DPoP (RFC 9449, spec/idporten-oidc.md §19): the proof a client sends in
 * the DPoP header, checked once here for /token, /par and /userinfo of
 * every issuer (Maskinporten's /token too).
 */
#ifndef PORTEN_OAUTH_DPOP_H
#define PORTEN_OAUTH_DPOP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/str.h"
#include "jose/jose.h"

struct arena;
struct http_req;
struct http_resp;
struct issuer;

#define OAUTH_INVALID_DPOP_PROOF "invalid_dpop_proof"
#define OAUTH_USE_DPOP_NONCE "use_dpop_nonce"
/* The algorithms a proof may use (spec §19 check 2), as discovery lists them. */
#define OAUTH_DPOP_ALGS "ES256 RS256 PS256 EdDSA"
#define OAUTH_DPOP_ALG_BITS (JOSE_ALG_ES256 | JOSE_ALG_RS256 | JOSE_ALG_PS256 | JOSE_ALG_EDDSA)
/* §19 check 6: iat within [now - PAST, now + FUTURE]. */
#define OAUTH_DPOP_IAT_PAST 60
#define OAUTH_DPOP_IAT_FUTURE 30
/* §19 check 7: a jti is remembered this long (s) for its key. */
#define OAUTH_DPOP_REPLAY_TTL 90
/* §19 nonces: a slot lasts this long (s); the current and the previous one are good. */
#define OAUTH_DPOP_NONCE_SLOT 300

/* What a request must match (checks 5, 6, 9). */
struct oauth_dpop_expect {
	const char *htm;          /* the request's method */
	const char *htu;          /* the endpoint's public URL */
	const char *access_token; /* resource endpoints: the token ath hashes; else NULL */
	int64_t now;
};

/* A proof that passed. Strings in the arena given to the checker. */
struct oauth_dpop {
	bool present;                    /* a DPoP header came */
	char jkt[JOSE_JKT_LEN + 1];      /* RFC 7638 thumbprint of its key */
	const char *jti;
	const char *nonce;               /* NULL when the proof has none */
};

/*
 * Checks 2-6 and 9 on one compact proof, touching no store: typ, alg,
 * a public jwk fit for alg and nothing else in the header, the signature,
 * jti/htm/htu/iat present, htm and htu matching x, iat in the window, and
 * for a resource ath.  ERR_DENIED (400 invalid_dpop_proof) saying why.
 */
int oauth_dpop_verify(struct arena *a, struct str proof, const struct oauth_dpop_expect *x,
		      struct oauth_dpop *out, struct err *e);

/*
 * The proof of request r at the issuer's path (e.g. "/token"), if any:
 * exactly one DPoP header (check 1), oauth_dpop_verify, the jti spent in
 * the store's replay cache so no node accepts it twice (check 7), and the
 * issuer's server nonce when nonces are on (check 8: ERR_DENIED with
 * use_dpop_nonce).  No header: 0 with out->present false.
 */
int oauth_dpop_check(struct http_req *r, const struct issuer *is, const char *path,
		     const char *access_token, struct oauth_dpop *out, struct err *e);

/* A nonce's text with its NUL: base64url of 40 bytes is 54 characters. */
#define OAUTH_DPOP_NONCE_MAX 64

struct porten;
/* The server nonce of the slot of now (shared by every node through csrf_key). */
void oauth_dpop_nonce_make(const struct porten *app, int64_t now, char out[OAUTH_DPOP_NONCE_MAX]);
/* Whether nonce is the nonce of now's slot or the one before; NULL is not. */
bool oauth_dpop_nonce_good(const struct porten *app, const char *nonce, int64_t now);

/* Whether nonces are on for the issuer (dpop_nonce, per issuer). */
bool oauth_dpop_nonce_on(const struct issuer *is);
/*
 * Add a fresh DPoP-Nonce header when nonces are on for the issuer: on
 * every answer of an endpoint that takes proofs, errors included.
 */
void oauth_dpop_nonce_header(struct http_req *r, const struct issuer *is, struct http_resp *w);

/* A thumbprint as dpop_jkt carries it: 43 base64url characters. */
bool oauth_dpop_jkt_valid(struct str jkt);

#endif
