/*
 * Inside the login core: pending authorizations bound to the browser,
 * CSRF tokens, the eID selector, the authorization response, finishing a
 * login with a code, the steps, consent and the eID door.
 *
 * The validated authorization request ("areq", built by authorize.c as a
 * struct authz_request) is passed around as its stored document;
 * login/areq.h is its record and codec, and the only code that reads or
 * writes the document's fields.
 */
#ifndef PORTEN_LOGIN_LOGIN_INT_H
#define PORTEN_LOGIN_LOGIN_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/str.h"
#include "eid/eid.h"
#include "http/http.h"
#include "login/areq.h"
#include "login/login.h"
#include "login/session.h"
#include "registry/client.h"

/* ---- backchannel.c: back-channel logout (spec/idporten-oidc.md §20) ---- */

/*
 * Queue a logout token for every client of session s that registered a
 * backchannel_logout_uri: one outbox row each, in the caller's transaction
 * (the one that ends the session).  Scratch strings go into a.
 */
int login_bcl_queue(struct porten *app, struct arena *a, const struct session *s, struct err *e);
/* Wake this node's worker: rows were queued. */
void login_bcl_kick(void);
/* The worker thread (service init and close): delivers due rows, ends timed-out sessions. */
int login_bcl_start(struct porten *app, struct err *e);
void login_bcl_stop(struct porten *app);

/* ---- pending.c: pending authorizations and CSRF ---- */

/*
 * Seal a as a pending authorization bound to this browser (pending.c),
 * through the record's codec; sets a->id to the ar that names it (an
 * arena string): the sealed text, or a store row's id when a is too large
 * to travel in a URL.
 */
int login_pending_store(struct http_req *r, struct http_resp *w, struct authz_request *a,
			struct err *e);
/*
 * Open the pending authorization ar for this browser, not yet spent (its
 * document's id is ar): into *areq (a new reference) and *a (decoded,
 * strings in the request's arena), each when not NULL; ERR_NOTFOUND, 400,
 * with what to tell the person otherwise.
 */
int login_pending_load(struct http_req *r, const char *ar, json_t **areq,
		       struct authz_request *a, struct err *e);
/*
 * As login_pending_load, for a request that ends the login (spends it)
 * before it does anything that lasts: without the read of whether it was
 * spent already, since the spend finds that out itself.  A stored row
 * (ar too large to seal) is read all the same.
 */
int login_pending_load_to_end(struct http_req *r, const char *ar, json_t **areq,
			      struct authz_request *a, struct err *e);
/*
 * Spend pending ar, which login_pending_load opened in this request: the
 * login is over.  Inside the caller's transaction when there is one.
 * ERR_NOTFOUND (400, "finished") when it was spent already: only one of
 * two racing requests gets 0.
 */
int login_pending_spend(struct http_req *r, const char *ar, struct err *e);
/* Make sure this period's sealing key exists (service start). */
int login_seal_prepare(struct porten *app, struct err *e);
/* The CSRF token for forms of pending ar in this browser (arena string). */
/*
 * The name the login pages show for the client (idporten-oidc §16): the
 * display_name of its onbehalfof entry when the request names one, else
 * client_name.  Borrowed from the record.
 */
const char *login_client_name(const struct client *c, const char *onbehalfof);
const char *login_csrf(struct http_req *r, const char *ar);
bool login_csrf_ok(struct http_req *r, const char *ar, const char *token);
/* The minimum level bit a asks for (substantial when it names none). */
unsigned login_min_level(const struct authz_request *a);
/* Whether the live session s has the level a asks for, in the framework a asks for. */
bool login_session_meets(const struct session *s, const struct authz_request *a);

/* ---- respond.c: answers to the client and to the person ---- */

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
/* Answer a failure of the login pages: 503 when the store is away, else e's status (400). */
void login_page_error(struct http_req *r, struct http_resp *w, const struct err *e);
/*
 * The page for a request that could not learn whether its login is over
 * (its spend failed with e): the finished page when it was spent
 * (ERR_NOTFOUND), else the busy page (503), whatever the store's error
 * (logged): its client may have had its answer.
 */
