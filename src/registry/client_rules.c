/*
 * The rules a client registration must satisfy (spec/selfservice-api.md
 * §4-§7, spec/idporten-oidc.md §3 and §12): which fields exist and who may
 * set them, allowed combinations, bounds, URIs, scopes, lifetimes and keys.
 * client.c applies them on create and update.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/natid.h"
#include "core/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

#define BAD(e, ...) ERR((e), ERR_INVAL, 400, REG_INVALID_METADATA, __VA_ARGS__)

#define DEFAULT_AUTHORIZATION_LIFETIME 7200
#define DEFAULT_ACCESS_TOKEN_LIFETIME 120
#define DEFAULT_REFRESH_TOKEN_LIFETIME 600
#define JWK_N_MAX 1400 /* base64url of an 8192-bit modulus */

/* What the caller may send, field by field (spec §4 "W" and "S"). */
enum field_use {
	FIELD_WRITE,   /* validated and stored */
	FIELD_CREATE,  /* chosen on create only; on update it must not change */
	FIELD_SERVER,  /* server-set: ignored on input, so a GET can be sent back */
	FIELD_REFUSED, /* never accepted from outside */
};

static const struct {
	const char *name;
	enum field_use use;
} client_fields[] = {
	{ "client_id", FIELD_CREATE },
	{ "integration_type", FIELD_CREATE },
	{ "client_name", FIELD_WRITE },
	{ "description", FIELD_WRITE },
	{ "client_uri", FIELD_WRITE },
	{ "application_type", FIELD_WRITE },
	{ "token_endpoint_auth_method", FIELD_WRITE },
	{ "grant_types", FIELD_WRITE },
	{ "scopes", FIELD_WRITE },
	{ "redirect_uris", FIELD_WRITE },
	{ "post_logout_redirect_uris", FIELD_WRITE },
	{ "frontchannel_logout_uri", FIELD_WRITE },
	{ "frontchannel_logout_session_required", FIELD_WRITE },
	{ "backchannel_logout_uri", FIELD_WRITE },
	/* spec §4 "S": on whenever backchannel_logout_uri is set (idporten-oidc.md §20) */
	{ "backchannel_logout_session_required", FIELD_SERVER },
	{ "sso_disabled", FIELD_WRITE },
	{ "code_challenge_method", FIELD_WRITE },
	{ "authorization_lifetime", FIELD_WRITE },
	{ "access_token_lifetime", FIELD_WRITE },
	{ "refresh_token_lifetime", FIELD_WRITE },
	{ "refresh_token_usage", FIELD_WRITE },
	{ "client_orgno", FIELD_WRITE },
	{ "supplier_orgno", FIELD_WRITE },
	{ "jwks", FIELD_WRITE },
	{ "active", FIELD_SERVER },
	{ "created", FIELD_SERVER },
	{ "last_updated", FIELD_SERVER },
	{ "client_secret_expires_at", FIELD_SERVER },
	{ "jwks_posted", FIELD_SERVER },
	{ "onbehalfof", FIELD_SERVER },
	{ "rev", FIELD_SERVER }, /* write count, for safe concurrent changes (edit.c) */
	/* Legacy output fields, read-only for compatibility (spec §4). */
	{ "display_name", FIELD_SERVER },
	{ "default_scopes", FIELD_SERVER },
	{ "client_type", FIELD_SERVER },
	{ "token_reference", FIELD_SERVER },
	{ "force_pkce", FIELD_SERVER },
	{ "client_secret", FIELD_REFUSED },
	{ "client_secret_sha256", FIELD_REFUSED },
};

static const char *const app_types[] = { "web", "browser", "native", NULL };
static const char *const auth_methods[] = { "client_secret_basic", "client_secret_post",
					    "private_key_jwt", "none", NULL };
static const char *const pkce_methods[] = { "S256", "none", NULL };
/* Grants that exist but a login client may never have (spec §4, idporten-oidc §3). */
static const char *const refused_grants[] = {
	"implicit", "password", "client_credentials",
	"urn:ietf:params:oauth:grant-type:jwt-bearer", "jwt_bearer_token", NULL,
};
/* JWK members that only a private or symmetric key carries. */
static const char *const private_jwk_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k",
						   NULL };

static bool
in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

bool
reg_json_array_has(const json_t *arr, const char *value)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || value == NULL)
		return false;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
			return true;
	return false;
}

void
reg_iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

