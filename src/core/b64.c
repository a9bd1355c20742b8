#include "core/b64.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/err.h"

static const char b64url_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void
b64url_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64url_alpha[v >> 18];
		out[o++] = b64url_alpha[(v >> 12) & 63];
		out[o++] = b64url_alpha[(v >> 6) & 63];
		out[o++] = b64url_alpha[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;

		out[o++] = b64url_alpha[v >> 18];
		out[o++] = b64url_alpha[(v >> 12) & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

		out[o++] = b64url_alpha[v >> 18];
		out[o++] = b64url_alpha[(v >> 12) & 63];
		out[o++] = b64url_alpha[(v >> 6) & 63];
	}
	out[o] = '\0';
}

char *
b64url_encode_arena(struct arena *a, const void *in, size_t n)
{
	char *out = arena_alloc(a, b64url_len(n) + 1);

	b64url_encode(in, n, out);
	return out;
}

/* The value of each byte as a base64url digit, -1 for none (one load per character). */
static const signed char b64url_tab[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int
b64url_val(char c)
{
	return b64url_tab[(unsigned char)c];
}

/* The decoder's table decides what a base64url character is, for both. */
bool
b64url_chars(struct str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (b64url_val(s.p[i]) < 0)
			return false;
	return true;
}

bool
b64url_canonical(struct str s)
{
	int last;

	if (s.len % 4 == 1 || !b64url_chars(s))
		return false;
	if (s.len % 4 == 0)
		return true;
	/* Two characters carry 8 bits and leave 4 unused, three carry 16 and leave 2. */
	last = b64url_val(s.p[s.len - 1]);
	return (last & (s.len % 4 == 2 ? 15 : 3)) == 0;
}

int
b64url_decode(struct str s, unsigned char *out, size_t *outlen)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	if (s.len % 4 == 1)
		return ERR_INVAL;
	for (size_t i = 0; i < s.len; i++) {
		int v = b64url_val(s.p[i]);

		if (v < 0)
			return ERR_INVAL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if (acc != 0)
		return ERR_INVAL;
	*outlen = o;
	return 0;
}

static bool
b64_std_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int
b64_decode_std(struct str s, unsigned char **out, size_t *outlen)
{
	size_t pad = 0;
	unsigned char *buf;
	int n;

	*out = NULL;
	*outlen = 0;
	if (s.p == NULL || s.len == 0 || s.len % 4 != 0 || s.len > INT32_MAX)
		return ERR_INVAL;
	while (pad < 2 && s.p[s.len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < s.len - pad; i++)
		if (!b64_std_char(s.p[i]))
			return ERR_INVAL;
	buf = malloc(s.len / 4 * 3 + 1);
	if (buf == NULL)
		return ERR_NOMEM;
	/* Checked above: nothing for EVP_DecodeBlock to skip; it counts padding as zeros. */
	n = EVP_DecodeBlock(buf, (const unsigned char *)s.p, (int)s.len);
	if (n < 0 || (size_t)n < pad) {
		free(buf);
		return ERR_INVAL;
	}
	*out = buf;
	*outlen = (size_t)n - pad;
	return 0;
}

char *
b64_encode_std_arena(struct arena *a, const void *in, size_t n)
{
	char *out = arena_alloc(a, (n + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}
