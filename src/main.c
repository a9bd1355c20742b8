/*
 * portend: configuration -> store -> services -> HTTP server -> wait for a
 * signal.  Once a minute the services tick and expired records are swept.
 * What it serves comes from the list of services (services.c).
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
#include "app/ops.h"
#include "app/service.h"
#include "core/crypto.h"
#include "core/fsperm.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/http.h"
#include "http/ratelimit.h"
#include "jose/jose.h"
#include "registry/registry.h"
#include "services.h"
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

/*
 * Can every issuer sign now?  Its signer signs a probe: a key in a token
 * that went away or locked answers ERR_UNAVAILABLE here as at /token.
 */
static int
signers_ready(struct porten *app, struct err *e)
{
	static const char probe[] = "porten readiness probe";

	for (int i = 0; i < app->nissuers; i++) {
		const struct jose_signer *s = NULL;
		unsigned char *sig = NULL;
		size_t len = 0;
		int rc = reg_keys_signing(app, &app->issuers[i], &s, e);

		if (rc == 0 && s == NULL)
			rc = ERR(e, ERR_INTERNAL, 0, NULL, "no signer");
		if (rc == 0)
			rc = s->sign(s, probe, sizeof(probe) - 1, &sig, &len, e);
		free(sig);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
health_ready(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	struct err e = { 0 };
	char *v = NULL;
	int rc = store_call(app->store, registry, meta_get, "pairwise_key", &v, &e);
	const char *down = rc != 0 ? "store" : NULL;
	json_t *j;

	free(v);
	if (rc == 0 && (rc = signers_ready(app, &e)) != 0)
		down = "signer";
	if (rc != 0)
		log_warn(r->rid, "not ready: %s: %s", down, e.msg);
	j = json_pack("{s:s}", "status", rc == 0 ? "up" : "down");
	if (j != NULL && down != NULL)
		json_object_set_new(j, "failing", json_string(down));
	http_resp_json(w, rc == 0 ? 200 : 503, j);
	json_decref(j);
}

/*
 * Before every service's routes: whether the process lives and can reach
 * its store and signers, and its metrics (app/ops.h).
 */
static const struct http_route health_routes[] = {
	{ "GET", "/health/live", health_live, NULL },
	{ "GET", "/health/ready", health_ready, NULL },
	{ "GET", "/metrics", ops_metrics, NULL },
	{ NULL, NULL, NULL, NULL },
};

/* The issuers portend serves, for page_brand (set once before the first request). */
static const struct porten *brand_app;

/* Pages under Ansattporten carry its name (ui_settings.brand); the others ID-porten's. */
static const char *
page_brand(const void *route_data)
{
	for (int i = 0; brand_app != NULL && i < brand_app->nissuers; i++)
		if (route_data == &brand_app->issuers[i])
			return brand_app->issuers[i].kind == ISSUER_ANSATTPORTEN
				       ? app_issuer_kind_title(ISSUER_ANSATTPORTEN)
				       : NULL;
	return NULL;
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

static void
tls_free(char **cert, char **key)
{
	if (*key != NULL)
		secure_wipe(*key, strlen(*key));
	free(*key);
	free(*cert);
	*cert = *key = NULL;
}

#define TLS_FILE_MAX (64 * 1024)

/*
 * TLS in portend: the certificate chain and key the configuration names,
 * read and checked (both or neither; the key file its owner's only).
 * *cert and *key stay NULL without TLS.  The caller frees both, wiping
 * the key.
 */
static int
tls_load(const struct cfg *c, char **cert, char **key, struct err *e)
{
	char why[sizeof(e->msg)];
	int rc;

	*cert = *key = NULL;
	if (c->tls_cert_file == NULL && c->tls_key_file == NULL)
		return 0;
	if (c->tls_cert_file == NULL || c->tls_key_file == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "TLS needs both tls_cert_file and tls_key_file");
	if ((rc = fsperm_check_secret(c->tls_key_file, e)) != 0 ||
	    (rc = fsperm_read_file(c->tls_cert_file, TLS_FILE_MAX, cert, e)) != 0 ||
	    (rc = fsperm_read_file(c->tls_key_file, TLS_FILE_MAX, key, e)) != 0 ||
	    (rc = jose_tls_pair_check(*cert, *key, time_now(), e)) != 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		tls_free(cert, key);
		return ERR(e, rc, 0, NULL, "tls_cert_file/tls_key_file: %s", why);
	}
	return 0;
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
	char *tls_cert = NULL, *tls_key = NULL;
	struct http_hosts hosts = { 0 };
	enum http_side *sides = NULL;
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
	if (service_cfg_load(&cfg, porten_services, path, &e) != 0) {
		fprintf(stderr, "portend: %s\n", e.msg);
		cfg_free(&cfg);
		return 2;
	}
	if (check) {
		char *cert = NULL, *key = NULL;

		rc = tls_load(&cfg, &cert, &key, &e);
		tls_free(&cert, &key);
		if (rc != 0 || service_check_all(porten_services, &cfg, &e) != 0) {
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
	brand_app = &app;
	ui_init(&(struct ui_settings){ .locale_dir = cfg.locale_dir,
				       .cookie_secure = app_cookie_secure,
				       .brand = page_brand });
	/* The login core runs the services' steps after the eID (app/app.h). */
	app.services = porten_services;
	if (service_init_all(porten_services, &app, &e) != 0) {
		log_err(NULL, "%s", e.msg);
		goto out;
	}
	routes = service_routes_build(porten_services, &app, health_routes, &e);
	if (routes == NULL) {
		log_err(NULL, "cannot build the routes: %s", e.msg);
		goto out;
	}
	{
		/* Rate and connection limits from the configuration (http/ratelimit.h). */
		struct http_limits lim;

		http_limits_from_cfg(&cfg, &lim);
		http_limits_set(&lim);
	}
	if (tls_load(&cfg, &tls_cert, &tls_key, &e) != 0) {
		log_err(NULL, "cannot start: %s", e.msg);
		goto out;
	}
	if (cfg.browser_url != NULL && cfg.browser_url[0] != '\0') {
		/* One node, two hosts (spec/idporten-oidc.md §1): cfg_load checked the origin. */
		hosts.browser_origin = cfg.browser_url;
		hosts.browser_host = strstr(cfg.browser_url, "://") + 3;
		sides = service_routes_sides(porten_services, health_routes, routes);
		hosts.sides = sides;
		if (sides == NULL) {
			log_err(NULL, "cannot start: out of memory");
			goto out;
		}
	}
	/* libmicrohttpd holds on to the certificate and key text: ours stay until the end. */
	if (http_server_start(&(struct http_server_opts){ .listen = cfg.listen,
							  .threads = worker_threads(&cfg, app.store),
							  .app = &app,
							  .routes = routes,
							  .tls_cert = tls_cert,
							  .tls_key = tls_key,
							  .hosts = hosts.browser_host != NULL
									   ? &hosts
									   : NULL },
			      &srv, &e) != 0) {
		log_err(NULL, "cannot listen on %s: %s", cfg.listen, e.msg);
		goto out;
	}
	log_info(NULL, "portend listening on %s port %d%s, issuer %s, env %s", cfg.listen,
		 http_server_port(srv), cfg.tls_cert_file != NULL ? " (TLS)" : "", cfg.issuer,
		 app.test_env ? "test" : "prod");
	for (int i = 0; i < app.nissuers; i++)
		if (app.issuers[i].kind != ISSUER_IDPORTEN)
			log_info(NULL, "%s issuer %s under %s",
				 app_issuer_kind_title(app.issuers[i].kind), app.issuers[i].iss,
				 app.issuers[i].prefix);
	last_sweep = time_now();
	while (!stopping) {
		sleep(1);
		if (time_now() - last_sweep >= 60) {
			int64_t n = 0;

			service_tick_all(porten_services, &app);
			if (store_sweep(app.store, time_now(), &n, &e) == 0 && n > 0)
				log_info(NULL, "swept %lld expired records", (long long)n);
			last_sweep = time_now();
		}
	}
	log_info(NULL, "portend stopping");
	rc = 0;
out:
	if (srv != NULL)
		http_server_stop(srv);
	tls_free(&tls_cert, &tls_key);
	service_routes_free(routes);
	free(sides);
	if (app_up) {
		service_close_all(porten_services, &app);
		app_close(&app);
	}
	cfg_free(&cfg);
	return rc;
}
