/*
 * The validated authorization request ("areq") as a record, with the one
 * codec of its stored document (kind "pending", and "par" before it has
 * an id).  The document, in the order authorize.c and pending.c write it:
 *   client_id, redirect_uri, response_mode ("query"|"form_post"|
 *   "fragment"), state, force_login (true)?, scope, nonce?,
 *   code_challenge?, prompt?, max_age (-1 when the client sent none), acr
 *   (the minimum level, canonical), eidas_acr (the lowest eidas-loa-*
 *   asked for), eidas_only (true: nothing but eIDAS was asked for), locale,
 *   resource (array),
 *   authorization_details (the validated RFC 9396 array), id, browser
 *   (hash of the browser cookie), and for a pending consent consent
 *   (true) and consent_sid, and authenticated (true) once an eID has
 *   authenticated the person for this login (billing counts it apart
 *   from a login served by the SSO session), iss (the issuer whose
 *   /authorize or PAR took it; absent in documents from before there was
 *   more than one, which are ID-porten's), claims (an object: what the
 *   steps added for the tokens), step and step_sid (a login a step has
 *   paused, in that session), dpop_jkt (the DPoP key thumbprint
 *   the code will be bound to), headless_hint (the validated testid:
 *   login_hint of a headless test login, which /authorize and PAR keep
 *   alike).
 * Every field is optional in the codec: callers check what they need.
 */
#ifndef PORTEN_LOGIN_AREQ_H
#define PORTEN_LOGIN_AREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"

enum response_mode { RESPONSE_MODE_QUERY, RESPONSE_MODE_FORM_POST, RESPONSE_MODE_FRAGMENT };

/* The longest document areq_write writes (a request is bounded by HTTP well below). */
#define AREQ_TEXT_MAX (1024 * 1024)
#define AREQ_NO_MAX_AGE INT64_MIN  /* max_age absent from the document */

struct authz_request {
	const char *id, *client_id, *redirect_uri, *state, *nonce, *scope, *code_challenge,
		*locale;
	enum response_mode mode;       /* absent: query */
	bool has_mode;                 /* response_mode was in the document */
	unsigned min_level;            /* EID_LEVEL_* of acr; 0: absent */
	unsigned eidas_level;          /* EID_LEVEL_* of eidas_acr; 0: eIDAS not asked for */
	bool eidas_only;               /* only eidas-loa-* values were asked for (§2.1) */
	int64_t max_age;               /* -1: not asked; AREQ_NO_MAX_AGE: absent */
	const char *prompt;            /* "login", "none" or NULL */
	bool force_login;              /* a scope requires a fresh authentication */
	const char *const *resource;   /* NULL: absent; else nresource strings */
	size_t nresource;
	/* authorization_details as validated by a step's rar_check: compact JSON text, or NULL */
	const char *rar;
	const char *browser;           /* the pending authorization's browser binding */
	bool consent;                  /* a pending consent (consent.c) */
	const char *consent_sid;       /* the session it was asked in */
	bool consent_accepted;         /* the person has just agreed (not stored) */
	bool authenticated;            /* an eID authenticated the person in this login (not SSO) */
	const char *onbehalfof;
	const char *iss;               /* the issuer the login belongs to; NULL: ID-porten's */
	/*
	 * Claims the steps after the eID added for the tokens (login_ctx_claim):
	 * a JSON object as compact text, NULL when none.
	 */
	const char *claims;
	const char *step;              /* a login paused by that step (login_step_pause) */
	const char *step_sid;          /* ... in the session of that sid */
	/* spec §19: the DPoP key thumbprint the code is bound to (dpop_jkt, or PAR's proof) */
	const char *dpop_jkt;
	/* spec §22: a validated login_hint testid:<pid>_<acr> (headless test login), or NULL */
	const char *headless_hint;
};

/*
 * Does the request refuse the SSO session: prompt=login, or a scope that
 * requires a fresh authentication?  (max_age is the caller's to weigh.)
 */
bool areq_forces_login(const struct authz_request *a);
/*
 * Read doc into *a; strings are copied into arena.  A known field of the
 * wrong type, an unknown response_mode or acr, is refused (ERR_INVAL);
 * fields the record does not know are ignored.
 */
int areq_decode(const json_t *doc, struct arena *arena, struct authz_request *a, struct err *e);
/*
 * The document of a as compact JSON text appended to b, in the order above,
 * byte for byte what json_dumps(areq_encode(a), JSON_COMPACT) gives: 0, or
 * ERR_NOMEM / ERR_LIMIT / ERR_INVAL (a string not UTF-8).
 */
int areq_write(const struct authz_request *a, struct buf *b);
/* The same document as a tree (new reference); NULL when out of memory. */
json_t *areq_encode(const struct authz_request *a);

#endif
