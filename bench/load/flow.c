/*
 * The flows of one virtual client as a state machine: each completed
 * transfer is checked and decides the next request.  A response that does
 * not check out ends the operation as an error; nothing is counted as done
 * unless every step of it was checked.
 */
#include "load.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ERRK_TRANSPORT, ERRK_STATUS, ERRK_CHECK };

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct vc *v = arg;

	/* An oversized body is kept truncated and fails its check, not the transfer. */
	(void)lbuf_append(&v->body, p, size * n);
	return size * n;
}

/*
 * Client credentials and source address number k: client k % n, address
 * 127.0.0.(2 + k % source_ips).  Many users come from many addresses, and
 * all of 127/8 is this host on Linux.
 */
static void
use_slot(struct vc *v, unsigned long k)
{
	struct load *L = v->L;

	v->client_id = L->cred_ids[k % L->ncred];
	v->basic = L->cred_basic[k % L->ncred];
	if (L->o.source_ips > 0) {
		char ifname[40];

		snprintf(ifname, sizeof(ifname), "host!127.0.0.%lu", 2 + k % (unsigned long)L->o.source_ips);
		curl_easy_setopt(v->h, CURLOPT_INTERFACE, ifname);
	}
}

int
flow_vc_init(struct load *L, struct vc *v)
{
	v->L = L;
	v->h = curl_easy_init();
	if (v->h == NULL)
		return -1;
	curl_easy_setopt(v->h, CURLOPT_PRIVATE, v);
	curl_easy_setopt(v->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(v->h, CURLOPT_WRITEDATA, v);
	curl_easy_setopt(v->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(v->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(v->h, CURLOPT_TIMEOUT_MS, L->o.timeout_ms);
	curl_easy_setopt(v->h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(v->h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* An in-memory cookie jar of this client only. */
	curl_easy_setopt(v->h, CURLOPT_COOKIEFILE, "");
	use_slot(v, (unsigned long)v->id);
	return 0;
}

static void
clear_op(struct vc *v)
{
	free(v->code);
	free(v->resume_url);
	v->code = NULL;
	v->resume_url = NULL;
}

static void
clear_tokens(struct vc *v)
{
	free(v->access_token);
	free(v->refresh_token);
	free(v->sub);
	v->access_token = NULL;
	v->refresh_token = NULL;
	v->sub = NULL;
	v->ready = false;
	for (int i = 0; i < v->ntok; i++) {
		free(v->tok[i]);
		v->tok[i] = NULL;
	}
	v->ntok = 0;
}

void
flow_vc_free(struct vc *v)
{
	clear_op(v);
	clear_tokens(v);
	curl_slist_free_all(v->hdrs);
	free(v->post);
	free(v->body.p);
	if (v->h != NULL)
		curl_easy_cleanup(v->h);
}

/* ---- issuing requests ---- */

static void
submit(struct vc *v, const char *url, enum vc_step st)
{
	CURLMcode mc;

	curl_easy_setopt(v->h, CURLOPT_URL, url);
	curl_easy_setopt(v->h, CURLOPT_HTTPHEADER, v->hdrs);
	lbuf_reset(&v->body);
	v->step = st;
	v->req_start = load_now();
	mc = curl_multi_add_handle(v->L->multi, v->h);
	if (mc != CURLM_OK) {
		fprintf(stderr, "porten-load: curl_multi_add_handle: %s\n", curl_multi_strerror(mc));
		exit(2);
	}
}

static void
new_headers(struct vc *v)
{
	curl_slist_free_all(v->hdrs);
	/* No "Expect: 100-continue" round trip on small POSTs. */
	v->hdrs = curl_slist_append(NULL, "Expect:");
}

static void
req_get(struct vc *v, const char *url, enum vc_step st, const char *bearer)
{
	new_headers(v);
	if (bearer != NULL) {
		char *h = xasprintf("Authorization: Bearer %s", bearer);

		v->hdrs = curl_slist_append(v->hdrs, h);
		free(h);
	}
	free(v->post);
	v->post = NULL;
	curl_easy_setopt(v->h, CURLOPT_HTTPGET, 1L);
	submit(v, url, st);
}

/* body is taken over. */
static void
req_post(struct vc *v, const char *url, enum vc_step st, char *body, bool json, bool basic)
{
	new_headers(v);
	v->hdrs = curl_slist_append(v->hdrs, json ? "Content-Type: application/json"
					  : "Content-Type: application/x-www-form-urlencoded");
	if (basic)
		v->hdrs = curl_slist_append(v->hdrs, v->basic);
	free(v->post);
	v->post = body;
	curl_easy_setopt(v->h, CURLOPT_POST, 1L);
	curl_easy_setopt(v->h, CURLOPT_POSTFIELDS, v->post);
	curl_easy_setopt(v->h, CURLOPT_POSTFIELDSIZE, (long)strlen(v->post));
	submit(v, url, st);
}

/* ---- operations ---- */

static void fail(struct vc *v, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
fail(struct vc *v, int kind, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	load_error(v, kind, "%s", msg);
	clear_op(v);
	/* A failed refresh or lost token: log in again before the next operation. */
	if (v->L->o.flow == FLOW_REFRESH || v->L->o.flow == FLOW_INTROSPECT)
		clear_tokens(v);
	/* A short rest, so that a failing server is not also flooded by retries. */
	v->step = ST_NONE;
	v->wake_at = load_now() + 0.01;
	v->L->resting++;
}

static void
op_complete(struct vc *v)
{
	struct load *L = v->L;
	double now = load_now();

	if (v->in_op && L->measuring && !L->stopping && now >= L->t_warm && now <= L->t_end) {
		L->s.ops++;
		L->s.jwts += v->jwts;
		lsamples_add(&L->s.op_lat, now - v->op_start);
	}
	clear_op(v);
	if (L->o.max_ops > 0 && L->s.ops >= L->o.max_ops)
		L->stopping = true;
	flow_start(v);
}

static void
login_begin(struct vc *v, bool measured)
{
	const struct load_opts *o = &v->L->o;
	char challenge[64];
	char *ru, *sc, *ci, *url;

	clear_op(v);
	/* A fresh browser: no SSO session, so every login authenticates. */
	curl_easy_setopt(v->h, CURLOPT_COOKIELIST, "ALL");
	/* and, with --rotate, another user's address and another service. */
	if (v->L->o.rotate)
		use_slot(v, v->L->rot++);
	if (rand_b64url(v->verifier, sizeof(v->verifier), 32) != 0 ||
	    rand_b64url(v->state, sizeof(v->state), 16) != 0 ||
	    rand_b64url(v->nonce, sizeof(v->nonce), 16) != 0 ||
	    pkce_challenge(v->verifier, challenge, sizeof(challenge)) != 0) {
		fprintf(stderr, "porten-load: random generator failed\n");
		exit(2);
	}
	ru = form_escape(o->redirect_uri);
	sc = form_escape(o->scope);
	ci = form_escape(v->client_id);
	url = xasprintf("%s%cresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s"
			"&nonce=%s&code_challenge=%s&code_challenge_method=S256",
			v->L->m.authorization_endpoint,
			strchr(v->L->m.authorization_endpoint, '?') ? '&' : '?',
			ci, ru, sc, v->state, v->nonce, challenge);
	v->in_op = measured;
	v->op_start = load_now();
	v->jwts = 0;
	v->hops = 0;
	v->fidx = 0;
	req_get(v, url, ST_FRONT, NULL);
	free(ru);
	free(sc);
	free(ci);
	free(url);
}

static void
refresh_begin(struct vc *v)
{
	char *rt = form_escape(v->refresh_token);

	v->in_op = true;
	v->op_start = load_now();
	v->jwts = 0;
	req_post(v, v->L->m.token_endpoint, ST_REFRESH,
		 xasprintf("grant_type=refresh_token&refresh_token=%s", rt), false, true);
	free(rt);
}

static void
introspect_begin(struct vc *v)
{
	bool rt = strcmp(v->L->o.introspect, "refresh") == 0;
	int i = v->next_tok++ % v->ntok;
	char *t = form_escape(v->tok[i]);

	/* A login's tokens are introspected by the client they were issued to. */
	v->client_id = v->tok_cid[i];
	v->basic = v->tok_basic[i];
	v->in_op = true;
	v->op_start = load_now();
	v->jwts = 0;
	req_post(v, v->L->m.introspection_endpoint, ST_INTROSPECT,
		 xasprintf("token=%s&token_type_hint=%s", t, rt ? "refresh_token" : "access_token"),
		 false, true);
	free(t);
}

static void
cc_begin(struct vc *v)
{
	struct load *L = v->L;
	char *sc = form_escape(L->o.cc_scope);

	/* --rotate: the next client, from the same address (no new connection per token). */
	if (L->o.rotate) {
		unsigned long k = L->rot++;

		v->client_id = L->cred_ids[k % L->ncred];
		v->basic = L->cred_basic[k % L->ncred];
	}

	v->in_op = true;
	v->op_start = load_now();
	v->jwts = 0;
	if (L->mp_pkey != NULL) {
		/* private_key_jwt: a fresh signed client assertion per token. */
		char *a = mp_client_assertion(L, v->client_id), *ae;

		if (a == NULL) {
			free(sc);
			fail(v, ERRK_CHECK, "cannot sign the client assertion");
			return;
		}
		ae = form_escape(a);
		req_post(v, L->m.token_endpoint, ST_CC,
			 xasprintf("grant_type=client_credentials&scope=%s&client_id=%s"
				   "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
				   "client-assertion-type%%3Ajwt-bearer&client_assertion=%s",
				   sc, v->client_id, ae), false, false);
		free(ae);
		free(a);
		free(sc);
		return;
	}
	req_post(v, v->L->m.token_endpoint, ST_CC,
		 xasprintf("grant_type=client_credentials&scope=%s", sc), false, true);
	free(sc);
}

/* Maskinporten: a freshly signed JWT-bearer grant per token (RFC 7523 §2.1). */
static void
mp_begin(struct vc *v)
{
	struct load *L = v->L;
	char *g, *ge;

	v->in_op = true;
	v->op_start = load_now();
	v->jwts = 0;
	g = mp_grant(L, v->client_id);
	if (g == NULL) {
		fail(v, ERRK_CHECK, "cannot sign the grant");
		return;
	}
	ge = form_escape(g);
	/* The scope travels in the grant only, as Maskinporten wants it. */
	req_post(v, L->m.token_endpoint, ST_MP,
		 xasprintf("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer"
			   "&assertion=%s", ge), false, false);
	free(ge);
	free(g);
}

/* Refresh and introspection need tokens from a login first (not measured). */
static bool
needs_setup(const struct vc *v)
{
	enum load_flow f = v->L->o.flow;

	return (f == FLOW_REFRESH || f == FLOW_INTROSPECT) && !v->ready;
}

/* Begin one counted operation of the flow; refresh and introspect have their tokens. */
static void
op_begin(struct vc *v)
{
	switch (v->L->o.flow) {
	case FLOW_LOGIN:
		login_begin(v, true);
		break;
	case FLOW_REFRESH:
		refresh_begin(v);
		break;
	case FLOW_INTROSPECT:
		introspect_begin(v);
		break;
	case FLOW_CC:
		cc_begin(v);
		break;
	case FLOW_MP:
		mp_begin(v);
		break;
	}
}

/*
 * Open loop: the operation due at `due`, taken by this free client.  Its
 * latency counts from `due` when it starts late (the wait in the backlog is
 * part of what a user would see), from now when it starts a little early.
 */
void
flow_start_op(struct vc *v, double due)
{
	v->step = ST_NONE;
	op_begin(v);
	if (due < v->op_start)
		v->op_start = due;
}

/*
 * A client is free: closed loop, it starts its next operation now (after
 * the login that fetches its tokens, where it needs them); open loop, it
 * fetches tokens if it needs them, else waits for a due operation.
 */
void
flow_start(struct vc *v)
{
	struct load *L = v->L;

	v->step = ST_NONE;
	if (L->stopping)
		return;
	if (needs_setup(v))
		login_begin(v, false);
	else if (L->o.rate > 0)
		load_idle(v);
	else
		op_begin(v);
}

/* ---- checks ---- */

static json_t *
body_json(struct vc *v)
{
	json_t *j;

	if (v->body.overflow || v->body.len == 0)
		return NULL;
	j = json_loadb(v->body.p, v->body.len, 0, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static bool
aud_has(const json_t *aud, const char *client_id)
{
	size_t i;
	json_t *e;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), client_id) == 0;
	json_array_foreach(aud, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), client_id) == 0)
			return true;
	return false;
}

/*
 * A token response (RFC 6749 §5.1, OIDC Core §3.1.3.3): an access token of
 * type Bearer; an ID token from this issuer for this client, with our nonce
 * after a code exchange; a refresh token where the flow needs one.
 * Returns NULL when good, else what is wrong.
 */
static const char *
check_tokens(struct vc *v, json_t *j, bool code_exchange, bool need_id, bool need_rt)
{
	struct load *L = v->L;
	const char *at = json_string_value(json_object_get(j, "access_token"));
	const char *tt = json_string_value(json_object_get(j, "token_type"));
	const char *idt = json_string_value(json_object_get(j, "id_token"));
	const char *rt = json_string_value(json_object_get(j, "refresh_token"));
	json_t *p;

	if (at == NULL || *at == '\0')
		return "no access_token";
	if (tt == NULL || strcasecmp(tt, "bearer") != 0)
		return "token_type is not Bearer";
	p = jwt_payload(at);
	if (p != NULL) {
		const char *iss = json_string_value(json_object_get(p, "iss"));
		bool ok = iss != NULL && strcmp(iss, L->m.issuer) == 0 &&
			  json_integer_value(json_object_get(p, "exp")) > 0;

		json_decref(p);
		if (!ok)
			return "JWT access token without this issuer or exp";
		v->jwts++;
	}
	if (idt != NULL) {
		const char *iss, *nonce, *sub;
		const char *why = NULL;

		p = jwt_payload(idt);
		if (p == NULL)
			return "id_token is not a JWS";
		iss = json_string_value(json_object_get(p, "iss"));
		nonce = json_string_value(json_object_get(p, "nonce"));
		sub = json_string_value(json_object_get(p, "sub"));
		if (iss == NULL || strcmp(iss, L->m.issuer) != 0)
			why = "id_token iss is not the issuer";
		else if (!aud_has(json_object_get(p, "aud"), v->client_id))
			why = "id_token aud lacks the client";
		else if (code_exchange && (nonce == NULL || strcmp(nonce, v->nonce) != 0))
			why = "id_token nonce mismatch";
		else if (sub == NULL || *sub == '\0')
			why = "id_token without sub";
		else if (!code_exchange && v->sub != NULL && strcmp(sub, v->sub) != 0)
			why = "id_token sub changed on refresh";
		if (why == NULL && code_exchange) {
			free(v->sub);
			v->sub = xstrdup(sub);
		}
		json_decref(p);
		if (why != NULL)
			return why;
		v->jwts++;
	} else if (need_id) {
		return "no id_token";
	}
	if (rt != NULL) {
		free(v->refresh_token);
		v->refresh_token = xstrdup(rt);
	} else if (need_rt) {
		return "no refresh_token";
	}
	free(v->access_token);
	v->access_token = xstrdup(at);
	return NULL;
}

static bool
scope_has_openid(const char *scope)
{
	const char *p = scope;

	while ((p = strstr(p, "openid")) != NULL) {
		if ((p == scope || p[-1] == ' ') && (p[6] == '\0' || p[6] == ' '))
			return true;
		p += 6;
	}
	return false;
}

/* ---- completions ---- */

static void
callback_done(struct vc *v, const char *loc)
{
	struct load *L = v->L;
	char *code = url_query_param(loc, "code");
	char *state = url_query_param(loc, "state");
	char *iss = url_query_param(loc, "iss");
	char *err = url_query_param(loc, "error");
	char *ce, *ru;
	const char *why = NULL;

	if (err != NULL)
		why = "authorization error response";
	else if (code == NULL || *code == '\0')
		why = "redirect without code";
	else if (state == NULL || strcmp(state, v->state) != 0)
		why = "state mismatch";
	else if (iss != NULL && strcmp(iss, L->m.issuer) != 0)
		why = "iss mismatch in authorization response";
	else if (iss == NULL && L->o.target != TARGET_GLEWLWYD)
		why = "no iss in authorization response (RFC 9207)";
	if (why != NULL) {
		fail(v, ERRK_CHECK, "%s", why);
		goto out;
	}
	ce = form_escape(code);
	ru = form_escape(L->o.redirect_uri);
	req_post(v, L->m.token_endpoint, ST_TOKEN,
		 xasprintf("grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s",
			   ce, ru, v->verifier), false, true);
	free(ce);
	free(ru);
out:
	free(code);
	free(state);
	free(iss);
	free(err);
}

/*
 * Porten: the selector page links to TestID; the TestID page holds the form.
 * The selector is /authorize's own answer (a build before it answered with
 * a redirect to /login?ar=, which front_done follows alike), and TestID's
 * form answers with the redirect to the client: front1 is the selector,
 * front2 the TestID page, front3 the form.
 */
static void
porten_page(struct vc *v, const char *url)
{
	const struct load_opts *o = &v->L->o;
	const char *b = v->body.p;
	const char *f = strstr(b, "id=\"testid-form\"");

	if (f != NULL) {
		const char *tag = f, *end = strstr(f, "</form>");
		char *action, *ar, *csrf, *target, *ear, *ecsrf, *epid, *eacr;

		while (tag > b && *tag != '<')
			tag--;
		if (end == NULL) {
			fail(v, ERRK_CHECK, "TestID form not closed");
			return;
		}
		action = html_attr_after(b, strchr(f, '>'), tag, "action=\"");
		ar = html_hidden(f, end, "ar");
		csrf = html_hidden(f, end, "csrf");
		target = action ? url_resolve(url, action) : NULL;
		if (ar == NULL || csrf == NULL || target == NULL) {
			fail(v, ERRK_CHECK, "TestID form without action, ar or csrf");
		} else {
			ear = form_escape(ar);
			ecsrf = form_escape(csrf);
			epid = form_escape(o->user);
			eacr = form_escape(o->acr);
			req_post(v, target, ST_FRONT,
				 xasprintf("ar=%s&csrf=%s&pid=%s&acr=%s", ear, ecsrf, epid, eacr), false, false);
			free(ear);
			free(ecsrf);
			free(epid);
			free(eacr);
		}
		free(action);
		free(ar);
		free(csrf);
		free(target);
		return;
	}
	f = strstr(b, "testid?ar=");
	if (f != NULL) {
		const char *q = f, *e = strchr(f, '"');
		char *raw, *href, *target;

		while (q > b && *q != '"')
			q--;
		if (q == b || e == NULL) {
			fail(v, ERRK_CHECK, "TestID link not quoted");
			return;
		}
		raw = strndup(q + 1, (size_t)(e - q - 1));
		href = raw ? html_unescape(raw) : NULL;
		target = href ? url_resolve(url, href) : NULL;
		if (target == NULL)
			fail(v, ERRK_CHECK, "bad TestID link");
		else
			req_get(v, target, ST_FRONT, NULL);
		free(raw);
		free(href);
		free(target);
		return;
	}
	fail(v, ERRK_CHECK, "login page without TestID link or form");
}

/* oidc-provider (bench/peers/oidc-provider/server.mjs): one form, one POST. */
static void
op_page(struct vc *v, const char *url)
{
	const char *b = v->body.p;
	const char *f = strstr(b, "id=\"login-form\"");
	const char *tag, *end;
	char *action, *uid, *target;

	if (f == NULL || (end = strstr(f, "</form>")) == NULL) {
		fail(v, ERRK_CHECK, "interaction page without login form");
		return;
	}
	tag = f;
	while (tag > b && *tag != '<')
		tag--;
	action = html_attr_after(b, strchr(f, '>'), tag, "action=\"");
	uid = html_hidden(f, end, "uid");
	target = action ? url_resolve(url, action) : NULL;
	if (uid == NULL || target == NULL) {
		fail(v, ERRK_CHECK, "login form without action or uid");
	} else {
		char *eu = form_escape(uid), *el = form_escape(v->L->o.user);

		req_post(v, target, ST_FRONT, xasprintf("uid=%s&login=%s", eu, el), false, false);
		free(eu);
		free(el);
	}
	free(action);
	free(uid);
	free(target);
}

/* Glewlwyd: authorize sends the browser to login.html; its page logs in by API and resumes. */
static void
glw_login(struct vc *v, const char *loc)
{
	const struct load_opts *o = &v->L->o;
	char *resume = url_query_param(loc, "callback_url");
	char *api = url_resolve(loc, "api/auth/");
	json_t *j;
	char *body;

	if (resume == NULL || api == NULL || v->resume_url != NULL) {
		free(resume);
		free(api);
		fail(v, ERRK_CHECK, "Glewlwyd login redirect without callback_url, or a second one");
		return;
	}
	v->resume_url = xasprintf("%s%sg_continue", resume, strchr(resume, '?') ? "&" : "?");
	j = json_pack("{s:s,s:s}", "username", o->user, "password", o->password);
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (body == NULL) {
		fprintf(stderr, "porten-load: out of memory\n");
		exit(2);
	}
	req_post(v, api, ST_GLW_AUTH, body, true, false);
	free(resume);
	free(api);
}

static void
front_done(struct vc *v, long status)
{
	struct load *L = v->L;
	char *loc = NULL, *url = NULL;
	size_t rl = strlen(L->o.redirect_uri);

	curl_easy_getinfo(v->h, CURLINFO_EFFECTIVE_URL, &url);
	if (status == 301 || status == 302 || status == 303 || status == 307) {
		curl_easy_getinfo(v->h, CURLINFO_REDIRECT_URL, &loc);
		if (loc == NULL) {
			fail(v, ERRK_CHECK, "redirect without Location");
		} else if (strncmp(loc, L->o.redirect_uri, rl) == 0 && (loc[rl] == '?' || loc[rl] == '#')) {
			char *copy = xstrdup(loc);

			callback_done(v, copy);
			free(copy);
		} else if (L->o.target == TARGET_GLEWLWYD && strstr(loc, "/login.html") != NULL) {
			char *copy = xstrdup(loc);

			glw_login(v, copy);
			free(copy);
		} else if (++v->hops > LOAD_MAX_HOPS) {
			fail(v, ERRK_CHECK, "too many redirects");
		} else {
			char *copy = xstrdup(loc);

			req_get(v, copy, ST_FRONT, NULL);
			free(copy);
		}
		return;
	}
	if (status != 200 || v->body.overflow || v->body.len == 0) {
		fail(v, ERRK_STATUS, "login step %s answered %ld", url ? url : "?", status);
		return;
	}
	if (++v->hops > LOAD_MAX_HOPS) {
		fail(v, ERRK_CHECK, "too many login pages");
		return;
	}
	url = xstrdup(url);
	if (L->o.target == TARGET_PORTEN)
		porten_page(v, url);
	else if (L->o.target == TARGET_OIDC_PROVIDER)
		op_page(v, url);
	else
		fail(v, ERRK_CHECK, "unexpected page at %s", url);
	free(url);
}

static void
token_done(struct vc *v, long status)
{
	struct load *L = v->L;
	bool need_rt = L->o.flow == FLOW_REFRESH ||
		       (L->o.flow == FLOW_INTROSPECT && strcmp(L->o.introspect, "refresh") == 0);
	json_t *j;
	const char *why;

	if (status != 200) {
		fail(v, ERRK_STATUS, "token (code) answered %ld", status);
		return;
	}
	j = body_json(v);
	why = j ? check_tokens(v, j, true, scope_has_openid(L->o.scope), need_rt) : "not JSON";
	json_decref(j);
	if (why != NULL) {
		fail(v, ERRK_CHECK, "token response: %s", why);
		return;
	}
	if (L->o.flow != FLOW_LOGIN) {
		/* Tokens for the measured flow; this login is not itself counted. */
		if (L->measuring)
			L->s.setup_logins++;
		if (L->o.flow == FLOW_INTROSPECT) {
			bool rt = strcmp(L->o.introspect, "refresh") == 0;

			v->tok[v->ntok] = xstrdup(rt ? v->refresh_token : v->access_token);
			v->tok_cid[v->ntok] = v->client_id;
			v->tok_basic[v->ntok] = v->basic;
			v->ntok++;
		}
		v->ready = L->o.flow != FLOW_INTROSPECT || v->ntok >= L->o.tokens;
		clear_op(v);
		flow_start(v);
		return;
	}
	if (L->o.userinfo && L->m.userinfo_endpoint != NULL)
		req_get(v, L->m.userinfo_endpoint, ST_USERINFO, v->access_token);
	else
		op_complete(v);
}

static void
userinfo_done(struct vc *v, long status)
{
	json_t *j;
	const char *sub;
	bool ok;

	if (status != 200) {
		fail(v, ERRK_STATUS, "userinfo answered %ld", status);
		return;
	}
	j = body_json(v);
	sub = j ? json_string_value(json_object_get(j, "sub")) : NULL;
	ok = sub != NULL && (v->sub == NULL || strcmp(sub, v->sub) == 0);
	json_decref(j);
	if (!ok) {
		fail(v, ERRK_CHECK, "userinfo sub missing or not the ID token's");
		return;
	}
	op_complete(v);
}

static void
refresh_done(struct vc *v, long status)
{
	json_t *j;
	const char *why;

	if (status != 200) {
		fail(v, ERRK_STATUS, "token (refresh) answered %ld", status);
		return;
	}
	j = body_json(v);
	why = j ? check_tokens(v, j, false, false, false) : "not JSON";
	json_decref(j);
	if (why != NULL) {
		fail(v, ERRK_CHECK, "refresh response: %s", why);
		return;
	}
	op_complete(v);
}

static void
introspect_done(struct vc *v, long status)
{
	json_t *j;
	const char *cid;
	bool ok;

	if (status != 200) {
		fail(v, ERRK_STATUS, "introspection answered %ld", status);
		return;
	}
	j = body_json(v);
	cid = j ? json_string_value(json_object_get(j, "client_id")) : NULL;
	ok = j != NULL && json_is_true(json_object_get(j, "active")) &&
	     (cid == NULL || strcmp(cid, v->client_id) == 0);
	json_decref(j);
	if (!ok) {
		fail(v, ERRK_CHECK, "introspection: token not active or not ours");
		return;
	}
	op_complete(v);
}

static void
cc_done(struct vc *v, long status)
{
	json_t *j;
	const char *why;

	if (status != 200) {
		fail(v, ERRK_STATUS, "token (client_credentials) answered %ld", status);
		return;
	}
	j = body_json(v);
	why = j ? check_tokens(v, j, false, false, false) : "not JSON";
	json_decref(j);
	if (why != NULL) {
		fail(v, ERRK_CHECK, "client_credentials response: %s", why);
		return;
	}
	op_complete(v);
}

static void
mp_done(struct vc *v, long status)
{
	json_t *j, *p = NULL;
	const char *why;

	if (status != 200) {
		fail(v, ERRK_STATUS, "token (jwt-bearer) answered %ld", status);
		return;
	}
	j = body_json(v);
	why = j ? check_tokens(v, j, false, false, false) : "not JSON";
	if (why == NULL) {
		/* Maskinporten's access tokens are JWTs of its own issuer (checked above) with a lifetime. */
		p = jwt_payload(json_string_value(json_object_get(j, "access_token")));
		if (p == NULL)
			why = "access_token is not a JWT";
		else if (json_integer_value(json_object_get(j, "expires_in")) <= 0)
			why = "no positive expires_in";
	}
	json_decref(p);
	json_decref(j);
	if (why != NULL) {
		fail(v, ERRK_CHECK, "jwt-bearer response: %s", why);
		return;
	}
	op_complete(v);
}

void
flow_done(struct vc *v, CURLcode cc)
{
	struct load *L = v->L;
	double now = load_now();
	long status = 0;

	if (L->measuring && !L->stopping && now >= L->t_warm && now <= L->t_end) {
		static const int key[] = {
			[ST_GLW_AUTH] = SK_GLW_AUTH, [ST_TOKEN] = SK_TOKEN, [ST_USERINFO] = SK_USERINFO,
			[ST_REFRESH] = SK_REFRESH, [ST_INTROSPECT] = SK_INTROSPECT, [ST_CC] = SK_CC,
			[ST_MP] = SK_MP,
		};
		int k = v->step == ST_FRONT ? SK_FRONT0 + (v->fidx < 5 ? v->fidx : 5) : key[v->step];

		L->s.requests++;
		lsamples_add(&L->s.req_lat, now - v->req_start);
		if (v->step != ST_NONE)
			lsamples_add(&L->s.step_lat[k], now - v->req_start);
	}
	if (v->step == ST_FRONT)
		v->fidx++;
	if (cc != CURLE_OK) {
		fail(v, ERRK_TRANSPORT, "transport: %s", curl_easy_strerror(cc));
		return;
	}
	curl_easy_getinfo(v->h, CURLINFO_RESPONSE_CODE, &status);
	switch (v->step) {
	case ST_FRONT:
		front_done(v, status);
		break;
	case ST_GLW_AUTH:
		if (status != 200) {
			fail(v, ERRK_STATUS, "Glewlwyd login (wrong password?) answered %ld", status);
		} else {
			char *u = xstrdup(v->resume_url);

			req_get(v, u, ST_FRONT, NULL);
			free(u);
		}
		break;
	case ST_TOKEN:
		token_done(v, status);
		break;
	case ST_USERINFO:
		userinfo_done(v, status);
		break;
	case ST_REFRESH:
		refresh_done(v, status);
		break;
	case ST_INTROSPECT:
		introspect_done(v, status);
		break;
	case ST_CC:
		cc_done(v, status);
		break;
	case ST_MP:
		mp_done(v, status);
		break;
	case ST_NONE:
		break;
	}
}
