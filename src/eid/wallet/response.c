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
	/* A Digital Credentials API transaction has its request in the page only (§4.3). */
	if (st == NULL || strcmp(st, "pending") != 0 || wallet_tx_is_dc(tx) ||
	    wallet_request_sign(r->app, tx, arena_printf(r->arena, "%s/wallet/response", is->base),
				NULL, wn, &jws, &e) != 0) {
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

/*
 * Who the login is for (§7): a pid, or a foreign person's eidas_* claims
 * and nationalities; onetime a person key for this login only, when a
 * foreign PID has no stable identifier.
 */
struct person {
	const char *pid, *ident, *first, *last, *dob, *nat, *onetime;
};

/* A person the login can be for: one of pid, ident or onetime. */
static bool
person_known(const struct person *p)
{
	return p != NULL && (p->pid != NULL || p->ident != NULL || p->onetime != NULL);
}

static const char *
claim_str(struct http_req *r, const json_t *claims, const char *name)
{
	return arena_strdup(r->arena, json_string_value(json_object_get(claims, name)));
}

#define MAX_NATIONALITIES 16

/*
 * §7: nationalities, when disclosed, as "DE,FR" (alpha-2 codes only);
 * *out NULL when not disclosed.  ERR_DENIED for anything else.
 */
static int
nationalities_of(struct http_req *r, const json_t *claims, const char **out, struct err *e)
{
	const json_t *arr = json_object_get(claims, "nationalities"), *v;
	char *b;
	size_t i, n;

	*out = NULL;
	if (arr == NULL)
		return 0;
	n = json_is_array(arr) ? json_array_size(arr) : 0;
	if (n == 0 || n > MAX_NATIONALITIES)
		return ERR(e, ERR_DENIED, 0, NULL, "nationalities is not a list of codes");
	b = arena_alloc(r->arena, 3 * n);
	if (b == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	json_array_foreach(arr, i, v) {
		const char *c = json_string_value(v);

		if (!people_country_ok(str_c(c)))
			return ERR(e, ERR_DENIED, 0, NULL, "nationalities holds a non-alpha-2 code");
		memcpy(b + 3 * i, c, 2);
		b[3 * i + 2] = i + 1 < n ? ',' : '\0';
	}
	*out = b;
	return 0;
}

/*
 * §7: a Norwegian PID yields its national identity number; a foreign one
 * the eidas_* claims and nationalities, and a pid only when the person
 * register matches its identifier.  cc is the country of the anchor the
 * PID chains to, which wallet_country_check has found to be its
 * issuing_country.  A foreign PID without the number has no stable
 * identifier (names and birth date are not unique): its login gets a
 * random person key of its own.  ERR_DENIED (*why NOMATCH) for a
 * Norwegian PID without a valid number, (*why INVALID) for malformed
 * nationalities.
 */
static int
person_of(struct http_req *r, const json_t *claims, const char *cc, struct person *p,
	  enum wallet_fail *why, struct err *e)
{
	struct porten *app = r->app;
	const char *pan = claim_str(r, claims, "personal_administrative_number");
	enum people_match how;
	int rc;

	memset(p, 0, sizeof(*p));
	*why = WALLET_FAIL_NOMATCH;
	/* Only a Norwegian PID provider (the anchors labelled NO) vouches for a Norwegian number. */
	if (strcmp(cc, "NO") == 0) {
		if (!people_pid_ok(app, pan))
			return ERR(e, ERR_DENIED, 0, NULL, "a Norwegian PID without a valid number");
		p->pid = pan;
		return 0;
	}
	*why = WALLET_FAIL_INVALID;
	rc = nationalities_of(r, claims, &p->nat, e);
	if (rc != 0)
		return rc;
	if (pan != NULL && (pan[0] == '\0' || strlen(pan) > 200))
		return ERR(e, ERR_DENIED, 0, NULL, "an unusable personal_administrative_number");
	p->first = claim_str(r, claims, "given_name");
	p->last = claim_str(r, claims, "family_name");
	p->dob = claim_str(r, claims, "birthdate");
	if (pan == NULL) {
		p->onetime = rand_token(r->arena);
		return p->onetime != NULL ? 0 : ERR(e, ERR_INTERNAL, 0, NULL, "no randomness");
	}
	/*
	 * The eIDAS identifier syntax, whose country is the one that issued the
	 * eID (ansattporten-eidas-testid.md §2.3): the anchor's, never a claim
	 * the anchor's provider could set for another country's people.
	 */
	p->ident = arena_printf(r->arena, "%s/NO/%s", cc, pan);
	*why = WALLET_FAIL_NOMATCH;
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
verify(struct http_req *r, const json_t *tx, const json_t *payload, const char *aud,
       struct person *who, enum wallet_fail *why, struct err *e)
{
	struct wallet_check c = {
		.anchors = wallet_conf.anchors,
		.nanchors = wallet_conf.nanchors,
		.aud = aud,
		.nonce = json_string_value(json_object_get(tx, "nonce")),
		.now = time_now(),
		.tx_start = json_integer_value(json_object_get(tx, "start")),
		.allow_vc_typ = wallet_conf.vc_typ,
	};
	const char *pres = the_presentation(payload);
	const struct wallet_anchor *by = NULL;
	json_t *claims = NULL;
	int rc;

	*why = WALLET_FAIL_INVALID;
	if (pres == NULL || c.nonce == NULL)
		return ERR(e, ERR_DENIED, 0, NULL, "vp_token is not one PID presentation");
	rc = wallet_sdjwt_verify(str_c(pres), &c, &claims, &by, why, e);
	/* §6 step 11; over plain http only in the test environment. */
	if (rc == 0 && json_object_get(claims, "status") != NULL)
		rc = wallet_status_check(json_object_get(claims, "status"), &c, by->cc,
					 ((struct porten *)r->app)->test_env, why, e);
	if (rc != 0) {
		json_decref(claims);
		return rc;
	}
	rc = person_of(r, claims, by->cc, who, why, e);
	json_decref(claims);
	if (rc == ERR_UNAVAILABLE)
		*why = WALLET_FAIL_UNAVAILABLE;
	return rc;
}

/*
 * Store the outcome of the claimed transaction tx (§6 step 13): the person
 * on success, else why.  Its key goes either way (§5).  0, or the store's
 * failure.
 */
static int
record(struct http_req *r, json_t *tx, const struct person *who, enum wallet_fail why,
       struct err *e)
{
	struct porten *app = r->app;
	const char *id = json_string_value(json_object_get(tx, "id"));
	bool ok = person_known(who);

	json_object_del(tx, "key_sealed");
	json_object_set_new(tx, "st", json_string(ok ? "ok" : "failed"));
	if (ok) {
		/* NULL members are left out (json_string(NULL) is NULL). */
		json_object_set_new(tx, "pid", json_string(who->pid));
		json_object_set_new(tx, "eidas_identifier", json_string(who->ident));
		json_object_set_new(tx, "eidas_firstname", json_string(who->first));
		json_object_set_new(tx, "eidas_lastname", json_string(who->last));
		json_object_set_new(tx, "eidas_date_of_birth", json_string(who->dob));
		json_object_set_new(tx, "nationalities", json_string(who->nat));
		json_object_set_new(tx, "onetime_key", json_string(who->onetime));
		json_object_set_new(tx, "auth_time", json_integer(time_now()));
	} else {
		json_object_set_new(tx, "fail", json_integer(why));
	}
	return store_call(app->store, login, doc_put, WALLET_K_TX, id, tx,
			  json_integer_value(json_object_get(tx, "exp")), e);
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
	bool ok = person_known(who);
	int rc;

	rc = record(r, tx, who, why, &e);
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

static enum wallet_fail
error_fail(const char *error)
{
	return strcmp(error, "access_denied") == 0 ? WALLET_FAIL_DECLINED : WALLET_FAIL_UNAVAILABLE;
}

/* error=...&state=...: the wallet declined or could not answer (§8). */
static void
wallet_error(struct http_req *r, struct http_resp *w, const char *error, const char *state)
{
	struct err e = { 0 };
	json_t *tx = NULL;

	if (claim(r, state, &tx, &e) != 0 || wallet_tx_is_dc(tx)) {
		json_decref(tx);
		http_resp_oauth_error(w, 400, "invalid_request", "unknown or used state");
		return;
	}
	log_info(r->rid, "wallet: the wallet answered %.40s", error);
	settle(r, w, tx, NULL, error_fail(error), true);
	json_decref(tx);
}

/*
 * Decrypt response with the key of tx (§6 step 2): the JWE's kid must name
 * the transaction.  *payload a JSON object on success.
 */
static int
open_jwe(struct http_req *r, const json_t *tx, const char *response, json_t **payload,
	 struct err *e)
{
	struct jose_eckey *k = NULL;
	json_t *hdr = NULL;
	char *plain = NULL;
	size_t len = 0;
	int rc;

	*payload = NULL;
	rc = jose_jwe_header(str_c(response), &hdr, e);
	if (rc == 0 && !json_equal(json_object_get(hdr, "kid"), json_object_get(tx, "id")))
		rc = ERR(e, ERR_DENIED, 0, NULL, "the JWE is not to this transaction's key");
	json_decref(hdr);
	if (rc == 0)
		rc = wallet_tx_key(r->app, tx, &k, e);
	if (rc == 0)
		rc = jose_jwe_decrypt_ecdh(str_c(response), k, &plain, &len, e);
	jose_eckey_free(k);
	if (rc == 0) {
		*payload = json_loadb(plain, len, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(*payload))
			rc = ERR(e, ERR_INVAL, 0, NULL, "the response is not a JSON object");
	}
	if (plain != NULL)
		secure_wipe(plain, len);
	free(plain);
	if (rc != 0) {
		json_decref(*payload);
		*payload = NULL;
	}
	return rc;
}

/* Decrypt response with the key of its transaction (found by kid, §6 steps 1-2). */
static int
open_response(struct http_req *r, const char *response, json_t **tx, json_t **payload,
	      struct err *e)
{
	json_t *hdr = NULL;
	int rc;

	*tx = *payload = NULL;
	rc = jose_jwe_header(str_c(response), &hdr, e);
	if (rc == 0)
		rc = wallet_tx_get(r->app, json_string_value(json_object_get(hdr, "kid")), tx, e);
	json_decref(hdr);
	/* A Digital Credentials API transaction answers at /wallet/dc-response only. */
	if (rc == 0 && wallet_tx_is_dc(*tx))
		rc = ERR(e, ERR_DENIED, 0, NULL, "a Digital Credentials API transaction");
	if (rc == 0)
		rc = open_jwe(r, *tx, response, payload, e);
	if (rc != 0) {
		json_decref(*tx);
		*tx = NULL;
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
	if (verify(r, tx, payload, wallet_conf.client_id, &who, &why, &e) != 0) {
		log_info(r->rid, "wallet: presentation refused: %s", e.msg);
		memset(&who, 0, sizeof(who));
	}
	settle(r, w, tx, &who, why, false);
out:
	json_decref(payload);
	json_decref(tx);
}

/*
 * POST /wallet/dc-response (ar, csrf, tx, and response=<JWE> or error):
 * what the browser's Digital Credentials API handed the page (§4.3).  The
 * transaction is the one of this browser's login (the door checked the
 * login cookie and the form's csrf); the request named this origin in
 * expected_origins, and the KB-JWT's aud must be origin:<origin>.  The
 * browser gets the login, or the failure page.
 */
void
wallet_dc_response(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	const char *response = http_param_c(&r->form, "response");
	const char *error = http_param_c(&r->form, "error");
	const char *origin = wallet_origin(r), *sent = http_header(r, "origin");
	const char *site = http_header(r, "sec-fetch-site");
	const char *id, *err_member, *ar;
	struct person who = { 0 };
	enum wallet_fail why = WALLET_FAIL_INVALID;
	struct err e = { 0 };
	json_t *tx = NULL, *payload = NULL;
	int rc;

	/* The page's form sends both fields, the one it does not use empty. */
	if (response != NULL && response[0] == '\0')
		response = NULL;
	if (error != NULL && error[0] == '\0')
		error = NULL;
	if (r->bad_input || (response == NULL && error == NULL) || origin == NULL) {
		wallet_fail_page(r, w, flow, WALLET_FAIL_INVALID);
		return;
	}
	/*
	 * The page posts from its own origin.  Under Referrer-Policy no-referrer
	 * a browser sends Origin "null" with the form, so Sec-Fetch-Site says
	 * it too; either naming another site is refused.  What proves the
	 * origin is the KB-JWT's aud, which the browser's DC API attests.
	 */
	if ((sent != NULL && strcmp(sent, "null") != 0 && strcmp(sent, origin) != 0) ||
	    (site != NULL && strcmp(site, "same-origin") != 0)) {
		log_info(r->rid, "wallet: a DC API answer posted from %.100s (%.20s)",
			 sent != NULL ? sent : "-", site != NULL ? site : "-");
		wallet_fail_page(r, w, flow, WALLET_FAIL_INVALID);
		return;
	}
	rc = wallet_tx_get(r->app, http_param_c(&r->form, "tx"), &tx, &e);
	if (rc != 0) {
		wallet_fail_page(r, w, flow, rc == ERR_NOTFOUND ? WALLET_FAIL_TIMEOUT
							 : WALLET_FAIL_UNAVAILABLE);
		return;
	}
	id = arena_strdup(r->arena, json_string_value(json_object_get(tx, "id")));
	ar = json_string_value(json_object_get(tx, "ar"));
	if (!wallet_tx_is_dc(tx) || ar == NULL || strcmp(ar, flow->ar) != 0) {
		log_info(r->rid, "wallet: a DC API answer for another transaction");
		wallet_fail_page(r, w, flow, WALLET_FAIL_INVALID);
		goto out;
	}
	/* An error may come unencrypted (OpenID4VP 8.5); a vp_token never does. */
	if (response != NULL && open_jwe(r, tx, response, &payload, &e) != 0) {
		log_info(r->rid, "wallet: DC API response refused: %s", e.msg);
		wallet_fail_page(r, w, flow, WALLET_FAIL_INVALID);
		goto out;
	}
	err_member = payload != NULL ? json_string_value(json_object_get(payload, "error")) : error;
	json_decref(tx);
	tx = NULL;
	if (claim(r, id, &tx, &e) != 0) {
		log_info(r->rid, "wallet: DC API response refused: %s", e.msg);
		wallet_fail_page(r, w, flow, WALLET_FAIL_INVALID);
		goto out;
	}
	if (err_member != NULL) {
		log_info(r->rid, "wallet: the wallet answered %.40s", err_member);
		why = error_fail(err_member);
	} else if (verify(r, tx, payload, arena_printf(r->arena, "origin:%s", origin), &who, &why,
			  &e) != 0) {
		log_info(r->rid, "wallet: presentation refused: %s", e.msg);
		memset(&who, 0, sizeof(who));
	}
	if (record(r, tx, err_member != NULL ? NULL : &who, why, &e) != 0) {
		wallet_fail_page(r, w, flow, WALLET_FAIL_UNAVAILABLE);
		goto out;
	}
	if (!person_known(&who)) {
		store_call(((struct porten *)r->app)->store, login, doc_delete, WALLET_K_TX, id, &e);
		wallet_fail_page(r, w, flow, why);
		goto out;
	}
	wallet_finish(r, w, flow, id);
out:
	json_decref(payload);
	json_decref(tx);
}
