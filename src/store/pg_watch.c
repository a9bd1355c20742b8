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
 * portenctl, psql), naming the changed table's schema.  Each notification
 * about the schema the watch's connection works in moves the store's epoch
 * on, and the cache labels what it keeps with the epoch: a label that is
 * not the current epoch is old.
 *
 * The watch vouches for the epoch only while it hears from the database.
 * Every PG_WATCH_BEAT_MS it reads registry_gen itself, so a change it was
 * not told of still moves the epoch; a (re)connection moves it too, since
 * notifications sent while it was away are lost.  It vouches until
 * PG_WATCH_LIVE_MS after the last answered read went out; past that,
 * store_pg_watch() says so and the cache reads registry_gen for every
 * request again, as without the watch, until the watch is back.  A slow
 * answer is waited for, not given up on (a busy database gets no new
 * connection from the watch); failures are retried after a pause that
 * doubles up to PG_WATCH_PAUSE_MAX, and logged once per outage.
 *
 * What this gives up: a change made on another node or by portenctl is
 * seen once its notification has arrived (under a millisecond on a quiet
 * network; PG_WATCH_LIVE_MS at worst, when the watch's connection silently
 * dies), not with the very next request.  The self-service API promises
 * two minutes (spec/selfservice-api.md §1).  A node's own change moves its
 * epoch at once, and once more when the transaction that made it ends
 * (store_pg_watch_moved, store_pg_watch_tx_ended): a copy cached while it
 * was uncommitted is old after the commit or the rollback.
 *
 * Stopping waits for the thread, which may be inside a connection attempt
 * (libpq's connect_timeout, 3 s by default).
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
#define PG_WATCH_SCHEMA_MAX 64    /* a schema name (NAMEDATALEN) */
#define PG_WATCH_PAUSE_MAX 5000   /* the longest wait between two failed attempts */
#define PG_WATCH_GEN_SQL "SELECT value FROM meta WHERE name = 'registry_gen'"

struct pg_watch {
	struct pg_store *ps;
	pthread_t thread;
	int wake[2];                 /* a byte on wake[1] stops the thread */
	_Atomic uint64_t epoch;
	_Atomic int64_t live_until;  /* monotonic ms; 0: not watching */
	/* the thread's own */
	PGconn *db;
	char schema[PG_WATCH_SCHEMA_MAX]; /* the connection's current_schema(); "" any */
	char gen[PG_WATCH_GEN_MAX];  /* the last registry_gen read */
	int64_t next;                /* when the next read goes out */
	int64_t sent;                /* when the read in flight went out; 0: none */
	int64_t pause;               /* the wait after the next failure */
	bool down;                   /* failing since the last answer (logged once) */
};

/* A change made by the thread's transaction: its end moves the epoch once more. */
static _Thread_local const struct pg_store *watch_dirty;

/*
 * Wait for the watch's socket (or the wake pipe) until the monotonic ms
 * until: 1 readable, 0 not, -1 stop.
 */
static int
watch_wait(struct pg_watch *w, int64_t until)
{
	struct pollfd fd[2] = { { .fd = w->wake[0], .events = POLLIN },
				{ .fd = w->db != NULL ? PQsocket(w->db) : -1, .events = POLLIN } };
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

/* A failure: logged once until the next answer, the connection dropped. */
static void
watch_fail(struct pg_watch *w, const char *what, const char *why)
{
	size_t n;
	char line[256];

	if (!w->down) {
		snprintf(line, sizeof(line), "%s", why != NULL ? why : "");
		for (n = 0; line[n] != '\0'; n++)
			if (line[n] == '\n')
				line[n] = ' ';
		log_warn(NULL, "store: registry watch %s: %s", what, line);
	}
	w->down = true;
	atomic_store(&w->live_until, 0);
	PQfinish(w->db);
	w->db = NULL;
	w->sent = 0;
	/* what happens until the next connection goes unheard */
	watch_move(w);
}

/* Wait w->pause (doubling it up to PG_WATCH_PAUSE_MAX): -1 to stop. */
static int
watch_pause(struct pg_watch *w)
{
	int64_t pause = w->pause;

	w->pause = pause * 2 < PG_WATCH_PAUSE_MAX ? pause * 2 : PG_WATCH_PAUSE_MAX;
	return watch_wait(w, time_mono_ms() + pause) < 0 ? -1 : 0;
}

/* One value of a one-row, one-column query on the watch's connection, or NULL. */
static PGresult *
watch_exec(struct pg_watch *w, const char *sql, ExecStatusType want)
{
	PGresult *res = PQexec(w->db, sql);

	if (PQresultStatus(res) == want)
		return res;
	watch_fail(w, "cannot start", PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

/* Connect, LISTEN and learn the schema whose changes count: 0, or -1. */
static int
watch_connect(struct pg_watch *w)
{
	struct pg_conn c = { 0 };
	char why[256];
	PGresult *res;

	if (store_pg_connect_once(w->ps, &c, "portend-watch", why, sizeof(why)) != 0) {
		watch_fail(w, "cannot connect", why);
		return -1;
	}
	w->db = c.db;
	res = watch_exec(w, "LISTEN " PG_WATCH_CHANNEL, PGRES_COMMAND_OK);
	if (res == NULL)
		return -1;
	PQclear(res);
	/* the trigger names the changed table's schema: another schema's changes are not ours */
	res = watch_exec(w, "SELECT current_schema()", PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	w->schema[0] = '\0';
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
	    PQgetlength(res, 0, 0) < PG_WATCH_SCHEMA_MAX)
		memcpy(w->schema, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0) + 1);
	PQclear(res);
	/* notifications sent while it was away are lost: whatever was cached is old */
	watch_move(w);
	w->next = time_mono_ms();
	w->sent = 0;
	return 0;
}

/* Take the notifications that have arrived; the epoch moves if one is about our schema. */
static void
watch_drain(struct pg_watch *w)
{
	PGnotify *n;
	bool ours = false;

	while ((n = PQnotifies(w->db)) != NULL) {
		ours = ours || w->schema[0] == '\0' || strcmp(n->extra, w->schema) == 0;
		PQfreemem(n);
	}
	if (ours)
		watch_move(w);
}

/*
 * The answer to the read in flight, once it is complete: 0 when it came
 * (the epoch moved if registry_gen did; the watch vouches until the time
 * the read went out plus PG_WATCH_LIVE_MS), -1 when it failed.
 */
static int
watch_answer(struct pg_watch *w)
{
	PGresult *res;
	const char *why = NULL;
	bool ok = false;

	while ((res = PQgetResult(w->db)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		    !PQgetisnull(res, 0, 0) && PQgetlength(res, 0, 0) < PG_WATCH_GEN_MAX) {
			if (strcmp(w->gen, PQgetvalue(res, 0, 0)) != 0) {
				memcpy(w->gen, PQgetvalue(res, 0, 0),
				       (size_t)PQgetlength(res, 0, 0) + 1);
				watch_move(w);
			}
			ok = true;
		} else if (why == NULL) {
			why = PQresultStatus(res) == PGRES_TUPLES_OK ? "registry_gen missing"
								     : "the read failed";
		}
		PQclear(res);
	}
	if (!ok) {
		watch_fail(w, "cannot read registry_gen", why);
		return -1;
	}
	atomic_store(&w->live_until, w->sent + PG_WATCH_LIVE_MS);
	if (w->down)
		log_info(NULL, "store: registry watch back");
	w->down = false;
	w->pause = PG_RETRY_SLEEP_MS;
	w->next = w->sent + PG_WATCH_BEAT_MS;
	w->sent = 0;
	return 0;
}

/*
 * One turn: send the read when it is due, wait for the database, take
 * what came.  A slow answer is waited for, never given up on: the watch
 * simply stops vouching once PG_WATCH_LIVE_MS has passed without one (a
 * database too busy to answer gets no new connection from the watch).
 * -1 to stop.
 */
static int
watch_turn(struct pg_watch *w)
{
	int64_t now = time_mono_ms();
	int got;

	if (w->sent == 0 && now >= w->next) {
		if (PQsendQuery(w->db, PG_WATCH_GEN_SQL) != 1) {
			watch_fail(w, "cannot read registry_gen", PQerrorMessage(w->db));
			return 0;
		}
		w->sent = now;
	}
	got = watch_wait(w, w->sent != 0 ? now + PG_WATCH_LIVE_MS : w->next);
	if (got < 0)
		return -1;
	if (got == 0)
		return 0;
	if (PQconsumeInput(w->db) != 1) {
		watch_fail(w, "lost its connection", PQerrorMessage(w->db));
		return 0;
	}
	watch_drain(w);
	if (w->sent != 0 && !PQisBusy(w->db) && watch_answer(w) == 0)
		watch_drain(w);
	return 0;
}

static void *
watch_main(void *arg)
{
	struct pg_watch *w = arg;

	w->pause = PG_RETRY_SLEEP_MS;
	for (;;) {
		if (w->db == NULL && watch_connect(w) != 0) {
			if (watch_pause(w) < 0)
				break;
			continue;
		}
		if (watch_turn(w) < 0)
			break;
		if (w->db == NULL && watch_pause(w) < 0)
			break;
	}
	atomic_store(&w->live_until, 0);
	PQfinish(w->db);
	w->db = NULL;
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

	/* uncommitted yet: what another request caches meanwhile is old at the end */
	if (store_pool_tx_depth(&ps->super) > 0)
		watch_dirty = ps;
	if (w != NULL)
		watch_move(w);
}

void
store_pg_watch_tx_ended(struct pg_store *ps)
{
	if (watch_dirty != ps || store_pool_tx_depth(&ps->super) > 0)
		return;
	/* committed or rolled back: a copy cached in between, of either, is old */
	watch_dirty = NULL;
	store_pg_watch_moved(ps);
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
