/*
 * Tests for the PostgreSQL store backend (store/store.h): the shared cases
 * of store_cases.h, each on a fresh schema of the server named by
 * PORTEN_TEST_PG (a postgresql:// URI; tools/pg-test.sh starts one), and
 * what is PostgreSQL's own: URIs, migrations on reopen and at concurrent
 * open, the pool size, killed connections, the database going away and
 * coming back (through a loopback relay the test cuts), batched sweeps,
 * append-only events, values the database refuses, a tampered row.
 *
 * Without PORTEN_TEST_PG the suite is skipped, saying so.
 */
#ifndef HAVE_LIBPQ
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void
test_pg_not_built(void **state)
{
	(void)state;
	print_message("built without the PostgreSQL backend (WITH_PG=OFF): skipped\n");
	skip();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg_not_built),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store/pg_int.h"
#include "store/schema_int.h"
#include "store_cases.h"
#include "golden.h"

static const char *pg_base; /* PORTEN_TEST_PG */

/* ---- fixture: one schema per case ---- */

struct pgfx {
	struct fx f;     /* first: the shared cases see a struct fx */
	char schema[64];
	char uri[1024];
};

/* base with extra query parameters appended. */
static void
uri_with(char *out, size_t n, const char *base, const char *params)
{
	int w = snprintf(out, n, "%s%s%s", base, strchr(base, '?') ? "&" : "?", params);

	assert_true(w > 0 && (size_t)w < n);
}

static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *
admin(void)
{
	const char *kw[] = { "dbname", NULL };
	const char *val[] = { pg_base, NULL };
	PGconn *c = PQconnectdbParams(kw, val, 1);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to PORTEN_TEST_PG: %s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL); /* "drop cascades to ..." */
	return c;
}

static void
sql(const char *q)
{
	PGconn *c = admin();
	PGresult *r = PQexec(c, q);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

/* The first column of the first row of q as a number (-1 if no row). */
static int64_t
sql_num(const char *q)
{
	PGconn *c = admin();
	PGresult *r = PQexec(c, q);
	int64_t n = -1;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQresultErrorMessage(r));
	if (PQntuples(r) > 0)
		n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return n;
}

static void sqlf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t sql_numf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sqlf(const char *fmt, ...)
{
	char q[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	sql(q);
}

static int64_t
sql_numf(const char *fmt, ...)
{
	char q[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	return sql_num(q);
}

/* A new empty schema; uri reaches it (search_path) with its own application_name. */
static void
schema_make(struct pgfx *p)
{
	static int seq;
	char params[256];

	snprintf(p->schema, sizeof(p->schema), "porten_t%ld_%d", (long)getpid(),
		 __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST));
	sqlf("CREATE SCHEMA %s", p->schema);
	snprintf(params, sizeof(params), "options=-csearch_path%%3D%s&application_name=%s",
		 p->schema, p->schema);
	uri_with(p->uri, sizeof(p->uri), pg_base, params);
}

static void
schema_drop(struct pgfx *p)
{
	sqlf("DROP SCHEMA %s CASCADE", p->schema);
}

static int
setup_pg(void **state)
{
	struct pgfx *p;

	if (pg_base == NULL)
		return 0;
	p = calloc(1, sizeof(*p));
	assert_non_null(p);
	time_set_offset(0);
	schema_make(p);
	assert_int_equal(store_open(&p->f.s, &(struct store_opts){ .target = p->uri }, &p->f.e), 0);
	assert_non_null(p->f.s);
	assert_string_equal(store_engine_name(p->f.s), "pg");
	*state = p;
	return 0;
}

static int
teardown_pg(void **state)
{
	struct pgfx *p = *state;

	if (p == NULL)
		return 0;
	store_close(p->f.s);
	schema_drop(p);
	free(p);
	time_set_offset(0);
	return 0;
}

static void
need_pg(void)
{
	if (pg_base == NULL) {
		print_message("PORTEN_TEST_PG is not set (a postgresql:// URI): the PostgreSQL "
			      "store tests are skipped; make test-pg runs them on a throwaway "
			      "server\n");
		skip();
	}
}

/* Every shared case: skipped without a server. */
#define SHARED(name)                       \
	static void pg_##name(void **state) \
	{                                  \
		need_pg();                 \
		name(state);               \
	}
STORE_CASES(SHARED)
#undef SHARED

/* ---- open ---- */

static void
test_pg_open_targets(void **state)
{
	struct store *s = (struct store *)0x1;
	struct err e = { 0 };
	int64_t t0;

	(void)state;
	need_pg();
	/* malformed: refused at once, not retried as if the server were away */
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "postgresql://[::1/porten" }, &e), ERR_INVAL);
	assert_null(s);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "postgresql://h/db?nosuchoption=1" }, &e), ERR_INVAL);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "postgres://h/db?sslmode=%zz" }, &e), ERR_INVAL);
	/* nothing listens on port 1: unavailable after the reconnect window, no crash */
	t0 = time_mono_ms();
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "postgresql://porten@127.0.0.1:1/porten" }, &e),
			 ERR_UNAVAILABLE);
	assert_null(s);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.oauth, "temporarily_unavailable");
	assert_true(time_mono_ms() - t0 < 10000);
}

