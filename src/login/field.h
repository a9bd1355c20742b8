/*
 * Reading the fields of the login core's stored documents (areq.c,
 * session.c; they are written with core/jsonw.h): optional fields, copied
 * into an arena, a field of the wrong type refused with "<what>: <key> is
 * not ...".
 */
#ifndef PORTEN_LOGIN_FIELD_H
#define PORTEN_LOGIN_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/err.h"

/* *out: doc's string key copied into arena, or NULL when absent. */
int field_str(const json_t *doc, const char *what, const char *key, struct arena *arena,
	      const char **out, struct err *e);
/* *out: doc's flag key, false when absent. */
int field_flag(const json_t *doc, const char *what, const char *key, bool *out, struct err *e);
/* *out: doc's integer key, absent when there is none. */
int field_int(const json_t *doc, const char *what, const char *key, int64_t absent, int64_t *out,
	      struct err *e);
/* *out: doc's list of strings key (n of them) copied into arena, or NULL when absent. */
int field_strs(const json_t *doc, const char *what, const char *key, struct arena *arena,
	       const char *const **out, size_t *n, struct err *e);

#endif
