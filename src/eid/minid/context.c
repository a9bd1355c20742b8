/*
 * What every MinID page shares: the request context (pending login, flow,
 * browser binding, CSRF, language), the per-address rate limit, and the
 * page parts built on ui/pages.c.
 *
 * A flow (kind minid_flow) is the state of one walk through MinID pages:
 * a login between password and code, a reset, an activation, a session on
 * the account pages.  Its id travels in the page (hidden field or query);
 * it is bound to the browser by the hash of a random HttpOnly cookie, so
 * a leaked flow id is useless elsewhere.  CSRF tokens are an HMAC of the
 * flow id and that cookie under the key all nodes share: no state needed.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"
#include "eid/minid/minid_int.h"
#include "http/metrics.h"
#include "http/ratelimit.h"
#include "sms/sms.h"
#include "ui/pages.h"

#define MINID_BROWSER_COOKIE "minid_b"

/* ---- per-address rate limit (per node, in memory: http/ratelimit.c) ---- */

#define MINID_RL_SLOTS 4096

/*
 * One table of per_min tokens a minute, made at the first post; a new
 * per_min (another configuration in the same process: tests) gets a new
 * table.  The lock keeps a table alive while it is used.
 */
static pthread_mutex_t minid_rl_mu = PTHREAD_MUTEX_INITIALIZER;
static struct http_ratelimit *minid_rl;
static int64_t minid_rl_per_min;

bool
minid_rate_take(const char *key, int64_t per_min, int64_t now_ms)
{
	bool ok = true;

	if (per_min <= 0)
		return true;
	pthread_mutex_lock(&minid_rl_mu);
	if (minid_rl == NULL || minid_rl_per_min != per_min) {
		http_ratelimit_free(minid_rl);
		minid_rl = http_ratelimit_new_per((unsigned)per_min, 60, (unsigned)per_min,
						  MINID_RL_SLOTS);
		minid_rl_per_min = per_min;
	}
	/* Without memory for the table nobody is turned away (as a rate of 0). */
	if (minid_rl != NULL)
		ok = http_ratelimit_take(minid_rl, str_c(key), now_ms, NULL);
	pthread_mutex_unlock(&minid_rl_mu);
	return ok;
}

/* IPv4 as is; IPv6 by its /64, which one host usually holds whole. */
static void
minid_addr_key(const char *addr, char out[64])
{
	unsigned char a6[16];

	if (addr != NULL && strchr(addr, ':') != NULL && strchr(addr, '.') == NULL &&
	    inet_pton(AF_INET6, addr, a6) == 1) {
		snprintf(out, 64, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", a6[0], a6[1], a6[2],
			 a6[3], a6[4], a6[5], a6[6], a6[7]);
		return;
	}
	snprintf(out, 64, "%s", addr ? addr : "");
}

bool
minid_rate_ok(struct minid_ctx *c)
{
	char key[64];

	minid_addr_key(c->r->remote_addr, key);
	if (minid_rate_take(key, c->app->cfg->minid_rate_per_min, time_mono_ms()))
		return true;
	log_warn(c->r->rid, "minid: rate limit for %s", key);
	metrics_inc(METRICS_RATELIMITED, "minid", NULL);
	http_resp_header(c->w, "Retry-After", "60");
	minid_message_page(c, 429, "Too many attempts",
			   "There have been too many attempts from your network. Wait a minute and "
			   "try again.",
			   NULL, NULL);
	return false;
}

/* ---- browser binding and CSRF ---- */

static const char *
minid_browser(struct minid_ctx *c, bool create)
{
	const char *b = http_cookie(c->r, MINID_BROWSER_COOKIE);
	struct http_cookie_opts o = {
		.max_age = -1, .path = "/", .same_site = "Lax", .http_only = true,
	};
	struct http_req *r = c->r;

	if (b != NULL && strlen(b) == TOKEN_CHARS && str_only(str_c(b), "ABCDEFGHIJKLMNOPQRSTUVW"
								      "XYZabcdefghijklmnopqrstuv"
								      "wxyz0123456789-_"))
		return b;
	if (!create || (b = rand_token(r->arena)) == NULL)
		return NULL;
	o.secure = app_cookie_secure(r);
	http_resp_cookie(c->w, MINID_BROWSER_COOKIE, b, &o);
	/* The rest of this request sees it as if the browser had sent it. */
	http_req_cookie_add(r, MINID_BROWSER_COOKIE, b);
	return b;
}

