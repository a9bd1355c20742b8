/*
 * Scopes as an organisation sees them through the self-service API
 * (spec/selfservice-api.md §9): prefixes the operator assigns, and the
 * scopes, access lists and deactivation of the caller's own prefixes.
 * The operator (reg_operator) passes every ownership check, so portenctl
 * and the API run the same functions.
 *
 * A prefix assignment is kept beside the scopes it governs, as the row
 * named "<prefix>:" of the scope table: no scope can have that name
 * (reg_scope_name_valid wants a subscope), reg_scope_get never finds it,
 * reg_scope_list leaves it out, and the rule that every scope under a
 * prefix has one owner (scope.c) sees it as the first such scope.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/natid.h"
#include "core/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

#define BAD(e, ...) ERR((e), ERR_INVAL, 400, REG_INVALID_SCOPE, __VA_ARGS__)

/* Spec §9 (design): the delegation registers Porten knows, by issuer. */
static const char *const delegation_sources[][2] = {
	{ "Altinn", "https://altinn.no/" },
	{ "Altinn TT02 (test)", "https://tt02.altinn.no/" },
};
#define N_SOURCES (sizeof(delegation_sources) / sizeof(delegation_sources[0]))

bool
reg_prefix_row(const json_t *doc)
{
	const char *k = json_string_value(json_object_get(doc, "kind"));

	return k != NULL && strcmp(k, "prefix") == 0;
}

static bool
prefix_valid(const char *p)
{
	size_t n;

	if (p == NULL)
		return false;
	n = strnlen(p, REG_SCOPE_PREFIX_MAX + 1);
	return n > 0 && n <= REG_SCOPE_PREFIX_MAX &&
	       str_only((struct str){ p, n }, "abcdefghijklmnopqrstuvwxyz0123456789._-");
}

/* The owner of a prefix (malloc'd), or NULL when the operator has assigned it to nobody. */
static int
prefix_owner(struct porten *app, const char *prefix, char **orgno, struct err *e)
{
	char key[REG_SCOPE_PREFIX_MAX + 2];
	json_t *doc = NULL;
	const char *o;
	int rc;

	*orgno = NULL;
	snprintf(key, sizeof(key), "%s:", prefix);
	rc = store_call(app->store, registry, scope_get, key, &doc, e);
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	o = json_string_value(json_object_get(doc, "owner_orgno"));
	if (o != NULL && (*orgno = strdup(o)) == NULL)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	json_decref(doc);
	return rc;
}

int
reg_prefix_assign(struct porten *app, const char *prefix, const char *orgno, json_t **record,
		  struct err *e)
{
	char key[REG_SCOPE_PREFIX_MAX + 2], ts[32];
	json_t *docs = NULL, *d, *doc = NULL;
	size_t i, n;
	int rc;

	if (record != NULL)
		*record = NULL;
	if (!prefix_valid(prefix))
		return BAD(e, "a prefix is 1-%d characters of [a-z0-9._-]", REG_SCOPE_PREFIX_MAX);
	if (orgno == NULL || !orgno_valid(str_c(orgno)))
		return BAD(e, "owner must be a valid 9-digit organisation number");
	/* The scopes already under the prefix must be the new owner's. */
	rc = store_call(app->store, registry, scope_list, &docs, e);
	if (rc != 0)
		return rc;
	n = strlen(prefix);
	json_array_foreach(docs, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		const char *o = json_string_value(json_object_get(d, "owner_orgno"));

		if (reg_prefix_row(d) || name == NULL || strncmp(name, prefix, n) != 0 ||
		    name[n] != ':' || o == NULL || strcmp(o, orgno) == 0)
			continue;
		rc = BAD(e, "scope %s under the prefix belongs to %s", name, o);
		break;
	}
	json_decref(docs);
	if (rc != 0)
		return rc;
	snprintf(key, sizeof(key), "%s:", prefix);
	reg_iso_time(time_now(), ts);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "prefix", "name", key, "prefix", prefix,
			"owner_orgno", orgno, "created", ts);
	if (doc == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	rc = store_call(app->store, registry, scope_put, key, doc, e);
	if (rc == 0)
		reg_audit(app, &reg_operator, "prefix", prefix, "assign", orgno, NULL, doc);
	if (rc == 0 && record != NULL)
		*record = json_pack("{s:s, s:s, s:s}", "prefix", prefix, "owner_orgno", orgno,
				    "created", ts);
	json_decref(doc);
	return rc;
}

