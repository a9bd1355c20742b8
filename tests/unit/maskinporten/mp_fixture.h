/*
 * Shared fixture of the Maskinporten tests: an in-memory store, a hand-built
 * struct porten with an ID-porten and a Maskinporten issuer, a test PKI on
 * disk (root, CRL revoking one certificate), scopes with access lists and a
 * delegation, clients registered through the registry, and grants signed
 * here with OpenSSL (any header, any claims).  Include after cmocka.h.
 */
#ifndef PORTEN_TESTS_MP_FIXTURE_H
#define PORTEN_TESTS_MP_FIXTURE_H

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services.h"
#include "../jose/x509_fixture.h"
#include "app/app.h"
#include "core/arena.h"
#include "core/b64.h"
#include "core/cfg.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "http/http.h"
#include "maskinporten/mp.h"
#include "registry/registry.h"
#include "store/store.h"

#define FX_IDP "https://idporten.test"
#define FX_MP "https://idporten.test/maskinporten/"
#define FX_ORG_A "910000004"   /* client owner, consumer */
#define FX_ORG_B "910000012"   /* another organisation */
#define FX_ORG_P "910000020"   /* scope owner */
#define FX_ORG_S "910000039"   /* supplier */
#define FX_ORG_C "910000047"   /* customer who delegates */
#define FX_REVOKED 77
#define FX_PID "21879498012"   /* synthetic */

static struct porten fx_app;
static struct cfg fx_cfg;
static struct issuer *fx_mp;
static char fx_dir[64];
static EVP_PKEY *fx_key1, *fx_key2, *fx_root_key, *fx_leaf_key;
static X509 *fx_root;
/* x5c arrays (JSON text) of business certificates */
static char *fx_x5c_valid, *fx_x5c_revoked, *fx_x5c_wrong_org, *fx_x5c_expired;
/* client ids */
static char *fx_keyed, *fx_certified, *fx_supplier, *fx_supplied, *fx_stranger, *fx_apiklient;

static inline char *
fx_path(const char *name)
{
	static char buf[4][128];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", fx_dir, name);
	return buf[k];
}

static inline char *
fx_b64(const void *p, size_t n)
{
	char *out = malloc(b64url_len(n) + 1);

	assert_non_null(out);
	b64url_encode(p, n, out);
	return out;
}

static inline json_t *
fx_jwk(EVP_PKEY *pk, const char *kid)
{
	BIGNUM *bn = NULL;
	unsigned char raw[1024];
	char *n, *e;
	json_t *j;
	int len;

	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn), 1);
	len = BN_bn2bin(bn, raw);
	BN_free(bn);
	n = fx_b64(raw, (size_t)len);
	bn = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &bn), 1);
	len = BN_bn2bin(bn, raw);
	BN_free(bn);
	e = fx_b64(raw, (size_t)len);
	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid, "use", "sig", "alg",
		      "RS256", "n", n, "e", e);
	free(n);
	free(e);
	return j;
}

static inline char *
fx_x5c(X509 *leaf)
{
	char *der = fx_b64der(leaf), *out = NULL;

	assert_true(asprintf(&out, "[\"%s\"]", der) > 0);
	free(der);
	return out;
}

static inline void
fx_scope(const char *name, const char *extra_json)
{
	json_t *in = json_pack("{s:s,s:s,s:[s],s:s}", "name", name, "description", "test",
			       "allowed_integration_types", "maskinporten", "owner_orgno",
			       FX_ORG_P), *out = NULL;
	struct err e = { 0 };

	if (extra_json != NULL) {
		json_t *x = json_loads(extra_json, 0, NULL);

		assert_non_null(x);
		json_object_update(in, x);
		json_decref(x);
	}
	if (reg_scope_put(&fx_app, in, &out, &e) != 0)
		fprintf(stderr, "scope %s: %s\n", name, e.msg);
	assert_non_null(out);
	json_decref(in);
	json_decref(out);
}

