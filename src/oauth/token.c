/*
 * The token endpoint (spec/idporten-oidc.md §9-§12): the authorization_code
 * and refresh_token grants, the tokens they issue, the pairwise subject,
 * and the JSON error answer shared by the back-channel endpoints.
 */
#include "oauth/oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/service.h"
#include "core/b64.h"
#include "core/crypto.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/metrics.h"
#include "oauth/dpop.h"
#include "oauth/token_int.h"
#include "registry/registry.h"

#define GT_CODE "authorization_code"
#define GT_REFRESH "refresh_token"

#define ID_TOKEN_LIFETIME 120            /* spec §10 */
#define CODE_MAX_LEN 512                 /* codes are 43 characters; bound the hash input */
#define REFRESH_MAX_LEN 512
#define CLAIM_LIST_MAX 32                /* codes in a list claim: the wallet allows 16 */
#define CLAIMS_MAX (64 * 1024)           /* a token's claims: a few hundred bytes, authorization_details more */

#define BADREQ(e, ...) ERR((e), ERR_INVAL, 400, OAUTH_INVALID_REQUEST, __VA_ARGS__)
#define BADGRANT(e, ...) ERR((e), ERR_DENIED, 400, OAUTH_INVALID_GRANT, __VA_ARGS__)
#define BADSCOPE(e, ...) ERR((e), ERR_INVAL, 400, OAUTH_INVALID_SCOPE, __VA_ARGS__)
#define UNAUTHZ(e, ...) ERR((e), ERR_DENIED, 400, OAUTH_UNAUTHORIZED_CLIENT, __VA_ARGS__)
#define INTERNAL(e, ...) ERR((e), ERR_INTERNAL, 500, OAUTH_SERVER_ERROR, __VA_ARGS__)

/* ---- errors and the common gate ---- */

void
oauth_resp_error(struct http_req *r, struct http_resp *w, const struct err *e)
{
	const char *error = e->oauth;
	const char *desc = e->msg[0] ? e->msg : NULL;
	int status = e->status;
	const char *rid = r != NULL && r->rid[0] ? r->rid : NULL;

	if (error == NULL || strcmp(error, OAUTH_SERVER_ERROR) == 0 ||
	    strcmp(error, OAUTH_TEMPORARILY_UNAVAILABLE) == 0) {
		/* Our own failure: log the detail, show the client a generic text. */
		log_err(rid, "back-channel failure: %s (%s) at %s:%d", e->msg, err_name(e->code),
			e->file ? e->file : "?", e->line);
		if (e->code == ERR_UNAVAILABLE ||
		    (error != NULL && strcmp(error, OAUTH_TEMPORARILY_UNAVAILABLE) == 0)) {
			error = OAUTH_TEMPORARILY_UNAVAILABLE;
			status = 503;
			desc = "the service is temporarily unavailable";
		} else {
			error = OAUTH_SERVER_ERROR;
			status = status >= 500 ? status : 500;
			desc = "internal error";
		}
	} else {
		log_info(rid, "back-channel request refused: %s: %s", error, e->msg);
		if (status < 400 || status > 599)
			status = strcmp(error, OAUTH_INVALID_CLIENT) == 0 ? 401 : 400;
	}
	if (rid != NULL && w->arena != NULL)
		desc = arena_printf(w->arena, "%s (ref %s)", desc ? desc : error, rid);
	http_resp_oauth_error(w, status, error, desc);
	/* RFC 6749 §5.2: a 401 names the authentication scheme the client should use. */
	if (status == 401 && strcmp(error, OAUTH_INVALID_CLIENT) == 0)
		http_resp_header(w, "WWW-Authenticate", "Basic realm=\"porten\"");
	if (status == 405)
		http_resp_header(w, "Allow", "POST");
}



int
oauth_backchannel_check(const struct http_req *r, struct err *e)
{
	if (r->method == NULL || strcmp(r->method, "POST") != 0)
		return ERR(e, ERR_INVAL, 405, OAUTH_INVALID_REQUEST, "this endpoint takes POST");
	if (r->bad_input)
		return BADREQ(e, "malformed request: %s",
			      r->input_err.msg[0] ? r->input_err.msg : "bad form encoding");
	/* RFC 6749 §3.1: request parameters MUST NOT be included more than once. */
	for (size_t i = 0; i < r->form.n; i++)
		for (size_t j = i + 1; j < r->form.n; j++)
			if (str_eq(r->form.v[i].name, r->form.v[j].name))
				return BADREQ(e, "parameter %s given more than once",
					      r->form.v[i].name.p);
	return 0;
}

