/*
 * Request rate limits and the connection limits the server applies.
 *
 * A rate limiter is a fixed-size table of token buckets (RFC 6585 §4:
 * over the rate the answer is 429 with Retry-After).  Memory is bounded:
 * the table never grows; when a set is full the least recently used
 * bucket is evicted.  Keys are hashed with a per-table random HMAC key, so
 * nobody outside can aim keys at one set.  Thread-safe.
 *
 * Limits are per node: nodes share no counters, so a client spreading its
 * requests over N nodes gets N times the rate.  The defaults are generous
 * (a laptop test run or a benchmark from one address stays under them).
 */
#ifndef PORTEN_HTTP_RATELIMIT_H
#define PORTEN_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "core/netaddr.h"
#include "core/str.h"

struct http_limits {
	unsigned ip_rate;          /* requests per second per remote address; 0: no limit */
	unsigned ip_burst;         /* bucket size: requests in a burst */
	unsigned client_rate;      /* back-channel requests per second per client_id; 0: none */
	unsigned client_burst;
	unsigned conn_per_ip;      /* concurrent connections per address */
	unsigned conn_timeout;     /* seconds without any traffic before a connection is cut */
	unsigned request_deadline; /* seconds a request may take to arrive completely */
	struct net_cidrs trusted_proxies; /* the client is taken from X-Forwarded-For (http/proxy.h) */
};

/* The built-in defaults (also the cfg defaults). */
#define HTTP_RL_IP_RATE 200
#define HTTP_RL_IP_BURST 1000
#define HTTP_RL_CLIENT_RATE 100
#define HTTP_RL_CLIENT_BURST 400
#define HTTP_REQUEST_DEADLINE 30
/* Buckets per table; a bucket is 40 bytes. */
#define HTTP_RL_SLOTS 16384

/* Fill l with the defaults (HTTP_RL_*, HTTP_PER_IP_CONNECTIONS, HTTP_CONN_TIMEOUT). */
void http_limits_default(struct http_limits *l);
/* The limits a loaded configuration asks for (rate_ip, rate_ip_burst, ...). */
void http_limits_from_cfg(const struct cfg *c, struct http_limits *l);
/*
 * Set the process-wide limits that http_server_start() copies into each
 * server it starts (a server keeps the limits it started with).  Until
 * called, the defaults apply.
 */
void http_limits_set(const struct http_limits *l);
void http_limits_get(struct http_limits *l);

struct http_ratelimit;

/*
 * A table of about `slots` buckets refilled at `rate` tokens per second up
 * to `burst`.  rate 0 makes a limiter that allows everything.  NULL when
 * out of memory or without randomness.  Free with http_ratelimit_free().
 */
struct http_ratelimit *http_ratelimit_new(unsigned rate, unsigned burst, size_t slots);
/*
 * The same for `rate` tokens per `period` seconds (0 counts as 1), for
 * rates below one a second: MinID's form posts per minute.
 */
struct http_ratelimit *http_ratelimit_new_per(unsigned rate, unsigned period, unsigned burst,
					      size_t slots);
void http_ratelimit_free(struct http_ratelimit *rl);

/*
 * Take one token from key's bucket at monotonic time now_ms.  true when
 * the request may go on; false when the bucket is empty, with *retry_after
 * the whole seconds (>= 1) until a token is back.
 */
bool http_ratelimit_take(struct http_ratelimit *rl, struct str key, int64_t now_ms,
			 unsigned *retry_after);
/* Would take() succeed now?  Takes nothing. */
bool http_ratelimit_peek(struct http_ratelimit *rl, struct str key, int64_t now_ms,
			 unsigned *retry_after);
/*
 * Take one token even when that empties the bucket (never below zero):
 * for charging a request after it was answered.
 */
void http_ratelimit_charge(struct http_ratelimit *rl, struct str key, int64_t now_ms);
/* Buckets in use (tests). */
size_t http_ratelimit_used(struct http_ratelimit *rl);

/*
 * The rate-limit key of a peer address: an IPv4 address (also when mapped
 * into IPv6) as is, an IPv6 address by its /64 prefix, since one host
 * usually holds a whole /64.  Writes a NUL-terminated key of at most
 * HTTP_RL_ADDR_KEY - 1 bytes; "" for other families.
 */
#define HTTP_RL_ADDR_KEY 56
struct sockaddr;
void http_ratelimit_addr_key(const struct sockaddr *sa, char out[HTTP_RL_ADDR_KEY]);

/*
 * Is this request one whose client the per-client limit counts: a POST to
 * a back-channel endpoint (token, PAR, revocation, introspection), under
 * any issuer prefix.
 */
bool http_ratelimit_backchannel(const char *method, struct str path);

#endif
