/*
 * SQLite backend, the facet of the person register (facet_people.h): one
 * statement per operation, documents built as JSON by SQLite itself.
 */
#include "store/sqlite_int.h"

static int
sq_people_put(struct store *s, const char *pid, bool unique, struct err *e)
{
	return store_sq_write(s, SQ_PEOPLE_PUT, "put", 0, e, "ki", pid, (int64_t)unique);
}

static int
sq_people_foreign_clear(struct store *s, const char *pid, struct err *e)
{
	return store_sq_write(s, SQ_PEOPLE_FOREIGN_CLEAR, "foreign_clear", 0, e, "k", pid);
}

static int
sq_people_foreign_add(struct store *s, const char *pid, const char *country, const char *id,
		      struct err *e)
{
	return store_sq_write(s, SQ_PEOPLE_FOREIGN_ADD, "foreign_add", ERR_NOTFOUND, e, "kkk", pid,
			      country, id);
}

static int
sq_people_get(struct store *s, const char *pid, json_t **doc, struct err *e)
{
	return store_sq_get_doc(s, SQ_PEOPLE_GET, "get", doc, e, "k", pid);
}

static int
sq_people_match(struct store *s, const char *country, const char *id, json_t **pids,
		struct err *e)
{
	return store_sq_list_docs(s, SQ_PEOPLE_MATCH, "match", pids, e, "kk", country, id);
}

const struct store_people_ops store_sq_people = {
	.put = sq_people_put,
	.foreign_clear = sq_people_foreign_clear,
	.foreign_add = sq_people_foreign_add,
	.get = sq_people_get,
	.match = sq_people_match,
};
