/* Declarations shared by the files of src/eid/upstream/ only. */
#ifndef PORTEN_EID_UPSTREAM_UPSTREAM_INT_H
#define PORTEN_EID_UPSTREAM_UPSTREAM_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "eid/eid.h"
#include "eid/upstream/upstream.h"
#include "jose/jose.h"

#define UPSTREAM_MAX 8          /* eIDs in one file */
#define UPSTREAM_MAX_ACR 8      /* acr values of one upstream */
#define UPSTREAM_LEEWAY 60      /* seconds of clock skew allowed on exp and iat */
#define UPSTREAM_MAX_AGE 600    /* an ID token issued longer ago than this is refused */

enum upstream_auth { UPSTREAM_SECRET_BASIC, UPSTREAM_SECRET_POST, UPSTREAM_PRIVATE_KEY_JWT };
enum upstream_par { UPSTREAM_PAR_AUTO, UPSTREAM_PAR_OFF };

/* One of the upstream's acr values and the level (EID_LEVEL_*) it stands for. */
struct upstream_acr {
	char *value;
	unsigned level;
};

/*
 * A document fetched from the upstream (discovery or JWKS): v, fetched at
 * at, or NULL; failed is when the last fetch failed (0: it did not).
 */
struct upstream_doc {
	json_t *v;                      /* replaced, never changed */
	int64_t at, failed;
};

/*
 * One configured upstream eID.  prov is what the eID list holds; the rest
 * is read-only after loading except the cache under lock, which every
 * page thread shares.
 */
struct upstream {
	struct eid_provider prov;
	struct eid_route routes[4];
	char *name, *display, *logo, *path, *path_callback, *path_abort;
	char *issuer, *client_id, *secret, *scope, *amr, *pid_claim;
	enum upstream_auth auth;
	enum upstream_par par;
	struct jose_key *key;           /* private_key_jwt */
	struct upstream_acr acr[UPSTREAM_MAX_ACR];
	size_t nacr;
	long timeout;                   /* seconds for each call */
	int64_t cache_ttl;
	int64_t retry;                  /* seconds a failed fetch is not tried again */
	bool allow_http;                /* test environment: http:// upstreams */
	/*
	 * kind = eidas: the eIDAS connector (spec/ansattporten-eidas-testid.md
	 * §2); acr lines map to eidas-loa-* levels and the person comes from
	 * the eidas_* claims, matched against the person register.
	 */
	bool eidas;
	pthread_mutex_t lock;
	struct upstream_doc meta, jwks; /* cached */
};

/* config.c: the upstream whose pages the request is for, or NULL. */
struct upstream *upstream_of_request(const struct http_req *r);
/* The level of the upstream's acr value, 0 when it maps to none. */
unsigned upstream_level_of(const struct upstream *u, const char *acr);

/*
 * meta.c: the upstream's discovery document and its JWKS (new references),
 * from the cache when fresh; force refetches the JWKS (a key the set did
 * not have).  ERR_UNAVAILABLE when the upstream does not answer or answers
 * what is not a document of that kind, and, without asking it, for
 * upstream_retry seconds after such a failure.
 */
int upstream_meta(struct upstream *u, const char *rid, json_t **meta, struct err *e);
int upstream_jwks(struct upstream *u, const char *rid, bool force, json_t **jwks,
		  struct err *e);
/*
 * POST form (application/x-www-form-urlencoded, the client's
 * authentication added) to url; *out the answer's JSON object.
 * ERR_UNAVAILABLE: no answer, a 5xx or an answer that is not JSON;
 * ERR_DENIED: an OAuth error answer (e->msg has it).
 */
int upstream_post(const struct upstream *u, struct http_req *r, const char *url,
		  struct buf *form, json_t **out, struct err *e);
/* Append name=value, form-encoded, to b ('&' before all but the first). */
void upstream_form_add(struct buf *b, const char *name, const char *value);

/*
 * What the login expects of the ID token: its nonce, the lowest level,
 * and the authentication the request asked for (struct eid_flow's fresh
 * and max_age) at the upstream since started (when the person was sent
 * there).
 */
struct upstream_expect {
	const char *nonce;
	unsigned min_level;
	bool fresh;
	int64_t max_age;
	int64_t started;
};

/*
 * idtoken.c: validate the ID token; on success *claims (a new reference),
 * *level and *auth_time (the token's auth_time; now when it has none).
 */
int upstream_id_token(struct upstream *u, struct http_req *r, const char *jws,
		      const struct upstream_expect *x, json_t **claims, unsigned *level,
		      int64_t *auth_time, struct err *e);

/*
 * answer.c: the callback's query, read without I/O.  state is
 * "<ar>.<started>.<tag>": ar the pending login, started (decimal, at most
 * UPSTREAM_STATE_MAX_STARTED) when the person was sent upstream, tag
 * upstream_state_tag over started.
 */
#define UPSTREAM_STATE_MAX_STARTED (INT32_MAX * 4LL)

/* What the upstream's answer carries; strings NULL when absent or repeated. */
struct upstream_answer {
	const char *code, *error, *iss;
	const char *ar, *started_s, *tag; /* the parts of state (arena strings) */
	int64_t started;                  /* started_s's value */
};

/* base64url(HMAC-SHA256(csrf, "upstream-<what>|<eid>")): a value of this login and browser. */
const char *upstream_derive(struct arena *a, const char *csrf, const char *eid, const char *what);
/* The tag of state: of the login (its CSRF token csrf) and of started (its text). */
const char *upstream_state_tag(struct arena *a, const char *csrf, const char *eid,
			       const char *started);
/*
 * Read the callback's query q into *ans; false when state is missing,
 * repeated or not of the shape above (*ans then holds code, error, iss).
 */
bool upstream_answer_read(struct arena *a, const struct http_params *q,
			  struct upstream_answer *ans);
/* Whether ans's tag is the one of the login whose CSRF token is csrf (constant time). */
bool upstream_answer_tag_ok(struct arena *a, const struct upstream_answer *ans, const char *csrf,
			    const char *eid);

/* RFC 9207 §2.4: the iss of an answer against the upstream's issuer. */
enum upstream_iss { UPSTREAM_ISS_NONE, UPSTREAM_ISS_SAME, UPSTREAM_ISS_OTHER };
enum upstream_iss upstream_iss_of(const char *iss, const char *issuer);

/* pages.c: the three pages of every upstream eID. */
void upstream_start(struct http_req *r, struct http_resp *w, const struct eid_flow *flow);
void upstream_callback(struct http_req *r, struct http_resp *w, const struct eid_flow *flow);
void upstream_abort(struct http_req *r, struct http_resp *w, const struct eid_flow *flow);

#endif
