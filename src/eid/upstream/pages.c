/*
 * The pages of an upstream eID: the start (a code flow with PKCE towards
 * the upstream, through PAR when it offers it), the callback the upstream
 * sends the browser back to, and the way back to the service when the
 * upstream failed.
 *
 * state, nonce and the PKCE verifier are derived from the login's CSRF
 * token (bound to the pending authorization and to this browser): state is
 * "<ar>.<started>.<tag>", started the time the person was sent to the
 * upstream and tag covering it, so the callback finds its login, checks
 * the browser, and recomputes the nonce and verifier without storing
 * anything.
 *
 * A login that must authenticate the person anew (flow->fresh) asks the
 * upstream with prompt=login, and the client's max_age goes along, so
 * that the upstream's own session does not stand for it silently; the
 * ID token's auth_time then is the authentication time.
 */
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/people.h"
#include "eid/upstream/upstream_int.h"
#include "ui/pages.h"

/* Why a login through the upstream ended, as the client hears it. */
#define UP_UNAVAILABLE "temporarily_unavailable"
#define UP_SERVER_ERROR "server_error"
#define UP_DENIED "access_denied"

/* A value of this login and browser (upstream_derive). */
static const char *
derive(struct http_req *r, const struct upstream *u, const struct eid_flow *flow,
       const char *what)
{
	return upstream_derive(r->arena, flow->csrf, u->name, what);
}

static const char *
redirect_uri(struct http_req *r, const struct upstream *u)
{
	const struct issuer *is = r->route_data;

	return arena_printf(r->arena, "%s%s", is->base, u->path_callback);
}

/* The person-facing text for each way the upstream can fail. */
static const char *
fail_text(const char *error)
{
	if (strcmp(error, UP_DENIED) == 0)
		return N_("{eid} did not confirm who you are at the level the service requires.");
	if (strcmp(error, UP_UNAVAILABLE) == 0)
		return N_("{eid} is not available at the moment. Try again later, or choose "
			  "another electronic ID.");
	return N_("{eid} gave an answer that could not be accepted.");
}

/*
 * The upstream failed: a page that says so, whose one button takes the
 * person back to the service, which then hears error (upstream_abort).
 */
static void
fail_page(struct http_req *r, struct http_resp *w, const struct upstream *u,
	  const struct eid_flow *flow, const char *error, const struct err *why)
{
	const char *lang = page_lang(r, flow->locale);
	const struct issuer *is = r->route_data;
	struct buf b;

	log_warn(r->rid, "upstream eID %s: login not completed (%s): %s", u->name, error,
		 why->msg);
	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "The login was not completed");
	buf_puts(&b, "<h1>");
	buf_html(&b, str_c(page_text(lang, "The login was not completed")));
	buf_printf(&b, "</h1><p id=\"upstream-error\" data-error=\"%s\">", error);
	page_put(&b, lang, fail_text(error), "eid", u->display);
	buf_puts(&b, "</p><p>");
	page_put(&b, lang, "Reference: {ref}", "ref", r->rid);
	buf_printf(&b, "</p><form id=\"upstream-back\" method=\"post\" action=\"%s%s\">",
		   is->prefix, u->path_abort);
	page_hidden(&b, "ar", flow->ar);
	page_hidden(&b, "csrf", flow->csrf);
	page_hidden(&b, "error", error);
	buf_puts(&b, "<button type=\"submit\">");
	buf_html(&b, str_c(page_text(lang, "Back to the service")));
	buf_puts(&b, "</button></form>");
	page_end(&b, lang, NULL);
	http_resp_html(w, strcmp(error, UP_DENIED) == 0 ? 403 : 502,
		       (struct str){ b.p, b.len });
	buf_free(&b);
}

/*
 * The level the login asks of u: the eIDAS level for the eIDAS connector
 * (0 when the request did not ask for eIDAS), else the Norwegian one.
 */
static unsigned
asked_level(const struct upstream *u, const struct eid_flow *flow)
{
	return u->eidas ? flow->eidas_level : flow->min_level;
}

/* The upstream's acr values that meet the level asked for, lowest first. */
static const char *
acr_values(struct http_req *r, const struct upstream *u, unsigned min)
{
	const char *out = "";

	for (unsigned level = EID_LEVEL_SUBSTANTIAL; level <= EID_LEVEL_HIGH; level <<= 1)
		for (size_t i = 0; i < u->nacr; i++)
			if (u->acr[i].level == level && level >= min)
				out = arena_printf(r->arena, "%s%s%s", out, out[0] ? " " : "",
						   u->acr[i].value);
	return out;
}

