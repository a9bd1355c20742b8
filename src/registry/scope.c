/*
 * Scopes and their runtime attributes (spec/idporten-oidc.md §13,
 * spec/selfservice-api.md §9).  openid and profile are reserved and
 * Digdir's idporten:token.introspection is granted by the operator only;
 * these three exist without being stored and cannot be overwritten.
 *
 * Maskinporten attributes (spec/maskinporten.md §9): delegation_source
 * (delegation allowed, §8.3).  A scope has no audience: a token's aud
 * comes from the grant's resource alone (§7, §8.1).  The access list and delegations live in the scope's doc too and are kept
 * by every update (scope_access.c).
 */
#include <jansson.h>
#include <pthread.h>
#include <string.h>

#include "core/natid.h"
#include "core/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

#define BAD(e, ...) ERR((e), ERR_INVAL, 400, REG_INVALID_SCOPE, __VA_ARGS__)
#define SCOPE_DESCRIPTION_MAX 1000
#define SCOPE_LONG_DESCRIPTION_MAX 10000
#define SCOPE_AUD_MAX 20

static const char *const scope_types[] = { "idporten", "api_klient", "ansattporten",
					   "maskinporten", "krr", NULL };

/* Server-set fields: ignored on input so a read scope can be sent back. */
static const char *const scope_server_fields[] = { "created", "last_updated", "builtin",
						    "access", "delegations", "rev", NULL };

#define SCOPE_URI_MAX 500

static const char *const scope_bools[] = { "active", "accessible_for_all",
					   "requires_user_consent",
					   "requires_user_authentication",
					   "requires_pseudonymous_tokens", NULL };

static bool
in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

bool
reg_scope_name_valid(const char *name)
{
	const char *colon;
	size_t n;

	if (name == NULL)
		return false;
	n = strnlen(name, REG_SCOPE_NAME_MAX + 1);
	if (n == 0 || n > REG_SCOPE_NAME_MAX)
		return false;
	colon = memchr(name, ':', n);
	if (colon == NULL || colon == name || (size_t)(colon - name) > REG_SCOPE_PREFIX_MAX ||
	    colon == name + n - 1)
		return false;
	/*
	 * The prefix is an organisation's; the subscope may hold '/' and ':'
	 * (krr:global/kontaktinformasjon.read, idporten:dcr/onbehalfof:write).
	 */
	return str_only((struct str){ name, (size_t)(colon - name) },
			"abcdefghijklmnopqrstuvwxyz0123456789._-") &&
	       str_only((struct str){ colon + 1, n - (size_t)(colon - name) - 1 },
			"abcdefghijklmnopqrstuvwxyz0123456789._/:-");
}

/* The scopes that exist without being stored. */
static json_t *
scope_builtin_make(const char *name)
{
	if (strcmp(name, "openid") == 0 || strcmp(name, "profile") == 0)
		return json_pack("{s:s, s:s, s:b, s:[sss], s:b, s:b, s:b, s:b, s:s, s:i, s:i, "
				 "s:[], s:s, s:b}",
				 "name", name, "description",
				 strcmp(name, "openid") == 0 ? "OpenID Connect login"
							     : "Access to /userinfo",
				 "active", 1, "allowed_integration_types", "idporten",
				 "api_klient", "ansattporten", "accessible_for_all", 1,
				 "requires_user_consent", 0, "requires_user_authentication", 0,
				 "requires_pseudonymous_tokens", 0,
				 "token_type", "SELF_CONTAINED", "at_max_age", 0,
				 "authorization_max_age", 0, "enforced_aud_for_introspection",
				 "owner_orgno", REG_ORG_DIGDIR, "builtin", 1);
	if (strcmp(name, "idporten:token.introspection") == 0)
		return json_pack("{s:s, s:s, s:s, s:s, s:b, s:[ss], s:b, s:b, s:b, s:b, s:s, s:i, "
				 "s:i, s:[], s:s, s:b}",
				 "name", name, "prefix", "idporten", "subscope",
				 "token.introspection", "description",
				 "Introspect ID-porten access tokens (granted by the operator)",
				 "active", 1, "allowed_integration_types", "api_klient",
				 "maskinporten", "accessible_for_all", 0,
				 "requires_user_consent", 0, "requires_user_authentication", 0,
				 "requires_pseudonymous_tokens", 0,
				 "token_type", "SELF_CONTAINED", "at_max_age", 0,
				 "authorization_max_age", 0, "enforced_aud_for_introspection",
				 "owner_orgno", REG_ORG_DIGDIR, "builtin", 1);
	return NULL;
}

