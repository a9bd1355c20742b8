/*
 * Table-driven configuration (redis src/config.c): one row per key with its
 * type, default and bounds.  A file of `key = value` lines is read first,
 * then PORTEN_<KEY> environment variables override it.
 */
#include "core/cfg.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/netaddr.h"
#include "core/str.h"

#define ROW CFG_ROW
#define SECRET CFG_SECRET

/* The generic rows: the listener, the store, the issuers, keys at rest, logs, limits. */
static const struct cfg_row cfg_rows[] = {
	ROW("listen", CFG_STR, listen, "127.0.0.1:8080", 0, 0),
	/* TLS in portend itself, for an installation without a terminating proxy. */
	ROW("tls_cert_file", CFG_STR, tls_cert_file, NULL, 0, 0),
	ROW("tls_key_file", CFG_STR, tls_key_file, NULL, 0, 0),
	ROW("data", CFG_STR, data, "./porten-data", 0, 0),
	ROW("issuer", CFG_STR, issuer, NULL, 0, 0),
	/* The browser host of the login issuers, when it is not the issuer's (spec §1). */
	ROW("browser_url", CFG_STR, browser_url, NULL, 0, 0),
	ROW("store", CFG_STR, store, NULL, 0, 0),
	ROW("pg_pool_size", CFG_INT, pg_pool_size, "8", 1, 256),
	ROW("env", CFG_ENV, env, "test", 0, 0),
	SECRET("kek", kek),
	ROW("kek_file", CFG_STR, kek_file, NULL, 0, 0),
	/* The KEK being replaced, while `portenctl kek rotate` re-seals (docs/operations.md). */
	SECRET("kek_previous", kek_previous),
	ROW("kek_previous_file", CFG_STR, kek_previous_file, NULL, 0, 0),
	ROW("threads", CFG_INT, threads, "0", 0, 256),
	ROW("log_level", CFG_INT, log_level, "2", 0, 3),
	ROW("cookie_secure", CFG_BOOL, cookie_secure, "auto", 0, 0),
	/* HTTP limits (http/ratelimit.h); per node. */
	ROW("rate_ip", CFG_INT, rate_ip, "200", 0, 1000000),
	ROW("rate_ip_burst", CFG_INT, rate_ip_burst, "1000", 1, 10000000),
	ROW("rate_client", CFG_INT, rate_client, "100", 0, 1000000),
	ROW("rate_client_burst", CFG_INT, rate_client_burst, "400", 1, 10000000),
	ROW("conn_per_ip", CFG_INT, conn_per_ip, "256", 1, 65535),
	ROW("conn_timeout", CFG_INT, conn_timeout, "15", 1, 3600),
	ROW("request_deadline", CFG_INT, request_deadline, "30", 1, 3600),
	/* Proxies whose X-Forwarded-For names the client (http/proxy.h); empty: none. */
	ROW("trusted_proxies", CFG_STR, trusted_proxies, NULL, 0, 0),
	/* GET /metrics (app/ops.h); off: 404. */
	ROW("metrics", CFG_BOOL, metrics, "true", 0, 0),
	/* The Maskinporten issuer (app/app.c sets up the issuers). */
	ROW("maskinporten_issuer", CFG_STR, maskinporten_issuer, NULL, 0, 0),
	/* The Ansattporten issuer (the same; spec/ansattporten-eidas-testid.md §1). */
	ROW("ansattporten_issuer", CFG_STR, ansattporten_issuer, NULL, 0, 0),
	ROW("locale_dir", CFG_STR, locale_dir, NULL, 0, 0),
	/* National identity numbers of the 2032 series (core/natid.h); on by itself from 2032. */
	ROW("natid_allow_2032", CFG_BOOL, natid_allow_2032, "false", 0, 0),
};

static const struct cfg_section cfg_core = {
	"core", cfg_rows, sizeof(cfg_rows) / sizeof(cfg_rows[0]), NULL,
};

/* The length of the scheme and authority of an http(s) URL, 0 when it is not one. */
static size_t
cfg_origin_len(const char *url)
{
	size_t skip = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;

	return skip == 0 ? 0 : skip + strcspn(url + skip, "/?#");
}

/*
 * browser_url: an origin alone (scheme and host, a port at most), https in
 * prod, and not the issuer's own host, which would leave no host for the
 * back channel.
 */
static int
cfg_check_browser_url(const struct cfg *c, struct err *e)
{
	const char *u = c->browser_url;
	size_t n;

	if (u == NULL || u[0] == '\0')
		return 0;
	n = cfg_origin_len(u);
	if (n == 0 || u[n] != '\0' || strchr(u, '@') != NULL || n <= (size_t)(u[4] == 's' ? 8 : 7))
		return ERR(e, ERR_INVAL, 0, NULL,
			   "browser_url must be an origin such as https://login.example.no: "
			   "a scheme and host, no path");
	if (c->env == CFG_ENV_PROD && strncmp(u, "https://", 8) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "browser_url must be https in prod");
	if (cfg_origin_len(c->issuer) == n && strncasecmp(c->issuer, u, n) == 0)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "browser_url names the issuer's own host: leave it empty for one host");
	return 0;
}

