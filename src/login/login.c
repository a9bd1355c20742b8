/*
 * Finishing a login (spec/idporten-oidc.md §7): after the eID, the SSO
 * session, the steps (consent last), then a code for the client in one
 * transaction with the session's note of it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/metrics.h"
#include "login/areq.h"
#include "login/login_int.h"
#include "oauth/oauth.h"
#include "registry/registry.h"

static struct porten *
login_app(struct http_req *r)
{
	return r->app;
}

static const struct issuer *
login_issuer(struct http_req *r)
{
	return r->route_data;
}

const char *
login_client_name(const struct client *c, const char *onbehalfof)
{
	const char *n = json_string_value(
		json_object_get(reg_client_onbehalfof(c, onbehalfof), "display_name"));

	return n != NULL ? n : c->client_name;
}

/*
 * The customer a login is counted for (spec/billing.md §2): the
 * onbehalfof entry's organisation when the login named one, else the one a
 * service names for a login it serves for another (the SAML proxy's SP),
 * else the client's.
 */
static const char *
login_customer(struct http_req *r, const struct client *client, const struct authz_request *a,
	       const json_t *areq)
{
	const struct porten_service *const *list = login_app(r)->services;
	const char *org = json_string_value(
		json_object_get(reg_client_onbehalfof(client, a->onbehalfof), "orgno"));
	struct err e = { 0 };
	size_t i;

	if (org != NULL)
		return org;
	/* a service serving the login for another organisation (porten_service.customer) */
	for (i = 0; list != NULL && list[i] != NULL; i++) {
		if (list[i]->customer == NULL ||
		    !(list[i]->issuer_kinds & SERVICE_ISSUER(login_issuer(r)->kind)))
			continue;
		if (list[i]->customer(r, client->client_id, areq, &org, &e) != 0)
			log_err(r->rid, "%s: no customer for the login: %s", list[i]->name, e.msg);
		else if (org != NULL)
			return org;
	}
	return client->client_orgno;
}

/* Member k with v, or null when v is NULL (as the event has always been written). */
static void
event_str(struct jsonw *w, const char *k, const char *v)
{
	if (v != NULL)
		jsonw_str(w, k, v);
	else
		jsonw_null(w, k);
}

/*
 * The one event of a completed authentication (spec/billing.md §2),
 * written with the code it ends in: an eID login (sso false), or one
 * served by an SSO session (sso true, never billed).  TestID and every
 * login in the test environment are counted and never billed.  Its
 * document as JSON text appended to b: 0, or the writer's error.
 */
static int
login_event(struct http_req *r, const struct client *client, const struct authz_request *a,
	    const json_t *areq, const struct session *s, struct buf *b)
{
	struct porten *app = login_app(r);
	bool sso = !a->authenticated;
	bool test = app->test_env || (s->eid != NULL && strcmp(s->eid, "testid") == 0);
	char tag[APP_PERSON_TAG_LEN];
	struct jsonw w;

	/* spec/selfservice-api.md §11: the person's login history finds it by the tag. */
	app_person_tag(app, session_person(s), tag);
	jsonw_begin(&w, b);
	event_str(&w, "client_id", client->client_id);
	event_str(&w, "client_orgno", client->client_orgno);
	event_str(&w, "customer", login_customer(r, client, a, areq));
	event_str(&w, "onbehalfof", a->onbehalfof);
	event_str(&w, "eid", s->eid);
	event_str(&w, "acr", s->acr);
	jsonw_str(&w, "issuer", login_issuer(r)->iss);
	jsonw_bool(&w, "sso", sso);
	jsonw_bool(&w, "test", test);
	jsonw_bool(&w, "billable", !sso && !test);
	jsonw_int(&w, "time", time_now());
	jsonw_str(&w, "person", tag);
	event_str(&w, "client_name", client->client_name);
	return jsonw_end(&w);
}

struct code_write {
	struct http_req *r;
	struct session *s;
	const struct client *client;
	const char *code, *grant_id;
	const char *doc;         /* the code's record as JSON text */
	const char *event;       /* the authentication event, JSON text */
};

