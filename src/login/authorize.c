/*
 * The authorization endpoint (spec/idporten-oidc.md §4, §5, §7; PAR in par.c;
 * RFC 6749 §4.1, RFC 7636, RFC 9126, RFC 9207, OIDC Core §3.1.2).
 *
 * Validation order (spec §4): problems with client_id, redirect_uri or
 * request_uri are shown on an error page and never redirected, since the
 * redirect target is not yet trusted; every later problem is redirected to
 * the client with state and iss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/loa.h"
#include "core/log.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/eid.h"
#include "login/areq.h"
#include "login/login_int.h"
#include "oauth/dpop.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "ui/pages.h"

#define SCOPE_MAX_COUNT 32
#define RESOURCE_MAX_COUNT 10
/* authorization_details: the URL-decoded text and the objects in it. */
#define RAR_MAX_BYTES 8192
#define RAR_MAX_OBJECTS 20

/* Parameters RFC 8707 lets repeat. */
static bool
authz_may_repeat(struct str name)
{
	return str_eq_c(name, "resource");
}

/* Value of a single-valued parameter: NULL when absent; ERR_DUP reported by the caller. */
static const char *
authz_param(struct http_req *r, const struct http_params *p, const char *name)
{
	struct str v;

	if (http_param(p, name, &v) != 0)
		return NULL;
	return arena_str(r->arena, v);
}

/* The first single-valued parameter given twice, or NULL. */
static const char *
authz_first_dup(struct http_req *r, const struct http_params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (authz_may_repeat(p->v[i].name))
			continue;
		for (size_t j = i + 1; j < p->n; j++)
			if (str_eq(p->v[i].name, p->v[j].name))
				return arena_str(r->arena, p->v[i].name);
	}
	return NULL;
}

/* An absolute URI without fragment (RFC 8707 §2 resource, spec §11). */
static bool
authz_absolute_uri(const char *s)
{
	const char *c = strchr(s, ':');

	if (c == NULL || c == s || strchr(s, '#') != NULL || strlen(s) > 2000)
		return false;
	for (const char *q = s; q < c; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (q > s && ((*q >= '0' && *q <= '9') || *q == '+' || *q == '-' || *q == '.'))))
			return false;
	return c[1] != '\0' && str_is_clean_utf8(str_c(s)) && strchr(s, ' ') == NULL;
}

/* Check every requested scope against the client and the scope registry. */
static int
authz_scopes(struct http_req *r, const struct client *client, const char *scope,
	     struct authz_request *a, struct err *e)
{
	struct porten *app = r->app;
	struct str rest = str_c(scope), tok;
	int count = 0;

	if (scope[0] == '\0')
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "scope is empty");
	while (rest.len > 0) {
		json_t *sdoc = NULL;
		char *name;

		str_split(rest, ' ', &tok, &rest);
		if (tok.len == 0)
			return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_SCOPE,
				   "scopes must be separated by single spaces");
		if (++count > SCOPE_MAX_COUNT)
			return ERR(e, ERR_LIMIT, 400, OAUTH_INVALID_SCOPE, "too many scopes");
		name = arena_str(r->arena, tok);
		if (!reg_strs_has(&client->scopes, name))
			return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_SCOPE,
				   "scope %.100s is not registered on the client", name);
		if (reg_scope_get(app, name, &sdoc, e) != 0)
			return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_SCOPE, "scope %.100s is unknown",
				   name);
		if (json_is_false(json_object_get(sdoc, "active"))) {
			json_decref(sdoc);
			return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_SCOPE, "scope %.100s is inactive",
				   name);
		}
		/* spec §13: the scope's allowed types hold at every use, not only at
		 * registration (the scope may have been narrowed since). */
		if (!oauth_scope_type_ok(sdoc, client)) {
			json_decref(sdoc);
			return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_SCOPE,
				   "scope %.100s is not allowed for integration_type %s", name,
				   client->integration_type);
		}
		if (json_is_true(json_object_get(sdoc, "requires_user_authentication")))
			a->force_login = true;
		json_decref(sdoc);
	}
	return 0;
}

