/*
 * Signing keys of each issuer: created, published, rotated and retired
 * through the store, so every node signs with the same key and publishes
 * the same JWKS.  Private keys rest sealed under the KEK.
 *
 * Life of a key: added with active_from (published from creation, signs
 * from active_from); retired at the moment its successor starts signing;
 * removed from the JWKS at expires_at = retired_at + KEY_RETIRED_MARGIN.
 * The margin covers the longest-lived token the key may have signed: ID
 * tokens live 120 s and JWT access tokens at most REG_AT_LIFETIME_MAX (one
 * day, enforced at registration); refresh tokens are opaque and never
 * signed.  One more hour absorbs caches and clock skew.
 *
 * An issuer may instead sign with a key in a PKCS#11 token (configured by
 * signing_key_pkcs11_uri, maskinporten_signing_key_pkcs11_uri or
 * ansattporten_signing_key_pkcs11_uri): that
 * signer is opened at start-up, signs ahead of every stored key and is
 * published first in the JWKS.  The store's keys stay published as they
 * were, so tokens signed before the switch still verify.  Such a key is
 * rotated on the token by the operator (docs/operations.md), never here.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

#define KEY_BITS 2048
#define KEY_ALG "RS256"
#define KEY_RETIRED_MARGIN (REG_AT_LIFETIME_MAX + 3600)
#define KEY_CACHE_MS 5000 /* re-read the store this often, to see other nodes' rotations */
#define KEY_CLAIM_MAX 600 /* "key_rotation <issuer> <kid>" */

/*
 * Every key unsealed by this process, each with its in-process signer;
 * freed only by reg_keys_cleanup().
 */
struct loaded_key {
	struct loaded_key *next;
	const struct store *store;
	struct jose_key *key;
};

/* What an issuer signs with now, and until when that answer holds. */
struct key_cache {
	struct key_cache *next;
	const struct store *store;
	char *iss;
	const struct jose_signer *current;
	int64_t loaded_ms;   /* time_mono_ms() of the last store read */
	int64_t valid_until; /* time_now() at which the choice may change; 0 = never */
};

/* An issuer's key in a PKCS#11 token, opened once per process. */
struct hsm_key {
	struct hsm_key *next;
	char *iss;
	struct jose_signer *signer;
};

/* An issuer's published JWKS as last read, for verifying its own tokens. */
struct jwks_cache {
	struct jwks_cache *next;
	const struct store *store;
	char *iss;
	json_t *jwks;
	int64_t loaded_ms;
};

static pthread_mutex_t keys_lock = PTHREAD_MUTEX_INITIALIZER;
static struct loaded_key *keys_loaded;
static struct key_cache *keys_cache;
static struct hsm_key *keys_hsm;
static struct jwks_cache *keys_jwks;

/*
 * The token key configured for an issuer of kind: *uri NULL when none.
 * Each issuer has a setting of its own, so no issuer ever signs with
 * another's key.
 */
static void
hsm_cfg(const struct cfg *c, enum issuer_kind kind, const char **uri, const char **pin,
	const char **name)
{
	switch (kind) {
	case ISSUER_MASKINPORTEN:
		*uri = c->maskinporten_signing_key_pkcs11_uri;
		*pin = c->maskinporten_signing_key_pin_file;
		*name = "maskinporten_signing_key_pkcs11_uri";
		break;
	case ISSUER_ANSATTPORTEN:
		*uri = c->ansattporten_signing_key_pkcs11_uri;
		*pin = c->ansattporten_signing_key_pin_file;
		*name = "ansattporten_signing_key_pkcs11_uri";
		break;
	case ISSUER_IDPORTEN:
	default:
		*uri = c->signing_key_pkcs11_uri;
		*pin = c->signing_key_pin_file;
		*name = "signing_key_pkcs11_uri";
		break;
	}
	if (*uri != NULL && (*uri)[0] == '\0')
		*uri = NULL;
}

