/*
 * Private to the SAML proxy: the identity provider's own settings and
 * metadata (idp.c), service providers (sp.c), the portenctl command
 * (cmd_sp.c) and the handlers.
 */
#ifndef PORTEN_SAML_SAML_INT_H
#define PORTEN_SAML_SAML_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include "app/cli.h"
#include "core/err.h"
#include "http/http.h"

/* Limits (every input has one). */
#define SAML_MAX_METADATA (256 * 1024) /* an SP's metadata file */
#define SAML_MAX_ENTITY_ID 1024        /* an entityID, a URL in metadata */
#define SAML_MAX_CERT (16 * 1024)      /* one certificate, base64 */

#define SAML_NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"
#define SAML_NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define SAML_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"
#define SAML_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define SAML_BINDING_ARTIFACT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
#define SAML_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define SAML_BINDING_SOAP "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
#define SAML_NAMEID_PERSISTENT "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"

/* lasso, xmlsec and libxml2 set up once per process (idempotent, thread-safe). */
int saml_lib_init(struct err *e);

/* ---- the identity provider (idp.c) ---- */

/*
 * Read the key pair (saml_key_file, saml_cert_file) and fix the entityID
 * and endpoint URLs under the ID-porten issuer.  Without saml_key_file the
 * proxy is off: 0, and saml_idp_on() is false.  ERR_INVAL naming the file
 * when a file is missing, unreadable, not PEM, or the key is not RSA of at
 * least 2048 bits or does not match the certificate.
 */
int saml_idp_load(struct porten *app, struct err *e);
void saml_idp_cleanup(void);
bool saml_idp_on(void);
const char *saml_idp_entity_id(void);
/* Endpoint URL of the proxy: base + path ("/saml/sso"), arena memory. */
const char *saml_idp_url(struct arena *a, const char *path);
const char *saml_idp_key_pem(void);
const char *saml_idp_cert_pem(void);
/*
 * The IdP's metadata (spec §2), malloc'd text in *xml (caller frees).
 * signed: an enveloped signature over the EntityDescriptor (xmlsec) with
 * validUntil and cacheDuration.
 */
int saml_idp_metadata(bool sign, char **xml, size_t *len, struct err *e);

/* GET /saml/metadata (?sign=true: the signed variant). */
void saml_handle_metadata(struct http_req *r, struct http_resp *w);

/* ---- service providers (sp.c) ---- */

/* Per-SP overrides of spec §8. */
struct saml_sp_opts {
	const char *cert_pem;    /* replaces the metadata's certificate(s), or NULL */
	const char *sig_alg;     /* "rsa-sha256" (default) or "rsa-sha1" */
	const char *enc_alg;     /* "aes128-cbc" (default) or "aes256-gcm" */
	bool test_env;           /* self-signed certificates are for the test environment */
};

/*
 * Reduce an SP's metadata (xml, n bytes) to the supported profile (spec
 * §2): its entityID, the one HTTP-Artifact assertion consumer service, the
 * HTTP-Redirect logout endpoints and one certificate.  *doc (new
 * reference) is the registration: entity_id, acs, slo, slo_response, cert
 * (PEM), cert_not_after, sig_alg, enc_alg, metadata (the reduced metadata
 * lasso reads) and dropped (what of the original was left out, one line
 * each).  ERR_INVAL with e->msg saying what is wrong: not metadata, a DTD,
 * no SPSSODescriptor, an SP that can only be served by HTTP-POST, no
 * HTTPS, no usable certificate.
 */
int saml_sp_reduce(const char *xml, size_t n, const struct saml_sp_opts *o, json_t **doc,
		   struct err *e);
/* The SP's stored registration (new reference): ERR_NOTFOUND when none. */
int saml_sp_get(struct porten *app, const char *entity_id, json_t **doc, struct err *e);
/* The string field of a registration, or NULL. */
const char *saml_sp_str(const json_t *doc, const char *field);

/* ---- portenctl saml sp ... (cmd_sp.c) ---- */
int saml_cmd(struct cli *c, int argc, char **argv);
void saml_cmd_usage(FILE *f);

#endif
