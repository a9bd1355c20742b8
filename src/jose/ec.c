/*
 * EC P-256 private keys: the wallet verifier's ES256 request signer and the
 * one-transaction keys that wallet responses are encrypted to
 * (spec/eudi-wallet.md §2, §5).  OpenSSL does the arithmetic; this file
 * converts between its encodings and JOSE's (RFC 7518 3.4, 6.2).
 */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "jose/jose_int.h"

#define COORD 32

/* The signer is the first member, so local_sign finds the key from it. */
struct jose_eckey {
	struct jose_signer signer;
	EVP_PKEY *pkey;
	char kid[JOSE_KID_MAX + 1];
};

/* RFC 7518 3.4: the DER ECDSA signature OpenSSL makes, as r || s. */
static int
der_to_raw(const unsigned char *der, size_t len, unsigned char raw[2 * COORD])
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *ss;
	int rc = -1;

	if (s == NULL)
		return -1;
	ECDSA_SIG_get0(s, &r, &ss);
	if (BN_bn2binpad(r, raw, COORD) == COORD && BN_bn2binpad(ss, raw + COORD, COORD) == COORD)
		rc = 0;
	ECDSA_SIG_free(s);
	return rc;
}

static int
ec_sign(const struct jose_signer *s, const void *msg, size_t n, unsigned char **sig,
	size_t *len, struct err *e)
{
	const struct jose_eckey *k = (const struct jose_eckey *)s;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128], *raw = malloc(2 * COORD);
	size_t dlen = sizeof(der);
	int rc = 0;

	*sig = NULL;
	if (md == NULL || raw == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, der, &dlen, msg, n) != 1 || der_to_raw(der, dlen, raw) != 0) {
		ERR_clear_error();
		free(raw);
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "ES256 signing failed");
		goto out;
	}
	*sig = raw;
	*len = 2 * COORD;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static bool is_p256(EVP_PKEY *pk);

/* Take pkey if it is a P-256 key with its private half. */
static int
wrap(EVP_PKEY *pkey, const char *kid, struct jose_eckey **out, struct err *e)
{
	struct jose_eckey *k;

	*out = NULL;
	if (!is_p256(pkey)) {
		EVP_PKEY_free(pkey);
		return ERR(e, ERR_CRYPTO, 0, NULL, "not an EC P-256 private key");
	}
	if (kid != NULL && !jose_kid_ok(str_c(kid))) {
		EVP_PKEY_free(pkey);
		return ERR(e, ERR_INVAL, 0, NULL, "the kid is not a short printable string");
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	k->pkey = pkey;
	if (kid != NULL)
		memcpy(k->kid, kid, strlen(kid) + 1);
	k->signer = (struct jose_signer){ .kid = k->kid, .alg = "ES256", .sign = ec_sign };
	*out = k;
	return 0;
}

int
jose_eckey_from_pem(const char *pem, const char *kid, struct jose_eckey **out, struct err *e)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return wrap(pkey, kid, out, e);
}

int
jose_eckey_generate(const char *kid, struct jose_eckey **out, struct err *e)
{
	return wrap(EVP_EC_gen("P-256"), kid, out, e);
}

int
jose_eckey_pem(const struct jose_eckey *k, char **pem, struct err *e)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	*pem = NULL;
	if (bio == NULL || PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (n = BIO_get_mem_data(bio, &p)) <= 0 || (*pem = strndup(p, (size_t)n)) == NULL) {
		ERR_clear_error();
		BIO_free(bio);
		return ERR(e, ERR_CRYPTO, 0, NULL, "cannot serialise the EC key");
	}
	BIO_free(bio);
	return 0;
}

/* Whether pk is an EC key on P-256. */
static bool
is_p256(EVP_PKEY *pk)
{
	char group[32] = "";

	if (pk == NULL || !EVP_PKEY_is_a(pk, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   NULL) != 1) {
		ERR_clear_error();
		return false;
	}
	return strcmp(group, "prime256v1") == 0;
}

json_t *
jose_ec_public_jwk(EVP_PKEY *pk)
{
	unsigned char pt[1 + 2 * COORD];
	char x[COORD * 2], y[COORD * 2];
	size_t len = 0;

	if (!is_p256(pk) ||
	    EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len) != 1 ||
	    len != sizeof(pt) || pt[0] != 0x04) {
		ERR_clear_error();
		return NULL;
	}
	b64url_encode(pt + 1, COORD, x);
	b64url_encode(pt + 1 + COORD, COORD, y);
	return json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x, "y", y);
}

json_t *
jose_eckey_public_jwk(const struct jose_eckey *k)
{
	json_t *jwk = jose_ec_public_jwk(k->pkey);

	if (jwk != NULL && k->kid[0] != '\0')
		json_object_set_new(jwk, "kid", json_string(k->kid));
	return jwk;
}

const struct jose_signer *
jose_eckey_signer(const struct jose_eckey *k)
{
	return k != NULL ? &k->signer : NULL;
}

void
jose_eckey_free(struct jose_eckey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* The private key of k, for jwe.c's key agreement (borrowed). */
EVP_PKEY *
jose_eckey_pkey(const struct jose_eckey *k)
{
	return k->pkey;
}
