/*
 * The client record (client.h): one parse of a stored client document,
 * shared by reference.  Stored documents come from reg_client_build(), so
 * a field of the wrong type means a damaged row or a hand edit; it is
 * refused here, once, rather than read as absent by each request.
 */
#include <stdlib.h>
#include <string.h>

#include "registry/client.h"
#include "registry/registry_int.h"

struct client_rec {
	struct client pub;      /* first: a record is found from its public part */
	unsigned refs;          /* atomic */
	const char *strs[];     /* the string lists' pointers */
};

#define BAD(e, ...) ERR((e), ERR_INVAL, 0, NULL, __VA_ARGS__)

static int
rec_str(const json_t *doc, const char *field, const char **out, struct err *e)
{
	const json_t *v = json_object_get(doc, field);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return BAD(e, "client field %s is not a string", field);
	*out = json_string_value(v);
	return 0;
}

static int
rec_bool(const json_t *doc, const char *field, bool *out, struct err *e)
{
	const json_t *v = json_object_get(doc, field);

	*out = json_is_true(v);
	if (v != NULL && !json_is_boolean(v) && !json_is_null(v))
		return BAD(e, "client field %s is not true or false", field);
	return 0;
}

/* An integer; absent or <= 0 gives dflt (spec §12), as the readers did. */
static int
rec_int(const json_t *doc, const char *field, int64_t dflt, int64_t *out, struct err *e)
{
	const json_t *v = json_object_get(doc, field);

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return BAD(e, "client field %s is not an integer", field);
	if (json_integer_value(v) > 0)
		*out = json_integer_value(v);
	return 0;
}

/* Count the strings of a list field (0 when absent); ERR_INVAL for anything else. */
static int
rec_count(const json_t *doc, const char *field, size_t *n, struct err *e)
{
	const json_t *v = json_object_get(doc, field), *s;
	size_t i;

	*n = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return BAD(e, "client field %s is not a list", field);
	json_array_foreach(v, i, s) {
		if (!json_is_string(s))
			return BAD(e, "client field %s holds a value that is not a string", field);
	}
	*n = json_array_size(v);
	return 0;
}

static void
rec_fill(const json_t *doc, const char *field, const char **slots, struct client_strs *l)
{
	const json_t *v = json_object_get(doc, field), *s;
	size_t i;

	json_array_foreach(v, i, s)
		slots[i] = json_string_value(s);
	l->v = slots;
	l->n = json_array_size(v);
}

/* jwks is stored as the key list or as a JWKS {"keys": [...]}. */
static int
rec_keys(const json_t *doc, const json_t **out, struct err *e)
{
	const json_t *v = json_object_get(doc, "jwks");

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_object(v))
		v = json_object_get(v, "keys");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return BAD(e, "client field jwks is neither a key list nor {\"keys\": [...]}");
	*out = v;
	return 0;
}

static int
rec_json(const json_t *doc, const char *field, bool array, const json_t **out, struct err *e)
{
	const json_t *v = json_object_get(doc, field);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (array ? !json_is_array(v) : !json_is_object(v))
		return BAD(e, "client field %s is not %s", field, array ? "a list" : "an object");
	*out = v;
	return 0;
}

static const char *const list_fields[] = {
	"grant_types", "scopes", "redirect_uris", "post_logout_redirect_uris",
};

