/*
 * The proxy as a confidential OIDC client of the ID-porten issuer
 * (spec/saml-proxy.md §1): PAR, the code flow with PKCE, state and nonce.
 *
 * The proxy calls the issuer's own PAR and token handlers in process,
 * with a request it builds as the HTTP layer would (a form body, its own
 * client authentication), instead of over loopback HTTP: the same checks
 * run (client authentication, redirect URI, PKCE, single-use code), no
 * worker thread waits on another of the same pool, and no node needs to
 * reach the issuer's public URL from inside.  Every node can do it, since
 * what the flow needs lives in the store.
 *
 * The client is registered once, by the first node that starts, with a
 * fixed client_id; its secret is kept among the meta values all nodes
 * share (the store keeps the client's hash of it, as for every client).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "jose/jose.h"
#include "login/login.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "saml/saml_int.h"
#include "store/store.h"

#define META_SECRET "saml_proxy_client_secret"
#define OIDC_FORM_MAX 8192
#define OIDC_WAIT_MS 3000 /* how long a node waits for the node that registers the client */

static char client_secret[128];

/* The registration: a web client whose only redirect is the proxy's callback. */
static json_t *
client_doc(const char *base)
{
	char cb[SAML_MAX_ENTITY_ID + 64], fc[SAML_MAX_ENTITY_ID + 64], done[SAML_MAX_ENTITY_ID + 64];

	snprintf(cb, sizeof(cb), "%s/saml/callback", base);
	snprintf(fc, sizeof(fc), "%s/saml/fclogout", base);
	snprintf(done, sizeof(done), "%s/saml/logout/done", base);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:[s], s:s, s:b}",
			 "client_id", SAML_CLIENT_ID, "client_name", "SAML proxy", "description",
			 "the SAML proxy's own client (spec/saml-proxy.md)", "integration_type",
			 "idporten", "application_type", "web", "token_endpoint_auth_method",
			 "client_secret_post", "grant_types", "authorization_code", "redirect_uris",
			 cb, "post_logout_redirect_uris", done, "frontchannel_logout_uri", fc,
			 "frontchannel_logout_session_required", 1);
}

static int
keep_secret(const char *s, struct err *e)
{
	if (s == NULL || strlen(s) >= sizeof(client_secret))
		return ERR(e, ERR_INTERNAL, 0, NULL, "the SAML proxy's client secret is unusable");
	snprintf(client_secret, sizeof(client_secret), "%s", s);
	return 0;
}

/* Another node is registering the client: wait for its secret. */
static int
await_secret(struct porten *app, char **secret, struct err *e)
{
	int waited, rc = ERR_NOTFOUND;

	for (waited = 0; waited <= OIDC_WAIT_MS; waited += 100) {
		rc = store_call(app->store, registry, meta_get, META_SECRET, secret, e);
		if (rc != ERR_NOTFOUND)
			return rc;
		usleep(100 * 1000);
	}
	/* the node that made the client died before it wrote the secret: make a new one */
	rc = reg_client_rotate_secret(app, SAML_CLIENT_ID, secret, e);
	if (rc == 0)
		rc = store_call(app->store, registry, meta_put_new, META_SECRET, *secret, e);
	if (rc == ERR_EXISTS) {
		secure_wipe(*secret, strlen(*secret));
		free(*secret);
		*secret = NULL;
		rc = store_call(app->store, registry, meta_get, META_SECRET, secret, e);
	}
	return rc;
}

