/*
 * The consent step (spec/idporten-oidc.md §7 step 6; §4 prompt=none).
 *
 * When a code is about to be issued and a requested scope has
 * requires_user_consent that this person has not yet granted this client,
 * the request is stored again as a pending authorization marked "consent"
 * and bound to the session's sid, and the browser goes to /consent.  The
 * form there posts back with the browser's CSRF token; the session is
 * loaded again from its cookie and must be the same one.  Accept remembers
 * the consent and issues the code for every scope; decline leaves the
 * scopes out and the login continues with the others.
 *
 * Remembered consent: one store document of kind "consent" per client and
 * person, keyed by base64url(SHA-256(client_id "\n" pid)) so that neither
 * appears in the key, holding {"scopes": {name: expires_at}}; it lives as
 * long as the client's authorization lifetime (capped, as grants are, by
 * each scope's authorization_max_age).
 */
#include "login/login_int.h"

#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "ui/pages.h"

#define CONSENT_KIND "consent"
#define CONSENT_MAX_SCOPES 64         /* more than any valid request holds */
#define CONSENT_SCOPE_MAX 256

/* What the consent step needs to know about one request. */
struct consent_need {
	json_t *missing;      /* array of scope docs still needing consent (owned) */
	json_t *given;        /* the remembered consent doc, or NULL (owned) */
	const char *key;      /* store id; NULL when the person has no pid */
	bool read;            /* given has been read (it may be NULL: none remembered) */
	long long lifetime;   /* how long consent and access last, seconds */
};

static struct porten *
consent_app(struct http_req *r)
{
	return r->app;
}

static const struct issuer *
consent_issuer(struct http_req *r)
{
	return r->route_data;
}

static void
consent_need_clear(struct consent_need *n)
{
	json_decref(n->missing);
	json_decref(n->given);
	memset(n, 0, sizeof(*n));
}

/* Has the person consented to scope, and is that consent still in force? */
static bool
consent_given(const json_t *given, const char *scope, int64_t now)
{
	json_t *exp = json_object_get(json_object_get(given, "scopes"), scope);

	return json_is_integer(exp) && json_integer_value(exp) > now;
}

/*
 * The person's remembered consent, read the first time a scope asks for
 * consent: most logins ask for none, and then the store is not asked.
 */
static int
consent_read(struct porten *app, struct consent_need *n, struct err *e)
{
	int rc;

	if (n->read || n->key == NULL)
		return 0;
	rc = store_call(app->store, login, doc_get, CONSENT_KIND, n->key, &n->given, e);
	if (rc == ERR_NOTFOUND)
		rc = 0;
	n->read = rc == 0;
	return rc;
}

/*
 * Which requested scopes need consent that has not been given.  Scopes are
 * those of a, already validated by /authorize; one that has since
 * vanished is skipped (the token endpoint refuses it anyway).
 */
static int
consent_assess(struct http_req *r, const struct client *client, const struct authz_request *a,
	       const struct session *s, struct consent_need *n, struct err *e)
{
	struct porten *app = consent_app(r);
	struct str rest = str_c(a->scope), tok;
	const char *pid = session_person(s);
	const char *client_id = client->client_id;
	int64_t now = time_now();
	size_t count = 0;
	int rc = 0;

	memset(n, 0, sizeof(*n));
	n->missing = json_array();
	n->lifetime = client->authorization_lifetime; /* positive: the record has its default */
	if (n->missing == NULL)
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	if (pid != NULL && client_id != NULL)
		n->key = sha256_b64url(r->arena,
				       str_c(arena_printf(r->arena, "%s\n%s", client_id, pid)));
	while (rest.len > 0) {
		json_t *doc = NULL;
		char *name;

		str_split(rest, ' ', &tok, &rest);
		if (tok.len == 0)
			continue;
		/* /authorize holds fewer and shorter; never issue a scope unasked */
		if (tok.len > CONSENT_SCOPE_MAX || ++count > CONSENT_MAX_SCOPES)
			return ERR(e, ERR_INVAL, 400, OAUTH_INVALID_SCOPE,
				   "too many or too long scopes for the consent step");
		name = arena_str(r->arena, tok);
		rc = reg_scope_get(app, name, &doc, e);
		if (rc == ERR_NOTFOUND)
			continue;	/* an unknown scope needs no consent */
		if (rc != 0)
			return rc;
		{
			long long cap = json_integer_value(json_object_get(doc, "authorization_max_age"));

			if (cap > 0 && cap < n->lifetime)
				n->lifetime = cap;
		}
		if (json_is_true(json_object_get(doc, "requires_user_consent"))) {
			rc = consent_read(app, n, e);
			if (rc != 0) {
				json_decref(doc);
				return rc;
			}
			if (!consent_given(n->given, name, now))
				json_array_append(n->missing, doc);
		}
		json_decref(doc);
	}
	return 0;
}

