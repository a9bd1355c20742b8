/*
 * The upstream's answer at the callback, read without I/O: code, error
 * and iss from the query (RFC 6749 §4.1.2, RFC 9207 §2), state split as
 * auth_params (pages.c) made it, "<ar>.<started>.<tag>", and its tag
 * checked.  pages.c acts on the answer; tests/fuzz/fuzz_upstream_callback.c
 * drives these functions with hostile queries.
 */
#include <string.h>

#include "core/arena.h"
#include "core/b64.h"
#include "core/crypto.h"
#include "eid/upstream/upstream_int.h"

const char *
upstream_derive(struct arena *a, const char *csrf, const char *eid, const char *what)
{
	const char *msg = arena_printf(a, "upstream-%s|%s", what, eid);
	unsigned char mac[32];

	hmac_sha256(csrf, strlen(csrf), msg, strlen(msg), mac);
	return b64url_encode_arena(a, mac, sizeof(mac));
}

const char *
upstream_state_tag(struct arena *a, const char *csrf, const char *eid, const char *started)
{
	return upstream_derive(a, csrf, eid, arena_printf(a, "state-%s", started));
}

/* state into ans's ar, started_s, started and tag; false when not of that shape. */
static bool
state_split(struct arena *a, const char *state, struct upstream_answer *ans)
{
	const char *dot = state != NULL ? strrchr(state, '.') : NULL, *prev;
	long long t;

	if (dot == NULL)
		return false;
	for (prev = dot; prev > state && prev[-1] != '.'; prev--)
		;
	if (prev == state || str_to_ll((struct str){ prev, (size_t)(dot - prev) }, 0,
				       UPSTREAM_STATE_MAX_STARTED, &t) != 0)
		return false;
	ans->ar = arena_strndup(a, state, (size_t)(prev - 1 - state));
	ans->started_s = arena_strndup(a, prev, (size_t)(dot - prev));
	ans->started = t;
	ans->tag = dot + 1;
	return true;
}

bool
upstream_answer_read(struct arena *a, const struct http_params *q, struct upstream_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	ans->code = http_param_c(q, "code");
	ans->error = http_param_c(q, "error");
	ans->iss = http_param_c(q, "iss");
	return state_split(a, http_param_c(q, "state"), ans);
}

bool
upstream_answer_tag_ok(struct arena *a, const struct upstream_answer *ans, const char *csrf,
		       const char *eid)
{
	return ct_str_eq(str_c(ans->tag), str_c(upstream_state_tag(a, csrf, eid, ans->started_s)));
}

enum upstream_iss
upstream_iss_of(const char *iss, const char *issuer)
{
	if (iss == NULL)
		return UPSTREAM_ISS_NONE;
	return strcmp(iss, issuer) == 0 ? UPSTREAM_ISS_SAME : UPSTREAM_ISS_OTHER;
}
