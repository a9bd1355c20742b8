/*
 * The service contract (docs/internals.md "Service").  A service is a
 * folder under src/ that brings its configuration rows, its routes under
 * the issuers it serves, what it starts and stops, and its portenctl
 * commands.  src/services.c lists them once; portend (src/main.c) and
 * portenctl (src/portenctl.c) iterate that list through the helpers here.
 */
#ifndef PORTEN_APP_SERVICE_H
#define PORTEN_APP_SERVICE_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "app/app.h"
#include "core/cfg.h"
#include "core/err.h"
#include "http/http.h"

struct cli;
struct login_ctx;
struct json_t;

/* The issuer kinds a service serves, as a mask of SERVICE_ISSUER() bits. */
#define SERVICE_ISSUER(kind) (1u << (kind))
/* The issuers that log people in (ID-porten, Ansattporten). */
#define SERVICE_LOGIN_ISSUERS (SERVICE_ISSUER(ISSUER_IDPORTEN) | SERVICE_ISSUER(ISSUER_ANSATTPORTEN))

/* A route under each issuer the service serves: path is below the issuer's prefix. */
struct service_route {
	const char *method;      /* "GET", "POST" */
	const char *path;        /* "/token" */
	http_handler_fn fn;
};

/*
 * A portenctl command: `portenctl NAME ARGS...`.  run gets argv[0] = the
 * first argument after NAME (argc >= 1: portenctl answers a bare NAME
 * with "'NAME' needs a subcommand") and returns a CLI_* status
 * (app/cli.h); usage prints its lines of `portenctl --help`.
 */
struct cli_command {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	void (*usage)(FILE *f);
};

/*
 * A step after the eID, before the code (the login core's, login/login.h):
 * enter runs it on the login at that point (struct login_ctx), 0 to go
 * on, 1 when it has answered.  issuer_kinds: SERVICE_ISSUER() bits of the
 * issuers it runs under; routes: its pages, fn NULL ends, or NULL.  The
 * route table serves a step's pages under each of those issuers, once
 * however many services list the step; a route's data is the issuer.
 */
struct login_step {
	const char *name;
	unsigned issuer_kinds;
	const struct http_route *routes;
	int (*enter)(struct login_ctx *c, struct http_req *r, struct http_resp *w);
	/*
	 * Fetch what enter needs from elsewhere (a register over HTTP), or
	 * NULL.  enter runs inside the store transaction that writes the
	 * login (its spend, the session, the code), so it never waits on
	 * remote I/O: the login core calls prepare first, outside any
	 * transaction, for each step that will run, and prepare keeps what
	 * it fetched with login_ctx_keep for enter to read with
	 * login_ctx_kept.  What it could not fetch it leaves out (logged);
	 * enter decides what a missing value means.
	 */
	void (*prepare)(struct login_ctx *c, struct http_req *r);
	/*
	 * The authorization_details types (RFC 9396) the step takes, NULL-
	 * terminated, or NULL.  /authorize and PAR hand a request whose first
	 * object has one of them to rar_check with the whole array (parsed,
	 * non-empty, every member an object with a string type): 0 when it is
	 * valid (the step may rewrite it in place, e.g. a string made a list),
	 * else an error whose e->oauth is answered to the client (RFC 9396 §5:
	 * invalid_authorization_details).  Discovery lists rar_types.
	 */
	const char *const *rar_types;
	int (*rar_check)(struct http_req *r, struct json_t *details, struct err *e);
	/*
	 * A refresh of a grant of person pid whose step claims (an object of
	 * name -> value, login_ctx_claim) may hold this step's: 0 when what
	 * they grant still holds (or is not the step's), ERR_DENIED when the
	 * right behind them has ended (the refresh fails with invalid_grant),
	 * ERR_UNAVAILABLE when it cannot be checked now.  NULL: none to check.
	 */
	int (*refresh_check)(struct porten *app, const char *pid, const struct json_t *claims,
			     struct err *e);
};

/*
 * The host a path of the service belongs to when a node serves a browser
 * host and a back-channel host (browser_url; spec/idporten-oidc.md §1).
 * Paths not listed answer on both.
 */
struct service_side {
	const char *path;        /* as in the route table: "/authorize" */
	enum http_side side;
};

/*
 * A person's contact detail that a service has just confirmed (a code
 * sent to it came back) and stored: MinID and KRR share the mobile
 * number (spec/minid.md, spec/krr.md §7), so the other keeps its copy
 * current.  origin is the name of the service where it changed.
 */
enum service_contact_channel {
	SERVICE_CONTACT_MOBILE,
	SERVICE_CONTACT_EMAIL,
};

struct service_contact {
	const char *origin;      /* "krr", "eid" */
	const char *pid;
	enum service_contact_channel channel;
	const char *value;       /* E.164 number or address, as stored */
	const char *lang;        /* the person's page language, for a notice */
	const char *rid;         /* the request, for the log */
};

/* Where a service's mount adds routes (service_route_add). */
struct service_routes;

