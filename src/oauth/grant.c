/*
 * The codec of the grant and code records (grant.h).  Tables name each
 * string field once, for both directions, so a field cannot be read under
 * one key and written under another.
 */
#include <stddef.h>
#include <string.h>

#include "core/jsonw.h"

#include "oauth/grant.h"

/* A string field: its key in the document, its place in the record. */
struct str_field {
	const char *key;
	size_t off;
};

#define F(type, name) { #name, offsetof(struct type, name) }
static const struct str_field grant_strs[] = {
	F(grant, client_id), F(grant, scope), F(grant, sid), F(grant, pid), F(grant, acr),
	F(grant, eid), F(grant, iss), F(grant, nonce), F(grant, locale), F(grant, onbehalfof),
	F(grant, session_kind), F(grant, eidas_identifier), F(grant, eidas_firstname),
	F(grant, eidas_lastname), F(grant, eidas_date_of_birth), F(grant, nationalities),
	F(grant, onetime_key),
};

/* A code's own, after its grant's members. */
static const struct str_field code_strs[] = {
	F(auth_code, redirect_uri), F(auth_code, code_challenge), F(auth_code, dpop_jkt),
};
#undef F

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

static const char **
field(void *rec, const struct str_field *f)
{
	return (const char **)((char *)rec + f->off);
}

static const char *
field_c(const void *rec, const struct str_field *f)
{
	return *(const char *const *)((const char *)rec + f->off);
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
	for (size_t i = 0; rc == 0 && i < NFIELDS(grant_strs); i++)
		rc = dec_str(doc, grant_strs[i].key, field(g, &grant_strs[i]), e);
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
	for (size_t i = 0; rc == 0 && i < NFIELDS(code_strs); i++)
		rc = dec_str(doc, code_strs[i].key, field(c, &code_strs[i]), e);
	return rc;
}

/* The grant's members, in the order of grant_strs, then amr ... expires_at. */
static void
grant_members(struct jsonw *w, const struct grant *g)
{
	for (size_t i = 0; i < NFIELDS(grant_strs); i++)
		jsonw_str(w, grant_strs[i].key, field_c(g, &grant_strs[i]));
	if (g->amr != NULL)
		jsonw_strs(w, "amr", &g->amr, 1);
	if (g->auth_time != 0)
		jsonw_int(w, "auth_time", g->auth_time);
	jsonw_tree(w, "resource", g->resource);
	jsonw_tree(w, "claims", g->claims);
	if (g->expires_at != 0)
		jsonw_int(w, "expires_at", g->expires_at);
}

int
oauth_grant_write(const struct grant *g, struct buf *b)
{
	struct jsonw w;

	jsonw_begin(&w, b);
	grant_members(&w, g);
	return jsonw_end(&w);
}

int
oauth_code_write(const struct auth_code *c, struct buf *b)
{
	struct jsonw w;

	jsonw_begin(&w, b);
	grant_members(&w, &c->g);
	for (size_t i = 0; i < NFIELDS(code_strs); i++)
		jsonw_str(&w, code_strs[i].key, field_c(c, &code_strs[i]));
	return jsonw_end(&w);
}
