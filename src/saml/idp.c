/*
 * The identity provider's side of the proxy (spec/saml-proxy.md §2): its
 * key pair, its entityID and endpoint URLs under the ID-porten issuer, and
 * its metadata, plain or signed (the signature is xmlsec's).
 */
#include <lasso/lasso.h>
#include <libxml/tree.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include "app/app.h"
#include "core/crypto.h"
#include "core/fsperm.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "saml/saml_int.h"

#define IDP_PEM_MAX (64 * 1024)
#define IDP_METADATA_VALID (7 * 86400) /* validUntil of the signed metadata */
#define IDP_CACHE_DURATION "PT1H"

struct idp {
	bool on;
	char *entity_id;
	char *base;       /* the ID-porten issuer's base URL */
	char *key_pem;
	char *cert_pem;
	char *cert_b64;   /* DER, base64, for KeyDescriptor */
	char *metadata;   /* the plain metadata, for lasso */
};

static struct idp idp;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;

static void
lib_setup(void)
{
	lib_rc = lasso_init();
}

int
saml_lib_init(struct err *e)
{
	pthread_once(&lib_once, lib_setup);
	if (lib_rc != 0)
		return ERR(e, ERR_INTERNAL, 0, NULL, "lasso_init failed (%d)", lib_rc);
	return 0;
}

/* A whole small PEM file into a malloc'd string (fsperm_read_file), e naming the setting. */
static int
read_pem(const char *path, const char *what, char **out, struct err *e)
{
	struct err why = { 0 };

	int rc = fsperm_read_file(path, IDP_PEM_MAX, out, &why);

	if (rc == ERR_IO)
		return ERR(e, ERR_INVAL, 0, NULL, "%s %s: cannot open it", what, path);
	if (rc != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "%s %s: empty, unreadable or over %d bytes", what,
			   path, IDP_PEM_MAX);
	return 0;
}

/* The key is RSA of 2048 bits or more and belongs to the certificate (spec §8). */
static int
check_pair(struct err *e)
{
	BIO *kb = BIO_new_mem_buf(idp.key_pem, -1), *cb = BIO_new_mem_buf(idp.cert_pem, -1);
	EVP_PKEY *k = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	X509 *x = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	int rc = 0;

	if (k == NULL || x == NULL)
		rc = ERR(e, ERR_INVAL, 0, NULL, "saml_key_file/saml_cert_file: not PEM");
	else if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA || EVP_PKEY_get_bits(k) < 2048)
		rc = ERR(e, ERR_INVAL, 0, NULL, "saml_key_file: not an RSA key of 2048 bits or more");
	else if (X509_check_private_key(x, k) != 1)
		rc = ERR(e, ERR_INVAL, 0, NULL, "saml_key_file does not match saml_cert_file");
	if (rc == 0 && (idp.cert_b64 = saml_cert_b64(x)) == NULL)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(kb);
	BIO_free(cb);
	return rc;
}

