/*
 * The revocation list (spec/selfservice-api.md §10): for a resource server
 * that holds many long-lived access tokens of one client, the tokens of
 * the client's revoked authorizations that have not yet expired, by their
 * jti.  Open, as the spec has it: a token id says nothing without the
 * token, and the list only helps a server refuse what it would otherwise
 * accept.  Served on the ID-porten issuer at /revokelist?client_id=.
 * Newest revocation first, at most STORE_REVOKED_MAX tokens: a list cut
 * there lacks the oldest revocations, never the newest.
 */
#include "admin/admin_int.h"
#include "core/timeutil.h"

/* {"access_token_id", "revoked", "expires"} (epoch ms) of a store row {jti, revoked_at, expires_at}. */
static json_t *
revoked_view(const json_t *row)
{
	return json_pack("{s:O, s:I, s:I}", "access_token_id", json_object_get(row, "jti"),
			 "revoked",
			 (json_int_t)json_integer_value(json_object_get(row, "revoked_at")) * 1000,
			 "expires",
			 (json_int_t)json_integer_value(json_object_get(row, "expires_at")) * 1000);
}

int
adm_revokelist(struct porten *app, const char *client_id, json_t **out, struct err *e)
{
	const struct client *cl = NULL;
	json_t *rows = NULL, *list = NULL;
	size_t i;
	int rc;

	*out = NULL;
	rc = reg_client_find(app, client_id, &cl, e);
	reg_client_release(cl);
	if (rc == 0)
		rc = store_call(app->store, oauth, token_find_revoked, client_id, STORE_REVOKED_MAX,
				&rows, e);
	if (rc == 0 && (list = json_array()) == NULL)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	for (i = 0; rc == 0 && i < json_array_size(rows); i++)
		if (json_array_append_new(list, revoked_view(json_array_get(rows, i))) != 0)
			rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	if (rc == 0 && (*out = json_pack("{s:I, s:O}", "created", (json_int_t)time_now() * 1000,
					 "revoked_access_tokens", list)) == NULL)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	json_decref(list);
	json_decref(rows);
	return rc;
}

void
adm_handle_revokelist(struct http_req *r, struct http_resp *w)
{
	struct adm_call c = { .r = r, .w = w, .app = r->app };
	const char *client_id;
	json_t *out = NULL;
	struct err e = { 0 };
	int rc;

	if (adm_query(&c, "client_id", &client_id) != 0)
		return;
	if (client_id == NULL)
		rc = ERR(&e, ERR_INVAL, 400, "invalid_request", "client_id is required");
	else
		rc = adm_revokelist(c.app, client_id, &out, &e);
	if (rc == 0)
		adm_json(&c, 200, out);
	else
		adm_fail(&c, rc, &e);
	json_decref(out);
}
