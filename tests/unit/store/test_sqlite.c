/*
 * Tests for the SQLite store backend (store/store.h): every operation, the
 * single-use and rotation rules, expiry with a shifted clock, concurrent
 * consumption on a file database, migrations on reopen, and the hostile
 * half (NULL, empty, oversized and injection-shaped keys; odd documents).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "store/sqlite_schema.h"
#include "store/store.h"

struct fx {
	struct store *s;
	struct err e;
};

/* ---- helpers ---- */

static int
setup_mem(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	time_set_offset(0);
	assert_int_equal(store_open(&f->s, ":memory:", &f->e), 0);
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

static json_t *
obj(const char *k, const char *v)
{
	json_t *j = json_pack("{s:s}", k, v);

	assert_non_null(j);
	return j;
}

/* The string member k of doc, or NULL. */
static const char *
sget(const json_t *doc, const char *k)
{
	return json_string_value(json_object_get(doc, k));
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

/* A string of n copies of c (caller frees). */
static char *
longstr(size_t n, char c)
{
	char *p = malloc(n + 1);

	assert_non_null(p);
	memset(p, c, n);
	p[n] = '\0';
	return p;
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

static void
put_grant(struct fx *f, const char *id, const char *sid, bool login_only, int64_t expires_at)
{
	json_t *doc = obj("person", "01019012345");

	assert_int_equal(
		store_op(f->s, grant_put, id, "client-a", sid, login_only, doc, expires_at, &f->e),
		0);
	json_decref(doc);
}

static void race_run(struct store *s);

/* ---- open ---- */

static void
test_open_targets(void **state)
{
	struct store *s = (struct store *)0x1;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(store_open(&s, NULL, &e), ERR_INVAL);
	assert_null(s);
	assert_int_equal(store_open(&s, "", &e), ERR_INVAL);
	assert_int_equal(store_open(&s, "postgresql://db.example/porten", &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "PostgreSQL"));
	assert_null(s);
	assert_int_equal(store_open(&s, "postgres://db.example/porten", &e), ERR_INVAL);
	/* a directory that does not exist */
	assert_int_not_equal(store_open(&s, "/nonexistent-porten-dir/x/y.db", &e), 0);
	assert_null(s);
	assert_int_equal(store_open(&s, ":memory:", &e), 0);
	assert_string_equal(s->ops->name, "sqlite");
	store_close(s);
	/* URI forms of an in-memory database: one database, not one per connection */
	assert_int_equal(store_open(&s, "file::memory:", &e), 0);
	race_run(s);
	store_close(s);
	assert_int_equal(store_open(&s, "file:porten-test?mode=memory", &e), 0);
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
	assert_int_equal(store_open(&s, uri, &e), 0);
	assert_int_equal(store_op(s, meta_put_new, "salt", "abc", &e), 0);
	store_close(s);
	/* the same file by plain path */
	assert_int_equal(store_open(&s, t.db, &e), 0);
	assert_int_equal(store_op(s, meta_get, "salt", &v, &e), 0);
	assert_string_equal(v, "abc");
	free(v);
	store_close(s);
	/* WAL stays on in the file */
	assert_int_equal(count_rows(t.db, "SELECT count(*) FROM pragma_journal_mode"
					  " WHERE journal_mode = 'wal'"),
			 1);
	tmpdir_remove(&t);
}

/* ---- meta, clients, scopes ---- */

static void
test_meta(void **state)
{
	struct fx *f = *state;
	char *v = (char *)0x1;

	assert_int_equal(store_op(f->s, meta_get, "salt", &v, &f->e), ERR_NOTFOUND);
	assert_null(v);
	assert_int_equal(store_op(f->s, meta_put_new, "salt", "first", &f->e), 0);
	/* a second node loses and must adopt the first value */
	assert_int_equal(store_op(f->s, meta_put_new, "salt", "second", &f->e), ERR_EXISTS);
	assert_int_equal(store_op(f->s, meta_get, "salt", &v, &f->e), 0);
	assert_string_equal(v, "first");
	free(v);
	assert_int_equal(store_op(f->s, meta_put_new, "empty", "", &f->e), 0);
	assert_int_equal(store_op(f->s, meta_get, "empty", &v, &f->e), 0);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(store_op(f->s, meta_put_new, NULL, "x", &f->e), ERR_INVAL);
	assert_int_equal(store_op(f->s, meta_put_new, "x", NULL, &f->e), ERR_INVAL);
	assert_int_equal(store_op(f->s, meta_get, "", &v, &f->e), ERR_INVAL);
	v = longstr(256 * 1024 + 1, 'v');
	assert_int_equal(store_op(f->s, meta_put_new, "big", v, &f->e), ERR_INVAL);
	free(v);
}

static void
test_clients(void **state)
{
	struct fx *f = *state;
	json_t *doc = NULL, *list = NULL, *d;
	const char *ids[] = { "charlie", "alpha", "bravo" };
	size_t i;

	for (i = 0; i < 3; i++) {
		d = obj("client_id", ids[i]);
		assert_int_equal(store_op(f->s, client_create, ids[i], d, &f->e), 0);
		json_decref(d);
	}
	d = obj("client_id", "other");
	assert_int_equal(store_op(f->s, client_create, "alpha", d, &f->e), ERR_EXISTS);
	assert_int_equal(store_op(f->s, client_get, "alpha", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "client_id"), "alpha");
	json_decref(doc);

	assert_int_equal(store_op(f->s, client_update, "alpha", d, &f->e), 0);
	assert_int_equal(store_op(f->s, client_get, "alpha", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "client_id"), "other");
	json_decref(doc);
	assert_int_equal(store_op(f->s, client_update, "nobody", d, &f->e), ERR_NOTFOUND);
	json_decref(d);

	assert_int_equal(store_op(f->s, client_list, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(sget(json_array_get(list, 0), "client_id"), "other"); /* alpha */
	assert_string_equal(sget(json_array_get(list, 1), "client_id"), "bravo");
	assert_string_equal(sget(json_array_get(list, 2), "client_id"), "charlie");
	json_decref(list);

	assert_int_equal(store_op(f->s, client_delete, "bravo", &f->e), 0);
	assert_int_equal(store_op(f->s, client_delete, "bravo", &f->e), ERR_NOTFOUND);
	doc = (json_t *)0x1;
	assert_int_equal(store_op(f->s, client_get, "bravo", &doc, &f->e), ERR_NOTFOUND);
	assert_null(doc);
	assert_int_equal(store_op(f->s, client_list, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
}

static void
test_client_hostile(void **state)
{
	struct fx *f = *state;
	static const char inj[] = "x'); DROP TABLE clients; --";
	json_t *d = obj("client_id", inj), *doc = NULL, *big;
	char *huge, *longid;

	/* an injection-shaped id is just an id */
	assert_int_equal(store_op(f->s, client_create, inj, d, &f->e), 0);
	assert_int_equal(store_op(f->s, client_get, inj, &doc, &f->e), 0);
	assert_string_equal(sget(doc, "client_id"), inj);
	json_decref(doc);
	assert_int_equal(store_op(f->s, client_get, "x", &doc, &f->e), ERR_NOTFOUND);

	/* missing, empty, oversized keys and documents */
	assert_int_equal(store_op(f->s, client_create, NULL, d, &f->e), ERR_INVAL);
	assert_int_equal(store_op(f->s, client_create, "", d, &f->e), ERR_INVAL);
	assert_int_equal(store_op(f->s, client_create, "c", NULL, &f->e), ERR_INVAL);
	longid = longstr(1025, 'a');
	assert_int_equal(store_op(f->s, client_create, longid, d, &f->e), ERR_INVAL);
	free(longid);
	longid = longstr(1024, 'a');
	assert_int_equal(store_op(f->s, client_create, longid, d, &f->e), 0);
	free(longid);
	huge = longstr(1024 * 1024 + 1, 'x');
	big = json_pack("{s:s}", "blob", huge);
	assert_int_equal(store_op(f->s, client_create, "big", big, &f->e), ERR_LIMIT);
	assert_int_equal(store_op(f->s, client_get, "big", &doc, &f->e), ERR_NOTFOUND);
	json_decref(big);
	free(huge);
	json_decref(d);

	/* odd but valid documents survive the round trip */
	d = json_pack("{s:s#,s:s,s:I,s:[]}", "nul", "a\0b", (int)3, "utf8",
		      "Bl\xc3\xa5"
		      "b\xc3\xa6"
		      "r",
		      "big", (json_int_t)INT64_MAX, "arr");
	assert_non_null(d);
	assert_int_equal(store_op(f->s, client_create, "odd", d, &f->e), 0);
	assert_int_equal(store_op(f->s, client_get, "odd", &doc, &f->e), 0);
	assert_true(json_equal(d, doc));
	json_decref(doc);
	json_decref(d);
}

static void
test_scopes(void **state)
{
	struct fx *f = *state;
	json_t *d1 = obj("desc", "one"), *d2 = obj("desc", "two"), *doc = NULL, *list = NULL;

	assert_int_equal(store_op(f->s, scope_get, "openid", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, scope_put, "profile", d1, &f->e), 0);
	assert_int_equal(store_op(f->s, scope_put, "openid", d1, &f->e), 0);
	/* upsert */
	assert_int_equal(store_op(f->s, scope_put, "openid", d2, &f->e), 0);
	assert_int_equal(store_op(f->s, scope_get, "openid", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "desc"), "two");
	json_decref(doc);
	assert_int_equal(store_op(f->s, scope_list, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(sget(json_array_get(list, 0), "desc"), "two"); /* openid < profile */
	json_decref(list);
	assert_int_equal(store_op(f->s, scope_delete, "openid", &f->e), 0);
	assert_int_equal(store_op(f->s, scope_delete, "openid", &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, scope_put, "x", NULL, &f->e), ERR_INVAL);
	json_decref(d1);
	json_decref(d2);
}

/* ---- keys ---- */

static void
test_keys(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	struct store_key k = { .issuer = "https://idp",
			       .alg = "RS256",
			       .sealed = "sealed",
			       .public_jwk = "{\"kty\":\"RSA\"}" };
	struct store_key *keys = NULL;
	size_t n = 99;

	assert_int_equal(store_op(f->s, key_list, "https://idp", &keys, &n, &f->e), 0);
	assert_int_equal(n, 0);
	assert_null(keys);

	k.kid = "old";
	k.created = now - 300;
	k.active_from = now - 300;
	assert_int_equal(store_op(f->s, key_add, &k, &f->e), 0);
	k.kid = "new";
	k.created = now - 10;
	k.active_from = now + 60;
	assert_int_equal(store_op(f->s, key_add, &k, &f->e), 0);
	k.kid = "gone";
	k.created = now - 1000;
	k.expires_at = now - 1;
	assert_int_equal(store_op(f->s, key_add, &k, &f->e), 0);
	k.kid = "other-issuer";
	k.issuer = "https://mp/";
	k.expires_at = 0;
	assert_int_equal(store_op(f->s, key_add, &k, &f->e), 0);
	/* duplicate kid */
	assert_int_equal(store_op(f->s, key_add, &k, &f->e), ERR_EXISTS);
	assert_int_equal(store_op(f->s, key_add, NULL, &f->e), ERR_INVAL);
	k.kid = "nosealed";
	k.sealed = NULL;
	assert_int_equal(store_op(f->s, key_add, &k, &f->e), ERR_INVAL);

	assert_int_equal(store_op(f->s, key_list, "https://idp", &keys, &n, &f->e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0].kid, "new");
	assert_string_equal(keys[1].kid, "old");
	assert_string_equal(keys[0].issuer, "https://idp");
	assert_string_equal(keys[0].alg, "RS256");
	assert_string_equal(keys[0].sealed, "sealed");
	assert_string_equal(keys[0].public_jwk, "{\"kty\":\"RSA\"}");
	assert_int_equal(keys[0].created, now - 10);
	assert_int_equal(keys[0].active_from, now + 60);
	assert_int_equal(keys[0].retired_at, 0);
	store_keys_free(keys, n);

	/* retire: stops signing, later leaves the JWKS */
	assert_int_equal(store_op(f->s, key_retire, "old", now, now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, key_retire, "nokey", now, now + 100, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, key_list, "https://idp", &keys, &n, &f->e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(keys[1].retired_at, now);
	assert_int_equal(keys[1].expires_at, now + 100);
	store_keys_free(keys, n);
	time_set_offset(100);
	assert_int_equal(store_op(f->s, key_list, "https://idp", &keys, &n, &f->e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0].kid, "new");
	store_keys_free(keys, n);
}

/* ---- docs ---- */

static void
test_docs(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d1 = obj("v", "1"), *d2 = obj("v", "2"), *doc = NULL;

	assert_int_equal(store_op(f->s, doc_put, "par", "req1", d1, now + 60, &f->e), 0);
	assert_int_equal(store_op(f->s, doc_put, "par", "req1", d2, now + 60, &f->e), ERR_EXISTS);
	/* kinds are separate namespaces */
	assert_int_equal(store_op(f->s, doc_put, "pending", "req1", d2, now + 60, &f->e), 0);
	assert_int_equal(store_op(f->s, doc_get, "par", "req1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "v"), "1");
	json_decref(doc);
	assert_int_equal(store_op(f->s, doc_update, "par", "req1", d2, &f->e), 0);
	assert_int_equal(store_op(f->s, doc_get, "par", "req1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "v"), "2");
	json_decref(doc);
	assert_int_equal(store_op(f->s, doc_update, "par", "nope", d2, &f->e), ERR_NOTFOUND);

	/* take is single use */
	assert_int_equal(store_op(f->s, doc_take, "par", "req1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "v"), "2");
	json_decref(doc);
	doc = (json_t *)0x1;
	assert_int_equal(store_op(f->s, doc_take, "par", "req1", &doc, &f->e), ERR_NOTFOUND);
	assert_null(doc);
	assert_int_equal(store_op(f->s, doc_get, "par", "req1", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, doc_get, "pending", "req1", &doc, &f->e), 0);
	json_decref(doc);

	assert_int_equal(store_op(f->s, doc_delete, "pending", "req1", &f->e), 0);
	assert_int_equal(store_op(f->s, doc_delete, "pending", "req1", &f->e), ERR_NOTFOUND);

	/* expiry: invisible to get/take/update, and its id may be taken again */
	assert_int_equal(store_op(f->s, doc_put, "par", "short", d1, now + 10, &f->e), 0);
	time_set_offset(10);
	assert_int_equal(store_op(f->s, doc_get, "par", "short", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, doc_take, "par", "short", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, doc_update, "par", "short", d2, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, doc_put, "par", "short", d2, now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, doc_get, "par", "short", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "v"), "2");
	json_decref(doc);

	assert_int_equal(store_op(f->s, doc_put, "", "x", d1, now + 10, &f->e), ERR_INVAL);
	assert_int_equal(store_op(f->s, doc_put, "par", NULL, d1, now + 10, &f->e), ERR_INVAL);
	json_decref(d1);
	json_decref(d2);
}

/* ---- codes ---- */

static void
test_code_single_use(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d = obj("client_id", "client-a"), *doc = NULL;
	char *gid = NULL;

	assert_int_equal(store_op(f->s, code_put, "HASH-c1", "grant-1", d, now + 60, &f->e), 0);
	assert_int_equal(store_op(f->s, code_put, "HASH-c1", "grant-2", d, now + 60, &f->e),
			 ERR_EXISTS);
	/* the error text never carries the key */
	assert_null(strstr(f->e.msg, "HASH-c1"));

	assert_int_equal(store_op(f->s, code_consume, "HASH-c1", &doc, &gid, &f->e), 0);
	assert_string_equal(sget(doc, "client_id"), "client-a");
	assert_string_equal(gid, "grant-1");
	json_decref(doc);
	free(gid);

	/* replay: reported with the grant of the first use */
	doc = (json_t *)0x1;
	gid = NULL;
	assert_int_equal(store_op(f->s, code_consume, "HASH-c1", &doc, &gid, &f->e), ERR_REUSED);
	assert_null(doc);
	assert_non_null(gid);
	assert_string_equal(gid, "grant-1");
	assert_null(strstr(f->e.msg, "HASH-c1"));
	free(gid);
	gid = (char *)0x1;
	assert_int_equal(store_op(f->s, code_consume, "HASH-c1", &doc, &gid, &f->e), ERR_REUSED);
	free(gid);

	gid = (char *)0x1;
	assert_int_equal(store_op(f->s, code_consume, "HASH-unknown", &doc, &gid, &f->e),
			 ERR_NOTFOUND);
	assert_null(gid);
	assert_null(doc);

	/* a code without a grant id */
	assert_int_equal(store_op(f->s, code_put, "HASH-c2", NULL, d, now + 60, &f->e), 0);
	assert_int_equal(store_op(f->s, code_consume, "HASH-c2", &doc, &gid, &f->e), 0);
	assert_null(gid);
	json_decref(doc);
	assert_int_equal(store_op(f->s, code_consume, "HASH-c2", &doc, &gid, &f->e), ERR_REUSED);
	assert_null(gid);
	assert_int_equal(store_op(f->s, code_consume, "", &doc, &gid, &f->e), ERR_INVAL);
	json_decref(d);
}

static void
test_code_expired(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d = obj("k", "v"), *doc = NULL;
	char *gid = NULL;

	assert_int_equal(store_op(f->s, code_put, "HASH-e1", "g", d, now + 60, &f->e), 0);
	assert_int_equal(store_op(f->s, code_put, "HASH-e2", "g", d, now + 60, &f->e), 0);
	assert_int_equal(store_op(f->s, code_consume, "HASH-e2", &doc, &gid, &f->e), 0);
	json_decref(doc);
	free(gid);
	time_set_offset(59);
	assert_int_equal(store_op(f->s, code_put, "HASH-e3", "g", d, now + 60, &f->e), 0);
	time_set_offset(60);
	assert_int_equal(store_op(f->s, code_consume, "HASH-e1", &doc, &gid, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, code_consume, "HASH-e3", &doc, &gid, &f->e), ERR_NOTFOUND);
	/* used and expired: gone like any expired code */
	assert_int_equal(store_op(f->s, code_consume, "HASH-e2", &doc, &gid, &f->e), ERR_NOTFOUND);
	assert_null(gid);
	json_decref(d);
}

/* ---- grants ---- */

static void
test_grants(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *doc = NULL;

	put_grant(f, "g1", "sid-1", true, now + 3600);
	put_grant(f, "g2", "sid-1", false, now + 3600);
	put_grant(f, "g3", "sid-2", true, now + 3600);
	put_grant(f, "g4", NULL, false, now + 100);
	doc = obj("x", "y");
	assert_int_equal(store_op(f->s, grant_put, "g1", "c", NULL, false, doc, now + 1, &f->e),
			 ERR_EXISTS);
	assert_int_equal(store_op(f->s, grant_put, "g9", NULL, NULL, false, doc, now + 1, &f->e),
			 ERR_INVAL);
	json_decref(doc);

	assert_int_equal(store_op(f->s, grant_get, "g1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "person"), "01019012345");
	json_decref(doc);

	/* logout revokes only the login-only grants of that session */
	assert_int_equal(store_op(f->s, grant_revoke_session, "sid-1", &f->e), 0);
	assert_int_equal(store_op(f->s, grant_get, "g1", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, grant_get, "g2", &doc, &f->e), 0);
	json_decref(doc);
	assert_int_equal(store_op(f->s, grant_get, "g3", &doc, &f->e), 0);
	json_decref(doc);
	assert_int_equal(store_op(f->s, grant_revoke_session, "sid-none", &f->e), 0);

	assert_int_equal(store_op(f->s, grant_revoke, "g2", &f->e), 0);
	assert_int_equal(store_op(f->s, grant_get, "g2", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, grant_revoke, "g2", &f->e), 0);

	/* revoking an id before its grant exists blocks the grant (code replay race) */
	assert_int_equal(store_op(f->s, grant_revoke, "g-future", &f->e), 0);
	doc = obj("x", "y");
	assert_int_equal(
		store_op(f->s, grant_put, "g-future", "c", NULL, false, doc, now + 60, &f->e),
		ERR_EXISTS);
	json_decref(doc);
	assert_int_equal(store_op(f->s, grant_get, "g-future", &doc, &f->e), ERR_NOTFOUND);

	time_set_offset(100);
	assert_int_equal(store_op(f->s, grant_get, "g4", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, grant_get, "g3", &doc, &f->e), 0);
	json_decref(doc);
}

/* ---- refresh tokens ---- */

static void
test_refresh_chain(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	struct store_refresh r = { 0 };
	json_t *doc = obj("scope", "openid"), *got = NULL;
	char *gid = NULL;

	put_grant(f, "G", "sid", false, now + 86400);
	assert_int_equal(store_op(f->s, refresh_put, "R1", "G", "client-a", now + 600, &f->e), 0);
	assert_int_equal(store_op(f->s, refresh_put, "R1", "G", "client-a", now + 600, &f->e),
			 ERR_EXISTS);
	assert_int_equal(store_op(f->s, token_put, "AT1", "G", doc, now + 300, &f->e), 0);

	assert_int_equal(store_op(f->s, refresh_rotate, "R1", "R2", now + 1200, &r, &f->e), 0);
	assert_string_equal(r.grant_id, "G");
	assert_string_equal(r.client_id, "client-a");
	assert_int_equal(r.expires_at, now + 600);
	store_refresh_clear(&r);
	assert_null(r.grant_id);

	assert_int_equal(store_op(f->s, refresh_rotate, "R2", "R3", now + 1800, &r, &f->e), 0);
	assert_int_equal(r.expires_at, now + 1200);
	store_refresh_clear(&r);
	assert_int_equal(store_op(f->s, refresh_get, "R3", &r, &f->e), 0);
	assert_string_equal(r.grant_id, "G");
	assert_string_equal(r.client_id, "client-a");
	assert_int_equal(r.expires_at, now + 1800);
	store_refresh_clear(&r);
	/* spent: not found for lookups */
	assert_int_equal(store_op(f->s, refresh_get, "R1", &r, &f->e), ERR_NOTFOUND);
	assert_null(r.grant_id);

	/* reuse of a spent token revokes the family */
	assert_int_equal(store_op(f->s, refresh_rotate, "R1", "R9", now + 1800, &r, &f->e),
			 ERR_REUSED);
	assert_null(r.grant_id);
	assert_null(strstr(f->e.msg, "R1"));
	assert_int_equal(store_op(f->s, refresh_rotate, "R3", "R4", now + 1800, &r, &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, refresh_get, "R3", &r, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, refresh_get, "R9", &r, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, grant_get, "G", &got, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, token_get, "AT1", &got, &gid, &f->e), ERR_NOTFOUND);
	/* once revoked, presenting the spent one again is just not found */
	assert_int_equal(store_op(f->s, refresh_rotate, "R1", "R8", now + 1800, &r, &f->e),
			 ERR_NOTFOUND);
	json_decref(doc);
}

static void
test_refresh_expiry(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	struct store_refresh r = { 0 };

	put_grant(f, "G1", NULL, false, now + 1000);
	put_grant(f, "G2", NULL, false, now + 50);
	/* unknown grant: the token cannot be stored */
	assert_int_equal(store_op(f->s, refresh_put, "RX", "G-none", "c", now + 100, &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, refresh_put, "RA", "G1", "c", now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, refresh_put, "RB", "G1", "c", now + 500, &f->e), 0);
	assert_int_equal(store_op(f->s, refresh_put, "RC", "G2", "c", now + 500, &f->e), 0);
	assert_int_equal(store_op(f->s, refresh_put, "RD", "G1", "c", now + 500, &f->e), 0);

	/* rotating into an existing hash fails and leaves the old one unspent */
	assert_int_equal(store_op(f->s, refresh_rotate, "RD", "RB", now + 500, &r, &f->e),
			 ERR_EXISTS);
	assert_int_equal(store_op(f->s, refresh_get, "RD", &r, &f->e), 0);
	store_refresh_clear(&r);
	assert_int_equal(store_op(f->s, refresh_rotate, "RD", NULL, now + 500, &r, &f->e),
			 ERR_INVAL);
	assert_int_equal(store_op(f->s, refresh_get, "RD", &r, &f->e), 0);
	store_refresh_clear(&r);
	assert_int_equal(store_op(f->s, refresh_rotate, "nope", "RN", now + 500, &r, &f->e),
			 ERR_NOTFOUND);

	time_set_offset(60);
	/* the grant's own expiry is the absolute limit */
	assert_int_equal(store_op(f->s, refresh_get, "RC", &r, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, refresh_rotate, "RC", "RC2", now + 900, &r, &f->e),
			 ERR_NOTFOUND);
	time_set_offset(100);
	/* inactivity window of the token */
	assert_int_equal(store_op(f->s, refresh_rotate, "RA", "RA2", now + 900, &r, &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, refresh_rotate, "RB", "RB2", now + 900, &r, &f->e), 0);
	store_refresh_clear(&r);
	/* the grant of an expired token was not revoked */
	assert_int_equal(store_op(f->s, refresh_get, "RB2", &r, &f->e), 0);
	store_refresh_clear(&r);
	/* grant revoked: every token of it fails */
	assert_int_equal(store_op(f->s, grant_revoke, "G1", &f->e), 0);
	assert_int_equal(store_op(f->s, refresh_get, "RB2", &r, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, refresh_rotate, "RB2", "RB3", now + 900, &r, &f->e),
			 ERR_NOTFOUND);
}

/* ---- access tokens ---- */

static void
test_tokens(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d = obj("sub", "abc"), *doc = NULL;
	char *gid = NULL;

	put_grant(f, "G", NULL, false, now + 200);
	assert_int_equal(store_op(f->s, token_put, "T1", "G", d, now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, token_put, "T1", "G", d, now + 100, &f->e), ERR_EXISTS);
	assert_int_equal(store_op(f->s, token_put, "T2", "G-none", d, now + 100, &f->e),
			 ERR_NOTFOUND);
	/* machine tokens without a grant */
	assert_int_equal(store_op(f->s, token_put, "T3", NULL, d, now + 300, &f->e), 0);

	assert_int_equal(store_op(f->s, token_get, "T1", &doc, &gid, &f->e), 0);
	assert_string_equal(sget(doc, "sub"), "abc");
	assert_string_equal(gid, "G");
	json_decref(doc);
	free(gid);
	assert_int_equal(store_op(f->s, token_get, "T1", &doc, NULL, &f->e), 0);
	json_decref(doc);
	assert_int_equal(store_op(f->s, token_get, "T3", &doc, &gid, &f->e), 0);
	assert_null(gid);
	json_decref(doc);
	assert_int_equal(store_op(f->s, token_get, "T-none", &doc, &gid, &f->e), ERR_NOTFOUND);

	time_set_offset(100);
	assert_int_equal(store_op(f->s, token_get, "T1", &doc, &gid, &f->e), ERR_NOTFOUND);
	assert_null(doc);
	assert_null(gid);
	assert_int_equal(store_op(f->s, token_get, "T3", &doc, &gid, &f->e), 0);
	json_decref(doc);

	/* a grant past its expiry kills tokens that are still in date */
	time_set_offset(0);
	put_grant(f, "G2", NULL, false, now + 50);
	assert_int_equal(store_op(f->s, token_put, "T4", "G2", d, now + 100, &f->e), 0);
	time_set_offset(50);
	assert_int_equal(store_op(f->s, token_get, "T4", &doc, &gid, &f->e), ERR_NOTFOUND);
	json_decref(d);
}

/* ---- sessions ---- */

static void
test_sessions(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d1 = obj("sid", "s1"), *d2 = obj("sid", "s1-raised"), *doc = NULL;

	assert_int_equal(store_op(f->s, session_put, "S1", d1, now + 100, now + 300, &f->e), 0);
	assert_int_equal(store_op(f->s, session_put, "S1", d1, now + 100, now + 300, &f->e),
			 ERR_EXISTS);
	assert_int_equal(store_op(f->s, session_put, "S2", d1, now + 100, now + 300, &f->e), 0);
	/* idle past absolute is capped at put */
	assert_int_equal(store_op(f->s, session_put, "S3", d1, now + 999, now + 50, &f->e), 0);

	assert_int_equal(store_op(f->s, session_get, "S1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "sid"), "s1");
	json_decref(doc);

	time_set_offset(90);
	/* touch S1: doc replaced, idle pushed but never past absolute */
	assert_int_equal(store_op(f->s, session_update, "S1", d2, now + 10000, &f->e), 0);
	assert_int_equal(store_op(f->s, session_update, "S-none", d2, now + 10000, &f->e),
			 ERR_NOTFOUND);
	time_set_offset(50);
	assert_int_equal(store_op(f->s, session_get, "S3", &doc, &f->e), ERR_NOTFOUND);
	time_set_offset(101);
	/* S2 idle-expired; S1 was touched */
	assert_int_equal(store_op(f->s, session_get, "S2", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, session_update, "S2", d2, now + 200, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_op(f->s, session_get, "S1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "sid"), "s1-raised");
	json_decref(doc);
	time_set_offset(299);
	assert_int_equal(store_op(f->s, session_get, "S1", &doc, &f->e), 0);
	json_decref(doc);
	time_set_offset(300);
	/* absolute expiry wins over the pushed idle expiry */
	assert_int_equal(store_op(f->s, session_get, "S1", &doc, &f->e), ERR_NOTFOUND);

	time_set_offset(0);
	assert_int_equal(store_op(f->s, session_delete, "S2", &f->e), 0);
	assert_int_equal(store_op(f->s, session_delete, "S2", &f->e), ERR_NOTFOUND);
	json_decref(d1);
	json_decref(d2);
}

/* ---- jti, events ---- */

static void
test_jti(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();

	assert_int_equal(store_op(f->s, jti_remember, "iss|jti-1", now + 60, &f->e), 0);
	assert_int_equal(store_op(f->s, jti_remember, "iss|jti-1", now + 60, &f->e), ERR_EXISTS);
	assert_int_equal(store_op(f->s, jti_remember, "iss|jti-1", now + 9999, &f->e), ERR_EXISTS);
	assert_int_equal(store_op(f->s, jti_remember, "iss|jti-2", now + 60, &f->e), 0);
	time_set_offset(60);
	/* an expired entry may be replaced, and then guards again */
	assert_int_equal(store_op(f->s, jti_remember, "iss|jti-1", now + 120, &f->e), 0);
	assert_int_equal(store_op(f->s, jti_remember, "iss|jti-1", now + 120, &f->e), ERR_EXISTS);
	assert_int_equal(store_op(f->s, jti_remember, "", now + 120, &f->e), ERR_INVAL);
}

static void
test_events(void **state)
{
	struct fx *f = *state;
	json_t *d = obj("who", "01019012345");
	int64_t n = -1;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(store_op(f->s, event_add, "login", d, &f->e), 0);
	assert_int_equal(store_op(f->s, event_add, "token", d, &f->e), 0);
	assert_int_equal(store_op(f->s, event_count, "login", &n, &f->e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_op(f->s, event_count, "token", &n, &f->e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_op(f->s, event_count, "none", &n, &f->e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_op(f->s, event_add, "login", NULL, &f->e), ERR_INVAL);
	assert_int_equal(store_op(f->s, event_add, NULL, d, &f->e), ERR_INVAL);
	json_decref(d);
}

/* ---- sweep ---- */

static void
test_sweep(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now(), n = -1;
	json_t *d = obj("k", "v"), *doc = NULL;
	struct store_refresh r = { 0 };
	char *gid = NULL;

	/* expired: 1 code, 1 doc, 1 session (idle), 1 session (abs), 1 jti, 1 grant + 1 token */
	assert_int_equal(store_op(f->s, code_put, "c-old", "g", d, now + 10, &f->e), 0);
	assert_int_equal(store_op(f->s, code_put, "c-new", "g", d, now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, doc_put, "par", "old", d, now + 10, &f->e), 0);
	assert_int_equal(store_op(f->s, doc_put, "par", "new", d, now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, session_put, "s-idle", d, now + 10, now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, session_put, "s-abs", d, now + 10, now + 10, &f->e), 0);
	assert_int_equal(store_op(f->s, session_put, "s-new", d, now + 100, now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, jti_remember, "j-old", now + 10, &f->e), 0);
	assert_int_equal(store_op(f->s, jti_remember, "j-new", now + 100, &f->e), 0);
	put_grant(f, "g-old", NULL, false, now + 10);
	put_grant(f, "g-new", NULL, false, now + 100);
	assert_int_equal(store_op(f->s, refresh_put, "r-old", "g-new", "c", now + 10, &f->e), 0);
	assert_int_equal(store_op(f->s, refresh_put, "r-new", "g-new", "c", now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, token_put, "t-old", "g-new", d, now + 10, &f->e), 0);
	assert_int_equal(store_op(f->s, token_put, "t-new", "g-new", d, now + 100, &f->e), 0);
	/* a live token of an expired grant goes with the grant */
	assert_int_equal(store_op(f->s, token_put, "t-orphan", "g-old", d, now + 100, &f->e), 0);

	assert_int_equal(store_op(f->s, sweep, now + 9, &n, &f->e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_op(f->s, sweep, now + 10, &n, &f->e), 0);
	/* codes 1, docs 1, refresh 1, tokens 1, sessions 2, jti 1, grants 1 */
	assert_int_equal(n, 8);
	assert_int_equal(store_op(f->s, sweep, now + 10, &n, &f->e), 0);
	assert_int_equal(n, 0);

	/* live rows survive */
	assert_int_equal(store_op(f->s, code_consume, "c-new", &doc, &gid, &f->e), 0);
	json_decref(doc);
	free(gid);
	assert_int_equal(store_op(f->s, doc_get, "par", "new", &doc, &f->e), 0);
	json_decref(doc);
	assert_int_equal(store_op(f->s, session_get, "s-new", &doc, &f->e), 0);
	json_decref(doc);
	assert_int_equal(store_op(f->s, jti_remember, "j-new", now + 100, &f->e), ERR_EXISTS);
	assert_int_equal(store_op(f->s, refresh_get, "r-new", &r, &f->e), 0);
	store_refresh_clear(&r);
	assert_int_equal(store_op(f->s, token_get, "t-new", &doc, &gid, &f->e), 0);
	json_decref(doc);
	free(gid);
	/* swept rows are gone, not only hidden: their keys are free again */
	assert_int_equal(store_op(f->s, jti_remember, "j-old", now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, code_put, "c-old", "g", d, now + 100, &f->e), 0);
	assert_int_equal(store_op(f->s, token_put, "t-orphan", NULL, d, now + 100, &f->e), 0);
	put_grant(f, "g-old", NULL, false, now + 100);
	json_decref(d);
}

/* ---- concurrency and files ---- */

#define RACE_THREADS 4
#define RACE_CODES 40

struct race {
	struct store *s;
	pthread_barrier_t *bar;
	int won[RACE_CODES];
	int reused[RACE_CODES];
	int other;
};

static void *
race_consume(void *arg)
{
	struct race *r = arg;
	struct err e = { 0 };
	char hash[32];
	json_t *doc;
	char *gid;
	int i, rc;

	for (i = 0; i < RACE_CODES; i++) {
		snprintf(hash, sizeof(hash), "race-%d", i);
		pthread_barrier_wait(r->bar);
		doc = NULL;
		gid = NULL;
		rc = store_op(r->s, code_consume, hash, &doc, &gid, &e);
		if (rc == 0)
			__atomic_add_fetch(&r->won[i], 1, __ATOMIC_SEQ_CST);
		else if (rc == ERR_REUSED && gid != NULL && strcmp(gid, "grant-race") == 0)
			__atomic_add_fetch(&r->reused[i], 1, __ATOMIC_SEQ_CST);
		else
			__atomic_add_fetch(&r->other, 1, __ATOMIC_SEQ_CST);
		json_decref(doc);
		free(gid);
	}
	return NULL;
}

static void
race_run(struct store *s)
{
	pthread_t th[RACE_THREADS];
	pthread_barrier_t bar;
	struct race r = { .s = s, .bar = &bar };
	struct err e = { 0 };
	json_t *d = obj("k", "v");
	char hash[32];
	int i;

	for (i = 0; i < RACE_CODES; i++) {
		snprintf(hash, sizeof(hash), "race-%d", i);
		assert_int_equal(store_op(s, code_put, hash, "grant-race", d, time_now() + 600, &e),
				 0);
	}
	json_decref(d);
	pthread_barrier_init(&bar, NULL, RACE_THREADS);
	for (i = 0; i < RACE_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_consume, &r), 0);
	for (i = 0; i < RACE_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	assert_int_equal(r.other, 0);
	for (i = 0; i < RACE_CODES; i++) {
		assert_int_equal(r.won[i], 1);
		assert_int_equal(r.reused[i], RACE_THREADS - 1);
	}
}

static void
test_race_code_file(void **state)
{
	struct tmpdir t;
	struct store *s = NULL;
	struct err e = { 0 };

	(void)state;
	tmpdir_make(&t);
	assert_int_equal(store_open(&s, t.db, &e), 0);
	race_run(s);
	store_close(s);
	tmpdir_remove(&t);
}

static void
test_race_code_memory(void **state)
{
	struct fx *f = *state;

	race_run(f->s);
}

struct rot {
	struct store *s;
	pthread_barrier_t *bar;
	int idx;
	int rc;
};

static void *
race_rotate(void *arg)
{
	struct rot *r = arg;
	struct store_refresh out = { 0 };
	struct err e = { 0 };
	char nh[32];

	snprintf(nh, sizeof(nh), "R-next-%d", r->idx);
	pthread_barrier_wait(r->bar);
	r->rc = store_op(r->s, refresh_rotate, "R-race", nh, time_now() + 600, &out, &e);
	store_refresh_clear(&out);
	return NULL;
}

/* Two presentations of one refresh token at once: one rotates, one is a reuse. */
static void
test_race_refresh_file(void **state)
{
	struct tmpdir t;
	struct store *s = NULL;
	struct err e = { 0 };
	pthread_barrier_t bar;
	pthread_t th[2];
	struct rot r[2];
	json_t *d = obj("k", "v");
	int i, ok = 0, reused = 0;

	(void)state;
	tmpdir_make(&t);
	assert_int_equal(store_open(&s, t.db, &e), 0);
	assert_int_equal(store_op(s, grant_put, "GR", "c", NULL, false, d, time_now() + 600, &e),
			 0);
	assert_int_equal(store_op(s, refresh_put, "R-race", "GR", "c", time_now() + 600, &e), 0);
	pthread_barrier_init(&bar, NULL, 2);
	for (i = 0; i < 2; i++) {
		r[i] = (struct rot){ .s = s, .bar = &bar, .idx = i, .rc = 1 };
		assert_int_equal(pthread_create(&th[i], NULL, race_rotate, &r[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ok += r[i].rc == 0;
		reused += r[i].rc == ERR_REUSED;
	}
	pthread_barrier_destroy(&bar);
	assert_int_equal(ok, 1);
	assert_int_equal(reused, 1);
	json_decref(d);
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
	assert_int_equal(store_open(&s, t.db, &e), 0);
	assert_int_equal(store_op(s, client_create, "kept", d, &e), 0);
	store_close(s);
	assert_int_equal(count_rows(t.db, "SELECT count(*) FROM schema_version"),
			 (int64_t)SQ_NMIGRATIONS);
	/* mark the recorded migrations: a rerun would add rows or fail on CREATE TABLE */
	exec_sql(t.db, "UPDATE schema_version SET applied_at = 12345");

	assert_int_equal(store_open(&s, t.db, &e), 0);
	/* a second store on the same file in the same process */
	assert_int_equal(store_open(&s2, t.db, &e), 0);
	assert_int_equal(store_op(s2, client_get, "kept", &doc, &e), 0);
	json_decref(doc);
	store_close(s2);
	assert_int_equal(store_op(s, client_get, "kept", &doc, &e), 0);
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
	assert_int_equal(store_open(&s, t.db, &e), 0);
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
	json_t *d = obj("k", "v");

	pthread_barrier_wait(o->bar);
	o->rc = store_open(&s, o->db, &e);
	if (o->rc == 0)
		o->rc = store_op(s, event_add, "open", d, &e);
	json_decref(d);
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
	assert_int_equal(store_open(&s, t.db, &e), 0);
	assert_int_equal(store_op(s, code_put, "HASH-busy", "g", d, time_now() + 60, &e), 0);
	assert_int_equal(sqlite3_open_v2(t.db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_op(s, code_consume, "HASH-busy", &doc, &gid, &e), ERR_UNAVAILABLE);
	assert_null(strstr(e.msg, "HASH-busy"));
	assert_non_null(strstr(e.msg, "code_consume"));
	assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	/* and the code is still there, unused */
	assert_int_equal(store_op(s, code_consume, "HASH-busy", &doc, &gid, &e), 0);
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
	assert_int_equal(store_open(&s, t.db, &e), 0);
	assert_int_equal(store_op(s, client_create, "c", d, &e), 0);
	exec_sql(t.db, "UPDATE clients SET doc = '{not json'");
	assert_int_equal(store_op(s, client_get, "c", &doc, &e), ERR_INTERNAL);
	assert_null(doc);
	assert_int_equal(store_op(s, client_list, &doc, &e), ERR_INTERNAL);
	assert_null(doc);
	json_decref(d);
	store_close(s);
	tmpdir_remove(&t);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_mem, teardown_mem)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_targets),
		cmocka_unit_test(test_open_file_uri),
		T(test_meta),
		T(test_clients),
		T(test_client_hostile),
		T(test_scopes),
		T(test_keys),
		T(test_docs),
		T(test_code_single_use),
		T(test_code_expired),
		T(test_grants),
		T(test_refresh_chain),
		T(test_refresh_expiry),
		T(test_tokens),
		T(test_sessions),
		T(test_jti),
		T(test_events),
		T(test_sweep),
		T(test_race_code_memory),
		cmocka_unit_test(test_race_code_file),
		cmocka_unit_test(test_race_refresh_file),
		cmocka_unit_test(test_reopen_no_remigrate),
		cmocka_unit_test(test_concurrent_open),
		cmocka_unit_test(test_busy_unavailable),
		cmocka_unit_test(test_corrupt_doc),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
