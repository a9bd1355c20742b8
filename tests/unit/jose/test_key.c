/*
 * Tests for jose/key.c: key generation, the public JWK, the KEK format and
 * sealing at rest.  The hostile half: wrong KEK, wrong kid, every part of a
 * sealed text altered, truncated or oversized, and well-sealed plaintexts
 * that are not acceptable keys.  Secret text sealed under the KEK with a
 * label, and the same hostile cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/rsa.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "jose/jose.h"

/* 32 bytes 0x00..0x1f in base64url. */
#define KEK_TEXT "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static struct jose_key *key1;

static int
group_setup(void **state)
{
	struct err e = { 0 };

	(void)state;
	return jose_key_generate(2048, &key1, &e);
}

static int
group_teardown(void **state)
{
	(void)state;
	jose_key_free(key1);
	return 0;
}

static void
kek_fixed(struct jose_kek *kek)
{
	struct err e = { 0 };

	assert_int_equal(jose_kek_parse(STR_LIT(KEK_TEXT), kek, &e), 0);
}

static void
test_generate(void **state)
{
	struct jose_key *k = NULL;
	struct err e = { 0 };
	const char *kid;

	(void)state;
	kid = jose_key_kid(key1);
	assert_non_null(kid);
	/* 16 random bytes as base64url. */
	assert_int_equal(strlen(kid), 22);
	assert_true(str_only(str_c(kid), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789-_"));

	assert_int_equal(jose_key_generate(1024, &k, &e), ERR_INVAL);
	assert_null(k);
	assert_int_equal(jose_key_generate(0, &k, &e), ERR_INVAL);
	assert_int_equal(jose_key_generate(-2048, &k, &e), ERR_INVAL);
	assert_int_equal(jose_key_generate(1 << 20, &k, &e), ERR_INVAL);
	assert_null(k);

	assert_null(jose_key_kid(NULL));
	assert_null(jose_key_public_jwk(NULL));
	jose_key_free(NULL);
}

static void
test_public_jwk(void **state)
{
	json_t *jwk = jose_key_public_jwk(key1);
	const char *n;
	unsigned char raw[512];
	size_t rawlen = 0;

	(void)state;
	assert_non_null(jwk);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
	assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), jose_key_kid(key1));
	assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
	n = json_string_value(json_object_get(jwk, "n"));
	assert_non_null(n);
	assert_int_equal(b64url_decode(str_c(n), raw, &rawlen), 0);
	assert_int_equal(rawlen, 256);
	assert_true(raw[0] & 0x80);
	/* Nothing private ever leaves in the public JWK. */
	assert_null(json_object_get(jwk, "d"));
	assert_null(json_object_get(jwk, "p"));
	assert_null(json_object_get(jwk, "q"));
	assert_null(json_object_get(jwk, "dp"));
	assert_null(json_object_get(jwk, "dq"));
	assert_null(json_object_get(jwk, "qi"));
	assert_int_equal(json_object_size(jwk), 6);
	/* A valid client JWKS member too. */
	{
		json_t *set = json_pack("{s:[O]}", "keys", jwk);
		struct err e = { 0 };

		assert_int_equal(jose_jwks_validate(set, 5, &e), 0);
		json_decref(set);
	}
	json_decref(jwk);
}

static void
test_kek_parse(void **state)
{
	struct jose_kek kek;
	struct err e = { 0 };
	static const char *const bad[] = {
		"",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh",     /* 42 chars */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",   /* 44 chars */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",   /* padding */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+",    /* std alphabet */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9",    /* stray low bits */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw Hh8",    /* space */
	};

	(void)state;
	assert_int_equal(jose_kek_parse(STR_LIT(KEK_TEXT), &kek, &e), 0);
	for (int i = 0; i < 32; i++)
		assert_int_equal(kek.k[i], i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(jose_kek_parse(str_c(bad[i]), &kek, &e), ERR_INVAL);
		assert_int_equal(e.code, ERR_INVAL);
		/* The secret is never repeated in a message. */
		assert_null(strstr(e.msg, "AAECAwQF"));
	}
	assert_int_equal(jose_kek_parse(STR_NULL, &kek, &e), ERR_INVAL);
	/* Embedded NUL within the length. */
	assert_int_equal(jose_kek_parse((struct str){ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaG\0wdHh8",
						      43 }, &kek, &e),
			 ERR_INVAL);
}

