/*
 * What every SAML endpoint does before lasso sees a message: bounded
 * decoding (base64, raw DEFLATE for HTTP-Redirect), a libxml2 parse that
 * refuses a DTD and never touches the network, the Issuer that names the
 * SP whose certificate lasso then checks the signature with, and the lasso
 * server that knows the IdP and that one SP.
 */
#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/b64.h"
#include "core/str.h"
#include "saml/saml_int.h"

#define NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_SAMLP "urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_IDPE "https://idporten.difi.no/idporten-extensions" /* spec §4 */

static int
redirect_inflate(struct arena *a, struct str b64, char **xml, size_t *n, struct err *e)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	char *out;
	z_stream z;
	int zr;

	*xml = NULL;
	if (b64.len == 0 || b64.len > SAML_MAX_B64)
		return ERR(e, ERR_LIMIT, 400, NULL, "the message is empty or over %d bytes",
			   SAML_MAX_B64);
	if (b64_decode_std(b64, &raw, &rawlen) != 0)
		return ERR(e, ERR_INVAL, 400, NULL, "the message is not base64");
	out = arena_alloc(a, SAML_MAX_XML + 1);
	if (out == NULL) {
		free(raw);
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	memset(&z, 0, sizeof(z));
	/* SAML Bindings §3.4.4.1: raw DEFLATE, no zlib header */
	if (inflateInit2(&z, -15) != Z_OK) {
		free(raw);
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	z.next_in = raw;
	z.avail_in = (uInt)rawlen;
	z.next_out = (Bytef *)out;
	z.avail_out = SAML_MAX_XML;
	zr = inflate(&z, Z_FINISH);
	*n = SAML_MAX_XML - z.avail_out;
	inflateEnd(&z);
	free(raw);
	if (zr == Z_BUF_ERROR && z.avail_out == 0)
		return ERR(e, ERR_LIMIT, 400, NULL, "the message inflates to over %d bytes",
			   SAML_MAX_XML);
	if (zr != Z_STREAM_END)
		return ERR(e, ERR_INVAL, 400, NULL, "the message is not DEFLATE data");
	out[*n] = '\0';
	*xml = out;
	return 0;
}

static int
xml_parse(const char *xml, size_t n, xmlDoc **out, struct err *e)
{
	xmlDoc *doc;

	*out = NULL;
	if (n == 0 || n > SAML_MAX_XML)
		return ERR(e, ERR_LIMIT, 400, NULL, "the message is empty or over %d bytes",
			   SAML_MAX_XML);
	doc = xmlReadMemory(xml, (int)n, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "the message is not well-formed XML");
	/* no entities at all: neither expansion bombs nor external ones */
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		xmlFreeDoc(doc);
		return ERR(e, ERR_INVAL, 400, NULL, "a message with a DOCTYPE is refused");
	}
	*out = doc;
	return 0;
}

