/*
 * Public keys beyond RSA PKCS#1 v1.5: ES256 (EC P-256), PS256 (RSA-PSS) and
 * EdDSA (Ed25519), verified with OpenSSL from a JWK whose members we decode
 * ourselves (RFC 7518 6.2, 6.3; RFC 8037 2), and the RFC 7638 thumbprint of
 * any public JWK we accept.  cjose knows no Ed25519, and building the key
 * here keeps the three algorithms on one path.
 */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <string.h>

#include "core/b64.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "jose/jose_int.h"

#define COORD 32                  /* P-256 coordinates, Ed25519 keys */

/* A base64url member of exactly want bytes (EC coordinates, OKP x). */
static int
member_fixed(const json_t *k, const char *name, unsigned char *out, size_t want)
{
	struct str s = str_c(json_string_value(json_object_get(k, name)));
	unsigned char raw[COORD + 3];
	size_t n = 0;

	if (s.len != b64url_len(want) || !b64url_chars(s))
		return ERR_INVAL;
	if (b64url_decode(s, raw, &n) != 0 || n != want)
		return ERR_INVAL;
	memcpy(out, raw, want);
	return 0;
}

static bool
member_is(const json_t *k, const char *name, const char *want)
{
	const char *v = json_string_value(json_object_get(k, name));

	return v != NULL && strcmp(v, want) == 0;
}

/* A public key of type from the parameters b holds (b stays the caller's). */
static int
from_bld(const char *type, OSSL_PARAM_BLD *b, EVP_PKEY **out)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = params != NULL ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
	int rc = ERR_INVAL;

	/* For EC, fromdata refuses a point that is not on the curve. */
	if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return rc;
}

static int
ec_load(const json_t *k, EVP_PKEY **out)
{
	unsigned char pt[1 + 2 * COORD];
	OSSL_PARAM_BLD *b = NULL;
	int rc = ERR_INVAL;

	if (!member_is(k, "crv", "P-256") || member_fixed(k, "x", pt + 1, COORD) != 0 ||
	    member_fixed(k, "y", pt + 1 + COORD, COORD) != 0)
		return ERR_INVAL;
	pt[0] = 0x04; /* SEC 1 2.3.3: uncompressed point */
	b = OSSL_PARAM_BLD_new();
	if (b == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)))
		goto out;
	rc = from_bld("EC", b, out);
out:
	OSSL_PARAM_BLD_free(b);
	return rc;
}

static int
rsa_load(const json_t *k, EVP_PKEY **out)
{
	struct str ns = str_c(json_string_value(json_object_get(k, "n")));
	struct str es = str_c(json_string_value(json_object_get(k, "e")));
	unsigned char n[JOSE_RSA_MAX_BITS / 8 + 3], ex[12];
	size_t nlen = 0, elen = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *b = NULL;
	int rc = ERR_INVAL, bits;

	if (ns.len == 0 || ns.len > b64url_len(JOSE_RSA_MAX_BITS / 8 + 1) || es.len == 0 ||
	    es.len > b64url_len(8) || !b64url_chars(ns) || !b64url_chars(es) ||
	    b64url_decode(ns, n, &nlen) != 0 || b64url_decode(es, ex, &elen) != 0)
		return ERR_INVAL;
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(ex, (int)elen, NULL);
	if (bn == NULL || be == NULL)
		goto out;
	bits = BN_num_bits(bn);
	/* As for RS256 keys: 2048-8192 bits, e odd and at least 3 (e = 1 forges). */
	if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS || !BN_is_odd(be) ||
	    BN_num_bits(be) < 2 || BN_num_bits(be) > 64)
		goto out;
	b = OSSL_PARAM_BLD_new();
	if (b == NULL || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be))
		goto out;
	rc = from_bld("RSA", b, out);
out:
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return rc;
}

static int
okp_load(const json_t *k, EVP_PKEY **out)
{
	unsigned char x[COORD];

	if (!member_is(k, "crv", "Ed25519") || member_fixed(k, "x", x, COORD) != 0)
		return ERR_INVAL;
	*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, sizeof(x));
	return *out != NULL ? 0 : ERR_INVAL;
}

const char *
jose_alg_kty(const char *alg)
{
	if (alg == NULL)
		return NULL;
	if (strcmp(alg, "ES256") == 0)
		return "EC";
	if (strcmp(alg, "EdDSA") == 0)
		return "OKP";
	if (strcmp(alg, "PS256") == 0 || strcmp(alg, "RS256") == 0 || strcmp(alg, "RS384") == 0 ||
	    strcmp(alg, "RS512") == 0)
		return "RSA";
	return NULL;
}

