/*
 * Transactions and the presentation request (spec/eudi-wallet.md §2-§5):
 * one stored document per attempt, and a request object signed afresh
 * each time the wallet fetches it by reference.
 */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"
#include "eid/wallet/wallet_int.h"
#include "store/store.h"

int
wallet_tx_new(struct porten *app, const char *ar, const char *mode, json_t **tx, struct err *e)
{
	char id[TOKEN_CHARS + 1], nonce[TOKEN_CHARS + 1];
	struct jose_eckey *k = NULL;
	char *pem = NULL, *sealed = NULL;
	bool qr = strcmp(mode, "qr") == 0;
	int64_t now = time_now(), exp = now + (qr ? WALLET_QR_LIFE : WALLET_TX_LIFE);
	int rc;

	*tx = NULL;
	if (rand_token_buf(id) != 0 || rand_token_buf(nonce) != 0)
		return ERR(e, ERR_INTERNAL, 0, NULL, "no randomness");
	/*
	 * §5: a fresh key pair per transaction, gone with it.  The store holds
	 * it sealed under the KEK that every node has, bound to the
	 * transaction's id: never the private key itself.
	 */
	rc = jose_eckey_generate(NULL, &k, e);
	if (rc == 0)
		rc = jose_eckey_pem(k, &pem, e);
	jose_eckey_free(k);
	if (rc == 0)
		rc = jose_kek_seal_text(&app->kek, id, str_c(pem), &sealed, e);
	if (pem != NULL)
		secure_wipe(pem, strlen(pem));
	free(pem);
	if (rc != 0)
		return rc;
	*tx = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:s}", "id", id, "ar", ar,
			"nonce", nonce, "key_sealed", sealed, "start", (json_int_t)now, "exp",
			(json_int_t)exp, "same", strcmp(mode, "same") == 0, "mode", mode, "st",
			"pending");
	free(sealed);
	if (*tx == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	rc = store_call(app->store, login, doc_put, WALLET_K_TX, id, *tx, exp, e);
	if (rc != 0) {
		json_decref(*tx);
		*tx = NULL;
	}
	return rc;
}

int
wallet_tx_key(struct porten *app, const json_t *tx, struct jose_eckey **k, struct err *e)
{
	const char *sealed = json_string_value(json_object_get(tx, "key_sealed"));
	const char *id = json_string_value(json_object_get(tx, "id"));
	char *pem = NULL;
	size_t len = 0;
	int rc;

	*k = NULL;
	if (sealed == NULL || id == NULL)
		return ERR(e, ERR_DENIED, 0, NULL, "the transaction has no key any more");
	rc = jose_kek_open_text(sealed, id, &app->kek, &pem, &len, e);
	/* A KEK rotation under way: sealed by a node that still had the old one. */
	if (rc == ERR_CRYPTO && app->has_kek_previous)
		rc = jose_kek_open_text(sealed, id, &app->kek_previous, &pem, &len, e);
	if (rc == 0)
		rc = jose_eckey_from_pem(pem, id, k, e);
	if (pem != NULL)
		secure_wipe(pem, len);
	free(pem);
	return rc;
}

int
wallet_tx_get(struct porten *app, const char *id, json_t **tx, struct err *e)
{
	*tx = NULL;
	if (id == NULL || strlen(id) != TOKEN_CHARS)
		return ERR(e, ERR_NOTFOUND, 0, NULL, "no such wallet transaction");
	return store_call(app->store, login, doc_get, WALLET_K_TX, id, tx, e);
}

bool
wallet_tx_is_dc(const json_t *tx)
{
	const char *mode = json_string_value(json_object_get(tx, "mode"));

	return mode != NULL && strcmp(mode, "dc") == 0;
}

/* §3: the PID as an SD-JWT VC, nationality and number optional. */
static json_t *
dcql_query(void)
{
	const char *ids[] = { "gn", "fn", "bd", "ic", "nat", "pan" };
	const char *paths[] = { "given_name", "family_name", "birthdate", "issuing_country",
				"nationalities", "personal_administrative_number" };
	json_t *claims = json_array();

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		json_array_append_new(claims, json_pack("{s:s, s:[s]}", "id", ids[i], "path",
							paths[i]));
	return json_pack(
		"{s:[{s:s, s:s, s:{s:[s]}, s:[{s:s, s:O}], s:o, s:[[s,s,s,s,s,s],[s,s,s,s,s],"
		"[s,s,s,s]]}]}",
		"credentials", "id", "pid", "format", "dc+sd-jwt", "meta", "vct_values",
		"urn:eudi:pid:1", "trusted_authorities", "type", "aki", "values", wallet_conf.akis,
		"claims", claims, "claim_sets", "gn", "fn", "bd", "ic", "nat", "pan", "gn", "fn",
		"bd", "ic", "nat", "gn", "fn", "bd", "ic");
}

/* §2: the transaction's encryption key and what the verifier accepts. */
static json_t *
client_metadata(struct porten *app, const json_t *tx, struct err *e)
{
	struct jose_eckey *k = NULL;
	json_t *jwk;

	if (wallet_tx_key(app, tx, &k, e) != 0)
		return NULL;
	jwk = jose_eckey_public_jwk(k);
	jose_eckey_free(k);
	if (jwk == NULL)
		return NULL;
	json_object_set_new(jwk, "use", json_string("enc"));
	json_object_set_new(jwk, "alg", json_string("ECDH-ES"));
	return json_pack("{s:{s:[o]}, s:[s,s], s:{s:{s:[s], s:[s]}}}", "jwks", "keys", jwk,
			 "encrypted_response_enc_values_supported", "A128GCM", "A256GCM",
			 "vp_formats_supported", "dc+sd-jwt", "sd-jwt_alg_values", "ES256",
			 "kb-jwt_alg_values", "ES256");
}

int
wallet_request_sign(struct porten *app, const json_t *tx, const char *response_uri,
		    const char *origin, const char *wallet_nonce, char **jws, struct err *e)
{
	int64_t now = time_now();
	json_t *meta = client_metadata(app, tx, e), *claims;
	int rc;

	*jws = NULL;
	if (meta == NULL)
		return ERR(e, ERR_CRYPTO, 0, NULL, "the transaction's key is unusable");
	claims = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:O, s:o, s:o}", "client_id",
			   wallet_conf.client_id, "aud", "https://self-issued.me/v2", "iat",
			   (json_int_t)now, "exp", (json_int_t)now + WALLET_REQ_LIFE,
			   "response_type", "vp_token", "response_mode",
			   origin != NULL ? "dc_api.jwt" : "direct_post.jwt", "nonce",
			   json_object_get(tx, "nonce"), "dcql_query", dcql_query(),
			   "client_metadata", meta);
	if (claims == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "cannot build the request object");
	if (origin != NULL) {
		/* §4.3 step 2: no response_uri nor state; the browser names the origin. */
		json_object_set_new(claims, "expected_origins", json_pack("[s]", origin));
	} else {
		json_object_set_new(claims, "response_uri", json_string(response_uri));
		json_object_set(claims, "state", json_object_get(tx, "id"));
	}
	if (wallet_nonce != NULL)
		json_object_set_new(claims, "wallet_nonce", json_string(wallet_nonce));
	rc = jose_jwt_sign_x5c(jose_eckey_signer(wallet_conf.key), claims, "oauth-authz-req+jwt",
			       wallet_conf.x5c, jws, e);
	json_decref(claims);
	return rc;
}
