/* Signing keys: first key, caching, rotation, retirement and JWKS contents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

struct fixture {
	struct cfg cfg;
	struct porten app;
	struct issuer is;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };

	if (f == NULL)
		return -1;
	f->cfg.key_publish_delay = 3600;
	f->app.cfg = &f->cfg;
	memset(f->app.kek.k, 7, sizeof(f->app.kek.k));
	if (store_open(&f->app.store, ":memory:", &e) != 0) {
		free(f);
		return -1;
	}
	f->is = (struct issuer){ .kind = ISSUER_IDPORTEN, .iss = "http://127.0.0.1:8080",
				 .prefix = "", .base = "http://127.0.0.1:8080", .app = &f->app };
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	time_set_offset(0);
	reg_keys_cleanup();
	store_close(f->app.store);
	free(f);
	return 0;
}

static size_t
jwks_count(struct fixture *f)
{
	struct err e = { 0 };
	json_t *jwks = NULL;
	size_t n;

	assert_int_equal(reg_keys_jwks(&f->app, &f->is, &jwks, &e), 0);
	n = json_array_size(json_object_get(jwks, "keys"));
	json_decref(jwks);
	return n;
}

static void
test_no_key_then_ensure(void **state)
{
	struct fixture *f = *state;
	const struct jose_key *k = NULL, *k2 = NULL;
	struct err e = { 0 };
	json_t *jwks = NULL, *jwk;

	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k, &e), ERR_NOTFOUND);
	assert_null(k);
	assert_int_equal(jwks_count(f), 0);
	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0); /* no second key */
	assert_int_equal(jwks_count(f), 1);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k, &e), 0);
	assert_non_null(k);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k2, &e), 0);
	assert_ptr_equal(k, k2); /* cached */

	/* The JWKS holds the public half only. */
	assert_int_equal(reg_keys_jwks(&f->app, &f->is, &jwks, &e), 0);
	jwk = json_array_get(json_object_get(jwks, "keys"), 0);
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), jose_key_kid(k));
	assert_non_null(json_object_get(jwk, "n"));
	assert_null(json_object_get(jwk, "d"));
	assert_null(json_object_get(jwk, "p"));
	json_decref(jwks);

	/* Another issuer has keys of its own. */
	f->is.iss = "http://127.0.0.1:8080/maskinporten/";
	assert_int_equal(jwks_count(f), 0);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k2, &e), ERR_NOTFOUND);
}

static void
test_rotate(void **state)
{
	struct fixture *f = *state;
	const struct jose_key *old = NULL, *k = NULL;
	struct err e = { 0 };
	json_t *jwks = NULL;
	char *kid = NULL, oldkid[200];

	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &old, &e), 0);
	snprintf(oldkid, sizeof(oldkid), "%s", jose_key_kid(old));

	assert_int_equal(reg_keys_rotate(&f->app, &f->is, &kid, &e), 0);
	assert_non_null(kid);
	assert_string_not_equal(kid, oldkid);
	/* Published at once, newest first ... */
	assert_int_equal(reg_keys_jwks(&f->app, &f->is, &jwks, &e), 0);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(jwks, "keys"), 0), "kid")),
			    kid);
	json_decref(jwks);
	/* ... but the old key signs until key_publish_delay has passed. */
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k, &e), 0);
	assert_string_equal(jose_key_kid(k), oldkid);
	/* ensure does not add a third key while one is waiting. */
	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	assert_int_equal(jwks_count(f), 2);

	time_set_offset(3601);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k, &e), 0);
	assert_string_equal(jose_key_kid(k), kid);
	/* The old key object stays valid: a token may still be signing with it. */
	assert_string_equal(jose_key_kid(old), oldkid);
	assert_int_equal(jwks_count(f), 2);

	/* Removed from the JWKS once every token it signed has expired. */
	time_set_offset(3600 + REG_AT_LIFETIME_MAX + 3600 + 1);
	assert_int_equal(jwks_count(f), 1);
	free(kid);
}

static void
test_wrong_kek(void **state)
{
	struct fixture *f = *state;
	const struct jose_key *k = NULL;
	struct err e = { 0 };

	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	/* Another node with another KEK cannot unseal the key. */
	memset(f->app.kek.k, 8, sizeof(f->app.kek.k));
	assert_int_not_equal(reg_keys_signing(&f->app, &f->is, &k, &e), 0);
	assert_null(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_key_then_ensure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_kek, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
