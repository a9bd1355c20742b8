/*
 * Single sign-on (spec/saml-proxy.md §3-§5): the SP's signed
 * HTTP-Redirect AuthnRequest at GET /saml/sso, the login at the ID-porten
 * issuer (PAR, code, PKCE), and at GET /saml/callback the assertion built
 * by lasso and kept under an artifact the browser carries to the SP's one
 * assertion consumer service.
 *
 * A request whose SP is unknown, or whose signature does not verify, ends
 * on an error page here without a SAML response (the old behaviour); once
 * the SP is known and has signed, every refusal is a SAML status sent back
 * by artifact like a success.
 */
#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_requested_authn_context.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "oauth/oauth.h"
#include "saml/saml_int.h"
#include "store/store.h"
#include "ui/pages.h"

#define AC_PPT "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
#define AC_SMARTCARD "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
#define AC_UNSPECIFIED "urn:oasis:names:tc:SAML:2.0:ac:classes:Unspecified"
#define SSO_COOKIE "porten_saml"

/* What a login carries from /saml/sso to /saml/callback (the "saml_flow" document). */
struct sso_flow {
	const char *sp, *query, *verifier, *nonce, *obo, *locale, *acr;
};

static void
sso_error_page(struct http_req *r, struct http_resp *w, int status, const struct err *e)
{
	log_info(r->rid, "SAML request refused: %s", e->msg);
	page_error(r, w, status, "nb", "invalid_request", e->msg);
}

/*
 * Where the proxy's query parser and lasso's could read one query two
 * ways: lasso also splits at ';' and takes the last of a repeated
 * parameter, the proxy splits at '&' only and reads the first.  Either
 * would let what the proxy reads (OnBehalfOf, the RelayState limit, the
 * Issuer) come from another request than the one whose signature lasso
 * checked, so such a query is refused.
 */
static int
redirect_query_check(const struct http_req *r, struct err *e)
{
	static const char *const once[] = { "SAMLRequest", "SAMLResponse", "RelayState",
					    "SigAlg", "Signature", NULL };
	size_t i;

	if (memchr(r->raw_query.p, ';', r->raw_query.len) != NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "a query with a raw semicolon is refused");
	/* names compared decoded: a percent-encoded twin counts as a repeat */
	for (i = 0; once[i] != NULL; i++)
		if (http_param(&r->query, once[i], NULL) == ERR_DUP)
			return ERR(e, ERR_INVAL, 400, NULL, "%s given more than once", once[i]);
	/* SAML Bindings §3.4.4.1: a message is one or the other */
	if (http_param(&r->query, "SAMLRequest", NULL) == 0 &&
	    http_param(&r->query, "SAMLResponse", NULL) == 0)
		return ERR(e, ERR_INVAL, 400, NULL, "SAMLRequest and SAMLResponse together");
	return 0;
}

/*
 * The query lasso checks the signature over: SAMLRequest (or SAMLResponse), RelayState,
 * SigAlg and Signature exactly as they came, in their order (SAML Bindings
 * §3.4.4.1), without the parameters the proxy reads itself (locale).
 */
