/*
 * Single logout started by an SP (spec/saml-proxy.md §6), over
 * HTTP-Redirect with every message signed:
 *
 *   1. GET /saml/logout?SAMLRequest=...  the SP's signed LogoutRequest;
 *      lasso verifies it against the SAML side of the SSO session.
 *   2. The proxy ends the SSO session at the ID-porten issuer (its
 *      RP-initiated logout with the proxy's ID token as the hint): every
 *      OIDC client of the session is told by front-channel.
 *   3. GET /saml/logout/done: each other SAML SP of the session gets a
 *      signed LogoutRequest in turn and answers at GET /saml/logout with
 *      its LogoutResponse (RelayState carries the chain).
 *   4. The initiating SP gets its signed LogoutResponse at its
 *      ResponseLocation: Success, or Success with PartialLogout when an SP
 *      of the chain refused or answered with something that does not
 *      verify.
 *
 * Started at the issuer instead (its /logout, by an OIDC client or the
 * user): the login core calls saml_logout_hook after ending the session;
 * after the OIDC clients' frames the browser comes to step 3 for every
 * SAML SP of the session, and the chain ends at the client's
 * post_logout_redirect_uri, by a page saying the logout is not complete
 * when an SP refused (there is no SAML initiator to hear PartialLogout).
 *
 * The chain lives in the store ("saml_slo"), so any node takes each step.
 */
#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <lasso/xml/saml-2.0/samlp2_status_response.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "saml/saml_int.h"
#include "store/store.h"
#include "ui/pages.h"

#define SLO_MAX_SPS 32 /* SAML SPs one logout chain visits */

static void
slo_error_page(struct http_req *r, struct http_resp *w, int status, const struct err *e)
{
	log_info(r->rid, "SAML logout refused: %s", e->msg);
	page_error(r, w, status, "nb", "invalid_request", e->msg);
}

/* The issuer of the HTTP-Redirect message in param, whose root must be root_name. */
static int
peek_issuer(struct http_req *r, const char *param, const char *root_name, const char **issuer,
	    struct err *e)
{
	struct str b64 = { 0 };

	if (http_param(&r->query, param, &b64) != 0)
		return ERR(e, ERR_INVAL, 400, NULL, "no %s", param);
	return saml_redirect_peek(r->arena, b64, root_name, issuer, NULL, e);
}

/* A lasso server for sp plus every SP in the list (the session's). */
static int
slo_server(struct http_req *r, const json_t *sp, const json_t *others, LassoServer **out,
	   struct err *e)
{
	size_t i;
	json_t *v, *doc;
	int rc = saml_lasso_server(sp, out, e);

	json_array_foreach(others, i, v) {
		if (rc != 0 || i >= SLO_MAX_SPS)
			break;
		if (!json_is_string(v) ||
		    strcmp(json_string_value(v), saml_sp_str(sp, "entity_id")) == 0)
			continue;
		doc = NULL;
		if (saml_sp_get(r->app, json_string_value(v), &doc, e) == 0)
			saml_lasso_server_add(*out, doc);
		json_decref(doc);
	}
	return rc;
}

/* The response's status: top (NULL keeps lasso's, Success) and a second level. */
static void
set_status(LassoProfile *p, const char *top_value, const char *second_value)
{
	LassoSamlp2StatusResponse *resp;
	LassoSamlp2StatusCode *top, *second;

	if (p->response == NULL || !LASSO_IS_SAMLP2_STATUS_RESPONSE(p->response))
		return;
	resp = LASSO_SAMLP2_STATUS_RESPONSE(p->response);
	if (resp->Status == NULL)
		resp->Status = LASSO_SAMLP2_STATUS(lasso_samlp2_status_new());
	if (resp->Status->StatusCode == NULL) {
		top = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
		top->Value = g_strdup(SAML_STATUS_ "Success");
		resp->Status->StatusCode = top;
	}
	top = resp->Status->StatusCode;
	if (top_value != NULL) {
		g_free(top->Value);
		top->Value = g_strdup(top_value);
	}
	if (top->StatusCode != NULL)
		g_object_unref(top->StatusCode);
	second = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
	second->Value = g_strdup(second_value);
	top->StatusCode = second;
}

