/*
 * The fullmakt chooser at ID-porten (spec/idporten-oidc.md §21).  After
 * the eID (or SSO), a login whose request carries idporten:fullmakt
 * pauses at /fullmakt.  The page lists the authorizers the person may act
 * for in at least one of the requested roles (fullmakts valid now only),
 * and "myself".  The posted choice is checked against the register again;
 * the tokens and the token response get authorization_details (the
 * authorizer, the representative, the permissions asked for), or an empty
 * list for "myself".  The SSO session stays the person's own: nothing of
 * the choice is written to it.
 */
#include "repr/repr_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "oauth/oauth.h"
#include "ui/pages.h"

#define FM_PATH "/fullmakt"
#define FM_MYSELF "myself"

static const json_t *
fm_roles(struct login_ctx *c)
{
	return json_object_get(json_array_get(json_object_get(login_ctx_request(c),
							      "authorization_details"),
					      0),
			       "permission_roles");
}

static int
fm_enter(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	const char *prompt = json_string_value(json_object_get(login_ctx_request(c), "prompt"));

	if (fm_roles(c) == NULL)
		return 0;
	/* A foreign person the person register did not match has no fullmakts here. */
	if (login_ctx_pid(c) == NULL) {
		login_step_fail(c, r, w, OAUTH_ACCESS_DENIED,
				"acting for another needs a Norwegian identity number");
		return 1;
	}
	if (prompt != NULL && strcmp(prompt, "none") == 0) {
		login_step_fail(c, r, w, OAUTH_INTERACTION_REQUIRED,
				"choosing whom to act for needs the person");
		return 1;
	}
	return repr_pause(c, &repr_fullmakt_step, r, w, FM_PATH);
}

static bool
fm_role_asked(const json_t *roles, const char *role)
{
	const json_t *v;
	size_t i;

	json_array_foreach(roles, i, v) {
		if (strcmp(json_string_value(v), role) == 0)
			return true;
	}
	return false;
}

/*
 * The authorizers the person may act for: [{authorizer, name, permissions}]
 * with only the permissions whose role was asked, and only those left
 * with one (the roles are read as OR).
 */
static int
fm_offer(struct http_req *r, struct login_ctx *c, json_t **out, struct err *e)
{
	const json_t *roles = fm_roles(c);
	json_t *all = NULL, *o, *p;
	size_t i, j;
	int rc;

	*out = NULL;
	rc = repr_register(r->app)->fullmakts(r->app, login_ctx_pid(c), &all, e);
	if (rc != 0)
		return rc;
	*out = json_array();
	json_array_foreach(all, i, o) {
		json_t *perms = json_array();

		json_array_foreach(json_object_get(o, "permissions"), j, p) {
			if (fm_role_asked(roles, json_string_value(json_object_get(p, "role"))))
				json_array_append_new(perms, json_pack("{s:O, s:O}", "owner",
								       json_object_get(p, "owner"),
								       "role",
								       json_object_get(p, "role")));
		}
		if (json_array_size(perms) > 0)
			json_array_append_new(*out, json_pack("{s:O, s:O?, s:o}", "authorizer",
							      json_object_get(o, "authorizer"),
							      "name", json_object_get(o, "name"),
							      "permissions", perms));
		else
			json_decref(perms);
	}
	json_decref(all);
	return 0;
}

static void
fm_choice(struct buf *b, const char *id, const char *value, const char *label)
{
	buf_printf(b, "<div class=\"choice\"><input type=\"radio\" name=\"whom\" id=\"%s\" value=\"",
		   id);
	buf_html(b, str_c(value));
	buf_printf(b, "\"><label for=\"%s\">", id);
	buf_html(b, str_c(label));
	buf_puts(b, "</label></div>");
}

