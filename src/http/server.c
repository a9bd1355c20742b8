/*
 * The libmicrohttpd glue: one daemon, a thread pool on epoll, and per
 * request an arena holding a struct http_req built from what MHD parsed.
 *
 * MHD calls us three ways per request:
 *   uri_cb        with the raw request target, before MHD decodes anything:
 *                 we allocate the request state here and keep the target,
 *                 so the query is parsed by http_parse_urlencoded (strict,
 *                 duplicates kept) and never by MHD's lenient decoder;
 *   access_cb     once when the headers are in, once per body chunk, and
 *                 a last time with no data: then we dispatch and answer;
 *   completed_cb  when the request is over, however it ended (also when
 *                 MHD gave up on a malformed request): frees the state.
 *
 * Limits (http/limits.h, http/ratelimit.h): a token bucket per remote
 * address is charged before anything else, so a flood costs us a table
 * lookup and a short 429; a token bucket per client_id guards the
 * back-channel endpoints.  MHD cuts a connection that stays silent for
 * conn_timeout seconds and caps connections per address; a watchdog
 * thread cuts one whose request has not arrived completely within
 * request_deadline seconds, which a client trickling one byte at a time
 * (slowloris) would otherwise stretch without end.
 */
#include "http/http.h"
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/metrics.h"
#include "http/proxy.h"
#include "http/ratelimit.h"

#define HTTP_MAX_THREADS 256
/*
 * A chunked body (no Content-Length) over HTTP_MAX_BODY can only be refused
 * once it has been read; past this much we stop reading and cut the line.
 */
#define HTTP_MAX_DISCARD (4 * HTTP_MAX_BODY)
#define LOG_PATH_MAX 256
#define WATCHDOG_PERIOD_MS 250
#define CLIENT_KEY_MAX 256 /* longer client_ids are not counted (they are refused anyway) */

/*
 * One per TCP connection (MHD's socket context), on the server's list
 * while the connection lives.  since_ms is when the request now arriving
 * began to (the connection opened or the previous response was done);
 * receiving is false from dispatch until the response is done.
 */
struct conn_watch {
	struct conn_watch *prev, *next;
	int fd;
	int64_t since_ms;
	bool receiving;
	bool cut;
};

struct http_server {
	struct MHD_Daemon *d;
	const struct http_route *routes;
	const struct http_hosts *hosts;
	unsigned *route_slot;           /* metrics_route_slot() of each route */
	void *app;
	struct http_limits lim;
	struct http_ratelimit *ip_rl;
	struct http_ratelimit *client_rl;
	pthread_mutex_t watch_lock;     /* guards the list below and each conn_watch */
	struct conn_watch *watch_head;
	pthread_cond_t watch_cond;
	pthread_t watchdog;
	bool watchdog_running;
	bool stopping;                  /* under watch_lock */
	bool tls;                       /* the listener speaks TLS */
};

/* Per request: allocated in uri_cb, freed in completed_cb. */
struct conn_req {
	struct http_server *srv;
	struct arena *arena;
	struct http_req r;
	struct http_resp w;
	struct buf body;        /* capped at HTTP_MAX_BODY */
	struct timespec t0;
	char *target;           /* raw request target (arena), NULL when too long */
	char *logpath;          /* its path, cut short and made printable, for the log */
	char ipkey[HTTP_RL_ADDR_KEY]; /* the client's rate-limit key */
	struct net_addr peer;   /* the connection's other end */
	const char *client_key; /* client_id the per-client limit counts, or NULL */
	struct http_params parsed[3]; /* form, query, cookies as req_build made them (to wipe) */
	size_t discarded;
	unsigned route_slot;    /* of the route that answered (metrics), 0 for none */
	bool started;
	bool uri_too_long;
	bool body_too_large;
};

/* ---- routing and response defaults (no MHD here) ---- */

static const char *
resp_get(const struct http_resp *w, const char *name)
{
	for (size_t i = 0; i < w->nheaders; i++)
		if (strcasecmp(w->headers[i].name, name) == 0)
			return w->headers[i].value;
	return NULL;
}

static void
resp_default(struct http_resp *w, const char *name, const char *value)
{
	if (resp_get(w, name) == NULL)
		(void)http_resp_header(w, name, value);
}

/*
 * The last word on every response: a status that a handler forgot becomes
 * a 500, and headers the handler did not set get safe defaults.
 */
static void
resp_finish(struct http_resp *w, const char *rid)
{
	const char *type;

	/* 1xx are MHD's business (100-continue), never a handler's answer. */
	if (w->status < 200 || w->status > 599) {
		log_err(rid, "handler produced no valid status (%d)", w->status);
		http_resp_oauth_error(w, 500, "server_error", NULL);
	}
	resp_default(w, "X-Content-Type-Options", "nosniff");
	resp_default(w, "Referrer-Policy", "no-referrer");
	resp_default(w, "Cache-Control", "no-store");
	type = resp_get(w, "Content-Type");
	if (type == NULL)
		type = w->content_type;
	if (type != NULL && strncasecmp(type, "text/html", 9) == 0) {
		resp_default(w, "Content-Security-Policy", http_csp_html);
		resp_default(w, "X-Frame-Options", "DENY");
	}
}

