/*
 * MinID life cycle pages: forgotten password (spec/minid.md §6), ordering
 * a MinID and activating it with the code from the letter (§7).
 *
 * None of them tells whether a number has a MinID: the reset always says
 * "if there is a MinID with a mobile number, a code was sent", and the
 * activation fails the same way for an unknown number and a wrong code.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"
#include "eid/minid/minid_int.h"
#include "eid/people.h"
#include "sms/sms.h"
#include "ui/pages.h"

/* Where "log in" leads after a reset or an activation. */
static const char *
minid_login_path(const struct minid_ctx *c)
{
	return c->ar != NULL ? "/minid" : "/minid/account";
}

/* ---- forgotten password (§6) ---- */

static void
minid_reset_start_form(struct minid_ctx *c, const char *pid, const char *err, int status)
{
	struct buf b;

	minid_page_begin(c, &b, "Forgotten password");
	minid_text(&b, c->lang, "h1", "Forgotten password");
	minid_text(&b, c->lang, "p",
		   "We send a one-time code to the mobile number registered for your MinID. Then "
		   "you choose a new password. This also unlocks a locked MinID.");
	minid_form_begin(c, &b, "minid-reset-form", "/minid/reset");
	page_field(&b, c->lang, "pid", "text", "National identity number", "11 digits", pid, err,
		   "inputmode=\"numeric\" autocomplete=\"username\" maxlength=\"24\" required");
	minid_button(&b, c->lang, NULL, NULL, NULL, "Send code");
	buf_puts(&b, "</form><p>");
	minid_link(c, &b, "back", minid_login_path(c), "Back to login");
	buf_puts(&b, "</p>");
	minid_page_send(c, &b, status);
}

static void
minid_reset_password_form(struct minid_ctx *c, const char *err, int status)
{
	struct buf b;

	minid_page_begin(c, &b, "Choose a new password");
	minid_text(&b, c->lang, "h1", "Choose a new password");
	/* The save ends every SSO session of the person (minid_new_password_save). */
	minid_text(&b, c->lang, "p",
		   "You will be logged out of every service you are logged in to.");
	minid_form_begin(c, &b, "minid-password-form", "/minid/reset");
	minid_new_password_fields(c, &b, err);
	minid_button(&b, c->lang, NULL, NULL, NULL, "Save password");
	buf_puts(&b, "</form>");
	minid_page_send(c, &b, status);
}

/* The account a reset may touch: there, not closed, not blocked by an operator. */
static int
minid_reset_account(struct minid_ctx *c, struct minid_account *acct)
{
	struct err e = { 0 };

	if (minid_account_get(c->app, minid_flow_str(c, "pid"), acct, &e) != 0)
		return ERR_NOTFOUND;
	if (acct->blocked ||
	    (acct->status != MINID_ST_ACTIVE && acct->status != MINID_ST_LOCKED)) {
		minid_account_clear(acct);
		return ERR_NOTFOUND;
	}
	return 0;
}

static const char reset_info[] =
	"If the number has a MinID with a mobile number, we have sent a one-time code to it. "
	"It is valid for 5 minutes.";

static void
minid_reset_code(struct minid_ctx *c, const struct minid_account *acct)
{
	struct minid_otc_view v = { 0 };
	enum minid_code_result res;
	const char *action = http_param_c(c->p, "action");
	const char *mobile = acct != NULL ? acct->mobile : NULL;
	struct err e = { 0 };
	struct str code = STR_NULL;
	int64_t left = 0;

	if (action != NULL && strcmp(action, "resend") == 0) {
		/* Nothing tells an unknown number apart: the same notice either way. */
		if (acct != NULL)
			v.err = minid_flow_send_code(c, mobile);
		if (v.err == NULL)
			v.notice = "A new code has been sent.";
		minid_otc_page(c, "Enter the code", reset_info, NULL, &v, "/minid/reset", 200);
		return;
	}
	if (http_param(c->p, "code", &code) != 0)
		code = STR_NULL;
	if (minid_otc_check(c->app, c->flow_id, c->flow_exp, code,
			    acct != NULL &&
				    minid_static_otc_allowed(c->app, minid_flow_str(c, "pid")),
			    &res, &left, &e) != 0) {
		minid_unavailable(c);
		return;
	}
	if (res == MINID_CODE_OK && acct != NULL) {
		json_object_set_new(c->flow, "step", json_string("password"));
		minid_flow_save(c, &e);
		minid_redirect(c, "/minid/reset");
		return;
	}
	if (res == MINID_CODE_EXHAUSTED || left <= 0) {
		minid_flow_end(c);
		c->flow_id = NULL;
		minid_message_page(c, 403, "Too many wrong codes",
				   "You entered a wrong code too many times. Start again.",
				   "/minid/reset", "Start again");
		return;
	}
	v.err = "The code is wrong or has expired.";
	v.left = left;
	minid_otc_page(c, "Enter the code", reset_info, NULL, &v, "/minid/reset", 400);
}

