/*
 * The authorization request codec (login/areq.c) on documents in the
 * stored format of today: decode then encode gives the same document
 * back, byte for byte in the order authorize.c and pending.c write it, and
 * damaged documents are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/loa.h"
#include "login/areq.h"
#include "codec.h"

/* A pending authorization as /authorize stores it (authorize.c, pending.c). */
static const char PENDING[] =
	"{\"client_id\":\"web\",\"redirect_uri\":\"https://rp.example.no/cb\","
	"\"response_mode\":\"query\",\"state\":\"st-1\",\"scope\":\"openid profile\","
	"\"nonce\":\"no-1\",\"code_challenge\":\"b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI\","
	"\"max_age\":-1,\"acr\":\"idporten-loa-substantial\",\"locale\":\"nb\",\"resource\":[],"
	"\"id\":\"QmFyQmF6UXV4UXV1eEZvb0Jhclp6enp6enp6enp6enp\","
	"\"browser\":\"Yk1hY2hpbmVCcm93c2VySGFzaEhlcmVYWFhYWFhYWFg\"}";

/* Every optional field: a scope forcing login, prompt, form_post, resources, max_age. */
static const char PENDING_FULL[] =
	"{\"client_id\":\"spa\",\"redirect_uri\":\"https://rp.example.no/cb?x=1\","
	"\"response_mode\":\"form_post\",\"state\":\"s \xc3\xa6\xc3\xb8\xc3\xa5\","
	"\"force_login\":true,\"scope\":\"openid krr:global/x.read\",\"nonce\":\"n\","
	"\"code_challenge\":\"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\",\"prompt\":\"login\","
	"\"max_age\":3600,\"acr\":\"idporten-loa-high\",\"locale\":\"se\","
	"\"resource\":[\"https://api.example.no\",\"https://two.example.no\"],"
	"\"id\":\"QmFyQmF6UXV4UXV1eEZvb0Jhclp6enp6enp6enp6enp\","
	"\"browser\":\"Yk1hY2hpbmVCcm93c2VySGFzaEhlcmVYWFhYWFhYWFg\"}";

/* ID-porten asked for eIDAS only (spec/ansattporten-eidas-testid.md §2.1). */
static const char PENDING_EIDAS[] =
	"{\"client_id\":\"web\",\"redirect_uri\":\"https://rp.example.no/cb\","
	"\"response_mode\":\"query\",\"state\":\"st-1\",\"scope\":\"openid\",\"nonce\":\"n\","
	"\"max_age\":-1,\"acr\":\"idporten-loa-substantial\",\"eidas_acr\":\"eidas-loa-high\","
	"\"eidas_only\":true,\"locale\":\"en\",\"resource\":[],"
	"\"id\":\"QmFyQmF6UXV4UXV1eEZvb0Jhclp6enp6enp6enp6enp\","
	"\"browser\":\"Yk1hY2hpbmVCcm93c2VySGFzaEhlcmVYWFhYWFhYWFg\"}";

/* A PAR request (kind "par"): no id, no browser yet; pure OAuth, PKCE-exempt. */
static const char PAR[] =
	"{\"client_id\":\"web\",\"redirect_uri\":\"https://rp.example.no/cb\","
	"\"response_mode\":\"fragment\",\"state\":\"st\",\"scope\":\"test:api\","
	"\"max_age\":0,\"acr\":\"idporten-loa-substantial\",\"locale\":\"nn\",\"resource\":[]}";

/* A pending consent made after an eID (the request was pending already). */
static const char CONSENT[] =
	"{\"client_id\":\"web\",\"redirect_uri\":\"https://rp.example.no/cb\","
	"\"response_mode\":\"query\",\"state\":\"st-1\",\"scope\":\"openid consent:api\","
	"\"nonce\":\"no-1\",\"max_age\":-1,\"acr\":\"idporten-loa-substantial\",\"locale\":\"en\","
	"\"resource\":[],\"id\":\"QmFyQmF6UXV4UXV1eEZvb0Jhclp6enp6enp6enp6enp\","
	"\"browser\":\"Yk1hY2hpbmVCcm93c2VySGFzaEhlcmVYWFhYWFhYWFg\",\"consent\":true,"
	"\"consent_sid\":\"sid-1234\"}";

