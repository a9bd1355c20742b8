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

#include <stddef.h>

#include "app/app.h"
#include "app/service.h"
#include "http/http.h"

/*
 * The login at the point a step runs: the client, the validated request
 * and the SSO session the code will come from (login_int.h).
 */
struct login_ctx;

/*
 * A step after the eID, before the code: struct login_step, defined with
 * the service contract (app/service.h) so the route table can serve its
 * pages.  enter returns 0 to go on to the next step, 1 when it has
 * answered (a page of its own, or an error to the client); a step that
 * answered picks the login up again later with login_step_done.
 */

/* The step is done: run the steps after it, then issue the code. */
void login_step_done(struct login_ctx *c, struct http_req *r, struct http_resp *w);

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
