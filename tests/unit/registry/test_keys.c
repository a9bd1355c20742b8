/* Signing keys: first key, caching, rotation, retirement and JWKS contents. */
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
#include "jose/jose.h"
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
	if (store_open(&f->app.store, &(struct store_opts){ .target = ":memory:" }, &e) != 0) {
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
	reg_cache_cleanup();
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
	const struct jose_signer *k = NULL, *k2 = NULL;
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
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), k->kid);
	assert_non_null(json_object_get(jwk, "n"));
	assert_null(json_object_get(jwk, "d"));
	assert_null(json_object_get(jwk, "p"));
	json_decref(jwks);

	/* Another issuer has keys of its own. */
	f->is.iss = "http://127.0.0.1:8080/maskinporten/";
	assert_int_equal(jwks_count(f), 0);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k2, &e), ERR_NOTFOUND);
}

/* A token signed by the issuer's signer verifies against the issuer's JWKS. */
static void
test_signer_verifies_against_jwks(void **state)
{
	struct fixture *f = *state;
	const struct jose_signer *s = NULL;
	struct err e = { 0 };
	json_t *claims = json_pack("{s:s,s:I}", "sub", "x", "exp", (json_int_t)4102444800LL);
	json_t *jwks = NULL, *got = NULL, *hdr = NULL;
	char *jws = NULL;

	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &s, &e), 0);
	assert_string_equal(s->alg, "RS256");
	assert_int_equal(jose_jwt_sign(s, claims, "at+jwt", &jws, &e), 0);
	assert_int_equal(jose_jws_header(str_c(jws), &hdr, &e), 0);
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), s->kid);
	assert_int_equal(reg_keys_jwks(&f->app, &f->is, &jwks, &e), 0);
	assert_int_equal(jose_jwt_verify(str_c(jws), jwks, JOSE_ALG_RS256, &got, &e), 0);
	assert_true(json_equal(got, claims));
	json_decref(got);
	json_decref(jwks);
	json_decref(hdr);
	free(jws);
	json_decref(claims);
}

static void
test_rotate(void **state)
{
	struct fixture *f = *state;
	const struct jose_signer *old = NULL, *k = NULL;
	struct err e = { 0 };
	json_t *jwks = NULL;
	char *kid = NULL, oldkid[200];

	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &old, &e), 0);
	snprintf(oldkid, sizeof(oldkid), "%s", old->kid);

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
	assert_string_equal(k->kid, oldkid);
	{
		json_t *list = NULL;

		assert_int_equal(reg_keys_list(&f->app, &f->is, &list, &e), 0);
		assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0),
								      "state")), "pending");
		assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1),
								      "state")), "signing");
		assert_true(json_is_string(json_object_get(json_array_get(list, 1), "retired_at")));
		json_decref(list);
	}
	/* ensure does not add a third key while one is waiting. */
	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	assert_int_equal(jwks_count(f), 2);

	time_set_offset(3601);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k, &e), 0);
	assert_string_equal(k->kid, kid);
	/* The old key object stays valid: a token may still be signing with it. */
	assert_string_equal(old->kid, oldkid);
	assert_int_equal(jwks_count(f), 2);

	/* Removed from the JWKS once every token it signed has expired. */
	time_set_offset(3600 + REG_AT_LIFETIME_MAX + 3600 + 1);
	assert_int_equal(jwks_count(f), 1);
	free(kid);
}

/* Without any key, a rotation has nothing to wait for: the key signs at once. */
static void
test_rotate_first(void **state)
{
	struct fixture *f = *state;
	const struct jose_signer *k = NULL;
	struct err e = { 0 };
	json_t *list = NULL;
	char *kid = NULL;

	assert_int_equal(reg_keys_rotate(&f->app, &f->is, &kid, &e), 0);
	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k, &e), 0);
	assert_string_equal(k->kid, kid);
	assert_int_equal(reg_keys_list(&f->app, &f->is, &list, &e), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "state")),
			    "signing");
	json_decref(list);
	free(kid);
}

static void
test_wrong_kek(void **state)
{
	struct fixture *f = *state;
	const struct jose_signer *k = NULL;
	struct err e = { 0 };

	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	/* Another node with another KEK cannot unseal the key. */
	memset(f->app.kek.k, 8, sizeof(f->app.kek.k));
	assert_int_not_equal(reg_keys_signing(&f->app, &f->is, &k, &e), 0);
	assert_null(k);
}

struct signer_arg {
	struct fixture *f;
	const struct jose_signer *seen;
	int failures;
};

static void *
signer(void *p)
{
	struct signer_arg *a = p;

	for (int i = 0; i < 200; i++) {
		const struct jose_signer *k = NULL;
		struct err e = { 0 };

		if (reg_keys_signing(&a->f->app, &a->f->is, &k, &e) != 0 || k == NULL ||
		    (a->seen != NULL && k != a->seen))
			a->failures++;
		a->seen = k;
	}
	return NULL;
}

