/*
 * Tests for the SQLite store's WAL VFS (store/sqlite_vfs.c): a commit's
 * frames held until its commit frame and written at once, as other
 * connections (on the default VFS and on this one) see them: commits
 * larger than one write and than the buffer, rollbacks of whole
 * transactions and to savepoints, writers taking turns across WAL
 * restarts, and the file sound after each.
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
};

static int
setup(void **state)
{
	struct vfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/porten-vfs-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct vfx *f = *state;
	char p[128];

	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A connection as the store opens one: this VFS (or the default), WAL, no spills. */
static sqlite3 *
conn(const struct vfx *f, bool ours)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 ours ? store_sq_vfs() : NULL),
			 SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
					  "PRAGMA cache_spill = OFF; PRAGMA wal_autocheckpoint = 0;"
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
	sqlite3_close(w);
	sound(r);
	sqlite3_close(r);
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
	sqlite3_close(a);
	sqlite3_close(b);
	sound(r);
	sqlite3_close(r);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered),
		cmocka_unit_test_setup_teardown(test_commits_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_turns, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
