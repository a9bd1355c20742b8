/*
 * The MinID account pages (spec/minid.md §6-§7, §10): after a full MinID
 * login (password and second factor) a person changes the password, the
 * mobile number (confirmed by a code sent to the new number) or activates
 * the MinID app (TOTP, RFC 6238: confirmed by a first code).  Each change
 * is told by SMS to the number on record.
 *
 * The "session" here is the flow itself (purpose account, authed): it
 * lives as long as a pending login (cfg pending_lifetime) and ends with
 * "log out".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"
#include "eid/minid/minid_int.h"
#include "sms/sms.h"
#include "ui/pages.h"

struct minid_acct_view {
	const char *notice;
	const char *pw_err;
	const char *mobile_err;
	const char *app_err;
};

static void
minid_acct_overview(struct minid_ctx *c, const struct minid_account *acct, const struct minid_acct_view *v,
		    int status)
{
	const char *mobile = acct->mobile;
	bool app = acct->totp != NULL;
	struct buf b;

	minid_page_begin(c, &b, "Your MinID");
	minid_text(&b, c->lang, "h1", "Your MinID");
	if (v->notice != NULL) {
		buf_puts(&b, "<div class=\"notice\" role=\"status\" id=\"notice\">");
		minid_text(&b, c->lang, "p", v->notice);
		buf_puts(&b, "</div>");
	}
	buf_puts(&b, "<dl><dt>");
	buf_html(&b, str_c(page_text(c->lang, "National identity number")));
	buf_puts(&b, "</dt><dd id=\"pid\">");
	buf_html(&b, str_c(minid_flow_str(c, "pid")));
	buf_puts(&b, "</dd><dt>");
	buf_html(&b, str_c(page_text(c->lang, "Mobile number")));
	buf_puts(&b, "</dt><dd id=\"mobile\">");
	buf_html(&b, str_c(mobile ? mobile : "-"));
	buf_puts(&b, "</dd><dt>");
	buf_html(&b, str_c(page_text(c->lang, "MinID app")));
	buf_puts(&b, "</dt><dd id=\"app\">");
	buf_html(&b, str_c(page_text(c->lang, app ? "Active" : "Not active")));
	buf_puts(&b, "</dd></dl>");

	minid_text(&b, c->lang, "h2", "Change password");
	/* The save ends every SSO session of the person (minid_new_password_save). */
	minid_text(&b, c->lang, "p",
		   "You will be logged out of every service you are logged in to.");
	minid_form_begin(c, &b, "minid-password-form", "/minid/account");
	minid_new_password_fields(c, &b, v->pw_err);
	minid_button(&b, c->lang, NULL, "action", "password", "Change password");
	buf_puts(&b, "</form>");

	minid_text(&b, c->lang, "h2", "Change mobile number");
	minid_form_begin(c, &b, "minid-mobile-form", "/minid/account");
	page_field(&b, c->lang, "mobile", "tel", "New mobile number",
		   "We send a code to the new number to confirm it.", NULL, v->mobile_err,
		   "autocomplete=\"tel\" inputmode=\"tel\" maxlength=\"24\" required");
	minid_button(&b, c->lang, NULL, "action", "mobile", "Change mobile number");
	buf_puts(&b, "</form>");

	minid_text(&b, c->lang, "h2", "MinID app");
	if (v->app_err != NULL)
		page_alert(&b, c->lang, "app-error", v->app_err);
	minid_form_begin(c, &b, "minid-app-form", "/minid/account");
	if (app) {
		minid_text(&b, c->lang, "p",
			   "You log in with codes from the MinID app. You can still ask for a code "
			   "by SMS.");
		minid_button(&b, c->lang, "secondary", "action", "app_remove", "Remove the app");
	} else {
		minid_text(&b, c->lang, "p",
			   "Use codes from the MinID app, or another authenticator app, instead of "
			   "codes by SMS.");
		minid_button(&b, c->lang, NULL, "action", "app", "Activate the MinID app");
	}
	buf_puts(&b, "</form>");
	minid_form_begin(c, &b, "minid-logout-form", "/minid/account");
	minid_button(&b, c->lang, "secondary", "action", "logout", "Log out");
	buf_puts(&b, "</form>");
	minid_page_send(c, &b, status);
}

