/*
 * The JWT-bearer grant of Maskinporten (spec/maskinporten.md §3-§5, §8-§11,
 * RFC 7523 §2.1 and §3): checked step by step in the order of spec §5, so
 * the first rule a grant breaks is the one its error names.
 */
#include "maskinporten/mp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/natid.h"
#include "jose/jose.h"
#include "maskinporten/mp_int.h"
#include "oauth/oauth.h"
#include "registry/registry.h"

#define SCOPES_MAX 100            /* scopes in one grant */
#define RESOURCES_MAX 10
#define RESOURCE_MAX 2000
#define RAR_TYPE "urn:altinn:systemuser"

/* ---- small helpers ---- */

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/*
 * One part of a compact JWS as a JSON object, unverified (0 header, 1
 * payload): the header to learn alg and kid/x5c, the payload to find the
 * client (spec §5 steps 2-3).  The signature may be empty here, so an
 * unsecured JWS (alg none) is refused for its alg, not its shape.  Once
 * the signature verifies, the payload read here is the grant's claims.
 */
static int
peek_part(struct str jws, int which, json_t **out, struct err *e)
{
	struct str part[3], rest = jws;
	unsigned char *raw = NULL;
	size_t n = 0;
	int dots = 0, rc = 0;

	*out = NULL;
	for (size_t i = 0; i < jws.len; i++)
		dots += jws.p[i] == '.';
	if (dots != 2) {
		rc = MP_BADREQ(e, "MP-011: the assertion is not a compact JWS (three parts)");
		goto out;
	}
	str_split(rest, '.', &part[0], &rest);
	str_split(rest, '.', &part[1], &part[2]);
	raw = malloc(part[which].len * 3 / 4 + 1);
	if (raw == NULL) {
		rc = MP_INTERNAL(e, "out of memory");
		goto out;
	}
	if (part[which].len == 0 || b64url_decode(part[which], raw, &n) != 0 ||
	    (*out = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = MP_BADREQ(e, "MP-011: the assertion's %s is not a JSON object (or repeats "
				  "a member)", which == 0 ? "header" : "payload");
	}
out:
	free(raw);
	return rc;
}

/* spec §3: RS256/RS384/RS512 only; no none, no HMAC, nothing else. */
static int
check_header(const json_t *hdr, bool *use_x5c, struct err *e)
{
	static const char *const algs[] = { "RS256", "RS384", "RS512", NULL };
	const char *alg = jstr(hdr, "alg");
	bool ok = false, has_kid, has_x5c;

	for (size_t i = 0; alg != NULL && algs[i] != NULL; i++)
		ok |= strcmp(alg, algs[i]) == 0;
	if (!ok)
		return MP_BADGRANT(e, "MP-124: the grant's alg must be RS256, RS384 or RS512");
	has_kid = json_object_get(hdr, "kid") != NULL;
	has_x5c = json_object_get(hdr, "x5c") != NULL;
	/* spec §3: exactly one authentication path per grant. */
	if (has_kid == has_x5c)
		return MP_BADGRANT(e, "the grant's header must have either kid or x5c, not %s",
				   has_kid ? "both" : "neither");
	*use_x5c = has_x5c;
	return 0;
}

/* spec §4 (design): the issuer with or without its final '/'; a string or one-element array. */
static bool
aud_ok(const json_t *aud, const struct issuer *is)
{
	const char *a;

	if (json_is_array(aud) && json_array_size(aud) == 1)
		aud = json_array_get(aud, 0);
	a = json_string_value(aud);
	if (a == NULL || strlen(a) != json_string_length(aud))
		return false;
	return strcmp(a, is->iss) == 0 || strcmp(a, is->base) == 0;
}

/* ---- step 5: the verification key ---- */

/*
 * spec §11: the registered key named by kid, not older than a year; a key
 * locked to a business certificate only while that certificate is good
 * (spec §10), and then the grant counts as made with the certificate.
 */
static int
key_by_kid(struct porten *app, const struct client *client, const json_t *hdr, int64_t now,
	   json_t **jwk, const char **amr, struct err *e)
{
	const json_t *keys = client->keys, *k;
	const char *kid = jstr(hdr, "kid");
	char why[sizeof(e->msg)];
	size_t i;
	int rc;

	*jwk = NULL;
	if (kid == NULL)
		return MP_BADGRANT(e, "MP-124: the grant's kid must be a string");
	json_array_foreach(keys, i, k) {
		if (!json_is_string(json_object_get(k, "kid")) || strcmp(jstr(k, "kid"), kid) != 0)
			continue;
		if (oauth_client_key_expired(client, kid, now))
			return MP_BADGRANT(e, "MP-121: the client's key %.64s has expired (keys "
					      "live one year from posting)", kid);
		rc = reg_key_lock_check(app->cfg, k, client->client_orgno, now, amr, e);
		if (rc == ERR_INVAL || rc == ERR_DENIED) {
			snprintf(why, sizeof(why), "%s", e->msg);
			return MP_BADGRANT(e, "MP-120: key %.64s: %s", kid, why);
		}
		if (rc != 0)
			return MP_INTERNAL(e, "certificate check failed");
		/* the client's shared document: read, never changed (registry/cache.c) */
		*jwk = json_incref((json_t *)k);
		return 0;
	}
	return MP_BADGRANT(e, "MP-124: the client has no key with kid %.64s", kid);
}

/* spec §10: the business certificate; its organisation must own the client. */
static int
key_by_x5c(struct porten *app, const struct client *client, const json_t *hdr, int64_t now,
	   json_t **jwk, const char **amr, struct err *e)
{
	struct reg_cert cert;
	char why[sizeof(e->msg)];
	int rc;

	*jwk = NULL;
	/* spec §3 (design): a client with registered keys must use kid. */
	if (!oauth_client_x5c_allowed(client))
		return MP_BADGRANT(e, "MP-120: the client has registered keys: sign with kid, "
				      "not a certificate in x5c");
	rc = reg_cert_check(app->cfg, json_object_get(hdr, "x5c"), client->client_orgno, now,
			    &cert, e);
	if (rc != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		if (rc == ERR_INVAL)
			return MP_BADGRANT(e, "MP-123: malformed x5c: %s", why);
		if (rc == ERR_DENIED)
			return MP_BADGRANT(e, "%s: %s", cert.other_org ? "MP-122" : "MP-120", why);
		return MP_INTERNAL(e, "certificate check failed: %s", why);
	}
	*jwk = cert.x.jwk;
	cert.x.jwk = NULL;
	*amr = cert.x.amr;
	reg_cert_clear(&cert);
	return 0;
}

/* ---- step 7: times ---- */

/* A NumericDate (RFC 7519 §2): a non-negative number, fraction dropped. */
static bool
numeric_date(const json_t *v, int64_t *out)
{
	double d;

	if (!json_is_number(v))
		return false;
	d = json_number_value(v);
	if (!isfinite(d) || d < 0 || d > 9007199254740992.0)
		return false;
	*out = (int64_t)floor(d);
	return true;
}

static int
check_times(const json_t *claims, int64_t now, int64_t *exp_out, struct err *e)
{
	int64_t iat, exp, nbf;

	if (!numeric_date(json_object_get(claims, "iat"), &iat) ||
	    !numeric_date(json_object_get(claims, "exp"), &exp))
		return MP_BADGRANT(e, "MP-130: the grant needs iat and exp as NumericDates");
	if (iat > now + MP_SKEW)
		return MP_BADGRANT(e, "Issue time is after now: iat is %lld s ahead of the "
				      "server's clock", (long long)(iat - now));
	/* spec §4 and §5 step 7: exp must not be in the past. The skew is iat's
	 * alone (RFC 7519 §4.1.4 allows leeway, the spec gives none for exp). */
	if (exp <= now)
		return MP_BADGRANT(e, "MP-130: the grant has expired");
	if (exp < iat || exp - iat > MP_GRANT_MAX_LIFE)
		return MP_BADGRANT(e, "MP-130: the grant's lifetime (exp - iat) must be at most "
				      "%d s", MP_GRANT_MAX_LIFE);
	/* Not in the spec; honoured when sent (RFC 7519 §4.1.5). */
	if (json_object_get(claims, "nbf") != NULL &&
	    (!numeric_date(json_object_get(claims, "nbf"), &nbf) || nbf > now + MP_SKEW))
		return MP_BADGRANT(e, "MP-130: the grant is not valid yet (nbf)");
	*exp_out = exp;
	return 0;
}

/* ---- step 8: replay ---- */

/* The key the grant is spent under (by mp_token_issue, with its event). */
static int
replay_key(struct mp_grant *g, const json_t *claims, struct str jws, int64_t exp,
	   struct err *e)
{
	const json_t *jti = json_object_get(claims, "jti");
	char hash[TOKEN_CHARS + 2];
	const char *value;

	if (jti != NULL) {
		if (!json_is_string(jti) || json_string_length(jti) == 0 ||
		    json_string_length(jti) > OAUTH_JTI_MAX ||
		    strlen(json_string_value(jti)) != json_string_length(jti))
			return MP_BADREQ(e, "MP-011: jti must be a string of 1-%d characters",
					 OAUTH_JTI_MAX);
		value = json_string_value(jti);
	} else {
		/* spec §5 step 8 (design): without jti the whole assertion is the key. */
		hash[0] = '#';
		sha256_b64url_buf(jws, hash + 1);
		value = hash;
	}
	if (oauth_replay_key(g->replay_key, sizeof(g->replay_key), "mp", g->client_id,
			     value) != 0)
		return MP_INTERNAL(e, "the replay key does not fit");
	g->replay_until = exp + MP_SKEW + OAUTH_REPLAY_MARGIN;
	return 0;
}

/* ---- step 10: scopes ---- */

static int
split_scopes(const json_t *claims, json_t **out, struct err *e)
{
	const json_t *v = json_object_get(claims, "scope");
	int rc = 0;

	*out = NULL;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return MP_BADREQ(e, "MP-011: the grant needs a scope claim (space-separated)");
	switch (oauth_scope_split((struct str){ json_string_value(v), json_string_length(v) },
				  SCOPES_MAX, out)) {
	case OAUTH_SCOPE_OK:
		if (json_array_size(*out) == 0)
			rc = MP_BADREQ(e, "MP-011: the grant's scope claim is empty");
		break;
	case OAUTH_SCOPE_MALFORMED:
		rc = ERR(e, ERR_INVAL, 400, OAUTH_INVALID_SCOPE,
			 "MP-200: the scope claim holds a malformed scope");
		break;
	case OAUTH_SCOPE_TOO_MANY:
		rc = ERR(e, ERR_INVAL, 400, OAUTH_INVALID_SCOPE, "MP-200: more than %d scopes",
			 SCOPES_MAX);
		break;
	case OAUTH_SCOPE_NOMEM:
		rc = MP_INTERNAL(e, "out of memory");
		break;
	}
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* spec §10: admin scopes need an unbroken legal chain to the organisation. */
static bool
needs_certificate(const char *scope)
{
	return strncmp(scope, "idporten:dcr", 12) == 0 ||
	       strncmp(scope, "idporten:scopes", 15) == 0;
}

/*
 * spec §9 step 5 for scope s (its doc): the consumer has delegated it to the
 * supplier.  spec §7: the token names one delegation_source, so every
 * delegated scope of a grant comes from the same source.
 */
static int
check_delegation(const struct mp_grant *g, const char *s, const json_t *doc, struct err *e)
{
	const char *src = jstr(doc, "delegation_source");

	if (src == NULL || !reg_delegation_ok(doc, g->consumer, g->supplier))
		return MP_BADSCOPE(e, "MP-251: Consumer %s has not delegated scope %.200s to %s",
				   g->consumer, s, g->supplier);
	if (g->delegation_source != NULL && strcmp(src, g->delegation_source) != 0)
		return MP_BADSCOPE(e, "scope %.200s is delegated through %.200s, another "
				      "requested scope through %.200s: a token names one "
				      "delegation source, ask for them in separate tokens",
				   s, src, g->delegation_source);
	return 0;
}

/* spec §9: the token-time decision for each requested scope; no partial grant. */
static int
check_scopes(struct porten *app, struct mp_grant *g, bool delegated, bool onbehalfof,
	     struct err *e)
{
	const char *itype = g->client->integration_type;
	const json_t *v;
	json_t *doc = NULL;
	size_t i;
	int rc = 0;

	json_array_foreach(g->scopes, i, v) {
		const char *s = json_string_value(v);
		const json_t *types;

		if (!reg_strs_has(&g->client->scopes, s)) {
			rc = MP_BADSCOPE(e, "MP-200: Token request contains invalid scopes for "
					    "client: %.200s is not registered on it", s);
			goto out;
		}
		rc = reg_scope_get(app, s, &doc, e);
		if (rc == ERR_NOTFOUND || rc == ERR_INVAL ||
		    (rc == 0 && !json_is_true(json_object_get(doc, "active")))) {
			rc = MP_BADSCOPE(e, "MP-200: scope %.200s is not available", s);
			goto out;
		}
		if (rc != 0) {
			rc = oauth_store_fail(rc, e);
			goto out;
		}
		types = json_object_get(doc, "allowed_integration_types");
		if (json_array_size(types) > 0 && !reg_json_array_has(types, itype)) {
			rc = MP_BADSCOPE(e, "MP-201: scope %.200s is not allowed for %s", s, itype);
			goto out;
		}
		if (needs_certificate(s) && strcmp(g->client_amr, "private_key_jwt") == 0) {
			rc = MP_BADSCOPE(e, "MP-201: scope %.200s needs a business certificate, "
					    "not a registered key", s);
			goto out;
		}
		/* spec §8.4 (design): onbehalfof never with a delegable scope. */
		if (onbehalfof && json_is_string(json_object_get(doc, "delegation_source"))) {
			rc = MP_BADREQ(e, "MP-011: iss_onbehalfof cannot be used with scope %.200s",
				       s);
			goto out;
		}
		if (!reg_scope_access_ok(doc, g->consumer)) {
			rc = MP_BADSCOPE(e, "MP-250: Consumer %s has not been granted access to "
					    "scope %.200s", g->consumer, s);
			goto out;
		}
		if (delegated && (rc = check_delegation(g, s, doc, e)) != 0)
			goto out;
		if (json_object_set_new(g->scope_docs, s, doc) != 0) {
			doc = NULL;     /* taken (and released) by the failed set, as on success */
			rc = MP_INTERNAL(e, "out of memory");
			goto out;
		}
		if (delegated && g->delegation_source == NULL)
			g->delegation_source = jstr(doc, "delegation_source");
		doc = NULL;
	}
out:
	json_decref(doc);
	return rc;
}

/* ---- step 11: optional claims ---- */

/* RFC 8707 §2: an absolute URI without a fragment. */
static bool
resource_ok(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), i;

	if (s == NULL || n == 0 || n > RESOURCE_MAX || strlen(s) != n ||
	    !str_is_clean_utf8((struct str){ s, n }) || strpbrk(s, "# ") != NULL)
		return false;
	/* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	if (!((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return false;
	i = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	return s[i] == ':' && i + 1 < n;
}

static int
parse_resource(const json_t *claims, struct mp_grant *g, struct err *e)
{
	const json_t *v = json_object_get(claims, "resource"), *r;
	size_t i;

	if (v == NULL)
		return 0;
	/* spec §4: an array; (design) a single string too. */
	if (json_is_string(v))
		g->resource = json_pack("[O]", v);
	else if (json_is_array(v) && json_array_size(v) > 0 && json_array_size(v) <= RESOURCES_MAX)
		g->resource = json_deep_copy(v);
	else
		return MP_BADREQ(e, "MP-011: resource must be an array of 1-%d URIs",
				 RESOURCES_MAX);
	if (g->resource == NULL)
		return MP_INTERNAL(e, "out of memory");
	json_array_foreach(g->resource, i, r)
		if (!resource_ok(r))
			return MP_BADREQ(e, "MP-011: resource[%zu] is not an absolute URI "
					    "without fragment", i);
	return 0;
}

/* spec §8.2: syntax and check digits only; the person has not logged in. */
static int
parse_pid(struct porten *app, const json_t *claims, struct mp_grant *g, struct err *e)
{
	const json_t *v = json_object_get(claims, "pid");
	struct natid_policy pol = { .testid_accept_real = app->cfg->testid_accept_real,
				    .allow_2032 = app->cfg->natid_allow_2032 };

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) != 11 ||
	    !natid_acceptable((struct str){ json_string_value(v), 11 },
			      app->test_env ? NATID_CTX_TEST : NATID_CTX_PROD, &pol))
		return MP_BADREQ(e, "MP-011: pid is not a valid national identity number");
	g->pid = strndup(json_string_value(v), 11);
	return g->pid ? 0 : MP_INTERNAL(e, "out of memory");
}

