/*
 * What operators scrape: GET /metrics in the Prometheus text format
 * (http/metrics.h for the counters, store_stats() for the store).  Served
 * at the top level on every node, like /health/live.
 */
#ifndef PORTEN_APP_OPS_H
#define PORTEN_APP_OPS_H

#include "core/buf.h"
#include "http/http.h"
#include "store/store.h"

/* The exposition text: the HTTP and service counters, then the store's. */
int ops_metrics_text(struct store *s, struct buf *b);
/* GET /metrics (r->app is the struct porten). */
void ops_metrics(struct http_req *r, struct http_resp *w);

#endif