static int
code_write_body(void *arg, struct err *e)
{
	const struct code_write *cw = arg;
	struct porten *app = login_app(cw->r);
	int rc;

	rc = store_call(app->store, oauth, code_put, sha256_b64url(cw->r->arena, str_c(cw->code)),
		      cw->grant_id, cw->doc, time_now() + app->cfg->code_lifetime, e);
	/* A login without a session (the headless test login) has none to join. */
	if (rc == 0 && cw->s->hash != NULL)
		rc = session_join(cw->r, cw->s, cw->client->client_id, e);
	/* The authentication is counted with its code: one commit, or neither. */
	return rc != 0 ? rc : store_call(app->store, events, event_add, "authentication", cw->event, e);
}

/* The steps are done: issue a code for the login in c and answer the client. */
static void
login_issue(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	struct porten *app = login_app(r);
	const struct client *client = c->client;
	const json_t *areq = c->areq;
	struct session *s = c->s;
	struct err e = { 0 };
	const char *code = rand_token(r->arena), *grant_id = rand_token(r->arena);
	struct authz_request a;
	struct buf doc, ev;
	json_t *res = NULL, *claims = NULL;
	int rc;

	if (code == NULL || grant_id == NULL) {
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "no randomness");
		return;
	}
	if (areq_decode(areq, r->arena, &a, &e) != 0) {
		log_err(r->rid, "cannot issue code: %s", e.msg);
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "the login could not be completed");
		return;
	}
	if (a.resource != NULL && (res = json_array()) != NULL)
		for (size_t i = 0; i < a.nresource; i++)
			json_array_append_new(res, json_string(a.resource[i]));
	if (a.claims != NULL)
		claims = json_loads(a.claims, 0, NULL);
	buf_init(&doc, OAUTH_GRANT_TEXT_MAX);
	rc = oauth_code_write(&(struct auth_code){
		.g = { .client_id = a.client_id, .scope = a.scope, .nonce = a.nonce,
		       .locale = a.locale, .onbehalfof = a.onbehalfof, .resource = res,
		       .sid = s->sid, .pid = s->pid, .acr = s->acr,
		       .amr = s->namr > 0 ? s->amr[0] : NULL,
		       .auth_time = s->auth_time == SESSION_NO_TIME ? 0 : s->auth_time,
		       .eid = s->eid, .iss = login_issuer(r)->iss,
		       .session_kind = client->sso_disabled ? "client" : "shared",
		       .eidas_identifier = s->eidas_identifier,
		       .eidas_firstname = s->eidas_firstname, .eidas_lastname = s->eidas_lastname,
		       .eidas_date_of_birth = s->eidas_date_of_birth,
		       .nationalities = s->nationalities, .onetime_key = s->onetime_key,
		       .claims = claims },
		.redirect_uri = a.redirect_uri, .code_challenge = a.code_challenge,
		.dpop_jkt = a.dpop_jkt }, &doc);
	json_decref(res);
	json_decref(claims);
	buf_init(&ev, STORE_EVENT_MAX);
	if (rc == 0)
		rc = login_event(r, client, &a, areq, s, &ev);
	if (rc != 0) {
		buf_free(&doc);
		buf_free(&ev);
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "out of memory");
		return;
	}
	/* The code, the session's note of it and the event: one commit, or none. */
	{
		struct code_write cw = { r, s, client, code, grant_id, doc.p, ev.p };

		rc = store_tx_run(app->store, code_write_body, &cw, &e);
	}
	buf_free(&doc);
	buf_free(&ev);
	if (rc != 0) {
		login_store_failed(r, w, areq, rc, "cannot issue code", &e);
		return;
	}
	if (a.authenticated)
		metrics_inc(METRICS_LOGINS, s->eid, s->acr);
	login_respond(r, w, areq, code, NULL, NULL);
}

/* spec §7 step 6: scopes needing the person's consent are asked for last. */
const struct login_step *const login_steps[] = {
	&login_consent_step,
	NULL,
};

static bool
step_builtin(const struct login_step *st)
{
	for (size_t j = 0; login_steps[j] != NULL; j++)
		if (login_steps[j] == st)
			return true;
	return false;
}

/*
 * The i-th step of a login: the steps of the services (app->services), in
 * list order and each once, then the core's own (consent last); NULL past
 * the end.
 */