/* spec §8.4 (design): only KRR clients, and only a value registered on the client. */
static int
parse_onbehalfof(const json_t *claims, struct mp_grant *g, bool *used, struct err *e)
{
	const json_t *v = json_object_get(claims, "iss_onbehalfof"), *o;
	const char *itype = g->client->integration_type;
	size_t i;

	*used = false;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || strcmp(itype, "krr") != 0 ||
	    json_object_get(claims, "consumer_org") != NULL)
		return MP_BADREQ(e, "MP-011: iss_onbehalfof is accepted only from KRR clients "
				    "and never with consumer_org");
	json_array_foreach(g->client->onbehalfof, i, o) {
		const char *id = jstr(o, "onbehalfof"), *org = jstr(o, "orgno");

		if (id == NULL || strcmp(id, json_string_value(v)) != 0 || !orgno_valid_c(org))
			continue;
		memcpy(g->supplier, g->consumer, sizeof(g->supplier));
		memcpy(g->consumer, org, 10);
		*used = true;
		return 0;
	}
	return MP_BADREQ(e, "MP-011: iss_onbehalfof names no registration of the client");
}

/* spec §8.3: a supplier asks for its customer. */
static int
parse_consumer_org(const json_t *claims, struct mp_grant *g, bool *used, struct err *e)
{
	const json_t *v = json_object_get(claims, "consumer_org");

	*used = false;
	if (v == NULL)
		return 0;
	/* The supplier's client is its own ordinary registration, not one made for a customer. */
	if (g->client->supplier_orgno != NULL)
		return MP_BADREQ(e, "MP-011: consumer_org is accepted only from a supplier's own "
				    "client; this client was registered by %.16s for %s",
				 g->client->supplier_orgno, g->consumer);
	if (!json_is_string(v) || !orgno_valid_c(json_string_value(v)))
		return MP_BADREQ(e, "MP-011: consumer_org must be a 9-digit organisation number");
	if (strcmp(json_string_value(v), g->consumer) == 0)
		return MP_BADREQ(e, "combination consumer_org in claim and delegation scope on "
				    "client is invalid: consumer_org is the client's own "
				    "organisation");
	memcpy(g->supplier, g->consumer, sizeof(g->supplier));
	memcpy(g->consumer, json_string_value(v), 10);
	*used = true;
	return 0;
}

