/* Declarations shared by the files of src/admin/ only. */
#ifndef PORTEN_ADMIN_ADMIN_INT_H
#define PORTEN_ADMIN_ADMIN_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "app/app.h"
#include "app/cli.h"
#include "http/http.h"
#include "oauth/oauth.h"
#include "registry/registry.h"

/* The admin scopes (spec §2), given to a client by the operator only. */
#define ADM_DCR_READ "idporten:dcr.read"
#define ADM_DCR_MODIFY "idporten:dcr.modify"
#define ADM_DCR_WRITE "idporten:dcr.write"
#define ADM_DCR_SUPPLIER "idporten:dcr.supplier"
#define ADM_SCOPES_WRITE "idporten:scopes.write"
#define ADM_OBO_WRITE "idporten:dcr/onbehalfof:write"

/*
 * A request body the API reads: clients carry a few KiB at most (20
 * redirect URIs of 2000 bytes are the largest lawful one), key sets five
 * JWKs; anything larger is refused before it is parsed.
 */
#define ADM_BODY_MAX (48 * 1024)

/* One API call: the request, its answer, the checked token and the caller. */
struct adm_call {
	struct http_req *r;
	struct http_resp *w;
	struct porten *app;
	const char *base;        /* the API's absolute URL (the token's aud when it names one) */
	struct oauth_bearer tok;
	struct reg_actor who;
};

/*
 * Start a call: check the Maskinporten token and the scopes.  The caller
 * acts as owner when the token holds one of owner_scopes (NULL-ended), as
 * supplier when supplier_ok and it holds idporten:dcr.supplier; neither
 * is a 403 naming them.  0 to go on (adm_end afterwards); else the
 * refusal is answered.
 */
int adm_begin(struct adm_call *c, struct http_req *r, struct http_resp *w,
	      const char *const *owner_scopes, bool supplier_ok);
void adm_end(struct adm_call *c);
/*
 * The JSON body of a POST or PUT: application/json, at most ADM_BODY_MAX
 * bytes, well-formed with no duplicate keys.  0 with *body (new
 * reference); else the refusal (415, 413, 400) is answered.
 */
int adm_body(struct adm_call *c, json_t **body);
/* Answer a failure of the registry: 400, 403, 404, 409 with {error, error_description}. */
void adm_fail(struct adm_call *c, int rc, const struct err *e);
/* Answer j (not consumed) with status, never cached. */
void adm_json(struct adm_call *c, int status, const json_t *j);
/* 405 with the methods the resource has. */
void adm_method_not_allowed(struct adm_call *c, const char *allow);

/* The routes (clients.c). */
void adm_handle_clients(struct http_req *r, struct http_resp *w);
void adm_handle_client(struct http_req *r, struct http_resp *w);
/* The scope-owner API and the open lists (scopes.c). */
void adm_handle_scopes(struct http_req *r, struct http_resp *w);
void adm_handle_scopes_all(struct http_req *r, struct http_resp *w);
void adm_handle_access_list(struct http_req *r, struct http_resp *w);
void adm_handle_access(struct http_req *r, struct http_resp *w);
void adm_handle_prefixes(struct http_req *r, struct http_resp *w);
void adm_handle_delegation_sources(struct http_req *r, struct http_resp *w);
/* The OpenAPI document (openapi_doc.c) and its route (scopes.c). */
extern const char adm_openapi_doc[];
void adm_handle_openapi(struct http_req *r, struct http_resp *w);
/* The person-facing API on the ID-porten issuer (loghistory.c). */
void adm_handle_login_history(struct http_req *r, struct http_resp *w);
/* Which authorizations a listing shows (spec §10). */
struct adm_authz_filter {
	bool provider;           /* api-provider: scopes owned by orgno; else its clients */
	bool consent_only;       /* only those with a scope that requires consent */
	const char *visibility;  /* NULL, PUBLIC or PRIVATE */
};

/*
 * The API and portenctl alike (authorizations.c): a person's
 * authorizations as §10 shows them, for orgno's clients or scopes (NULL:
 * the operator, every one); and the revocation of one, when it is pid's
 * (NULL: any person's) and orgno's, else ERR_NOTFOUND.
 */
int adm_authz_find(struct porten *app, struct arena *a, const char *pid, const char *orgno,
		   const struct adm_authz_filter *f, json_t **out, struct err *e);
int adm_authz_revoke(struct porten *app, struct arena *a, const char *pid, const char *orgno,
		     const char *id, struct err *e);
/* The revocation list of client_id (revokelist.c): ERR_NOTFOUND for an unknown client. */
int adm_revokelist(struct porten *app, const char *client_id, json_t **out, struct err *e);
/* portenctl authorization ... (cmd_authz.c). */
int adm_cmd_authz(struct cli *c, int argc, char **argv);
void adm_cmd_authz_usage(FILE *f);

/* The authorizations API on the ID-porten issuer (authorizations.c). */
void adm_handle_authz_clients(struct http_req *r, struct http_resp *w);
void adm_handle_authz_provider(struct http_req *r, struct http_resp *w);
void adm_handle_authz_revoke(struct http_req *r, struct http_resp *w);
/* The revocation list there, open (revokelist.c). */
void adm_handle_revokelist(struct http_req *r, struct http_resp *w);
/* A query parameter given at most once: 0 (*v NULL when absent), or the 400 is answered. */
int adm_query(struct adm_call *c, const char *name, const char **v);

/* The configured base under the issuer, and the length of the route prefix before an id. */
const char *adm_base(const struct porten *app);

#endif
