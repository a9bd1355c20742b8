/*
 * The organisation chooser at Ansattporten (spec/ansattporten-eidas-
 * testid.md §1.2-§1.4).  After the eID, a login whose request carries
 * authorization_details of an Altinn type (or, with the pilot on, the
 * scope ansattporten:sjef) pauses at /representation.  The page lists the
 * union of the organisations for which the person holds rights on the
 * requested resources, main units or sub-units as asked, one or several
 * as allowed, and without an organisation unless representation is
 * required.  The posted choice is checked against the register again, so
 * no one can choose an organisation they hold no rights for.  The tokens
 * get authorization_details in the type's exact form, and name.
 */
#include "repr/repr_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "oauth/oauth.h"
#include "ui/pages.h"

#define ORG_PATH "/representation"
#define ORG_AUTHORITY "iso6523-actorid-upis"

static const json_t *
org_details(struct login_ctx *c)
{
	return json_object_get(login_ctx_request(c), "authorization_details");
}

/* The pilot asks through its scope (spec §1.4), behind its setting. */
static bool
org_sjef(struct http_req *r, struct login_ctx *c)
{
	const struct porten *app = r->app;
	const char *scope = json_string_value(json_object_get(login_ctx_request(c), "scope"));

	return app->cfg->ansattporten_sjef_pilot && scope != NULL &&
	       oauth_scope_has(scope, REPR_SJEF_SCOPE);
}

/* Does the login ask for an organisation (the chooser), rather than the person's name only? */
static bool
org_asked(struct http_req *r, struct login_ctx *c)
{
	return org_details(c) != NULL || org_sjef(r, c);
}

/* The person's full name from the register, or NULL (a lookup that fails is no name). */
static json_t *
org_name(struct login_ctx *c, struct http_req *r)
{
	char *name = NULL;
	struct err ignored = { 0 };
	json_t *v;

	if (repr_register(r->app)->person_name(r->app, login_ctx_pid(c), &name, &ignored) != 0 ||
	    name == NULL)
		return NULL;
	v = json_string(name);
	free(name);
	return v;
}

/* name: the person's full name, when the register has one. */
static int
org_name_claim(struct login_ctx *c, struct http_req *r, struct err *e)
{
	json_t *name = org_name(c, r);

	return name != NULL ? login_ctx_claim(c, r, "name", name, e) : 0;
}

/* Before the login's transaction: the name org_enter adds when no organisation is asked. */
static void
org_prepare(struct login_ctx *c, struct http_req *r)
{
	json_t *name = org_asked(r, c) ? NULL : org_name(c, r);
	struct err e = { 0 };

	if (name != NULL && login_ctx_keep(c, &repr_org_step, name, &e) != 0)
		log_err(r->rid, "cannot keep the name: %s", e.msg);
}

static int
org_enter(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	const char *prompt = json_string_value(json_object_get(login_ctx_request(c), "prompt"));
	const json_t *name = login_ctx_kept(c, &repr_org_step);
	struct err e = { 0 };

	if (!org_asked(r, c)) {
		/* name: as org_prepare found it */
		if (name != NULL &&
		    login_ctx_claim(c, r, "name", json_incref((json_t *)name), &e) != 0)
			log_err(r->rid, "cannot add the name: %s", e.msg);
		return 0;
	}
	if (prompt != NULL && strcmp(prompt, "none") == 0) {
		login_step_fail(c, r, w, OAUTH_INTERACTION_REQUIRED,
				"choosing an organisation needs the person");
		return 1;
	}
	return repr_pause(c, &repr_org_step, r, w, ORG_PATH);
}

/* Does o fit what the request asks (main or sub-units, deleted ones)? */
static bool
org_fits(const json_t *o, const struct repr_ask *ask)
{
	bool sub = json_is_string(json_object_get(o, "parent"));

	if (json_is_true(json_object_get(o, "deleted")) && !ask->deleted)
		return false;
	if (ask->form != NULL && strcmp(ask->form, "enterprise") == 0)
		return !sub;
	if (ask->form != NULL && strcmp(ask->form, "business") == 0)
		return sub;
	return true;
}

/*
 * The offer: {"orgs": {orgno: {orgno, name, unit_type, parent, "by":
 * {resource: rights}}}, "names": {resource: name}}, the union over the
 * requested resources in the register's order.
 */
