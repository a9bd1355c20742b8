/*
 * Tests for saml/enc.c: the AES-256-GCM EncryptedAssertion xmlsec makes
 * for an SP registered for it (spec §8).  The SP's private key decrypts it
 * back to the Assertion, another key does not; a Response without an
 * Assertion is left as it is; a bad certificate or a Response that is not
 * XML is an error with nothing made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <lasso/lasso.h>
#include <libxml/parser.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmltree.h>

/* the certificate maker of the x509 tests; its other helpers are not needed here */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../jose/x509_fixture.h"
#pragma GCC diagnostic pop
#include "saml/saml_int.h"

#define RESPONSE_HEAD                                                                       \
	"<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "            \
	"xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_r\" Version=\"2.0\">" \
	"<saml:Issuer>https://idp.example.no</saml:Issuer>"
#define ASSERTION                                                                          \
	"<saml:Assertion ID=\"_a\" Version=\"2.0\"><saml:Issuer>https://idp.example.no"   \
	"</saml:Issuer><saml:AttributeStatement><saml:Attribute Name=\"uid\">"             \
	"<saml:AttributeValue>12345678901</saml:AttributeValue></saml:Attribute>"           \
	"</saml:AttributeStatement></saml:Assertion>"

struct sp_key {
	char *key_pem, *cert_pem;
};

static char *
pem_of(int (*write)(BIO *, void *), void *obj)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *out;
	long n;

	if (b == NULL || !write(b, obj))
		abort();
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

static int
write_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static int
write_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

static struct sp_key
sp_key_make(void)
{
	struct fx_cert o = { .cn = "sp.example.no", .key = fx_rsa(2048),
			     .key_usage = "critical,digitalSignature,keyEncipherment" };
	X509 *x = fx_cert_make(&o);
	struct sp_key k = { pem_of(write_key, o.key), pem_of(write_cert, x) };

	X509_free(x);
	EVP_PKEY_free(o.key);
	return k;
}

/* The EncryptedData in the Response decrypted with key_pem: the Assertion's XML, or NULL. */
static char *
decrypt(const char *response, const char *key_pem)
{
	xmlDoc *doc = xmlReadMemory(response, (int)strlen(response), NULL, NULL, XML_PARSE_NONET);
	xmlNode *ed = doc != NULL ? xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeEncryptedData,
						 xmlSecEncNs)
				  : NULL;
	xmlSecKeysMngrPtr m = xmlSecKeysMngrCreate();
	xmlSecKeyPtr k = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)key_pem,
						      (xmlSecSize)strlen(key_pem),
						      xmlSecKeyDataFormatPem, NULL, NULL, NULL);
	xmlSecEncCtxPtr ctx;
	xmlBuffer *b = xmlBufferCreate();
	char *out = NULL;

	assert_non_null(ed);
	assert_non_null(k);
	assert_int_equal(xmlSecCryptoAppDefaultKeysMngrInit(m), 0);
	assert_int_equal(xmlSecCryptoAppDefaultKeysMngrAdoptKey(m, k), 0);
	ctx = xmlSecEncCtxCreate(m);
	if (xmlSecEncCtxDecrypt(ctx, ed) == 0 && ctx->resultReplaced) {
		xmlNodeDump(b, doc, xmlDocGetRootElement(doc), 0, 0);
		out = strdup((const char *)xmlBufferContent(b));
	}
	xmlBufferFree(b);
	xmlSecEncCtxDestroy(ctx);
	xmlSecKeysMngrDestroy(m);
	xmlFreeDoc(doc);
	return out;
}

static void
test_round_trip(void **state)
{
	struct sp_key sp = sp_key_make(), other = sp_key_make();
	struct err e = { 0 };
	char *out = NULL, *plain;

	(void)state;
	assert_int_equal(saml_encrypt_gcm(RESPONSE_HEAD ASSERTION "</samlp:Response>", sp.cert_pem,
					  &out, &e),
			 0);
	assert_non_null(strstr(out, "<saml:EncryptedAssertion><EncryptedData xmlns=\""
				    "http://www.w3.org/2001/04/xmlenc#\" Type=\""
				    "http://www.w3.org/2001/04/xmlenc#Element\""));
	assert_non_null(strstr(out, "Algorithm=\"http://www.w3.org/2009/xmlenc11#aes256-gcm\""));
	assert_non_null(strstr(out, "Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\""));
	assert_null(strstr(out, "Assertion ID"));
	assert_null(strstr(out, "12345678901"));
	/* the Response around it is kept */
	assert_non_null(strstr(out, "ID=\"_r\""));
	assert_non_null(strstr(out, "<saml:Issuer>https://idp.example.no</saml:Issuer><saml:Enc"));

	plain = decrypt(out, sp.key_pem);
	assert_non_null(plain);
	assert_non_null(strstr(plain, "<saml:Assertion"));
	assert_non_null(strstr(plain, "<saml:AttributeValue>12345678901</saml:AttributeValue>"));
	free(plain);
	assert_null(decrypt(out, other.key_pem));
	free(out);
	free(sp.key_pem);
	free(sp.cert_pem);
	free(other.key_pem);
	free(other.cert_pem);
}

static void
test_no_assertion_unchanged(void **state)
{
	const char *in = RESPONSE_HEAD "<samlp:Status><samlp:StatusCode Value=\"urn:x\"/>"
				       "</samlp:Status></samlp:Response>";
	struct err e = { 0 };
	char *out = NULL;

	(void)state;
	/* no Assertion: the certificate is not even needed */
	assert_int_equal(saml_encrypt_gcm(in, NULL, &out, &e), 0);
	assert_string_equal(out, in);
	free(out);
}

static void
test_errors_make_nothing(void **state)
{
	struct err e = { 0 };
	char *out = (char *)"x";

	(void)state;
	assert_int_not_equal(saml_encrypt_gcm(RESPONSE_HEAD ASSERTION "</samlp:Response>",
					      "-----BEGIN CERTIFICATE-----\nAAAA\n"
					      "-----END CERTIFICATE-----\n",
					      &out, &e),
			     0);
	assert_null(out);
	out = (char *)"x";
	assert_int_not_equal(saml_encrypt_gcm(RESPONSE_HEAD ASSERTION, NULL, &out, &e), 0);
	assert_null(out);
	out = (char *)"x";
	assert_int_not_equal(saml_encrypt_gcm("", NULL, &out, &e), 0);
	assert_null(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_no_assertion_unchanged),
		cmocka_unit_test(test_errors_make_nothing),
	};
	int rc;

	if (lasso_init() != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	lasso_shutdown();
	return rc;
}
