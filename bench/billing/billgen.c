/*
 * A settlement year of authentication events for the billing benchmark
 * (spec/billing.md; not a test): events spread evenly over the year, the
 * customers' volumes falling off as 1/rank (a few large, many small),
 * eIDs in proportions like the real ones, a share of SSO logins; the
 * customers' invoice references and the year's cost entries beside them.
 * The same events for the same seed on both engines. On SQLite they are
 * written through the store's billing facet in time order, as a running
 * service writes them, in transactions of BATCH events; on PostgreSQL
 * with one COPY of the rows that insert would write. Either way the event
 * table's indexes are dropped first and made again from their own
 * definitions after (kept, each insert in time order would update
 * events_billing, ordered by customer and eID, at a random place), and on
 * PostgreSQL the table is vacuumed and analysed, so that tens of millions
 * of events load in minutes.
 *
 *   billgen --store TARGET --year YYYY --events N [--customers C] [--seed S]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "core/log.h"
#include "store/store.h"

#include <sqlite3.h>
#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#define BATCH 20000

/* The first valid organisation number (mod 11) from base upwards. */
static void
orgno_from(unsigned base, char out[10])
{
	static const int w[8] = { 3, 2, 7, 6, 5, 4, 3, 2 };

	for (;; base++) {
		int sum = 0, r;

		snprintf(out, 10, "%08u", base % 100000000u);
		for (int i = 0; i < 8; i++)
			sum += (out[i] - '0') * w[i];
		r = 11 - sum % 11;
		if (r == 10)
			continue;
		out[8] = (char)('0' + (r == 11 ? 0 : r));
		out[9] = '\0';
		return;
	}
}

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* splitmix64: the same seed gives the same year */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const char *const eids[] = { "minid",  "minid",  "minid",  "minid",  "minid",
				    "bankid", "bankid", "bankid", "bankid", "buypass" };

