/* Growable byte buffers with a hard cap set at creation (curl's dynbuf). */
#ifndef PORTEN_CORE_BUF_H
#define PORTEN_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/str.h"

struct buf {
	char *p;      /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;   /* appends that would pass this fail with ERR_LIMIT */
};

void buf_init(struct buf *b, size_t max);
/* Returns 0, ERR_LIMIT or ERR_NOMEM; on failure b is unchanged. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, struct str s);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s with HTML special characters escaped (& < > " ' ). */
int buf_html(struct buf *b, struct str s);
/* Append s percent-encoded for a URL query component (RFC 3986 unreserved kept). */
int buf_urlenc(struct buf *b, struct str s);
/* Hand over the bytes (caller frees); b is reset. */
char *buf_take(struct buf *b);
void buf_reset(struct buf *b);
/* Free and, for secrets, wipe first. */
void buf_free(struct buf *b);
void buf_free_secret(struct buf *b);

#endif