bool
consent_intercept(struct http_req *r, struct http_resp *w, const struct client *client,
		  const json_t *areq, struct session *s)
{
	const char *sid = s->sid;
	struct consent_need n = { 0 };
	struct authz_request a, pending;
	struct err e = { 0 };
	bool answered = true;
	int rc;

	if (areq_decode(areq, r->arena, &a, &e) != 0) {
		log_err(r->rid, "cannot read the authorization request: %s", e.msg);
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "the login could not be completed");
		return true;
	}
	/* Set by the consent form's accept: the person has just agreed. */
	if (a.consent_accepted)
		return false;
	rc = consent_assess(r, client, &a, s, &n, &e);
	if (rc != 0) {
		login_store_failed(r, w, areq, rc, "cannot check consent", &e);
		goto out;
	}
	if (json_array_size(n.missing) == 0) {
		answered = false;
		goto out;
	}
	/* spec §4: prompt=none may show no page. */
	if (a.prompt != NULL && strcmp(a.prompt, "none") == 0) {
		login_respond(r, w, areq, NULL, OAUTH_CONSENT_REQUIRED,
			      "the user has not consented to the requested scopes");
		goto out;
	}
	if (sid == NULL) {
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "the login could not be completed");
		goto out;
	}
	pending = a;
	pending.consent = true;
	pending.consent_sid = sid;
	rc = login_pending_store(r, w, &pending, &e);
	if (rc != 0) {
		login_store_failed(r, w, areq, rc, "cannot store pending consent", &e);
		goto out;
	}
	http_resp_redirect(w, arena_printf(r->arena, "%s/consent?ar=%s", consent_issuer(r)->prefix,
					   pending.id));
out:
	consent_need_clear(&n);
	return answered;
}

/*
 * The pending consent ar (its document *areq and record *a) with its
 * client and the session it was asked in.  On failure the caller answers
 * with login_page_error().
 */
static int
consent_load(struct http_req *r, const char *ar, json_t **areq, struct authz_request *a,
	     const struct client **client, struct session *s, struct err *e)
{
	struct porten *app = consent_app(r);
	const char *want;
	int rc;

	*client = NULL;
	rc = login_pending_load(r, ar, areq, a, e);
	if (rc != 0)
		return rc;
	want = a->consent_sid;
	if (!a->consent || want == NULL)
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST, "no consent is asked for");
	rc = reg_client_find(app, a->client_id, client, e);
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST, "the client is no longer active");
	if (rc != 0)
		return rc;
	rc = session_load(r, *client, s, e);
	if (rc == 0) {
		const char *sid = s->sid;

		if (sid == NULL || !ct_str_eq(str_c(sid), str_c(want)))
			rc = ERR_NOTFOUND;
	}
	if (rc == ERR_NOTFOUND)
		return ERR(e, ERR_NOTFOUND, 400, OAUTH_INVALID_REQUEST,
			   "the login has expired; start again from the service");
	return rc;
}

