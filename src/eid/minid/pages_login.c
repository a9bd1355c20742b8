/*
 * MinID login (spec/minid.md §2-§5): national identity number and password,
 * then the second factor; the result goes to the login core as
 * idporten-loa-substantial with amr Minid-OTC or Minid-TOTP.
 *
 * The same two steps open the account pages (purpose "account"): there
 * the result is a short session on those pages instead of a code.
 */
#include <stdio.h>
#include <string.h>

#include "core/loa.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"
#include "eid/minid/minid_int.h"
#include "eid/people.h"
#include "sms/sms.h"
#include "ui/pages.h"

static const struct eid_route minid_routes[] = {
	{ "GET", "/minid", minid_handle_login, EID_DOOR_OWN },
	{ "POST", "/minid", minid_handle_login, EID_DOOR_OWN },
	{ "GET", "/minid/code", minid_handle_code, EID_DOOR_OWN },
	{ "POST", "/minid/code", minid_handle_code, EID_DOOR_OWN },
	{ "GET", "/minid/reset", minid_handle_reset, EID_DOOR_OWN },
	{ "POST", "/minid/reset", minid_handle_reset, EID_DOOR_OWN },
	{ "GET", "/minid/register", minid_handle_register, EID_DOOR_OWN },
	{ "POST", "/minid/register", minid_handle_register, EID_DOOR_OWN },
	{ "GET", "/minid/activate", minid_handle_activate, EID_DOOR_OWN },
	{ "POST", "/minid/activate", minid_handle_activate, EID_DOOR_OWN },
	{ "GET", "/minid/account", minid_handle_account, EID_DOOR_OWN },
	{ "POST", "/minid/account", minid_handle_account, EID_DOOR_OWN },
	{ NULL, NULL, NULL, EID_DOOR_NONE },
};

const struct eid_provider eid_minid = {
	.name = "minid",
	.display = "MinID",
	.desc_key = N_("National identity number and password, then a code by SMS or from the "
		       "MinID app"),
	.path = "/minid",
	.levels = EID_LEVEL_SUBSTANTIAL,
	.test_only = false,
	.routes = minid_routes,
};

/* ---- step 1: number and password ---- */

void
minid_login_form(struct minid_ctx *c, const struct minid_login_view *v, int status)
{
	bool account = strcmp(c->path, "/minid/account") == 0;
	struct buf b;

	minid_page_begin(c, &b, account ? "Your MinID" : "Log in with MinID");
	minid_text(&b, c->lang, "h1", account ? "Your MinID" : "Log in with MinID");
	if (account)
		minid_text(&b, c->lang, "p",
			   "Log in to change your password or mobile number, or to activate the "
			   "MinID app.");
	if (v->summary != NULL)
		page_alert(&b, c->lang, "form-error", v->summary);

	minid_form_begin(c, &b, "minid-login-form", c->path);
	page_field(&b, c->lang, "pid", "text", "National identity number", "11 digits", v->pid,
		   v->pid_err,
		   "inputmode=\"numeric\" autocomplete=\"username\" maxlength=\"24\" required");
	/* A summary names the pair (number or password): tie it to the password field. */
	page_field(&b, c->lang, "password", "password", "Password", NULL, NULL,
		   v->pw_err ? v->pw_err : v->summary ? "#form-error" : NULL,
		   "autocomplete=\"current-password\" maxlength=\"1024\" required");
	minid_button(&b, c->lang, NULL, NULL, NULL, "Next");
	buf_puts(&b, "</form><ul class=\"links\"><li>");
	minid_link(c, &b, "forgot", "/minid/reset", "Forgotten password?");
	buf_puts(&b, "</li><li>");
	minid_link(c, &b, "register", "/minid/register", "Get MinID");
	buf_puts(&b, "</li><li>");
	minid_link(c, &b, "activate", "/minid/activate", "I have an activation code");
	buf_puts(&b, "</li></ul>");
	minid_page_send(c, &b, status);
}

