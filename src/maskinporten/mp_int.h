/* Declarations shared by the files of src/maskinporten/ only. */
#ifndef PORTEN_MASKINPORTEN_MP_INT_H
#define PORTEN_MASKINPORTEN_MP_INT_H

#include <stdio.h>

#include "core/err.h"
#include "oauth/oauth.h"

#define MP_ASSERTION_MAX 16384   /* bytes of a grant: the JWS parser's own bound */

/* RFC 9396 §5: the error for a bad authorization_details. */
#define MP_INVALID_AUTHORIZATION_DETAILS "invalid_authorization_details"

/*
 * spec/maskinporten.md §5: every token-endpoint error is HTTP 400; the
 * description starts with the stable MP code where the spec gives one.
 */
#define MP_BADREQ(e, ...) ERR((e), ERR_INVAL, 400, OAUTH_INVALID_REQUEST, __VA_ARGS__)
#define MP_BADGRANT(e, ...) ERR((e), ERR_DENIED, 400, OAUTH_INVALID_GRANT, __VA_ARGS__)
#define MP_BADSCOPE(e, ...) ERR((e), ERR_DENIED, 400, OAUTH_INVALID_SCOPE, __VA_ARGS__)
#define MP_INTERNAL(e, ...) ERR((e), ERR_INTERNAL, 500, OAUTH_SERVER_ERROR, __VA_ARGS__)

struct cli;

/* `portenctl delegation add|list|remove` (cmd_delegation.c). */
int mp_cmd_delegation(struct cli *c, int argc, char **argv);
void mp_cmd_delegation_usage(FILE *f);

#endif