/* "Access lasts ..." in the largest whole unit. */
static void
consent_duration(struct http_req *r, struct buf *b, const char *lang, long long secs)
{
	const char *n;

	if (secs >= 86400 && secs % 86400 == 0) {
		n = arena_printf(r->arena, "%lld", secs / 86400);
		if (secs == 86400)
			page_put(b, lang, "Access is given for 1 day.", NULL, NULL);
		else
			page_put(b, lang, "Access is given for {n} days.", "n", n);
	} else if (secs >= 3600 && secs % 3600 == 0) {
		n = arena_printf(r->arena, "%lld", secs / 3600);
		if (secs == 3600)
			page_put(b, lang, "Access is given for 1 hour.", NULL, NULL);
		else
			page_put(b, lang, "Access is given for {n} hours.", "n", n);
	} else {
		long long m = (secs + 59) / 60;

		n = arena_printf(r->arena, "%lld", m);
		if (m == 1)
			page_put(b, lang, "Access is given for 1 minute.", NULL, NULL);
		else
			page_put(b, lang, "Access is given for {n} minutes.", "n", n);
	}
}

/* One of the two answers: a form of its own, so each button posts only itself. */
static void
consent_button(struct http_req *r, struct buf *b, const char *lang, const char *ar,
	       const char *decision, const char *label_msgid, bool secondary)
{
	buf_printf(b, "<form id=\"consent-%s\" method=\"post\" action=\"%s/consent\">", decision,
		   consent_issuer(r)->prefix);
	page_hidden(b, "ar", ar);
	page_hidden(b, "csrf", login_csrf(r, ar));
	buf_printf(b, "<button type=\"submit\" name=\"decision\" value=\"%s\"%s>", decision,
		   secondary ? " class=\"secondary\"" : "");
	buf_html(b, str_c(page_text(lang, label_msgid)));
	buf_puts(b, "</button></form>");
}

static void
consent_page(struct http_req *r, struct http_resp *w, const struct client *client,
	     const struct authz_request *a, const struct consent_need *n)
{
	const char *ar = a->id;
	const char *locale = a->locale;
	/* ?lang= (remembered in the cookie) > cookie > ui_locales. */
	const char *lang = page_lang_choose(r, w, locale);
	const char *cname = login_client_name(client, a->onbehalfof);
	size_t i;
	json_t *doc;
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "Consent");
	buf_puts(&b, "<h1>");
	buf_html(&b, str_c(page_text(lang, "Consent")));
	buf_puts(&b, "</h1><p>");
	page_put(&b, lang, "{client} asks for access to the following on your behalf:", "client",
		 cname ? cname : client->client_id);
	buf_puts(&b, "</p><ul id=\"consent-scopes\" class=\"scopes\">");
	json_array_foreach(n->missing, i, doc) {
		const char *name = json_string_value(json_object_get(doc, "name"));
		const char *desc = json_string_value(json_object_get(doc, "description"));
		const char *longd = json_string_value(json_object_get(doc, "long_description"));

		buf_puts(&b, "<li data-scope=\"");
		buf_html(&b, str_c(name));
		buf_puts(&b, "\"><strong>");
		buf_html(&b, str_c(desc && *desc ? desc : name));
		buf_puts(&b, "</strong>");
		/* Markdown is shown as plain text: never markup from a registration. */
		if (longd != NULL && *longd != '\0') {
			buf_puts(&b, "<p class=\"long-description\">");
			buf_html(&b, str_c(longd));
			buf_puts(&b, "</p>");
		}
		buf_puts(&b, "</li>");
	}
	buf_puts(&b, "</ul><p id=\"consent-duration\">");
	consent_duration(r, &b, lang, n->lifetime);
	buf_puts(&b, "</p><p>");
	buf_html(&b, str_c(page_text(lang, "If you decline, the service gets no access to these, "
					   "and the login continues without them.")));
	buf_puts(&b, "</p><div class=\"actions\">");
	consent_button(r, &b, lang, ar, "accept", "Accept", false);
	consent_button(r, &b, lang, ar, "decline", "Decline", true);
	buf_puts(&b, "</div>");
	login_cancel_form(r, &b, lang, ar);
	page_end(&b, lang, arena_printf(r->arena, "%s/consent?ar=%s", consent_issuer(r)->prefix, ar));
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
}