/*
 * PKCE rules (spec §5).  Only ID-porten knows the downgrade: at
 * Ansattporten PKCE holds for every client, whatever its registration says
 * (spec/ansattporten-eidas-testid.md §1.1).
 */
static int
authz_pkce(const struct issuer *is, const struct client *client, const char *challenge,
	   const char *method, struct authz_request *a, struct err *e)
{
	const char *registered = client->code_challenge_method;
	bool exempt = is->kind == ISSUER_IDPORTEN && registered != NULL &&
		      strcmp(registered, "none") == 0;

	if (challenge == NULL) {
		if (method != NULL)
			return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
				   "code_challenge_method without code_challenge");
		if (exempt)
			return 0;
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "code_challenge is required");
	}
	/* A missing method means plain (RFC 7636 §4.3), which is refused. */
	if (method == NULL || strcmp(method, "S256") != 0)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "code_challenge_method must be S256");
	if (!oauth_pkce_challenge_valid(str_c(challenge)))
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "code_challenge must be 43 base64url characters");
	a->code_challenge = challenge;
	return 0;
}

/*
 * acr_values: minimum levels; the lowest known one wins, unknown ones are
 * ignored.  Each issuer knows its own names: ID-porten's idporten-loa-*,
 * Ansattporten's substantial, high (and low, the lowest offered).
 * ID-porten also takes eidas-loa-*, kept apart in a (the lowest one, and
 * whether nothing else was asked for: spec/ansattporten-eidas-testid.md
 * §2.1).
 */
static unsigned
authz_min_level(const struct issuer *is, const char *acr_values, struct authz_request *a)
{
	struct str rest = str_c(acr_values), tok;
	unsigned min = 0, eidas = 0;

	while (rest.len > 0) {
		char tmp[64];
		unsigned l, x;

		str_split(rest, ' ', &tok, &rest);
		if (tok.len == 0 || tok.len >= sizeof(tmp))
			continue;
		memcpy(tmp, tok.p, tok.len);
		tmp[tok.len] = '\0';
		l = oauth_level_of(is, tmp);
		if (l != 0 && (min == 0 || l < min))
			min = l;
		x = is->kind == ISSUER_IDPORTEN ? eidas_level_of(tmp) : 0;
		if (x != 0 && (eidas == 0 || x < eidas))
			eidas = x;
	}
	a->eidas_level = eidas;
	a->eidas_only = eidas != 0 && min == 0;
	return min ? min : EID_LEVEL_SUBSTANTIAL;
}

/* The step under this issuer that takes authorization_details of type, or NULL. */
static const struct login_step *
authz_rar_step(const struct porten *app, const struct issuer *is, const char *type)
{
	const struct porten_service *const *list = app->services;

	for (size_t k = 0; list != NULL && list[k] != NULL; k++)
		for (size_t j = 0; list[k]->steps != NULL && list[k]->steps[j] != NULL; j++) {
			const struct login_step *st = list[k]->steps[j];

			if ((st->issuer_kinds & SERVICE_ISSUER(is->kind)) == 0 ||
			    st->rar_types == NULL || st->rar_check == NULL)
				continue;
			for (size_t t = 0; st->rar_types[t] != NULL; t++)
				if (strcmp(st->rar_types[t], type) == 0)
					return st;
		}
	return NULL;
}

#define RAR_ERR(e, ...) ERR(e, ERR_INVAL, 400, OAUTH_INVALID_AUTHORIZATION_DETAILS, __VA_ARGS__)

/*
 * authorization_details (RFC 9396 §2): a non-empty JSON array of objects,
 * each with a string type; the step that takes the first object's type
 * under this issuer checks the whole array (types of its own, their
 * fields).  What it accepts rides in the request to that step.
 */
