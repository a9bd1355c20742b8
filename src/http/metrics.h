/*
 * Process metrics in the Prometheus text exposition format (version 0.0.4),
 * served at /metrics.  Counters are C11 atomics in fixed tables made before
 * the first request: counting allocates nothing and takes no lock once a
 * label set has been seen.
 *
 * Label values name routes, eIDs, levels, issuers, grant types and limits:
 * small sets fixed by the code and the configuration.  Never a client_id,
 * a person, an address or anything else a request chooses.  A family holds
 * at most METRICS_MAX_SERIES label sets; further ones count under "other".
 */
#ifndef PORTEN_HTTP_METRICS_H
#define PORTEN_HTTP_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

/* The counters with labels; metrics.c names them and their labels. */
enum metrics_counter {
	METRICS_LOGINS,       /* logins completed {eid, level} */
	METRICS_TOKENS,       /* tokens issued {issuer, grant_type} */
	METRICS_RATELIMITED,  /* requests refused by a rate limit {limit} */
	METRICS_NCOUNTERS,
};

#define METRICS_MAX_SERIES 64
#define METRICS_MAX_ROUTES 256
#define METRICS_LABEL_MAX 64

/*
 * Add one to counter c with the label values l1 and l2 (l2 ignored by a
 * family with one label; NULL counts as "none").  Values longer than
 * METRICS_LABEL_MAX - 1 bytes are cut.  Thread-safe.
 */
void metrics_inc(enum metrics_counter c, const char *l1, const char *l2);

/*
 * The slot of a route's path (its pattern, as in the route table) for
 * metrics_http_observe; made on first use, so call it when a server starts,
 * not per request.  Slot 0 is "none": requests no route took (404, 405,
 * early refusals).  Past METRICS_MAX_ROUTES paths, 0.
 */
unsigned metrics_route_slot(const char *path);
/* One answered request: its route slot, status and time taken in ns. */
void metrics_http_observe(unsigned slot, int status, int64_t ns);

/* Append every metric above and process_start_time_seconds to b. */
int metrics_render(struct buf *b);

/*
 * Exposition helpers for other layers adding their own families: a label
 * value escaped as the format wants (backslash, double quote, newline).
 */
int metrics_label(struct buf *b, const char *value);

/* Forget every count (tests). */
void metrics_reset(void);

#endif