bool
oauth_scope_has(const char *scope, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	const char *p = scope;

	if (scope == NULL || n == 0)
		return false;
	while (*p != '\0') {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && memcmp(p, name, n) == 0)
			return true;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

/* ---- scopes ---- */

/* Split a scope string into a JSON array of unique names; ERR_INVAL when malformed. */
static int
scope_split(struct str s, json_t **out, struct err *e)
{
	*out = NULL;
	if (s.len > OAUTH_SCOPE_MAX_LEN)
		return BADSCOPE(e, "scope too long");
	switch (oauth_scope_split(s, OAUTH_SCOPE_MAX_N, out)) {
	case OAUTH_SCOPE_OK:
		return 0;
	case OAUTH_SCOPE_MALFORMED:
		return BADSCOPE(e, "malformed scope");
	case OAUTH_SCOPE_TOO_MANY:
		return BADSCOPE(e, "too many scopes");
	case OAUTH_SCOPE_NOMEM:
		break;
	}
	return INTERNAL(e, "out of memory");
}

static char *
scope_join(struct arena *a, const json_t *names)
{
	struct buf b;
	const json_t *v;
	size_t i;
	char *s;

	buf_init(&b, OAUTH_SCOPE_MAX_LEN + 1);
	json_array_foreach(names, i, v) {
		if (i > 0)
			buf_puts(&b, " ");
		buf_puts(&b, json_string_value(v));
	}
	s = arena_strdup(a, b.p ? b.p : "");
	buf_free(&b);
	return s;
}

/*
 * Load the attributes of every scope of a grant: *docs maps name to doc.
 * A scope deleted or deactivated since the login blocks issuance
 * (spec/selfservice-api.md §9: a deactivated scope blocks token issuance).
 */
static int
scopes_load(struct porten *app, const struct client *client, const char *scope, json_t **names,
	    json_t **docs, struct err *e)
{
	json_t *n = NULL, *d = NULL, *doc = NULL, *v;
	size_t i;
	int rc;

	*names = *docs = NULL;
	rc = scope_split(str_c(scope), &n, e);
	if (rc != 0)
		goto out;
	d = json_object();
	if (d == NULL) {
		rc = INTERNAL(e, "out of memory");
		goto out;
	}
	json_array_foreach(n, i, v) {
		rc = reg_scope_get(app, json_string_value(v), &doc, e);
		if (rc == ERR_NOTFOUND || rc == ERR_INVAL ||
		    (rc == 0 && !json_is_true(json_object_get(doc, "active")))) {
			rc = BADSCOPE(e, "scope %s is not available", json_string_value(v));
			goto out;
		}
		if (rc != 0)
			goto out;
		/* spec §13: a scope narrowed to other integration types since the
		 * login (or the client's registration) is no longer issued. */
		if (!oauth_scope_type_ok(doc, client)) {
			rc = BADSCOPE(e, "scope %s is not allowed for integration_type %s",
				      json_string_value(v), client->integration_type);
			goto out;
		}
		json_object_set_new(d, json_string_value(v), doc);
		doc = NULL;
	}
	*names = n;
	*docs = d;
	n = d = NULL;
out:
	json_decref(doc);
	json_decref(n);
	json_decref(d);
	return rc;
}

static bool
any_scope(const json_t *docs, const char *field, const char *value)
{
	const char *name;
	const json_t *doc;

	json_object_foreach((json_t *)docs, name, doc) {
		const json_t *v = json_object_get(doc, field);

		if (value == NULL ? json_is_true(v)
				  : (json_is_string(v) && strcmp(json_string_value(v), value) == 0))
			return true;
	}
	return false;
}

/* ---- pairwise subject ---- */

const char *
oauth_pairwise_sub(struct http_req *r, const char *client_id, const char *person_key)
{
	return oauth_pairwise_sub_in(r->app, r->arena, client_id, person_key);
}

const char *
oauth_pairwise_sub_in(struct porten *app, struct arena *a, const char *client_id,
		      const char *person_key)
{
	unsigned char mac[32];
	char *msg, *out;

	if (client_id == NULL || person_key == NULL || person_key[0] == '\0')
		return NULL;
	/* spec §10 (design): BASE64URL(HMAC-SHA256(secret, client_id || "\n" || person key)). */
	msg = arena_printf(a, "%s\n%s", client_id, person_key);
	hmac_sha256(app->pairwise_key, sizeof(app->pairwise_key), msg, strlen(msg), mac);
	out = b64url_encode_arena(a, mac, sizeof(mac));
	secure_wipe(mac, sizeof(mac));
	secure_wipe(msg, strlen(msg));
	return out;
}

/* ---- issuing ---- */

static int
sign(struct http_req *r, const struct issuer *is, const struct buf *claims, const char *typ,
     const char **out, struct err *e)
{
	const struct jose_signer *signer = NULL;
	char *jws = NULL;
	int rc;

	rc = reg_keys_signing(r->app, is, &signer, e);
	if (rc != 0)
		goto out;
	rc = jose_jws_sign(signer, typ, NULL, claims->p, claims->len, &jws, e);
	if (rc != 0)
		goto out;
	*out = arena_strdup(r->arena, jws);
out:
	free(jws);
	return rc;
}

/*
 * The claims a step after the eID added (oauth_step_claim_ok): into the ID
 * token all of them, into the access token authorization_details alone.
 */
static void
claims_from_steps(struct jsonw *w, const struct grant *g, bool id_token)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)g->claims, k, v) {
		if (!oauth_step_claim_ok(k) || (!id_token && strcmp(k, "authorization_details") != 0))
			continue;
		jsonw_tree(w, k, v);
	}
}

struct issue_ctx {
	const struct issuer *is;
	const struct client *client;
	const char *client_id;
	const struct grant *grant;
	json_t *scope_docs;
	const char *scope;
	const char *sub;
	bool pseudonymous;
	const char *at_jkt;      /* DPoP key of the access token, or NULL */
	int64_t now;
};

