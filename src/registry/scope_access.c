/*
 * Who may use a scope (spec/maskinporten.md §8.3 and §9,
 * spec/selfservice-api.md §9): the access list of consumer organisations
 * and the delegations consumers have given to suppliers.  Both live in the
 * scope's own doc, so the token endpoint reads the scope, its access list
 * and its delegations in one look-up:
 *
 *   "access":      { "<consumer orgno>": { consumer_orgno, state, active,
 *                                          created, last_updated } }
 *   "delegations": { "<consumer>><supplier>": { consumer_orgno,
 *                                               supplier_orgno, created } }
 *   "rev":         how many times the doc was written
 *
 * Every write goes through reg_scope_edit (edit.c), so two operators
 * granting at once never lose one another's grant.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/natid.h"
#include "core/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

#define BAD(e, ...) ERR((e), ERR_INVAL, 400, REG_INVALID_SCOPE, __VA_ARGS__)
#define NOMEM(e) ERR((e), ERR_NOMEM, 500, NULL, "out of memory")

/* Bounds the doc read on every token request for the scope. */
#define ACCESS_MAX 5000
#define DELEGATIONS_MAX 5000

/* ---- predicates for the token endpoint ---- */

bool
reg_scope_access_ok(const json_t *scope, const char *orgno)
{
	const json_t *rec;

	if (scope == NULL || orgno == NULL)
		return false;
	/* spec §9 step 4: whitelisted for all, the owner itself (design), or granted. */
	if (json_is_true(json_object_get(scope, "accessible_for_all")))
		return true;
	if (reg_scope_owned_by(scope, orgno))
		return true;
	rec = json_object_get(json_object_get(scope, "access"), orgno);
	return json_is_true(json_object_get(rec, "active"));
}

static void
delegation_key(const char *consumer, const char *supplier, char out[32])
{
	snprintf(out, 32, "%.9s>%.9s", consumer, supplier);
}

bool
reg_delegation_ok(const json_t *scope, const char *consumer, const char *supplier)
{
	char key[32];

	if (scope == NULL || consumer == NULL || supplier == NULL ||
	    !json_is_string(json_object_get(scope, "delegation_source")))
		return false;
	delegation_key(consumer, supplier, key);
	return json_is_object(json_object_get(json_object_get(scope, "delegations"), key));
}

/* ---- edits ---- */

struct access_edit {
	const char *orgno;
	const char *supplier;   /* delegations */
	bool on;
};

/* A copy of prev with field an object (created when absent). */
static int
edit_start(const json_t *prev, const char *name, const char *field, json_t **next,
	   json_t **obj, struct err *e)
{
	*next = NULL;
	if (prev == NULL)
		return ERR(e, ERR_NOTFOUND, 404, REG_INVALID_SCOPE, "no such scope: %s", name);
	*next = json_deep_copy(prev);
	if (*next == NULL)
		return NOMEM(e);
	*obj = json_object_get(*next, field);
	if (!json_is_object(*obj)) {
		*obj = json_object();
		if (*obj == NULL || json_object_set_new(*next, field, *obj) != 0)
			return NOMEM(e);
	}
	return 0;
}

static int
access_apply(const json_t *prev, void *arg, json_t **next, struct err *e)
{
	const struct access_edit *a = arg;
	const char *name = json_string_value(json_object_get(prev, "name"));
	json_t *access = NULL, *rec;
	char ts[32];
	int rc;

	rc = edit_start(prev, name ? name : "?", "access", next, &access, e);
	if (rc != 0)
		return rc;
	reg_iso_time(time_now(), ts);
	rec = json_object_get(access, a->orgno);
	if (!a->on) {
		/* selfservice-api §9: revoking deactivates; the record is kept. */
		if (!json_is_true(json_object_get(rec, "active")))
			return ERR(e, ERR_NOTFOUND, 404, REG_INVALID_SCOPE,
				   "organisation %s has no access to %s", a->orgno, name);
		if (json_object_set_new(rec, "active", json_false()) != 0 ||
		    json_object_set_new(rec, "last_updated", json_string(ts)) != 0)
			return NOMEM(e);
		return 0;
	}
	/* A grant already in force is left as it is (PUT is idempotent). */
	if (json_is_true(json_object_get(rec, "active")))
		return 0;
	if (rec == NULL && json_object_size(access) >= ACCESS_MAX)
		return ERR(e, ERR_LIMIT, 400, REG_INVALID_SCOPE,
			   "scope %s already lists %d organisations", name, ACCESS_MAX);
	if (rec == NULL) {
		rec = json_pack("{s:s, s:s, s:s}", "consumer_orgno", a->orgno, "state", "APPROVED",
				"created", ts);
		if (rec == NULL || json_object_set_new(access, a->orgno, rec) != 0)
			return NOMEM(e);
	}
	if (json_object_set_new(rec, "active", json_true()) != 0 ||
	    json_object_set_new(rec, "last_updated", json_string(ts)) != 0)
		return NOMEM(e);
	return 0;
}

