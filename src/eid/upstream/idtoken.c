/*
 * The upstream's ID token, validated completely (OpenID Connect Core
 * §3.1.3.7): signature by a key of the upstream's JWKS with the algorithm
 * pinned to that key (RSA only; none and HMAC never), the issuer, the
 * audience (and azp when there are several), expiry and issued-at, the
 * nonce of this login, an auth_time that the login's prompt=login or
 * max_age allows, and a level at least the one asked for.
 */
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"
#include "eid/upstream/upstream_int.h"

/* Does the set hold a key named kid (any key when the token names none)? */
static bool
jwks_has_kid(const json_t *jwks, const char *kid)
{
	const json_t *k;
	size_t i;

	if (kid == NULL)
		return true;
	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		const char *kk = json_string_value(json_object_get(k, "kid"));

		if (kk != NULL && strcmp(kk, kid) == 0)
			return true;
	}
	return false;
}

/* The signature, by a key of the JWKS; a kid it lacks makes us fetch it again once. */
static int
verify_sig(struct upstream *u, struct http_req *r, const char *jws, json_t **claims,
	   struct err *e)
{
	json_t *hdr = NULL, *jwks = NULL;
	const char *kid;
	int rc = jose_jws_header(str_c(jws), &hdr, e);

	if (rc != 0)
		return rc;
	kid = json_string_value(json_object_get(hdr, "kid"));
	rc = upstream_jwks(u, r->rid, false, &jwks, e);
	if (rc == 0 && !jwks_has_kid(jwks, kid)) {
		json_decref(jwks);
		rc = upstream_jwks(u, r->rid, true, &jwks, e);
	}
	if (rc == 0)
		rc = jose_jwt_verify(str_c(jws), jwks, JOSE_ALG_RS_ALL, claims, e);
	json_decref(jwks);
	json_decref(hdr);
	return rc;
}

/* aud is our client_id or a list holding it; with several, azp names us (§3.1.3.7 3-5). */
static bool
audience_ok(const struct upstream *u, const json_t *claims)
{
	const json_t *aud = json_object_get(claims, "aud"), *v;
	const char *azp = json_string_value(json_object_get(claims, "azp"));
	bool found = false;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), u->client_id) == 0 &&
		       (azp == NULL || strcmp(azp, u->client_id) == 0);
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), u->client_id) == 0)
			found = true;
	if (json_array_size(aud) > 1 && (azp == NULL || strcmp(azp, u->client_id) != 0))
		return false;
	return found && (azp == NULL || strcmp(azp, u->client_id) == 0);
}

/*
 * auth_time (OIDC Core §2, §3.1.2.1): not in the future, and when the
 * login asked for a new authentication or set max_age, not older than
 * that allows, counted from when the person was sent to the upstream.
 * The claim is REQUIRED when max_age went upstream, so a token without
 * it is refused then.  With prompt=login alone it is optional: a token
 * without it is taken as the new authentication asked for, at now.
 */
static int
auth_time_check(const json_t *claims, const struct upstream_expect *x, int64_t now,
		int64_t *auth_time, struct err *e)
{
	const json_t *at = json_object_get(claims, "auth_time");
	json_int_t t;

	*auth_time = now;
	if (at == NULL && x->max_age >= 0)
		return ERR(e, ERR_DENIED, 0, NULL, "ID token has no auth_time, which max_age "
			   "%lld requires", (long long)x->max_age);
	if (at == NULL)
		return 0;
	t = json_integer_value(at);
	if (!json_is_integer(at) || t <= 0 || t > now + UPSTREAM_LEEWAY)
		return ERR(e, ERR_DENIED, 0, NULL, "ID token's auth_time is not a past time");
	if (x->fresh && t < x->started - UPSTREAM_LEEWAY)
		return ERR(e, ERR_DENIED, 0, NULL, "the upstream did not authenticate the person "
			   "anew (auth_time %lld s before the login)",
			   (long long)(x->started - t));
	if (x->max_age >= 0 && t < x->started - x->max_age - UPSTREAM_LEEWAY)
		return ERR(e, ERR_DENIED, 0, NULL, "the upstream's authentication is older than "
			   "max_age %lld allows", (long long)x->max_age);
	*auth_time = t;
	return 0;
}

static int
claims_check(const struct upstream *u, const json_t *claims, const struct upstream_expect *x,
	     int64_t *auth_time, struct err *e)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	const char *got = json_string_value(json_object_get(claims, "nonce"));
	json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
	int64_t now = time_now();
	int rc;

	if (iss == NULL || strcmp(iss, u->issuer) != 0)
		return ERR(e, ERR_DENIED, 0, NULL, "ID token from issuer %.100s, not %s",
			   iss ? iss : "(none)", u->issuer);
	if (!audience_ok(u, claims))
		return ERR(e, ERR_DENIED, 0, NULL, "ID token is not meant for client %s",
			   u->client_id);
	rc = jose_jwt_check_times(claims, now, UPSTREAM_LEEWAY, 0, 1, e);
	if (rc != 0)
		return rc;
	if (iat < now - UPSTREAM_MAX_AGE)
		return ERR(e, ERR_DENIED, 0, NULL, "ID token was issued too long ago");
	if (got == NULL || !ct_str_eq(str_c(got), str_c(x->nonce)))
		return ERR(e, ERR_DENIED, 0, NULL, "ID token carries another nonce");
	return auth_time_check(claims, x, now, auth_time, e);
}

int
upstream_id_token(struct upstream *u, struct http_req *r, const char *jws,
		  const struct upstream_expect *x, json_t **claims, unsigned *level,
		  int64_t *auth_time, struct err *e)
{
	int rc = verify_sig(u, r, jws, claims, e);

	if (rc == 0)
		rc = claims_check(u, *claims, x, auth_time, e);
	if (rc == 0) {
		*level = upstream_level_of(u, json_string_value(json_object_get(*claims, "acr")));
		if (*level == 0 || *level < x->min_level)
			rc = ERR(e, ERR_DENIED, 0, "access_denied",
				 "the upstream's level (acr %.60s) is lower than the one asked for",
				 json_string_value(json_object_get(*claims, "acr")) ?: "none");
	}
	if (rc != 0) {
		json_decref(*claims);
		*claims = NULL;
	}
	return rc;
}
