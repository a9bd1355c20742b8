/*
 * Onbehalfof sub-registrations (spec/selfservice-api.md §8,
 * idporten-oidc.md §16): a supplier's client holds one entry per customer,
 * {onbehalfof, display_name, orgno, url}, in its document's "onbehalfof"
 * list.  The login shows the entry's name and counts the login for its
 * orgno; redirect URIs stay on the parent client.
 */
#include <jansson.h>
#include <string.h>

#include "core/natid.h"
#include "core/timeutil.h"
#include "registry/client.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

#define BAD(e, ...) ERR((e), ERR_INVAL, 400, REG_INVALID_METADATA, __VA_ARGS__)
#define OBO_ID_MAX 64
#define OBO_MAX 500 /* entries on one client */

bool
reg_onbehalfof_id_valid(const char *id)
{
	size_t n;

	if (id == NULL)
		return false;
	n = strnlen(id, OBO_ID_MAX + 1);
	/* idporten-oidc §16 (design): [A-Za-z0-9]+ as in the SAML extension. */
	return n > 0 && n <= OBO_ID_MAX &&
	       str_only((struct str){ id, n }, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					       "0123456789");
}

const json_t *
reg_client_onbehalfof(const struct client *c, const char *id)
{
	size_t i;
	const json_t *o;

	if (c == NULL || id == NULL)
		return NULL;
	json_array_foreach(c->onbehalfof, i, o) {
		const char *v = json_string_value(json_object_get(o, "onbehalfof"));

		if (v != NULL && strcmp(v, id) == 0)
			return o;
	}
	return NULL;
}

/* Index of the entry in the list, or -1. */
static long
obo_find(const json_t *list, const char *id)
{
	size_t i;
	const json_t *o;

	json_array_foreach(list, i, o) {
		const char *v = json_string_value(json_object_get(o, "onbehalfof"));

		if (v != NULL && strcmp(v, id) == 0)
			return (long)i;
	}
	return -1;
}

/* A new entry from the caller's body; prev (on update) keeps its id and created. */
static int
obo_build(struct porten *app, const json_t *in, const json_t *prev, json_t **out,
	  struct err *e)
{
	static const char *const fields[] = { "onbehalfof", "display_name", "orgno", "url",
					      "created", "last_updated", NULL };
	const char *id, *name, *orgno, *url, *key;
	char ts[32];
	json_t *v;
	int rc;

	*out = NULL;
	if (!json_is_object(in))
		return BAD(e, "an onbehalfof registration must be a JSON object");
	json_object_foreach((json_t *)in, key, v) {
		size_t i;

		for (i = 0; fields[i] != NULL && strcmp(fields[i], key) != 0; i++)
			;
		if (fields[i] == NULL)
			return BAD(e, "unknown field %.64s", key);
	}
	rc = reg_client_get_text(in, "onbehalfof", OBO_ID_MAX, prev == NULL, &id, e);
	if (rc == 0 && prev != NULL) {
		const char *was = json_string_value(json_object_get(prev, "onbehalfof"));

		if (id != NULL && strcmp(id, was) != 0)
			return BAD(e, "onbehalfof cannot change");
		id = was;
	}
	if (rc == 0 && !reg_onbehalfof_id_valid(id))
		rc = BAD(e, "onbehalfof must be 1-%d letters and digits", OBO_ID_MAX);
	if (rc == 0)
		rc = reg_client_get_text(in, "display_name", REG_NAME_MAX, true, &name, e);
	if (rc == 0)
		rc = reg_client_get_text(in, "orgno", 16, true, &orgno, e);
	if (rc == 0 && !orgno_valid(str_c(orgno)))
		rc = BAD(e, "orgno must be a valid 9-digit organisation number");
	if (rc == 0)
		rc = reg_client_get_text(in, "url", REG_URI_MAX, false, &url, e);
	if (rc == 0 && url != NULL && reg_redirect_uri_valid(url, "web", app->test_env, e) != 0)
		rc = BAD(e, "url must be an absolute https URI (http in test) without fragment");
	if (rc != 0)
		return rc;
	reg_iso_time(time_now(), ts);
	v = json_object_get(prev, "created");
	*out = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s}", "onbehalfof", id, "display_name", name,
			 "orgno", orgno, "url", url, "created",
			 json_is_string(v) ? json_string_value(v) : ts, "last_updated", ts);
	return *out != NULL ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

