/*
 * Metrics (http/metrics.h): fixed tables of atomic counters and their
 * exposition text.  A series is found by a scan of the label sets seen so
 * far (a few dozen at most); a new one is added under a lock and published
 * by a release store of the count, so readers never see it half made.
 */
#include "http/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define NBUCKETS 12
/* Upper bounds in ns and as printed; the last bucket is +Inf. */
static const int64_t bucket_ns[NBUCKETS] = {
	1000000,   2500000,   5000000,   10000000,  25000000,   50000000,
	100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000,
};
static const char *const bucket_le[NBUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
	"0.1",   "0.25",   "0.5",   "1",    "2.5",   "5",
};

struct series {
	char l1[METRICS_LABEL_MAX];
	char l2[METRICS_LABEL_MAX];
	atomic_uint_fast64_t v;
};

struct family {
	const char *name;
	const char *help;
	const char *label1, *label2; /* label2 NULL: one label */
	struct series s[METRICS_MAX_SERIES];
	atomic_size_t n;
};

static struct family families[METRICS_NCOUNTERS] = {
	[METRICS_LOGINS] = { "porten_logins_total", "Logins completed, by eID and level of assurance.",
			     "eid", "level", { { "", "", 0 } }, 0 },
	[METRICS_TOKENS] = { "porten_tokens_issued_total", "Tokens issued, by issuer and grant type.",
			     "issuer", "grant_type", { { "", "", 0 } }, 0 },
	[METRICS_RATELIMITED] = { "porten_ratelimit_refusals_total",
				  "Requests refused by a rate limit, by limit.", "limit", NULL,
				  { { "", "", 0 } }, 0 },
};

struct route_stat {
	char path[METRICS_LABEL_MAX * 2];
	atomic_uint_fast64_t status[5]; /* 1xx .. 5xx */
	atomic_uint_fast64_t bucket[NBUCKETS + 1];
	atomic_uint_fast64_t ns;
};

static struct route_stat routes[METRICS_MAX_ROUTES];
static atomic_uint nroutes;
static pthread_mutex_t add_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t start_time;

__attribute__((constructor)) static void
metrics_start(void)
{
	start_time = (int64_t)time(NULL);
}

