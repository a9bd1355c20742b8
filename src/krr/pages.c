/*
 * The self-service pages (spec/krr.md §5, "MinProfil") under the
 * ID-porten issuer: after an ID-porten login the person sees and changes
 * e-mail, mobile number, reservation and language.  Server-rendered with
 * the page kit, no JavaScript; every form carries the page session's CSRF
 * token.
 *
 * The pages are an OIDC client of the ID-porten issuer (a public client
 * with PKCE, registered at start-up), whose code is redeemed in process
 * (oauth_call_form): they log people in exactly as any service does, SSO
 * and the eIDs included, and reach nothing inside the login core.  The
 * person's page session is a short-lived document of the register named
 * by a cookie, holding the person and the session's CSRF token.
 */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "krr/krr_int.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "sms/sms.h"
#include "store/store.h"
#include "ui/pages.h"

#define KRR_PAGE_KIND "krr-page"
#define KRR_LOGIN_KIND "krr-login"
#define KRR_PAGE_COOKIE "KRR_MINPROFIL"
#define KRR_LOGIN_COOKIE "KRR_MINPROFIL_LOGIN"
#define KRR_PAGE_SECONDS 1800  /* a page session: half an hour */
#define KRR_LOGIN_SECONDS 600  /* a login under way */

static struct porten *
pages_app(struct http_req *r)
{
	return r->app;
}

/*
 * Where the pages are: the browser host when a node serves one of its own
 * (browser_url), since their cookies and the login's live there; else the
 * issuer's base.  The same on every node, so the registered callback holds.
 */
static const char *
pages_base(struct http_req *r)
{
	char *b = app_browser_base(r->route_data);
	const char *out = b != NULL ? arena_strdup(r->arena, b) : NULL;

	free(b);
	return out != NULL ? out : ((const struct issuer *)r->route_data)->base;
}

static const char *
callback_url(struct http_req *r)
{
	return arena_printf(r->arena, "%s/minprofil/callback", pages_base(r));
}

/* Is the registered client's list of callbacks the one wanted? */
static bool
pages_client_current(const json_t *doc, const char *cb)
{
	const json_t *uris = json_object_get(doc, "redirect_uris");
	const char *only = json_string_value(json_array_get(uris, 0));

	return json_array_size(uris) == 1 && only != NULL && strcmp(only, cb) == 0;
}

/* The pages' client, made once by the first node to start (a second finds it made). */
int
krr_pages_init(struct porten *app, struct err *e)
{
	const struct issuer *is = app_issuer(app, ISSUER_IDPORTEN);
	char cb[1024], back[1024], *base = app_browser_base(is);
	json_t *in, *out = NULL;
	char *secret = NULL;
	bool current;
	int rc;

	if (base == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	snprintf(cb, sizeof(cb), "%s/minprofil/callback", base);
	snprintf(back, sizeof(back), "%s/minprofil", base);
	free(base);
	rc = reg_client_get(app, KRR_CLIENT_ID, &out, e);
	current = rc == 0 && pages_client_current(out, cb);
	json_decref(out);
	out = NULL;
	if (current || (rc != 0 && rc != ERR_NOTFOUND))
		return rc;
	in = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:[s]}", "client_id",
		       KRR_CLIENT_ID, "client_name", "Kontaktregisteret", "description",
		       "the contact register's self-service pages (spec/krr.md §5)",
		       "integration_type", "idporten", "application_type", "browser",
		       "token_endpoint_auth_method", "none", "grant_types", "authorization_code",
		       "redirect_uris", cb, "post_logout_redirect_uris", back);
	/* made, or moved to where the pages are now (browser_url set or changed) */
	if (in == NULL)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	else if (rc == ERR_NOTFOUND)
		rc = reg_client_create(app, in, &out, &secret, e);
	else
		rc = reg_client_update(app, KRR_CLIENT_ID, in, &out, e);
	if (rc == 0)
		log_info(NULL, "krr: the self-service pages' client calls back at %s", cb);
	json_decref(in);
	json_decref(out);
	free(secret);
	if (rc == ERR_INVAL) {
		/*
		 * The registry refuses the callback (an https issuer on a loopback
		 * address, which no public deployment has): the pages answer with
		 * an error page instead of keeping the node from starting.
		 */
		log_warn(NULL, "krr: the self-service pages are off, their client is refused: %s",
			 e->msg);
		err_clear(e);
		return 0;
	}
	return rc == ERR_EXISTS ? 0 : rc;
}

