/*
 * The eID selector after /authorize (spec/idporten-oidc.md §6, §7) and
 * cancelling a login from any of its pages.
 */
#include <string.h>

#include "core/loa.h"
#include "login/areq.h"
#include "login/login_int.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "ui/pages.h"

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
login_selector_url(struct http_req *r, const char *ar)
{
	return arena_printf(r->arena, "%s/login?ar=%s", login_issuer(r)->prefix, ar);
}

const char *
login_cancel_url(struct http_req *r)
{
	return arena_printf(r->arena, "%s/cancel", login_issuer(r)->prefix);
}

void
login_cancel_form(struct http_req *r, struct buf *b, const char *lang, const char *ar)
{
	page_cancel_form(b, lang, login_cancel_url(r), ar, login_csrf(r, ar));
}

static bool
login_eid_offered(struct http_req *r, const struct eid_provider *p, const struct authz_request *a)
{
	unsigned min = p->eidas ? a->eidas_level : a->min_level ? a->min_level : EID_LEVEL_SUBSTANTIAL;

	if (p->test_only && !login_app(r)->test_env)
		return false;
	/*
	 * eIDAS only when asked for, the Norwegian eIDs only when not nothing
	 * but eIDAS was (spec/ansattporten-eidas-testid.md §2.1).
	 */
	if (p->eidas ? a->eidas_level == 0 : a->eidas_only)
		return false;
	/* Offer an eID that reaches the minimum level or higher (spec §6). */
	return (p->levels & ~(min - 1)) != 0;
}

/*
 * With nothing but eIDAS asked for, the selector is skipped (§2.1): the one
 * eIDAS eID offered, or NULL (none, or several to choose between).
 */
static const struct eid_provider *
login_eidas_direct(struct http_req *r, const struct authz_request *a)
{
	const struct eid_provider *only = NULL;

	if (!a->eidas_only)
		return NULL;
	for (size_t i = 0; eid_providers[i] != NULL; i++)
		if (login_eid_offered(r, eid_providers[i], a)) {
			if (only != NULL)
				return NULL;
			only = eid_providers[i];
		}
	return only;
}

void
login_show_selector(struct http_req *r, struct http_resp *w, const struct authz_request *a,
		    bool answered_elsewhere)
{
	struct porten *app = login_app(r);
	const char *ar, *lang;
	const struct client *client = NULL;
	const struct eid_provider *direct;
	struct err e = { 0 };
	struct buf b;
	int shown = 0;

	ar = a->id;
	direct = login_eidas_direct(r, a);
	if (direct != NULL) {
		http_resp_redirect(w, arena_printf(r->arena, "%s%s?ar=%s", login_issuer(r)->prefix,
						   direct->path, ar));
		return;
	}
	/* ?lang= sets the language cookie when the user picked one. */
	lang = page_lang_choose(r, w, a->locale);
	reg_client_find(app, a->client_id, &client, &e);
	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "Choose electronic ID");
	buf_puts(&b, "<h1>");
	buf_html(&b, str_c(page_text(lang, "Choose electronic ID")));
	buf_puts(&b, "</h1>");
	if (client != NULL) {
		buf_puts(&b, "<p>");
		buf_html(&b, str_c(page_text(lang, "You are logging in to")));
		buf_puts(&b, " <strong>");
		buf_html(&b, str_c(login_client_name(client, a->onbehalfof)));
		buf_puts(&b, "</strong></p>");
	}
	buf_puts(&b, "<ul class=\"eids\" aria-label=\"");
	buf_html(&b, str_c(page_text(lang, "Electronic IDs")));
	buf_puts(&b, "\">");
	for (size_t i = 0; eid_providers[i] != NULL; i++) {
		const struct eid_provider *p = eid_providers[i];

		if (!login_eid_offered(r, p, a))
			continue;
		buf_printf(&b, "<li><a id=\"eid-%s\" href=\"%s%s?ar=%s\">", p->name,
			   login_issuer(r)->prefix, p->path, ar);
		if (p->logo != NULL) {
			buf_puts(&b, "<img src=\"");
			buf_html(&b, str_c(p->logo));
			buf_puts(&b, "\" alt=\"\">");
		}
		buf_html(&b, str_c(p->display));
		buf_puts(&b, "<span>");
		buf_html(&b, str_c(page_text(lang, p->desc_key)));
		buf_puts(&b, "</span></a></li>");
		shown++;
	}
	buf_puts(&b, "</ul>");
	if (shown == 0)
		page_alert(&b, lang, "no-eid",
			   "No electronic ID meets the required level of assurance.");
	login_cancel_form(r, &b, lang, ar);
	/* Answered by /authorize: a reload or Back asks for the selector's own URL. */
	if (answered_elsewhere)
		page_address(w, &b, login_selector_url(r, ar));
	page_end(&b, lang, login_selector_url(r, ar));
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
	reg_client_release(client);
}

void
login_handle_select(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	const char *ar = http_param_c(&r->query, "ar");
	struct authz_request a;

	if (login_pending_load(r, ar, NULL, &a, &e) != 0) {
		login_page_error(r, w, &e);
		return;
	}
	login_show_selector(r, w, &a, false);
}

void
login_handle_cancel(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	json_t *areq = NULL;
	const char *ar = http_param_c(&r->form, "ar");

	if (login_pending_load(r, ar, &areq, NULL, &e) != 0) {
		login_page_error(r, w, &e);
		return;
	}
	if (!login_csrf_ok(r, ar, http_param_c(&r->form, "csrf"))) {
		page_error(r, w, 403, page_lang(r, NULL), OAUTH_INVALID_REQUEST,
			   "the form has expired; start again from the service");
		json_decref(areq);
		return;
	}
	/* Cancelled once: a replayed cancel (or one after the login) gets the page. */
	if (login_pending_spend(r, ar, &e) != 0) {
		login_page_error(r, w, &e);
		json_decref(areq);
		return;
	}
	login_respond(r, w, areq, NULL, OAUTH_ACCESS_DENIED, "the user cancelled the login");
	json_decref(areq);
}
