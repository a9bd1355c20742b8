#include "login/session.h"

#include <string.h>

#include "app/app.h"
#include "core/crypto.h"
#include "core/jsonw.h"
#include "core/loa.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "login/field.h"
#include "login/login_int.h"
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

#define WHAT "session"

int
session_decode(const json_t *doc, struct arena *arena, struct session *s, struct err *e)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->auth_time = s->created = SESSION_NO_TIME;
	if (!json_is_object(doc))
		return ERR(e, ERR_INVAL, 500, NULL, "session: not an object");
	if ((rc = field_str(doc, WHAT, "sid", arena, &s->sid, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "kind", arena, &s->kind, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "client_id", arena, &s->client_id, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "pid", arena, &s->pid, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "acr", arena, &s->acr, e)) != 0 ||
	    (rc = field_strs(doc, WHAT, "amr", arena, &s->amr, &s->namr, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "eid", arena, &s->eid, e)) != 0 ||
	    (rc = field_int(doc, WHAT, "auth_time", SESSION_NO_TIME, &s->auth_time, e)) != 0 ||
	    (rc = field_int(doc, WHAT, "created", SESSION_NO_TIME, &s->created, e)) != 0 ||
	    (rc = field_strs(doc, WHAT, "clients", arena, &s->clients, &s->nclients, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "eidas_identifier", arena, &s->eidas_identifier, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "eidas_firstname", arena, &s->eidas_firstname, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "eidas_lastname", arena, &s->eidas_lastname, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "eidas_date_of_birth", arena, &s->eidas_date_of_birth, e)) !=
		    0 ||
	    (rc = field_str(doc, WHAT, "nationalities", arena, &s->nationalities, e)) != 0 ||
	    (rc = field_str(doc, WHAT, "onetime_key", arena, &s->onetime_key, e)) != 0)
		return rc;
	return 0;
}

int
session_write(const struct session *s, struct buf *b)
{
	struct jsonw w;

	jsonw_begin(&w, b);
	jsonw_str(&w, "sid", s->sid);
	jsonw_str(&w, "kind", s->kind);
	jsonw_str(&w, "client_id", s->client_id);
	jsonw_str(&w, "pid", s->pid);
	jsonw_str(&w, "acr", s->acr);
	if (s->amr != NULL)
		jsonw_strs(&w, "amr", s->amr, s->namr);
	jsonw_str(&w, "eid", s->eid);
	if (s->auth_time != SESSION_NO_TIME)
		jsonw_int(&w, "auth_time", s->auth_time);
	if (s->created != SESSION_NO_TIME)
		jsonw_int(&w, "created", s->created);
	if (s->clients != NULL)
		jsonw_strs(&w, "clients", s->clients, s->nclients);
	jsonw_str(&w, "eidas_identifier", s->eidas_identifier);
	jsonw_str(&w, "eidas_firstname", s->eidas_firstname);
	jsonw_str(&w, "eidas_lastname", s->eidas_lastname);
	jsonw_str(&w, "eidas_date_of_birth", s->eidas_date_of_birth);
	jsonw_str(&w, "nationalities", s->nationalities);
	jsonw_str(&w, "onetime_key", s->onetime_key);
	return jsonw_end(&w);
}

json_t *
session_encode(const struct session *s)
{
	struct buf b;
	json_t *doc = NULL;

	buf_init(&b, SESSION_TEXT_MAX);
	if (session_write(s, &b) == 0)
		doc = json_loadb(b.p, b.len, 0, NULL);
	buf_free(&b);
	return doc;
}

static bool
session_matches(const struct session *s, const struct client *client)
{
	if (client != NULL && client->sso_disabled)
		return s->kind && strcmp(s->kind, "client") == 0 && s->client_id &&
		       strcmp(s->client_id, client->client_id) == 0;
	return s->kind && strcmp(s->kind, "shared") == 0;
}

/*
 * Write s under s->hash with fresh expiries (put) or a pushed idle one
 * (update).  The absolute one counts from the session's first
 * authentication (spec §8), which a step-up or prompt=login keeps.
 */
static int
session_store(struct http_req *r, const struct session *s, bool update, struct err *e)
{
	struct porten *app = session_app(r);
	int64_t now = time_now();
	int64_t born = s->created > 0 && s->created <= now ? s->created : now;
	struct buf doc;
	int rc;

	buf_init(&doc, SESSION_TEXT_MAX);
	rc = session_write(s, &doc);
	if (rc != 0) {
		buf_free(&doc);
		return ERR(e, rc, 500, "server_error", "cannot write the session");
	}
	rc = update ? store_call(app->store, login, session_update, s->hash, doc.p, s->pid,
				 now + app->cfg->session_idle, e)
		    : store_call(app->store, login, session_put, s->hash, doc.p, s->pid,
				 now + app->cfg->session_idle, born + app->cfg->session_max, e);
	buf_free(&doc);
	return rc;
}