/*
 * The last step: the initiating SP's LogoutResponse, Success unless
 * second (then with top, or Success when top is NULL).
 */
static void
finish(struct http_req *r, struct http_resp *w, LassoLogout *lo, const char *top,
       const char *second)
{
	int lr;

	lr = lasso_logout_build_response_msg(lo);
	/*
	 * A logout read back from the store has no response yet: lasso makes
	 * it in the first build; the second signs it with the status set here.
	 */
	if (lr == 0 && second != NULL) {
		set_status(LASSO_PROFILE(lo), top, second);
		lr = lasso_logout_build_response_msg(lo);
	}
	if (lr != 0 || LASSO_PROFILE(lo)->msg_url == NULL) {
		log_err(r->rid, "lasso cannot build the LogoutResponse: %s", lasso_strerror(lr));
		page_error(r, w, 500, "nb", "server_error", "the logout answer could not be built");
		return;
	}
	http_resp_redirect(w, LASSO_PROFILE(lo)->msg_url);
}

/* The chain as kept between its steps. */
struct slo_state {
	json_t *doc;             /* "saml_slo": sp, dump, session, todo, partial */
	const char *id;
};

static int
state_save(struct http_req *r, struct slo_state *st, struct err *e)
{
	struct porten *app = r->app;

	return store_call(app->store, saml, doc_update, "saml_slo", st->id, st->doc, e);
}

/*
 * The end of a chain the issuer's logout started (saml_logout_hook): on to
 * where that logout goes (the client's post_logout_redirect_uri), or the
 * logged-out page; first a page saying so when an SP of the chain refused
 * or its answer did not verify, since there is no SAML initiator to hear
 * PartialLogout.
 */
static void
oidc_chain_end(struct http_req *r, struct http_resp *w, struct slo_state *st)
{
	struct porten *app = r->app;
	const char *dest = saml_sp_str(st->doc, "dest"), *lang = page_lang(r, NULL);
	bool partial = json_is_true(json_object_get(st->doc, "partial"));
	struct err e = { 0 };
	struct buf b;

	store_call(app->store, saml, doc_delete, "saml_slo", st->id, &e);
	if (!partial && dest != NULL) {
		http_resp_redirect(w, dest);
		return;
	}
	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, partial ? "Logout not complete" : "You are logged out");
	buf_printf(&b, "<h1>%s</h1><p>%s</p>",
		   page_text(lang, partial ? "Logout not complete" : "You are logged out"),
		   page_text(lang, partial ? "Some services did not confirm that you are logged "
					     "out of them. Close the browser to be sure."
					   : "You are now logged out of ID-porten and the services "
					     "you used."));
	if (dest != NULL) {
		buf_puts(&b, "<p><a id=\"continue\" href=\"");
		buf_html(&b, str_c(dest));
		buf_printf(&b, "\">%s</a></p>", page_text(lang, "Continue"));
	}
	page_end(&b, lang, NULL);
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
}

/*
 * The next SP of the chain: a LogoutRequest to it (RelayState names the
 * chain), or, with none left, the answer to the initiating SP.
 */
