/*
 * Fuzz the PAR endpoint (login_handle_par: RFC 9126, spec §4) against the
 * fixed clients of fixture.h.  The first byte picks the request:
 *   0  the rest is the form, fz-web authenticated with Basic
 *   1  up to the first '\n' the Authorization header, after it the form
 *   2  the rest is the claim set of a request object signed with fz-ro's
 *      registered key, sent as request= with fz-ro's Basic credentials
 *   3  the rest is the form after a valid client assertion of fz-jwt
 * @NOW@, @EXP@ and @JTI@ are filled in as in fixture.h.
 *
 * What must hold: 201 only with a request_uri urn:idporten:<43 chars> and
 * expires_in; every other answer a JSON OAuth error with status 400, 401
 * or 503 (RFC 9126 §2.3).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "login/login.h"

static void
check(const struct fz_req *t)
{
	json_t *j = json_loadb(t->w.body.p ? t->w.body.p : "", t->w.body.len, 0, NULL);

	if (j == NULL)
		abort();
	if (t->w.status == 201) {
		const char *uri = json_string_value(json_object_get(j, "request_uri"));

		if (uri == NULL || strncmp(uri, "urn:idporten:", 13) != 0 ||
		    strlen(uri) != 13 + TOKEN_CHARS ||
		    !json_is_integer(json_object_get(j, "expires_in")))
			abort();
	} else if (t->w.status == 400 || t->w.status == 401 || t->w.status == 503) {
		if (!json_is_string(json_object_get(j, "error")))
			abort();
	} else {
		abort();
	}
	json_decref(j);
}

static void
run(const char *authz, struct str form)
{
	struct fz_req t;

	fz_req_init(&t, "POST", "/par", form, authz, NULL);
	login_handle_par(&t.r, &t.w);
	check(&t);
	fz_req_done(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = NULL;
	size_t n = 0;

	fz_init();
	if (size < 1)
		return 0;
	fz_subst((const char *)data + 1, size - 1, NULL, NULL, 0, &in, &n);
	switch (data[0] & 3) {
	case 0:
		run(fz_basic("fz-web", FZ_SECRET), (struct str){ in, n });
		break;
	case 1: {
		struct str form;
		char *authz = fz_split_line(in, n, &form);

		/* Header values cannot hold NUL: the server copies C strings. */
		run(authz != NULL && authz[0] != '\0' ? authz : NULL, form);
		free(authz);
		break;
	}
	case 2: {
		char *jws = fz_sign(in, n);
		struct buf f;

		buf_init(&f, 1 << 20);
		buf_puts(&f, "request=");
		buf_puts(&f, jws);
		run(fz_basic("fz-ro", FZ_SECRET), (struct str){ f.p, f.len });
		buf_free(&f);
		free(jws);
		break;
	}
	default: {
		char claims[512];
		size_t cl = fz_assertion_claims(claims);
		char *jws = fz_sign(claims, cl);
		struct buf f;

		buf_init(&f, 1 << 20);
		buf_puts(&f, "client_id=fz-jwt&");
		fz_put_assertion(&f, jws);
		if (n > 0)
			buf_puts(&f, "&");
		buf_append(&f, in, n);
		run(NULL, (struct str){ f.p, f.len });
		buf_free(&f);
		free(jws);
		break;
	}
	}
	free(in);
	fz_maybe_sweep();
	return 0;
}