static struct http_cookie_opts
cookie_opts(struct http_req *r, int64_t max_age)
{
	const struct issuer *is = r->route_data;

	return (struct http_cookie_opts){ .max_age = max_age,
					  .path = arena_printf(r->arena, "%s/minprofil",
							       is->prefix),
					  .same_site = "Lax", .secure = app_cookie_secure(r),
					  .http_only = true };
}

/* Off to the ID-porten login; back at /minprofil/callback. */
static void
login_start(struct http_req *r, struct http_resp *w, const char *lang, const char *goto_url)
{
	char state[TOKEN_CHARS + 1], nonce[TOKEN_CHARS + 1], verifier[TOKEN_CHARS + 1];
	char challenge[TOKEN_CHARS + 1];
	struct http_cookie_opts o = cookie_opts(r, KRR_LOGIN_SECONDS);
	struct err e = { 0 };
	struct buf u;
	json_t *doc;
	int rc;

	if (rand_token_buf(state) != 0 || rand_token_buf(nonce) != 0 ||
	    rand_token_buf(verifier) != 0) {
		page_error(r, w, 500, lang, OAUTH_SERVER_ERROR, "no randomness");
		return;
	}
	sha256_b64url_buf(str_c(verifier), challenge);
	doc = json_pack("{s:s, s:s, s:s, s:s?}", "nonce", nonce, "verifier", verifier, "lang", lang,
			"goto", goto_url);
	rc = doc != NULL ? store_call(pages_app(r)->store, krr, doc_put, KRR_LOGIN_KIND, state, doc,
				      time_now() + KRR_LOGIN_SECONDS, &e)
			 : ERR(&e, ERR_NOMEM, 500, NULL, "out of memory");
	json_decref(doc);
	if (rc != 0) {
		page_error(r, w, rc == ERR_UNAVAILABLE ? 503 : 500, lang, OAUTH_SERVER_ERROR,
			   "the login could not be started");
		return;
	}
	buf_init(&u, OAUTH_INPROC_FORM_MAX);
	oauth_form_add(&u, "client_id", KRR_CLIENT_ID);
	oauth_form_add(&u, "response_type", "code");
	oauth_form_add(&u, "scope", "openid");
	oauth_form_add(&u, "redirect_uri", callback_url(r));
	oauth_form_add(&u, "state", state);
	oauth_form_add(&u, "nonce", nonce);
	oauth_form_add(&u, "code_challenge", challenge);
	oauth_form_add(&u, "code_challenge_method", "S256");
	oauth_form_add(&u, "ui_locales", lang);
	http_resp_cookie(w, KRR_LOGIN_COOKIE, state, &o);
	/* /authorize is on the pages' own host (pages_base) */
	http_resp_redirect(w, arena_printf(r->arena, "%s/authorize?%.*s", pages_base(r),
					   (int)u.len, u.p));
	buf_free(&u);
}