static void
chain_next(struct http_req *r, struct http_resp *w, struct slo_state *st)
{
	struct porten *app = r->app;
	struct err e = { 0 };
	json_t *sp = NULL, *todo = json_object_get(st->doc, "todo");
	LassoServer *server = NULL;
	LassoLogout *lo = NULL, *req = NULL;
	const char *next = NULL, *init;
	int rc, lr;

	init = saml_sp_str(st->doc, "sp");
	if (init == NULL && json_array_size(todo) == 0) {
		oidc_chain_end(r, w, st);
		goto out;
	}
	/* a chain started at the issuer has no initiator: the first SP to visit serves */
	rc = saml_sp_get(app, init ? init : json_string_value(json_array_get(todo, 0)), &sp, &e);
	if (rc == 0)
		rc = slo_server(r, sp, todo, &server, &e);
	if (rc != 0) {
		slo_error_page(r, w, e.status >= 400 ? e.status : 500, &e);
		goto out;
	}
	while (json_array_size(todo) > 0 && next == NULL) {
		/* a copy: removing it from todo frees the JSON string */
		next = arena_strdup(r->arena, json_string_value(json_array_get(todo, 0)));
		req = lasso_logout_new(server);
		lasso_profile_set_session_from_dump(LASSO_PROFILE(req), saml_sp_str(st->doc, "session"));
		lr = next != NULL ? lasso_logout_init_request(req, (char *)next,
							       LASSO_HTTP_METHOD_REDIRECT)
				  : -1;
		if (lr == 0) {
			LASSO_PROFILE(req)->msg_relayState = g_strdup(st->id);
			lr = lasso_logout_build_request_msg(req);
		}
		json_array_remove(todo, 0);
		if (lr != 0 || LASSO_PROFILE(req)->msg_url == NULL) {
			log_warn(r->rid, "no LogoutRequest for %s: %s", next ? next : "?",
				 lasso_strerror(lr));
			json_object_set_new(st->doc, "partial", json_true());
			next = NULL;
			lasso_logout_destroy(req);
			req = NULL;
		}
	}
	if (next != NULL) {
		json_object_set_new(st->doc, "waiting", json_string(next));
		if (state_save(r, st, &e) != 0) {
			slo_error_page(r, w, 503, &e);
			goto out;
		}
		http_resp_redirect(w, LASSO_PROFILE(req)->msg_url);
		goto out;
	}
	if (init == NULL) {
		oidc_chain_end(r, w, st);
		goto out;
	}
	lo = lasso_logout_new_from_dump(server, saml_sp_str(st->doc, "dump"));
	if (lo == NULL) {
		(void)ERR(&e, ERR_INTERNAL, 500, NULL, "the logout could not be read back");
		slo_error_page(r, w, 500, &e);
		goto out;
	}
	store_call(app->store, saml, doc_delete, "saml_slo", st->id, &e);
	finish(r, w, lo, NULL,
	       json_is_true(json_object_get(st->doc, "partial")) ? SAML_STATUS_PARTIAL_LOGOUT : NULL);
out:
	if (req != NULL)
		lasso_logout_destroy(req);
	if (lo != NULL)
		lasso_logout_destroy(lo);
	if (server != NULL)
		lasso_server_destroy(server);
	json_decref(sp);
}

/* Step 2: end the SSO session at the issuer; it comes back to /saml/logout/done. */
static int
end_sso(struct http_req *r, struct http_resp *w, const char *state, const char *id_token,
	struct err *e)
{
	struct buf b;

