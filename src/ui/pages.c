/*
 * Page layout (translations: ui/i18n.c).  Pages work without JavaScript and follow
 * WCAG 2.1 AA: a lang attribute on the page and on each language link, one
 * h1, a label for every field, hints and errors tied to their field with
 * aria-describedby, a visible focus ring, text contrast of 4.5:1 or more
 * (the palette below stays at 7:1 or better), and a DOM order that is the
 * reading and focus order.
 */
#include "ui/pages.h"

#include <stdio.h>
#include <string.h>

#include "core/crypto.h"

void
page_put(struct buf *b, const char *lang, const char *msgid, const char *name, const char *value)
{
	const char *t = page_text(lang, msgid), *at;
	char ph[40];
	size_t phlen;

	if (name == NULL || snprintf(ph, sizeof(ph), "{%s}", name) >= (int)sizeof(ph) ||
	    (at = strstr(t, ph)) == NULL) {
		buf_html(b, str_c(t));
		return;
	}
	phlen = strlen(ph);
	buf_html(b, (struct str){ t, (size_t)(at - t) });
	buf_html(b, str_c(value ? value : ""));
	buf_html(b, str_c(at + phlen));
}

static const char page_css[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
	"background:#f3f4f6;color:#1a1a1a;line-height:1.5;font-size:1.05rem}"
	".skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;"
	"padding:.5rem;z-index:2}"
	"header{background:#00244e;color:#fff;padding:1rem 1.5rem}"
	"header p{margin:0;font-weight:bold;font-size:1.2rem;max-width:36rem;margin:0 auto}"
	"main{max-width:36rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;"
	"border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}"
	"h1{font-size:1.6rem;margin-top:0;line-height:1.25}"
	"a{color:#00509e}a:hover{text-decoration-thickness:2px}"
	"a:focus,button:focus,input:focus,select:focus{outline:3px solid #1a1a1a;"
	"outline-offset:2px;box-shadow:0 0 0 6px #ffd75e}"
	"label{display:block;font-weight:bold;margin-top:1.2rem}"
	".hint{display:block;color:#3d3d3d;font-size:.95rem;margin:.2rem 0 .3rem}"
	".field-error{display:block;color:#a1001c;font-weight:bold;margin:.3rem 0}"
	"button,input,select{font-family:inherit}input,select{font-size:1.1rem;padding:.55rem;width:100%;box-sizing:border-box;"
	"border:2px solid #595959;border-radius:4px;background:#fff;color:#1a1a1a}"
	"input[aria-invalid=true]{border-color:#a1001c;border-width:3px}"
	"button{font-size:1.1rem;padding:.65rem 1.4rem;margin:1.2rem .6rem 0 0;border:2px solid "
	"#00509e;border-radius:4px;background:#00509e;color:#fff;cursor:pointer}"
	"button.secondary{background:#fff;color:#00509e}"
	"button.link{background:none;border:0;color:#00509e;text-decoration:underline;"
	"padding:.2rem 0;font-size:1rem}"
	"ul.eids{list-style:none;padding:0}ul.eids li{margin:.7rem 0}ul.eids a{display:block;"
	"padding:1rem;border:2px solid #00509e;border-radius:6px;text-decoration:none;"
	"font-weight:bold;font-size:1.15rem}ul.eids a:hover{background:#eef4fb}"
	"ul.eids span{display:block;font-weight:normal;color:#3d3d3d;font-size:1rem}"
	"ul.links{padding-left:1.2rem}ul.links li{margin:.4rem 0}"
	"[role=alert]{background:#fdecee;border-left:5px solid #a1001c;padding:.6rem 1rem;"
	"margin:1rem 0}.notice{background:#eef4fb;border-left:5px solid #00509e;"
	"padding:.6rem 1rem;margin:1rem 0}.code{font-family:ui-monospace,monospace;"
	"font-size:1.3rem;letter-spacing:.1rem;word-break:break-all}"
	"footer{max-width:36rem;margin:0 auto 2rem;padding:0 2rem}"
	"footer ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}"
	"iframe{display:none}"
	/* a list of radio buttons or checkboxes, each beside its label (the choosers) */
	"fieldset{border:0;padding:0;margin:1rem 0 0}legend{font-weight:bold;padding:0}"
	".choice{display:flex;align-items:flex-start;gap:.7rem;margin:.8rem 0}"
	".choice input{width:1.4rem;height:1.4rem;margin:.1rem 0 0;flex:none}"
	".choice label{margin:0;font-weight:normal}"
	".orgno{display:block;color:#3d3d3d;font-size:.95rem}";

void
page_begin(struct buf *b, const char *lang, const char *title_msgid)
{
	buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		      "<meta name=\"referrer\" content=\"no-referrer\"><title>", lang);
	buf_html(b, str_c(page_text(lang, title_msgid)));
	buf_puts(b, " – ");
	buf_html(b, str_c(ui_brand()));
	buf_puts(b, "</title><style>");
	buf_puts(b, page_css);
	buf_puts(b, "</style></head><body><a class=\"skip\" href=\"#main\">");
	buf_html(b, str_c(page_text(lang, "Skip to main content")));
	buf_puts(b, "</a><header><p>");
	buf_html(b, str_c(ui_brand()));
	buf_puts(b, "</p></header><main id=\"main\">");
}

