/*
 * MinID accounts (spec/minid.md §7 states, §5 operator block): the record,
 * its creation by operators and activation, and the view without secrets.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"
#include "eid/minid/minid_int.h"
#include "eid/people.h"
#include "sms/sms.h"

const char minid_not_unique[] =
	"MinID cannot be issued to this number: the National Population Register knows you "
	"under another number. Use that number, or contact the MinID support.";

int
minid_unique_ok(struct porten *app, const char *pid, struct err *e)
{
	bool unique = true;
	int rc;

	if (!app->cfg->minid_unique_identity)
		return 0;
	rc = people_unique(app, pid, &unique, e);
	if (rc == 0 && !unique)
		rc = ERR(e, ERR_DENIED, 403, NULL, "%s", minid_not_unique);
	return rc;
}

bool
minid_static_otc_allowed(const struct porten *app, const char *pid)
{
	struct natid_info info;

	/* §8: only in TEST, only when switched on, only for synthetic ids (month 81-92). */
	if (!app->test_env || app->cfg->env != CFG_ENV_TEST || !app->cfg->minid_static_otc ||
	    pid == NULL)
		return false;
	if (natid_parse(str_c(pid), natid_2032_on(app->cfg->natid_allow_2032), &info) != NATID_OK)
		return false;
	return (info.flags & NATID_SYNTHETIC) != 0;
}

/* ---- the record ---- */

static const char *const status_names[] = {
	[MINID_ST_PENDING_ACTIVATION] = "PENDING_ACTIVATION",
	[MINID_ST_ACTIVE] = "ACTIVE",
	[MINID_ST_LOCKED] = "LOCKED",
	[MINID_ST_CLOSED] = "CLOSED",
};
#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *
minid_status_name(enum minid_status st)
{
	if ((size_t)st < N_STATUS && status_names[st] != NULL)
		return status_names[st];
	return "UNKNOWN";
}

/* The string and time fields by key: one table for decode, encode, clear and display. */
static const struct {
	const char *key;
	size_t off;
} str_fields[] = {
	{ "pwhash", offsetof(struct minid_account, pwhash) },
	{ "mobile", offsetof(struct minid_account, mobile) },
	{ "totp", offsetof(struct minid_account, totp) },
	{ "lock_reason", offsetof(struct minid_account, lock_reason) },
},
  time_fields[] = {
	{ "created", offsetof(struct minid_account, created) },
	{ "updated", offsetof(struct minid_account, updated) },
	{ "activated", offsetof(struct minid_account, activated) },
	{ "pw_changed", offsetof(struct minid_account, pw_changed) },
	{ "last_login", offsetof(struct minid_account, last_login) },
};
#define N_STR (sizeof(str_fields) / sizeof(str_fields[0]))
#define N_TIME (sizeof(time_fields) / sizeof(time_fields[0]))
#define STR_AT(a, i) ((char **)((char *)(a) + str_fields[i].off))
#define CSTR_AT(a, i) (*(char *const *)((const char *)(a) + str_fields[i].off))
#define TIME_AT(a, i) ((int64_t *)((char *)(a) + time_fields[i].off))
#define CTIME_AT(a, i) (*(const int64_t *)((const char *)(a) + time_fields[i].off))

int
minid_account_set(char **field, const char *v)
{
	char *c = NULL;

	if (v != NULL && (c = strdup(v)) == NULL)
		return -1;
	if (*field != NULL)
		secure_wipe(*field, strlen(*field));
	free(*field);
	*field = c;
	return 0;
}

void
minid_account_clear(struct minid_account *a)
{
	for (size_t i = 0; i < N_STR; i++)
		minid_account_set(STR_AT(a, i), NULL);
	json_decref(a->rest);
	memset(a, 0, sizeof(*a));
}

static int
account_decode_status(const json_t *v, struct minid_account *a, struct err *e)
{
	const char *s = json_string_value(v);

	if (v == NULL)
		return 0;
	for (size_t i = 0; s != NULL && i < N_STATUS; i++)
		if (status_names[i] != NULL && strcmp(s, status_names[i]) == 0) {
			a->status = (enum minid_status)i;
			return 0;
		}
	return ERR(e, ERR_INVAL, 500, NULL, "MinID account: unknown status");
}