static int
org_collect(struct http_req *r, struct login_ctx *c, const struct repr_ask *ask, json_t **out,
	    struct err *e)
{
	const struct repr_register *reg = repr_register(r->app);
	json_t *orgs = json_object(), *names = json_object();
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < ask->nresource; i++) {
		const char *res = ask->resource[i];
		json_t *ans = NULL, *o;
		size_t j;

		rc = reg->reportees(r->app, login_ctx_pid(c), res, &ans, e);
		if (rc != 0)
			break;
		if (json_is_string(json_object_get(ans, "name")))
			json_object_set(names, res, json_object_get(ans, "name"));
		json_array_foreach(json_object_get(ans, "reportees"), j, o) {
			const char *orgno = json_string_value(json_object_get(o, "orgno"));
			json_t *have = json_object_get(orgs, orgno);

			if (!org_fits(o, ask))
				continue;
			if (have == NULL) {
				have = json_pack("{s:O, s:O, s:O, s:O?, s:{}}", "orgno",
						 json_object_get(o, "orgno"), "name",
						 json_object_get(o, "name"), "unit_type",
						 json_object_get(o, "unit_type"), "parent",
						 json_object_get(o, "parent"), "by");
				json_object_set_new(orgs, orgno, have);
			}
			if (have != NULL)
				json_object_set(json_object_get(have, "by"), res,
						json_object_get(o, "rights"));
		}
		json_decref(ans);
	}
	*out = rc == 0 ? json_pack("{s:o, s:o}", "orgs", orgs, "names", names) : NULL;
	if (rc != 0) {
		json_decref(orgs);
		json_decref(names);
	}
	return rc == 0 && *out == NULL ? ERR(e, ERR_NOMEM, 500, NULL, "out of memory") : rc;
}

/* "123456789" as "123 456 789", the way organisation numbers are read; any other string as it is. */
static const char *
org_spaced(struct http_req *r, const char *orgno)
{
	if (orgno == NULL || strnlen(orgno, 10) != 9)
		return orgno != NULL ? orgno : "";
	return arena_printf(r->arena, "%.3s %.3s %.3s", orgno, orgno + 3, orgno + 6);
}

static void
org_choice(struct http_req *r, struct buf *b, const char *lang, const json_t *o, size_t i,
	   bool multiple)
{
	const char *orgno = json_string_value(json_object_get(o, "orgno"));

	buf_printf(b, "<div class=\"choice\"><input type=\"%s\" name=\"org\" id=\"org-%zu\" value=\"",
		   multiple ? "checkbox" : "radio", i);
	buf_html(b, str_c(orgno));
	buf_printf(b, "\"><label for=\"org-%zu\">", i);
	buf_html(b, str_c(json_string_value(json_object_get(o, "name"))));
	buf_puts(b, " <span class=\"orgno\">");
	page_put(b, lang, "Organisation number {orgno}", "orgno", org_spaced(r, orgno));
	if (json_is_string(json_object_get(o, "parent"))) {
		buf_puts(b, ", ");
		page_put(b, lang, "sub-unit of {orgno}", "orgno",
			 org_spaced(r, json_string_value(json_object_get(o, "parent"))));
	}
	buf_puts(b, "</span></label></div>");
}

static void
org_page(struct http_req *r, struct http_resp *w, struct login_ctx *c, const struct repr_ask *ask,
	 const json_t *offer, const char *ar, const char *error)
{
	const char *lang = repr_lang(r, w, login_ctx_request(c));
	const char *k;
	json_t *o;
	size_t i = 0;
	struct buf b;

	repr_chooser_begin(r, &b, c, lang, ORG_PATH, ar, "Choose organisation",
			   "{client} asks which organisation you act for.", error);
	buf_puts(&b, "<fieldset><legend>");
	buf_html(&b, str_c(page_text(lang, ask->multiple ? "Organisations you may act for (choose one or more)"
							 : "Organisations you may act for")));
	buf_puts(&b, "</legend>");
	json_object_foreach((json_t *)json_object_get(offer, "orgs"), k, o)
		org_choice(r, &b, lang, o, i++, ask->multiple);
	if (!ask->required && !ask->multiple) {
		buf_puts(&b, "<div class=\"choice\"><input type=\"radio\" name=\"org\" id=\"org-none\""
			     " value=\"none\"><label for=\"org-none\">");
		buf_html(&b, str_c(page_text(lang, "Continue without an organisation")));
		buf_puts(&b, "</label></div>");
	}
	buf_puts(&b, "</fieldset>");
	repr_chooser_end(r, w, &b, lang, ORG_PATH, ar, error != NULL);
}

