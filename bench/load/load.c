/*
 * porten-load: options, discovery, the event loop, and the report.
 *
 *   porten-load --target porten --flow login --issuer http://127.0.0.1:29180 \
 *       --client-id bench --client-secret S --redirect-uri http://127.0.0.1:9/cb \
 *       --concurrency 8 --duration 10 --server-pid 1234 --json
 *
 * By default the driver is closed-loop: each virtual client starts its next
 * operation when the last one ends, so offered load follows the server.
 * With --rate R it is open-loop: R operations per second are due on a fixed
 * schedule from the start of the warm-up, each taken by a free virtual client
 * (--concurrency of them: the cap on operations in flight); an operation
 * that finds none free waits, and its latency counts from when it was due.
 * Throughput is checked operations per second in the window
 * [warmup, warmup + duration].
 * Exit status: 0 run done (errors are in the report), 1 usage, 2 setup
 * failure, 3 flow not offered by this server.
 */
#include "load.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/resource.h>

static const char *err_kind_names[] = { "transport", "status", "check" };

double
load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
lsamples_add(struct lsamples *s, double seconds)
{
	double us = seconds * 1e6;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		uint32_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = us < 0 ? 0 : us > 4e9 ? UINT32_MAX : (uint32_t)us;
	return 0;
}

void
load_error(struct vc *v, int kind, const char *fmt, ...)
{
	struct load *L = v->L;
	double now = load_now();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (L->measuring && !L->stopping && now >= L->t_warm && now <= L->t_end) {
		L->s.errors++;
		if (kind >= 0 && kind < 3)
			L->s.err_kind[kind]++;
	}
	/* The first few errors of a run, with what the server said, explain the rest. */
	if (L->err_printed < 5 || L->o.verbose > 0) {
		long status = 0;
		int n = v->body.len > 300 ? 300 : (int)v->body.len;

		L->err_printed++;
		curl_easy_getinfo(v->h, CURLINFO_RESPONSE_CODE, &status);
		fprintf(stderr, "porten-load: vc %d: %s [%s] (HTTP %ld) %.*s\n", v->id, msg,
			kind >= 0 && kind < 3 ? err_kind_names[kind] : "?", status, n,
			v->body.p ? v->body.p : "");
	}
}

/* Open loop: a client is free; it takes the next due operation in turn. */
void
load_idle(struct vc *v)
{
	struct load *L = v->L;

	if (v->idle || L->nidle >= L->o.concurrency)
		return;
	v->idle = true;
	L->idle_q[(L->idle_head + L->nidle) % L->o.concurrency] = v->id;
	L->nidle++;
}

static bool
in_window(const struct load *L, double now)
{
	return L->measuring && !L->stopping && now >= L->t_warm && now <= L->t_end;
}

/*
 * Open loop: hands every operation that is due to a free client, oldest
 * first.  Those due while no client is free stay due (the backlog) and are
 * taken, late, as clients come free; how late is recorded.
 */
static void
dispatch(struct load *L, double now)
{
	while (L->nidle > 0 && !L->stopping) {
		double due = sched_due(L->sched_t0, L->o.rate, L->sched_next);
		struct vc *v;

		if (sched_wait_ms(now, due, 1) != 0)
			break;
		v = &L->vcs[L->idle_q[L->idle_head]];
		L->idle_head = (L->idle_head + 1) % L->o.concurrency;
		L->nidle--;
		v->idle = false;
		L->sched_next++;
		if (in_window(L, now)) {
			L->s.started++;
			if ((now - due) * 1000 > L->o.late_ms)
				L->s.late++;
			lsamples_add(&L->s.lag, now - due);
		}
		flow_start_op(v, due);
		now = load_now();
	}
}

/*
 * Open loop: a thread-state sample reads two /proc files per server thread,
 * which takes milliseconds for a server with a thread per connection; taken
 * just before an operation is due, it would make that operation late for the
 * driver's sake.  So it waits (it is an average; a late sample changes
 * nothing) for a gap in the schedule, but never more than 50 ms.
 */
static bool
sample_fits(const struct load *L, double now)
{
	double due;

	if (L->o.rate <= 0 || L->nidle == 0 || now >= L->next_sample + 0.05)
		return true;
	due = sched_due(L->sched_t0, L->o.rate, L->sched_next);
	return due - now > L->sample_cost + 0.0005;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in milliseconds of sorted samples. */
static double
pct_ms(const struct lsamples *s, double p)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1] / 1000.0;
}

static double
mean_ms(const struct lsamples *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	return s->n ? sum / (double)s->n / 1000.0 : 0;
}

/* ---- the server process, from /proc ---- */

