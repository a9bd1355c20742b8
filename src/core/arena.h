/* Arena allocator: everything that lives no longer than a request. */
#ifndef PORTEN_CORE_ARENA_H
#define PORTEN_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "core/str.h"

struct arena;

/* A new arena; NULL when out of memory.  arena_free(NULL) does nothing. */
struct arena *arena_new(void);
void arena_free(struct arena *a);

/* Zeroed memory owned by the arena; aborts the process when out of memory. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *p, size_t n);
char *arena_strdup(struct arena *a, const char *s);  /* NULL gives NULL */
char *arena_str(struct arena *a, struct str s);        /* NUL-terminated copy */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
