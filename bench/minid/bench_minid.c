/*
 * MinID logins per second next to Argon2id hashes per second with the same
 * parameters, on the same machine.  The hash is the floor of a MinID login
 * (one verification per password step); the rest of the login (store,
 * pages, the second factor, the authorization code) should cost little
 * beside it.
 *
 *   bench_minid --issuer URL --client-id ID --redirect-uri URI
 *               --pids P1,P2,... --password PW [--threads N] [--seconds S]
 *               [--ops N --mem-kib N]
 *
 * A login, each with a fresh cookie jar: GET /authorize -> /login?ar=;
 * GET /minid?ar= (the form's csrf); POST number + password -> /minid/code;
 * GET the code page (csrf); POST the static TEST code 12345 -> 302 to the
 * client with code, state and iss.  Thread i logs in as pids[i % n], so
 * no two threads share a person's failure counters.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct opts {
	const char *issuer, *client_id, *redirect_uri, *password;
	char **pids;
	int npids, threads, seconds;
	unsigned long long ops;
	size_t mem_kib;
};

struct resp {
	char *body;
	size_t len;
	char location[2048];
	long status;
};

static struct opts o = { .threads = 4, .seconds = 10, .ops = 2, .mem_kib = 19456 };
static atomic_long done, failed;
static atomic_int stop;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t k = size * n;
	char *nb = realloc(r->body, r->len + k + 1);

	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, k);
	r->body = nb;
	r->len += k;
	r->body[r->len] = '\0';
	return k;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t k = size * n;

	if (k > 10 && strncasecmp(p, "Location: ", 10) == 0) {
		size_t m = k - 10;

		while (m > 0 && (p[10 + m - 1] == '\r' || p[10 + m - 1] == '\n'))
			m--;
		if (m >= sizeof(r->location))
			m = sizeof(r->location) - 1;
		memcpy(r->location, p + 10, m);
		r->location[m] = '\0';
	}
	return k;
}

/* One request; url relative to the issuer when it starts with '/'. */
static int
req(CURL *c, const char *url, const char *post, struct resp *r)
{
	char full[4096];

	free(r->body);
	memset(r, 0, sizeof(*r));
	snprintf(full, sizeof(full), "%s%s", url[0] == '/' ? o.issuer : "", url);
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (post != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}

/* value="..." of the hidden input name in html (static buffer per thread). */
static int
hidden(const char *html, const char *name, char *out, size_t cap)
{
	char pat[64];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "name=\"%s\" value=\"", name);
	p = html ? strstr(html, pat) : NULL;
	if (p == NULL)
		return -1;
	p += strlen(pat);
	q = strchr(p, '"');
	if (q == NULL || (size_t)(q - p) >= cap)
		return -1;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return 0;
}

static int
one_login(CURL *c, const char *pid)
{
	struct resp r = { 0 };
	char url[4096], ar[64], csrf[64], flow[64], post[512], *e_pw = NULL;
	const char *p;
	int rc = -1;

	curl_easy_setopt(c, CURLOPT_COOKIELIST, "ALL");   /* a new browser */
	snprintf(url, sizeof(url),
		 "/authorize?client_id=%s&redirect_uri=%s&response_type=code&scope=openid"
		 "&state=benchstate&nonce=benchnonce&code_challenge="
		 "b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI&code_challenge_method=S256",
		 o.client_id, o.redirect_uri);
	if (req(c, url, NULL, &r) != 0 || r.status != 302 || (p = strstr(r.location, "ar=")) == NULL)
		goto out;
	snprintf(ar, sizeof(ar), "%.43s", p + 3);
	snprintf(url, sizeof(url), "/minid?ar=%s", ar);
	if (req(c, url, NULL, &r) != 0 || r.status != 200 || hidden(r.body, "csrf", csrf, sizeof(csrf)))
		goto out;
	e_pw = curl_easy_escape(c, o.password, 0);
	snprintf(post, sizeof(post), "ar=%s&csrf=%s&pid=%s&password=%s", ar, csrf, pid, e_pw);
	if (req(c, "/minid", post, &r) != 0 || r.status != 302 ||
	    (p = strstr(r.location, "flow=")) == NULL)
		goto out;
	snprintf(flow, sizeof(flow), "%.43s", p + 5);
	snprintf(url, sizeof(url), "/minid/code?flow=%s", flow);
	if (req(c, url, NULL, &r) != 0 || r.status != 200 || hidden(r.body, "csrf", csrf, sizeof(csrf)))
		goto out;
	snprintf(post, sizeof(post), "flow=%s&csrf=%s&code=12345", flow, csrf);
	if (req(c, "/minid/code", post, &r) != 0 || r.status != 302 ||
	    strncmp(r.location, o.redirect_uri, strlen(o.redirect_uri)) != 0 ||
	    strstr(r.location, "code=") == NULL || strstr(r.location, "iss=") == NULL)
		goto out;
	rc = 0;
out:
	if (rc != 0 && atomic_load(&failed) < 3)
		fprintf(stderr, "login failed: status %ld location %s body %.200s\n", r.status,
			r.location, r.body ? r.body : "");
	curl_free(e_pw);
	free(r.body);
	return rc;
}

