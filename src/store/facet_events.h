/*
 * Store facet of events: the append-only log that audit, statistics and
 * billing read.  Reached through store_call(s, events, op, ...).
 */
#ifndef PORTEN_STORE_FACET_EVENTS_H
#define PORTEN_STORE_FACET_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct store;

/* The longest event document event_add takes (the store's limit on text). */
#define STORE_EVENT_MAX (256 * 1024)

struct store_event_ops {
	/*
	 * Append one event (doc: who, client, org, eid, level, time), doc as
	 * JSON text (an object) of at most STORE_EVENT_MAX bytes, stored as it is.
	 */
	int (*event_add)(struct store *s, const char *type, const char *doc, struct err *e);
	/* Count events of a type (tests, statistics). */
	int (*event_count)(struct store *s, const char *type, int64_t *n, struct err *e);
	/*
	 * The newest events of a type (at most limit, 1-1000) whose doc has
	 * the string value at the top-level key: *docs a JSON array of their
	 * docs, newest first (the caller's).  A person's login history, an
	 * organisation's audit trail.
	 */
	int (*event_find)(struct store *s, const char *type, const char *key, const char *value,
			  int64_t limit, json_t **docs, struct err *e);
};

#endif
