/* Randomness, hashes and constant-time comparison (OpenSSL underneath). */
#ifndef PORTEN_CORE_CRYPTO_H
#define PORTEN_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/str.h"

#define TOKEN_BYTES 32     /* 256-bit random values for codes and tokens */
#define TOKEN_CHARS 43     /* their base64url length */

/* Fill buf with n cryptographically random bytes; 0 or ERR_CRYPTO. */
int rand_bytes(void *buf, size_t n);
/* A fresh 256-bit random value, base64url (43 chars); NULL on RNG failure. */
char *rand_token(struct arena *a);
/* Same into a caller buffer of at least TOKEN_CHARS + 1 bytes. */
int rand_token_buf(char out[TOKEN_CHARS + 1]);

void sha256(const void *p, size_t n, unsigned char out[32]);
/* base64url(SHA-256(s)): how the store keys codes and tokens. */
char *sha256_b64url(struct arena *a, struct str s);
void sha256_b64url_buf(struct str s, char out[TOKEN_CHARS + 1]);
void hmac_sha256(const void *key, size_t keylen, const void *p, size_t n, unsigned char out[32]);

/*
 * AES-256-GCM with a 96-bit IV (SP 800-38D 8.2.2) and a 16-byte tag, aad
 * authenticated too.  seal: out gets the ciphertext followed by the tag
 * (room for inlen + AEAD_TAG_LEN).  open: in is ciphertext and tag, out
 * has room for inlen - AEAD_TAG_LEN, nothing is left in it unless the tag
 * holds.  Both 0 or ERR_CRYPTO; at most AEAD_MAX_PLAIN bytes of plaintext.
 */
#define AEAD_KEY_LEN 32
#define AEAD_IV_LEN 12
#define AEAD_TAG_LEN 16
#define AEAD_MAX_PLAIN 16384
int aead_seal(const unsigned char key[AEAD_KEY_LEN], const unsigned char iv[AEAD_IV_LEN],
	      struct str aad, const unsigned char *in, size_t inlen, unsigned char *out);
int aead_open(const unsigned char key[AEAD_KEY_LEN], const unsigned char iv[AEAD_IV_LEN],
	      struct str aad, const unsigned char *in, size_t inlen, unsigned char *out,
	      size_t *outlen);
/*
 * The open that aead_open is made of, for callers whose ciphertext and tag
 * come apart and may use AES-128 (JWE, RFC 7516 5.2): keylen 16 or 32,
 * out room for ctlen bytes, no limit but the caller's.  0 or ERR_CRYPTO.
 */
int aead_gcm_open(const unsigned char *key, size_t keylen, const unsigned char iv[AEAD_IV_LEN],
		  struct str aad, const unsigned char *ct, size_t ctlen,
		  const unsigned char tag[AEAD_TAG_LEN], unsigned char *out);

/* Constant-time equality of two strings (length leaks, content does not). */
bool ct_str_eq(struct str a, struct str b);

/* Wipe memory that held a secret. */
void secure_wipe(void *p, size_t n);

#endif