/* Why an account with the right password still cannot log in. */
static const char *
minid_unusable_text(const struct minid_account *acct)
{
	if (acct->blocked)
		return "This MinID is blocked. Contact MinID user support.";
	if (acct->status == MINID_ST_LOCKED)
		return minid_lock_text(MINID_LOCKED_HARD);
	if (acct->status == MINID_ST_PENDING_ACTIVATION)
		return "This MinID is not activated yet. Use the activation code from your letter.";
	return "This MinID is closed.";
}

const char *
minid_flow_send_code(struct minid_ctx *c, const char *mobile)
{
	int64_t sends = minid_flow_int(c, "sends");
	struct err e = { 0 };
	int rc;

	/* §3: the first code and at most minid_otc_resends more per login. */
	if (sends > c->app->cfg->minid_otc_resends)
		return "You cannot get more codes for this login. Start again later.";
	if (mobile == NULL)
		return "There is no mobile number registered for this MinID.";
	rc = minid_otc_send(c->app, c->flow_id, mobile, c->lang, &e);
	if (rc == ERR_LIMIT)
		return "Too many codes have been sent to this number. Try again in an hour.";
	if (rc != 0) {
		log_err(c->r->rid, "minid: code not sent: %s", e.msg);
		return "The code could not be sent. Try again in a few minutes.";
	}
	json_object_set_new(c->flow, "sends", json_integer(sends + 1));
	if (minid_flow_save(c, &e) != 0)
		log_warn(c->r->rid, "minid: flow not saved: %s", e.msg);
	return NULL;
}

/* Steps 1 and 2 joined: the password step of a login or of the account pages. */
void
minid_password_step(struct minid_ctx *c, const char *purpose)
{
	struct porten *app = c->app;
	struct minid_login_view v = { .pid = http_param_c(c->p, "pid") };
	const char *pid = minid_form_pid(c), *why;
	enum minid_lock_kind kind = MINID_UNLOCKED;
	struct minid_attempt a;
	struct err e = { 0 };
	struct minid_account acct = { 0 };
	struct str pw = STR_NULL;
	int64_t until = 0;
	char *rehash = NULL;
	bool ok;

	if (!minid_rate_ok(c))
		return;
	if (pid == NULL || !people_pid_ok(app, pid)) {
		v.pid_err = "Enter a valid national identity number (11 digits).";
		minid_login_form(c, &v, 400);
		return;
	}
	if (http_param(c->p, "password", &pw) != 0 || pw.len == 0 || pw.len > 1024) {
		v.pw_err = "Enter your password.";
		minid_login_form(c, &v, 400);
		return;
	}
	if (minid_attempt_begin(app, pid, &a, &kind, &until, &e) != 0) {
		log_err(c->r->rid, "minid: guard: %s", e.msg);
		minid_unavailable(c);
		return;
	}
	if (kind != MINID_UNLOCKED) {
		log_info(c->r->rid, "minid: login refused, locked, id %s from %s",
			 minid_log_pid(c, pid), c->r->remote_addr);
		v.summary = minid_lock_text(kind);
		minid_login_form(c, &v, 403);
		return;
	}
	if (minid_account_get(app, pid, &acct, &e) == 0 && acct.pwhash != NULL) {
		ok = minid_password_verify(acct.pwhash, pw);
	} else {
		/*
		 * No account, or one still waiting for activation (no password):
		 * spend the same time and give the same answer (§2).
		 */
		minid_password_dummy_verify(pw, app->cfg->minid_argon_ops,
					    app->cfg->minid_argon_mem_kib);
		ok = false;
	}
	if (!ok) {
		minid_attempt_fail(app, pid, &a, &kind, &until, &e);
		log_info(c->r->rid, "minid: wrong password, id %s from %s, attempt %lld%s",
			 minid_log_pid(c, pid), c->r->remote_addr, (long long)a.slot,
			 kind != MINID_UNLOCKED ? ", now locked" : "");
		v.summary = kind != MINID_UNLOCKED
				    ? minid_lock_text(kind)
				    : "The national identity number or the password is wrong.";
		minid_login_form(c, &v, kind != MINID_UNLOCKED ? 403 : 401);
		goto out;
	}
	if (!minid_account_usable(&acct)) {
		minid_attempt_fail(app, pid, &a, &kind, &until, &e);
		v.summary = minid_unusable_text(&acct);
		minid_login_form(c, &v, 403);
		goto out;
	}
	/*
	 * §5: the password alone is neither a failure nor a reset; the code
	 * step decides (a whole login resets, giving up counts one failure).
	 */
	if (minid_attempt_release(app, pid, &a, &e) != 0)
		log_warn(c->r->rid, "minid: attempt not released: %s", e.msg);
	/* §4: parameters raised since this hash was made: hash again while we have the password. */
	if (minid_password_needs_rehash(acct.pwhash,
					app->cfg->minid_argon_ops, app->cfg->minid_argon_mem_kib) &&
	    minid_password_hash(pw, app->cfg->minid_argon_ops, app->cfg->minid_argon_mem_kib,
				&rehash, &e) == 0) {
		if (minid_account_set(&acct.pwhash, rehash) != 0 ||
		    minid_account_save(app, &acct, &e) != 0)
			log_warn(c->r->rid, "minid: rehash not saved: %s", e.msg);
		else
			log_info(c->r->rid, "minid: password hash upgraded, id %s",
				 minid_log_pid(c, pid));
	}
	if (minid_flow_new(c, purpose, pid, &e) != 0) {
		minid_unavailable(c);
		goto out;
	}
	json_object_set_new(c->flow, "step", json_string("code"));
	json_object_set_new(c->flow, "factor", json_string(acct.totp != NULL ? "totp" : "otc"));
	minid_flow_save(c, &e);
	if (acct.totp == NULL) {
		why = minid_flow_send_code(c, acct.mobile);
		if (why != NULL) {
			minid_flow_end(c);
			minid_message_page(c, 503, "The code could not be sent", why, NULL, NULL);
			goto out;
		}
	}
	minid_redirect(c, "/minid/code");
out:
	if (rehash != NULL)
		secure_wipe(rehash, strlen(rehash));
	free(rehash);
	minid_account_clear(&acct);
}

