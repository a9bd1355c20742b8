/*
 * The confirmation prompt in the ID-porten login (spec/krr.md §6): a step
 * of the login core (login/login.h) that, after a new eID authentication
 * of a person whose contact details were last confirmed or changed more
 * than 90 days ago (or who has none), asks to confirm them, change them
 * (a code, as on the self-service pages) or do it later.  It never ends
 * the login: every answer, and every failure of the register, goes on to
 * the next step.  Not after SSO (so never with prompt=none), not without
 * a pid, and only with krr_prompt set.  "Later" records nothing.
 */
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "krr/krr_int.h"
#include "login/login.h"
#include "oauth/oauth.h"
#include "registry/client.h"
#include "sms/sms.h"
#include "ui/pages.h"

#define KRR_PROMPT_MS (90LL * 24 * 3600 * 1000)

static struct porten *
prompt_app(struct http_req *r)
{
	return r->app;
}

static void prompt_post(struct http_req *r, struct http_resp *w);

static const struct http_route prompt_routes[] = {
	{ "POST", "/krr/confirm", prompt_post, NULL },
	{ NULL, NULL, NULL, NULL },
};

/* Is the person's record due for confirmation?  Absent or without details: yes. */
static bool
prompt_due(struct porten *app, const char *pid)
{
	struct krr_person p = { 0 };
	struct err e = { 0 };
	int rc = krr_person_load(app, pid, &p, &e);
	bool due;

	if (rc != 0 && rc != ERR_NOTFOUND) {
		log_warn(NULL, "krr: the prompt is skipped, the register cannot be read: %s", e.msg);
		return false;
	}
	due = rc == ERR_NOTFOUND || p.status != KRR_AKTIV ||
	      krr_contact_confirmed_at(&p) < krr_now_ms() - KRR_PROMPT_MS;
	krr_person_clear(&p);
	return due;
}

struct prompt_view {
	const char *ar, *csrf;
	const char *err, *err_field;
	const char *cid, *sent_to;
};

static void
prompt_render(struct http_req *r, struct http_resp *w, const char *lang, const char *pid,
	      const struct prompt_view *v, int status)
{
	const struct issuer *is = r->route_data;
	const char *action = arena_printf(r->arena, "%s/krr/confirm", is->prefix);
	const char *hidden[] = { "ar", v->ar, "csrf", v->csrf, NULL };
	struct krr_person p = { 0 };
	struct err e = { 0 };
	char masked[300];
	struct buf b;
	bool have = krr_person_load(r->app, pid, &p, &e) == 0 && p.status == KRR_AKTIV &&
		    (p.email.value != NULL || p.mobile.value != NULL);

	buf_init(&b, 1 << 20);
	page_begin(&b, lang, "Are your contact details up to date?");
	buf_puts(&b, "<p>");
	page_put(&b, lang,
		 "Public agencies use these details to reach you. Please confirm them every few months.",
		 NULL, NULL);
	buf_puts(&b, "</p>");
	if (krr_field_err(v->err, v->err_field, "") != NULL)
		page_alert(&b, lang, "error", v->err);
	if (v->cid != NULL) {
		krr_form_code(&b, lang, action, hidden, v->cid, v->sent_to,
			      krr_field_err(v->err, v->err_field, "kode"));
		/* waiting for a code never holds the login up: "later" is here too */
		krr_form_button(&b, lang, action, hidden, "later", "Later", true);
	} else {
		buf_puts(&b, "<dl id=\"current\"><dt>");
		page_put(&b, lang, "E-mail address", NULL, NULL);
		buf_puts(&b, "</dt><dd>");
		krr_mask_email(have ? p.email.value : NULL, masked, sizeof(masked));
		if (have && p.email.value != NULL)
			buf_html(&b, str_c(masked));
		else
			page_put(&b, lang, "Not registered", NULL, NULL);
		buf_puts(&b, "</dd><dt>");
		page_put(&b, lang, "Mobile number", NULL, NULL);
		buf_puts(&b, "</dt><dd>");
		if (have && p.mobile.value != NULL) {
			sms_number_mask(p.mobile.value, masked);
			buf_html(&b, str_c(masked));
		} else {
			page_put(&b, lang, "Not registered", NULL, NULL);
		}
		buf_puts(&b, "</dd></dl><div class=\"actions\">");
		if (have)
			krr_form_button(&b, lang, action, hidden, "confirm", "The details are correct",
					false);
		krr_form_button(&b, lang, action, hidden, "later", "Later", true);
		buf_puts(&b, "</div><h2>");
		page_put(&b, lang, "Change contact details", NULL, NULL);
		buf_puts(&b, "</h2>");
		krr_form_change(&b, lang, action, hidden,
				krr_field_err(v->err, v->err_field, "epost"),
				krr_field_err(v->err, v->err_field, "mobil"));
	}
	login_step_cancel_form(r, &b, lang, v->ar);
	page_end(&b, lang, NULL);
	http_resp_header(w, "Cache-Control", "no-store");
	http_resp_html(w, status, (struct str){ b.p, b.len });
	buf_free(&b);
	krr_person_clear(&p);
}

