/*
 * Rate limits and connection limits: the token bucket table on its own
 * (time is passed in, so nothing here sleeps), then the server over a
 * loopback socket with low limits: 429 with Retry-After per address and
 * per client, 431 on oversized headers, and slow clients cut off while
 * others are served.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "services.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/http.h"
#include "http/ratelimit.h"

/* ---- the table ---- */

static void
test_bucket_burst_and_refill(void **state)
{
	struct http_ratelimit *rl = http_ratelimit_new(2, 5, 1024);
	struct str k = STR_LIT("192.0.2.1");
	unsigned retry = 99;
	int64_t t = 1000000;

	assert_non_null(rl);
	for (int i = 0; i < 5; i++)
		assert_true(http_ratelimit_take(rl, k, t, &retry));
	assert_int_equal(retry, 0);
	assert_false(http_ratelimit_take(rl, k, t, &retry));
	/* 2 per second: the next token is 500 ms away, rounded up to a whole second. */
	assert_int_equal(retry, 1);
	assert_false(http_ratelimit_take(rl, k, t + 499, &retry));
	assert_true(http_ratelimit_take(rl, k, t + 500, &retry));
	assert_false(http_ratelimit_take(rl, k, t + 500, &retry));
	/* A long pause fills the bucket to the burst, not beyond. */
	for (int i = 0; i < 5; i++)
		assert_true(http_ratelimit_take(rl, k, t + 3600 * 1000, &retry));
	assert_false(http_ratelimit_take(rl, k, t + 3600 * 1000, &retry));
	/* Another key has its own bucket. */
	assert_true(http_ratelimit_take(rl, STR_LIT("192.0.2.2"), t, &retry));
	/* Time going backwards (never with a monotonic clock) grants nothing. */
	assert_false(http_ratelimit_take(rl, k, t, &retry));
	http_ratelimit_free(rl);
}

static void
test_retry_after_slow_rate(void **state)
{
	struct http_ratelimit *rl = http_ratelimit_new(1, 1, 64);
	unsigned retry = 0;

	assert_non_null(rl);
	assert_true(http_ratelimit_take(rl, STR_LIT("k"), 0, &retry));
	assert_false(http_ratelimit_take(rl, STR_LIT("k"), 0, &retry));
	assert_int_equal(retry, 1);
	assert_false(http_ratelimit_take(rl, STR_LIT("k"), 1, &retry));
	assert_int_equal(retry, 1);
	assert_true(http_ratelimit_take(rl, STR_LIT("k"), 1000, &retry));
	http_ratelimit_free(rl);
}

/* Rates below one a second: 3 a minute, a burst of 3 (MinID's form posts). */
static void
test_rate_per_minute(void **state)
{
	struct http_ratelimit *rl = http_ratelimit_new_per(3, 60, 3, 64);
	int64_t t = 5000000;
	unsigned retry = 0;

	assert_non_null(rl);
	for (int i = 0; i < 3; i++)
		assert_true(http_ratelimit_take(rl, STR_LIT("a"), t, &retry));
	assert_false(http_ratelimit_take(rl, STR_LIT("a"), t, &retry));
	assert_int_equal(retry, 20);
	/* another key has its own bucket */
	assert_true(http_ratelimit_take(rl, STR_LIT("b"), t, &retry));
	/* one token every 20 s */
	assert_false(http_ratelimit_take(rl, STR_LIT("a"), t + 19999, &retry));
	assert_int_equal(retry, 1);
	assert_true(http_ratelimit_take(rl, STR_LIT("a"), t + 20000, &retry));
	assert_false(http_ratelimit_take(rl, STR_LIT("a"), t + 20000, &retry));
	/* a minute later: 3 again, never more than the burst */
	for (int i = 0; i < 3; i++)
		assert_true(http_ratelimit_take(rl, STR_LIT("a"), t + 3600000, &retry));
	assert_false(http_ratelimit_take(rl, STR_LIT("a"), t + 3600000, &retry));
	http_ratelimit_free(rl);
	/* period 0 is one second: the same table as http_ratelimit_new */
	rl = http_ratelimit_new_per(1, 0, 1, 64);
	assert_true(http_ratelimit_take(rl, STR_LIT("a"), t, &retry));
	assert_false(http_ratelimit_take(rl, STR_LIT("a"), t + 999, &retry));
	assert_true(http_ratelimit_take(rl, STR_LIT("a"), t + 1000, &retry));
	http_ratelimit_free(rl);
}

