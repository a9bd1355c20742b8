/*
 * Tests for jose/signer.c, the in-process signer of a jose_key, and for
 * jose_jwt_sign() through signers.  Signatures are checked with OpenSSL
 * and cjose against the public JWK alone, and tokens byte for byte against
 * what cjose_jws_sign made with the same key, which is how every token was
 * signed before the signer existed.  The hostile half: signers that fail,
 * lie about what they returned, or carry an alg or kid that must not reach
 * a header, and claims that are missing, not an object or very large.
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
#include "core/str.h"
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
		if (sign(s, msg, &sig, &len, &e) != 0 ||
		    !rs256_ok(a->pub, msg, strlen(msg), sig, len))
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

/* ---- jose_jwt_sign through a signer ---- */

/* The token as jose_jwt_sign made it with cjose before the signer. */
static char *
cjose_token(const struct jose_key *k, const json_t *claims, const char *typ)
{
	cjose_header_t *hdr = cjose_header_new(NULL);
	cjose_jws_t *cj;
	const char *ser = NULL;
	char *body = json_dumps(claims, JSON_COMPACT), *copy;

	assert_non_null(hdr);
	assert_non_null(body);
	assert_true(cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RS256, NULL));
	assert_true(cjose_header_set(hdr, CJOSE_HDR_KID, jose_key_kid(k), NULL));
	assert_true(cjose_header_set(hdr, "typ", typ, NULL));
	cj = cjose_jws_sign(k->jwk, hdr, (const uint8_t *)body, strlen(body), NULL);
	assert_non_null(cj);
	assert_true(cjose_jws_export(cj, &ser, NULL));
	copy = strdup(ser);
	assert_non_null(copy);
	cjose_jws_release(cj);
	cjose_header_release(hdr);
	free(body);
	return copy;
}

/* cjose's own verification against the public JWK as published. */
static bool
cjose_verifies(const struct jose_key *k, const char *jws)
{
	json_t *pub = jose_key_public_jwk(k);
	char *text = json_dumps(pub, JSON_COMPACT);
	cjose_jwk_t *jwk = cjose_jwk_import(text, strlen(text), NULL);
	cjose_jws_t *cj = cjose_jws_import(jws, strlen(jws), NULL);
	bool ok;

	assert_non_null(jwk);
	assert_non_null(cj);
	ok = cjose_jws_verify(cj, jwk, NULL);
	cjose_jws_release(cj);
	cjose_jwk_release(jwk);
	free(text);
	json_decref(pub);
	return ok;
}

/*
 * Tokens are the bytes they were: header members, their order and
 * escaping, the payload and the signature, for both key sizes, both typs
 * and claims with non-ASCII text, escapes, numbers and nesting.
 */
static void
test_jwt_same_bytes_as_before(void **state)
{
	const struct jose_key *keys[] = { k2048, k3072 };
	const char *typs[] = { "JWT", "at+jwt" };
	json_t *claims[] = {
		json_pack("{s:s,s:s,s:I,s:I}", "iss", "http://127.0.0.1:8080", "sub", "x", "iat",
			  (json_int_t)1700000000, "exp", (json_int_t)1700000120),
		json_pack("{s:s,s:[s,s],s:{s:b,s:n},s:s,s:f}", "name", "Bj\xc3\xb8rn \xc3\x85se",
			  "aud", "a/b", "c\"d", "x", "y", 1, "z", "ctl", "tab\there\\ \x01",
			  "r", 0.5),
		json_object(),
	};

	(void)state;
	for (size_t i = 0; i < 2; i++)
		for (size_t t = 0; t < 2; t++)
			for (size_t c = 0; c < sizeof(claims) / sizeof(claims[0]); c++) {
				char *want = cjose_token(keys[i], claims[c], typs[t]), *got = NULL;
				struct err e = { 0 };

				assert_int_equal(jose_jwt_sign(jose_key_signer(keys[i]), claims[c],
							       t == 0 ? NULL : typs[t], &got, &e),
						 0);
				assert_string_equal(got, want);
				assert_true(cjose_verifies(keys[i], got));
				free(got);
				free(want);
			}
	for (size_t c = 0; c < sizeof(claims) / sizeof(claims[0]); c++)
		json_decref(claims[c]);
}

