/*
 * Signing keys: generation, the public JWK, and sealing the private key at
 * rest under the KEK (AES-256-GCM, NIST SP 800-38D).
 *
 * The private key lives twice in memory: as an EVP_PKEY (the source of
 * truth, serialised as PKCS#8 when sealed, and what jose/signer.c signs
 * with) and as a cjose JWK, from which the public JWK is made.
 * Private material never passes through cjose's JSON or base64 code, which
 * frees its buffers without wiping them.
 */
#include "jose/jose.h"

#include <cjose/jwk.h>
#include <cjose/util.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "jose/jose_int.h"

#define KID_RAND_BYTES 16         /* 128 random bits: kids never collide */
#define SEAL_PREFIX "v1."
#define SEAL_PREFIX_LEN (sizeof(SEAL_PREFIX) - 1)
#define SEAL_IV_LEN AEAD_IV_LEN   /* SP 800-38D 8.2.2: 96-bit random IV */
#define SEAL_TAG_LEN AEAD_TAG_LEN
#define SEAL_MAX_TEXT 32768       /* PKCS#8 of an 8192-bit key is about 4.8 KB */
#define SEAL_MAX_PLAIN AEAD_MAX_PLAIN
#define KEK_CHARS 43              /* base64url of 32 bytes */

bool
jose_kid_ok(struct str kid)
{
	if (kid.p == NULL || kid.len == 0 || kid.len > JOSE_KID_MAX)
		return false;
	for (size_t i = 0; i < kid.len; i++) {
		unsigned char c = (unsigned char)kid.p[i];

		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

void
jose_key_free(struct jose_key *k)
{
	if (k == NULL)
		return;
	jose_sign_tmpl_free(k->tmpl);
	EVP_PKEY_free(k->pkey);
	cjose_jwk_release(k->jwk);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

const char *
jose_key_kid(const struct jose_key *k)
{
	return k != NULL ? k->kid : NULL;
}

/*
 * Give k->jwk the same private key as k->pkey.  cjose builds its keys from
 * raw big-endian numbers (RFC 7518 6.3.2), so export them through the
 * provider parameters and wipe every copy afterwards.
 */
static int
key_attach_jwk(struct jose_key *k, struct err *e)
{
	static const char *const names[] = {
		OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	enum { N_PARAMS = sizeof(names) / sizeof(names[0]) };
	BIGNUM *bn[N_PARAMS] = { 0 };
	unsigned char *bin[N_PARAMS] = { 0 };
	size_t len[N_PARAMS] = { 0 };
	cjose_jwk_rsa_keyspec spec;
	cjose_err cerr;
	int rc = 0;

	for (size_t i = 0; i < N_PARAMS; i++) {
		int n;

		if (EVP_PKEY_get_bn_param(k->pkey, names[i], &bn[i]) != 1) {
			rc = ERR(e, ERR_CRYPTO, 0, NULL, "RSA key lacks %s", names[i]);
			goto out;
		}
		n = BN_num_bytes(bn[i]);
		if (n <= 0) {
			rc = ERR(e, ERR_CRYPTO, 0, NULL, "RSA key has an empty %s", names[i]);
			goto out;
		}
		len[i] = (size_t)n;
		bin[i] = malloc(len[i]);
		if (bin[i] == NULL) {
			rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
			goto out;
		}
		BN_bn2bin(bn[i], bin[i]);
	}
	memset(&spec, 0, sizeof(spec));
	spec.n = bin[0], spec.nlen = len[0];
	spec.e = bin[1], spec.elen = len[1];
	spec.d = bin[2], spec.dlen = len[2];
	spec.p = bin[3], spec.plen = len[3];
	spec.q = bin[4], spec.qlen = len[4];
	spec.dp = bin[5], spec.dplen = len[5];
	spec.dq = bin[6], spec.dqlen = len[6];
	spec.qi = bin[7], spec.qilen = len[7];
	k->jwk = cjose_jwk_create_RSA_spec(&spec, &cerr);
	if (k->jwk == NULL) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "cannot load the RSA key into cjose: %s",
			 cerr.message);
		goto out;
	}
	if (!cjose_jwk_set_kid(k->jwk, k->kid, strlen(k->kid), &cerr)) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "cannot set kid: %s", cerr.message);
		goto out;
	}
out:
	for (size_t i = 0; i < N_PARAMS; i++) {
		if (bin[i] != NULL)
			OPENSSL_cleanse(bin[i], len[i]);
		free(bin[i]);
		BN_clear_free(bn[i]);
	}
	return rc;
}