/* The access record as the admin API shows it (selfservice-api §9). */
static json_t *
access_public(const json_t *scope, const json_t *rec)
{
	json_t *o = json_deep_copy(rec);

	if (o == NULL)
		return NULL;
	json_object_set(o, "scope", json_object_get(scope, "name"));
	json_object_set(o, "owner_orgno", json_object_get(scope, "owner_orgno") != NULL
						  ? json_object_get(scope, "owner_orgno")
						  : json_null());
	return o;
}

static int
scope_check_name(const char *scope, struct err *e)
{
	if (scope == NULL || !reg_scope_name_valid(scope))
		return BAD(e, "malformed scope name %.100s", scope ? scope : "(none)");
	return 0;
}

/* Grant (on) or revoke access; *record (optional) the record as it now is. */
static int
access_set(struct porten *app, const char *scope, const char *orgno, bool on, json_t **record,
	   struct err *e)
{
	struct access_edit a = { .orgno = orgno, .on = on };
	json_t *doc = NULL;
	int rc;

	if (record != NULL)
		*record = NULL;
	rc = scope_check_name(scope, e);
	if (rc != 0)
		return rc;
	if (!orgno_valid_c(orgno))
		return BAD(e, "consumer must be a valid 9-digit organisation number");
	rc = reg_scope_edit(app, scope, access_apply, &a, &doc, e);
	if (rc == 0 && record != NULL) {
		*record = access_public(doc,
					json_object_get(json_object_get(doc, "access"), orgno));
		if (*record == NULL)
			rc = NOMEM(e);
	}
	json_decref(doc);
	return rc;
}

int
reg_scope_access_grant(struct porten *app, const char *scope, const char *orgno,
		       json_t **record, struct err *e)
{
	return access_set(app, scope, orgno, true, record, e);
}

int
reg_scope_access_revoke(struct porten *app, const char *scope, const char *orgno,
			json_t **record, struct err *e)
{
	return access_set(app, scope, orgno, false, record, e);
}

int
reg_scope_access_list(struct porten *app, const char *scope, bool include_inactive,
		      json_t **list, struct err *e)
{
	json_t *doc = NULL, *out = NULL, *rec;
	const char *orgno;
	int rc;

	*list = NULL;
	rc = scope_check_name(scope, e);
	if (rc == 0)
		rc = reg_scope_get(app, scope, &doc, e);
	if (rc != 0)
		return rc;
	out = json_array();
	if (out == NULL) {
		rc = NOMEM(e);
		goto out;
	}
	json_object_foreach(json_object_get(doc, "access"), orgno, rec) {
		if (!include_inactive && !json_is_true(json_object_get(rec, "active")))
			continue;
		if (json_array_append_new(out, access_public(doc, rec)) != 0) {
			rc = NOMEM(e);
			goto out;
		}
	}
	*list = out;
	out = NULL;
out:
	json_decref(out);
	json_decref(doc);
	return rc;
}

