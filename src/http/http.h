/*
 * HTTP layer: the only code that includes libmicrohttpd.  Handlers are plain
 * functions of (request, response); they never touch a socket, so unit tests
 * build a struct http_req by hand and call them directly.
 */
#ifndef PORTEN_HTTP_HTTP_H
#define PORTEN_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "http/limits.h"

/* One name=value pair, both decoded and NUL-terminated (arena memory). */
struct http_param {
	struct str name;
	struct str value;
};

struct http_params {
	struct http_param *v;
	size_t n;
};

struct http_req {
	struct arena *arena;       /* everything below lives here */
	const char *method;        /* "GET", "POST", ... */
	struct str path;           /* decoded path, without query */
	struct str raw_query;      /* as received, without '?' */
	struct http_params query;  /* parsed from raw_query */
	struct http_params form;   /* parsed body when x-www-form-urlencoded */
	struct http_params headers;/* names lower-cased */
	struct http_params cookies;
	struct str body;
	const char *remote_addr;   /* textual peer address */
	char rid[17];              /* request id for logs */
	bool tls;                  /* came in over TLS (cookies get Secure) */
	void *app;                 /* the application context (struct porten) */
	void *route_data;          /* the route's data pointer (an issuer) */
	/*
	 * When the query or body could not be parsed (bad escape, invalid UTF-8,
	 * a control character, over a limit) the server still dispatches, with
	 * bad_input set and why in input_err, so the handler can answer with the
	 * right OAuth error or error page.  query/form then hold nothing.
	 */
	bool bad_input;
	struct err input_err;
	/*
	 * The client_id a handler authenticated the request's client as, or
	 * NULL.  Only such requests count against a client's rate limit, so
	 * that naming another client spends none of its budget.
	 */
	const char *authenticated_client;
};

struct http_header {
	char *name;
	char *value;
};

struct http_resp {
	int status;
	struct http_header *headers; /* arena memory */
	size_t nheaders;
	size_t capheaders;
	struct buf body;
	const char *content_type;
	struct arena *arena;
};

/* ---- parsing (pure functions, fuzzed) ---- */

/*
 * Parse application/x-www-form-urlencoded text (also a query string) into
 * out.  '+' is a space, %XX decoded; a bad escape, a decoded NUL, invalid
 * UTF-8 or a control character (CR, LF, ...) in a name or value, an empty
 * name, too many parameters or too long a name/value fails with ERR_INVAL
 * (ERR_LIMIT for limits) and e->msg says which.
 */
int http_parse_urlencoded(struct arena *a, struct str s, struct http_params *out, struct err *e);

/* Parse a Cookie header value ("a=b; c=d") into out (appending); ERR_INVAL/ERR_LIMIT. */
int http_parse_cookies(struct arena *a, struct str s, struct http_params *out, struct err *e);

/*
 * Find name in p.  Returns 0 and sets *value when present once, ERR_NOTFOUND
 * when absent, ERR_DUP when present more than once (RFC 6749 §3.1).  An
 * empty value counts as present.
 */
int http_param(const struct http_params *p, const char *name, struct str *value);
/* Value as a C string (arena), or NULL when absent or duplicated. */
const char *http_param_c(const struct http_params *p, const char *name);
/* Header by lower-case name; NULL if absent. */
const char *http_header(const struct http_req *r, const char *name);
const char *http_cookie(const struct http_req *r, const char *name);
/*
 * A cookie this response sets, made visible to the rest of the request as
 * if the browser had sent it (name and value must outlive the request).
 */
void http_req_cookie_add(struct http_req *r, const char *name, const char *value);

/*
 * HTTP Basic credentials (RFC 6749 §2.3.1: both parts form-urlencoded).
 * ERR_NOTFOUND without an Authorization: Basic header, ERR_INVAL if malformed.
 */
int http_basic_auth(const struct http_req *r, struct str *user, struct str *pass, struct err *e);
/* Bearer token from Authorization (RFC 6750 §2.1); ERR_NOTFOUND / ERR_INVAL. */
int http_bearer(const struct http_req *r, struct str *token);
/*
 * The token of Authorization: <scheme> <token> for the scheme given
 * (compared case-insensitively: "Bearer", "DPoP"); ERR_NOTFOUND under
 * another scheme or without the header, ERR_INVAL if malformed.
 */