	buf_init(&b, 16384);
	buf_printf(&b, "%s?id_token_hint=", saml_idp_url(r->arena, "/logout"));
	buf_urlenc(&b, str_c(id_token));
	buf_puts(&b, "&post_logout_redirect_uri=");
	buf_urlenc(&b, str_c(saml_idp_url(r->arena, "/saml/logout/done")));
	buf_puts(&b, "&state=");
	buf_urlenc(&b, str_c(state));
	if (b.p == NULL) {
		buf_free(&b);
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	http_resp_redirect(w, b.p);
	buf_free(&b);
	return 0;
}

/* Step 1: the SP's LogoutRequest. */
static void
logout_request(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	struct err e = { 0 };
	const char *issuer = NULL, *sid = http_cookie(r, SAML_SID_COOKIE);
	json_t *sp = NULL, *sess = NULL, *todo = NULL, *doc = NULL;
	LassoServer *server = NULL;
	LassoLogout *lo = NULL;
	LassoSession *ls;
	char *dump = NULL, *sdump = NULL, *state;
	size_t i;
	json_t *v;
	char *query = NULL;
	int rc, lr;

	rc = saml_signed_query(r, &query, &e);
	if (rc == 0)
		rc = peek_issuer(r, "SAMLRequest", "LogoutRequest", &issuer, &e);
	if (rc == 0) {
		rc = saml_sp_get(app, issuer, &sp, &e);
		if (rc == ERR_NOTFOUND)
			(void)ERR(&e, rc, 400, NULL, "unknown service provider");
	}
	if (rc == 0 && sid != NULL && strlen(sid) <= SAML_MAX_ID)
		store_call(app->store, saml, doc_get, "saml_sess", sid, &sess, &e);
	if (rc == 0)
		rc = slo_server(r, sp, json_object_get(sess, "sps"), &server, &e);
	if (rc != 0) {
		slo_error_page(r, w, e.status >= 400 ? e.status : 400, &e);
		goto out;
	}
	lo = lasso_logout_new(server);
	lasso_profile_set_signature_verify_hint(LASSO_PROFILE(lo),
						LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
	if (sess != NULL && saml_sp_str(sess, "session") != NULL)
		lasso_profile_set_session_from_dump(LASSO_PROFILE(lo), saml_sp_str(sess, "session"));
	lr = lasso_logout_process_request_msg(lo, query);
	if (lr != 0) {
		(void)ERR(&e, ERR_DENIED, 400, NULL, "the LogoutRequest was refused: %s",
			  lasso_strerror(lr));
		slo_error_page(r, w, 400, &e);
		goto out;
	}
	/* the server knows the session's other SPs too: the signer must be the one peeked */
	if (LASSO_PROFILE(lo)->remote_providerID == NULL ||
	    strcmp(LASSO_PROFILE(lo)->remote_providerID, issuer) != 0) {
		(void)ERR(&e, ERR_DENIED, 400, NULL, "the LogoutRequest's issuer is not the SP");
		slo_error_page(r, w, 400, &e);
		goto out;
	}
	/*
	 * No session here (any more), or not this NameID's: the SP gets its
	 * answer at once, the principal unknown (spec §7).
	 */
	lr = lasso_logout_validate_request(lo);
	if (lr != 0 || sess == NULL) {
		log_info(r->rid, "SAML logout from %s outside a session here: %s", issuer,
			 lr != 0 ? lasso_strerror(lr) : "no session");
		finish(r, w, lo, SAML_STATUS_REQUESTER, SAML_STATUS_UNKNOWN_PRINCIPAL);
		goto out;
	}
	state = rand_token(r->arena);
	todo = json_array();
	json_array_foreach(json_object_get(sess, "sps"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), issuer) != 0)
			json_array_append(todo, v);
	dump = lasso_logout_dump(lo);
	ls = lasso_profile_get_session(LASSO_PROFILE(lo));
	sdump = ls != NULL ? lasso_session_dump(ls) : NULL;
	doc = json_pack("{s:s, s:s, s:s?, s:O, s:b}", "sp", issuer, "dump", dump, "session",
			sdump, "todo", todo, "partial", 0);
	rc = doc != NULL && state != NULL
		     ? store_call(app->store, saml, doc_put, "saml_slo", state, doc,
				  time_now() + app->cfg->pending_lifetime, &e)
		     : ERR(&e, ERR_NOMEM, 500, NULL, "out of memory");
	if (rc == 0) {
		store_call(app->store, saml, doc_delete, "saml_sess", sid, &e);
		rc = end_sso(r, w, state, saml_sp_str(sess, "id_token"), &e);
	}
	if (rc != 0)
		slo_error_page(r, w, rc == ERR_UNAVAILABLE ? 503 : 500, &e);
out:
	g_free(dump);
	g_free(sdump);
	if (lo != NULL)
		lasso_logout_destroy(lo);
	if (server != NULL)
		lasso_server_destroy(server);
	json_decref(doc);
	json_decref(todo);
	json_decref(sess);
	json_decref(sp);
}

static int
state_load(struct http_req *r, const char *id, struct slo_state *st, struct err *e)
{
	struct porten *app = r->app;
	int rc;

	st->id = id;
	st->doc = NULL;
	if (id == NULL || strlen(id) != TOKEN_CHARS)
		return ERR(e, ERR_INVAL, 400, NULL, "no logout in progress");
	rc = store_call(app->store, saml, doc_get, "saml_slo", id, &st->doc, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, rc, 400, NULL, "the logout has expired or is finished");
	return rc;
}

/* Step 3's answers: an SP of the chain's LogoutResponse. */
static void
logout_response(struct http_req *r, struct http_resp *w)
{
	struct slo_state st = { 0 };
	struct err e = { 0 };
	const char *issuer = NULL, *waiting;
	json_t *sp = NULL;
	LassoServer *server = NULL;
	LassoLogout *lo = NULL;
	char *query = NULL;
	int rc, lr;

	/* first: RelayState names the chain, and lasso must read the one read here */
	rc = saml_signed_query(r, &query, &e);
	if (rc == 0)
		rc = state_load(r, http_param_c(&r->query, "RelayState"), &st, &e);
	if (rc == 0)
		rc = peek_issuer(r, "SAMLResponse", "LogoutResponse", &issuer, &e);
	waiting = saml_sp_str(st.doc, "waiting");
	if (rc == 0 && (waiting == NULL || strcmp(waiting, issuer) != 0))
		rc = ERR(&e, ERR_DENIED, 400, NULL, "this SP was not asked to log out");
	if (rc == 0)
		rc = saml_sp_get(r->app, issuer, &sp, &e);
	if (rc == 0)
		rc = saml_lasso_server(sp, &server, &e);
	if (rc != 0) {
		slo_error_page(r, w, e.status >= 400 ? e.status : 400, &e);
		goto out;
	}
	json_object_del(st.doc, "waiting");
	lo = lasso_logout_new(server);
	lasso_profile_set_signature_verify_hint(LASSO_PROFILE(lo),
						LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
	lasso_profile_set_session_from_dump(LASSO_PROFILE(lo), saml_sp_str(st.doc, "session"));
	lr = lasso_logout_process_response_msg(lo, query);
	if (lr != 0) {
		/* the chain goes on; the initiator hears of it as PartialLogout */
		log_warn(r->rid, "SAML logout at %s failed: %s", issuer, lasso_strerror(lr));
		json_object_set_new(st.doc, "partial", json_true());
	}
	chain_next(r, w, &st);
out:
	if (lo != NULL)
		lasso_logout_destroy(lo);
	if (server != NULL)
		lasso_server_destroy(server);
	json_decref(sp);
	json_decref(st.doc);
}

void
saml_handle_logout(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };

	if (!saml_idp_on()) {
		http_resp_text(w, 404, "the SAML proxy is not configured");
		return;
	}
	if (r->bad_input || r->raw_query.len > SAML_MAX_QUERY) {
		(void)ERR(&e, ERR_INVAL, 400, NULL, "malformed or oversized request");
		slo_error_page(r, w, 400, &e);
		return;
	}
	if (http_param(&r->query, "SAMLRequest", &(struct str){ 0 }) != ERR_NOTFOUND)
		logout_request(r, w);
	else if (http_param(&r->query, "SAMLResponse", &(struct str){ 0 }) != ERR_NOTFOUND)
		logout_response(r, w);
	else {
		(void)ERR(&e, ERR_INVAL, 400, NULL, "no SAMLRequest or SAMLResponse");
		slo_error_page(r, w, 400, &e);
	}
}

/*
 * The issuer's /logout ended SSO session sid (porten_service.logout): its
 * SAML SPs, all of them, get a LogoutRequest in turn after the OIDC
 * clients' frames, the chain starting at /saml/logout/done and ending at
 * dest.  An SP-started logout has taken the SAML side already (its chain
 * is under way), so there is nothing left here then.
 */
int
saml_logout_hook(struct http_req *r, const char *sid, const char *dest, const char **next,
		 struct err *e)
{
	struct porten *app = r->app;
	json_t *sess = NULL, *doc = NULL, *sps;
	const char *state;
	struct buf b;
	int rc;

