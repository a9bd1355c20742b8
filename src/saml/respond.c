/*
 * The answer to an AuthnRequest (spec/saml-proxy.md §3, §5, §7): lasso
 * reads and verifies the SP's request, builds the Response (a status, or
 * one signed Assertion encrypted to the SP), and the proxy keeps it in the
 * store under the artifact the browser takes to the SP's assertion
 * consumer service.  Any node resolves it (artifact.c).
 */
#include <lasso/lasso.h>
#include <lasso/saml-2.0/saml2_helper.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_authn_statement.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_name_id_policy.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "saml/saml_int.h"
#include "store/store.h"
#include "ui/pages.h"

#define AC_PPT "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
#define AC_SMARTCARD "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
#define ATTR_BASIC "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
#define ASSERTION_WINDOW 300 /* spec §5 (design): Conditions and confirmation, 5 minutes */

struct saml_login {
	LassoServer *server;
	LassoLogin *login;
	char *gcm_cert; /* the SP's certificate when xmlsec encrypts for it (enc.c) */
};

static void
iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
saml_login_open(const json_t *sp, const char *query, struct saml_login **out, struct err *e)
{
	struct saml_login *sl = calloc(1, sizeof(*sl));
	LassoSamlp2AuthnRequest *req;
	const char *relay;
	int rc, lr;

	*out = NULL;
	if (sl == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	rc = saml_lasso_server(sp, &sl->server, e);
	if (rc != 0)
		goto fail;
	if (saml_sp_gcm(sp)) {
		const char *cert = saml_sp_str(sp, "cert");

		sl->gcm_cert = strdup(cert != NULL ? cert : "");
		if (sl->gcm_cert == NULL) {
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
			goto fail;
		}
	}
	sl->login = lasso_login_new(sl->server);
	if (sl->login == NULL) {
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		goto fail;
	}
	/* spec §3: the request must be signed, whatever lasso would otherwise allow */
	lasso_profile_set_signature_verify_hint(LASSO_PROFILE(sl->login),
						LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
	lr = lasso_login_process_authn_request_msg(sl->login, query);
	if (lr == LASSO_DS_ERROR_SIGNATURE_NOT_FOUND) {
		rc = ERR(e, ERR_DENIED, 400, NULL, "the request is not signed");
		goto fail;
	}
	if (lr != 0) {
		rc = ERR(e, ERR_DENIED, 400, NULL, "the request was refused: %s",
			 lasso_strerror(lr));
		goto fail;
	}
	/*
	 * SAML Bindings §3.4.3: the RelayState lasso verified and will echo to
	 * the ACS is the one held to the limit.
	 */
	relay = LASSO_PROFILE(sl->login)->msg_relayState;
	if (relay != NULL && strlen(relay) > SAML_MAX_RELAY) {
		rc = ERR(e, ERR_LIMIT, 400, NULL, "RelayState is over %d bytes", SAML_MAX_RELAY);
		goto fail;
	}
	req = LASSO_SAMLP2_AUTHN_REQUEST(LASSO_PROFILE(sl->login)->request);
	if (LASSO_PROFILE(sl->login)->remote_providerID == NULL ||
	    strcmp(LASSO_PROFILE(sl->login)->remote_providerID, saml_sp_str(sp, "entity_id")) != 0) {
		rc = ERR(e, ERR_DENIED, 400, NULL, "the request's issuer is not the SP");
		goto fail;
	}
	/* spec §4: NameIDPolicy is ignored; the NameID is persistent and always made */
	if (req->NameIDPolicy == NULL)
		req->NameIDPolicy = LASSO_SAMLP2_NAME_ID_POLICY(lasso_samlp2_name_id_policy_new());
	g_free(req->NameIDPolicy->Format);
	req->NameIDPolicy->Format = g_strdup(SAML_NAMEID_PERSISTENT);
	req->NameIDPolicy->AllowCreate = TRUE;
	*out = sl;
	return 0;
fail:
	saml_login_close(sl);
	return rc;
}

const LassoSamlp2AuthnRequest *
saml_login_request(const struct saml_login *sl)
{
	return LASSO_SAMLP2_AUTHN_REQUEST(LASSO_PROFILE(sl->login)->request);
}

void
saml_login_close(struct saml_login *sl)
{
	if (sl == NULL)
		return;
	if (sl->login != NULL)
		lasso_login_destroy(sl->login);
	if (sl->server != NULL)
		lasso_server_destroy(sl->server);
	free(sl->gcm_cert);
	free(sl);
}

/* Keep the Response under its artifact and send the browser to the ACS. */
static int
send_artifact(struct http_req *r, struct http_resp *w, struct saml_login *sl, const char *pid)
{
	struct porten *app = r->app;
	LassoProfile *p = LASSO_PROFILE(sl->login);
	struct err e = { 0 };
	char *art = NULL, *msg = NULL, *gcm = NULL;
	json_t *doc = NULL;
	int lr, rc = -1;

	lr = lasso_login_build_artifact_msg(sl->login, LASSO_HTTP_METHOD_ARTIFACT_GET);
	art = lasso_profile_get_artifact(p);
	msg = lasso_profile_get_artifact_message(p);
	if (lr != 0 || art == NULL || msg == NULL || p->msg_url == NULL) {
		log_err(r->rid, "lasso cannot build the artifact: %s", lasso_strerror(lr));
		page_error(r, w, 500, "nb", "server_error", "the answer could not be built");
		goto out;
	}
	if (sl->gcm_cert != NULL && saml_encrypt_gcm(msg, sl->gcm_cert, &gcm, &e) != 0) {
		log_err(r->rid, "cannot encrypt the assertion: %s", e.msg);
		page_error(r, w, 500, "nb", "server_error", "the answer could not be built");
		goto out;
	}
	doc = json_pack("{s:s, s:s, s:s?}", "sp", p->remote_providerID, "msg",
			gcm != NULL ? gcm : msg, "pid", pid);
	rc = doc != NULL ? store_call(app->store, saml, doc_put, "saml_art",
				      sha256_b64url(r->arena, str_c(art)), doc,
				      time_now() + SAML_ARTIFACT_LIFETIME, &e)
			 : ERR(&e, ERR_NOMEM, 500, NULL, "out of memory");
	if (rc != 0) {
		log_err(r->rid, "cannot keep the artifact: %s", e.msg);
		page_error(r, w, rc == ERR_UNAVAILABLE ? 503 : 500, "nb", "server_error",
			   "the answer could not be kept");
		goto out;
	}
	http_resp_redirect(w, p->msg_url);
out:
	json_decref(doc);
	g_free(art);
	g_free(msg);
	free(gcm);
	return rc;
}

static LassoSamlp2StatusCode *
status_code(const char *value)
{
	LassoSamlp2StatusCode *c = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());

	c->Value = g_strdup(value);
	return c;
}

void
saml_respond_status(struct http_req *r, struct http_resp *w, struct saml_login *sl,
		    const char *unused, const char *top, const char *second, const char *message)
{
	LassoProfile *p = LASSO_PROFILE(sl->login);
	LassoSamlp2StatusResponse *resp;
	LassoSamlp2Status *st;

	(void)unused;
	if (p->response == NULL || !LASSO_IS_SAMLP2_STATUS_RESPONSE(p->response)) {
		page_error(r, w, 500, "nb", "server_error", "the answer could not be built");
		return;
	}
	log_info(r->rid, "SAML status %s %s to %s: %s", top, second ? second : "",
		 p->remote_providerID, message ? message : "");
	resp = LASSO_SAMLP2_STATUS_RESPONSE(p->response);
	st = LASSO_SAMLP2_STATUS(lasso_samlp2_status_new());
	st->StatusCode = status_code(top);
	if (second != NULL)
		st->StatusCode->StatusCode = status_code(second);
	st->StatusMessage = message != NULL ? g_strndup(message, 200) : NULL;
	if (resp->Status != NULL)
		g_object_unref(resp->Status);
	resp->Status = st;
	(void)send_artifact(r, w, sl, NULL);
}

/* spec §5 (design): BASE64URL(HMAC-SHA256(secret, SP entityID || pid)), stable per SP. */
static char *
pairwise_nameid(struct http_req *r, const char *sp, const char *pid)
{
	struct porten *app = r->app;
	const char *in = arena_printf(r->arena, "saml\n%s\n%s", sp, pid);
	unsigned char mac[32];

	hmac_sha256(app->pairwise_key, sizeof(app->pairwise_key), in, strlen(in), mac);
	return b64url_encode_arena(r->arena, mac, sizeof(mac));
}

static void
add_attr(LassoSaml2Assertion *a, const char *name, const char *value)
{
	LassoMiscTextNode *t;

	if (value == NULL)
		return;
	t = lasso_misc_text_node_new_with_string(value);
	t->text_child = TRUE;
	lasso_saml2_assertion_add_attribute_with_node(a, name, ATTR_BASIC, LASSO_NODE(t));
	g_object_unref(t);
}

/* The one AuthnStatement: no SessionNotOnOrAfter (spec §5). */
static void
trim_authn_statement(LassoSaml2Assertion *a)
{
	GList *l;

	for (l = a->AuthnStatement; l != NULL; l = l->next) {
		LassoSaml2AuthnStatement *s = l->data;

		g_free(s->SessionNotOnOrAfter);
		s->SessionNotOnOrAfter = NULL;
	}
}

/*
 * The SAML side of the SSO session: lasso's session (the assertions each
 * SP got, for their LogoutRequests), the SPs in it and the ID token, as
 * the "saml_sess" document under the session's sid.  Read before the
 * assertion is built, so lasso adds to what is there.
 */
static json_t *
sess_load(struct http_req *r, struct saml_login *sl, const char *sid)
{
	struct porten *app = r->app;
	struct err e = { 0 };
	json_t *doc = NULL;
	const char *dump;

	if (sid == NULL ||
	    store_call(app->store, saml, doc_get, "saml_sess", sid, &doc, &e) != 0)
		return NULL;
	dump = saml_sp_str(doc, "session");
	if (dump != NULL)
		lasso_profile_set_session_from_dump(LASSO_PROFILE(sl->login), dump);
	return doc;
}

static void
sess_save(struct http_req *r, struct http_resp *w, struct saml_login *sl, json_t *old,
	  const char *sid, const char *sp, const char *id_token)
{
	struct porten *app = r->app;
	LassoSession *ls = lasso_profile_get_session(LASSO_PROFILE(sl->login));
	char *dump = ls != NULL ? lasso_session_dump(ls) : NULL;
	json_t *sps = json_array(), *doc;
	struct err e = { 0 };
	struct http_cookie_opts o = { .max_age = app->cfg->session_max, .path = "/saml/",
				      .same_site = "Lax", .secure = app_cookie_secure(r),
				      .http_only = true };
	size_t i;
	json_t *v;
	int rc;

	json_array_foreach(json_object_get(old, "sps"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), sp) != 0)
			json_array_append(sps, v);
	json_array_append_new(sps, json_string(sp));
	doc = json_pack("{s:s?, s:o, s:s}", "session", dump, "sps", sps, "id_token", id_token);
	rc = doc != NULL ? store_call(app->store, saml, doc_put, "saml_sess", sid, doc,
				      time_now() + app->cfg->session_max, &e)
			 : ERR(&e, ERR_NOMEM, 500, NULL, "out of memory");
	if (rc == ERR_EXISTS) {
		store_call(app->store, saml, doc_delete, "saml_sess", sid, &e);
		rc = store_call(app->store, saml, doc_put, "saml_sess", sid, doc,
				time_now() + app->cfg->session_max, &e);
	}
	if (rc != 0)
		log_warn(r->rid, "the SAML session could not be kept (no single logout): %s", e.msg);
	else
		http_resp_cookie(w, SAML_SID_COOKIE, sid, &o);
	json_decref(doc);
	g_free(dump);
}

