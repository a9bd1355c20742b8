/*
 * Tests for jose/signer.c: the in-process signer of a jose_key.  Its
 * signatures are checked with OpenSSL against the public JWK alone, and
 * byte for byte against cjose's RS256 signature with the same key, which
 * is what signed every token before the signer existed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/header.h>
#include <cjose/jws.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <pthread.h>

#include "core/b64.h"
#include "jose/jose.h"
#include "jose/jose_int.h"

static struct jose_key *k2048, *k3072;

static int
group_setup(void **state)
{
	struct err e = { 0 };

	(void)state;
	if (jose_key_generate(2048, &k2048, &e) != 0 || jose_key_generate(3072, &k3072, &e) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	jose_key_free(k2048);
	jose_key_free(k3072);
	return 0;
}

/* ---- helpers ---- */

static BIGNUM *
jwk_bn(const json_t *jwk, const char *name)
{
	struct str s = str_c(json_string_value(json_object_get(jwk, name)));
	unsigned char raw[1024];
	size_t n = 0;
	BIGNUM *bn;

	assert_true(s.len > 0 && s.len * 3 / 4 < sizeof(raw));
	assert_int_equal(b64url_decode(s, raw, &n), 0);
	bn = BN_bin2bn(raw, (int)n, NULL);
	assert_non_null(bn);
	return bn;
}

/* An OpenSSL public key from nothing but the key's published JWK. */
static EVP_PKEY *
public_from_jwk(const struct jose_key *k)
{
	json_t *jwk = jose_key_public_jwk(k);
	BIGNUM *n = jwk_bn(jwk, "n"), *e = jwk_bn(jwk, "e");
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;

	assert_null(json_object_get(jwk, "d"));
	assert_non_null(bld);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	json_decref(jwk);
	return pk;
}