void
page_end(struct buf *b, const char *lang, const char *switch_url)
{
	buf_puts(b, "</main>");
	if (switch_url != NULL) {
		buf_puts(b, "<footer><nav aria-label=\"");
		buf_html(b, str_c(page_text(lang, "Language")));
		buf_puts(b, "\"><ul>");
		for (size_t i = 0; i < PAGE_NLANGS; i++) {
			if (strcmp(lang, page_lang_names[i][0]) == 0)
				continue;
			buf_printf(b, "<li><a lang=\"%s\" hreflang=\"%s\" href=\"",
				   page_lang_names[i][0], page_lang_names[i][0]);
			buf_html(b, str_c(switch_url));
			buf_puts(b, strchr(switch_url, '?') ? "&amp;lang=" : "?lang=");
			buf_puts(b, page_lang_names[i][0]);
			buf_puts(b, "\">");
			buf_puts(b, page_lang_names[i][1]);
			buf_puts(b, "</a></li>");
		}
		buf_puts(b, "</ul></nav></footer>");
	}
	buf_puts(b, "</body></html>\n");
}

void
page_field(struct buf *b, const char *lang, const char *id, const char *type,
	   const char *label_msgid, const char *hint_msgid, const char *value,
	   const char *error_msgid, const char *attrs)
{
	bool hint = hint_msgid != NULL, bad = error_msgid != NULL;
	/* "#id": the error is shown elsewhere (a summary); point at it. */
	bool ref = bad && error_msgid[0] == '#';
	char err_id[80];

	if (ref)
		snprintf(err_id, sizeof(err_id), "%s", error_msgid + 1);
	else
		snprintf(err_id, sizeof(err_id), "%s-error", id);

	buf_printf(b, "<label for=\"%s\">", id);
	buf_html(b, str_c(page_text(lang, label_msgid)));
	buf_puts(b, "</label>");
	if (hint) {
		buf_printf(b, "<span class=\"hint\" id=\"%s-hint\">", id);
		buf_html(b, str_c(page_text(lang, hint_msgid)));
		buf_puts(b, "</span>");
	}
	if (bad && !ref) {
		buf_printf(b, "<span class=\"field-error\" id=\"%s-error\">", id);
		buf_html(b, str_c(page_text(lang, error_msgid)));
		buf_puts(b, "</span>");
	}
	buf_printf(b, "<input id=\"%s\" name=\"%s\" type=\"%s\"", id, id, type);
	if (hint || bad)
		buf_printf(b, " aria-describedby=\"%s%s%s%s\"", hint ? id : "", hint ? "-hint" : "",
			   hint && bad ? " " : "", bad ? err_id : "");
	if (bad)
		buf_puts(b, " aria-invalid=\"true\"");
	if (attrs != NULL) {
		buf_puts(b, " ");
		buf_puts(b, attrs);
	}
	if (value != NULL && strcmp(type, "password") != 0) {
		buf_puts(b, " value=\"");
		buf_html(b, str_c(value));
		buf_puts(b, "\"");
	}
	buf_puts(b, ">");
}

void
page_hidden(struct buf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	buf_puts(b, "<input type=\"hidden\" name=\"");
	buf_html(b, str_c(name));
	buf_puts(b, "\" value=\"");
	buf_html(b, str_c(value));
	buf_puts(b, "\">");
}

