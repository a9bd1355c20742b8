/*
 * Client registrations: defaults, allowed combinations (spec/selfservice-api.md
 * §5), validation (§6), the secret's life cycle (§6.3) and keys (§7), against
 * an in-memory store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto.h"
#include "core/timeutil.h"
#include "registry/client.h"
#include "registry/registry.h"
#include "registry/registry_int.h"
#include "shared_check.h"

/* A presented secret against a client document, through its parsed record. */
static bool
secret_ok(const json_t *doc, struct str secret)
{
	struct client *c = NULL;
	struct err e = { 0 };
	bool ok;

	assert_int_equal(reg_client_parse(doc, &c, &e), 0);
	ok = reg_client_secret_matches(c, secret);
	reg_client_release(c);
	return ok;
}

struct fixture {
	struct cfg cfg;
	struct porten app;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };

	if (f == NULL)
		return -1;
	f->cfg.env = CFG_ENV_PROD;
	f->cfg.key_publish_delay = 3600;
	f->app.cfg = &f->cfg;
	f->app.test_env = false;
	if (store_open(&f->app.store, &(struct store_opts){ .target = ":memory:" }, &e) != 0) {
		print_error("store_open: %s\n", e.msg);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	time_set_offset(0);
	reg_cache_cleanup();
	store_close(f->app.store);
	free(f);
	return 0;
}

/* The smallest valid web registration (PROD rules). */
static json_t *
web_client(void)
{
	json_t *in = json_pack("{s:s, s:s, s:s, s:[s], s:[s]}", "client_name", "Kommune X",
			       "description", "Innbyggertjeneste", "integration_type", "idporten",
			       "redirect_uris", "https://x.example.no/cb",
			       "post_logout_redirect_uris", "https://x.example.no/logged-out");

	assert_non_null(in);
	return in;
}

static json_t *
native_client(void)
{
	json_t *in = json_pack("{s:s, s:s, s:s, s:s, s:[ss], s:[s]}", "client_name", "App",
			       "description", "Mobilapp", "integration_type", "idporten",
			       "application_type", "native", "redirect_uris",
			       "http://127.0.0.1:0/cb", "no.example.app:/cb",
			       "post_logout_redirect_uris", "no.example.app:/bye");

	assert_non_null(in);
	return in;
}

/* Create and expect success; returns the stored doc (and secret if wanted). */
static json_t *
create_ok(struct fixture *f, const json_t *in, char **secret)
{
	struct err e = { 0 };
	json_t *out = NULL;
	char *s = NULL;
	int rc = reg_client_create(&f->app, in, &out, &s, &e);

	if (rc != 0)
		print_error("reg_client_create: %d %s\n", rc, e.msg);
	assert_int_equal(rc, 0);
	assert_non_null(out);
	if (secret != NULL)
		*secret = s;
	else
		free(s);
	return out;
}

/* Create and expect invalid_client_metadata mentioning `word`. */
static void
create_bad(struct fixture *f, const json_t *in, const char *word)
{
	struct err e = { 0 };
	json_t *out = NULL;
	char *s = NULL;
	int rc = reg_client_create(&f->app, in, &out, &s, &e);

	if (rc != ERR_INVAL || strstr(e.msg, word) == NULL)
		print_error("expected a refusal about '%s', got rc=%d msg=%s\n", word, rc, e.msg);
	assert_int_equal(rc, ERR_INVAL);
	assert_null(out);
	assert_null(s);
	assert_string_equal(e.oauth, "invalid_client_metadata");
	assert_non_null(strstr(e.msg, word));
}

static void
test_defaults_web(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *doc, *pub;
	char *secret = NULL, hash[TOKEN_CHARS + 1];
	const char *id;
	long long exp;

	doc = create_ok(f, in, &secret);
	id = reg_client_str(doc, "client_id");
	/* A version-4 UUID. */
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[14], '4');
	assert_non_null(strchr("89ab", id[19]));
	assert_string_equal(reg_client_str(doc, "application_type"), "web");
	assert_string_equal(reg_client_str(doc, "token_endpoint_auth_method"),
			    "client_secret_basic");
	assert_true(reg_json_array_has(json_object_get(doc, "grant_types"), "authorization_code"));
	assert_int_equal(json_array_size(json_object_get(doc, "grant_types")), 1);
	assert_true(reg_json_array_has(json_object_get(doc, "scopes"), "openid"));
	assert_true(reg_json_array_has(json_object_get(doc, "scopes"), "profile"));
	assert_int_equal(reg_client_int(doc, "authorization_lifetime", 0), 7200);
	assert_int_equal(reg_client_int(doc, "access_token_lifetime", 0), 120);
	assert_int_equal(reg_client_int(doc, "refresh_token_lifetime", 0), 600);
	assert_string_equal(reg_client_str(doc, "code_challenge_method"), "S256");
	assert_string_equal(reg_client_str(doc, "refresh_token_usage"), "ONETIME");
	assert_false(reg_client_bool(doc, "sso_disabled"));
	assert_false(reg_client_bool(doc, "frontchannel_logout_session_required"));
	assert_true(reg_client_bool(doc, "active"));
	assert_int_equal(strlen(reg_client_str(doc, "created")), 20);
	assert_int_equal(reg_client_str(doc, "created")[19], 'Z');
	assert_null(reg_client_str(doc, "client_orgno"));

	/* The secret: 256 bits in clear once, only its hash kept. */
	assert_non_null(secret);
	assert_int_equal(strlen(secret), TOKEN_CHARS);
	sha256_b64url_buf(str_c(secret), hash);
	assert_string_equal(reg_client_str(doc, "client_secret_sha256"), hash);
	assert_null(json_object_get(doc, "client_secret"));
	exp = reg_client_int(doc, "client_secret_expires_at", 0);
	assert_true(exp > time_now() + 359 * 86400LL && exp <= time_now() + 360 * 86400LL);

	pub = reg_client_public(doc);
	assert_null(json_object_get(pub, "client_secret_sha256"));
	assert_non_null(json_object_get(pub, "client_secret_expires_at"));
	json_decref(pub);

	json_decref(doc);
	json_decref(in);
	free(secret);
}