/* The code of the callback redeemed in process: the person, from the checked ID token. */
static int
login_redeem(struct http_req *r, const char *code, const json_t *login, const char **pid,
	     const char **id_token, struct err *e)
{
	struct buf form;
	json_t *body = NULL, *claims = NULL;
	const char *idt;
	int status = 0, rc;

	buf_init(&form, OAUTH_INPROC_FORM_MAX);
	oauth_form_add(&form, "grant_type", "authorization_code");
	oauth_form_add(&form, "code", code);
	oauth_form_add(&form, "redirect_uri", callback_url(r));
	oauth_form_add(&form, "code_verifier",
		       json_string_value(json_object_get(login, "verifier")));
	oauth_form_add(&form, "client_id", KRR_CLIENT_ID);
	rc = oauth_call_form(r, "/token", oauth_handle_token, &form, &status, &body, e);
	buf_free_secret(&form);
	if (rc == 0 && status != 200)
		rc = ERR(e, ERR_DENIED, 400, OAUTH_INVALID_REQUEST, "the login was refused (%d)",
			 status);
	idt = json_string_value(json_object_get(body, "id_token"));
	if (rc == 0 && idt == NULL)
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "/token gave no id_token");
	if (rc == 0)
		rc = oauth_id_token_check(r, idt, KRR_CLIENT_ID,
					  json_string_value(json_object_get(login, "nonce")),
					  &claims, e);
	if (rc == 0) {
		*pid = arena_strdup(r->arena, json_string_value(json_object_get(claims, "pid")));
		*id_token = arena_strdup(r->arena, idt);
	}
	json_decref(claims);
	json_decref(body);
	return rc;
}