static void
resp_simple_error(struct http_resp *w, int status, const char *error)
{
	json_t *j = json_pack("{s:s}", "error", error);

	http_resp_json(w, status, j);
	json_decref(j);
}

/* The request this thread serves (http_request_serial), and the last one it served. */
static _Thread_local uint64_t req_serial, req_last;
static _Thread_local const void *req_route_data;

uint64_t
http_request_serial(void)
{
	return req_serial;
}

const void *
http_request_route_data(void)
{
	return req_route_data;
}

/*
 * A route's path names one resource, or, ending in a slash and a star,
 * every path below it (an API's /clients/{id}/...; the handler reads the rest of
 * r->path).
 */
static bool
route_matches(struct str path, const char *pattern)
{
	size_t n = strlen(pattern);

	if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '/')
		return path.len > n - 1 && memcmp(path.p, pattern, n - 1) == 0;
	return str_eq_c(path, pattern);
}

/* Does the Host header name the browser host (any case; the default port dropped)? */
static bool
on_browser_host(const struct http_hosts *h, const struct http_req *r)
{
	const char *host = http_header(r, "host");
	size_t n;

	if (host == NULL)
		return false;
	n = strlen(host);
	n -= str_default_port_len(h->browser_origin, (struct str){ host, n });
	return n == strlen(h->browser_host) && strncasecmp(host, h->browser_host, n) == 0;
}

/*
 * A route asked for on the other host of a node that serves two: a browser
 * route goes to the browser host (308 keeps a POST's method and body), so
 * its cookies live on one host; a back-channel route is not the browser
 * host's (421, RFC 9110 §15.5.20).  true when answered.
 */
static bool
misdirected(const struct http_hosts *h, size_t route, struct http_req *r, struct http_resp *w)
{
	enum http_side side = h != NULL && h->sides != NULL ? h->sides[route] : HTTP_SIDE_ANY;

	if (side == HTTP_SIDE_ANY)
		return false;
	if (side == HTTP_SIDE_BACK && on_browser_host(h, r)) {
		json_t *j = json_pack("{s:s,s:s}", "error", "invalid_request", "error_description",
				      "this endpoint is served at the issuer's host, not the login host");

		http_resp_json(w, 421, j);
		json_decref(j);
		return true;
	}
	if (side == HTTP_SIDE_BROWSER && !on_browser_host(h, r)) {
		const char *q = r->raw_query.len > 0 ? "?" : "";

		http_resp_redirect(w, arena_printf(r->arena, "%s%.*s%s%.*s", h->browser_origin,
						   (int)r->path.len, r->path.p, q,
						   (int)r->raw_query.len, r->raw_query.p));
		if (w->status == 302)
			w->status = 308;
		return true;
	}
	return false;
}

/* The index of the route that answered, or -1. */
static long
dispatch(const struct http_route *routes, const struct http_hosts *hosts, struct http_req *r,
	 struct http_resp *w)
{
	const struct http_route *rt, *hit = NULL;
	const char *m = r->method ? r->method : "";
	bool path_known = false, head = strcmp(m, "HEAD") == 0;

	for (rt = routes; rt != NULL && rt->fn != NULL; rt++) {
		if (rt->path == NULL || !route_matches(r->path, rt->path))
			continue;
		path_known = true;
		/* RFC 9110 §9.3.2: HEAD is GET without the body (MHD drops it). */
		if (rt->method == NULL || strcmp(rt->method, m) == 0 ||
		    (head && strcmp(rt->method, "GET") == 0)) {
			hit = rt;
			break;
		}
	}
	if (hit != NULL && misdirected(hosts, (size_t)(hit - routes), r, w)) {
		resp_finish(w, r->rid);
		return (long)(hit - routes);
	}
	if (hit != NULL) {
		r->route_data = hit->data;
		req_serial = ++req_last;
		req_route_data = hit->data;
		hit->fn(r, w);
		req_route_data = NULL;
		req_serial = 0;
		resp_finish(w, r->rid);
		return (long)(hit - routes);
	} else if (path_known) {
		/* RFC 9110 §15.5.6: a 405 lists the methods the resource has. */
		struct buf allow;
		bool get = false;

		buf_init(&allow, 512);
		for (rt = routes; rt->fn != NULL; rt++) {
			if (rt->path == NULL || !route_matches(r->path, rt->path) || rt->method == NULL)
				continue;
			if (allow.len > 0 && buf_puts(&allow, ", ") != 0)
				break;
			if (buf_puts(&allow, rt->method) != 0)
				break;
			get = get || strcmp(rt->method, "GET") == 0;
		}
		if (get)
			(void)buf_puts(&allow, ", HEAD");
		resp_simple_error(w, 405, "method_not_allowed");
		if (allow.p != NULL)
			(void)http_resp_header(w, "Allow", allow.p);
		buf_free(&allow);
	} else {
		resp_simple_error(w, 404, "not_found");
	}
	resp_finish(w, r->rid);
	return -1;
}