struct proc_sample {
	bool ok;
	double cpu_s;     /* utime + stime */
	long hwm_kb;      /* VmHWM: peak resident set */
	long rss_kb;
};

static void
proc_read(pid_t pid, struct proc_sample *ps)
{
	char path[64], buf[4096];
	FILE *f;
	size_t n;
	char *p;
	unsigned long long ut = 0, st = 0;

	memset(ps, 0, sizeof(*ps));
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces: fields count from the last ')' (proc(5)). */
	p = strrchr(buf, ')');
	if (p == NULL)
		return;
	p += 2;
	for (int field = 3; field < 14 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (p == NULL)
		return;
	errno = 0;
	ut = strtoull(p, &p, 10);
	st = strtoull(p, &p, 10);
	if (errno != 0)
		return;
	ps->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		if (strncmp(buf, "VmHWM:", 6) == 0)
			ps->hwm_kb = strtol(buf + 6, NULL, 10);
		else if (strncmp(buf, "VmRSS:", 6) == 0)
			ps->rss_kb = strtol(buf + 6, NULL, 10);
	}
	fclose(f);
	ps->ok = true;
}

/*
 * One sample of the server's threads: state from /proc/PID/task/TID/stat,
 * and for sleepers the kernel function they wait in (wchan), which tells a
 * thread idle in its event loop from one sleeping on a lock or a timer.
 */
static void
sample_threads(struct load *L)
{
	char path[96], buf[512];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)L->o.server_pid);
	d = opendir(path);
	if (d == NULL)
		return;
	L->samples++;
	while ((de = readdir(d)) != NULL) {
		char st = '?', *p;
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/stat", (int)L->o.server_pid, de->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p != NULL && p[1] == ' ')
			st = p[2];
		if (st == 'R') {
			L->tstate[TS_RUN]++;
			continue;
		}
		if (st == 'D') {
			L->tstate[TS_IO]++;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/wchan", (int)L->o.server_pid, de->d_name);
		f = fopen(path, "r");
		n = 0;
		if (f != NULL) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[n] = '\0';
		if (strstr(buf, "epoll") != NULL || strstr(buf, "poll") != NULL || strstr(buf, "select") != NULL)
			L->tstate[TS_EPOLL]++;
		else if (strstr(buf, "nanosleep") != NULL)
			L->tstate[TS_SLEEP]++;
		else if (strstr(buf, "futex") != NULL)
			L->tstate[TS_FUTEX]++;
		else
			L->tstate[TS_OTHER]++;
	}
	closedir(d);
}

static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- discovery ---- */

static size_t
on_disc(char *p, size_t size, size_t n, void *arg)
{
	return lbuf_append(arg, p, size * n) == 0 ? size * n : 0;
}

static bool
json_array_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return true;
	return false;
}

static int
discover(struct load *L)
{
	struct lbuf b = { 0 };
	CURL *h = curl_easy_init();
	/*
	 * Maskinporten's metadata is RFC 8414's, under its issuer, which ends in
	 * a slash (https://maskinporten.no/).
	 */
	bool mp = L->o.flow == FLOW_MP;
	size_t il = strlen(L->o.issuer);
	char *url = mp ? xasprintf("%s%s.well-known/oauth-authorization-server", L->o.issuer,
				   il > 0 && L->o.issuer[il - 1] == '/' ? "" : "/") :
		    xasprintf("%s/.well-known/openid-configuration", L->o.issuer);
	json_t *j = NULL, *gt;
	long status = 0;
	CURLcode cc;
	int rc = -1;

	if (h == NULL)
		goto out;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_disc);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK || status != 200 || b.len == 0) {
		fprintf(stderr, "porten-load: discovery %s: %s, HTTP %ld\n", url,
			curl_easy_strerror(cc), status);
		goto out;
	}
	j = json_loadb(b.p, b.len, 0, NULL);
	if (!json_is_object(j))
		goto bad;
	L->m.issuer = xstrdup(json_string_value(json_object_get(j, "issuer")));
	L->m.authorization_endpoint = xstrdup(json_string_value(json_object_get(j, "authorization_endpoint")));
	L->m.token_endpoint = xstrdup(json_string_value(json_object_get(j, "token_endpoint")));
	L->m.userinfo_endpoint = xstrdup(json_string_value(json_object_get(j, "userinfo_endpoint")));
	L->m.introspection_endpoint = xstrdup(json_string_value(json_object_get(j, "introspection_endpoint")));
	gt = json_object_get(j, "grant_types_supported");
	/* OIDC Discovery §3: absent means authorization_code and implicit. */
	L->m.has_cc = json_array_has(gt, "client_credentials");
	L->m.has_refresh = json_array_has(gt, "refresh_token");
	L->m.has_mp = json_array_has(gt, "urn:ietf:params:oauth:grant-type:jwt-bearer");
	if (L->m.issuer == NULL || (!mp && L->m.authorization_endpoint == NULL) ||
	    L->m.token_endpoint == NULL)
		goto bad;
	if (strcmp(L->m.issuer, L->o.issuer) != 0) {
		fprintf(stderr, "porten-load: discovery issuer %s is not %s\n", L->m.issuer, L->o.issuer);
		goto out;
	}
	rc = 0;
	goto out;