/* The next event: its customer (index into cum), eID and whether it is SSO. */
static void
next_event(const double *cum, long long ncust, long long *cust, const char **eid, bool *sso)
{
	double u = (double)(rng() >> 11) / 9007199254740992.0 * cum[ncust - 1];
	long long lo = 0, hi = ncust - 1;
	uint64_t r = rng();

	*sso = r % 10 < 3;
	*eid = eids[(r >> 8) % 10];
	while (lo < hi) {
		long long mid = (lo + hi) / 2;

		if (cum[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	*cust = lo;
}

static json_t *
event_doc(const char *org, const char *eid, bool sso)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "client_id", "bench", "customer",
			 org, "eid", eid, "acr", "idporten-loa-high", "sso", sso, "test", 0,
			 "billable", !sso);
}

/* Through the store, in transactions of BATCH events. */
static int
put_events(struct store *s, const double *cum, long long ncust, char (*orgs)[10],
	   long long events, int64_t from, int64_t to, struct err *e)
{
	for (long long done = 0; done < events;) {
		if (store_tx_begin(s, e) != 0)
			return -1;
		for (int k = 0; k < BATCH && done < events; k++, done++) {
			long long c;
			const char *eid;
			bool sso;
			json_t *d;
			int rc;

			next_event(cum, ncust, &c, &eid, &sso);
			d = event_doc(orgs[c], eid, sso);
			rc = d ? store_call(s, billing, event_put, "authentication",
					    from + (int64_t)((__int128)done * (to - from) / events),
					    d, e)
			       : ERR_NOMEM;
			json_decref(d);
			if (rc != 0) {
				store_tx_end(s, false, e);
				return -1;
			}
		}
		if (store_tx_end(s, true, e) != 0)
			return -1;
	}
	return 0;
}

/*
 * SQLite: the indexes on the event table (their CREATE statements, *defs,
 * NULL-terminated) dropped, or, with *defs set, made again from them.
 */
static int
sq_indexes(const char *path, char ***defs)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *err = NULL, **names = NULL;
	int rc = -1, n = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 10000);
	if (*defs != NULL) {
		for (char **d = *defs; *d != NULL; d++)
			if (sqlite3_exec(db, *d, NULL, NULL, &err) != SQLITE_OK)
				goto out;
		rc = 0;
		goto out;
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND"
			       " tbl_name = 'events' AND sql IS NOT NULL ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	/* the names first: no DROP while the read of the schema is open */
	*defs = calloc(16, sizeof(**defs));
	names = calloc(16, sizeof(*names));
	while (*defs != NULL && names != NULL && n < 15 && sqlite3_step(st) == SQLITE_ROW) {
		names[n] = sqlite3_mprintf("DROP INDEX \"%w\"", sqlite3_column_text(st, 0));
		(*defs)[n] = strdup((const char *)sqlite3_column_text(st, 1));
		if (names[n] == NULL || (*defs)[n++] == NULL)
			goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (int i = 0; names != NULL && i < n; i++)
		if (sqlite3_exec(db, names[i], NULL, NULL, &err) != SQLITE_OK)
			goto out;
	rc = *defs != NULL && names != NULL && n < 15 ? 0 : -1;
out:
	for (int i = 0; names != NULL && i < n; i++)
		sqlite3_free(names[i]);
	free(names);
	if (err != NULL || (rc != 0 && db != NULL))
		fprintf(stderr, "billgen: %s: %s\n", path, err ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

#ifdef HAVE_LIBPQ
static int
pg_ok(PGconn *db, const char *sql, ExecStatusType want)
{
	PGresult *res = PQexec(db, sql);
	int ok = PQresultStatus(res) == want;

	if (!ok)
		fprintf(stderr, "billgen: %s: %s", sql, PQerrorMessage(db));
	PQclear(res);
	return ok ? 0 : -1;
}

/*
 * The same events as put_events writes, in one COPY: the row the insert
 * (PG_EVENT_ADD) would write, its document serialised as the store
 * serialises it.  The event table's indexes other than its key are
 * dropped first and made again from their own definitions after.
 */
static int
copy_events(const char *target, const double *cum, long long ncust, char (*orgs)[10],
	    long long events, int64_t from, int64_t to)
{
	PGconn *db = PQconnectdb(target);
	PGresult *res = NULL;
	char **defs = NULL, line[512];
	int ndefs = 0, rc = -1;

	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "billgen: %s", PQerrorMessage(db));
		goto out;
	}
	if (pg_ok(db, "SET statement_timeout = 0", PGRES_COMMAND_OK) != 0 ||
	    pg_ok(db, "SET maintenance_work_mem = '256MB'", PGRES_COMMAND_OK) != 0)
		goto out;
	res = PQexec(db, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname ="
			 " current_schema() AND tablename = 'events' AND indexname <> 'events_pkey'"
			 " ORDER BY indexname");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "billgen: the events' indexes: %s", PQerrorMessage(db));
		goto out;
	}
	ndefs = PQntuples(res);
	defs = calloc((size_t)ndefs + 1, sizeof(*defs));
	if (defs == NULL)
		goto out;
	for (int i = 0; i < ndefs; i++) {
		char drop[128];

		defs[i] = strdup(PQgetvalue(res, i, 1));
		snprintf(drop, sizeof(drop), "DROP INDEX \"%s\"", PQgetvalue(res, i, 0));
		if (defs[i] == NULL || pg_ok(db, drop, PGRES_COMMAND_OK) != 0)
			goto out;
	}
	PQclear(res);
	res = PQexec(db, "COPY events (type, time, doc, customer, client_id, eid, acr, sso,"
			 " billable) FROM STDIN");
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		fprintf(stderr, "billgen: COPY: %s", PQerrorMessage(db));
		goto out;
	}
	PQclear(res);
	res = NULL;
	for (long long done = 0; done < events; done++) {
		long long c;
		const char *eid;
		bool sso;
		json_t *d;
		char *txt;
		int n;

		next_event(cum, ncust, &c, &eid, &sso);
		d = event_doc(orgs[c], eid, sso);
		txt = d ? json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		json_decref(d);
		if (txt == NULL)
			goto out;
		/*
		 * COPY's text format reads a backslash as an escape; compact
		 * JSON has no raw tab or newline, and these documents (digits
		 * and fixed names) no escape, so none is needed: checked, not
		 * assumed.
		 */
		if (strchr(txt, '\\') != NULL) {
			fprintf(stderr, "billgen: COPY: a document with an escape: %s\n", txt);
			free(txt);
			goto out;
		}
		n = snprintf(line, sizeof(line),
			     "authentication\t%" PRId64 "\t%s\t%s\tbench\t%s\tidporten-loa-high\t%s\t%s\n",
			     from + (int64_t)((__int128)done * (to - from) / events), txt, orgs[c],
			     eid, sso ? "t" : "f", sso ? "f" : "t");
		free(txt);
		if (n < 0 || (size_t)n >= sizeof(line) || PQputCopyData(db, line, n) != 1) {
			fprintf(stderr, "billgen: COPY: %s", PQerrorMessage(db));
			goto out;
		}
	}
	if (PQputCopyEnd(db, NULL) != 1)
		goto out;
	res = PQgetResult(db);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "billgen: COPY: %s", PQerrorMessage(db));
		goto out;
	}
	PQclear(res);
	res = NULL;
	for (int i = 0; i < ndefs; i++)
		if (pg_ok(db, defs[i], PGRES_COMMAND_OK) != 0)
			goto out;
	rc = pg_ok(db, "VACUUM ANALYZE events", PGRES_COMMAND_OK);
