#include "core/jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

void
jsonw_begin(struct jsonw *w, struct buf *b)
{
	w->b = b;
	w->empty = true;
	w->rc = buf_append(b, "{", 1);
}

int
jsonw_end(struct jsonw *w)
{
	if (w->rc == 0)
		w->rc = buf_append(w->b, "}", 1);
	return w->rc;
}

/* The bytes that need an escape; the rest go out as they are. */
static bool
needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

/*
 * The bytes that go out as they are with no look at UTF-8: printable ASCII
 * but the quote and the backslash.  NUL is not among them, so the scan
 * that meets no other byte has found the string's end as well.
 */
static const bool plain[256] = { [' ' ... '!'] = true, ['#' ... '['] = true, [']' ... 0x7f] = true };

/*
 * s's text escaped, without the quotes; its first i bytes are plain (the
 * caller's scan).  Only a string with other bytes comes here: it is
 * checked as UTF-8 and escaped.
 */
static int
string_body(struct buf *b, const char *s, size_t i)
{
	size_t run = 0, len = i + strlen(s + i);
	int rc = 0;

	if (!str_is_utf8((struct str){ s, len }))
		return ERR_INVAL;
	for (; i < len && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (!needs_escape(c))
			continue;
		rc = buf_append(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': memcpy(esc, "\\\"", 3); break;
		case '\\': memcpy(esc, "\\\\", 3); break;
		case '\b': memcpy(esc, "\\b", 3); break;
		case '\f': memcpy(esc, "\\f", 3); break;
		case '\n': memcpy(esc, "\\n", 3); break;
		case '\r': memcpy(esc, "\\r", 3); break;
		case '\t': memcpy(esc, "\\t", 3); break;
		default: snprintf(esc, sizeof(esc), "\\u%04X", c); break;
		}
		if (rc == 0)
			rc = buf_puts(b, esc);
	}
	if (rc == 0)
		rc = buf_append(b, s + run, len - run);
	return rc;
}

/*
 * s as a JSON string, open and close the text around it (quotes and
 * separators); on failure nothing of it stays in b.  Most keys and values
 * are short and plain: one pass over them and one append.
 */
static int
string_in(struct buf *b, struct str open, const char *s, struct str close)
{
	size_t at = b->len, n = 0;
	char one[128];
	int rc;

	while (plain[(unsigned char)s[n]])
		n++;
	if (s[n] == '\0' && open.len + n + close.len <= sizeof(one)) {
		memcpy(one, open.p, open.len);
		memcpy(one + open.len, s, n);
		memcpy(one + open.len + n, close.p, close.len);
		return buf_append(b, one, open.len + n + close.len);
	}
	rc = buf_append(b, open.p, open.len);
	if (rc == 0)
		rc = s[n] == '\0' ? buf_append(b, s, n) : string_body(b, s, n);
	if (rc == 0)
		rc = buf_append(b, close.p, close.len);
	if (rc != 0 && b->p != NULL) {
		b->len = at;
		b->p[at] = '\0';
	}
	return rc;
}

int
jsonw_string(struct buf *b, const char *s)
{
	return string_in(b, STR_LIT("\""), s, STR_LIT("\""));
}

/* The separator and the key of the next member. */
static bool
key(struct jsonw *w, const char *k)
{
	if (w->rc == 0)
		w->rc = string_in(w->b, w->empty ? STR_LIT("\"") : STR_LIT(",\""), k,
				  STR_LIT("\":"));
	w->empty = false;
	return w->rc == 0;
}

void
jsonw_str(struct jsonw *w, const char *k, const char *v)
{
	if (v != NULL && key(w, k))
		w->rc = jsonw_string(w->b, v);
}

void
jsonw_int(struct jsonw *w, const char *k, int64_t v)
{
	if (key(w, k))
		w->rc = buf_printf(w->b, "%" PRId64, v);
}

void
jsonw_bool(struct jsonw *w, const char *k, bool v)
{
	if (key(w, k))
		w->rc = buf_puts(w->b, v ? "true" : "false");
}

void
jsonw_null(struct jsonw *w, const char *k)
{
	if (key(w, k))
		w->rc = buf_puts(w->b, "null");
}

void
jsonw_strs(struct jsonw *w, const char *k, const char *const *v, size_t n)
{
	if (!key(w, k))
		return;
	w->rc = buf_append(w->b, "[", 1);
	for (size_t i = 0; i < n && w->rc == 0; i++) {
		if (i > 0)
			w->rc = buf_append(w->b, ",", 1);
		if (w->rc == 0)
			w->rc = jsonw_string(w->b, v[i]);
	}
	if (w->rc == 0)
		w->rc = buf_append(w->b, "]", 1);
}

void
jsonw_raw(struct jsonw *w, const char *k, const char *json, size_t len)
{
	if (key(w, k))
		w->rc = buf_append(w->b, json, len);
}

void
jsonw_tree(struct jsonw *w, const char *k, const json_t *v)
{
	char *text;

	if (v == NULL || w->rc != 0)
		return;
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text == NULL) {
		w->rc = ERR_NOMEM;
		return;
	}
	jsonw_raw(w, k, text, strlen(text));
	free(text);
}

void
jsonw_obj(struct jsonw *w, const char *k)
{
	if (key(w, k))
		w->rc = buf_append(w->b, "{", 1);
	w->empty = true;
}

void
jsonw_close(struct jsonw *w)
{
	if (w->rc == 0)
		w->rc = buf_append(w->b, "}", 1);
	w->empty = false;
}