void
krr_handle_profile_callback(struct http_req *r, struct http_resp *w)
{
	const char *state = http_param_c(&r->query, "state");
	const char *code = http_param_c(&r->query, "code");
	const char *cookie = http_cookie(r, KRR_LOGIN_COOKIE);
	const char *lang = page_lang(r, NULL), *pid = NULL, *idt = NULL;
	char sid[TOKEN_CHARS + 1], csrf[TOKEN_CHARS + 1];
	struct http_cookie_opts gone = cookie_opts(r, 0), keep = cookie_opts(r, -1);
	struct err e = { 0 };
	json_t *login = NULL, *page = NULL;
	int rc;

	/* The login this browser started, once. */
	if (state == NULL || cookie == NULL || !ct_str_eq(str_c(state), str_c(cookie)) ||
	    store_call(pages_app(r)->store, krr, doc_take, KRR_LOGIN_KIND, state, &login, &e) != 0) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST,
			   "the login has expired; start again");
		return;
	}
	http_resp_cookie(w, KRR_LOGIN_COOKIE, "", &gone);
	if (code == NULL) {
		page_error(r, w, 400, lang, http_param_c(&r->query, "error") != NULL
						    ? OAUTH_ACCESS_DENIED : OAUTH_INVALID_REQUEST,
			   "the login was not completed");
		goto out;
	}
	rc = login_redeem(r, code, login, &pid, &idt, &e);
	if (rc == 0 && (rand_token_buf(sid) != 0 || rand_token_buf(csrf) != 0))
		rc = ERR(&e, ERR_CRYPTO, 500, NULL, "no randomness");
	if (rc == 0) {
		/* the ID token names the session at the ID-porten logout (the "back" action) */
		page = json_pack("{s:s, s:s, s:s, s:O?}", "pid", pid, "csrf", csrf, "idt", idt,
				 "goto", json_object_get(login, "goto"));
		rc = page != NULL ? store_call(pages_app(r)->store, krr, doc_put, KRR_PAGE_KIND, sid, page,
					       time_now() + KRR_PAGE_SECONDS, &e)
				  : ERR(&e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	if (rc != 0) {
		log_warn(r->rid, "krr: self-service login failed: %s", e.msg);
		page_error(r, w, e.status >= 400 ? e.status : 500, lang, OAUTH_INVALID_REQUEST,
			   "the login was not completed");
		goto out;
	}
	http_resp_cookie(w, KRR_PAGE_COOKIE, sid, &keep);
	http_resp_redirect(w, arena_printf(r->arena, "%s/minprofil",
					   ((const struct issuer *)r->route_data)->prefix));
out:
	json_decref(login);
	json_decref(page);
}

/* A page session: the person, the forms' CSRF token, the ID token and the return link (arena). */
struct page_sess {
	const char *sid, *pid, *csrf, *idt;
	const char *goto_url;   /* gotoUrl, checked when it came; NULL: none */
};

static const char *
doc_str(struct http_req *r, const json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	return v != NULL ? arena_strdup(r->arena, v) : NULL;
}

/* The page session of this browser, or false. */
static bool
page_session(struct http_req *r, struct page_sess *s)
{
	const char *sid = http_cookie(r, KRR_PAGE_COOKIE);
	struct err e = { 0 };
	json_t *doc = NULL;

	if (sid == NULL || strlen(sid) != TOKEN_CHARS ||
	    store_call(pages_app(r)->store, krr, doc_get, KRR_PAGE_KIND, sid, &doc, &e) != 0)
		return false;
	*s = (struct page_sess){ .sid = arena_strdup(r->arena, sid), .pid = doc_str(r, doc, "pid"),
				 .csrf = doc_str(r, doc, "csrf"), .idt = doc_str(r, doc, "idt"),
				 .goto_url = doc_str(r, doc, "goto") };
	json_decref(doc);
	return s->sid != NULL && s->pid != NULL && s->csrf != NULL;
}

/* A new return link for a session under way: kept for its pages from now on. */
static int
page_session_goto(struct http_req *r, struct page_sess *s, const char *goto_url, struct err *e)
{
	json_t *doc = NULL;
	int rc = store_call(pages_app(r)->store, krr, doc_get, KRR_PAGE_KIND, s->sid, &doc, e);

	if (rc == 0)
		rc = json_object_set_new(doc, "goto", json_string(goto_url)) == 0
			     ? store_call(pages_app(r)->store, krr, doc_update, KRR_PAGE_KIND, s->sid,
					  doc, e)
			     : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	json_decref(doc);
	if (rc == 0)
		s->goto_url = goto_url;
	return rc;
}

/* ---- the parts the prompt shares ---- */

void
krr_mask_email(const char *v, char *out, size_t cap)
{
	const char *at = v != NULL ? strchr(v, '@') : NULL;

	if (at == NULL)
		snprintf(out, cap, "***");
	else
		snprintf(out, cap, "%c***%s", v[0], at);
}

static void
hidden_all(struct buf *b, const char *const *hidden)
{
	for (size_t i = 0; hidden != NULL && hidden[i] != NULL; i += 2)
		page_hidden(b, hidden[i], hidden[i + 1]);
}

static void
form_open(struct buf *b, const char *action, const char *const *hidden, const char *what)
{
	buf_puts(b, "<form method=\"post\" action=\"");
	buf_html(b, str_c(action));
	buf_puts(b, "\">");
	hidden_all(b, hidden);
	page_hidden(b, "action", what);
}

static void
form_button(struct buf *b, const char *lang, const char *msgid, bool secondary)
{
	buf_puts(b, secondary ? "<button type=\"submit\" class=\"secondary\">"
			      : "<button type=\"submit\">");
	page_put(b, lang, msgid, NULL, NULL);
	buf_puts(b, "</button></form>");
}

const char *
krr_field_err(const char *err, const char *err_field, const char *field)
{
	return err != NULL && strcmp(err_field != NULL ? err_field : "", field) == 0 ? err : NULL;
}

void
krr_form_button(struct buf *b, const char *lang, const char *action, const char *const *hidden,
		const char *what, const char *msgid, bool secondary)
{
	form_open(b, action, hidden, what);
	form_button(b, lang, msgid, secondary);
}

void
krr_form_change(struct buf *b, const char *lang, const char *action, const char *const *hidden,
		const char *email_err, const char *mobile_err)
{
	form_open(b, action, hidden, "email");
	page_field(b, lang, "epost", "email", "New e-mail address", NULL, NULL, email_err,
		   "autocomplete=\"email\" maxlength=\"254\"");
	form_button(b, lang, "Send code to the e-mail address", false);
	form_open(b, action, hidden, "mobile");
	page_field(b, lang, "mobil", "tel", "New mobile number", "For example +47 912 34 567",
		   NULL, mobile_err, "autocomplete=\"tel\" maxlength=\"20\"");
	form_button(b, lang, "Send code by SMS", false);
}

void
krr_form_code(struct buf *b, const char *lang, const char *action, const char *const *hidden,
	      const char *cid, const char *shown, const char *err)
{
	buf_puts(b, "<p id=\"code-sent\">");
	page_put(b, lang, "We have sent a code to {to}. It is valid for a few minutes.", "to",
		 shown);
	buf_puts(b, "</p>");
	form_open(b, action, hidden, "code");
	page_hidden(b, "cid", cid);
	page_field(b, lang, "kode", "text", "Code", NULL, NULL, err,
		   "inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\"");
	form_button(b, lang, "Confirm", false);
}

const char *
krr_form_new_value(struct http_req *r, enum krr_code_channel *ch, const char **value,
		   const char **which)
{
	const char *action = http_param_c(&r->form, "action");
	char mobile[20];

	if (action != NULL && strcmp(action, "email") == 0) {
		const char *v = http_param_c(&r->form, "epost");

		*ch = KRR_CODE_EMAIL;
		*which = "epost";
		if (v == NULL || strlen(v) > KRR_MAX_EMAIL || krr_rule_email(v) != NULL)
			return "Enter a valid e-mail address";
		*value = v;
		return NULL;
	}
	*ch = KRR_CODE_MOBILE;
	*which = "mobil";
	{
		const char *v = http_param_c(&r->form, "mobil");
		char typed[SMS_MAX_TO + 1];

		/* what people type ("912 34 567", "0047 ..."), then the register's rule */
		if (v == NULL || strlen(v) > 32 || sms_number_normalise(str_c(v), typed) != 0 ||
		    krr_rule_mobile(typed, mobile) != NULL)
			return "Enter a valid mobile number";
	}
	*value = arena_strdup(r->arena, mobile);
	return NULL;
}

/* ---- the profile page ---- */

static void
show_row(struct buf *b, const char *lang, const char *label, const char *value)
{
	buf_puts(b, "<dt>");
	page_put(b, lang, label, NULL, NULL);
	buf_puts(b, "</dt><dd>");
	if (value != NULL)
		buf_html(b, str_c(value));
	else
		page_put(b, lang, "Not registered", NULL, NULL);
	buf_puts(b, "</dd>");
}

static const char *const lang_names[][2] = {
	{ "nb", "Norwegian Bokmål" },
	{ "nn", "Norwegian Nynorsk" },
	{ "en", "English" },
	{ "se", "Northern Sami" },
};

static const char *
lang_name(const char *code)
{
	for (size_t i = 0; i < 4; i++)
		if (strcmp(lang_names[i][0], code) == 0)
			return lang_names[i][1];
	return NULL;
}

/*
 * The way out (spec §5): back to the service the person came from when it
 * gave a registered gotoUrl, and the ID-porten logout, the "back" action
 * without one.
 */
static void
profile_leave(struct buf *b, const char *lang, const char *action, const char *const *hidden,
	      const struct page_sess *s)
{
	buf_puts(b, "<div class=\"actions\" id=\"leave\">");
	if (s->goto_url != NULL) {
		buf_puts(b, "<p><a id=\"goto\" href=\"");
		buf_html(b, str_c(s->goto_url));
		buf_puts(b, "\">");
		page_put(b, lang, "Back to the service", NULL, NULL);
		buf_puts(b, "</a></p>");
	}
	krr_form_button(b, lang, action, hidden, "logout", "Log out", s->goto_url != NULL);
	buf_puts(b, "</div>");
}

struct profile_view {
	const char *notice;            /* msgid of what was just done, or NULL */
	const char *err, *err_field;   /* msgid of a refusal, and the field ("" none) */
	const char *cid, *sent_to;     /* a code was sent: show its form */
};

static void
profile_render(struct http_req *r, struct http_resp *w, const char *lang,
	       const struct page_sess *s, const struct krr_person *p, const struct profile_view *v,
	       int status)
{
	const struct issuer *is = r->route_data;
	const char *action = arena_printf(r->arena, "%s/minprofil", is->prefix);
	const char *hidden[] = { "csrf", s->csrf, NULL };
	bool active = p != NULL && p->status == KRR_AKTIV;
	struct buf b;

	buf_init(&b, 1 << 20);
	page_begin(&b, lang, "Your contact details");
	if (v->notice != NULL) {
		buf_puts(&b, "<p role=\"status\" id=\"notice\">");
		page_put(&b, lang, v->notice, NULL, NULL);
		buf_puts(&b, "</p>");
	}
	if (krr_field_err(v->err, v->err_field, "") != NULL)
		page_alert(&b, lang, "error", v->err);
	if (v->cid != NULL) {
		krr_form_code(&b, lang, action, hidden, v->cid, v->sent_to,
			      krr_field_err(v->err, v->err_field, "kode"));
		page_end(&b, lang, NULL);
		http_resp_html(w, status, (struct str){ b.p, b.len });
		buf_free(&b);
		return;
	}
	buf_puts(&b, "<h2>");
	page_put(&b, lang, "Registered now", NULL, NULL);
	buf_puts(&b, "</h2><dl id=\"current\">");
	show_row(&b, lang, "E-mail address", active ? p->email.value : NULL);
	show_row(&b, lang, "Mobile number", active ? p->mobile.value : NULL);
	show_row(&b, lang, "Reserved against digital communication",
		 active ? page_text(lang, p->reserved ? "Yes" : "No") : NULL);
	show_row(&b, lang, "Language", active && p->lang[0] ? lang_name(p->lang) : NULL);
	buf_puts(&b, "</dl>");
	if (active && (p->email.value != NULL || p->mobile.value != NULL)) {
		krr_form_button(&b, lang, action, hidden, "confirm", "The details are correct",
				false);
	}
	buf_puts(&b, "<h2>");
	page_put(&b, lang, "Change contact details", NULL, NULL);
	buf_puts(&b, "</h2>");
	krr_form_change(&b, lang, action, hidden,
			krr_field_err(v->err, v->err_field, "epost"),
			krr_field_err(v->err, v->err_field, "mobil"));
	if (active) {
		buf_puts(&b, "<h2>");
		page_put(&b, lang, "Reservation and language", NULL, NULL);
		buf_puts(&b, "</h2>");
		form_open(&b, action, hidden, "reserve");
		page_hidden(&b, "reservasjon", p->reserved ? "NEI" : "JA");
		form_button(&b, lang, p->reserved ? "Withdraw the reservation"
						  : "Reserve against digital communication",
			    true);
		form_open(&b, action, hidden, "lang");
		buf_puts(&b, "<label for=\"spraak\">");
		page_put(&b, lang, "Preferred language", NULL, NULL);
		buf_puts(&b, "</label><select id=\"spraak\" name=\"spraak\">");
		for (size_t i = 0; i < 4; i++) {
			buf_printf(&b, "<option value=\"%s\"%s>", lang_names[i][0],
				   strcmp(p->lang, lang_names[i][0]) == 0 ? " selected" : "");
			page_put(&b, lang, lang_names[i][1], NULL, NULL);
			buf_puts(&b, "</option>");
		}
		buf_puts(&b, "</select>");
		form_button(&b, lang, "Save language", true);
	}
	profile_leave(&b, lang, action, hidden, s);
	page_end(&b, lang, arena_printf(r->arena, "%s?", action));
	http_resp_html(w, status, (struct str){ b.p, b.len });
	buf_free(&b);
}

static void
profile_answer(struct http_req *r, struct http_resp *w, const char *lang,
	       const struct page_sess *s, const struct profile_view *v, int status)
{
	struct krr_person p = { 0 };
	struct err e = { 0 };
	int rc = krr_person_load(r->app, s->pid, &p, &e);

	if (rc != 0 && rc != ERR_NOTFOUND) {
		page_error(r, w, 503, lang, OAUTH_TEMPORARILY_UNAVAILABLE,
			   "the register cannot be read now");
		return;
	}
	profile_render(r, w, lang, s, rc == 0 ? &p : NULL, v, status);
	krr_person_clear(&p);
}

void
krr_handle_profile(struct http_req *r, struct http_resp *w)
{
	const char *lang = page_lang_choose(r, w, NULL);
	const char *goto_url = http_param_c(&r->query, "gotoUrl");
	struct page_sess s;
	struct err e = { 0 };

	http_resp_header(w, "Cache-Control", "no-store");
	if (r->bad_input) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST, r->input_err.msg);
		return;
	}
	/* spec §5: gotoUrl, or its old name goto; only a link registered for it */
	if (goto_url == NULL)
		goto_url = http_param_c(&r->query, "goto");
	if (goto_url != NULL && !krr_goto_allowed(pages_app(r)->cfg, goto_url)) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST,
			   "gotoUrl is not a registered return address");
		return;
	}
	if (!page_session(r, &s)) {
		login_start(r, w, lang, goto_url);
		return;
	}
	if (goto_url != NULL && page_session_goto(r, &s, goto_url, &e) != 0) {
		page_error(r, w, 503, lang, OAUTH_TEMPORARILY_UNAVAILABLE,
			   "the register cannot be read now");
		return;
	}
	profile_answer(r, w, lang, &s, &(struct profile_view){ 0 }, 200);
}

