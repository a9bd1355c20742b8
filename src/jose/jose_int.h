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

/*
 * A signing key.  pkey is what seal serialises and what signer (the first
 * member, so that signer.c finds the key from it) signs with; jwk is the
 * same private key as cjose wants it, from which the public JWK is made.
 * All are read-only after creation, so one key may sign from several
 * threads at once.
 */
struct jose_key {
	struct jose_signer signer;
	EVP_PKEY *pkey;
	cjose_jwk_t *jwk;
	char kid[JOSE_KID_MAX + 1];
};

/* Make k->signer sign with k->pkey (RS256); k->kid must be set already. */
void jose_key_signer_init(struct jose_key *k);

/* A kid we are willing to carry: 1..JOSE_KID_MAX printable ASCII bytes. */
bool jose_kid_ok(struct str kid);

#endif
