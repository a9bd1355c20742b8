/*
 * Server-rendered pages (eID selector, TestID, errors, logout, form_post)
 * in bokmål, nynorsk, English and Northern Sami.  Every reflected value is
 * HTML-escaped here; callers pass plain text.
 */
#ifndef PORTEN_OIDC_PAGES_H
#define PORTEN_OIDC_PAGES_H

#include <stdbool.h>

#include "core/buf.h"
#include "http/http.h"

#define PAGE_LANGS "nb nn en se"
#define PAGE_LANG_COOKIE "IDPORTEN_SELECTED_LANGUAGE"

/* A supported language code from a space-separated list (ui_locales), or NULL. */
const char *page_lang_pick(struct str list);
/* The language to render in: cookie > fallback (from ui_locales) > "nb". */
const char *page_lang(const struct http_req *r, const char *fallback);
/* A UI text by key in lang (bokmål when a translation is missing). */
const char *page_text(const char *lang, const char *key);

/* Begin a page: doctype, <html lang>, head with title, header; body must be closed by page_end. */
void page_begin(struct buf *b, const char *lang, const char *title_key);
void page_end(struct buf *b, const char *lang, const char *switch_url);

/* Shortcuts that fill w completely. */
void page_error(struct http_req *r, struct http_resp *w, int status, const char *lang,
		const char *error, const char *detail);
void page_form_post(struct http_resp *w, const char *action, const char *const *names,
		    const char *const *values, size_t n);

#endif
