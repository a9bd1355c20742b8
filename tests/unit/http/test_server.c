/*
 * The server end to end over a loopback socket, with a tiny client that
 * writes raw HTTP/1.1 (so it can also write what no real client would).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "http/http.h"

static struct http_server *S;
static int PORT;
static int APP_MARK;
static int ROUTE_MARK;

/* Echo what the server handed over, as JSON, so the test can look at it. */
static void
h_echo(struct http_req *r, struct http_resp *w)
{
	struct str v;
	const char *sid = http_cookie(r, "sid");
	json_t *j = json_pack("{s:s,s:s%,s:b,s:i,s:i,s:s,s:b,s:b,s:s,s:i}",
			      "method", r->method, "path", r->path.p, r->path.len,
			      "bad", r->bad_input, "nquery", (int)r->query.n, "nform", (int)r->form.n,
			      "err", r->input_err.msg,
			      "app", r->app == &APP_MARK, "route", r->route_data == &ROUTE_MARK,
			      "remote", r->remote_addr ? r->remote_addr : "",
			      "ridlen", (int)strlen(r->rid));

	json_object_set_new(j, "a_rc", json_integer(http_param(&r->query, "a", &v)));
	if (http_param(&r->query, "a", &v) == 0)
		json_object_set_new(j, "a", json_stringn(v.p, v.len));
	if (http_param(&r->form, "f", &v) == 0)
		json_object_set_new(j, "f", json_stringn(v.p, v.len));
	if (sid != NULL)
		json_object_set_new(j, "sid", json_string(sid));
	json_object_set_new(j, "bodylen", json_integer((json_int_t)r->body.len));
	json_object_set_new(j, "serial", json_integer((json_int_t)http_request_serial()));
	http_resp_json(w, 200, j);
	json_decref(j);
}

static void
h_nostatus(struct http_req *r, struct http_resp *w)
{
	(void)http_resp_header(w, "X-Forgot", "status");
}

static void
h_page(struct http_req *r, struct http_resp *w)
{
	http_resp_html(w, 200, STR_LIT("<!doctype html><p>hei</p>"));
}

static void
h_page_csp(struct http_req *r, struct http_resp *w)
{
	(void)http_resp_header(w, "Content-Security-Policy", "default-src 'self'");
	(void)http_resp_header(w, "Cache-Control", "max-age=60");
	http_resp_html(w, 200, STR_LIT("<p>own csp</p>"));
}

static const struct http_route routes[] = {
	{ "GET", "/hello", h_echo, &ROUTE_MARK },
	{ "POST", "/form", h_echo, &ROUTE_MARK },
	{ "PUT", "/form", h_echo, NULL },
	{ NULL, "/any", h_echo, NULL },
	{ "GET", "/nostatus", h_nostatus, NULL },
	{ "GET", "/page", h_page, NULL },
	{ "GET", "/page-csp", h_page_csp, NULL },
	{ NULL, NULL, NULL, NULL },
};

static int
server_up(void **state)
{
	struct http_server_opts o = {
		.listen = "127.0.0.1:0", .threads = 2, .app = &APP_MARK, .routes = routes,
	};
	struct err e;

	log_set_level(LOG_WARN);
	err_clear(&e);
	if (http_server_start(&o, &S, &e) != 0) {
		fprintf(stderr, "start: %s\n", e.msg);
		return -1;
	}
	PORT = http_server_port(S);
	return PORT > 0 ? 0 : -1;
}

static int
server_down(void **state)
{
	http_server_stop(S);
	S = NULL;
	return 0;
}

struct reply {
	int status;
	char *head;    /* status line and headers */
	char *body;
	size_t bodylen;
	char raw[1 << 17];
	size_t len;
};

/*
 * Write req, read until the server closes; fills rp.  Returns 0 or -1.
 * half_close shuts our sending side, as a client that gives up would.
 */
