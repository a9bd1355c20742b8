/*
 * The EU Digital Identity Wallet as an eID (spec/eudi-wallet.md): an
 * OpenID4VP 1.0 verifier under HAIP 1.0 that asks for the PID as an SD-JWT
 * VC and turns a verified presentation into a login.
 */
#ifndef PORTEN_EID_WALLET_WALLET_H
#define PORTEN_EID_WALLET_WALLET_H

#include <stdbool.h>

#include "core/cfg.h"
#include "core/err.h"
#include "eid/eid.h"

extern const struct eid_provider eid_wallet;

/*
 * Read the wallet settings of c (nothing when wallet_key_file is unset)
 * and, unless check, put the wallet on the eID list.  ERR_INVAL / ERR_IO
 * naming the setting at fault.
 */
int wallet_load(const struct cfg *c, bool check, struct err *e);
void wallet_unload(void);

#endif
