/*
 * The door in front of every eID page (eid/eid.h): it finds the page the
 * request is for, and for a page inside a login loads the pending
 * authorization, checks the browser binding and the CSRF token of a form,
 * and hands the page the flow.  The host behind the flow finishes the
 * login (login_complete) or ends it with an error for the client.
 */
#include <string.h>

#include "app/service.h"
#include "core/crypto.h"
#include "core/log.h"
#include "login/areq.h"
#include "login/login_int.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "ui/pages.h"

static void door_complete(const struct eid_flow *flow, struct http_req *r, struct http_resp *w,
			  const struct eid_result *res);
static void door_fail(const struct eid_flow *flow, struct http_req *r, struct http_resp *w,
		      const struct err *why);
static int door_open(struct http_req *r, const char *ar, struct eid_flow *out, struct err *e);

static const struct eid_host login_eid_host = {
	.complete = door_complete,
	.fail = door_fail,
	.open = door_open,
	.end_sessions = session_end_person,
};

/* What the door keeps for the host's calls during the page (flow->core). */
struct door_core {
	json_t *areq;   /* the pending request it loaded */
	bool unread;    /* its spent mark was not read (EID_DOOR_FORM's POST) */
};

/* The flow of pending ar with its decoded request a (strings in the request's arena). */
static void
door_flow(struct http_req *r, const char *ar, const struct authz_request *a,
	  struct eid_flow *out)
{
	const struct client *client = NULL;
	struct err ce = { 0 };

	*out = (struct eid_flow){
		.ar = arena_strdup(r->arena, ar),
		.locale = a->locale,
		.csrf = login_csrf(r, ar),
		.cancel_url = login_cancel_url(r),
		.min_level = a->min_level ? a->min_level : EID_LEVEL_SUBSTANTIAL,
		.eidas_level = a->eidas_level,
		.fresh = areq_forces_login(a) || a->max_age == 0,
		.max_age = a->max_age >= 0 ? a->max_age : -1,
		.host = &login_eid_host,
	};
	if (reg_client_find(r->app, a->client_id, &client, &ce) == 0)
		out->client_name = arena_strdup(r->arena, login_client_name(client, a->onbehalfof));
	reg_client_release(client);
}

static int
door_open(struct http_req *r, const char *ar, struct eid_flow *out, struct err *e)
{
	struct authz_request a;
	int rc = login_pending_load(r, ar, NULL, &a, e);

	if (rc == 0)
		door_flow(r, ar, &a, out);
	return rc;
}

/*
 * The pending request of flow: the one the door loaded for this page
 * (a new reference), else read again (a page that joined with open).
 */
static int
door_areq(const struct eid_flow *flow, struct http_req *r, json_t **areq, struct err *e)
{
	const struct door_core *dc = flow->core;

	if (dc != NULL) {
		*areq = json_incref(dc->areq);
		return 0;
	}
	return login_pending_load(r, flow->ar, areq, NULL, e);
}

/* Whether the door left the spent mark of flow's login unread. */
static bool
door_unread(const struct eid_flow *flow)
{
	const struct door_core *dc = flow->core;

	return dc != NULL && dc->unread;
}

static void
door_complete(const struct eid_flow *flow, struct http_req *r, struct http_resp *w,
	      const struct eid_result *res)
{
	struct err e = { 0 };
	json_t *areq = NULL;

	if (door_areq(flow, r, &areq, &e) != 0) {
		login_page_error(r, w, &e);
		return;
	}
	login_complete(r, w, flow->ar, areq, res, door_unread(flow));
	json_decref(areq);
}

