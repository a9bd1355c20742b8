/*
 * Tests for admin/clients.c (spec/selfservice-api.md §4): a secret
 * rotation that has committed shows the new secret, whatever happens to a
 * read after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../maskinporten/mp_fixture.h"
#include "admin/admin_int.h"

#define ADMIN_AUD FX_IDP "/selfservice"

static char *fx_admin;    /* FX_ORG_A's Maskinporten client with idporten:dcr.modify */
static char *fx_target;   /* FX_ORG_A's client with a secret */

/* The store's registry operations, with client_get failing once a client update committed. */
static struct store_registry_ops fail_ops;
static const struct store_registry_ops *real_ops;
static bool updated;

static int
get_after_update(struct store *s, const char *client_id, json_t **doc, struct err *e)
{
	if (updated)
		return ERR(e, ERR_UNAVAILABLE, 503, NULL, "the store went away");
	return real_ops->client_get(s, client_id, doc, e);
}

static int
update_noted(struct store *s, const char *client_id, const json_t *doc, struct err *e)
{
	int rc = real_ops->client_update(s, client_id, doc, e);

	updated = updated || rc == 0;
	return rc;
}

static int
setup(void **state)
{
	json_t *in, *out = NULL;
	struct err e = { 0 };

	if (fx_setup(state) != 0)
		return -1;
	fx_scope("idporten:dcr.modify", "{\"owner_orgno\": \"991825827\"}");
	assert_int_equal(reg_scope_access_grant(&fx_app, "idporten:dcr.modify", FX_ORG_A, NULL,
						&e), 0);
	/* spec §2: the self-service scopes need a business certificate */
	fx_admin = fx_client("maskinporten", FX_ORG_A, "[\"idporten:dcr.modify\"]", NULL, NULL);
	in = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s],s:[s]}", "client_name", "web", "description",
		       "web", "integration_type", "api_klient", "client_orgno", FX_ORG_A,
		       "token_endpoint_auth_method", "client_secret_basic", "redirect_uris",
		       "https://x.example.no/cb", "post_logout_redirect_uris",
		       "https://x.example.no/bye");
	assert_int_equal(reg_client_create(&fx_app, in, &out, NULL, &e), 0);
	fx_target = strdup(json_string_value(json_object_get(out, "client_id")));
	json_decref(in);
	json_decref(out);
	return 0;
}

static int
teardown(void **state)
{
	free(fx_admin);
	free(fx_target);
	return fx_teardown(state);
}

/* "Bearer " + a token for the self-service API with scope (malloc'd). */
static char *
admin_token(const char *scope)
{
	return fx_bearer(fx_cert_grant(fx_admin, fx_x5c_valid, scope,
				       "{\"resource\": \"" ADMIN_AUD "\"}"));
}

/* POST /selfservice/clients/{id}/secret; the answer's body (new reference) and status. */
static json_t *
rotate(const char *client_id, int *status)
{
	struct http_req r = { 0 };
	struct http_resp w;
	char *authz = admin_token("idporten:dcr.modify");
	json_t *body;

	r.arena = arena_new();
	assert_non_null(r.arena);
	r.method = "POST";
	r.path = str_c(arena_printf(r.arena, "/selfservice/clients/%s/secret", client_id));
	r.headers.v = arena_alloc(r.arena, sizeof(struct http_param));
	r.headers.v[0].name = STR_LIT("authorization");
	r.headers.v[0].value = str_c(authz);
	r.headers.n = 1;
	memcpy(r.rid, "rid-test-0000003", 17);
	r.app = &fx_app;
	r.route_data = &fx_app.issuers[0];
	http_resp_init(&w, r.arena);
	adm_handle_client(&r, &w);
	*status = w.status;
	body = w.body.p ? json_loadb(w.body.p, w.body.len, 0, NULL) : NULL;
	if (w.status != 200)
		fprintf(stderr, "rotate: %d %.*s\n", w.status, (int)w.body.len, w.body.p);
	http_resp_free(&w);
	arena_free(r.arena);
	free(authz);
	return body;
}

/* The stored secret is the one shown: Basic with it passes. */
static bool
secret_is(const char *client_id, const char *secret)
{
	const struct client *c = NULL;
	struct err e = { 0 };
	bool ok;

	assert_int_equal(reg_client_find(&fx_app, client_id, &c, &e), 0);
	ok = reg_client_secret_matches(c, str_c(secret));
	reg_client_release(c);
	return ok;
}

static void
test_rotate(void **state)
{
	json_t *j;
	int status;

	(void)state;
	j = rotate(fx_target, &status);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "client_id")), fx_target);
	assert_true(json_integer_value(json_object_get(j, "client_secret_expires_at")) >
		    time_now());
	assert_true(secret_is(fx_target, json_string_value(json_object_get(j, "client_secret"))));
	json_decref(j);
}

/* A read after the committed rotation fails: the new secret is shown all the same. */
static void
test_rotate_then_store_fails(void **state)
{
	json_t *j;
	int status;

	(void)state;
	real_ops = fx_app.store->registry;
	fail_ops = *real_ops;
	fail_ops.client_get = get_after_update;
	fail_ops.client_update = update_noted;
	updated = false;
	fx_app.store->registry = &fail_ops;
	j = rotate(fx_target, &status);
	fx_app.store->registry = real_ops;
	assert_true(updated);
	assert_int_equal(status, 200);
	assert_true(json_integer_value(json_object_get(j, "client_secret_expires_at")) >
		    time_now());
	assert_true(secret_is(fx_target, json_string_value(json_object_get(j, "client_secret"))));
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_rotate_then_store_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
