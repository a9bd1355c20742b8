/*
 * The codec of the grant and code records (grant.h).  One table names each
 * string field once, for both directions, so a field cannot be read under
 * one key and written under another.
 */
#include <stddef.h>
#include <string.h>

#include "core/jsonw.h"

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

/* The grant's members, in the order of grant_strs, then amr ... expires_at. */
static void
grant_members(struct jsonw *w, const struct grant *g)
{
	for (size_t i = 0; i < sizeof(grant_strs) / sizeof(grant_strs[0]); i++)
		jsonw_str(w, grant_strs[i].key, *grant_str_c(g, i));
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
	jsonw_str(&w, "redirect_uri", c->redirect_uri);
	jsonw_str(&w, "code_challenge", c->code_challenge);
	jsonw_str(&w, "dpop_jkt", c->dpop_jkt);
	return jsonw_end(&w);
}

/* A document written above, as a tree. */
static json_t *
load_written(int rc, struct buf *b)
{
	json_t *doc = rc == 0 ? json_loadb(b->p, b->len, 0, NULL) : NULL;

	buf_free(b);
	return doc;
}

json_t *
oauth_grant_encode(const struct grant *g)
{
	struct buf b;

	buf_init(&b, OAUTH_GRANT_TEXT_MAX);
	return load_written(oauth_grant_write(g, &b), &b);
}

json_t *
oauth_code_encode(const struct auth_code *c)
{
	struct buf b;

	buf_init(&b, OAUTH_GRANT_TEXT_MAX);
	return load_written(oauth_code_write(c, &b), &b);
}
