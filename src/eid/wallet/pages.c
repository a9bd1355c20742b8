/*
 * The person's pages of the wallet login (spec/eudi-wallet.md §4, §8): the
 * start page with the link or the QR code, the waiting page that reloads
 * itself (meta refresh, and a button for browsers that ignore it), the
 * return from a same-device wallet, and the failure pages.
 */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/loa.h"
#include "core/timeutil.h"
#include "eid/wallet/wallet.h"
#include "eid/wallet/wallet_int.h"
#include "store/store.h"
#include "ui/pages.h"

#define POLL_SECONDS 3

static const struct eid_route wallet_routes[] = {
	{ "GET", "/wallet", wallet_start, EID_DOOR_LOGIN },
	{ "GET", "/wallet/status", wallet_status, EID_DOOR_LOGIN },
	{ "GET", "/wallet/return", wallet_return, EID_DOOR_OWN },
	{ "GET", "/wallet/request", wallet_request, EID_DOOR_NONE },
	{ "POST", "/wallet/request", wallet_request, EID_DOOR_NONE },
	{ "POST", "/wallet/response", wallet_response, EID_DOOR_NONE },
	{ "POST", "/wallet/dc-response", wallet_dc_response, EID_DOOR_LOGIN },
	{ NULL, NULL, NULL, EID_DOOR_NONE },
};

const struct eid_provider eid_wallet = {
	.name = "wallet",
	.display = "EU digital identity wallet",
	.desc_key = N_("Log in with the person identification data in your wallet"),
	.path = "/wallet",
	.levels = EID_LEVEL_HIGH,
	/* spec §1: offered with eidas-loa-* values, as the eIDAS connector is. */
	.eidas = true,
	.routes = wallet_routes,
};

char *
wallet_link(struct http_req *r, const json_t *tx)
{
	const struct issuer *is = r->route_data;
	struct buf b;
	char *out;

	buf_init(&b, 4096);
	buf_puts(&b, wallet_conf.scheme);
	buf_puts(&b, "?client_id=");
	buf_urlenc(&b, str_c(wallet_conf.client_id));
	buf_puts(&b, "&request_uri=");
	buf_urlenc(&b, str_c(arena_printf(r->arena, "%s/wallet/request?id=%s", is->base,
					  json_string_value(json_object_get(tx, "id")))));
	buf_puts(&b, "&request_uri_method=post");
	out = arena_strndup(r->arena, b.p, b.len);
	buf_free(&b);
	return out;
}

const char *
wallet_origin(struct http_req *r)
{
	char *base = app_browser_base(r->route_data), *p, *end;
	const char *out = NULL;

	/* scheme://host[:port] of the login pages, without their path. */
	p = base != NULL ? strstr(base, "://") : NULL;
	if (p != NULL) {
		end = strchr(p + 3, '/');
		out = arena_strndup(r->arena, base, end != NULL ? (size_t)(end - base) : strlen(base));
	}
	free(base);
	return out;
}

/* A mobile browser gets the same-device link first (§4.4). */
static bool
is_mobile(struct http_req *r)
{
	const char *ua = http_header(r, "user-agent");

	return ua != NULL && (strstr(ua, "Mobile") != NULL || strstr(ua, "Android") != NULL);
}

static void
para(struct buf *b, const char *lang, const char *msgid)
{
	buf_puts(b, "<p>");
	buf_html(b, str_c(page_text(lang, msgid)));
	buf_puts(b, "</p>");
}

/*
 * The script of the wallet pages (§4.3, §4.4), allowed by its nonce alone.
 * Where the browser has the Digital Credentials API it reveals the way to
 * it, and takes it at once when the person chose no flow; the DC page's
 * button asks the browser with the signed request and posts what comes
 * back.  Without the API the waiting page asks again every few seconds, as
 * its meta refresh does when scripts are off.
 */
