/*
 * The codec of the grant and code records (grant.h).  One table names each
 * string field once, for both directions, so a field cannot be read under
 * one key and written under another.
 */
#include <stddef.h>
#include <string.h>

#include "oauth/grant.h"

static const struct {
	const char *key;
	size_t off;
} grant_strs[] = {
#define F(name) { #name, offsetof(struct grant, name) }
	F(client_id), F(scope), F(sid), F(pid), F(acr), F(eid), F(iss), F(nonce), F(locale),
	F(onbehalfof), F(session_kind), F(eidas_identifier), F(eidas_firstname),
	F(eidas_lastname), F(eidas_date_of_birth), F(nationalities), F(onetime_key),
#undef F
};

static const char **
grant_str(struct grant *g, size_t i)
{
	return (const char **)((char *)g + grant_strs[i].off);
}

static const char *const *
grant_str_c(const struct grant *g, size_t i)
{
	return (const char *const *)((const char *)g + grant_strs[i].off);
}

#define BAD(e, ...) ERR((e), ERR_INVAL, 500, "server_error", __VA_ARGS__)

static int
dec_str(const json_t *doc, const char *key, const char **out, struct err *e)
{
	const json_t *v = json_object_get(doc, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return BAD(e, "stored grant: %s is not a string", key);
	*out = json_string_value(v);
	return 0;
}

static int
dec_int(const json_t *doc, const char *key, int64_t *out, struct err *e)
{
	const json_t *v = json_object_get(doc, key);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return BAD(e, "stored grant: %s is not an integer", key);
	*out = json_integer_value(v);
	return 0;
}

/* amr is stored as a list of one method. */
static int
dec_amr(const json_t *doc, const char **out, struct err *e)
{
	const json_t *v = json_object_get(doc, "amr");

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) != 1 || !json_is_string(json_array_get(v, 0)))
		return BAD(e, "stored grant: amr is not a list of one string");
	*out = json_string_value(json_array_get(v, 0));
	return 0;
}

int
oauth_grant_decode(const json_t *doc, struct grant *g, struct err *e)
{
	const json_t *res;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	if (!json_is_object(doc))
		return BAD(e, "stored grant is not a JSON object");
	for (size_t i = 0; rc == 0 && i < sizeof(grant_strs) / sizeof(grant_strs[0]); i++)
		rc = dec_str(doc, grant_strs[i].key, grant_str(g, i), e);
	if (rc == 0)
		rc = dec_amr(doc, &g->amr, e);
	if (rc == 0)
		rc = dec_int(doc, "auth_time", &g->auth_time, e);
	if (rc == 0)
		rc = dec_int(doc, "expires_at", &g->expires_at, e);
	if (rc != 0)
		return rc;
	res = json_object_get(doc, "resource");
	if (res != NULL && !json_is_array(res) && !json_is_string(res))
		return BAD(e, "stored grant: resource is neither a list nor a string");
	g->resource = res;
	res = json_object_get(doc, "claims");
	if (res != NULL && !json_is_object(res))
		return BAD(e, "stored grant: claims is not an object");
	g->claims = res;
	return 0;
}

int
oauth_code_decode(const json_t *doc, struct auth_code *c, struct err *e)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = oauth_grant_decode(doc, &c->g, e);
	if (rc == 0)
		rc = dec_str(doc, "redirect_uri", &c->redirect_uri, e);
	if (rc == 0)
		rc = dec_str(doc, "code_challenge", &c->code_challenge, e);
	if (rc == 0)
		rc = dec_str(doc, "dpop_jkt", &c->dpop_jkt, e);
	return rc;
}

static int
enc_set(json_t *doc, const char *key, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(doc, key, v);
}

json_t *
oauth_grant_encode(const struct grant *g)
{
	json_t *doc = json_object();
	int rc = doc == NULL ? -1 : 0;

	for (size_t i = 0; rc == 0 && i < sizeof(grant_strs) / sizeof(grant_strs[0]); i++) {
		const char *v = *grant_str_c(g, i);

		if (v != NULL)
			rc = enc_set(doc, grant_strs[i].key, json_string(v));
	}
	if (rc == 0 && g->amr != NULL)
		rc = enc_set(doc, "amr", json_pack("[s]", g->amr));
	if (rc == 0 && g->auth_time != 0)
		rc = enc_set(doc, "auth_time", json_integer(g->auth_time));
	if (rc == 0 && g->resource != NULL)
		rc = enc_set(doc, "resource", json_deep_copy(g->resource));
	if (rc == 0 && g->claims != NULL)
		rc = enc_set(doc, "claims", json_deep_copy(g->claims));
	if (rc == 0 && g->expires_at != 0)
		rc = enc_set(doc, "expires_at", json_integer(g->expires_at));
	if (rc != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

json_t *
oauth_code_encode(const struct auth_code *c)
{
	json_t *doc = oauth_grant_encode(&c->g);

	if (doc == NULL)
		return NULL;
	if ((c->redirect_uri != NULL &&
	     enc_set(doc, "redirect_uri", json_string(c->redirect_uri)) != 0) ||
	    (c->code_challenge != NULL &&
	     enc_set(doc, "code_challenge", json_string(c->code_challenge)) != 0) ||
	    (c->dpop_jkt != NULL && enc_set(doc, "dpop_jkt", json_string(c->dpop_jkt)) != 0)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