/* The enrolment page: the secret to type into the app, then its first code. */
static void
minid_acct_app_page(struct minid_ctx *c, const char *err, int status)
{
	unsigned char secret[64];
	const char *pid = minid_flow_str(c, "pid");
	char *b32 = NULL;
	struct err e = { 0 };
	size_t n = 0;
	struct buf b;

	if (minid_unseal(c->app, pid, minid_flow_str(c, "app_pending"), secret, sizeof(secret), &n,
			 &e) != 0 ||
	    minid_totp_b32(secret, n, &b32) != 0) {
		minid_message_page(c, 500, "Something went wrong",
				   "MinID is not available just now. Try again in a few minutes.",
				   NULL, NULL);
		goto out;
	}
	minid_page_begin(c, &b, "Activate the MinID app");
	minid_text(&b, c->lang, "h1", "Activate the MinID app");
	minid_text(&b, c->lang, "p",
		   "In the MinID app (or another authenticator app), choose to add an account and "
		   "type in this key. It is shown only now.");
	buf_puts(&b, "<p class=\"code\" id=\"app-secret\">");
	for (size_t i = 0; b32[i] != '\0'; i++) {
		if (i > 0 && i % 4 == 0)
			buf_puts(&b, " ");
		buf_append(&b, &b32[i], 1);
	}
	buf_puts(&b, "</p><p>");
	buf_html(&b, str_c(page_text(c->lang, "Or use this address in an app that accepts it:")));
	buf_puts(&b, "</p><p class=\"code\" id=\"app-uri\">otpauth://totp/ID-porten:MinID?secret=");
	buf_puts(&b, b32);
	buf_printf(&b, "&amp;issuer=ID-porten&amp;digits=%d&amp;period=%d</p>", MINID_TOTP_DIGITS,
		   MINID_TOTP_STEP);
	if (err != NULL)
		page_alert(&b, c->lang, "form-error", err);
	minid_form_begin(c, &b, "minid-app-confirm-form", "/minid/account");
	page_field(&b, c->lang, "code", "text", "Code from the app (6 digits)",
		   "Enter the code the app shows now to finish.", NULL,
		   err ? "#form-error" : NULL,
		   "inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\" required");
	minid_button(&b, c->lang, NULL, "action", "app_confirm", "Activate");
	minid_button(&b, c->lang, "secondary", "action", "back", "Back");
	buf_puts(&b, "</form>");
	minid_page_send(c, &b, status);
out:
	secure_wipe(secret, sizeof(secret));
	if (b32 != NULL)
		secure_wipe(b32, strlen(b32));
	free(b32);
}

static const char mobile_info[] = "We have sent a one-time code to {mobile}. Enter it to confirm "
				  "the new number.";

static void
minid_acct_password(struct minid_ctx *c, struct minid_account *acct)
{
	struct minid_acct_view v = { 0 };
	const char *pid = minid_flow_str(c, "pid");
	struct err e = { 0 };

	v.pw_err = minid_new_password_check(c, pid, acct->pwhash);
	if (v.pw_err != NULL) {
		minid_acct_overview(c, acct, &v, 400);
		return;
	}
	/*
	 * Whoever logged in elsewhere with the old password loses the SSO
	 * session, as after a reset; these pages' own session goes on.
	 */
	if (minid_new_password_save(c, acct, pid, &e) != 0) {
		minid_unavailable(c);
		return;
	}
	minid_notify(c->app, acct->mobile, c->lang,
		     "Your MinID password has been changed. If this was not you, contact MinID "
		     "user support. ID-porten");
	v.notice = "Your password has been changed.";
	minid_acct_overview(c, acct, &v, 200);
}

static void
minid_acct_mobile(struct minid_ctx *c, struct minid_account *acct)
{
	struct minid_acct_view v = { 0 };
	const char *typed = http_param_c(c->p, "mobile"), *why;
	const char *now = acct->mobile;
	char e164[SMS_MAX_TO + 1];
	struct err e = { 0 };

	if (typed == NULL || sms_number_normalise(str_c(typed), e164) != 0) {
		v.mobile_err = "Enter a mobile number, for example +47 912 34 567.";
		minid_acct_overview(c, acct, &v, 400);
		return;
	}
	if (now != NULL && strcmp(now, e164) == 0) {
		v.mobile_err = "This is already your mobile number.";
		minid_acct_overview(c, acct, &v, 400);
		return;
	}
	json_object_set_new(c->flow, "sub", json_string("mobile"));
	json_object_set_new(c->flow, "new_mobile", json_string(e164));
	json_object_set_new(c->flow, "sends", json_integer(0));
	minid_flow_save(c, &e);
	why = minid_flow_send_code(c, e164);
	if (why != NULL) {
		json_object_del(c->flow, "sub");
		minid_flow_save(c, &e);
		v.mobile_err = why;
		minid_acct_overview(c, acct, &v, 503);
		return;
	}
	minid_redirect(c, "/minid/account");
}