/*
 * Drop the scheme's default port from an origin (RFC 3986 §6.2.3), as
 * browsers drop it from the Host they send: "https://login.example.no:443"
 * is "https://login.example.no".
 */
static void
cfg_origin_normalize(char *u)
{
	const char *host = strstr(u, "://");
	size_t n = strlen(u);

	if (host != NULL)
		u[n - str_default_port_len(u, str_c(host + 3))] = '\0';
}

/*
 * The issuer is compared byte for byte wherever it appears (OpenID Connect
 * Discovery §4.3, Core §3.1.3.7) and names the signing keys in the store,
 * so it is taken as written: one with its scheme's default port is refused
 * with the spelling to use, not rewritten behind the operator's back.
 */
static int
cfg_check_issuer_port(const char *iss, struct err *e)
{
	size_t n = cfg_origin_len(iss), host = (size_t)(strstr(iss, "://") - iss) + 3;
	size_t port = str_default_port_len(iss, (struct str){ iss + host, n - host });

	if (port == 0)
		return 0;
	return ERR(e, ERR_INVAL, 0, NULL,
		   "issuer names the default port %.*s: write it as %.*s%.200s, the form clients "
		   "and tokens compare",
		   (int)port, iss + n - port, (int)(n - port), iss, iss + n);
}

/* The i-th section cfg_load reads: the generic one, then the services' in order. */
static const struct cfg_section *
cfg_section_at(const struct cfg *c, size_t i)
{
	if (i == 0)
		return &cfg_core;
	return i - 1 < CFG_MAX_SECTIONS ? c->sections[i - 1] : NULL;
}

#define FOR_EACH_ROW(c, sec, row)                                                  \
	for (size_t si_ = 0; ((sec) = cfg_section_at((c), si_)) != NULL; si_++)     \
		for ((row) = (sec)->rows; (row) < (sec)->rows + (sec)->nrows; (row)++)

static const struct cfg_row *
cfg_find(const struct cfg *c, struct str name)
{
	const struct cfg_section *sec;
	const struct cfg_row *row;

	FOR_EACH_ROW(c, sec, row)
		if (str_eq_c(name, row->name))
			return row;
	return NULL;
}

/* cookie_secure was given (file or environment), not left to follow the issuer. */
static bool cookie_secure_set;

/* Set one key; returns NULL or why the value is bad. */
static const char *
cfg_set(struct cfg *c, const struct cfg_row *row, const char *value)
{
	void *field = (char *)c + row->off;
	long long v;

	if (row->off == offsetof(struct cfg, cookie_secure))
		cookie_secure_set = strcmp(value, "auto") != 0;

	switch (row->type) {
	case CFG_STR:
		free(*(char **)field);
		*(char **)field = value ? strdup(value) : NULL;
		return NULL;
	case CFG_INT:
		if (str_to_ll(str_c(value), row->min, row->max, &v) != 0)
			return "not an integer within bounds";
		if (row->off == offsetof(struct cfg, threads) ||
		    row->off == offsetof(struct cfg, log_level))
			*(int *)field = (int)v;
		else
			*(int64_t *)field = v;
		return NULL;
	case CFG_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0 ||
		    strcmp(value, "yes") == 0)
			*(bool *)field = true;
		else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0 ||
			 strcmp(value, "no") == 0 || strcmp(value, "auto") == 0)
			*(bool *)field = false;
		else
			return "not a boolean (true/false)";
		return NULL;
	case CFG_ENV:
		if (strcmp(value, "test") == 0)
			*(enum cfg_env *)field = CFG_ENV_TEST;
		else if (strcmp(value, "prod") == 0)
			*(enum cfg_env *)field = CFG_ENV_PROD;
		else
			return "must be test or prod";
		return NULL;
	}
	return "unknown type";
}

