/* base64url without padding (RFC 4648 §5), the one routine for it. */
#ifndef PORTEN_CORE_B64_H
#define PORTEN_CORE_B64_H

#include <stddef.h>

#include "core/arena.h"
#include "core/str.h"

/* Encoded length of n bytes (no padding, no NUL). */
size_t b64url_len(size_t n);
/* Encode into out (room for b64url_len(n) + 1); NUL-terminates. */
void b64url_encode(const void *in, size_t n, char *out);
char *b64url_encode_arena(struct arena *a, const void *in, size_t n);
/*
 * Decode s (padding not allowed) into out (room for s.len * 3 / 4 + 1).
 * Returns 0 and sets *outlen, or ERR_INVAL on a character outside the
 * alphabet or an impossible length.
 */
int b64url_decode(struct str s, unsigned char *out, size_t *outlen);

#endif
