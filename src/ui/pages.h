/*
 * Server-rendered pages (eID selector, MinID, TestID, errors, logout,
 * form_post) in bokmål, nynorsk, English and Northern Sami.  Every
 * reflected value is HTML-escaped here; callers pass plain text.  The
 * texts come from ui/i18n.h, which this header includes.
 */
#ifndef PORTEN_UI_PAGES_H
#define PORTEN_UI_PAGES_H

#include <stdbool.h>

#include "core/buf.h"
#include "http/http.h"
#include "ui/i18n.h"

/*
 * Append the translation of msgid HTML-escaped, with the placeholder
 * "{name}" (if name is non-NULL) replaced by value, also escaped.
 */
void page_put(struct buf *b, const char *lang, const char *msgid, const char *name,
	      const char *value);

/* Begin a page: doctype, <html lang>, head with title, header; body must be closed by page_end. */
void page_begin(struct buf *b, const char *lang, const char *title_msgid);
/* Close the page; with switch_url, a language switch linking to switch_url&lang=xx. */
void page_end(struct buf *b, const char *lang, const char *switch_url);

/*
 * A form field: <label>, an optional hint, the input, and when error_msgid
 * is set an error message tied to the field with aria-describedby and
 * aria-invalid (WCAG 2.1 3.3.1); error_msgid "#some-id" instead points the
 * field at an error shown elsewhere.  type: "text", "password", "tel"; attrs
 * are extra attributes written as is (trusted, from the caller's code).
 */
void page_field(struct buf *b, const char *lang, const char *id, const char *type,
		const char *label_msgid, const char *hint_msgid, const char *value,
		const char *error_msgid, const char *attrs);
/* A hidden form field, name and value escaped; nothing when value is NULL. */
void page_hidden(struct buf *b, const char *name, const char *value);
/*
 * The cancel form of a login, the same on every page: posts ar and csrf
 * to action (a URL from the login core, written as is).
 */
void page_cancel_form(struct buf *b, const char *lang, const char *action, const char *ar,
		      const char *csrf);
/*
 * The address the page stands for, when it was answered at another URL (the
 * eID selector answered by /authorize): a script (with a nonce, and the
 * default page policy plus that nonce on w) puts url in the address bar
 * with history.replaceState, so that a reload, the Back button and a
 * bookmark ask for url and not the request that produced the page.  url is
 * written escaped.  Without scripts the page works the same.
 */
void page_address(struct http_resp *w, struct buf *b, const char *url);
/* An error summary box (role=alert) listing msgid; for errors not tied to one field. */
void page_alert(struct buf *b, const char *lang, const char *id, const char *msgid);

/* Shortcuts that fill w completely. */
void page_error(struct http_req *r, struct http_resp *w, int status, const char *lang,
		const char *error, const char *detail);
void page_form_post(struct http_resp *w, const char *action, const char *const *names,
		    const char *const *values, size_t n);

#endif
