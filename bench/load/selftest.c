/*
 * Checks of the driver's page and URL picking, including pages that are
 * cut short, unquoted or oversized: the driver must report them as errors,
 * never read past them; and of the open-loop schedule.  `make -C bench check`
 * builds this with ASan and UBSan.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		failures++; \
	} \
} while (0)

static void
check_str(char *got, const char *want, int line)
{
	if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0)) {
		fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, line,
			got ? got : "(null)", want ? want : "(null)");
		failures++;
	}
	free(got);
}

#define STR(got, want) check_str((got), (want), __LINE__)

/* Only what the driver needs from load.c. */
double
load_now(void)
{
	return 0;
}

void
load_error(struct vc *v, int kind, const char *fmt, ...)
{
	(void)v;
	(void)kind;
	(void)fmt;
}

int
lsamples_add(struct lsamples *s, double seconds)
{
	(void)s;
	(void)seconds;
	return 0;
}

static void
test_query(void)
{
	STR(url_query_param("http://c/cb?code=abc&state=x%2By+z", "code"), "abc");
	STR(url_query_param("http://c/cb?code=abc&state=x%2By+z", "state"), "x+y z");
	STR(url_query_param("http://c/cb?codex=1&code=2", "code"), "2");
	STR(url_query_param("http://c/cb?code", "code"), "");
	STR(url_query_param("http://c/cb?code=1#state=2", "state"), NULL);
	STR(url_query_param("http://c/cb", "code"), NULL);
	STR(url_query_param("http://c/cb?", "code"), NULL);
	STR(url_query_param("http://c/cb?&&&", "code"), NULL);
	/* A nested, encoded URL comes back whole, its own '+' intact. */
	STR(url_query_param("http://g/login.html?callback_url=http%3A%2F%2Fg%2Fauth%3Fscope%3Da%2Bb%26x%3D1",
			    "callback_url"), "http://g/auth?scope=a+b&x=1");
}

static void
test_html(void)
{
	const char *form = "<form id=\"testid-form\" method=\"post\" action=\"/testid\">"
			   "<input type=\"hidden\" name=\"ar\" value=\"A&amp;B\">"
			   "<input value=\"C1\" type=\"hidden\" name=\"csrf\">"
			   "<input name=\"pid\"></form>";
	const char *end = strstr(form, "</form>");
	const char *cut1 = "<input name=\"ar\" value=\"abc";
	const char *cut2 = "<input name=\"ar\" value=\"abc\"";

	STR(html_hidden(form, end, "ar"), "A&B");
	STR(html_hidden(form, end, "csrf"), "C1");     /* value before name */
	STR(html_hidden(form, end, "pid"), NULL);      /* no value */
	STR(html_hidden(form, end, "nope"), NULL);
	STR(html_attr_after(form, strchr(form, '>'), form, "action=\""), "/testid");
	/* A field after the form's end is not the form's. */
	STR(html_hidden(form, strstr(form, "name=\"csrf\""), "csrf"), NULL);
	/* Cut short: no closing quote; no closing '>'. */
	STR(html_hidden(cut1, cut1 + strlen(cut1), "ar"), NULL);
	STR(html_hidden(cut2, cut2 + strlen(cut2), "ar"), NULL);
	STR(html_unescape("a&amp;b&#39;c&quot;&lt;&gt;&bogus;&#99999;&"), "a&b'c\"<>&bogus;&#99999;&");
}

