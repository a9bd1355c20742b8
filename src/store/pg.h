/*
 * The PostgreSQL store backend (store_pg_ops), chosen by store_open() for a
 * "postgresql://" or "postgres://" target.  What a deployment may tune
 * before opening it.
 */
#ifndef PORTEN_STORE_PG_H
#define PORTEN_STORE_PG_H

#include "store/store.h"

#define PG_POOL_DEFAULT 8         /* connections per store (per node) */
#define PG_POOL_MAX 256

/*
 * Size of the connection pool of PostgreSQL stores opened after this call
 * (the pg_pool_size configuration key; 0 restores the default).  Call at
 * start-up, before store_open().  Without a call, PORTEN_PG_POOL_SIZE from
 * the environment applies, else PG_POOL_DEFAULT.  Values above PG_POOL_MAX
 * are capped.  Available whether or not the backend is built.
 */
void store_pg_set_pool_size(unsigned n);
/* The pool size the next store_open() of a PostgreSQL target will use. */
unsigned store_pg_pool_size(void);

extern const struct store_ops store_pg_ops;

#endif