static int
access_claims(struct http_req *r, const struct issue_ctx *c, const char *client_amr,
	      int64_t exp, struct buf *out, struct err *e)
{
	const char *pid = c->grant->pid;
	const char *jti = rand_token(r->arena);
	struct jsonw w;

	if (jti == NULL)
		return INTERNAL(e, "cannot build access token");
	jsonw_begin(&w, out);
	jsonw_str(&w, "iss", c->is->iss);
	jsonw_str(&w, "client_amr", client_amr);
	jsonw_str(&w, "client_id", c->client_id);
	jsonw_str(&w, "sub", c->sub);
	oauth_claim_org(&w, "consumer", oauth_consumer_orgno(r->app, c->client));
	if (c->client->supplier_orgno != NULL)
		oauth_claim_org(&w, "supplier", c->client->supplier_orgno);
	jsonw_str(&w, "scope", c->scope);
	jsonw_str(&w, "acr", oauth_acr_for(c->is, c->grant->acr));
	if (!c->pseudonymous)
		jsonw_str(&w, "pid", pid);
	claims_from_steps(&w, c->grant, false);
	/* spec §11: aud only when resource was requested; one value as a string. */
	oauth_claim_aud(&w, c->grant->resource);
	jsonw_int(&w, "iat", c->now);
	jsonw_int(&w, "exp", exp);
	jsonw_str(&w, "jti", jti);
	/* RFC 9449 §6.1: the key the token is bound to. */
	oauth_claim_cnf(&w, c->at_jkt);
	return oauth_claims_end(&w, "access token", e);
}

/* Claim k: a list held as "DE,FR" (eid.h: a wallet PID's nationalities), as ["DE","FR"]. */
static void
claim_list(struct jsonw *w, struct arena *a, const char *k, const char *list)
{
	const char *items[CLAIM_LIST_MAX];
	struct str rest = str_c(list), head;
	size_t n = 0;
	bool more = true;

	while (more && n < CLAIM_LIST_MAX) {
		more = str_split(rest, ',', &head, &rest);
		items[n] = arena_strndup(a, head.p, head.len);
		if (items[n++] == NULL && w->rc == 0)
			w->rc = ERR_NOMEM;
	}
	if (more && w->rc == 0)
		w->rc = ERR_LIMIT;
	if (w->rc == 0)
		jsonw_strs(w, k, items, n);
}

static int
id_token_claims(struct http_req *r, const struct issue_ctx *c, struct buf *out, struct err *e)
{
	const struct grant *g = c->grant;
	const char *jti = rand_token(r->arena);
	struct jsonw w;

	if (jti == NULL || c->sub == NULL)
		return INTERNAL(e, "cannot build ID token");
	jsonw_begin(&w, out);
	jsonw_str(&w, "iss", c->is->iss);
	jsonw_str(&w, "aud", c->client_id);
	jsonw_str(&w, "sub", c->sub);
	if (!c->pseudonymous)
		jsonw_str(&w, "pid", g->pid);
	jsonw_str(&w, "acr", oauth_acr_for(c->is, g->acr));
	if (g->amr != NULL)
		jsonw_strs(&w, "amr", &g->amr, 1);
	if (g->auth_time != 0)
		jsonw_int(&w, "auth_time", g->auth_time);
	jsonw_str(&w, "nonce", g->nonce);
	jsonw_str(&w, "locale", g->locale);
	/* eIDAS logins (spec/ansattporten-eidas-testid.md §2) */
	jsonw_str(&w, "eidas_identifier", g->eidas_identifier);
	jsonw_str(&w, "eidas_firstname", g->eidas_firstname);
	jsonw_str(&w, "eidas_lastname", g->eidas_lastname);
	jsonw_str(&w, "eidas_date_of_birth", g->eidas_date_of_birth);
	/* spec/eudi-wallet.md §7: a foreign PID's nationalities, in the ID token only. */
	if (g->nationalities != NULL)
		claim_list(&w, r->arena, "nationalities", g->nationalities);
	claims_from_steps(&w, g, true);
	/* spec §10, §20: sid only for clients that asked for it (front- or back-channel logout). */
	if (c->client->frontchannel_logout_session_required ||
	    c->client->backchannel_logout_uri != NULL)
		jsonw_str(&w, "sid", g->sid);
	/* spec §16 (design): both documented names of the onbehalfof claim. */
	jsonw_str(&w, "client_onbehalfof", g->onbehalfof);
	jsonw_str(&w, "aud_onbehalfof", g->onbehalfof);
	jsonw_int(&w, "iat", c->now);
	jsonw_int(&w, "exp", c->now + ID_TOKEN_LIFETIME);
	jsonw_str(&w, "jti", jti);
	return oauth_claims_end(&w, "ID token", e);
}

/* The refresh token's inactivity window, never past the grant's own end (spec §12). */
static int64_t
refresh_expiry(const struct client *client, const struct grant *grant, int64_t now)
{
	int64_t exp = now + client->refresh_token_lifetime;
	int64_t gexp = grant->expires_at;

	return gexp > 0 && gexp < exp ? gexp : exp;
}

static int
emit_event(struct http_req *r, const struct issue_ctx *c, const char *grant_id, struct err *e)
{
	struct porten *app = r->app;
	const char *orgno = c->client->client_orgno;
	struct buf ev;
	struct jsonw w;
	int rc;

	/* Who, which client and organisation, which eID and level; never tokens or pid. */
	buf_init(&ev, STORE_EVENT_MAX);
	jsonw_begin(&w, &ev);
	jsonw_str(&w, "client_id", c->client_id);
	jsonw_str(&w, "client_orgno", orgno);
	jsonw_str(&w, "grant_id", grant_id);
	jsonw_str(&w, "acr", c->grant->acr);
	if (c->grant->amr != NULL)
		jsonw_strs(&w, "amr", &c->grant->amr, 1);
	jsonw_str(&w, "eid", c->grant->eid);
	jsonw_str(&w, "onbehalfof", c->grant->onbehalfof);
	jsonw_int(&w, "time", c->now);
	rc = c->client_id == NULL || grant_id == NULL ? ERR_INVAL : jsonw_end(&w);
	if (rc == 0)
		rc = store_call(app->store, events, event_add, "token_issued", ev.p, e);
	else
		rc = INTERNAL(e, "cannot build event");
	buf_free(&ev);
	return rc;
}