/* The same made on SSO (the request was never pending): the keys in another order. */
static const char CONSENT_SSO[] =
	"{\"client_id\":\"web\",\"redirect_uri\":\"https://rp.example.no/cb\","
	"\"response_mode\":\"query\",\"state\":\"st-1\",\"scope\":\"openid consent:api\","
	"\"nonce\":\"no-1\",\"max_age\":-1,\"acr\":\"idporten-loa-substantial\",\"locale\":\"en\","
	"\"resource\":[],\"consent\":true,\"consent_sid\":\"sid-1234\","
	"\"id\":\"QmFyQmF6UXV4UXV1eEZvb0Jhclp6enp6enp6enp6enp\","
	"\"browser\":\"Yk1hY2hpbmVCcm93c2VySGFzaEhlcmVYWFhYWFhYWFg\"}";

/* Decode text, encode again: the stored text back (exact) or the same document. */
static void
round_trip(const char *text, bool exact, struct authz_request *out, struct arena *arena)
{
	ASSERT_ROUND_TRIP(text, exact, areq_decode, areq_encode, out, arena);
}

static void
test_pending(void **state)
{
	struct arena *arena = arena_new();
	struct authz_request a;

	(void)state;
	round_trip(PENDING, true, &a, arena);
	assert_string_equal(a.client_id, "web");
	assert_string_equal(a.redirect_uri, "https://rp.example.no/cb");
	assert_int_equal(a.mode, RESPONSE_MODE_QUERY);
	assert_string_equal(a.state, "st-1");
	assert_string_equal(a.scope, "openid profile");
	assert_string_equal(a.nonce, "no-1");
	assert_string_equal(a.code_challenge, "b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI");
	assert_int_equal(a.max_age, -1);
	assert_int_equal(a.min_level, EID_LEVEL_SUBSTANTIAL);
	assert_string_equal(a.locale, "nb");
	assert_non_null(a.resource);
	assert_int_equal(a.nresource, 0);
	assert_string_equal(a.id, "QmFyQmF6UXV4UXV1eEZvb0Jhclp6enp6enp6enp6enp");
	assert_non_null(a.browser);
	assert_null(a.prompt);
	assert_false(a.force_login);
	assert_false(a.consent);
	arena_free(arena);
}

static void
test_pending_full(void **state)
{
	struct arena *arena = arena_new();
	struct authz_request a;

	(void)state;
	round_trip(PENDING_FULL, true, &a, arena);
	assert_int_equal(a.mode, RESPONSE_MODE_FORM_POST);
	assert_true(a.force_login);
	assert_string_equal(a.prompt, "login");
	assert_int_equal(a.max_age, 3600);
	assert_int_equal(a.min_level, EID_LEVEL_HIGH);
	assert_int_equal(a.nresource, 2);
	assert_string_equal(a.resource[1], "https://two.example.no");
	assert_string_equal(a.state, "s \xc3\xa6\xc3\xb8\xc3\xa5");
	arena_free(arena);
}

static void
test_par_and_consent(void **state)
{
	struct arena *arena = arena_new();
	struct authz_request a;

	(void)state;
	round_trip(PAR, true, &a, arena);
	assert_int_equal(a.mode, RESPONSE_MODE_FRAGMENT);
	assert_null(a.id);
	assert_null(a.browser);
	assert_null(a.nonce);
	assert_null(a.code_challenge);
	assert_int_equal(a.max_age, 0);
	round_trip(CONSENT, true, &a, arena);
	assert_true(a.consent);
	assert_string_equal(a.consent_sid, "sid-1234");
	round_trip(CONSENT_SSO, false, &a, arena);
	assert_true(a.consent);
	arena_free(arena);
}

/* An Ansattporten login a step paused, with the claims it added. */
static const char PAUSED[] =
	"{\"client_id\":\"ap\",\"redirect_uri\":\"https://rp.example.no/cb\","
	"\"response_mode\":\"query\",\"state\":\"st-1\",\"scope\":\"openid\","
	"\"nonce\":\"no-1\",\"code_challenge\":\"b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI\","
	"\"max_age\":-1,\"acr\":\"idporten-loa-high\",\"locale\":\"nb\",\"resource\":[],"
	"\"id\":\"QmFyQmF6UXV4UXV1eEZvb0Jhclp6enp6enp6enp6enp\","
	"\"browser\":\"Yk1hY2hpbmVCcm93c2VySGFzaEhlcmVYWFhYWFhYWFg\",\"authenticated\":true,"
	"\"iss\":\"https://ansattporten.test\","
	"\"claims\":{\"name\":\"Kari Nordmann\",\"authorization_details\":[{\"type\":\"t\"}]},"
	"\"step\":\"chooser\",\"step_sid\":\"sid-1234\"}";