static void
test_seal_roundtrip(void **state)
{
	struct jose_kek kek;
	struct jose_key *k2 = NULL;
	struct err e = { 0 };
	char *s1 = NULL, *s2 = NULL, *jws = NULL;
	json_t *pub1, *pub2, *claims, *got = NULL;

	(void)state;
	kek_fixed(&kek);
	assert_int_equal(jose_key_seal(key1, &kek, &s1, &e), 0);
	assert_non_null(s1);
	assert_true(strncmp(s1, "v1.", 3) == 0);
	/* v1.<16 chars IV>.<ciphertext+tag> */
	assert_int_equal(s1[3 + 16], '.');
	assert_null(strchr(s1 + 3 + 17, '.'));
	/* A fresh IV every time. */
	assert_int_equal(jose_key_seal(key1, &kek, &s2, &e), 0);
	assert_string_not_equal(s1, s2);

	assert_int_equal(jose_key_unseal(s1, jose_key_kid(key1), &kek, &k2, &e), 0);
	assert_non_null(k2);
	assert_string_equal(jose_key_kid(k2), jose_key_kid(key1));
	pub1 = jose_key_public_jwk(key1);
	pub2 = jose_key_public_jwk(k2);
	assert_true(json_equal(pub1, pub2));

	/* The unsealed key signs what the original's public key verifies. */
	claims = json_pack("{s:s,s:I}", "sub", "roundtrip", "exp", (json_int_t)4102444800);
	assert_int_equal(jose_jwt_sign(jose_key_signer(k2), claims, NULL, &jws, &e), 0);
	assert_int_equal(jose_jwt_verify(str_c(jws), pub1, JOSE_ALG_RS256, &got, &e), 0);
	assert_true(json_equal(got, claims));

	json_decref(got);
	json_decref(claims);
	json_decref(pub1);
	json_decref(pub2);
	free(jws);
	free(s1);
	free(s2);
	jose_key_free(k2);
}

static void
test_unseal_wrong_kek_or_kid(void **state)
{
	struct jose_kek kek, other;
	struct jose_key *k2 = NULL;
	struct err e = { 0 };
	char *s = NULL;

	(void)state;
	kek_fixed(&kek);
	memcpy(&other, &kek, sizeof(other));
	other.k[31] ^= 1;
	assert_int_equal(jose_key_seal(key1, &kek, &s, &e), 0);

	assert_int_equal(jose_key_unseal(s, jose_key_kid(key1), &other, &k2, &e), ERR_CRYPTO);
	assert_null(k2);
	assert_int_equal(e.code, ERR_CRYPTO);
	assert_non_null(strstr(e.msg, "KEK"));

	/* The kid is bound: the blob does not open under another key's row. */
	assert_int_equal(jose_key_unseal(s, "some-other-kid", &kek, &k2, &e), ERR_CRYPTO);
	assert_null(k2);

	/* Bad kids are refused before any decryption. */
	assert_int_equal(jose_key_unseal(s, "", &kek, &k2, &e), ERR_INVAL);
	assert_int_equal(jose_key_unseal(s, "tab\there", &kek, &k2, &e), ERR_INVAL);
	{
		char longkid[200];

		memset(longkid, 'a', sizeof(longkid) - 1);
		longkid[sizeof(longkid) - 1] = '\0';
		assert_int_equal(jose_key_unseal(s, longkid, &kek, &k2, &e), ERR_INVAL);
	}
	assert_int_equal(jose_key_unseal(NULL, "x", &kek, &k2, &e), ERR_INVAL);
	assert_int_equal(jose_key_unseal(s, NULL, &kek, &k2, &e), ERR_INVAL);
	assert_int_equal(jose_key_unseal(s, "x", NULL, &k2, &e), ERR_INVAL);
	assert_null(k2);
	free(s);
}

/* Change one base64url character at offset off to another valid one. */
static void
flip_char(char *s, size_t off)
{
	s[off] = s[off] == 'A' ? 'B' : 'A';
}

