/*
 * The codec of the authorization request record (login/areq.h): one place
 * that knows the stored document of a pending authorization.
 */
#include "login/areq.h"

#include <stdlib.h>
#include <string.h>

#include "core/loa.h"
#include "login/field.h"

static const char *const mode_names[] = { "query", "form_post", "fragment" };

#define WHAT "authorization request"

/*
 * claims (an object) and authorization_details (an array): kept as their
 * compact text so the record owns no JSON.
 */
static int
areq_json_decode(const json_t *doc, const char *key, bool array, struct arena *arena,
		 const char **out, struct err *e)
{
	const json_t *v = json_object_get(doc, key);
	char *text;

	*out = NULL;
	if (v == NULL)
		return 0;
	if (array ? !json_is_array(v) : !json_is_object(v))
		return ERR(e, ERR_INVAL, 500, NULL, WHAT ": %s is not an %s", key,
			   array ? "array" : "object");
	text = json_dumps(v, JSON_COMPACT);
	if (text == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	*out = arena_strdup(arena, text);
	free(text);
	return 0;
}

static bool
areq_json_put(json_t *doc, const char *key, bool array, const char *text)
{
	json_t *v;

	if (text == NULL)
		return true;
	v = json_loads(text, 0, NULL);
	if (array ? !json_is_array(v) : !json_is_object(v)) {
		json_decref(v);
		return false;
	}
	return json_object_set_new(doc, key, v) == 0;
}

int
areq_decode(const json_t *doc, struct arena *arena, struct authz_request *a, struct err *e)
{
	const char *mode = NULL, *acr = NULL, *eidas = NULL;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	a->max_age = AREQ_NO_MAX_AGE;
	if (!json_is_object(doc))
		return ERR(e, ERR_INVAL, 500, NULL, "authorization request: not an object");
	if ((rc = field_str(doc, WHAT, "id", arena, &a->id, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "client_id", arena, &a->client_id, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "redirect_uri", arena, &a->redirect_uri, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "response_mode", arena, &mode, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "state", arena, &a->state, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "scope", arena, &a->scope, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "nonce", arena, &a->nonce, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "code_challenge", arena, &a->code_challenge, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "prompt", arena, &a->prompt, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "acr", arena, &acr, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "eidas_acr", arena, &eidas, e)) != 0 ||
	    (rc = field_flag(doc, WHAT, "eidas_only", &a->eidas_only, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "locale", arena, &a->locale, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "browser", arena, &a->browser, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "consent_sid", arena, &a->consent_sid, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "onbehalfof", arena, &a->onbehalfof, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "iss", arena, &a->iss, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "step", arena, &a->step, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "step_sid", arena, &a->step_sid, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "dpop_jkt", arena, &a->dpop_jkt, e)) != 0 ||
	    (rc = areq_json_decode(doc, "claims", false, arena, &a->claims, e)) != 0 ||
	    (rc = areq_json_decode(doc, "authorization_details", true, arena, &a->rar, e)) != 0 ||
	    (rc = field_flag(doc, WHAT, "force_login", &a->force_login, e)) != 0 ||
	    (rc = field_flag(doc, WHAT, "consent", &a->consent, e)) != 0 ||
	    (rc = field_flag(doc, WHAT, "consent_accepted", &a->consent_accepted, e)) != 0 ||
	    (rc = field_flag(doc, WHAT, "authenticated", &a->authenticated, e)) != 0)
		return rc;
	if (mode != NULL) {
		size_t i;

		for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
			if (strcmp(mode, mode_names[i]) == 0)
				break;
		if (i == sizeof(mode_names) / sizeof(mode_names[0]))
			return ERR(e, ERR_INVAL, 500, NULL,
				   "authorization request: response_mode %.32s is unknown", mode);
		a->mode = (enum response_mode)i;
		a->has_mode = true;
	}
	if (acr != NULL && (a->min_level = eid_level_of(acr)) == 0)
		return ERR(e, ERR_INVAL, 500, NULL, "authorization request: acr %.64s is unknown",
			   acr);
	if (eidas != NULL && (a->eidas_level = eidas_level_of(eidas)) == 0)
		return ERR(e, ERR_INVAL, 500, NULL, "authorization request: eidas_acr %.64s is unknown",
			   eidas);
	if ((rc = field_int(doc, WHAT, "max_age", AREQ_NO_MAX_AGE, &a->max_age, e)) != 0)
		return rc;
	return field_strs(doc, WHAT, "resource", arena, &a->resource, &a->nresource, e);
}

json_t *
areq_encode(const struct authz_request *a)
{
	json_t *doc = json_object();
	bool ok = doc != NULL;

	ok = ok && field_put_str(doc, "client_id", a->client_id) &&
	     field_put_str(doc, "redirect_uri", a->redirect_uri) &&
	     field_put_str(doc, "response_mode", a->has_mode ? mode_names[a->mode] : NULL) &&
	     field_put_str(doc, "state", a->state) &&
	     field_put_true(doc, "force_login", a->force_login) &&
	     field_put_str(doc, "scope", a->scope) && field_put_str(doc, "nonce", a->nonce) &&
	     field_put_str(doc, "code_challenge", a->code_challenge) &&
	     field_put_str(doc, "prompt", a->prompt) &&
	     field_put_int(doc, "max_age", AREQ_NO_MAX_AGE, a->max_age) &&
	     field_put_str(doc, "acr", a->min_level ? eid_acr_of(a->min_level) : NULL) &&
	     field_put_str(doc, "eidas_acr", a->eidas_level ? eidas_acr_of(a->eidas_level) : NULL) &&
	     field_put_true(doc, "eidas_only", a->eidas_only) &&
	     field_put_str(doc, "locale", a->locale) &&
	     field_put_strs(doc, "resource", a->resource, a->nresource) &&
	     areq_json_put(doc, "authorization_details", true, a->rar) &&
	     field_put_str(doc, "id", a->id) && field_put_str(doc, "browser", a->browser) &&
	     field_put_true(doc, "consent", a->consent) &&
	     field_put_str(doc, "consent_sid", a->consent_sid) &&
	     field_put_true(doc, "consent_accepted", a->consent_accepted) &&
	     field_put_str(doc, "onbehalfof", a->onbehalfof) &&
	     field_put_true(doc, "authenticated", a->authenticated) &&
	     field_put_str(doc, "iss", a->iss) && areq_json_put(doc, "claims", false, a->claims) &&
	     field_put_str(doc, "step", a->step) && field_put_str(doc, "step_sid", a->step_sid) &&
	     field_put_str(doc, "dpop_jkt", a->dpop_jkt);
	if (!ok) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
