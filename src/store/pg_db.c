/*
 * PostgreSQL backend, the database side: the connection pool, statements,
 * reconnection and migrations.
 *
 * Connections: a pool (pool.c) of at most pg_pool_size per store.  A
 * thread takes a connection for the length of one operation and puts it
 * back, so a connection is used by one thread at a time.  Each connection
 * prepares a statement the first time it runs it (named "p<id>"); the
 * prepared set is forgotten when the connection is replaced, and a
 * statement is prepared again on the new one when next used.
 *
 * Round trips: a BEGIN is not sent on its own but with the transaction's
 * first statement, and in the thread's transaction (store.h tx_begin) the
 * inserts whose only failure is the database's own (store_pg_deferrable, and
 * a replay key's two writes, pg_jti_remember in pg.c) are held back and
 * sent with the next statement whose answer is needed, or with the COMMIT:
 * one pipeline (libpq's pipeline mode) and one round trip for all of them.
 * A transaction that sent nothing commits without a round trip.  A held-back insert that fails fails the statement or the
 * COMMIT it went with, and the transaction rolls back whole, as it would
 * have had the insert failed at once.
 *
 * The database going away: a connection found broken (the server restarted,
 * or killed the backend) is replaced and the operation runs once more from
 * its start.  That is safe because an operation is either one statement or
 * one transaction, and a connection that broke before COMMIT was answered
 * committed nothing we relied on; the only window is a COMMIT whose answer
 * was lost, after which a single-use record reads as used (the client sees
 * a refused code and logs in again; nothing is half-written).  Connecting
 * is retried for PG_RECONNECT_MS, so a restart costs callers a short wait;
 * past that, every operation tries once and fails fast with ERR_UNAVAILABLE
 * (the HTTP layer answers 503) until the database is back.
 *
 * Error messages name the operation and at most an SQLSTATE, never bound
 * values nor the server's text (which quotes them): those are hashes of
 * secrets, personal data or client documents.
 */
#ifdef HAVE_LIBPQ

#include "store/pg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/schema_int.h"

#define UNAVAILABLE(e, ...) ERR((e), ERR_UNAVAILABLE, 503, "temporarily_unavailable", __VA_ARGS__)

/* ---- errors ---- */

int
store_pg_notfound(struct err *e, const char *op)
{
	return ERR(e, ERR_NOTFOUND, 0, NULL, "store %s: not found", op);
}

int
store_pg_nomem(struct err *e, const char *op)
{
	return ERR(e, ERR_NOMEM, 500, "server_error", "store %s: out of memory", op);
}

static bool
pg_state_is(const char *state, const char *prefix)
{
	return state != NULL && strncmp(state, prefix, strlen(prefix)) == 0;
}

/*
 * Map a failed result (res may be NULL) to an ERR_* and decide whether the
 * operation may run again: on a new connection (broken) or as it is
 * (transient: nothing was committed).
 */
static int
pg_fail(struct pg_q *q, const PGresult *res, struct err *e)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	/* 08: connection exception; 57P01..03: the server is shutting down or starting */
	if (PQstatus(q->c->db) != CONNECTION_OK || pg_state_is(state, "08") ||
	    pg_state_is(state, "57P0")) {
		q->broken = true;
		return UNAVAILABLE(e, "store %s: database connection lost", q->op);
	}
	if (state == NULL)
		return store_pg_nomem(e, q->op);
	if (strcmp(state, "23505") == 0)
		return ERR(e, ERR_EXISTS, 0, NULL, "store %s: already exists", q->op);
	if (strcmp(state, "23503") == 0)
		return ERR(e, ERR_NOTFOUND, 0, NULL, "store %s: unknown grant", q->op);
	/* serialisation failure, deadlock: rolled back, may simply run again */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		q->transient = true;
		return UNAVAILABLE(e, "store %s: conflict (%s)", q->op, state);
	}
	/* 53: out of resources (too many connections); 55P03 lock wait; 57014 timeout */
	if (pg_state_is(state, "53") || strcmp(state, "55P03") == 0 ||
	    strcmp(state, "57014") == 0)
		return UNAVAILABLE(e, "store %s: database busy (%s)", q->op, state);
	/* 22: a value the database refuses (invalid UTF-8, out of range) */
	if (pg_state_is(state, "22"))
		return ERR(e, ERR_INVAL, 0, NULL, "store %s: value refused (%s)", q->op, state);
	return ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: database error %s", q->op,
		   state);
}

/* ---- parameters ---- */

