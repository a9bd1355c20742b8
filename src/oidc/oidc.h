/*
 * OpenID Connect services of an issuer: discovery, JWKS, userinfo, SSO
 * sessions, logout, and the login pages around the eIDs.
 */
#ifndef PORTEN_OIDC_OIDC_H
#define PORTEN_OIDC_OIDC_H

#include "http/http.h"

void oidc_handle_discovery(struct http_req *r, struct http_resp *w); /* GET /.well-known/openid-configuration */
void oidc_handle_jwks(struct http_req *r, struct http_resp *w);      /* GET /jwks.json */
void oidc_handle_userinfo(struct http_req *r, struct http_resp *w);  /* GET/POST /userinfo */
void oidc_handle_logout(struct http_req *r, struct http_resp *w);    /* GET/POST /logout */

/* The service (oidc/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service oidc_service;

#endif
