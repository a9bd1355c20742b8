/*
 * Tests for jose/x509.c (spec/maskinporten.md §10): trust anchors and CRLs
 * loaded from files and directories; business certificates in both
 * profiles accepted with the right organisation number and client_amr;
 * expired, not yet valid, revoked, untrusted, CA, non-signing, weak-key
 * and organisation-less certificates refused; stale or missing CRLs fail
 * closed; every malformed x5c shape refused as malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/b64.h"
#include "core/timeutil.h"
#include "jose/jose.h"
#include "x509_fixture.h"

#define ORG "910000004"        /* valid mod-11 organisation number */
#define REVOKED_SERIAL 77

static char dir[64];
static EVP_PKEY *root_key, *evil_key, *leaf_key, *small_key;
static X509 *root, *evil;

enum { C_VALID, C_SEAL, C_QSEAL, C_EXPIRED, C_FUTURE, C_REVOKED, C_UNTRUSTED, C_CA, C_NOSIGN,
       C_NOORG, C_FOREIGN, C_BADORG, C_SMALL, C_NONREP, C_N };
static X509 *certs[C_N];

static char *
path(const char *name)
{
	static char buf[4][128];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static X509 *
leaf(const char *cn, const char *sn, const char *orgid, long serial)
{
	return fx_cert_make(&(struct fx_cert){ .cn = cn, .serial_number = sn, .org_id = orgid,
					       .issuer = root, .issuer_key = root_key,
					       .key = leaf_key, .serial = serial });
}

static int
group_setup(void **state)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/porten-x509-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	root_key = fx_rsa(2048);
	evil_key = fx_rsa(2048);
	leaf_key = fx_rsa(2048);
	small_key = fx_rsa(1024);
	root = fx_cert_make(&(struct fx_cert){ .cn = "Test Root", .key = root_key, .ca = 1,
					       .serial = 1, .to = 10 * 365L * 86400 });
	evil = fx_cert_make(&(struct fx_cert){ .cn = "Evil Root", .key = evil_key, .ca = 1,
					       .serial = 1, .to = 10 * 365L * 86400 });
	certs[C_VALID] = leaf("Org AS", ORG, NULL, 10);
	certs[C_SEAL] = leaf("Org seal", NULL, "NTRNO-" ORG, 11);
	certs[C_QSEAL] = fx_cert_make(&(struct fx_cert){
		.cn = "Org qseal", .org_id = "NTRNO-" ORG, .issuer = root, .issuer_key = root_key,
		.key = leaf_key, .serial = 12, .qualified = 1,
		.key_usage = "critical,nonRepudiation" });
	certs[C_EXPIRED] = fx_cert_make(&(struct fx_cert){
		.cn = "Old", .serial_number = ORG, .issuer = root, .issuer_key = root_key,
		.key = leaf_key, .serial = 13, .from = -2 * 365L * 86400, .to = -365L * 86400 });
	certs[C_FUTURE] = fx_cert_make(&(struct fx_cert){
		.cn = "Soon", .serial_number = ORG, .issuer = root, .issuer_key = root_key,
		.key = leaf_key, .serial = 14, .from = 86400, .to = 365L * 86400 });
	certs[C_REVOKED] = leaf("Revoked", ORG, NULL, REVOKED_SERIAL);
	certs[C_UNTRUSTED] = fx_cert_make(&(struct fx_cert){
		.cn = "Forged", .serial_number = ORG, .issuer = evil, .issuer_key = evil_key,
		.key = leaf_key, .serial = 15 });
	certs[C_CA] = fx_cert_make(&(struct fx_cert){
		.cn = "Sub CA", .serial_number = ORG, .issuer = root, .issuer_key = root_key,
		.key = leaf_key, .serial = 16, .ca = 1 });
	certs[C_NOSIGN] = fx_cert_make(&(struct fx_cert){
		.cn = "Encrypt only", .serial_number = ORG, .issuer = root, .issuer_key = root_key,
		.key = leaf_key, .serial = 17, .key_usage = "critical,keyEncipherment" });
	certs[C_NOORG] = leaf("Nobody", NULL, NULL, 18);
	certs[C_FOREIGN] = leaf("Svensk AB", NULL, "VATSE-556000000001", 19);
	certs[C_BADORG] = leaf("Bad sum", "910000005", NULL, 20);
	certs[C_SMALL] = fx_cert_make(&(struct fx_cert){
		.cn = "Weak", .serial_number = ORG, .issuer = root, .issuer_key = root_key,
		.key = small_key, .serial = 21 });
	certs[C_NONREP] = fx_cert_make(&(struct fx_cert){
		.cn = "Seal", .serial_number = ORG, .issuer = root, .issuer_key = root_key,
		.key = leaf_key, .serial = 22, .key_usage = "critical,nonRepudiation" });
	fx_pem_write(path("root.pem"), root, NULL);
	fx_pem_write(path("both.pem"), root, evil);
	fx_crl_write(path("crl.pem"), root, root_key, REVOKED_SERIAL, 7 * 86400);
	fx_crl_write(path("stale.pem"), root, root_key, 0, -3600);
	fx_crl_write(path("evilcrl.pem"), evil, evil_key, 0, 7 * 86400);
	f = fopen(path("empty.pem"), "w");
	if (f == NULL)
		return -1;
	fputs("not a certificate\n", f);
	fclose(f);
	if (mkdir(path("anchors"), 0700) != 0)
		return -1;
	fx_pem_write(path("anchors/a.pem"), root, NULL);
	fx_pem_write(path("anchors/.hidden"), evil, NULL);
	if (mkdir(path("junkdir"), 0700) != 0)
		return -1;
	fx_pem_write(path("junkdir/a.pem"), root, NULL);
	f = fopen(path("junkdir/readme.txt"), "w");
	if (f == NULL)
		return -1;
	fputs("hello\n", f);
	fclose(f);
	return 0;
}

