/*
 * Tests for registry/scope_access.c and the Maskinporten attributes of
 * registry/scope.c (spec/maskinporten.md §8.3, §9; selfservice-api.md §9):
 * access lists, delegations, the token-time predicates, and writers racing
 * on one scope without losing each other's change.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry/registry.h"
#include "registry/registry_int.h"

#define ORG_A "910000004"
#define ORG_B "910000012"
#define ORG_P "910000020"
#define ORG_S "910000039"

struct fixture {
	struct cfg cfg;
	struct porten app;
	char db[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };
	int fd;

	if (f == NULL)
		return -1;
	/* A file, not :memory:, so several threads share one database. */
	snprintf(f->db, sizeof(f->db), "/tmp/porten-scope-XXXXXX");
	fd = mkstemp(f->db);
	if (fd < 0)
		return -1;
	close(fd);
	f->app.cfg = &f->cfg;
	if (store_open(&f->app.store, &(struct store_opts){ .target = f->db }, &e) != 0) {
		print_error("store: %s\n", e.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[80];

	reg_cache_cleanup();
	store_close(f->app.store);
	unlink(f->db);
	snprintf(p, sizeof(p), "%s-wal", f->db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->db);
	unlink(p);
	free(f);
	return 0;
}

static json_t *
put(struct fixture *f, const char *json, int want_rc, const char *word)
{
	json_t *in = json_loads(json, 0, NULL), *out = NULL;
	struct err e = { 0 };
	int rc;

	assert_non_null(in);
	/* Every scope needs a description (spec §9); these cases are about other fields. */
	if (json_object_get(in, "description") == NULL)
		json_object_set_new(in, "description", json_string("test"));
	rc = reg_scope_put(&f->app, in, &out, &e);
	if (rc != want_rc || (word != NULL && strstr(e.msg, word) == NULL))
		print_error("put %s: rc %d %s\n", json, rc, e.msg);
	assert_int_equal(rc, want_rc);
	if (word != NULL)
		assert_non_null(strstr(e.msg, word));
	json_decref(in);
	return out;
}

static void
test_mp_attributes(void **state)
{
	struct fixture *f = *state;
	json_t *s;

	s = put(f, "{\"name\":\"nav:a\",\"description\":\"d\",\"owner_orgno\":\"" ORG_P "\","
		   "\"delegation_source\":\"https://www.altinn.no\","
		   "\"allowable_integration_types\":[\"maskinporten\"]}", 0, NULL);
	assert_string_equal(json_string_value(json_object_get(s, "delegation_source")),
			    "https://www.altinn.no");
	/* The alias is accepted and stored under the canonical name. */
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(s, "allowed_integration_types"), 0)),
			    "maskinporten");
	assert_null(json_object_get(s, "allowable_integration_types"));
	assert_int_equal(json_integer_value(json_object_get(s, "rev")), 1);
	json_decref(s);
	/* "" removes the delegation source. */
	s = put(f, "{\"name\":\"nav:a\",\"owner_orgno\":\"" ORG_P "\","
		   "\"delegation_source\":\"\"}", 0, NULL);
	assert_null(json_object_get(s, "delegation_source"));
	assert_int_equal(json_integer_value(json_object_get(s, "rev")), 2);
	json_decref(s);
	put(f, "{\"name\":\"nav:b\",\"delegation_source\":\"ftp://x\"}", ERR_INVAL,
	    "delegation_source");
	put(f, "{\"name\":\"nav:b\",\"delegation_source\":\"https://\"}", ERR_INVAL,
	    "delegation_source");
	put(f, "{\"name\":\"nav:b\",\"delegation_source\":7}", ERR_INVAL, "delegation_source");
	/* spec §9 has no audience attribute: aud comes from the grant's resource alone. */
	put(f, "{\"name\":\"nav:b\",\"audience\":[\"https://x/\"]}", ERR_INVAL,
	    "unknown field audience");
	put(f, "{\"name\":\"nav:b\",\"allowed_integration_types\":[\"krr\"],"
	       "\"allowable_integration_types\":[\"maskinporten\"]}", ERR_INVAL, "differ");
	/* A prefix belongs to one organisation. */
	put(f, "{\"name\":\"nav:c\",\"owner_orgno\":\"" ORG_B "\"}", ERR_INVAL, "belongs to");
	json_decref(put(f, "{\"name\":\"nav:c\",\"owner_orgno\":\"" ORG_P "\"}", 0, NULL));
	json_decref(put(f, "{\"name\":\"navx:c\",\"owner_orgno\":\"" ORG_B "\"}", 0, NULL));
}