/* Open the token key of uri; e->msg names the setting. */
static int
hsm_open(const char *uri, const char *pin, const char *name, struct jose_signer **out,
	 struct err *e)
{
	char why[sizeof(e->msg)];
	int rc = jose_signer_pkcs11(uri, pin, out, e);

	if (rc == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", e->msg);
	return ERR(e, rc, 500, NULL, "%s: %s", name, why);
}

/*
 * The issuer's token signer, opened on first use; *out NULL when the
 * issuer keeps its keys in the store.
 */
static int
hsm_get(struct porten *app, const struct issuer *is, const struct jose_signer **out,
	struct err *e)
{
	const char *uri, *pin, *name;
	struct hsm_key *h;
	int rc = 0;

	*out = NULL;
	hsm_cfg(app->cfg, is->kind, &uri, &pin, &name);
	if (uri == NULL)
		return 0;
	pthread_mutex_lock(&keys_lock);
	for (h = keys_hsm; h != NULL; h = h->next)
		if (strcmp(h->iss, is->iss) == 0)
			break;
	if (h == NULL) {
		h = calloc(1, sizeof(*h));
		if (h == NULL || (h->iss = strdup(is->iss)) == NULL) {
			free(h);
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
			goto out;
		}
		rc = hsm_open(uri, pin, name, &h->signer, e);
		if (rc != 0) {
			free(h->iss);
			free(h);
			goto out;
		}
		log_info(NULL, "%s signs with key %s in a PKCS#11 token", is->iss, h->signer->kid);
		h->next = keys_hsm;
		keys_hsm = h;
	}
	*out = h->signer;
out:
	pthread_mutex_unlock(&keys_lock);
	return rc;
}

int
reg_keys_hsm_check(const struct cfg *c, struct err *e)
{
	static const enum issuer_kind kinds[] = { ISSUER_IDPORTEN, ISSUER_MASKINPORTEN,
						   ISSUER_ANSATTPORTEN };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *uri, *pin, *name;
		struct jose_signer *s = NULL;
		int rc;

		hsm_cfg(c, kinds[i], &uri, &pin, &name);
		if (uri == NULL)
			continue;
		rc = hsm_open(uri, pin, name, &s, e);
		jose_signer_free(s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The key that signs at time now: newest active_from that has passed, not retired. */
static const struct store_key *
pick_signing(const struct store_key *keys, size_t n, int64_t now, int64_t *valid_until)
{
	const struct store_key *best = NULL;

	*valid_until = 0;
	for (size_t i = 0; i < n; i++) {
		const struct store_key *k = &keys[i];

		if (k->active_from > now) {
			/* A successor in waiting: the choice changes when it starts. */
			if (*valid_until == 0 || k->active_from < *valid_until)
				*valid_until = k->active_from;
			continue;
		}
		if (k->retired_at != 0 && k->retired_at <= now)
			continue;
		if (best == NULL || k->active_from > best->active_from ||
		    (k->active_from == best->active_from && k->created > best->created))
			best = k;
	}
	if (best != NULL && best->retired_at != 0 &&
	    (*valid_until == 0 || best->retired_at < *valid_until))
		*valid_until = best->retired_at;
	return best;
}

static int
key_cmp_newest(const void *a, const void *b)
{
	const struct store_key *x = a, *y = b;

	if (x->active_from != y->active_from)
		return x->active_from > y->active_from ? -1 : 1;
	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return strcmp(y->kid, x->kid);
}

/*
 * Newest first by when they sign, then by creation: the store orders by
 * creation time in whole seconds, which leaves a key and its successor made
 * in the same second in either order.
 */
static void
keys_sort(struct store_key *keys, size_t n)
{
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key_cmp_newest);
}

/* Generate, seal and store a key for iss; *kid (optional) gets its kid. */
static int
key_create(struct porten *app, const struct issuer *is, int64_t active_from, char **kid,
	   struct err *e)
{
	struct jose_key *k = NULL;
	struct store_key sk;
	char *sealed = NULL, *pub = NULL;
	json_t *jwk = NULL;
	int rc;

	memset(&sk, 0, sizeof(sk));
	rc = jose_key_generate(KEY_BITS, &k, e);
	if (rc != 0)
		goto out;
	rc = jose_key_seal(k, &app->kek, &sealed, e);
	if (rc != 0)
		goto out;
	jwk = jose_key_public_jwk(k);
	pub = jwk ? json_dumps(jwk, JSON_COMPACT) : NULL;
	if (pub == NULL) {
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		goto out;
	}
	sk.kid = (char *)jose_key_kid(k);
	sk.issuer = (char *)is->iss;
	sk.alg = KEY_ALG;
	sk.sealed = sealed;
	sk.public_jwk = pub;
	sk.created = time_now();
	sk.active_from = active_from;
	rc = store_call(app->store, registry, key_add, &sk, e);
	if (rc != 0)
		goto out;
	if (kid != NULL && (*kid = strdup(jose_key_kid(k))) == NULL)
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	log_info(NULL, "signing key %s added for %s, signing from %lld", jose_key_kid(k),
		 is->iss, (long long)active_from);
out:
	if (sealed != NULL) {
		secure_wipe(sealed, strlen(sealed));
		free(sealed);
	}
	free(pub);
	json_decref(jwk);
	jose_key_free(k);
	return rc;
}

int
reg_keys_ensure(struct porten *app, const struct issuer *is, struct err *e)
{
	struct store_key *keys = NULL;
	size_t n = 0;
	const struct jose_signer *hsm;
	int64_t now = time_now();
	bool usable = false;
	int rc;

	/* A key in a token: open it now, so a wrong URI or PIN stops start-up. */
	rc = hsm_get(app, is, &hsm, e);
	if (rc != 0 || hsm != NULL)
		return rc;
	rc = store_call(app->store, registry, key_list, is->iss, &keys, &n, e);
	if (rc != 0)
		return rc;
	/* A key that signs now or will sign later: nothing to do. */
	for (size_t i = 0; i < n; i++)
		if (keys[i].retired_at == 0 || keys[i].retired_at > now)
			usable = true;
	store_keys_free(keys, n);
	if (usable)
		return 0;
	return key_create(app, is, now, NULL, e);
}

/*
 * Open a stored key under the KEK, or under kek_previous while a KEK
 * rotation runs (*old then says so, when old is given).
 */
static int
key_unseal(struct porten *app, const struct store_key *sk, struct jose_key **k, bool *old,
	   struct err *e)
{
	int rc = jose_key_unseal(sk->sealed, sk->kid, &app->kek, k, e);

	if (old != NULL)
		*old = false;
	if (rc == 0 || rc == ERR_NOMEM || !app->has_kek_previous)
		return rc;
	rc = jose_key_unseal(sk->sealed, sk->kid, &app->kek_previous, k, e);
	if (rc == 0 && old != NULL)
		*old = true;
	return rc;
}

/* The signer of a stored key, unsealed once per process.  Called with keys_lock held. */
static int
key_signer(struct porten *app, const struct store_key *sk, const struct jose_signer **out,
	   struct err *e)
{
	struct loaded_key *l;
	struct jose_key *k = NULL;
	int rc;

	for (l = keys_loaded; l != NULL; l = l->next)
		if (l->store == app->store && strcmp(jose_key_kid(l->key), sk->kid) == 0) {
			*out = jose_key_signer(l->key);
			return 0;
		}
	rc = key_unseal(app, sk, &k, NULL, e);
	if (rc != 0)
		return rc;
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		jose_key_free(k);
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	l->store = app->store;
	l->key = k;
	l->next = keys_loaded;
	keys_loaded = l;
	*out = jose_key_signer(k);
	return 0;
}

int
reg_keys_signing(struct porten *app, const struct issuer *is, const struct jose_signer **signer,
		 struct err *e)
{
	struct store_key *keys = NULL;
	const struct store_key *pick;
	struct key_cache *c;
	size_t n = 0;
	int64_t now = time_now(), mono = time_mono_ms(), valid_until;
	int rc;

	rc = hsm_get(app, is, signer, e);
	if (rc != 0 || *signer != NULL)
		return rc;
	pthread_mutex_lock(&keys_lock);
	for (c = keys_cache; c != NULL; c = c->next)
		if (c->store == app->store && strcmp(c->iss, is->iss) == 0)
			break;
	if (c != NULL && c->current != NULL && mono - c->loaded_ms < KEY_CACHE_MS &&
	    (c->valid_until == 0 || now < c->valid_until)) {
		*signer = c->current;
		goto out;
	}
	rc = store_call(app->store, registry, key_list, is->iss, &keys, &n, e);
	if (rc != 0)
		goto out;
	pick = pick_signing(keys, n, now, &valid_until);
	if (pick == NULL) {
		rc = ERR(e, ERR_NOTFOUND, 500, NULL, "no signing key for %s", is->iss);
		goto out;
	}
	rc = key_signer(app, pick, signer, e);
	if (rc != 0)
		goto out;
	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->iss = strdup(is->iss)) == NULL) {
			free(c);
			/* The key itself is fine; only the cache could not grow. */
			goto out;
		}
		c->store = app->store;
		c->next = keys_cache;
		keys_cache = c;
	}
	c->current = *signer;
	c->loaded_ms = mono;
	c->valid_until = valid_until;