/* ---- migrations ---- */

static void
test_pg_reopen_no_remigrate(void **state)
{
	struct pgfx p = { 0 };
	struct store *s = NULL, *s2 = NULL;
	struct err e = { 0 };
	json_t *d = obj("client_id", "kept"), *doc = NULL;

	(void)state;
	need_pg();
	schema_make(&p);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = p.uri }, &e), 0);
	assert_int_equal(store_call(s, registry, client_create, "kept", d, &e), 0);
	store_close(s);
	assert_int_equal(sql_numf("SELECT count(*) FROM %s.schema_version", p.schema),
			 (int64_t)PG_NMIGRATIONS);
	/* mark the recorded migrations: a rerun would add rows or fail on CREATE TABLE */
	sqlf("UPDATE %s.schema_version SET applied_at = 12345", p.schema);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = p.uri }, &e), 0);
	assert_int_equal(store_open(&s2, &(struct store_opts){ .target = p.uri }, &e), 0);
	assert_int_equal(store_call(s2, registry, client_get, "kept", &doc, &e), 0);
	json_decref(doc);
	store_close(s2);
	assert_int_equal(store_call(s, registry, client_get, "kept", &doc, &e), 0);
	assert_string_equal(sget(doc, "client_id"), "kept");
	json_decref(doc);
	store_close(s);
	assert_int_equal(sql_numf("SELECT count(*) FROM %s.schema_version"
				  " WHERE applied_at = 12345",
				  p.schema),
			 (int64_t)PG_NMIGRATIONS);
	/* a newer schema (rolling upgrade) still opens */
	sqlf("INSERT INTO %s.schema_version VALUES (999, 1)", p.schema);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = p.uri }, &e), 0);
	store_close(s);
	json_decref(d);
	schema_drop(&p);
}

struct opener {
	const char *uri;
	pthread_barrier_t *bar;
	int rc;
};

static void *
open_one(void *arg)
{
	struct opener *o = arg;
	struct store *s = NULL;
	struct err e = { 0 };

	pthread_barrier_wait(o->bar);
	o->rc = store_open(&s, &(struct store_opts){ .target = o->uri }, &e);
	if (o->rc == 0)
		o->rc = store_call(s, events, event_add, "open", "{\"k\":\"v\"}", &e);
	store_close(s);
	return NULL;
}

