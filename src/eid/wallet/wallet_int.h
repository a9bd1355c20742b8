/* Declarations shared by the files of src/eid/wallet/ only. */
#ifndef PORTEN_EID_WALLET_WALLET_INT_H
#define PORTEN_EID_WALLET_WALLET_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/str.h"
#include "eid/eid.h"
#include "jose/jose.h"

/* spec/eudi-wallet.md §5 (design). */
#define WALLET_TX_LIFE 300        /* a same-device transaction, seconds */
#define WALLET_QR_LIFE 180        /* a QR transaction */
#define WALLET_REQ_LIFE 120       /* a request object's exp - iat */
#define WALLET_CODE_LIFE 60       /* a response_code */
#define WALLET_K_TX "wallet"      /* store kinds (login facet's documents) */
#define WALLET_K_CODE "wallet-code"

/* Why a presentation was refused: which page the person sees (§8). */
enum wallet_fail {
	WALLET_FAIL_INVALID,      /* any verification failure */
	WALLET_FAIL_UNTRUSTED,    /* issuer outside the anchors */
	WALLET_FAIL_EXPIRED,      /* expired (or revoked, suspended) credential */
	WALLET_FAIL_CLAIMS,       /* a required claim not disclosed */
	WALLET_FAIL_NOMATCH,      /* no national identity number to log in with */
	WALLET_FAIL_DECLINED,     /* the wallet answered access_denied */
	WALLET_FAIL_UNAVAILABLE,  /* status list, internal failure */
	WALLET_FAIL_TIMEOUT,      /* the transaction ran out */
};

#define WALLET_ANCHORS_MAX 32      /* entries of wallet_anchors_no and wallet_anchors */

/*
 * One configured entry of PID trust anchors (a PEM file or directory) and
 * the country of its PID providers (spec §10): "NO" for the Norwegian
 * ones, which alone are labelled NO.  A credential under it must be of
 * that country.
 */
struct wallet_anchor {
	char cc[3];                         /* ISO 3166-1 alpha-2 */
	struct jose_x509_trust *trust;
};

/* The verifier's configuration, loaded once at start-up (config.c). */
struct wallet_conf {
	struct jose_eckey *key;             /* request signer */
	json_t *x5c;                        /* its chain, leaf first, anchor left out */
	char client_id[64];                 /* "x509_hash:" + base64url(SHA-256(leaf DER)) */
	struct wallet_anchor anchors[WALLET_ANCHORS_MAX]; /* the Norwegian ones first */
	size_t nanchors;
	json_t *akis;                       /* the anchors' key ids for trusted_authorities */
	const char *scheme;                 /* "openid4vp://" */
	bool qr;                            /* the cross-device flow is offered */
	bool vc_typ;                        /* accept typ vc+sd-jwt too */
};
extern struct wallet_conf wallet_conf;

/* What one presentation is checked against. */
struct wallet_check {
	const struct wallet_anchor *anchors; /* tried in order */
	size_t nanchors;
	const char *aud, *nonce;
	int64_t now, tx_start;
	bool allow_vc_typ;
};

/*
 * Verify one SD-JWT VC presentation (spec §6 steps 4-12).  On success
 * *claims is the issuer payload with the disclosures merged in (a new
 * reference) and *by the anchor entry it chains to (one of c's), whose
 * country the credential is of.  On failure ERR_DENIED with e->msg for
 * the log and *why for the page.
 */
int wallet_sdjwt_verify(struct str pres, const struct wallet_check *c, json_t **claims,
			const struct wallet_anchor **by, enum wallet_fail *why, struct err *e);

/*
 * spec §10: a PID provider vouches for the people of its own country only.
 * 0 when every claim that names the issuer's country names cc: the
 * credential's issuing_country and, when present, the country part of
 * issuing_jurisdiction (ISO 3166-2), the country of a national PID type
 * vct (urn:eudi:pid:<cc>:<n>; the EU-wide urn:eudi:pid:1 names none), and
 * issuing_authority when it is a country code rather than a name; else
 * ERR_DENIED with *why UNTRUSTED.  Pure.
 */