static void
test_defaults_public_clients(void **state)
{
	struct fixture *f = *state;
	json_t *in = native_client(), *doc;
	char *secret = (char *)"unset";

	doc = create_ok(f, in, &secret);
	assert_string_equal(reg_client_str(doc, "token_endpoint_auth_method"), "none");
	assert_null(secret);
	assert_null(json_object_get(doc, "client_secret_sha256"));
	json_decref(doc);

	json_object_set_new(in, "application_type", json_string("browser"));
	json_object_set_new(in, "redirect_uris", json_pack("[s]", "https://spa.example.no/cb"));
	json_object_set_new(in, "post_logout_redirect_uris",
			    json_pack("[s]", "https://spa.example.no/"));
	doc = create_ok(f, in, &secret);
	assert_string_equal(reg_client_str(doc, "application_type"), "browser");
	assert_null(secret);
	json_decref(doc);
	json_decref(in);
}

static void
test_combinations(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client();

	json_object_set_new(in, "token_endpoint_auth_method", json_string("none"));
	create_bad(f, in, "web clients must authenticate");
	json_object_set_new(in, "token_endpoint_auth_method", json_string("tls_client_auth"));
	create_bad(f, in, "unknown value");
	json_object_set_new(in, "token_endpoint_auth_method", json_string("private_key_jwt"));
	json_decref(create_ok(f, in, NULL));

	/* Public clients never hold a secret. */
	json_object_set_new(in, "application_type", json_string("browser"));
	json_object_set_new(in, "token_endpoint_auth_method", json_string("client_secret_basic"));
	create_bad(f, in, "public");
	json_object_set_new(in, "application_type", json_string("desktop"));
	create_bad(f, in, "application_type");

	/* PKCE is mandatory for public clients; a web client may downgrade. */
	json_decref(in);
	in = native_client();
	json_object_set_new(in, "code_challenge_method", json_string("none"));
	create_bad(f, in, "PKCE");
	json_object_set_new(in, "code_challenge_method", json_string("plain"));
	create_bad(f, in, "code_challenge_method");
	json_decref(in);
	in = web_client();
	json_object_set_new(in, "code_challenge_method", json_string("none"));
	json_decref(create_ok(f, in, NULL));
	json_decref(in);
}

static void
test_integration_types(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client();
	static const char *const refused[] = { "maskinporten", "krr", "ansattporten",
					       "eformidling" };

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		json_object_set_new(in, "integration_type", json_string(refused[i]));
		create_bad(f, in, "not supported by this issuer");
	}
	json_object_set_new(in, "integration_type", json_string("saml"));
	create_bad(f, in, "unknown integration_type");
	json_object_set_new(in, "integration_type", json_integer(1));
	create_bad(f, in, "integration_type");
	json_object_del(in, "integration_type");
	create_bad(f, in, "integration_type is required");
	json_object_set_new(in, "integration_type", json_string("api_klient"));
	json_decref(create_ok(f, in, NULL));
	json_decref(in);
}

/*
 * spec/selfservice-api.md §4: ansattporten clients exist where the
 * Ansattporten issuer runs; sso_disabled is forced true, PKCE cannot be
 * downgraded, and the default scope is openid (no userinfo, no profile).
 */
static void
test_ansattporten(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *out;
	struct client *rec = NULL;
	struct err e = { 0 };

	f->app.issuers[0] = (struct issuer){ ISSUER_IDPORTEN, "https://idporten.test", "",
					     "https://idporten.test", &f->app };
	f->app.issuers[1] = (struct issuer){ ISSUER_ANSATTPORTEN, "https://idporten.test/ap", "/ap",
					     "https://idporten.test/ap", &f->app };
	f->app.nissuers = 2;
	json_object_set_new(in, "integration_type", json_string("ansattporten"));
	json_object_set_new(in, "sso_disabled", json_false());
	out = create_ok(f, in, NULL);
	assert_true(json_is_true(json_object_get(out, "sso_disabled")));
	assert_int_equal(json_array_size(json_object_get(out, "scopes")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(out, "scopes"), 0)),
			    "openid");
	/* the record reads it SSO-free whatever the stored document says */
	json_object_set_new(out, "sso_disabled", json_false());
	assert_int_equal(reg_client_parse(out, &rec, &e), 0);
	assert_true(rec->sso_disabled);
	assert_true(reg_client_fits(rec, &f->app.issuers[1]));
	assert_false(reg_client_fits(rec, &f->app.issuers[0]));
	reg_client_release(rec);
	json_decref(out);
	json_object_set_new(in, "code_challenge_method", json_string("none"));
	create_bad(f, in, "PKCE");
	json_decref(in);
	/* without the issuer, no such clients */
	f->app.nissuers = 1;
	in = web_client();
	json_object_set_new(in, "integration_type", json_string("ansattporten"));
	create_bad(f, in, "not supported by this issuer");
	json_decref(in);
}

static void
test_grant_types(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client();
	static const char *const refused[] = {
		"implicit", "password", "client_credentials",
		"urn:ietf:params:oauth:grant-type:jwt-bearer", "jwt_bearer_token",
	};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		json_object_set_new(in, "grant_types",
				    json_pack("[ss]", "authorization_code", refused[i]));
		create_bad(f, in, "not allowed");
	}
	json_object_set_new(in, "grant_types", json_pack("[s]", "magic"));
	create_bad(f, in, "unknown grant type");
	json_object_set_new(in, "grant_types", json_pack("[s]", "refresh_token"));
	create_bad(f, in, "must include authorization_code");
	json_object_set_new(in, "grant_types",
			    json_pack("[ss]", "authorization_code", "authorization_code"));
	create_bad(f, in, "twice");
	json_object_set_new(in, "grant_types", json_pack("[i]", 1));
	create_bad(f, in, "grant_types[0]");
	json_object_set_new(in, "grant_types", json_string("authorization_code"));
	create_bad(f, in, "array");
	json_object_set_new(in, "grant_types", json_pack("[ss]", "authorization_code",
							 "refresh_token"));
	json_decref(create_ok(f, in, NULL));
	json_decref(in);
}