static void
minid_acct_mobile_code(struct minid_ctx *c, struct minid_account *acct)
{
	struct minid_otc_view ov = { 0 };
	struct minid_acct_view v = { 0 };
	const char *pid = minid_flow_str(c, "pid"), *newm = minid_flow_str(c, "new_mobile");
	const char *action = http_param_c(c->p, "action");
	char *old = NULL;
	enum minid_code_result res;
	struct err e = { 0 };
	struct str code = STR_NULL;
	int64_t left = 0;

	if (action != NULL && strcmp(action, "resend") == 0) {
		ov.err = minid_flow_send_code(c, newm);
		if (ov.err == NULL)
			ov.notice = "A new code has been sent.";
		minid_otc_page(c, "Confirm the new number", mobile_info, newm, &ov,
			       "/minid/account", ov.err ? 429 : 200);
		return;
	}
	if (http_param(c->p, "code", &code) != 0)
		code = STR_NULL;
	if (minid_otc_check(c->app, c->flow_id, c->flow_exp, code,
			    minid_static_otc_allowed(c->app, pid), &res, &left, &e) != 0) {
		minid_unavailable(c);
		return;
	}
	if (res == MINID_CODE_WRONG) {
		ov.err = "The code is wrong or has expired.";
		ov.left = left;
		minid_otc_page(c, "Confirm the new number", mobile_info, newm, &ov,
			       "/minid/account", 400);
		return;
	}
	json_object_del(c->flow, "sub");
	if (res == MINID_CODE_EXHAUSTED) {
		minid_flow_save(c, &e);
		v.mobile_err = "Too many wrong codes. The number was not changed.";
		minid_acct_overview(c, acct, &v, 403);
		return;
	}
	old = acct->mobile != NULL ? strdup(acct->mobile)
		      : NULL;
	if (minid_account_set(&acct->mobile, newm) != 0 ||
	    minid_account_save(c->app, acct, &e) != 0) {
		free(old);
		minid_unavailable(c);
		return;
	}
	minid_flow_save(c, &e);
	/* MinID and KRR share the person's mobile number (spec/minid.md) */
	minid_mobile_share(c->app, acct->pid, newm, c->lang, c->r->rid);
	/* §10: the old number hears of the change, in case it was not its owner. */
	minid_notify(c->app, old, c->lang,
		     "The mobile number of your MinID has been changed. If this was not you, "
		     "contact MinID user support. ID-porten");
	free(old);
	v.notice = "Your mobile number has been changed.";
	minid_acct_overview(c, acct, &v, 200);
}

static void
minid_acct_app_begin(struct minid_ctx *c)
{
	unsigned char secret[MINID_TOTP_SECRET_BYTES];
	char *b32 = NULL, *sealed = NULL;
	struct err e = { 0 };

	if (minid_totp_new_secret(secret, &b32, &e) != 0 ||
	    minid_seal(c->app, minid_flow_str(c, "pid"), secret, sizeof(secret), &sealed, &e) != 0) {
		minid_unavailable(c);
		goto out;
	}
	json_object_set_new(c->flow, "sub", json_string("app"));
	json_object_set_new(c->flow, "app_pending", json_string(sealed));
	if (minid_flow_save(c, &e) != 0) {
		minid_unavailable(c);
		goto out;
	}
	minid_redirect(c, "/minid/account");
out:
	secure_wipe(secret, sizeof(secret));
	if (b32 != NULL)
		secure_wipe(b32, strlen(b32));
	free(b32);
	free(sealed);
}

static void
minid_acct_app_confirm(struct minid_ctx *c, struct minid_account *acct)
{
	unsigned char secret[64];
	struct minid_acct_view v = { 0 };
	const char *pid = minid_flow_str(c, "pid");
	struct err e = { 0 };
	struct str code = STR_NULL;
	int64_t step = 0, slot = 0;
	char key[80];
	size_t n = 0;
	int rc;

	snprintf(key, sizeof(key), "app.%s", c->flow_id);
	rc = minid_try_claim(c->app, key, c->app->cfg->minid_otc_attempts, c->flow_exp, &slot, &e);
	if (rc == ERR_LIMIT) {
		json_object_del(c->flow, "sub");
		json_object_del(c->flow, "app_pending");
		minid_flow_save(c, &e);
		v.app_err = "Too many wrong codes. The app was not activated.";
		minid_acct_overview(c, acct, &v, 403);
		return;
	}
	if (http_param(c->p, "code", &code) != 0)
		code = STR_NULL;
	if (rc != 0 || minid_unseal(c->app, pid, minid_flow_str(c, "app_pending"), secret,
				    sizeof(secret), &n, &e) != 0) {
		minid_unavailable(c);
		return;
	}
	if (!minid_totp_match(secret, n, time_now(), 1, code, &step)) {
		secure_wipe(secret, sizeof(secret));
		minid_acct_app_page(c, "The code is wrong. Check the time on your phone and try "
				       "again.",
				    400);
		return;
	}
	secure_wipe(secret, sizeof(secret));
	if (minid_account_set(&acct->totp, minid_flow_str(c, "app_pending")) != 0 ||
	    minid_account_save(c->app, acct, &e) != 0) {
		minid_unavailable(c);
		return;
	}
	json_object_del(c->flow, "sub");
	json_object_del(c->flow, "app_pending");
	minid_flow_save(c, &e);
	/* §10: a new app on the account is told by SMS. */
	minid_notify(c->app, acct->mobile, c->lang,
		     "The MinID app has been activated for your MinID. If this was not you, contact "
		     "MinID user support. ID-porten");
	log_info(c->r->rid, "minid: app activated, id %s", minid_log_pid(c, pid));
	v.notice = "The MinID app is active. Next time you log in, enter the code from the app.";
	minid_acct_overview(c, acct, &v, 200);
}

