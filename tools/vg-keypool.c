/*
 * For `make analyze` only: preloaded into the unit tests run under valgrind.
 * OpenSSL's RSA prime search runs about a hundred times slower under
 * memcheck and is not our code, so RSA key generation is answered from a
 * pool of keys made natively beforehand (PORTEN_VG_KEYPOOL: a directory of
 * rsa<bits>-<n>.pem files), handed out in turn so that successive keys
 * differ.  Every other call, and RSA sizes without a pool, go to OpenSSL.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

typedef EVP_PKEY *(*keygen_fn)(OSSL_LIB_CTX *, const char *, const char *, ...);

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

/* The next file of a size: rsa<bits>-0.pem, -1, ... and round again. */
static EVP_PKEY *
pool_key(size_t bits)
{
	static struct { size_t bits; unsigned next; } turn[8];
	const char *dir = getenv("PORTEN_VG_KEYPOOL");
	char path[4096];
	EVP_PKEY *k = NULL;
	size_t t;

	if (dir == NULL)
		return NULL;
	pthread_mutex_lock(&pool_lock);
	for (t = 0; t < 8 && turn[t].bits != 0 && turn[t].bits != bits; t++)
		;
	if (t == 8) {
		pthread_mutex_unlock(&pool_lock);
		return NULL;
	}
	turn[t].bits = bits;
	for (int pass = 0; pass < 2 && k == NULL; pass++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/rsa%zu-%u.pem", dir, bits, turn[t].next++);
		f = fopen(path, "r");
		if (f == NULL) {
			turn[t].next = 0; /* past the last file: from the first again */
			continue;
		}
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	pthread_mutex_unlock(&pool_lock);
	return k;
}

EVP_PKEY *
EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
	static keygen_fn real;
	va_list ap;
	EVP_PKEY *k;

	if (real == NULL)
		real = (keygen_fn)dlsym(RTLD_NEXT, "EVP_PKEY_Q_keygen");
	if (type != NULL && strcmp(type, "RSA") == 0) {
		size_t bits;

		va_start(ap, type);
		bits = va_arg(ap, size_t);
		va_end(ap);
		k = pool_key(bits);
		return k != NULL ? k : real(libctx, propq, type, bits);
	}
	if (type != NULL && (strcmp(type, "EC") == 0 || strcmp(type, "SM2") == 0)) {
		const char *curve;

		va_start(ap, type);
		curve = va_arg(ap, const char *);
		va_end(ap);
		return real(libctx, propq, type, curve);
	}
	return real(libctx, propq, type);
}