static const char wallet_js[] =
	"(function(){'use strict';"
	"var d=document,m=d.getElementById('wallet-js');"
	"var dc=typeof DigitalCredential!=='undefined'&&!!navigator.credentials&&"
	"typeof navigator.credentials.get==='function';"
	"var to=d.getElementById('wallet-dc');"
	"if(dc&&to){to.hidden=false;if(m.dataset.auto==='1'){location.replace(to.href);return;}}"
	"if(m.dataset.poll){setTimeout(function(){location.replace(m.dataset.poll);},"
	"Number(m.dataset.wait)*1000);}"
	"var go=d.getElementById('wallet-dc-start'),f=d.getElementById('wallet-dc-form');"
	"if(!go||!f)return;"
	"if(!dc){go.disabled=true;return;}"
	"var born=Date.now();"
	"function post(name,value){f.elements[name].value=value;f.submit();}"
	"go.addEventListener('click',function(){"
	"if(Date.now()-born>Number(m.dataset.life)*1000){location.reload();return;}"
	"go.disabled=true;"
	"navigator.credentials.get({mediation:'required',digital:{requests:[{"
	"protocol:'openid4vp-v1-signed',data:{request:go.dataset.request}}]}})"
	".then(function(c){var x=c&&c.data;"
	"if(typeof x==='string'){try{x=JSON.parse(x);}catch(e){x=null;}}"
	"if(x&&typeof x.response==='string'){post('response',x.response);return;}"
	"var er=x&&x.error;"
	"post('error',typeof er==='string'?er:(er&&typeof er.error==='string'?er.error:"
	"'invalid_request'));})"
	".catch(function(e){post('error',e&&(e.name==='NotAllowedError'||"
	"e.name==='AbortError')?'access_denied':'wallet_unavailable');});"
	"});})();";

/* The script with its nonce, and the CSP header that lets it (and no other) run. */
static void
put_script(struct http_req *r, struct http_resp *w, struct buf *b)
{
	char nonce[TOKEN_CHARS + 1];

	if (rand_token_buf(nonce) != 0)
		return; /* the page works without it */
	buf_printf(b, "<script nonce=\"%s\">", nonce);
	buf_puts(b, wallet_js);
	buf_puts(b, "</script>");
	http_resp_header(w, "Content-Security-Policy",
			 arena_printf(r->arena,
				      "default-src 'none'; style-src 'self' 'unsafe-inline'; "
				      "img-src 'self' data:; script-src 'nonce-%s'; form-action *; "
				      "frame-ancestors 'none'; base-uri 'none'",
				      nonce));
}

/* A link to the wallet page in another mode. */
static void
mode_link(struct buf *b, const char *lang, const struct issuer *is, const struct eid_flow *flow,
	  const char *mode, const char *id, const char *text, bool hidden)
{
	buf_printf(b, "<p><a id=\"%s\"%s href=\"%s/wallet?ar=%s&amp;mode=%s\">", id,
		   hidden ? " hidden" : "", is->prefix, flow->ar, mode);
	buf_html(b, str_c(page_text(lang, text)));
	buf_puts(b, "</a></p>");
}

/* The link to the DC API page, hidden until the script finds the API. */
static void
dc_link(struct buf *b, const char *lang, const struct issuer *is, const struct eid_flow *flow)
{
	mode_link(b, lang, is, flow, "dc", "wallet-dc", N_("Use the wallet through this browser"),
		  true);
}

/* The links to the other flows (§4.4: the person can switch). */
static void
switch_links(struct buf *b, const char *lang, const struct issuer *is,
	     const struct eid_flow *flow, const char *mode)
{
	if (strcmp(mode, "same") != 0)
		mode_link(b, lang, is, flow, "same", "wallet-switch-same",
			  N_("Use the wallet on this device"), false);
	if (strcmp(mode, "qr") != 0 && wallet_conf.qr)
		mode_link(b, lang, is, flow, "qr", "wallet-switch-qr",
			  N_("Use the wallet on another device"), false);
}