static int
authz_rar(struct http_req *r, const char *text, struct authz_request *a, struct err *e)
{
	const struct login_step *st;
	json_t *v, *o;
	const char *type;
	char *out;
	size_t i;
	int rc;

	if (text == NULL)
		return 0;
	if (strlen(text) > RAR_MAX_BYTES)
		return RAR_ERR(e, "authorization_details is too long");
	v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > RAR_MAX_OBJECTS) {
		json_decref(v);
		return RAR_ERR(e, "authorization_details must be a JSON array of 1 to %d objects",
			       RAR_MAX_OBJECTS);
	}
	json_array_foreach(v, i, o) {
		if (!json_is_object(o) || !json_is_string(json_object_get(o, "type"))) {
			json_decref(v);
			return RAR_ERR(e, "authorization_details[%zu] needs a string type", i);
		}
	}
	type = json_string_value(json_object_get(json_array_get(v, 0), "type"));
	st = authz_rar_step(r->app, r->route_data, type);
	rc = st == NULL ? RAR_ERR(e, "authorization_details type %.100s is not supported here",
				  type)
			: st->rar_check(r, v, e);
	if (rc == 0) {
		out = json_dumps(v, JSON_COMPACT);
		a->rar = out ? arena_strdup(r->arena, out) : NULL;
		free(out);
		if (a->rar == NULL)
			rc = ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	}
	json_decref(v);
	return rc;
}

/* login_hint of the headless test login (spec §22). */
#define HEADLESS_PREFIX "testid:"
#define HEADLESS_PID_LEN 11
/* The longest hint there is: testid:<11 digits>_idporten-loa-substantial. */
#define HEADLESS_HINT_MAX \
	(sizeof(HEADLESS_PREFIX) - 1 + HEADLESS_PID_LEN + 1 + sizeof(ACR_SUBSTANTIAL) - 1)

/*
 * login_hint=testid:<pid>_<acr> (spec §22): only in the test environment,
 * only at ID-porten; <pid> synthetic, <acr> ID-porten's and satisfying a's
 * acr_values; no authorization_details.  Else invalid_request, at
 * /authorize and PAR alike.  On success pid and *acr are the hint's.
 */
static int
authz_headless_check(struct http_req *r, const struct authz_request *a, const char *hint,
		     char pid[HEADLESS_PID_LEN + 1], const char **acr, struct err *e)
{
	struct porten *app = r->app;
	struct natid_policy policy = { .allow_2032 = app->cfg->natid_allow_2032 };
	const char *rest, *us;

	if (!app->test_env)
		return ERR(e, ERR_DENIED, 400, OAUTH_INVALID_REQUEST,
			   "a testid: login_hint is only for the test environment");
	if (((const struct issuer *)r->route_data)->kind != ISSUER_IDPORTEN)
		return ERR(e, ERR_DENIED, 400, OAUTH_INVALID_REQUEST,
			   "only ID-porten offers the headless test login");
	if (strnlen(hint, HEADLESS_HINT_MAX + 1) > HEADLESS_HINT_MAX)
		return ERR(e, ERR_LIMIT, 400, OAUTH_INVALID_REQUEST,
			   "login_hint must be testid:<11 digits>_<acr>: it is too long");
	if (!str_has_prefix(str_c(hint), HEADLESS_PREFIX))
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "login_hint must be testid:<11 digits>_<acr>");
	rest = hint + strlen(HEADLESS_PREFIX);
	us = strchr(rest, '_');
	if (us == NULL || us - rest != HEADLESS_PID_LEN)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "login_hint must be testid:<11 digits>_<acr>");
	memcpy(pid, rest, HEADLESS_PID_LEN);
	pid[HEADLESS_PID_LEN] = '\0';
	if (!natid_acceptable(str_c(pid), NATID_CTX_TESTID, &policy))
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "login_hint names no valid synthetic test person");
	*acr = us + 1;
	if (strcmp(*acr, ACR_SUBSTANTIAL) != 0 && strcmp(*acr, ACR_HIGH) != 0)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "the level in login_hint is idporten-loa-substantial or idporten-loa-high");
	/* spec §22: the level must satisfy acr_values, eIDAS-only ones never. */
	if (!login_session_meets(&(struct session){ .acr = *acr }, a))
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "the level in login_hint does not satisfy acr_values");
	/* No page is shown, so nobody could choose whom to act for (spec §22). */
	if (a->rar != NULL)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "the headless test login takes no authorization_details");
	return 0;
}

