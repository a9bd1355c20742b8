/*
 * Answers of the login core: the authorization response to the client
 * (RFC 6749 §4.1.2, RFC 9207, OAuth 2.0 Form Post and Multiple Response
 * Types) and error pages for the person.
 */
#include <string.h>

#include "core/log.h"
#include "login/areq.h"
#include "login/login_int.h"
#include "oauth/oauth.h"
#include "ui/pages.h"

static const struct issuer *
login_issuer(struct http_req *r)
{
	return r->route_data;
}

void
login_respond(struct http_req *r, struct http_resp *w, const json_t *areq, const char *code,
	      const char *error, const char *desc)
{
	const struct issuer *is = login_issuer(r);
	struct authz_request a;
	const char *names[5], *values[5], *uri;
	struct err e = { 0 };
	size_t n = 0;
	struct buf b;
	char sep;

	if (areq_decode(areq, r->arena, &a, &e) != 0 || a.redirect_uri == NULL) {
		/* Nothing trustworthy to redirect to: the person sees the error. */
		log_err(r->rid, "authorization response: %s", e.msg[0] ? e.msg : "no redirect_uri");
		page_error(r, w, 500, page_lang(r, NULL), OAUTH_SERVER_ERROR,
			   "the login could not be completed");
		return;
	}
	uri = a.redirect_uri;
	if (code != NULL) {
		names[n] = "code";
		values[n++] = code;
	} else {
		names[n] = "error";
		values[n++] = error;
		if (desc != NULL) {
			names[n] = "error_description";
			values[n++] = arena_printf(r->arena, "%s (ref %s)", desc, r->rid);
		}
	}
	if (a.state != NULL) {
		names[n] = "state";
		values[n++] = a.state;
	}
	names[n] = "iss";
	values[n++] = is->iss;

	if (a.mode == RESPONSE_MODE_FORM_POST) {
		page_form_post(w, uri, names, values, n);
		return;
	}
	buf_init(&b, HTTP_MAX_URI * 4);
	buf_puts(&b, uri);
	if (a.mode == RESPONSE_MODE_FRAGMENT)
		sep = '#';
	else
		sep = strchr(uri, '?') ? '&' : '?';
	for (size_t i = 0; i < n; i++) {
		buf_append(&b, &sep, 1);
		buf_puts(&b, names[i]);
		buf_puts(&b, "=");
		buf_urlenc(&b, str_c(values[i]));
		sep = '&';
	}
	http_resp_redirect(w, b.p ? b.p : uri);
	buf_free(&b);
}

void
login_store_failed(struct http_req *r, struct http_resp *w, const json_t *areq, int rc,
		   const char *what, const struct err *e)
{
	log_err(r->rid, "%s: %s", what, e->msg);
	login_respond(r, w, areq, NULL,
		      rc == ERR_UNAVAILABLE ? OAUTH_TEMPORARILY_UNAVAILABLE : OAUTH_SERVER_ERROR,
		      "the login could not be completed");
}

/* The busy page: the server's problem, not the person's (503). */
static void
page_busy(struct http_req *r, struct http_resp *w)
{
	page_error(r, w, 503, page_lang(r, NULL), OAUTH_TEMPORARILY_UNAVAILABLE,
		   "the service is busy; please try again in a moment");
}

void
login_page_unknown(struct http_req *r, struct http_resp *w, const struct err *e)
{
	if (e->code == ERR_NOTFOUND) {
		login_page_error(r, w, e);
		return;
	}
	log_err(r->rid, "cannot end the login: %s", e->msg);
	page_busy(r, w);
}

void
login_page_error(struct http_req *r, struct http_resp *w, const struct err *e)
{
	/* A store that is away gets the busy page. */
	if (e->code == ERR_UNAVAILABLE)
		page_busy(r, w);
	else
		page_error(r, w, e->status >= 400 && e->status < 600 ? e->status : 400,
			   page_lang(r, NULL), e->oauth ? e->oauth : OAUTH_INVALID_REQUEST, e->msg);
}