static const struct login_step *
login_step_at(const struct porten *app, size_t i)
{
	struct service_step_iter it = { 0 };
	const struct login_step *st;
	size_t n = 0;

	while ((st = service_step_next(app->services, &it)) != NULL)
		if (!step_builtin(st) && n++ == i)
			return st;
	for (size_t j = 0; login_steps[j] != NULL; j++)
		if (n++ == i)
			return login_steps[j];
	return NULL;
}

/* The index of the step after st in the login's steps (the end when st is none of them). */
static size_t
login_step_after(const struct porten *app, const struct login_step *st)
{
	const struct login_step *x;
	size_t i = 0;

	while ((x = login_step_at(app, i++)) != NULL)
		if (x == st)
			return i;
	return i - 1;
}

/* Does st run under the issuer of r?  A step listed for other issuers only is passed by. */
static bool
login_step_here(const struct login_step *st, struct http_req *r)
{
	return (st->issuer_kinds & (1u << login_issuer(r)->kind)) != 0;
}

/*
 * Before the steps from c->next run, and before the transaction they run
 * in: the prepare of each of them (app/service.h), which may wait on a
 * register elsewhere while no lock of the store is held.
 */
static void
login_steps_prepare(struct login_ctx *c, struct http_req *r)
{
	const struct porten *app = login_app(r);
	const struct login_step *st;

	for (size_t i = c->next; (st = login_step_at(app, i)) != NULL; i++)
		if (st->prepare != NULL && login_step_here(st, r))
			st->prepare(c, r);
}

/*
 * Run the steps from c->next that run under this issuer, then issue the
 * code.  Their prepare has run (login_steps_prepare).
 */
static void
login_steps_run(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	const struct porten *app = login_app(r);
	const struct login_step *st;

	while ((st = login_step_at(app, c->next)) != NULL) {
		c->next++;
		if (login_step_here(st, r) && st->enter(c, r, w) != 0)
			return;
	}
	login_issue(c, r, w);
}

/* What a login context holds of its own (not login_step_open's session and client). */
static void
login_ctx_drop(struct login_ctx *c)
{
	json_decref(c->own);
	json_decref(c->kept);
	c->own = c->kept = NULL;
}

/* Prepare and run the steps from c->next, outside any transaction; then drop c's own. */
static void
login_steps_go(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	login_steps_prepare(c, r);
	login_steps_run(c, r, w);
	login_ctx_drop(c);
}

void
login_issue_now(struct http_req *r, struct http_resp *w, const struct client *client,
		const json_t *areq, struct session *s)
{
	struct login_ctx c = { .client = client, .areq = areq, .s = s };

	login_issue(&c, r, w);
	login_ctx_drop(&c);
}

/* One finished step: every write from the spend of its paused login to the code. */
struct step_done_run {
	struct login_ctx *c;
	struct http_req *r;
	struct http_resp *w;
	const char *ar;         /* the paused login, or NULL */
	size_t next;            /* the step after the finished one */
	int (*with)(void *arg, struct err *e);
	void *arg;
	bool refused;           /* the spend failed: over already, or the store away */
};

static int
step_done_body(void *arg, struct err *e)
{
	struct step_done_run *d = arg;
	int rc;

	/* A second run (the database went away during the first) starts afresh. */
	http_resp_reset(d->w);
	d->c->next = d->next;
	/* A paused login goes on once: spent in this commit, so a replay finds it over. */
	if (d->ar != NULL) {
		rc = login_pending_spend(d->r, d->ar, e);
		if (rc != 0) {
			d->refused = true;
			return rc;
		}
		d->c->ar = NULL;
	}
	rc = d->with != NULL ? d->with(d->arg, e) : 0;
	if (rc != 0)
		return rc;
	/* A code the store could not write rolls this back as well (nested, store.h). */
	login_steps_run(d->c, d->r, d->w);
	return 0;
}

void
login_step_done_with(struct login_ctx *c, struct http_req *r, struct http_resp *w,
		     int (*with)(void *arg, struct err *e), void *arg)
{
	struct step_done_run d = { c, r, w, c->ar, c->next, with, arg, false };
	struct err e = { 0 };
	int rc;

	/* What the steps after it fetch from elsewhere, before the store is locked. */
	login_steps_prepare(c, r);
	rc = store_tx_run(login_app(r)->store, step_done_body, &d, &e);
	if (rc == 0)
		return;
	http_resp_reset(w);
	if (d.refused) {
		login_page_error(r, w, &e);
		return;
	}
	/* Nothing was written: the login ends here, spent if the store lets it. */
	c->ar = NULL;
	if (d.ar != NULL)
		(void)login_pending_spend(r, d.ar, &(struct err){ 0 });
	login_store_failed(r, w, c->areq, rc, "cannot finish the step", &e);
}

