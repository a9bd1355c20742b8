/*
 * Building responses.  Nothing from a handler reaches the wire unchecked:
 * header names must be tokens and values free of CR/LF (response splitting,
 * RFC 9112 §11.1), cookie names and values are held to RFC 6265 §4.1.1.
 * A builder that cannot do its job leaves a 500 instead of half a response.
 */
#include "http/http.h"

#include <inttypes.h>
#include <strings.h>

#define RESP_MAX_HEADERS 64
#define COOKIE_MAX 4096 /* RFC 6265 §6.1: what every browser keeps */

static const char server_error_json[] = "{\"error\":\"server_error\"}";

void
http_resp_init(struct http_resp *w, struct arena *a)
{
	memset(w, 0, sizeof(*w));
	w->arena = a;
	buf_init(&w->body, HTTP_MAX_RESPONSE);
}

void
http_resp_free(struct http_resp *w)
{
	if (w == NULL)
		return;
	buf_free(&w->body);
	w->headers = NULL;
	w->nheaders = w->capheaders = 0;
}

void
http_resp_reset(struct http_resp *w)
{
	w->status = 0;
	w->content_type = NULL;
	w->nheaders = 0;
	buf_reset(&w->body);
}

/* A fixed 500 for when a builder fails (body over the cap, bad JSON). */
static void
resp_fail(struct http_resp *w)
{
	w->status = 500;
	w->content_type = "application/json";
	buf_reset(&w->body);
	if (buf_append(&w->body, server_error_json, sizeof(server_error_json) - 1) != 0)
		buf_free(&w->body);
}

static void
resp_body(struct http_resp *w, int status, const char *type, const char *p, size_t n)
{
	buf_reset(&w->body);
	if (buf_append(&w->body, p, n) != 0) {
		resp_fail(w);
		return;
	}
	w->status = status;
	w->content_type = type;
}

/* RFC 9110 §5.6.2: tchar. */
static bool
is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* RFC 9110 §5.5: field-value is VCHAR, obs-text, SP and HTAB; no CR, LF or other CTL. */
static bool
is_field_value(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static int
resp_add(struct http_resp *w, const char *name, const char *value)
{
	if (!is_token(name) || value == NULL || !is_field_value(value))
		return ERR_INVAL;
	if (w->nheaders == w->capheaders) {
		size_t cap = w->capheaders ? w->capheaders * 2 : 8;
		struct http_header *h;

		if (w->nheaders >= RESP_MAX_HEADERS)
			return ERR_LIMIT;
		h = arena_alloc(w->arena, cap * sizeof(*h));
		if (w->nheaders > 0)
			memcpy(h, w->headers, w->nheaders * sizeof(*h));
		w->headers = h;
		w->capheaders = cap;
	}
	w->headers[w->nheaders].name = arena_strdup(w->arena, name);
	w->headers[w->nheaders].value = arena_strdup(w->arena, value);
	w->nheaders++;
	return 0;
}

int
http_resp_header(struct http_resp *w, const char *name, const char *value)
{
	return resp_add(w, name, value);
}

/* Replace every header of this name by one with value (for Cache-Control). */
static int
resp_set(struct http_resp *w, const char *name, const char *value)
{
	size_t k = 0;

	for (size_t i = 0; i < w->nheaders; i++)
		if (strcasecmp(w->headers[i].name, name) != 0)
			w->headers[k++] = w->headers[i];
	w->nheaders = k;
	return resp_add(w, name, value);
}

void
http_resp_json(struct http_resp *w, int status, const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	if (s == NULL) {
		resp_fail(w);
		return;
	}
	resp_body(w, status, "application/json", s, strlen(s));
	free(s);
}

const char http_csp_html[] =
	"default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
	"form-action *; frame-src *; frame-ancestors 'none'; base-uri 'none'";

void
http_resp_json_text(struct http_resp *w, int status, const char *text, size_t len)
{
	if (text == NULL) {
		resp_fail(w);
		return;
	}
	resp_body(w, status, "application/json", text, len);
}

/*
 * RFC 6749 §5.2: error and error_description MUST NOT include characters
 * outside %x20-21 / %x23-5B / %x5D-7E; anything else becomes '?', so that
 * a message quoting input can never break a client's parser.
 */
static char *
oauth_clean(struct arena *a, const char *s)
{
	char *d = arena_strdup(a, s);

	for (char *p = d; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			*p = '?';
	}
	return d;
}

void
http_resp_oauth_error(struct http_resp *w, int status, const char *error, const char *desc)
{
	json_t *j = NULL;

	j = json_object();
	if (j == NULL)
		goto out;
	if (json_object_set_new(j, "error",
				json_string(oauth_clean(w->arena, error ? error : "server_error"))) != 0)
		goto out;
	if (desc != NULL &&
	    json_object_set_new(j, "error_description", json_string(oauth_clean(w->arena, desc))) != 0)
		goto out;
	http_resp_json(w, status, j);
	/* RFC 6749 §5.1/§5.2: token responses and their errors are not cached. */
	if (resp_set(w, "Cache-Control", "no-store") != 0 || resp_set(w, "Pragma", "no-cache") != 0)
		goto out;
	json_decref(j);
	return;
out:
	json_decref(j);
	resp_fail(w);
}

void
http_resp_html(struct http_resp *w, int status, struct str html)
{
	resp_body(w, status, "text/html; charset=utf-8", html.p, html.len);
}

void
http_resp_text(struct http_resp *w, int status, const char *text)
{
	resp_body(w, status, "text/plain; charset=utf-8", text ? text : "", text ? strlen(text) : 0);
}

void
http_resp_redirect(struct http_resp *w, const char *location)
{
	if (location == NULL || *location == '\0' || resp_set(w, "Location", location) != 0) {
		resp_fail(w);
		return;
	}
	buf_reset(&w->body);
	w->status = 302;
	w->content_type = NULL;
}

/* RFC 6265 §4.1.1: cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
static bool
is_cookie_octets(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\')
			return false;
	}
	return true;
}

/* RFC 6265 §4.1.1: path-value = any CHAR except CTLs or ';'; we also want it absolute. */
static bool
is_cookie_path(const char *s)
{
	if (s[0] != '/')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e || c == ';')
			return false;
	}
	return true;
}

