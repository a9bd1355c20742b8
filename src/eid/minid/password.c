/*
 * MinID passwords (spec/minid.md §4): the rules for a new password and the
 * Argon2id hash (libsodium crypto_pwhash_str: the PHC string carries salt,
 * memory, passes and version, so the parameters can be raised later and
 * old hashes still verify; rehash on the next login).
 */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "core/crypto.h"
#include "core/log.h"
#include "eid/minid/minid.h"
#include "eid/minid/minid_int.h"

static pthread_once_t minid_sodium_once = PTHREAD_ONCE_INIT;
static int minid_sodium_rc;

static void
minid_sodium_init(void)
{
	minid_sodium_rc = sodium_init() < 0 ? -1 : 0;
}

int
minid_sodium_ready(void)
{
	pthread_once(&minid_sodium_once, minid_sodium_init);
	return minid_sodium_rc;
}

const char *
minid_pw_problem_text(enum minid_pw_problem p)
{
	switch (p) {
	case MINID_PW_OK:
		return "";
	case MINID_PW_INVALID:
		return "The password contains characters that cannot be used.";
	case MINID_PW_TOO_SHORT:
		return "The password must be at least 10 characters long.";
	case MINID_PW_TOO_LONG:
		return "The password can be at most 256 characters long.";
	case MINID_PW_CLASSES:
		return "The password must contain upper-case letters, lower-case letters and "
		       "digits.";
	case MINID_PW_HAS_PID:
		return "The password must not contain your national identity number.";
	case MINID_PW_COMMON:
		return "This password is too common. Choose another one.";
	}
	return "";
}

int
minid_password_nfc(struct str pw, char **out, size_t *outlen)
{
	uint8_t *nfc;
	size_t n = 0;

	*out = NULL;
	*outlen = 0;
	/* Bound before the library sees it: 256 characters are at most 1024 bytes. */
	if (pw.len > 4 * MINID_PW_MAX + 4)
		return ERR_LIMIT;
	if (pw.len == 0) {
		*out = strdup("");
		return *out ? 0 : ERR_NOMEM;
	}
	if (u8_check((const uint8_t *)pw.p, pw.len) != NULL)
		return ERR_INVAL;
	nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)pw.p, pw.len, NULL, &n);
	if (nfc == NULL)
		return ERR_NOMEM;
	*out = malloc(n + 1);
	if (*out == NULL) {
		secure_wipe(nfc, n);
		free(nfc);
		return ERR_NOMEM;
	}
	memcpy(*out, nfc, n);
	(*out)[n] = '\0';
	*outlen = n;
	secure_wipe(nfc, n);
	free(nfc);
	return 0;
}

enum minid_pw_problem
minid_password_check(struct str pw, const char *pid)
{
	enum minid_pw_problem res = MINID_PW_OK;
	bool upper = false, lower = false, digit = false;
	const uint8_t *s, *end;
	size_t n = 0, chars = 0;
	char *nfc = NULL;
	int rc;

	rc = minid_password_nfc(pw, &nfc, &n);
	if (rc == ERR_LIMIT)
		return MINID_PW_TOO_LONG;
	if (rc != 0)
		return MINID_PW_INVALID;
	s = (const uint8_t *)nfc;
	end = s + n;
	while (s < end) {
		ucs4_t uc;
		int len = u8_mbtouc(&uc, s, (size_t)(end - s));

		/* Control characters cannot be typed reliably and hide in logs. */
		if (len <= 0 || uc_is_cntrl(uc)) {
			res = MINID_PW_INVALID;
			goto out;
		}
		upper |= uc_is_upper(uc);
		lower |= uc_is_lower(uc);
		digit |= uc_is_digit(uc);
		chars++;
		s += len;
	}
	if (chars < MINID_PW_MIN)
		res = MINID_PW_TOO_SHORT;
	else if (chars > MINID_PW_MAX)
		res = MINID_PW_TOO_LONG;
	else if (!upper || !lower || !digit)
		res = MINID_PW_CLASSES;
	else if (pid != NULL && pid[0] != '\0' && strstr(nfc, pid) != NULL)
		res = MINID_PW_HAS_PID;
	else if (minid_password_common((struct str){ nfc, n }))
		res = MINID_PW_COMMON;
out:
	secure_wipe(nfc, n);
	free(nfc);
	return res;
}

static int
minid_pw_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