void
minid_handle_account(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	struct minid_acct_view v = { 0 };
	struct minid_login_view lv = { 0 };
	struct minid_ctx c;
	struct err e = { 0 };
	struct minid_account acct = { 0 };
	const char *sub, *action;

	if (minid_ctx_open(&c, r, w, flow, "/minid/account", "account") != 0)
		goto out;
	if (c.flow == NULL) {
		if (!c.post)
			minid_login_form(&c, &lv, 200);
		else
			minid_password_step(&c, "account");
		goto out;
	}
	if (!json_is_true(json_object_get(c.flow, "authed"))) {
		minid_redirect(&c, "/minid/code");
		goto out;
	}
	if (minid_account_get(c.app, minid_flow_str(&c, "pid"), &acct, &e) != 0 ||
	    !minid_account_usable(&acct)) {
		minid_flow_end(&c);
		c.flow_id = NULL;
		minid_message_page(&c, 403, "Your MinID",
				   "This MinID cannot be used now. Log in again.", "/minid/account",
				   "Log in");
		goto out;
	}
	sub = minid_flow_str(&c, "sub");
	if (!c.post) {
		if (sub != NULL && strcmp(sub, "mobile") == 0)
			minid_otc_page(&c, "Confirm the new number", mobile_info,
				       minid_flow_str(&c, "new_mobile"),
				       &(struct minid_otc_view){ 0 }, "/minid/account", 200);
		else if (sub != NULL && strcmp(sub, "app") == 0)
			minid_acct_app_page(&c, NULL, 200);
		else
			minid_acct_overview(&c, &acct, &v, 200);
		goto out;
	}
	if (!minid_rate_ok(&c))
		goto out;
	action = http_param_c(c.p, "action");
	if (action != NULL && strcmp(action, "logout") == 0) {
		minid_flow_end(&c);
		c.flow_id = NULL;
		minid_message_page(&c, 200, "You are logged out",
				   "You have logged out of your MinID pages.", "/minid/account",
				   "Log in again");
	} else if (sub != NULL && strcmp(sub, "mobile") == 0) {
		minid_acct_mobile_code(&c, &acct);
	} else if (sub != NULL && strcmp(sub, "app") == 0 && action != NULL &&
		   strcmp(action, "app_confirm") == 0) {
		minid_acct_app_confirm(&c, &acct);
	} else if (sub != NULL && strcmp(sub, "app") == 0) {
		json_object_del(c.flow, "sub");
		json_object_del(c.flow, "app_pending");
		minid_flow_save(&c, &e);
		minid_acct_overview(&c, &acct, &v, 200);
	} else if (action != NULL && strcmp(action, "password") == 0) {
		minid_acct_password(&c, &acct);
	} else if (action != NULL && strcmp(action, "mobile") == 0) {
		minid_acct_mobile(&c, &acct);
	} else if (action != NULL && strcmp(action, "app") == 0) {
		minid_acct_app_begin(&c);
	} else if (action != NULL && strcmp(action, "app_remove") == 0) {
		if (minid_account_set(&acct.totp, NULL) != 0 ||
		    minid_account_save(c.app, &acct, &e) != 0) {
			minid_unavailable(&c);
			goto out;
		}
		minid_notify(c.app, acct.mobile, c.lang,
			     "The MinID app has been removed from your MinID. ID-porten");
		v.notice = "The MinID app has been removed. You get codes by SMS.";
		minid_acct_overview(&c, &acct, &v, 200);
	} else {
		minid_acct_overview(&c, &acct, &v, 400);
	}
out:
	minid_account_clear(&acct);
	minid_ctx_close(&c);
}
