/*
 * The store test cases every backend must pass (store/store.h), included by
 * test_sqlite.c and test_pg.c.  Each includer gives the fixture (setup and
 * teardown opening an empty store into struct fx) and its backend's own
 * cases; the cases here use only the interface: every operation, the
 * single-use and rotation rules, expiry with a shifted clock, concurrent
 * consumption and rotation, and the hostile half (NULL, empty, oversized
 * and injection-shaped keys; odd documents).
 */
#ifndef PORTEN_TESTS_UNIT_STORE_CASES_H
#define PORTEN_TESTS_UNIT_STORE_CASES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/timeutil.h"
#include "store/store.h"

struct fx {
	struct store *s;
	struct err e;
};

/*
 * d as the compact JSON text the store's code_put, grant_put, session_put and token_put take;
 * the text lives until eight more have been made.
 */
static const char *
doc_text(const json_t *d)
{
	static char *ring[8];
	static unsigned next;
	char **slot = &ring[next++ % 8];

	free(*slot);
	*slot = json_dumps(d, JSON_COMPACT);
	assert_non_null(*slot);
	return *slot;
}

/* ---- helpers ---- */

/*
 * The clock at t, whatever time has passed since the test read now: a
 * test slowed down (valgrind, a busy machine) must not cross a second
 * that decides whether a row is live.
 */
static void
time_at(int64_t t)
{
	time_set_offset(0);
	time_set_offset(t - time_now());
}

static json_t *
obj(const char *k, const char *v)
{
	json_t *j = json_pack("{s:s}", k, v);

	assert_non_null(j);
	return j;
}

/* An access token's record; the store takes its claims as JSON text. */
static int
tok_put(struct fx *f, const char *hash, const char *grant_id, const json_t *doc, int64_t exp)
{
	return store_call(f->s, oauth, token_put, hash, grant_id, doc_text(doc), exp, &f->e);
}