/* One entry of a token object for org o, in the type's form (spec §1.3). */
static json_t *
org_party(const char *type, const json_t *o, const char *resource, const json_t *rights)
{
	const char *orgno = json_string_value(json_object_get(o, "orgno"));
	char id[16];

	snprintf(id, sizeof(id), "0192:%s", orgno);
	if (strcmp(type, REPR_T_RESOURCE) == 0)
		return json_pack("{s:{s:s, s:s}, s:s, s:O, s:O}", "orgno", "authority", ORG_AUTHORITY,
				 "ID", id, "resource", resource + strlen(REPR_RESOURCE_PREFIX),
				 "name", json_object_get(o, "name"), "unit_type",
				 json_object_get(o, "unit_type"));
	return json_pack("{s:O, s:s, s:s, s:O}", "Rights", rights, "Authority", ORG_AUTHORITY,
			 "ID", id, "Name", json_object_get(o, "name"));
}

/* The token object for request object req (NULL for the pilot) and resource, or NULL when no chosen org has rights on it. */
static json_t *
org_token_object(const char *type, const json_t *req, const char *resource, const json_t *offer,
		 const json_t *chosen)
{
	static const char *const echoed[] = { "organizationform", "allow_multiple_organizations",
					      "allow_deleted_organizations",
					      "representation_is_required", NULL };
	bool resource_type = strcmp(type, REPR_T_RESOURCE) == 0;
	json_t *parties = json_array(), *obj, *v;
	size_t i;

	json_array_foreach(chosen, i, v) {
		const json_t *o = json_object_get(json_object_get(offer, "orgs"), json_string_value(v));
		const json_t *rights = json_object_get(json_object_get(o, "by"), resource);

		if (rights != NULL)
			json_array_append_new(parties, org_party(type, o, resource, rights));
	}
	if (json_array_size(parties) == 0) {
		json_decref(parties);
		return NULL;
	}
	obj = json_pack("{s:s, s:s}", "type", type, "resource", resource);
	/* a resource the register has no name for goes without resource_name, never null */
	v = json_object_get(json_object_get(offer, "names"), resource);
	if (obj != NULL && v != NULL)
		json_object_set(obj, "resource_name", v);
	for (i = 0; obj != NULL && req != NULL && echoed[i] != NULL; i++)
		if ((v = json_object_get(req, echoed[i])) != NULL)
			json_object_set(obj, echoed[i], v);
	json_object_set_new(obj, resource_type ? "authorized_parties" : "reportees", parties);
	return obj;
}

/* authorization_details of the tokens for the organisations chosen. */
static json_t *
org_tokens(struct login_ctx *c, const struct repr_ask *ask, const json_t *offer,
	   const json_t *chosen)
{
	const json_t *details = org_details(c), *req;
	json_t *out = json_array(), *obj;
	size_t i;

	if (details == NULL) {
		obj = org_token_object(REPR_T_SJEF, NULL, REPR_SJEF_RESOURCE, offer, chosen);
		if (obj != NULL)
			json_array_append_new(out, obj);
		return out;
	}
	json_array_foreach(details, i, req) {
		obj = org_token_object(ask->type, req,
				       json_string_value(json_object_get(req, "resource")), offer,
				       chosen);
		if (obj != NULL)
			json_array_append_new(out, obj);
	}
	return out;
}

/*
 * The organisations posted: each one on offer, none twice, several only
 * when allowed, "none" alone and only when representation is optional.
 * *chosen the orgnos (empty: none); NULL with a message id when the form
 * is wrong, with ERR_DENIED for a choice never offered (forged).
 */
