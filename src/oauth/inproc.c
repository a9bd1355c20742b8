/*
 * A client of an issuer inside the same process (the SAML proxy, KRR's
 * self-service pages): the issuer's own handlers are called with a
 * request built as the HTTP layer would build it, so the same checks run
 * (client authentication, redirect URI, PKCE, single-use code) without a
 * worker thread waiting on another of the same pool over loopback HTTP.
 */
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "registry/registry.h"

void
oauth_form_add(struct buf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	if (b->len > 0)
		buf_puts(b, "&");
	buf_puts(b, name);
	buf_puts(b, "=");
	buf_urlenc(b, str_c(value));
}

int
oauth_call_form(struct http_req *outer, const char *path, http_handler_fn fn,
		const struct buf *form, int *status, json_t **body, struct err *e)
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
	if (form->len == 0 || form->len > OAUTH_INPROC_FORM_MAX)
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

int
oauth_id_token_check(struct http_req *r, const char *jws, const char *aud, const char *nonce,
		     json_t **claims, struct err *e)
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
	     strcmp(json_string_value(json_object_get(c, "aud")), aud) != 0 ||
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
