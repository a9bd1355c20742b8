/*
 * PostgreSQL backend, the facet of the person register (facet_people.h): one
 * statement per operation, documents built as JSON by the database itself.
 */
#ifdef HAVE_LIBPQ

#include "store/pg_int.h"

static int
pg_people_put(struct store *s, const char *pid, bool unique, struct err *e)
{
	return store_pg_write(s, PG_PEOPLE_PUT, "put", 0, e, "kb", pid, (int)unique);
}

static int
pg_people_foreign_clear(struct store *s, const char *pid, struct err *e)
{
	return store_pg_write(s, PG_PEOPLE_FOREIGN_CLEAR, "foreign_clear", 0, e, "k", pid);
}

static int
pg_people_foreign_add(struct store *s, const char *pid, const char *country, const char *id,
		      struct err *e)
{
	return store_pg_write(s, PG_PEOPLE_FOREIGN_ADD, "foreign_add", ERR_NOTFOUND, e, "kkk", pid,
			      country, id);
}

static int
pg_people_get(struct store *s, const char *pid, json_t **doc, struct err *e)
{
	return store_pg_get_doc(s, PG_PEOPLE_GET, "get", doc, e, "k", pid);
}

static int
pg_people_match(struct store *s, const char *country, const char *id, json_t **pids,
		struct err *e)
{
	return store_pg_list_docs(s, PG_PEOPLE_MATCH, "match", pids, e, "kk", country, id);
}

const struct store_people_ops store_pg_people = {
	.put = pg_people_put,
	.foreign_clear = pg_people_foreign_clear,
	.foreign_add = pg_people_foreign_add,
	.get = pg_people_get,
	.match = pg_people_match,
};

#endif /* HAVE_LIBPQ */