int
saml_idp_load(struct porten *app, struct err *e)
{
	const struct cfg *c = app->cfg;
	const struct issuer *is = app_issuer(app, ISSUER_IDPORTEN);
	char buf[SAML_MAX_ENTITY_ID + 1];
	int rc;

	saml_idp_cleanup();
	if (c->saml_key_file == NULL || c->saml_key_file[0] == '\0' || is == NULL)
		return 0;
	if (c->saml_cert_file == NULL || c->saml_cert_file[0] == '\0')
		return ERR(e, ERR_INVAL, 0, NULL, "saml_key_file needs saml_cert_file");
	rc = saml_lib_init(e);
	if (rc == 0)
		rc = read_pem(c->saml_key_file, "saml_key_file", &idp.key_pem, e);
	if (rc == 0)
		rc = read_pem(c->saml_cert_file, "saml_cert_file", &idp.cert_pem, e);
	if (rc == 0)
		rc = check_pair(e);
	if (rc != 0) {
		saml_idp_cleanup();
		return rc;
	}
	snprintf(buf, sizeof(buf), "%s/saml/metadata", is->base);
	idp.entity_id = strdup(c->saml_entity_id != NULL && c->saml_entity_id[0] != '\0'
				       ? c->saml_entity_id
				       : buf);
	idp.base = strdup(is->base);
	if (idp.entity_id == NULL || idp.base == NULL) {
		saml_idp_cleanup();
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	idp.on = true;
	{
		size_t n;

		rc = saml_idp_metadata(false, &idp.metadata, &n, e);
	}
	if (rc != 0)
		saml_idp_cleanup();
	return rc;
}

const char *
saml_idp_metadata_plain(void)
{
	return idp.metadata;
}

void
saml_idp_cleanup(void)
{
	if (idp.key_pem != NULL)
		OPENSSL_cleanse(idp.key_pem, strlen(idp.key_pem));
	free(idp.key_pem);
	free(idp.cert_pem);
	free(idp.cert_b64);
	free(idp.entity_id);
	free(idp.base);
	free(idp.metadata);
	memset(&idp, 0, sizeof(idp));
}

bool
saml_idp_on(void)
{
	return idp.on;
}

const char *
saml_idp_entity_id(void)
{
	return idp.entity_id;
}

const char *
saml_idp_key_pem(void)
{
	return idp.key_pem;
}

const char *
saml_idp_cert_pem(void)
{
	return idp.cert_pem;
}

const char *
saml_idp_url(struct arena *a, const char *path)
{
	return arena_printf(a, "%s%s", idp.base, path);
}

static xmlNode *
endpoint(xmlNode *parent, xmlNs *md, const char *name, const char *binding, const char *path)
{
	char url[SAML_MAX_ENTITY_ID + 64];
	xmlNode *n = xmlNewChild(parent, md, BAD_CAST name, NULL);

	snprintf(url, sizeof(url), "%s%s", idp.base, path);
	xmlNewProp(n, BAD_CAST "Binding", BAD_CAST binding);
	xmlNewProp(n, BAD_CAST "Location", BAD_CAST url);
	return n;
}

static xmlDoc *
metadata_doc(void)
{
	xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *root, *d, *kd, *ki, *xd, *ars;
	xmlNs *md, *ds;

	root = xmlNewNode(NULL, BAD_CAST "EntityDescriptor");
	md = xmlNewNs(root, BAD_CAST SAML_NS_MD, BAD_CAST "md");
	ds = xmlNewNs(root, BAD_CAST SAML_NS_DS, BAD_CAST "ds");
	xmlSetNs(root, md);
	xmlDocSetRootElement(doc, root);
	xmlNewProp(root, BAD_CAST "entityID", BAD_CAST idp.entity_id);
	d = xmlNewChild(root, md, BAD_CAST "IDPSSODescriptor", NULL);
	xmlNewProp(d, BAD_CAST "WantAuthnRequestsSigned", BAD_CAST "true");
	xmlNewProp(d, BAD_CAST "protocolSupportEnumeration", BAD_CAST SAML_PROTOCOL);
	/* the IdP only signs: nothing is encrypted to it */
	kd = xmlNewChild(d, md, BAD_CAST "KeyDescriptor", NULL);
	xmlNewProp(kd, BAD_CAST "use", BAD_CAST "signing");
	ki = xmlNewChild(kd, ds, BAD_CAST "KeyInfo", NULL);
	xd = xmlNewChild(ki, ds, BAD_CAST "X509Data", NULL);
	xmlNewTextChild(xd, ds, BAD_CAST "X509Certificate", BAD_CAST idp.cert_b64);
	ars = endpoint(d, md, "ArtifactResolutionService", SAML_BINDING_SOAP, "/saml/artifact");
	xmlNewProp(ars, BAD_CAST "index", BAD_CAST "0");
	xmlNewProp(ars, BAD_CAST "isDefault", BAD_CAST "true");
	endpoint(d, md, "SingleLogoutService", SAML_BINDING_REDIRECT, "/saml/logout");
	xmlNewTextChild(d, md, BAD_CAST "NameIDFormat", BAD_CAST SAML_NAMEID_PERSISTENT);
	endpoint(d, md, "SingleSignOnService", SAML_BINDING_REDIRECT, "/saml/sso");
	return doc;
}

/* An enveloped signature (RSA-SHA256, exclusive c14n) over the root, made by xmlsec. */
static int
sign_root(xmlDoc *doc, struct err *e)
{
	xmlNode *root = xmlDocGetRootElement(doc), *sig, *ref, *ki;
	xmlSecDSigCtxPtr ctx = NULL;
	xmlAttr *id;
	char idv[64], ref_uri[72], when[32];
	unsigned char rnd[16];
	time_t until = (time_t)(time_now() + IDP_METADATA_VALID);
	struct tm tm;
	int rc = 0, i;

	if (rand_bytes(rnd, sizeof(rnd)) != 0)
		return ERR(e, ERR_INTERNAL, 0, NULL, "no randomness");
	idv[0] = '_';
	for (i = 0; i < (int)sizeof(rnd); i++)
		snprintf(idv + 1 + 2 * i, 3, "%02x", rnd[i]);
	id = xmlNewProp(root, BAD_CAST "ID", BAD_CAST idv);
	xmlAddID(NULL, doc, BAD_CAST idv, id);
	gmtime_r(&until, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	xmlNewProp(root, BAD_CAST "validUntil", BAD_CAST when);
	xmlNewProp(root, BAD_CAST "cacheDuration", BAD_CAST IDP_CACHE_DURATION);
	sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id,
					NULL);
	if (sig == NULL)
		return ERR(e, ERR_INTERNAL, 0, NULL, "cannot make a signature template");
	/* saml-schema-metadata: ds:Signature is the first child */
	if (root->children != NULL)
		xmlAddPrevSibling(root->children, sig);
	else
		xmlAddChild(root, sig);
	snprintf(ref_uri, sizeof(ref_uri), "#%s", idv);
	ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST ref_uri,
					      NULL);
	if (ref == NULL || xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
	    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL)
		return ERR(e, ERR_INTERNAL, 0, NULL, "cannot make a signature reference");
	ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
	if (ki == NULL || xmlSecTmplKeyInfoAddX509Data(ki) == NULL)
		return ERR(e, ERR_INTERNAL, 0, NULL, "cannot make KeyInfo");
	ctx = xmlSecDSigCtxCreate(NULL);
	if (ctx == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	ctx->signKey = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)idp.key_pem,
						    (xmlSecSize)strlen(idp.key_pem),
						    xmlSecKeyDataFormatPem, NULL, NULL, NULL);
	if (ctx->signKey == NULL)
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "xmlsec cannot load the key");
	else if (xmlSecCryptoAppKeyCertLoadMemory(ctx->signKey, (const xmlSecByte *)idp.cert_pem,
						  (xmlSecSize)strlen(idp.cert_pem),
						  xmlSecKeyDataFormatPem) < 0)
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "xmlsec cannot load the certificate");
	else if (xmlSecDSigCtxSign(ctx, sig) < 0)
		rc = ERR(e, ERR_CRYPTO, 0, NULL, "xmlsec cannot sign the metadata");
	xmlSecDSigCtxDestroy(ctx);
	return rc;
}

int
saml_idp_metadata(bool sign, char **xml, size_t *len, struct err *e)
{
	xmlDoc *doc;
	xmlChar *out = NULL;
	int n = 0, rc = 0;

	*xml = NULL;
	if (!idp.on)
		return ERR(e, ERR_NOTFOUND, 404, NULL, "the SAML proxy is not configured");
	doc = metadata_doc();
	if (doc == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	if (sign)
		rc = sign_root(doc, e);
	if (rc == 0) {
		xmlDocDumpMemoryEnc(doc, &out, &n, "UTF-8");
		*xml = out != NULL ? strndup((const char *)out, (size_t)n) : NULL;
		*len = (size_t)n;
		if (*xml == NULL)
			rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	xmlFree(out);
	xmlFreeDoc(doc);
	return rc;
}
