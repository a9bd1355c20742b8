/*
 * The statistics as JSON for the admin API (spec/billing.md §5): GET
 * /statistics/auth, /statistics/tokens and /statistics/daily under the
 * ID-porten issuer, for a Maskinporten access token with the scope
 * idporten:statistics.read (RFC 6750 bearer).  Query: year=YYYY (the
 * settlement year; default the running one), or from=YYYY-MM-DD and
 * to=YYYY-MM-DD (both days counted).
 */
#include <string.h>

#include "billing/billing_int.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "registry/registry.h"

#define BILL_API_SCOPE "idporten:statistics.read"
#define BILL_API_MAX_ROWS 100000 /* a larger answer: ask for a shorter period */
#define BILL_API_LEEWAY 30

static void
api_error(struct http_resp *w, int status, const char *error, const char *desc)
{
	char h[160];

	if (status == 401 || status == 403) {
		snprintf(h, sizeof(h), "Bearer error=\"%s\", scope=\"" BILL_API_SCOPE "\"", error);
		http_resp_header(w, "WWW-Authenticate", h);
	}
	http_resp_oauth_error(w, status, error, desc);
}

/* True when the space-separated list has the scope. */
static bool
api_scope_has(const char *list, const char *scope)
{
	size_t n = strlen(scope);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && memcmp(p, scope, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* A Maskinporten access token with the statistics scope; 0, or answered. */
static int
api_authorize(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	const struct issuer *mp = app_issuer(app, ISSUER_MASKINPORTEN);
	json_t *jwks = NULL, *claims = NULL;
	struct err e = { 0 };
	struct str tok;
	const char *iss;
	int rc = -1;

	if (http_bearer(r, &tok) != 0) {
		api_error(w, 401, "invalid_request", "a bearer token is required");
		return -1;
	}
	if (mp == NULL || reg_keys_jwks(app, mp, &jwks, &e) != 0) {
		api_error(w, 503, "temporarily_unavailable", "the token issuer is not available");
		goto out;
	}
	if (jose_jwt_verify(tok, jwks, JOSE_ALG_RS256, &claims, &e) != 0 ||
	    jose_jwt_check_times(claims, time_now(), BILL_API_LEEWAY, 0, 1, &e) != 0 ||
	    (iss = json_string_value(json_object_get(claims, "iss"))) == NULL ||
	    strcmp(iss, mp->iss) != 0) {
		api_error(w, 401, "invalid_token", "the token is not valid here");
		goto out;
	}
	if (!api_scope_has(json_string_value(json_object_get(claims, "scope")), BILL_API_SCOPE)) {
		api_error(w, 403, "insufficient_scope", "the token lacks " BILL_API_SCOPE);
		goto out;
	}
	rc = 0;
out:
	json_decref(jwks);
	json_decref(claims);
	return rc;
}

/* The period of the query: year, or from and to; 0, or answered with 400. */
static int
api_period(struct http_req *r, struct http_resp *w, int64_t *a, int64_t *b)
{
	const char *year = http_param_c(&r->query, "year");
	const char *from = http_param_c(&r->query, "from"), *to = http_param_c(&r->query, "to");
	struct err e = { 0 };
	int y = bill_year_of(time_now());

	if (r->bad_input) {
		api_error(w, 400, "invalid_request", r->input_err.msg);
		return -1;
	}
	if ((year != NULL && (from != NULL || to != NULL)) || (from == NULL) != (to == NULL)) {
		api_error(w, 400, "invalid_request", "year, or from and to");
		return -1;
	}
	if (from != NULL) {
		if (bill_date_parse(from, a, &e) != 0 || bill_date_parse(to, b, &e) != 0 ||
		    (*b += 86400) <= *a) {
			api_error(w, 400, "invalid_request",
				  e.msg[0] ? e.msg : "to is before from");
			return -1;
		}
		return 0;
	}
	if ((year != NULL && bill_year_parse(year, &y, &e) != 0) ||
	    bill_year_bounds(y, a, b, &e) != 0) {
		api_error(w, 400, "invalid_request", e.msg);
		return -1;
	}
	return 0;
}

struct api_rows {
	json_t *rows;
	const char *const *keys, *const *counts;
	int nk, nn;
};

static int
api_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	struct api_rows *o = arg;
	json_t *j;

	if (json_array_size(o->rows) >= BILL_API_MAX_ROWS)
		return ERR(e, ERR_LIMIT, 400, "invalid_request",
			   "more than %d rows: ask for a shorter period", BILL_API_MAX_ROWS);
	j = json_object();
	for (int i = 0; j != NULL && i < o->nk; i++)
		json_object_set_new(j, o->keys[i], row->k[i] ? json_string(row->k[i]) : json_null());
	for (int i = 0; j != NULL && i < o->nn; i++)
		json_object_set_new(j, o->counts[i], json_integer(row->n[i]));
	if (j == NULL || json_array_append_new(o->rows, j) != 0)
		return ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
	return 0;
}

static void
api_serve(struct http_req *r, struct http_resp *w, enum store_bill_read what,
	  const char *const *keys, int nk, const char *const *counts, int nn)
{
	struct porten *app = r->app;
	struct api_rows o = { json_array(), keys, counts, nk, nn };
	struct err e = { 0 };
	int64_t a, b;
	char f[16], t[16];
	json_t *out;

	if (api_authorize(r, w) != 0 || api_period(r, w, &a, &b) != 0)
		goto out;
	if (o.rows == NULL ||
	    store_call(app->store, billing, bill_read, what, a, b, api_row, &o, &e) != 0) {
		if (e.code == ERR_LIMIT)
			api_error(w, 400, "invalid_request", e.msg);
		else
			api_error(w, e.code == ERR_UNAVAILABLE ? 503 : 500, "server_error",
				  "the statistics could not be read");
		goto out;
	}
	bill_date_format(a, f, sizeof(f));
	bill_date_format(b - 1, t, sizeof(t));
	out = json_pack("{s:s, s:s, s:O}", "from", f, "to", t, "rows", o.rows);
	http_resp_header(w, "Cache-Control", "no-store");
	http_resp_json(w, 200, out);
	json_decref(out);
out:
	json_decref(o.rows);
}

void
bill_api_auth(struct http_req *r, struct http_resp *w)
{
	static const char *const k[] = { "month", "customer", "client_id", "eid", "acr" };
	static const char *const n[] = { "authentications", "sso_logins", "billable" };

	api_serve(r, w, STORE_BILL_AUTH, k, 5, n, 3);
}

void
bill_api_tokens(struct http_req *r, struct http_resp *w)
{
	static const char *const k[] = { "month", "consumer", "supplier" };
	static const char *const n[] = { "tokens" };

	api_serve(r, w, STORE_BILL_TOKENS, k, 3, n, 1);
}

void
bill_api_daily(struct http_req *r, struct http_resp *w)
{
	static const char *const k[] = { "day" };
	static const char *const n[] = { "authentications", "sso_logins", "tokens" };

	api_serve(r, w, STORE_BILL_DAILY, k, 1, n, 3);
}
