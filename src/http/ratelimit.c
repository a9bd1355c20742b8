/*
 * Token buckets in a fixed, set-associative table.
 *
 * A key (an address or a client_id) is hashed with HMAC-SHA-256 under a
 * random key made when the table is: the first 8 bytes pick a set, the
 * next 16 identify the key within it.  A set holds RL_WAYS buckets; a new
 * key takes a free bucket or evicts the least recently used one.  An
 * evicted bucket that was idle long enough to be full again loses
 * nothing; evicting a busy one needs RL_WAYS busy keys in one set, which
 * the secret hash key keeps out of an attacker's hands.
 *
 * Tokens are counted in small units so refill is exact in integers: for
 * `rate` tokens per `period` seconds a token is 1000 * period units and a
 * bucket gains `rate` units per millisecond (thousandths of a token when
 * the period is one second).
 */
#include "http/ratelimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "core/crypto.h"
#include "http/limits.h"

#define RL_WAYS 8
#define RL_LOCKS 64

struct rl_bucket {
	uint64_t id[2];   /* key identity; {0,0} marks a free bucket */
	int64_t last_ms;  /* last refill */
	int64_t milli;    /* tokens * unit */
	uint64_t used;    /* set-local use order: the least recently used is evicted */
};

struct http_ratelimit {
	unsigned rate, burst;
	int64_t unit;     /* one token: 1000 * period (seconds) */
	size_t nsets;     /* a power of two */
	unsigned char hkey[32];
	struct rl_bucket *b;
	pthread_mutex_t locks[RL_LOCKS];
};

static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_limits limits_now;
static bool limits_set;

void
http_limits_default(struct http_limits *l)
{
	*l = (struct http_limits){
		.ip_rate = HTTP_RL_IP_RATE,
		.ip_burst = HTTP_RL_IP_BURST,
		.client_rate = HTTP_RL_CLIENT_RATE,
		.client_burst = HTTP_RL_CLIENT_BURST,
		.conn_per_ip = HTTP_PER_IP_CONNECTIONS,
		.conn_timeout = HTTP_CONN_TIMEOUT,
		.request_deadline = HTTP_REQUEST_DEADLINE,
	};
}

/* cfg bounds every value (core/cfg.c), so the casts below do not truncate. */
void
http_limits_from_cfg(const struct cfg *c, struct http_limits *l)
{
	http_limits_default(l);
	if (c == NULL)
		return;
	l->ip_rate = (unsigned)c->rate_ip;
	l->ip_burst = (unsigned)c->rate_ip_burst;
	l->client_rate = (unsigned)c->rate_client;
	l->client_burst = (unsigned)c->rate_client_burst;
	l->conn_per_ip = (unsigned)c->conn_per_ip;
	l->conn_timeout = (unsigned)c->conn_timeout;
	l->request_deadline = (unsigned)c->request_deadline;
	/* cfg_load checked the list already. */
	if (net_cidrs_parse(c->trusted_proxies, &l->trusted_proxies, NULL) != 0)
		l->trusted_proxies.n = 0;
}

void
http_limits_set(const struct http_limits *l)
{
	pthread_mutex_lock(&limits_lock);
	if (l != NULL) {
		limits_now = *l;
		limits_set = true;
	} else {
		limits_set = false;
	}
	pthread_mutex_unlock(&limits_lock);
}

void
http_limits_get(struct http_limits *l)
{
	pthread_mutex_lock(&limits_lock);
	if (limits_set)
		*l = limits_now;
	else
		http_limits_default(l);
	pthread_mutex_unlock(&limits_lock);
}

struct http_ratelimit *
http_ratelimit_new(unsigned rate, unsigned burst, size_t slots)
{
	return http_ratelimit_new_per(rate, 1, burst, slots);
}

struct http_ratelimit *
http_ratelimit_new_per(unsigned rate, unsigned period, unsigned burst, size_t slots)
{
	struct http_ratelimit *rl;
	size_t nsets = 1;

	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return NULL;
	while (nsets * RL_WAYS < slots && nsets < ((size_t)1 << 24))
		nsets <<= 1;
	rl->rate = rate;
	rl->burst = burst > 0 ? burst : 1;
	rl->unit = 1000 * (int64_t)(period > 0 ? period : 1);
	rl->nsets = nsets;
	rl->b = calloc(nsets * RL_WAYS, sizeof(*rl->b));
	if (rl->b == NULL || rand_bytes(rl->hkey, sizeof(rl->hkey)) != 0) {
		free(rl->b);
		free(rl);
		return NULL;
	}
	for (size_t i = 0; i < RL_LOCKS; i++)
		pthread_mutex_init(&rl->locks[i], NULL);
	return rl;
}

void
http_ratelimit_free(struct http_ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < RL_LOCKS; i++)
		pthread_mutex_destroy(&rl->locks[i]);
	secure_wipe(rl->hkey, sizeof(rl->hkey));
	free(rl->b);
	free(rl);
}

static uint64_t
rl_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Bring a bucket's tokens up to now. */
static void
rl_refill(const struct http_ratelimit *rl, struct rl_bucket *b, int64_t now_ms)
{
	int64_t cap = (int64_t)rl->burst * rl->unit;
	int64_t elapsed = now_ms - b->last_ms;

	if (elapsed <= 0)
		return;
	/* Past this much time the bucket is full anyway; keeps the product small. */
	if (elapsed > cap / rl->rate + 1)
		elapsed = cap / rl->rate + 1;
	b->milli += elapsed * (int64_t)rl->rate;
	if (b->milli > cap)
		b->milli = cap;
	b->last_ms = now_ms;
}

