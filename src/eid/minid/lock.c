/*
 * MinID lockout (spec/minid.md §5): 5 consecutive failed attempts lock the
 * national id for an hour; the third such lock within 24 hours locks it
 * until the password is reset.  All numbers come from the configuration.
 *
 * The state is kept per national id, whether or not an account exists:
 * an attacker learns nothing from which numbers lock (§2: no user
 * enumeration).  Counting is done by claiming slots (see minid.h).
 */
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "eid/minid/minid.h"
#include "eid/minid/minid_int.h"

/* ---- pure arithmetic ---- */

void
minid_lock_policy_from_cfg(const struct cfg *c, struct minid_lock_policy *p)
{
	p->failures = c->minid_lock_failures;
	p->seconds = c->minid_lock_seconds;
	p->window = c->minid_lock_window;
	p->max = c->minid_lock_max;
}

bool
minid_lock_slot_locks(const struct minid_lock_policy *p, int64_t slot)
{
	return slot >= p->failures;
}

void
minid_lock_apply(const struct minid_lock_policy *p, int64_t now, struct minid_lockstate *s)
{
	int64_t kept[MINID_MAX_LOCKS];
	int n = 0;

	/* Only locks inside the window count towards the lock until reset. */
	for (int i = 0; i < s->nlocks && i < MINID_MAX_LOCKS; i++)
		if (s->locks[i] > now - p->window && s->locks[i] <= now)
			kept[n++] = s->locks[i];
	if (n == MINID_MAX_LOCKS) {
		memmove(kept, kept + 1, (MINID_MAX_LOCKS - 1) * sizeof(kept[0]));
		n--;
	}
	kept[n++] = now;
	memcpy(s->locks, kept, (size_t)n * sizeof(kept[0]));
	s->nlocks = n;
	s->lock_until = now + p->seconds;
	if (n >= p->max)
		s->hard = true;
}

enum minid_lock_kind
minid_lock_check(const struct minid_lockstate *s, int64_t now, int64_t *until)
{
	*until = 0;
	if (s->hard)
		return MINID_LOCKED_HARD;
	if (s->lock_until > now) {
		*until = s->lock_until;
		return MINID_LOCKED_TEMPORARY;
	}
	return MINID_UNLOCKED;
}

void
minid_lockstate_from_json(const json_t *guard, struct minid_lockstate *s)
{
	const json_t *locks = json_object_get(guard, "locks");
	size_t i;
	json_t *v;

	memset(s, 0, sizeof(*s));
	s->lock_until = json_integer_value(json_object_get(guard, "lock_until"));
	s->hard = json_is_true(json_object_get(guard, "hard"));
	json_array_foreach(locks, i, v) {
		if (s->nlocks == MINID_MAX_LOCKS)
			break;
		if (json_is_integer(v))
			s->locks[s->nlocks++] = json_integer_value(v);
	}
}

void
minid_lockstate_to_json(const struct minid_lockstate *s, json_t *guard)
{
	json_t *locks = json_array();

	for (int i = 0; i < s->nlocks && locks != NULL; i++)
		json_array_append_new(locks, json_integer(s->locks[i]));
	json_object_set_new(guard, "locks", locks ? locks : json_array());
	json_object_set_new(guard, "lock_until", json_integer(s->lock_until));
	json_object_set_new(guard, "hard", json_boolean(s->hard));
}

/* ---- the guard in the store ---- */

static int
minid_new_gen(char out[33])
{
	unsigned char raw[16];
	static const char hex[] = "0123456789abcdef";

	if (rand_bytes(raw, sizeof(raw)) != 0)
		return ERR_CRYPTO;
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
	return 0;
}

/* The guard of pid, created (unlocked, new generation) when there is none. */
static int
minid_guard_fresh(struct porten *app, const char *pid, json_t **g, struct err *e)
{
	char gen[33];
	int rc;

	for (int tries = 0; tries < 3; tries++) {
		rc = store_call(app->store, minid, doc_get, MINID_K_GUARD, pid, g, e);
		if (rc != ERR_NOTFOUND)
			return rc;
		if (minid_new_gen(gen) != 0)
			return ERR(e, ERR_CRYPTO, 500, NULL, "no randomness");
		*g = json_pack("{s:s, s:I, s:[], s:b}", "gen", gen, "lock_until", (json_int_t)0,
			       "locks", "hard", 0);
		if (*g == NULL)
			return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		rc = store_call(app->store, minid, doc_put, MINID_K_GUARD, pid, *g,
			      time_now() + app->cfg->minid_lock_window, e);
		if (rc != ERR_EXISTS)
			return rc;
		/* Another request made it first: use theirs. */
		json_decref(*g);
		*g = NULL;
	}
	return ERR(e, ERR_UNAVAILABLE, 503, NULL, "the guard record keeps changing");
}

int
minid_lock_state(struct porten *app, const char *pid, enum minid_lock_kind *kind, int64_t *until,
		 struct err *e)
{
	struct minid_lockstate s;
	json_t *g = NULL;
	int rc;

	*kind = MINID_UNLOCKED;
	*until = 0;
	rc = store_call(app->store, minid, doc_get, MINID_K_GUARD, pid, &g, e);
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	minid_lockstate_from_json(g, &s);
	*kind = minid_lock_check(&s, time_now(), until);
	json_decref(g);
	return 0;
}