/* The token verifies with cjose, with OpenSSL and with jose_jwt_verify. */
static void
test_jwt_verifies(void **state)
{
	json_t *claims = json_pack("{s:s,s:I}", "sub", "x", "exp", (json_int_t)4102444800LL);
	json_t *pub = jose_key_public_jwk(k3072), *got = NULL;
	EVP_PKEY *pk = public_from_jwk(k3072);
	char *jws = NULL, *dot;
	unsigned char sig[1024];
	size_t n = 0;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(jose_jwt_sign(jose_key_signer(k3072), claims, "at+jwt", &jws, &e), 0);
	assert_true(cjose_verifies(k3072, jws));
	dot = strrchr(jws, '.');
	assert_int_equal(b64url_decode(str_c(dot + 1), sig, &n), 0);
	assert_int_equal(n, 384);
	assert_true(rs256_ok(pk, jws, (size_t)(dot - jws), sig, n));
	assert_int_equal(jose_jwt_verify(str_c(jws), pub, JOSE_ALG_RS256, &got, &e), 0);
	assert_true(json_equal(got, claims));
	/* Another key does not verify it. */
	assert_false(cjose_verifies(k2048, jws));
	json_decref(got);
	free(jws);
	EVP_PKEY_free(pk);
	json_decref(pub);
	json_decref(claims);
}

/*
 * A signer under test's control: what it was given, and what it answers
 * (rc < 0: fail with rc; rc > 0: return rc, outside the contract; rc 0:
 * sig of len bytes of 0xAA, or NULL when len is 0).
 */
static struct {
	int calls;
	char *msg;
	size_t n;
	int rc;
	size_t len;
} fake;

static int
fake_sign(const struct jose_signer *s, const void *msg, size_t n, unsigned char **sig,
	  size_t *len, struct err *e)
{
	(void)s;
	*sig = NULL;
	*len = 0;
	fake.calls++;
	free(fake.msg);
	fake.msg = strndup(msg, n);
	fake.n = n;
	if (fake.rc < 0)
		return ERR(e, fake.rc, 503, "temporarily_unavailable", "the token device is away");
	if (fake.rc > 0)
		return fake.rc;
	if (fake.len > 0) {
		*sig = malloc(fake.len);
		assert_non_null(*sig);
		memset(*sig, 0xAA, fake.len);
		*len = fake.len;
	}
	return 0;
}

static void
fake_reset(int rc, size_t len)
{
	free(fake.msg);
	memset(&fake, 0, sizeof(fake));
	fake.rc = rc;
	fake.len = len;
}

/* The signer gets exactly the signing input, once, and its bytes are the third part. */
static void
test_jwt_signer_gets_signing_input(void **state)
{
	const struct jose_signer s = { .kid = "fake-1", .alg = "RS512", .sign = fake_sign };
	json_t *claims = json_pack("{s:s}", "sub", "x"), *hdr = NULL;
	char *jws = NULL, *want;
	struct err e = { 0 };

	(void)state;
	fake_reset(0, 512);
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), 0);
	assert_int_equal(fake.calls, 1);
	assert_int_equal(fake.n, strrchr(jws, '.') - jws);
	assert_memory_equal(fake.msg, jws, fake.n);
	assert_int_equal(jose_jws_header(str_c(jws), &hdr, &e), 0);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "RS512");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "fake-1");
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
	want = malloc(b64url_len(512) + 1);
	assert_non_null(want);
	{
		unsigned char aa[512];

		memset(aa, 0xAA, sizeof(aa));
		b64url_encode(aa, sizeof(aa), want);
	}
	assert_string_equal(strrchr(jws, '.') + 1, want);
	free(want);
	json_decref(hdr);
	free(jws);
	json_decref(claims);
	fake_reset(0, 0);
}

/* A signer's failure reaches the caller as the signer said it. */
static void
test_jwt_failing_signer(void **state)
{
	const struct jose_signer s = { .kid = "fake-1", .alg = "RS256", .sign = fake_sign };
	json_t *claims = json_pack("{s:s}", "sub", "x");
	char *jws = (char *)0x1;
	struct err e = { 0 };

	(void)state;
	fake_reset(ERR_UNAVAILABLE, 0);
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), ERR_UNAVAILABLE);
	assert_null(jws);
	assert_int_equal(fake.calls, 1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.oauth, "temporarily_unavailable");
	assert_string_equal(e.msg, "the token device is away");

	fake_reset(ERR_CRYPTO, 0);
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), ERR_CRYPTO);
	assert_null(jws);

	/* Outside the contract: a positive code, success with nothing, too much. */
	fake_reset(7, 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), ERR_INTERNAL);
	assert_null(jws);
	assert_int_equal(e.code, ERR_INTERNAL);
	fake_reset(0, 0);
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), ERR_CRYPTO);
	assert_null(jws);
	fake_reset(0, 1025);
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), ERR_CRYPTO);
	assert_null(jws);
	fake_reset(0, 1024);
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), 0);
	free(jws);
	json_decref(claims);
	fake_reset(0, 0);
}