/* The string member k of doc, or NULL. */
static const char *
sget(const json_t *doc, const char *k)
{
	return json_string_value(json_object_get(doc, k));
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

static void
put_grant(struct fx *f, const char *id, const char *sid, bool login_only, int64_t expires_at)
{
	json_t *doc = obj("person", "01019012345");

	assert_int_equal(
		store_call(f->s, oauth, grant_put, id, "client-a", sid, login_only, doc_text(doc), expires_at, &f->e),
		0);
	json_decref(doc);
}

/* ---- meta, clients, scopes ---- */

static void
test_meta(void **state)
{
	struct fx *f = *state;
	char *v = (char *)0x1;

	assert_int_equal(store_call(f->s, registry, meta_get, "salt", &v, &f->e), ERR_NOTFOUND);
	assert_null(v);
	assert_int_equal(store_call(f->s, registry, meta_put_new, "salt", "first", &f->e), 0);
	/* a second node loses and must adopt the first value */
	assert_int_equal(store_call(f->s, registry, meta_put_new, "salt", "second", &f->e), ERR_EXISTS);
	assert_int_equal(store_call(f->s, registry, meta_get, "salt", &v, &f->e), 0);
	assert_string_equal(v, "first");
	free(v);
	assert_int_equal(store_call(f->s, registry, meta_put_new, "empty", "", &f->e), 0);
	assert_int_equal(store_call(f->s, registry, meta_get, "empty", &v, &f->e), 0);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(store_call(f->s, registry, meta_put_new, NULL, "x", &f->e), ERR_INVAL);
	assert_int_equal(store_call(f->s, registry, meta_put_new, "x", NULL, &f->e), ERR_INVAL);
	assert_int_equal(store_call(f->s, registry, meta_get, "", &v, &f->e), ERR_INVAL);
	v = longstr(256 * 1024 + 1, 'v');
	assert_int_equal(store_call(f->s, registry, meta_put_new, "big", v, &f->e), ERR_INVAL);
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
		assert_int_equal(store_call(f->s, registry, client_create, ids[i], d, &f->e), 0);
		json_decref(d);
	}
	d = obj("client_id", "other");
	assert_int_equal(store_call(f->s, registry, client_create, "alpha", d, &f->e), ERR_EXISTS);
	assert_int_equal(store_call(f->s, registry, client_get, "alpha", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "client_id"), "alpha");
	json_decref(doc);

	assert_int_equal(store_call(f->s, registry, client_update, "alpha", d, &f->e), 0);
	assert_int_equal(store_call(f->s, registry, client_get, "alpha", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "client_id"), "other");
	json_decref(doc);
	assert_int_equal(store_call(f->s, registry, client_update, "nobody", d, &f->e), ERR_NOTFOUND);
	json_decref(d);

	assert_int_equal(store_call(f->s, registry, client_list, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(sget(json_array_get(list, 0), "client_id"), "other"); /* alpha */
	assert_string_equal(sget(json_array_get(list, 1), "client_id"), "bravo");
	assert_string_equal(sget(json_array_get(list, 2), "client_id"), "charlie");
	json_decref(list);

	assert_int_equal(store_call(f->s, registry, client_delete, "bravo", &f->e), 0);
	assert_int_equal(store_call(f->s, registry, client_delete, "bravo", &f->e), ERR_NOTFOUND);
	doc = (json_t *)0x1;
	assert_int_equal(store_call(f->s, registry, client_get, "bravo", &doc, &f->e), ERR_NOTFOUND);
	assert_null(doc);
	assert_int_equal(store_call(f->s, registry, client_list, &list, &f->e), 0);
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
	assert_int_equal(store_call(f->s, registry, client_create, inj, d, &f->e), 0);
	assert_int_equal(store_call(f->s, registry, client_get, inj, &doc, &f->e), 0);
	assert_string_equal(sget(doc, "client_id"), inj);
	json_decref(doc);
	assert_int_equal(store_call(f->s, registry, client_get, "x", &doc, &f->e), ERR_NOTFOUND);

	/* missing, empty, oversized keys and documents */
	assert_int_equal(store_call(f->s, registry, client_create, NULL, d, &f->e), ERR_INVAL);
	assert_int_equal(store_call(f->s, registry, client_create, "", d, &f->e), ERR_INVAL);
	assert_int_equal(store_call(f->s, registry, client_create, "c", NULL, &f->e), ERR_INVAL);
	longid = longstr(1025, 'a');
	assert_int_equal(store_call(f->s, registry, client_create, longid, d, &f->e), ERR_INVAL);
	free(longid);
	longid = longstr(1024, 'a');
	assert_int_equal(store_call(f->s, registry, client_create, longid, d, &f->e), 0);
	free(longid);
	huge = longstr(1024 * 1024 + 1, 'x');
	big = json_pack("{s:s}", "blob", huge);
	assert_int_equal(store_call(f->s, registry, client_create, "big", big, &f->e), ERR_LIMIT);
	assert_int_equal(store_call(f->s, registry, client_get, "big", &doc, &f->e), ERR_NOTFOUND);
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
	assert_int_equal(store_call(f->s, registry, client_create, "odd", d, &f->e), 0);
	assert_int_equal(store_call(f->s, registry, client_get, "odd", &doc, &f->e), 0);
	assert_true(json_equal(d, doc));
	json_decref(doc);
	json_decref(d);
}

static void
test_scopes(void **state)
{
	struct fx *f = *state;
	json_t *d1 = obj("desc", "one"), *d2 = obj("desc", "two"), *doc = NULL, *list = NULL;

	assert_int_equal(store_call(f->s, registry, scope_get, "openid", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, registry, scope_put, "profile", d1, &f->e), 0);
	assert_int_equal(store_call(f->s, registry, scope_put, "openid", d1, &f->e), 0);
	/* upsert */
	assert_int_equal(store_call(f->s, registry, scope_put, "openid", d2, &f->e), 0);
	assert_int_equal(store_call(f->s, registry, scope_get, "openid", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "desc"), "two");
	json_decref(doc);
	assert_int_equal(store_call(f->s, registry, scope_list, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(sget(json_array_get(list, 0), "desc"), "two"); /* openid < profile */
	json_decref(list);
	assert_int_equal(store_call(f->s, registry, scope_delete, "openid", &f->e), 0);
	assert_int_equal(store_call(f->s, registry, scope_delete, "openid", &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, registry, scope_put, "x", NULL, &f->e), ERR_INVAL);
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

	assert_int_equal(store_call(f->s, registry, key_list, "https://idp", &keys, &n, &f->e), 0);
	assert_int_equal(n, 0);
	assert_null(keys);

	k.kid = "old";
	k.created = now - 300;
	k.active_from = now - 300;
	assert_int_equal(store_call(f->s, registry, key_add, &k, &f->e), 0);
	k.kid = "new";
	k.created = now - 10;
	k.active_from = now + 60;
	assert_int_equal(store_call(f->s, registry, key_add, &k, &f->e), 0);
	k.kid = "gone";
	k.created = now - 1000;
	k.expires_at = now - 1;
	assert_int_equal(store_call(f->s, registry, key_add, &k, &f->e), 0);
	k.kid = "other-issuer";
	k.issuer = "https://mp/";
	k.expires_at = 0;
	assert_int_equal(store_call(f->s, registry, key_add, &k, &f->e), 0);
	/* duplicate kid */
	assert_int_equal(store_call(f->s, registry, key_add, &k, &f->e), ERR_EXISTS);
	assert_int_equal(store_call(f->s, registry, key_add, NULL, &f->e), ERR_INVAL);
	k.kid = "nosealed";
	k.sealed = NULL;
	assert_int_equal(store_call(f->s, registry, key_add, &k, &f->e), ERR_INVAL);

	assert_int_equal(store_call(f->s, registry, key_list, "https://idp", &keys, &n, &f->e), 0);
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
	assert_int_equal(store_call(f->s, registry, key_retire, "old", now, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, registry, key_retire, "nokey", now, now + 100, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, registry, key_list, "https://idp", &keys, &n, &f->e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(keys[1].retired_at, now);
	assert_int_equal(keys[1].expires_at, now + 100);
	store_keys_free(keys, n);
	time_at(now + 100);
	assert_int_equal(store_call(f->s, registry, key_list, "https://idp", &keys, &n, &f->e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0].kid, "new");
	store_keys_free(keys, n);

	/* reseal: only from the text it still has, once */
	assert_int_equal(store_call(f->s, registry, key_reseal, "new", "sealed", "resealed", &f->e), 0);
	assert_int_equal(store_call(f->s, registry, key_reseal, "new", "sealed", "again", &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, registry, key_reseal, "nokey", "sealed", "x", &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, registry, key_list, "https://idp", &keys, &n, &f->e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0].sealed, "resealed");
	store_keys_free(keys, n);
}

/* ---- docs ---- */

static void
test_docs(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d1 = obj("v", "1"), *d2 = obj("v", "2"), *doc = NULL;

	assert_int_equal(store_call(f->s, login, doc_put, "par", "req1", d1, now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, login, doc_put, "par", "req1", d2, now + 60, &f->e), ERR_EXISTS);
	/* kinds are separate namespaces */
	assert_int_equal(store_call(f->s, login, doc_put, "pending", "req1", d2, now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, login, doc_get, "par", "req1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "v"), "1");
	json_decref(doc);
	assert_int_equal(store_call(f->s, login, doc_update, "par", "req1", d2, &f->e), 0);
	assert_int_equal(store_call(f->s, login, doc_get, "par", "req1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "v"), "2");
	json_decref(doc);
	assert_int_equal(store_call(f->s, login, doc_update, "par", "nope", d2, &f->e), ERR_NOTFOUND);

	/* take is single use */
	assert_int_equal(store_call(f->s, login, doc_take, "par", "req1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "v"), "2");
	json_decref(doc);
	doc = (json_t *)0x1;
	assert_int_equal(store_call(f->s, login, doc_take, "par", "req1", &doc, &f->e), ERR_NOTFOUND);
	assert_null(doc);
	assert_int_equal(store_call(f->s, login, doc_get, "par", "req1", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, doc_get, "pending", "req1", &doc, &f->e), 0);
	json_decref(doc);

	assert_int_equal(store_call(f->s, login, doc_delete, "pending", "req1", &f->e), 0);
	assert_int_equal(store_call(f->s, login, doc_delete, "pending", "req1", &f->e), ERR_NOTFOUND);

	/* expiry: invisible to get/take/update, and its id may be taken again */
	assert_int_equal(store_call(f->s, login, doc_put, "par", "short", d1, now + 10, &f->e), 0);
	time_at(now + 10);
	assert_int_equal(store_call(f->s, login, doc_get, "par", "short", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, doc_take, "par", "short", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, doc_update, "par", "short", d2, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, doc_put, "par", "short", d2, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, login, doc_get, "par", "short", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "v"), "2");
	json_decref(doc);

	assert_int_equal(store_call(f->s, login, doc_put, "", "x", d1, now + 10, &f->e), ERR_INVAL);
	assert_int_equal(store_call(f->s, login, doc_put, "par", NULL, d1, now + 10, &f->e), ERR_INVAL);
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

	assert_int_equal(store_call(f->s, oauth, code_put, "HASH-c1", "grant-1", doc_text(d), now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_put, "HASH-c1", "grant-2", doc_text(d), now + 60, &f->e),
			 ERR_EXISTS);
	/* the error text never carries the key */
	assert_null(strstr(f->e.msg, "HASH-c1"));

	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-c1", &doc, &gid, &f->e), 0);
	assert_string_equal(sget(doc, "client_id"), "client-a");
	assert_string_equal(gid, "grant-1");
	json_decref(doc);
	free(gid);

	/* replay: reported with the grant of the first use */
	doc = (json_t *)0x1;
	gid = NULL;
	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-c1", &doc, &gid, &f->e), ERR_REUSED);
	assert_null(doc);
	assert_non_null(gid);
	assert_string_equal(gid, "grant-1");
	assert_null(strstr(f->e.msg, "HASH-c1"));
	free(gid);
	gid = (char *)0x1;
	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-c1", &doc, &gid, &f->e), ERR_REUSED);
	free(gid);

	gid = (char *)0x1;
	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-unknown", &doc, &gid, &f->e),
			 ERR_NOTFOUND);
	assert_null(gid);
	assert_null(doc);

	/* a code without a grant id */
	assert_int_equal(store_call(f->s, oauth, code_put, "HASH-c2", NULL, doc_text(d), now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-c2", &doc, &gid, &f->e), 0);
	assert_null(gid);
	json_decref(doc);
	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-c2", &doc, &gid, &f->e), ERR_REUSED);
	assert_null(gid);
	assert_int_equal(store_call(f->s, oauth, code_consume, "", &doc, &gid, &f->e), ERR_INVAL);
	json_decref(d);
}

static void
test_code_expired(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d = obj("k", "v"), *doc = NULL;
	char *gid = NULL;

	assert_int_equal(store_call(f->s, oauth, code_put, "HASH-e1", "g", doc_text(d), now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_put, "HASH-e2", "g", doc_text(d), now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-e2", &doc, &gid, &f->e), 0);
	json_decref(doc);
	free(gid);
	time_at(now + 59);
	assert_int_equal(store_call(f->s, oauth, code_put, "HASH-e3", "g", doc_text(d), now + 60, &f->e), 0);
	time_at(now + 60);
	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-e1", &doc, &gid, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-e3", &doc, &gid, &f->e), ERR_NOTFOUND);
	/* used and expired: gone like any expired code */
	assert_int_equal(store_call(f->s, oauth, code_consume, "HASH-e2", &doc, &gid, &f->e), ERR_NOTFOUND);
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
	assert_int_equal(store_call(f->s, oauth, grant_put, "g1", "c", NULL, false, doc_text(doc), now + 1, &f->e),
			 ERR_EXISTS);
	assert_int_equal(store_call(f->s, oauth, grant_put, "g9", NULL, NULL, false, doc_text(doc), now + 1, &f->e),
			 ERR_INVAL);
	json_decref(doc);

	assert_int_equal(store_call(f->s, oauth, grant_get, "g1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "person"), "01019012345");
	json_decref(doc);

	/* logout revokes only the login-only grants of that session */
	assert_int_equal(store_call(f->s, oauth, grant_revoke_session, "sid-1", &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_get, "g1", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, grant_get, "g2", &doc, &f->e), 0);
	json_decref(doc);
	assert_int_equal(store_call(f->s, oauth, grant_get, "g3", &doc, &f->e), 0);
	json_decref(doc);
	assert_int_equal(store_call(f->s, oauth, grant_revoke_session, "sid-none", &f->e), 0);

	assert_int_equal(store_call(f->s, oauth, grant_revoke, "g2", &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_get, "g2", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, grant_revoke, "g2", &f->e), 0);

	/* revoking an id before its grant exists blocks the grant (code replay race) */
	assert_int_equal(store_call(f->s, oauth, grant_revoke, "g-future", &f->e), 0);
	doc = obj("x", "y");
	assert_int_equal(
		store_call(f->s, oauth, grant_put, "g-future", "c", NULL, false, doc_text(doc), now + 60, &f->e),
		ERR_EXISTS);
	json_decref(doc);
	assert_int_equal(store_call(f->s, oauth, grant_get, "g-future", &doc, &f->e), ERR_NOTFOUND);

	time_at(now + 100);
	assert_int_equal(store_call(f->s, oauth, grant_get, "g4", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, grant_get, "g3", &doc, &f->e), 0);
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
	assert_int_equal(store_call(f->s, oauth, refresh_put, "R1", "G", "client-a", NULL, now + 600, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, refresh_put, "R1", "G", "client-a", NULL, now + 600, &f->e),
			 ERR_EXISTS);
	assert_int_equal(tok_put(f, "AT1", "G", doc, now + 300), 0);

	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "R1", "R2", now + 1200, NULL, &r, &f->e), 0);
	assert_string_equal(r.grant_id, "G");
	assert_string_equal(r.client_id, "client-a");
	assert_int_equal(r.expires_at, now + 600);
	store_refresh_clear(&r);
	assert_null(r.grant_id);

	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "R2", "R3", now + 1800, NULL, &r, &f->e), 0);
	assert_int_equal(r.expires_at, now + 1200);
	store_refresh_clear(&r);
	assert_int_equal(store_call(f->s, oauth, refresh_get, "R3", &r, &f->e), 0);
	assert_string_equal(r.grant_id, "G");
	assert_string_equal(r.client_id, "client-a");
	assert_int_equal(r.expires_at, now + 1800);
	assert_null(r.jkt);
	store_refresh_clear(&r);
	/* a DPoP-bound token keeps its key through rotation (spec/idporten-oidc.md §19) */
	assert_int_equal(store_call(f->s, oauth, refresh_put, "RJ", "G", "client-a", "JKT-1", now + 600,
				    &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, refresh_get, "RJ", &r, &f->e), 0);
	assert_string_equal(r.jkt, "JKT-1");
	store_refresh_clear(&r);
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "RJ", "RJ2", now + 600, "JKT-2", &r,
				    &f->e), 0);
	assert_string_equal(r.jkt, "JKT-1");
	store_refresh_clear(&r);
	assert_int_equal(store_call(f->s, oauth, refresh_get, "RJ2", &r, &f->e), 0);
	assert_string_equal(r.jkt, "JKT-2");
	store_refresh_clear(&r);
	/* spent: not found for lookups */
	assert_int_equal(store_call(f->s, oauth, refresh_get, "R1", &r, &f->e), ERR_NOTFOUND);
	assert_null(r.grant_id);

	/* reuse of a spent token revokes the family */
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "R1", "R9", now + 1800, NULL, &r, &f->e),
			 ERR_REUSED);
	assert_null(r.grant_id);
	assert_null(strstr(f->e.msg, "R1"));
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "R3", "R4", now + 1800, NULL, &r, &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, refresh_get, "R3", &r, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, refresh_get, "R9", &r, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, grant_get, "G", &got, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, token_get, "AT1", &got, &gid, NULL, &f->e), ERR_NOTFOUND);
	/* once revoked, presenting the spent one again is just not found */
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "R1", "R8", now + 1800, NULL, &r, &f->e),
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
	assert_int_equal(store_call(f->s, oauth, refresh_put, "RX", "G-none", "c", NULL, now + 100, &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, refresh_put, "RA", "G1", "c", NULL, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, refresh_put, "RB", "G1", "c", NULL, now + 500, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, refresh_put, "RC", "G2", "c", NULL, now + 500, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, refresh_put, "RD", "G1", "c", NULL, now + 500, &f->e), 0);

	/* rotating into an existing hash fails and leaves the old one unspent */
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "RD", "RB", now + 500, NULL, &r, &f->e),
			 ERR_EXISTS);
	assert_int_equal(store_call(f->s, oauth, refresh_get, "RD", &r, &f->e), 0);
	store_refresh_clear(&r);
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "RD", NULL, now + 500, NULL, &r, &f->e),
			 ERR_INVAL);
	assert_int_equal(store_call(f->s, oauth, refresh_get, "RD", &r, &f->e), 0);
	store_refresh_clear(&r);
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "nope", "RN", now + 500, NULL, &r, &f->e),
			 ERR_NOTFOUND);

	time_at(now + 60);
	/* the grant's own expiry is the absolute limit */
	assert_int_equal(store_call(f->s, oauth, refresh_get, "RC", &r, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "RC", "RC2", now + 900, NULL, &r, &f->e),
			 ERR_NOTFOUND);
	time_at(now + 100);
	/* inactivity window of the token */
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "RA", "RA2", now + 900, NULL, &r, &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "RB", "RB2", now + 900, NULL, &r, &f->e), 0);
	store_refresh_clear(&r);
	/* the grant of an expired token was not revoked */
	assert_int_equal(store_call(f->s, oauth, refresh_get, "RB2", &r, &f->e), 0);
	store_refresh_clear(&r);
	/* grant revoked: every token of it fails */
	assert_int_equal(store_call(f->s, oauth, grant_revoke, "G1", &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, refresh_get, "RB2", &r, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, refresh_rotate, "RB2", "RB3", now + 900, NULL, &r, &f->e),
			 ERR_NOTFOUND);
}