static void
minid_reset_password(struct minid_ctx *c, struct minid_account *acct)
{
	const char *pid = minid_flow_str(c, "pid"), *why;
	struct err e = { 0 };

	why = minid_new_password_check(c, pid, acct->pwhash);
	if (why != NULL) {
		minid_reset_password_form(c, why, 400);
		return;
	}
	/* §5/§6: a successful reset clears the lock and the counters. */
	acct->status = MINID_ST_ACTIVE;
	minid_account_set(&acct->lock_reason, NULL);
	if (minid_new_password_save(c, acct, pid, &e) != 0) {
		minid_unavailable(c);
		return;
	}
	minid_attempt_succeed(c->app, pid, &e);
	/* §10: tell the person, on the number they own. */
	minid_notify(c->app, acct->mobile, c->lang,
		     "Your MinID password has been changed. If this was not you, contact MinID "
		     "user support. ID-porten");
	log_info(c->r->rid, "minid: password reset, id %s", minid_log_pid(c, pid));
	minid_flow_end(c);
	c->flow_id = NULL;
	minid_message_page(c, 200, "Your password has been changed",
			   "You can now log in with your new password.", minid_login_path(c),
			   "Log in");
}

void
minid_handle_reset(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	struct minid_ctx c;
	struct err e = { 0 };
	struct minid_account acct = { 0 };
	bool found;
	const char *pid, *step;

	if (minid_ctx_open(&c, r, w, flow, "/minid/reset", "reset") != 0)
		goto out;
	if (c.flow == NULL) {
		if (!c.post) {
			minid_reset_start_form(&c, NULL, NULL, 200);
			goto out;
		}
		if (!minid_rate_ok(&c))
			goto out;
		pid = minid_form_pid(&c);
		if (pid == NULL || !people_pid_ok(c.app, pid)) {
			minid_reset_start_form(&c, http_param_c(c.p, "pid"),
					       "Enter a valid national identity number (11 digits).",
					       400);
			goto out;
		}
		if (minid_flow_new(&c, "reset", pid, &e) != 0) {
			minid_unavailable(&c);
			goto out;
		}
		json_object_set_new(c.flow, "step", json_string("code"));
		minid_flow_save(&c, &e);
		if (minid_reset_account(&c, &acct) == 0 &&
		    minid_flow_send_code(&c, acct.mobile) != NULL)
			log_warn(c.r->rid, "minid: reset code not sent");
		minid_redirect(&c, "/minid/reset");
		goto out;
	}
	step = minid_flow_str(&c, "step");
	found = minid_reset_account(&c, &acct) == 0;
	if (step != NULL && strcmp(step, "code") == 0) {
		if (!c.post)
			minid_otc_page(&c, "Enter the code", reset_info, NULL,
				       &(struct minid_otc_view){ 0 }, "/minid/reset", 200);
		else if (minid_rate_ok(&c))
			minid_reset_code(&c, found ? &acct : NULL);
		goto out;
	}
	if (step != NULL && strcmp(step, "password") == 0 && found) {
		if (!c.post)
			minid_reset_password_form(&c, NULL, 200);
		else if (minid_rate_ok(&c))
			minid_reset_password(&c, &acct);
		goto out;
	}
	minid_expired(&c, "/minid/reset");
out:
	minid_account_clear(&acct);
	minid_ctx_close(&c);
}

/* ---- ordering a MinID (§7) ---- */

/* Unambiguous letters and digits (no 0/O, 1/I/L): the code is read off paper. */
static const char minid_act_alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
#define MINID_ACT_LEN 8

