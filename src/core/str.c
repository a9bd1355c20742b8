#include "core/str.h"

#include "core/err.h"

/*
 * The code point of the UTF-8 sequence at p[i] into *cp; returns its length
 * in bytes, or 0 when it is not valid UTF-8 (overlong forms, surrogates and
 * values past U+10FFFF included).
 */
static size_t
utf8_decode(const unsigned char *p, size_t len, size_t i, unsigned *cp)
{
	unsigned char c = p[i];
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 1;
		*cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		*cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		*cp = c & 0x07;
	} else {
		return 0;
	}
	if (i + n >= len)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((p[i + k] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[i + k] & 0x3f);
	}
	if ((n == 1 && *cp < 0x80) || (n == 2 && *cp < 0x800) || (n == 3 && *cp < 0x10000) ||
	    (*cp >= 0xd800 && *cp <= 0xdfff) || *cp > 0x10ffff)
		return 0;
	return n + 1;
}

/* s is valid UTF-8; with clean, also free of C0 and C1 controls and DEL. */
static bool
utf8_ok(struct str s, bool clean)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t i = 0;

	while (i < s.len) {
		unsigned cp;
		size_t n = utf8_decode(p, s.len, i, &cp);

		if (n == 0 || (clean && (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))))
			return false;
		i += n;
	}
	return true;
}

bool
str_is_clean_utf8(struct str s)
{
	return utf8_ok(s, true);
}

bool
str_is_utf8(struct str s)
{
	return utf8_ok(s, false);
}

/*
 * A table of the set's bytes first: tokens and keys of several hundred
 * characters are checked against 64-character sets, and a strchr per
 * character was 1.4% of a machine token.  NUL is never in the table.
 */
bool
str_only(struct str s, const char *set)
{
	bool in[256] = { false };

	for (const unsigned char *c = (const unsigned char *)set; *c != '\0'; c++)
		in[*c] = true;
	for (size_t i = 0; i < s.len; i++)
		if (!in[(unsigned char)s.p[i]])
			return false;
	return true;
}

bool
str_split(struct str s, char sep, struct str *head, struct str *rest)
{
	const char *q = s.len ? memchr(s.p, sep, s.len) : NULL;

	if (q == NULL) {
		*head = s;
		*rest = (struct str){ s.p ? s.p + s.len : NULL, 0 };
		return false;
	}
	*head = (struct str){ s.p, (size_t)(q - s.p) };
	*rest = (struct str){ q + 1, s.len - (size_t)(q - s.p) - 1 };
	return true;
}

size_t
str_default_port_len(const char *scheme, struct str host)
{
	const char *port = strncmp(scheme, "https:", 6) == 0  ? ":443"
			   : strncmp(scheme, "http:", 5) == 0 ? ":80"
							      : NULL;
	size_t n = port != NULL ? strlen(port) : 0;

	return n > 0 && host.len > n && memcmp(host.p + host.len - n, port, n) == 0 ? n : 0;
}

bool
str_next_item(const char **p, struct str *item)
{
	static const char seps[] = " ,\t\n";
	const char *q = *p;

	if (q == NULL)
		return false;
	q += strspn(q, seps);
	*item = (struct str){ q, strcspn(q, seps) };
	*p = q + item->len;
	return item->len > 0;
}

int
str_to_ll(struct str s, long long min, long long max, long long *out)
{
	long long v = 0;
	bool neg = false;
	size_t i = 0;

	if (s.len == 0 || s.len > 20)
		return ERR_INVAL;
	if (s.p[0] == '-') {
		neg = true;
		i = 1;
		if (s.len == 1)
			return ERR_INVAL;
	}
	for (; i < s.len; i++) {
		int d = s.p[i] - '0';

		if (d < 0 || d > 9)
			return ERR_INVAL;
		if (v > (__LONG_LONG_MAX__ - d) / 10)
			return ERR_INVAL;
		v = v * 10 + d;
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		return ERR_INVAL;
	*out = v;
	return 0;
}
