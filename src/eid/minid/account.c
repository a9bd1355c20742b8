/*
 * MinID accounts (spec/minid.md §7 states, §5 operator block): the record,
 * its creation by operators and activation, and the view without secrets.
 */
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/natid.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"
#include "eid/minid/minid_int.h"
#include "sms/sms.h"

bool
minid_pid_ok(const struct porten *app, const char *pid)
{
	/* natid §4: PROD takes real numbers only; TEST synthetic ones (real behind a flag). */
	return pid != NULL &&
	       natid_acceptable(str_c(pid), app->test_env ? NATID_CTX_TEST : NATID_CTX_PROD, NULL);
}

bool
minid_static_otc_allowed(const struct porten *app, const char *pid)
{
	struct natid_info info;

	/* §8: only in TEST, only when switched on, only for synthetic ids (month 81-92). */
	if (!app->test_env || app->cfg->env != CFG_ENV_TEST || !app->cfg->minid_static_otc ||
	    pid == NULL)
		return false;
	if (natid_parse(str_c(pid), false, &info) != NATID_OK)
		return false;
	return (info.flags & NATID_SYNTHETIC) != 0;
}

int
minid_account_get(struct porten *app, const char *pid, json_t **acct, struct err *e)
{
	*acct = NULL;
	if (pid == NULL || strlen(pid) != 11)
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no such MinID");
	return store_op(app->store, doc_get, MINID_K_ACCOUNT, pid, acct, e);
}

int
minid_account_save(struct porten *app, const char *pid, json_t *acct, struct err *e)
{
	int rc;

	json_object_set_new(acct, "updated", json_integer(time_now()));
	rc = store_op(app->store, doc_update, MINID_K_ACCOUNT, pid, acct, e);
	if (rc == ERR_NOTFOUND)
		rc = store_op(app->store, doc_put, MINID_K_ACCOUNT, pid, acct, MINID_FOREVER, e);
	return rc;
}

int
minid_account_create(struct porten *app, const char *pid, const char *password,
		     const char *mobile, bool replace, struct err *e)
{
	char e164[SMS_MAX_TO + 1];
	enum minid_pw_problem pw;
	char *hash = NULL;
	json_t *acct = NULL;
	int64_t now = time_now();
	int rc;

	if (!minid_pid_ok(app, pid))
		return ERR(e, ERR_INVAL, 400, NULL,
			   "not a national identity number MinID accepts in this environment");
	pw = minid_password_check(str_c(password), pid);
	if (pw != MINID_PW_OK)
		return ERR(e, ERR_INVAL, 400, NULL, "%s", minid_pw_problem_text(pw));
	if (mobile == NULL || sms_number_normalise(str_c(mobile), e164) != 0)
		return ERR(e, ERR_INVAL, 400, NULL,
			   "not a mobile number (+47 and 8 digits, or + and country code)");
	rc = minid_password_hash(str_c(password), app->cfg->minid_argon_ops,
				 app->cfg->minid_argon_mem_kib, &hash, e);
	if (rc != 0)
		return rc;
	acct = json_pack("{s:s, s:s, s:b, s:s, s:s, s:I, s:I, s:I}", "pid", pid, "status", "ACTIVE",
			 "blocked", 0, "pwhash", hash, "mobile", e164, "created", (json_int_t)now,
			 "updated", (json_int_t)now, "pw_changed", (json_int_t)now);
	if (acct == NULL) {
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		goto out;
	}
	rc = store_op(app->store, doc_put, MINID_K_ACCOUNT, pid, acct, MINID_FOREVER, e);
	if (rc == ERR_EXISTS && replace)
		rc = store_op(app->store, doc_update, MINID_K_ACCOUNT, pid, acct, e);
	else if (rc == ERR_EXISTS)
		rc = ERR(e, ERR_EXISTS, 409, NULL, "this national identity number has a MinID");
	if (rc == 0)
		minid_attempt_succeed(app, pid, e);
out:
	if (hash != NULL)
		secure_wipe(hash, strlen(hash));
	free(hash);
	json_decref(acct);
	return rc;
}

int
minid_account_block(struct porten *app, const char *pid, bool blocked, struct err *e)
{
	json_t *acct = NULL;
	int rc;

	rc = minid_account_get(app, pid, &acct, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 404, NULL, "no MinID for this national identity number");
	if (rc != 0)
		return rc;
	json_object_set_new(acct, "blocked", json_boolean(blocked));
	if (!blocked) {
		/* An operator's unlock also lifts the failure lock (§5). */
		if (strcmp(json_string_value(json_object_get(acct, "status")) ?: "", "LOCKED") == 0)
			json_object_set_new(acct, "status", json_string("ACTIVE"));
		json_object_del(acct, "lock_reason");
		rc = minid_attempt_succeed(app, pid, e);
	}
	if (rc == 0)
		rc = minid_account_save(app, pid, acct, e);
	json_decref(acct);
	return rc;
}

bool
minid_account_usable(const json_t *acct)
{
	const char *st = json_string_value(json_object_get(acct, "status"));

	return st != NULL && strcmp(st, "ACTIVE") == 0 &&
	       !json_is_true(json_object_get(acct, "blocked"));
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
minid_account_public(struct porten *app, const json_t *acct)
{
	const char *pid = json_string_value(json_object_get(acct, "pid"));
	const char *status = json_string_value(json_object_get(acct, "status"));
	enum minid_lock_kind kind = MINID_UNLOCKED;
	struct err e = { 0 };
	int64_t until = 0;
	json_t *o;

	o = json_object();
	if (o == NULL)
		return NULL;
	if (pid != NULL)
		minid_lock_state(app, pid, &kind, &until, &e);
	if (json_is_true(json_object_get(acct, "blocked")))
		status = "BLOCKED";
	else if (status != NULL && strcmp(status, "ACTIVE") == 0 && kind == MINID_LOCKED_HARD)
		status = "LOCKED";
	else if (status != NULL && strcmp(status, "ACTIVE") == 0 &&
		 kind == MINID_LOCKED_TEMPORARY)
		status = "LOCKED_TEMPORARY";
	json_object_set_new(o, "pid", json_string(pid ? pid : ""));
	json_object_set_new(o, "status", json_string(status ? status : "UNKNOWN"));
	json_object_set(o, "mobile", json_object_get(acct, "mobile") ?: json_null());
	json_object_set_new(o, "app", json_boolean(json_object_get(acct, "totp") != NULL));
	json_object_set_new(o, "password",
			    minid_hash_params(json_string_value(json_object_get(acct, "pwhash"))));
	if (until > 0)
		json_object_set_new(o, "locked_until", json_integer(until));
	if (json_object_get(acct, "lock_reason") != NULL)
		json_object_set(o, "lock_reason", json_object_get(acct, "lock_reason"));
	for (const char *const *k = (const char *const[]){ "created", "updated", "pw_changed",
							   "last_login", NULL };
	     *k != NULL; k++)
		if (json_object_get(acct, *k) != NULL)
			json_object_set(o, *k, json_object_get(acct, *k));
	return o;
}