bool
reg_client_id_valid(const char *id)
{
	size_t n;

	if (id == NULL)
		return false;
	n = strnlen(id, REG_CLIENT_ID_MAX + 1);
	return n > 0 && n <= REG_CLIENT_ID_MAX &&
	       str_only((struct str){ id, n },
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");
}

bool
reg_integration_type_known(const char *t)
{
	static const char *const types[] = { "idporten", "api_klient", "ansattporten",
					     "maskinporten", "krr", "eformidling", NULL };

	return t != NULL && in_list(types, t);
}

/* Put the message of the last error behind the field it concerns. */
static int
field_err(struct err *e, const char *field, int rc)
{
	char why[sizeof(e->msg)];

	if (e == NULL)
		return rc;
	memcpy(why, e->msg, sizeof(why));
	why[sizeof(why) - 1] = '\0';
	return ERR(e, rc, e->status ? e->status : 400, e->oauth ? e->oauth : REG_INVALID_METADATA,
		   "%s: %s", field, why);
}

int
reg_client_check_fields(const json_t *in, struct err *e)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)in, key, v) {
		size_t i, n = sizeof(client_fields) / sizeof(client_fields[0]);

		for (i = 0; i < n; i++)
			if (strcmp(client_fields[i].name, key) == 0)
				break;
		if (i == n)
			return BAD(e, "unknown field %.64s", key);
		if (client_fields[i].use == FIELD_REFUSED)
			return BAD(e, "%s cannot be set; the server generates it", key);
	}
	return 0;
}

/*
 * A string field, bounded and free of control characters.  Absent, null or
 * empty counts as absent (*out NULL), which required refuses.
 */
int
reg_client_get_text(const json_t *in, const char *field, size_t max, bool required,
		    const char **out, struct err *e)
{
	json_t *v = json_object_get(in, field);
	const char *s;
	size_t n;

	*out = NULL;
	if (v != NULL && !json_is_null(v) && !json_is_string(v))
		return BAD(e, "%s must be a string", field);
	s = json_string_value(v);
	n = json_string_length(v);
	if (s == NULL || n == 0) {
		if (required)
			return BAD(e, "%s is required", field);
		return 0;
	}
	if (n > max)
		return BAD(e, "%s is longer than %zu bytes", field, max);
	if (strlen(s) != n || !str_is_clean_utf8((struct str){ s, n }))
		return BAD(e, "%s contains control characters or invalid UTF-8", field);
	*out = s;
	return 0;
}

static int
get_enum(const json_t *in, const char *field, const char *const *allowed, const char *dflt,
	 const char **out, struct err *e)
{
	int rc = reg_client_get_text(in, field, 64, false, out, e);

	if (rc != 0)
		return rc;
	if (*out == NULL) {
		*out = dflt;
		return 0;
	}
	if (!in_list(allowed, *out))
		return BAD(e, "%s: unknown value %s", field, *out);
	return 0;
}

static int
get_bool(const json_t *in, const char *field, bool *out, struct err *e)
{
	json_t *v = json_object_get(in, field);

	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return BAD(e, "%s must be true or false", field);
	*out = json_is_true(v);
	return 0;
}

static int
get_lifetime(const json_t *in, const char *field, long long dflt, long long max,
	     long long *out, struct err *e)
{
	json_t *v = json_object_get(in, field);

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
		return BAD(e, "%s must be a whole number of seconds from 1 to %lld", field, max);
	*out = json_integer_value(v);
	return 0;
}

/*
 * An array of distinct non-empty clean strings, bounded in count and
 * length.  *out is a fresh copy (NULL when absent or empty).
 */
static int
get_string_array(const json_t *in, const char *field, size_t max_items, size_t max_len,
		 json_t **out, struct err *e)
{
	json_t *v = json_object_get(in, field), *item;
	size_t i;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return BAD(e, "%s must be an array of strings", field);
	if (json_array_size(v) > max_items)
		return BAD(e, "%s has more than %zu entries", field, max_items);
	json_array_foreach(v, i, item) {
		const char *s = json_string_value(item);
		size_t n = json_string_length(item);

		if (s == NULL || n == 0)
			return BAD(e, "%s[%zu] must be a non-empty string", field, i);
		if (n > max_len)
			return BAD(e, "%s[%zu] is longer than %zu bytes", field, i, max_len);
		if (strlen(s) != n || !str_is_clean_utf8((struct str){ s, n }))
			return BAD(e, "%s[%zu] contains control characters", field, i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(v, j)), s) == 0)
				return BAD(e, "%s lists %.100s twice", field, s);
	}
	if (json_array_size(v) == 0)
		return 0;
	*out = json_deep_copy(v);
	return *out ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

static int
check_grant_types(const json_t *arr, const char *itype, struct err *e)
{
	bool code = false;
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		const char *g = json_string_value(v);

		if (strcmp(g, "authorization_code") == 0)
			code = true;
		else if (strcmp(g, "refresh_token") == 0)
			;
		else if (in_list(refused_grants, g))
			return BAD(e, "grant type %s is not allowed for integration_type %s", g,
				   itype);
		else
			return BAD(e, "unknown grant type %.64s", g);
	}
	if (!code)
		return BAD(e, "grant_types must include authorization_code");
	return 0;
}

