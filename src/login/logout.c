/*
 * RP-initiated logout with front-channel notification
 * (spec/idporten-oidc.md §15; OIDC RP-Initiated Logout 1.0, Front-Channel
 * Logout 1.0).
 */
#include <string.h>

#include "core/b64.h"
#include "core/crypto.h"
#include "core/log.h"
#include "login/login.h"
#include "login/session.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "ui/pages.h"

/* What a valid id_token_hint of ours says: its client, session and person. */
struct logout_hint {
	const char *client_id;
	const char *sid;               /* NULL: the client did not ask for sid */
	const char *sub;
};

static const char *
logout_claim(struct http_req *r, const json_t *claims, const char *name)
{
	const char *v = json_string_value(json_object_get(claims, name));

	return v != NULL ? arena_strdup(r->arena, v) : NULL;
}

/* Expiry does not matter here; ERR_INVAL for a hint that is not ours. */
static int
logout_hint_read(struct http_req *r, const char *hint, struct logout_hint *h)
{
	const struct issuer *is = r->route_data;
	struct err e = { 0 };
	json_t *jwks = NULL, *claims = NULL;
	const char *iss;

	memset(h, 0, sizeof(*h));
	if (reg_keys_jwks(r->app, is, &jwks, &e) != 0)
		return ERR_INVAL;
	if (jose_jwt_verify(str_c(hint), jwks, JOSE_ALG_RS256, &claims, &e) == 0) {
		iss = json_string_value(json_object_get(claims, "iss"));
		if (iss != NULL && strcmp(iss, is->iss) == 0) {
			h->client_id = logout_claim(r, claims, "aud");
			h->sid = logout_claim(r, claims, "sid");
			h->sub = logout_claim(r, claims, "sub");
		}
	}
	json_decref(claims);
	json_decref(jwks);
	return h->client_id != NULL ? 0 : ERR_INVAL;
}

/*
 * Whether the hint was issued in session s: its sid, or, for a client
 * that gets none, the session's person as that client knows them and the
 * client among the session's.  Any other ID token of ours (another
 * person's, an attacker's own login) is no proof that this browser's user
 * wants out (RP-Initiated Logout 1.0 §2).
 */
static bool
logout_hint_of(struct http_req *r, const struct logout_hint *h, const struct session *s)
{
	const char *sub;

	if (h->client_id == NULL || s->sid == NULL)
		return false;
	if (h->sid != NULL)
		return strcmp(h->sid, s->sid) == 0;
	if (!session_has_client(s, h->client_id) || h->sub == NULL || session_person(s) == NULL)
		return false;
	sub = oauth_pairwise_sub(r, h->client_id, session_person(s));
	return sub != NULL && strcmp(sub, h->sub) == 0;
}

static bool
logout_state_ok(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* One front-channel URL for a client of the ended session, or NULL. */
static const char *
logout_frontchannel_url(struct http_req *r, const struct client *client, const char *sid)
{
	const struct issuer *is = r->route_data;
	const char *uri = client->frontchannel_logout_uri;
	struct buf b;
	char *out;

	if (uri == NULL || uri[0] == '\0')
		return NULL;
	if (!client->frontchannel_logout_session_required || sid == NULL)
		return uri;
	buf_init(&b, 8192);
	buf_puts(&b, uri);
	buf_puts(&b, strchr(uri, '?') ? "&iss=" : "?iss=");
	buf_urlenc(&b, str_c(is->iss));
	buf_puts(&b, "&sid=");
	buf_urlenc(&b, str_c(sid));
	out = arena_strdup(r->arena, b.p);
	buf_free(&b);
	return out;
}

static void
logout_page(struct http_req *r, struct http_resp *w, const char *lang, json_t *frames,
	    const char *dest)
{
	const struct issuer *is = r->route_data;
	char nonce[TOKEN_CHARS + 1];
	struct buf b;
	size_t i;
	json_t *v;

	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "You are logged out");
	/* At Ansattporten only the one client's own session has ended. */
	buf_printf(&b, "<h1>%s</h1><p>%s</p>", page_text(lang, "You are logged out"),
		   page_text(lang, is->kind == ISSUER_ANSATTPORTEN
					   ? "You are now logged out of Ansattporten for this service."
					   : "You are now logged out of ID-porten and the services you "
					     "used."));
	json_array_foreach(frames, i, v) {
		buf_puts(&b, "<iframe title=\"logout\" src=\"");
		buf_html(&b, str_c(json_string_value(v)));
		buf_puts(&b, "\"></iframe>");
	}
	if (dest != NULL) {
		buf_puts(&b, "<p><a id=\"continue\" href=\"");
		buf_html(&b, str_c(dest));
		buf_printf(&b, "\">%s</a></p>", page_text(lang, "Continue"));
	}
	if (dest != NULL && json_array_size(frames) > 0 && rand_token_buf(nonce) == 0) {
		/*
		 * Continue once every client has seen its logout call (or after 5 s
		 * for one that never answers); without JavaScript the link above
		 * does it, and no timer takes the page away from a reader.
		 */
		buf_printf(&b, "<script nonce=\"%s\">(function(){var f=document.querySelectorAll("
			       "'iframe'),n=f.length,go=function(){location.href=document."
			       "getElementById('continue').href;};f.forEach(function(x){x."
			       "addEventListener('load',function(){if(--n===0)go();});});"
			       "setTimeout(go,5000);})();</script>", nonce);
		http_resp_header(w, "Content-Security-Policy",
				 arena_printf(r->arena,
					      "default-src 'none'; style-src 'self' 'unsafe-inline'; "
					      "script-src 'nonce-%s'; frame-src *; frame-ancestors 'none'; "
					      "base-uri 'none'", nonce));
	}
	page_end(&b, lang, NULL);
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
}