static void
test_b64_jwt(void)
{
	size_t n = 0;
	char *d;
	json_t *j;
	char verifier[64], challenge[64];

	d = b64url_decode("aGVsbG8", 7, &n);
	CHECK(d != NULL && n == 5 && memcmp(d, "hello", 5) == 0);
	free(d);
	CHECK(b64url_decode("a", 1, &n) == NULL);      /* 6 bits: no byte */
	CHECK(b64url_decode("aGVsbG8=", 8, &n) == NULL); /* padding is not base64url */
	CHECK(b64url_decode("aGV*bG8", 7, &n) == NULL);
	CHECK(b64url_decode("", 0, &n) == NULL);
	/* {"iss":"x"} */
	j = jwt_payload("e30.eyJpc3MiOiJ4In0.c2ln");
	CHECK(j != NULL && strcmp(json_string_value(json_object_get(j, "iss")), "x") == 0);
	json_decref(j);
	CHECK(jwt_payload("opaque-token") == NULL);
	CHECK(jwt_payload("a.b") == NULL);
	CHECK(jwt_payload("a.b.c.d") == NULL);
	CHECK(jwt_payload("e30.WzFd.c2ln") == NULL);  /* payload [1]: not an object */
	CHECK(jwt_payload("e30..c2ln") == NULL);
	CHECK(jwt_payload("e30.eyJ.") == NULL);
	/* RFC 7636 appendix B */
	snprintf(verifier, sizeof(verifier), "%s", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
	CHECK(pkce_challenge(verifier, challenge, sizeof(challenge)) == 0);
	CHECK(strcmp(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") == 0);
	CHECK(rand_b64url(verifier, sizeof(verifier), 32) == 0 && strlen(verifier) == 43);
	CHECK(rand_b64url(verifier, 10, 32) != 0);
}

static void
test_buf_url(void)
{
	struct lbuf b = { 0 };
	char *big = malloc(LOAD_BODY_MAX + 1);

	CHECK(lbuf_append(&b, "ab", 2) == 0 && b.len == 2 && strcmp(b.p, "ab") == 0);
	memset(big, 'x', LOAD_BODY_MAX + 1);
	CHECK(lbuf_append(&b, big, LOAD_BODY_MAX) != 0 && b.overflow);
	CHECK(lbuf_append(&b, "c", 1) != 0);
	lbuf_reset(&b);
	CHECK(!b.overflow && b.len == 0);
	free(big);
	free(b.p);
	STR(url_resolve("http://h:1/login?ar=1", "/testid?ar=2"), "http://h:1/testid?ar=2");
	/* the selector answered by /authorize itself: its links resolve against that URL */
	STR(url_resolve("http://h:1/authorize?client_id=c&redirect_uri=http%3A%2F%2Fx%2F", "/testid?ar=2"),
	    "http://h:1/testid?ar=2");
	STR(url_resolve("http://h:1/login.html?x=1", "api/auth/"), "http://h:1/api/auth/");
	STR(url_resolve("http://h:1/a/b", "https://other/x"), "https://other/x");
	STR(form_escape("a b&c=d"), "a%20b%26c%3Dd");
}

/*
 * The open-loop schedule: due times from the index (no drift), counts at the
 * edges, and poll timeouts that neither spin nor oversleep.
 */
static void
test_sched(void)
{
	double t0 = 1000.0, now, worst_late = 0, worst_early = 0;
	uint64_t k = 0;
	int polls = 0;

	CHECK(sched_due(t0, 100, 0) == t0);
	CHECK(sched_due(t0, 100, 250) > 1002.4999 && sched_due(t0, 100, 250) < 1002.5001);
	/* A million operations in, still on the exact grid. */
	CHECK(sched_due(t0, 3, 3000000) > 1000999.9999 && sched_due(t0, 3, 3000000) < 1001000.0001);
	CHECK(sched_count(t0, 100, t0 - 0.001) == 0);
	CHECK(sched_count(t0, 100, t0) == 1);           /* operation 0 is due at t0 */
	CHECK(sched_count(t0, 100, t0 + 0.0099) == 1);
	CHECK(sched_count(t0, 100, t0 + 0.0101) == 2);
	CHECK(sched_count(t0, 100, t0 + 10.005) == 1001);
	CHECK(sched_count(t0, 0, t0 + 10) == 0);        /* no rate: nothing is due */
	CHECK(sched_count(t0, -1, t0 + 10) == 0);
	CHECK(sched_count(t0, 1e6, t0 + 1e20) == UINT64_MAX);

	CHECK(sched_wait_ms(t0, t0 - 5, 20) == 0);      /* overdue: now */
	CHECK(sched_wait_ms(t0, t0, 20) == 0);
	CHECK(sched_wait_ms(t0, t0 + 0.0004, 20) == 0); /* within half a millisecond: now */
	CHECK(sched_wait_ms(t0, t0 + 0.0006, 20) == 1); /* never a spinning 0 */
	CHECK(sched_wait_ms(t0, t0 + 0.0012, 20) == 1);
	CHECK(sched_wait_ms(t0, t0 + 0.0052, 20) == 5);
	CHECK(sched_wait_ms(t0, t0 + 0.5, 20) == 20);   /* capped */
	CHECK(sched_wait_ms(t0, t0 + 1e12, 2) == 2);
	CHECK(sched_wait_ms(t0, t0 + 0.0015, 1) == 1);

	/*
	 * An event loop that wakes exactly when asked and always has a client
	 * free: at 333 operations a second, every one is taken within a
	 * millisecond of its time and at most half a millisecond early, with
	 * no more wake-ups than whole milliseconds in the run.
	 */
	now = t0;
	while (k < 1000) {
		double due = sched_due(t0, 333, k);
		int w = sched_wait_ms(now, due, 20);

		if (w == 0) {
			if (now - due > worst_late)
				worst_late = now - due;
			if (due - now > worst_early)
				worst_early = due - now;
			k++;
			continue;
		}
		CHECK(w >= 1 && w <= 20);
		now += w / 1000.0;
		polls++;
	}
	CHECK(worst_late < 0.001);
	CHECK(worst_early <= 0.0005);
	CHECK(polls <= (int)((now - t0) * 1000) + 1);
}

int
main(void)
{
	test_query();
	test_html();
	test_b64_jwt();
	test_buf_url();
	test_sched();
	if (failures != 0) {
		fprintf(stderr, "selftest: %d failed\n", failures);
		return 1;
	}
	printf("selftest: ok\n");
	return 0;
}