/*
 * Built once: a login reads openid and profile several times, and packing
 * them cost more than sharing.  reg_scope_get shares them as it shares
 * stored scopes (read-only); the scope list gets its own copies.
 */
static const char *const builtin_names[] = { "openid", "profile", "idporten:token.introspection" };
#define N_BUILTIN (sizeof(builtin_names) / sizeof(builtin_names[0]))
static json_t *builtin_docs[N_BUILTIN];
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void
builtin_init(void)
{
	for (size_t i = 0; i < N_BUILTIN; i++)
		builtin_docs[i] = scope_builtin_make(builtin_names[i]);
}

/* Index of a built-in scope in builtin_names, N_BUILTIN for any other. */
static size_t
builtin_index(const char *name)
{
	size_t i;

	for (i = 0; i < N_BUILTIN; i++)
		if (strcmp(name, builtin_names[i]) == 0)
			break;
	return i;
}

/* A built-in scope: shared (read-only) when share, else the caller's own copy. */
static json_t *
scope_builtin(const char *name, bool share)
{
	size_t i = builtin_index(name);

	if (i == N_BUILTIN)
		return NULL;
	pthread_once(&builtin_once, builtin_init);
	if (builtin_docs[i] == NULL)
		return scope_builtin_make(name);
#ifndef NDEBUG
	{
		json_t *pristine = scope_builtin_make(name);

		reg_shared_check(builtin_docs[i], pristine, name);
		json_decref(pristine);
	}
#endif
	return share ? json_incref(builtin_docs[i]) : json_deep_copy(builtin_docs[i]);
}

static bool
scope_is_builtin(const char *name)
{
	return builtin_index(name) < N_BUILTIN;
}

int
reg_scope_get(struct porten *app, const char *name, json_t **doc, struct err *e)
{
	int rc;

	*doc = NULL;
	if (name == NULL)
		return BAD(e, "no scope name");
	if (scope_is_builtin(name)) {
		*doc = scope_builtin(name, true);
		return *doc ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	if (!reg_scope_name_valid(name))
		return BAD(e, "malformed scope name %.100s", name);
	rc = reg_cache_get(app, 's', name, doc, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 404, REG_INVALID_SCOPE, "no such scope: %s", name);
	return rc;
}

static int
scope_text(const json_t *in, const char *field, size_t max, json_t *doc, struct err *e)
{
	json_t *v = json_object_get(in, field);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (v == NULL || json_is_null(v))
		return 0;
	if (s == NULL)
		return BAD(e, "%s must be a string", field);
	if (n > max)
		return BAD(e, "%s is longer than %zu bytes", field, max);
	if (strlen(s) != n || !str_is_clean_utf8((struct str){ s, n }))
		return BAD(e, "%s contains control characters or invalid UTF-8", field);
	if (json_object_set_new(doc, field, json_string(s)) != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	return 0;
}

/* A string array with distinct entries each accepted by ok(); default []. */
static int
scope_list_field(const json_t *in, const char *field, size_t max, bool (*ok)(const char *),
		 json_t *doc, struct err *e)
{
	json_t *v = json_object_get(in, field), *item, *copy;
	size_t i;

	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v) || json_array_size(v) > max)
			return BAD(e, "%s must be an array of at most %zu strings", field, max);
		json_array_foreach(v, i, item) {
			const char *s = json_string_value(item);

			if (s == NULL || !ok(s))
				return BAD(e, "%s[%zu] is not acceptable", field, i);
			for (size_t j = 0; j < i; j++)
				if (strcmp(json_string_value(json_array_get(v, j)), s) == 0)
					return BAD(e, "%s lists %s twice", field, s);
		}
		copy = json_deep_copy(v);
	} else {
		copy = json_array();
	}
	if (copy == NULL || json_object_set_new(doc, field, copy) != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	return 0;
}

static bool
integration_type_ok(const char *s)
{
	return in_list(scope_types, s);
}

static int
scope_age(const json_t *in, const char *field, json_t *doc, struct err *e)
{
	json_t *v = json_object_get(in, field);
	long long n = 0;

	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > REG_LIFETIME_MAX)
			return BAD(e, "%s must be 0 (unset) or seconds up to %lld", field,
				   REG_LIFETIME_MAX);
		n = json_integer_value(v);
	}
	if (json_object_set_new(doc, field, json_integer(n)) != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	return 0;
}

/*
 * selfservice-api.md §9 (design): translations maps nn, en and se to
 * {description, long_description}; bokmål stays in the fields themselves.
 */