const char *
minid_csrf(struct minid_ctx *c)
{
	const char *browser = minid_browser(c, false);
	unsigned char mac[32];
	char *msg;

	msg = arena_printf(c->r->arena, "minid-csrf\n%s\n%s", c->flow_id ? c->flow_id : "start",
			   browser ? browser : "");
	hmac_sha256(c->app->csrf_key, sizeof(c->app->csrf_key), msg, strlen(msg), mac);
	return b64url_encode_arena(c->r->arena, mac, sizeof(mac));
}

/* ---- the request context ---- */

static bool
minid_word_in(const char *word, const char *list)
{
	size_t n = strlen(word);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);

		if (len == n && memcmp(p, word, n) == 0)
			return true;
		p = sp ? sp + 1 : NULL;
	}
	return false;
}

/* The page language: ?lang= (remembered in a cookie), else the request's. */
static const char *
minid_lang(struct minid_ctx *c)
{
	return page_lang_choose(c->r, c->w,
				c->ar ? c->login.locale : http_param_c(&c->r->query, "ui_locales"));
}

static int
minid_flow_load(struct minid_ctx *c, const char *id, const char *purposes)
{
	const char *browser = minid_browser(c, false), *bind, *purpose;
	struct err e = { 0 };
	json_t *doc = NULL;

	if (strlen(id) != TOKEN_CHARS || browser == NULL)
		return ERR_NOTFOUND;
	if (store_call(c->app->store, minid, doc_get, MINID_K_FLOW, id, &doc, &e) != 0)
		return ERR_NOTFOUND;
	bind = json_string_value(json_object_get(doc, "bind"));
	purpose = json_string_value(json_object_get(doc, "purpose"));
	if (bind == NULL || purpose == NULL || !minid_word_in(purpose, purposes) ||
	    !ct_str_eq(str_c(bind), str_c(sha256_b64url(c->r->arena, str_c(browser))))) {
		json_decref(doc);
		return ERR_NOTFOUND;
	}
	c->flow = doc;
	c->flow_id = arena_strdup(c->r->arena, id);
	c->flow_exp = json_integer_value(json_object_get(doc, "exp"));
	return 0;
}

int
minid_ctx_open(struct minid_ctx *c, struct http_req *r, struct http_resp *w,
	       const struct eid_flow *door, const char *path, const char *purposes)
{
	struct err e = { 0 };
	const char *ar, *flow;

	memset(c, 0, sizeof(*c));
	c->r = r;
	c->w = w;
	c->app = r->app;
	c->is = r->route_data;
	c->host = door->host;
	c->path = path;
	c->post = strcmp(r->method, "POST") == 0;
	c->p = c->post ? &r->form : &r->query;
	c->lang = minid_lang(c);
	if (r->bad_input) {
		page_error(r, w, 400, c->lang, "invalid_request", r->input_err.msg);
		return -1;
	}
	minid_browser(c, !c->post);
	flow = http_param_c(c->p, "flow");
	if (flow != NULL && minid_flow_load(c, flow, purposes) != 0) {
		minid_expired(c, NULL);
		return -1;
	}
	/* A flow that belongs to a login carries its ar; otherwise the page names it. */
	ar = c->flow ? minid_flow_str(c, "ar") : http_param_c(c->p, "ar");
	if (ar != NULL && c->host->open(r, ar, &c->login, &e) != 0) {
		/*
		 * The login pages need their login; a reset or an activation begun
		 * from a login that has since ended goes on without it.
		 */
		if (strcmp(path, "/minid") == 0 || strcmp(path, "/minid/code") == 0) {
			page_error(r, w, 400, c->lang, e.oauth ? e.oauth : "invalid_request",
				   e.msg);
			return -1;
		}
		ar = NULL;
	}
	if (ar != NULL) {
		c->ar = arena_strdup(r->arena, ar);
		if (http_param_c(&r->query, "lang") == NULL)
			c->lang = minid_lang(c);
	}
	if (c->post && !ct_str_eq(str_c(http_param_c(c->p, "csrf")), str_c(minid_csrf(c)))) {
		page_error(r, w, 403, c->lang, "invalid_request",
			   "the form has expired; start again from the service");
		return -1;
	}
	return 0;
}