int
store_pg_check_text(const char *v, char kind, const char *op, struct err *e)
{
	size_t max = kind == 's' ? PG_MAX_TEXT : PG_MAX_KEY;
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

void
store_pg_args_free(struct pg_args *a)
{
	int i;

	if (a == NULL)
		return;
	for (i = 0; i < PG_MAX_PARAMS; i++) {
		free(a->owned[i]);
		a->owned[i] = NULL;
	}
	a->n = 0;
}

/*
 * A JSON array of keys as a text[] literal, {"k1","k2"}: each element
 * quoted, its backslashes and quotes escaped (array_in's rules).
 */
static int
pg_key_array(const json_t *list, char **out, const char *op, struct err *e)
{
	const json_t *v;
	const char *k;
	char *txt, *w;
	size_t i, n = 3;
	int rc;

	*out = NULL;
	if (!json_is_array(list))
		return ERR(e, ERR_INVAL, 0, NULL, "store %s: missing list", op);
	json_array_foreach(list, i, v) {
		k = json_string_value(v);
		rc = store_pg_check_text(k, 'k', op, e);
		if (rc != 0)
			return rc;
		n += 2 * strlen(k) + 3; /* quotes, a comma, every byte escaped at worst */
	}
	txt = malloc(n);
	if (txt == NULL)
		return store_pg_nomem(e, op);
	w = txt;
	*w++ = '{';
	json_array_foreach(list, i, v) {
		if (i != 0)
			*w++ = ',';
		*w++ = '"';
		for (k = json_string_value(v); *k != '\0'; k++) {
			if (*k == '"' || *k == '\\')
				*w++ = '\\';
			*w++ = *k;
		}
		*w++ = '"';
	}
	*w++ = '}';
	*w = '\0';
	*out = txt;
	return 0;
}

int
store_pg_vargs(struct pg_args *a, const char *op, struct err *e, const char *fmt, va_list ap)
{
	const json_t *doc;
	const char *v;
	char *txt;
	int i, rc = 0;

	memset(a, 0, sizeof(*a));
	for (i = 0; fmt[i] != '\0' && rc == 0; i++) {
		if (i == PG_MAX_PARAMS) {
			rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: too many values",
				 op);
			break;
		}
		switch (fmt[i]) {
		case 'k':
		case 'n':
		case 's':
			v = va_arg(ap, const char *);
			rc = store_pg_check_text(v, fmt[i], op, e);
			a->v[i] = v;
			break;
		case 'i':
			snprintf(a->num[i], sizeof(a->num[i]), "%lld",
				 (long long)va_arg(ap, int64_t));
			a->v[i] = a->num[i];
			break;
		case 'b':
			a->v[i] = va_arg(ap, int) ? "true" : "false";
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
			a->owned[i] = txt;
			a->v[i] = txt;
			if (strlen(txt) > PG_MAX_DOC)
				rc = ERR(e, ERR_LIMIT, 0, NULL, "store %s: document too large", op);
			break;
		case 'a':
			rc = pg_key_array(va_arg(ap, const json_t *), &a->owned[i], op, e);
			a->v[i] = a->owned[i];
			break;
		default:
			rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: bad value format",
				 op);
		}
	}
	a->n = i;
	if (rc != 0)
		store_pg_args_free(a);
	return rc;
}

