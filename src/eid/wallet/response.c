/*
 * The wallet's side (spec/eudi-wallet.md §2, §4.1, §6, §8): the request
 * object fetched by reference, and the encrypted authorization response
 * posted to response_uri, verified before it is answered.
 */
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/people.h"
#include "eid/wallet/wallet_int.h"
#include "store/store.h"

/* GET or POST /wallet/request?id=: a freshly signed request object (§2). */
void
wallet_request(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	const struct issuer *is = r->route_data;
	const char *wn = strcmp(r->method, "POST") == 0 ? http_param_c(&r->form, "wallet_nonce")
							: NULL;
	const char *st;
	struct err e = { 0 };
	json_t *tx = NULL;
	char *jws = NULL;

	(void)flow;
	if (r->bad_input || (wn != NULL && strlen(wn) > 256)) {
		http_resp_oauth_error(w, 400, "invalid_request", "malformed request");
		return;
	}
	if (wallet_tx_get(r->app, http_param_c(&r->query, "id"), &tx, &e) != 0) {
		http_resp_oauth_error(w, e.code == ERR_NOTFOUND ? 404 : 503, "invalid_request",
				      "no such request");
		return;
	}
	/* Fetched any number of times, but only while the transaction waits (§2). */
	st = json_string_value(json_object_get(tx, "st"));
	if (st == NULL || strcmp(st, "pending") != 0 ||
	    wallet_request_sign(arena_printf(r->arena, "%s/wallet/response", is->base), tx, wn,
				&jws, &e) != 0) {
		http_resp_oauth_error(w, 404, "invalid_request", "no such request");
		json_decref(tx);
		return;
	}
	http_resp_text(w, 200, jws);
	w->content_type = "application/oauth-authz-req+jwt";
	http_resp_header(w, "Cache-Control", "no-store");
	free(jws);
	json_decref(tx);
}

/* Who the login is for (§7): a pid, or a foreign person's eidas_* claims. */
struct person {
	const char *pid, *ident, *first, *last, *dob;
};

static const char *
claim_str(struct http_req *r, const json_t *claims, const char *name)
{
	return arena_strdup(r->arena, json_string_value(json_object_get(claims, name)));
}

/*
 * §7: a Norwegian PID yields its national identity number; a foreign one
 * the eidas_* claims, and a pid only when the person register matches its
 * identifier.  ERR_DENIED (WALLET_FAIL_NOMATCH) when neither can be had.
 */
static int
person_of(struct http_req *r, const json_t *claims, bool norwegian, struct person *p,
	  struct err *e)
{
	struct porten *app = r->app;
	struct natid_policy policy = { .allow_2032 = app->cfg->natid_allow_2032 };
	const char *ic = claim_str(r, claims, "issuing_country");
	const char *pan = claim_str(r, claims, "personal_administrative_number");
	enum people_match how;

	memset(p, 0, sizeof(*p));
	if (norwegian && strcmp(ic, "NO") == 0) {
		if (pan == NULL || !natid_acceptable(str_c(pan), app->test_env ? NATID_CTX_TEST
									 : NATID_CTX_PROD, &policy))
			return ERR(e, ERR_DENIED, 0, NULL, "a Norwegian PID without a valid number");
		p->pid = pan;
		return 0;
	}
	/* The eIDAS identifier syntax; a PID without the number has no stable identifier. */
	if (pan == NULL || strcmp(ic, "NO") == 0 || strlen(pan) > 200)
		return ERR(e, ERR_DENIED, 0, NULL, "a foreign PID without a usable number");
	p->ident = arena_printf(r->arena, "%s/NO/%s", ic, pan);
	p->first = claim_str(r, claims, "given_name");
	p->last = claim_str(r, claims, "family_name");
	p->dob = claim_str(r, claims, "birthdate");
	return people_match_eidas(r, "wallet", p->ident, &p->pid, &how, e);
}

/* The one presentation of vp_token {"pid": ["<sd-jwt>"]} (§6 step 3). */
static const char *
the_presentation(const json_t *payload)
{
	const json_t *vp = json_object_get(payload, "vp_token"), *arr;

	if (!json_is_object(vp) || json_object_size(vp) != 1)
		return NULL;
	arr = json_object_get(vp, "pid");
	if (!json_is_array(arr) || json_array_size(arr) != 1)
		return NULL;
	return json_string_value(json_array_get(arr, 0));
}

