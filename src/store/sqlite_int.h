/*
 * Private to the SQLite backend: the connection pool and the statement
 * helpers (sqlite_db.c) shared with the operations (sqlite.c).
 */
#ifndef PORTEN_STORE_SQLITE_INT_H
#define PORTEN_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/backend_int.h"
#include "store/pool_int.h"

#define SQ_BUSY_MS 5000           /* wait this long for a lock or a connection */
#define SQ_MAX_CONN 64            /* connections per file database */
#define SQ_MAX_TARGET 4096
#define SQ_MAX_KEY 1024           /* ids, kinds, names, hashes */
#define SQ_MAX_TEXT (256 * 1024)  /* sealed keys, JWKs, meta values */
#define SQ_MAX_DOC (1024 * 1024)  /* one JSON document, serialised */
#define SQ_CKPT_MS 200            /* the checkpointer's period */
#define SQ_WAL_SAFETY 8192        /* WAL pages after which a writer checkpoints itself */

enum sq_id {
	SQ_BEGIN, SQ_COMMIT, SQ_ROLLBACK,
	SQ_SAVEPOINT, SQ_RELEASE, SQ_ROLLBACK_TO,
	SQ_META_GET, SQ_META_PUT_NEW,
	SQ_CLIENT_GET, SQ_CLIENT_CREATE, SQ_CLIENT_UPDATE, SQ_CLIENT_DELETE, SQ_CLIENT_LIST,
	SQ_SCOPE_GET, SQ_SCOPE_PUT, SQ_SCOPE_DELETE, SQ_SCOPE_LIST,
	SQ_SAML_SP_GET, SQ_SAML_SP_PUT, SQ_SAML_SP_DELETE, SQ_SAML_SP_LIST,
	SQ_KEY_ADD, SQ_KEY_LIST, SQ_KEY_RETIRE, SQ_KEY_RESEAL,
	SQ_DOC_PUT, SQ_DOC_GET, SQ_DOC_UPDATE, SQ_DOC_TAKE, SQ_DOC_DELETE,
	SQ_CODE_PUT, SQ_CODE_CONSUME, SQ_CODE_PEEK,
	SQ_GRANT_PUT, SQ_GRANT_GET, SQ_GRANT_REVOKE, SQ_GRANT_REVOKE_SID, SQ_GRANT_FIND_PERSON,
	SQ_REFRESH_PUT, SQ_REFRESH_GET, SQ_REFRESH_SPEND,
	SQ_TOKEN_PUT, SQ_TOKEN_GET, SQ_TOKEN_FIND_REVOKED,
	SQ_SESSION_PUT, SQ_SESSION_GET, SQ_SESSION_UPDATE, SQ_SESSION_DELETE, SQ_SESSION_COUNT,
	SQ_SESSION_TAKE_EXPIRED, SQ_SESSION_TAKE_PERSON, SQ_OUTBOX_ADD, SQ_OUTBOX_CLAIM,
	SQ_OUTBOX_RETRY, SQ_OUTBOX_DONE, SQ_OUTBOX_DEAD,
	SQ_JTI_PUT,
	SQ_EVENT_ADD, SQ_EVENT_COUNT, SQ_EVENT_FIND,
	SQ_KRR_GET, SQ_KRR_GET_MANY, SQ_KRR_SEQ_NEXT, SQ_KRR_PREV, SQ_KRR_PUT, SQ_KRR_HIST_ADD,
	SQ_KRR_CHANGES, SQ_KRR_LIST, SQ_KRR_HISTORY,
	SQ_REPR_PERSON_PUT, SQ_REPR_PERSON_GET, SQ_REPR_ORG_PUT, SQ_REPR_RESOURCE_PUT,
	SQ_REPR_RESOURCE_GET, SQ_REPR_RIGHT_PUT, SQ_REPR_REPORTEES, SQ_REPR_FULLMAKT_PUT,
	SQ_REPR_FULLMAKTS,
	SQ_PEOPLE_PUT, SQ_PEOPLE_FOREIGN_CLEAR, SQ_PEOPLE_FOREIGN_ADD, SQ_PEOPLE_GET, SQ_PEOPLE_MATCH,
	SQ_SWEEP_CODES, SQ_SWEEP_DOCS, SQ_SWEEP_REFRESH, SQ_SWEEP_TOKENS, SQ_SWEEP_SESSIONS,
	SQ_SWEEP_JTI, SQ_SWEEP_OUTBOX, SQ_SWEEP_GRANTS,
	SQ_BILL_VOLUME, SQ_BILL_AUTH, SQ_BILL_TOKENS, SQ_BILL_DAILY, SQ_BILL_COSTS,
	SQ_BILL_CUSTOMERS, SQ_BILL_EXTRAS, SQ_BILL_COST_SET, SQ_BILL_CUSTOMER_SET,
	SQ_BILL_EXTRA_ADD, SQ_BILL_RUN_PUT, SQ_BILL_RETAIN, SQ_BILL_OLDEST, SQ_BILL_RETIRE,
	SQ_N
};

/* The SQL of each statement (sqlite.c). */
extern const char *const store_sq_sql[SQ_N];

