/*
 * The registry watch of the PostgreSQL store.
 *
 * Every request that looks up a client or a scope used to read
 * meta.registry_gen first, to know whether the node's parsed copies
 * (registry/cache.c) were still current: on PostgreSQL a statement and a
 * round trip, four per login, 7-8% of a login's CPU with PostgreSQL's.
 * Instead, a thread with a connection of its own LISTENs on the channel
 * porten_registry, which the trigger of migration 13 notifies at the
 * commit of every change to clients and scopes, whoever made it (a node,
 * portenctl, psql).  Each notification moves the store's epoch on, and the
 * cache labels what it keeps with the epoch: a label that is not the
 * current epoch is old.
 *
 * The watch vouches for the epoch only while it hears from the database.
 * Every PG_WATCH_BEAT_MS it reads registry_gen itself, so a change it was
 * not told of still moves the epoch; a (re)connection moves it too, since
 * notifications sent while it was away are lost.  When no answer has come
 * for PG_WATCH_LIVE_MS, store_pg_watch() says so and the cache reads
 * registry_gen for every request again, as without the watch, until the
 * watch is back.
 *
 * What this gives up: a change made on another node or by portenctl is
 * seen once its notification has arrived (under a millisecond on a quiet
 * network; PG_WATCH_LIVE_MS at worst, when the watch's connection silently
 * dies), not with the very next request.  The self-service API promises
 * two minutes (spec/selfservice-api.md §1).  A node's own changes move its
 * epoch at once (store_pg_watch_moved).
 */
#ifdef HAVE_LIBPQ

#include "store/pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"

#define PG_WATCH_CHANNEL "porten_registry"
#define PG_WATCH_GEN_MAX 64       /* registry_gen: "<count>-<16 hex>" */

struct pg_watch {
	struct pg_store *ps;
	pthread_t thread;
	int wake[2];                 /* a byte on wake[1] stops the thread */
	_Atomic uint64_t epoch;
	_Atomic int64_t live_until;  /* monotonic ms; 0: not watching */
	char gen[PG_WATCH_GEN_MAX];  /* the last registry_gen read (the thread's own) */
};

/*
 * Wait for db's socket (or the wake pipe) until the monotonic ms until: 1
 * readable, 0 not, -1 stop.
 */
static int
watch_wait(struct pg_watch *w, PGconn *db, int64_t until)
{
	struct pollfd fd[2] = { { .fd = w->wake[0], .events = POLLIN },
				{ .fd = db != NULL ? PQsocket(db) : -1, .events = POLLIN } };
	int64_t left = until - time_mono_ms();
	int n;

	if (left < 0)
		left = 0;
	do
		n = poll(fd, 2, (int)left);
	while (n < 0 && errno == EINTR);
	if (n > 0 && (fd[0].revents & POLLIN) != 0)
		return -1;
	return n > 0 && fd[1].revents != 0 ? 1 : 0;
}

static void
watch_move(struct pg_watch *w)
{
	atomic_fetch_add(&w->epoch, 1);
}

/* Take the notifications that have arrived: true when there was one. */
static bool
watch_drain(PGconn *db)
{
	PGnotify *n;
	bool any = false;

	while ((n = PQnotifies(db)) != NULL) {
		any = true;
		PQfreemem(n);
	}
	return any;
}

/*
 * Read registry_gen on the watch's connection, waiting at most
 * PG_WATCH_LIVE_MS: 0 when it answered (the epoch moved if the value did),
 * -1 when the connection is to be dropped, -2 to stop.
 */
static int
watch_beat(struct pg_watch *w, PGconn *db)
{
	int64_t until = time_mono_ms() + PG_WATCH_LIVE_MS;
	PGresult *res;
	int ok = -1, got;

	if (PQsendQuery(db, "SELECT value FROM meta WHERE name = 'registry_gen'") != 1)
		return -1;
	while (PQisBusy(db)) {
		got = watch_wait(w, db, until);
		if (got < 0)
			return -2;
		if (got == 0 || PQconsumeInput(db) != 1)
			return -1;
	}
	while ((res = PQgetResult(db)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		    !PQgetisnull(res, 0, 0) && PQgetlength(res, 0, 0) < PG_WATCH_GEN_MAX) {
			if (strcmp(w->gen, PQgetvalue(res, 0, 0)) != 0) {
				snprintf(w->gen, sizeof(w->gen), "%s", PQgetvalue(res, 0, 0));
				watch_move(w);
			}
			ok = 0;
		}
		PQclear(res);
	}
	return ok;
}

