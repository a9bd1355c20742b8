/*
 * Service providers (spec/saml-proxy.md §2): old SP metadata reduced to
 * the one profile the proxy serves, and the registration kept in the
 * store.  The metadata is read with libxml2 (no DTD, no network, no
 * entities); what lasso later sees of an SP is the reduced metadata built
 * here, so it never learns of a POST endpoint or a second key.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/b64.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "saml/saml_int.h"
#include "store/store.h"

#define SP_MAX_ENDPOINTS 64 /* ACS and SLO elements read from one descriptor */

/* What the reduction has found so far. */
struct sp_red {
	json_t *dropped;         /* array of lines */
	char *acs;
	long acs_index;
	bool acs_default;
	bool saw_post;
	char *slo, *slo_response;
	X509 *sign_cert, *enc_cert, *any_cert;
};

static void red_drop(struct sp_red *rd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One line of the report of what was left out. */
static void
red_drop(struct sp_red *rd, const char *fmt, ...)
{
	char line[SAML_MAX_ENTITY_ID + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_array_append_new(rd->dropped, json_string(line));
}

/* An attribute that may be absent, for the report. */
static const char *
nz(const char *s)
{
	return s != NULL ? s : "(none)";
}

static bool
is_md(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	       strcmp((const char *)n->ns->href, SAML_NS_MD) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

static bool
is_ds(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	       strcmp((const char *)n->ns->href, SAML_NS_DS) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

/* An attribute as a malloc'd string (libxml2's allocator), or NULL. */
static char *
attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* An absolute https URL of sane length and characters. */
static bool
url_ok(const char *u)
{
	size_t n = u != NULL ? strlen(u) : 0;

	if (n == 0 || n > SAML_MAX_ENTITY_ID || strncmp(u, "https://", 8) != 0 || n <= 8)
		return false;
	return str_is_clean_utf8((struct str){ u, n }) && strpbrk(u, " \t\r\n\"<>") == NULL;
}

/* ds:X509Certificate text (base64, maybe folded) to a certificate. */
static X509 *
cert_from_b64(const char *text)
{
	char *clean = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t i, j = 0, n = strlen(text), len = 0;
	X509 *x = NULL;

	if (n > SAML_MAX_CERT)
		return NULL;
	clean = malloc(n + 1);
	if (clean == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strchr(" \t\r\n", text[i]) == NULL)
			clean[j++] = text[i];
	clean[j] = '\0';
	if (b64_decode_std((struct str){ clean, j }, &der, &len) == 0) {
		p = der;
		x = d2i_X509(NULL, &p, (long)len);
		if (x != NULL && p != der + len) {
			X509_free(x);
			x = NULL;
		}
	}
	free(der);
	free(clean);
	return x;
}

/* The certificate of a KeyDescriptor (KeyInfo/X509Data/X509Certificate), or NULL. */
static X509 *
key_descriptor_cert(const xmlNode *kd)
{
	const xmlNode *ki, *xd, *xc;
	xmlChar *text;
	X509 *x;

	for (ki = kd->children; ki != NULL; ki = ki->next) {
		if (!is_ds(ki, "KeyInfo"))
			continue;
		for (xd = ki->children; xd != NULL; xd = xd->next) {
			if (!is_ds(xd, "X509Data"))
				continue;
			for (xc = xd->children; xc != NULL; xc = xc->next) {
				if (!is_ds(xc, "X509Certificate"))
					continue;
				text = xmlNodeGetContent(xc);
				x = text != NULL ? cert_from_b64((const char *)text) : NULL;
				xmlFree(text);
				if (x != NULL)
					return x;
			}
		}
	}
	return NULL;
}

static void
read_key(struct sp_red *rd, const xmlNode *kd)
{
	char *use = attr(kd, "use");
	X509 *x = key_descriptor_cert(kd);
	X509 **slot;

	if (x == NULL) {
		red_drop(rd, "KeyDescriptor use=\"%s\" without a readable X.509 certificate",
			 nz(use));
		xmlFree(use);
		return;
	}
	if (use == NULL)
		slot = &rd->any_cert;
	else if (strcmp(use, "signing") == 0)
		slot = &rd->sign_cert;
	else if (strcmp(use, "encryption") == 0)
		slot = &rd->enc_cert;
	else
		slot = NULL;
	if (slot != NULL && *slot == NULL) {
		*slot = x;
		x = NULL;
	} else {
		red_drop(rd, "an extra KeyDescriptor use=\"%s\": one certificate serves both uses",
			 use != NULL ? use : "");
	}
	X509_free(x);
	xmlFree(use);
}

static void
read_acs(struct sp_red *rd, const xmlNode *n)
{
	char *binding = attr(n, "Binding"), *loc = attr(n, "Location");
	char *index = attr(n, "index"), *dflt = attr(n, "isDefault");
	long idx = index != NULL ? strtol(index, NULL, 10) : 0;
	bool is_dflt = dflt != NULL && strcmp(dflt, "true") == 0;

	if (binding == NULL || strcmp(binding, SAML_BINDING_ARTIFACT) != 0) {
		if (binding != NULL && strcmp(binding, SAML_BINDING_POST) == 0)
			rd->saw_post = true;
		red_drop(rd, "AssertionConsumerService %s: only HTTP-Artifact is served",
			 nz(loc));
	} else if (!url_ok(loc)) {
		red_drop(rd, "AssertionConsumerService %s: not an https URL", nz(loc));
	} else if (rd->acs == NULL || (is_dflt && !rd->acs_default) ||
		   (is_dflt == rd->acs_default && idx < rd->acs_index)) {
		if (rd->acs != NULL)
			red_drop(rd, "AssertionConsumerService %s: only one is kept", nz(rd->acs));
		free(rd->acs);
		rd->acs = strdup(loc);
		rd->acs_index = idx;
		rd->acs_default = is_dflt;
	} else {
		red_drop(rd, "AssertionConsumerService %s: only one is kept", nz(loc));
	}
	xmlFree(binding);
	xmlFree(loc);
	xmlFree(index);
	xmlFree(dflt);
}

static void
read_slo(struct sp_red *rd, const xmlNode *n)
{
	char *binding = attr(n, "Binding"), *loc = attr(n, "Location");
	char *resp = attr(n, "ResponseLocation");

	if (binding == NULL || strcmp(binding, SAML_BINDING_REDIRECT) != 0)
		red_drop(rd, "SingleLogoutService %s: only HTTP-Redirect is served", nz(loc));
	else if (rd->slo != NULL)
		red_drop(rd, "SingleLogoutService %s: only one is kept", nz(loc));
	else if (!url_ok(loc) || (resp != NULL && !url_ok(resp)))
		red_drop(rd, "SingleLogoutService %s: not an https URL", nz(loc));
	else {
		rd->slo = strdup(loc);
		rd->slo_response = strdup(resp != NULL ? resp : loc);
	}
	xmlFree(binding);
	xmlFree(loc);
	xmlFree(resp);
}

static void
read_nameid_format(struct sp_red *rd, const xmlNode *n)
{
	xmlChar *f = xmlNodeGetContent(n);

	if (f == NULL || strcmp((const char *)f, SAML_NAMEID_PERSISTENT) != 0)
		red_drop(rd, "NameIDFormat %s: the NameID is always persistent",
			 f != NULL ? (const char *)f : "");
	xmlFree(f);
}

/* Walk the SPSSODescriptor's children. */
static int
read_descriptor(struct sp_red *rd, const xmlNode *spd, struct err *e)
{
	const xmlNode *n;
	int count = 0;
	char *v;

	v = attr(spd, "protocolSupportEnumeration");
	if (v == NULL || strstr(v, SAML_PROTOCOL) == NULL) {
		xmlFree(v);
		return ERR(e, ERR_INVAL, 0, NULL,
			   "SPSSODescriptor does not support the SAML 2.0 protocol");
	}
	xmlFree(v);
	v = attr(spd, "WantAssertionsSigned");
	if (v != NULL)
		red_drop(rd, "WantAssertionsSigned=\"%s\": assertions are always signed", v);
	xmlFree(v);
	v = attr(spd, "AuthnRequestsSigned");
	if (v != NULL && strcmp(v, "true") != 0)
		red_drop(rd, "AuthnRequestsSigned=\"%s\": requests must always be signed", v);
	xmlFree(v);
	for (n = spd->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (++count > SP_MAX_ENDPOINTS)
			return ERR(e, ERR_INVAL, 0, NULL,
				   "SPSSODescriptor has more than %d elements", SP_MAX_ENDPOINTS);
		if (is_md(n, "KeyDescriptor"))
			read_key(rd, n);
		else if (is_md(n, "AssertionConsumerService"))
			read_acs(rd, n);
		else if (is_md(n, "SingleLogoutService"))
			read_slo(rd, n);
		else if (is_md(n, "NameIDFormat"))
			read_nameid_format(rd, n);
		else
			red_drop(rd, "%s: not part of the supported profile",
				 (const char *)n->name);
	}
	return 0;
}

/* Pick the one certificate: the signing one verifies the SP, so it wins. */
static X509 *
pick_cert(struct sp_red *rd)
{
	X509 *x = rd->sign_cert != NULL ? rd->sign_cert : rd->any_cert;

	if (x == NULL)
		x = rd->enc_cert;
	if (x != rd->enc_cert && rd->enc_cert != NULL && X509_cmp(x, rd->enc_cert) != 0)
		red_drop(rd, "the separate encryption certificate: assertions are encrypted "
			     "to the signing certificate");
	if (x != rd->any_cert && rd->any_cert != NULL && X509_cmp(x, rd->any_cert) != 0)
		red_drop(rd, "a second certificate");
	return x;
}

static X509 *
cert_from_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

/* The rules for the one certificate (spec §8): RSA of 1024 bits or more, in date. */
static int
cert_check(X509 *x, const struct saml_sp_opts *o, struct err *e)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA || EVP_PKEY_get_bits(k) < 1024)
		return ERR(e, ERR_INVAL, 0, NULL, "the certificate's key is not RSA of 1024 bits or more");
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
		return ERR(e, ERR_INVAL, 0, NULL, "the certificate has expired");
	if (!o->test_env && X509_check_issued(x, x) == X509_V_OK)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "self-signed certificates are accepted in the test environment only");
	return 0;
}

char *
saml_cert_b64(X509 *x)
{
	unsigned char *der = NULL;
	char *b64 = NULL;
	int len = i2d_X509(x, &der);

	if (len > 0 && (b64 = malloc((size_t)len / 3 * 4 + 8)) != NULL)
		EVP_EncodeBlock((unsigned char *)b64, der, len);
	OPENSSL_free(der);
	return b64;
}

/* PEM text and base64 DER (for metadata) of a certificate; malloc'd. */
static int
cert_texts(X509 *x, char **pem, char **b64, struct err *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	*pem = *b64 = NULL;
	if (b != NULL && PEM_write_bio_X509(b, x) == 1) {
		n = BIO_get_mem_data(b, &data);
		*pem = strndup(data, (size_t)n);
	}
	BIO_free(b);
	if (*pem != NULL && (*b64 = saml_cert_b64(x)) != NULL)
		return 0;
	free(*pem);
	*pem = NULL;
	return ERR(e, ERR_INTERNAL, 0, NULL, "cannot encode the certificate");
}

static void
add_key(xmlNode *spd, xmlNs *md, xmlNs *ds, const char *use, const char *b64)
{
	xmlNode *kd = xmlNewChild(spd, md, BAD_CAST "KeyDescriptor", NULL);
	xmlNode *ki, *xd;

	xmlNewProp(kd, BAD_CAST "use", BAD_CAST use);
	ki = xmlNewChild(kd, ds, BAD_CAST "KeyInfo", NULL);
	xd = xmlNewChild(ki, ds, BAD_CAST "X509Data", NULL);
	xmlNewTextChild(xd, ds, BAD_CAST "X509Certificate", BAD_CAST b64);
}

/* The reduced metadata lasso reads for this SP. */
static char *
reduced_metadata(const char *entity_id, const char *acs, const char *slo, const char *slo_resp,
		 const char *cert_b64)
{
	xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *root, *spd, *n;
	xmlNs *md, *ds;
	xmlChar *out = NULL;
	char *ret = NULL;
	int len = 0;

	if (doc == NULL)
		return NULL;
	root = xmlNewNode(NULL, BAD_CAST "EntityDescriptor");
	md = xmlNewNs(root, BAD_CAST SAML_NS_MD, BAD_CAST "md");
	ds = xmlNewNs(root, BAD_CAST SAML_NS_DS, BAD_CAST "ds");
	xmlSetNs(root, md);
	xmlDocSetRootElement(doc, root);
	xmlNewProp(root, BAD_CAST "entityID", BAD_CAST entity_id);
	spd = xmlNewChild(root, md, BAD_CAST "SPSSODescriptor", NULL);
	xmlNewProp(spd, BAD_CAST "AuthnRequestsSigned", BAD_CAST "true");
	xmlNewProp(spd, BAD_CAST "WantAssertionsSigned", BAD_CAST "true");
	xmlNewProp(spd, BAD_CAST "protocolSupportEnumeration", BAD_CAST SAML_PROTOCOL);
	add_key(spd, md, ds, "signing", cert_b64);
	add_key(spd, md, ds, "encryption", cert_b64);
	n = xmlNewChild(spd, md, BAD_CAST "SingleLogoutService", NULL);
	xmlNewProp(n, BAD_CAST "Binding", BAD_CAST SAML_BINDING_REDIRECT);
	xmlNewProp(n, BAD_CAST "Location", BAD_CAST slo);
	xmlNewProp(n, BAD_CAST "ResponseLocation", BAD_CAST slo_resp);
	xmlNewTextChild(spd, md, BAD_CAST "NameIDFormat", BAD_CAST SAML_NAMEID_PERSISTENT);
	n = xmlNewChild(spd, md, BAD_CAST "AssertionConsumerService", NULL);
	xmlNewProp(n, BAD_CAST "Binding", BAD_CAST SAML_BINDING_ARTIFACT);
	xmlNewProp(n, BAD_CAST "Location", BAD_CAST acs);
	xmlNewProp(n, BAD_CAST "index", BAD_CAST "0");
	xmlNewProp(n, BAD_CAST "isDefault", BAD_CAST "true");
	xmlDocDumpMemoryEnc(doc, &out, &len, "UTF-8");
	if (out != NULL)
		ret = strndup((const char *)out, (size_t)len);
	xmlFree(out);
	xmlFreeDoc(doc);
	return ret;
}

/* v if it is one of the NULL-terminated names (the first is the default when v is NULL). */
static const char *
opt_alg(const char *v, const char *const *names)
{
	size_t i;

	if (v == NULL)
		return names[0];
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(v, names[i]) == 0)
			return v;
	return NULL;
}