/* Only RSA keys within our size bounds are ever signing keys. */
static int
key_check_rsa(EVP_PKEY *pkey, struct err *e)
{
	int bits;

	if (!EVP_PKEY_is_a(pkey, "RSA"))
		return ERR(e, ERR_INVAL, 0, NULL, "signing key is not an RSA key");
	bits = EVP_PKEY_get_bits(pkey);
	if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS)
		return ERR(e, ERR_INVAL, 0, NULL, "RSA key of %d bits is outside %d..%d", bits,
			   JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
	return 0;
}

/* A key with its pkey and kid set made usable: RSA within bounds, its JWK, its signer. */
static int
key_ready(struct jose_key *k, struct err *e)
{
	int rc = key_check_rsa(k->pkey, e);

	if (rc == 0)
		rc = key_attach_jwk(k, e);
	if (rc == 0)
		rc = jose_key_signer_init(k, e);
	return rc;
}

int
jose_key_generate(int bits, struct jose_key **out, struct err *e)
{
	struct jose_key *k = NULL;
	unsigned char raw[KID_RAND_BYTES];
	int rc;

	*out = NULL;
	if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "RSA key size must be %d..%d bits, not %d",
			 JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS, bits);
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	/* Public exponent 65537 (EVP default), two primes. */
	k->pkey = EVP_RSA_gen((unsigned int)bits);
	if (k->pkey == NULL) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "RSA key generation failed");
		goto out;
	}
	if (rand_bytes(raw, sizeof(raw)) != 0) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "random generator failed");
		goto out;
	}
	b64url_encode(raw, sizeof(raw), k->kid);
	rc = key_ready(k, e);
	if (rc != 0)
		goto out;
	*out = k;
	k = NULL;
out:
	jose_key_free(k);
	return rc;
}

json_t *
jose_key_public_jwk(const struct jose_key *k)
{
	cjose_err cerr;
	char *text = NULL;
	json_t *jwk = NULL;

	if (k == NULL)
		return NULL;
	/* priv = false: kty, kid, e, n only. */
	text = cjose_jwk_to_json(k->jwk, false, &cerr);
	if (text == NULL)
		goto out;
	jwk = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (jwk == NULL)
		goto out;
	/* RFC 7517 4.2 and 4.4: pin the key to signing with RS256. */
	if (json_object_set_new(jwk, "use", json_string("sig")) != 0 ||
	    json_object_set_new(jwk, "alg", json_string("RS256")) != 0) {
		json_decref(jwk);
		jwk = NULL;
	}
out:
	if (text != NULL)
		cjose_get_dealloc()(text);
	return jwk;
}

int
jose_kek_parse(struct str text, struct jose_kek *out, struct err *e)
{
	unsigned char raw[KEK_CHARS * 3 / 4 + 1];
	size_t n = 0;
	int rc = 0;

	/* Never echo the text: it is the secret. */
	if (text.p == NULL || text.len != KEK_CHARS ||
	    b64url_decode(text, raw, &n) != 0 || n != sizeof(out->k)) {
		rc = ERR(e, ERR_INVAL, 0, NULL,
			 "KEK must be base64url (no padding) of exactly 32 bytes, %d characters",
			 KEK_CHARS);
		goto out;
	}
	memcpy(out->k, raw, sizeof(out->k));
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

/*
 * Sealed text under the KEK, of sealed keys ("v1.", bound to their kid) and
 * of secret text ("t1.", bound to a label such as a record's id): prefix,
 * base64url(96-bit IV), ".", base64url(ciphertext and tag).  The additional
 * data is the prefix and the label, so a sealed value copied to another
 * row, or read as the other format, does not open.
 */
#define TEXT_PREFIX "t1."

static int
seal_aad(const char *prefix, const char *label, char *aad, size_t cap, struct str *out)
{
	int n = snprintf(aad, cap, "%s%s", prefix, label);

	if (n < 0 || (size_t)n >= cap)
		return ERR_INVAL;
	*out = (struct str){ aad, (size_t)n };
	return 0;
}

/* Seal plain (1 to SEAL_MAX_PLAIN bytes) as prefix iv "." ct; *sealed malloc'd. */
static int
seal_blob(const struct jose_kek *kek, const char *prefix, struct str aad,
	  const unsigned char *plain, size_t len, char **sealed, struct err *e)
{
	unsigned char iv[SEAL_IV_LEN], *ct = NULL;
	size_t pl = strlen(prefix), ivc = b64url_len(sizeof(iv)), ctc, o;
	char *text = NULL;
	int rc;

	if (rand_bytes(iv, sizeof(iv)) != 0)
		return ERR(e, ERR_CRYPTO, 0, NULL, "random generator failed");
	ct = malloc(len + SEAL_TAG_LEN);
	ctc = b64url_len(len + SEAL_TAG_LEN);
	text = malloc(pl + ivc + 1 + ctc + 1);
	if (ct == NULL || text == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	if (aead_seal(kek->k, iv, aad, plain, len, ct) != 0) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "AES-256-GCM sealing failed");
		goto out;
	}
	memcpy(text, prefix, pl);
	o = pl;
	b64url_encode(iv, sizeof(iv), text + o);
	o += ivc;
	text[o++] = '.';
	b64url_encode(ct, len + SEAL_TAG_LEN, text + o);
	*sealed = text;
	text = NULL;
	rc = 0;
out:
	free(ct);
	free(text);
	return rc;
}

