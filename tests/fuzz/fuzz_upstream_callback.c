/*
 * Fuzz what the upstream eID callback (GET /<eid>/callback) reads of its
 * query before it opens a login: the input is the raw query, parsed as the
 * server parses it, then upstream_answer_read (state, code, error, iss),
 * upstream_answer_tag_ok (the tag against a login's CSRF token) and
 * upstream_iss_of.  A query the parser refuses is a 400 before these run.
 *
 * What must hold:
 *  - state is taken exactly when it is "<ar>.<started>.<tag>" with started
 *    a number in [0, UPSTREAM_STATE_MAX_STARTED] (a second, independent
 *    reading here), and its parts put back together give state again;
 *  - the tag is accepted for the login's CSRF token only when it is the
 *    one upstream_state_tag makes over started, never for another token;
 *    the state Porten would send for the same ar and started reads back
 *    the same and is accepted, and one changed byte of its tag is not;
 *  - iss is the issuer's only when byte-equal to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "eid/upstream/upstream_int.h"
#include "copy.h"
#include "http/http.h"

#define FZ_CSRF "fzcsrf0123456789012345678901234567890abcdef" /* a login's CSRF token */
#define FZ_OTHER_CSRF "fzother123456789012345678901234567890abcdef"
#define FZ_EID "bankid"
#define FZ_UPSTREAM_ISS "https://bankid.fuzz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The second reading of state: the parts, or false. */
static bool
oracle(const char *s, struct str *ar, struct str *started, struct str *tag, long long *v)
{
	size_t n = strlen(s), d1 = SIZE_MAX, d2 = SIZE_MAX, i;
	bool neg;

	for (i = 0; i < n; i++)
		if (s[i] == '.') {
			d1 = d2;
			d2 = i;
		}
	if (d1 == SIZE_MAX)
		return false;
	*ar = (struct str){ s, d1 };
	*started = (struct str){ s + d1 + 1, d2 - d1 - 1 };
	*tag = (struct str){ s + d2 + 1, n - d2 - 1 };
	neg = started->len > 0 && started->p[0] == '-';
	if (started->len == 0 || started->len > 20 || (neg && started->len == 1))
		return false;
	*v = 0;
	for (i = neg ? 1 : 0; i < started->len; i++) {
		if (started->p[i] < '0' || started->p[i] > '9' ||
		    *v > (UPSTREAM_STATE_MAX_STARTED - (started->p[i] - '0')) / 10)
			return false;
		*v = *v * 10 + (started->p[i] - '0');
	}
	return !neg || *v == 0; /* "-0" is 0 */
}

static bool
str_is(struct str s, const char *c)
{
	return c != NULL && strlen(c) == s.len && memcmp(s.p, c, s.len) == 0;
}

/* The state Porten sends for ans's ar and started, read back and checked. */
static void
check_own_state(struct arena *a, const struct upstream_answer *ans)
{
	const char *tag = upstream_state_tag(a, FZ_CSRF, FZ_EID, ans->started_s);
	char *state = arena_printf(a, "%s.%s.%s", ans->ar, ans->started_s, tag);
	struct http_param p = { STR_LIT("state"), str_c(state) };
	struct http_params q = { &p, 1 };
	struct upstream_answer own;

	if (!upstream_answer_read(a, &q, &own) || strcmp(own.ar, ans->ar) != 0 ||
	    strcmp(own.started_s, ans->started_s) != 0 || own.started != ans->started ||
	    strcmp(own.tag, tag) != 0 || !upstream_answer_tag_ok(a, &own, FZ_CSRF, FZ_EID) ||
	    upstream_answer_tag_ok(a, &own, FZ_OTHER_CSRF, FZ_EID))
		abort();
	state[strlen(state) - 1] ^= 1;
	if (!upstream_answer_read(a, &q, &own) || upstream_answer_tag_ok(a, &own, FZ_CSRF, FZ_EID))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct http_params q;
	struct upstream_answer ans;
	struct str ar = { 0 }, started = { 0 }, tag = { 0 };
	const char *state, *iss;
	long long v = 0;
	struct err e;
	char *copy;
	bool read, shaped;

	err_clear(&e);
	copy = fz_copy(data, size);
	if (a == NULL || copy == NULL ||
	    http_parse_urlencoded(a, (struct str){ copy, size }, &q, &e) != 0)
		goto out;

	state = http_param_c(&q, "state");
	read = upstream_answer_read(a, &q, &ans);
	shaped = state != NULL && oracle(state, &ar, &started, &tag, &v);
	if (read != shaped)
		abort();
	iss = http_param_c(&q, "iss");
	if (ans.iss != iss || ans.code != http_param_c(&q, "code") ||
	    ans.error != http_param_c(&q, "error"))
		abort();
	if (upstream_iss_of(iss, FZ_UPSTREAM_ISS) !=
	    (iss == NULL			       ? UPSTREAM_ISS_NONE
	     : strcmp(iss, FZ_UPSTREAM_ISS) == 0 ? UPSTREAM_ISS_SAME
						 : UPSTREAM_ISS_OTHER))
		abort();
	if (!read)
		goto out;
	if (!str_is(ar, ans.ar) || !str_is(started, ans.started_s) || !str_is(tag, ans.tag) ||
	    ans.started != v)
		abort();
	if (strcmp(arena_printf(a, "%s.%s.%s", ans.ar, ans.started_s, ans.tag), state) != 0)
		abort();
	if (upstream_answer_tag_ok(a, &ans, FZ_CSRF, FZ_EID) !=
	    (strcmp(ans.tag, upstream_state_tag(a, FZ_CSRF, FZ_EID, ans.started_s)) == 0))
		abort();
	if (upstream_answer_tag_ok(a, &ans, FZ_CSRF, FZ_EID) &&
	    upstream_answer_tag_ok(a, &ans, FZ_OTHER_CSRF, FZ_EID))
		abort();
	check_own_state(a, &ans);
out:
	free(copy);
	arena_free(a);
	return 0;
}