int
saml_signed_query(const struct http_req *r, char **query, struct err *e)
{
	static const char *const keep[] = { "SAMLRequest=", "SAMLResponse=", "RelayState=",
					    "SigAlg=", "Signature=", NULL };
	struct str head, rest = r->raw_query;
	char *out;
	size_t n = 0, i;
	int rc;

	*query = NULL;
	rc = redirect_query_check(r, e);
	if (rc != 0)
		return rc;
	out = arena_alloc(r->arena, rest.len + 1);
	if (out == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	while (rest.len > 0) {
		/* the last parameter: head is all that is left, rest empty */
		(void)str_split(rest, '&', &head, &rest);
		for (i = 0; keep[i] != NULL; i++)
			if (str_has_prefix(head, keep[i]))
				break;
		if (keep[i] == NULL)
			continue;
		if (n > 0)
			out[n++] = '&';
		memcpy(out + n, head.p, head.len);
		n += head.len;
	}
	out[n] = '\0';
	*query = out;
	return 0;
}

/* The SP's entityID, from the Issuer of the inflated request. */
static int
peek_request(struct http_req *r, const char **issuer, struct err *e)
{
	struct str b64 = { 0 };

	if (http_param(&r->query, "SAMLRequest", &b64) != 0)
		return ERR(e, ERR_INVAL, 400, NULL, "no SAMLRequest");
	return saml_redirect_peek(r->arena, b64, "AuthnRequest", issuer, NULL, e);
}

/* xs:dateTime (UTC, "Z") to seconds; -1 when it is not one. */
static int64_t
parse_instant(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z") != 0)
		return -1;
	return (int64_t)timegm(&tm);
}

/* spec §4: the level the SP asks for; NULL when it asks for what the proxy cannot give. */
static const char *
map_acr(const LassoSamlp2AuthnRequest *req)
{
	const LassoSamlp2RequestedAuthnContext *rac = req->RequestedAuthnContext;
	const char *best = "idporten-loa-substantial";
	GList *l;

	if (rac == NULL || rac->AuthnContextClassRef == NULL)
		return best;
	/* Comparison is always read as minimum: the highest class asked for wins */
	for (l = rac->AuthnContextClassRef; l != NULL; l = l->next) {
		const char *c = l->data;

		if (c != NULL && strcmp(c, AC_SMARTCARD) == 0)
			best = "idporten-loa-high";
		else if (c == NULL || (strcmp(c, AC_PPT) != 0 && strcmp(c, AC_UNSPECIFIED) != 0))
			return NULL;
	}
	return best;
}

/*
 * The §3 checks lasso leaves to the IdP; on failure a message and the
 * status of spec §7 the SP gets it with (top, second).
 */
static int
check_request(struct http_req *r, const LassoSamlp2AuthnRequest *req, const json_t *sp,
	      const char **top, const char **second, struct err *e)
{
	const LassoSamlp2RequestAbstract *ra = &req->parent;
	int64_t at = parse_instant(ra->IssueInstant), now = time_now();
	const char *dest = saml_idp_url(r->arena, "/saml/sso");

	*top = SAML_STATUS_REQUESTER;
	*second = SAML_STATUS_REQUEST_UNSUPPORTED;
	if (ra->Version == NULL || strcmp(ra->Version, "2.0") != 0) {
		*top = SAML_STATUS_VERSION_MISMATCH;
		*second = NULL;
		return ERR(e, ERR_INVAL, 400, NULL, "only SAML 2.0 is spoken");
	}
	if (ra->ID == NULL || ra->ID[0] == '\0' || strlen(ra->ID) > SAML_MAX_ID)
		return ERR(e, ERR_INVAL, 400, NULL, "the request's ID is missing or too long");
	if (at < 0 || at < now - SAML_SKEW || at > now + SAML_SKEW)
		return ERR(e, ERR_INVAL, 400, NULL, "IssueInstant is missing or outside +-%d s",
			   SAML_SKEW);
	if (ra->Destination != NULL && strcmp(ra->Destination, dest) != 0)
		return ERR(e, ERR_INVAL, 400, NULL, "Destination is not this SSO service");
	if (req->AssertionConsumerServiceURL != NULL &&
	    strcmp(req->AssertionConsumerServiceURL, saml_sp_str(sp, "acs")) != 0)
		return ERR(e, ERR_INVAL, 400, NULL,
			   "AssertionConsumerServiceURL is not the registered one");
	if (req->ProtocolBinding != NULL &&
	    strcmp(req->ProtocolBinding, SAML_BINDING_ARTIFACT) != 0) {
		*second = SAML_STATUS_UNSUPPORTED_BINDING;
		return ERR(e, ERR_INVAL, 400, NULL, "ProtocolBinding must be HTTP-Artifact");
	}
	return 0;
}

/* Remember the request ID until it could no longer pass the skew check (replay). */
static int
remember_id(struct porten *app, struct http_req *r, const char *sp, const char *id, struct err *e)
{
	unsigned char h[32];
	char key[TOKEN_CHARS + 1];
	const char *both = arena_printf(r->arena, "%s\n%s", sp, id);
	json_t *doc = json_object();
	int rc;

	sha256(both, strlen(both), h);
	b64url_encode(h, sizeof(h), key);
	rc = store_call(app->store, saml, doc_put, "saml_rid", key, doc,
			time_now() + 2 * SAML_SKEW + 60, e);
	json_decref(doc);
	if (rc == ERR_EXISTS)
		return ERR(e, ERR_EXISTS, 400, NULL, "the request ID was used before (replay)");
	return rc;
}

/* Browser binding of the flow: the state in a cookie for the callback's path. */
static void
set_flow_cookie(struct http_req *r, struct http_resp *w, const char *state)
{
	struct porten *app = r->app;
	struct http_cookie_opts o = { .max_age = app->cfg->pending_lifetime,
				      .path = "/saml/",
				      .same_site = "Lax",
				      .secure = app_cookie_secure(r),
				      .http_only = true };

	http_resp_cookie(w, SSO_COOKIE, state, &o);
}

static int
start_login(struct http_req *r, struct http_resp *w, const json_t *sp, const char *query,
	    const LassoSamlp2AuthnRequest *req, const char *acr, const char *obo, struct err *e)
{
	struct porten *app = r->app;
	struct saml_oidc_req q = { 0 };
	const char *locale = http_param_c(&r->query, "locale");
	char *url = NULL, *verifier = rand_token(r->arena);
	json_t *flow;
	int rc;

	q.state = rand_token(r->arena);
	q.nonce = rand_token(r->arena);
	if (q.state == NULL || q.nonce == NULL || verifier == NULL)
		return ERR(e, ERR_CRYPTO, 500, NULL, "no randomness");
	q.code_challenge = sha256_b64url(r->arena, str_c(verifier));
	q.acr = acr;
	q.force_authn = req->ForceAuthn;
	if (locale != NULL && (strcmp(locale, "nb") == 0 || strcmp(locale, "nn") == 0 ||
			       strcmp(locale, "en") == 0 || strcmp(locale, "se") == 0))
		q.locale = locale;
	flow = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?}", "sp",
			 saml_sp_str(sp, "entity_id"), "query", query, "verifier", verifier,
			 "nonce", q.nonce, "acr", acr, "obo", obo, "locale", q.locale);
	if (flow == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	rc = store_call(app->store, saml, doc_put, "saml_flow", q.state, flow,
			time_now() + app->cfg->pending_lifetime, e);
	json_decref(flow);
	if (rc == 0)
		rc = saml_oidc_par(r, &q, &url, e);
	if (rc != 0)
		return rc;
	set_flow_cookie(r, w, q.state);
	http_resp_redirect(w, url);
	return 0;
}