struct sq_conn {
	struct store_conn base;  /* first: the pool's handle */
	sqlite3 *db;
	sqlite3_stmt *st[SQ_N];  /* prepared on first use */
};

struct sq_store {
	struct store super;      /* first: a struct store * is a struct sq_store * */
	char *target;
	bool memory;             /* one connection holds the whole database */
	struct store_pool pool;  /* pool.c; its mu also guards ckpt_stop */
	/* WAL checkpoints on a thread of their own (file databases) */
	pthread_t ckpt;
	bool ckpt_running;
	bool ckpt_stop;          /* under pool.mu */
	pthread_cond_t ckpt_cv;  /* wakes the checkpointer to stop */
};

/* One operation in progress: its connection and current statement. */
struct sq_q {
	struct sq_store *ss;
	struct sq_conn *c;
	sqlite3_stmt *st;
	const char *op;
	bool in_tx;              /* c belongs to the thread's transaction (tx_begin) */
};

/* Busy handler of every connection: short sleeps up to SQ_BUSY_MS in all. */
int sq_busy_wait(void *ctx, int count);

/* Errors: map an SQLite result code; ERR_NOTFOUND naming op. */
int store_sq_fail(struct err *e, int rc, const char *op);
int store_sq_notfound(struct err *e, const char *op);
/* kind 'k': a key of 1..SQ_MAX_KEY bytes; 'n': the same or NULL; 's': text. */
int store_sq_check_text(const char *v, char kind, const char *op, struct err *e);

/* An operation: take a connection (start), run statements, give it back (end). */
int store_sq_start(struct sq_q *q, struct store *s, const char *op, struct err *e);
void store_sq_end(struct sq_q *q);
/*
 * Make statement id current with parameters bound from fmt: 'k' key, 'n'
 * key or NULL, 's' text, 'i' int64_t, 'j' const json_t * (compact JSON).
 */
int store_sq_stmt(struct sq_q *q, enum sq_id id, struct err *e, const char *fmt, ...);
/* Step once: 1 = a row, 0 = done, or a negative ERR_*. */
int store_sq_step(struct sq_q *q, struct err *e);
/* Run to the end (a write commits there in autocommit); *changes if not NULL. */
int store_sq_finish(struct sq_q *q, int64_t *changes, struct err *e);
/*
 * SQ_BEGIN (immediate), SQ_COMMIT or SQ_ROLLBACK; inside the thread's
 * transaction a savepoint, its release, or a rollback to it.
 */
int store_sq_tx(struct sq_q *q, enum sq_id id, struct err *e);
/* Column readers: a malloc'd copy (NULL for SQL NULL), a new JSON reference. */
int store_sq_col_str(struct sq_q *q, int col, char **out, struct err *e);
int store_sq_col_json(struct sq_q *q, int col, json_t **out, struct err *e);

/* One-statement operations. */
int store_sq_get_doc(struct store *s, enum sq_id id, const char *op, json_t **doc, struct err *e,
		     const char *fmt, ...);
int store_sq_write(struct store *s, enum sq_id id, const char *op, int none, struct err *e,
		   const char *fmt, ...);
/* A JSON array of column 0 of every row the statement gives for the parameters. */
int store_sq_list_docs(struct store *s, enum sq_id id, const char *op, json_t **docs,
		       struct err *e, const char *fmt, ...);

/* The thread's transaction (store.h tx_begin, tx_end). */
int store_sq_tx_begin(struct store *s, struct err *e);
int store_sq_tx_end(struct store *s, bool commit, struct err *e);
int store_sq_tx_depth(struct store *s);

/* The billing facet (sqlite_billing.c). */
extern const struct store_billing_ops store_sq_billing;
/*
 * The short-lived documents (facet_doc.h), shared by the facets that list
 * STORE_DOC_OPS, among them the KRR facet in its own file.
 */
int sq_doc_put(struct store *s, const char *kind, const char *id, const json_t *doc,
	       int64_t expires_at, struct err *e);
int sq_doc_get(struct store *s, const char *kind, const char *id, json_t **doc, struct err *e);
int sq_doc_update(struct store *s, const char *kind, const char *id, const json_t *doc,
		  struct err *e);
int sq_doc_take(struct store *s, const char *kind, const char *id, json_t **doc, struct err *e);
int sq_doc_delete(struct store *s, const char *kind, const char *id, struct err *e);

/* The KRR facet (sqlite_krr.c). */
extern const struct store_krr_ops store_sq_krr;
extern const struct store_repr_ops store_sq_repr;
/* The person register (sqlite_people.c). */
extern const struct store_people_ops store_sq_people;

int store_sq_open(struct store **out, const struct store_opts *o, struct err *e);
void store_sq_close(struct store *s);

/*
 * The name of the VFS for file databases (sqlite_vfs.c): the default one,
 * with a commit's WAL frames written in one call; NULL (the default VFS)
 * when it cannot be registered.
 */
const char *store_sq_vfs(void);
/*
 * Every connection opened on that VFS must have this called once, before
 * its first write: it sets the connection's rollback hook, which drops
 * the frames of a transaction that ends without a commit.
 */
void store_sq_vfs_watch(sqlite3 *db);

#endif
