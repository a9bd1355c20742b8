/* Length-carrying strings: request bytes never need to end in a NUL. */
#ifndef PORTEN_CORE_STR_H
#define PORTEN_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct str {
	const char *p;
	size_t len;
};

#define STR_LIT(s) ((struct str){ (s), sizeof(s) - 1 })
#define STR_NULL ((struct str){ NULL, 0 })

/* A struct str over a NUL-terminated C string; NULL gives STR_NULL. */
static inline struct str
str_c(const char *s)
{
	return (struct str){ s, s ? strlen(s) : 0 };
}

static inline bool
str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool
str_eq_c(struct str a, const char *b)
{
	return str_eq(a, str_c(b));
}

static inline bool
str_has_prefix(struct str s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

/* True if s is valid UTF-8 with no control characters below 0x20 or 0x7f. */
bool str_is_clean_utf8(struct str s);
/* True if s is valid UTF-8 (control characters allowed). */
bool str_is_utf8(struct str s);

/* An unreserved character of RFC 3986 §2.3: never percent-encoded. */
static inline bool
str_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * The length of the default port of scheme's URL ("https:...": ":443",
 * "http:...": ":80") at the end of host, or 0 when it is not there or is
 * all of host (RFC 3986 §6.2.3: the same authority without it).
 */
size_t str_default_port_len(const char *scheme, struct str host);

/* True if every byte of s is one of the characters in set. */
bool str_only(struct str s, const char *set);

/*
 * Split s at the first occurrence of sep: *head gets what precedes it, *rest
 * what follows.  Returns false (head = s, rest empty) when sep is absent.
 */
bool str_split(struct str s, char sep, struct str *head, struct str *rest);

/*
 * The next item of a list setting (items separated by spaces, tabs,
 * newlines or commas) from *p, which moves past it; false at the end.
 * *p may be NULL (an empty list).
 */
bool str_next_item(const char **p, struct str *item);

/*
 * Parse a decimal integer in [min, max] (openbsd strtonum, for lengths).
 * Returns 0 or ERR_INVAL.
 */
int str_to_ll(struct str s, long long min, long long max, long long *out);

#endif