void
saml_handle_sso(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	const char *issuer = NULL, *acr;
	const char *obo = NULL, *top, *second;
	char *query = NULL;
	json_t *sp = NULL;
	struct saml_login *sl = NULL;
	int rc;

	if (!saml_idp_on()) {
		http_resp_text(w, 404, "the SAML proxy is not configured");
		return;
	}
	if (r->bad_input || r->raw_query.len > SAML_MAX_QUERY) {
		(void)ERR(&e, ERR_INVAL, 400, NULL, "malformed or oversized request");
		sso_error_page(r, w, 400, &e);
		return;
	}
	rc = saml_signed_query(r, &query, &e);
	if (rc == 0)
		rc = peek_request(r, &issuer, &e);
	if (rc == 0) {
		rc = saml_sp_get(r->app, issuer, &sp, &e);
		if (rc == ERR_NOTFOUND)
			(void)ERR(&e, rc, 400, NULL, "unknown service provider");
	}
	/* lasso checks the query signature with the SP's certificate */
	if (rc == 0)
		rc = saml_login_open(sp, query, &sl, &e);
	/* spec §4: OnBehalfOf from the request lasso verified, never from the raw query */
	if (rc == 0)
		rc = saml_authn_obo(r->arena, saml_login_request(sl), &obo, &e);
	if (rc != 0) {
		sso_error_page(r, w, e.status >= 500 ? e.status : 400, &e);
		goto out;
	}
	rc = check_request(r, saml_login_request(sl), sp, &top, &second, &e);
	if (rc == 0)
		rc = remember_id(r->app, r, issuer, saml_login_request(sl)->parent.ID, &e);
	if (rc == ERR_UNAVAILABLE || rc == ERR_INTERNAL) {
		sso_error_page(r, w, 503, &e);
		goto out;
	}
	if (rc != 0) {
		saml_respond_status(r, w, sl, NULL, top, second, e.msg);
		goto out;
	}
	if (saml_login_request(sl)->IsPassive) {
		saml_respond_status(r, w, sl, NULL, SAML_STATUS_RESPONDER, SAML_STATUS_NO_PASSIVE,
				    "passive login is not offered");
		goto out;
	}
	acr = map_acr(saml_login_request(sl));
	if (acr == NULL) {
		saml_respond_status(r, w, sl, NULL, SAML_STATUS_REQUESTER,
				    SAML_STATUS_NO_AUTHN_CONTEXT,
				    "only PasswordProtectedTransport and SmartcardPKI are offered");
		goto out;
	}
	rc = start_login(r, w, sp, query, saml_login_request(sl), acr, obo, &e);
	if (rc != 0) {
		log_err(r->rid, "SAML login could not start: %s", e.msg);
		saml_respond_status(r, w, sl, NULL, SAML_STATUS_RESPONDER, NULL,
				    "the login could not start");
	}
out:
	saml_login_close(sl);
	json_decref(sp);
}

/* spec §7: ID-porten's error to the SAML status the SP gets. */
static void
map_oidc_error(const char *error, const char **top, const char **second)
{
	*top = SAML_STATUS_RESPONDER;
	*second = NULL;
	if (error == NULL)
		return;
	if (strcmp(error, "access_denied") == 0)
		*second = SAML_STATUS_AUTHN_FAILED;
	else if (strcmp(error, "login_required") == 0)
		*second = SAML_STATUS_NO_PASSIVE;
	else if (strcmp(error, "invalid_request") == 0 || strcmp(error, "invalid_scope") == 0) {
		*top = SAML_STATUS_REQUESTER;
		*second = SAML_STATUS_REQUEST_UNSUPPORTED;
	}
}

