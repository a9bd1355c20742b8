/*
 * The login flow between /authorize and the eIDs (spec/idporten-oidc.md §7).
 *
 * A pending authorization lives in the store under a random id ("ar") that
 * travels in the page URLs; it is bound to the browser by the hash of a
 * random cookie (porten_b), so a leaked ar is useless in another browser.
 * Forms carry a CSRF token derived from the ar, the browser cookie and a
 * key all nodes share, so any node can check it without state.
 */
#include "oidc/login.h"

#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/loa.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "oauth/oauth.h"
#include "oidc/consent.h"
#include "registry/registry.h"
#include "ui/pages.h"

#define BROWSER_COOKIE "porten_b"

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

/* The browser binding cookie, created on first use. */
static const char *
login_browser(struct http_req *r, struct http_resp *w)
{
	const char *b = http_cookie(r, BROWSER_COOKIE);
	struct http_cookie_opts o = {
		.max_age = -1, .path = "/", .same_site = "Lax", .http_only = true,
	};

	if (b != NULL && strlen(b) == TOKEN_CHARS)
		return b;
	if (w == NULL)
		return NULL;
	b = rand_token(r->arena);
	if (b == NULL)
		return NULL;
	o.secure = login_app(r)->cfg->cookie_secure || r->tls;
	http_resp_cookie(w, BROWSER_COOKIE, b, &o);
	/* Later code in this request sees it as if the browser had sent it. */
	http_req_cookie_add(r, BROWSER_COOKIE, b);
	return b;
}

int
login_pending_store(struct http_req *r, struct http_resp *w, json_t *areq, struct err *e)
{
	struct porten *app = login_app(r);
	const char *browser = login_browser(r, w);
	char *ar = rand_token(r->arena);

	if (browser == NULL || ar == NULL)
		return ERR(e, ERR_CRYPTO, 500, OAUTH_SERVER_ERROR, "no randomness");
	json_object_set_new(areq, "id", json_string(ar));
	json_object_set_new(areq, "browser", json_string(sha256_b64url(r->arena, str_c(browser))));
	return store_call(app->store, login, doc_put, "pending", ar, areq,
			time_now() + app->cfg->pending_lifetime, e);
}

int
login_pending_load(struct http_req *r, const char *ar, json_t **areq, struct err *e)
{
	struct porten *app = login_app(r);
	const char *browser = login_browser(r, NULL);
	const char *bound;
	json_t *doc = NULL;
	int rc;

	*areq = NULL;
	if (ar == NULL || strlen(ar) != TOKEN_CHARS || browser == NULL)
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST, "no login in progress");
	rc = store_call(app->store, login, doc_get, "pending", ar, &doc, e);
	if (rc != 0)
		return rc == ERR_NOTFOUND
			       ? ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
				     "the login has expired or was finished")
			       : rc;
	bound = json_string_value(json_object_get(doc, "browser"));
	if (bound == NULL ||
	    !ct_str_eq(str_c(bound), str_c(sha256_b64url(r->arena, str_c(browser))))) {
		json_decref(doc);
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
			   "the login was started in another browser");
	}
	*areq = doc;
	return 0;
}

int
login_pending_spend(struct http_req *r, const char *ar, struct err *e)
{
	return store_call(login_app(r)->store, login, doc_delete, "pending", ar, e);
}

const char *
login_csrf(struct http_req *r, const char *ar)
{
	struct porten *app = login_app(r);
	const char *browser = login_browser(r, NULL);
	unsigned char mac[32];
	char *msg;

	msg = arena_printf(r->arena, "csrf\n%s\n%s", ar ? ar : "", browser ? browser : "");
	hmac_sha256(app->csrf_key, sizeof(app->csrf_key), msg, strlen(msg), mac);
	return b64url_encode_arena(r->arena, mac, sizeof(mac));
}

bool
login_csrf_ok(struct http_req *r, const char *ar, const char *token)
{
	if (token == NULL || login_browser(r, NULL) == NULL)
		return false;
	return ct_str_eq(str_c(token), str_c(login_csrf(r, ar)));
}

unsigned
login_min_level(const json_t *areq)
{
	unsigned l = eid_level_of(json_string_value(json_object_get(areq, "acr")));

	return l ? l : EID_LEVEL_SUBSTANTIAL;
}

const char *
login_selector_url(struct http_req *r, const char *ar)
{
	return arena_printf(r->arena, "%s/login?ar=%s", login_issuer(r)->prefix, ar);
}

