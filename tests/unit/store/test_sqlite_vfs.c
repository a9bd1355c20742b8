/*
 * Tests for the SQLite store's WAL VFS (store/sqlite_vfs.c): a commit's
 * frames held until its commit frame and written at once, as other
 * connections (on the default VFS and on this one) see them: commits
 * larger than one write and than the buffer, rollbacks of whole
 * transactions and to savepoints, transactions that spill pages before
 * their commit and then roll back (the spilled frames dropped) or commit,
 * writers taking turns across WAL restarts, the memory of a large
 * transaction, and the file sound after each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/sqlite_int.h"

struct vfx {
	char dir[64];
	char path[96];
	char copy[96];
};

static int
setup(void **state)
{
	struct vfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/porten-vfs-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	snprintf(f->copy, sizeof(f->copy), "%s/c.db", f->dir);
	*state = f;
	return 0;
}

/* A database file with its WAL and wal-index. */
static void
unlink_db(const char *path)
{
	char p[128];

	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	unlink(path);
}

static int
teardown(void **state)
{
	struct vfx *f = *state;

	unlink_db(f->path);
	unlink_db(f->copy);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A connection as the store opens one: this VFS (with its rollback hook) or the default, WAL. */
static sqlite3 *
conn(const struct vfx *f, bool ours)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 ours ? store_sq_vfs() : NULL),
			 SQLITE_OK);
	if (ours)
		store_sq_vfs_watch(db);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
					  "PRAGMA wal_autocheckpoint = 0;"
					  "PRAGMA cache_size = -256",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	return db;
}

static void
run(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

static int64_t
one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
sound(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

static void
copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[8192];
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* Close the writers (b may be NULL), then the file is sound to the reader r, then close r. */
static void
close_all(sqlite3 *r, sqlite3 *a, sqlite3 *b)
{
	sqlite3_close(a);
	sqlite3_close(b);
	sound(r);
	sqlite3_close(r);
}

/* The database and its WAL as the files hold them, as after a crash (no wal-index). */
static void
copy_db(const struct vfx *f)
{
	char a[128], b[128];

	copy_file(f->path, f->copy);
	snprintf(a, sizeof(a), "%s-wal", f->path);
	snprintf(b, sizeof(b), "%s-wal", f->copy);
	copy_file(a, b);
}

static void
test_registered(void **state)
{
	(void)state;
	assert_non_null(store_sq_vfs());
	assert_non_null(sqlite3_vfs_find(store_sq_vfs()));
	/* not the default: other users of SQLite in the process keep theirs */
	assert_ptr_not_equal(sqlite3_vfs_find(NULL), sqlite3_vfs_find(store_sq_vfs()));
}

/* Commits of one page, of more than one write (120 KiB) and of more than the buffer (1 MiB). */
static void
test_commits_seen(void **state)
{
	struct vfx *f = *state;
	sqlite3 *w = conn(f, true), *r = conn(f, false);

	run(w, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
	run(w, "INSERT INTO t (v) VALUES (x'01')");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 1);
	run(w, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 400)"
	       " INSERT INTO t (v) SELECT randomblob(500) FROM c");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 401);
	run(w, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)"
	       " INSERT INTO t (v) SELECT randomblob(1000) FROM c");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 3401);
	assert_int_equal(one(r, "SELECT sum(length(v)) FROM t"), 1 + 400 * 500 + 3000 * 1000);
	sound(r);
	close_all(r, w, NULL);
}

