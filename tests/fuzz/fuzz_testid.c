/*
 * Fuzz the TestID pages (behind the login door) with a login in progress: a
 * pending authorization of fz-web bound to the browser cookie porten_b,
 * kept in the store (made again whenever an input finished it).  The first
 * byte picks the request:
 *   0  GET /testid with the rest as the query, with the browser cookie
 *   1  POST /testid with the rest as the form, with the browser cookie
 *   2  POST: up to the first '\n' the Cookie header, after it the form
 *   3  POST with the rest as the form and no cookie
 * @AR@, @CSRF@ and @BROWSER@ in the input stand for the pending id, its
 * valid CSRF token and the browser cookie value, so inputs reach the
 * checks on the national identity number and the level.
 *
 * What must hold: a redirect only to the client's registered redirect URI
 * with iss (RFC 9207), and then only for a request carrying the right
 * CSRF token from the bound browser; anything else is a page.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eid/eid.h"
#include "fixture.h"
#include "login/login_int.h"

static bool ready;
static char ar[TOKEN_CHARS + 1];
static char *csrf;
static json_t *pending;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fz_req t;

	fz_init();
	if (rand_token_buf(ar) != 0)
		abort();
	pending = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:[],s:s,s:s}", "client_id",
			    "fz-web", "redirect_uri", FZ_REDIRECT, "response_mode", "query", "state",
			    "st-1", "nonce", "no-1", "scope", "openid", "acr",
			    "idporten-loa-substantial", "max_age", (json_int_t)-1, "locale", "nb",
			    "resource", "id", ar, "code_challenge",
			    "b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI");
	if (pending == NULL)
		abort();
	fz_req_init(&t, "GET", "/testid", STR_LIT(""), NULL, "porten_b=" FZ_BROWSER);
	json_object_set_new(pending, "browser",
			    json_string(sha256_b64url(t.r.arena, STR_LIT(FZ_BROWSER))));
	csrf = strdup(login_csrf(&t.r, ar));
	http_resp_text(&t.w, 200, "");
	fz_req_done(&t);
	ready = true;
	return 0;
}

/* The login in progress, there again if the last input finished or cancelled it. */
static void
ensure_pending(void)
{
	struct err e = { 0 };
	json_t *doc = NULL;

	if (store_call(fz_app.store, login, doc_get, "pending", ar, &doc, &e) == 0) {
		json_decref(doc);
		return;
	}
	if (store_call(fz_app.store, login, doc_put, "pending", ar, pending, time_now() + 3600, &e) != 0)
		fz_die("pending", &e);
}

static void
check(const struct fz_req *t, bool cookie_ok)
{
	if (t->w.status == 302) {
		const char *loc = NULL;

		for (size_t i = 0; i < t->w.nheaders; i++)
			if (strcasecmp(t->w.headers[i].name, "Location") == 0)
				loc = t->w.headers[i].value;
		if (loc == NULL || strncmp(loc, FZ_REDIRECT "?", sizeof(FZ_REDIRECT)) != 0 ||
		    strstr(loc, "iss=") == NULL || strstr(loc, "state=st-1") == NULL)
			abort();
		/* Only the browser the login is bound to can finish it. */
		if (!cookie_ok)
			abort();
	} else if (t->w.status != 200 && t->w.status != 400 && t->w.status != 403 &&
		   t->w.status != 404) {
		abort();
	}
}

static void
run(const char *method, struct str params, const char *cookie)
{
	struct fz_req t;
	const char *b;

	fz_req_init(&t, method, "/testid", params, NULL, cookie);
	b = http_cookie(&t.r, "porten_b");
	login_eid_door(&t.r, &t.w);
	check(&t, b != NULL && strcmp(b, FZ_BROWSER) == 0);
	fz_req_done(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *names[] = { "@AR@", "@CSRF@", "@BROWSER@" };
	const char *values[3];
	char *in = NULL;
	size_t n = 0;

	if (!ready)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return 0;
	values[0] = ar;
	values[1] = csrf;
	values[2] = FZ_BROWSER;
	ensure_pending();
	fz_subst((const char *)data + 1, size - 1, names, values, 3, &in, &n);
	switch (data[0] & 3) {
	case 0:
		run("GET", (struct str){ in, n }, "porten_b=" FZ_BROWSER);
		break;
	case 1:
		run("POST", (struct str){ in, n }, "porten_b=" FZ_BROWSER);
		break;
	case 2: {
		struct str form;
		char *cookie = fz_split_line(in, n, &form);

		run("POST", form, cookie);
		free(cookie);
		break;
	}
	default:
		run("POST", (struct str){ in, n }, NULL);
		break;
	}
	free(in);
	fz_maybe_sweep();
	return 0;
}