void
minid_ctx_close(struct minid_ctx *c)
{
	json_decref(c->flow);
	c->flow = NULL;
}

int
minid_flow_new(struct minid_ctx *c, const char *purpose, const char *pid, struct err *e)
{
	const char *browser = minid_browser(c, false);
	char *id = rand_token(c->r->arena);
	int64_t exp = time_now() + c->app->cfg->pending_lifetime;
	json_t *doc;
	int rc;

	if (browser == NULL || id == NULL)
		return ERR(e, ERR_CRYPTO, 400, NULL, "no browser binding");
	doc = json_pack("{s:s, s:s, s:I, s:I}", "purpose", purpose, "bind",
			sha256_b64url(c->r->arena, str_c(browser)), "exp", (json_int_t)exp,
			"created", (json_int_t)time_now());
	if (doc == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	if (pid != NULL)
		json_object_set_new(doc, "pid", json_string(pid));
	if (c->ar != NULL)
		json_object_set_new(doc, "ar", json_string(c->ar));
	rc = store_call(c->app->store, minid, doc_put, MINID_K_FLOW, id, doc, exp, e);
	if (rc != 0) {
		json_decref(doc);
		return rc;
	}
	json_decref(c->flow);
	c->flow = doc;
	c->flow_id = id;
	c->flow_exp = exp;
	return 0;
}

int
minid_flow_save(struct minid_ctx *c, struct err *e)
{
	return store_call(c->app->store, minid, doc_update, MINID_K_FLOW, c->flow_id, c->flow, e);
}

void
minid_flow_end(struct minid_ctx *c)
{
	struct err e = { 0 };

	if (c->flow_id == NULL)
		return;
	store_call(c->app->store, minid, doc_delete, MINID_K_FLOW, c->flow_id, &e);
	minid_otc_void(c->app, c->flow_id);
}

const char *
minid_flow_str(const struct minid_ctx *c, const char *field)
{
	return json_string_value(json_object_get(c->flow, field));
}

int64_t
minid_flow_int(const struct minid_ctx *c, const char *field)
{
	return json_integer_value(json_object_get(c->flow, field));
}

const char *
minid_form_pid(struct minid_ctx *c)
{
	const char *raw = http_param_c(c->p, "pid");
	char digits[12];
	size_t n = 0;

	if (raw == NULL || strlen(raw) > 24)
		return NULL;
	/* People group the digits with spaces ("010190 12480"). */
	for (const char *s = raw; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if (*s < '0' || *s > '9' || n == 11)
			return NULL;
		digits[n++] = *s;
	}
	if (n != 11)
		return NULL;
	digits[n] = '\0';
	return arena_strdup(c->r->arena, digits);
}

/* ---- page parts ---- */

void
minid_page_begin(struct minid_ctx *c, struct buf *b, const char *title_msgid)
{
	buf_init(b, HTTP_MAX_RESPONSE);
	page_begin(b, c->lang, title_msgid);
}

static const char *
minid_here(struct minid_ctx *c, const char *path)
{
	if (c->flow_id != NULL)
		return arena_printf(c->r->arena, "%s%s?flow=%s", c->is->prefix, path, c->flow_id);
	if (c->ar != NULL)
		return arena_printf(c->r->arena, "%s%s?ar=%s", c->is->prefix, path, c->ar);
	return arena_printf(c->r->arena, "%s%s", c->is->prefix, path);
}

void
minid_page_send(struct minid_ctx *c, struct buf *b, int status)
{
	/* Cancel on every page of a login: back to the service with access_denied. */
	if (c->ar != NULL)
		page_cancel_form(b, c->lang, c->login.cancel_url, c->ar, c->login.csrf);
	page_end(b, c->lang, minid_here(c, c->path));
	http_resp_header(c->w, "Cache-Control", "no-store");
	http_resp_html(c->w, status, (struct str){ b->p, b->len });
	buf_free(b);
}

void
minid_form_begin(struct minid_ctx *c, struct buf *b, const char *id, const char *path)
{
	buf_printf(b, "<form id=\"%s\" method=\"post\" action=\"%s%s\" novalidate>", id,
		   c->is->prefix, path);
	if (c->ar != NULL && c->flow_id == NULL)
		buf_printf(b, "<input type=\"hidden\" name=\"ar\" value=\"%s\">", c->ar);
	if (c->flow_id != NULL)
		buf_printf(b, "<input type=\"hidden\" name=\"flow\" value=\"%s\">", c->flow_id);
	buf_printf(b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", minid_csrf(c));
}

void
minid_button(struct buf *b, const char *lang, const char *cls, const char *name,
	     const char *value, const char *msgid)
{
	buf_puts(b, "<button type=\"submit\"");
	if (cls != NULL)
		buf_printf(b, " class=\"%s\"", cls);
	if (name != NULL)
		buf_printf(b, " name=\"%s\" value=\"%s\"", name, value ? value : "");
	buf_puts(b, ">");
	buf_html(b, str_c(page_text(lang, msgid)));
	buf_puts(b, "</button>");
}

void
minid_text(struct buf *b, const char *lang, const char *tag, const char *msgid)
{
	buf_printf(b, "<%s>", tag);
	buf_html(b, str_c(page_text(lang, msgid)));
	buf_printf(b, "</%s>", tag);
}

void
minid_link(struct minid_ctx *c, struct buf *b, const char *id, const char *path,
	   const char *msgid)
{
	buf_printf(b, "<a id=\"%s\" href=\"%s%s", id, c->is->prefix, path);
	if (c->ar != NULL)
		buf_printf(b, "?ar=%s", c->ar);
	buf_puts(b, "\">");
	buf_html(b, str_c(page_text(c->lang, msgid)));
	buf_puts(b, "</a>");
}

void
minid_redirect(struct minid_ctx *c, const char *path)
{
	http_resp_redirect(c->w, minid_here(c, path));
}

void
minid_message_page(struct minid_ctx *c, int status, const char *title_msgid, const char *msgid,
		   const char *back_path, const char *back_msgid)
{
	struct buf b;

	minid_page_begin(c, &b, title_msgid);
	minid_text(&b, c->lang, "h1", title_msgid);
	buf_puts(&b, status >= 400 ? "<div role=\"alert\" id=\"message\">" : "<div id=\"message\">");
	minid_text(&b, c->lang, "p", msgid);
	buf_puts(&b, "</div>");
	if (back_path != NULL) {
		buf_puts(&b, "<p>");
		minid_link(c, &b, "next", back_path, back_msgid);
		buf_puts(&b, "</p>");
	}
	minid_page_send(c, &b, status);
}

const char *
minid_lock_text(enum minid_lock_kind kind)
{
	if (kind == MINID_LOCKED_HARD)
		return "Your MinID is locked after too many failed attempts. Choose "
		       "“Forgotten password” to set a new password and unlock it.";
	return "Your MinID is locked for a while after too many failed attempts. Try again "
	       "later, or choose “Forgotten password” to set a new password and unlock it now.";
}

void
minid_unavailable(struct minid_ctx *c)
{
	minid_message_page(c, 503, "Something went wrong",
			   "MinID is not available just now. Try again in a few minutes.", NULL,
			   NULL);
}

void
minid_expired(struct minid_ctx *c, const char *back_path)
{
	minid_message_page(c, 400, "This page has expired",
			   "The page has expired or was opened in another browser. Start again.",
			   back_path, "Start again");
}

const char *
minid_log_pid(struct minid_ctx *c, const char *pid)
{
	char masked[NATID_MASK_LEN];

	natid_mask(pid, masked);
	return arena_strdup(c->r->arena, masked);
}

/* ---- shared forms: one-time code, new password ---- */

void
minid_otc_notice(struct minid_ctx *c, struct buf *b, const struct minid_otc_view *v)
{
	if (v->notice == NULL)
		return;
	buf_puts(b, "<div class=\"notice\" role=\"status\">");
	minid_text(b, c->lang, "p", v->notice);
	buf_puts(b, "</div>");
}

void
minid_otc_alerts(struct minid_ctx *c, struct buf *b, bool static_hint,
		 const struct minid_otc_view *v)
{
	char left[24];

	if (static_hint) {
		buf_puts(b, "<p class=\"notice\">");
		buf_html(b, str_c(page_text(c->lang, "Test environment: synthetic test people "
						     "can also use the code 12345.")));
		buf_puts(b, "</p>");
	}
	if (v->err != NULL && v->left > 0) {
		snprintf(left, sizeof(left), "%lld", (long long)v->left);
		buf_puts(b, "<div role=\"alert\" id=\"form-error\"><p>");
		page_put(b, c->lang, "The code is wrong or has expired. Attempts left: {n}.", "n",
			 left);
		buf_puts(b, "</p></div>");
	} else if (v->err != NULL) {
		page_alert(b, c->lang, "form-error", v->err);
	}
}

void
minid_otc_page(struct minid_ctx *c, const char *title_msgid, const char *info_msgid,
	       const char *mobile, const struct minid_otc_view *v, const char *path, int status)
{
	char masked[24];
	struct buf b;

	sms_number_mask(mobile, masked);
	minid_page_begin(c, &b, title_msgid);
	minid_text(&b, c->lang, "h1", title_msgid);
	minid_otc_notice(c, &b, v);
	buf_puts(&b, "<p>");
	page_put(&b, c->lang, info_msgid, "mobile", masked);
	buf_puts(&b, "</p>");
	minid_otc_alerts(c, &b, minid_static_otc_allowed(c->app, minid_flow_str(c, "pid")), v);
	minid_form_begin(c, &b, "minid-code-form", path);
	page_field(&b, c->lang, "code", "text", "One-time code (5 digits)", NULL, NULL,
		   v->err ? "Check the code and try again." : NULL,
		   "inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"5\" required");
	minid_button(&b, c->lang, NULL, NULL, NULL, "Next");
	buf_puts(&b, "</form>");
	minid_form_begin(c, &b, "minid-code-options", path);
	minid_button(&b, c->lang, "link", "action", "resend", "Send a new code");
	buf_puts(&b, "</form>");
	minid_page_send(c, &b, status);
}

void
minid_new_password_fields(struct minid_ctx *c, struct buf *b, const char *err)
{
	page_field(b, c->lang, "password", "password", "New password",
		   "At least 10 characters, with upper-case and lower-case letters and digits. "
		   "Not your national identity number.",
		   NULL, err, "autocomplete=\"new-password\" maxlength=\"1024\" required");
	page_field(b, c->lang, "confirm", "password", "Repeat the new password", NULL, NULL,
		   NULL, "autocomplete=\"new-password\" maxlength=\"1024\" required");
}

const char *
minid_new_password_check(struct minid_ctx *c, const char *pid, const char *current)
{
	struct str pw = STR_NULL, confirm = STR_NULL;
	enum minid_pw_problem problem;

	if (http_param(c->p, "password", &pw) != 0 || pw.len == 0)
		return "Enter a new password.";
	if (http_param(c->p, "confirm", &confirm) != 0 || !ct_str_eq(pw, confirm))
		return "The two passwords are not the same.";
	problem = minid_password_check(pw, pid);
	if (problem != MINID_PW_OK)
		return minid_pw_problem_text(problem);
	/* §4: the new password must differ from the current one. */
	if (current != NULL && minid_password_verify(current, pw))
		return "The new password must be different from the current one.";
	return NULL;
}

struct minid_password_tx {
	struct porten *app;
	struct minid_account *acct;
};

static int
minid_password_tx_save(void *arg, struct err *e)
{
	struct minid_password_tx *x = arg;

	return minid_account_save(x->app, x->acct, e);
}

int
minid_new_password_save(struct minid_ctx *c, struct minid_account *acct, const char *pid,
			struct err *e)
{
	struct str pw = STR_NULL;
	char *hash = NULL;
	int rc;

	http_param(c->p, "password", &pw);
	rc = minid_password_hash(pw, c->app->cfg->minid_argon_ops, c->app->cfg->minid_argon_mem_kib,
				 &hash, e);
	if (rc != 0)
		return rc;
	/* The record takes the hash; the record's clear wipes it. */
	minid_account_set(&acct->pwhash, NULL);
	acct->pwhash = hash;
	acct->pw_changed = time_now();
	/*
	 * §6 step 4 (design): the new password and the end of every SSO
	 * session of the person, whoever holds it, in one transaction.
	 */
	return c->host->end_sessions(c->r, pid, minid_password_tx_save,
				     &(struct minid_password_tx){ c->app, acct }, e);
}
