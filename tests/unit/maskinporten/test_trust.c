/*
 * Tests for registry/trust.c (spec/maskinporten.md §10): trust loaded at
 * start-up, refused when its path is bad, absent when not configured, and
 * replaced without pulling it from under a request that holds it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mp_fixture.h"

static void
test_trust_reload(void **state)
{
	struct jose_x509_trust *a, *b;
	struct err e = { 0 };
	char *saved = fx_cfg.maskinporten_ca;

	a = reg_trust_get(&fx_cfg);
	assert_non_null(a);
	/* Not configured: nothing trusted. */
	fx_cfg.maskinporten_ca = NULL;
	assert_null(reg_trust_get(&fx_cfg));
	assert_int_equal(reg_trust_init(&fx_cfg, &e), 0);
	/* A bad path stops start-up. */
	fx_cfg.maskinporten_ca = "/nonexistent/ca.pem";
	assert_int_equal(reg_trust_init(&fx_cfg, &e), ERR_IO);
	fx_cfg.maskinporten_ca = saved;
	/* The reference taken earlier outlives a reload. */
	assert_int_equal(reg_trust_init(&fx_cfg, &e), 0);
	b = reg_trust_get(&fx_cfg);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	jose_x509_trust_free(a);
	jose_x509_trust_free(b);
}

static void
test_trust_config(void **state)
{
	struct err e = { 0 };
	char *ca = fx_cfg.maskinporten_ca, *crl = fx_cfg.maskinporten_crl;

	/* An empty value is no value. */
	fx_cfg.maskinporten_ca = "";
	assert_null(reg_trust_get(&fx_cfg));
	assert_int_equal(reg_trust_init(&fx_cfg, &e), 0);
	assert_null(reg_trust_get(NULL));
	fx_cfg.maskinporten_ca = ca;
	/* A CRL path that cannot be read, or holds no CRL, stops start-up too. */
	fx_cfg.maskinporten_crl = "/nonexistent/crl.pem";
	assert_int_equal(reg_trust_init(&fx_cfg, &e), ERR_IO);
	fx_cfg.maskinporten_crl = fx_cfg.maskinporten_ca;	/* certificates, no CRL */
	assert_int_equal(reg_trust_init(&fx_cfg, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "no CRL"));
	fx_cfg.maskinporten_crl = crl;
	assert_int_equal(reg_trust_init(&fx_cfg, &e), 0);
	reg_trust_cleanup();
	reg_trust_cleanup();
	/* After cleanup the next use loads it again. */
	{
		struct jose_x509_trust *t = reg_trust_get(&fx_cfg);

		assert_non_null(t);
		jose_x509_trust_free(t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trust_reload),
		cmocka_unit_test(test_trust_config),
	};

	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