static int
group_teardown(void **state)
{
	const char *files[] = { "root.pem", "both.pem", "crl.pem", "stale.pem", "evilcrl.pem",
				"empty.pem", "anchors/a.pem", "anchors/.hidden", "junkdir/a.pem",
				"junkdir/readme.txt", NULL };

	for (size_t i = 0; files[i] != NULL; i++)
		unlink(path(files[i]));
	rmdir(path("anchors"));
	rmdir(path("junkdir"));
	rmdir(dir);
	for (int i = 0; i < C_N; i++)
		X509_free(certs[i]);
	X509_free(root);
	X509_free(evil);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(evil_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(small_key);
	return 0;
}

static struct jose_x509_trust *
trust(const char *ca, const char *crl)
{
	struct jose_x509_trust *t = NULL;
	struct err e = { 0 };

	if (jose_x509_trust_load(path(ca), crl ? path(crl) : NULL, &t, &e) != 0)
		print_error("trust load: %s\n", e.msg);
	assert_non_null(t);
	return t;
}

/* x5c of leaf (and optionally an extra certificate). */
static json_t *
x5c_of(X509 *a, X509 *b)
{
	char *s1 = fx_b64der(a), *s2 = b ? fx_b64der(b) : NULL;
	json_t *j = b ? json_pack("[ss]", s1, s2) : json_pack("[s]", s1);

	free(s1);
	free(s2);
	return j;
}

static int
check(struct jose_x509_trust *t, X509 *x, struct jose_x509_cert *out, struct err *e)
{
	json_t *x5c = x5c_of(x, NULL);
	int rc = jose_x509_verify_x5c(t, x5c, time_now(), out, e);

	json_decref(x5c);
	return rc;
}

static void
test_trust_load(void **state)
{
	struct jose_x509_trust *t = NULL;
	struct err e = { 0 };

	assert_int_equal(jose_x509_trust_load(path("nosuch.pem"), NULL, &t, &e), ERR_IO);
	assert_null(t);
	assert_int_equal(jose_x509_trust_load(path("empty.pem"), NULL, &t, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "empty.pem"));
	assert_int_equal(jose_x509_trust_load(NULL, NULL, &t, &e), ERR_INVAL);
	assert_int_equal(jose_x509_trust_load("", NULL, &t, &e), ERR_INVAL);
	/* A CRL path that holds no CRL (nor anything else) is refused too. */
	assert_int_equal(jose_x509_trust_load(path("root.pem"), path("empty.pem"), &t, &e),
			 ERR_INVAL);
	assert_int_equal(jose_x509_trust_load(path("root.pem"), path("nosuch"), &t, &e), ERR_IO);
	/* Certificates where the CRLs should be: refused rather than failing every grant. */
	assert_int_equal(jose_x509_trust_load(path("root.pem"), path("both.pem"), &t, &e),
			 ERR_INVAL);
	assert_non_null(strstr(e.msg, "no CRL"));
	/* A directory: every regular file must hold PEM; hidden files are skipped. */
	assert_int_equal(jose_x509_trust_load(path("junkdir"), NULL, &t, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "readme.txt"));
	assert_int_equal(jose_x509_trust_load(path("anchors"), NULL, &t, &e), 0);
	assert_non_null(t);
	/* Reference counting: two references, two frees. */
	assert_ptr_equal(jose_x509_trust_ref(t), t);
	jose_x509_trust_free(t);
	jose_x509_trust_free(t);
	jose_x509_trust_free(NULL);
	assert_null(jose_x509_trust_ref(NULL));
}

static void
test_directory_skips_hidden(void **state)
{
	struct jose_x509_trust *t = trust("anchors", NULL);
	struct jose_x509_cert c;
	struct err e = { 0 };

	assert_int_equal(check(t, certs[C_VALID], &c, &e), 0);
	jose_x509_cert_clear(&c);
	/* The evil root sat in a hidden file: not an anchor. */
	assert_int_equal(check(t, certs[C_UNTRUSTED], &c, &e), ERR_DENIED);
	jose_x509_trust_free(t);
}

static void
test_profiles(void **state)
{
	struct jose_x509_trust *t = trust("root.pem", "crl.pem");
	static const struct {
		int cert;
		const char *amr;
	} ok[] = {
		{ C_VALID, "virksomhetssertifikat" },
		{ C_SEAL, "CForESeal" },
		{ C_QSEAL, "QCForESeal" },
		{ C_NONREP, "virksomhetssertifikat" },
	};
	struct jose_x509_cert c;
	struct err e = { 0 };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int rc = check(t, certs[ok[i].cert], &c, &e);

		if (rc != 0)
			print_error("cert %d: %s\n", ok[i].cert, e.msg);
		assert_int_equal(rc, 0);
		assert_string_equal(c.orgno, ORG);
		assert_string_equal(c.amr, ok[i].amr);
		assert_non_null(strstr(c.subject, "CN="));
		assert_string_equal(json_string_value(json_object_get(c.jwk, "kty")), "RSA");
		assert_string_equal(json_string_value(json_object_get(c.jwk, "e")), "AQAB");
		assert_int_equal(json_string_length(json_object_get(c.jwk, "n")), 342);
		assert_null(json_object_get(c.jwk, "d"));
		jose_x509_cert_clear(&c);
		assert_null(c.jwk);
	}
	jose_x509_cert_clear(NULL);
	jose_x509_trust_free(t);
}

