/*
 * Tests for jose/jwt.c: RS256 signing, verification against a JWKS, time
 * claims and client JWKS validation.  Most of the file is the hostile half:
 * tokens are forged here byte by byte (alg none, HMAC keyed with the RSA
 * public key, PS256, embedded jwk, crit, duplicate members, tampering) and
 * signed with raw OpenSSL calls so that only the property under test is
 * wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/b64.h"
#include "core/buf.h"
#include "jose/jose.h"

#define FAR_EXP 4102444800LL /* 2100-01-01 */

static struct jose_key *k1, *k2;
static EVP_PKEY *raw1;          /* signs the hand-built tokens, kid "raw-1" */
static json_t *jwk1, *jwk2, *jwkraw;
static json_t *set12;           /* {keys:[k1, k2]} */
static json_t *setraw;          /* {keys:[raw-1, k1]} */

/* ---- helpers ---- */

static char *
b64(const void *p, size_t n)
{
	char *out = malloc(b64url_len(n) + 1);

	assert_non_null(out);
	b64url_encode(p, n, out);
	return out;
}

static char *
b64s(const char *s)
{
	return b64(s, strlen(s));
}

static char *
bn_b64(EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char raw[1024];
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
	n = BN_bn2bin(bn, raw);
	BN_free(bn);
	return b64(raw, (size_t)n);
}

static json_t *
jwk_of(EVP_PKEY *pk, const char *kid)
{
	char *n = bn_b64(pk, OSSL_PKEY_PARAM_RSA_N), *e = bn_b64(pk, OSSL_PKEY_PARAM_RSA_E);
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid, "use", "sig",
			      "n", n, "e", e);

	assert_non_null(j);
	free(n);
	free(e);
	return j;
}

static char *
signing_input(const char *hdr, const char *payload, struct buf *b)
{
	char *h = b64s(hdr), *p = b64s(payload);

	buf_init(b, 1 << 20);
	assert_int_equal(buf_puts(b, h), 0);
	assert_int_equal(buf_puts(b, "."), 0);
	assert_int_equal(buf_puts(b, p), 0);
	free(h);
	free(p);
	return b->p;
}

static char *
finish(struct buf *b, const unsigned char *sig, size_t siglen)
{
	char *s = b64(sig, siglen);

	assert_int_equal(buf_puts(b, "."), 0);
	assert_int_equal(buf_puts(b, s), 0);
	free(s);
	return buf_take(b);
}

/* A compact JWS over exactly these header and payload bytes. */
static char *
sign_raw(EVP_PKEY *pk, const char *md, int pss, const char *hdr, const char *payload)
{
	struct buf b;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	char *in = signing_input(hdr, payload, &b);

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, pk, NULL), 1);
	if (pss)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)in, b.len), 1);
	EVP_MD_CTX_free(ctx);
	return finish(&b, sig, siglen);
}

static char *
sign_hmac(const void *secret, size_t len, const char *hdr, const char *payload)
{
	struct buf b;
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	char *in = signing_input(hdr, payload, &b);

	assert_non_null(HMAC(EVP_sha256(), secret, (int)len, (unsigned char *)in, b.len, mac,
			     &maclen));
	return finish(&b, mac, maclen);
}

/* Three literal parts, for shapes no signer would produce. */
static char *
parts(const char *hdr, const char *payload, const char *sig)
{
	struct buf b;
	char *h = b64s(hdr), *p = b64s(payload);

	buf_init(&b, 1 << 20);
	assert_int_equal(buf_printf(&b, "%s.%s.%s", h, p, sig), 0);
	free(h);
	free(p);
	return buf_take(&b);
}