bad:
	fprintf(stderr, "porten-load: discovery document at %s lacks issuer or endpoints\n", url);
out:
	json_decref(j);
	free(b.p);
	free(url);
	if (h != NULL)
		curl_easy_cleanup(h);
	return rc;
}

/* ---- clients ---- */

/* RFC 6749 §2.3.1: client_secret_basic; our ids and secrets need no form-encoding. */
static char *
basic_header(const char *id, const char *secret)
{
	char *cred = xasprintf("%s:%s", id, secret);
	char *b64 = b64_encode(cred, strlen(cred));
	char *h = xasprintf("Authorization: Basic %s", b64 ? b64 : "");

	free(cred);
	free(b64);
	return h;
}

static int
load_clients(struct load *L)
{
	json_error_t je;
	json_t *a = NULL, *e;
	size_t i;
	int rc = -1;

	if (L->o.clients_file == NULL) {
		L->ncred = 1;
		L->cred_ids = calloc(1, sizeof(char *));
		L->cred_basic = calloc(1, sizeof(char *));
		if (L->cred_ids == NULL || L->cred_basic == NULL)
			return -1;
		L->cred_ids[0] = xstrdup(L->o.client_id);
		L->cred_basic[0] = basic_header(L->o.client_id, L->o.client_secret);
		return 0;
	}
	a = json_load_file(L->o.clients_file, 0, &je);
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > LOAD_MAX_VC) {
		fprintf(stderr, "porten-load: %s: not a JSON array of clients (%s)\n",
			L->o.clients_file, je.text);
		goto out;
	}
	L->ncred = json_array_size(a);
	L->cred_ids = calloc(L->ncred, sizeof(char *));
	L->cred_basic = calloc(L->ncred, sizeof(char *));
	if (L->cred_ids == NULL || L->cred_basic == NULL)
		goto out;
	json_array_foreach(a, i, e) {
		const char *id = json_string_value(json_object_get(e, "client_id"));
		const char *sec = json_string_value(json_object_get(e, "client_secret"));

		if (id == NULL || sec == NULL) {
			fprintf(stderr, "porten-load: %s: entry %zu lacks client_id or client_secret\n",
				L->o.clients_file, i);
			goto out;
		}
		L->cred_ids[i] = xstrdup(id);
		L->cred_basic[i] = basic_header(id, sec);
	}
	rc = 0;
out:
	json_decref(a);
	return rc;
}