void
http_dispatch(const struct http_route *routes, const struct http_hosts *hosts,
	      struct http_req *r, struct http_resp *w)
{
	(void)dispatch(routes, hosts, r, w);
}

/* ---- building the request ---- */

struct hdr_ctx {
	struct http_req *r;
	size_t cap;
};

static enum MHD_Result
hdr_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hdr_ctx *hc = cls;
	struct http_req *r = hc->r;
	struct http_param *p;
	char *name;

	if (key == NULL || r->headers.n >= hc->cap)
		return MHD_NO;
	name = arena_strdup(r->arena, key);
	for (char *c = name; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	p = &r->headers.v[r->headers.n++];
	p->name = str_c(name);
	p->value = str_c(arena_strdup(r->arena, value ? value : ""));
	return MHD_YES;
}

/* application/x-www-form-urlencoded, with any parameters after ';' ignored. */
static bool
is_form_type(const char *ct)
{
	struct str t, params;

	if (ct == NULL)
		return false;
	str_split(str_c(ct), ';', &t, &params);
	while (t.len > 0 && (t.p[t.len - 1] == ' ' || t.p[t.len - 1] == '\t'))
		t.len--;
	while (t.len > 0 && (t.p[0] == ' ' || t.p[0] == '\t')) {
		t.p++;
		t.len--;
	}
	return t.len == 33 && strncasecmp(t.p, "application/x-www-form-urlencoded", 33) == 0;
}

/*
 * Fill st->r from what MHD holds.  Returns 0, or an HTTP status to answer
 * without dispatching (a path we cannot decode).
 */
static int
req_build(struct conn_req *st, struct MHD_Connection *c)
{
	struct http_req *r = &st->r;
	struct str target = str_c(st->target), rawpath, query;
	struct hdr_ctx hc = { r, HTTP_MAX_HEADERS };
	struct err e;
	bool has_query;
	const char *ct;

	has_query = str_split(target, '?', &rawpath, &query);
	/*
	 * Routing sees the decoded path, a proxy's rules the raw one: a path
	 * that decodes to another route than it spells is refused.
	 */
	if (!http_path_canonical(rawpath))
		return 400;
	/* A path keeps '+' (RFC 3986); bounded by the request target's own limit. */
	if (http_pct_decode(r->arena, rawpath, false, HTTP_MAX_URI, &r->path, NULL) != 0)
		return 400;
	r->raw_query = has_query ? query : (struct str){ "", 0 };
	r->app = st->srv->app;

	r->headers.v = arena_alloc(r->arena, HTTP_MAX_HEADERS * sizeof(*r->headers.v));
	(void)MHD_get_connection_values(c, MHD_HEADER_KIND, hdr_cb, &hc);

	for (size_t i = 0; i < r->headers.n; i++) {
		if (!str_eq_c(r->headers.v[i].name, "cookie"))
			continue;
		err_clear(&e);
		if (http_parse_cookies(r->arena, r->headers.v[i].value, &r->cookies, &e) != 0) {
			/* A broken Cookie header costs the request its cookies, nothing more. */
			log_debug(r->rid, "cookies ignored: %s", e.msg);
			r->cookies.v = NULL;
			r->cookies.n = 0;
			break;
		}
	}

	r->body = (struct str){ arena_strndup(r->arena, st->body.p ? st->body.p : "", st->body.len),
				st->body.len };
	buf_free_secret(&st->body);

	err_clear(&r->input_err);
	if (http_parse_urlencoded(r->arena, r->raw_query, &r->query, &r->input_err) != 0)
		r->bad_input = true;
	ct = http_header(r, "content-type");
	if (!r->bad_input && is_form_type(ct) &&
	    http_parse_urlencoded(r->arena, r->body, &r->form, &r->input_err) != 0)
		r->bad_input = true;
	if (r->bad_input) {
		/* As http.h promises: nothing half-parsed reaches the handler. */
		r->query = (struct http_params){ NULL, 0 };
		r->form = (struct http_params){ NULL, 0 };
	}
	st->parsed[0] = r->form;
	st->parsed[1] = r->query;
	st->parsed[2] = r->cookies;
	return 0;
}

/* ---- answering ---- */