static void
door_fail(const struct eid_flow *flow, struct http_req *r, struct http_resp *w,
	  const struct err *why)
{
	struct err e = { 0 };
	json_t *areq = NULL;
	int rc;

	if (door_areq(flow, r, &areq, &e) != 0) {
		login_page_error(r, w, &e);
		return;
	}
	/*
	 * The pending authorization is spent: the client hears why and may
	 * start again.  One that was over already (finished in another tab)
	 * gets the finished page; one the store could not spend, with nothing
	 * read of it in this request, the busy page: its client may have had
	 * its answer.
	 */
	rc = login_pending_spend(r, flow->ar, &e);
	if (rc == ERR_NOTFOUND || (rc != 0 && door_unread(flow))) {
		json_decref(areq);
		login_page_unknown(r, w, &e);
		return;
	}
	if (rc != 0)
		log_warn(r->rid, "pending authorization not removed: %s", e.msg);
	log_info(r->rid, "eID gave up on the login: %s", why->msg);
	login_respond(r, w, areq, NULL, why->oauth ? why->oauth : OAUTH_ACCESS_DENIED,
		      why->msg[0] ? why->msg : "the login was not completed");
	json_decref(areq);
}

void
login_eid_serve(struct http_req *r, struct http_resp *w, const struct eid_provider *p,
		const struct eid_route *er)
{
	bool post = strcmp(r->method, "POST") == 0;
	const struct http_params *params = post ? &r->form : &r->query;
	struct eid_flow flow = { .host = &login_eid_host };
	struct door_core core = { 0 };
	struct authz_request a;
	struct porten *app = r->app;
	struct err e = { 0 };
	json_t *areq = NULL;
	const char *ar;
	int rc;

	if (p->test_only && !app->test_env) {
		page_error(r, w, 404, page_lang(r, NULL), "not_found",
			   arena_printf(r->arena, "%s is not offered here", p->display));
		return;
	}
	switch (er->door) {
	case EID_DOOR_NONE:
		er->fn(r, w, NULL);
		return;
	case EID_DOOR_OWN:
		er->fn(r, w, &flow);
		return;
	case EID_DOOR_LOGIN:
	case EID_DOOR_FORM:
		break;
	}
	if (r->bad_input) {
		page_error(r, w, 400, page_lang(r, NULL), OAUTH_INVALID_REQUEST, r->input_err.msg);
		return;
	}
	ar = http_param_c(params, "ar");
	core.unread = post && er->door == EID_DOOR_FORM;
	rc = core.unread ? login_pending_load_to_end(r, ar, &areq, &a, &e)
			 : login_pending_load(r, ar, &areq, &a, &e);
	if (rc != 0) {
		login_page_error(r, w, &e);
		goto out;
	}
	door_flow(r, ar, &a, &flow);
	/* The flow's token is this login's in this browser (computed once): a form carries it. */
	if (post && !ct_str_eq(str_c(http_param_c(params, "csrf")), str_c(flow.csrf))) {
		page_error(r, w, 403, page_lang(r, NULL), OAUTH_INVALID_REQUEST,
			   "the form has expired; start again from the service");
		goto out;
	}
	core.areq = areq;
	flow.core = &core;
	er->fn(r, w, &flow);
out:
	json_decref(areq);
}

/* Does the request's path name path under the issuer's prefix? */
static bool
door_path_is(const struct http_req *r, const char *prefix, const char *path)
{
	size_t np = strlen(prefix), n = strlen(path);

	return r->path.len == np + n && memcmp(r->path.p, prefix, np) == 0 &&
	       memcmp(r->path.p + np, path, n) == 0;
}

void
login_eid_door(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;

	for (size_t i = 0; eid_providers[i] != NULL; i++)
		for (const struct eid_route *er = eid_providers[i]->routes; er && er->fn; er++)
			if (strcmp(r->method, er->method) == 0 &&
			    door_path_is(r, is->prefix, er->path)) {
				login_eid_serve(r, w, eid_providers[i], er);
				return;
			}
	page_error(r, w, 404, page_lang(r, NULL), "not_found", "no such page");
}

int
login_eid_mount(const struct issuer *is, struct service_routes *out, struct err *e)
{
	for (size_t i = 0; eid_providers[i] != NULL; i++)
		for (const struct eid_route *er = eid_providers[i]->routes; er && er->fn; er++) {
			int rc = service_route_add(out, er->method, er->path, login_eid_door, e);

			if (rc != 0)
				return rc;
		}
	return 0;
}