int wallet_country_check(const json_t *claims, const char *cc, enum wallet_fail *why,
			 struct err *e);

/*
 * A JWS whose x5c chains to one of c's anchor entries (the first that
 * verifies: *by), typ typ1 or typ2 (may be NULL), verified ES256 with the
 * leaf's key: *payload a new reference.  ERR_DENIED with *why UNTRUSTED
 * for the chain, INVALID for anything else.
 */
int wallet_jws_x5c(struct str jwt, const struct wallet_check *c, const char *typ1,
		   const char *typ2, json_t **payload, const struct wallet_anchor **by,
		   enum wallet_fail *why, struct err *e);

/*
 * §6 step 11: the credential's status_list entry (status a claim of the
 * verified credential, cc its anchor's country) fetched, verified and
 * read; 0 when VALID.  The list must chain to an anchor of cc too.  *why
 * EXPIRED for a revoked or suspended credential, UNAVAILABLE when the
 * list cannot be had or is signed under another country's anchor, INVALID
 * for a malformed reference.  Cached per URI and country.
 */
int wallet_status_check(const json_t *status, const struct wallet_check *c, const char *cc,
			bool allow_http, enum wallet_fail *why, struct err *e);
void wallet_status_cleanup(void);

/*
 * The transaction (request.c): a document under WALLET_K_TX by its id,
 * which is also the request's state, the request_uri's id and the
 * response key's kid.  Members: ar, nonce, key_sealed (the response key's
 * PEM sealed under the KEK with the id as label), start, exp, mode ("same",
 * "qr" or "dc": same device, cross device, Digital Credentials API), same
 * (mode "same"), st ("pending", "ok", "failed"), fail (enum wallet_fail),
 * and the outcome (pid, eidas_*, nationalities, onetime_key, auth_time).
 */
int wallet_tx_new(struct porten *app, const char *ar, const char *mode, json_t **tx,
		  struct err *e);
int wallet_tx_get(struct porten *app, const char *id, json_t **tx, struct err *e);
/* A transaction of the Digital Credentials API (mode "dc"). */
bool wallet_tx_is_dc(const json_t *tx);
/* The response key of a pending transaction, unsealed (kid: its id). */
int wallet_tx_key(struct porten *app, const json_t *tx, struct jose_eckey **k, struct err *e);

/*
 * The request object for tx, signed (request.c); *jws malloc'd.  With
 * origin NULL for response_uri (direct_post.jwt, with state); with origin
 * for the Digital Credentials API (dc_api.jwt, expected_origins, §4.3).
 */
int wallet_request_sign(struct porten *app, const json_t *tx, const char *response_uri,
			const char *origin, const char *wallet_nonce, char **jws, struct err *e);
/* The link a wallet opens: scheme?client_id=..&request_uri=..&request_uri_method=post. */
char *wallet_link(struct http_req *r, const json_t *tx);

/* Pages (pages.c, response.c, request.c). */
void wallet_start(struct http_req *r, struct http_resp *w, const struct eid_flow *flow);
void wallet_status(struct http_req *r, struct http_resp *w, const struct eid_flow *flow);
void wallet_return(struct http_req *r, struct http_resp *w, const struct eid_flow *flow);
void wallet_request(struct http_req *r, struct http_resp *w, const struct eid_flow *flow);
void wallet_response(struct http_req *r, struct http_resp *w, const struct eid_flow *flow);
void wallet_dc_response(struct http_req *r, struct http_resp *w, const struct eid_flow *flow);
/* The origin of the login pages (scheme://host[:port]), arena memory; NULL without memory. */
const char *wallet_origin(struct http_req *r);
/* The person's page for a failure, with a way back to the selector. */
void wallet_fail_page(struct http_req *r, struct http_resp *w, const struct eid_flow *flow,
		      enum wallet_fail why);
/* Finish the login of a verified transaction (taken from the store). */
void wallet_finish(struct http_req *r, struct http_resp *w, const struct eid_flow *flow,
		   const char *txid);

/* An SVG QR code of text labelled label (qr.c), arena memory; NULL when it does not fit. */
char *wallet_qr_svg(struct arena *a, const char *text, const char *label);

#endif
