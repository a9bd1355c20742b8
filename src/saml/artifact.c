/*
 * POST /saml/artifact: artifact resolution over SOAP 1.1 (spec §3).  The
 * SP's ArtifactResolve must be signed by the SP that got the artifact;
 * the artifact is taken from the store once, by any node, and lasso wraps
 * the kept Response in a signed ArtifactResponse.  An unknown, spent,
 * expired or foreign artifact gets an ArtifactResponse without a message
 * (SAML Bindings §3.6.5) and leaves what is stored as it was.
 */
#include <lasso/lasso.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "saml/saml_int.h"
#include "store/store.h"


static void
soap_answer(struct http_resp *w, int status, const char *body)
{
	buf_reset(&w->body);
	if (buf_puts(&w->body, body) != 0) {
		http_resp_text(w, 500, "out of memory");
		return;
	}
	w->status = status;
	w->content_type = "text/xml; charset=utf-8";
	http_resp_header(w, "Cache-Control", "no-store");
}

/* SOAP 1.1 §4.4: a Client fault for what the SP sent wrong. */
static void
soap_fault(struct http_req *r, struct http_resp *w, int status, const struct err *e)
{
	struct buf b;

	log_info(r->rid, "SAML artifact resolution refused: %s", e->msg);
	buf_init(&b, 4096);
	buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\""
		     SAML_NS_SOAP11 "\"><soap:Body><soap:Fault><faultcode>soap:");
	buf_puts(&b, status >= 500 ? "Server" : "Client");
	buf_puts(&b, "</faultcode><faultstring>");
	buf_html(&b, str_c(e->msg));
	buf_puts(&b, "</faultstring></soap:Fault></soap:Body></soap:Envelope>");
	soap_answer(w, status, b.p != NULL ? b.p : "");
	buf_free(&b);
}

/* The kept Response, if the artifact is live and was issued to this SP; taken once. */
static int
take_message(struct http_req *r, const char *art, const char *sp, char **msg, struct err *e)
{
	struct porten *app = r->app;
	const char *key = sha256_b64url(r->arena, str_c(art));
	json_t *doc = NULL;
	int rc;

	*msg = NULL;
	rc = store_call(app->store, saml, doc_get, "saml_art", key, &doc, e);
	if (rc == 0 && strcmp(saml_sp_str(doc, "sp") != NULL ? saml_sp_str(doc, "sp") : "", sp) != 0) {
		/* another SP's artifact: refused, and left for its own SP */
		log_warn(r->rid, "SAML artifact of %s presented by %s", saml_sp_str(doc, "sp"), sp);
		rc = ERR_NOTFOUND;
	}
	json_decref(doc);
	doc = NULL;
	if (rc == 0)
		rc = store_call(app->store, saml, doc_take, "saml_art", key, &doc, e);
	if (rc == 0)
		*msg = arena_strdup(r->arena, saml_sp_str(doc, "msg"));
	json_decref(doc);
	if (rc == ERR_NOTFOUND)
		return 0;
	return rc;
}

void
saml_handle_artifact(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	const char *issuer = NULL;
	json_t *sp = NULL;
	LassoServer *server = NULL;
	LassoLogin *login = NULL;
	char *art = NULL, *msg = NULL, *body;
	int rc, lr;

	if (!saml_idp_on()) {
		http_resp_text(w, 404, "the SAML proxy is not configured");
		return;
	}
	if (r->body.len == 0 || r->body.len > SAML_MAX_XML) {
		(void)ERR(&e, ERR_LIMIT, 400, NULL, "the SOAP message is empty or over %d bytes",
			  SAML_MAX_XML);
		soap_fault(r, w, 400, &e);
		return;
	}
	rc = saml_soap_peek(r->arena, r->body, "ArtifactResolve", &issuer, &e);
	if (rc == 0) {
		rc = saml_sp_get(r->app, issuer, &sp, &e);
		if (rc == ERR_NOTFOUND)
			(void)ERR(&e, rc, 403, NULL, "unknown service provider");
	}
	if (rc == 0)
		rc = saml_lasso_server(sp, &server, &e);
	if (rc == 0) {
		login = lasso_login_new(server);
		lasso_profile_set_signature_verify_hint(LASSO_PROFILE(login),
							LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
		body = arena_strndup(r->arena, r->body.p, r->body.len);
		lr = lasso_login_process_request_msg(login, body);
		if (lr != 0)
			rc = ERR(&e, ERR_DENIED, 403, NULL, "the ArtifactResolve was refused: %s",
				 lasso_strerror(lr));
	}
	if (rc == 0) {
		art = lasso_profile_get_artifact(LASSO_PROFILE(login));
		if (art == NULL || strlen(art) > SAML_MAX_B64)
			rc = ERR(&e, ERR_INVAL, 400, NULL, "the ArtifactResolve has no artifact");
	}
	if (rc == 0)
		rc = take_message(r, art, issuer, &msg, &e);
	if (rc != 0) {
		soap_fault(r, w, e.status >= 400 ? e.status : 500, &e);
		goto out;
	}
	if (msg != NULL)
		lasso_profile_set_artifact_message(LASSO_PROFILE(login), msg);
	else
		log_info(r->rid, "SAML artifact from %s unknown, spent or expired", issuer);
	lr = lasso_login_build_response_msg(login, NULL);
	if (lr != 0 || LASSO_PROFILE(login)->msg_body == NULL) {
		(void)ERR(&e, ERR_INTERNAL, 500, NULL, "lasso cannot build the ArtifactResponse: %s",
			  lasso_strerror(lr));
		soap_fault(r, w, 500, &e);
		goto out;
	}
	soap_answer(w, 200, LASSO_PROFILE(login)->msg_body);
out:
	g_free(art);
	if (login != NULL)
		lasso_login_destroy(login);
	if (server != NULL)
		lasso_server_destroy(server);
	json_decref(sp);
}