int
reg_prefix_list(struct porten *app, json_t **list, struct err *e)
{
	json_t *docs = NULL, *d, *out;
	size_t i;
	int rc;

	*list = NULL;
	rc = store_call(app->store, registry, scope_list, &docs, e);
	if (rc != 0)
		return rc;
	out = json_array();
	json_array_foreach(docs, i, d) {
		if (out == NULL || !reg_prefix_row(d))
			continue;
		if (json_array_append_new(out, json_pack("{s:O?, s:O?}", "prefix",
							 json_object_get(d, "prefix"), "owner_orgno",
							 json_object_get(d, "owner_orgno"))) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	json_decref(docs);
	if (out == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	*list = out;
	return 0;
}

json_t *
reg_delegation_sources(void)
{
	json_t *out = json_array();

	for (size_t i = 0; out != NULL && i < N_SOURCES; i++)
		if (json_array_append_new(out, json_pack("{s:s, s:s}", "name",
							 delegation_sources[i][0], "issuer",
							 delegation_sources[i][1])) != 0) {
			json_decref(out);
			out = NULL;
		}
	return out;
}

static bool
source_known(const char *s)
{
	for (size_t i = 0; i < N_SOURCES; i++)
		if (strcmp(s, delegation_sources[i][1]) == 0)
			return true;
	return false;
}

bool
reg_scope_owned_by(const json_t *scope, const char *orgno)
{
	const char *o = json_string_value(json_object_get(scope, "owner_orgno"));

	return orgno == NULL || (o != NULL && strcmp(o, orgno) == 0);
}

/* The caller's own scope, stored (new reference, the caller's to change), active or not. */
static int
scope_own(struct porten *app, const struct reg_actor *who, const char *name, json_t **doc,
	  struct err *e)
{
	json_t *shared = NULL;
	int rc;

	*doc = NULL;
	rc = reg_scope_get(app, name, &shared, e);
	if (rc == ERR_INVAL)
		rc = ERR_NOTFOUND;
	if (rc == 0) {
		/* Built-in scopes are nobody's to change. */
		if (json_is_true(json_object_get(shared, "builtin")) ||
		    !reg_scope_owned_by(shared, who->orgno))
			rc = ERR_NOTFOUND;
		else if ((*doc = json_deep_copy(shared)) == NULL)
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	json_decref(shared);
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such scope");
	return rc;
}

/*
 * What an organisation may not set on its scope: the owner is itself,
 * active is left to DELETE (and the operator), delegation comes from a
 * register Porten knows, and INTERNAL is the operator's own (spec
 * maskinporten.md §9: "Digdir only").
 */
static int
org_scope_input(const struct porten *app, const struct reg_actor *who, const json_t *in,
		const json_t *prev, json_t **own, struct err *e)
{
	json_t *v = json_object_get(in, "owner_orgno");
	const char *s, *op = app->cfg->operator_orgno;

	*own = NULL;
	if (v != NULL && !json_is_null(v) &&
	    (!json_is_string(v) || strcmp(json_string_value(v), who->orgno) != 0))
		return BAD(e, "owner_orgno is the caller's organisation");
	v = json_object_get(in, "visibility");
	if (json_is_string(v) && strcmp(json_string_value(v), "INTERNAL") == 0 &&
	    (op == NULL || strcmp(who->orgno, op) != 0) &&
	    !json_equal(v, json_object_get(prev, "visibility")))
		return BAD(e, "visibility INTERNAL is for the operator's own scopes");
	s = json_string_value(json_object_get(in, "delegation_source"));
	if (s != NULL && s[0] != '\0' && !source_known(s))
		return BAD(e, "delegation_source must be one of /delegationsources");
	*own = json_deep_copy(in);
	if (*own == NULL ||
	    json_object_set_new(*own, "owner_orgno", json_string(who->orgno)) != 0 ||
	    json_object_set_new(*own, "active",
				prev == NULL ? json_true()
					     : json_boolean(json_is_true(
						       json_object_get(prev, "active")))) != 0) {
		json_decref(*own);
		*own = NULL;
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	return 0;
}

/* prefix of "prefix:subscope", or of the prefix field. */
static int
name_prefix(const json_t *in, char out[REG_SCOPE_PREFIX_MAX + 1], struct err *e)
{
	const char *n = json_string_value(json_object_get(in, "name"));
	const char *p = json_string_value(json_object_get(in, "prefix"));
	size_t len;

	if (p == NULL && n != NULL && strchr(n, ':') != NULL) {
		p = n;
		len = (size_t)(strchr(n, ':') - n);
	} else {
		len = p != NULL ? strlen(p) : 0;
	}
	if (p == NULL || len == 0 || len > REG_SCOPE_PREFIX_MAX)
		return BAD(e, "name (prefix:subscope) or prefix and subscope are required");
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

int
reg_scope_create_as(struct porten *app, const struct reg_actor *who, const json_t *in,
		    json_t **out, struct err *e)
{
	char prefix[REG_SCOPE_PREFIX_MAX + 1], name[REG_SCOPE_NAME_MAX + 1];
	json_t *own = NULL, *prev = NULL;
	char *owner = NULL;
	const char *n, *sub;
	int rc;

	*out = NULL;
	if (!json_is_object(in))
		return BAD(e, "the scope must be a JSON object");
	rc = name_prefix(in, prefix, e);
	if (rc != 0)
		return rc;
	/* Spec §9: a prefix the operator has not given the caller is a 403. */
	if (who->orgno != NULL) {
		rc = prefix_owner(app, prefix, &owner, e);
		if (rc == 0 && (owner == NULL || strcmp(owner, who->orgno) != 0))
			rc = ERR(e, ERR_DENIED, 403, "access_denied",
				 "prefix %s is not assigned to your organisation", prefix);
		free(owner);
		if (rc != 0)
			return rc;
	}
	n = json_string_value(json_object_get(in, "name"));
	sub = json_string_value(json_object_get(in, "subscope"));
	if (n == NULL && sub != NULL)
		snprintf(name, sizeof(name), "%s:%s", prefix, sub);
	else
		snprintf(name, sizeof(name), "%s", n != NULL ? n : "");
	/* Spec §9: creating a scope that exists, deactivated or not, is a conflict. */
	if (reg_scope_get(app, name, &prev, NULL) == 0) {
		json_decref(prev);
		return ERR(e, ERR_EXISTS, 409, REG_INVALID_SCOPE,
			   "scope %s exists (deactivated scopes are not revived)", name);
	}
	if (who->orgno != NULL) {
		rc = org_scope_input(app, who, in, NULL, &own, e);
		if (rc != 0)
			return rc;
		in = own;
	}
	rc = reg_scope_put(app, in, out, e);
	if (rc == 0)
		reg_audit(app, who, "scope", name, "create",
			  json_string_value(json_object_get(*out, "owner_orgno")), NULL, *out);
	json_decref(own);
	return rc;
}

int
reg_scope_update_as(struct porten *app, const struct reg_actor *who, const char *name,
		    const json_t *in, json_t **out, struct err *e)
{
	json_t *prev = NULL, *own = NULL, *v;
	int rc;

	*out = NULL;
	rc = scope_own(app, who, name, &prev, e);
	if (rc != 0)
		return rc;
	if (!json_is_object(in)) {
		rc = BAD(e, "the scope must be a JSON object");
		goto out;
	}
	/* Spec §9: the name is the key and never changes. */
	v = json_object_get(in, "name");
	if (v != NULL && (!json_is_string(v) || strcmp(json_string_value(v), name) != 0)) {
		rc = BAD(e, "the name of a scope cannot change");
		goto out;
	}
	if ((v = json_object_get(in, "prefix")) != NULL &&
	    !json_equal(v, json_object_get(prev, "prefix"))) {
		rc = BAD(e, "the prefix of a scope cannot change");
		goto out;
	}
	if ((v = json_object_get(in, "subscope")) != NULL &&
	    !json_equal(v, json_object_get(prev, "subscope"))) {
		rc = BAD(e, "the subscope of a scope cannot change");
		goto out;
	}
	if (who->orgno != NULL)
		rc = org_scope_input(app, who, in, prev, &own, e);
	else
		rc = (own = json_deep_copy(in)) != NULL ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	if (rc == 0 && json_object_set_new(own, "name", json_string(name)) != 0)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	if (rc == 0) {
		json_object_del(own, "prefix");
		json_object_del(own, "subscope");
		rc = reg_scope_put_own(app, own, who->orgno, out, e);
	}
	if (rc == 0)
		reg_audit(app, who, "scope", name, "update",
			  json_string_value(json_object_get(*out, "owner_orgno")), prev, *out);
out:
	json_decref(prev);
	json_decref(own);
	return rc;
}

int
reg_scope_get_as(struct porten *app, const struct reg_actor *who, const char *name,
		 json_t **doc, struct err *e)
{
	return scope_own(app, who, name, doc, e);
}

/* Spec §9: the scope stops tokens; clients' registrations and grants are kept. */
static int
scope_deactivate(const json_t *prev, void *arg, json_t **next, struct err *e)
{
	const struct reg_actor *who = arg;
	char ts[32];

	if (prev == NULL || !reg_scope_owned_by(prev, who->orgno))
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such scope");
	reg_iso_time(time_now(), ts);
	*next = json_deep_copy(prev);
	if (*next == NULL || json_object_set_new(*next, "active", json_false()) != 0 ||
	    json_object_set_new(*next, "last_updated", json_string(ts)) != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	return 0;
}

int
reg_scope_deactivate_as(struct porten *app, const struct reg_actor *who, const char *name,
			json_t **out, struct err *e)
{
	json_t *doc = NULL;
	int rc;

	*out = NULL;
	rc = scope_own(app, who, name, &doc, e);
	json_decref(doc);
	if (rc != 0)
		return rc;
	rc = reg_scope_edit(app, name, scope_deactivate, (void *)who, out, e);
	if (rc == 0)
		reg_audit(app, who, "scope", name, "deactivate",
			  json_string_value(json_object_get(*out, "owner_orgno")), NULL, *out);
	return rc;
}

int
reg_scope_list_as(struct porten *app, const struct reg_actor *who, bool include_inactive,
		  json_t **list, struct err *e)
{
	json_t *all = NULL, *out, *d;
	size_t i;
	int rc;

	*list = NULL;
	rc = reg_scope_list(app, &all, e);
	if (rc != 0)
		return rc;
	out = json_array();
	json_array_foreach(all, i, d) {
		if (out == NULL || json_is_true(json_object_get(d, "builtin")))
			continue;
		if (!reg_scope_owned_by(d, who->orgno))
			continue;
		if (!include_inactive && !json_is_true(json_object_get(d, "active")))
			continue;
		if (json_array_append(out, d) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	json_decref(all);
	if (out == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	*list = out;
	return 0;
}

static bool
public_match(const json_t *d, const char *prefix, const char *itype, const char *open,
	     const char *source)
{
	const json_t *types;
	const char *v;

	if (!json_is_true(json_object_get(d, "active")) ||
	    json_is_true(json_object_get(d, "builtin")))
		return false;
	v = json_string_value(json_object_get(d, "visibility"));
	if (v == NULL || strcmp(v, "PUBLIC") != 0)
		return false;
	v = json_string_value(json_object_get(d, "prefix"));
	if (prefix != NULL && (v == NULL || strcmp(v, prefix) != 0))
		return false;
	/* An empty (or absent) list allows every integration type (spec §9). */
	types = json_object_get(d, "allowed_integration_types");
	if (itype != NULL && json_array_size(types) > 0 && !reg_json_array_has(types, itype))
		return false;
	if (open != NULL &&
	    json_is_true(json_object_get(d, "accessible_for_all")) != (strcmp(open, "true") == 0))
		return false;
	v = json_string_value(json_object_get(d, "delegation_source"));
	return source == NULL || (v != NULL && strcmp(v, source) == 0);
}

int
reg_scope_public(struct porten *app, const char *prefix, const char *itype, const char *open,
		 const char *source, json_t **list, struct err *e)
{
	static const char *const shown[] = {
		"name", "prefix", "subscope", "description", "long_description", "visibility",
		"allowed_integration_types", "accessible_for_all", "delegation_source",
		"requires_user_consent", "requires_user_authentication", "token_type",
		"owner_orgno", "active", "translations", NULL,
	};
	json_t *all = NULL, *out, *d;
	size_t i;
	int rc;

	*list = NULL;
	rc = reg_scope_list(app, &all, e);
	if (rc != 0)
		return rc;
	out = json_array();
	json_array_foreach(all, i, d) {
		json_t *o;

		if (out == NULL || !public_match(d, prefix, itype, open, source))
			continue;
		/* The access list and delegations are the owner's business. */
		o = json_object();
		for (size_t k = 0; o != NULL && shown[k] != NULL; k++)
			if (json_object_get(d, shown[k]) != NULL)
				json_object_set(o, shown[k], json_object_get(d, shown[k]));
		if (o == NULL || json_array_append_new(out, o) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	json_decref(all);
	if (out == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	*list = out;
	return 0;
}

int
reg_scope_access_grant_as(struct porten *app, const struct reg_actor *who, const char *scope,
			  const char *orgno, json_t **record, struct err *e)
{
	json_t *doc = NULL;
	int rc = scope_own(app, who, scope, &doc, e);

	if (record != NULL)
		*record = NULL;
	if (rc == 0)
		rc = reg_scope_access_grant(app, scope, orgno, record, e);
	if (rc == 0)
		reg_audit(app, who, "access", scope, "grant",
			  json_string_value(json_object_get(doc, "owner_orgno")), NULL,
			  record != NULL ? *record : NULL);
	json_decref(doc);
	return rc;
}

int
reg_scope_access_revoke_as(struct porten *app, const struct reg_actor *who, const char *scope,
			   const char *orgno, json_t **record, struct err *e)
{
	json_t *doc = NULL;
	int rc = scope_own(app, who, scope, &doc, e);

	if (record != NULL)
		*record = NULL;
	if (rc == 0)
		rc = reg_scope_access_revoke(app, scope, orgno, record, e);
	if (rc == 0) {
		json_t *what = json_pack("{s:s}", "consumer_orgno", orgno);

		reg_audit(app, who, "access", scope, "revoke",
			  json_string_value(json_object_get(doc, "owner_orgno")), NULL, what);
		json_decref(what);
	}
	json_decref(doc);
	return rc;
}

int
reg_scope_access_list_as(struct porten *app, const struct reg_actor *who, const char *scope,
			 bool include_inactive, json_t **list, struct err *e)
{
	json_t *doc = NULL;
	int rc = scope_own(app, who, scope, &doc, e);

	json_decref(doc);
	*list = NULL;
	return rc != 0 ? rc : reg_scope_access_list(app, scope, include_inactive, list, e);
}
