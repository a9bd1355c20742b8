/*
 * Tests for the stateless DPoP server nonces of oauth/dpop.c
 * (spec/idporten-oidc.md §19 "Nonces"): the current and the previous
 * 5-minute slot are good, an older one is stale, another deployment's key
 * or a tampered nonce is refused; and the dpop_jkt shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "app/app.h"
#include "oauth/dpop.h"

#define T0 ((int64_t)1800000000)  /* the start of a slot: 1800000000 % 300 == 0 */

static void
app_with_key(struct porten *app, unsigned char fill)
{
	memset(app, 0, sizeof(*app));
	memset(app->csrf_key, fill, sizeof(app->csrf_key));
}

static void
test_nonce_slots(void **state)
{
	struct porten app;
	char n[OAUTH_DPOP_NONCE_MAX], later[OAUTH_DPOP_NONCE_MAX];

	(void)state;
	app_with_key(&app, 7);
	oauth_dpop_nonce_make(&app, T0, n);
	assert_true(strlen(n) > 40);
	/* the same slot and the next one accept it */
	assert_true(oauth_dpop_nonce_good(&app, n, T0));
	assert_true(oauth_dpop_nonce_good(&app, n, T0 + OAUTH_DPOP_NONCE_SLOT - 1));
	assert_true(oauth_dpop_nonce_good(&app, n, T0 + 2 * OAUTH_DPOP_NONCE_SLOT - 1));
	/* two slots on it is stale */
	assert_false(oauth_dpop_nonce_good(&app, n, T0 + 2 * OAUTH_DPOP_NONCE_SLOT));
	assert_false(oauth_dpop_nonce_good(&app, n, T0 + 3600));
	/* a nonce from the future (a slot not yet begun) is not good either */
	oauth_dpop_nonce_make(&app, T0 + OAUTH_DPOP_NONCE_SLOT, later);
	assert_string_not_equal(n, later);
	assert_false(oauth_dpop_nonce_good(&app, later, T0));
}

static void
test_nonce_hostile(void **state)
{
	struct porten app, other;
	char n[OAUTH_DPOP_NONCE_MAX], t[OAUTH_DPOP_NONCE_MAX];

	(void)state;
	app_with_key(&app, 7);
	app_with_key(&other, 8);
	oauth_dpop_nonce_make(&app, T0, n);
	/* another deployment's key */
	assert_false(oauth_dpop_nonce_good(&other, n, T0));
	/* NULL, empty, cut, extended, one character changed */
	assert_false(oauth_dpop_nonce_good(&app, NULL, T0));
	assert_false(oauth_dpop_nonce_good(&app, "", T0));
	memcpy(t, n, sizeof(t));
	t[strlen(t) - 1] = '\0';
	assert_false(oauth_dpop_nonce_good(&app, t, T0));
	memcpy(t, n, sizeof(t));
	t[5] = t[5] == 'A' ? 'B' : 'A';
	assert_false(oauth_dpop_nonce_good(&app, t, T0));
	memcpy(t, n, sizeof(t));
	t[strlen(n)] = 'A';
	t[strlen(n) + 1] = '\0';
	assert_false(oauth_dpop_nonce_good(&app, t, T0));
}

static void
test_jkt_shape(void **state)
{
	(void)state;
	assert_true(oauth_dpop_jkt_valid(STR_LIT("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")));
	assert_false(oauth_dpop_jkt_valid(STR_LIT("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4")));
	assert_false(oauth_dpop_jkt_valid(STR_LIT("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I=")));
	assert_false(oauth_dpop_jkt_valid(STR_LIT("0ZcOCORZNYy+DWpqq30jZyJGHTN0d2HglBV3uiguA4I")));
	assert_false(oauth_dpop_jkt_valid(STR_LIT("")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonce_slots),
		cmocka_unit_test(test_nonce_hostile),
		cmocka_unit_test(test_jkt_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
