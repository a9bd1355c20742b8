/*
 * The application context shared by every handler: configuration, store,
 * key-encryption key and the issuers this process serves.  Built once in
 * main.c (or by a unit test) and read-only afterwards.
 */
#ifndef PORTEN_APP_APP_H
#define PORTEN_APP_APP_H

#include <stdbool.h>

#include "core/cfg.h"
#include "jose/jose.h"
#include "store/store.h"

enum issuer_kind { ISSUER_IDPORTEN, ISSUER_ANSATTPORTEN, ISSUER_MASKINPORTEN };

/*
 * An issuer kind's names, one table for all (app.c): its id in settings,
 * commands and metric labels ("ansattporten"), and its title on pages and
 * in logs ("Ansattporten").
 */
const char *app_issuer_kind_id(enum issuer_kind kind);
const char *app_issuer_kind_title(enum issuer_kind kind);
/* The kind whose id is name: 0, or -1 when none has it. */
int app_issuer_kind_parse(const char *name, enum issuer_kind *kind);

struct issuer {
	enum issuer_kind kind;
	const char *iss;        /* exact issuer string, e.g. "http://127.0.0.1:8080" */
	const char *prefix;     /* path prefix the routes live under: "" for ID-porten */
	const char *base;       /* iss without a trailing slash: endpoint URLs are base + path */
	struct porten *app;
};

#define APP_MAX_ISSUERS 4

struct porten_service;

struct porten {
	struct cfg *cfg;
	struct store *store;
	struct jose_kek kek;
	struct jose_kek kek_previous;   /* while a KEK rotation runs (kek_previous) */
	bool has_kek_previous;
	bool test_env;          /* PORTEN_ENV=test */
	unsigned char pairwise_key[32]; /* HMAC key for pairwise sub, shared by all nodes via the store */
	unsigned char csrf_key[32];     /* HMAC key for CSRF tokens, shared via the store */
	struct issuer issuers[APP_MAX_ISSUERS];
	int nissuers;
	/*
	 * The services portend runs (src/services.c), set by main.c after
	 * app_init: the login core runs their steps after the eID.  NULL (unit
	 * tests, portenctl): the login core's own steps only.
	 */
	const struct porten_service *const *services;
};

/*
 * Build the context from a loaded configuration: open the store, load the
 * KEK (PORTEN_KEK / kek_file; without one a fixed development key and a
 * loud warning, refused when env=prod), agree with other nodes on the
 * pairwise and CSRF keys through the store's meta table, and set up the
 * issuers: ID-porten at cfg->issuer (prefix ""), Maskinporten at
 * cfg->maskinporten_issuer and Ansattporten at cfg->ansattporten_issuer
 * (each its own path prefix; by default a path under the ID-porten
 * issuer) unless that is empty.
 * app_close releases what app_init acquired; it does not free cfg.  The
 * services start after app_init and stop before app_close (app/service.h).
 */
int app_init(struct porten *app, struct cfg *cfg, struct err *e);
void app_close(struct porten *app);
/* The issuer of a kind, or NULL. */
struct issuer *app_issuer(struct porten *app, enum issuer_kind kind);
/*
 * Where is's browser endpoints (authorize, logout, its pages) are: under
 * browser_url with the issuer's prefix for an issuer that logs people in,
 * when a node serves a browser host of its own (spec/idporten-oidc.md §1);
 * else is->base.  malloc'd (NULL without memory).
 */
char *app_browser_base(const struct issuer *is);

struct http_req;
/*
 * Whether a cookie set in answer to r gets Secure: for an https issuer
 * (cfg cookie_secure, also when a proxy in front ends TLS), and for any
 * request that came over TLS.
 */
bool app_cookie_secure(const struct http_req *r);

/* Room for app_person_tag's answer: base64url of 32 bytes and the NUL. */
#define APP_PERSON_TAG_LEN 44
/*
 * A person's tag in the event log: BASE64URL(HMAC-SHA256(pairwise key,
 * "events\n" || pid)), the same on every node, so a person's events can be
 * found (spec/selfservice-api.md §11) without the log holding the number.
 */
void app_person_tag(const struct porten *app, const char *pid, char out[APP_PERSON_TAG_LEN]);
/*
 * The keyed hash a store keeps of a one-time code sent for id:
 * BASE64URL(HMAC-SHA256(CSRF key, domain || "\n" || id || "\n" || code)),
 * the same on every node; domain keeps each use apart ("minid-code").
 */
void app_code_hash(const struct porten *app, const char *domain, const char *id, const char *code,
		   char out[APP_PERSON_TAG_LEN]);

#endif
