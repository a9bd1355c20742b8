/* Building the application context shared by portend and portenctl. */
#include "app/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/fsperm.h"
#include "core/log.h"
#include "http/http.h"

/*
 * Without a configured KEK a fixed development key is used, so a laptop
 * works out of the box; prod refuses to start without a real one.
 */
#define DEV_KEK_TEXT "porten-development-key-encryption-key-not-for-production"

/*
 * A KEK given as text or in a file: 0 with *out set, 1 when neither is
 * configured, or an error.
 */
static int
app_kek_from(const struct cfg *c, const char *value, const char *file, struct jose_kek *out,
	     struct err *e)
{
	char text[128];
	size_t n;
	int rc;

	if (value != NULL && value[0] != '\0')
		return jose_kek_parse(str_c(value), out, e);
	if (file == NULL)
		return 1;
	/* A key file others can read is no secret; prod refuses it, test warns. */
	rc = fsperm_check_secret(file, e);
	if (rc == ERR_DENIED && c->env == CFG_ENV_PROD)
		return rc;
	if (rc == ERR_DENIED)
		log_warn(NULL, "%s", e->msg);
	rc = fsperm_read_secret_line(file, text, sizeof(text), e);
	if (rc != 0)
		return rc;
	n = strlen(text);
	while (n > 0 && text[n - 1] == ' ')
		n--;
	rc = jose_kek_parse((struct str){ text, n }, out, e);
	secure_wipe(text, sizeof(text));
	return rc;
}

static int
app_load_kek(struct porten *app, struct err *e)
{
	const struct cfg *c = app->cfg;
	int rc;

	rc = app_kek_from(c, c->kek_previous, c->kek_previous_file, &app->kek_previous, e);
	if (rc < 0)
		return rc;
	app->has_kek_previous = rc == 0;
	rc = app_kek_from(c, c->kek, c->kek_file, &app->kek, e);
	if (rc <= 0)
		return rc;
	if (app->has_kek_previous)
		return ERR(e, ERR_INVAL, 0, NULL, "kek_previous is set but no kek to replace it");
	if (c->env == CFG_ENV_PROD)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "env=prod needs a key-encryption key: set PORTEN_KEK or kek_file");
	log_warn(NULL, "no key-encryption key configured (PORTEN_KEK): signing keys are sealed "
		       "under a public development key; never use this outside a laptop");
	sha256(DEV_KEK_TEXT, strlen(DEV_KEK_TEXT), app->kek.k);
	return 0;
}

/* One random 32-byte value that every node sharing the store agrees on. */
static int
app_shared_secret(struct porten *app, const char *name, unsigned char out[32], struct err *e)
{
	unsigned char raw[32];
	char *val = NULL, enc[TOKEN_CHARS + 1];
	size_t n = 0;
	int rc;

	rc = store_call(app->store, registry, meta_get, name, &val, e);
	if (rc == ERR_NOTFOUND) {
		if (rand_bytes(raw, sizeof(raw)) != 0)
			return ERR(e, ERR_CRYPTO, 0, NULL, "no randomness");
		b64url_encode(raw, sizeof(raw), enc);
		rc = store_call(app->store, registry, meta_put_new, name, enc, e);
		if (rc != 0 && rc != ERR_EXISTS)
			return rc;
		rc = store_call(app->store, registry, meta_get, name, &val, e);
	}
	if (rc != 0)
		return rc;
	if (strlen(val) != TOKEN_CHARS || b64url_decode(str_c(val), raw, &n) != 0 || n != 32) {
		free(val);
		return ERR(e, ERR_INTERNAL, 0, NULL, "stored %s is corrupt", name);
	}
	memcpy(out, raw, 32);
	secure_wipe(raw, sizeof(raw));
	free(val);
	return 0;
}

static const char *
app_strip_slash(const char *iss)
{
	size_t n = strlen(iss);
	char *s;

	if (n == 0 || iss[n - 1] != '/')
		return strdup(iss);
	s = strndup(iss, n - 1);
	return s;
}

/*
 * How an issuer besides ID-porten is configured: its key, its default
 * path under the ID-porten issuer, and whether its exact string ends in a
 * slash (Maskinporten's does, spec/maskinporten.md §1; Ansattporten's, like
 * ID-porten's, does not: spec/ansattporten-eidas-testid.md §1).
 */
struct issuer_conf {
	enum issuer_kind kind;
	const char *key;        /* "maskinporten_issuer" */
	const char *value;      /* configured value; NULL: the default; "": off */
	const char *suffix;     /* default: the ID-porten issuer + suffix */
	bool slash;             /* the issuer ends in '/' */
};

