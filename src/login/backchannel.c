/*
 * Back-channel logout (spec/idporten-oidc.md §20; OpenID Connect
 * Back-Channel Logout 1.0): when a session ends, by /logout or by timing
 * out, one outbox row per client of the session that registered a
 * backchannel_logout_uri, written in the transaction that ends it; a
 * worker thread on every node leases due rows, mints a logout token for
 * each attempt and POSTs it, and retries with backoff until the client
 * takes it or the row is a day old.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/client.h"
#include "jose/jose.h"
#include "login/login_int.h"
#include "oauth/oauth.h"
#include "registry/registry.h"

#define BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"
#define BCL_TOKEN_LIFETIME 300   /* exp = iat + 300, as ID-porten's example */
#define BCL_KEEP_TRYING 86400    /* retries stop a day after the session ended */
#define BCL_RETRY_CAP 900        /* longest wait between attempts */
#define BCL_CONNECT_TIMEOUT 2
#define BCL_TIMEOUT 7            /* 2 s to connect and 5 s for the answer */
#define BCL_EXPIRY_EVERY 10      /* seconds between looks for timed-out sessions */
#define BCL_EXPIRY_BATCH 100     /* sessions ended per transaction */

/* ---- queueing ---- */

/* The issuer that logs in for client c (its integration type picks it). */
static const struct issuer *
bcl_issuer_of(struct porten *app, const struct client *c)
{
	for (int i = 0; i < app->nissuers; i++)
		if (app->issuers[i].kind != ISSUER_MASKINPORTEN &&
		    reg_client_fits(c, &app->issuers[i]))
			return &app->issuers[i];
	return NULL;
}

/* One row for client id of session s, when it registered a URI. */
static int
bcl_queue_one(struct porten *app, struct arena *a, const struct session *s, const char *id,
	      int64_t now, struct err *e)
{
	const struct client *c = NULL;
	const struct issuer *is;
	const char *sub;
	char rid[TOKEN_CHARS + 1];
	json_t *doc = NULL;
	int rc = 0;

	if (reg_client_find(app, id, &c, e) != 0 || c->backchannel_logout_uri == NULL)
		goto out;
	is = bcl_issuer_of(app, c);
	/* spec §10: the ID tokens' sub; a session without a person key has none to name. */
	sub = oauth_pairwise_sub_in(app, a, c->client_id, session_person(s));
	if (is == NULL || sub == NULL || s->sid == NULL) {
		log_warn(NULL, "back-channel logout: nothing to tell %s (no issuer, sub or sid)", id);
		goto out;
	}
	doc = json_pack("{s:s, s:s, s:s, s:s}", "iss", is->iss, "client_id", c->client_id, "sid",
			s->sid, "sub", sub);
	if (doc == NULL || rand_token_buf(rid) != 0) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "back-channel logout: out of memory");
		goto out;
	}
	rc = store_call(app->store, login, outbox_add, rid, doc, now, now + BCL_KEEP_TRYING, e);
out:
	json_decref(doc);
	reg_client_release(c);
	return rc;
}

int
login_bcl_queue(struct porten *app, struct arena *a, const struct session *s, struct err *e)
{
	int64_t now = time_now();
	int rc;

	for (size_t i = 0; s->clients != NULL && i < s->nclients; i++)
		if ((rc = bcl_queue_one(app, a, s, s->clients[i], now, e)) != 0)
			return rc;
	return 0;
}

/* ---- the worker ---- */

static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running, kicked;
	atomic_bool stop;
	struct porten *app;
} bcl = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

void
login_bcl_kick(void)
{
	pthread_mutex_lock(&bcl.lock);
	bcl.kicked = true;
	pthread_cond_signal(&bcl.wake);
	pthread_mutex_unlock(&bcl.lock);
}

/* A row as claimed: the sender's doc plus the store's id, attempts and expires_at. */
struct bcl_row {
	const char *id, *iss, *client_id, *sid, *sub;
	int64_t attempts, expires_at;
};

static int
bcl_row_read(const json_t *doc, struct bcl_row *r)
{
	memset(r, 0, sizeof(*r));
	if (json_unpack((json_t *)doc, "{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", &r->id, "iss",
			&r->iss, "client_id", &r->client_id, "sid", &r->sid, "sub", &r->sub,
			"attempts", &r->attempts, "expires_at", &r->expires_at) != 0)
		return ERR_INVAL;
	return 0;
}

/* A fresh logout token for row r (new jti, iat and exp on every attempt). */
static int
bcl_mint(struct porten *app, const struct issuer *is, const struct bcl_row *r, char **jws,
	 struct err *e)
{
	const struct jose_signer *signer = NULL;
	char jti[TOKEN_CHARS + 1];
	int64_t now = time_now();
	json_t *claims;
	int rc;

