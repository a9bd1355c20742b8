/*
 * Server-rendered pages (eID selector, MinID, TestID, errors, logout,
 * form_post) in bokmål, nynorsk, English and Northern Sami.  Every
 * reflected value is HTML-escaped here; callers pass plain text.
 *
 * Texts are GNU gettext messages: the msgid is the English text, marked in
 * the source as page_text(lang, "...") or N_("...") so xgettext finds it;
 * translations live in po/<lang>.po and are compiled to .mo files that the
 * program finds in its locale directory (cfg locale_dir, else "locale"
 * next to the program).
 */
#ifndef PORTEN_OIDC_PAGES_H
#define PORTEN_OIDC_PAGES_H

#include <stdbool.h>

#include "core/buf.h"
#include "http/http.h"

#define PAGE_LANGS "nb nn en se"
#define PAGE_LANG_COOKIE "IDPORTEN_SELECTED_LANGUAGE"

/* Mark a msgid for extraction where it is stored, not shown (eID descriptions). */
#define N_(s) (s)

/*
 * Where the compiled catalogues are (NULL: PORTEN_LOCALE_DIR, else
 * "locale" beside the running program, else the build's locale directory).  Called by page_lang() with the
 * configured directory; safe to call from any thread, any number of times.
 */
void page_init(const char *locale_dir);
/* True when the catalogues were found (tests; a missing one logs a warning once). */
bool page_translations_loaded(void);

/* A supported language code from a space-separated list (ui_locales), or NULL. */
const char *page_lang_pick(struct str list);
/* The language to render in: cookie > fallback (from ui_locales) > "nb". */
const char *page_lang(const struct http_req *r, const char *fallback);
/*
 * The language of a page the user can switch: a ?lang= pick is remembered
 * in the PAGE_LANG_COOKIE cookie (set on w) and wins, else page_lang(r,
 * fallback).  Returns static storage.
 */
const char *page_lang_choose(struct http_req *r, struct http_resp *w, const char *fallback);
/*
 * The text msgid (English) in lang.  A message missing in nn or se falls
 * back to bokmål, one missing in nb to the English msgid.  The result is
 * static storage (never free it); plain text, not yet HTML-escaped.
 */
const char *page_text(const char *lang, const char *msgid);
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
/* An error summary box (role=alert) listing msgid; for errors not tied to one field. */
void page_alert(struct buf *b, const char *lang, const char *id, const char *msgid);

/* Shortcuts that fill w completely. */
void page_error(struct http_req *r, struct http_resp *w, int status, const char *lang,
		const char *error, const char *detail);
void page_form_post(struct http_resp *w, const char *action, const char *const *names,
		    const char *const *values, size_t n);

#endif