void
login_respond(struct http_req *r, struct http_resp *w, const json_t *areq, const char *code,
	      const char *error, const char *desc)
{
	const struct issuer *is = login_issuer(r);
	const char *uri = json_string_value(json_object_get(areq, "redirect_uri"));
	const char *mode = json_string_value(json_object_get(areq, "response_mode"));
	const char *state = json_string_value(json_object_get(areq, "state"));
	const char *names[5], *values[5];
	size_t n = 0;
	struct buf b;
	char sep;

	if (code != NULL) {
		names[n] = "code";
		values[n++] = code;
	} else {
		names[n] = "error";
		values[n++] = error;
		if (desc != NULL) {
			names[n] = "error_description";
			values[n++] = arena_printf(r->arena, "%s (ref %s)", desc, r->rid);
		}
	}
	if (state != NULL) {
		names[n] = "state";
		values[n++] = state;
	}
	names[n] = "iss";
	values[n++] = is->iss;

	if (mode != NULL && strcmp(mode, "form_post") == 0) {
		page_form_post(w, uri, names, values, n);
		return;
	}
	buf_init(&b, HTTP_MAX_URI * 4);
	buf_puts(&b, uri);
	if (mode != NULL && strcmp(mode, "fragment") == 0)
		sep = '#';
	else
		sep = strchr(uri, '?') ? '&' : '?';
	for (size_t i = 0; i < n; i++) {
		buf_append(&b, &sep, 1);
		buf_puts(&b, names[i]);
		buf_puts(&b, "=");
		buf_urlenc(&b, str_c(values[i]));
		sep = '&';
	}
	http_resp_redirect(w, b.p ? b.p : uri);
	buf_free(&b);
}

void
login_store_failed(struct http_req *r, struct http_resp *w, const json_t *areq, int rc,
		   const char *what, const struct err *e)
{
	log_err(r->rid, "%s: %s", what, e->msg);
	login_respond(r, w, areq, NULL,
		      rc == ERR_UNAVAILABLE ? OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR,
		      "the login could not be completed");
}

static void
login_event(struct http_req *r, const json_t *client, const json_t *session, bool sso)
{
	struct porten *app = login_app(r);
	struct err e = { 0 };
	json_t *ev;

	ev = json_pack("{s:s?, s:s?, s:O?, s:O?, s:b, s:I}", "client_id",
		       reg_client_str(client, "client_id"), "client_orgno",
		       reg_client_str(client, "client_orgno"), "eid",
		       json_object_get(session, "eid"), "acr", json_object_get(session, "acr"),
		       "sso", sso, "time", (json_int_t)time_now());
	if (ev != NULL && store_call(app->store, events, event_add, "authentication", ev, &e) != 0)
		log_warn(r->rid, "event not recorded: %s", e.msg);
	json_decref(ev);
}

struct code_write {
	struct http_req *r;
	struct session *s;
	const json_t *client;
	const char *code, *grant_id;
	const json_t *doc;
};

static int
code_write_body(void *arg, struct err *e)
{
	const struct code_write *cw = arg;
	struct porten *app = login_app(cw->r);
	int rc;

	rc = store_call(app->store, oauth, code_put, sha256_b64url(cw->r->arena, str_c(cw->code)),
		      cw->grant_id, cw->doc, time_now() + app->cfg->code_lifetime, e);
	return rc != 0 ? rc : session_join(cw->r, cw->s, reg_client_str(cw->client, "client_id"), e);
}

void
login_finish(struct http_req *r, struct http_resp *w, const json_t *client, const json_t *areq,
	     struct session *s)
{
	struct porten *app = login_app(r);
	struct err e = { 0 };
	const char *code = rand_token(r->arena), *grant_id = rand_token(r->arena);
	json_t *doc;
	int rc;

	if (code == NULL || grant_id == NULL) {
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "no randomness");
		return;
	}
	/* spec §7 step 6: scopes needing the person's consent are asked for first. */
	if (consent_intercept(r, w, client, areq, s))
		return;
#define S(o, k) json_string_value(json_object_get((o), (k)))
	doc = oauth_code_encode(&(struct auth_code){
		.g = { .client_id = S(areq, "client_id"), .scope = S(areq, "scope"),
		       .nonce = S(areq, "nonce"), .locale = S(areq, "locale"),
		       .onbehalfof = S(areq, "onbehalfof"),
		       .resource = json_is_null(json_object_get(areq, "resource"))
				   ? NULL : json_object_get(areq, "resource"),
		       .sid = S(s->doc, "sid"), .pid = S(s->doc, "pid"), .acr = S(s->doc, "acr"),
		       .amr = json_string_value(json_array_get(json_object_get(s->doc, "amr"), 0)),
		       .auth_time = json_integer_value(json_object_get(s->doc, "auth_time")),
		       .eid = S(s->doc, "eid"), .iss = login_issuer(r)->iss,
		       .session_kind = reg_client_bool(client, "sso_disabled") ? "client" : "shared" },
		.redirect_uri = S(areq, "redirect_uri"), .code_challenge = S(areq, "code_challenge") });
#undef S
	if (doc == NULL) {
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "out of memory");
		return;
	}
	/* The code and the session's note of it: one commit, or neither. */
	{
		struct code_write cw = { r, s, client, code, grant_id, doc };

		rc = store_tx_run(app->store, code_write_body, &cw, &e);
	}
	json_decref(doc);
	if (rc != 0) {
		login_store_failed(r, w, areq, rc, "cannot issue code", &e);
		return;
	}
	login_respond(r, w, areq, code, NULL, NULL);
}

