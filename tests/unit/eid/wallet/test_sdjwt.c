/*
 * Tests for the wallet verifier's crypto (spec/eudi-wallet.md §6): an SD-JWT
 * VC presentation made by the test wallet (tests/fuzz/corpus/wallet, from
 * gen_wallet_corpus.py) verifies and yields its disclosed claims; a wrong
 * nonce, audience, time, anchor or an extra disclosure is refused with the
 * right reason, and so is a credential of another country than its
 * anchor's; the encrypted response decrypts, and not once tampered with;
 * the ES256 signer's request objects verify with its public key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "eid/wallet/wallet_int.h"
#include "../../../fuzz/wallet_fixture.h"

static struct jose_x509_trust *anchors;
/* The fixture's anchor as Norwegian, and as a foreign country's. */
static struct wallet_anchor anchor_no = { .cc = "NO" }, anchor_de = { .cc = "DE" };

static char *
corpus(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf = malloc(65536);

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/wallet/%s", PORTEN_SOURCE_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

static struct wallet_check
check(void)
{
	return (struct wallet_check){ .anchors = &anchor_no, .nanchors = 1, .aud = FZW_AUD,
				      .nonce = FZW_NONCE, .now = FZW_NOW, .tx_start = FZW_NOW - 10 };
}

static int
verify(const char *name, struct wallet_check c, enum wallet_fail *why, json_t **claims)
{
	size_t n;
	char *buf = corpus(name, &n);
	const struct wallet_anchor *by = NULL;
	struct err e;
	int rc;

	*claims = NULL;
	rc = wallet_sdjwt_verify((struct str){ buf + 1, n - 1 }, &c, claims, &by, why, &e);
	if (rc == 0)
		assert_ptr_equal(by, &anchor_no);
	free(buf);
	return rc;
}

static int
setup(void **state)
{
	char path[] = "/tmp/unit-wallet-XXXXXX";
	struct err e;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, fzw_anchor, sizeof(fzw_anchor) - 1), sizeof(fzw_anchor) - 1);
	close(fd);
	assert_int_equal(jose_x509_trust_load(path, NULL, &anchors, &e), 0);
	anchor_no.trust = anchor_de.trust = anchors;
	unlink(path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	jose_x509_trust_free(anchors);
	return 0;
}

static void
test_valid(void **state)
{
	enum wallet_fail why;
	json_t *cl;

	(void)state;
	assert_int_equal(verify("pres_valid", check(), &why, &cl), 0);
	assert_string_equal(json_string_value(json_object_get(cl, "given_name")), "Kari");
	assert_string_equal(json_string_value(json_object_get(cl, "personal_administrative_number")),
			    "21879498012");
	/* the array element came from its own disclosure */
	assert_string_equal(json_string_value(json_array_get(json_object_get(cl, "nationalities"), 0)),
			    "NO");
	assert_null(json_object_get(cl, "_sd"));
	assert_null(json_object_get(cl, "_sd_alg"));
	json_decref(cl);
}

static void
test_refused(void **state)
{
	struct wallet_check c;
	enum wallet_fail why;
	json_t *cl;

	(void)state;
	c = check();
	c.nonce = "another";
	assert_int_not_equal(verify("pres_valid", c, &why, &cl), 0);
	assert_int_equal(why, WALLET_FAIL_INVALID);
	c = check();
	c.aud = "x509_hash:other";
	assert_int_not_equal(verify("pres_valid", c, &why, &cl), 0);
	c = check();
	c.now += 3 * 86400; /* past the credential's exp, still within the certificates */
	assert_int_not_equal(verify("pres_valid", c, &why, &cl), 0);
	assert_int_equal(why, WALLET_FAIL_EXPIRED);
	c = check();
	c.nanchors = 0;
	assert_int_not_equal(verify("pres_valid", c, &why, &cl), 0);
	assert_int_equal(why, WALLET_FAIL_UNTRUSTED);
	/* a PID of NO under the anchor of DE: the chain holds, the country does not */
	c = check();
	c.anchors = &anchor_de;
	assert_int_equal(verify("pres_valid", c, &why, &cl), ERR_DENIED);
	assert_int_equal(why, WALLET_FAIL_UNTRUSTED);
	assert_null(cl);
	assert_int_not_equal(verify("pres_extra", check(), &why, &cl), 0);
	assert_int_not_equal(verify("pres_expired_kb", check(), &why, &cl), 0);
	assert_int_not_equal(verify("garbage", check(), &why, &cl), 0);
}

