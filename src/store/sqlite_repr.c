/*
 * SQLite backend, the facet of the local register of representation
 * (facet_repr.h): one statement per operation, the lists built as JSON by
 * SQLite itself.
 */
#include "store/sqlite_int.h"

static int
sq_repr_person_put(struct store *s, const char *pid, const char *name, struct err *e)
{
	return store_sq_write(s, SQ_REPR_PERSON_PUT, "person_put", 0, e, "ks", pid, name);
}

static int
sq_repr_person_get(struct store *s, const char *pid, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_REPR_PERSON_GET, "person_get", doc, e, "k", pid);
}

static int
sq_repr_org_put(struct store *s, const char *orgno, const char *name, const char *unit_type,
		const char *parent, bool deleted, struct err *e)
{
	return store_sq_write(s, SQ_REPR_ORG_PUT, "org_put", 0, e, "kskni", orgno, name, unit_type,
			      parent, (int64_t)deleted);
}

static int
sq_repr_resource_put(struct store *s, const char *resource, const char *name, struct err *e)
{
	return store_sq_write(s, SQ_REPR_RESOURCE_PUT, "resource_put", 0, e, "ks", resource, name);
}

static int
sq_repr_resource_get(struct store *s, const char *resource, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_REPR_RESOURCE_GET, "resource_get", doc, e, "k", resource);
}

static int
sq_repr_right_put(struct store *s, const char *pid, const char *orgno, const char *resource,
		  const json_t *rights, struct err *e)
{
	if (!json_is_array(rights))
		return ERR(e, ERR_INVAL, 0, NULL, "store right_put: rights must be an array");
	return store_sq_write(s, SQ_REPR_RIGHT_PUT, "right_put", 0, e, "kkkj", pid, orgno, resource,
			      rights);
}

static int
sq_repr_reportees(struct store *s, const char *pid, const char *resource, json_t **docs,
		  struct err *e)
{
	return store_sq_list_docs(s, SQ_REPR_REPORTEES, "reportees", docs, e, "kk", pid, resource);
}

static int
sq_repr_fullmakt_put(struct store *s, const char *representative, const char *authorizer,
		     const json_t *permissions, int64_t valid_from, int64_t valid_to,
		     struct err *e)
{
	if (!json_is_array(permissions) || valid_from < 0 || valid_to < 0)
		return ERR(e, ERR_INVAL, 0, NULL, "store fullmakt_put: bad permissions or times");
	return store_sq_write(s, SQ_REPR_FULLMAKT_PUT, "fullmakt_put", 0, e, "kkjii",
			      representative, authorizer, permissions, valid_from, valid_to);
}

static int
sq_repr_fullmakts(struct store *s, const char *representative, int64_t now, json_t **docs,
		  struct err *e)
{
	return store_sq_list_docs(s, SQ_REPR_FULLMAKTS, "fullmakts", docs, e, "ki", representative,
				  now);
}

const struct store_repr_ops store_sq_repr = {
	.person_put = sq_repr_person_put,
	.person_get = sq_repr_person_get,
	.org_put = sq_repr_org_put,
	.resource_put = sq_repr_resource_put,
	.resource_get = sq_repr_resource_get,
	.right_put = sq_repr_right_put,
	.reportees = sq_repr_reportees,
	.fullmakt_put = sq_repr_fullmakt_put,
	.fullmakts = sq_repr_fullmakts,
};
