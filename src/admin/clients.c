/*
 * /clients and /clients/{client_id}[/secret|/jwks] (spec/selfservice-api.md
 * §3, §4, §7).  Every rule, ownership included, is the registry's; a
 * handler picks the scopes its method needs, reads the body and maps the
 * registry's answer to HTTP.
 */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "core/crypto.h"
#include "core/log.h"

static const char *const scopes_read[] = { ADM_DCR_READ, NULL };
static const char *const scopes_write[] = { ADM_DCR_WRITE, NULL };
static const char *const scopes_modify[] = { ADM_DCR_MODIFY, NULL };
/* Spec §3: a key set may be posted by a caller that may create or modify. */
static const char *const scopes_keys[] = { ADM_DCR_MODIFY, ADM_DCR_WRITE, NULL };
/* Spec §2: every dcr scope reads the onbehalfof list; only its own scope changes it. */
static const char *const scopes_obo_read[] = { ADM_DCR_READ, ADM_DCR_MODIFY, ADM_DCR_WRITE,
					       ADM_OBO_WRITE, NULL };
static const char *const scopes_obo_write[] = { ADM_OBO_WRITE, NULL };

static void
secret_free(char *s)
{
	if (s != NULL) {
		secure_wipe(s, strlen(s));
		free(s);
	}
}

/* The client as the API shows it, with a new secret (once) when there is one. */
static void
answer_client(struct adm_call *c, int status, const json_t *doc, const char *secret)
{
	json_t *pub = reg_client_public(doc);

	if (pub == NULL) {
		http_resp_oauth_error(c->w, 500, "server_error", "out of memory");
		return;
	}
	json_object_del(pub, "jwks_posted");
	if (secret != NULL)
		json_object_set_new(pub, "client_secret", json_string(secret));
	adm_json(c, status, pub);
	json_decref(pub);
}

static void
clients_list(struct adm_call *c)
{
	const char *inactive = http_param_c(&c->r->query, "inactive");
	json_t *list = NULL, *d;
	struct err e = { 0 };
	size_t i;
	int rc;

	if (inactive != NULL && strcmp(inactive, "true") != 0 && strcmp(inactive, "false") != 0) {
		rc = ERR(&e, ERR_INVAL, 400, "invalid_request", "inactive must be true or false");
		adm_fail(c, rc, &e);
		return;
	}
	rc = reg_client_list_as(c->app, &c->who, inactive != NULL && strcmp(inactive, "true") == 0,
				&list, &e);
	if (rc != 0) {
		adm_fail(c, rc, &e);
		return;
	}
	json_array_foreach(list, i, d)
		json_object_del(d, "jwks_posted");
	adm_json(c, 200, list);
	json_decref(list);
}

static void
clients_create(struct adm_call *c)
{
	json_t *in = NULL, *out = NULL;
	struct err e = { 0 };
	char *secret = NULL;
	const char *id;
	int rc;

	if (adm_body(c, &in) != 0)
		return;
	rc = reg_client_create_as(c->app, &c->who, in, &out, &secret, &e);
	if (rc != 0) {
		adm_fail(c, rc, &e);
	} else {
		id = json_string_value(json_object_get(out, "client_id"));
		log_info(c->r->rid, "self-service: %s created client %s", c->who.orgno, id);
		http_resp_header(c->w, "Location",
				 arena_printf(c->r->arena, "%s/clients/%s", c->base, id));
		answer_client(c, 201, out, secret);
	}
	secret_free(secret);
	json_decref(in);
	json_decref(out);
}

/* GET /clients (dcr.read), POST /clients (dcr.write; dcr.supplier for another owner). */
void
adm_handle_clients(struct http_req *r, struct http_resp *w)
{
	bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	struct adm_call c;

	if (r->bad_input) {
		http_resp_oauth_error(w, 400, "invalid_request", r->input_err.msg);
		return;
	}
	if (adm_begin(&c, r, w, get ? scopes_read : scopes_write, true) != 0)
		return;
	if (get)
		clients_list(&c);
	else
		clients_create(&c);
	adm_end(&c);
}

static void
client_get(struct adm_call *c, const char *id)
{
	json_t *doc = NULL;
	struct err e = { 0 };
	int rc;

	rc = reg_client_get_as(c->app, &c->who, id, &doc, &e);
	if (rc != 0)
		adm_fail(c, rc, &e);
	else
		answer_client(c, 200, doc, NULL);
	json_decref(doc);
}