static long long
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static int64_t
ns_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t0->tv_sec) * 1000000000 + (now.tv_nsec - t0->tv_nsec);
}

/*
 * The path of a raw target as the log shows it: never the query (it can
 * carry codes and tokens), at most LOG_PATH_MAX bytes, printable ASCII.
 */
static char *
log_path(struct arena *a, const char *uri)
{
	char *path = arena_alloc(a, LOG_PATH_MAX + 1);
	size_t n = 0;

	for (const char *p = uri; p != NULL && *p != '\0' && *p != '?' && n < LOG_PATH_MAX; p++)
		path[n++] = (*p > 0x20 && *p < 0x7f) ? *p : '?';
	path[n] = '\0';
	return path;
}

/* One line per request. */
static void
log_request(const struct conn_req *st)
{
	const char *path = st->logpath && st->logpath[0] ? st->logpath : "-";

	log_info(st->r.rid, "http method=%s path=%s status=%d ms=%lld",
		 st->r.method ? st->r.method : "-", path, st->w.status, ms_since(&st->t0));
}

static enum MHD_Result
answer(struct conn_req *st, struct MHD_Connection *c)
{
	struct http_resp *w = &st->w;
	struct MHD_Response *mr;
	enum MHD_Result ret;
	bool has_type = false;

	resp_finish(w, st->r.rid);
	mr = MHD_create_response_from_buffer(w->body.len, w->body.p ? w->body.p : (void *)"",
					     MHD_RESPMEM_MUST_COPY);
	if (mr == NULL)
		return MHD_NO;
	for (size_t i = 0; i < w->nheaders; i++) {
		if (strcasecmp(w->headers[i].name, "Content-Type") == 0)
			has_type = true;
		if (MHD_add_response_header(mr, w->headers[i].name, w->headers[i].value) != MHD_YES)
			log_warn(st->r.rid, "response header %s dropped", w->headers[i].name);
	}
	if (!has_type && w->content_type != NULL)
		(void)MHD_add_response_header(mr, "Content-Type", w->content_type);
	ret = MHD_queue_response(c, (unsigned int)w->status, mr);
	MHD_destroy_response(mr);
	metrics_http_observe(st->route_slot, w->status, ns_since(&st->t0));
	log_request(st);
	return ret;
}

static enum MHD_Result
answer_error(struct conn_req *st, struct MHD_Connection *c, int status, const char *desc)
{
	http_resp_oauth_error(&st->w, status, "invalid_request", desc);
	return answer(st, c);
}

/* RFC 6585 §4: 429 with Retry-After (RFC 9110 §10.2.3, delay-seconds). */
static enum MHD_Result
answer_limited(struct conn_req *st, struct MHD_Connection *c, const char *error,
	       const char *desc, unsigned retry_after)
{
	char secs[16];

	metrics_inc(METRICS_RATELIMITED, strcmp(error, "slow_down") == 0 ? "client" : "address",
		    NULL);
	snprintf(secs, sizeof(secs), "%u", retry_after > 0 ? retry_after : 1);
	http_resp_oauth_error(&st->w, 429, error, desc);
	(void)http_resp_header(&st->w, "Retry-After", secs);
	return answer(st, c);
}

/* ---- limits ---- */

static struct conn_watch *
watch_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* The request on c has arrived (false) or the next one may begin (true). */
static void
watch_receiving(struct http_server *s, struct MHD_Connection *c, bool receiving)
{
	struct conn_watch *cw = watch_of(c);

	if (cw == NULL)
		return;
	pthread_mutex_lock(&s->watch_lock);
	cw->receiving = receiving;
	if (receiving)
		cw->since_ms = time_mono_ms();
	pthread_mutex_unlock(&s->watch_lock);
}

static void
notify_cb(void *cls, struct MHD_Connection *c, void **socket_context,
	  enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	struct conn_watch *cw;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		*socket_context = NULL;
		cw = calloc(1, sizeof(*cw));
		if (cw == NULL || ci == NULL) {
			free(cw);
			return; /* not watched: MHD's idle timeout still applies */
		}
		cw->fd = ci->connect_fd;
		cw->since_ms = time_mono_ms();
		cw->receiving = true;
		pthread_mutex_lock(&s->watch_lock);
		cw->next = s->watch_head;
		if (s->watch_head != NULL)
			s->watch_head->prev = cw;
		s->watch_head = cw;
		pthread_mutex_unlock(&s->watch_lock);
		*socket_context = cw;
		return;
	}
	/*
	 * MHD_CONNECTION_NOTIFY_CLOSED comes before MHD closes the socket, so
	 * once the entry is off the list under the lock, the watchdog can no
	 * longer touch its descriptor (which the kernel may then reuse).
	 */
	cw = *socket_context;
	if (cw == NULL)
		return;
	pthread_mutex_lock(&s->watch_lock);
	if (cw->prev != NULL)
		cw->prev->next = cw->next;
	else
		s->watch_head = cw->next;
	if (cw->next != NULL)
		cw->next->prev = cw->prev;
	pthread_mutex_unlock(&s->watch_lock);
	free(cw);
	*socket_context = NULL;
}