int
saml_oidc_init(struct porten *app, struct err *e)
{
	const struct issuer *is = app_issuer(app, ISSUER_IDPORTEN);
	json_t *in = NULL, *out = NULL;
	char *secret = NULL;
	int rc;

	rc = store_call(app->store, registry, meta_get, META_SECRET, &secret, e);
	if (rc == ERR_NOTFOUND) {
		in = client_doc(is->base);
		rc = in != NULL ? reg_client_create(app, in, &out, &secret, e)
				: ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		if (rc == 0)
			rc = store_call(app->store, registry, meta_put_new, META_SECRET, secret, e);
		else if (rc == ERR_EXISTS)
			rc = await_secret(app, &secret, e);
	} else if (rc == 0) {
		rc = reg_client_get(app, SAML_CLIENT_ID, &out, e);
		if (rc == ERR_NOTFOUND)
			rc = ERR(e, ERR_NOTFOUND, 0, NULL,
				 "the SAML proxy's client %s is gone while its secret is kept",
				 SAML_CLIENT_ID);
	}
	if (rc == 0)
		rc = keep_secret(secret, e);
	if (secret != NULL)
		secure_wipe(secret, strlen(secret));
	free(secret);
	json_decref(in);
	json_decref(out);
	return rc;
}

void
saml_oidc_cleanup(void)
{
	secure_wipe(client_secret, sizeof(client_secret));
}

/* One form field, url-encoded, into b. */
static void
form_add(struct buf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	if (b->len > 0)
		buf_puts(b, "&");
	buf_puts(b, name);
	buf_puts(b, "=");
	buf_urlenc(b, str_c(value));
}

/*
 * POST form to one of the issuer's handlers in process; *body gets its
 * JSON answer (new reference) and *status its status.
 */
static int
call_issuer(struct http_req *outer, const char *path, http_handler_fn fn, struct buf *form,
	    int *status, json_t **body, struct err *e)
{
	struct http_req r = { 0 };
	struct http_resp w;
	static struct http_param ct[] = {
		{ { "content-type", 12 }, { "application/x-www-form-urlencoded", 33 } },
	};
	json_error_t je;
	int rc;

	*body = NULL;
	r.arena = outer->arena;
	r.method = "POST";
	r.path = str_c(path);
	r.app = outer->app;
	r.route_data = outer->route_data;
	r.remote_addr = outer->remote_addr;
	r.tls = outer->tls;
	r.headers.v = ct;
	r.headers.n = 1;
	memcpy(r.rid, outer->rid, sizeof(r.rid));
	if (form->len == 0 || form->len > OIDC_FORM_MAX)
		return ERR(e, ERR_INTERNAL, 500, NULL, "form for %s is empty or too long", path);
	rc = http_parse_urlencoded(r.arena, (struct str){ form->p, form->len }, &r.form,
				   &r.input_err);
	if (rc != 0)
		return ERR(e, ERR_INTERNAL, 500, NULL, "form for %s: %s", path, r.input_err.msg);
	http_resp_init(&w, r.arena);
	fn(&r, &w);
	*status = w.status;
	*body = json_loadb(w.body.p, w.body.len, 0, &je);
	http_resp_free(&w);
	if (*body == NULL)
		return ERR(e, ERR_INTERNAL, 500, NULL, "%s answered %d without JSON", path, *status);
	return 0;
}

static int
issuer_error(const char *path, int status, const json_t *body, struct err *e)
{
	const char *err = json_string_value(json_object_get(body, "error"));
	const char *desc = json_string_value(json_object_get(body, "error_description"));

	return ERR(e, status == 503 ? ERR_UNAVAILABLE : ERR_INTERNAL, status == 503 ? 503 : 500,
		   err, "%s refused the proxy: %d %s %s", path, status, err ? err : "",
		   desc ? desc : "");
}

int
saml_oidc_par(struct http_req *r, const struct saml_oidc_req *q, char **authorize_url,
	      struct err *e)
{
	struct porten *app = r->app;
	const struct issuer *is = r->route_data;
	struct buf form;
	json_t *body = NULL;
	const char *uri;
	int status = 0, rc;