/* The pages' heading, and the service being logged in to when it has a name. */
static void
heading(struct buf *b, const char *lang, const char *client_name)
{
	buf_puts(b, "<h1>");
	buf_html(b, str_c(page_text(lang, "EU digital identity wallet")));
	buf_puts(b, "</h1>");
	if (client_name != NULL) {
		buf_puts(b, "<p>");
		buf_html(b, str_c(page_text(lang, "You are logging in to")));
		buf_puts(b, " <strong>");
		buf_html(b, str_c(client_name));
		buf_puts(b, "</strong></p>");
	}
}

/* The page that waits for the wallet's answer and asks again by itself. */
static void
waiting_page(struct http_req *r, struct http_resp *w, const struct eid_flow *flow,
	     const json_t *tx, bool chosen)
{
	const struct issuer *is = r->route_data;
	const char *lang = page_lang(r, flow->locale), *id;
	bool same = json_is_true(json_object_get(tx, "same"));
	char *link = wallet_link(r, tx);
	char *svg = same ? NULL
			 : wallet_qr_svg(r->arena, link,
					 page_text(lang, "QR code to scan with the wallet"));
	char *poll;
	struct buf b;

	id = json_string_value(json_object_get(tx, "id"));
	poll = arena_printf(r->arena, "%s/wallet/status?ar=%s&tx=%s%s", is->prefix, flow->ar, id,
			    same ? "" : "&qr=1");
	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "EU digital identity wallet");
	/* No script: the page reloads itself until the wallet has answered. */
	buf_printf(&b, "<noscript><meta http-equiv=\"refresh\" content=\"%d;url=", POLL_SECONDS);
	buf_html(&b, str_c(poll));
	buf_puts(&b, "\"></noscript><div id=\"wallet-js\" data-poll=\"");
	buf_html(&b, str_c(poll));
	buf_printf(&b, "\" data-wait=\"%d\" data-auto=\"%s\"></div>", POLL_SECONDS,
		   chosen ? "0" : "1");
	heading(&b, lang, flow->client_name);
	dc_link(&b, lang, is, flow);
	if (svg != NULL) {
		para(&b, lang, "Scan the code with the wallet on your phone.");
		buf_puts(&b, "<div id=\"wallet-qr\">");
		buf_puts(&b, svg);
		buf_puts(&b, "</div>");
	} else {
		para(&b, lang, "Open your wallet to share your identity data.");
	}
	buf_puts(&b, "<p><a id=\"wallet-link\" href=\"");
	buf_html(&b, str_c(link));
	buf_puts(&b, "\">");
	buf_html(&b, str_c(page_text(lang, "Open the wallet")));
	buf_puts(&b, "</a></p>");
	para(&b, lang, "The wallet shows the name of this service before you share anything.");
	buf_printf(&b, "<form id=\"wallet-poll\" method=\"get\" action=\"%s/wallet/status\">", is->prefix);
	page_hidden(&b, "ar", flow->ar);
	page_hidden(&b, "tx", id);
	page_hidden(&b, "qr", same ? NULL : "1");
	buf_puts(&b, "<button type=\"submit\" id=\"wallet-check\">");
	buf_html(&b, str_c(page_text(lang, "I have answered in the wallet")));
	buf_puts(&b, "</button></form>");
	switch_links(&b, lang, is, flow, same ? "same" : "qr");
	page_cancel_form(&b, lang, flow->cancel_url, flow->ar, flow->csrf);
	put_script(r, w, &b);
	page_end(&b, lang, NULL);
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
}

/*
 * The Digital Credentials API page (§4.3): a button that hands the browser
 * the signed request (response_mode dc_api.jwt, this origin expected), and
 * the form its answer goes back in.  Without the API, or without scripts,
 * the other flows are a link away.
 */