/* A code was asked for: send it, then the code form. */
static void
post_new_value(struct http_req *r, struct http_resp *w, const char *lang,
	       const struct page_sess *s)
{
	enum krr_code_channel ch;
	const char *value = NULL, *which = NULL, *bad;
	char cid[TOKEN_CHARS + 1], shown[300];
	struct err e = { 0 };

	bad = krr_form_new_value(r, &ch, &value, &which);
	if (bad != NULL) {
		profile_answer(r, w, lang, s,
			       &(struct profile_view){ .err = bad, .err_field = which }, 400);
		return;
	}
	if (krr_code_send(r->app, s->pid, ch, value, lang, cid, &e) != 0) {
		log_warn(r->rid, "krr: code not sent: %s", e.msg);
		profile_answer(r, w, lang, s, &(struct profile_view){ .err = krr_code_unsent(&e) },
			       e.code == ERR_LIMIT ? 429 : 503);
		return;
	}
	snprintf(shown, sizeof(shown), "%s", value);
	profile_answer(r, w, lang, s,
		       &(struct profile_view){ .cid = arena_strdup(r->arena, cid),
					       .sent_to = arena_strdup(r->arena, shown) },
		       200);
}

static void
post_code(struct http_req *r, struct http_resp *w, const char *lang, const struct page_sess *s)
{
	const char *cid = http_param_c(&r->form, "cid");
	struct err e = { 0 };
	int rc = krr_code_check(r->app, s->pid, cid, http_param_c(&r->form, "kode"), &e);

	if (rc == ERR_DENIED)
		profile_answer(r, w, lang, s,
			       &(struct profile_view){ .cid = cid, .sent_to = "",
						       .err = "The code is wrong. Try again.",
						       .err_field = "kode" },
			       400);
	else if (rc != 0)
		profile_answer(r, w, lang, s,
			       &(struct profile_view){ .err = "The code has expired or was already used. Ask for a new one." },
			       rc == ERR_NOTFOUND ? 400 : 503);
	else
		profile_answer(r, w, lang, s,
			       &(struct profile_view){ .notice = "Your contact details are saved." },
			       200);
}