/* The EntityDescriptor of the document: the root, or the one inside EntitiesDescriptor. */
static int
find_entity(xmlDoc *doc, const xmlNode **out, struct err *e)
{
	const xmlNode *root = xmlDocGetRootElement(doc), *n, *found = NULL;

	if (root != NULL && is_md(root, "EntitiesDescriptor")) {
		for (n = root->children; n != NULL; n = n->next) {
			if (!is_md(n, "EntityDescriptor"))
				continue;
			if (found != NULL)
				return ERR(e, ERR_INVAL, 0, NULL,
					   "the file describes more than one entity: import one "
					   "EntityDescriptor at a time");
			found = n;
		}
		root = found;
	}
	if (root == NULL || !is_md(root, "EntityDescriptor"))
		return ERR(e, ERR_INVAL, 0, NULL, "not SAML 2.0 metadata (no md:EntityDescriptor)");
	*out = root;
	return 0;
}

static int
find_sp(struct sp_red *rd, const xmlNode *ed, const xmlNode **spd, struct err *e)
{
	const xmlNode *n;

	*spd = NULL;
	for (n = ed->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is_md(n, "SPSSODescriptor") && *spd == NULL)
			*spd = n;
		else if (is_md(n, "SPSSODescriptor"))
			return ERR(e, ERR_INVAL, 0, NULL, "more than one SPSSODescriptor");
		else
			red_drop(rd, "%s: not part of the supported profile",
				 (const char *)n->name);
	}
	if (*spd == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "no SPSSODescriptor: not a service provider");
	return 0;
}

