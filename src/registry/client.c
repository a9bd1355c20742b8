/*
 * Client registrations: their life cycle (create, update, deactivate), the
 * client secret and the client's public keys; the rules they must satisfy
 * live in client_rules.c.  The stored doc uses the self-service
 * field names, plus the server-only client_secret_sha256,
 * client_secret_expires_at and jwks_posted (kid -> time each key was posted,
 * spec §7: a key is valid for a year from then).
 *
 * Only the integration types the configured issuers serve are accepted:
 * idporten and api_klient, maskinporten when the Maskinporten issuer runs
 * and ansattporten when the Ansattporten issuer does.  krr belongs to
 * Maskinporten's KRR clients (spec/idporten-oidc.md §3); it is refused
 * here until those exist.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"
#include "registry/client.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

#define BAD(e, ...) ERR((e), ERR_INVAL, 400, REG_INVALID_METADATA, __VA_ARGS__)

static bool
method_uses_secret(const char *m)
{
	return m != NULL && strncmp(m, "client_secret_", 14) == 0;
}

static bool
set_str(json_t *doc, const char *k, const char *v)
{
	return v == NULL || json_object_set_new(doc, k, json_string(v)) == 0;
}

/* A 256-bit secret, clear text to *secret (if wanted), only its hash in doc. */
static int
secret_new(json_t *doc, char **secret, struct err *e)
{
	char clear[TOKEN_CHARS + 1], hash[TOKEN_CHARS + 1];
	int rc = 0;

	if (rand_token_buf(clear) != 0)
		return ERR(e, ERR_CRYPTO, 500, NULL, "no randomness for the client secret");
	sha256_b64url_buf(str_c(clear), hash);
	if (json_object_set_new(doc, "client_secret_sha256", json_string(hash)) != 0 ||
	    json_object_set_new(doc, "client_secret_expires_at",
				json_integer(time_now() + REG_SECRET_LIFETIME)) != 0)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	if (rc == 0 && secret != NULL && (*secret = strdup(clear)) == NULL)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	secure_wipe(clear, sizeof(clear));
	return rc;
}

static void
secret_free(char *s)
{
	if (s != NULL) {
		secure_wipe(s, strlen(s));
		free(s);
	}
}

/* RFC 4122 §4.4 version 4 UUID. */
static int
uuid_v4(char out[37], struct err *e)
{
	unsigned char b[16];

	if (rand_bytes(b, sizeof(b)) != 0)
		return ERR(e, ERR_CRYPTO, 500, NULL, "no randomness for the client_id");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
	return 0;
}

static int
stamp(json_t *doc, const char *field)
{
	char ts[32];

	reg_iso_time(time_now(), ts);
	return json_object_set_new(doc, field, json_string(ts)) == 0 ? 0 : ERR_NOMEM;
}

const struct reg_actor reg_operator = { NULL, true, true };

static bool
orgno_is(const json_t *doc, const char *field, const char *orgno)
{
	const char *v = json_string_value(json_object_get(doc, field));

	return v != NULL && strcmp(v, orgno) == 0;
}

bool
reg_actor_sees(const struct reg_actor *who, const json_t *client)
{
	if (who->orgno == NULL)
		return true;
	return (who->owner && orgno_is(client, "client_orgno", who->orgno)) ||
	       (who->supplier && orgno_is(client, "supplier_orgno", who->orgno));
}

/*
 * A stored client the caller sees, active or not.  Spec §2 (design): one
 * it does not see answers as an unknown one, so ids cannot be probed.
 */
static int
client_get_seen(struct porten *app, const struct reg_actor *who, const char *client_id,
		json_t **doc, struct err *e)
{
	int rc;

	*doc = NULL;
	if (!reg_client_id_valid(client_id))
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such client");
	rc = store_call(app->store, registry, client_get, client_id, doc, e);
	if (rc == 0 && !reg_actor_sees(who, *doc)) {
		json_decref(*doc);
		*doc = NULL;
		rc = ERR_NOTFOUND;
	}
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such client: %s", client_id);
	return rc;
}