void
saml_respond_assertion(struct http_req *r, struct http_resp *w, struct saml_login *sl,
		       const json_t *sp, const json_t *claims, const char *id_token,
		       const char *obo, const char *locale)
{
	const char *sid = json_string_value(json_object_get(claims, "sid"));
	json_t *sess = NULL;
	LassoProfile *p = LASSO_PROFILE(sl->login);
	const char *pid = json_string_value(json_object_get(claims, "pid"));
	const char *acr = json_string_value(json_object_get(claims, "acr"));
	const char *amr = json_string_value(json_array_get(json_object_get(claims, "amr"), 0));
	const char *sp_id = saml_sp_str(sp, "entity_id");
	bool high = acr != NULL && strcmp(acr, "idporten-loa-high") == 0;
	json_int_t auth_time = json_integer_value(json_object_get(claims, "auth_time"));
	int64_t now = time_now();
	char t_auth[32], t_nb[32], t_na[32];
	LassoSaml2Assertion *a;
	LassoSaml2NameID *nid;
	int lr;

	sess = sess_load(r, sl, sid);
	lr = lasso_login_validate_request_msg(sl->login, TRUE, TRUE);
	if (lr != 0) {
		log_err(r->rid, "lasso refused the request at the end: %s", lasso_strerror(lr));
		saml_respond_status(r, w, sl, NULL, SAML_STATUS_RESPONDER, NULL,
				    "the answer could not be built");
		json_decref(sess);
		return;
	}
	iso_time(auth_time > 0 ? (int64_t)auth_time : now, t_auth);
	iso_time(now - 60, t_nb);
	iso_time(now + ASSERTION_WINDOW, t_na);
	lr = lasso_login_build_assertion(sl->login, high ? AC_SMARTCARD : AC_PPT, t_auth, NULL,
					 t_nb, t_na);
	a = lr == 0 ? LASSO_SAML2_ASSERTION(lasso_login_get_assertion(sl->login)) : NULL;
	if (a == NULL) {
		log_err(r->rid, "lasso cannot build the assertion: %s", lasso_strerror(lr));
		saml_respond_status(r, w, sl, NULL, SAML_STATUS_RESPONDER, NULL,
				    "the answer could not be built");
		json_decref(sess);
		return;
	}
	nid = lasso_saml2_name_id_build_persistent(pairwise_nameid(r, sp_id, pid),
						   saml_idp_entity_id(), sp_id);
	lasso_saml2_assertion_set_subject_name_id(a, LASSO_NODE(nid));
	if (p->nameIdentifier != NULL)
		g_object_unref(p->nameIdentifier);
	p->nameIdentifier = LASSO_NODE(nid);
	trim_authn_statement(a);
	add_attr(a, "uid", pid);
	add_attr(a, "SecurityLevel", high ? "4" : "3");
	add_attr(a, "Culture", locale != NULL ? locale : "nb");
	add_attr(a, "AuthMethod", amr);
	add_attr(a, "OnBehalfOf", obo);
	g_object_unref(a);
	/* lasso puts the assertion in its session when it builds the answer */
	if (send_artifact(r, w, sl, pid) == 0 && sid != NULL && id_token != NULL)
		sess_save(r, w, sl, sess, sid, sp_id, id_token);
	json_decref(sess);
}