	if (rand_token_buf(jti) != 0)
		return ERR(e, ERR_CRYPTO, 0, NULL, "no randomness for a jti");
	rc = reg_keys_signing(app, is, &signer, e);
	if (rc != 0)
		return rc;
	claims = json_pack("{s:s, s:s, s:I, s:I, s:s, s:{s:{}}, s:s, s:s}", "iss", is->iss, "aud",
			   r->client_id, "iat", (json_int_t)now, "exp",
			   (json_int_t)now + BCL_TOKEN_LIFETIME, "jti", jti, "events", BCL_EVENT,
			   "sid", r->sid, "sub", r->sub);
	if (claims == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	rc = jose_jwt_sign(signer, claims, "logout+jwt", jws, e);
	json_decref(claims);
	return rc;
}

enum bcl_outcome { BCL_DONE, BCL_RETRY, BCL_GIVE_UP };

/* POST the token; what the answer means for the row (spec §20's table). */
static enum bcl_outcome
bcl_post(struct porten *app, const char *uri, const char *jws, long *retry_after,
	 struct err *e)
{
	struct http_client_resp resp = { 0 };
	struct buf body;
	enum bcl_outcome out;
	int rc;

	buf_init(&body, 16384);
	buf_puts(&body, "logout_token=");
	buf_urlenc(&body, str_c(jws));
	rc = http_client_do(&(struct http_client_req){ .method = "POST",
						       .url = uri,
						       .content_type =
							       "application/x-www-form-urlencoded",
						       .body = { body.p, body.len },
						       .timeout = BCL_TIMEOUT,
						       .connect_timeout = BCL_CONNECT_TIMEOUT,
						       .max_body = 4096,
						       .ca_file = app->cfg->backchannel_ca_file,
						       .public_only =
							       !app->cfg->backchannel_allow_private },
			    &resp, e);
	buf_free(&body);
	*retry_after = 0;
	if (rc == 0 && resp.status >= 200 && resp.status < 300)
		out = BCL_DONE;
	else if (rc != ERR_DENIED && rc != ERR_INVAL &&
		 (rc != 0 || resp.status == 408 || resp.status == 429 || resp.status >= 500 ||
		  resp.status < 200))
		out = BCL_RETRY; /* unreachable, or an answer that says later */
	else
		out = BCL_GIVE_UP; /* refused to send (the address), or an answer that says no */
	if (rc == 0 && out != BCL_DONE)
		(void)ERR(e, ERR_UNAVAILABLE, 0, NULL, "HTTP %ld", resp.status);
	if (rc == 0 && resp.status == 429)
		*retry_after = resp.retry_after;
	http_client_resp_free(&resp);
	return out;
}

/*
 * Seconds until attempt n+1: base, x3 each time, capped, with full jitter
 * (a random share of it, so many rows failing together spread out); a
 * 429's Retry-After is honoured up to the cap.
 */
static int64_t
bcl_backoff(int64_t base, int64_t attempts, long retry_after)
{
	int64_t d = base;
	uint32_t r = 0;

	for (int64_t i = 1; i < attempts && d < BCL_RETRY_CAP; i++)
		d *= 3;
	if (d > BCL_RETRY_CAP)
		d = BCL_RETRY_CAP;
	if (retry_after > 0)
		return retry_after < BCL_RETRY_CAP ? retry_after : BCL_RETRY_CAP;
	rand_bytes(&r, sizeof(r));
	return (int64_t)((double)d * ((double)r / 4294967296.0)) + 1;
}

static const struct issuer *
bcl_issuer_named(struct porten *app, const char *iss)
{
	for (int i = 0; i < app->nissuers; i++)
		if (strcmp(app->issuers[i].iss, iss) == 0)
			return &app->issuers[i];
	return NULL;
}

/* Try row r once, leased by owner; record the outcome. */
static void
bcl_attempt(struct porten *app, const struct bcl_row *r, const char *owner)
{
	const struct issuer *is = bcl_issuer_named(app, r->iss);
	const struct client *c = NULL;
	enum bcl_outcome out = BCL_GIVE_UP;
	struct err e = { 0 };
	char *jws = NULL;
	long retry_after = 0;
	int64_t now = time_now();
	int rc = is == NULL || now >= r->expires_at ? ERR_NOTFOUND
						    : reg_client_find(app, r->client_id, &c, &e);

	if (now >= r->expires_at) {
		(void)ERR(&e, ERR_NOTFOUND, 0, NULL, "no answer for a day");
	} else if (rc == ERR_NOTFOUND || (rc == 0 && c->backchannel_logout_uri == NULL)) {
		(void)ERR(&e, ERR_NOTFOUND, 0, NULL,
			  "the client or its back-channel logout URI is gone");
	} else if (rc != 0 || bcl_mint(app, is, r, &jws, &e) != 0) {
		/* the store is away (the client may well be there) or no key to sign with */
		out = BCL_RETRY;
	} else {
		out = bcl_post(app, c->backchannel_logout_uri, jws, &retry_after, &e);
	}
	if (out == BCL_DONE) {
		rc = store_call(app->store, login, outbox_finish, r->id, owner, 0, &e);
		log_info(NULL, "back-channel logout: %s told (attempt %lld)", r->client_id,
			 (long long)r->attempts);
	} else if (out == BCL_RETRY) {
		rc = store_call(app->store, login, outbox_retry, r->id, owner,
				time_now() + bcl_backoff(app->cfg->backchannel_retry_base,
							 r->attempts, retry_after),
				&e);
		log_info(NULL, "back-channel logout: %s not told (attempt %lld): %s; trying again",
			 r->client_id, (long long)r->attempts, e.msg);
	} else {
		log_warn(NULL, "back-channel logout: %s not told (attempt %lld): %s; giving up",
			 r->client_id, (long long)r->attempts, e.msg);
		rc = store_call(app->store, login, outbox_finish, r->id, owner, time_now(), &e);
	}
	if (rc != 0)
		log_warn(NULL, "back-channel logout: row %s: %s", r->id, e.msg);
	free(jws);
	reg_client_release(c);
}

/* Lease and try one due row: 0 when one was tried, ERR_NOTFOUND when none is due. */
static int
bcl_deliver_one(struct porten *app)
{
	char owner[TOKEN_CHARS + 1];
	struct bcl_row r;
	struct err e = { 0 };
	json_t *doc = NULL;
	int64_t now = time_now();
	int rc;

	if (rand_token_buf(owner) != 0)
		return ERR_CRYPTO;
	rc = store_call(app->store, login, outbox_claim, now, now + app->cfg->backchannel_lease,
			owner, &doc, &e);
	if (rc != 0) {
		if (rc != ERR_NOTFOUND)
			log_warn(NULL, "back-channel logout: %s", e.msg);
		return rc;
	}
	if (bcl_row_read(doc, &r) == 0) {
		bcl_attempt(app, &r, owner);
	} else {
		const char *id = json_string_value(json_object_get(doc, "id"));

		log_warn(NULL, "back-channel logout: row %s is malformed; giving up", id);
		if (id != NULL)
			store_call(app->store, login, outbox_finish, id, owner, now, &e);
	}
	json_decref(doc);
	return 0;
}

struct bcl_expiry {
	struct porten *app;
	int64_t now;
	size_t n;
};

/* One transaction: end a batch of timed-out sessions and queue their logout tokens. */
static int
bcl_expire_body(void *arg, struct err *e)
{
	struct bcl_expiry *x = arg;
	struct arena *a = arena_new();
	json_t *docs = NULL, *v;
	size_t i;
	int rc;

	x->n = 0;
	if (a == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	rc = store_call(x->app->store, login, session_take_expired, x->now, BCL_EXPIRY_BATCH,
			&docs, e);
	json_array_foreach(docs, i, v) {
		struct session s;

		if (rc != 0)
			break;
		/* A document of the wrong shape is no session to announce. */
		if (session_decode(v, a, &s, NULL) == 0)
			rc = login_bcl_queue(x->app, a, &s, e);
		x->n++;
	}
	json_decref(docs);
	arena_free(a);
	return rc;
}

/* spec §20 (design): timed-out sessions end here, on any node, and are announced. */
static void
bcl_expire(struct porten *app)
{
	struct bcl_expiry x = { app, time_now(), 0 };
	struct err e = { 0 };

	do {
		if (store_tx_run(app->store, bcl_expire_body, &x, &e) != 0) {
			log_warn(NULL, "back-channel logout: ending timed-out sessions: %s", e.msg);
			return;
		}
		if (x.n > 0)
			log_info(NULL, "ended %zu timed-out sessions", x.n);
	} while (x.n == BCL_EXPIRY_BATCH);
}

static bool
bcl_wait(int64_t ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&bcl.lock);
	while (!bcl.stop && !bcl.kicked)
		if (pthread_cond_timedwait(&bcl.wake, &bcl.lock, &ts) != 0)
			break;
	bcl.kicked = false;
	stop = bcl.stop;
	pthread_mutex_unlock(&bcl.lock);
	return !stop;
}

static void *
bcl_main(void *arg)
{
	struct porten *app = arg;
	int64_t next_expiry = 0;

	do {
		if (time_now() >= next_expiry) {
			bcl_expire(app);
			next_expiry = time_now() + BCL_EXPIRY_EVERY;
		}
		while (!bcl.stop && bcl_deliver_one(app) == 0)
			;
	} while (bcl_wait(1000));
	return NULL;
}

int
login_bcl_start(struct porten *app, struct err *e)
{
	bcl.app = app;
	bcl.stop = false;
	if (pthread_create(&bcl.thread, NULL, bcl_main, app) != 0)
		return ERR(e, ERR_INTERNAL, 0, NULL, "cannot start the back-channel logout worker");
	bcl.running = true;
	return 0;
}

void
login_bcl_stop(struct porten *app)
{
	(void)app;
	if (!bcl.running)
		return;
	pthread_mutex_lock(&bcl.lock);
	bcl.stop = true;
	pthread_cond_signal(&bcl.wake);
	pthread_mutex_unlock(&bcl.lock);
	pthread_join(bcl.thread, NULL);
	bcl.running = false;
}
