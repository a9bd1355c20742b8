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

#include "core/str.h"

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL, CFG_ENV };

struct cfg_row {
	const char *name;
	enum cfg_type type;
	size_t off;
	const char *dflt;
	long long min, max;
	bool secret;
};

#define ROW(n, t, f, d, lo, hi) { n, t, offsetof(struct cfg, f), d, lo, hi, false }
#define SECRET(n, f) { n, CFG_STR, offsetof(struct cfg, f), NULL, 0, 0, true }

static const struct cfg_row cfg_rows[] = {
	ROW("listen", CFG_STR, listen, "127.0.0.1:8080", 0, 0),
	ROW("data", CFG_STR, data, "./porten-data", 0, 0),
	ROW("issuer", CFG_STR, issuer, NULL, 0, 0),
	ROW("store", CFG_STR, store, NULL, 0, 0),
	ROW("pg_pool_size", CFG_INT, pg_pool_size, "8", 1, 256),
	ROW("env", CFG_ENV, env, "test", 0, 0),
	SECRET("kek", kek),
	ROW("kek_file", CFG_STR, kek_file, NULL, 0, 0),
	ROW("threads", CFG_INT, threads, "0", 0, 256),
	ROW("log_level", CFG_INT, log_level, "2", 0, 3),
	ROW("key_publish_delay", CFG_INT, key_publish_delay, "86400", 0, 30 * 86400),
	ROW("key_lifetime", CFG_INT, key_lifetime, "7776000", 3600, 3 * 365 * 86400LL),
	ROW("session_idle", CFG_INT, session_idle, "1800", 60, 86400),
	ROW("session_max", CFG_INT, session_max, "7200", 60, 7 * 86400),
	ROW("code_lifetime", CFG_INT, code_lifetime, "60", 5, 600),
	ROW("par_lifetime", CFG_INT, par_lifetime, "120", 10, 600),
	ROW("pending_lifetime", CFG_INT, pending_lifetime, "1800", 60, 7200),
	ROW("cookie_secure", CFG_BOOL, cookie_secure, "auto", 0, 0),
	ROW("testid_accept_real", CFG_BOOL, testid_accept_real, "false", 0, 0),
	/* HTTP limits (http/ratelimit.h); per node. */
	ROW("rate_ip", CFG_INT, rate_ip, "200", 0, 1000000),
	ROW("rate_ip_burst", CFG_INT, rate_ip_burst, "1000", 1, 10000000),
	ROW("rate_client", CFG_INT, rate_client, "100", 0, 1000000),
	ROW("rate_client_burst", CFG_INT, rate_client_burst, "400", 1, 10000000),
	ROW("conn_per_ip", CFG_INT, conn_per_ip, "256", 1, 65535),
	ROW("conn_timeout", CFG_INT, conn_timeout, "15", 1, 3600),
	ROW("request_deadline", CFG_INT, request_deadline, "30", 1, 3600),
	/* Maskinporten (spec/maskinporten.md): its issuer and business-certificate trust. */
	ROW("maskinporten_issuer", CFG_STR, maskinporten_issuer, NULL, 0, 0),
	ROW("maskinporten_ca", CFG_STR, maskinporten_ca, NULL, 0, 0),
	ROW("maskinporten_crl", CFG_STR, maskinporten_crl, NULL, 0, 0),
	/* Signing keys held in a PKCS#11 token instead of the store (docs/operations.md). */
	ROW("signing_key_pkcs11_uri", CFG_STR, signing_key_pkcs11_uri, NULL, 0, 0),
	ROW("signing_key_pin_file", CFG_STR, signing_key_pin_file, NULL, 0, 0),
	ROW("maskinporten_signing_key_pkcs11_uri", CFG_STR, maskinporten_signing_key_pkcs11_uri,
	    NULL, 0, 0),
	ROW("maskinporten_signing_key_pin_file", CFG_STR, maskinporten_signing_key_pin_file, NULL,
	    0, 0),
	ROW("locale_dir", CFG_STR, locale_dir, NULL, 0, 0),
	/* MinID (spec/minid.md §3-§8) and its SMS gateway. */
	ROW("minid_argon_ops", CFG_INT, minid_argon_ops, "2", 1, 20),
	ROW("minid_argon_mem_kib", CFG_INT, minid_argon_mem_kib, "19456", 8192, 4194304),
	ROW("minid_lock_failures", CFG_INT, minid_lock_failures, "5", 1, 100),
	ROW("minid_lock_seconds", CFG_INT, minid_lock_seconds, "3600", 1, 30 * 86400),
	ROW("minid_lock_window", CFG_INT, minid_lock_window, "86400", 60, 365 * 86400LL),
	ROW("minid_lock_max", CFG_INT, minid_lock_max, "3", 1, 100),
	ROW("minid_otc_lifetime", CFG_INT, minid_otc_lifetime, "300", 30, 3600),
	ROW("minid_otc_attempts", CFG_INT, minid_otc_attempts, "5", 1, 20),
	ROW("minid_otc_resends", CFG_INT, minid_otc_resends, "3", 0, 20),
	ROW("minid_otc_per_hour", CFG_INT, minid_otc_per_hour, "10", 1, 1000),
	ROW("minid_rate_per_min", CFG_INT, minid_rate_per_min, "30", 0, 100000),
	ROW("minid_activation_lifetime", CFG_INT, minid_activation_lifetime, "2592000", 600,
	    365 * 86400LL),
	ROW("minid_min_age", CFG_INT, minid_min_age, "13", 0, 120),
	ROW("minid_static_otc", CFG_BOOL, minid_static_otc, "true", 0, 0),
	ROW("sms_gateway", CFG_STR, sms_gateway, "file", 0, 0),
	ROW("sms_file", CFG_STR, sms_file, NULL, 0, 0),
	ROW("sms_url", CFG_STR, sms_url, NULL, 0, 0),
	ROW("sms_template", CFG_STR, sms_template,
	    "{\"to\":\"{to}\",\"from\":\"{sender}\",\"message\":\"{text}\"}", 0, 0),
	ROW("sms_content_type", CFG_STR, sms_content_type, "application/json", 0, 0),
	ROW("sms_auth_file", CFG_STR, sms_auth_file, NULL, 0, 0),
	ROW("sms_sender", CFG_STR, sms_sender, "ID-porten", 0, 0),
	ROW("sms_timeout", CFG_INT, sms_timeout, "10", 1, 120),
};