/* The issuer string: configured, or the default under the ID-porten issuer. */
static char *
issuer_string(const struct cfg *c, const struct issuer_conf *ic)
{
	size_t n;
	char *iss;

	if (ic->value != NULL)
		return strdup(ic->value);
	n = strlen(c->issuer) + strlen(ic->suffix) + 1;
	iss = malloc(n);
	if (iss != NULL)
		snprintf(iss, n, "%s%s", c->issuer, ic->suffix);
	return iss;
}

/*
 * An issuer besides ID-porten.  Endpoints are base + path, base being the
 * issuer without a trailing slash.  Every issuer shares one listener and
 * routes by path, so its routes live under a prefix: the part after the
 * ID-porten issuer when it extends that one (the default
 * <issuer>/maskinporten/ gives "/maskinporten"), else the path of its URL,
 * which must then not be empty; no two issuers share a prefix.
 */
static int
app_add_issuer(struct porten *app, const struct issuer_conf *ic, struct err *e)
{
	const struct cfg *c = app->cfg;
	char *iss = NULL, *prefix = NULL;
	const char *p = NULL, *path, *k = ic->key;
	size_t n, idp = strlen(c->issuer);
	int rc = 0;

	if (ic->value != NULL && ic->value[0] == '\0')
		return 0;	/* configured off */
	iss = issuer_string(c, ic);
	if (iss == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	n = strlen(iss);
	if (strncmp(iss, "https://", 8) != 0 &&
	    (strncmp(iss, "http://", 7) != 0 || c->env == CFG_ENV_PROD)) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s must be an https URL%s", k,
			 c->env == CFG_ENV_PROD ? " in prod" : " (http allowed in test)");
		goto out;
	}
	if ((iss[n - 1] == '/') != ic->slash || strpbrk(iss, "?#") != NULL) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s must %s and hold no query or fragment", k,
			 ic->slash ? "end in '/' (the issuer has a trailing slash)"
				   : "not end in '/' (the issuer has no trailing slash)");
		goto out;
	}
	if (strncmp(iss, c->issuer, idp) == 0 && iss[idp] == '/') {
		path = iss + idp;
	} else {
		p = strstr(iss, "://") + 3;
		path = strchr(p, '/');
	}
	if (path == NULL || p == path) {
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s has no %s", k, path == NULL ? "path" : "host");
		goto out;
	}
	prefix = strndup(path, strlen(path) - (ic->slash ? 1 : 0));
	if (prefix == NULL) {
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		goto out;
	}
	if (prefix[0] == '\0' ||
	    !str_only(str_c(prefix), "abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-") ||
	    strstr(prefix, "//") != NULL || prefix[strlen(prefix) - 1] == '/') {
		rc = ERR(e, ERR_INVAL, 0, NULL, "%s needs a plain path such as /%s: every issuer "
			 "is served on one listener, by path", k, ic->suffix + 1);
		goto out;
	}
	for (int i = 0; i < app->nissuers; i++)
		if (strcmp(app->issuers[i].prefix, prefix) == 0 ||
		    strcmp(app->issuers[i].iss, iss) == 0) {
			rc = ERR(e, ERR_INVAL, 0, NULL, "%s has the path of another issuer", k);
			goto out;
		}
	app->issuers[app->nissuers++] = (struct issuer){
		.kind = ic->kind,
		.iss = iss,
		.prefix = prefix,
		.base = app_strip_slash(iss),
		.app = app,
	};
	iss = prefix = NULL;
	if (app->issuers[app->nissuers - 1].base == NULL)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
out:
	free(iss);
	free(prefix);
	return rc;
}

char *
app_browser_base(const struct issuer *is)
{
	const char *origin = is->app != NULL && is->app->cfg != NULL ? is->app->cfg->browser_url : NULL;
	bool login = is->kind == ISSUER_IDPORTEN || is->kind == ISSUER_ANSATTPORTEN;
	char *b;

	if (!login || origin == NULL || origin[0] == '\0')
		return strdup(is->base);
	return asprintf(&b, "%s%s", origin, is->prefix) < 0 ? NULL : b;
}

bool
app_cookie_secure(const struct http_req *r)
{
	const struct porten *app = r->app;

	return r->tls || (app != NULL && app->cfg != NULL && app->cfg->cookie_secure);
}

/* Free what app_open allocated for each issuer. */
static void
issuers_free(struct porten *app)
{
	for (int i = 0; i < app->nissuers; i++) {
		free((char *)app->issuers[i].iss);
		free((char *)app->issuers[i].base);
		/* ID-porten's "" is static; any other prefix was allocated here. */
		if (app->issuers[i].prefix[0] != '\0')
			free((char *)app->issuers[i].prefix);
	}
	app->nissuers = 0;
}