out:
	pthread_mutex_unlock(&keys_lock);
	store_keys_free(keys, n);
	return rc;
}

int
reg_keys_jwks(struct porten *app, const struct issuer *is, json_t **jwks, struct err *e)
{
	struct store_key *keys = NULL;
	json_t *set = NULL, *arr;
	size_t n = 0;
	const struct jose_signer *hsm;
	int64_t now = time_now();
	int rc;

	*jwks = NULL;
	rc = hsm_get(app, is, &hsm, e);
	if (rc != 0)
		return rc;
	rc = store_call(app->store, registry, key_list, is->iss, &keys, &n, e);
	if (rc != 0)
		return rc;
	set = json_pack("{s:[]}", "keys");
	arr = json_object_get(set, "keys");
	if (arr == NULL ||
	    (hsm != NULL && json_array_append_new(arr, jose_signer_pkcs11_jwk(hsm)) != 0)) {
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		goto out;
	}
	keys_sort(keys, n);
	/* Past expires_at a key is gone. */
	for (size_t i = 0; i < n; i++) {
		json_error_t je;
		json_t *jwk;

		if (keys[i].expires_at != 0 && keys[i].expires_at <= now)
			continue;
		jwk = json_loads(keys[i].public_jwk, 0, &je);
		if (!json_is_object(jwk)) {
			json_decref(jwk);
			rc = ERR(e, ERR_INTERNAL, 500, NULL, "stored key %s has a corrupt JWK",
				 keys[i].kid);
			goto out;
		}
		if (json_array_append_new(arr, jwk) != 0) {
			rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
			goto out;
		}
	}
	*jwks = set;
	set = NULL;
out:
	json_decref(set);
	store_keys_free(keys, n);
	return rc;
}

