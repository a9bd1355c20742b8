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
#define SAML_MAX_QUERY (16 * 1024)     /* an HTTP-Redirect query string */
#define SAML_MAX_B64 (12 * 1024)       /* a SAMLRequest, an artifact: base64 */
#define SAML_MAX_XML (64 * 1024)       /* a message after inflating, a SOAP body */
#define SAML_MAX_RELAY 80              /* RelayState (SAML Bindings §3.4.3) */
#define SAML_MAX_ID 256                /* a message's ID */
#define SAML_MAX_OBO 64                /* an OnBehalfOf value (spec §4) */
#define SAML_ENC_GCM "aes256-gcm"      /* spec §8: the per-SP AES-256-GCM (enc.c) */
#define SAML_SKEW 180                  /* spec §3 (design): IssueInstant within +-3 min */
#define SAML_SID_COOKIE "porten_saml_sid" /* the SSO session's sid, for single logout */
#define SAML_ARTIFACT_LIFETIME 120     /* an artifact resolves within this (spec §1: <= 5 min) */

#define SAML_NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"
#define SAML_NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define SAML_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"
#define SAML_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define SAML_BINDING_ARTIFACT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
#define SAML_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define SAML_BINDING_SOAP "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
#define SAML_NAMEID_PERSISTENT "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
#define SAML_NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"

/* spec §7: status codes (urn:oasis:names:tc:SAML:2.0:status:...). */
#define SAML_STATUS_ "urn:oasis:names:tc:SAML:2.0:status:"
#define SAML_STATUS_REQUESTER SAML_STATUS_ "Requester"
#define SAML_STATUS_RESPONDER SAML_STATUS_ "Responder"
#define SAML_STATUS_AUTHN_FAILED SAML_STATUS_ "AuthnFailed"
#define SAML_STATUS_NO_AUTHN_CONTEXT SAML_STATUS_ "NoAuthnContext"
#define SAML_STATUS_NO_PASSIVE SAML_STATUS_ "NoPassive"
#define SAML_STATUS_REQUEST_UNSUPPORTED SAML_STATUS_ "RequestUnsupported"
#define SAML_STATUS_PARTIAL_LOGOUT SAML_STATUS_ "PartialLogout"
#define SAML_STATUS_VERSION_MISMATCH SAML_STATUS_ "VersionMismatch"
#define SAML_STATUS_UNSUPPORTED_BINDING SAML_STATUS_ "UnsupportedBinding"
#define SAML_STATUS_UNKNOWN_PRINCIPAL SAML_STATUS_ "UnknownPrincipal"

struct _xmlDoc;
struct _xmlNode;
struct _LassoServer;
struct _LassoSamlp2AuthnRequest;

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
/* The plain metadata, made once at load (what lasso reads as the IdP). */
const char *saml_idp_metadata_plain(void);

/* GET /saml/metadata (?sign=true: the signed variant). */
void saml_handle_metadata(struct http_req *r, struct http_resp *w);

/* ---- service providers (sp.c) ---- */

