/*
 * What the two choosers share: pausing the login and opening it again
 * from a page, the page that says the register is away, the page that
 * says there is nothing to choose, the chooser page's frame, the end of
 * a choice (its event, its claim, the next step).  The pages need no JavaScript: plain forms, labels on every
 * choice, one heading, errors as alerts (ui/pages.h).
 */
#include "repr/repr_int.h"

#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "oauth/oauth.h"
#include "ui/pages.h"

const char *
repr_lang(struct http_req *r, struct http_resp *w, const json_t *areq)
{
	return page_lang_choose(r, w, json_string_value(json_object_get(areq, "locale")));
}

static const char *
repr_prefix(struct http_req *r)
{
	return ((const struct issuer *)r->route_data)->prefix;
}

int
repr_pause(struct login_ctx *c, const struct login_step *step, struct http_req *r,
	   struct http_resp *w, const char *path)
{
	struct err e = { 0 };
	const char *ar = NULL;
	int rc = login_step_pause(c, step, r, w, &ar, &e);

	if (rc != 0) {
		log_err(r->rid, "cannot pause the login for %s: %s", step->name, e.msg);
		login_step_fail(c, r, w,
				rc == ERR_UNAVAILABLE ? OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR,
				"the login could not continue");
		return 1;
	}
	http_resp_redirect(w, arena_printf(r->arena, "%s%s?ar=%s", repr_prefix(r), path, ar));
	return 1;
}

struct login_ctx *
repr_open(const struct login_step *step, struct http_req *r, struct http_resp *w, bool post)
{
	const struct http_params *p = post ? &r->form : &r->query;
	const char *ar = http_param_c(p, "ar");
	struct login_ctx *c = NULL;
	struct err e = { 0 };

	if (r->bad_input || ar == NULL) {
		(void)ERR(&e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "the page needs its login");
		login_step_error_page(r, w, &e);
		return NULL;
	}
	if (login_step_open(step, r, ar, &c, &e) != 0) {
		login_step_error_page(r, w, &e);
		return NULL;
	}
	if (post && !login_step_csrf_ok(r, ar, http_param_c(p, "csrf"))) {
		login_step_close(c);
		(void)ERR(&e, ERR_DENIED, 403, OAUTH_INVALID_REQUEST, "the form has expired");
		login_step_error_page(r, w, &e);
		return NULL;
	}
	return c;
}

void
repr_form_open(struct http_req *r, struct buf *b, const char *path, const char *ar)
{
	buf_printf(b, "<form id=\"repr-form\" method=\"post\" action=\"%s%s\">", repr_prefix(r),
		   path);
	page_hidden(b, "ar", ar);
	page_hidden(b, "csrf", login_step_csrf(r, ar));
}

void
repr_form_close(struct buf *b, const char *lang, const char *label_msgid)
{
	buf_puts(b, "<div class=\"actions\"><button type=\"submit\">");
	buf_html(b, str_c(page_text(lang, label_msgid)));
	buf_puts(b, "</button></div></form>");
}

/* The page's head: its title as the one heading, then text as an alert (none when NULL). */
static void
repr_page_head(struct buf *b, const char *lang, const char *title, const char *text)
{
	page_begin(b, lang, title);
	buf_puts(b, "<h1>");
	buf_html(b, str_c(page_text(lang, title)));
	buf_puts(b, "</h1>");
	if (text != NULL)
		page_alert(b, lang, "repr-error", text);
}

void
repr_chooser_begin(struct http_req *r, struct buf *b, struct login_ctx *c, const char *lang,
		   const char *path, const char *ar, const char *title, const char *asks_msgid,
		   const char *error)
{
	const char *cname = login_ctx_client(c)->client_name;

	buf_init(b, HTTP_MAX_RESPONSE);
	repr_page_head(b, lang, title, error);
	buf_puts(b, "<p>");
	page_put(b, lang, asks_msgid, "client", cname ? cname : login_ctx_client(c)->client_id);
	buf_puts(b, "</p>");
	repr_form_open(r, b, path, ar);
}

void
repr_chooser_end(struct http_req *r, struct http_resp *w, struct buf *b, const char *lang,
		 const char *path, const char *ar, bool error)
{
	repr_form_close(b, lang, "Continue");
	login_step_cancel_form(r, b, lang, ar);
	page_end(b, lang, arena_printf(r->arena, "%s%s?ar=%s", repr_prefix(r), path, ar));
	http_resp_html(w, error ? 400 : 200, (struct str){ b->p, b->len });
	buf_free(b);
}

void
repr_page_unavailable(struct http_req *r, struct http_resp *w, const char *lang,
		      const char *path, const char *ar)
{
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	repr_page_head(&b, lang, "The register is not available",
		       "The register of rights could not be reached. Please try again later.");
	repr_form_open(r, &b, path, ar);
	page_hidden(&b, "unavailable", "1");
	repr_form_close(&b, lang, "Back to the service");
	page_end(&b, lang, NULL);
	http_resp_html(w, 503, (struct str){ b.p, b.len });
	buf_free(&b);
}

void
repr_page_none(struct http_req *r, struct http_resp *w, const char *lang, const char *ar,
	       const char *title, const char *text)
{
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	repr_page_head(&b, lang, title, text);
	login_step_cancel_form(r, &b, lang, ar);
	page_end(&b, lang, NULL);
	http_resp_html(w, 403, (struct str){ b.p, b.len });
	buf_free(&b);
}

/* The event of a chosen representation (events facet, type "representation"), or NULL. */
static json_t *
repr_event_doc(struct http_req *r, struct login_ctx *c, const char *kind, const json_t *whom,
	       const json_t *rights)
{
	char tag[APP_PERSON_TAG_LEN];

	/* the person as in the login history (a tag, not the number) */
	app_person_tag(r->app, login_ctx_pid(c), tag);
	return json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:I}", "kind", kind, "person", tag,
			 "client_id", login_ctx_client(c)->client_id, "issuer",
			 ((const struct issuer *)r->route_data)->iss, "for", whom, "rights", rights,
			 "time", (json_int_t)time_now());
}

struct repr_event_tx {
	struct store *store;
	const json_t *ev;
};

static int
repr_event_write(void *arg, struct err *e)
{
	const struct repr_event_tx *x = arg;

	return store_event_add_tree(x->store, "representation", x->ev, e);
}

void
repr_finish(struct http_req *r, struct http_resp *w, struct login_ctx *c, const char *kind,
	    const json_t *whom, const json_t *rights, json_t *details, int rc, struct err *e)
{
	struct porten *app = r->app;
	json_t *ev = NULL;

	if (rc == 0 && whom != NULL && (ev = repr_event_doc(r, c, kind, whom, rights)) == NULL)
		rc = ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	if (rc == 0 && details != NULL)
		rc = login_ctx_claim(c, r, "authorization_details", json_incref(details), e);
	if (rc != 0) {
		log_err(r->rid, "cannot finish the %s choice: %s", kind, e->msg);
		login_step_fail(c, r, w,
				rc == ERR_UNAVAILABLE ? OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR,
				"the choice could not be recorded");
		json_decref(ev);
		return;
	}
	/* The event commits with the spend of the login and its code: a replay writes none. */
	login_step_done_with(c, r, w, ev != NULL ? repr_event_write : NULL,
			     &(struct repr_event_tx){ app->store, ev });
	json_decref(ev);
}