/* ---- options ---- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: porten-load --target porten|oidc-provider|glewlwyd --flow login|refresh|introspect|cc|mp\n"
		"         --issuer URL --client-id ID --client-secret S [options]\n"
		"  --redirect-uri URI      registered redirect URI (default http://127.0.0.1:9/cb)\n"
		"  --scope S               login scope (default \"openid profile\")\n"
		"  --cc-scope S            client_credentials / Maskinporten scope (default bench.api)\n"
		"  --mp-key FILE           mp: RSA private key (PEM) that signs each JWT-bearer grant;\n"
		"                          cc: authenticate by private_key_jwt with it, not a secret\n"
		"  --mp-kid KID            mp: the key's kid as registered on the client\n"
		"                          (mp: --issuer is the Maskinporten issuer; no secret needed)\n"
		"  --user U                TestID pid / login name / username (per target)\n"
		"  --password P            Glewlwyd password\n"
		"  --acr A                 TestID level (default idporten-loa-substantial)\n"
		"  --introspect access|refresh   which token to introspect (default access)\n"
		"  --clients FILE          JSON array of {client_id, client_secret}: client i uses entry i %% n\n"
		"  --source-ips N          bind client i to 127.0.0.(2 + i %% N) (Linux loopback)\n"
		"  --rotate                each login takes the next client and source address in turn\n"
		"  --tokens N              introspect: logins (tokens) per virtual client, used in turn (default 1)\n"
		"  --no-userinfo           end a login at the token response\n"
		"  --force                 run client_credentials even if discovery does not list it\n"
		"  --concurrency N         virtual clients (default 8, at most %d)\n"
		"  --duration S            measured seconds (default 10)\n"
		"  --warmup S              unmeasured seconds first (default 1)\n"
		"  --max-ops N             stop after N checked operations\n"
		"  --timeout-ms N          per request (default 10000)\n"
		"  --rate R                open loop: start R operations per second on a fixed\n"
		"                          schedule; --concurrency is then the cap of operations\n"
		"                          in flight, and latency counts from the scheduled time\n"
		"  --late-ms MS            open loop: an operation taken this long after its time\n"
		"                          is counted late (default 1)\n"
		"  --server-pid PID        report this process's CPU time and peak RSS\n"
		"  --json                  print the report as JSON on stdout\n"
		"  -v                      print every error\n", LOAD_MAX_VC);
}

static int
num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || d < lo || d > hi)
		return -1;
	*out = d;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct load_opts *o)
{
	enum { O_TARGET = 256, O_FLOW, O_ISSUER, O_CID, O_CSEC, O_RURI, O_SCOPE, O_CCSCOPE, O_USER,
	       O_PASS, O_ACR, O_INTRO, O_NOUI, O_CONC, O_DUR, O_WARM, O_MAX, O_TMO, O_PID, O_JSON,
	       O_CLIENTS, O_SRCIPS, O_FORCE, O_ROTATE, O_TOKENS, O_MPKEY, O_MPKID, O_RATE, O_LATE };
	static const struct option lo[] = {
		{ "target", required_argument, NULL, O_TARGET },
		{ "flow", required_argument, NULL, O_FLOW },
		{ "issuer", required_argument, NULL, O_ISSUER },
		{ "client-id", required_argument, NULL, O_CID },
		{ "client-secret", required_argument, NULL, O_CSEC },
		{ "redirect-uri", required_argument, NULL, O_RURI },
		{ "scope", required_argument, NULL, O_SCOPE },
		{ "cc-scope", required_argument, NULL, O_CCSCOPE },
		{ "mp-key", required_argument, NULL, O_MPKEY },
		{ "mp-kid", required_argument, NULL, O_MPKID },
		{ "user", required_argument, NULL, O_USER },
		{ "password", required_argument, NULL, O_PASS },
		{ "acr", required_argument, NULL, O_ACR },
		{ "introspect", required_argument, NULL, O_INTRO },
		{ "no-userinfo", no_argument, NULL, O_NOUI },
		{ "concurrency", required_argument, NULL, O_CONC },
		{ "duration", required_argument, NULL, O_DUR },
		{ "warmup", required_argument, NULL, O_WARM },
		{ "max-ops", required_argument, NULL, O_MAX },
		{ "timeout-ms", required_argument, NULL, O_TMO },
		{ "server-pid", required_argument, NULL, O_PID },
		{ "rate", required_argument, NULL, O_RATE },
		{ "late-ms", required_argument, NULL, O_LATE },
		{ "json", no_argument, NULL, O_JSON },
		{ "force", no_argument, NULL, O_FORCE },
		{ "rotate", no_argument, NULL, O_ROTATE },
		{ "tokens", required_argument, NULL, O_TOKENS },
		{ "clients", required_argument, NULL, O_CLIENTS },
		{ "source-ips", required_argument, NULL, O_SRCIPS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double d;
	int c;

	*o = (struct load_opts){
		.redirect_uri = "http://127.0.0.1:9/cb",
		.scope = "openid profile",
		.cc_scope = "bench.api",
		.acr = "idporten-loa-substantial",
		.introspect = "access",
		.userinfo = true,
		.concurrency = 8,
		.duration = 10,
		.warmup = 1,
		.timeout_ms = 10000,
		.tokens = 1,
		.late_ms = 1,
	};
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case O_TARGET: o->target_name = optarg; break;
		case O_FLOW: o->flow_name = optarg; break;
		case O_ISSUER: o->issuer = optarg; break;
		case O_CID: o->client_id = optarg; break;
		case O_CSEC: o->client_secret = optarg; break;
		case O_RURI: o->redirect_uri = optarg; break;
		case O_SCOPE: o->scope = optarg; break;
		case O_CCSCOPE: o->cc_scope = optarg; break;
		case O_MPKEY: o->mp_key = optarg; break;
		case O_MPKID: o->mp_kid = optarg; break;
		case O_USER: o->user = optarg; break;
		case O_PASS: o->password = optarg; break;
		case O_ACR: o->acr = optarg; break;
		case O_INTRO: o->introspect = optarg; break;
		case O_NOUI: o->userinfo = false; break;
		case O_JSON: o->json = true; break;
		case O_FORCE: o->force = true; break;
		case O_ROTATE: o->rotate = true; break;
		case O_TOKENS:
			if (num(optarg, 1, LOAD_MAX_TOKENS, &d) != 0)
				goto bad;
			o->tokens = (int)d;
			break;
		case O_CLIENTS: o->clients_file = optarg; break;
		case O_SRCIPS:
			if (num(optarg, 0, 250, &d) != 0)
				goto bad;
			o->source_ips = (int)d;
			break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); exit(0);
		case O_CONC:
			if (num(optarg, 1, LOAD_MAX_VC, &d) != 0)
				goto bad;
			o->concurrency = (int)d;
			break;
		case O_DUR:
			if (num(optarg, 0.1, 3600, &o->duration) != 0)
				goto bad;
			break;
		case O_WARM:
			if (num(optarg, 0, 600, &o->warmup) != 0)
				goto bad;
			break;
		case O_MAX:
			if (num(optarg, 1, 1e12, &d) != 0)
				goto bad;
			o->max_ops = (long)d;
			break;
		case O_TMO:
			if (num(optarg, 1, 600000, &d) != 0)
				goto bad;
			o->timeout_ms = (long)d;
			break;
		case O_PID:
			if (num(optarg, 1, INT_MAX, &d) != 0)
				goto bad;
			o->server_pid = (pid_t)d;
			break;
		case O_RATE:
			/* Over a million a second is beyond one thread; none is no rate. */
			if (num(optarg, 0.001, 1e6, &o->rate) != 0)
				goto bad;
			break;
		case O_LATE:
			if (num(optarg, 0, 60000, &o->late_ms) != 0)
				goto bad;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || o->target_name == NULL || o->flow_name == NULL || o->issuer == NULL ||
	    (o->client_id == NULL && o->clients_file == NULL))
		goto bad;
	/* A Maskinporten client authenticates by its grant's signature: no secret. */
	if (o->client_secret == NULL && o->clients_file == NULL) {
		if (o->flow_name == NULL || (strcmp(o->flow_name, "mp") != 0 && o->mp_key == NULL))
			goto bad;
		o->client_secret = "";
	}
	if (strcmp(o->target_name, "porten") == 0)
		o->target = TARGET_PORTEN;
	else if (strcmp(o->target_name, "oidc-provider") == 0)
		o->target = TARGET_OIDC_PROVIDER;
	else if (strcmp(o->target_name, "glewlwyd") == 0)
		o->target = TARGET_GLEWLWYD;
	else
		goto bad;
	if (strcmp(o->flow_name, "login") == 0)
		o->flow = FLOW_LOGIN;
	else if (strcmp(o->flow_name, "refresh") == 0)
		o->flow = FLOW_REFRESH;
	else if (strcmp(o->flow_name, "introspect") == 0)
		o->flow = FLOW_INTROSPECT;
	else if (strcmp(o->flow_name, "cc") == 0)
		o->flow = FLOW_CC;
	else if (strcmp(o->flow_name, "mp") == 0)
		o->flow = FLOW_MP;
	else
		goto bad;
	if (strcmp(o->introspect, "access") != 0 && strcmp(o->introspect, "refresh") != 0)
		goto bad;
	if (o->user == NULL)
		o->user = o->target == TARGET_PORTEN ? "21879498012" :
			  o->target == TARGET_OIDC_PROVIDER ? "bench-user" : "bench";
	if (o->target == TARGET_GLEWLWYD && o->password == NULL) {
		fprintf(stderr, "porten-load: --password is needed for glewlwyd\n");
		return -1;
	}
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* ---- run ---- */