#define NROWS (sizeof(cfg_rows) / sizeof(cfg_rows[0]))

static const struct cfg_row *
cfg_find(struct str name)
{
	for (size_t i = 0; i < NROWS; i++)
		if (str_eq_c(name, cfg_rows[i].name))
			return &cfg_rows[i];
	return NULL;
}

/* Set one key; returns NULL or why the value is bad. */
static const char *
cfg_set(struct cfg *c, const struct cfg_row *row, const char *value)
{
	void *field = (char *)c + row->off;
	long long v;

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
		row = cfg_find(k);
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

static bool cookie_secure_set;

int
cfg_load(struct cfg *c, const char *path, struct err *e)
{
	memset(c, 0, sizeof(*c));
	cookie_secure_set = false;
	for (size_t i = 0; i < NROWS; i++)
		if (cfg_rows[i].dflt != NULL && strcmp(cfg_rows[i].dflt, "auto") != 0)
			cfg_set(c, &cfg_rows[i], cfg_rows[i].dflt);
	if (path != NULL && cfg_load_file(c, path, e) != 0)
		return e->code;
	for (size_t i = 0; i < NROWS; i++) {
		char env[64];
		const char *v;
		const char *why;
		size_t k;

		snprintf(env, sizeof(env), "PORTEN_%s", cfg_rows[i].name);
		for (k = 0; env[k]; k++)
			env[k] = (char)toupper((unsigned char)env[k]);
		v = getenv(env);
		if (v == NULL)
			continue;
		if (cfg_rows[i].off == offsetof(struct cfg, cookie_secure))
			cookie_secure_set = strcmp(v, "auto") != 0;
		why = cfg_set(c, &cfg_rows[i], v);
		if (why != NULL)
			return ERR(e, ERR_INVAL, 0, NULL, "%s: %s", env, why);
	}
	if (c->issuer == NULL) {
		char buf[300];

		snprintf(buf, sizeof(buf), "http://%s", c->listen);
		c->issuer = strdup(buf);
	}
	if (c->issuer[0] == '\0' || c->issuer[strlen(c->issuer) - 1] == '/')
		return ERR(e, ERR_INVAL, 0, NULL,
			   "issuer must be an absolute URL without a trailing slash");
	if (strncmp(c->issuer, "https://", 8) != 0 && strncmp(c->issuer, "http://", 7) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "issuer must be an http(s) URL");
	if (c->env == CFG_ENV_PROD && strncmp(c->issuer, "https://", 8) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "issuer must be https in prod");
	if (!cookie_secure_set)
		c->cookie_secure = strncmp(c->issuer, "https://", 8) == 0;
	if (c->session_idle > c->session_max)
		return ERR(e, ERR_INVAL, 0, NULL, "session_idle must not exceed session_max");
	return 0;
}

void
cfg_free(struct cfg *c)
{
	for (size_t i = 0; i < NROWS; i++) {
		if (cfg_rows[i].type == CFG_STR) {
			char **p = (char **)((char *)c + cfg_rows[i].off);

			if (*p && cfg_rows[i].secret)
				memset(*p, 0, strlen(*p));
			free(*p);
			*p = NULL;
		}
	}
	free(c->store_resolved);
	c->store_resolved = NULL;
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