void
minid_handle_login(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	struct minid_ctx c;
	struct minid_login_view v = { 0 };

	if (minid_ctx_open(&c, r, w, flow, "/minid", "login") != 0)
		goto out;
	if (c.ar == NULL) {
		minid_message_page(&c, 400, "Log in with MinID",
				   "Start the login from the service you want to use.",
				   "/minid/account", "Manage your MinID");
		goto out;
	}
	/* MinID is substantial only; a service asking for high must get another eID (§1). */
	if (c.login.min_level > EID_LEVEL_SUBSTANTIAL) {
		minid_message_page(&c, 400, "Log in with MinID",
				   "MinID does not meet the security level this service requires. "
				   "Choose another electronic ID.",
				   NULL, NULL);
		goto out;
	}
	if (!c.post)
		minid_login_form(&c, &v, 200);
	else
		minid_password_step(&c, "login");
out:
	minid_ctx_close(&c);
}

/* ---- step 2: the second factor ---- */

static void
minid_code_form(struct minid_ctx *c, const struct minid_account *acct,
		const struct minid_otc_view *v, int status)
{
	bool totp = strcmp(minid_flow_str(c, "factor") ?: "otc", "totp") == 0;
	const char *mobile = acct->mobile;
	char masked[24];
	struct buf b;

	sms_number_mask(mobile, masked);
	minid_page_begin(c, &b, totp ? "Code from the MinID app" : "Code from SMS");
	minid_text(&b, c->lang, "h1", totp ? "Code from the MinID app" : "Code from SMS");
	minid_otc_notice(c, &b, v);
	buf_puts(&b, "<p id=\"code-info\">");
	if (totp)
		buf_html(&b, str_c(page_text(c->lang, "Open the MinID app (or the authenticator "
						      "you activated) and enter the code it shows.")));
	else
		page_put(&b, c->lang, "We have sent a one-time code to {mobile}. It is valid for 5 "
				      "minutes.",
			 "mobile", masked);
	buf_puts(&b, "</p>");
	minid_otc_alerts(c, &b, !totp && minid_static_otc_allowed(c->app, minid_flow_str(c, "pid")),
			 v);
	minid_form_begin(c, &b, "minid-code-form", "/minid/code");
	page_field(&b, c->lang, "code", "text",
		   totp ? "Code from the app (6 digits)" : "One-time code (5 digits)", NULL, NULL,
		   v->err ? "Check the code and try again." : NULL,
		   totp ? "inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\" "
			  "required"
			: "inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"5\" "
			  "required");
	minid_button(&b, c->lang, NULL, NULL, NULL, "Log in");
	buf_puts(&b, "</form>");
	minid_form_begin(c, &b, "minid-code-options", "/minid/code");
	if (!totp)
		minid_button(&b, c->lang, "link", "action", "resend", "Send a new code");
	if (!totp && acct->totp != NULL)
		minid_button(&b, c->lang, "link", "action", "app", "Use the MinID app instead");
	if (totp)
		minid_button(&b, c->lang, "link", "action", "sms", "Send a code by SMS instead");
	buf_puts(&b, "</form>");
	minid_page_send(c, &b, status);
}

