/*
 * Declarations shared by the back-channel endpoints of src/oauth/ (token,
 * introspect, revoke, userinfo); not a public interface.
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

#endif