/* The page session ends here, then the ID-porten session at its logout. */
static void
page_logout(struct http_req *r, struct http_resp *w, const char *lang, const struct page_sess *s)
{
	struct http_cookie_opts gone = cookie_opts(r, 0);
	struct err e = { 0 };
	struct buf u;
	int rc = store_call(pages_app(r)->store, krr, doc_delete, KRR_PAGE_KIND, s->sid, &e);

	if (rc != 0 && rc != ERR_NOTFOUND) {
		page_error(r, w, 503, lang, OAUTH_TEMPORARILY_UNAVAILABLE, "please try again");
		return;
	}
	http_resp_cookie(w, KRR_PAGE_COOKIE, "", &gone);
	buf_init(&u, HTTP_MAX_URI * 2);
	if (s->idt != NULL)
		oauth_form_add(&u, "id_token_hint", s->idt);
	oauth_form_add(&u, "ui_locales", lang);
	http_resp_redirect(w, arena_printf(r->arena, "%s/logout?%.*s", pages_base(r), (int)u.len,
					   u.p));
	buf_free(&u);
}

void
krr_handle_profile_post(struct http_req *r, struct http_resp *w)
{
	const char *lang = page_lang(r, NULL);
	const char *action = http_param_c(&r->form, "action");
	struct page_sess sess, *s = &sess;
	struct err e = { 0 };
	int rc = 0;

	http_resp_header(w, "Cache-Control", "no-store");
	if (!page_session(r, s)) {
		page_error(r, w, 403, lang, OAUTH_ACCESS_DENIED, "log in again to change your details");
		return;
	}
	if (!ct_str_eq(str_c(s->csrf), str_c(http_param_c(&r->form, "csrf")))) {
		page_error(r, w, 403, lang, OAUTH_INVALID_REQUEST,
			   "the form has expired; open the page again");
		return;
	}
	if (action == NULL) {
		rc = ERR(&e, ERR_INVAL, 400, NULL, "no action");
	} else if (strcmp(action, "email") == 0 || strcmp(action, "mobile") == 0) {
		post_new_value(r, w, lang, s);
		return;
	} else if (strcmp(action, "code") == 0) {
		post_code(r, w, lang, s);
		return;
	} else if (strcmp(action, "logout") == 0) {
		page_logout(r, w, lang, s);
		return;
	} else if (strcmp(action, "confirm") == 0) {
		rc = krr_contact_confirm(r->app, s->pid, &e);
	} else if (strcmp(action, "reserve") == 0) {
		const char *v = http_param_c(&r->form, "reservasjon");

		rc = v != NULL && (strcmp(v, "JA") == 0 || strcmp(v, "NEI") == 0)
			     ? krr_reservation_set(r->app, s->pid, strcmp(v, "JA") == 0, &e)
			     : ERR(&e, ERR_INVAL, 400, NULL, "reservasjon must be JA or NEI");
	} else if (strcmp(action, "lang") == 0) {
		rc = krr_lang_set(r->app, s->pid, http_param_c(&r->form, "spraak"), &e);
	} else {
		rc = ERR(&e, ERR_INVAL, 400, NULL, "unknown action");
	}
	if (rc != 0)
		profile_answer(r, w, lang, s,
			       &(struct profile_view){ .err = rc == ERR_UNAVAILABLE
								      ? "The register cannot be changed now. Try again later."
								      : "The change was not accepted." },
			       rc == ERR_UNAVAILABLE ? 503 : 400);
	else
		profile_answer(r, w, lang, s,
			       &(struct profile_view){ .notice = "Your contact details are saved." },
			       200);
}