/* Nodes starting together on an empty database: each migration applied once. */
static void
test_pg_concurrent_open(void **state)
{
	struct pgfx p = { 0 };
	pthread_barrier_t bar;
	pthread_t th[4];
	struct opener o[4];
	int i;

	(void)state;
	need_pg();
	schema_make(&p);
	pthread_barrier_init(&bar, NULL, 4);
	for (i = 0; i < 4; i++) {
		o[i] = (struct opener){ .uri = p.uri, .bar = &bar, .rc = 1 };
		assert_int_equal(pthread_create(&th[i], NULL, open_one, &o[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(o[i].rc, 0);
	}
	pthread_barrier_destroy(&bar);
	assert_int_equal(sql_numf("SELECT count(*) FROM %s.schema_version", p.schema),
			 (int64_t)PG_NMIGRATIONS);
	assert_int_equal(sql_numf("SELECT count(*) FROM %s.events WHERE type = 'open'", p.schema),
			 4);
	schema_drop(&p);
}

/* ---- concurrency, pool, lost connections ---- */

static void
test_pg_race_refresh(void **state)
{
	struct fx *f = *state;

	need_pg();
	race_refresh_run(f->s);
}

struct hammer {
	struct store *s;
	int idx;
	int fails;
};

static void *
hammer_run(void *arg)
{
	struct hammer *h = arg;
	struct err e = { 0 };
	json_t *d = obj("k", "v"), *doc = NULL;
	char id[32];
	int i;

	for (i = 0; i < 30; i++) {
		snprintf(id, sizeof(id), "h%d-%d", h->idx, i);
		if (store_call(h->s, login, doc_put, "pending", id, d, time_now() + 60, &e) != 0 ||
		    store_call(h->s, login, doc_take, "pending", id, &doc, &e) != 0)
			h->fails++;
		json_decref(doc);
		doc = NULL;
	}
	json_decref(d);
	return NULL;
}

/* More threads than connections: they take turns, never more than the pool. */
static void
test_pg_pool_size(void **state)
{
	struct pgfx p = { 0 };
	struct store *s = NULL;
	struct err e = { 0 };
	struct hammer h[6];
	pthread_t th[6];
	int i;

	(void)state;
	need_pg();
	/* without a configured size: the environment, then the default */
	unsetenv("PORTEN_PG_POOL_SIZE");
	assert_int_equal(store_pool_size(&(struct store_opts){ 0 }), STORE_POOL_DEFAULT);
	setenv("PORTEN_PG_POOL_SIZE", "3", 1);
	assert_int_equal(store_pool_size(&(struct store_opts){ 0 }), 3);
	setenv("PORTEN_PG_POOL_SIZE", "0", 1);
	assert_int_equal(store_pool_size(&(struct store_opts){ 0 }), STORE_POOL_DEFAULT);
	setenv("PORTEN_PG_POOL_SIZE", "3x", 1);
	assert_int_equal(store_pool_size(&(struct store_opts){ 0 }), STORE_POOL_DEFAULT);
	/* a configured size wins over the environment */
	setenv("PORTEN_PG_POOL_SIZE", "3", 1);
	assert_int_equal(store_pool_size(&(struct store_opts){ .pool_size = 5 }), 5);
	unsetenv("PORTEN_PG_POOL_SIZE");
	assert_int_equal(store_pool_size(&(struct store_opts){ .pool_size = 100000 }),
			 STORE_POOL_MAX);
	schema_make(&p);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = p.uri, .pool_size = 2 }, &e),
			 0);
	for (i = 0; i < 6; i++) {
		h[i] = (struct hammer){ .s = s, .idx = i };
		assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(h[i].fails, 0);
	}
	assert_true(sql_numf("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'",
			     p.schema) <= 2);
	store_close(s);
	schema_drop(&p);
}

/*
 * Inside a transaction the plain inserts (and the two writes of a replay
 * key) are held back and sent with the next statement that needs an
 * answer, or with the commit: a held-back insert that fails makes that
 * statement or the commit fail, and nothing of the transaction stays.
 */
