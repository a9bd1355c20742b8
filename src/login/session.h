/*
 * SSO sessions (spec/idporten-oidc.md §8): the shared session of all
 * ordinary clients, or an SSO-free client's own session with its own
 * cookie.  The cookie holds a random secret; the store keys the session by
 * its hash.  The session doc:
 *   sid, kind ("shared"|"client"), client_id (kind client), pid, acr, amr
 *   (array), eid, auth_time, created, clients (array of client ids that got
 *   a code from it: front-channel logout).
 */
#ifndef PORTEN_LOGIN_SESSION_H
#define PORTEN_LOGIN_SESSION_H

#include <jansson.h>

#include "eid/eid.h"
#include "http/http.h"

struct client;

struct session {
	json_t *doc;          /* owned: json_decref */
	const char *hash;     /* store key (arena) */
};

/* The cookie carrying the session a client belongs to (arena string). */
const char *session_cookie_name(struct http_req *r, const struct client *client);
/* Load the live session for client's kind from the request's cookie; ERR_NOTFOUND if none. */
int session_load(struct http_req *r, const struct client *client, struct session *s, struct err *e);
/*
 * After an eID login: raise the current session when it is the same person,
 * else start a new one (new cookie set on w).  s is filled.
 */
int session_establish(struct http_req *r, struct http_resp *w, const struct client *client,
		      const struct eid_result *res, struct session *s, struct err *e);
/* Record that client got a code from s, and push the idle timeout. */
int session_join(struct http_req *r, struct session *s, const char *client_id, struct err *e);
/* End s: delete it, revoke its login-only grants, clear the cookie. */
int session_end(struct http_req *r, struct http_resp *w, const struct client *client, struct session *s,
		struct err *e);
void session_clear(struct session *s);

#endif