#define RAR_ERR(e, code, ...) \
	ERR((e), ERR_DENIED, 400, MP_INVALID_AUTHORIZATION_DETAILS, code ": " __VA_ARGS__)

/* {"authority":"iso6523-actorid-upis","ID":"0192:<orgno>"}: the orgno, or NULL. */
static const char *
org_object(const json_t *o)
{
	const char *auth = jstr(o, "authority"), *id = jstr(o, "ID");

	if (!json_is_object(o) || json_object_size(o) != 2 || auth == NULL || id == NULL ||
	    strcmp(auth, OAUTH_ORG_AUTHORITY) != 0 ||
	    strncmp(id, OAUTH_ORG_ICD, strlen(OAUTH_ORG_ICD)) != 0 ||
	    !orgno_valid_c(id + strlen(OAUTH_ORG_ICD)))
		return NULL;
	return id + strlen(OAUTH_ORG_ICD);
}

/*
 * spec §8.5: system users.  The request is checked in full; Porten has no
 * connection to a system register, so no system user is ever found and the
 * grant ends in invalid_grant (design, as when Altinn finds none).
 */
static int
check_rar(const json_t *claims, struct err *e)
{
	const json_t *v = json_object_get(claims, "authorization_details"), *d, *m;
	const char *key, *org;

	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return RAR_ERR(e, "MP-303", "authorization_details must be a non-empty array");
	if (json_array_size(v) > 1)
		return RAR_ERR(e, "MP-303", "authorization_details: one party per request");
	d = json_array_get(v, 0);
	if (!json_is_object(d) || !json_is_string(json_object_get(d, "type")))
		return RAR_ERR(e, "MP-303", "authorization_details[0].type is required");
	if (strcmp(jstr(d, "type"), RAR_TYPE) != 0)
		return RAR_ERR(e, "MP-301", "authorization_details type %.100s is not supported",
			       jstr(d, "type"));
	json_object_foreach((json_t *)d, key, m) {
		if (strcmp(key, "type") != 0 && strcmp(key, "systemuser_org") != 0)
			return RAR_ERR(e, "MP-302", "unknown field %.64s in authorization_details",
				       key);
	}
	org = org_object(json_object_get(d, "systemuser_org"));
	if (org == NULL)
		return RAR_ERR(e, "MP-303", "invalid value of systemuser_org: {\"authority\":\""
			       OAUTH_ORG_AUTHORITY "\",\"ID\":\"" OAUTH_ORG_ICD "<orgno>\"} expected");
	return MP_BADGRANT(e, "no system user of organisation %s is linked to this client", org);
}

