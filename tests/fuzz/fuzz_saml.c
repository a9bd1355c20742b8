/*
 * Fuzz what the SAML proxy reads of every message before lasso does
 * (src/saml/msg.c, src/saml/sp.c), through the functions its endpoints
 * call.  The first byte picks the input:
 *   0  the rest is a SAMLRequest as /saml/sso gets it: base64 of raw
 *      DEFLATE, inflated, parsed, an AuthnRequest's Issuer and OnBehalfOf
 *      read
 *   1  the rest is a SOAP body as /saml/artifact gets it: an
 *      ArtifactResolve found in the Body and its Issuer read
 *   2  the rest is SP metadata for `portenctl saml sp import`, reduced to
 *      the supported profile
 *   3  the rest is raw XML, DEFLATEd and base64-encoded by the target
 *      itself and read as each of the three HTTP-Redirect messages, so the
 *      parser is reached with arbitrary XML
 *   4  as 0, a LogoutRequest (SAMLRequest at /saml/logout)
 *   5  as 0, a LogoutResponse (SAMLResponse at /saml/logout)
 *
 * What must hold: no crash, no leak, no read past the input; every
 * failure is an ERR_* with a message, every success an Issuer of 1 to
 * SAML_MAX_ENTITY_ID bytes (and an OnBehalfOf of [A-Za-z0-9], at most
 * SAML_MAX_OBO), or a registration with entity_id, acs, slo and cert.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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

static const char *const redirect_msgs[] = { "AuthnRequest", "LogoutRequest",
					      "LogoutResponse" };

static void
check_obo(int rc, const char *obo)
{
	if (rc == 0 && obo != NULL &&
	    (obo[0] == '\0' || strlen(obo) > SAML_MAX_OBO ||
	     strspn(obo, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") !=
		     strlen(obo)))
		abort();
}

/* One HTTP-Redirect message of kind redirect_msgs[kind]. */
static void
run_redirect(struct str b64, size_t kind)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	const char *issuer = NULL, *obo = NULL;
	int rc;

	rc = saml_redirect_peek(a, b64, redirect_msgs[kind], &issuer, kind == 0 ? &obo : NULL,
				&e);
	check_err(rc, &e);
	check_issuer(rc, issuer);
	check_obo(rc, obo);
	arena_free(a);
}

static void
run_soap(const char *p, size_t n)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	const char *issuer = NULL;
	int rc;

	rc = saml_soap_peek(a, (struct str){ p, n }, "ArtifactResolve", &issuer, &e);
	check_err(rc, &e);
	check_issuer(rc, issuer);
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
		for (size_t k = 0; k < sizeof(redirect_msgs) / sizeof(redirect_msgs[0]); k++)
			run_redirect(str_c(b64), k);
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
	switch (data[0] % 6) {
	case 0:
		run_redirect((struct str){ p, n }, 0);
		break;
	case 4:
		run_redirect((struct str){ p, n }, 1);
		break;
	case 5:
		run_redirect((struct str){ p, n }, 2);
		break;
	case 1:
		run_soap(p, n);
		break;
	case 2:
		run_metadata(p, n);
		break;
	case 3:
		run_xml(p, n);
		break;
	}
	return 0;
}