/* The authorization request's parameters (OIDC Core §3.1.2.1, RFC 7636). */
static void
auth_params(struct http_req *r, const struct upstream *u, const struct eid_flow *flow,
	    struct buf *b)
{
	const char *started = arena_printf(r->arena, "%lld", (long long)time_now());
	const char *verifier = derive(r, u, flow, "pkce");
	unsigned char h[32];

	sha256(verifier, strlen(verifier), h);
	upstream_form_add(b, "response_type", "code");
	upstream_form_add(b, "client_id", u->client_id);
	upstream_form_add(b, "redirect_uri", redirect_uri(r, u));
	upstream_form_add(b, "scope", u->scope);
	upstream_form_add(b, "state",
			  arena_printf(r->arena, "%s.%s.%s", flow->ar, started,
				       upstream_state_tag(r->arena, flow->csrf, u->name, started)));
	upstream_form_add(b, "nonce", derive(r, u, flow, "nonce"));
	upstream_form_add(b, "code_challenge", b64url_encode_arena(r->arena, h, sizeof(h)));
	upstream_form_add(b, "code_challenge_method", "S256");
	upstream_form_add(b, "acr_values", acr_values(r, u, asked_level(u, flow)));
	upstream_form_add(b, "ui_locales", page_lang(r, flow->locale));
	if (flow->fresh)
		upstream_form_add(b, "prompt", "login");
	if (flow->max_age >= 0)
		upstream_form_add(b, "max_age",
				  arena_printf(r->arena, "%lld", (long long)flow->max_age));
}

/* RFC 9126: push the request; the browser carries only its request_uri. */
static int
push(struct http_req *r, const struct upstream *u, const json_t *meta, struct buf *params,
     struct buf *query, struct err *e)
{
	const char *par = json_string_value(json_object_get(meta,
		"pushed_authorization_request_endpoint"));
	json_t *answer = NULL;
	const char *uri;
	int rc = upstream_post(u, r, par, params, &answer, e);

	if (rc != 0)
		return rc;
	uri = json_string_value(json_object_get(answer, "request_uri"));
	if (uri == NULL)
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "PAR answer has no request_uri");
	else {
		upstream_form_add(query, "client_id", u->client_id);
		upstream_form_add(query, "request_uri", uri);
	}
	json_decref(answer);
	return rc;
}

/* GET /<eid>?ar=: off to the upstream. */
void
upstream_start(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	struct upstream *u = upstream_of_request(r);
	struct err e = { 0 };
	json_t *meta = NULL;
	struct buf params, query;
	const char *authz;
	int rc;

	/* eIDAS is offered only to a request that asks for it (spec/ansattporten-eidas-testid.md §2.1). */
	if (asked_level(u, flow) == 0) {
		page_error(r, w, 400, page_lang(r, flow->locale), "invalid_request",
			   "the service did not ask for a login with this electronic ID");
		return;
	}
	buf_init(&params, HTTP_MAX_URI * 2);
	buf_init(&query, HTTP_MAX_URI * 2);
	rc = upstream_meta(u, r->rid, &meta, &e);
	if (rc == 0) {
		auth_params(r, u, flow, &params);
		if (u->par == UPSTREAM_PAR_AUTO &&
		    json_object_get(meta, "pushed_authorization_request_endpoint") != NULL)
			rc = push(r, u, meta, &params, &query, &e);
		else
			rc = buf_append(&query, params.p, params.len);
	}
	if (rc != 0) {
		fail_page(r, w, u, flow, rc == ERR_DENIED ? UP_SERVER_ERROR : UP_UNAVAILABLE, &e);
	} else {
		authz = json_string_value(json_object_get(meta, "authorization_endpoint"));
		http_resp_redirect(w, arena_printf(r->arena, "%s%c%s", authz,
						   strchr(authz, '?') ? '&' : '?', query.p));
	}
	json_decref(meta);
	buf_free(&params);
	buf_free(&query);
}

/* The code for tokens (OIDC Core §3.1.3); *id_token an arena string. */
static int
redeem(struct http_req *r, struct upstream *u, const struct eid_flow *flow, const char *code,
       const char **id_token, struct err *e)
{
	json_t *meta = NULL, *answer = NULL;
	struct buf form;
	int rc = upstream_meta(u, r->rid, &meta, e);

	buf_init(&form, HTTP_MAX_URI * 4);
	if (rc == 0) {
		upstream_form_add(&form, "grant_type", "authorization_code");
		upstream_form_add(&form, "code", code);
		upstream_form_add(&form, "redirect_uri", redirect_uri(r, u));
		upstream_form_add(&form, "code_verifier", derive(r, u, flow, "pkce"));
		rc = upstream_post(u, r, json_string_value(json_object_get(meta, "token_endpoint")),
				   &form, &answer, e);
	}
	if (rc == 0) {
		*id_token = arena_strdup(r->arena,
					 json_string_value(json_object_get(answer, "id_token")));
		if (*id_token == NULL)
			rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "token answer has no id_token");
	}
	json_decref(answer);
	json_decref(meta);
	buf_free_secret(&form);
	return rc;
}

