/*
 * Client authentication at the back-channel endpoints (token, PAR, revoke,
 * introspect): spec/idporten-oidc.md §9, RFC 6749 §2.3, RFC 7523 §2.2 and
 * §3, OIDC Core §9.  A client must use exactly its registered
 * token_endpoint_auth_method; every other outcome is invalid_client (401).
 */
#include "oauth/oauth.h"

#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "registry/registry.h"

#define CA_TYPE_JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define CA_LEEWAY 10		/* seconds of clock skew tolerated */
#define CA_MAX_LIFE 120		/* spec §9: exp - iat <= 120 s */
#define CA_CLIENT_ID_MAX 256	/* registrations allow far less; bounds the lookup */
#define CA_PAYLOAD_MAX 8192	/* bytes of assertion payload peeked for iss */

#define M_BASIC "client_secret_basic"
#define M_POST "client_secret_post"
#define M_JWT "private_key_jwt"
#define M_NONE "none"

#define DENY(e, ...) ERR((e), ERR_DENIED, 401, OAUTH_INVALID_CLIENT, __VA_ARGS__)
#define BADREQ(e, ...) ERR((e), ERR_INVAL, 400, OAUTH_INVALID_REQUEST, __VA_ARGS__)

/* The credentials a request carries, before we know whose they are. */
struct presented {
	bool basic, post, jwt;
	struct str basic_id, basic_secret;
	struct str form_id, secret;
	struct str assertion_type, assertion;
	bool have_form_id;
};

/* A form parameter present once (1), absent (0) or repeated (error). */
static int
form_opt(const struct http_req *r, const char *name, struct str *v, struct err *e)
{
	int rc = http_param(&r->form, name, v);

	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc == ERR_DUP)
		return BADREQ(e, "parameter %s given more than once", name);
	return rc == 0 ? 1 : rc;
}

static int
collect(const struct http_req *r, struct presented *p, struct err *e)
{
	int rc, n;
	bool has_type, has_assertion;

	memset(p, 0, sizeof(*p));
	rc = http_basic_auth(r, &p->basic_id, &p->basic_secret, e);
	if (rc == 0)
		p->basic = true;
	else if (rc != ERR_NOTFOUND)
		return rc;	/* malformed Basic: invalid_client (401) from the parser */

	if ((rc = form_opt(r, "client_id", &p->form_id, e)) < 0)
		return rc;
	p->have_form_id = rc == 1;
	if ((rc = form_opt(r, "client_secret", &p->secret, e)) < 0)
		return rc;
	p->post = rc == 1;
	if ((rc = form_opt(r, "client_assertion_type", &p->assertion_type, e)) < 0)
		return rc;
	has_type = rc == 1;
	if ((rc = form_opt(r, "client_assertion", &p->assertion, e)) < 0)
		return rc;
	has_assertion = rc == 1;
	p->jwt = has_type || has_assertion;
	if (p->jwt && !(has_type && has_assertion))
		return BADREQ(e, "client_assertion and client_assertion_type go together");

	/*
	 * RFC 6749 §2.3: a client MUST NOT use more than one method per request.
	 * RFC 6749 §5.2 would call this invalid_request, but spec §9 (which wins)
	 * answers anything but exactly the registered method with invalid_client.
	 */
	n = (int)p->basic + (int)p->post + (int)p->jwt;
	if (n > 1)
		return DENY(e, "more than one client authentication method in the request");
	return 0;
}

/*
 * Which client the request names.  Basic carries it in the header; the form
 * may repeat it (spec §9: then they must match).  An assertion without a
 * client_id names its client in iss (RFC 7523 §3), read here unverified
 * only to find the keys; the verified claims are checked afterwards.
 */