static void
test_pg_held_back_inserts(void **state)
{
	struct pgfx *p = *state;
	struct store *s = p->f.s;
	int64_t now = time_now(), n = -1;
	json_t *d = obj("a", "b"), *doc = NULL;
	char *gid = NULL;

	need_pg();
	/* a duplicate code found at the commit: ERR_EXISTS from the end, all rolled back */
	assert_int_equal(store_tx_begin(s, &p->f.e), 0);
	assert_int_equal(store_call(s, oauth, code_put, "HASH-h1", "g", doc_text(d), now + 60, &p->f.e), 0);
	assert_int_equal(store_call(s, events, event_add, "held", doc_text(d), &p->f.e), 0);
	assert_int_equal(store_call(s, oauth, code_put, "HASH-h1", "g", doc_text(d), now + 60, &p->f.e), 0);
	assert_int_equal(store_tx_end(s, true, &p->f.e), ERR_EXISTS);
	assert_int_equal(store_call(s, events, event_count, "held", &n, &p->f.e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-h1", &doc, &gid, &p->f.e),
			 ERR_NOTFOUND);

	/* found by a read in the middle: the read fails, and so does the end */
	assert_int_equal(store_tx_begin(s, &p->f.e), 0);
	assert_int_equal(store_call(s, oauth, code_put, "HASH-h2", "g", doc_text(d), now + 60, &p->f.e), 0);
	assert_int_equal(store_call(s, oauth, code_put, "HASH-h2", "g", doc_text(d), now + 60, &p->f.e), 0);
	assert_int_equal(store_call(s, oauth, grant_get, "no-such-grant", &doc, &p->f.e), ERR_EXISTS);
	assert_int_not_equal(store_tx_end(s, true, &p->f.e), 0);
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-h2", &doc, &gid, &p->f.e),
			 ERR_NOTFOUND);

	/* a replay key seen before: held back too, and found at the commit, not at the call */
	assert_int_equal(store_call(s, oauth, jti_remember, "HELD-jti", now + 60, &p->f.e), 0);
	assert_int_equal(store_tx_begin(s, &p->f.e), 0);
	assert_int_equal(store_call(s, oauth, jti_remember, "HELD-jti", now + 60, &p->f.e), 0);
	assert_int_equal(store_call(s, events, event_add, "held-jti", doc_text(d), &p->f.e), 0);
	assert_int_equal(store_tx_end(s, true, &p->f.e), ERR_EXISTS);
	assert_int_equal(store_call(s, events, event_count, "held-jti", &n, &p->f.e), 0);
	assert_int_equal(n, 0);
	/* a document's taken id is answered at the call, as the login's spend needs */
	assert_int_equal(store_call(s, login, doc_put, "spent", "HELD-doc", d, now + 60, &p->f.e), 0);
	assert_int_equal(store_tx_begin(s, &p->f.e), 0);
	assert_int_equal(store_call(s, login, doc_put, "spent", "HELD-doc", d, now + 60, &p->f.e),
			 ERR_EXISTS);
	assert_int_equal(store_tx_end(s, false, &p->f.e), 0);

	/* a transaction that wrote nothing, and one whose inserts all go with the commit */
	assert_int_equal(store_tx_begin(s, &p->f.e), 0);
	assert_int_equal(store_tx_end(s, true, &p->f.e), 0);
	assert_int_equal(store_tx_begin(s, &p->f.e), 0);
	assert_int_equal(store_call(s, oauth, code_put, "HASH-h3", "g", doc_text(d), now + 60, &p->f.e), 0);
	assert_int_equal(store_call(s, events, event_add, "held", doc_text(d), &p->f.e), 0);
	assert_int_equal(store_tx_end(s, true, &p->f.e), 0);
	assert_int_equal(store_call(s, events, event_count, "held", &n, &p->f.e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-h3", &doc, &gid, &p->f.e), 0);
	json_decref(doc);
	free(gid);
	json_decref(d);
}

/* The registry watch's epoch, once it vouches for it (at most 5 s): false if it never does. */
static bool
watch_epoch(struct store *s, uint64_t *epoch)
{
	struct err e = { 0 };

	for (int i = 0; i < 500; i++) {
		*epoch = 0;
		assert_int_equal(store_call(s, registry, registry_epoch, epoch, &e), 0);
		if (*epoch != 0)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* Whether the watch's epoch moves on from was within 5 s. */
static bool
watch_moved(struct store *s, uint64_t was)
{
	uint64_t now = was;

	for (int i = 0; i < 500; i++) {
		if (watch_epoch(s, &now) && now != was)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* Whether the watch stops vouching for its epoch within 5 s. */
static bool
watch_lost(struct store *s)
{
	struct err e = { 0 };
	uint64_t epoch;

	for (int i = 0; i < 500; i++) {
		assert_int_equal(store_call(s, registry, registry_epoch, &epoch, &e), 0);
		if (epoch == 0)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* The epoch once the notifications in flight have arrived (three beats' wait). */
static uint64_t
watch_settled(struct store *s)
{
	uint64_t epoch = 0;

	usleep(3 * PG_WATCH_BEAT_MS * 1000);
	assert_true(watch_epoch(s, &epoch));
	return epoch;
}

/*
 * The registry watch (pg_watch.c): its epoch stays while nothing changes
 * and moves on with a change to clients or scopes by another node, by hand
 * in SQL, by this node (at once, and again when its transaction ends), with
 * a bare notification about its schema (the LISTEN itself) but not about
 * another schema, and when its connection is killed; it vouches for
 * nothing while it cannot read registry_gen.
 */
static void
test_pg_registry_watch(void **state)
{
	struct pgfx *p = *state;
	struct store *s = p->f.s, *other = NULL;
	json_t *d = obj("client_id", "w");
	uint64_t e0 = 0, e1 = 0, e2 = 0;

	need_pg();
	assert_true(watch_epoch(s, &e0));
	/* three beats without a change: still vouched for, still the same */
	e1 = watch_settled(s);
	e0 = e1;
	e1 = watch_settled(s);
	assert_true(e1 == e0);

	/* another node's change reaches this one through the database */
	assert_int_equal(store_open(&other, &(struct store_opts){ .target = p->uri }, &p->f.e), 0);
	assert_int_equal(store_call(other, registry, client_create, "w", d, &p->f.e), 0);
	assert_true(watch_moved(s, e1));
	e1 = watch_settled(s);
	assert_int_equal(store_call(other, registry, scope_put, "w:s", d, &p->f.e), 0);
	assert_true(watch_moved(s, e1));
	store_close(other);

	/* a change by hand */
	e1 = watch_settled(s);
	sqlf("UPDATE %s.clients SET doc = doc WHERE client_id = 'w'", p->schema);
	assert_true(watch_moved(s, e1));

	/* the notification alone (registry_gen as it was): heard through the LISTEN */
	e1 = watch_settled(s);
	sqlf("SELECT pg_notify('porten_registry', '%s')", p->schema);
	assert_true(watch_moved(s, e1));
	/* one about another schema in the same database is not ours */
	e1 = watch_settled(s);
	sql("SELECT pg_notify('porten_registry', 'porten_elsewhere')");
	assert_true(watch_settled(s) == e1);

	/* this node's own change: at once, before any notification */
	e1 = watch_settled(s);
	assert_int_equal(store_call(s, registry, client_update, "w", d, &p->f.e), 0);
	assert_true(watch_epoch(s, &e2));
	assert_true(e2 != e1);
	/* inside a transaction: at once, and again at its end, rolled back too */
	e1 = watch_settled(s);
	assert_int_equal(store_tx_begin(s, &p->f.e), 0);
	assert_int_equal(store_call(s, registry, client_update, "w", d, &p->f.e), 0);
	assert_true(watch_epoch(s, &e2));
	assert_true(e2 != e1);
	assert_int_equal(store_tx_end(s, false, &p->f.e), 0);
	assert_true(watch_epoch(s, &e1));
	assert_true(e1 != e2);

	/* its connection killed: it connects again, and what it missed counts as a change */
	e2 = watch_settled(s);
	assert_true(sql_numf("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
			     " WHERE application_name = '%s' AND query LIKE '%%registry_gen%%'",
			     p->schema) == 1);
	assert_true(watch_moved(s, e2));

	/* unable to read registry_gen it vouches for nothing (the cache reads it), then again */
	sqlf("DELETE FROM %s.meta WHERE name = 'registry_gen'", p->schema);
	assert_true(watch_lost(s));
	sqlf("INSERT INTO %s.meta (name, value) VALUES ('registry_gen', '7-back')", p->schema);
	assert_true(watch_epoch(s, &e2));
	json_decref(d);
}

/* The server kills our sessions (an administrator, a failover): the next operations reconnect. */
static void
test_pg_killed_connections(void **state)
{
	struct pgfx *p = *state;
	struct store *s = p->f.s;
	json_t *d = obj("client_id", "c"), *doc = NULL;
	char *gid = NULL;

	need_pg();
	assert_int_equal(store_call(s, registry, client_create, "c", d, &p->f.e), 0);
	assert_int_equal(store_call(s, oauth, code_put, "HASH-k", "g", doc_text(d), time_now() + 60, &p->f.e), 0);
	assert_true(sql_numf("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
			     " WHERE application_name = '%s'",
			     p->schema) >= 1);
	assert_int_equal(store_call(s, registry, client_get, "c", &doc, &p->f.e), 0);
	json_decref(doc);
	assert_true(sql_numf("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
			     " WHERE application_name = '%s'",
			     p->schema) >= 1);
	/* a single-use record is consumed exactly once across the reconnect */
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-k", &doc, &gid, &p->f.e), 0);
	json_decref(doc);
	free(gid);
	gid = NULL;
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-k", &doc, &gid, &p->f.e), ERR_REUSED);
	free(gid);
	json_decref(d);
}

/*
 * A loopback relay between the store and the server, so a test can make the
 * database disappear (the relay closes every connection and stops
 * listening) and come back on the same address.
 */
struct relay {
	int lfd;
	int port;
	struct sockaddr_in dst;
	pthread_t th;
	int stop;
	int active; /* pump threads running */
	int fds[64];
	int nfds;
	bool restarted;
	pthread_mutex_t mu;
};

struct pump {
	struct relay *r;
	int a, b;
};

static void *
pump_run(void *arg)
{
	struct pump *p = arg;
	struct pollfd pf[2] = { { .fd = p->a, .events = POLLIN }, { .fd = p->b, .events = POLLIN } };
	char buf[16384];
	ssize_t n;
	int i;

	for (;;) {
		if (poll(pf, 2, 200) < 0 || __atomic_load_n(&p->r->stop, __ATOMIC_SEQ_CST))
			break;
		for (i = 0; i < 2; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pf[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(pf[1 - i].fd, buf, (size_t)n) != n)
				goto out;
		}
	}
out:
	close(p->a);
	close(p->b);
	__atomic_sub_fetch(&p->r->active, 1, __ATOMIC_SEQ_CST);
	free(p);
	return NULL;
}

static void *
relay_accept(void *arg)
{
	struct relay *r = arg;
	struct pollfd pf = { .fd = r->lfd, .events = POLLIN };
	struct pump *p;
	pthread_t th;
	int a, b;

	while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
		if (poll(&pf, 1, 100) <= 0)
			continue;
		a = accept(r->lfd, NULL, NULL);
		if (a < 0)
			continue;
		b = socket(AF_INET, SOCK_STREAM, 0);
		if (b < 0 || connect(b, (struct sockaddr *)&r->dst, sizeof(r->dst)) != 0) {
			close(a);
			if (b >= 0)
				close(b);
			continue;
		}
		p = malloc(sizeof(*p));
		if (p == NULL) {
			close(a);
			close(b);
			continue;
		}
		*p = (struct pump){ r, a, b };
		pthread_mutex_lock(&r->mu);
		if (r->nfds + 2 <= 64) {
			r->fds[r->nfds++] = a;
			r->fds[r->nfds++] = b;
		}
		pthread_mutex_unlock(&r->mu);
		__atomic_add_fetch(&r->active, 1, __ATOMIC_SEQ_CST);
		if (pthread_create(&th, NULL, pump_run, p) != 0) {
			__atomic_sub_fetch(&r->active, 1, __ATOMIC_SEQ_CST);
			close(a);
			close(b);
			free(p);
			continue;
		}
		pthread_detach(th);
	}
	return NULL;
}

/* Listen on 127.0.0.1:port (0: any free port) and relay to dst; false on failure. */
static bool
relay_start(struct relay *r, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->stop = 0;
	r->nfds = 0;
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (r->lfd < 0)
		return false;
	setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(r->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(r->lfd, 64) != 0 ||
	    getsockname(r->lfd, (struct sockaddr *)&a, &len) != 0 ||
	    pthread_create(&r->th, NULL, relay_accept, r) != 0) {
		close(r->lfd);
		return false;
	}
	r->port = ntohs(a.sin_port);
	return true;
}

/* The database "goes away": no listener, every open connection cut. */
static void
relay_stop(struct relay *r)
{
	int i;

	__atomic_store_n(&r->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(r->th, NULL);
	close(r->lfd);
	pthread_mutex_lock(&r->mu);
	for (i = 0; i < r->nfds; i++)
		shutdown(r->fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&r->mu);
	while (__atomic_load_n(&r->active, __ATOMIC_SEQ_CST) > 0)
		usleep(10000);
}

/* The database returns after a second, as after a restart. */
static void *
relay_back_later(void *arg)
{
	struct relay *r = arg;

	usleep(1000 * 1000);
	r->restarted = relay_start(r, r->port);
	return NULL;
}

/* The server's host and port from PORTEN_TEST_PG; false if it is not TCP. */
static bool
pg_tcp_target(struct sockaddr_in *dst, char *user, char *db, size_t n)
{
	PQconninfoOption *o = PQconninfoParse(pg_base, NULL), *i;
	const char *host = NULL, *port = "5432";
	bool ok;

	assert_non_null(o);
	snprintf(user, n, "porten");
	snprintf(db, n, "porten");
	for (i = o; i->keyword != NULL; i++) {
		if (i->val == NULL)
			continue;
		if (strcmp(i->keyword, "host") == 0 || strcmp(i->keyword, "hostaddr") == 0)
			host = i->val;
		else if (strcmp(i->keyword, "port") == 0)
			port = i->val;
		else if (strcmp(i->keyword, "user") == 0)
			snprintf(user, n, "%s", i->val);
		else if (strcmp(i->keyword, "dbname") == 0)
			snprintf(db, n, "%s", i->val);
		else if (strcmp(i->keyword, "password") == 0)
			host = NULL; /* keep it simple: no secrets in the relay's URI */
	}
	memset(dst, 0, sizeof(*dst));
	dst->sin_family = AF_INET;
	dst->sin_port = htons((uint16_t)strtol(port, NULL, 10));
	ok = host != NULL && inet_pton(AF_INET, host, &dst->sin_addr) == 1;
	PQconninfoFree(o);
	return ok;
}

static void
test_pg_database_away(void **state)
{
	struct pgfx p = { 0 };
	struct relay r = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct store *s = NULL;
	struct err e = { 0 };
	json_t *d = obj("k", "v"), *doc = NULL;
	char user[128], db[128], uri[1024];
	char *gid = NULL;
	int64_t t0, waited;
	pthread_t th;

	(void)state;
	need_pg();
	if (!pg_tcp_target(&r.dst, user, db, sizeof(user))) {
		print_message("PORTEN_TEST_PG is not a plain 127.0.0.1 TCP URI: relay test skipped\n");
		skip();
	}
	schema_make(&p);
	assert_true(relay_start(&r, 0));
	snprintf(uri, sizeof(uri),
		 "postgresql://%s@127.0.0.1:%d/%s?options=-csearch_path%%3D%s&application_name=%s",
		 user, r.port, db, p.schema, p.schema);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = uri }, &e), 0);
	assert_int_equal(store_call(s, oauth, code_put, "HASH-away", "g", doc_text(d), time_now() + 600, &e), 0);

	relay_stop(&r);
	/* away: a clear 503-class error after a bounded wait, and the code untouched */
	t0 = time_mono_ms();
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-away", &doc, &gid, &e), ERR_UNAVAILABLE);
	waited = time_mono_ms() - t0;
	assert_true(waited >= 2000 && waited < 8000);
	assert_int_equal(e.status, 503);
	assert_null(strstr(e.msg, "HASH-away"));
	assert_null(doc);
	assert_null(gid);
	/* still away past the window: fail fast instead of stalling every request */
	t0 = time_mono_ms();
	assert_int_equal(store_call(s, registry, meta_get, "x", &gid, &e), ERR_UNAVAILABLE);
	assert_true(time_mono_ms() - t0 < 1500);

	/* back on the same address: the next operation reconnects and works */
	assert_true(relay_start(&r, r.port));
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-away", &doc, &gid, &e), 0);
	assert_string_equal(gid, "g");
	json_decref(doc);
	free(gid);
	gid = NULL;
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-away", &doc, &gid, &e), ERR_REUSED);
	free(gid);
	gid = NULL;

	/* a short outage (a restart) is waited out: the caller sees no error at all */
	relay_stop(&r);
	assert_int_equal(pthread_create(&th, NULL, relay_back_later, &r), 0);
	t0 = time_mono_ms();
	assert_int_equal(store_call(s, oauth, code_put, "HASH-again", "g2", doc_text(d), time_now() + 600, &e), 0);
	waited = time_mono_ms() - t0;
	pthread_join(th, NULL);
	assert_true(r.restarted);
	assert_true(waited >= 500 && waited < 3000);
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-again", &doc, &gid, &e), 0);
	json_decref(doc);
	free(gid);

	store_close(s);
	relay_stop(&r);
	json_decref(d);
	schema_drop(&p);
}

/* ---- what only PostgreSQL can show ---- */

/* A backlog larger than one batch drains completely. */
static void
test_pg_sweep_batches(void **state)
{
	struct pgfx *p = *state;
	char q[256];
	int64_t n = -1;

	need_pg();
	snprintf(q, sizeof(q),
		 "INSERT INTO %s.jti SELECT 'j' || g, %lld FROM generate_series(1, 2500) g",
		 p->schema, (long long)time_now() - 1);
	sql(q);
	assert_int_equal(store_call(p->f.s, oauth, jti_remember, "live", time_now() + 60, &p->f.e), 0);
	assert_int_equal(store_sweep(p->f.s, time_now(), &n, &p->f.e), 0);
	assert_int_equal(n, 2500);
	assert_int_equal(sql_numf("SELECT count(*) FROM %s.jti", p->schema), 1);
}

static void refused(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The statement fails with the append-only trigger's message. */
static void
refused(PGconn *c, const char *fmt, ...)
{
	char q[256];
	PGresult *r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	r = PQexec(c, q);
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	assert_non_null(strstr(PQresultErrorMessage(r), "append-only"));
	PQclear(r);
}

/* The events table refuses UPDATE, DELETE and TRUNCATE to anyone. */
static void
test_pg_events_append_only(void **state)
{
	struct pgfx *p = *state;
	json_t *d = obj("who", "x");
	PGconn *c;

	need_pg();
	assert_int_equal(store_call(p->f.s, events, event_add, "login", doc_text(d), &p->f.e), 0);
	c = admin();
	refused(c, "UPDATE %s.events SET type = 'x'", p->schema);
	refused(c, "DELETE FROM %s.events", p->schema);
	refused(c, "TRUNCATE %s.events", p->schema);
	PQfinish(c);
	assert_int_equal(sql_numf("SELECT count(*) FROM %s.events", p->schema), 1);
	json_decref(d);
}

/* Bytes that are not UTF-8 are refused as bad input, never a crash or a 500. */
static void
test_pg_refused_values(void **state)
{
	struct pgfx *p = *state;
	json_t *d = obj("k", "v"), *doc = NULL;
	char *v = NULL;

	need_pg();
	assert_int_equal(store_call(p->f.s, registry, client_create, "bad\xff\xfe", d, &p->f.e), ERR_INVAL);
	assert_int_equal(store_call(p->f.s, registry, client_get, "bad\xc3", &doc, &p->f.e), ERR_INVAL);
	assert_null(doc);
	assert_int_equal(store_call(p->f.s, registry, meta_put_new, "m", "\xff", &p->f.e), ERR_INVAL);
	assert_int_equal(store_call(p->f.s, registry, meta_get, "m", &v, &p->f.e), ERR_NOTFOUND);
	/* the connection is still good afterwards */
	assert_int_equal(store_call(p->f.s, registry, client_create, "good", d, &p->f.e), 0);
	json_decref(d);
}

/* A stored document that is not JSON (tampered row) is an internal error. */
static void
test_pg_corrupt_doc(void **state)
{
	struct pgfx *p = *state;
	json_t *d = obj("k", "v"), *doc = NULL;

	need_pg();
	assert_int_equal(store_call(p->f.s, registry, client_create, "c", d, &p->f.e), 0);
	sqlf("UPDATE %s.clients SET doc = '{not json'", p->schema);
	assert_int_equal(store_call(p->f.s, registry, client_get, "c", &doc, &p->f.e), ERR_INTERNAL);
	assert_null(doc);
	assert_int_equal(store_call(p->f.s, registry, client_list, &doc, &p->f.e), ERR_INTERNAL);
	assert_null(doc);
	json_decref(d);
}

/* Stands in for every case when no server is configured. */
static void
test_pg_not_configured(void **state)
{
	(void)state;
	need_pg();
}

/*
 * A new schema, as the catalogs list it (columns, constraints, indexes,
 * triggers, functions; the schema's name left out), is the one that
 * shipped.
 */
static const char pg_dump_sql[] =
	"SELECT string_agg(l, E'\\n' ORDER BY l) || E'\\n' FROM ("
	" SELECT format('column %s %s %s %s %s %s %s', table_name,"
	"  lpad(ordinal_position::text, 2, '0'), column_name, data_type, is_nullable,"
	"  coalesce(column_default, ''), is_identity) AS l"
	"  FROM information_schema.columns WHERE table_schema = $1"
	" UNION ALL SELECT format('constraint %s %s %s', c.relname, k.conname,"
	"  replace(pg_get_constraintdef(k.oid), $1 || '.', ''))"
	"  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
	"  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1"
	" UNION ALL SELECT format('index %s %s %s', tablename, indexname,"
	"  replace(indexdef, $1 || '.', ''))"
	"  FROM pg_indexes WHERE schemaname = $1"
	" UNION ALL SELECT format('trigger %s %s %s', c.relname, t.tgname,"
	"  replace(pg_get_triggerdef(t.oid), $1 || '.', ''))"
	"  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
	"  JOIN pg_namespace n ON n.oid = c.relnamespace"
	"  WHERE n.nspname = $1 AND NOT t.tgisinternal"
	" UNION ALL SELECT format('function %s %s', p.proname,"
	"  replace(pg_get_functiondef(p.oid), $1 || '.', ''))"
	"  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1"
	") AS d";

static void
test_pg_schema_golden(void **state)
{
	struct pgfx p = { 0 };
	struct store *s = NULL;
	struct err e = { 0 };
	const char *param[1];
	PGconn *c;
	PGresult *r;

	(void)state;
	need_pg();
	schema_make(&p);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = p.uri }, &e), 0);
	store_close(s);
	c = admin();
	param[0] = p.schema;
	r = PQexecParams(c, pg_dump_sql, 1, NULL, param, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("schema dump: %s", PQresultErrorMessage(r));
	golden_check("pg.golden", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	schema_drop(&p);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(pg_##f, setup_pg, teardown_pg),
#define P(f) cmocka_unit_test_setup_teardown(f, setup_pg, teardown_pg)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg_open_targets),
		STORE_CASES(T)
		P(test_pg_race_refresh),
		cmocka_unit_test(test_pg_reopen_no_remigrate),
		cmocka_unit_test(test_pg_schema_golden),
		cmocka_unit_test(test_pg_concurrent_open),
		cmocka_unit_test(test_pg_pool_size),
		P(test_pg_held_back_inserts),
		P(test_pg_registry_watch),
		P(test_pg_killed_connections),
		cmocka_unit_test(test_pg_database_away),
		P(test_pg_sweep_batches),
		P(test_pg_events_append_only),
		P(test_pg_refused_values),
		P(test_pg_corrupt_doc),
	};
#undef P
#undef T

	const struct CMUnitTest none[] = {
		cmocka_unit_test(test_pg_not_configured),
	};

	pg_base = getenv("PORTEN_TEST_PG");
	if (pg_base == NULL || pg_base[0] == '\0') {
		pg_base = NULL;
		return cmocka_run_group_tests(none, NULL, NULL);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* HAVE_LIBPQ */