/* Many threads asking at once get the same signer, and no race (TSan/ASan). */
static void
test_signing_threads(void **state)
{
	struct fixture *f = *state;
	struct signer_arg args[4];
	pthread_t t[4];
	struct err e = { 0 };

	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct signer_arg){ .f = f };
		assert_int_equal(pthread_create(&t[i], NULL, signer, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
		assert_ptr_equal(args[i].seen, args[0].seen);
	}
}

/* The kid of the key that signs now (this process reads the store afresh). */
static void
signing_kid(struct fixture *f, char *out, size_t size)
{
	const struct jose_signer *k = NULL;
	struct err e = { 0 };

	assert_int_equal(reg_keys_signing(&f->app, &f->is, &k, &e), 0);
	snprintf(out, size, "%s", k->kid);
}

static bool
jwks_has(struct fixture *f, const char *kid)
{
	struct err e = { 0 };
	json_t *jwks = NULL, *k;
	bool found = false;
	size_t i;

	assert_int_equal(reg_keys_jwks(&f->app, &f->is, &jwks, &e), 0);
	json_array_foreach(json_object_get(jwks, "keys"), i, k)
		found |= strcmp(json_string_value(json_object_get(k, "kid")), kid) == 0;
	json_decref(jwks);
	return found;
}

/*
 * key_lifetime: a key that has signed for key_lifetime - key_publish_delay
 * gets a successor, published at once and signing when the lifetime is
 * over; once only, whichever node sees it first.
 */
static void
test_rotate_by_lifetime(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char *kid = NULL, first[200], now_kid[200], claim[300];
	const int64_t life = 10 * 86400, delay = 3600;

	f->cfg.key_lifetime = life;
	f->cfg.key_publish_delay = delay;
	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	signing_kid(f, first, sizeof(first));
	/* Not due: nothing happens. */
	assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &kid, &e), 0);
	assert_null(kid);
	time_set_offset(life - delay - 60);
	assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &kid, &e), 0);
	assert_null(kid);
	assert_int_equal(jwks_count(f), 1);
	/* Due: the successor is published and waits for the publish delay. */
	time_set_offset(life - delay + 60);
	assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &kid, &e), 0);
	assert_non_null(kid);
	assert_int_equal(jwks_count(f), 2);
	signing_kid(f, now_kid, sizeof(now_kid));
	assert_string_equal(now_kid, first);
	/* Once: a successor in waiting stops a second rotation. */
	{
		char *again = NULL;

		assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &again, &e), 0);
		assert_null(again);
		assert_int_equal(jwks_count(f), 2);
	}
	/* The successor signs once the old key's lifetime is over. */
	time_set_offset(life + 120);
	signing_kid(f, now_kid, sizeof(now_kid));
	assert_string_equal(now_kid, kid);
	/* Another node claimed the next rotation first: this one leaves it. */
	snprintf(claim, sizeof(claim), "key_rotation %s %s", f->is.iss, kid);
	assert_int_equal(store_call(f->app.store, registry, meta_put_new, claim, "other", &e), 0);
	time_set_offset(2 * life);
	{
		char *other = NULL;

		assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &other, &e), 0);
		assert_null(other);
	}
	free(kid);
}

/* A first key (its kid in first) and a successor in waiting (*pending, malloc'd). */
static void
first_and_successor(struct fixture *f, char *first, size_t size, char **pending)
{
	struct err e = { 0 };

	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	signing_kid(f, first, size);
	assert_int_equal(reg_keys_rotate(&f->app, &f->is, pending, &e), 0);
	assert_true(jwks_has(f, first) && jwks_has(f, *pending));
}

/* The key that signs at time offset off is kid. */
static void
assert_signs_at(struct fixture *f, int64_t off, const char *kid)
{
	char now_kid[200];

	time_set_offset(off);
	signing_kid(f, now_kid, sizeof(now_kid));
	assert_string_equal(now_kid, kid);
}

