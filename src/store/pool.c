/*
 * The connection pool, the calling thread's transaction, and running a
 * transaction once more after a lost connection (store_tx_run), shared by
 * the engines (pool_int.h).
 */
#include "store/pool_int.h"

#include <string.h>
#include <time.h>

#include "core/log.h"

void
store_pool_init(struct store_pool *p, const struct store_backend *be, unsigned max, int wait_ms)
{
	pthread_condattr_t ca;

	memset(p, 0, sizeof(*p));
	p->be = be;
	p->max = max;
	p->wait_ms = wait_ms;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
}

void
store_pool_destroy(struct store_pool *p)
{
	struct store_conn *c;

	if (p->be == NULL)
		return;
	while ((c = p->idle) != NULL) {
		p->idle = c->next;
		p->be->conn_close(c);
		p->n--;
	}
	if (p->n != 0)
		log_err(NULL, "store: closed with %u connections still in use", p->n);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	p->be = NULL;
}

static void
pool_put(struct store_pool *p, struct store_conn *c)
{
	pthread_mutex_lock(&p->mu);
	c->next = p->idle;
	p->idle = c;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int
store_pool_acquire(struct store_pool *p, struct store *s, struct store_conn **out, const char *op,
		   struct err *e)
{
	struct store_conn *c = NULL;
	struct timespec until;
	bool fresh = false;
	int rc = 0;

	*out = NULL;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += p->wait_ms / 1000;
	pthread_mutex_lock(&p->mu);
	while (p->idle == NULL && p->n >= p->max && rc == 0)
		rc = pthread_cond_timedwait(&p->cv, &p->mu, &until);
	if (p->idle != NULL) {
		c = p->idle;
		p->idle = c->next;
		c->next = NULL;
	} else if (p->n < p->max) {
		p->n++;
		fresh = true;
	}
	pthread_mutex_unlock(&p->mu);
	if (c == NULL && !fresh)
		return ERR(e, ERR_UNAVAILABLE, 503, "temporarily_unavailable",
			   "store %s: no database connection free", op);
	if (fresh) {
		rc = p->be->conn_open(s, &c, op, e);
		if (rc != 0) {
			pthread_mutex_lock(&p->mu);
			p->n--;
			pthread_cond_signal(&p->cv);
			pthread_mutex_unlock(&p->mu);
			return rc;
		}
	}
	if (p->be->conn_ready != NULL) {
		rc = p->be->conn_ready(s, c, op, e);
		if (rc != 0) {
			store_pool_release(p, s, c);
			return rc;
		}
	}
	*out = c;
	return 0;
}

void
store_pool_release(struct store_pool *p, struct store *s, struct store_conn *c)
{
	if (c == NULL)
		return;
	/* never hand on a connection inside a transaction */
	p->be->conn_reset(s, c);
	pool_put(p, c);
}

/*
 * The calling thread's transaction (tx_begin .. tx_end): its store, its
 * connection, how deep the begins nest, whether it must roll back, and the
 * failure that doomed it.  One a thread per engine, so that a thread may
 * hold a transaction on stores of two engines, as before the pool was
 * shared.
 */
#define POOL_TX_SLOTS 4

static __thread struct pool_tx {
	const struct store_backend *be;
	const struct store *s;
	struct store_conn *c;
	int depth;
	bool doomed;
	int why;
} pool_tx[POOL_TX_SLOTS];

/* The thread's transaction on s, or NULL. */
static struct pool_tx *
pool_tx_of(const struct store *s)
{
	size_t i;

	for (i = 0; i < POOL_TX_SLOTS; i++)
		if (pool_tx[i].s == s && s != NULL)
			return &pool_tx[i];
	return NULL;
}

struct store_conn *
store_pool_tx_conn(const struct store *s)
{
	struct pool_tx *t = pool_tx_of(s);

	return t != NULL ? t->c : NULL;
}

bool
store_pool_tx_doomed(const struct store *s)
{
	struct pool_tx *t = pool_tx_of(s);

	return t != NULL && t->doomed;
}

void
store_pool_tx_doom(const struct store *s, int why)
{
	struct pool_tx *t = pool_tx_of(s);

	if (t == NULL)
		return;
	t->doomed = true;
	if (t->why == 0)
		t->why = why;
}

int
store_pool_tx_depth(const struct store *s)
{
	struct pool_tx *t = pool_tx_of(s);

	return t != NULL ? t->depth : 0;
}

int
store_pool_tx_begin(struct store_pool *p, struct store *s, struct err *e)
{
	struct pool_tx *t = NULL;
	struct store_conn *c = NULL;
	size_t i;
	int rc;

	for (i = 0; i < POOL_TX_SLOTS; i++) {
		if (pool_tx[i].be == p->be && pool_tx[i].s != NULL) {
			if (pool_tx[i].s != s)
				return ERR(e, ERR_INTERNAL, 500, "server_error",
					   "store tx_begin: this thread is in another store's "
					   "transaction");
			pool_tx[i].depth++;
			return 0;
		}
		if (t == NULL && pool_tx[i].s == NULL)
			t = &pool_tx[i];
	}
	if (t == NULL)
		return ERR(e, ERR_INTERNAL, 500, "server_error",
			   "store tx_begin: too many transactions in this thread");
	rc = store_pool_acquire(p, s, &c, "tx_begin", e);
	if (rc != 0)
		return rc;
	rc = p->be->tx_begin(s, c, e);
	if (rc != 0) {
		store_pool_release(p, s, c);
		return rc;
	}
	*t = (struct pool_tx){ .be = p->be, .s = s, .c = c, .depth = 1 };
	return 0;
}

int
store_pool_tx_end(struct store_pool *p, struct store *s, bool commit, struct err *e)
{
	struct pool_tx *t = pool_tx_of(s);
	struct store_conn *c;
	int rc = 0;

	if (t == NULL || t->depth <= 0)
		return ERR(e, ERR_INTERNAL, 500, "server_error", "store tx_end: no transaction");
	if (!commit)
		t->doomed = true;
	if (--t->depth > 0)
		return 0;
	c = t->c;
	if (t->doomed) {
		if (commit && t->why == ERR_UNAVAILABLE)
			rc = ERR(e, ERR_UNAVAILABLE, 503, "temporarily_unavailable",
				 "store tx_end: the database went away; rolled back");
		else if (commit)
			rc = ERR(e, ERR_INTERNAL, 500, "server_error",
				 "store tx_end: the transaction was rolled back");
	} else {
		rc = p->be->tx_commit(s, c, e);
	}
	/* the release rolls back whatever is still open: a doomed or failed transaction */
	memset(t, 0, sizeof(*t));
	store_pool_release(p, s, c);
	return rc;
}

/* ---- running a transaction, once more after a lost connection ---- */

static int
store_tx_once(struct store *s, int (*body)(void *arg, struct err *e), void *arg, struct err *e)
{
	int rc = store_tx_begin(s, e);

	if (rc != 0)
		return rc;
	rc = body(arg, e);
	if (rc == 0)
		rc = store_tx_end(s, true, e);
	else
		store_tx_end(s, false, &(struct err){ 0 });
	return rc;
}

int
store_tx_run(struct store *s, int (*body)(void *arg, struct err *e), void *arg, struct err *e)
{
	bool outermost = store_tx_depth(s) == 0;
	int rc = store_tx_once(s, body, arg, e);

	if (rc == ERR_UNAVAILABLE && outermost) {
		log_warn(NULL, "store: transaction lost with the database (%s); running it once more",
			 e->msg);
		rc = store_tx_once(s, body, arg, e);
	}
	return rc;
}
