/*
 * portend: configuration -> store -> keys -> HTTP server -> wait for a
 * signal.  Expired records are swept once a minute.
 */
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/app.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "eid/eid.h"
#include "http/http.h"
#include "http/ratelimit.h"
#include "maskinporten/mp.h"
#include "oauth/oauth.h"
#include "oidc/consent.h"
#include "oidc/login.h"
#include "oidc/oidc.h"
#include "registry/registry.h"
#include "ui/i18n.h"

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
health_live(struct http_req *r, struct http_resp *w)
{
	json_t *j = json_pack("{s:s}", "status", "up");

	http_resp_json(w, 200, j);
	json_decref(j);
}

static void
health_ready(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	struct err e = { 0 };
	char *v = NULL;
	int rc = store_op(app->store, meta_get, "pairwise_key", &v, &e);
	json_t *j;

	free(v);
	j = json_pack("{s:s}", "status", rc == 0 ? "up" : "down");
	http_resp_json(w, rc == 0 ? 200 : 503, j);
	json_decref(j);
}

struct issuer_route {
	const char *method, *path;
	http_handler_fn fn;
};

/* The routes of an issuer that logs people in (ID-porten); paths under its prefix. */
static const struct issuer_route login_routes[] = {
	{ "GET", "/.well-known/openid-configuration", oidc_handle_discovery },
	{ "GET", "/jwks.json", oidc_handle_jwks },
	{ "GET", "/authorize", oauth_handle_authorize },
	{ "POST", "/authorize", oauth_handle_authorize },
	{ "POST", "/par", oauth_handle_par },
	{ "POST", "/token", oauth_handle_token },
	{ "GET", "/userinfo", oidc_handle_userinfo },
	{ "POST", "/userinfo", oidc_handle_userinfo },
	{ "GET", "/logout", oidc_handle_logout },
	{ "POST", "/logout", oidc_handle_logout },
	{ "POST", "/revoke", oauth_handle_revoke },
	{ "POST", "/token/introspect", oauth_handle_introspect },
	{ "POST", "/tokeninfo", oauth_handle_introspect },
	{ "GET", "/login", login_handle_select },
	{ "POST", "/cancel", login_handle_cancel },
	{ "GET", "/consent", consent_handle_show },
	{ "POST", "/consent", consent_handle_submit },
	{ NULL, NULL, NULL },
};

/*
 * Maskinporten (spec/maskinporten.md §2, §12): metadata, keys and the token
 * endpoint only.  jwks_uri is <issuer>jwk; /jwks.json is the same set under
 * the name the other issuers use.
 */
static const struct issuer_route mp_routes[] = {
	{ "GET", "/.well-known/oauth-authorization-server", mp_handle_discovery },
	{ "GET", "/.well-known/openid-configuration", mp_handle_discovery },
	{ "GET", "/jwk", oidc_handle_jwks },
	{ "GET", "/jwks.json", oidc_handle_jwks },
	{ "POST", "/token", mp_handle_token },
	{ NULL, NULL, NULL },
};

static const struct issuer_route *
routes_of(const struct issuer *is)
{
	return is->kind == ISSUER_MASKINPORTEN ? mp_routes : login_routes;
}

/* Only issuers that log people in show the eIDs' pages. */
static bool
has_eids(const struct issuer *is)
{
	return is->kind != ISSUER_MASKINPORTEN;
}

static size_t
count_eid_routes(void)
{
	size_t n = 0;

	for (size_t i = 0; eid_providers[i] != NULL; i++)
		for (const struct eid_route *er = eid_providers[i]->routes; er && er->fn; er++)
			n++;
	return n;
}

static char *
route_path(const struct issuer *is, const char *path)
{
	size_t len = strlen(is->prefix) + strlen(path) + 1;
	char *p = malloc(len);

	if (p != NULL)
		snprintf(p, len, "%s%s", is->prefix, path);
	return p;
}

static struct http_route *
build_routes(struct porten *app)
{
	size_t n = 0, cap = 3;
	struct http_route *rt;

	for (int i = 0; i < app->nissuers; i++) {
		for (const struct issuer_route *ir = routes_of(&app->issuers[i]); ir->fn; ir++)
			cap++;
		if (has_eids(&app->issuers[i]))
			cap += count_eid_routes();
	}
	rt = calloc(cap, sizeof(*rt));
	if (rt == NULL)
		return NULL;
	rt[n++] = (struct http_route){ "GET", "/health/live", health_live, NULL };
	rt[n++] = (struct http_route){ "GET", "/health/ready", health_ready, NULL };
	for (int i = 0; i < app->nissuers; i++) {
		struct issuer *is = &app->issuers[i];

		/* Each issuer answers only its own routes under its own prefix. */
		for (const struct issuer_route *ir = routes_of(is); ir->fn; ir++) {
			char *path = route_path(is, ir->path);

			if (path == NULL)
				return rt;
			rt[n++] = (struct http_route){ ir->method, path, ir->fn, is };
		}
		if (!has_eids(is))
			continue;
		/* The eIDs' own pages, under each issuer that logs people in. */
		for (size_t k = 0; eid_providers[k] != NULL; k++) {
			for (const struct eid_route *er = eid_providers[k]->routes; er && er->fn;
			     er++) {
				char *path = route_path(is, er->path);

				if (path == NULL)
					return rt;
				rt[n++] = (struct http_route){ er->method, path, er->fn, is };
			}
		}
	}
	return rt;
}

