/*
 * Small helpers for the load driver: buffers, base64url, PKCE, and the
 * minimal HTML and URL picking the login pages need.  The HTML is only
 * searched for a few known markers: this reads pages we know, it is not a
 * parser.
 */
#include "load.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL) {
		fprintf(stderr, "porten-load: out of memory\n");
		exit(2);
	}
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fprintf(stderr, "porten-load: out of memory\n");
		exit(2);
	}
	return p;
}

bool
str_prefix(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

int
lbuf_append(struct lbuf *b, const void *p, size_t n)
{
	size_t want;
	char *np;

	if (b->overflow || n > LOAD_BODY_MAX - b->len) {
		b->overflow = true;
		return -1;
	}
	want = b->len + n + 1;
	if (want > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < want)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->overflow = true;
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void
lbuf_reset(struct lbuf *b)
{
	b->len = 0;
	b->overflow = false;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* Standard base64 of in, NUL-terminated, caller frees. */
char *
b64_encode(const void *in, size_t inlen)
{
	char *out = malloc(4 * ((inlen + 2) / 3) + 1);

	if (out == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)inlen);
	return out;
}

static void
b64_to_url(char *s)
{
	char *w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (*r == '=')
			continue;
		*w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
	}
	*w = '\0';
}

int
b64url_encode(const unsigned char *in, size_t inlen, char *out, size_t outsz)
{
	if (outsz < 4 * ((inlen + 2) / 3) + 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)inlen);
	b64_to_url(out);
	return 0;
}

int
rand_b64url(char *out, size_t outsz, size_t nbytes)
{
	unsigned char raw[64];

	if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
		return -1;
	return b64url_encode(raw, nbytes, out, outsz);
}

/* RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
int
pkce_challenge(const char *verifier, char *out, size_t outsz)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int mdlen = 0;

	if (EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	return b64url_encode(md, mdlen, out, outsz);
}

char *
b64url_decode(const char *in, size_t inlen, size_t *outlen)
{
	size_t padded = (inlen + 3) / 4 * 4;
	char *tmp = NULL;
	unsigned char *out = NULL;
	int n;

	/* A length of 4k+1 leaves 6 bits: no such base64url. */
	if (inlen == 0 || inlen > 64 * 1024 || inlen % 4 == 1)
		return NULL;
	tmp = malloc(padded + 1);
	out = malloc(padded / 4 * 3 + 1);
	if (tmp == NULL || out == NULL)
		goto fail;
	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			goto fail;
		tmp[i] = c;
	}
	for (size_t i = inlen; i < padded; i++)
		tmp[i] = '=';
	tmp[padded] = '\0';
	n = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded);
	if (n < 0)
		goto fail;
	n -= (int)(padded - inlen);   /* EVP_DecodeBlock counts the padding as zero bytes */
	out[n] = '\0';
	*outlen = (size_t)n;
	free(tmp);
	return (char *)out;
fail:
	free(tmp);
	free(out);
	return NULL;
}