/* The second factor is done: a code to the client, or the account pages. */
static void
minid_finish(struct minid_ctx *c, struct minid_account *acct, const char *amr)
{
	const char *pid = minid_flow_str(c, "pid"), *purpose = minid_flow_str(c, "purpose");
	struct err e = { 0 };
	struct eid_result res;

	minid_attempt_succeed(c->app, pid, &e);
	acct->last_login = time_now();
	if (minid_account_save(c->app, acct, &e) != 0)
		log_warn(c->r->rid, "minid: last login not saved: %s", e.msg);
	log_info(c->r->rid, "minid: authenticated, id %s, %s, from %s", minid_log_pid(c, pid), amr,
		 c->r->remote_addr);
	if (purpose != NULL && strcmp(purpose, "account") == 0) {
		json_object_set_new(c->flow, "step", json_string("account"));
		json_object_set_new(c->flow, "authed", json_true());
		minid_otc_void(c->app, c->flow_id);
		minid_flow_save(c, &e);
		minid_redirect(c, "/minid/account");
		return;
	}
	res = (struct eid_result){
		.pid = arena_strdup(c->r->arena, pid),
		.acr = ACR_SUBSTANTIAL,
		.amr = amr,
		.eid = "minid",
		.auth_time = time_now(),
	};
	minid_flow_end(c);
	c->host->complete(&c->login, c->r, c->w, &res);
}

/* The code step ends here: the flow is over, and the person may start again. */
static void
minid_code_stop(struct minid_ctx *c, const char *title, const char *text)
{
	minid_flow_end(c);
	c->flow_id = NULL;
	minid_message_page(c, 403, title, text, c->ar ? "/minid" : "/minid/account",
			   "Start again");
}

/* Too many wrong codes: the login stops and counts as one failed attempt (§5). */
static void
minid_code_exhausted(struct minid_ctx *c)
{
	const char *pid = minid_flow_str(c, "pid");
	enum minid_lock_kind kind = MINID_UNLOCKED;
	struct err e = { 0 };
	int64_t until = 0;

	if (minid_attempt_failure(c->app, pid, &kind, &until, &e) != 0)
		log_err(c->r->rid, "minid: failure not counted: %s", e.msg);
	log_info(c->r->rid, "minid: too many wrong codes, id %s", minid_log_pid(c, pid));
	minid_code_stop(c, "The login was stopped",
			kind != MINID_UNLOCKED ? minid_lock_text(kind)
					       : "The login was stopped after too many wrong codes. "
						 "You can start again.");
}

/*
 * §5, §7: a block or a lock set after the password step (by an operator,
 * or by failures from another browser) stops the login here too, with the
 * password step's words.  True when the page is sent.
 */
