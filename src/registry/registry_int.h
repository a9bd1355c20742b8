/* Declarations shared by the files of src/registry/ only. */
#ifndef PORTEN_REGISTRY_REGISTRY_INT_H
#define PORTEN_REGISTRY_REGISTRY_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/str.h"

struct porten;

/* RFC 7591 §3.2.2: the error for every refused registration field. */
#define REG_INVALID_METADATA "invalid_client_metadata"
#define REG_INVALID_SCOPE "invalid_scope"

/* Bounds on registrations (spec/selfservice-api.md §4, §6). */
#define REG_CLIENT_ID_MAX 100
#define REG_NAME_MAX 200
#define REG_DESCRIPTION_MAX 1000
#define REG_URI_MAX 2000
#define REG_URIS_MAX 20
#define REG_SCOPES_MAX 100
#define REG_SCOPE_NAME_MAX 200
#define REG_SCOPE_PREFIX_MAX 64
#define REG_LIFETIME_MAX (365 * 86400LL)
/*
 * JWT access tokens are signed; keeping their lifetime at one day or less
 * bounds how long a retired signing key must stay published (keys.c).
 */
#define REG_AT_LIFETIME_MAX 86400LL
#define REG_SECRET_LIFETIME (360 * 86400LL)   /* spec §6.3: at most 360 days */
#define REG_CLIENT_KEYS_MAX 5                 /* spec §7: 1-5 keys */
#define REG_ORG_DIGDIR "991825827"

/*
 * A client ('c') or scope ('s') document through the in-memory cache
 * (cache.c), current as of the store's last change to clients or scopes:
 * a new reference to a document shared with other requests, which the
 * caller reads and never changes.  Store errors as client_get / scope_get.
 */
int reg_cache_get(struct porten *app, char kind, const char *name, json_t **doc,
		  struct err *e);
/*
 * A client's record (client.h) through the same cache, parsed once per
 * loaded document: a new reference (reg_client_release).  ERR_INTERNAL
 * naming the field when the stored document does not parse.
 */
struct client;
int reg_cache_client(struct porten *app, const char *name, const struct client **out,
		     struct err *e);
#ifndef NDEBUG
/*
 * Builds with assertions: abort when a shared document (cached or built in)
 * no longer equals its pristine copy, i.e. a caller changed it.
 */
void reg_shared_check(const json_t *doc, const json_t *pristine, const char *what);
#endif

/* ISO-8601 UTC, "2025-01-31T12:00:00Z". */
void reg_iso_time(int64_t t, char out[32]);

/* One of the integration types spec §4 names (supported here or not). */
bool reg_integration_type_known(const char *t);

/* An active client the caller sees (client.c): a stored doc, the caller's (new reference). */
struct reg_actor;
int reg_client_get_active_as(struct porten *app, const struct reg_actor *who,
			     const char *client_id, json_t **doc, struct err *e);
/*
 * Change an active client the caller sees, safely against concurrent
 * writers (reg_doc_edit): apply changes doc, a copy of the stored prev,
 * and may run more than once; last_updated is stamped after it.  *prev and
 * *out (each optional, new references): the doc the change was made to and
 * the doc as stored.  ERR_NOTFOUND (404) for a client the caller does not
 * see or that is deactivated; apply's errors as they are.
 */
typedef int (*reg_client_apply_fn)(const json_t *prev, json_t *doc, void *arg, struct err *e);
int reg_client_edit_as(struct porten *app, const struct reg_actor *who, const char *client_id,
		       reg_client_apply_fn apply, void *arg, json_t **prev, json_t **out,
		       struct err *e);

/* A row of the scope table that assigns a prefix (scope_owner.c), not a scope. */
bool reg_prefix_row(const json_t *doc);

/* prefix:subscope syntax of an API scope (lower case, bounded). */
bool reg_scope_name_valid(const char *name);

/* A client id we accept: [A-Za-z0-9._:-]{1,100}. */
bool reg_client_id_valid(const char *id);

/*
 * Client rules (client_rules.c).  All fail with ERR_INVAL and
 * invalid_client_metadata naming the field.
 */
