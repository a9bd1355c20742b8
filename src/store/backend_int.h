/*
 * Private to the store: the engines store_open() (open.c) chooses from.
 * Nothing outside src/store/ names an engine; callers pass a target in
 * struct store_opts and reach the operations through the facets.
 */
#ifndef PORTEN_STORE_BACKEND_INT_H
#define PORTEN_STORE_BACKEND_INT_H

#include "store/store.h"

/* What an engine provides: opening, transactions, sweeping, and a table per facet. */
struct store_engine {
	const char *name;
	/* Open o->target; store_open() then sets engine, the facets and serial. */
	int (*open)(struct store **out, const struct store_opts *o, struct err *e);
	void (*close)(struct store *s);
	int (*tx_begin)(struct store *s, struct err *e);
	int (*tx_end)(struct store *s, bool commit, struct err *e);
	int (*tx_depth)(struct store *s);
	int (*sweep)(struct store *s, int64_t now, int64_t *n, struct err *e);
	const struct store_oauth_ops *oauth;
	const struct store_login_ops *login;
	const struct store_registry_ops *registry;
	const struct store_minid_ops *minid;
	const struct store_event_ops *events;
	const struct store_billing_ops *billing;
	const struct store_saml_ops *saml;
	const struct store_krr_ops *krr;
	const struct store_repr_ops *repr;
	const struct store_people_ops *people;
};

/* SQLite (sqlite.c, sqlite_db.c): a path, a "file:" URI or ":memory:". */
extern const struct store_engine store_sqlite_engine;

#ifdef HAVE_LIBPQ
/* PostgreSQL (pg.c, pg_db.c): a "postgresql://" or "postgres://" URI. */
extern const struct store_engine store_pg_engine;
#endif

#endif