/*
 * Cut connections whose request is overdue.  shutdown() rather than
 * close(): MHD owns the descriptor; it sees the end of the stream and
 * cleans up the connection the ordinary way.
 */
static void *
watchdog_main(void *arg)
{
	struct http_server *s = arg;
	int64_t limit_ms = (int64_t)s->lim.request_deadline * 1000;

	pthread_mutex_lock(&s->watch_lock);
	while (!s->stopping) {
		struct timespec until;
		int64_t now = time_mono_ms();
		unsigned cut = 0;

		for (struct conn_watch *cw = s->watch_head; cw != NULL; cw = cw->next) {
			if (!cw->receiving || cw->cut || now - cw->since_ms <= limit_ms)
				continue;
			(void)shutdown(cw->fd, SHUT_RDWR);
			cw->cut = true;
			cut++;
		}
		if (cut > 0)
			log_info(NULL, "http: cut %u connection(s) whose request took over %u s", cut,
				 s->lim.request_deadline);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += WATCHDOG_PERIOD_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&s->watch_cond, &s->watch_lock, &until);
	}
	pthread_mutex_unlock(&s->watch_lock);
	return NULL;
}

/*
 * The client the per-client limit counts: the Basic user-id, else the
 * form's client_id (a request naming none, or two, is only counted by
 * address; client authentication refuses it anyway).
 */
static const char *
client_key(struct http_req *r)
{
	struct str user, pass, id;
	struct err e;

	if (http_basic_auth(r, &user, &pass, &e) == 0) {
		secure_wipe((void *)pass.p, pass.len);
		id = user;
	} else if (http_param(&r->form, "client_id", &id) != 0) {
		return NULL;
	}
	if (id.len == 0 || id.len > CLIENT_KEY_MAX)
		return NULL;
	return arena_str(r->arena, id);
}

/* ---- MHD callbacks ---- */

static enum MHD_Result
host_count_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	unsigned *n = cls;

	(void)kind;
	(void)value;
	if (key != NULL && strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		(*n)++;
	return MHD_YES;
}

/* How many Host header fields the request has. */
static unsigned
host_count(struct MHD_Connection *c)
{
	unsigned n = 0;

	(void)MHD_get_connection_values(c, MHD_HEADER_KIND, host_count_cb, &n);
	return n;
}

/*
 * Request bytes can carry client secrets, passwords, one-time codes and
 * tokens (STYLE: clear secrets before freeing): wipe the body, the decoded
 * form and query values and the credential headers we copied.  Copies a
 * handler made in the arena are its own to wipe; MHD's read buffer is
 * reused for the next request on the connection.
 */
static void
conn_req_wipe(struct conn_req *st)
{
	struct http_req *r = &st->r;

	if (r->body.p != NULL)
		secure_wipe((void *)r->body.p, r->body.len);
	/* Only what req_build parsed: a handler may have added entries of its own. */
	for (size_t k = 0; k < sizeof(st->parsed) / sizeof(st->parsed[0]); k++)
		for (size_t i = 0; i < st->parsed[k].n; i++)
			if (st->parsed[k].v[i].value.p != NULL)
				secure_wipe((void *)st->parsed[k].v[i].value.p,
					    st->parsed[k].v[i].value.len);
	for (size_t i = 0; i < r->headers.n; i++) {
		struct http_param *h = &r->headers.v[i];

		if ((str_eq_c(h->name, "authorization") || str_eq_c(h->name, "cookie")) &&
		    h->value.p != NULL)
			secure_wipe((void *)h->value.p, h->value.len);
	}
}

static void
conn_req_free(struct conn_req *st)
{
	if (st == NULL)
		return;
	conn_req_wipe(st);
	http_resp_free(&st->w);
	buf_free_secret(&st->body);
	arena_free(st->arena);
	free(st);
}