int
minid_account_decode(const json_t *doc, struct minid_account *a, struct err *e)
{
	const char *pid = json_string_value(json_object_get(doc, "pid"));
	const json_t *blocked = json_object_get(doc, "blocked");
	size_t i;

	memset(a, 0, sizeof(*a));
	if (!json_is_object(doc) || pid == NULL || strlen(pid) != 11)
		return ERR(e, ERR_INVAL, 500, NULL, "MinID account: no pid");
	memcpy(a->pid, pid, sizeof(a->pid));
	if (blocked != NULL && !json_is_boolean(blocked))
		return ERR(e, ERR_INVAL, 500, NULL, "MinID account: blocked is not a boolean");
	a->blocked = json_is_true(blocked);
	if (account_decode_status(json_object_get(doc, "status"), a, e) != 0)
		return e->code;
	for (i = 0; i < N_STR; i++) {
		const json_t *v = json_object_get(doc, str_fields[i].key);

		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_string(v))
			goto wrong;
		if (minid_account_set(STR_AT(a, i), json_string_value(v)) != 0)
			goto nomem;
	}
	for (i = 0; i < N_TIME; i++) {
		const json_t *v = json_object_get(doc, time_fields[i].key);

		if (v == NULL)
			continue;
		if (!json_is_integer(v))
			goto wrong;
		*TIME_AT(a, i) = json_integer_value(v);
	}
	/* Whatever else the document holds goes back as it came. */
	if ((a->rest = json_deep_copy(doc)) == NULL)
		goto nomem;
	for (const char *const *k = (const char *const[]){ "pid", "status", "blocked", NULL }; *k;
	     k++)
		json_object_del(a->rest, *k);
	for (i = 0; i < N_STR; i++)
		json_object_del(a->rest, str_fields[i].key);
	for (i = 0; i < N_TIME; i++)
		json_object_del(a->rest, time_fields[i].key);
	return 0;
wrong:
	minid_account_clear(a);
	return ERR(e, ERR_INVAL, 500, NULL, "MinID account: a field has the wrong type");
nomem:
	minid_account_clear(a);
	return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

