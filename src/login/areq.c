/*
 * The codec of the authorization request record (login/areq.h): one place
 * that knows the stored document of a pending authorization.
 */
#include "login/areq.h"

#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"
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

bool
areq_forces_login(const struct authz_request *a)
{
	return (a->prompt != NULL && strcmp(a->prompt, "login") == 0) || a->force_login;
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
	    (rc = field_str(doc, WHAT, "headless_hint", arena, &a->headless_hint, e)) != 0 ||
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

/* Member k with the JSON text of a claims object or an authorization_details array. */
static void
areq_json_raw(struct jsonw *w, const char *k, const char *text)
{
	if (text != NULL)
		jsonw_raw(w, k, text, strlen(text));
}

static void
areq_true(struct jsonw *w, const char *k, bool v)
{
	if (v)
		jsonw_bool(w, k, true);
}

int
areq_write(const struct authz_request *a, struct buf *b)
{
	struct jsonw w;

	jsonw_begin(&w, b);
	jsonw_str(&w, "client_id", a->client_id);
	jsonw_str(&w, "redirect_uri", a->redirect_uri);
	jsonw_str(&w, "response_mode", a->has_mode ? mode_names[a->mode] : NULL);
	jsonw_str(&w, "state", a->state);
	areq_true(&w, "force_login", a->force_login);
	jsonw_str(&w, "scope", a->scope);
	jsonw_str(&w, "nonce", a->nonce);
	jsonw_str(&w, "code_challenge", a->code_challenge);
	jsonw_str(&w, "prompt", a->prompt);
	if (a->max_age != AREQ_NO_MAX_AGE)
		jsonw_int(&w, "max_age", a->max_age);
	jsonw_str(&w, "acr", a->min_level ? eid_acr_of(a->min_level) : NULL);
	jsonw_str(&w, "eidas_acr", a->eidas_level ? eidas_acr_of(a->eidas_level) : NULL);
	areq_true(&w, "eidas_only", a->eidas_only);
	jsonw_str(&w, "locale", a->locale);
	if (a->resource != NULL)
		jsonw_strs(&w, "resource", a->resource, a->nresource);
	areq_json_raw(&w, "authorization_details", a->rar);
	jsonw_str(&w, "id", a->id);
	jsonw_str(&w, "browser", a->browser);
	areq_true(&w, "consent", a->consent);
	jsonw_str(&w, "consent_sid", a->consent_sid);
	areq_true(&w, "consent_accepted", a->consent_accepted);
	jsonw_str(&w, "onbehalfof", a->onbehalfof);
	areq_true(&w, "authenticated", a->authenticated);
	jsonw_str(&w, "iss", a->iss);
	areq_json_raw(&w, "claims", a->claims);
	jsonw_str(&w, "step", a->step);
	jsonw_str(&w, "step_sid", a->step_sid);
	jsonw_str(&w, "dpop_jkt", a->dpop_jkt);
	jsonw_str(&w, "headless_hint", a->headless_hint);
	return jsonw_end(&w);
}

json_t *
areq_encode(const struct authz_request *a)
{
	struct buf b;
	json_t *doc = NULL;

	buf_init(&b, AREQ_TEXT_MAX);
	if (areq_write(a, &b) == 0)
		doc = json_loadb(b.p, b.len, 0, NULL);
	buf_free(&b);
	return doc;
}