/*
 * Everything after redirect_uri has been accepted; errors from here are
 * redirected (a carries redirect_uri, response_mode, state).
 */
/* dup: the first parameter given twice, NULL for none. */
static int
authz_validate_rest(struct http_req *r, const struct http_params *p, const struct client *client,
		    const char *dup, struct authz_request *a, struct err *e)
{
	const struct issuer *is = r->route_data;
	const char *rt, *scope, *nonce, *prompt, *max_age, *ui, *acr, *obo, *hint;
	long long age = -1;
	const char **res;
	int rc;

	if (dup != NULL)
		return ERR(e, ERR_DUP, 400, OAUTH_INVALID_REQUEST, "parameter %.64s is repeated", dup);
	if (authz_param(r, p, "request_uri") != NULL)
		return ERR(e, ERR_INVAL, 400, OAUTH_REQUEST_URI_NOT_SUPPORTED,
			   "request_uri is only accepted from the PAR endpoint");
	if (!reg_strs_has(&client->grant_types, "authorization_code"))
		return ERR(e, ERR_DENIED, 400, OAUTH_UNAUTHORIZED_CLIENT,
			   "the client may not use the authorization code flow");
	rt = authz_param(r, p, "response_type");
	if (rt == NULL)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "response_type is required");
	if (strcmp(rt, "code") != 0)
		return ERR(e, ERR_INVAL, 400, OAUTH_UNSUPPORTED_RESPONSE_TYPE,
			   "only response_type=code is supported");
	if (a->state == NULL || a->state[0] == '\0')
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "state is required");
	scope = authz_param(r, p, "scope");
	if (scope == NULL)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "scope is required");
	rc = authz_scopes(r, client, scope, a, e);
	if (rc != 0)
		return rc;
	a->scope = scope;
	nonce = authz_param(r, p, "nonce");
	/* Ansattporten: nonce for every request (spec/ansattporten-eidas-testid.md §1.1). */
	if (is->kind == ISSUER_ANSATTPORTEN && (nonce == NULL || nonce[0] == '\0'))
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "nonce is required");
	if (oauth_scope_has(scope, "openid") && (nonce == NULL || nonce[0] == '\0'))
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "nonce is required with openid");
	if (nonce != NULL)
		a->nonce = nonce;
	rc = authz_pkce(is, client, authz_param(r, p, "code_challenge"),
			authz_param(r, p, "code_challenge_method"), a, e);
	if (rc != 0)
		return rc;
	prompt = authz_param(r, p, "prompt");
	if (prompt != NULL) {
		if (strcmp(prompt, "login") != 0 && strcmp(prompt, "none") != 0)
			return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
				   "prompt must be login or none");
		a->prompt = prompt;
	}
	max_age = authz_param(r, p, "max_age");
	if (max_age != NULL && str_to_ll(str_c(max_age), 0, 10LL * 365 * 86400, &age) != 0)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "max_age must be a non-negative integer");
	a->max_age = age;
	acr = authz_param(r, p, "acr_values");
	a->min_level = authz_min_level(is, acr ? acr : "", a);
	ui = authz_param(r, p, "ui_locales");
	{
		const char *l = ui ? page_lang_pick(str_c(ui)) : NULL;

		a->locale = l ? l : "nb";
	}
	/* spec §16: only an id registered on this client; it rides in the grant. */
	obo = authz_param(r, p, "onbehalfof");
	if (obo != NULL && reg_client_onbehalfof(client, obo) == NULL)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "onbehalfof %.64s is not registered on the client", obo);
	a->onbehalfof = obo;
	rc = authz_rar(r, authz_param(r, p, "authorization_details"), a, e);
	if (rc != 0)
		return rc;
	/* spec §19, RFC 9449 §10: the code will be redeemable only with this key. */
	a->dpop_jkt = authz_param(r, p, "dpop_jkt");
	if (a->dpop_jkt != NULL && !oauth_dpop_jkt_valid(str_c(a->dpop_jkt)))
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "dpop_jkt must be 43 base64url characters");
	res = arena_alloc(r->arena, RESOURCE_MAX_COUNT * sizeof(*res));
	if (res == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	a->resource = res;
	for (size_t i = 0; i < p->n; i++) {
		if (!str_eq_c(p->v[i].name, "resource"))
			continue;
		if (a->nresource >= RESOURCE_MAX_COUNT)
			return ERR(e, ERR_LIMIT, 400, OAUTH_INVALID_REQUEST, "too many resource values");
		if (!authz_absolute_uri(arena_str(r->arena, p->v[i].value)))
			return ERR(e, ERR_INVAL, 400, "invalid_target",
				   "resource must be an absolute URI without fragment");
		res[a->nresource++] = arena_str(r->arena, p->v[i].value);
	}
	/* Other login_hint values are ignored (spec §4); a testid: one rides in the record. */
	hint = authz_param(r, p, "login_hint");
	if (hint != NULL && str_has_prefix(str_c(hint), HEADLESS_PREFIX)) {
		char pid[HEADLESS_PID_LEN + 1];
		const char *level;

		rc = authz_headless_check(r, a, hint, pid, &level, e);
		if (rc != 0)
			return rc;
		a->headless_hint = hint;
	}
	return 0;
}

