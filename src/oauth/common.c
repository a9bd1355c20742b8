/*
 * Small pieces the ID-porten side (src/oauth/, src/login/) and Maskinporten
 * (src/maskinporten/) share: scope strings, the organisation claim, claim
 * building, issuer URLs, registered client keys and store failures.
 */
#include "oauth/oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loa.h"
#include "registry/registry.h"

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
static bool
scope_token_ok(struct str t)
{
	if (t.len == 0 || t.len > OAUTH_SCOPE_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)t.p[i];

		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return false;
	}
	return true;
}

enum oauth_scope_rc
oauth_scope_split(struct str s, size_t max_n, json_t **out)
{
	json_t *arr = json_array();
	struct str head, rest = s;
	enum oauth_scope_rc rc = OAUTH_SCOPE_OK;

	*out = NULL;
	if (arr == NULL)
		return OAUTH_SCOPE_NOMEM;
	while (rest.len > 0) {
		bool dup = false;
		size_t i;
		json_t *v;

		str_split(rest, ' ', &head, &rest);
		if (head.len == 0)
			continue;
		if (!scope_token_ok(head)) {
			rc = OAUTH_SCOPE_MALFORMED;
			goto out;
		}
		json_array_foreach(arr, i, v)
			dup |= str_eq(head, (struct str){ json_string_value(v), json_string_length(v) });
		if (dup)
			continue;
		if (json_array_size(arr) >= max_n) {
			rc = OAUTH_SCOPE_TOO_MANY;
			goto out;
		}
		if (json_array_append_new(arr, json_stringn(head.p, head.len)) != 0) {
			rc = OAUTH_SCOPE_NOMEM;
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	return rc;
}

long long
oauth_scope_cap(long long lifetime, const json_t *docs, const char *field)
{
	const char *name;
	const json_t *doc;

	json_object_foreach((json_t *)docs, name, doc) {
		const json_t *cap = json_object_get(doc, field);

		if (json_is_integer(cap) && json_integer_value(cap) > 0 &&
		    json_integer_value(cap) < lifetime)
			lifetime = json_integer_value(cap);
	}
	return lifetime;
}

const char *
oauth_consumer_orgno(const struct porten *app, const struct client *client)
{
	if (client->client_orgno != NULL)
		return client->client_orgno;
	return app->cfg->operator_orgno != NULL ? app->cfg->operator_orgno : OAUTH_OPERATOR_ORGNO;
}

bool
oauth_scope_type_ok(const json_t *scope_doc, const struct client *client)
{
	const json_t *types = json_object_get(scope_doc, "allowed_integration_types");

	return json_array_size(types) == 0 ||
	       (client->integration_type != NULL &&
		reg_json_array_has(types, client->integration_type));
}

void
oauth_claim_org(struct jsonw *w, const char *k, const char *orgno)
{
	char id[64];

	if (orgno == NULL || strlen(orgno) > 32) {
		if (w->rc == 0)
			w->rc = ERR_INVAL;
		return;
	}
	snprintf(id, sizeof(id), OAUTH_ORG_ICD "%s", orgno);
	jsonw_obj(w, k);
	jsonw_str(w, "authority", OAUTH_ORG_AUTHORITY);
	jsonw_str(w, "ID", id);
	jsonw_close(w);
}

void
oauth_claim_aud(struct jsonw *w, const json_t *resource)
{
	if (json_is_array(resource) && json_array_size(resource) == 1)
		jsonw_tree(w, "aud", json_array_get(resource, 0));
	else if ((json_is_array(resource) && json_array_size(resource) > 1) ||
		 json_is_string(resource))
		jsonw_tree(w, "aud", resource);
}

void
oauth_claim_cnf(struct jsonw *w, const char *jkt)
{
	if (jkt == NULL)
		return;
	jsonw_obj(w, "cnf");
	jsonw_str(w, "jkt", jkt);
	jsonw_close(w);
}

int
oauth_claims_end(struct jsonw *w, const char *what, struct err *e)
{
	if (jsonw_end(w) != 0)
		return ERR(e, ERR_INTERNAL, 500, OAUTH_SERVER_ERROR, "cannot build the %s", what);
	return 0;
}

const char *
oauth_acr_for(const struct issuer *is, const char *acr)
{
	unsigned level = eid_level_of(acr);

	if (is == NULL || is->kind != ISSUER_ANSATTPORTEN || level == 0)
		return acr;
	return eid_acr_of_ap(level);
}

unsigned
oauth_level_of(const struct issuer *is, const char *acr)
{
	return is != NULL && is->kind == ISSUER_ANSATTPORTEN ? eid_level_of_ap(acr)
							     : eid_level_of(acr);
}

bool
oauth_step_claim_ok(const char *name)
{
	return name != NULL &&
	       (strcmp(name, "name") == 0 || strcmp(name, "authorization_details") == 0);
}

static json_t *
oauth_url_json(const char *base, const char *path)
{
	size_t n = strlen(base) + strlen(path) + 1;
	char *s = malloc(n);
	json_t *j;

	if (s == NULL)
		return NULL;
	snprintf(s, n, "%s%s", base, path);
	j = json_string(s);
	free(s);
	return j;
}

json_t *
oauth_issuer_url(const struct issuer *is, const char *path)
{
	return oauth_url_json(is->base, path);
}

json_t *
oauth_browser_url(const struct issuer *is, const char *path)
{
	const char *b = app_browser_base(is);
	json_t *j = b != NULL ? oauth_url_json(b, path) : NULL;

	free((char *)b);
	return j;
}

bool
oauth_client_key_expired(const struct client *client, const char *kid, int64_t now)
{
	const json_t *t = kid ? json_object_get(client->jwks_posted, kid) : NULL;

	return json_is_integer(t) && json_integer_value(t) + OAUTH_CLIENT_KEY_LIFE < now;
}

bool
oauth_client_x5c_allowed(const struct client *client)
{
	return json_array_size(client->keys) == 0;
}

int
oauth_store_fail(int rc, struct err *e)
{
	char why[sizeof(e->msg)];

	memcpy(why, e->msg, sizeof(why));
	why[sizeof(why) - 1] = '\0';
	return ERR(e, rc, rc == ERR_UNAVAILABLE ? 503 : 500,
		   rc == ERR_UNAVAILABLE ? OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR,
		   "store: %s", why);
}

int
oauth_replay_key(char *out, size_t n, const char *kind, const char *client_id,
		 const char *value)
{
	int len = strchr(client_id, ':') == NULL
			  ? snprintf(out, n, "%s:%s:%s", kind, client_id, value)
			  : snprintf(out, n, "%s+%zu:%s:%s", kind, strlen(client_id), client_id,
				     value);

	return len >= 0 && (size_t)len < n ? 0 : -1;
}
