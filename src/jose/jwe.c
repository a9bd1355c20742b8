/*
 * JWE decryption for one case: ECDH-ES direct key agreement on P-256 with
 * A128GCM or A256GCM (RFC 7516 compact serialisation, RFC 7518 4.6, 5.3),
 * the encrypted responses of OpenID4VP wallets.  OpenSSL derives the
 * shared secret, runs the Concat KDF (its SSKDF, NIST SP 800-56A 5.8.1)
 * and decrypts; this file checks the header and assembles the KDF's
 * OtherInfo.  (cjose's ECDH-ES path leaks memory on every decryption.)
 */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "jose/jose_int.h"

#define JWE_MAX 65536             /* longest compact JWE we look at */
#define HDR_MAX 4096
#define APX_MAX 256               /* apu, apv: decoded bytes */

struct jwe_parts {
	struct str p[5]; /* header, encrypted key, iv, ciphertext, tag */
};

static int
split(struct str jwe, struct jwe_parts *out, struct err *e)
{
	size_t start = 0, k = 0;

	if (jwe.len == 0 || jwe.len > JWE_MAX)
		return ERR(e, ERR_INVAL, 0, NULL, "the JWE is empty or too long");
	for (size_t i = 0; i <= jwe.len; i++) {
		if (i < jwe.len && jwe.p[i] != '.')
			continue;
		if (k == 5)
			return ERR(e, ERR_INVAL, 0, NULL, "a compact JWE has five parts");
		out->p[k++] = (struct str){ jwe.p + start, i - start };
		start = i + 1;
	}
	if (k != 5)
		return ERR(e, ERR_INVAL, 0, NULL, "a compact JWE has five parts");
	for (k = 0; k < 5; k++)
		if (!b64url_chars(out->p[k]))
			return ERR(e, ERR_INVAL, 0, NULL, "a JWE part is not base64url");
	return 0;
}

/* Decode a part into a new buffer of at most max bytes. */
static int
part_bytes(struct str s, size_t max, unsigned char **out, size_t *len)
{
	*out = malloc(s.len * 3 / 4 + 2);
	if (*out == NULL)
		return -1;
	if (b64url_decode(s, *out, len) != 0 || *len > max) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* A PartyUInfo/PartyVInfo value: length-prefixed bytes of the optional member. */
static int
party_info(const json_t *hdr, const char *name, unsigned char *out, size_t *len)
{
	const char *v = json_string_value(json_object_get(hdr, name));
	unsigned char *raw = NULL;
	size_t n = 0;

	if (json_object_get(hdr, name) != NULL) {
		if (v == NULL || !b64url_chars(str_c(v)) ||
		    part_bytes(str_c(v), APX_MAX, &raw, &n) != 0)
			return -1;
		memcpy(out + 4, raw, n);
		free(raw);
	}
	put32(out, (uint32_t)n);
	*len = 4 + n;
	return 0;
}

/* RFC 7518 4.6.2: the Concat KDF over Z for enc, keylen bytes, through OpenSSL's SSKDF. */
static int
concat_kdf(const unsigned char *z, size_t zlen, const json_t *hdr, const char *enc,
	   unsigned char *key, size_t keylen)
{
	unsigned char info[4 + 16 + 2 * (4 + APX_MAX) + 4];
	size_t n = 0, part = 0, el = strlen(enc);
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[4];
	int rc = -1;

	put32(info, (uint32_t)el);
	memcpy(info + 4, enc, el);
	n = 4 + el;
	if (party_info(hdr, "apu", info + n, &part) != 0)
		return -1;
	n += part;
	if (party_info(hdr, "apv", info + n, &part) != 0)
		return -1;
	n += part;
	put32(info + n, (uint32_t)(keylen * 8));
	n += 4;
	kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
	ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[3] = OSSL_PARAM_construct_end();
	if (ctx != NULL && EVP_KDF_derive(ctx, key, keylen, params) == 1)
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* ECDH between our key and the sender's epk: Z, 32 bytes. */
static int
agree(const struct jose_eckey *k, const json_t *epk, unsigned char z[32], struct err *e)
{
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t zlen = 32;
	int rc;

	/* A public P-256 key whose point is on the curve (invalid-curve attacks). */
	if (!json_is_object(epk) || json_object_get(epk, "d") != NULL)
		return ERR(e, ERR_DENIED, 0, NULL, "epk is not a public EC key");
	rc = jose_pub_load(epk, "ES256", &peer, e);
	if (rc != 0)
		return rc;
	ctx = EVP_PKEY_CTX_new(jose_eckey_pkey(k), NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, z, &zlen) != 1 || zlen != 32)
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "ECDH key agreement failed");
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return rc;
}