static int
minid_act_code(char out[MINID_ACT_LEN + 1])
{
	return minid_random_chars(out, MINID_ACT_LEN, minid_act_alphabet);
}

/*
 * Old enough (§7: 13 years)?  Only a date that is a birth date says so:
 * D-numbers may carry another date, and numbers of the 2032 series carry
 * no reliable birth date at all (national-id-numbers §6); with no
 * population register to ask, those are let through.
 */
static bool
minid_old_enough(const struct porten *app, const char *pid)
{
	struct natid_info info;
	struct tm tm;
	time_t now = (time_t)time_now();
	int age;

	if (natid_parse(str_c(pid), natid_2032_on(app->cfg->natid_allow_2032), &info) != NATID_OK)
		return false;
	if (info.flags & (NATID_D_NUMBER | NATID_RULE_2032))
		return true;
	gmtime_r(&now, &tm);
	age = tm.tm_year + 1900 - info.year;
	if (tm.tm_mon + 1 < info.month || (tm.tm_mon + 1 == info.month && tm.tm_mday < info.day))
		age--;
	return age >= app->cfg->minid_min_age;
}

static void
minid_register_form(struct minid_ctx *c, const char *pid, const char *err, int status)
{
	struct buf b;

	minid_page_begin(c, &b, "Get MinID");
	minid_text(&b, c->lang, "h1", "Get MinID");
	minid_text(&b, c->lang, "p",
		   "Order an activation letter. It is sent by post to your address in the National "
		   "Population Register. With the code in the letter you choose a password and "
		   "register your mobile number.");
	if (c->app->test_env)
		minid_text(&b, c->lang, "p",
			   "Test environment: the activation code is shown on the next page at "
			   "once.");
	minid_form_begin(c, &b, "minid-register-form", "/minid/register");
	page_field(&b, c->lang, "pid", "text", "National identity number", "11 digits", pid, err,
		   "inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"24\" required");
	minid_button(&b, c->lang, NULL, NULL, NULL, "Order activation letter");
	buf_puts(&b, "</form><p>");
	minid_link(c, &b, "back", minid_login_path(c), "Back to login");
	buf_puts(&b, "</p>");
	minid_page_send(c, &b, status);
}

static void
minid_register_order(struct minid_ctx *c)
{
	struct porten *app = c->app;
	const char *pid = minid_form_pid(c);
	char code[MINID_ACT_LEN + 1], hash[44], gen[MINID_ACT_LEN + 1], key[64];
	int64_t now = time_now(), exp = now + app->cfg->minid_activation_lifetime;
	json_t *doc = NULL;
	struct minid_account acct = { 0 };
	struct err e = { 0 };
	struct buf b;

	if (pid == NULL || !people_pid_ok(app, pid)) {
		minid_register_form(c, http_param_c(c->p, "pid"),
				    "Enter a valid national identity number (11 digits).", 400);
		return;
	}
	if (!minid_old_enough(app, pid)) {
		minid_register_form(c, http_param_c(c->p, "pid"),
				    "You must be at least 13 years old to get MinID.", 400);
		return;
	}
	switch (minid_unique_ok(app, pid, &e)) {
	case 0:
		break;
	case ERR_DENIED:
		log_info(c->r->rid, "minid: letter refused, %s is not a unique identity",
			 minid_log_pid(c, pid));
		minid_register_form(c, http_param_c(c->p, "pid"), minid_not_unique, 403);
		return;
	default:
		goto fail;
	}
	if (minid_act_code(code) != 0 || minid_act_code(gen) != 0)
		goto fail;
	snprintf(key, sizeof(key), "act.%s", pid);
	minid_code_hash(app, key, code, hash);
	/* gen names this letter's attempt slots: a new letter starts with all of them. */
	doc = json_pack("{s:s, s:s, s:I}", "h", hash, "gen", gen, "exp", (json_int_t)exp);
	if (doc == NULL)
		goto fail;
	store_call(app->store, minid, doc_delete, MINID_K_ACT, pid, &e);
	if (store_call(app->store, minid, doc_put, MINID_K_ACT, pid, doc, exp, &e) != 0)
		goto fail;
	/* §7: the account waits for activation; an existing one keeps working meanwhile. */
	if (minid_account_get(app, pid, &acct, &e) == ERR_NOTFOUND) {
		acct = (struct minid_account){ .status = MINID_ST_PENDING_ACTIVATION, .created = now };
		memcpy(acct.pid, pid, sizeof(acct.pid));
		minid_account_save(app, &acct, &e);
	}
	log_info(c->r->rid, "minid: activation letter ordered, id %s", minid_log_pid(c, pid));
	minid_page_begin(c, &b, "Activation letter ordered");
	minid_text(&b, c->lang, "h1", "Activation letter ordered");
	if (app->test_env) {
		/* §7/§8: in TEST the activation code is shown at once. */
		minid_text(&b, c->lang, "p", "Test environment: your activation code is");
		buf_printf(&b, "<p class=\"code\" id=\"activation-code\">%.4s-%.4s</p>", code,
			   code + 4);
	} else {
		minid_text(&b, c->lang, "p",
			   "If the number can have MinID, the letter arrives by post within a few "
			   "days.");
	}
	buf_puts(&b, "<p>");
	minid_link(c, &b, "activate", "/minid/activate", "Activate MinID");
	buf_puts(&b, "</p>");
	minid_page_send(c, &b, 200);
	goto out;
fail:
	minid_unavailable(c);
out:
	secure_wipe(code, sizeof(code));
	json_decref(doc);
	minid_account_clear(&acct);
}