/* Per-SP overrides of spec §8. */
struct saml_sp_opts {
	const char *cert_pem;    /* replaces the metadata's certificate(s), or NULL */
	const char *sig_alg;     /* "rsa-sha256" (default) or "rsa-sha1" */
	const char *enc_alg;     /* "aes128-cbc" (default), "aes256-cbc" or SAML_ENC_GCM */
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
/* The DER of a certificate in base64, as ds:X509Certificate holds it; malloc'd, NULL on failure. */
struct x509_st;
char *saml_cert_b64(struct x509_st *x);
/* The string field of a registration, or NULL. */
const char *saml_sp_str(const json_t *doc, const char *field);

/* ---- the proxy as an OIDC client of the ID-porten issuer (oidc.c) ---- */

#define SAML_CLIENT_ID "porten-saml-proxy"

/* What the proxy asks the issuer for (spec §4). */
struct saml_oidc_req {
	const char *state, *nonce, *code_challenge;
	const char *acr;         /* acr_values */
	const char *locale;      /* ui_locales, or NULL */
	bool force_authn;        /* prompt=login */
};

/* Register the proxy's client on first start, or learn its secret (portend start-up). */
int saml_oidc_init(struct porten *app, struct err *e);
void saml_oidc_cleanup(void);
/*
 * Push the authorization request (PAR) and give the /authorize URL the
 * browser goes to (arena memory).  r is the SAML request: its issuer is
 * ID-porten's.  e->status 503 when the store is away.
 */
int saml_oidc_par(struct http_req *r, const struct saml_oidc_req *q, char **authorize_url,
		  struct err *e);
/*
 * Redeem the code with the PKCE verifier and check the ID token
 * (signature, iss, aud, nonce, exp); *claims its claims (new reference),
 * *id_token the token itself (arena), the hint for a later logout.
 */
int saml_oidc_redeem(struct http_req *r, const char *code, const char *verifier, const char *nonce,
		     json_t **claims, const char **id_token, struct err *e);

/* ---- messages (msg.c) ---- */

/*
 * What the proxy reads of a message before lasso does: the Issuer that
 * names the SP whose certificate lasso checks the signature with.
 * HTTP-Redirect: base64 (at most SAML_MAX_B64) of raw DEFLATE (at most
 * SAML_MAX_XML inflated), parsed without network and refused with a
 * DOCTYPE; the root must be samlp:root_name.  obo (may be NULL): the
 * AuthnRequest's OnBehalfOf extension (spec §4), NULL when absent.
 * ERR_INVAL for a malformed message, ERR_LIMIT over a limit; e->status 400.
 */
int saml_redirect_peek(struct arena *a, struct str b64, const char *root_name,
		       const char **issuer, const char **obo, struct err *e);
/*
 * spec §4: the OnBehalfOf of an AuthnRequest lasso has read and verified
 * (*obo arena memory, NULL when absent).  ERR_INVAL (400) when it is not
 * 1-SAML_MAX_OBO of [A-Za-z0-9].
 */
int saml_authn_obo(struct arena *a, const struct _LassoSamlp2AuthnRequest *req, const char **obo,
		   struct err *e);
/* The same for a SOAP 1.1 Envelope (at most SAML_MAX_XML) whose Body holds samlp:msg_name. */
int saml_soap_peek(struct arena *a, struct str body, const char *msg_name, const char **issuer,
		   struct err *e);
/*
 * A lasso server that is the IdP (our key, our metadata) and knows this
 * one SP (its reduced metadata): signature algorithm and encryption as
 * registered.  Destroy with lasso_server_destroy.
 */
int saml_lasso_server(const json_t *sp, struct _LassoServer **out, struct err *e);
/* Add one more SP (registration doc) to such a server: 0 or lasso's error. */
int saml_lasso_server_add(struct _LassoServer *s, const json_t *sp);
/*
 * Of r's HTTP-Redirect query, what lasso checks the signature over:
 * SAMLRequest or SAMLResponse, RelayState, SigAlg and Signature exactly as
 * they came and in their order (SAML Bindings §3.4.4.1), without the
 * parameters the proxy reads itself (locale); *query in arena memory.
 * ERR_INVAL (400) for a query lasso could read otherwise than the proxy:
 * a raw ';', or one of those parameters given more than once.
 */
int saml_signed_query(const struct http_req *r, char **query, struct err *e);

/* ---- AES-256-GCM encryption by xmlsec (enc.c) ---- */

/* The SP is registered for AES-256-GCM: lasso leaves its assertions plain. */
bool saml_sp_gcm(const json_t *sp);
/*
 * In the Response (XML as lasso dumps it), replace the signed
 * saml:Assertion by a saml:EncryptedAssertion: AES-256-GCM under a fresh
 * session key, the key by RSA-OAEP-MGF1P to the SP's certificate
 * (cert_pem).  *out (free) is the new Response; a Response without an
 * Assertion is copied unchanged.
 */
int saml_encrypt_gcm(const char *response, const char *cert_pem, char **out, struct err *e);

/* ---- answering an AuthnRequest (respond.c) ---- */

/* An SP's AuthnRequest read and verified by lasso, and the answer being built. */
struct saml_login;
/*
 * Read the HTTP-Redirect query (SAMLRequest, RelayState, SigAlg,
 * Signature), verifying its signature with the SP's certificate.
 * ERR_DENIED (400) when it is unsigned or the signature is wrong,
 * ERR_LIMIT (400) when its RelayState is over SAML_MAX_RELAY bytes.
 */
int saml_login_open(const json_t *sp, const char *query, struct saml_login **out,
		    struct err *e);
const struct _LassoSamlp2AuthnRequest *saml_login_request(const struct saml_login *sl);
void saml_login_close(struct saml_login *sl);
/* Answer with a status (top, second or NULL, message) by artifact. */
void saml_respond_status(struct http_req *r, struct http_resp *w, struct saml_login *sl,
			 const char *unused, const char *top, const char *second,
			 const char *message);
/*
 * Answer with the assertion of spec §5 for the person in the ID token's
 * claims, and add the SP to the SAML side of the SSO session (its sid):
 * the "saml_sess" document and the browser's porten_saml_sid cookie, for
 * single logout.
 */
void saml_respond_assertion(struct http_req *r, struct http_resp *w, struct saml_login *sl,
			    const json_t *sp, const json_t *claims, const char *id_token,
			    const char *obo, const char *locale);

/* Single logout (slo.c): GET /saml/logout, /saml/logout/done, /saml/fclogout. */
void saml_handle_logout(struct http_req *r, struct http_resp *w);
void saml_handle_logout_done(struct http_req *r, struct http_resp *w);
void saml_handle_fclogout(struct http_req *r, struct http_resp *w);
/* porten_service.logout: the SAML SPs of an SSO session the issuer's /logout ended. */
int saml_logout_hook(struct http_req *r, const char *sid, const char *dest, const char **next,
		     struct err *e);

/* GET /saml/sso, GET /saml/callback (sso.c); POST /saml/artifact (artifact.c). */
void saml_handle_sso(struct http_req *r, struct http_resp *w);
void saml_handle_callback(struct http_req *r, struct http_resp *w);
void saml_handle_artifact(struct http_req *r, struct http_resp *w);
/* porten_service.customer: the SP's organisation for a login of the proxy's client. */
int saml_customer(struct http_req *r, const char *client_id, const json_t *areq, const char **orgno,
		  struct err *e);

/* ---- portenctl saml sp ... (cmd_sp.c) ---- */
int saml_cmd(struct cli *c, int argc, char **argv);
void saml_cmd_usage(FILE *f);

#endif