static void
fm_page(struct http_req *r, struct http_resp *w, struct login_ctx *c, const json_t *offer,
	const char *ar, const char *error)
{
	const char *lang = repr_lang(r, w, login_ctx_request(c));
	json_t *o;
	size_t i;
	struct buf b;

	repr_chooser_begin(r, &b, c, lang, FM_PATH, ar, "Act on behalf of someone",
			   "{client} asks whom you act for.", error);
	buf_puts(&b, "<fieldset><legend>");
	buf_html(&b, str_c(page_text(lang, "Whom do you act for?")));
	buf_puts(&b, "</legend>");
	json_array_foreach(offer, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));

		fm_choice(&b, arena_printf(r->arena, "whom-%zu", i),
			  json_string_value(json_object_get(o, "authorizer")),
			  name != NULL ? name : page_text(lang, "A person without a name in the register"));
	}
	fm_choice(&b, "whom-myself", FM_MYSELF, page_text(lang, "Myself"));
	buf_puts(&b, "</fieldset>");
	repr_chooser_end(r, w, &b, lang, FM_PATH, ar, error != NULL);
}

/* The offer, or the page saying the register is away. */
static int
fm_load(struct http_req *r, struct http_resp *w, struct login_ctx *c, const char *ar,
	json_t **offer)
{
	struct err e = { 0 };

	if (fm_offer(r, c, offer, &e) != 0) {
		log_warn(r->rid, "fullmakt register: %s", e.msg);
		repr_page_unavailable(r, w, repr_lang(r, w, login_ctx_request(c)), FM_PATH, ar);
		return -1;
	}
	return 0;
}

static void
fm_handle_show(struct http_req *r, struct http_resp *w)
{
	struct login_ctx *c = repr_open(&repr_fullmakt_step, r, w, false);
	const char *ar = http_param_c(&r->query, "ar");
	json_t *offer = NULL;

	if (c == NULL)
		return;
	if (fm_load(r, w, c, ar, &offer) != 0)
		goto out;
	if (json_array_size(offer) == 0)
		/* spec §21 step 3: no relationship, a page and the cancel link */
		repr_page_none(r, w, repr_lang(r, w, login_ctx_request(c)), ar,
			       "Act on behalf of someone",
			       "You may not act on behalf of anyone for this service.");
	else
		fm_page(r, w, c, offer, ar, NULL);
out:
	json_decref(offer);
	login_step_close(c);
}

/* The token object for authorizer o, the person logged in the representative. */
static json_t *
fm_token(struct http_req *r, struct login_ctx *c, const json_t *o)
{
	char *name = NULL;
	struct err ignored = { 0 };
	json_t *obj;

	(void)repr_register(r->app)->person_name(r->app, login_ctx_pid(c), &name, &ignored);
	obj = json_pack("[{s:s, s:{s:O?, s:O}, s:{s:s?, s:s}, s:O}]", "type", REPR_T_FULLMAKT,
			"authorizer", "name", json_object_get(o, "name"), "pid",
			json_object_get(o, "authorizer"), "authorized_representative", "name", name,
			"pid", login_ctx_pid(c), "permissions", json_object_get(o, "permissions"));
	free(name);
	return obj;
}

/* The authorizer posted, or NULL for myself; ERR_DENIED when it is not on offer (forged). */
static int
fm_posted(struct http_req *r, const json_t *offer, const json_t **out, struct err *e)
{
	const char *whom = http_param_c(&r->form, "whom");
	const json_t *o;
	size_t i;

	*out = NULL;
	if (whom == NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "nothing chosen");
	if (strcmp(whom, FM_MYSELF) == 0)
		return 0;
	json_array_foreach(offer, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "authorizer")), whom) == 0) {
			*out = o;
			return 0;
		}
	}
	return ERR(e, ERR_DENIED, 403, OAUTH_ACCESS_DENIED, "you may not act for that person here");
}

static void
fm_done(struct http_req *r, struct http_resp *w, struct login_ctx *c, const json_t *o)
{
	struct err e = { 0 };
	json_t *details = o != NULL ? fm_token(r, c, o) : json_array(), *whom = NULL;
	char tag[APP_PERSON_TAG_LEN];
	int rc;

	/* the event names the authorizer as the login history does a person: by tag */
	if (o != NULL) {
		app_person_tag(r->app, json_string_value(json_object_get(o, "authorizer")), tag);
		whom = json_pack("[s]", tag);
	}
	rc = details == NULL || (o != NULL && whom == NULL) ?
		     ERR(&e, ERR_NOMEM, 500, NULL, "out of memory") : 0;
	/* "myself": no event, and an empty authorization_details */
	repr_finish(r, w, c, "fullmakt", whom, json_object_get(o, "permissions"), details, rc, &e);
	json_decref(details);
	json_decref(whom);
}

