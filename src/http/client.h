/*
 * The outgoing HTTP client: the only code that includes libcurl.  One call
 * per request; it allows only http(s), follows no redirects, verifies TLS
 * (peer and host name), bounds the time, and caps what it keeps of the
 * answer.  Thread-safe: every call has its own handle.
 */
#ifndef PORTEN_HTTP_CLIENT_H
#define PORTEN_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/str.h"

/* Default timeout (seconds) and largest answer kept (bytes). */
#define HTTP_CLIENT_TIMEOUT 10
#define HTTP_CLIENT_MAX_BODY 65536

struct http_client_req {
	const char *method;        /* "GET" or "POST" */
	const char *url;           /* http:// or https:// */
	const char *content_type;  /* the body's type (POST) */
	struct str body;           /* POST body (may hold secrets: not logged) */
	const char *const *headers;/* more "Name: value" lines, NULL-terminated, or NULL */
	const char *user_agent;    /* NULL: "porten/1" */
	long timeout;              /* seconds for connect and for all; <= 0: default */
	size_t max_body;           /* answer cap; 0: HTTP_CLIENT_MAX_BODY */
	long connect_timeout;      /* seconds to connect; <= 0: timeout */
	const char *ca_file;       /* PEM trust for the peer; NULL: the system's */
	bool public_only;          /* refuse a peer on a loopback, link-local or private address */
};

struct http_client_resp {
	long status;               /* HTTP status of the answer */
	char *body;                /* NUL-terminated, malloc'd: http_client_resp_free() */
	size_t len;
	char *content_type;        /* as the server sent it, or NULL */
	long retry_after;          /* seconds from a Retry-After header; 0: none */
};

/*
 * Send q and fill *resp (which the caller frees with http_client_resp_free(),
 * also after a failure).  Any HTTP status is a success here: the caller
 * judges it.  ERR_INVAL for a bad method or a URL that is not http(s),
 * ERR_LIMIT for an answer over the cap, ERR_UNAVAILABLE when no answer came
 * (connection, TLS, timeout), ERR_DENIED when public_only refused the
 * peer's address, with why in e.
 */
int http_client_do(const struct http_client_req *q, struct http_client_resp *resp, struct err *e);

/* Free what http_client_do() put in resp and zero it; NULL-safe. */
void http_client_resp_free(struct http_client_resp *resp);

/*
 * Send one e-mail message (headers and body, CRLF lines) from to to by
 * SMTP at url (smtp:// with STARTTLS when offered, or smtps://), within
 * timeout seconds.  ERR_INVAL for another scheme, ERR_UNAVAILABLE when the
 * server did not take it (e says why).
 */
int http_client_mail(const char *url, const char *from, const char *to, const char *msg,
		     size_t len, long timeout, struct err *e);

#endif