static void
dc_page(struct http_req *r, struct http_resp *w, const struct eid_flow *flow, const json_t *tx)
{
	const struct issuer *is = r->route_data;
	const char *lang = page_lang(r, flow->locale), *origin = wallet_origin(r);
	struct err e = { 0 };
	char *jws = NULL;
	struct buf b;

	if (origin == NULL || wallet_request_sign(r->app, tx, NULL, origin, NULL, &jws, &e) != 0) {
		log_warn(r->rid, "wallet: no DC API request: %s", e.msg);
		wallet_fail_page(r, w, flow, WALLET_FAIL_UNAVAILABLE);
		return;
	}
	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "EU digital identity wallet");
	buf_printf(&b, "<div id=\"wallet-js\" data-life=\"%d\"></div>", WALLET_REQ_LIFE - 10);
	heading(&b, lang, flow->client_name);
	para(&b, lang, "Your browser asks which wallet to use.");
	para(&b, lang, "The wallet shows the name of this service before you share anything.");
	buf_puts(&b, "<p><button type=\"button\" id=\"wallet-dc-start\" data-request=\"");
	buf_html(&b, str_c(jws));
	buf_puts(&b, "\">");
	buf_html(&b, str_c(page_text(lang, "Open the wallet")));
	buf_puts(&b, "</button></p><noscript><p>");
	buf_html(&b, str_c(page_text(lang, "This way needs JavaScript; use one of the others.")));
	buf_puts(&b, "</p></noscript>");
	buf_printf(&b, "<form id=\"wallet-dc-form\" method=\"post\" action=\"%s/wallet/dc-response\">",
		   is->prefix);
	page_hidden(&b, "ar", flow->ar);
	page_hidden(&b, "csrf", flow->csrf);
	page_hidden(&b, "tx", json_string_value(json_object_get(tx, "id")));
	page_hidden(&b, "response", "");
	page_hidden(&b, "error", "");
	buf_puts(&b, "</form>");
	switch_links(&b, lang, is, flow, "dc");
	page_cancel_form(&b, lang, flow->cancel_url, flow->ar, flow->csrf);
	put_script(r, w, &b);
	page_end(&b, lang, NULL);
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
	free(jws);
}

/* GET /wallet?ar=[&mode=qr|same|dc]: a new transaction and its page. */
void
wallet_start(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	const char *mode = http_param_c(&r->query, "mode");
	bool chosen = mode != NULL;
	struct err e = { 0 };
	json_t *tx = NULL;

	if (flow->eidas_level == 0) {
		page_error(r, w, 400, page_lang(r, flow->locale), "invalid_request",
			   "the service did not ask for a login with this electronic ID");
		return;
	}
	if (mode == NULL || (strcmp(mode, "qr") != 0 && strcmp(mode, "same") != 0 &&
			     strcmp(mode, "dc") != 0))
		mode = http_param_c(&r->query, "qr") == NULL && is_mobile(r) ? "same" : "qr";
	if (!wallet_conf.qr && strcmp(mode, "qr") == 0)
		mode = "same";
	if (wallet_tx_new(r->app, flow->ar, mode, &tx, &e) != 0) {
		log_warn(r->rid, "wallet: no transaction: %s", e.msg);
		wallet_fail_page(r, w, flow, WALLET_FAIL_UNAVAILABLE);
		return;
	}
	if (strcmp(mode, "dc") == 0)
		dc_page(r, w, flow, tx);
	else
		waiting_page(r, w, flow, tx, chosen || http_param_c(&r->query, "qr") != NULL);
	json_decref(tx);
}

