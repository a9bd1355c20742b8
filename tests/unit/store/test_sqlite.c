/*
 * Tests for the SQLite store backend (store/store.h): the shared cases of
 * store_cases.h on an in-memory database, and what is SQLite's own: open
 * targets, file databases (WAL, concurrent consumption and rotation,
 * migrations on reopen and at concurrent open), a busy database, and a
 * tampered file.
 */
#include <sqlite3.h>
#include <unistd.h>

#include "store/schema_int.h"
#include "store_cases.h"
#include "golden.h"

static int
setup_mem(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	time_set_offset(0);
	assert_int_equal(store_open(&f->s, &(struct store_opts){ .target = ":memory:" }, &f->e), 0);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int
teardown_mem(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	free(f);
	time_set_offset(0);
	return 0;
}

struct tmpdir {
	char dir[64];
	char db[128];
};

static void
tmpdir_make(struct tmpdir *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/porten-store-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->db, sizeof(t->db), "%s/porten.db", t->dir);
}

static void
tmpdir_remove(struct tmpdir *t)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->db, sfx[i]);
		unlink(p);
	}
	rmdir(t->dir);
}

static int64_t
count_rows(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void
exec_sql(const char *db, const char *sql)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* ---- open ---- */

static void
test_open_targets(void **state)
{
	struct store *s = (struct store *)0x1;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = NULL }, &e), ERR_INVAL);
	assert_null(s);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "" }, &e), ERR_INVAL);
#ifdef HAVE_LIBPQ
	/* the PostgreSQL backend is built (test_pg.c): a malformed URI is refused at once */
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "postgresql://[::1/porten" }, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "PostgreSQL"));
	assert_null(s);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "postgres://h/db?sslmode=%zz" }, &e), ERR_INVAL);
#else
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "postgresql://db.example/porten" }, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "PostgreSQL"));
	assert_null(s);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "postgres://db.example/porten" }, &e), ERR_INVAL);
#endif
	/* a directory that does not exist */
	assert_int_not_equal(store_open(&s, &(struct store_opts){ .target = "/nonexistent-porten-dir/x/y.db" }, &e), 0);
	assert_null(s);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = ":memory:" }, &e), 0);
	assert_string_equal(store_engine_name(s), "sqlite");
	store_close(s);
	/* URI forms of an in-memory database: one database, not one per connection */
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "file::memory:" }, &e), 0);
	race_run(s);
	store_close(s);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = "file:porten-test?mode=memory" }, &e), 0);
	race_run(s);
	store_close(s);
	store_close(NULL);
	store_keys_free(NULL, 0);
	store_key_clear(NULL);
	store_refresh_clear(NULL);
}

static void
test_open_file_uri(void **state)
{
	struct tmpdir t;
	struct store *s = NULL;
	struct err e = { 0 };
	char uri[200];
	char *v = NULL;

	(void)state;
	tmpdir_make(&t);
	snprintf(uri, sizeof(uri), "file:%s", t.db);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = uri }, &e), 0);
	assert_int_equal(store_call(s, registry, meta_put_new, "salt", "abc", &e), 0);
	store_close(s);
	/* the same file by plain path */
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = t.db }, &e), 0);
	assert_int_equal(store_call(s, registry, meta_get, "salt", &v, &e), 0);
	assert_string_equal(v, "abc");
	free(v);
	store_close(s);
	/* WAL stays on in the file */
	assert_int_equal(count_rows(t.db, "SELECT count(*) FROM pragma_journal_mode"
					  " WHERE journal_mode = 'wal'"),
			 1);
	tmpdir_remove(&t);
}

static void
test_race_code_file(void **state)
{
	struct tmpdir t;
	struct store *s = NULL;
	struct err e = { 0 };

	(void)state;
	tmpdir_make(&t);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = t.db }, &e), 0);
	race_run(s);
	store_close(s);
	tmpdir_remove(&t);
}

/* Two presentations of one refresh token at once: one rotates, one is a reuse. */
static void
test_race_refresh_file(void **state)
{
	struct tmpdir t;
	struct store *s = NULL;
	struct err e = { 0 };

	(void)state;
	tmpdir_make(&t);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = t.db }, &e), 0);
	race_refresh_run(s);
	store_close(s);
	tmpdir_remove(&t);
}

