/*
 * The registry of authorization_details types (RFC 9396): Ansattporten's
 * Altinn types (spec/ansattporten-eidas-testid.md §1.3) and ID-porten's
 * idporten:fullmakt (spec/idporten-oidc.md §21).  A type names its issuer,
 * the members a request object may carry and the check of one object;
 * repr_rar_check adds the rules across objects.  Every refusal is
 * invalid_authorization_details.
 */
#include "repr/repr_int.h"

#include <string.h>

#include "oauth/oauth.h"

#define RAR_ERR(e, ...) ERR(e, ERR_INVAL, 400, OAUTH_INVALID_AUTHORIZATION_DETAILS, __VA_ARGS__)
#define REPR_MAX_ROLES 20
#define REPR_MAX_TEXT 200

static const char *const altinn_fields[] = { "resource", "organizationform",
					     "allow_multiple_organizations",
					     "allow_deleted_organizations",
					     "representation_is_required", NULL };
static const char *const fullmakt_fields[] = { "permission_roles", NULL };

/* s is made of [a-z0-9_-] (and, with colon, ':') and 1..REPR_MAX_TEXT long. */
static bool
repr_token_ok(const char *s, bool upper, bool colon)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > REPR_MAX_TEXT)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      (upper && *s >= 'A' && *s <= 'Z') || (colon && *s == ':')))
			return false;
	return true;
}

static bool
repr_digits(const char *s, size_t len)
{
	if (len == 0 || len > 12)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool
repr_bool(const json_t *v)
{
	return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

/* A boolean member: absent, true, false, "true" or "false" (spec §1.3, design). */
static int
repr_bool_member(const json_t *obj, const char *name, struct err *e)
{
	const json_t *v = json_object_get(obj, name);
	const char *s = json_string_value(v);

	if (v == NULL || json_is_boolean(v) || (s != NULL && (strcmp(s, "true") == 0 ||
							    strcmp(s, "false") == 0)))
		return 0;
	return RAR_ERR(e, "%s must be true or false", name);
}

/* The members an Altinn object shares, whichever of the two types. */
static int
altinn_common(const json_t *obj, struct err *e)
{
	const json_t *form = json_object_get(obj, "organizationform");
	int rc;

	if (!json_is_string(json_object_get(obj, "resource")))
		return RAR_ERR(e, "resource is required");
	if (form != NULL && (!json_is_string(form) ||
			     (strcmp(json_string_value(form), "enterprise") != 0 &&
			      strcmp(json_string_value(form), "business") != 0)))
		return RAR_ERR(e, "organizationform must be enterprise or business");
	if ((rc = repr_bool_member(obj, "allow_multiple_organizations", e)) != 0 ||
	    (rc = repr_bool_member(obj, "allow_deleted_organizations", e)) != 0 ||
	    (rc = repr_bool_member(obj, "representation_is_required", e)) != 0)
		return rc;
	return 0;
}

/* An Altinn 2 service: urn:altinn:resource:{servicecode}:{serviceedition}. */
static int
check_service(json_t *obj, struct err *e)
{
	const char *res, *id, *colon;
	int rc = altinn_common(obj, e);

	if (rc != 0)
		return rc;
	res = json_string_value(json_object_get(obj, "resource"));
	if (strncmp(res, REPR_RESOURCE_PREFIX, strlen(REPR_RESOURCE_PREFIX)) != 0)
		return RAR_ERR(e, "resource must be urn:altinn:resource:{code}:{edition}");
	id = res + strlen(REPR_RESOURCE_PREFIX);
	colon = strchr(id, ':');
	if (colon == NULL || !repr_digits(id, (size_t)(colon - id)) ||
	    !repr_digits(colon + 1, strlen(colon + 1)))
		return RAR_ERR(e, "resource must be urn:altinn:resource:{code}:{edition}");
	return 0;
}

/* An Altinn 3 resource: urn:altinn:resource:{resource_id}. */
static int
check_resource(json_t *obj, struct err *e)
{
	const char *res;
	int rc = altinn_common(obj, e);

	if (rc != 0)
		return rc;
	res = json_string_value(json_object_get(obj, "resource"));
	if (strncmp(res, REPR_RESOURCE_PREFIX, strlen(REPR_RESOURCE_PREFIX)) != 0 ||
	    !repr_token_ok(res + strlen(REPR_RESOURCE_PREFIX), false, false))
		return RAR_ERR(e, "resource must be urn:altinn:resource:{resource_id}");
	return 0;
}

/* permission_roles: a non-empty list of role codes; one string counts as a list (§21). */
static int
check_fullmakt(json_t *obj, struct err *e)
{
	json_t *roles = json_object_get(obj, "permission_roles"), *v;
	size_t i;

	if (json_is_string(roles)) {
		json_t *one = json_pack("[O]", roles);

		if (one == NULL || json_object_set_new(obj, "permission_roles", one) != 0)
			return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
		roles = one;
	}
	if (!json_is_array(roles) || json_array_size(roles) == 0 ||
	    json_array_size(roles) > REPR_MAX_ROLES)
		return RAR_ERR(e, "permission_roles must be a non-empty list of role codes");
	json_array_foreach(roles, i, v) {
		if (!repr_token_ok(json_string_value(v), false, false))
			return RAR_ERR(e, "permission_roles[%zu] is not a role code", i);
	}
	return 0;
}

static const struct repr_type repr_types[] = {
	{ REPR_T_SERVICE, ISSUER_ANSATTPORTEN, altinn_fields, check_service },
	{ REPR_T_RESOURCE, ISSUER_ANSATTPORTEN, altinn_fields, check_resource },
	{ REPR_T_FULLMAKT, ISSUER_IDPORTEN, fullmakt_fields, check_fullmakt },
};

const struct repr_type *
repr_type_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(repr_types) / sizeof(repr_types[0]); i++)
		if (strcmp(repr_types[i].name, name) == 0)
			return &repr_types[i];
	return NULL;
}

