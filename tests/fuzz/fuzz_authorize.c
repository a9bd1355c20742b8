/*
 * Fuzz the authorization endpoint (login_handle_authorize: spec §4-§7,
 * RFC 6749 §4.1, RFC 7636, RFC 9101, RFC 9126, RFC 9207) against the
 * fixed clients of fixture.h.  The first byte picks the request:
 *   0  GET /authorize with the rest as the query string
 *   1  POST /authorize with the rest as the form
 *   2  GET with client_id=fz-ro and a request object whose claims are the
 *      rest, signed with the client's registered key
 *   3  GET with the rest as the query after a PAR of a valid request by
 *      fz-web: @RURI@ in the rest stands for its request_uri
 * @NOW@, @EXP@ and @JTI@ are filled in as in fixture.h.
 *
 * What must hold whatever the input (RFC 9700 §4.1, §4.11): a redirect
 * goes to an eID's page of the login (eIDAS only, spec §6) or to a redirect
 * URI registered for a client, and a redirect to the client carries iss;
 * anything else is a page (the eID selector among them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fixture.h"
#include "eid/eid.h"
#include "login/login.h"

static bool
prefix_then(const char *s, const char *prefix, const char *after)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 && s[n] != '\0' && strchr(after, s[n]) != NULL;
}

/* Where a 302 may point: an eID's page of the login, or a registered redirect URI plus response. */
static bool
location_ok(const char *loc)
{
	static const char *const registered[] = { FZ_REDIRECT, FZ_REDIRECT "?x=1",
						  "https://spa.example.no/", "no.fuzz.app:/cb" };
	const char *p;

	for (size_t i = 0; eid_providers[i] != NULL; i++) {
		size_t n = strlen(eid_providers[i]->path);

		if (strncmp(loc, eid_providers[i]->path, n) == 0 && strncmp(loc + n, "?ar=", 4) == 0)
			return true;
	}
	for (size_t i = 0; i < sizeof(registered) / sizeof(registered[0]); i++)
		if (prefix_then(loc, registered[i], strchr(registered[i], '?') ? "&#" : "?#"))
			return strstr(loc, "iss=") != NULL;
	/* RFC 8252 §7.3: the loopback registration matches any port. */
	if (strncmp(loc, "http://127.0.0.1:", 17) == 0) {
		p = loc + 17;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p > loc + 17 && prefix_then(p, "/cb", "?#"))
			return strstr(loc, "iss=") != NULL;
	}
	return false;
}

static void
check(const struct fz_req *t)
{
	if (t->w.status == 302) {
		const char *loc = NULL;

		for (size_t i = 0; i < t->w.nheaders; i++)
			if (strcasecmp(t->w.headers[i].name, "Location") == 0)
				loc = t->w.headers[i].value;
		if (loc == NULL || !location_ok(loc))
			abort();
	} else if (t->w.status != 200 && t->w.status != 400 && t->w.status != 503) {
		abort();
	}
}

static void
run(const char *method, struct str params)
{
	struct fz_req t;

	fz_req_init(&t, method, "/authorize", params, NULL, NULL);
	login_handle_authorize(&t.r, &t.w);
	check(&t);
	fz_req_done(&t);
}

/* A stored PAR request of fz-web; its request_uri, form-encoded, or NULL. */
static char *
par_uri(void)
{
	static const char form[] =
		"response_type=code&client_id=fz-web&redirect_uri=https%3A%2F%2Frp.example.no%2Fcb"
		"&scope=openid&state=s1&nonce=n1&code_challenge_method=S256"
		"&code_challenge=b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI";
	struct fz_req t;
	json_t *j;
	const char *uri;
	char *out = NULL;

	fz_req_init(&t, "POST", "/par", STR_LIT(form), fz_basic("fz-web", FZ_SECRET), NULL);
	login_handle_par(&t.r, &t.w);
	if (t.w.status != 201)
		abort(); /* the fixture's own request must go through */
	j = json_loadb(t.w.body.p, t.w.body.len, 0, NULL);
	uri = json_string_value(json_object_get(j, "request_uri"));
	if (uri != NULL) {
		struct buf b;

		buf_init(&b, 1024);
		buf_urlenc(&b, str_c(uri));
		out = buf_take(&b);
	}
	json_decref(j);
	fz_req_done(&t);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = NULL, *ruri = NULL;
	size_t n = 0;
	int mode;

	fz_init();
	if (size < 1)
		return 0;
	mode = data[0] & 3;
	if (mode == 3) {
		const char *names[] = { "@RURI@" };
		const char *values[1];

		ruri = par_uri();
		values[0] = ruri ? ruri : "";
		fz_subst((const char *)data + 1, size - 1, names, values, 1, &in, &n);
	} else {
		fz_subst((const char *)data + 1, size - 1, NULL, NULL, 0, &in, &n);
	}
	switch (mode) {
	case 0:
	case 3:
		run("GET", (struct str){ in, n });
		break;
	case 1:
		run("POST", (struct str){ in, n });
		break;
	default: {
		char *jws = fz_sign(in, n);
		struct buf q;

		buf_init(&q, 1 << 20);
		buf_puts(&q, "client_id=fz-ro&request=");
		buf_puts(&q, jws);
		run("GET", (struct str){ q.p, q.len });
		buf_free(&q);
		free(jws);
		break;
	}
	}
	free(in);
	free(ruri);
	fz_maybe_sweep();
	return 0;
}
