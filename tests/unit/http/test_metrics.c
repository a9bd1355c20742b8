/*
 * Metrics (http/metrics.h): the exposition text for counters with labels,
 * per-route requests and latency histograms, label escaping, the bound on
 * label sets, and counts that add up when threads count at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <cmocka.h>

#include "core/buf.h"
#include "http/metrics.h"

static char *
render(void)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(&b), 0);
	return buf_take(&b);
}

static int
setup(void **state)
{
	(void)state;
	metrics_reset();
	return 0;
}

/* Every line is a HELP or TYPE comment or `name{labels} value`, ending in a newline. */
static void
assert_well_formed(const char *t)
{
	assert_true(strlen(t) > 0 && t[strlen(t) - 1] == '\n');
	for (const char *l = t; *l != '\0';) {
		const char *end = strchr(l, '\n');
		const char *sp;

		assert_non_null(end);
		if (l[0] == '#') {
			assert_true(strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0);
		} else {
			assert_true((l[0] >= 'a' && l[0] <= 'z') || l[0] == '_');
			sp = memrchr(l, ' ', (size_t)(end - l));
			assert_non_null(sp);
			assert_true(sp + 1 < end);
			for (const char *p = sp + 1; p < end; p++)
				assert_true((*p >= '0' && *p <= '9') || *p == '.');
		}
		l = end + 1;
	}
}