static void
test_lifetimes(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *doc;

	json_object_set_new(in, "access_token_lifetime", json_integer(0));
	create_bad(f, in, "access_token_lifetime");
	json_object_set_new(in, "access_token_lifetime", json_integer(-5));
	create_bad(f, in, "access_token_lifetime");
	json_object_set_new(in, "access_token_lifetime", json_integer(86401));
	create_bad(f, in, "access_token_lifetime");
	json_object_set_new(in, "access_token_lifetime", json_string("120"));
	create_bad(f, in, "access_token_lifetime");
	json_object_set_new(in, "access_token_lifetime", json_real(120.5));
	create_bad(f, in, "access_token_lifetime");
	json_object_set_new(in, "authorization_lifetime", json_integer(366 * 86400LL));
	json_object_set_new(in, "access_token_lifetime", json_integer(120));
	create_bad(f, in, "authorization_lifetime");

	/* Without refresh tokens the order does not matter. */
	json_object_set_new(in, "authorization_lifetime", json_integer(600));
	json_object_set_new(in, "access_token_lifetime", json_integer(3600));
	json_object_set_new(in, "refresh_token_lifetime", json_integer(60));
	json_decref(create_ok(f, in, NULL));

	/* With them: access < refresh <= authorization (spec §6.1). */
	json_object_set_new(in, "grant_types", json_pack("[ss]", "authorization_code",
							 "refresh_token"));
	create_bad(f, in, "shorter than refresh_token_lifetime");
	json_object_set_new(in, "access_token_lifetime", json_integer(600));
	json_object_set_new(in, "refresh_token_lifetime", json_integer(600));
	create_bad(f, in, "shorter than refresh_token_lifetime");
	json_object_set_new(in, "access_token_lifetime", json_integer(120));
	json_object_set_new(in, "refresh_token_lifetime", json_integer(601));
	create_bad(f, in, "must not exceed authorization_lifetime");
	json_object_set_new(in, "refresh_token_lifetime", json_integer(600));
	doc = create_ok(f, in, NULL);
	assert_int_equal(reg_client_int(doc, "refresh_token_lifetime", 0), 600);
	json_decref(doc);
	/* The defaults 120 < 600 <= 7200 fit. */
	json_object_del(in, "access_token_lifetime");
	json_object_del(in, "refresh_token_lifetime");
	json_object_del(in, "authorization_lifetime");
	json_decref(create_ok(f, in, NULL));
	json_decref(in);
}

static void
test_fields_and_strings(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *uris, *doc;
	char big[1200];

	json_object_set_new(in, "colour", json_string("blue"));
	create_bad(f, in, "unknown field colour");
	json_object_del(in, "colour");
	json_object_set_new(in, "client_secret", json_string("chosen-by-me"));
	create_bad(f, in, "client_secret");
	json_object_del(in, "client_secret");
	json_object_set_new(in, "client_secret_sha256", json_string("x"));
	create_bad(f, in, "client_secret_sha256");
	json_object_del(in, "client_secret_sha256");
	json_object_set_new(in, "refresh_token_usage", json_string("REUSE"));
	create_bad(f, in, "ONETIME");
	json_object_set_new(in, "refresh_token_usage", json_string("ONETIME"));

	/* Server-set fields are ignored, so a read client can be sent back. */
	json_object_set_new(in, "created", json_string("1999-01-01T00:00:00Z"));
	json_object_set_new(in, "active", json_false());
	doc = create_ok(f, in, NULL);
	assert_string_not_equal(reg_client_str(doc, "created"), "1999-01-01T00:00:00Z");
	assert_true(reg_client_bool(doc, "active"));
	json_decref(doc);

	memset(big, 'n', sizeof(big));
	big[201] = '\0';
	json_object_set_new(in, "client_name", json_string(big));
	create_bad(f, in, "client_name is longer");
	big[200] = '\0';
	json_object_set_new(in, "client_name", json_string(big));
	json_decref(create_ok(f, in, NULL));
	json_object_set_new(in, "client_name", json_string("Line\nbreak"));
	create_bad(f, in, "control");
	json_object_set_new(in, "client_name", json_string(""));
	create_bad(f, in, "client_name is required");
	json_object_set_new(in, "client_name", json_string("ok"));

	big[1001] = '\0';
	memset(big, 'd', 1001);
	json_object_set_new(in, "description", json_string(big));
	create_bad(f, in, "description is longer");
	json_object_del(in, "description");
	create_bad(f, in, "description is required");
	json_object_set_new(in, "description", json_string("ok"));

	uris = json_array();
	for (int i = 0; i < 21; i++) {
		char u[64];

		snprintf(u, sizeof(u), "https://x.example.no/cb%d", i);
		json_array_append_new(uris, json_string(u));
	}
	json_object_set(in, "redirect_uris", uris);
	create_bad(f, in, "more than 20");
	json_array_remove(uris, 20);
	json_decref(create_ok(f, in, NULL));
	json_decref(uris);

	json_object_set_new(in, "redirect_uris", json_array());
	create_bad(f, in, "redirect_uris is required");
	json_object_set_new(in, "redirect_uris", json_pack("[ss]", "https://x.example.no/cb",
							   "https://x.example.no/cb"));
	create_bad(f, in, "twice");
	json_object_set_new(in, "redirect_uris", json_pack("[s]", "http://x.example.no/cb"));
	create_bad(f, in, "redirect_uris[0]: URI must use https");
	json_object_set_new(in, "redirect_uris", json_pack("[s]", "https://x.example.no/cb"));
	json_object_del(in, "post_logout_redirect_uris");
	create_bad(f, in, "post_logout_redirect_uris is required");
	json_object_set_new(in, "post_logout_redirect_uris",
			    json_pack("[s]", "https://x.example.no/#bye"));
	create_bad(f, in, "post_logout_redirect_uris[0]");

	json_decref(in);
	create_bad(f, json_null(), "JSON object");
}