void
consent_handle_show(struct http_req *r, struct http_resp *w)
{
	const char *ar = http_param_c(&r->query, "ar");
	struct consent_need n = { 0 };
	struct session s = { 0 };
	struct err e = { 0 };
	const struct client *client = NULL;
	struct authz_request a;
	json_t *areq = NULL;

	if (consent_load(r, ar, &areq, &a, &client, &s, &e) != 0 ||
	    consent_assess(r, client, &a, &s, &n, &e) != 0) {
		login_page_error(r, w, &e);
		goto out;
	}
	if (json_array_size(n.missing) == 0) {
		/* Given meanwhile (another tab): nothing to ask. */
		if (login_pending_spend(r, ar, &e) != 0) {
			login_page_error(r, w, &e);
			goto out;
		}
		login_finish(r, w, client, areq, &s);
		goto out;
	}
	consent_page(r, w, client, &a, &n);
out:
	consent_need_clear(&n);
	session_clear(&s);
	reg_client_release(client);
	json_decref(areq);
}

/* Remember consent to the missing scopes, keeping what was given before. */
static int
consent_remember(struct http_req *r, const struct consent_need *n, struct err *e)
{
	struct porten *app = consent_app(r);
	int64_t now = time_now(), until = now + n->lifetime, last = until;
	json_t *doc, *scopes, *v, *sdoc;
	const char *k;
	size_t i;
	int rc;

	/*
	 * Nothing newly agreed to: nothing to write.  A scope is missing only
	 * after consent_read, so what was given before is in n->given.
	 */
	if (n->key == NULL || json_array_size(n->missing) == 0)
		return 0;
	doc = json_object();
	scopes = json_object();
	if (doc == NULL || scopes == NULL) {
		json_decref(doc);
		json_decref(scopes);
		return ERR(e, ERR_NOMEM, 500, OAUTH_SERVER_ERROR, "out of memory");
	}
	json_object_foreach(json_object_get(n->given, "scopes"), k, v) {
		if (json_is_integer(v) && json_integer_value(v) > now) {
			json_object_set(scopes, k, v);
			if (json_integer_value(v) > last)
				last = json_integer_value(v);
		}
	}
	json_array_foreach(n->missing, i, sdoc) {
		const char *name = json_string_value(json_object_get(sdoc, "name"));

		if (name != NULL)
			json_object_set_new(scopes, name, json_integer(until));
	}
	json_object_set_new(doc, "scopes", scopes);
	/* put refuses a live id: replace the old record. */
	rc = store_call(app->store, login, doc_delete, CONSENT_KIND, n->key, e);
	if (rc == 0 || rc == ERR_NOTFOUND)
		rc = store_call(app->store, login, doc_put, CONSENT_KIND, n->key, doc, last, e);
	json_decref(doc);
	return rc;
}

/* The request's scopes without those the person declined (arena). */
static const char *
consent_without(struct http_req *r, const char *scope, const json_t *declined)
{
	struct str rest = str_c(scope), tok;
	struct buf b;
	const char *out;

	buf_init(&b, HTTP_MAX_URI);
	while (rest.len > 0) {
		bool drop = false;
		size_t i;
		json_t *doc;

		str_split(rest, ' ', &tok, &rest);
		json_array_foreach(declined, i, doc) {
			const char *name = json_string_value(json_object_get(doc, "name"));

			if (name != NULL && str_eq_c(tok, name))
				drop = true;
		}
		if (tok.len > 0 && !drop) {
			if (b.len > 0)
				buf_puts(&b, " ");
			buf_append(&b, tok.p, tok.len);
		}
	}
	out = arena_strndup(r->arena, b.p ? b.p : "", b.len);
	buf_free(&b);
	return out;
}