static int
assertion_peek_iss(struct http_req *r, struct str jws, struct str *iss, struct err *e)
{
	struct str head, rest, payload, sig;
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	json_t *claims = NULL;
	const json_t *v;
	int rc = 0;

	if (!str_split(jws, '.', &head, &rest) || !str_split(rest, '.', &payload, &sig) ||
	    payload.len == 0 || payload.len > CA_PAYLOAD_MAX) {
		rc = DENY(e, "client assertion is not a compact JWS");
		goto out;
	}
	raw = arena_alloc(r->arena, payload.len * 3 / 4 + 1);
	if (b64url_decode(payload, raw, &rawlen) != 0) {
		rc = DENY(e, "client assertion is not a compact JWS");
		goto out;
	}
	claims = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
	v = json_object_get(claims, "iss");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		rc = DENY(e, "client assertion lacks iss and no client_id was given");
		goto out;
	}
	iss->p = arena_strndup(r->arena, json_string_value(v), json_string_length(v));
	iss->len = json_string_length(v);
out:
	json_decref(claims);
	return rc;
}

static int
resolve_client_id(struct http_req *r, const struct presented *p, const char **client_id,
		  struct err *e)
{
	struct str id = STR_NULL;
	int rc;

	if (p->basic) {
		id = p->basic_id;
		if (p->have_form_id && !str_eq(p->form_id, p->basic_id))
			return DENY(e, "client_id in the form differs from the one in Basic");
	} else if (p->have_form_id) {
		id = p->form_id;
	} else if (p->jwt) {
		rc = assertion_peek_iss(r, p->assertion, &id, e);
		if (rc != 0)
			return rc;
	} else {
		return DENY(e, "no client authentication and no client_id");
	}
	if (id.len == 0 || id.len > CA_CLIENT_ID_MAX || !str_is_clean_utf8(id) ||
	    memchr(id.p, '\0', id.len) != NULL)
		return DENY(e, "malformed client_id");
	*client_id = arena_str(r->arena, id);
	return 0;
}

/*
 * The client's usable keys as a JWKS object, or NULL when it has none.
 * spec/selfservice-api.md §7: each key is valid for one year from the time
 * it was posted (jwks_posted maps kid to that time).
 */
static json_t *
client_jwks(const struct client *client, int64_t now)
{
	const json_t *keys = client->keys;
	json_t *live = NULL, *k;
	size_t i;

	if (!json_is_array(keys) || json_array_size(keys) == 0)
		return NULL;
	live = json_array();
	if (live == NULL)
		return NULL;
	json_array_foreach(keys, i, k) {
		if (oauth_client_key_expired(client, json_string_value(json_object_get(k, "kid")),
					     now))
			continue;
		json_array_append(live, k);
	}
	if (json_array_size(live) == 0) {
		json_decref(live);
		return NULL;
	}
	return json_pack("{s:o}", "keys", live);
}

/*
 * spec §9: aud is the issuer or the token endpoint URL, whichever endpoint
 * the assertion is sent to (RFC 7523 §3); at PAR also the PAR endpoint URL
 * (RFC 9126 §2).  Never the URL of /revoke or /token/introspect.
 */
static bool
aud_one_ok(const char *aud, const struct issuer *is, const char *token_ep, const char *par_ep)
{
	return strcmp(aud, is->iss) == 0 || strcmp(aud, token_ep) == 0 ||
	       (par_ep != NULL && strcmp(aud, par_ep) == 0);
}

/* Is the request at the issuer's PAR endpoint (its path after the issuer's prefix)? */
static bool
at_par(const struct http_req *r, const struct issuer *is)
{
	size_t pl = is->prefix ? strlen(is->prefix) : 0;

	return r->path.p != NULL && r->path.len >= pl &&
	       (pl == 0 || memcmp(r->path.p, is->prefix, pl) == 0) &&
	       str_eq_c((struct str){ r->path.p + pl, r->path.len - pl }, "/par");
}

static bool
aud_ok(struct http_req *r, const json_t *aud, const struct issuer *is)
{
	const char *token_ep = arena_printf(r->arena, "%s/token", is->base);
	const char *par_ep = at_par(r, is) ? arena_printf(r->arena, "%s/par", is->base) : NULL;
	const json_t *v;
	size_t i;

	if (json_is_string(aud))
		return aud_one_ok(json_string_value(aud), is, token_ep, par_ep);
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v) {
		if (json_is_string(v) && aud_one_ok(json_string_value(v), is, token_ep, par_ep))
			return true;
	}
	return false;
}

