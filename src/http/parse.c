/*
 * Parsers for request bytes: forms and query strings, cookies and the
 * Authorization header.  Pure functions over struct str (nothing here
 * assumes a terminating NUL); every result is copied into the arena.
 */
#include "http/http.h"
#include "http/http_int.h"

#include <stdlib.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/b64.h"
#include "core/crypto.h"

#define E400(e, code, ...) ERR((e), (code), 400, "invalid_request", __VA_ARGS__)
#define E401(e, ...) ERR((e), ERR_INVAL, 401, "invalid_client", __VA_ARGS__)

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
http_path_canonical(struct str raw)
{
	for (size_t i = 0; i + 2 < raw.len; i++) {
		int hi, lo;
		char c;

		if (raw.p[i] != '%')
			continue;
		hi = hexval(raw.p[i + 1]);
		lo = hexval(raw.p[i + 2]);
		if (hi < 0 || lo < 0)
			continue; /* http_pct_decode refuses it */
		c = (char)(hi << 4 | lo);
		if (str_unreserved((unsigned char)c) || c == '/')
			return false;
	}
	return true;
}

/*
 * Also application/x-www-form-urlencoded decoding of one name or value
 * (WHATWG URL), but strict: a '%' not followed by two hex digits is an
 * error instead of being kept.
 */
int
http_pct_decode(struct arena *a, struct str in, bool plus_is_space, size_t max,
		struct str *out, struct err *e)
{
	char *d;
	size_t n = 0;

	/* A decoded byte needs at least one input byte and at most three. */
	if (in.len > 3 * max)
		return E400(e, ERR_LIMIT, "parameter too long");
	d = arena_alloc(a, in.len + 1);
	for (size_t i = 0; i < in.len; i++) {
		char c = in.p[i];

		if (c == '+' && plus_is_space) {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (in.len - i < 3)
				return E400(e, ERR_INVAL, "truncated percent-encoding");
			hi = hexval(in.p[i + 1]);
			lo = hexval(in.p[i + 2]);
			if (hi < 0 || lo < 0)
				return E400(e, ERR_INVAL, "invalid percent-encoding");
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return E400(e, ERR_INVAL, "NUL character in parameter");
		d[n++] = c;
	}
	d[n] = '\0';
	if (n > max)
		return E400(e, ERR_LIMIT, "parameter too long");
	/* Rejects invalid UTF-8 and control characters (CR and LF included). */
	if (!str_is_clean_utf8((struct str){ d, n }))
		return E400(e, ERR_INVAL, "invalid UTF-8 or control character in parameter");
	*out = (struct str){ d, n };
	return 0;
}

int
http_parse_urlencoded(struct arena *a, struct str s, struct http_params *out, struct err *e)
{
	struct http_param *v = NULL;
	struct str rest = s, seg, name, value;
	size_t nseg = 1, n = 0, cap;
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] == '&')
			nseg++;
	cap = nseg < HTTP_MAX_PARAMS ? nseg : HTTP_MAX_PARAMS;
	v = arena_alloc(a, cap * sizeof(*v));
	while (rest.len > 0) {
		str_split(rest, '&', &seg, &rest);
		/* Empty sequences ("a=1&&b=2", a trailing '&') are skipped, as WHATWG does. */
		if (seg.len == 0)
			continue;
		if (n == HTTP_MAX_PARAMS) {
			rc = E400(e, ERR_LIMIT, "too many parameters (at most %d)", HTTP_MAX_PARAMS);
			goto out;
		}
		/* A segment without '=' is a name with an empty value. */
		str_split(seg, '=', &name, &value);
		if (name.len == 0) {
			rc = E400(e, ERR_INVAL, "empty parameter name");
			goto out;
		}
		rc = http_pct_decode(a, name, true, HTTP_MAX_PARAM_NAME, &v[n].name, e);
		if (rc != 0)
			goto out;
		rc = http_pct_decode(a, value, true, HTTP_MAX_PARAM_VALUE, &v[n].value, e);
		if (rc != 0)
			goto out;
		n++;
	}
	out->v = v;
	out->n = n;