int
reg_keys_jwks_cached(struct porten *app, const struct issuer *is, int64_t max_age_ms,
		     json_t **jwks, struct err *e)
{
	struct jwks_cache *c;
	json_t *fresh = NULL;
	int64_t mono = time_mono_ms();
	int rc;

	*jwks = NULL;
	pthread_mutex_lock(&keys_lock);
	for (c = keys_jwks; c != NULL; c = c->next)
		if (c->store == app->store && strcmp(c->iss, is->iss) == 0)
			break;
	if (c != NULL && mono - c->loaded_ms < max_age_ms) {
		*jwks = json_incref(c->jwks);
		pthread_mutex_unlock(&keys_lock);
		return 0;
	}
	pthread_mutex_unlock(&keys_lock);
	/* Read outside the lock: signing must not wait for the store. */
	rc = reg_keys_jwks(app, is, &fresh, e);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&keys_lock);
	for (c = keys_jwks; c != NULL; c = c->next)
		if (c->store == app->store && strcmp(c->iss, is->iss) == 0)
			break;
	if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL) {
		if ((c->iss = strdup(is->iss)) == NULL) {
			free(c);
			c = NULL;
		} else {
			c->store = app->store;
			c->next = keys_jwks;
			keys_jwks = c;
		}
	}
	/* Without room for the cache the set is still good for this call. */
	if (c != NULL) {
		json_decref(c->jwks);
		c->jwks = json_incref(fresh);
		c->loaded_ms = mono;
	}
	pthread_mutex_unlock(&keys_lock);
	*jwks = fresh;
	return 0;
}