int http_auth_token(const struct http_req *r, const char *scheme, struct str *token);

/*
 * A number that names the request the calling thread is serving (unique
 * within the thread), or 0 outside a handler.  A cache that must see a
 * change by the next request keeps what it read for one request under
 * this number, instead of reading it again for every lookup.
 */
uint64_t http_request_serial(void);
/*
 * The data of the route whose handler the calling thread is running (for
 * the services' routes, the issuer), or NULL outside a handler.
 */
const void *http_request_route_data(void);

/* ---- responses ---- */

void http_resp_init(struct http_resp *w, struct arena *a);
void http_resp_free(struct http_resp *w);
/* Forget status, headers (cookies too) and body: the handler answers anew. */
void http_resp_reset(struct http_resp *w);
/* Add a header (values with CR/LF are refused: returns ERR_INVAL). */
int http_resp_header(struct http_resp *w, const char *name, const char *value);
/* Replace body with the JSON text of j (not consumed), set status and type. */
void http_resp_json(struct http_resp *w, int status, const json_t *j);
/* The same with a body already written as JSON text (len bytes; copied). */
void http_resp_json_text(struct http_resp *w, int status, const char *text, size_t len);
/* JSON OAuth error body {error, error_description} with no-store. */
void http_resp_oauth_error(struct http_resp *w, int status, const char *error, const char *desc);
void http_resp_html(struct http_resp *w, int status, struct str html);
/*
 * The Content-Security-Policy an HTML answer gets when its handler set none
 * (no script); a page with a script of its own extends it with script-src.
 */
extern const char http_csp_html[];
void http_resp_text(struct http_resp *w, int status, const char *text);
void http_resp_redirect(struct http_resp *w, const char *location);   /* 302 */

struct http_cookie_opts {
	int64_t max_age;      /* <0: session cookie; 0: delete */
	const char *path;     /* default "/" */
	const char *same_site;/* "Lax" (default), "Strict", "None" */
	bool secure;
	bool http_only;
};
int http_resp_cookie(struct http_resp *w, const char *name, const char *value,
		     const struct http_cookie_opts *o);

/* ---- server ---- */

typedef void (*http_handler_fn)(struct http_req *r, struct http_resp *w);

/*
 * Which host a route belongs to when a node serves two (spec/idporten-oidc.md
 * §1): the browser host (authorize, logout) or the back-channel host (par,
 * token, jwks, revoke, introspect).  ANY, the default, answers on both.
 */
enum http_side {
	HTTP_SIDE_ANY = 0,
	HTTP_SIDE_BROWSER,
	HTTP_SIDE_BACK,
};

struct http_route {
	const char *method;   /* "GET", "POST", or NULL for any */
	const char *path;     /* exact path, or ending in a slash and a star: every path below it */
	http_handler_fn fn;
	void *data;           /* copied to r->route_data */
};

/*
 * The browser host of a node that serves two hosts: its origin
 * ("https://login.example.no"), its Host header form ("login.example.no")
 * and the side of each route (indexed like the route table).  A browser
 * route asked for on another host is redirected there (308, the method and
 * body kept); a back-channel route asked for on it answers 421.
 */
struct http_hosts {
	const char *browser_origin;
	const char *browser_host;
	const enum http_side *sides;
};

struct http_server_opts {
	const char *listen;   /* "127.0.0.1:8080" or "[::1]:8080" */
	int threads;
	void *app;            /* copied to r->app */
	const struct http_route *routes; /* terminated by fn == NULL */
	/*
	 * TLS in the server itself (GnuTLS through libmicrohttpd), for a node
	 * with no terminating proxy: the certificate chain and private key as
	 * PEM text, both or neither; TLS 1.2 and 1.3 only.  Requests then have
	 * r->tls set.
	 */
	const char *tls_cert;
	const char *tls_key;
	/* Host routing (NULL: one host serves every route). */
	const struct http_hosts *hosts;
};

struct http_server;

int http_server_start(const struct http_server_opts *o, struct http_server **out, struct err *e);
void http_server_stop(struct http_server *s);
/* Bound port (useful with port 0). */
int http_server_port(const struct http_server *s);

/* Dispatch a request through a route table (what the server does; for tests). */
void http_dispatch(const struct http_route *routes, const struct http_hosts *hosts,
		   struct http_req *r, struct http_resp *w);

#endif