/*
 * Validate an authorization request for a known client into the record a
 * (strings in the request's arena), then its document *areq.  On success
 * *areq is the validated request.  On failure *areq is NULL when the error
 * must be shown on a page (redirect_uri not trusted) and non-NULL
 * (carrying redirect_uri, response_mode, state) when it may be redirected.
 */
int
login_authz_validate(struct http_req *r, const struct http_params *p, const struct client *client,
		     json_t **areq, struct err *e)
{
	struct authz_request a = { .max_age = AREQ_NO_MAX_AGE };
	const char *mode, *dup, *state;
	struct str v;
	int rc;

	*areq = NULL;
	rc = http_param(p, "redirect_uri", &v);
	if (rc == ERR_DUP)
		return ERR(e, ERR_DUP, 400, OAUTH_INVALID_REQUEST, "redirect_uri is repeated");
	if (rc != 0)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "redirect_uri is required");
	if (!oauth_redirect_uri_allowed(client, v))
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "redirect_uri is not registered for the client");
	a.client_id = client->client_id;
	/* The login belongs to this issuer: its pages answer under this one only. */
	a.iss = ((const struct issuer *)r->route_data)->iss;
	a.redirect_uri = arena_str(r->arena, v);
	a.mode = RESPONSE_MODE_QUERY;
	a.has_mode = true;
	/* Every error redirected from here on carries state (RFC 6749 §4.1.2.1). */
	dup = authz_first_dup(r, p);
	state = authz_param(r, p, "state");
	if (state != NULL && dup == NULL)
		a.state = state;
	if (http_param(p, "response_mode", &v) == 0) {
		mode = arena_str(r->arena, v);
		if (strcmp(mode, "form_post") == 0)
			a.mode = RESPONSE_MODE_FORM_POST;
		else if (strcmp(mode, "fragment") == 0)
			a.mode = RESPONSE_MODE_FRAGMENT;
		else if (strcmp(mode, "query") != 0)
			rc = ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
				 "response_mode must be query, form_post or fragment");
	}
	if (rc == 0)
		rc = authz_validate_rest(r, p, client, dup, &a, e);
	*areq = areq_encode(&a);
	if (*areq == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	return rc;
}