/* Turn a lower layer's failure into invalid_client, keeping its (safe) reason. */
static int
deny_because(struct err *e, const char *what, const char *dflt)
{
	char why[sizeof(e->msg)];

	memcpy(why, e->msg, sizeof(why));
	why[sizeof(why) - 1] = '\0';
	return DENY(e, "%s: %s", what, why[0] ? why : dflt);
}

/*
 * spec §9: a business certificate in x5c (checked as spec/maskinporten.md
 * §10 says), or the registered key named by kid; a client with keys MUST
 * use kid.  *jwks is what the signature must verify against; *amr the
 * client_amr it earns (a key locked to a certificate earns the
 * certificate's).
 */
static int
assertion_key(struct porten *app, const struct client *client, const json_t *header,
	      int64_t now, json_t **jwks, const char **amr, struct err *e)
{
	const json_t *kid = json_object_get(header, "kid"), *k;
	struct reg_cert cert;
	size_t i;
	int rc;

	*jwks = NULL;
	if (json_object_get(header, "x5c") != NULL) {
		if (!oauth_client_x5c_allowed(client))
			return DENY(e, "client has registered keys: sign with kid, not x5c");
		rc = reg_cert_check(app->cfg, json_object_get(header, "x5c"), client->client_orgno,
				    now, &cert, e);
		if (rc != 0)
			return rc == ERR_INVAL || rc == ERR_DENIED
				       ? deny_because(e, "business certificate refused", "x5c")
				       : rc;
		*jwks = json_pack("{s:[o]}", "keys", cert.x.jwk);
		cert.x.jwk = NULL;
		*amr = cert.x.amr;
		reg_cert_clear(&cert);
		return *jwks != NULL ? 0 : ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	}
	*jwks = client_jwks(client, now);
	if (*jwks == NULL)
		return DENY(e, "client has no valid registered keys");
	if (!json_is_string(kid))
		return DENY(e, "client assertion header lacks kid");
	/* spec/selfservice-api.md §7: a key locked to a certificate lives as long as it does. */
	json_array_foreach(json_object_get(*jwks, "keys"), i, k) {
		if (!json_equal(json_object_get(k, "kid"), (json_t *)kid))
			continue;
		rc = reg_key_lock_check(app->cfg, k, client->client_orgno, now, amr, e);
		if (rc == ERR_INVAL || rc == ERR_DENIED)
			return deny_because(e, "client key refused", "its certificate");
		return rc;
	}
	return 0;
}

static int
verify_assertion(struct http_req *r, const struct issuer *is, const struct client *client,
		 const char *client_id, const struct presented *p, const char **amr,
		 struct err *e)
{
	struct porten *app = r->app;
	json_t *header = NULL, *jwks = NULL, *claims = NULL;
	const json_t *iss, *sub, *jti, *exp, *nbf;
	int64_t now = time_now();
	char key[OAUTH_REPLAY_KEY_MAX];
	int rc;

