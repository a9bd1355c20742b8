#include "core/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/b64.h"
#include "core/err.h"

/*
 * Random bytes come from OpenSSL's DRBG in blocks of RAND_POOL per thread
 * and are handed out from there: each RAND_bytes call pays a fixed price
 * (a fork check, a lookup of the thread's DRBG, a reseed check and the
 * DRBG's update step), and a login asks for a dozen small values.  The
 * block is no more exposed than the DRBG state beside it, from which every
 * later output follows anyway; bytes handed out are wiped from the block.
 * A fork makes every block stale, so a child never repeats its parent.
 */
#define RAND_POOL 512
#define RAND_POOLED 64        /* larger requests go to the DRBG directly */

struct rand_pool {
	unsigned char b[RAND_POOL];
	size_t left;              /* unused bytes at the end of b */
	unsigned gen;             /* rand_fork_gen when filled */
};

static _Thread_local struct rand_pool rand_pool;
static unsigned rand_fork_gen;
static pthread_once_t rand_once = PTHREAD_ONCE_INIT;

static void
rand_forked(void)
{
	__atomic_add_fetch(&rand_fork_gen, 1, __ATOMIC_RELAXED);
}

static void
rand_init(void)
{
	pthread_atfork(NULL, NULL, rand_forked);
}

static int
rand_direct(void *buf, size_t n)
{
	if (n > INT32_MAX || RAND_bytes(buf, (int)n) != 1)
		return ERR_CRYPTO;
	return 0;
}

int
rand_bytes(void *buf, size_t n)
{
	struct rand_pool *p = &rand_pool;
	unsigned gen;

	if (n > RAND_POOLED)
		return rand_direct(buf, n);
	pthread_once(&rand_once, rand_init);
	gen = __atomic_load_n(&rand_fork_gen, __ATOMIC_RELAXED);
	if (p->gen != gen || p->left < n) {
		OPENSSL_cleanse(p->b, sizeof(p->b));
		p->left = 0;
		if (rand_direct(p->b, sizeof(p->b)) != 0)
			return ERR_CRYPTO;
		p->left = sizeof(p->b);
		p->gen = gen;
	}
	memcpy(buf, p->b + sizeof(p->b) - p->left, n);
	OPENSSL_cleanse(p->b + sizeof(p->b) - p->left, n);
	p->left -= n;
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

/*
 * OpenSSL 3 looks an algorithm up in its providers, under a lock, every
 * time EVP_sha256() or HMAC() is used; a login hashes a dozen times.  Fetch
 * SHA-256 once, and keep an HMAC context with its digest set to copy.
 * When a fetch fails the slow calls remain.
 */
static EVP_MD *sha256_md;
static EVP_MAC_CTX *hmac_tmpl;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void
fetch_algorithms(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (mac != NULL) {
		hmac_tmpl = EVP_MAC_CTX_new(mac);
		if (hmac_tmpl != NULL && EVP_MAC_CTX_set_params(hmac_tmpl, params) != 1) {
			EVP_MAC_CTX_free(hmac_tmpl);
			hmac_tmpl = NULL;
		}
		EVP_MAC_free(mac); /* the context holds its own reference */
	}
}

void
sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	pthread_once(&fetch_once, fetch_algorithms);
	EVP_Digest(p, n, out, &len, sha256_md != NULL ? sha256_md : EVP_sha256(), NULL);
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
	EVP_MAC_CTX *c = NULL;
	size_t outl = 0;

	pthread_once(&fetch_once, fetch_algorithms);
	if (hmac_tmpl != NULL)
		c = EVP_MAC_CTX_dup(hmac_tmpl);
	if (c != NULL && EVP_MAC_init(c, key, keylen, NULL) == 1 && EVP_MAC_update(c, p, n) == 1 &&
	    EVP_MAC_final(c, out, &outl, 32) == 1 && outl == 32) {
		EVP_MAC_CTX_free(c);
		return;
	}
	EVP_MAC_CTX_free(c);
	HMAC(EVP_sha256(), key, (int)keylen, p, n, out, &len);
}

/*
 * AES-256-GCM fetched from the provider once: EVP_aes_256_gcm() in an init
 * call fetches it again every time (a lookup under the provider's lock).
 */
static EVP_CIPHER *aead_cipher;
static pthread_once_t aead_once = PTHREAD_ONCE_INIT;

static void
aead_fetch(void)
{
	aead_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *
aead_gcm(void)
{
	pthread_once(&aead_once, aead_fetch);
	return aead_cipher != NULL ? aead_cipher : EVP_aes_256_gcm();
}

int
aead_seal(const unsigned char key[AEAD_KEY_LEN], const unsigned char iv[AEAD_IV_LEN],
	  struct str aad, const unsigned char *in, size_t inlen, unsigned char *out)
{
	EVP_CIPHER_CTX *c = NULL;
	int n, fin, rc = ERR_CRYPTO;

	if (inlen > AEAD_MAX_PLAIN || aad.len > INT32_MAX)
		goto out;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		goto out;
	if (EVP_EncryptInit_ex(c, aead_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, AEAD_IV_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(c, NULL, NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)aad.p, (int)aad.len) != 1 ||
	    EVP_EncryptUpdate(c, out, &n, in, (int)inlen) != 1 ||
	    EVP_EncryptFinal_ex(c, out + n, &fin) != 1 || (size_t)n + (size_t)fin != inlen ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN, out + inlen) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int
aead_gcm_open(const unsigned char *key, size_t keylen, const unsigned char iv[AEAD_IV_LEN],
	      struct str aad, const unsigned char *ct, size_t ctlen,
	      const unsigned char tag[AEAD_TAG_LEN], unsigned char *out)
{
	const EVP_CIPHER *cipher = keylen == AEAD_KEY_LEN ? aead_gcm()
				   : keylen == 16	 ? EVP_aes_128_gcm()
							 : NULL;
	EVP_CIPHER_CTX *c = NULL;
	int n, fin, rc = ERR_CRYPTO;

	if (cipher == NULL || ctlen > INT32_MAX || aad.len > INT32_MAX)
		goto out;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		goto out;
	/* The tag is checked in EVP_DecryptFinal_ex; nothing is used before. */
	if (EVP_DecryptInit_ex(c, cipher, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, AEAD_IV_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(c, NULL, NULL, key, iv) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)aad.p, (int)aad.len) != 1 ||
	    EVP_DecryptUpdate(c, out, &n, ct, (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, AEAD_TAG_LEN, (void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(c, out + n, &fin) != 1 || (size_t)n + (size_t)fin != ctlen) {
		OPENSSL_cleanse(out, ctlen);
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int
aead_open(const unsigned char key[AEAD_KEY_LEN], const unsigned char iv[AEAD_IV_LEN],
	  struct str aad, const unsigned char *in, size_t inlen, unsigned char *out,
	  size_t *outlen)
{
	size_t ctlen;

	if (inlen <= AEAD_TAG_LEN || inlen - AEAD_TAG_LEN > AEAD_MAX_PLAIN)
		return ERR_CRYPTO;
	ctlen = inlen - AEAD_TAG_LEN;
	if (aead_gcm_open(key, AEAD_KEY_LEN, iv, aad, in, ctlen, in + ctlen, out) != 0)
		return ERR_CRYPTO;
	*outlen = ctlen;
	return 0;
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