/* portenctl keys withdraw: a key leaves the JWKS and stops signing at once. */
static void
test_withdraw(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char *pending = NULL, *next = NULL, first[200], now_kid[200];

	first_and_successor(f, first, sizeof(first), &pending);

	/* The key that signs: a new key signs at once (the pending one is not ready). */
	assert_int_equal(reg_keys_withdraw(&f->app, &f->is, first, &next, &e), 0);
	assert_non_null(next);
	assert_false(jwks_has(f, first));
	assert_true(jwks_has(f, pending) && jwks_has(f, next));
	signing_kid(f, now_kid, sizeof(now_kid));
	assert_string_equal(now_kid, next);
	{
		json_t *list = NULL;

		assert_int_equal(reg_keys_list(&f->app, &f->is, &list, &e), 0);
		assert_int_equal(json_array_size(list), 2);
		json_decref(list);
	}
	/* Withdrawn twice, unknown, or another issuer's: not found. */
	assert_int_equal(reg_keys_withdraw(&f->app, &f->is, first, NULL, &e), ERR_NOTFOUND);
	assert_int_equal(reg_keys_withdraw(&f->app, &f->is, "no-such-kid", NULL, &e),
			 ERR_NOTFOUND);
	/* A key in waiting: gone, and the signer is left alone. */
	{
		char *none = NULL;

		assert_int_equal(reg_keys_withdraw(&f->app, &f->is, pending, &none, &e), 0);
		assert_null(none);
		assert_false(jwks_has(f, pending));
		signing_kid(f, now_kid, sizeof(now_kid));
		assert_string_equal(now_kid, next);
	}
	/* The pending key does not come back when its time comes. */
	time_set_offset(2 * 3600);
	signing_kid(f, now_kid, sizeof(now_kid));
	assert_string_equal(now_kid, next);
	assert_int_equal(jwks_count(f), 1);
	free(pending);
	free(next);
}

/*
 * Withdrawing the successor that reg_keys_rotate published: the key it was
 * to replace signs on past the successor's start, and with no end.
 */
static void
test_withdraw_successor(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char *pending = NULL, *next = NULL, first[200];

	first_and_successor(f, first, sizeof(first), &pending);
	assert_int_equal(reg_keys_withdraw(&f->app, &f->is, pending, &next, &e), 0);
	assert_null(next);
	assert_false(jwks_has(f, pending));
	assert_signs_at(f, 2 * 3600, first);
	assert_signs_at(f, 30 * 86400, first);
	free(pending);
}

/*
 * Two successors in waiting, the earlier withdrawn: the current key signs
 * until the later one starts, then retires.
 */
static void
test_withdraw_first_of_two(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char *a = NULL, *b = NULL, first[200];

	first_and_successor(f, first, sizeof(first), &a);
	time_set_offset(600);
	assert_int_equal(reg_keys_rotate(&f->app, &f->is, &b, &e), 0);
	assert_int_equal(reg_keys_withdraw(&f->app, &f->is, a, NULL, &e), 0);
	assert_signs_at(f, 3600 + 300, first);
	assert_signs_at(f, 600 + 3600 + 1, b);
	free(a);
	free(b);
}

/*
 * The automatic successor withdrawn while it waits: the key it was to
 * replace signs on, the next minutes make no new successor (the
 * withdrawal stands), and the key is rotated again at its next normal
 * rotation point, one key_lifetime later.
 */
static void
test_rotate_after_withdrawn_successor(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char *gone = NULL, *kid = NULL, first[200];
	const int64_t life = 10 * 86400, delay = 3600;
	const int64_t ticks[] = { life - delay + 120, life - delay + 180, life + 120,
				  2 * life - delay - 60 };

	f->cfg.key_lifetime = life;
	f->cfg.key_publish_delay = delay;
	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	signing_kid(f, first, sizeof(first));
	time_set_offset(life - delay + 60);
	assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &gone, &e), 0);
	assert_non_null(gone);
	assert_int_equal(reg_keys_withdraw(&f->app, &f->is, gone, NULL, &e), 0);
	for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
		time_set_offset(ticks[i]);
		assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &kid, &e), 0);
		assert_null(kid);
		assert_int_equal(jwks_count(f), 1);
		assert_signs_at(f, ticks[i], first);
	}
	/* The next rotation point: a new successor, signing when it comes. */
	time_set_offset(2 * life - delay + 60);
	assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &kid, &e), 0);
	assert_non_null(kid);
	assert_string_not_equal(kid, gone);
	assert_true(jwks_has(f, first) && jwks_has(f, kid));
	assert_signs_at(f, 2 * life - 60, first);
	assert_signs_at(f, 2 * life + 120, kid);
	free(gone);
	free(kid);
}

/* The periodic check: when no key signs, a new key signs at once. */
static void
test_rotate_due_repairs(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char *kid = NULL, *again = NULL, first[200], now_kid[200];

	assert_int_equal(reg_keys_ensure(&f->app, &f->is, &e), 0);
	signing_kid(f, first, sizeof(first));
	/* Retired with no successor, as a withdrawn successor used to leave it. */
	assert_int_equal(store_call(f->app.store, registry, key_retire, first, time_now() + 60,
				    time_now() + 86400, &e),
			 0);
	time_set_offset(120);
	assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &kid, &e), 0);
	assert_non_null(kid);
	signing_kid(f, now_kid, sizeof(now_kid));
	assert_string_equal(now_kid, kid);
	/* Something signs: nothing more to do. */
	assert_int_equal(reg_keys_rotate_due(&f->app, &f->is, &again, &e), 0);
	assert_null(again);
	free(kid);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_key_then_ensure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_verifies_against_jwks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_kek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signing_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_by_lifetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_withdraw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_withdraw_successor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_withdraw_first_of_two, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_after_withdrawn_successor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rotate_due_repairs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