static void
test_test_env_allows_http(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client();

	json_object_set_new(in, "redirect_uris", json_pack("[s]", "http://localhost:3000/cb"));
	json_object_set_new(in, "post_logout_redirect_uris",
			    json_pack("[s]", "http://localhost:3000/"));
	create_bad(f, in, "redirect_uris[0]");
	f->app.test_env = true;
	json_decref(create_ok(f, in, NULL));
	f->app.test_env = false;
	json_decref(in);
}

/*
 * spec §3: the front-channel logout URI is in the same domain as a redirect
 * URI: the same registrable domain (one label below a public suffix of the
 * Public Suffix List), never a sibling under a public suffix, and an IP
 * address or a name without a registrable domain only as the same host.
 */
static void
test_frontchannel_domain(void **state)
{
	static const struct {
		const char *redirect, *fc;
		bool ok;
	} cases[] = {
		{ "https://x.example.no/cb", "https://y.example.no/fc", true },
		{ "https://x.example.no/cb", "https://example.no/fc", true },
		{ "https://example.no/cb", "https://a.b.example.no/fc", true },
		{ "https://x.example.no/cb", "https://LOGOUT.Example.NO/fc", true },
		{ "https://x.example.no/cb", "https://x.example.no:8443/fc", true },
		{ "https://x.example.no/cb", "https://x.example.com/fc", false },
		{ "https://x.example.no/cb", "https://evilexample.no/fc", false },
		{ "https://x.example.no/cb", "https://example.no.evil.com/fc", false },
		/* Siblings under a public suffix belong to different owners. */
		{ "https://etat.oslo.no/cb", "https://other.oslo.no/fc", false },
		{ "https://etat.oslo.no/cb", "https://www.etat.oslo.no/fc", true },
		{ "https://a.github.io/cb", "https://b.github.io/fc", false },
		{ "https://shop.a.co.uk/cb", "https://a.co.uk/fc", true },
		{ "https://a.co.uk/cb", "https://b.co.uk/fc", false },
		{ "https://kari.priv.no/cb", "https://ola.priv.no/fc", false },
		/* IP addresses and lone names: the same host only. */
		{ "https://10.0.0.1/cb", "https://10.0.0.1/fc", true },
		{ "https://10.0.0.1/cb", "https://10.0.0.2/fc", false },
		{ "https://10.0.1.1/cb", "https://11.0.1.1/fc", false },
		{ "https://[2001:db8::1]/cb", "https://[2001:db8::2]/fc", false },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *in = web_client();

		json_object_set_new(in, "redirect_uris", json_pack("[s]", cases[i].redirect));
		json_object_set_new(in, "frontchannel_logout_uri", json_string(cases[i].fc));
		if (cases[i].ok)
			json_decref(create_ok(f, in, NULL));
		else
			create_bad(f, in, "domain of a registered redirect URI");
		json_decref(in);
	}
}

static void
test_frontchannel_and_uri(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *doc;

	json_object_set_new(in, "frontchannel_logout_uri", json_string("https://x.example.com/fc"));
	create_bad(f, in, "domain of a registered redirect URI");
	json_object_set_new(in, "frontchannel_logout_uri", json_string("http://x.example.no/fc"));
	create_bad(f, in, "frontchannel_logout_uri");
	json_object_set_new(in, "frontchannel_logout_uri", json_string("https://X.example.no/fc"));
	json_object_set_new(in, "frontchannel_logout_session_required", json_true());
	json_object_set_new(in, "sso_disabled", json_true());
	doc = create_ok(f, in, NULL);
	assert_true(reg_client_bool(doc, "frontchannel_logout_session_required"));
	assert_true(reg_client_bool(doc, "sso_disabled"));
	json_decref(doc);
	json_object_set_new(in, "sso_disabled", json_string("true"));
	create_bad(f, in, "sso_disabled");
	json_object_set_new(in, "sso_disabled", json_false());

	json_object_set_new(in, "client_uri", json_string("javascript:alert(1)"));
	create_bad(f, in, "client_uri");
	json_object_set_new(in, "client_uri", json_string("https://www.example.no/"));
	json_decref(create_ok(f, in, NULL));
	json_decref(in);
}

static void
test_orgno_and_client_id(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *doc;
	struct err e = { 0 };
	json_t *out = NULL;
	char *s = NULL;

	json_object_set_new(in, "client_orgno", json_string("991825828"));
	create_bad(f, in, "client_orgno");
	json_object_set_new(in, "client_orgno", json_string("99182582"));
	create_bad(f, in, "client_orgno");
	json_object_set_new(in, "client_orgno", json_integer(991825827));
	create_bad(f, in, "client_orgno");
	/* Hostile: a valid number with a NUL and more after it, or a NUL inside nine bytes. */
	json_object_set_new(in, "client_orgno", json_stringn("991825827\0" "99", 12));
	create_bad(f, in, "client_orgno");
	json_object_set_new(in, "client_orgno", json_stringn("99182582\0", 9));
	create_bad(f, in, "client_orgno");
	json_object_set_new(in, "client_orgno", json_string("991825827"));

	json_object_set_new(in, "client_id", json_string("bad id"));
	create_bad(f, in, "client_id");
	json_object_set_new(in, "client_id", json_string("x/../y"));
	create_bad(f, in, "client_id");
	json_object_set_new(in, "client_id", json_string("demo"));
	doc = create_ok(f, in, NULL);
	assert_string_equal(reg_client_str(doc, "client_id"), "demo");
	assert_string_equal(reg_client_str(doc, "client_orgno"), "991825827");
	json_decref(doc);
	/* The same id twice: ERR_EXISTS, and no secret leaks out. */
	assert_int_equal(reg_client_create(&f->app, in, &out, &s, &e), ERR_EXISTS);
	assert_null(out);
	assert_null(s);
	json_decref(in);
}

