/*
 * Private to the PostgreSQL backend: the connection pool, parameter packing
 * and the retrying operation runner (pg_db.c) shared with the operations
 * (pg.c).
 */
#ifndef PORTEN_STORE_PG_INT_H
#define PORTEN_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/backend_int.h"
#include "store/pool_int.h"

#define PG_WAIT_MS 5000           /* wait this long for a free pool connection */
#define PG_RECONNECT_MS 3000      /* an operation keeps reconnecting this long while the
				     database is away (a restart), then fails fast */
#define PG_RETRY_SLEEP_MS 100     /* between two connection attempts */
#define PG_MAX_TARGET 4096
#define PG_MAX_KEY 1024           /* ids, kinds, names, hashes */
#define PG_MAX_TEXT (256 * 1024)  /* sealed keys, JWKs, meta values */
#define PG_MAX_DOC (1024 * 1024)  /* one JSON document, serialised */
#define PG_MAX_PARAMS 20
#define PG_SWEEP_BATCH 1000       /* rows per sweep statement: short locks, short WAL bursts */

enum pg_id {
	PG_META_GET, PG_META_PUT_NEW,
	PG_CLIENT_GET, PG_CLIENT_CREATE, PG_CLIENT_UPDATE, PG_CLIENT_DELETE, PG_CLIENT_LIST,
	PG_SCOPE_GET, PG_SCOPE_PUT, PG_SCOPE_DELETE, PG_SCOPE_LIST,
	PG_SAML_SP_GET, PG_SAML_SP_PUT, PG_SAML_SP_DELETE, PG_SAML_SP_LIST,
	PG_KEY_ADD, PG_KEY_LIST, PG_KEY_RETIRE, PG_KEY_RESEAL,
	PG_DOC_PUT, PG_DOC_GET, PG_DOC_UPDATE, PG_DOC_TAKE, PG_DOC_DELETE,
	PG_CODE_PUT, PG_CODE_CONSUME, PG_CODE_PEEK,
	PG_GRANT_PUT, PG_GRANT_GET, PG_GRANT_REVOKE, PG_GRANT_REVOKE_SID, PG_GRANT_FIND_PERSON,
	PG_REFRESH_PUT, PG_REFRESH_GET, PG_REFRESH_LOCK, PG_REFRESH_SPEND,
	PG_TOKEN_PUT, PG_TOKEN_GET, PG_TOKEN_FIND_REVOKED,
	PG_SESSION_PUT, PG_SESSION_GET, PG_SESSION_UPDATE, PG_SESSION_DELETE, PG_SESSION_COUNT,
	PG_SESSION_TAKE_EXPIRED, PG_SESSION_TAKE_PERSON, PG_OUTBOX_ADD, PG_OUTBOX_CLAIM,
	PG_OUTBOX_RETRY, PG_OUTBOX_DONE, PG_OUTBOX_DEAD,
	PG_JTI_PUT, PG_JTI_CLEAR, PG_JTI_ADD,
	PG_EVENT_ADD, PG_EVENT_COUNT, PG_EVENT_FIND,
	PG_KRR_GET, PG_KRR_GET_MANY, PG_KRR_PUT, PG_KRR_CHANGES, PG_KRR_LIST, PG_KRR_HISTORY,
	PG_REPR_PERSON_PUT, PG_REPR_PERSON_GET, PG_REPR_ORG_PUT, PG_REPR_RESOURCE_PUT,
	PG_REPR_RESOURCE_GET, PG_REPR_RIGHT_PUT, PG_REPR_REPORTEES, PG_REPR_FULLMAKT_PUT,
	PG_REPR_FULLMAKTS,
	PG_PEOPLE_PUT, PG_PEOPLE_FOREIGN_CLEAR, PG_PEOPLE_FOREIGN_ADD, PG_PEOPLE_GET, PG_PEOPLE_MATCH,
	PG_SWEEP_CODES, PG_SWEEP_DOCS, PG_SWEEP_REFRESH, PG_SWEEP_TOKENS, PG_SWEEP_SESSIONS,
	PG_SWEEP_JTI, PG_SWEEP_OUTBOX, PG_SWEEP_GRANTS,
	PG_BILL_VOLUME, PG_BILL_AUTH, PG_BILL_TOKENS, PG_BILL_DAILY, PG_BILL_COSTS,
	PG_BILL_CUSTOMERS, PG_BILL_EXTRAS, PG_BILL_COST_SET, PG_BILL_CUSTOMER_SET,
	PG_BILL_EXTRA_ADD, PG_BILL_RUN_PUT, PG_BILL_RETAIN, PG_BILL_OLDEST, PG_BILL_RETIRE,
	PG_BILL_LONG,
	PG_N
};