/* Turn a verified request object's claims into parameters (RFC 9101 §6.3: only its own). */
int
login_authz_request_object(struct http_req *r, const struct client *client, const char *jws,
			   struct http_params *out, struct err *e)
{
	const struct issuer *is = r->route_data;
	json_t *jwks, *claims = NULL, *v;
	const char *k, *aud, *iss;
	size_t n = 0;
	int rc;

	if (client->keys == NULL)
		return ERR(e, ERR_DENIED, 400, OAUTH_INVALID_REQUEST_OBJECT,
			   "the client has no registered keys for request objects");
	/* the record's key list, as the JWKS the stored jwks is */
	jwks = json_pack("{s:O}", "keys", (json_t *)client->keys);
	if (jwks == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	rc = jose_jwt_verify(str_c(jws), jwks, JOSE_ALG_RS_ALL, &claims, e);
	json_decref(jwks);
	if (rc == 0)
		rc = jose_jwt_check_times(claims, time_now(), 10, 3600, 1, e);
	if (rc != 0) {
		char why[sizeof(e->msg)];

		memcpy(why, e->msg, sizeof(why));
		json_decref(claims);
		return ERR(e, ERR_DENIED, 400, OAUTH_INVALID_REQUEST_OBJECT,
			   "request object rejected: %.200s", why);
	}
	iss = json_string_value(json_object_get(claims, "iss"));
	aud = json_string_value(json_object_get(claims, "aud"));
	if (iss == NULL || strcmp(iss, client->client_id) != 0 || aud == NULL ||
	    strcmp(aud, is->iss) != 0) {
		json_decref(claims);
		return ERR(e, ERR_DENIED, 400, OAUTH_INVALID_REQUEST_OBJECT,
			   "request object iss must be the client and aud the issuer");
	}
	/* spec §4: jti required; a request object is good for one request only. */
	{
		const char *jti = json_string_value(json_object_get(claims, "jti"));
		char key[TOKEN_CHARS + 1];
		char *both;

		if (jti == NULL || jti[0] == '\0' || strlen(jti) > 256) {
			json_decref(claims);
			return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST_OBJECT,
				   "request object needs a jti");
		}
		/* Hash client and jti together so ids with ':' cannot collide. */
		both = arena_printf(r->arena, "%s\n%s", iss, jti);
		sha256_b64url_buf(str_c(both), key);
		rc = store_call(((struct porten *)r->app)->store, oauth, jti_remember,
			      arena_printf(r->arena, "ro:%s", key),
			      json_integer_value(json_object_get(claims, "exp")), e);
		if (rc != 0) {
			json_decref(claims);
			return rc == ERR_EXISTS ? ERR(e, ERR_DENIED, 400, OAUTH_INVALID_REQUEST_OBJECT,
						      "request object already used")
						: rc;
		}
	}
	out->v = arena_alloc(r->arena, (json_object_size(claims) + 10) * sizeof(*out->v));
	json_object_foreach(claims, k, v) {
		const char *s = NULL;

		if (strcmp(k, "iss") == 0 || strcmp(k, "aud") == 0 || strcmp(k, "exp") == 0 ||
		    strcmp(k, "iat") == 0 || strcmp(k, "nbf") == 0 || strcmp(k, "jti") == 0)
			continue;
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			s = arena_printf(r->arena, "%lld", (long long)json_integer_value(v));
		else if (json_is_array(v) && strcmp(k, "authorization_details") == 0) {
			char *t = json_dumps(v, JSON_COMPACT);

			s = t ? arena_strdup(r->arena, t) : NULL;
			free(t);
		}
		if (s == NULL || n >= json_object_size(claims) + 9)
			continue;
		out->v[n].name = str_c(arena_strdup(r->arena, k));
		out->v[n].value = str_c(arena_strdup(r->arena, s));
		n++;
	}
	out->n = n;
	json_decref(claims);
	return 0;
}