void
login_step_done(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	login_step_done_with(c, r, w, NULL, NULL);
}

void
login_finish(struct http_req *r, struct http_resp *w, const struct client *client, const json_t *areq,
	     struct session *s)
{
	struct login_ctx c = { .client = client, .areq = areq, .s = s };

	login_steps_go(&c, r, w);
}

void
login_resume_after(const struct login_step *step, struct http_req *r, struct http_resp *w,
		   const struct client *client, const json_t *areq, struct session *s)
{
	struct login_ctx c = { .client = client, .areq = areq, .s = s };

	c.next = login_step_after(login_app(r), step);
	login_steps_go(&c, r, w);
}

/* ---- the seam for steps of other services (login.h) ---- */

const struct client *
login_ctx_client(const struct login_ctx *c)
{
	return c->client;
}

const char *
login_ctx_pid(const struct login_ctx *c)
{
	return c->s != NULL ? c->s->pid : NULL;
}

const json_t *
login_ctx_request(const struct login_ctx *c)
{
	return c->areq;
}

bool
login_ctx_authenticated(const struct login_ctx *c, struct http_req *r)
{
	struct authz_request a;
	struct err e = { 0 };

	return areq_decode(c->areq, r->arena, &a, &e) == 0 && a.authenticated &&
	       (a.prompt == NULL || strcmp(a.prompt, "none") != 0);
}

int
login_ctx_claim(struct login_ctx *c, struct http_req *r, const char *name, json_t *value,
		struct err *e)
{
	struct authz_request a;
	json_t *claims = NULL, *doc = NULL;
	char *text = NULL;
	int rc;

	if (value == NULL || !oauth_step_claim_ok(name)) {
		json_decref(value);
		return ERR(e, ERR_INVAL, 500, OAUTH_SERVER_ERROR, "a step may not set the claim %.64s",
			   name ? name : "(null)");
	}
	rc = areq_decode(c->areq, r->arena, &a, e);
	if (rc != 0) {
		json_decref(value);
		return rc;
	}
	claims = a.claims != NULL ? json_loads(a.claims, 0, NULL) : json_object();
	if (!json_is_object(claims) || json_object_set_new(claims, name, value) != 0) {
		json_decref(claims);
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	}
	text = json_dumps(claims, JSON_COMPACT);
	json_decref(claims);
	if (text == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	/* A paused login is stored: what a step adds stays within bounds. */
	if (strlen(text) > LOGIN_CLAIMS_MAX) {
		free(text);
		return ERR(e, ERR_INVAL, 500, OAUTH_SERVER_ERROR, "the claims of a login are too long");
	}
	a.claims = arena_strdup(r->arena, text);
	free(text);
	doc = areq_encode(&a);
	if (doc == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	json_decref(c->own);
	c->own = doc;
	c->areq = doc;
	return 0;
}

int
login_ctx_keep(struct login_ctx *c, const struct login_step *step, json_t *value, struct err *e)
{
	char *text = value != NULL ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	size_t n = text != NULL ? strlen(text) : 0;
	bool dumped = text != NULL;

	free(text);
	if (!dumped || (c->kept == NULL && (c->kept = json_object()) == NULL)) {
		json_decref(value);
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	}
	if (n > LOGIN_KEPT_MAX) {
		json_decref(value);
		return ERR(e, ERR_INVAL, 500, OAUTH_SERVER_ERROR, "what step %s fetched is too long",
			   step->name);
	}
	if (json_object_set_new(c->kept, step->name, value) != 0)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	return 0;
}

const json_t *
login_ctx_kept(const struct login_ctx *c, const struct login_step *step)
{
	return json_object_get(c->kept, step->name);
}

int
login_step_pause(struct login_ctx *c, const struct login_step *step, struct http_req *r,
		 struct http_resp *w, const char **ar, struct err *e)
{
	struct authz_request a;
	int rc;

	*ar = NULL;
	if (c->s == NULL || c->s->sid == NULL)
		return ERR(e, ERR_INVAL, 500, OAUTH_SERVER_ERROR, "no session to pause the login in");
	rc = areq_decode(c->areq, r->arena, &a, e);
	if (rc != 0)
		return rc;
	a.step = step->name;
	a.step_sid = c->s->sid;
	rc = login_pending_store(r, w, &a, e);
	if (rc == 0)
		*ar = a.id;
	return rc;
}

int
login_step_open(const struct login_step *step, struct http_req *r, const char *ar,
		struct login_ctx **out, struct err *e)
{
	struct login_ctx *c = arena_alloc(r->arena, sizeof(*c));
	struct authz_request a;
	int rc;

	*out = NULL;
	session_clear(&c->opened);
	/* This browser's login under this issuer (pending.c checks both). */
	rc = login_pending_load(r, ar, NULL, &a, e);
	if (rc != 0)
		return rc;
	if (a.step == NULL || strcmp(a.step, step->name) != 0 || a.step_sid == NULL)
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
			   "this login is not waiting for this page");
	rc = reg_client_find(login_app(r), a.client_id, &c->client, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
			   "the client is no longer active");
	if (rc != 0)
		return rc;
	/* The person still holds the session the login was paused in. */
	rc = session_load(r, c->client, &c->opened, e);
	if (rc == 0 && (c->opened.sid == NULL || !ct_str_eq(str_c(c->opened.sid), str_c(a.step_sid))))
		rc = ERR_NOTFOUND;
	if (rc != 0) {
		login_step_close(c);
		return rc == ERR_NOTFOUND ? ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
						"the login has expired; start again from the service")
					  : rc;
	}
	a.step = a.step_sid = NULL;
	c->own = areq_encode(&a);
	if (c->own == NULL) {
		login_step_close(c);
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	}
	c->areq = c->own;
	c->s = &c->opened;
	c->ar = arena_strdup(r->arena, ar);
	c->next = login_step_after(login_app(r), step);
	*out = c;
	return 0;
}

