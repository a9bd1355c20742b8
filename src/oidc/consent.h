/*
 * The consent step of a login (spec/idporten-oidc.md §7 step 6, §4
 * prompt=none): before a code is issued for scopes marked
 * requires_user_consent, the person accepts or declines them.  Consent is
 * remembered per client and person for the client's authorization
 * lifetime, in the store as documents of kind "consent".
 */
#ifndef PORTEN_OIDC_CONSENT_H
#define PORTEN_OIDC_CONSENT_H

#include <stdbool.h>

#include <jansson.h>

#include "http/http.h"
#include "oidc/session.h"

/*
 * Called before a code is issued for areq from session s.  False: no
 * consent is missing, go on.  True: w has been answered (consent page
 * redirect, consent_required for prompt=none, or an error).
 */
bool consent_intercept(struct http_req *r, struct http_resp *w, const json_t *client,
		       const json_t *areq, struct session *s);

void consent_handle_show(struct http_req *r, struct http_resp *w);    /* GET /consent */
void consent_handle_submit(struct http_req *r, struct http_resp *w);  /* POST /consent */

#endif