static struct str
str_trim(struct str s)
{
	while (s.len && isspace((unsigned char)s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && isspace((unsigned char)s.p[s.len - 1]))
		s.len--;
	return s;
}

static int
cfg_load_file(struct cfg *c, const char *path, struct err *e)
{
	char line[4096];
	int lineno = 0, rc = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return ERR(e, ERR_IO, 0, NULL, "cannot open configuration %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		struct str s = str_trim(str_c(line)), k, v;
		const struct cfg_row *row;
		const char *why;
		char *val;

		lineno++;
		if (s.len == 0 || s.p[0] == '#')
			continue;
		if (!str_split(s, '=', &k, &v)) {
			rc = ERR(e, ERR_INVAL, 0, NULL, "%s:%d: expected key = value", path, lineno);
			break;
		}
		k = str_trim(k);
		v = str_trim(v);
		row = cfg_find(c, k);
		if (row == NULL) {
			rc = ERR(e, ERR_INVAL, 0, NULL, "%s:%d: unknown key '%.*s'", path, lineno,
				 (int)(k.len > 64 ? 64 : k.len), k.p);
			break;
		}
		val = strndup(v.p, v.len);
		why = cfg_set(c, row, val);
		free(val);
		if (why != NULL) {
			rc = ERR(e, ERR_INVAL, 0, NULL, "%s:%d: %s: %s", path, lineno, row->name, why);
			break;
		}
	}
	fclose(f);
	return rc;
}

int
cfg_load(struct cfg *c, const char *path, const struct cfg_section *const *sections,
	 struct err *e)
{
	const struct cfg_section *sec;
	const struct cfg_row *row;
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	cookie_secure_set = false;
	while (sections != NULL && sections[n] != NULL)
		n++;
	if (n > CFG_MAX_SECTIONS)
		return ERR(e, ERR_INTERNAL, 0, NULL, "too many configuration sections");
	for (size_t i = 0; i < n; i++)
		c->sections[i] = sections[i];
	FOR_EACH_ROW(c, sec, row)
		if (row->dflt != NULL && strcmp(row->dflt, "auto") != 0)
			cfg_set(c, row, row->dflt);
	if (path != NULL && cfg_load_file(c, path, e) != 0)
		return e->code;
	FOR_EACH_ROW(c, sec, row) {
		char env[64];
		const char *v;
		const char *why;
		size_t k;

		snprintf(env, sizeof(env), "PORTEN_%s", row->name);
		for (k = 0; env[k]; k++)
			env[k] = (char)toupper((unsigned char)env[k]);
		v = getenv(env);
		if (v == NULL)
			continue;
		why = cfg_set(c, row, v);
		if (why != NULL)
			return ERR(e, ERR_INVAL, 0, NULL, "%s: %s", env, why);
	}
	if (c->issuer == NULL) {
		char buf[300];

		snprintf(buf, sizeof(buf), "http://%s", c->listen);
		/* Ours to spell: listen = ...:80 gives http://... without it. */
		cfg_origin_normalize(buf);
		c->issuer = strdup(buf);
	}
	if (c->issuer[0] == '\0' || c->issuer[strlen(c->issuer) - 1] == '/')
		return ERR(e, ERR_INVAL, 0, NULL,
			   "issuer must be an absolute URL without a trailing slash");
	if (strncmp(c->issuer, "https://", 8) != 0 && strncmp(c->issuer, "http://", 7) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "issuer must be an http(s) URL");
	if (c->env == CFG_ENV_PROD && strncmp(c->issuer, "https://", 8) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "issuer must be https in prod");
	if (cfg_check_issuer_port(c->issuer, e) != 0)
		return e->code;
	if (!cookie_secure_set)
		c->cookie_secure = strncmp(c->issuer, "https://", 8) == 0;
	if (c->browser_url != NULL)
		cfg_origin_normalize(c->browser_url);
	if (cfg_check_browser_url(c, e) != 0)
		return e->code;
	{
		struct net_cidrs proxies;
		struct err pe = { 0 };

		if (net_cidrs_parse(c->trusted_proxies, &proxies, &pe) != 0)
			return ERR(e, ERR_INVAL, 0, NULL, "trusted_proxies: %s", pe.msg);
	}
	for (size_t i = 0; i < n; i++) {
		int rc = sections[i]->validate != NULL ? sections[i]->validate(c, e) : 0;

		if (rc != 0)
			return rc;
	}
	return 0;
}

void
cfg_free(struct cfg *c)
{
	const struct cfg_section *sec;
	const struct cfg_row *row;

	FOR_EACH_ROW(c, sec, row) {
		if (row->type == CFG_STR) {
			char **p = (char **)((char *)c + row->off);

			if (*p && row->secret)
				memset(*p, 0, strlen(*p));
			free(*p);
			*p = NULL;
		}
	}
	free(c->store_resolved);
	c->store_resolved = NULL;
	memset(c->sections, 0, sizeof(c->sections));
}

const char *
cfg_store_target(const struct cfg *c)
{
	struct cfg *m = (struct cfg *)c;

	if (c->store != NULL && c->store[0] != '\0')
		return c->store;
	if (m->store_resolved == NULL) {
		size_t n = strlen(c->data) + sizeof("/porten.db");

		m->store_resolved = malloc(n);
		if (m->store_resolved == NULL)
			return NULL;
		snprintf(m->store_resolved, n, "%s/porten.db", c->data);
	}
	return m->store_resolved;
}