/* A registered client; extra_json (or NULL) adds or overrides fields, as in fx_scope. */
static inline char *
fx_client_x(const char *itype, const char *owner, const char *scopes_json, EVP_PKEY *key,
	    const char *kid, const char *extra_json)
{
	json_t *in = json_pack("{s:s,s:s,s:s,s:s}", "client_name", "m", "description", "machine",
			       "integration_type", itype, "client_orgno", owner), *out = NULL;
	struct err e = { 0 };
	char *id;

	json_object_set_new(in, "scopes", json_loads(scopes_json, 0, NULL));
	if (strcmp(itype, "maskinporten") == 0) {
		json_object_set_new(in, "grant_types", json_pack("[s]", MP_GRANT_TYPE));
	} else {
		json_object_set_new(in, "redirect_uris",
				    json_pack("[s]", "https://x.example.no/cb"));
		json_object_set_new(in, "post_logout_redirect_uris",
				    json_pack("[s]", "https://x.example.no/bye"));
		json_object_set_new(in, "token_endpoint_auth_method",
				    json_string("private_key_jwt"));
	}
	if (key != NULL)
		json_object_set_new(in, "jwks", json_pack("{s:[o]}", "keys", fx_jwk(key, kid)));
	if (extra_json != NULL) {
		json_t *x = json_loads(extra_json, 0, NULL);

		assert_non_null(x);
		json_object_update(in, x);
		json_decref(x);
	}
	if (reg_client_create(&fx_app, in, &out, NULL, &e) != 0)
		fprintf(stderr, "client: %s\n", e.msg);
	assert_non_null(out);
	id = strdup(json_string_value(json_object_get(out, "client_id")));
	json_decref(in);
	json_decref(out);
	return id;
}

static inline char *
fx_client(const char *itype, const char *owner, const char *scopes_json, EVP_PKEY *key,
	  const char *kid)
{
	return fx_client_x(itype, owner, scopes_json, key, kid, NULL);
}