/* session_store, and s is written from then on. */
static int
session_save_as(struct http_req *r, struct session *s, bool update, struct err *e)
{
	int rc = session_store(r, s, update, e);

	if (rc == 0)
		s->unsaved = false;
	return rc;
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
	rc = session_decode(doc, r->arena, s, e);
	json_decref(doc);
	if (rc != 0 || !session_matches(s, client)) {
		memset(s, 0, sizeof(*s));
		return ERR_NOTFOUND;
	}
	s->hash = hash;
	return 0;
}

static void
session_set_cookie(struct http_req *r, struct http_resp *w, const char *name, const char *value)
{
	struct http_cookie_opts o = {
		.max_age = value ? -1 : 0,
		.path = "/",
		.same_site = "Lax",
		.secure = app_cookie_secure(r),
		.http_only = true,
	};

	http_resp_cookie(w, name, value ? value : "", &o);
}

const char *
session_person(const struct session *s)
{
	return s->pid != NULL ? s->pid
	       : s->eidas_identifier != NULL ? s->eidas_identifier : s->onetime_key;
}

static int
session_fill(struct http_req *r, struct session *s, const struct eid_result *res, struct err *e)
{
	const char **amr = arena_alloc(r->arena, 2 * sizeof(*amr));

	if (amr == NULL)
		return ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
	amr[0] = arena_strdup(r->arena, res->amr);
	s->pid = arena_strdup(r->arena, res->pid);
	s->acr = arena_strdup(r->arena, res->acr);
	s->eid = arena_strdup(r->arena, res->eid);
	/* A foreign person without a match has no pid: the eIDAS identifier names them. */
	s->eidas_identifier = arena_strdup(r->arena, res->eidas_identifier);
	s->eidas_firstname = arena_strdup(r->arena, res->eidas_firstname);
	s->eidas_lastname = arena_strdup(r->arena, res->eidas_lastname);
	s->eidas_date_of_birth = arena_strdup(r->arena, res->eidas_date_of_birth);
	s->nationalities = arena_strdup(r->arena, res->nationalities);
	s->onetime_key = arena_strdup(r->arena, res->onetime_key);
	if (amr[0] == NULL || session_person(s) == NULL || s->acr == NULL || s->eid == NULL)
		return ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
	s->amr = amr;
	s->namr = 1;
	s->auth_time = res->auth_time;
	return 0;
}

static const char *const no_clients[] = { NULL };

struct session_end_tx {
	struct http_req *r;
	const struct session *s;
};

/*
 * What ends with session s besides its row, in the transaction that
 * removes the row: its login-only grants revoked and, when that
 * transaction removed it (removed), its back-channel logout tokens queued
 * (spec §20).  Scratch strings go into a.
 */
static int
session_ended(struct porten *app, struct arena *a, const struct session *s, bool removed,
	      struct err *e)
{
	int rc;

	if (s->sid != NULL) {
		rc = store_call(app->store, oauth, grant_revoke_session, s->sid, e);
		if (rc != 0)
			return rc;
	}
	/* Gone meanwhile: it timed out, and the node that ended it announced it. */
	return removed ? login_bcl_queue(app, a, s, e) : 0;
}

/*
 * The session's end, its login-only grants revoked and its back-channel
 * logout tokens queued: one transaction (spec §20).
 */
static int
session_end_body(void *arg, struct err *e)
{
	struct session_end_tx *x = arg;
	struct porten *app = session_app(x->r);
	int rc = store_call(app->store, login, session_delete, x->s->hash, e);

	if (rc != 0 && rc != ERR_NOTFOUND)
		return rc;
	return session_ended(app, x->r->arena, x->s, rc == 0, e);
}