/* Check the decrypted payload; *pid on success, *why otherwise. */
static int
verify(struct http_req *r, const json_t *tx, const json_t *payload, struct person *who,
       enum wallet_fail *why, struct err *e)
{
	struct wallet_check c = {
		.anchors_no = wallet_conf.anchors_no,
		.anchors = wallet_conf.anchors,
		.aud = wallet_conf.client_id,
		.nonce = json_string_value(json_object_get(tx, "nonce")),
		.now = time_now(),
		.tx_start = json_integer_value(json_object_get(tx, "start")),
		.allow_vc_typ = wallet_conf.vc_typ,
	};
	const char *pres = the_presentation(payload);
	json_t *claims = NULL;
	bool no = false;
	int rc;

	*why = WALLET_FAIL_INVALID;
	if (pres == NULL || c.nonce == NULL)
		return ERR(e, ERR_DENIED, 0, NULL, "vp_token is not one PID presentation");
	rc = wallet_sdjwt_verify(str_c(pres), &c, &claims, &no, why, e);
	/* §6 step 11; over plain http only in the test environment. */
	if (rc == 0 && json_object_get(claims, "status") != NULL)
		rc = wallet_status_check(json_object_get(claims, "status"), &c,
					 ((struct porten *)r->app)->test_env, why, e);
	if (rc != 0) {
		json_decref(claims);
		return rc;
	}
	rc = person_of(r, claims, no, who, e);
	json_decref(claims);
	if (rc != 0)
		*why = rc == ERR_UNAVAILABLE ? WALLET_FAIL_UNAVAILABLE : WALLET_FAIL_NOMATCH;
	return rc;
}

/* Store the outcome and answer the wallet (§4.1 step 3, §8). */
static void
settle(struct http_req *r, struct http_resp *w, json_t *tx, const struct person *who,
       enum wallet_fail why, bool wallet_error)
{
	struct porten *app = r->app;
	const struct issuer *is = r->route_data;
	const char *id = json_string_value(json_object_get(tx, "id"));
	const char *ar = json_string_value(json_object_get(tx, "ar"));
	bool same = json_is_true(json_object_get(tx, "same"));
	char code[TOKEN_CHARS + 1], hash[TOKEN_CHARS + 1];
	struct err e = { 0 };
	json_t *doc, *ans = json_object();
	bool ok = who != NULL && (who->pid != NULL || who->ident != NULL);
	int rc;

	json_object_del(tx, "key");
	json_object_set_new(tx, "st", json_string(ok ? "ok" : "failed"));
	if (ok) {
		/* NULL members are left out (json_string(NULL) is NULL). */
		json_object_set_new(tx, "pid", json_string(who->pid));
		json_object_set_new(tx, "eidas_identifier", json_string(who->ident));
		json_object_set_new(tx, "eidas_firstname", json_string(who->first));
		json_object_set_new(tx, "eidas_lastname", json_string(who->last));
		json_object_set_new(tx, "eidas_date_of_birth", json_string(who->dob));
		json_object_set_new(tx, "auth_time", json_integer(time_now()));
	} else {
		json_object_set_new(tx, "fail", json_integer(why));
	}
	rc = store_call(app->store, login, doc_put, WALLET_K_TX, id, tx,
			json_integer_value(json_object_get(tx, "exp")), &e);
	if (rc == 0 && ok && same) {
		rc = rand_token_buf(code);
		sha256_b64url_buf(str_c(code), hash);
		doc = json_pack("{s:s, s:s}", "tx", id, "ar", ar);
		if (rc == 0)
			rc = store_call(app->store, login, doc_put, WALLET_K_CODE, hash, doc,
					time_now() + WALLET_CODE_LIFE, &e);
		json_decref(doc);
		json_object_set_new(ans, "redirect_uri",
				    json_string(arena_printf(r->arena,
							     "%s/wallet/return?response_code=%s",
							     is->base, code)));
	} else if (rc == 0 && wallet_error && same) {
		json_object_set_new(ans, "redirect_uri",
				    json_string(arena_printf(r->arena,
							     "%s/wallet/status?ar=%s&tx=%s",
							     is->base, ar, id)));
	}
	if (rc != 0)
		http_resp_oauth_error(w, 503, "temporarily_unavailable", "try again");
	else if (!ok && !wallet_error)
		http_resp_oauth_error(w, 400, "invalid_request", "the response was not accepted");
	else
		http_resp_json(w, 200, ans);
	json_decref(ans);
}

/* Claim the pending transaction id: taken, so a second response finds nothing. */
static int
claim(struct http_req *r, const char *id, json_t **tx, struct err *e)
{
	struct porten *app = r->app;
	const char *st;

	*tx = NULL;
	if (id == NULL || strlen(id) != TOKEN_CHARS)
		return ERR(e, ERR_NOTFOUND, 0, NULL, "unknown state");
	if (store_call(app->store, login, doc_take, WALLET_K_TX, id, tx, e) != 0)
		return -1;
	st = json_string_value(json_object_get(*tx, "st"));
	if (st == NULL || strcmp(st, "pending") != 0) {
		/* The first result stands (§5): put it back as it was. */
		store_call(app->store, login, doc_put, WALLET_K_TX, id, *tx,
			   json_integer_value(json_object_get(*tx, "exp")), e);
		json_decref(*tx);
		*tx = NULL;
		return ERR(e, ERR_DENIED, 0, NULL, "the transaction has had its answer");
	}
	return 0;
}