int
reg_onbehalfof_list_as(struct porten *app, const struct reg_actor *who, const char *client_id,
		       json_t **list, struct err *e)
{
	json_t *doc = NULL, *l;
	int rc;

	*list = NULL;
	rc = reg_client_get_active_as(app, who, client_id, &doc, e);
	if (rc != 0)
		return rc;
	l = json_object_get(doc, "onbehalfof");
	*list = json_is_array(l) ? json_deep_copy(l) : json_array();
	json_decref(doc);
	return *list != NULL ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

int
reg_onbehalfof_get_as(struct porten *app, const struct reg_actor *who, const char *client_id,
		      const char *id, json_t **rec, struct err *e)
{
	json_t *list = NULL;
	long k;
	int rc;

	*rec = NULL;
	rc = reg_onbehalfof_list_as(app, who, client_id, &list, e);
	if (rc != 0)
		return rc;
	k = reg_onbehalfof_id_valid(id) ? obo_find(list, id) : -1;
	if (k < 0)
		rc = ERR(e, ERR_NOTFOUND, 404, NULL, "no such onbehalfof registration");
	else
		*rec = json_incref(json_array_get(list, (size_t)k));
	json_decref(list);
	return rc;
}

struct obo_edit {
	struct porten *app;
	const char *id;
	const json_t *in;
	json_t *entry; /* the entry as stored, unless removed */
};

static int
obo_apply(const json_t *prev, json_t *doc, void *arg, struct err *e)
{
	struct obo_edit *oe = arg;
	json_t *list;
	long k = -1;
	int rc;

	(void)prev;
	json_decref(oe->entry);
	oe->entry = NULL;
	list = json_object_get(doc, "onbehalfof");
	if (!json_is_array(list)) {
		list = json_array();
		if (list == NULL || json_object_set_new(doc, "onbehalfof", list) != 0)
			return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	if (oe->id != NULL) {
		k = reg_onbehalfof_id_valid(oe->id) ? obo_find(list, oe->id) : -1;
		if (k < 0)
			return ERR(e, ERR_NOTFOUND, 404, NULL, "no such onbehalfof registration");
	}
	if (oe->in == NULL)
		return json_array_remove(list, (size_t)k) == 0
			       ? 0
			       : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	rc = obo_build(oe->app, oe->in, k < 0 ? NULL : json_array_get(list, (size_t)k), &oe->entry,
		       e);
	if (rc != 0)
		return rc;
	if (k >= 0)
		rc = json_array_set(list, (size_t)k, oe->entry);
	else {
		const char *nid = json_string_value(json_object_get(oe->entry, "onbehalfof"));

		/* §8: unique within the parent client. */
		if (obo_find(list, nid) >= 0)
			return ERR(e, ERR_EXISTS, 409, REG_INVALID_METADATA,
				   "onbehalfof %s is registered already", nid);
		if (json_array_size(list) >= OBO_MAX)
			return BAD(e, "a client holds at most %d onbehalfof registrations", OBO_MAX);
		rc = json_array_append(list, oe->entry);
	}
	return rc == 0 ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

/*
 * Create (id NULL), replace or remove (in NULL) one entry of an active
 * client the caller sees.  *rec (optional): the entry as stored.
 */
static int
obo_change(struct porten *app, const struct reg_actor *who, const char *client_id,
	   const char *id, const json_t *in, json_t **rec, struct err *e)
{
	struct obo_edit oe = { app, id, in, NULL };
	json_t *doc = NULL;
	int rc;

	if (rec != NULL)
		*rec = NULL;
	rc = reg_client_edit_as(app, who, client_id, obo_apply, &oe, NULL, &doc, e);
	if (rc == 0)
		reg_audit(app, who, "onbehalfof", client_id,
			  in == NULL ? "delete" : id == NULL ? "create" : "update",
			  json_string_value(json_object_get(doc, "client_orgno")), NULL,
			  in == NULL ? NULL : oe.entry);
	if (rc == 0 && rec != NULL && oe.entry != NULL)
		*rec = json_incref(oe.entry);
	json_decref(oe.entry);
	json_decref(doc);
	return rc;
}

int
reg_onbehalfof_create_as(struct porten *app, const struct reg_actor *who, const char *client_id,
			 const json_t *in, json_t **rec, struct err *e)
{
	return obo_change(app, who, client_id, NULL, in, rec, e);
}

int
reg_onbehalfof_update_as(struct porten *app, const struct reg_actor *who, const char *client_id,
			 const char *id, const json_t *in, json_t **rec, struct err *e)
{
	return obo_change(app, who, client_id, id, in, rec, e);
}

int
reg_onbehalfof_delete_as(struct porten *app, const struct reg_actor *who, const char *client_id,
			 const char *id, struct err *e)
{
	return obo_change(app, who, client_id, id, NULL, NULL, e);
}