static bool
repr_field_known(const struct repr_type *t, const char *k)
{
	if (strcmp(k, "type") == 0)
		return true;
	for (size_t i = 0; t->fields[i] != NULL; i++)
		if (strcmp(t->fields[i], k) == 0)
			return true;
	return false;
}

/* One object: a type of this issuer, known members only, the type's own check. */
static int
repr_object_check(enum issuer_kind issuer, json_t *obj, size_t i, const struct repr_type **out,
		  struct err *e)
{
	const char *name = json_string_value(json_object_get(obj, "type")), *k;
	const struct repr_type *t = repr_type_find(name);
	json_t *v;

	if (t == NULL || t->issuer != issuer)
		return RAR_ERR(e, "authorization_details type %.100s is not supported here",
			       name ? name : "(none)");
	json_object_foreach(obj, k, v) {
		if (!repr_field_known(t, k))
			return RAR_ERR(e, "authorization_details[%zu]: unknown member %.64s", i, k);
	}
	*out = t;
	return t->check(obj, e);
}

/* A member that must be the same wherever it is sent (spec §1.3). */
static int
repr_same(const json_t *details, const char *name, struct err *e)
{
	const json_t *first = NULL, *o;
	size_t i;

	json_array_foreach(details, i, o) {
		const json_t *v = json_object_get(o, name);

		if (v == NULL)
			continue;
		if (first == NULL)
			first = v;
		else if (json_is_string(first) && json_is_string(v)
				 ? strcmp(json_string_value(first), json_string_value(v)) != 0
				 : repr_bool(first) != repr_bool(v))
			return RAR_ERR(e, "%s differs between the objects", name);
	}
	return 0;
}

int
repr_rar_check(enum issuer_kind issuer, json_t *details, struct err *e)
{
	const struct repr_type *first = NULL, *t = NULL;
	json_t *o;
	size_t i;
	int rc;

	if (!json_is_array(details) || json_array_size(details) == 0)
		return RAR_ERR(e, "authorization_details must be a non-empty array");
	if (json_array_size(details) > REPR_MAX_RESOURCES)
		return RAR_ERR(e, "at most %d authorization_details objects", REPR_MAX_RESOURCES);
	json_array_foreach(details, i, o) {
		if (!json_is_object(o))
			return RAR_ERR(e, "authorization_details[%zu] is not an object", i);
		rc = repr_object_check(issuer, o, i, &t, e);
		if (rc != 0)
			return rc;
		if (first == NULL)
			first = t;
		else if (t != first)
			return RAR_ERR(e, "one authorization_details type per request");
	}
	if (first == NULL) /* not reached: the array is non-empty and each object has a type */
		return RAR_ERR(e, "authorization_details must be a non-empty array");
	if (strcmp(first->name, REPR_T_FULLMAKT) == 0)
		return json_array_size(details) == 1
			       ? 0
			       : RAR_ERR(e, "exactly one idporten:fullmakt object");
	if ((rc = repr_same(details, "organizationform", e)) != 0 ||
	    (rc = repr_same(details, "allow_deleted_organizations", e)) != 0)
		return rc;
	return 0;
}

void
repr_ask_read(const json_t *details, struct repr_ask *ask)
{
	const json_t *o, *v;
	size_t i;

	memset(ask, 0, sizeof(*ask));
	if (details == NULL) {
		/* the pilot (spec §1.4): one organisation where the person is main administrator */
		ask->type = REPR_T_SJEF;
		ask->resource[ask->nresource++] = REPR_SJEF_RESOURCE;
		return;
	}
	json_array_foreach(details, i, o) {
		if (i == 0)
			ask->type = json_string_value(json_object_get(o, "type"));
		if (ask->nresource < REPR_MAX_RESOURCES)
			ask->resource[ask->nresource++] =
				json_string_value(json_object_get(o, "resource"));
		if ((v = json_object_get(o, "organizationform")) != NULL) {
			ask->form = json_string_value(v);
			ask->has_form = true;
		}
		if ((v = json_object_get(o, "allow_multiple_organizations")) != NULL) {
			ask->multiple = ask->multiple || repr_bool(v);
			ask->has_multiple = true;
		}
		if ((v = json_object_get(o, "allow_deleted_organizations")) != NULL) {
			ask->deleted = repr_bool(v);
			ask->has_deleted = true;
		}
		if ((v = json_object_get(o, "representation_is_required")) != NULL) {
			ask->required = ask->required || repr_bool(v);
			ask->has_required = true;
		}
	}
}
