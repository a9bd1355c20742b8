/*
 * Maskinporten's token endpoint (spec/maskinporten.md §2, §6, §7): the
 * JWT-bearer grant in, a self-contained access token out.
 */
#include "maskinporten/mp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "core/jsonw.h"
#include "core/timeutil.h"
#include "http/metrics.h"
#include "jose/jose.h"
#include "maskinporten/mp_int.h"
#include "oauth/dpop.h"
#include "registry/registry.h"

/* A token's claims: a few hundred bytes, and the resources asked for. */
#define MP_CLAIMS_MAX (64 * 1024)

/* spec §7: the client's lifetime (120 s unset), capped by the smallest non-zero at_max_age. */
static long long
lifetime(const struct mp_grant *g)
{
	return oauth_scope_cap(g->client->access_token_lifetime, g->scope_docs, "at_max_age");
}

static char *
scope_string(const json_t *names)
{
	size_t n = 1, i, o = 0;
	const json_t *v;
	char *s;

	json_array_foreach(names, i, v)
		n += json_string_length(v) + 1;
	s = malloc(n);
	if (s == NULL)
		return NULL;
	json_array_foreach(names, i, v) {
		if (i > 0)
			s[o++] = ' ';
		memcpy(s + o, json_string_value(v), json_string_length(v));
		o += json_string_length(v);
	}
	s[o] = '\0';
	return s;
}

static int
claims_build(const struct issuer *is, const struct mp_grant *g, const char *scope,
	     int64_t now, int64_t exp, struct buf *out, struct err *e)
{
	char jti[TOKEN_CHARS + 1];
	struct jsonw w;

	if (rand_token_buf(jti) != 0)
		return MP_INTERNAL(e, "cannot build the access token");
	/* spec §7; client_orgno is never emitted (removed 2020). */
	jsonw_begin(&w, out);
	jsonw_str(&w, "iss", is->iss);
	jsonw_str(&w, "client_amr", g->client_amr);
	jsonw_str(&w, "token_type", g->jkt ? "DPoP" : "Bearer");
	jsonw_str(&w, "client_id", g->client_id);
	oauth_claim_org(&w, "consumer", g->consumer);
	if (g->supplier[0] != '\0')
		oauth_claim_org(&w, "supplier", g->supplier);
	jsonw_str(&w, "delegation_source", g->delegation_source);
	/*
	 * spec §7 and §8.1: aud is the requested resource, and nothing else; a
	 * grant without resource gets a token without aud.  One value as a
	 * string, several as an array (RFC 7519 §4.1.3).
	 */
	oauth_claim_aud(&w, g->resource);
	jsonw_str(&w, "pid", g->pid);
	jsonw_str(&w, "scope", scope);
	jsonw_int(&w, "iat", now);
	jsonw_int(&w, "exp", exp);
	jsonw_str(&w, "jti", jti);
	/* RFC 9449 §6.1 */
	oauth_claim_cnf(&w, g->jkt);
	return oauth_claims_end(&w, "access token", e);
}

/* One event per token: who asked, for whom, what (billing.md §2: counted, not billed). */
static int
event_doc(const struct issuer *is, const struct mp_grant *g, const char *scope, int64_t now,
	  struct buf *b)
{
	struct jsonw w;

	if (is->iss == NULL || g->client_id == NULL || scope == NULL ||
	    g->client_amr == NULL)
		return ERR_INVAL;
	jsonw_begin(&w, b);
	jsonw_str(&w, "issuer", is->iss);
	jsonw_str(&w, "client_id", g->client_id);
	jsonw_str(&w, "client_orgno", g->client->client_orgno);
	jsonw_str(&w, "consumer", g->consumer);
	jsonw_str(&w, "supplier", g->supplier[0] ? g->supplier : NULL);
	jsonw_str(&w, "scope", scope);
	jsonw_str(&w, "client_amr", g->client_amr);
	jsonw_str(&w, "delegation_source", g->delegation_source);
	jsonw_int(&w, "time", now);
	return jsonw_end(&w);
}

struct spend {
	struct store *st;
	const struct mp_grant *g;
	const char *ev;          /* the event, JSON text */
};

static int
spend_body(void *arg, struct err *e)
{
	const struct spend *sp = arg;
	int rc = store_call(sp->st, oauth, jti_remember, sp->g->replay_key, sp->g->replay_until, e);

	return rc != 0 ? rc : store_call(sp->st, events, event_add, "maskinporten_token", sp->ev, e);
}

/*
 * spec §5 step 8: spend the grant and count the token, in one commit (one
 * instead of two on the hot path).  After the signature, which may fail
 * (a signing token away): a failed signature then spends no grant and
 * counts no token, and SQLite's write lock is never held while signing.
 * A replay costs a signature before it is refused.  A connection lost in
 * the middle gets one more try on a fresh one, as a token response's
 * records do; if the lost one had committed, the retry answers MP-012.
 */
static int
spend(struct porten *app, const struct issuer *is, const struct mp_grant *g,
      const char *scope, int64_t now, struct err *e)
{
	struct buf ev;
	int rc;

	if (g->replay_key[0] == '\0')
		return MP_INTERNAL(e, "the grant has no replay key");
	buf_init(&ev, STORE_EVENT_MAX);
	if (event_doc(is, g, scope, now, &ev) != 0) {
		buf_free(&ev);
		return MP_INTERNAL(e, "cannot build the event");
	}
	{
		struct spend sp = { app->store, g, ev.p };

		rc = store_tx_run(app->store, spend_body, &sp, e);
	}
	buf_free(&ev);
	if (rc == ERR_EXISTS)
		return MP_BADGRANT(e, "MP-012: the grant has been used before (jti)");
	return rc == 0 ? 0 : oauth_store_fail(rc, e);
}

