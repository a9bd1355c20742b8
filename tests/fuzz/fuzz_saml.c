/*
 * Fuzz what the SAML proxy reads before lasso does (src/saml/msg.c,
 * src/saml/sp.c).  The first byte picks the input:
 *   0  the rest is a SAMLRequest as it comes in a query: base64 of raw
 *      DEFLATE, inflated, parsed and its Issuer read
 *   1  the rest is a SOAP body (an ArtifactResolve): parsed, the message in
 *      the Body found and its Issuer read
 *   2  the rest is SP metadata for `portenctl saml sp import`, reduced to
 *      the supported profile
 *   3  the rest is raw XML for the parser, then DEFLATEd and base64-encoded
 *      by the target itself and fed through 0, so the parser is reached
 *      with arbitrary XML
 *
 * What must hold: no crash, no leak, no read past the input; every
 * failure is an ERR_* with a message, every success an Issuer of 1 to
 * SAML_MAX_ENTITY_ID bytes, or a registration with entity_id, acs, slo
 * and cert.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <libxml/tree.h>
#include <openssl/evp.h>

#include "core/arena.h"
#include "saml/saml_int.h"

static void
check_err(int rc, const struct err *e)
{
	if (rc != 0 && (rc > 0 || e->msg[0] == '\0'))
		abort();
}

static void
check_issuer(int rc, const char *issuer)
{
	if (rc == 0 && (issuer == NULL || issuer[0] == '\0' || strlen(issuer) > SAML_MAX_ENTITY_ID))
		abort();
}

static void
run_redirect(struct str b64)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	xmlDoc *doc = NULL;
	const char *issuer = NULL;
	char *xml = NULL;
	size_t n = 0;
	int rc;

	rc = saml_redirect_inflate(a, b64, &xml, &n, &e);
	if (rc == 0 && (xml == NULL || n > SAML_MAX_XML || xml[n] != '\0'))
		abort();
	if (rc == 0)
		rc = saml_xml_parse(xml, n, &doc, &e);
	if (rc == 0)
		rc = saml_xml_issuer(a, xmlDocGetRootElement(doc), &issuer, &e);
	check_err(rc, &e);
	check_issuer(rc, issuer);
	xmlFreeDoc(doc);
	arena_free(a);
}

static void
run_soap(const char *p, size_t n)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	xmlDoc *doc = NULL;
	const struct _xmlNode *msg = NULL;
	const char *issuer = NULL;
	int rc;

	rc = saml_xml_parse(p, n, &doc, &e);
	if (rc == 0)
		rc = saml_soap_body_msg(doc, &msg, &e);
	if (rc == 0 && msg == NULL)
		abort();
	if (rc == 0)
		rc = saml_xml_issuer(a, msg, &issuer, &e);
	check_err(rc, &e);
	check_issuer(rc, issuer);
	xmlFreeDoc(doc);
	arena_free(a);
}

static void
run_metadata(const char *p, size_t n)
{
	struct saml_sp_opts o = { .test_env = true };
	struct err e = { 0 };
	json_t *doc = NULL;
	int rc;

	rc = saml_sp_reduce(p, n, &o, &doc, &e);
	check_err(rc, &e);
	if (rc == 0 && (saml_sp_str(doc, "entity_id") == NULL || saml_sp_str(doc, "acs") == NULL ||
			saml_sp_str(doc, "slo") == NULL || saml_sp_str(doc, "cert") == NULL ||
			saml_sp_str(doc, "metadata") == NULL))
		abort();
	json_decref(doc);
}

/* XML to what a query carries: raw DEFLATE, then base64. */
static void
run_xml(const char *p, size_t n)
{
	unsigned char *def = malloc(compressBound((uLong)n) + 64);
	char *b64 = NULL;
	z_stream z;
	size_t dn;

	if (def == NULL)
		return;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(def);
		return;
	}
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	z.next_out = def;
	z.avail_out = (uInt)(compressBound((uLong)n) + 64);
	(void)deflate(&z, Z_FINISH);
	dn = z.total_out;
	deflateEnd(&z);
	b64 = malloc(dn / 3 * 4 + 8);
	if (b64 != NULL) {
		EVP_EncodeBlock((unsigned char *)b64, def, (int)dn);
		run_redirect(str_c(b64));
	}
	free(b64);
	free(def);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err e = { 0 };

	(void)argc;
	(void)argv;
	return saml_lib_init(&e) == 0 ? 0 : 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n = size > 0 ? size - 1 : 0;

	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		run_redirect((struct str){ p, n });
		break;
	case 1:
		run_soap(p, n);
		break;
	case 2:
		run_metadata(p, n);
		break;
	default:
		run_xml(p, n);
		break;
	}
	return 0;
}