static int store_fail(int rc, struct err *e);

/* The records of an issuance, written together (oauth_tokens_issue). */
struct issue_rec {
	const char *grant_id;
	const char *grant;       /* the stored form of a new grant, JSON text */
	const struct oauth_new_grant *new_grant;
	const char *at_hash;
	const char *at_claims;   /* the access token's claims as JSON text */
	int64_t at_exp;
	const char *rt_hash;     /* NULL: no refresh token */
	const char *rt_jkt;      /* its DPoP key, or NULL */
	int64_t rt_exp;
	const struct oauth_rotate *rot;   /* a refresh: the token spent first, or NULL */
};

struct issue_write {
	struct http_req *r;
	const struct issue_ctx *c;
	const struct issue_rec *w;
	int runs;                /* how often store_tx_run ran the body */
};

/* NULL-safe string equality, for keys that may be absent. */
static bool
same_key(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/*
 * Spend the presented refresh token and store its successor.  A row that
 * changed since the look-up (another client's, another grant, another key)
 * is refused.  ERR_REUSED when it was spent already.
 */
static int
rotate(struct http_req *r, const char *client_id, const struct oauth_rotate *rot, struct err *e)
{
	struct store *st = ((struct porten *)r->app)->store;
	struct store_refresh row = { 0 };
	int rc = store_call(st, oauth, refresh_rotate, rot->old_hash,
			    sha256_b64url(r->arena, str_c(rot->token)), rot->expires_at, rot->jkt,
			    &row, e);

	if (rc == ERR_REUSED)
		rc = ERR(e, ERR_REUSED, 400, OAUTH_INVALID_GRANT,
			 "refresh token already used; the authorization is revoked");
	else if (rc == ERR_NOTFOUND)
		rc = BADGRANT(e, "invalid or expired refresh token");
	else if (rc == 0 && (row.client_id == NULL || strcmp(row.client_id, client_id) != 0 ||
			     row.grant_id == NULL || strcmp(row.grant_id, rot->grant_id) != 0 ||
			     !same_key(row.jkt, rot->old_jkt)))
		rc = BADGRANT(e, "invalid refresh token");
	store_refresh_clear(&row);
	return rc;
}

/*
 * Whether an earlier run of this issuance committed (its COMMIT went
 * through but the answer was lost with the connection): its access token,
 * under a hash only this request knows, is written in the same transaction
 * as everything else, so finding it means all of it was.
 */
static bool
issue_committed(struct store *st, const struct issue_rec *w)
{
	json_t *doc = NULL;
	int rc = store_call(st, oauth, token_get, w->at_hash, &doc, NULL, NULL,
			    &(struct err){ 0 });

	json_decref(doc);
	return rc == 0;
}

static int
issue_write_body(void *arg, struct err *e)
{
	struct issue_write *iw = arg;
	const struct issue_rec *w = iw->w;
	const struct oauth_new_grant *g = w->new_grant;
	struct store *st = ((struct porten *)iw->r->app)->store;
	int rc = 0;

	/*
	 * A second run after a lost COMMIT answer would find the code's grant
	 * written and the refresh token spent, by this very request, and
	 * answer an error or revoke the grant as a reuse (spec §12): the
	 * response, computed before, is sent as it is.
	 */
	if (++iw->runs > 1 && issue_committed(st, w))
		return 0;
	if (w->rot != NULL)
		rc = rotate(iw->r, iw->c->client_id, w->rot, e);
	if (rc == 0 && g != NULL)
		rc = store_call(st, oauth, grant_put, w->grant_id, g->client_id, g->sid, g->login_only,
			      w->grant, g->expires_at, e);
	/* Every access token is recorded so userinfo, introspection and revocation find it. */
	if (rc == 0)
		rc = store_call(st, oauth, token_put, w->at_hash, w->grant_id, w->at_claims, w->at_exp, e);
	if (rc == 0 && w->rt_hash != NULL)
		rc = store_call(st, oauth, refresh_put, w->rt_hash, w->grant_id, iw->c->client_id,
				w->rt_jkt, w->rt_exp, e);
	if (rc == 0)
		rc = emit_event(iw->r, iw->c, w->grant_id, e);
	return rc;
}

/*
 * A code is already spent when this runs (a refresh token is spent in the
 * transaction), so a database that went away in the middle (a restart, a
 * failover, a deadlock) gets one more try on a fresh connection: every
 * value is computed already, and a transaction that committed after all is
 * found as such and not written again.
 */
static int
issue_write(struct http_req *r, const struct issue_ctx *c, const struct issue_rec *w,
	    struct err *e)
{
	struct store *st = ((struct porten *)r->app)->store;
	struct issue_write iw = { r, c, w, 0 };
	int rc = store_tx_run(st, issue_write_body, &iw, e);

	return rc != 0 ? store_fail(rc, e) : 0;
}

int
oauth_tokens_issue(struct http_req *r, const struct issuer *is, const struct client *client,
		   const char *client_amr, const char *grant_id, const struct grant *grant,
		   const struct oauth_new_grant *new_grant, bool with_refresh,
		   const struct oauth_bind *bind, const struct oauth_rotate *rot, struct buf *resp,
		   struct err *e)
{
	struct porten *app = r->app;
	struct issue_ctx c = { .is = is, .client = client, .grant = grant, .now = time_now(),
			       .at_jkt = bind != NULL ? bind->at_jkt : NULL };
	json_t *names = NULL;
	struct buf at_claims, id_claims;
	const char *pid = grant->pid;
	struct buf stored;
	const char *person, *access_token = NULL, *id_token = NULL, *refresh = NULL;
	long long at_life;
	int64_t exp;
	int rc;

	buf_init(&at_claims, CLAIMS_MAX);
	buf_init(&id_claims, CLAIMS_MAX);
	buf_init(&stored, OAUTH_GRANT_TEXT_MAX);
	c.client_id = client->client_id;
	c.scope = grant->scope;
	if (c.client_id == NULL || c.scope == NULL) {
		rc = INTERNAL(e, "grant or client without client_id/scope");
		goto out;
	}
	rc = scopes_load(app, client, c.scope, &names, &c.scope_docs, e);
	if (rc != 0)
		goto out;
	c.scope = scope_join(r->arena, names);
	/* spec §13: a pseudonymising scope removes pid from both tokens. */
	c.pseudonymous = any_scope(c.scope_docs, "requires_pseudonymous_tokens", NULL);
	/*
	 * spec §10: person key = pid, or else the eIDAS identifier, or else
	 * (spec/eudi-wallet.md §7) the one-time key of this login.
	 */
	person = pid != NULL ? pid
		 : grant->eidas_identifier != NULL ? grant->eidas_identifier : grant->onetime_key;
	c.sub = oauth_pairwise_sub(r, c.client_id, person);
	if (c.sub == NULL) {
		rc = INTERNAL(e, "grant without a person");
		goto out;
	}

	/* Access token: spec §11-§12, lifetime capped by every scope's at_max_age. */
	at_life = oauth_scope_cap(client->access_token_lifetime, c.scope_docs, "at_max_age");
	exp = c.now + at_life;
	rc = access_claims(r, &c, client_amr, exp, &at_claims, e);
	if (rc != 0)
		goto out;
	if (any_scope(c.scope_docs, "token_type", "OPAQUE")) {
		/* By reference: resolved through introspection (spec §11). */
		access_token = rand_token(r->arena);
		if (access_token == NULL) {
			rc = INTERNAL(e, "random generator failed");
			goto out;
		}
	} else {
		rc = sign(r, is, &at_claims, "at+jwt", &access_token, e);
		if (rc != 0)
			goto out;
	}
	if (oauth_scope_has(c.scope, "openid")) {
		rc = id_token_claims(r, &c, &id_claims, e);
		if (rc == 0)
			rc = sign(r, is, &id_claims, "JWT", &id_token, e);
		if (rc != 0)
			goto out;
	}

	if (with_refresh && reg_strs_has(&client->grant_types, GT_REFRESH)) {
		/* spec §12: 256-bit random; the store keeps only its hash. */
		refresh = rand_token(r->arena);
		if (refresh == NULL) {
			rc = INTERNAL(e, "random generator failed");
			goto out;
		}
	}

	/* A new grant is stored in today's document form (oauth/grant.c). */
	if (new_grant != NULL && oauth_grant_write(grant, &stored) != 0) {
		rc = INTERNAL(e, "cannot write the grant");
		goto out;
	}
	rc = issue_write(r, &c,
			 &(struct issue_rec){
				 .grant_id = grant_id,
				 .grant = stored.p,
				 .new_grant = new_grant,
				 .at_hash = sha256_b64url(r->arena, str_c(access_token)),
				 .at_claims = at_claims.p,
				 .at_exp = exp,
				 .rt_hash = refresh ? sha256_b64url(r->arena, str_c(refresh)) : NULL,
				 .rt_jkt = bind != NULL ? bind->rt_jkt : NULL,
				 .rt_exp = refresh_expiry(client, grant, c.now),
				 .rot = rot,
			 },
			 e);
	if (rc != 0)
		goto out;
	metrics_inc(METRICS_TOKENS, app_issuer_kind_id(is->kind),
		    new_grant != NULL ? "authorization_code" : "refresh_token");

	{
		const json_t *details = json_object_get(grant->claims, "authorization_details");
		struct jsonw jw;

		jsonw_begin(&jw, resp);
		jsonw_str(&jw, "access_token", access_token);
		jsonw_str(&jw, "token_type", c.at_jkt != NULL ? "DPoP" : "Bearer");
		jsonw_int(&jw, "expires_in", at_life);
		jsonw_str(&jw, "scope", c.scope);
		jsonw_str(&jw, "id_token", id_token);
		jsonw_str(&jw, "refresh_token", refresh);
		/* RFC 9396 §7: the token response names what was authorized. */
		jsonw_tree(&jw, "authorization_details", details);
		/* a refresh's rotated token (then with_refresh is false: refresh is NULL) */
		jsonw_str(&jw, "refresh_token", rot != NULL ? rot->token : NULL);
		if (jsonw_end(&jw) != 0) {
			rc = INTERNAL(e, "cannot build token response");
			goto out;
		}
	}
out:
	json_decref(names);
	json_decref(c.scope_docs);
	buf_free(&at_claims);
	buf_free(&id_claims);
	buf_free(&stored);
	return rc;
}

/* ---- grants ---- */

/* A required form parameter, bounded. */
static int
need(const struct http_req *r, const char *name, size_t max, struct str *v, struct err *e)
{
	int rc = http_param(&r->form, name, v);

	if (rc == ERR_NOTFOUND || (rc == 0 && v->len == 0))
		return BADREQ(e, "missing parameter %s", name);
	if (rc == ERR_DUP)
		return BADREQ(e, "parameter %s given more than once", name);
	if (rc != 0)
		return BADREQ(e, "bad parameter %s", name);
	if (v->len > max)
		return BADREQ(e, "parameter %s too long", name);
	return 0;
}

/* A store failure that is not "no such record" keeps its own error. */
static int
store_fail(int rc, struct err *e)
{
	return e->oauth != NULL ? rc : oauth_store_fail(rc, e);
}

/* RFC 7636 §4.6 and RFC 9700 §4.8.2 (spec §5). */
static int
check_pkce(const struct http_req *r, const struct auth_code *code, struct err *e)
{
	const char *challenge = code->code_challenge;
	struct str verifier;
	int rc = http_param(&r->form, "code_verifier", &verifier);

	if (challenge == NULL) {
		/* A verifier for a code issued without a challenge: a downgrade attempt. */
		if (rc != ERR_NOTFOUND)
			return BADGRANT(e, "code_verifier sent for a code issued without "
					   "code_challenge");
		return 0;
	}
	if (rc != 0)
		return BADGRANT(e, "code_verifier missing");
	if (!oauth_pkce_verifier_valid(verifier))
		return BADGRANT(e, "malformed code_verifier");
	if (!oauth_pkce_verify(verifier, str_c(challenge)))
		return BADGRANT(e, "code_verifier does not match code_challenge");
	return 0;
}

static bool
scopes_login_only(const json_t *names)
{
	const json_t *v;
	size_t i;

	json_array_foreach(names, i, v) {
		const char *s = json_string_value(v);

		if (strcmp(s, "openid") != 0 && strcmp(s, "profile") != 0)
			return false;
	}
	return true;
}

/* spec §19: only clients without client authentication get bound refresh tokens. */
static bool
client_public(const struct client *client)
{
	return strcmp(client->token_endpoint_auth_method, "none") == 0;
}

static int
grant_code(struct http_req *r, const struct issuer *is, const struct client *client,
	   const char *amr, const struct oauth_dpop *dp,
	   struct buf *resp, struct err *e)
{
	struct porten *app = r->app;
	const char *client_id = client->client_id;
	struct str code, redirect_uri;
	json_t *doc = NULL, *names = NULL, *scope_docs = NULL;
	struct auth_code c;
	char *grant_id = NULL;
	const char *hash, *v;
	int64_t now = time_now(), expires;
	long long life;
	int rc;

	if (!reg_strs_has(&client->grant_types, GT_CODE)) {
		rc = UNAUTHZ(e, "client is not registered for the authorization_code grant");
		goto out;
	}
	if ((rc = need(r, "code", CODE_MAX_LEN, &code, e)) != 0 ||
	    (rc = need(r, "redirect_uri", HTTP_MAX_PARAM_VALUE, &redirect_uri, e)) != 0)
		goto out;
	hash = sha256_b64url(r->arena, code);
	rc = store_call(app->store, oauth, code_consume, hash, &doc, &grant_id, e);
	if (rc == ERR_REUSED) {
		/* RFC 6749 §4.1.2, spec §9: revoke what the first use issued. */
		int rc2 = grant_id ? store_call(app->store, oauth, grant_revoke, grant_id, e) : 0;

		if (rc2 != 0 && rc2 != ERR_NOTFOUND)
			log_err(r->rid, "cannot revoke grant of a reused code: %s", err_name(rc2));
		log_warn(r->rid, "authorization code reused by client %s: grant revoked", client_id);
		rc = BADGRANT(e, "authorization code already used");
		goto out;
	}
	if (rc == ERR_NOTFOUND) {
		rc = BADGRANT(e, "invalid or expired authorization code");
		goto out;
	}
	if (rc != 0) {
		rc = store_fail(rc, e);
		goto out;
	}
	rc = oauth_code_decode(doc, &c, e);
	if (rc != 0) {
		rc = INTERNAL(e, "stored code does not decode");
		goto out;
	}
	v = c.g.client_id;
	if (v == NULL || strcmp(v, client_id) != 0) {
		rc = BADGRANT(e, "authorization code was issued to another client");
		goto out;
	}
	/* A code is redeemed only at the issuer that issued it (mix-up, RFC 9700 §4.4). */
	v = c.g.iss;
	if (v == NULL || strcmp(v, is->iss) != 0) {
		rc = BADGRANT(e, "authorization code was issued by another issuer");
		goto out;
	}
	v = c.redirect_uri;
	if (v == NULL || !str_eq(redirect_uri, str_c(v))) {
		rc = BADGRANT(e, "redirect_uri differs from the authorization request");
		goto out;
	}
	rc = check_pkce(r, &c, e);
	if (rc != 0)
		goto out;
	/* spec §19, RFC 9449 §10: a code bound by dpop_jkt needs a proof by that key. */
	if (c.dpop_jkt != NULL && (!dp->present || strcmp(c.dpop_jkt, dp->jkt) != 0)) {
		rc = BADGRANT(e, "the code is bound to a DPoP key and needs a proof made with it");
		goto out;
	}
	if (grant_id == NULL || c.g.scope == NULL) {
		rc = INTERNAL(e, "code without grant id or scope");
		goto out;
	}
	rc = scopes_load(app, client, c.g.scope, &names, &scope_docs, e);
	if (rc != 0)
		goto out;

	/* spec §12: the grant's absolute limit, capped by every scope's authorization_max_age. */
	life = oauth_scope_cap(client->authorization_lifetime, scope_docs,
			       "authorization_max_age");
	expires = now + life;
	/* The grant is the code's, its end kept so refresh can cap its tokens there. */
	c.g.expires_at = expires;
	rc = oauth_tokens_issue(r, is, client, amr, grant_id, &c.g,
				&(struct oauth_new_grant){ .client_id = client_id,
							   .sid = c.g.sid,
							   .login_only = scopes_login_only(names),
							   .expires_at = expires },
				true,
				&(struct oauth_bind){
					.at_jkt = dp->present ? dp->jkt : NULL,
					.rt_jkt = dp->present && client_public(client) ? dp->jkt
										       : NULL },
				NULL, resp, e);
out:
	free(grant_id);
	json_decref(doc);
	json_decref(names);
	json_decref(scope_docs);
	return rc;
}

/* The optional narrower scope of a refresh request (RFC 6749 §6): a subset. */
static int
narrow_scope(struct http_req *r, const char *granted, const char **out, struct err *e)
{
	struct str want;
	json_t *w = NULL, *g = NULL, *keep = NULL, *v;
	const char *wanted;
	size_t i;
	int rc = http_param(&r->form, "scope", &want);

	*out = granted;
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return BADREQ(e, "bad parameter scope");
	if ((rc = scope_split(want, &w, e)) != 0 || (rc = scope_split(str_c(granted), &g, e)) != 0)
		goto out;
	if (json_array_size(w) == 0) {
		rc = BADSCOPE(e, "empty scope");
		goto out;
	}
	json_array_foreach(w, i, v) {
		if (!oauth_scope_has(granted, json_string_value(v))) {
			rc = BADSCOPE(e, "scope %s was not granted", json_string_value(v));
			goto out;
		}
	}
	/* Keep the grant's order: the result is deterministic whatever the request's order. */
	wanted = scope_join(r->arena, w);
	keep = json_array();
	json_array_foreach(g, i, v) {
		if (oauth_scope_has(wanted, json_string_value(v)))
			json_array_append(keep, v);
	}
	*out = scope_join(r->arena, keep);
out:
	json_decref(w);
	json_decref(g);
	json_decref(keep);
	return rc;
}

/*
 * spec §19: the key the new refresh token is bound to.  A bound token
 * needs a proof by its key and stays bound; a public client's unbound one
 * becomes bound by a proof; a client that authenticates is never bound.
 */
static int
refresh_binding(const struct client *client, const char *old_jkt, const struct oauth_dpop *dp,
		const char **rt_jkt, struct err *e)
{
	*rt_jkt = NULL;
	if (old_jkt != NULL) {
		if (!dp->present)
			return BADGRANT(e, "the refresh token is bound to a DPoP key: a proof is needed");
		if (strcmp(old_jkt, dp->jkt) != 0)
			return BADGRANT(e, "the refresh token is bound to another DPoP key");
		*rt_jkt = old_jkt;
	} else if (dp->present && client_public(client)) {
		*rt_jkt = dp->jkt;
	}
	return 0;
}

/*
 * What the login's steps added to the grant (a representation) must still
 * hold at each refresh (spec §21): every step under the issuer checks its
 * own claims.  Ended: invalid_grant; not checkable now: try again later.
 */
static int
refresh_steps_check(struct porten *app, const struct issuer *is, const struct grant *g,
		    struct err *e)
{
	struct service_step_iter it = { 0 };
	const struct login_step *st;
	char why[sizeof(e->msg)];
	int rc = 0;

	if (g->claims == NULL || g->pid == NULL)
		return 0;
	while (rc == 0 && (st = service_step_next(app->services, &it)) != NULL)
		if ((st->issuer_kinds & SERVICE_ISSUER(is->kind)) != 0 && st->refresh_check != NULL)
			rc = st->refresh_check(app, g->pid, g->claims, e);
	if (rc == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", e->msg);
	if (rc == ERR_DENIED)
		return BADGRANT(e, "%s", why);
	return ERR(e, ERR_UNAVAILABLE, 503, OAUTH_TEMPORARILY_UNAVAILABLE, "%s", why);
}

static int
grant_refresh(struct http_req *r, const struct issuer *is, const struct client *client,
	      const char *amr, const struct oauth_dpop *dp,
	      struct buf *resp, struct err *e)
{
	struct porten *app = r->app;
	const char *client_id = client->client_id;
	struct store_refresh old = { 0 };
	json_t *grant = NULL;
	struct grant g = { 0 }, issue;
	struct str token;
	const char *old_hash, *new_token, *scope = NULL, *rt_jkt = NULL;
	int64_t now = time_now(), new_exp;
	int rc;

	if (!reg_strs_has(&client->grant_types, GT_REFRESH)) {
		rc = UNAUTHZ(e, "client is not registered for the refresh_token grant");
		goto out;
	}
	rc = need(r, "refresh_token", REFRESH_MAX_LEN, &token, e);
	if (rc != 0)
		goto out;
	old_hash = sha256_b64url(r->arena, token);
	new_token = rand_token(r->arena);
	if (new_token == NULL) {
		rc = INTERNAL(e, "random generator failed");
		goto out;
	}
	new_exp = now + client->refresh_token_lifetime;

	/*
	 * Look first, without spending, so another client's token is left alone
	 * and every check is made before rotation, which goes with the writing
	 * of the new tokens.  A spent token is not found here and goes on to
	 * rotate, which reports the reuse and revokes the family (spec §12).
	 */
	rc = store_call(app->store, oauth, refresh_get, old_hash, &old, e);
	if (rc == 0) {
		if (old.client_id == NULL || strcmp(old.client_id, client_id) != 0) {
			rc = BADGRANT(e, "refresh token was issued to another client");
			goto out;
		}
		rc = store_call(app->store, oauth, grant_get, old.grant_id, &grant, e);
		if (rc == ERR_NOTFOUND) {
			rc = BADGRANT(e, "the authorization has ended");
			goto out;
		}
		if (rc != 0) {
			rc = store_fail(rc, e);
			goto out;
		}
		if (oauth_grant_decode(grant, &g, e) != 0) {
			rc = INTERNAL(e, "stored grant does not decode");
			goto out;
		}
		/* As codes: refreshed only at the issuer that issued the grant. */
		if (g.iss != NULL && strcmp(g.iss, is->iss) != 0) {
			rc = BADGRANT(e, "refresh token was issued by another issuer");
			goto out;
		}
		rc = narrow_scope(r, g.scope, &scope, e);
		if (rc == 0)
			rc = refresh_binding(client, old.jkt, dp, &rt_jkt, e);
		if (rc == 0)
			rc = refresh_steps_check(app, is, &g, e);
		if (rc != 0)
			goto out;
		new_exp = refresh_expiry(client, &g, now);
	} else if (rc != ERR_NOTFOUND) {
		rc = store_fail(rc, e);
		goto out;
	}

	if (rc == ERR_NOTFOUND) {
		/* Spent (rotation revokes the family, spec §12), or unknown: nothing issued. */
		rc = rotate(r, client_id,
			    &(struct oauth_rotate){ .old_hash = old_hash, .token = new_token,
						    .expires_at = new_exp, .grant_id = "" },
			    e);
		if (rc == ERR_REUSED)
			log_warn(r->rid, "refresh token reused by client %s: grant revoked", client_id);
		if (rc == 0)
			rc = BADGRANT(e, "invalid refresh token");
		goto out;
	}

	/* spec §9: no nonce on refresh; the narrower scope applies to what is issued now. */
	issue = g;
	issue.nonce = NULL;
	issue.scope = scope;
	rc = oauth_tokens_issue(r, is, client, amr, old.grant_id, &issue, NULL, false,
				&(struct oauth_bind){ .at_jkt = dp->present ? dp->jkt : NULL },
				&(struct oauth_rotate){ .old_hash = old_hash, .token = new_token,
							.jkt = rt_jkt, .expires_at = new_exp,
							.grant_id = old.grant_id, .old_jkt = old.jkt },
				resp, e);
	if (rc == ERR_REUSED) {
		/* Spent by a request that raced this one: its revocation went with our rollback. */
		int rc2 = store_call(app->store, oauth, grant_revoke, old.grant_id,
				     &(struct err){ 0 });

		if (rc2 != 0 && rc2 != ERR_NOTFOUND)
			log_err(r->rid, "cannot revoke the grant of a reused refresh token: %s",
				err_name(rc2));
		log_warn(r->rid, "refresh token reused by client %s: grant revoked", client_id);
	}
out:
	store_refresh_clear(&old);
	json_decref(grant);
	return rc;
}

void
oauth_handle_token(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	const struct client *client = NULL;
	struct buf resp;
	const char *amr = NULL;
	struct oauth_dpop dp = { 0 };
	struct str gt;
	struct err e = { 0 };
	int rc;

	buf_init(&resp, TOKEN_RESP_MAX);
	rc = oauth_backchannel_check(r, &e);
	if (rc != 0)
		goto out;
	rc = need(r, "grant_type", 100, &gt, &e);
	if (rc != 0)
		goto out;
	if (!str_eq_c(gt, GT_CODE) && !str_eq_c(gt, GT_REFRESH)) {
		rc = ERR(&e, ERR_INVAL, 400, OAUTH_UNSUPPORTED_GRANT_TYPE,
			 "grant_type must be authorization_code or refresh_token");
		goto out;
	}
	rc = oauth_client_auth(r, is, &client, &amr, &e);
	if (rc != 0)
		goto out;
	if (!reg_client_fits(client, is)) {
		rc = UNAUTHZ(&e, "client is not registered for this issuer");
		goto out;
	}
	/* spec §19: a proof, when the client sends one, binds what is issued. */
	rc = oauth_dpop_check(r, is, "/token", NULL, &dp, &e);
	if (rc != 0)
		goto out;
	if (str_eq_c(gt, GT_CODE))
		rc = grant_code(r, is, client, amr, &dp, &resp, &e);
	else
		rc = grant_refresh(r, is, client, amr, &dp, &resp, &e);
	if (rc != 0)
		goto out;
	http_resp_json_text(w, 200, resp.p, resp.len);
	/* RFC 6749 §5.1. */
	http_resp_header(w, "Cache-Control", "no-store");
	http_resp_header(w, "Pragma", "no-cache");
out:
	if (rc != 0)
		oauth_resp_error(r, w, &e);
	oauth_dpop_nonce_header(r, is, w);
	reg_client_release(client);
	buf_free_secret(&resp);
}