static int
roundtrip_ex(const char *req, size_t reqlen, struct reply *rp, bool half_close)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)PORT) };
	struct timeval tv = { .tv_sec = half_close ? 2 : 10 };
	size_t off = 0;
	char *sep;
	int fd, rc = -1;

	memset(rp, 0, sizeof(*rp));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	while (off < reqlen) {
		ssize_t n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);

		if (n <= 0)
			break; /* the server may answer early and close */
		off += (size_t)n;
	}
	if (half_close)
		shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n = recv(fd, rp->raw + rp->len, sizeof(rp->raw) - 1 - rp->len, 0);

		if (n <= 0)
			break;
		rp->len += (size_t)n;
		if (rp->len == sizeof(rp->raw) - 1)
			break;
	}
	rp->raw[rp->len] = '\0';
	if (rp->len < 12 || strncmp(rp->raw, "HTTP/1.1 ", 9) != 0)
		goto out;
	rp->status = (rp->raw[9] - '0') * 100 + (rp->raw[10] - '0') * 10 + (rp->raw[11] - '0');
	sep = strstr(rp->raw, "\r\n\r\n");
	if (sep == NULL)
		goto out;
	sep[2] = '\0';
	rp->head = rp->raw;
	rp->body = sep + 4;
	rp->bodylen = rp->len - (size_t)(rp->body - rp->raw);
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
roundtrip(const char *req, size_t reqlen, struct reply *rp)
{
	return roundtrip_ex(req, reqlen, rp, false);
}

static int
get(const char *target, struct reply *rp)
{
	char req[16384];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", target);

	assert_true(n > 0 && (size_t)n < sizeof(req));
	return roundtrip(req, (size_t)n, rp);
}

/* Header value from a reply (case-insensitive name), or NULL. */
static const char *
rhdr(struct reply *rp, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);

	for (char *line = strstr(rp->head, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
		char *p = line + 2, *end = strstr(p, "\r\n");

		if (end == NULL)
			break;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			size_t vl;

			p += nl + 1;
			while (*p == ' ')
				p++;
			vl = (size_t)(end - p);
			if (vl >= outsz)
				vl = outsz - 1;
			memcpy(out, p, vl);
			out[vl] = '\0';
			return out;
		}
	}
	return NULL;
}

static json_t *
body_json(struct reply *rp)
{
	json_error_t je;
	json_t *j = json_loadb(rp->body, rp->bodylen, 0, &je);

	if (j == NULL)
		fail_msg("body is not JSON: %.*s", (int)rp->bodylen, rp->body);
	return j;
}