/*
 * The headless test login (spec §22): a code at once for the synthetic
 * person of a's hint, with no page and no session made or changed; every
 * requested scope counts as consented.
 */
static void
authz_headless(struct http_req *r, struct http_resp *w, const struct client *client,
	       const json_t *areq, const struct authz_request *a)
{
	static const char *const amr[] = { "TestID" };
	char pid[HEADLESS_PID_LEN + 1];
	const char *acr;
	struct session s;
	struct err e = { 0 };
	json_t *done;

	/* Checked again on the record itself: it may have come from the store (PAR). */
	if (authz_headless_check(r, a, a->headless_hint, pid, &acr, &e) != 0) {
		login_respond(r, w, areq, NULL, e.oauth, e.msg);
		return;
	}
	/* Counted as an eID login (billing: TestID, never billed). */
	done = json_deep_copy(areq);
	if (done == NULL || json_object_set_new(done, "authenticated", json_true()) != 0) {
		json_decref(done);
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "out of memory");
		return;
	}
	s = (struct session){ .pid = pid, .acr = acr, .amr = amr, .namr = 1, .eid = "testid",
			      .auth_time = time_now(), .created = time_now() };
	log_info(r->rid, "headless test login for client %s", client->client_id);
	login_issue_now(r, w, client, done, &s);
	json_decref(done);
}

/* After validation: SSO, prompt, or off to the eID selector (spec §7). */
static void
authz_proceed(struct http_req *r, struct http_resp *w, const struct client *client,
	      const json_t *areq)
{
	struct authz_request a;
	struct session s = { 0 };
	struct err e = { 0 };
	bool force;
	int rc;

	if (areq_decode(areq, r->arena, &a, &e) != 0) {
		log_err(r->rid, "cannot read the authorization request: %s", e.msg);
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "the login could not be started");
		return;
	}
	if (a.headless_hint != NULL) {
		authz_headless(r, w, client, areq, &a);
		return;
	}
	force = areq_forces_login(&a);
	rc = force ? ERR_NOTFOUND : session_load(r, client, &s, &e);
	if (rc == ERR_UNAVAILABLE) {
		login_respond(r, w, areq, NULL, OAUTH_TEMPORARILY_UNAVAILABLE,
			      "the service is busy; please try again");
		return;
	}
	if (rc == 0) {
		int64_t auth_time = s.auth_time == SESSION_NO_TIME ? 0 : s.auth_time;
		bool fresh = a.max_age >= 0 ? time_now() - auth_time <= a.max_age : true;

		if (login_session_meets(&s, &a) && fresh) {
			login_finish(r, w, client, areq, &s);
			session_clear(&s);
			return;
		}
	}
	session_clear(&s);
	if (a.prompt != NULL && strcmp(a.prompt, "none") == 0) {
		login_respond(r, w, areq, NULL, OAUTH_LOGIN_REQUIRED,
			      "no live session meets the request");
		return;
	}
	rc = login_pending_store(r, w, &a, &e);
	if (rc != 0) {
		log_err(r->rid, "cannot store pending authorization: %s", e.msg);
		login_respond(r, w, areq, NULL,
			      rc == ERR_UNAVAILABLE ? OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR,
			      "the login could not be started");
		return;
	}
	/* The selector itself, not a redirect to it: one round trip less (docs/login-flow.md). */
	login_show_selector(r, w, &a, true);
}

