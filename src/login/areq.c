/*
 * The codec of the authorization request record (login/areq.h): one place
 * that knows the stored document of a pending authorization.
 */
#include "login/areq.h"

#include <string.h>

#include "core/loa.h"

static const char *const mode_names[] = { "query", "form_post", "fragment" };

static int
areq_str(const json_t *doc, const char *key, struct arena *arena, const char **out,
	 struct err *e)
{
	const json_t *v = json_object_get(doc, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return ERR(e, ERR_INVAL, 500, NULL, "authorization request: %s is not a string", key);
	*out = arena_strndup(arena, json_string_value(v), json_string_length(v));
	return *out ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

static int
areq_flag(const json_t *doc, const char *key, bool *out, struct err *e)
{
	const json_t *v = json_object_get(doc, key);

	*out = false;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return ERR(e, ERR_INVAL, 500, NULL, "authorization request: %s is not a flag", key);
	*out = json_is_true(v);
	return 0;
}

int
areq_decode(const json_t *doc, struct arena *arena, struct authz_request *a, struct err *e)
{
	const char *mode = NULL, *acr = NULL;
	const json_t *v;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	a->max_age = AREQ_NO_MAX_AGE;
	if (!json_is_object(doc))
		return ERR(e, ERR_INVAL, 500, NULL, "authorization request: not an object");
	if ((rc = areq_str(doc, "id", arena, &a->id, e)) != 0 ||
	    (rc = areq_str(doc, "client_id", arena, &a->client_id, e)) != 0 ||
	    (rc = areq_str(doc, "redirect_uri", arena, &a->redirect_uri, e)) != 0 ||
	    (rc = areq_str(doc, "response_mode", arena, &mode, e)) != 0 ||
	    (rc = areq_str(doc, "state", arena, &a->state, e)) != 0 ||
	    (rc = areq_str(doc, "scope", arena, &a->scope, e)) != 0 ||
	    (rc = areq_str(doc, "nonce", arena, &a->nonce, e)) != 0 ||
	    (rc = areq_str(doc, "code_challenge", arena, &a->code_challenge, e)) != 0 ||
	    (rc = areq_str(doc, "prompt", arena, &a->prompt, e)) != 0 ||
	    (rc = areq_str(doc, "acr", arena, &acr, e)) != 0 ||
	    (rc = areq_str(doc, "locale", arena, &a->locale, e)) != 0 ||
	    (rc = areq_str(doc, "browser", arena, &a->browser, e)) != 0 ||
	    (rc = areq_str(doc, "consent_sid", arena, &a->consent_sid, e)) != 0 ||
	    (rc = areq_str(doc, "onbehalfof", arena, &a->onbehalfof, e)) != 0 ||
	    (rc = areq_flag(doc, "force_login", &a->force_login, e)) != 0 ||
	    (rc = areq_flag(doc, "consent", &a->consent, e)) != 0 ||
	    (rc = areq_flag(doc, "consent_accepted", &a->consent_accepted, e)) != 0)
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
	v = json_object_get(doc, "max_age");
	if (v != NULL) {
		if (!json_is_integer(v))
			return ERR(e, ERR_INVAL, 500, NULL,
				   "authorization request: max_age is not an integer");
		a->max_age = json_integer_value(v);
	}
	v = json_object_get(doc, "resource");
	if (v != NULL) {
		const char **res;

		if (!json_is_array(v))
			return ERR(e, ERR_INVAL, 500, NULL,
				   "authorization request: resource is not a list");
		res = arena_alloc(arena, (json_array_size(v) + 1) * sizeof(*res));
		if (res == NULL)
			return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		for (size_t i = 0; i < json_array_size(v); i++) {
			const json_t *s = json_array_get(v, i);

			if (!json_is_string(s))
				return ERR(e, ERR_INVAL, 500, NULL,
					   "authorization request: resource holds a non-string");
			res[i] = arena_strndup(arena, json_string_value(s), json_string_length(s));
			if (res[i] == NULL)
				return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		}
		a->resource = res;
		a->nresource = json_array_size(v);
	}
	return 0;
}

static bool
put_str(json_t *doc, const char *key, const char *v)
{
	return v == NULL || json_object_set_new(doc, key, json_string(v)) == 0;
}

static bool
put_true(json_t *doc, const char *key, bool v)
{
	return !v || json_object_set_new(doc, key, json_true()) == 0;
}

json_t *
areq_encode(const struct authz_request *a)
{
	json_t *doc = json_object(), *res = NULL;
	bool ok = doc != NULL;

	ok = ok && put_str(doc, "client_id", a->client_id) &&
	     put_str(doc, "redirect_uri", a->redirect_uri) &&
	     put_str(doc, "response_mode", a->has_mode ? mode_names[a->mode] : NULL) &&
	     put_str(doc, "state", a->state) && put_true(doc, "force_login", a->force_login) &&
	     put_str(doc, "scope", a->scope) && put_str(doc, "nonce", a->nonce) &&
	     put_str(doc, "code_challenge", a->code_challenge) && put_str(doc, "prompt", a->prompt);
	if (ok && a->max_age != AREQ_NO_MAX_AGE)
		ok = json_object_set_new(doc, "max_age", json_integer(a->max_age)) == 0;
	ok = ok && put_str(doc, "acr", a->min_level ? eid_acr_of(a->min_level) : NULL) &&
	     put_str(doc, "locale", a->locale);
	if (ok && a->resource != NULL) {
		ok = (res = json_array()) != NULL;
		for (size_t i = 0; ok && i < a->nresource; i++)
			ok = json_array_append_new(res, json_string(a->resource[i])) == 0;
		ok = ok && json_object_set(doc, "resource", res) == 0;
	}
	ok = ok && put_str(doc, "id", a->id) && put_str(doc, "browser", a->browser) &&
	     put_true(doc, "consent", a->consent) && put_str(doc, "consent_sid", a->consent_sid) &&
	     put_true(doc, "consent_accepted", a->consent_accepted) &&
	     put_str(doc, "onbehalfof", a->onbehalfof);
	json_decref(res);
	if (!ok) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