/* ---- access tokens ---- */

static void
test_tokens(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d = obj("sub", "abc"), *doc = NULL, *grant = NULL;
	char *gid = NULL;

	put_grant(f, "G", NULL, false, now + 200);
	assert_int_equal(tok_put(f, "T1", "G", d, now + 100), 0);
	assert_int_equal(tok_put(f, "T1", "G", d, now + 100), ERR_EXISTS);
	assert_int_equal(tok_put(f, "T2", "G-none", d, now + 100),
			 ERR_NOTFOUND);
	/* machine tokens without a grant */
	assert_int_equal(tok_put(f, "T3", NULL, d, now + 300), 0);

	assert_int_equal(store_call(f->s, oauth, token_get, "T1", &doc, &gid, NULL, &f->e), 0);
	assert_string_equal(sget(doc, "sub"), "abc");
	assert_string_equal(gid, "G");
	json_decref(doc);
	free(gid);
	assert_int_equal(store_call(f->s, oauth, token_get, "T1", &doc, NULL, NULL, &f->e), 0);
	json_decref(doc);
	/* the grant's document comes with the token, in the same statement */
	assert_int_equal(store_call(f->s, oauth, token_get, "T1", &doc, NULL, &grant, &f->e), 0);
	assert_non_null(grant);
	assert_string_equal(sget(grant, "person"), "01019012345");
	json_decref(grant);
	json_decref(doc);
	grant = (json_t *)0x1;
	assert_int_equal(store_call(f->s, oauth, token_get, "T3", &doc, &gid, &grant, &f->e), 0);
	assert_null(gid);
	assert_null(grant);
	json_decref(doc);
	assert_int_equal(store_call(f->s, oauth, token_get, "T-none", &doc, &gid, NULL, &f->e), ERR_NOTFOUND);

	time_at(now + 100);
	grant = (json_t *)0x1;
	assert_int_equal(store_call(f->s, oauth, token_get, "T1", &doc, &gid, &grant, &f->e), ERR_NOTFOUND);
	assert_null(doc);
	assert_null(gid);
	assert_null(grant);
	assert_int_equal(store_call(f->s, oauth, token_get, "T3", &doc, &gid, NULL, &f->e), 0);
	json_decref(doc);

	/* a grant past its expiry kills tokens that are still in date */
	time_at(now);
	put_grant(f, "G2", NULL, false, now + 50);
	assert_int_equal(tok_put(f, "T4", "G2", d, now + 100), 0);
	time_at(now + 50);
	assert_int_equal(store_call(f->s, oauth, token_get, "T4", &doc, &gid, NULL, &f->e), ERR_NOTFOUND);
	json_decref(d);
}

/* ---- sessions ---- */