	*next = NULL;
	if (!saml_idp_on() || strlen(sid) > SAML_MAX_ID)
		return 0;
	rc = store_call(app->store, saml, doc_get, "saml_sess", sid, &sess, e);
	if (rc != 0)
		return rc == ERR_NOTFOUND ? 0 : rc;
	sps = json_object_get(sess, "sps");
	state = rand_token(r->arena);
	if (json_array_size(sps) > 0) {
		doc = json_pack("{s:O, s:s?, s:s?, s:b}", "todo", sps, "session",
				saml_sp_str(sess, "session"), "dest", dest, "partial", 0);
		rc = doc != NULL && state != NULL
			     ? store_call(app->store, saml, doc_put, "saml_slo", state, doc,
					  time_now() + app->cfg->pending_lifetime, e)
			     : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	if (rc == 0)
		store_call(app->store, saml, doc_delete, "saml_sess", sid, e);
	if (rc == 0 && doc != NULL) {
		buf_init(&b, 512);
		buf_printf(&b, "%s?state=%s", saml_idp_url(r->arena, "/saml/logout/done"), state);
		*next = b.p != NULL ? arena_strdup(r->arena, b.p) : NULL;
		buf_free(&b);
		if (*next == NULL)
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	json_decref(doc);
	json_decref(sess);
	return rc;
}

/*
 * After the issuer's logout: the other SAML SPs, then the initiator.  The
 * chain starts here once; while an SP has been asked, only its answer
 * moves the chain on (a second visit would pass that SP over, and the
 * initiator would hear Success of a logout that SP never confirmed).
 */
void
saml_handle_logout_done(struct http_req *r, struct http_resp *w)
{
	struct slo_state st = { 0 };
	struct err e = { 0 };
	const char *waiting;

	if (!saml_idp_on()) {
		http_resp_text(w, 404, "the SAML proxy is not configured");
		return;
	}
	if (r->bad_input || state_load(r, http_param_c(&r->query, "state"), &st, &e) != 0) {
		if (e.msg[0] == '\0')
			(void)ERR(&e, ERR_INVAL, 400, NULL, "malformed request");
		slo_error_page(r, w, e.status >= 400 ? e.status : 400, &e);
		return;
	}
	waiting = saml_sp_str(st.doc, "waiting");
	if (waiting != NULL) {
		(void)ERR(&e, ERR_DENIED, 400, NULL, "the logout waits for the answer of %s",
			  waiting);
		slo_error_page(r, w, 400, &e);
	} else {
		chain_next(r, w, &st);
	}
	json_decref(st.doc);
}

/*
 * The proxy's own front-channel logout URI: the issuer calls it in an
 * iframe when the SSO session ends.  The SAML side of that session is
 * forgotten (the chain, saml_logout_hook or an SP's, has taken it already
 * when the logout came through the issuer's /logout in this browser).
 * Only the browser of the session does that: every OIDC client of the
 * session knows its sid, and would otherwise cut the SAML SPs out of the
 * session's single logout.  The sid must be the one in the proxy's cookie,
 * which a cross-site frame does not carry (SameSite=Lax).
 */
void
saml_handle_fclogout(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	struct err e = { 0 };
	const char *sid = http_param_c(&r->query, "sid");
	const char *mine = http_cookie(r, SAML_SID_COOKIE);

	if (saml_idp_on() && sid != NULL && strlen(sid) <= SAML_MAX_ID && mine != NULL &&
	    ct_str_eq(str_c(sid), str_c(mine)))
		store_call(app->store, saml, doc_delete, "saml_sess", sid, &e);
	http_resp_header(w, "Cache-Control", "no-store");
	http_resp_text(w, 200, "");
}