int
mp_token_issue(struct porten *app, const struct issuer *is, const struct mp_grant *g,
	       int64_t now, json_t **resp, struct err *e)
{
	const struct jose_signer *signer = NULL;
	struct buf claims;
	char *scope = NULL, *jws = NULL;
	long long life = lifetime(g);
	int rc;

	*resp = NULL;
	buf_init(&claims, MP_CLAIMS_MAX);
	scope = scope_string(g->scopes);
	if (scope == NULL) {
		rc = MP_INTERNAL(e, "out of memory");
		goto out;
	}
	rc = claims_build(is, g, scope, now, now + life, &claims, e);
	if (rc != 0)
		goto out;
	rc = reg_keys_signing(app, is, &signer, e);
	if (rc != 0) {
		rc = oauth_store_fail(rc, e);
		goto out;
	}
	/*
	 * spec §7 (design): RS256, typ JWT (no sub or aud for RFC 9068's at+jwt).
	 * The signer's failure as the ID-porten token endpoint answers it: a
	 * token away is 503 temporarily_unavailable, anything else 500.
	 */
	rc = jose_jws_sign(signer, "JWT", NULL, claims.p, claims.len, &jws, e);
	if (rc != 0)
		goto out;
	rc = spend(app, is, g, scope, now, e);
	if (rc != 0)
		goto out;
	/* spec §6: expires_in from the access token's lifetime; no refresh token. */
	metrics_inc(METRICS_TOKENS, app_issuer_kind_id(ISSUER_MASKINPORTEN), "urn:ietf:params:oauth:grant-type:jwt-bearer");
	*resp = json_pack("{s:s, s:s, s:I, s:s}", "access_token", jws, "token_type",
			  g->jkt != NULL ? "DPoP" : "Bearer",
			  "expires_in", (json_int_t)life, "scope", scope);
	if (*resp == NULL)
		rc = MP_INTERNAL(e, "out of memory");
out:
	/* A token signed but not issued (the spend failed) is a credential: wipe it. */
	if (rc != 0 && jws != NULL)
		secure_wipe(jws, strlen(jws));
	buf_free(&claims);
	free(scope);
	free(jws);
	return rc;
}

/* A form parameter given at most once; 1 present, 0 absent. */
static int
form_opt(const struct http_req *r, const char *name, struct str *v)
{
	return http_param(&r->form, name, v) == 0;
}

/* spec §2: the grant is the client's authentication; nothing else is taken. */
static int
no_client_auth(const struct http_req *r, struct err *e)
{
	static const char *const params[] = { "client_secret", "client_assertion",
					      "client_assertion_type", NULL };
	const char *authz = http_header(r, "authorization");
	struct str v;

	for (size_t i = 0; params[i] != NULL; i++)
		if (form_opt(r, params[i], &v))
			return MP_BADREQ(e, "MP-011: %s is not used here: the signed grant "
					    "authenticates the client", params[i]);
	if (authz != NULL && strncasecmp(authz, "Basic", 5) == 0)
		return MP_BADREQ(e, "MP-011: no Basic authentication here: the signed grant "
				    "authenticates the client");
	return 0;
}

void
mp_handle_token(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	struct mp_grant g = { 0 };
	struct oauth_dpop dp = { 0 };
	json_t *resp = NULL;
	struct str gt, assertion;
	struct err e = { 0 };
	int64_t now;
	int rc;

	rc = oauth_backchannel_check(r, &e);
	if (rc != 0) {
		/* spec §5: malformed requests carry MP-011 here too. */
		char why[sizeof(e.msg)];

		memcpy(why, e.msg, sizeof(why));
		why[sizeof(why) - 1] = '\0';
		rc = ERR(&e, rc, e.status, e.oauth, "MP-011: %s", why);
		goto out;
	}
	if (!form_opt(r, "grant_type", &gt) || gt.len == 0) {
		rc = MP_BADREQ(&e, "MP-011: grant_type is required");
		goto out;
	}
	/* RFC 6749 §5.2; spec §2: only the JWT-bearer grant is served. */
	if (!str_eq_c(gt, MP_GRANT_TYPE)) {
		rc = ERR(&e, ERR_INVAL, 400, OAUTH_UNSUPPORTED_GRANT_TYPE,
			 "grant_type must be " MP_GRANT_TYPE);
		goto out;
	}
	rc = no_client_auth(r, &e);
	if (rc != 0)
		goto out;
	if (!form_opt(r, "assertion", &assertion) || assertion.len == 0 ||
	    assertion.len > MP_ASSERTION_MAX) {
		rc = MP_BADREQ(&e, "MP-011: assertion (the signed grant) is required");
		goto out;
	}
	now = time_now();
	rc = mp_grant_validate(r->app, is, assertion, now, &g, &e);
	if (rc == 0)
		r->authenticated_client = arena_strdup(r->arena, g.client_id);
	/* idporten-oidc.md §19: a valid proof binds the token. */
	if (rc == 0)
		rc = oauth_dpop_check(r, is, "/token", NULL, &dp, &e);
	if (rc == 0) {
		g.jkt = dp.present ? dp.jkt : NULL;
		rc = mp_token_issue(r->app, is, &g, now, &resp, &e);
	}
	if (rc != 0)
		goto out;
	http_resp_json(w, 200, resp);
	/* RFC 6749 §5.1 */
	http_resp_header(w, "Cache-Control", "no-store");
	http_resp_header(w, "Pragma", "no-cache");
out:
	if (rc != 0)
		oauth_resp_error(r, w, &e);
	oauth_dpop_nonce_header(r, is, w);
	mp_grant_clear(&g);
	json_decref(resp);
}