/* ---- the whole grant ---- */

/* spec §5 step 9: Maskinporten serves these client types, with this grant. */
static int
check_client_type(const struct client *client, const struct issuer *is, struct err *e)
{
	const char *t = client->integration_type;

	if (!reg_client_fits(client, is))
		return ERR(e, ERR_DENIED, 400, OAUTH_UNAUTHORIZED_CLIENT,
			   "the client is not a Maskinporten client (integration_type %s)",
			   t ? t : "none");
	if (!reg_strs_has(&client->grant_types, MP_GRANT_TYPE) &&
	    !reg_strs_has(&client->grant_types, "jwt_bearer_token"))
		return ERR(e, ERR_DENIED, 400, OAUTH_UNAUTHORIZED_CLIENT,
			   "the client is not registered for the jwt-bearer grant");
	return 0;
}

static int
load_client(struct porten *app, const json_t *peek, struct mp_grant *g, struct err *e)
{
	const json_t *iss = json_object_get(peek, "iss");
	const char *org;
	int rc;

	if (!json_is_string(iss) || strlen(json_string_value(iss)) != json_string_length(iss))
		return MP_BADGRANT(e, "MP-100: the grant's iss must be the client_id");
	rc = reg_client_find(app, json_string_value(iss), &g->client, e);
	if (rc == ERR_NOTFOUND)
		return MP_BADGRANT(e, "MP-100: client not found in this environment");
	if (rc != 0)
		return oauth_store_fail(rc, e);
	g->client_id = g->client->client_id;
	org = g->client->client_orgno;
	if (g->client_id == NULL || !orgno_valid_c(org))
		return MP_BADGRANT(e, "MP-100: the client has no owner organisation");
	memcpy(g->consumer, org, 10);
	/*
	 * spec §7 "supplier cases": a client a supplier registered for its
	 * customer (selfservice-api.md §2, idporten:dcr.supplier) acts for that
	 * customer, so its tokens name the supplier as ID-porten's do.
	 */
	if (orgno_valid_c(g->client->supplier_orgno))
		memcpy(g->supplier, g->client->supplier_orgno, 10);
	return 0;
}