/* RS256 verification of a raw signature by OpenSSL: 1 good, 0 not. */
static int
rs256_ok(EVP_PKEY *pub, const void *msg, size_t n, const unsigned char *sig, size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	assert_non_null(md);
	assert_int_equal(EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pub, NULL), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
	ok = EVP_DigestVerify(md, sig, len, msg, n) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

static int
sign(const struct jose_signer *s, const char *msg, unsigned char **sig, size_t *len,
     struct err *e)
{
	return s->sign(s, msg, strlen(msg), sig, len, e);
}

/* ---- tests ---- */

static void
test_fields(void **state)
{
	const struct jose_signer *s = jose_key_signer(k2048);

	(void)state;
	assert_non_null(s);
	assert_non_null(s->sign);
	assert_string_equal(s->alg, "RS256");
	assert_string_equal(s->kid, jose_key_kid(k2048));
	/* The signer lives in the key: no copy, the same one every time. */
	assert_ptr_equal(jose_key_signer(k2048), s);
	assert_ptr_equal(s->kid, jose_key_kid(k2048));
	assert_null(jose_key_signer(NULL));
}

/* A signature verifies against the public JWK, and only for its message. */
static void
test_verifies_against_jwk(void **state)
{
	static const char msg[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0";
	const struct jose_key *keys[] = { k2048, k3072 };
	const size_t lens[] = { 256, 384 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const struct jose_signer *s = jose_key_signer(keys[i]);
		EVP_PKEY *pub = public_from_jwk(keys[i]);
		unsigned char *sig = NULL;
		size_t len = 0;
		struct err e = { 0 };

		assert_int_equal(sign(s, msg, &sig, &len, &e), 0);
		assert_non_null(sig);
		/* RFC 8017 8.2.1: as long as the modulus. */
		assert_int_equal(len, lens[i]);
		assert_true(rs256_ok(pub, msg, strlen(msg), sig, len));
		assert_false(rs256_ok(pub, msg, strlen(msg) - 1, sig, len));
		sig[len / 2] ^= 1;
		assert_false(rs256_ok(pub, msg, strlen(msg), sig, len));
		free(sig);
		EVP_PKEY_free(pub);
	}
}

/*
 * The same bytes as cjose_jws_sign with the same key, so tokens do not
 * change when signing moves from cjose to the signer.
 */
static void
test_same_signature_as_cjose(void **state)
{
	static const char payload[] = "{\"iss\":\"http://127.0.0.1:8080\",\"sub\":\"x\"}";
	cjose_header_t *hdr;
	cjose_jws_t *cj;
	cjose_err cerr;
	const char *ser = NULL, *dot;
	unsigned char *sig = NULL;
	size_t len = 0;
	char *b64sig;
	struct err e = { 0 };

	(void)state;
	hdr = cjose_header_new(&cerr);
	assert_non_null(hdr);
	assert_true(cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RS256, &cerr));
	assert_true(cjose_header_set(hdr, CJOSE_HDR_KID, jose_key_kid(k2048), &cerr));
	cj = cjose_jws_sign(k2048->jwk, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
	assert_non_null(cj);
	assert_true(cjose_jws_export(cj, &ser, &cerr));
	dot = strrchr(ser, '.');
	assert_non_null(dot);

	assert_int_equal(jose_key_signer(k2048)->sign(jose_key_signer(k2048), ser,
						       (size_t)(dot - ser), &sig, &len, &e),
			 0);
	b64sig = malloc(b64url_len(len) + 1);
	assert_non_null(b64sig);
	b64url_encode(sig, len, b64sig);
	assert_string_equal(b64sig, dot + 1);
	free(b64sig);
	free(sig);
	cjose_jws_release(cj);
	cjose_header_release(hdr);
}

/* An unsealed key signs as the key it was sealed from. */
static void
test_unsealed_signs(void **state)
{
	static const char msg[] = "a.b";
	struct jose_kek kek;
	struct jose_key *k = NULL;
	unsigned char *s1 = NULL, *s2 = NULL;
	size_t l1 = 0, l2 = 0;
	char *sealed = NULL;
	struct err e = { 0 };

	(void)state;
	memset(kek.k, 3, sizeof(kek.k));
	assert_int_equal(jose_key_seal(k2048, &kek, &sealed, &e), 0);
	assert_int_equal(jose_key_unseal(sealed, jose_key_kid(k2048), &kek, &k, &e), 0);
	assert_string_equal(jose_key_signer(k)->kid, jose_key_kid(k2048));
	assert_string_equal(jose_key_signer(k)->alg, "RS256");
	assert_int_equal(sign(jose_key_signer(k), msg, &s1, &l1, &e), 0);
	assert_int_equal(sign(jose_key_signer(k2048), msg, &s2, &l2, &e), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	free(s1);
	free(s2);
	free(sealed);
	jose_key_free(k);
}

static void
test_edges(void **state)
{
	const struct jose_signer *s = jose_key_signer(k2048);
	EVP_PKEY *pub = public_from_jwk(k2048);
	unsigned char *sig = (unsigned char *)"x";
	size_t len = 99;
	struct err e = { 0 };

	(void)state;
	/* An empty message is still a message. */
	assert_int_equal(s->sign(s, "", 0, &sig, &len, &e), 0);
	assert_true(rs256_ok(pub, "", 0, sig, len));
	free(sig);
	/* No bytes behind a length: refused, outputs cleared. */
	sig = (unsigned char *)"x";
	len = 99;
	memset(&e, 0, sizeof(e));
	assert_int_equal(s->sign(s, NULL, 10, &sig, &len, &e), ERR_INVAL);
	assert_null(sig);
	assert_int_equal(len, 0);
	assert_int_equal(e.code, ERR_INVAL);
	assert_true(e.msg[0] != '\0');
	EVP_PKEY_free(pub);
}

/* One key signs from several threads at once (run under ASan/TSan too). */
struct thread_arg {
	EVP_PKEY *pub;
	int failures;
};

static void *
signing_thread(void *p)
{
	struct thread_arg *a = p;
	const struct jose_signer *s = jose_key_signer(k2048);

	for (int i = 0; i < 50; i++) {
		char msg[64];
		unsigned char *sig = NULL;
		size_t len = 0;
		struct err e = { 0 };

		snprintf(msg, sizeof(msg), "message.%d.%p", i, (void *)a);
		if (sign(s, msg, &sig, &len, &e) != 0 || !rs256_ok(a->pub, msg, strlen(msg), sig, len))
			a->failures++;
		free(sig);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct thread_arg args[4];
	pthread_t t[4];
	EVP_PKEY *pub = public_from_jwk(k2048);

	(void)state;
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ .pub = pub };
		assert_int_equal(pthread_create(&t[i], NULL, signing_thread, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
	EVP_PKEY_free(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_verifies_against_jwk),
		cmocka_unit_test(test_same_signature_as_cjose),
		cmocka_unit_test(test_unsealed_signs),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
