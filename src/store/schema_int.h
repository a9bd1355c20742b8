/*
 * Private to the store: the schemas as ordered lists of migrations,
 * generated at build time from src/store/schema/sqlite.sql and pg.sql by
 * cmake/embed-sql.cmake.  Migration i (1-based) is element i - 1.
 */
#ifndef PORTEN_STORE_SCHEMA_INT_H
#define PORTEN_STORE_SCHEMA_INT_H

#include <stddef.h>

extern const char *const store_sq_migrations[];
extern const size_t store_sq_migrations_n;
extern const char *const store_pg_migrations[];
extern const size_t store_pg_migrations_n;

#define SQ_NMIGRATIONS store_sq_migrations_n
#define PG_NMIGRATIONS store_pg_migrations_n

/* pg_advisory_xact_lock key that serialises migrations across nodes ("porten01") */
#define PG_MIGRATE_LOCK 0x706f7274656e3031LL

#endif