	*authorize_url = NULL;
	buf_init(&form, OIDC_FORM_MAX);
	form_add(&form, "client_id", SAML_CLIENT_ID);
	form_add(&form, "client_secret", client_secret);
	form_add(&form, "response_type", "code");
	form_add(&form, "redirect_uri", saml_idp_url(r->arena, "/saml/callback"));
	form_add(&form, "scope", "openid");
	form_add(&form, "state", q->state);
	form_add(&form, "nonce", q->nonce);
	form_add(&form, "code_challenge", q->code_challenge);
	form_add(&form, "code_challenge_method", "S256");
	form_add(&form, "acr_values", q->acr);
	form_add(&form, "ui_locales", q->locale);
	if (q->force_authn)
		form_add(&form, "prompt", "login");
	rc = call_issuer(r, "/par", login_handle_par, &form, &status, &body, e);
	buf_free_secret(&form);
	if (rc == 0 && status != 201)
		rc = issuer_error("/par", status, body, e);
	uri = json_string_value(json_object_get(body, "request_uri"));
	if (rc == 0 && uri == NULL)
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "/par gave no request_uri");
	if (rc == 0) {
		struct buf u;

		buf_init(&u, OIDC_FORM_MAX);
		char *browser = app_browser_base(is);

		buf_printf(&u, "%s/authorize?client_id=%s&request_uri=",
			   browser != NULL ? browser : is->base, SAML_CLIENT_ID);
		free(browser);
		buf_urlenc(&u, str_c(uri));
		*authorize_url = arena_strndup(r->arena, u.p, u.len);
		buf_free(&u);
	}
	(void)app;
	json_decref(body);
	return rc;
}

/* The ID token: signed by the issuer, for the proxy, with our nonce, in date. */
static int
id_token_check(struct http_req *r, const char *jws, const char *nonce, json_t **claims,
	       struct err *e)
{
	const struct issuer *is = r->route_data;
	json_t *jwks = NULL, *c = NULL;
	int rc;

	*claims = NULL;
	rc = reg_keys_jwks(r->app, is, &jwks, e);
	if (rc == 0)
		rc = jose_jwt_verify(str_c(jws), jwks, JOSE_ALG_RS256, &c, e);
	if (rc == 0)
		rc = jose_jwt_check_times(c, time_now(), 60, 0, 0, e);
	if (rc == 0 &&
	    (!json_is_string(json_object_get(c, "iss")) ||
	     strcmp(json_string_value(json_object_get(c, "iss")), is->iss) != 0 ||
	     !json_is_string(json_object_get(c, "aud")) ||
	     strcmp(json_string_value(json_object_get(c, "aud")), SAML_CLIENT_ID) != 0 ||
	     !json_is_string(json_object_get(c, "nonce")) ||
	     strcmp(json_string_value(json_object_get(c, "nonce")), nonce) != 0 ||
	     !json_is_string(json_object_get(c, "pid"))))
		rc = ERR(e, ERR_DENIED, 500, NULL, "the ID token's iss, aud, nonce or pid is wrong");
	if (rc == 0)
		*claims = c;
	else
		json_decref(c);
	json_decref(jwks);
	return rc;
}

int
saml_oidc_redeem(struct http_req *r, const char *code, const char *verifier, const char *nonce,
		 json_t **claims, const char **id_token, struct err *e)
{
	struct buf form;
	json_t *body = NULL;
	const char *idt;
	int status = 0, rc;

	*claims = NULL;
	buf_init(&form, OIDC_FORM_MAX);
	form_add(&form, "grant_type", "authorization_code");
	form_add(&form, "code", code);
	form_add(&form, "redirect_uri", saml_idp_url(r->arena, "/saml/callback"));
	form_add(&form, "code_verifier", verifier);
	form_add(&form, "client_id", SAML_CLIENT_ID);
	form_add(&form, "client_secret", client_secret);
	rc = call_issuer(r, "/token", oauth_handle_token, &form, &status, &body, e);
	buf_free_secret(&form);
	if (rc == 0 && status != 200)
		rc = issuer_error("/token", status, body, e);
	idt = json_string_value(json_object_get(body, "id_token"));
	if (rc == 0 && idt == NULL)
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "/token gave no id_token");
	if (rc == 0)
		rc = id_token_check(r, idt, nonce, claims, e);
	*id_token = rc == 0 ? arena_strdup(r->arena, idt) : NULL;
	json_decref(body);
	return rc;
}