static void
test_refused(void **state)
{
	struct jose_x509_trust *t = trust("root.pem", "crl.pem");
	static const struct {
		int cert;
		const char *why;
	} bad[] = {
		{ C_EXPIRED, "expired" },
		{ C_FUTURE, "not yet valid" },
		{ C_REVOKED, "revoked" },
		{ C_UNTRUSTED, "not accepted" },
		{ C_CA, "CA certificate" },
		{ C_NOSIGN, "not for signing" },
		{ C_NOORG, "organisation number" },
		{ C_FOREIGN, "organisation number" },
		{ C_BADORG, "organisation number" },
		{ C_SMALL, "bits" },
	};
	struct jose_x509_cert c;
	struct err e = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = check(t, certs[bad[i].cert], &c, &e);

		if (rc != ERR_DENIED || strstr(e.msg, bad[i].why) == NULL)
			print_error("cert %d: rc %d msg %s (want %s)\n", bad[i].cert, rc, e.msg,
				    bad[i].why);
		assert_int_equal(rc, ERR_DENIED);
		assert_non_null(strstr(e.msg, bad[i].why));
		assert_null(c.jwk);
		assert_string_equal(c.orgno, "");
	}
	/* No trust configured: nothing is accepted. */
	assert_int_equal(check(NULL, certs[C_VALID], &c, &e), ERR_DENIED);
	/* The untrusted root sent along in x5c does not make it trusted. */
	{
		json_t *x5c = x5c_of(certs[C_UNTRUSTED], evil);

		assert_int_equal(jose_x509_verify_x5c(t, x5c, time_now(), &c, &e), ERR_DENIED);
		json_decref(x5c);
	}
	jose_x509_trust_free(t);
}