/* An inactive client does not exist for callers. */
static int
client_check_active(const char *client_id, const json_t *doc, struct err *e)
{
	if (!json_is_true(json_object_get(doc, "active")))
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such client: %s (deactivated)",
			   client_id);
	return 0;
}

/* Fetch an active client for a change; inactive ones do not exist for callers. */
static int
client_get_active(struct porten *app, const struct reg_actor *who, const char *client_id,
		  json_t **doc, struct err *e)
{
	int rc;

	rc = client_get_seen(app, who, client_id, doc, e);
	if (rc == 0 && (rc = client_check_active(client_id, *doc, e)) != 0) {
		json_decref(*doc);
		*doc = NULL;
	}
	return rc;
}

struct client_edit {
	const struct reg_actor *who;
	const char *client_id;
	reg_client_apply_fn apply;
	void *arg;
	json_t *prev; /* the doc the change that went in was made to */
};

static int
client_edit_fn(const json_t *prev, void *arg, json_t **next, struct err *e)
{
	struct client_edit *ed = arg;
	int rc;

	if (prev == NULL || !reg_actor_sees(ed->who, prev))
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such client: %s", ed->client_id);
	rc = client_check_active(ed->client_id, prev, e);
	if (rc != 0)
		return rc;
	*next = json_deep_copy(prev);
	if (*next == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	rc = ed->apply(prev, *next, ed->arg, e);
	if (rc == 0 && stamp(*next, "last_updated") != 0)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	if (rc == 0) {
		json_decref(ed->prev);
		ed->prev = json_incref((json_t *)prev);
	}
	return rc;
}

int
reg_client_edit_as(struct porten *app, const struct reg_actor *who, const char *client_id,
		   reg_client_apply_fn apply, void *arg, json_t **prev, json_t **out,
		   struct err *e)
{
	struct client_edit ed = { who, client_id, apply, arg, NULL };
	int rc;

	if (prev != NULL)
		*prev = NULL;
	if (out != NULL)
		*out = NULL;
	if (!reg_client_id_valid(client_id))
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such client");
	rc = reg_doc_edit(app, REG_DOC_CLIENT, client_id, client_edit_fn, &ed, out, e);
	if (rc == 0 && prev != NULL)
		*prev = ed.prev;
	else
		json_decref(ed.prev);
	return rc;
}

/*
 * Spec §2 for an organisation's new client: the owner is the caller unless
 * a supplier names another (then the caller is its supplier_orgno), and
 * the server chooses the id.  *own is in with the owner fields set.
 */
static int
create_input(struct porten *app, const struct reg_actor *who, const json_t *in, json_t **own,
	     struct err *e)
{
	const char *org, *sup, *id;
	json_t *prev = NULL;
	bool supplied;
	int rc;

	*own = NULL;
	rc = reg_client_get_text(in, "client_id", REG_CLIENT_ID_MAX, false, &id, e);
	if (rc == 0)
		rc = reg_client_get_text(in, "client_orgno", 16, false, &org, e);
	if (rc == 0)
		rc = reg_client_get_text(in, "supplier_orgno", 16, false, &sup, e);
	if (rc != 0)
		return rc;
	if (id != NULL) {
		/* Spec §9: a POST is never a revival of the caller's deactivated client. */
		if (client_get_seen(app, who, id, &prev, NULL) == 0) {
			json_decref(prev);
			return ERR(e, ERR_EXISTS, 409, REG_INVALID_METADATA,
				   "client %s exists (deactivated clients are not revived)", id);
		}
		return BAD(e, "client_id is chosen by the server");
	}
	if (org == NULL)
		org = who->orgno;
	supplied = strcmp(org, who->orgno) != 0;
	/* Spec §2 (design): only a supplier names another owner; others are refused. */
	if (supplied && !who->supplier)
		return BAD(e, "client_orgno must be your own organisation number (%s)", who->orgno);
	if (!supplied && !who->owner)
		return BAD(e, "client_orgno must name the organisation you supply");
	/* It may only repeat what the server sets. */
	if (sup != NULL && (!supplied || strcmp(sup, who->orgno) != 0))
		return BAD(e, "supplier_orgno is set by the server");
	*own = json_deep_copy(in);
	if (*own == NULL ||
	    json_object_set_new(*own, "client_orgno", json_string(org)) != 0 ||
	    json_object_set_new(*own, "supplier_orgno",
				supplied ? json_string(who->orgno) : json_null()) != 0) {
		json_decref(*own);
		*own = NULL;
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	return 0;
}

int
reg_client_get_active_as(struct porten *app, const struct reg_actor *who,
			 const char *client_id, json_t **doc, struct err *e)
{
	return client_get_active(app, who, client_id, doc, e);
}

int
reg_client_create(struct porten *app, const json_t *in, json_t **out, char **secret,
		  struct err *e)
{
	return reg_client_create_as(app, &reg_operator, in, out, secret, e);
}

int
reg_client_create_as(struct porten *app, const struct reg_actor *who, const json_t *in,
		     json_t **out, char **secret, struct err *e)
{
	json_t *doc = NULL, *own = NULL;
	char *clear = NULL, idbuf[37];
	const char *id, *itype;
	bool ok = true;
	int rc;

	*out = NULL;
	if (secret != NULL)
		*secret = NULL;
	if (!json_is_object(in)) {
		rc = BAD(e, "the registration must be a JSON object");
		goto out;
	}
	rc = reg_client_check_fields(in, e);
	if (rc == 0 && who->orgno != NULL) {
		rc = create_input(app, who, in, &own, e);
		in = own;
	}
	if (rc == 0)
		rc = reg_client_get_text(in, "client_id", REG_CLIENT_ID_MAX, false, &id, e);
	if (rc != 0)
		goto out;
	/* An operator may choose a legacy id; otherwise a UUID (spec §4). */
	if (id != NULL && !reg_client_id_valid(id)) {
		rc = BAD(e, "client_id must be 1-100 characters of [A-Za-z0-9._:-]");
		goto out;
	}
	if (id == NULL) {
		rc = uuid_v4(idbuf, e);
		if (rc != 0)
			goto out;
		id = idbuf;
	}
	rc = reg_client_get_text(in, "integration_type", 32, true, &itype, e);
	if (rc != 0)
		goto out;
	/* Maskinporten's (and KRR's) and Ansattporten's clients exist where their issuer does. */
	if (strcmp(itype, "idporten") != 0 && strcmp(itype, "api_klient") != 0 &&
	    ((strcmp(itype, "maskinporten") != 0 && strcmp(itype, "krr") != 0) ||
	     app_issuer(app, ISSUER_MASKINPORTEN) == NULL) &&
	    (strcmp(itype, "ansattporten") != 0 ||
	     app_issuer(app, ISSUER_ANSATTPORTEN) == NULL)) {
		rc = reg_integration_type_known(itype)
			     ? BAD(e, "integration_type %s is not supported by this issuer", itype)
			     : BAD(e, "unknown integration_type %.32s", itype);
		goto out;
	}
	doc = json_object();
	if (doc == NULL)
		goto nomem;
	ok &= set_str(doc, "client_id", id);
	ok &= set_str(doc, "integration_type", itype);
	if (!ok)
		goto nomem;
	rc = reg_client_build(app, who, in, itype, NULL, doc, e);
	if (rc != 0)
		goto out;
	ok &= json_object_set_new(doc, "active", json_true()) == 0;
	ok &= stamp(doc, "created") == 0;
	ok &= stamp(doc, "last_updated") == 0;
	if (!ok)
		goto nomem;
	if (method_uses_secret(reg_client_str(doc, "token_endpoint_auth_method"))) {
		rc = secret_new(doc, &clear, e);
		if (rc != 0)
			goto out;
	}
	rc = store_call(app->store, registry, client_create, id, doc, e);
	if (rc == ERR_EXISTS)
		rc = ERR(e, ERR_EXISTS, 409, REG_INVALID_METADATA, "client_id %s already exists",
			 id);
	if (rc == 0)
		reg_audit(app, who, "client", id, "create", reg_client_str(doc, "client_orgno"), NULL,
			  doc);
	goto out;
nomem:
	rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
out:
	json_decref(own);
	if (rc != 0) {
		json_decref(doc);
		secret_free(clear);
		return rc;
	}
	*out = doc;
	if (secret != NULL)
		*secret = clear;
	else
		secret_free(clear);
	return 0;
}

/* Spec §2: ownership is not changed through the API; sending it back unchanged is fine. */
static int
owner_kept(const struct reg_actor *who, const json_t *in, const json_t *prev, struct err *e)
{
	static const char *const fields[] = { "client_orgno", "supplier_orgno" };

	if (who->orgno == NULL)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(in, fields[i]);
		const char *was = json_string_value(json_object_get(prev, fields[i]));

		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_string(v) || was == NULL || strcmp(json_string_value(v), was) != 0)
			return BAD(e, "%s cannot be changed", fields[i]);
	}
	return 0;
}