static void
test_peek_charge_and_off(void **state)
{
	struct http_ratelimit *rl = http_ratelimit_new(1, 2, 64);
	struct http_ratelimit *off = http_ratelimit_new(0, 1, 64);
	unsigned retry = 0;

	assert_non_null(rl);
	assert_non_null(off);
	/* Peeking takes nothing. */
	for (int i = 0; i < 10; i++)
		assert_true(http_ratelimit_peek(rl, STR_LIT("c"), 0, &retry));
	http_ratelimit_charge(rl, STR_LIT("c"), 0);
	http_ratelimit_charge(rl, STR_LIT("c"), 0);
	assert_false(http_ratelimit_peek(rl, STR_LIT("c"), 0, &retry));
	assert_int_equal(retry, 1);
	/* Charging an empty bucket keeps it at zero: one second brings one back. */
	http_ratelimit_charge(rl, STR_LIT("c"), 0);
	http_ratelimit_charge(rl, STR_LIT("c"), 0);
	assert_true(http_ratelimit_peek(rl, STR_LIT("c"), 1000, &retry));
	/* Rate 0 and a NULL table allow everything. */
	for (int i = 0; i < 1000; i++)
		assert_true(http_ratelimit_take(off, STR_LIT("x"), 0, &retry));
	assert_true(http_ratelimit_take(NULL, STR_LIT("x"), 0, &retry));
	assert_int_equal(http_ratelimit_used(off), 0);
	/* Empty and NULL keys are keys like any other. */
	assert_true(http_ratelimit_take(rl, STR_NULL, 0, &retry));
	http_ratelimit_free(rl);
	http_ratelimit_free(off);
	http_ratelimit_free(NULL);
}

static void
test_bounded_memory(void **state)
{
	struct http_ratelimit *rl = http_ratelimit_new(1, 1, 64);
	unsigned retry;
	char key[32];

	assert_non_null(rl);
	/* A flood of distinct keys (spoofed /64s, made-up client_ids) fills no more than the table. */
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		(void)http_ratelimit_take(rl, str_c(key), i, &retry);
	}
	assert_true(http_ratelimit_used(rl) <= 64);
	assert_true(http_ratelimit_used(rl) >= 32);
	/*
	 * A key in active use stays limited while other keys churn: it is never
	 * the least recently used of its set.
	 */
	assert_true(http_ratelimit_take(rl, STR_LIT("busy"), 200000, &retry));
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "churn%d", i);
		(void)http_ratelimit_take(rl, str_c(key), 200000, &retry);
		assert_false(http_ratelimit_take(rl, STR_LIT("busy"), 200000, &retry));
	}
	http_ratelimit_free(rl);
}

struct race {
	struct http_ratelimit *rl;
	int allowed;
};

