/*
 * Page texts in bokmål, nynorsk, English and Northern Sami, and the
 * language a page is shown in.
 *
 * Texts are GNU gettext messages: the msgid is the English text, marked in
 * the source as page_text(lang, "...") or N_("...") so xgettext finds it;
 * translations live in po/<lang>.po and are compiled to .mo files that the
 * program finds in its locale directory (cfg locale_dir, else "locale"
 * next to the program).
 */
#ifndef PORTEN_UI_I18N_H
#define PORTEN_UI_I18N_H

#include <stdbool.h>

#include "core/str.h"
#include "http/http.h"

#define PAGE_LANGS "nb nn en se"
#define PAGE_LANG_COOKIE "IDPORTEN_SELECTED_LANGUAGE"
#define PAGE_NLANGS 4

/* The languages in PAGE_LANGS order: code and name in the language itself. */
extern const char *const page_lang_names[PAGE_NLANGS][2];

/* Mark a msgid for extraction where it is stored, not shown (eID descriptions). */
#define N_(s) (s)

/* What the page kit takes from the configuration (struct cfg). */
struct ui_settings {
	const char *locale_dir; /* cfg locale_dir (borrowed: it must outlive the pages) */
	/*
	 * Whether the language cookie set in answer to a request gets Secure:
	 * the one rule every cookie follows (app_cookie_secure); NULL: only
	 * over TLS.
	 */
	bool (*cookie_secure)(const struct http_req *r);
	/*
	 * The name in a page's header and title for the route being served
	 * (its data, http_request_route_data()); NULL, or a NULL answer:
	 * "ID-porten".
	 */
	const char *(*brand)(const void *route_data);
};

/* The name pages carry for the request being served (ui_settings.brand). */
const char *ui_brand(void);

/*
 * Hand the page kit its settings; call once before the first request.
 * Until then pages behave as without a configuration: catalogues from
 * the default places, the language cookie Secure only over TLS.
 */
void ui_init(const struct ui_settings *s);

/*
 * Where the compiled catalogues are (NULL: PORTEN_LOCALE_DIR, else
 * "locale" beside the running program, else the build's locale directory).  Called by page_lang() with the
 * directory ui_init() was given; safe to call from any thread, any number of times.
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

#endif