void
minid_handle_register(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	struct minid_ctx c;

	if (minid_ctx_open(&c, r, w, flow, "/minid/register", "") != 0)
		goto out;
	if (!c.post)
		minid_register_form(&c, NULL, NULL, 200);
	else if (minid_rate_ok(&c))
		minid_register_order(&c);
out:
	minid_ctx_close(&c);
}

/* ---- activation (§7) ---- */

static void
minid_activate_form(struct minid_ctx *c, const char *pid, const char *err, int status)
{
	struct buf b;

	minid_page_begin(c, &b, "Activate MinID");
	minid_text(&b, c->lang, "h1", "Activate MinID");
	if (err != NULL)
		page_alert(&b, c->lang, "form-error", err);
	minid_form_begin(c, &b, "minid-activate-form", "/minid/activate");
	page_field(&b, c->lang, "pid", "text", "National identity number", "11 digits", pid,
		   NULL, "inputmode=\"numeric\" autocomplete=\"username\" maxlength=\"24\" required");
	page_field(&b, c->lang, "code", "text", "Activation code", "From the letter, 8 characters",
		   NULL, err ? "#form-error" : NULL, "autocomplete=\"off\" maxlength=\"16\" required");
	minid_button(&b, c->lang, NULL, NULL, NULL, "Next");
	buf_puts(&b, "</form><p>");
	minid_link(c, &b, "register", "/minid/register", "Order a new activation letter");
	buf_puts(&b, "</p>");
	minid_page_send(c, &b, status);
}

static void
minid_activate_details_form(struct minid_ctx *c, const char *pw_err, const char *mobile_err,
			    int status)
{
	struct buf b;

	minid_page_begin(c, &b, "Choose password and mobile number");
	minid_text(&b, c->lang, "h1", "Choose password and mobile number");
	minid_form_begin(c, &b, "minid-details-form", "/minid/activate");
	minid_new_password_fields(c, &b, pw_err);
	page_field(&b, c->lang, "mobile", "tel", "Mobile number",
		   "We send a code to it now, and codes for logging in later.",
		   http_param_c(c->p, "mobile"), mobile_err,
		   "autocomplete=\"tel\" inputmode=\"tel\" maxlength=\"24\" required");
	minid_button(&b, c->lang, NULL, NULL, NULL, "Next");
	buf_puts(&b, "</form>");
	minid_page_send(c, &b, status);
}