static void
test_time_is_ours(void **state)
{
	struct jose_x509_trust *t = trust("root.pem", NULL);
	struct jose_x509_cert c;
	json_t *x5c = x5c_of(certs[C_VALID], NULL);
	struct err e = { 0 };

	/* The caller's clock decides: two years on, the certificate has expired. */
	assert_int_equal(jose_x509_verify_x5c(t, x5c, time_now() + 2 * 365L * 86400, &c, &e),
			 ERR_DENIED);
	assert_int_equal(jose_x509_verify_x5c(t, x5c, time_now() - 86400, &c, &e), ERR_DENIED);
	assert_int_equal(jose_x509_verify_x5c(t, x5c, time_now(), &c, &e), 0);
	jose_x509_cert_clear(&c);
	json_decref(x5c);
	jose_x509_trust_free(t);
}

static void
test_crl(void **state)
{
	struct jose_x509_trust *t;
	struct jose_x509_cert c;
	struct err e = { 0 };

	/* Without CRLs, revocation is not known. */
	t = trust("root.pem", NULL);
	assert_int_equal(check(t, certs[C_REVOKED], &c, &e), 0);
	jose_x509_cert_clear(&c);
	jose_x509_trust_free(t);
	/* A stale CRL fails closed, for every certificate. */
	t = trust("root.pem", "stale.pem");
	assert_int_equal(check(t, certs[C_VALID], &c, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "CRL"));
	jose_x509_trust_free(t);
	/* CRLs loaded, but none from the leaf's issuer: fail closed. */
	t = trust("both.pem", "evilcrl.pem");
	assert_int_equal(check(t, certs[C_VALID], &c, &e), ERR_DENIED);
	assert_non_null(strstr(e.msg, "CRL"));
	jose_x509_trust_free(t);
}