/* Forget what this process cached for is: the next signature and JWKS read the store. */
static void
keys_cache_drop(struct porten *app, const struct issuer *is)
{
	pthread_mutex_lock(&keys_lock);
	for (struct key_cache *c = keys_cache; c != NULL; c = c->next)
		if (c->store == app->store && strcmp(c->iss, is->iss) == 0)
			c->current = NULL;
	for (struct jwks_cache *c = keys_jwks; c != NULL; c = c->next)
		if (c->store == app->store && strcmp(c->iss, is->iss) == 0)
			c->loaded_ms = INT64_MIN / 2;
	pthread_mutex_unlock(&keys_lock);
}

int
reg_keys_rotate(struct porten *app, const struct issuer *is, char **kid, struct err *e)
{
	struct store_key *keys = NULL;
	size_t n = 0;
	int64_t now = time_now(), at = now + app->cfg->key_publish_delay, valid_until;
	char *new_kid = NULL;
	const char *uri, *pin, *name;
	int rc;

	*kid = NULL;
	hsm_cfg(app->cfg, is->kind, &uri, &pin, &name);
	if (uri != NULL)
		return ERR(e, ERR_INVAL, 400, NULL,
			   "%s signs with a key in a PKCS#11 token (%s): rotate it on the token",
			   is->iss, name);
	rc = store_call(app->store, registry, key_list, is->iss, &keys, &n, e);
	if (rc != 0)
		goto out;
	/* Nothing signs now (no key yet): the new key has no one to wait for. */
	if (pick_signing(keys, n, now, &valid_until) == NULL)
		at = now;
	store_keys_free(keys, n);
	keys = NULL;
	n = 0;
	/* Publish the successor first, so there is always a key that signs. */
	rc = key_create(app, is, at, &new_kid, e);
	if (rc != 0)
		goto out;
	rc = store_call(app->store, registry, key_list, is->iss, &keys, &n, e);
	if (rc != 0)
		goto out;
	/* Every earlier key stops signing when the successor starts. */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i].kid, new_kid) == 0)
			continue;
		if (keys[i].retired_at != 0 && keys[i].retired_at <= at)
			continue;
		rc = store_call(app->store, registry, key_retire, keys[i].kid, at, at + KEY_RETIRED_MARGIN, e);
		if (rc != 0)
			goto out;
		log_info(NULL, "signing key %s of %s retires at %lld", keys[i].kid, is->iss,
			 (long long)at);
	}
	*kid = new_kid;
	new_kid = NULL;
out:
	free(new_kid);
	store_keys_free(keys, n);
	/* Let this process see the new state at once. */
	keys_cache_drop(app, is);
	return rc;
}

/* A key withdrawn while it waited to start: retired no later than it would sign, it never signs. */
static bool
key_withdrawn_waiting(const struct store_key *k)
{
	return k->retired_at != 0 && k->retired_at <= k->active_from;
}

/*
 * Take the claim the format names, an insert-if-absent row in the store's
 * meta values, so that one node of many acts: 0 when this node has it,
 * ERR_EXISTS when another node took it first or the name does not fit
 * (then nobody acts), else the store's error.
 */