/* Number + activation code: one attempt of at most minid_otc_attempts per letter. */
static void
minid_activate_check(struct minid_ctx *c)
{
	struct porten *app = c->app;
	const char *pid = minid_form_pid(c), *typed = http_param_c(c->p, "code"), *gen, *h;
	static const char wrong[] = "The national identity number or the activation code is wrong.";
	char code[MINID_ACT_LEN + 1], key[96], got[44], want[44];
	json_t *doc = NULL;
	struct err e = { 0 };
	int64_t slot = 0;
	size_t n = 0;
	int rc;

	if (pid == NULL || typed == NULL || !people_pid_ok(app, pid)) {
		minid_activate_form(c, http_param_c(c->p, "pid"), wrong, 400);
		return;
	}
	/* Letters are read aloud and typed: case, spaces and dashes do not matter. */
	for (const char *s = typed; *s != '\0' && n <= MINID_ACT_LEN; s++) {
		if (*s == ' ' || *s == '-')
			continue;
		code[n++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
	}
	if (n != MINID_ACT_LEN) {
		minid_activate_form(c, pid, wrong, 400);
		return;
	}
	code[n] = '\0';
	if (store_call(app->store, minid, doc_get, MINID_K_ACT, pid, &doc, &e) != 0) {
		minid_activate_form(c, pid, wrong, 400);
		goto out;
	}
	gen = json_string_value(json_object_get(doc, "gen"));
	snprintf(key, sizeof(key), "act.%s.%s", pid, gen ? gen : "");
	rc = minid_try_claim(app, key, app->cfg->minid_otc_attempts,
			     json_integer_value(json_object_get(doc, "exp")), &slot, &e);
	if (rc == ERR_LIMIT) {
		store_call(app->store, minid, doc_delete, MINID_K_ACT, pid, &e);
		minid_activate_form(c, pid,
				    "The activation code was entered wrong too many times. Order a "
				    "new activation letter.",
				    403);
		goto out;
	}
	json_decref(doc);
	doc = NULL;
	/* Taken in one step: one activation per letter. */
	if (rc != 0 || store_call(app->store, minid, doc_take, MINID_K_ACT, pid, &doc, &e) != 0) {
		minid_activate_form(c, pid, wrong, 400);
		goto out;
	}
	snprintf(key, sizeof(key), "act.%s", pid);
	minid_code_hash(app, key, code, got);
	h = json_string_value(json_object_get(doc, "h"));
	snprintf(want, sizeof(want), "%s", h ? h : "");
	if (!ct_str_eq(str_c(want), str_c(got))) {
		store_call(app->store, minid, doc_put, MINID_K_ACT, pid, doc,
			 json_integer_value(json_object_get(doc, "exp")), &e);
		minid_activate_form(c, pid, wrong, 400);
		goto out;
	}
	if (minid_flow_new(c, "activate", pid, &e) != 0) {
		minid_unavailable(c);
		goto out;
	}
	json_object_set_new(c->flow, "step", json_string("details"));
	minid_flow_save(c, &e);
	minid_redirect(c, "/minid/activate");
out:
	secure_wipe(code, sizeof(code));
	json_decref(doc);
}

static void
minid_activate_details(struct minid_ctx *c)
{
	const char *pid = minid_flow_str(c, "pid"), *why, *mobile = http_param_c(c->p, "mobile");
	char e164[SMS_MAX_TO + 1];
	struct err e = { 0 };
	struct str pw = STR_NULL;
	char *hash = NULL;

	why = minid_new_password_check(c, pid, NULL);
	if (why != NULL) {
		minid_activate_details_form(c, why, NULL, 400);
		return;
	}
	if (mobile == NULL || sms_number_normalise(str_c(mobile), e164) != 0) {
		minid_activate_details_form(
			c, NULL, "Enter a mobile number, for example +47 912 34 567.", 400);
		return;
	}
	http_param(c->p, "password", &pw);
	if (minid_password_hash(pw, c->app->cfg->minid_argon_ops,
				c->app->cfg->minid_argon_mem_kib, &hash, &e) != 0) {
		minid_unavailable(c);
		return;
	}
	/* Only the hash is kept in the flow until the number is verified. */
	json_object_set_new(c->flow, "pwhash", json_string(hash));
	json_object_set_new(c->flow, "mobile", json_string(e164));
	json_object_set_new(c->flow, "step", json_string("verify"));
	free(hash);
	minid_flow_save(c, &e);
	why = minid_flow_send_code(c, e164);
	if (why != NULL) {
		json_object_set_new(c->flow, "step", json_string("details"));
		minid_flow_save(c, &e);
		minid_activate_details_form(c, NULL, why, 503);
		return;
	}
	minid_redirect(c, "/minid/activate");
}

static const char activate_info[] = "We have sent a one-time code to {mobile}. Enter it to "
				    "confirm that the number is yours.";

static void
minid_activate_verify(struct minid_ctx *c)
{
	struct minid_otc_view v = { 0 };
	const char *pid = minid_flow_str(c, "pid"), *mobile = minid_flow_str(c, "mobile");
	const char *action = http_param_c(c->p, "action");
	enum minid_code_result res;
	struct err e = { 0 };
	struct str code = STR_NULL;
	struct minid_account acct = { 0 };
	int64_t left = 0, now = time_now();

	if (action != NULL && strcmp(action, "resend") == 0) {
		v.err = minid_flow_send_code(c, mobile);
		if (v.err == NULL)
			v.notice = "A new code has been sent.";
		minid_otc_page(c, "Confirm your mobile number", activate_info, mobile, &v,
			       "/minid/activate", v.err ? 429 : 200);
		return;
	}
	if (http_param(c->p, "code", &code) != 0)
		code = STR_NULL;
	if (minid_otc_check(c->app, c->flow_id, c->flow_exp, code,
			    minid_static_otc_allowed(c->app, pid), &res, &left, &e) != 0)
		goto fail;
	if (res == MINID_CODE_EXHAUSTED) {
		minid_flow_end(c);
		c->flow_id = NULL;
		minid_message_page(c, 403, "Too many wrong codes",
				   "You entered a wrong code too many times. Start again.",
				   "/minid/activate", "Start again");
		return;
	}
	if (res != MINID_CODE_OK) {
		v.err = "The code is wrong or has expired.";
		v.left = left;
		minid_otc_page(c, "Confirm your mobile number", activate_info, mobile, &v,
			       "/minid/activate", 400);
		return;
	}
	if (minid_account_get(c->app, pid, &acct, &e) != 0) {
		acct = (struct minid_account){ .created = now };
		memcpy(acct.pid, pid, sizeof(acct.pid));
	}
	/* A new MinID: new password and number; an app bound to the old one is dropped. */
	acct.status = MINID_ST_ACTIVE;
	acct.pw_changed = acct.activated = now;
	if (minid_account_set(&acct.pwhash, minid_flow_str(c, "pwhash")) != 0 ||
	    minid_account_set(&acct.mobile, mobile) != 0 ||
	    minid_account_set(&acct.totp, NULL) != 0 ||
	    minid_account_set(&acct.lock_reason, NULL) != 0 ||
	    minid_account_save(c->app, &acct, &e) != 0)
		goto fail;
	minid_attempt_succeed(c->app, pid, &e);
	log_info(c->r->rid, "minid: activated, id %s", minid_log_pid(c, pid));
	/* the register learns the number; the MinID stands even when it cannot */
	minid_mobile_share(c->app, pid, mobile, c->lang, c->r->rid);
	minid_flow_end(c);
	c->flow_id = NULL;
	minid_message_page(c, 200, "Your MinID is ready",
			   "You can now log in with your national identity number, your password "
			   "and a code by SMS.",
			   minid_login_path(c), "Log in");
	minid_account_clear(&acct);
	return;
fail:
	minid_account_clear(&acct);
	minid_unavailable(c);
}

void
minid_handle_activate(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	struct minid_ctx c;
	const char *step;

	if (minid_ctx_open(&c, r, w, flow, "/minid/activate", "activate") != 0)
		goto out;
	if (c.flow == NULL) {
		if (!c.post)
			minid_activate_form(&c, NULL, NULL, 200);
		else if (minid_rate_ok(&c))
			minid_activate_check(&c);
		goto out;
	}
	step = minid_flow_str(&c, "step");
	if (step != NULL && strcmp(step, "details") == 0) {
		if (!c.post)
			minid_activate_details_form(&c, NULL, NULL, 200);
		else if (minid_rate_ok(&c))
			minid_activate_details(&c);
		goto out;
	}
	if (step != NULL && strcmp(step, "verify") == 0) {
		if (!c.post)
			minid_otc_page(&c, "Confirm your mobile number", activate_info,
				       minid_flow_str(&c, "mobile"),
				       &(struct minid_otc_view){ 0 }, "/minid/activate", 200);
		else if (minid_rate_ok(&c))
			minid_activate_verify(&c);
		goto out;
	}
	minid_expired(&c, "/minid/activate");
out:
	minid_ctx_close(&c);
}