int
http_resp_cookie(struct http_resp *w, const char *name, const char *value,
		 const struct http_cookie_opts *o)
{
	static const struct http_cookie_opts defaults = {
		.max_age = -1, .path = "/", .same_site = "Lax", .secure = false, .http_only = true,
	};
	const char *path, *ss;
	struct buf b;
	int rc;

	buf_init(&b, COOKIE_MAX + 256);
	if (o == NULL)
		o = &defaults;
	if (value == NULL)
		value = "";
	path = o->path ? o->path : "/";
	if (!is_token(name) || !is_cookie_octets(value) || !is_cookie_path(path)) {
		rc = ERR_INVAL;
		goto out;
	}
	if (strlen(name) + strlen(value) > COOKIE_MAX) {
		rc = ERR_LIMIT;
		goto out;
	}
	if (o->same_site == NULL || strcasecmp(o->same_site, "Lax") == 0) {
		ss = "Lax";
	} else if (strcasecmp(o->same_site, "Strict") == 0) {
		ss = "Strict";
	} else if (strcasecmp(o->same_site, "None") == 0) {
		ss = "None";
	} else {
		rc = ERR_INVAL;
		goto out;
	}
	/* Browsers drop SameSite=None without Secure (RFC 6265bis §5.6.7). */
	if (strcmp(ss, "None") == 0 && !o->secure) {
		rc = ERR_INVAL;
		goto out;
	}
	/* RFC 6265bis §4.1.3: what the cookie prefixes promise must hold. */
	if ((strncmp(name, "__Secure-", 9) == 0 && !o->secure) ||
	    (strncmp(name, "__Host-", 7) == 0 && (!o->secure || strcmp(path, "/") != 0))) {
		rc = ERR_INVAL;
		goto out;
	}
	rc = buf_printf(&b, "%s=%s; Path=%s", name, value, path);
	if (rc == 0 && o->max_age == 0)
		/* Expires as well, for user agents that ignore Max-Age. */
		rc = buf_puts(&b, "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
	else if (rc == 0 && o->max_age > 0)
		rc = buf_printf(&b, "; Max-Age=%" PRId64, o->max_age);
	if (rc == 0 && o->secure)
		rc = buf_puts(&b, "; Secure");
	if (rc == 0 && o->http_only)
		rc = buf_puts(&b, "; HttpOnly");
	if (rc == 0)
		rc = buf_printf(&b, "; SameSite=%s", ss);
	if (rc == 0)
		rc = resp_add(w, "Set-Cookie", b.p);
out:
	buf_free(&b);
	return rc;
}
