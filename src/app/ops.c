/*
 * GET /metrics (app/ops.h).  The store's part comes from the statistics
 * store_call keeps per operation: calls, errors and the time spent.
 */
#include "app/ops.h"

#include <pthread.h>

#include "app/app.h"
#include "core/timeutil.h"
#include "http/metrics.h"

#define OPS_MAX_BODY (1024 * 1024)
/* Seconds the live-session count is reused: scrapes every few seconds cost one count. */
#define OPS_SESSIONS_TTL 15

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t sessions_n = -1, sessions_at;
static uint64_t sessions_store; /* the store's serial the count belongs to */

/* Live SSO sessions, counted in the store at most every OPS_SESSIONS_TTL s; -1 unknown. */
static int64_t
live_sessions(struct store *s)
{
	int64_t now = time_now(), n;
	struct err e = { 0 };

	pthread_mutex_lock(&sessions_lock);
	if (sessions_n < 0 || now - sessions_at >= OPS_SESSIONS_TTL || sessions_store != s->serial) {
		if (store_call(s, login, session_count, now, &n, &e) == 0)
			sessions_n = n;
		else
			sessions_n = -1;
		sessions_at = now;
		sessions_store = s->serial;
	}
	n = sessions_n;
	pthread_mutex_unlock(&sessions_lock);
	return n;
}

static int
store_family(struct buf *b, const struct store_op_stat *st, size_t n, const char *name,
	     const char *type, const char *help, int which)
{
	int rc = buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);

	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = buf_printf(b, "%s{op=\"", name);
		rc = rc ? rc : metrics_label(b, st[i].name);
		if (rc != 0)
			break;
		if (which == 0)
			rc = buf_printf(b, "\"} %llu\n", (unsigned long long)st[i].calls);
		else if (which == 1)
			rc = buf_printf(b, "\"} %llu\n", (unsigned long long)st[i].errors);
		else
			rc = buf_printf(b, "\"} %llu.%09llu\n",
					(unsigned long long)(st[i].ns / 1000000000u),
					(unsigned long long)(st[i].ns % 1000000000u));
	}
	return rc;
}

int
ops_metrics_text(struct store *s, struct buf *b)
{
	struct store_op_stat st[STORE_NFACETS * STORE_FACET_OPS];
	size_t n = s != NULL ? store_stats(s, st, sizeof(st) / sizeof(st[0])) : 0;
	int rc = metrics_render(b);

	if (rc == 0 && s != NULL) {
		int64_t live = live_sessions(s);

		if (live >= 0)
			rc = buf_printf(b, "# HELP porten_sessions_live Live SSO sessions in the store "
					   "(all nodes), counted at most every %d s.\n"
					   "# TYPE porten_sessions_live gauge\nporten_sessions_live %lld\n",
					OPS_SESSIONS_TTL, (long long)live);
	}

	rc = rc ? rc : store_family(b, st, n, "porten_store_calls_total", "counter",
				    "Store operations called, by operation.", 0);
	rc = rc ? rc : store_family(b, st, n, "porten_store_errors_total", "counter",
				    "Store operations that failed, by operation.", 1);
	rc = rc ? rc : store_family(b, st, n, "porten_store_seconds_total", "counter",
				    "Time spent in store operations, by operation.", 2);
	return rc;
}

void
ops_metrics(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	struct buf b;

	if (app != NULL && app->cfg != NULL && !app->cfg->metrics) {
		http_resp_oauth_error(w, 404, "not_found", NULL);
		return;
	}
	buf_init(&b, OPS_MAX_BODY);
	if (ops_metrics_text(app != NULL ? app->store : NULL, &b) != 0) {
		buf_free(&b);
		http_resp_text(w, 500, "metrics unavailable\n");
		return;
	}
	http_resp_text(w, 200, b.p != NULL ? b.p : "");
	(void)http_resp_header(w, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	buf_free(&b);
}