static void
test_reopen_no_remigrate(void **state)
{
	struct tmpdir t;
	struct store *s = NULL, *s2 = NULL;
	struct err e = { 0 };
	json_t *d = obj("client_id", "kept"), *doc = NULL;

	(void)state;
	tmpdir_make(&t);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = t.db }, &e), 0);
	assert_int_equal(store_call(s, registry, client_create, "kept", d, &e), 0);
	store_close(s);
	assert_int_equal(count_rows(t.db, "SELECT count(*) FROM schema_version"),
			 (int64_t)SQ_NMIGRATIONS);
	/* mark the recorded migrations: a rerun would add rows or fail on CREATE TABLE */
	exec_sql(t.db, "UPDATE schema_version SET applied_at = 12345");

	assert_int_equal(store_open(&s, &(struct store_opts){ .target = t.db }, &e), 0);
	/* a second store on the same file in the same process */
	assert_int_equal(store_open(&s2, &(struct store_opts){ .target = t.db }, &e), 0);
	assert_int_equal(store_call(s2, registry, client_get, "kept", &doc, &e), 0);
	json_decref(doc);
	store_close(s2);
	assert_int_equal(store_call(s, registry, client_get, "kept", &doc, &e), 0);
	assert_string_equal(sget(doc, "client_id"), "kept");
	json_decref(doc);
	store_close(s);
	assert_int_equal(count_rows(t.db, "SELECT count(*) FROM schema_version"),
			 (int64_t)SQ_NMIGRATIONS);
	assert_int_equal(count_rows(t.db, "SELECT count(*) FROM schema_version"
					  " WHERE applied_at = 12345"),
			 (int64_t)SQ_NMIGRATIONS);

	/* a newer schema (rolling upgrade) still opens */
	exec_sql(t.db, "INSERT INTO schema_version VALUES (999, 1)");
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = t.db }, &e), 0);
	store_close(s);
	json_decref(d);
	tmpdir_remove(&t);
}

struct opener {
	const char *db;
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
	/*
	 * A process that finds the database busy past the timeout (possible
	 * under valgrind's slowdown) starts again, as a supervisor would.
	 */
	for (int tries = 0; tries < 5; tries++) {
		o->rc = store_open(&s, &(struct store_opts){ .target = o->db }, &e);
		if (o->rc != ERR_UNAVAILABLE)
			break;
	}
	if (o->rc == 0)
		o->rc = store_call(s, events, event_add, "open", "{\"k\":\"v\"}", &e);
	store_close(s);
	return NULL;
}

/* Processes starting together on a new file: each migration applied once. */
static void
test_concurrent_open(void **state)
{
	struct tmpdir t;
	pthread_barrier_t bar;
	pthread_t th[4];
	struct opener o[4];
	int i;

	(void)state;
	tmpdir_make(&t);
	pthread_barrier_init(&bar, NULL, 4);
	for (i = 0; i < 4; i++) {
		o[i] = (struct opener){ .db = t.db, .bar = &bar, .rc = 1 };
		assert_int_equal(pthread_create(&th[i], NULL, open_one, &o[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(o[i].rc, 0);
	}
	pthread_barrier_destroy(&bar);
	assert_int_equal(count_rows(t.db, "SELECT count(*) FROM schema_version"),
			 (int64_t)SQ_NMIGRATIONS);
	assert_int_equal(count_rows(t.db, "SELECT count(*) FROM events WHERE type = 'open'"), 4);
	tmpdir_remove(&t);
}

/* A database held by another writer past the busy timeout: unavailable. */
static void
test_busy_unavailable(void **state)
{
	struct tmpdir t;
	struct store *s = NULL;
	struct err e = { 0 };
	sqlite3 *h = NULL;
	json_t *d = obj("k", "v"), *doc = NULL;
	char *gid = NULL;

	(void)state;
	tmpdir_make(&t);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = t.db }, &e), 0);
	assert_int_equal(store_call(s, oauth, code_put, "HASH-busy", "g", doc_text(d), time_now() + 60, &e), 0);
	assert_int_equal(sqlite3_open_v2(t.db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-busy", &doc, &gid, &e), ERR_UNAVAILABLE);
	assert_null(strstr(e.msg, "HASH-busy"));
	assert_non_null(strstr(e.msg, "code_consume"));
	assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	/* and the code is still there, unused */
	assert_int_equal(store_call(s, oauth, code_consume, "HASH-busy", &doc, &gid, &e), 0);
	json_decref(doc);
	free(gid);
	json_decref(d);
	store_close(s);
	tmpdir_remove(&t);
}

/* A stored document that is not JSON (tampered file) is an internal error. */
static void
test_corrupt_doc(void **state)
{
	struct tmpdir t;
	struct store *s = NULL;
	struct err e = { 0 };
	json_t *d = obj("k", "v"), *doc = NULL;

	(void)state;
	tmpdir_make(&t);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = t.db }, &e), 0);
	assert_int_equal(store_call(s, registry, client_create, "c", d, &e), 0);
	exec_sql(t.db, "UPDATE clients SET doc = '{not json'");
	assert_int_equal(store_call(s, registry, client_get, "c", &doc, &e), ERR_INTERNAL);
	assert_null(doc);
	assert_int_equal(store_call(s, registry, client_list, &doc, &e), ERR_INTERNAL);
	assert_null(doc);
	json_decref(d);
	store_close(s);
	tmpdir_remove(&t);
}

