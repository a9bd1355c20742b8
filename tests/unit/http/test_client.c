/*
 * The outgoing client against the server on a loopback port: methods,
 * bodies and headers arrive as sent, any status comes back, and the
 * answer cap, the timeout and the URL rules hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "http/client.h"
#include "http/http.h"

static struct http_server *S;
static char BASE[64];

/* What the server got, as JSON. */
static void
h_echo(struct http_req *r, struct http_resp *w)
{
	const char *ct = http_header(r, "content-type");
	const char *x = http_header(r, "x-extra");
	const char *ua = http_header(r, "user-agent");
	json_t *j = json_pack("{s:s,s:s%,s:s,s:s,s:s}", "method", r->method, "body",
			      r->body.p ? r->body.p : "", r->body.len, "ctype", ct ? ct : "",
			      "extra", x ? x : "", "ua", ua ? ua : "");

	http_resp_json(w, 200, j);
	json_decref(j);
}

static void
h_teapot(struct http_req *r, struct http_resp *w)
{
	http_resp_text(w, 418, "short and stout");
}

static void
h_big(struct http_req *r, struct http_resp *w)
{
	static char big[HTTP_CLIENT_MAX_BODY + 100];

	memset(big, 'a', sizeof(big) - 1);
	http_resp_text(w, 200, big);
}

static void
h_slow(struct http_req *r, struct http_resp *w)
{
	sleep(3);
	http_resp_text(w, 200, "late");
}

static const struct http_route routes[] = {
	{ NULL, "/echo", h_echo, NULL },
	{ "GET", "/teapot", h_teapot, NULL },
	{ "GET", "/big", h_big, NULL },
	{ "GET", "/slow", h_slow, NULL },
	{ NULL, NULL, NULL, NULL },
};

static int
server_up(void **state)
{
	struct http_server_opts o = { .listen = "127.0.0.1:0", .threads = 2, .routes = routes };
	struct err e = { 0 };

	log_set_level(LOG_ERR);
	if (http_server_start(&o, &S, &e) != 0) {
		fprintf(stderr, "start: %s\n", e.msg);
		return -1;
	}
	snprintf(BASE, sizeof(BASE), "http://127.0.0.1:%d", http_server_port(S));
	return 0;
}

static int
server_down(void **state)
{
	http_server_stop(S);
	return 0;
}

static const char *
url(const char *path)
{
	static char u[128];

	snprintf(u, sizeof(u), "%s%s", BASE, path);
	return u;
}

static json_t *
answer(const struct http_client_resp *r)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);

	assert_non_null(j);
	return j;
}

/* One request through http_client_do(): method, URL, body and its content type. */
static int
fetch(const char *method, const char *u, const char *ctype, struct str body,
      const char *const *hdrs, long timeout, struct http_client_resp *r, struct err *e)
{
	struct http_client_req q = {
		.method = method, .url = u, .content_type = ctype, .body = body,
		.headers = hdrs, .timeout = timeout,
	};

	return http_client_do(&q, r, e);
}

/* A GET through http_client_do(). */
static int
get(const char *u, const char *const *hdrs, long timeout, struct http_client_resp *r,
    struct err *e)
{
	return fetch("GET", u, NULL, STR_NULL, hdrs, timeout, r, e);
}

static void
test_post_form(void **state)
{
	const char *hdrs[] = { "X-Extra: yes", NULL };
	struct http_client_resp r;
	struct err e = { 0 };
	json_t *j;

	assert_int_equal(fetch("POST", url("/echo"), "application/x-www-form-urlencoded",
			       STR_LIT("a=1&b=2"), hdrs, 5, &r, &e),
			 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.content_type, "application/json"));
	j = answer(&r);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(j, "body")), "a=1&b=2");
	assert_string_equal(json_string_value(json_object_get(j, "ctype")),
			    "application/x-www-form-urlencoded");
	assert_string_equal(json_string_value(json_object_get(j, "extra")), "yes");
	assert_string_equal(json_string_value(json_object_get(j, "ua")), "porten/1");
	json_decref(j);
	http_client_resp_free(&r);
	assert_null(r.body);
	http_client_resp_free(NULL);
}

static void
test_post_json_and_get(void **state)
{
	struct http_client_resp r;
	struct err e = { 0 };
	json_t *j;

	assert_int_equal(fetch("POST", url("/echo"), "application/json", STR_LIT("{\"x\":1}"), NULL, 0,
			       &r, &e),
			 0);
	j = answer(&r);
	assert_string_equal(json_string_value(json_object_get(j, "ctype")), "application/json");
	assert_string_equal(json_string_value(json_object_get(j, "body")), "{\"x\":1}");
	json_decref(j);
	http_client_resp_free(&r);

	assert_int_equal(get(url("/echo"), NULL, 0, &r, &e), 0);
	j = answer(&r);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(j, "body")), "");
	json_decref(j);
	http_client_resp_free(&r);
}

static void
test_status_is_the_callers(void **state)
{
	struct http_client_resp r;
	struct err e = { 0 };

	assert_int_equal(get(url("/teapot"), NULL, 0, &r, &e), 0);
	assert_int_equal(r.status, 418);
	assert_string_equal(r.body, "short and stout");
	assert_int_equal(r.len, strlen("short and stout"));
	http_client_resp_free(&r);
	assert_int_equal(get(url("/nothing"), NULL, 0, &r, &e), 0);
	assert_int_equal(r.status, 404);
	http_client_resp_free(&r);
}

static void
test_limits(void **state)
{
	struct http_client_req q = { .method = "GET", .url = url("/echo"), .max_body = 10 };
	struct http_client_resp r;
	struct err e = { 0 };

	assert_int_equal(get(url("/big"), NULL, 0, &r, &e), ERR_LIMIT);
	assert_null(r.body);
	http_client_resp_free(&r);
	assert_int_equal(http_client_do(&q, &r, &e), ERR_LIMIT);
	http_client_resp_free(&r);
	q.max_body = 0;
	q.url = url("/slow");
	q.timeout = 1;
	assert_int_equal(http_client_do(&q, &r, &e), ERR_UNAVAILABLE);
	http_client_resp_free(&r);
}

static void
test_refusals(void **state)
{
	const char *bad_hdr[] = { "X-Extra: a\r\nX-Evil: b", NULL };
	struct http_client_req q = { .method = "PUT", .url = url("/echo") };
	struct http_client_resp r;
	struct err e = { 0 };
	char tls[128];

	assert_int_equal(http_client_do(&q, &r, &e), ERR_INVAL);
	assert_int_equal(get("file:///etc/passwd", NULL, 0, &r, &e), ERR_INVAL);
	assert_int_equal(get("ftp://127.0.0.1/", NULL, 0, &r, &e), ERR_INVAL);
	assert_int_equal(get(NULL, NULL, 0, &r, &e), ERR_INVAL);
	assert_int_equal(get(url("/echo"), bad_hdr, 0, &r, &e), ERR_INVAL);
	/* TLS is verified: a plain-text server on an https URL gives no answer */
	snprintf(tls, sizeof(tls), "https%s", BASE + 4);
	assert_int_equal(get(tls, NULL, 2, &r, &e), ERR_UNAVAILABLE);
	/* nobody listening */
	assert_int_equal(get("http://127.0.0.1:1/", NULL, 2, &r, &e), ERR_UNAVAILABLE);
	http_client_resp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_form),
		cmocka_unit_test(test_post_json_and_get),
		cmocka_unit_test(test_status_is_the_callers),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