static inline int
fx_setup(void **state)
{
	struct err e = { 0 };
	X509 *valid, *revoked, *wrong, *expired;

	(void)state;
	memset(&fx_app, 0, sizeof(fx_app));
	snprintf(fx_dir, sizeof(fx_dir), "/tmp/porten-mp-XXXXXX");
	if (mkdtemp(fx_dir) == NULL || service_cfg_load(&fx_cfg, porten_services, NULL, &e) != 0)
		return -1;
	fx_root_key = fx_rsa(2048);
	fx_leaf_key = fx_rsa(2048);
	fx_key1 = fx_rsa(2048);
	fx_key2 = fx_rsa(2048);
	fx_root = fx_cert_make(&(struct fx_cert){ .cn = "Root", .key = fx_root_key, .ca = 1,
						  .serial = 1, .to = 3650L * 86400 });
	valid = fx_cert_make(&(struct fx_cert){ .cn = "A", .serial_number = FX_ORG_A,
						.issuer = fx_root, .issuer_key = fx_root_key,
						.key = fx_leaf_key, .serial = 10 });
	revoked = fx_cert_make(&(struct fx_cert){ .cn = "A", .serial_number = FX_ORG_A,
						  .issuer = fx_root, .issuer_key = fx_root_key,
						  .key = fx_leaf_key, .serial = FX_REVOKED });
	wrong = fx_cert_make(&(struct fx_cert){ .cn = "B", .serial_number = FX_ORG_B,
						.issuer = fx_root, .issuer_key = fx_root_key,
						.key = fx_leaf_key, .serial = 11 });
	expired = fx_cert_make(&(struct fx_cert){ .cn = "A", .serial_number = FX_ORG_A,
						  .issuer = fx_root, .issuer_key = fx_root_key,
						  .key = fx_leaf_key, .serial = 12,
						  .from = -800L * 86400, .to = -400L * 86400 });
	fx_x5c_valid = fx_x5c(valid);
	fx_x5c_revoked = fx_x5c(revoked);
	fx_x5c_wrong_org = fx_x5c(wrong);
	fx_x5c_expired = fx_x5c(expired);
	X509_free(valid);
	X509_free(revoked);
	X509_free(wrong);
	X509_free(expired);
	fx_pem_write(fx_path("root.pem"), fx_root, NULL);
	fx_crl_write(fx_path("crl.pem"), fx_root, fx_root_key, FX_REVOKED, 7 * 86400);
	fx_cfg.maskinporten_ca = strdup(fx_path("root.pem"));
	fx_cfg.maskinporten_crl = strdup(fx_path("crl.pem"));
	fx_cfg.key_publish_delay = 0;
	fx_app.cfg = &fx_cfg;
	fx_app.test_env = true;
	memset(fx_app.kek.k, 7, sizeof(fx_app.kek.k));
	if (store_open(&fx_app.store, &(struct store_opts){ .target = ":memory:" }, &e) != 0)
		return -1;
	fx_app.issuers[0] = (struct issuer){ .kind = ISSUER_IDPORTEN, .iss = FX_IDP, .prefix = "",
					     .base = FX_IDP, .app = &fx_app };
	fx_app.issuers[1] = (struct issuer){ .kind = ISSUER_MASKINPORTEN, .iss = FX_MP,
					     .prefix = "/maskinporten",
					     .base = "https://idporten.test/maskinporten",
					     .app = &fx_app };
	fx_app.nissuers = 2;
	fx_mp = &fx_app.issuers[1];
	if (reg_keys_ensure(&fx_app, fx_mp, &e) != 0 || reg_trust_init(&fx_cfg, &e) != 0) {
		fprintf(stderr, "setup: %s\n", e.msg);
		return -1;
	}
	fx_scope("test:api", NULL);
	fx_scope("test:short", "{\"at_max_age\": 30}");
	fx_scope("test:closed", NULL);
	fx_scope("test:aud", NULL);
	{
		/* A scope stored with the audience attribute Porten once had: ignored. */
		json_t *doc = NULL;

		assert_int_equal(store_call(fx_app.store, registry, scope_get, "test:aud", &doc,
					    &e), 0);
		json_object_set_new(doc, "audience", json_pack("[s]", "https://api.example.no/"));
		assert_int_equal(store_call(fx_app.store, registry, scope_put, "test:aud", doc,
					    &e), 0);
		json_decref(doc);
	}
	fx_scope("test:deleg", "{\"delegation_source\": \"https://tt02.altinn.no/\"}");
	fx_scope("test:deleg.same", "{\"delegation_source\": \"https://tt02.altinn.no/\"}");
	fx_scope("test:deleg.other", "{\"delegation_source\": \"https://www.altinn.no/\"}");
	fx_scope("test:typed", NULL);
	fx_scope("test:off", NULL);
	fx_scope("idporten:dcr.read", "{\"owner_orgno\": \"991825827\"}");
	assert_int_equal(reg_scope_access_grant(&fx_app, "test:api", FX_ORG_A, NULL, &e), 0);
	assert_int_equal(reg_scope_access_grant(&fx_app, "test:short", FX_ORG_A, NULL, &e), 0);
	assert_int_equal(reg_scope_access_grant(&fx_app, "test:aud", FX_ORG_A, NULL, &e), 0);
	assert_int_equal(reg_scope_access_grant(&fx_app, "test:typed", FX_ORG_A, NULL, &e), 0);
	assert_int_equal(reg_scope_access_grant(&fx_app, "test:off", FX_ORG_A, NULL, &e), 0);
	assert_int_equal(reg_scope_access_grant(&fx_app, "idporten:dcr.read", FX_ORG_A, NULL, &e),
			 0);
	for (const char *const *d = (const char *const[]){ "test:deleg", "test:deleg.same",
							   "test:deleg.other", NULL }; *d; d++) {
		assert_int_equal(reg_scope_access_grant(&fx_app, *d, FX_ORG_C, NULL, &e), 0);
		assert_int_equal(reg_delegation_add(&fx_app, *d, FX_ORG_C, FX_ORG_S, NULL, &e), 0);
	}
	fx_keyed = fx_client("maskinporten", FX_ORG_A,
			     "[\"test:api\",\"test:short\",\"test:closed\",\"test:aud\","
			     "\"test:typed\",\"test:off\",\"idporten:dcr.read\"]", fx_key1, "k1");
	fx_certified = fx_client("maskinporten", FX_ORG_A, "[\"test:api\",\"idporten:dcr.read\"]",
				 NULL, NULL);
	fx_supplier = fx_client("maskinporten", FX_ORG_S,
				"[\"test:deleg\",\"test:deleg.same\",\"test:deleg.other\"]",
				fx_key1, "k1");
	/* Registered by the supplier for organisation A (selfservice-api.md §2). */
	fx_supplied = fx_client_x("maskinporten", FX_ORG_A, "[\"test:deleg\",\"test:api\"]",
				  fx_key1, "k1", "{\"supplier_orgno\": \"" FX_ORG_S "\"}");
	fx_stranger = fx_client("maskinporten", FX_ORG_B, "[\"test:deleg\"]", fx_key1, "k1");
	fx_apiklient = fx_client("api_klient", FX_ORG_A, "[\"openid\"]", fx_key1, "k1");
	/* Scope changes after registration: one deactivated, one no longer for maskinporten. */
	fx_scope("test:off", "{\"active\": false}");
	fx_scope("test:typed", "{\"allowed_integration_types\": [\"api_klient\"]}");
	return 0;
}