/* A rolled-back transaction leaves nothing, whoever writes next. */
static void
test_rollbacks(void **state)
{
	struct vfx *f = *state;
	sqlite3 *a = conn(f, true), *b = conn(f, true), *r = conn(f, false);

	run(a, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
	run(a, "BEGIN IMMEDIATE;"
	       " WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)"
	       " INSERT INTO t (v) SELECT randomblob(1000) FROM c; ROLLBACK");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 0);
	/*
	 * The other writer restarts the WAL and writes over where the rolled
	 * back frames were: none of those may reach the file after it.
	 */
	run(r, "PRAGMA wal_checkpoint(TRUNCATE)");
	run(b, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2500)"
	       " INSERT INTO t (v) SELECT zeroblob(1000) FROM c");
	run(a, "INSERT INTO t (v) VALUES (x'03')");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 2501);
	assert_int_equal(one(r, "SELECT sum(length(v)) FROM t"), 2500 * 1000 + 1);
	sound(r);
	run(a, "DELETE FROM t WHERE id > 1");
	run(b, "INSERT INTO t (v) VALUES (x'02')");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 2);
	/* to a savepoint: the frames written after it are written over */
	run(a, "BEGIN; INSERT INTO t (v) VALUES (randomblob(3000)); SAVEPOINT s;"
	       " WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300)"
	       " INSERT INTO t (v) SELECT randomblob(800) FROM c; ROLLBACK TO s; RELEASE s;"
	       " INSERT INTO t (v) VALUES (x'04'); COMMIT");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 4);
	assert_int_equal(one(b, "SELECT sum(length(v)) FROM t"), 1000 + 1 + 3000 + 1);
	sound(b);
	close_all(r, a, b);
}

/* Two writers on this VFS taking turns, with checkpoints and WAL restarts between. */
static void
test_turns(void **state)
{
	struct vfx *f = *state;
	sqlite3 *c[2] = { conn(f, true), conn(f, true) }, *r = conn(f, false);
	char sql[160];
	int i;

	run(c[0], "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
	for (i = 0; i < 200; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO t (v) VALUES (randomblob(%d))",
			 100 + (i * 37) % 5000);
		run(c[i % 2], sql);
		if (i % 17 == 0)
			run(r, "PRAGMA wal_checkpoint(RESTART)");
		else if (i % 29 == 0)
			run(r, "PRAGMA wal_checkpoint(PASSIVE)");
		assert_int_equal(one(c[(i + 1) % 2], "SELECT count(*) FROM t"), i + 1);
	}
	sqlite3_close(c[0]);
	sqlite3_close(c[1]);
	sound(r);
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 200);
	sqlite3_close(r);
}

/* 300 rows of 1000 bytes: about 75 pages, more than a 10-page cache and less than the buffer */
#define SPILL_SQL                                                                              \
	"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300)" \
	" INSERT INTO t (v) SELECT randomblob(1000) FROM c"

/*
 * A transaction that spilled frames to the WAL and then ended without a
 * commit (ROLLBACK, a failed statement, the connection closed), another
 * connection writing where those frames were, then the first connection
 * reading and committing: the dead frames never reach the file.
 */