static int
org_posted(struct http_req *r, const struct repr_ask *ask, const json_t *offer, json_t **chosen,
	   const char **msg, struct err *e)
{
	json_t *list = json_array();
	bool none = false;

	*chosen = NULL;
	for (size_t i = 0; i < r->form.n; i++) {
		const char *v;

		if (!str_eq_c(r->form.v[i].name, "org"))
			continue;
		v = arena_str(r->arena, r->form.v[i].value);
		if (strcmp(v, "none") == 0 && !ask->required && !ask->multiple) {
			none = true;
			continue;
		}
		if (json_object_get(json_object_get(offer, "orgs"), v) == NULL) {
			json_decref(list);
			return ERR(e, ERR_DENIED, 403, OAUTH_ACCESS_DENIED,
				   "you hold no rights for that organisation here");
		}
		for (size_t j = 0; j < json_array_size(list); j++)
			if (strcmp(json_string_value(json_array_get(list, j)), v) == 0) {
				json_decref(list);
				return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "chosen twice");
			}
		json_array_append_new(list, json_string(v));
	}
	if ((none && json_array_size(list) > 0) ||
	    (!ask->multiple && json_array_size(list) > 1)) {
		json_decref(list);
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "choose one organisation");
	}
	if (!none && json_array_size(list) == 0 && (ask->required || !ask->multiple)) {
		json_decref(list);
		*msg = "Choose an organisation.";
		return 0;
	}
	*chosen = list;
	return 0;
}

/* The request's ask and the offer for it; an error page (register away) when it fails. */
static int
org_load(struct http_req *r, struct http_resp *w, struct login_ctx *c, const char *ar,
	 struct repr_ask *ask, json_t **offer)
{
	struct err e = { 0 };

	repr_ask_read(org_details(c), ask);
	if (org_collect(r, c, ask, offer, &e) != 0) {
		log_warn(r->rid, "organisation register: %s", e.msg);
		repr_page_unavailable(r, w, repr_lang(r, w, login_ctx_request(c)), ORG_PATH, ar);
		return -1;
	}
	return 0;
}

/* Go on with what was chosen: the tokens, the event, the next step. */
static void
org_done(struct http_req *r, struct http_resp *w, struct login_ctx *c, const struct repr_ask *ask,
	 const json_t *offer, const json_t *chosen)
{
	struct err e = { 0 };
	json_t *details = json_array_size(chosen) > 0 ? org_tokens(c, ask, offer, chosen) : NULL;
	int rc = org_name_claim(c, r, &e);

	/* no organisation: no event and no authorization_details */
	repr_finish(r, w, c, "organisation", details != NULL ? chosen : NULL, details, details, rc,
		    &e);
	json_decref(details);
}

static void
org_handle_show(struct http_req *r, struct http_resp *w)
{
	struct login_ctx *c = repr_open(&repr_org_step, r, w, false);
	const char *ar = http_param_c(&r->query, "ar");
	struct repr_ask ask;
	json_t *offer = NULL, *none;

	if (c == NULL)
		return;
	if (org_load(r, w, c, ar, &ask, &offer) != 0)
		goto out;
	if (json_object_size(json_object_get(offer, "orgs")) > 0) {
		org_page(r, w, c, &ask, offer, ar, NULL);
	} else if (ask.required) {
		repr_page_none(r, w, repr_lang(r, w, login_ctx_request(c)), ar, "Choose organisation",
			       "You do not act for any organisation with the rights this service "
			       "asks for.");
	} else {
		/* nothing to choose: the login goes on without representation (spec §1.2) */
		none = json_array();
		org_done(r, w, c, &ask, offer, none);
		json_decref(none);
	}
out:
	json_decref(offer);
	login_step_close(c);
}

static void
org_handle_choose(struct http_req *r, struct http_resp *w)
{
	struct login_ctx *c = repr_open(&repr_org_step, r, w, true);
	const char *ar = http_param_c(&r->form, "ar"), *msg = NULL;
	struct repr_ask ask;
	json_t *offer = NULL, *chosen = NULL;
	struct err e = { 0 };

	if (c == NULL)
		return;
	if (http_param_c(&r->form, "unavailable") != NULL) {
		login_step_fail(c, r, w, OAUTH_TEMPORARILY_UNAVAILABLE,
				"the register of rights could not be reached");
		goto out;
	}
	if (org_load(r, w, c, ar, &ask, &offer) != 0)
		goto out;
	if (org_posted(r, &ask, offer, &chosen, &msg, &e) != 0) {
		log_warn(r->rid, "organisation choice refused: %s", e.msg);
		login_step_error_page(r, w, &e);
	} else if (chosen == NULL) {
		org_page(r, w, c, &ask, offer, ar, msg);
	} else {
		org_done(r, w, c, &ask, offer, chosen);
	}
out:
	json_decref(chosen);
	json_decref(offer);
	login_step_close(c);
}