static void *
race_main(void *arg)
{
	struct race *r = arg;
	unsigned retry;

	for (int i = 0; i < 5000; i++)
		if (http_ratelimit_take(r->rl, STR_LIT("shared"), 42, &retry))
			__atomic_add_fetch(&r->allowed, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void
test_threads(void **state)
{
	struct race r = { http_ratelimit_new(1, 100, 1024), 0 };
	pthread_t t[8];

	assert_non_null(r.rl);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_main, &r), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	/* At one instant the burst is all there is, however many threads ask. */
	assert_int_equal(r.allowed, 100);
	http_ratelimit_free(r.rl);
}

static void
test_addr_key(void **state)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr un = { .sa_family = AF_UNIX };
	char k1[HTTP_RL_ADDR_KEY], k2[HTTP_RL_ADDR_KEY];

	inet_pton(AF_INET, "198.51.100.7", &a4.sin_addr);
	http_ratelimit_addr_key((struct sockaddr *)&a4, k1);
	assert_string_equal(k1, "198.51.100.7");
	/* Every address of one /64 is one key; the next /64 another. */
	inet_pton(AF_INET6, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &a6.sin6_addr);
	http_ratelimit_addr_key((struct sockaddr *)&a6, k1);
	assert_string_equal(k1, "2001:db8:1:2::/64");
	inet_pton(AF_INET6, "2001:db8:1:2::1", &a6.sin6_addr);
	http_ratelimit_addr_key((struct sockaddr *)&a6, k2);
	assert_string_equal(k1, k2);
	inet_pton(AF_INET6, "2001:db8:1:3::1", &a6.sin6_addr);
	http_ratelimit_addr_key((struct sockaddr *)&a6, k2);
	assert_string_not_equal(k1, k2);
	/* An IPv4 peer on a dual-stack socket counts as its IPv4 address. */
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &a6.sin6_addr);
	http_ratelimit_addr_key((struct sockaddr *)&a6, k2);
	assert_string_equal(k2, "198.51.100.7");
	http_ratelimit_addr_key(&un, k1);
	assert_string_equal(k1, "");
	http_ratelimit_addr_key(NULL, k1);
	assert_string_equal(k1, "");
}

static void
test_backchannel_paths(void **state)
{
	assert_true(http_ratelimit_backchannel("POST", STR_LIT("/token")));
	assert_true(http_ratelimit_backchannel("POST", STR_LIT("/par")));
	assert_true(http_ratelimit_backchannel("POST", STR_LIT("/revoke")));
	assert_true(http_ratelimit_backchannel("POST", STR_LIT("/token/introspect")));
	assert_true(http_ratelimit_backchannel("POST", STR_LIT("/tokeninfo")));
	assert_true(http_ratelimit_backchannel("POST", STR_LIT("/maskinporten/token")));
	assert_false(http_ratelimit_backchannel("GET", STR_LIT("/token")));
	assert_false(http_ratelimit_backchannel("POST", STR_LIT("/authorize")));
	assert_false(http_ratelimit_backchannel("POST", STR_LIT("/tokens")));
	assert_false(http_ratelimit_backchannel(NULL, STR_LIT("/token")));
	assert_false(http_ratelimit_backchannel("POST", STR_NULL));
}

static void
test_limits_config(void **state)
{
	struct http_limits d, c, got;
	struct cfg cfg;
	struct err e = { 0 };

	/* The configuration's defaults are the built-in ones. */
	http_limits_default(&d);
	assert_int_equal(service_cfg_load(&cfg, porten_services, NULL, &e), 0);
	http_limits_from_cfg(&cfg, &c);
	assert_memory_equal(&d, &c, sizeof(d));
	cfg.rate_ip = 7;
	cfg.request_deadline = 3;
	http_limits_from_cfg(&cfg, &c);
	assert_int_equal(c.ip_rate, 7);
	assert_int_equal(c.request_deadline, 3);
	cfg_free(&cfg);
	/* Out-of-bounds values stop start-up. */
	setenv("PORTEN_RATE_IP", "-1", 1);
	assert_int_not_equal(service_cfg_load(&cfg, porten_services, NULL, &e), 0);
	cfg_free(&cfg);
	setenv("PORTEN_RATE_IP", "0", 1);
	assert_int_equal(service_cfg_load(&cfg, porten_services, NULL, &e), 0);
	assert_int_equal(cfg.rate_ip, 0);
	cfg_free(&cfg);
	unsetenv("PORTEN_RATE_IP");
	http_limits_set(&c);
	http_limits_get(&got);
	assert_memory_equal(&c, &got, sizeof(c));
	http_limits_set(NULL);
	http_limits_get(&got);
	assert_memory_equal(&d, &got, sizeof(d));
}

/* ---- the server ---- */

static int PORT;

static void
h_ok(struct http_req *r, struct http_resp *w)
{
	http_resp_text(w, 200, "ok");
}