void
consent_handle_submit(struct http_req *r, struct http_resp *w)
{
	const char *ar = http_param_c(&r->form, "ar");
	const char *decision = http_param_c(&r->form, "decision");
	struct consent_need n = { 0 };
	struct session s = { 0 };
	struct err e = { 0 };
	const struct client *client = NULL;
	struct authz_request a;
	json_t *areq = NULL, *next = NULL;
	int rc;

	if (consent_load(r, ar, &areq, &a, &client, &s, &e) != 0) {
		login_page_error(r, w, &e);
		goto out;
	}
	if (!login_csrf_ok(r, ar, http_param_c(&r->form, "csrf"))) {
		page_error(r, w, 403, page_lang(r, NULL), OAUTH_INVALID_REQUEST,
			   "the form has expired; start again from the service");
		goto out;
	}
	if (decision == NULL ||
	    (strcmp(decision, "accept") != 0 && strcmp(decision, "decline") != 0)) {
		page_error(r, w, 400, page_lang(r, NULL), OAUTH_INVALID_REQUEST,
			   "accept or decline is required");
		goto out;
	}
	if (consent_assess(r, client, &a, &s, &n, &e) != 0) {
		login_page_error(r, w, &e);
		goto out;
	}
	/*
	 * The pending authorization is spent whatever happens next; of two
	 * forms posted at once (or a replay), only one gets past this.
	 */
	if (login_pending_spend(r, ar, &e) != 0) {
		login_page_error(r, w, &e);
		goto out;
	}
	a.consent = false;
	a.consent_sid = NULL;
	if (strcmp(decision, "accept") == 0) {
		rc = consent_remember(r, &n, &e);
		if (rc != 0) {
			log_err(r->rid, "cannot remember consent: %s", e.msg);
			login_respond(r, w, areq, NULL,
				      rc == ERR_UNAVAILABLE ? OAUTH_TEMPORARILY_UNAVAILABLE
							    : OAUTH_SERVER_ERROR,
				      "the login could not be completed");
			goto out;
		}
		a.consent_accepted = true;
	} else {
		const char *rest = consent_without(r, a.scope, n.missing);

		/* spec §7 step 6: declined scopes are left out, the login continues. */
		if (*rest == '\0') {
			login_respond(r, w, areq, NULL, OAUTH_ACCESS_DENIED,
				      "the user declined every requested scope");
			goto out;
		}
		a.scope = rest;
	}
	next = areq_encode(&a);
	if (next == NULL) {
		login_respond(r, w, areq, NULL, OAUTH_SERVER_ERROR, "the login could not be completed");
		goto out;
	}
	login_resume_after(&login_consent_step, r, w, client, next, &s);
out:
	json_decref(next);
	consent_need_clear(&n);
	session_clear(&s);
	reg_client_release(client);
	json_decref(areq);
}

static int
consent_enter(struct login_ctx *c, struct http_req *r, struct http_resp *w)
{
	return consent_intercept(r, w, c->client, c->areq, c->s) ? 1 : 0;
}

static const struct http_route consent_routes[] = {
	{ "GET", "/consent", consent_handle_show, NULL },
	{ "POST", "/consent", consent_handle_submit, NULL },
	{ NULL, NULL, NULL, NULL },
};

/* The last built-in step; the route table serves its pages (app/service.c). */
const struct login_step login_consent_step = {
	.name = "consent",
	.issuer_kinds = SERVICE_LOGIN_ISSUERS,
	.routes = consent_routes,
	.enter = consent_enter,
};
