/*
 * The person's own record (spec/krr.md §4): GET and PATCH /rest/v1/person
 * with the person's ID-porten access token; the person is the token's pid,
 * never a number in the request.  GET answers one element of `personer`
 * (as JSON, or with Accept: application/jose as a JWS the register signs);
 * PATCH {"spraak": "en"} changes the preferred language.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "jose/jose.h"
#include "krr/krr_int.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "store/store.h"

#define KRR_USER_READ_SCOPES KRR_SCOPE_USER_CONTACT " " KRR_SCOPE_USER_POST

/* Does the Accept header ask for application/jose (and not JSON first)? */
static bool
wants_jose(const struct http_req *r)
{
	const char *a = http_header(r, "accept");

	return a != NULL && strstr(a, "application/jose") != NULL &&
	       (strstr(a, "application/json") == NULL ||
		strstr(a, "application/jose") < strstr(a, "application/json"));
}

/* spec §4 (design): the same JSON as a JWS of the issuer's current key. */
static void
answer_jose(struct http_req *r, struct http_resp *w, const json_t *obj)
{
	struct porten *app = r->app;
	const struct jose_signer *signer = NULL;
	struct err e = { 0 };
	char *jws = NULL;

	if (reg_keys_signing(app, r->route_data, &signer, &e) != 0 ||
	    jose_jwt_sign(signer, obj, "JWT", &jws, &e) != 0) {
		oauth_resp_error(r, w, &e);
		return;
	}
	http_resp_text(w, 200, jws);
	w->content_type = "application/jose";
	free(jws);
}

static int
patch_lang(struct http_req *r, struct http_resp *w, struct krr_person *p)
{
	const char *ct = http_header(r, "content-type");
	const char *lang, *key;
	json_error_t jerr;
	json_t *body = NULL, *v;
	struct err e = { 0 };
	int rc = -1;

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
		http_resp_oauth_error(w, 415, "invalid_request", "the body must be application/json");
		return -1;
	}
	body = json_loadb(r->body.p != NULL ? r->body.p : "", r->body.len,
			  JSON_REJECT_DUPLICATES, &jerr);
	lang = json_string_value(json_object_get(body, "spraak"));
	if (!json_is_object(body) || lang == NULL || krr_rule_lang(lang) != NULL) {
		http_resp_oauth_error(w, 400, "invalid_request",
				      "the body must be {\"spraak\": \"nb\" | \"nn\" | \"en\" | \"se\"}");
		goto out;
	}
	json_object_foreach(body, key, v) {
		if (strcmp(key, "spraak") != 0) {
			http_resp_oauth_error(w, 400, "invalid_request",
					      "only spraak can be changed here");
			goto out;
		}
	}
	memcpy(p->lang, lang, 3);
	p->lang_updated = krr_now_ms();
	if (krr_person_save(r->app, p, "person", "spraak", &e) != 0) {
		oauth_resp_error(r, w, &e);
		goto out;
	}
	rc = 0;
out:
	json_decref(body);
	return rc;
}

/*
 * spec §4: spraak.write changes the language and grants no reading, so a
 * PATCH answers what the token's read scopes show on GET, and the change
 * it made (spraak, spraak_oppdatert); with no read scope, only that.
 */
static json_t *
patch_answer(const struct krr_person *p, unsigned flags)
{
	char ts[KRR_TIME_LEN];
	json_t *out = flags & (KRR_F_CONTACT | KRR_F_POST)
			      ? krr_person_wire(p, flags, krr_now_ms())
			      : json_pack("{s:s}", "personidentifikator", p->pid);

	if (out == NULL || (flags & KRR_F_CONTACT))
		return out;
	krr_time_format(p->lang_updated, ts);
	if (json_object_set_new(out, "spraak", json_string(p->lang)) != 0 ||
	    json_object_set_new(out, "spraak_oppdatert", json_string(ts)) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

void
krr_handle_person(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	const struct issuer *is = r->route_data;
	struct oauth_bearer tok = { 0 };
	struct krr_person p = { 0 };
	struct err e = { 0 };
	bool patch = r->method != NULL && strcmp(r->method, "PATCH") == 0, found = false;
	const char *need = patch ? KRR_SCOPE_USER_LANG : KRR_USER_READ_SCOPES;
	json_t *out = NULL;
	unsigned flags;
	int rc;

	rc = oauth_bearer_check(r, is, NULL, &tok, &e);
	if (rc == 0 && patch && !oauth_bearer_has(&tok, KRR_SCOPE_USER_LANG))
		rc = oauth_bearer_insufficient(&e, need);
	if (rc == 0 && !patch && !oauth_bearer_has(&tok, KRR_SCOPE_USER_CONTACT) &&
	    !oauth_bearer_has(&tok, KRR_SCOPE_USER_POST))
		rc = oauth_bearer_insufficient(&e, need);
	/* a pseudonymous token names no person: this API has nothing for it */
	if (rc == 0 && (tok.pid == NULL || krr_rule_pid(tok.pid, krr_natid_ctx(app)) != NULL))
		rc = ERR(&e, ERR_DENIED, 403, OAUTH_INSUFFICIENT_SCOPE,
			 "the token names no person (pid)");
	if (rc != 0) {
		oauth_bearer_refuse(r, w, &e, need);
		goto out;
	}
	/* the token's read scopes decide; spraak.write alone reads nothing back but the change */
	flags = krr_flags(app, &tok, true) | KRR_F_V2;
	rc = krr_person_load(app, tok.pid, &p, &e);
	if (rc != 0 && rc != ERR_NOTFOUND) {
		oauth_resp_error(r, w, &e);
		goto out;
	}
	found = rc == 0;
	if (patch) {
		if (!found || p.status != KRR_AKTIV) {
			http_resp_oauth_error(w, 404, "invalid_request",
					      "the person has no active record in the register");
			goto out;
		}
		if (patch_lang(r, w, &p) != 0)
			goto out;
	}
	if (patch)
		out = patch_answer(&p, flags);
	else
		out = found ? krr_person_wire(&p, flags, krr_now_ms())
			    : krr_unregistered_wire(tok.pid, flags);
	if (out == NULL) {
		krr_answer_failed(r, w);
		goto out;
	}
	if (!patch && wants_jose(r))
		answer_jose(r, w, out);
	else
		http_resp_json(w, 200, out);
	http_resp_header(w, "Cache-Control", "no-store");
out:
	oauth_bearer_release(&tok);
	krr_person_clear(&p);
	json_decref(out);
}