/*
 * A stand-in token endpoint: 400 for grant_type=bogus before any client
 * authentication, 200 for the secret "good", 401 otherwise.
 */
static void
h_token(struct http_req *r, struct http_resp *w)
{
	struct str user, pass;
	struct err e;

	if (http_param_c(&r->form, "grant_type") != NULL &&
	    strcmp(http_param_c(&r->form, "grant_type"), "bogus") == 0) {
		http_resp_oauth_error(w, 400, "unsupported_grant_type", NULL);
		return;
	}
	if (http_basic_auth(r, &user, &pass, &e) == 0 && str_eq_c(pass, "good")) {
		r->authenticated_client = arena_str(r->arena, user);
		http_resp_text(w, 200, "token");
		return;
	}
	if (http_param_c(&r->form, "client_secret") != NULL &&
	    strcmp(http_param_c(&r->form, "client_secret"), "good") == 0) {
		r->authenticated_client = http_param_c(&r->form, "client_id");
		http_resp_text(w, 200, "token");
		return;
	}
	http_resp_oauth_error(w, 401, "invalid_client", NULL);
}

static const struct http_route routes[] = {
	{ "GET", "/hello", h_ok, NULL },
	{ "POST", "/token", h_token, NULL },
	{ NULL, NULL, NULL, NULL },
};

static struct http_server *
start(const struct http_limits *l)
{
	struct http_server_opts o = { .listen = "127.0.0.1:0", .threads = 2, .routes = routes };
	struct http_server *s = NULL;
	struct err e;

	log_set_level(LOG_ERR);
	http_limits_set(l);
	err_clear(&e);
	if (http_server_start(&o, &s, &e) != 0)
		fail_msg("start: %s", e.msg);
	http_limits_set(NULL);
	PORT = http_server_port(s);
	assert_true(PORT > 0);
	return s;
}

static int
dial(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)PORT) };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

struct reply {
	int status;
	char raw[1 << 16];
	size_t len;
};

static void
roundtrip(const char *req, size_t n, struct reply *rp)
{
	int fd = dial();
	size_t off = 0;

	memset(rp, 0, sizeof(*rp));
	while (off < n) {
		ssize_t k = send(fd, req + off, n - off, MSG_NOSIGNAL);

		if (k <= 0)
			break; /* answered early and closed */
		off += (size_t)k;
	}
	for (;;) {
		ssize_t k = recv(fd, rp->raw + rp->len, sizeof(rp->raw) - 1 - rp->len, 0);

		if (k <= 0 || rp->len + (size_t)k >= sizeof(rp->raw) - 1)
			break;
		rp->len += (size_t)k;
	}
	rp->raw[rp->len] = '\0';
	close(fd);
	if (rp->len >= 12 && strncmp(rp->raw, "HTTP/1.1 ", 9) == 0)
		rp->status = (rp->raw[9] - '0') * 100 + (rp->raw[10] - '0') * 10 + (rp->raw[11] - '0');
}

static void
get_hello(struct reply *rp)
{
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

	roundtrip(req, sizeof(req) - 1, rp);
}

static void
post_token(const char *extra_header, const char *form, struct reply *rp)
{
	char req[2048];
	int n = snprintf(req, sizeof(req),
			 "POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s"
			 "Content-Type: application/x-www-form-urlencoded\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 extra_header, strlen(form), form);

	assert_true(n > 0 && (size_t)n < sizeof(req));
	roundtrip(req, (size_t)n, rp);
}

static const char *
find_header(const struct reply *rp, const char *name, char *out, size_t outsz)
{
	const char *p = rp->raw;
	size_t nl = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *end = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, outsz, "%.*s", (int)(end ? end - v : 0), v);
			return out;
		}
	}
	return NULL;
}