/*
 * The services' parts of the logout (porten_service.logout), chained: the
 * first listed runs first, each ending where the next one starts, the
 * last at dest.  What the browser goes to after the frames.
 */
static const char *
logout_services(struct http_req *r, const char *sid, const char *dest)
{
	struct porten *app = r->app;
	const struct issuer *is = r->route_data;
	const struct porten_service *const *list = app->services;
	const char *next;
	struct err e = { 0 };
	size_t n = 0;

	while (list != NULL && list[n] != NULL)
		n++;
	while (n-- > 0) {
		if (list[n]->logout == NULL ||
		    !(list[n]->issuer_kinds & SERVICE_ISSUER(is->kind)))
			continue;
		next = NULL;
		if (list[n]->logout(r, sid, dest, &next, &e) != 0)
			log_err(r->rid, "%s: its part of the logout failed: %s", list[n]->name,
				e.msg);
		else if (next != NULL)
			dest = next;
	}
	return dest;
}

/* The token that confirms a logout of session s (HMAC under the shared CSRF key). */
static const char *
logout_confirm_token(struct http_req *r, const struct session *s)
{
	struct porten *app = r->app;
	unsigned char mac[32];
	char *msg = arena_printf(r->arena, "logout\n%s", s->hash);

	hmac_sha256(app->csrf_key, sizeof(app->csrf_key), msg, strlen(msg), mac);
	return b64url_encode_arena(r->arena, mac, sizeof(mac));
}

/*
 * Without an id_token_hint from the session any page could log a user out
 * with a cross-site GET; the user confirms first (OIDC RP-Initiated Logout
 * 1.0 §2).
 */
static void
logout_confirm_page(struct http_req *r, struct http_resp *w, const char *lang,
		    const struct http_params *p, const char *token)
{
	const struct issuer *is = r->route_data;
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "Do you want to log out?");
	buf_printf(&b, "<h1>%s</h1>", page_text(lang, "Do you want to log out?"));
	buf_printf(&b, "<form id=\"logout-confirm-form\" method=\"post\" action=\"%s/logout\">",
		   is->prefix);
	page_hidden(&b, "id_token_hint", http_param_c(p, "id_token_hint"));
	page_hidden(&b, "client_id", http_param_c(p, "client_id"));
	page_hidden(&b, "post_logout_redirect_uri", http_param_c(p, "post_logout_redirect_uri"));
	page_hidden(&b, "state", http_param_c(p, "state"));
	page_hidden(&b, "ui_locales", http_param_c(p, "ui_locales"));
	page_hidden(&b, "confirm", token);
	buf_printf(&b, "<button type=\"submit\">%s</button></form>", page_text(lang, "Log out"));
	page_end(&b, lang, NULL);
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
}