/* Is everything of the profile there?  The message says what is missing. */
static int
red_complete(const struct sp_red *rd, struct err *e)
{
	if (rd->acs == NULL && rd->saw_post)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "this SP can only be served by HTTP-POST, which the proxy does not "
			   "offer: it needs an AssertionConsumerService with the HTTP-Artifact "
			   "binding (or should move to OpenID Connect)");
	if (rd->acs == NULL)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "no https AssertionConsumerService with the HTTP-Artifact binding");
	if (rd->slo == NULL)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "no https SingleLogoutService with the HTTP-Redirect binding");
	return 0;
}

static int
red_doc(struct sp_red *rd, const char *entity_id, X509 *x, const struct saml_sp_opts *o,
	json_t **out, struct err *e)
{
	static const char *const sigs[] = { "rsa-sha256", "rsa-sha1", NULL };
	static const char *const encs[] = { "aes128-cbc", "aes256-cbc", SAML_ENC_GCM, NULL };
	const char *sig = opt_alg(o->sig_alg, sigs);
	const char *enc = opt_alg(o->enc_alg, encs);
	char *pem = NULL, *b64 = NULL, *meta = NULL, when[32];
	struct tm tm;
	int rc;

	if (sig == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "signature algorithm: rsa-sha256 or rsa-sha1");
	if (enc == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "encryption: aes128-cbc, aes256-cbc or " SAML_ENC_GCM);
	rc = cert_check(x, o, e);
	if (rc == 0)
		rc = cert_texts(x, &pem, &b64, e);
	if (rc == 0) {
		meta = reduced_metadata(entity_id, rd->acs, rd->slo, rd->slo_response, b64);
		if (meta == NULL)
			rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	if (rc == 0) {
		memset(&tm, 0, sizeof(tm));
		ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		*out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:I}",
				 "entity_id", entity_id, "acs", rd->acs, "slo", rd->slo,
				 "slo_response", rd->slo_response, "cert", pem,
				 "cert_not_after", when, "sig_alg", sig, "enc_alg", enc,
				 "metadata", meta, "dropped", rd->dropped, "imported",
				 (json_int_t)time_now());
		if (*out == NULL)
			rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	free(pem);
	free(b64);
	free(meta);
	return rc;
}