void
login_step_close(struct login_ctx *c)
{
	if (c == NULL)
		return;
	reg_client_release(c->client);
	c->client = NULL;
	session_clear(&c->opened);
	login_ctx_drop(c);
	c->areq = NULL;
}

void
login_step_fail(struct login_ctx *c, struct http_req *r, struct http_resp *w, const char *error,
		const char *desc)
{
	struct err e = { 0 };

	if (c->ar != NULL)
		login_pending_spend(r, c->ar, &e);
	c->ar = NULL;
	login_respond(r, w, c->areq, NULL, error, desc);
}

void
login_step_error_page(struct http_req *r, struct http_resp *w, const struct err *e)
{
	login_page_error(r, w, e);
}

const char *
login_step_csrf(struct http_req *r, const char *ar)
{
	return login_csrf(r, ar);
}

bool
login_step_csrf_ok(struct http_req *r, const char *ar, const char *token)
{
	return login_csrf_ok(r, ar, token);
}

void
login_step_cancel_form(struct http_req *r, struct buf *b, const char *lang, const char *ar)
{
	login_cancel_form(r, b, lang, ar);
}

/* One completed login: every write in one transaction, the answer built with it. */
struct complete_run {
	struct http_req *r;
	struct http_resp *w;
	const char *ar;
	const json_t *areq;
	const struct client *client;
	const struct eid_result *res;
	const json_t *fresh;    /* areq marked authenticated */
	struct login_ctx lc;    /* the steps' login, prepared before the transaction */
	struct session s;
	bool spent;             /* the login was over already */
	/*
	 * A spend of this request (in any run) found the login still open:
	 * no other completion has answered its client.  Not reset by a run
	 * that fails after it, nor by a retry whose BEGIN fails.
	 */
	bool found_open;
	bool ended;             /* another person's session ended in this run */
};