int
minid_attempt_begin(struct porten *app, const char *pid, struct minid_attempt *a,
		    enum minid_lock_kind *kind, int64_t *until, struct err *e)
{
	struct minid_lockstate s;
	int64_t now = time_now();
	json_t *g = NULL, *mark = NULL;
	const char *gen;
	int rc;

	memset(a, 0, sizeof(*a));
	*kind = MINID_UNLOCKED;
	*until = 0;
	rc = minid_guard_fresh(app, pid, &g, e);
	if (rc != 0)
		goto out;
	minid_lockstate_from_json(g, &s);
	*kind = minid_lock_check(&s, now, until);
	if (*kind != MINID_UNLOCKED)
		goto out;
	gen = json_string_value(json_object_get(g, "gen"));
	if (gen == NULL || strlen(gen) >= sizeof(a->gen)) {
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "guard record without a generation");
		goto out;
	}
	snprintf(a->gen, sizeof(a->gen), "%s", gen);
	mark = json_pack("{s:I}", "t", (json_int_t)now);
	for (int64_t n = 1; n <= app->cfg->minid_lock_failures; n++) {
		char id[96];

		snprintf(id, sizeof(id), "%s.%s.%lld", pid, a->gen, (long long)n);
		rc = store_call(app->store, minid, doc_put, MINID_K_FAIL, id, mark,
			      now + app->cfg->minid_lock_window, e);
		if (rc == 0) {
			a->slot = n;
			goto out;
		}
		if (rc != ERR_EXISTS)
			goto out;
	}
	/* Every slot is held: the lock is being applied, or a login holds the last one. */
	rc = 0;
	*kind = MINID_LOCKED_TEMPORARY;
out:
	json_decref(mark);
	json_decref(g);
	return rc;
}

int
minid_attempt_fail(struct porten *app, const char *pid, const struct minid_attempt *a,
		   enum minid_lock_kind *kind, int64_t *until, struct err *e)
{
	struct minid_lock_policy pol;
	struct minid_lockstate s;
	int64_t now = time_now(), exp;
	json_t *g = NULL;
	struct minid_account acct = { 0 };
	char gen[33];
	int rc;

	*kind = MINID_UNLOCKED;
	*until = 0;
	minid_lock_policy_from_cfg(app->cfg, &pol);
	if (!minid_lock_slot_locks(&pol, a->slot))
		return 0;
	/* This attempt held the last slot: exactly one request gets here per generation. */
	rc = store_call(app->store, minid, doc_get, MINID_K_GUARD, pid, &g, e);
	if (rc == ERR_NOTFOUND) {
		g = json_object();
		rc = g ? 0 : ERR_NOMEM;
	}
	if (rc != 0)
		goto out;
	minid_lockstate_from_json(g, &s);
	minid_lock_apply(&pol, now, &s);
	minid_lockstate_to_json(&s, g);
	/* A new generation: after the lock the count starts again. */
	if (minid_new_gen(gen) != 0) {
		rc = ERR(e, ERR_CRYPTO, 500, NULL, "no randomness");
		goto out;
	}
	json_object_set_new(g, "gen", json_string(gen));
	exp = now + pol.window;
	if (s.lock_until > exp)
		exp = s.lock_until;
	if (s.hard && exp < now + MINID_HARD_MEMORY)
		exp = now + MINID_HARD_MEMORY;
	/* The store keeps an expiry per record: replace the record to move it. */
	store_call(app->store, minid, doc_delete, MINID_K_GUARD, pid, e);
	rc = store_call(app->store, minid, doc_put, MINID_K_GUARD, pid, g, exp, e);
	if (rc == ERR_EXISTS)
		rc = store_call(app->store, minid, doc_update, MINID_K_GUARD, pid, g, e);
	if (rc != 0)
		goto out;
	*kind = minid_lock_check(&s, now, until);
	log_info(NULL, "minid: id locked (%s) after %lld failures",
		 s.hard ? "until reset" : "temporarily", (long long)a->slot);
	if (s.hard && minid_account_get(app, pid, &acct, e) == 0) {
		acct.status = MINID_ST_LOCKED;
		rc = minid_account_set(&acct.lock_reason, "failures") != 0
			     ? ERR(e, ERR_NOMEM, 500, NULL, "out of memory")
			     : minid_account_save(app, &acct, e);
	}
out:
	minid_account_clear(&acct);
	json_decref(g);
	return rc;
}

int
minid_attempt_succeed(struct porten *app, const char *pid, struct err *e)
{
	int rc = store_call(app->store, minid, doc_delete, MINID_K_GUARD, pid, e);

	/* The failure slots of the old generation are orphans now and expire. */
	return rc == ERR_NOTFOUND ? 0 : rc;
}

int
minid_try_claim(struct porten *app, const char *key, int64_t max, int64_t exp, int64_t *slot,
		struct err *e)
{
	return minid_slot_claim(app, MINID_K_TRY, key, max, exp, slot, e);
}

/* MinID's documents are the minid facet's. */
static int
minid_doc_put(struct store *s, const char *kind, const char *id, const json_t *doc, int64_t exp,
	      struct err *e)
{
	return store_call(s, minid, doc_put, kind, id, doc, exp, e);
}

int
minid_slot_claim(struct porten *app, const char *kind, const char *key, int64_t max, int64_t exp,
		 int64_t *slot, struct err *e)
{
	return store_slot_claim(app->store, minid_doc_put, kind, key, max, exp, slot, e);
}