/*
 * Inverse of seal_blob: *plain malloc'd, NUL-terminated after its *len
 * bytes; the caller wipes it.  what names the sealed thing in errors.
 * ERR_INVAL for a malformed text, ERR_CRYPTO when it does not open.
 */
static int
open_blob(const char *sealed, const char *prefix, struct str aad, const struct jose_kek *kek,
	  const char *what, unsigned char **plain, size_t *len, struct err *e)
{
	unsigned char iv[SEAL_IV_LEN + 1], *ct = NULL, *out = NULL;
	struct str s = { sealed, strnlen(sealed, SEAL_MAX_TEXT + 1) }, ivs, cts;
	size_t ivlen = 0, ctlen = 0, outlen = 0;
	int rc;

	if (s.len > SEAL_MAX_TEXT)
		return ERR(e, ERR_INVAL, 0, NULL, "sealed %s longer than %d bytes", what,
			   SEAL_MAX_TEXT);
	if (!str_has_prefix(s, prefix))
		return ERR(e, ERR_INVAL, 0, NULL, "sealed %s is not in the %.2s format", what,
			   prefix);
	s.p += strlen(prefix);
	s.len -= strlen(prefix);
	if (!str_split(s, '.', &ivs, &cts) || ivs.len != b64url_len(SEAL_IV_LEN) ||
	    b64url_decode(ivs, iv, &ivlen) != 0 || ivlen != SEAL_IV_LEN)
		return ERR(e, ERR_INVAL, 0, NULL, "sealed %s has a malformed IV", what);
	ct = malloc(cts.len * 3 / 4 + 1);
	if (ct == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	if (cts.len == 0 || b64url_decode(cts, ct, &ctlen) != 0 || ctlen <= SEAL_TAG_LEN) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "sealed %s has a malformed ciphertext", what);
		goto done;
	}
	out = malloc(ctlen - SEAL_TAG_LEN + 1);
	if (out == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto done;
	}
	if (aead_open(kek->k, iv, aad, ct, ctlen, out, &outlen) != 0) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL,
			 "sealed %s does not open: wrong KEK, wrong %s or altered text", what,
			 strcmp(prefix, SEAL_PREFIX) == 0 ? "kid" : "label");
		goto done;
	}
	out[outlen] = '\0';
	*plain = out;
	*len = outlen;
	out = NULL;
	rc = 0;
done:
	free(ct);
	free(out);
	return rc;
}

int
jose_key_seal(const struct jose_key *k, const struct jose_kek *kek, char **sealed,
	      struct err *e)
{
	OSSL_ENCODER_CTX *ectx = NULL;
	unsigned char *der = NULL;
	size_t derlen = 0;
	char aadbuf[SEAL_PREFIX_LEN + JOSE_KID_MAX + 1];
	struct str aad;
	int rc;

	*sealed = NULL;
	if (k == NULL || kek == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "no key or no KEK to seal with");
	if (seal_aad(SEAL_PREFIX, k->kid, aadbuf, sizeof(aadbuf), &aad) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "kid too long to seal");
	/* PKCS#8 PrivateKeyInfo (RFC 5208), DER. */
	ectx = OSSL_ENCODER_CTX_new_for_pkey(k->pkey, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo",
					     NULL);
	if (ectx == NULL || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0 ||
	    OSSL_ENCODER_to_data(ectx, &der, &derlen) != 1 || der == NULL)
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "cannot serialise the private key");
	else if (derlen == 0 || derlen > SEAL_MAX_PLAIN)
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "serialised private key has a bad size");
	else
		rc = seal_blob(kek, SEAL_PREFIX, aad, der, derlen, sealed, e);
	OSSL_ENCODER_CTX_free(ectx);
	if (der != NULL)
		OPENSSL_clear_free(der, derlen);
	return rc;
}