static void
client_put(struct adm_call *c, const char *id)
{
	json_t *in = NULL, *out = NULL;
	struct err e = { 0 };
	char *secret = NULL;
	int rc;

	if (adm_body(c, &in) != 0)
		return;
	rc = reg_client_update_as(c->app, &c->who, id, in, &out, &secret, &e);
	if (rc != 0) {
		adm_fail(c, rc, &e);
	} else {
		log_info(c->r->rid, "self-service: %s updated client %s", c->who.orgno, id);
		answer_client(c, 200, out, secret);
	}
	secret_free(secret);
	json_decref(in);
	json_decref(out);
}

static void
client_delete(struct adm_call *c, const char *id)
{
	json_t *doc = NULL;
	struct err e = { 0 };
	int rc;

	rc = reg_client_delete_as(c->app, &c->who, id, &e);
	if (rc == 0)
		rc = reg_client_get_as(c->app, &c->who, id, &doc, &e);
	if (rc != 0) {
		adm_fail(c, rc, &e);
	} else {
		log_info(c->r->rid, "self-service: %s deactivated client %s", c->who.orgno, id);
		answer_client(c, 200, doc, NULL);
	}
	json_decref(doc);
}

static void
client_secret(struct adm_call *c, const char *id)
{
	json_t *o = NULL;
	struct err e = { 0 };
	char *secret = NULL;
	int rc;

	/* The answer is what was written: no read after the commit can lose the secret. */
	rc = reg_client_rotate_secret_as(c->app, &c->who, id, &secret, &o, &e);
	if (rc != 0) {
		adm_fail(c, rc, &e);
	} else {
		log_info(c->r->rid, "self-service: %s rotated the secret of client %s",
			 c->who.orgno, id);
		adm_json(c, 200, o);
	}
	secret_free(secret);
	json_decref(o);
}

static void
client_jwks(struct adm_call *c, const char *id)
{
	json_t *in = NULL, *jwks = NULL;
	struct err e = { 0 };
	int rc;

	if (strcmp(c->r->method, "GET") == 0 || strcmp(c->r->method, "HEAD") == 0) {
		rc = reg_client_jwks_get_as(c->app, &c->who, id, &jwks, &e);
	} else if (strcmp(c->r->method, "DELETE") == 0) {
		rc = reg_client_jwks_delete_as(c->app, &c->who, id, &e);
		if (rc == 0)
			rc = reg_client_jwks_get_as(c->app, &c->who, id, &jwks, &e);
	} else {
		if (adm_body(c, &in) != 0)
			return;
		rc = reg_client_jwks_set_as(c->app, &c->who, id, in, &jwks, &e);
	}
	if (rc != 0) {
		adm_fail(c, rc, &e);
	} else {
		if (strcmp(c->r->method, "GET") != 0 && strcmp(c->r->method, "HEAD") != 0)
			log_info(c->r->rid, "self-service: %s %s the keys of client %s",
				 c->who.orgno, c->r->method, id);
		adm_json(c, 200, jwks);
	}
	json_decref(in);
	json_decref(jwks);
}

/* /clients/{id}/onbehalfof[/{obo}]: the list and one entry (spec §8). */
static void
client_obo(struct adm_call *c, const char *id, const char *obo)
{
	const char *m = c->r->method;
	json_t *in = NULL, *out = NULL;
	struct err e = { 0 };
	int rc, status = 200;

	if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
		if (adm_body(c, &in) != 0)
			return;
	}
	if (obo == NULL && strcmp(m, "POST") == 0) {
		rc = reg_onbehalfof_create_as(c->app, &c->who, id, in, &out, &e);
		status = 201;
	} else if (obo == NULL) {
		rc = reg_onbehalfof_list_as(c->app, &c->who, id, &out, &e);
	} else if (strcmp(m, "PUT") == 0) {
		rc = reg_onbehalfof_update_as(c->app, &c->who, id, obo, in, &out, &e);
	} else if (strcmp(m, "DELETE") == 0) {
		rc = reg_onbehalfof_delete_as(c->app, &c->who, id, obo, &e);
	} else {
		rc = reg_onbehalfof_get_as(c->app, &c->who, id, obo, &out, &e);
	}
	if (rc != 0) {
		adm_fail(c, rc, &e);
	} else {
		if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)
			log_info(c->r->rid, "self-service: %s %s onbehalfof of client %s",
				 c->who.orgno, m, id);
		if (out != NULL) {
			adm_json(c, status, out);
		} else {
			/* Spec §3: DELETE answers 200 with an empty body. */
			http_resp_text(c->w, 200, "");
			http_resp_header(c->w, "Cache-Control", "no-store");
		}
	}
	json_decref(in);
	json_decref(out);
}