/*
 * Drives transfers until the warm-up ends (returns 1, so the caller can
 * sample the counters) or the window ends (returns 0).
 */
static int
run(struct load *L)
{
	for (;;) {
		int running = 0, left = 0, nfds = 0, timeout;
		CURLMsg *msg;
		double now;

		curl_multi_perform(L->multi, &running);
		while ((msg = curl_multi_info_read(L->multi, &left)) != NULL) {
			struct vc *v = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&v);
			curl_multi_remove_handle(L->multi, msg->easy_handle);
			flow_done(v, msg->data.result);
		}
		now = load_now();
		if (L->resting > 0) {
			for (int i = 0; i < L->o.concurrency; i++) {
				struct vc *v = &L->vcs[i];

				if (v->wake_at > 0 && now >= v->wake_at) {
					v->wake_at = 0;
					L->resting--;
					flow_start(v);
				}
			}
		}
		if (L->o.rate > 0) {
			dispatch(L, now);
			now = load_now();
		}
		if (L->measuring && L->o.server_pid > 0 && now >= L->next_sample && sample_fits(L, now)) {
			L->next_sample = now + 0.01;
			sample_threads(L);
			L->sample_cost = load_now() - now;
		}
		if (!L->measuring && now >= L->t_warm)
			return 1;
		if (L->measuring && (now >= L->t_end || L->stopping)) {
			L->t_stop = now < L->t_end ? now : L->t_end;
			L->stopping = true;
			return 0;
		}
		timeout = L->resting > 0 ? 2 : 20;
		/*
		 * Open loop: wake for the next due operation if a client is free to
		 * take it; with none free, a client coming free is socket activity.
		 */
		if (L->o.rate > 0 && L->nidle > 0)
			timeout = sched_wait_ms(now, sched_due(L->sched_t0, L->o.rate, L->sched_next),
						timeout);
		curl_multi_poll(L->multi, NULL, 0, timeout, &nfds);
	}
}

