/*
 * AES-256-GCM for the SPs registered for it (spec §8).  lasso 2.8.1
 * encrypts with AES-CBC only, so for these SPs it leaves the signed
 * Assertion plain, and xmlsec encrypts it here before the Response is kept
 * under its artifact: the EncryptedAssertion lasso would make (an
 * EncryptedData of Type Element, the session key in an EncryptedKey by
 * RSA-OAEP-MGF1P), with the xmlenc11 GCM algorithm.  xmlsec makes the
 * session key and does all the cryptography.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmlsec.h>

#include "saml/saml_int.h"

#define NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"

bool
saml_sp_gcm(const json_t *sp)
{
	const char *enc = saml_sp_str(sp, "enc_alg");

	return enc != NULL && strcmp(enc, SAML_ENC_GCM) == 0;
}

/* The Response's saml:Assertion child, or NULL. */
static xmlNode *
assertion_of(xmlNode *resp)
{
	xmlNode *n;

	for (n = resp != NULL ? resp->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
		    strcmp((const char *)n->ns->href, NS_SAML) == 0 &&
		    strcmp((const char *)n->name, "Assertion") == 0)
			return n;
	return NULL;
}

/* The EncryptedData template: AES-256-GCM, the key in an EncryptedKey by RSA-OAEP. */
static xmlNode *
enc_template(xmlDoc *doc)
{
	xmlNode *ed, *ki = NULL, *ek = NULL;

	ed = xmlSecTmplEncDataCreate(doc, xmlSecTransformAes256GcmId, NULL, xmlSecTypeEncElement,
				     NULL, NULL);
	if (ed == NULL)
		return NULL;
	if (xmlSecTmplEncDataEnsureCipherValue(ed) != NULL)
		ki = xmlSecTmplEncDataEnsureKeyInfo(ed, NULL);
	if (ki != NULL)
		ek = xmlSecTmplKeyInfoAddEncryptedKey(ki, xmlSecTransformRsaOaepId, NULL, NULL,
						      NULL);
	if (ek == NULL || xmlSecTmplEncDataEnsureCipherValue(ek) == NULL) {
		xmlFreeNode(ed);
		return NULL;
	}
	return ed;
}

/* A keys manager holding the SP's public key, which the EncryptedKey is made with. */
static xmlSecKeysMngrPtr
sp_keys(const char *cert_pem)
{
	xmlSecKeysMngrPtr m = xmlSecKeysMngrCreate();
	xmlSecKeyPtr k;

	if (m == NULL)
		return NULL;
	if (xmlSecCryptoAppDefaultKeysMngrInit(m) < 0)
		goto fail;
	k = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)cert_pem,
					 (xmlSecSize)strlen(cert_pem), xmlSecKeyDataFormatCertPem,
					 NULL, NULL, NULL);
	if (k == NULL)
		goto fail;
	if (xmlSecCryptoAppDefaultKeysMngrAdoptKey(m, k) < 0) {
		xmlSecKeyDestroy(k);
		goto fail;
	}
	return m;
fail:
	xmlSecKeysMngrDestroy(m);
	return NULL;
}

/*
 * The EncryptedData of the Assertion a.  It is encrypted as a document of
 * its own, so that it carries the namespaces it uses: exclusive c14n, which
 * its signature is over, is the same with or without them.
 */
static xmlDoc *
encrypt_node(const xmlNode *a, xmlSecKeysMngrPtr m, struct err *e)
{
	xmlDoc *ad = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *copy = ad != NULL ? xmlDocCopyNode((xmlNode *)a, ad, 1) : NULL, *tmpl = NULL;
	xmlSecEncCtxPtr ctx = NULL;
	int rc = 0;

	if (copy == NULL) {
		xmlFreeDoc(ad);
		(void)ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		return NULL;
	}
	xmlDocSetRootElement(ad, copy);
	tmpl = enc_template(ad);
	ctx = tmpl != NULL ? xmlSecEncCtxCreate(m) : NULL;
	if (ctx == NULL)
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "cannot make the encryption template");
	if (rc == 0) {
		ctx->encKey = xmlSecKeyGenerate(xmlSecKeyDataAesId, 256, xmlSecKeyDataTypeSession);
		if (ctx->encKey == NULL)
			rc = ERR(e, ERR_CRYPTO, 500, NULL, "xmlsec cannot make a session key");
	}
	/* on success the template takes the Assertion's place in ad */
	if (rc == 0 && xmlSecEncCtxXmlEncrypt(ctx, tmpl, copy) < 0)
		rc = ERR(e, ERR_CRYPTO, 500, NULL, "xmlsec cannot encrypt the assertion");
	else if (rc == 0)
		tmpl = NULL;
	if (ctx != NULL)
		xmlSecEncCtxDestroy(ctx);
	xmlFreeNode(tmpl);
	if (rc != 0) {
		xmlFreeDoc(ad);
		return NULL;
	}
	return ad;
}

/* Put saml:EncryptedAssertion holding ad's EncryptedData where a is. */
static int
swap_in(xmlDoc *doc, xmlNode *a, xmlDoc *ad, struct err *e)
{
	xmlNode *ea = xmlNewDocNode(doc, a->ns, BAD_CAST "EncryptedAssertion", NULL);
	xmlNode *ed = ea != NULL ? xmlDocCopyNode(xmlDocGetRootElement(ad), doc, 1) : NULL;

	if (ed == NULL) {
		xmlFreeNode(ea);
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	xmlAddChild(ea, ed);
	xmlReplaceNode(a, ea);
	xmlFreeNode(a);
	return 0;
}

static int
dump_root(xmlDoc *doc, char **out, struct err *e)
{
	xmlBuffer *b = xmlBufferCreate();

	*out = NULL;
	if (b != NULL && xmlNodeDump(b, doc, xmlDocGetRootElement(doc), 0, 0) > 0)
		*out = strdup((const char *)xmlBufferContent(b));
	xmlBufferFree(b);
	return *out != NULL ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

int
saml_encrypt_gcm(const char *response, const char *cert_pem, char **out, struct err *e)
{
	xmlDoc *doc, *ad = NULL;
	xmlNode *a;
	xmlSecKeysMngrPtr m = NULL;
	int rc = 0;

	*out = NULL;
	doc = xmlReadMemory(response, (int)strlen(response), NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return ERR(e, ERR_INTERNAL, 500, NULL, "the Response is not XML");
	a = assertion_of(xmlDocGetRootElement(doc));
	if (a != NULL) {
		m = cert_pem != NULL ? sp_keys(cert_pem) : NULL;
		if (m == NULL)
			rc = ERR(e, ERR_CRYPTO, 500, NULL, "xmlsec cannot load the SP's certificate");
	}
	if (a != NULL && rc == 0) {
		ad = encrypt_node(a, m, e);
		rc = ad != NULL ? swap_in(doc, a, ad, e) : e->code;
	}
	if (rc == 0)
		rc = dump_root(doc, out, e);
	xmlFreeDoc(ad);
	if (m != NULL)
		xmlSecKeysMngrDestroy(m);
	xmlFreeDoc(doc);
	return rc;
}
