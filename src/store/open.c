/*
 * Opening a store: the target's form picks the engine.  A
 * "postgresql://" or "postgres://" URI opens PostgreSQL; anything else is
 * an SQLite path, a "file:" URI or ":memory:".
 */
#include "store/backend_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/str.h"

/* Engines built in, by name. */
static const struct store_engine *const store_engines[] = {
	&store_sqlite_engine,
#ifdef HAVE_LIBPQ
	&store_pg_engine,
#endif
	NULL,
};

static const char *
store_engine_for(const char *target)
{
	if (strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0)
		return "pg";
	return "sqlite";
}

unsigned
store_pool_size(const struct store_opts *o)
{
	const char *env;
	long long v;

	if (o != NULL && o->pool_size > 0)
		return o->pool_size > STORE_POOL_MAX ? STORE_POOL_MAX : (unsigned)o->pool_size;
	env = getenv("PORTEN_PG_POOL_SIZE");
	if (env != NULL && str_to_ll(str_c(env), 1, STORE_POOL_MAX, &v) == 0)
		return (unsigned)v;
	return STORE_POOL_DEFAULT;
}

int
store_open(struct store **out, const struct store_opts *o, struct err *e)
{
	const char *name;
	size_t i;

	*out = NULL;
	if (o == NULL || o->target == NULL || o->target[0] == '\0')
		return ERR(e, ERR_INVAL, 0, NULL, "store: no database given");
	name = store_engine_for(o->target);
	for (i = 0; store_engines[i] != NULL; i++) {
		const struct store_engine *eng = store_engines[i];
		static uint64_t serial;
		struct store *s;
		int rc;

		if (strcmp(eng->name, name) != 0)
			continue;
		rc = eng->open(out, o, e);
		if (rc != 0)
			return rc;
		s = *out;
		s->engine = eng;
		s->oauth = eng->oauth;
		s->login = eng->login;
		s->registry = eng->registry;
		s->minid = eng->minid;
		s->saml = eng->saml;
		s->events = eng->events;
		s->billing = eng->billing;
		s->krr = eng->krr;
		s->repr = eng->repr;
		s->people = eng->people;
		s->serial = __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (strcmp(name, "pg") == 0)
		return ERR(e, ERR_INVAL, 0, NULL, "store: PostgreSQL backend not built");
	return ERR(e, ERR_INVAL, 0, NULL, "store: no %s backend", name);
}