static int
complete_body(void *arg, struct err *e)
{
	struct complete_run *c = arg;
	int rc;

	/* A second run (the database went away during the first) starts afresh. */
	http_resp_reset(c->w);
	session_clear(&c->s);
	/*
	 * The pending authorization is spent in this commit: a second
	 * completion (a replay, or two forms at once) finds it spent, and
	 * nothing of this one is written.
	 */
	rc = login_pending_spend(c->r, c->ar, e);
	if (rc != 0) {
		c->spent = rc == ERR_NOTFOUND;
		return rc;
	}
	c->found_open = true;
	rc = session_establish(c->r, c->w, c->client, c->res, &c->s, &c->ended, e);
	if (rc != 0) {
		log_err(c->r->rid, "cannot establish session: %s", e->msg);
		return rc;
	}
	/* The steps and the code know this login went through an eID (not SSO). */
	json_decref(c->lc.own);
	c->lc = (struct login_ctx){ .client = c->client, .areq = c->fresh, .s = &c->s,
				    .kept = c->lc.kept };
	login_steps_run(&c->lc, c->r, c->w);
	/* A login the steps paused or refused keeps its new session all the same. */
	return session_save(c->r, &c->s, e);
}

void
login_complete(struct http_req *r, struct http_resp *w, const char *ar, const json_t *areq,
	       const struct eid_result *res, bool unread)
{
	struct porten *app = login_app(r);
	struct complete_run c = { .r = r, .w = w, .ar = ar, .areq = areq, .res = res };
	struct err e = { 0 };
	const struct client *client = NULL;
	struct authz_request a;
	json_t *fresh = NULL;
	int rc;

	rc = areq_decode(areq, r->arena, &a, &e);
	if (rc == 0)
		rc = reg_client_find(app, a.client_id, &client, &e);
	if (rc == ERR_NOTFOUND) {
		login_respond(r, w, areq, NULL, OAUTH_ACCESS_DENIED, "the client is no longer active");
		return;
	}
	/* The store failed: as at the end below, when nothing was read of the login. */
	if (rc != 0) {
		if (unread)
			login_page_unknown(r, w, &e);
		else
			login_store_failed(r, w, areq, rc, "cannot look up the client", &e);
		return;
	}
	/*
	 * Whatever the eID: its level must be one the request asked for, in
	 * the framework it asked for (an eIDAS login only where eIDAS was).
	 */
	if (!login_session_meets(&(struct session){ .acr = res->acr }, &a)) {
		reg_client_release(client);
		if (login_pending_spend(r, ar, &e) != 0) {
			login_page_unknown(r, w, &e);
			return;
		}
		login_respond(r, w, areq, NULL, OAUTH_ACCESS_DENIED,
			      "the electronic ID did not reach the level asked for");
		return;
	}
	/* The same document, marked authenticated: a copy that shares its members. */
	fresh = json_copy((json_t *)areq);
	if (fresh == NULL || json_object_set_new(fresh, "authenticated", json_true()) != 0) {
		json_decref(fresh);
		reg_client_release(client);
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "out of memory");
		return;
	}
	c.fresh = fresh;
	/*
	 * Every write of a completed login (pending spent, session, event, code)
	 * in one transaction: one commit, and a failed commit leaves nothing
	 * half-done.  A transaction lost with the database (a restart) runs
	 * once more, so the person who just proved who they are gets a code
	 * rather than an error; if that fails too, the client hears
	 * temporarily_unavailable and can start again.  When nothing in this
	 * request learnt that the login was open (unread, and no spend went
	 * through), it may be over with its client answered from another
	 * tab: then the person gets the busy page and the client nothing.
	 */
	c.client = client;
	/*
	 * What the steps fetch from elsewhere (a register over HTTP), before
	 * the transaction: the person is the one the eID names, as the
	 * session will be.
	 */
	c.lc = (struct login_ctx){ .client = client, .areq = fresh,
				   .s = &(struct session){ .pid = res->pid } };
	login_steps_prepare(&c.lc, r);
	rc = store_tx_run(app->store, complete_body, &c, &e);
	if (rc == 0 && c.ended)
		login_bcl_kick();
	if (rc != 0 && (c.spent || (unread && !c.found_open))) {
		http_resp_reset(w);
		login_page_unknown(r, w, &e);
	} else if (rc != 0) {
		http_resp_reset(w);
		login_store_failed(r, w, areq, rc, "cannot complete the login", &e);
	}
	login_ctx_drop(&c.lc);
	session_clear(&c.s);
	json_decref(fresh);
	reg_client_release(client);
}