/* The organisation number of a token party, "0192:" + orgno in either form (org_party). */
static const char *
org_party_orgno(const json_t *party)
{
	const json_t *id = json_object_get(party, "ID");
	const char *s;

	if (id == NULL)
		id = json_object_get(json_object_get(party, "orgno"), "ID");
	s = json_string_value(id);
	return s != NULL && strncmp(s, "0192:", 5) == 0 ? s + 5 : NULL;
}

/* Is orgno still among the register's reportees (a deleted unit only when the request allowed those)? */
static bool
org_listed(const json_t *reportees, const char *orgno, bool deleted_ok)
{
	const json_t *o;
	size_t i;

	json_array_foreach(reportees, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "orgno")), orgno) == 0)
			return deleted_ok || !json_is_true(json_object_get(o, "deleted"));
	}
	return false;
}

/* Does every organisation of token object obj still give pid rights on its resource? */
static int
org_still_holds(struct porten *app, const char *pid, const json_t *obj, struct err *e)
{
	const char *resource = json_string_value(json_object_get(obj, "resource"));
	const json_t *parties = json_object_get(obj, "authorized_parties"), *p;
	bool deleted_ok = repr_bool(json_object_get(obj, "allow_deleted_organizations"));
	json_t *ans = NULL;
	size_t i;
	int rc;

	if (parties == NULL)
		parties = json_object_get(obj, "reportees");
	if (resource == NULL)
		return ERR(e, ERR_DENIED, 0, NULL, "the grant's representation names no resource");
	rc = repr_register(app)->reportees(app, pid, resource, &ans, e);
	if (rc != 0)
		return rc;
	json_array_foreach(parties, i, p) {
		const char *orgno = org_party_orgno(p);

		if (orgno == NULL || !org_listed(json_object_get(ans, "reportees"), orgno, deleted_ok)) {
			rc = ERR(e, ERR_DENIED, 0, NULL,
				 "the rights on %.100s for organisation %.9s have ended", resource,
				 orgno != NULL ? orgno : "?");
			break;
		}
	}
	json_decref(ans);
	return rc;
}

/* A refresh (app/service.h): each organisation chosen must still hold (spec §1.1, as §21 at ID-porten). */
static int
org_refresh_check(struct porten *app, const char *pid, const json_t *claims, struct err *e)
{
	const json_t *obj;
	size_t i;
	int rc = 0;

	json_array_foreach(json_object_get(claims, "authorization_details"), i, obj) {
		const char *type = json_string_value(json_object_get(obj, "type"));

		if (type != NULL && (strcmp(type, REPR_T_SERVICE) == 0 ||
				     strcmp(type, REPR_T_RESOURCE) == 0 || strcmp(type, REPR_T_SJEF) == 0))
			rc = org_still_holds(app, pid, obj, e);
		if (rc != 0)
			break;
	}
	return rc;
}

static int
org_rar_check(struct http_req *r, json_t *details, struct err *e)
{
	(void)r;
	return repr_rar_check(ISSUER_ANSATTPORTEN, details, e);
}

static const struct http_route org_routes[] = {
	{ "GET", ORG_PATH, org_handle_show, NULL },
	{ "POST", ORG_PATH, org_handle_choose, NULL },
	{ NULL, NULL, NULL, NULL },
};

static const char *const org_types[] = { REPR_T_SERVICE, REPR_T_RESOURCE, NULL };

const struct login_step repr_org_step = {
	.name = "organisation",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_ANSATTPORTEN),
	.routes = org_routes,
	.enter = org_enter,
	.prepare = org_prepare,
	.rar_types = org_types,
	.rar_check = org_rar_check,
	.refresh_check = org_refresh_check,
};
