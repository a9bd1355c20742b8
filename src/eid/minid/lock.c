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
minid_lock_slot_locks(const struct minid_lock_policy *p, int64_t failed)
{
	return failed >= p->failures;
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

/* The store id of failure slot n (or of the lock marker, n = 0) of pid's generation gen. */
static void
minid_fail_id(char *id, size_t size, const char *pid, const char *gen, int64_t n)
{
	if (n == 0)
		snprintf(id, size, "%s.%s.lock", pid, gen);
	else
		snprintf(id, size, "%s.%s.%lld", pid, gen, (long long)n);
}

/*
 * Look at every slot of gen: *failed gets the slots marked failed.  A slot
 * still pending after MINID_ATTEMPT_STALE belongs to a request that died
 * before it could say how its password fared: it is taken (by one request
 * only) and counted in *freed (unless NULL), so a crash cannot hold a
 * slot for a day.
 */
static int
minid_fail_scan(struct porten *app, const char *pid, const char *gen, int64_t *failed,
		int64_t *freed, struct err *e)
{
	int64_t now = time_now();
	json_t *d = NULL;
	int rc = 0;

	*failed = 0;
	if (freed != NULL)
		*freed = 0;
	for (int64_t n = 1; n <= app->cfg->minid_lock_failures; n++) {
		char id[96];

		minid_fail_id(id, sizeof(id), pid, gen, n);
		rc = store_call(app->store, minid, doc_get, MINID_K_FAIL, id, &d, e);
		if (rc == ERR_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		if (json_is_true(json_object_get(d, "failed")))
			(*failed)++;
		else if (json_integer_value(json_object_get(d, "t")) < now - MINID_ATTEMPT_STALE) {
			json_decref(d);
			d = NULL;
			rc = store_call(app->store, minid, doc_take, MINID_K_FAIL, id, &d, e);
			if (rc == 0 && freed != NULL)
				(*freed)++;
			else if (rc != ERR_NOTFOUND)
				return rc;
		}
		json_decref(d);
		d = NULL;
	}
	return 0;
}

/* The id's guard gets a lock now and a new generation (the count starts again). */
static int
minid_lock_now(struct porten *app, const char *pid, int64_t failed, enum minid_lock_kind *kind,
	       int64_t *until, struct err *e)
{
	struct minid_lock_policy pol;
	struct minid_lockstate s;
	int64_t now = time_now(), exp;
	json_t *g = NULL;
	struct minid_account acct = { 0 };
	char gen[33];
	int rc;

	minid_lock_policy_from_cfg(app->cfg, &pol);
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
		 s.hard ? "until reset" : "temporarily", (long long)failed);
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

/*
 * When every slot of gen is marked failed, lock the id.  Whoever inserts
 * the generation's lock marker applies the lock, so it is applied once
 * however many requests see the full count.
 */
static int
minid_lock_settle(struct porten *app, const char *pid, const char *gen, enum minid_lock_kind *kind,
		  int64_t *until, struct err *e)
{
	struct minid_lock_policy pol;
	int64_t failed = 0;
	json_t *mark = NULL;
	char id[96];
	int rc;

	minid_lock_policy_from_cfg(app->cfg, &pol);
	rc = minid_fail_scan(app, pid, gen, &failed, NULL, e);
	if (rc != 0 || !minid_lock_slot_locks(&pol, failed))
		return rc;
	mark = json_pack("{s:I}", "t", (json_int_t)time_now());
	if (mark == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	minid_fail_id(id, sizeof(id), pid, gen, 0);
	rc = store_call(app->store, minid, doc_put, MINID_K_FAIL, id, mark,
		      time_now() + pol.window, e);
	json_decref(mark);
	if (rc == ERR_EXISTS) {
		/* Another request is applying it (or has). */
		*kind = MINID_LOCKED_TEMPORARY;
		return 0;
	}
	if (rc != 0)
		return rc;
	return minid_lock_now(app, pid, failed, kind, until, e);
}

/* MinID's documents are the minid facet's. */
static int
minid_doc_put(struct store *s, const char *kind, const char *id, const json_t *doc, int64_t exp,
	      struct err *e)
{
	return store_call(s, minid, doc_put, kind, id, doc, exp, e);
}

/* Claim the first free slot of a->gen as pending; a->slot stays 0 when all are held. */
static int
minid_slot_take(struct porten *app, const char *pid, struct minid_attempt *a, struct err *e)
{
	int64_t now = time_now(), slot = 0;
	json_t *mark = json_pack("{s:I}", "t", (json_int_t)now);
	char key[96];
	int rc;

	if (mark == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	/* The slots' ids are minid_fail_id's: key.n with key pid.gen. */
	snprintf(key, sizeof(key), "%s.%s", pid, a->gen);
	rc = store_slot_claim(app->store, minid_doc_put, MINID_K_FAIL, key, mark,
			      app->cfg->minid_lock_failures, now + app->cfg->minid_lock_window, &slot,
			      e);
	json_decref(mark);
	a->slot = slot;
	return rc == ERR_LIMIT ? 0 : rc;
}

int
minid_attempt_begin(struct porten *app, const char *pid, struct minid_attempt *a,
		    enum minid_lock_kind *kind, int64_t *until, struct err *e)
{
	struct minid_lockstate s;
	int64_t failed = 0, freed = 0;
	json_t *g = NULL;
	const char *gen;
	int rc;

	memset(a, 0, sizeof(*a));
	*kind = MINID_UNLOCKED;
	*until = 0;
	rc = minid_guard_fresh(app, pid, &g, e);
	if (rc != 0)
		goto out;
	minid_lockstate_from_json(g, &s);
	*kind = minid_lock_check(&s, time_now(), until);
	if (*kind != MINID_UNLOCKED)
		goto out;
	gen = json_string_value(json_object_get(g, "gen"));
	if (gen == NULL || strlen(gen) >= sizeof(a->gen)) {
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "guard record without a generation");
		goto out;
	}
	snprintf(a->gen, sizeof(a->gen), "%s", gen);
	rc = minid_slot_take(app, pid, a, e);
	if (rc != 0 || a->slot != 0)
		goto out;
	rc = minid_fail_scan(app, pid, a->gen, &failed, &freed, e);
	if (rc == 0 && freed > 0)
		rc = minid_slot_take(app, pid, a, e);
	if (rc != 0 || a->slot != 0)
		goto out;
	/*
	 * Every slot is held: by failures (then the lock is being applied; if
	 * the request that should apply it died, this one does) or by attempts
	 * still being checked.  Either way no more guesses now.
	 */
	rc = minid_lock_settle(app, pid, a->gen, kind, until, e);
	if (*kind == MINID_UNLOCKED)
		*kind = MINID_LOCKED_TEMPORARY;
out:
	json_decref(g);
	return rc;
}

int
minid_attempt_fail(struct porten *app, const char *pid, const struct minid_attempt *a,
		   enum minid_lock_kind *kind, int64_t *until, struct err *e)
{
	json_t *mark = NULL;
	char id[96];
	int rc;

	*kind = MINID_UNLOCKED;
	*until = 0;
	if (a->slot < 1)
		return 0;
	mark = json_pack("{s:I, s:b}", "t", (json_int_t)time_now(), "failed", 1);
	if (mark == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	minid_fail_id(id, sizeof(id), pid, a->gen, a->slot);
	rc = store_call(app->store, minid, doc_update, MINID_K_FAIL, id, mark, e);
	json_decref(mark);
	/* Gone: a full login or a reset started a new count meanwhile. */
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	/*
	 * Marked before counting: of two failures racing for the last slots,
	 * the one that counts second sees both, so the lock is never missed.
	 */
	return minid_lock_settle(app, pid, a->gen, kind, until, e);
}

int
minid_attempt_release(struct porten *app, const char *pid, const struct minid_attempt *a,
		      struct err *e)
{
	char id[96];
	int rc;

	if (a->slot < 1)
		return 0;
	minid_fail_id(id, sizeof(id), pid, a->gen, a->slot);
	rc = store_call(app->store, minid, doc_delete, MINID_K_FAIL, id, e);
	return rc == ERR_NOTFOUND ? 0 : rc;
}

int
minid_attempt_failure(struct porten *app, const char *pid, enum minid_lock_kind *kind,
		      int64_t *until, struct err *e)
{
	struct minid_attempt a;
	int rc;

	rc = minid_attempt_begin(app, pid, &a, kind, until, e);
	if (rc != 0 || *kind != MINID_UNLOCKED)
		return rc;
	return minid_attempt_fail(app, pid, &a, kind, until, e);
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

int
minid_slot_claim(struct porten *app, const char *kind, const char *key, int64_t max, int64_t exp,
		 int64_t *slot, struct err *e)
{
	return store_slot_claim(app->store, minid_doc_put, kind, key, NULL, max, exp, slot, e);
}
