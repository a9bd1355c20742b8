/*
 * The lookup API for organisations (spec/krr.md §3): POST /rest/v1/personer
 * and /rest/v2/personer, and the change feed for holders of a local copy
 * (§3.6), POST /rest/v2/krr/hentEndringer.  Both take Maskinporten access
 * tokens, checked by oauth_bearer_check; the scopes decide the fields.
 * Only organisations on a scope's access list get a token for it: that
 * Maskinporten enforces when it issues the token.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "krr/krr_int.h"
#include "oauth/oauth.h"
#include "store/store.h"

#define KRR_LOOKUP_SCOPES KRR_SCOPE_CONTACT " " KRR_SCOPE_POST

/* spec §3.5: 400 and friends carry {error, error_description}. */
static void
krr_bad(struct http_resp *w, int status, const char *why)
{
	http_resp_oauth_error(w, status, "invalid_request", why);
}

void
krr_answer_failed(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };

	http_resp_reset(w);
	(void)ERR(&e, ERR_INTERNAL, 500, "server_error", "krr: cannot build the answer");
	oauth_resp_error(r, w, &e);
}

/* The Maskinporten token of the request, or an answer already written (returns -1). */
static int
krr_org_token(struct http_req *r, struct http_resp *w, struct oauth_bearer *tok)
{
	struct porten *app = r->app;
	const struct issuer *mp = app_issuer(app, ISSUER_MASKINPORTEN);
	struct err e = { 0 };

	if (mp == NULL) {
		http_resp_oauth_error(w, 503, "temporarily_unavailable",
				      "the register's token issuer is not configured");
		return -1;
	}
	if (oauth_bearer_check(r, mp, NULL, tok, &e) != 0) {
		oauth_bearer_refuse(r, w, &e, NULL);
		return -1;
	}
	return 0;
}

/* A JSON body (Content-Type application/json), or an answer already written. */
static json_t *
krr_body(struct http_req *r, struct http_resp *w)
{
	const char *ct = http_header(r, "content-type");
	json_error_t jerr;
	json_t *body;
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0 ||
	    (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ')) {
		krr_bad(w, 415, "the body must be application/json");
		return NULL;
	}
	body = json_loadb(r->body.p != NULL ? r->body.p : "", r->body.len,
			  JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL || !json_is_object(body)) {
		json_decref(body);
		krr_bad(w, 400, "the body is not a JSON object");
		return NULL;
	}
	return body;
}

unsigned
krr_flags(const struct porten *app, const struct oauth_bearer *tok, bool user)
{
	unsigned f = 0;

	if (oauth_bearer_has(tok, user ? KRR_SCOPE_USER_CONTACT : KRR_SCOPE_CONTACT))
		f |= KRR_F_CONTACT;
	if (oauth_bearer_has(tok, user ? KRR_SCOPE_USER_POST : KRR_SCOPE_POST))
		f |= KRR_F_POST;
	if (app->cfg->krr_suppress_expired)
		f |= KRR_F_SUPPRESS;
	return f;
}

/* A number and where it stands (in the request, or among the records read). */
struct krr_at {
	const char *pid;
	size_t i;
};

static int
krr_at_cmp(const void *a, const void *b)
{
	const struct krr_at *x = a, *y = b;
	int c = strcmp(x->pid, y->pid);

	return c != 0 ? c : x->i < y->i ? -1 : x->i > y->i;
}

/*
 * The identifiers of the request (list), each once, sorted: a new array
 * holding the body's own strings, the batch the store reads (the index
 * descents then go in key order), or NULL with why set.  *dupp marks the
 * request's later copies of a number, which the answer leaves out (spec
 * §3.2 (design)); the caller frees it.  Duplicates are found by the
 * sorting, not by a hash table of copies.
 */