/*
 * The bucket of key, found or made (the caller holds the set's lock).
 * Its lock index goes to *lock.
 */
static struct rl_bucket *
rl_find(struct http_ratelimit *rl, struct str key, int64_t now_ms, size_t *lock)
{
	unsigned char h[32];
	uint64_t id0, id1;
	struct rl_bucket *set, *victim = NULL;
	uint64_t top = 0;
	size_t s;

	hmac_sha256(rl->hkey, sizeof(rl->hkey), key.p ? key.p : "", key.len, h);
	s = (size_t)(rl_u64(h) & (rl->nsets - 1));
	id0 = rl_u64(h + 8);
	id1 = rl_u64(h + 16) | 1; /* never {0,0}: that marks a free bucket */
	*lock = s % RL_LOCKS;
	pthread_mutex_lock(&rl->locks[*lock]);
	set = &rl->b[s * RL_WAYS];
	/*
	 * Recency is a counter, not the clock: keys touched within the same
	 * millisecond still have an order, so a key in use is never the victim.
	 */
	for (size_t i = 0; i < RL_WAYS; i++) {
		if (set[i].used > top)
			top = set[i].used;
	}
	for (size_t i = 0; i < RL_WAYS; i++) {
		if (set[i].id[0] == id0 && set[i].id[1] == id1) {
			set[i].used = top + 1;
			return &set[i];
		}
		if (set[i].id[1] == 0) {
			if (victim == NULL || victim->id[1] != 0)
				victim = &set[i];
		} else if (victim == NULL || (victim->id[1] != 0 && set[i].used < victim->used)) {
			victim = &set[i];
		}
	}
	victim->id[0] = id0;
	victim->id[1] = id1;
	victim->last_ms = now_ms;
	victim->milli = (int64_t)rl->burst * rl->unit;
	victim->used = top + 1;
	return victim;
}

static unsigned
rl_wait(const struct http_ratelimit *rl, const struct rl_bucket *b)
{
	int64_t ms = (rl->unit - b->milli + rl->rate - 1) / rl->rate;
	int64_t secs = (ms + 999) / 1000;

	return secs < 1 ? 1 : (unsigned)secs;
}

enum rl_op { RL_TAKE, RL_PEEK, RL_CHARGE };

static bool
rl_op(struct http_ratelimit *rl, struct str key, int64_t now_ms, enum rl_op op,
      unsigned *retry_after)
{
	struct rl_bucket *b;
	size_t lock;
	bool ok;

	if (retry_after != NULL)
		*retry_after = 0;
	if (rl == NULL || rl->rate == 0)
		return true;
	b = rl_find(rl, key, now_ms, &lock);
	rl_refill(rl, b, now_ms);
	ok = b->milli >= rl->unit;
	if (op == RL_TAKE && ok) {
		b->milli -= rl->unit;
	} else if (op == RL_CHARGE) {
		b->milli = b->milli >= rl->unit ? b->milli - rl->unit : 0;
		ok = true;
	}
	if (!ok && retry_after != NULL)
		*retry_after = rl_wait(rl, b);
	pthread_mutex_unlock(&rl->locks[lock]);
	return ok;
}

bool
http_ratelimit_take(struct http_ratelimit *rl, struct str key, int64_t now_ms,
		    unsigned *retry_after)
{
	return rl_op(rl, key, now_ms, RL_TAKE, retry_after);
}

bool
http_ratelimit_peek(struct http_ratelimit *rl, struct str key, int64_t now_ms,
		    unsigned *retry_after)
{
	return rl_op(rl, key, now_ms, RL_PEEK, retry_after);
}

void
http_ratelimit_charge(struct http_ratelimit *rl, struct str key, int64_t now_ms)
{
	(void)rl_op(rl, key, now_ms, RL_CHARGE, NULL);
}

size_t
http_ratelimit_used(struct http_ratelimit *rl)
{
	size_t n = 0;

	if (rl == NULL)
		return 0;
	for (size_t s = 0; s < rl->nsets; s++) {
		pthread_mutex_lock(&rl->locks[s % RL_LOCKS]);
		for (size_t i = 0; i < RL_WAYS; i++)
			n += rl->b[s * RL_WAYS + i].id[1] != 0;
		pthread_mutex_unlock(&rl->locks[s % RL_LOCKS]);
	}
	return n;
}

void
http_ratelimit_addr_key(const struct sockaddr *sa, char out[HTTP_RL_ADDR_KEY])
{
	out[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)sa;

		if (inet_ntop(AF_INET, &a4->sin_addr, out, HTTP_RL_ADDR_KEY) == NULL)
			out[0] = '\0';
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)sa;
		struct in6_addr prefix = a6->sin6_addr;
		char text[INET6_ADDRSTRLEN];

		if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
			if (inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], out, HTTP_RL_ADDR_KEY) ==
			    NULL)
				out[0] = '\0';
			return;
		}
		/* RFC 6177: a host usually has a whole /64; count the prefix. */
		memset(&prefix.s6_addr[8], 0, 8);
		if (inet_ntop(AF_INET6, &prefix, text, sizeof(text)) != NULL)
			snprintf(out, HTTP_RL_ADDR_KEY, "%s/64", text);
	}
}

bool
http_ratelimit_backchannel(const char *method, struct str path)
{
	static const char *const ends[] = { "/token", "/par", "/revoke", "/token/introspect",
					    "/tokeninfo" };

	if (method == NULL || strcmp(method, "POST") != 0 || path.p == NULL)
		return false;
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		size_t n = strlen(ends[i]);

		if (path.len >= n && memcmp(path.p + path.len - n, ends[i], n) == 0)
			return true;
	}
	return false;
}
