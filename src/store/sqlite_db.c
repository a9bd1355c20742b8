/*
 * SQLite backend, the database side: connections, statements, migrations.
 *
 * Connections: a small pool per store (pool.c).  A thread takes a
 * connection for the length of one operation and puts it back, so each
 * connection is used by one thread at a time (SQLITE_OPEN_NOMUTEX) and a
 * thread that exits leaks nothing.  Each connection caches its prepared statements
 * (SQLITE_PREPARE_PERSISTENT).  An in-memory database lives in exactly one
 * connection, so its pool holds one connection and threads take turns.
 *
 * Error messages name the operation, never the bound values: those are
 * hashes of secrets, personal data or client documents.
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/schema_int.h"

/* ---- errors ---- */

int
store_sq_fail(struct err *e, int rc, const char *op)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ERR(e, ERR_UNAVAILABLE, 503, "temporarily_unavailable",
			   "store %s: database busy", op);
	case SQLITE_NOMEM:
		return ERR(e, ERR_NOMEM, 500, "server_error", "store %s: out of memory", op);
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
			return ERR(e, ERR_EXISTS, 0, NULL, "store %s: already exists", op);
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return ERR(e, ERR_NOTFOUND, 0, NULL, "store %s: unknown grant", op);
		break;
	}
	return ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: %s (%d)", op,
		   sqlite3_errstr(rc), rc);
}

int
store_sq_notfound(struct err *e, const char *op)
{
	return ERR(e, ERR_NOTFOUND, 0, NULL, "store %s: not found", op);
}

/* ---- connections ---- */

