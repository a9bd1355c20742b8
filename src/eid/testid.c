/*
 * TestID (spec/ansattporten-eidas-testid.md): synthetic people for the test
 * environment.  The tester types a synthetic national identity number and
 * picks the level; nothing else is checked.  Never offered in prod.
 */
#include <string.h>

#include "core/loa.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/eid.h"
#include "ui/pages.h"

static const struct eid_route testid_routes[] = {
	{ "GET", "/testid", eid_testid_handle, EID_DOOR_LOGIN },
	{ "POST", "/testid", eid_testid_handle, EID_DOOR_FORM },
	{ NULL, NULL, NULL, EID_DOOR_NONE },
};

const struct eid_provider eid_testid = {
	.name = "testid",
	.display = "TestID",
	.desc_key = N_("Synthetic test people (test environment only)"),
	.path = "/testid",
	.levels = EID_LEVEL_SUBSTANTIAL | EID_LEVEL_HIGH,
	.test_only = true,
	.routes = testid_routes,
};

static void
testid_form(struct http_req *r, struct http_resp *w, const struct eid_flow *flow,
	    const char *pid, const char *pid_err, const char *acr_err, int status)
{
	const char *lang = page_lang(r, flow->locale);
	const struct issuer *is = r->route_data;
	unsigned min = flow->min_level;
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "TestID");
	buf_puts(&b, "<h1>TestID</h1><p>");
	buf_html(&b, str_c(page_text(lang, "Log in as a synthetic test person. Only in the test "
					   "environment.")));
	buf_puts(&b, "</p>");
	buf_printf(&b, "<form id=\"testid-form\" method=\"post\" action=\"%s/testid\" novalidate>",
		   is->prefix);
	buf_puts(&b, "<input type=\"hidden\" name=\"ar\" value=\"");
	buf_html(&b, str_c(flow->ar));
	buf_puts(&b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	buf_html(&b, str_c(flow->csrf));
	buf_puts(&b, "\">");
	page_field(&b, lang, "pid", "text", "National identity number",
		   "Synthetic, 11 digits (month plus 80)", pid, pid_err,
		   "inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"11\" required");
	buf_puts(&b, "<label for=\"acr\">");
	buf_html(&b, str_c(page_text(lang, "Level of assurance")));
	buf_puts(&b, "</label>");
	if (acr_err != NULL) {
		buf_puts(&b, "<span class=\"field-error\" id=\"acr-error\">");
		buf_html(&b, str_c(page_text(lang, acr_err)));
		buf_puts(&b, "</span><select id=\"acr\" name=\"acr\" aria-invalid=\"true\" "
			     "aria-describedby=\"acr-error\">");
	} else {
		buf_puts(&b, "<select id=\"acr\" name=\"acr\">");
	}
	if (min <= EID_LEVEL_SUBSTANTIAL) {
		buf_printf(&b, "<option value=\"%s\">", ACR_SUBSTANTIAL);
		buf_html(&b, str_c(page_text(lang, "Substantial")));
		buf_puts(&b, "</option>");
	}
	buf_printf(&b, "<option value=\"%s\"%s>", ACR_HIGH,
		   min > EID_LEVEL_SUBSTANTIAL ? " selected" : "");
	buf_html(&b, str_c(page_text(lang, "High")));
	buf_puts(&b, "</option></select><button type=\"submit\">");
	buf_html(&b, str_c(page_text(lang, "Log in")));
	buf_puts(&b, "</button></form>");
	page_cancel_form(&b, lang, flow->cancel_url, flow->ar, flow->csrf);
	page_end(&b, lang, arena_printf(r->arena, "%s/testid?ar=%s", is->prefix, flow->ar));
	http_resp_html(w, status, (struct str){ b.p, b.len });
	buf_free(&b);
}

/* Behind the login door: the login, its browser and, on POST, the CSRF token are checked. */
void
eid_testid_handle(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	struct porten *app = r->app;
	bool post = strcmp(r->method, "POST") == 0;
	struct natid_policy policy = { .testid_accept_real = app->cfg->testid_accept_real,
				       .allow_2032 = app->cfg->natid_allow_2032 };
	struct eid_result res;
	const char *pid, *acr;
	unsigned level;

	if (!post) {
		testid_form(r, w, flow, NULL, NULL, NULL, 200);
		return;
	}
	pid = http_param_c(&r->form, "pid");
	acr = http_param_c(&r->form, "acr");
	if (pid == NULL || !natid_acceptable(str_c(pid), NATID_CTX_TESTID, &policy)) {
		testid_form(r, w, flow, pid, "The number is not a valid synthetic test number.",
			    NULL, 400);
		return;
	}
	level = eid_level_of(acr);
	if (level == 0 || level < flow->min_level) {
		testid_form(r, w, flow, pid, NULL,
			    "The chosen level is lower than the service requires.", 400);
		return;
	}
	res = (struct eid_result){
		.pid = pid,
		.acr = eid_acr_of(level),
		.amr = "TestID",
		.eid = "testid",
		.auth_time = time_now(),
	};
	flow->host->complete(flow, r, w, &res);
}
