/*
 * Fuzz the Cookie and Authorization parsers on a synthesized request: the
 * input up to the first '\n' is the Cookie header, the rest the
 * Authorization header (each a NUL-terminated copy, as the server makes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req r;
	struct http_param h[2];
	struct arena *a;
	const uint8_t *nl;
	size_t clen;
	struct err e;
	int rc;

	if (!fz_bare_req(&r, h))
		return 0;
	a = r.arena;
	nl = size ? memchr(data, '\n', size) : NULL;
	clen = nl ? (size_t)(nl - data) : size;
	/* Header values cannot hold NUL: the server copies C strings. */
	h[0].name = STR_LIT("cookie");
	h[0].value = str_c(arena_strndup(a, (const char *)data, clen));
	h[1].name = STR_LIT("authorization");
	h[1].value = str_c(nl ? arena_strndup(a, (const char *)nl + 1, size - clen - 1) : "");
	r.headers.n = nl ? 2 : 1;

	err_clear(&e);
	rc = http_parse_cookies(a, h[0].value, &r.cookies, &e);
	if (rc != 0 && rc != ERR_INVAL && rc != ERR_LIMIT)
		abort();
	fz_check_cookies(&r);
	/* Also the raw bytes, NUL and all, as one header value. */
	{
		struct http_params c = { NULL, 0 };

		(void)http_parse_cookies(a, (struct str){ (const char *)data, size }, &c, &e);
	}
	fz_check_authz(&r);
	arena_free(a);
	return 0;
}
