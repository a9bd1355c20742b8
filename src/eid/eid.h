/*
 * eID providers.  Each provider runs its own pages under its own path,
 * behind a door of the login core that hands each page the login it
 * belongs to (struct eid_flow); when the person is authenticated the
 * provider hands the core an eid_result through flow->host.  The core sees
 * nothing else of how the person proved who they are, and a provider
 * includes nothing of the login core or of OAuth.
 */
#ifndef PORTEN_EID_EID_H
#define PORTEN_EID_EID_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "core/loa.h"
#include "http/http.h"

struct eid_result {
	const char *pid;       /* national identity number; NULL for an unmatched foreign person */
	const char *acr;       /* achieved level: idporten-loa-*, or eidas-loa-* for eIDAS */
	const char *amr;       /* one amr value: "TestID", "Minid-OTC", ... */
	const char *eid;       /* provider name: "testid", "minid", ... */
	int64_t auth_time;
	/*
	 * eIDAS logins only (spec/ansattporten-eidas-testid.md §2.2), else
	 * NULL: the PersonIdentifier "CC/NO/value", given and family name,
	 * date of birth YYYY-MM-DD.
	 */
	const char *eidas_identifier, *eidas_firstname, *eidas_lastname, *eidas_date_of_birth;
	/* A foreign wallet PID (spec/eudi-wallet.md §7), else NULL: "DE,FR" when disclosed. */
	const char *nationalities;
	/*
	 * The person key of a login whose person has no stable identifier (a
	 * foreign wallet PID without its number, spec/eudi-wallet.md §7): a
	 * random value of this login only, from which the sub is made.  NULL
	 * otherwise; never set together with pid or eidas_identifier.
	 */
	const char *onetime_key;
};

struct eid_flow;
struct err;

/*
 * What the login core offers an eID (implemented by the login core).
 * complete: the person is authenticated: session, code, answer to the
 * client (w is filled).  fail: the eID gives up on this login; the client
 * hears e->oauth (access_denied when NULL) with e->msg.  open: from a page
 * that keeps its own state (EID_DOOR_OWN), join the login ar as the door
 * would (pending authorization, browser binding; no CSRF check): *out is
 * filled (arena strings); ERR_NOTFOUND (status 400) when there is no such
 * login in this browser, another code when the store is away.
 * end_sessions: in one transaction, with(arg, e) (the eID's own writes;
 * NULL: none) and the end of every SSO session of the person pid, each as
 * a logout ends it (the clients told); nothing of either when one fails.
 * with may run twice (a lost connection retried), so it writes values
 * computed before.  0, or the store's error.
 */
struct eid_host {
	void (*complete)(const struct eid_flow *, struct http_req *, struct http_resp *,
			 const struct eid_result *);
	void (*fail)(const struct eid_flow *, struct http_req *, struct http_resp *,
		     const struct err *);
	int (*open)(struct http_req *, const char *ar, struct eid_flow *out, struct err *);
	int (*end_sessions)(struct http_req *, const char *pid,
			    int (*with)(void *arg, struct err *e), void *arg, struct err *);
};

/*
 * One login as an eID page sees it.  ar is the pending authorization
 * (NULL outside a login); csrf the token the page's forms carry as "csrf"
 * (and the login's cancel form); cancel_url where the cancel form posts;
 * min_level the EID_LEVEL_* bit the client asks for at least.  A flow is
 * good for the request that brought it: keep none past the page.
 */
struct eid_flow {
	const char *ar, *client_name, *locale, *csrf, *cancel_url;
	unsigned min_level;
	unsigned eidas_level;   /* EID_LEVEL_* of the lowest eidas-loa-* asked for; 0: none */
	/*
	 * fresh: the person must authenticate anew (prompt=login, a scope that
	 * demands it, or max_age 0), so an eID must not let a session of its
	 * own stand for it.  max_age: the client's max_age in seconds (-1:
	 * none), the oldest authentication the client takes.
	 */
	bool fresh;
	int64_t max_age;
	const struct eid_host *host;
	/*
	 * The login core's own, opaque to the eID: what the door loaded (the
	 * pending request, so that complete and fail need not read it again)
	 * and whether it read the login's spent mark.
	 */
	const void *core;
};

/*
 * How the login core mounts a page (the door in front of it).
 *   EID_DOOR_LOGIN  a page inside a login: the core loads the pending
 *                   authorization named by "ar" (query on GET, form on
 *                   POST), checks the browser binding and, on POST, the
 *                   "csrf" field, and passes the flow; a bad request, a
 *                   missing or foreign login or a wrong token gets the
 *                   error page and never reaches the handler.
 *   EID_DOOR_FORM   as EID_DOOR_LOGIN, for a page whose POST either
 *                   shows its form again or ends the login at once with
 *                   host->complete or host->fail: on POST the door does
 *                   not read whether the login is over already, since
 *                   ending it spends it and finds that out (a finished
 *                   login still gets the error page, from the end).
 *   EID_DOOR_OWN    the page keeps its own state: the flow has only host
 *                   (ar NULL); the page joins a login with host->open.
 *   EID_DOOR_NONE   no login at all: flow is NULL.
 * Pages of a test_only provider answer 404 outside the test environment.
 */
enum eid_door { EID_DOOR_LOGIN, EID_DOOR_FORM, EID_DOOR_OWN, EID_DOOR_NONE };

typedef void (*eid_handler_fn)(struct http_req *r, struct http_resp *w,
			       const struct eid_flow *flow);

/* A page of a provider, served under every issuer that offers eIDs. */
struct eid_route {
	const char *method;     /* "GET" or "POST" */
	const char *path;       /* "/testid" */
	eid_handler_fn fn;
	enum eid_door door;
};

struct eid_provider {
	const char *name;       /* "testid" */
	const char *display;    /* shown in the selector */
	const char *desc_key;   /* page_text key of the one-line description */
	const char *path;       /* where its pages start: "/testid" */
	const char *logo;       /* URL of its logo on the selector, or NULL */
	unsigned levels;        /* EID_LEVEL_* (core/loa.h) it can deliver */
	bool test_only;         /* offered only when PORTEN_ENV=test */
	/*
	 * A foreign eID through eIDAS: levels are eidas-loa-* levels, and it
	 * is offered only when the request asks for one of them (§2.1).
	 */
	bool eidas;
	const struct eid_route *routes; /* its pages; terminated by fn == NULL */
};

/*
 * NULL-terminated list of the providers: those built in, then those added
 * at start-up (the upstream eIDs of a configuration file).  Changed only
 * by eid_provider_add/remove, before portend serves and after it stopped.
 */
#define EID_MAX_PROVIDERS 16
extern const struct eid_provider *eid_providers[EID_MAX_PROVIDERS + 1];
/*
 * Append p (which the caller keeps alive while listed): ERR_INVAL when
 * its name or path is taken, ERR_LIMIT when the list is full.
 */
int eid_provider_add(const struct eid_provider *p, struct err *e);
/* Take p off the list (nothing when it is not there). */
void eid_provider_remove(const struct eid_provider *p);

/* TestID pages. */
extern const struct eid_provider eid_testid;
void eid_testid_handle(struct http_req *r, struct http_resp *w,
		       const struct eid_flow *flow);   /* GET/POST /testid */

/* The service (eid/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service eid_service;

#endif