	if (!str_eq_c(p->assertion_type, CA_TYPE_JWT_BEARER)) {
		rc = DENY(e, "client_assertion_type must be %s", CA_TYPE_JWT_BEARER);
		goto out;
	}
	if (jose_jws_header(p->assertion, &header, e) != 0) {
		rc = DENY(e, "client assertion is not a compact JWS");
		goto out;
	}
	rc = assertion_key(app, client, header, now, &jwks, amr, e);
	if (rc != 0)
		goto out;
	rc = jose_jwt_verify_hdr(p->assertion, header, jwks, JOSE_ALG_RS_ALL, &claims, e);
	if (rc != 0) {
		rc = deny_because(e, "client assertion not verified", "bad signature");
		goto out;
	}
	/* RFC 7523 §3: iss and sub both name the client. */
	iss = json_object_get(claims, "iss");
	sub = json_object_get(claims, "sub");
	if (!json_is_string(iss) || !json_is_string(sub) ||
	    strcmp(json_string_value(iss), client_id) != 0 ||
	    strcmp(json_string_value(sub), client_id) != 0 ||
	    json_string_length(iss) != strlen(client_id) ||
	    json_string_length(sub) != strlen(client_id)) {
		rc = DENY(e, "client assertion iss and sub must both be the client_id");
		goto out;
	}
	if (!aud_ok(r, json_object_get(claims, "aud"), is)) {
		rc = DENY(e, "client assertion aud must be the issuer or the token endpoint%s",
			  at_par(r, is) ? " (or here the PAR endpoint)" : "");
		goto out;
	}
	rc = jose_jwt_check_times(claims, now, CA_LEEWAY, CA_MAX_LIFE, 1, e);
	if (rc != 0) {
		rc = deny_because(e, "client assertion", "bad exp or iat");
		goto out;
	}
	nbf = json_object_get(claims, "nbf");
	if (nbf != NULL && (!json_is_integer(nbf) || json_integer_value(nbf) > now + CA_LEEWAY)) {
		rc = DENY(e, "client assertion is not valid yet");
		goto out;
	}
	jti = json_object_get(claims, "jti");
	if (!json_is_string(jti) || json_string_length(jti) == 0 ||
	    json_string_length(jti) > OAUTH_JTI_MAX) {
		rc = DENY(e, "client assertion lacks jti");
		goto out;
	}
	exp = json_object_get(claims, "exp");
	/* Remember the jti past the assertion's last accepted second: a replay is refused. */
	if (oauth_replay_key(key, sizeof(key), "ca", client_id, json_string_value(jti)) != 0) {
		rc = ERR(e, ERR_INTERNAL, 500, OAUTH_SERVER_ERROR, "the replay key does not fit");
		goto out;
	}
	rc = store_call(app->store, oauth, jti_remember, key,
		      json_integer_value(exp) + CA_LEEWAY + OAUTH_REPLAY_MARGIN, e);
	if (rc == ERR_EXISTS) {
		rc = DENY(e, "client assertion replayed (jti seen before)");
		goto out;
	}
	if (rc != 0)
		goto out;
out:
	json_decref(header);
	json_decref(jwks);
	json_decref(claims);
	return rc;
}

int
oauth_client_auth(struct http_req *r, const struct issuer *is, const struct client **client,
		  const char **amr, struct err *e)
{
	struct porten *app = r->app;
	struct presented p;
	const char *client_id = NULL, *registered, *used;
	const struct client *c = NULL;
	int rc;

	*client = NULL;
	*amr = NULL;
	rc = collect(r, &p, e);
	if (rc != 0)
		goto out;
	rc = resolve_client_id(r, &p, &client_id, e);
	if (rc != 0)
		goto out;
	rc = reg_client_find(app, client_id, &c, e);
	if (rc == ERR_NOTFOUND) {
		rc = DENY(e, "unknown client");
		goto out;
	}
	if (rc != 0)
		goto out;

	used = p.basic ? M_BASIC : p.post ? M_POST : p.jwt ? M_JWT : M_NONE;
	registered = c->token_endpoint_auth_method;   /* the record defaults it (RFC 7591 §2) */
	/* spec §9: exactly the registered method, anything else is invalid_client. */
	if (strcmp(used, registered) != 0) {
		rc = DENY(e, "client must authenticate with %s", registered);
		goto out;
	}
	if (p.basic || p.post) {
		struct str secret = p.basic ? p.basic_secret : p.secret;

		if (!reg_client_secret_matches(c, secret)) {
			rc = DENY(e, "invalid client secret");
			goto out;
		}
	} else if (p.jwt) {
		rc = verify_assertion(r, is, c, client_id, &p, &used, e);
		if (rc != 0)
			goto out;
	}
	*client = c;
	c = NULL;
	*amr = used;
	r->authenticated_client = client_id;
out:
	reg_client_release(c);
	return rc;
}