static inline int
fx_teardown(void **state)
{
	(void)state;
	time_set_offset(0);
	reg_trust_cleanup();
	reg_keys_cleanup();
	reg_cache_cleanup();     /* with assertions: a changed shared doc stops the test */
	store_close(fx_app.store);
	cfg_free(&fx_cfg);
	unlink(fx_path("root.pem"));
	unlink(fx_path("crl.pem"));
	rmdir(fx_dir);
	X509_free(fx_root);
	EVP_PKEY_free(fx_root_key);
	EVP_PKEY_free(fx_leaf_key);
	EVP_PKEY_free(fx_key1);
	EVP_PKEY_free(fx_key2);
	free(fx_x5c_valid);
	free(fx_x5c_revoked);
	free(fx_x5c_wrong_org);
	free(fx_x5c_expired);
	free(fx_keyed);
	free(fx_certified);
	free(fx_supplier);
	free(fx_supplied);
	free(fx_stranger);
	free(fx_apiklient);
	return 0;
}

/* A compact JWS of these header and payload texts: RS256 by pk, or HS256 keyed by hmac_key. */
static inline char *
fx_jws(EVP_PKEY *pk, const char *hmac_key, const char *hdr, const char *payload)
{
	char *h = fx_b64(hdr, strlen(hdr)), *p = fx_b64(payload, strlen(payload)), *s, *out = NULL;
	char *input = NULL;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);

	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	if (hmac_key != NULL) {
		unsigned int l = 0;

		HMAC(EVP_sha256(), hmac_key, (int)strlen(hmac_key), (unsigned char *)input,
		     strlen(input), sig, &l);
		siglen = l;
	} else {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
		assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input,
						strlen(input)), 1);
		EVP_MD_CTX_free(ctx);
	}
	s = fx_b64(sig, siglen);
	assert_true(asprintf(&out, "%s.%s", input, s) > 0);
	free(h);
	free(p);
	free(s);
	free(input);
	return out;
}

/*
 * Claims of a grant from client with scope, overrides merged in (JSON text;
 * null removes a claim).  now is the grant's clock.
 */
static inline char *
fx_claims(const char *client, const char *scope, int64_t now, const char *overrides)
{
	static unsigned counter;
	char jti[32];
	json_t *j, *o, *v;
	const char *k;
	char *s;

	snprintf(jti, sizeof(jti), "jti-%u-%lld", ++counter, (long long)now);
	j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "aud", FX_MP, "iss", client, "scope", scope,
		      "iat", (json_int_t)now, "exp", (json_int_t)now + 60, "jti", jti);
	if (overrides != NULL) {
		o = json_loads(overrides, 0, NULL);
		assert_non_null(o);
		json_object_foreach(o, k, v) {
			if (json_is_null(v))
				json_object_del(j, k);
			else
				json_object_set(j, k, v);
		}
		json_decref(o);
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* A grant signed with key1 under kid k1. */
static inline char *
fx_grant(const char *client, const char *scope, const char *overrides)
{
	char *c = fx_claims(client, scope, time_now(), overrides);
	char *a = fx_jws(fx_key1, NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", c);

	free(c);
	return a;
}

/* A grant with the business certificate x5c (JSON array text), signed by the leaf key. */
static inline char *
fx_cert_grant(const char *client, const char *x5c, const char *scope, const char *overrides)
{
	char *c = fx_claims(client, scope, time_now(), overrides), *h = NULL, *a;

	assert_true(asprintf(&h, "{\"alg\":\"RS256\",\"x5c\":%s}", x5c) > 0);
	a = fx_jws(fx_leaf_key, NULL, h, c);
	free(c);
	free(h);
	return a;
}

/* "Bearer " + the token the Maskinporten issuer gives for this grant, which it frees (malloc'd). */
static inline char *
fx_bearer(char *grant)
{
	struct mp_grant g;
	struct err e = { 0 };
	json_t *resp = NULL;
	int64_t now = time_now();
	char *h = NULL;

	if (mp_grant_validate(&fx_app, fx_mp, str_c(grant), now, &g, &e) != 0)
		print_error("grant: %s\n", e.msg);
	assert_int_equal(mp_token_issue(&fx_app, fx_mp, &g, now, &resp, &e), 0);
	mp_grant_clear(&g);
	assert_true(asprintf(&h, "Bearer %s",
			     json_string_value(json_object_get(resp, "access_token"))) > 0);
	json_decref(resp);
	free(grant);
	return h;
}

#endif
