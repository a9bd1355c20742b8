/*
 * SSO sessions (spec/idporten-oidc.md §8): the shared session of all
 * ordinary clients, or an SSO-free client's own session with its own
 * cookie.  The cookie holds a random secret; the store keys the session by
 * its hash.  The store keeps the idle and the absolute expiry and the
 * person's pid beside the document (session_put, session_update), so
 * session_end_person finds every session of a person.  The document, in the order
 * session.c writes it:
 *   sid, kind ("shared"|"client"), client_id (kind client), pid, acr, amr
 *   (array), eid, auth_time, created, clients (array of client ids that got
 *   a code from it: front-channel logout), and for an eIDAS login
 *   eidas_identifier, eidas_firstname, eidas_lastname, eidas_date_of_birth
 *   (pid only when the person register matched the identifier), and for a
 *   foreign wallet PID nationalities ("DE,FR") and, when it has no stable
 *   identifier, onetime_key (spec/eudi-wallet.md §7).
 * struct session is its record, session_decode/session_encode its codec.
 */
#ifndef PORTEN_LOGIN_SESSION_H
#define PORTEN_LOGIN_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "eid/eid.h"
#include "http/http.h"

struct client;

#define SESSION_NO_TIME INT64_MIN  /* auth_time or created absent from the document */

/* Strings and lists live in an arena (the request's); the record owns nothing. */
struct session {
	const char *hash;              /* store key; NULL: no session */
	const char *sid;
	const char *kind;              /* "shared" or "client" */
	const char *client_id;         /* kind client: the SSO-free client */
	const char *pid, *acr;
	const char *const *amr;        /* NULL: absent; else namr methods */
	size_t namr;
	const char *eid;
	int64_t auth_time, created;    /* SESSION_NO_TIME: absent */
	const char *const *clients;    /* NULL: absent; else nclients ids that got a code */
	size_t nclients;
	/* eIDAS logins (spec/ansattporten-eidas-testid.md §2.2), else NULL */
	const char *eidas_identifier, *eidas_firstname, *eidas_lastname, *eidas_date_of_birth;
	/* a foreign wallet PID (spec/eudi-wallet.md §7), else NULL */
	const char *nationalities, *onetime_key;
	/*
	 * Started by this request and not written yet: the first write of it
	 * (session_join, else session_save) inserts it, so a new session and
	 * its first client are one insert, not an insert and an update.
	 */
	bool unsaved;
};

/*
 * Read doc into *s (hash left NULL); strings are copied into arena.  A
 * known field of the wrong type is refused (ERR_INVAL); fields the record
 * does not know are ignored.
 */
int session_decode(const json_t *doc, struct arena *arena, struct session *s, struct err *e);
/* The document of s (new reference), in the order above; NULL when out of memory. */
json_t *session_encode(const struct session *s);
/*
 * The same document as compact JSON text appended to b (what the store
 * keeps), byte for byte json_dumps of session_encode: 0, or ERR_NOMEM /
 * ERR_LIMIT / ERR_INVAL (a string not UTF-8).
 */
int session_write(const struct session *s, struct buf *b);
/* The longest session document written. */
#define SESSION_TEXT_MAX (256 * 1024)

/*
 * Who the session is of: pid, else (an unmatched foreign person) the eIDAS
 * identifier, else the one-time key of a person without a stable identifier.
 */
const char *session_person(const struct session *s);

/* The cookie carrying the session a client belongs to (arena string). */
const char *session_cookie_name(struct http_req *r, const struct client *client);
/* Load the live session for client's kind from the request's cookie; ERR_NOTFOUND if none. */
int session_load(struct http_req *r, const struct client *client, struct session *s, struct err *e);
/*
 * After an eID login: raise the current session when it is the same person,
 * else start a new one (new cookie set on w).  s is filled.  A new one is
 * written by session_join or session_save, in the caller's transaction.
 * *ended: another person's session was ended (in that transaction too),
 * with back-channel logout tokens queued: login_bcl_kick() after the commit.
 */
int session_establish(struct http_req *r, struct http_resp *w, const struct client *client,
		      const struct eid_result *res, struct session *s, bool *ended,
		      struct err *e);
/* Did client_id get a code from s? */
bool session_has_client(const struct session *s, const char *client_id);
/* Record that client got a code from s, and push the idle timeout. */
int session_join(struct http_req *r, struct session *s, const char *client_id, struct err *e);
/* Write s if session_establish started it and nothing has written it yet. */
int session_save(struct http_req *r, struct session *s, struct err *e);
/* End s: delete it, revoke its login-only grants, clear the cookie. */
int session_end(struct http_req *r, struct http_resp *w, const struct client *client, struct session *s,
		struct err *e);
/*
 * In one transaction: with(arg, e) when with is not NULL (the caller's
 * own writes), then the end of every session of the person pid (the
 * national identity number), each as session_end ends one: its row
 * removed, its login-only grants revoked, its back-channel logout tokens
 * queued.  Committed whole or not at all; the sender is woken after the
 * commit.  with may run twice (store_tx_run).  Sessions last written
 * before the store kept their person are not found.  The cookies stay
 * with their browsers and lead nowhere.  (eid_host.end_sessions.)
 */
int session_end_person(struct http_req *r, const char *pid, int (*with)(void *arg, struct err *e),
		       void *arg, struct err *e);
void session_clear(struct session *s);

#endif