static void
test_idporten_scopes(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *sc, *out = NULL;
	struct err e = { 0 };

	json_object_set_new(in, "scopes", json_pack("[ss]", "openid", "krr:user/kontaktinfo"));
	create_bad(f, in, "only have the scopes openid and profile");
	json_object_set_new(in, "scopes", json_pack("[s]", "profile"));
	create_bad(f, in, "must include openid");
	json_object_set_new(in, "scopes", json_pack("[s]", "openid"));
	json_decref(create_ok(f, in, NULL));

	/* api_klient: each scope must exist, be active and allow the type. */
	json_object_set_new(in, "integration_type", json_string("api_klient"));
	json_object_set_new(in, "scopes", json_pack("[ss]", "openid", "nav:test/api"));
	create_bad(f, in, "unknown scope nav:test/api");
	sc = json_pack("{s:s, s:s, s:b}", "name", "nav:test/api", "description", "Test API",
		       "active", 0);
	assert_int_equal(reg_scope_put(&f->app, sc, &out, &e), 0);
	json_decref(out);
	create_bad(f, in, "not active");
	json_object_set_new(sc, "active", json_true());
	json_object_set_new(sc, "allowed_integration_types", json_pack("[s]", "maskinporten"));
	assert_int_equal(reg_scope_put(&f->app, sc, &out, &e), 0);
	json_decref(out);
	create_bad(f, in, "not allowed for integration_type api_klient");
	json_object_set_new(sc, "allowed_integration_types", json_pack("[s]", "api_klient"));
	assert_int_equal(reg_scope_put(&f->app, sc, &out, &e), 0);
	json_decref(out);
	json_decref(create_ok(f, in, NULL));
	/* Built-in, operator-granted introspection scope; malformed names. */
	json_object_set_new(in, "scopes", json_pack("[s]", "idporten:token.introspection"));
	json_decref(create_ok(f, in, NULL));
	json_object_set_new(in, "scopes", json_pack("[s]", "NAV:Test"));
	create_bad(f, in, "unknown scope");
	json_object_set_new(in, "scopes", json_array());
	json_decref(create_ok(f, in, NULL)); /* empty means the default */
	json_decref(sc);
	json_decref(in);
}

/* An edit that another writer overtakes between its read and its write, once. */
struct race {
	struct fixture *f;
	const char *id;
	int (*writer)(struct fixture *f, const char *id);
	int calls;
};

static int
race_apply(const json_t *prev, json_t *doc, void *arg, struct err *e)
{
	struct race *r = arg;

	(void)prev;
	(void)e;
	if (r->calls++ == 0)
		assert_int_equal(r->writer(r->f, r->id), 0);
	return json_object_set_new(doc, "client_name", json_string("renamed"));
}

static int
race_rotate(struct fixture *f, const char *id)
{
	struct err e = { 0 };
	char *secret = NULL;
	int rc = reg_client_rotate_secret(&f->app, id, &secret, &e);

	free(secret);
	return rc;
}

static int
race_delete(struct fixture *f, const char *id)
{
	struct err e = { 0 };

	return reg_client_delete(&f->app, id, &e);
}

/*
 * Two changes from the same stored revision: the later write is made again
 * on the earlier one's result instead of overwriting it, so an update never
 * brings back a rotated-away secret or re-activates a deactivated client.
 */