static void
test_ok_and_defaults(void **state)
{
	static struct reply rp;
	char v[512];
	json_t *j;

	assert_int_equal(get("/hello?a=1&b=two+words", &rp), 0);
	assert_int_equal(rp.status, 200);
	j = body_json(&rp);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/hello");
	assert_string_equal(json_string_value(json_object_get(j, "a")), "1");
	assert_int_equal(json_integer_value(json_object_get(j, "nquery")), 2);
	assert_false(json_boolean_value(json_object_get(j, "bad")));
	assert_true(json_boolean_value(json_object_get(j, "app")));
	assert_true(json_boolean_value(json_object_get(j, "route")));
	assert_string_equal(json_string_value(json_object_get(j, "remote")), "127.0.0.1");
	assert_int_equal(json_integer_value(json_object_get(j, "ridlen")), 16);
	/* A handler knows its request's number; outside a handler there is none. */
	assert_true(json_integer_value(json_object_get(j, "serial")) > 0);
	assert_int_equal(http_request_serial(), 0);
	json_decref(j);
	assert_string_equal(rhdr(&rp, "Content-Type", v, sizeof(v)), "application/json");
	assert_string_equal(rhdr(&rp, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
	assert_string_equal(rhdr(&rp, "Referrer-Policy", v, sizeof(v)), "no-referrer");
	assert_string_equal(rhdr(&rp, "Cache-Control", v, sizeof(v)), "no-store");
	/* JSON gets no page policy. */
	assert_null(rhdr(&rp, "X-Frame-Options", v, sizeof(v)));

	/* A route for any method. */
	assert_int_equal(get("/any", &rp), 0);
	assert_int_equal(rp.status, 200);
}

static void
test_html_defaults(void **state)
{
	static struct reply rp;
	char v[512];

	assert_int_equal(get("/page", &rp), 0);
	assert_int_equal(rp.status, 200);
	assert_non_null(rhdr(&rp, "Content-Security-Policy", v, sizeof(v)));
	assert_non_null(strstr(v, "frame-ancestors 'none'"));
	assert_non_null(strstr(v, "default-src 'none'"));
	assert_string_equal(rhdr(&rp, "X-Frame-Options", v, sizeof(v)), "DENY");

	/* A handler's own CSP and caching win. */
	assert_int_equal(get("/page-csp", &rp), 0);
	assert_int_equal(rp.status, 200);
	assert_string_equal(rhdr(&rp, "Content-Security-Policy", v, sizeof(v)), "default-src 'self'");
	assert_string_equal(rhdr(&rp, "Cache-Control", v, sizeof(v)), "max-age=60");
	assert_null(strstr(rp.head, "default-src 'none'"));
}

static void
test_404_405(void **state)
{
	static struct reply rp;
	static const char post[] = "POST /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				   "Content-Length: 0\r\n\r\n";
	static const char del[] = "DELETE /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char v[512];
	json_t *j;

	assert_int_equal(get("/nope", &rp), 0);
	assert_int_equal(rp.status, 404);
	j = body_json(&rp);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "not_found");
	json_decref(j);
	/* Exact match only. */
	assert_int_equal(get("/hello/", &rp), 0);
	assert_int_equal(rp.status, 404);
	assert_int_equal(get("/Hello", &rp), 0);
	assert_int_equal(rp.status, 404);

	assert_int_equal(roundtrip(post, sizeof(post) - 1, &rp), 0);
	assert_int_equal(rp.status, 405);
	assert_string_equal(rhdr(&rp, "Allow", v, sizeof(v)), "GET, HEAD");
	assert_int_equal(roundtrip(del, sizeof(del) - 1, &rp), 0);
	assert_int_equal(rp.status, 405);
	assert_string_equal(rhdr(&rp, "Allow", v, sizeof(v)), "POST, PUT");
}

static void
test_head(void **state)
{
	static struct reply rp;
	static const char head[] = "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

	assert_int_equal(roundtrip(head, sizeof(head) - 1, &rp), 0);
	assert_int_equal(rp.status, 200);
	assert_int_equal(rp.bodylen, 0);
}

static void
test_413(void **state)
{
	static struct reply rp;
	char req[512];
	struct buf b;
	int n;

	/* Declared too large: answered before the body is read. */
	n = snprintf(req, sizeof(req),
		     "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n",
		     HTTP_MAX_BODY + 1);
	assert_int_equal(roundtrip(req, (size_t)n, &rp), 0);
	assert_int_equal(rp.status, 413);
	n = snprintf(req, sizeof(req),
		     "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		     "Content-Length: 99999999999999999999999\r\n\r\n");
	assert_int_equal(roundtrip(req, (size_t)n, &rp), 0);
	assert_true(rp.status == 413 || rp.status == 400);

	/* Chunked, no length: refused once the data passes the cap. */
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_puts(&b, "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				      "Transfer-Encoding: chunked\r\n\r\n"),
			 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(buf_printf(&b, "1000\r\n"), 0);
		for (int k = 0; k < 0x1000; k++)
			assert_int_equal(buf_puts(&b, "a"), 0);
		assert_int_equal(buf_puts(&b, "\r\n"), 0);
	}
	assert_int_equal(buf_puts(&b, "0\r\n\r\n"), 0);
	assert_int_equal(roundtrip(b.p, b.len, &rp), 0);
	assert_int_equal(rp.status, 413);
	buf_free(&b);

	/* Exactly at the cap is fine. */
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_printf(&b,
				    "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				    "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n",
				    HTTP_MAX_BODY),
			 0);
	for (int k = 0; k < HTTP_MAX_BODY; k++)
		assert_int_equal(buf_puts(&b, "z"), 0);
	assert_int_equal(roundtrip(b.p, b.len, &rp), 0);
	assert_int_equal(rp.status, 200);
	{
		json_t *j = body_json(&rp);

		assert_int_equal(json_integer_value(json_object_get(j, "bodylen")), HTTP_MAX_BODY);
		assert_int_equal(json_integer_value(json_object_get(j, "nform")), 0);
		json_decref(j);
	}
	buf_free(&b);
}

static void
test_414(void **state)
{
	static struct reply rp;
	static char target[HTTP_MAX_URI + 2];

	memcpy(target, "/hello?a=", 9);
	memset(target + 9, 'x', sizeof(target) - 10);
	target[sizeof(target) - 1] = '\0';
	assert_int_equal(strlen(target), HTTP_MAX_URI + 1);
	assert_int_equal(get(target, &rp), 0);
	assert_int_equal(rp.status, 414);
	/* At the limit it still passes (the value is under HTTP_MAX_PARAM_VALUE). */
	target[HTTP_MAX_URI] = '\0';
	assert_int_equal(get(target, &rp), 0);
	assert_int_equal(rp.status, 200);
}

static void
test_query_dup_and_bad(void **state)
{
	static struct reply rp;
	json_t *j;

	/* Duplicates reach the handler, which sees ERR_DUP. */
	assert_int_equal(get("/hello?a=1&a=2", &rp), 0);
	assert_int_equal(rp.status, 200);
	j = body_json(&rp);
	assert_int_equal(json_integer_value(json_object_get(j, "a_rc")), ERR_DUP);
	assert_int_equal(json_integer_value(json_object_get(j, "nquery")), 2);
	assert_false(json_boolean_value(json_object_get(j, "bad")));
	json_decref(j);

	/* Invalid UTF-8: dispatched with bad_input, nothing parsed. */
	assert_int_equal(get("/hello?a=%C3%28&b=1", &rp), 0);
	assert_int_equal(rp.status, 200);
	j = body_json(&rp);
	assert_true(json_boolean_value(json_object_get(j, "bad")));
	assert_int_equal(json_integer_value(json_object_get(j, "nquery")), 0);
	assert_true(strlen(json_string_value(json_object_get(j, "err"))) > 0);
	json_decref(j);

	/* CR LF and bad escapes likewise. */
	assert_int_equal(get("/hello?a=%0D%0A", &rp), 0);
	j = body_json(&rp);
	assert_true(json_boolean_value(json_object_get(j, "bad")));
	json_decref(j);
	assert_int_equal(get("/hello?a=%G1", &rp), 0);
	j = body_json(&rp);
	assert_true(json_boolean_value(json_object_get(j, "bad")));
	json_decref(j);
}

static void
test_form_body(void **state)
{
	static struct reply rp;
	static const char good[] =
		"POST /form?a=q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		"Content-Type: Application/X-WWW-Form-Urlencoded ; charset=UTF-8\r\n"
		"Cookie: sid=s1; theme=dark\r\nContent-Length: 17\r\n\r\nf=hello+world&g=2";
	static const char bad[] = "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				  "Content-Type: application/x-www-form-urlencoded\r\n"
				  "Content-Length: 7\r\n\r\nf=%FF&g";
	static const char other[] = "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				    "Content-Type: application/json\r\n"
				    "Content-Length: 7\r\n\r\nf=%FF&g";
	json_t *j;

	assert_int_equal(roundtrip(good, sizeof(good) - 1, &rp), 0);
	assert_int_equal(rp.status, 200);
	j = body_json(&rp);
	assert_string_equal(json_string_value(json_object_get(j, "f")), "hello world");
	assert_int_equal(json_integer_value(json_object_get(j, "nform")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "a")), "q");
	assert_string_equal(json_string_value(json_object_get(j, "sid")), "s1");
	assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
	json_decref(j);

	assert_int_equal(roundtrip(bad, sizeof(bad) - 1, &rp), 0);
	assert_int_equal(rp.status, 200);
	j = body_json(&rp);
	assert_true(json_boolean_value(json_object_get(j, "bad")));
	assert_int_equal(json_integer_value(json_object_get(j, "nform")), 0);
	json_decref(j);

	/* Not a form: body kept, not parsed. */
	assert_int_equal(roundtrip(other, sizeof(other) - 1, &rp), 0);
	j = body_json(&rp);
	assert_false(json_boolean_value(json_object_get(j, "bad")));
	assert_int_equal(json_integer_value(json_object_get(j, "nform")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "bodylen")), 7);
	json_decref(j);
}

