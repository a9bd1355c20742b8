/*
 * Token Status Lists (spec/eudi-wallet.md §6 step 11): a PID that names a
 * status list entry is accepted only when the list, signed under the same
 * anchors, says VALID.  "The same" is an anchor of the credential's own
 * country (§10): another country's PID provider may not vouch for it.
 * Lists are kept until their exp or ttl, at most five minutes; anything
 * unreachable or malformed fails closed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/b64.h"
#include "http/client.h"
#include "eid/wallet/wallet_int.h"

#define CACHE_N 16
#define CACHE_MAX 300              /* seconds a list is kept at most */
#define URI_MAX 512
#define LIST_MAX (1 << 20)         /* inflated list bytes: 8 M one-bit entries */
#define TOKEN_MAX (1 << 20)

struct sl_entry {
	char uri[URI_MAX + 1];
	char cc[3];                /* the country of the anchor that verified it */
	int64_t until;
	unsigned bits;
	unsigned char *lst;
	size_t len;
};

static struct sl_entry cache[CACHE_N];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* The entry at idx of a held list; -1 when idx is beyond it. */
static int
entry_at(const unsigned char *lst, size_t len, unsigned bits, int64_t idx)
{
	uint64_t bit = (uint64_t)idx * bits;

	if ((bit / 8) >= len)
		return -1;
	return (lst[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
}

static int
cache_find(const char *uri, const char *cc, int64_t now, int64_t idx, int *val)
{
	int found = 0;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_N; i++)
		if (cache[i].lst != NULL && cache[i].until > now && strcmp(cache[i].uri, uri) == 0 &&
		    strcmp(cache[i].cc, cc) == 0) {
			*val = entry_at(cache[i].lst, cache[i].len, cache[i].bits, idx);
			found = 1;
			break;
		}
	pthread_mutex_unlock(&cache_lock);
	return found;
}

/* Keep lst (taken) for uri, verified under cc, until until, in the slot that ends soonest. */
static void
cache_put(const char *uri, const char *cc, int64_t until, unsigned bits, unsigned char *lst,
	  size_t len)
{
	size_t pick = 0;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 1; i < CACHE_N; i++)
		if (cache[i].until < cache[pick].until)
			pick = i;
	free(cache[pick].lst);
	snprintf(cache[pick].uri, sizeof(cache[pick].uri), "%s", uri);
	snprintf(cache[pick].cc, sizeof(cache[pick].cc), "%s", cc);
	cache[pick].until = until;
	cache[pick].bits = bits;
	cache[pick].lst = lst;
	cache[pick].len = len;
	pthread_mutex_unlock(&cache_lock);
}

void
wallet_status_cleanup(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_N; i++) {
		free(cache[i].lst);
		memset(&cache[i], 0, sizeof(cache[i]));
	}
	pthread_mutex_unlock(&cache_lock);
}

/* lst: base64url of ZLIB (RFC 1950) compressed bytes, inflated with a cap. */
static int
inflate_list(const char *b64, unsigned char **out, size_t *len)
{
	size_t n = strlen(b64), zn = 0;
	unsigned char *z = malloc(n * 3 / 4 + 2), *buf = malloc(LIST_MAX);
	z_stream s = { 0 };
	int rc = -1, zr;

	*out = NULL;
	if (z == NULL || buf == NULL || b64url_decode(str_c(b64), z, &zn) != 0 ||
	    inflateInit(&s) != Z_OK)
		goto out;
	s.next_in = z;
	s.avail_in = (uInt)zn;
	s.next_out = buf;
	s.avail_out = LIST_MAX;
	zr = inflate(&s, Z_FINISH);
	inflateEnd(&s);
	if (zr != Z_STREAM_END || s.total_out == 0)
		goto out;
	*out = buf;
	*len = s.total_out;
	buf = NULL;
	rc = 0;
out:
	free(z);
	free(buf);
	return rc;
}

/*
 * Fetch, verify and read the list at uri (§6 step 11) for a credential of
 * country cc; the list goes to the cache.
 */