/* Every key of in is a known client field that the caller may send. */
int reg_client_check_fields(const json_t *in, struct err *e);
/*
 * A string field, bounded and free of control characters; absent, null or
 * "" give *out = NULL, which required refuses.  *out points into in.
 */
int reg_client_get_text(const json_t *in, const char *field, size_t max, bool required,
			const char **out, struct err *e);
/*
 * Validate every writable field of in and write it, or its default, into
 * doc.  prev is the stored doc on update (NULL on create): ownership
 * (client_orgno, supplier_orgno) and keys it holds survive an update that
 * leaves them out.
 */
struct reg_actor;
int reg_client_build(struct porten *app, const struct reg_actor *who, const json_t *in,
		     const char *itype, const json_t *prev, json_t *doc, struct err *e);
/*
 * A key set as sent ({"keys": [...]} or a bare array; spec §7) checked
 * as reg_client_check_key_set: *jwks {"keys": [...]}, a new reference.
 */
int reg_client_jwks_from(const json_t *v, json_t **jwks, struct err *e);
/* Spec §7: a public RSA signing key with an acceptable kid. */
int reg_client_check_jwk(const json_t *k, struct err *e);
/* A whole client JWKS {"keys": [...]}: 1-5 valid keys, distinct kids. */
int reg_client_check_key_set(const json_t *jwks, struct err *e);

/*
 * Change a stored scope or client safely against concurrent writers
 * (edit.c): fn gets the stored doc (NULL when there is none) and makes the
 * next one in *next (a new reference); the write goes in only if nobody
 * else wrote the doc in between, else the edit is re-run on the newer doc.
 * A client is only ever updated, never created here.  *out (optional) gets
 * the doc as stored.  fn's errors are returned as they are; ERR_UNAVAILABLE
 * (503) when others keep writing.
 */
enum reg_doc_kind { REG_DOC_SCOPE, REG_DOC_CLIENT };
typedef int (*reg_doc_edit_fn)(const json_t *prev, void *arg, json_t **next, struct err *e);
int reg_doc_edit(struct porten *app, enum reg_doc_kind kind, const char *name, reg_doc_edit_fn fn,
		 void *arg, json_t **out, struct err *e);
/*
 * reg_scope_put of an organisation's change to its own scope (owner NULL:
 * the operator's, as reg_scope_put): checked in the same protected write,
 * the stored scope must still be owner's (else ERR_NOTFOUND, 404) and keeps
 * its active flag, which DELETE and the operator set.
 */
int reg_scope_put_own(struct porten *app, const json_t *in, const char *owner, json_t **out,
		      struct err *e);
/* reg_doc_edit of the scope name. */
int reg_scope_edit(struct porten *app, const char *name, reg_doc_edit_fn fn, void *arg,
		   json_t **out, struct err *e);

/* An absolute URI cut into the parts the rules look at (redirect.c). */
struct reg_uri {
	struct str scheme;      /* lower case */
	struct str host;        /* reg-name, IPv4 or "[v6]"; empty without authority */
	struct str port;        /* digits; empty when absent */
	struct str path;        /* path and query after the authority */
	bool has_authority;
	bool has_port;
	int port_num;
};

/*
 * Split a bounded absolute URI (RFC 3986 characters only; no fragment,
 * '*', userinfo, whitespace or non-ASCII).  Parts point into s.  ERR_INVAL
 * with invalid_client_metadata and the reason.
 */
int reg_uri_split(const char *s, struct reg_uri *u, struct err *e);
/* Host names compare case-insensitively (RFC 3986 §3.2.2). */
bool reg_uri_host_eq(struct str a, struct str b);
/*
 * Whether two hosts are in the same domain: equal, or with the same
 * registrable domain (one label below a public suffix of the Public Suffix
 * List, so siblings under github.io or oslo.no differ).  IP addresses and
 * names without a registrable domain (localhost) match only themselves.
 */
bool reg_uri_same_domain(struct str a, struct str b);
/* Whether a URI's host is localhost or an address not reachable from the internet. */
bool reg_uri_host_private(struct str host);

#endif