static void
test_hostile(void **state)
{
	static struct reply rp;
	static const char *junk[] = {
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET  HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /hello HTTP/9.9\r\nHost: x\r\n\r\n",
		"GET /hello HTTP/1.1\r\n\r\n",                      /* no Host */
		"GET /he llo HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /hello HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
		"\r\n\r\n\r\n",
		"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab", /* short body */
	};
	static char many[8192];
	size_t off = 0;

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		(void)roundtrip_ex(junk[i], strlen(junk[i]), &rp, true);
		assert_true(rp.status == 0 || rp.status >= 400);
	}
	/* A path with %00 or bad UTF-8 is refused before any handler. */
	assert_int_equal(get("/hel%00lo", &rp), 0);
	assert_int_equal(rp.status, 400);
	assert_int_equal(get("/hello%FF", &rp), 0);
	assert_int_equal(rp.status, 400);
	assert_int_equal(get("/hello%", &rp), 0);
	assert_int_equal(rp.status, 400);

	/* Too many header fields. */
	off += (size_t)snprintf(many, sizeof(many), "GET /hello HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		off += (size_t)snprintf(many + off, sizeof(many) - off, "X-H%d: v\r\n", i);
	off += (size_t)snprintf(many + off, sizeof(many) - off, "Connection: close\r\n\r\n");
	assert_true(off < sizeof(many));
	assert_int_equal(roundtrip(many, off, &rp), 0);
	assert_int_equal(rp.status, 431);

	/* A broken Cookie header costs the cookies only. */
	{
		static const char req[] = "GET /hello?a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
					  "Cookie: sid=\x01x\r\n\r\n";
		json_t *j;

		assert_int_equal(roundtrip(req, sizeof(req) - 1, &rp), 0);
		if (rp.status == 200) {
			j = body_json(&rp);
			assert_null(json_object_get(j, "sid"));
			json_decref(j);
		} else {
			assert_int_equal(rp.status, 400); /* MHD may refuse the byte itself */
		}
	}

	/* Still serving. */
	assert_int_equal(get("/hello?a=1", &rp), 0);
	assert_int_equal(rp.status, 200);
}