/* Load a PKCS#8 DER RSA private key (unchecked: key_ready); the whole input must be one key. */
static int
key_from_der(const unsigned char *der, size_t len, EVP_PKEY **out, struct err *e)
{
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = der;
	size_t left = len;
	int rc = 0;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", NULL, "RSA", EVP_PKEY_KEYPAIR, NULL,
					     NULL);
	if (dctx == NULL || OSSL_DECODER_from_data(dctx, &p, &left) != 1 || pkey == NULL ||
	    left != 0) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "sealed key is not a PKCS#8 RSA private key");
		EVP_PKEY_free(pkey);
	} else {
		*out = pkey;
	}
	OSSL_DECODER_CTX_free(dctx);
	return rc;
}

int
jose_key_unseal(const char *sealed, const char *kid, const struct jose_kek *kek,
		struct jose_key **out, struct err *e)
{
	struct jose_key *k = NULL;
	unsigned char *plain = NULL;
	size_t plainlen = 0;
	char aadbuf[SEAL_PREFIX_LEN + JOSE_KID_MAX + 1];
	struct str aad;
	int rc;

	*out = NULL;
	if (sealed == NULL || kid == NULL || kek == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "sealed key, kid and KEK are all required");
	if (!jose_kid_ok(str_c(kid)) || seal_aad(SEAL_PREFIX, kid, aadbuf, sizeof(aadbuf), &aad) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "kid is empty, too long or not printable");
	rc = open_blob(sealed, SEAL_PREFIX, aad, kek, "key", &plain, &plainlen, e);
	if (rc != 0)
		return rc;
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	memcpy(k->kid, kid, aad.len - SEAL_PREFIX_LEN + 1);
	rc = key_from_der(plain, plainlen, &k->pkey, e);
	if (rc == 0)
		rc = key_ready(k, e);
	if (rc != 0)
		goto out;
	*out = k;
	k = NULL;
out:
	OPENSSL_cleanse(plain, plainlen);
	free(plain);
	jose_key_free(k);
	return rc;
}

int
jose_key_from_pem(const char *pem, const char *kid, struct jose_key **out, struct err *e)
{
	struct jose_key *k = NULL;
	BIO *bio = NULL;
	int rc;

	*out = NULL;
	if (kid == NULL || !jose_kid_ok(str_c(kid)))
		return ERR(e, ERR_INVAL, 0, NULL, "kid is empty, too long or not printable");
	k = calloc(1, sizeof(*k));
	bio = pem != NULL ? BIO_new_mem_buf(pem, -1) : NULL;
	if (k == NULL || bio == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	k->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (k->pkey == NULL) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "not a PEM private key");
		goto out;
	}
	memcpy(k->kid, kid, strlen(kid) + 1);
	rc = key_ready(k, e);
	if (rc != 0)
		goto out;
	*out = k;
	k = NULL;
out:
	BIO_free(bio);
	jose_key_free(k);
	return rc;
}

int
jose_kek_seal_text(const struct jose_kek *kek, const char *label, struct str plain,
		   char **sealed, struct err *e)
{
	char aadbuf[sizeof(TEXT_PREFIX) + JOSE_KID_MAX];
	struct str aad;

	*sealed = NULL;
	if (kek == NULL || label == NULL || label[0] == '\0' ||
	    seal_aad(TEXT_PREFIX, label, aadbuf, sizeof(aadbuf), &aad) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "no KEK or a bad label to seal with");
	if (plain.len == 0 || plain.len > SEAL_MAX_PLAIN)
		return ERR(e, ERR_INVAL, 0, NULL, "text to seal has a bad size");
	return seal_blob(kek, TEXT_PREFIX, aad, (const unsigned char *)plain.p, plain.len, sealed,
			 e);
}

int
jose_kek_open_text(const char *sealed, const char *label, const struct jose_kek *kek,
		   char **plain, size_t *len, struct err *e)
{
	char aadbuf[sizeof(TEXT_PREFIX) + JOSE_KID_MAX];
	struct str aad;

	*plain = NULL;
	*len = 0;
	if (sealed == NULL || kek == NULL || label == NULL || label[0] == '\0' ||
	    seal_aad(TEXT_PREFIX, label, aadbuf, sizeof(aadbuf), &aad) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "sealed text, label and KEK are all required");
	return open_blob(sealed, TEXT_PREFIX, aad, kek, "text", (unsigned char **)plain, len, e);
}