static bool
minid_code_refused(struct minid_ctx *c, const struct minid_account *acct)
{
	enum minid_lock_kind kind = MINID_UNLOCKED;
	const char *why = NULL;
	struct err e = { 0 };
	int64_t until = 0;

	if (!minid_account_usable(acct)) {
		why = minid_unusable_text(acct);
	} else if (minid_lock_state(c->app, acct->pid, &kind, &until, &e) != 0) {
		log_err(c->r->rid, "minid: guard: %s", e.msg);
		minid_unavailable(c);
		return true;
	} else if (kind != MINID_UNLOCKED) {
		why = minid_lock_text(kind);
	}
	if (why == NULL)
		return false;
	log_info(c->r->rid, "minid: login refused at the code step, id %s from %s",
		 minid_log_pid(c, acct->pid), c->r->remote_addr);
	minid_code_stop(c, c->ar ? "Log in with MinID" : "Your MinID", why);
	return true;
}

void
minid_handle_code(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	struct minid_otc_view v = { 0 };
	enum minid_code_result res = MINID_CODE_WRONG;
	struct minid_ctx c;
	struct err e = { 0 };
	struct minid_account acct = { 0 };
	const char *action, *step;
	struct str code = STR_NULL;
	int64_t left = 0;
	bool totp;
	int rc;

	if (minid_ctx_open(&c, r, w, flow, "/minid/code", "login account") != 0)
		goto out;
	step = minid_flow_str(&c, "step");
	if (c.flow == NULL || step == NULL || strcmp(step, "code") != 0 ||
	    minid_account_get(c.app, minid_flow_str(&c, "pid"), &acct, &e) != 0) {
		minid_expired(&c, NULL);
		goto out;
	}
	if (!c.post) {
		minid_code_form(&c, &acct, &v, 200);
		goto out;
	}
	if (!minid_rate_ok(&c) || minid_code_refused(&c, &acct))
		goto out;
	totp = strcmp(minid_flow_str(&c, "factor") ?: "otc", "totp") == 0;
	action = http_param_c(c.p, "action");
	if (action != NULL && strcmp(action, "app") == 0 && acct.totp != NULL) {
		json_object_set_new(c.flow, "factor", json_string("totp"));
		minid_otc_void(c.app, c.flow_id);
		minid_flow_save(&c, &e);
		minid_code_form(&c, &acct, &v, 200);
		goto out;
	}
	if (action != NULL && (strcmp(action, "resend") == 0 || strcmp(action, "sms") == 0)) {
		json_object_set_new(c.flow, "factor", json_string("otc"));
		v.err = minid_flow_send_code(&c, acct.mobile);
		if (v.err == NULL)
			v.notice = "A new code has been sent.";
		minid_flow_save(&c, &e);
		minid_code_form(&c, &acct, &v, v.err ? 429 : 200);
		goto out;
	}
	/* People copy codes with spaces; the code itself is digits only. */
	if (http_param(c.p, "code", &code) != 0)
		code = STR_NULL;
	while (code.len > 0 && code.p[code.len - 1] == ' ')
		code.len--;
	while (code.len > 0 && code.p[0] == ' ') {
		code.p++;
		code.len--;
	}
	if (totp)
		rc = minid_totp_check(c.app, &acct, c.flow_id, c.flow_exp, code, &res, &left, &e);
	else
		rc = minid_otc_check(c.app, c.flow_id, c.flow_exp, code,
				     minid_static_otc_allowed(c.app, minid_flow_str(&c, "pid")),
				     &res, &left, &e);
	if (rc != 0) {
		log_err(c.r->rid, "minid: code check: %s", e.msg);
		minid_unavailable(&c);
		goto out;
	}
	if (res == MINID_CODE_OK) {
		minid_finish(&c, &acct, totp ? MINID_AMR_TOTP : MINID_AMR_OTC);
		goto out;
	}
	if (res == MINID_CODE_EXHAUSTED) {
		minid_code_exhausted(&c);
		goto out;
	}
	v.err = "The code is wrong or has expired.";
	v.left = left;
	minid_code_form(&c, &acct, &v, 400);
out:
	minid_account_clear(&acct);
	minid_ctx_close(&c);
}