static void
test_malformed_x5c(void **state)
{
	struct jose_x509_trust *t = trust("root.pem", NULL);
	char *good = fx_b64der(certs[C_VALID]);
	size_t n = strlen(good);
	char *url = strdup(good), *nopad = NULL;
	char *trail = NULL, *spaced = NULL, *cut = strndup(good, n - 8);
	unsigned char *der = NULL;
	struct jose_x509_cert c;
	struct err e = { 0 };
	json_t *cases[20];
	size_t k = 0;
	int len;

	/* base64url characters in base64 */
	url[10] = '-';
	url[20] = '_';
	/* padding missing (or one too many: either way not a multiple of 4) */
	if (good[n - 1] == '=')
		nopad = strndup(good, n - 1);
	else
		assert_true(asprintf(&nopad, "%s=", good) > 0);
	/* DER followed by extra bytes */
	len = i2d_X509(certs[C_VALID], &der);
	der = OPENSSL_realloc(der, (size_t)len + 3);
	memcpy(der + len, "xyz", 3);
	trail = malloc((size_t)(len + 3) * 4 / 3 + 8);
	EVP_EncodeBlock((unsigned char *)trail, der, len + 3);
	OPENSSL_free(der);
	assert_true(asprintf(&spaced, "%.*s %s", 64, good, good + 64) > 0);

	cases[k++] = json_string(good);                   /* a string, not an array */
	cases[k++] = json_array();                        /* empty */
	cases[k++] = json_pack("[i]", 1);                 /* not strings */
	cases[k++] = json_pack("[s]", "");
	cases[k++] = json_pack("[s]", "QUJD");            /* base64, but not a certificate */
	cases[k++] = json_pack("[s]", "not base64!");
	cases[k++] = json_pack("[s]", url);
	cases[k++] = json_pack("[s]", nopad);
	cases[k++] = json_pack("[s]", "QUJDRA");          /* unpadded */
	cases[k++] = json_pack("[s]", "QU=D");            /* padding inside */
	cases[k++] = json_pack("[s]", trail);
	cases[k++] = json_pack("[s]", spaced);
	cases[k++] = json_pack("[s]", cut);
	cases[k++] = json_pack("[ss]", good, "QUJD");     /* a bad intermediate */
	cases[k++] = json_pack("{s:s}", "x5c", good);
	cases[k] = json_array();
	for (int i = 0; i < 11; i++)
		json_array_append_new(cases[k], json_string(good));
	k++;
	for (size_t i = 0; i < k; i++) {
		int rc = jose_x509_verify_x5c(t, cases[i], time_now(), &c, &e);

		if (rc != ERR_INVAL)
			print_error("case %zu: rc %d %s\n", i, rc, e.msg);
		assert_int_equal(rc, ERR_INVAL);
		assert_null(c.jwk);
		json_decref(cases[i]);
	}
	/* NULL x5c */
	assert_int_equal(jose_x509_verify_x5c(t, NULL, time_now(), &c, &e), ERR_INVAL);
	free(good);
	free(url);
	free(nopad);
	free(trail);
	free(spaced);
	free(cut);
	jose_x509_trust_free(t);
}

/* The public key of a certificate verifies what its private key signed, and nothing else. */
static void
test_jwk_verifies(void **state)
{
	struct jose_x509_trust *t = trust("root.pem", NULL);
	struct jose_x509_cert c;
	struct err e = { 0 };
	static const char hdr[] = "{\"alg\":\"RS256\"}", pay[] = "{\"iss\":\"x\"}";
	char h[64], p[64], *input = NULL, sig[400], *jws = NULL;
	unsigned char raw[256];
	size_t siglen = sizeof(raw);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	json_t *claims = NULL;

	assert_int_equal(check(t, certs[C_VALID], &c, &e), 0);
	b64url_encode(hdr, strlen(hdr), h);
	b64url_encode(pay, strlen(pay), p);
	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, leaf_key), 1);
	assert_int_equal(EVP_DigestSign(ctx, raw, &siglen, (unsigned char *)input,
					strlen(input)), 1);
	b64url_encode(raw, siglen, sig);
	assert_true(asprintf(&jws, "%s.%s", input, sig) > 0);
	assert_int_equal(jose_jwt_verify(str_c(jws), c.jwk, JOSE_ALG_RS_ALL, &claims, &e), 0);
	json_decref(claims);
	jose_x509_cert_clear(&c);
	/* The weak-key certificate never yields a key at all; the untrusted one neither. */
	assert_int_equal(check(t, certs[C_UNTRUSTED], &c, &e), ERR_DENIED);
	assert_null(c.jwk);
	EVP_MD_CTX_free(ctx);
	free(input);
	free(jws);
	jose_x509_trust_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trust_load),
		cmocka_unit_test(test_directory_skips_hidden),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_time_is_ours),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_malformed_x5c),
		cmocka_unit_test(test_jwk_verifies),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