/* RFC 7518 3.4: r || s, each 32 bytes, into the DER OpenSSL verifies. */
static int
es256_der(const unsigned char *sig, size_t len, unsigned char **der, int *derlen)
{
	ECDSA_SIG *s = NULL;
	BIGNUM *r = NULL, *ss = NULL;
	int rc = ERR_DENIED;

	*der = NULL;
	if (len != 2 * COORD)
		return ERR_DENIED;
	s = ECDSA_SIG_new();
	r = BN_bin2bn(sig, COORD, NULL);
	ss = BN_bin2bn(sig + COORD, COORD, NULL);
	if (s == NULL || r == NULL || ss == NULL || ECDSA_SIG_set0(s, r, ss) != 1)
		goto out;
	r = ss = NULL; /* s owns them */
	*derlen = i2d_ECDSA_SIG(s, der);
	rc = *derlen > 0 ? 0 : ERR_DENIED;
out:
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return rc;
}

static int
load(const json_t *jwk, const char *alg, EVP_PKEY **pk, struct err *e)
{
	const char *kty = jose_alg_kty(alg);
	int rc = ERR_INVAL;

	*pk = NULL;
	if (kty == NULL || !member_is(jwk, "kty", kty))
		return ERR(e, ERR_DENIED, 0, NULL, "the key's type does not fit alg %s",
			   kty == NULL ? "(unrecognised)" : alg);
	if (strcmp(kty, "EC") == 0)
		rc = ec_load(jwk, pk);
	else if (strcmp(kty, "OKP") == 0)
		rc = okp_load(jwk, pk);
	else
		rc = rsa_load(jwk, pk);
	if (rc != 0) {
		ERR_clear_error();
		return ERR(e, ERR_DENIED, 0, NULL, "the %s key is malformed, weak or of another "
			   "curve", kty);
	}
	return 0;
}

int
jose_pub_load(const json_t *jwk, const char *alg, EVP_PKEY **pk, struct err *e)
{
	return load(jwk, alg, pk, e);
}

int
jose_pub_check(const json_t *jwk, const char *alg, struct err *e)
{
	EVP_PKEY *pk = NULL;
	int rc = load(jwk, alg, &pk, e);

	EVP_PKEY_free(pk);
	return rc;
}

int
jose_pub_verify(const json_t *jwk, const char *alg, const void *msg, size_t n,
		const unsigned char *sig, size_t siglen, struct err *e)
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *s = sig;
	size_t slen = siglen;
	int derlen = 0, rc;
	bool eddsa = strcmp(alg, "EdDSA") == 0;

	rc = load(jwk, alg, &pk, e);
	if (rc != 0)
		goto out;
	if (strcmp(alg, "ES256") == 0) {
		if (es256_der(sig, siglen, &der, &derlen) != 0) {
			rc = ERR(e, ERR_DENIED, 0, NULL, "ES256 signature is not 64 bytes");
			goto out;
		}
		s = der;
		slen = (size_t)derlen;
	}
	md = EVP_MD_CTX_new();
	/* Ed25519 hashes inside the algorithm: no digest is named (RFC 8032). */
	if (md == NULL ||
	    EVP_DigestVerifyInit(md, &pctx, eddsa ? NULL : EVP_sha256(), NULL, pk) != 1) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "cannot set up %s verification", alg);
		goto out;
	}
	/* RFC 7518 3.5: MGF1 with SHA-256, salt as long as the hash. */
	if (strcmp(alg, "PS256") == 0 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "cannot set up PS256 verification");
		goto out;
	}
	if (EVP_DigestVerify(md, s, slen, msg, n) != 1) {
		rc = ERR(e, ERR_DENIED, 0, NULL, "token signature does not verify");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

/* RFC 7638 3.2: the required members, in lexicographic order, no spaces. */
int
jose_jwk_thumbprint(const json_t *jwk, char out[JOSE_JKT_LEN + 1], struct err *e)
{
	static const char *const members[][5] = {
		{ "RSA", "e", "kty", "n", NULL },
		{ "EC", "crv", "kty", "x", "y" },
		{ "OKP", "crv", "kty", "x", NULL },
	};
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	unsigned char h[32];
	struct buf b;
	size_t i, m;
	int rc = 0;

	for (i = 0; kty != NULL && i < 3; i++)
		if (strcmp(kty, members[i][0]) == 0)
			break;
	if (kty == NULL || i == 3)
		return ERR(e, ERR_INVAL, 0, NULL, "key type has no thumbprint here");
	buf_init(&b, 4096);
	rc = buf_puts(&b, "{");
	for (m = 1; m < 5 && members[i][m] != NULL && rc == 0; m++) {
		const char *v = json_string_value(json_object_get(jwk, members[i][m]));

		/* Values are base64url or names: nothing to escape, else refused. */
		if (v == NULL || !b64url_chars(str_c(v)))
			rc = ERR(e, ERR_INVAL, 0, NULL, "key member %s missing or odd", members[i][m]);
		else if (buf_printf(&b, "%s\"%s\":\"%s\"", m > 1 ? "," : "", members[i][m], v) != 0)
			rc = ERR(e, ERR_NOMEM, 0, NULL, "cannot build the thumbprint input");
	}
	if (rc == 0 && buf_puts(&b, "}") != 0)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "cannot build the thumbprint input");
	if (rc == 0) {
		sha256(b.p, b.len, h);
		b64url_encode(h, sizeof(h), out);
	}
	buf_free(&b);
	return rc;
}
