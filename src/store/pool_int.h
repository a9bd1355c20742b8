/*
 * Private to the store: the connection pool and the calling thread's
 * transaction, written once (pool.c) for every engine.  An engine gives
 * the pool a struct store_backend: how to open, revive, reset and close one
 * of its connections, and how to begin and commit a transaction on one.
 *
 * Connections: a thread takes one for the length of one operation and puts
 * it back, so a connection is used by one thread at a time.  At most max
 * exist; a thread waits wait_ms for one to come back, then fails with
 * ERR_UNAVAILABLE.
 *
 * Transactions: store_tx_begin() takes a connection for the thread until
 * the outermost store_tx_end(); every operation the thread runs on the
 * same store meanwhile uses it (store_pool_tx_conn()).  Begins nest.  An
 * operation that fails in a way the engine cannot step back from dooms
 * the transaction (store_pool_tx_doom()): the outermost end rolls back and
 * fails, with ERR_UNAVAILABLE when the connection was lost (store_tx_run
 * then runs it once more), else ERR_INTERNAL.
 */
#ifndef PORTEN_STORE_POOL_INT_H
#define PORTEN_STORE_POOL_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "store/store.h"

/* The first member of an engine's connection. */
struct store_conn {
	struct store_conn *next; /* in the idle list */
};

struct store_backend {
	/* A connection for a new slot; on failure the slot is given up. */
	int (*conn_open)(struct store *s, struct store_conn **out, const char *op, struct err *e);
	/*
	 * NULL, or make a pooled connection usable before it is handed out (it
	 * may have died while idle); on failure it goes back to the pool.
	 */
	int (*conn_ready)(struct store *s, struct store_conn *c, const char *op, struct err *e);
	/* Before it goes back: roll back whatever is open, drop what is broken. */
	void (*conn_reset)(struct store *s, struct store_conn *c);
	void (*conn_close)(struct store_conn *c);
	/* The outermost transaction's BEGIN and COMMIT on c (a rollback is conn_reset's). */
	int (*tx_begin)(struct store *s, struct store_conn *c, struct err *e);
	int (*tx_commit)(struct store *s, struct store_conn *c, struct err *e);
};

struct store_pool {
	const struct store_backend *be;
	unsigned max;            /* connections at most */
	unsigned n;              /* slots handed out, idle or in use */
	int wait_ms;             /* for a free connection */
	struct store_conn *idle;
	pthread_mutex_t mu;      /* engines may guard their own shared fields with it too */
	pthread_cond_t cv;       /* a connection came back */
};

void store_pool_init(struct store_pool *p, const struct store_backend *be, unsigned max,
		     int wait_ms);
/* Close the idle connections; all must be back. */
void store_pool_destroy(struct store_pool *p);

int store_pool_acquire(struct store_pool *p, struct store *s, struct store_conn **out,
		       const char *op, struct err *e);
void store_pool_release(struct store_pool *p, struct store *s, struct store_conn *c);

/* The calling thread's transaction on s: its connection, NULL outside one. */
struct store_conn *store_pool_tx_conn(const struct store *s);
bool store_pool_tx_doomed(const struct store *s);
/* Make the outermost end roll back; why: ERR_UNAVAILABLE if the connection was lost. */
void store_pool_tx_doom(const struct store *s, int why);
int store_pool_tx_begin(struct store_pool *p, struct store *s, struct err *e);
int store_pool_tx_end(struct store_pool *p, struct store *s, bool commit, struct err *e);
int store_pool_tx_depth(const struct store *s);

#endif