static int __attribute__((format(printf, 3, 4)))
key_claim(struct porten *app, struct err *e, const char *fmt, ...)
{
	char claim[KEY_CLAIM_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(claim, sizeof(claim), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(claim))
		return ERR_EXISTS;
	return store_call(app->store, registry, meta_put_new, claim, "claimed", e);
}

/*
 * No key signs now (every key retired, none in waiting has started): a new
 * key signs at once rather than tokens failing until a restart.  The claim
 * names the minute, so one node of many repairs, and a failed attempt is
 * tried again on the next tick.
 */
static int
keys_repair(struct porten *app, const struct issuer *is, int64_t now, char **kid, struct err *e)
{
	int rc;

	rc = key_claim(app, e, "key_repair %s %lld", is->iss, (long long)(now / 60));
	if (rc != 0)
		return rc == ERR_EXISTS ? 0 : rc;
	rc = key_create(app, is, now, kid, e);
	keys_cache_drop(app, is);
	if (rc == 0)
		log_warn(NULL, "no key of %s signed: key %s signs from now", is->iss, *kid);
	return rc;
}

/*
 * Withdrawing a successor in waiting (gone): the keys reg_keys_rotate set to
 * retire when it starts sign on until the next key in waiting starts, or
 * with no end when none waits, so no moment is left without a key that
 * signs.  keys[0..n) excludes gone.
 */
static int
keys_unretire(struct porten *app, const struct issuer *is, const struct store_key *keys,
	      size_t n, const struct store_key *gone, struct err *e)
{
	int64_t start = gone->active_from, next = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		const struct store_key *k = &keys[i];

		if (k->active_from < start || key_withdrawn_waiting(k))
			continue;
		if (next == 0 || k->active_from < next)
			next = k->active_from;
	}
	if (next == start)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (keys[i].retired_at != start)
			continue;
		rc = store_call(app->store, registry, key_retire, keys[i].kid, next,
				next != 0 ? next + KEY_RETIRED_MARGIN : 0, e);
		if (rc != 0)
			return rc;
		log_info(NULL, "signing key %s of %s no longer retires at %lld (its successor %s "
			       "is withdrawn)", keys[i].kid, is->iss, (long long)start, gone->kid);
	}
	return 0;
}

/*
 * key_lifetime: the signing key's successor is published key_publish_delay
 * before the key has signed for key_lifetime, so it signs from that moment.
 * Every node ticks; the store's insert-if-absent meta row, named after the
 * key being replaced and the round, lets exactly one of them rotate.
 *
 * Round r of a key falls key_publish_delay before it has signed for r
 * lifetimes.  Round 1 normally ends its signing.  When the operator
 * withdraws the successor while it waits, the key signs on (keys_unretire)
 * and the claim of round 1 stands, so the next ticks leave the withdrawal
 * as it is, and the key is rotated again at round 2: one key_lifetime
 * after the withdrawn successor was made.  Round 1's claim keeps the name
 * it had before rounds were counted, so nodes of both versions contend
 * for the same row during an upgrade.
 */