int
reg_client_update_ex(struct porten *app, const char *client_id, const json_t *in, json_t **out,
		     char **secret, struct err *e)
{
	return reg_client_update_as(app, &reg_operator, client_id, in, out, secret, e);
}

struct client_update {
	struct porten *app;
	const struct reg_actor *who;
	const char *client_id;
	const json_t *in;
	char *clear; /* the new secret, when this update made one */
};

/* The registration as sent, on what the server keeps of prev. */
static int
update_apply(const json_t *prev, json_t *doc, void *arg, struct err *e)
{
	struct client_update *u = arg;
	const json_t *in = u->in;
	json_t *v;
	const char *itype, *method;
	bool ok = true;
	int rc;

	secret_free(u->clear);
	u->clear = NULL;
	json_object_clear(doc);
	if (!json_is_object(in))
		return BAD(e, "the registration must be a JSON object");
	rc = reg_client_check_fields(in, e);
	if (rc == 0)
		rc = owner_kept(u->who, in, prev, e);
	if (rc != 0)
		return rc;
	v = json_object_get(in, "client_id");
	if (v != NULL && !json_is_null(v) &&
	    (!json_is_string(v) || strcmp(json_string_value(v), u->client_id) != 0))
		return BAD(e, "client_id cannot be changed");
	itype = reg_client_str(prev, "integration_type");
	v = json_object_get(in, "integration_type");
	if (itype == NULL)
		return ERR(e, ERR_INTERNAL, 500, NULL, "stored client %s has no integration_type",
			   u->client_id);
	/* Spec §6.1: integration_type is immutable. */
	if (v != NULL && !json_is_null(v) &&
	    (!json_is_string(v) || strcmp(json_string_value(v), itype) != 0))
		return BAD(e, "integration_type cannot be changed");
	ok &= set_str(doc, "client_id", u->client_id);
	ok &= set_str(doc, "integration_type", itype);
	if (!ok)
		goto nomem;
	rc = reg_client_build(u->app, u->who, in, itype, prev, doc, e);
	if (rc != 0)
		return rc;
	ok &= json_object_set(doc, "active", json_object_get(prev, "active")) == 0;
	/* The sub-registrations are managed on their own resource (spec §8). */
	if (json_object_get(prev, "onbehalfof") != NULL)
		ok &= json_object_set(doc, "onbehalfof", json_object_get(prev, "onbehalfof")) == 0;
	if (json_object_get(prev, "created") != NULL)
		ok &= json_object_set(doc, "created", json_object_get(prev, "created")) == 0;
	if (!ok)
		goto nomem;

	/*
	 * Spec §6.3: moving away from client_secret_* deletes the secret (it is
	 * simply not carried over); moving to it makes one; other updates
	 * never reset it.
	 */
	method = reg_client_str(doc, "token_endpoint_auth_method");
	if (!method_uses_secret(method))
		return 0;
	if (!json_is_string(json_object_get(prev, "client_secret_sha256")))
		return secret_new(doc, &u->clear, e);
	{
		static const char *const keep[] = { "client_secret_sha256",
						    "client_secret_expires_at" };

		for (size_t i = 0; i < 2; i++)
			ok &= json_object_set(doc, keep[i], json_object_get(prev, keep[i])) == 0;
	}
	if (ok)
		return 0;
nomem:
	return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

int
reg_client_update_as(struct porten *app, const struct reg_actor *who, const char *client_id,
		     const json_t *in, json_t **out, char **secret, struct err *e)
{
	struct client_update u = { app, who, client_id, in, NULL };
	json_t *prev = NULL;
	int rc;

	if (secret != NULL)
		*secret = NULL;
	rc = reg_client_edit_as(app, who, client_id, update_apply, &u, &prev, out, e);
	if (rc != 0) {
		secret_free(u.clear);
		return rc;
	}
	reg_audit(app, who, "client", client_id, "update", reg_client_str(*out, "client_orgno"),
		  prev, *out);
	json_decref(prev);
	if (secret != NULL)
		*secret = u.clear;
	else
		secret_free(u.clear);
	return 0;
}

int
reg_client_update(struct porten *app, const char *client_id, const json_t *in, json_t **out,
		  struct err *e)
{
	return reg_client_update_ex(app, client_id, in, out, NULL, e);
}

int
reg_client_delete(struct porten *app, const char *client_id, struct err *e)
{
	return reg_client_delete_as(app, &reg_operator, client_id, e);
}

static int
deactivate_apply(const json_t *prev, json_t *doc, void *arg, struct err *e)
{
	(void)prev;
	(void)arg;
	if (json_object_set_new(doc, "active", json_false()) != 0)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	return 0;
}

/* Spec §3 and §9: DELETE deactivates; the row stays for logs and statistics. */
int
reg_client_delete_as(struct porten *app, const struct reg_actor *who, const char *client_id,
		     struct err *e)
{
	json_t *doc = NULL;
	int rc;

	rc = reg_client_edit_as(app, who, client_id, deactivate_apply, NULL, NULL, &doc, e);
	if (rc == 0)
		reg_audit(app, who, "client", client_id, "deactivate",
			  reg_client_str(doc, "client_orgno"), NULL, doc);
	json_decref(doc);
	return rc;
}

int
reg_client_rotate_secret(struct porten *app, const char *client_id, char **secret,
			 struct err *e)
{
	return reg_client_rotate_secret_as(app, &reg_operator, client_id, secret, NULL, e);
}

static int
rotate_apply(const json_t *prev, json_t *doc, void *arg, struct err *e)
{
	char **clear = arg;

	secret_free(*clear);
	*clear = NULL;
	if (!method_uses_secret(reg_client_str(prev, "token_endpoint_auth_method")))
		return BAD(e, "client %s does not authenticate with a client secret",
			   reg_client_str(prev, "client_id"));
	return secret_new(doc, clear, e);
}

int
reg_client_rotate_secret_as(struct porten *app, const struct reg_actor *who,
			    const char *client_id, char **secret, json_t **answer,
			    struct err *e)
{
	json_t *doc = NULL;
	char *clear = NULL;
	int rc;

	*secret = NULL;
	if (answer != NULL)
		*answer = NULL;
	rc = reg_client_edit_as(app, who, client_id, rotate_apply, &clear, NULL, &doc, e);
	if (rc == 0)
		reg_audit(app, who, "client", client_id, "rotate-secret",
			  reg_client_str(doc, "client_orgno"), NULL, NULL);
	if (rc == 0 && answer != NULL &&
	    (*answer = json_pack("{s:s, s:s, s:O?}", "client_id", client_id, "client_secret",
				 clear, "client_secret_expires_at",
				 json_object_get(doc, "client_secret_expires_at"))) == NULL)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	json_decref(doc);
	if (rc != 0)
		secret_free(clear);
	else
		*secret = clear;
	return rc;
}

struct add_key {
	const struct cfg *cfg;
	const json_t *set; /* {"keys": [...]}, each key checked */
};

/* The keys join the client's set, or restart their year when posted again (spec §7). */
static int
add_key_apply(const json_t *prev, json_t *doc, void *arg, struct err *e)
{
	const struct add_key *ak = arg;
	json_t *jwks = NULL, *keys, *posted = NULL, *k, *n;
	size_t i, j;
	int rc;

	/* Keys locked to a certificate: the certificates are judged now (spec §7). */
	rc = reg_key_set_lock_check(ak->cfg, ak->set, reg_client_str(prev, "client_orgno"),
				    time_now(), e);
	if (rc != 0)
		return rc;
	jwks = json_deep_copy(json_object_get(prev, "jwks"));
	if (jwks == NULL)
		jwks = json_pack("{s:[]}", "keys");
	posted = json_deep_copy(json_object_get(prev, "jwks_posted"));
	if (posted == NULL)
		posted = json_object();
	keys = json_object_get(jwks, "keys");
	if (!json_is_array(keys) || posted == NULL) {
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		goto out;
	}
	json_array_foreach(json_object_get(ak->set, "keys"), j, n) {
		const char *kid = json_string_value(json_object_get(n, "kid"));
		bool known = false;

		json_array_foreach(keys, i, k) {
			if (strcmp(json_string_value(json_object_get(k, "kid")), kid) != 0)
				continue;
			/* Spec §7: posting the same key again restarts its year. */
			if (!json_equal(k, n)) {
				rc = ERR(e, ERR_EXISTS, 409, REG_INVALID_METADATA,
					 "the client already has another key with kid %s", kid);
				goto out;
			}
			known = true;
		}
		if ((!known && json_array_append_new(keys, json_deep_copy(n)) != 0) ||
		    json_object_set_new(posted, kid, json_integer(time_now())) != 0) {
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
			goto out;
		}
	}
	rc = reg_client_check_key_set(jwks, e);
	if (rc != 0)
		goto out;
	if (json_object_set(doc, "jwks", jwks) != 0 || json_object_set(doc, "jwks_posted", posted) != 0)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
out:
	json_decref(jwks);
	json_decref(posted);
	return rc;
}

/*
 * Every key is judged, alone, with the others and with the client's own,
 * before the one write: a file with one bad key adds none.
 */
int
reg_client_add_key(struct porten *app, const char *client_id, const json_t *jwk,
		   struct err *e)
{
	struct add_key ak = { app->cfg, NULL };
	json_t *set = NULL, *doc = NULL;
	int rc;

	/* Unknown clients are unknown before the keys are judged. */
	rc = client_get_active(app, &reg_operator, client_id, &doc, e);
	json_decref(doc);
	doc = NULL;
	if (rc != 0)
		return rc;
	if (json_is_object(jwk) && json_object_get(jwk, "keys") == NULL) {
		rc = reg_client_check_jwk(jwk, e);
		if (rc == 0 && (set = json_pack("{s:[O]}", "keys", jwk)) == NULL)
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	if (set == NULL && rc == 0)
		rc = reg_client_jwks_from(jwk, &set, e);
	ak.set = set;
	if (rc == 0)
		rc = reg_client_edit_as(app, &reg_operator, client_id, add_key_apply, &ak, NULL,
					&doc, e);
	if (rc == 0)
		reg_audit(app, &reg_operator, "keys", client_id, "add",
			  reg_client_str(doc, "client_orgno"), NULL, set);
	json_decref(doc);
	json_decref(set);
	return rc;
}

int
reg_client_jwks_get_as(struct porten *app, const struct reg_actor *who,
		       const char *client_id, json_t **jwks, struct err *e)
{
	json_t *doc = NULL, *keys;
	int rc;

	*jwks = NULL;
	rc = client_get_active(app, who, client_id, &doc, e);
	if (rc != 0)
		return rc;
	keys = json_object_get(json_object_get(doc, "jwks"), "keys");
	*jwks = json_is_array(keys) ? json_pack("{s:O}", "keys", keys) : json_pack("{s:[]}", "keys");
	json_decref(doc);
	return *jwks != NULL ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

struct jwks_set {
	const struct cfg *cfg;
	const json_t *jwks;
};

static int
jwks_apply(const json_t *prev, json_t *doc, void *arg, struct err *e)
{
	const struct jwks_set *js = arg;
	json_t *posted, *k;
	size_t i;
	bool ok = true;
	int rc;

	if (js->jwks == NULL) {
		json_object_del(doc, "jwks");
		json_object_del(doc, "jwks_posted");
		return 0;
	}
	rc = reg_key_set_lock_check(js->cfg, js->jwks, reg_client_str(prev, "client_orgno"),
				    time_now(), e);
	if (rc != 0)
		return rc;
	/* Posting a key again, identical or not, starts its year anew. */
	posted = json_object();
	ok &= posted != NULL;
	json_array_foreach(json_object_get(js->jwks, "keys"), i, k)
		ok &= json_object_set_new(posted, json_string_value(json_object_get(k, "kid")),
					  json_integer(time_now())) == 0;
	ok &= json_object_set(doc, "jwks", (json_t *)js->jwks) == 0;
	ok &= json_object_set_new(doc, "jwks_posted", posted) == 0;
	return ok ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

/* Replace the client's keys with jwks (NULL: none), each posted now (spec §7). */
static int
jwks_store(struct porten *app, const struct reg_actor *who, const char *client_id,
	   const json_t *jwks, struct err *e)
{
	struct jwks_set js = { app->cfg, jwks };
	json_t *doc = NULL;
	int rc;

	rc = reg_client_edit_as(app, who, client_id, jwks_apply, &js, NULL, &doc, e);
	if (rc == 0)
		reg_audit(app, who, "keys", client_id, jwks != NULL ? "replace" : "delete",
			  reg_client_str(doc, "client_orgno"), NULL, jwks);
	json_decref(doc);
	return rc;
}

int
reg_client_jwks_set_as(struct porten *app, const struct reg_actor *who,
		       const char *client_id, const json_t *body, json_t **jwks, struct err *e)
{
	json_t *set = NULL, *doc = NULL;
	int rc;

	if (jwks != NULL)
		*jwks = NULL;
	/* Unknown clients are unknown before the body is judged. */
	rc = client_get_active(app, who, client_id, &doc, e);
	json_decref(doc);
	if (rc == 0)
		rc = reg_client_jwks_from(body, &set, e);
	if (rc == 0)
		rc = jwks_store(app, who, client_id, set, e);
	if (rc == 0 && jwks != NULL)
		*jwks = json_incref(set);
	json_decref(set);
	return rc;
}

int
reg_client_jwks_delete_as(struct porten *app, const struct reg_actor *who,
			  const char *client_id, struct err *e)
{
	return jwks_store(app, who, client_id, NULL, e);
}

json_t *
reg_client_public(const json_t *doc)
{
	json_t *c = json_deep_copy(doc);

	if (c != NULL) {
		json_object_del(c, "client_secret_sha256");
		json_object_del(c, "rev");
	}
	return c;
}

int
reg_client_load(struct porten *app, const char *client_id, json_t **doc, struct err *e)
{
	int rc;

	*doc = NULL;
	if (!reg_client_id_valid(client_id))
		return ERR(e, ERR_NOTFOUND, 0, "invalid_client", "unknown client");
	rc = reg_cache_get(app, 'c', client_id, doc, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 0, "invalid_client", "unknown client");
	if (rc != 0)
		return rc;
	if (!json_is_true(json_object_get(*doc, "active"))) {
		json_decref(*doc);
		*doc = NULL;
		return ERR(e, ERR_NOTFOUND, 0, "invalid_client", "unknown client");
	}
	return 0;
}

/*
 * The stored hash and expiry against a presented secret, in constant time.
 * Spec §6.3 (design): an expired secret is refused; a secret always has an
 * expiry (0, none stored, refuses).
 */
bool
reg_client_secret_matches(const struct client *c, struct str secret)
{
	char hash[TOKEN_CHARS + 1];
	bool ok;

	if (c->client_secret_sha256 == NULL || secret.p == NULL || secret.len == 0 ||
	    secret.len > 1024)
		return false;
	if (c->client_secret_expires_at <= time_now())
		return false;
	sha256_b64url_buf(secret, hash);
	ok = ct_str_eq(str_c(hash), str_c(c->client_secret_sha256));
	secure_wipe(hash, sizeof(hash));
	return ok;
}

int
reg_client_find(struct porten *app, const char *client_id, const struct client **out,
		struct err *e)
{
	int rc;

	*out = NULL;
	if (!reg_client_id_valid(client_id))
		return ERR(e, ERR_NOTFOUND, 0, "invalid_client", "unknown client");
	rc = reg_cache_client(app, client_id, out, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 0, "invalid_client", "unknown client");
	if (rc != 0)
		return rc;
	if (!(*out)->active) {
		reg_client_release(*out);
		*out = NULL;
		return ERR(e, ERR_NOTFOUND, 0, "invalid_client", "unknown client");
	}
	return 0;
}

const char *
reg_client_str(const json_t *doc, const char *field)
{
	return json_string_value(json_object_get(doc, field));
}

long long
reg_client_int(const json_t *doc, const char *field, long long dflt)
{
	json_t *v = json_object_get(doc, field);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

bool
reg_client_bool(const json_t *doc, const char *field)
{
	return json_is_true(json_object_get(doc, field));
}

int
reg_client_get(struct porten *app, const char *client_id, json_t **doc, struct err *e)
{
	return reg_client_get_as(app, &reg_operator, client_id, doc, e);
}

int
reg_client_get_as(struct porten *app, const struct reg_actor *who, const char *client_id,
		  json_t **doc, struct err *e)
{
	json_t *stored = NULL;
	int rc;

	*doc = NULL;
	rc = client_get_seen(app, who, client_id, &stored, e);
	if (rc != 0)
		return rc;
	*doc = reg_client_public(stored);
	json_decref(stored);
	return *doc ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

int
reg_client_list(struct porten *app, bool include_inactive, json_t **list, struct err *e)
{
	return reg_client_list_as(app, &reg_operator, include_inactive, list, e);
}

int
reg_client_list_as(struct porten *app, const struct reg_actor *who, bool include_inactive,
		   json_t **list, struct err *e)
{
	json_t *docs = NULL, *out = NULL, *d;
	size_t i;
	int rc;

	*list = NULL;
	rc = store_call(app->store, registry, client_list, &docs, e);
	if (rc != 0)
		return rc;
	out = json_array();
	if (out == NULL)
		goto nomem;
	json_array_foreach(docs, i, d) {
		if ((!include_inactive && !json_is_true(json_object_get(d, "active"))) ||
		    !reg_actor_sees(who, d))
			continue;
		if (json_array_append_new(out, reg_client_public(d)) != 0)
			goto nomem;
	}
	json_decref(docs);
	*list = out;
	return 0;
nomem:
	json_decref(docs);
	json_decref(out);
	return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

static bool
type_fits_issuer(const char *t, const struct issuer *is)
{
	if (t == NULL)
		return false;
	switch (is->kind) {
	case ISSUER_IDPORTEN:
		return strcmp(t, "idporten") == 0 || strcmp(t, "api_klient") == 0;
	case ISSUER_ANSATTPORTEN:
		return strcmp(t, "ansattporten") == 0;
	case ISSUER_MASKINPORTEN:
		/* spec/maskinporten.md §5 step 9: the types Maskinporten serves */
		return strcmp(t, "maskinporten") == 0 || strcmp(t, "krr") == 0 ||
		       strcmp(t, "eformidling") == 0;
	}
	return false;
}

bool
reg_client_fits(const struct client *c, const struct issuer *is)
{
	return type_fits_issuer(c->integration_type, is);
}