static char *
raw_hdr(const char *alg, const char *kid)
{
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(buf_printf(&b, "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid), 0);
	return buf_take(&b);
}

/* jws with part i (0 header, 1 payload, 2 signature) replaced by text. */
static char *
splice(const char *jws, int i, const char *text)
{
	const char *d1 = strchr(jws, '.'), *d2 = strchr(d1 + 1, '.');
	struct buf b;

	buf_init(&b, 1 << 20);
	if (i == 0)
		buf_printf(&b, "%s%s", text, d1);
	else if (i == 1)
		buf_printf(&b, "%.*s%s%s", (int)(d1 - jws + 1), jws, text, d2);
	else
		buf_printf(&b, "%.*s%s", (int)(d2 - jws + 1), jws, text);
	return buf_take(&b);
}

#define CLAIMS_TEXT "{\"sub\":\"x\",\"exp\":4102444800}"

static int
verify(const char *jws, const json_t *set, unsigned algs, struct err *e)
{
	json_t *claims = (json_t *)0x1;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = jose_jwt_verify(str_c(jws), set, algs, &claims, e);
	if (rc == 0) {
		assert_non_null(claims);
		json_decref(claims);
	} else {
		assert_null(claims);
		assert_int_equal(e->code, rc);
		assert_true(e->msg[0] != '\0');
	}
	return rc;
}

static int
group_setup(void **state)
{
	struct err e = { 0 };

	(void)state;
	if (jose_key_generate(2048, &k1, &e) != 0 || jose_key_generate(3072, &k2, &e) != 0)
		return -1;
	raw1 = EVP_RSA_gen(2048);
	if (raw1 == NULL)
		return -1;
	jwk1 = jose_key_public_jwk(k1);
	jwk2 = jose_key_public_jwk(k2);
	jwkraw = jwk_of(raw1, "raw-1");
	set12 = json_pack("{s:[O,O]}", "keys", jwk1, jwk2);
	setraw = json_pack("{s:[O,O]}", "keys", jwkraw, jwk1);
	return set12 != NULL && setraw != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	json_decref(set12);
	json_decref(setraw);
	json_decref(jwk1);
	json_decref(jwk2);
	json_decref(jwkraw);
	EVP_PKEY_free(raw1);
	jose_key_free(k1);
	jose_key_free(k2);
	return 0;
}

/* ---- sign and verify ---- */

static void
test_roundtrip(void **state)
{
	struct err e = { 0 };
	json_t *claims = json_pack("{s:s,s:s,s:I,s:I,s:[s,s]}", "iss", "https://idporten.no",
				   "sub", "x", "iat", (json_int_t)1700000000, "exp",
				   (json_int_t)FAR_EXP, "aud", "a", "b");
	json_t *got = NULL, *hdr = NULL;
	char *jws = NULL;

	(void)state;
	assert_int_equal(jose_jwt_sign(jose_key_signer(k1), claims, NULL, &jws, &e), 0);
	assert_int_equal(jose_jws_header(str_c(jws), &hdr, &e), 0);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), jose_key_kid(k1));
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
	assert_int_equal(json_object_size(hdr), 3);
	json_decref(hdr);

	/* By kid in a set, and against the single JWK. */
	assert_int_equal(jose_jwt_verify(str_c(jws), set12, JOSE_ALG_RS256, &got, &e), 0);
	assert_true(json_equal(got, claims));
	json_decref(got);
	assert_int_equal(verify(jws, jwk1, JOSE_ALG_RS_ALL, &e), 0);
	/* A struct str that does not end at the token: only len counts. */
	{
		char *padded = malloc(strlen(jws) + 8);

		memcpy(padded, jws, strlen(jws));
		memcpy(padded + strlen(jws), ".XXXX", 6);
		assert_int_equal(jose_jwt_verify((struct str){ padded, strlen(jws) }, set12,
						 JOSE_ALG_RS256, &got, &e),
				 0);
		json_decref(got);
		free(padded);
	}
	free(jws);

	/* typ set by the caller; the 3072-bit key works the same. */
	assert_int_equal(jose_jwt_sign(jose_key_signer(k2), claims, "at+jwt", &jws, &e), 0);
	assert_int_equal(jose_jws_header(str_c(jws), &hdr, &e), 0);
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "at+jwt");
	json_decref(hdr);
	assert_int_equal(verify(jws, set12, JOSE_ALG_RS256, &e), 0);
	free(jws);

	/* Bad arguments to sign. */
	assert_int_equal(jose_jwt_sign(jose_key_signer(k1), claims, "bad typ\"", &jws, &e),
			 ERR_INVAL);
	assert_int_equal(jose_jwt_sign(jose_key_signer(k1), claims, "", &jws, &e), ERR_INVAL);
	assert_int_equal(jose_jwt_sign(NULL, claims, NULL, &jws, &e), ERR_INVAL);
	{
		json_t *arr = json_array();

		assert_int_equal(jose_jwt_sign(jose_key_signer(k1), arr, NULL, &jws, &e),
				 ERR_INVAL);
		json_decref(arr);
	}
	assert_null(jws);
	json_decref(claims);
}

