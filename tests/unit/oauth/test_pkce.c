/*
 * Tests for oauth/pkce.c (spec/idporten-oidc.md §5, RFC 7636): the docs'
 * test vector, RFC 7636 Appendix B, lengths, alphabets, padding and the
 * hostile half (NUL bytes, near misses, malformed challenges).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "oauth/oauth.h"

#define DOC_VERIFIER "xyo94uhy3zKvgB0NJwLms86SwcjtWviEOpkBnGgaLlo"
#define DOC_CHALLENGE "b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI"
/* RFC 7636 Appendix B. */
#define RFC_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static void
test_doc_vector(void **state)
{
	(void)state;
	assert_true(oauth_pkce_verifier_valid(STR_LIT(DOC_VERIFIER)));
	assert_true(oauth_pkce_challenge_valid(STR_LIT(DOC_CHALLENGE)));
	assert_true(oauth_pkce_verify(STR_LIT(DOC_VERIFIER), STR_LIT(DOC_CHALLENGE)));
	assert_true(oauth_pkce_verify(STR_LIT(RFC_VERIFIER), STR_LIT(RFC_CHALLENGE)));
	/* Crossed pairs do not match. */
	assert_false(oauth_pkce_verify(STR_LIT(DOC_VERIFIER), STR_LIT(RFC_CHALLENGE)));
	assert_false(oauth_pkce_verify(STR_LIT(RFC_VERIFIER), STR_LIT(DOC_CHALLENGE)));
}

static void
test_verify_near_misses(void **state)
{
	char v[sizeof(DOC_VERIFIER)];
	char c[sizeof(DOC_CHALLENGE)];

	(void)state;
	/* One flipped character in the verifier or the challenge. */
	memcpy(v, DOC_VERIFIER, sizeof(v));
	v[0] = 'X';
	assert_false(oauth_pkce_verify((struct str){ v, sizeof(v) - 1 }, STR_LIT(DOC_CHALLENGE)));
	memcpy(c, DOC_CHALLENGE, sizeof(c));
	c[42] = c[42] == 'I' ? 'J' : 'I';
	assert_false(oauth_pkce_verify(STR_LIT(DOC_VERIFIER), (struct str){ c, sizeof(c) - 1 }));
	/* "plain": the verifier presented as its own challenge. */
	assert_false(oauth_pkce_verify(STR_LIT(DOC_VERIFIER), STR_LIT(DOC_VERIFIER)));
	/* The challenge presented as the verifier. */
	assert_false(oauth_pkce_verify(STR_LIT(DOC_CHALLENGE), STR_LIT(DOC_CHALLENGE)));
	/* Padded challenge (standard base64 habits). */
	assert_false(oauth_pkce_verify(STR_LIT(DOC_VERIFIER), STR_LIT(DOC_CHALLENGE "=")));
	/* Empty / NULL. */
	assert_false(oauth_pkce_verify(STR_NULL, STR_LIT(DOC_CHALLENGE)));
	assert_false(oauth_pkce_verify(STR_LIT(DOC_VERIFIER), STR_NULL));
	assert_false(oauth_pkce_verify(STR_LIT(""), STR_LIT("")));
	/* A verifier whose hash matches but with an extra byte hidden past a NUL. */
	assert_false(oauth_pkce_verify((struct str){ DOC_VERIFIER "\0", sizeof(DOC_VERIFIER) },
				       STR_LIT(DOC_CHALLENGE)));
}

static void
test_verifier_lengths(void **state)
{
	char buf[200];

	(void)state;
	memset(buf, 'a', sizeof(buf));
	assert_false(oauth_pkce_verifier_valid((struct str){ buf, 0 }));
	assert_false(oauth_pkce_verifier_valid((struct str){ buf, 42 }));
	assert_true(oauth_pkce_verifier_valid((struct str){ buf, 43 }));
	assert_true(oauth_pkce_verifier_valid((struct str){ buf, 128 }));
	assert_false(oauth_pkce_verifier_valid((struct str){ buf, 129 }));
	assert_false(oauth_pkce_verifier_valid((struct str){ buf, 200 }));
	assert_false(oauth_pkce_verifier_valid(STR_NULL));
}

static void
test_verifier_charset(void **state)
{
	char buf[64];
	/* Every unreserved character is allowed. */
	const char *ok = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
	const char *bad = "+/= %!*'()#&?@\"\\\t\r\n\x7f\x80\xc3";

	(void)state;
	assert_true(oauth_pkce_verifier_valid(str_c(ok)));
	for (const char *p = bad; *p; p++) {
		memset(buf, 'a', 50);
		buf[20] = *p;
		assert_false(oauth_pkce_verifier_valid((struct str){ buf, 50 }));
	}
	/* An embedded NUL. */
	memset(buf, 'a', 50);
	buf[49] = '\0';
	assert_false(oauth_pkce_verifier_valid((struct str){ buf, 50 }));
}

static void
test_challenge_shape(void **state)
{
	char buf[64];
	const char *bad = "+/=.~ %\r\n\x80";

	(void)state;
	assert_true(oauth_pkce_challenge_valid(STR_LIT(RFC_CHALLENGE)));
	/* Exactly 43: 42 and 44 fail, and so does the padded form. */
	assert_false(oauth_pkce_challenge_valid((struct str){ DOC_CHALLENGE, 42 }));
	assert_false(oauth_pkce_challenge_valid(STR_LIT(DOC_CHALLENGE "A")));
	assert_false(oauth_pkce_challenge_valid(STR_LIT(DOC_CHALLENGE "=")));
	assert_false(oauth_pkce_challenge_valid(STR_NULL));
	assert_false(oauth_pkce_challenge_valid(STR_LIT("")));
	/* Standard-base64 characters and anything else outside base64url. */
	for (const char *p = bad; *p; p++) {
		memcpy(buf, DOC_CHALLENGE, 43);
		buf[10] = *p;
		assert_false(oauth_pkce_challenge_valid((struct str){ buf, 43 }));
	}
	memcpy(buf, DOC_CHALLENGE, 43);
	buf[42] = '\0';
	assert_false(oauth_pkce_challenge_valid((struct str){ buf, 43 }));
	/* A 43-character verifier-alphabet string with '.' or '~' is not a challenge. */
	assert_false(oauth_pkce_challenge_valid(STR_LIT("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa~")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_vector),
		cmocka_unit_test(test_verify_near_misses),
		cmocka_unit_test(test_verifier_lengths),
		cmocka_unit_test(test_verifier_charset),
		cmocka_unit_test(test_challenge_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
