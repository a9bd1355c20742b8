/*
 * The login-history API (spec/selfservice-api.md §11): a person's own
 * logins to the services of the calling organisation, read from the
 * event log.  The caller is a client of that organisation acting with the
 * person's ID-porten access token (scope idporten:user.log.read); the
 * person comes from the token, never from the request.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_int.h"
#include "core/crypto.h"
#include "core/log.h"
#include "registry/client.h"

#define LOG_SCOPE "idporten:user.log.read"
#define LOG_HITS_DEFAULT 100
#define LOG_HITS_MAX 1000

/* spec §11: "YYYY-MM-DDThh:mm:ss" (design: UTC). */
static json_t *
log_time(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char out[32];

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return json_null();
	return json_string(out);
}

/* spec §11: the eID by the name people know it by. */
static const char *
log_eid(const char *eid)
{
	static const char *const names[][2] = {
		{ "minid", "MinID" }, { "testid", "TestID" }, { "bankid", "BankID" },
		{ "buypass", "Buypass" }, { "commfides", "Commfides" }, { "eidas", "eIDAS" },
		{ "wallet", "EU wallet" },
	};

	for (size_t i = 0; eid != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(eid, names[i][0]) == 0)
			return names[i][1];
	return eid;
}

/* The entries of the organisation's services, newest first, at most hits. */
static json_t *
log_entries(const json_t *events, const char *orgno, long long hits)
{
	json_t *out = json_array(), *ev;
	size_t i;

	json_array_foreach(events, i, ev) {
		const char *org = json_string_value(json_object_get(ev, "client_orgno"));

		if (out == NULL || (long long)json_array_size(out) >= hits)
			break;
		if (org == NULL || strcmp(org, orgno) != 0)
			continue;
		if (json_array_append_new(
			    out, json_pack("{s:o, s:O?, s:s?, s:O?, s:s}", "tidspunkt",
					   log_time(json_integer_value(json_object_get(ev, "time"))),
					   "tjeneste", json_object_get(ev, "client_name"), "eid",
					   log_eid(json_string_value(json_object_get(ev, "eid"))),
					   "integrasjon_id",
					   json_object_get(ev, "client_id"), "orgno", org)) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

static int
log_hits(struct http_req *r, long long *hits, struct err *e)
{
	struct str v;
	int rc = http_param(&r->query, "maxhits", &v);

	*hits = LOG_HITS_DEFAULT;
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc != 0 || str_to_ll(v, 1, LOG_HITS_MAX, hits) != 0)
		return ERR(e, ERR_INVAL, 400, "invalid_request", "maxhits must be a number from 1 to %d",
			   LOG_HITS_MAX);
	return 0;
}

/* GET /innlogginger/logg/idporten[?maxhits=N] on the ID-porten issuer. */
void
adm_handle_login_history(struct http_req *r, struct http_resp *w)
{
	const struct issuer *is = r->route_data;
	struct porten *app = r->app;
	const struct client *client = NULL;
	json_t *events = NULL, *out = NULL;
	char tag[APP_PERSON_TAG_LEN];
	struct oauth_bearer b;
	struct err e = { 0 };
	long long hits;
	int rc;

	if (r->bad_input) {
		http_resp_oauth_error(w, 400, "invalid_request", r->input_err.msg);
		return;
	}
	rc = oauth_bearer_check(r, is, NULL, &b, &e);
	if (rc == 0 && !oauth_bearer_has(&b, LOG_SCOPE))
		rc = oauth_bearer_insufficient(&e, LOG_SCOPE);
	if (rc == 0 && b.pid == NULL)
		rc = ERR(&e, ERR_DENIED, 401, OAUTH_INVALID_TOKEN, "the token names no person");
	if (rc != 0) {
		oauth_bearer_refuse(r, w, &e, LOG_SCOPE);
		oauth_bearer_release(&b);
		return;
	}
	rc = log_hits(r, &hits, &e);
	/* Only the caller's organisation's services (spec §11). */
	if (rc == 0)
		rc = reg_client_find(app, b.client_id, &client, &e);
	if (rc == 0 && client->client_orgno == NULL)
		rc = ERR(&e, ERR_DENIED, 403, "access_denied",
			 "the client belongs to no organisation");
	if (rc == 0) {
		app_person_tag(app, b.pid, tag);
		/* The person's newest logins anywhere; the organisation's among them. */
		rc = store_call(app->store, events, event_find, "authentication", "person", tag,
				LOG_HITS_MAX, &events, &e);
	}
	if (rc == 0 && (out = log_entries(events, client->client_orgno, hits)) == NULL)
		rc = ERR(&e, ERR_NOMEM, 500, NULL, "out of memory");
	if (rc == ERR_INVAL || rc == ERR_DENIED) {
		http_resp_oauth_error(w, e.status, e.oauth, e.msg);
	} else if (rc != 0) {
		oauth_resp_error(r, w, &e);
	} else {
		http_resp_json(w, 200, out);
		http_resp_header(w, "Cache-Control", "no-store");
	}
	secure_wipe(tag, sizeof(tag));
	reg_client_release(client);
	json_decref(events);
	json_decref(out);
	oauth_bearer_release(&b);
}
