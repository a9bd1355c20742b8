/*
 * Inside the representation service: the registry of authorization_details
 * types (types.c), the registers the rights come from (reg_*.c), the two
 * choosers (org.c, fullmakt.c) and what they share (page.c).
 */
#ifndef PORTEN_REPR_REPR_INT_H
#define PORTEN_REPR_REPR_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "app/app.h"
#include "app/service.h"
#include "core/buf.h"
#include "core/err.h"
#include "http/http.h"
#include "login/login.h"

/* ---- types.c: the registry of authorization_details types ---- */

#define REPR_T_SERVICE "ansattporten:altinn:service"
#define REPR_T_RESOURCE "ansattporten:altinn:resource"
#define REPR_T_FULLMAKT "idporten:fullmakt"
/* The pilot's type (spec §1.4): the organisations where the person is main administrator. */
#define REPR_T_SJEF "ansattporten:sjef"
#define REPR_SJEF_SCOPE "ansattporten:sjef"
#define REPR_SJEF_RESOURCE "urn:altinn:rolecode:HADM"
#define REPR_RESOURCE_PREFIX "urn:altinn:resource:"
#define REPR_MAX_RESOURCES 10

/*
 * One type: its name, the issuer kind it belongs to, the members a request
 * object may have besides type, and the check of one object (which may
 * rewrite it, e.g. a string made a list).
 */
struct repr_type {
	const char *name;
	enum issuer_kind issuer;
	const char *const *fields;
	int (*check)(json_t *obj, struct err *e);
};

/* The type of that name, or NULL. */
const struct repr_type *repr_type_find(const char *name);
/*
 * Check a request's whole array against the registry for issuer kind:
 * known types of that issuer only, known members only, each object's own
 * rules, and the rules across objects (one type per request at
 * Ansattporten; one object for fullmakt).  invalid_authorization_details.
 */
int repr_rar_check(enum issuer_kind issuer, json_t *details, struct err *e);

/* What an Ansattporten request asks for, merged over its objects (spec §1.3). */
struct repr_ask {
	const char *type;                               /* REPR_T_* */
	const char *resource[REPR_MAX_RESOURCES];
	size_t nresource;
	const char *form;      /* "enterprise", "business", or NULL for both */
	bool multiple, deleted, required;
	/* which members the request sent (echoed in the tokens) */
	bool has_form, has_multiple, has_deleted, has_required;
};
/* Read a checked array (borrowed strings); the sjef pilot has details NULL. */
void repr_ask_read(const json_t *details, struct repr_ask *ask);
/* A boolean member as the request sent it (true, false, "true", "false"). */
bool repr_bool(const json_t *v);

/* ---- reg.c: the registers (spec §1.3, idporten-oidc §21 "Source") ---- */

/*
 * One interface per register, with the local register in the store
 * (reg_local.c) and the HTTP one (reg_http.c) behind it; which one serves
 * is the setting repr_register_url.  Every answer is the caller's.
 * ERR_UNAVAILABLE: the register could not be reached or answered garbage.
 */
struct repr_register {
	const char *name;
	/* {"name": resource name or null, "reportees": [{orgno, name, unit_type, parent, deleted, rights}]} */
	int (*reportees)(struct porten *app, const char *pid, const char *resource, json_t **out,
			 struct err *e);
	/* [{authorizer, name, permissions: [{owner, role}]}], valid now */
	int (*fullmakts)(struct porten *app, const char *pid, json_t **out, struct err *e);
	/* The person's full name (malloc'd); ERR_NOTFOUND when unknown. */
	int (*person_name)(struct porten *app, const char *pid, char **name, struct err *e);
};
extern const struct repr_register repr_register_local;
extern const struct repr_register repr_register_http;
const struct repr_register *repr_register(const struct porten *app);
/*
 * The shapes both registers answer with, checked (garbage from a remote
 * one: ERR_UNAVAILABLE).  Organisation numbers (orgno, parent) are 9
 * digits with their check digit; a fullmakt's authorizer is a national
 * identity number people_pid_ok takes and not pid, the representative's.
 */
bool repr_reportee_ok(const json_t *o);
bool repr_fullmakt_ok(const struct porten *app, const char *pid, const json_t *o);

/* ---- page.c: what both choosers share ---- */

/* The language of a paused login's pages. */
const char *repr_lang(struct http_req *r, struct http_resp *w, const json_t *areq);
/* The page that says the register is away, with a button that ends the login (temporarily_unavailable). */
void repr_page_unavailable(struct http_req *r, struct http_resp *w, const char *lang,
			   const char *path, const char *ar);
/* A page that ends here: text, and the cancel form (access_denied). */
void repr_page_none(struct http_req *r, struct http_resp *w, const char *lang, const char *ar,
		    const char *title, const char *text);
/* Pause the login c for step and send the browser to its page at path. */
int repr_pause(struct login_ctx *c, const struct login_step *step, struct http_req *r,
	       struct http_resp *w, const char *path);
/*
 * Open the login a chooser's form (or link) names; on failure the page has
 * answered and NULL comes back.  post: check the CSRF token too.
 */
struct login_ctx *repr_open(const struct login_step *step, struct http_req *r,
			    struct http_resp *w, bool post);
/* The form's head and tail: action, ar and csrf, and the submit button. */
void repr_form_open(struct http_req *r, struct buf *b, const char *path, const char *ar);
void repr_form_close(struct buf *b, const char *lang, const char *label_msgid);
/*
 * A chooser page's frame.  begin: b set up, the title as heading, error
 * (a msgid, or NULL) as an alert, asks_msgid with {client}, the form
 * opened; the chooser adds its choices.  end: the submit button, the
 * cancel form, the page sent (400 with an error) and b freed.
 */
void repr_chooser_begin(struct http_req *r, struct buf *b, struct login_ctx *c, const char *lang,
			const char *path, const char *ar, const char *title,
			const char *asks_msgid, const char *error);
void repr_chooser_end(struct http_req *r, struct http_resp *w, struct buf *b, const char *lang,
		      const char *path, const char *ar, bool error);
/*
 * Finish a choice of kind ("fullmakt", "organisation"): unless rc (the
 * caller's own work so far, e filled) failed, the authorization_details
 * claim when details is not NULL (the caller keeps its reference), then
 * the next step, and when whom is not NULL the event (events facet, type
 * "representation") in the transaction that spends the login
 * (login_step_done_with); whatever failed ends the login
 * (temporarily_unavailable or server_error).
 */
void repr_finish(struct http_req *r, struct http_resp *w, struct login_ctx *c, const char *kind,
		 const json_t *whom, const json_t *rights, json_t *details, int rc, struct err *e);

/* ---- the steps ---- */
extern const struct login_step repr_org_step;
extern const struct login_step repr_fullmakt_step;

/* ---- cmd.c: portenctl repr ---- */
int repr_cmd(struct cli *c, int argc, char **argv);
void repr_cmd_usage(FILE *f);

#endif