/* The national identity number the upstream vouches for, if it is one. */
static const char *
person(struct http_req *r, const struct upstream *u, const json_t *claims, struct err *e)
{
	const struct porten *app = r->app;
	struct natid_policy policy = { .allow_2032 = app->cfg->natid_allow_2032 };
	const char *pid = json_string_value(json_object_get(claims, u->pid_claim));

	if (pid == NULL || !natid_acceptable(str_c(pid),
					     app->test_env ? NATID_CTX_TEST : NATID_CTX_PROD,
					     &policy)) {
		(void)ERR(e, ERR_DENIED, 0, NULL, "ID token's %s is not an acceptable national identity "
		    "number", u->pid_claim);
		return NULL;
	}
	return arena_strdup(r->arena, pid);
}

#define EIDAS_MAX_CLAIM 256     /* longest eidas_* value taken */

/* One of the eidas_* claims: a non-empty string of at most EIDAS_MAX_CLAIM bytes, or NULL. */
static const char *
eidas_claim(struct http_req *r, const json_t *claims, const char *name, struct err *e)
{
	const char *v = json_string_value(json_object_get(claims, name));

	if (v == NULL || v[0] == '\0' || strlen(v) > EIDAS_MAX_CLAIM) {
		(void)ERR(e, ERR_DENIED, 0, NULL, "ID token has no acceptable %s", name);
		return NULL;
	}
	return arena_strdup(r->arena, v);
}

