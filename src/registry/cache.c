/*
 * Clients and scopes kept parsed in memory for the request paths.
 *
 * Every login reads its client several times and every token its scopes;
 * reading the row and parsing its JSON each time was a tenth of a login's
 * CPU.  The store counts every change to the clients and scopes tables in
 * meta.registry_gen (a trigger, in the changing transaction, whichever
 * node or portenctl made it), so one small read tells whether a cached
 * document is still current: a change is seen by the next request on
 * every node, as without the cache.  A store that watches for changes
 * itself (PostgreSQL, store/pg_watch.c) gives an epoch instead, read
 * without a statement: a change made elsewhere is then seen once the
 * database's notification of it has reached the node (within a
 * millisecond or so), a change of the node's own at once.
 *
 * A slot is labelled with the generation read *before* its document was
 * loaded, so a change that lands in between makes the slot look old, never
 * new.  The generation is compared whole, as text: it carries a random
 * part, so a database restored from a backup (whose count may come round
 * to a value seen before) never matches an old label.  Unknown names are
 * not cached.
 *
 * Callers share the cached document (a reference, not a copy): a deep
 * copy of a client with its keys was 2-5% of a token's CPU.  So a caller
 * must never change what it is given (json_deep_copy first; the registry's
 * own writes read the store directly).  Jansson counts references
 * atomically and reads, dumps and copies without writing to the value,
 * so threads may share one.  Builds without NDEBUG (the sanitizer build
 * the tests run) keep a copy beside every slot and abort when a document
 * no longer equals it, so a caller that breaks the rule fails the tests.
 *
 * A client's slot also holds its record (client.h), parsed once when the
 * document is loaded and handed out by reference: the slot owns one
 * reference, each caller of reg_cache_client() another.  A document that
 * does not parse is still cached (reg_client_load's readers take it as it
 * is); its record is NULL, and reg_cache_client() parses again to say why.
 */
#include "registry/client.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/str.h"
#include "http/http.h"
#include "store/store.h"

#define CACHE_SLOTS 1024          /* power of two; more clients than this only evict */
#define CACHE_GEN "registry_gen"
#define CACHE_GEN_MAX 64          /* "<count>-<16 hex>" */

struct slot {
	char kind;                /* 'c' client, 's' scope; 0 empty */
	char *name;
	json_t *doc;
	struct client *client;    /* kind 'c': the parsed record, or NULL if it did not parse */
	char gen[CACHE_GEN_MAX];
#ifndef NDEBUG
	json_t *pristine;         /* a copy taken when stored, to catch a caller's change */
#endif
};

static struct {
	pthread_mutex_t mu;
	uint64_t store;          /* serial of the store the slots came from (0: none) */
	struct slot slot[CACHE_SLOTS];
} cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* FNV-1a over kind and name. */
static size_t
slot_of(char kind, const char *name)
{
	uint32_t h = 2166136261u ^ (unsigned char)kind;

	h *= 16777619u;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h & (CACHE_SLOTS - 1);
}

#ifndef NDEBUG
void
reg_shared_check(const json_t *doc, const json_t *pristine, const char *what)
{
	if (doc != NULL && pristine != NULL && !json_equal(doc, pristine)) {
		fprintf(stderr, "registry: the shared document of %s was changed by a caller\n",
			what);
		abort();
	}
}

static void
slot_check(const struct slot *s)
{
	reg_shared_check(s->doc, s->pristine, s->name != NULL ? s->name : "an empty slot");
}
#endif

static void
slot_clear(struct slot *s)
{
#ifndef NDEBUG
	slot_check(s);
	json_decref(s->pristine);
#endif
	free(s->name);
	json_decref(s->doc);
	reg_client_release(s->client);
	memset(s, 0, sizeof(*s));
}

/* Empty every slot, for the store with this serial; under cache.mu. */
static void
cache_clear(uint64_t store)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		slot_clear(&cache.slot[i]);
	cache.store = store;
}

/*
 * The generation this thread read for the request it serves: a login reads
 * its client several times in one request, and one read of the generation
 * (or of the watch's epoch) per request is enough.
 */
static _Thread_local struct {
	uint64_t request;         /* http_request_serial() of the read; 0: none */
	uint64_t store;           /* the store's serial */
	char gen[CACHE_GEN_MAX];
} cache_seen;

/*
 * What labels a current slot now: the store's epoch when it watches for
 * changes itself (only for requests: a command line run of portenctl
 * starts no watch), else registry_gen.  False when neither can be had.
 */
static bool
cache_gen_read(struct porten *app, uint64_t request, char gen[CACHE_GEN_MAX])
{
	struct err e = { 0 };
	uint64_t epoch = 0;
	char *v = NULL;
	size_t n = 0;
	bool ok;

	if (request != 0 && store_call(app->store, registry, registry_epoch, &epoch, &e) == 0 &&
	    epoch != 0) {
		/* "w" and a number: no registry_gen looks like it */
		snprintf(gen, CACHE_GEN_MAX, "w%" PRIu64, epoch);
		return true;
	}
	ok = store_call(app->store, registry, meta_get, CACHE_GEN, &v, &e) == 0 && v != NULL &&
	     (n = strlen(v)) > 0 && n < CACHE_GEN_MAX;
	if (ok)
		memcpy(gen, v, n + 1);
	free(v);
	return ok;
}