static void *
uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn_req *st;
	unsigned char rnd[8];
	const union MHD_ConnectionInfo *ci;
	size_t n;

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->arena = arena_new();
	if (st->arena == NULL) {
		free(st);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &st->t0);
	st->srv = cls;
	st->r.arena = st->arena;
	http_resp_init(&st->w, st->arena);
	buf_init(&st->body, HTTP_MAX_BODY);

	if (rand_bytes(rnd, sizeof(rnd)) == 0) {
		static const char hex[] = "0123456789abcdef";

		for (size_t i = 0; i < sizeof(rnd); i++) {
			st->r.rid[2 * i] = hex[rnd[i] >> 4];
			st->r.rid[2 * i + 1] = hex[rnd[i] & 15];
		}
	} else {
		memcpy(st->r.rid, "0000000000000000", 16);
	}
	st->r.rid[16] = '\0';

	/* uri is NULL when the request line has no target; MHD refuses it later. */
	n = uri ? strnlen(uri, HTTP_MAX_URI + 1) : 0;
	if (n > HTTP_MAX_URI)
		st->uri_too_long = true;
	else if (uri != NULL)
		st->target = arena_strndup(st->arena, uri, n);
	st->logpath = log_path(st->arena, uri);
	st->r.tls = st->srv->tls;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL) {
		char addr[INET6_ADDRSTRLEN] = "";
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				  addr, sizeof(addr));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  addr, sizeof(addr));
		st->r.remote_addr = arena_strdup(st->arena, addr);
		http_ratelimit_addr_key(sa, st->ipkey);
		(void)net_addr_from_sockaddr(sa, &st->peer);
	} else {
		st->r.remote_addr = "";
	}
	return st;
}

struct xff_ctx {
	struct buf b;
	bool too_long;
};

static enum MHD_Result
xff_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct xff_ctx *x = cls;

	(void)kind;
	if (key == NULL || value == NULL || strcasecmp(key, "X-Forwarded-For") != 0)
		return MHD_YES;
	/* Field lines of one name join with commas (RFC 9110 §5.3). */
	if ((x->b.len > 0 && buf_puts(&x->b, ",") != 0) || buf_puts(&x->b, value) != 0) {
		x->too_long = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/*
 * Behind a trusted proxy, the client is who X-Forwarded-For says
 * (http/proxy.h): remote_addr and the rate-limit key become its.
 */
static void
client_from_proxy(struct conn_req *st, struct MHD_Connection *c)
{
	const struct net_cidrs *tp = &st->srv->lim.trusted_proxies;
	struct net_addr client;
	struct sockaddr_storage ss;
	char text[NET_ADDR_TEXT];
	struct xff_ctx xff = { .too_long = false };

	if (tp->n == 0 || st->peer.family == 0 || !net_cidrs_match(tp, &st->peer))
		return;
	buf_init(&xff.b, HTTP_MAX_HEADER_BYTES);
	(void)MHD_get_connection_values(c, MHD_HEADER_KIND, xff_cb, &xff);
	/* Too long to be honest (the request gets a 431 next): the proxy is the client. */
	if (xff.too_long)
		buf_reset(&xff.b);
	http_forwarded_client(tp, &st->peer, (struct str){ xff.b.p ? xff.b.p : "", xff.b.len },
			      &client);
	buf_free(&xff.b);
	if (memcmp(&client, &st->peer, sizeof(client)) == 0)
		return;
	memset(&ss, 0, sizeof(ss));
	if (client.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, client.a, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, client.a, 16);
	}
	net_addr_format(&client, text);
	st->r.remote_addr = arena_strdup(st->arena, text);
	http_ratelimit_addr_key((const struct sockaddr *)&ss, st->ipkey);
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	conn_req_free(*con_cls);
	*con_cls = NULL;
	/* The next request on a kept-alive connection gets a fresh deadline. */
	watch_receiving(cls, c, true);
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	  const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct conn_req *st = *con_cls;
	struct http_server *srv = cls;
	unsigned retry = 0;
	int status;

	if (st == NULL)
		return MHD_NO; /* out of memory in uri_cb: drop the connection */
	if (!st->started) {
		const union MHD_ConnectionInfo *hs;
		const char *cl;
		long long len;

		st->started = true;
		st->r.method = arena_strdup(st->arena, method ? method : "");
		client_from_proxy(st, c);
		/* First, so that a flood costs no more than this. */
		if (!http_ratelimit_take(srv->ip_rl, str_c(st->ipkey), time_mono_ms(), &retry))
			return answer_limited(st, c, "too_many_requests",
					      "too many requests from this address", retry);
		/* Early answers are allowed here, before MHD reads any body. */
		if (st->uri_too_long)
			return answer_error(st, c, 414, "request target too long");
		if (st->target == NULL)
			return answer_error(st, c, 400, "no request target");
		if (MHD_get_connection_values(c, MHD_HEADER_KIND, NULL, NULL) > HTTP_MAX_HEADERS)
			return answer_error(st, c, 431, "too many header fields");
		/* RFC 9112 §3.2: more than one Host field is answered with 400. */
		if (host_count(c) > 1)
			return answer_error(st, c, 400, "more than one Host header field");
		hs = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
		if (hs != NULL && hs->header_size > HTTP_MAX_HEADER_BYTES)
			return answer_error(st, c, 431, "request header fields too large");
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && str_to_ll(str_c(cl), 0, HTTP_MAX_BODY, &len) != 0)
			return answer_error(st, c, 413, "request body too large");
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (!st->body_too_large && buf_append(&st->body, upload_data, n) != 0) {
			st->body_too_large = true;
			buf_free_secret(&st->body);
		}
		if (st->body_too_large) {
			st->discarded += n;
			if (st->discarded > HTTP_MAX_DISCARD)
				return MHD_NO;
		}
		return MHD_YES;
	}
	if (st->body_too_large)
		return answer_error(st, c, 413, "request body too large");
	watch_receiving(srv, c, false);
	status = req_build(st, c);
	if (status != 0)
		return answer_error(st, c, status, "malformed request path");
	if (srv->client_rl != NULL && http_ratelimit_backchannel(st->r.method, st->r.path)) {
		st->client_key = client_key(&st->r);
		if (st->client_key != NULL &&
		    !http_ratelimit_peek(srv->client_rl, str_c(st->client_key), time_mono_ms(),
					 &retry))
			return answer_limited(st, c, "slow_down",
					      "too many requests from this client", retry);
	}
	{
		long hit = dispatch(st->srv->routes, st->srv->hosts, &st->r, &st->w);

		if (hit >= 0 && srv->route_slot != NULL)
			st->route_slot = srv->route_slot[hit];
	}
	/*
	 * Charged only when the handler authenticated the client it names: a
	 * stranger naming someone else's client_id must not spend its budget,
	 * whatever the answer.  Failed attempts are still counted by address.
	 */
	if (st->client_key != NULL && st->r.authenticated_client != NULL &&
	    strcmp(st->client_key, st->r.authenticated_client) == 0)
		http_ratelimit_charge(srv->client_rl, str_c(st->client_key), time_mono_ms());
	return answer(st, c);
}

