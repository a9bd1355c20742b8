/*
 * The in-process signer: a struct jose_key signs with its own EVP_PKEY.
 *
 * RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 3.3, RFC 8017 8.2),
 * deterministic, so the same key and input give the same bytes whichever
 * OpenSSL call makes them.  Each signature gets a fresh EVP_MD_CTX: the
 * key is shared read-only between threads, a context never is.  Setting
 * one up costs about 5 us against about 360 us for a 2048-bit signature,
 * too little to be worth a per-thread cache of contexts.
 */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#include "jose/jose.h"
#include "jose/jose_int.h"

#define LOCAL_ALG "RS256"
#define LOCAL_DIGEST "SHA256"

static int
local_sign(const struct jose_signer *s, const void *msg, size_t n, unsigned char **sig,
	   size_t *len, struct err *e)
{
	/* signer is the key's first member. */
	const struct jose_key *k = (const struct jose_key *)s;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *buf = NULL;
	size_t cap;
	int size, rc = 0;

	*sig = NULL;
	*len = 0;
	if (k == NULL || k->pkey == NULL || (msg == NULL && n > 0)) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "signing needs a key and a message");
		goto out;
	}
	size = EVP_PKEY_get_size(k->pkey);
	if (size <= 0) {
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "the signing key has no size");
		goto out;
	}
	cap = (size_t)size;
	buf = malloc(cap);
	md = EVP_MD_CTX_new();
	if (buf == NULL || md == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	/* PKCS#1 v1.5 is OpenSSL's default for RSA; said here, not assumed. */
	if (EVP_DigestSignInit_ex(md, &pctx, LOCAL_DIGEST, NULL, NULL, k->pkey, NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_DigestSign(md, buf, &cap, msg, n) != 1 || cap == 0) {
		ERR_clear_error();
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "RS256 signing failed");
		goto out;
	}
	*sig = buf;
	*len = cap;
	buf = NULL;
out:
	EVP_MD_CTX_free(md);	/* frees pctx too */
	free(buf);
	return rc;
}

void
jose_key_signer_init(struct jose_key *k)
{
	k->signer = (struct jose_signer){
		.kid = k->kid,
		.alg = LOCAL_ALG,
		.sign = local_sign,
	};
}

const struct jose_signer *
jose_key_signer(const struct jose_key *k)
{
	return k != NULL ? &k->signer : NULL;
}
