/*
 * The file of upstream eIDs: one [name] section per eID, "key = value"
 * lines, '#' comments (docs/configuration in README, deploy/upstream-eids.conf).
 * Each section becomes a struct upstream added to the eID list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/fsperm.h"
#include "core/loa.h"
#include "core/str.h"
#include "eid/upstream/upstream_int.h"
#include "ui/pages.h"

#define LINE_MAX_LEN 1024
#define SECRET_MAX 512
#define PEM_MAX 16384

static struct upstream *upstreams[UPSTREAM_MAX];
static size_t nupstreams;

/* Where a line of the file stands, for messages. */
struct cfg_pos {
	const char *path;
	unsigned line;
};

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 32 && str_only(str_c(s), "abcdefghijklmnopqrstuvwxyz0123456789-");
}

static void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->display);
	free(u->logo);
	free(u->path);
	free(u->path_callback);
	free(u->path_abort);
	free(u->issuer);
	free(u->client_id);
	if (u->secret != NULL)
		secure_wipe(u->secret, strlen(u->secret));
	free(u->secret);
	free(u->scope);
	free(u->amr);
	free(u->pid_claim);
	for (size_t i = 0; i < u->nacr; i++)
		free(u->acr[i].value);
	jose_key_free(u->key);
	json_decref(u->meta.v);
	json_decref(u->jwks.v);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static int
set_str(char **slot, const char *v, const struct cfg_pos *at, const char *key, struct err *e)
{
	if (*slot != NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "%s:%u: %s given twice", at->path, at->line, key);
	*slot = strdup(v);
	return *slot == NULL ? ERR(e, ERR_NOMEM, 0, NULL, "out of memory") : 0;
}