#ifdef HTTP_MHD_ERROR_LOG
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn(NULL, "microhttpd: %s", msg);
}
#endif

/* ---- the daemon ---- */

/* "a.b.c.d:port" or "[v6]:port"; the host must be a literal address. */
static int
listen_parse(const char *listen, struct sockaddr_storage *ss, bool *v6, struct err *e)
{
	struct str s = str_c(listen), host, port;
	char hostbuf[INET6_ADDRSTRLEN];
	const char *colon;
	long long p;

	memset(ss, 0, sizeof(*ss));
	if (s.len == 0)
		goto bad;
	if (s.p[0] == '[') {
		const char *close = memchr(s.p, ']', s.len);

		if (close == NULL || close + 1 >= s.p + s.len || close[1] != ':')
			goto bad;
		host = (struct str){ s.p + 1, (size_t)(close - s.p - 1) };
		port = (struct str){ close + 2, s.len - (size_t)(close + 2 - s.p) };
		*v6 = true;
	} else {
		colon = memrchr(s.p, ':', s.len);
		if (colon == NULL)
			goto bad;
		host = (struct str){ s.p, (size_t)(colon - s.p) };
		port = (struct str){ colon + 1, s.len - (size_t)(colon + 1 - s.p) };
		*v6 = false;
	}
	if (host.len == 0 || host.len >= sizeof(hostbuf) || str_to_ll(port, 0, 65535, &p) != 0)
		goto bad;
	memcpy(hostbuf, host.p, host.len);
	hostbuf[host.len] = '\0';
	if (*v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, hostbuf, &a6->sin6_addr) != 1)
			goto bad;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, hostbuf, &a4->sin_addr) != 1)
			goto bad;
	}
	return 0;
bad:
	return ERR(e, ERR_INVAL, 0, NULL, "listen address must be a.b.c.d:port or [v6]:port");
}

/* GnuTLS priorities: TLS 1.2 and 1.3 with the secure suites, the server's order. */
#define HTTP_TLS_PRIORITIES "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

/*
 * The listener's TLS options into opts (ended by MHD_OPTION_END; only
 * that when o has no certificate) and MHD_USE_TLS into *flags.
 */
static int
tls_options(const struct http_server_opts *o, struct http_server *s, struct MHD_OptionItem *opts,
	    unsigned int *flags, struct err *e)
{
	size_t n = 0;

	if ((o->tls_cert == NULL) != (o->tls_key == NULL))
		return ERR(e, ERR_INVAL, 0, NULL,
			   "http server: TLS needs both a certificate and its private key");
	if (o->tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return ERR(e, ERR_UNAVAILABLE, 0, NULL,
				   "http server: this libmicrohttpd has no TLS");
		*flags |= MHD_USE_TLS;
		s->tls = true;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						     (void *)o->tls_cert };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						     (void *)o->tls_key };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						     (void *)HTTP_TLS_PRIORITIES };
	}
	opts[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	return 0;
}

