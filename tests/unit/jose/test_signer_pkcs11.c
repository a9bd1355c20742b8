/*
 * Tests for jose/signer_pkcs11.c against SoftHSM2: a token made in a
 * temporary directory (SOFTHSM2_CONF points at its own configuration),
 * keys generated on it with pkcs11-tool as docs/operations.md tells an
 * operator to.  Tokens signed through jose_jwt_sign() verify with the
 * published JWK through jose_jwt_verify(); many threads sign at once; a
 * wrong PIN, a missing key, a key that is not RSA, a bad URI and a token
 * that goes away each give their own error.  Skipped when SoftHSM2 or
 * pkcs11-tool is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/str.h"
#include "jose/jose.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define URI_BASE "pkcs11:token=porten;type=private"
#define URI_TAIL "?module-path=" MODULE
#define URI_SIG URI_BASE ";object=sig" URI_TAIL
#define THREADS 8
#define PER_THREAD 40

static char dir[64];
static char pin_ok[96], pin_bad[96];
static bool have_hsm;

/* Run argv with stdout and stderr to /dev/null; true when it exits 0. */
static bool
run(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return false;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static bool
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return false;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode) == 0;
}

static bool
keygen(const char *type, const char *id, const char *label)
{
	char *const argv[] = { "pkcs11-tool", "--module", MODULE, "--token-label", "porten",
			       "--login", "--pin", "1234", "--keypairgen", "--key-type",
			       (char *)type, "--id", (char *)id, "--label", (char *)label,
			       "--usage-sign", NULL };

	return run(argv);
}

static int
group_setup(void **state)
{
	char conf[96], tokens[96], text[256];
	char *const init[] = { "softhsm2-util", "--init-token", "--free", "--label", "porten",
			       "--pin", "1234", "--so-pin", "5678", NULL };

	(void)state;
	if (access(MODULE, R_OK) != 0)
		return 0;
	snprintf(dir, sizeof(dir), "/tmp/porten-p11-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	snprintf(text, sizeof(text), "directories.tokendir = %s\nobjectstore.backend = file\n"
				     "log.level = ERROR\n", tokens);
	snprintf(pin_ok, sizeof(pin_ok), "%s/pin", dir);
	snprintf(pin_bad, sizeof(pin_bad), "%s/pin-wrong", dir);
	if (mkdir(tokens, 0700) != 0 || !write_file(conf, text, 0600) ||
	    !write_file(pin_ok, "1234\n", 0600) || !write_file(pin_bad, "9999\n", 0600) ||
	    setenv("SOFTHSM2_CONF", conf, 1) != 0)
		return -1;
	/* No SoftHSM2 tools: every test skips (the e2e suite says so too). */
	have_hsm = run(init) && keygen("rsa:2048", "01", "sig") &&
		   keygen("EC:prime256v1", "03", "ec");
	return 0;
}

static int
group_teardown(void **state)
{
	char *const rm[] = { "rm", "-rf", dir, NULL };

	(void)state;
	if (dir[0] != '\0')
		run(rm);
	return 0;
}

static void
need_hsm(void)
{
	if (!have_hsm) {
		print_message("SoftHSM2 or pkcs11-tool not installed: skipped\n");
		skip();
	}
}

static json_t *
jwks_of(const struct jose_signer *s)
{
	json_t *jwk = jose_signer_pkcs11_jwk(s);

	assert_non_null(jwk);
	return json_pack("{s:[o]}", "keys", jwk);
}

/* Sign claims with s and verify against jwks; the claims come back. */
static void
sign_verify(const struct jose_signer *s, const json_t *jwks, int n)
{
	json_t *claims = json_pack("{s:s, s:i}", "sub", "x", "n", n), *back = NULL;
	struct err e = { 0 };
	char *jws = NULL;

	assert_int_equal(jose_jwt_sign(s, claims, NULL, &jws, &e), 0);
	assert_int_equal(jose_jwt_verify(str_c(jws), jwks, JOSE_ALG_RS256, &back, &e), 0);
	assert_true(json_equal(claims, back));
	json_decref(back);
	json_decref(claims);
	free(jws);
}

static void
test_sign_verify(void **state)
{
	struct jose_signer *s = NULL;
	struct err e = { 0 };
	json_t *jwks, *jwk;

	(void)state;
	need_hsm();
	assert_int_equal(jose_signer_pkcs11(URI_SIG, pin_ok, &s, &e), 0);
	assert_string_equal(s->alg, "RS256");
	jwks = jwks_of(s);
	jwk = json_array_get(json_object_get(jwks, "keys"), 0);
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), s->kid);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
	assert_null(json_object_get(jwk, "d"));
	assert_int_equal(jose_jwks_validate(jwks, 1, &e), 0);
	sign_verify(s, jwks, 1);
	json_decref(jwks);
	jose_signer_free(s);
	jose_signer_free(NULL);
}