static void
sq_conn_close(struct sq_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < SQ_N; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

static int
sq_exec(sqlite3 *db, const char *sql, const char *op, struct err *e)
{
	int rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_sq_fail(e, rc, op);
}

static int
sq_conn_open(struct sq_store *ss, struct sq_conn **out, struct err *e)
{
	struct sq_conn *c;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI |
		    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ERR(e, ERR_NOMEM, 500, "server_error", "store open: out of memory");
	rc = sqlite3_open_v2(ss->target, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		rc = ERR(e, rc == SQLITE_CANTOPEN ? ERR_IO : ERR_INTERNAL, 500, "server_error",
			 "store open: cannot open the database: %s", sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_handler(c->db, sq_busy_wait, NULL);
	/* harden: no writes to the schema by SQL, no functions from it, no "x" literals */
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
	sqlite3_limit(c->db, SQLITE_LIMIT_LENGTH, 4 * SQ_MAX_DOC);
	rc = sq_exec(c->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", "open", e);
	if (rc == 0 && !ss->memory) {
		/*
		 * Checkpoints belong to the checkpointer thread; a writer does
		 * one itself only when the WAL has grown far (the checkpointer
		 * stalled).  No mmap: a read error through it is SIGBUS, where
		 * pread gives an error the request can answer.
		 */
		sqlite3_wal_autocheckpoint(c->db, SQ_WAL_SAFETY);
	}
out:
	if (rc != 0)
		sq_conn_close(c);
	else
		*out = c;
	return rc;
}

static int
sq_acquire(struct sq_store *ss, struct sq_conn **out, const char *op, struct err *e)
{
	struct store_conn *c = NULL;
	int rc = store_pool_acquire(&ss->pool, &ss->super, &c, op, e);

	*out = (struct sq_conn *)c;
	return rc;
}

static void
sq_release(struct sq_store *ss, struct sq_conn *c)
{
	store_pool_release(&ss->pool, &ss->super, c != NULL ? &c->base : NULL);
}

/* ---- the pool's hooks ---- */

static int
sq_pool_open(struct store *s, struct store_conn **out, const char *op, struct err *e)
{
	struct sq_conn *c = NULL;
	int rc = sq_conn_open((struct sq_store *)s, &c, e);

	(void)op;
	*out = c != NULL ? &c->base : NULL;
	return rc;
}

/* never hand on a connection inside a transaction */
static void
sq_pool_reset(struct store *s, struct store_conn *bc)
{
	struct sq_conn *c = (struct sq_conn *)bc;

	(void)s;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

static void
sq_pool_close(struct store_conn *c)
{
	sq_conn_close((struct sq_conn *)c);
}

static int sq_tx_stmt(struct sq_q *q, enum sq_id id, struct err *e);

static int
sq_pool_begin(struct store *s, struct store_conn *c, struct err *e)
{
	struct sq_q q = { .ss = (struct sq_store *)s, .c = (struct sq_conn *)c, .op = "tx_begin" };

	return sq_tx_stmt(&q, SQ_BEGIN, e);
}

static int
sq_pool_commit(struct store *s, struct store_conn *c, struct err *e)
{
	struct sq_q q = { .ss = (struct sq_store *)s, .c = (struct sq_conn *)c, .op = "tx_end" };

	return sq_tx_stmt(&q, SQ_COMMIT, e);
}

static const struct store_backend sq_backend = {
	.conn_open = sq_pool_open,
	.conn_reset = sq_pool_reset,
	.conn_close = sq_pool_close,
	.tx_begin = sq_pool_begin,
	.tx_commit = sq_pool_commit,
};

/* ---- statements ---- */

int
store_sq_check_text(const char *v, char kind, const char *op, struct err *e)
{
	size_t max = kind == 's' ? SQ_MAX_TEXT : SQ_MAX_KEY;
	size_t n;

	if (v == NULL)
		return kind == 'n' ? 0 : ERR(e, ERR_INVAL, 0, NULL, "store %s: missing value", op);
	n = strnlen(v, max + 1);
	if (n == 0 && kind != 's')
		return ERR(e, ERR_INVAL, 0, NULL, "store %s: empty key", op);
	if (n > max)
		return ERR(e, ERR_INVAL, 0, NULL, "store %s: value too long", op);
	return 0;
}

/*
 * Bind parameters 1..n from fmt: 'k' key (1..SQ_MAX_KEY bytes), 'n' key or
 * NULL, 's' text (up to SQ_MAX_TEXT), 'i' int64_t, 'j' const json_t *
 * stored as compact JSON text.
 */
static int
sq_vbind(sqlite3_stmt *st, const char *op, struct err *e, const char *fmt, va_list ap)
{
	const char *v;
	const json_t *doc;
	char *txt;
	size_t len;
	int i, rc = 0, src;

	for (i = 0; fmt[i] != '\0' && rc == 0; i++) {
		src = SQLITE_OK;
		switch (fmt[i]) {
		case 'k':
		case 'n':
		case 's':
			v = va_arg(ap, const char *);
			rc = store_sq_check_text(v, fmt[i], op, e);
			if (rc == 0)
				src = sqlite3_bind_text(st, i + 1, v, -1, SQLITE_STATIC);
			break;
		case 'i':
			src = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'j':
			doc = va_arg(ap, const json_t *);
			if (doc == NULL) {
				rc = ERR(e, ERR_INVAL, 0, NULL, "store %s: missing document", op);
				break;
			}
			txt = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
			if (txt == NULL) {
				rc = ERR(e, ERR_INVAL, 0, NULL,
					 "store %s: document not serialisable", op);
				break;
			}
			len = strlen(txt);
			if (len > SQ_MAX_DOC)
				rc = ERR(e, ERR_LIMIT, 0, NULL, "store %s: document too large", op);
			else
				src = sqlite3_bind_text(st, i + 1, txt, (int)len, SQLITE_TRANSIENT);
			free(txt);
			break;
		default:
			rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: bad bind format",
				 op);
		}
		if (rc == 0 && src != SQLITE_OK)
			rc = store_sq_fail(e, src, op);
	}
	return rc;
}

static void
sq_reset(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

int
store_sq_start(struct sq_q *q, struct store *s, const char *op, struct err *e)
{
	q->ss = (struct sq_store *)s;
	q->c = NULL;
	q->st = NULL;
	q->op = op;
	q->c = (struct sq_conn *)store_pool_tx_conn(s);
	q->in_tx = q->c != NULL;
	if (q->in_tx) {
		/* after SQLite rolled the transaction back, a write would commit alone */
		if (store_pool_tx_doomed(s))
			return ERR(e, ERR_INTERNAL, 500, "server_error",
				   "store %s: the transaction has already failed", op);
		return 0;
	}
	return sq_acquire(q->ss, &q->c, op, e);
}

void
store_sq_end(struct sq_q *q)
{
	sq_reset(q->st);
	q->st = NULL;
	/*
	 * SQLite ends the whole transaction by itself on some errors (I/O,
	 * disk full, out of memory): then it must not go on in autocommit.
	 */
	if (q->in_tx && q->c != NULL && sqlite3_get_autocommit(q->c->db))
		store_pool_tx_doom(&q->ss->super, 0);
	if (!q->in_tx)
		sq_release(q->ss, q->c);
	q->c = NULL;
}

/* Make statement id the current one, with its parameters bound. */
static int
sq_vstmt(struct sq_q *q, enum sq_id id, struct err *e, const char *fmt, va_list ap)
{
	sqlite3_stmt **slot = &q->c->st[id];
	int rc;

	sq_reset(q->st);
	q->st = NULL;
	if (*slot == NULL) {
		rc = sqlite3_prepare_v3(q->c->db, store_sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					slot, NULL);
		if (rc != SQLITE_OK)
			return store_sq_fail(e, rc, q->op);
	}
	q->st = *slot;
	return sq_vbind(q->st, q->op, e, fmt, ap);
}

int
store_sq_stmt(struct sq_q *q, enum sq_id id, struct err *e, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sq_vstmt(q, id, e, fmt, ap);
	va_end(ap);
	return rc;
}

/* Step once: 1 = a row, 0 = done, or a negative ERR_*. */
int
store_sq_step(struct sq_q *q, struct err *e)
{
	int rc;

	rc = sqlite3_step(q->st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_sq_fail(e, rc, q->op);
}

/* Run the current statement to its end (a write commits there); *changes if asked. */
int
store_sq_finish(struct sq_q *q, int64_t *changes, struct err *e)
{
	int rc;

	while ((rc = store_sq_step(q, e)) == 1)
		;
	if (rc == 0 && changes != NULL)
		*changes = sqlite3_changes64(q->c->db);
	return rc;
}

static int
sq_tx_stmt(struct sq_q *q, enum sq_id id, struct err *e)
{
	int rc;

	rc = store_sq_stmt(q, id, e, "");
	if (rc == 0)
		rc = store_sq_finish(q, NULL, e);
	sq_reset(q->st);
	q->st = NULL;
	return rc;
}

/*
 * BEGIN IMMEDIATE, COMMIT or ROLLBACK on the operation's connection; an
 * operation inside the thread's transaction gets a savepoint instead, so
 * its own all-or-nothing still holds and the outer transaction goes on.
 */
int
store_sq_tx(struct sq_q *q, enum sq_id id, struct err *e)
{
	int rc;

	if (!q->in_tx)
		return sq_tx_stmt(q, id, e);
	switch (id) {
	case SQ_BEGIN:
		return sq_tx_stmt(q, SQ_SAVEPOINT, e);
	case SQ_COMMIT:
		return sq_tx_stmt(q, SQ_RELEASE, e);
	default:
		rc = sq_tx_stmt(q, SQ_ROLLBACK_TO, e);
		if (rc == 0)
			rc = sq_tx_stmt(q, SQ_RELEASE, e);
		if (rc != 0)
			store_pool_tx_doom(&q->ss->super, 0);
		return rc;
	}
}

int
store_sq_tx_begin(struct store *s, struct err *e)
{
	return store_pool_tx_begin(&((struct sq_store *)s)->pool, s, e);
}

int
store_sq_tx_depth(struct store *s)
{
	return store_pool_tx_depth(s);
}

int
store_sq_tx_end(struct store *s, bool commit, struct err *e)
{
	return store_pool_tx_end(&((struct sq_store *)s)->pool, s, commit, e);
}

int
store_sq_col_str(struct sq_q *q, int col, char **out, struct err *e)
{
	const unsigned char *t;
	int n;

	*out = NULL;
	if (sqlite3_column_type(q->st, col) == SQLITE_NULL)
		return 0;
	t = sqlite3_column_text(q->st, col);
	if (t == NULL)
		return store_sq_fail(e, SQLITE_NOMEM, q->op);
	n = sqlite3_column_bytes(q->st, col);
	*out = malloc((size_t)n + 1);
	if (*out == NULL)
		return store_sq_fail(e, SQLITE_NOMEM, q->op);
	memcpy(*out, t, (size_t)n);
	(*out)[n] = '\0';
	return 0;
}

int
store_sq_col_json(struct sq_q *q, int col, json_t **out, struct err *e)
{
	const char *t;
	json_error_t jerr;

	*out = NULL;
	t = (const char *)sqlite3_column_text(q->st, col);
	if (t != NULL)
		*out = json_loadb(t, (size_t)sqlite3_column_bytes(q->st, col),
				  JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (*out == NULL)
		return ERR(e, ERR_INTERNAL, 500, "server_error",
			   "store %s: stored document is not JSON", q->op);
	return 0;
}

/* ---- generic shapes ---- */

/* Run a statement returning at most one doc in column 0 (SELECT or ... RETURNING). */
int
store_sq_get_doc(struct store *s, enum sq_id id, const char *op, json_t **doc, struct err *e,
		 const char *fmt, ...)
{
	struct sq_q q;
	va_list ap;
	int rc;

	*doc = NULL;
	rc = store_sq_start(&q, s, op, e);
	if (rc != 0)
		goto out;
	va_start(ap, fmt);
	rc = sq_vstmt(&q, id, e, fmt, ap);
	va_end(ap);
	if (rc != 0)
		goto out;
	rc = store_sq_step(&q, e);
	if (rc == 0)
		rc = store_sq_notfound(e, op);
	if (rc < 0)
		goto out;
	rc = store_sq_col_json(&q, 0, doc, e);
	if (rc == 0)
		rc = store_sq_finish(&q, NULL, e);
out:
	if (rc != 0) {
		json_decref(*doc);
		*doc = NULL;
	}
	store_sq_end(&q);
	return rc;
}

/*
 * Wait for SQLite's one writer.  The built-in busy timeout sleeps in steps
 * growing to 100 ms, so under load writers sleep long after the lock is
 * free; short sleeps hand the lock over in well under a millisecond.  Gives
 * up after SQ_BUSY_MS in all (ERR_UNAVAILABLE upstream).
 */
int
sq_busy_wait(void *ctx, int count)
{
	/* Sleeps of 50 µs growing to 2 ms: about SQ_BUSY_MS after ~2600 calls. */
	long us = count < 40 ? 50L * (count + 1) : 2000L;
	long long waited = count < 40 ? 25LL * count * (count + 1) : 41000LL + 2000LL * (count - 40);

	(void)ctx;
	if (waited / 1000 >= SQ_BUSY_MS)
		return 0;
	usleep((useconds_t)us);
	return 1;
}

/*
 * Run one write.  When nothing changed: return none (ERR_NOTFOUND or
 * ERR_EXISTS), or 0 when none is 0.
 */
int
store_sq_write(struct store *s, enum sq_id id, const char *op, int none, struct err *e,
	       const char *fmt, ...)
{
	struct sq_q q;
	int64_t changes = 0;
	va_list ap;
	int rc;

	rc = store_sq_start(&q, s, op, e);
	if (rc != 0)
		goto out;
	va_start(ap, fmt);
	rc = sq_vstmt(&q, id, e, fmt, ap);
	va_end(ap);
	if (rc != 0)
		goto out;
	rc = store_sq_finish(&q, &changes, e);
	if (rc == 0 && changes == 0 && none != 0)
		rc = none == ERR_EXISTS
			     ? ERR(e, ERR_EXISTS, 0, NULL, "store %s: already exists", op)
			     : store_sq_notfound(e, op);
out:
	store_sq_end(&q);
	return rc;
}

/* A JSON array of column 0 of every row. */
int
store_sq_list_docs(struct store *s, enum sq_id id, const char *op, json_t **docs, struct err *e,
		   const char *fmt, ...)
{
	struct sq_q q;
	json_t *arr, *doc = NULL;
	va_list ap;
	int rc;

	*docs = NULL;
	arr = json_array();
	rc = store_sq_start(&q, s, op, e);
	if (rc != 0)
		goto out;
	if (arr == NULL) {
		rc = store_sq_fail(e, SQLITE_NOMEM, op);
		goto out;
	}
	va_start(ap, fmt);
	rc = sq_vstmt(&q, id, e, fmt, ap);
	va_end(ap);
	while (rc == 0 && (rc = store_sq_step(&q, e)) == 1) {
		rc = store_sq_col_json(&q, 0, &doc, e);
		if (rc == 0 && json_array_append_new(arr, doc) != 0)
			rc = store_sq_fail(e, SQLITE_NOMEM, op);
	}
out:
	store_sq_end(&q);
	if (rc == 0)
		*docs = arr;
	else
		json_decref(arr);
	return rc;
}

/* ---- the checkpointer ---- */

/*
 * A thread of its own copies the WAL into the database every SQ_CKPT_MS,
 * so that requests do not: with SQLite's default a commit that crosses
 * 1000 WAL pages runs the checkpoint, fdatasync included, before its HTTP
 * response goes out.  PASSIVE never waits for readers or writers; what it
 * cannot copy now it copies next time.
 *
 * The WAL starts again from its beginning only when a writer finds every
 * frame copied as its transaction starts; under steady writes some always
 * arrive while a checkpoint runs, so copy again (each pass has less to do)
 * until none did.  Under steady load the restart comes at the writer's own
 * (SQ_WAL_SAFETY) checkpoint; by then nearly every frame is copied, so that
 * one costs little.
 */
static void
sq_ckpt_once(sqlite3 *db)
{
	int nlog = 0, nckpt = 0;

	for (int pass = 0; pass < 8; pass++) {
		if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog,
					      &nckpt) != SQLITE_OK ||
		    nckpt >= nlog)
			break;
	}
}

static void *
sq_ckpt_main(void *arg)
{
	struct sq_store *ss = arg;
	sqlite3 *db = NULL;
	struct timespec until;

	if (sqlite3_open_v2(ss->target, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI |
						     SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    /* a connection learns the file is in WAL mode on its first read */
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK) {
		log_warn(NULL, "store: checkpointer cannot open the database; writers checkpoint");
		sqlite3_close(db);
		return NULL;
	}
	pthread_mutex_lock(&ss->pool.mu);
	while (!ss->ckpt_stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += SQ_CKPT_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ss->ckpt_cv, &ss->pool.mu, &until);
		if (ss->ckpt_stop)
			break;
		pthread_mutex_unlock(&ss->pool.mu);
		sq_ckpt_once(db);
		pthread_mutex_lock(&ss->pool.mu);
	}
	pthread_mutex_unlock(&ss->pool.mu);
	sqlite3_close(db);
	return NULL;
}

static void
sq_ckpt_start(struct sq_store *ss)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ss->ckpt_cv, &ca);
	pthread_condattr_destroy(&ca);
	ss->ckpt_running = pthread_create(&ss->ckpt, NULL, sq_ckpt_main, ss) == 0;
	if (!ss->ckpt_running) {
		pthread_cond_destroy(&ss->ckpt_cv);
		log_warn(NULL, "store: no checkpointer thread; writers checkpoint");
	}
}

static void
sq_ckpt_stop(struct sq_store *ss)
{
	if (!ss->ckpt_running)
		return;
	pthread_mutex_lock(&ss->pool.mu);
	ss->ckpt_stop = true;
	pthread_cond_signal(&ss->ckpt_cv);
	pthread_mutex_unlock(&ss->pool.mu);
	pthread_join(ss->ckpt, NULL);
	pthread_cond_destroy(&ss->ckpt_cv);
	ss->ckpt_running = false;
}

/* ---- open, migrate, close ---- */

static int
sq_wal(struct sq_conn *c, struct err *e)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc;

	rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = store_sq_fail(e, rc, "open");
		goto out;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0)
		log_warn(NULL, "store: journal mode is %s, not wal", mode ? mode : "unknown");
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* The highest migration applied (0 on a new database). */
static int
sq_schema_version(sqlite3 *db, int64_t *v, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = store_sq_fail(e, rc, "migrate");
	}
	sqlite3_finalize(st);
	return rc;
}

static int
sq_record_version(sqlite3 *db, int64_t v, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db,
				"INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, v);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, time_now());
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : store_sq_fail(e, rc, "migrate");
	sqlite3_finalize(st);
	return rc;
}

/*
 * Apply the missing migrations, each in its own BEGIN IMMEDIATE transaction
 * that re-reads the version under the write lock, so processes opening the
 * same database at once apply each migration exactly once.
 */
static int
sq_migrate(struct sq_conn *c, struct err *e)
{
	int64_t v = 0;
	int rc;

	for (;;) {
		rc = sq_exec(c->db, "BEGIN IMMEDIATE", "migrate", e);
		if (rc != 0)
			return rc;
		rc = sq_exec(c->db,
			     "CREATE TABLE IF NOT EXISTS schema_version ("
			     " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
			     "migrate", e);
		if (rc == 0)
			rc = sq_schema_version(c->db, &v, e);
		if (rc != 0)
			goto fail;
		if (v < 0) {
			rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store: bad schema version");
			goto fail;
		}
		if ((uint64_t)v >= SQ_NMIGRATIONS)
			break;
		rc = sq_exec(c->db, store_sq_migrations[v], "migrate", e);
		if (rc == 0)
			rc = sq_record_version(c->db, v + 1, e);
		if (rc == 0)
			rc = sq_exec(c->db, "COMMIT", "migrate", e);
		if (rc != 0)
			goto fail;
		log_info(NULL, "store: applied schema migration %lld", (long long)v + 1);
	}
	/* newer than this build (during a rolling upgrade): migrations only add */
	if ((uint64_t)v > SQ_NMIGRATIONS)
		log_warn(NULL, "store: schema version %lld is newer than this build's %zu",
			 (long long)v, SQ_NMIGRATIONS);
	return sq_exec(c->db, "COMMIT", "migrate", e);
fail:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static bool
sq_is_memory(const char *target)
{
	if (strcmp(target, ":memory:") == 0 || strncmp(target, "file::memory:", 13) == 0)
		return true;
	return strncmp(target, "file:", 5) == 0 && strstr(target, "mode=memory") != NULL;
}

void
store_sq_close(struct store *s)
{
	struct sq_store *ss = (struct sq_store *)s;

	if (ss == NULL)
		return;
	sq_ckpt_stop(ss);
	store_pool_destroy(&ss->pool);
	free(ss->target);
	free(ss);
}

int
store_sq_open(struct store **out, const struct store_opts *o, struct err *e)
{
	const char *target = o->target;
	struct sq_store *ss = NULL;
	struct sq_conn *c = NULL;
	int rc;

	*out = NULL;
	if (target == NULL || target[0] == '\0' ||
	    strnlen(target, SQ_MAX_TARGET + 1) > SQ_MAX_TARGET)
		return ERR(e, ERR_INVAL, 0, NULL, "store open: bad database path");
	if (!sqlite3_threadsafe())
		return ERR(e, ERR_INTERNAL, 500, NULL, "store open: SQLite built without threads");
	ss = calloc(1, sizeof(*ss));
	if (ss == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "store open: out of memory");
	/* an in-memory database exists once per connection: keep exactly one */
	ss->memory = sq_is_memory(target);
	store_pool_init(&ss->pool, &sq_backend, ss->memory ? 1 : SQ_MAX_CONN, SQ_BUSY_MS);
	ss->target = strdup(target);
	if (ss->target == NULL) {
		rc = ERR(e, ERR_NOMEM, 500, NULL, "store open: out of memory");
		goto out;
	}
	rc = sq_acquire(ss, &c, "open", e);
	if (rc == 0 && !ss->memory)
		rc = sq_wal(c, e);
	if (rc == 0)
		rc = sq_migrate(c, e);
	sq_release(ss, c);
	if (rc == 0 && !ss->memory)
		sq_ckpt_start(ss);
out:
	if (rc != 0)
		store_sq_close(&ss->super);
	else
		*out = &ss->super;
	return rc;
}
