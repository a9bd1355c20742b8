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

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
b64token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("-._~+/=", c) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct http_param h[HTTP_MAX_HEADERS];
	struct http_req r;
	struct str rest = { (const char *)data, size }, line, user, pass, tok;
	struct err e;
	int rc;

	if (a == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	r.arena = a;
	r.headers.v = h;
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
		if (r.cookies.n > HTTP_MAX_COOKIES)
			abort();
		if (rc != 0)
			break;
	}
	for (size_t i = 0; i < r.cookies.n; i++) {
		if (r.cookies.v[i].name.len == 0 || r.cookies.v[i].name.len > HTTP_MAX_PARAM_NAME ||
		    r.cookies.v[i].value.len > HTTP_MAX_PARAM_VALUE)
			abort();
		(void)http_cookie(&r, r.cookies.v[i].name.p);
	}
	(void)http_cookie(&r, "porten_b");
	(void)http_header(&r, "authorization");
	(void)http_header(&r, "content-type");

	err_clear(&e);
	rc = http_basic_auth(&r, &user, &pass, &e);
	if (rc == 0) {
		if (user.len == 0 || user.len > HTTP_MAX_PARAM_VALUE ||
		    pass.len > HTTP_MAX_PARAM_VALUE || !str_is_clean_utf8(user) ||
		    !str_is_clean_utf8(pass) || user.p[user.len] != '\0' || pass.p[pass.len] != '\0')
			abort();
	} else if (rc != ERR_NOTFOUND && rc != ERR_INVAL) {
		abort();
	} else if (rc == ERR_INVAL && e.status != 401) {
		/* A malformed Basic header is the client's failure: invalid_client. */
		abort();
	}

	rc = http_bearer(&r, &tok);
	if (rc == 0) {
		if (tok.len == 0 || tok.len > HTTP_MAX_PARAM_VALUE)
			abort();
		for (size_t i = 0; i < tok.len; i++)
			if (!b64token_char(tok.p[i]))
				abort();
	} else if (rc != ERR_NOTFOUND && rc != ERR_INVAL) {
		abort();
	}
	arena_free(a);
	return 0;
}