/* Connect and LISTEN: the connection, or NULL (the reason is logged once per outage). */
static PGconn *
watch_connect(struct pg_watch *w, bool *warned)
{
	struct pg_conn c = { 0 };
	char why[256];
	PGresult *res;

	if (store_pg_connect_once(w->ps, &c, "portend-watch", why, sizeof(why)) != 0) {
		if (!*warned)
			log_warn(NULL, "store: registry watch cannot connect: %s", why);
		*warned = true;
		return NULL;
	}
	res = PQexec(c.db, "LISTEN " PG_WATCH_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (!*warned)
			log_warn(NULL, "store: registry watch cannot LISTEN: %s",
				 PQresultErrorMessage(res));
		*warned = true;
		PQclear(res);
		PQfinish(c.db);
		return NULL;
	}
	PQclear(res);
	if (*warned)
		log_info(NULL, "store: registry watch back");
	*warned = false;
	return c.db;
}

static void
watch_drop(struct pg_watch *w, PGconn **db)
{
	atomic_store(&w->live_until, 0);
	PQfinish(*db);
	*db = NULL;
	/* what happens until the next connection goes unheard */
	watch_move(w);
}

static void *
watch_main(void *arg)
{
	struct pg_watch *w = arg;
	PGconn *db = NULL;
	int64_t beat = 0, now;
	bool warned = false;
	int got;

	for (;;) {
		if (db == NULL) {
			db = watch_connect(w, &warned);
			if (db == NULL) {
				if (watch_wait(w, NULL, time_mono_ms() + PG_RETRY_SLEEP_MS) < 0)
					break;
				continue;
			}
			/* the first beat reads registry_gen and vouches for the epoch */
			beat = time_mono_ms();
			watch_move(w);
		}
		now = time_mono_ms();
		if (now >= beat) {
			got = watch_beat(w, db);
			if (got == -2)
				break;
			if (got != 0) {
				/* a database that answers the LISTEN but not the read: not at once again */
				watch_drop(w, &db);
				if (watch_wait(w, NULL, time_mono_ms() + PG_RETRY_SLEEP_MS) < 0)
					break;
				continue;
			}
			now = time_mono_ms();
			atomic_store(&w->live_until, now + PG_WATCH_LIVE_MS);
			beat = now + PG_WATCH_BEAT_MS;
		}
		if (watch_drain(db))
			watch_move(w);
		got = watch_wait(w, db, beat);
		if (got < 0)
			break;
		if (got > 0 && PQconsumeInput(db) != 1)
			watch_drop(w, &db);
		else if (got > 0 && watch_drain(db))
			watch_move(w);
	}
	atomic_store(&w->live_until, 0);
	PQfinish(db);
	return NULL;
}

/* Start the watch of ps once; false when it cannot run (then there is none). */
static bool
watch_start(struct pg_store *ps)
{
	struct pg_watch *w;
	bool ok = false;

	pthread_mutex_lock(&ps->pool.mu);
	if (ps->watch_tried) {
		ok = ps->watch != NULL;
		goto out;
	}
	ps->watch_tried = true;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto out;
	w->ps = ps;
	if (pipe(w->wake) != 0) {
		free(w);
		goto out;
	}
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		close(w->wake[0]);
		close(w->wake[1]);
		free(w);
		goto out;
	}
	ps->watch = w;
	ok = true;
out:
	pthread_mutex_unlock(&ps->pool.mu);
	return ok;
}

int
store_pg_watch(struct pg_store *ps, uint64_t *epoch)
{
	struct pg_watch *w = atomic_load(&ps->watch);
	int64_t live;

	if (w == NULL && !watch_start(ps))
		return -1;
	w = atomic_load(&ps->watch);
	live = atomic_load(&w->live_until);
	if (live == 0 || time_mono_ms() >= live)
		return -1;
	*epoch = atomic_load(&w->epoch);
	return 0;
}

void
store_pg_watch_moved(struct pg_store *ps)
{
	struct pg_watch *w = atomic_load(&ps->watch);

	if (w != NULL)
		watch_move(w);
}

void
store_pg_watch_stop(struct pg_store *ps)
{
	struct pg_watch *w = atomic_load(&ps->watch);
	ssize_t n;

	if (w == NULL)
		return;
	do
		n = write(w->wake[1], "x", 1);
	while (n < 0 && errno == EINTR);
	pthread_join(w->thread, NULL);
	close(w->wake[0]);
	close(w->wake[1]);
	free(w);
	ps->watch = NULL;
}

#endif /* HAVE_LIBPQ */