void
login_handle_logout(struct http_req *r, struct http_resp *w)
{
	struct porten *app = r->app;
	const struct issuer *is = r->route_data;
	const struct http_params *p = strcmp(r->method, "POST") == 0 ? &r->form : &r->query;
	const char *lang = page_lang(r, http_param_c(p, "ui_locales"));
	const char *hint, *cid, *hint_cid = NULL, *plr, *state, *dest = NULL, *sid;
	struct logout_hint h = { 0 };
	const struct client *client = NULL;
	json_t *frames = json_array();
	struct session s = { 0 };
	struct err e = { 0 };
	size_t i;
	int rc;

	if (r->bad_input) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST, r->input_err.msg);
		goto out;
	}
	hint = http_param_c(p, "id_token_hint");
	cid = http_param_c(p, "client_id");
	plr = http_param_c(p, "post_logout_redirect_uri");
	state = http_param_c(p, "state");
	if (hint != NULL && logout_hint_read(r, hint, &h) != 0) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST, "id_token_hint is not valid");
		goto out;
	}
	hint_cid = h.client_id;
	if (hint_cid != NULL && cid != NULL && strcmp(hint_cid, cid) != 0) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST,
			   "client_id does not match id_token_hint");
		goto out;
	}
	if (state != NULL && !logout_state_ok(state)) {
		page_error(r, w, 400, lang, OAUTH_INVALID_REQUEST, "state must be printable ASCII");
		goto out;
	}
	if (hint_cid != NULL || cid != NULL)
		reg_client_find(app, hint_cid ? hint_cid : cid, &client, &e);
	/* Each issuer logs out its own clients' sessions only. */
	if (client != NULL && !reg_client_fits(client, is)) {
		page_error(r, w, 400, lang, OAUTH_UNAUTHORIZED_CLIENT,
			   "the client is not registered for this service");
		goto out;
	}
	/*
	 * Every Ansattporten session is one client's own (spec/ansattporten-
	 * eidas-testid.md §1.1): without the client there is none to end, and
	 * never the shared session of ID-porten.
	 */
	if (client == NULL && is->kind == ISSUER_ANSATTPORTEN) {
		page_error(r, w, 400, lang, "no_session",
			   "name the client (client_id or id_token_hint) to log out of");
		goto out;
	}
	rc = session_load(r, client, &s, &e);
	if (rc == ERR_UNAVAILABLE) {
		page_error(r, w, 503, lang, OAUTH_TEMPORARILY_UNAVAILABLE, "please try again");
		goto out;
	}
	if (rc != 0) {
		page_error(r, w, 400, lang, "no_session", "there is no session to log out of");
		goto out;
	}
	if (!logout_hint_of(r, &h, &s)) {
		const char *want = logout_confirm_token(r, &s);
		const char *got = strcmp(r->method, "POST") == 0 ? http_param_c(p, "confirm") : NULL;

		if (got == NULL || !ct_str_eq(str_c(got), str_c(want))) {
			logout_confirm_page(r, w, lang, p, want);
			goto out;
		}
	}
	sid = s.sid;
	for (i = 0; s.clients != NULL && i < s.nclients; i++) {
		const struct client *c = NULL;
		const char *url;

		if (reg_client_find(app, s.clients[i], &c, &e) != 0)
			continue;
		url = logout_frontchannel_url(r, c, sid);
		if (url != NULL)
			json_array_append_new(frames, json_string(url));
		reg_client_release(c);
	}
	if (session_end(r, w, client, &s, &e) != 0) {
		log_err(r->rid, "cannot end session: %s", e.msg);
		page_error(r, w, 503, lang, OAUTH_TEMPORARILY_UNAVAILABLE, "please try again");
		goto out;
	}
	{
		json_t *ev = json_pack("{s:s?, s:s}", "client_id",
				       client ? client->client_id : NULL, "sid", sid);

		store_event_add_tree(app->store, "logout", ev, &e);
		json_decref(ev);
	}
	if (client != NULL && plr != NULL &&
	    reg_strs_has(&client->post_logout_redirect_uris, plr)) {
		struct buf b;

		buf_init(&b, HTTP_MAX_URI * 2);
		buf_puts(&b, plr);
		if (state != NULL) {
			buf_puts(&b, strchr(plr, '?') ? "&state=" : "?state=");
			buf_urlenc(&b, str_c(state));
		}
		dest = arena_strdup(r->arena, b.p);
		buf_free(&b);
	}
	if (sid != NULL)
		dest = logout_services(r, sid, dest);
	if (json_array_size(frames) == 0 && dest != NULL)
		http_resp_redirect(w, dest);
	else
		logout_page(r, w, lang, frames, dest);
out:
	session_clear(&s);
	reg_client_release(client);
	json_decref(frames);
}