static void
test_paused_step(void **state)
{
	struct arena *arena = arena_new();
	struct authz_request a;

	(void)state;
	round_trip(PAUSED, true, &a, arena);
	assert_string_equal(a.iss, "https://ansattporten.test");
	assert_string_equal(a.step, "chooser");
	assert_string_equal(a.step_sid, "sid-1234");
	assert_non_null(strstr(a.claims, "\"Kari Nordmann\""));
	assert_true(a.authenticated);
	arena_free(arena);
}

/* A PAR request bound to a DPoP key (spec/idporten-oidc.md §19): the thumbprint rides along. */
static void
test_dpop_jkt(void **state)
{
	struct arena *arena = arena_new();
	struct authz_request a;

	(void)state;
	round_trip("{\"client_id\":\"web\",\"state\":\"st-1\","
		   "\"dpop_jkt\":\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\"}",
		   true, &a, arena);
	assert_string_equal(a.dpop_jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
	round_trip("{\"client_id\":\"web\"}", true, &a, arena);
	assert_null(a.dpop_jkt);
	arena_free(arena);
}

/* A pushed headless test login (spec/idporten-oidc.md §22): the hint is a field of the record. */
static void
test_headless_hint(void **state)
{
	struct arena *arena = arena_new();
	struct authz_request a;

	(void)state;
	round_trip("{\"client_id\":\"web\",\"state\":\"st-1\","
		   "\"dpop_jkt\":\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\","
		   "\"headless_hint\":\"testid:02918095010_idporten-loa-high\"}",
		   true, &a, arena);
	assert_string_equal(a.headless_hint, "testid:02918095010_idporten-loa-high");
	round_trip(PAR, true, &a, arena);
	assert_null(a.headless_hint);
	arena_free(arena);
}

/* What the unit tests and older callers hand over: only some fields. */
static void
test_sparse(void **state)
{
	struct arena *arena = arena_new();
	struct authz_request a;

	(void)state;
	round_trip("{\"client_id\":\"web\",\"state\":\"st-1\",\"consent_accepted\":true}", true, &a,
		   arena);
	assert_false(a.has_mode);
	assert_int_equal(a.mode, RESPONSE_MODE_QUERY);
	assert_int_equal(a.max_age, AREQ_NO_MAX_AGE);
	assert_int_equal(a.min_level, 0);
	assert_null(a.resource);
	assert_true(a.consent_accepted);
	round_trip("{}", true, &a, arena);
	arena_free(arena);
}

static void
test_eidas(void **state)
{
	struct arena *arena = arena_new();
	struct authz_request a;

	(void)state;
	round_trip(PENDING_EIDAS, true, &a, arena);
	assert_int_equal(a.eidas_level, EID_LEVEL_HIGH);
	assert_true(a.eidas_only);
	assert_int_equal(a.min_level, EID_LEVEL_SUBSTANTIAL);
	round_trip(PENDING, true, &a, arena);
	assert_int_equal(a.eidas_level, 0);
	assert_false(a.eidas_only);
	arena_free(arena);
}

static void
test_damaged(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"client_id\":7}",
		"{\"response_mode\":\"jwt\"}",
		"{\"response_mode\":null}",
		"{\"acr\":\"idporten-loa-low\"}",
		"{\"max_age\":\"60\"}",
		"{\"max_age\":1.5}",
		"{\"resource\":\"https://api.example.no\"}",
		"{\"resource\":[1]}",
		"{\"force_login\":\"yes\"}",
		"{\"consent\":1}",
		"{\"iss\":[]}",
		"{\"claims\":\"{}\"}",
		"{\"claims\":[]}",
		"{\"step\":true}",
		"{\"dpop_jkt\":7}",
		"{\"headless_hint\":[\"testid:\"]}",
		"{\"eidas_acr\":\"idporten-loa-high\"}",
		"{\"eidas_only\":\"yes\"}",
	};
	struct authz_request a;

	(void)state;
	ASSERT_ALL_REFUSED(bad, areq_decode, &a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_pending_full),
		cmocka_unit_test(test_par_and_consent),
		cmocka_unit_test(test_paused_step),
		cmocka_unit_test(test_sparse),
		cmocka_unit_test(test_dpop_jkt),
		cmocka_unit_test(test_headless_hint),
		cmocka_unit_test(test_eidas),
		cmocka_unit_test(test_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
