/*
 * Upstream OpenID Connect eIDs (spec/idporten-oidc.md §6): BankID, Buypass,
 * Commfides and the like, each one configuration of the same provider in
 * the file named by the setting upstream_eids.  Porten runs a code flow
 * with PKCE (and PAR when the upstream offers it) against the upstream,
 * validates its ID token and hands the login core the person it names.
 */
#ifndef PORTEN_EID_UPSTREAM_UPSTREAM_H
#define PORTEN_EID_UPSTREAM_UPSTREAM_H

#include "app/app.h"
#include "core/cfg.h"
#include "core/err.h"

/*
 * Read the file of c->upstream_eids (nothing when unset) and add each eID
 * to eid_providers[]; 0 or ERR_INVAL naming the file, the line and what is
 * wrong.  test_env allows http:// upstreams (the tests' own servers).
 */
int upstream_load(const struct cfg *c, bool test_env, struct err *e);
/* Take the upstream eIDs off the list and free them; a no-op on nothing. */
void upstream_unload(void);

#endif
