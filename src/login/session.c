#include "login/session.h"

#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"
#include "registry/client.h"
#include "registry/registry.h"

#define SESSION_SHARED_COOKIE "PORTEN_SSO"

static struct porten *
session_app(struct http_req *r)
{
	return r->app;
}

const char *
session_cookie_name(struct http_req *r, const struct client *client)
{
	char h[TOKEN_CHARS + 1];

	if (client == NULL || !client->sso_disabled)
		return SESSION_SHARED_COOKIE;
	/* An SSO-free client's own cookie: named after its id, without revealing it. */
	sha256_b64url_buf(str_c(client->client_id), h);
	h[16] = '\0';
	return arena_printf(r->arena, "PORTEN_SSO_%s", h);
}

static bool
session_matches(const json_t *doc, const struct client *client)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));

	if (client != NULL && client->sso_disabled) {
		const char *cid = json_string_value(json_object_get(doc, "client_id"));

		return kind && strcmp(kind, "client") == 0 && cid &&
		       strcmp(cid, client->client_id) == 0;
	}
	return kind && strcmp(kind, "shared") == 0;
}

int
session_load(struct http_req *r, const struct client *client, struct session *s, struct err *e)
{
	struct porten *app = session_app(r);
	const char *cookie = http_cookie(r, session_cookie_name(r, client));
	json_t *doc = NULL;
	const char *hash;
	int rc;

	memset(s, 0, sizeof(*s));
	if (cookie == NULL || strlen(cookie) != TOKEN_CHARS)
		return ERR_NOTFOUND;
	hash = sha256_b64url(r->arena, str_c(cookie));
	rc = store_call(app->store, login, session_get, hash, &doc, e);
	if (rc != 0)
		return rc;
	if (!session_matches(doc, client)) {
		json_decref(doc);
		return ERR_NOTFOUND;
	}
	s->doc = doc;
	s->hash = hash;
	return 0;
}

static void
session_set_cookie(struct http_req *r, struct http_resp *w, const char *name, const char *value)
{
	struct porten *app = session_app(r);
	struct http_cookie_opts o = {
		.max_age = value ? -1 : 0,
		.path = "/",
		.same_site = "Lax",
		.secure = app->cfg->cookie_secure || r->tls,
		.http_only = true,
	};

	http_resp_cookie(w, name, value ? value : "", &o);
}

static void
session_fill(json_t *doc, const struct eid_result *res)
{
	json_object_set_new(doc, "pid", json_string(res->pid));
	json_object_set_new(doc, "acr", json_string(res->acr));
	json_object_set_new(doc, "amr", json_pack("[s]", res->amr));
	json_object_set_new(doc, "eid", json_string(res->eid));
	json_object_set_new(doc, "auth_time", json_integer(res->auth_time));
}

int
session_establish(struct http_req *r, struct http_resp *w, const struct client *client,
		  const struct eid_result *res, struct session *s, struct err *e)
{
	struct porten *app = session_app(r);
	int64_t now = time_now();
	char *cookie, *sid;
	json_t *doc;
	int rc;

	rc = session_load(r, client, s, e);
	if (rc == 0) {
		const char *pid = json_string_value(json_object_get(s->doc, "pid"));

		if (pid && strcmp(pid, res->pid) == 0) {
			/*
			 * Same person (step-up or prompt=login): the session keeps its
			 * sid and clients, takes the new authentication, and moves to a
			 * new cookie, so a cookie fixed before the login is worth nothing.
			 */
			session_fill(s->doc, res);
			cookie = rand_token(r->arena);
			if (cookie == NULL)
				return ERR(e, ERR_CRYPTO, 500, "server_error", "no randomness");
			store_call(app->store, login, session_delete, s->hash, e);
			s->hash = sha256_b64url(r->arena, str_c(cookie));
			rc = store_call(app->store, login, session_put, s->hash, s->doc,
				      now + app->cfg->session_idle, now + app->cfg->session_max, e);
			if (rc == 0)
				session_set_cookie(r, w, session_cookie_name(r, client), cookie);
			return rc;
		}
		/* Another person: the old session ends here. */
		store_call(app->store, login, session_delete, s->hash, e);
		store_call(app->store, oauth, grant_revoke_session,
			 json_string_value(json_object_get(s->doc, "sid")), e);
		session_clear(s);
	} else if (rc != ERR_NOTFOUND) {
		return rc;
	}

	cookie = rand_token(r->arena);
	sid = rand_token(r->arena);
	if (cookie == NULL || sid == NULL)
		return ERR(e, ERR_CRYPTO, 500, "server_error", "no randomness");
	doc = json_object();
	json_object_set_new(doc, "sid", json_string(sid));
	if (client != NULL && client->sso_disabled) {
		json_object_set_new(doc, "kind", json_string("client"));
		json_object_set_new(doc, "client_id", json_string(client->client_id));
	} else {
		json_object_set_new(doc, "kind", json_string("shared"));
	}
	session_fill(doc, res);
	json_object_set_new(doc, "created", json_integer(now));
	json_object_set_new(doc, "clients", json_array());
	s->hash = sha256_b64url(r->arena, str_c(cookie));
	rc = store_call(app->store, login, session_put, s->hash, doc, now + app->cfg->session_idle,
		      now + app->cfg->session_max, e);
	if (rc != 0) {
		json_decref(doc);
		return rc;
	}
	s->doc = doc;
	session_set_cookie(r, w, session_cookie_name(r, client), cookie);
	return 0;
}

int
session_join(struct http_req *r, struct session *s, const char *client_id, struct err *e)
{
	struct porten *app = session_app(r);
	json_t *clients = json_object_get(s->doc, "clients");
	size_t i;
	json_t *v;

	if (!json_is_array(clients)) {
		clients = json_array();
		json_object_set_new(s->doc, "clients", clients);
	}
	json_array_foreach(clients, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), client_id) == 0)
			break;
	if (i == json_array_size(clients))
		json_array_append_new(clients, json_string(client_id));
	return store_call(app->store, login, session_update, s->hash, s->doc,
			time_now() + app->cfg->session_idle, e);
}

int
session_end(struct http_req *r, struct http_resp *w, const struct client *client, struct session *s,
	    struct err *e)
{
	struct porten *app = session_app(r);
	const char *sid = json_string_value(json_object_get(s->doc, "sid"));
	int rc;

	rc = store_call(app->store, login, session_delete, s->hash, e);
	if (rc != 0 && rc != ERR_NOTFOUND)
		return rc;
	if (sid != NULL) {
		rc = store_call(app->store, oauth, grant_revoke_session, sid, e);
		if (rc != 0)
			return rc;
	}
	session_set_cookie(r, w, session_cookie_name(r, client), NULL);
	return 0;
}

void
session_clear(struct session *s)
{
	json_decref(s->doc);
	s->doc = NULL;
	s->hash = NULL;
}