json_t *
minid_account_encode(const struct minid_account *a)
{
	json_t *doc = a->rest != NULL ? json_deep_copy(a->rest) : json_object();
	int bad = doc == NULL;
	size_t i;

	if (!bad)
		bad |= json_object_set_new(doc, "pid", json_string(a->pid));
	if (!bad && a->status != MINID_ST_NONE)
		bad |= json_object_set_new(doc, "status", json_string(minid_status_name(a->status)));
	if (!bad)
		bad |= json_object_set_new(doc, "blocked", json_boolean(a->blocked));
	for (i = 0; !bad && i < N_STR; i++)
		if (CSTR_AT(a, i) != NULL)
			bad |= json_object_set_new(doc, str_fields[i].key, json_string(CSTR_AT(a, i)));
	for (i = 0; !bad && i < N_TIME; i++)
		if (CTIME_AT(a, i) != 0)
			bad |= json_object_set_new(doc, time_fields[i].key,
						   json_integer(CTIME_AT(a, i)));
	if (bad) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* ---- the stored account ---- */

int
minid_account_get(struct porten *app, const char *pid, struct minid_account *a, struct err *e)
{
	json_t *doc = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	if (pid == NULL || strlen(pid) != 11)
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such MinID");
	rc = store_call(app->store, minid, doc_get, MINID_K_ACCOUNT, pid, &doc, e);
	if (rc == 0)
		rc = minid_account_decode(doc, a, e);
	json_decref(doc);
	return rc;
}

int
minid_account_save(struct porten *app, struct minid_account *a, struct err *e)
{
	json_t *doc;
	int rc;

	a->updated = time_now();
	if ((doc = minid_account_encode(a)) == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	rc = store_call(app->store, minid, doc_update, MINID_K_ACCOUNT, a->pid, doc, e);
	if (rc == ERR_NOTFOUND)
		rc = store_call(app->store, minid, doc_put, MINID_K_ACCOUNT, a->pid, doc, MINID_FOREVER, e);
	json_decref(doc);
	return rc;
}

int
minid_account_create(struct porten *app, const char *pid, const char *password,
		     const char *mobile, bool replace, struct err *e)
{
	char e164[SMS_MAX_TO + 1];
	enum minid_pw_problem pw;
	struct minid_account a = { .status = MINID_ST_ACTIVE };
	json_t *doc = NULL;
	int64_t now = time_now();
	int rc;

	if (!people_pid_ok(app, pid))
		return ERR(e, ERR_INVAL, 400, NULL,
			   "not a national identity number MinID accepts in this environment");
	pw = minid_password_check(str_c(password), pid);
	if (pw != MINID_PW_OK)
		return ERR(e, ERR_INVAL, 400, NULL, "%s", minid_pw_problem_text(pw));
	if (mobile == NULL || sms_number_normalise(str_c(mobile), e164) != 0)
		return ERR(e, ERR_INVAL, 400, NULL,
			   "not a mobile number (+47 and 8 digits, or + and country code)");
	rc = minid_password_hash(str_c(password), app->cfg->minid_argon_ops,
				 app->cfg->minid_argon_mem_kib, &a.pwhash, e);
	if (rc != 0)
		return rc;
	memcpy(a.pid, pid, sizeof(a.pid));
	a.created = a.updated = a.pw_changed = now;
	if (minid_account_set(&a.mobile, e164) != 0 || (doc = minid_account_encode(&a)) == NULL) {
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		goto out;
	}
	rc = store_call(app->store, minid, doc_put, MINID_K_ACCOUNT, pid, doc, MINID_FOREVER, e);
	if (rc == ERR_EXISTS && replace)
		rc = store_call(app->store, minid, doc_update, MINID_K_ACCOUNT, pid, doc, e);
	else if (rc == ERR_EXISTS)
		rc = ERR(e, ERR_EXISTS, 409, NULL, "this national identity number has a MinID");
	if (rc == 0)
		minid_attempt_succeed(app, pid, e);
out:
	json_decref(doc);
	minid_account_clear(&a);
	return rc;
}

int
minid_account_block(struct porten *app, const char *pid, bool blocked, struct err *e)
{
	struct minid_account a;
	int rc;

	rc = minid_account_get(app, pid, &a, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no MinID for this national identity number");
	if (rc != 0)
		return rc;
	a.blocked = blocked;
	if (!blocked) {
		/* An operator's unlock also lifts the failure lock (§5). */
		if (a.status == MINID_ST_LOCKED)
			a.status = MINID_ST_ACTIVE;
		minid_account_set(&a.lock_reason, NULL);
		rc = minid_attempt_succeed(app, pid, e);
	}
	if (rc == 0)
		rc = minid_account_save(app, &a, e);
	minid_account_clear(&a);
	return rc;
}

bool
minid_account_usable(const struct minid_account *a)
{
	return a->status == MINID_ST_ACTIVE && !a->blocked;
}

/* "$argon2id$v=19$m=65536,t=3,p=1$..." -> {alg, m, t, p}: parameters are not secret. */
static json_t *
minid_hash_params(const char *hash)
{
	long long m = 0, t = 0, p = 0;
	const char *s;
	json_t *o;

	if (hash == NULL || strncmp(hash, "$argon2id$", 10) != 0)
		return json_null();
	o = json_pack("{s:s}", "alg", "argon2id");
	s = strstr(hash, "$m=");
	if (s != NULL && o != NULL) {
		struct str rest = str_c(s + 3), mv, tv, pv, tail;

		str_split(rest, ',', &mv, &rest);
		if (str_has_prefix(rest, "t=")) {
			rest.p += 2;
			rest.len -= 2;
			str_split(rest, ',', &tv, &rest);
			if (str_has_prefix(rest, "p=")) {
				rest.p += 2;
				rest.len -= 2;
				str_split(rest, '$', &pv, &tail);
				if (str_to_ll(mv, 0, 1LL << 32, &m) == 0 &&
				    str_to_ll(tv, 0, 1000, &t) == 0 &&
				    str_to_ll(pv, 0, 1000, &p) == 0)
					json_object_set_new(o, "params",
							    json_pack("{s:I, s:I, s:I}", "m_kib",
								      (json_int_t)m, "t",
								      (json_int_t)t, "p",
								      (json_int_t)p));
			}
		}
	}
	return o;
}

json_t *
minid_account_public(struct porten *app, const struct minid_account *a)
{
	const char *status = a->status != MINID_ST_NONE ? minid_status_name(a->status) : NULL;
	enum minid_lock_kind kind = MINID_UNLOCKED;
	struct err e = { 0 };
	int64_t until = 0;
	json_t *o;

	o = json_object();
	if (o == NULL)
		return NULL;
	minid_lock_state(app, a->pid, &kind, &until, &e);
	if (a->blocked)
		status = "BLOCKED";
	else if (a->status == MINID_ST_ACTIVE && kind == MINID_LOCKED_HARD)
		status = "LOCKED";
	else if (a->status == MINID_ST_ACTIVE && kind == MINID_LOCKED_TEMPORARY)
		status = "LOCKED_TEMPORARY";
	json_object_set_new(o, "pid", json_string(a->pid));
	json_object_set_new(o, "status", json_string(status ? status : "UNKNOWN"));
	json_object_set_new(o, "mobile", a->mobile ? json_string(a->mobile) : json_null());
	json_object_set_new(o, "app", json_boolean(a->totp != NULL));
	json_object_set_new(o, "password", minid_hash_params(a->pwhash));
	if (until > 0)
		json_object_set_new(o, "locked_until", json_integer(until));
	if (a->lock_reason != NULL)
		json_object_set_new(o, "lock_reason", json_string(a->lock_reason));
	/* The times shown are those of the record but activated (the view kept its keys). */
	for (size_t i = 0; i < N_TIME; i++)
		if (CTIME_AT(a, i) != 0 && strcmp(time_fields[i].key, "activated") != 0)
			json_object_set_new(o, time_fields[i].key, json_integer(CTIME_AT(a, i)));
	return o;
}