#define TS(k) ((double)L->tstate[k] / (double)L->samples)

static const char *const step_names[SK_N] = {
	"front1", "front2", "front3", "front4", "front5", "front6+",
	"login_api", "token", "userinfo", "refresh", "introspect", "client_credentials", "jwt_bearer",
};

static void
report(struct load *L, const struct proc_sample *p0, const struct proc_sample *p1,
       double cpu0, double cpu1)
{
	double win = L->t_stop - L->t_warm;
	double ops_s = win > 0 ? (double)L->s.ops / win : 0;
	double req_s = win > 0 ? (double)L->s.requests / win : 0;
	double srv_cpu = p0->ok && p1->ok ? p1->cpu_s - p0->cpu_s : -1;
	double drv_cpu = cpu1 - cpu0;
	double err_rate = L->s.ops + L->s.errors > 0 ?
			  (double)L->s.errors / (double)(L->s.ops + L->s.errors) : 0;
	bool open = L->o.rate > 0;
	uint64_t due_end = open ? sched_count(L->sched_t0, L->o.rate, L->t_stop) : 0;
	/* Operations due by the window's end that no client had taken yet. */
	long backlog = due_end > L->sched_next ? (long)(due_end - L->sched_next) : 0;
	double started_s = win > 0 ? (double)L->s.started / win : 0;
	double late_pct = L->s.started > 0 ? 100.0 * (double)L->s.late / (double)L->s.started : 0;
	json_t *j;

	if (L->s.op_lat.n > 0)
		qsort(L->s.op_lat.v, L->s.op_lat.n, sizeof(uint32_t), cmp_u32);
	if (L->s.req_lat.n > 0)
		qsort(L->s.req_lat.v, L->s.req_lat.n, sizeof(uint32_t), cmp_u32);
	for (int k = 0; k < SK_N; k++)
		if (L->s.step_lat[k].n > 0)     /* qsort of NULL is undefined even for no elements */
			qsort(L->s.step_lat[k].v, L->s.step_lat[k].n, sizeof(uint32_t), cmp_u32);
	if (L->s.lag.n > 0)
		qsort(L->s.lag.v, L->s.lag.n, sizeof(uint32_t), cmp_u32);
	if (!L->o.json) {
		if (open)
			printf("%s %s open loop %.1f/s (at most %d in flight): %.1f ops/s (%ld ops, "
			       "%ld errors, %.2f%%) in %.2f s\n", L->o.target_name, L->o.flow_name,
			       L->o.rate, L->o.concurrency, ops_s, L->s.ops, L->s.errors, err_rate * 100, win);
		else
			printf("%s %s c=%d: %.1f ops/s (%ld ops, %ld errors, %.2f%%) in %.2f s\n",
			       L->o.target_name, L->o.flow_name, L->o.concurrency, ops_s, L->s.ops,
			       L->s.errors, err_rate * 100, win);
		if (open)
			printf("  open loop: offered %.1f/s, achieved %.1f/s, started %.1f/s; late (taken "
			       "> %g ms after schedule) %ld of %ld (%.2f%%); start lag ms p50 %.2f  p99 %.2f"
			       "  max %.2f; backlog at end %ld\n", L->o.rate, ops_s, started_s, L->o.late_ms,
			       L->s.late, L->s.started, late_pct, pct_ms(&L->s.lag, 50),
			       pct_ms(&L->s.lag, 99), pct_ms(&L->s.lag, 100), backlog);
		printf("  op latency ms: p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n",
		       pct_ms(&L->s.op_lat, 50), pct_ms(&L->s.op_lat, 99), pct_ms(&L->s.op_lat, 99.9),
		       pct_ms(&L->s.op_lat, 100), mean_ms(&L->s.op_lat));
		printf("  requests: %.1f/s  p50 %.2f  p99 %.2f  p99.9 %.2f ms; JWTs per op %.2f\n",
		       req_s, pct_ms(&L->s.req_lat, 50), pct_ms(&L->s.req_lat, 99),
		       pct_ms(&L->s.req_lat, 99.9),
		       L->s.ops ? (double)L->s.jwts / (double)L->s.ops : 0);
		if (srv_cpu >= 0)
			printf("  server pid %d: cpu %.2f s (%.0f%% of one core), peak RSS %ld KiB, RSS %ld KiB\n",
			       (int)L->o.server_pid, srv_cpu, win > 0 ? srv_cpu / win * 100 : 0,
			       p1->hwm_kb, p1->rss_kb);
		printf("  driver: cpu %.2f s (%.0f%% of one core)\n", drv_cpu,
		       win > 0 ? drv_cpu / win * 100 : 0);
		printf("  per step (p50/p99 ms):");
		for (int k = 0; k < SK_N; k++)
			if (L->s.step_lat[k].n > 0)
				printf(" %s %.2f/%.2f", step_names[k], pct_ms(&L->s.step_lat[k], 50),
				       pct_ms(&L->s.step_lat[k], 99));
		printf("\n");
		if (L->samples > 0)
			printf("  server threads, mean count: running %.2f  event-wait %.2f  nanosleep %.2f"
			       "  futex %.2f  disk %.2f  other %.2f (%ld samples)\n",
			       TS(TS_RUN), TS(TS_EPOLL), TS(TS_SLEEP), TS(TS_FUTEX), TS(TS_IO),
			       TS(TS_OTHER), L->samples);
		return;
	}
	j = json_pack("{s:s,s:s,s:i,s:f,s:I,s:I,s:I,s:f,s:f,s:f,"
		      "s:{s:f,s:f,s:f,s:f,s:f},s:{s:I,s:f,s:f,s:f,s:f},"
		      "s:{s:I,s:I,s:I},s:{s:f,s:f},s:I}",
		      "target", L->o.target_name, "flow", L->o.flow_name,
		      "concurrency", L->o.concurrency, "window_s", win,
		      "ops", (json_int_t)L->s.ops, "errors", (json_int_t)L->s.errors,
		      "setup_logins", (json_int_t)L->s.setup_logins,
		      "ops_per_s", ops_s, "error_rate", err_rate,
		      "jwts_per_op", L->s.ops ? (double)L->s.jwts / (double)L->s.ops : 0.0,
		      "op_ms", "p50", pct_ms(&L->s.op_lat, 50), "p99", pct_ms(&L->s.op_lat, 99),
		      "p999", pct_ms(&L->s.op_lat, 99.9), "max", pct_ms(&L->s.op_lat, 100),
		      "mean", mean_ms(&L->s.op_lat),
		      "requests", "count", (json_int_t)L->s.requests, "per_s", req_s,
		      "p50", pct_ms(&L->s.req_lat, 50), "p99", pct_ms(&L->s.req_lat, 99),
		      "p999", pct_ms(&L->s.req_lat, 99.9),
		      "error_kinds", "transport", (json_int_t)L->s.err_kind[0],
		      "status", (json_int_t)L->s.err_kind[1], "check", (json_int_t)L->s.err_kind[2],
		      "driver", "cpu_s", drv_cpu, "cpu_pct", win > 0 ? drv_cpu / win * 100 : 0.0,
		      "server_pid", (json_int_t)L->o.server_pid);
	if (j != NULL && srv_cpu >= 0)
		json_object_set_new(j, "server", json_pack("{s:f,s:f,s:I,s:I}", "cpu_s", srv_cpu,
			"cpu_pct", win > 0 ? srv_cpu / win * 100 : 0.0,
			"rss_peak_kb", (json_int_t)p1->hwm_kb, "rss_kb", (json_int_t)p1->rss_kb));
	if (j != NULL) {
		json_t *steps = json_object();

		for (int k = 0; k < SK_N && steps != NULL; k++)
			if (L->s.step_lat[k].n > 0)
				json_object_set_new(steps, step_names[k], json_pack("{s:I,s:f,s:f,s:f}",
					"count", (json_int_t)L->s.step_lat[k].n,
					"p50", pct_ms(&L->s.step_lat[k], 50), "p99", pct_ms(&L->s.step_lat[k], 99),
					"mean", mean_ms(&L->s.step_lat[k])));
		json_object_set_new(j, "steps", steps);
	}
	if (j != NULL && open)
		json_object_set_new(j, "open_loop", json_pack("{s:f,s:f,s:f,s:I,s:I,s:f,s:f,s:I,s:{s:f,s:f,s:f}}",
			"offered_per_s", L->o.rate, "achieved_per_s", ops_s, "started_per_s", started_s,
			"started", (json_int_t)L->s.started, "late", (json_int_t)L->s.late,
			"late_pct", late_pct, "late_ms", L->o.late_ms, "backlog_end", (json_int_t)backlog,
			"lag_ms", "p50", pct_ms(&L->s.lag, 50), "p99", pct_ms(&L->s.lag, 99),
			"max", pct_ms(&L->s.lag, 100)));
	if (j != NULL && L->samples > 0)
		json_object_set_new(j, "server_threads", json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:I}",
			"running", TS(TS_RUN), "event_wait", TS(TS_EPOLL), "nanosleep", TS(TS_SLEEP),
			"futex", TS(TS_FUTEX), "disk", TS(TS_IO), "other", TS(TS_OTHER),
			"samples", (json_int_t)L->samples));
	if (j == NULL || json_dumpf(j, stdout, JSON_COMPACT) != 0) {
		fprintf(stderr, "porten-load: cannot write the report\n");
		exit(2);
	}
	putchar('\n');
	json_decref(j);
}

