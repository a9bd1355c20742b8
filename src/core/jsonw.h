/*
 * A JSON object written straight into a buffer, for token claims and other
 * objects whose keys are known where they are written: no tree of nodes to
 * allocate, fill, walk and free again.  Strings are checked as UTF-8 and
 * escaped as jansson's json_dumps escapes them (JSON_COMPACT, no flags), so
 * an object written here is byte for byte the one a tree would have dumped.
 *
 * Errors are sticky: the first failure is kept in rc and later calls do
 * nothing, so a run of calls is checked once, at jsonw_end.
 */
#ifndef PORTEN_CORE_JSONW_H
#define PORTEN_CORE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"

struct jsonw {
	struct buf *b;
	int rc;          /* 0, or the first ERR_* met */
	bool empty;      /* no member written yet in the innermost object */
};

/* Start an object ('{') at the end of b. */
void jsonw_begin(struct jsonw *w, struct buf *b);
/* Close it ('}'); returns 0, or the first error of the whole run. */
int jsonw_end(struct jsonw *w);

/* Member k with the string v; nothing when v is NULL. ERR_INVAL if v is not UTF-8. */
void jsonw_str(struct jsonw *w, const char *k, const char *v);
void jsonw_int(struct jsonw *w, const char *k, int64_t v);
/* Member k with true or false; with null. */
void jsonw_bool(struct jsonw *w, const char *k, bool v);
void jsonw_null(struct jsonw *w, const char *k);
/* Member k with an array of the n strings v. */
void jsonw_strs(struct jsonw *w, const char *k, const char *const *v, size_t n);
/* Member k with text that is already JSON (the caller's promise), e.g. a json_dumps. */
void jsonw_raw(struct jsonw *w, const char *k, const char *json, size_t len);
/* Member k with v's compact text (any JSON value); nothing when v is NULL. */
void jsonw_tree(struct jsonw *w, const char *k, const json_t *v);
/* Member k holding an object: the members that follow go into it until jsonw_close. */
void jsonw_obj(struct jsonw *w, const char *k);
void jsonw_close(struct jsonw *w);

/* Append s as a JSON string, quotes included. */
int jsonw_string(struct buf *b, const char *s);

#endif