/* One completed login: every write in one transaction, the answer built with it. */
struct complete_run {
	struct http_req *r;
	struct http_resp *w;
	const char *ar;
	const json_t *areq, *client;
	const struct eid_result *res;
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
	login_event(c->r, c->client, c->s.doc, false);
	login_finish(c->r, c->w, c->client, c->areq, &c->s);
	return 0;
}

void
login_complete(struct http_req *r, struct http_resp *w, const char *ar, const json_t *areq,
	       const struct eid_result *res)
{
	struct porten *app = login_app(r);
	struct complete_run c = { .r = r, .w = w, .ar = ar, .areq = areq, .res = res };
	struct err e = { 0 };
	json_t *client = NULL;
	int rc;

	rc = reg_client_load(app, json_string_value(json_object_get(areq, "client_id")), &client, &e);
	if (rc != 0) {
		login_respond(r, w, areq, NULL, OAUTH_ACCESS_DENIED, "the client is no longer active");
		return;
	}
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
	json_decref(client);
}

void
login_cancel_form(struct http_req *r, struct buf *b, const char *lang, const char *ar)
{
	page_cancel_form(b, lang, arena_printf(r->arena, "%s/cancel", login_issuer(r)->prefix), ar,
			 login_csrf(r, ar));
}

/* Set the language cookie when the user picked one (?lang=). */
static const char *
login_lang(struct http_req *r, struct http_resp *w, const json_t *areq)
{
	return page_lang_choose(r, w, json_string_value(json_object_get(areq, "locale")));
}

static bool
login_eid_offered(struct http_req *r, const struct eid_provider *p, unsigned min)
{
	if (p->test_only && !login_app(r)->test_env)
		return false;
	/* Offer an eID that reaches the minimum level or higher (spec §6). */
	return (p->levels & ~(min - 1)) != 0;
}

void
login_show_selector(struct http_req *r, struct http_resp *w, const json_t *areq)
{
	struct porten *app = login_app(r);
	const char *ar = json_string_value(json_object_get(areq, "id"));
	const char *lang = login_lang(r, w, areq);
	unsigned min = login_min_level(areq);
	json_t *client = NULL;
	struct err e = { 0 };
	struct buf b;
	int shown = 0;

	reg_client_load(app, json_string_value(json_object_get(areq, "client_id")), &client, &e);
	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "Choose electronic ID");
	buf_puts(&b, "<h1>");
	buf_html(&b, str_c(page_text(lang, "Choose electronic ID")));
	buf_puts(&b, "</h1>");
	if (client != NULL) {
		buf_puts(&b, "<p>");
		buf_html(&b, str_c(page_text(lang, "You are logging in to")));
		buf_puts(&b, " <strong>");
		buf_html(&b, str_c(reg_client_str(client, "client_name")));
		buf_puts(&b, "</strong></p>");
	}
	buf_puts(&b, "<ul class=\"eids\" aria-label=\"");
	buf_html(&b, str_c(page_text(lang, "Electronic IDs")));
	buf_puts(&b, "\">");
	for (size_t i = 0; eid_providers[i] != NULL; i++) {
		const struct eid_provider *p = eid_providers[i];

		if (!login_eid_offered(r, p, min))
			continue;
		buf_printf(&b, "<li><a id=\"eid-%s\" href=\"%s%s?ar=%s\">", p->name,
			   login_issuer(r)->prefix, p->path, ar);
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
	page_end(&b, lang, login_selector_url(r, ar));
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
	json_decref(client);
}

void
login_page_error(struct http_req *r, struct http_resp *w, const struct err *e)
{
	/* A store that is away is the server's problem, not the user's: 503. */
	if (e->code == ERR_UNAVAILABLE)
		page_error(r, w, 503, page_lang(r, NULL), OAUTH_TEMPORARILY_UNAVAILABLE,
			   "the service is busy; please try again in a moment");
	else
		page_error(r, w, e->status >= 400 && e->status < 600 ? e->status : 400,
			   page_lang(r, NULL), e->oauth ? e->oauth : OAUTH_INVALID_REQUEST, e->msg);
}

void
login_handle_select(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	json_t *areq = NULL;
	const char *ar = http_param_c(&r->query, "ar");

	if (login_pending_load(r, ar, &areq, &e) != 0) {
		login_page_error(r, w, &e);
		return;
	}
	login_show_selector(r, w, areq);
	json_decref(areq);
}

void
login_handle_cancel(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	json_t *areq = NULL;
	const char *ar = http_param_c(&r->form, "ar");

	if (login_pending_load(r, ar, &areq, &e) != 0) {
		login_page_error(r, w, &e);
		return;
	}
	if (!login_csrf_ok(r, ar, http_param_c(&r->form, "csrf"))) {
		page_error(r, w, 403, page_lang(r, NULL), OAUTH_INVALID_REQUEST,
			   "the form has expired; start again from the service");
		json_decref(areq);
		return;
	}
	store_call(login_app(r)->store, login, doc_delete, "pending", ar, &e);
	login_respond(r, w, areq, NULL, OAUTH_ACCESS_DENIED, "the user cancelled the login");
	json_decref(areq);
}