/* §10: the claims that name a country must name the anchor's. */
static void
test_country_check(void **state)
{
	static const struct {
		const char *claims, *cc;
		bool ok;
	} cases[] = {
		{ "{\"issuing_country\": \"SE\"}", "SE", true },
		{ "{\"issuing_country\": \"NO\"}", "NO", true },
		/* another country's people, by a provider of DE (or of NO) */
		{ "{\"issuing_country\": \"SE\"}", "DE", false },
		{ "{\"issuing_country\": \"SE\"}", "NO", false },
		{ "{\"issuing_country\": \"NO\"}", "DE", false },
		{ "{}", "DE", false },
		{ "{\"issuing_country\": 1}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"issuing_jurisdiction\": \"DE-BY\"}", "DE", true },
		{ "{\"issuing_country\": \"DE\", \"issuing_jurisdiction\": \"SE-AB\"}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"issuing_jurisdiction\": \"DE\"}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"issuing_jurisdiction\": \"D\"}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"issuing_jurisdiction\": null}", "DE", false },
		/* vct: the EU-wide type names no country, a national type its own */
		{ "{\"issuing_country\": \"DE\", \"vct\": \"urn:eudi:pid:1\"}", "DE", true },
		{ "{\"issuing_country\": \"DE\", \"vct\": \"urn:eudi:pid:de:1\"}", "DE", true },
		{ "{\"issuing_country\": \"NO\", \"vct\": \"urn:eudi:pid:no:12\"}", "NO", true },
		{ "{\"issuing_country\": \"DE\", \"vct\": \"urn:eudi:pid:se:1\"}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"vct\": \"urn:eudi:pid:no:1\"}", "DE", false },
		{ "{\"issuing_country\": \"NO\", \"vct\": \"urn:eudi:pid:de:1\"}", "NO", false },
		{ "{\"issuing_country\": \"DE\", \"vct\": \"urn:eudi:pid:DE:1\"}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"vct\": \"urn:eudi:pid:d\"}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"vct\": \"urn:eudi:other:1\"}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"vct\": 1}", "DE", false },
		/* issuing_authority: an authority's name, or its Member State's alpha-2 code */
		{ "{\"issuing_country\": \"DE\", \"issuing_authority\": \"DE\"}", "DE", true },
		{ "{\"issuing_country\": \"DE\", \"issuing_authority\": \"Bundesdruckerei\"}",
		  "DE", true },
		{ "{\"issuing_country\": \"DE\", \"issuing_authority\": \"SE\"}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"issuing_authority\": \"se\"}", "DE", false },
		{ "{\"issuing_country\": \"SE\", \"issuing_authority\": \"NO\"}", "SE", false },
		{ "{\"issuing_country\": \"DE\", \"issuing_authority\": \"\"}", "DE", false },
		{ "{\"issuing_country\": \"DE\", \"issuing_authority\": [\"DE\"]}", "DE", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *cl = json_loads(cases[i].claims, 0, NULL);
		enum wallet_fail why = WALLET_FAIL_INVALID;
		struct err e;

		assert_non_null(cl);
		if (cases[i].ok) {
			assert_int_equal(wallet_country_check(cl, cases[i].cc, &why, &e), 0);
		} else {
			assert_int_equal(wallet_country_check(cl, cases[i].cc, &why, &e), ERR_DENIED);
			assert_int_equal(why, WALLET_FAIL_UNTRUSTED);
		}
		json_decref(cl);
	}
}

static void
test_jwe(void **state)
{
	struct jose_eckey *k = NULL;
	size_t n, len;
	char *buf = corpus("jwe_valid", &n), *plain = NULL, *dot;
	struct err e;
	json_t *p;

	(void)state;
	assert_int_equal(jose_eckey_from_pem(fzw_key, NULL, &k, &e), 0);
	assert_int_equal(jose_jwe_decrypt_ecdh((struct str){ buf + 1, n - 1 }, k, &plain, &len, &e),
			 0);
	p = json_loads(plain, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(p, "state")), "fuzz-tx");
	json_decref(p);
	free(plain);
	/* one changed character of the ciphertext: the tag does not match */
	dot = strrchr(buf, '.') - 2;
	*dot = *dot == 'A' ? 'B' : 'A';
	assert_int_equal(jose_jwe_decrypt_ecdh((struct str){ buf + 1, n - 1 }, k, &plain, &len, &e),
			 ERR_DENIED);
	assert_null(plain);
	jose_eckey_free(k);
	free(buf);
}

static void
test_es256_signer(void **state)
{
	struct jose_eckey *k = NULL;
	json_t *cl = json_pack("{s:s}", "a", "b"), *x5c = json_pack("[s]", "AAAA"), *jwk, *out,
	       *hdr;
	char *jws = NULL;
	struct err e;

	(void)state;
	assert_int_equal(jose_eckey_generate("k1", &k, &e), 0);
	assert_int_equal(jose_jwt_sign_x5c(jose_eckey_signer(k), cl, "oauth-authz-req+jwt", x5c,
					   &jws, &e), 0);
	jwk = jose_eckey_public_jwk(k);
	assert_int_equal(jose_jwt_verify(str_c(jws), jwk, JOSE_ALG_ES256, &out, &e), 0);
	assert_string_equal(json_string_value(json_object_get(out, "a")), "b");
	assert_int_equal(jose_jws_header(str_c(jws), &hdr, &e), 0);
	assert_true(json_equal(json_object_get(hdr, "x5c"), x5c));
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
	json_decref(hdr);
	json_decref(out);
	json_decref(jwk);
	json_decref(cl);
	json_decref(x5c);
	free(jws);
	jose_eckey_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_country_check),
		cmocka_unit_test(test_jwe),
		cmocka_unit_test(test_es256_signer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
