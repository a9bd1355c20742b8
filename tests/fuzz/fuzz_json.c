/*
 * Fuzz the registry's validation of JSON bodies (what the self-service API
 * and portenctl hand it, spec/selfservice-api.md): the first byte picks
 * the operation, the rest is parsed as JSON and given to
 *   0  reg_client_create        a new registration
 *   1  reg_client_update        a change to an existing client
 *   2  reg_scope_put            a scope
 *   3  reg_client_add_key       a public JWK for a client
 * On success the invariants of the stored form are checked (no clear
 * secret kept, a hash when a secret method is used) and client changes
 * are undone, so every input meets the same clients.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define FZ_UPD "0f0e0d0c-0b0a-4908-8706-050403020100"

static json_t *upd_orig; /* FZ_UPD as stored at start */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err e = { 0 };
	json_t *in, *out = NULL;
	char *secret = NULL;

	fz_init();
	/* A client made the way operators make them, to update and add keys to. */
	in = json_pack("{s:s,s:s,s:s,s:s,s:[s],s:[s]}", "client_id", FZ_UPD, "client_name",
		       "Fuzz kommune", "description", "Tjeneste", "integration_type", "idporten",
		       "redirect_uris", "https://x.example.no/cb", "post_logout_redirect_uris",
		       "https://x.example.no/out");
	if (reg_client_create(&fz_app, in, &out, &secret, &e) != 0)
		fz_die("reg_client_create", &e);
	json_decref(in);
	free(secret);
	if (store_call(fz_app.store, registry, client_delete, json_string_value(json_object_get(out, "client_id")),
		     &e) != 0)
		fz_die("client_delete", &e);
	/* Same doc under a fixed id, so the corpus can name it. */
	json_object_set_new(out, "client_id", json_string(FZ_UPD));
	if (store_call(fz_app.store, registry, client_create, FZ_UPD, out, &e) != 0)
		fz_die("client_create", &e);
	upd_orig = out;
	return 0;
}

/* The stored form never holds a clear secret. */
static void
check_stored(const json_t *doc)
{
	const char *m = json_string_value(json_object_get(doc, "token_endpoint_auth_method"));
	const char *id = json_string_value(json_object_get(doc, "client_id"));

	if (id == NULL || id[0] == '\0')
		abort();
	if (json_object_get(doc, "client_secret") != NULL)
		abort();
	if (m != NULL && strncmp(m, "client_secret_", 14) == 0 &&
	    !json_is_string(json_object_get(doc, "client_secret_sha256")))
		abort();
}

static void
restore_upd(void)
{
	struct err e = { 0 };

	if (store_call(fz_app.store, registry, client_update, FZ_UPD, upd_orig, &e) != 0)
		fz_die("restore", &e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = { 0 };
	json_t *in, *out = NULL;
	char *secret = NULL;
	int rc;

	if (upd_orig == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return 0;
	in = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
	if (in == NULL)
		return 0;
	switch (data[0] & 3) {
	case 0:
		rc = reg_client_create(&fz_app, in, &out, &secret, &e);
		if (rc == 0) {
			check_stored(out);
			if (store_call(fz_app.store, registry, client_delete,
				     json_string_value(json_object_get(out, "client_id")), &e) != 0)
				abort();
		} else if (e.msg[0] == '\0') {
			abort(); /* a refusal always says why */
		}
		break;
	case 1:
		rc = reg_client_update(&fz_app, FZ_UPD, in, &out, &e);
		if (rc == 0) {
			check_stored(out);
			/* integration_type is immutable (registry.h). */
			if (!json_equal(json_object_get(out, "integration_type"),
					json_object_get(upd_orig, "integration_type")))
				abort();
			restore_upd();
		} else if (e.msg[0] == '\0') {
			abort();
		}
		break;
	case 2:
		/*
		 * Scopes stay: edits are claimed per revision in the replay cache
		 * (registry/scope_access.c), so one deleted and made again within
		 * the claim's life is refused.  The set of valid names the fuzzer
		 * finds is what the store grows by.
		 */
		rc = reg_scope_put(&fz_app, in, &out, &e);
		if (rc == 0 && !json_is_string(json_object_get(out, "name")))
			abort();
		break;
	default:
		rc = reg_client_add_key(&fz_app, FZ_UPD, in, &e);
		if (rc == 0)
			restore_upd();
		break;
	}
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "op %d -> %d %s\n", data[0] & 3, rc, rc ? e.msg : "");
	if (secret != NULL) {
		secure_wipe(secret, strlen(secret));
		free(secret);
	}
	json_decref(out);
	json_decref(in);
	return 0;
}
