/* Declarations shared by the files of src/http/; not a public interface. */
#ifndef PORTEN_HTTP_HTTP_INT_H
#define PORTEN_HTTP_HTTP_INT_H

#include <stdbool.h>

#include "http/http.h"

/*
 * Whether a raw request path escapes nothing that needs no escape: an
 * unreserved character (RFC 3986 §2.3: producers should not encode them,
 * and "%6Detrics" is "metrics") or a '/' (which would move a segment
 * boundary).  The server refuses such a path, so that it routes only as
 * a proxy in front, matching the raw path, reads it.
 */
bool http_path_canonical(struct str raw);

/*
 * Percent-decode in (RFC 3986 §2.1), strictly: a '%' not followed by two
 * hex digits is an error, as are a decoded NUL, invalid UTF-8 and control
 * characters (CR and LF included).  plus_is_space: '+' means ' ' (form
 * encoding) or stays '+' (a path).  max bounds the decoded length
 * (ERR_LIMIT).  Errors are ERR_INVAL/ERR_LIMIT with 400 invalid_request in
 * e; the result is NUL-terminated arena memory.
 */
int http_pct_decode(struct arena *a, struct str in, bool plus_is_space, size_t max,
		    struct str *out, struct err *e);

#endif