static void
test_counters(void **state)
{
	char *t;

	(void)state;
	metrics_inc(METRICS_LOGINS, "testid", "idporten-loa-high");
	metrics_inc(METRICS_LOGINS, "testid", "idporten-loa-high");
	metrics_inc(METRICS_LOGINS, "minid", "idporten-loa-substantial");
	metrics_inc(METRICS_TOKENS, "idporten", "authorization_code");
	metrics_inc(METRICS_RATELIMITED, "address", "ignored");
	metrics_inc(METRICS_RATELIMITED, NULL, NULL);
	t = render();
	assert_well_formed(t);
	assert_non_null(strstr(t, "# TYPE porten_logins_total counter\n"));
	assert_non_null(
		strstr(t, "porten_logins_total{eid=\"testid\",level=\"idporten-loa-high\"} 2\n"));
	assert_non_null(strstr(
		t, "porten_logins_total{eid=\"minid\",level=\"idporten-loa-substantial\"} 1\n"));
	assert_non_null(strstr(
		t, "porten_tokens_issued_total{issuer=\"idporten\",grant_type=\"authorization_code\"} 1\n"));
	assert_non_null(strstr(t, "porten_ratelimit_refusals_total{limit=\"address\"} 1\n"));
	assert_non_null(strstr(t, "porten_ratelimit_refusals_total{limit=\"none\"} 1\n"));
	assert_non_null(strstr(t, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds "));
	free(t);
}

static void
test_routes_and_histogram(void **state)
{
	unsigned a = metrics_route_slot("/token"), b = metrics_route_slot("/authorize");
	char *t;

	(void)state;
	assert_int_not_equal(a, 0);
	assert_int_not_equal(b, 0);
	assert_int_not_equal(a, b);
	assert_int_equal(metrics_route_slot("/token"), a);
	assert_int_equal(metrics_route_slot(NULL), 0);
	metrics_http_observe(a, 200, 2000000);      /* 2 ms */
	metrics_http_observe(a, 400, 30000000);     /* 30 ms */
	metrics_http_observe(a, 200, 9000000000);   /* 9 s: only +Inf */
	metrics_http_observe(0, 404, 100000);
	t = render();
	assert_well_formed(t);
	assert_non_null(strstr(t, "# TYPE porten_http_requests_total counter\n"));
	assert_non_null(strstr(t, "porten_http_requests_total{route=\"/token\",code=\"2xx\"} 2\n"));
	assert_non_null(strstr(t, "porten_http_requests_total{route=\"/token\",code=\"4xx\"} 1\n"));
	assert_non_null(strstr(t, "porten_http_requests_total{route=\"none\",code=\"4xx\"} 1\n"));
	assert_null(strstr(t, "route=\"/authorize\",code"));
	assert_non_null(strstr(t, "# TYPE porten_http_request_duration_seconds histogram\n"));
	assert_non_null(strstr(
		t, "porten_http_request_duration_seconds_bucket{route=\"/token\",le=\"0.001\"} 0\n"));
	assert_non_null(strstr(
		t, "porten_http_request_duration_seconds_bucket{route=\"/token\",le=\"0.0025\"} 1\n"));
	assert_non_null(strstr(
		t, "porten_http_request_duration_seconds_bucket{route=\"/token\",le=\"0.05\"} 2\n"));
	assert_non_null(strstr(
		t, "porten_http_request_duration_seconds_bucket{route=\"/token\",le=\"5\"} 2\n"));
	assert_non_null(strstr(
		t, "porten_http_request_duration_seconds_bucket{route=\"/token\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(
		t, "porten_http_request_duration_seconds_sum{route=\"/token\"} 9.032000000\n"));
	assert_non_null(strstr(t, "porten_http_request_duration_seconds_count{route=\"/token\"} 3\n"));
	free(t);
}

static void
test_escaping_and_cut(void **state)
{
	char longv[200];
	char *t;

	(void)state;
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	metrics_inc(METRICS_LOGINS, "a\"b\\c\nd", longv);
	metrics_inc(METRICS_LOGINS, "a\"b\\c\nd", longv);
	t = render();
	assert_well_formed(t);
	assert_non_null(strstr(t, "eid=\"a\\\"b\\\\c\\nd\",level=\"xxxx"));
	/* cut at METRICS_LABEL_MAX - 1, and the same cut finds the same series */
	longv[METRICS_LABEL_MAX - 1] = '\0';
	{
		char want[256];

		snprintf(want, sizeof(want), "level=\"%s\"} 2\n", longv);
		assert_non_null(strstr(t, want));
	}
	free(t);
}

static void
test_bounded(void **state)
{
	char name[32];
	char *t;

	(void)state;
	for (int i = 0; i < 3 * METRICS_MAX_SERIES; i++) {
		snprintf(name, sizeof(name), "eid%d", i);
		metrics_inc(METRICS_LOGINS, name, "x");
	}
	t = render();
	assert_well_formed(t);
	assert_non_null(strstr(t, "eid=\"eid0\""));
	assert_null(strstr(t, "eid=\"eid100\""));
	{
		char want[96];

		snprintf(want, sizeof(want), "porten_logins_total{eid=\"other\",level=\"other\"} %d\n",
			 3 * METRICS_MAX_SERIES - (METRICS_MAX_SERIES - 1));
		assert_non_null(strstr(t, want));
	}
	free(t);
}

#define NTHREADS 4
#define NINC 50000

static void *
counting(void *arg)
{
	unsigned slot = *(unsigned *)arg;
	char eid[16];

	for (int i = 0; i < NINC; i++) {
		snprintf(eid, sizeof(eid), "e%d", i % 8);
		metrics_inc(METRICS_TOKENS, eid, "g");
		metrics_http_observe(slot, 200, 1000);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t th[NTHREADS];
	unsigned slot = metrics_route_slot("/threads");
	char want[128], *t;

	(void)state;
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, counting, &slot), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	t = render();
	for (int k = 0; k < 8; k++) {
		snprintf(want, sizeof(want),
			 "porten_tokens_issued_total{issuer=\"e%d\",grant_type=\"g\"} %d\n", k,
			 NTHREADS * NINC / 8);
		assert_non_null(strstr(t, want));
	}
	snprintf(want, sizeof(want), "porten_http_requests_total{route=\"/threads\",code=\"2xx\"} %d\n",
		 NTHREADS * NINC);
	assert_non_null(strstr(t, want));
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_counters, setup),
		cmocka_unit_test_setup(test_routes_and_histogram, setup),
		cmocka_unit_test_setup(test_escaping_and_cut, setup),
		cmocka_unit_test_setup(test_bounded, setup),
		cmocka_unit_test_setup(test_threads, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