static json_t *
krr_ids(const json_t *list, enum natid_context ctx, unsigned char **dupp, char *why,
	size_t whylen)
{
	const json_t *v;
	struct krr_at *at = NULL;
	unsigned char *dup = NULL;
	json_t *ids = NULL;
	size_t i, n;

	*dupp = NULL;

	if (!json_is_array(list) || json_array_size(list) == 0) {
		snprintf(why, whylen, "personidentifikatorer must be a list of 1 to %d identifiers",
			 KRR_MAX_IDS);
		return NULL;
	}
	if (json_array_size(list) > KRR_MAX_IDS) {
		snprintf(why, whylen, "at most %d personidentifikatorer in one request",
			 KRR_MAX_IDS);
		return NULL;
	}
	n = json_array_size(list);
	ids = json_array();
	at = calloc(n, sizeof(*at));
	dup = calloc(n, 1);
	if (ids == NULL || at == NULL || dup == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	json_array_foreach(list, i, v) {
		const char *pid = json_string_value(v), *rule;

		if (pid == NULL) {
			snprintf(why, whylen, "personidentifikatorer[%zu] is not a string", i);
			goto fail;
		}
		rule = krr_rule_pid(pid, ctx);
		if (rule != NULL) {
			snprintf(why, whylen, "personidentifikatorer[%zu]: %s", i, rule);
			goto fail;
		}
		at[i] = (struct krr_at){ pid, i };
	}
	/* equal numbers side by side, the first given first: the later ones are dropped */
	qsort(at, n, sizeof(*at), krr_at_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(at[i].pid, at[i - 1].pid) == 0)
			dup[at[i].i] = 1;
	for (i = 0; i < n; i++)
		if (!dup[at[i].i] && json_array_append(ids, json_array_get(list, at[i].i)) != 0) {
			snprintf(why, whylen, "out of memory");
			goto fail;
		}
	free(at);
	*dupp = dup;
	return ids;
fail:
	free(at);
	free(dup);
	json_decref(ids);
	return NULL;
}

/* bsearch: a number against a record's place (by: sorted by number). */
static int
krr_at_key(const void *pid, const void *at)
{
	return strcmp(pid, ((const struct krr_at *)at)->pid);
}

static void
krr_personer(struct http_req *r, struct http_resp *w, unsigned version_flags)
{
	struct porten *app = r->app;
	struct oauth_bearer tok = { 0 };
	struct err e = { 0 };
	struct krr_person *found = NULL;
	struct krr_at *by = NULL;
	json_t *body = NULL, *ids = NULL, *v;
	const json_t *list;
	unsigned char *dup = NULL;
	int64_t now = krr_now_ms();
	size_t i, n = 0;
	unsigned flags;
	char why[160];

	if (krr_org_token(r, w, &tok) != 0)
		goto out;
	flags = krr_flags(app, &tok, false) | version_flags;
	/* spec §3.3 (design): a token with neither lookup scope gets 403 */
	if (!(flags & (KRR_F_CONTACT | KRR_F_POST))) {
		(void)oauth_bearer_insufficient(&e, KRR_LOOKUP_SCOPES);
		oauth_bearer_refuse(r, w, &e, KRR_LOOKUP_SCOPES);
		goto out;
	}
	body = krr_body(r, w);
	if (body == NULL)
		goto out;
	list = json_object_get(body, "personidentifikatorer");
	ids = krr_ids(list, krr_natid_ctx(app), &dup, why, sizeof(why));
	if (ids == NULL) {
		krr_bad(w, 400, why);
		goto out;
	}
	/* one query for the whole batch */
	if (store_call(app->store, krr, person_get_many, ids, &found, &n, &e) != 0) {
		oauth_resp_error(r, w, &e);
		goto out;
	}
	/* the records by number, to answer in the order asked */
	by = n > 0 ? calloc(n, sizeof(*by)) : NULL;
	if (n > 0 && by == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		by[i] = (struct krr_at){ found[i].pid, i };
	/* by is NULL when nothing was found, and qsort must not get NULL */
	if (n > 1)
		qsort(by, n, sizeof(*by), krr_at_cmp);
	w->status = 200;
	w->content_type = "application/json";
	if (buf_puts(&w->body, "{\"personer\":[") != 0)
		goto fail;
	/* in the order asked, each number once */
	json_array_foreach(list, i, v) {
		const char *pid = json_string_value(v);
		/* bsearch must not get NULL either */
		const struct krr_at *at =
			n > 0 ? bsearch(pid, by, n, sizeof(*by), krr_at_key) : NULL;
		const struct krr_person *p = at != NULL ? &found[at->i] : NULL;

		if (dup[i])
			continue;
		if ((i != 0 && buf_puts(&w->body, ",") != 0) ||
		    (p != NULL ? krr_person_write(&w->body, p, flags, now)
			       : krr_unregistered_write(&w->body, pid, flags)) != 0)
			goto fail;
	}
	if (buf_puts(&w->body, "]}") != 0)
		goto fail;
	log_info(r->rid, "krr lookup: %zu persons for %s", json_array_size(ids),
		 tok.consumer != NULL ? tok.consumer : "-");
	http_resp_header(w, "Cache-Control", "no-store");
	goto out;
fail:
	krr_answer_failed(r, w);
out:
	oauth_bearer_release(&tok);
	json_decref(body);
	json_decref(ids);
	free(dup);
	free(by);
	krr_persons_free(found, n);
}

void
krr_handle_personer_v1(struct http_req *r, struct http_resp *w)
{
	krr_personer(r, w, 0);
}

void
krr_handle_personer_v2(struct http_req *r, struct http_resp *w)
{
	krr_personer(r, w, KRR_F_V2);
}

/* spec §3.6: fraEndringsId, a non-negative integer. */
static int
krr_from(const json_t *body, int64_t *from)
{
	const json_t *v = json_object_get(body, "fraEndringsId");

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*from = json_integer_value(v);
	return 0;
}

void
krr_handle_changes(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	struct oauth_bearer tok = { 0 };
	struct err e = { 0 };
	struct krr_person *page = NULL;
	json_t *body = NULL;
	int64_t from = 0, til = 0, latest = 0, now = krr_now_ms();
	unsigned flags;
	size_t i, n = 0;

	if (krr_org_token(r, w, &tok) != 0)
		goto out;
	if (!oauth_bearer_has(&tok, KRR_SCOPE_FEED)) {
		(void)oauth_bearer_insufficient(&e, KRR_SCOPE_FEED);
		oauth_bearer_refuse(r, w, &e, KRR_SCOPE_FEED);
		goto out;
	}
	/* spec §3.6 (design): the other scopes decide the fields, as at /personer */
	flags = krr_flags(app, &tok, false) | KRR_F_V2;
	body = krr_body(r, w);
	if (body == NULL)
		goto out;
	if (krr_from(body, &from) != 0) {
		krr_bad(w, 400, "fraEndringsId must be a non-negative integer");
		goto out;
	}
	if (store_call(app->store, krr, changes, from, KRR_FEED_PAGE, &page, &n, &til, &latest,
		       &e) != 0) {
		oauth_resp_error(r, w, &e);
		goto out;
	}
	/* a short page reached the newest change: the caller is up to date */
	if (n < KRR_FEED_PAGE)
		til = latest;
	w->status = 200;
	w->content_type = "application/json";
	if (buf_puts(&w->body, "{\"list\":[") != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if ((i != 0 && buf_puts(&w->body, ",") != 0) ||
		    krr_person_write(&w->body, &page[i], flags, now) != 0)
			goto fail;
	if (buf_printf(&w->body, "],\"fraEndringsId\":%lld,\"tilEndringsId\":%lld,"
				 "\"sisteEndringsId\":%lld}",
		       (long long)from, (long long)til, (long long)latest) != 0)
		goto fail;
	log_info(r->rid, "krr changes: %zu persons from %lld for %s", n,
		 (long long)from, tok.consumer != NULL ? tok.consumer : "-");
	http_resp_header(w, "Cache-Control", "no-store");
	goto out;
fail:
	krr_answer_failed(r, w);
out:
	oauth_bearer_release(&tok);
	json_decref(body);
	krr_persons_free(page, n);
}
