/*
 * Declarations shared by the back-channel endpoints of src/oauth/ and
 * src/oidc/userinfo.c (token, introspect, revoke, userinfo); not a public
 * interface.
 */
#ifndef PORTEN_OAUTH_TOKEN_INT_H
#define PORTEN_OAUTH_TOKEN_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "http/http.h"

#define OAUTH_SCOPE_MAX_LEN 4096   /* a scope parameter or grant's scope string */
#define OAUTH_SCOPE_MAX_N 100      /* scopes in one request or grant */
#define OAUTH_INTROSPECTION_SCOPE "idporten:token.introspection"

/*
 * oauth_resp_error with the request at hand: logs the failure once with
 * the request id and ends error_description with " (ref <rid>)" so a user
 * can quote it.  Server-side failures show a generic text, never e->msg.
 */
void oauth_resp_error_r(struct http_req *r, struct http_resp *w, const struct err *e);

/*
 * Common gate of a back-channel POST endpoint: method POST (405
 * otherwise), a parsable form (r->bad_input: invalid_request) and no
 * parameter given twice (RFC 6749 §3.1: invalid_request).  0 or an error
 * in e.
 */
int oauth_backchannel_check(const struct http_req *r, struct err *e);

/* Does the space-separated scope string contain name as a whole token? */
bool oauth_scope_has(const char *scope, const char *name);

#endif