int
http_server_start(const struct http_server_opts *o, struct http_server **out, struct err *e)
{
	struct http_server *s = NULL;
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;
	unsigned int threads;
	struct MHD_OptionItem tls_opts[4];
	bool v6 = false;
	int rc;

	*out = NULL;
	if (o == NULL || o->listen == NULL || o->routes == NULL) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "http server: listen address and routes are required");
		goto out;
	}
	rc = listen_parse(o->listen, &ss, &v6, e);
	if (rc != 0)
		goto out;
	threads = 1;
	if (o->threads > HTTP_MAX_THREADS)
		threads = HTTP_MAX_THREADS;
	else if (o->threads > 1)
		threads = (unsigned int)o->threads;
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	else if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
		flags |= MHD_USE_POLL;
	if (v6)
		flags |= MHD_USE_IPv6;
#ifdef HTTP_MHD_ERROR_LOG
	/* Off in production: a hostile client could make MHD write a line per request. */
	flags |= MHD_USE_ERROR_LOG;
#endif
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	s->routes = o->routes;
	s->hosts = o->hosts;
	s->app = o->app;
	pthread_mutex_init(&s->watch_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->watch_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	{
		size_t n = 0;

		while (o->routes[n].fn != NULL)
			n++;
		s->route_slot = calloc(n + 1, sizeof(*s->route_slot));
		if (s->route_slot == NULL) {
			rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			s->route_slot[i] = metrics_route_slot(o->routes[i].path);
	}
	http_limits_get(&s->lim);
	if (s->lim.conn_per_ip == 0)
		s->lim.conn_per_ip = HTTP_PER_IP_CONNECTIONS;
	if (s->lim.conn_timeout == 0)
		s->lim.conn_timeout = HTTP_CONN_TIMEOUT;
	if (s->lim.request_deadline == 0)
		s->lim.request_deadline = HTTP_REQUEST_DEADLINE;
	if (s->lim.ip_rate > 0)
		s->ip_rl = http_ratelimit_new(s->lim.ip_rate, s->lim.ip_burst, HTTP_RL_SLOTS);
	if (s->lim.client_rate > 0)
		s->client_rl = http_ratelimit_new(s->lim.client_rate, s->lim.client_burst,
						  HTTP_RL_SLOTS);
	if ((s->lim.ip_rate > 0 && s->ip_rl == NULL) ||
	    (s->lim.client_rate > 0 && s->client_rl == NULL)) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "http server: cannot make the rate limiters");
		goto out;
	}
	rc = tls_options(o, s, tls_opts, &flags, e);
	if (rc != 0)
		goto out;
	errno = 0;
	s->d = MHD_start_daemon(
		flags, 0, NULL, NULL, access_cb, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->lim.conn_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, s->lim.conn_timeout,
		/* Refuse HTTP/1.1 without Host and spaces in the target (RFC 9112 §3.2). */
		MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
		MHD_OPTION_URI_LOG_CALLBACK, uri_cb, s,
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
		MHD_OPTION_NOTIFY_CONNECTION, notify_cb, s,
		MHD_OPTION_ARRAY, tls_opts,
#ifdef HTTP_MHD_ERROR_LOG
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
#endif
		MHD_OPTION_END);
	if (s->d == NULL) {
		rc = ERR(e, ERR_IO, 0, NULL, "http server: cannot listen on %s: %s", o->listen,
			 errno ? strerror(errno) : "microhttpd refused to start");
		goto out;
	}
	if (pthread_create(&s->watchdog, NULL, watchdog_main, s) != 0) {
		rc = ERR(e, ERR_INTERNAL, 0, NULL, "http server: cannot start the watchdog thread");
		goto out;
	}
	s->watchdog_running = true;
	log_info(NULL,
		 "http limits: %u req/s burst %u per address, %u req/s burst %u per client, "
		 "%u connections per address, idle timeout %u s, request deadline %u s",
		 s->lim.ip_rate, s->lim.ip_burst, s->lim.client_rate, s->lim.client_burst,
		 s->lim.conn_per_ip, s->lim.conn_timeout, s->lim.request_deadline);
	*out = s;
	s = NULL;
	rc = 0;
out:
	http_server_stop(s);
	return rc;
}

void
http_server_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	if (s->watchdog_running) {
		pthread_mutex_lock(&s->watch_lock);
		s->stopping = true;
		pthread_cond_signal(&s->watch_cond);
		pthread_mutex_unlock(&s->watch_lock);
		pthread_join(s->watchdog, NULL);
	}
	/* Closes every connection; each NOTIFY_CLOSED takes its entry off the list. */
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	http_ratelimit_free(s->ip_rl);
	http_ratelimit_free(s->client_rl);
	free(s->route_slot);
	pthread_cond_destroy(&s->watch_cond);
	pthread_mutex_destroy(&s->watch_lock);
	free(s);
}

int
http_server_port(const struct http_server *s)
{
	const union MHD_DaemonInfo *di;

	if (s == NULL || s->d == NULL)
		return -1;
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	return di ? (int)di->port : -1;
}