/* Text of each failure (§8). */
static const char *
fail_text(enum wallet_fail why)
{
	switch (why) {
	case WALLET_FAIL_DECLINED:
		return N_("Wallet login cancelled.");
	case WALLET_FAIL_UNTRUSTED:
		return N_("Identity data from this wallet is not accepted.");
	case WALLET_FAIL_EXPIRED:
		return N_("The identity data in your wallet is no longer valid.");
	case WALLET_FAIL_CLAIMS:
		return N_("You must share your name, date of birth and issuing country.");
	case WALLET_FAIL_NOMATCH:
		return N_("We could not identify you.");
	case WALLET_FAIL_UNAVAILABLE:
		return N_("The wallet login is temporarily unavailable.");
	case WALLET_FAIL_TIMEOUT:
		return N_("This took too long. Please try again.");
	case WALLET_FAIL_INVALID:
		break;
	}
	return N_("The wallet's answer could not be verified.");
}

void
wallet_fail_page(struct http_req *r, struct http_resp *w, const struct eid_flow *flow,
		 enum wallet_fail why)
{
	const struct issuer *is = r->route_data;
	const char *lang = page_lang(r, flow->locale);
	int status = why == WALLET_FAIL_UNAVAILABLE ? 503 : why == WALLET_FAIL_DECLINED ? 200 : 403;
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "EU digital identity wallet");
	heading(&b, lang, NULL);
	page_alert(&b, lang, "wallet-error", fail_text(why));
	buf_puts(&b, "<p>");
	page_put(&b, lang, "Reference: {id}", "id", r->rid);
	buf_puts(&b, "</p>");
	buf_printf(&b, "<p><a id=\"wallet-retry\" href=\"%s/wallet?ar=%s\">", is->prefix, flow->ar);
	buf_html(&b, str_c(page_text(lang, "Try again")));
	buf_puts(&b, "</a></p>");
	/* §8: no wallet answered through the browser, say: the other flows. */
	switch_links(&b, lang, is, flow, "dc");
	buf_printf(&b, "<p><a id=\"wallet-other\" href=\"%s/login?ar=%s\">", is->prefix,
		   flow->ar);
	buf_html(&b, str_c(page_text(lang, "Choose another electronic ID")));
	buf_puts(&b, "</a></p>");
	page_cancel_form(&b, lang, flow->cancel_url, flow->ar, flow->csrf);
	page_end(&b, lang, NULL);
	http_resp_html(w, status, (struct str){ b.p, b.len });
	buf_free(&b);
}

/* A member of the transaction as an arena string, NULL when absent. */
static const char *
tx_str(struct http_req *r, const json_t *tx, const char *name)
{
	return arena_strdup(r->arena, json_string_value(json_object_get(tx, name)));
}

void
wallet_finish(struct http_req *r, struct http_resp *w, const struct eid_flow *flow,
	      const char *txid)
{
	struct err e = { 0 };
	struct eid_result res;
	json_t *tx = NULL;
	const char *st, *ar;

	/* Taken, not read: one verified presentation makes one login. */
	if (store_call(((struct porten *)r->app)->store, login, doc_take, WALLET_K_TX, txid, &tx,
		       &e) != 0) {
		wallet_fail_page(r, w, flow, e.code == ERR_NOTFOUND ? WALLET_FAIL_INVALID
								    : WALLET_FAIL_UNAVAILABLE);
		return;
	}
	st = tx_str(r, tx, "st");
	ar = tx_str(r, tx, "ar");
	res = (struct eid_result){
		.pid = tx_str(r, tx, "pid"),
		.acr = ACR_EIDAS_HIGH,
		.amr = "eudiw",
		.eid = "wallet",
		.auth_time = json_integer_value(json_object_get(tx, "auth_time")),
		.eidas_identifier = tx_str(r, tx, "eidas_identifier"),
		.eidas_firstname = tx_str(r, tx, "eidas_firstname"),
		.eidas_lastname = tx_str(r, tx, "eidas_lastname"),
		.eidas_date_of_birth = tx_str(r, tx, "eidas_date_of_birth"),
		.nationalities = tx_str(r, tx, "nationalities"),
		.onetime_key = tx_str(r, tx, "onetime_key"),
	};
	json_decref(tx);
	if (st == NULL || strcmp(st, "ok") != 0 || ar == NULL || strcmp(ar, flow->ar) != 0 ||
	    (res.pid == NULL && res.eidas_identifier == NULL && res.onetime_key == NULL)) {
		wallet_fail_page(r, w, flow, WALLET_FAIL_INVALID);
		return;
	}
	flow->host->complete(flow, r, w, &res);
}