/* The same key by id: two signers on one token at once, each signing. */
static void
test_by_id_twice(void **state)
{
	struct jose_signer *a = NULL, *b = NULL;
	struct err e = { 0 };
	json_t *jwks;

	(void)state;
	need_hsm();
	assert_int_equal(jose_signer_pkcs11(URI_SIG, pin_ok, &a, &e), 0);
	assert_int_equal(jose_signer_pkcs11(URI_BASE ";id=%01" URI_TAIL, pin_ok, &b, &e), 0);
	assert_string_equal(a->kid, b->kid);
	jwks = jwks_of(a);
	sign_verify(a, jwks, 2);
	sign_verify(b, jwks, 3);
	jose_signer_free(a);
	sign_verify(b, jwks, 4);
	json_decref(jwks);
	jose_signer_free(b);
}

struct worker {
	const struct jose_signer *s;
	const json_t *jwks;
	int fails;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		json_t *claims = json_pack("{s:i}", "i", i), *back = NULL;
		struct err e = { 0 };
		char *jws = NULL;

		if (jose_jwt_sign(w->s, claims, NULL, &jws, &e) != 0 ||
		    jose_jwt_verify(str_c(jws), w->jwks, JOSE_ALG_RS256, &back, &e) != 0 ||
		    !json_equal(claims, back))
			w->fails++;
		json_decref(back);
		json_decref(claims);
		free(jws);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct jose_signer *s = NULL;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct timespec t0, t1;
	struct err e = { 0 };
	json_t *jwks;
	double secs;

	(void)state;
	need_hsm();
	assert_int_equal(jose_signer_pkcs11(URI_SIG, pin_ok, &s, &e), 0);
	jwks = jwks_of(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .s = s, .jwks = jwks };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].fails, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("%d signatures (and verifications) in %d threads: %.0f a second\n",
		      THREADS * PER_THREAD, THREADS, THREADS * PER_THREAD / secs);
	json_decref(jwks);
	jose_signer_free(s);
}