int
main(int argc, char **argv)
{
	static struct load L;
	struct proc_sample p0, p1;
	double cpu0, cpu1;
	int rc = 2;

	if (parse_opts(argc, argv, &L.o) != 0)
		return 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	if (discover(&L) != 0)
		goto out;
	/*
	 * A machine-token grant must be advertised; refresh is tried anyway, since
	 * some servers (Glewlwyd) do not list refresh_token in discovery.
	 */
	if ((L.o.flow == FLOW_CC && !L.m.has_cc && !L.o.force) ||
	    (L.o.flow == FLOW_MP && !L.m.has_mp && !L.o.force) ||
	    (L.o.flow == FLOW_INTROSPECT && L.m.introspection_endpoint == NULL)) {
		fprintf(stderr, "porten-load: %s does not offer the %s flow (discovery)\n",
			L.o.issuer, L.o.flow_name);
		rc = 3;
		goto out;
	}
	if (load_clients(&L) != 0)
		goto out;
	if ((L.o.flow == FLOW_MP || (L.o.flow == FLOW_CC && L.o.mp_key != NULL)) && mp_init(&L) != 0)
		goto out;
	L.multi = curl_multi_init();
	L.vcs = calloc((size_t)L.o.concurrency, sizeof(*L.vcs));
	L.idle_q = calloc((size_t)L.o.concurrency, sizeof(*L.idle_q));
	if (L.multi == NULL || L.vcs == NULL || L.idle_q == NULL)
		goto out;
	/* One connection per client at most, kept alive between its requests. */
	curl_multi_setopt(L.multi, CURLMOPT_MAXCONNECTS, (long)L.o.concurrency + 8);
	for (int i = 0; i < L.o.concurrency; i++) {
		L.vcs[i].id = i;
		if (flow_vc_init(&L, &L.vcs[i]) != 0)
			goto out;
	}
	L.t0 = load_now();
	L.t_warm = L.t0 + L.o.warmup;
	L.t_end = L.t_warm + L.o.duration;
	/* Open loop: the schedule runs from the start of the warm-up, without a pause. */
	L.sched_t0 = L.t0;
	for (int i = 0; i < L.o.concurrency; i++)
		flow_start(&L.vcs[i]);
	(void)run(&L);
	proc_read(L.o.server_pid, &p0);
	cpu0 = self_cpu();
	/* The window starts now, whatever the warm-up overran by. */
	L.t_warm = load_now();
	L.t_end = L.t_warm + L.o.duration;
	L.measuring = true;
	(void)run(&L);
	proc_read(L.o.server_pid, &p1);
	cpu1 = self_cpu();
	if (L.o.server_pid > 0 && !p1.ok)
		fprintf(stderr, "porten-load: server pid %d is gone\n", (int)L.o.server_pid);
	report(&L, &p0, &p1, cpu0, cpu1);
	rc = 0;
out:
	for (int i = 0; L.vcs != NULL && i < L.o.concurrency; i++) {
		if (L.vcs[i].h != NULL && L.vcs[i].step != ST_NONE)
			curl_multi_remove_handle(L.multi, L.vcs[i].h);
		flow_vc_free(&L.vcs[i]);
	}
	free(L.vcs);
	free(L.idle_q);
	if (L.multi != NULL)
		curl_multi_cleanup(L.multi);
	for (size_t i = 0; i < L.ncred; i++) {
		free(L.cred_ids != NULL ? L.cred_ids[i] : NULL);
		free(L.cred_basic != NULL ? L.cred_basic[i] : NULL);
	}
	free(L.cred_ids);
	free(L.cred_basic);
	mp_free(&L);
	free(L.m.issuer);
	free(L.m.authorization_endpoint);
	free(L.m.token_endpoint);
	free(L.m.userinfo_endpoint);
	free(L.m.introspection_endpoint);
	free(L.s.op_lat.v);
	free(L.s.req_lat.v);
	free(L.s.lag.v);
	for (int k = 0; k < SK_N; k++)
		free(L.s.step_lat[k].v);
	curl_global_cleanup();
	return rc;
}