static void
test_concurrent_edits(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *doc, *stored = NULL, *out = NULL;
	struct err e = { 0 };
	char *hash0;
	const char *id;
	struct race r = { f, NULL, race_rotate, 0 };

	doc = create_ok(f, in, NULL);
	id = reg_client_str(doc, "client_id");
	r.id = id;
	hash0 = strdup(reg_client_str(doc, "client_secret_sha256"));
	assert_int_equal(reg_client_edit_as(&f->app, &reg_operator, id, race_apply, &r, NULL, &out,
					    &e),
			 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(store_call(f->app.store, registry, client_get, id, &stored, &e), 0);
	assert_true(json_equal(stored, out));
	assert_string_equal(reg_client_str(stored, "client_name"), "renamed");
	assert_string_not_equal(reg_client_str(stored, "client_secret_sha256"), hash0);
	assert_int_equal(json_integer_value(json_object_get(stored, "rev")), 2);
	json_decref(stored);
	json_decref(out);

	/* Deactivated meanwhile: the edit finds no active client and writes nothing. */
	r = (struct race){ f, id, race_delete, 0 };
	assert_int_equal(reg_client_edit_as(&f->app, &reg_operator, id, race_apply, &r, NULL, NULL,
					    &e),
			 ERR_NOTFOUND);
	assert_int_equal(store_call(f->app.store, registry, client_get, id, &stored, &e), 0);
	assert_false(json_is_true(json_object_get(stored, "active")));
	assert_int_equal(json_integer_value(json_object_get(stored, "rev")), 3);
	/* The write count stays inside: not shown, and ignored when sent back. */
	out = reg_client_public(stored);
	assert_null(json_object_get(out, "rev"));
	json_decref(out);
	json_decref(stored);
	free(hash0);
	json_decref(doc);
	json_decref(in);
}

static void
test_secret_lifecycle(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *doc, *stored = NULL;
	char *secret = NULL, *secret2 = NULL, *dump, wrong[TOKEN_CHARS + 1];
	struct err e = { 0 };
	const char *id;

	doc = create_ok(f, in, &secret);
	id = reg_client_str(doc, "client_id");
	assert_true(secret_ok(doc, str_c(secret)));
	memcpy(wrong, secret, sizeof(wrong));
	wrong[5] = wrong[5] == 'A' ? 'B' : 'A';
	assert_false(secret_ok(doc, str_c(wrong)));
	assert_false(secret_ok(doc, (struct str){ secret, TOKEN_CHARS - 1 }));
	assert_false(secret_ok(doc, STR_LIT("")));
	assert_false(secret_ok(doc, STR_NULL));
	/* The hash itself is not a password. */
	assert_false(secret_ok(doc, str_c(reg_client_str(doc, "client_secret_sha256"))));

	/* Nothing in the store holds the clear secret. */
	assert_int_equal(store_call(f->app.store, registry, client_get, id, &stored, &e), 0);
	dump = json_dumps(stored, 0);
	assert_null(strstr(dump, secret));
	free(dump);
	json_decref(stored);

	/* Expired after 360 days (spec §6.3). */
	time_set_offset(359 * 86400LL);
	assert_true(secret_ok(doc, str_c(secret)));
	time_set_offset(360 * 86400LL + 1);
	assert_false(secret_ok(doc, str_c(secret)));
	time_set_offset(0);

	/* Rotation: the old one stops working, the new one works. */
	assert_int_equal(reg_client_rotate_secret(&f->app, id, &secret2, &e), 0);
	assert_string_not_equal(secret, secret2);
	assert_int_equal(reg_client_load(&f->app, id, &stored, &e), 0);
	assert_false(secret_ok(stored, str_c(secret)));
	assert_true(secret_ok(stored, str_c(secret2)));
	json_decref(stored);

	/* An unknown client cannot rotate. */
	assert_int_equal(reg_client_rotate_secret(&f->app, "no-such-client", &dump, &e),
			 ERR_NOTFOUND);
	assert_null(dump);
	free(secret2);
	free(secret);
	json_decref(doc);
	json_decref(in);
}

static void
test_update_rules(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *doc, *upd, *out = NULL, *loaded = NULL;
	char *secret = NULL, *secret2 = NULL, id[64];
	struct err e = { 0 };

	doc = create_ok(f, in, &secret);
	snprintf(id, sizeof(id), "%s", reg_client_str(doc, "client_id"));

	/* Spec §6.1: integration_type is immutable; client_id too. */
	upd = reg_client_public(doc);
	json_object_set_new(upd, "integration_type", json_string("api_klient"));
	assert_int_equal(reg_client_update(&f->app, id, upd, &out, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "integration_type cannot be changed"));
	json_object_set_new(upd, "integration_type", json_string("idporten"));
	json_object_set_new(upd, "client_id", json_string("other"));
	assert_int_equal(reg_client_update(&f->app, id, upd, &out, &e), ERR_INVAL);
	json_object_del(upd, "client_id");
	json_object_set_new(upd, "wat", json_true());
	assert_int_equal(reg_client_update(&f->app, id, upd, &out, &e), ERR_INVAL);
	json_object_del(upd, "wat");

	/* A GET sent back unchanged (with server fields) is accepted; secret kept. */
	json_object_set_new(upd, "client_name", json_string("Nytt navn"));
	assert_int_equal(reg_client_update(&f->app, id, upd, &out, &e), 0);
	assert_string_equal(reg_client_str(out, "client_name"), "Nytt navn");
	assert_string_equal(reg_client_str(out, "created"), reg_client_str(doc, "created"));
	assert_true(secret_ok(out, str_c(secret)));
	json_decref(out);

	/* client_secret_basic -> post keeps the secret. */
	json_object_set_new(upd, "token_endpoint_auth_method", json_string("client_secret_post"));
	assert_int_equal(reg_client_update_ex(&f->app, id, upd, &out, &secret2, &e), 0);
	assert_null(secret2);
	assert_true(secret_ok(out, str_c(secret)));
	json_decref(out);

	/* Away from client_secret_* deletes it (spec §6.3). */
	json_object_set_new(upd, "token_endpoint_auth_method", json_string("private_key_jwt"));
	assert_int_equal(reg_client_update(&f->app, id, upd, &out, &e), 0);
	assert_null(json_object_get(out, "client_secret_sha256"));
	assert_null(json_object_get(out, "client_secret_expires_at"));
	assert_false(secret_ok(out, str_c(secret)));
	json_decref(out);
	assert_int_equal(reg_client_rotate_secret(&f->app, id, &secret2, &e), ERR_INVAL);

	/* Back to a secret method makes a new one, returned once. */
	json_object_set_new(upd, "token_endpoint_auth_method", json_string("client_secret_basic"));
	json_object_del(upd, "client_secret_expires_at");
	assert_int_equal(reg_client_update_ex(&f->app, id, upd, &out, &secret2, &e), 0);
	assert_non_null(secret2);
	assert_true(secret_ok(out, str_c(secret2)));
	assert_false(secret_ok(out, str_c(secret)));
	json_decref(out);

	/* Invalid update leaves the stored client as it was. */
	json_object_set_new(upd, "redirect_uris", json_pack("[s]", "https://x.example.no/#f"));
	assert_int_equal(reg_client_update(&f->app, id, upd, &out, &e), ERR_INVAL);
	assert_null(out);
	assert_int_equal(reg_client_load(&f->app, id, &loaded, &e), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(loaded,
									      "redirect_uris"), 0)),
			    "https://x.example.no/cb");
	assert_true(secret_ok(loaded, str_c(secret2)));
	json_decref(loaded);

	/* Delete deactivates: gone for the runtime and for changes, row kept. */
	assert_int_equal(reg_client_delete(&f->app, id, &e), 0);
	assert_int_equal(reg_client_load(&f->app, id, &loaded, &e), ERR_NOTFOUND);
	assert_null(loaded);
	assert_int_equal(reg_client_delete(&f->app, id, &e), ERR_NOTFOUND);
	assert_int_equal(reg_client_update(&f->app, id, upd, &out, &e), ERR_NOTFOUND);
	assert_int_equal(store_call(f->app.store, registry, client_get, id, &loaded, &e), 0);
	assert_false(reg_client_bool(loaded, "active"));
	json_decref(loaded);
	assert_int_equal(reg_client_load(&f->app, "../../etc", &loaded, &e), ERR_NOTFOUND);

	free(secret);
	free(secret2);
	json_decref(upd);
	json_decref(doc);
	json_decref(in);
}

static json_t *
fresh_jwk(void)
{
	struct jose_key *k = NULL;
	struct err e = { 0 };
	json_t *jwk;

	assert_int_equal(jose_key_generate(2048, &k, &e), 0);
	jwk = jose_key_public_jwk(k);
	jose_key_free(k);
	assert_non_null(jwk);
	return jwk;
}