static void
test_spilled_rollbacks(void **state)
{
	struct vfx *f = *state;
	sqlite3 *a = conn(f, true), *b = conn(f, true), *r = conn(f, false);

	run(a, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL, k INTEGER UNIQUE)");
	run(a, "PRAGMA cache_size = 10");
	/*
	 * Each from an empty WAL: the rollback then reads nothing from the
	 * WAL, so the spilled frames are still held when it ends.
	 */
	run(r, "PRAGMA wal_checkpoint(TRUNCATE)");
	/* whole transaction rolled back after its spills */
	run(a, "BEGIN; " SPILL_SQL);
	run(a, "ROLLBACK");
	run(b, "INSERT INTO t (v, k) VALUES (zeroblob(50000), 1)");
	assert_int_equal(one(a, "SELECT count(*) FROM t"), 1);
	run(a, "INSERT INTO t (v, k) VALUES (x'05', 2)");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 2);
	assert_int_equal(one(r, "SELECT sum(length(v)) FROM t"), 50000 + 1);
	sound(r);
	sound(a);

	/* a statement that fails in autocommit after its spills */
	run(r, "PRAGMA wal_checkpoint(TRUNCATE)");
	assert_int_not_equal(sqlite3_exec(a, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL"
					     " SELECT i + 1 FROM c WHERE i < 301)"
					     " INSERT INTO t (v, k) SELECT randomblob(1000),"
					     " CASE WHEN i = 301 THEN 1 ELSE 100 + i END FROM c",
					     NULL, NULL, NULL),
			     SQLITE_OK);
	run(b, "INSERT INTO t (v, k) VALUES (zeroblob(60000), 3)");
	assert_int_equal(one(a, "SELECT count(*) FROM t"), 3);
	run(a, "INSERT INTO t (v, k) VALUES (x'06', 4)");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 4);
	assert_int_equal(one(r, "SELECT sum(length(v)) FROM t"), 50000 + 1 + 60000 + 1);
	sound(r);

	/* rolled back to a savepoint after the spills, then committed */
	run(r, "PRAGMA wal_checkpoint(TRUNCATE)");
	run(a, "BEGIN; INSERT INTO t (v) VALUES (x'07'); SAVEPOINT s; " SPILL_SQL
	       "; ROLLBACK TO s; RELEASE s; COMMIT");
	run(b, "INSERT INTO t (v) VALUES (zeroblob(70000))");
	run(a, "INSERT INTO t (v) VALUES (x'08')");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 7);
	assert_int_equal(one(r, "SELECT sum(length(v)) FROM t"),
			 50000 + 1 + 60000 + 1 + 1 + 70000 + 1);
	sound(r);

	/* the connection closed in the middle of a spilled transaction */
	run(r, "PRAGMA wal_checkpoint(TRUNCATE)");
	run(a, "BEGIN; " SPILL_SQL);
	sqlite3_close(a);
	run(b, "INSERT INTO t (v) VALUES (zeroblob(80000))");
	a = conn(f, true);
	run(a, "INSERT INTO t (v) VALUES (x'09')");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 9);
	assert_int_equal(one(r, "SELECT sum(length(v)) FROM t"),
			 50000 + 1 + 60000 + 1 + 1 + 70000 + 1 + 80000 + 1);
	sound(r);
	close_all(r, a, b);
}

/* A transaction that spilled and then committed, with another writer after it. */
static void
test_spilled_commit(void **state)
{
	struct vfx *f = *state;
	sqlite3 *a = conn(f, true), *b = conn(f, true), *r = conn(f, false), *c = NULL;

	run(a, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
	run(a, "PRAGMA cache_size = 10");
	run(a, "BEGIN; " SPILL_SQL "; " SPILL_SQL "; UPDATE t SET v = zeroblob(900) WHERE id % 7 = 0;"
	       " COMMIT");
	/*
	 * Pages written twice in the transaction make SQLite rewrite the
	 * checksums of its frame headers after the commit frame: the WAL as
	 * the file holds it now (a crash, no wal-index) recovers the commit.
	 */
	copy_db(f);
	assert_int_equal(sqlite3_open_v2(f->copy, &c, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(one(c, "SELECT count(*) FROM t"), 600);
	sound(c);
	sqlite3_close(c);
	run(b, "INSERT INTO t (v) VALUES (x'01')");
	run(a, "INSERT INTO t (v) VALUES (x'02')");
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 602);
	assert_int_equal(one(r, "SELECT count(*) FROM t WHERE length(v) = 900"), 600 / 7);
	assert_int_equal(one(r, "SELECT sum(length(v)) FROM t"),
			 (600 - 600 / 7) * 1000 + (600 / 7) * 900 + 2);
	sound(r);
	close_all(r, a, b);
}

/* An import-sized transaction holds no more than its page cache and the WAL buffer. */
static void
test_large_bounded(void **state)
{
	struct vfx *f = *state;
	sqlite3 *a = conn(f, true), *r = conn(f, false);
	sqlite3_int64 before;

	run(a, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
	run(a, "PRAGMA cache_size = -1024");
	before = sqlite3_memory_used();
	sqlite3_memory_highwater(1);
	/* 200 000 rows, 30 MB of pages: they go to the WAL as the cache fills */
	run(a, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
	       " WHERE i < 200000) INSERT INTO t (v) SELECT randomblob(120) FROM c; COMMIT");
	assert_true(sqlite3_memory_highwater(0) - before < 4 * 1024 * 1024);
	assert_int_equal(one(r, "SELECT count(*) FROM t"), 200000);
	sound(r);
	sqlite3_close(a);
	sqlite3_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered),
		cmocka_unit_test_setup_teardown(test_commits_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_turns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spilled_rollbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spilled_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
