/*
 * The login core (design/structure.md): the front channel of an issuer
 * that logs people in, from /authorize (and PAR) through the eIDs and the
 * steps after them to the code sent back to the client; SSO sessions and
 * logout.  It calls down into oauth/ (client authentication, the code
 * record) and is never called from there.
 *
 * eIDs plug in through eid/eid.h: every eID page is mounted behind the
 * login core's door (the service's mount).  Steps after the eID, before the
 * code, plug in as struct login_step; consent is the last built-in one.
 */
#ifndef PORTEN_LOGIN_LOGIN_H
#define PORTEN_LOGIN_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "app/app.h"
#include "app/service.h"
#include "core/buf.h"
#include "core/err.h"
#include "http/http.h"

/*
 * The login at the point a step runs: the client, the validated request
 * and the SSO session the code will come from (login_int.h).
 */
struct login_ctx;
struct client;

/*
 * A step after the eID, before the code: struct login_step, defined with
 * the service contract (app/service.h) so the route table can serve its
 * pages.  enter returns 0 to go on to the next step, 1 when it has
 * answered (a page of its own, or an error to the client); a step that
 * answered picks the login up again later with login_step_done.
 */

/*
 * The step is done: run the steps after it, then issue the code.  On a
 * login opened with login_step_open, the paused login is spent first, once:
 * a form posted again (replayed, or twice) gets the error page (400).
 */
void login_step_done(struct login_ctx *c, struct http_req *r, struct http_resp *w);
/*
 * login_step_done with the step's own writes: with(arg, e) (NULL: none)
 * runs in one transaction with the spend of the paused login, the steps
 * after it and the code, so a replayed form, or a code the store could
 * not write, leaves none of them.  with may run twice (store_tx_run), so
 * it writes values computed before.  When it fails the login ends
 * (server_error, or temporarily_unavailable when the store is away).
 */
void login_step_done_with(struct login_ctx *c, struct http_req *r, struct http_resp *w,
			  int (*with)(void *arg, struct err *e), void *arg);

/*
 * The seam for steps of other services (docs/login-flow.md "Steps").  The
 * login core runs, after the eID (and after SSO), every step of every
 * service in src/services.c whose issuer_kinds has the issuer of the
 * login, in list order, each once, and its own steps (consent) last.
 *
 * What a step reads of the login: the client, the person's national
 * identity number, and the validated request document (login/areq.h), all
 * borrowed for as long as c lives.
 */
const struct client *login_ctx_client(const struct login_ctx *c);
const char *login_ctx_pid(const struct login_ctx *c);
const json_t *login_ctx_request(const struct login_ctx *c);
/*
 * Did an eID authenticate the person in this login?  False for a login
 * served by the SSO session (so always with prompt=none), which a step
 * that asks the person something may pass by.
 */
bool login_ctx_authenticated(const struct login_ctx *c, struct http_req *r);
/*
 * Add claim name with value (stolen, also on failure) to the tokens this
 * login ends in; name must pass oauth_step_claim_ok ("name",
 * "authorization_details").  The value rides with a paused login and into
 * the grant (refresh repeats it).  ERR_INVAL for another name or when the
 * claims would pass LOGIN_CLAIMS_MAX bytes; ERR_NOMEM.
 */
#define LOGIN_CLAIMS_MAX 65536
int login_ctx_claim(struct login_ctx *c, struct http_req *r, const char *name, json_t *value,
		    struct err *e);
/*
 * What step's prepare fetched (app/service.h), kept in c for its enter:
 * value is stolen (also on failure), and replaces what step kept before.
 * At most LOGIN_KEPT_MAX bytes per step as JSON; ERR_INVAL past that,
 * ERR_NOMEM.  login_ctx_kept is NULL when the step kept nothing; the
 * value is borrowed for as long as c lives.
 */
#define LOGIN_KEPT_MAX 65536
int login_ctx_keep(struct login_ctx *c, const struct login_step *step, json_t *value,
		   struct err *e);
const json_t *login_ctx_kept(const struct login_ctx *c, const struct login_step *step);
/*
 * A step that shows pages pauses the login: it is stored as a pending
 * authorization bound to this browser, to the issuer, to step and to the
 * session, and *ar (arena) names it in the step's URLs and forms (with
 * login_step_csrf's token).  The step then answers w with its page.
 */
int login_step_pause(struct login_ctx *c, const struct login_step *step, struct http_req *r,
		     struct http_resp *w, const char **ar, struct err *e);
/*
 * A page of step picks the login ar up again: *out is the login as it was
 * paused, in this browser and session, under this issuer, with step done
 * next.  ERR_NOTFOUND (status 400) when there is no such login here; the
 * caller answers a failure with login_step_error_page.  Release with
 * login_step_close, after login_step_done or login_step_fail.
 */
int login_step_open(const struct login_step *step, struct http_req *r, const char *ar,
		    struct login_ctx **out, struct err *e);
void login_step_close(struct login_ctx *c);
/* End the login with error (an OAuth code, e.g. access_denied) at the client's redirect URI. */
void login_step_fail(struct login_ctx *c, struct http_req *r, struct http_resp *w,
		     const char *error, const char *desc);
/* The error page for a failed login_step_open (or another failure of a step's page). */
void login_step_error_page(struct http_req *r, struct http_resp *w, const struct err *e);
/* The CSRF token of a paused login's forms, and its check (constant time). */
const char *login_step_csrf(struct http_req *r, const char *ar);
bool login_step_csrf_ok(struct http_req *r, const char *ar, const char *token);
/* The login's cancel form (the same on every page: access_denied to the client). */
void login_step_cancel_form(struct http_req *r, struct buf *b, const char *lang, const char *ar);

/* The built-in steps, in order; NULL-terminated (consent last). */
extern const struct login_step *const login_steps[];
extern const struct login_step login_consent_step;

/* The service (login/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service login_service;

void login_handle_authorize(struct http_req *r, struct http_resp *w); /* GET/POST /authorize */
void login_handle_par(struct http_req *r, struct http_resp *w);       /* POST /par */
void login_handle_select(struct http_req *r, struct http_resp *w);    /* GET /login */
void login_handle_cancel(struct http_req *r, struct http_resp *w);    /* POST /cancel */
void login_handle_logout(struct http_req *r, struct http_resp *w);    /* GET/POST /logout */
void consent_handle_show(struct http_req *r, struct http_resp *w);    /* GET /consent */
void consent_handle_submit(struct http_req *r, struct http_resp *w);  /* POST /consent */

#endif
