#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/b64.h"
#include "core/err.h"

int
rand_bytes(void *buf, size_t n)
{
	if (n > INT32_MAX || RAND_bytes(buf, (int)n) != 1)
		return ERR_CRYPTO;
	return 0;
}

int
rand_token_buf(char out[TOKEN_CHARS + 1])
{
	unsigned char raw[TOKEN_BYTES];

	if (rand_bytes(raw, sizeof(raw)) != 0)
		return ERR_CRYPTO;
	b64url_encode(raw, sizeof(raw), out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

char *
rand_token(struct arena *a)
{
	char *out = arena_alloc(a, TOKEN_CHARS + 1);

	return rand_token_buf(out) == 0 ? out : NULL;
}

void
sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void
sha256_b64url_buf(struct str s, char out[TOKEN_CHARS + 1])
{
	unsigned char h[32];

	sha256(s.p, s.len, h);
	b64url_encode(h, sizeof(h), out);
}

char *
sha256_b64url(struct arena *a, struct str s)
{
	char *out = arena_alloc(a, TOKEN_CHARS + 1);

	sha256_b64url_buf(s, out);
	return out;
}

void
hmac_sha256(const void *key, size_t keylen, const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)keylen, p, n, out, &len);
}

bool
ct_str_eq(struct str a, struct str b)
{
	if (a.len != b.len)
		return false;
	if (a.len == 0)
		return true;
	return CRYPTO_memcmp(a.p, b.p, a.len) == 0;
}

void
secure_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}