static void
test_no_status_is_500(void **state)
{
	static struct reply rp;
	json_t *j;

	assert_int_equal(get("/nostatus", &rp), 0);
	assert_int_equal(rp.status, 500);
	j = body_json(&rp);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "server_error");
	json_decref(j);
}

static void
test_keepalive(void **state)
{
	static struct reply rp;
	static const char two[] = "GET /hello?a=1 HTTP/1.1\r\nHost: x\r\n\r\n"
				  "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

	assert_int_equal(roundtrip(two, sizeof(two) - 1, &rp), 0);
	assert_int_equal(rp.status, 200);
	assert_non_null(strstr(rp.body, "HTTP/1.1 404"));
}

static void
test_dispatch_direct(void **state)
{
	struct arena *a = arena_new();
	struct http_req r = { .arena = a, .method = "GET", .path = STR_LIT("/nostatus") };
	struct http_resp w;

	http_resp_init(&w, a);
	http_dispatch(routes, NULL, &r, &w);
	assert_int_equal(w.status, 500);
	http_resp_free(&w);
	arena_free(a);
}

static void
test_start_errors(void **state)
{
	struct http_server *s = NULL;
	struct http_server_opts o = { .threads = 1, .routes = routes };
	static const char *bad[] = {
		"localhost:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
		"[::1]", "[::1]80", "::1:80", "", "1.2.3:80", "[127.0.0.1]:80",
	};
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.listen = bad[i];
		err_clear(&e);
		assert_int_equal(http_server_start(&o, &s, &e), ERR_INVAL);
		assert_null(s);
	}
	/* Port already taken. */
	{
		char addr[64];

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", PORT);
		o.listen = addr;
		assert_int_not_equal(http_server_start(&o, &s, &e), 0);
		assert_null(s);
	}
	/* IPv6, where the machine has it. */
	o.listen = "[::1]:0";
	if (http_server_start(&o, &s, &e) == 0) {
		assert_true(http_server_port(s) > 0);
		http_server_stop(s);
	}
	http_server_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_and_defaults),
		cmocka_unit_test(test_html_defaults),
		cmocka_unit_test(test_404_405),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_413),
		cmocka_unit_test(test_414),
		cmocka_unit_test(test_query_dup_and_bad),
		cmocka_unit_test(test_form_body),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_no_status_is_500),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_dispatch_direct),
		cmocka_unit_test(test_start_errors),
	};

	return cmocka_run_group_tests(tests, server_up, server_down);
}