bool
minid_password_common(struct str pw)
{
	char low[64];
	size_t i;
	bool hit;

	/* Every listed password is ASCII and shorter than 64 bytes. */
	if (pw.len == 0 || pw.len >= sizeof(low))
		return false;
	for (i = 0; i < pw.len; i++) {
		unsigned char ch = (unsigned char)pw.p[i];

		if (ch >= 0x80)
			return false;
		low[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	low[i] = '\0';
	hit = bsearch(low, minid_common_passwords, minid_common_passwords_n,
		      sizeof(minid_common_passwords[0]), minid_pw_cmp) != NULL;
	if (!hit) {
		/*
		 * "Password123!" is "password" with the digits and signs the rules
		 * ask for stuck on: compare the letters in the middle too.
		 */
		size_t a = 0, z = i;

		while (a < z && (low[a] < 'a' || low[a] > 'z'))
			a++;
		while (z > a && (low[z - 1] < 'a' || low[z - 1] > 'z'))
			z--;
		if (z - a >= 4 && (a > 0 || z < i)) {
			low[z] = '\0';
			hit = bsearch(low + a, minid_common_passwords, minid_common_passwords_n,
				      sizeof(minid_common_passwords[0]), minid_pw_cmp) != NULL;
		}
	}
	secure_wipe(low, sizeof(low));
	return hit;
}

int
minid_password_hash(struct str pw, int64_t ops, int64_t mem_kib, char **out, struct err *e)
{
	char hash[crypto_pwhash_STRBYTES];
	char *nfc = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (minid_sodium_ready() != 0)
		return ERR(e, ERR_CRYPTO, 500, NULL, "libsodium did not initialise");
	rc = minid_password_nfc(pw, &nfc, &n);
	if (rc != 0)
		return ERR(e, rc == ERR_NOMEM ? ERR_NOMEM : ERR_INVAL, 400, NULL,
			   "the password is not valid UTF-8 or too long");
	/* Argon2id (crypto_pwhash_ALG_ARGON2ID13), parallelism 1, 16-byte random salt. */
	if (crypto_pwhash_str_alg(hash, nfc, n, (unsigned long long)ops,
				  (size_t)mem_kib * 1024u, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		rc = ERR(e, ERR_NOMEM, 503, NULL, "not enough memory for the password hash");
		goto out;
	}
	*out = strdup(hash);
	if (*out == NULL)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
out:
	secure_wipe(nfc, n);
	free(nfc);
	return rc;
}

bool
minid_password_verify(const char *hash, struct str pw)
{
	char *nfc = NULL;
	size_t n = 0;
	bool ok;

	if (hash == NULL || strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES ||
	    strncmp(hash, "$argon2id$", 10) != 0 || minid_sodium_ready() != 0)
		return false;
	if (minid_password_nfc(pw, &nfc, &n) != 0)
		return false;
	/* libsodium recomputes and compares in constant time. */
	ok = crypto_pwhash_str_verify(hash, nfc, n) == 0;
	secure_wipe(nfc, n);
	free(nfc);
	return ok;
}

static pthread_mutex_t minid_dummy_mu = PTHREAD_MUTEX_INITIALIZER;
static char minid_dummy_hash[crypto_pwhash_STRBYTES];
static int64_t minid_dummy_ops, minid_dummy_mem;

void
minid_password_dummy_verify(struct str pw, int64_t ops, int64_t mem_kib)
{
	char hash[crypto_pwhash_STRBYTES];
	char *made = NULL;
	struct err e = { 0 };

	pthread_mutex_lock(&minid_dummy_mu);
	if (minid_dummy_ops != ops || minid_dummy_mem != mem_kib) {
		if (minid_password_hash(STR_LIT("no such account: dummy"), ops, mem_kib, &made, &e) ==
		    0) {
			snprintf(minid_dummy_hash, sizeof(minid_dummy_hash), "%s", made);
			minid_dummy_ops = ops;
			minid_dummy_mem = mem_kib;
		}
		free(made);
	}
	memcpy(hash, minid_dummy_hash, sizeof(hash));
	pthread_mutex_unlock(&minid_dummy_mu);
	(void)minid_password_verify(hash, pw);
}

bool
minid_password_needs_rehash(const char *hash, int64_t ops, int64_t mem_kib)
{
	if (hash == NULL || strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES ||
	    minid_sodium_ready() != 0)
		return false;
	/* 1: other parameters (or algorithm); -1: not a hash we can read; 0: current. */
	return crypto_pwhash_str_needs_rehash(hash, (unsigned long long)ops,
					      (size_t)mem_kib * 1024u) == 1;
}