int
session_establish(struct http_req *r, struct http_resp *w, const struct client *client,
		  const struct eid_result *res, struct session *s, bool *ended, struct err *e)
{
	struct porten *app = session_app(r);
	char *cookie, *sid;
	int rc;

	*ended = false;
	rc = session_load(r, client, s, e);
	if (rc == 0) {
		const char *had = session_person(s);
		const char *now = res->pid != NULL ? res->pid
				  : res->eidas_identifier != NULL ? res->eidas_identifier
								  : res->onetime_key;

		if (had != NULL && now != NULL && strcmp(had, now) == 0 &&
		    (eidas_level_of(s->acr) != 0) == (eidas_level_of(res->acr) != 0)) {
			/*
			 * Same person (step-up or prompt=login): the session keeps its
			 * sid and clients, takes the new authentication, and moves to a
			 * new cookie, so a cookie fixed before the login is worth nothing.
			 */
			rc = session_fill(r, s, res, e);
			if (rc != 0)
				return rc;
			cookie = rand_token(r->arena);
			if (cookie == NULL)
				return ERR(e, ERR_CRYPTO, 500, "server_error", "no randomness");
			store_call(app->store, login, session_delete, s->hash, e);
			s->hash = sha256_b64url(r->arena, str_c(cookie));
			rc = session_store(r, s, false, e);
			if (rc == 0)
				session_set_cookie(r, w, session_cookie_name(r, client), cookie);
			return rc;
		}
		/*
		 * Another person: the old session ends here, as a logout ends it,
		 * its back-channel clients told (spec §20), in the caller's
		 * transaction.
		 */
		rc = session_end_body(&(struct session_end_tx){ r, s }, e);
		if (rc != 0)
			return rc;
		*ended = true;
		session_clear(s);
	} else if (rc != ERR_NOTFOUND) {
		return rc;
	}

	cookie = rand_token(r->arena);
	sid = rand_token(r->arena);
	if (cookie == NULL || sid == NULL)
		return ERR(e, ERR_CRYPTO, 500, "server_error", "no randomness");
	memset(s, 0, sizeof(*s));
	s->sid = sid;
	if (client != NULL && client->sso_disabled) {
		s->kind = "client";
		s->client_id = arena_strdup(r->arena, client->client_id);
		if (s->client_id == NULL)
			return ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
	} else {
		s->kind = "shared";
	}
	rc = session_fill(r, s, res, e);
	if (rc != 0) {
		session_clear(s);
		return rc;
	}
	s->created = time_now();
	s->clients = no_clients;
	s->nclients = 0;
	s->hash = sha256_b64url(r->arena, str_c(cookie));
	s->unsaved = true;
	session_set_cookie(r, w, session_cookie_name(r, client), cookie);
	return 0;
}

bool
session_has_client(const struct session *s, const char *client_id)
{
	for (size_t i = 0; s->clients != NULL && i < s->nclients; i++)
		if (strcmp(s->clients[i], client_id) == 0)
			return true;
	return false;
}

int
session_join(struct http_req *r, struct session *s, const char *client_id, struct err *e)
{
	size_t i;

	if (!session_has_client(s, client_id)) {
		const char **list = arena_alloc(r->arena, (s->nclients + 2) * sizeof(*list));

		if (list == NULL)
			return ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
		for (i = 0; s->clients != NULL && i < s->nclients; i++)
			list[i] = s->clients[i];
		list[s->nclients] = arena_strdup(r->arena, client_id);
		if (list[s->nclients] == NULL)
			return ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
		s->clients = list;
		s->nclients++;
	}
	return session_save_as(r, s, !s->unsaved, e);
}

int
session_save(struct http_req *r, struct session *s, struct err *e)
{
	return s->unsaved ? session_save_as(r, s, false, e) : 0;
}

int
session_end(struct http_req *r, struct http_resp *w, const struct client *client, struct session *s,
	    struct err *e)
{
	struct porten *app = session_app(r);
	struct session_end_tx x = { r, s };
	int rc;

	rc = store_tx_run(app->store, session_end_body, &x, e);
	if (rc != 0)
		return rc;
	login_bcl_kick();
	session_set_cookie(r, w, session_cookie_name(r, client), NULL);
	return 0;
}

#define SESSION_END_BATCH 100    /* sessions of a person ended per statement */

struct session_end_person_tx {
	struct porten *app;
	const char *pid;
	int (*with)(void *arg, struct err *e);
	void *arg;
	size_t n;               /* sessions ended */
};

/* with, then every session of the person ended as session_end_body ends one. */
static int
session_end_person_body(void *arg, struct err *e)
{
	struct session_end_person_tx *x = arg;
	json_t *docs = NULL, *v;
	struct arena *a;
	size_t i;
	int rc = x->with != NULL ? x->with(x->arg, e) : 0;

	x->n = 0;
	/* Until a batch comes back empty: one that lost rows to a racing end is not the last. */
	while (rc == 0) {
		rc = store_call(x->app->store, login, session_take_person, x->pid,
				SESSION_END_BATCH, &docs, e);
		if (rc != 0 || json_array_size(docs) == 0)
			break;
		a = arena_new();
		if (a == NULL)
			rc = ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
		json_array_foreach(docs, i, v) {
			struct session s;

			/* A document of the wrong shape is no session to announce. */
			if (rc == 0 && session_decode(v, a, &s, NULL) == 0)
				rc = session_ended(x->app, a, &s, true, e);
		}
		x->n += json_array_size(docs);
		json_decref(docs);
		docs = NULL;
		arena_free(a);
	}
	json_decref(docs);
	return rc;
}

int
session_end_person(struct http_req *r, const char *pid, int (*with)(void *arg, struct err *e),
		   void *arg, struct err *e)
{
	struct session_end_person_tx x = { session_app(r), pid, with, arg, 0 };
	int rc;

	if (pid == NULL)
		return ERR(e, ERR_INVAL, 500, "server_error", "no person whose sessions to end");
	rc = store_tx_run(x.app->store, session_end_person_body, &x, e);
	if (rc != 0 || x.n == 0)
		return rc;
	log_info(r->rid, "ended the person's %zu SSO sessions", x.n);
	login_bcl_kick();
	return 0;
}

void
session_clear(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->auth_time = s->created = SESSION_NO_TIME;
}