/* The SQL of each statement (pg.c). */
extern const char *const store_pg_sql[PG_N];
/* The plain inserts a transaction may hold back and send later (pg.c, pg_db.c). */
extern const bool store_pg_deferrable[PG_N];

#define PG_MAX_DEFERRED 16         /* writes held back in one transaction, then sent */
#define PG_DEFER_BYTES (64 * 1024) /* and their values' bytes at most */

/*
 * A write of the thread's transaction held back until the next statement
 * whose answer is needed (or the COMMIT), and then sent with it in one
 * pipeline (pg_db.c).
 */
struct pg_deferred {
	enum pg_id id;
	const char *op;          /* the operation's name, for its error */
	int n;
	const char *v[PG_MAX_PARAMS];
	char *buf;               /* the values, copied into one allocation */
};

struct pg_conn {
	struct store_conn base;  /* first: the pool's handle */
	PGconn *db;              /* NULL: not connected (yet, or since the database left) */
	bool prepared[PG_N];     /* prepared on first use, per connection */
	bool begin_due;          /* a BEGIN not sent yet: it goes with the next statement */
	int ndeferred;           /* writes held back (deferred[0 .. ndeferred)) */
	size_t deferred_bytes;
	struct pg_deferred deferred[PG_MAX_DEFERRED];
};

struct pg_watch;

struct pg_store {
	struct store super;      /* first: a struct store * is a struct pg_store * */
	char *target;
	struct store_pool pool;  /* pool.c: connection slots, some not connected */
	int64_t down_since;      /* monotonic ms of the first failed connect; 0 while up
				    (under pool.mu) */
	_Atomic(struct pg_watch *) watch; /* pg_watch.c, started on first use */
	bool watch_tried;        /* under pool.mu */
};

/* Parameters of one statement, packed once so that a retry can reuse them. */
struct pg_args {
	int n;
	const char *v[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24];   /* 'i' and 'b' values as text */
	char *owned[PG_MAX_PARAMS];    /* 'j' and 'a' values as text (freed by store_pg_args_free) */
};

/* One operation in progress: its connection and the last result. */
struct pg_q {
	struct pg_store *ps;
	struct pg_conn *c;
	PGresult *res;
	const char *op;
	bool broken;             /* the connection failed: reconnect and run again */
	bool transient;          /* deadlock or serialisation failure: run again */
	bool in_tx;              /* c belongs to the thread's transaction (tx_begin) */
};

/* An operation body: run again once from the start after a lost connection. */
typedef int (*pg_fn)(struct pg_q *q, void *arg, struct err *e);

/*
 * One connection attempt for c, with the session limits set; application
 * names the connection in pg_stat_activity unless the target does.  On
 * failure *why (the caller's buffer) says why, on one line.
 */
int store_pg_connect_once(struct pg_store *ps, struct pg_conn *c, const char *application,
			  char *why, size_t whylen);

/*
 * The registry watch (pg_watch.c): a thread that LISTENs for changes to
 * clients and scopes and moves an epoch on with each.  store_pg_watch
 * starts it on first use and gives 0 and the epoch while the watch hears
 * from the database, -1 when it cannot vouch for it (then read
 * registry_gen).  store_pg_watch_moved moves the epoch for this node's own
 * change, and once more when the thread's transaction that made it ends
 * (store_pg_watch_tx_ended, from store_pg_tx_end); store_pg_watch_stop
 * ends the thread (store_pg_close).
 */
#define PG_WATCH_BEAT_MS 250      /* the watch reads registry_gen this often */
#define PG_WATCH_LIVE_MS 1000     /* and vouches for the epoch this long after an answer */
int store_pg_watch(struct pg_store *ps, uint64_t *epoch);
void store_pg_watch_moved(struct pg_store *ps);
void store_pg_watch_tx_ended(struct pg_store *ps);
void store_pg_watch_stop(struct pg_store *ps);

/* Errors: ERR_NOTFOUND naming op; the value check of the SQLite backend. */
int store_pg_notfound(struct err *e, const char *op);
int store_pg_nomem(struct err *e, const char *op);
/* kind 'k': a key of 1..PG_MAX_KEY bytes; 'n': the same or NULL; 's': text. */
int store_pg_check_text(const char *v, char kind, const char *op, struct err *e);

/*
 * Pack parameters from fmt: 'k' key, 'n' key or NULL, 's' text, 'i' int64_t,
 * 'b' bool (passed as int), 'j' const json_t * (compact JSON), 'a' const
 * json_t *, an array of keys (a text[] literal, for = ANY($n::text[])).  On
 * failure nothing is left to free.
 */