int
mp_grant_validate(struct porten *app, const struct issuer *is, struct str assertion,
		  int64_t now, struct mp_grant *g, struct err *e)
{
	json_t *hdr = NULL, *peek = NULL, *claims = NULL, *jwk = NULL;
	const json_t *iss;
	bool use_x5c = false, delegated = false, onbehalfof = false;
	int64_t exp = 0;
	int rc;

	memset(g, 0, sizeof(*g));
	/* Step 1: a compact JWS. */
	if (assertion.len == 0 || assertion.len > MP_ASSERTION_MAX) {
		rc = MP_BADREQ(e, "MP-011: the assertion must be a compact JWS of at most %d bytes",
			       MP_ASSERTION_MAX);
		goto out;
	}
	rc = peek_part(assertion, 0, &hdr, e);
	if (rc == 0)
		rc = peek_part(assertion, 1, &peek, e);
	/* Step 2: alg, and kid or x5c. */
	if (rc == 0)
		rc = check_header(hdr, &use_x5c, e);
	/* Step 3: the client named by iss. */
	if (rc == 0)
		rc = load_client(app, peek, g, e);
	if (rc != 0)
		goto out;
	/* Step 4: the audience is this issuer. */
	if (!aud_ok(json_object_get(peek, "aud"), is)) {
		rc = MP_BADGRANT(e, "MP-110: the grant's aud must be %s", is->iss);
		goto out;
	}
	/* Steps 5 and 6: the key, then the signature. */
	g->client_amr = "private_key_jwt";
	rc = use_x5c ? key_by_x5c(app, g->client, hdr, now, &jwk, &g->client_amr, e)
		     : key_by_kid(app, g->client, hdr, now, &jwk, &g->client_amr, e);
	if (rc != 0)
		goto out;
	/* The header and claims read above are the bytes verified: not decoded again. */
	if (jose_jwt_verify_hdr(assertion, hdr, jwk, JOSE_ALG_RS_ALL, NULL, e) != 0) {
		rc = MP_BADGRANT(e, "MP-124: the grant's signature does not verify");
		goto out;
	}
	claims = peek;
	peek = NULL;
	iss = json_object_get(claims, "iss");
	if (!json_is_string(iss) || strcmp(json_string_value(iss), g->client_id) != 0) {
		rc = MP_BADGRANT(e, "MP-100: the grant's iss must be the client_id");
		goto out;
	}
	/* Steps 7-9: times, replay, client type. */
	rc = check_times(claims, now, &exp, e);
	if (rc == 0)
		rc = replay_key(g, claims, assertion, exp, e);
	if (rc == 0)
		rc = check_client_type(g->client, is, e);
	if (rc != 0)
		goto out;
	/* Step 11's claims first: they decide who the consumer is for step 10. */
	rc = split_scopes(claims, &g->scopes, e);
	if (rc == 0)
		rc = parse_consumer_org(claims, g, &delegated, e);
	if (rc == 0)
		rc = parse_onbehalfof(claims, g, &onbehalfof, e);
	if (rc == 0)
		rc = parse_pid(app, claims, g, e);
	if (rc == 0)
		rc = parse_resource(claims, g, e);
	if (rc != 0)
		goto out;
	/* spec §8.4 (design): scope access is the acting client's own, not its customer's. */
	g->scope_docs = json_object();
	if (g->scope_docs == NULL) {
		rc = MP_INTERNAL(e, "out of memory");
		goto out;
	}
	if (onbehalfof) {
		char customer[10];

		memcpy(customer, g->consumer, sizeof(customer));
		memcpy(g->consumer, g->supplier, sizeof(customer));
		rc = check_scopes(app, g, false, true, e);
		memcpy(g->consumer, customer, sizeof(customer));
	} else {
		rc = check_scopes(app, g, delegated, false, e);
	}
	if (rc == 0)
		rc = check_rar(claims, e);
out:
	json_decref(hdr);
	json_decref(peek);
	json_decref(claims);
	json_decref(jwk);
	if (rc != 0)
		mp_grant_clear(g);
	return rc;
}

void
mp_grant_clear(struct mp_grant *g)
{
	if (g == NULL)
		return;
	reg_client_release(g->client);
	json_decref(g->scopes);
	json_decref(g->scope_docs);
	json_decref(g->resource);
	free(g->pid);
	memset(g, 0, sizeof(*g));
}