static void
label_copy(char dst[METRICS_LABEL_MAX], const char *src)
{
	size_t n = src != NULL ? strnlen(src, METRICS_LABEL_MAX - 1) : 0;

	if (src == NULL || n == 0) {
		memcpy(dst, "none", sizeof("none"));
		return;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Does the stored label equal src as label_copy would store it? */
static bool
label_eq(const char *stored, const char *src)
{
	if (src == NULL || src[0] == '\0')
		return strcmp(stored, "none") == 0;
	return strncmp(stored, src, METRICS_LABEL_MAX - 1) == 0 &&
	       strnlen(src, METRICS_LABEL_MAX - 1) == strlen(stored);
}

static struct series *
series_find(struct family *f, const char *l1, const char *l2, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (label_eq(f->s[i].l1, l1) && (f->label2 == NULL || label_eq(f->s[i].l2, l2)))
			return &f->s[i];
	return NULL;
}

void
metrics_inc(enum metrics_counter c, const char *l1, const char *l2)
{
	struct family *f;
	struct series *s;
	size_t n;

	if ((unsigned)c >= METRICS_NCOUNTERS)
		return;
	f = &families[c];
	s = series_find(f, l1, l2, atomic_load_explicit(&f->n, memory_order_acquire));
	if (s == NULL) {
		pthread_mutex_lock(&add_lock);
		n = atomic_load_explicit(&f->n, memory_order_relaxed);
		s = series_find(f, l1, l2, n);
		if (s == NULL) {
			/* The last slot is kept for "other", so the family stays bounded. */
			if (n >= METRICS_MAX_SERIES - 1) {
				l1 = "other";
				l2 = f->label2 != NULL ? "other" : NULL;
				s = series_find(f, l1, l2, n);
			}
			if (s == NULL) {
				s = &f->s[n];
				label_copy(s->l1, l1);
				label_copy(s->l2, f->label2 != NULL ? l2 : NULL);
				atomic_store_explicit(&f->n, n + 1, memory_order_release);
			}
		}
		pthread_mutex_unlock(&add_lock);
	}
	atomic_fetch_add_explicit(&s->v, 1, memory_order_relaxed);
}

unsigned
metrics_route_slot(const char *path)
{
	unsigned n, slot = 0;

	if (path == NULL)
		return 0;
	pthread_mutex_lock(&add_lock);
	n = atomic_load_explicit(&nroutes, memory_order_relaxed);
	if (n == 0) {
		memcpy(routes[0].path, "none", sizeof("none"));
		n = 1;
	}
	for (unsigned i = 1; i < n; i++)
		if (strcmp(routes[i].path, path) == 0)
			slot = i;
	if (slot == 0 && n < METRICS_MAX_ROUTES && strlen(path) < sizeof(routes[0].path)) {
		memcpy(routes[n].path, path, strlen(path) + 1);
		slot = n++;
	}
	atomic_store_explicit(&nroutes, n, memory_order_release);
	pthread_mutex_unlock(&add_lock);
	return slot;
}

void
metrics_http_observe(unsigned slot, int status, int64_t ns)
{
	struct route_stat *r;
	int b = 0;

	if (slot >= METRICS_MAX_ROUTES)
		slot = 0;
	r = &routes[slot];
	if (status >= 100 && status <= 599)
		atomic_fetch_add_explicit(&r->status[status / 100 - 1], 1, memory_order_relaxed);
	if (ns < 0)
		ns = 0;
	while (b < NBUCKETS && ns > bucket_ns[b])
		b++;
	atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->ns, (uint_fast64_t)ns, memory_order_relaxed);
}

int
metrics_label(struct buf *b, const char *v)
{
	int rc = 0;

	for (; *v != '\0' && rc == 0; v++) {
		if (*v == '\\')
			rc = buf_puts(b, "\\\\");
		else if (*v == '"')
			rc = buf_puts(b, "\\\"");
		else if (*v == '\n')
			rc = buf_puts(b, "\\n");
		else
			rc = buf_append(b, v, 1);
	}
	return rc;
}

/* name{label="value"[,label2="value2"]} */
static int
series_head(struct buf *b, const char *name, const char *label1, const char *v1,
	    const char *label2, const char *v2)
{
	int rc = buf_printf(b, "%s{%s=\"", name, label1);

	rc = rc ? rc : metrics_label(b, v1);
	if (label2 != NULL) {
		rc = rc ? rc : buf_printf(b, "\",%s=\"", label2);
		rc = rc ? rc : metrics_label(b, v2);
	}
	return rc ? rc : buf_puts(b, "\"}");
}

static int
render_http(struct buf *b)
{
	unsigned n = atomic_load_explicit(&nroutes, memory_order_acquire);
	int rc;

	rc = buf_puts(b, "# HELP porten_http_requests_total HTTP requests answered, by route and "
			 "status class.\n# TYPE porten_http_requests_total counter\n");
	for (unsigned i = 0; i < n && rc == 0; i++)
		for (int c = 0; c < 5 && rc == 0; c++) {
			uint64_t v = atomic_load_explicit(&routes[i].status[c], memory_order_relaxed);
			char cls[4] = { (char)('1' + c), 'x', 'x', '\0' };

			if (v == 0)
				continue;
			rc = series_head(b, "porten_http_requests_total", "route", routes[i].path,
					 "code", cls);
			rc = rc ? rc : buf_printf(b, " %llu\n", (unsigned long long)v);
		}
	rc = rc ? rc : buf_puts(b, "# HELP porten_http_request_duration_seconds Time from the "
				   "request's first byte to its answer, by route.\n"
				   "# TYPE porten_http_request_duration_seconds histogram\n");
	for (unsigned i = 0; i < n && rc == 0; i++) {
		struct route_stat *r = &routes[i];
		uint64_t cum = 0, v[NBUCKETS + 1], ns;

		for (int k = 0; k <= NBUCKETS; k++) {
			v[k] = atomic_load_explicit(&r->bucket[k], memory_order_relaxed);
			cum += v[k];
		}
		if (cum == 0)
			continue;
		ns = atomic_load_explicit(&r->ns, memory_order_relaxed);
		cum = 0;
		for (int k = 0; k <= NBUCKETS && rc == 0; k++) {
			cum += v[k];
			rc = series_head(b, "porten_http_request_duration_seconds_bucket", "route",
					 r->path, "le", k < NBUCKETS ? bucket_le[k] : "+Inf");
			rc = rc ? rc : buf_printf(b, " %llu\n", (unsigned long long)cum);
		}
		rc = rc ? rc : buf_puts(b, "porten_http_request_duration_seconds_sum{route=\"");
		rc = rc ? rc : metrics_label(b, r->path);
		rc = rc ? rc : buf_printf(b, "\"} %llu.%09llu\n", (unsigned long long)(ns / 1000000000u),
					  (unsigned long long)(ns % 1000000000u));
		rc = rc ? rc : buf_puts(b, "porten_http_request_duration_seconds_count{route=\"");
		rc = rc ? rc : metrics_label(b, r->path);
		rc = rc ? rc : buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
	}
	return rc;
}

int
metrics_render(struct buf *b)
{
	int rc = render_http(b);

	for (int c = 0; c < METRICS_NCOUNTERS && rc == 0; c++) {
		struct family *f = &families[c];
		size_t n = atomic_load_explicit(&f->n, memory_order_acquire);

		rc = buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", f->name, f->help, f->name);
		for (size_t i = 0; i < n && rc == 0; i++) {
			rc = series_head(b, f->name, f->label1, f->s[i].l1, f->label2, f->s[i].l2);
			rc = rc ? rc : buf_printf(b, " %llu\n",
						  (unsigned long long)atomic_load_explicit(
							  &f->s[i].v, memory_order_relaxed));
		}
	}
	rc = rc ? rc : buf_printf(b, "# HELP process_start_time_seconds Start time of the process "
				     "since the Unix epoch in seconds.\n"
				     "# TYPE process_start_time_seconds gauge\n"
				     "process_start_time_seconds %lld\n",
				  (long long)start_time);
	return rc;
}

void
metrics_reset(void)
{
	pthread_mutex_lock(&add_lock);
	for (int c = 0; c < METRICS_NCOUNTERS; c++) {
		for (size_t i = 0; i < METRICS_MAX_SERIES; i++)
			atomic_store(&families[c].s[i].v, 0);
		atomic_store(&families[c].n, 0);
	}
	for (unsigned i = 0; i < METRICS_MAX_ROUTES; i++) {
		for (int k = 0; k < 5; k++)
			atomic_store(&routes[i].status[k], 0);
		for (int k = 0; k <= NBUCKETS; k++)
			atomic_store(&routes[i].bucket[k], 0);
		atomic_store(&routes[i].ns, 0);
	}
	pthread_mutex_unlock(&add_lock);
}
