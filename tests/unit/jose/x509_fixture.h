/*
 * Test certificates made with OpenSSL's API: CAs, business certificates in
 * the older national profile (serialNumber) and SEID 2.0 (organizationIdentifier,
 * optionally qualified), expired ones, CRLs.  Shared by the x509 and the
 * Maskinporten grant tests; every function is static.
 */
#ifndef PORTEN_TEST_X509_FIXTURE_H
#define PORTEN_TEST_X509_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fx_cert {
	const char *cn;
	const char *serial_number;   /* subject serialNumber (older profile) */
	const char *org_id;          /* subject organizationIdentifier (SEID 2.0) */
	X509 *issuer;                /* NULL: self-signed */
	EVP_PKEY *issuer_key;
	EVP_PKEY *key;               /* the subject's key */
	long serial;
	long from, to;               /* validity, seconds relative to now */
	int ca;                      /* basicConstraints CA:TRUE, keyCertSign */
	const char *key_usage;       /* NULL: digitalSignature (leaf) */
	int qualified;               /* add qcStatements with QcCompliance */
};

static EVP_PKEY *
fx_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_RSA_gen(bits);

	if (k == NULL)
		abort();
	return k;
}

static void
fx_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || !X509_add_ext(x, ext, -1))
		abort();
	X509_EXTENSION_free(ext);
}

static X509 *
fx_cert_make(const struct fx_cert *o)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	EVP_PKEY *signer = o->issuer_key ? o->issuer_key : o->key;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), o->serial ? o->serial : 1);
	X509_gmtime_adj(X509_getm_notBefore(x), o->from);
	X509_gmtime_adj(X509_getm_notAfter(x), o->to ? o->to : 365L * 86400);
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"NO", -1, -1, 0);
	if (o->org_id != NULL)
		X509_NAME_add_entry_by_txt(n, "organizationIdentifier", MBSTRING_ASC,
					   (const unsigned char *)o->org_id, -1, -1, 0);
	if (o->serial_number != NULL)
		X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_ASC,
					   (const unsigned char *)o->serial_number, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)o->cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, o->issuer ? X509_get_subject_name(o->issuer) : n);
	X509_set_pubkey(x, o->key);
	fx_ext(x, o->issuer, NID_subject_key_identifier, "hash");
	if (o->issuer != NULL)
		fx_ext(x, o->issuer, NID_authority_key_identifier, "keyid");
	if (o->ca) {
		fx_ext(x, o->issuer, NID_basic_constraints, "critical,CA:TRUE");
		fx_ext(x, o->issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		fx_ext(x, o->issuer, NID_basic_constraints, "critical,CA:FALSE");
		fx_ext(x, o->issuer, NID_key_usage,
		       o->key_usage ? o->key_usage : "critical,digitalSignature");
	}
	if (o->qualified) {
		/* QCStatements ::= SEQUENCE { SEQUENCE { OID 0.4.0.1862.1.1 } } */
		static const unsigned char der[] = { 0x30, 0x0a, 0x30, 0x08, 0x06, 0x06, 0x04,
						     0x00, 0x8e, 0x46, 0x01, 0x01 };
		ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.5.5.7.1.3", 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *ext;

		ASN1_OCTET_STRING_set(os, der, sizeof(der));
		ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	if (!X509_sign(x, signer, EVP_sha256()))
		abort();
	X509_NAME_free(n);
	return x;
}

/* Standard base64 of the DER form (what x5c holds); malloc'd. */
static char *
fx_b64der(X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	char *out = malloc((size_t)n * 4 / 3 + 8);

	EVP_EncodeBlock((unsigned char *)out, der, n);
	OPENSSL_free(der);
	return out;
}

static void
fx_pem_write(const char *path, X509 *a, X509 *b)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	PEM_write_X509(f, a);
	if (b != NULL)
		PEM_write_X509(f, b);
	fclose(f);
}

/* A CRL of issuer revoking serial (0: none), next update in next seconds (negative: stale). */
static void
fx_crl_write(const char *path, X509 *issuer, EVP_PKEY *key, long serial, long next)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	FILE *f;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	X509_gmtime_adj(t, next < 0 ? next - 86400 : -60);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, next);
	X509_CRL_set1_nextUpdate(crl, t);
	if (serial != 0) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, serial);
		X509_REVOKED_set_serialNumber(r, s);
		X509_gmtime_adj(t, -3600);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	X509_CRL_sort(crl);
	if (!X509_CRL_sign(crl, key, EVP_sha256()))
		abort();
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	PEM_write_X509_CRL(f, crl);
	fclose(f);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

#endif