/* request_uri from PAR: only client_id may accompany it (spec §4). */
static int
authz_from_par(struct http_req *r, const struct http_params *p, const struct client *client,
	       json_t **areq, struct err *e)
{
	struct porten *app = r->app;
	const char *uri = authz_param(r, p, "request_uri"), *id;
	struct authz_request a;
	json_t *doc = NULL;
	int rc;

	*areq = NULL;
	if (p->n != 2)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST,
			   "only client_id may accompany request_uri");
	if (strncmp(uri, PAR_URN_PREFIX, strlen(PAR_URN_PREFIX)) != 0)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "request_uri is not ours");
	id = uri + strlen(PAR_URN_PREFIX);
	if (strlen(id) != TOKEN_CHARS)
		return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST, "request_uri is unknown");
	rc = store_call(app->store, login, doc_get, "par", id, &doc, e);
	if (rc != 0)
		return rc == ERR_NOTFOUND ? ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
						"request_uri is unknown, expired or used")
					  : rc;
	if (areq_decode(doc, r->arena, &a, e) != 0 || a.client_id == NULL ||
	    strcmp(a.client_id, client->client_id) != 0) {
		json_decref(doc);
		return ERR(e, ERR_DENIED, 400, OAUTH_INVALID_REQUEST,
			   "request_uri belongs to another client");
	}
	json_decref(doc);
	doc = NULL;
	/* Single use: only one of two racing requests gets it. */
	rc = store_call(app->store, login, doc_take, "par", id, &doc, e);
	if (rc != 0)
		return rc == ERR_NOTFOUND ? ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
						"request_uri is unknown, expired or used")
					  : rc;
	*areq = doc;
	return 0;
}

void
login_handle_authorize(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	const struct http_params *p = strcmp(r->method, "POST") == 0 ? &r->form : &r->query;
	const char *lang = page_lang(r, http_param_c(p, "ui_locales"));
	struct http_params ro = { 0 };
	struct err e = { 0 };
	const struct client *client = NULL;
	json_t *areq = NULL;
	const char *client_id, *request;
	struct str v;
	int rc;

	if (r->bad_input) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST, r->input_err.msg);
		return;
	}
	rc = http_param(p, "client_id", &v);
	if (rc != 0) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST,
			   rc == ERR_DUP ? "client_id is repeated" : "client_id is required");
		return;
	}
	client_id = arena_str(r->arena, v);
	rc = reg_client_find(app, client_id, &client, &e);
	if (rc != 0) {
		page_error(r, w, rc == ERR_UNAVAILABLE ? 503 : 400, lang,
			   rc == ERR_UNAVAILABLE ? OAUTH_TEMPORARILY_UNAVAILABLE : "invalid_client",
			   "the client is unknown");
		return;
	}
	if (!reg_client_fits(client, r->route_data)) {
		page_error(r, w, 400, lang, OAUTH_UNAUTHORIZED_CLIENT,
			   "the client is not registered for this service");
		goto out;
	}
	rc = http_param(p, "request_uri", &v);
	if (rc == ERR_DUP) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST, "request_uri is repeated");
		goto out;
	}
	if (rc == 0) {
		rc = authz_from_par(r, p, client, &areq, &e);
	} else if ((request = authz_param(r, p, "request")) != NULL) {
		rc = login_authz_request_object(r, client, request, &ro, &e);
		if (rc == 0) {
			const char *inner = http_param_c(&ro, "client_id");

			if (inner != NULL && strcmp(inner, client_id) != 0)
				rc = ERR(&e, ERR_INVAL, 400, OAUTH_INVALID_REQUEST_OBJECT,
					 "client_id differs from the request object's");
			else
				rc = login_authz_validate(r, &ro, client, &areq, &e);
		} else {
			/*
			 * The request object's error goes to the outer redirect_uri
			 * only if that is registered (areq set); otherwise a page.
			 */
			(void)login_authz_validate(r, p, client, &areq, &(struct err){ 0 });
		}
	} else {
		rc = login_authz_validate(r, p, client, &areq, &e);
	}
	if (rc != 0) {
		if (areq == NULL)
			page_error(r, w, e.status == 503 ? 503 : 400, lang,
				   e.oauth ? e.oauth : OAUTH_INVALID_REQUEST, e.msg);
		else
			login_respond(r, w, areq, NULL, e.oauth ? e.oauth : OAUTH_INVALID_REQUEST,
				      e.msg);
		goto out;
	}
	authz_proceed(r, w, client, areq);
out:
	json_decref(areq);
	reg_client_release(client);
}