out:
	return rc;
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static struct str
str_trim(struct str s)
{
	while (s.len > 0 && is_ows(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_ows(s.p[s.len - 1]))
		s.len--;
	return s;
}

int
http_parse_cookies(struct arena *a, struct str s, struct http_params *out, struct err *e)
{
	struct http_param pairs[HTTP_MAX_COOKIES];
	struct str rest = s, seg, name, value;
	size_t n = 0;
	int rc = 0;

	while (rest.len > 0) {
		/* RFC 6265 §5.2: split at ';', then at the first '=', trim WSP. */
		str_split(rest, ';', &seg, &rest);
		seg = str_trim(seg);
		if (seg.len == 0)
			continue;
		if (!str_split(seg, '=', &name, &value))
			continue; /* §5.2: no '=' means ignore the pair */
		name = str_trim(name);
		value = str_trim(value);
		if (name.len == 0)
			continue; /* §5.2: an empty name means ignore the pair */
		/*
		 * A NUL, CR, LF or other control byte (HTAB only as whitespace
		 * around a pair) means a forged request, not a cookie a browser set.
		 */
		if (!str_is_clean_utf8(name) || !str_is_clean_utf8(value)) {
			rc = E400(e, ERR_INVAL, "invalid character in cookie");
			goto out;
		}
		if (name.len > HTTP_MAX_PARAM_NAME || value.len > HTTP_MAX_PARAM_VALUE) {
			rc = E400(e, ERR_LIMIT, "cookie too long");
			goto out;
		}
		if (out->n + n >= HTTP_MAX_COOKIES) {
			rc = E400(e, ERR_LIMIT, "too many cookies (at most %d)", HTTP_MAX_COOKIES);
			goto out;
		}
		pairs[n].name = (struct str){ arena_str(a, name), name.len };
		pairs[n].value = (struct str){ arena_str(a, value), value.len };
		n++;
	}
	if (n > 0) {
		struct http_param *v = arena_alloc(a, (out->n + n) * sizeof(*v));

		if (out->n > 0)
			memcpy(v, out->v, out->n * sizeof(*v));
		memcpy(v + out->n, pairs, n * sizeof(*v));
		out->v = v;
		out->n += n;
	}
out:
	return rc;
}

int
http_param(const struct http_params *p, const char *name, struct str *value)
{
	struct str want = str_c(name);
	size_t found = 0;

	if (p == NULL || name == NULL)
		return ERR_NOTFOUND;
	for (size_t i = 0; i < p->n; i++) {
		if (!str_eq(p->v[i].name, want))
			continue;
		if (found++ == 0 && value != NULL)
			*value = p->v[i].value;
	}
	if (found == 0)
		return ERR_NOTFOUND;
	/* RFC 6749 §3.1: parameters MUST NOT be included more than once. */
	if (found > 1)
		return ERR_DUP;
	return 0;
}

const char *
http_param_c(const struct http_params *p, const char *name)
{
	struct str v;

	/* Values are stored NUL-terminated, so the pointer is a C string. */
	if (http_param(p, name, &v) != 0)
		return NULL;
	return v.p;
}

const char *
http_header(const struct http_req *r, const char *name)
{
	if (r == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < r->headers.n; i++) {
		const struct str *h = &r->headers.v[i].name;

		if (h->len == strlen(name) && strncasecmp(h->p, name, h->len) == 0)
			return r->headers.v[i].value.p;
	}
	return NULL;
}

const char *
http_cookie(const struct http_req *r, const char *name)
{
	/* Two cookies of one name (cookie tossing from a sibling domain) give none. */
	return r ? http_param_c(&r->cookies, name) : NULL;
}

void
http_req_cookie_add(struct http_req *r, const char *name, const char *value)
{
	struct http_param *np = arena_alloc(r->arena, (r->cookies.n + 1) * sizeof(*np));
	size_t n = 0;

	/* the new one replaces what the browser sent under that name (the response does too) */
	for (size_t i = 0; i < r->cookies.n; i++)
		if (!str_eq_c(r->cookies.v[i].name, name))
			np[n++] = r->cookies.v[i];
	np[n].name = str_c(name);
	np[n].value = str_c(value);
	r->cookies.v = np;
	r->cookies.n = n + 1;
}

/*
 * The Authorization header split into scheme and credentials.  Two headers
 * are refused: which one a proxy or a library would pick is not defined.
 * Returns 0, ERR_NOTFOUND or ERR_INVAL.
 */
static int
authz_split(const struct http_req *r, struct str *scheme, struct str *cred)
{
	const char *v = NULL;
	size_t count = 0;

	for (size_t i = 0; r != NULL && i < r->headers.n; i++) {
		const struct str *h = &r->headers.v[i].name;

		if (h->len == 13 && strncasecmp(h->p, "authorization", 13) == 0) {
			count++;
			v = r->headers.v[i].value.p;
		}
	}
	if (count == 0 || v == NULL)
		return ERR_NOTFOUND;
	if (count > 1)
		return ERR_INVAL;
	str_split(str_c(v), ' ', scheme, cred);
	return 0;
}

static bool
is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == '/';
}