static void
test_keys(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *doc, *jwk, *other, *bad, *loaded = NULL, *out = NULL, *upd;
	struct err e = { 0 };
	char id[64];

	json_object_set_new(in, "token_endpoint_auth_method", json_string("private_key_jwt"));
	doc = create_ok(f, in, NULL);
	snprintf(id, sizeof(id), "%s", reg_client_str(doc, "client_id"));
	jwk = fresh_jwk();
	assert_int_equal(reg_client_add_key(&f->app, id, jwk, &e), 0);
	/* The same key again restarts its year; another key under its kid is refused. */
	assert_int_equal(reg_client_add_key(&f->app, id, jwk, &e), 0);
	other = fresh_jwk();
	json_object_set(other, "kid", json_object_get(jwk, "kid"));
	assert_int_equal(reg_client_add_key(&f->app, id, other, &e), ERR_EXISTS);
	json_decref(other);

	/* Private material, wrong use/alg/kty, bad kid, certificates. */
	bad = json_deep_copy(jwk);
	json_object_set_new(bad, "kid", json_string("k2"));
	json_object_set_new(bad, "d", json_string("AAAA"));
	assert_int_equal(reg_client_add_key(&f->app, id, bad, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "private"));
	json_object_del(bad, "d");
	json_object_set_new(bad, "use", json_string("enc"));
	assert_int_equal(reg_client_add_key(&f->app, id, bad, &e), ERR_INVAL);
	json_object_set_new(bad, "use", json_string("sig"));
	json_object_set_new(bad, "alg", json_string("HS256"));
	assert_int_equal(reg_client_add_key(&f->app, id, bad, &e), ERR_INVAL);
	json_object_set_new(bad, "alg", json_string("RS256"));
	json_object_set_new(bad, "kid", json_string("k 2"));
	assert_int_equal(reg_client_add_key(&f->app, id, bad, &e), ERR_INVAL);
	json_object_set_new(bad, "kid", json_string("k2"));
	json_object_set_new(bad, "n", json_string("AQAB"));
	assert_int_equal(reg_client_add_key(&f->app, id, bad, &e), ERR_INVAL);
	json_decref(bad);

	/* A JWKS with one good and one bad key adds neither; a good one adds both at once. */
	{
		json_t *good = fresh_jwk(), *hs = fresh_jwk(), *set, *keys = NULL, *trail = NULL;
		size_t n;

		json_object_set_new(hs, "alg", json_string("HS256"));
		set = json_pack("{s:[O,O]}", "keys", good, hs);
		assert_int_equal(reg_client_jwks_get_as(&f->app, &reg_operator, id, &keys, &e), 0);
		n = json_array_size(json_object_get(keys, "keys"));
		json_decref(keys);
		assert_int_equal(reg_client_add_key(&f->app, id, set, &e), ERR_INVAL);
		assert_int_equal(reg_client_jwks_get_as(&f->app, &reg_operator, id, &keys, &e), 0);
		assert_int_equal(json_array_size(json_object_get(keys, "keys")), n);
		json_decref(keys);
		json_decref(set);
		set = json_pack("[O]", good);
		assert_int_equal(reg_client_add_key(&f->app, id, set, &e), 0);
		assert_int_equal(reg_client_jwks_get_as(&f->app, &reg_operator, id, &keys, &e), 0);
		assert_int_equal(json_array_size(json_object_get(keys, "keys")), n + 1);
		json_decref(keys);
		/* Every add is in the audit trail: the three that went in above. */
		assert_int_equal(reg_audit_list(&f->app, "id", id, 100, &trail, &e), 0);
		n = 0;
		for (size_t i = 0; i < json_array_size(trail); i++)
			n += strcmp(reg_client_str(json_array_get(trail, i), "action"), "add") == 0;
		assert_int_equal(n, 3);
		json_decref(trail);
		json_decref(set);
		json_decref(hs);
		json_decref(good);
	}

	/* At most five keys (spec §7): two are in already. */
	for (int i = 0; i < 3; i++) {
		json_t *k = fresh_jwk();

		assert_int_equal(reg_client_add_key(&f->app, id, k, &e), 0);
		json_decref(k);
	}
	other = fresh_jwk();
	assert_int_equal(reg_client_add_key(&f->app, id, other, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "more than 5"));
	json_decref(other);

	assert_int_equal(reg_client_load(&f->app, id, &loaded, &e), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(loaded, "jwks"), "keys")),
			 5);
	assert_int_equal(json_object_size(json_object_get(loaded, "jwks_posted")), 5);
	/* An update that leaves jwks out keeps the keys. */
	upd = reg_client_public(loaded);
	json_object_del(upd, "jwks");
	assert_int_equal(reg_client_update(&f->app, id, upd, &out, &e), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(out, "jwks"), "keys")), 5);
	json_decref(out);
	/* jwks on create: a bare array is accepted, a private key is not. */
	json_object_set_new(in, "jwks", json_pack("[O]", jwk));
	json_decref(create_ok(f, in, NULL));
	json_object_set_new(in, "jwks", json_pack("{s:[O], s:s}", "keys", jwk, "x", "y"));
	create_bad(f, in, "jwks");
	json_object_set_new(in, "jwks", json_pack("{s:[]}", "keys"));
	create_bad(f, in, "at least one key");

	json_decref(upd);
	json_decref(loaded);
	json_decref(jwk);
	json_decref(doc);
	json_decref(in);
}

static void
test_accessors(void **state)
{
	json_t *doc = json_pack("{s:s, s:i, s:b, s:[ss], s:s}", "a", "x", "n", 7, "t", 1, "l",
				"p", "q", "ni", "3");

	assert_string_equal(reg_client_str(doc, "a"), "x");
	assert_null(reg_client_str(doc, "n"));
	assert_null(reg_client_str(doc, "missing"));
	assert_int_equal(reg_client_int(doc, "n", 1), 7);
	assert_int_equal(reg_client_int(doc, "ni", 1), 1);
	assert_int_equal(reg_client_int(doc, "missing", 42), 42);
	assert_true(reg_client_bool(doc, "t"));
	assert_false(reg_client_bool(doc, "a"));
	assert_false(reg_client_bool(doc, "missing"));
	assert_true(reg_json_array_has(json_object_get(doc, "l"), "q"));
	assert_false(reg_json_array_has(json_object_get(doc, "l"), "r"));
	assert_false(reg_json_array_has(json_object_get(doc, "a"), "x"));
	json_decref(doc);
	/* a client without a secret hash refuses every secret */
	doc = json_pack("{s:s}", "client_id", "c");
	assert_false(secret_ok(doc, STR_LIT("x")));
	json_decref(doc);
}