int
store_pg_args(struct pg_args *a, const char *op, struct err *e, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_pg_vargs(a, op, e, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- connections ---- */

static void
pg_notice_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* "relation already exists, skipping" and the like */
}

/* Forget the BEGIN and the writes not sent yet (they were never sent: nothing to undo). */
static void
pg_pending_clear(struct pg_conn *c)
{
	int i;

	for (i = 0; i < c->ndeferred; i++) {
		free(c->deferred[i].buf);
		c->deferred[i].buf = NULL;
	}
	c->ndeferred = 0;
	c->deferred_bytes = 0;
	c->begin_due = false;
}

static void
pg_disconnect(struct pg_conn *c)
{
	PQfinish(c->db);
	c->db = NULL;
	memset(c->prepared, 0, sizeof(c->prepared));
	pg_pending_clear(c);
}

static void
pg_sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Set limits the deployment did not set itself (in the URI's options):
 * no statement or abandoned transaction may hold a worker or locks forever.
 */
static const char pg_session_sql[] =
	"SELECT set_config('statement_timeout', '15s', false)"
	" WHERE current_setting('statement_timeout') IN ('0', '0ms');"
	"SELECT set_config('idle_in_transaction_session_timeout', '60s', false)"
	" WHERE current_setting('idle_in_transaction_session_timeout') IN ('0', '0ms')";

int
store_pg_connect_once(struct pg_store *ps, struct pg_conn *c, const char *application,
		      char *why, size_t whylen)
{
	/* defaults first: the target's own settings override them (expand_dbname) */
	static const char *const kw[] = { "connect_timeout", "application_name", "client_encoding",
					  "keepalives_idle", "keepalives_interval",
					  "keepalives_count", "dbname", NULL };
	const char *val[] = { "3", application, "UTF8", "30", "10", "3", ps->target, NULL };
	PGresult *res;
	size_t n;

	pg_disconnect(c);
	c->db = PQconnectdbParams(kw, val, 1);
	if (c->db != NULL && PQstatus(c->db) == CONNECTION_OK) {
		PQsetNoticeProcessor(c->db, pg_notice_quiet, NULL);
		res = PQexec(c->db, pg_session_sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			PQclear(res);
			return 0;
		}
		PQclear(res);
	}
	snprintf(why, whylen, "%s", c->db != NULL ? PQerrorMessage(c->db) : "out of memory");
	/* one log line: libpq's text spans lines */
	for (n = 0; why[n] != '\0'; n++)
		if (why[n] == '\n' || why[n] == '\t')
			why[n] = ' ';
	while (n > 0 && why[n - 1] == ' ')
		why[--n] = '\0';
	pg_disconnect(c);
	return -1;
}

/*
 * Connect c, retrying while the database has been away for less than
 * PG_RECONNECT_MS (counted from the first failure any thread saw).
 */
static int
pg_connect(struct pg_store *ps, struct pg_conn *c, const char *op, struct err *e)
{
	char why[256];
	int64_t since, now;
	bool first;

	for (;;) {
		if (store_pg_connect_once(ps, c, "portend", why, sizeof(why)) == 0) {
			pthread_mutex_lock(&ps->pool.mu);
			first = ps->down_since != 0;
			ps->down_since = 0;
			pthread_mutex_unlock(&ps->pool.mu);
			if (first)
				log_info(NULL, "store: database reachable again");
			return 0;
		}
		now = time_mono_ms();
		pthread_mutex_lock(&ps->pool.mu);
		first = ps->down_since == 0;
		if (first)
			ps->down_since = now;
		since = ps->down_since;
		pthread_mutex_unlock(&ps->pool.mu);
		if (first)
			log_warn(NULL, "store: database unreachable: %s", why);
		if (now - since >= PG_RECONNECT_MS)
			break;
		pg_sleep_ms(PG_RETRY_SLEEP_MS);
	}
	return UNAVAILABLE(e, "store %s: database unavailable", op);
}

/* Before a connection goes back: never inside a transaction, never broken. */
static void
pg_pool_reset(struct store *s, struct store_conn *bc)
{
	struct pg_conn *c = (struct pg_conn *)bc;
	PGTransactionStatusType ts;
	PGresult *res;

	(void)s;
	pg_pending_clear(c);
	if (c->db != NULL) {
		ts = PQtransactionStatus(c->db);
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
			res = PQexec(c->db, "ROLLBACK");
			PQclear(res);
			ts = PQtransactionStatus(c->db);
		}
		if (ts != PQTRANS_IDLE || PQstatus(c->db) != CONNECTION_OK)
			pg_disconnect(c);
	}
}

/* A new slot: connected by pg_pool_ready. */
static int
pg_pool_open(struct store *s, struct store_conn **out, const char *op, struct err *e)
{
	struct pg_conn *c = calloc(1, sizeof(*c));

	(void)s;
	*out = c != NULL ? &c->base : NULL;
	return c != NULL ? 0 : store_pg_nomem(e, op);
}

/* An idle connection may have been closed by the server since (a restart). */
static int
pg_pool_ready(struct store *s, struct store_conn *bc, const char *op, struct err *e)
{
	struct pg_conn *c = (struct pg_conn *)bc;

	if (c->db != NULL && (PQconsumeInput(c->db) == 0 || PQstatus(c->db) != CONNECTION_OK))
		pg_disconnect(c);
	if (c->db == NULL)
		return pg_connect((struct pg_store *)s, c, op, e);
	return 0;
}

static void
pg_pool_close(struct store_conn *bc)
{
	struct pg_conn *c = (struct pg_conn *)bc;

	pg_disconnect(c);
	free(c);
}

static int
pg_acquire(struct pg_store *ps, struct pg_conn **out, const char *op, struct err *e)
{
	struct store_conn *c = NULL;
	int rc = store_pool_acquire(&ps->pool, &ps->super, &c, op, e);

	*out = (struct pg_conn *)c;
	return rc;
}

static void
pg_release(struct pg_store *ps, struct pg_conn *c)
{
	store_pool_release(&ps->pool, &ps->super, c != NULL ? &c->base : NULL);
}

/* ---- running operations ---- */

static void
pg_q_clear(struct pg_q *q)
{
	PQclear(q->res);
	q->res = NULL;
}

/*
 * Inside the calling thread's transaction (pool.c) an operation runs once:
 * a lost connection or a failed statement (PostgreSQL then refuses the
 * rest of the transaction) dooms the whole, and the caller answers with an
 * error; nothing half-written remains, so the client may simply try again.
 */
/*
 * Connect c again keeping what is due (the BEGIN, held-back writes): none
 * of it reached the database.
 */
static int
pg_reconnect_keep(struct pg_q *q, struct err *e)
{
	struct pg_conn *c = q->c;
	struct pg_deferred saved[PG_MAX_DEFERRED];
	int n = c->ndeferred, rc;
	size_t bytes = c->deferred_bytes;

	memcpy(saved, c->deferred, sizeof(saved));
	c->ndeferred = 0;
	c->deferred_bytes = 0;
	rc = pg_connect(q->ps, c, q->op, e);
	memcpy(c->deferred, saved, sizeof(saved));
	c->ndeferred = n;
	c->deferred_bytes = bytes;
	if (rc != 0)
		pg_pending_clear(c);
	else
		c->begin_due = true;
	return rc;
}

static int
pg_run_in_tx(struct pg_q *q, pg_fn fn, void *arg, struct err *e)
{
	bool unsent;
	int rc;

	if (store_pool_tx_doomed(&q->ps->super))
		return ERR(e, ERR_INTERNAL, 500, "server_error",
			   "store %s: the transaction has already failed", q->op);
	q->c = (struct pg_conn *)store_pool_tx_conn(&q->ps->super);
	q->in_tx = true;
	/* nothing of the transaction has reached the database yet */
	unsent = q->c->begin_due;
	rc = fn(q, arg, e);
	pg_q_clear(q);
	if (rc != 0 && q->broken && unsent) {
		/* a pooled connection that had died while idle: one new one */
		log_info(NULL, "store %s: database connection lost, reconnecting", q->op);
		q->broken = false;
		q->transient = false;
		rc = pg_reconnect_keep(q, e);
		if (rc == 0) {
			rc = fn(q, arg, e);
			pg_q_clear(q);
		} else {
			q->broken = true;
		}
	}
	if (rc != 0 && (q->broken || q->c->db == NULL ||
			(!q->c->begin_due && PQtransactionStatus(q->c->db) != PQTRANS_INTRANS))) {
		store_pool_tx_doom(&q->ps->super,
				   (q->broken || q->transient) ? ERR_UNAVAILABLE : rc);
	}
	return rc;
}

int
store_pg_run(struct store *s, const char *op, pg_fn fn, void *arg, struct err *e)
{
	struct pg_q q = { .ps = (struct pg_store *)s, .op = op };
	int attempt, rc;

	if (store_pool_tx_conn(s) != NULL)
		return pg_run_in_tx(&q, fn, arg, e);
	rc = pg_acquire(q.ps, &q.c, op, e);
	if (rc != 0)
		return rc;
	for (attempt = 0;; attempt++) {
		q.broken = false;
		q.transient = false;
		rc = fn(&q, arg, e);
		pg_q_clear(&q);
		if (rc == 0 || attempt > 0 || !(q.broken || q.transient))
			break;
		if (q.broken) {
			log_info(NULL, "store %s: database connection lost, reconnecting", op);
			rc = pg_connect(q.ps, q.c, op, e);
			if (rc != 0)
				break;
		} else {
			pg_pending_clear(q.c);
			if (PQtransactionStatus(q.c->db) != PQTRANS_IDLE)
				PQclear(PQexec(q.c->db, "ROLLBACK"));
		}
	}
	pg_release(q.ps, q.c);
	return rc;
}

/* ---- pipelines: the BEGIN and the held-back writes with the next statement ---- */

/*
 * Hold statement id back with a copy of its values, to go with the next
 * statement of the transaction.  False when it cannot be (too many, too
 * large, no memory): then it runs at once.
 */
static bool
pg_defer(struct pg_q *q, enum pg_id id, const struct pg_args *a)
{
	struct pg_conn *c = q->c;
	struct pg_deferred *d;
	size_t len[PG_MAX_PARAMS], total = 0, off = 0;
	int i;

	if (c->ndeferred == PG_MAX_DEFERRED)
		return false;
	for (i = 0; i < a->n; i++) {
		len[i] = a->v[i] != NULL ? strlen(a->v[i]) + 1 : 0;
		total += len[i];
	}
	if (c->deferred_bytes + total > PG_DEFER_BYTES)
		return false;
	d = &c->deferred[c->ndeferred];
	memset(d, 0, sizeof(*d));
	d->buf = malloc(total > 0 ? total : 1);
	if (d->buf == NULL)
		return false;
	for (i = 0; i < a->n; i++) {
		if (a->v[i] == NULL)
			continue;
		memcpy(d->buf + off, a->v[i], len[i]);
		d->v[i] = d->buf + off;
		off += len[i];
	}
	d->id = id;
	d->op = q->op;
	d->n = a->n;
	c->ndeferred++;
	c->deferred_bytes += total;
	return true;
}

/* What one pipeline sent, in order, to match the results with. */
struct pg_sent {
	char kind;               /* 'p' a PREPARE of id, 's' a statement, 'c' a command */
	enum pg_id id;
	const char *op;          /* whose error it is */
	bool last;               /* the caller's statement or command: its result is kept */
};

#define PG_PIPE_MAX (2 * (PG_MAX_DEFERRED + 1) + 2)

static bool
pg_send_stmt(struct pg_conn *c, struct pg_sent *sent, int *nsent, enum pg_id id, int n,
	     const char *const *v, const char *op, bool last)
{
	char name[16];

	snprintf(name, sizeof(name), "p%d", (int)id);
	if (!c->prepared[id]) {
		if (!PQsendPrepare(c->db, name, store_pg_sql[id], 0, NULL))
			return false;
		/* prepared once even if it comes twice; undone if the PREPARE fails */
		c->prepared[id] = true;
		sent[(*nsent)++] = (struct pg_sent){ 'p', id, op, false };
	}
	if (!PQsendQueryPrepared(c->db, name, n, v, NULL, NULL, 0))
		return false;
	sent[(*nsent)++] = (struct pg_sent){ 's', id, op, last };
	return true;
}

/*
 * Send the due BEGIN, the held-back writes and then statement id with a
 * (or, with id PG_N, the command cmd) in one pipeline, and read every
 * answer: one round trip.  The first failure is the result, under the name
 * of the operation it belongs to; q->res holds the last answer on success.
 */
static int
pg_pipeline(struct pg_q *q, enum pg_id id, const struct pg_args *a, const char *cmd,
	    struct err *e)
{
	struct pg_conn *c = q->c;
	struct pg_sent sent[PG_PIPE_MAX];
	const char *op = q->op;
	PGresult *res;
	ExecStatusType st;
	int i, nsent = 0, rc = 0;
	bool ok;

	pg_q_clear(q);
	if (PQenterPipelineMode(c->db) != 1) {
		/* only on a connection busy with something else, or gone */
		pg_pending_clear(c);
		if (PQstatus(c->db) != CONNECTION_OK)
			return pg_fail(q, NULL, e);
		return ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: connection busy", op);
	}
	ok = true;
	if (c->begin_due) {
		ok = PQsendQueryParams(c->db, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1;
		sent[nsent++] = (struct pg_sent){ 'c', PG_N, op, false };
	}
	for (i = 0; ok && i < c->ndeferred; i++)
		ok = pg_send_stmt(c, sent, &nsent, c->deferred[i].id, c->deferred[i].n,
				  c->deferred[i].v, c->deferred[i].op, false);
	if (ok && id < PG_N)
		ok = pg_send_stmt(c, sent, &nsent, id, a->n, a->v, op, true);
	else if (ok) {
		ok = PQsendQueryParams(c->db, cmd, 0, NULL, NULL, NULL, NULL, 0) == 1;
		sent[nsent++] = (struct pg_sent){ 'c', PG_N, op, true };
	}
	if (ok)
		ok = PQpipelineSync(c->db) == 1;
	for (i = 0; ok && i < nsent; i++) {
		res = PQgetResult(c->db);
		if (res == NULL) {
			ok = false;
			break;
		}
		st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			if (sent[i].kind == 'p')
				c->prepared[sent[i].id] = false;
			/* after the first failure the rest come back "aborted" */
			if (rc == 0) {
				q->op = sent[i].op;
				rc = pg_fail(q, st == PGRES_PIPELINE_ABORTED ? NULL : res, e);
				q->op = op;
			}
			PQclear(res);
		} else if (sent[i].last && rc == 0) {
			q->res = res;
		} else {
			PQclear(res);
		}
		/* each answer ends with a NULL */
		res = PQgetResult(c->db);
		if (res != NULL) {
			PQclear(res);
			ok = false;
		}
	}
	if (ok) {
		res = PQgetResult(c->db);
		ok = res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
	}
	if (ok)
		ok = PQexitPipelineMode(c->db) == 1;
	if (!ok || q->broken) {
		/*
		 * The connection broke in the middle (or answered out of turn): it
		 * is replaced.  What was due stays due, for pg_run_in_tx to send
		 * again on the new one when nothing of the transaction had gone.
		 */
		for (i = 0; i < nsent; i++)
			if (sent[i].kind == 'p')
				c->prepared[sent[i].id] = false;
		pg_q_clear(q);
		q->broken = true;
		return UNAVAILABLE(e, "store %s: database connection lost", op);
	}
	pg_pending_clear(c);
	if (rc != 0)
		pg_q_clear(q);
	return rc;
}

int
store_pg_exec(struct pg_q *q, enum pg_id id, const struct pg_args *a, struct err *e)
{
	PGresult *res;
	ExecStatusType st;
	char name[16];
	int rc;

	pg_q_clear(q);
	if (q->c->begin_due || q->c->ndeferred > 0)
		return pg_pipeline(q, id, a, NULL, e);
	snprintf(name, sizeof(name), "p%d", (int)id);
	if (!q->c->prepared[id]) {
		res = PQprepare(q->c->db, name, store_pg_sql[id], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = pg_fail(q, res, e);
			PQclear(res);
			return rc;
		}
		PQclear(res);
		q->c->prepared[id] = true;
	}
	res = PQexecPrepared(q->c->db, name, a->n, a->v, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		q->res = res;
		return 0;
	}
	rc = pg_fail(q, res, e);
	PQclear(res);
	return rc;
}

int
store_pg_exec_later(struct pg_q *q, enum pg_id id, const struct pg_args *a, struct err *e)
{
	if (q->in_tx && pg_defer(q, id, a))
		return 0;
	return store_pg_exec(q, id, a, e);
}

int
store_pg_execf(struct pg_q *q, enum pg_id id, struct err *e, const char *fmt, ...)
{
	struct pg_args a;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_pg_vargs(&a, q->op, e, fmt, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	rc = store_pg_exec(q, id, &a, e);
	store_pg_args_free(&a);
	return rc;
}

int
store_pg_tx(struct pg_q *q, const char *cmd, struct err *e)
{
	struct pg_conn *c = q->c;
	PGresult *res;
	int rc = 0;

	pg_q_clear(q);
	if (q->in_tx) {
		/* an operation's own transaction becomes a savepoint of the thread's */
		if (strcmp(cmd, "BEGIN") == 0)
			cmd = "SAVEPOINT op";
		else if (strcmp(cmd, "COMMIT") == 0)
			cmd = "RELEASE SAVEPOINT op";
		else
			cmd = "ROLLBACK TO SAVEPOINT op";
	} else if (strcmp(cmd, "BEGIN") == 0) {
		/* sent with the first statement */
		pg_pending_clear(c);
		c->begin_due = true;
		return 0;
	} else if (strcmp(cmd, "ROLLBACK") == 0) {
		pg_pending_clear(c);
		if (PQtransactionStatus(c->db) == PQTRANS_IDLE)
			return 0;   /* nothing was sent */
	} else if (c->begin_due && c->ndeferred == 0) {
		/* a COMMIT of a transaction that sent nothing */
		c->begin_due = false;
		return 0;
	}
	if (c->begin_due || c->ndeferred > 0)
		return pg_pipeline(q, PG_N, NULL, cmd, e);
	res = PQexec(q->c->db, cmd);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_fail(q, res, e);
	PQclear(res);
	return rc;
}

/*
 * The outermost BEGIN, sent with the first statement.  A pooled connection
 * that died while idle is found by pg_pool_ready when the server closed
 * it; otherwise the first statement finds it broken, and store_tx_run runs
 * the transaction once more on a new one.
 */
static int
pg_pool_begin(struct store *s, struct store_conn *c, struct err *e)
{
	struct pg_q q = { .ps = (struct pg_store *)s, .c = (struct pg_conn *)c, .op = "tx_begin" };

	return store_pg_tx(&q, "BEGIN", e);
}

static int
pg_pool_commit(struct store *s, struct store_conn *c, struct err *e)
{
	struct pg_q q = { .ps = (struct pg_store *)s, .c = (struct pg_conn *)c, .op = "tx_end" };
	int rc;

	rc = store_pg_tx(&q, "COMMIT", e);
	pg_q_clear(&q);
	return rc;
}

static const struct store_backend pg_backend = {
	.conn_open = pg_pool_open,
	.conn_ready = pg_pool_ready,
	.conn_reset = pg_pool_reset,
	.conn_close = pg_pool_close,
	.tx_begin = pg_pool_begin,
	.tx_commit = pg_pool_commit,
};

int
store_pg_tx_begin(struct store *s, struct err *e)
{
	return store_pool_tx_begin(&((struct pg_store *)s)->pool, s, e);
}

int
store_pg_tx_depth(struct store *s)
{
	return store_pool_tx_depth(s);
}

int
store_pg_tx_end(struct store *s, bool commit, struct err *e)
{
	int rc = store_pool_tx_end(&((struct pg_store *)s)->pool, s, commit, e);

	store_pg_watch_tx_ended((struct pg_store *)s);
	return rc;
}

int
store_pg_rows(const struct pg_q *q)
{
	return q->res != NULL ? PQntuples(q->res) : 0;
}

int64_t
store_pg_changes(const struct pg_q *q)
{
	long long n = 0;

	if (q->res == NULL || str_to_ll(str_c(PQcmdTuples(q->res)), 0, INT64_MAX, &n) != 0)
		return 0;
	return n;
}

int
store_pg_col_str(struct pg_q *q, int row, int col, char **out, struct err *e)
{
	*out = NULL;
	if (PQgetisnull(q->res, row, col))
		return 0;
	*out = strdup(PQgetvalue(q->res, row, col));
	return *out != NULL ? 0 : store_pg_nomem(e, q->op);
}

int
store_pg_col_json(struct pg_q *q, int row, int col, json_t **out, struct err *e)
{
	json_error_t jerr;

	*out = NULL;
	if (!PQgetisnull(q->res, row, col))
		*out = json_loadb(PQgetvalue(q->res, row, col),
				  (size_t)PQgetlength(q->res, row, col),
				  JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (*out == NULL)
		return ERR(e, ERR_INTERNAL, 500, "server_error",
			   "store %s: stored document is not JSON", q->op);
	return 0;
}

int
store_pg_col_i64(struct pg_q *q, int row, int col, int64_t *out, struct err *e)
{
	long long v = 0;

	*out = 0;
	if (PQgetisnull(q->res, row, col) ||
	    str_to_ll(str_c(PQgetvalue(q->res, row, col)), INT64_MIN, INT64_MAX, &v) != 0)
		return ERR(e, ERR_INTERNAL, 500, "server_error", "store %s: bad number", q->op);
	*out = v;
	return 0;
}

bool
store_pg_col_bool(const struct pg_q *q, int row, int col)
{
	return !PQgetisnull(q->res, row, col) && PQgetvalue(q->res, row, col)[0] == 't';
}

bool
store_pg_col_null(const struct pg_q *q, int row, int col)
{
	return PQgetisnull(q->res, row, col);
}

/* ---- generic shapes ---- */

struct pg_one {
	enum pg_id id;
	const struct pg_args *a;
	json_t **doc;
	int none;
};

static int
pg_get_doc_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_one *o = arg;
	int rc;

	*o->doc = NULL;
	rc = store_pg_exec(q, o->id, o->a, e);
	if (rc == 0 && store_pg_rows(q) == 0)
		rc = store_pg_notfound(e, q->op);
	if (rc == 0)
		rc = store_pg_col_json(q, 0, 0, o->doc, e);
	return rc;
}

int
store_pg_run_args(struct store *s, const char *op, pg_fn fn, void *arg, struct pg_args *a,
		  struct err *e, const char *fmt, va_list ap)
{
	int rc = store_pg_vargs(a, op, e, fmt, ap);

	if (rc != 0)
		return rc;
	rc = store_pg_run(s, op, fn, arg, e);
	store_pg_args_free(a);
	return rc;
}

/* Run a statement returning at most one doc in column 0 (SELECT or ... RETURNING). */
int
store_pg_get_doc(struct store *s, enum pg_id id, const char *op, json_t **doc, struct err *e,
		 const char *fmt, ...)
{
	struct pg_args a;
	struct pg_one o = { .id = id, .a = &a, .doc = doc };
	va_list ap;
	int rc;

	*doc = NULL;
	va_start(ap, fmt);
	rc = store_pg_run_args(s, op, pg_get_doc_fn, &o, &a, e, fmt, ap);
	va_end(ap);
	return rc;
}

static int
pg_write_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_one *o = arg;
	int rc;

	/* in the thread's transaction, sent with the next statement that needs an answer */
	if (q->in_tx && store_pg_deferrable[o->id] && pg_defer(q, o->id, o->a))
		return 0;
	rc = store_pg_exec(q, o->id, o->a, e);
	if (rc == 0 && store_pg_changes(q) == 0 && o->none != 0)
		rc = o->none == ERR_EXISTS
			     ? ERR(e, ERR_EXISTS, 0, NULL, "store %s: already exists", q->op)
			     : store_pg_notfound(e, q->op);
	return rc;
}

/*
 * Run one write.  When nothing changed: return none (ERR_NOTFOUND or
 * ERR_EXISTS), or 0 when none is 0.
 */
int
store_pg_write(struct store *s, enum pg_id id, const char *op, int none, struct err *e,
	       const char *fmt, ...)
{
	struct pg_args a;
	struct pg_one o = { .id = id, .a = &a, .none = none };
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_pg_run_args(s, op, pg_write_fn, &o, &a, e, fmt, ap);
	va_end(ap);
	return rc;
}

static int
pg_list_fn(struct pg_q *q, void *arg, struct err *e)
{
	struct pg_one *o = arg;
	json_t *arr, *doc;
	int i, rc;

	*o->doc = NULL;
	arr = json_array();
	if (arr == NULL)
		return store_pg_nomem(e, q->op);
	rc = store_pg_exec(q, o->id, o->a, e);
	for (i = 0; rc == 0 && i < store_pg_rows(q); i++) {
		rc = store_pg_col_json(q, i, 0, &doc, e);
		if (rc == 0 && json_array_append_new(arr, doc) != 0)
			rc = store_pg_nomem(e, q->op);
	}
	if (rc == 0)
		*o->doc = arr;
	else
		json_decref(arr);
	return rc;
}

int
store_pg_list_docs(struct store *s, enum pg_id id, const char *op, json_t **docs, struct err *e,
		   const char *fmt, ...)
{
	struct pg_args a;
	struct pg_one o = { .id = id, .a = &a, .doc = docs };
	va_list ap;
	int rc;

	*docs = NULL;
	va_start(ap, fmt);
	rc = store_pg_run_args(s, op, pg_list_fn, &o, &a, e, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- migrate, open, close ---- */

static int
pg_simple(struct pg_q *q, const char *sql, ExecStatusType want, PGresult **keep, struct err *e)
{
	PGresult *res;
	int rc = 0;

	res = PQexec(q->c->db, sql);
	if (PQresultStatus(res) != want)
		rc = pg_fail(q, res, e);
	if (rc == 0 && keep != NULL)
		*keep = res;
	else
		PQclear(res);
	return rc;
}

/*
 * Apply one missing migration per transaction.  The advisory lock makes
 * nodes starting together take turns, so each migration runs exactly once;
 * the version is re-read under the lock.  *done once nothing is missing.
 */
static int
pg_migrate_step(struct pg_q *q, bool *done, struct err *e)
{
	char lock[64], ver[24], now[24];
	const char *params[2] = { ver, now };
	PGresult *res = NULL;
	long long v = 0;
	int rc;

	*done = false;
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%lld)", PG_MIGRATE_LOCK);
	rc = pg_simple(q, "BEGIN", PGRES_COMMAND_OK, NULL, e);
	if (rc == 0)
		rc = pg_simple(q, lock, PGRES_TUPLES_OK, NULL, e);
	if (rc == 0)
		rc = pg_simple(q,
			       "CREATE TABLE IF NOT EXISTS schema_version ("
			       " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
			       PGRES_COMMAND_OK, NULL, e);
	if (rc == 0)
		rc = pg_simple(q, "SELECT coalesce(max(version), 0) FROM schema_version",
			       PGRES_TUPLES_OK, &res, e);
	if (rc == 0 && (PQntuples(res) != 1 ||
			str_to_ll(str_c(PQgetvalue(res, 0, 0)), 0, INT32_MAX, &v) != 0))
		rc = ERR(e, ERR_INTERNAL, 500, "server_error", "store: bad schema version");
	PQclear(res);
	if (rc != 0)
		goto out;
	if ((uint64_t)v >= PG_NMIGRATIONS) {
		/* newer than this build (a rolling upgrade): migrations only add */
		if ((uint64_t)v > PG_NMIGRATIONS)
			log_warn(NULL, "store: schema version %lld is newer than this build's %zu",
				 v, PG_NMIGRATIONS);
		*done = true;
		rc = pg_simple(q, "COMMIT", PGRES_COMMAND_OK, NULL, e);
		goto out;
	}
	rc = pg_simple(q, store_pg_migrations[v], PGRES_COMMAND_OK, NULL, e);
	if (rc != 0)
		goto out;
	snprintf(ver, sizeof(ver), "%lld", v + 1);
	snprintf(now, sizeof(now), "%lld", (long long)time_now());
	res = PQexecParams(q->c->db,
			   "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", 2,
			   NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_fail(q, res, e);
	PQclear(res);
	if (rc == 0)
		rc = pg_simple(q, "COMMIT", PGRES_COMMAND_OK, NULL, e);
	if (rc == 0)
		log_info(NULL, "store: applied schema migration %lld", v + 1);
out:
	return rc;
}

static int
pg_migrate_fn(struct pg_q *q, void *arg, struct err *e)
{
	bool done = false;
	int rc = 0;

	(void)arg;
	while (rc == 0 && !done)
		rc = pg_migrate_step(q, &done, e);
	return rc;
}

void
store_pg_close(struct store *s)
{
	struct pg_store *ps = (struct pg_store *)s;

	if (ps == NULL)
		return;
	store_pg_watch_stop(ps);
	store_pool_destroy(&ps->pool);
	free(ps->target);
	free(ps);
}

int
store_pg_open(struct store **out, const struct store_opts *o, struct err *e)
{
	const char *target = o->target;
	struct pg_store *ps = NULL;
	PQconninfoOption *opts;
	char *why = NULL;
	int rc;

	*out = NULL;
	if (target == NULL || target[0] == '\0' ||
	    strnlen(target, PG_MAX_TARGET + 1) > PG_MAX_TARGET)
		return ERR(e, ERR_INVAL, 0, NULL, "store open: bad PostgreSQL URI");
	/* refuse a malformed URI now rather than retry it as if the server were away */
	opts = PQconninfoParse(target, &why);
	PQfreemem(why);
	if (opts == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "store open: bad PostgreSQL URI");
	PQconninfoFree(opts);
	if (!PQisthreadsafe())
		return ERR(e, ERR_INTERNAL, 500, NULL, "store open: libpq built without threads");
	ps = calloc(1, sizeof(*ps));
	if (ps == NULL)
		return store_pg_nomem(e, "open");
	store_pool_init(&ps->pool, &pg_backend, store_pool_size(o), PG_WAIT_MS);
	ps->target = strdup(target);
	if (ps->target == NULL) {
		rc = store_pg_nomem(e, "open");
		goto out;
	}
	rc = store_pg_run(&ps->super, "open", pg_migrate_fn, NULL, e);
out:
	if (rc != 0)
		store_pg_close(&ps->super);
	else
		*out = &ps->super;
	return rc;
}

#endif /* HAVE_LIBPQ */