struct porten_service {
	const char *name;
	unsigned issuer_kinds;                 /* SERVICE_ISSUER() bits; 0: no routes */
	const struct cfg_section *cfg;         /* its configuration rows, or NULL */
	const struct service_route *routes;    /* under each issuer of issuer_kinds; fn NULL ends */
	const struct login_step *const *steps; /* steps after the eID (login/login.h), or NULL */
	const struct cli_command *commands;    /* portenctl commands; name NULL ends; or NULL */
	const struct service_side *sides;      /* its paths' hosts; path NULL ends; or NULL */
	/*
	 * Routes that need more than a table (one per eID provider, say),
	 * added under the issuer after the table's; NULL: the table only.
	 */
	int (*mount)(const struct issuer *is, struct service_routes *out, struct err *e);
	/*
	 * The login core's /logout (login/logout.c) has ended the SSO session
	 * sid under an issuer of issuer_kinds (r->route_data): the service
	 * may take the browser after the clients' front-channel frames, to
	 * log the session out of its own parties, and send it on to dest at
	 * the end (the client's post_logout_redirect_uri with state, or NULL:
	 * a logged-out page of its own).  *next (arena) is where the browser
	 * goes instead of dest; NULL when the service has nothing to do.  An
	 * error leaves the logout as it is (it is logged).  NULL: no such part.
	 */
	int (*logout)(struct http_req *r, const char *sid, const char *dest, const char **next,
		      struct err *e);
	/*
	 * The login core counts a login that ends in a code for client under
	 * an issuer of issuer_kinds (spec/billing.md §2): a service that
	 * serves the login for someone else (the SAML proxy, for its SPs)
	 * names the organisation to count it for.  areq is the validated
	 * request (login/areq.h).  *orgno (arena) is the customer, or NULL
	 * when the login is not the service's (then the client's own).
	 */
	int (*customer)(struct http_req *r, const char *client_id, const json_t *areq,
			const char **orgno, struct err *e);
	/*
	 * Another service stored a confirmed contact detail of a person
	 * (service_contact_changed): keep the service's own copy, if it keeps
	 * one, current.  Failures are the service's to log; they never undo
	 * the change where it was made.  NULL: it keeps no copy.
	 */
	void (*contact_changed)(struct porten *app, const struct service_contact *c);
	/* portend --check-config: what only opening can tell (a key in a token). */
	int (*check)(const struct cfg *c, struct err *e);
	/* portend start-up, after app_init, in list order: 0 or an error saying what failed. */
	int (*init)(struct porten *app, struct err *e);
	/* Once a minute in portend, in list order. */
	void (*tick)(struct porten *app);
	/*
	 * Release what init, or a portenctl command, acquired; in reverse list
	 * order, before app_close.  Runs also when init did not (or failed),
	 * so it must be a no-op on nothing.
	 */
	void (*close)(struct porten *app);
};

/* Load the configuration with the generic rows and those of every service in the list. */
int service_cfg_load(struct cfg *c, const struct porten_service *const *list, const char *path,
		     struct err *e);
/* Run every check in order; the first failure's status, e saying why. */
int service_check_all(const struct porten_service *const *list, const struct cfg *c,
		      struct err *e);
/*
 * Init every service in order; on a failure close those already started
 * (and the failing one) in reverse and return its status.
 */
int service_init_all(const struct porten_service *const *list, struct porten *app,
		     struct err *e);
void service_tick_all(const struct porten_service *const *list, struct porten *app);
/*
 * Tell every service in app->services but c->origin of a confirmed
 * contact detail, in list order.  Nothing without app->services
 * (portenctl, unit tests): bulk changes there stay in their register.
 */
void service_contact_changed(struct porten *app, const struct service_contact *c);
/* Close every service in reverse order. */
void service_close_all(const struct porten_service *const *list, struct porten *app);
/*
 * The route table of portend: `head` (fn NULL ends, data kept), then for
 * each issuer of app, in order, the routes of every service that serves
 * its kind: the table, the pages of its steps that run under the issuer
 * (a step listed more than once, only the first time), then mount's.  Paths are the issuer's prefix +
 * the route's path; data is the issuer.  NULL when out of memory or a
 * mount failed (e says which).  Free with service_routes_free.
 */
struct http_route *service_routes_build(const struct porten_service *const *list,
					struct porten *app, const struct http_route *head,
					struct err *e);
void service_routes_free(struct http_route *routes);
/*
 * The side of each route of a table service_routes_build made from head
 * (indexed like it), from the services' sides; NULL without memory (free() it).
 */
enum http_side *service_routes_sides(const struct porten_service *const *list,
				     const struct http_route *head, const struct http_route *routes);
/* For a mount: add one route under its issuer. */
int service_route_add(struct service_routes *out, const char *method, const char *path,
		      http_handler_fn fn, struct err *e);
/*
 * Has a service before list[k], or list[k] before its j-th step, listed
 * list[k]->steps[j] already?  A step listed more than once runs, and has
 * its pages routed, at its first listing only.
 */
bool service_step_repeated(const struct porten_service *const *list, size_t k, size_t j);
/*
 * The services' login steps in list order, each at its first listing only:
 * start with a zeroed iterator and call until NULL.
 */
struct service_step_iter {
	size_t k, j;
};
const struct login_step *service_step_next(const struct porten_service *const *list,
					   struct service_step_iter *it);
/* The command of that name, or NULL. */
const struct cli_command *service_command(const struct porten_service *const *list,
					  const char *name);

#endif
