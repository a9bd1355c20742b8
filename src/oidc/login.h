/*
 * The login flow between /authorize and the eIDs: pending authorizations
 * bound to the browser, CSRF tokens, the eID selector, cancel, and
 * finishing a login with a code sent back to the client.
 *
 * The validated authorization request ("areq", built by oauth/authorize.c):
 *   client_id, redirect_uri, response_mode, state, nonce?, scope,
 *   code_challenge?, acr (minimum level, canonical), prompt?, max_age
 *   (-1 when absent), locale, resource (array)?, id ("ar": pending id).
 */
#ifndef PORTEN_OIDC_LOGIN_H
#define PORTEN_OIDC_LOGIN_H

#include <jansson.h>

#include "eid/eid.h"
#include "http/http.h"
#include "oidc/session.h"

/* Store areq as a pending authorization bound to this browser; sets areq.id. */
int login_pending_store(struct http_req *r, struct http_resp *w, json_t *areq, struct err *e);
/* Load the pending authorization ar for this browser; ERR_NOTFOUND otherwise. */
int login_pending_load(struct http_req *r, const char *ar, json_t **areq, struct err *e);
/* Remove pending ar: the login is over. */
int login_pending_spend(struct http_req *r, const char *ar, struct err *e);
/* The CSRF token for forms of pending ar in this browser (arena string). */
const char *login_csrf(struct http_req *r, const char *ar);
bool login_csrf_ok(struct http_req *r, const char *ar, const char *token);

/*
 * Redirect the authorization response (code or error) to the client per
 * areq's redirect_uri, response_mode and state; iss always (RFC 9207).
 * error NULL means success with code.
 */
void login_respond(struct http_req *r, struct http_resp *w, const json_t *areq, const char *code,
		   const char *error, const char *desc);
/* A store failure while finishing a login: logged as what, the client told why in general. */
void login_store_failed(struct http_req *r, struct http_resp *w, const json_t *areq, int rc,
			const char *what, const struct err *e);
/* Issue a code for areq from session s and respond. */
void login_finish(struct http_req *r, struct http_resp *w, const json_t *client, const json_t *areq,
		  struct session *s);
/* An eID has authenticated the person for pending ar: session, code, respond. */
void login_complete(struct http_req *r, struct http_resp *w, const char *ar, const json_t *areq,
		    const struct eid_result *res);
/* The eID selector page (or straight to the only eID), after /authorize. */
void login_show_selector(struct http_req *r, struct http_resp *w, const json_t *areq);
/* The URL of the selector for ar (arena). */
const char *login_selector_url(struct http_req *r, const char *ar);
/* The minimum level bit areq asks for. */
unsigned login_min_level(const json_t *areq);

/* Answer a failure of the login pages: 503 when the store is away, else e's status (400). */
void login_page_error(struct http_req *r, struct http_resp *w, const struct err *e);

void login_handle_select(struct http_req *r, struct http_resp *w);  /* GET /login */
void login_handle_cancel(struct http_req *r, struct http_resp *w);  /* POST /cancel */

/* A cancel form for pending ar (the same on every page). */
void login_cancel_form(struct http_req *r, struct buf *b, const char *lang, const char *ar);

/*
 * The door in front of the eIDs' pages (eid/eid.h, oidc/door.c).  Every
 * eID route is mounted with login_eid_door as its handler and the issuer
 * as its data; the door finds the page by method and path and serves it
 * through login_eid_serve, which applies er's door kind.
 */
void login_eid_door(struct http_req *r, struct http_resp *w);
void login_eid_serve(struct http_req *r, struct http_resp *w, const struct eid_provider *p,
		     const struct eid_route *er);
/* The service's mount (app/service.h): every eID page under is, behind the door. */
struct service_routes;
int login_eid_mount(const struct issuer *is, struct service_routes *out, struct err *e);

#endif