/* GET /wallet/status?ar=&tx=: the waiting page, an outcome, or the login. */
void
wallet_status(struct http_req *r, struct http_resp *w, const struct eid_flow *flow)
{
	const char *id = http_param_c(&r->query, "tx"), *st, *ar;
	struct err e = { 0 };
	json_t *tx = NULL;
	bool same;

	if (wallet_tx_get(r->app, id, &tx, &e) != 0 && e.code == ERR_NOTFOUND &&
	    http_param_c(&r->query, "qr") != NULL && wallet_conf.qr) {
		/* §4.2: a QR code lives 180 s and is then re-issued. */
		wallet_start(r, w, flow);
		return;
	}
	if (tx == NULL) {
		/* Expired or never there (§8: "this took too long"). */
		wallet_fail_page(r, w, flow, e.code == ERR_NOTFOUND ? WALLET_FAIL_TIMEOUT
								    : WALLET_FAIL_UNAVAILABLE);
		return;
	}
	st = json_string_value(json_object_get(tx, "st"));
	ar = json_string_value(json_object_get(tx, "ar"));
	same = json_is_true(json_object_get(tx, "same"));
	if (ar == NULL || strcmp(ar, flow->ar) != 0 || st == NULL) {
		wallet_fail_page(r, w, flow, WALLET_FAIL_INVALID);
	} else if (strcmp(st, "failed") == 0) {
		store_call(((struct porten *)r->app)->store, login, doc_delete, WALLET_K_TX, id, &e);
		wallet_fail_page(r, w, flow,
				 (enum wallet_fail)json_integer_value(json_object_get(tx, "fail")));
	} else if (strcmp(st, "ok") == 0 && !same) {
		wallet_finish(r, w, flow, id);
	} else if (wallet_tx_is_dc(tx)) {
		/* A DC API transaction has no wallet link: its own page again. */
		dc_page(r, w, flow, tx);
	} else {
		/* Pending, or verified on this device: the wallet's return completes it (HAIP). */
		waiting_page(r, w, flow, tx, true);
	}
	json_decref(tx);
}

/* GET /wallet/return?response_code=: the same-device wallet hands the browser back. */
void
wallet_return(struct http_req *r, struct http_resp *w, const struct eid_flow *door)
{
	const char *code = http_param_c(&r->query, "response_code");
	char hash[TOKEN_CHARS + 1];
	struct eid_flow flow;
	struct err e = { 0 };
	json_t *doc = NULL;
	const char *ar, *txid;

	if (code == NULL || strlen(code) != TOKEN_CHARS) {
		page_error(r, w, 400, page_lang(r, NULL), "invalid_request", "no response code");
		return;
	}
	sha256_b64url_buf(str_c(code), hash);
	if (store_call(((struct porten *)r->app)->store, login, doc_take, WALLET_K_CODE, hash, &doc,
		       &e) != 0) {
		page_error(r, w, e.code == ERR_NOTFOUND ? 400 : 503, page_lang(r, NULL),
			   "invalid_request", "this took too long; start again from the service");
		return;
	}
	ar = arena_strdup(r->arena, json_string_value(json_object_get(doc, "ar")));
	txid = arena_strdup(r->arena, json_string_value(json_object_get(doc, "tx")));
	json_decref(doc);
	/* The code counts only in the browser whose login started the transaction. */
	if (ar == NULL || txid == NULL || door->host->open(r, ar, &flow, &e) != 0) {
		page_error(r, w, 400, page_lang(r, NULL), "invalid_request",
			   "the wallet's answer belongs to another browser");
		return;
	}
	wallet_finish(r, w, &flow, txid);
}