static void
fm_handle_choose(struct http_req *r, struct http_resp *w)
{
	struct login_ctx *c = repr_open(&repr_fullmakt_step, r, w, true);
	const char *ar = http_param_c(&r->form, "ar");
	const json_t *chosen = NULL;
	json_t *offer = NULL;
	struct err e = { 0 };
	int rc;

	if (c == NULL)
		return;
	if (http_param_c(&r->form, "unavailable") != NULL) {
		login_step_fail(c, r, w, OAUTH_TEMPORARILY_UNAVAILABLE,
				"the fullmakt register could not be reached");
		goto out;
	}
	if (fm_load(r, w, c, ar, &offer) != 0)
		goto out;
	rc = fm_posted(r, offer, &chosen, &e);
	if (rc == ERR_INVAL) {
		fm_page(r, w, c, offer, ar, "Choose whom you act for.");
	} else if (rc != 0) {
		log_warn(r->rid, "fullmakt choice refused: %s", e.msg);
		login_step_error_page(r, w, &e);
	} else {
		fm_done(r, w, c, chosen);
	}
out:
	json_decref(offer);
	login_step_close(c);
}

/* Does the register's entry o still grant permission p ({owner, role})? */
static bool
fm_grants(const json_t *o, const json_t *p)
{
	const json_t *q;
	size_t i;

	json_array_foreach(json_object_get(o, "permissions"), i, q) {
		if (json_equal(json_object_get(q, "owner"), json_object_get(p, "owner")) &&
		    json_equal(json_object_get(q, "role"), json_object_get(p, "role")))
			return true;
	}
	return false;
}

/* Does a fullmakt valid now (all) still give every permission of token object obj? */
static bool
fm_still_holds(const json_t *all, const json_t *obj)
{
	const char *authorizer = json_string_value(json_object_get(json_object_get(obj, "authorizer"),
								   "pid"));
	const json_t *o, *p;
	size_t i, j;

	json_array_foreach(all, i, o) {
		if (authorizer == NULL ||
		    strcmp(json_string_value(json_object_get(o, "authorizer")), authorizer) != 0)
			continue;
		json_array_foreach(json_object_get(obj, "permissions"), j, p) {
			if (!fm_grants(o, p))
				return false;
		}
		return true;
	}
	return false;
}

/* A refresh (app/service.h, spec §21): the relationship is checked again; ended: invalid_grant. */
static int
fm_refresh_check(struct porten *app, const char *pid, const json_t *claims, struct err *e)
{
	const json_t *obj;
	json_t *all = NULL;
	size_t i;
	int rc = 0;

	json_array_foreach(json_object_get(claims, "authorization_details"), i, obj) {
		const char *type = json_string_value(json_object_get(obj, "type"));

		if (type == NULL || strcmp(type, REPR_T_FULLMAKT) != 0)
			continue;
		if (all == NULL && (rc = repr_register(app)->fullmakts(app, pid, &all, e)) != 0)
			break;
		if (!fm_still_holds(all, obj)) {
			rc = ERR(e, ERR_DENIED, 0, NULL, "the fullmakt has ended");
			break;
		}
	}
	json_decref(all);
	return rc;
}

static int
fm_rar_check(struct http_req *r, json_t *details, struct err *e)
{
	(void)r;
	return repr_rar_check(ISSUER_IDPORTEN, details, e);
}

static const struct http_route fm_routes[] = {
	{ "GET", FM_PATH, fm_handle_show, NULL },
	{ "POST", FM_PATH, fm_handle_choose, NULL },
	{ NULL, NULL, NULL, NULL },
};

static const char *const fm_types[] = { REPR_T_FULLMAKT, NULL };

const struct login_step repr_fullmakt_step = {
	.name = "fullmakt",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_IDPORTEN),
	.routes = fm_routes,
	.enter = fm_enter,
	.rar_types = fm_types,
	.rar_check = fm_rar_check,
	.refresh_check = fm_refresh_check,
};
