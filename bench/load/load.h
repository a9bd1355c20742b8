/*
 * porten-load: a load driver for OpenID Connect providers.
 *
 * Many virtual clients, each with its own cookie jar, run whole flows
 * (a login by the authorization code flow with PKCE, a refresh, an
 * introspection, a client_credentials grant) against one provider over
 * loopback, on one thread with the libcurl multi interface.  Every
 * response is checked; only checked operations count.
 *
 * Closed loop (default): each virtual client starts its next operation when
 * its last one ends.  Open loop (--rate R): operations are due on a fixed
 * schedule, R per second; a free virtual client takes each one, and an
 * operation that finds none free waits in a backlog.  Latency counts from
 * the schedule, so a server that falls behind shows it (no coordinated
 * omission).
 */
#ifndef BENCH_LOAD_H
#define BENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <jansson.h>

#define LOAD_MAX_VC        4096
#define LOAD_BODY_MAX      (256 * 1024)
#define LOAD_MAX_HOPS      10
#define LOAD_MAX_TOKENS    16

enum load_target {
	TARGET_PORTEN,          /* selector page, TestID form */
	TARGET_OIDC_PROVIDER,   /* bench/peers/oidc-provider/server.mjs interaction form */
	TARGET_GLEWLWYD,        /* login.html redirect, JSON login API, g_continue */
};

enum load_flow {
	FLOW_LOGIN,             /* authorize ... code, token, userinfo */
	FLOW_REFRESH,           /* refresh_token grant, rotating */
	FLOW_INTROSPECT,        /* RFC 7662 on a token from a login */
	FLOW_CC,                /* client_credentials grant */
	FLOW_MP,                /* Maskinporten: JWT-bearer grant (RFC 7523), signed per token */
};

struct load_opts {
	enum load_target target;
	enum load_flow flow;
	const char *target_name;
	const char *flow_name;
	const char *issuer;
	const char *client_id;
	const char *client_secret;
	const char *redirect_uri;
	const char *scope;          /* login scope */
	const char *cc_scope;       /* client_credentials / Maskinporten scope */
	const char *mp_key;         /* mp: PEM key that signs the grants; cc: private_key_jwt */
	const char *mp_kid;         /* mp: its kid, registered on the client */
	const char *user;           /* TestID pid, oidc-provider login, Glewlwyd username */
	const char *password;       /* Glewlwyd password */
	const char *acr;            /* TestID level */
	const char *introspect;     /* "access" or "refresh" */
	const char *clients_file;   /* JSON [{client_id, client_secret}, ...] spread over the clients */
	int source_ips;             /* bind client i to 127.0.0.(2 + i % n); 0: do not bind */
	bool userinfo;
	bool json;
	bool force;
	bool rotate;                /* each login: next client and source address in turn */
	int tokens;                 /* introspect: logins (tokens) held per virtual client */
	int verbose;
	int concurrency;
	double duration;
	double warmup;
	double rate;                /* > 0: open loop, operations started per second */
	double late_ms;             /* open loop: a start this far behind schedule is late */
	long max_ops;
	long timeout_ms;
	pid_t server_pid;
};

/* Endpoints from discovery. */
struct load_meta {
	char *issuer;
	char *authorization_endpoint;
	char *token_endpoint;
	char *userinfo_endpoint;
	char *introspection_endpoint;
	bool has_cc;
	bool has_refresh;
	bool has_mp;                /* urn:ietf:params:oauth:grant-type:jwt-bearer */
};

/* A growable, capped byte buffer. */
struct lbuf {
	char *p;
	size_t len;
	size_t cap;
	bool overflow;
};

/* A growable array of latencies in microseconds. */
struct lsamples {
	uint32_t *v;
	size_t n;
	size_t cap;
};

enum vc_step {
	ST_NONE,
	ST_FRONT,       /* a front-channel request of the login */
	ST_GLW_AUTH,    /* Glewlwyd: POST /api/auth/ */
	ST_TOKEN,       /* code exchange */
	ST_USERINFO,
	ST_REFRESH,
	ST_INTROSPECT,
	ST_CC,
	ST_MP,
};

struct load;