/* Raw signatures a second from one thread, for docs/internals.md. */
static void
test_rate(void **state)
{
	struct jose_signer *s = NULL;
	struct timespec t0, t1;
	struct err e = { 0 };
	double secs;

	(void)state;
	need_hsm();
	assert_int_equal(jose_signer_pkcs11(URI_SIG, pin_ok, &s, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 200; i++) {
		unsigned char *sig = NULL;
		size_t len = 0;

		assert_int_equal(s->sign(s, "a.b", 3, &sig, &len, &e), 0);
		assert_int_equal(len, 256);
		free(sig);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("one thread: %.0f signatures a second\n", 200 / secs);
	jose_signer_free(s);
}

static void
test_wrong_pin(void **state)
{
	struct jose_signer *s = NULL;
	struct err e = { 0 };

	(void)state;
	need_hsm();
	assert_int_equal(jose_signer_pkcs11(URI_SIG, pin_bad, &s, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "refused the PIN"));
	assert_null(s);
	assert_int_equal(jose_signer_pkcs11(URI_SIG, NULL, &s, &e), ERR_INVAL);
	assert_int_equal(jose_signer_pkcs11(URI_SIG, "/nonexistent/pin", &s, &e), ERR_NOTFOUND);
	/* A PIN file others may read is no secret. */
	assert_int_equal(chmod(pin_bad, 0644), 0);
	assert_int_equal(jose_signer_pkcs11(URI_SIG, pin_bad, &s, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, pin_bad));
	assert_int_equal(chmod(pin_bad, 0600), 0);
}

static void
test_missing_key(void **state)
{
	struct jose_signer *s = NULL;
	struct err e = { 0 };

	(void)state;
	need_hsm();
	assert_int_equal(jose_signer_pkcs11(URI_BASE ";object=nope" URI_TAIL, pin_ok, &s, &e),
			 ERR_NOTFOUND);
	assert_int_equal(jose_signer_pkcs11("pkcs11:token=other;object=sig" URI_TAIL, pin_ok, &s,
					    &e),
			 ERR_UNAVAILABLE);
	/* Two keys match: the URI must say which. */
	assert_int_equal(jose_signer_pkcs11(URI_BASE URI_TAIL, pin_ok, &s, &e), ERR_INVAL);
	assert_null(s);
}

static void
test_refused_key(void **state)
{
	struct jose_signer *s = NULL;
	struct err e = { 0 };

	(void)state;
	need_hsm();
	assert_int_equal(jose_signer_pkcs11(URI_BASE ";object=ec" URI_TAIL, pin_ok, &s, &e),
			 ERR_CRYPTO);
	assert_null(s);
}

static void
test_bad_uri(void **state)
{
	struct jose_signer *s = NULL;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(jose_signer_pkcs11("pkcs11:token=porten;object=sig", pin_ok, &s, &e),
			 ERR_INVAL);
	assert_non_null(strstr(e.msg, "module-path"));
	assert_int_equal(jose_signer_pkcs11("https://hsm.example/key", pin_ok, &s, &e), ERR_INVAL);
	assert_int_equal(jose_signer_pkcs11(NULL, pin_ok, &s, &e), ERR_INVAL);
	assert_int_equal(jose_signer_pkcs11("pkcs11:object=sig?module-path=/nonexistent.so",
					    pin_ok, &s, &e),
			 ERR_UNAVAILABLE);
	assert_null(s);
}

/*
 * The token goes away under a live signer (its files moved, as a network
 * HSM drops off) and comes back: signing answers ERR_UNAVAILABLE, at
 * once while the retry second runs, then resumes with the same key.
 */
static void
test_token_away_and_back(void **state)
{
	struct jose_signer *s = NULL;
	struct err e = { 0 };
	unsigned char *sig = NULL;
	size_t len = 0;
	char tokens[96], away[112];
	json_t *jwks;

	(void)state;
	need_hsm();
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	snprintf(away, sizeof(away), "%s.away", tokens);
	assert_int_equal(jose_signer_pkcs11(URI_SIG, pin_ok, &s, &e), 0);
	jwks = jwks_of(s);
	sign_verify(s, jwks, 1);
	assert_int_equal(rename(tokens, away), 0);
	assert_int_equal(s->sign(s, "x", 1, &sig, &len, &e), ERR_UNAVAILABLE);
	assert_null(sig);
	assert_int_equal(s->sign(s, "x", 1, &sig, &len, &e), ERR_UNAVAILABLE);
	assert_int_equal(rename(away, tokens), 0);
	usleep(1100 * 1000);
	sign_verify(s, jwks, 2);
	sign_verify(s, jwks, 3);
	json_decref(jwks);
	jose_signer_free(s);
}

/* Last: it deletes the token under a live signer. */
static void
test_token_removed(void **state)
{
	char *const del[] = { "softhsm2-util", "--delete-token", "--token", "porten", NULL };
	struct jose_signer *s = NULL;
	struct err e = { 0 };
	unsigned char *sig = NULL;
	size_t len = 0;
	json_t *claims;
	char *jws = NULL;

	(void)state;
	need_hsm();
	assert_int_equal(jose_signer_pkcs11(URI_SIG, pin_ok, &s, &e), 0);
	assert_true(run(del));
	claims = json_pack("{s:s}", "sub", "x");
	assert_int_equal(jose_jwt_sign(s, claims, NULL, &jws, &e), ERR_UNAVAILABLE);
	assert_null(jws);
	assert_int_equal(s->sign(s, "x", 1, &sig, &len, &e), ERR_UNAVAILABLE);
	assert_null(sig);
	json_decref(claims);
	/* A token that is away at start-up. */
	{
		struct jose_signer *s2 = NULL;

		assert_int_equal(jose_signer_pkcs11(URI_SIG, pin_ok, &s2, &e), ERR_UNAVAILABLE);
	}
	/* A token of that name comes back with another key under the URI: not this signer's. */
	{
		char *const init[] = { "softhsm2-util", "--init-token", "--free", "--label", "porten",
				       "--pin", "1234", "--so-pin", "5678", NULL };

		assert_true(run(init) && keygen("rsa:2048", "01", "sig"));
	}
	usleep(1100 * 1000);
	assert_int_equal(s->sign(s, "x", 1, &sig, &len, &e), ERR_UNAVAILABLE);
	assert_null(sig);
	assert_non_null(strstr(e.msg, "not available"));
	jose_signer_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify),   cmocka_unit_test(test_by_id_twice),
		cmocka_unit_test(test_threads),       cmocka_unit_test(test_rate),
		cmocka_unit_test(test_wrong_pin),
		cmocka_unit_test(test_missing_key),   cmocka_unit_test(test_refused_key),
		cmocka_unit_test(test_bad_uri),       cmocka_unit_test(test_token_away_and_back),
		cmocka_unit_test(test_token_removed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
