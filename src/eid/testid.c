/*
 * TestID (spec/ansattporten-eidas-testid.md): synthetic people for the test
 * environment.  The tester types a synthetic national identity number and
 * picks the level; nothing else is checked.  Never offered in prod.
 */
#include <string.h>

#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/eid.h"
#include "oauth/oauth.h"
#include "oidc/login.h"
#include "oidc/pages.h"

static const struct eid_route testid_routes[] = {
	{ "GET", "/testid", eid_testid_handle },
	{ "POST", "/testid", eid_testid_handle },
	{ NULL, NULL, NULL },
};

const struct eid_provider eid_testid = {
	.name = "testid",
	.display = "TestID",
	.desc_key = "testid_desc",
	.path = "/testid",
	.levels = EID_LEVEL_SUBSTANTIAL | EID_LEVEL_HIGH,
	.test_only = true,
	.routes = testid_routes,
};

static void
testid_form(struct http_req *r, struct http_resp *w, const char *ar, const json_t *areq,
	    const char *pid, const char *error_key, int status)
{
	const char *lang = page_lang(r, json_string_value(json_object_get(areq, "locale")));
	const struct issuer *is = r->route_data;
	unsigned min = login_min_level(areq);
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "testid_title");
	buf_printf(&b, "<h1>%s</h1>", page_text(lang, "testid_title"));
	if (error_key != NULL)
		buf_printf(&b, "<div role=\"alert\" id=\"form-error\"><p>%s</p></div>",
			   page_text(lang, error_key));
	buf_printf(&b, "<form id=\"testid-form\" method=\"post\" action=\"%s/testid\">", is->prefix);
	buf_puts(&b, "<input type=\"hidden\" name=\"ar\" value=\"");
	buf_html(&b, str_c(ar));
	buf_puts(&b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	buf_html(&b, str_c(login_csrf(r, ar)));
	buf_printf(&b, "\"><label for=\"pid\">%s</label>", page_text(lang, "pid_label"));
	buf_puts(&b, "<input id=\"pid\" name=\"pid\" inputmode=\"numeric\" autocomplete=\"off\" "
		     "required maxlength=\"11\" pattern=\"[0-9]{11}\"");
	if (error_key != NULL)
		buf_puts(&b, " aria-invalid=\"true\" aria-describedby=\"form-error\"");
	buf_puts(&b, " value=\"");
	if (pid != NULL)
		buf_html(&b, str_c(pid));
	buf_printf(&b, "\"><label for=\"acr\">%s</label><select id=\"acr\" name=\"acr\">",
		   page_text(lang, "acr_label"));
	if (min <= EID_LEVEL_SUBSTANTIAL)
		buf_printf(&b, "<option value=\"%s\">%s</option>", ACR_SUBSTANTIAL,
			   page_text(lang, "acr_substantial"));
	buf_printf(&b, "<option value=\"%s\"%s>%s</option></select>", ACR_HIGH,
		   min > EID_LEVEL_SUBSTANTIAL ? " selected" : "", page_text(lang, "acr_high"));
	buf_printf(&b, "<button type=\"submit\">%s</button></form>", page_text(lang, "login"));
	login_cancel_form(r, &b, lang, ar);
	page_end(&b, lang, arena_printf(r->arena, "%s/testid?ar=%s", is->prefix, ar));
	http_resp_html(w, status, (struct str){ b.p, b.len });
	buf_free(&b);
}

void
eid_testid_handle(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	bool post = strcmp(r->method, "POST") == 0;
	const struct http_params *p = post ? &r->form : &r->query;
	const char *ar = http_param_c(p, "ar");
	struct natid_policy policy = { .testid_accept_real = app->cfg->testid_accept_real };
	struct eid_result res;
	struct err e = { 0 };
	json_t *areq = NULL;
	const char *pid, *acr;
	unsigned level;

	if (!app->test_env) {
		page_error(r, w, 404, page_lang(r, NULL), "not_found", "TestID is not offered here");
		return;
	}
	if (r->bad_input || login_pending_load(r, ar, &areq, &e) != 0) {
		page_error(r, w, 400, page_lang(r, NULL), OAUTH_INVALID_REQUEST,
			   r->bad_input ? r->input_err.msg : e.msg);
		return;
	}
	if (!post) {
		testid_form(r, w, ar, areq, NULL, NULL, 200);
		goto out;
	}
	if (!login_csrf_ok(r, ar, http_param_c(p, "csrf"))) {
		page_error(r, w, 403, page_lang(r, NULL), OAUTH_INVALID_REQUEST,
			   "the form has expired; start again from the service");
		goto out;
	}
	pid = http_param_c(p, "pid");
	acr = http_param_c(p, "acr");
	if (pid == NULL || !natid_acceptable(str_c(pid), NATID_CTX_TESTID, &policy)) {
		testid_form(r, w, ar, areq, pid, "bad_pid", 400);
		goto out;
	}
	level = eid_level_of(acr);
	if (level == 0 || level < login_min_level(areq)) {
		testid_form(r, w, ar, areq, pid, "bad_acr", 400);
		goto out;
	}
	res = (struct eid_result){
		.pid = pid,
		.acr = eid_acr_of(level),
		.amr = "TestID",
		.eid = "testid",
		.auth_time = time_now(),
	};
	login_complete(r, w, ar, areq, &res);
out:
	json_decref(areq);
}
