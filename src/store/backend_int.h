/*
 * Private to the store: the engines store_open() (open.c) chooses from.
 * Nothing outside src/store/ names an engine; callers pass a target in
 * struct store_opts.
 */
#ifndef PORTEN_STORE_BACKEND_INT_H
#define PORTEN_STORE_BACKEND_INT_H

#include "store/store.h"

/* SQLite (sqlite.c, sqlite_db.c): a path, a "file:" URI or ":memory:". */
extern const struct store_ops store_sqlite_ops;

#ifdef HAVE_LIBPQ
/* PostgreSQL (pg.c, pg_db.c): a "postgresql://" or "postgres://" URI. */
extern const struct store_ops store_pg_ops;
#endif

#endif
