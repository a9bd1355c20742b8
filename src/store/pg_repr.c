/*
 * PostgreSQL backend, the facet of the local register of representation
 * (facet_repr.h): one statement per operation, the lists built as JSON by
 * the database itself.
 */
#ifdef HAVE_LIBPQ

#include "store/pg_int.h"

static int
pg_repr_person_put(struct store *s, const char *pid, const char *name, struct err *e)
{
	return store_pg_write(s, PG_REPR_PERSON_PUT, "person_put", 0, e, "ks", pid, name);
}

static int
pg_repr_person_get(struct store *s, const char *pid, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_REPR_PERSON_GET, "person_get", doc, e, "k", pid);
}

static int
pg_repr_org_put(struct store *s, const char *orgno, const char *name, const char *unit_type,
		const char *parent, bool deleted, struct err *e)
{
	return store_pg_write(s, PG_REPR_ORG_PUT, "org_put", 0, e, "ksknb", orgno, name, unit_type,
			      parent, (int)deleted);
}

static int
pg_repr_resource_put(struct store *s, const char *resource, const char *name, struct err *e)
{
	return store_pg_write(s, PG_REPR_RESOURCE_PUT, "resource_put", 0, e, "ks", resource, name);
}

static int
pg_repr_resource_get(struct store *s, const char *resource, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_REPR_RESOURCE_GET, "resource_get", doc, e, "k", resource);
}

static int
pg_repr_right_put(struct store *s, const char *pid, const char *orgno, const char *resource,
		  const json_t *rights, struct err *e)
{
	if (!json_is_array(rights))
		return ERR(e, ERR_INVAL, 0, NULL, "store right_put: rights must be an array");
	return store_pg_write(s, PG_REPR_RIGHT_PUT, "right_put", 0, e, "kkkj", pid, orgno, resource,
			      rights);
}

static int
pg_repr_reportees(struct store *s, const char *pid, const char *resource, json_t **docs,
		  struct err *e)
{
	return store_pg_list_docs(s, PG_REPR_REPORTEES, "reportees", docs, e, "kk", pid, resource);
}

static int
pg_repr_fullmakt_put(struct store *s, const char *representative, const char *authorizer,
		     const json_t *permissions, int64_t valid_from, int64_t valid_to,
		     struct err *e)
{
	if (!json_is_array(permissions) || valid_from < 0 || valid_to < 0)
		return ERR(e, ERR_INVAL, 0, NULL, "store fullmakt_put: bad permissions or times");
	return store_pg_write(s, PG_REPR_FULLMAKT_PUT, "fullmakt_put", 0, e, "kkjii",
			      representative, authorizer, permissions, valid_from, valid_to);
}

static int
pg_repr_fullmakts(struct store *s, const char *representative, int64_t now, json_t **docs,
		  struct err *e)
{
	return store_pg_list_docs(s, PG_REPR_FULLMAKTS, "fullmakts", docs, e, "ki", representative,
				  now);
}

const struct store_repr_ops store_pg_repr = {
	.person_put = pg_repr_person_put,
	.person_get = pg_repr_person_get,
	.org_put = pg_repr_org_put,
	.resource_put = pg_repr_resource_put,
	.resource_get = pg_repr_resource_get,
	.right_put = pg_repr_right_put,
	.reportees = pg_repr_reportees,
	.fullmakt_put = pg_repr_fullmakt_put,
	.fullmakts = pg_repr_fullmakts,
};

#endif
