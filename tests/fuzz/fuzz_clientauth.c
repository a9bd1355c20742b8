/*
 * Fuzz client authentication at the back channel (oauth_client_auth,
 * spec §9, RFC 6749 §2.3, RFC 7523) against fixed clients (fixture.h).
 * The first byte picks how the input becomes a request to POST /token:
 *   0  raw: up to the first '\n' the Authorization header (none when
 *      empty), the rest the form body
 *   1  the rest is the JSON claim set of a client assertion, signed with
 *      fz-jwt's registered key, sent with client_id=fz-jwt
 *   2  as 1 without client_id (the client is found by the unverified iss)
 *   3  the rest up to '\n' is the JWS header (any bytes), after it the
 *      claims (valid ones when none follow); signed with the registered key
 * In claims, @NOW@, @EXP@ and @JTI@ stand for the current time, a minute
 * later and a fresh jti, so saved inputs keep passing the time checks and
 * the fuzzer reaches the checks behind the signature (iss, sub, aud, exp,
 * iat, nbf, jti, replay), not only the parser in front of it.
 * Whatever happens: success only for a registered client with its own
 * method, failure is invalid_client (401) or invalid_request (400).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static void
run(const char *authz, struct str form)
{
	struct fz_req t;
	struct err e = { 0 };
	const struct client *client = NULL;
	const char *amr = NULL;
	int rc;

	fz_req_init(&t, "POST", "/token", form, authz, NULL);
	if (t.r.bad_input) {
		/* The endpoints refuse an unparsable form before authenticating. */
		http_resp_text(&t.w, 400, "");
		fz_req_done(&t);
		return;
	}
	rc = oauth_client_auth(&t.r, fz_is, &client, &amr, &e);
	if (rc == 0) {
		const char *id = client->client_id;
		const char *m = client->token_endpoint_auth_method;

		if (id == NULL || amr == NULL || m == NULL || strcmp(amr, m) != 0)
			abort();
		reg_client_release(client);
	} else {
		if (client != NULL)
			abort();
		if (!((e.status == 401 && e.oauth != NULL &&
		       strcmp(e.oauth, OAUTH_INVALID_CLIENT) == 0) ||
		      (e.status == 400 && e.oauth != NULL &&
		       strcmp(e.oauth, OAUTH_INVALID_REQUEST) == 0) ||
		      rc == ERR_UNAVAILABLE || rc == ERR_INTERNAL || rc == ERR_NOMEM))
			abort();
		/* The error is shown to the client: answer it as the endpoint would. */
		oauth_resp_error(&t.r, &t.w, &e);
	}
	if (t.w.status == 0)
		http_resp_text(&t.w, 200, "ok");
	fz_req_done(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p;
	size_t n;

	fz_init();
	if (size < 1)
		return 0;
	p = (const char *)data + 1;
	n = size - 1;
	switch (data[0] & 3) {
	case 0: {
		struct str form;
		char *authz = fz_split_line(p, n, &form);

		/* None when empty; header values cannot hold NUL (the server copies C strings). */
		if (authz != NULL && (authz[0] == '\0' || strlen(authz) != n - form.len - 1)) {
			free(authz);
			authz = NULL;
		}
		run(authz, form);
		free(authz);
		break;
	}
	case 1:
	case 2: {
		char *claims, *jws;
		size_t cl;
		struct buf form;

		fz_subst(p, n, NULL, NULL, 0, &claims, &cl);
		jws = fz_sign(claims, cl);
		free(claims);

		buf_init(&form, 1 << 20);
		if ((data[0] & 3) == 1)
			buf_puts(&form, "client_id=fz-jwt&");
		buf_puts(&form, "grant_type=authorization_code&");
		fz_put_assertion(&form, jws);
		run(NULL, (struct str){ form.p, form.len });
		buf_free(&form);
		free(jws);
		break;
	}
	default: {
		const char *nl = memchr(p, '\n', n);
		size_t hl = nl ? (size_t)(nl - p) : n;
		char *jws;
		struct buf form;

		/* After the header line, optional claims replace the valid ones. */
		if (nl != NULL && n - hl - 1 > 0) {
			char *claims;
			size_t cl;

			fz_subst(nl + 1, n - hl - 1, NULL, NULL, 0, &claims, &cl);
			jws = fz_sign_raw(p, hl, claims, cl);
			free(claims);
		} else {
			char claims[512];
			size_t cl = fz_assertion_claims(claims);

			jws = fz_sign_raw(p, hl, claims, cl);
		}
		buf_init(&form, 1 << 20);
		buf_puts(&form, "client_id=fz-jwt&");
		fz_put_assertion(&form, jws);
		run(NULL, (struct str){ form.p, form.len });
		buf_free(&form);
		free(jws);
		break;
	}
	}
	fz_maybe_sweep();
	return 0;
}