/* Longest credentials we decode: two parameters of the longest value plus ':'. */
#define BASIC_MAX_RAW (2 * HTTP_MAX_PARAM_VALUE + 1)
#define BASIC_MAX_B64 (4 * ((BASIC_MAX_RAW + 2) / 3))

int
http_basic_auth(const struct http_req *r, struct str *user, struct str *pass, struct err *e)
{
	struct str scheme, cred, id, secret;
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	int rc;

	rc = authz_split(r, &scheme, &cred);
	if (rc == ERR_INVAL) {
		rc = E401(e, "more than one Authorization header");
		goto out;
	}
	if (rc != 0)
		goto out;
	/* RFC 7235 §2.1: the scheme is case-insensitive. */
	if (scheme.len != 5 || strncasecmp(scheme.p, "Basic", 5) != 0) {
		rc = ERR_NOTFOUND;
		goto out;
	}
	while (cred.len > 0 && cred.p[0] == ' ') {
		cred.p++;
		cred.len--;
	}
	if (cred.len == 0 || cred.len % 4 != 0) {
		rc = E401(e, "malformed Basic credentials");
		goto out;
	}
	if (cred.len > BASIC_MAX_B64) {
		rc = E401(e, "Basic credentials too long");
		goto out;
	}
	/* Standard alphabet with canonical padding only (RFC 4648 §4). */
	rc = b64_decode_std(cred, &raw, &rawlen);
	if (rc == ERR_NOMEM) {
		rc = ERR(e, ERR_NOMEM, 500, "server_error", "out of memory");
		goto out;
	}
	if (rc != 0) {
		rc = E401(e, "malformed Basic credentials");
		goto out;
	}
	/* RFC 7617 §2: the user-id ends at the first ':'. */
	if (!str_split((struct str){ (const char *)raw, rawlen }, ':', &id, &secret)) {
		rc = E401(e, "Basic credentials without ':'");
		goto out;
	}
	if (id.len == 0) {
		rc = E401(e, "empty client_id in Basic credentials");
		goto out;
	}
	/* RFC 6749 §2.3.1: both parts are form-urlencoded before base64. */
	rc = http_pct_decode(r->arena, id, true, HTTP_MAX_PARAM_VALUE, user, e);
	if (rc == 0)
		rc = http_pct_decode(r->arena, secret, true, HTTP_MAX_PARAM_VALUE, pass, e);
	if (rc != 0) {
		rc = E401(e, "malformed Basic credentials");
		goto out;
	}
out:
	if (raw != NULL) {
		OPENSSL_cleanse(raw, cred.len / 4 * 3 + 1);
		free(raw);
	}
	return rc;
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool
is_b64token(struct str t)
{
	size_t i = 0;

	while (i < t.len && (is_b64_char(t.p[i]) || t.p[i] == '-' || t.p[i] == '.' || t.p[i] == '_' ||
			     t.p[i] == '~'))
		i++;
	if (i == 0)
		return false;
	while (i < t.len && t.p[i] == '=')
		i++;
	return i == t.len;
}

int
http_auth_token(const struct http_req *r, const char *scheme_want, struct str *token)
{
	struct str scheme, cred;
	size_t n = strlen(scheme_want);
	int rc;

	rc = authz_split(r, &scheme, &cred);
	if (rc != 0)
		return rc;
	if (scheme.len != n || strncasecmp(scheme.p, scheme_want, n) != 0)
		return ERR_NOTFOUND;
	/* credentials = scheme 1*SP b64token (RFC 6750 §2.1, RFC 9449 §7.1); one space. */
	if (cred.len == 0 || cred.len > HTTP_MAX_PARAM_VALUE || !is_b64token(cred))
		return ERR_INVAL;
	/* cred runs to the end of the NUL-terminated header value. */
	*token = cred;
	return 0;
}

int
http_bearer(const struct http_req *r, struct str *token)
{
	return http_auth_token(r, "Bearer", token);
}