/* The payload of a compact JWS, unverified: the driver checks shape and claims, not signatures. */
json_t *
jwt_payload(const char *jwt)
{
	const char *d1, *d2;
	char *raw;
	size_t n = 0;
	json_t *j;

	if (jwt == NULL)
		return NULL;
	d1 = strchr(jwt, '.');
	if (d1 == NULL)
		return NULL;
	d2 = strchr(d1 + 1, '.');
	if (d2 == NULL || strchr(d2 + 1, '.') != NULL || d2[1] == '\0')
		return NULL;
	raw = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &n);
	if (raw == NULL)
		return NULL;
	j = json_loadb(raw, n, 0, NULL);
	free(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* &amp; &quot; &#39; &lt; &gt; and numeric references of ASCII; enough for URLs and tokens. */
char *
html_unescape(const char *s)
{
	char *out = xstrdup(s), *w = out;

	for (const char *r = s; *r != '\0';) {
		if (*r != '&') {
			*w++ = *r++;
			continue;
		}
		if (strncmp(r, "&amp;", 5) == 0) {
			*w++ = '&';
			r += 5;
		} else if (strncmp(r, "&quot;", 6) == 0) {
			*w++ = '"';
			r += 6;
		} else if (strncmp(r, "&lt;", 4) == 0) {
			*w++ = '<';
			r += 4;
		} else if (strncmp(r, "&gt;", 4) == 0) {
			*w++ = '>';
			r += 4;
		} else if (r[1] == '#') {
			const char *p = r + 2;
			int c = 0;

			while (*p >= '0' && *p <= '9' && c < 128)
				c = c * 10 + (*p++ - '0');
			if (*p == ';' && c > 0 && c < 128) {
				*w++ = (char)c;
				r = p + 1;
			} else {
				*w++ = *r++;
			}
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return out;
}

/* The quoted value of attr (e.g. `action="`) at or after from, before end; unescaped. */
char *
html_attr_after(const char *body, const char *end, const char *from, const char *attr)
{
	const char *a, *q;
	char *raw, *val;

	(void)body;
	a = strstr(from, attr);
	if (a == NULL || a >= end)
		return NULL;
	a += strlen(attr);
	q = strchr(a, '"');
	if (q == NULL || q > end)
		return NULL;
	raw = strndup(a, (size_t)(q - a));
	if (raw == NULL)
		return NULL;
	val = html_unescape(raw);
	free(raw);
	return val;
}

/* The value of <input ... name="NAME" ... value="..."> inside [form, form_end). */
char *
html_hidden(const char *form, const char *form_end, const char *name)
{
	char key[128];
	const char *n, *tag_end, *tag_start;

	if (snprintf(key, sizeof(key), "name=\"%s\"", name) >= (int)sizeof(key))
		return NULL;
	n = strstr(form, key);
	if (n == NULL || n >= form_end)
		return NULL;
	tag_end = strchr(n, '>');
	if (tag_end == NULL || tag_end > form_end)
		return NULL;
	/* value may come before or after name within the same tag */
	tag_start = n;
	while (tag_start > form && *tag_start != '<')
		tag_start--;
	return html_attr_after(form, tag_end, tag_start, "value=\"");
}

/* The decoded value of a query parameter of an absolute URL, or NULL. */
char *
url_query_param(const char *url, const char *name)
{
	const char *q = strchr(url, '?');
	size_t nl = strlen(name);

	if (q == NULL)
		return NULL;
	q++;
	while (*q != '\0' && *q != '#') {
		const char *amp = q + strcspn(q, "&#");

		if ((size_t)(amp - q) > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			char *raw = strndup(q + nl + 1, (size_t)(amp - q - nl - 1));
			int outlen = 0;
			char *dec, *val;

			if (raw == NULL)
				return NULL;
			/* form encoding: '+' is a space, before percent-decoding (%2B stays '+') */
			for (char *r = raw; *r != '\0'; r++)
				if (*r == '+')
					*r = ' ';
			dec = curl_easy_unescape(NULL, raw, 0, &outlen);
			free(raw);
			if (dec == NULL)
				return NULL;
			val = xstrdup(dec);
			curl_free(dec);
			return val;
		}
		if ((size_t)(amp - q) == nl && strncmp(q, name, nl) == 0)
			return xstrdup("");
		q = *amp == '&' ? amp + 1 : amp;
	}
	return NULL;
}

/* rel resolved against base (RFC 3986 §5) by libcurl's URL API. */
char *
url_resolve(const char *base, const char *rel)
{
	CURLU *u = curl_url();
	char *s = NULL, *out = NULL;

	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, rel, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
		out = xstrdup(s);
		curl_free(s);
	}
	curl_url_cleanup(u);
	return out;
}

char *
form_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *out;

	if (e == NULL)
		return NULL;
	out = xstrdup(e);
	curl_free(e);
	return out;
}

/*
 * The open-loop schedule: operation k (from 0) is due at t0 + k / rate.
 * Computed from k rather than summed interval by interval, so rounding does
 * not drift over a long run.
 */
double
sched_due(double t0, double rate, uint64_t k)
{
	return t0 + (double)k / rate;
}

/* Operations due at or before t: those with t0 + k / rate <= t. */
uint64_t
sched_count(double t0, double rate, double t)
{
	double n;

	if (!(rate > 0) || !(t >= t0))
		return 0;
	n = (t - t0) * rate;
	if (n >= 1.8e19)
		return UINT64_MAX;
	return (uint64_t)n + 1;
}

/*
 * Milliseconds to wait (poll timeout) before the operation due at `due`;
 * 0 means take it now.  An operation less than SCHED_EARLY_MS ahead is
 * taken at once: poll timeouts are whole milliseconds, and waking half a
 * millisecond early costs nothing (latency then counts from the actual
 * start), while sleeping a whole one past the time would make it late.
 * The wait is rounded up, so the loop sleeps instead of spinning; cap_ms >= 1.
 */
#define SCHED_EARLY_MS 0.5

int
sched_wait_ms(double now, double due, int cap_ms)
{
	double ahead = (due - now) * 1000 - SCHED_EARLY_MS;
	int w;

	if (!(ahead > 0))
		return 0;
	if (ahead >= (double)cap_ms)
		return cap_ms;
	w = (int)ahead;
	if ((double)w < ahead)
		w++;
	return w < 1 ? 1 : w;
}
