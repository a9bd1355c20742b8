/* Every limit on HTTP input, in one place (STYLE: untrusted input). */
#ifndef PORTEN_HTTP_LIMITS_H
#define PORTEN_HTTP_LIMITS_H

#define HTTP_MAX_URI 8192            /* request line target; longer -> 414 */
#define HTTP_MAX_BODY 65536          /* request body; larger -> 413 */
#define HTTP_MAX_TOKEN 8192          /* a token presented for introspection or revocation */
#define HTTP_MAX_PARAMS 64           /* query or form parameters */
#define HTTP_MAX_PARAM_NAME 64
#define HTTP_MAX_PARAM_VALUE 16384 /* a JWT grant with an x5c chain fits */
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_HEADER_BYTES 16384  /* request line and header fields together; more -> 431 */
#define HTTP_MAX_COOKIES 32
#define HTTP_MAX_RESPONSE (4 << 20)  /* response body cap: a KRR lookup of 1000 persons with certificates */
/*
 * MHD per-connection memory: the header block and a read buffer (bodies go to our
 * own buffer); MHD clears it for every request, so it is kept small.  At 32 KiB or
 * less libmicrohttpd takes it from malloc; above, it maps fresh pages for every
 * connection and unmaps them at the close, and their page faults and the unmap cost
 * a login from a new browser 7% of its CPU (bench/compare --ab, 64 KiB against 32).
 * The header block (HTTP_MAX_HEADER_BYTES) must leave room in it for MHD's own
 * header records and the response's header lines.
 */
#define HTTP_CONN_MEMORY (32 * 1024)
/*
 * Defaults of the configurable connection limits (http/ratelimit.h,
 * cfg conn_per_ip, conn_timeout, request_deadline).
 */
#define HTTP_PER_IP_CONNECTIONS 256
#define HTTP_CONN_TIMEOUT 15         /* seconds idle before the connection is cut */

#endif