static void
expect_429(const struct reply *rp, const char *error)
{
	char v[64];
	const char *body = strstr(rp->raw, "\r\n\r\n");
	json_t *j;

	assert_int_equal(rp->status, 429);
	assert_non_null(find_header(rp, "Retry-After", v, sizeof(v)));
	assert_true(strcmp(v, "1") == 0 || strcmp(v, "2") == 0);
	assert_non_null(find_header(rp, "Content-Type", v, sizeof(v)));
	assert_non_null(strstr(v, "application/json"));
	assert_non_null(body);
	j = json_loads(body + 4, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")), error);
	json_decref(j);
}

static void
test_server_ip_limit(void **state)
{
	struct http_limits l;
	struct http_server *s;
	struct reply rp;
	int ok = 0, limited = 0;
	int64_t t0;

	http_limits_default(&l);
	l.ip_rate = 1;
	l.ip_burst = 3;
	s = start(&l);
	t0 = time_mono_ms();
	for (int i = 0; i < 6; i++) {
		get_hello(&rp);
		if (rp.status == 200)
			ok++;
		else
			expect_429(&rp, "too_many_requests");
		limited += rp.status == 429;
	}
	/* Three in the burst, one more per second it took (slow under valgrind), the rest refused. */
	assert_true(ok >= 3);
	assert_true(ok <= 3 + (int)((time_mono_ms() - t0) / 1000) + 1);
	assert_true(limited >= 1 || time_mono_ms() - t0 > 2000);
	assert_int_equal(ok + limited, 6);
	/* The bucket refills: a second later one more goes through. */
	sleep(1);
	get_hello(&rp);
	assert_int_equal(rp.status, 200);
	http_server_stop(s);
}

static void
test_server_client_limit(void **state)
{
	struct http_limits l;
	struct http_server *s;
	struct reply rp;
	/* base64("c1:good") and base64("c1:bad"), base64("c2:good") */
	static const char good[] = "Authorization: Basic YzE6Z29vZA==\r\n";
	static const char bad[] = "Authorization: Basic YzE6YmFk\r\n";
	static const char other[] = "Authorization: Basic YzI6Z29vZA==\r\n";

	http_limits_default(&l);
	l.client_rate = 1;
	l.client_burst = 2;
	s = start(&l);
	/* A stranger naming c1 with a wrong secret does not spend c1's budget. */
	for (int i = 0; i < 5; i++) {
		post_token(bad, "grant_type=x", &rp);
		assert_int_equal(rp.status, 401);
	}
	/* Nor do requests refused before the client authenticates. */
	for (int i = 0; i < 5; i++) {
		post_token("", "grant_type=bogus&client_id=c1", &rp);
		assert_int_equal(rp.status, 400);
	}
	post_token(good, "grant_type=x", &rp);
	assert_int_equal(rp.status, 200);
	post_token("", "grant_type=x&client_id=c1&client_secret=good", &rp);
	assert_int_equal(rp.status, 200);
	/* c1's burst is spent: 429 slow_down, whichever way it names itself. */
	post_token(good, "grant_type=x", &rp);
	expect_429(&rp, "slow_down");
	post_token("", "grant_type=x&client_id=c1&client_secret=good", &rp);
	expect_429(&rp, "slow_down");
	/* Another client is not affected. */
	post_token(other, "grant_type=x", &rp);
	assert_int_equal(rp.status, 200);
	/* Front-channel requests are not counted per client. */
	get_hello(&rp);
	assert_int_equal(rp.status, 200);
	http_server_stop(s);
}

static void
test_server_header_limits(void **state)
{
	struct http_limits l;
	struct http_server *s;
	struct reply rp;
	char *req = malloc(HTTP_MAX_HEADER_BYTES + 1024);
	size_t n;

	assert_non_null(req);
	http_limits_default(&l);
	s = start(&l);
	/* One header field over HTTP_MAX_HEADER_BYTES: 431. */
	n = (size_t)snprintf(req, 128, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'a', HTTP_MAX_HEADER_BYTES);
	n += HTTP_MAX_HEADER_BYTES;
	memcpy(req + n, "\r\n\r\n", 4);
	n += 4;
	roundtrip(req, n, &rp);
	assert_int_equal(rp.status, 431);
	/* Under the limit is fine. */
	n = (size_t)snprintf(req, 128, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ");
	memset(req + n, 'a', HTTP_MAX_HEADER_BYTES / 2);
	n += HTTP_MAX_HEADER_BYTES / 2;
	memcpy(req + n, "\r\n\r\n", 4);
	n += 4;
	roundtrip(req, n, &rp);
	assert_int_equal(rp.status, 200);
	/* Just under it too: the connection memory holds a whole header block. */
	n = (size_t)snprintf(req, 128, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ");
	memset(req + n, 'a', HTTP_MAX_HEADER_BYTES - 256 - n);
	n = HTTP_MAX_HEADER_BYTES - 256;
	memcpy(req + n, "\r\n\r\n", 4);
	n += 4;
	roundtrip(req, n, &rp);
	assert_int_equal(rp.status, 200);
	free(req);
	http_server_stop(s);
}

/* Has the server closed fd (read returns 0 or an error) within ms? */
static bool
closed_within(int fd, int ms)
{
	int64_t end = time_mono_ms() + ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = end - time_mono_ms();
		char buf[512];

		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			return true;
	}
}

static void
test_server_slowloris(void **state)
{
	struct http_limits l;
	struct http_server *s;
	struct reply rp;
	int64_t t0;
	int idle, trickle;

	http_limits_default(&l);
	l.conn_timeout = 1;
	l.request_deadline = 3;
	s = start(&l);

	/* Half a request, then silence: MHD's idle timeout cuts it. */
	idle = dial();
	assert_int_equal(send(idle, "GET /hello HTTP/1.1\r\nHost: x\r\n", 30, MSG_NOSIGNAL), 30);
	/*
	 * A header trickled a byte at a time, faster than the idle timeout:
	 * only the request deadline ends it.
	 */
	trickle = dial();
	assert_int_equal(send(trickle, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ", 38,
			      MSG_NOSIGNAL), 38);
	t0 = time_mono_ms();
	while (time_mono_ms() - t0 < 10000) {
		struct pollfd p = { .fd = trickle, .events = POLLIN };

		if (send(trickle, "a", 1, MSG_NOSIGNAL) != 1)
			break;
		/* Meanwhile everyone else is served. */
		get_hello(&rp);
		assert_int_equal(rp.status, 200);
		if (poll(&p, 1, 300) > 0)
			break; /* EOF from the server */
	}
	assert_true(closed_within(idle, 100));
	assert_true(closed_within(trickle, 1000));
	/* Cut after the deadline (3 s), not long after (the watchdog looks four times a second). */
	assert_true(time_mono_ms() - t0 >= 2500);
	assert_true(time_mono_ms() - t0 < 8000);
	close(idle);
	close(trickle);
	get_hello(&rp);
	assert_int_equal(rp.status, 200);
	http_server_stop(s);
}

/* A kept-alive connection gets a new deadline for each request. */
static void
test_server_keepalive_deadline(void **state)
{
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_limits l;
	struct http_server *s;
	int fd;

	http_limits_default(&l);
	l.conn_timeout = 5;
	l.request_deadline = 2;
	s = start(&l);
	fd = dial();
	for (int i = 0; i < 4; i++) {
		char buf[1024];
		ssize_t n;

		assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		assert_true(n > 12);
		buf[n] = '\0';
		assert_non_null(strstr(buf, "HTTP/1.1 200"));
		usleep(900 * 1000);
	}
	close(fd);
	http_server_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_burst_and_refill),
		cmocka_unit_test(test_retry_after_slow_rate),
		cmocka_unit_test(test_rate_per_minute),
		cmocka_unit_test(test_peek_charge_and_off),
		cmocka_unit_test(test_bounded_memory),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_addr_key),
		cmocka_unit_test(test_backchannel_paths),
		cmocka_unit_test(test_limits_config),
		cmocka_unit_test(test_server_ip_limit),
		cmocka_unit_test(test_server_client_limit),
		cmocka_unit_test(test_server_header_limits),
		cmocka_unit_test(test_server_slowloris),
		cmocka_unit_test(test_server_keepalive_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
