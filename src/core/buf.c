#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/crypto.h"
#include "core/err.h"

void
buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return ERR_LIMIT;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		np = realloc(b->p, cap);
		if (np == NULL)
			return ERR_NOMEM;
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
buf_append_str(struct buf *b, struct str s)
{
	return buf_append(b, s.p, s.len);
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n, rc;
	char *big;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return ERR_INVAL;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	big = malloc((size_t)n + 1);
	if (big == NULL)
		return ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}

int
buf_html(struct buf *b, struct str s)
{
	size_t run = 0;
	int rc = 0;

	if (s.len == 0)
		return 0;
	/* Characters that need no escape go in runs: pages carry long tokens. */
	for (size_t i = 0; i < s.len && rc == 0; i++) {
		const char *esc;

		switch (s.p[i]) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		default: continue;
		}
		rc = buf_append(b, s.p + run, i - run);
		if (rc == 0)
			rc = buf_puts(b, esc);
		run = i + 1;
	}
	return rc == 0 ? buf_append(b, s.p + run, s.len - run) : rc;
}

int
buf_urlenc(struct buf *b, struct str s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;
	int rc = 0;

	if (s.len == 0)
		return 0;
	for (size_t i = 0; i < s.len && rc == 0; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (str_unreserved(c))
			continue;
		rc = buf_append(b, s.p + run, i - run);
		if (rc == 0)
			rc = buf_append(b, (const char[3]){ '%', hex[c >> 4], hex[c & 15] }, 3);
		run = i + 1;
	}
	return rc == 0 ? buf_append(b, s.p + run, s.len - run) : rc;
}

char *
buf_take(struct buf *b)
{
	char *p = b->p;

	if (p == NULL)
		p = calloc(1, 1);
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_free_secret(struct buf *b)
{
	if (b->p)
		secure_wipe(b->p, b->cap);
	buf_free(b);
}