/*
 * Spec §6.4: scopes that Digdir offers every organisation for self-service
 * (scopes under krr:global/ may be registered; KRR issues tokens for it only to
 * organisations on its access list, krr.md §3.3).
 */
static bool
scope_self_service(const char *s)
{
	return strncmp(s, "krr:user/", 9) == 0 || strncmp(s, "krr:global/", 11) == 0 ||
	       strcmp(s, "idporten:authorizations") == 0 || strcmp(s, "idporten:user.log.read") == 0;
}

/* Spec §6.4: the admin scopes are given by the operator only. */
static bool
scope_operator_only(const char *s)
{
	return strncmp(s, "idporten:dcr", 12) == 0 || strncmp(s, "idporten:scopes", 15) == 0;
}

/*
 * Spec §6.4 for an organisation that registers a scope on its client
 * (orgno its client_orgno): the scope is open to it (access list,
 * accessible_for_all, its own), delegable (rights are checked at token
 * time), or Digdir's self-service ones.  A scope the client already has
 * stays: what the operator gave is not taken back by sending it again.
 */
static int
check_scope_access(const struct reg_actor *who, const json_t *sd, const char *s,
		   const char *orgno, const json_t *prev, struct err *e)
{
	const char *src;

	if (who->orgno == NULL || reg_json_array_has(json_object_get(prev, "scopes"), s))
		return 0;
	if (scope_operator_only(s))
		return BAD(e, "scope %.100s is given by the operator only", s);
	src = json_string_value(json_object_get(sd, "delegation_source"));
	if ((orgno != NULL && reg_scope_access_ok(sd, orgno)) || (src != NULL && src[0] != '\0') ||
	    scope_self_service(s))
		return 0;
	/* The same answer as an unknown scope: access lists are not for browsing. */
	return BAD(e, "unknown scope %.100s", s);
}

/*
 * Spec §6.4 and idporten-oidc §13: an idporten client has openid and
 * profile only; an api_klient may list API scopes that exist, are active
 * and allow its integration type.  Access lists (which organisation may
 * use a scope) bind organisations; the operator may add any scope.
 */
static int
check_scopes(struct porten *app, const struct reg_actor *who, const json_t *arr,
	     const char *itype, const char *orgno, const json_t *prev, struct err *e)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		json_t *sd = NULL, *types;
		int rc;

		if (strcmp(itype, "idporten") == 0) {
			if (strcmp(s, "openid") != 0 && strcmp(s, "profile") != 0)
				return BAD(e, "idporten clients may only have the scopes openid "
					      "and profile; %.100s needs an api_klient", s);
			continue;
		}
		rc = reg_scope_get(app, s, &sd, e);
		if (rc == ERR_NOTFOUND || rc == ERR_INVAL)
			return BAD(e, "unknown scope %.100s", s);
		if (rc != 0)
			return rc;
		rc = check_scope_access(who, sd, s, orgno, prev, e);
		if (rc == 0 && !json_is_true(json_object_get(sd, "active")))
			rc = BAD(e, "scope %.100s is not active", s);
		types = json_object_get(sd, "allowed_integration_types");
		if (rc == 0 && json_array_size(types) > 0 && !reg_json_array_has(types, itype))
			rc = BAD(e, "scope %.100s is not allowed for integration_type %s", s, itype);
		json_decref(sd);
		if (rc != 0)
			return rc;
	}
	if (strcmp(itype, "idporten") == 0 && !reg_json_array_has(arr, "openid"))
		return BAD(e, "idporten clients log users in: scopes must include openid");
	return 0;
}

static int
check_uris(const json_t *arr, const char *field, const char *apptype, bool test_env,
	   struct err *e)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		int rc = reg_redirect_uri_valid(json_string_value(v), apptype, test_env, e);

		if (rc != 0) {
			char name[64];

			snprintf(name, sizeof(name), "%s[%zu]", field, i);
			return field_err(e, name, rc);
		}
	}
	return 0;
}

/*
 * spec/idporten-oidc.md §3 and §20: a front- or back-channel logout URI
 * (field) is in the same domain as a redirect URI, read as the same
 * registrable domain (reg_uri_same_domain): logout.example.no serves
 * www.example.no, but a.oslo.no does not serve b.oslo.no.  The split URI
 * is left in *fu.
 */
static int
check_logout_uri(const char *field, const char *uri, const json_t *redirects, bool test_env,
		 struct reg_uri *fu, struct err *e)
{
	struct reg_uri ru;
	size_t i;
	json_t *v;
	int rc;