#ifndef NDEBUG
static struct porten *load_app;

/* expect_change_stopped's second look: the client with this id. */
static void
load_again(void *id)
{
	json_t *doc = NULL;

	reg_client_load(load_app, id, &doc, &(struct err){ 0 });
	json_decref(doc);
}
#endif

/*
 * Loads go through the in-memory cache (registry/cache.c): every change,
 * made by this process or straight in the store by another, is seen by the
 * next load.  Loads share one document, which nobody may change; a build
 * with assertions stops a caller that does.
 */
static void
test_load_cache(void **state)
{
	struct fixture *f = *state;
	json_t *in = web_client(), *doc, *upd, *out = NULL, *a = NULL, *b = NULL;
	char *secret = NULL, id[64];
	struct err e = { 0 };

	doc = create_ok(f, in, &secret);
	snprintf(id, sizeof(id), "%s", reg_client_str(doc, "client_id"));
	assert_int_equal(reg_client_load(&f->app, id, &a, &e), 0);
	assert_string_equal(reg_client_str(a, "client_name"), "Kommune X");
	/* the second load shares the first one's document */
	assert_int_equal(reg_client_load(&f->app, id, &b, &e), 0);
	assert_ptr_equal(a, b);
	json_decref(b);
#ifndef NDEBUG
	/* a caller that changes it is stopped at the next load */
	load_app = &f->app;
	expect_change_stopped(a, load_again, id);
#endif
	json_decref(a);

	/* a change through the registry */
	upd = reg_client_public(doc);
	json_object_set_new(upd, "client_name", json_string("Nytt navn"));
	assert_int_equal(reg_client_update(&f->app, id, upd, &out, &e), 0);
	json_decref(out);
	assert_int_equal(reg_client_load(&f->app, id, &a, &e), 0);
	assert_string_equal(reg_client_str(a, "client_name"), "Nytt navn");

	/* a change straight in the store (another node, portenctl) */
	b = json_deep_copy(a);
	json_decref(a);
	json_object_set_new(b, "client_name", json_string("Fra en annen node"));
	assert_int_equal(store_call(f->app.store, registry, client_update, id, b, &e), 0);
	json_decref(b);
	assert_int_equal(reg_client_load(&f->app, id, &a, &e), 0);
	assert_string_equal(reg_client_str(a, "client_name"), "Fra en annen node");
	json_decref(a);

	/* deactivated and deleted clients are gone at once */
	assert_int_equal(reg_client_delete(&f->app, id, &e), 0);
	assert_int_equal(reg_client_load(&f->app, id, &a, &e), ERR_NOTFOUND);
	assert_int_equal(reg_client_load(&f->app, "no-such-client", &a, &e), ERR_NOTFOUND);

	json_decref(upd);
	json_decref(doc);
	json_decref(in);
	free(secret);
}

/*
 * The generation as the cache reads it, from a stand-in meta_get: a fixed
 * value, so a cached document stays in use, or a hostile one (empty,
 * absent, too long), which must turn the cache off rather than overflow
 * or match.
 */
static const char *gen_value;

static int
gen_meta_get(struct store *s, const char *name, char **value, struct err *e)
{
	(void)s;
	(void)name;
	(void)e;
	*value = gen_value != NULL ? strdup(gen_value) : NULL;
	return 0;
}

/* Rename the client straight in the store, then load it: the name seen. */
static char *
rename_and_load(struct fixture *f, const struct store_registry_ops *real, const char *id,
		const char *name)
{
	struct err e = { 0 };
	json_t *doc = NULL;
	char *seen;

	assert_int_equal(real->client_get(f->app.store, id, &doc, &e), 0);
	json_object_set_new(doc, "client_name", json_string(name));
	assert_int_equal(real->client_update(f->app.store, id, doc, &e), 0);
	json_decref(doc);
	assert_int_equal(reg_client_load(&f->app, id, &doc, &e), 0);
	seen = strdup(reg_client_str(doc, "client_name"));
	json_decref(doc);
	return seen;
}

static void
test_load_cache_gen_hostile(void **state)
{
	struct fixture *f = *state;
	const struct store_registry_ops *real = f->app.store->registry;
	struct store_registry_ops ops = *real;
	json_t *in = web_client(), *doc, *a = NULL;
	char *secret = NULL, id[64], longest[64], too_long[65], huge[4097], *seen;
	struct err e = { 0 };
	const char *hostile[] = { "", NULL, too_long, huge };

	memset(longest, '7', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(too_long, '7', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	memset(huge, 'x', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';

	doc = create_ok(f, in, &secret);
	snprintf(id, sizeof(id), "%s", reg_client_str(doc, "client_id"));
	ops.meta_get = gen_meta_get;
	f->app.store->registry = &ops;

	/* a generation that does not move keeps the cached document (63 characters fit) */
	gen_value = longest;
	assert_int_equal(reg_client_load(&f->app, id, &a, &e), 0);
	json_decref(a);
	seen = rename_and_load(f, real, id, "Ikke sett");
	assert_string_equal(seen, "Kommune X");
	free(seen);

	/* one that cannot be used: every load reads the store, the second one too */
	for (size_t i = 0; i < 2 * sizeof(hostile) / sizeof(hostile[0]); i++) {
		char name[32];

		gen_value = hostile[i / 2];
		snprintf(name, sizeof(name), "Navn %zu", i);
		seen = rename_and_load(f, real, id, name);
		assert_string_equal(seen, name);
		free(seen);
	}

	f->app.store->registry = real;
	json_decref(doc);
	json_decref(in);
	free(secret);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_web, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults_public_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_combinations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ansattporten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integration_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifetimes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fields_and_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_test_env_allows_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frontchannel_and_uri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frontchannel_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orgno_and_client_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idporten_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_edits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_cache_gen_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test(test_accessors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
