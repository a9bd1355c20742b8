/*
 * Fuzz the Cookie and Authorization parsers on a synthesized request: the
 * input up to the first '\n' is the Cookie header, the rest the
 * Authorization header (each a NUL-terminated copy, as the server makes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct http_req r;
	struct http_param h[2];
	const uint8_t *nl;
	size_t clen;
	struct str user, pass, tok;
	struct err e;
	int rc;

	if (a == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	r.arena = a;
	nl = size ? memchr(data, '\n', size) : NULL;
	clen = nl ? (size_t)(nl - data) : size;
	/* Header values cannot hold NUL: the server copies C strings. */
	h[0].name = STR_LIT("cookie");
	h[0].value = str_c(arena_strndup(a, (const char *)data, clen));
	h[1].name = STR_LIT("authorization");
	h[1].value = str_c(nl ? arena_strndup(a, (const char *)nl + 1, size - clen - 1) : "");
	r.headers.v = h;
	r.headers.n = nl ? 2 : 1;

	err_clear(&e);
	rc = http_parse_cookies(a, h[0].value, &r.cookies, &e);
	if (rc != 0 && rc != ERR_INVAL && rc != ERR_LIMIT)
		abort();
	if (r.cookies.n > HTTP_MAX_COOKIES)
		abort();
	for (size_t i = 0; i < r.cookies.n; i++) {
		if (r.cookies.v[i].name.len == 0 || !str_is_clean_utf8(r.cookies.v[i].value))
			abort();
		(void)http_cookie(&r, r.cookies.v[i].name.p);
	}
	/* Also the raw bytes, NUL and all, as one header value. */
	{
		struct http_params c = { NULL, 0 };

		(void)http_parse_cookies(a, (struct str){ (const char *)data, size }, &c, &e);
	}

	err_clear(&e);
	rc = http_basic_auth(&r, &user, &pass, &e);
	if (rc == 0) {
		if (user.len == 0 || !str_is_clean_utf8(user) || !str_is_clean_utf8(pass))
			abort();
	} else if (rc != ERR_NOTFOUND && rc != ERR_INVAL) {
		abort();
	}
	rc = http_bearer(&r, &tok);
	if (rc == 0 && (tok.len == 0 || tok.len > HTTP_MAX_PARAM_VALUE))
		abort();
	if (rc != 0 && rc != ERR_NOTFOUND && rc != ERR_INVAL)
		abort();
	arena_free(a);
	return 0;
}