/* error=...&state=...: the wallet declined or could not answer (§8). */
static void
wallet_error(struct http_req *r, struct http_resp *w, const char *error, const char *state)
{
	struct err e = { 0 };
	json_t *tx = NULL;

	if (claim(r, state, &tx, &e) != 0) {
		http_resp_oauth_error(w, 400, "invalid_request", "unknown or used state");
		return;
	}
	log_info(r->rid, "wallet: the wallet answered %.40s", error);
	settle(r, w, tx, NULL,
	       strcmp(error, "access_denied") == 0 ? WALLET_FAIL_DECLINED : WALLET_FAIL_UNAVAILABLE,
	       true);
	json_decref(tx);
}

/* Decrypt response with the key of its transaction (found by kid, §6 steps 1-2). */
static int
open_response(struct http_req *r, const char *response, json_t **tx, json_t **payload,
	      struct err *e)
{
	struct jose_eckey *k = NULL;
	json_t *hdr = NULL;
	char *plain = NULL;
	size_t len = 0;
	int rc;

	*tx = *payload = NULL;
	rc = jose_jwe_header(str_c(response), &hdr, e);
	if (rc == 0)
		rc = wallet_tx_get(r->app, json_string_value(json_object_get(hdr, "kid")), tx, e);
	json_decref(hdr);
	if (rc == 0 && json_object_get(*tx, "key") == NULL)
		rc = ERR(e, ERR_DENIED, 0, NULL, "the transaction has had its answer");
	if (rc == 0)
		rc = jose_eckey_from_pem(json_string_value(json_object_get(*tx, "key")), NULL, &k,
					 e);
	if (rc == 0)
		rc = jose_jwe_decrypt_ecdh(str_c(response), k, &plain, &len, e);
	jose_eckey_free(k);
	if (rc == 0) {
		*payload = json_loadb(plain, len, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(*payload))
			rc = ERR(e, ERR_INVAL, 0, NULL, "the response is not a JSON object");
	}
	free(plain);
	if (rc != 0) {
		json_decref(*tx);
		json_decref(*payload);
		*tx = *payload = NULL;
	}
	return rc;
}

/* POST /wallet/response: response=<JWE> (or an unencrypted error). */
void
wallet_response(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	const char *response = http_param_c(&r->form, "response"), *state;
	struct person who = { 0 };
	enum wallet_fail why = WALLET_FAIL_INVALID;
	struct err e = { 0 };
	json_t *tx = NULL, *payload = NULL;

	(void)flow;
	if (r->bad_input || (response == NULL && http_param_c(&r->form, "error") == NULL)) {
		/* Oversized, malformed, or an unencrypted vp_token: refused unread. */
		http_resp_oauth_error(w, 400, "invalid_request", "the response was not accepted");
		return;
	}
	if (response == NULL) {
		wallet_error(r, w, http_param_c(&r->form, "error"), http_param_c(&r->form, "state"));
		return;
	}
	if (open_response(r, response, &tx, &payload, &e) != 0) {
		log_info(r->rid, "wallet: response refused: %s", e.msg);
		http_resp_oauth_error(w, 400, "invalid_request", "the response was not accepted");
		goto out;
	}
	state = json_string_value(json_object_get(payload, "state"));
	/* §6 step 3: the state of the transaction whose key the wallet encrypted to. */
	if (state == NULL || strcmp(state, json_string_value(json_object_get(tx, "id"))) != 0) {
		http_resp_oauth_error(w, 400, "invalid_request", "unknown or used state");
		goto out;
	}
	json_decref(tx);
	tx = NULL;
	if (json_is_string(json_object_get(payload, "error"))) {
		wallet_error(r, w, json_string_value(json_object_get(payload, "error")), state);
		goto out;
	}
	if (claim(r, state, &tx, &e) != 0) {
		log_info(r->rid, "wallet: response refused: %s", e.msg);
		http_resp_oauth_error(w, 400, "invalid_request", "unknown or used state");
		goto out;
	}
	if (verify(r, tx, payload, &who, &why, &e) != 0) {
		log_info(r->rid, "wallet: presentation refused: %s", e.msg);
		memset(&who, 0, sizeof(who));
	}
	settle(r, w, tx, &who, why, false);
out:
	json_decref(payload);
	json_decref(tx);
}