static void
test_unseal_tampered(void **state)
{
	struct jose_kek kek;
	struct jose_key *k2 = NULL;
	struct err e = { 0 };
	char *s = NULL, *t;
	size_t len;

	(void)state;
	kek_fixed(&kek);
	assert_int_equal(jose_key_seal(key1, &kek, &s, &e), 0);
	len = strlen(s);
	t = malloc(len + 8);
	assert_non_null(t);

	/* Ciphertext, in the middle and just before the tag. */
	memcpy(t, s, len + 1);
	flip_char(t, len / 2);
	assert_int_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), ERR_CRYPTO);
	memcpy(t, s, len + 1);
	flip_char(t, len - 30);
	assert_int_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), ERR_CRYPTO);
	/* Tag. */
	memcpy(t, s, len + 1);
	flip_char(t, len - 5);
	assert_int_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), ERR_CRYPTO);
	/* IV. */
	memcpy(t, s, len + 1);
	flip_char(t, 5);
	assert_int_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), ERR_CRYPTO);
	/* Truncated by four characters (three bytes of tag); the new last one may be non-canonical. */
	memcpy(t, s, len + 1);
	t[len - 4] = '\0';
	assert_int_not_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), 0);
	/* Truncated to an impossible base64url length. */
	memcpy(t, s, len + 1);
	t[len - 3] = '\0';
	assert_int_not_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), 0);
	/* Extended. */
	memcpy(t, s, len + 1);
	memcpy(t + len, "AAAA", 5);
	assert_int_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), ERR_CRYPTO);
	/* Version. */
	memcpy(t, s, len + 1);
	t[1] = '2';
	assert_int_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), ERR_INVAL);
	/* IV of the wrong size. */
	memcpy(t, s, len + 1);
	t[3 + 16] = 'A';
	assert_int_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), ERR_INVAL);
	/* A third part. */
	memcpy(t, s, len + 1);
	t[len / 2] = '.';
	assert_int_equal(jose_key_unseal(t, jose_key_kid(key1), &kek, &k2, &e), ERR_INVAL);
	assert_null(k2);

	{
		static const char *const junk[] = { "", "v1.", "v1..", "v1.AAAAAAAAAAAAAAAA.",
						    "v1.AAAAAAAAAAAAAAAA.AAAA", "garbage",
						    "v1.AAAAAAAAAAAAAAA=.AAAAAAAAAAAAAAAAAAAAAAAAA" };

		for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
			assert_int_not_equal(
				jose_key_unseal(junk[i], jose_key_kid(key1), &kek, &k2, &e), 0);
	}
	assert_null(k2);
	free(t);
	free(s);
}

static void
test_unseal_oversized(void **state)
{
	struct jose_kek kek;
	struct jose_key *k2 = NULL;
	struct err e = { 0 };
	size_t n = 1 << 20;
	char *big = malloc(n + 1);

	(void)state;
	assert_non_null(big);
	kek_fixed(&kek);
	memset(big, 'A', n);
	memcpy(big, "v1.AAAAAAAAAAAAAAAA.", 20);
	big[n] = '\0';
	assert_int_equal(jose_key_unseal(big, "kid", &kek, &k2, &e), ERR_INVAL);
	assert_null(k2);
	free(big);
}

/*
 * Seal arbitrary plaintext exactly as jose_key_seal does (AAD "v1." kid),
 * to check that a properly authenticated blob must still hold a good key.
 */
static char *
seal_raw(const struct jose_kek *kek, const char *kid, const unsigned char *p, size_t n)
{
	unsigned char iv[12] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2 };
	unsigned char *ct = malloc(n + 16);
	char aad[160];
	char *out = malloc(3 + 16 + 1 + b64url_len(n + 16) + 1);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0, f = 0;
	size_t aadlen = (size_t)snprintf(aad, sizeof(aad), "v1.%s", kid);

	assert_non_null(ct);
	assert_non_null(out);
	assert_non_null(c);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek->k, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(c, NULL, &l, (unsigned char *)aad, (int)aadlen), 1);
	assert_int_equal(EVP_EncryptUpdate(c, ct, &l, p, (int)n), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, ct + l, &f), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, ct + n), 1);
	memcpy(out, "v1.", 3);
	b64url_encode(iv, sizeof(iv), out + 3);
	out[19] = '.';
	b64url_encode(ct, n + 16, out + 20);
	EVP_CIPHER_CTX_free(c);
	free(ct);
	return out;
}