static const xmlNode *
child(const xmlNode *n, const char *ns, const char *name)
{
	for (n = n != NULL ? n->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
		    strcmp((const char *)n->ns->href, ns) == 0 &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

/* The first element child of n, whatever it is. */
static const xmlNode *
first_element(const xmlNode *n)
{
	for (n = n != NULL ? n->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

static int
xml_issuer(struct arena *a, const xmlNode *msg, const char **issuer, struct err *e)
{
	const xmlNode *is = child(msg, NS_SAML, "Issuer");
	xmlChar *v;

	*issuer = NULL;
	if (is == NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "the message has no Issuer");
	v = xmlNodeGetContent(is);
	if (v == NULL || v[0] == '\0' || strlen((const char *)v) > SAML_MAX_ENTITY_ID) {
		xmlFree(v);
		return ERR(e, ERR_INVAL, 400, NULL, "the message's Issuer is empty or too long");
	}
	*issuer = arena_strdup(a, (const char *)v);
	xmlFree(v);
	return 0;
}

static int
soap_body_msg(const xmlDoc *doc, const xmlNode **msg, struct err *e)
{
	const xmlNode *root = xmlDocGetRootElement((xmlDoc *)doc), *body;

	*msg = NULL;
	if (root == NULL || root->ns == NULL ||
	    strcmp((const char *)root->ns->href, SAML_NS_SOAP11) != 0 ||
	    strcmp((const char *)root->name, "Envelope") != 0)
		return ERR(e, ERR_INVAL, 400, NULL, "not a SOAP 1.1 envelope");
	body = child(root, SAML_NS_SOAP11, "Body");
	*msg = first_element(body);
	if (*msg == NULL)
		return ERR(e, ERR_INVAL, 400, NULL, "the SOAP body is empty");
	return 0;
}

/* n is the protocol message samlp:name. */
static bool
is_samlp(const xmlNode *n, const char *name)
{
	return n != NULL && n->ns != NULL && strcmp((const char *)n->ns->href, NS_SAMLP) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

/* spec §4: <idpe:OnBehalfOf> in the AuthnRequest's samlp:Extensions, or NULL. */
static int
authn_obo(struct arena *a, const xmlNode *root, const char **obo, struct err *e)
{
	const xmlNode *ext = child(root, NS_SAMLP, "Extensions");
	const xmlNode *o = ext != NULL ? child(ext, NS_IDPE, "OnBehalfOf") : NULL;
	xmlChar *v;
	int rc = 0;

	*obo = NULL;
	if (o == NULL)
		return 0;
	v = xmlNodeGetContent(o);
	if (v == NULL || v[0] == '\0' || strlen((const char *)v) > SAML_MAX_OBO ||
	    !str_only(str_c((const char *)v),
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
		rc = ERR(e, ERR_INVAL, 400, NULL, "OnBehalfOf must be 1-%d of [A-Za-z0-9]",
			 SAML_MAX_OBO);
	else
		*obo = arena_strdup(a, (const char *)v);
	xmlFree(v);
	return rc;
}

int
saml_redirect_peek(struct arena *a, struct str b64, const char *root_name, const char **issuer,
		   const char **obo, struct err *e)
{
	xmlDoc *doc = NULL;
	const xmlNode *root;
	char *xml = NULL;
	size_t n = 0;
	int rc;

	*issuer = NULL;
	if (obo != NULL)
		*obo = NULL;
	rc = redirect_inflate(a, b64, &xml, &n, e);
	if (rc == 0)
		rc = xml_parse(xml, n, &doc, e);
	if (rc != 0)
		return rc;
	root = xmlDocGetRootElement(doc);
	if (!is_samlp(root, root_name))
		rc = ERR(e, ERR_INVAL, 400, NULL, "the message is not a%s %s",
			 strchr("AEIOU", root_name[0]) != NULL ? "n" : "", root_name);
	if (rc == 0)
		rc = xml_issuer(a, root, issuer, e);
	if (rc == 0 && obo != NULL)
		rc = authn_obo(a, root, obo, e);
	xmlFreeDoc(doc);
	return rc;
}

int
saml_authn_obo(struct arena *a, const LassoSamlp2AuthnRequest *req, const char **obo,
	       struct err *e)
{
	xmlNode *root;
	int rc;

	*obo = NULL;
	/* the request as lasso read it (a copy, ours to free) */
	root = lasso_node_get_xmlNode(LASSO_NODE(req), FALSE);
	if (root == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	rc = authn_obo(a, root, obo, e);
	xmlFreeNode(root);
	return rc;
}

int
saml_soap_peek(struct arena *a, struct str body, const char *msg_name, const char **issuer,
	       struct err *e)
{
	xmlDoc *doc = NULL;
	const xmlNode *msg = NULL;
	int rc;

	*issuer = NULL;
	rc = xml_parse(body.p, body.len, &doc, e);
	if (rc == 0)
		rc = soap_body_msg(doc, &msg, e);
	if (rc == 0 && !is_samlp(msg, msg_name))
		rc = ERR(e, ERR_INVAL, 400, NULL, "the SOAP body is not an %s", msg_name);
	if (rc == 0)
		rc = xml_issuer(a, msg, issuer, e);
	xmlFreeDoc(doc);
	return rc;
}

static LassoSignatureMethod
sig_method(const json_t *sp)
{
	const char *a = saml_sp_str(sp, "sig_alg");

	return a != NULL && strcmp(a, "rsa-sha1") == 0 ? LASSO_SIGNATURE_METHOD_RSA_SHA1
							 : LASSO_SIGNATURE_METHOD_RSA_SHA256;
}

int
saml_lasso_server_add(LassoServer *s, const json_t *sp)
{
	LassoProvider *p;
	const char *meta = saml_sp_str(sp, "metadata"), *enc = saml_sp_str(sp, "enc_alg");
	int rc;

	rc = meta != NULL ? lasso_server_add_provider_from_buffer(s, LASSO_PROVIDER_ROLE_SP, meta,
								 NULL, NULL)
			  : -1;
	p = rc == 0 ? lasso_server_get_provider(s, saml_sp_str(sp, "entity_id")) : NULL;
	if (p == NULL)
		return rc != 0 ? rc : -1;
	/*
	 * spec §8: one EncryptedAssertion, AES-CBC, the key by RSA-OAEP.  An SP
	 * registered for AES-256-GCM gets it from xmlsec (enc.c): lasso, which
	 * has only the CBC modes, leaves its assertions plain.
	 */
	lasso_provider_set_encryption_mode(p, saml_sp_gcm(sp) ? LASSO_ENCRYPTION_MODE_NONE
							      : LASSO_ENCRYPTION_MODE_ASSERTION);
	lasso_provider_set_encryption_sym_key_type(
		p, enc != NULL && strcmp(enc, "aes256-cbc") == 0 ? LASSO_ENCRYPTION_SYM_KEY_TYPE_AES_256
								 : LASSO_ENCRYPTION_SYM_KEY_TYPE_AES_128);
	lasso_provider_set_key_encryption_method(p, LASSO_KEY_ENCRYPTION_METHOD_OAEP);
	return 0;
}

int
saml_lasso_server(const json_t *sp, LassoServer **out, struct err *e)
{
	LassoServer *s;
	int rc;

	*out = NULL;
	s = lasso_server_new_from_buffers(saml_idp_metadata_plain(), saml_idp_key_pem(), NULL,
					  saml_idp_cert_pem());
	if (s == NULL)
		return ERR(e, ERR_INTERNAL, 500, NULL, "lasso cannot load the IdP");
	s->signature_method = sig_method(sp);
	rc = saml_lasso_server_add(s, sp);
	if (rc != 0) {
		lasso_server_destroy(s);
		return ERR(e, ERR_INTERNAL, 500, NULL, "lasso cannot load the SP (%d)", rc);
	}
	*out = s;
	return 0;
}