out:
	if (res != NULL)
		PQclear(res);
	for (int i = 0; defs != NULL && i < ndefs; i++)
		free(defs[i]);
	free(defs);
	PQfinish(db);
	return rc;
}
#endif

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' }, { "year", required_argument, NULL, 'y' },
		{ "events", required_argument, NULL, 'n' },
		{ "customers", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	const char *target = NULL;
	long long events = 1000000, ncust = 2000;
	int year = 2025, ch, rc;
	struct store *s = NULL;
	struct err e = { 0 };
	int64_t from, to;
	double *cum;
	char (*orgs)[10];

	rng_state = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': target = optarg; break;
		case 'y': year = (int)strtol(optarg, NULL, 10); break;
		case 'n': events = strtoll(optarg, NULL, 10); break;
		case 'c': ncust = strtoll(optarg, NULL, 10); break;
		case 'r': rng_state = strtoull(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (target == NULL || events <= 0 || ncust <= 0 || ncust > 1000000 ||
	    bill_year_bounds(year, &from, &to, &e) != 0) {
		fprintf(stderr, "usage: billgen --store TARGET --year YYYY --events N "
				"[--customers C] [--seed S]\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	if (store_open(&s, &(struct store_opts){ target, 0 }, &e) != 0) {
		fprintf(stderr, "billgen: %s\n", e.msg);
		return 1;
	}
	cum = calloc((size_t)ncust, sizeof(*cum));
	orgs = calloc((size_t)ncust, sizeof(*orgs));
	if (cum == NULL || orgs == NULL)
		return 1;
	for (long long i = 0; i < ncust; i++) {
		cum[i] = (i ? cum[i - 1] : 0) + 1.0 / (double)(i + 1);
		orgno_from(90000000u + (unsigned)i * 7u, orgs[i]);
		if (store_call(s, billing, customer_set, orgs[i], "Bench customer", "BENCH-REF",
			       &e) != 0)
			goto fail;
	}
	if (store_call(s, billing, cost_set, year, "bankid", 12000000000LL, &e) != 0 ||
	    store_call(s, billing, cost_set, year, "buypass", 900000000LL, &e) != 0 ||
	    store_call(s, billing, cost_set, year, "minid-sms", 2500000000LL, &e) != 0)
		goto fail;
#ifdef HAVE_LIBPQ
	if (strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0) {
		if (copy_events(target, cum, ncust, orgs, events, from, to) != 0) {
			store_close(s);
			return 1;
		}
	} else
#endif
	{
		char **defs = NULL;

		rc = sq_indexes(target, &defs);
		if (rc == 0 && put_events(s, cum, ncust, orgs, events, from, to, &e) != 0) {
			fprintf(stderr, "billgen: %s\n", e.msg);
			rc = -1;
		} else if (rc == 0) {
			rc = sq_indexes(target, &defs);
		}
		for (char **d = defs; d != NULL && *d != NULL; d++)
			free(*d);
		free(defs);
		if (rc != 0) {
			store_close(s);
			return 1;
		}
	}
	printf("%lld events for %lld customers in settlement year %d\n", events, ncust, year);
	free(cum);
	free(orgs);
	store_close(s);
	return 0;
fail:
	fprintf(stderr, "billgen: %s\n", e.msg);
	store_close(s);
	return 1;
}