enum sub { SUB_CLIENT, SUB_SECRET, SUB_JWKS, SUB_OBO_LIST, SUB_OBO, SUB_NONE };

/*
 * The rest of the path after .../clients/: "{id}", "{id}/secret",
 * "{id}/jwks", "{id}/onbehalfof" or "{id}/onbehalfof/{obo}" (spec §3: the
 * public examples' spelling "onbehalof" too).
 */
static enum sub
parse_rest(struct http_req *r, const char **id, const char **obo)
{
	const struct issuer *is = r->route_data;
	size_t skip = strlen(is->prefix) + strlen(adm_base(r->app)) + strlen("/clients/");
	const char *rest, *slash;

	*id = *obo = NULL;
	if (r->path.len <= skip || r->path.len > skip + 200)
		return SUB_NONE;
	rest = arena_strndup(r->arena, r->path.p + skip, r->path.len - skip);
	slash = strchr(rest, '/');
	if (slash == NULL) {
		*id = rest;
		return SUB_CLIENT;
	}
	*id = arena_strndup(r->arena, rest, (size_t)(slash - rest));
	if (strcmp(slash, "/secret") == 0)
		return SUB_SECRET;
	if (strcmp(slash, "/jwks") == 0)
		return SUB_JWKS;
	for (size_t i = 0; i < 2; i++) {
		const char *seg = i == 0 ? "/onbehalfof" : "/onbehalof";
		size_t n = strlen(seg);

		if (strncmp(slash, seg, n) != 0)
			continue;
		if (slash[n] == '\0')
			return SUB_OBO_LIST;
		if (slash[n] == '/' && slash[n + 1] != '\0' && strchr(slash + n + 1, '/') == NULL) {
			*obo = slash + n + 1;
			return SUB_OBO;
		}
	}
	return SUB_NONE;
}

/* The scopes a method on a sub-resource needs, or NULL when it has no such method. */
static const char *const *
scopes_for(enum sub s, const char *m)
{
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;

	switch (s) {
	case SUB_CLIENT:
		if (get)
			return scopes_read;
		return strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0 ? scopes_modify : NULL;
	case SUB_SECRET:
		return strcmp(m, "POST") == 0 ? scopes_modify : NULL;
	case SUB_JWKS:
		if (get)
			return scopes_read;
		if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0)
			return scopes_keys;
		return strcmp(m, "DELETE") == 0 ? scopes_modify : NULL;
	case SUB_OBO_LIST:
		if (get)
			return scopes_obo_read;
		return strcmp(m, "POST") == 0 ? scopes_obo_write : NULL;
	case SUB_OBO:
		return strcmp(m, "POST") != 0 ? scopes_obo_write : NULL;
	case SUB_NONE:
		break;
	}
	return NULL;
}

/* Everything below /clients/. */
void
adm_handle_client(struct http_req *r, struct http_resp *w)
{
	static const char *const allow[] = { "GET, HEAD, PUT, DELETE", "POST",
					     "GET, HEAD, POST, PUT, DELETE", "GET, HEAD, POST",
					     "GET, HEAD, PUT, DELETE" };
	const char *id, *obo, *const *need;
	enum sub s = parse_rest(r, &id, &obo);
	struct adm_call c;

	if (s == SUB_NONE) {
		http_resp_oauth_error(w, 404, "not_found", "no such resource");
		return;
	}
	need = scopes_for(s, r->method);
	if (need == NULL) {
		c.w = w;
		adm_method_not_allowed(&c, allow[s]);
		return;
	}
	if (r->bad_input) {
		http_resp_oauth_error(w, 400, "invalid_request", r->input_err.msg);
		return;
	}
	/* Spec §2: onbehalfof entries are the parent client's owner's, not a supplier's. */
	if (adm_begin(&c, r, w, need, s != SUB_OBO_LIST && s != SUB_OBO) != 0)
		return;
	if (s == SUB_OBO_LIST || s == SUB_OBO)
		client_obo(&c, id, obo);
	else if (s == SUB_SECRET)
		client_secret(&c, id);
	else if (s == SUB_JWKS)
		client_jwks(&c, id);
	else if (strcmp(r->method, "PUT") == 0)
		client_put(&c, id);
	else if (strcmp(r->method, "DELETE") == 0)
		client_delete(&c, id);
	else
		client_get(&c, id);
	adm_end(&c);
}