int
reg_keys_rotate_due(struct porten *app, const struct issuer *is, char **kid, struct err *e)
{
	struct store_key *keys = NULL;
	const struct store_key *cur;
	const char *uri, *pin, *name;
	size_t n = 0;
	int64_t now = time_now(), valid_until, round, age;
	bool waiting = false;
	int rc;

	*kid = NULL;
	hsm_cfg(app->cfg, is->kind, &uri, &pin, &name);
	if (uri != NULL)
		return 0;
	rc = store_call(app->store, registry, key_list, is->iss, &keys, &n, e);
	if (rc != 0)
		return rc;
	cur = pick_signing(keys, n, now, &valid_until);
	if (cur == NULL) {
		store_keys_free(keys, n);
		return keys_repair(app, is, now, kid, e);
	}
	if (app->cfg->key_lifetime <= 0) {
		store_keys_free(keys, n);
		return 0;
	}
	/* A successor already waits (rotated by hand or by another node). */
	for (size_t i = 0; i < n; i++)
		if (keys[i].active_from > now && !key_withdrawn_waiting(&keys[i]))
			waiting = true;
	if (waiting) {
		store_keys_free(keys, n);
		return 0;
	}
	age = now - cur->active_from;
	round = (age + app->cfg->key_publish_delay) / app->cfg->key_lifetime;
	if (round < 1) {
		store_keys_free(keys, n);
		return 0;
	}
	if (round == 1)
		rc = key_claim(app, e, "key_rotation %s %s", is->iss, cur->kid);
	else
		rc = key_claim(app, e, "key_rotation %s %s %lld", is->iss, cur->kid,
			       (long long)round);
	store_keys_free(keys, n);
	if (rc != 0)
		return rc == ERR_EXISTS ? 0 : rc;
	rc = reg_keys_rotate(app, is, kid, e);
	if (rc == 0)
		log_info(NULL, "signing key of %s has signed for %lld s: key %s succeeds it",
			 is->iss, (long long)age, *kid);
	return rc;
}

int
reg_keys_withdraw(struct porten *app, const struct issuer *is, const char *kid,
		  char **successor, struct err *e)
{
	struct store_key *keys = NULL;
	const struct jose_signer *hsm = NULL;
	size_t n = 0, at = 0;
	int64_t now = time_now(), valid_until;
	bool found = false;
	int rc;

	if (successor != NULL)
		*successor = NULL;
	rc = hsm_get(app, is, &hsm, e);
	if (rc != 0)
		return rc;
	rc = store_call(app->store, registry, key_list, is->iss, &keys, &n, e);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n && !found; i++)
		if (strcmp(keys[i].kid, kid) == 0) {
			found = true;
			at = i;
		}
	if (!found) {
		rc = ERR(e, ERR_NOTFOUND, 404, NULL, "%s publishes no key %.64s", is->iss, kid);
		goto out;
	}
	/*
	 * Without it, would a key sign now?  If not, a new key signs at once:
	 * a compromised key cannot wait out key_publish_delay.  The new key
	 * comes first, so there is always one that signs.
	 */
	if (hsm == NULL) {
		struct store_key gone = keys[at];

		keys[at] = keys[n - 1];
		keys[n - 1] = gone;
		if (gone.active_from > now) {
			rc = keys_unretire(app, is, keys, n - 1, &keys[n - 1], e);
			if (rc != 0)
				goto out;
		}
		if (pick_signing(keys, n - 1, now, &valid_until) == NULL) {
			char *next = NULL;

			rc = key_create(app, is, now, &next, e);
			if (rc != 0)
				goto out;
			if (successor != NULL)
				*successor = next;
			else
				free(next);
		}
	}
	/* Out of the JWKS and the key list now: expires_at is not after now. */
	rc = store_call(app->store, registry, key_retire, kid, now, now, e);
	if (rc != 0)
		goto out;
	log_warn(NULL, "signing key %s of %s withdrawn: out of the JWKS and no longer signing",
		 kid, is->iss);
out:
	store_keys_free(keys, n);
	keys_cache_drop(app, is);
	return rc;
}

static json_t *
iso_or_null(int64_t t)
{
	char ts[32];

	if (t == 0)
		return json_null();
	reg_iso_time(t, ts);
	return json_string(ts);
}