/* The page's language: the person's choice (cookie), else the login's ui_locales. */
static const char *
prompt_lang(struct http_req *r, const struct login_ctx *c)
{
	return page_lang(r, json_string_value(json_object_get(login_ctx_request(c), "locale")));
}

static int
prompt_enter(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	const char *pid = login_ctx_pid(c), *ar = NULL;
	struct err e = { 0 };

	/* The self-service pages' own login leads to the same details: no prompt on the way. */
	if (!prompt_app(r)->cfg->krr_prompt || pid == NULL || !login_ctx_authenticated(c, r) ||
	    strcmp(login_ctx_client(c)->client_id, KRR_CLIENT_ID) == 0 ||
	    !prompt_due(r->app, pid))
		return 0;
	/* The prompt never blocks a login: when it cannot be shown, the login goes on. */
	if (login_step_pause(c, &krr_prompt_step, r, w, &ar, &e) != 0) {
		log_warn(r->rid, "krr: the prompt is skipped: %s", e.msg);
		return 0;
	}
	prompt_render(r, w, prompt_lang(r, c), pid,
		      &(struct prompt_view){ .ar = ar, .csrf = login_step_csrf(r, ar) }, 200);
	return 1;
}

/* A change asked for in the prompt: the code is sent, the login stays paused. */
static void
prompt_change(struct http_req *r, struct http_resp *w, const char *lang, const char *pid,
	      struct prompt_view *v)
{
	enum krr_code_channel ch;
	const char *value = NULL, *which = NULL, *bad;
	char cid[TOKEN_CHARS + 1];
	struct err e = { 0 };
	int status = 400;

	bad = krr_form_new_value(r, &ch, &value, &which);
	if (bad == NULL && krr_code_send(r->app, pid, ch, value, lang, cid, &e) != 0) {
		log_warn(r->rid, "krr: code not sent: %s", e.msg);
		bad = krr_code_unsent(&e);
		which = "";
		if (e.code == ERR_LIMIT)
			status = 429;
	}
	if (bad != NULL) {
		v->err = bad;
		v->err_field = which;
		prompt_render(r, w, lang, pid, v, status);
		return;
	}
	v->cid = arena_strdup(r->arena, cid);
	v->sent_to = value;
	prompt_render(r, w, lang, pid, v, 200);
}

static void
prompt_post(struct http_req *r, struct http_resp *w)
{
	const char *ar = http_param_c(&r->form, "ar"), *lang = page_lang(r, NULL);
	const char *action = http_param_c(&r->form, "action"), *pid;
	struct prompt_view v = { .ar = ar };
	struct login_ctx *c = NULL;
	struct err e = { 0 };
	int rc;

	if (ar == NULL || login_step_open(&krr_prompt_step, r, ar, &c, &e) != 0) {
		if (e.status == 0)
			(void)ERR(&e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
				  "this login is not waiting for this page");
		login_step_error_page(r, w, &e);
		return;
	}
	if (!login_step_csrf_ok(r, ar, http_param_c(&r->form, "csrf"))) {
		page_error(r, w, 403, lang, OAUTH_INVALID_REQUEST,
			   "the form has expired; start again from the service");
		goto out;
	}
	v.csrf = login_step_csrf(r, ar);
	pid = login_ctx_pid(c);
	lang = prompt_lang(r, c);
	if (action != NULL && (strcmp(action, "email") == 0 || strcmp(action, "mobile") == 0)) {
		prompt_change(r, w, lang, pid, &v);
		goto out;
	}
	if (action != NULL && strcmp(action, "code") == 0) {
		v.cid = http_param_c(&r->form, "cid");
		rc = krr_code_check(r->app, pid, v.cid, http_param_c(&r->form, "kode"), &e);
		if (rc == ERR_DENIED) {
			v.err = "The code is wrong. Try again.";
			v.err_field = "kode";
			v.sent_to = "";
			prompt_render(r, w, lang, pid, &v, 400);
			goto out;
		}
		if (rc != 0) {
			v.cid = NULL;
			v.err = "The code has expired or was already used. Ask for a new one.";
			prompt_render(r, w, lang, pid, &v, 400);
			goto out;
		}
	} else if (action != NULL && strcmp(action, "confirm") == 0) {
		if (krr_contact_confirm(r->app, pid, &e) != 0)
			log_warn(r->rid, "krr: confirmation not stored: %s", e.msg);
	} else if (action == NULL || strcmp(action, "later") != 0) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST, "unknown action");
		goto out;
	}
	login_step_done(c, r, w);
out:
	login_step_close(c);
}

const struct login_step krr_prompt_step = {
	.name = "krr-confirm",
	.issuer_kinds = SERVICE_ISSUER(ISSUER_IDPORTEN),
	.routes = prompt_routes,
	.enter = prompt_enter,
};