int
saml_sp_reduce(const char *xml, size_t n, const struct saml_sp_opts *o, json_t **out,
	       struct err *e)
{
	struct sp_red rd = { 0 };
	xmlDoc *doc = NULL;
	const xmlNode *ed = NULL, *spd = NULL;
	char *entity_id = NULL;
	X509 *x = NULL, *given = NULL;
	int rc;

	*out = NULL;
	if (n == 0 || n > SAML_MAX_METADATA)
		return ERR(e, ERR_INVAL, 0, NULL, "metadata must be 1 to %d bytes",
			   SAML_MAX_METADATA);
	rc = saml_lib_init(e);
	if (rc != 0)
		return rc;
	rd.dropped = json_array();
	/* no network, no entity substitution, no DTD loading; a DTD at all is refused below */
	doc = xmlReadMemory(xml, (int)n, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "the metadata is not well-formed XML");
		goto out;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "metadata with a DOCTYPE is refused");
		goto out;
	}
	rc = find_entity(doc, &ed, e);
	if (rc == 0) {
		entity_id = attr(ed, "entityID");
		if (entity_id == NULL || entity_id[0] == '\0' ||
		    strlen(entity_id) > SAML_MAX_ENTITY_ID ||
		    !str_is_clean_utf8(str_c(entity_id)) || strpbrk(entity_id, " \t\r\n") != NULL)
			rc = ERR(e, ERR_INVAL, 0, NULL,
				 "entityID missing, empty, longer than %d or with spaces",
				 SAML_MAX_ENTITY_ID);
	}
	if (rc == 0)
		rc = find_sp(&rd, ed, &spd, e);
	if (rc == 0)
		rc = read_descriptor(&rd, spd, e);
	if (rc == 0)
		rc = red_complete(&rd, e);
	if (rc != 0)
		goto out;
	if (o->cert_pem != NULL) {
		given = cert_from_pem(o->cert_pem);
		if (given == NULL) {
			rc = ERR(e, ERR_INVAL, 0, NULL, "--cert: not a PEM certificate");
			goto out;
		}
		x = given;
		if (rd.sign_cert != NULL || rd.enc_cert != NULL || rd.any_cert != NULL)
			red_drop(&rd, "the metadata's certificates: --cert replaces them");
	} else {
		x = pick_cert(&rd);
	}
	if (x == NULL) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "no X.509 certificate in the metadata (--cert FILE)");
		goto out;
	}
	rc = red_doc(&rd, entity_id, x, o, out, e);
out:
	X509_free(given);
	X509_free(rd.sign_cert);
	X509_free(rd.enc_cert);
	X509_free(rd.any_cert);
	free(rd.acs);
	free(rd.slo);
	free(rd.slo_response);
	json_decref(rd.dropped);
	xmlFree(entity_id);
	xmlFreeDoc(doc);
	return rc;
}

int
saml_sp_get(struct porten *app, const char *entity_id, json_t **doc, struct err *e)
{
	if (entity_id == NULL || entity_id[0] == '\0' || strlen(entity_id) > SAML_MAX_ENTITY_ID)
		return ERR(e, ERR_NOTFOUND, 0, NULL, "no such service provider");
	return store_call(app->store, saml, sp_get, entity_id, doc, e);
}

const char *
saml_sp_str(const json_t *doc, const char *field)
{
	return json_string_value(json_object_get(doc, field));
}
