/*
 * Fuzz the header readers on a request whose header fields are the input:
 * one field per line, "name:value" (a line without ':' is a name with an
 * empty value), at most HTTP_MAX_HEADERS of them, names lower-cased and
 * values cut at a NUL as the server hands them over.  Then everything the
 * handlers read from headers: Authorization as Basic (RFC 6749 §2.3.1,
 * RFC 7617) and as Bearer (RFC 6750 §2.1), every Cookie header as the
 * server parses them, and header and cookie look-ups.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_param h[HTTP_MAX_HEADERS];
	struct http_req r;
	struct arena *a;
	struct str rest = { (const char *)data, size }, line;
	struct err e;
	int rc;

	if (!fz_bare_req(&r, h))
		return 0;
	a = r.arena;
	while (rest.len > 0 && r.headers.n < HTTP_MAX_HEADERS) {
		struct str name, value;
		char *n;

		str_split(rest, '\n', &line, &rest);
		if (!str_split(line, ':', &name, &value))
			value = (struct str){ "", 0 };
		n = arena_str(a, name);
		for (char *c = n; *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		while (value.len > 0 && (value.p[0] == ' ' || value.p[0] == '\t')) {
			value.p++;
			value.len--;
		}
		/* Exact-size copies, so ASan sees any read past a value. */
		h[r.headers.n].name = str_c(n);
		h[r.headers.n].value = str_c(arena_str(a, value));
		r.headers.n++;
	}

	for (size_t i = 0; i < r.headers.n; i++) {
		if (!str_eq_c(h[i].name, "cookie"))
			continue;
		err_clear(&e);
		rc = http_parse_cookies(a, h[i].value, &r.cookies, &e);
		if (rc != 0 && rc != ERR_INVAL && rc != ERR_LIMIT)
			abort();
		if (rc != 0)
			break;
	}
	fz_check_cookies(&r);
	(void)http_cookie(&r, "porten_b");
	(void)http_header(&r, "authorization");
	(void)http_header(&r, "content-type");
	fz_check_authz(&r);
	arena_free(a);
	return 0;
}
