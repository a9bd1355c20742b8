/*
 * The SAML proxy (spec/saml-proxy.md): a reduced SAML 2.0 identity
 * provider (Web Browser SSO by HTTP-Redirect and HTTP-Artifact, single
 * logout) in front of the ID-porten issuer.  Everything SAML is behind
 * lasso, xmlsec1 and libxml2, and stays in this folder.
 */
#ifndef PORTEN_SAML_SAML_H
#define PORTEN_SAML_SAML_H

/* The service (saml/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service saml_service;

#endif