void login_page_unknown(struct http_req *r, struct http_resp *w, const struct err *e);

/* ---- selector.c: the eID selector and cancel ---- */

/*
 * The eID selector page for the pending authorization a (a->id set), or a
 * redirect straight to the only eID (eIDAS only).  answered_elsewhere: the
 * page answers another URL (/authorize), so it puts its own URL
 * (login_selector_url) in the address bar for reloads and Back.
 */
void login_show_selector(struct http_req *r, struct http_resp *w, const struct authz_request *a,
			 bool answered_elsewhere);
/* The URL of the selector for ar (arena). */
const char *login_selector_url(struct http_req *r, const char *ar);
/* The URL the cancel form posts to (arena). */
const char *login_cancel_url(struct http_req *r);
/* A cancel form for pending ar (the same on every page). */
void login_cancel_form(struct http_req *r, struct buf *b, const char *lang, const char *ar);

/* ---- login.c: the steps and the code ---- */

struct login_ctx {
	const struct client *client;
	const json_t *areq;
	struct session *s;
	size_t next;            /* index in the login's steps (login.c) of the step to run next */
	json_t *own;            /* an areq of the context's own (a step added claims), or NULL */
	json_t *kept;           /* step name -> what its prepare fetched (login_ctx_keep), or NULL */
	/* login_step_open's: the paused login ar, its session and client (released by close) */
	const char *ar;
	struct session opened;
};

/*
 * Issue the code at once, running no step: every requested scope counts as
 * consented.  Only for the headless test login (spec §22), whose s has no
 * store key (hash NULL), so no session is made or joined.
 */
void login_issue_now(struct http_req *r, struct http_resp *w, const struct client *client,
		     const json_t *areq, struct session *s);
/* Run the steps for areq from session s, then issue a code and respond. */
void login_finish(struct http_req *r, struct http_resp *w, const struct client *client, const json_t *areq,
		  struct session *s);
/* Pick the login up again after step (which answered earlier) is done. */
void login_resume_after(const struct login_step *step, struct http_req *r, struct http_resp *w,
			const struct client *client, const json_t *areq, struct session *s);
/*
 * An eID has authenticated the person for pending ar: session, code,
 * respond.  unread: ar's spent mark was not read in this request (a form
 * behind EID_DOOR_FORM), so until the spend answers nothing tells whether
 * the login is over; a store that fails before then gets the person the
 * busy page and the client nothing.
 */
void login_complete(struct http_req *r, struct http_resp *w, const char *ar, const json_t *areq,
		    const struct eid_result *res, bool unread);

/* ---- consent.c: the consent step (spec/idporten-oidc.md §7 step 6, §4 prompt=none) ---- */

/*
 * Called before a code is issued for areq from session s.  False: no
 * consent is missing, go on.  True: w has been answered (consent page
 * redirect, consent_required for prompt=none, or an error).
 */
bool consent_intercept(struct http_req *r, struct http_resp *w, const struct client *client,
		       const json_t *areq, struct session *s);

/* ---- authorize.c: validation shared with PAR (par.c) ---- */

#define PAR_URN_PREFIX "urn:idporten:"
/* The parameters of a request object jws (JAR) of client into *ro. */
int login_authz_request_object(struct http_req *r, const struct client *client, const char *jws,
			       struct http_params *ro, struct err *e);
/* Validate an authorization request p of client into a new areq. */
int login_authz_validate(struct http_req *r, const struct http_params *p, const struct client *client,
			 json_t **areq, struct err *e);

/* ---- door.c: the door in front of the eIDs' pages (eid/eid.h) ---- */

/*
 * Every eID route is mounted with login_eid_door as its handler and the
 * issuer as its data; the door finds the page by method and path and
 * serves it through login_eid_serve, which applies er's door kind.
 */
void login_eid_door(struct http_req *r, struct http_resp *w);
void login_eid_serve(struct http_req *r, struct http_resp *w, const struct eid_provider *p,
		     const struct eid_route *er);
/* The service's mount (app/service.h): every eID page under is, behind the door. */
struct service_routes;
int login_eid_mount(const struct issuer *is, struct service_routes *out, struct err *e);

#endif