/* RFC 7516 5.2 steps 14-16: AES-GCM with the protected header's ASCII as AAD. */
static int
gcm_open(const unsigned char *key, size_t keylen, const struct jwe_parts *p, char **plain,
	 size_t *plen, struct err *e)
{
	unsigned char *iv = NULL, *ct = NULL, *tag = NULL, *pt = NULL;
	size_t ivl = 0, ctl = 0, tagl = 0;
	int rc = 0;

	if (part_bytes(p->p[2], AEAD_IV_LEN, &iv, &ivl) != 0 || ivl != AEAD_IV_LEN ||
	    part_bytes(p->p[4], AEAD_TAG_LEN, &tag, &tagl) != 0 || tagl != AEAD_TAG_LEN ||
	    part_bytes(p->p[3], JWE_MAX, &ct, &ctl) != 0) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "the JWE's iv, ciphertext or tag is malformed");
		goto out;
	}
	pt = malloc(ctl + 1);
	if (pt == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	if (aead_gcm_open(key, keylen, iv, p->p[0], ct, ctl, tag,
			  pt) != 0) {
		rc = ERR(e, ERR_DENIED, 0, NULL, "the JWE does not decrypt");
		goto out;
	}
	pt[ctl] = '\0';
	*plain = (char *)pt;
	*plen = ctl;
	pt = NULL;
out:
	free(iv);
	free(ct);
	free(tag);
	free(pt);
	return rc;
}

static int
header_check(const json_t *hdr, const char **enc, size_t *keylen, struct err *e)
{
	const char *alg = json_string_value(json_object_get(hdr, "alg"));

	*enc = json_string_value(json_object_get(hdr, "enc"));
	if (alg == NULL || strcmp(alg, "ECDH-ES") != 0)
		return ERR(e, ERR_DENIED, 0, NULL, "the JWE's alg is not ECDH-ES");
	if (*enc != NULL && strcmp(*enc, "A128GCM") == 0)
		*keylen = 16;
	else if (*enc != NULL && strcmp(*enc, "A256GCM") == 0)
		*keylen = 32;
	else
		return ERR(e, ERR_DENIED, 0, NULL, "the JWE's enc is not A128GCM or A256GCM");
	/* RFC 7516 4.1.3, 4.1.13: nothing compressed, no extension we would ignore. */
	if (json_object_get(hdr, "zip") != NULL || json_object_get(hdr, "crit") != NULL)
		return ERR(e, ERR_DENIED, 0, NULL, "the JWE uses zip or crit");
	return 0;
}

int
jose_jwe_header(struct str jwe, json_t **hdr, struct err *e)
{
	struct jwe_parts p;
	unsigned char *raw = NULL;
	size_t n = 0;
	int rc;

	*hdr = NULL;
	rc = split(jwe, &p, e);
	if (rc != 0)
		return rc;
	if (part_bytes(p.p[0], HDR_MAX, &raw, &n) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "the JWE header is not base64url");
	*hdr = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_object(*hdr)) {
		json_decref(*hdr);
		*hdr = NULL;
		return ERR(e, ERR_INVAL, 0, NULL, "the JWE header is not a JSON object");
	}
	return 0;
}

int
jose_jwe_decrypt_ecdh(struct str jwe, const struct jose_eckey *k, char **plain, size_t *len,
		      struct err *e)
{
	struct jwe_parts p;
	json_t *hdr = NULL;
	const char *enc = NULL;
	unsigned char z[32], key[32];
	size_t keylen = 0;
	int rc;

	*plain = NULL;
	*len = 0;
	rc = jose_jwe_header(jwe, &hdr, e);
	if (rc == 0)
		rc = split(jwe, &p, e);
	if (rc == 0)
		rc = header_check(hdr, &enc, &keylen, e);
	if (rc != 0)
		goto out;
	/* RFC 7518 4.6: direct key agreement leaves the encrypted key empty. */
	if (p.p[1].len != 0) {
		rc = ERR(e, ERR_DENIED, 0, NULL, "ECDH-ES carries no encrypted key");
		goto out;
	}
	rc = agree(k, json_object_get(hdr, "epk"), z, e);
	if (rc != 0)
		goto out;
	if (concat_kdf(z, sizeof(z), hdr, enc, key, keylen) != 0) {
		ERR_clear_error();
		rc = ERR(e, ERR_DENIED, 0, NULL, "the JWE's key derivation failed (apu/apv?)");
		goto out;
	}
	rc = gcm_open(key, keylen, &p, plain, len, e);
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(key, sizeof(key));
	json_decref(hdr);
	return rc;
}