/* DateOfBirth as the tokens carry it: YYYY-MM-DD. */
static bool
eidas_date_ok(const char *d)
{
	if (strlen(d) != 10 || d[4] != '-' || d[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9'))
			return false;
	return true;
}

/*
 * The foreign person the eIDAS connector vouches for (§2.2: the four
 * mandatory attributes), and pid when the person register matches the
 * identifier (§2.4).  A pid claim from the connector is not taken: the
 * register decides.
 */
static int
eidas_person(struct http_req *r, const struct upstream *u, const json_t *claims,
	     struct eid_result *res, struct err *e)
{
	enum people_match how;

	res->eidas_identifier = eidas_claim(r, claims, "eidas_identifier", e);
	res->eidas_firstname = eidas_claim(r, claims, "eidas_firstname", e);
	res->eidas_lastname = eidas_claim(r, claims, "eidas_lastname", e);
	res->eidas_date_of_birth = eidas_claim(r, claims, "eidas_date_of_birth", e);
	if (res->eidas_identifier == NULL || res->eidas_firstname == NULL ||
	    res->eidas_lastname == NULL || res->eidas_date_of_birth == NULL)
		return ERR_DENIED;
	if (!eidas_date_ok(res->eidas_date_of_birth))
		return ERR(e, ERR_DENIED, 0, NULL, "ID token's eidas_date_of_birth is not YYYY-MM-DD");
	return people_match_eidas(r, u->name, res->eidas_identifier, &res->pid, &how, e);
}

/* The upstream said no: a cancel goes back to the service at once. */
static void
upstream_said_error(struct http_req *r, struct http_resp *w, const struct upstream *u,
		    const struct eid_flow *flow, const char *error)
{
	struct err e = { 0 };

	if (strcmp(error, UP_DENIED) == 0) {
		(void)ERR(&e, ERR_DENIED, 0, UP_DENIED, "the user cancelled at %s", u->display);
		flow->host->fail(flow, r, w, &e);
		return;
	}
	(void)ERR(&e, ERR_DENIED, 0, NULL, "the upstream answered error %.60s", error);
	fail_page(r, w, u, flow,
		  strcmp(error, UP_UNAVAILABLE) == 0 || strcmp(error, UP_SERVER_ERROR) == 0
			  ? UP_UNAVAILABLE
			  : UP_SERVER_ERROR,
		  &e);
}

/*
 * RFC 9207 §2.4: an answer (a code or an error) that names another issuer
 * is a mix-up, and one that names none is refused when the upstream's
 * discovery says it names itself.
 */
static int
iss_check(struct http_req *r, struct upstream *u, const char *iss, struct err *e)
{
	enum upstream_iss v = upstream_iss_of(iss, u->issuer);
	json_t *meta = NULL;
	int rc;

	if (v == UPSTREAM_ISS_OTHER)
		return ERR(e, ERR_DENIED, 0, NULL, "the answer is from issuer %.100s", iss);
	if (v == UPSTREAM_ISS_SAME)
		return 0;
	rc = upstream_meta(u, r->rid, &meta, e);
	if (rc == 0 && json_is_true(json_object_get(meta,
		"authorization_response_iss_parameter_supported")))
		rc = ERR(e, ERR_DENIED, 0, NULL,
			 "the answer names no issuer, though the upstream says it does");
	json_decref(meta);
	return rc;
}

/* Code, tokens, person: the login completes or the page says why not. */
static void
finish(struct http_req *r, struct http_resp *w, struct upstream *u, const struct eid_flow *flow,
       const struct upstream_answer *ans)
{
	const char *code = ans->code;
	const char *id_token = NULL;
	struct eid_result res = { .amr = u->amr, .eid = u->name };
	struct upstream_expect x = {
		.nonce = derive(r, u, flow, "nonce"), .min_level = asked_level(u, flow),
		.fresh = flow->fresh, .max_age = flow->max_age, .started = ans->started,
	};
	json_t *claims = NULL;
	struct err e = { 0 };
	unsigned level = 0;
	int rc = 0;

	if (code == NULL)
		rc = ERR(&e, ERR_DENIED, 0, NULL, "callback without a code");
	if (rc == 0)
		rc = redeem(r, u, flow, code, &id_token, &e);
	if (rc == 0)
		rc = upstream_id_token(u, r, id_token, &x, &claims, &level, &res.auth_time, &e);
	if (rc == 0 && u->eidas)
		rc = eidas_person(r, u, claims, &res, &e);
	else if (rc == 0 && (res.pid = person(r, u, claims, &e)) == NULL)
		rc = ERR_DENIED;
	json_decref(claims);
	if (rc != 0) {
		fail_page(r, w, u, flow,
			  e.oauth != NULL		? UP_DENIED
			  : rc == ERR_UNAVAILABLE ? UP_UNAVAILABLE
						  : UP_SERVER_ERROR,
			  &e);
		return;
	}
	res.acr = u->eidas ? eidas_acr_of(level) : eid_acr_of(level);
	flow->host->complete(flow, r, w, &res);
}

/* GET /<eid>/callback?state=&code= (or &error=): back from the upstream. */
void
upstream_callback(struct http_req *r, struct http_resp *w, const struct eid_flow *door)
{
	struct upstream *u = upstream_of_request(r);
	struct upstream_answer ans;
	struct eid_flow flow;
	struct err e = { 0 };
	int rc;

	if (r->bad_input || !upstream_answer_read(r->arena, &r->query, &ans)) {
		page_error(r, w, 400, page_lang(r, NULL), "invalid_request",
			   "the answer from the electronic ID names no login");
		return;
	}
	if (door->host->open(r, ans.ar, &flow, &e) != 0) {
		page_error(r, w, e.code == ERR_UNAVAILABLE ? 503 : 400, page_lang(r, NULL),
			   e.code == ERR_UNAVAILABLE ? UP_UNAVAILABLE : "invalid_request",
			   "the login is not open in this browser; start again from the service");
		return;
	}
	/* The tag binds the answer to this login in this browser (login CSRF). */
	if (!upstream_answer_tag_ok(r->arena, &ans, flow.csrf, u->name)) {
		page_error(r, w, 400, page_lang(r, flow.locale), "invalid_request",
			   "the answer from the electronic ID belongs to another login");
		return;
	}
	rc = iss_check(r, u, ans.iss, &e);
	if (rc != 0)
		fail_page(r, w, u, &flow,
			  rc == ERR_UNAVAILABLE ? UP_UNAVAILABLE : UP_SERVER_ERROR, &e);
	else if (ans.error != NULL)
		upstream_said_error(r, w, u, &flow, ans.error);
	else
		finish(r, w, u, &flow, &ans);
}

/* POST /<eid>/abort: the person goes back to the service after a failure. */
void
upstream_abort(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	const struct upstream *u = upstream_of_request(r);
	const char *error = http_param_c(&r->form, "error");
	struct err e = { 0 };

	if (error == NULL || (strcmp(error, UP_DENIED) != 0 && strcmp(error, UP_UNAVAILABLE) != 0))
		error = UP_SERVER_ERROR;
	(void)ERR(&e, ERR_DENIED, 0, error, "%s could not complete the login", u->display);
	flow->host->fail(flow, r, w, &e);
}