/*
 * The store's registry generation into gen, read once per request; false
 * when it cannot say (then no caching).
 */
static bool
cache_gen(struct porten *app, char gen[CACHE_GEN_MAX])
{
	uint64_t request = http_request_serial();

	if (request != 0 && cache_seen.request == request &&
	    cache_seen.store == app->store->serial) {
		memcpy(gen, cache_seen.gen, sizeof(cache_seen.gen));
		return true;
	}
	if (!cache_gen_read(app, request, gen))
		return false;
	memcpy(cache_seen.gen, gen, sizeof(cache_seen.gen));
	cache_seen.request = request;
	cache_seen.store = app->store->serial;
	return true;
}

static int
cache_load(struct porten *app, char kind, const char *name, json_t **doc, struct err *e)
{
	return kind == 'c' ? store_call(app->store, registry, client_get, name, doc, e)
			   : store_call(app->store, registry, scope_get, name, doc, e);
}

/* A client's record, when its document parses (else NULL: the error is the reader's). */
static struct client *
cache_parse(char kind, const json_t *doc)
{
	struct client *c = NULL;
	struct err e = { 0 };

	if (kind == 'c')
		(void)reg_client_parse(doc, &c, &e);
	return c;
}

/*
 * The cached document (and, when cl is given, the record) of name, loaded
 * and parsed on a miss.  *cl is NULL when the document does not parse.
 */
static int
cache_get(struct porten *app, char kind, const char *name, json_t **doc,
	  const struct client **cl, struct err *e)
{
	char gen[CACHE_GEN_MAX];
	bool have_gen = cache_gen(app, gen);
	struct slot *s = &cache.slot[slot_of(kind, name)];
	struct client *parsed = NULL;
	json_t *fresh = NULL;
	char *copy;
	int rc;

	*doc = NULL;
	if (have_gen) {
		pthread_mutex_lock(&cache.mu);
		if (cache.store == app->store->serial && s->kind == kind &&
		    strcmp(s->gen, gen) == 0 && strcmp(s->name, name) == 0) {
#ifndef NDEBUG
			slot_check(s);
#endif
			*doc = json_incref(s->doc);
			if (cl != NULL)
				*cl = reg_client_ref(s->client);
		}
		pthread_mutex_unlock(&cache.mu);
		if (*doc != NULL)
			return 0;
	}
	rc = cache_load(app, kind, name, &fresh, e);
	if (rc != 0)
		return rc;
	parsed = cache_parse(kind, fresh);
	*doc = json_incref(fresh);
	if (cl != NULL)
		*cl = reg_client_ref(parsed);
	if (!have_gen) {
		reg_client_release(parsed);
		json_decref(fresh);
		return 0;
	}
	copy = strdup(name);
	pthread_mutex_lock(&cache.mu);
	if (cache.store != app->store->serial) {
		/* another store (tests open several): nothing cached belongs to it */
		cache_clear(app->store->serial);
	}
	/* the last load wins; if it was the older one, the next load corrects it */
	if (copy != NULL) {
		slot_clear(s);
		s->kind = kind;
		s->name = copy;
		s->doc = fresh;
		s->client = parsed;
		memcpy(s->gen, gen, sizeof(s->gen));
#ifndef NDEBUG
		s->pristine = json_deep_copy(fresh);
#endif
		fresh = NULL;
		parsed = NULL;
	}
	pthread_mutex_unlock(&cache.mu);
	reg_client_release(parsed);
	json_decref(fresh);
	return 0;
}

int
reg_cache_get(struct porten *app, char kind, const char *name, json_t **doc, struct err *e)
{
	return cache_get(app, kind, name, doc, NULL, e);
}

int
reg_cache_client(struct porten *app, const char *name, const struct client **out,
		 struct err *e)
{
	struct client *again = NULL;
	json_t *doc = NULL;
	char why[sizeof(e->msg)];
	int rc;

	*out = NULL;
	rc = cache_get(app, 'c', name, &doc, out, e);
	if (rc == 0 && *out == NULL && !json_is_true(json_object_get(doc, "active"))) {
		/* a deleted client whose row is damaged too: it is simply gone */
		rc = ERR(e, ERR_NOTFOUND, 0, "invalid_client", "unknown client");
	} else if (rc == 0 && *out == NULL) {
		/* a damaged row: say which field, once per request that meets it */
		rc = reg_client_parse(doc, &again, e);
		reg_client_release(again);
		snprintf(why, sizeof(why), "%s", rc != 0 ? e->msg : "?");
		rc = ERR(e, ERR_INTERNAL, 500, "server_error",
			 "stored registration of client %.100s: %s", name, why);
	}
	json_decref(doc);
	return rc;
}

void
reg_cache_cleanup(void)
{
	pthread_mutex_lock(&cache.mu);
	cache_clear(0);
	pthread_mutex_unlock(&cache.mu);
}