/* "acr = <upstream value> substantial|high" */
static int
set_acr(struct upstream *u, char *v, const struct cfg_pos *at, struct err *e)
{
	char *sp = strrchr(v, ' ');
	unsigned level;

	if (sp == NULL || u->nacr >= UPSTREAM_MAX_ACR)
		return ERR(e, ERR_INVAL, 0, NULL,
			   "%s:%u: acr wants '<upstream acr> substantial|high' (at most %d)",
			   at->path, at->line, UPSTREAM_MAX_ACR);
	*sp = '\0';
	level = strcmp(sp + 1, "high") == 0	     ? EID_LEVEL_HIGH
		: strcmp(sp + 1, "substantial") == 0 ? EID_LEVEL_SUBSTANTIAL
						     : 0;
	v = trim(v);
	if (level == 0 || v[0] == '\0')
		return ERR(e, ERR_INVAL, 0, NULL, "%s:%u: acr level must be substantial or high",
			   at->path, at->line);
	u->acr[u->nacr].value = strdup(v);
	if (u->acr[u->nacr].value == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	u->acr[u->nacr++].level = level;
	u->prov.levels |= level;
	return 0;
}

static int
read_secret(struct upstream *u, const char *path, const struct cfg_pos *at, struct err *e)
{
	char buf[SECRET_MAX];
	struct err why = { 0 };

	if (fsperm_read_secret_line(path, buf, sizeof(buf), &why) != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "%s:%u: client_secret_file: %s", at->path,
			   at->line, why.msg);
	u->secret = strdup(buf);
	secure_wipe(buf, sizeof(buf));
	return u->secret == NULL ? ERR(e, ERR_NOMEM, 0, NULL, "out of memory") : 0;
}

static int
read_key(struct upstream *u, const char *path, const char *kid, const struct cfg_pos *at,
	 struct err *e)
{
	struct err why = { 0 };
	char *pem = NULL;
	int rc = fsperm_check_secret(path, &why);

	if (rc == 0)
		rc = fsperm_read_file(path, PEM_MAX, &pem, &why);
	if (rc == 0)
		rc = jose_key_from_pem(pem, kid, &u->key, &why);
	if (pem != NULL)
		secure_wipe(pem, strlen(pem));
	free(pem);
	if (rc != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "%s: eID %s: private_key_file %s: %s", at->path,
			   u->name, path, why.msg);
	return 0;
}

/* Keys whose value is kept as text, and where. */
static char **
str_slot(struct upstream *u, const char *key)
{
	if (strcmp(key, "display") == 0)
		return &u->display;
	if (strcmp(key, "logo") == 0)
		return &u->logo;
	if (strcmp(key, "issuer") == 0)
		return &u->issuer;
	if (strcmp(key, "client_id") == 0)
		return &u->client_id;
	if (strcmp(key, "scope") == 0)
		return &u->scope;
	if (strcmp(key, "amr") == 0)
		return &u->amr;
	if (strcmp(key, "pid_claim") == 0)
		return &u->pid_claim;
	return NULL;
}

/* What a section says besides its text keys, read as its lines come. */
struct section_extra {
	char *auth, *secret_file, *key_file, *key_kid, *par, *kind;
};

static void
extra_free(struct section_extra *x)
{
	free(x->auth);
	free(x->secret_file);
	free(x->key_file);
	free(x->key_kid);
	free(x->par);
	free(x->kind);
	*x = (struct section_extra){ 0 };
}

static int
set_key(struct upstream *u, struct section_extra *x, const char *key, char *v,
	const struct cfg_pos *at, struct err *e)
{
	char **slot = str_slot(u, key);

	if (slot != NULL)
		return set_str(slot, v, at, key, e);
	if (strcmp(key, "acr") == 0)
		return set_acr(u, v, at, e);
	if (strcmp(key, "client_auth") == 0)
		return set_str(&x->auth, v, at, key, e);
	if (strcmp(key, "client_secret_file") == 0)
		return set_str(&x->secret_file, v, at, key, e);
	if (strcmp(key, "private_key_file") == 0)
		return set_str(&x->key_file, v, at, key, e);
	if (strcmp(key, "private_key_kid") == 0)
		return set_str(&x->key_kid, v, at, key, e);
	if (strcmp(key, "par") == 0)
		return set_str(&x->par, v, at, key, e);
	if (strcmp(key, "kind") == 0)
		return set_str(&x->kind, v, at, key, e);
	return ERR(e, ERR_INVAL, 0, NULL, "%s:%u: unknown key %s", at->path, at->line, key);
}

static bool
url_ok(const char *s, bool allow_http)
{
	return s != NULL && (strncmp(s, "https://", 8) == 0 ||
			     (allow_http && strncmp(s, "http://", 7) == 0));
}

/* The client's authentication: the method and its secret or key. */
static int
finish_auth(struct upstream *u, const struct section_extra *x, const struct cfg_pos *at,
	    struct err *e)
{
	const char *auth = x->auth != NULL ? x->auth : "private_key_jwt";

	if (strcmp(auth, "private_key_jwt") == 0) {
		u->auth = UPSTREAM_PRIVATE_KEY_JWT;
		if (x->key_file == NULL || x->key_kid == NULL)
			return ERR(e, ERR_INVAL, 0, NULL, "%s: eID %s: private_key_jwt needs "
				   "private_key_file and private_key_kid", at->path, u->name);
		return read_key(u, x->key_file, x->key_kid, at, e);
	}
	if (strcmp(auth, "client_secret_basic") == 0)
		u->auth = UPSTREAM_SECRET_BASIC;
	else if (strcmp(auth, "client_secret_post") == 0)
		u->auth = UPSTREAM_SECRET_POST;
	else
		return ERR(e, ERR_INVAL, 0, NULL, "%s: eID %s: client_auth must be private_key_jwt, "
			   "client_secret_basic or client_secret_post", at->path, u->name);
	if (x->secret_file == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "%s: eID %s: %s needs client_secret_file",
			   at->path, u->name, auth);
	return read_secret(u, x->secret_file, at, e);
}

static int
set_routes(struct upstream *u)
{
	u->path = malloc(strlen(u->name) + 2);
	u->path_callback = malloc(strlen(u->name) + 11);
	u->path_abort = malloc(strlen(u->name) + 8);
	if (u->path == NULL || u->path_callback == NULL || u->path_abort == NULL)
		return ERR_NOMEM;
	snprintf(u->path, strlen(u->name) + 2, "/%s", u->name);
	snprintf(u->path_callback, strlen(u->name) + 11, "/%s/callback", u->name);
	snprintf(u->path_abort, strlen(u->name) + 8, "/%s/abort", u->name);
	u->routes[0] = (struct eid_route){ "GET", u->path, upstream_start, EID_DOOR_LOGIN };
	/* The upstream brings the browser back with its own state: the page joins the login. */
	u->routes[1] = (struct eid_route){ "GET", u->path_callback, upstream_callback,
					   EID_DOOR_OWN };
	u->routes[2] = (struct eid_route){ "POST", u->path_abort, upstream_abort,
					   EID_DOOR_FORM };
	u->routes[3] = (struct eid_route){ NULL, NULL, NULL, EID_DOOR_NONE };
	u->prov = (struct eid_provider){
		.name = u->name,
		.display = u->display,
		.desc_key = u->eidas ? N_("Electronic ID from another European country")
				     : N_("Commercial electronic ID"),
		.path = u->path,
		.logo = u->logo,
		.levels = u->prov.levels,
		.test_only = false,
		.eidas = u->eidas,
		.routes = u->routes,
	};
	return 0;
}

/* A section read to its end: check it whole and make it an eID. */
static int
finish_section(struct upstream *u, struct section_extra *x, const struct cfg_pos *at,
	       struct err *e)
{
	int rc;

	if (x->kind != NULL && strcmp(x->kind, "oidc") != 0 && strcmp(x->kind, "eidas") != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "%s: eID %s: kind must be oidc or eidas", at->path,
			   u->name);
	/* The eIDAS connector names the person by the eidas_* claims, not by a pid claim. */
	u->eidas = x->kind != NULL && strcmp(x->kind, "eidas") == 0;
	if (u->display == NULL || u->issuer == NULL || u->client_id == NULL ||
	    u->amr == NULL || (u->pid_claim == NULL && !u->eidas) || u->nacr == 0)
		return ERR(e, ERR_INVAL, 0, NULL, "%s: eID %s needs display, issuer, client_id, "
			   "acr, amr and (but for kind eidas) pid_claim", at->path, u->name);
	if (u->eidas && u->pid_claim != NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "%s: eID %s: kind eidas takes no pid_claim (the "
			   "person register matches)", at->path, u->name);
	if (!url_ok(u->issuer, u->allow_http) || (u->logo != NULL && !url_ok(u->logo, true) &&
						 u->logo[0] != '/'))
		return ERR(e, ERR_INVAL, 0, NULL, "%s: eID %s: issuer must be an https URL (logo "
			   "an URL or a path)", at->path, u->name);
	if (x->par != NULL && strcmp(x->par, "auto") != 0 && strcmp(x->par, "off") != 0)
		return ERR(e, ERR_INVAL, 0, NULL, "%s: eID %s: par must be auto or off", at->path,
			   u->name);
	u->par = x->par != NULL && strcmp(x->par, "off") == 0 ? UPSTREAM_PAR_OFF
							      : UPSTREAM_PAR_AUTO;
	if (u->scope == NULL && (u->scope = strdup("openid")) == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	rc = finish_auth(u, x, at, e);
	if (rc == 0 && set_routes(u) != 0)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	return rc;
}

static int
new_section(const char *name, const struct cfg *c, bool test_env, const struct cfg_pos *at,
	    struct upstream **out, struct err *e)
{
	struct upstream *u;

	if (!name_ok(name))
		return ERR(e, ERR_INVAL, 0, NULL, "%s:%u: eID name must be 1-32 of a-z, 0-9 and -",
			   at->path, at->line);
	if (nupstreams >= UPSTREAM_MAX)
		return ERR(e, ERR_LIMIT, 0, NULL, "%s: more than %d upstream eIDs", at->path,
			   UPSTREAM_MAX);
	u = calloc(1, sizeof(*u));
	if (u == NULL || (u->name = strdup(name)) == NULL) {
		free(u);
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	pthread_mutex_init(&u->lock, NULL);
	u->timeout = (long)c->upstream_timeout;
	u->cache_ttl = c->upstream_cache;
	u->retry = c->upstream_retry;
	u->allow_http = test_env;
	*out = u;
	return 0;
}

/* End the open section, if any: checked and listed, or freed. */
static int
close_section(struct upstream **cur, struct section_extra *x, const struct cfg_pos *at,
	      struct err *e)
{
	int rc = 0;

	if (*cur == NULL)
		return 0;
	rc = finish_section(*cur, x, at, e);
	if (rc == 0)
		rc = eid_provider_add(&(*cur)->prov, e);
	if (rc == 0)
		upstreams[nupstreams++] = *cur;
	else
		upstream_free(*cur);
	*cur = NULL;
	extra_free(x);
	return rc;
}

static int
read_line(char *line, struct upstream **cur, struct section_extra *x, const struct cfg *c,
	  bool test_env, const struct cfg_pos *at, struct err *e)
{
	char *s = trim(line), *eq;
	size_t n = strlen(s);
	int rc;

	if (s[0] == '\0' || s[0] == '#')
		return 0;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return ERR(e, ERR_INVAL, 0, NULL, "%s:%u: a section is [name]", at->path,
				   at->line);
		s[n - 1] = '\0';
		rc = close_section(cur, x, at, e);
		return rc != 0 ? rc : new_section(s + 1, c, test_env, at, cur, e);
	}
	eq = strchr(s, '=');
	if (eq == NULL || *cur == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "%s:%u: expected 'key = value' in a [section]",
			   at->path, at->line);
	*eq = '\0';
	return set_key(*cur, x, trim(s), trim(eq + 1), at, e);
}

int
upstream_load(const struct cfg *c, bool test_env, struct err *e)
{
	struct cfg_pos at = { c->upstream_eids, 0 };
	struct section_extra x = { 0 };
	struct upstream *cur = NULL;
	char line[LINE_MAX_LEN];
	FILE *f;
	int rc = 0;

	if (c->upstream_eids == NULL || c->upstream_eids[0] == '\0')
		return 0;
	f = fopen(c->upstream_eids, "r");
	if (f == NULL)
		return ERR(e, ERR_INVAL, 0, NULL, "upstream_eids: %s: %s", c->upstream_eids,
			   strerror(errno));
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		at.line++;
		if (strchr(line, '\n') == NULL && !feof(f))
			rc = ERR(e, ERR_INVAL, 0, NULL, "%s:%u: line too long", at.path, at.line);
		else
			rc = read_line(line, &cur, &x, c, test_env, &at, e);
	}
	if (rc == 0)
		rc = close_section(&cur, &x, &at, e);
	upstream_free(cur);
	extra_free(&x);
	fclose(f);
	if (rc != 0)
		upstream_unload();
	return rc;
}

void
upstream_unload(void)
{
	for (size_t i = 0; i < nupstreams; i++) {
		eid_provider_remove(&upstreams[i]->prov);
		upstream_free(upstreams[i]);
		upstreams[i] = NULL;
	}
	nupstreams = 0;
}

/* Does the request's path name path under the issuer's prefix? */
static bool
path_is(const struct http_req *r, const char *prefix, const char *path)
{
	size_t np = strlen(prefix), n = strlen(path);

	return r->path.len == np + n && memcmp(r->path.p, prefix, np) == 0 &&
	       memcmp(r->path.p + np, path, n) == 0;
}

struct upstream *
upstream_of_request(const struct http_req *r)
{
	const struct issuer *is = r->route_data;

	for (size_t i = 0; i < nupstreams; i++) {
		struct upstream *u = upstreams[i];

		if (path_is(r, is->prefix, u->path) || path_is(r, is->prefix, u->path_callback) ||
		    path_is(r, is->prefix, u->path_abort))
			return u;
	}
	return NULL;
}

unsigned
upstream_level_of(const struct upstream *u, const char *acr)
{
	for (size_t i = 0; acr != NULL && i < u->nacr; i++)
		if (strcmp(u->acr[i].value, acr) == 0)
			return u->acr[i].level;
	return 0;
}