static int
fetch(const char *uri, const struct wallet_check *c, const char *cc, int64_t idx, int *val,
      struct err *e)
{
	static const char *const hdrs[] = { "Accept: application/statuslist+jwt", NULL };
	struct http_client_req q = { .method = "GET", .url = uri, .headers = hdrs, .timeout = 5,
				     .max_body = TOKEN_MAX };
	struct http_client_resp resp = { 0 };
	enum wallet_fail why;
	json_t *p = NULL, *sl;
	int64_t exp, ttl, until;
	const struct wallet_anchor *by = NULL;
	unsigned char *lst = NULL;
	unsigned bits;
	size_t len = 0;
	int rc;

	rc = http_client_do(&q, &resp, e);
	if (rc == 0 && resp.status != 200)
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "the status list answered %ld", resp.status);
	if (rc == 0)
		rc = wallet_jws_x5c((struct str){ resp.body, resp.len }, c, "statuslist+jwt", NULL,
				    &p, &by, &why, e);
	http_client_resp_free(&resp);
	if (rc == 0 && strcmp(by->cc, cc) != 0)
		rc = ERR(e, ERR_DENIED, 0, NULL, "the status list is signed under an anchor of %s, "
			 "the credential under one of %s", by->cc, cc);
	if (rc != 0)
		goto out;
	sl = json_object_get(p, "status_list");
	exp = json_integer_value(json_object_get(p, "exp"));
	bits = (unsigned)json_integer_value(json_object_get(sl, "bits"));
	if (!json_is_string(json_object_get(p, "sub")) ||
	    strcmp(json_string_value(json_object_get(p, "sub")), uri) != 0 ||
	    !json_is_integer(json_object_get(p, "exp")) || exp <= c->now ||
	    (bits != 1 && bits != 2 && bits != 4 && bits != 8) ||
	    !json_is_string(json_object_get(sl, "lst")) ||
	    inflate_list(json_string_value(json_object_get(sl, "lst")), &lst, &len) != 0) {
		rc = ERR(e, ERR_DENIED, 0, NULL, "the status list token is not acceptable");
		goto out;
	}
	ttl = json_integer_value(json_object_get(p, "ttl"));
	until = c->now + CACHE_MAX;
	if (exp < until)
		until = exp;
	if (ttl > 0 && c->now + ttl < until)
		until = c->now + ttl;
	*val = entry_at(lst, len, bits, idx);
	cache_put(uri, cc, until, bits, lst, len);
out:
	json_decref(p);
	return rc;
}

int
wallet_status_check(const json_t *status, const struct wallet_check *c, const char *cc,
		    bool allow_http, enum wallet_fail *why, struct err *e)
{
	const json_t *ref = json_object_get(status, "status_list");
	const char *uri = json_string_value(json_object_get(ref, "uri"));
	const json_t *idx = json_object_get(ref, "idx");
	int val = -1;

	*why = WALLET_FAIL_INVALID;
	if (uri == NULL || strlen(uri) > URI_MAX || !json_is_integer(idx) ||
	    json_integer_value(idx) < 0 || json_integer_value(idx) > (int64_t)LIST_MAX * 8 ||
	    (strncmp(uri, "https://", 8) != 0 && !(allow_http && strncmp(uri, "http://", 7) == 0)))
		return ERR(e, ERR_DENIED, 0, NULL, "the credential's status reference is malformed");
	if (!cache_find(uri, cc, c->now, json_integer_value(idx), &val)) {
		/* Fail closed: no list, no login (design). */
		if (fetch(uri, c, cc, json_integer_value(idx), &val, e) != 0) {
			*why = WALLET_FAIL_UNAVAILABLE;
			return ERR_UNAVAILABLE;
		}
	}
	if (val == 0)
		return 0;
	*why = val < 0 ? WALLET_FAIL_INVALID : WALLET_FAIL_EXPIRED;
	return ERR(e, ERR_DENIED, 0, NULL, "the credential's status is %d", val);
}