	/* The back channel's own rules stand in for a redirect URI's (check_backchannel). */
	rc = strcmp(field, "backchannel_logout_uri") == 0 ? 0
							   : reg_redirect_uri_valid(uri, "web", test_env, e);
	if (rc != 0)
		return field_err(e, field, rc);
	rc = reg_uri_split(uri, fu, e);
	if (rc != 0)
		return field_err(e, field, rc);
	json_array_foreach(redirects, i, v) {
		if (reg_uri_split(json_string_value(v), &ru, NULL) == 0 &&
		    reg_uri_same_domain(fu->host, ru.host))
			return 0;
	}
	return BAD(e, "%s must be in the domain of a registered redirect URI", field);
}

/*
 * spec/idporten-oidc.md §20 (design): the back-channel logout URI is
 * https in TEST too, and names no loopback, link-local or private address
 * (checked again on every connection: login/backchannel.c); allow_private
 * (test environment only) lets a receiver on this machine be registered.
 */
static int
check_backchannel(const char *uri, const json_t *redirects, bool test_env, bool allow_private,
		  struct err *e)
{
	struct reg_uri u = { 0 };
	int rc = check_logout_uri("backchannel_logout_uri", uri, redirects, test_env, &u, e);

	if (rc != 0)
		return rc;
	if (!str_eq_c(u.scheme, "https") || !u.has_authority || u.host.len == 0)
		return BAD(e, "backchannel_logout_uri must be an https URL");
	if (strchr(uri, '#') != NULL)
		return BAD(e, "backchannel_logout_uri must not have a fragment");
	if (!allow_private && reg_uri_host_private(u.host))
		return BAD(e, "backchannel_logout_uri must not name a loopback or private address");
	return 0;
}

