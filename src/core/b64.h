/*
 * base64url without padding (RFC 4648 §5), and standard base64 with
 * canonical padding (§4): the one routine for each.
 */
#ifndef PORTEN_CORE_B64_H
#define PORTEN_CORE_B64_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/str.h"

/* Encoded length of n bytes (no padding, no NUL). */
size_t b64url_len(size_t n);
/* Whether s holds only base64url characters (no padding); "" does. */
bool b64url_chars(struct str s);
/*
 * Whether s is the one base64url text of some bytes: its characters, a
 * possible length, and the unused bits of its last character zero (RFC
 * 4648 §3.5).  Text that fails this can differ from another and decode to
 * the same bytes; "" passes.
 */
bool b64url_canonical(struct str s);
/* Encode into out (room for b64url_len(n) + 1); NUL-terminates. */
void b64url_encode(const void *in, size_t n, char *out);
char *b64url_encode_arena(struct arena *a, const void *in, size_t n);
/*
 * Decode s (padding not allowed) into out (room for s.len * 3 / 4 + 1).
 * Returns 0 and sets *outlen, or ERR_INVAL on a character outside the
 * alphabet or an impossible length.
 */
int b64url_decode(struct str s, unsigned char *out, size_t *outlen);
/*
 * Decode standard base64 (RFC 4648 §4) with canonical padding only: a
 * length that is a multiple of 4, at most two '=' and only at the end, no
 * whitespace.  *out is malloc'd with s.len / 4 * 3 + 1 bytes (wipe them
 * when they held a secret).  ERR_INVAL or ERR_NOMEM; callers bound s.len.
 */
int b64_decode_std(struct str s, unsigned char **out, size_t *outlen);
/* Standard base64 with padding (RFC 4648 §4), NUL-terminated, in a. */
char *b64_encode_std_arena(struct arena *a, const void *in, size_t n);

#endif