static void
test_sessions(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now(), n = -1;
	json_t *d1 = obj("sid", "s1"), *d2 = obj("sid", "s1-raised"), *doc = NULL;

	assert_int_equal(store_call(f->s, login, session_put, "S1", doc_text(d1), NULL, now + 100, now + 300, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_put, "S1", doc_text(d1), NULL, now + 100, now + 300, &f->e),
			 ERR_EXISTS);
	assert_int_equal(store_call(f->s, login, session_put, "S2", doc_text(d1), NULL, now + 100, now + 300, &f->e), 0);
	/* idle past absolute is capped at put */
	assert_int_equal(store_call(f->s, login, session_put, "S3", doc_text(d1), NULL, now + 999, now + 50, &f->e), 0);
	/* the live ones: S3 ends at its absolute expiry, the others when idle */
	assert_int_equal(store_call(f->s, login, session_count, now, &n, &f->e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_call(f->s, login, session_count, now + 50, &n, &f->e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_call(f->s, login, session_count, now + 100, &n, &f->e), 0);
	assert_int_equal(n, 0);

	assert_int_equal(store_call(f->s, login, session_get, "S1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "sid"), "s1");
	json_decref(doc);

	time_at(now + 90);
	/* touch S1: doc replaced, idle pushed but never past absolute */
	assert_int_equal(store_call(f->s, login, session_update, "S1", doc_text(d2), NULL, now + 10000, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_update, "S-none", doc_text(d2), NULL, now + 10000, &f->e),
			 ERR_NOTFOUND);
	time_at(now + 50);
	assert_int_equal(store_call(f->s, login, session_get, "S3", &doc, &f->e), ERR_NOTFOUND);
	time_at(now + 101);
	/* S2 idle-expired; S1 was touched */
	assert_int_equal(store_call(f->s, login, session_get, "S2", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, session_update, "S2", doc_text(d2), NULL, now + 200, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, session_get, "S1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "sid"), "s1-raised");
	json_decref(doc);
	time_at(now + 299);
	assert_int_equal(store_call(f->s, login, session_get, "S1", &doc, &f->e), 0);
	json_decref(doc);
	time_at(now + 300);
	/* absolute expiry wins over the pushed idle expiry */
	assert_int_equal(store_call(f->s, login, session_get, "S1", &doc, &f->e), ERR_NOTFOUND);

	time_at(now);
	assert_int_equal(store_call(f->s, login, session_delete, "S2", &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_delete, "S2", &f->e), ERR_NOTFOUND);
	/* S1 touched (idle pushed to its absolute expiry), S3 as before */
	assert_int_equal(store_call(f->s, login, session_count, now, &n, &f->e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_call(f->s, login, session_count, now + 200, &n, &f->e), 0);
	assert_int_equal(n, 1);
	json_decref(d1);
	json_decref(d2);
}

/* ---- jti, events ---- */

static void
test_jti(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();

	assert_int_equal(store_call(f->s, oauth, jti_remember, "iss|jti-1", now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, jti_remember, "iss|jti-1", now + 60, &f->e), ERR_EXISTS);
	assert_int_equal(store_call(f->s, oauth, jti_remember, "iss|jti-1", now + 9999, &f->e), ERR_EXISTS);
	assert_int_equal(store_call(f->s, oauth, jti_remember, "iss|jti-2", now + 60, &f->e), 0);
	time_at(now + 60);
	/* an expired entry may be replaced, and then guards again */
	assert_int_equal(store_call(f->s, oauth, jti_remember, "iss|jti-1", now + 120, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, jti_remember, "iss|jti-1", now + 120, &f->e), ERR_EXISTS);
	assert_int_equal(store_call(f->s, oauth, jti_remember, "", now + 120, &f->e), ERR_INVAL);
}

/*
 * A single-use key spent with an event in one transaction: a machine
 * token's replay key, or a completed login's spent mark (a document).
 */
struct once_spend {
	struct store *s;
	bool doc;               /* a "spent" document rather than a replay key */
	const char *key;
	int64_t until;
};

static int
once_spend_body(void *arg, struct err *e)
{
	const struct once_spend *o = arg;
	json_t *mark = json_object();
	int rc = o->doc ? store_call(o->s, login, doc_put, "spent", o->key, mark, o->until, e)
			: store_call(o->s, oauth, jti_remember, o->key, o->until, e);

	json_decref(mark);
	return rc != 0 ? rc : store_call(o->s, events, event_add, "once-tx", "{}", e);
}

/* The same key alone, outside any transaction. */
static int
once_alone(struct fx *f, const struct once_spend *o)
{
	json_t *mark = json_object();
	int rc = o->doc ? store_call(f->s, login, doc_put, "spent", o->key, mark, o->until, &f->e)
			: store_call(f->s, oauth, jti_remember, o->key, o->until, &f->e);

	json_decref(mark);
	return rc;
}

/*
 * Such a key inside a transaction (on PostgreSQL a replay key is held back
 * and sent with the COMMIT): one seen before fails the whole transaction
 * with ERR_EXISTS and leaves nothing of it; an expired one is replaced.
 */
static void
test_once_in_tx(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now(), n = -1, want = 0;

	for (int doc = 0; doc < 2; doc++) {
		struct once_spend o = { f->s, doc, doc ? "tx-1" : "mp|tx-1", now + 60 };

		time_at(now);
		assert_int_equal(store_tx_run(f->s, once_spend_body, &o, &f->e), 0);
		assert_int_equal(store_tx_run(f->s, once_spend_body, &o, &f->e), ERR_EXISTS);
		/* alone or in a transaction, the key is the same */
		assert_int_equal(once_alone(f, &o), ERR_EXISTS);
		o.key = doc ? "tx-2" : "mp|tx-2";
		assert_int_equal(once_alone(f, &o), 0);
		assert_int_equal(store_tx_run(f->s, once_spend_body, &o, &f->e), ERR_EXISTS);
		/* expired: replaced, and then guarding again */
		time_at(now + 61);
		o.until = now + 200;
		assert_int_equal(store_tx_run(f->s, once_spend_body, &o, &f->e), 0);
		assert_int_equal(store_tx_run(f->s, once_spend_body, &o, &f->e), ERR_EXISTS);
		assert_int_equal(once_alone(f, &o), ERR_EXISTS);
		/* a transaction that failed leaves the store usable */
		o.key = doc ? "tx-3" : "mp|tx-3";
		assert_int_equal(store_tx_run(f->s, once_spend_body, &o, &f->e), 0);
		want += 3;
		assert_int_equal(store_call(f->s, events, event_count, "once-tx", &n, &f->e), 0);
		assert_int_equal(n, want);
	}
}

static void
test_events(void **state)
{
	struct fx *f = *state;
	json_t *d = obj("who", "01019012345");
	int64_t n = -1;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(store_call(f->s, events, event_add, "login", doc_text(d), &f->e), 0);
	assert_int_equal(store_call(f->s, events, event_add, "token", doc_text(d), &f->e), 0);
	assert_int_equal(store_call(f->s, events, event_count, "login", &n, &f->e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_call(f->s, events, event_count, "token", &n, &f->e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_call(f->s, events, event_count, "none", &n, &f->e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_call(f->s, events, event_add, "login", NULL, &f->e), ERR_INVAL);
	assert_int_equal(store_call(f->s, events, event_add, NULL, doc_text(d), &f->e), ERR_INVAL);
	json_decref(d);
}


/* ---- billing ---- */

struct bill_rows {
	char text[2048];
	size_t n;
};

/* Rows as "k0|k1|...:n0,n1,n2;" in the order they came. */
static int
bill_collect(void *arg, const struct store_bill_row *row, struct err *e)
{
	struct bill_rows *r = arg;
	size_t len = strlen(r->text);

	(void)e;
	snprintf(r->text + len, sizeof(r->text) - len, "%s|%s|%s|%s|%s:%lld,%lld,%lld;",
		 row->k[0] ? row->k[0] : "-", row->k[1] ? row->k[1] : "-", row->k[2] ? row->k[2] : "-",
		 row->k[3] ? row->k[3] : "-", row->k[4] ? row->k[4] : "-", (long long)row->n[0],
		 (long long)row->n[1], (long long)row->n[2]);
	r->n++;
	return 0;
}

static void
bill_auth(struct fx *f, int64_t t, const char *customer, const char *eid, bool sso, bool billable)
{
	json_t *d = json_pack("{s:s, s:s?, s:s, s:s, s:b, s:b}", "client_id", "c1", "customer",
			      customer, "eid", eid, "acr", "idporten-loa-high", "sso", sso,
			      "billable", billable);

	assert_non_null(d);
	assert_int_equal(store_call(f->s, billing, event_put, "authentication", t, d, &f->e), 0);
	json_decref(d);
}

static void
bill_read(struct fx *f, enum store_bill_read what, int64_t a, int64_t b, struct bill_rows *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = store_call(f->s, billing, bill_read, what, a, b, bill_collect, r, &f->e);
	if (rc != 0)
		print_error("bill_read %d: %s\n", (int)what, f->e.msg);
	assert_int_equal(rc, 0);
}

static void
test_billing_facet(void **state)
{
	struct fx *f = *state;
	/* 2024-02-29 12:00 UTC and 2024-03-01 00:00 UTC */
	int64_t t1 = 1709208000, t2 = 1709251200, n = -1;
	json_t *tok = json_pack("{s:s, s:s}", "consumer", "910000001", "supplier", "920000002");
	struct bill_rows r;

	for (int i = 0; i < 3; i++)
		bill_auth(f, t1, "A", "bankid", false, true);
	bill_auth(f, t1, "A", "minid", false, true);
	bill_auth(f, t2, "A", "bankid", true, false);
	bill_auth(f, t2, "B", "bankid", false, true);
	bill_auth(f, t2, "B", "testid", false, false);
	bill_auth(f, t2, NULL, "bankid", false, true);
	bill_auth(f, t2 + 86400 * 400, "A", "bankid", false, true); /* outside */
	assert_int_equal(store_call(f->s, billing, event_put, "maskinporten_token", t2, tok, &f->e), 0);
	assert_int_equal(store_call(f->s, billing, event_put, "x", t2, NULL, &f->e), ERR_INVAL);

	bill_read(f, STORE_BILL_VOLUME, t1, t2 + 1, &r);
	assert_non_null(strstr(r.text, "A|bankid|-|-|-:3,0,0;A|minid|-|-|-:1,0,0;B|bankid|-|-|-:1,0,0;"));
	assert_non_null(strstr(r.text, "-|bankid|-|-|-:1,0,0;"));
	assert_int_equal(r.n, 4);
	bill_read(f, STORE_BILL_VOLUME, t1 + 1, t2, &r);
	assert_int_equal(r.n, 0);
	bill_read(f, STORE_BILL_AUTH, t1, t2 + 1, &r);
	assert_non_null(strstr(r.text, "2024-02|A|c1|bankid|idporten-loa-high:3,0,3;"));
	assert_non_null(strstr(r.text, "2024-03|A|c1|bankid|idporten-loa-high:0,1,0;"));
	assert_non_null(strstr(r.text, "2024-03|B|c1|testid|idporten-loa-high:1,0,0;"));
	bill_read(f, STORE_BILL_DAILY, t1, t2 + 1, &r);
	assert_string_equal(r.text, "2024-02-29|-|-|-|-:4,0,0;2024-03-01|-|-|-|-:3,1,1;");
	bill_read(f, STORE_BILL_TOKENS, t1, t2 + 1, &r);
	assert_string_equal(r.text, "2024-03|910000001|920000002|-|-:1,0,0;");

	assert_int_equal(store_call(f->s, billing, cost_set, 2024, "bankid", 100, &f->e), 0);
	assert_int_equal(store_call(f->s, billing, cost_set, 2024, "bankid", 250, &f->e), 0);
	assert_int_equal(store_call(f->s, billing, cost_set, 2024, "buypass", 7, &f->e), 0);
	assert_int_equal(store_call(f->s, billing, cost_set, 2025, "bankid", 9, &f->e), 0);
	assert_int_not_equal(store_call(f->s, billing, cost_set, 2024, "minid", -1, &f->e), 0);
	bill_read(f, STORE_BILL_COSTS, 2024, 0, &r);
	assert_string_equal(r.text, "bankid|-|-|-|-:250,0,0;buypass|-|-|-|-:7,0,0;");
	assert_int_equal(store_call(f->s, billing, customer_set, "B", "Bee", "ref-1", &f->e), 0);
	assert_int_equal(store_call(f->s, billing, customer_set, "A", "Ay", "ref'; DROP", &f->e), 0);
	assert_int_equal(store_call(f->s, billing, customer_set, "B", "Bee AS", "ref-2", &f->e), 0);
	bill_read(f, STORE_BILL_CUSTOMERS, 0, 0, &r);
	assert_string_equal(r.text, "A|Ay|ref'; DROP|-|-:0,0,0;B|Bee AS|ref-2|-|-:0,0,0;");
	assert_int_equal(store_call(f->s, billing, extra_add, 2024, "B", "Training", 2, 50000, &f->e), 0);
	assert_int_not_equal(store_call(f->s, billing, extra_add, 2024, "B", "x", 0, 1, &f->e), 0);
	bill_read(f, STORE_BILL_EXTRAS, 2024, 0, &r);
	assert_string_equal(r.text, "B|Training|-|-|-:2,50000,0;");
	assert_int_equal(store_call(f->s, billing, run_put, 2024, tok, &f->e), 0);

	/* retention: what is before the boundary goes, what is after stays; it never goes back */
	assert_int_equal(store_call(f->s, billing, event_retire, t2, &n, &f->e), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_call(f->s, billing, event_retire, t1, &n, &f->e), 0);
	assert_int_equal(n, 0);
	bill_read(f, STORE_BILL_DAILY, t1, t2 + 1, &r);
	assert_string_equal(r.text, "2024-03-01|-|-|-|-:3,1,1;");
	assert_int_equal(store_call(f->s, events, event_count, "authentication", &n, &f->e), 0);
	assert_int_equal(n, 5);
	json_decref(tok);
}

/* grant_find_person: a person's grants in force, with their ids and expiry. */
static void
test_grant_find_person(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *a = json_pack("{s:s, s:s}", "pid", "01019012345", "scope", "openid x:y");
	json_t *b = json_pack("{s:s}", "pid", "02029012345"), *docs = NULL;

	assert_int_equal(store_call(f->s, oauth, grant_put, "gp1", "c1", NULL, false, doc_text(a), now + 60,
				    &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_put, "gp2", "c2", NULL, false, doc_text(a), now + 60,
				    &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_put, "gp3", "c1", NULL, false, doc_text(b), now + 60,
				    &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_put, "gp4", "c1", NULL, false, doc_text(a), now - 1,
				    &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_revoke, "gp2", &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_find_person, "01019012345", 10, &docs, &f->e),
			 0);
	assert_int_equal(json_array_size(docs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "grant_id")),
			    "gp1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "client_id")),
			    "c1");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 0), "expires_at")),
			 now + 60);
	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "scope")),
			    "openid x:y");
	json_decref(docs);
	assert_int_equal(store_call(f->s, oauth, grant_find_person, "03039012345", 10, &docs, &f->e),
			 0);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	assert_int_equal(store_call(f->s, oauth, grant_find_person, "01019012345", 0, &docs, &f->e),
			 ERR_INVAL);
	json_decref(a);
	json_decref(b);
}

/* token_find_revoked: the unexpired access tokens of a client's revoked grants. */
static void
test_token_find_revoked(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *g = json_object(), *docs = NULL, *row;
	json_t *t1 = json_pack("{s:s}", "jti", "rj1"), *t2 = json_pack("{s:s}", "jti", "rj2");
	json_t *t3 = json_pack("{s:s}", "jti", "rj3"), *t4 = json_pack("{s:s}", "jti", "rj4");

	assert_int_equal(store_call(f->s, oauth, grant_put, "rg1", "rc1", NULL, false, doc_text(g), now + 600,
				    &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_put, "rg2", "rc1", NULL, false, doc_text(g), now + 600,
				    &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_put, "rg3", "rc2", NULL, false, doc_text(g), now + 600,
				    &f->e), 0);
	assert_int_equal(tok_put(f, "rh1", "rg1", t1, now + 300), 0);
	assert_int_equal(tok_put(f, "rh2", "rg1", t2, now - 1), 0);
	assert_int_equal(tok_put(f, "rh3", "rg2", t3, now + 300), 0);
	assert_int_equal(tok_put(f, "rh4", "rg3", t4, now + 300), 0);
	/* nothing revoked yet */
	assert_int_equal(store_call(f->s, oauth, token_find_revoked, "rc1", 10, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	assert_int_equal(store_call(f->s, oauth, grant_revoke, "rg1", &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_revoke, "rg3", &f->e), 0);
	/* rg1's live token only: not the expired one, not rg2's, not another client's */
	assert_int_equal(store_call(f->s, oauth, token_find_revoked, "rc1", 10, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 1);
	row = json_array_get(docs, 0);
	assert_string_equal(json_string_value(json_object_get(row, "jti")), "rj1");
	assert_int_equal(json_integer_value(json_object_get(row, "expires_at")), now + 300);
	assert_true(json_integer_value(json_object_get(row, "revoked_at")) >= now);
	assert_true(json_integer_value(json_object_get(row, "revoked_at")) <= time_now());
	json_decref(docs);
	/* a grant ended by its session's logout is listed with its time too */
	assert_int_equal(store_call(f->s, oauth, grant_put, "rg4", "rc1", "rs1", true, doc_text(g), now + 600,
				    &f->e), 0);
	assert_int_equal(tok_put(f, "rh5", "rg4", t2, now + 400), 0);
	assert_int_equal(store_call(f->s, oauth, grant_revoke_session, "rs1", &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, token_find_revoked, "rc1", 10, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 2);
	assert_true(json_integer_value(json_object_get(json_array_get(docs, 1), "revoked_at")) >= now);
	json_decref(docs);
	assert_int_equal(store_call(f->s, oauth, token_find_revoked, "rc1", 1, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 1);
	json_decref(docs);
	assert_int_equal(store_call(f->s, oauth, token_find_revoked, "nobody", 10, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	assert_int_equal(store_call(f->s, oauth, token_find_revoked, "rc1", 0, &docs, &f->e),
			 ERR_INVAL);
	assert_null(docs);
	assert_int_equal(store_call(f->s, oauth, token_find_revoked, "rc1", STORE_REVOKED_MAX + 1,
				    &docs, &f->e), ERR_INVAL);
	json_decref(g);
	json_decref(t1);
	json_decref(t2);
	json_decref(t3);
	json_decref(t4);
}

/*
 * token_find_revoked past its limit: the newest revocations, newest first,
 * so a capped list misses the oldest (those closest to expiry), never the
 * newest.
 */
static void
test_token_find_revoked_newest(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *g = json_object(), *docs = NULL;
	static const char *const names[][3] = {
		{ "ng1", "nh1", "nj1" }, { "ng2", "nh2", "nj2" }, { "ng3", "nh3", "nj3" },
	};

	for (int i = 0; i < 3; i++) {
		json_t *t = json_pack("{s:s}", "jti", names[i][2]);

		assert_int_equal(store_call(f->s, oauth, grant_put, names[i][0], "nc1", NULL, false,
					    doc_text(g), now + 600, &f->e), 0);
		assert_int_equal(tok_put(f, names[i][1], names[i][0], t, now + 500), 0);
		json_decref(t);
	}
	/* revoked in the order ng2, ng1, ng3, ten seconds apart */
	time_at(now);
	assert_int_equal(store_call(f->s, oauth, grant_revoke, "ng2", &f->e), 0);
	time_at(now + 10);
	assert_int_equal(store_call(f->s, oauth, grant_revoke, "ng1", &f->e), 0);
	time_at(now + 20);
	assert_int_equal(store_call(f->s, oauth, grant_revoke, "ng3", &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, token_find_revoked, "nc1", 2, &docs, &f->e), 0);
	time_at(now);
	assert_int_equal(json_array_size(docs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "jti")), "nj3");
	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 1), "jti")), "nj1");
	json_decref(docs);
	json_decref(g);
}

/* event_find: by one top-level string, newest first, bounded. */
static void
test_event_find(void **state)
{
	struct fx *f = *state;
	json_t *docs = NULL;
	char n[8];

	for (int i = 0; i < 5; i++) {
		json_t *d = json_pack("{s:s, s:s}", "tag", i % 2 ? "b" : "a", "n", "0");

		snprintf(n, sizeof(n), "%d", i);
		json_object_set_new(d, "n", json_string(n));
		assert_int_equal(store_call(f->s, events, event_add, "found", doc_text(d), &f->e), 0);
		json_decref(d);
	}
	assert_int_equal(store_call(f->s, events, event_find, "found", "tag", "a", 10, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "n")), "4");
	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 2), "n")), "0");
	json_decref(docs);
	assert_int_equal(store_call(f->s, events, event_find, "found", "tag", "b", 1, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "n")), "3");
	json_decref(docs);
	assert_int_equal(store_call(f->s, events, event_find, "found", "tag", "c", 5, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	assert_int_equal(store_call(f->s, events, event_find, "other", "tag", "a", 5, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	assert_int_equal(store_call(f->s, events, event_find, "found", "tag", "a", 0, &docs, &f->e),
			 ERR_INVAL);
	assert_null(docs);
}

/* Every session of a person, live or timed out, taken once; nobody else's. */
static void
test_session_take_person(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d = obj("sid", "x"), *docs = NULL, *again = NULL, *doc = NULL;

	assert_int_equal(store_call(f->s, login, session_put, "P1", doc_text(d), "11111111111", now + 100, now + 100, &f->e), 0);
	/* timed out, not yet taken by the expiry: ended all the same */
	assert_int_equal(store_call(f->s, login, session_put, "P2", doc_text(d), "11111111111", now - 1, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_put, "Q1", doc_text(d), "22222222222", now + 100, now + 100, &f->e), 0);
	/* no pid (a foreign person), and a pid written by the update */
	assert_int_equal(store_call(f->s, login, session_put, "N1", doc_text(d), NULL, now + 100, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_put, "U1", doc_text(d), NULL, now + 100, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_update, "U1", doc_text(d), "11111111111", now + 100, &f->e), 0);

	assert_int_equal(store_call(f->s, login, session_take_person, "11111111111", 2, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 2);
	assert_string_equal(sget(json_array_get(docs, 0), "sid"), "x");
	assert_int_equal(store_call(f->s, login, session_take_person, "11111111111", 10, &again, &f->e), 0);
	assert_int_equal(json_array_size(again), 1);
	json_decref(docs);
	json_decref(again);
	assert_int_equal(store_call(f->s, login, session_take_person, "11111111111", 10, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	assert_int_equal(store_call(f->s, login, session_get, "P1", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, session_get, "U1", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, session_get, "Q1", &doc, &f->e), 0);
	json_decref(doc);
	doc = NULL;
	assert_int_equal(store_call(f->s, login, session_get, "N1", &doc, &f->e), 0);
	json_decref(doc);
	docs = NULL;
	/* no person: refused, nothing taken */
	assert_int_equal(store_call(f->s, login, session_take_person, NULL, 10, &docs, &f->e), ERR_INVAL);
	assert_null(docs);
	json_decref(d);
}

/* ---- timed-out sessions and the back-channel logout outbox ---- */

static void
test_session_take_expired(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	json_t *d = obj("sid", "x"), *docs = NULL, *again = NULL;

	assert_int_equal(store_call(f->s, login, session_put, "E1", doc_text(d), NULL, now + 10, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_put, "E2", doc_text(d), NULL, now + 100, now + 10, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_put, "E3", doc_text(d), NULL, now + 100, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_take_expired, now + 9, 10, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	/* a batch at a time, each session once */
	assert_int_equal(store_call(f->s, login, session_take_expired, now + 10, 1, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 1);
	assert_string_equal(sget(json_array_get(docs, 0), "sid"), "x");
	assert_int_equal(store_call(f->s, login, session_take_expired, now + 10, 10, &again, &f->e), 0);
	assert_int_equal(json_array_size(again), 1);
	json_decref(docs);
	json_decref(again);
	assert_int_equal(store_call(f->s, login, session_take_expired, now + 10, 10, &docs, &f->e), 0);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	assert_int_equal(store_call(f->s, login, session_get, "E3", &docs, &f->e), 0);
	json_decref(docs);
	json_decref(d);
}

static void
test_outbox(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now(), n = -1;
	json_t *d = obj("sid", "s"), *doc = NULL;

	assert_int_equal(store_call(f->s, login, outbox_add, "o1", d, now, now + 1000, &f->e), 0);
	assert_int_equal(store_call(f->s, login, outbox_add, "o1", d, now, now + 1000, &f->e),
			 ERR_EXISTS);
	assert_int_equal(store_call(f->s, login, outbox_add, "o2", d, now + 50, now + 1000, &f->e), 0);
	/* one due row, leased by A; B finds nothing while the lease holds */
	assert_int_equal(store_call(f->s, login, outbox_claim, now, now + 30, "A", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "id"), "o1");
	assert_string_equal(sget(doc, "sid"), "s");
	assert_int_equal(json_integer_value(json_object_get(doc, "attempts")), 1);
	assert_int_equal(json_integer_value(json_object_get(doc, "expires_at")), now + 1000);
	json_decref(doc);
	doc = NULL;
	assert_int_equal(store_call(f->s, login, outbox_claim, now + 29, now + 59, "B", &doc, &f->e),
			 ERR_NOTFOUND);
	assert_null(doc);
	/* A died: its lease lapses and B takes the row over (o2 is due later) */
	assert_int_equal(store_call(f->s, login, outbox_claim, now + 30, now + 40, "B", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "id"), "o1");
	assert_int_equal(json_integer_value(json_object_get(doc, "attempts")), 2);
	json_decref(doc);
	/* only the holder closes or gives back */
	assert_int_equal(store_call(f->s, login, outbox_retry, "o1", "A", now + 45, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, outbox_retry, "o1", "B", now + 45, &f->e), 0);
	assert_int_equal(store_call(f->s, login, outbox_claim, now + 44, now + 74, "C", &doc, &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, outbox_claim, now + 45, now + 75, "C", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "id"), "o1");
	assert_int_equal(json_integer_value(json_object_get(doc, "attempts")), 3);
	json_decref(doc);
	assert_int_equal(store_call(f->s, login, outbox_finish, "o1", "B", 0, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, outbox_finish, "o1", "C", 0, &f->e), 0);
	/* o2: given up, kept 30 days, then swept */
	assert_int_equal(store_call(f->s, login, outbox_claim, now + 50, now + 80, "D", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "id"), "o2");
	json_decref(doc);
	assert_int_equal(store_call(f->s, login, outbox_finish, "o2", "D", now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, login, outbox_claim, now + 9999, now + 99999, "E", &doc,
				    &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_sweep(f->s, now + 60 + 2592000 - 1, &n, &f->e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_sweep(f->s, now + 60 + 2592000, &n, &f->e), 0);
	assert_int_equal(n, 1);
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
	assert_int_equal(store_call(f->s, oauth, code_put, "c-old", "g", doc_text(d), now + 10, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_put, "c-new", "g", doc_text(d), now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, login, doc_put, "par", "old", d, now + 10, &f->e), 0);
	assert_int_equal(store_call(f->s, login, doc_put, "par", "new", d, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_put, "s-idle", doc_text(d), NULL, now + 10, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_put, "s-abs", doc_text(d), NULL, now + 10, now + 10, &f->e), 0);
	assert_int_equal(store_call(f->s, login, session_put, "s-new", doc_text(d), NULL, now + 100, now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, jti_remember, "j-old", now + 10, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, jti_remember, "j-new", now + 100, &f->e), 0);
	put_grant(f, "g-old", NULL, false, now + 10);
	put_grant(f, "g-new", NULL, false, now + 100);
	assert_int_equal(store_call(f->s, oauth, refresh_put, "r-old", "g-new", "c", NULL, now + 10, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, refresh_put, "r-new", "g-new", "c", NULL, now + 100, &f->e), 0);
	assert_int_equal(tok_put(f, "t-old", "g-new", d, now + 10), 0);
	assert_int_equal(tok_put(f, "t-new", "g-new", d, now + 100), 0);
	/* a live token of an expired grant goes with the grant */
	assert_int_equal(tok_put(f, "t-orphan", "g-old", d, now + 100), 0);

	assert_int_equal(store_sweep(f->s, now + 9, &n, &f->e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_sweep(f->s, now + 10, &n, &f->e), 0);
	/*
	 * codes 1, docs 1, refresh 1, tokens 1, jti 1, grants 1; the sessions
	 * are left a day for session_take_expired, which announces them
	 */
	assert_int_equal(n, 6);
	assert_int_equal(store_sweep(f->s, now + 10, &n, &f->e), 0);
	assert_int_equal(n, 0);

	/* live rows survive */
	assert_int_equal(store_call(f->s, oauth, code_consume, "c-new", &doc, &gid, &f->e), 0);
	json_decref(doc);
	free(gid);
	assert_int_equal(store_call(f->s, login, doc_get, "par", "new", &doc, &f->e), 0);
	json_decref(doc);
	assert_int_equal(store_call(f->s, login, session_get, "s-new", &doc, &f->e), 0);
	json_decref(doc);
	assert_int_equal(store_call(f->s, oauth, jti_remember, "j-new", now + 100, &f->e), ERR_EXISTS);
	assert_int_equal(store_call(f->s, oauth, refresh_get, "r-new", &r, &f->e), 0);
	store_refresh_clear(&r);
	assert_int_equal(store_call(f->s, oauth, token_get, "t-new", &doc, &gid, NULL, &f->e), 0);
	json_decref(doc);
	free(gid);
	/* swept rows are gone, not only hidden: their keys are free again */
	assert_int_equal(store_call(f->s, oauth, jti_remember, "j-old", now + 100, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_put, "c-old", "g", doc_text(d), now + 100, &f->e), 0);
	assert_int_equal(tok_put(f, "t-orphan", NULL, d, now + 100), 0);
	put_grant(f, "g-old", NULL, false, now + 100);
	/* a day on the sweep takes the timed-out sessions no node took */
	assert_int_equal(store_sweep(f->s, now + 10 + 86400, &n, &f->e), 0);
	assert_true(n >= 2);
	assert_int_equal(store_call(f->s, login, session_delete, "s-idle", &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, login, session_delete, "s-abs", &f->e), ERR_NOTFOUND);
	json_decref(d);
}

/* ---- concurrency ---- */

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
		rc = store_call(r->s, oauth, code_consume, hash, &doc, &gid, &e);
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
		assert_int_equal(store_call(s, oauth, code_put, hash, "grant-race", doc_text(d), time_now() + 600, &e),
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
test_race_code_store(void **state)
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
	r->rc = store_call(r->s, oauth, refresh_rotate, "R-race", nh, time_now() + 600, NULL, &out, &e);
	store_refresh_clear(&out);
	return NULL;
}

/* Two presentations of one refresh token at once: one rotates, one is a reuse. */
static void
race_refresh_run(struct store *s)
{
	struct err e = { 0 };
	pthread_barrier_t bar;
	pthread_t th[2];
	struct rot r[2];
	json_t *d = obj("k", "v");
	int i, ok = 0, reused = 0;

	assert_int_equal(store_call(s, oauth, grant_put, "GR", "c", NULL, false, doc_text(d), time_now() + 600, &e),
			 0);
	assert_int_equal(store_call(s, oauth, refresh_put, "R-race", "GR", "c", NULL, time_now() + 600, &e), 0);
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
}

/* ---- the registry generation (caches of clients and scopes) ---- */

static int64_t
registry_gen(struct fx *f)
{
	char *v = NULL;
	int64_t n;

	assert_int_equal(store_call(f->s, registry, meta_get, "registry_gen", &v, &f->e), 0);
	n = strtoll(v, NULL, 10);
	free(v);
	return n;
}

/* Every change to clients or scopes moves it on; nothing else does. */
static void
test_registry_gen(void **state)
{
	struct fx *f = *state;
	json_t *d = obj("client_id", "gen");
	int64_t g0 = registry_gen(f), g;

	assert_int_equal(store_call(f->s, registry, client_create, "gen", d, &f->e), 0);
	assert_true((g = registry_gen(f)) > g0);
	assert_int_equal(store_call(f->s, registry, client_update, "gen", d, &f->e), 0);
	assert_true(registry_gen(f) > g);
	g = registry_gen(f);
	assert_int_equal(store_call(f->s, registry, client_create, "gen", d, &f->e), ERR_EXISTS);
	assert_int_equal(store_call(f->s, registry, client_update, "nobody", d, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, oauth, code_put, "c-gen", "g-gen", doc_text(d), time_now() + 60, &f->e), 0);
	assert_int_equal(registry_gen(f), g);
	assert_int_equal(store_call(f->s, registry, scope_put, "x:gen", d, &f->e), 0);
	assert_true(registry_gen(f) > g);
	g = registry_gen(f);
	assert_int_equal(store_call(f->s, registry, scope_delete, "x:gen", &f->e), 0);
	assert_true(registry_gen(f) > g);
	g = registry_gen(f);
	assert_int_equal(store_call(f->s, registry, client_delete, "gen", &f->e), 0);
	assert_true(registry_gen(f) > g);
	/* a count and a random part: the same change twice gives two values */
	{
		char *v1 = NULL, *v2 = NULL;

		assert_int_equal(store_call(f->s, registry, client_create, "gen2", d, &f->e), 0);
		assert_int_equal(store_call(f->s, registry, meta_get, "registry_gen", &v1, &f->e), 0);
		assert_int_equal(store_call(f->s, registry, client_update, "gen2", d, &f->e), 0);
		assert_int_equal(store_call(f->s, registry, meta_get, "registry_gen", &v2, &f->e), 0);
		assert_non_null(strchr(v1, '-'));
		assert_true(strlen(strchr(v1, '-') + 1) == 16);
		assert_string_not_equal(strchr(v1, '-'), strchr(v2, '-'));
		free(v1);
		free(v2);
	}
	json_decref(d);
}

/* ---- transactions around several operations ---- */

static void
test_tx(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now(), n0 = 0, n = 0;
	json_t *doc = obj("a", "b"), *got = NULL;
	struct store_refresh row = { 0 };
	char *gid = NULL;

	assert_int_equal(store_tx_end(f->s, true, &f->e), ERR_INTERNAL); /* none open */
	assert_int_equal(store_call(f->s, events, event_count, "tx", &n0, &f->e), 0);

	/* committed: every write is there, an operation's own transaction included */
	assert_int_equal(store_tx_begin(f->s, &f->e), 0);
	assert_int_equal(store_tx_begin(f->s, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_put, "c-tx1", "g-tx1", doc_text(doc), now + 60, &f->e), 0);
	assert_int_equal(store_tx_end(f->s, true, &f->e), 0); /* inner: no commit yet */
	put_grant(f, "g-tx1", NULL, false, now + 3600);
	assert_int_equal(
		store_call(f->s, oauth, refresh_put, "r-tx1", "g-tx1", "client-a", NULL, now + 600, &f->e), 0);
	assert_int_equal(
		store_call(f->s, oauth, refresh_rotate, "r-tx1", "r-tx2", now + 600, NULL, &row, &f->e), 0);
	store_refresh_clear(&row);
	assert_int_equal(store_call(f->s, events, event_add, "tx", doc_text(doc), &f->e), 0);
	/* the transaction sees its own writes */
	assert_int_equal(store_call(f->s, oauth, grant_get, "g-tx1", &got, &f->e), 0);
	json_decref(got);
	assert_int_equal(store_tx_end(f->s, true, &f->e), 0);
	assert_int_equal(store_call(f->s, events, event_count, "tx", &n, &f->e), 0);
	assert_int_equal(n, n0 + 1);
	assert_int_equal(store_call(f->s, oauth, code_consume, "c-tx1", &got, &gid, &f->e), 0);
	json_decref(got);
	free(gid);
	gid = NULL;
	assert_int_equal(store_call(f->s, oauth, refresh_get, "r-tx2", &row, &f->e), 0);
	store_refresh_clear(&row);

	/* rolled back: none of them */
	assert_int_equal(store_tx_begin(f->s, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_put, "c-tx2", "g-tx2", doc_text(doc), now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, events, event_add, "tx", doc_text(doc), &f->e), 0);
	assert_int_equal(store_tx_end(f->s, false, &f->e), 0);
	assert_int_equal(store_call(f->s, events, event_count, "tx", &n, &f->e), 0);
	assert_int_equal(n, n0 + 1);
	assert_int_equal(store_call(f->s, oauth, code_consume, "c-tx2", &got, &gid, &f->e), ERR_NOTFOUND);

	/* an inner end without commit makes the outer one roll back and say so */
	assert_int_equal(store_tx_begin(f->s, &f->e), 0);
	assert_int_equal(store_tx_begin(f->s, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_put, "c-tx3", "g-tx3", doc_text(doc), now + 60, &f->e), 0);
	assert_int_equal(store_tx_end(f->s, false, &f->e), 0);
	assert_int_not_equal(store_tx_end(f->s, true, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_consume, "c-tx3", &got, &gid, &f->e), ERR_NOTFOUND);

	/* the refused replay inside a transaction: the rotation's revocation stays */
	assert_int_equal(store_tx_begin(f->s, &f->e), 0);
	assert_int_equal(
		store_call(f->s, oauth, refresh_rotate, "r-tx1", "r-tx3", now + 600, NULL, &row, &f->e),
		ERR_REUSED);
	assert_int_equal(store_tx_end(f->s, true, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, grant_get, "g-tx1", &got, &f->e), ERR_NOTFOUND);

	/* and the store goes on as before, outside any transaction */
	assert_int_equal(store_call(f->s, oauth, code_put, "c-tx4", "g-tx4", doc_text(doc), now + 60, &f->e), 0);
	assert_int_equal(store_call(f->s, oauth, code_consume, "c-tx4", &got, &gid, &f->e), 0);
	json_decref(got);
	free(gid);
	json_decref(doc);
}

/* KRR: records, one-query batches, the change counter, the feed, the list, history. */
static void
krr_rec(struct krr_person *p, const char *pid, int n)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->pid, sizeof(p->pid), "%s", pid);
	p->reserved = n % 2 == 0;
	p->reserved_at = p->reserved ? 1000 + n : 0;
	p->email.value = n % 3 != 0 ? strdup("a@example.no") : NULL;
	p->email.updated = p->email.value != NULL ? 2000 + n : 0;
	p->mobile.value = strdup("+4799999999");
	p->mobile.verified = 3000 + n;
	if (n == 4) {
		p->mailbox = strdup("a\"b#1");
		p->mailbox_provider = strdup("984661185");
		p->cert = strdup("QUJD");
		memcpy(p->lang, "se", 3);
		p->lang_updated = 4000;
	}
}

static void
test_krr(void **state)
{
	struct fx *f = *state;
	json_t *hist = json_pack("{s:s}", "who", "test"), *got = NULL, *ids;
	struct krr_person p, *v = NULL;
	int64_t change = 0, prev = -1, til = -1, latest = -1;
	size_t n = 99;
	char pid[16];

	assert_int_equal(store_call(f->s, krr, person_get, "00000000001", &p, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, krr, changes, 0, 10, &v, &n, &til, &latest, &f->e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(til, 0);
	assert_int_equal(latest, 0);
	krr_persons_free(v, n);
	for (int i = 1; i <= 5; i++) {
		snprintf(pid, sizeof(pid), "0000000000%d", i);
		krr_rec(&p, pid, i);
		assert_int_equal(store_call(f->s, krr, person_put, &p, hist, 1000 + i, 0, &change,
					    &prev, &f->e), 0);
		assert_int_equal(change, i);
		assert_int_equal(prev, 0);
		krr_person_clear(&p);
	}
	/* every field comes back as written */
	assert_int_equal(store_call(f->s, krr, person_get, "00000000004", &p, &f->e), 0);
	assert_string_equal(p.pid, "00000000004");
	assert_int_equal(p.status, KRR_AKTIV);
	assert_true(p.reserved);
	assert_int_equal(p.reserved_at, 1004);
	assert_string_equal(p.email.value, "a@example.no");
	assert_int_equal(p.email.updated, 2004);
	assert_int_equal(p.email.verified, 0);
	assert_string_equal(p.mobile.value, "+4799999999");
	assert_int_equal(p.mobile.verified, 3004);
	assert_string_equal(p.mailbox, "a\"b#1");
	assert_string_equal(p.mailbox_provider, "984661185");
	assert_string_equal(p.cert, "QUJD");
	assert_string_equal(p.lang, "se");
	assert_int_equal(p.lang_updated, 4000);
	krr_person_clear(&p);
	assert_int_equal(store_call(f->s, krr, person_get, "00000000003", &p, &f->e), 0);
	assert_null(p.email.value);
	assert_null(p.cert);
	assert_string_equal(p.lang, "");
	krr_person_clear(&p);

	/* a change moves the person to the end of the feed */
	krr_rec(&p, "00000000002", 2);
	p.status = KRR_SLETTET;
	assert_int_equal(store_call(f->s, krr, person_put, &p, hist, 2000, 0, &change, &prev, &f->e),
			 0);
	assert_int_equal(change, 6);
	assert_int_equal(prev, 2);
	krr_person_clear(&p);
	assert_int_equal(store_call(f->s, krr, person_get, "00000000002", &p, &f->e), 0);
	assert_int_equal(p.status, KRR_SLETTET);
	krr_person_clear(&p);

	ids = json_pack("[ssss]", "00000000001", "00000000002", "00000000009", "00000000001");
	assert_int_equal(store_call(f->s, krr, person_get_many, ids, &v, &n, &f->e), 0);
	assert_int_equal(n, 2);
	krr_persons_free(v, n);
	json_decref(ids);
	/* keys with the array syntax's own characters are keys like any other */
	ids = json_pack("[sssss]", "0000000000\"", "\\00000000001", "00000000001,00000000002",
			"{00000000002}", "00000000002");
	assert_int_equal(store_call(f->s, krr, person_get_many, ids, &v, &n, &f->e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].pid, "00000000002");
	krr_persons_free(v, n);
	json_decref(ids);
	/* blanks around a key and the word NULL are kept as they are, never trimmed or read as null */
	ids = json_pack("[sss]", " 00000000001", "00000000002 ", "NULL");
	assert_int_equal(store_call(f->s, krr, person_get_many, ids, &v, &n, &f->e), 0);
	assert_int_equal(n, 0);
	krr_persons_free(v, n);
	json_decref(ids);
	ids = json_array();
	assert_int_equal(store_call(f->s, krr, person_get_many, ids, &v, &n, &f->e), 0);
	assert_int_equal(n, 0);
	json_decref(ids);

	assert_int_equal(store_call(f->s, krr, changes, 2, 2, &v, &n, &til, &latest, &f->e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].pid, "00000000003");
	assert_int_equal(til, 4);
	assert_int_equal(latest, 6);
	krr_persons_free(v, n);
	assert_int_equal(store_call(f->s, krr, changes, 5, 10, &v, &n, &til, &latest, &f->e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(til, 6);
	krr_persons_free(v, n);
	assert_int_equal(store_call(f->s, krr, changes, 7, 10, &v, &n, &til, &latest, &f->e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(latest, 6);
	krr_persons_free(v, n);

	assert_int_equal(store_call(f->s, krr, person_list, "", 3, &v, &n, &f->e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[2].pid, "00000000003");
	krr_persons_free(v, n);
	assert_int_equal(store_call(f->s, krr, person_list, "00000000003", 10, &v, &n, &f->e), 0);
	assert_int_equal(n, 2);
	krr_persons_free(v, n);

	assert_int_equal(store_call(f->s, krr, history, "00000000002", &got, &f->e), 0);
	assert_int_equal(json_array_size(got), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(got, 1), "change")), 6);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(got, 1), "time")), 2000);
	json_decref(got);

	/* a rolled-back change leaves no number behind */
	assert_int_equal(store_tx_begin(f->s, &f->e), 0);
	krr_rec(&p, "00000000007", 7);
	assert_int_equal(store_call(f->s, krr, person_put, &p, hist, 3000, 0, &change, &prev, &f->e),
			 0);
	krr_person_clear(&p);
	assert_int_equal(store_tx_end(f->s, false, &f->e), 0);
	assert_int_equal(store_call(f->s, krr, person_get, "00000000007", &p, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, krr, changes, 0, 10, &v, &n, &til, &latest, &f->e), 0);
	assert_int_equal(latest, 6);
	krr_persons_free(v, n);

	/* since keeps a record written at or after it (an import's repeated number) */
	krr_rec(&p, "00000000002", 2);
	assert_int_equal(store_call(f->s, krr, person_put, &p, hist, 4000, 6, &change, &prev,
				    &f->e),
			 ERR_EXISTS);
	krr_person_clear(&p);
	assert_int_equal(store_call(f->s, krr, person_get, "00000000002", &p, &f->e), 0);
	assert_int_equal(p.status, KRR_SLETTET);
	krr_person_clear(&p);
	assert_int_equal(store_call(f->s, krr, history, "00000000002", &got, &f->e), 0);
	assert_int_equal(json_array_size(got), 2);
	json_decref(got);
	krr_rec(&p, "00000000001", 1);
	assert_int_equal(store_call(f->s, krr, person_put, &p, hist, 4000, 6, &change, &prev,
				    &f->e),
			 0);
	assert_int_equal(prev, 1);
	assert_true(change > 6);
	krr_person_clear(&p);
	json_decref(hist);
}

/*
 * Shared cases, each run on a fresh empty store by the includer's T(), which
 * supplies its own separator (a comma in a test array).
 */
/* ---- SAML service providers and artifacts ---- */

static void
test_saml(void **state)
{
	struct fx *f = *state;
	json_t *d1 = obj("acs", "one"), *d2 = obj("acs", "two"), *doc = NULL, *list = NULL;
	int64_t later = time_now() + 300;

	assert_int_equal(store_call(f->s, saml, sp_get, "https://sp.example/", &doc, &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, saml, sp_put, "https://sp.example/", d1, &f->e), 0);
	assert_int_equal(store_call(f->s, saml, sp_put, "https://a.example/", d1, &f->e), 0);
	/* a renewed certificate replaces the registration */
	assert_int_equal(store_call(f->s, saml, sp_put, "https://sp.example/", d2, &f->e), 0);
	assert_int_equal(store_call(f->s, saml, sp_get, "https://sp.example/", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "acs"), "two");
	json_decref(doc);
	assert_int_equal(store_call(f->s, saml, sp_list, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(sget(json_array_get(list, 1), "acs"), "two");
	json_decref(list);
	assert_int_equal(store_call(f->s, saml, sp_delete, "https://sp.example/", &f->e), 0);
	assert_int_equal(store_call(f->s, saml, sp_delete, "https://sp.example/", &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, saml, sp_put, "x", NULL, &f->e), ERR_INVAL);

	/* an artifact resolves once, on any connection */
	assert_int_equal(store_call(f->s, saml, doc_put, "saml_art", "h1", d1, later, &f->e), 0);
	assert_int_equal(store_call(f->s, saml, doc_put, "saml_art", "h1", d2, later, &f->e),
			 ERR_EXISTS);
	assert_int_equal(store_call(f->s, saml, doc_take, "saml_art", "h1", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "acs"), "one");
	json_decref(doc);
	assert_int_equal(store_call(f->s, saml, doc_take, "saml_art", "h1", &doc, &f->e),
			 ERR_NOTFOUND);
	json_decref(d1);
	json_decref(d2);
}

/* The local register of representation (facet_repr.h): its lists, validity, and hostile keys. */
static void
test_repr(void **state)
{
	struct fx *f = *state;
	json_t *rw = json_pack("[ss]", "read", "write"), *none = json_array(), *doc = NULL;
	json_t *perms = json_pack("[{s:s, s:s}]", "owner", "nav", "role", "arbeid"), *list = NULL;
	const char *res = "urn:altinn:resource:x", *inj = "1' OR '1'='1";
	int64_t now = 1700000000;

	assert_int_equal(store_call(f->s, repr, person_get, "01819012365", &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, repr, person_put, "01819012365", "Kari", &f->e), 0);
	assert_int_equal(store_call(f->s, repr, person_put, "01819012365", "Kari N", &f->e), 0);
	assert_int_equal(store_call(f->s, repr, person_get, "01819012365", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "name"), "Kari N");
	json_decref(doc);
	assert_int_equal(store_call(f->s, repr, resource_get, res, &doc, &f->e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, repr, resource_put, res, "Tenesta", &f->e), 0);
	assert_int_equal(store_call(f->s, repr, resource_get, res, &doc, &f->e), 0);
	assert_string_equal(sget(doc, "name"), "Tenesta");
	json_decref(doc);

	/* a main unit, its sub-unit, a deleted unit; the list by number, rights as given */
	assert_int_equal(store_call(f->s, repr, org_put, "910000004", "Hovud", "AS", NULL, false, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, org_put, "920000002", "Filial", "BEDR", "910000004",
				    false, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, org_put, "930000000", "Borte", "AS", NULL, true, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, right_put, "01819012365", "920000002", res, rw, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, right_put, "01819012365", "910000004", res, rw, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, right_put, "01819012365", "930000000", res, rw, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, reportees, "01819012365", res, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(sget(json_array_get(list, 0), "orgno"), "910000004");
	assert_true(json_is_null(json_object_get(json_array_get(list, 0), "parent")));
	assert_string_equal(sget(json_array_get(list, 1), "parent"), "910000004");
	assert_true(json_is_true(json_object_get(json_array_get(list, 2), "deleted")));
	assert_true(json_equal(json_object_get(json_array_get(list, 0), "rights"), rw));
	json_decref(list);
	/* taken away: not listed; another person, another resource: nothing */
	assert_int_equal(store_call(f->s, repr, right_put, "01819012365", "910000004", res, none, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, reportees, "01819012365", res, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
	assert_int_equal(store_call(f->s, repr, reportees, "02819010040", res, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(store_call(f->s, repr, reportees, inj, inj, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(store_call(f->s, repr, right_put, "01819012365", "910000004", res, NULL, &f->e),
			 ERR_INVAL);

	/* fullmakts: only those valid at now; replaced by a later put */
	assert_int_equal(store_call(f->s, repr, fullmakt_put, "01819012365", "02819010040", perms, 0, 0,
				    &f->e), 0);
	assert_int_equal(store_call(f->s, repr, fullmakt_put, "01819012365", "02819010121", perms, 1,
				    now - 1, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, fullmakt_put, "01819012365", "02819010202", perms,
				    now + 1, 0, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, fullmakts, "01819012365", now, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(sget(json_array_get(list, 0), "authorizer"), "02819010040");
	assert_true(json_is_null(json_object_get(json_array_get(list, 0), "name")));
	assert_true(json_equal(json_object_get(json_array_get(list, 0), "permissions"), perms));
	json_decref(list);
	assert_int_equal(store_call(f->s, repr, fullmakt_put, "01819012365", "02819010040", perms, 1,
				    now, &f->e), 0);
	assert_int_equal(store_call(f->s, repr, fullmakts, "01819012365", now, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(store_call(f->s, repr, fullmakts, "01819012365", now + 5, &list, &f->e), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(sget(json_array_get(list, 0), "authorizer"), "02819010202");
	json_decref(list);
	assert_int_equal(store_call(f->s, repr, fullmakt_put, "a", "b", NULL, 0, 0, &f->e), ERR_INVAL);
	assert_int_equal(store_call(f->s, repr, fullmakt_put, "a", "b", perms, -1, 0, &f->e), ERR_INVAL);
	json_decref(rw);
	json_decref(none);
	json_decref(perms);
}

/* ---- the person register ---- */

static void
test_people(void **state)
{
	struct fx *f = *state;
	json_t *doc = NULL, *pids = NULL, *fl;

	assert_int_equal(store_call(f->s, people, get, "00000000001", &doc, &f->e), ERR_NOTFOUND);
	/* an identifier on nobody in the register */
	assert_int_equal(store_call(f->s, people, foreign_add, "00000000001", "SE", "x", &f->e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->s, people, put, "00000000001", true, &f->e), 0);
	assert_int_equal(store_call(f->s, people, put, "00000000002", true, &f->e), 0);
	assert_int_equal(store_call(f->s, people, foreign_add, "00000000001", "SE", "199001011234",
				    &f->e), 0);
	assert_int_equal(store_call(f->s, people, foreign_add, "00000000001", "DE", "d-1", &f->e),
			 0);
	/* adding one twice changes nothing */
	assert_int_equal(store_call(f->s, people, foreign_add, "00000000001", "DE", "d-1", &f->e),
			 0);
	assert_int_equal(store_call(f->s, people, get, "00000000001", &doc, &f->e), 0);
	assert_string_equal(sget(doc, "pid"), "00000000001");
	assert_true(json_is_true(json_object_get(doc, "unique")));
	fl = json_object_get(doc, "foreign");
	assert_int_equal(json_array_size(fl), 2);
	assert_string_equal(sget(json_array_get(fl, 0), "country"), "DE");
	assert_string_equal(sget(json_array_get(fl, 1), "id"), "199001011234");
	json_decref(doc);

	/* one hit, none (other country, other value), two */
	assert_int_equal(store_call(f->s, people, match, "SE", "199001011234", &pids, &f->e), 0);
	assert_int_equal(json_array_size(pids), 1);
	assert_string_equal(json_string_value(json_array_get(pids, 0)), "00000000001");
	json_decref(pids);
	assert_int_equal(store_call(f->s, people, match, "DK", "199001011234", &pids, &f->e), 0);
	assert_int_equal(json_array_size(pids), 0);
	json_decref(pids);
	assert_int_equal(store_call(f->s, people, foreign_add, "00000000002", "DE", "d-1", &f->e),
			 0);
	assert_int_equal(store_call(f->s, people, match, "DE", "d-1", &pids, &f->e), 0);
	assert_int_equal(json_array_size(pids), 2);
	assert_string_equal(json_string_value(json_array_get(pids, 1)), "00000000002");
	json_decref(pids);

	/* not unique any more; the identifiers cleared */
	assert_int_equal(store_call(f->s, people, put, "00000000001", false, &f->e), 0);
	assert_int_equal(store_call(f->s, people, foreign_clear, "00000000001", &f->e), 0);
	assert_int_equal(store_call(f->s, people, get, "00000000001", &doc, &f->e), 0);
	assert_true(json_is_false(json_object_get(doc, "unique")));
	assert_int_equal(json_array_size(json_object_get(doc, "foreign")), 0);
	json_decref(doc);
	assert_int_equal(store_call(f->s, people, match, "DE", "d-1", &pids, &f->e), 0);
	assert_int_equal(json_array_size(pids), 1);
	json_decref(pids);
}

#define STORE_CASES(T)                                                                     \
	T(test_meta) T(test_clients) T(test_client_hostile) T(test_scopes) T(test_keys)       \
	T(test_docs) T(test_code_single_use) T(test_code_expired) T(test_grants)              \
	T(test_refresh_chain) T(test_refresh_expiry) T(test_tokens) T(test_sessions)          \
	T(test_jti) T(test_once_in_tx) T(test_events) T(test_event_find) T(test_grant_find_person) T(test_token_find_revoked) T(test_token_find_revoked_newest) T(test_sweep) T(test_session_take_expired) T(test_session_take_person) T(test_outbox)    \
	T(test_race_code_store) T(test_tx) T(test_registry_gen) T(test_billing_facet) T(test_saml)  \
	T(test_krr) T(test_repr) T(test_people)

#endif