/* One virtual client: a curl handle (own cookies, kept-alive connection) and its flow state. */
struct vc {
	struct load *L;
	int id;
	CURL *h;
	struct curl_slist *hdrs;
	struct lbuf body;
	char *post;                 /* request body, owned until the transfer ends */
	enum vc_step step;
	bool ready;                 /* has the tokens the measured operation needs */
	bool in_op;                 /* the current request belongs to a measured operation */
	double wake_at;             /* > 0: resting after an error until then */
	bool idle;                  /* open loop: free, waiting in the queue for a due operation */
	const char *client_id;
	const char *basic;          /* "Authorization: Basic ..." of client_id */
	int hops;
	int fidx;                   /* front-channel requests so far in this login */
	double op_start;
	double req_start;
	int jwts;                   /* JWTs received in the current operation */
	char verifier[64];
	char state[32];
	char nonce[32];
	char *code;
	char *access_token;
	char *refresh_token;
	char *sub;
	char *resume_url;           /* Glewlwyd: the authorize URL to continue with */
	/* introspect: tokens from several logins, each with the client it was issued to */
	int ntok;
	int next_tok;
	char *tok[LOAD_MAX_TOKENS];
	const char *tok_basic[LOAD_MAX_TOKENS];
	const char *tok_cid[LOAD_MAX_TOKENS];
};

/* Per-step latency: the first six front-channel requests of a login, then each back-channel kind. */
enum { SK_FRONT0, SK_FRONT5 = SK_FRONT0 + 5, SK_GLW_AUTH, SK_TOKEN, SK_USERINFO, SK_REFRESH,
       SK_INTROSPECT, SK_CC, SK_MP, SK_N };

struct load_stats {
	long ops;                   /* checked operations completed in the window */
	long errors;
	long requests;
	long setup_logins;          /* logins that only fetched tokens for another flow */
	long jwts;
	struct lsamples op_lat;
	struct lsamples req_lat;
	long err_kind[8];
	struct lsamples step_lat[SK_N];
	/* open loop */
	long started;               /* scheduled operations taken by a client in the window */
	long late;                  /* of those, taken more than late_ms after their time */
	struct lsamples lag;        /* how far behind schedule each was taken */
};

/* Where the server's threads were, summed over samples (thread-samples). */
enum { TS_RUN, TS_EPOLL, TS_SLEEP, TS_FUTEX, TS_IO, TS_OTHER, TS_N };

struct load {
	struct load_opts o;
	struct load_meta m;
	CURLM *multi;
	struct vc *vcs;
	char **cred_ids;            /* the clients the virtual clients use */
	char **cred_basic;
	size_t ncred;
	int resting;                /* virtual clients with wake_at > 0 */
	unsigned long rot;          /* --rotate: logins started so far */
	double next_sample;
	double sample_cost;         /* seconds the last thread-state sample took */
	long samples;               /* thread-state sampling rounds */
	long tstate[TS_N];
	double t0;                  /* start */
	double t_warm;              /* window start */
	double t_end;               /* planned window end */
	double t_stop;              /* actual window end */
	bool measuring;
	bool stopping;
	/* open loop: operation k is due at sched_t0 + k / rate */
	double sched_t0;
	uint64_t sched_next;        /* the next operation not yet taken */
	int *idle_q;                /* free virtual clients, first in first out */
	int idle_head;
	int nidle;
	struct load_stats s;
	int err_printed;
	void *mp_pkey;              /* mp: EVP_PKEY of --mp-key */
};

/* load.c */
double load_now(void);
void load_error(struct vc *v, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void load_idle(struct vc *v);
int lsamples_add(struct lsamples *s, double seconds);

/* flow.c */
int flow_vc_init(struct load *L, struct vc *v);
void flow_vc_free(struct vc *v);
void flow_start(struct vc *v);
void flow_start_op(struct vc *v, double due);
void flow_done(struct vc *v, CURLcode cc);

/* mp.c */
int mp_init(struct load *L);
char *mp_grant(struct load *L, const char *client_id);
char *mp_client_assertion(struct load *L, const char *client_id);
void mp_free(struct load *L);

/* util.c */
int b64url_encode(const unsigned char *in, size_t inlen, char *out, size_t outsz);
int lbuf_append(struct lbuf *b, const void *p, size_t n);
void lbuf_reset(struct lbuf *b);
int rand_b64url(char *out, size_t outsz, size_t nbytes);
int pkce_challenge(const char *verifier, char *out, size_t outsz);
char *b64url_decode(const char *in, size_t inlen, size_t *outlen);
char *b64_encode(const void *in, size_t inlen);
json_t *jwt_payload(const char *jwt);
char *html_attr_after(const char *body, const char *end, const char *from, const char *attr);
char *html_hidden(const char *form, const char *form_end, const char *name);
char *html_unescape(const char *s);
char *url_query_param(const char *url, const char *name);
char *url_resolve(const char *base, const char *rel);
char *form_escape(const char *s);
bool str_prefix(const char *s, const char *prefix);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double sched_due(double t0, double rate, uint64_t k);
uint64_t sched_count(double t0, double rate, double t);
int sched_wait_ms(double now, double due, int cap_ms);

#endif