static void
free_routes(struct http_route *rt)
{
	if (rt == NULL)
		return;
	for (size_t i = 2; rt[i].fn != NULL; i++)
		free((char *)rt[i].path);
	free(rt);
}

static void
usage(FILE *f)
{
	fputs("usage: portend [-c FILE] [--check-config]\n"
	      "  -c, --config FILE   configuration file (also PORTEN_CONFIG)\n"
	      "      --check-config  validate the configuration and exit\n"
	      "Every key can be set as PORTEN_<KEY>: PORTEN_LISTEN, PORTEN_DATA, PORTEN_ISSUER,\n"
	      "PORTEN_ENV (test|prod), PORTEN_KEK, PORTEN_STORE, ... (see README.md).\n",
	      f);
}

/*
 * HTTP worker threads when `threads` is 0: one per CPU this process may run
 * on (its affinity mask, so a pinned portend does not switch between more
 * threads than it has cores).  With SQLite a request waits on nothing but
 * CPU and the rare checkpoint; with PostgreSQL every store call waits for a
 * round trip, so four threads per CPU keep the cores busy, as many as
 * the connection pool (pg_pool_size) can serve.
 */
static int
worker_threads(const struct cfg *c, const struct store *s)
{
	cpu_set_t set;
	int n = 1;

	if (c->threads > 0)
		return c->threads;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		n = CPU_COUNT(&set);
	if (strcmp(store_engine_name(s), "sqlite") != 0) {
		n *= 4;
		/* more workers than pooled connections would only queue for one */
		if (c->pg_pool_size > 0 && n > c->pg_pool_size)
			n = (int)c->pg_pool_size;
	}
	return n > 64 ? 64 : n;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("PORTEN_CONFIG");
	struct http_server *srv = NULL;
	struct http_route *routes = NULL;
	struct porten app;
	struct err e = { 0 };
	struct cfg cfg;
	bool check = false, app_up = false;
	int c, rc = 1;
	int64_t last_sweep;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'C': check = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (cfg_load(&cfg, path, &e) != 0) {
		fprintf(stderr, "portend: %s\n", e.msg);
		cfg_free(&cfg);
		return 2;
	}
	if (check) {
		if (mp_trust_init(&cfg, &e) != 0) {
			fprintf(stderr, "portend: maskinporten_ca/maskinporten_crl: %s\n", e.msg);
			cfg_free(&cfg);
			return 2;
		}
		mp_trust_cleanup();
		if (reg_keys_hsm_check(&cfg, &e) != 0) {
			fprintf(stderr, "portend: %s\n", e.msg);
			cfg_free(&cfg);
			return 2;
		}
		printf("configuration ok: issuer %s, listen %s, env %s, store %s\n", cfg.issuer,
		       cfg.listen, cfg.env == CFG_ENV_PROD ? "prod" : "test", cfg_store_target(&cfg));
		cfg_free(&cfg);
		return 0;
	}
	/* Files portend creates (the database, its WAL) are for its own user only. */
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	if (app_init(&app, &cfg, &e) != 0) {
		log_err(NULL, "cannot start: %s", e.msg);
		goto out;
	}
	app_up = true;
	ui_init(&(struct ui_settings){ .locale_dir = cfg.locale_dir,
				       .cookie_secure = cfg.cookie_secure });
	if (mp_trust_init(&cfg, &e) != 0) {
		log_err(NULL, "cannot load business-certificate trust: %s", e.msg);
		goto out;
	}
	for (int i = 0; i < app.nissuers; i++) {
		if (reg_keys_ensure(&app, &app.issuers[i], &e) != 0) {
			log_err(NULL, "cannot create signing key: %s", e.msg);
			goto out;
		}
	}
	routes = build_routes(&app);
	if (routes == NULL)
		goto out;
	{
		/* Rate and connection limits from the configuration (http/ratelimit.h). */
		struct http_limits lim;

		http_limits_from_cfg(&cfg, &lim);
		http_limits_set(&lim);
	}
	if (http_server_start(&(struct http_server_opts){ .listen = cfg.listen,
							  .threads = worker_threads(&cfg, app.store),
							  .app = &app,
							  .routes = routes },
			      &srv, &e) != 0) {
		log_err(NULL, "cannot listen on %s: %s", cfg.listen, e.msg);
		goto out;
	}
	log_info(NULL, "portend listening on %s port %d, issuer %s, env %s", cfg.listen,
		 http_server_port(srv), cfg.issuer, app.test_env ? "test" : "prod");
	for (int i = 0; i < app.nissuers; i++)
		if (app.issuers[i].kind == ISSUER_MASKINPORTEN)
			log_info(NULL, "Maskinporten issuer %s under %s", app.issuers[i].iss,
				 app.issuers[i].prefix);
	last_sweep = time_now();
	while (!stopping) {
		sleep(1);
		if (time_now() - last_sweep >= 60) {
			int64_t n = 0;

			/* the business-certificate CAs and CRLs, read here, never in a request */
			mp_trust_reload(&cfg);
			if (store_op(app.store, sweep, time_now(), &n, &e) == 0 && n > 0)
				log_info(NULL, "swept %lld expired records", (long long)n);
			last_sweep = time_now();
		}
	}
	log_info(NULL, "portend stopping");
	rc = 0;
out:
	if (srv != NULL)
		http_server_stop(srv);
	free_routes(routes);
	reg_keys_cleanup();
	mp_trust_cleanup();
	if (app_up)
		app_close(&app);
	cfg_free(&cfg);
	return rc;
}
