/*
 * eID providers.  Each provider runs its own pages under its own path and,
 * when the person is authenticated, hands the login core an eid_result.
 * The core sees nothing else of how the person proved who they are.
 */
#ifndef PORTEN_EID_EID_H
#define PORTEN_EID_EID_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "core/loa.h"
#include "http/http.h"

struct eid_result {
	const char *pid;       /* national identity number */
	const char *acr;       /* achieved level: idporten-loa-substantial|high */
	const char *amr;       /* one amr value: "TestID", "Minid-OTC", ... */
	const char *eid;       /* provider name: "testid", "minid", ... */
	int64_t auth_time;
};

/* A page of a provider, served under every issuer that offers eIDs. */
struct eid_route {
	const char *method;     /* "GET" or "POST" */
	const char *path;       /* "/testid" */
	http_handler_fn fn;
};

struct eid_provider {
	const char *name;       /* "testid" */
	const char *display;    /* shown in the selector */
	const char *desc_key;   /* page_text key of the one-line description */
	const char *path;       /* where its pages start: "/testid" */
	unsigned levels;        /* EID_LEVEL_* (core/loa.h) it can deliver */
	bool test_only;         /* offered only when PORTEN_ENV=test */
	const struct eid_route *routes; /* its pages; terminated by fn == NULL */
};

/* NULL-terminated list of the providers built in. */
extern const struct eid_provider *const eid_providers[];

/* TestID pages. */
extern const struct eid_provider eid_testid;
void eid_testid_handle(struct http_req *r, struct http_resp *w);   /* GET/POST /testid */

/* The service (eid/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service eid_service;

#endif