int
reg_keys_list(struct porten *app, const struct issuer *is, json_t **list, struct err *e)
{
	struct store_key *keys = NULL;
	const struct store_key *signing;
	json_t *out = NULL;
	size_t n = 0;
	int64_t now = time_now(), valid_until;
	int rc;

	*list = NULL;
	rc = store_call(app->store, registry, key_list, is->iss, &keys, &n, e);
	if (rc != 0)
		return rc;
	keys_sort(keys, n);
	signing = pick_signing(keys, n, now, &valid_until);
	out = json_array();
	if (out == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const struct store_key *k = &keys[i];
		const char *state = "published";
		json_t *row;

		if (k->expires_at != 0 && k->expires_at <= now)
			continue;
		if (k == signing)
			state = "signing";
		else if (k->retired_at != 0 && k->retired_at <= now)
			state = "retired";
		else if (k->active_from > now)
			state = "pending";
		row = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "kid", k->kid, "alg",
				k->alg ? k->alg : KEY_ALG, "state", state, "created",
				iso_or_null(k->created), "active_from", iso_or_null(k->active_from),
				"retired_at", iso_or_null(k->retired_at), "expires_at",
				iso_or_null(k->expires_at));
		if (json_array_append_new(out, row) != 0)
			goto nomem;
	}
	store_keys_free(keys, n);
	*list = out;
	return 0;
nomem:
	store_keys_free(keys, n);
	json_decref(out);
	return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

void
reg_keys_cleanup(void)
{
	pthread_mutex_lock(&keys_lock);
	while (keys_loaded != NULL) {
		struct loaded_key *l = keys_loaded;

		keys_loaded = l->next;
		jose_key_free(l->key);
		free(l);
	}
	while (keys_hsm != NULL) {
		struct hsm_key *h = keys_hsm;

		keys_hsm = h->next;
		jose_signer_free(h->signer);
		free(h->iss);
		free(h);
	}
	while (keys_cache != NULL) {
		struct key_cache *c = keys_cache;

		keys_cache = c->next;
		free(c->iss);
		free(c);
	}
	while (keys_jwks != NULL) {
		struct jwks_cache *c = keys_jwks;

		keys_jwks = c->next;
		json_decref(c->jwks);
		free(c->iss);
		free(c);
	}
	pthread_mutex_unlock(&keys_lock);
}

/*
 * KEK rotation (portenctl kek rotate): every stored key of the issuer that
 * opens only under kek_previous is sealed anew under the KEK.  First every
 * key is opened, so a key that opens under neither stops the rotation
 * before anything is written; then each is replaced alone, and only while
 * it still holds the text read (two rotations at once re-seal it once).
 * Nodes started with both KEKs open every key throughout.
 */
int
reg_keys_reseal(struct porten *app, const struct issuer *is, size_t *resealed, size_t *current,
		struct err *e)
{
	struct store_key *keys = NULL;
	size_t n = 0, i;
	int rc;

	*resealed = *current = 0;
	if (!app->has_kek_previous)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "a KEK rotation needs kek_previous (the KEK the keys are sealed "
			   "with now) beside kek (the new one)");
	rc = store_call(app->store, registry, key_list, is->iss, &keys, &n, e);
	if (rc != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		struct jose_key *k = NULL;
		bool old;

		rc = key_unseal(app, &keys[i], &k, &old, e);
		jose_key_free(k);
		if (rc != 0) {
			char why[sizeof(e->msg)];

			snprintf(why, sizeof(why), "%s", e->msg);
			rc = ERR(e, rc, 0, NULL, "key %s of %s opens under neither KEK (%s): nothing "
				 "changed", keys[i].kid, is->iss, why);
		}
	}
	for (i = 0; i < n && rc == 0; i++) {
		struct jose_key *k = NULL;
		char *sealed = NULL;
		bool old;

		rc = key_unseal(app, &keys[i], &k, &old, e);
		if (rc == 0 && !old) {
			(*current)++;
		} else if (rc == 0) {
			rc = jose_key_seal(k, &app->kek, &sealed, e);
			if (rc == 0)
				rc = store_call(app->store, registry, key_reseal, keys[i].kid,
						keys[i].sealed, sealed, e);
			if (rc == ERR_NOTFOUND) {
				/* re-sealed (or removed) by another rotation meanwhile */
				rc = 0;
				(*current)++;
			} else if (rc == 0) {
				(*resealed)++;
			}
		}
		if (sealed != NULL)
			secure_wipe(sealed, strlen(sealed));
		free(sealed);
		jose_key_free(k);
	}
	store_keys_free(keys, n);
	return rc;
}