static void
test_unseal_bad_plaintext(void **state)
{
	struct jose_kek kek;
	struct jose_key *k2 = NULL;
	struct err e = { 0 };
	static const unsigned char junk[] = "this is not a DER private key";
	EVP_PKEY *weak = NULL, *ec = NULL;
	OSSL_ENCODER_CTX *ectx = NULL;
	unsigned char *der = NULL;
	size_t derlen = 0;
	char *s;

	(void)state;
	kek_fixed(&kek);
	/* Authenticated, but not a key. */
	s = seal_raw(&kek, "k", junk, sizeof(junk) - 1);
	assert_int_equal(jose_key_unseal(s, "k", &kek, &k2, &e), ERR_CRYPTO);
	assert_null(k2);
	free(s);

	/* Authenticated PKCS#8 of a 1024-bit RSA key: refused as too weak. */
	weak = EVP_RSA_gen(1024);
	assert_non_null(weak);
	ectx = OSSL_ENCODER_CTX_new_for_pkey(weak, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo",
					     NULL);
	assert_non_null(ectx);
	assert_int_equal(OSSL_ENCODER_to_data(ectx, &der, &derlen), 1);
	s = seal_raw(&kek, "k", der, derlen);
	assert_int_equal(jose_key_unseal(s, "k", &kek, &k2, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "1024"));
	assert_null(k2);
	free(s);
	OSSL_ENCODER_CTX_free(ectx);
	OPENSSL_free(der);
	der = NULL;

	/* Authenticated PKCS#8 of an EC key: not RSA. */
	ec = EVP_EC_gen("P-256");
	assert_non_null(ec);
	ectx = OSSL_ENCODER_CTX_new_for_pkey(ec, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
	assert_non_null(ectx);
	assert_int_equal(OSSL_ENCODER_to_data(ectx, &der, &derlen), 1);
	s = seal_raw(&kek, "k", der, derlen);
	assert_int_not_equal(jose_key_unseal(s, "k", &kek, &k2, &e), 0);
	assert_null(k2);
	free(s);
	OSSL_ENCODER_CTX_free(ectx);
	OPENSSL_free(der);

	EVP_PKEY_free(weak);
	EVP_PKEY_free(ec);
}

/* Secret text sealed under the KEK: round trip, label and KEK bound, tampering, limits. */
static void
test_text_seal(void **state)
{
	static const char secret[] = "-----BEGIN PRIVATE KEY-----\nnot really\n";
	struct jose_kek kek, other;
	struct err e = { 0 };
	char *sealed = NULL, *plain = NULL, *big;
	size_t len = 0, n;

	(void)state;
	kek_fixed(&kek);
	memcpy(&other, &kek, sizeof(other));
	other.k[0] ^= 1;
	assert_int_equal(jose_kek_seal_text(&kek, "tx-1", str_c(secret), &sealed, &e), 0);
	assert_true(strncmp(sealed, "t1.", 3) == 0);
	assert_null(strstr(sealed, "PRIVATE"));
	assert_int_equal(jose_kek_open_text(sealed, "tx-1", &kek, &plain, &len, &e), 0);
	assert_int_equal(len, strlen(secret));
	assert_string_equal(plain, secret);
	free(plain);
	/* another label, another KEK: nothing */
	assert_int_equal(jose_kek_open_text(sealed, "tx-2", &kek, &plain, &len, &e), ERR_CRYPTO);
	assert_null(plain);
	assert_int_equal(jose_kek_open_text(sealed, "tx-1", &other, &plain, &len, &e), ERR_CRYPTO);
	/* every character of the text altered in turn */
	n = strlen(sealed);
	for (size_t i = 0; i < n; i++) {
		char saved = sealed[i];

		sealed[i] = saved == 'A' ? 'B' : 'A';
		assert_int_not_equal(jose_kek_open_text(sealed, "tx-1", &kek, &plain, &len, &e), 0);
		assert_null(plain);
		sealed[i] = saved;
	}
	/* truncated, a key's format, no label, empty and oversized text */
	sealed[n - 5] = '\0';
	assert_int_not_equal(jose_kek_open_text(sealed, "tx-1", &kek, &plain, &len, &e), 0);
	sealed[0] = 'v';
	assert_int_equal(jose_kek_open_text(sealed, "tx-1", &kek, &plain, &len, &e), ERR_INVAL);
	free(sealed);
	assert_int_equal(jose_kek_seal_text(&kek, "", str_c(secret), &sealed, &e), ERR_INVAL);
	assert_int_equal(jose_kek_seal_text(&kek, NULL, str_c(secret), &sealed, &e), ERR_INVAL);
	assert_int_equal(jose_kek_seal_text(&kek, "x", str_c(""), &sealed, &e), ERR_INVAL);
	big = calloc(1, 16385);
	assert_non_null(big);
	memset(big, 'a', 16384);
	assert_int_equal(jose_kek_seal_text(&kek, "x", str_c(big), &sealed, &e), 0);
	free(sealed);
	big[16384] = 'a';
	assert_int_equal(jose_kek_seal_text(&kek, "x", (struct str){ big, 16385 }, &sealed, &e),
			 ERR_INVAL);
	assert_null(sealed);
	free(big);
	assert_int_equal(jose_kek_open_text(NULL, "x", &kek, &plain, &len, &e), ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_public_jwk),
		cmocka_unit_test(test_kek_parse),
		cmocka_unit_test(test_seal_roundtrip),
		cmocka_unit_test(test_unseal_wrong_kek_or_kid),
		cmocka_unit_test(test_unseal_tampered),
		cmocka_unit_test(test_unseal_oversized),
		cmocka_unit_test(test_unseal_bad_plaintext),
		cmocka_unit_test(test_text_seal),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