int store_pg_args(struct pg_args *a, const char *op, struct err *e, const char *fmt, ...);
int store_pg_vargs(struct pg_args *a, const char *op, struct err *e, const char *fmt, va_list ap);
void store_pg_args_free(struct pg_args *a);

/*
 * Run fn with a pooled connection.  When the connection turns out broken
 * (the database restarted) it is re-established, waiting up to
 * PG_RECONNECT_MS, and fn runs once more from the start; fn must reset its
 * outputs first and release them on failure.  ERR_UNAVAILABLE while the
 * database is away.
 */
int store_pg_run(struct store *s, const char *op, pg_fn fn, void *arg, struct err *e);

/* Run prepared statement id; q->res holds the result until the next call. */
int store_pg_exec(struct pg_q *q, enum pg_id id, const struct pg_args *a, struct err *e);
int store_pg_execf(struct pg_q *q, enum pg_id id, struct err *e, const char *fmt, ...);
/*
 * In the thread's transaction: hold statement id back, to go with the next
 * statement whose answer is needed or with the COMMIT, whose failure it
 * then is; elsewhere, or when no more can be held, run it at once.  Only
 * for a write whose answer the caller does not read.
 */
int store_pg_exec_later(struct pg_q *q, enum pg_id id, const struct pg_args *a, struct err *e);
/*
 * "BEGIN", "COMMIT" or "ROLLBACK"; inside the thread's transaction a
 * savepoint, its release, or a rollback to it.
 */
int store_pg_tx(struct pg_q *q, const char *cmd, struct err *e);
/* The thread's transaction (store.h tx_begin, tx_end). */
int store_pg_tx_begin(struct store *s, struct err *e);
int store_pg_tx_end(struct store *s, bool commit, struct err *e);
int store_pg_tx_depth(struct store *s);
/* Rows in q->res, and rows a write touched. */
int store_pg_rows(const struct pg_q *q);
int64_t store_pg_changes(const struct pg_q *q);
/* Column readers: a malloc'd copy (NULL for SQL NULL), a new JSON reference, numbers. */
int store_pg_col_str(struct pg_q *q, int row, int col, char **out, struct err *e);
int store_pg_col_json(struct pg_q *q, int row, int col, json_t **out, struct err *e);
int store_pg_col_i64(struct pg_q *q, int row, int col, int64_t *out, struct err *e);
bool store_pg_col_bool(const struct pg_q *q, int row, int col);
bool store_pg_col_null(const struct pg_q *q, int row, int col);

/* One-statement operations, parameters as for store_pg_args. */
int store_pg_get_doc(struct store *s, enum pg_id id, const char *op, json_t **doc, struct err *e,
		     const char *fmt, ...);
int store_pg_write(struct store *s, enum pg_id id, const char *op, int none, struct err *e,
		   const char *fmt, ...);
/* A JSON array of column 0 of every row the statement gives for the parameters. */
int store_pg_list_docs(struct store *s, enum pg_id id, const char *op, json_t **docs,
		       struct err *e, const char *fmt, ...);
/*
 * Pack fmt's parameters into *a, run fn with them (store_pg_run) and free
 * them: the frame of every one-statement operation.
 */
int store_pg_run_args(struct store *s, const char *op, pg_fn fn, void *arg, struct pg_args *a,
		      struct err *e, const char *fmt, va_list ap);

/* The billing facet (pg_billing.c). */
extern const struct store_billing_ops store_pg_billing;
/*
 * The short-lived documents (facet_doc.h), shared by the facets that list
 * STORE_DOC_OPS, among them the KRR facet in its own file.
 */
int pg_doc_put(struct store *s, const char *kind, const char *id, const json_t *doc,
	       int64_t expires_at, struct err *e);
int pg_doc_get(struct store *s, const char *kind, const char *id, json_t **doc, struct err *e);
int pg_doc_update(struct store *s, const char *kind, const char *id, const json_t *doc,
		  struct err *e);
int pg_doc_take(struct store *s, const char *kind, const char *id, json_t **doc, struct err *e);
int pg_doc_delete(struct store *s, const char *kind, const char *id, struct err *e);

/* The KRR facet (pg_krr.c). */
extern const struct store_krr_ops store_pg_krr;
extern const struct store_repr_ops store_pg_repr;
/* The person register (pg_people.c). */
extern const struct store_people_ops store_pg_people;

int store_pg_open(struct store **out, const struct store_opts *o, struct err *e);
void store_pg_close(struct store *s);

#endif
