/* Declarations shared by the files of src/jose/ only. */
#ifndef PORTEN_JOSE_JOSE_INT_H
#define PORTEN_JOSE_JOSE_INT_H

#include <cjose/jwk.h>
#include <openssl/evp.h>
#include <stdbool.h>

#include "core/str.h"
#include "jose/jose.h"

#define JOSE_KID_MAX 128          /* longest kid we accept or store */
#define JOSE_RSA_MIN_BITS 2048    /* NIST SP 800-131A: nothing weaker */
#define JOSE_RSA_MAX_BITS 8192    /* bounds the cost of one verification */

/* A signing context set up once for a key, copied for every signature. */
struct jose_sign_tmpl;

/*
 * A signing key.  pkey is what seal serialises and what signer (the first
 * member, so that signer.c finds the key from it) signs with, each
 * signature from a copy of tmpl; jwk is the same private key as cjose
 * wants it, from which the public JWK is made.  All are read-only after
 * creation (tmpl is copied under its own lock), so one key may sign from
 * several threads at once.
 */
struct jose_key {
	struct jose_signer signer;
	EVP_PKEY *pkey;
	struct jose_sign_tmpl *tmpl;
	cjose_jwk_t *jwk;
	char kid[JOSE_KID_MAX + 1];
};

/*
 * Make k->signer sign with k->pkey (RS256); k->kid and k->pkey must be set
 * already.  ERR_NOMEM or ERR_CRYPTO; k is freed by jose_key_free() as ever.
 */
int jose_key_signer_init(struct jose_key *k, struct err *e);
/* Release what jose_key_signer_init() set up; NULL-safe, for jose_key_free(). */
void jose_sign_tmpl_free(struct jose_sign_tmpl *t);

/*
 * Verify sig over msg with the public JWK for alg ES256, PS256 or EdDSA
 * (jose/pubkey.c).  ERR_DENIED for a bad signature or an unfit key.
 */
int jose_pub_verify(const json_t *jwk, const char *alg, const void *msg, size_t n,
		    const unsigned char *sig, size_t siglen, struct err *e);

/* The public key of jwk for alg as an EVP_PKEY (jose/pubkey.c); ERR_DENIED when unfit. */
int jose_pub_load(const json_t *jwk, const char *alg, EVP_PKEY **pk, struct err *e);

/* The private key of an EC key (jose/ec.c), borrowed: for jwe.c's key agreement. */
EVP_PKEY *jose_eckey_pkey(const struct jose_eckey *k);

/* The public JWK {kty EC, crv P-256, x, y} of pk: a new reference, NULL if pk is no P-256 key. */
json_t *jose_ec_public_jwk(EVP_PKEY *pk);

/* A kid we are willing to carry: 1..JOSE_KID_MAX printable ASCII bytes. */
bool jose_kid_ok(struct str kid);

#endif