/* What must not reach a header is refused before the signer is asked. */
static void
test_jwt_signer_fields_refused(void **state)
{
	char longkid[130];
	/* ES256 is signed too (jose/ec.c, tests/unit/eid/wallet/test_sdjwt.c). */
	const char *bad_algs[] = { NULL, "", "none", "HS256", "ES384", "PS256", "rs256",
				   "RS256 " };
	const char *bad_kids[] = { NULL, "", "tab\there", "line\nbreak", "\x7f", "\xc3\xb8",
				   longkid };
	json_t *claims = json_pack("{s:s}", "sub", "x");
	struct jose_signer s = { .kid = "fake-1", .alg = "RS256", .sign = fake_sign };
	char *jws = NULL;
	struct err e = { 0 };

	(void)state;
	memset(longkid, 'k', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	fake_reset(0, 256);
	for (size_t i = 0; i < sizeof(bad_algs) / sizeof(bad_algs[0]); i++) {
		s.alg = bad_algs[i];
		assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), ERR_INVAL);
		assert_null(jws);
	}
	s.alg = "RS256";
	for (size_t i = 0; i < sizeof(bad_kids) / sizeof(bad_kids[0]); i++) {
		s.kid = bad_kids[i];
		assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), ERR_INVAL);
		assert_null(jws);
	}
	s.kid = "fake-1";
	s.sign = NULL;
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), ERR_INVAL);
	assert_int_equal(fake.calls, 0);
	/* The longest kid we carry, and every printable byte, are fine. */
	longkid[128] = '\0';
	s.kid = longkid;
	s.sign = fake_sign;
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), 0);
	free(jws);
	s.kid = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
	assert_int_equal(jose_jwt_sign(&s, claims, NULL, &jws, &e), 0);
	{
		json_t *hdr = NULL;

		assert_int_equal(jose_jws_header(str_c(jws), &hdr, &e), 0);
		assert_string_equal(json_string_value(json_object_get(hdr, "kid")), s.kid);
		json_decref(hdr);
	}
	free(jws);
	assert_int_equal(fake.calls, 2);
	json_decref(claims);
	fake_reset(0, 0);
}

/* NULL, non-object and very large claims. */
static void
test_jwt_hostile_claims(void **state)
{
	const struct jose_signer *s = jose_key_signer(k2048);
	const size_t big = 4u << 20; /* 4 MiB: far over any token we verify */
	json_t *bad[] = { json_array(), json_string("x"), json_integer(1), json_null() };
	json_t *claims, *pub = jose_key_public_jwk(k2048), *got = NULL;
	EVP_PKEY *pk = public_from_jwk(k2048);
	char *jws = (char *)0x1, *text, *dot;
	unsigned char sig[512];
	size_t n = 0;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(jose_jwt_sign(s, NULL, NULL, &jws, &e), ERR_INVAL);
	assert_null(jws);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(jose_jwt_sign(s, bad[i], NULL, &jws, &e), ERR_INVAL);
		assert_null(jws);
		json_decref(bad[i]);
	}
	/* Signing sets no size limit: a huge token is signed whole and correctly ... */
	text = malloc(big + 1);
	assert_non_null(text);
	memset(text, 'A', big);
	text[big] = '\0';
	claims = json_pack("{s:s,s:I}", "blob", text, "exp", (json_int_t)4102444800LL);
	assert_non_null(claims);
	assert_int_equal(jose_jwt_sign(s, claims, NULL, &jws, &e), 0);
	assert_true(strlen(jws) > big * 4 / 3);
	dot = strrchr(jws, '.');
	assert_int_equal(b64url_decode(str_c(dot + 1), sig, &n), 0);
	assert_true(rs256_ok(pk, jws, (size_t)(dot - jws), sig, n));
	/* ... and verification refuses it by its length, as any token over 16 KiB. */
	assert_int_equal(jose_jwt_verify(str_c(jws), pub, JOSE_ALG_RS256, &got, &e), ERR_INVAL);
	assert_null(got);
	free(jws);
	json_decref(claims);
	free(text);
	EVP_PKEY_free(pk);
	json_decref(pub);
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
		cmocka_unit_test(test_jwt_same_bytes_as_before),
		cmocka_unit_test(test_jwt_verifies),
		cmocka_unit_test(test_jwt_signer_gets_signing_input),
		cmocka_unit_test(test_jwt_failing_signer),
		cmocka_unit_test(test_jwt_signer_fields_refused),
		cmocka_unit_test(test_jwt_hostile_claims),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