static void
test_rs384_rs512_and_mask(void **state)
{
	struct err e;
	char *h384 = raw_hdr("RS384", "raw-1"), *h512 = raw_hdr("RS512", "raw-1");
	char *t384 = sign_raw(raw1, "SHA384", 0, h384, CLAIMS_TEXT);
	char *t512 = sign_raw(raw1, "SHA512", 0, h512, CLAIMS_TEXT);

	(void)state;
	assert_int_equal(verify(t384, setraw, JOSE_ALG_RS_ALL, &e), 0);
	assert_int_equal(verify(t512, setraw, JOSE_ALG_RS_ALL, &e), 0);
	assert_int_equal(verify(t384, setraw, JOSE_ALG_RS256, &e), ERR_DENIED);
	assert_int_equal(verify(t512, setraw, JOSE_ALG_RS256 | JOSE_ALG_RS384, &e), ERR_DENIED);
	assert_int_equal(verify(t384, setraw, 0, &e), ERR_DENIED);
	/* Header says RS384 but the signature was made with SHA-256. */
	{
		char *mixed = sign_raw(raw1, "SHA256", 0, h384, CLAIMS_TEXT);

		assert_int_equal(verify(mixed, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		free(mixed);
	}
	/* A JWK that names RS256 refuses an RS384 token (RFC 7517 4.4). */
	{
		json_t *pinned = json_deep_copy(jwkraw);

		json_object_set_new(pinned, "alg", json_string("RS256"));
		assert_int_equal(verify(t384, pinned, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		json_object_set_new(pinned, "alg", json_string("RS384"));
		assert_int_equal(verify(t384, pinned, JOSE_ALG_RS_ALL, &e), 0);
		json_object_set_new(pinned, "alg", json_integer(1));
		assert_int_equal(verify(t384, pinned, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		json_decref(pinned);
	}
	free(h384);
	free(h512);
	free(t384);
	free(t512);
}

static void
test_wrong_key(void **state)
{
	struct err e;
	json_t *claims = json_pack("{s:s,s:I}", "sub", "x", "exp", (json_int_t)FAR_EXP);
	json_t *only2 = json_pack("{s:[O]}", "keys", jwk2);
	json_t *swapped = json_deep_copy(jwk2);
	char *jws = NULL;

	(void)state;
	assert_int_equal(jose_jwt_sign(jose_key_signer(k1), claims, NULL, &jws, &e), 0);
	/* Unknown kid. */
	assert_int_equal(verify(jws, only2, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "kid"));
	assert_int_equal(verify(jws, jwk2, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	/* Right kid, wrong public key. */
	json_object_set_new(swapped, "kid", json_string(jose_key_kid(k1)));
	assert_int_equal(verify(jws, swapped, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "signature"));
	/*
	 * The thread keeps built keys: the right key, then the wrong one under
	 * the same kid, then the right one, each time judged by its own n.
	 */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(verify(jws, jwk1, JOSE_ALG_RS_ALL, &e), 0);
		assert_int_equal(verify(jws, swapped, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	}
	/* a modulus differing in its last byte only is another key */
	{
		json_t *near = json_deep_copy(jwk1);
		char *n = strdup(json_string_value(json_object_get(near, "n")));
		size_t len = strlen(n);

		n[len - 2] = n[len - 2] == 'A' ? 'B' : 'A';
		json_object_set_new(near, "n", json_string(n));
		assert_int_equal(verify(jws, near, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		assert_int_equal(verify(jws, jwk1, JOSE_ALG_RS_ALL, &e), 0);
		free(n);
		json_decref(near);
	}
	free(jws);
	json_decref(swapped);
	json_decref(only2);
	json_decref(claims);
}

static void
test_tampered(void **state)
{
	struct err e;
	json_t *claims = json_pack("{s:s,s:I}", "sub", "alice", "exp", (json_int_t)FAR_EXP);
	char *jws = NULL, *t, *part, *sig;
	struct buf b;

	(void)state;
	assert_int_equal(jose_jwt_sign(jose_key_signer(k1), claims, NULL, &jws, &e), 0);
	/* Payload swapped for another valid one; the message never quotes the token. */
	part = b64s("{\"sub\":\"mallory\",\"exp\":4102444800}");
	t = splice(jws, 1, part);
	assert_int_equal(verify(t, set12, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	assert_null(strstr(e.msg, part));
	free(t);
	free(part);
	/* Header swapped: same alg and kid, another typ. */
	buf_init(&b, 4096);
	buf_printf(&b, "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", jose_key_kid(k1));
	part = b64s(b.p);
	buf_free(&b);
	t = splice(jws, 0, part);
	assert_int_equal(verify(t, set12, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);
	free(part);
	/* One signature character changed; signature cut short. */
	sig = strdup(strrchr(jws, '.') + 1);
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	t = splice(jws, 2, sig);
	assert_int_equal(verify(t, set12, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);
	sig[300] = '\0';
	t = splice(jws, 2, sig);
	assert_int_equal(verify(t, set12, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);
	free(sig);
	/* The signature of another token by the same key. */
	{
		char *other = NULL;

		json_object_set_new(claims, "sub", json_string("bob"));
		assert_int_equal(jose_jwt_sign(jose_key_signer(k1), claims, NULL, &other, &e), 0);
		t = splice(jws, 2, strrchr(other, '.') + 1);
		assert_int_equal(verify(t, set12, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		free(t);
		free(other);
	}
	/* Untouched it still verifies. */
	assert_int_equal(verify(jws, set12, JOSE_ALG_RS_ALL, &e), 0);
	free(jws);
	json_decref(claims);
}

/* ---- forged algorithms ---- */

static void
test_alg_none(void **state)
{
	struct err e;
	static const char *const algs[] = { "none", "None", "NONE", "nOnE" };

	(void)state;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		char *hdr = raw_hdr(algs[i], jose_key_kid(k1));
		char *empty = parts(hdr, CLAIMS_TEXT, "");
		char *fake = parts(hdr, CLAIMS_TEXT, "AAAA");

		/* RFC 7519 6.1: an unsecured JWT has an empty signature. */
		assert_int_equal(verify(empty, set12, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
		assert_int_equal(verify(fake, set12, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		assert_int_equal(verify(fake, jwk1, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		free(hdr);
		free(empty);
		free(fake);
	}
	/* Without a kid, against a one-key set, with a trailing dot only. */
	{
		char *h = b64s("{\"alg\":\"none\"}"), *p = b64s(CLAIMS_TEXT);
		struct buf b;
		char *t;

		buf_init(&b, 4096);
		buf_printf(&b, "%s.%s.", h, p);
		t = buf_take(&b);
		assert_int_not_equal(verify(t, jwk1, JOSE_ALG_RS_ALL, &e), 0);
		free(t);
		free(h);
		free(p);
	}
}

static void
test_hmac_key_confusion(void **state)
{
	struct err e;
	char *hdr = raw_hdr("HS256", "raw-1");
	char *t;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL, *jwktext = json_dumps(jwkraw, JSON_COMPACT);
	long pemlen;
	unsigned char nraw[512];
	size_t nlen = 0;

	(void)state;
	/* The public key as PEM, the classic secret of this attack. */
	assert_int_equal(PEM_write_bio_PUBKEY(bio, raw1), 1);
	pemlen = BIO_get_mem_data(bio, &pem);
	t = sign_hmac(pem, (size_t)pemlen, hdr, CLAIMS_TEXT);
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	assert_int_equal(verify(t, jwkraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);
	/* The JWK text and the raw modulus as secrets. */
	t = sign_hmac(jwktext, strlen(jwktext), hdr, CLAIMS_TEXT);
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);
	assert_int_equal(b64url_decode(str_c(json_string_value(json_object_get(jwkraw, "n"))),
				       nraw, &nlen),
			 0);
	t = sign_hmac(nraw, nlen, hdr, CLAIMS_TEXT);
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);
	/* HS384/HS512 and short signatures (cjose would over-read on these). */
	free(hdr);
	hdr = raw_hdr("HS512", "raw-1");
	t = parts(hdr, CLAIMS_TEXT, "AA");
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);
	free(hdr);
	free(jwktext);
	BIO_free(bio);
}

static void
test_other_algs_refused(void **state)
{
	struct err e;
	static const char *const algs[] = { "PS256", "PS384", "PS512", "ES256", "ES384",
					    "ES512", "EdDSA", "RS1",   "rs256", "RS256 ",
					    "",      "A256KW" };

	(void)state;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		char *hdr = raw_hdr(algs[i], "raw-1");
		char *t = sign_raw(raw1, "SHA256", 0, hdr, CLAIMS_TEXT);

		assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		free(hdr);
		free(t);
	}
	/* A genuine PS256 signature by the registered key is still refused. */
	{
		char *hdr = raw_hdr("PS256", "raw-1");
		char *t = sign_raw(raw1, "SHA256", 1, hdr, CLAIMS_TEXT);

		assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		free(hdr);
		free(t);
	}
	/* alg missing or not a string. */
	{
		static const char *const hdrs[] = { "{\"kid\":\"raw-1\"}", "{\"alg\":null}",
						    "{\"alg\":256}", "{\"alg\":[\"RS256\"]}" };

		for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			char *t = sign_raw(raw1, "SHA256", 0, hdrs[i], CLAIMS_TEXT);

			assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
			free(t);
		}
	}
	/* An odd alg is not quoted back. */
	{
		char *hdr = raw_hdr("<script>", "raw-1");
		char *t = sign_raw(raw1, "SHA256", 0, hdr, CLAIMS_TEXT);

		assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		assert_null(strstr(e.msg, "<script>"));
		free(hdr);
		free(t);
	}
}

static void
test_embedded_jwk_ignored(void **state)
{
	struct err e;
	EVP_PKEY *evil = EVP_RSA_gen(2048);
	json_t *evjwk = jwk_of(evil, "raw-1");
	json_t *h = json_pack("{s:s,s:s,s:O}", "alg", "RS256", "kid", "raw-1", "jwk", evjwk);
	char *htext = json_dumps(h, JSON_COMPACT);
	char *t = sign_raw(evil, "SHA256", 0, htext, CLAIMS_TEXT);

	(void)state;
	/* RFC 8725 3.10 spirit: the key comes from our set, never the token. */
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);
	free(htext);
	json_decref(h);
	/* Same with jku / x5u pointing elsewhere. */
	htext = strdup("{\"alg\":\"RS256\",\"kid\":\"raw-1\",\"jku\":\"https://evil.example/j\"}");
	t = sign_raw(evil, "SHA256", 0, htext, CLAIMS_TEXT);
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);
	free(htext);
	json_decref(evjwk);
	EVP_PKEY_free(evil);
}

static void
test_crit(void **state)
{
	struct err e;
	static const char *const hdrs[] = {
		"{\"alg\":\"RS256\",\"kid\":\"raw-1\",\"crit\":[\"exp\"],\"exp\":1}",
		"{\"alg\":\"RS256\",\"kid\":\"raw-1\",\"crit\":[\"b64\"],\"b64\":false}",
		"{\"alg\":\"RS256\",\"kid\":\"raw-1\",\"crit\":[]}",
		"{\"alg\":\"RS256\",\"kid\":\"raw-1\",\"crit\":null}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		char *t = sign_raw(raw1, "SHA256", 0, hdrs[i], CLAIMS_TEXT);

		assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		assert_non_null(strstr(e.msg, "crit"));
		free(t);
	}
}

/* ---- key selection ---- */

static void
test_kid_rules(void **state)
{
	struct err e;
	char *t;

	(void)state;
	/* No kid and two keys: refused, even though one would verify. */
	t = sign_raw(raw1, "SHA256", 0, "{\"alg\":\"RS256\"}", CLAIMS_TEXT);
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "kid"));
	/* Also when only one of the keys could verify (jose.h: more than one key). */
	{
		json_t *enc = json_deep_copy(jwk1);
		json_t *two;

		json_object_set_new(enc, "use", json_string("enc"));
		two = json_pack("{s:[O,o]}", "keys", jwkraw, enc);
		assert_int_equal(verify(t, two, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
		json_decref(two);
	}
	/* No kid and a single key, as a JWK or a one-key set: fine. */
	assert_int_equal(verify(t, jwkraw, JOSE_ALG_RS_ALL, &e), 0);
	{
		json_t *one = json_pack("{s:[O]}", "keys", jwkraw);

		assert_int_equal(verify(t, one, JOSE_ALG_RS_ALL, &e), 0);
		json_decref(one);
	}
	free(t);

	/* Unknown kid. */
	t = sign_raw(raw1, "SHA256", 0, "{\"alg\":\"RS256\",\"kid\":\"raw-2\"}", CLAIMS_TEXT);
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	assert_int_equal(verify(t, jwkraw, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	free(t);

	/* kid of the wrong type or shape. */
	{
		static const char *const hdrs[] = {
			"{\"alg\":\"RS256\",\"kid\":7}",
			"{\"alg\":\"RS256\",\"kid\":[\"raw-1\"]}",
			"{\"alg\":\"RS256\",\"kid\":\"\"}",
			"{\"alg\":\"RS256\",\"kid\":\"raw\\n1\"}",
		};

		for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			t = sign_raw(raw1, "SHA256", 0, hdrs[i], CLAIMS_TEXT);
			assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
			free(t);
		}
	}
}

static void
test_key_filtering(void **state)
{
	struct err e;
	char *hdr = raw_hdr("RS256", "raw-1");
	char *t = sign_raw(raw1, "SHA256", 0, hdr, CLAIMS_TEXT);
	json_t *ec = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "kid",
			       "raw-1", "x", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", "y",
			       "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM");
	json_t *enc = json_deep_copy(jwkraw), *ops = json_deep_copy(jwkraw);
	json_t *set;

	(void)state;
	/* An EC key with the same kid is skipped; the RSA one is found. */
	set = json_pack("{s:[O,O,O]}", "keys", ec, jwkraw, jwk1);
	assert_int_equal(verify(t, set, JOSE_ALG_RS_ALL, &e), 0);
	json_decref(set);
	/* Only an EC key, or an encryption key, carries the kid: refused. */
	set = json_pack("{s:[O,O]}", "keys", ec, jwk1);
	assert_int_equal(verify(t, set, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	json_decref(set);
	json_object_set_new(enc, "use", json_string("enc"));
	set = json_pack("{s:[O,O]}", "keys", enc, jwk1);
	assert_int_equal(verify(t, set, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	json_decref(set);
	json_object_set_new(ops, "key_ops", json_pack("[s]", "encrypt"));
	assert_int_equal(verify(t, ops, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	json_object_set_new(ops, "key_ops", json_pack("[s,s]", "encrypt", "verify"));
	assert_int_equal(verify(t, ops, JOSE_ALG_RS_ALL, &e), 0);
	/* Two usable keys with one kid: ambiguous. */
	set = json_pack("{s:[O,O]}", "keys", jwkraw, jwkraw);
	assert_int_equal(verify(t, set, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	json_decref(set);
	/* Sets that are not sets. */
	{
		json_t *bad[] = { json_pack("{s:s}", "keys", "x"), json_pack("{s:[]}", "keys"),
				  json_pack("{s:s}", "foo", "bar"), json_pack("[O]", jwkraw),
				  json_pack("{s:[i,s]}", "keys", 1, "x") };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_not_equal(verify(t, bad[i], JOSE_ALG_RS_ALL, &e), 0);
			json_decref(bad[i]);
		}
		assert_int_equal(verify(t, NULL, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	}
	json_decref(ec);
	json_decref(enc);
	json_decref(ops);
	free(hdr);
	free(t);
}

static void
test_weak_keys_in_set(void **state)
{
	struct err e;
	EVP_PKEY *small = EVP_RSA_gen(1024);
	json_t *jsmall = jwk_of(small, "small");
	json_t *e1 = json_deep_copy(jwkraw), *padded = json_deep_copy(jwkraw);
	char *t = sign_raw(small, "SHA256", 0, "{\"alg\":\"RS256\",\"kid\":\"small\"}", CLAIMS_TEXT);
	char *t1, *forged;
	struct buf b;

	(void)state;
	assert_int_equal(verify(t, jsmall, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "2048"));

	/*
	 * e = 1: the "signature" is just the padded digest, which anyone can
	 * build.  Forge one and check that the key is refused before use.
	 */
	json_object_set_new(e1, "e", json_string("AQ"));
	{
		unsigned char em[256], dig[32];
		static const unsigned char prefix[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
							0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
							0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
							0x20 };
		char *in = signing_input("{\"alg\":\"RS256\",\"kid\":\"raw-1\"}", CLAIMS_TEXT, &b);
		size_t ps = sizeof(em) - 3 - sizeof(prefix) - sizeof(dig);

		EVP_Digest(in, b.len, dig, NULL, EVP_sha256(), NULL);
		em[0] = 0;
		em[1] = 1;
		memset(em + 2, 0xff, ps);
		em[2 + ps] = 0;
		memcpy(em + 3 + ps, prefix, sizeof(prefix));
		memcpy(em + 3 + ps + sizeof(prefix), dig, sizeof(dig));
		forged = finish(&b, em, sizeof(em));
	}
	assert_int_equal(verify(forged, e1, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "exponent"));
	json_object_set_new(e1, "e", json_string("AAE"));     /* 1 with a leading zero */
	assert_int_equal(verify(forged, e1, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	json_object_set_new(e1, "e", json_string("AQAA"));    /* even */
	assert_int_equal(verify(forged, e1, JOSE_ALG_RS_ALL, &e), ERR_DENIED);

	/* n or e that cjose's lenient decoder would accept but base64url does not. */
	t1 = sign_raw(raw1, "SHA256", 0, "{\"alg\":\"RS256\",\"kid\":\"raw-1\"}", CLAIMS_TEXT);
	json_object_set_new(padded, "e", json_string("AQAB="));
	assert_int_equal(verify(t1, padded, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	json_object_set_new(padded, "e", json_string("A="));
	assert_int_equal(verify(t1, padded, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	json_object_set_new(padded, "e", json_string("AQAB"));
	json_object_del(padded, "n");
	assert_int_equal(verify(t1, padded, JOSE_ALG_RS_ALL, &e), ERR_DENIED);
	json_object_set_new(padded, "n", json_integer(5));
	assert_int_equal(verify(t1, padded, JOSE_ALG_RS_ALL, &e), ERR_DENIED);

	free(t);
	free(t1);
	free(forged);
	json_decref(jsmall);
	json_decref(e1);
	json_decref(padded);
	EVP_PKEY_free(small);
}

/* ---- malformed tokens ---- */

static void
test_shape(void **state)
{
	struct err e;
	char *good = sign_raw(raw1, "SHA256", 0, "{\"alg\":\"RS256\",\"kid\":\"raw-1\"}",
			      CLAIMS_TEXT);
	char *t;
	struct buf b;
	json_t *hdr = NULL;

	(void)state;
	assert_int_equal(verify(good, setraw, JOSE_ALG_RS_ALL, &e), 0);
	/* Two, four and five parts (the last is a JWE's shape). */
	{
		char *two = strdup(good);

		*strrchr(two, '.') = '\0';
		assert_int_equal(verify(two, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
		assert_int_equal(jose_jws_header(str_c(two), &hdr, &e), ERR_INVAL);
		assert_null(hdr);
		free(two);
	}
	buf_init(&b, 1 << 16);
	buf_printf(&b, "%s.AAAA", good);
	t = buf_take(&b);
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	free(t);
	assert_int_equal(verify("eyJhbGciOiJSU0EtT0FFUCJ9.AAAA.AAAA.AAAA.AAAA", setraw,
				JOSE_ALG_RS_ALL, &e),
			 ERR_INVAL);
	assert_int_equal(verify("", setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	assert_int_equal(verify("..", setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	assert_int_equal(verify("abc", setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	{
		json_t *c = NULL;

		assert_int_equal(jose_jwt_verify(STR_NULL, setraw, JOSE_ALG_RS_ALL, &c, &e),
				 ERR_INVAL);
		assert_null(c);
	}
	/* Empty payload. */
	t = splice(good, 1, "");
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	free(t);
	/* A NUL byte inside the counted length. */
	{
		size_t len = strlen(good);
		char *nul = strdup(good);
		json_t *c = NULL;

		nul[len - 5] = '\0';
		assert_int_equal(jose_jwt_verify((struct str){ nul, len }, setraw, JOSE_ALG_RS_ALL,
						 &c, &e),
				 ERR_INVAL);
		free(nul);
	}
	free(good);
}

static void
test_bad_base64(void **state)
{
	struct err e;
	char *good = sign_raw(raw1, "SHA256", 0, "{\"alg\":\"RS256\",\"kid\":\"raw-1\"}",
			      CLAIMS_TEXT);
	char *dot1 = strchr(good, '.'), *dot2 = strchr(dot1 + 1, '.');
	size_t offs[] = { 3, (size_t)(dot1 - good) + 5, (size_t)(dot2 - good) + 5 };
	static const char bad[] = { '+', '/', '=', ' ', '%', '\n', '\x80' };

	(void)state;
	/* Each part, each character outside the alphabet. */
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (size_t j = 0; j < sizeof(bad); j++) {
			char *t = strdup(good);

			t[offs[i]] = bad[j];
			assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
			free(t);
		}
	/* Padding appended to the signature; an impossible header length. */
	{
		struct buf b;
		char *t;

		buf_init(&b, 1 << 16);
		buf_printf(&b, "%s==", good);
		t = buf_take(&b);
		assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
		free(t);
		buf_init(&b, 1 << 16);
		buf_printf(&b, "eyJhb%s", dot1);
		t = buf_take(&b);
		assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
		free(t);
	}
	/* Header of the right alphabet but not JSON, or JSON but not an object. */
	{
		static const char *const hdrs[] = { "not json", "[\"RS256\"]", "\"RS256\"", "null",
						    "{\"alg\":\"RS256\",}", "{\"alg\":\"RS256\"} x" };

		for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			char *t = sign_raw(raw1, "SHA256", 0, hdrs[i], CLAIMS_TEXT);
			json_t *h = NULL;

			assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
			assert_int_equal(jose_jws_header(str_c(t), &h, &e), ERR_INVAL);
			assert_null(h);
			free(t);
		}
	}
	free(good);
}

static void
test_payload_not_object(void **state)
{
	struct err e;
	static const char *const payloads[] = { "[1,2]", "\"sub\"", "123", "null", "true",
						"not json", "{\"sub\":\"a\",\"sub\":\"b\"}",
						"{\"sub\":\"a\"} trailing", "{\"s\":\"\\u0000\"}" };

	(void)state;
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		char *t = sign_raw(raw1, "SHA256", 0, "{\"alg\":\"RS256\",\"kid\":\"raw-1\"}",
				   payloads[i]);

		assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
		free(t);
	}
}

static void
test_duplicate_header_members(void **state)
{
	struct err e;
	/* Two parsers that disagree on which alg wins must never meet. */
	char *t = sign_raw(raw1, "SHA256", 0,
			   "{\"alg\":\"none\",\"kid\":\"raw-1\",\"alg\":\"RS256\"}", CLAIMS_TEXT);
	json_t *h = NULL;

	(void)state;
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	assert_int_equal(jose_jws_header(str_c(t), &h, &e), ERR_INVAL);
	free(t);
	t = sign_raw(raw1, "SHA256", 0, "{\"alg\":\"RS256\",\"kid\":\"raw-1\",\"kid\":\"k\"}",
		     CLAIMS_TEXT);
	assert_int_equal(verify(t, setraw, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	free(t);
}

static void
test_oversized(void **state)
{
	struct err e;
	char *big = malloc(20000), *jws = NULL, *t;
	json_t *claims;
	struct buf b;

	(void)state;
	memset(big, 'x', 19999);
	big[19999] = '\0';
	claims = json_pack("{s:s,s:I}", "blob", big, "exp", (json_int_t)FAR_EXP);
	/* Validly signed, but over the limit. */
	assert_int_equal(jose_jwt_sign(jose_key_signer(k1), claims, NULL, &jws, &e), 0);
	assert_true(strlen(jws) > 16384);
	assert_int_equal(verify(jws, set12, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	assert_int_equal(jose_jws_header(str_c(jws), &(json_t *){ NULL }, &e), ERR_INVAL);
	free(jws);
	json_decref(claims);
	/* A megabyte of dots and letters. */
	buf_init(&b, 2 << 20);
	for (int i = 0; i < 1 << 18; i++)
		buf_puts(&b, "AAA.");
	t = buf_take(&b);
	assert_int_equal(verify(t, set12, JOSE_ALG_RS_ALL, &e), ERR_INVAL);
	free(t);
	free(big);
}

static void
test_jws_header(void **state)
{
	struct err e = { 0 };
	json_t *h = NULL;
	/* Header parsing alone does not judge the alg: callers look at x5c first. */
	char *t = parts("{\"alg\":\"none\",\"x5c\":[\"MIIB\"]}", CLAIMS_TEXT, "AAAA");

	(void)state;
	assert_int_equal(jose_jws_header(str_c(t), &h, &e), 0);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "none");
	assert_true(json_is_array(json_object_get(h, "x5c")));
	json_decref(h);
	free(t);
	h = (json_t *)0x1;
	assert_int_equal(jose_jws_header(STR_LIT("garbage"), &h, &e), ERR_INVAL);
	assert_null(h);
}

/* jose_jwt_verify_hdr on text. */
static int
verify_hdr(const char *jws, const json_t *hdr, const json_t *set, unsigned algs, json_t **claims)
{
	struct err e = { 0 };

	return jose_jwt_verify_hdr(str_c(jws), hdr, set, algs, claims, &e);
}

/*
 * With the header the caller decoded (a client assertion's, read to find
 * its client): the claims decoded or not, and refused when tampered, by
 * another key, under an alg not allowed, with a payload that is no
 * object, and with no header or key set at all.
 */
static void
test_verify_hdr(void **state)
{
	struct err e = { 0 };
	json_t *claims = json_pack("{s:s,s:I}", "sub", "alice", "exp", (json_int_t)FAR_EXP);
	json_t *h = NULL, *h2 = NULL;
	char *jws = NULL, *t, *part;

	(void)state;
	assert_int_equal(jose_jwt_sign(jose_key_signer(k1), claims, NULL, &jws, &e), 0);
	assert_int_equal(jose_jws_header(str_c(jws), &h, &e), 0);
	assert_int_equal(verify_hdr(jws, h, set12, JOSE_ALG_RS_ALL, NULL), 0);
	assert_int_equal(verify_hdr(jws, h, jwk1, JOSE_ALG_RS256, NULL), 0);
	{
		json_t *got = NULL;

		assert_int_equal(verify_hdr(jws, h, set12, JOSE_ALG_RS_ALL, &got),
				 0);
		assert_true(json_equal(got, claims));
		json_decref(got);
		got = (json_t *)0x1;
		assert_int_equal(verify_hdr(jws, h, jwk2, JOSE_ALG_RS_ALL, &got),
				 ERR_DENIED);
		assert_null(got);
	}
	/* another key, an alg not allowed here, no key set, no header */
	assert_int_equal(verify_hdr(jws, h, jwk2, JOSE_ALG_RS_ALL, NULL),
			 ERR_DENIED);
	assert_int_equal(verify_hdr(jws, h, set12, JOSE_ALG_RS384, NULL),
			 ERR_DENIED);
	assert_int_equal(verify_hdr(jws, h, NULL, JOSE_ALG_RS_ALL, NULL), ERR_INVAL);
	assert_int_equal(verify_hdr(jws, NULL, set12, JOSE_ALG_RS_ALL, NULL),
			 ERR_INVAL);
	/* a payload swapped after the header was read: the signature no longer holds */
	part = b64s("{\"sub\":\"mallory\",\"exp\":4102444800}");
	t = splice(jws, 1, part);
	assert_int_equal(verify_hdr(t, h, set12, JOSE_ALG_RS_ALL, NULL), ERR_DENIED);
	free(t);
	free(part);
	/* not a compact JWS */
	assert_int_equal(verify_hdr("a.b", h, set12, JOSE_ALG_RS_ALL, NULL),
			 ERR_INVAL);
	/* signed, but the payload is no JSON object: refused when it is decoded */
	{
		json_t *hr = NULL, *got = NULL;

		t = sign_raw(raw1, "SHA256", 0, "{\"alg\":\"RS256\",\"kid\":\"raw-1\"}", "[1,2]");
		assert_int_equal(jose_jws_header(str_c(t), &hr, &e), 0);
		assert_int_equal(verify_hdr(t, hr, setraw, JOSE_ALG_RS_ALL, NULL), 0);
		assert_int_equal(verify_hdr(t, hr, setraw, JOSE_ALG_RS_ALL, &got),
				 ERR_INVAL);
		assert_null(got);
		json_decref(hr);
		free(t);
	}
	/* alg none in the header read: refused before any key is looked at */
	t = parts("{\"alg\":\"none\"}", CLAIMS_TEXT, "AAAA");
	assert_int_equal(jose_jws_header(str_c(t), &h2, &e), 0);
	assert_int_equal(verify_hdr(t, h2, set12, JOSE_ALG_RS_ALL, NULL),
			 ERR_DENIED);
	free(t);
	json_decref(h2);
	json_decref(h);
	free(jws);
	json_decref(claims);
}

/* ---- times ---- */

static void
test_times(void **state)
{
	/* now = 1700000000; exp/iat/nbf written relative to it in the comments. */
	static const struct {
		const char *claims;
		int64_t leeway, max_life;
		int require_iat, want;
	} cases[] = {
		{ "{\"exp\":1700000060,\"iat\":1700000000}", 30, 120, 1, 0 },
		/* Expired, at and around the leeway boundary. */
		{ "{\"exp\":1699999900}", 30, 0, 0, ERR_DENIED },	/* now - 100 */
		{ "{\"exp\":1699999970}", 30, 0, 0, ERR_DENIED },	/* now - 30 */
		{ "{\"exp\":1699999971}", 30, 0, 0, 0 },		/* now - 29 */
		{ "{\"exp\":1700000000}", 0, 0, 0, ERR_DENIED },	/* now */
		/* exp missing or not an integer NumericDate. */
		{ "{\"iat\":1700000000}", 30, 0, 0, ERR_INVAL },
		{ "{\"exp\":\"4102444800\"}", 30, 0, 0, ERR_INVAL },
		{ "{\"exp\":4102444800.5}", 30, 0, 0, ERR_INVAL },
		{ "{\"exp\":4102444800.0}", 30, 0, 0, ERR_INVAL },
		{ "{\"exp\":-1}", 30, 0, 0, ERR_INVAL },
		{ "{\"exp\":true}", 30, 0, 0, ERR_INVAL },
		{ "{\"exp\":null}", 30, 0, 0, ERR_INVAL },
		/* iat in the future, beyond and within the leeway. */
		{ "{\"exp\":1700000600,\"iat\":1700000100}", 30, 0, 0, ERR_DENIED },
		{ "{\"exp\":1700000600,\"iat\":1700000030}", 30, 0, 0, 0 },
		{ "{\"exp\":1700000600,\"iat\":\"now\"}", 30, 0, 0, ERR_INVAL },
		/* iat required, or not. */
		{ "{\"exp\":1700000060}", 30, 0, 1, ERR_INVAL },
		{ "{\"exp\":1700000060}", 30, 0, 0, 0 },
		/* nbf. */
		{ "{\"exp\":1700000600,\"nbf\":1700000100}", 30, 0, 0, ERR_DENIED },
		{ "{\"exp\":1700000600,\"nbf\":1699999900}", 30, 0, 0, 0 },
		{ "{\"exp\":1700000600,\"nbf\":1.0}", 30, 0, 0, ERR_INVAL },
		/* Lifetime: idporten-oidc.md 5, client assertions live at most 120 s. */
		{ "{\"exp\":1700000121,\"iat\":1700000000}", 30, 120, 0, ERR_DENIED },
		{ "{\"exp\":1700000120,\"iat\":1700000000}", 30, 120, 0, 0 },
		{ "{\"exp\":1700000060}", 30, 120, 0, ERR_INVAL },
		{ "{\"exp\":1700000060,\"iat\":1700000061}", 100, 120, 0, ERR_INVAL },
		/* Extremes do not overflow into acceptance. */
		{ "{\"exp\":9223372036854775807,\"iat\":1700000000}", 30, 120, 0, ERR_DENIED },
		{ "{\"exp\":9223372036854775807,\"iat\":0}", INT64_MAX, 120, 0, ERR_DENIED },
		{ "{\"exp\":1699999990}", INT64_MAX, 0, 0, 0 },
		{ "{\"exp\":1699999990}", -50, 0, 0, ERR_DENIED },
		{ "[]", 30, 0, 0, ERR_INVAL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e = { 0 };
		json_t *c = json_loads(cases[i].claims, JSON_DECODE_ANY, NULL);
		int rc;

		assert_non_null(c);
		rc = jose_jwt_check_times(c, 1700000000, cases[i].leeway, cases[i].max_life,
					  cases[i].require_iat, &e);
		if (rc != cases[i].want)
			fail_msg("case %zu (%s): got %d, want %d", i, cases[i].claims, rc,
				 cases[i].want);
		if (rc != 0)
			assert_true(e.msg[0] != '\0');
		json_decref(c);
	}
	assert_int_equal(jose_jwt_check_times(NULL, 1700000000, 30, 0, 0, NULL), ERR_INVAL);
}

/* ---- client JWKS ---- */

static json_t *
client_key(const json_t *pub, const char *kid)
{
	json_t *k = json_deep_copy(pub);

	json_object_set_new(k, "kid", json_string(kid));
	return k;
}

static int
validate(json_t *set, size_t max)
{
	struct err e = { 0 };
	int rc = jose_jwks_validate(set, max, &e);

	if (rc != 0)
		assert_true(e.msg[0] != '\0');
	json_decref(set);
	return rc;
}

static void
test_jwks_validate(void **state)
{
	/* One member of a good key changed (value NULL: removed). */
	static const struct {
		const char *member, *value;
		int want;
	} muts[] = {
		{ "kty", "\"EC\"", ERR_INVAL },   { "kty", "\"oct\"", ERR_INVAL },
		{ "kty", NULL, ERR_INVAL },       { "kid", NULL, ERR_INVAL },
		{ "kid", "\"\"", ERR_INVAL },     { "kid", "\"has space\"", ERR_INVAL },
		{ "kid", "\"slash/\"", ERR_INVAL }, { "kid", "\"\\u00f8\"", ERR_INVAL },
		{ "kid", "\"a\\\"b\"", ERR_INVAL }, { "kid", "7", ERR_INVAL },
		{ "kid", "\"b.2_x-Y\"", 0 },
		{ "use", NULL, ERR_INVAL },       { "use", "\"enc\"", ERR_INVAL },
		{ "alg", NULL, ERR_INVAL },       { "alg", "\"HS256\"", ERR_INVAL },
		{ "alg", "\"PS256\"", ERR_INVAL }, { "alg", "\"none\"", ERR_INVAL },
		{ "alg", "\"RS512\"", 0 },
		/* Private material: register the public key only. */
		{ "d", "\"AQAB\"", ERR_INVAL },   { "p", "\"AQAB\"", ERR_INVAL },
		/* Weak or malformed numbers; e = 3 is allowed. */
		{ "e", "\"AQ\"", ERR_INVAL },     { "e", "\"AAE\"", ERR_INVAL },
		{ "e", "\"AQAA\"", ERR_INVAL },   { "e", "\"Aw==\"", ERR_INVAL },
		{ "e", "\"\"", ERR_INVAL },       { "e", "\"AQAB!\"", ERR_INVAL },
		{ "e", "\"Aw\"", 0 },             { "n", "7", ERR_INVAL },
		{ "n", NULL, ERR_INVAL },         { "n", "\"AQAB\"", ERR_INVAL },
		/* x5c: an array of strings, never a plain string (maskinporten.md MP-123). */
		{ "x5c", "\"MIIB\"", ERR_INVAL }, { "x5c", "[]", ERR_INVAL },
		{ "x5c", "[1]", ERR_INVAL },      { "x5c", "[\"MIIB\"]", 0 },
	};
	json_t *a = client_key(jwk1, "a"), *b = client_key(jwk2, "b");
	json_t *k;

	(void)state;
	assert_int_equal(validate(json_pack("{s:[O,O]}", "keys", a, b), 5), 0);
	assert_int_equal(validate(json_pack("{s:[O]}", "keys", a), 1), 0);
	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		int rc;

		k = json_deep_copy(a);
		if (muts[i].value == NULL)
			json_object_del(k, muts[i].member);
		else
			json_object_set_new(k, muts[i].member,
					    json_loads(muts[i].value, JSON_DECODE_ANY, NULL));
		rc = validate(json_pack("{s:[o]}", "keys", k), 5);
		if (rc != muts[i].want)
			fail_msg("%s = %s: got %d, want %d", muts[i].member,
				 muts[i].value ? muts[i].value : "(removed)", rc, muts[i].want);
	}
	/* Too many keys. */
	assert_int_equal(validate(json_pack("{s:[O,O]}", "keys", a, b), 1), ERR_LIMIT);
	k = json_pack("{s:[]}", "keys");
	for (int i = 0; i < 6; i++) {
		char kid[8];

		snprintf(kid, sizeof(kid), "k%d", i);
		json_array_append_new(json_object_get(k, "keys"), client_key(jwk1, kid));
	}
	assert_int_equal(validate(k, 5), ERR_LIMIT);
	/* Duplicate kid, even on different keys. */
	k = client_key(jwk2, "a");
	assert_int_equal(validate(json_pack("{s:[O,O]}", "keys", a, k), 5), ERR_INVAL);
	json_decref(k);
	/* Not a set. */
	assert_int_equal(validate(json_pack("{s:[]}", "keys"), 5), ERR_INVAL);
	assert_int_equal(validate(json_pack("{s:O}", "keys", a), 5), ERR_INVAL);
	assert_int_equal(validate(json_pack("[O]", a), 5), ERR_INVAL);
	assert_int_equal(validate(json_pack("{s:[i]}", "keys", 1), 5), ERR_INVAL);
	assert_int_equal(jose_jwks_validate(NULL, 5, NULL), ERR_INVAL);
	/* A real 1024-bit key. */
	{
		EVP_PKEY *small = EVP_RSA_gen(1024);
		json_t *js = jwk_of(small, "small");

		json_object_set_new(js, "alg", json_string("RS256"));
		assert_int_equal(validate(json_pack("{s:[o]}", "keys", js), 5), ERR_INVAL);
		EVP_PKEY_free(small);
	}
	json_decref(a);
	json_decref(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_verify_hdr),
		cmocka_unit_test(test_rs384_rs512_and_mask),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_hmac_key_confusion),
		cmocka_unit_test(test_other_algs_refused),
		cmocka_unit_test(test_embedded_jwk_ignored),
		cmocka_unit_test(test_crit),
		cmocka_unit_test(test_kid_rules),
		cmocka_unit_test(test_key_filtering),
		cmocka_unit_test(test_weak_keys_in_set),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_payload_not_object),
		cmocka_unit_test(test_duplicate_header_members),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_jws_header),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_jwks_validate),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