static int
scope_translations(const json_t *in, json_t *doc, struct err *e)
{
	static const char *const langs[] = { "nn", "en", "se", NULL };
	json_t *v = json_object_get(in, "translations"), *out, *t;
	const char *lang;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return BAD(e, "translations must map nn, en or se to {description, long_description}");
	out = json_object();
	if (out == NULL || json_object_set_new(doc, "translations", out) != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	json_object_foreach(v, lang, t) {
		json_t *tr;
		const char *k;
		json_t *x;
		int rc;

		if (!in_list(langs, lang) || !json_is_object(t))
			return BAD(e, "translations: %.8s is not nn, en or se with an object", lang);
		json_object_foreach(t, k, x) {
			if (strcmp(k, "description") != 0 && strcmp(k, "long_description") != 0)
				return BAD(e, "translations.%s: unknown field %.64s", lang, k);
		}
		tr = json_object();
		if (tr == NULL || json_object_set_new(out, lang, tr) != 0)
			return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		rc = scope_text(t, "description", SCOPE_DESCRIPTION_MAX, tr, e);
		if (rc == 0)
			rc = scope_text(t, "long_description", SCOPE_LONG_DESCRIPTION_MAX, tr, e);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Every key of in is a field we know or a server-set one. */
static int
scope_check_fields(const json_t *in, struct err *e)
{
	static const char *const known[] = {
		"name", "prefix", "subscope", "description", "long_description", "visibility",
		"allowed_integration_types", "token_type", "at_max_age", "authorization_max_age",
		"enforced_aud_for_introspection", "owner_orgno", "delegation_source",
		"allowable_integration_types", "translations", NULL,
	};
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)in, key, v) {
		if (!in_list(known, key) && !in_list(scope_bools, key) &&
		    !in_list(scope_server_fields, key))
			return BAD(e, "unknown field %.64s", key);
	}
	return 0;
}

/* name, or prefix + subscope; both given must agree. */
static int
scope_name(const json_t *in, char *name, size_t size, struct err *e)
{
	const char *n = json_string_value(json_object_get(in, "name"));
	const char *p = json_string_value(json_object_get(in, "prefix"));
	const char *s = json_string_value(json_object_get(in, "subscope"));
	int len;

	if ((json_object_get(in, "name") && !n) || (json_object_get(in, "prefix") && !p) ||
	    (json_object_get(in, "subscope") && !s))
		return BAD(e, "name, prefix and subscope must be strings");
	if ((p == NULL) != (s == NULL))
		return BAD(e, "prefix and subscope go together");
	if (p != NULL) {
		len = snprintf(name, size, "%s:%s", p, s);
		if (len < 0 || (size_t)len >= size || strchr(p, ':') != NULL)
			return BAD(e, "malformed prefix or subscope");
		if (n != NULL && strcmp(n, name) != 0)
			return BAD(e, "name does not match prefix:subscope");
	} else if (n != NULL) {
		if (strnlen(n, size) >= size)
			return BAD(e, "scope name longer than %d bytes", REG_SCOPE_NAME_MAX);
		memcpy(name, n, strlen(n) + 1);
	} else {
		return BAD(e, "name (prefix:subscope) is required");
	}
	if (scope_is_builtin(name))
		return BAD(e, "%s is a reserved scope and cannot be changed", name);
	if (!reg_scope_name_valid(name))
		return BAD(e, "scope name must be prefix:subscope of lower-case letters, digits "
			      "and ._-/ (at most %d bytes)", REG_SCOPE_NAME_MAX);
	return 0;
}

/* An absolute http(s) URI without fragment, bounded (delegation sources). */
static bool
scope_uri_ok(const char *s)
{
	size_t n = strnlen(s, SCOPE_URI_MAX + 1);

	if (n == 0 || n > SCOPE_URI_MAX || strpbrk(s, "# \t\r\n\\\"<>") != NULL)
		return false;
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return false;
	return str_is_clean_utf8((struct str){ s, n }) && strstr(s, "://")[3] != '\0';
}

/* Spec §9: the input may spell the list allowable_integration_types. */
static int
scope_types_alias(const json_t *in, json_t **view, struct err *e)
{
	json_t *alt = json_object_get(in, "allowable_integration_types");

	*view = NULL;
	if (alt == NULL)
		return 0;
	if (json_object_get(in, "allowed_integration_types") != NULL &&
	    !json_equal(alt, json_object_get(in, "allowed_integration_types")))
		return BAD(e, "allowed_integration_types and allowable_integration_types differ");
	*view = json_deep_copy(in);
	if (*view == NULL || json_object_set(*view, "allowed_integration_types", alt) != 0 ||
	    json_object_del(*view, "allowable_integration_types") != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	return 0;
}

/*
 * A prefix belongs to one organisation (spec §9): every scope under it
 * has the same owner.  A scope without an owner says nothing.
 */
static int
scope_prefix_owner(struct porten *app, const char *name, const char *owner, struct err *e)
{
	json_t *docs = NULL, *d;
	size_t plen = (size_t)(strchr(name, ':') - name), i;
	int rc;

	if (owner == NULL)
		return 0;
	rc = store_call(app->store, registry, scope_list, &docs, e);
	if (rc != 0)
		return rc;
	json_array_foreach(docs, i, d) {
		const char *n = json_string_value(json_object_get(d, "name"));
		const char *o = json_string_value(json_object_get(d, "owner_orgno"));

		if (n == NULL || o == NULL || strcmp(n, name) == 0 ||
		    strncmp(n, name, plen + 1) != 0)
			continue;
		if (strcmp(o, owner) != 0) {
			rc = BAD(e, "prefix %.*s belongs to organisation %s, not %s", (int)plen,
				 name, o, owner);
			break;
		}
	}
	json_decref(docs);
	return rc;
}

struct scope_merge {
	const json_t *doc;
	const char *owner; /* the organisation that changes its own scope, or NULL */
};

/* The stored doc: the new attributes, what the server keeps from before. */
static int
scope_put_merge(const json_t *prev, void *arg, json_t **next, struct err *e)
{
	static const char *const kept[] = { "access", "delegations", NULL };
	const struct scope_merge *m = arg;
	const json_t *doc = m->doc, *v;
	char ts[32];

	/* Checked on the doc this write replaces: the scope is still the owner's. */
	if (!reg_scope_owned_by(prev, m->owner))
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such scope");
	*next = json_deep_copy(doc);
	if (*next == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	/* Spec §9: created survives updates; the name (prefix, subscope) is the key. */
	reg_iso_time(time_now(), ts);
	v = json_object_get(prev, "created");
	if (json_object_set_new(*next, "created", json_is_string(v) ? json_copy((json_t *)v)
								    : json_string(ts)) != 0 ||
	    json_object_set_new(*next, "last_updated", json_string(ts)) != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	for (size_t i = 0; kept[i] != NULL; i++)
		if ((v = json_object_get(prev, kept[i])) != NULL &&
		    json_object_set(*next, kept[i], (json_t *)v) != 0)
			return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	/* An organisation leaves active to DELETE and the operator. */
	if (m->owner != NULL &&
	    json_object_set_new(*next, "active",
				json_boolean(json_is_true(json_object_get(prev, "active")))) != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	return 0;
}

int
reg_scope_put(struct porten *app, const json_t *in, json_t **out, struct err *e)
{
	return reg_scope_put_own(app, in, NULL, out, e);
}

int
reg_scope_put_own(struct porten *app, const json_t *in_raw, const char *owner, json_t **out,
		  struct err *e)
{
	char name[REG_SCOPE_NAME_MAX + 1];
	json_t *doc = NULL, *view = NULL, *v;
	const json_t *in = in_raw;
	const char *colon, *s;
	int rc;

	*out = NULL;
	if (!json_is_object(in))
		return BAD(e, "the scope must be a JSON object");
	rc = scope_check_fields(in, e);
	if (rc == 0)
		rc = scope_types_alias(in, &view, e);
	if (rc != 0)
		goto out;
	if (view != NULL)
		in = view;
	rc = scope_name(in, name, sizeof(name), e);
	if (rc != 0)
		goto out;
	colon = strchr(name, ':');
	doc = json_pack("{s:s, s:s%, s:s}", "name", name, "prefix", name,
			(size_t)(colon - name), "subscope", colon + 1);
	if (doc == NULL)
		goto nomem;

	rc = scope_translations(in, doc, e);
	if (rc == 0)
		rc = scope_text(in, "description", SCOPE_DESCRIPTION_MAX, doc, e);
	if (rc == 0)
		rc = scope_text(in, "long_description", SCOPE_LONG_DESCRIPTION_MAX, doc, e);
	if (rc != 0)
		goto out;
	for (size_t i = 0; scope_bools[i] != NULL; i++) {
		/* active defaults to true, everything else to false. */
		bool b = strcmp(scope_bools[i], "active") == 0;

		v = json_object_get(in, scope_bools[i]);
		if (v != NULL && !json_is_null(v)) {
			if (!json_is_boolean(v)) {
				rc = BAD(e, "%s must be true or false", scope_bools[i]);
				goto out;
			}
			b = json_is_true(v);
		}
		if (json_object_set_new(doc, scope_bools[i], json_boolean(b)) != 0)
			goto nomem;
	}

	s = json_string_value(json_object_get(in, "token_type"));
	if (json_object_get(in, "token_type") != NULL &&
	    (s == NULL || (strcmp(s, "SELF_CONTAINED") != 0 && strcmp(s, "OPAQUE") != 0))) {
		rc = BAD(e, "token_type must be SELF_CONTAINED or OPAQUE");
		goto out;
	}
	if (json_object_set_new(doc, "token_type", json_string(s ? s : "SELF_CONTAINED")) != 0)
		goto nomem;
	/* spec/maskinporten.md §9: INTERNAL is Digdir's own, not listed to others. */
	s = json_string_value(json_object_get(in, "visibility"));
	if (json_object_get(in, "visibility") != NULL &&
	    (s == NULL || (strcmp(s, "PUBLIC") != 0 && strcmp(s, "PRIVATE") != 0 &&
			   strcmp(s, "INTERNAL") != 0))) {
		rc = BAD(e, "visibility must be PUBLIC, PRIVATE or INTERNAL");
		goto out;
	}
	if (json_object_set_new(doc, "visibility", json_string(s ? s : "PUBLIC")) != 0)
		goto nomem;

	rc = scope_list_field(in, "allowed_integration_types", 5, integration_type_ok, doc, e);
	if (rc == 0)
		rc = scope_list_field(in, "enforced_aud_for_introspection", SCOPE_AUD_MAX,
				      reg_client_id_valid, doc, e);
	if (rc == 0)
		rc = scope_age(in, "at_max_age", doc, e);
	if (rc == 0)
		rc = scope_age(in, "authorization_max_age", doc, e);
	if (rc != 0)
		goto out;

	v = json_object_get(in, "owner_orgno");
	s = json_string_value(v);
	if (v != NULL && !json_is_null(v)) {
		if (s == NULL || !orgno_valid((struct str){ s, json_string_length(v) })) {
			rc = BAD(e, "owner_orgno must be a valid 9-digit organisation number");
			goto out;
		}
		if (json_object_set_new(doc, "owner_orgno", json_string(s)) != 0)
			goto nomem;
	}

	/* Maskinporten: delegation allowed (spec §8.3). */
	v = json_object_get(in, "delegation_source");
	s = json_string_value(v);
	if (v != NULL && !json_is_null(v) && !(s != NULL && s[0] == '\0')) {
		if (s == NULL || !scope_uri_ok(s)) {
			rc = BAD(e, "delegation_source must be an http(s) URI (the delegation "
				    "register's issuer)");
			goto out;
		}
		if (json_object_set_new(doc, "delegation_source", json_string(s)) != 0)
			goto nomem;
	}
	/* spec/maskinporten.md §9, selfservice-api.md: description is required (consent shows it). */
	s = json_string_value(json_object_get(doc, "description"));
	if (s == NULL || s[strspn(s, " \t")] == '\0') {
		rc = BAD(e, "description is required");
		goto out;
	}
	rc = scope_prefix_owner(app, name, json_string_value(json_object_get(doc, "owner_orgno")),
				e);
	if (rc != 0)
		goto out;
	rc = reg_scope_edit(app, name, scope_put_merge, &(struct scope_merge){ doc, owner }, out, e);
	goto out;
nomem:
	rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
out:
	json_decref(doc);
	json_decref(view);
	return rc;
}

int
reg_scope_list(struct porten *app, json_t **list, struct err *e)
{
	json_t *out = json_array(), *docs = NULL, *d;
	size_t k;
	int rc;

	*list = NULL;
	if (out == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	for (size_t i = 0; i < N_BUILTIN; i++)
		if (json_array_append_new(out, scope_builtin(builtin_names[i], false)) != 0)
			goto nomem;
	rc = store_call(app->store, registry, scope_list, &docs, e);
	if (rc != 0) {
		json_decref(out);
		return rc;
	}
	json_array_foreach(docs, k, d) {
		/* prefix assignments share the table (scope_owner.c) */
		if (!reg_prefix_row(d) && json_array_append(out, d) != 0)
			goto nomem;
	}
	json_decref(docs);
	*list = out;
	return 0;
nomem:
	json_decref(docs);
	json_decref(out);
	return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}