static int
rec_scalars(const json_t *doc, struct client *c, struct err *e)
{
	int rc;

	if ((rc = rec_str(doc, "client_id", &c->client_id, e)) != 0 ||
	    (rc = rec_str(doc, "client_name", &c->client_name, e)) != 0 ||
	    (rc = rec_str(doc, "integration_type", &c->integration_type, e)) != 0 ||
	    (rc = rec_str(doc, "application_type", &c->application_type, e)) != 0 ||
	    (rc = rec_str(doc, "token_endpoint_auth_method", &c->token_endpoint_auth_method,
			  e)) != 0 ||
	    (rc = rec_str(doc, "code_challenge_method", &c->code_challenge_method, e)) != 0 ||
	    (rc = rec_str(doc, "frontchannel_logout_uri", &c->frontchannel_logout_uri, e)) != 0 ||
	    (rc = rec_str(doc, "backchannel_logout_uri", &c->backchannel_logout_uri, e)) != 0 ||
	    (rc = rec_str(doc, "refresh_token_usage", &c->refresh_token_usage, e)) != 0 ||
	    (rc = rec_str(doc, "client_orgno", &c->client_orgno, e)) != 0 ||
	    (rc = rec_str(doc, "supplier_orgno", &c->supplier_orgno, e)) != 0 ||
	    (rc = rec_str(doc, "client_secret_sha256", &c->client_secret_sha256, e)) != 0)
		return rc;
	if ((rc = rec_bool(doc, "frontchannel_logout_session_required",
			   &c->frontchannel_logout_session_required, e)) != 0 ||
	    (rc = rec_bool(doc, "sso_disabled", &c->sso_disabled, e)) != 0 ||
	    (rc = rec_bool(doc, "active", &c->active, e)) != 0)
		return rc;
	if ((rc = rec_int(doc, "authorization_lifetime", CLIENT_DFLT_AUTHZ_LIFETIME,
			  &c->authorization_lifetime, e)) != 0 ||
	    (rc = rec_int(doc, "access_token_lifetime", CLIENT_DFLT_AT_LIFETIME,
			  &c->access_token_lifetime, e)) != 0 ||
	    (rc = rec_int(doc, "refresh_token_lifetime", CLIENT_DFLT_RT_LIFETIME,
			  &c->refresh_token_lifetime, e)) != 0 ||
	    (rc = rec_int(doc, "client_secret_expires_at", 0, &c->client_secret_expires_at, e)) != 0)
		return rc;
	if ((rc = rec_keys(doc, &c->keys, e)) != 0 ||
	    (rc = rec_json(doc, "jwks_posted", false, &c->jwks_posted, e)) != 0 ||
	    (rc = rec_json(doc, "onbehalfof", true, &c->onbehalfof, e)) != 0)
		return rc;
	if (c->client_id == NULL || c->client_id[0] == '\0')
		return BAD(e, "client document without a client_id");
	if (c->token_endpoint_auth_method == NULL)
		c->token_endpoint_auth_method = "client_secret_basic";   /* RFC 7591 §2 */
	/*
	 * spec/ansattporten-eidas-testid.md §1.1: no SSO between Ansattporten's
	 * services; each client gets a session of its own whatever its
	 * registration says.  Set here, the one place every reader's record
	 * comes from, so sessions, cookies and codes all see it.
	 */
	if (c->integration_type != NULL && strcmp(c->integration_type, "ansattporten") == 0)
		c->sso_disabled = true;
	return 0;
}

int
reg_client_parse(const json_t *doc, struct client **out, struct err *e)
{
	struct client tmp = { 0 };
	struct client_rec *r;
	struct client_strs *lists[] = { &tmp.grant_types, &tmp.scopes, &tmp.redirect_uris,
					&tmp.post_logout_redirect_uris };
	size_t n[4], total = 0, at = 0;
	int rc;

	*out = NULL;
	if (!json_is_object(doc))
		return BAD(e, "client document is not a JSON object");
	rc = rec_scalars(doc, &tmp, e);
	for (size_t i = 0; rc == 0 && i < 4; i++) {
		rc = rec_count(doc, list_fields[i], &n[i], e);
		total += n[i];
	}
	if (rc != 0)
		return rc;
	r = calloc(1, sizeof(*r) + total * sizeof(r->strs[0]));
	if (r == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	for (size_t i = 0; i < 4; i++) {
		rec_fill(doc, list_fields[i], &r->strs[at], lists[i]);
		at += n[i];
	}
	tmp.doc = json_incref((json_t *)doc);
	r->pub = tmp;
	r->refs = 1;
	*out = &r->pub;
	return 0;
}

const struct client *
reg_client_ref(const struct client *c)
{
	struct client_rec *r = (struct client_rec *)c;

	if (r != NULL)
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void
reg_client_release(const struct client *c)
{
	struct client_rec *r = (struct client_rec *)c;

	if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	json_decref((json_t *)r->pub.doc);
	free(r);
}

bool
reg_strs_has(const struct client_strs *l, const char *value)
{
	for (size_t i = 0; value != NULL && i < l->n; i++)
		if (strcmp(l->v[i], value) == 0)
			return true;
	return false;
}
