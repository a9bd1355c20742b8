/*
 * Backend selection and the helpers every backend shares.  The target names
 * the database: a path or a "file:" URI for SQLite, "postgresql://..." (or
 * "postgres://...") for PostgreSQL.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#ifdef HAVE_LIBPQ
#include "store/pg.h"
#endif

/* Backends built in, by name; the target's form picks one. */
static const struct store_ops *const store_backends[] = {
	&store_sqlite_ops,
#ifdef HAVE_LIBPQ
	&store_pg_ops,
#endif
	NULL,
};

static const char *
store_backend_for(const char *target)
{
	if (strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0)
		return "pg";
	return "sqlite";
}

int
store_open(struct store **out, const char *target, struct err *e)
{
	const char *name;
	size_t i;

	*out = NULL;
	if (target == NULL || target[0] == '\0')
		return ERR(e, ERR_INVAL, 0, NULL, "store: no database given");
	name = store_backend_for(target);
	for (i = 0; store_backends[i] != NULL; i++) {
		static uint64_t serial;
		int rc;

		if (strcmp(store_backends[i]->name, name) != 0)
			continue;
		rc = store_backends[i]->open(out, target, e);
		if (rc == 0)
			(*out)->serial = __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED);
		return rc;
	}
	if (strcmp(name, "pg") == 0)
		return ERR(e, ERR_INVAL, 0, NULL, "store: PostgreSQL backend not built");
	return ERR(e, ERR_INVAL, 0, NULL, "store: no %s backend", name);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

void
store_key_clear(struct store_key *k)
{
	if (k == NULL)
		return;
	free(k->kid);
	free(k->issuer);
	free(k->alg);
	/* sealed under the KEK, but still key material: wipe it */
	if (k->sealed != NULL)
		secure_wipe(k->sealed, strlen(k->sealed));
	free(k->sealed);
	free(k->public_jwk);
	memset(k, 0, sizeof(*k));
}

void
store_keys_free(struct store_key *keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		store_key_clear(&keys[i]);
	free(keys);
}

void
store_refresh_clear(struct store_refresh *r)
{
	if (r == NULL)
		return;
	free(r->grant_id);
	free(r->client_id);
	memset(r, 0, sizeof(*r));
}

static int
store_tx_once(struct store *s, int (*body)(void *arg, struct err *e), void *arg, struct err *e)
{
	int rc = store_op(s, tx_begin, e);

	if (rc != 0)
		return rc;
	rc = body(arg, e);
	if (rc == 0)
		rc = store_op(s, tx_end, true, e);
	else
		store_op(s, tx_end, false, &(struct err){ 0 });
	return rc;
}

int
store_tx_run(struct store *s, int (*body)(void *arg, struct err *e), void *arg, struct err *e)
{
	bool outermost = s->ops->tx_depth(s) == 0;
	int rc = store_tx_once(s, body, arg, e);

	if (rc == ERR_UNAVAILABLE && outermost) {
		log_warn(NULL, "store: transaction lost with the database (%s); running it once more",
			 e->msg);
		rc = store_tx_once(s, body, arg, e);
	}
	return rc;
}