void
page_cancel_form(struct buf *b, const char *lang, const char *action, const char *ar,
		 const char *csrf)
{
	buf_printf(b, "<form id=\"cancel-form\" method=\"post\" action=\"%s\">", action);
	buf_puts(b, "<input type=\"hidden\" name=\"ar\" value=\"");
	buf_html(b, str_c(ar));
	buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	buf_html(b, str_c(csrf));
	buf_puts(b, "\"><button type=\"submit\" class=\"secondary\">");
	buf_html(b, str_c(page_text(lang, "Cancel")));
	buf_puts(b, "</button></form>");
}

void
page_alert(struct buf *b, const char *lang, const char *id, const char *msgid)
{
	buf_printf(b, "<div role=\"alert\" id=\"%s\"><p>", id);
	buf_html(b, str_c(page_text(lang, msgid)));
	buf_puts(b, "</p></div>");
}

void
page_error(struct http_req *r, struct http_resp *w, int status, const char *lang,
	   const char *error, const char *detail)
{
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "Something went wrong");
	buf_puts(&b, "<h1>");
	buf_html(&b, str_c(page_text(lang, "Something went wrong")));
	buf_puts(&b, "</h1><p>");
	buf_html(&b, str_c(page_text(lang, "The login cannot continue.")));
	buf_puts(&b, "</p><div role=\"alert\"><p>");
	if (detail != NULL)
		buf_html(&b, str_c(detail));
	buf_puts(&b, "</p><p>");
	buf_html(&b, str_c(page_text(lang, "Error code")));
	buf_puts(&b, ": <code id=\"error\">");
	buf_html(&b, str_c(error));
	buf_printf(&b, "</code> (ref <code>%s</code>)</p></div><p>", r->rid);
	buf_html(&b, str_c(page_text(lang, "Go back to the service you came from and try again.")));
	buf_puts(&b, "</p>");
	page_end(&b, lang, NULL);
	http_resp_html(w, status, (struct str){ b.p, b.len });
	buf_free(&b);
}

/*
 * The one way a page gets an inline script: the opening tag, with a fresh
 * nonce, written to b, and on w the page's policy with script-src for that
 * nonce alone.  false, nothing written, when there is no randomness.
 */
static bool
page_script_open(struct http_resp *w, struct buf *b, const char *policy)
{
	char nonce[TOKEN_CHARS + 1];

	if (rand_token_buf(nonce) != 0)
		return false;
	buf_printf(b, "<script nonce=\"%s\"", nonce);
	http_resp_header(w, "Content-Security-Policy",
			 arena_printf(w->arena, "%s; script-src 'nonce-%s'", policy, nonce));
	return true;
}

void
page_address(struct http_resp *w, struct buf *b, const char *url)
{
	/* Without a nonce no script: the page still works, only its address is the request's. */
	if (!page_script_open(w, b, http_csp_html))
		return;
	buf_puts(b, " data-url=\"");
	buf_html(b, str_c(url));
	buf_puts(b, "\">history.replaceState(null,\"\",document.currentScript.dataset.url);</script>");
}

void
page_form_post(struct http_resp *w, const char *action, const char *const *names,
	       const char *const *values, size_t n)
{
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, "nb", "Returning you to the service");
	buf_puts(&b, "<h1>");
	buf_html(&b, str_c(page_text("nb", "Returning you to the service")));
	buf_puts(&b, "</h1><form method=\"post\" action=\"");
	buf_html(&b, str_c(action));
	buf_puts(&b, "\">");
	for (size_t i = 0; i < n; i++)
		page_hidden(&b, names[i], values[i]);
	buf_puts(&b, "<button type=\"submit\">");
	buf_html(&b, str_c(page_text("nb", "Continue")));
	buf_puts(&b, "</button></form>");
	if (!page_script_open(w, &b, "default-src 'none'; style-src 'unsafe-inline'; form-action *; "
				     "frame-ancestors 'none'; base-uri 'none'")) {
		buf_free(&b);
		http_resp_text(w, 500, "server_error");
		return;
	}
	buf_puts(&b, ">document.forms[0].submit();</script>");
	page_end(&b, "nb", NULL);
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
}