static int
load_flow(struct http_req *r, const char *state, struct sso_flow *f, json_t **doc,
	  struct err *e)
{
	struct porten *app = r->app;
	const char *cookie = http_cookie(r, SSO_COOKIE);
	int rc;

	*doc = NULL;
	if (state == NULL || strlen(state) != TOKEN_CHARS)
		return ERR(e, ERR_INVAL, 400, NULL, "no state");
	/* the flow belongs to the browser that started it */
	if (cookie == NULL || !ct_str_eq(str_c(cookie), str_c(state)))
		return ERR(e, ERR_DENIED, 400, NULL, "this login was started in another browser");
	rc = store_call(app->store, saml, doc_take, "saml_flow", state, doc, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, rc, 400, NULL, "the login has expired or was finished already");
	if (rc != 0)
		return rc;
	f->sp = saml_sp_str(*doc, "sp");
	f->query = saml_sp_str(*doc, "query");
	f->verifier = saml_sp_str(*doc, "verifier");
	f->nonce = saml_sp_str(*doc, "nonce");
	f->acr = saml_sp_str(*doc, "acr");
	f->obo = saml_sp_str(*doc, "obo");
	f->locale = saml_sp_str(*doc, "locale");
	if (f->sp == NULL || f->query == NULL || f->verifier == NULL || f->nonce == NULL)
		return ERR(e, ERR_INTERNAL, 500, NULL, "a stored SAML login is incomplete");
	return 0;
}

void
saml_handle_callback(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	struct sso_flow f = { 0 };
	struct saml_login *sl = NULL;
	json_t *doc = NULL, *sp = NULL, *claims = NULL;
	const char *error, *code, *top, *second, *id_token = NULL;
	int rc;

	if (!saml_idp_on()) {
		http_resp_text(w, 404, "the SAML proxy is not configured");
		return;
	}
	if (r->bad_input) {
		(void)ERR(&e, ERR_INVAL, 400, NULL, "malformed request");
		sso_error_page(r, w, 400, &e);
		return;
	}
	rc = load_flow(r, http_param_c(&r->query, "state"), &f, &doc, &e);
	if (rc == 0)
		rc = saml_sp_get(r->app, f.sp, &sp, &e);
	/* the SP's request once more, to answer it: its signature is checked again */
	if (rc == 0)
		rc = saml_login_open(sp, f.query, &sl, &e);
	if (rc != 0) {
		sso_error_page(r, w, e.status >= 400 ? e.status : 400, &e);
		goto out;
	}
	error = http_param_c(&r->query, "error");
	code = http_param_c(&r->query, "code");
	if (error != NULL || code == NULL) {
		map_oidc_error(error, &top, &second);
		saml_respond_status(r, w, sl, NULL, top, second,
				    error != NULL ? error : "no code from the login");
		goto out;
	}
	rc = saml_oidc_redeem(r, code, f.verifier, f.nonce, &claims, &id_token, &e);
	if (rc != 0) {
		log_err(r->rid, "SAML login: %s", e.msg);
		saml_respond_status(r, w, sl, NULL, SAML_STATUS_RESPONDER, NULL,
				    "the login could not be completed");
		goto out;
	}
	saml_respond_assertion(r, w, sl, sp, claims, id_token, f.obo, f.locale);
out:
	saml_login_close(sl);
	json_decref(claims);
	json_decref(sp);
	json_decref(doc);
}

/*
 * porten_service.customer: a login of the proxy's client is counted for
 * the organisation of the SP it serves (spec/billing.md §2), found by the
 * flow its state names; that flow is still there when the code is issued.
 */
int
saml_customer(struct http_req *r, const char *client_id, const json_t *areq, const char **orgno,
	      struct err *e)
{
	struct porten *app = r->app;
	const char *state = saml_sp_str(areq, "state");
	json_t *flow = NULL, *sp = NULL;
	int rc;

	*orgno = NULL;
	if (!saml_idp_on() || strcmp(client_id, SAML_CLIENT_ID) != 0 || state == NULL ||
	    strlen(state) != TOKEN_CHARS)
		return 0;
	rc = store_call(app->store, saml, doc_get, "saml_flow", state, &flow, e);
	if (rc == 0)
		rc = saml_sp_get(app, saml_sp_str(flow, "sp"), &sp, e);
	if (rc == 0 && saml_sp_str(sp, "orgno") != NULL)
		*orgno = arena_strdup(r->arena, saml_sp_str(sp, "orgno"));
	json_decref(sp);
	json_decref(flow);
	return rc;
}