int
app_init(struct porten *app, struct cfg *cfg, struct err *e)
{
	const char *target;
	int rc;

	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	app->test_env = cfg->env == CFG_ENV_TEST;
	log_set_level((enum log_level)cfg->log_level);
	rc = app_load_kek(app, e);
	if (rc != 0)
		return rc;
	target = cfg_store_target(cfg);
	if (target == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	if (cfg->store == NULL || (strncmp(cfg->store, "postgresql://", 13) != 0 &&
				   strncmp(cfg->store, "postgres://", 11) != 0)) {
		/* The default SQLite file lives in the data directory. */
		if (mkdir(cfg->data, 0700) != 0 && errno != EEXIST)
			return ERR(e, ERR_IO, 0, NULL, "cannot create data directory %s", cfg->data);
		/* A data directory or database others can write is a way in: refuse it. */
		rc = fsperm_check_private(cfg->data, e);
		if (rc == 0 && strncmp(target, "file:", 5) != 0)
			rc = fsperm_check_private(target, e);
		if (rc != 0 && rc != ERR_NOTFOUND)
			return rc;
	}
	rc = store_open(&app->store,
			&(struct store_opts){ .target = target, .pool_size = (int)cfg->pg_pool_size }, e);
	if (rc != 0)
		return rc;
	rc = app_shared_secret(app, "pairwise_key", app->pairwise_key, e);
	if (rc == 0)
		rc = app_shared_secret(app, "csrf_key", app->csrf_key, e);
	if (rc != 0)
		goto fail;

	app->issuers[0] = (struct issuer){
		.kind = ISSUER_IDPORTEN,
		.iss = strdup(cfg->issuer),
		.prefix = "",
		.base = app_strip_slash(cfg->issuer),
		.app = app,
	};
	app->nissuers = 1;
	rc = app_add_issuer(app,
			    &(struct issuer_conf){ ISSUER_MASKINPORTEN, "maskinporten_issuer",
						   cfg->maskinporten_issuer, "/maskinporten/", true },
			    e);
	if (rc == 0)
		rc = app_add_issuer(app,
				    &(struct issuer_conf){ ISSUER_ANSATTPORTEN, "ansattporten_issuer",
							   cfg->ansattporten_issuer, "/ansattporten",
							   false },
				    e);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	issuers_free(app);
	store_close(app->store);
	app->store = NULL;
	return rc;
}

void
app_close(struct porten *app)
{
	issuers_free(app);
	if (app->store != NULL)
		store_close(app->store);
	app->store = NULL;
	secure_wipe(&app->kek, sizeof(app->kek));
	secure_wipe(&app->kek_previous, sizeof(app->kek_previous));
	secure_wipe(app->pairwise_key, sizeof(app->pairwise_key));
	secure_wipe(app->csrf_key, sizeof(app->csrf_key));
}

void
app_person_tag(const struct porten *app, const char *pid, char out[APP_PERSON_TAG_LEN])
{
	unsigned char mac[32];
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "events\n%s", pid != NULL ? pid : "");

	hmac_sha256(app->pairwise_key, sizeof(app->pairwise_key), msg,
		    n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, mac);
	b64url_encode(mac, sizeof(mac), out);
	secure_wipe(mac, sizeof(mac));
	secure_wipe(msg, sizeof(msg));
}

void
app_code_hash(const struct porten *app, const char *domain, const char *id, const char *code,
	      char out[APP_PERSON_TAG_LEN])
{
	unsigned char mac[32];
	char msg[256];
	int n;

	/* Domain-separated from the CSRF tokens made with the same shared key. */
	n = snprintf(msg, sizeof(msg), "%s\n%s\n%s", domain, id, code);
	hmac_sha256(app->csrf_key, sizeof(app->csrf_key), msg,
		    n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, mac);
	b64url_encode(mac, sizeof(mac), out);
	secure_wipe(msg, sizeof(msg));
}

static const struct {
	const char *id, *title;
} issuer_kind_names[] = {
	[ISSUER_IDPORTEN] = { "idporten", "ID-porten" },
	[ISSUER_ANSATTPORTEN] = { "ansattporten", "Ansattporten" },
	[ISSUER_MASKINPORTEN] = { "maskinporten", "Maskinporten" },
};

const char *
app_issuer_kind_id(enum issuer_kind kind)
{
	return issuer_kind_names[kind].id;
}

const char *
app_issuer_kind_title(enum issuer_kind kind)
{
	return issuer_kind_names[kind].title;
}

int
app_issuer_kind_parse(const char *name, enum issuer_kind *kind)
{
	for (size_t i = 0; i < sizeof(issuer_kind_names) / sizeof(issuer_kind_names[0]); i++)
		if (name != NULL && strcmp(name, issuer_kind_names[i].id) == 0) {
			*kind = (enum issuer_kind)i;
			return 0;
		}
	return -1;
}

struct issuer *
app_issuer(struct porten *app, enum issuer_kind kind)
{
	for (int i = 0; i < app->nissuers; i++)
		if (app->issuers[i].kind == kind)
			return &app->issuers[i];
	return NULL;
}