static int
delegation_apply(const json_t *prev, void *arg, json_t **next, struct err *e)
{
	const struct access_edit *a = arg;
	const char *name = json_string_value(json_object_get(prev, "name"));
	json_t *dels = NULL, *rec;
	char key[32], ts[32];
	int rc;

	rc = edit_start(prev, name ? name : "?", "delegations", next, &dels, e);
	if (rc != 0)
		return rc;
	delegation_key(a->orgno, a->supplier, key);
	rec = json_object_get(dels, key);
	if (!a->on) {
		if (rec == NULL)
			return ERR(e, ERR_NOTFOUND, 404, REG_INVALID_SCOPE,
				   "%s has not delegated %s to %s", a->orgno, name, a->supplier);
		return json_object_del(dels, key) == 0 ? 0 : NOMEM(e);
	}
	/* spec §8.3: only a scope with a delegation source can be delegated. */
	if (!json_is_string(json_object_get(prev, "delegation_source")))
		return BAD(e, "scope %s cannot be delegated: it has no delegation_source", name);
	if (rec != NULL)
		return 0;
	if (json_object_size(dels) >= DELEGATIONS_MAX)
		return ERR(e, ERR_LIMIT, 400, REG_INVALID_SCOPE,
			   "scope %s already has %d delegations", name, DELEGATIONS_MAX);
	reg_iso_time(time_now(), ts);
	rec = json_pack("{s:s, s:s, s:s}", "consumer_orgno", a->orgno, "supplier_orgno",
			a->supplier, "created", ts);
	if (rec == NULL || json_object_set_new(dels, key, rec) != 0)
		return NOMEM(e);
	return 0;
}

static int
delegation_args(const char *scope, const char *consumer, const char *supplier, struct err *e)
{
	int rc = scope_check_name(scope, e);

	if (rc != 0)
		return rc;
	if (!orgno_valid_c(consumer) || !orgno_valid_c(supplier))
		return BAD(e, "consumer and supplier must be valid 9-digit organisation numbers");
	if (strcmp(consumer, supplier) == 0)
		return BAD(e, "an organisation cannot delegate to itself");
	return 0;
}

static json_t *
delegation_public(const json_t *scope, const json_t *rec)
{
	json_t *o = json_deep_copy(rec);

	if (o == NULL)
		return NULL;
	json_object_set(o, "scope", json_object_get(scope, "name"));
	json_object_set(o, "delegation_source", json_object_get(scope, "delegation_source"));
	return o;
}

int
reg_delegation_add(struct porten *app, const char *scope, const char *consumer,
		   const char *supplier, json_t **record, struct err *e)
{
	struct access_edit a = { .orgno = consumer, .supplier = supplier, .on = true };
	json_t *doc = NULL;
	char key[32];
	int rc;

	if (record != NULL)
		*record = NULL;
	rc = delegation_args(scope, consumer, supplier, e);
	if (rc != 0)
		return rc;
	rc = reg_scope_edit(app, scope, delegation_apply, &a, &doc, e);
	if (rc == 0 && record != NULL) {
		delegation_key(consumer, supplier, key);
		*record = delegation_public(
			doc, json_object_get(json_object_get(doc, "delegations"), key));
		if (*record == NULL)
			rc = NOMEM(e);
	}
	json_decref(doc);
	return rc;
}

int
reg_delegation_remove(struct porten *app, const char *scope, const char *consumer,
		      const char *supplier, struct err *e)
{
	struct access_edit a = { .orgno = consumer, .supplier = supplier, .on = false };
	int rc = delegation_args(scope, consumer, supplier, e);

	if (rc != 0)
		return rc;
	return reg_scope_edit(app, scope, delegation_apply, &a, NULL, e);
}

static int
delegations_of(const json_t *doc, json_t *out, struct err *e)
{
	const char *key;
	json_t *rec;

	json_object_foreach(json_object_get(doc, "delegations"), key, rec) {
		if (json_array_append_new(out, delegation_public(doc, rec)) != 0)
			return NOMEM(e);
	}
	return 0;
}

int
reg_delegation_list(struct porten *app, const char *scope, json_t **list, struct err *e)
{
	json_t *out = json_array(), *docs = NULL, *doc = NULL, *d;
	size_t i;
	int rc;

	*list = NULL;
	if (out == NULL)
		return NOMEM(e);
	if (scope != NULL) {
		rc = scope_check_name(scope, e);
		if (rc == 0)
			rc = reg_scope_get(app, scope, &doc, e);
		if (rc == 0)
			rc = delegations_of(doc, out, e);
	} else {
		rc = store_call(app->store, registry, scope_list, &docs, e);
		json_array_foreach(docs, i, d) {
			if (rc != 0)
				break;
			rc = delegations_of(d, out, e);
		}
	}
	if (rc == 0) {
		*list = out;
		out = NULL;
	}
	json_decref(out);
	json_decref(docs);
	json_decref(doc);
	return rc;
}