static void *
login_worker(void *arg)
{
	const char *pid = o.pids[(long)arg % o.npids];
	CURL *c = curl_easy_init();

	curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	while (!atomic_load(&stop)) {
		if (one_login(c, pid) == 0)
			atomic_fetch_add(&done, 1);
		else
			atomic_fetch_add(&failed, 1);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void *
hash_worker(void *arg)
{
	char hash[crypto_pwhash_STRBYTES];

	if (crypto_pwhash_str(hash, o.password, strlen(o.password), o.ops, o.mem_kib * 1024) != 0)
		return NULL;
	while (!atomic_load(&stop)) {
		/* A verification costs one hash with the stored parameters. */
		if (crypto_pwhash_str_verify(hash, o.password, strlen(o.password)) == 0)
			atomic_fetch_add(&done, 1);
		else
			atomic_fetch_add(&failed, 1);
	}
	return NULL;
}

static double
run(void *(*fn)(void *), long *fails)
{
	pthread_t th[256];
	double t0, t1;

	atomic_store(&done, 0);
	atomic_store(&failed, 0);
	atomic_store(&stop, 0);
	t0 = now_s();
	for (long i = 0; i < o.threads; i++)
		pthread_create(&th[i], NULL, fn, (void *)i);
	while (now_s() - t0 < o.seconds) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	for (long i = 0; i < o.threads; i++)
		pthread_join(th[i], NULL);
	t1 = now_s();
	*fails = atomic_load(&failed);
	return (double)atomic_load(&done) / (t1 - t0);
}

static char **
split(const char *s, int *n)
{
	char *copy = strdup(s), *save = NULL, **out = calloc(256, sizeof(*out));

	*n = 0;
	for (char *t = strtok_r(copy, ",", &save); t != NULL && *n < 256;
	     t = strtok_r(NULL, ",", &save))
		out[(*n)++] = t;
	return out;
}

int
main(int argc, char **argv)
{
	double hashes, logins;
	long hf, lf;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "--issuer") == 0) o.issuer = v;
		else if (strcmp(k, "--client-id") == 0) o.client_id = v;
		else if (strcmp(k, "--redirect-uri") == 0) o.redirect_uri = v;
		else if (strcmp(k, "--password") == 0) o.password = v;
		else if (strcmp(k, "--pids") == 0) o.pids = split(v, &o.npids);
		else if (strcmp(k, "--threads") == 0) o.threads = (int)strtol(v, NULL, 10);
		else if (strcmp(k, "--seconds") == 0) o.seconds = (int)strtol(v, NULL, 10);
		else if (strcmp(k, "--ops") == 0) o.ops = strtoull(v, NULL, 10);
		else if (strcmp(k, "--mem-kib") == 0) o.mem_kib = strtoul(v, NULL, 10);
	}
	if (o.issuer == NULL || o.client_id == NULL || o.redirect_uri == NULL || o.pids == NULL ||
	    o.password == NULL || o.threads < 1 || o.threads > 256 || sodium_init() < 0) {
		fprintf(stderr, "usage: bench_minid --issuer URL --client-id ID --redirect-uri URI "
				"--pids P1,P2 --password PW [--threads N] [--seconds S] "
				"[--ops N --mem-kib N]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	hashes = run(hash_worker, &hf);
	logins = run(login_worker, &lf);
	printf("argon2id m=%zu KiB t=%llu p=1, %d threads: %.1f hashes/s\n", o.mem_kib, o.ops,
	       o.threads, hashes);
	printf("MinID logins (authorize to code at the client), %d threads: %.1f logins/s "
	       "(%ld failed)\n",
	       o.threads, logins, lf);
	printf("logins/hashes: %.2f\n", hashes > 0 ? logins / hashes : 0);
	curl_global_cleanup();
	return lf > 0 && logins == 0 ? 1 : 0;
}