/* A new database's schema, entry by entry, is the one that shipped. */
static void
test_schema_golden(void **state)
{
	struct tmpdir t;
	struct store *s = NULL;
	struct err e = { 0 };
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	char *dump = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	tmpdir_make(&t);
	assert_int_equal(store_open(&s, &(struct store_opts){ .target = t.db }, &e), 0);
	store_close(s);
	out = open_memstream(&dump, &len);
	assert_non_null(out);
	assert_int_equal(sqlite3_open_v2(t.db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT type, name, tbl_name, coalesce(sql, '')"
					    " FROM sqlite_master ORDER BY type, name",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(out, "%s|%s|%s|%s\n", sqlite3_column_text(st, 0),
			sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_close(h);
	fclose(out);
	golden_check("sqlite.golden", dump);
	free(dump);
	tmpdir_remove(&t);
}

/* store_call counts every call per operation, its errors and its time. */
static void
test_call_stats(void **state)
{
	struct fx *f = *state;
	struct store_op_stat st[STORE_NFACETS * STORE_FACET_OPS];
	json_t *doc = json_object(), *got = NULL;
	bool put = false, get = false;
	size_t i, n;

	assert_int_equal(store_stats(f->s, st, 1), 0);
	assert_int_equal(store_call(f->s, registry, scope_put, "openid", doc, &f->e), 0);
	assert_int_equal(store_call(f->s, registry, scope_get, "openid", &got, &f->e), 0);
	json_decref(got);
	got = NULL;
	assert_int_equal(store_call(f->s, registry, scope_get, "nosuch", &got, &f->e),
			 ERR_NOTFOUND);
	n = store_stats(f->s, st, sizeof(st) / sizeof(st[0]));
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		if (strcmp(st[i].name, "registry.scope_put") == 0) {
			put = true;
			assert_int_equal(st[i].calls, 1);
			assert_int_equal(st[i].errors, 0);
		} else {
			assert_string_equal(st[i].name, "registry.scope_get");
			get = true;
			assert_int_equal(st[i].calls, 2);
			assert_int_equal(st[i].errors, 1);
		}
		assert_true(st[i].ns > 0);
	}
	assert_true(put && get);
	/* at most max entries */
	assert_int_equal(store_stats(f->s, st, 1), 1);
	json_decref(doc);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_mem, teardown_mem),
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_targets),
		cmocka_unit_test(test_open_file_uri),
		STORE_CASES(T)
		cmocka_unit_test(test_race_code_file),
		cmocka_unit_test(test_race_refresh_file),
		cmocka_unit_test(test_reopen_no_remigrate),
		cmocka_unit_test(test_schema_golden),
		cmocka_unit_test_setup_teardown(test_call_stats, setup_mem, teardown_mem),
		cmocka_unit_test(test_concurrent_open),
		cmocka_unit_test(test_busy_unavailable),
		cmocka_unit_test(test_corrupt_doc),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