static int
get_orgno(const json_t *in, const char *field, const json_t *prev, json_t *doc, struct err *e)
{
	json_t *v = json_object_get(in, field);
	const char *s = json_string_value(v);

	if (v == NULL || json_is_null(v)) {
		/* Ownership is not dropped by an update that leaves it out. */
		s = json_string_value(json_object_get(prev, field));
		if (s == NULL)
			return 0;
	} else if (s == NULL || !orgno_valid((struct str){ s, json_string_length(v) })) {
		return BAD(e, "%s must be a valid 9-digit organisation number", field);
	}
	if (json_object_set_new(doc, field, json_string(s)) != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	return 0;
}

int
reg_client_check_jwk(const json_t *k, struct err *e)
{
	const char *kid, *kty, *use, *alg, *n, *ex;

	if (!json_is_object(k))
		return BAD(e, "a key must be a JSON object (JWK)");
	for (size_t i = 0; private_jwk_members[i] != NULL; i++)
		if (json_object_get(k, private_jwk_members[i]) != NULL)
			return BAD(e, "the key holds private key material (%s): register only "
				      "the public key", private_jwk_members[i]);
	kty = json_string_value(json_object_get(k, "kty"));
	use = json_string_value(json_object_get(k, "use"));
	alg = json_string_value(json_object_get(k, "alg"));
	kid = json_string_value(json_object_get(k, "kid"));
	n = json_string_value(json_object_get(k, "n"));
	ex = json_string_value(json_object_get(k, "e"));
	if (kty == NULL || strcmp(kty, "RSA") != 0)
		return BAD(e, "key kty must be RSA");
	if (use == NULL || strcmp(use, "sig") != 0)
		return BAD(e, "key use must be sig");
	if (alg == NULL || (strcmp(alg, "RS256") != 0 && strcmp(alg, "RS384") != 0 &&
			    strcmp(alg, "RS512") != 0))
		return BAD(e, "key alg must be RS256, RS384 or RS512");
	if (kid == NULL || strnlen(kid, 101) > 100 ||
	    !str_only(str_c(kid), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789._-") || kid[0] == '\0')
		return BAD(e, "key kid must be 1-100 characters of [A-Za-z0-9._-]");
	if (n == NULL || ex == NULL || strnlen(n, JWK_N_MAX + 1) > JWK_N_MAX ||
	    strnlen(ex, 17) > 16)
		return BAD(e, "key n and e are required (RSA modulus at most 8192 bits)");
	return 0;
}

int
reg_client_check_key_set(const json_t *jwks, struct err *e)
{
	json_t *keys = json_object_get(jwks, "keys"), *k;
	size_t i;
	int rc;

	if (json_array_size(keys) == 0)
		return BAD(e, "jwks must hold at least one key");
	if (json_array_size(keys) > REG_CLIENT_KEYS_MAX)
		return BAD(e, "jwks holds more than %d keys", REG_CLIENT_KEYS_MAX);
	json_array_foreach(keys, i, k) {
		const char *kid;

		rc = reg_client_check_jwk(k, e);
		if (rc != 0) {
			char name[32];

			snprintf(name, sizeof(name), "jwks.keys[%zu]", i);
			return field_err(e, name, rc);
		}
		kid = json_string_value(json_object_get(k, "kid"));
		for (size_t j = 0; j < i; j++)
			if (strcmp(kid, json_string_value(json_object_get(
						json_array_get(keys, j), "kid"))) == 0)
				return BAD(e, "jwks has the kid %s twice", kid);
	}
	rc = jose_jwks_validate(jwks, REG_CLIENT_KEYS_MAX, e);
	if (rc != 0)
		return field_err(e, "jwks", ERR_INVAL);
	return 0;
}

/*
 * Posting times per kid (spec §7): a key keeps its time when the same key
 * comes back unchanged (a GET sent back by PUT), else it starts now.
 */
static json_t *
jwks_posted(const json_t *keys, const json_t *prev_doc, int64_t now)
{
	json_t *prev_keys = json_object_get(json_object_get(prev_doc, "jwks"), "keys");
	json_t *prev_posted = json_object_get(prev_doc, "jwks_posted");
	json_t *posted = json_object(), *k, *pk;
	size_t i, j;

	if (posted == NULL)
		return NULL;
	json_array_foreach(keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		json_t *t = NULL;

		json_array_foreach(prev_keys, j, pk) {
			if (json_equal(k, pk))
				t = json_object_get(prev_posted, kid);
		}
		json_object_set_new(posted, kid,
				    json_is_integer(t) ? json_copy(t) : json_integer(now));
	}
	return posted;
}

/* Spec §7 (design): accept a JWKS object or a bare array of keys. */
int
reg_client_jwks_from(const json_t *v, json_t **jwks, struct err *e)
{
	json_t *keys;
	int rc;

	*jwks = NULL;
	if (json_is_array(v))
		keys = (json_t *)v;
	else if (json_is_object(v) && json_object_size(v) == 1 &&
		 json_is_array(json_object_get(v, "keys")))
		keys = json_object_get(v, "keys");
	else
		return BAD(e, "jwks must be {\"keys\": [...]} or an array of keys");
	*jwks = json_pack("{s:o}", "keys", json_deep_copy(keys));
	if (*jwks == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	rc = reg_client_check_key_set(*jwks, e);
	if (rc != 0) {
		json_decref(*jwks);
		*jwks = NULL;
	}
	return rc;
}

/*
 * The keys as sent; a key locked to a business certificate (x5c) must be
 * that certificate's, trusted now and of the client's organisation
 * (spec §7), which get_orgno has written into doc before.
 */
static int
get_jwks(struct porten *app, const json_t *in, const json_t *prev, json_t *doc, int64_t now,
	 struct err *e)
{
	json_t *v = json_object_get(in, "jwks"), *jwks = NULL;
	int rc;

	if (v == NULL || json_is_null(v)) {
		/* Keys are managed through their own sub-resource; keep them. */
		if (json_object_get(prev, "jwks") != NULL &&
		    json_object_set(doc, "jwks", json_object_get(prev, "jwks")) != 0)
			return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		if (json_object_get(prev, "jwks_posted") != NULL &&
		    json_object_set(doc, "jwks_posted", json_object_get(prev, "jwks_posted")) != 0)
			return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		return 0;
	}
	rc = reg_client_jwks_from(v, &jwks, e);
	if (rc == 0)
		rc = reg_key_set_lock_check(app->cfg, jwks, reg_client_str(doc, "client_orgno"), now,
					    e);
	if (rc == 0) {
		json_t *posted = jwks_posted(json_object_get(jwks, "keys"), prev, now);

		if (json_object_set(doc, "jwks", jwks) != 0 ||
		    json_object_set_new(doc, "jwks_posted", posted) != 0)
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	json_decref(jwks);
	return rc;
}

static bool
set_str(json_t *doc, const char *k, const char *v)
{
	return v == NULL || json_object_set_new(doc, k, json_string(v)) == 0;
}

/* The fields every client has: names, home page and application type. */
static int
get_basics(struct porten *app, const json_t *in, const char **name, const char **desc,
	   const char **uri, const char **apptype, struct err *e)
{
	int rc;

	*desc = *uri = *apptype = NULL;
	rc = reg_client_get_text(in, "client_name", REG_NAME_MAX, true, name, e);
	if (rc == 0)
		rc = reg_client_get_text(in, "description", REG_DESCRIPTION_MAX, true, desc, e);
	if (rc == 0)
		rc = reg_client_get_text(in, "client_uri", REG_URI_MAX, false, uri, e);
	if (rc == 0 && *uri != NULL) {
		rc = reg_redirect_uri_valid(*uri, "web", app->test_env, e);
		if (rc != 0)
			rc = field_err(e, "client_uri", rc);
	}
	if (rc == 0)
		rc = get_enum(in, "application_type", app_types, "web", apptype, e);
	return rc;
}

/*
 * Store what every client has; grants and scopes are borrowed.  False when
 * out of memory.
 */
static bool
set_basics(json_t *doc, const char *name, const char *desc, const char *uri,
	   const char *apptype, const char *method, json_t *grants, json_t *scopes)
{
	bool ok = true;

	ok &= set_str(doc, "client_name", name);
	ok &= set_str(doc, "description", desc);
	ok &= set_str(doc, "client_uri", uri);
	ok &= set_str(doc, "application_type", apptype);
	ok &= set_str(doc, "token_endpoint_auth_method", method);
	ok &= json_object_set(doc, "grant_types", grants) == 0;
	ok &= json_object_set(doc, "scopes", scopes) == 0;
	return ok;
}

/* ---- Maskinporten clients (selfservice-api.md §5: web, private_key_jwt, jwt-bearer) ---- */

#define GT_JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"

/* Fields of a login client that a machine client never has. */
static const char *const mp_login_only[] = {
	"redirect_uris", "post_logout_redirect_uris", "frontchannel_logout_uri",
	"frontchannel_logout_session_required", "backchannel_logout_uri", "sso_disabled", "code_challenge_method",
	"refresh_token_lifetime", "authorization_lifetime", "refresh_token_usage", NULL,
};

/* Absent, null, false, "" and [] all say "not used". */
static bool
mp_field_unused(const json_t *v)
{
	return v == NULL || json_is_null(v) || json_is_false(v) ||
	       (json_is_string(v) && json_string_length(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0);
}

/* The client's owner: as sent, else as stored. */
static const char *
owner_of(const json_t *in, const json_t *prev)
{
	const char *o = json_string_value(json_object_get(in, "client_orgno"));

	return o != NULL ? o : json_string_value(json_object_get(prev, "client_orgno"));
}

/* spec §5: a KRR client has KRR's two scopes and may add none. */
static const char *const krr_scopes[] = { "krr:global/kontaktinformasjon.read",
					  "krr:global/digitalpost.read", NULL };

static int
krr_scopes_only(const json_t *scopes, struct err *e)
{
	size_t i;
	json_t *v;

	json_array_foreach(scopes, i, v)
		if (!in_list(krr_scopes, json_string_value(v)))
			return BAD(e, "krr clients have only the scopes %s and %s", krr_scopes[0],
				   krr_scopes[1]);
	return 0;
}

/* Maskinporten's clients: integration_type maskinporten, or krr (spec §5). */
static int
build_maskinporten(struct porten *app, const struct reg_actor *who, const json_t *in,
		   const char *itype, const json_t *prev, json_t *doc, struct err *e)
{
	const char *name, *desc, *uri, *apptype, *method;
	json_t *grants = NULL, *scopes = NULL, *v;
	bool krr = strcmp(itype, "krr") == 0;
	long long at;
	bool ok = true;
	size_t i;
	int rc = 0;

	for (i = 0; mp_login_only[i] != NULL; i++)
		if (!mp_field_unused(json_object_get(in, mp_login_only[i])))
			return BAD(e, "%s does not apply to %s clients (no login)",
				   mp_login_only[i], itype);
	rc = get_basics(app, in, &name, &desc, &uri, &apptype, e);
	if (rc == 0 && strcmp(apptype, "web") != 0)
		rc = BAD(e, "%s clients are web clients: application_type must be web", itype);
	if (rc == 0)
		rc = get_enum(in, "token_endpoint_auth_method", auth_methods, "private_key_jwt",
			      &method, e);
	/* private_key_jwt covers both a business certificate (x5c) and registered keys (kid). */
	if (rc == 0 && strcmp(method, "private_key_jwt") != 0)
		rc = BAD(e, "%s clients never hold secrets: token_endpoint_auth_method "
			    "must be private_key_jwt", itype);
	if (rc != 0)
		goto out;

	rc = get_string_array(in, "grant_types", 8, 64, &grants, e);
	if (rc != 0)
		goto out;
	json_array_foreach(grants, i, v) {
		const char *g = json_string_value(v);

		if (strcmp(g, GT_JWT_BEARER) != 0 && strcmp(g, "jwt_bearer_token") != 0) {
			rc = BAD(e, "grant type %.64s is not allowed for integration_type "
				    "%s: only %s", g, itype, GT_JWT_BEARER);
			goto out;
		}
	}
	/* spec §4: the short alias is accepted and stored as the full URN. */
	json_decref(grants);
	grants = json_pack("[s]", GT_JWT_BEARER);
	rc = get_string_array(in, "scopes", REG_SCOPES_MAX, REG_SCOPE_NAME_MAX, &scopes, e);
	if (rc == 0 && scopes == NULL &&
	    (scopes = krr ? json_pack("[ss]", krr_scopes[0], krr_scopes[1]) : json_array()) == NULL)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	if (rc == 0 && krr)
		rc = krr_scopes_only(scopes, e);
	if (rc == 0)
		rc = check_scopes(app, who, scopes, itype, owner_of(in, prev), prev, e);
	if (rc == 0)
		rc = get_lifetime(in, "access_token_lifetime", DEFAULT_ACCESS_TOKEN_LIFETIME,
				  REG_AT_LIFETIME_MAX, &at, e);
	/* The owner is the token's consumer (maskinporten.md §7): required. */
	if (rc == 0)
		rc = get_orgno(in, "client_orgno", prev, doc, e);
	if (rc == 0 && json_object_get(doc, "client_orgno") == NULL)
		rc = BAD(e, "client_orgno is required for %s clients", itype);
	if (rc == 0)
		rc = get_orgno(in, "supplier_orgno", prev, doc, e);
	if (rc == 0)
		rc = get_jwks(app, in, prev, doc, time_now(), e);
	if (rc != 0 || grants == NULL) {
		if (rc == 0)
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		goto out;
	}
	ok &= set_basics(doc, name, desc, uri, apptype, method, grants, scopes);
	ok &= json_object_set_new(doc, "access_token_lifetime", json_integer(at)) == 0;
	if (!ok)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
out:
	json_decref(grants);
	json_decref(scopes);
	return rc;
}

int
reg_client_build(struct porten *app, const struct reg_actor *who, const json_t *in,
		 const char *itype, const json_t *prev, json_t *doc, struct err *e)
{
	const char *name, *desc, *uri, *apptype, *method, *pkce, *fcl, *bcl, *usage;
	json_t *grants = NULL, *scopes = NULL, *redirects = NULL, *logouts = NULL;
	long long at, rt, az;
	bool fcl_sid, sso_off, ok = true;
	bool ap = strcmp(itype, "ansattporten") == 0;
	int rc;

	if (strcmp(itype, "maskinporten") == 0 || strcmp(itype, "krr") == 0)
		return build_maskinporten(app, who, in, itype, prev, doc, e);

	rc = get_basics(app, in, &name, &desc, &uri, &apptype, e);
	if (rc != 0)
		goto out;

	/* Spec §5: web clients authenticate; browser and native are public. */
	rc = get_enum(in, "token_endpoint_auth_method", auth_methods,
		      strcmp(apptype, "web") == 0 ? "client_secret_basic" : "none", &method, e);
	if (rc != 0)
		goto out;
	if (strcmp(apptype, "web") == 0 && strcmp(method, "none") == 0) {
		rc = BAD(e, "web clients must authenticate: token_endpoint_auth_method must be "
			    "client_secret_basic, client_secret_post or private_key_jwt");
		goto out;
	}
	if (strcmp(apptype, "web") != 0 && strcmp(method, "none") != 0) {
		rc = BAD(e, "%s clients are public: token_endpoint_auth_method must be none",
			 apptype);
		goto out;
	}

	rc = get_string_array(in, "grant_types", 8, 64, &grants, e);
	if (rc != 0)
		goto out;
	if (grants == NULL && (grants = json_pack("[s]", "authorization_code")) == NULL)
		goto nomem;
	rc = check_grant_types(grants, itype, e);
	if (rc != 0)
		goto out;

	rc = get_string_array(in, "scopes", REG_SCOPES_MAX, REG_SCOPE_NAME_MAX, &scopes, e);
	if (rc != 0)
		goto out;
	/* Ansattporten has no userinfo, so profile (its scope) is no default there. */
	if (scopes == NULL && (scopes = ap ? json_pack("[s]", "openid")
					   : json_pack("[ss]", "openid", "profile")) == NULL)
		goto nomem;
	rc = check_scopes(app, who, scopes, itype, owner_of(in, prev), prev, e);
	if (rc != 0)
		goto out;

	/* Spec §4: redirect and post-logout URIs are required on login clients. */
	rc = get_string_array(in, "redirect_uris", REG_URIS_MAX, REG_URI_MAX, &redirects, e);
	if (rc == 0 && redirects == NULL)
		rc = BAD(e, "redirect_uris is required");
	if (rc == 0)
		rc = check_uris(redirects, "redirect_uris", apptype, app->test_env, e);
	if (rc == 0)
		rc = get_string_array(in, "post_logout_redirect_uris", REG_URIS_MAX, REG_URI_MAX,
				      &logouts, e);
	if (rc == 0 && logouts == NULL)
		rc = BAD(e, "post_logout_redirect_uris is required");
	if (rc == 0)
		rc = check_uris(logouts, "post_logout_redirect_uris", apptype, app->test_env, e);
	if (rc == 0)
		rc = reg_client_get_text(in, "frontchannel_logout_uri", REG_URI_MAX, false, &fcl,
					 e);
	if (rc == 0 && fcl != NULL)
		rc = check_logout_uri("frontchannel_logout_uri", fcl, redirects, app->test_env,
				      &(struct reg_uri){ 0 }, e);
	if (rc == 0)
		rc = reg_client_get_text(in, "backchannel_logout_uri", REG_URI_MAX, false, &bcl, e);
	if (rc == 0 && bcl != NULL)
		rc = check_backchannel(bcl, redirects, app->test_env,
				       app->cfg->backchannel_allow_private, e);
	if (rc == 0)
		rc = get_bool(in, "frontchannel_logout_session_required", &fcl_sid, e);
	if (rc == 0)
		rc = get_bool(in, "sso_disabled", &sso_off, e);
	if (rc != 0)
		goto out;
	/* spec/selfservice-api.md §4: forced true for Ansattporten (no SSO between its services). */
	if (ap)
		sso_off = true;

	rc = get_enum(in, "code_challenge_method", pkce_methods, "S256", &pkce, e);
	if (rc != 0)
		goto out;
	/* spec/selfservice-api.md §4: no downgrade for Ansattporten clients. */
	if (strcmp(pkce, "none") == 0 && ap) {
		rc = BAD(e, "ansattporten clients must use PKCE: code_challenge_method must be S256");
		goto out;
	}
	/* idporten-oidc §3: PKCE is mandatory for browser and native clients. */
	if (strcmp(pkce, "none") == 0 && strcmp(apptype, "web") != 0) {
		rc = BAD(e, "%s clients must use PKCE: code_challenge_method must be S256",
			 apptype);
		goto out;
	}

	rc = get_lifetime(in, "access_token_lifetime", DEFAULT_ACCESS_TOKEN_LIFETIME,
			  REG_AT_LIFETIME_MAX, &at, e);
	if (rc == 0)
		rc = get_lifetime(in, "refresh_token_lifetime", DEFAULT_REFRESH_TOKEN_LIFETIME,
				  REG_LIFETIME_MAX, &rt, e);
	if (rc == 0)
		rc = get_lifetime(in, "authorization_lifetime", DEFAULT_AUTHORIZATION_LIFETIME,
				  REG_LIFETIME_MAX, &az, e);
	if (rc != 0)
		goto out;
	/* Spec §6.1 (design): access < refresh <= authorization when refreshing. */
	if (reg_json_array_has(grants, "refresh_token")) {
		if (at >= rt) {
			rc = BAD(e, "access_token_lifetime (%lld) must be shorter than "
				    "refresh_token_lifetime (%lld)", at, rt);
			goto out;
		}
		if (rt > az) {
			rc = BAD(e, "refresh_token_lifetime (%lld) must not exceed "
				    "authorization_lifetime (%lld)", rt, az);
			goto out;
		}
	}

	/* Spec §4 (design): every client rotates refresh tokens; REUSE is refused. */
	rc = reg_client_get_text(in, "refresh_token_usage", 16, false, &usage, e);
	if (rc == 0 && usage != NULL && strcmp(usage, "ONETIME") != 0)
		rc = BAD(e, "refresh_token_usage must be ONETIME");
	if (rc == 0)
		rc = get_orgno(in, "client_orgno", prev, doc, e);
	if (rc == 0)
		rc = get_orgno(in, "supplier_orgno", prev, doc, e);
	if (rc == 0)
		rc = get_jwks(app, in, prev, doc, time_now(), e);
	if (rc != 0)
		goto out;

	ok &= set_basics(doc, name, desc, uri, apptype, method, grants, scopes);
	ok &= json_object_set(doc, "redirect_uris", redirects) == 0;
	ok &= json_object_set(doc, "post_logout_redirect_uris", logouts) == 0;
	ok &= set_str(doc, "frontchannel_logout_uri", fcl);
	ok &= json_object_set_new(doc, "frontchannel_logout_session_required",
				  json_boolean(fcl_sid)) == 0;
	ok &= set_str(doc, "backchannel_logout_uri", bcl);
	ok &= json_object_set_new(doc, "backchannel_logout_session_required",
				  json_boolean(bcl != NULL)) == 0;
	ok &= json_object_set_new(doc, "sso_disabled", json_boolean(sso_off)) == 0;
	ok &= set_str(doc, "code_challenge_method", pkce);
	ok &= json_object_set_new(doc, "authorization_lifetime", json_integer(az)) == 0;
	ok &= json_object_set_new(doc, "access_token_lifetime", json_integer(at)) == 0;
	ok &= json_object_set_new(doc, "refresh_token_lifetime", json_integer(rt)) == 0;
	ok &= set_str(doc, "refresh_token_usage", "ONETIME");
	if (!ok)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
out:
	json_decref(grants);
	json_decref(scopes);
	json_decref(redirects);
	json_decref(logouts);
	return rc;
}
