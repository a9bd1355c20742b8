/*
 * Finishing a login (spec/idporten-oidc.md §7): after the eID, the SSO
 * session, the steps (consent last), then a code for the client in one
 * transaction with the session's note of it.
 */
#include <string.h>

#include "core/crypto.h"
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
 * onbehalfof entry's organisation when the login named one, else the
 * client's.
 */
static const char *
login_customer(const struct client *client, const char *onbehalfof)
{
	const char *org = json_string_value(
		json_object_get(reg_client_onbehalfof(client, onbehalfof), "orgno"));

	return org != NULL ? org : client->client_orgno;
}

/*
 * The one event of a completed authentication (spec/billing.md §2),
 * written with the code it ends in: an eID login (sso false), or one
 * served by an SSO session (sso true, never billed).  TestID and every
 * login in the test environment are counted and never billed.
 */
static json_t *
login_event(struct http_req *r, const struct client *client, const struct authz_request *a,
	    const struct session *s)
{
	struct porten *app = login_app(r);
	bool sso = !a->authenticated;
	bool test = app->test_env || (s->eid != NULL && strcmp(s->eid, "testid") == 0);
	char tag[APP_PERSON_TAG_LEN];

	/* spec/selfservice-api.md §11: the person's login history finds it by the tag. */
	app_person_tag(app, s->pid, tag);
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:b, s:b, s:b, s:I, s:s, s:s?}",
			 "client_id", client->client_id, "client_orgno", client->client_orgno,
			 "customer", login_customer(client, a->onbehalfof), "onbehalfof",
			 a->onbehalfof, "eid", s->eid, "acr", s->acr, "issuer",
			 login_issuer(r)->iss, "sso", sso, "test", test, "billable", !sso && !test,
			 "time", (json_int_t)time_now(), "person", tag, "client_name",
			 client->client_name);
}

struct code_write {
	struct http_req *r;
	struct session *s;
	const struct client *client;
	const char *code, *grant_id;
	const json_t *doc, *event;
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
	json_t *doc, *ev, *res = NULL;
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
	doc = oauth_code_encode(&(struct auth_code){
		.g = { .client_id = a.client_id, .scope = a.scope, .nonce = a.nonce,
		       .locale = a.locale, .onbehalfof = a.onbehalfof, .resource = res,
		       .sid = s->sid, .pid = s->pid, .acr = s->acr,
		       .amr = s->namr > 0 ? s->amr[0] : NULL,
		       .auth_time = s->auth_time == SESSION_NO_TIME ? 0 : s->auth_time,
		       .eid = s->eid, .iss = login_issuer(r)->iss,
		       .session_kind = client->sso_disabled ? "client" : "shared" },
		.redirect_uri = a.redirect_uri, .code_challenge = a.code_challenge });
	json_decref(res);
	ev = login_event(r, client, &a, s);
	if (doc == NULL || ev == NULL) {
		json_decref(doc);
		json_decref(ev);
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "out of memory");
		return;
	}
	/* The code, the session's note of it and the event: one commit, or none. */
	{
		struct code_write cw = { r, s, client, code, grant_id, doc, ev };

		rc = store_tx_run(app->store, code_write_body, &cw, &e);
	}
	json_decref(doc);
	json_decref(ev);
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

/* Run the steps from c->next that apply to this issuer, then issue the code. */
static void
login_steps_run(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	unsigned kind = 1u << login_issuer(r)->kind;

	while (login_steps[c->next] != NULL) {
		const struct login_step *st = login_steps[c->next++];

		if ((st->issuer_kinds & kind) != 0 && st->enter(c, r, w) != 0)
			return;
	}
	login_issue(c, r, w);
}

void
login_issue_now(struct http_req *r, struct http_resp *w, const struct client *client,
		const json_t *areq, struct session *s)
{
	struct login_ctx c = { .client = client, .areq = areq, .s = s };

	login_issue(&c, r, w);
}

void
login_step_done(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	login_steps_run(c, r, w);
}

void
login_finish(struct http_req *r, struct http_resp *w, const struct client *client, const json_t *areq,
	     struct session *s)
{
	struct login_ctx c = { .client = client, .areq = areq, .s = s };

	login_steps_run(&c, r, w);
}

void
login_resume_after(const struct login_step *step, struct http_req *r, struct http_resp *w,
		   const struct client *client, const json_t *areq, struct session *s)
{
	struct login_ctx c = { .client = client, .areq = areq, .s = s };

	while (login_steps[c.next] != NULL && login_steps[c.next++] != step)
		;
	login_step_done(&c, r, w);
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
	struct session s;
};

static int
complete_body(void *arg, struct err *e)
{
	struct complete_run *c = arg;
	struct porten *app = login_app(c->r);
	int rc;

	/* A second run (the database went away during the first) starts afresh. */
	http_resp_reset(c->w);
	session_clear(&c->s);
	/* The pending authorization is spent whatever happens next. */
	store_call(app->store, login, doc_delete, "pending", c->ar, e);
	rc = session_establish(c->r, c->w, c->client, c->res, &c->s, e);
	if (rc != 0) {
		log_err(c->r->rid, "cannot establish session: %s", e->msg);
		return rc;
	}
	/* The steps and the code know this login went through an eID (not SSO). */
	login_finish(c->r, c->w, c->client, c->fresh, &c->s);
	return 0;
}

void
login_complete(struct http_req *r, struct http_resp *w, const char *ar, const json_t *areq,
	       const struct eid_result *res)
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
	if (rc != 0) {
		login_respond(r, w, areq, NULL, OAUTH_ACCESS_DENIED, "the client is no longer active");
		return;
	}
	a.authenticated = true;
	fresh = areq_encode(&a);
	if (fresh == NULL) {
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
	 * temporarily_unavailable and can start again.
	 */
	c.client = client;
	rc = store_tx_run(app->store, complete_body, &c, &e);
	if (rc != 0) {
		http_resp_reset(w);
		login_store_failed(r, w, areq, rc, "cannot complete the login", &e);
	}
	session_clear(&c.s);
	json_decref(fresh);
	reg_client_release(client);
}