static void
test_access(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	json_t *rec = NULL, *list = NULL, *s = NULL;

	json_decref(put(f, "{\"name\":\"acc:api\",\"owner_orgno\":\"" ORG_P "\"}", 0, NULL));
	assert_int_equal(reg_scope_access_grant(&f->app, "acc:api", ORG_A, &rec, &e), 0);
	assert_string_equal(json_string_value(json_object_get(rec, "state")), "APPROVED");
	assert_string_equal(json_string_value(json_object_get(rec, "owner_orgno")), ORG_P);
	assert_string_equal(json_string_value(json_object_get(rec, "scope")), "acc:api");
	assert_true(json_is_true(json_object_get(rec, "active")));
	json_decref(rec);
	/* Idempotent. */
	assert_int_equal(reg_scope_access_grant(&f->app, "acc:api", ORG_A, NULL, &e), 0);
	assert_int_equal(reg_scope_get(&f->app, "acc:api", &s, &e), 0);
	assert_true(reg_scope_access_ok(s, ORG_A));
	assert_false(reg_scope_access_ok(s, ORG_B));
	assert_true(reg_scope_access_ok(s, ORG_P)); /* the owner (design) */
	assert_false(reg_scope_access_ok(s, NULL));
	assert_false(reg_scope_access_ok(NULL, ORG_A));
	json_decref(s);
	/* An update of the scope keeps the access list. */
	json_decref(put(f, "{\"name\":\"acc:api\",\"owner_orgno\":\"" ORG_P "\","
			   "\"description\":\"new\",\"access\":{}}", 0, NULL));
	assert_int_equal(reg_scope_access_list(&f->app, "acc:api", false, &list, &e), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	/* Revoke deactivates; the record stays. */
	assert_int_equal(reg_scope_access_revoke(&f->app, "acc:api", ORG_A, NULL, &e), 0);
	assert_int_equal(reg_scope_access_revoke(&f->app, "acc:api", ORG_A, NULL, &e), ERR_NOTFOUND);
	assert_int_equal(reg_scope_access_revoke(&f->app, "acc:api", ORG_B, NULL, &e), ERR_NOTFOUND);
	assert_int_equal(reg_scope_access_list(&f->app, "acc:api", false, &list, &e), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(reg_scope_access_list(&f->app, "acc:api", true, &list, &e), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_true(json_is_false(json_object_get(json_array_get(list, 0), "active")));
	json_decref(list);
	assert_int_equal(reg_scope_get(&f->app, "acc:api", &s, &e), 0);
	assert_false(reg_scope_access_ok(s, ORG_A));
	json_decref(s);
	/* Everything that is not a valid request. */
	assert_int_equal(reg_scope_access_grant(&f->app, "acc:api", "123456789", NULL, &e),
			 ERR_INVAL);
	assert_int_equal(reg_scope_access_grant(&f->app, "acc:api", "91000000", NULL, &e),
			 ERR_INVAL);
	assert_int_equal(reg_scope_access_grant(&f->app, "acc:api", NULL, NULL, &e), ERR_INVAL);
	assert_int_equal(reg_scope_access_grant(&f->app, "acc:nosuch", ORG_A, NULL, &e),
			 ERR_NOTFOUND);
	assert_int_equal(reg_scope_access_grant(&f->app, "openid", ORG_A, NULL, &e), ERR_INVAL);
	assert_int_equal(reg_scope_access_grant(&f->app, "Bad Name", ORG_A, NULL, &e), ERR_INVAL);
	assert_int_equal(reg_scope_access_list(&f->app, "acc:nosuch", true, &list, &e),
			 ERR_NOTFOUND);
	/* accessible_for_all opens the scope to everyone. */
	json_decref(put(f, "{\"name\":\"acc:open\",\"accessible_for_all\":true}", 0, NULL));
	assert_int_equal(reg_scope_get(&f->app, "acc:open", &s, &e), 0);
	assert_true(reg_scope_access_ok(s, ORG_B));
	json_decref(s);
}

static void
test_delegations(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	json_t *rec = NULL, *list = NULL, *s = NULL;

	json_decref(put(f, "{\"name\":\"del:api\",\"delegation_source\":\"https://www.altinn.no\"}",
			0, NULL));
	json_decref(put(f, "{\"name\":\"del:plain\"}", 0, NULL));
	assert_int_equal(reg_delegation_add(&f->app, "del:api", ORG_A, ORG_S, &rec, &e), 0);
	assert_string_equal(json_string_value(json_object_get(rec, "supplier_orgno")), ORG_S);
	assert_string_equal(json_string_value(json_object_get(rec, "delegation_source")),
			    "https://www.altinn.no");
	json_decref(rec);
	assert_int_equal(reg_delegation_add(&f->app, "del:api", ORG_A, ORG_S, NULL, &e), 0);
	assert_int_equal(reg_scope_get(&f->app, "del:api", &s, &e), 0);
	assert_true(reg_delegation_ok(s, ORG_A, ORG_S));
	assert_false(reg_delegation_ok(s, ORG_S, ORG_A));  /* direction matters */
	assert_false(reg_delegation_ok(s, ORG_B, ORG_S));
	assert_false(reg_delegation_ok(s, ORG_A, NULL));
	json_decref(s);
	/* Only scopes with a delegation source; never to oneself; valid numbers. */
	assert_int_equal(reg_delegation_add(&f->app, "del:plain", ORG_A, ORG_S, NULL, &e),
			 ERR_INVAL);
	assert_non_null(strstr(e.msg, "delegation_source"));
	assert_int_equal(reg_delegation_add(&f->app, "del:api", ORG_A, ORG_A, NULL, &e), ERR_INVAL);
	assert_int_equal(reg_delegation_add(&f->app, "del:api", ORG_A, "999999998", NULL, &e),
			 ERR_INVAL);
	assert_int_equal(reg_delegation_add(&f->app, "del:none", ORG_A, ORG_S, NULL, &e),
			 ERR_NOTFOUND);
	/* Listing: one scope, or all. */
	assert_int_equal(reg_delegation_add(&f->app, "del:api", ORG_B, ORG_S, NULL, &e), 0);
	assert_int_equal(reg_delegation_list(&f->app, "del:api", &list, &e), 0);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
	assert_int_equal(reg_delegation_list(&f->app, NULL, &list, &e), 0);
	assert_true(json_array_size(list) >= 2);
	json_decref(list);
	/* A scope that loses its source keeps no usable delegation. */
	json_decref(put(f, "{\"name\":\"del:api\"}", 0, NULL));
	assert_int_equal(reg_scope_get(&f->app, "del:api", &s, &e), 0);
	assert_false(reg_delegation_ok(s, ORG_A, ORG_S));
	json_decref(s);
	json_decref(put(f, "{\"name\":\"del:api\",\"delegation_source\":\"https://www.altinn.no\"}",
			0, NULL));
	/* Remove. */
	assert_int_equal(reg_delegation_remove(&f->app, "del:api", ORG_A, ORG_S, &e), 0);
	assert_int_equal(reg_delegation_remove(&f->app, "del:api", ORG_A, ORG_S, &e), ERR_NOTFOUND);
	assert_int_equal(reg_delegation_list(&f->app, "del:api", &list, &e), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
}

struct racer {
	struct fixture *f;
	int base;
	int failures;
};

static const char *const racer_orgs[] = {
	"910000004", "910000012", "910000020", "910000039", "910000047", "910000055",
	"910000063", "910000071", "910000098", "910000101", "910000128", "910000136",
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct err e = { 0 };

	for (int i = 0; i < 6; i++)
		if (reg_scope_access_grant(&r->f->app, "race:api", racer_orgs[r->base + i], NULL,
					   &e) != 0)
			r->failures++;
	return NULL;
}

/* Two writers granting at once: every grant survives (no lost update). */
static void
test_concurrent_grants(void **state)
{
	struct fixture *f = *state;
	struct racer a = { f, 0, 0 }, b = { f, 6, 0 };
	pthread_t ta, tb;
	json_t *list = NULL;
	struct err e = { 0 };

	json_decref(put(f, "{\"name\":\"race:api\"}", 0, NULL));
	assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.failures + b.failures, 0);
	assert_int_equal(reg_scope_access_list(&f->app, "race:api", false, &list, &e), 0);
	assert_int_equal(json_array_size(list), 12);
	json_decref(list);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mp_attributes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delegations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_grants, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
